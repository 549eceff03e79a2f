/* UDP back end "poll" (the default): each socket is watched by the worker's
 * own libuv loop (uv_poll_t) and drained with non-blocking recvmmsg(); the
 * worker's sockets share one udp_io_t, since only the loop's thread reads. */
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct udp_sock *s = h->data;
	if (status < 0) {
		log_warn("udp: poll-failed worker=%u error=%s", s->io->w->id, log_q(uv_strerror(status)));
		return;
	}
	udp_drain(s);
}

static int poll_init(worker_t *w, struct udp_sock *s)
{
	int rc = uv_poll_init(&w->loop, &s->poll, s->fd);
	if (rc != 0)
		return rc;
	s->poll.data = s;
	return uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

static int poll_recv(struct udp_sock *s)
{
	return udp_recv_mmsg(s, MSG_DONTWAIT);
}

static void on_closed(uv_handle_t *h)
{
	struct udp_sock *s = h->data;
	close(s->fd);
	s->fd = -1;
}

/* At stop: answer what already sits in the socket buffers, then stop listening. */
static void poll_close(worker_t *w)
{
	for (size_t i = 0; i < w->n_udp; i++) {
		udp_drain(&w->udp[i]);
		uv_close((uv_handle_t *)&w->udp[i].poll, on_closed);
	}
}

const udp_api_t udp_api_poll = {
	.name = "poll",
	.io_per_socket = false,
	.init = poll_init,
	.recv = poll_recv,
	.send = udp_send_mmsg,
	.close = poll_close,
};
