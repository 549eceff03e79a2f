/* Per-worker answer cache: a two-way set-associative table of response
 * templates keyed by answer_key_t, filled from answer_build() and served with
 * answer_patch(). One table per worker, so no locks; entries of an older
 * zone-set generation never match, so a reload needs no flush.
 *
 * A slot is 512 bytes: a small header, then the key's name and the template
 * back to back. Memory is only touched as slots fill up. */
#ifndef ANYNSD_CACHE_H
#define ANYNSD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "anyns.h"

/* answer_patch() templates are at most 512 bytes (the no-EDNS UDP limit), so
 * the same template fits every client. */
#define ACACHE_TMPL_MAX 512
#define ACACHE_DATA     488

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

static inline uint32_t acache_hash(const answer_key_t *k)
{
	/* Eight name bytes per step: answer_key_from_query() zero-fills the name
	 * past name_len, so a whole word may be read while it stays inside it. */
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

static inline bool acache__match(const acache_ent_t *e, const answer_key_t *k, uint32_t h,
                                 uint64_t gen)
{
	return e->gen == gen && e->hash == h && e->name_len == k->name_len &&
	       e->qtype == k->qtype && e->qclass == k->qclass && e->flags == k->flags &&
	       memcmp(e->data, k->name, k->name_len) == 0;
}

/* The template of a matching entry is at e->data + e->name_len. */
static inline const acache_ent_t *acache_find(const struct acache *c, const answer_key_t *k,
                                              uint32_t h, uint64_t gen)
{
	const acache_ent_t *e = &c->ent[(h & c->mask) * 2];
	if (acache__match(e, k, h, gen))
		return e;
	if (acache__match(e + 1, k, h, gen))
		return e + 1;
	return NULL;
}

static inline const uint8_t *acache_tmpl(const acache_ent_t *e)
{
	return e->data + e->name_len;
}

/* Stores a template; the set's older entry (second slot) is the one evicted. */
static inline void acache_store(struct acache *c, const answer_key_t *k, uint32_t h,
                                uint64_t gen, const uint8_t *resp, size_t len, uint8_t rcode)
{
	acache_ent_t *e = &c->ent[(h & c->mask) * 2];
	if ((size_t)k->name_len + len > ACACHE_DATA)
		return;
	if (e->gen == gen) {
		/* Keep the newest in the first slot: move it down (header and bytes used). */
		memcpy(&e[1], e, offsetof(acache_ent_t, data) + e->name_len + e->len);
	}
	e->gen = gen;
	e->hash = h;
	e->len = (uint16_t)len;
	e->rcode = rcode;
	e->name_len = k->name_len;
	e->qtype = k->qtype;
	e->qclass = k->qclass;
	e->flags = k->flags;
	memcpy(e->data, k->name, k->name_len);
	memcpy(e->data + k->name_len, resp, len);
}

/* The answer_patch() contract (anyns.h) done in place, because the query was
 * just checked by answer_key_from_query(): the simple shape puts the question
 * name, uncompressed, at offset 12 of both query and template. Copies the
 * template and writes the query's ID, RD bit and name bytes (letter case).
 * Returns the length, or 0 when it does not fit. */
static inline size_t acache_patch(const acache_ent_t *e, const uint8_t *q, uint8_t *out,
                                  size_t outcap)
{
	const uint8_t *t = acache_tmpl(e);
	size_t len = e->len;
	if (len > outcap || len < 12u + e->name_len)
		return 0;
	memcpy(out, t, len);
	out[0] = q[0];
	out[1] = q[1];
	out[2] = (uint8_t)((t[2] & ~0x01) | (q[2] & 0x01));
	memcpy(out + 12, q + 12, e->name_len);
	return len;
}

#endif
