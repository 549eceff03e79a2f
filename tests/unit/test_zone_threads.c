/* Unit tests for zone loading on two threads (zone_load_opts_t.threads,
 * server/lib/zone_load.c): over generated zones with directives, includes,
 * multi-line records, quoted strings and errors at chosen lines, a load with
 * the parser on its own thread gives the same messages (file, line, text, in
 * the same order) and the same compiled zone, byte for byte, as one thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "anyns.h"
#include "zone_int.h"

/* Every message, in order, as text. */
struct log {
	char *buf;
	size_t len, cap;
	unsigned n;
};

static void collect(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	struct log *l = ctx;
	char one[1024];
	int k = snprintf(one, sizeof(one), "%s:%d: %s: %s\n", file, line,
	                 fatal ? "error" : "warning", msg);
	assert_true(k > 0 && (size_t)k < sizeof(one));
	if (l->len + (size_t)k + 1 > l->cap) {
		l->cap = (l->len + (size_t)k + 1) * 2;
		l->buf = realloc(l->buf, l->cap);
		assert_non_null(l->buf);
	}
	memcpy(l->buf + l->len, one, (size_t)k + 1);
	l->len += (size_t)k;
	l->n++;
}

static char tmpdir[64];

static char *path_of(const char *name)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

/* A zone of `names` names: the usual shapes of a big zone plus every
 * construct that spans lines or changes the reader's state; `bad_every`
 * > 0 puts a bad record (a syntax error, then a name out of zone, by turns)
 * on every bad_every-th name. */
static void gen(const char *file, unsigned names, unsigned bad_every, bool include)
{
	FILE *f = fopen(path_of(file), "w");
	assert_non_null(f);
	fprintf(f, "$ORIGIN example.com.\n$TTL 300\n"
	           "@ IN SOA ns1 hostmaster ( 2026120301 ; serial\n"
	           "  3600 900 604800 60 )\n"
	           "@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n");
	for (unsigned i = 0; i < names; i++) {
		switch (i % 9) {
		case 0:
			fprintf(f, "h%u A 10.%u.%u.%u\n  AAAA 2001:db8::%x\n", i, (i >> 16) & 255,
			        (i >> 8) & 255, i & 255, i);
			break;
		case 1:
			fprintf(f, "t%u 600 TXT \"a;b (c\" ( \"line two\"\n  \"three\" ) ; comment\n", i);
			break;
		case 2:
			fprintf(f, "m%u MX ( 10\n h%u )\n", i, i - 2);
			break;
		case 3:
			fprintf(f, "\n; a comment line\n$TTL %u\nd%u NS ns.d%u\nns.d%u A 192.0.2.9\n",
			        100 + i % 50, i, i, i);
			break;
		case 4:
			fprintf(f, "$ORIGIN sub%u.example.com.\nx A 192.0.2.4\n@ TXT \"at sub\"\n"
			        "$ORIGIN example.com.\n", i % 7);
			break;
		case 5:
			/* RRset with differing TTLs: a warning per set. */
			fprintf(f, "w%u 100 A 192.0.2.5\nw%u 200 A 192.0.2.6\n", i, i);
			break;
		case 6:
			fprintf(f, "c%u CNAME h%u\n", i, i - 6);
			break;
		case 7:
			fprintf(f, "g%u TYPE65280 \\# 3 010203\n", i);
			break;
		default:
			fprintf(f, "s%u SRV 0 5 5060 h%u\n", i, i - 8);
			break;
		}
		if (bad_every && i % bad_every == bad_every - 1)
			fprintf(f, (i / bad_every) % 2 ? "b%u A 300.1.2.3\n" : "b%u.example.net. A 192.0.2.7\n",
			        i);
		if (include && i == names / 2)
			fprintf(f, "$INCLUDE inc.zone inc.example.com.\n");
	}
	fclose(f);
	if (include) {
		f = fopen(path_of("inc.zone"), "w");
		assert_non_null(f);
		fprintf(f, "$TTL 77\n@ A 192.0.2.10\nx ( A\n 192.0.2.11 )\n");
		if (bad_every)
			fprintf(f, "y A not-an-address\n");
		fprintf(f, "z TXT \"inc\"\n");
		fclose(f);
	}
}

static int load(const char *file, unsigned threads, struct log *l, zone_t **z)
{
	zone_load_opts_t o;
	zone_load_opts_init(&o);
	o.threads = threads;
	memset(l, 0, sizeof(*l));
	*z = NULL;
	return zone_compile_file_opts("example.com.", path_of(file), &o, collect, l, z);
}

/* The compiled zones are equal byte for byte: nodes, names, hash table,
 * RRsets and rdata. */
