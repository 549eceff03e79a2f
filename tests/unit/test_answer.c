/* Unit tests of answer_build() on compiled zones: exact matches, negative
 * answers, wildcards, referrals, CNAME/DNAME, additional processing, ANY,
 * EDNS, truncation, CHAOS, compression, cache keys and patching. Each
 * response is parsed back with ldns and checked section by section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_answer_util.h"
#include "zone_db.h"

static const char *ZONE =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"@ NS ns2.example.net.\n"
	"@ MX 10 mail\n"
	"@ A 192.0.2.1\n"
	"ns1 A 192.0.2.53\n"
	"ns1 AAAA 2001:db8::53\n"
	"mail A 192.0.2.25\n"
	"mail AAAA 2001:db8::25\n"
	"www CNAME host\n"
	"host A 192.0.2.80\n"
	"*.wild TXT \"wild\"\n"
	"*.wild A 192.0.2.99\n"
	"*.wc CNAME host\n"
	"*.b TXT \"b-wild\"\n"
	"x.a.b A 192.0.2.7\n"
	"sub NS ns.sub\n"
	"sub NS ns.other.example.net.\n"
	"ns.sub A 192.0.2.100\n"
	"ns.sub AAAA 2001:db8::100\n"
	"sec NS ns.sec\n"
	"sec DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE3A5BBA68726F2F0C 46E4E19B\n"
	"ns.sec A 192.0.2.101\n"
	"loop1 CNAME loop2\n"
	"loop2 CNAME loop1\n"
	"self CNAME self\n"
	"dangling CNAME nothere\n"
	"nodata CNAME host\n"
	"out CNAME www.example.net.\n"
	"d 7200 DNAME example.net.\n"
	"dd 600 DNAME t\n"
	"dc 600 DNAME T.Example.COM.\n"
	"*.wl CNAME x.wl\n"
	"x.t A 192.0.2.30\n"
	"long DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.example.net.\n"
	"_sip._udp SRV 0 0 5060 host\n"
	"mx2 MX 10 ns.sub\n"
	"dl DNAME x.dl\n"
	"odd MX 10 a.wild\nodd MX 20 b.wild\nodd MX 30 host\n"
	"_odd._tcp SRV 0 0 443 c.wild\n"
	"c01 CNAME c02\nc02 CNAME c03\nc03 CNAME c04\nc04 CNAME c05\nc05 CNAME c06\n"
	"c06 CNAME c07\nc07 CNAME c08\nc08 CNAME c09\nc09 CNAME c10\nc10 CNAME c11\n"
	"c11 CNAME c12\nc12 CNAME c13\nc13 CNAME c14\nc14 CNAME c15\nc15 CNAME c16\n"
	"c16 CNAME c17\nc17 CNAME c18\nc18 CNAME c19\nc19 CNAME c20\nc20 A 192.0.2.20\n"
	"mx2 MX 20 mail\n"
	"multi AAAA 2001:db8::1\n"
	"multi TXT \"t\"\n"
	"multi A 192.0.2.2\n"
	"txtonly TXT \"x\"\n"
	"txtonly HINFO \"pc\" \"os\"\n"
	"mxmany MX 10 m01\nmxmany MX 10 m02\nmxmany MX 10 m03\nmxmany MX 10 m04\n"
	"mxmany MX 10 m05\nmxmany MX 10 m06\nmxmany MX 10 m07\nmxmany MX 10 m08\n"
	"mxmany MX 10 m09\nmxmany MX 10 m10\nmxmany MX 10 m11\nmxmany MX 10 m12\n"
	"m01 A 192.0.2.201\nm01 AAAA 2001:db8::201\nm02 A 192.0.2.202\nm02 AAAA 2001:db8::202\n"
	"m03 A 192.0.2.203\nm03 AAAA 2001:db8::203\nm04 A 192.0.2.204\nm04 AAAA 2001:db8::204\n"
	"m05 A 192.0.2.205\nm05 AAAA 2001:db8::205\nm06 A 192.0.2.206\nm06 AAAA 2001:db8::206\n"
	"m07 A 192.0.2.207\nm07 AAAA 2001:db8::207\nm08 A 192.0.2.208\nm08 AAAA 2001:db8::208\n"
	"m09 A 192.0.2.209\nm09 AAAA 2001:db8::209\nm10 A 192.0.2.210\nm10 AAAA 2001:db8::210\n"
	"m11 A 192.0.2.211\nm11 AAAA 2001:db8::211\nm12 A 192.0.2.212\nm12 AAAA 2001:db8::212\n";

/* A second zone whose SOA TTL is below its MINIMUM. */
static const char *ZONE2 =
	"$ORIGIN other.test.\n"
	"@ 100 IN SOA ns hostmaster 7 7200 3600 1209600 900\n"
	"@ 100 NS ns\n"
	"ns 100 A 192.0.2.9\n";

static zset_t *g_zs;
static answer_conf_t g_conf;

/* Sends one query through answer_build and parses the response. */
static ldns_pkt *ask_raw(const uint8_t *q, size_t qlen, enum answer_transport tp,
                         uint8_t *out, size_t *outlen, answer_info_t *info)
{
	size_t ol = 0;
	answer_info_t inf;
	uint8_t *buf = out ? out : malloc(65535);
	int ret = answer_build(g_zs, &g_conf, q, qlen, tp, buf, 65535, &ol, &inf);
	assert_int_equal(ret, 0);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, buf, ol), LDNS_STATUS_OK);
	tr_dump(p);
	if (outlen)
		*outlen = ol;
	if (info)
		*info = inf;
	if (!out)
		free(buf);
	return p;
}

static ldns_pkt *ask(const char *name, uint16_t type)
{
	uint8_t q[512];
	size_t n = tq_build(q, name, type, PKT_CLASS_IN, NULL);
	return ask_raw(q, n, ANSWER_UDP, NULL, NULL, NULL);
}

static ldns_pkt *ask_edns(const char *name, uint16_t type, uint16_t payload)
{
	uint8_t q[512];
	struct qopt o = { .id = 42, .edns = true, .payload = payload };
	size_t n = tq_build(q, name, type, PKT_CLASS_IN, &o);
	return ask_raw(q, n, ANSWER_UDP, NULL, NULL, NULL);
}

