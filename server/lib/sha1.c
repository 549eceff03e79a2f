/* SHA-1 as specified in FIPS 180-4 6.1: 512-bit blocks, 80 rounds. */
#include <string.h>

#include "sha1.h"

static inline uint32_t rol(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The rounds written out, with the message schedule kept in 16 words
 * (FIPS 180-4 6.1.3, alternative method): W[t] for t >= 16 overwrites
 * W[t - 16], its last use. Each round adds into e and rotates b; the
 * callers pass the five words in turn, so no values are moved between
 * rounds. Ch and Maj in forms with one operation fewer. */
#define SHA1_W(t) (w[(t) & 15] = rol(w[((t) - 3) & 15] ^ w[((t) - 8) & 15] ^ \
                                     w[((t) - 14) & 15] ^ w[(t) & 15], 1))
#define SHA1_CH(b, c, d)  ((d) ^ ((b) & ((c) ^ (d))))
#define SHA1_PAR(b, c, d) ((b) ^ (c) ^ (d))
#define SHA1_MAJ(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))
#define SHA1_R(f, k, wt, a, b, c, d, e) do { \
		(e) += rol((a), 5) + f((b), (c), (d)) + (k) + (wt); \
		(b) = rol((b), 30); \
	} while (0)
/* Five rounds from t: after them the words are back in their places. */
#define SHA1_R5(f, k, W, t) do { \
		SHA1_R(f, k, W(t), a, b, c, d, e); \
		SHA1_R(f, k, W((t) + 1), e, a, b, c, d); \
		SHA1_R(f, k, W((t) + 2), d, e, a, b, c); \
		SHA1_R(f, k, W((t) + 3), c, d, e, a, b); \
		SHA1_R(f, k, W((t) + 4), b, c, d, e, a); \
	} while (0)
#define SHA1_W0(t) w[t]

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	SHA1_R5(SHA1_CH, 0x5A827999u, SHA1_W0, 0);
	SHA1_R5(SHA1_CH, 0x5A827999u, SHA1_W0, 5);
	SHA1_R5(SHA1_CH, 0x5A827999u, SHA1_W0, 10);
	SHA1_R(SHA1_CH, 0x5A827999u, w[15], a, b, c, d, e);
	SHA1_R(SHA1_CH, 0x5A827999u, SHA1_W(16), e, a, b, c, d);
	SHA1_R(SHA1_CH, 0x5A827999u, SHA1_W(17), d, e, a, b, c);
	SHA1_R(SHA1_CH, 0x5A827999u, SHA1_W(18), c, d, e, a, b);
	SHA1_R(SHA1_CH, 0x5A827999u, SHA1_W(19), b, c, d, e, a);
	SHA1_R5(SHA1_PAR, 0x6ED9EBA1u, SHA1_W, 20);
	SHA1_R5(SHA1_PAR, 0x6ED9EBA1u, SHA1_W, 25);
	SHA1_R5(SHA1_PAR, 0x6ED9EBA1u, SHA1_W, 30);
	SHA1_R5(SHA1_PAR, 0x6ED9EBA1u, SHA1_W, 35);
	SHA1_R5(SHA1_MAJ, 0x8F1BBCDCu, SHA1_W, 40);
	SHA1_R5(SHA1_MAJ, 0x8F1BBCDCu, SHA1_W, 45);
	SHA1_R5(SHA1_MAJ, 0x8F1BBCDCu, SHA1_W, 50);
	SHA1_R5(SHA1_MAJ, 0x8F1BBCDCu, SHA1_W, 55);
	SHA1_R5(SHA1_PAR, 0xCA62C1D6u, SHA1_W, 60);
	SHA1_R5(SHA1_PAR, 0xCA62C1D6u, SHA1_W, 65);
	SHA1_R5(SHA1_PAR, 0xCA62C1D6u, SHA1_W, 70);
	SHA1_R5(SHA1_PAR, 0xCA62C1D6u, SHA1_W, 75);
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

static void sha1_out(const uint32_t h[5], uint8_t out[SHA1_LEN])
{
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

void sha1_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
            uint8_t out[SHA1_LEN])
{
	uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
	uint8_t blk[64];
	size_t fill = 0, total = alen + blen;

	/* One block holds up to 55 bytes with the padding: most owner names
	 * with a short salt, and every further NSEC3 iteration (20 bytes of
	 * hash plus a salt of up to 35). */
	if (total <= 55) {
		memset(blk, 0, sizeof(blk));
		if (alen)
			memcpy(blk, a, alen);
		if (blen)
			memcpy(blk + alen, b, blen);
		blk[total] = 0x80;
		blk[62] = (uint8_t)(total >> 5);
		blk[63] = (uint8_t)(total << 3);
		sha1_block(h, blk);
		sha1_out(h, out);
		return;
	}
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
	sha1_out(h, out);
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
