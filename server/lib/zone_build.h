/* The zone builder: turns resource records from any source (a master file
 * today, a zone transfer tomorrow) into a compiled zone_t.
 *
 *   zone_builder_t *b;
 *   zb_begin(origin_wire, origin_len, &opts, diag, ctx, &b);
 *   zb_source(b, "db.example", &src);          once per file or transfer
 *   zb_add_rr(b, &rr, src, line);              once per RR, in any order
 *   zb_finish(b, &zone);                       groups, checks, compiles
 *
 * Records are given in wire form: the owner and every domain name inside
 * the rdata uncompressed (a transfer must expand compression pointers first),
 * any letter case (the rdata keeps it; owners are compared without case).
 * The builder copies what it is given, so the caller's buffers may be reused
 * at once. Identical RRs are merged (RFC 2181 5), an RRset's TTL is its
 * lowest (RFC 2181 5.2) with a warning, a TTL above 2^31 - 1 becomes 3600
 * with a warning (RFC 2181 8), and zb_finish() runs every check of
 * zone_check.c before the zone is published.
 *
 * Problems go to the diag callback with the source's name and the line (or
 * for a transfer any position the caller finds useful, 0 for none). A
 * builder is single-threaded; the zone it yields is immutable. */
#ifndef ANYNS_ZONE_BUILD_H
#define ANYNS_ZONE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anyns.h"

typedef struct zone_builder zone_builder_t;

/* RFC 2181 8: TTLs are 31-bit; a larger one becomes ZB_TTL_DEFAULT (NSD's
 * default TTL) with a warning. */
#define ZB_TTL_MAX     0x7fffffffu
#define ZB_TTL_DEFAULT 3600u

/* One RR in wire form; see above for what "wire form" requires. */
typedef struct zb_rr {
	const uint8_t *owner;
	size_t owner_len;
	uint16_t type;
	uint16_t rclass;        /* anything but IN is refused with an error */
	uint32_t ttl;
	const uint8_t *rdata;
	size_t rdlen;
} zb_rr_t;

/* Starts a zone for `origin` (wire form, any case). opts may be NULL for the
 * defaults; it is read here and during zb_finish(), so it must outlive the
 * builder. diag may be NULL. Returns 0, ANYNS_EINVAL (bad origin) or
 * ANYNS_ENOMEM; on error *out is NULL. */
int zb_begin(const uint8_t *origin, size_t origin_len, const zone_load_opts_t *opts,
             zone_diag_fn diag, void *diag_ctx, zone_builder_t **out);

/* Registers a source name for messages; the builder keeps a copy.
 * Returns 0 and *id, or ANYNS_ENOMEM (also past 65535 sources). */
int zb_source(zone_builder_t *b, const char *name, uint16_t *id);
const char *zb_source_name(const zone_builder_t *b, uint16_t id);
/* How many sources are registered (the next id). */
size_t zb_sources(const zone_builder_t *b);
/* Marks a source whose content must not appear in messages (a file outside
 * the zone's folders): names from its records are not shown. */
void zb_source_private(zone_builder_t *b, uint16_t id);
/* A name for a message about a record of source `src`: its text, or
 * "(name not shown)" for a private source. Returns buf. */
const char *zb_name_text(const zone_builder_t *b, uint16_t src, const uint8_t *name,
                         size_t len, char *buf, size_t buflen);

/* Sizes the builder for about `names` owner names of `name_bytes` octets in
 * wire form, `records` RRs and `rdata` bytes of rdata (estimates; the arrays
 * still grow past them), so that a large load neither rehashes its name
 * table nor copies its arrays. The arrays, filled front to back, are
 * reserved now; the name table, written at random places, is reserved in
 * full only once an eighth of `names` has been added, so that an estimate
 * far above the names a file really holds costs no resident memory.
 * Returns 0 or ANYNS_ENOMEM. */
int zb_presize(zone_builder_t *b, size_t names, size_t records, size_t name_bytes,
               size_t rdata);

/* A hint that an RR whose lowercased owner hashes to `hash` (wname_hash())
 * comes soon: its slot of the name table is fetched into the cache, so a
 * caller with records queued up hides the miss of the lookup. */
void zb_prefetch(const zone_builder_t *b, uint32_t hash);

/* Adds one RR. Problems with the RR itself (out of zone, bad owner, class,
 * length) are reported through diag and count as errors; the call still
 * returns 0 so that a load reports every problem. Returns <0 only when the
 * build cannot go on (ANYNS_ENOMEM). */
int zb_add_rr(zone_builder_t *b, const zb_rr_t *rr, uint16_t src, uint32_t line);

/* Reports a problem found by the caller (a syntax error, an unreadable
 * include) in the same stream and counts: any fatal report makes
 * zb_finish() fail. */
void zb_report(zone_builder_t *b, uint16_t src, uint32_t line, bool fatal,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
unsigned zb_errors(const zone_builder_t *b);

/* Groups the records into RRsets, lays the zone out, runs the checks and
 * frees the builder. Returns 0 and the zone (one reference), ANYNS_EZONE
 * when any error was reported (before or during the checks), or
 * ANYNS_ENOMEM. *out is NULL on failure. `main_src` names the source that
 * zone-wide problems (no SOA) are reported against. */
int zb_finish(zone_builder_t *b, uint16_t main_src, zone_t **out);

/* Text of a type for messages ("A", "TYPE65280"); buf holds the latter. */
const char *zb_type_name(uint16_t t, char *buf, size_t len);

/* Drops a builder without compiling it. Accepts NULL. */
void zb_abort(zone_builder_t *b);

#endif
