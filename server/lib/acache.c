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
static inline int acache__key(const uint8_t *query, size_t qlen, acache_key_t *key, bool full)
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
	/* The hash reads the name in words up to the next multiple of 8: the
	 * hit path zeroes only that word, not all 255 bytes. */
	size_t w = n & ~(size_t)7;
	if (full) {
		memset(key->name, 0, sizeof(key->name));
	} else if (w + 8 <= sizeof(key->name)) {
		const uint64_t zero = 0;
		memcpy(key->name + w, &zero, 8);
	} else {
		memset(key->name + w, 0, sizeof(key->name) - w);
	}
	pkt_lower_name(key->name, q + PKT_HDR_LEN, n);
	key->name_len = (uint8_t)n;
	return 0;
}

int acache_key_from_query(const uint8_t *query, size_t qlen, acache_key_t *key)
{
	return acache__key(query, qlen, key, true);
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
	out[3] = (uint8_t)((t[3] & ~PKT_F2_CD) | (q[3] & PKT_F2_CD));
	/* The name eight bytes at a time, the last word ending at its end
	 * (overlapping the one before): no library call for a short copy. */
	const uint8_t *src = q + PKT_HDR_LEN;
	uint8_t *dst = out + PKT_HDR_LEN;
	if (name_len < 8) {
		for (size_t i = 0; i < name_len; i++)
			dst[i] = src[i];
		return;
	}
	uint64_t w;
	for (size_t i = 0; i + 8 < name_len; i += 8) {
		memcpy(&w, src + i, 8);
		memcpy(dst + i, &w, 8);
	}
	memcpy(&w, src + name_len - 8, 8);
	memcpy(dst + name_len - 8, &w, 8);
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
 * Templates live back to back in a ring of bytes (the arena), each behind a
 * 16-byte header, in 16-byte units; the oldest are overwritten first. An
 * index of 8-entry buckets maps a key's hash to the ring position of its
 * record. A bucket is one cache line on a 64-byte boundary: the 8 ring
 * positions, a 16-bit tag of each entry's hash, and the 8 fingerprints of
 * the doorkeeper (below) for the keys of the bucket, so that a miss and its
 * admission check read one line. The stored template's question name is the
 * lowercased key name, so the record holds the whole key with no copy of the
 * name: a lookup compares the key against the template's own question.
 *
 * Positions are absolute ring positions in units, kept to 32 bits in the
 * index: an entry is current while its record has not been overwritten,
 * i.e. while head - pos <= ring size (unsigned, so wrapping is harmless).
 * An entry that outlived 2^32 units of writes may point into the middle of
 * a record; the record's full check (generation, hash, flags, name, type,
 * class) rejects it, and the bounded length keeps the read inside the arena.
 *
 * Memory: the ring is touched only as it fills, front to back; the index and
 * the admission filter are small. Nothing is allocated after acache_new(),
 * and eviction is the tail of the ring: O(1) amortised per store.
 *
 * Admission: an NXDOMAIN is admitted on its key's second miss only, as
 * remembered by 16-bit fingerprints of hashes kept in the buckets (a
 * doorkeeper, one fingerprint per index entry): a flood
 * of names each asked once (random subdomains) leaves the ring alone, over
 * UDP and TCP alike. Other answers are admitted while storing costs nothing
 * (the record that would be overwritten is free, stale or of an older
 * generation); once storing would evict a current entry, they too need a
 * second miss. A
 * hit on a record in the oldest quarter of the ring copies it to the head,
 * so entries in use survive the churn of the rest. */
#define ACACHE_UNIT   16
#define ACACHE_WAYS   8
#define ACACHE_MARKER 0xFF     /* hdr.flags of the filler at the end of a lap */
#define ACACHE_ACL    0x80     /* hdr.flags: the zone has an allow-query list */
#define ACACHE_WILD   0x40     /* hdr.flags: synthesised from a wildcard */
#define ACACHE_PART   0x20     /* hdr.flags: records left out to fit 512 bytes */
#define ACACHE_KEYF   0x1F     /* hdr.flags: the key's ACACHE_KEY_* */

