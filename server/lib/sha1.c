/* SHA-1 as specified in FIPS 180-4 6.1: 512-bit blocks, 80 rounds. */
#include <string.h>

#include "sha1.h"

static inline uint32_t rol(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		uint32_t t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void sha1_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
            uint8_t out[SHA1_LEN])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	uint8_t blk[64];
	size_t fill = 0, total = alen + blen;
	const uint8_t *parts[2] = { a, b };
	size_t lens[2] = { alen, blen };

	for (int k = 0; k < 2; k++) {
		const uint8_t *p = parts[k];
		size_t n = lens[k];
		while (n > 0) {
			size_t c = 64 - fill < n ? 64 - fill : n;
			memcpy(blk + fill, p, c);
			fill += c;
			p += c;
			n -= c;
			if (fill == 64) {
				sha1_block(h, blk);
				fill = 0;
			}
		}
	}
	/* Padding: 0x80, zeros, then the bit length in 64 bits big-endian. */
	blk[fill++] = 0x80;
	if (fill > 56) {
		memset(blk + fill, 0, 64 - fill);
		sha1_block(h, blk);
		fill = 0;
	}
	memset(blk + fill, 0, 56 - fill);
	uint64_t bits = (uint64_t)total * 8;
	for (int i = 0; i < 8; i++)
		blk[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_block(h, blk);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

void sha1_nsec3(const uint8_t *name, size_t len, const uint8_t *salt, size_t saltlen,
                unsigned iterations, uint8_t out[SHA1_LEN])
{
	uint8_t t[SHA1_LEN];

	sha1_2(name, len, salt, saltlen, out);
	for (unsigned i = 0; i < iterations; i++) {
		memcpy(t, out, SHA1_LEN);
		sha1_2(t, SHA1_LEN, salt, saltlen, out);
	}
}
