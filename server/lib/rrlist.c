/* Record lists: see rrlist.h. */
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "rrlist.h"
#include "wire_name.h"
#include "zone_db.h"

void rrlist_init(rrlist_t *l)
{
	memset(l, 0, sizeof(*l));
}

void rrlist_clear(rrlist_t *l)
{
	free(l->rr);
	free(l->data);
	rrlist_init(l);
}

void rrlist_reset(rrlist_t *l)
{
	l->n = 0;
	l->len = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, nc * elem);
	if (np == NULL)
		return ANYNS_ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

/* Reserves room for one more record and `bytes` arena bytes. */
static int reserve(rrlist_t *l, size_t bytes)
{
	if (l->len + bytes > UINT32_MAX)
		return ANYNS_ENOMEM;
	if (grow((void **)&l->rr, &l->cap, l->n + 1, sizeof(rr_t)) != 0 ||
	    grow((void **)&l->data, &l->dcap, l->len + bytes, 1) != 0)
		return ANYNS_ENOMEM;
	return 0;
}

int rrlist_add(rrlist_t *l, const uint8_t *owner, size_t owner_len, uint16_t type,
               uint16_t rclass, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	if (owner_len == 0 || owner_len > WNAME_MAXLEN || rdlen > 65535)
		return ANYNS_EINVAL;
	if (reserve(l, owner_len + rdlen) != 0)
		return ANYNS_ENOMEM;
	rr_t *r = &l->rr[l->n++];
	r->owner = (uint32_t)l->len;
	r->owner_len = (uint8_t)owner_len;
	memcpy(l->data + l->len, owner, owner_len);
	l->len += owner_len;
	r->rdata = (uint32_t)l->len;
	r->rdlen = (uint16_t)rdlen;
	if (rdlen > 0)
		memcpy(l->data + l->len, rdata, rdlen);
	l->len += rdlen;
	r->type = type;
	r->rclass = rclass;
	r->ttl = ttl;
	return 0;
}

int rrlist_copy_rr(rrlist_t *l, const rrlist_t *src, const rr_t *r)
{
	return rrlist_add(l, rr_owner(src, r), r->owner_len, r->type, r->rclass, r->ttl,
	                  rr_rdata(src, r), r->rdlen);
}

