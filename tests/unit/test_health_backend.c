/* anyns-health backends: the exact commands each backend would send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "anyns.h"
#include "backend.h"

static hservice_conf_t svc4(void)
{
	hservice_conf_t s;
	memset(&s, 0, sizeof(s));
	s.name = "dns-4";
	s.prefix = "192.0.2.53/32";
	s.family = 4;
	s.base.comm[0] = 65000u << 16 | 53;
	s.base.ncomm = 1;
	s.degraded.prepend = 2;
	s.degraded.has_med = true;
	s.degraded.med = 100;
	s.degraded.comm[0] = 65000u << 16 | 666;
	s.degraded.ncomm = 1;
	return s;
}

static void test_hroute_make(void **st)
{
	hservice_conf_t s = svc4();
	hroute_t r;
	hroute_make(&r, &s, 0, HSM_ANNOUNCE, "up", "ok");
	assert_int_equal(r.attrs.ncomm, 1);
	assert_false(r.attrs.has_med);
	assert_int_equal(r.attrs.prepend, 0);
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DEGRADED, "degraded", "slow");
	assert_int_equal(r.attrs.ncomm, 2);
	assert_true(r.attrs.has_med);
	assert_int_equal(r.attrs.prepend, 2);
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DRAIN, "draining", "drain");
	assert_int_equal(r.attrs.ncomm, 2);
	assert_int_equal(r.attrs.comm[1], HBK_GSHUT_COMMUNITY);
	assert_int_equal(r.attrs.prepend, 0);
}

static void test_exabgp(void **st)
{
	hservice_conf_t s = svc4();
	hroute_t r;
	char buf[512];
	hroute_make(&r, &s, 0, HSM_ANNOUNCE, "up", "");
	assert_int_equal(hbk_exabgp_format(buf, sizeof(buf), &r, "self", 65001), 0);
	assert_string_equal(buf, "announce route 192.0.2.53/32 next-hop self community [65000:53]");
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DEGRADED, "degraded", "");
	assert_int_equal(hbk_exabgp_format(buf, sizeof(buf), &r, "192.0.2.10", 65001), 0);
	assert_string_equal(buf, "announce route 192.0.2.53/32 next-hop 192.0.2.10 med 100 "
	                         "as-path [65001 65001] community [65000:53 65000:666]");
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DRAIN, "draining", "");
	assert_int_equal(hbk_exabgp_format(buf, sizeof(buf), &r, "self", 65001), 0);
	assert_string_equal(buf, "announce route 192.0.2.53/32 next-hop self "
	                         "community [65000:53 65535:0]");
	hroute_make(&r, &s, 0, HSM_WITHDRAWN, "down", "");
	assert_int_equal(hbk_exabgp_format(buf, sizeof(buf), &r, "self", 65001), 0);
	assert_string_equal(buf, "withdraw route 192.0.2.53/32");
	assert_int_equal(hbk_exabgp_format(buf, 10, &r, "self", 65001), ANYNS_ESPACE);
}

/* Large communities (RFC 8092) beside standard ones, and the drain fallback
 * (prepend, MED) for routers that ignore GRACEFUL_SHUTDOWN. */
