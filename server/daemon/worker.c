/* A worker: one thread, one libuv loop, its own SO_REUSEPORT UDP socket per
 * listen address drained with recvmmsg()/sendmmsg(), its TCP listeners and its
 * answer cache. Everything a query touches is preallocated here. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <urcu.h>

#include "cache.h"
#include "daemon.h"
#include "log.h"

int acache_new(size_t entries, acache_t **out)
{
	size_t sets = 1;
	while (sets * 2 < entries)
		sets <<= 1;
	acache_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ANYNS_ENOMEM;
	/* calloc: pages stay untouched (and cost nothing) until slots fill. */
	c->ent = calloc(sets * 2, sizeof(*c->ent));
	if (c->ent == NULL) {
		free(c);
		return ANYNS_ENOMEM;
	}
	c->mask = sets - 1;
	*out = c;
	return 0;
}

void acache_free(acache_t *c)
{
	if (c == NULL)
		return;
	free(c->ent);
	free(c);
}

int net_socket_bind(const dconf_listen_t *l, int type, int *fd_out)
{
	int fam = l->ss.ss_family, one = 1;
	int fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Each worker binds its own socket; the kernel spreads flows over them. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (fam == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (type == SOCK_DGRAM) {
		/* Room for bursts between two recvmmsg() rounds (capped by rmem_max). */
		int sz = 4 << 20;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (type == SOCK_DGRAM && l->wildcard) {
		int rc = fam == AF_INET
		         ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
		         : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (rc != 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&l->ss, l->len) != 0)
		goto fail;
	*fd_out = fd;
	return 0;
fail:;
	int e = -errno;
	close(fd);
	return e;
}


size_t worker_answer_udp(udp_io_t *io, const zset_t *zs, const uint8_t *q, size_t qlen,
                         uint8_t *out, size_t outcap)
{
	answer_key_t key;
	answer_info_t info;
	size_t olen = 0;
	uint32_t h = 0;
	bool keyed = false;
	uint64_t gen = zs != NULL ? zset_generation(zs) : 0;

	STAT_INC(io->stats.udp_queries);
	if (gen != 0 && io->cache != NULL && answer_key_from_query(q, qlen, &key) == 0) {
		keyed = true;
		h = acache_hash(&key);
		const acache_ent_t *e = acache_find(io->cache, &key, h, gen);
		if (e != NULL && (olen = acache_patch(e, q, out, outcap)) > 0) {
			STAT_INC(io->stats.cache_hits);
			STAT_RCODE(io->stats, e->rcode);
			return olen;
		}
		STAT_INC(io->stats.cache_misses);
	}
	if (answer_build(zs, &io->w->d->aconf, q, qlen, ANSWER_UDP, out, outcap, &olen,
	                 &info) != 0 || olen == 0) {
		STAT_INC(io->stats.dropped);
		return 0;
	}
	STAT_RCODE(io->stats, info.rcode);
	if (info.tc)
		STAT_INC(io->stats.truncated);
	/* A truncated answer depends on the client's payload size: never reuse it. */
	if (keyed && info.cacheable && !info.tc && olen <= ACACHE_TMPL_MAX) {
		acache_store(io->cache, &key, h, gen, out, olen, info.rcode);
		if (io->w->d->xdp != NULL)
			xdp_maybe_put(io, gen, &key, out, olen);
	}
	return olen;
}

/* The address the query was sent to, from IP_PKTINFO, as a cmsg for the reply. */
static size_t reply_pktinfo(const struct msghdr *rh, uint8_t *ctl, size_t ctlcap)
{
	struct msghdr tmp = { .msg_control = ctl, .msg_controllen = ctlcap };
	memset(ctl, 0, ctlcap);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rh); c != NULL; c = CMSG_NXTHDR((struct msghdr *)rh, c)) {
		struct cmsghdr *o = CMSG_FIRSTHDR(&tmp);
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo in, pi;
			memcpy(&in, CMSG_DATA(c), sizeof(in));
			memset(&pi, 0, sizeof(pi));
			pi.ipi_spec_dst = in.ipi_addr;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

/* One recvmmsg() batch answered with one sendmmsg(). rflags: MSG_DONTWAIT
 * (poll mode), or MSG_WAITFORONE on a blocking socket (threads mode).
 * Returns the datagrams read. */
static int udp_round(udp_io_t *io, struct udp_sock *s, int rflags)
{
	size_t cap = io->w->d->conf.max_udp_payload;
	int n, ns = 0;

	/* recvmmsg() only rewrites the headers it filled: reset those (all of them
	 * when this socket wants control messages and the last one did not). */
	int dirty = io->rdirty, ctl = s->pktinfo ? (int)sizeof(io->rctl[0]) : 0;
	if (ctl != io->rctl_len) {
		dirty = UDP_BATCH;
		io->rctl_len = ctl;
	}
	for (int i = 0; i < dirty; i++) {
		struct msghdr *m = &io->rmsg[i].msg_hdr;
		m->msg_namelen = sizeof(io->raddr[i]);
		m->msg_controllen = (size_t)ctl;
		m->msg_flags = 0;
	}
	io->rdirty = 0;
	do
		n = recvmmsg(s->fd, io->rmsg, UDP_BATCH, rflags, NULL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	io->rdirty = n;

	rcu_read_lock();
	const zset_t *zs = zones_current(io->w->d);
	for (int i = 0; i < n; i++) {
		struct msghdr *rh = &io->rmsg[i].msg_hdr;
		/* Empty: nothing to answer (also what a shut-down socket returns). */
		if (io->rmsg[i].msg_len == 0)
			continue;
		if (rh->msg_flags & MSG_TRUNC) {
			STAT_INC(io->stats.dropped);
			continue;
		}
		uint8_t *out = io->sbuf + (size_t)ns * cap;
		size_t olen = worker_answer_udp(io, zs, io->rbuf[i], io->rmsg[i].msg_len, out, cap);
		if (olen == 0)
			continue;
		struct msghdr *sh = &io->smsg[ns].msg_hdr;
		io->siov[ns].iov_base = out;
		io->siov[ns].iov_len = olen;
		sh->msg_name = &io->raddr[i];
		sh->msg_namelen = rh->msg_namelen;
		sh->msg_iov = &io->siov[ns];
		sh->msg_iovlen = 1;
		sh->msg_control = NULL;
		sh->msg_controllen = 0;
		if (s->pktinfo) {
			size_t cl = reply_pktinfo(rh, io->sctl[ns], sizeof(io->sctl[ns]));
			if (cl > 0) {
				sh->msg_control = io->sctl[ns];
				sh->msg_controllen = cl;
			}
		}
		sh->msg_flags = 0;
		ns++;
	}
	rcu_read_unlock();

	for (int off = 0; off < ns;) {
		int r = sendmmsg(s->fd, io->smsg + off, (unsigned)(ns - off), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
				STAT_ADD(io->stats.dropped, (uint64_t)(ns - off));
				break;
			}
			/* This datagram cannot go (e.g. unreachable peer): skip it. */
			STAT_INC(io->stats.dropped);
			off++;
			continue;
		}
		off += r;
	}
	return n;
}

/* Poll mode: the worker's loop says the socket is readable. */
static void udp_on_readable(uv_poll_t *h, int status, int events)
{
	struct udp_sock *s = h->data;
	worker_t *w = h->loop->data;
	if (status < 0) {
		log_warn("worker %u: UDP poll: %s", w->id, uv_strerror(status));
		return;
	}
	for (int round = 0; round < UDP_ROUNDS; round++)
		if (udp_round(w->io[0], s, MSG_DONTWAIT) < UDP_BATCH)
			break;
}

/* Threads mode: block in recvmmsg() like a plain reflector would, one
 * syscall fewer per batch than going through epoll. SO_RCVTIMEO (and
 * shutdown() at stop) bound the wait for the stop flag. */
static void *udp_thread_main(void *arg)
{
	udp_io_t *io = arg;
	worker_t *w = io->w;
	rcu_register_thread();
	while (!atomic_load_explicit(&w->udp_stop, memory_order_acquire))
		udp_round(io, io->sock, MSG_WAITFORONE);
	/* Answer what already sits in the socket buffer. */
	for (int round = 0; round < UDP_ROUNDS; round++)
		if (udp_round(io, io->sock, MSG_DONTWAIT) < UDP_BATCH)
			break;
	rcu_unregister_thread();
	return NULL;
}

static void on_udp_closed(uv_handle_t *h)
{
	struct udp_sock *s = h->data;
	close(s->fd);
	s->fd = -1;
}

static void on_closed_noop(uv_handle_t *h) { (void)h; }

static void on_drain_timeout(uv_timer_t *t)
{
	worker_t *w = t->data;
	/* Writes that did not flush in time are abandoned. */
	tcp_close_all(w);
}

static void on_wake(uv_async_t *a)
{
	worker_t *w = a->data;
	if (w->stopping)
		return;
	w->stopping = true;
	/* Poll mode: answer what already sits in the socket buffers, then stop
	 * listening. (Reader threads drain their own sockets.) */
	if (w->d->conf.udp_threads == false) {
		for (size_t i = 0; i < w->n_udp; i++) {
			for (int round = 0; round < UDP_ROUNDS; round++)
				if (udp_round(w->io[0], &w->udp[i], MSG_DONTWAIT) < UDP_BATCH)
					break;
			uv_close((uv_handle_t *)&w->udp[i].poll, on_udp_closed);
		}
	}
	for (size_t i = 0; i < w->n_tcp; i++)
		uv_close((uv_handle_t *)&w->tcp_listen[i], on_closed_noop);
	tcp_stop_all(w);
	/* Unreferenced: the loop ends as soon as the last connection is gone. */
	uv_timer_start(&w->drain, on_drain_timeout, 1000, 0);
	uv_unref((uv_handle_t *)&w->drain);
	uv_close((uv_handle_t *)&w->wake, on_closed_noop);
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	rcu_register_thread();
	uv_run(&w->loop, UV_RUN_DEFAULT);
	rcu_unregister_thread();
	return NULL;
}

static void close_any(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void udp_io_free(udp_io_t *io)
{
	if (io == NULL)
		return;
	acache_free(io->cache);
	free(io->rbuf);
	free(io->sbuf);
	free(io);
}

static int udp_io_new(worker_t *w, udp_io_t **out)
{
	const dconf_t *c = &w->d->conf;
	udp_io_t *io = calloc(1, sizeof(*io));
	if (io == NULL)
		return ANYNS_ENOMEM;
	io->w = w;
	io->rbuf = malloc(sizeof(*io->rbuf) * UDP_BATCH);
	io->sbuf = malloc((size_t)UDP_BATCH * c->max_udp_payload);
	if (io->rbuf == NULL || io->sbuf == NULL ||
	    (c->answer_cache > 0 && acache_new(c->answer_cache, &io->cache) != 0)) {
		udp_io_free(io);
		return ANYNS_ENOMEM;
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		struct msghdr *m = &io->rmsg[i].msg_hdr;
		io->riov[i].iov_base = io->rbuf[i];
		io->riov[i].iov_len = UDP_QUERY_MAX;
		m->msg_name = &io->raddr[i];
		m->msg_iov = &io->riov[i];
		m->msg_iovlen = 1;
		m->msg_control = io->rctl[i];
	}
	io->rdirty = UDP_BATCH;
	io->rctl_len = -1;
	*out = io;
	return 0;
}

/* Threads mode: the reader blocks in recvmmsg(), waking at least every 100 ms. */
static int udp_make_blocking(int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static void worker_release(worker_t *w)
{
	for (size_t i = 0; i < w->n_udp; i++)
		if (w->udp[i].fd >= 0)
			close(w->udp[i].fd);
	for (size_t i = 0; i < w->n_io; i++)
		udp_io_free(w->io[i]);
	free(w->tcpbuf);
	free(w);
}

int worker_new(daemon_t *d, unsigned id, worker_t **out)
{
	worker_t *w = calloc(1, sizeof(*w));
	int rc = ANYNS_ENOMEM;
	bool threads = d->conf.udp_threads;
	if (w == NULL)
		return ANYNS_ENOMEM;
	w->id = id;
	w->d = d;
	atomic_init(&w->udp_stop, false);
	for (size_t i = 0; i < DCONF_MAX_LISTEN; i++)
		w->udp[i].fd = -1;
	w->tcpbuf = malloc(2 + 65535);
	if (w->tcpbuf == NULL) {
		free(w);
		return ANYNS_ENOMEM;
	}
	if (uv_loop_init(&w->loop) != 0) {
		free(w->tcpbuf);
		free(w);
		return ANYNS_ENOMEM;
	}
	w->loop.data = w;
	uv_async_init(&w->loop, &w->wake, on_wake);
	w->wake.data = w;
	uv_timer_init(&w->loop, &w->drain);
	w->drain.data = w;

	for (size_t i = 0; i < d->conf.n_listen; i++) {
		const dconf_listen_t *l = &d->conf.listen[i];
		struct udp_sock *s = &w->udp[w->n_udp];
		if (i == 0 || threads) {
			rc = udp_io_new(w, &w->io[w->n_io]);
			if (rc != 0)
				goto fail_loop;
			w->n_io++;
		}
		rc = net_socket_bind(l, SOCK_DGRAM, &s->fd);
		if (rc != 0) {
			log_err("listen %s (UDP): %s", l->text, strerror(-rc));
			goto fail_loop;
		}
		s->family = l->ss.ss_family;
		s->pktinfo = l->wildcard;
		w->n_udp++;
		if (threads) {
			w->io[w->n_io - 1]->sock = s;
			rc = udp_make_blocking(s->fd);
			if (rc != 0) {
				log_err("listen %s (UDP): %s", l->text, strerror(-rc));
				goto fail_loop;
			}
		} else {
			uv_poll_init(&w->loop, &s->poll, s->fd);
			s->poll.data = s;
			uv_poll_start(&s->poll, UV_READABLE, udp_on_readable);
		}

		rc = tcp_listen_start(w, l, &w->tcp_listen[w->n_tcp]);
		if (rc != 0) {
			log_err("listen %s (TCP): %s", l->text, strerror(-rc));
			goto fail_loop;
		}
		w->n_tcp++;
	}
	*out = w;
	return 0;

fail_loop:
	uv_walk(&w->loop, close_any, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	worker_release(w);
	return rc < 0 ? rc : ANYNS_EINVAL;
}

int worker_start(worker_t *w)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0)
		return -rc;
	w->started = true;
	if (w->d->conf.udp_threads) {
		for (size_t i = 0; i < w->n_io; i++) {
			rc = pthread_create(&w->io[i]->thread, NULL, udp_thread_main, w->io[i]);
			if (rc != 0)
				return -rc;
			w->io[i]->started = true;
		}
	}
	return 0;
}

void worker_stop(worker_t *w)
{
	atomic_store_explicit(&w->udp_stop, true, memory_order_release);
	/* Wakes a reader blocked in recvmmsg() at once (Linux sets RCV_SHUTDOWN
	 * even on an unconnected UDP socket); SO_RCVTIMEO is the fallback. */
	if (w->d->conf.udp_threads)
		for (size_t i = 0; i < w->n_udp; i++)
			(void)shutdown(w->udp[i].fd, SHUT_RD);
	uv_async_send(&w->wake);
}

void worker_join(worker_t *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	for (size_t i = 0; i < w->n_io; i++) {
		if (w->io[i]->started)
			pthread_join(w->io[i]->thread, NULL);
		w->io[i]->started = false;
	}
}

void worker_free(worker_t *w)
{
	if (w == NULL)
		return;
	/* Close what is left (the drain timer, or everything if never started). */
	uv_walk(&w->loop, close_any, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	int rc = uv_loop_close(&w->loop);
	if (rc != 0)
		log_warn("worker %u: loop not empty at exit: %s", w->id, uv_strerror(rc));
	worker_release(w);
}
