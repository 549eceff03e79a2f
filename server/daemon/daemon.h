/* anynsd internals shared by its modules: the daemon, its workers, their
 * counters and answer caches. Nothing here is used outside server/daemon. */
#ifndef ANYNSD_DAEMON_H
#define ANYNSD_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>

#include "acache.h"
#include "acl.h"
#include "anyns.h"
#include "conf.h"
#include "dnstap.h"
#include "prom.h"
#include "rrl.h"
#include "rrlist.h"
#include "xfr.h"


/* Datagrams per recvmmsg()/sendmmsg() call. */
#define UDP_BATCH      64
/* Largest UDP query we read; longer ones are truncated by the kernel and dropped. */
#define UDP_QUERY_MAX  4096
/* Batches drained per readiness event before giving other handles a turn. */
#define UDP_ROUNDS     8
/* Zones whose negative answer each UDP reader keeps rendered (a power of two). */
#define UDP_NEG_ZONES  8

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
	uint64_t rrl_slipped;       /* limited, sent as TC=1 */
	uint64_t rrl_dropped;       /* limited, not sent */
	uint64_t rcode[STAT_RCODES];    /* last one: anything larger */
} dstats_t;

#define STAT_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
	                 __ATOMIC_RELAXED)
#define STAT_INC(field) STAT_ADD(field, 1)
/* One more response with `rc` in dstats `st`; rcodes past the table share its last slot. */
#define STAT_RCODE(st, rc) \
	STAT_INC((st).rcode[(unsigned)(rc) < STAT_RCODES ? (unsigned)(rc) : STAT_RCODES - 1])

/* ---- the daemon ---------------------------------------------------------- */
typedef struct daemon daemon_t;
typedef struct worker worker_t;
typedef struct tcp_conn tcp_conn_t;
typedef struct udp_io udp_io_t;

struct udp_sock {
	int fd;
	bool pktinfo;           /* wildcard bind: answer from the address asked */
	int family;
	const struct sockaddr_storage *local;   /* the listen address (port for pktinfo) */
	udp_io_t *io;           /* the buffers this socket is read into */
	uv_poll_t poll;         /* poll back end: readiness on the worker's loop */
};

/* Everything one UDP reader needs: batch buffers, answer cache, counters.
 * A back end with io_per_socket (threads) gives each socket its own; the
 * others share one per worker, used only on the worker's loop. */
struct udp_io {
	worker_t *w;
	pthread_t thread;       /* threads back end: the reader of this io's socket */
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
	/* Negative answers rendered per zone version, one slot per zone hash
	 * (answer_negative()). */
	answer_neg_t neg[UDP_NEG_ZONES];
	const struct sockaddr *from;    /* source of the query being answered */
	uint64_t xdp_tokens_ts; /* ms of the last token refill for anyns_xdp_put */
	unsigned xdp_tokens;
	dstats_t stats;
};

/* A UDP receive back end (server.udp-io): how a worker's UDP sockets are
 * driven (Knot DNS's udp_api_t is the model). Every back end answers through
 * udp_round(): recv fills io->rmsg, the cache or the engine answers into
 * io->smsg, send writes them out. */
typedef struct udp_api {
	const char *name;
	bool io_per_socket;     /* one udp_io_t per socket instead of per worker */
	/* Takes socket s (bound, non-blocking, s->io set) on worker w, whose loop
	 * is initialised but not running yet. Returns 0 or -errno. */
	int (*init)(worker_t *w, struct udp_sock *s);
	/* One batch of at most UDP_BATCH datagrams into s->io->rmsg; how many. */
	int (*recv)(struct udp_sock *s);
	/* Sends s->io->smsg[0..n), counting what cannot go as dropped. */
	void (*send)(struct udp_sock *s, int n);
	/* Lifecycle around the worker's loop: start after its thread runs; stop
	 * from any thread (the loop is woken after); close on the loop at stop,
	 * answering what is queued; join after the loop ended. NULL: nothing to do. */
	int (*start)(worker_t *w);
	void (*stop)(worker_t *w);
	void (*close)(worker_t *w);
	void (*join)(worker_t *w);
} udp_api_t;

extern const udp_api_t udp_api_poll, udp_api_threads;

/* The client's address as answer_build_peer() wants it (ip points into buf),
 * with the time now. */
void peer_from(const struct sockaddr *sa, uint8_t buf[16], answer_peer_t *p);

/* Room for the framed answers a TCP read's queries get, sent with one write:
 * another answer is built only while a whole one (2 + 65535) still fits. */
