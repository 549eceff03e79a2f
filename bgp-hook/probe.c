/* DNS health checks; see probe.h. Not on a hot path: one query per check per
 * round, so plain malloc per query is fine here. */
#include "probe.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anyns.h"
#include "pkt.h"

/* ---- evaluation --------------------------------------------------------- */

int probe_build_query(const char *qname, uint16_t qtype, uint16_t qclass, uint16_t id,
                      uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t name[255];
	int n = anyns_name_from_text(qname, name, sizeof(name));
	if (n < 0)
		return ANYNS_EINVAL;
	/* RD=0: we ask an authority. */
	pkt_qspec_t s = { .name = name, .name_len = (size_t)n, .qtype = qtype, .qclass = qclass,
	                  .id = id };
	return pkt_write_query(&s, buf, cap, len);
}

/* RDATA fields of rr as one presentation string, fields separated by a space. */
static char *rr_rdata_str(const ldns_rr *rr)
{
	ldns_buffer *b = ldns_buffer_new(256);
	if (!b)
		return NULL;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		if (i)
			ldns_buffer_printf(b, " ");
		ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, i));
	}
	char *s = ldns_buffer_export2str(b);
	ldns_buffer_free(b);
	return s;
}

char *probe_rdata_norm(uint16_t qtype, uint16_t qclass, const char *text)
{
	char *tname = ldns_rr_type2str((ldns_rr_type)qtype);
	char *cname = ldns_rr_class2str((ldns_rr_class)qclass);
	char *line = NULL, *out = NULL;
	ldns_rr *rr = NULL;

	if (!tname || !cname)
		goto done;
	if (asprintf(&line, "anyns-health. 0 %s %s %s", cname, tname, text) < 0) {
		line = NULL;
		goto done;
	}
	if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
		goto done;
	if (ldns_rr_get_type(rr) != qtype || ldns_rr_rd_count(rr) == 0)
		goto done;
	out = rr_rdata_str(rr);
done:
	ldns_rr_free(rr);
	free(line);
	free(tname);
	free(cname);
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates; returns the new count. */
static size_t str_set(char **v, size_t n)
{
	if (n < 2)
		return n;
	qsort(v, n, sizeof(*v), cmp_str);
	size_t o = 1;
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i], v[o - 1]) == 0) {
			free(v[i]);
			continue;
		}
		v[o++] = v[i];
	}
	return o;
}

