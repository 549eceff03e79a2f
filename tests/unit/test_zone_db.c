/* Unit tests for the compiled zone database and zone sets
 * (server/lib/zone_db.c): exact lookups, empty non-terminals, cut and DNAME
 * flags, wildcards, closest encloser, RRset order, walk, most specific zone
 * and reference counts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "anyns.h"
#include "zone_db.h"
#include "wire_name.h"

static zone_t *compile(const char *origin, const char *text)
{
	zone_t *z = NULL;
	assert_int_equal(zone_compile_text(origin, text, "t.zone", NULL, NULL, &z), 0);
	return z;
}

static int wire(const char *name, uint8_t *w)
{
	int n = anyns_name_from_text(name, w, 255);
	assert_true(n > 0);
	return n;
}

static const znode_t *node(const zone_t *z, const char *name)
{
	uint8_t w[255];
	int n = wire(name, w);
	return zone_lookup(z, w, (size_t)n);
}

static const char *ntext(const znode_t *n)
{
	static char buf[300];
	size_t len;
	const uint8_t *w = znode_name(n, &len);
	assert_true(anyns_name_to_text(w, len, buf, sizeof(buf)) > 0);
	return buf;
}

static const char *ZONE =
	"$TTL 300\n"
	"@ SOA ns1 hostmaster 7 3600 900 604800 60\n"
	"@ NS ns1\n"
	"@ MX 10 mail\n"
	"@ A 192.0.2.1\n"
	"ns1 A 192.0.2.2\n"
	"a.b.c TXT \"deep\"\n"              /* b.c and c are empty non-terminals */
	"*.w A 192.0.2.3\n"
	"x.*.w A 192.0.2.4\n"
	"sub NS ns.sub\n"
	"sub DS 12345 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"ns.sub A 192.0.2.5\n"
	"d DNAME example.net.\n"
	"MiXeD TXT \"case\"\n";

static void test_lookup_and_ent(void **st)
{
	(void)st;
	zone_t *z = compile("Example.COM.", ZONE);
	const znode_t *apex = zone_apex(z);
	assert_int_equal(znode_flags(apex) & ZN_APEX, ZN_APEX);
	assert_null(znode_parent(z, apex));
	assert_ptr_equal(node(z, "example.com"), apex);
	assert_string_equal(zone_origin_text(z), "example.com.");
	size_t ol;
	assert_memory_equal(zone_origin_wire(z, &ol), "\x07" "example\x03" "com\x00", 13);
	assert_int_equal(ol, 13);

	const znode_t *abc = node(z, "a.b.c.example.com");
	assert_non_null(abc);
	assert_int_equal(znode_flags(abc) & ZN_ENT, 0);
	const znode_t *bc = node(z, "b.c.example.com"), *c = node(z, "c.example.com");
	assert_non_null(bc);
	assert_non_null(c);
	assert_true(znode_flags(bc) & ZN_ENT);
	assert_true(znode_flags(c) & ZN_ENT);
	assert_int_equal(znode_rrset_count(bc), 0);
	assert_ptr_equal(znode_parent(z, abc), bc);
	assert_ptr_equal(znode_parent(z, bc), c);
	assert_ptr_equal(znode_parent(z, c), apex);
	assert_null(node(z, "nope.example.com"));
	assert_null(node(z, "example.org"));
	/* names are stored lowercased and looked up lowercased */
	assert_non_null(node(z, "mixed.example.com"));
	assert_string_equal(ntext(node(z, "mixed.example.com")), "mixed.example.com.");

	zone_stats_t s;
	zone_get_stats(z, &s);
	/* apex ns1 a.b.c b.c c w *.w x.*.w sub ns.sub d mixed */
	assert_int_equal(s.names, 12);
	assert_int_equal(s.records, 13);
	assert_int_equal(s.serial, 7);
	assert_true(s.bytes > 0);
	zone_unref(z);
}

static void test_rrsets(void **st)
{
	(void)st;
	zone_t *z = compile("example.com", ZONE);
	const znode_t *apex = zone_apex(z);
	/* sorted by type: A(1) NS(2) SOA(6) MX(15) */
	assert_int_equal(znode_rrset_count(apex), 4);
	uint16_t want[] = { 1, 2, 6, 15 };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(znode_rrset_at(apex, i)->type, want[i]);
	assert_null(znode_rrset_at(apex, 4));
	assert_ptr_equal(znode_rrset(apex, 6), zone_soa(z));
	assert_null(znode_rrset(apex, 28));
	const zrrset_t *mx = znode_rrset(apex, 15);
	assert_int_equal(mx->ttl, 300);
	assert_memory_equal(mx->data, "\x00\x14\x00\x0a\x04mail\x07" "example\x03" "com\x00", 22);
	zone_unref(z);
}

