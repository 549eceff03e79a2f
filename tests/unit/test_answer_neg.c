/* Unit tests of answer_negative(): over many names, types and query shapes
 * its answer must be byte for byte the one answer_build() gives, and it must
 * take the plain NXDOMAIN and NODATA cases (and leave the others to the
 * builder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_answer_util.h"

/* MNAME and RNAME in the zone, as most zones have them. */
static const char *ZONE_IN =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"@ NS ns2.example.net.\n"
	"@ MX 10 mail\n"
	"@ A 192.0.2.1\n"
	"ns1 A 192.0.2.53\n"
	"mail A 192.0.2.25\n"
	"www CNAME host\n"
	"host A 192.0.2.80\n"
	"host TXT \"h\"\n"
	"*.wild A 192.0.2.99\n"
	"sub NS ns.sub\n"
	"ns.sub A 192.0.2.100\n"
	"d DNAME example.net.\n"
	"a.b.c A 192.0.2.7\n";

/* MNAME outside, RNAME deeper inside and in capitals, SOA TTL below MINIMUM. */
static const char *ZONE_OUT =
	"$ORIGIN Other.Test.\n"
	"@ 100 IN SOA ns.example.net. DNS-Admin.OPS.Other.Test. 7 7200 3600 1209600 900\n"
	"@ 100 NS ns.example.net.\n"
	"ops 100 A 192.0.2.9\n"
	"x.y 100 AAAA 2001:db8::9\n";

/* MNAME and RNAME the apex itself and a name under another label. */
static const char *ZONE_APEX =
	"$ORIGIN a.b.example.org.\n"
	"@ 60 IN SOA a.b.example.org. h.example.org. 3 7200 3600 1209600 60\n"
	"@ 60 NS a.b.example.org.\n"
	"@ 60 A 192.0.2.10\n"
	"deep.er.name 60 A 192.0.2.11\n";

static zset_t *g_zs;
static answer_conf_t g_conf;

struct shape {
	bool edns, do_bit, rd, cd;
	uint16_t payload;
};

static const struct shape SHAPES[] = {
	{ false, false, false, false, 0 },
	{ false, false, true, false, 0 },
	{ true, false, false, false, 1232 },
	{ true, true, true, false, 1232 },
	{ true, false, false, true, 512 },
	{ true, true, false, true, 4096 },
	{ true, false, true, false, 100 },
};

static const uint16_t TYPES[] = { 1, 28, 15, 16, 2, 6, 5, 255, 46, 43, 50, 47, 0x1234 };

struct tally {
	unsigned nx, nodata, builder;
};

static uint32_t g_rng = 12345;

static uint32_t rnd(void)
{
	g_rng = g_rng * 1103515245u + 12345u;
	return g_rng >> 8;
}

/* One query, both ways: a fast answer must equal the builder's. */
static void check_one(const char *name, uint16_t type, const struct shape *s, answer_neg_t *tab,
                      size_t ntab, struct tally *t)
{
	uint8_t q[512], full[2048], fast[2048];
	struct qopt o = { .id = (uint16_t)rnd(), .rd = s->rd, .edns = s->edns,
	                  .do_bit = s->do_bit, .payload = s->payload };
	size_t qlen = tq_build(q, name, type, PKT_CLASS_IN, &o);
	if (s->cd)
		q[3] |= PKT_F2_CD;
	acache_key_t key;
	answer_info_t fi, bi;
	size_t flen = 0, blen = 0;

	assert_int_equal(acache_key_from_query(q, qlen, &key), 0);
	assert_int_equal(answer_build(g_zs, &g_conf, q, qlen, ANSWER_UDP, full, 1232, &blen, &bi), 0);
	memset(fast, 0xEE, sizeof(fast));
	int r = answer_negative(g_zs, &g_conf, tab, ntab, q, qlen, key.name, key.name_len,
	                        key.qtype, key.qclass, (key.flags & ACACHE_KEY_EDNS) != 0,
	                        (key.flags & ACACHE_KEY_DO) != 0, fast, 1232, &flen, &fi);
	if (r == ANYNS_ENOENT) {
		t->builder++;
		return;
	}
	assert_int_equal(r, 0);
	if (flen != blen || memcmp(fast, full, blen) != 0) {
		fprintf(stderr, "differs: %s type %u edns %d do %d (%zu vs %zu bytes)\n", name, type,
		        s->edns, s->do_bit, flen, blen);
		for (size_t i = 0; i < blen || i < flen; i++)
			fprintf(stderr, "%3zu %02x %02x%s\n", i, i < flen ? fast[i] : 0,
			        i < blen ? full[i] : 0, i < flen && i < blen && fast[i] == full[i] ? "" : " <");
	}
	assert_int_equal(flen, blen);
	assert_memory_equal(fast, full, blen);
	assert_int_equal(fi.rcode, bi.rcode);
	assert_int_equal(fi.aa, bi.aa);
	assert_int_equal(fi.tc, bi.tc);
	assert_int_equal(fi.edns, bi.edns);
	assert_int_equal(fi.do_bit, bi.do_bit);
	assert_int_equal(fi.cacheable, bi.cacheable);
	assert_int_equal(fi.qtype, bi.qtype);
	assert_int_equal(fi.qclass, bi.qclass);
	assert_int_equal(fi.acl, bi.acl);
	assert_null(bi.wildcard);
	assert_null(fi.wildcard);
	if (fi.rcode == PKT_RCODE_NXDOMAIN)
		t->nx++;
	else
		t->nodata++;
}