/* Expands the possibly compressed name at msg[*pos] into out (255 bytes).
 * Every pointer must go strictly backwards, so no loop is possible.
 * *pos ends just past the name as it sits in the record. Returns its
 * expanded length or ANYNS_EMALF. */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t *out)
{
	size_t p = *pos, o = 0, limit = *pos;
	bool jumped = false;

	for (;;) {
		if (p >= len)
			return ANYNS_EMALF;
		uint8_t l = msg[p];
		if ((l & 0xC0) == 0xC0) {
			if (p + 1 >= len)
				return ANYNS_EMALF;
			size_t to = (size_t)(l & 0x3F) << 8 | msg[p + 1];
			if (to >= limit)
				return ANYNS_EMALF;
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			limit = to;
			p = to;
			continue;
		}
		if (l > WNAME_MAXLABEL)
			return ANYNS_EMALF;
		if (o + 1 + l > WNAME_MAXLEN || p + 1 + l > len)
			return ANYNS_EMALF;
		memcpy(out + o, msg + p, 1 + (size_t)l);
		o += 1 + (size_t)l;
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	if (!jumped)
		*pos = p;
	return (int)o;
}

/* Where names sit in RDATA, for reading (every type whose names a receiver
 * must expand, RFC 3597 4) as a string of steps: a digit copies that many
 * bytes, 'n' one name, 's' one character-string; the rest is copied. */
static const char *rdata_steps(uint16_t type)
{
	switch (type) {
	case PKT_TYPE_NS: case PKT_TYPE_MD: case PKT_TYPE_MF: case PKT_TYPE_CNAME:
	case PKT_TYPE_MB: case PKT_TYPE_MG: case PKT_TYPE_MR: case PKT_TYPE_PTR:
	case PKT_TYPE_DNAME:
	case PKT_TYPE_NSEC:
		return "n";
	case PKT_TYPE_SOA: case PKT_TYPE_MINFO:
	case 17:        /* RP */
		return "nn";
	case PKT_TYPE_MX:
	case 18:        /* AFSDB */
	case 21:        /* RT */
	case 36:        /* KX */
		return "2n";
	case 26:        /* PX */
		return "2nn";
	case PKT_TYPE_SRV:
		return "6n";
	case 35:        /* NAPTR */
		return "4sssn";
	case PKT_TYPE_RRSIG:
	case 24:        /* SIG */
		return "99n";
	default:
		return "";
	}
}

int rrlist_read_wire(rrlist_t *l, const uint8_t *msg, size_t len, size_t *pos)
{
	uint8_t owner[WNAME_MAXLEN], rd[65535 + WNAME_MAXLEN];
	int olen = read_name(msg, len, pos, owner);
	if (olen < 0 || *pos + 10 > len)
		return ANYNS_EMALF;
	const uint8_t *h = msg + *pos;
	uint16_t type = pkt_get16(h), cls = pkt_get16(h + 2), rdlen = pkt_get16(h + 8);
	uint32_t ttl = pkt_get32(h + 4);
	size_t p = *pos + 10, end = p + rdlen, o = 0;
	if (end > len)
		return ANYNS_EMALF;
	for (const char *s = rdata_steps(type); *s; s++) {
		if (*s >= '1' && *s <= '9') {
			size_t k = (size_t)(*s - '0');
			if (p + k > end)
				return ANYNS_EMALF;
			memcpy(rd + o, msg + p, k);
			p += k;
			o += k;
		} else if (*s == 's') {
			if (p >= end || p + 1 + msg[p] > end)
				return ANYNS_EMALF;
			size_t k = 1 + (size_t)msg[p];
			memcpy(rd + o, msg + p, k);
			p += k;
			o += k;
		} else {
			int n = read_name(msg, end, &p, rd + o);
			if (n < 0)
				return ANYNS_EMALF;
			o += (size_t)n;
		}
	}
	if (end > p) {
		memcpy(rd + o, msg + p, end - p);
		o += end - p;
	}
	if (o > 65535)
		return ANYNS_EMALF;
	*pos = end;
	return rrlist_add(l, owner, (size_t)olen, type, cls, ttl, rd, o);
}

/* RFC 3597 4: only the RFC 1035 types get their RDATA names compressed. */
static bool compressed_layout(uint16_t type, unsigned *pre, unsigned *names)
{
	switch (type) {
	case PKT_TYPE_NS: case PKT_TYPE_CNAME: case PKT_TYPE_PTR:
	case PKT_TYPE_MD: case PKT_TYPE_MF: case PKT_TYPE_MB:
	case PKT_TYPE_MG: case PKT_TYPE_MR:
		*pre = 0; *names = 1; return true;
	case PKT_TYPE_MX:
		*pre = 2; *names = 1; return true;
	case PKT_TYPE_SOA: case PKT_TYPE_MINFO:
		*pre = 0; *names = 2; return true;
	default:
		return false;
	}
}

int rr_write_wire(const rrlist_t *l, const rr_t *r, compress_t *c, uint8_t *pkt, size_t off,
                  size_t end)
{
	size_t p = off;
	int w = compress_put(c, p, end, rr_owner(l, r), r->owner_len, true);
	if (w < 0)
		return w;
	p += (size_t)w;
	if (end - p < 10)
		return ANYNS_ESPACE;
	pkt_put16(pkt + p, r->type);
	pkt_put16(pkt + p + 2, r->rclass);
	pkt_put32(pkt + p + 4, r->ttl);
	size_t rdl_at = p + 8;
	p += 10;
	const uint8_t *rd = rr_rdata(l, r);
	unsigned pre, names;
	size_t o = 0;
	if (compressed_layout(r->type, &pre, &names) && r->rdlen >= pre) {
		if (end - p < pre)
			return ANYNS_ESPACE;
		memcpy(pkt + p, rd, pre);
		p += pre;
		o = pre;
		for (unsigned i = 0; i < names; i++) {
			int nl = wname_check(rd + o, r->rdlen - o);
			if (nl < 0)
				break;  /* malformed stored RDATA: the rest goes out as is */
			w = compress_put(c, p, end, rd + o, (size_t)nl, true);
			if (w < 0)
				return w;
			p += (size_t)w;
			o += (size_t)nl;
		}
	}
	if (end - p < (size_t)(r->rdlen - o))
		return ANYNS_ESPACE;
	memcpy(pkt + p, rd + o, r->rdlen - o);
	p += r->rdlen - o;
	pkt_put16(pkt + rdl_at, (uint16_t)(p - rdl_at - 2));
	return (int)(p - off);
}

int rr_cmp(const rrlist_t *la, const rr_t *a, const rrlist_t *lb, const rr_t *b)
{
	int c = wname_canon_cmp(rr_owner(la, a), a->owner_len, rr_owner(lb, b), b->owner_len);
	if (c != 0)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->rclass != b->rclass)
		return a->rclass < b->rclass ? -1 : 1;
	size_t n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	c = memcmp(rr_rdata(la, a), rr_rdata(lb, b), n);
	if (c != 0)
		return c;
	return a->rdlen == b->rdlen ? 0 : (a->rdlen < b->rdlen ? -1 : 1);
}

