/* anyns answer engine: the public contract between the engine library
 * (server/lib, no I/O) and its users (anynsd, anyns-checkzone, the XDP loader,
 * the unit tests, the fuzzer, bench tools).
 *
 * Error convention: functions return 0 or a negative ANYNS_E* code; results
 * come back through out-parameters. */
#ifndef ANYNS_H
#define ANYNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors: ANYNS_E* and anyns_strerror() (common/errors.h) ------------- */
#include "errors.h"

/* ---- zones ------------------------------------------------------------- */

/* One compiled zone: immutable after compilation, reference counted so that an
 * old and a new zone set can share the zones that did not change. */
typedef struct zone zone_t;

/* Called once per problem found while loading or checking, with file and line
 * (line 0 when there is none) and a message without trailing newline.
 * `fatal` is true for errors that stop the zone from being served. */
typedef void (*zone_diag_fn)(void *ctx, const char *file, int line, bool fatal,
                             const char *msg);

typedef struct zone_stats {
	size_t records;     /* RRs */
	size_t rrsets;
	size_t names;       /* owner names incl. empty non-terminals */
	size_t bytes;       /* memory held by the compiled zone */
	uint32_t serial;
	unsigned errors, warnings;
	/* DNSSEC: a zone is signed when its apex holds a DNSKEY RRset. */
	bool dnssec;
	uint8_t denial;     /* 0 none, 1 NSEC chain, 3 NSEC3 chain */
	size_t rrsigs;      /* RRSIG records */
	/* Earliest RRSIG expiration as written (RFC 4034 3.1.5: seconds since
	 * 1970 modulo 2^32, compared in serial number arithmetic); valid when
	 * rrsigs > 0. */
	uint32_t rrsig_expire_min;
} zone_stats_t;

/* Seconds from `now` (Unix time) to the earliest RRSIG expiration of the
 * zone, negative once it has passed (serial arithmetic, RFC 4034 3.1.5:
 * valid within 68 years of now). Meaningful when st->rrsigs > 0. */
static inline int64_t zone_stats_expire_in(const zone_stats_t *st, int64_t now)
{
	return (int32_t)(st->rrsig_expire_min - (uint32_t)now);
}

struct stat;

/* How a zone is read and checked. zone_load_opts_init() sets the defaults,
 * which zone_compile_file() and zone_compile_text() use. */
typedef struct zone_load_opts {
	/* Parse every RR with ldns_rr_new_frm_str() instead of the fast parser
	 * for the common types (both give the same bytes; tests compare them). */
	bool ldns_only;
	/* An in-zone NS target below a cut without an A or AAAA (missing
	 * glue) is an error; by default a warning, as NSD and Knot serve it. */
	bool strict_glue;
	/* Bytes read at most from one file and from a zone with all its
	 * $INCLUDEs (each include counted each time); 0 = 1 GiB and 4 GiB. */
	uint64_t max_file_size, max_zone_size;
	/* $INCLUDE reads only regular files in the zone file's folder or in
	 * zones_dir (NULL: none), symbolic links resolved; include_anywhere
	 * lifts the folder rule. Messages quote no content of a file outside
	 * those folders. */
	const char *zones_dir;
	bool include_anywhere;
	/* Called for every file read (the zone file, each $INCLUDE), with the
	 * path as opened and its fstat(2) taken before reading: a caller can
	 * tell later whether any of them changed. NULL: not called. */
	void (*file_read)(void *ctx, const char *path, const struct stat *st);
	void *file_read_ctx;
	/* Threads a load may use: 2 or more parse a big zone (64 KiB and up)
	 * on a thread of its own while the calling thread builds, with the
	 * same messages and the same zone as one thread; 0 or 1: one thread.
	 * file_read is then called from the parsing thread. */
	unsigned threads;
} zone_load_opts_t;
void zone_load_opts_init(zone_load_opts_t *o);

/* Parses an RFC 1035 master file ($ORIGIN, $TTL, $INCLUDE, RFC 3597 generic
 * rdata for any type, ...), runs the checks (SOA at apex, apex NS, out-of-zone
 * data, CNAME beside other data, missing glue, ...) and compiles it. TTLs of
 * 2^31 and more become 3600 with a warning (RFC 2181 8, as NSD does).
 * `origin` is text ("example.com" or "example.com."). On any fatal problem
 * returns ANYNS_EZONE and *out stays NULL; each problem went to diag first.
 * diag may be NULL. */
int zone_compile_file(const char *origin, const char *path, zone_diag_fn diag,
                      void *diag_ctx, zone_t **out);
/* Same from a string already in memory (unit tests); `name` is used in messages. */
int zone_compile_text(const char *origin, const char *text, const char *name,
                      zone_diag_fn diag, void *diag_ctx, zone_t **out);
