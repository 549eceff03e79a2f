/* anynsd side of the XDP fast path (the loader itself lives in server/xdp):
 * attaches it at start-up, refreshes its map when a new zone set is published,
 * and feeds it answers that missed it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include "anyns_xdp.h"
#include "daemon.h"
#include "log.h"

/* anyns_xdp_put() is a map-update syscall: at most this many per worker per second. */
#define XDP_PUTS_PER_SEC 2000

void xdp_maybe_put(udp_io_t *io, uint64_t gen, const acache_key_t *key, const uint8_t *resp,
                   size_t len, const uint8_t *wild, size_t wild_len)
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
	if (anyns_xdp_put_wild(io->w->d->xdp, gen, key, resp, len, wild, wild_len) == 0)
		STAT_INC(io->stats.xdp_puts);
}

/* The new generation makes older map entries stale; then the hot names of
 * the new set are answered ahead of traffic. */
static void xdp_published(daemon_t *d)
{
	if (d->xdp == NULL || d->zset == NULL)
		return;
	int rc = anyns_xdp_set_generation(d->xdp, d->generation);
	if (rc == 0)
		rc = anyns_xdp_prefill(d->xdp, d->zset, &d->aconf);
	if (rc != 0)
		log_warn("xdp: refresh-failed error=%s", log_q(anyns_strerror(rc)));
}

static int xdp_start(daemon_t *d)
{
	struct sockaddr_storage addrs[DCONF_MAX_LISTEN];
	size_t n = 0;
	bool any = false;
	if (d->conf.n_xdp_ifaces == 0)
		return 0;
	for (size_t i = 0; i < d->conf.n_listen; i++) {
		if (d->conf.listen[i].wildcard)
			any = true;
		addrs[n++] = d->conf.listen[i].ss;
	}
	uint16_t port = d->conf.xdp_port;
	if (port == 0 && d->conf.n_listen > 0) {
		const struct sockaddr_storage *ss = &d->conf.listen[0].ss;
		port = ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
		                                      : ((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	anyns_xdp_conf_t xc = {
		.ifaces = (const char *const *)d->conf.xdp_ifaces,
		.n_ifaces = d->conf.n_xdp_ifaces,
		.port = port,
		.map_entries = d->conf.xdp_map_entries,
		.prefill_max = d->conf.xdp_map_entries / 2,
		.addrs = any ? NULL : addrs,
		.n_addrs = any ? 0 : n,
		.force_generic = d->conf.xdp_mode == DCONF_XDP_GENERIC,
		.rrl = &d->conf.rrl,
	};
	int rc = anyns_xdp_open(&xc, &d->xdp);
	if (rc != 0) {
		log_warn("xdp: off error=%s fallback=sockets", log_q(anyns_strerror(rc)));
		d->xdp = NULL;
		return rc;
	}
	return zones_subscribe(d, xdp_published);
}

static void xdp_stop(daemon_t *d)
{
	anyns_xdp_close(d->xdp);
	d->xdp = NULL;
}

const daemon_hook_t xdp_hook = {
	.name = "xdp",
	.start = xdp_start,
	.stop = xdp_stop,
};
