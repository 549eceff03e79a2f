/* Response rate limiting, the algorithm family of Knot DNS and NSD: each
 * response is put in a bucket by the client's network (IPv4 /24 and IPv6 /56
 * by default), its class and the name it is about; a bucket holds at most
 * `rate` tokens, refilled to `rate` each second, and a response taken when
 * it is empty is limited: every `slip`-th limited response goes out as an
 * empty TC=1 answer (so a real client retries over TCP), the others are
 * dropped. TCP is never limited (the caller does not ask).
 *
 * Classes and the name keyed:
 *   answer    NOERROR with answers          question name and type
 *   nodata    NOERROR, no answer, AA        question name and type
 *   referral  NOERROR, no answer, not AA    the delegation (first NS owner)
 *   nxdomain  NXDOMAIN                      the zone (SOA owner in authority)
 *   error     any other rcode               none
 *   wildcard  an answer or no data          the wildcard's owner and the type
 *             synthesised from a wildcard   (random names under "*.zone"
 *             (RFC 4592)                    share one bucket, as NSD and Knot)
 *
 * The table has a fixed number of buckets chosen at rrl_new() (no allocation
 * afterwards) and is shared by every thread without locks: a bucket is one
 * 64-bit key and one 64-bit state word updated by compare-and-swap; two keys
 * meeting in one slot take it over from each other (as NSD), which only ever
 * gives a client more tokens. The hash is keyed with a random secret so that
 * collisions cannot be aimed. */
#ifndef ANYNS_RRL_H
#define ANYNS_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RRL_MAX_WHITELIST 64
#define RRL_MAX_RATE      ((1u << 24) - 1)
#define RRL_MAX_SLIP      100

/* A network: family AF_INET or AF_INET6, the address, the prefix length. */
typedef struct rrl_prefix {
	int family;
	uint8_t addr[16];
	uint8_t len;
} rrl_prefix_t;

/* "192.0.2.0/24", "2001:db8::/32", or an address alone (a host). Returns 0
 * or ANYNS_EINVAL. Bits past the prefix are cleared. */
int rrl_prefix_parse(const char *text, rrl_prefix_t *out);
/* The prefix as text into buf. */
void rrl_prefix_format(const rrl_prefix_t *p, char *buf, size_t len);

typedef struct rrl_conf {
	uint32_t rate;          /* responses per second per bucket; 0: off */
	uint32_t slip;          /* every slip-th limited response is TC=1; 0: none */
	uint8_t v4_prefix;      /* 1..32 */
	uint8_t v6_prefix;      /* 1..128 */
	size_t table_size;      /* buckets, rounded up to a power of two */
	rrl_prefix_t whitelist[RRL_MAX_WHITELIST];
	size_t n_whitelist;
} rrl_conf_t;

enum rrl_class { RRL_ANSWER = 0, RRL_NODATA, RRL_REFERRAL, RRL_NXDOMAIN, RRL_ERROR,
                 RRL_WILDCARD };
enum rrl_action { RRL_PASS = 0, RRL_SLIP, RRL_DROP };

/* The class of a response made by the engine and the name it is keyed by
 * (a pointer into resp, possibly compressed; NULL for none). Returns 0 or
 * ANYNS_EINVAL for a message that is not a response with one question. */
int rrl_classify(const uint8_t *resp, size_t len, enum rrl_class *cls, size_t *name_off);

/* What a response's bucket is keyed by apart from the client's network: a
 * hash under `seed` of its class, its question type (answer, nodata) and
 * the name its class is keyed by. The XDP program's buckets are keyed by it.
 * Returns 0 or ANYNS_EINVAL (not a response with one question). */
int rrl_response_key(const uint8_t seed[16], const uint8_t *resp, size_t len, uint64_t *key);
/* The same for a response synthesised from the wildcard whose owner name
 * (lowercased wire) is wild[0..wild_len) (answer_info.wildcard): class
 * wildcard, keyed by that name and the question type. With wild NULL, as
 * rrl_response_key(). */
int rrl_response_key_wild(const uint8_t seed[16], const uint8_t *resp, size_t len,
                          const uint8_t *wild, size_t wild_len, uint64_t *key);

typedef struct rrl rrl_t;

/* A table for conf (copied), with its hash key from `seed` (16 random bytes).
 * Returns 0, ANYNS_EINVAL for a zero rate, or ANYNS_ENOMEM. */
int rrl_new(const rrl_conf_t *conf, const uint8_t seed[16], rrl_t **out);
void rrl_free(rrl_t *r);  /* accepts NULL */

/* Whether addr (AF_INET or AF_INET6; a v4-mapped IPv6 address counts as
 * IPv4) is in the whitelist. */
bool rrl_whitelisted(const rrl_t *r, const struct sockaddr *addr);

/* Decides about the UDP response resp[0..len) to a client at `addr`, at
 * second `now` (any clock that counts seconds). Thread-safe. */
enum rrl_action rrl_check(rrl_t *r, const struct sockaddr *addr, const uint8_t *resp,
                          size_t len, uint32_t now);
/* The same for a response synthesised from a wildcard (owner name wild,
 * rrl_response_key_wild()); wild NULL: rrl_check(). */
enum rrl_action rrl_check_wild(rrl_t *r, const struct sockaddr *addr, const uint8_t *resp,
                               size_t len, const uint8_t *wild, size_t wild_len, uint32_t now);

/* Cuts the response resp[0..*len) to its header and question with TC=1 and
 * the answer and authority counts zero, keeping its OPT record (RFC 6891:
 * a query with EDNS gets EDNS back) and nothing else of the additional
 * section: what a slipped response is. Returns 0 or ANYNS_EINVAL. */
int rrl_slip(uint8_t *resp, size_t *len);

#endif
