/* Helpers on uncompressed wire-format domain names (RFC 1035 3.1): a sequence
 * of length-prefixed labels ending with the root label (a zero byte). No
 * helper allocates; the caller owns every buffer. Lengths always include the
 * terminating root label. */
#ifndef ANYNS_WIRE_NAME_H
#define ANYNS_WIRE_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anyns.h"

#define WNAME_MAXLEN   255   /* RFC 1035 2.3.4, including length octets */
#define WNAME_MAXLABEL 63
#define WNAME_MAXLABELS 127

/* ASCII lowercase table; bytes outside A-Z map to themselves. */
extern const uint8_t wname_lower_tab[256];

/* Validates an uncompressed name in w[0..max): labels <= 63, total <= 255,
 * no compression pointers. Returns its length or ANYNS_EMALF.
 * Inline: the answer builder runs it on every rdata name it writes. */
static inline int wname_check(const uint8_t *w, size_t max)
{
	size_t p = 0;

	for (;;) {
		if (p >= max)
			return ANYNS_EMALF;
		uint8_t l = w[p];
		if (l > WNAME_MAXLABEL)  /* also rejects compression pointers */
			return ANYNS_EMALF;
		p += 1 + (size_t)l;
		if (p > WNAME_MAXLEN)
			return ANYNS_EMALF;
		if (l == 0)
			return (int)p;
	}
}
/* Number of labels, not counting the root label ("." has 0). */
int wname_labels(const uint8_t *w);
/* Copies `len` bytes of name src to dst lowercased (dst may equal src). */
void wname_lower(uint8_t *dst, const uint8_t *src, size_t len);
/* True when a and b are the same name ignoring ASCII case. */
bool wname_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* The name without its first label (a pointer into w), or NULL for the root. */
const uint8_t *wname_parent(const uint8_t *w, size_t len, size_t *plen);
/* True when `name` equals `parent` or is below it (ASCII case ignored). */
bool wname_is_subdomain(const uint8_t *name, size_t nlen,
                        const uint8_t *parent, size_t plen);
/* RFC 4034 6.1 canonical order: <0, 0 or >0. Case is ignored. */
int wname_canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Offsets of each label of w, first label first; returns the label count
 * (root not counted). `offs` must hold WNAME_MAXLABELS entries. */
int wname_label_offsets(const uint8_t *w, uint8_t offs[WNAME_MAXLABELS]);
/* Hash of a (lowercased) wire name, used by the zone and zone-set tables. */
uint32_t wname_hash(const uint8_t *w, size_t len);

#endif