static void join_set(char *buf, size_t cap, char *const *v, size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		int w = snprintf(buf + off, cap - off, "%s%s", i ? "," : "", v[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

__attribute__((format(printf, 3, 4)))
static void set_res(probe_result_t *out, enum hsm_result r, const char *fmt, ...)
{
	/* The first reason found wins; a BAD always overrides a SLOW. */
	if (out->res == HSM_BAD || (out->res == HSM_SLOW && r != HSM_BAD))
		return;
	out->res = r;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

static const char *rcode_name(unsigned r)
{
	ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, (int)r);
	return lt ? lt->name : "?";
}

void probe_eval(const hcheck_conf_t *c, uint16_t qid, const uint8_t *wire, size_t len,
                uint64_t latency_us, const uint32_t *primary_serial, probe_result_t *out)
{
	ldns_pkt *p = NULL;
	ldns_rdf *qn = NULL;
	char **got = NULL;
	size_t ngot = 0;
	const ldns_rr *soa = NULL;

	memset(out, 0, sizeof(*out));
	out->res = HSM_GOOD;
	out->latency_us = latency_us;
	snprintf(out->why, sizeof(out->why), "ok");

	if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK) {
		set_res(out, HSM_BAD, "malformed response");
		goto done;
	}
	if (ldns_pkt_id(p) != qid || !ldns_pkt_qr(p)) {
		set_res(out, HSM_BAD, "response ID or QR wrong");
		goto done;
	}
	qn = ldns_dname_new_frm_str(c->qname);
	ldns_rr_list *q = ldns_pkt_question(p);
	if (!qn || ldns_rr_list_rr_count(q) != 1 ||
	    ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(q, 0)), qn) != 0 ||
	    ldns_rr_get_type(ldns_rr_list_rr(q, 0)) != c->qtype ||
	    ldns_rr_get_class(ldns_rr_list_rr(q, 0)) != c->qclass) {
		set_res(out, HSM_BAD, "question section does not match the query");
		goto done;
	}
	unsigned rcode = ldns_pkt_get_rcode(p);
	if (rcode != c->rcode) {
		set_res(out, HSM_BAD, "rcode %s, want %s", rcode_name(rcode), rcode_name(c->rcode));
		goto done;
	}
	if (c->aa && !ldns_pkt_aa(p)) {
		set_res(out, HSM_BAD, "not authoritative (AA=0)");
		goto done;
	}
	bool need_data = c->has_rdata || c->has_serial_min || c->has_primary;
	if (need_data && ldns_pkt_tc(p)) {
		set_res(out, HSM_BAD, "truncated answer (TC=1)");
		goto done;
	}

	ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n = ldns_rr_list_rr_count(an);
	got = calloc(n ? n : 1, sizeof(*got));
	if (!got) {
		set_res(out, HSM_BAD, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), qn) != 0)
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && !soa)
			soa = rr;
		if (ldns_rr_get_type(rr) != c->qtype)
			continue;
		char *s = rr_rdata_str(rr);
		if (s)
			got[ngot++] = s;
	}
	ngot = str_set(got, ngot);
	if (c->has_rdata) {
		bool same = ngot == c->nrdata;
		for (size_t i = 0; same && i < ngot; i++)
			same = strcmp(got[i], c->rdata[i]) == 0;
		if (!same) {
			char g[64], w[64];
			join_set(g, sizeof(g), got, ngot);
			join_set(w, sizeof(w), c->rdata, c->nrdata);
			set_res(out, HSM_BAD, "rdata {%s}, want {%s}", g, w);
			goto done;
		}
	}
	if (soa && ldns_rr_rd_count(soa) >= 3) {
		out->has_serial = true;
		out->serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	}
	if ((c->has_serial_min || c->has_primary) && !out->has_serial) {
		set_res(out, HSM_BAD, "no SOA for %s in the answer", c->qname);
		goto done;
	}
	/* RFC 1982 3.2: serials compare in 32-bit sequence space arithmetic. */
	if (c->has_serial_min && (int32_t)(out->serial - c->serial_min) < 0) {
		set_res(out, HSM_BAD, "serial %u older than serial-min %u", out->serial,
		        c->serial_min);
		goto done;
	}
	if (c->has_primary && primary_serial && (int32_t)(out->serial - *primary_serial) < 0)
		set_res(out, c->lag == HCHECK_LAG_FAIL ? HSM_BAD : HSM_SLOW,
		        "serial %u behind the primary's %u", out->serial, *primary_serial);
	if (c->latency_ms && latency_us > c->latency_ms * 1000)
		set_res(out, HSM_SLOW, "latency %.1f ms over the %llu ms budget",
		        (double)latency_us / 1000.0, (unsigned long long)c->latency_ms);
done:
	for (size_t i = 0; i < ngot; i++)
		free(got[i]);
	free(got);
	ldns_rdf_deep_free(qn);
	ldns_pkt_free(p);
}

/* ---- one query over UDP or TCP ------------------------------------------ */

typedef void (*dnsq_cb)(void *ctx, int err, const uint8_t *wire, size_t len,
                        uint64_t latency_us);

typedef struct dnsq {
	struct dnsq *prev, *next;    /* active list, for probe_cancel_all() */
	union {
		uv_handle_t h;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} s;
	uv_timer_t timer;
	uv_connect_t conn;
	uv_write_t wr;
	bool tcp, done;
	int open_handles;
	int pend_err;                 /* error to report from the timer */
	uint64_t t0;
	uint8_t q[2 + 512];
	size_t qlen;                 /* incl. the TCP length prefix */
	uint8_t *rbuf;
	size_t rlen, rcap;
	dnsq_cb cb;
	void *ctx;
} dnsq_t;

static dnsq_t *g_active;

static void dnsq_closed(uv_handle_t *h)
{
	dnsq_t *d = h->data;
	if (--d->open_handles > 0)
		return;
	if (d->prev)
		d->prev->next = d->next;
	else
		g_active = d->next;
	if (d->next)
		d->next->prev = d->prev;
	free(d->rbuf);
	free(d);
}

static void dnsq_finish(dnsq_t *d, int err)
{
	if (d->done)
		return;
	d->done = true;
	uint64_t lat = (uv_hrtime() - d->t0) / 1000;
	const uint8_t *w = d->rbuf;
	size_t wl = d->rlen;
	if (d->tcp && err == 0) {
		w += 2;
		wl -= 2;
	}
	d->cb(d->ctx, err, err ? NULL : w, err ? 0 : wl, lat);
	uv_close((uv_handle_t *)&d->timer, dnsq_closed);
	uv_close(&d->s.h, dnsq_closed);
}

