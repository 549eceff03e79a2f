/* What the workers answer beside the engine: AXFR and IXFR out over TCP to
 * allow-transfer remotes (RFC 5936, RFC 1995), NOTIFY from primaries
 * (RFC 1996), and TSIG (RFC 8945) on every query that carries it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "pkt.h"
#include "serial.h"
#include "tsig.h"
#include "wire_name.h"

#define XS_BUF 65535

bool xfr_serve_wants(const uint8_t *q, size_t len, bool tcp)
{
	if (len < PKT_HDR_LEN || (q[2] & PKT_F1_QR))
		return false;
	/* More records than a NOTIFY (the SOA in the answer section) or an
	 * IXFR query (the SOA in the authority section) carries: the engine
	 * answers FORMERR without walking them. */
	if (pkt_get16(q + 6) > 1 || pkt_get16(q + 8) > 1 || pkt_get16(q + 10) > PKT_QUERY_MAX_AR)
		return false;
	if (((q[2] >> 3) & 0x0F) == PKT_OPCODE_NOTIFY)
		return true;
	if (pkt_get16(q + 10) > 0) {
		tsig_rr_t t;
		if (tsig_find(q, len, &t) != ANYNS_ENOENT)
			return true;
	}
	if (tcp && pkt_get16(q + 4) == 1) {
		size_t pos = PKT_HDR_LEN;
		if (pkt_skip_name(q, len, &pos) == 0 && pos + 4 <= len) {
			uint16_t t = pkt_get16(q + pos);
			return t == PKT_TYPE_AXFR || t == PKT_TYPE_IXFR;
		}
	}
	return false;
}

/* Refusals are logged, but anyone can send them by the thousand: at most
 * XS_LOG_PER_SEC lines a second over all workers, then one line saying how
 * many were left out. */
#define XS_LOG_PER_SEC 20
static _Atomic uint64_t g_log_sec, g_log_count, g_log_dropped;

static bool xs_log_ok(void)
{
	uint64_t now = (uint64_t)time(NULL);
	uint64_t sec = atomic_load_explicit(&g_log_sec, memory_order_relaxed);
	if (sec != now && atomic_compare_exchange_strong(&g_log_sec, &sec, now)) {
		uint64_t dropped = atomic_exchange(&g_log_dropped, 0);
		atomic_store(&g_log_count, 0);
		if (dropped > 0)
			log_warn("xfr: log-suppressed count=%llu what=\"refused transfers, NOTIFYs or "
			         "bad TSIGs\"", (unsigned long long)dropped);
	}
	if (atomic_fetch_add(&g_log_count, 1) < XS_LOG_PER_SEC)
		return true;
	atomic_fetch_add(&g_log_dropped, 1);
	return false;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s", ip);
}

/* One exchange: the query as parsed, its TSIG state, where answers go. */
struct xs {
	daemon_t *d;
	const dconf_t *c;       /* zones, keys and remotes as they were at the start */
	const struct sockaddr *from;
	bool tcp;
	const uint8_t *q;       /* without its TSIG record */
	size_t qlen, qend;
	uint16_t qtype;
	uint8_t qname[WNAME_MAXLEN];
	size_t qname_len;
	bool signed_q;
	int key;                /* index of the key that signed it, -1 */
	tsig_ctx_t tsig;
	uint8_t *buf;           /* XS_BUF */
	size_t outcap;
	xfr_send_fn send;
	void *ctx;
};

static void xs_send(struct xs *x, uint8_t *msg, size_t len)
{
	if (x->signed_q) {
		if (tsig_sign_response(&x->tsig, msg, &len, x->outcap, (uint64_t)time(NULL)) != 0)
			return;
	}
	x->send(x->ctx, msg, len);
}

/* A header-and-question answer with rcode, with an OPT record when the
 * query had one (RFC 6891 7). */
static void xs_rcode(struct xs *x, uint8_t rcode)
{
	size_t len;
	pkt_query_t pq;
	if (xfr_answer_header(x->q, x->qend, rcode, x->buf, x->outcap, &len) != 0)
		return;
	if (pkt_parse_query(x->q, x->qlen, &pq) == 0 && pq.edns && len + 11 <= x->outcap) {
		uint8_t *o = x->buf + len;
		o[0] = 0;
		pkt_put16(o + 1, PKT_TYPE_OPT);
		pkt_put16(o + 3, x->d->aconf.max_udp_payload);
		pkt_put32(o + 5, pq.do_bit ? PKT_EDNS_DO : 0);
		pkt_put16(o + 9, 0);
		len += 11;
		pkt_put16(x->buf + 10, 1);
	}
	xs_send(x, x->buf, len);
}

