/* Unit tests of server/lib/tsig.c: key decoding, a signed query checked by
 * the server side and by ldns (an independent implementation), a query
 * signed by ldns checked by ours, signed multi-message streams with
 * unsigned messages between signed ones, and the BADSIG, BADKEY and
 * BADTIME cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_answer_util.h"
#include "tsig.h"

#define SECRET "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="
#define NOW 1700000000ull

static void test_base64(void **st)
{
	uint8_t out[64];
	assert_int_equal(tsig_base64_decode("aGVsbG8=", out, sizeof(out)), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(tsig_base64_decode("aGVs bG8h\n", out, sizeof(out)), 6);
	assert_int_equal(tsig_base64_decode("aGVsbG8", out, sizeof(out)), 5); /* unpadded */
	assert_int_equal(tsig_base64_decode("aGVsbG9=", out, sizeof(out)), ANYNS_EINVAL);
	assert_int_equal(tsig_base64_decode("aGV*bG8=", out, sizeof(out)), ANYNS_EINVAL);
	assert_int_equal(tsig_base64_decode("aGVsbG8=", out, 3), ANYNS_ESPACE);

	tsig_key_t k;
	assert_int_equal(tsig_key_init(&k, "Xfr.Key", "HMAC-SHA256.", SECRET), 0);
	assert_int_equal(k.alg, TSIG_HMAC_SHA256);
	assert_memory_equal(k.name, "\x03xfr\x03key\x00", 9);
	assert_int_equal(tsig_key_init(&k, "k", "hmac-md5", SECRET), ANYNS_EINVAL);
	assert_int_equal(tsig_key_init(&k, "k", "hmac-sha1", "!!"), ANYNS_EINVAL);
}

static size_t query(uint8_t *b, uint16_t type)
{
	struct qopt o = { .id = 0x4242 };
	return tq_build(b, "example.com", type, 1, &o);
}

/* Ours signs, ours and ldns verify, for every algorithm. */
static void test_sign_query(void **st)
{
	static const char *algs[] = { "hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512" };
	for (size_t a = 0; a < 4; a++) {
		tsig_key_t k;
		tsig_ctx_t c, s;
		uint8_t q[1024];
		size_t len = query(q, PKT_TYPE_SOA);
		uint64_t now = (uint64_t)time(NULL);

		assert_int_equal(tsig_key_init(&k, "xfr", algs[a], SECRET), 0);
		tsig_ctx_init(&c, &k);
		assert_int_equal(tsig_sign_query(&c, q, &len, sizeof(q), now), 0);
		assert_int_equal(pkt_get16(q + 10), 1);
		assert_int_equal(c.mac_len, tsig_mac_size(k.alg));

		tsig_rr_t tr;
		assert_int_equal(tsig_find(q, len, &tr), 0);
		assert_int_equal(tr.time_signed, now);
		assert_int_equal(tr.fudge, TSIG_FUDGE);
		tsig_ctx_init(&s, &k);
		assert_int_equal(tsig_verify_query(&s, q, len, &tr, now + 10), 0);

		ldns_pkt *p = NULL;
		assert_int_equal(ldns_wire2pkt(&p, q, len), LDNS_STATUS_OK);
		/* ldns 1.8 has no hmac-sha384. */
		if (k.alg != TSIG_HMAC_SHA384 && !ldns_pkt_tsig_verify(p, q, len, "xfr.", SECRET, NULL))
			fail_msg("ldns rejects our %s signature", algs[a]);
		ldns_pkt_free(p);

		/* One flipped bit anywhere in the signed part: BADSIG. */
		q[PKT_HDR_LEN + 3] ^= 0x01;
		assert_int_equal(tsig_find(q, len, &tr), 0);
		assert_int_equal(tsig_verify_query(&s, q, len, &tr, now), TSIG_BADSIG);
		q[PKT_HDR_LEN + 3] ^= 0x01;
		assert_int_equal(tsig_find(q, len, &tr), 0);
		/* Outside the fudge: BADTIME, and the response carries our time. */
		assert_int_equal(tsig_verify_query(&s, q, len, &tr, now + TSIG_FUDGE + 1), TSIG_BADTIME);
		uint8_t r[1024];
		size_t rlen = len;
		memcpy(r, q, tr.rr_start);
		rlen = tr.rr_start;
		pkt_put16(r + 10, 0);
		r[2] |= PKT_F1_QR;
		assert_int_equal(tsig_sign_response(&s, r, &rlen, sizeof(r), now + TSIG_FUDGE + 1), 0);
		assert_int_equal(r[3] & 0x0F, PKT_RCODE_NOTAUTH);
		tsig_rr_t rt;
		assert_int_equal(tsig_find(r, rlen, &rt), 0);
		assert_int_equal(rt.error, TSIG_BADTIME);
		assert_int_equal(rt.other_len, 6);
		uint16_t terr = 0;
		assert_int_equal(tsig_verify_response(&c, r, rlen, now, &terr), ANYNS_EINVAL);
		assert_int_equal(terr, TSIG_BADTIME);

		/* Another key of the same name: BADSIG; another name: BADKEY. */
		tsig_key_t k2;
		assert_int_equal(tsig_key_init(&k2, "xfr", algs[a], "b3RoZXI="), 0);
		tsig_ctx_init(&s, &k2);
		assert_int_equal(tsig_verify_query(&s, q, len, &tr, now), TSIG_BADSIG);
		assert_int_equal(tsig_key_init(&k2, "other", algs[a], SECRET), 0);
		tsig_ctx_init(&s, &k2);
		assert_int_equal(tsig_verify_query(&s, q, len, &tr, now), TSIG_BADKEY);
		tsig_ctx_clear(&c);
	}
}

