/* Fallbacks for the XDP loader's functions, built into anynsd only when
 * server/xdp/xdp_loader.c is absent (see Makefile.inc): XDP is then reported
 * as unavailable and the daemon serves from sockets only. */
#include "anyns_xdp.h"
#include "log.h"

int anyns_xdp_open(const anyns_xdp_conf_t *conf, anyns_xdp_t **out)
{
	(void)conf;
	*out = NULL;
	log_warn("xdp: support not built into this anynsd; serving from sockets only");
	return ANYNS_ENOENT;
}
void anyns_xdp_close(anyns_xdp_t *x) { (void)x; }
int anyns_xdp_put(anyns_xdp_t *x, const answer_key_t *key, const uint8_t *resp, size_t len)
{
	return ANYNS_ENOENT;
}
int anyns_xdp_put_gen(anyns_xdp_t *x, uint64_t gen, const answer_key_t *key,
                      const uint8_t *resp, size_t len)
{
	return ANYNS_ENOENT;
}
int anyns_xdp_set_generation(anyns_xdp_t *x, uint64_t gen) { return ANYNS_ENOENT; }
int anyns_xdp_prefill(anyns_xdp_t *x, const zset_t *zs, const answer_conf_t *conf)
{
	return ANYNS_ENOENT;
}
int anyns_xdp_stats(anyns_xdp_t *x, anyns_xdp_stats_t *out) { return ANYNS_ENOENT; }

