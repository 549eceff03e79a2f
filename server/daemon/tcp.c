/* DNS over TCP per RFC 7766: 2-byte length prefix, pipelined queries answered
 * as they arrive, a cap on open connections. Slots are defended (RFC 7766
 * 6.2.3): a connection is idle from its last complete query or answer read
 * (bytes of an unfinished query do not count), a query must arrive whole
 * within tcp-query-timeout of its first byte, both timeouts drop to
 * TCP_BUSY_MS once half the slots are taken, one source address (an IPv6
 * /64) holds at most tcp-max-per-source connections, and with every slot
 * taken a new client takes the slot of this worker's least recently active
 * connection. The answers to the queries of one read leave in one write:
 * a client that pipelines gets them in as few segments as the kernel can
 * make, without Nagle's wait for an acknowledgement (TCP_NODELAY is on).
 * Answers come from the worker's answer cache when it holds them whole. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"
#include "pkt.h"
#include "sockets.h"
#include "tcp_frame.h"

#define TCP_BUF_INIT 2048
#define TCP_BUF_MAX  (2 + 65535)
/* Stop reading from a client that does not read its answers. */
#define TCP_WQ_MAX   (256 * 1024)
/* Timeouts once half the slots are taken, as NSD. */
#define TCP_BUSY_MS  200
/* Connections looked at, from the least recently active, for one to push
 * out when every slot is taken. */
#define TCP_EVICT_SCAN 16

/* Connections per source: open addressing, linear probing, deletion by
 * backward shift; at most tcp-max-connections keys live at once. */
struct tcp_src_ent {
	uint8_t key[16];
	unsigned count;         /* 0: free */
};
struct tcp_sources {
	pthread_mutex_t lock;
	size_t mask;
	struct tcp_src_ent e[];
};

struct tcp_conn {
	uv_tcp_t h;
	uv_timer_t idle;
	worker_t *w;
	tcp_conn_t *prev, *next;
	uint8_t *buf;
	size_t cap, len;
	int handles;            /* open libuv handles; freed at 0 */
	bool closing, reading, eof, counted, sourced;
	bool partial;           /* the buffer holds the start of a query */
	uint8_t src[16];        /* the source key (tcp_sources) */
	bool peer_ok;           /* peer is known (from the accept) */
	bool local_ok;          /* local is known (dnstap) */
	struct sockaddr_storage peer, local;
	uint64_t seen_iter;     /* loop iteration of the accept or last activity */
	/* Idle timer, re-armed lazily: activity moves idle_due, and a timer
	 * that fires before it is started again for the rest. */
	uint64_t idle_due;      /* loop time (ms) the connection becomes idle */
	uint64_t timer_due;     /* loop time the timer fires; 0: not armed */
};

struct tcp_wreq {
	uv_write_t req;
	size_t len;
	uint8_t data[];
};

static void conn_on_idle(uv_timer_t *t);

static size_t src_hash(const uint8_t *k, size_t mask)
{
	uint64_t a, b;
	memcpy(&a, k, 8);
	memcpy(&b, k + 8, 8);
	uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
	return (size_t)(h >> 32 ^ h) & mask;
}