typedef struct acache_hdr {
	uint64_t gen;              /* 0: never written */
	uint32_t hash;
	uint16_t len;              /* template bytes that follow */
	uint8_t rcode;
	uint8_t flags;             /* ACACHE_KEY_* | ACACHE_ACL | ACACHE_WILD | ACACHE_PART,
	                            * or ACACHE_MARKER */
} acache_hdr_t;

typedef struct acache_bucket {
	uint32_t pos[ACACHE_WAYS]; /* ring positions, in units */
	uint16_t tag[ACACHE_WAYS]; /* acache__tag() of each entry's hash */
	uint16_t door[ACACHE_WAYS];/* doorkeeper fingerprints (acache__seen()) */
} acache_bucket_t;

struct acache {
	acache_bucket_t *index;    /* nbuckets, 64-byte aligned inside index_mem */
	void *index_mem;
	uint32_t bmask;            /* nbuckets - 1 */
	uint32_t units;            /* ring size in units, a power of two */
	uint32_t old_age;          /* older records (in units) are in the last quarter of the
	                            * ring; UINT32_MAX until it first fills */
	uint64_t head, tail;       /* absolute positions in units: next write, oldest record */
	uint8_t *ring;             /* units * ACACHE_UNIT bytes, + room for one record */
};

_Static_assert(sizeof(acache_bucket_t) == 64, "a bucket is one cache line");

/* The bucket of hash h takes its low bits, the tag its high 16 (all that
 * tells the keys of one bucket apart while there are at most 2^16 buckets,
 * 2^19 entries). */
static inline uint16_t acache__tag(uint32_t h)
{
	return (uint16_t)(h >> 16);
}

static inline acache_bucket_t *acache__bucket(const acache_t *c, uint32_t h)
{
	return &c->index[h & c->bmask];
}

static inline size_t acache__units(size_t tlen)
{
	return (sizeof(acache_hdr_t) + tlen + ACACHE_UNIT - 1) / ACACHE_UNIT;
}

