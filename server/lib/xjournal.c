/* Encoding and checked decoding of a zone's transfer history (xjournal.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pkt.h"
#include "wire_name.h"
#include "xjournal.h"

#define XJ_MAGIC     "ANYNSJ\x00\x01"
#define XJ_MAGIC_LEN 8
#define XJ_SUM_LEN   32
#define XJ_RR_MIN    (1 + 1 + 10)   /* root owner, fixed fields */

typedef struct buf {
	uint8_t *p;
	size_t len, cap;
	int err;
} buf_t;

static void put(buf_t *b, const void *data, size_t n)
{
	if (b->err != 0)
		return;
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		while (nc < b->len + n)
			nc *= 2;
		uint8_t *np = realloc(b->p, nc);
		if (np == NULL) {
			b->err = ANYNS_ENOMEM;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put32(buf_t *b, uint32_t v)
{
	uint8_t x[4];
	pkt_put32(x, v);
	put(b, x, 4);
}

static void put_list(buf_t *b, const rrlist_t *l)
{
	put32(b, (uint32_t)l->n);
	for (size_t i = 0; i < l->n; i++) {
		const rr_t *r = &l->rr[i];
		uint8_t f[10];
		put(b, &r->owner_len, 1);
		put(b, rr_owner(l, r), r->owner_len);
		pkt_put16(f, r->type);
		pkt_put16(f + 2, r->rclass);
		pkt_put32(f + 4, r->ttl);
		pkt_put16(f + 8, r->rdlen);
		put(b, f, 10);
		put(b, rr_rdata(l, r), r->rdlen);
	}
}

static bool sha256(const uint8_t *p, size_t n, uint8_t out[XJ_SUM_LEN])
{
	unsigned int ol = 0;
	return EVP_Digest(p, n, out, &ol, EVP_sha256(), NULL) == 1 && ol == XJ_SUM_LEN;
}

static bool list_serial(const rrlist_t *l, uint32_t *serial)
{
	const rr_t *soa = rrlist_soa(l);
	return soa != NULL && rr_soa_serial(l, soa, serial);
}

int xjournal_encode(const uint8_t *origin, size_t olen, const rrlist_t *rrs,
                    const xfr_change_t *ch, size_t nch, uint8_t **out, size_t *len)
{
	uint32_t serial;
	if (olen == 0 || olen > WNAME_MAXLEN || !list_serial(rrs, &serial))
		return ANYNS_EINVAL;
	for (size_t i = 0; i < nch; i++)
		if (ch[i].to != (i + 1 < nch ? ch[i + 1].from : serial))
			return ANYNS_EINVAL;
	buf_t b = { 0 };
	uint8_t ol = (uint8_t)olen;
	put(&b, XJ_MAGIC, XJ_MAGIC_LEN);
	put(&b, &ol, 1);
	put(&b, origin, olen);
	put_list(&b, rrs);
	put32(&b, (uint32_t)nch);
	for (size_t i = 0; i < nch; i++) {
		put32(&b, ch[i].from);
		put32(&b, ch[i].to);
		put_list(&b, &ch[i].del);
		put_list(&b, &ch[i].add);
	}
	uint8_t sum[XJ_SUM_LEN];
	if (b.err == 0 && !sha256(b.p, b.len, sum))
		b.err = ANYNS_ENOMEM;
	put(&b, sum, XJ_SUM_LEN);
	if (b.err != 0) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* A cursor over the checked body. */
typedef struct rd {
	const uint8_t *p;
	size_t len, pos;
} rd_t;

static bool get32(rd_t *r, uint32_t *v)
{
	if (r->len - r->pos < 4)
		return false;
	*v = pkt_get32(r->p + r->pos);
	r->pos += 4;
	return true;
}

static int get_list(rd_t *r, rrlist_t *l)
{
	uint32_t n;
	if (!get32(r, &n) || n > (r->len - r->pos) / XJ_RR_MIN)
		return ANYNS_EMALF;
	for (uint32_t i = 0; i < n; i++) {
		if (r->len - r->pos < 1)
			return ANYNS_EMALF;
		size_t on = r->p[r->pos++];
		if (on == 0 || r->len - r->pos < on + 10 ||
		    wname_check(r->p + r->pos, on) != (int)on)
			return ANYNS_EMALF;
		const uint8_t *owner = r->p + r->pos;
		const uint8_t *f = owner + on;
		size_t rdlen = pkt_get16(f + 8);
		r->pos += on + 10;
		if (r->len - r->pos < rdlen)
			return ANYNS_EMALF;
		int rc = rrlist_add(l, owner, on, pkt_get16(f), pkt_get16(f + 2), pkt_get32(f + 4),
		                    r->p + r->pos, rdlen);
		if (rc != 0)
			return rc;
		r->pos += rdlen;
	}
	return 0;
}

int xjournal_decode(const uint8_t *buf, size_t len, const uint8_t *origin, size_t olen,
                    rrlist_t *rrs, xfr_change_t **chp, size_t *nchp, uint32_t *serial)
{
	uint8_t sum[XJ_SUM_LEN];
	if (len < XJ_MAGIC_LEN + 1 + XJ_SUM_LEN || memcmp(buf, XJ_MAGIC, XJ_MAGIC_LEN) != 0)
		return ANYNS_EMALF;
	if (!sha256(buf, len - XJ_SUM_LEN, sum))
		return ANYNS_ENOMEM;
	if (memcmp(sum, buf + len - XJ_SUM_LEN, XJ_SUM_LEN) != 0)
		return ANYNS_EMALF;
	rd_t r = { buf, len - XJ_SUM_LEN, XJ_MAGIC_LEN };
	size_t on = r.p[r.pos++];
	if (r.len - r.pos < on)
		return ANYNS_EMALF;
	if (!wname_equal(r.p + r.pos, on, origin, olen))
		return ANYNS_EINVAL;
	r.pos += on;
	xfr_change_t *ch = NULL;
	size_t nch = 0;
	uint32_t n = 0;
	int rc = get_list(&r, rrs);
	if (rc == 0 && (!get32(&r, &n) || n > (r.len - r.pos) / 16))
		rc = ANYNS_EMALF;
	if (rc == 0 && n > 0 && (ch = calloc(n, sizeof(*ch))) == NULL)
		rc = ANYNS_ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		xfr_change_init(&ch[i]);
		nch++;
		if (!get32(&r, &ch[i].from) || !get32(&r, &ch[i].to))
			rc = ANYNS_EMALF;
		if (rc == 0)
			rc = get_list(&r, &ch[i].del);
		if (rc == 0)
			rc = get_list(&r, &ch[i].add);
	}
	if (rc == 0 && r.pos != r.len)
		rc = ANYNS_EMALF;
	if (rc == 0 && !list_serial(rrs, serial))
		rc = ANYNS_EMALF;
	for (size_t i = 0; rc == 0 && i < nch; i++) {
		uint32_t fs, ts;
		if (ch[i].to != (i + 1 < nch ? ch[i + 1].from : *serial) ||
		    !list_serial(&ch[i].del, &fs) || !list_serial(&ch[i].add, &ts) ||
		    fs != ch[i].from || ts != ch[i].to)
			rc = ANYNS_EINVAL;
	}
	if (rc != 0) {
		for (size_t i = 0; i < nch; i++)
			xfr_change_clear(&ch[i]);
		free(ch);
		rrlist_clear(rrs);
		return rc;
	}
	rrlist_sort(rrs);
	*chp = ch;
	*nchp = nch;
	return 0;
}