/* The conf zone whose origin is name, or -1. */
static int conf_zone_find(const dconf_t *c, const uint8_t *name, size_t len)
{
	int found = -1;
	for (size_t i = 0; i < c->n_zones && found < 0; i++) {
		uint8_t w[WNAME_MAXLEN];
		const dconf_zone_t *zc = &c->zones[i];
		int n = anyns_name_from_text(zc->origin, w, sizeof(w));
		if (!zc->removed && n > 0 && (size_t)n == len && memcmp(w, name, len) == 0)
			found = (int)i;
	}
	return found;
}

/* The remote of list matching the source address whose key (if it has
 * one) signed the query; -1 when none does. */
static int xs_allowed(struct xs *x, const dconf_rlist_t *list)
{
	const dconf_t *c = x->c;
	for (size_t i = 0; i < list->n; i++) {
		const dconf_remote_t *r = &c->remotes[list->v[i]];
		dconf_rlist_t one = { .v = &list->v[i], .n = 1 };
		if (dconf_rlist_match(c, &one, x->from) < 0)
			continue;
		if (r->key < 0 || (x->signed_q && r->key == x->key))
			return list->v[i];
	}
	return -1;
}

static void xs_notify(struct xs *x)
{
	daemon_t *d = x->d;
	xfr_notify_t n;
	char from[64];
	addr_text(x->from, from, sizeof(from));
	int rc = xfr_notify_parse(x->q, x->qlen, &n);
	if (rc != 0) {
		xs_rcode(x, PKT_RCODE_FORMERR);
		return;
	}
	x->qend = n.qend;
	int idx = conf_zone_find(x->c, n.zone, n.zone_len);
	char zname[1024];
	anyns_name_to_text(n.zone, n.zone_len, zname, sizeof(zname));
	if (idx < 0) {
		if (xs_log_ok())
			log_info("notify: refused zone=%s from=%s reason=\"not a zone of ours\"",
			         log_q(zname), log_q(from));
		xs_rcode(x, PKT_RCODE_NOTAUTH);
		return;
	}
	const dconf_rlist_t *prim = &dconf_zone_policy(x->c, &x->c->zones[idx])->primaries;
	if (prim->n == 0 || xs_allowed(x, prim) < 0) {
		if (xs_log_ok())
			log_warn("notify: refused zone=%s from=%s reason=\"not one of its primaries%s\"",
			         log_q(zname), log_q(from),
			         prim->n > 0 ? " (or not signed with its key)" : "");
		xs_rcode(x, prim->n == 0 ? PKT_RCODE_NOTAUTH : PKT_RCODE_REFUSED);
		return;
	}
	if (n.has_serial)
		log_info("notify: received zone=%s from=%s serial=%u", log_q(zname), log_q(from),
		         n.serial);
	else
		log_info("notify: received zone=%s from=%s serial=-", log_q(zname), log_q(from));
	xfrd_notify_received(d, (size_t)idx);
	xs_rcode(x, PKT_RCODE_NOERROR);
}

/* The client's serial from the SOA in the authority section of an IXFR. */
static bool ixfr_client_serial(struct xs *x, uint32_t *serial)
{
	const uint8_t *q = x->q;
	if (pkt_get16(q + 6) != 0 || pkt_get16(q + 8) != 1)
		return false;
	rrlist_t l;
	rrlist_init(&l);
	size_t pos = x->qend;
	bool ok = rrlist_read_wire(&l, q, x->qlen, &pos) == 0 && l.rr[0].type == PKT_TYPE_SOA &&
	          rr_soa_serial(&l, &l.rr[0], serial);
	rrlist_clear(&l);
	return ok;
}

