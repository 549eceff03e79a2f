/* exec health checks: run a command (no shell unless the configuration asks
 * for one) with the check's timeout; exit status 0 is a good result, anything
 * else (or the timeout) a bad one, a good result slower than the check's
 * latency budget a slow one. For dependencies DNS cannot see (a zone transfer
 * daemon, a disk, a peer link). The command's stdout goes to /dev/null (under
 * ExaBGP the hook's stdout is the API pipe); stderr to the hook's log. */
#ifndef ANYNS_XCHECK_H
#define ANYNS_XCHECK_H

#include <uv.h>

#include "hconf.h"
#include "probe.h"

/* Runs c->argv on loop; calls cb exactly once (also after xcheck_cancel_all(),
 * with a BAD result "cancelled"). Returns 0 or a negative ANYNS_E* code. */
int xcheck_start(uv_loop_t *loop, const hcheck_conf_t *c, probe_cb cb, void *ctx);
/* Kills every command still running and reports it cancelled. */
void xcheck_cancel_all(void);

#endif
