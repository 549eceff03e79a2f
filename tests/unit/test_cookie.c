/* Unit tests of server/lib/cookie.c and the cookie handling of
 * answer_build_peer(): RFC 9018 Appendix A's vectors, validity in time,
 * rotation, FORMERR, BADCOOKIE. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cookie.h"
#include "test_answer_util.h"

static void hex(const char *t, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(t + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static cookie_conf_t conf_with(const char *secret, const char *previous)
{
	cookie_conf_t c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(cookie_secret_from_hex(secret, c.secret), 0);
	if (previous != NULL) {
		assert_int_equal(cookie_secret_from_hex(previous, c.previous), 0);
		c.has_previous = true;
	}
	return c;
}

/* query cookie (hex), client address, now -> the verdict and the answer's cookie. */
static void vector(const cookie_conf_t *c, const char *q, const char *ip, uint32_t now,
                   enum cookie_verdict want_v, const char *want)
{
	uint8_t opt[40], a[16], out[24], w[24];
	size_t len = strlen(q) / 2, alen = strchr(ip, ':') ? 16 : 4;
	hex(q, opt, len);
	assert_int_equal(inet_pton(alen == 16 ? AF_INET6 : AF_INET, ip, a), 1);
	enum cookie_verdict v = cookie_check(c, opt, len, a, alen, now);
	assert_int_equal(v, want_v);
	cookie_answer(c, opt, len, v, a, alen, now, out);
	if (want == NULL)
		return;
	hex(want, w, 24);
	assert_memory_equal(out, w, 24);
}

static void test_rfc9018_vectors(void **st)
{
	cookie_conf_t c = conf_with("e5e973e5a6b2a43f48e7dc849e37bfcf", NULL);
	/* A.1: a client cookie alone gets a new server cookie. */
	vector(&c, "2464c4abcf10c957", "198.51.100.100", 1559731985, COOKIE_CLIENT_ONLY,
	       "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
	/* A.2: valid, 40 minutes old: renewed. */
	vector(&c, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", "198.51.100.100",
	       1559734385, COOKIE_VALID, "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
	/* A.3: reserved bytes set, hashed along: valid within the hour ... */
	vector(&c, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", "203.0.113.203",
	       1559727985 + 60, COOKIE_VALID, NULL);
	/* ... at the example's time, 1 h 52 min after it was made, past the hour
	 * RFC 9018 4.3 allows; either way the answer carries the new cookie of
	 * the example, reserved bytes zero. */
	vector(&c, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", "203.0.113.203",
	       1559734700, COOKIE_BAD, "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
	/* A.4: IPv6, made with the secret before the rollover. */
	cookie_conf_t r = conf_with("445536bcd2513298075a5d379663c962",
	                            "dd3bdf9344b678b185a6f5cb60fca715");
	vector(&r, "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
	       "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961, COOKIE_VALID,
	       "22681ab97d52c298010000005cf7c609a6bb79d16625507a");
	/* ... and not without the previous secret. */
	cookie_conf_t n = conf_with("445536bcd2513298075a5d379663c962", NULL);
	vector(&n, "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
	       "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961, COOKIE_BAD,
	       "22681ab97d52c298010000005cf7c609a6bb79d16625507a");
}

static void test_validity(void **st)
{
	cookie_conf_t c = conf_with("e5e973e5a6b2a43f48e7dc849e37bfcf", NULL);
	uint8_t opt[24], a[4] = { 198, 51, 100, 100 }, b[4] = { 198, 51, 100, 101 };
	hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480", opt, 24);
	uint32_t t = 1559731985;
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t), COOKIE_VALID);
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t + 3600), COOKIE_VALID);
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t + 3601), COOKIE_BAD);
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t - 300), COOKIE_VALID);
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t - 301), COOKIE_BAD);
	/* Another address, another client cookie, a flipped hash bit: bad. */
	assert_int_equal(cookie_check(&c, opt, 24, b, 4, t), COOKIE_BAD);
	opt[0] ^= 1;
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t), COOKIE_BAD);
	opt[0] ^= 1;
	opt[23] ^= 0x80;
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t), COOKIE_BAD);
	opt[23] ^= 0x80;
	/* Young and valid: sent back as it came. */
	uint8_t out[24];
	cookie_answer(&c, opt, 24, COOKIE_VALID, a, 4, t + 60, out);
	assert_memory_equal(out, opt, 24);
	/* Lengths: 8 alone, 16..40 with a server cookie; the rest malformed; a
	 * server cookie of another length or version is not ours. */
	assert_int_equal(cookie_check(&c, opt, 8, a, 4, t), COOKIE_CLIENT_ONLY);
	assert_int_equal(cookie_check(&c, opt, 7, a, 4, t), COOKIE_MALFORMED);
	assert_int_equal(cookie_check(&c, opt, 12, a, 4, t), COOKIE_MALFORMED);
	assert_int_equal(cookie_check(&c, opt, 41, a, 4, t), COOKIE_MALFORMED);
	assert_int_equal(cookie_check(&c, opt, 16, a, 4, t), COOKIE_BAD);
	opt[8] = 2;
	assert_int_equal(cookie_check(&c, opt, 24, a, 4, t), COOKIE_BAD);
	assert_int_equal(cookie_secret_from_hex("e5e973", c.secret), -1);
	assert_int_equal(cookie_secret_from_hex("x5e973e5a6b2a43f48e7dc849e37bfcf", c.secret), -1);
}

