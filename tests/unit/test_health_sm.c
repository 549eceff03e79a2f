/* anyns-health state machine: rise/fall, INIT never announces, DEGRADED,
 * DRAINING, flap penalty and its decay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hsm.h"

static hsm_conf_t conf(unsigned rise, unsigned fall)
{
	hsm_conf_t c;
	hsm_conf_default(&c);
	c.rise = rise;
	c.fall = fall;
	c.drain_ms = 5000;
	return c;
}

static void feed(hsm_t *m, enum hsm_result r, unsigned n, uint64_t *now)
{
	for (unsigned i = 0; i < n; i++) {
		hsm_input(m, r, "test", *now);
		*now += 100;
	}
}

static void test_init_never_announces_before_rise(void **st)
{
	hsm_conf_t c = conf(3, 2);
	hsm_t m;
	uint64_t now = 1000;
	hsm_init(&m, &c);
	assert_int_equal(m.state, HSM_INIT);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	assert_true(hsm_fast(&m));
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_RISING);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_UP);
	assert_int_equal(hsm_route(&m), HSM_ANNOUNCE);
	assert_false(hsm_fast(&m));
}

static void test_init_bad_goes_down(void **st)
{
	hsm_conf_t c = conf(2, 2);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	feed(&m, HSM_BAD, 1, &now);
	assert_int_equal(m.state, HSM_DOWN);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	/* A bad round in the middle of rising starts the count again. */
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_RISING);
	feed(&m, HSM_BAD, 1, &now);
	assert_int_equal(m.state, HSM_DOWN);
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_RISING);
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_UP);
	/* Penalty only counts withdraws of an announced route. */
	assert_true(hsm_penalty(&m, now) == 0);
}

static void test_fall(void **st)
{
	hsm_conf_t c = conf(1, 3);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_UP);
	feed(&m, HSM_BAD, 1, &now);
	assert_int_equal(m.state, HSM_FALLING);
	assert_int_equal(hsm_route(&m), HSM_ANNOUNCE);   /* still announced */
	assert_true(hsm_fast(&m));
	feed(&m, HSM_GOOD, 1, &now);                      /* recovers */
	assert_int_equal(m.state, HSM_UP);
	feed(&m, HSM_BAD, 2, &now);
	assert_int_equal(m.state, HSM_FALLING);
	feed(&m, HSM_BAD, 1, &now);
	assert_int_equal(m.state, HSM_DOWN);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	assert_non_null(strstr(m.reason, "3 bad rounds"));
}

static void test_fall_one(void **st)
{
	hsm_conf_t c = conf(1, 1);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	feed(&m, HSM_GOOD, 1, &now);
	feed(&m, HSM_BAD, 1, &now);
	assert_int_equal(m.state, HSM_DOWN);
}

static void test_degraded(void **st)
{
	hsm_conf_t c = conf(2, 2);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	feed(&m, HSM_GOOD, 2, &now);
	assert_int_equal(m.state, HSM_UP);
	feed(&m, HSM_SLOW, 1, &now);
	assert_int_equal(m.state, HSM_UP);
	feed(&m, HSM_SLOW, 1, &now);
	assert_int_equal(m.state, HSM_DEGRADED);
	assert_int_equal(hsm_route(&m), HSM_ANNOUNCE_DEGRADED);
	/* Falling from DEGRADED keeps the de-preferred route, then returns to it. */
	feed(&m, HSM_BAD, 1, &now);
	assert_int_equal(m.state, HSM_FALLING);
	assert_int_equal(hsm_route(&m), HSM_ANNOUNCE_DEGRADED);
	feed(&m, HSM_SLOW, 1, &now);
	assert_int_equal(m.state, HSM_DEGRADED);
	/* rise good rounds bring it back to UP. */
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_DEGRADED);
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_UP);
	assert_int_equal(hsm_route(&m), HSM_ANNOUNCE);
}

