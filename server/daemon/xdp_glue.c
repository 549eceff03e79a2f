/* anynsd side of the XDP fast path; the loader itself lives in server/xdp. */
#include <time.h>

#include "anyns_xdp.h"
#include "daemon.h"
#include "log.h"

/* anyns_xdp_put() is a map-update syscall: at most this many per worker per second. */
#define XDP_PUTS_PER_SEC 2000

void xdp_maybe_put(udp_io_t *io, uint64_t gen, const answer_key_t *key, const uint8_t *resp,
                   size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (now - io->xdp_tokens_ts >= 1000) {
		io->xdp_tokens_ts = now;
		io->xdp_tokens = XDP_PUTS_PER_SEC;
	}
	if (io->xdp_tokens == 0)
		return;
	io->xdp_tokens--;
	if (anyns_xdp_put_gen(io->w->d->xdp, gen, key, resp, len) == 0)
		STAT_INC(io->stats.xdp_puts);
}
