/* Name compression while writing a response. */
#include <string.h>

#include "anyns.h"
#include "compress.h"
#include "wire_name.h"

void compress_init(compress_t *c, uint8_t *pkt)
{
	c->pkt = pkt;
	c->n = 0;
}

void compress_add(compress_t *c, size_t off, const uint8_t *name, size_t len)
{
	size_t i = 0;

	/* The root label is never worth a pointer (1 byte against 2). */
	while (name[i] != 0 && c->n < COMPRESS_MAX && off + i <= COMPRESS_MAX_OFF) {
		c->e[c->n].off = (uint16_t)(off + i);
		c->e[c->n].len = (uint8_t)(len - i);
		c->n++;
		i += (size_t)name[i] + 1;
	}
}

/* Compares the uncompressed name s with the name in the message at `off`,
 * following pointers, ignoring case. The table says both have the same
 * length, so only label bytes need comparing. Pointers in our own message
 * always go backwards; the step bound is a guard only. */
static bool suffix_equal(const uint8_t *pkt, size_t off, const uint8_t *s)
{
	for (int steps = 0; steps < 256; steps++) {
		uint8_t c = pkt[off];
		if ((c & 0xC0) == 0xC0) {
			off = (size_t)(c & 0x3F) << 8 | pkt[off + 1];
			continue;
		}
		if (c != *s)
			return false;
		if (c == 0)
			return true;
		/* Same bytes is the common case (lowercase zone data). */
		for (size_t i = 1; i <= c; i++)
			if (pkt[off + i] != s[i] &&
			    wname_lower_tab[pkt[off + i]] != wname_lower_tab[s[i]])
				return false;
		off += (size_t)c + 1;
		s += (size_t)c + 1;
	}
	return false;
}

int compress_put(compress_t *c, size_t off, size_t end, const uint8_t *name,
                 size_t len, bool allow)
{
	size_t i = 0;
	int ptr = -1;

	if (allow) {
		/* Longest suffix first: the first match is the best one. */
		while (name[i] != 0) {
			size_t rest = len - i;
			for (unsigned k = 0; k < c->n; k++) {
				if (c->e[k].len == rest &&
				    suffix_equal(c->pkt, c->e[k].off, name + i)) {
					ptr = c->e[k].off;
					break;
				}
			}
			if (ptr >= 0)
				break;
			i += (size_t)name[i] + 1;
		}
	} else {
		i = len - 1;
	}
	if (ptr < 0)
		i = len - 1;   /* everything up to the root label is written */

	size_t need = ptr >= 0 ? i + 2 : len;
	if (off > end || end - off < need)
		return ANYNS_ESPACE;
	uint8_t *w = c->pkt + off;
	memcpy(w, name, i);
	if (ptr >= 0) {
		w[i] = (uint8_t)(0xC0 | ptr >> 8);
		w[i + 1] = (uint8_t)ptr;
	} else {
		w[i] = 0;
	}
	/* Remember the labels written literally, with the length of the whole
	 * remaining name (they are followed by the pointed-to suffix). */
	size_t j = 0;
	while (j < i && c->n < COMPRESS_MAX && off + j <= COMPRESS_MAX_OFF) {
		c->e[c->n].off = (uint16_t)(off + j);
		c->e[c->n].len = (uint8_t)(len - j);
		c->n++;
		j += (size_t)name[j] + 1;
	}
	return (int)need;
}