/* ldns signs, ours verifies; then our response is checked by ldns. */
static void test_ldns_interop(void **st)
{
	tsig_key_t k;
	assert_int_equal(tsig_key_init(&k, "xfr", "hmac-sha256", SECRET), 0);
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("example.com."), LDNS_RR_TYPE_AXFR,
	                                 LDNS_RR_CLASS_IN, 0);
	ldns_pkt_set_id(p, 77);
	assert_int_equal(ldns_pkt_tsig_sign(p, "xfr.", SECRET, 300, "hmac-sha256.", NULL),
	                 LDNS_STATUS_OK);
	uint8_t *wire = NULL;
	size_t wlen = 0;
	assert_int_equal(ldns_pkt2wire(&wire, p, &wlen), LDNS_STATUS_OK);
	tsig_rr_t tr;
	assert_int_equal(tsig_find(wire, wlen, &tr), 0);
	tsig_ctx_t s;
	tsig_ctx_init(&s, &k);
	assert_int_equal(tsig_verify_query(&s, wire, wlen, &tr, (uint64_t)time(NULL)), 0);

	/* Our signed response, checked by ldns against the request MAC. */
	uint8_t r[1024];
	size_t rlen = tr.rr_start;
	memcpy(r, wire, rlen);
	pkt_put16(r + 10, 0);
	r[2] |= PKT_F1_QR;
	assert_int_equal(tsig_sign_response(&s, r, &rlen, sizeof(r), (uint64_t)time(NULL)), 0);
	ldns_pkt *rp = NULL;
	assert_int_equal(ldns_wire2pkt(&rp, r, rlen), LDNS_STATUS_OK);
	ldns_rdf *qmac = ldns_rr_rdf(ldns_pkt_tsig(p), 3);
	assert_true(ldns_pkt_tsig_verify(rp, r, rlen, "xfr.", SECRET, qmac));
	ldns_pkt_free(rp);
	ldns_pkt_free(p);
	free(wire);
}

/* An unsigned response message; seq makes each one differ. */
static size_t resp_msg(uint8_t *b, uint16_t id, unsigned seq)
{
	char name[64];
	struct qopt o = { .id = id };
	snprintf(name, sizeof(name), "m%u.example.com", seq);
	size_t len = tq_build(b, name, PKT_TYPE_AXFR, 1, &o);
	b[2] |= PKT_F1_QR;
	return len;
}

/* The start of a transfer under key k (alg): client context c signs an
 * AXFR query, server context s verifies it. */
static void stream_start(tsig_key_t *k, const char *alg, tsig_ctx_t *c, tsig_ctx_t *s)
{
	uint8_t q[512];
	size_t qlen = query(q, PKT_TYPE_AXFR);
	tsig_rr_t tr;
	assert_int_equal(tsig_key_init(k, "xfr", alg, SECRET), 0);
	tsig_ctx_init(c, k);
	tsig_ctx_init(s, k);
	assert_int_equal(tsig_sign_query(c, q, &qlen, sizeof(q), NOW), 0);
	assert_int_equal(tsig_find(q, qlen, &tr), 0);
	assert_int_equal(tsig_verify_query(s, q, qlen, &tr, NOW), 0);
}

