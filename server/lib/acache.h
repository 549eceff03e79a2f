/* Answer cache: response templates made by answer_build(), keyed by the
 * question and the EDNS/DO flags, and answered by patching in a new query's
 * ID, RD and CD bits and name bytes. The key and the patch are shared with
 * the XDP answer map (server/xdp), which stores the same templates under the same
 * keys.
 *
 * A cache (acache_t) belongs to one thread: no locks, no allocation after
 * acache_new(). Entries carry the zone-set generation (zset_generation())
 * they were built from and never match another one, so a reload needs no
 * flush. */
#ifndef ANYNS_ACACHE_H
#define ANYNS_ACACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anyns.h"

/* ---- keys ---------------------------------------------------------------
 * A key is the lowercased question name in wire form plus type, class and
 * the EDNS/DO flags. Only queries of the simplest shape get a key: one
 * question, opcode QUERY, QR=0, no answer/authority records, at most one OPT
 * record with version 0 and no options, and nothing after it. */
#define ACACHE_KEY_EDNS 0x01
#define ACACHE_KEY_DO   0x02
typedef struct acache_key {
	uint8_t name[255];     /* lowercased wire name; zero-filled past name_len
	                        * (by acache_lookup() only to the next multiple of 8) */
	uint8_t name_len;
	uint16_t qtype;        /* host order */
	uint16_t qclass;       /* host order */
	uint8_t flags;         /* ACACHE_KEY_* */
} acache_key_t;

/* Fills *key from a query. Returns 0, or ANYNS_EINVAL when the query is not
 * of the simple shape (then *key is untouched and the caller must use
 * answer_build()). */
int acache_key_from_query(const uint8_t *query, size_t qlen, acache_key_t *key);

/* The key's hash, as the cache uses it. */
uint32_t acache_hash(const acache_key_t *key);

/* A template of at most 512 bytes (the UDP limit without EDNS) fits every
 * client: only those go to the XDP map. A larger one (an EDNS query's answer
 * that answer_build() made in full, e.g. with DNSSEC records) is kept up to
 * ACACHE_TMPL_EDNS_MAX bytes (the largest max-udp-payload) and served only to
 * a query whose EDNS payload size is at least its length; it was built under
 * our own limit, so it never exceeds that. */
#define ACACHE_TMPL_MAX 512
#define ACACHE_TMPL_EDNS_MAX 4096

/* Makes a response for `query` from a template (a response answer_build()
 * made for a query with the same key, UDP, answer_info.cacheable set, at most
 * ACACHE_TMPL_MAX bytes): copies the template and writes the query's ID, its
 * RD and CD bits and its question name bytes (original case) into the copy.
 * Returns 0, ANYNS_ESPACE, or ANYNS_EINVAL when the query has no
 * uncompressed question name of the template's length. */
int acache_patch(const uint8_t *tmpl, size_t tlen, const uint8_t *query, size_t qlen,
                 uint8_t *out, size_t outcap, size_t *outlen);

/* ---- the cache ----------------------------------------------------------- */
typedef struct acache acache_t;

/* A cache of about `entries` templates. Returns 0 or ANYNS_ENOMEM. */
int acache_new(size_t entries, acache_t **out);
void acache_free(acache_t *c);            /* accepts NULL */

/* The hit path. Returns 0 with the response in out[0..*outlen) and its rcode
 * in *rcode when the cache holds the answer for `query` under generation
 * `gen`, or the same with flags set (a positive value): ACACHE_HIT_ACL for
 * an answer of a zone with an allow-query list (answer_info.acl), which may
 * be sent only once answer_allowed() admits the client; ACACHE_HIT_WILDCARD
 * for one synthesised from a wildcard (answer_info.wildcard, found again with
 * answer_wildcard_owner()); ACACHE_HIT_PARTIAL for one that left optional
 * records out to fit 512 bytes (answer_info.partial: a query without EDNS),
 * complete enough for UDP but not an answer to send over TCP. ANYNS_ENOENT on a miss, with *key and *hash
 * filled for acache_store(); ANYNS_EINVAL when the query has no key (build
 * it). */
#define ACACHE_HIT_ACL      1
#define ACACHE_HIT_WILDCARD 2
#define ACACHE_HIT_PARTIAL  4
int acache_lookup(acache_t *c, uint64_t gen, const uint8_t *query, size_t qlen,
                  acache_key_t *key, uint32_t *hash, uint8_t *out, size_t outcap,
                  size_t *outlen, uint8_t *rcode);

/* Offers the response answer_build() made for a query whose lookup missed
 * (`key`, `hash` from acache_lookup()). The cache keeps it when it is a
 * template (`info` says cacheable, not truncated, at most ACACHE_TMPL_MAX
 * bytes, or ACACHE_TMPL_EDNS_MAX for a key with EDNS) and it is admitted,
 * marked when info->acl, info->wildcard or info->partial. Admission: an
 * NXDOMAIN (info->rcode), and any answer once the cache is full of live
 * entries, only on its key's second offer (the first is remembered by a
 * small filter of hash fingerprints): the one-off names of a random-subdomain
 * flood stay out. Returns true when it was kept and is at most
 * ACACHE_TMPL_MAX bytes, so that the caller may offer it to the XDP map too
 * unless info->acl. */
bool acache_store(acache_t *c, uint64_t gen, const acache_key_t *key, uint32_t hash,
                  const uint8_t *resp, size_t len, const answer_info_t *info);

/* ---- pre-fill -------------------------------------------------------------
 * Which answers are worth having before the first query (the XDP map is
 * filled with them at each load): for every owner name of the zone set, the
 * types present there plus A and AAAA (asked everywhere, NODATA included),
 * RRSIG excepted, each in three query shapes: no EDNS, EDNS, EDNS with DO.
 * The queries carry an EDNS payload of 65535, so that nothing is left out
 * for lack of room; only answers answer_build() calls cacheable are given,
 * none of a zone with an allow-query list. */

/* Called with each template (resp, len <= ACACHE_TMPL_MAX) and its key.
 * Returns 0 when it took it (counted), ANYNS_ESPACE to stop, another
 * negative code to skip it. */
typedef int (*acache_prefill_fn)(void *ctx, const acache_key_t *key, const uint8_t *resp,
                                 size_t len);

/* Builds the answers above in zone order and hands them to `cb` until `max`
 * were taken or cb says stop; names longer than `max_name` octets are
 * skipped. *taken (may be NULL) gets the count. Returns 0 or a negative code
 * (ANYNS_ENOMEM). */
int acache_prefill(const zset_t *zs, const answer_conf_t *conf, size_t max_name, size_t max,
                   acache_prefill_fn cb, void *ctx, size_t *taken);

#endif
