/* User side of the XDP fast path (server/xdp): loads the BPF program through
 * its libbpf skeleton, attaches it to interfaces, and fills its answer map
 * from the engine. anynsd calls only these functions.
 *
 * Thread-safety: anyns_xdp_put() and anyns_xdp_stats() may be called from any
 * worker thread; open/close/set_generation/prefill from the main thread. */
#ifndef ANYNS_XDP_H
#define ANYNS_XDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "acache.h"
#include "anyns.h"
#include "rrl.h"

typedef struct anyns_xdp anyns_xdp_t;

typedef struct anyns_xdp_conf {
	const char *const *ifaces;      /* interface names to attach to (none: load only) */
	size_t n_ifaces;
	uint16_t port;                  /* UDP port answered in XDP (default 53) */
	size_t map_entries;             /* answer map size (default 65536) */
	size_t prefill_max;             /* names pre-filled at load (default = map_entries / 2) */
	const struct sockaddr_storage *addrs; /* service addresses answered; n_addrs = 0: any */
	size_t n_addrs;
	int force_generic;              /* attach in generic (skb) mode even if native works */
	/* Response rate limiting of the answers sent from XDP, the settings of
	 * the socket path (rrl.h); NULL or rate 0: off. Its table-size sizes
	 * the bucket map for good. */
	const rrl_conf_t *rrl;
} anyns_xdp_conf_t;

typedef struct anyns_xdp_stats {
	uint64_t answered;              /* XDP_TX'd answers */
	uint64_t passed;                /* handed to the stack */
	uint64_t pass_miss, pass_not_dns, pass_malformed, pass_too_big, pass_stale;
	uint64_t dropped;
	uint64_t rrl_slipped, rrl_dropped;  /* rate limited: sent TC=1, not sent */
	uint64_t map_entries;           /* entries stored (approximate under races) */
} anyns_xdp_stats_t;

/* Loads and attaches. On failure (no privileges, old kernel, no such
 * interface) logs why and returns a negative code; anynsd then serves from
 * sockets only. On success logs native or generic mode per interface. */
int anyns_xdp_open(const anyns_xdp_conf_t *conf, anyns_xdp_t **out);
/* New rate-limiting settings (rate 0: off) for the answers sent from XDP,
 * at once; the buckets stay (their size is the start-up table-size).
 * Returns 0 or a negative code. */
int anyns_xdp_set_rrl(anyns_xdp_t *x, const rrl_conf_t *rrl);
/* Detaches from every interface and frees. Accepts NULL. */
void anyns_xdp_close(anyns_xdp_t *x);
/* Stores a response template (<= 512 bytes, from answer_build() for a UDP
 * query whose answer_info.cacheable was true) under its key for the current
 * generation. */
int anyns_xdp_put(anyns_xdp_t *x, const acache_key_t *key, const uint8_t *resp, size_t len);
/* Same, for a response built from the zone set of generation `gen`
 * (zset_generation()). Prefer it from worker threads: a put racing with a
 * reload then stores an entry of the old generation, which is never answered,
 * instead of an old answer under the new generation. Puts of an older
 * generation than the current one are ignored (return 0).
 * Both refuse (ANYNS_EINVAL) a template over 512 bytes and a truncated (TC=1)
 * answer to an EDNS query: it depends on the client's payload size, which the
 * key does not hold. A question name longer than AXDP_KEY_NAME (96) octets
 * is refused with ANYNS_ESPACE: the program leaves those to the sockets. */
int anyns_xdp_put_gen(anyns_xdp_t *x, uint64_t gen, const acache_key_t *key,
                      const uint8_t *resp, size_t len);
/* The same for an answer synthesised from a wildcard (answer_info.wildcard):
 * its rate-limiting bucket is the wildcard's (rrl_response_key_wild()). */
int anyns_xdp_put_wild(anyns_xdp_t *x, uint64_t gen, const acache_key_t *key,
                       const uint8_t *resp, size_t len, const uint8_t *wild, size_t wild_len);
/* After a zone reload: entries of older generations are never answered again. */
int anyns_xdp_set_generation(anyns_xdp_t *x, uint64_t gen);
/* Pre-fills the map with the answers acache_prefill() chooses (acache.h),
 * built under conf, at most conf->prefill_max of them. Makes
 * zset_generation(zs) the current generation first if it is not. */
int anyns_xdp_prefill(anyns_xdp_t *x, const zset_t *zs, const answer_conf_t *conf);
int anyns_xdp_stats(anyns_xdp_t *x, anyns_xdp_stats_t *out);

#endif
