/* anynsd side of the XDP fast path; the loader itself lives in server/xdp. */
#include "anyns_xdp.h"
#include "daemon.h"
#include "log.h"

/* anyns_xdp_put() is a map-update syscall: at most this many per worker per second. */
#define XDP_PUTS_PER_SEC 2000

void xdp_maybe_put(worker_t *w, uint64_t gen, const answer_key_t *key, const uint8_t *resp,
                   size_t len)
{
	uint64_t now = uv_now(&w->loop);
	if (now - w->xdp_tokens_ts >= 1000) {
		w->xdp_tokens_ts = now;
		w->xdp_tokens = XDP_PUTS_PER_SEC;
	}
	if (w->xdp_tokens == 0)
		return;
	w->xdp_tokens--;
	if (anyns_xdp_put_gen(w->d->xdp, gen, key, resp, len) == 0)
		STAT_INC(w->stats.xdp_puts);
}