/* The same two with options (NULL = the defaults). */
int zone_compile_file_opts(const char *origin, const char *path, const zone_load_opts_t *opts,
                           zone_diag_fn diag, void *diag_ctx, zone_t **out);
int zone_compile_text_opts(const char *origin, const char *text, const char *name,
                           const zone_load_opts_t *opts, zone_diag_fn diag, void *diag_ctx,
                           zone_t **out);

/* A zone with no data that answers every query under origin with SERVFAIL:
 * what a secondary serves once its copy expired (RFC 1035 4.3.5). */
int zone_new_expired(const char *origin, zone_t **out);
bool zone_is_expired(const zone_t *z);

zone_t *zone_ref(zone_t *z);
void zone_unref(zone_t *z);               /* accepts NULL */
void zone_get_stats(const zone_t *z, zone_stats_t *st);
/* Origin as presentation text with trailing dot ("example.com."). */
const char *zone_origin_text(const zone_t *z);
/* Origin in lowercased uncompressed wire form. */
const uint8_t *zone_origin_wire(const zone_t *z, size_t *len);

/* A set of zones answering together; the most specific zone answers a query.
 * Immutable. zset_new() takes a new reference on each zone. */
typedef struct zset zset_t;
int zset_new(zone_t *const *zones, size_t n, uint64_t generation, zset_t **out);
void zset_free(zset_t *zs);               /* accepts NULL; drops the zone refs */
size_t zset_count(const zset_t *zs);
zone_t *zset_zone(const zset_t *zs, size_t i);      /* borrowed */
uint64_t zset_generation(const zset_t *zs);

/* Calls cb for every owner name in the zone (lowercased wire form) with the
 * types present there, in canonical order; stops early when cb returns
 * non-zero and returns that value. Used to pre-fill answer caches. */
typedef int (*zone_walk_fn)(void *ctx, const uint8_t *name, size_t name_len,
                            const uint16_t *types, size_t ntypes);
int zone_walk(const zone_t *z, zone_walk_fn cb, void *ctx);

/* ---- answering --------------------------------------------------------- */

/* Server identity and protocol limits, set from config; read-only while answering. */
typedef struct answer_conf {
	uint16_t max_udp_payload;   /* our EDNS payload size and UDP cap; default 1232 */
	const uint8_t *nsid;        /* RFC 5001 NSID payload; NULL = off */
	uint16_t nsid_len;
	const char *id_server;      /* CH TXT id.server; NULL = REFUSED */
	const char *hostname_bind;  /* CH TXT hostname.bind; NULL = REFUSED */
	const char *version_bind;   /* CH TXT version.bind (and version.server); NULL = REFUSED */
	/* DNS Cookies (RFC 7873, cookie.h); NULL = off: the option is ignored. */
	const struct cookie_conf *cookies;
	/* Leave out what a positive answer does not need, as NSD's
	 * minimal-responses: no apex NS RRset in the authority section and no
	 * additional addresses for MX and SRV targets. Referrals keep their NS
	 * and glue, an NS answer the addresses of its servers, negative answers
	 * their SOA and denial proofs. */
	bool minimal_responses;
} answer_conf_t;

void answer_conf_init(answer_conf_t *c);  /* defaults: 1232, everything else off */

enum answer_transport { ANSWER_UDP = 0, ANSWER_TCP = 1 };

/* What answer_build() decided, for stats, logs and the answer caches. */
typedef struct answer_info {
	uint8_t rcode;        /* final rcode incl. extended bits (BADVERS = 16) */
	bool aa, tc;
	bool edns;            /* query had OPT */
	bool do_bit;
	/* True when the response depends only on the cache key below plus the
	 * query's ID, RD bit and the letter case of the question name, so that a
	 * response template can be stored and patched (acache.h). */
	bool cacheable;
	/* Optional records (additional data) were left out for lack of room:
	 * complete per RFC 1035 but not what a larger message would carry. */
	bool partial;
	uint16_t qtype, qclass;
	uint8_t cookie;       /* enum cookie_verdict of the query's COOKIE option */
	/* Answered from a zone with an allow-query list (acl.h), or refused
	 * by it: whoever reuses the answer checks the list first. */
	bool acl;
	/* The owner name ("*.<closest encloser>", lowercased wire) of the
	 * wildcard the answer to the question was synthesised from (RFC 4592),
	 * or NULL; it points into the zone, valid while the set is held. Rate
	 * limiting counts such answers by it (rrl.h). */
	const uint8_t *wildcard;
	uint8_t wildcard_len;
} answer_info_t;

