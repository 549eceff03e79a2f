/* DNS health checks: one query to the service address over UDP or TCP with a
 * timeout (libuv), and the pure evaluation of the response against what the
 * check requires (ldns). */
#ifndef ANYNS_PROBE_H
#define ANYNS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hconf.h"
#include "hsm.h"

typedef struct probe_result {
	enum hsm_result res;        /* GOOD, SLOW (correct but degraded) or BAD */
	uint64_t latency_us;        /* 0 when no answer came */
	bool has_serial;
	uint32_t serial;
	char why[160];              /* reason when not GOOD; "ok" otherwise */
} probe_result_t;

/* Builds a query without RD (we ask an authoritative server) into buf.
 * Returns 0 and *len, or ANYNS_EINVAL / ANYNS_ESPACE. */
int probe_build_query(const char *qname, uint16_t qtype, uint16_t qclass, uint16_t id,
                      uint8_t *buf, size_t cap, size_t *len);

/* Evaluates a response. primary_serial is the primary's SOA serial when the
 * check has serial-primary and the primary answered, else NULL (then no lag
 * test: an unreachable primary must not take every PoP down). */
void probe_eval(const hcheck_conf_t *c, uint16_t qid, const uint8_t *wire, size_t len,
                uint64_t latency_us, const uint32_t *primary_serial, probe_result_t *out);

/* Normalizes RDATA text for type/class (e.g. "192.0.2.1", "\"pop1\"") into its
 * canonical presentation as ldns prints it. Returns a malloc'd string or NULL
 * when the text is not valid RDATA of that type. */
char *probe_rdata_norm(uint16_t qtype, uint16_t qclass, const char *text);

/* Runs check c (and its primary query, if any) on loop; calls cb exactly once
 * (also after probe_cancel_all(), with a BAD result "cancelled"). */
typedef void (*probe_cb)(void *ctx, const probe_result_t *r);
int probe_start(uv_loop_t *loop, const hcheck_conf_t *c, probe_cb cb, void *ctx);
/* Finishes every query in flight (used when stopping). */
void probe_cancel_all(void);

#endif