#define AN(p) ldns_pkt_answer(p)
#define NS(p) ldns_pkt_authority(p)
#define AR(p) ldns_pkt_additional(p)
#define RCODE(p) ldns_pkt_get_rcode(p)
#define NEG_SOA "example.com. 300 in soa ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"

static void check_counts(ldns_pkt *p, int an, int ns, int ar)
{
	assert_int_equal(ldns_pkt_ancount(p), an);
	assert_int_equal(ldns_pkt_nscount(p), ns);
	assert_int_equal(ldns_pkt_arcount(p), ar);
}

static void test_header_flags(void **st)
{
	uint8_t q[512], out[65535];
	size_t n = tq_build(q, "host.example.com", 1, 1, &(struct qopt){ .id = 0xBEEF, .rd = true });
	q[3] |= PKT_F2_CD | PKT_F2_AD;

	ldns_pkt *p = ask_raw(q, n, ANSWER_UDP, out, NULL, NULL);
	assert_int_equal(ldns_pkt_id(p), 0xBEEF);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_false(ldns_pkt_ra(p));
	assert_true(ldns_pkt_aa(p));
	assert_false(ldns_pkt_tc(p));
	/* RFC 4035 3: CD copied; 3.1.6: AD never set by an authoritative server. */
	assert_true(ldns_pkt_cd(p));
	assert_false(ldns_pkt_ad(p));
	ldns_pkt_free(p);

	n = tq_build(q, "host.example.com", 1, 1, &(struct qopt){ .id = 1, .rd = false });
	p = ask_raw(q, n, ANSWER_UDP, out, NULL, NULL);
	assert_false(ldns_pkt_rd(p));
	assert_false(ldns_pkt_cd(p));
	ldns_pkt_free(p);
	/* A cached template answers a query with CD set, and one without. */
	uint8_t t[512], q2[512], o2[512];
	size_t tl = 0, ol = 0;
	n = tq_build(q, "host.example.com", 1, 1, &(struct qopt){ .id = 2 });
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, t, sizeof(t), &tl, NULL), 0);
	size_t n2 = tq_build(q2, "host.example.com", 1, 1, &(struct qopt){ .id = 3 });
	q2[3] |= PKT_F2_CD;
	assert_int_equal(acache_patch(t, tl, q2, n2, o2, sizeof(o2), &ol), 0);
	assert_int_equal(answer_build(g_zs, &g_conf, q2, n2, ANSWER_UDP, out, 512, &n, NULL), 0);
	assert_int_equal(ol, n);
	assert_memory_equal(o2, out, n);
	assert_true(o2[3] & PKT_F2_CD);
}

static void test_exact_and_case(void **st)
{
	uint8_t q[512], out[65535];
	size_t n = tq_build(q, "HoSt.ExAmPlE.cOm", 1, 1, NULL), ol = 0;
	ldns_pkt *p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);

	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	/* answer, apex NS in authority (as NSD), ns1 glue in additional */
	check_counts(p, 1, 2, 2);
	assert_int_equal(tr_count(AN(p), "host.example.com. 3600 in a 192.0.2.80"), 1);
	assert_int_equal(tr_count(NS(p), "example.com. 3600 in ns ns1.example.com."), 1);
	assert_int_equal(tr_count(NS(p), "example.com. 3600 in ns ns2.example.net."), 1);
	assert_int_equal(tr_count(AR(p), "ns1.example.com. 3600 in a 192.0.2.53"), 1);
	assert_int_equal(tr_count(AR(p), "ns1.example.com. 3600 in aaaa 2001:db8::53"), 1);
	/* The question is echoed byte for byte and the answer owner is a
	 * pointer to it. */
	assert_memory_equal(out + PKT_HDR_LEN, q + PKT_HDR_LEN, n - PKT_HDR_LEN);
	assert_int_equal(out[n], 0xC0);
	assert_int_equal(out[n + 1], PKT_HDR_LEN);
	ldns_pkt_free(p);
}

