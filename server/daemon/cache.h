/* Per-worker answer cache: a direct-mapped table of response templates keyed
 * by answer_key_t, filled from answer_build() and served with answer_patch().
 * One table per worker, so no locks; entries of an older zone-set generation
 * never match, so a reload needs no flush. */
#ifndef ANYNSD_CACHE_H
#define ANYNSD_CACHE_H

#include <stdint.h>
#include <string.h>

#include "anyns.h"

/* answer_patch() templates are at most 512 bytes (the no-EDNS UDP limit), so
 * the same template fits every client. */
#define ACACHE_TMPL_MAX 512

typedef struct acache_ent {
	uint64_t gen;            /* 0: empty */
	uint32_t hash;
	uint16_t len;
	uint8_t rcode;
	answer_key_t key;
	uint8_t tmpl[ACACHE_TMPL_MAX];
} acache_ent_t;

struct acache {
	size_t mask;
	acache_ent_t *ent;
};

static inline uint32_t acache_hash(const answer_key_t *k)
{
	/* FNV-1a over the name, then the fixed fields. */
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < k->name_len; i++)
		h = (h ^ k->name[i]) * 16777619u;
	h = (h ^ k->qtype) * 16777619u;
	h = (h ^ k->qclass) * 16777619u;
	h = (h ^ k->flags) * 16777619u;
	return h ^ (h >> 15);
}

static inline const acache_ent_t *acache_find(const struct acache *c, const answer_key_t *k,
                                              uint32_t h, uint64_t gen)
{
	const acache_ent_t *e = &c->ent[h & c->mask];
	if (e->gen == gen && e->hash == h && e->key.name_len == k->name_len &&
	    e->key.qtype == k->qtype && e->key.qclass == k->qclass &&
	    e->key.flags == k->flags && memcmp(e->key.name, k->name, k->name_len) == 0)
		return e;
	return NULL;
}

static inline void acache_store(struct acache *c, const answer_key_t *k, uint32_t h,
                                uint64_t gen, const uint8_t *resp, size_t len, uint8_t rcode)
{
	acache_ent_t *e = &c->ent[h & c->mask];
	e->gen = gen;
	e->hash = h;
	e->len = (uint16_t)len;
	e->rcode = rcode;
	e->key = *k;
	memcpy(e->tmpl, resp, len);
}

#endif
