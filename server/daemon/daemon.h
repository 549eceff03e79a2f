/* anynsd internals shared by its modules: the daemon, its workers, their
 * counters and answer caches. Nothing here is used outside server/daemon. */
#ifndef ANYNSD_DAEMON_H
#define ANYNSD_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "anyns.h"
#include "conf.h"

#define ANYNSD_VERSION "0.1"

/* Datagrams per recvmmsg()/sendmmsg() call. */
#define UDP_BATCH      64
/* Largest UDP query we read; longer ones are truncated by the kernel and dropped. */
#define UDP_QUERY_MAX  4096
/* Batches drained per readiness event before giving other handles a turn. */
#define UDP_ROUNDS     8

/* ---- counters ------------------------------------------------------------
 * Written only by the owning thread, read by others: relaxed atomic
 * loads and stores, no locked instructions on the hot path. */
enum { STAT_RCODES = 24 };
typedef struct dstats {
	uint64_t udp_queries;
	uint64_t tcp_queries;
	uint64_t dropped;
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t truncated;
	uint64_t tcp_accepted;
	uint64_t tcp_refused;       /* over tcp-max-connections */
	uint64_t tcp_timeouts;
	uint64_t xdp_puts;
	uint64_t rcode[STAT_RCODES];    /* last one: anything larger */
} dstats_t;

#define STAT_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
	                 __ATOMIC_RELAXED)
#define STAT_INC(field) STAT_ADD(field, 1)
/* One more response with `rc` in dstats `st`; rcodes past the table share its last slot. */
#define STAT_RCODE(st, rc) \
	STAT_INC((st).rcode[(unsigned)(rc) < STAT_RCODES ? (unsigned)(rc) : STAT_RCODES - 1])

/* ---- per-worker answer cache ------------------------------------------- */
typedef struct acache acache_t;
/* entries: rounded up to a power of two. */
int acache_new(size_t entries, acache_t **out);
void acache_free(acache_t *c);

/* ---- the daemon ---------------------------------------------------------- */
typedef struct daemon daemon_t;
typedef struct worker worker_t;
typedef struct tcp_conn tcp_conn_t;

struct udp_sock {
	uv_poll_t poll;
	int fd;
	bool pktinfo;           /* wildcard bind: answer from the address asked */
	int family;
};

/* Everything one UDP reader needs: batch buffers, answer cache, counters.
 * With server.udp-io: poll a worker has one, shared by its sockets on its
 * loop; with threads, each socket has its own thread and udp_io. */
typedef struct udp_io {
	worker_t *w;
	struct udp_sock *sock;  /* threads mode: the socket this thread reads */
	pthread_t thread;
	bool started;

	struct mmsghdr rmsg[UDP_BATCH];
	struct mmsghdr smsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH];
	struct iovec siov[UDP_BATCH];
	struct sockaddr_storage raddr[UDP_BATCH];
	uint8_t rctl[UDP_BATCH][64];
	uint8_t sctl[UDP_BATCH][64];
	int rdirty;             /* rmsg headers recvmmsg() rewrote last time */
	int rctl_len;           /* msg_controllen they are set up for */
	uint8_t (*rbuf)[UDP_QUERY_MAX];
	uint8_t *sbuf;          /* UDP_BATCH * max_udp_payload */

	acache_t *cache;        /* NULL: server.answer-cache is 0 */
	uint64_t xdp_tokens_ts; /* ms of the last token refill for anyns_xdp_put */
	unsigned xdp_tokens;
	dstats_t stats;
} udp_io_t;

struct worker {
	unsigned id;
	daemon_t *d;
	pthread_t thread;
	bool started;
	uv_loop_t loop;
	uv_async_t wake;        /* stop request from the main thread */
	uv_timer_t drain;       /* bounds the flush of TCP writes at stop */
	bool stopping;
	atomic_bool udp_stop;   /* threads mode: readers leave their loop */

	struct udp_sock udp[DCONF_MAX_LISTEN];
	size_t n_udp;
	udp_io_t *io[DCONF_MAX_LISTEN];
	size_t n_io;
	uv_tcp_t tcp_listen[DCONF_MAX_LISTEN];
	size_t n_tcp;
	tcp_conn_t *conns;      /* open TCP connections (doubly linked) */
	uint8_t *tcpbuf;        /* 2 + 65535: one TCP response */

	dstats_t stats;         /* TCP */
};

struct daemon {
	dconf_t conf;
	answer_conf_t aconf;
	unsigned n_workers;
	worker_t **workers;

	/* RCU-protected current zone set (see zones.c). */
	zset_t *zset;
	zone_t **zones;         /* per dconf zone, the version serving (NULL if none) */
	uint64_t generation;

	struct anyns_xdp *xdp;
	atomic_uint tcp_conns;  /* open TCP connections over all workers */
	const char *conf_path;
};

/* zones.c */
/* Compiles every configured zone. A zone that fails keeps old[i] (when old is
 * not NULL) and logs file:line. Builds a new set with generation gen. */
int zones_build(daemon_t *d, zone_t **old, uint64_t gen, zone_t ***zones_out,
                zset_t **set_out, unsigned *n_ok, size_t *records);
/* Publishes set (rcu_xchg_pointer), waits for readers (synchronize_rcu) and frees
 * the old set and the zone versions no longer used. */
void zones_publish(daemon_t *d, zset_t *set, zone_t **zones);
void zones_free(daemon_t *d);
const zset_t *zones_current(daemon_t *d);  /* within rcu_read_lock() */

/* worker.c */
int worker_new(daemon_t *d, unsigned id, worker_t **out);
int worker_start(worker_t *w);
void worker_stop(worker_t *w);            /* async; then worker_join() */
void worker_join(worker_t *w);
void worker_free(worker_t *w);            /* accepts NULL */
/* Socket set-up shared with tcp.c: a SO_REUSEPORT socket bound to l. */
int net_socket_bind(const dconf_listen_t *l, int type, int *fd_out);

/* tcp.c */
int tcp_listen_start(worker_t *w, const dconf_listen_t *l, uv_tcp_t *h);
void tcp_stop_all(worker_t *w);           /* stop reading, flush, close */
void tcp_close_all(worker_t *w);          /* now, pending writes dropped */

/* xdp_glue.c: rate-limited anyns_xdp_put_gen() after a cache miss. */
void xdp_maybe_put(udp_io_t *io, uint64_t gen, const answer_key_t *key, const uint8_t *resp,
                   size_t len);

/* stats.c */
void stats_sum(daemon_t *d, dstats_t *out);
void stats_log(daemon_t *d, const char *why);
int metrics_start(daemon_t *d);
void metrics_stop(void);

/* Answer one UDP-sized query through the cache; returns response length, 0 to drop. */
size_t worker_answer_udp(udp_io_t *io, const zset_t *zs, const uint8_t *q, size_t qlen,
                         uint8_t *out, size_t outcap);

#endif
