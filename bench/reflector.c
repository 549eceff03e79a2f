/* anyns-reflector: the do-nothing "DNS server" used as the benchmark floor.
 *
 * Over UDP it receives datagrams in batches with recvmmsg(2), sets QR in each
 * one and sends it back unchanged with sendmmsg(2). Over TCP (the same port)
 * it reads each ready connection once per epoll_wait(2), sets QR in every
 * complete length-prefixed message the read brought and writes them all back
 * in one write(2), with TCP_NODELAY on as anynsd has it (--tcp-nagle leaves
 * Nagle's algorithm on, as NSD and Knot DNS do). Whatever CPU it
 * spends per query is the cost of the kernel's socket path alone; a real
 * server's "cost above floor" is its CPU per query minus this one's.
 *
 *   anyns-reflector [--listen ADDR:PORT]... [--workers N] [--batch N]
 *
 * Each worker has one SO_REUSEPORT UDP socket per listen address, like
 * anynsd's workers, and a thread of its own serving one SO_REUSEPORT TCP
 * listening socket per address, so that the comparison is like for like.
 * It is a measuring tool for loopback: no idle timeout, nothing but a cap on
 * open connections defends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"

#define REFL_MAX_LISTEN 8
#define REFL_MAX_BATCH  256
#define REFL_BUF        4096  /* bytes per datagram slot; longer ones are cut */
#define DNS_HDR_LEN     12
/* TCP: the longest message with its length prefix fits in one buffer. */
#define REFL_TCP_BUF    (2 + 65535)
#define REFL_TCP_EVENTS 256
#define REFL_TCP_MAX    4096  /* open connections per TCP thread; more are closed */
#define REFL_STOP_MS    200   /* how often blocked threads look at the stop flag */

typedef struct refl_addr {
	struct sockaddr_storage ss;
	socklen_t len;
} refl_addr_t;

typedef struct refl_worker {
	pthread_t tid;
	int fd;
	unsigned batch;
	unsigned long long answered;
	/* Set up once per worker; the loop never allocates. */
	uint8_t bufs[REFL_MAX_BATCH][REFL_BUF];
	struct mmsghdr rmsgs[REFL_MAX_BATCH], smsgs[REFL_MAX_BATCH];
	struct iovec riovs[REFL_MAX_BATCH], siovs[REFL_MAX_BATCH];
	struct sockaddr_storage peers[REFL_MAX_BATCH];
} refl_worker_t;

/* One accepted connection. out holds what a write left unsent; while it is
 * not empty the connection is not read (its buffer is the bound). */
typedef struct refl_conn {
	struct refl_conn *prev, *next; /* the thread's open connections */
	int fd;
	size_t have;            /* bytes in buf: the start of the next message */
	size_t out_len, out_off;
	uint8_t *out;           /* allocated at the first short write */
	uint8_t buf[REFL_TCP_BUF];
} refl_conn_t;

typedef struct refl_tcp {
	pthread_t tid;
	int lfd, ep;
	bool nagle;             /* leave Nagle's algorithm on (no TCP_NODELAY) */
	unsigned conns;
	refl_conn_t *head;
	unsigned long long answered;
} refl_tcp_t;

static atomic_bool refl_stop;

static void refl_on_signal(int sig)
{
	(void)sig;
	atomic_store(&refl_stop, true);
}

/* "127.0.0.1:5353" or "[::1]:5353". */
static int refl_parse_addr(const char *text, refl_addr_t *out)
{
	return addr_parse(text, 0, &out->ss, &out->len, NULL, 0) == 0 ? 0 : -1;
}

/* A socket of `type` (SOCK_DGRAM or SOCK_STREAM) bound to `a`, one per worker:
 * the kernel spreads flows over them by hash (SO_REUSEPORT). A datagram socket
 * gets a receive timeout and `rcvbuf`, a stream socket listens. */