/* Who asked, for what depends on it (DNS Cookies). */
typedef struct answer_peer {
	const uint8_t *ip;    /* 4 or 16 bytes (a v4-mapped IPv6 address as its 4) */
	uint8_t ip_len;
	uint32_t now;         /* Unix time */
	/* A query whose cookie is not valid gets BADCOOKIE (RFC 7873 5.2.3)
	 * instead of its answer, with a fresh server cookie to retry with. */
	bool badcookie;
} answer_peer_t;

/* Builds the response to one query into out[0..outcap). Writes at most
 * outcap bytes; for UDP it also respects the client's EDNS payload size (512
 * without EDNS) capped by conf->max_udp_payload, setting TC=1 when the answer
 * does not fit. For TCP pass outcap up to 65535.
 * Returns 0 and *outlen > 0 when there is a response to send, ANYNS_EDROP
 * when nothing must be sent (QR=1, shorter than a header). Never allocates.
 * zs may be NULL (no zones: REFUSED). info may be NULL. */
int answer_build(const zset_t *zs, const answer_conf_t *conf,
                 const uint8_t *query, size_t qlen, enum answer_transport tp,
                 uint8_t *out, size_t outcap, size_t *outlen, answer_info_t *info);
/* The same for a query from `peer` (NULL: unknown; then no cookies). With
 * conf->cookies set, a COOKIE option of a bad length is answered FORMERR
 * (RFC 7873 5.2.2) and any other gets the client cookie back with a server
 * cookie (cookie.h); info->cookie says what the query's was. */
int answer_build_peer(const zset_t *zs, const answer_conf_t *conf, const answer_peer_t *peer,
                      const uint8_t *query, size_t qlen, enum answer_transport tp,
                      uint8_t *out, size_t outcap, size_t *outlen, answer_info_t *info);

/* The wildcard that answers the question (lowercased wire name, type) in
 * place of a name that does not exist: its owner name into *owner (pointing
 * into the zone, valid while zs is held). For a cached answer whose
 * answer_info.wildcard was set. Returns 0 or ANYNS_ENOENT. */
int answer_wildcard_owner(const zset_t *zs, const uint8_t *qname_lc, size_t len, uint16_t qtype,
                          const uint8_t **owner, size_t *owner_len);
/* ---- negative answers without the full builder ---------------------------
 * The SOA record of a zone's negative answers, rendered once as it would
 * follow a question that is the apex itself (its names compressed against
 * the apex at offset 12), with the places of its compression pointers: for
 * another question under the apex every pointer moves by the question's
 * extra length. Callers keep a few (answer_neg_t is plain data, one per
 * zone version) and pass them to answer_negative(). */
#define ANSWER_NEG_MAX 300
typedef struct answer_neg {
	const zone_t *zone;         /* NULL: empty */
	uint64_t gen;               /* zset_generation() it was rendered under */
	uint16_t len;               /* rr[0..len); 0: this zone needs the builder */
	uint8_t nptr;               /* pointers in rr, at ptr_at[] */
	uint8_t apex_labels;
	uint8_t cmp_used;           /* compression entries the render used */
	uint16_t ptr_at[3];
	/* The label just above the apex (lowercased, with its length byte) of
	 * MNAME and RNAME when they are below the apex: a question with the
	 * same label there would compress them further. */
	uint8_t avoid[2][64];
	uint8_t rr[ANSWER_NEG_MAX];
} answer_neg_t;

/* For a query of the simple shape (acache.h: one uncompressed question, no
 * options) whose lowercased question name is qname_lc: when the answer is a
 * plain NXDOMAIN, or NODATA at a name that exists, of an unsigned zone (or
 * DO=0) with no allow-query list, writes it into out[0..outcap) byte for
 * byte as answer_build() would, from tab[] (ntab a power of two; entries
 * rendered as needed). Returns 0 with *outlen and *info set, or ANYNS_ENOENT
 * when the query needs answer_build(). */
int answer_negative(const zset_t *zs, const answer_conf_t *conf, answer_neg_t *tab,
                    size_t ntab, const uint8_t *query, size_t qlen, const uint8_t *qname_lc,
                    size_t nlen, uint16_t qtype, uint16_t qclass, bool edns, bool do_bit,
                    uint8_t *out, size_t outcap, size_t *outlen, answer_info_t *info);

/* ---- presentation helpers ------------------------------------------------ */
/* Wire name -> "a.example." into buf; returns length or ANYNS_ESPACE. */
int anyns_name_to_text(const uint8_t *wire, size_t wlen, char *buf, size_t buflen);
/* "a.Example.com" -> lowercased wire; returns length or a negative error. */
int anyns_name_from_text(const char *text, uint8_t *wire, size_t wirecap);

#endif