static void xs_transfer(struct xs *x)
{
	daemon_t *d = x->d;
	char from[64], zname[1024];
	addr_text(x->from, from, sizeof(from));
	anyns_name_to_text(x->qname, x->qname_len, zname, sizeof(zname));
	const char *what = x->qtype == PKT_TYPE_AXFR ? "AXFR" : "IXFR";
	int idx = conf_zone_find(x->c, x->qname, x->qname_len);
	if (idx < 0) {
		xs_rcode(x, PKT_RCODE_NOTAUTH);
		return;
	}
	if (xs_allowed(x, &dconf_zone_policy(x->c, &x->c->zones[idx])->allow_transfer) < 0) {
		if (xs_log_ok())
			log_info("xfr: refused type=%s zone=%s to=%s reason=\"not in allow-transfer%s\"",
			         what, log_q(zname), log_q(from), x->signed_q ? "" : " (or unsigned)");
		xs_rcode(x, PKT_RCODE_REFUSED);
		return;
	}
	zhist_t *h = xfrd_hist_get(d, (size_t)idx);
	size_t hl = 0;
	const uint8_t *hw = h != NULL ? zone_origin_wire(h->zone, &hl) : NULL;
	if (h != NULL && !wname_equal(hw, hl, x->qname, x->qname_len)) {
		/* The zone list is being replaced: the history is not this zone's. */
		zhist_unref(h);
		h = NULL;
	}
	if (h == NULL) {
		xs_rcode(x, PKT_RCODE_SERVFAIL);
		return;
	}
	xfr_writer_t w;
	xfr_writer_init(&w, x->q, x->qend);
	uint32_t client = 0;
	int rc;
	const char *kind = "axfr";
	if (x->qtype == PKT_TYPE_IXFR && ixfr_client_serial(x, &client)) {
		if (!serial_lt(client, h->serial)) {
			kind = "ixfr-up-to-date";
			rc = xfr_writer_soa(&w, &h->rrs, h->soa);
		} else {
			size_t k = h->nch;
			for (size_t i = 0; i < h->nch; i++)
				if (h->ch[i].from == client) {
					k = i;
					break;
				}
			if (k < h->nch) {
				const xfr_change_t **chs = malloc((h->nch - k) * sizeof(*chs));
				if (chs == NULL) {
					rc = ANYNS_ENOMEM;
				} else {
					for (size_t i = k; i < h->nch; i++)
						chs[i - k] = &h->ch[i];
					rc = xfr_writer_ixfr(&w, &h->rrs, h->soa, chs, h->nch - k);
					free(chs);
				}
				kind = "ixfr";
			} else {
				/* RFC 1995 4: history does not reach: the whole zone. */
				kind = "ixfr-full-zone";
				rc = xfr_writer_axfr(&w, &h->rrs);
			}
		}
	} else if (x->qtype == PKT_TYPE_IXFR) {
		xfr_writer_clear(&w);
		zhist_unref(h);
		xs_rcode(x, PKT_RCODE_FORMERR);
		return;
	} else {
		rc = xfr_writer_axfr(&w, &h->rrs);
	}
	unsigned msgs = 0;
	if (rc == 0) {
		size_t len;
		size_t cap = x->outcap - (x->signed_q ? TSIG_RR_MAX : 0);
		while ((rc = xfr_writer_next(&w, x->buf, cap, &len)) == 0) {
			xs_send(x, x->buf, len);
			msgs++;
		}
		if (rc == ANYNS_ENOENT)
			rc = 0;
	}
	if (rc != 0)
		log_err("xfr: failed type=%s zone=%s to=%s error=%s", what, log_q(zname), log_q(from),
		        log_q(anyns_strerror(rc)));
	else
		log_info("xfr: sent type=%s zone=%s serial=%u to=%s kind=%s messages=%u tsig=%s", what,
		         log_q(zname), h->serial, log_q(from), kind, msgs, x->signed_q ? "yes" : "no");
	xfr_writer_clear(&w);
	zhist_unref(h);
}

/* A signed ordinary query: the engine answers (allow-query applies as to
 * any query), we sign. */
static void xs_query(struct xs *x, const zset_t *zs)
{
	size_t len = 0;
	size_t cap = x->outcap - TSIG_RR_MAX;
	uint8_t ipbuf[16];
	answer_peer_t peer;
	peer_from(x->from, ipbuf, &peer);
	if (answer_build_peer(zs, &x->d->aconf, &peer, x->q, x->qlen,
	                      x->tcp ? ANSWER_TCP : ANSWER_UDP, x->buf, cap, &len, NULL) != 0 ||
	    len == 0)
		return;
	xs_send(x, x->buf, len);
}