static void test_stream(void **st)
{
	tsig_key_t k;
	tsig_ctx_t c, s;
	uint16_t terr;

	stream_start(&k, "hmac-sha512", &c, &s);

	/* Messages 0 and 3 signed, 1 and 2 not (RFC 8945 5.3.1). */
	uint8_t m[4][600];
	size_t ml[4];
	for (unsigned i = 0; i < 4; i++)
		ml[i] = resp_msg(m[i], 0x4242, i);
	assert_int_equal(tsig_sign_response(&s, m[0], &ml[0], 600, NOW), 0);
	assert_int_equal(tsig_verify_response(&c, m[0], ml[0], NOW, &terr), 0);
	assert_true(tsig_stream_complete(&c));
	for (unsigned i = 1; i <= 2; i++) {
		assert_int_equal(tsig_verify_response(&c, m[i], ml[i], NOW, &terr), 0);
		assert_false(tsig_stream_complete(&c));
	}
	/* The server-side digest of message 3 covers 1 and 2 whole and 3 without
	 * its TSIG: sign the concatenation 1|2|3, then move the record onto 3
	 * (same ID, ARCOUNT 0 before signing, so both sides digest the same). */
	{
		uint8_t big[2000];
		size_t bl = ml[1] + ml[2];
		memcpy(big, m[1], ml[1]);
		memcpy(big + ml[1], m[2], ml[2]);
		memcpy(big + bl, m[3], ml[3]);
		size_t l3 = bl + ml[3];
		assert_int_equal(tsig_sign_response(&s, big, &l3, sizeof(big), NOW + 1), 0);
		size_t rr = l3 - (bl + ml[3]);
		memcpy(m[3] + ml[3], big + bl + ml[3], rr);
		ml[3] += rr;
		pkt_put16(m[3] + 10, 1);
	}
	assert_int_equal(tsig_verify_response(&c, m[3], ml[3], NOW + 1, &terr), 0);
	assert_true(tsig_stream_complete(&c));
	tsig_ctx_clear(&c);
	tsig_ctx_clear(&s);
}

/* Every message signed, and a tampered one in the middle. */
static void test_stream_all_signed(void **st)
{
	tsig_key_t k;
	tsig_ctx_t c, s;
	uint16_t terr;

	stream_start(&k, "hmac-sha256", &c, &s);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t m[600];
		size_t ml = resp_msg(m, 0x4242, i);
		assert_int_equal(tsig_sign_response(&s, m, &ml, sizeof(m), NOW + i), 0);
		if (i == 2) {
			m[PKT_HDR_LEN] ^= 0x20;
			assert_int_equal(tsig_verify_response(&c, m, ml, NOW, &terr), ANYNS_EINVAL);
			assert_int_equal(terr, TSIG_BADSIG);
			break;
		}
		assert_int_equal(tsig_verify_response(&c, m, ml, NOW + i, &terr), 0);
	}
	/* An unsigned first response is refused. */
	tsig_ctx_t c2;
	tsig_ctx_init(&c2, &k);
	uint8_t m[600];
	size_t ml = resp_msg(m, 1, 0);
	assert_int_equal(tsig_verify_response(&c2, m, ml, NOW, &terr), ANYNS_EINVAL);
	tsig_ctx_clear(&c);
	tsig_ctx_clear(&c2);
	tsig_ctx_clear(&s);
}

/* The unsigned BADKEY answer a server gives to an unknown key. */
static void test_badkey_answer(void **st)
{
	tsig_key_t k;
	tsig_ctx_t c;
	uint8_t q[512], r[512];
	size_t qlen = query(q, PKT_TYPE_SOA);
	uint16_t terr;

	assert_int_equal(tsig_key_init(&k, "unknown", "hmac-sha256", SECRET), 0);
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign_query(&c, q, &qlen, sizeof(q), NOW), 0);
	tsig_rr_t tr;
	assert_int_equal(tsig_find(q, qlen, &tr), 0);
	size_t rlen = tr.rr_start;
	memcpy(r, q, rlen);
	r[2] |= PKT_F1_QR;
	pkt_put16(r + 10, 0);
	assert_int_equal(tsig_append_error(r, &rlen, sizeof(r), &tr, TSIG_BADKEY, NOW), 0);
	assert_int_equal(r[3] & 0x0F, PKT_RCODE_NOTAUTH);
	tsig_rr_t rt;
	assert_int_equal(tsig_find(r, rlen, &rt), 0);
	assert_int_equal(rt.error, TSIG_BADKEY);
	assert_int_equal(rt.mac_len, 0);
	assert_int_equal(tsig_verify_response(&c, r, rlen, NOW, &terr), ANYNS_EINVAL);
	assert_int_equal(terr, TSIG_BADKEY);

	/* TSIG not last: malformed. */
	memcpy(r + rlen, r + tr.rr_start, rlen - tr.rr_start);
	pkt_put16(r + 10, 2);
	assert_int_equal(tsig_find(r, rlen + (rlen - tr.rr_start), &rt), ANYNS_EMALF);
	/* Truncated record. */
	assert_int_equal(tsig_find(q, qlen - 1, &rt), ANYNS_EMALF);
	tsig_ctx_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_sign_query),
		cmocka_unit_test(test_ldns_interop),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_all_signed),
		cmocka_unit_test(test_badkey_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
