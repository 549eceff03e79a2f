/* Unit tests of anynsd's configuration (server/daemon/conf.c). */
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

#include "../../server/daemon/conf.h"
#include "opt.h"

static void test_addr(void **state)
{
	dconf_listen_t l;
	char err[256];
	assert_int_equal(dconf_parse_addr("127.0.0.1:5353", 53, &l, err, sizeof(err)), 0);
	assert_int_equal(l.ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&l.ss)->sin_port), 5353);
	assert_false(l.wildcard);
	assert_int_equal(dconf_parse_addr("[::1]:53", 0, &l, err, sizeof(err)), 0);
	assert_int_equal(l.ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&l.ss)->sin6_port), 53);
	assert_int_equal(dconf_parse_addr("::1", 53, &l, err, sizeof(err)), 0);
	assert_int_equal(l.ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&l.ss)->sin6_port), 53);
	assert_int_equal(dconf_parse_addr("192.0.2.1", 53, &l, err, sizeof(err)), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&l.ss)->sin_port), 53);
	assert_int_equal(dconf_parse_addr("0.0.0.0:53", 53, &l, err, sizeof(err)), 0);
	assert_true(l.wildcard);
	assert_int_equal(dconf_parse_addr("[::]:53", 53, &l, err, sizeof(err)), 0);
	assert_true(l.wildcard);
	assert_int_equal(dconf_parse_addr("*:5300", 53, &l, err, sizeof(err)), 0);
	assert_true(l.wildcard);

	const char *bad[] = { "", "300.1.2.3:53", "[::1", "[::1]x", "1.2.3.4:0", "1.2.3.4:70000",
	                      "example.com:53", "1.2.3.4:", "1.2.3.4:5x", "[1.2.3.4]:53x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dconf_parse_addr(bad[i], 53, &l, err, sizeof(err)), -1);
}

static void test_nsid(void **state)
{
	dconf_t c;
	char err[256];
	dconf_init(&c);
	assert_int_equal(dconf_set_nsid(&c, "pop1", err, sizeof(err)), 0);
	assert_int_equal(c.nsid_len, 4);
	assert_memory_equal(c.nsid, "pop1", 4);
	assert_int_equal(dconf_set_nsid(&c, "hex:0A0b", err, sizeof(err)), 0);
	assert_int_equal(c.nsid_len, 2);
	assert_int_equal(c.nsid[0], 0x0a);
	assert_int_equal(c.nsid[1], 0x0b);
	assert_int_equal(dconf_set_nsid(&c, "hex:0", err, sizeof(err)), -1);
	assert_int_equal(dconf_set_nsid(&c, "hex:zz", err, sizeof(err)), -1);
	assert_int_equal(dconf_set_nsid(&c, "", err, sizeof(err)), -1);
	dconf_clear(&c);
}

/* Writes text to a temporary file and loads it; returns the load result. */
static int load_text(dconf_t *c, const char *text, char *err, size_t errlen, char *path)
{
	strcpy(path, "/tmp/anyns-dconf-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = dconf_load_file(c, path, err, errlen);
	unlink(path);
	return rc;
}

static void test_load_full(void **state)
{
	dconf_t c;
	char err[600], path[64];
	dconf_init(&c);
	int rc = load_text(&c,
		"server:\n"
		"  listen: [ \"127.0.0.1:5353\", \"[::1]:5353\" ]\n"
		"  workers: 3\n"
		"  identity: pop1\n"
		"  version: false\n"
		"  nsid: hex:0a0b\n"
		"  max-udp-payload: 1400\n"
		"  tcp-idle-timeout: 500ms\n"
		"  answer-cache: 0\n"
		"  udp-io: threads\n"
		"  tcp-max-connections: 7\n"
		"  log-level: debug\n"
		"  pid-file: /tmp/x.pid\n"
		"  metrics: 127.0.0.1:9153\n"
		"xdp:\n"
		"  interfaces: [ eth0, eth1 ]\n"
		"  port: 5353\n"
		"  map-entries: 1024\n"
		"  mode: generic\n"
		"zones:\n"
		"  - origin: example.com\n"
		"    file: a.zone\n"
		"  - origin: example.org.\n"
		"    file: b.zone\n", err, sizeof(err), path);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(c.n_listen, 2);
	assert_int_equal(c.workers, 3);
	assert_string_equal(c.identity, "pop1");
	assert_null(c.version);
	assert_int_equal(c.nsid_len, 2);
	assert_int_equal(c.max_udp_payload, 1400);
	assert_int_equal(c.tcp_idle_ms, 500);
	assert_int_equal(c.answer_cache, 0);
	assert_int_equal(c.udp_io, DCONF_UDP_THREADS);
	assert_int_equal(c.tcp_max_conn, 7);
	assert_int_equal(c.log_level, 3);
	assert_string_equal(c.pid_file, "/tmp/x.pid");
	assert_string_equal(c.metrics, "127.0.0.1:9153");
	assert_int_equal(c.n_xdp_ifaces, 2);
	assert_string_equal(c.xdp_ifaces[1], "eth1");
	assert_int_equal(c.xdp_port, 5353);
	assert_int_equal(c.xdp_map_entries, 1024);
	assert_int_equal(c.xdp_mode, DCONF_XDP_GENERIC);
	assert_int_equal(c.n_zones, 2);
	assert_string_equal(c.zones[1].origin, "example.org.");
	assert_string_equal(c.zones[1].file, "b.zone");
	dconf_clear(&c);
}

static void expect_error(const char *text, const char *want)
{
	dconf_t c;
	char err[600], path[64];
	dconf_init(&c);
	assert_int_equal(load_text(&c, text, err, sizeof(err), path), -1);
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "error \"%s\" does not contain \"%s\"\n", err, want);
		fail();
	}
	/* The message starts with the file name. */
	assert_memory_equal(err, path, strlen(path));
	dconf_clear(&c);
}

