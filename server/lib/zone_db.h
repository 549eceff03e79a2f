/* Engine-internal lookup API of a compiled zone (zone_db.c builds it, answer.c
 * reads it). Everything returned is owned by the zone and lives as long as it.
 * Names passed in are lowercased, uncompressed wire names. */
#ifndef ANYNS_ZONE_DB_H
#define ANYNS_ZONE_DB_H

#include "anyns.h"

/* One RRset, pre-rendered: `count` records laid out back to back, each as
 *   rdlen (2 bytes, network order) | rdata (rdlen bytes)
 * with domain names inside rdata uncompressed, letter case as in the file.
 * The answer builder knows per type where the names are (for compression and
 * additional-section processing). */
typedef struct zrrset {
	uint16_t type;        /* host order */
	uint16_t count;
	uint32_t ttl;         /* one TTL for the set (RFC 2181 5.2) */
	const uint8_t *data;
	uint32_t len;
} zrrset_t;

typedef struct znode znode_t;   /* opaque */

/* Node flags. */
#define ZN_APEX        0x0001
#define ZN_DELEG       0x0002  /* NS below the apex: a zone cut */
#define ZN_BELOW_CUT   0x0004  /* strictly below a cut (glue or occluded); znode_cut() names it */
#define ZN_DNAME       0x0008  /* has a DNAME RRset */
#define ZN_BELOW_DNAME 0x0010  /* strictly below a DNAME owner (occluded, RFC 6672 2.4) */
#define ZN_ENT         0x0020  /* empty non-terminal: exists, holds no RRset */
#define ZN_WILDCARD    0x0040  /* the node's first label is "*" */
#define ZN_NSEC3       0x0080  /* holds only NSEC3 (and its RRSIGs), nothing below:
                                * not a name of the zone (RFC 5155 7.2.8) */

/* Most specific zone of the set whose origin is qname or an ancestor, or NULL. */
const zone_t *zset_best_zone(const zset_t *zs, const uint8_t *name, size_t len);

const znode_t *zone_apex(const zone_t *z);
/* Exact match, or NULL. */
const znode_t *zone_lookup(const zone_t *z, const uint8_t *name, size_t len);
/* Deepest existing node that is `name` or an ancestor of it (at least the apex;
 * `name` must be at or below the origin).
 * Empty non-terminals exist as nodes, so an ENT can be the closest encloser. */
const znode_t *zone_closest_encloser(const zone_t *z, const uint8_t *name, size_t len);

uint32_t znode_flags(const znode_t *n);
const uint8_t *znode_name(const znode_t *n, size_t *len);   /* lowercased wire */
/* Links between nodes take the zone version the node was found in: a
 * patched version (zone_patch.h) shares its unchanged nodes with others. */
const znode_t *znode_parent(const zone_t *z, const znode_t *n);  /* NULL at the apex */
const znode_t *znode_cut(const zone_t *z, const znode_t *n);     /* nearest delegation ancestor when ZN_BELOW_CUT */
const znode_t *znode_dname_owner(const zone_t *z, const znode_t *n); /* nearest DNAME ancestor when ZN_BELOW_DNAME */
const znode_t *znode_wildcard_child(const zone_t *z, const znode_t *n); /* "*.<n>" or NULL */
const zrrset_t *znode_rrset(const znode_t *n, uint16_t type);
size_t znode_rrset_count(const znode_t *n);
const zrrset_t *znode_rrset_at(const znode_t *n, size_t i);

/* Apex SOA as stored (for negative answers). */
const zrrset_t *zone_soa(const zone_t *z);

/* ---- DNSSEC (zone_dnssec.c) ---------------------------------------------
 * RRSIGs are stored as one RRset per covered type (type RRSIG, each with
 * its own TTL, RFC 4034 3), in covered-type order after the other sets of
 * the node that sort before type RRSIG. */
enum { ZDNSSEC_NONE = 0, ZDNSSEC_NSEC = 1, ZDNSSEC_NSEC3 = 3 };
/* How the zone denies existence: NONE when it is not signed (no DNSKEY at
 * the apex), or has neither an NSEC chain nor a usable NSEC3PARAM. */
int zone_denial(const zone_t *z);
/* True when the apex holds a DNSKEY RRset. */
bool zone_is_signed(const zone_t *z);
/* The RRSIGs at n covering `type`, or NULL. */
const zrrset_t *znode_rrsig(const znode_t *n, uint16_t type);
/* NSEC: the node whose NSEC matches `name` or covers it (the last owner
 * of the chain at or before it in canonical order), or NULL. */
const znode_t *zone_nsec_cover(const zone_t *z, const uint8_t *name, size_t len);
/* NSEC3: the node owning the NSEC3 that matches the hash of `name`
 * (*exact = true) or covers it; NULL when the zone has no NSEC3 chain.
 * Hashes the name (RFC 5155 5) with the zone's NSEC3PARAM. */
const znode_t *zone_nsec3_cover(const zone_t *z, const uint8_t *name, size_t len,
                                bool *exact);
/* The same for a name of the zone, precomputed at load: no hashing. */
const znode_t *znode_nsec3(const zone_t *z, const znode_t *n, bool *exact);
/* The SHA-1 hash an NSEC3 owner label (lowercased base32hex, RFC 5155 3.3)
 * stands for; false when the label is not one. */
bool zone_nsec3_label_hash(const uint8_t *label, size_t n, uint8_t out[20]);

#endif
