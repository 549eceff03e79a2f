/* anyns-health configuration: a good file, and bad ones whose error names the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "anyns.h"
#include "hconf.h"

static char g_path[64];

static int load(const char *text, hconf_t **c, char *err, size_t errlen)
{
	strcpy(g_path, "/tmp/test_health_conf.XXXXXX");
	int fd = mkstemp(g_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = hconf_load(g_path, c, err, errlen);
	unlink(g_path);
	return rc;
}

static const char good[] =
	"log-level: debug\n"
	"log: syslog:/tmp/x.log.sock\n"
	"control-socket: /tmp/x.sock\n"
	"metrics: 127.0.0.1:9153\n"
	"backend:\n"
	"  type: bird\n"
	"  asn: 65002\n"
	"  socket: /run/bird/bird.ctl\n"
	"  include: /run/anyns-health/bird.conf\n"
	"  guard-interface: anyhk0\n"
	"defaults:\n"
	"  interval: 2s\n"
	"  fast-interval: 250ms\n"
	"  rise: 4\n"
	"  degraded: { prepend: 2, med: 50, community: [65000:666] }\n"
	"  draining: { prepend: 4, med: 1000 }\n"
	"  flap: { penalty: 500, half-life: 30s, suppress: 2000, reuse: 400, max: 8000 }\n"
	"services:\n"
	"  - name: dns4\n"
	"    prefix: 192.0.2.53/32\n"
	"    fall: 5\n"
	"    communities: [65000:53, 65000:54]\n"
	"    large-communities: [65000:1:2, 4200000000:53:7]\n"
	"    checks:\n"
	"      - name: soa\n"
	"        server: 192.0.2.53\n"
	"        qname: example.com\n"
	"        serial-min: 2024010101\n"
	"        serial-primary: \"[2001:db8::1]:5300\"\n"
	"        serial-lag: fail\n"
	"        latency: 50ms\n"
	"      - server: 192.0.2.53:5353\n"
	"        transport: tcp\n"
	"        qname: www.example.com.\n"
	"        qtype: A\n"
	"        rdata: [192.0.2.81, 192.0.2.80, 192.0.2.80]\n"
	"  - name: dns6\n"
	"    prefix: 2001:db8::53/128\n"
	"    checks:\n"
	"      - { server: \"[2001:db8::53]\", qname: id.server, qtype: TXT, qclass: CH, aa: false, rcode: REFUSED }\n";

static void test_good(void **st)
{
	hconf_t *c = NULL;
	char err[600] = "";
	assert_int_equal(load(good, &c, err, sizeof(err)), 0);
	assert_non_null(c);
	assert_int_equal(c->log_level, 3);
	assert_string_equal(c->log_target, "syslog:/tmp/x.log.sock");
	assert_string_equal(c->ctl_path, "/tmp/x.sock");
	assert_int_equal(c->bk.type, HBK_BIRD);
	assert_int_equal(c->bk.asn, 65002);
	assert_string_equal(c->bk.guard_if, "anyhk0");
	assert_int_equal(c->nsvc, 2);
	hservice_conf_t *s = &c->svc[0];
	assert_string_equal(s->name, "dns4");
	assert_int_equal(s->family, 4);
	assert_int_equal(s->interval_ms, 2000);
	assert_int_equal(s->fast_ms, 250);
	assert_int_equal(s->timeout_ms, 500);          /* default */
	assert_int_equal(s->sm.rise, 4);               /* from defaults */
	assert_int_equal(s->sm.fall, 5);               /* service overrides */
	assert_int_equal(s->base.ncomm, 2);
	assert_int_equal(s->base.comm[0], 65000u << 16 | 53);
	assert_int_equal(s->degraded.prepend, 2);
	assert_true(s->degraded.has_med);
	assert_int_equal(s->degraded.med, 50);
	assert_int_equal(s->degraded.ncomm, 1);
	assert_int_equal(s->base.nlcomm, 2);
	assert_int_equal(s->base.lcomm[1][0], 4200000000u);
	assert_int_equal(s->base.lcomm[1][2], 7);
	assert_int_equal(s->draining.prepend, 4);
	assert_true(s->draining.has_med && s->draining.med == 1000);
	assert_int_equal(c->svc[1].draining.prepend, 4);   /* from defaults */
	assert_true(s->sm.flap.penalty == 500 && s->sm.flap.half_life_ms == 30000);
	assert_int_equal(s->nchecks, 2);
	hcheck_conf_t *k = &s->checks[0];
	assert_string_equal(k->qname, "example.com.");
	assert_int_equal(k->qtype, 6);
	assert_int_equal(k->qclass, 1);
	assert_true(k->aa);
	assert_true(k->has_serial_min && k->serial_min == 2024010101u);
	assert_true(k->has_primary);
	assert_int_equal(k->primary.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&k->primary)->sin6_port), 5300);
	assert_int_equal(k->lag, HCHECK_LAG_FAIL);
	assert_int_equal(k->latency_ms, 50);
	assert_int_equal(ntohs(((struct sockaddr_in *)&k->addr)->sin_port), 53);
	k = &s->checks[1];
	assert_string_equal(k->name, "check1");
	assert_int_equal(k->transport, HCHECK_TCP);
	assert_int_equal(ntohs(((struct sockaddr_in *)&k->addr)->sin_port), 5353);
	assert_int_equal(k->nrdata, 2);                /* a set: sorted, no duplicate */
	assert_string_equal(k->rdata[0], "192.0.2.80");
	assert_string_equal(k->rdata[1], "192.0.2.81");
	s = &c->svc[1];
	assert_int_equal(s->family, 6);
	k = &s->checks[0];
	assert_int_equal(k->qclass, 3);
	assert_false(k->aa);
	assert_int_equal(k->rcode, 5);
	hconf_free(c);
	hconf_free(NULL);
}

