/* Answer cache (acache.h): keys, hash, template patching and the per-thread
 * template table. */
#include <stdlib.h>
#include <string.h>

#include "acache.h"
#include "pkt.h"
#include "wire_name.h"

/* ---- keys ---------------------------------------------------------------- */

/* The simple shape is checked here in one pass, without pkt_parse_query():
 * it accepts exactly the queries for which that sets pq.simple (QR=0,
 * opcode QUERY, QDCOUNT 1, AN/NS 0, a sound uncompressed question, then
 * nothing or one OPT with a root owner, version 0 and empty RDATA, then the
 * end). The cache hit path runs this for every query. */
static inline int acache__key(const uint8_t *query, size_t qlen, acache_key_t *key)
{
	const uint8_t *q = query;
	size_t p = PKT_HDR_LEN, n;
	uint8_t flags = 0;

	if (qlen < PKT_HDR_LEN + 5 || (q[2] & 0xF8) != 0 ||
	    q[4] != 0 || q[5] != 1 || (q[6] | q[7] | q[8] | q[9] | q[10]) != 0 || q[11] > 1)
		return ANYNS_EINVAL;
	for (;;) {
		uint8_t c = q[p];
		if (c & 0xC0)
			return ANYNS_EINVAL;
		p += (size_t)c + 1;
		/* RFC 1035 3.1: 255 octets at most; the label must be inside. */
		if (p - PKT_HDR_LEN > WNAME_MAXLEN || p >= qlen)
			return ANYNS_EINVAL;
		if (c == 0)
			break;
	}
	n = p - PKT_HDR_LEN;
	if (qlen - p < 4)
		return ANYNS_EINVAL;
	size_t qt = p;
	p += 4;
	if (q[11] == 1) {
		/* RFC 6891 6.1.2: root owner, TYPE OPT, CLASS payload, TTL
		 * ext-rcode|version|flags, RDLENGTH 0 (no options). */
		const uint8_t *o = q + p;
		if (qlen - p != 11 || o[0] != 0 || pkt_get16(o + 1) != PKT_TYPE_OPT ||
		    o[6] != 0 || o[9] != 0 || o[10] != 0)
			return ANYNS_EINVAL;
		flags = ACACHE_KEY_EDNS | ((o[7] & 0x80) ? ACACHE_KEY_DO : 0);
	} else if (p != qlen) {
		return ANYNS_EINVAL;
	}
	/* *key is written only for a query of the simple shape. */
	key->qtype = pkt_get16(q + qt);
	key->qclass = pkt_get16(q + qt + 2);
	key->flags = flags;
	memset(key->name, 0, sizeof(key->name));
	pkt_lower_name(key->name, q + PKT_HDR_LEN, n);
	key->name_len = (uint8_t)n;
	return 0;
}

int acache_key_from_query(const uint8_t *query, size_t qlen, acache_key_t *key)
{
	return acache__key(query, qlen, key);
}