void xfr_serve(daemon_t *d, const zset_t *zs, const struct sockaddr *from, bool tcp,
               const uint8_t *q, size_t len, size_t outcap, xfr_send_fn send, void *ctx)
{
	struct xs x = { .d = d, .from = from, .tcp = tcp, .q = q, .qlen = len, .key = -1,
	                .send = send, .ctx = ctx };
	uint8_t *buf = malloc(XS_BUF), *stripped = NULL;
	char afrom[64];
	if (buf == NULL)
		return;
	x.buf = buf;
	x.outcap = outcap < XS_BUF ? outcap : XS_BUF;
	/* A reload replaces these arrays whole and frees the old ones only once
	 * every worker has left its read-side section (we are in one). */
	static __thread dconf_t view;
	pthread_mutex_lock(&d->zones_lock);
	view.zones = d->conf.zones;
	view.n_zones = d->conf.n_zones;
	view.keys = d->conf.keys;
	view.n_keys = d->conf.n_keys;
	view.remotes = d->conf.remotes;
	view.n_remotes = d->conf.n_remotes;
	pthread_mutex_unlock(&d->zones_lock);
	x.c = &view;
	x.qend = PKT_HDR_LEN;
	/* The question, for echoing it in every answer. */
	if (pkt_get16(q + 4) == 1) {
		size_t pos = PKT_HDR_LEN;
		int n = wname_check(q + pos, len - pos);
		if (n > 0 && pos + (size_t)n + 4 <= len) {
			wname_lower(x.qname, q + pos, (size_t)n);
			x.qname_len = (size_t)n;
			x.qtype = pkt_get16(q + pos + n);
			x.qend = pos + (size_t)n + 4;
		}
	}
	tsig_rr_t tr;
	int rc = tsig_find(q, len, &tr);
	if (rc == ANYNS_EMALF) {
		xs_rcode(&x, PKT_RCODE_FORMERR);
		goto out;
	}
	if (rc == 0) {
		uint64_t now = (uint64_t)time(NULL);
		addr_text(from, afrom, sizeof(afrom));
		char kname[1024];
		anyns_name_to_text(tr.key_name, tr.key_name_len, kname, sizeof(kname));
		for (size_t i = 0; i < x.c->n_keys && x.key < 0; i++) {
			const tsig_key_t *k = &x.c->keys[i].key;
			if (k->name_len == tr.key_name_len &&
			    memcmp(k->name, tr.key_name, k->name_len) == 0)
				x.key = (int)i;
		}
		/* RFC 8945 5.2: the answer to a bad signature is the error, unsigned. */
		uint16_t err = TSIG_BADKEY;
		if (x.key >= 0) {
			tsig_ctx_init(&x.tsig, &x.c->keys[x.key].key);
			err = (uint16_t)tsig_verify_query(&x.tsig, q, len, &tr, now);
		}
		if (err == TSIG_BADKEY || err == TSIG_BADSIG) {
			if (xs_log_ok())
				log_warn("tsig: refused from=%s key=%s error=%s", log_q(afrom), log_q(kname),
				         err == TSIG_BADKEY ? "BADKEY" : "BADSIG");
			size_t olen;
			if (xfr_answer_header(q, x.qend, PKT_RCODE_NOTAUTH, buf, x.outcap, &olen) == 0 &&
			    tsig_append_error(buf, &olen, x.outcap, &tr, err, now) == 0)
				send(ctx, buf, olen);
			goto out;
		}
		x.signed_q = true;
		if (err == TSIG_BADTIME) {
			if (xs_log_ok())
				log_warn("tsig: refused from=%s key=%s error=BADTIME fudge=%u", log_q(afrom),
				         log_q(kname), tr.fudge);
			size_t olen;
			if (xfr_answer_header(q, x.qend, PKT_RCODE_NOTAUTH, buf, x.outcap, &olen) == 0)
				xs_send(&x, buf, olen);
			goto out;
		}
		/* The rest of the work sees the query as it was before signing. */
		stripped = malloc(tr.rr_start);
		if (stripped == NULL)
			goto out;
		memcpy(stripped, q, tr.rr_start);
		pkt_put16(stripped, tr.orig_id);
		pkt_put16(stripped + 10, (uint16_t)(pkt_get16(stripped + 10) - 1));
		x.q = stripped;
		x.qlen = tr.rr_start;
		/* Answers carry the ID the client sent. */
		pkt_put16(stripped, pkt_get16(q));
	}
	if (((x.q[2] >> 3) & 0x0F) == PKT_OPCODE_NOTIFY)
		xs_notify(&x);
	else if (tcp && (x.qtype == PKT_TYPE_AXFR || x.qtype == PKT_TYPE_IXFR) &&
	         ((x.q[2] >> 3) & 0x0F) == PKT_OPCODE_QUERY)
		xs_transfer(&x);
	else
		xs_query(&x, zs);
out:
	if (x.signed_q || x.key >= 0)
		tsig_ctx_clear(&x.tsig);
	free(stripped);
	free(buf);
}
