/* anyns-health checks: evaluation of responses (rcode, AA, RDATA set, serial,
 * primary lag, latency) and one real UDP and TCP query on loopback through
 * libuv against a tiny in-test responder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ldns/ldns.h>
#include <cmocka.h>

#include "anyns.h"
#include "probe.h"

/* A response for qname/qtype with the given answer records. */
static size_t resp(uint8_t *out, size_t cap, uint16_t id, const char *qname, uint16_t qtype,
                   uint16_t qclass, uint8_t rcode, bool aa, const char *const *answers)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, aa);
	ldns_pkt_set_rcode(p, rcode);
	ldns_rr *q = ldns_rr_new();
	ldns_rr_set_owner(q, ldns_dname_new_frm_str(qname));
	ldns_rr_set_type(q, qtype);
	ldns_rr_set_class(q, qclass);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	for (; answers && *answers; answers++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, *answers, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	uint8_t *w = NULL;
	size_t wl = 0;
	assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
	assert_true(wl <= cap);
	memcpy(out, w, wl);
	free(w);
	ldns_pkt_free(p);
	return wl;
}

static hcheck_conf_t check(const char *qname, uint16_t qtype)
{
	hcheck_conf_t c;
	memset(&c, 0, sizeof(c));
	c.name = "t";
	c.qname = qname;
	c.qtype = qtype;
	c.qclass = LDNS_RR_CLASS_IN;
	c.rcode = LDNS_RCODE_NOERROR;
	c.aa = true;
	c.timeout_ms = 1000;
	return c;
}

static const char *const soa_ans[] = {
	"example.com. 300 IN SOA ns1.example.com. host.example.com. 2024010101 3600 900 604800 300",
	NULL
};