static void test_load_errors(void **state)
{
	expect_error("server:\n  workerz: 2\n", ":2: server.workerz: unknown key");
	expect_error("server:\n  workers: two\n", ":2: server.workers");
	expect_error("server:\n  workers: 100000\n", ":2: server.workers");
	expect_error("server:\n  listen: [ \"1.2.3.4:53\", \"1.2.3.400\" ]\n", ":2: server.listen");
	expect_error("server:\n  listen:\n    - \"::1\"\n    - { a: b }\n", ":4: server.listen");
	expect_error("server:\n  max-udp-payload: 100\n", ":2: server.max-udp-payload");
	expect_error("server:\n  tcp-idle-timeout: 0\n", ":2: server.tcp-idle-timeout");
	expect_error("server:\n  tcp-idle-timeout: forever\n", ":2: server.tcp-idle-timeout");
	expect_error("server:\n  log-level: loud\n", ":2: server.log-level");
	expect_error("server:\n  nsid: \"hex:123\"\n", ":2: server.nsid");
	expect_error("server:\n  metrics: nowhere\n", ":2: server.metrics");
	expect_error("server: 3\n", ":1: server");
	expect_error("server:\n  udp-io: epoll\n", ":2: server.udp-io");
	expect_error("server:\n  answer-cache: lots\n", ":2: server.answer-cache");
	expect_error("xdp:\n  mode: fast\n", ":2: xdp.mode");
	expect_error("xdp:\n  interfaces: [ \"\" ]\n", ":2: xdp.interfaces");
	expect_error("zones:\n  - origin: example.com\n", ":2: zones[0]: file: missing");
	expect_error("zones:\n  - origin: example.com\n    catalog: true\n    file: x\n",
	             ":2: zones[0]: catalog: a catalog zone needs primaries");
	expect_error("keys:\n  - id: k\n    secret: \"not base64!\"\n", ":2: keys[0]: key k: bad");
	expect_error("keys:\n  - id: k\n", ":2: keys[0]: give secret or secret-file");
	expect_error("keys:\n  - id: k\n    algorithm: hmac-md5\n    secret: aGVsbG8=\n",
	             ":3: keys[0].algorithm");
	expect_error("remotes:\n  - id: r\n    address: \"1.2.3.4:99999\"\n",
	             ":3: remotes[0].address");
	expect_error("remotes:\n  - id: r\n", ":2: remotes[0].address: missing");
	expect_error("zones:\n  - origin: a.b\n    file: x\n  - file: x\n", ":4: zones[1].origin: missing");
	expect_error("zones:\n  - origin: a..b\n    file: x\n", ":2: zones[0].origin: bad domain name");
	expect_error("zones:\n  - origin: a.b\n    file: x\n    extra: 1\n", ":4: zones[0].extra: unknown key");
	expect_error("zones:\n  - just-a-string\n", ":2: zones[0]");
	expect_error("zones: { a: b }\n", ":1: zones");
	expect_error("zonez: []\n", ":1: zonez: unknown key");
	expect_error("zones:\n  - origin: a.b\n    file: x\n  - origin: A.B.\n    file: y\n",
	             ":4: zones[1]: zone A.B. is already zones[0]");
	expect_error("server:\n  workers: 2\n  workers: 3\n", ":3: key 'workers' appears twice");
	expect_error("server:\n  max-udp-payload: 4097\n", ":2: server.max-udp-payload");
}