static inline acache_hdr_t *acache__rec(const acache_t *c, uint64_t pos)
{
	return (acache_hdr_t *)(c->ring + (size_t)(pos & (c->units - 1)) * ACACHE_UNIT);
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

int acache_new(size_t entries, acache_t **out)
{
	if (entries < 64)
		entries = 64;
	if (entries > ((size_t)1 << 26))
		return ANYNS_EINVAL;
	acache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ANYNS_ENOMEM;
	size_t slots = pow2_at_least(entries);
	/* 64 bytes of ring per entry: typical templates are 60-200 bytes and
	 * most names are asked in one or two shapes. */
	size_t ring = pow2_at_least(entries * 64);
	size_t nb = slots / ACACHE_WAYS;
	c->bmask = (uint32_t)(nb - 1);
	c->units = (uint32_t)(ring / ACACHE_UNIT);
	c->old_age = UINT32_MAX;
	/* calloc: untouched pages cost nothing; the ring fills front to back.
	 * The index is moved to the next 64-byte boundary by hand (a large
	 * calloc() starts 16 bytes into a page, and aligned_alloc() would have
	 * to be zeroed, touching every page). */
	c->index_mem = calloc(nb + 1, sizeof(acache_bucket_t));
	c->ring = calloc(1, ring + sizeof(acache_hdr_t) + ACACHE_TMPL_EDNS_MAX + ACACHE_UNIT);
	if (c->index_mem == NULL || c->ring == NULL) {
		acache_free(c);
		return ANYNS_ENOMEM;
	}
	c->index = (acache_bucket_t *)(((uintptr_t)c->index_mem + 63) & ~(uintptr_t)63);
	*out = c;
	return 0;
}

void acache_free(acache_t *c)
{
	if (c == NULL)
		return;
	free(c->index_mem);
	free(c->ring);
	free(c);
}

/* The record at `pos` (of a current slot), if it holds `key` under `gen`. */
static inline const acache_hdr_t *acache__match(const acache_t *c, uint32_t pos,
                                                const acache_key_t *k, uint64_t gen)
{
	const acache_hdr_t *r = acache__rec(c, pos);
	const uint8_t *t = (const uint8_t *)(r + 1) + PKT_HDR_LEN;
	const unsigned n = k->name_len;
	if (r->gen != gen || (r->flags & ACACHE_KEYF) != k->flags || r->len > ACACHE_TMPL_EDNS_MAX ||
	    r->len < PKT_HDR_LEN + n + 4 || pkt_get16(t + n) != k->qtype ||
	    pkt_get16(t + n + 2) != k->qclass)
		return NULL;
	/* The name eight bytes at a time, the last word ending at the name's
	 * end (overlapping the one before); names under 8 bytes byte by byte. */
	const uint8_t *kn = (const uint8_t *)k + offsetof(acache_key_t, name);
	uint64_t a, b, d = 0;
	if (n < 8) {
		for (unsigned i = 0; i < n; i++)
			d |= (uint64_t)(t[i] ^ kn[i]);
	} else {
		for (unsigned i = 0; i + 8 < n; i += 8) {
			memcpy(&a, t + i, 8);
			memcpy(&b, kn + i, 8);
			d |= a ^ b;
		}
		memcpy(&a, t + n - 8, 8);
		memcpy(&b, kn + n - 8, 8);
		d |= a ^ b;
	}
	if (d != 0)
		return NULL;
	return r;
}

/* Makes room for `units` at the head: the oldest records go. */
static inline void acache__reserve(acache_t *c, size_t units)
{
	while (c->head + units - c->tail > c->units)
		c->tail += acache__units(acache__rec(c, c->tail)->len);
}

/* Appends a record (header + template) and returns its position. A record
 * never wraps: the rest of the lap is filled with a marker first. */
__attribute__((noinline))
static uint64_t acache__append(acache_t *c, const acache_hdr_t *hdr, const uint8_t *tmpl,
                               const acache_key_t *k)
{
	size_t u = acache__units(hdr->len);
	size_t off = (size_t)(c->head & (c->units - 1));
	if (off + u > c->units) {
		size_t gap = c->units - off;
		acache__reserve(c, gap);
		acache_hdr_t m = { 0, 0, (uint16_t)(gap * ACACHE_UNIT - sizeof(m)), 0, ACACHE_MARKER };
		memcpy(acache__rec(c, c->head), &m, sizeof(m));
		c->head += gap;
	}
	acache__reserve(c, u);
	uint64_t pos = c->head;
	uint8_t *w = (uint8_t *)acache__rec(c, pos);
	memcpy(w, hdr, sizeof(*hdr));
	if (tmpl != w + sizeof(*hdr))
		memcpy(w + sizeof(*hdr), tmpl, hdr->len);
	if (k != NULL)
		memcpy(w + sizeof(*hdr) + PKT_HDR_LEN, k->name, k->name_len);
	c->head += u;
	if (c->head >= c->units)
		c->old_age = c->units - c->units / 4;
	return pos;
}

/* The way of bucket b for a new record with tag t: the same tag (most
 * likely a newer answer for the key), else one no longer current, else the
 * oldest. */
static int acache__victim(const acache_t *c, const acache_bucket_t *b, uint16_t t)
{
	uint32_t vage = 0;
	int v = 0;
	for (int i = 0; i < ACACHE_WAYS; i++) {
		uint32_t age = (uint32_t)c->head - b->pos[i];
		if (b->tag[i] == t)
			return i;
		if (age > c->units)
			age = UINT32_MAX;
		if (age > vage) {
			vage = age;
			v = i;
		}
	}
	return v;
}

/* True when the oldest record of the ring is a current entry of `gen`
 * (storing now would evict something in use). */
static bool acache__tail_live(const acache_t *c, uint64_t gen)
{
	const acache_hdr_t *r = acache__rec(c, c->tail);
	if (c->tail == c->head || r->gen != gen || r->flags == ACACHE_MARKER)
		return false;
	const acache_bucket_t *b = acache__bucket(c, r->hash);
	const uint16_t t = acache__tag(r->hash);
	for (int i = 0; i < ACACHE_WAYS; i++)
		if (b->tag[i] == t && b->pos[i] == (uint32_t)c->tail)
			return true;
	return false;
}

/* Doorkeeper: true when a miss of hash h was seen before (and not since
 * overwritten by another); remembers this one. One 16-bit fingerprint per
 * index entry, in the bucket's own line (read by the lookup just before):
 * a name asked once passes only on a fingerprint collision, about one in
 * 32768. */
static bool acache__seen(acache_t *c, uint32_t h)
{
	acache_bucket_t *b = acache__bucket(c, h);
	uint32_t m = h * 0x9e3779b1u;
	unsigned w = m >> 29;
	uint16_t fp = (uint16_t)((m >> 13) | 1);
	if (b->door[w] == fp)
		return true;
	b->door[w] = fp;
	return false;
}

int acache_lookup(acache_t *c, uint64_t gen, const uint8_t *query, size_t qlen,
                  acache_key_t *key, uint32_t *hash, uint8_t *out, size_t outcap,
                  size_t *outlen, uint8_t *rcode)
{
	if (acache__key(query, qlen, key, false) != 0)
		return ANYNS_EINVAL;
	uint32_t h = acache__hash(key);
	*hash = h;
	acache_bucket_t *b = acache__bucket(c, h);
	const acache_hdr_t *r = NULL;
	uint32_t age = 0;
	const uint16_t t = acache__tag(h);
	int i;
	for (i = 0; i < ACACHE_WAYS; i++) {
		if (b->tag[i] != t)
			continue;
		age = (uint32_t)c->head - b->pos[i];
		if (age <= c->units && (r = acache__match(c, b->pos[i], key, gen)) != NULL)
			break;
	}
	if (r == NULL || r->len > outcap)
		return ANYNS_ENOENT;
	/* Past 512 bytes only for a client that offered room for it (RFC
	 * 6891 6.2.3); the key check left its OPT as the last 11 bytes. */
	if (r->len > ACACHE_TMPL_MAX && pkt_get16(query + qlen - 11 + 3) < r->len)
		return ANYNS_ENOENT;
	/* The key check put the query's name, as long as the template's, at
	 * offset 12 of both. */
	acache__patch((const uint8_t *)(r + 1), r->len, query, key->name_len, out);
	*outlen = r->len;
	*rcode = r->rcode;
	int ret = ((r->flags & ACACHE_ACL) ? ACACHE_HIT_ACL : 0) |
	          ((r->flags & ACACHE_WILD) ? ACACHE_HIT_WILDCARD : 0) |
	          ((r->flags & ACACHE_PART) ? ACACHE_HIT_PARTIAL : 0);
	/* In use and about to be overwritten: move it to the head. */
	if (age > c->old_age) {
		acache_hdr_t hdr = *r;
		b->pos[i] = (uint32_t)acache__append(c, &hdr, out, key);
	}
	return ret;
}

bool acache_store(acache_t *c, uint64_t gen, const acache_key_t *k, uint32_t h,
                  const uint8_t *resp, size_t len, const answer_info_t *info)
{
	/* A truncated answer depends on the client's payload size: never reuse it. */
	if (!info->cacheable || info->tc || len < PKT_HDR_LEN + (size_t)k->name_len + 4 ||
	    len > ((k->flags & ACACHE_KEY_EDNS) ? ACACHE_TMPL_EDNS_MAX : ACACHE_TMPL_MAX))
		return false;
	/* A large template in a small ring would push out too much at once. */
	if (acache__units(len) > c->units / 8)
		return false;
	/* A name that does not exist is kept from its second miss on, as is
	 * any answer that would push out a live one. */
	if ((info->rcode == PKT_RCODE_NXDOMAIN ||
	     (c->head + acache__units(len) - c->tail > c->units && acache__tail_live(c, gen))) &&
	    !acache__seen(c, h))
		return false;
	acache_hdr_t hdr = { gen, h, (uint16_t)len, info->rcode,
	                     (uint8_t)(k->flags | (info->acl ? ACACHE_ACL : 0) |
	                               (info->wildcard != NULL ? ACACHE_WILD : 0) |
	                               (info->partial ? ACACHE_PART : 0)) };
	acache_bucket_t *b = acache__bucket(c, h);
	uint16_t t = acache__tag(h);
	int w = acache__victim(c, b, t);
	b->pos[w] = (uint32_t)acache__append(c, &hdr, resp, k);
	b->tag[w] = t;
	return len <= ACACHE_TMPL_MAX;
}

/* ---- pre-fill ------------------------------------------------------------ */

struct acache_pf {
	const zset_t *zs;
	const answer_conf_t *conf;
	size_t max_name, max, taken;
	acache_prefill_fn cb;
	void *ctx;
	uint8_t query[512];
	uint8_t resp[ACACHE_TMPL_MAX + 1];
};

/* One query shape for (name, type, IN); 1 when the caller must stop. */
static int acache__prefill_one(struct acache_pf *pf, const uint8_t *name, size_t nlen,
                               uint16_t qtype, uint8_t flags)
{
	size_t qlen = 0, rlen = 0;
	answer_info_t info;
	acache_key_t key;
	pkt_qspec_t qs = {
		.name = name, .name_len = nlen, .qtype = qtype, .qclass = PKT_CLASS_IN,
		.edns = (flags & ACACHE_KEY_EDNS) != 0, .do_bit = (flags & ACACHE_KEY_DO) != 0,
		.payload = 65535,
	};

	if (pkt_write_query(&qs, pf->query, sizeof(pf->query), &qlen) != 0 ||
	    acache__key(pf->query, qlen, &key, true) != 0)
		return 0;
	/* An answer over ACACHE_TMPL_MAX does not fit resp: ANYNS_ESPACE, and
	 * it would not be a template anyway. */
	if (answer_build(pf->zs, pf->conf, pf->query, qlen, ANSWER_UDP, pf->resp,
	                 sizeof(pf->resp), &rlen, &info) != 0 ||
	    !info.cacheable || info.tc || info.acl || rlen > ACACHE_TMPL_MAX)
		return 0;
	int r = pf->cb(pf->ctx, &key, pf->resp, rlen);
	if (r == ANYNS_ESPACE)
		return 1;
	if (r == 0)
		pf->taken++;
	return pf->taken >= pf->max;
}

static int acache__prefill_name(void *ctx, const uint8_t *name, size_t name_len,
                                const uint16_t *types, size_t ntypes)
{
	static const uint8_t shapes[] = { 0, ACACHE_KEY_EDNS, ACACHE_KEY_EDNS | ACACHE_KEY_DO };
	struct acache_pf *pf = ctx;
	uint16_t all[2 + 64];
	size_t n = 0;

	if (name_len > pf->max_name)
		return 0;
	all[n++] = PKT_TYPE_A;
	all[n++] = PKT_TYPE_AAAA;
	for (size_t i = 0; i < ntypes && n < sizeof(all) / sizeof(all[0]); i++)
		if (types[i] != PKT_TYPE_A && types[i] != PKT_TYPE_AAAA &&
		    types[i] != PKT_TYPE_RRSIG)
			all[n++] = types[i];
	for (size_t j = 0; j < n; j++)
		for (size_t s = 0; s < sizeof(shapes); s++)
			if (acache__prefill_one(pf, name, name_len, all[j], shapes[s]))
				return 1;
	return 0;
}

int acache_prefill(const zset_t *zs, const answer_conf_t *conf, size_t max_name, size_t max,
                   acache_prefill_fn cb, void *ctx, size_t *taken)
{
	int err = 0;
	struct acache_pf *pf = calloc(1, sizeof(*pf));

	if (taken != NULL)
		*taken = 0;
	if (pf == NULL)
		return ANYNS_ENOMEM;
	pf->zs = zs;
	pf->conf = conf;
	pf->max_name = max_name;
	pf->max = max;
	pf->cb = cb;
	pf->ctx = ctx;
	for (size_t i = 0; i < zset_count(zs) && pf->taken < max; i++) {
		err = zone_walk(zset_zone(zs, i), acache__prefill_name, pf);
		if (err > 0)
			err = 0;
		if (err < 0)
			break;
	}
	if (taken != NULL)
		*taken = pf->taken;
	free(pf);
	return err;
}
