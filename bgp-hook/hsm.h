/* anyns-health state machine: one per service prefix. Pure logic (no I/O, no
 * clock reads): the caller feeds the outcome of each round of checks and the
 * current time, and applies the route the machine wants (hsm_route()).
 * See bgp-hook/README.md "States". */
#ifndef ANYNS_HSM_H
#define ANYNS_HSM_H

#include <stdbool.h>
#include <stdint.h>

enum hsm_state {
	HSM_INIT = 0,
	HSM_RISING,
	HSM_UP,
	HSM_DEGRADED,
	HSM_FALLING,
	HSM_DOWN,
	HSM_DRAINING,
	HSM_DRAINED,
	HSM_NSTATES
};

/* Outcome of one round (every check of the service). */
enum hsm_result { HSM_GOOD = 0, HSM_SLOW, HSM_BAD };

/* What the route should look like. */
enum hsm_route { HSM_WITHDRAWN = 0, HSM_ANNOUNCE, HSM_ANNOUNCE_DEGRADED, HSM_ANNOUNCE_DRAIN };

/* RFC 2439-style damping of our own flaps. */
typedef struct hsm_flap {
	double penalty;          /* added per withdraw of an announced route */
	uint64_t half_life_ms;
	double suppress, reuse, max;
} hsm_flap_t;

typedef struct hsm_conf {
	unsigned rise, fall;
	unsigned restart_rise;   /* good rounds to resume after a restart (hsm_restore) */
	uint64_t drain_ms;
	hsm_flap_t flap;
} hsm_conf_t;

typedef struct hsm {
	hsm_conf_t conf;
	enum hsm_state state;
	enum hsm_state before_falling;   /* UP or DEGRADED: what FALLING returns to */
	unsigned good, bad, slow;        /* consecutive counters for the current state */
	double penalty;                  /* value at penalty_ms */
	uint64_t penalty_ms;
	bool suppressed;
	uint64_t drain_until_ms;
	bool resume;                     /* INIT after a restart of an announcing hook */
	uint64_t transitions;
	char reason[160];                /* why the last transition happened */
} hsm_t;

void hsm_conf_default(hsm_conf_t *c);
void hsm_init(hsm_t *m, const hsm_conf_t *c);

/* Feeds one round. `why` describes the round (first failing check) for the
 * transition log. Returns true when the state changed. */
bool hsm_input(hsm_t *m, enum hsm_result r, const char *why, uint64_t now_ms);
/* A restarted hook takes over what the previous instance saved (call before
 * the first round): the flap penalty (already decayed to now) and whether it
 * was suppressed; a drained service starts DRAINED; a service that was
 * announced needs only restart_rise good rounds (a first bad round withdraws
 * it and counts as a flap). */
void hsm_restore(hsm_t *m, double penalty, bool suppressed, bool drained, bool announced,
                 uint64_t now_ms);
/* Adds one flap's penalty (a withdraw the hook did not make itself, such as
 * the BIRD guard device going with a killed hook). */
void hsm_add_flap(hsm_t *m, uint64_t now_ms);

/* Operator drain/undrain. Return true when the state changed. */
bool hsm_drain(hsm_t *m, uint64_t now_ms);
bool hsm_undrain(hsm_t *m, uint64_t now_ms);
/* Ends DRAINING once drain-time passed. Returns true when the state changed. */
bool hsm_tick(hsm_t *m, uint64_t now_ms);

enum hsm_route hsm_route(const hsm_t *m);
/* Penalty decayed to now_ms (does not modify m). */
double hsm_penalty(const hsm_t *m, uint64_t now_ms);
/* True when the next round should come after the fast interval. */
bool hsm_fast(const hsm_t *m);
const char *hsm_state_name(enum hsm_state s);   /* "UP" */
const char *hsm_state_lname(enum hsm_state s);  /* "up" (metrics, ctl) */

#endif
