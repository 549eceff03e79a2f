/* Layout of a compiled zone, shared by the builder (zone_build.c), the
 * checks (zone_check.c) and the lookup code (zone_db.c) only. Everything lives in a few flat arrays indexed
 * by uint32 so that a zone is cheap in memory and has no pointer chasing
 * beyond node -> zone:
 *   nodes   one per owner name and empty non-terminal, parents first
 *   table   open addressing on the lowercased wire name (hash in the slot)
 *   names   every node's lowercased wire name, back to back
 *   rrsets  each node's RRsets in a run sorted by type
 *   rdata   the RRsets' records, rdlen + rdata, back to back
 * A 1M-record zone takes about 95 MB. */
#ifndef ANYNS_ZONE_INT_H
#define ANYNS_ZONE_INT_H

#include <stdatomic.h>
#include <string.h>

#include "zone_build.h"
#include "zone_db.h"
#include "wire_name.h"

#define ZIDX_NONE UINT32_MAX

/* 28 bytes per name. The node array is preceded by ZNODES_HDR bytes holding
 * the zone pointer, so a node finds its zone through its own index instead
 * of a pointer per node. */
struct znode {
	uint32_t name_off;      /* into zone->names (lowercased wire) */
	uint32_t parent;        /* node index, ZIDX_NONE at the apex */
	uint32_t wild;          /* index of "*.<this>", ZIDX_NONE when absent */
	uint32_t rrset_first;   /* into zone->rrsets, sorted by type */
	uint32_t self;          /* own index */
	uint16_t rrset_count;
	uint16_t flags;         /* ZN_* */
	uint8_t name_len;
	uint8_t kids_hi;        /* children: kids_hi << 16 | kids, saturated */
	uint16_t kids;          /* at ZKIDS_MANY (see znode__kids) */
};

#define ZKIDS_MANY 0xffffffu

static inline uint32_t znode__kids(const struct znode *n)
{
	return (uint32_t)n->kids_hi << 16 | n->kids;
}

static inline void znode__set_kids(struct znode *n, uint32_t k)
{
	if (k > ZKIDS_MANY)
		k = ZKIDS_MANY;
	n->kids_hi = (uint8_t)(k >> 16);
	n->kids = (uint16_t)k;
}

/* A name of the base zone that a patched version no longer holds
 * (zone_patch.c); never returned by a lookup. */
#define ZN_GONE 0x8000

#define ZNODES_HDR 16

static inline const struct zone *znode__zone(const struct znode *n)
{
	const struct zone *z;
	memcpy(&z, (const char *)(n - n->self) - ZNODES_HDR, sizeof(z));
	return z;
}

struct zone {
	atomic_int refs;
	char *origin_text;
	uint8_t origin[WNAME_MAXLEN];
	uint8_t origin_len;
	uint8_t origin_labels;

	struct znode *nodes;    /* node 0 is the apex; a parent precedes its children */
	uint32_t nnodes;
	uint64_t *table;        /* open addressing: hash << 32 | node index + 1; 0 = empty */
	uint32_t mask;
	uint8_t *names;
	size_t names_len;
	zrrset_t *rrsets;
	uint32_t nrrsets;
	uint8_t *rdata;
	size_t rdata_len;
	const zrrset_t *soa;
	zone_stats_t stats;

	/* DNSSEC (zone_dnssec.c); empty for an unsigned zone. */
	uint8_t denial;         /* ZDNSSEC_* */
	uint8_t n3alg;          /* NSEC3PARAM in use: hash algorithm, */
	uint8_t n3saltlen;      /* salt, */
	uint16_t n3iter;        /* iterations */
	uint8_t n3salt[255];
	uint32_t *nsec_order;   /* nodes owning an NSEC RRset, canonical order */
	uint32_t nnsec;
	uint8_t *n3hash;        /* NSEC3 chain: SHA1_LEN-byte hashes, sorted */
	uint32_t *n3node;       /* the node owning each of them */
	uint32_t nn3;
	uint32_t *n3of;         /* per node: its NSEC3 (index into n3hash), ZN3_EXACT
	                         * when it matches, else the one covering it */
	bool expired;           /* a placeholder with no data: answers SERVFAIL */

	/* A patched version (zone_patch.c): the arrays above hold only the
	 * names the patches touched (the apex always, as node 0), each with
	 * its whole new content, or ZN_GONE; every other name is read from
	 * `base`, a full build this version holds a reference on. Links
	 * (parent, wild) of these nodes are base indexes, or ZLINK_OV | own
	 * index. A base node whose name is here is shadowed: `shadow` maps
	 * its base index to the own index. */
	struct zone *base;
	uint64_t *shadow;       /* (base index + 1) << 32 | own index; 0 = empty */
	uint32_t shadow_mask;
	uint32_t *ov_bidx;      /* per own node: its base index or ZIDX_NONE */
	uint32_t ov_new;        /* own nodes without a base index */
	uint32_t *ov_nsec;      /* own nodes owning an NSEC, canonical order */
	uint32_t ov_nnsec;
	uint8_t *ov_n3hash;     /* own nodes in the NSEC3 chain, by hash */
	uint32_t *ov_n3node;
	uint32_t ov_nn3;
	uint32_t *ov_n3of;      /* per own node: link of its NSEC3 | ZN3_EXACT */
	bool n3same;            /* the NSEC3 chain holds the base's hashes: a
	                         * base node's n3of stays right */
};

