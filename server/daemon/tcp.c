/* DNS over TCP per RFC 7766: 2-byte length prefix, pipelined queries answered
 * as they arrive, an idle timeout, a cap on open connections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"
#include "sockets.h"

#define TCP_BUF_INIT 2048
#define TCP_BUF_MAX  (2 + 65535)
/* Stop reading from a client that does not read its answers. */
#define TCP_WQ_MAX   (256 * 1024)

struct tcp_conn {
	uv_tcp_t h;
	uv_timer_t idle;
	worker_t *w;
	tcp_conn_t *prev, *next;
	uint8_t *buf;
	size_t cap, len;
	int handles;            /* open libuv handles; freed at 0 */
	bool closing, reading, eof, counted;
};

struct tcp_wreq {
	uv_write_t req;
	size_t len;
	uint8_t data[];
};

static void conn_on_closed(uv_handle_t *h)
{
	tcp_conn_t *c = h->data;
	if (--c->handles > 0)
		return;
	if (c->counted)
		atomic_fetch_sub(&c->w->d->tcp_conns, 1);
	free(c->buf);
	free(c);
}

static void conn_close(tcp_conn_t *c)
{
	worker_t *w = c->w;
	if (c->closing)
		return;
	c->closing = true;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
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
	/* A client reading its answers is not idle (RFC 7766 6.2.3). */
	uv_timer_again(&c->idle);
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

/* One message of an answer from xfr_serve(), framed and sent. */
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

static void conn_answer(tcp_conn_t *c, const zset_t *zs, const uint8_t *q, size_t qlen)
{
	worker_t *w = c->w;
	answer_info_t info;
	size_t olen = 0;
	STAT_INC(w->stats.tcp_queries);
	if (xfr_serve_wants(q, qlen, true)) {
		struct sockaddr_storage peer;
		int plen = sizeof(peer);
		if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&peer, &plen) == 0)
			xfr_serve(w->d, zs, (struct sockaddr *)&peer, true, q, qlen, 65535,
			          conn_send_msg, c);
		return;
	}
	answer_peer_t peer;
	uint8_t ipbuf[16];
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	bool known = w->d->aconf.cookies != NULL &&
	             uv_tcp_getpeername(&c->h, (struct sockaddr *)&ss, &sslen) == 0;
	peer_from(known ? (struct sockaddr *)&ss : NULL, ipbuf, &peer);
	if (answer_build_peer(zs, &w->d->aconf, known ? &peer : NULL, q, qlen, ANSWER_TCP,
	                      w->tcpbuf + 2, 65535, &olen, &info) != 0 || olen == 0) {
		STAT_INC(w->stats.dropped);
		return;
	}
	STAT_RCODE(w->stats, info.rcode);
	w->tcpbuf[0] = (uint8_t)(olen >> 8);
	w->tcpbuf[1] = (uint8_t)olen;
	conn_send(c, w->tcpbuf, olen + 2);
}

/* Answers the complete queries in the buffer, in order. While the client is
 * behind on reading (more than TCP_WQ_MAX queued) the rest stays in the
 * buffer for conn_on_write(): one read holds up to 64 KB of pipelined
 * queries, and answering them all at once could queue gigabytes over all
 * connections, since one 30-byte query can draw a 64 KB answer. */
static void conn_process(tcp_conn_t *c)
{
	size_t off = 0, need = 0;
	rcu_read_lock();
	const zset_t *zs = zones_current(c->w->d);
	while (c->len - off >= 2 && !c->closing && wq_size(c) <= TCP_WQ_MAX) {
		size_t mlen = (size_t)c->buf[off] << 8 | c->buf[off + 1];
		if (c->len - off < 2 + mlen) {
			need = 2 + mlen;
			break;
		}
		conn_answer(c, zs, c->buf + off + 2, mlen);
		off += 2 + mlen;
	}
	rcu_read_unlock();
	if (c->closing)
		return;
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
	uv_timer_again(&c->idle);
	conn_process(c);
}

static void conn_on_idle(uv_timer_t *t)
{
	tcp_conn_t *c = t->data;
	/* RFC 7766 6.2.3: the server may close idle connections. */
	STAT_INC(c->w->stats.tcp_timeouts);
	conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	worker_t *w = server->data;
	daemon_t *d = w->d;
	if (status < 0) {
		log_warn("worker %u: accept: %s", w->id, uv_strerror(status));
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
	/* Over the limit the connection is accepted and closed at once: the
	 * client sees a reset/EOF instead of waiting in the backlog. */
	if (atomic_fetch_add(&d->tcp_conns, 1) >= d->conf.tcp_max_conn || w->stopping) {
		atomic_fetch_sub(&d->tcp_conns, 1);
		STAT_INC(w->stats.tcp_refused);
		c->closing = true;
		uv_close((uv_handle_t *)&c->h, conn_on_closed);
		uv_close((uv_handle_t *)&c->idle, conn_on_closed);
		return;
	}
	c->counted = true;
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
	w->conns = c;
	uv_tcp_nodelay(&c->h, 1);
	uv_timer_start(&c->idle, conn_on_idle, d->conf.tcp_idle_ms, d->conf.tcp_idle_ms);
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
