/* anyns-health backends: one small module per BGP speaker behind one
 * interface. Calls are synchronous and short (a local socket, a pipe or a
 * short-lived command); the daemon calls them only when the wanted route
 * changes, never every interval.
 *
 * The command formatting of each backend is exposed (hbk_*_format/argv) so
 * the unit tests can check it without the speaker. */
#ifndef ANYNS_BACKEND_H
#define ANYNS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hconf.h"
#include "hsm.h"

#define HBK_GSHUT_COMMUNITY 0xffff0000u   /* 65535:0, RFC 8326 GRACEFUL_SHUTDOWN */

/* One route as the backend should make it. */
typedef struct hroute {
	size_t idx;                 /* service index in the config */
	const char *service;
	const char *prefix;
	int family;                 /* 4 or 6 */
	enum hsm_route kind;        /* HSM_WITHDRAWN or one of the announce kinds */
	const char *state;          /* "up", "draining", ... */
	const char *reason;
	hattrs_t attrs;             /* communities, MED, prepend, all merged */
} hroute_t;

/* Fills r for service s in machine state; merges the base, degraded and
 * drain attributes according to the route kind. */
void hroute_make(hroute_t *r, const hservice_conf_t *s, size_t idx, enum hsm_route kind,
                 const char *state, const char *reason);

typedef struct hbk hbk_t;
typedef struct hbk_ops {
	const char *name;
	/* Called once at start: make sure nothing of ours is announced. */
	int (*open)(hbk_t *b);
	int (*announce)(hbk_t *b, const hroute_t *r);
	int (*withdraw)(hbk_t *b, const hroute_t *r);
	/* *out: what the speaker reports. ANYNS_ENOENT when it cannot tell. */
	int (*exported)(hbk_t *b, const hroute_t *r, bool *out);
	/* fd the daemon must watch (ExaBGP's stdin) or -1; on_readable() returns
	 * < 0 when the speaker went away (the daemon then stops). */
	int (*fd)(hbk_t *b);
	int (*on_readable)(hbk_t *b);
	void (*close)(hbk_t *b);
} hbk_ops_t;

struct hbk {
	const hbk_ops_t *ops;
	const hconf_t *conf;
	/* Per service, set before open(): a route the previous instance left
	 * announced that open() keeps (ExaBGP only: the new instance announces
	 * or withdraws it after its first round). NULL = withdraw all. */
	const bool *keep;
	void *priv;
};

/* Creates the backend chosen in conf (not opened yet). */
int hbk_new(const hconf_t *conf, hbk_t **out);
void hbk_free(hbk_t *b);        /* closes; accepts NULL */

/* ---- command formatting (pure; unit tested) ----------------------------- */

/* "announce route P next-hop NH [med N] [as-path [A A]] [community [x:y ...]]"
 * or "withdraw route P". Returns 0 or ANYNS_ESPACE. */
int hbk_exabgp_format(char *buf, size_t cap, const hroute_t *r, const char *next_hop,
                      uint32_t asn);
/* The include file for BIRD: one static protocol per service with its route
 * when announced. routes[i] is service i. Returns 0 or ANYNS_ESPACE. */
int hbk_bird_format(char *buf, size_t cap, const hroute_t *routes, size_t n,
                    const char *proto_prefix, const char *guard_if, uint32_t asn);

/* An argv built into fixed storage. */
typedef struct hargv {
	char *v[48];
	size_t n;
	char buf[2048];
	size_t used;
} hargv_t;
int hargv_add(hargv_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int hbk_gobgp_argv(hargv_t *a, const hbk_conf_t *k, const hroute_t *r, bool announce);
int hbk_frr_argv(hargv_t *a, const hbk_conf_t *k, const hroute_t *r, bool announce);
/* Environment entries ANYNS_*=... for the exec backend (action: "announce",
 * "withdraw", "exported"). */
int hbk_exec_env(hargv_t *a, const hbk_conf_t *k, const hroute_t *r, const char *action);

/* Runs argv (extra environment env, may be NULL) with a timeout, optionally
 * capturing stdout into out (NUL-terminated, truncated). Returns the exit
 * status (0..255), or a negative ANYNS_E* code when it could not run. */
int hbk_run(char *const *argv, char *const *env, uint64_t timeout_ms, char *out, size_t outcap);

/* Internal: the backends. */
extern const hbk_ops_t hbk_exabgp_ops, hbk_bird_ops, hbk_gobgp_ops, hbk_frr_ops, hbk_exec_ops;

#endif