/* A random label: letters in random case, or one of the zones' own labels. */
static void rnd_label(char *b, size_t cap)
{
	static const char *own[] = { "ns1", "NS1", "hostmaster", "HostMaster", "ops", "OPS",
	                             "dns-admin", "wild", "sub", "d", "b", "c", "er", "h", "host",
	                             "mail", "x", "y", "*" };
	if (rnd() % 3 == 0) {
		snprintf(b, cap, "%s", own[rnd() % (sizeof(own) / sizeof(own[0]))]);
		return;
	}
	size_t n = 1 + rnd() % 12, i;
	for (i = 0; i < n && i + 1 < cap; i++) {
		char c = (char)('a' + rnd() % 26);
		b[i] = rnd() % 4 == 0 ? (char)(c - 'a' + 'A') : c;
	}
	b[i] = 0;
}

static void rnd_name(char *b, size_t cap, const char *apex)
{
	char lab[64];
	size_t n = 0;
	unsigned labels = 1 + rnd() % 3;
	b[0] = 0;
	for (unsigned i = 0; i < labels; i++) {
		rnd_label(lab, sizeof(lab));
		n += (size_t)snprintf(b + n, cap - n, "%s.", lab);
	}
	snprintf(b + n, cap - n, "%s", apex);
}

static const char *APEXES[] = { "example.com", "EXAMPLE.com", "other.test", "OTHER.TEST",
                                "a.b.example.org", "A.B.Example.Org" };

static void test_random_names(void **st)
{
	answer_neg_t tab[4];
	struct tally t = { 0, 0, 0 };
	char name[300];

	memset(tab, 0, sizeof(tab));
	for (int i = 0; i < 6000; i++) {
		rnd_name(name, sizeof(name), APEXES[rnd() % 6]);
		const struct shape *s = &SHAPES[rnd() % (sizeof(SHAPES) / sizeof(SHAPES[0]))];
		/* One slot for all zones half of the time: renders replace each other. */
		check_one(name, TYPES[rnd() % (sizeof(TYPES) / sizeof(TYPES[0]))], s, tab,
		          i % 2 ? 4 : 1, &t);
	}
	fprintf(stderr, "random names: %u NXDOMAIN, %u NODATA fast, %u to the builder\n", t.nx,
	        t.nodata, t.builder);
	assert_true(t.nx > 2000);
	assert_true(t.builder > 100);
}