/* Each bad config must fail, and the message must name the key. */
static void bad(const char *text, const char *key)
{
	hconf_t *c = NULL;
	char err[600] = "";
	int rc = load(text, &c, err, sizeof(err));
	if (rc == 0 || !strstr(err, key))
		fail_msg("config should fail naming '%s'; got rc %d: %s\n%s", key, rc, err, text);
	assert_null(c);
}

#define BK "backend: {type: exabgp, asn: 65001}\n"
#define SVC(extra, check) \
	"services:\n  - name: a\n    prefix: 192.0.2.53/32\n" extra \
	"    checks:\n      - {server: 127.0.0.1, qname: example.com" check "}\n"

static void test_bad(void **st)
{
	bad(SVC("", ""), "backend");
	bad("log: journald\n" BK SVC("", ""), "log: 'journald' is not stderr, syslog or syslog:/PATH");
	bad("log: 'syslog:'\n" BK SVC("", ""), "log: 'syslog:'");
	bad("backend: {type: quagga}\n" SVC("", ""), "backend.type");
	bad("backend: {type: bird}\n" SVC("", ""), "backend.include");
	bad("backend: {type: exabgp, asn: 1, socket: /x}\n" SVC("", ""), "backend.socket");  /* bird key */
	bad("backend: {type: exec}\n" SVC("", ""), "backend.command");
	bad(BK, "services");
	bad(BK "services: []\n", "services");
	bad(BK SVC("    rise: x\n", ""), "services[0].rise");
	bad(BK SVC("    rise: 0\n", ""), "services[0].rise");
	bad(BK SVC("    interval: soon\n", ""), "services[0].interval");
	bad(BK SVC("    risee: 3\n", ""), "risee: unknown key");
	bad(BK SVC("    communities: [65000:99999]\n", ""), "services[0].communities[0]");
	bad(BK SVC("    degraded: {med: -1}\n", ""), "services[0].degraded.med");
	bad(BK SVC("    flap: {suppress: 100, reuse: 200}\n", ""), "services[0].flap.reuse");
	bad(BK "defaults: {fall: many}\n" SVC("", ""), "defaults.fall");
	bad("backend: {type: exabgp}\n" SVC("", ""), "degraded.prepend");  /* no asn */
	bad(BK "services:\n  - name: a\n    prefix: 192.0.2.300/32\n    checks: []\n",
	    "services[0].prefix");
	bad(BK "services:\n  - name: 'a b'\n    prefix: 192.0.2.3/32\n    checks: []\n",
	    "services[0].name");
	bad(BK "services:\n  - name: a\n    prefix: 192.0.2.3/32\n    checks: []\n",
	    "services[0].checks");
	bad(BK "services:\n  - name: a\n    prefix: 192.0.2.0/24\n    checks: [{qname: x}]\n",
	    "services[0].checks[0].server");
	bad(BK SVC("", ", qtype: BOGUS"), "services[0].checks[0].qtype");
	bad(BK SVC("", ", transport: sctp"), "services[0].checks[0].transport");
	bad(BK SVC("", ", rcode: FINE"), "services[0].checks[0].rcode");
	bad(BK SVC("", ", qtype: A, rdata: [not-an-address]"), "services[0].checks[0].rdata[0]");
	bad(BK SVC("", ", qtype: A, serial-min: 5"), "services[0].checks[0]");
	bad(BK SVC("", ", serial-lag: ignore"), "services[0].checks[0].serial-lag");
	bad(BK SVC("", ", timeout: 0"), "services[0].checks[0].timeout");
	bad(BK SVC("    group: 'a b'\n", ""), "services[0].group");
	bad(BK SVC("    large-communities: [1:2]\n", ""), "services[0].large-communities[0]");
	bad(BK SVC("    large-communities: 4294967296:1:1\n", ""), "services[0].large-communities");
	bad(BK SVC("    draining: {med: x}\n", ""), "services[0].draining.med");
	bad(BK "services:\n  - {name: a, prefix: 192.0.2.3/32, checks: [{type: exec}]}\n",
	    "services[0].checks[0].command");
	bad(BK "services:\n  - {name: a, prefix: 192.0.2.3/32, checks: [{type: exec, command: [true]}]}\n",
	    "services[0].checks[0].command[0]");
	bad(BK "services:\n  - {name: a, prefix: 192.0.2.3/32, checks: [{type: exec, command: x, qname: a}]}\n",
	    "qname: unknown key");
	bad(BK "services:\n  - {name: a, prefix: 192.0.2.3/32, checks: [{type: http, qname: a}]}\n",
	    "services[0].checks[0].type");
	bad(BK SVC("    draining: {large-community: [a]}\n", ""), "services[0].draining.large-community[0]");
	bad(BK "watchdog: 1s\n" SVC("    interval: 2s\n", ""), "watchdog: 1000 ms is not above the interval");
	bad("watchdog: 2s\nbackend: {type: exec, command: /bin/true, command-timeout: 3s}\n"
	    SVC("    degraded: {prepend: 0}\n", ""), "backend.command-timeout");
	bad(BK "metrics: localhost\n" SVC("", ""), "metrics");
	bad(BK "log-level: loud\n" SVC("", ""), "log-level");
	bad(BK "services:\n  - name: a\n    prefix: 192.0.2.3/32\n    checks: [{server: 1.2.3.4, qname: a}]\n"
	       "  - name: a\n    prefix: 192.0.2.4/32\n    checks: [{server: 1.2.3.4, qname: a}]\n",
	    "services[1].name");
}