static void on_timeout(uv_timer_t *t)
{
	dnsq_t *d = t->data;
	dnsq_finish(d, d->pend_err ? d->pend_err : UV_ETIMEDOUT);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	dnsq_t *d = h->data;
	*buf = uv_buf_init((char *)d->rbuf + d->rlen, (unsigned)(d->rcap - d->rlen));
}

static void on_udp_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
	dnsq_t *d = u->data;
	if (nread == 0 && !addr)
		return;              /* nothing more to read */
	if (nread < 0) {
		dnsq_finish(d, (int)nread);
		return;
	}
	d->rlen = (size_t)nread;
	dnsq_finish(d, 0);
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	dnsq_t *d = s->data;
	if (nread < 0) {
		dnsq_finish(d, nread == UV_EOF ? UV_ECONNRESET : (int)nread);
		return;
	}
	d->rlen += (size_t)nread;
	/* RFC 1035 4.2.2 / RFC 7766 8: two-octet length, then the message. */
	if (d->rlen >= 2) {
		size_t want = ((size_t)d->rbuf[0] << 8 | d->rbuf[1]) + 2;
		if (d->rlen >= want) {
			d->rlen = want;
			dnsq_finish(d, 0);
		} else if (d->rlen == d->rcap) {
			dnsq_finish(d, UV_EMSGSIZE);
		}
	}
}

static void on_tcp_write(uv_write_t *w, int status)
{
	dnsq_t *d = w->data;
	if (status < 0)
		dnsq_finish(d, status);
}

static void on_tcp_connect(uv_connect_t *c, int status)
{
	dnsq_t *d = c->data;
	if (d->done)
		return;
	if (status < 0) {
		dnsq_finish(d, status);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)d->q, (unsigned)d->qlen);
	d->wr.data = d;
	int rc = uv_write(&d->wr, (uv_stream_t *)&d->s.tcp, &b, 1, on_tcp_write);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&d->s.tcp, on_alloc, on_tcp_read);
	if (rc < 0)
		dnsq_finish(d, rc);
}

/* Starts one query; cb runs exactly once, later (never from inside this call). */
static int dnsq_start(uv_loop_t *loop, const struct sockaddr *sa, bool tcp, const uint8_t *q,
                      size_t qlen, uint64_t timeout_ms, dnsq_cb cb, void *ctx)
{
	if (qlen > 512)
		return ANYNS_EINVAL;
	dnsq_t *d = calloc(1, sizeof(*d));
	if (!d)
		return ANYNS_ENOMEM;
	d->tcp = tcp;
	d->cb = cb;
	d->ctx = ctx;
	d->rcap = tcp ? 65537 : 65535;
	d->rbuf = malloc(d->rcap);
	if (!d->rbuf) {
		free(d);
		return ANYNS_ENOMEM;
	}
	if (tcp) {
		d->q[0] = (uint8_t)(qlen >> 8);
		d->q[1] = (uint8_t)qlen;
		memcpy(d->q + 2, q, qlen);
		d->qlen = qlen + 2;
	} else {
		memcpy(d->q, q, qlen);
		d->qlen = qlen;
	}
	uv_timer_init(loop, &d->timer);
	d->timer.data = d;
	int rc = tcp ? uv_tcp_init(loop, &d->s.tcp) : uv_udp_init(loop, &d->s.udp);
	if (rc < 0) {
		/* Only the timer exists: close it and let its callback free d. */
		d->done = true;
		d->open_handles = 1;
		d->next = g_active;
		if (g_active)
			g_active->prev = d;
		g_active = d;
		uv_close((uv_handle_t *)&d->timer, dnsq_closed);
		return rc;
	}
	d->s.h.data = d;
	d->open_handles = 2;
	d->next = g_active;
	if (g_active)
		g_active->prev = d;
	g_active = d;
	d->t0 = uv_hrtime();
	uv_timer_start(&d->timer, on_timeout, timeout_ms ? timeout_ms : 1000, 0);

	if (tcp) {
		d->conn.data = d;
		rc = uv_tcp_connect(&d->conn, &d->s.tcp, sa, on_tcp_connect);
	} else {
		rc = uv_udp_connect(&d->s.udp, sa);
		if (rc == 0)
			rc = uv_udp_recv_start(&d->s.udp, on_alloc, on_udp_recv);
		if (rc == 0) {
			uv_buf_t b = uv_buf_init((char *)d->q, (unsigned)d->qlen);
			rc = uv_udp_try_send(&d->s.udp, &b, 1, NULL);
			if (rc > 0)
				rc = 0;
		}
	}
	if (rc < 0) {
		/* Report the error from the loop like every other outcome, so the
		 * caller never sees its callback from inside this call. */
		d->pend_err = rc;
		uv_timer_start(&d->timer, on_timeout, 0, 0);
	}
	return 0;
}