static void test_cut_dname_wildcard(void **st)
{
	(void)st;
	zone_t *z = compile("example.com", ZONE);
	const znode_t *sub = node(z, "sub.example.com"), *ns = node(z, "ns.sub.example.com");
	assert_true(znode_flags(sub) & ZN_DELEG);
	assert_false(znode_flags(sub) & ZN_BELOW_CUT);
	assert_null(znode_cut(z, sub));
	assert_true(znode_flags(ns) & ZN_BELOW_CUT);
	assert_ptr_equal(znode_cut(z, ns), sub);
	assert_false(znode_flags(zone_apex(z)) & ZN_DELEG);   /* apex NS is no cut */
	assert_null(znode_cut(z, node(z, "ns1.example.com")));

	const znode_t *d = node(z, "d.example.com");
	assert_true(znode_flags(d) & ZN_DNAME);
	assert_null(znode_dname_owner(z, d));

	const znode_t *w = node(z, "w.example.com"), *star = node(z, "*.w.example.com");
	assert_true(znode_flags(w) & ZN_ENT);
	assert_true(znode_flags(star) & ZN_WILDCARD);
	assert_ptr_equal(znode_wildcard_child(z, w), star);
	assert_null(znode_wildcard_child(z, zone_apex(z)));
	/* x.*.w: the "*" node is also the parent of x */
	assert_ptr_equal(znode_parent(z, node(z, "x.*.w.example.com")), star);
	assert_false(znode_flags(node(z, "x.*.w.example.com")) & ZN_WILDCARD);
	zone_unref(z);

	/* data below a DNAME (occluded) is kept with the flag and its owner;
	 * an NS below a cut is occluded, not a second cut */
	z = compile("example.com",
		"@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
		"d DNAME example.net.\nx.y.d A 192.0.2.1\n"
		"sub NS ns1\ndeep.sub NS ns1\nx.deep.sub A 192.0.2.1\n");
	const znode_t *xyd = node(z, "x.y.d.example.com");
	assert_true(znode_flags(xyd) & ZN_BELOW_DNAME);
	assert_true(znode_flags(node(z, "y.d.example.com")) & ZN_BELOW_DNAME);
	assert_ptr_equal(znode_dname_owner(z, xyd), node(z, "d.example.com"));
	const znode_t *deep = node(z, "deep.sub.example.com");
	assert_false(znode_flags(deep) & ZN_DELEG);
	assert_true(znode_flags(deep) & ZN_BELOW_CUT);
	assert_ptr_equal(znode_cut(z, node(z, "x.deep.sub.example.com")), node(z, "sub.example.com"));
	zone_unref(z);
}

static void test_apex_wildcard_and_dname(void **st)
{
	(void)st;
	zone_t *z = compile("example.com",
		"@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n*.example.com. A 192.0.2.9\n");
	const znode_t *star = node(z, "*.example.com");
	assert_ptr_equal(znode_wildcard_child(z, zone_apex(z)), star);
	assert_ptr_equal(znode_parent(z, star), zone_apex(z));
	assert_int_equal(znode_flags(star), ZN_WILDCARD);
	zone_unref(z);

	/* RFC 6672: a DNAME at the apex redirects every name below it */
	z = compile("example.com",
		"@ SOA ns1 h 1 2 3 4 5\n@ NS ns1.example.net.\n@ DNAME example.net.\nx.y A 192.0.2.1\n");
	assert_true(znode_flags(zone_apex(z)) & ZN_DNAME);
	assert_true(znode_flags(zone_apex(z)) & ZN_APEX);
	const znode_t *xy = node(z, "x.y.example.com");
	assert_true(znode_flags(xy) & ZN_BELOW_DNAME);
	assert_ptr_equal(znode_dname_owner(z, xy), zone_apex(z));
	assert_ptr_equal(znode_dname_owner(z, node(z, "y.example.com")), zone_apex(z));
	zone_unref(z);
}