/* Zone transfer settings: sections in any order, ids resolved at the end. */
static void test_load_xfr(void **state)
{
	dconf_t c;
	char err[600], path[64];
	dconf_init(&c);
	int rc = load_text(&c,
		"zones:\n"
		"  - origin: example.com\n"
		"    primaries: [ p1, p2 ]\n"
		"    allow-transfer: p2\n"
		"    notify: [ p2 ]\n"
		"    expire: 1h\n"
		"  - origin: cat.invalid\n"
		"    primaries: p1\n"
		"    catalog: true\n"
		"remotes:\n"
		"  - id: p1\n"
		"    address: [ \"192.0.2.1\", \"[2001:db8::1]:5353\" ]\n"
		"    key: k\n"
		"  - id: p2\n"
		"    address: 192.0.2.2:53\n"
		"keys:\n"
		"  - id: k\n"
		"    algorithm: hmac-sha512\n"
		"    secret: aGVsbG8=\n", err, sizeof(err), path);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(dconf_finish(&c, err, sizeof(err)), 0);
	assert_int_equal(c.n_keys, 1);
	assert_int_equal(c.keys[0].key.alg, TSIG_HMAC_SHA512);
	assert_int_equal(c.keys[0].key.secret_len, 5);
	assert_int_equal(c.n_remotes, 2);
	assert_int_equal(c.remotes[0].n_addr, 2);
	assert_int_equal(c.remotes[0].key, 0);
	assert_int_equal(c.remotes[1].key, -1);
	assert_int_equal(c.zones[0].primaries.n, 2);
	assert_int_equal(c.zones[0].primaries.v[1], 1);
	assert_int_equal(c.zones[0].allow_transfer.v[0], 1);
	assert_null(c.zones[0].file);
	assert_int_equal(c.zones[0].expire_ms, 3600000);
	assert_true(c.zones[1].catalog);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, "192.0.2.2", &sa.sin_addr);
	assert_int_equal(dconf_rlist_match(&c, &c.zones[0].primaries, (struct sockaddr *)&sa), 1);
	inet_pton(AF_INET, "192.0.2.3", &sa.sin_addr);
	assert_int_equal(dconf_rlist_match(&c, &c.zones[0].primaries, (struct sockaddr *)&sa), -1);
	dconf_clear(&c);

	/* An unknown remote or key is named. */
	dconf_init(&c);
	assert_int_equal(load_text(&c, "zones:\n  - origin: a.b\n    primaries: nope\n", err,
	                           sizeof(err), path), 0);
	assert_int_equal(dconf_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "zones[0].primaries: no remote \"nope\""));
	dconf_clear(&c);
	dconf_init(&c);
	assert_int_equal(load_text(&c, "remotes:\n  - id: r\n    address: 192.0.2.1\n    key: x\n",
	                           err, sizeof(err), path), 0);
	assert_int_equal(dconf_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "remotes[0].key: no key \"x\""));
	dconf_clear(&c);
}

/* The reference in server/daemon/README.md is the table's own output, between
 * two markers; ANYNS_WRITE_REFERENCE=1 rewrites it (run from the top folder). */
#define README "server/daemon/README.md"
#define REF_BEGIN "<!-- options: begin (generated from dconf_options; see tests/unit/test_dconf.c) -->\n"
#define REF_END "<!-- options: end -->\n"

