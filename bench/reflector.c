/* anyns-reflector: the do-nothing UDP "DNS server" used as the benchmark floor.
 *
 * It receives datagrams in batches with recvmmsg(2), sets QR in each one and
 * sends it back unchanged with sendmmsg(2). Whatever CPU it spends per query is
 * the cost of the kernel's socket path alone; a real server's "cost above
 * floor" is its CPU per query minus this one's.
 *
 *   anyns-reflector [--listen ADDR:PORT]... [--workers N] [--batch N]
 *
 * Each worker thread owns one SO_REUSEPORT socket per listen address, like
 * anynsd's workers, so that the comparison is like for like. */
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
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"

#define REFL_MAX_LISTEN 8
#define REFL_MAX_BATCH  256
#define REFL_BUF        4096  /* bytes per datagram slot; longer ones are cut */
#define DNS_HDR_LEN     12

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

static int refl_socket(const refl_addr_t *a, int rcvbuf)
{
	int one = 1;
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* One socket per worker, the kernel spreads flows over them by hash. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	/* A receive timeout lets blocked workers notice the stop flag. */
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;
	/* 0 keeps the kernel default, as Knot and anynsd do; NSD asks for 1 MiB. */
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	return fd;
fail:;
	int err = -errno;
	close(fd);
	return err;
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
	        "  --help              this text\n"
	        "Answers every UDP query with itself, QR set. SIGTERM/SIGINT stop it.\n",
	        REFL_MAX_BATCH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "workers", required_argument, NULL, 'w' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	refl_addr_t addrs[REFL_MAX_LISTEN];
	size_t naddr = 0;
	long workers = 1, batch = 64, rcvbuf = 0;
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

	size_t nw = (size_t)workers * naddr, started = 0;
	refl_worker_t *ws = calloc(nw, sizeof(*ws));
	if (ws == NULL) {
		log_err("out of memory");
		return 1;
	}
	for (size_t i = 0; i < nw; i++)
		ws[i].fd = -1;
	for (size_t i = 0; i < nw; i++) {
		ws[i].batch = (unsigned)batch;
		ws[i].fd = refl_socket(&addrs[i % naddr], (int)rcvbuf);
		if (ws[i].fd < 0) {
			log_err("socket for listen address %zu: %s", i % naddr, strerror(-ws[i].fd));
			goto out;
		}
	}
	for (size_t i = 0; i < nw; i++) {
		int err = pthread_create(&ws[i].tid, NULL, refl_worker_run, &ws[i]);
		if (err != 0) {
			log_err("pthread_create: %s", strerror(err));
			atomic_store(&refl_stop, true);
			goto join;
		}
		started++;
	}
	log_info("reflecting on %zu address(es) with %ld worker(s), batch %ld",
	         naddr, workers, batch);
	rc = 0;
join:;
	unsigned long long total = 0;
	for (size_t i = 0; i < started; i++) {
		pthread_join(ws[i].tid, NULL);
		total += ws[i].answered;
	}
	log_info("stopped after %llu answers", total);
out:
	for (size_t i = 0; i < nw; i++)
		if (ws[i].fd >= 0)
			close(ws[i].fd);
	free(ws);
	return rc;
}