static void test_existing_names(void **st)
{
	static const char *names[] = {
		"example.com", "ns1.example.com", "NS1.Example.Com", "mail.example.com",
		"host.example.com", "www.example.com", "c.example.com", "b.c.example.com",
		"a.b.c.example.com", "sub.example.com", "ns.sub.example.com", "d.example.com",
		"x.wild.example.com", "wild.example.com", "other.test", "ops.other.test",
		"OPS.other.test", "y.other.test", "x.y.other.test", "a.b.example.org",
		"deep.er.name.a.b.example.org", "er.name.a.b.example.org", "name.a.b.example.org",
	};
	answer_neg_t tab[8];
	struct tally t = { 0, 0, 0 };

	memset(tab, 0, sizeof(tab));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t j = 0; j < sizeof(TYPES) / sizeof(TYPES[0]); j++)
			for (size_t k = 0; k < sizeof(SHAPES) / sizeof(SHAPES[0]); k++)
				check_one(names[i], TYPES[j], &SHAPES[k], tab, 8, &t);
	fprintf(stderr, "existing names: %u NXDOMAIN, %u NODATA fast, %u to the builder\n", t.nx,
	        t.nodata, t.builder);
	assert_true(t.nodata > 300);
}

/* Which cases the fast path takes and which it leaves to the builder. */
static void test_cases(void **st)
{
	static const struct {
		const char *name;
		uint16_t type;
		int want;   /* 0: fast, -1: builder */
	} cases[] = {
		{ "nx.example.com", 1, 0 },           /* NXDOMAIN */
		{ "NX.Example.COM", 28, 0 },
		{ "host.example.com", 28, 0 },        /* NODATA */
		{ "a.c.example.com", 1, 0 },          /* NXDOMAIN under an empty non-terminal */
		{ "c.example.com", 1, 0 },            /* NODATA at an empty non-terminal */
		{ "host.example.com", 1, -1 },        /* an answer */
		{ "www.example.com", 28, -1 },        /* a CNAME */
		{ "x.wild.example.com", 28, -1 },     /* a wildcard */
		{ "x.sub.example.com", 1, -1 },       /* a referral */
		{ "sub.example.com", 1, -1 },
		{ "x.d.example.com", 1, -1 },         /* a DNAME */
		{ "x.ns1.example.com", 1, -1 },       /* MNAME would compress against it */
		{ "x.hostmaster.example.com", 1, -1 }, /* RNAME too */
		{ "x.OPS.other.test", 1, -1 },
		{ "x.opsx.other.test", 1, 0 },
		{ "host.example.com", 255, -1 },      /* ANY */
		{ "nx.example.com", 252, -1 },        /* AXFR */
		{ "nx.nowhere.invalid", 1, -1 },      /* no zone: REFUSED */
	};
	answer_neg_t tab[2];
	struct tally t = { 0, 0, 0 };

	memset(tab, 0, sizeof(tab));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned before = t.builder;
		check_one(cases[i].name, cases[i].type, &SHAPES[2], tab, 2, &t);
		if ((t.builder > before) != (cases[i].want < 0))
			fail_msg("%s type %u: %s", cases[i].name, cases[i].type,
			         cases[i].want < 0 ? "taken, should go to the builder" : "not taken");
	}
}

/* Questions with many labels fill the compression table: the builder then
 * remembers less, and the fast path must not answer otherwise. */
static void test_many_labels(void **st)
{
	answer_neg_t tab[4];
	struct tally t = { 0, 0, 0 };
	char name[300];

	memset(tab, 0, sizeof(tab));
	for (unsigned labels = 1; labels < 120; labels++) {
		size_t n = 0;
		for (unsigned i = 0; i < labels && n + 30 < sizeof(name); i++)
			n += (size_t)snprintf(name + n, sizeof(name) - n, "%c.", 'a' + (int)(i % 26));
		snprintf(name + n, sizeof(name) - n, "%s", "example.com");
		if (n + 13 > 250)
			break;
		check_one(name, 1, &SHAPES[3], tab, 4, &t);
		snprintf(name + n, sizeof(name) - n, "%s", "other.test");
		check_one(name, 1, &SHAPES[0], tab, 4, &t);
	}
	assert_true(t.nx > 100);
}