#define TCP_OUT_CAP (2 * (2 + 65535))

struct worker {
	unsigned id;
	daemon_t *d;
	pthread_t thread;
	bool started;
	uv_loop_t loop;
	uv_async_t wake;        /* stop request from the main thread */
	uv_timer_t drain;       /* bounds the flush of TCP writes at stop */
	bool stopping;
	atomic_bool udp_stop;   /* set by worker_stop(): reader threads leave their loop */

	struct udp_sock udp[DCONF_MAX_LISTEN];
	size_t n_udp;
	udp_io_t *io[DCONF_MAX_LISTEN];
	size_t n_io;
	uv_tcp_t tcp_listen[DCONF_MAX_LISTEN];
	size_t n_tcp;
	tcp_conn_t *conns;      /* open TCP connections (doubly linked), the most */
	tcp_conn_t *conns_tail; /* recently active first */
	uv_prepare_t tcp_tick;  /* counts loop iterations into tcp_iter */
	uint64_t tcp_iter;
	bool tcp_tick_on;
	uint8_t *tcpbuf;        /* TCP_OUT_CAP: the answers of one read, framed */
	/* The answer cache TCP queries go through: the UDP one of this loop
	 * (io[0]'s) when the back end reads UDP on the loop, else its own
	 * (tcp_cache_own); NULL: server.answer-cache is 0. */
	acache_t *tcp_cache;
	bool tcp_cache_own;

	dstats_t stats;         /* TCP */
};

/* A part of the daemon told each time a new zone set is published (on the
 * main loop, after readers moved to it). */
typedef void (*zones_sub_fn)(daemon_t *d);
#define ZONES_MAX_SUBS 8

/* The reload pipeline's state (zones.c): one reload at a time in the libuv
 * thread pool; a request during one runs right after it (requests made
 * meanwhile merge). A full reload reads the config again and compiles the
 * zones whose files changed (any file read last time: size, mtime, ctime,
 * inode); a zone reload compiles the zones named, whatever changed, and
 * keeps everything else. */
typedef struct zones_reload {
	uv_loop_t *loop;        /* where completions and subscribers run */
	uv_work_t req;
	bool running, pending, closed;
	int rc;                 /* of the last build */
	unsigned n_ok;          /* zones compiled by the last build */
	size_t records;
	zones_sub_fn subs[ZONES_MAX_SUBS];
	size_t n_subs;
	uint64_t ok_total, failed_total;  /* reloads, read by the metrics thread */
	dconf_t *next;          /* the config read again for this reload */
	char conf_err[600];     /* why it did not read */
	char kept[512], failed[512];  /* zones that kept their version, that are not served */
	/* With zone transfers, a new zone list is built in the background and
	 * applied on the main loop once no transfer runs (zones_relist()). */
	bool staged;
	zone_t **staged_zones;  /* per zone of next, compiled */
	zset_t *staged_set;
	bool full_next, full_cur;     /* a full reload asked for, running */
	char only_next[1024], only_cur[1024];  /* zones asked for by name (comma list) */
	size_t n_reread, n_unchanged; /* zones compiled again, kept as they were */
	/* Told when a reload ends: those waiting for the one running, and those
	 * waiting for the next one to start. */
	struct zones_waiter { void (*fn)(daemon_t *d, void *arg); void *arg; }
		wait_cur[16], wait_next[16];
	size_t n_wait_cur, n_wait_next;
} zones_reload_t;

struct daemon {
	dconf_t conf;
	bool answer_cache_auto;	/* conf.answer_cache was 'auto', sized at start */
	answer_conf_t aconf;
	const udp_api_t *udp;   /* the UDP back end of every worker */
	unsigned n_workers;
	worker_t **workers;

	/* RCU-protected current zone set (see zones.c). */
	zset_t *zset;
	zone_t **zones;         /* per dconf zone, the version serving (NULL if none) */
	size_t n_zarr;          /* entries of `zones` (catalog members add zones) */
	uint64_t generation;
	zones_reload_t reload;
	/* Held while a set is built and published and while conf.zones grows:
	 * reloads and transfers publish one after the other. */
	pthread_mutex_t zones_lock;
	struct xfrd *xfrd;      /* zone transfers and NOTIFY (xfrd.c) */