#define ZLINK_OV 0x40000000u

/* The own index shadowing base index bi in patched version z, or
 * ZIDX_NONE. */
static inline uint32_t zdb__shadow(const struct zone *z, uint32_t bi)
{
	uint64_t key = (uint64_t)(bi + 1) << 32;
	for (uint32_t i = (bi * 2654435761u) & z->shadow_mask;; i = (i + 1) & z->shadow_mask) {
		uint64_t v = z->shadow[i];
		if (v == 0)
			return ZIDX_NONE;
		if ((v & 0xffffffff00000000ull) == key)
			return (uint32_t)v;
	}
}

/* The node for base index bi in patched version z (NULL when gone). */
static inline const struct znode *zdb__base_node(const struct zone *z, uint32_t bi)
{
	uint32_t o = zdb__shadow(z, bi);
	if (o == ZIDX_NONE)
		return &z->base->nodes[bi];
	return z->nodes[o].flags & ZN_GONE ? NULL : &z->nodes[o];
}

/* Follows a link (parent, wild) of node n in version z. */
static inline const struct znode *zdb__link(const struct zone *z, const struct znode *n,
                                            uint32_t link)
{
	if (link == ZIDX_NONE)
		return NULL;
	if (!z->base)
		return &z->nodes[link];
	if (znode__zone(n) == z) {      /* one of the version's own nodes */
		if (link & ZLINK_OV)
			return &z->nodes[link & ~ZLINK_OV];
		return zdb__base_node(z, link);
	}
	return zdb__base_node(z, link);
}

/* ---- the builder's state (zone_build.c), read by the checks ------------ */

/* One RR as added, until the zone is finished. */
struct zb_rec {
	uint32_t node;
	uint32_t ttl;
	uint32_t rd_off;        /* into zone_builder.rd */
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
	uint16_t src;           /* index into zone_builder.srcs */
	uint16_t dup;           /* merged into an identical RR (RFC 2181 5) */
};

struct zone_builder {
	struct zone *z;
	const zone_load_opts_t *opts;
	size_t nodes_cap, names_cap;
	size_t table_want;      /* names zb_presize() expects, table not yet sized */
	struct zb_rec *recs;
	size_t nrec, rec_cap;
	uint8_t *rd;
	size_t rd_len, rd_cap;
	char **srcs;
	bool *priv;             /* per source: zb_source_private() */
	size_t nsrcs;
	uint8_t last_name[WNAME_MAXLEN];   /* owner of the previous RR, lowercased */
	size_t last_len;
	uint32_t last_node;
	uint8_t last_parent[WNAME_MAXLEN]; /* parent of the last new name */
	size_t last_parent_len;
	uint32_t last_parent_node;

	/* Set by the grouping in zb_finish(): perm lists record indexes by
	 * node, then type, then file order; the records of RRset i are
	 * perm[set_first[i] .. set_first[i + 1]), duplicates included
	 * (dup != 0); a node's RRsets are consecutive, so its records are
	 * consecutive in perm too. The rdata blob `rd` is freed by then: the
	 * checks read rdata from the zone's RRsets. */
	uint32_t *perm;
	uint32_t *set_first;

	zone_diag_fn diag;
	void *diag_ctx;
	unsigned errors, warnings;
};

/* zone_check.c: every check of a grouped zone, reported through zb_report(). */
void zcheck_run(struct zone_builder *b, uint16_t main_src);
/* The NS target in rdata rd (rdlen bytes) of zone z lowercased into t, when it
 * lacks glue: inside the zone, at or below a cut, and without an A or AAAA
 * of its own. Returns its length, or 0 when it needs none or has it. */
size_t zcheck_glue_missing(const struct zone *z, const uint8_t *rd, size_t rdlen,
                           uint8_t t[WNAME_MAXLEN]);


#define ZN3_EXACT 0x80000000u

/* zone_db.c: hash-table helpers used while building. */
uint32_t zdb__find(const struct zone *z, const uint8_t *name, size_t len, uint32_t hash);
/* The node of a name in any version (a patched one too), or NULL. */
const struct znode *zdb__node(const struct zone *z, const uint8_t *name, size_t len,
                              uint32_t hash);
/* Sizes the table for `names` entries at once (a load that knows its size
 * need not rehash as it grows). Returns 0 or ANYNS_ENOMEM. */
int zdb__table_reserve(struct zone *z, size_t names);
/* Inserts node index `idx` whose name hashes to `hash`; grows the table. */
int zdb__table_insert(struct zone *z, uint32_t idx, uint32_t hash);
void zdb__free(struct zone *z);

/* zone_dnssec.c: after the zone is compiled, finds how it is signed and
 * builds the NSEC/NSEC3 indexes; zdb__free() calls zdb__dnssec_free(). */
int zdb__dnssec_build(struct zone *z);
void zdb__dnssec_free(struct zone *z);
/* For patches: whether NSEC3 rdata has the zone's parameters; the NSEC3
 * of a name of patched version z as a link (base index or ZLINK_OV | own
 * index). */
bool zdb__n3_params_match(const struct zone *z, const uint8_t *rd, size_t rdlen);
uint32_t zdb__n3_link(const struct zone *z, const uint8_t *name, size_t len, bool *exact);

#endif