static int cmp_sort(const void *x, const void *y, void *ctx)
{
	return rr_cmp(ctx, x, ctx, y);
}

void rrlist_sort(rrlist_t *l)
{
	if (l->n > 1)
		qsort_r(l->rr, l->n, sizeof(rr_t), cmp_sort, l);
}

void rrlist_dedup(rrlist_t *l)
{
	size_t o = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (o > 0 && rr_cmp(l, &l->rr[o - 1], l, &l->rr[i]) == 0)
			continue;
		l->rr[o++] = l->rr[i];
	}
	l->n = o;
}

struct walk_ctx {
	const zone_t *z;
	rrlist_t *out;
};

static int walk_add(void *ctx, const uint8_t *name, size_t name_len, const uint16_t *types,
                    size_t ntypes)
{
	struct walk_ctx *w = ctx;
	const znode_t *n = zone_lookup(w->z, name, name_len);
	if (n == NULL)
		return ANYNS_ENOENT;
	for (size_t i = 0; i < znode_rrset_count(n); i++) {
		const zrrset_t *rs = znode_rrset_at(n, i);
		const uint8_t *p = rs->data;
		size_t first = w->out->n;
		for (unsigned k = 0; k < rs->count; k++) {
			uint16_t rdlen = pkt_get16(p);
			int rc = rrlist_add(w->out, name, name_len, rs->type, PKT_CLASS_IN, rs->ttl,
			                    p + 2, rdlen);
			if (rc != 0)
				return rc;
			p += 2 + (size_t)rdlen;
		}
		/* Names come in canonical order and RRsets by type: only the
		 * records of one RRset may need sorting. */
		if (rs->count > 1)
			qsort_r(w->out->rr + first, rs->count, sizeof(rr_t), cmp_sort, w->out);
	}
	return 0;
}

int rrlist_from_zone(const zone_t *z, rrlist_t *out)
{
	struct walk_ctx w = { z, out };
	return zone_walk(z, walk_add, &w);
}

bool rr_soa_fields(const rrlist_t *l, const rr_t *r, uint32_t v[5])
{
	const uint8_t *rd = rr_rdata(l, r);
	size_t o = 0;
	for (int i = 0; i < 2; i++) {
		int n = wname_check(rd + o, r->rdlen - o);
		if (n < 0)
			return false;
		o += (size_t)n;
	}
	if (r->rdlen - o != 20)
		return false;
	for (int i = 0; i < 5; i++)
		v[i] = pkt_get32(rd + o + 4 * (size_t)i);
	return true;
}

bool rr_soa_serial(const rrlist_t *l, const rr_t *r, uint32_t *serial)
{
	uint32_t v[5];
	if (!rr_soa_fields(l, r, v))
		return false;
	*serial = v[0];
	return true;
}

const rr_t *rrlist_soa(const rrlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rr[i].type == PKT_TYPE_SOA)
			return &l->rr[i];
	return NULL;
}
