/* anyns-health state machine; see hsm.h. */
#include "hsm.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const g_names[HSM_NSTATES] = {
	"INIT", "RISING", "UP", "DEGRADED", "FALLING", "DOWN", "DRAINING", "DRAINED",
};
static const char *const g_lnames[HSM_NSTATES] = {
	"init", "rising", "up", "degraded", "falling", "down", "draining", "drained",
};

const char *hsm_state_name(enum hsm_state s)
{
	return s < HSM_NSTATES ? g_names[s] : "?";
}

const char *hsm_state_lname(enum hsm_state s)
{
	return s < HSM_NSTATES ? g_lnames[s] : "?";
}

void hsm_conf_default(hsm_conf_t *c)
{
	memset(c, 0, sizeof(*c));
	c->rise = 3;
	c->fall = 2;
	c->restart_rise = 1;
	c->drain_ms = 10000;
	/* The figures of RFC 2439 section 4.2 / common router defaults, scaled so
	 * that three flaps in quick succession suppress. */
	c->flap.penalty = 1000;
	c->flap.half_life_ms = 60000;
	c->flap.suppress = 3000;
	c->flap.reuse = 750;
	c->flap.max = 12000;
}

void hsm_init(hsm_t *m, const hsm_conf_t *c)
{
	memset(m, 0, sizeof(*m));
	m->conf = *c;
	if (m->conf.rise == 0)
		m->conf.rise = 1;
	if (m->conf.fall == 0)
		m->conf.fall = 1;
	if (m->conf.restart_rise == 0 || m->conf.restart_rise > m->conf.rise)
		m->conf.restart_rise = m->conf.rise;
	m->state = HSM_INIT;
	m->before_falling = HSM_UP;
	snprintf(m->reason, sizeof(m->reason), "start");
}

double hsm_penalty(const hsm_t *m, uint64_t now_ms)
{
	if (m->penalty <= 0 || m->conf.flap.half_life_ms == 0)
		return m->conf.flap.half_life_ms == 0 ? 0 : m->penalty;
	double dt = now_ms > m->penalty_ms ? (double)(now_ms - m->penalty_ms) : 0;
	/* RFC 2439 4.2: exponential decay, halved every half-life. */
	return m->penalty * exp2(-dt / (double)m->conf.flap.half_life_ms);
}

static void penalty_update(hsm_t *m, uint64_t now_ms)
{
	m->penalty = hsm_penalty(m, now_ms);
	m->penalty_ms = now_ms;
	if (m->suppressed && m->penalty < m->conf.flap.reuse)
		m->suppressed = false;
}

__attribute__((format(printf, 3, 4)))
static void set_state(hsm_t *m, enum hsm_state s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	m->state = s;
	m->good = m->bad = m->slow = 0;
	m->transitions++;
}

static void add_penalty(hsm_t *m)
{
	if (m->conf.flap.half_life_ms) {
		m->penalty += m->conf.flap.penalty;
		if (m->penalty > m->conf.flap.max)
			m->penalty = m->conf.flap.max;
		if (m->penalty > m->conf.flap.suppress)
			m->suppressed = true;
	}
}

/* Announced -> DOWN: the only transition that counts as a flap. */
static void go_down(hsm_t *m, const char *why, uint64_t now_ms)
{
	add_penalty(m);
	set_state(m, HSM_DOWN, "%u bad rounds: %s%s", m->conf.fall, why,
	          m->suppressed ? " (flap penalty: suppressed)" : "");
}

void hsm_add_flap(hsm_t *m, uint64_t now_ms)
{
	penalty_update(m, now_ms);
	add_penalty(m);
}

void hsm_restore(hsm_t *m, double penalty, bool suppressed, bool drained, bool announced,
                 uint64_t now_ms)
{
	m->penalty = penalty > m->conf.flap.max ? m->conf.flap.max : penalty;
	m->penalty_ms = now_ms;
	m->suppressed = suppressed;
	penalty_update(m, now_ms);
	if (drained) {
		set_state(m, HSM_DRAINED, "drained before the restart");
		return;
	}
	if (announced && !m->suppressed) {
		m->resume = true;
		snprintf(m->reason, sizeof(m->reason), "restart of an announcing hook");
	}
}

static bool rise_step(hsm_t *m, enum hsm_result r, const char *why)
{
	unsigned rise = m->resume ? m->conf.restart_rise : m->conf.rise;
	m->good++;
	if (m->good < rise) {
		if (m->state != HSM_RISING) {
			set_state(m, HSM_RISING, "good round 1/%u", rise);
			m->good = 1;
			return true;
		}
		return false;
	}
	m->resume = false;
	if (r == HSM_SLOW)
		set_state(m, HSM_DEGRADED, "%u good rounds, last slow: %s", rise, why);
	else
		set_state(m, HSM_UP, "%u good rounds", rise);
	return true;
}

