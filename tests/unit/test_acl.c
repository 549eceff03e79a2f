/* Unit tests of allow-query (acl.h): matching of IPv4 and IPv6 networks, a
 * zone set's lists, REFUSED to a client outside its zone's list while the
 * other zones answer everyone, the answer cache marking the answers of such a
 * zone (checked again on every hit), and the XDP pre-fill leaving them out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "acache.h"
#include "acl.h"
#include "test_answer_util.h"

static const char *OPEN =
	"$ORIGIN open.test.\n$TTL 300\n"
	"@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n"
	"www A 192.0.2.80\n";
static const char *CLOSED =
	"$ORIGIN closed.test.\n$TTL 300\n"
	"@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.2\n"
	"www A 192.0.2.81\n"
	/* A child zone of the set without a list, and its DS in the parent. */
	"kid NS ns.kid\nns.kid A 192.0.2.3\nkid DS 12345 8 2 "
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
static const char *KID =
	"$ORIGIN kid.closed.test.\n$TTL 300\n"
	"@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.3\n"
	"www A 192.0.2.82\n";

static zset_t *g_zs;
static answer_conf_t g_conf;
static const uint8_t IP_IN[4] = { 198, 51, 100, 7 };      /* in 198.51.100.0/24 */
static const uint8_t IP_OUT[4] = { 203, 0, 113, 7 };
static const uint8_t IP6_IN[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t IP6_OUT[16] = { 0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static acl_t *acl_of(const char *const *nets, size_t n)
{
	rrl_prefix_t p[8];
	for (size_t i = 0; i < n; i++)
		assert_int_equal(rrl_prefix_parse(nets[i], &p[i]), 0);
	acl_t *a = acl_new(p, n);
	assert_non_null(a);
	return a;
}

static answer_peer_t peer(const uint8_t *ip, uint8_t len)
{
	answer_peer_t p = { .ip = ip, .ip_len = len, .now = 1 };
	return p;
}

/* rcode and ANCOUNT of the answer to (name, type) for peer p (NULL: unknown). */
static int ask(const char *name, uint16_t type, const answer_peer_t *p, int *ancount,
               answer_info_t *info)
{
	uint8_t q[512], out[512];
	size_t n = tq_build(q, name, type, PKT_CLASS_IN, NULL), ol = 0;
	answer_info_t inf;
	assert_int_equal(answer_build_peer(g_zs, &g_conf, p, q, n, ANSWER_UDP, out, sizeof(out), &ol,
	                                   &inf), 0);
	if (ancount)
		*ancount = pkt_get16(out + 6);
	if (info)
		*info = inf;
	return out[3] & 0x0F;
}

static void test_match(void **st)
{
	static const char *const nets[] = { "198.51.100.0/24", "2001:db8::/32", "192.0.2.1" };
	acl_t *a = acl_of(nets, 3);
	static const uint8_t host[4] = { 192, 0, 2, 1 }, next[4] = { 192, 0, 2, 2 };
	assert_true(acl_allows(a, IP_IN, 4));
	assert_false(acl_allows(a, IP_OUT, 4));
	assert_true(acl_allows(a, IP6_IN, 16));
	assert_false(acl_allows(a, IP6_OUT, 16));
	assert_true(acl_allows(a, host, 4));
	assert_false(acl_allows(a, next, 4));
	assert_false(acl_allows(a, IP_IN, 0));           /* unknown client */
	acl_free(a);
	/* Odd prefix lengths: /25 and /57. */
	static const char *const odd[] = { "198.51.100.128/25", "2001:db8:0:80::/57" };
	a = acl_of(odd, 2);
	static const uint8_t lo[4] = { 198, 51, 100, 127 }, hi[4] = { 198, 51, 100, 128 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x80 };
	assert_false(acl_allows(a, lo, 4));
	assert_true(acl_allows(a, hi, 4));
	assert_true(acl_allows(a, v6, 16));
	v6[7] = 0x7f;
	assert_false(acl_allows(a, v6, 16));
	acl_free(a);
	acl_free(NULL);
}

static void test_refused(void **st)
{
	answer_peer_t in = peer(IP_IN, 4), out = peer(IP_OUT, 4), in6 = peer(IP6_IN, 16),
	              out6 = peer(IP6_OUT, 16);
	answer_info_t info;
	int an;
	assert_int_equal(ask("www.closed.test", 1, &in, &an, &info), PKT_RCODE_NOERROR);
	assert_int_equal(an, 1);
	assert_true(info.acl);
	assert_true(info.cacheable);
	assert_int_equal(ask("www.closed.test", 1, &in6, &an, NULL), PKT_RCODE_NOERROR);
	assert_int_equal(ask("www.closed.test", 1, &out, &an, &info), PKT_RCODE_REFUSED);
	assert_int_equal(an, 0);
	assert_true(info.acl);
	assert_false(info.cacheable);     /* a refusal depends on who asked */
	assert_int_equal(ask("www.closed.test", 1, &out6, NULL, NULL), PKT_RCODE_REFUSED);
	assert_int_equal(ask("nx.closed.test", 1, &out, NULL, NULL), PKT_RCODE_REFUSED);
	assert_int_equal(ask("www.closed.test", 1, NULL, NULL, NULL), PKT_RCODE_REFUSED);
	/* The zone without a list answers everyone, unmarked. */
	assert_int_equal(ask("www.open.test", 1, &out, &an, &info), PKT_RCODE_NOERROR);
	assert_int_equal(an, 1);
	assert_false(info.acl);
	assert_int_equal(ask("www.open.test", 1, NULL, NULL, NULL), PKT_RCODE_NOERROR);
	/* The child zone has no list; its DS is the parent's, under the list. */
	assert_int_equal(ask("www.kid.closed.test", 1, &out, NULL, &info), PKT_RCODE_NOERROR);
	assert_false(info.acl);
	assert_int_equal(ask("kid.closed.test", 43, &out, NULL, NULL), PKT_RCODE_REFUSED);
	assert_int_equal(ask("kid.closed.test", 43, &in, &an, NULL), PKT_RCODE_NOERROR);
	assert_int_equal(an, 1);
	/* answer_allowed() says the same for the cache. */
	uint8_t w[64];
	size_t wl = (size_t)anyns_name_from_text("www.closed.test", w, sizeof(w));
	assert_true(answer_allowed(g_zs, w, wl, 1, &in));
	assert_false(answer_allowed(g_zs, w, wl, 1, &out));
	assert_false(answer_allowed(g_zs, w, wl, 1, NULL));
	wl = (size_t)anyns_name_from_text("kid.closed.test", w, sizeof(w));
	assert_false(answer_allowed(g_zs, w, wl, 43, &out));
	assert_true(answer_allowed(g_zs, w, wl, 1, &out));
	wl = (size_t)anyns_name_from_text("www.open.test", w, sizeof(w));
	assert_true(answer_allowed(g_zs, w, wl, 1, NULL));
}

static void test_cache(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512], out[512];
	size_t n, ol = 0;
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	answer_info_t info;
	answer_peer_t in = peer(IP_IN, 4);
	assert_int_equal(acache_new(1024, &c), 0);
	/* Stored from an allowed client: a hit says the list must be checked. */
	n = tq_build(q, "www.closed.test", 1, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build_peer(g_zs, &g_conf, &in, q, n, ANSWER_UDP, out, sizeof(out), &ol,
	                                   &info), 0);
	assert_true(acache_store(c, 1, &k, h, out, ol, &info));
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ACACHE_HIT_ACL);
	assert_int_equal(pkt_get16(out + 6), 1);
	/* A zone without a list: a plain hit. */
	n = tq_build(q, "www.open.test", 1, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build_peer(g_zs, &g_conf, &in, q, n, ANSWER_UDP, out, sizeof(out), &ol,
	                                   &info), 0);
	assert_true(acache_store(c, 1, &k, h, out, ol, &info));
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), 0);
	acache_free(c);
}