	struct anyns_xdp *xdp;
	dtap_t *dnstap;         /* dnstap logging; NULL: off */
	rrl_t *rrl;             /* response rate limiting; NULL: off (RCU, defences.c) */
	atomic_uint tcp_conns;  /* open TCP connections over all workers */
	struct tcp_sources *tcp_src;    /* connections per source address */
	const char *conf_path;  /* -c FILE, or NULL */
	int argc;               /* the command line, read again over the file at reload */
	char **argv;
};

/* zones.c: the zone set's whole pipeline: build (compile every configured
 * zone; one that fails keeps its previous version), publish with RCU, tell the
 * subscribers. */
/* First load (generation 1), published at once. n_ok: zones compiled. */
int zones_load(daemon_t *d, unsigned *n_ok, size_t *records);
/* Reloads run from `loop` (the main loop) from now on. */
void zones_reload_init(daemon_t *d, uv_loop_t *loop);
/* Starts a reload in the background (SIGHUP), or queues one if one runs. */
void zones_reload(daemon_t *d);
/* No reload starts any more; one running finishes (the loop waits for it). */
void zones_reload_close(daemon_t *d);
/* fn runs after each publish from now on, and at once if a set is serving. */
int zones_subscribe(daemon_t *d, zones_sub_fn fn);
/* Runs the subscribers (main loop only), after zones_replace(). */
void zones_notify(daemon_t *d);
/* Serves z (a new reference is taken; NULL: stop serving) for conf zone idx
 * and publishes a new generation; the caller then runs zones_notify() on the
 * main loop. Takes zones_lock and waits for readers: not on the main loop
 * for long. */
int zones_replace(daemon_t *d, size_t idx, zone_t *z);
/* The version of conf zone idx serving now, with a new reference, or NULL. */
zone_t *zones_get(daemon_t *d, size_t idx);
void zones_free(daemon_t *d);
/* Asks for a full reload (origin NULL) or for one zone's (its files read
 * again, nothing else); fn(d, arg) runs on the main loop when the reload this
 * call starts (or queues) has ended, d->reload then holds its outcome (fn may
 * be NULL). Returns -1 when no reload can start (stopping, or too many
 * waiting). */
int zones_reload_wait(daemon_t *d, const char *origin, void (*fn)(daemon_t *d, void *arg),
                      void *arg);
/* What happened last to a zone, by origin: its version loaded at `when`
 * (err NULL), or a load or transfer failed with err (the zone keeps what it
 * serves). Any thread. */
void zones_note(const char *origin, const char *err);
/* Into the caller's buffers; false when nothing was noted for origin. */
bool zones_noted(const char *origin, time_t *loaded_at, char *err, size_t errlen);
const zset_t *zones_current(daemon_t *d);  /* within rcu_read_lock() */
/* A zone name for a log line: log_q() of origin with its final dot. */
const char *zones_lq(const char *origin);

/* worker.c */
int worker_new(daemon_t *d, unsigned id, worker_t **out);
int worker_start(worker_t *w);
void worker_stop(worker_t *w);            /* async; then worker_join() */
void worker_join(worker_t *w);
void worker_free(worker_t *w);            /* accepts NULL */

/* udp.c: what every UDP back end shares. */
const udp_api_t *udp_api_for(const dconf_t *c);
int udp_io_new(worker_t *w, udp_io_t **out);
void udp_io_free(udp_io_t *io);
/* One batch on s through the worker's back end: receive, answer (cache, then
 * engine), send. Returns the datagrams received. */
int udp_round(struct udp_sock *s);
/* Rounds until the socket buffer is empty, at most UDP_ROUNDS. */
void udp_drain(struct udp_sock *s);
/* recvmmsg() into s->io->rmsg with rflags; sendmmsg() of s->io->smsg[0..n). */
int udp_recv_mmsg(struct udp_sock *s, int rflags);
void udp_send_mmsg(struct udp_sock *s, int n);
/* Answers one UDP-sized query through the cache; returns response length, 0 to drop. */
size_t udp_answer(udp_io_t *io, const zset_t *zs, const uint8_t *q, size_t qlen,
                  uint8_t *out, size_t outcap);

/* tcp.c */
struct tcp_sources *tcp_sources_new(unsigned max_conn);
void tcp_sources_free(struct tcp_sources *t);
int tcp_listen_start(worker_t *w, const dconf_listen_t *l, uv_tcp_t *h);
void tcp_stop_all(worker_t *w);           /* stop reading, flush, close */
void tcp_close_all(worker_t *w);          /* now, pending writes dropped */

