/* Unit tests of server/lib/pkt.c (query parsing) and of how answer_build()
 * treats malformed queries: dropped, FORMERR or NOTIMP, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_answer_util.h"

static answer_conf_t g_conf;

/* Runs answer_build on q (copied to a buffer of exactly qlen bytes so that
 * ASan sees any read past the end) and returns its result. */
static int build(const uint8_t *q, size_t qlen, uint8_t *out, size_t *outlen)
{
	uint8_t *exact = malloc(qlen ? qlen : 1);
	memcpy(exact, q, qlen);
	int ret = answer_build(NULL, &g_conf, exact, qlen, ANSWER_UDP, out, 65535, outlen, NULL);
	free(exact);
	return ret;
}

static uint8_t rcode_of(const uint8_t *r)
{
	return r[3] & 0x0F;
}

static void test_short_and_response_dropped(void **st)
{
	uint8_t q[512] = { 0 }, out[65535];
	size_t n = tq_build(q, "example.com", 1, 1, NULL), ol = 0;

	for (size_t i = 0; i < PKT_HDR_LEN; i++)
		assert_int_equal(build(q, i, out, &ol), ANYNS_EDROP);
	q[2] |= PKT_F1_QR;
	assert_int_equal(build(q, n, out, &ol), ANYNS_EDROP);
	/* A header alone (no question, QDCOUNT 1) is answered FORMERR. */
	q[2] &= (uint8_t)~PKT_F1_QR;
	assert_int_equal(build(q, PKT_HDR_LEN, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
}

static void test_qdcount(void **st)
{
	uint8_t q[512] = { 0 }, out[65535];
	size_t n = tq_build(q, "example.com", 1, 1, NULL), ol = 0;

	pkt_put16(q + 4, 0);
	assert_int_equal(build(q, PKT_HDR_LEN, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	assert_int_equal(pkt_get16(out + 4), 0);
	assert_true(out[2] & PKT_F1_QR);
	assert_int_equal(pkt_get16(out), 0x1234);

	/* Two questions: FORMERR, nothing echoed. */
	uint8_t q2[512];
	memcpy(q2, q, n);
	memcpy(q2 + n, q + PKT_HDR_LEN, n - PKT_HDR_LEN);
	pkt_put16(q2 + 4, 2);
	assert_int_equal(build(q2, n + n - PKT_HDR_LEN, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	assert_int_equal(pkt_get16(out + 4), 0);
	assert_int_equal(ol, PKT_HDR_LEN);
}

static void test_bad_question_names(void **st)
{
	uint8_t q[1024] = { 0 }, out[65535];
	size_t ol = 0, n;

	/* Compression pointer in the question (to the header, or to itself). */
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	q[PKT_HDR_LEN + 4] = 0xC0;
	q[PKT_HDR_LEN + 5] = PKT_HDR_LEN;
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	assert_int_equal(pkt_get16(out + 4), 0);
	q[PKT_HDR_LEN] = 0xC0;
	q[PKT_HDR_LEN + 1] = PKT_HDR_LEN;
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* Label longer than 63 (0x40/0x80 label types). */
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	q[PKT_HDR_LEN] = 0x40;
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	q[PKT_HDR_LEN] = 0x83;
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* A 64-byte label with all its bytes present is still malformed. */
	memset(q, 0, sizeof(q));
	n = tq_build(q, "example.com", 1, 1, NULL);
	q[PKT_HDR_LEN] = 64;
	memset(q + PKT_HDR_LEN + 1, 'a', 64);
	q[PKT_HDR_LEN + 65] = 0;
	pkt_put16(q + PKT_HDR_LEN + 66, 1);
	pkt_put16(q + PKT_HDR_LEN + 68, 1);
	assert_int_equal(build(q, PKT_HDR_LEN + 70, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	/* ... while 63 is fine (no zone: REFUSED). */
	q[PKT_HDR_LEN] = 63;
	q[PKT_HDR_LEN + 64] = 0;
	assert_int_equal(build(q, PKT_HDR_LEN + 69, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_REFUSED);

	/* Name longer than 255: 5 labels of 63, written by hand after the
	 * header (pkt_write_query() refuses such a name). */
	char big[400];
	size_t bl = 0, p = PKT_HDR_LEN;
	(void)tq_build(q, "a", 1, 1, NULL);
	for (int i = 0; i < 5; i++) {
		q[p++] = 63;
		memset(q + p, 'a' + i, 63);
		p += 63;
	}
	q[p++] = 0;
	pkt_put16(q + p, 1);
	pkt_put16(q + p + 2, 1);
	n = p + 4;
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	/* 63+63+63+61 letters: exactly 255 bytes in wire form is fine. */
	bl = 0;
	for (int i = 0; i < 4; i++) {
		int l = i < 3 ? 63 : 61;
		memset(big + bl, 'a' + i, (size_t)l);
		bl += (size_t)l;
		big[bl++] = '.';
	}
	big[bl - 1] = 0;
	n = tq_build(q, big, 1, 1, NULL);
	pkt_query_t pq;
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_int_equal(pq.rcode, 0);
	assert_int_equal(pq.qname_len, 255);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_REFUSED);

	/* Every truncation of the question is FORMERR. */
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	for (size_t i = PKT_HDR_LEN; i < n; i++) {
		assert_int_equal(build(q, i, out, &ol), 0);
		assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
		assert_int_equal(pkt_get16(out + 4), 0);
	}
}

static void test_opcode_notimp(void **st)
{
	uint8_t q[512] = { 0 }, out[65535];
	size_t n = tq_build(q, "Example.COM", 1, 1, NULL), ol = 0;

	q[2] |= 2 << 3;   /* STATUS */
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_NOTIMP);
	assert_int_equal((out[2] >> 3) & 0xF, 2);
	/* The question is echoed byte for byte. */
	assert_int_equal(pkt_get16(out + 4), 1);
	assert_int_equal(ol, n);
	assert_memory_equal(out + PKT_HDR_LEN, q + PKT_HDR_LEN, n - PKT_HDR_LEN);
	/* UPDATE (5) with a broken record: still NOTIMP. */
	q[2] = (uint8_t)(5 << 3);
	pkt_put16(q + 8, 1);
	assert_int_equal(build(q, n + 3, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_NOTIMP);
}

/* Appends an OPT with raw rdata; returns the new length. */
static size_t add_opt(uint8_t *q, size_t n, const uint8_t *rd, uint16_t rdlen, uint16_t declared)
{
	q[n] = 0;
	pkt_put16(q + n + 1, PKT_TYPE_OPT);
	pkt_put16(q + n + 3, 1232);
	pkt_put32(q + n + 5, 0);
	pkt_put16(q + n + 9, declared);
	if (rdlen)
		memcpy(q + n + 11, rd, rdlen);
	pkt_put16(q + 10, (uint16_t)(pkt_get16(q + 10) + 1));
	return n + 11 + rdlen;
}

static void test_bad_opt(void **st)
{
	uint8_t q[1024] = { 0 }, out[65535];
	size_t ol = 0, n, base = tq_build(q, "example.com", 1, 1, NULL);
	pkt_query_t pq;

	/* A good OPT parses, and so does a good OPT with an unknown option. */
	n = add_opt(q, base, NULL, 0, 0);
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_int_equal(pq.rcode, 0);
	assert_true(pq.edns);
	assert_true(pq.simple);
	assert_int_equal(pq.edns_payload, 1232);

	/* Two OPT records. */
	n = add_opt(q, n, NULL, 0, 0);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	/* no OPT in the reply to a broken EDNS query */
	assert_int_equal(pkt_get16(out + 10), 0);

	/* Wrong owner (not the root). */
	pkt_put16(q + 10, 0);
	n = base;
	memcpy(q + n, "\1x\0", 3);
	n = add_opt(q, n + 2, NULL, 0, 0);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* Truncated rdata: rdlength beyond the packet. */
	pkt_put16(q + 10, 0);
	n = add_opt(q, base, (const uint8_t *)"\0\3\0\0", 4, 8);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* Option length beyond the rdata. */
	pkt_put16(q + 10, 0);
	n = add_opt(q, base, (const uint8_t *)"\0\3\0\5ab", 6, 6);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* Option header cut short inside the rdata. */
	pkt_put16(q + 10, 0);
	n = add_opt(q, base, (const uint8_t *)"\0\3\0", 3, 3);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* OPT in the answer section. */
	pkt_put16(q + 10, 0);
	n = add_opt(q, base, NULL, 0, 0);
	pkt_put16(q + 10, 0);
	pkt_put16(q + 6, 1);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	pkt_put16(q + 6, 0);

	/* Every truncation of an OPT record: FORMERR, never a read past qlen. */
	pkt_put16(q + 10, 0);
	n = add_opt(q, base, (const uint8_t *)"\0\3\0\0\xfd\xe9\0\1z", 9, 9);
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_int_equal(pq.rcode, 0);
	assert_true(pq.nsid);
	assert_false(pq.simple);   /* options: no cache key */
	for (size_t i = base; i < n; i++) {
		assert_int_equal(build(q, i, out, &ol), 0);
		assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	}
}

static void test_trailing_garbage(void **st)
{
	uint8_t q[512] = { 0 }, out[65535];
	size_t n = tq_build(q, "example.com", 1, 1, NULL), ol = 0;

	q[n] = 0xAB;
	assert_int_equal(build(q, n + 1, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	/* the question was fine: it is echoed */
	assert_int_equal(pkt_get16(out + 4), 1);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_REFUSED);

	struct qopt o = { .id = 1, .edns = true, .payload = 1232 };
	n = tq_build(q, "example.com", 1, 1, &o);
	q[n] = 0;
	assert_int_equal(build(q, n + 1, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
}

/* A query carries no answer or authority records (but an IXFR's SOA) and at
 * most two additional ones: anything else is FORMERR before any name is
 * walked. Pointers in the additional records must go backwards, and chains
 * of them are bounded. */
static void test_records_in_query(void **st)
{
	uint8_t q[65535] = { 0 }, out[65535];
	size_t base = tq_build(q, "example.com", 1, 1, NULL), n, ol = 0;
	pkt_query_t pq;

	/* A record whose owner points to the question. */
	n = base;
	q[n++] = 0xC0;
	q[n++] = PKT_HDR_LEN;
	pkt_put16(q + n, 1); pkt_put16(q + n + 2, 1); pkt_put32(q + n + 4, 60);
	pkt_put16(q + n + 8, 4);
	memcpy(q + n + 10, "\xc0\0\2\1", 4);
	n += 14;
	/* In the additional section it is parsed over. */
	pkt_put16(q + 10, 1);
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_int_equal(pq.rcode, 0);
	assert_false(pq.simple);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_REFUSED);
	/* As a known answer or in the authority section: FORMERR, as NSD. */
	pkt_put16(q + 10, 0);
	pkt_put16(q + 6, 1);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	pkt_put16(q + 6, 0);
	pkt_put16(q + 8, 1);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	pkt_put16(q + 8, 0);
	pkt_put16(q + 10, 1);

	/* A pointer to itself (a loop). */
	q[base] = 0xC0;
	q[base + 1] = (uint8_t)base;
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	/* A forward pointer. */
	q[base + 1] = (uint8_t)(base + 4);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);
	/* Two pointers pointing at each other: a loop through the question. */
	q[base] = 0xC0;
	q[base + 1] = PKT_HDR_LEN;
	q[PKT_HDR_LEN] = 0xC0;
	q[PKT_HDR_LEN + 1] = (uint8_t)base;
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* NSCOUNT says one record but nothing follows. */
	n = tq_build(q, "example.com", 1, 1, NULL);
	pkt_put16(q + 8, 1);
	assert_int_equal(build(q, n, out, &ol), 0);
	assert_int_equal(rcode_of(out), PKT_RCODE_FORMERR);

	/* Three additional records: FORMERR, whatever they hold. */
	n = tq_build(q, "example.com", 1, 1, NULL);
	pkt_put16(q + 10, 3);
	for (int i = 0; i < 3; i++) {
		q[n] = 0;
		pkt_put16(q + n + 1, 1); pkt_put16(q + n + 3, 1);
		pkt_put32(q + n + 5, 60); pkt_put16(q + n + 9, 0);
		n += 11;
	}
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_int_equal(pq.rcode, PKT_RCODE_FORMERR);
	pkt_put16(q + 10, 2);
	assert_int_equal(pkt_parse_query(q, n - 11, &pq), 0);
	assert_int_equal(pq.rcode, 0);

	/* A chain of backward pointers, each to the one before: sound up to
	 * PKT_MAX_PTR_HOPS pointers, malformed past it. */
	for (unsigned hops = PKT_MAX_PTR_HOPS; hops <= PKT_MAX_PTR_HOPS + 1; hops++) {
		n = tq_build(q, "example.com", 1, 1, NULL);
		q[n++] = 0xC0;
		q[n++] = PKT_HDR_LEN;                   /* to the question */
		for (unsigned i = 1; i < hops; i++) {
			q[n] = (uint8_t)(0xC0 | (n - 2) >> 8);
			q[n + 1] = (uint8_t)(n - 2);
			n += 2;
		}
		size_t owner = n - 2;
		pkt_put16(q + n, 1); pkt_put16(q + n + 2, 1); pkt_put32(q + n + 4, 60);
		pkt_put16(q + n + 8, 0);
		n += 10;
		size_t pos = owner;
		assert_int_equal(pkt_skip_name(q, n, &pos),
		                 hops <= PKT_MAX_PTR_HOPS ? 0 : ANYNS_EMALF);
	}
}

static void test_skip_name(void **st)
{
	const uint8_t m[] = "\0\0\0\0\3abc\0\1x\xc0\4";
	size_t pos = 9;
	assert_int_equal(pkt_skip_name(m, 13, &pos), 0);
	assert_int_equal(pos, 13);
	pos = 9;
	assert_int_equal(pkt_skip_name(m, 12, &pos), ANYNS_EMALF);   /* cut pointer */
	pos = 4;
	assert_int_equal(pkt_skip_name(m, 13, &pos), 0);
	assert_int_equal(pos, 9);
}

/* pkt_write_query(): what it writes parses back to the same facts, with
 * ldns too, and bad names, cookies and small buffers are refused. */
static void test_write_query(void **st)
{
	static const uint8_t name[] = "\3WwW\7example\3com";
	static const uint8_t cookie[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t q[512];
	size_t n = 0;
	pkt_query_t pq;

	pkt_qspec_t s = { .name = name, .name_len = sizeof(name), .qtype = 28, .qclass = 1,
	                  .id = 0xabcd, .flags1 = PKT_F1_RD, .flags2 = PKT_F2_CD };
	assert_int_equal(pkt_write_query(&s, q, sizeof(q), &n), 0);
	assert_int_equal(n, 12 + 17 + 4);
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_true(pq.simple);
	assert_false(pq.edns);
	assert_int_equal(pq.id, 0xabcd);
	assert_int_equal(pq.flags1, PKT_F1_RD);
	assert_int_equal(pq.flags2, PKT_F2_CD);
	assert_int_equal(pq.qtype, 28);
	assert_memory_equal(q + 12, name, sizeof(name));    /* case kept */

	s.edns = true;
	s.do_bit = true;
	s.payload = 1232;
	assert_int_equal(pkt_write_query(&s, q, sizeof(q), &n), 0);
	assert_int_equal(n, 12 + 17 + 4 + 11);
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_true(pq.simple && pq.edns && pq.do_bit);
	assert_int_equal(pq.edns_payload, 1232);

	/* Options: NSID, then the cookie, then raw ones; ldns reads them. */
	static const uint8_t raw[] = { 0xfd, 0xe9, 0, 1, 'x' };
	s.nsid = true;
	s.cookie = cookie;
	s.cookie_len = sizeof(cookie);
	s.opts = raw;
	s.opts_len = sizeof(raw);
	s.edns_version = 0;
	assert_int_equal(pkt_write_query(&s, q, sizeof(q), &n), 0);
	assert_int_equal(n, 12 + 17 + 4 + 11 + 4 + 12 + 5);
	assert_int_equal(pkt_parse_query(q, n, &pq), 0);
	assert_true(pq.nsid && pq.edns_opts && !pq.simple);
	ldns_pkt *lp = NULL;
	assert_int_equal(ldns_wire2pkt(&lp, q, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_get_opcode(lp), LDNS_PACKET_QUERY);
	assert_true(ldns_pkt_edns_do(lp));
	assert_int_equal(ldns_pkt_edns_udp_size(lp), 1232);
	ldns_rdf *ed = ldns_pkt_edns_data(lp);
	assert_non_null(ed);
	assert_int_equal(ldns_rdf_size(ed), 4 + 12 + 5);
	assert_memory_equal(ldns_rdf_data(ed) + 4, "\0\x0a\0\x08\1\2\3\4\5\6\7\x08", 12);
	ldns_pkt_free(lp);

	/* Refused: a cookie of a length RFC 7873 4 does not allow, a bad name,
	 * a buffer too small by one byte. */
	s.cookie_len = 12;
	assert_int_equal(pkt_write_query(&s, q, sizeof(q), &n), ANYNS_EINVAL);
	s.cookie_len = 8;
	pkt_qspec_t bad = s;
	bad.name_len = 5;                                    /* cut inside a label */
	assert_int_equal(pkt_write_query(&bad, q, sizeof(q), &n), ANYNS_EINVAL);
	bad.name = (const uint8_t *)"\xc0\x0c";
	bad.name_len = 2;                                    /* a pointer */
	assert_int_equal(pkt_write_query(&bad, q, sizeof(q), &n), ANYNS_EINVAL);
	assert_int_equal(pkt_write_query(&s, q, 12 + 17 + 4 + 11 + 4 + 12 + 4, &n), ANYNS_ESPACE);
}

/* Random mutations of valid queries: bounded, fixed seed; answer_build must
 * return 0 or EDROP and produce a response ldns can parse. */
static void test_mutations(void **st)
{
	uint8_t q[600], out[65535];
	struct qopt o = { .id = 3, .edns = true, .payload = 1232, .nsid = true, .unknown_opt = true };
	size_t base = tq_build(q, "www.Example.com", 1, 1, &o), ol;
	unsigned seed = 12345;

	g_conf.nsid = (const uint8_t *)"pop1";
	g_conf.nsid_len = 4;
	for (int it = 0; it < 20000; it++) {
		uint8_t m[600];
		size_t n = base;
		memcpy(m, q, base);
		int flips = 1 + rand_r(&seed) % 4;
		for (int f = 0; f < flips; f++)
			m[rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
		if (rand_r(&seed) % 4 == 0)
			n = (size_t)rand_r(&seed) % (base + 1);
		int ret = build(m, n, out, &ol);
		assert_true(ret == 0 || ret == ANYNS_EDROP);
		if (ret == 0) {
			ldns_pkt *p = NULL;
			assert_int_equal(ldns_wire2pkt(&p, out, ol), LDNS_STATUS_OK);
			ldns_pkt_free(p);
		}
	}
	g_conf.nsid = NULL;
	g_conf.nsid_len = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_and_response_dropped),
		cmocka_unit_test(test_qdcount),
		cmocka_unit_test(test_bad_question_names),
		cmocka_unit_test(test_opcode_notimp),
		cmocka_unit_test(test_bad_opt),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_records_in_query),
		cmocka_unit_test(test_skip_name),
		cmocka_unit_test(test_write_query),
		cmocka_unit_test(test_mutations),
	};
	answer_conf_init(&g_conf);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