/* Without "server" a check asks the service address (host prefixes only). */
static void test_default_server(void **st)
{
	hconf_t *c = NULL;
	char err[600] = "";
	assert_int_equal(load(BK "services:\n"
	                      "  - {name: a, prefix: 192.0.2.53/32, checks: [{qname: x}]}\n"
	                      "  - {name: b, prefix: 2001:db8::53/128, checks: [{qname: x, transport: tcp}]}\n",
	                      &c, err, sizeof(err)), 0);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&c->svc[0].checks[0].addr;
	assert_int_equal(a4->sin_family, AF_INET);
	assert_int_equal(ntohs(a4->sin_port), 53);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), 0xc0000235u);
	assert_string_equal(c->svc[0].checks[0].server_text, "192.0.2.53");
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&c->svc[1].checks[0].addr;
	assert_int_equal(a6->sin6_family, AF_INET6);
	assert_int_equal(a6->sin6_addr.s6_addr[15], 0x53);
	/* Without "group" every service is in the one default group. */
	assert_int_equal(c->ngroups, 1);
	assert_int_equal(c->svc[0].group_idx, 0);
	assert_int_equal(c->svc[1].group_idx, 0);
	hconf_free(c);
	c = NULL;
	assert_int_equal(load(BK "services:\n"
	                      "  - {name: a, prefix: 192.0.2.53/32, group: x, checks: [{qname: x}]}\n"
	                      "  - {name: b, prefix: 192.0.2.54/32, checks: [{qname: x}]}\n"
	                      "  - {name: c, prefix: 2001:db8::53/128, group: x, checks: [{qname: x}]}\n",
	                      &c, err, sizeof(err)), 0);
	assert_int_equal(c->ngroups, 2);
	assert_string_equal(c->groups[0], "x");
	assert_string_equal(c->groups[1], "default");
	assert_int_equal(c->svc[0].group_idx, 0);
	assert_int_equal(c->svc[1].group_idx, 1);
	assert_int_equal(c->svc[2].group_idx, 0);
	hconf_free(c);
	c = NULL;
	assert_int_equal(load(BK "services:\n"
	                      "  - {name: a, prefix: 192.0.2.53/32, checks: [\n"
	                      "      {type: exec, command: 'pgrep -x anynsd', timeout: 2s},\n"
	                      "      {type: exec, command: [/usr/bin/test, -e, /run/ok], latency: 5ms}]}\n",
	                      &c, err, sizeof(err)), 0);
	hcheck_conf_t *x = &c->svc[0].checks[0];
	assert_int_equal(x->kind, HCHECK_EXEC);
	assert_string_equal(x->argv[0], "/bin/sh");
	assert_string_equal(x->argv[2], "pgrep -x anynsd");
	assert_null(x->argv[3]);
	assert_int_equal(x->timeout_ms, 2000);
	x = &c->svc[0].checks[1];
	assert_string_equal(x->argv[0], "/usr/bin/test");
	assert_string_equal(x->argv[2], "/run/ok");
	assert_null(x->argv[3]);
	assert_int_equal(x->latency_ms, 5);
	hconf_free(c);
}

