/* UDP back end "threads": one reader thread per worker and socket blocks in
 * recvmmsg(MSG_WAITFORONE) like a plain reflector would, one syscall fewer
 * per batch than going through epoll. Each socket has its own udp_io_t.
 * SO_RCVTIMEO (and shutdown() at stop) bound the wait for the stop flag. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <urcu.h>

#include "daemon.h"

/* The reader blocks in recvmmsg(), waking at least every 100 ms. */
static int threads_init(worker_t *w, struct udp_sock *s)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static bool stopping(const worker_t *w)
{
	return atomic_load_explicit(&w->udp_stop, memory_order_acquire);
}

/* Blocks for the first datagram; once the worker stops, only takes what is queued. */
static int threads_recv(struct udp_sock *s)
{
	return udp_recv_mmsg(s, stopping(s->io->w) ? MSG_DONTWAIT : MSG_WAITFORONE);
}

static void *reader_main(void *arg)
{
	struct udp_sock *s = arg;
	rcu_register_thread();
	while (!stopping(s->io->w))
		udp_round(s);
	/* Answer what already sits in the socket buffer. */
	udp_drain(s);
	rcu_unregister_thread();
	return NULL;
}

static int threads_start(worker_t *w)
{
	for (size_t i = 0; i < w->n_udp; i++) {
		udp_io_t *io = w->udp[i].io;
		int rc = pthread_create(&io->thread, NULL, reader_main, &w->udp[i]);
		if (rc != 0)
			return -rc;
		io->started = true;
	}
	return 0;
}

/* Wakes a reader blocked in recvmmsg() at once (Linux sets RCV_SHUTDOWN even
 * on an unconnected UDP socket); SO_RCVTIMEO is the fallback. */
static void threads_stop(worker_t *w)
{
	for (size_t i = 0; i < w->n_udp; i++)
		(void)shutdown(w->udp[i].fd, SHUT_RD);
}

static void threads_join(worker_t *w)
{
	for (size_t i = 0; i < w->n_udp; i++) {
		udp_io_t *io = w->udp[i].io;
		if (io->started)
			pthread_join(io->thread, NULL);
		io->started = false;
	}
}

const udp_api_t udp_api_threads = {
	.name = "threads",
	.io_per_socket = true,
	.init = threads_init,
	.recv = threads_recv,
	.send = udp_send_mmsg,
	.start = threads_start,
	.stop = threads_stop,
	.join = threads_join,
};
