/* A worker: one thread, one libuv loop, its own SO_REUSEPORT UDP socket per
 * listen address driven by the configured UDP back end (udp.c), its TCP
 * listeners and its answer cache (shared by UDP and TCP when both are read
 * on the loop). Everything a query touches is preallocated
 * here. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"
#include "sockets.h"

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
	if (w->d->udp->close != NULL)
		w->d->udp->close(w);
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

static void worker_release(worker_t *w)
{
	for (size_t i = 0; i < w->n_udp; i++)
		if (w->udp[i].fd >= 0)
			close(w->udp[i].fd);
	for (size_t i = 0; i < w->n_io; i++)
		udp_io_free(w->io[i]);
	if (w->tcp_cache_own)
		acache_free(w->tcp_cache);
	free(w->tcpbuf);
	free(w);
}

int worker_new(daemon_t *d, unsigned id, worker_t **out)
{
	worker_t *w = calloc(1, sizeof(*w));
	int rc = ANYNS_ENOMEM;
	const udp_api_t *api = d->udp;
	if (w == NULL)
		return ANYNS_ENOMEM;
	w->id = id;
	w->d = d;
	atomic_init(&w->udp_stop, false);
	for (size_t i = 0; i < DCONF_MAX_LISTEN; i++)
		w->udp[i].fd = -1;
	w->tcpbuf = malloc(TCP_OUT_CAP);
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
		if (i == 0 || api->io_per_socket) {
			rc = udp_io_new(w, &w->io[w->n_io]);
			if (rc != 0)
				goto fail_loop;
			w->n_io++;
		}
		rc = socket_bind(l, SOCK_DGRAM, &s->fd);
		if (rc != 0) {
			log_err("listen: failed address=%s proto=udp error=%s", log_q(l->text),
			        log_q(strerror(-rc)));
			goto fail_loop;
		}
		s->family = l->ss.ss_family;
		s->pktinfo = l->wildcard;
		s->local = &l->ss;
		s->io = w->io[w->n_io - 1];
		w->n_udp++;
		rc = api->init(w, s);
		if (rc != 0) {
			log_err("listen: failed address=%s proto=udp io=%s error=%s", log_q(l->text),
			        api->name, log_q(strerror(-rc)));
			goto fail_loop;
		}

		rc = tcp_listen_start(w, l, &w->tcp_listen[w->n_tcp]);
		if (rc != 0) {
			log_err("listen: failed address=%s proto=tcp error=%s", log_q(l->text),
			        log_q(strerror(-rc)));
			goto fail_loop;
		}
		w->n_tcp++;
	}
	/* A reader thread owns its socket's cache (io_per_socket): TCP, on the
	 * loop, gets one of its own. */
	if (api->io_per_socket && d->conf.answer_cache > 0) {
		rc = acache_new(d->conf.answer_cache, &w->tcp_cache);
		if (rc != 0)
			goto fail_loop;
		w->tcp_cache_own = true;
	} else if (w->n_io > 0) {
		w->tcp_cache = w->io[0]->cache;
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
	return w->d->udp->start != NULL ? w->d->udp->start(w) : 0;
}

void worker_stop(worker_t *w)
{
	atomic_store_explicit(&w->udp_stop, true, memory_order_release);
	if (w->d->udp->stop != NULL)
		w->d->udp->stop(w);
	uv_async_send(&w->wake);
}

void worker_join(worker_t *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	if (w->d->udp->join != NULL)
		w->d->udp->join(w);
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
		log_warn("worker: loop-not-empty worker=%u error=%s", w->id, log_q(uv_strerror(rc)));
	worker_release(w);
}