bool hsm_input(hsm_t *m, enum hsm_result r, const char *why, uint64_t now_ms)
{
	if (!why)
		why = "";
	if (m->state == HSM_DRAINED)
		return false;
	if (m->state == HSM_DRAINING) {
		/* Checks go on while draining: a server that fails now is
		 * withdrawn at once instead of at the end of drain-time. */
		if (r != HSM_BAD)
			return false;
		set_state(m, HSM_DRAINED, "bad round while draining: %s", why);
		return true;
	}
	penalty_update(m, now_ms);

	switch (m->state) {
	case HSM_INIT:
	case HSM_DOWN:
		if (r == HSM_BAD) {
			if (m->state == HSM_INIT && m->resume) {
				/* The previous instance's route goes now: a flap. */
				m->resume = false;
				add_penalty(m);
				set_state(m, HSM_DOWN, "first round after the restart bad: %s", why);
				return true;
			}
			if (m->state == HSM_INIT) {
				set_state(m, HSM_DOWN, "first round bad: %s", why);
				return true;
			}
			m->good = 0;
			return false;
		}
		if (m->suppressed) {
			m->good = 0;
			snprintf(m->reason, sizeof(m->reason),
			         "held down: flap penalty %.0f until below %.0f", m->penalty,
			         m->conf.flap.reuse);
			return false;
		}
		return rise_step(m, r, why);
	case HSM_RISING:
		if (r == HSM_BAD) {
			if (m->resume)
				add_penalty(m);
			m->resume = false;
			set_state(m, HSM_DOWN, "bad round while rising: %s", why);
			return true;
		}
		return rise_step(m, r, why);
	case HSM_UP:
		if (r == HSM_GOOD) {
			m->slow = 0;
			return false;
		}
		if (r == HSM_SLOW) {
			if (++m->slow >= m->conf.fall) {
				set_state(m, HSM_DEGRADED, "%u slow rounds: %s", m->conf.fall, why);
				return true;
			}
			return false;
		}
		/* fall through: bad */
		m->before_falling = HSM_UP;
		goto bad;
	case HSM_DEGRADED:
		if (r == HSM_GOOD) {
			if (++m->good >= m->conf.rise) {
				set_state(m, HSM_UP, "%u good rounds", m->conf.rise);
				return true;
			}
			return false;
		}
		if (r == HSM_SLOW) {
			m->good = 0;
			return false;
		}
		m->before_falling = HSM_DEGRADED;
		goto bad;
	case HSM_FALLING:
		if (r != HSM_BAD) {
			set_state(m, m->before_falling, "good round while falling");
			return true;
		}
		if (++m->bad >= m->conf.fall) {
			go_down(m, why, now_ms);
			return true;
		}
		return false;
	default:
		return false;
	}
bad:
	if (m->conf.fall <= 1) {
		go_down(m, why, now_ms);
		return true;
	}
	set_state(m, HSM_FALLING, "bad round 1/%u: %s", m->conf.fall, why);
	m->bad = 1;
	return true;
}

bool hsm_drain(hsm_t *m, uint64_t now_ms)
{
	if (m->state != HSM_DRAINING && m->state != HSM_DRAINED)
		m->resume = false;
	switch (m->state) {
	case HSM_DRAINING:
	case HSM_DRAINED:
		return false;
	case HSM_UP:
	case HSM_DEGRADED:
	case HSM_FALLING:
		/* RFC 8326: keep the route with GRACEFUL_SHUTDOWN so that traffic
		 * moves away before the withdraw. */
		set_state(m, HSM_DRAINING, "operator drain (withdraw in %llu ms)",
		          (unsigned long long)m->conf.drain_ms);
		m->drain_until_ms = now_ms + m->conf.drain_ms;
		return true;
	default:
		set_state(m, HSM_DRAINED, "operator drain (was not announced)");
		return true;
	}
}

bool hsm_tick(hsm_t *m, uint64_t now_ms)
{
	if (m->state != HSM_DRAINING || now_ms < m->drain_until_ms)
		return false;
	set_state(m, HSM_DRAINED, "drain time over");
	return true;
}

bool hsm_undrain(hsm_t *m, uint64_t now_ms)
{
	if (m->state != HSM_DRAINING && m->state != HSM_DRAINED)
		return false;
	penalty_update(m, now_ms);
	set_state(m, HSM_DOWN, "operator undrain");
	return true;
}

enum hsm_route hsm_route(const hsm_t *m)
{
	switch (m->state) {
	case HSM_UP:
		return HSM_ANNOUNCE;
	case HSM_DEGRADED:
		return HSM_ANNOUNCE_DEGRADED;
	case HSM_FALLING:
		return m->before_falling == HSM_DEGRADED ? HSM_ANNOUNCE_DEGRADED : HSM_ANNOUNCE;
	case HSM_DRAINING:
		return HSM_ANNOUNCE_DRAIN;
	default:
		return HSM_WITHDRAWN;
	}
}

bool hsm_fast(const hsm_t *m)
{
	return m->state == HSM_INIT || m->state == HSM_RISING || m->state == HSM_FALLING;
}