static void test_nxdomain_nodata(void **st)
{
	ldns_pkt *p = ask("nx.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	check_counts(p, 0, 1, 0);
	/* RFC 2308 3: TTL = min(SOA TTL 3600, MINIMUM 300) */
	assert_int_equal(tr_count(NS(p), NEG_SOA), 1);
	ldns_pkt_free(p);

	p = ask("host.example.com", 28);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	check_counts(p, 0, 1, 0);
	assert_int_equal(tr_count(NS(p), NEG_SOA), 1);
	ldns_pkt_free(p);

	/* SOA TTL below MINIMUM: the SOA TTL wins. */
	p = ask("nx.other.test", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(tr_count(NS(p), "other.test. 100 in soa ns.other.test. hostmaster.other.test. 7 7200 3600 1209600 900"), 1);
	ldns_pkt_free(p);
}

static void test_refused(void **st)
{
	ldns_pkt *p = ask("example.org", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(p));
	check_counts(p, 0, 0, 0);
	ldns_pkt_free(p);

	/* No zone set at all. */
	uint8_t q[512], out[512];
	size_t n = tq_build(q, "example.com", 1, 1, NULL), ol;
	assert_int_equal(answer_build(NULL, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol, NULL), 0);
	assert_int_equal(out[3] & 0xF, PKT_RCODE_REFUSED);

	/* Class other than IN and CH. */
	n = tq_build(q, "host.example.com", 1, 4, NULL);
	p = ask_raw(q, n, ANSWER_UDP, NULL, NULL, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);

	/* QCLASS *: answered from the IN data, never authoritative (RFC 1035
	 * 6.2), without the optional authority NS (as NSD). */
	n = tq_build(q, "example.com", 6, 255, NULL);
	p = ask_raw(q, n, ANSWER_UDP, NULL, NULL, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(p));
	check_counts(p, 1, 0, 0);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_SOA), 1);
	assert_int_equal(ldns_rr_get_class(ldns_rr_list_rr(AN(p), 0)), LDNS_RR_CLASS_IN);
	ldns_pkt_free(p);

	/* No zone transfers: AXFR over UDP is NOTIMP, otherwise REFUSED. */
	n = tq_build(q, "example.com", 252, 1, NULL);
	p = ask_raw(q, n, ANSWER_UDP, NULL, NULL, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOTIMPL);
	check_counts(p, 0, 0, 0);
	ldns_pkt_free(p);
	p = ask_raw(q, n, ANSWER_TCP, NULL, NULL, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	n = tq_build(q, "example.com", 251, 1, NULL);
	p = ask_raw(q, n, ANSWER_UDP, NULL, NULL, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);

	/* The most specific zone answers. */
	p = ask("ns.other.test", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(tr_count(AN(p), "ns.other.test. 100 in a 192.0.2.9"), 1);
	ldns_pkt_free(p);
}

static void test_wildcards(void **st)
{
	uint8_t q[512], out[65535];
	size_t n = tq_build(q, "Foo.Wild.example.com", 16, 1, NULL), ol;
	ldns_pkt *p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(tr_count(AN(p), "foo.wild.example.com. 3600 in txt \"wild\""), 1);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	/* RFC 4592 2.2.1: the owner is the query name: a pointer to it. */
	assert_int_equal(out[n], 0xC0);
	assert_int_equal(out[n + 1], PKT_HDR_LEN);
	ldns_pkt_free(p);

	/* Deeper names match too. */
	p = ask("a.b.c.wild.example.com", 1);
	assert_int_equal(tr_count(AN(p), "a.b.c.wild.example.com. 3600 in a 192.0.2.99"), 1);
	ldns_pkt_free(p);

	/* Wildcard NODATA: NOERROR with the SOA. */
	p = ask("foo.wild.example.com", 15);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	check_counts(p, 0, 1, 0);
	assert_int_equal(tr_count(NS(p), NEG_SOA), 1);
	ldns_pkt_free(p);

	/* The wildcard's own name is an exact match. */
	p = ask("*.wild.example.com", 1);
	assert_int_equal(tr_count(AN(p), "*.wild.example.com. 3600 in a 192.0.2.99"), 1);
	ldns_pkt_free(p);

	/* RFC 4592 3.3.1: a.b exists (empty non-terminal above x.a.b), so
	 * *.b does not cover it nor names below it. */
	p = ask("a.b.example.com", 16);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	check_counts(p, 0, 1, 0);
	ldns_pkt_free(p);
	p = ask("y.a.b.example.com", 16);
	assert_int_equal(RCODE(p), LDNS_RCODE_NXDOMAIN);
	check_counts(p, 0, 1, 0);
	ldns_pkt_free(p);
	p = ask("z.b.example.com", 16);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(tr_count(AN(p), "z.b.example.com. 3600 in txt \"b-wild\""), 1);
	ldns_pkt_free(p);
	/* The wildcard's parent itself is not covered by it. */
	p = ask("wild.example.com", 16);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	check_counts(p, 0, 1, 0);
	ldns_pkt_free(p);

	/* Wildcard CNAME: synthesised CNAME, then its target. */
	p = ask("x.wc.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(tr_count(AN(p), "x.wc.example.com. 3600 in cname host.example.com."), 1);
	assert_int_equal(tr_count(AN(p), "host.example.com. 3600 in a 192.0.2.80"), 1);
	ldns_pkt_free(p);
}

static void test_referral(void **st)
{
	ldns_pkt *p = ask("www.sub.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(p));
	check_counts(p, 0, 2, 2);
	assert_int_equal(tr_count(NS(p), "sub.example.com. 3600 in ns ns.sub.example.com."), 1);
	assert_int_equal(tr_count(NS(p), "sub.example.com. 3600 in ns ns.other.example.net."), 1);
	assert_int_equal(tr_count(AR(p), "ns.sub.example.com. 3600 in a 192.0.2.100"), 1);
	assert_int_equal(tr_count(AR(p), "ns.sub.example.com. 3600 in aaaa 2001:db8::100"), 1);
	ldns_pkt_free(p);

	/* At the cut, any type but DS, and the glue name itself. */
	p = ask("sub.example.com", 2);
	assert_false(ldns_pkt_aa(p));
	check_counts(p, 0, 2, 2);
	ldns_pkt_free(p);
	p = ask("ns.sub.example.com", 1);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(tr_count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	ldns_pkt_free(p);
	p = ask("sub.example.com", 255);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);

	/* DS at the cut: the parent side answers, authoritatively (and, as
	 * NSD, without the apex NS). */
	p = ask("sec.example.com", 43);
	assert_true(ldns_pkt_aa(p));
	check_counts(p, 1, 0, 0);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_DS), 1);
	ldns_pkt_free(p);
	p = ask("sub.example.com", 43);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	check_counts(p, 0, 1, 0);
	assert_int_equal(tr_count(NS(p), NEG_SOA), 1);
	ldns_pkt_free(p);

	/* The apex NS is an answer, not a referral. */
	p = ask("example.com", 2);
	assert_true(ldns_pkt_aa(p));
	check_counts(p, 2, 0, 2);
	assert_int_equal(tr_count(AR(p), "ns1.example.com. 3600 in a 192.0.2.53"), 1);
	ldns_pkt_free(p);
}

static void test_cname(void **st)
{
	ldns_pkt *p = ask("www.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(tr_count(AN(p), "www.example.com. 3600 in cname host.example.com."), 1);
	assert_int_equal(tr_count(AN(p), "host.example.com. 3600 in a 192.0.2.80"), 1);
	ldns_pkt_free(p);

	/* Through one wildcard under two names: a.wl -> x.wl -> x.wl, then
	 * the loop (same wildcard, same name) ends it. */
	p = ask("a.wl.example.com", 1);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(tr_count(AN(p), "a.wl.example.com. 3600 in cname x.wl.example.com."), 1);
	assert_int_equal(tr_count(AN(p), "x.wl.example.com. 3600 in cname x.wl.example.com."), 1);
	ldns_pkt_free(p);

	/* qtype CNAME: just the CNAME. */
	p = ask("www.example.com", 5);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(tr_count(AN(p), "www.example.com. 3600 in cname host.example.com."), 1);
	ldns_pkt_free(p);

	/* Loops end, each CNAME given once. */
	p = ask("loop1.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	ldns_pkt_free(p);
	p = ask("self.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);

	/* A long chain is followed to its end, as NSD does. */
	p = ask("c01.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 20);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_CNAME), 19);
	assert_int_equal(tr_count(AN(p), "c20.example.com. 3600 in a 192.0.2.20"), 1);
	ldns_pkt_free(p);
	p = ask("c10.example.com", 1);
	assert_int_equal(ldns_pkt_ancount(p), 11);
	assert_int_equal(tr_count(AN(p), "c20.example.com. 3600 in a 192.0.2.20"), 1);
	ldns_pkt_free(p);

	/* RFC 6604: the rcode of the last name looked up. */
	p = ask("dangling.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(tr_count(AN(p), "dangling.example.com. 3600 in cname nothere.example.com."), 1);
	assert_int_equal(tr_count(NS(p), NEG_SOA), 1);
	ldns_pkt_free(p);
	p = ask("nodata.example.com", 28);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(tr_count(NS(p), NEG_SOA), 1);
	ldns_pkt_free(p);

	/* Out of zone target: the CNAME only, as NSD. */
	p = ask("out.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	check_counts(p, 1, 0, 0);
	ldns_pkt_free(p);
}

static void test_dname(void **st)
{
	ldns_pkt *p = ask("x.D.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	check_counts(p, 2, 0, 0);
	assert_int_equal(tr_count(AN(p), "d.example.com. 7200 in dname example.net."), 1);
	/* RFC 6672 3.1: TTL of the synthesised CNAME = DNAME TTL */
	assert_int_equal(tr_count(AN(p), "x.d.example.com. 7200 in cname x.example.net."), 1);
	ldns_pkt_free(p);

	/* Target in the zone: followed. */
	p = ask("x.dd.example.com", 1);
	assert_int_equal(ldns_pkt_ancount(p), 3);
	assert_int_equal(tr_count(AN(p), "dd.example.com. 600 in dname t.example.com."), 1);
	assert_int_equal(tr_count(AN(p), "x.dd.example.com. 600 in cname x.t.example.com."), 1);
	assert_int_equal(tr_count(AN(p), "x.t.example.com. 3600 in a 192.0.2.30"), 1);
	ldns_pkt_free(p);

	/* A target written in mixed case is still found (lookups are on
	 * lowercased names). */
	p = ask("x.dc.example.com", 1);
	assert_int_equal(ldns_pkt_ancount(p), 3);
	assert_int_equal(tr_count(AN(p), "x.t.example.com. 3600 in a 192.0.2.30"), 1);
	ldns_pkt_free(p);

	/* A DNAME into its own subtree: each step is a longer name; the
	 * second visit of the DNAME ends it. */
	p = ask("a.dl.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(tr_count(AN(p), "a.dl.example.com. 3600 in cname a.x.dl.example.com."), 1);
	ldns_pkt_free(p);

	/* The DNAME owner itself is not redirected. */
	p = ask("d.example.com", 39);
	check_counts(p, 1, 2, 2);
	ldns_pkt_free(p);
	p = ask("d.example.com", 1);
	check_counts(p, 0, 1, 0);
	ldns_pkt_free(p);

	/* RFC 6672 2.2: a result longer than 255 bytes is YXDOMAIN. */
	p = ask("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_YXDOMAIN);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_DNAME), 1);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_CNAME), 0);
	ldns_pkt_free(p);
	p = ask("a.long.example.com", 1);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_CNAME), 1);
	ldns_pkt_free(p);
}

static void test_additional(void **st)
{
	ldns_pkt *p = ask("example.com", 15);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(tr_count(AR(p), "mail.example.com. 3600 in a 192.0.2.25"), 1);
	assert_int_equal(tr_count(AR(p), "mail.example.com. 3600 in aaaa 2001:db8::25"), 1);
	assert_int_equal(tr_count(AR(p), "ns1.example.com. 3600 in a 192.0.2.53"), 1);
	assert_int_equal(ldns_pkt_arcount(p), 4);
	ldns_pkt_free(p);

	p = ask("_sip._udp.example.com", 33);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(tr_count(AR(p), "host.example.com. 3600 in a 192.0.2.80"), 1);
	ldns_pkt_free(p);

	/* An MX target below a cut is glue, not data of ours: left out. */
	p = ask("mx2.example.com", 15);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_int_equal(tr_count(AR(p), "mail.example.com. 3600 in a 192.0.2.25"), 1);
	assert_int_equal(tr_count(AR(p), "ns.sub.example.com. 3600 in a 192.0.2.100"), 0);
	assert_int_equal(ldns_pkt_arcount(p), 4);
	ldns_pkt_free(p);

	/* Targets covered by a wildcard get its addresses, under their names. */
	p = ask("odd.example.com", 15);
	assert_int_equal(tr_count(AR(p), "a.wild.example.com. 3600 in a 192.0.2.99"), 1);
	assert_int_equal(tr_count(AR(p), "b.wild.example.com. 3600 in a 192.0.2.99"), 1);
	assert_int_equal(tr_count(AR(p), "host.example.com. 3600 in a 192.0.2.80"), 1);
	ldns_pkt_free(p);
	p = ask("_odd._tcp.example.com", 33);
	assert_int_equal(tr_count(AR(p), "c.wild.example.com. 3600 in a 192.0.2.99"), 1);
	ldns_pkt_free(p);

	/* No duplicates: ns1 A is the answer, not repeated in additional. */
	p = ask("ns1.example.com", 1);
	assert_int_equal(tr_count(AN(p), "ns1.example.com. 3600 in a 192.0.2.53"), 1);
	assert_int_equal(tr_count(AR(p), "ns1.example.com. 3600 in a 192.0.2.53"), 0);
	assert_int_equal(tr_count(AR(p), "ns1.example.com. 3600 in aaaa 2001:db8::53"), 1);
	ldns_pkt_free(p);

	/* RFC 2181 9: additional data that does not fit is left out, no TC. */
	p = ask("mxmany.example.com", 15);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 12);
	assert_true(ldns_pkt_arcount(p) > 0);
	assert_true(ldns_pkt_arcount(p) < 24);
	assert_true(ldns_pkt_size(p) <= 512);
	/* A records first (as NSD): more targets get an address. */
	assert_int_equal(tr_count_type(AR(p), LDNS_RR_TYPE_A), 11);
	assert_int_equal(tr_count_type(AR(p), LDNS_RR_TYPE_AAAA), 0);
	ldns_pkt_free(p);
	p = ask_edns("mxmany.example.com", 15, 4096);
	assert_int_equal(ldns_pkt_arcount(p), 24 + 2);   /* + ns1 A/AAAA (ldns hides the OPT) */
	ldns_pkt_free(p);

	/* Without EDNS the cut is the same for every client: cacheable. With
	 * EDNS it depends on the client's size: a template would be wrong for
	 * a client offering more. */
	uint8_t q[512];
	answer_info_t info;
	size_t n = tq_build(q, "mxmany.example.com", 15, 1, NULL);
	p = ask_raw(q, n, ANSWER_UDP, NULL, NULL, &info);
	assert_true(info.cacheable);
	ldns_pkt_free(p);
	n = tq_build(q, "mxmany.example.com", 15, 1, &(struct qopt){ .edns = true, .payload = 512 });
	p = ask_raw(q, n, ANSWER_UDP, NULL, NULL, &info);
	assert_false(ldns_pkt_tc(p));
	assert_true(ldns_pkt_arcount(p) < 24);
	assert_false(info.cacheable);
	ldns_pkt_free(p);
}

/* minimal-responses (NSD's semantics): positive answers lose the apex NS
 * set and every additional address but those of NS targets; referrals,
 * NS answers and negative answers keep what they need. */
static void test_minimal_responses(void **st)
{
	static const struct { const char *name; uint16_t type; int an, ns, ar, ns_full, ar_full; } c[] = {
		{ "www.example.com", 1, 2, 0, 0, 2, 2 },        /* CNAME, then A */
		{ "example.com", 15, 1, 0, 0, 2, 4 },           /* MX: no target addresses */
		{ "_sip._udp.example.com", 33, 1, 0, 0, 2, 3 }, /* SRV: likewise */
		{ "x.wild.example.com", 16, 1, 0, 0, 2, 2 },    /* wildcard */
		{ "example.com", 2, 2, 0, 2, 0, 2 },            /* NS: the servers' addresses */
		{ "www.sub.example.com", 1, 0, 2, 2, 2, 2 },    /* referral: NS and glue */
		{ "nothere.example.com", 1, 0, 1, 0, 1, 0 },    /* NXDOMAIN: SOA */
		{ "multi.example.com", 15, 0, 1, 0, 1, 0 },     /* NODATA: SOA */
	};
	uint8_t q[512];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = tq_build(q, c[i].name, c[i].type, PKT_CLASS_IN, NULL), full_len, min_len;
		answer_info_t fi, mi;
		g_conf.minimal_responses = false;
		ldns_pkt *full = ask_raw(q, n, ANSWER_UDP, NULL, &full_len, &fi);
		g_conf.minimal_responses = true;
		ldns_pkt *min = ask_raw(q, n, ANSWER_UDP, NULL, &min_len, &mi);
		g_conf.minimal_responses = false;
		print_message("%s/%u: %zu -> %zu bytes\n", c[i].name, c[i].type, full_len, min_len);
		check_counts(full, c[i].an, c[i].ns_full, c[i].ar_full);
		check_counts(min, c[i].an, c[i].ns, c[i].ar);
		/* The same rcode, flags and answer section; never larger. */
		assert_int_equal(RCODE(min), RCODE(full));
		assert_int_equal(ldns_pkt_aa(min), ldns_pkt_aa(full));
		assert_false(ldns_pkt_tc(min));
		assert_true(ldns_rr_list_compare(AN(min), AN(full)) == 0);
		assert_true(min_len <= full_len);
		assert_int_equal(mi.cacheable, fi.cacheable);
		assert_int_equal(mi.partial, false);
		if (c[i].ns == 0 && c[i].ns_full > 0)
			assert_true(min_len < full_len);
		ldns_pkt_free(full);
		ldns_pkt_free(min);
	}
}

static void test_any(void **st)
{
	/* RFC 8482 4.1: one RRset. At the apex NSD gives the SOA. */
	ldns_pkt *p = ask("example.com", 255);
	assert_true(ldns_pkt_aa(p));
	check_counts(p, 1, 0, 0);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_SOA), 1);
	ldns_pkt_free(p);

	p = ask("mail.example.com", 255);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	p = ask("multi.example.com", 255);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(tr_count_type(AN(p), LDNS_RR_TYPE_TXT), 0);
	ldns_pkt_free(p);
	p = ask("txtonly.example.com", 255);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	/* An empty non-terminal: NODATA. */
	p = ask("a.b.example.com", 255);
	check_counts(p, 0, 1, 0);
	ldns_pkt_free(p);
}

static void test_edns(void **st)
{
	uint8_t q[512], out[65535];
	struct qopt o = { .id = 5, .edns = true, .payload = 4096, .do_bit = true };
	size_t n = tq_build(q, "host.example.com", 1, 1, &o);
	answer_info_t info;
	ldns_pkt *p = ask_raw(q, n, ANSWER_UDP, out, NULL, &info);

	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_true(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_true(info.edns);
	assert_true(info.do_bit);
	ldns_pkt_free(p);

	/* No DO in, no DO out. */
	o.do_bit = false;
	n = tq_build(q, "host.example.com", 1, 1, &o);
	p = ask_raw(q, n, ANSWER_UDP, out, NULL, NULL);
	assert_false(ldns_pkt_edns_do(p));
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* No OPT in, none out. */
	p = ask("host.example.com", 1);
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* Unknown options are ignored. */
	o.unknown_opt = true;
	n = tq_build(q, "host.example.com", 1, 1, &o);
	p = ask_raw(q, n, ANSWER_UDP, out, NULL, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);

	/* RFC 6891 6.1.3: version 1 -> BADVERS (16), no answer data. */
	o.unknown_opt = false;
	o.version = 1;
	n = tq_build(q, "host.example.com", 1, 1, &o);
	p = ask_raw(q, n, ANSWER_UDP, out, NULL, &info);
	assert_int_equal(info.rcode, 16);
	assert_int_equal(out[3] & 0xF, 0);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	check_counts(p, 0, 0, 0);
	assert_int_equal(pkt_get16(out + 10), 1);   /* the OPT */
	ldns_pkt_free(p);
}

static bool has_nsid(const uint8_t *m, size_t len)
{
	/* The OPT is the last record: find the option code 3 in its rdata. */
	for (size_t i = PKT_HDR_LEN; i + 15 <= len; i++)
		if (m[i] == 0 && pkt_get16(m + i + 1) == PKT_TYPE_OPT &&
		    pkt_get16(m + i + 9) == len - i - 11)
			return len - i - 11 >= 4 && pkt_get16(m + i + 11) == PKT_OPT_NSID;
	return false;
}

static void test_nsid(void **st)
{
	uint8_t q[512], out[65535];
	struct qopt o = { .id = 5, .edns = true, .payload = 1232, .nsid = true };
	size_t n = tq_build(q, "host.example.com", 1, 1, &o), ol;
	answer_info_t info;

	/* NSID off in config: no option. */
	ldns_pkt *p = ask_raw(q, n, ANSWER_UDP, out, &ol, &info);
	assert_false(has_nsid(out, ol));
	ldns_pkt_free(p);

	g_conf.nsid = (const uint8_t *)"pop1";
	g_conf.nsid_len = 4;
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, &info);
	assert_true(has_nsid(out, ol));
	assert_memory_equal(out + ol - 4, "pop1", 4);
	assert_int_equal(pkt_get16(out + ol - 6), 4);
	assert_false(info.cacheable);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);

	/* An NSID too big for the UDP limit is left out, the answer stays. */
	static uint8_t huge[1300];
	memset(huge, 'n', sizeof(huge));
	g_conf.nsid = huge;
	g_conf.nsid_len = sizeof(huge);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, &info);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_true(ol <= 1232);
	assert_false(has_nsid(out, ol));
	ldns_pkt_free(p);
	p = ask_raw(q, n, ANSWER_TCP, out, &ol, &info);
	assert_true(ol > 1300);
	assert_true(has_nsid(out, ol));
	ldns_pkt_free(p);
	g_conf.nsid = (const uint8_t *)"pop1";
	g_conf.nsid_len = 4;

	/* Not with BADVERS. */
	o.version = 1;
	n = tq_build(q, "host.example.com", 1, 1, &o);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, &info);
	assert_int_equal(info.rcode, 16);
	assert_false(has_nsid(out, ol));
	ldns_pkt_free(p);
	o.version = 0;

	/* Not asked for: not given. */
	o.nsid = false;
	n = tq_build(q, "host.example.com", 1, 1, &o);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, &info);
	assert_false(has_nsid(out, ol));
	ldns_pkt_free(p);
	g_conf.nsid = NULL;
	g_conf.nsid_len = 0;
}

static void test_truncation(void **st)
{
	uint8_t q[512], out[65535];
	size_t n, ol;
	answer_info_t info;
	ldns_pkt *p;

	/* The 12 MX with their owner are ~250 bytes; make a bigger set. */
	static const char *BIG =
		"$ORIGIN big.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n";
	char *text = malloc(65536);
	size_t tl = (size_t)sprintf(text, "%s", BIG);
	for (int i = 0; i < 40; i++)
		tl += (size_t)sprintf(text + tl, "t TXT \"%02d-0123456789012345678901234567890123456789\"\n", i);
	/* 1000 NS names: more than 16 KB, past what pointers can reach. */
	for (int i = 0; i < 1000; i++)
		tl += (size_t)sprintf(text + tl, "many NS n%04d.many.example.net.\n", i);
	zone_t *zones[2] = { tz_zone("big.test", text), NULL };
	free(text);
	zset_t *saved = g_zs;
	g_zs = tz_set(zones, 1);

	/* No EDNS: 512 bytes, TC with the question only. */
	n = tq_build(q, "T.big.test", 16, 1, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, &info);
	assert_true(ldns_pkt_tc(p));
	assert_true(info.tc);
	assert_false(info.cacheable);
	check_counts(p, 0, 0, 0);
	assert_int_equal(ol, n);
	assert_memory_equal(out + PKT_HDR_LEN, q + PKT_HDR_LEN, n - PKT_HDR_LEN);
	ldns_pkt_free(p);

	/* EDNS 1232 (our cap) is not enough either: TC plus the OPT. */
	p = ask_edns("t.big.test", 16, 4096);
	assert_true(ldns_pkt_tc(p));
	check_counts(p, 0, 0, 0);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* With a bigger cap of ours and the client's size it fits. */
	g_conf.max_udp_payload = 4096;
	p = ask_edns("t.big.test", 16, 4000);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 40);
	ldns_pkt_free(p);
	/* The client's size is honoured... */
	p = ask_edns("t.big.test", 16, 1500);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);
	/* ... and anything below 512 counts as 512. */
	n = tq_build(q, "ns.big.test", 1, 1, &(struct qopt){ .edns = true, .payload = 100 });
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
	zset_t *big = g_zs;
	g_zs = saved;
	n = tq_build(q, "example.com", 15, 1, &(struct qopt){ .edns = true, .payload = 100 });
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_true(ol > 100);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_arcount(p), 4);
	ldns_pkt_free(p);
	g_zs = big;
	g_conf.max_udp_payload = 1232;

	/* TCP: everything, with names past 0x3FFF still decoding right. */
	n = tq_build(q, "t.big.test", 16, 1, NULL);
	p = ask_raw(q, n, ANSWER_TCP, out, &ol, &info);
	assert_false(ldns_pkt_tc(p));
	assert_false(info.cacheable);
	assert_int_equal(ldns_pkt_ancount(p), 40);
	ldns_pkt_free(p);
	n = tq_build(q, "many.big.test", 2, 1, NULL);
	p = ask_raw(q, n, ANSWER_TCP, out, &ol, &info);
	assert_true(ol > 0x3FFF);
	assert_int_equal(ldns_pkt_nscount(p), 1000);   /* a referral */
	assert_int_equal(tr_count(NS(p), "many.big.test. 60 in ns n0000.many.example.net."), 1);
	assert_int_equal(tr_count(NS(p), "many.big.test. 60 in ns n0999.many.example.net."), 1);
	for (size_t i = 0; i < 1000; i++) {
		char want[128];
		char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(NS(p), i), 0));
		snprintf(want, sizeof(want), "n%04zu.many.example.net.", i);
		assert_string_equal(s, want);
		free(s);
	}
	ldns_pkt_free(p);
	/* A TCP buffer too small for the answer: TC as well. */
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_TCP, out, 2000, &ol, &info), 0);
	assert_true(info.tc);
	assert_true(out[2] & PKT_F1_TC);

	zset_free(g_zs);
	g_zs = saved;
}