static void test_rise_slow_gives_degraded(void **st)
{
	hsm_conf_t c = conf(2, 2);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	feed(&m, HSM_GOOD, 1, &now);
	feed(&m, HSM_SLOW, 1, &now);
	assert_int_equal(m.state, HSM_DEGRADED);
}

static void test_drain_sequence(void **st)
{
	hsm_conf_t c = conf(1, 2);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	feed(&m, HSM_GOOD, 1, &now);
	assert_true(hsm_drain(&m, now));
	assert_int_equal(m.state, HSM_DRAINING);
	/* RFC 8326: still announced, with GRACEFUL_SHUTDOWN. */
	assert_int_equal(hsm_route(&m), HSM_ANNOUNCE_DRAIN);
	assert_false(hsm_drain(&m, now));
	/* Good or slow results do not move a draining service. */
	assert_false(hsm_input(&m, HSM_GOOD, "x", now + 10));
	assert_false(hsm_input(&m, HSM_SLOW, "x", now + 20));
	assert_false(hsm_tick(&m, now + 4999));
	assert_int_equal(m.state, HSM_DRAINING);
	assert_true(hsm_tick(&m, now + 5000));
	assert_int_equal(m.state, HSM_DRAINED);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	/* Stays drained whatever the checks say. */
	feed(&m, HSM_GOOD, 5, &now);
	assert_int_equal(m.state, HSM_DRAINED);
	/* Undrain: back through rise, no flap penalty for a drain. */
	assert_true(hsm_undrain(&m, now));
	assert_int_equal(m.state, HSM_DOWN);
	assert_true(hsm_penalty(&m, now) == 0);
	feed(&m, HSM_GOOD, 1, &now);
	assert_int_equal(m.state, HSM_UP);
}

/* Checks go on while draining: one bad round withdraws at once. */
static void test_drain_server_dies(void **st)
{
	hsm_conf_t c = conf(1, 3);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	feed(&m, HSM_GOOD, 1, &now);
	assert_true(hsm_drain(&m, now));
	assert_true(hsm_input(&m, HSM_BAD, "soa: timeout", now + 10));
	assert_int_equal(m.state, HSM_DRAINED);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	assert_non_null(strstr(m.reason, "while draining"));
	assert_false(hsm_tick(&m, now + 10000));
	assert_int_equal(m.state, HSM_DRAINED);
	assert_true(hsm_penalty(&m, now) == 0);
}

/* What a restarted hook takes over. */
static void test_restore(void **st)
{
	hsm_conf_t c = conf(3, 2);
	c.restart_rise = 1;
	hsm_t m;
	uint64_t now = 1000;
	/* Announced before: one good round is enough. */
	hsm_init(&m, &c);
	hsm_restore(&m, 0, false, false, true, now);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	assert_true(hsm_input(&m, HSM_GOOD, "", now));
	assert_int_equal(m.state, HSM_UP);
	/* ... and then the full rise again after a fall. */
	feed(&m, HSM_BAD, 2, &now);
	assert_int_equal(m.state, HSM_DOWN);
	feed(&m, HSM_GOOD, 2, &now);
	assert_int_equal(m.state, HSM_RISING);
	/* Announced before, bad now: withdrawn, and that is a flap. */
	hsm_init(&m, &c);
	hsm_restore(&m, 0, false, false, true, now);
	assert_true(hsm_input(&m, HSM_BAD, "x", now));
	assert_int_equal(m.state, HSM_DOWN);
	assert_true(hsm_penalty(&m, now) == c.flap.penalty);
	/* Not announced before: the full rise. */
	hsm_init(&m, &c);
	hsm_restore(&m, 0, false, false, false, now);
	feed(&m, HSM_GOOD, 2, &now);
	assert_int_equal(m.state, HSM_RISING);
	/* Drained before: stays drained whatever the checks say. */
	hsm_init(&m, &c);
	hsm_restore(&m, 0, false, true, true, now);
	assert_int_equal(m.state, HSM_DRAINED);
	feed(&m, HSM_GOOD, 5, &now);
	assert_int_equal(m.state, HSM_DRAINED);
	/* A suppressed service stays held down, announced or not. */
	hsm_init(&m, &c);
	hsm_restore(&m, c.flap.suppress + 500, true, false, true, now);
	assert_true(m.suppressed);
	feed(&m, HSM_GOOD, 5, &now);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	/* hsm_add_flap: a withdraw the hook did not make. */
	hsm_init(&m, &c);
	hsm_add_flap(&m, now);
	assert_true(hsm_penalty(&m, now) == c.flap.penalty);
}