void probe_cancel_all(void)
{
	for (dnsq_t *d = g_active; d; d = d->next)
		dnsq_finish(d, UV_ECANCELED);
}

/* ---- one check: the query, plus the primary's SOA when configured ------- */

typedef struct crun {
	const hcheck_conf_t *c;
	probe_cb cb;
	void *ctx;
	int pending;
	uint16_t qid, pid;
	int err;
	uint8_t *ans;
	size_t anslen;
	uint64_t lat;
	bool have_pserial;
	uint32_t pserial;
} crun_t;

static void crun_done(crun_t *r)
{
	probe_result_t res;
	if (r->err) {
		memset(&res, 0, sizeof(res));
		res.res = HSM_BAD;
		snprintf(res.why, sizeof(res.why), "%s %s: %s", r->c->name,
		         r->c->transport == HCHECK_TCP ? "tcp" : "udp",
		         r->err == UV_ETIMEDOUT ? "timeout" : uv_strerror(r->err));
	} else {
		probe_eval(r->c, r->qid, r->ans, r->anslen, r->lat,
		           r->have_pserial ? &r->pserial : NULL, &res);
		if (res.res != HSM_GOOD) {
			char tmp[sizeof(res.why)];
			memcpy(tmp, res.why, sizeof(tmp));
			/* A long reason is cut; that is fine for a log line. */
			if (snprintf(res.why, sizeof(res.why), "%s: %s", r->c->name, tmp) < 0)
				res.why[0] = '\0';
		}
	}
	r->cb(r->ctx, &res);
	free(r->ans);
	free(r);
}

static void on_main_answer(void *ctx, int err, const uint8_t *wire, size_t len, uint64_t lat)
{
	crun_t *r = ctx;
	r->err = err;
	r->lat = lat;
	if (!err) {
		r->ans = malloc(len ? len : 1);
		if (r->ans) {
			memcpy(r->ans, wire, len);
			r->anslen = len;
		} else {
			r->err = UV_ENOMEM;
		}
	}
	if (--r->pending == 0)
		crun_done(r);
}

static void on_primary_answer(void *ctx, int err, const uint8_t *wire, size_t len, uint64_t lat)
{
	crun_t *r = ctx;
	ldns_pkt *p = NULL;
	if (!err && ldns_wire2pkt(&p, wire, len) == LDNS_STATUS_OK && ldns_pkt_id(p) == r->pid) {
		ldns_rr_list *an = ldns_pkt_answer(p);
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(an, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) >= 3) {
				r->pserial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
				r->have_pserial = true;
				break;
			}
		}
	}
	ldns_pkt_free(p);
	if (--r->pending == 0)
		crun_done(r);
}

static uint16_t next_id(void)
{
	static bool seeded;
	if (!seeded) {
		srandom((unsigned)time(NULL) ^ (unsigned)getpid());
		seeded = true;
	}
	return (uint16_t)random();
}

int probe_start(uv_loop_t *loop, const hcheck_conf_t *c, probe_cb cb, void *ctx)
{
	uint8_t q[512];
	size_t qlen;
	crun_t *r = calloc(1, sizeof(*r));
	if (!r)
		return ANYNS_ENOMEM;
	r->c = c;
	r->cb = cb;
	r->ctx = ctx;
	r->qid = next_id();
	int rc = probe_build_query(c->qname, c->qtype, c->qclass, r->qid, q, sizeof(q), &qlen);
	if (rc < 0)
		goto fail;
	r->pending = 1;
	if (c->has_primary)
		r->pending++;
	rc = dnsq_start(loop, (const struct sockaddr *)&c->addr, c->transport == HCHECK_TCP, q,
	                qlen, c->timeout_ms, on_main_answer, r);
	if (rc < 0)
		goto fail;
	if (c->has_primary) {
		r->pid = next_id();
		if (probe_build_query(c->qname, LDNS_RR_TYPE_SOA, c->qclass, r->pid, q, sizeof(q),
		                      &qlen) < 0 ||
		    dnsq_start(loop, (const struct sockaddr *)&c->primary, false, q, qlen,
		               c->timeout_ms, on_primary_answer, r) < 0)
			r->pending--;  /* no primary serial: no lag test this round */
	}
	return 0;
fail:
	free(r);
	return rc;
}