/* A new zone version gets its SOA rendered again. */
static void test_new_version(void **st)
{
	answer_neg_t tab[1];
	uint8_t q[512], out[1232];
	size_t qlen, olen;
	answer_info_t info;
	acache_key_t key;
	zset_t *zs2 = NULL;
	zone_t *z = tz_zone("example.com", "@ 60 SOA ns9.example.net. h.example.net. 9 1 1 1 30\n"
	                                    "@ 60 NS ns9.example.net.\n");

	memset(tab, 0, sizeof(tab));
	assert_int_equal(zset_new(&z, 1, 2, &zs2), 0);
	zone_unref(z);
	qlen = tq_build(q, "nx.example.com", 1, PKT_CLASS_IN, NULL);
	assert_int_equal(acache_key_from_query(q, qlen, &key), 0);
	assert_int_equal(answer_negative(g_zs, &g_conf, tab, 1, q, qlen, key.name, key.name_len,
	                                 1, 1, false, false, out, sizeof(out), &olen, &info), 0);
	assert_int_equal(answer_negative(zs2, &g_conf, tab, 1, q, qlen, key.name, key.name_len, 1,
	                                 1, false, false, out, sizeof(out), &olen, &info), 0);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, out, olen), LDNS_STATUS_OK);
	assert_int_equal(tr_count(ldns_pkt_authority(p),
	                          "example.com. 30 in soa ns9.example.net. h.example.net. 9 1 1 1 30"), 1);
	ldns_pkt_free(p);
	zset_free(zs2);
}

struct owners {
	char text[64][300];
	size_t n;
};

static int collect_owner(void *ctx, const uint8_t *name, size_t len, const uint16_t *types,
                         size_t ntypes)
{
	struct owners *o = ctx;
	if (o->n < 64 && anyns_name_to_text(name, len, o->text[o->n], sizeof(o->text[0])) > 0)
		o->n++;
	return 0;
}

/* A signed zone (NSEC3): with DO=0 its negative answers are taken and equal
 * the builder's (no RRSIG, no proof); names under the NSEC3 owners and
 * those owners themselves, and every DO=1 query, go to the builder. Run
 * from the top of the tree (tests/zones/signed.zone). */
static void test_signed_zone(void **st)
{
	static struct owners own;
	answer_neg_t tab[2];
	struct tally t = { 0, 0, 0 }, t1 = { 0, 0, 0 };
	zone_t *z = NULL;
	zset_t *zs = NULL, *saved = g_zs;
	char name[400];

	assert_int_equal(zone_compile_file("example.com.", "tests/zones/signed.zone", NULL, NULL, &z), 0);
	assert_int_equal(zset_new(&z, 1, 7, &zs), 0);
	zone_unref(z);
	own.n = 0;
	assert_int_equal(zone_walk(z, collect_owner, &own), 0);
	assert_true(own.n > 5);
	memset(tab, 0, sizeof(tab));
	g_zs = zs;
	for (size_t i = 0; i < own.n; i++) {
		for (size_t j = 0; j < sizeof(TYPES) / sizeof(TYPES[0]); j++) {
			check_one(own.text[i], TYPES[j], &SHAPES[2], tab, 2, &t);
			check_one(own.text[i], TYPES[j], &SHAPES[3], tab, 2, &t1);
		}
		snprintf(name, sizeof(name), "nx.%s", own.text[i]);
		check_one(name, 1, &SHAPES[0], tab, 2, &t);
		check_one(name, 1, &SHAPES[5], tab, 2, &t1);
	}
	for (int i = 0; i < 300; i++) {
		rnd_name(name, sizeof(name), "example.com");
		check_one(name, TYPES[rnd() % (sizeof(TYPES) / sizeof(TYPES[0]))], &SHAPES[rnd() % 3],
		          tab, 2, &t);
	}
	g_zs = saved;
	zset_free(zs);
	fprintf(stderr, "signed zone, DO=0: %u NXDOMAIN, %u NODATA fast, %u to the builder; "
	        "DO=1: %u fast\n", t.nx, t.nodata, t.builder, t1.nx + t1.nodata);
	assert_true(t.nx > 200);
	assert_true(t.nodata > 20);
	assert_int_equal(t1.nx + t1.nodata, 0);
}

static int setup(void **st)
{
	zone_t *zones[3] = { tz_zone("example.com", ZONE_IN), tz_zone("other.test", ZONE_OUT),
	                     tz_zone("a.b.example.org", ZONE_APEX) };
	g_zs = tz_set(zones, 3);
	answer_conf_init(&g_conf);
	return 0;
}

static int teardown(void **st)
{
	zset_free(g_zs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_random_names),
		cmocka_unit_test(test_existing_names),
		cmocka_unit_test(test_many_labels),
		cmocka_unit_test(test_new_version),
		cmocka_unit_test(test_signed_zone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