static void test_missing_file(void **st)
{
	hconf_t *c = NULL;
	char err[600] = "";
	assert_int_equal(hconf_load("/nonexistent/anyns-health.yaml", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/anyns-health.yaml"));
}

static void test_parsers(void **st)
{
	struct sockaddr_storage ss;
	socklen_t l;
	uint32_t cm;
	assert_int_equal(hconf_parse_addr("192.0.2.1", 53, &ss, &l), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	assert_int_equal(hconf_parse_addr("2001:db8::1", 53, &ss, &l), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(hconf_parse_addr("[::1]:5353", 53, &ss, &l), 0);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 5353);
	assert_int_equal(hconf_parse_addr("127.0.0.1:0", 53, &ss, &l), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_addr("127.0.0.1", 0, &ss, &l), ANYNS_EINVAL);  /* port needed */
	assert_int_equal(hconf_parse_addr("[::1", 53, &ss, &l), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_addr("host.example", 53, &ss, &l), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_community("65535:0", &cm), 0);
	assert_int_equal(cm, 0xffff0000u);
	assert_int_equal(hconf_parse_community("65536:0", &cm), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_community("1:", &cm), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_community("no", &cm), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_prefix("192.0.2.53/32"), 4);
	assert_int_equal(hconf_parse_prefix("2001:db8::53/128"), 6);
	assert_int_equal(hconf_parse_prefix("192.0.2.53/33"), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_prefix("192.0.2.53"), ANYNS_EINVAL);
	assert_int_equal(hconf_parse_prefix("2001:db8::/129"), ANYNS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_default_server),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_parsers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