static void test_soa_ok(void **st)
{
	uint8_t w[512];
	probe_result_t r;
	hcheck_conf_t c = check("example.com.", LDNS_RR_TYPE_SOA);
	size_t n = resp(w, sizeof(w), 77, "example.com.", LDNS_RR_TYPE_SOA, 1, 0, true, soa_ans);
	probe_eval(&c, 77, w, n, 500, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
	assert_true(r.has_serial);
	assert_int_equal(r.serial, 2024010101u);
	assert_int_equal(r.latency_us, 500);
	/* Case of the name does not matter (RFC 4343). */
	n = resp(w, sizeof(w), 77, "EXAMPLE.com.", LDNS_RR_TYPE_SOA, 1, 0, true, soa_ans);
	probe_eval(&c, 77, w, n, 500, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
}

static void test_header_checks(void **st)
{
	uint8_t w[512];
	probe_result_t r;
	hcheck_conf_t c = check("example.com.", LDNS_RR_TYPE_SOA);
	size_t n = resp(w, sizeof(w), 77, "example.com.", LDNS_RR_TYPE_SOA, 1, 0, true, soa_ans);
	probe_eval(&c, 78, w, n, 0, NULL, &r);            /* wrong ID */
	assert_int_equal(r.res, HSM_BAD);
	probe_eval(&c, 77, w, 5, 0, NULL, &r);            /* truncated garbage */
	assert_int_equal(r.res, HSM_BAD);
	n = resp(w, sizeof(w), 77, "example.com.", LDNS_RR_TYPE_SOA, 1, LDNS_RCODE_REFUSED, false, NULL);
	probe_eval(&c, 77, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_BAD);
	assert_non_null(strstr(r.why, "REFUSED"));
	n = resp(w, sizeof(w), 77, "example.com.", LDNS_RR_TYPE_SOA, 1, 0, false, soa_ans);
	probe_eval(&c, 77, w, n, 0, NULL, &r);            /* AA=0 */
	assert_int_equal(r.res, HSM_BAD);
	assert_non_null(strstr(r.why, "AA"));
	c.aa = false;
	probe_eval(&c, 77, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
	n = resp(w, sizeof(w), 77, "example.org.", LDNS_RR_TYPE_SOA, 1, 0, true, NULL);
	probe_eval(&c, 77, w, n, 0, NULL, &r);            /* other question */
	assert_int_equal(r.res, HSM_BAD);
	/* NXDOMAIN expected, and got. */
	c = check("nope.example.com.", LDNS_RR_TYPE_A);
	c.rcode = LDNS_RCODE_NXDOMAIN;
	n = resp(w, sizeof(w), 9, "nope.example.com.", LDNS_RR_TYPE_A, 1, LDNS_RCODE_NXDOMAIN, true, NULL);
	probe_eval(&c, 9, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
}

static void test_rdata_set(void **st)
{
	uint8_t w[512];
	probe_result_t r;
	hcheck_conf_t c = check("www.example.com.", LDNS_RR_TYPE_A);
	char *want[2] = { probe_rdata_norm(1, 1, "192.0.2.80"), probe_rdata_norm(1, 1, "192.0.2.81") };
	assert_non_null(want[0]);
	c.rdata = want;
	c.nrdata = 2;
	c.has_rdata = true;
	const char *const both[] = { "www.example.com. 300 IN A 192.0.2.81",
	                             "www.example.com. 300 IN A 192.0.2.80", NULL };
	size_t n = resp(w, sizeof(w), 1, "www.example.com.", 1, 1, 0, true, both);
	probe_eval(&c, 1, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);                /* order does not matter */
	const char *const one[] = { "www.example.com. 300 IN A 192.0.2.80", NULL };
	n = resp(w, sizeof(w), 1, "www.example.com.", 1, 1, 0, true, one);
	probe_eval(&c, 1, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_BAD);                 /* a missing address */
	assert_non_null(strstr(r.why, "rdata"));
	const char *const wrong[] = { "www.example.com. 300 IN A 192.0.2.80",
	                              "www.example.com. 300 IN A 192.0.2.99", NULL };
	n = resp(w, sizeof(w), 1, "www.example.com.", 1, 1, 0, true, wrong);
	probe_eval(&c, 1, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_BAD);
	free(want[0]);
	free(want[1]);

	/* TXT in class CH (id.server), quoted or not in the config. */
	c = check("id.server.", LDNS_RR_TYPE_TXT);
	c.qclass = LDNS_RR_CLASS_CH;
	c.aa = false;
	char *txt = probe_rdata_norm(LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, "pop-a");
	char *txtq = probe_rdata_norm(LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, "\"pop-a\"");
	assert_string_equal(txt, txtq);
	c.rdata = &txt;
	c.nrdata = 1;
	c.has_rdata = true;
	const char *const id[] = { "id.server. 0 CH TXT \"pop-a\"", NULL };
	n = resp(w, sizeof(w), 2, "id.server.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 0, false, id);
	probe_eval(&c, 2, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
	const char *const id2[] = { "id.server. 0 CH TXT \"pop-b\"", NULL };
	n = resp(w, sizeof(w), 2, "id.server.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, 0, false, id2);
	probe_eval(&c, 2, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_BAD);
	free(txt);
	free(txtq);
	assert_null(probe_rdata_norm(LDNS_RR_TYPE_A, 1, "not-an-address"));
}

static void test_serial(void **st)
{
	uint8_t w[512];
	probe_result_t r;
	hcheck_conf_t c = check("example.com.", LDNS_RR_TYPE_SOA);
	size_t n = resp(w, sizeof(w), 5, "example.com.", 6, 1, 0, true, soa_ans);
	c.has_serial_min = true;
	c.serial_min = 2024010101u;
	probe_eval(&c, 5, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
	c.serial_min = 2024010102u;
	probe_eval(&c, 5, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_BAD);
	assert_non_null(strstr(r.why, "serial-min"));
	/* RFC 1982: 2024010101 is "after" a serial that wrapped around. */
	c.serial_min = 4294967000u;
	probe_eval(&c, 5, w, n, 0, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
	c.has_serial_min = false;

	c.has_primary = true;
	uint32_t prim = 2024010101u;
	probe_eval(&c, 5, w, n, 0, &prim, &r);
	assert_int_equal(r.res, HSM_GOOD);
	prim = 2024010102u;
	probe_eval(&c, 5, w, n, 0, &prim, &r);
	assert_int_equal(r.res, HSM_SLOW);                /* lag degrades by default */
	assert_non_null(strstr(r.why, "primary"));
	c.lag = HCHECK_LAG_FAIL;
	probe_eval(&c, 5, w, n, 0, &prim, &r);
	assert_int_equal(r.res, HSM_BAD);
	probe_eval(&c, 5, w, n, 0, NULL, &r);             /* primary unreachable: no lag test */
	assert_int_equal(r.res, HSM_GOOD);
	/* No SOA in the answer while a serial is required. */
	n = resp(w, sizeof(w), 5, "example.com.", 6, 1, 0, true, NULL);
	probe_eval(&c, 5, w, n, 0, &prim, &r);
	assert_int_equal(r.res, HSM_BAD);
}

static void test_latency(void **st)
{
	uint8_t w[512];
	probe_result_t r;
	hcheck_conf_t c = check("example.com.", LDNS_RR_TYPE_SOA);
	c.latency_ms = 10;
	size_t n = resp(w, sizeof(w), 5, "example.com.", 6, 1, 0, true, soa_ans);
	probe_eval(&c, 5, w, n, 9999, NULL, &r);
	assert_int_equal(r.res, HSM_GOOD);
	probe_eval(&c, 5, w, n, 10001, NULL, &r);
	assert_int_equal(r.res, HSM_SLOW);
	/* A wrong answer stays BAD however fast or slow. */
	c.has_serial_min = true;
	c.serial_min = 2024010102u;
	probe_eval(&c, 5, w, n, 10001, NULL, &r);
	assert_int_equal(r.res, HSM_BAD);
}

static void test_build_query(void **st)
{
	uint8_t q[512];
	size_t n;
	assert_int_equal(probe_build_query("example.com.", 6, 1, 0x1234, q, sizeof(q), &n), 0);
	assert_int_equal(n, 12 + 13 + 4);
	assert_int_equal(q[0], 0x12);
	assert_int_equal(q[1], 0x34);
	assert_int_equal(q[2] & 0x01, 0);                 /* RD=0: we ask an authority */
	assert_int_equal(probe_build_query("example.com.", 6, 1, 1, q, 10, &n), ANYNS_ESPACE);
}

/* ---- live queries through libuv against a responder in this test ------- */

typedef struct srv {
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_tcp_t conn;
	bool conn_open;
	uint8_t buf[1024];
	size_t len;
	int port;
	bool refuse;          /* answer REFUSED */
	bool mute;            /* never answer (timeout) */
} srv_t;

static size_t answer_for(srv_t *s, const uint8_t *q, size_t ql, uint8_t *out, size_t cap)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, q, ql), LDNS_STATUS_OK);
	size_t n = resp(out, cap, ldns_pkt_id(p), "example.com.", 6, 1,
	                s->refuse ? LDNS_RCODE_REFUSED : 0, true, s->refuse ? NULL : soa_ans);
	ldns_pkt_free(p);
	return n;
}

static void s_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char mem[2048];
	*b = uv_buf_init(mem, sizeof(mem));
}

static void s_sent(uv_udp_send_t *r, int status)
{
	free(r);
}

static void s_udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *a,
                       unsigned f)
{
	srv_t *s = u->data;
	if (n <= 0 || !a || s->mute)
		return;
	uv_udp_send_t *req = malloc(sizeof(*req) + 512);
	uint8_t *out = (uint8_t *)(req + 1);
	size_t ol = answer_for(s, (uint8_t *)b->base, (size_t)n, out, 512);
	uv_buf_t ob = uv_buf_init((char *)out, (unsigned)ol);
	uv_udp_send(req, u, &ob, 1, a, s_sent);
}

static void s_wrote(uv_write_t *w, int status)
{
	free(w);
}

static void s_tcp_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	srv_t *s = st->data;
	if (n <= 0)
		return;
	memcpy(s->buf + s->len, b->base, (size_t)n);
	s->len += (size_t)n;
	if (s->len < 2 || s->len < 2 + (size_t)(s->buf[0] << 8 | s->buf[1]) || s->mute)
		return;
	uv_write_t *w = malloc(sizeof(*w) + 514);
	uint8_t *out = (uint8_t *)(w + 1);
	size_t ol = answer_for(s, s->buf + 2, s->len - 2, out + 2, 512);
	out[0] = (uint8_t)(ol >> 8);
	out[1] = (uint8_t)ol;
	/* Two writes: the client must reassemble a split response. */
	uv_buf_t ob[2] = { uv_buf_init((char *)out, 3), uv_buf_init((char *)out + 3, (unsigned)ol - 1) };
	uv_write(w, st, ob, 2, s_wrote);
	s->len = 0;
}

static void s_conn(uv_stream_t *l, int status)
{
	srv_t *s = l->data;
	if (s->conn_open)
		return;
	uv_tcp_init(l->loop, &s->conn);
	s->conn.data = s;
	s->conn_open = true;
	uv_accept(l, (uv_stream_t *)&s->conn);
	uv_read_start((uv_stream_t *)&s->conn, s_alloc, s_tcp_read);
}

/* A UDP and a TCP socket on the same free loopback port. The pair is bound
 * with plain sockets first and retried, because a port free for UDP may be
 * taken for TCP by another program running at the same time. */
static void srv_bind_pair(int *ufd, int *tfd, int *port)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t al = sizeof(a);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(u >= 0 && t >= 0);
		if (bind(u, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(u, (struct sockaddr *)&a, &al) == 0 &&
		    bind(t, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(t, 4) == 0) {
			*ufd = u;
			*tfd = t;
			*port = ntohs(a.sin_port);
			return;
		}
		close(u);
		close(t);
	}
	fail_msg("no free loopback port for UDP and TCP");
}

static void srv_start(uv_loop_t *loop, srv_t *s)
{
	int ufd = -1, tfd = -1;
	srv_bind_pair(&ufd, &tfd, &s->port);
	uv_udp_init(loop, &s->udp);
	s->udp.data = s;
	assert_int_equal(uv_udp_open(&s->udp, ufd), 0);
	uv_udp_recv_start(&s->udp, s_alloc, s_udp_recv);
	uv_tcp_init(loop, &s->tcp);
	s->tcp.data = s;
	assert_int_equal(uv_tcp_open(&s->tcp, tfd), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 4, s_conn), 0);
}

static void srv_stop(srv_t *s)
{
	uv_close((uv_handle_t *)&s->udp, NULL);
	uv_close((uv_handle_t *)&s->tcp, NULL);
	if (s->conn_open)
		uv_close((uv_handle_t *)&s->conn, NULL);
}

static void got_result(void *ctx, const probe_result_t *r)
{
	*(probe_result_t *)ctx = *r;
}

static probe_result_t run_one(srv_t *s, enum hcheck_transport tp, uint64_t timeout_ms)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	srv_start(&loop, s);
	hcheck_conf_t c = check("example.com.", LDNS_RR_TYPE_SOA);
	c.transport = tp;
	c.timeout_ms = timeout_ms;
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", s->port);
	assert_int_equal(hconf_parse_addr(addr, 53, &c.addr, &c.addrlen), 0);
	probe_result_t r = { .res = 99 };
	assert_int_equal(probe_start(&loop, &c, got_result, &r), 0);
	while ((int)r.res == 99 && uv_run(&loop, UV_RUN_ONCE))
		;
	srv_stop(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* Every handle of every query closed: the loop closes. */
	assert_int_equal(uv_loop_close(&loop), 0);
	return r;
}

static void test_live_udp_tcp(void **st)
{
	srv_t s;
	memset(&s, 0, sizeof(s));
	probe_result_t r = run_one(&s, HCHECK_UDP, 1000);
	assert_int_equal(r.res, HSM_GOOD);
	assert_int_equal(r.serial, 2024010101u);
	memset(&s, 0, sizeof(s));
	r = run_one(&s, HCHECK_TCP, 1000);
	assert_int_equal(r.res, HSM_GOOD);
	memset(&s, 0, sizeof(s));
	s.refuse = true;
	r = run_one(&s, HCHECK_TCP, 1000);
	assert_int_equal(r.res, HSM_BAD);
	assert_non_null(strstr(r.why, "REFUSED"));
	memset(&s, 0, sizeof(s));
	s.mute = true;
	r = run_one(&s, HCHECK_UDP, 100);
	assert_int_equal(r.res, HSM_BAD);
	assert_non_null(strstr(r.why, "timeout"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soa_ok),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_rdata_set),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_build_query),
		cmocka_unit_test(test_live_udp_tcp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