static int refl_socket(const refl_addr_t *a, int type, int rcvbuf)
{
	int one = 1;
	int stream = type == SOCK_STREAM;
	int fd = socket(a->ss.ss_family, type | SOCK_CLOEXEC | (stream ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (stream && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0))
		goto fail;
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (!stream) {
		/* A receive timeout lets blocked workers notice the stop flag. */
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
			goto fail;
		/* 0 keeps the kernel default, as Knot and anynsd do; NSD asks for 1 MiB. */
		if (rcvbuf > 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    (stream && listen(fd, SOMAXCONN) < 0))
		goto fail;
	return fd;
fail:;
	int err = -errno;
	close(fd);
	return err;
}

static void refl_conn_close(refl_tcp_t *t, refl_conn_t *c)
{
	close(c->fd); /* leaves the epoll set with it */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		t->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->out);
	free(c);
	t->conns--;
}

/* Sends out[off..len) of c; 1: all gone, 0: the kernel took less (the rest
 * waits for EPOLLOUT), -1: the connection is broken. */
static int refl_conn_flush(refl_conn_t *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	return 1;
}

/* Parks what write() did not take and watches for writability instead of
 * input. -1 when that fails. */
static int refl_conn_park(refl_tcp_t *t, refl_conn_t *c, const uint8_t *rest, size_t len)
{
	if (c->out == NULL && (c->out = malloc(REFL_TCP_BUF)) == NULL)
		return -1;
	memcpy(c->out, rest, len);
	c->out_len = len;
	c->out_off = 0;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	return epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* One read, then every complete message in the buffer goes back with QR set
 * (messages that are not queries are left out), all in one write. Returns
 * -1 when the connection is to be closed. */
static int refl_conn_read(refl_tcp_t *t, refl_conn_t *c)
{
	ssize_t n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	size_t end = c->have + (size_t)n, pos = 0, keep = 0;
	unsigned answered = 0;
	/* Replies are compacted in place at the front of the buffer. */
	while (end - pos >= 2) {
		size_t len = (size_t)c->buf[pos] << 8 | c->buf[pos + 1];
		if (end - pos - 2 < len)
			break;
		uint8_t *m = c->buf + pos + 2;
		if (len >= DNS_HDR_LEN && !(m[2] & 0x80)) {
			m[2] |= 0x80; /* QR = 1 */
			if (keep != pos)
				memmove(c->buf + keep, c->buf + pos, len + 2);
			keep += len + 2;
			answered++;
		}
		pos += len + 2;
	}
	size_t sent = 0;
	while (sent < keep) {
		ssize_t w = write(c->fd, c->buf + sent, keep - sent);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (w < 0)
			break;
		sent += (size_t)w;
	}
	t->answered += answered;
	if (sent < keep && refl_conn_park(t, c, c->buf + sent, keep - sent) < 0)
		return -1;
	/* The start of the next message moves to the front. */
	c->have = end - pos;
	if (c->have > 0)
		memmove(c->buf, c->buf + pos, c->have);
	return 0;
}

static void refl_tcp_accept(refl_tcp_t *t)
{
	int one = 1;
	for (;;) {
		int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or an error the next event shows again */
		refl_conn_t *c = NULL;
		if (t->conns >= REFL_TCP_MAX ||
		    (!t->nagle && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) ||
		    (c = malloc(sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->have = c->out_len = c->out_off = 0;
		c->out = NULL;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->prev = NULL;
		c->next = t->head;
		if (t->head != NULL)
			t->head->prev = c;
		t->head = c;
		t->conns++;
	}
}

static void *refl_tcp_run(void *arg)
{
	refl_tcp_t *t = arg;
	struct epoll_event evs[REFL_TCP_EVENTS];
	/* The listening socket is known by a NULL pointer. */
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->lfd, &lev) < 0) {
		log_err("reflector: epoll_ctl failed error=\"%s\"", strerror(errno));
		return NULL;
	}
	while (!atomic_load(&refl_stop)) {
		int n = epoll_wait(t->ep, evs, REFL_TCP_EVENTS, REFL_STOP_MS);
		for (int i = 0; i < n; i++) {
			refl_conn_t *c = evs[i].data.ptr;
			if (c == NULL) {
				refl_tcp_accept(t);
				continue;
			}
			int r;
			if (c->out_len > 0) {
				/* Writable again: send the rest, then read again. */
				r = refl_conn_flush(c);
				if (r > 0) {
					struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
					r = epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev);
				} else if (r == 0 && (evs[i].events & (EPOLLERR | EPOLLHUP))) {
					r = -1;
				}
			} else {
				r = refl_conn_read(t, c);
			}
			if (r < 0)
				refl_conn_close(t, c);
		}
	}
	while (t->head != NULL)
		refl_conn_close(t, t->head);
	return NULL;
}

static void *refl_worker_run(void *arg)
{
	refl_worker_t *w = arg;
	struct mmsghdr *rm = w->rmsgs, *sm = w->smsgs;

	/* Receive headers are set up once; after each batch only the slots the
	 * kernel used get their name length back (recvmmsg overwrites it). */
	for (unsigned i = 0; i < w->batch; i++) {
		w->riovs[i] = (struct iovec){ .iov_base = w->bufs[i], .iov_len = REFL_BUF };
		rm[i].msg_hdr = (struct msghdr){
			.msg_name = &w->peers[i], .msg_namelen = sizeof(w->peers[i]),
			.msg_iov = &w->riovs[i], .msg_iovlen = 1,
		};
	}
	while (!atomic_load(&refl_stop)) {
		/* MSG_WAITFORONE: block for the first datagram, then take what is queued. */
		int n = recvmmsg(w->fd, rm, w->batch, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue; /* timeout, EINTR: look at the stop flag again */
		int out = 0;
		for (int i = 0; i < n; i++) {
			uint8_t *b = w->bufs[i];
			size_t len = rm[i].msg_len;
			socklen_t nl = rm[i].msg_hdr.msg_namelen;
			rm[i].msg_hdr.msg_namelen = sizeof(w->peers[i]);
			if (len < DNS_HDR_LEN || (b[2] & 0x80))
				continue; /* not a query: never answer a response */
			b[2] |= 0x80; /* QR = 1 */
			w->siovs[out] = (struct iovec){ .iov_base = b, .iov_len = len };
			sm[out].msg_hdr = (struct msghdr){
				.msg_name = &w->peers[i], .msg_namelen = nl,
				.msg_iov = &w->siovs[out], .msg_iovlen = 1,
			};
			out++;
		}
		int sent = 0;
		while (sent < out) {
			int r = sendmmsg(w->fd, sm + sent, (unsigned)(out - sent), 0);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				break; /* full send buffer: drop the rest, like a busy server */
			}
			sent += r;
		}
		w->answered += (unsigned long long)sent;
	}
	return NULL;
}

static void refl_usage(FILE *f)
{
	fprintf(f,
	        "usage: anyns-reflector [options]\n"
	        "  --listen ADDR:PORT  address to serve (repeatable; default 127.0.0.1:5300)\n"
	        "  --workers N         worker threads, each with its own socket (default 1)\n"
	        "  --batch N           datagrams per recvmmsg/sendmmsg (default 64, max %d)\n"
	        "  --rcvbuf BYTES      SO_RCVBUF of each socket (default 0: kernel default)\n"
	        "  --tcp-nagle         leave Nagle's algorithm on over TCP (default: TCP_NODELAY,\n"
	        "                      as anynsd; NSD and Knot DNS leave it on)\n"
	        "  --help              this text\n"
	        "Answers every query with itself, QR set, over UDP and over TCP on the same\n"
	        "port (every message of a read in one write). SIGTERM/SIGINT stop it.\n",
	        REFL_MAX_BATCH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "workers", required_argument, NULL, 'w' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "tcp-nagle", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	refl_addr_t addrs[REFL_MAX_LISTEN];
	size_t naddr = 0;
	long workers = 1, batch = 64, rcvbuf = 0;
	bool nagle = false;
	int c, rc = 1;

	log_set_ident("anyns-reflector");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'L':
			if (naddr == REFL_MAX_LISTEN || refl_parse_addr(optarg, &addrs[naddr]) < 0) {
				log_err("--listen %s: not ADDR:PORT or too many", optarg);
				return 2;
			}
			naddr++;
			break;
		case 'w':
			workers = strtol(optarg, NULL, 10);
			if (workers < 1 || workers > 64) {
				log_err("--workers %s: want 1..64", optarg);
				return 2;
			}
			break;
		case 'b':
			batch = strtol(optarg, NULL, 10);
			if (batch < 1 || batch > REFL_MAX_BATCH) {
				log_err("--batch %s: want 1..%d", optarg, REFL_MAX_BATCH);
				return 2;
			}
			break;
		case 'r':
			rcvbuf = strtol(optarg, NULL, 10);
			if (rcvbuf < 0 || rcvbuf > (1L << 30)) {
				log_err("--rcvbuf %s: want 0..2^30", optarg);
				return 2;
			}
			break;
		case 'n':
			nagle = true;
			break;
		case 'h':
			refl_usage(stdout);
			return 0;
		default:
			refl_usage(stderr);
			return 2;
		}
	}
	if (naddr == 0) {
		refl_parse_addr("127.0.0.1:5300", &addrs[0]);
		naddr = 1;
	}

	struct sigaction sa = { .sa_handler = refl_on_signal }; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	size_t nw = (size_t)workers * naddr, started = 0, tstarted = 0;
	refl_worker_t *ws = calloc(nw, sizeof(*ws));
	refl_tcp_t *ts = calloc(nw, sizeof(*ts));
	if (ws == NULL || ts == NULL) {
		log_err("reflector: out of memory");
		free(ws);
		free(ts);
		return 1;
	}
	for (size_t i = 0; i < nw; i++)
		ws[i].fd = ts[i].lfd = ts[i].ep = -1;
	for (size_t i = 0; i < nw; i++) {
		ws[i].batch = (unsigned)batch;
		ts[i].nagle = nagle;
		ws[i].fd = refl_socket(&addrs[i % naddr], SOCK_DGRAM, (int)rcvbuf);
		if (ws[i].fd < 0) {
			log_err("reflector: socket failed proto=udp listen=%zu error=\"%s\"",
			        i % naddr, strerror(-ws[i].fd));
			goto out;
		}
		ts[i].lfd = refl_socket(&addrs[i % naddr], SOCK_STREAM, 0);
		if (ts[i].lfd < 0) {
			log_err("reflector: socket failed proto=tcp listen=%zu error=\"%s\"",
			        i % naddr, strerror(-ts[i].lfd));
			goto out;
		}
		ts[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (ts[i].ep < 0) {
			log_err("reflector: epoll_create1 failed error=\"%s\"", strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < nw; i++) {
		int err = pthread_create(&ws[i].tid, NULL, refl_worker_run, &ws[i]);
		if (err == 0) {
			started++;
			err = pthread_create(&ts[i].tid, NULL, refl_tcp_run, &ts[i]);
			if (err == 0)
				tstarted++;
		}
		if (err != 0) {
			log_err("reflector: pthread_create failed error=\"%s\"", strerror(err));
			atomic_store(&refl_stop, true);
			goto join;
		}
	}
	log_info("reflector: started addresses=%zu workers=%ld batch=%ld proto=udp,tcp tcp-nodelay=%s",
	         naddr, workers, batch, nagle ? "no" : "yes");
	rc = 0;
join:;
	unsigned long long total = 0, ttotal = 0;
	for (size_t i = 0; i < started; i++) {
		pthread_join(ws[i].tid, NULL);
		total += ws[i].answered;
	}
	for (size_t i = 0; i < tstarted; i++) {
		pthread_join(ts[i].tid, NULL);
		ttotal += ts[i].answered;
	}
	log_info("reflector: stopped answers-udp=%llu answers-tcp=%llu", total, ttotal);
out:
	for (size_t i = 0; i < nw; i++) {
		if (ws[i].fd >= 0)
			close(ws[i].fd);
		if (ts[i].lfd >= 0)
			close(ts[i].lfd);
		if (ts[i].ep >= 0)
			close(ts[i].ep);
	}
	free(ws);
	free(ts);
	return rc;
}