static void test_reference(void **state)
{
	char *gen = NULL, *doc = NULL;
	size_t gen_len = 0, doc_len = 0;
	FILE *f = open_memstream(&gen, &gen_len);
	assert_non_null(f);
	opt_markdown(f, dconf_options);
	fclose(f);
	f = fopen(README, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: cannot open (run from the top folder)\n", README);
		fail();
	}
	FILE *m = open_memstream(&doc, &doc_len);
	char buf[4096];
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, k, m);
	fclose(f);
	fclose(m);
	char *b = strstr(doc, REF_BEGIN), *e = b ? strstr(b, REF_END) : NULL;
	if (b == NULL || e == NULL) {
		fprintf(stderr, "%s: no generated reference between the markers\n", README);
		fail();
	}
	b += strlen(REF_BEGIN);
	bool same = (size_t)(e - b) == gen_len && memcmp(b, gen, gen_len) == 0;
	if (!same && getenv("ANYNS_WRITE_REFERENCE") != NULL) {
		f = fopen(README, "w");
		assert_non_null(f);
		fwrite(doc, 1, (size_t)(b - doc), f);
		fwrite(gen, 1, gen_len, f);
		fputs(e, f);
		fclose(f);
		same = true;
	}
	if (!same)
		fprintf(stderr, "%s: the reference differs from the option table; expected:\n%s"
		        "(ANYNS_WRITE_REFERENCE=1 %s rewrites it)\n", README, gen,
		        "build/tests/unit/test_dconf");
	free(gen);
	free(doc);
	assert_true(same);
}

/* Flags go through the same table as the file: same limits, same messages. */
static void test_flags(void **state)
{
	dconf_t c;
	char err[600];
	const opt_t *tables[] = { dconf_options };
	dconf_init(&c);
	void *objs[] = { &c };
	char *ok[] = { "anynsd", "--workers", "4", "--listen", "127.0.0.1:5353", "--listen",
	               "[::1]:5353", "--zone", "example.com=a.zone", "-l", "debug",
	               "--udp-io", "threads", "--tcp-idle-timeout", "2m", NULL };
	assert_int_equal(opt_parse_argv(tables, objs, 1, 15, ok, err, sizeof(err)), 0);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.n_listen, 2);
	assert_int_equal(c.n_zones, 1);
	assert_int_equal(c.log_level, 3);
	assert_int_equal(c.udp_io, DCONF_UDP_THREADS);
	assert_int_equal(c.tcp_idle_ms, 120000);
	char *bad[][3] = {
		{ "anynsd", "--workers", "0" },
		{ "anynsd", "--max-udp-payload", "4097" },
		{ "anynsd", "--zone", "example.com" },
		{ "anynsd", "--zone", "a..b=x" },
		{ "anynsd", "--udp-io", "epoll" },
		{ "anynsd", "--nope", "1" },
	};
	const char *want[] = { "--workers: want auto or a number from 1 to 256",
	                       "--max-udp-payload: want a number from 512 to 4096",
	                       "--zone: want ORIGIN=FILE", "--zone: bad domain name",
	                       "--udp-io: want poll or threads", "--nope: unknown option" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(opt_parse_argv(tables, objs, 1, 3, bad[i], err, sizeof(err)), -1);
		if (strstr(err, want[i]) == NULL) {
			fprintf(stderr, "error \"%s\" does not contain \"%s\"\n", err, want[i]);
			fail();
		}
	}
	dconf_clear(&c);
	/* The same value in the file gets the same answer. */
	expect_error("server:\n  workers: 0\n", ":2: server.workers: want auto or a number from 1 to 256");
}

/* The control socket: the installed instance's (from a config file) by
 * default, none for an instance started from flags alone. */
static void read_control(const char *text, char **argv, int argc, const char *want)
{
	dconf_t c;
	char err[600] = "", path[64] = "";
	if (text != NULL) {
		strcpy(path, "/tmp/anyns-dconf-XXXXXX");
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
		close(fd);
	}
	int rc = dconf_read(&c, text != NULL ? path : NULL, argc, argv, err, sizeof(err));
	if (text != NULL)
		unlink(path);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	if (want == NULL)
		assert_null(c.control);
	else
		assert_string_equal(c.control, want);
	dconf_clear(&c);
}

static void test_control_default(void **state)
{
	char *none[] = { "anynsd", NULL };
	char *flag[] = { "anynsd", "--control", "/tmp/x.sock", NULL };
	read_control("server:\n  workers: 1\n", none, 1, DCONF_CONTROL_DEFAULT);
	read_control("server:\n  control: auto\n", none, 1, DCONF_CONTROL_DEFAULT);
	read_control("server:\n  control: false\n", none, 1, NULL);
	read_control("server:\n  control: /tmp/y.sock\n", none, 1, "/tmp/y.sock");
	read_control(NULL, none, 1, NULL);
	read_control(NULL, flag, 3, "/tmp/x.sock");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_nsid),
		cmocka_unit_test(test_load_full),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_xfr),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_control_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