static void test_drain_when_down(void **st)
{
	hsm_conf_t c = conf(1, 2);
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	assert_true(hsm_drain(&m, now));
	assert_int_equal(m.state, HSM_DRAINED);   /* nothing to drain */
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	assert_true(hsm_undrain(&m, now));
	assert_int_equal(m.state, HSM_DOWN);
}

static void test_flap_penalty(void **st)
{
	hsm_conf_t c = conf(1, 1);
	c.flap.penalty = 1000;
	c.flap.half_life_ms = 10000;
	c.flap.suppress = 2500;
	c.flap.reuse = 800;
	c.flap.max = 10000;
	hsm_t m;
	uint64_t now = 0;
	hsm_init(&m, &c);
	for (int i = 0; i < 3; i++) {
		hsm_input(&m, HSM_GOOD, "ok", now);
		assert_int_equal(m.state, HSM_UP);
		hsm_input(&m, HSM_BAD, "bad", now);
		assert_int_equal(m.state, HSM_DOWN);
	}
	assert_true(m.suppressed);
	double p = hsm_penalty(&m, now);
	assert_true(p > 2999 && p < 3001);
	/* RFC 2439: halves every half-life. */
	p = hsm_penalty(&m, now + 10000);
	assert_true(p > 1499 && p < 1501);
	/* Suppressed: good rounds keep it DOWN ... */
	hsm_input(&m, HSM_GOOD, "ok", now + 10000);
	assert_int_equal(m.state, HSM_DOWN);
	assert_int_equal(hsm_route(&m), HSM_WITHDRAWN);
	assert_non_null(strstr(m.reason, "held down"));
	/* ... until the penalty decays below reuse (3000 -> 750 after 2 half-lives). */
	hsm_input(&m, HSM_GOOD, "ok", now + 20000);
	assert_false(m.suppressed);
	assert_int_equal(m.state, HSM_UP);
}

static void test_flap_max(void **st)
{
	hsm_conf_t c = conf(1, 1);
	c.flap.max = 2000;
	c.flap.suppress = 1500;
	hsm_t m;
	hsm_init(&m, &c);
	for (int i = 0; i < 5; i++) {
		m.suppressed = false;   /* force the flaps through */
		hsm_input(&m, HSM_GOOD, "ok", 0);
		hsm_input(&m, HSM_BAD, "bad", 0);
	}
	assert_true(hsm_penalty(&m, 0) <= 2000.0);
}

static void test_names(void **st)
{
	assert_string_equal(hsm_state_name(HSM_DEGRADED), "DEGRADED");
	assert_string_equal(hsm_state_lname(HSM_DRAINING), "draining");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_never_announces_before_rise),
		cmocka_unit_test(test_init_bad_goes_down),
		cmocka_unit_test(test_fall),
		cmocka_unit_test(test_fall_one),
		cmocka_unit_test(test_degraded),
		cmocka_unit_test(test_rise_slow_gives_degraded),
		cmocka_unit_test(test_drain_sequence),
		cmocka_unit_test(test_drain_when_down),
		cmocka_unit_test(test_drain_server_dies),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_flap_penalty),
		cmocka_unit_test(test_flap_max),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