static void test_large_and_drain_fallback(void **st)
{
	hservice_conf_t s = svc4();
	s.base.lcomm[0][0] = 4200000001u;
	s.base.lcomm[0][1] = 53;
	s.base.lcomm[0][2] = 1;
	s.base.nlcomm = 1;
	s.draining.prepend = 4;
	s.draining.has_med = true;
	s.draining.med = 1000;
	s.draining.lcomm[0][0] = 65001;
	s.draining.lcomm[0][1] = 0;
	s.draining.lcomm[0][2] = 0;
	s.draining.nlcomm = 1;
	hroute_t r;
	char buf[1024];
	hroute_make(&r, &s, 0, HSM_ANNOUNCE, "up", "");
	assert_int_equal(hbk_exabgp_format(buf, sizeof(buf), &r, "self", 65001), 0);
	assert_string_equal(buf, "announce route 192.0.2.53/32 next-hop self community [65000:53] "
	                         "large-community [4200000001:53:1]");
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DRAIN, "draining", "");
	assert_int_equal(hbk_exabgp_format(buf, sizeof(buf), &r, "self", 65001), 0);
	assert_string_equal(buf, "announce route 192.0.2.53/32 next-hop self med 1000 "
	                         "as-path [65001 65001 65001 65001] community [65000:53 65535:0] "
	                         "large-community [4200000001:53:1 65001:0:0]");
	assert_int_equal(hbk_bird_format(buf, sizeof(buf), &r, 1, "anyns_", "", 65001), 0);
	assert_non_null(strstr(buf, " bgp_community.add((65535,0)); bgp_large_community.add((4200000001,53,1));"
	                            " bgp_large_community.add((65001,0,0)); bgp_med = 1000;"
	                            " bgp_path.prepend(65001);"));
	hbk_conf_t k;
	memset(&k, 0, sizeof(k));
	k.gobgp = "/usr/bin/gobgp";
	k.asn = 65001;
	hargv_t a;
	assert_int_equal(hbk_gobgp_argv(&a, &k, &r, true), 0);
	assert_string_equal(a.v[a.n - 2], "large-community");
	assert_string_equal(a.v[a.n - 1], "4200000001:53:1,65001:0:0");
	assert_int_equal(hbk_exec_env(&a, &k, &r, "announce"), 0);
	assert_string_equal(a.v[7], "ANYNS_LARGE_COMMUNITIES=4200000001:53:1 65001:0:0");
	/* Only draining gets the fallback. */
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DEGRADED, "degraded", "");
	assert_int_equal(r.attrs.prepend, 2);
	assert_int_equal(r.attrs.med, 100);
	assert_int_equal(r.attrs.nlcomm, 1);
}

static void test_bird(void **st)
{
	hservice_conf_t s = svc4(), s6 = svc4();
	s6.name = "dns6";
	s6.prefix = "2001:db8::53/128";
	s6.family = 6;
	s6.base.ncomm = 0;
	hroute_t r[2];
	char buf[2048];
	hroute_make(&r[0], &s, 0, HSM_ANNOUNCE_DEGRADED, "degraded", "");
	hroute_make(&r[1], &s6, 1, HSM_WITHDRAWN, "down", "");
	assert_int_equal(hbk_bird_format(buf, sizeof(buf), r, 2, "anyns_", "anyhk0", 65002), 0);
	assert_string_equal(buf,
		"# Written by anyns-health; do not edit: rewritten on every route change.\n"
		"protocol static anyns_dns_4 {\n"
		"\tipv4;\n"
		"\troute 192.0.2.53/32 via \"anyhk0\" { bgp_community.add((65000,53)); "
		"bgp_community.add((65000,666)); bgp_med = 100; bgp_path.prepend(65002); "
		"bgp_path.prepend(65002); };\n"
		"}\n"
		"protocol static anyns_dns6 {\n"
		"\tipv6;\n"
		"}\n");
	hroute_make(&r[1], &s6, 1, HSM_ANNOUNCE_DRAIN, "draining", "");
	assert_int_equal(hbk_bird_format(buf, sizeof(buf), r + 1, 1, "p_", "", 65002), 0);
	assert_non_null(strstr(buf, "\troute 2001:db8::53/128 blackhole { bgp_community.add((65535,0)); };\n"));
	assert_int_equal(hbk_bird_format(buf, 40, r, 2, "anyns_", "anyhk0", 65002), ANYNS_ESPACE);
}

static void test_gobgp(void **st)
{
	hservice_conf_t s = svc4();
	hbk_conf_t k;
	memset(&k, 0, sizeof(k));
	k.gobgp = "/usr/bin/gobgp";
	k.gobgp_args[0] = "-p";
	k.gobgp_args[1] = "50052";
	k.ngobgp_args = 2;
	k.asn = 65003;
	hroute_t r;
	hargv_t a;
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DEGRADED, "degraded", "");
	assert_int_equal(hbk_gobgp_argv(&a, &k, &r, true), 0);
	const char *want[] = { "/usr/bin/gobgp", "-p", "50052", "global", "rib", "-a", "ipv4",
	                       "add", "192.0.2.53/32", "aspath", "65003,65003", "med", "100",
	                       "community", "65000:53,65000:666" };
	assert_int_equal(a.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < a.n; i++)
		assert_string_equal(a.v[i], want[i]);
	assert_null(a.v[a.n]);
	hroute_make(&r, &s, 0, HSM_WITHDRAWN, "down", "");
	assert_int_equal(hbk_gobgp_argv(&a, &k, &r, false), 0);
	assert_int_equal(a.n, 9);
	assert_string_equal(a.v[7], "del");
	assert_string_equal(a.v[8], "192.0.2.53/32");
}

