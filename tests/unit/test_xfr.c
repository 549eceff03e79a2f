/* Unit tests of server/lib/xfr.c, rrlist.c and zone_rrs.c: RFC 1982 serial
 * arithmetic, an AXFR written in several messages and read back, an IXFR
 * made from two zone versions, read back and applied, malformed streams,
 * NOTIFY parsing and catalog zone members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_answer_util.h"
#include "test_rrlist_util.h"
#include "serial.h"
#include "xfr.h"

static const char *V1 =
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 10 3600 900 86400 300\n"
	"@ NS ns1\n"
	"@ NS ns2.example.net.\n"
	"@ MX 10 mail\n"
	"ns1 A 192.0.2.1\n"
	"mail A 192.0.2.2\n"
	"www A 192.0.2.3\n"
	"www AAAA 2001:db8::3\n"
	"old TXT \"going away\"\n"
	"srv._tcp SRV 0 1 53 ns1\n";

static const char *V2 =
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 11 3600 900 86400 300\n"
	"@ NS ns1\n"
	"@ NS ns2.example.net.\n"
	"@ MX 10 mail\n"
	"ns1 A 192.0.2.1\n"
	"mail 60 A 192.0.2.2\n"
	"www A 192.0.2.3\n"
	"www A 192.0.2.4\n"
	"www AAAA 2001:db8::3\n"
	"new CNAME www\n"
	"srv._tcp SRV 0 1 53 ns1\n";

static void test_serial(void **st)
{
	assert_true(serial_lt(1, 2));
	assert_false(serial_lt(2, 1));
	assert_false(serial_lt(5, 5));
	assert_true(serial_lt(0xFFFFFFFFu, 0));        /* wraps */
	assert_true(serial_gt(0, 0xFFFFFFFFu));
	assert_true(serial_lt(0, 0x7FFFFFFFu));
	assert_false(serial_lt(0, 0x80000000u));       /* undefined: neither */
	assert_false(serial_gt(0, 0x80000000u));
	assert_int_equal(serial_add(0xFFFFFFFFu, 2), 1);
}

/* Query for `origin` with the IXFR SOA in authority; parsed back by ldns. */
static void test_query(void **st)
{
	rrlist_t l;
	zone_list(V1, &l);
	uint8_t b[512];
	size_t len;
	const rr_t *soa = NULL;
	for (size_t i = 0; i < l.n; i++)
		if (l.rr[i].type == PKT_TYPE_SOA)
			soa = &l.rr[i];
	assert_int_equal(xfr_query_build(b, sizeof(b), 7, PKT_OPCODE_QUERY, ORIGIN, ORIGIN_LEN,
	                                 PKT_TYPE_IXFR, &l, soa, &len), 0);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, b, len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);

	/* NOTIFY with the SOA in the answer section, parsed by our side. */
	assert_int_equal(xfr_query_build(b, sizeof(b), 9, PKT_OPCODE_NOTIFY, ORIGIN, ORIGIN_LEN,
	                                 PKT_TYPE_SOA, &l, soa, &len), 0);
	xfr_notify_t n;
	assert_int_equal(xfr_notify_parse(b, len, &n), 0);
	assert_int_equal(n.id, 9);
	assert_true(n.has_serial);
	assert_int_equal(n.serial, 10);
	assert_memory_equal(n.zone, ORIGIN, ORIGIN_LEN);
	uint8_t r[512];
	size_t rl;
	assert_int_equal(xfr_answer_header(b, n.qend, 0, r, sizeof(r), &rl), 0);
	assert_true(r[2] & PKT_F1_QR);
	assert_int_equal((r[2] >> 3) & 15, PKT_OPCODE_NOTIFY);
	/* Not a NOTIFY; a NOTIFY of type A. */
	b[2] = 0;
	assert_int_equal(xfr_notify_parse(b, len, &n), ANYNS_EINVAL);
	b[2] = PKT_OPCODE_NOTIFY << 3;
	b[PKT_HDR_LEN + ORIGIN_LEN + 1] = 1;
	assert_int_equal(xfr_notify_parse(b, len, &n), ANYNS_EMALF);
	rrlist_clear(&l);
}

