/* Uncompressed wire-name helpers and the name presentation helpers of anyns.h. */
#include <string.h>

#include "anyns.h"
#include "wire_name.h"

#define L16(x) x, x+1, x+2, x+3, x+4, x+5, x+6, x+7, x+8, x+9, x+10, x+11, x+12, x+13, x+14, x+15
const uint8_t wname_lower_tab[256] = {
	L16(0x00), L16(0x10), L16(0x20), L16(0x30),
	0x40, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
	L16(0x60), L16(0x70), L16(0x80), L16(0x90), L16(0xa0), L16(0xb0),
	L16(0xc0), L16(0xd0), L16(0xe0), L16(0xf0),
};
#undef L16

int wname_labels(const uint8_t *w)
{
	int n = 0;
	while (*w) {
		n++;
		w += 1 + *w;
	}
	return n;
}

void wname_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	/* Length octets are < 64 and so unchanged by the table. */
	for (size_t i = 0; i < len; i++)
		dst[i] = wname_lower_tab[src[i]];
}

bool wname_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (wname_lower_tab[a[i]] != wname_lower_tab[b[i]])
			return false;
	return true;
}

const uint8_t *wname_parent(const uint8_t *w, size_t len, size_t *plen)
{
	if (len == 0 || w[0] == 0)
		return NULL;
	size_t skip = 1 + (size_t)w[0];
	if (plen)
		*plen = len - skip;
	return w + skip;
}

bool wname_is_subdomain(const uint8_t *name, size_t nlen,
                        const uint8_t *parent, size_t plen)
{
	if (nlen < plen)
		return false;
	/* Walk label by label so that the suffix starts on a label boundary. */
	size_t p = 0;
	while (nlen - p > plen)
		p += 1 + (size_t)name[p];
	return nlen - p == plen && wname_equal(name + p, plen, parent, plen);
}

int wname_label_offsets(const uint8_t *w, uint8_t offs[WNAME_MAXLABELS])
{
	int n = 0;
	size_t p = 0;
	while (w[p] && n < WNAME_MAXLABELS) {
		offs[n++] = (uint8_t)p;
		p += 1 + (size_t)w[p];
	}
	return n;
}

int wname_canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	(void)alen; (void)blen;
	/* RFC 4034 6.1: compare labels from the rightmost one, each as a
	 * lowercased octet string; a name sorts after its own ancestors. */
	uint8_t ao[WNAME_MAXLABELS], bo[WNAME_MAXLABELS];
	int an = wname_label_offsets(a, ao), bn = wname_label_offsets(b, bo);
	while (an > 0 && bn > 0) {
		const uint8_t *la = a + ao[--an], *lb = b + bo[--bn];
		size_t na = la[0], nb = lb[0], n = na < nb ? na : nb;
		for (size_t i = 1; i <= n; i++) {
			int d = (int)wname_lower_tab[la[i]] - (int)wname_lower_tab[lb[i]];
			if (d)
				return d;
		}
		if (na != nb)
			return na < nb ? -1 : 1;
	}
	return an - bn;
}

uint32_t wname_hash(const uint8_t *w, size_t len)
{
	/* Eight bytes per multiply; zone loads hash every owner name. */
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, v;
	while (len >= 8) {
		memcpy(&v, w, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		w += 8;
		len -= 8;
	}
	/* The tail as memcpy(&v, w, len) would load it, in fixed-size pieces:
	 * a variable-length memcpy is a libc call on every lookup. */
	v = 0;
	{
		uint8_t *vb = (uint8_t *)&v;
		size_t o = 0;
		if (len & 4) {
			memcpy(vb, w, 4);
			o = 4;
		}
		if (len & 2) {
			memcpy(vb + o, w + o, 2);
			o += 2;
		}
		if (len & 1)
			vb[o] = w[o];
	}
	h = (h ^ v) * 0xff51afd7ed558ccdull;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* ---- presentation ------------------------------------------------------- */

int anyns_name_to_text(const uint8_t *wire, size_t wlen, char *buf, size_t buflen)
{
	size_t o = 0, p = 0;
	if (buflen == 0)
		return ANYNS_ESPACE;
	if (wlen == 0 || wire[0] == 0) {
		if (buflen < 2)
			return ANYNS_ESPACE;
		buf[0] = '.';
		buf[1] = 0;
		return 1;
	}
	while (p < wlen && wire[p]) {
		size_t l = wire[p++];
		if (l > WNAME_MAXLABEL || p + l > wlen)
			return ANYNS_EMALF;
		for (size_t i = 0; i < l; i++) {
			uint8_t c = wire[p + i];
			char tmp[5];
			size_t tl;
			if (c <= 0x20 || c >= 0x7f) {
				tmp[0] = '\\';
				tmp[1] = (char)('0' + c / 100);
				tmp[2] = (char)('0' + c / 10 % 10);
				tmp[3] = (char)('0' + c % 10);
				tl = 4;
			} else if (strchr(".\\\"();@$", c)) {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				tl = 2;
			} else {
				tmp[0] = (char)c;
				tl = 1;
			}
			if (o + tl + 1 >= buflen)
				return ANYNS_ESPACE;
			memcpy(buf + o, tmp, tl);
			o += tl;
		}
		p += l;
		if (o + 2 > buflen)
			return ANYNS_ESPACE;
		buf[o++] = '.';
	}
	buf[o] = 0;
	return (int)o;
}

int anyns_name_from_text(const char *text, uint8_t *wire, size_t wirecap)
{
	uint8_t tmp[WNAME_MAXLEN];
	size_t o = 0, lab = 0;      /* lab: offset of the current length octet */
	const char *s = text;

	if (!text || !wire)
		return ANYNS_EINVAL;
	if (s[0] == '.' && s[1] == 0)
		s++;
	tmp[0] = 0;
	o = 1;
	while (*s) {
		uint8_t c = (uint8_t)*s++;
		if (c == '.') {
			if (o - lab - 1 == 0)
				return ANYNS_EINVAL;   /* empty label */
			tmp[lab] = (uint8_t)(o - lab - 1);
			lab = o;
			if (*s == 0)
				break;                  /* trailing dot */
			if (o >= WNAME_MAXLEN)
				return ANYNS_EINVAL;
			tmp[o++] = 0;
			continue;
		}
		if (c == '\\') {
			if (s[0] >= '0' && s[0] <= '9') {
				if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
					return ANYNS_EINVAL;
				int v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
				if (v > 255)
					return ANYNS_EINVAL;
				c = (uint8_t)v;
				s += 3;
			} else if (*s) {
				c = (uint8_t)*s++;
			} else {
				return ANYNS_EINVAL;
			}
		}
		if (o >= WNAME_MAXLEN || o - lab - 1 >= WNAME_MAXLABEL)
			return ANYNS_EINVAL;
		tmp[o++] = wname_lower_tab[c];
	}
	if (o == lab) {                 /* a trailing dot closed the last label */
		if (o >= WNAME_MAXLEN)
			return ANYNS_EINVAL;
		tmp[o++] = 0;
	} else if (o - lab - 1 > 0) {   /* no trailing dot: close the last label */
		tmp[lab] = (uint8_t)(o - lab - 1);
		if (o >= WNAME_MAXLEN)
			return ANYNS_EINVAL;
		tmp[o++] = 0;
	} else {
		tmp[lab] = 0;               /* empty text: the root */
		o = lab + 1;
	}
	if (o > wirecap)
		return ANYNS_ESPACE;
	memcpy(wire, tmp, o);
	return (int)o;
}