static inline uint32_t acache__hash(const acache_key_t *k)
{
	/* Eight name bytes per step: acache__key() zero-fills the name past
	 * name_len, so a whole word may be read while it stays inside it. */
	const unsigned n = k->name_len;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
	for (unsigned i = 0; i < n; i += 8) {
		w = 0;
		memcpy(&w, k->name + i, i + 8 <= sizeof(k->name) ? 8 : sizeof(k->name) - i);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h ^= (uint64_t)k->qtype << 24 | (uint64_t)k->qclass << 8 | k->flags;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(h ^ (h >> 33));
}

uint32_t acache_hash(const acache_key_t *key)
{
	return acache__hash(key);
}

/* ---- patching ------------------------------------------------------------ */

/* The patch itself, for a query whose uncompressed question name of
 * `name_len` bytes is known to sit at offset 12 of both query and template.
 * The caller checked outcap. */
static inline void acache__patch(const uint8_t *t, size_t tlen, const uint8_t *q,
                                 size_t name_len, uint8_t *out)
{
	memcpy(out, t, tlen);
	out[0] = q[0];
	out[1] = q[1];
	out[2] = (uint8_t)((t[2] & ~PKT_F1_RD) | (q[2] & PKT_F1_RD));
	memcpy(out + PKT_HDR_LEN, q + PKT_HDR_LEN, name_len);
}

/* Length of the uncompressed question name at PKT_HDR_LEN, or 0. */
static size_t question_name_len(const uint8_t *m, size_t len)
{
	size_t p = PKT_HDR_LEN, lim = PKT_HDR_LEN + WNAME_MAXLEN;

	if (lim > len)
		lim = len;
	while (p < lim) {
		uint8_t c = m[p];
		if (c == 0)
			return p + 1 - PKT_HDR_LEN;
		if (c & 0xC0)
			return 0;
		p += (size_t)c + 1;
	}
	return 0;
}

int acache_patch(const uint8_t *tmpl, size_t tlen, const uint8_t *query, size_t qlen,
                 uint8_t *out, size_t outcap, size_t *outlen)
{
	size_t n = question_name_len(query, qlen);

	if (n == 0 || question_name_len(tmpl, tlen) != n)
		return ANYNS_EINVAL;
	if (outcap < tlen)
		return ANYNS_ESPACE;
	acache__patch(tmpl, tlen, query, n, out);
	*outlen = tlen;
	return 0;
}

/* ---- the table ------------------------------------------------------------
 * A two-way set-associative table of 512-byte slots: a small header, then the
 * key's name and the template back to back. Memory is only touched as slots
 * fill up. */
#define ACACHE_DATA 488

typedef struct acache_ent {
	uint64_t gen;            /* 0: empty */
	uint32_t hash;
	uint16_t len;            /* template length */
	uint8_t rcode;
	uint8_t name_len;
	uint16_t qtype, qclass;
	uint8_t flags;
	uint8_t pad_[3];
	uint8_t data[ACACHE_DATA]; /* name (name_len bytes), then the template */
} acache_ent_t;

struct acache {
	size_t mask;             /* sets - 1; a set is two slots */
	acache_ent_t *ent;
};

int acache_new(size_t entries, acache_t **out)
{
	size_t sets = 1;
	while (sets * 2 < entries)
		sets <<= 1;
	acache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ANYNS_ENOMEM;
	/* calloc: pages stay untouched (and cost nothing) until slots fill. */
	c->ent = calloc(sets * 2, sizeof(*c->ent));
	if (c->ent == NULL) {
		free(c);
		return ANYNS_ENOMEM;
	}
	c->mask = sets - 1;
	*out = c;
	return 0;
}

void acache_free(acache_t *c)
{
	if (c == NULL)
		return;
	free(c->ent);
	free(c);
}

static inline bool acache__match(const acache_ent_t *e, const acache_key_t *k, uint32_t h,
                                 uint64_t gen)
{
	return e->gen == gen && e->hash == h && e->name_len == k->name_len &&
	       e->qtype == k->qtype && e->qclass == k->qclass && e->flags == k->flags &&
	       memcmp(e->data, k->name, k->name_len) == 0;
}

int acache_lookup(acache_t *c, uint64_t gen, const uint8_t *query, size_t qlen,
                  acache_key_t *key, uint32_t *hash, uint8_t *out, size_t outcap,
                  size_t *outlen, uint8_t *rcode)
{
	if (acache__key(query, qlen, key) != 0)
		return ANYNS_EINVAL;
	uint32_t h = acache__hash(key);
	*hash = h;
	const acache_ent_t *e = &c->ent[(h & c->mask) * 2];
	if (!acache__match(e, key, h, gen)) {
		e++;
		if (!acache__match(e, key, h, gen))
			return ANYNS_ENOENT;
	}
	/* The key check put the query's name, as long as the template's, at
	 * offset 12 of both. */
	if (e->len > outcap)
		return ANYNS_ENOENT;
	acache__patch(e->data + e->name_len, e->len, query, e->name_len, out);
	*outlen = e->len;
	*rcode = e->rcode;
	return 0;
}

bool acache_store(acache_t *c, uint64_t gen, const acache_key_t *k, uint32_t h,
                  const uint8_t *resp, size_t len, const answer_info_t *info)
{
	/* A truncated answer depends on the client's payload size: never reuse it. */
	if (!info->cacheable || info->tc || len > ACACHE_TMPL_MAX ||
	    len < PKT_HDR_LEN + (size_t)k->name_len)
		return false;
	if ((size_t)k->name_len + len > ACACHE_DATA)
		return true;   /* a template, too big for a slot */
	acache_ent_t *e = &c->ent[(h & c->mask) * 2];
	if (e->gen == gen) {
		/* Keep the newest in the first slot: move it down (header and bytes used). */
		memcpy(&e[1], e, offsetof(acache_ent_t, data) + e->name_len + e->len);
	}
	e->gen = gen;
	e->hash = h;
	e->len = (uint16_t)len;
	e->rcode = info->rcode;
	e->name_len = k->name_len;
	e->qtype = k->qtype;
	e->qclass = k->qclass;
	e->flags = k->flags;
	memcpy(e->data, k->name, k->name_len);
	memcpy(e->data + k->name_len, resp, len);
	return true;
}