struct tcp_sources *tcp_sources_new(unsigned max_conn)
{
	/* Twice the keys that can be live: the cap, plus one connection per
	 * worker accepted past it in a race (at most 256 workers). */
	size_t n = 16;
	while (n < 2 * ((size_t)max_conn + 256))
		n <<= 1;
	struct tcp_sources *t = calloc(1, sizeof(*t) + n * sizeof(t->e[0]));
	if (t == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->mask = n - 1;
	return t;
}

void tcp_sources_free(struct tcp_sources *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Counts one more connection from key unless it has `limit` already.
 * Returns false when over the limit. */
static bool tcp_sources_get(struct tcp_sources *t, const uint8_t *key, unsigned limit)
{
	bool ok = true;
	pthread_mutex_lock(&t->lock);
	size_t i = src_hash(key, t->mask), steps = 0;
	while (t->e[i].count != 0 && memcmp(t->e[i].key, key, 16) != 0 && steps++ <= t->mask)
		i = (i + 1) & t->mask;
	if (steps > t->mask) {
		ok = false;     /* full: cannot happen with the size above */
	} else if (t->e[i].count == 0) {
		memcpy(t->e[i].key, key, 16);
		t->e[i].count = 1;
	} else if (t->e[i].count >= limit) {
		ok = false;
	} else {
		t->e[i].count++;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

static void tcp_sources_put(struct tcp_sources *t, const uint8_t *key)
{
	pthread_mutex_lock(&t->lock);
	size_t i = src_hash(key, t->mask);
	while (t->e[i].count != 0 && memcmp(t->e[i].key, key, 16) != 0)
		i = (i + 1) & t->mask;
	if (t->e[i].count > 1) {
		t->e[i].count--;
	} else if (t->e[i].count == 1) {
		/* Backward shift: pull later entries of the run into the hole
		 * when their home slot allows it. */
		size_t hole = i, j = i;
		t->e[hole].count = 0;
		for (;;) {
			j = (j + 1) & t->mask;
			if (t->e[j].count == 0)
				break;
			size_t home = src_hash(t->e[j].key, t->mask);
			if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
				t->e[hole] = t->e[j];
				t->e[j].count = 0;
				hole = j;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
}

/* The source key: an IPv4 address (mapped), or an IPv6 address's /64. */
static void source_key(const struct sockaddr_storage *ss, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a))
			memcpy(key, a, 16);
		else
			memcpy(key, a, 8);
	}
}

/* Both timeouts fall to TCP_BUSY_MS once half the slots are taken. */
static uint64_t conn_timeout(const daemon_t *d, uint64_t ms)
{
	if (atomic_load(&d->tcp_conns) > d->conf.tcp_max_conn / 2 && ms > TCP_BUSY_MS)
		return TCP_BUSY_MS;
	return ms;
}

static void conn_timer(tcp_conn_t *c, uint64_t ms)
{
	c->timer_due = uv_now(&c->w->loop) + ms;
	uv_timer_start(&c->idle, conn_on_idle, ms, 0);
}

/* The connection did something useful: idle from now on, first to keep
 * when slots run out. The timer is started again only when it would fire
 * after the new idle time (the busy timeout is shorter); otherwise it fires
 * early and conn_on_idle() starts it for the rest. */
static void conn_active(tcp_conn_t *c)
{
	worker_t *w = c->w;
	uint64_t ms = conn_timeout(w->d, w->d->conf.tcp_idle_ms);
	c->seen_iter = w->tcp_iter;
	c->idle_due = uv_now(&w->loop) + ms;
	if (c->timer_due == 0 || c->timer_due > c->idle_due)
		conn_timer(c, ms);
	if (w->conns == c)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		w->conns_tail = c->prev;
	c->prev = NULL;
	c->next = w->conns;
	w->conns->prev = c;
	w->conns = c;
}

/* A connection that may make room for a new one: in the middle of a query
 * (a slow sender), or quiet through a whole loop iteration since its accept
 * or its last answer. One accepted in this or the previous iteration is
 * spared: its socket has not been read yet, and a burst of new connections
 * must not push out a client whose query waits there. */
static tcp_conn_t *evictable(worker_t *w)
{
	tcp_conn_t *c = w->conns_tail;
	for (int i = 0; c != NULL && i < TCP_EVICT_SCAN; i++, c = c->prev)
		if (c->partial || w->tcp_iter - c->seen_iter >= 2)
			return c;
	return NULL;
}

static void on_iteration(uv_prepare_t *p)
{
	((worker_t *)p->data)->tcp_iter++;
}

static void conn_on_closed(uv_handle_t *h)
{
	tcp_conn_t *c = h->data;
	if (--c->handles > 0)
		return;
	free(c->buf);
	free(c);
}

static void conn_close(tcp_conn_t *c)
{
	worker_t *w = c->w;
	if (c->closing)
		return;
	c->closing = true;
	/* The slot is free at once: a client waiting for it need not wait
	 * for the close callbacks. */
	if (c->counted)
		atomic_fetch_sub(&w->d->tcp_conns, 1);
	if (c->sourced)
		tcp_sources_put(w->d->tcp_src, c->src);
	c->counted = c->sourced = false;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else if (w->conns_tail == c)
		w->conns_tail = c->prev;
	c->prev = c->next = NULL;
	uv_close((uv_handle_t *)&c->h, conn_on_closed);
	uv_close((uv_handle_t *)&c->idle, conn_on_closed);
}

static size_t wq_size(tcp_conn_t *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->h);
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	tcp_conn_t *c = h->data;
	if (c->cap - c->len < 512 && c->cap < TCP_BUF_MAX) {
		size_t ncap = c->cap * 2 > TCP_BUF_MAX ? TCP_BUF_MAX : c->cap * 2;
		uint8_t *nb = realloc(c->buf, ncap);
		if (nb != NULL) {
			c->buf = nb;
			c->cap = ncap;
		}
	}
	buf->base = (char *)c->buf + c->len;
	buf->len = c->cap - c->len;
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void conn_process(tcp_conn_t *c);

static void conn_on_write(uv_write_t *req, int status)
{
	struct tcp_wreq *wr = (struct tcp_wreq *)req;
	tcp_conn_t *c = req->handle->data;
	free(wr);
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	/* A client reading its answers is not idle (RFC 7766 6.2.3), unless it
	 * is in the middle of sending a query: that one has its deadline. */
	if (!c->partial)
		conn_active(c);
	/* Queries left in the buffer while the client was behind go first. */
	if (!c->w->stopping && wq_size(c) < TCP_WQ_MAX / 2) {
		conn_process(c);
		if (c->closing)
			return;
	}
	if (wq_size(c) == 0 && (c->eof || c->w->stopping)) {
		conn_close(c);
		return;
	}
	if (!c->reading && !c->eof && !c->w->stopping && wq_size(c) < TCP_WQ_MAX / 2)
		c->reading = uv_read_start((uv_stream_t *)&c->h, conn_on_alloc, conn_on_read) == 0;
}

static void conn_send(tcp_conn_t *c, const uint8_t *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	/* Usually the whole answer goes out here and nothing is allocated;
	 * uv_try_write() refuses while earlier writes are queued, so order holds. */
	int r = uv_try_write((uv_stream_t *)&c->h, &b, 1);
	if (r >= 0 && (size_t)r == len)
		return;
	if (r < 0 && r != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	size_t done = r > 0 ? (size_t)r : 0;
	struct tcp_wreq *wr = malloc(sizeof(*wr) + len - done);
	if (wr == NULL) {
		conn_close(c);
		return;
	}
	wr->len = len - done;
	memcpy(wr->data, data + done, wr->len);
	b = uv_buf_init((char *)wr->data, (unsigned)wr->len);
	if (uv_write(&wr->req, (uv_stream_t *)&c->h, &b, 1, conn_on_write) != 0) {
		free(wr);
		conn_close(c);
		return;
	}
	if (wq_size(c) > TCP_WQ_MAX && c->reading) {
		uv_read_stop((uv_stream_t *)&c->h);
		c->reading = false;
	}
}

/* One message of an answer from xfr_serve(), framed and sent (after the
 * answers batched before it: the batch is empty here). */
static void conn_send_msg(void *ctx, const uint8_t *msg, size_t len)
{
	tcp_conn_t *c = ctx;
	worker_t *w = c->w;
	if (c->closing || len > 65535)
		return;
	STAT_RCODE(w->stats, msg[3] & 0x0F);
	w->tcpbuf[0] = (uint8_t)(len >> 8);
	w->tcpbuf[1] = (uint8_t)len;
	memmove(w->tcpbuf + 2, msg, len);
	conn_send(c, w->tcpbuf, len + 2);
}

/* Answers one query into the batch at w->tcpbuf + *batch (room for a whole
 * answer is there), or sends the batch first when the query is a transfer,
 * a NOTIFY or signed (TSIG), whose messages go out one by one. Other queries
 * go through the worker's answer cache like UDP ones: a template is at most
 * 512 bytes and never truncated, so it is the whole answer, unless it left
 * optional records out to fit 512 bytes (a query without EDNS): then the
 * answer is built again without the limit. */
static void conn_answer(tcp_conn_t *c, const zset_t *zs, const uint8_t *q, size_t qlen,
                        size_t *batch)
{
	worker_t *w = c->w;
	answer_info_t info;
	size_t olen = 0;
	uint8_t *out = w->tcpbuf + *batch;
	STAT_INC(w->stats.tcp_queries);
	struct timespec qtime;
	if (w->d->dnstap != NULL)
		clock_gettime(CLOCK_REALTIME, &qtime);
	uint64_t gen = zs != NULL ? zset_generation(zs) : 0;
	acache_key_t key;
	uint32_t h = 0;
	uint8_t rcode = 0;
	int r = ANYNS_EINVAL;
	if (gen != 0 && w->tcp_cache != NULL)
		r = acache_lookup(w->tcp_cache, gen, q, qlen, &key, &h, out + 2, 65535, &olen,
		                  &rcode);
	/* Transfers, NOTIFY and TSIG-signed queries go aside. A query the cache
	 * could key (a hit or a miss) has opcode QUERY and no record besides an
	 * OPT without options, so only its type can make it a transfer; the
	 * others get the whole check (xfr_serve_wants() walks the name again). */
	bool xfr = r >= 0 || r == ANYNS_ENOENT
	           ? key.qtype == PKT_TYPE_AXFR || key.qtype == PKT_TYPE_IXFR
	           : xfr_serve_wants(q, qlen, true);
	if (xfr) {
		if (*batch > 0) {
			conn_send(c, w->tcpbuf, *batch);
			*batch = 0;
			if (c->closing)
				return;
		}
		if (c->peer_ok)
			xfr_serve(w->d, zs, (struct sockaddr *)&c->peer, true, q, qlen, 65535,
			          conn_send_msg, c);
		return;
	}
	/* The client's address serves cookies and allow-query only: it is
	 * turned into their form only when one of them asks. */
	answer_peer_t peer;
	uint8_t ipbuf[16];
	bool keyed = false, hit = false;
	if (r > 0 && (r & ACACHE_HIT_PARTIAL))
		r = ANYNS_EINVAL;
	/* Not for this client: answered afresh (REFUSED), not stored. */
	if (r > 0 && (r & ACACHE_HIT_ACL)) {
		peer_from(c->peer_ok ? (struct sockaddr *)&c->peer : NULL, ipbuf, &peer);
		if (!answer_allowed(zs, key.name, key.name_len, key.qtype, &peer))
			r = ANYNS_EINVAL;
	}
	if (r >= 0) {
		hit = true;
		info.rcode = rcode;
		STAT_INC(w->stats.cache_hits);
	} else if (r == ANYNS_ENOENT) {
		keyed = true;
		STAT_INC(w->stats.cache_misses);
	}
	if (!hit) {
		bool known = c->peer_ok && (w->d->aconf.cookies != NULL || zset_has_acl(zs));
		if (known)
			peer_from((struct sockaddr *)&c->peer, ipbuf, &peer);
		if (answer_build_peer(zs, &w->d->aconf, known ? &peer : NULL, q, qlen, ANSWER_TCP,
		                      out + 2, 65535, &olen, &info) != 0)
			olen = 0;
		if (keyed && olen > 0)
			(void)acache_store(w->tcp_cache, gen, &key, h, out + 2, olen, &info);
	}
	if (w->d->dnstap != NULL) {
		if (!c->local_ok) {
			int ll = sizeof(c->local);
			c->local_ok = uv_tcp_getsockname(&c->h, (struct sockaddr *)&c->local, &ll) == 0;
		}
		bool addrs = c->peer_ok && c->local_ok;
		dtap_log(w->d->dnstap, w->id, true, addrs ? (struct sockaddr *)&c->peer : NULL,
		         addrs ? (struct sockaddr *)&c->local : NULL, &qtime, q, qlen,
		         olen > 0 ? out + 2 : NULL, olen);
	}
	if (olen == 0) {
		STAT_INC(w->stats.dropped);
		return;
	}
	STAT_RCODE(w->stats, info.rcode);
	out[0] = (uint8_t)(olen >> 8);
	out[1] = (uint8_t)olen;
	*batch += olen + 2;
}

/* Answers the complete queries in the buffer, in order. While the client is
 * behind on reading (more than TCP_WQ_MAX queued) the rest stays in the
 * buffer for conn_on_write(): one read holds up to 64 KB of pipelined
 * queries, and answering them all at once could queue gigabytes over all
 * connections, since one 30-byte query can draw a 64 KB answer. */
static void conn_process(tcp_conn_t *c)
{
	size_t off = 0, need = 0, batch = 0;
	uint8_t *out = c->w->tcpbuf;
	rcu_read_lock();
	const zset_t *zs = zones_current(c->w->d);
	while (!c->closing && wq_size(c) + batch <= TCP_WQ_MAX) {
		size_t mlen;
		if (!tcp_frame_next(c->buf + off, c->len - off, &mlen, &need))
			break;
		if (TCP_OUT_CAP - batch < 2 + 65535) {
			conn_send(c, out, batch);
			batch = 0;
			if (c->closing)
				break;
		}
		conn_answer(c, zs, c->buf + off + 2, mlen, &batch);
		off += 2 + mlen;
	}
	if (batch > 0 && !c->closing)
		conn_send(c, out, batch);
	rcu_read_unlock();
	if (c->closing)
		return;
	if (off > 0 && c->len == off)
		c->partial = false;
	if (off > 0)
		conn_active(c);
	if (c->len > off && (!c->partial || off > 0)) {
		/* A new query started: it must be whole within the deadline,
		 * whatever it trickles in the meantime. */
		c->partial = true;
		conn_timer(c, conn_timeout(c->w->d, c->w->d->conf.tcp_query_ms));
	}
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	if (need > c->cap) {
		uint8_t *nb = realloc(c->buf, need);
		if (nb == NULL) {
			conn_close(c);
			return;
		}
		c->buf = nb;
		c->cap = need;
	}
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	tcp_conn_t *c = s->data;
	if (nread == 0)
		return;
	if (nread < 0) {
		/* EOF: answers still queued go out first (RFC 7766 6.2.4 lets the
		 * client half-close after its last query), and so do the
		 * queries still waiting in the buffer. */
		uv_read_stop(s);
		c->reading = false;
		c->eof = true;
		if (nread == UV_EOF)
			conn_process(c);
		if (!c->closing && (nread != UV_EOF || wq_size(c) == 0))
			conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	conn_process(c);
}

static void conn_on_idle(uv_timer_t *t)
{
	tcp_conn_t *c = t->data;
	uint64_t now = uv_now(&c->w->loop);
	c->timer_due = 0;
	if (!c->partial && now < c->idle_due) {
		conn_timer(c, c->idle_due - now);
		return;
	}
	/* RFC 7766 6.2.3: the server may close idle connections. */
	STAT_INC(c->w->stats.tcp_timeouts);
	conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	worker_t *w = server->data;
	daemon_t *d = w->d;
	if (status < 0) {
		log_warn("tcp: accept-failed worker=%u error=%s", w->id, log_q(uv_strerror(status)));
		return;
	}
	tcp_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->w = w;
	c->h.data = c;
	c->idle.data = c;
	uv_tcp_init(&w->loop, &c->h);
	uv_timer_init(&w->loop, &c->idle);
	c->handles = 2;
	if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->h, conn_on_closed);
		uv_close((uv_handle_t *)&c->idle, conn_on_closed);
		return;
	}
	/* Over a limit the connection is accepted and closed at once: the
	 * client sees a reset/EOF instead of waiting in the backlog. With
	 * every slot taken, this worker's least recently active connection
	 * makes room, so that a client with a query still gets in. */
	int plen = sizeof(c->peer);
	c->peer_ok = uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &plen) == 0;
	source_key(&c->peer, c->src);
	bool refuse = w->stopping;
	if (!refuse && atomic_load(&d->tcp_conns) >= d->conf.tcp_max_conn) {
		tcp_conn_t *old = evictable(w);
		if (old != NULL) {
			STAT_INC(w->stats.tcp_timeouts);
			conn_close(old);
		} else {
			refuse = true;
		}
	}
	if (!refuse && !tcp_sources_get(d->tcp_src, c->src, d->conf.tcp_max_per_source))
		refuse = true;
	else if (!refuse)
		c->sourced = true;
	if (refuse) {
		if (c->sourced)
			tcp_sources_put(d->tcp_src, c->src);
		c->sourced = false;
		STAT_INC(w->stats.tcp_refused);
		c->closing = true;
		uv_close((uv_handle_t *)&c->h, conn_on_closed);
		uv_close((uv_handle_t *)&c->idle, conn_on_closed);
		return;
	}
	atomic_fetch_add(&d->tcp_conns, 1);
	c->counted = true;
	c->seen_iter = w->tcp_iter;
	STAT_INC(w->stats.tcp_accepted);
	c->buf = malloc(TCP_BUF_INIT);
	if (c->buf == NULL) {
		conn_close(c);
		return;
	}
	c->cap = TCP_BUF_INIT;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	else
		w->conns_tail = c;
	w->conns = c;
	uv_tcp_nodelay(&c->h, 1);
	c->idle_due = uv_now(&w->loop) + conn_timeout(d, d->conf.tcp_idle_ms);
	conn_timer(c, c->idle_due - uv_now(&w->loop));
	if (uv_read_start((uv_stream_t *)&c->h, conn_on_alloc, conn_on_read) != 0) {
		conn_close(c);
		return;
	}
	c->reading = true;
}

int tcp_listen_start(worker_t *w, const dconf_listen_t *l, uv_tcp_t *h)
{
	int fd, rc;
	rc = socket_bind(l, SOCK_STREAM, &fd);
	if (rc != 0)
		return rc;
	if (!w->tcp_tick_on) {
		/* Loop iterations counted: see evictable(). */
		uv_prepare_init(&w->loop, &w->tcp_tick);
		w->tcp_tick.data = w;
		uv_prepare_start(&w->tcp_tick, on_iteration);
		uv_unref((uv_handle_t *)&w->tcp_tick);
		w->tcp_tick_on = true;
	}
	uv_tcp_init(&w->loop, h);
	h->data = w;
	rc = uv_tcp_open(h, fd);
	if (rc != 0) {
		/* The handle did not take fd: it is still ours to close. */
		close(fd);
		return rc;
	}
	/* From here the handle owns fd; the caller's cleanup closes the handle. */
	return uv_listen((uv_stream_t *)h, 1024, on_connection);
}

void tcp_stop_all(worker_t *w)
{
	tcp_conn_t *c = w->conns, *next;
	for (; c != NULL; c = next) {
		next = c->next;
		if (c->reading)
			uv_read_stop((uv_stream_t *)&c->h);
		c->reading = false;
		if (wq_size(c) == 0)
			conn_close(c);
	}
}

void tcp_close_all(worker_t *w)
{
	while (w->conns != NULL)
		conn_close(w->conns);
}