/* Parts of the daemon with a lifecycle beside the workers: started after the
 * first zone set is published and the workers exist (before they run; they
 * subscribe to new zone sets with zones_subscribe()), stopped after the
 * workers are joined. A start that fails is logged by the part and leaves the
 * daemon serving without it. */
typedef struct daemon_hook {
	const char *name;
	int (*start)(daemon_t *d);
	void (*stop)(daemon_t *d);
} daemon_hook_t;

/* defences.c: rrl: and cookies:, made at start-up (0 or -1, logged) and
 * swapped by a reload (main loop) when the config read again changes them;
 * defences_stop() frees them at exit. */
int defences_start(daemon_t *d);
void defences_reload(daemon_t *d, const dconf_t *next);
void defences_stop(daemon_t *d);

/* dnstap.c: dnstap logging (dnstap.socket, dnstap.file) */
extern const daemon_hook_t dnstap_hook;

/* xdp_glue.c: the XDP fast path (server.xdp) */
extern const daemon_hook_t xdp_hook;
/* Rate-limited anyns_xdp_put_gen() after a cache miss. */
void xdp_maybe_put(udp_io_t *io, uint64_t gen, const acache_key_t *key, const uint8_t *resp,
                   size_t len, const uint8_t *wild, size_t wild_len);

/* xfrd.c: zone transfers in and NOTIFY out (main loop), and what the workers
 * hand to it. */
extern const daemon_hook_t xfr_hook;
/* A NOTIFY for conf zone idx was accepted from a primary (any thread). */
void xfrd_notify_received(daemon_t *d, size_t idx);
/* Main loop: a SOA check of secondary zone idx now (axfr: a full transfer
 * whatever the serial). -1 when idx is not a secondary zone. */
int xfrd_refresh(daemon_t *d, size_t idx, bool axfr);
/* Main loop: secondary zone idx is past its expire time (answers SERVFAIL). */
bool xfrd_expired(daemon_t *d, size_t idx);
/* Catalog members over all catalogs (room kept in conf.zones for them). */
#define XFR_MAX_MEMBERS 1024
/* Main loop: fn(d) now when no transfer or history job runs, else once the
 * last ends; transfers wait meanwhile. */
void xfrd_when_idle(daemon_t *d, void (*fn)(daemon_t *d));
/* Main loop, right after conf.zones, keys and remotes were replaced (old:
 * the previous ones, still readable; cap: the room in conf.zones): the
 * transfer state follows the new list by zone name. Starts the transfers
 * when none ran. */
void xfrd_relist(daemon_t *d, const dconf_t *old, size_t cap);
/* What a primary sends from: a zone version's records and the changes that
 * led to it from the versions this process held before. Immutable,
 * reference counted; taken by workers, replaced by xfrd. */
typedef struct zhist {
	atomic_int refs;
	const zone_t *zone;     /* the version it describes (a reference) */
	uint32_t serial;
	rrlist_t rrs;           /* sorted */
	const rr_t *soa;
	xfr_change_t *ch;       /* oldest first; ch[nch-1].to == serial */
	size_t nch;
} zhist_t;
zhist_t *xfrd_hist_get(daemon_t *d, size_t idx);  /* NULL: nothing to send */
void zhist_unref(zhist_t *h);

/* xfr_serve.c: the queries the answer engine does not take: zone transfers
 * out (TCP), NOTIFY in, and any query carrying TSIG. */
typedef void (*xfr_send_fn)(void *ctx, const uint8_t *msg, size_t len);
/* Fast test: true when q must go to xfr_serve(). */
bool xfr_serve_wants(const uint8_t *q, size_t len, bool tcp);
/* Answers q from `from`: each response message goes to send (one for UDP).
 * Over UDP at most outcap bytes. */
void xfr_serve(daemon_t *d, const zset_t *zs, const struct sockaddr *from, bool tcp,
               const uint8_t *q, size_t len, size_t outcap, xfr_send_fn send, void *ctx);

/* stats.c: counters; the Prometheus endpoint (server.metrics) */
extern const daemon_hook_t metrics_hook;
void stats_sum(daemon_t *d, dstats_t *out);
void stats_log(daemon_t *d, const char *why);
/* The Prometheus exposition of the counters into b (any thread). */
void stats_render(daemon_t *d, prom_buf_t *b);

/* control.c: anyns-ctl's Unix socket (server.control) on the main loop */
extern const daemon_hook_t control_hook;
extern uint64_t daemon_started_ms;  /* CLOCK_MONOTONIC at start-up */


#endif