static void same_zone(const zone_t *a, const zone_t *b)
{
	assert_int_equal(a->nnodes, b->nnodes);
	assert_int_equal(a->mask, b->mask);
	assert_int_equal(a->names_len, b->names_len);
	assert_int_equal(a->nrrsets, b->nrrsets);
	assert_int_equal(a->rdata_len, b->rdata_len);
	assert_memory_equal(a->nodes, b->nodes, (size_t)a->nnodes * sizeof(*a->nodes));
	assert_memory_equal(a->names, b->names, a->names_len);
	assert_memory_equal(a->table, b->table, ((size_t)a->mask + 1) * sizeof(*a->table));
	assert_memory_equal(a->rdata, b->rdata, a->rdata_len);
	for (uint32_t i = 0; i < a->nrrsets; i++) {
		assert_int_equal(a->rrsets[i].type, b->rrsets[i].type);
		assert_int_equal(a->rrsets[i].ttl, b->rrsets[i].ttl);
		assert_int_equal(a->rrsets[i].count, b->rrsets[i].count);
		assert_int_equal(a->rrsets[i].len, b->rrsets[i].len);
		assert_int_equal(a->rrsets[i].data - a->rdata, b->rrsets[i].data - b->rdata);
	}
	assert_memory_equal(&a->stats, &b->stats, sizeof(a->stats));
}

/* Loads `file` with one thread and with two; both must agree. Returns the
 * result and the one-thread messages (caller frees). */
static int both(const char *file, struct log *out, zone_t **zone)
{
	struct log l1, l2;
	zone_t *z1, *z2;
	int r1 = load(file, 1, &l1, &z1);
	int r2 = load(file, 2, &l2, &z2);
	assert_int_equal(r1, r2);
	assert_int_equal(l1.n, l2.n);
	if (l1.n)
		assert_string_equal(l1.buf, l2.buf);
	if (r1 == 0)
		same_zone(z1, z2);
	free(l2.buf);
	zone_unref(z2);
	*out = l1;
	*zone = z1;
	return r1;
}

static void test_same_zone(void **st)
{
	(void)st;
	struct log l;
	zone_t *z;
	gen("good.zone", 6000, 0, true);
	assert_int_equal(both("good.zone", &l, &z), 0);
	/* Big enough to be parsed on the second thread. */
	FILE *f = fopen(path_of("good.zone"), "r");
	fseek(f, 0, SEEK_END);
	assert_true(ftell(f) > 128 * 1024);
	fclose(f);
	/* Names from every part: the include, a changed origin, multi-line. */
	assert_true(z->stats.records > 6000);
	assert_non_null(strstr(l.buf, "differs from"));
	uint8_t w[255];
	int n = anyns_name_from_text("x.inc.example.com.", w, sizeof(w));
	assert_non_null(zone_lookup(z, w, (size_t)n));
	n = anyns_name_from_text("t5995.example.com.", w, sizeof(w));
	const znode_t *t = zone_lookup(z, w, (size_t)n);
	assert_non_null(t);
	const zrrset_t *txt = znode_rrset(t, 16);
	assert_non_null(txt);
	assert_int_equal(txt->ttl, 600);
	free(l.buf);
	zone_unref(z);
}

static void test_same_errors(void **st)
{
	(void)st;
	struct log l;
	zone_t *z;
	gen("bad.zone", 6000, 500, true);
	assert_int_equal(both("bad.zone", &l, &z), ANYNS_EZONE);
	assert_null(z);
	/* The chosen lines, with their files. */
	assert_non_null(strstr(l.buf, "/inc.zone:5: error:"));
	assert_non_null(strstr(l.buf, "/bad.zone:"));
	assert_non_null(strstr(l.buf, "out of zone"));
	free(l.buf);
}

static void test_same_give_up(void **st)
{
	(void)st;
	struct log l;
	zone_t *z;
	/* More than the 1000 errors a load reports before it stops reading:
	 * the stop falls on the same line with both. */
	gen("worse.zone", 20000, 3, false);
	assert_int_equal(both("worse.zone", &l, &z), ANYNS_EZONE);
	assert_non_null(strstr(l.buf, "too many errors, stopped reading"));
	free(l.buf);
}

static void test_small_and_serial_default(void **st)
{
	(void)st;
	struct log l;
	zone_t *z;
	/* A small file and threads = 0 take the one-thread way; the same. */
	gen("small.zone", 50, 20, false);
	assert_int_equal(both("small.zone", &l, &z), ANYNS_EZONE);
	assert_true(l.n >= 2);
	free(l.buf);
	zone_t *z0;
	struct log l0;
	assert_int_equal(load("small.zone", 0, &l0, &z0), ANYNS_EZONE);
	free(l0.buf);
}

int main(void)
{
	strcpy(tmpdir, "/tmp/anyns-zt-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_zone),
		cmocka_unit_test(test_same_errors),
		cmocka_unit_test(test_same_give_up),
		cmocka_unit_test(test_small_and_serial_default),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	const char *files[] = { "good.zone", "bad.zone", "worse.zone", "small.zone", "inc.zone" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path_of(files[i]));
	rmdir(tmpdir);
	return rc;
}
