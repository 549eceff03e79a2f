/* Unit tests of server/lib/rrl.c and siphash.c: response classes and their
 * keys, the token bucket with slip, prefixes and the whitelist, the table
 * shared by threads. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rrl.h"
#include "siphash.h"
#include "test_answer_util.h"

static const char *ZONE =
	"$TTL 300\n"
	"@ SOA ns1 host 1 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.53\n"
	"www A 192.0.2.1\n"
	"mail A 192.0.2.2\n"
	"sub NS ns.sub\n"
	"ns.sub A 192.0.2.54\n"
	"*.w A 192.0.2.9\n";

static zset_t *g_zs;
static const uint8_t SEED[16] = "0123456789abcdef";

static size_t resp(const char *name, uint16_t type, uint8_t *out)
{
	uint8_t q[512];
	size_t qlen = tq_build(q, name, type, 1, NULL), olen = 0;
	answer_conf_t ac;
	answer_conf_init(&ac);
	assert_int_equal(answer_build(g_zs, &ac, q, qlen, ANSWER_UDP, out, 512, &olen, NULL), 0);
	return olen;
}

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static int setup(void **st)
{
	zone_t *z = tz_zone("example.com", ZONE);
	g_zs = tz_set(&z, 1);
	return 0;
}

static int teardown(void **st)
{
	zset_free(g_zs);
	return 0;
}

static void test_siphash_vectors(void **st)
{
	/* The reference vectors of the SipHash paper: key 00..0f, input 00..len-1. */
	uint8_t k[16], in[64];
	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		in[i] = (uint8_t)i;
	assert_true(siphash24(k, in, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(siphash24(k, in, 1) == 0x74f839c593dc67fdULL);
	assert_true(siphash24(k, in, 7) == 0xab0200f58b01d137ULL);
	assert_true(siphash24(k, in, 8) == 0x93f5f5799a932462ULL);
	assert_true(siphash24(k, in, 15) == 0xa129ca6149be45e5ULL);
	assert_true(siphash24(k, in, 63) == 0x958a324ceb064572ULL);
}

static void test_classify(void **st)
{
	uint8_t r[512];
	enum rrl_class c;
	size_t off;
	size_t n = resp("WWW.example.com", 1, r);
	assert_int_equal(rrl_classify(r, n, &c, &off), 0);
	assert_int_equal(c, RRL_ANSWER);
	assert_int_equal(off, 12);
	n = resp("www.example.com", 28, r);
	assert_int_equal(rrl_classify(r, n, &c, &off), 0);
	assert_int_equal(c, RRL_NODATA);
	n = resp("nope.example.com", 1, r);
	assert_int_equal(rrl_classify(r, n, &c, &off), 0);
	assert_int_equal(c, RRL_NXDOMAIN);
	assert_true(off > 12);          /* the SOA owner, the zone */
	n = resp("a.b.sub.example.com", 1, r);
	assert_int_equal(rrl_classify(r, n, &c, &off), 0);
	assert_int_equal(c, RRL_REFERRAL);
	assert_true(off > 12);
	n = resp("example.org", 1, r);  /* REFUSED */
	assert_int_equal(rrl_classify(r, n, &c, &off), 0);
	assert_int_equal(c, RRL_ERROR);
	/* A query is not a response. */
	uint8_t q[512];
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	assert_int_equal(rrl_classify(q, n, &c, &off), ANYNS_EINVAL);
}

static rrl_t *mk(uint32_t rate, uint32_t slip, const char *white)
{
	rrl_conf_t c = { .rate = rate, .slip = slip, .v4_prefix = 24, .v6_prefix = 56,
	                 .table_size = 4096 };
	if (white != NULL) {
		assert_int_equal(rrl_prefix_parse(white, &c.whitelist[0]), 0);
		c.n_whitelist = 1;
	}
	rrl_t *r = NULL;
	assert_int_equal(rrl_new(&c, SEED, &r), 0);
	return r;
}

/* Sends n responses r[0..len) to ss at second now; counts each action. */
static void burst(rrl_t *r, const struct sockaddr_storage *ss, const uint8_t *p, size_t len,
                  int n, uint32_t now, int cnt[3])
{
	for (int i = 0; i < n; i++)
		cnt[rrl_check(r, SA(*ss), p, len, now)]++;
}

static void test_bucket_and_slip(void **st)
{
	uint8_t p[512];
	size_t n = resp("www.example.com", 1, p);
	struct sockaddr_storage a = v4("192.0.2.10");
	rrl_t *r = mk(100, 2, NULL);
	int cnt[3] = { 0 };
	burst(r, &a, p, n, 1000, 7, cnt);
	assert_int_equal(cnt[RRL_PASS], 100);
	assert_int_equal(cnt[RRL_SLIP], 450);
	assert_int_equal(cnt[RRL_DROP], 450);
	/* The same network (/24), another host: the same bucket, still empty. */
	struct sockaddr_storage b = v4("192.0.2.200");
	assert_int_equal(rrl_check(r, SA(b), p, n, 7) != RRL_PASS, true);
	/* Another network: its own bucket. */
	struct sockaddr_storage c = v4("198.51.100.1");
	assert_int_equal(rrl_check(r, SA(c), p, n, 7), RRL_PASS);
	/* Another name or another class: their own buckets. */
	uint8_t p2[512], p3[512];
	size_t n2 = resp("mail.example.com", 1, p2), n3 = resp("x.example.com", 1, p3);
	assert_int_equal(rrl_check(r, SA(a), p2, n2, 7), RRL_PASS);
	assert_int_equal(rrl_check(r, SA(a), p3, n3, 7), RRL_PASS);
	/* The next second: refilled to rate, not more. */
	memset(cnt, 0, sizeof(cnt));
	burst(r, &a, p, n, 300, 9, cnt);
	assert_int_equal(cnt[RRL_PASS], 100);
	rrl_free(r);

	/* slip 0 drops all, slip 1 truncates all, slip 3 one in three. */
	int want[3][2] = { { 0, 0 }, { 1, 900 }, { 3, 300 } };
	for (int i = 0; i < 3; i++) {
		r = mk(100, (uint32_t)want[i][0], NULL);
		memset(cnt, 0, sizeof(cnt));
		burst(r, &a, p, n, 1000, 1, cnt);
		assert_int_equal(cnt[RRL_PASS], 100);
		assert_int_equal(cnt[RRL_SLIP], want[i][1]);
		assert_int_equal(cnt[RRL_DROP], 900 - want[i][1]);
		rrl_free(r);
	}
}

static void test_nxdomain_by_zone(void **st)
{
	/* Random names under one zone share the zone's NXDOMAIN bucket. */
	rrl_t *r = mk(10, 0, NULL);
	struct sockaddr_storage a = v4("192.0.2.10");
	int pass = 0;
	for (int i = 0; i < 50; i++) {
		char name[64];
		uint8_t p[512];
		snprintf(name, sizeof(name), "r%d.example.com", i);
		size_t n = resp(name, 1, p);
		pass += rrl_check(r, SA(a), p, n, 1) == RRL_PASS;
	}
	assert_int_equal(pass, 10);
	rrl_free(r);
}

static void test_v6_and_whitelist(void **st)
{
	uint8_t p[512];
	size_t n = resp("www.example.com", 1, p);
	rrl_t *r = mk(5, 1, "2001:db8:1::/48");
	int cnt[3] = { 0 };
	/* /56: 2001:db8:2:0 and 2001:db8:2:ff share a bucket, 2001:db8:2:100 does not. */
	struct sockaddr_storage a = v6("2001:db8:2::1"), b = v6("2001:db8:2:ff::1"),
	                        c = v6("2001:db8:2:100::1");
	burst(r, &a, p, n, 5, 1, cnt);
	assert_int_equal(cnt[RRL_PASS], 5);
	assert_int_equal(rrl_check(r, SA(b), p, n, 1), RRL_SLIP);
	assert_int_equal(rrl_check(r, SA(c), p, n, 1), RRL_PASS);
	/* Whitelisted: never limited. */
	struct sockaddr_storage w = v6("2001:db8:1:ffff::7");
	memset(cnt, 0, sizeof(cnt));
	burst(r, &w, p, n, 100, 1, cnt);
	assert_int_equal(cnt[RRL_PASS], 100);
	assert_true(rrl_whitelisted(r, SA(w)));
	assert_false(rrl_whitelisted(r, SA(a)));
	rrl_free(r);

	/* A v4-mapped address is an IPv4 client. */
	r = mk(5, 1, "192.0.2.0/25");
	struct sockaddr_storage m = v6("::ffff:192.0.2.9"), o = v4("192.0.2.129");
	assert_true(rrl_whitelisted(r, SA(m)));
	assert_false(rrl_whitelisted(r, SA(o)));
	rrl_free(r);
}

static void test_prefix_parse(void **st)
{
	rrl_prefix_t p;
	char buf[64];
	assert_int_equal(rrl_prefix_parse("192.0.2.77/24", &p), 0);
	rrl_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.0/24");
	assert_int_equal(rrl_prefix_parse("2001:db8::1", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(rrl_prefix_parse("2001:db8:ff::/36", &p), 0);
	rrl_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/36");
	assert_int_equal(rrl_prefix_parse("192.0.2.0/33", &p), ANYNS_EINVAL);
	assert_int_equal(rrl_prefix_parse("192.0.2.0/", &p), ANYNS_EINVAL);
	assert_int_equal(rrl_prefix_parse("host/8", &p), ANYNS_EINVAL);
	assert_int_equal(rrl_prefix_parse("", &p), ANYNS_EINVAL);
}

static void test_slip_shape(void **st)
{
	uint8_t p[512];
	size_t n = resp("www.example.com", 1, p);
	size_t qend = 12 + 17 + 4;
	assert_int_equal(rrl_slip(p, &n), 0);
	assert_int_equal(n, qend);
	assert_true(p[2] & 0x80);
	assert_true(p[2] & 0x02);
	assert_int_equal(pkt_get16(p + 4), 1);
	assert_int_equal(pkt_get16(p + 6) | pkt_get16(p + 8) | pkt_get16(p + 10), 0);

	/* With EDNS (DO, NSID too): the OPT stays, as the answer had it, and
	 * nothing else of the additional section (the referral's glue). */
	uint8_t q[512], full[512];
	struct qopt o = { .id = 7, .edns = true, .payload = 1232, .do_bit = true, .nsid = true };
	size_t qlen = tq_build(q, "www.sub.example.com", 1, 1, &o), fl = 0;
	static const uint8_t nsid[] = { 'p', 'o', 'p' };
	answer_conf_t ac;
	answer_conf_init(&ac);
	ac.nsid = nsid;
	ac.nsid_len = sizeof(nsid);
	assert_int_equal(answer_build(g_zs, &ac, q, qlen, ANSWER_UDP, full, sizeof(full), &fl, NULL), 0);
	assert_true(pkt_get16(full + 10) >= 2);             /* glue and OPT */
	memcpy(p, full, fl);
	n = fl;
	assert_int_equal(rrl_slip(p, &n), 0);
	qend = 12 + 21 + 4;
	size_t optlen = 11 + 4 + sizeof(nsid);
	assert_int_equal(n, qend + optlen);
	assert_true(p[2] & 0x02);
	assert_int_equal(pkt_get16(p + 6) | pkt_get16(p + 8), 0);
	assert_int_equal(pkt_get16(p + 10), 1);
	assert_memory_equal(p + qend, full + fl - optlen, optlen);   /* the OPT is last */
	assert_int_equal(pkt_get16(p + qend + 1), 41);
	assert_true(p[qend + 7] & 0x80);                    /* DO */
}

/* Answers made from one wildcard share one bucket whatever the name asked
 * (the wildcard class), as NSD and Knot DNS count them; without the
 * wildcard's name each name has its own. */
static void test_wildcard_class(void **st)
{
	rrl_t *r = mk(10, 0, NULL);
	struct sockaddr_storage a = v4("203.0.113.9");
	unsigned pass_wild = 0, pass_name = 0;
	answer_conf_t ac;
	answer_conf_init(&ac);
	for (unsigned i = 0; i < 30; i++) {
		uint8_t q[512], p[512];
		char name[64];
		size_t olen = 0;
		answer_info_t info;
		snprintf(name, sizeof(name), "rnd%u.w.example.com", i);
		size_t qlen = tq_build(q, name, 1, 1, NULL);
		assert_int_equal(answer_build(g_zs, &ac, q, qlen, ANSWER_UDP, p, sizeof(p), &olen, &info), 0);
		assert_non_null(info.wildcard);
		pass_wild += rrl_check_wild(r, SA(a), p, olen, info.wildcard, info.wildcard_len, 5) ==
		             RRL_PASS;
		pass_name += rrl_check(r, SA(a), p, olen, 5) == RRL_PASS;
		uint64_t k1, k2;
		assert_int_equal(rrl_response_key_wild(SEED, p, olen, info.wildcard, info.wildcard_len,
		                                       &k1), 0);
		assert_int_equal(rrl_response_key(SEED, p, olen, &k2), 0);
		assert_true(k1 != k2);
	}
	assert_int_equal(pass_wild, 10);
	assert_int_equal(pass_name, 30);
	rrl_free(r);
}

struct thr {
	rrl_t *r;
	const uint8_t *p;
	size_t n;
	int pass;
};

static void *thr_run(void *arg)
{
	struct thr *t = arg;
	struct sockaddr_storage a = v4("203.0.113.5");
	for (int i = 0; i < 20000; i++)
		t->pass += rrl_check(t->r, SA(a), t->p, t->n, 3) == RRL_PASS;
	return NULL;
}

static void test_threads(void **st)
{
	/* Four threads on one bucket: no more than rate pass in total. */
	uint8_t p[512];
	size_t n = resp("www.example.com", 1, p);
	rrl_t *r = mk(1000, 2, NULL);
	struct thr t[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ r, p, n, 0 };
		pthread_create(&th[i], NULL, thr_run, &t[i]);
	}
	int pass = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		pass += t[i].pass;
	}
	assert_int_equal(pass, 1000);
	rrl_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_bucket_and_slip),
		cmocka_unit_test(test_nxdomain_by_zone),
		cmocka_unit_test(test_v6_and_whitelist),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_slip_shape),
		cmocka_unit_test(test_wildcard_class),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