static void test_closest_encloser(void **st)
{
	(void)st;
	zone_t *z = compile("example.com", ZONE);
	uint8_t w[255];
	int n;
	struct { const char *q, *ce; } cases[] = {
		{ "example.com", "example.com." },
		{ "nope.example.com", "example.com." },
		{ "x.y.z.example.com", "example.com." },
		{ "a.b.c.example.com", "a.b.c.example.com." },
		{ "zz.a.b.c.example.com", "a.b.c.example.com." },
		{ "q.b.c.example.com", "b.c.example.com." },     /* an ENT */
		{ "q.c.example.com", "c.example.com." },
		{ "foo.w.example.com", "w.example.com." },
		{ "a.b.ns.sub.example.com", "ns.sub.example.com." },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = wire(cases[i].q, w);
		const znode_t *ce = zone_closest_encloser(z, w, (size_t)n);
		assert_non_null(ce);
		assert_string_equal(ntext(ce), cases[i].ce);
	}
	/* a long name: 100 labels above a.b.c */
	char deep[300] = "";
	for (int i = 0; i < 100; i++)
		strcat(deep, "x.");
	strcat(deep, "a.b.c.example.com");
	n = wire(deep, w);
	assert_string_equal(ntext(zone_closest_encloser(z, w, (size_t)n)), "a.b.c.example.com.");
	deep[196] = 0;
	strcat(deep, "example.com");
	n = wire(deep, w);
	assert_string_equal(ntext(zone_closest_encloser(z, w, (size_t)n)), "example.com.");
	zone_unref(z);
}

struct walk {
	int n;
	char names[32][64];
	size_t ntypes[32];
	int stop_at;
};

static int walk_cb(void *ctx, const uint8_t *name, size_t len, const uint16_t *types, size_t nt)
{
	struct walk *wk = ctx;
	anyns_name_to_text(name, len, wk->names[wk->n], 64);
	wk->ntypes[wk->n] = nt;
	for (size_t i = 1; i < nt; i++)
		assert_true(types[i - 1] < types[i]);
	wk->n++;
	return wk->n == wk->stop_at ? 42 : 0;
}

static void test_walk(void **st)
{
	(void)st;
	zone_t *z = compile("example.com",
		"@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
		"z A 192.0.2.1\nZ.a TXT x\nyljkjljk.a A 192.0.2.1\n\\001.z A 192.0.2.1\n*.z A 192.0.2.1\n");
	struct walk wk = { .stop_at = -1 };
	assert_int_equal(zone_walk(z, walk_cb, &wk), 0);
	const char *want[] = {   /* RFC 4034 6.1 order; a. is an ENT */
		"example.com.", "a.example.com.", "yljkjljk.a.example.com.", "z.a.example.com.",
		"ns1.example.com.", "z.example.com.", "\\001.z.example.com.", "*.z.example.com.",
	};
	assert_int_equal(wk.n, 8);
	for (int i = 0; i < 8; i++)
		assert_string_equal(wk.names[i], want[i]);
	assert_int_equal(wk.ntypes[0], 2);
	assert_int_equal(wk.ntypes[1], 0);
	struct walk w2 = { .stop_at = 3 };
	assert_int_equal(zone_walk(z, walk_cb, &w2), 42);
	assert_int_equal(w2.n, 3);
	zone_unref(z);
}

/* The walk order agrees with wname_canon_cmp() on a zone with many shapes. */
struct order {
	uint8_t prev[255];
	size_t prev_len;
	int n;
};

static int order_cb(void *ctx, const uint8_t *name, size_t len, const uint16_t *t, size_t nt)
{
	struct order *o = ctx;
	(void)t; (void)nt;
	if (o->n > 0)
		assert_true(wname_canon_cmp(o->prev, o->prev_len, name, len) < 0);
	memcpy(o->prev, name, len);
	o->prev_len = len;
	o->n++;
	return 0;
}

static void test_walk_order_big(void **st)
{
	(void)st;
	static char text[65536];
	static const char *labels[] = { "a", "A0", "b", "ab", "a-b", "\\000", "\\255", "*", "zz", "z", "0", "\\.", "aa" };
	size_t nl = sizeof(labels) / sizeof(labels[0]);
	size_t o = (size_t)snprintf(text, sizeof(text), "@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n");
	for (size_t i = 0; i < nl; i++)
		for (size_t j = 0; j < nl; j++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s.%s.%s TXT x\n",
			                      labels[(i * 7 + j) % nl], labels[i], labels[j]);
	zone_t *z = compile("example.com", text);
	struct order ord = { .n = 0 };
	assert_int_equal(zone_walk(z, order_cb, &ord), 0);
	zone_stats_t zs;
	zone_get_stats(z, &zs);
	assert_int_equal((size_t)ord.n, zs.names);
	zone_unref(z);
}

static const char *mini(const char *extra)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n%s", extra);
	return buf;
}