static void test_chaos(void **st)
{
	uint8_t q[512], out[65535];
	size_t n = tq_build(q, "ID.Server", 16, PKT_CLASS_CH, NULL), ol;
	ldns_pkt *p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);

	/* Not configured: REFUSED. */
	assert_int_equal(RCODE(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);

	g_conf.id_server = "pop1.anyns";
	g_conf.hostname_bind = "host-a";
	g_conf.version_bind = "anyns 1.0";
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(tr_count(AN(p), "id.server. 0 ch txt \"pop1.anyns\""), 1);
	ldns_pkt_free(p);
	n = tq_build(q, "hostname.bind", 16, PKT_CLASS_CH, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(tr_count(AN(p), "hostname.bind. 0 ch txt \"host-a\""), 1);
	ldns_pkt_free(p);
	n = tq_build(q, "version.bind", 16, PKT_CLASS_CH, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(tr_count(AN(p), "version.bind. 0 ch txt \"anyns 1.0\""), 1);
	ldns_pkt_free(p);
	n = tq_build(q, "version.server", 16, PKT_CLASS_CH, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(tr_count(AN(p), "version.server. 0 ch txt \"anyns 1.0\""), 1);
	ldns_pkt_free(p);
	/* Other names, and each one turned off. */
	n = tq_build(q, "authors.bind", 16, PKT_CLASS_CH, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	g_conf.version_bind = NULL;
	n = tq_build(q, "version.bind", 16, PKT_CLASS_CH, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(RCODE(p), LDNS_RCODE_REFUSED);
	ldns_pkt_free(p);
	/* A long identity is split into 255-byte strings. */
	char longid[600];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	g_conf.hostname_bind = longid;
	n = tq_build(q, "hostname.bind", 16, PKT_CLASS_CH, NULL);
	p = ask_raw(q, n, ANSWER_TCP, out, &ol, NULL);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_rd_count(ldns_rr_list_rr(AN(p), 0)), 3);
	ldns_pkt_free(p);
	g_conf.id_server = g_conf.hostname_bind = NULL;
}

/* Counts uncompressed occurrences of the name (case ignored) in m. */
static int count_name(const uint8_t *m, size_t len, const uint8_t *w, size_t wl)
{
	int hits = 0;
	for (size_t i = 0; i + wl <= len; i++) {
		size_t k = 0;
		while (k < wl && (m[i + k] | 0x20) == (w[k] | 0x20))
			k++;
		if (k == wl)
			hits++;
	}
	return hits;
}

static void test_compression(void **st)
{
	uint8_t q[512], out[65535];
	size_t n = tq_build(q, "Example.Com", 15, 1, NULL), ol;
	ldns_pkt *p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);

	/* "example.com" appears in full once (the question); every other
	 * owner and the names in MX and NS rdata point at it. */
	assert_int_equal(count_name(out, ol, (const uint8_t *)"\7example\3com", 13), 1);
	/* "mail" is written once: in the MX, then pointed to. */
	assert_int_equal(count_name(out, ol, (const uint8_t *)"\4mail", 5), 1);
	assert_int_equal(tr_count(AN(p), "example.com. 3600 in mx 10 mail.example.com."), 1);
	ldns_pkt_free(p);

	/* SRV targets are not compressed (RFC 2782, RFC 3597 4). */
	n = tq_build(q, "_sip._udp.example.com", 33, 1, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(count_name(out, ol, (const uint8_t *)"\4host\7example\3com\0", 18), 1);
	ldns_pkt_free(p);

	/* DNAME targets neither (RFC 6672 2.5). */
	n = tq_build(q, "example.net.dd.example.com", 1, 1, NULL);
	p = ask_raw(q, n, ANSWER_UDP, out, &ol, NULL);
	assert_int_equal(count_name(out, ol, (const uint8_t *)"\1t\7example\3com\0", 15), 1);
	ldns_pkt_free(p);
}

/* The XDP and cache path: a template built for the lowercase query, patched
 * with a query in any case, equals what answer_build gives for it. */
static void test_patch(void **st)
{
	static const struct { const char *name; uint16_t type; bool edns, do_bit; } qs[] = {
		{ "host.example.com", 1, false, false }, { "www.example.com", 1, true, false },
		{ "example.com", 15, true, true }, { "example.com", 2, false, false },
		{ "nx.example.com", 1, false, false }, { "host.example.com", 28, true, false },
		{ "foo.wild.example.com", 16, false, false }, { "x.wc.example.com", 1, true, true },
		{ "www.sub.example.com", 1, false, false }, { "sec.example.com", 43, false, false },
		{ "dangling.example.com", 1, false, false }, { "x.dd.example.com", 1, true, false },
		{ "x.d.example.com", 1, false, false }, { "_sip._udp.example.com", 33, false, false },
		{ "example.com", 255, false, false }, { "example.org", 1, false, false },
		{ "ns.other.test", 1, true, true }, { "loop1.example.com", 1, false, false },
		{ "mail.example.com", 255, true, false }, { "a.b.example.com", 16, false, false },
	};
	unsigned seed = 7;
	int cached = 0;

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		for (int v = 0; v < 8; v++) {
			uint8_t lq[512], mq[512], tmpl[65535], want[65535], got[65535];
			size_t ln, mn, tl, wl, gl;
			answer_info_t ti, wi;
			char mixed[300];
			struct qopt lo = { .id = 1, .rd = false, .edns = qs[i].edns, .payload = 1232, .do_bit = qs[i].do_bit };
			struct qopt mo = lo;
			acache_key_t lk, mk;

			mo.id = (uint16_t)rand_r(&seed);
			mo.rd = v & 1;
			mo.payload = (uint16_t)(512 + rand_r(&seed) % 4000);
			for (size_t k = 0; k <= strlen(qs[i].name); k++)
				mixed[k] = (rand_r(&seed) & 1) ? (char)toupper((unsigned char)qs[i].name[k]) : qs[i].name[k];
			ln = tq_build(lq, qs[i].name, qs[i].type, 1, &lo);
			mn = tq_build(mq, mixed, qs[i].type, 1, &mo);
			assert_int_equal(acache_key_from_query(lq, ln, &lk), 0);
			assert_int_equal(acache_key_from_query(mq, mn, &mk), 0);
			assert_memory_equal(&lk.name, &mk.name, sizeof(lk.name));
			assert_int_equal(lk.flags, mk.flags);
			assert_int_equal(answer_build(g_zs, &g_conf, lq, ln, ANSWER_UDP, tmpl, sizeof(tmpl), &tl, &ti), 0);
			assert_int_equal(answer_build(g_zs, &g_conf, mq, mn, ANSWER_UDP, want, sizeof(want), &wl, &wi), 0);
			if (!ti.cacheable)
				continue;
			cached++;
			assert_true(tl <= 512);
			assert_int_equal(acache_patch(tmpl, tl, mq, mn, got, sizeof(got), &gl), 0);
			assert_int_equal(gl, wl);
			assert_memory_equal(got, want, wl);
		}
	}
	/* Nearly all of them are cacheable. */
	assert_true(cached >= 8 * 18);

	uint8_t q[512], t[512], o[8];
	size_t n = tq_build(q, "host.example.com", 1, 1, NULL), tl2, ol;
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, t, sizeof(t), &tl2, NULL), 0);
	assert_int_equal(acache_patch(t, tl2, q, n, o, sizeof(o), &ol), ANYNS_ESPACE);
	size_t n2 = tq_build(q, "hosts.example.com", 1, 1, NULL);
	uint8_t big[512];
	assert_int_equal(acache_patch(t, tl2, q, n2, big, sizeof(big), &ol), ANYNS_EINVAL);
}

struct walk_ctx {
	unsigned seed;
	int checked;
};

/* For one owner name of the zone, several types, random case and flags:
 * patched template == built response whenever the template is cacheable. */
static int patch_walk(void *vctx, const uint8_t *name, size_t name_len,
                      const uint16_t *types, size_t ntypes)
{
	static const uint16_t qtypes[] = { 1, 28, 15, 16, 2, 255, 6, 33, 5, 43, 39 };
	struct walk_ctx *ctx = vctx;
	char text[300];
	uint8_t lq[512], mq[512], tmpl[512], want[65535], got[65535];
	size_t ln, mn, tl, wl, gl;
	answer_info_t ti;

	(void)types;
	(void)ntypes;
	assert_true(anyns_name_to_text(name, name_len, text, sizeof(text)) > 0);
	for (size_t t = 0; t < sizeof(qtypes) / sizeof(qtypes[0]); t++) {
		/* a name below it too, for wildcards, DNAME and referrals */
		for (int below = 0; below < 2; below++) {
			char qn[320], mixed[320];
			snprintf(qn, sizeof(qn), "%s%s", below ? "zz." : "", text);
			for (size_t k = 0; k <= strlen(qn); k++)
				mixed[k] = (rand_r(&ctx->seed) & 1) ? (char)toupper((unsigned char)qn[k]) : qn[k];
			bool edns = rand_r(&ctx->seed) & 1, dob = rand_r(&ctx->seed) & 1;
			struct qopt lo = { .id = 1, .edns = edns, .do_bit = dob, .payload = 512 };
			struct qopt mo = { .id = (uint16_t)rand_r(&ctx->seed), .rd = rand_r(&ctx->seed) & 1,
			                   .edns = edns, .do_bit = dob,
			                   .payload = (uint16_t)(rand_r(&ctx->seed) % 5000) };
			ln = tq_build(lq, qn, qtypes[t], 1, &lo);
			mn = tq_build(mq, mixed, qtypes[t], 1, &mo);
			assert_int_equal(answer_build(g_zs, &g_conf, lq, ln, ANSWER_UDP, tmpl, sizeof(tmpl), &tl, &ti), 0);
			if (!ti.cacheable)
				continue;
			assert_int_equal(answer_build(g_zs, &g_conf, mq, mn, ANSWER_UDP, want, sizeof(want), &wl, NULL), 0);
			assert_int_equal(acache_patch(tmpl, tl, mq, mn, got, sizeof(got), &gl), 0);
			assert_int_equal(gl, wl);
			assert_memory_equal(got, want, wl);
			ctx->checked++;
		}
	}
	return 0;
}

static void test_patch_whole_zone(void **st)
{
	struct walk_ctx ctx = { .seed = 99 };
	uint8_t origin[255];
	int olen = anyns_name_from_text("example.com.", origin, sizeof(origin));
	assert_true(olen > 0);
	const zone_t *z = zset_best_zone(g_zs, origin, (size_t)olen);
	assert_non_null(z);
	assert_int_equal(zone_walk(z, patch_walk, &ctx), 0);
	assert_true(ctx.checked > 500);
}

static void test_every_prefix(void **st)
{
	/* Every prefix of a response-sized buffer: ESPACE or a parseable reply. */
	uint8_t q[512], out[2048];
	size_t n = tq_build(q, "example.com", 15, 1, &(struct qopt){ .edns = true, .payload = 1232 }), ol;
	for (size_t cap = 0; cap < 400; cap++) {
		uint8_t *b = malloc(cap ? cap : 1);
		int ret = answer_build(g_zs, &g_conf, q, n, ANSWER_TCP, b, cap, &ol, NULL);
		if (ret == 0) {
			assert_true(ol <= cap);
			memcpy(out, b, ol);
			ldns_pkt *p = NULL;
			assert_int_equal(ldns_wire2pkt(&p, out, ol), LDNS_STATUS_OK);
			ldns_pkt_free(p);
		} else {
			assert_int_equal(ret, ANYNS_ESPACE);
		}
		free(b);
	}
}

static int setup(void **st)
{
	zone_t *zones[2] = { tz_zone("example.com", ZONE), tz_zone("other.test", ZONE2) };
	g_zs = tz_set(zones, 2);
	answer_conf_init(&g_conf);
	assert_int_equal(g_conf.max_udp_payload, 1232);
	assert_null(g_conf.nsid);
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
		cmocka_unit_test(test_header_flags),
		cmocka_unit_test(test_exact_and_case),
		cmocka_unit_test(test_nxdomain_nodata),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_dname),
		cmocka_unit_test(test_additional),
		cmocka_unit_test(test_minimal_responses),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_nsid),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_chaos),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_patch_whole_zone),
		cmocka_unit_test(test_every_prefix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