static const char *ZONE =
	"$TTL 300\n"
	"@ SOA ns1 host 1 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.53\n"
	"www A 192.0.2.1\n";

/* A query for www.example.com A with a COOKIE option of the given bytes. */
static size_t cq(uint8_t *b, const uint8_t *ck, size_t cklen)
{
	uint8_t w[64];
	size_t len = 0;
	pkt_qspec_t s = { .name = w, .name_len = tq_name(w, "www.example.com"), .qtype = 1,
	                  .qclass = 1, .id = 7, .edns = true, .payload = 1232,
	                  .cookie = ck, .cookie_len = cklen };
	if (cklen != 8 && (cklen < 16 || cklen > 40)) {
		/* pkt_write_query() refuses bad lengths: write it as a raw option. */
		static uint8_t raw[64];
		raw[0] = 0;
		raw[1] = 10;
		raw[2] = 0;
		raw[3] = (uint8_t)cklen;
		memcpy(raw + 4, ck, cklen);
		s.cookie = NULL;
		s.cookie_len = 0;
		s.opts = raw;
		s.opts_len = 4 + cklen;
	}
	assert_int_equal(pkt_write_query(&s, b, 512, &len), 0);
	return len;
}

/* The COOKIE option of response r (last in the OPT record), or NULL. */
static const uint8_t *resp_cookie(const uint8_t *r, size_t n, size_t *len)
{
	for (size_t i = 12; i + 4 <= n; i++)
		if (r[i] == 0 && r[i + 1] == 10 && (r[i + 3] == 24) && i + 4 + 24 == n) {
			*len = r[i + 3];
			return r + i + 4;
		}
	return NULL;
}

static void test_answers(void **st)
{
	zone_t *z = tz_zone("example.com", ZONE);
	zset_t *zs = tz_set(&z, 1);
	cookie_conf_t c = conf_with("e5e973e5a6b2a43f48e7dc849e37bfcf", NULL);
	answer_conf_t ac;
	answer_conf_init(&ac);
	ac.cookies = &c;
	uint8_t ip[4] = { 127, 0, 0, 1 };
	answer_peer_t peer = { .ip = ip, .ip_len = 4, .now = 1700000000 };
	uint8_t q[512], r[512], cc[40] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t ql, rl, ol;
	answer_info_t info;

	/* Client cookie only: the answer, with our cookie. */
	ql = cq(q, cc, 8);
	assert_int_equal(answer_build_peer(zs, &ac, &peer, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(r[3] & 0x0F, 0);
	assert_int_equal(pkt_get16(r + 6), 1);
	assert_int_equal(info.cookie, COOKIE_CLIENT_ONLY);
	assert_false(info.cacheable);
	const uint8_t *ck = resp_cookie(r, rl, &ol);
	assert_non_null(ck);
	assert_memory_equal(ck, cc, 8);
	uint8_t want[16];
	static const uint8_t zero[3];
	cookie_make(c.secret, cc, zero, peer.now, ip, 4, want);
	assert_memory_equal(ck + 8, want, 16);

	/* That cookie back: valid, sent back unchanged. */
	memcpy(cc + 8, want, 16);
	ql = cq(q, cc, 24);
	peer.now += 10;
	assert_int_equal(answer_build_peer(zs, &ac, &peer, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(info.cookie, COOKIE_VALID);
	assert_int_equal(pkt_get16(r + 6), 1);
	ck = resp_cookie(r, rl, &ol);
	assert_non_null(ck);
	assert_memory_equal(ck, cc, 24);
	/* BADCOOKIE asked for: a valid cookie still gets its answer. */
	peer.badcookie = true;
	assert_int_equal(answer_build_peer(zs, &ac, &peer, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(pkt_get16(r + 6), 1);

	/* A forged one: answered (BADCOOKIE off) with a new cookie ... */
	cc[20] ^= 0xFF;
	ql = cq(q, cc, 24);
	peer.badcookie = false;
	assert_int_equal(answer_build_peer(zs, &ac, &peer, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(info.cookie, COOKIE_BAD);
	assert_int_equal(r[3] & 0x0F, 0);
	assert_int_equal(pkt_get16(r + 6), 1);
	ck = resp_cookie(r, rl, &ol);
	assert_non_null(ck);
	assert_memory_not_equal(ck + 8, cc + 8, 16);
	/* ... or BADCOOKIE (23: 7 in the header, 1 in the OPT TTL), no answer. */
	peer.badcookie = true;
	assert_int_equal(answer_build_peer(zs, &ac, &peer, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(info.rcode, 23);
	assert_int_equal(r[3] & 0x0F, 7);
	assert_int_equal(pkt_get16(r + 6), 0);
	assert_non_null(resp_cookie(r, rl, &ol));
	peer.badcookie = false;

	/* A COOKIE option of 12 bytes: FORMERR. */
	ql = cq(q, cc, 12);
	assert_int_equal(answer_build_peer(zs, &ac, &peer, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(r[3] & 0x0F, 1);
	assert_int_equal(info.cookie, COOKIE_MALFORMED);

	/* Cookies off (or no peer): the option is ignored. */
	ac.cookies = NULL;
	assert_int_equal(answer_build_peer(zs, &ac, &peer, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(r[3] & 0x0F, 0);
	assert_null(resp_cookie(r, rl, &ol));
	ac.cookies = &c;
	assert_int_equal(answer_build(zs, &ac, q, ql, ANSWER_UDP, r, 512, &rl, &info), 0);
	assert_int_equal(r[3] & 0x0F, 0);
	zset_free(zs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9018_vectors),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