/* Writes the stream of w in messages of at most cap bytes and feeds them to p. */
static unsigned pump(xfr_writer_t *w, xfr_parser_t *p, size_t cap)
{
	uint8_t buf[65535];
	size_t len;
	unsigned msgs = 0;
	int rc;
	while ((rc = xfr_writer_next(w, buf, cap, &len)) == 0) {
		assert_true(len <= cap);
		assert_int_equal(xfr_parser_feed(p, buf, len), 0);
		msgs++;
	}
	assert_int_equal(rc, ANYNS_ENOENT);
	return msgs;
}

static size_t axfr_query(uint8_t *q, uint16_t type)
{
	struct qopt o = { .id = 0x77 };
	return tq_build(q, "example.com", type, 1, &o);
}

static void test_axfr_roundtrip(void **st)
{
	rrlist_t l;
	zone_list(V1, &l);
	uint8_t q[512];
	size_t qlen = axfr_query(q, PKT_TYPE_AXFR);
	xfr_writer_t w;
	xfr_parser_t p;

	xfr_writer_init(&w, q, qlen);
	assert_int_equal(xfr_writer_axfr(&w, &l), 0);
	xfr_parser_init(&p, PKT_TYPE_AXFR, 0x77, ORIGIN, ORIGIN_LEN, 0);
	/* Small messages: the zone spreads over several. */
	unsigned msgs = pump(&w, &p, 120);
	assert_true(msgs > 3);
	assert_true(p.done);
	assert_int_equal(p.kind, XFR_AXFR);
	assert_int_equal(p.serial, 10);
	rrlist_sort(&p.axfr);
	assert_true(lists_equal(&l, &p.axfr));

	/* The received list compiles to the same zone. */
	zone_t *z = NULL;
	assert_int_equal(zone_compile_rrs("example.com", &p.axfr, "axfr", NULL, NULL, &z), 0);
	rrlist_t back;
	rrlist_init(&back);
	assert_int_equal(rrlist_from_zone(z, &back), 0);
	assert_true(lists_equal(&l, &back));
	zone_unref(z);
	rrlist_clear(&back);

	/* A message after the end is an error. */
	uint8_t buf[512];
	size_t len;
	xfr_writer_clear(&w);
	xfr_writer_init(&w, q, qlen);
	assert_int_equal(xfr_writer_axfr(&w, &l), 0);
	assert_int_equal(xfr_writer_next(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(xfr_parser_feed(&p, buf, len), ANYNS_EMALF);
	xfr_parser_clear(&p);

	/* Wrong ID, and an error rcode. */
	xfr_parser_init(&p, PKT_TYPE_AXFR, 0x78, ORIGIN, ORIGIN_LEN, 0);
	assert_int_equal(xfr_parser_feed(&p, buf, len), ANYNS_EMALF);
	xfr_parser_clear(&p);
	xfr_parser_init(&p, PKT_TYPE_AXFR, 0x77, ORIGIN, ORIGIN_LEN, 0);
	buf[3] = PKT_RCODE_REFUSED;
	assert_int_equal(xfr_parser_feed(&p, buf, len), ANYNS_EINVAL);
	assert_int_equal(p.rcode, PKT_RCODE_REFUSED);
	xfr_parser_clear(&p);

	/* A bound on the records held. */
	xfr_parser_init(&p, PKT_TYPE_AXFR, 0x77, ORIGIN, ORIGIN_LEN, 0);
	p.max_records = 5;
	xfr_writer_clear(&w);
	xfr_writer_init(&w, q, qlen);
	assert_int_equal(xfr_writer_axfr(&w, &l), 0);
	uint8_t big[65535];
	assert_int_equal(xfr_writer_next(&w, big, sizeof(big), &len), 0);
	assert_int_equal(xfr_parser_feed(&p, big, len), ANYNS_EMALF);
	xfr_parser_clear(&p);
	xfr_writer_clear(&w);
	rrlist_clear(&l);
}

static void test_ixfr_roundtrip(void **st)
{
	rrlist_t a, b, applied;
	zone_list(V1, &a);
	zone_list(V2, &b);
	rrlist_init(&applied);

	xfr_change_t ch;
	xfr_change_init(&ch);
	assert_int_equal(xfr_diff(&a, &b, &ch), 0);
	assert_int_equal(ch.from, 10);
	assert_int_equal(ch.to, 11);
	assert_int_equal(ch.del.rr[0].type, PKT_TYPE_SOA);
	assert_int_equal(ch.add.rr[0].type, PKT_TYPE_SOA);
	/* SOA, old TXT, mail A (TTL) out; SOA, mail A, www A, new CNAME in. */
	assert_int_equal(ch.del.n, 3);
	assert_int_equal(ch.add.n, 4);

	/* Through the wire: the parser sees one change equal to ch. */
	uint8_t q[512];
	size_t qlen = axfr_query(q, PKT_TYPE_IXFR);
	xfr_writer_t w;
	xfr_parser_t p;
	const xfr_change_t *chs[1] = { &ch };
	const rr_t *soa = &ch.add.rr[0];
	xfr_writer_init(&w, q, qlen);
	assert_int_equal(xfr_writer_ixfr(&w, &ch.add, soa, chs, 1), 0);
	xfr_parser_init(&p, PKT_TYPE_IXFR, 0x77, ORIGIN, ORIGIN_LEN, 10);
	pump(&w, &p, 100);
	assert_true(p.done);
	assert_int_equal(p.kind, XFR_IXFR);
	assert_int_equal(p.nchanges, 1);
	assert_int_equal(p.changes[0].del.n, 3);
	assert_int_equal(p.changes[0].add.n, 4);

	assert_int_equal(xfr_apply(&a, p.changes, p.nchanges, &applied), 0);
	assert_true(lists_equal(&applied, &b));

	/* Applied to the wrong version, or deleting what is not there: refused. */
	rrlist_reset(&applied);
	assert_int_equal(xfr_apply(&b, p.changes, p.nchanges, &applied), ANYNS_EINVAL);
	xfr_parser_clear(&p);
	xfr_writer_clear(&w);

	/* Two changes in one IXFR: 10 -> 11 -> 12. */
	rrlist_t c;
	zone_list("$TTL 3600\n@ SOA ns1 hostmaster 12 3600 900 86400 300\n@ NS ns1\n"
	          "@ NS ns2.example.net.\nns1 A 192.0.2.1\n", &c);
	xfr_change_t ch2;
	xfr_change_init(&ch2);
	assert_int_equal(xfr_diff(&b, &c, &ch2), 0);
	const xfr_change_t *two[2] = { &ch, &ch2 };
	xfr_writer_init(&w, q, qlen);
	assert_int_equal(xfr_writer_ixfr(&w, &ch2.add, &ch2.add.rr[0], two, 2), 0);
	xfr_parser_init(&p, PKT_TYPE_IXFR, 0x77, ORIGIN, ORIGIN_LEN, 10);
	pump(&w, &p, 65535);
	assert_int_equal(p.nchanges, 2);
	assert_int_equal(p.serial, 12);
	rrlist_reset(&applied);
	assert_int_equal(xfr_apply(&a, p.changes, p.nchanges, &applied), 0);
	assert_true(lists_equal(&applied, &c));
	xfr_parser_clear(&p);
	xfr_writer_clear(&w);

	/* An IXFR answered with the SOA alone: up to date. */
	xfr_parser_init(&p, PKT_TYPE_IXFR, 0x77, ORIGIN, ORIGIN_LEN, 12);
	uint8_t buf[512];
	size_t len;
	/* c is sorted: its SOA sits after the apex NS records. */
	xfr_writer_init(&w, q, qlen);
	for (size_t i = 0; i < c.n; i++)
		if (c.rr[i].type == PKT_TYPE_SOA)
			assert_int_equal(xfr_writer_soa(&w, &c, &c.rr[i]), 0);
	assert_int_equal(xfr_writer_next(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(xfr_parser_feed(&p, buf, len), 0);
	assert_true(p.done);
	assert_int_equal(p.kind, XFR_UPTODATE);
	xfr_parser_clear(&p);
	xfr_writer_clear(&w);

	/* An IXFR answered with a full zone (AXFR style, RFC 1995 4). */
	xfr_writer_init(&w, q, qlen);
	assert_int_equal(xfr_writer_axfr(&w, &b), 0);
	xfr_parser_init(&p, PKT_TYPE_IXFR, 0x77, ORIGIN, ORIGIN_LEN, 10);
	pump(&w, &p, 65535);
	assert_int_equal(p.kind, XFR_AXFR);
	rrlist_sort(&p.axfr);
	assert_true(lists_equal(&p.axfr, &b));
	xfr_parser_clear(&p);
	xfr_writer_clear(&w);

	xfr_change_clear(&ch);
	xfr_change_clear(&ch2);
	rrlist_clear(&a);
	rrlist_clear(&b);
	rrlist_clear(&c);
	rrlist_clear(&applied);
}

/* Names compressed in RDATA are expanded; a pointer loop is refused. */
static void test_read_compressed(void **st)
{
	/* Header, question example.com SOA, answer: MX 10 mail.<ptr to 12>. */
	uint8_t m[128];
	size_t p = 0;
	memset(m, 0, 12);
	pkt_put16(m + 6, 1);
	p = 12;
	memcpy(m + p, ORIGIN, ORIGIN_LEN);
	p += ORIGIN_LEN;
	size_t rr = p;
	m[p++] = 0xC0; m[p++] = 12;                    /* owner: example.com */
	pkt_put16(m + p, PKT_TYPE_MX); pkt_put16(m + p + 2, 1); pkt_put32(m + p + 4, 60);
	pkt_put16(m + p + 8, 9);
	p += 10;
	pkt_put16(m + p, 10);
	p += 2;
	m[p++] = 4; memcpy(m + p, "mail", 4); p += 4;
	m[p++] = 0xC0; m[p++] = 12;
	rrlist_t l;
	rrlist_init(&l);
	size_t pos = rr;
	assert_int_equal(rrlist_read_wire(&l, m, p, &pos), 0);
	assert_int_equal(pos, p);
	assert_int_equal(l.rr[0].rdlen, 2 + 5 + ORIGIN_LEN);
	assert_memory_equal(rr_rdata(&l, &l.rr[0]) + 7, ORIGIN, ORIGIN_LEN);
	/* A pointer to itself. */
	m[p - 1] = (uint8_t)(p - 2);
	pos = rr;
	assert_int_equal(rrlist_read_wire(&l, m, p, &pos), ANYNS_EMALF);
	/* RDLENGTH past the end. */
	pos = rr;
	assert_int_equal(rrlist_read_wire(&l, m, p - 1, &pos), ANYNS_EMALF);
	rrlist_clear(&l);
}

static void test_catalog(void **st)
{
	rrlist_t l, m;
	const char *cat =
		"$TTL 0\n"
		"@ SOA invalid. invalid. 1 3600 600 86400 0\n"
		"@ NS invalid.\n"
		"version TXT \"2\"\n"
		"abc.zones PTR example.org.\n"
		"def.zones PTR Example.NET.\n"
		"dup.zones PTR example.org.\n"
		"x.y.zones PTR ignored.example.\n"
		"group.abc.zones TXT \"g\"\n";
	zone_t *z = NULL;
	assert_int_equal(zone_compile_text("catalog.invalid", cat, "cat", NULL, NULL, &z), 0);
	rrlist_init(&l);
	rrlist_init(&m);
	assert_int_equal(rrlist_from_zone(z, &l), 0);
	zone_unref(z);
	static const uint8_t origin[] = "\x07" "catalog" "\x07" "invalid";
	assert_int_equal(xfr_catalog_members(&l, origin, 17, &m), 0);
	assert_int_equal(m.n, 2);
	char t[256];
	anyns_name_to_text(rr_owner(&m, &m.rr[0]), m.rr[0].owner_len, t, sizeof(t));
	assert_string_equal(t, "example.org.");
	anyns_name_to_text(rr_owner(&m, &m.rr[1]), m.rr[1].owner_len, t, sizeof(t));
	assert_string_equal(t, "example.net.");
	rrlist_clear(&l);
	rrlist_clear(&m);

	/* Version 1 is not processed. */
	z = NULL;
	assert_int_equal(zone_compile_text("catalog.invalid",
	                                   "$TTL 0\n@ SOA invalid. invalid. 1 1 1 1 0\n@ NS invalid.\n"
	                                   "version TXT \"1\"\nabc.zones PTR example.org.\n",
	                                   "cat", NULL, NULL, &z), 0);
	assert_int_equal(rrlist_from_zone(z, &l), 0);
	zone_unref(z);
	assert_int_equal(xfr_catalog_members(&l, origin, 17, &m), ANYNS_EINVAL);
	rrlist_clear(&l);
	rrlist_clear(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_axfr_roundtrip),
		cmocka_unit_test(test_ixfr_roundtrip),
		cmocka_unit_test(test_read_compressed),
		cmocka_unit_test(test_catalog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