/* counts[0]: answers taken; counts[1]: of them, names of closed.test itself
 * (its apex, www, ns; kid.closed.test is another zone). */
static int pf_cb(void *ctx, const acache_key_t *key, const uint8_t *resp, size_t len)
{
	size_t *counts = ctx;
	static const char *const names[] = { "closed.test", "www.closed.test", "ns.closed.test" };
	counts[0]++;
	for (size_t i = 0; i < 3; i++) {
		uint8_t w[64];
		int wl = anyns_name_from_text(names[i], w, sizeof(w));
		if (wl == key->name_len && memcmp(w, key->name, (size_t)wl) == 0)
			counts[1]++;
	}
	return 0;
}

static void test_prefill(void **st)
{
	size_t counts[2] = { 0, 0 }, taken = 0;
	assert_int_equal(acache_prefill(g_zs, &g_conf, 255, 100000, pf_cb, counts, &taken), 0);
	assert_true(counts[0] > 0);         /* open.test and kid.closed.test */
	assert_int_equal(counts[0], taken);
	assert_int_equal(counts[1], 0);     /* nothing of closed.test */
}

static void test_set_acl(void **st)
{
	static const char *const nets[] = { "10.0.0.0/8" };
	acl_t *a = acl_of(nets, 1);
	zone_t *z = tz_zone("elsewhere.test", "$ORIGIN elsewhere.test.\n$TTL 300\n"
	                    "@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n");
	assert_int_equal(zset_set_acl(g_zs, z, a), ANYNS_EINVAL);     /* not in the set */
	zone_unref(z);
	acl_free(a);
	assert_true(zset_has_acl(g_zs));
}

static int setup(void **st)
{
	zone_t *zones[3] = { tz_zone("open.test", OPEN), tz_zone("closed.test", CLOSED),
	                     tz_zone("kid.closed.test", KID) };
	zone_t *closed = zone_ref(zones[1]);
	g_zs = tz_set(zones, 3);
	assert_false(zset_has_acl(g_zs));
	static const char *const nets[] = { "198.51.100.0/24", "2001:db8::/32" };
	acl_t *a = acl_of(nets, 2);
	assert_int_equal(zset_set_acl(g_zs, closed, a), 0);
	acl_free(a);          /* the set keeps its own copy */
	zone_unref(closed);
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
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_prefill),
		cmocka_unit_test(test_set_acl),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