static void test_zset(void **st)
{
	(void)st;
	zone_t *com = compile("example.com", mini("")),
	       *sub = compile("sub.example.com", mini("")),
	       *net = compile("example.net.", mini("")),
	       *root = compile(".", mini(""));
	zone_t *zones[] = { com, sub, net };
	zset_t *zs = NULL;
	uint8_t w[255];
	int n;

	assert_int_equal(zset_new(zones, 3, 7, &zs), 0);
	assert_int_equal(zset_count(zs), 3);
	assert_int_equal(zset_generation(zs), 7);
	assert_ptr_equal(zset_zone(zs, 1), sub);

	struct { const char *q; zone_t *z; } cases[] = {
		{ "example.com", com }, { "www.example.com", com },
		{ "sub.example.com", sub }, { "a.b.sub.example.com", sub },
		{ "xsub.example.com", com }, { "www.example.net", net },
		{ "example.org", NULL }, { "com", NULL }, { ".", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = wire(cases[i].q, w);
		assert_ptr_equal(zset_best_zone(zs, w, (size_t)n), cases[i].z);
	}

	/* the root zone catches everything else */
	zone_t *withroot[] = { com, root };
	zset_t *zr = NULL;
	assert_int_equal(zset_new(withroot, 2, 8, &zr), 0);
	n = wire("www.example.org", w);
	assert_ptr_equal(zset_best_zone(zr, w, (size_t)n), root);
	n = wire("www.example.com", w);
	assert_ptr_equal(zset_best_zone(zr, w, (size_t)n), com);
	n = wire(".", w);
	assert_ptr_equal(zset_best_zone(zr, w, (size_t)n), root);

	/* the same origin twice is refused */
	zone_t *dup[] = { com, com };
	zset_t *zd = (zset_t *)1;
	assert_int_equal(zset_new(dup, 2, 9, &zd), ANYNS_EINVAL);

	/* an empty set answers nothing */
	zset_t *ze = NULL;
	assert_int_equal(zset_new(NULL, 0, 1, &ze), 0);
	n = wire("example.com", w);
	assert_null(zset_best_zone(ze, w, (size_t)n));
	assert_null(zset_best_zone(NULL, w, (size_t)n));
	zset_free(ze);

	/* the sets hold their own references: dropping ours keeps the zones */
	zone_unref(com);
	zone_unref(sub);
	zone_unref(net);
	zone_unref(root);
	n = wire("www.sub.example.com", w);
	const zone_t *best = zset_best_zone(zs, w, (size_t)n);
	assert_string_equal(zone_origin_text(best), "sub.example.com.");
	zset_free(zs);
	assert_string_equal(zone_origin_text(zset_zone(zr, 0)), "example.com.");
	zset_free(zr);
	zset_free(NULL);
	zone_unref(NULL);
}

static void test_refcount_shared(void **st)
{
	(void)st;
	/* an old and a new set share a zone across a reload */
	zone_t *a = compile("example.com", mini("")), *b = compile("example.net", mini(""));
	zone_t *old_z[] = { a, b }, *new_z[] = { a };
	zset_t *old_set, *new_set;
	assert_int_equal(zset_new(old_z, 2, 1, &old_set), 0);
	assert_int_equal(zset_new(new_z, 1, 2, &new_set), 0);
	assert_ptr_equal(zone_ref(a), a);
	zone_unref(a);
	zone_unref(a);
	zone_unref(b);
	zset_free(old_set);          /* b goes away here, a lives on */
	assert_string_equal(zone_origin_text(zset_zone(new_set, 0)), "example.com.");
	assert_non_null(zone_soa(zset_zone(new_set, 0)));
	zset_free(new_set);          /* ASan's leak check proves a is freed */
}

/* Readers on several threads take and drop references while they look
 * names up; the zone survives them all and goes with the last unref (ASan
 * reports a leak or a use after free otherwise). */
static void *ref_worker(void *arg)
{
	zone_t *z = arg;
	uint8_t w[255];
	int n = anyns_name_from_text("a.b.c.example.com", w, sizeof(w));
	for (int i = 0; i < 20000; i++) {
		zone_t *r = zone_ref(z);
		if (!zone_lookup(r, w, (size_t)n))
			return (void *)1;
		zone_unref(r);
	}
	return NULL;
}

static void test_refcount_threads(void **st)
{
	(void)st;
	zone_t *z = compile("example.com", ZONE);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, ref_worker, z), 0);
	for (int i = 0; i < 4; i++) {
		void *ret;
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_non_null(node(z, "a.b.c.example.com"));
	zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_and_ent),
		cmocka_unit_test(test_rrsets),
		cmocka_unit_test(test_cut_dname_wildcard),
		cmocka_unit_test(test_apex_wildcard_and_dname),
		cmocka_unit_test(test_closest_encloser),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_walk_order_big),
		cmocka_unit_test(test_zset),
		cmocka_unit_test(test_refcount_shared),
		cmocka_unit_test(test_refcount_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