static void test_frr(void **st)
{
	hservice_conf_t s = svc4();
	s.prefix = "2001:db8::53/128";
	s.family = 6;
	hbk_conf_t k;
	memset(&k, 0, sizeof(k));
	k.vtysh = "/usr/bin/vtysh";
	k.asn = 65004;
	k.rm_normal = "";
	k.rm_degraded = "ANYNS-DEGRADED";
	k.rm_drain = "ANYNS-DRAIN";
	hroute_t r;
	hargv_t a;
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DRAIN, "draining", "");
	assert_int_equal(hbk_frr_argv(&a, &k, &r, true), 0);
	const char *want[] = { "/usr/bin/vtysh", "-c", "configure terminal", "-c", "router bgp 65004",
	                       "-c", "address-family ipv6 unicast", "-c",
	                       "network 2001:db8::53/128 route-map ANYNS-DRAIN" };
	assert_int_equal(a.n, 9);
	for (size_t i = 0; i < a.n; i++)
		assert_string_equal(a.v[i], want[i]);
	hroute_make(&r, &s, 0, HSM_ANNOUNCE, "up", "");
	assert_int_equal(hbk_frr_argv(&a, &k, &r, true), 0);
	assert_string_equal(a.v[8], "network 2001:db8::53/128");
	assert_int_equal(hbk_frr_argv(&a, &k, &r, false), 0);
	assert_string_equal(a.v[8], "no network 2001:db8::53/128");
	k.vtysh_args[0] = "--vty_socket";
	k.vtysh_args[1] = "/run/x";
	k.nvtysh_args = 2;
	assert_int_equal(hbk_frr_argv(&a, &k, &r, false), 0);
	assert_int_equal(a.n, 11);
	assert_string_equal(a.v[1], "--vty_socket");
	assert_string_equal(a.v[2], "/run/x");
	assert_string_equal(a.v[10], "no network 2001:db8::53/128");
}

static void test_exec_env(void **st)
{
	hservice_conf_t s = svc4();
	hbk_conf_t k;
	memset(&k, 0, sizeof(k));
	k.asn = 65001;
	hroute_t r;
	hargv_t a;
	hroute_make(&r, &s, 0, HSM_ANNOUNCE_DEGRADED, "degraded", "soa: slow");
	assert_int_equal(hbk_exec_env(&a, &k, &r, "announce"), 0);
	const char *want[] = { "ANYNS_ACTION=announce", "ANYNS_SERVICE=dns-4",
	                       "ANYNS_PREFIX=192.0.2.53/32", "ANYNS_FAMILY=ipv4",
	                       "ANYNS_STATE=degraded", "ANYNS_REASON=soa: slow",
	                       "ANYNS_COMMUNITIES=65000:53 65000:666", "ANYNS_LARGE_COMMUNITIES=",
	                       "ANYNS_MED=100",
	                       "ANYNS_PREPEND=2", "ANYNS_ASN=65001" };
	assert_int_equal(a.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < a.n; i++)
		assert_string_equal(a.v[i], want[i]);
}

/* hbk_run: exit status, captured stdout, extra environment, timeout. */
static void test_run(void **st)
{
	char out[256];
	char *argv[] = { "/bin/sh", "-c", "echo \"$ANYNS_X\"; exit 3", NULL };
	char *env[] = { "ANYNS_X=hello", NULL };
	assert_int_equal(hbk_run(argv, env, 5000, out, sizeof(out)), 3);
	assert_string_equal(out, "hello\n");
	char *argv2[] = { "/bin/sleep", "5", NULL };
	assert_int_equal(hbk_run(argv2, NULL, 200, NULL, 0), ANYNS_EINVAL);   /* killed */
	char *argv3[] = { "/nonexistent/cmd", NULL };
	assert_int_equal(hbk_run(argv3, NULL, 1000, NULL, 0), 127);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hroute_make),
		cmocka_unit_test(test_large_and_drain_fallback),
		cmocka_unit_test(test_exabgp),
		cmocka_unit_test(test_bird),
		cmocka_unit_test(test_gobgp),
		cmocka_unit_test(test_frr),
		cmocka_unit_test(test_exec_env),
		cmocka_unit_test(test_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
