/* Zone transfer streams, changes, NOTIFY and catalog zones: see xfr.h. */
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "serial.h"
#include "wire_name.h"
#include "xfr.h"

/* ---- queries -------------------------------------------------------------- */

int xfr_query_build(uint8_t *buf, size_t cap, uint16_t id, uint8_t opcode,
                    const uint8_t *origin, size_t origin_len, uint16_t qtype,
                    const rrlist_t *soa_list, const rr_t *soa, size_t *len)
{
	pkt_qspec_t qs = {
		.name = origin, .name_len = origin_len, .qtype = qtype, .qclass = PKT_CLASS_IN,
		.id = id, .flags1 = (uint8_t)((opcode & 0x0F) << 3 |
		                              (opcode == PKT_OPCODE_NOTIFY ? PKT_F1_AA : 0)),
	};
	size_t p;
	int rc = pkt_write_query(&qs, buf, cap, &p);
	if (rc < 0)
		return rc;
	if (soa != NULL) {
		compress_t c;
		compress_init(&c, buf);
		compress_add(&c, PKT_HDR_LEN, origin, origin_len);
		int w = rr_write_wire(soa_list, soa, &c, buf, p, cap);
		if (w < 0)
			return w;
		p += (size_t)w;
		pkt_put16(buf + (opcode == PKT_OPCODE_NOTIFY ? 6 : 8), 1);
	}
	*len = p;
	return 0;
}

/* ---- changes -------------------------------------------------------------- */

void xfr_change_init(xfr_change_t *c)
{
	memset(c, 0, sizeof(*c));
	rrlist_init(&c->del);
	rrlist_init(&c->add);
}

void xfr_change_clear(xfr_change_t *c)
{
	rrlist_clear(&c->del);
	rrlist_clear(&c->add);
}

static const rr_t *find_soa(const rrlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rr[i].type == PKT_TYPE_SOA)
			return &l->rr[i];
	return NULL;
}

/* Moves the SOA of l (if any) to the front, keeping the others in order. */
static void soa_first(rrlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rr[i].type == PKT_TYPE_SOA) {
			rr_t s = l->rr[i];
			memmove(&l->rr[1], &l->rr[0], i * sizeof(rr_t));
			l->rr[0] = s;
			return;
		}
}

int xfr_diff(const rrlist_t *a, const rrlist_t *b, xfr_change_t *out)
{
	const rr_t *sa = find_soa(a), *sb = find_soa(b);
	size_t i = 0, j = 0;
	int rc = 0;

	if (sa == NULL || sb == NULL || !rr_soa_serial(a, sa, &out->from) ||
	    !rr_soa_serial(b, sb, &out->to))
		return ANYNS_EINVAL;
	while (rc == 0 && (i < a->n || j < b->n)) {
		int c = i >= a->n ? 1 : j >= b->n ? -1 : rr_cmp(a, &a->rr[i], b, &b->rr[j]);
		if (c < 0) {
			rc = rrlist_copy_rr(&out->del, a, &a->rr[i++]);
		} else if (c > 0) {
			rc = rrlist_copy_rr(&out->add, b, &b->rr[j++]);
		} else {
			/* The SOA always changes; other records only with their TTL. */
			if (a->rr[i].ttl != b->rr[j].ttl || a->rr[i].type == PKT_TYPE_SOA) {
				rc = rrlist_copy_rr(&out->del, a, &a->rr[i]);
				if (rc == 0)
					rc = rrlist_copy_rr(&out->add, b, &b->rr[j]);
			}
			i++;
			j++;
		}
	}
	if (rc != 0)
		return rc;
	soa_first(&out->del);
	soa_first(&out->add);
	return 0;
}

/* A sorted copy of l's records (the arena is shared: only rr_t move). */
static rr_t *sorted_view(const rrlist_t *l)
{
	rr_t *v = malloc((l->n ? l->n : 1) * sizeof(rr_t));
	if (v == NULL)
		return NULL;
	memcpy(v, l->rr, l->n * sizeof(rr_t));
	rrlist_t tmp = *l;
	tmp.rr = v;
	rrlist_sort(&tmp);
	return v;
}

/* out = cur - del + add; cur is sorted. Deletions must all match. */
static int apply_one(const rrlist_t *cur, const xfr_change_t *ch, rrlist_t *out)
{
	rr_t *del = sorted_view(&ch->del), *add = sorted_view(&ch->add);
	size_t i = 0, d = 0, a = 0;
	int rc = 0;

	if (del == NULL || add == NULL) {
		rc = ANYNS_ENOMEM;
		goto out;
	}
	while (rc == 0 && (i < cur->n || a < ch->add.n)) {
		const rr_t *x = i < cur->n ? &cur->rr[i] : NULL;
		/* Skip deletions that sort before x: they were not in the zone. */
		if (x != NULL && d < ch->del.n) {
			int c = rr_cmp(&ch->del, &del[d], cur, x);
			if (c < 0) {
				rc = ANYNS_EINVAL;
				break;
			}
			if (c == 0) {
				d++;
				i++;
				continue;
			}
		}
		if (a < ch->add.n) {
			int c = x ? rr_cmp(&ch->add, &add[a], cur, x) : -1;
			if (c <= 0) {
				rc = rrlist_copy_rr(out, &ch->add, &add[a++]);
				if (c == 0)
					i++;    /* already there: the added one (its TTL) wins */
				continue;
			}
		}
		rc = rrlist_copy_rr(out, cur, x);
		i++;
	}
	if (rc == 0 && d < ch->del.n)
		rc = ANYNS_EINVAL;
	if (rc == 0)
		rrlist_dedup(out);
out:
	free(del);
	free(add);
	return rc;
}

int xfr_apply(const rrlist_t *zone, const xfr_change_t *ch, size_t n, rrlist_t *out)
{
	rrlist_t tmp[2];
	const rrlist_t *cur = zone;
	int rc = 0;

	rrlist_init(&tmp[0]);
	rrlist_init(&tmp[1]);
	for (size_t k = 0; k < n && rc == 0; k++) {
		uint32_t serial;
		const rr_t *soa = find_soa(cur);
		if (soa == NULL || !rr_soa_serial(cur, soa, &serial) || serial != ch[k].from) {
			rc = ANYNS_EINVAL;
			break;
		}
		rrlist_t *dst = k + 1 == n ? out : &tmp[k & 1];
		rrlist_reset(dst);
		rc = apply_one(cur, &ch[k], dst);
		cur = dst;
	}
	if (rc == 0 && n == 0) {
		for (size_t i = 0; i < zone->n && rc == 0; i++)
			rc = rrlist_copy_rr(out, zone, &zone->rr[i]);
	}
	rrlist_clear(&tmp[0]);
	rrlist_clear(&tmp[1]);
	return rc;
}

/* ---- reading a response stream -------------------------------------------- */

enum { ST_FIRST = 0, ST_SECOND, ST_AXFR, ST_DEL, ST_ADD, ST_END };

void xfr_parser_init(xfr_parser_t *p, uint16_t qtype, uint16_t id, const uint8_t *origin,
                     size_t origin_len, uint32_t have_serial)
{
	memset(p, 0, sizeof(*p));
	p->qtype = qtype;
	p->id = id;
	wname_lower(p->origin, origin, origin_len);
	p->origin_len = (uint8_t)origin_len;
	p->have_serial = have_serial;
	rrlist_init(&p->axfr);
	rrlist_init(&p->first);
}

void xfr_parser_clear(xfr_parser_t *p)
{
	rrlist_clear(&p->axfr);
	rrlist_clear(&p->first);
	for (size_t i = 0; i < p->nchanges; i++)
		xfr_change_clear(&p->changes[i]);
	free(p->changes);
	p->changes = NULL;
	p->nchanges = 0;
}

static xfr_change_t *new_change(xfr_parser_t *p)
{
	xfr_change_t *c = realloc(p->changes, (p->nchanges + 1) * sizeof(*c));
	if (c == NULL)
		return NULL;
	p->changes = c;
	xfr_change_init(&c[p->nchanges]);
	return &c[p->nchanges++];
}

/* Takes the record just read into `scratch` (its last) through the state machine. */
static int step(xfr_parser_t *p, const rrlist_t *s, const rr_t *r)
{
	bool is_soa = r->type == PKT_TYPE_SOA;
	uint32_t serial = 0;

	if (is_soa) {
		if (!wname_equal(rr_owner(s, r), r->owner_len, p->origin, p->origin_len) ||
		    !rr_soa_serial(s, r, &serial))
			return ANYNS_EMALF;
	}
	switch (p->state) {
	case ST_FIRST:
		if (!is_soa)
			return ANYNS_EMALF;
		p->serial = serial;
		p->state = ST_SECOND;
		return rrlist_copy_rr(&p->first, s, r);
	case ST_SECOND:
		if (is_soa && serial == p->serial) {
			/* SOA, SOA: an AXFR of a zone holding its SOA only. */
			p->kind = XFR_AXFR;
			p->state = ST_END;
			p->done = true;
			return rrlist_copy_rr(&p->axfr, &p->first, &p->first.rr[0]);
		}
		if (is_soa && p->qtype == PKT_TYPE_IXFR) {
			xfr_change_t *c = new_change(p);
			if (c == NULL)
				return ANYNS_ENOMEM;
			p->kind = XFR_IXFR;
			p->state = ST_DEL;
			c->from = serial;
			return rrlist_copy_rr(&c->del, s, r);
		}
		if (is_soa)
			return ANYNS_EMALF;
		p->kind = XFR_AXFR;
		p->state = ST_AXFR;
		if (rrlist_copy_rr(&p->axfr, &p->first, &p->first.rr[0]) != 0)
			return ANYNS_ENOMEM;
		return rrlist_copy_rr(&p->axfr, s, r);
	case ST_AXFR:
		if (is_soa) {
			if (serial != p->serial)
				return ANYNS_EMALF;
			p->state = ST_END;
			p->done = true;
			return 0;
		}
		return rrlist_copy_rr(&p->axfr, s, r);
	case ST_DEL: {
		xfr_change_t *c = &p->changes[p->nchanges - 1];
		if (is_soa) {
			c->to = serial;
			p->state = ST_ADD;
			return rrlist_copy_rr(&c->add, s, r);
		}
		return rrlist_copy_rr(&c->del, s, r);
	}
	case ST_ADD: {
		xfr_change_t *c = &p->changes[p->nchanges - 1];
		if (!is_soa)
			return rrlist_copy_rr(&c->add, s, r);
		if (serial == p->serial && c->to == p->serial) {
			p->state = ST_END;
			p->done = true;
			return 0;
		}
		/* The next change starts where this one ended. */
		if (serial != c->to)
			return ANYNS_EMALF;
		c = new_change(p);
		if (c == NULL)
			return ANYNS_ENOMEM;
		c->from = serial;
		p->state = ST_DEL;
		return rrlist_copy_rr(&c->del, s, r);
	}
	default:
		return ANYNS_EMALF;     /* a record after the closing SOA */
	}
}

int xfr_parser_feed(xfr_parser_t *p, const uint8_t *msg, size_t len)
{
	if (len < PKT_HDR_LEN || p->done)
		return ANYNS_EMALF;
	if (pkt_get16(msg) != p->id || !(msg[2] & PKT_F1_QR) || (msg[2] & PKT_F1_TC) ||
	    ((msg[2] >> 3) & 0x0F) != PKT_OPCODE_QUERY)
		return ANYNS_EMALF;
	uint8_t rcode = msg[3] & 0x0F;
	if (rcode != PKT_RCODE_NOERROR) {
		p->rcode = rcode;
		return ANYNS_EINVAL;
	}
	unsigned qd = pkt_get16(msg + 4), an = pkt_get16(msg + 6);
	size_t pos = PKT_HDR_LEN;
	/* RFC 5936 2.2.1: the first message echoes the question, later ones may. */
	if (qd > 1 || (qd == 0 && p->messages == 0))
		return ANYNS_EMALF;
	if (qd == 1) {
		size_t q = pos;
		if (pkt_skip_name(msg, len, &pos) != 0 || pos + 4 > len)
			return ANYNS_EMALF;
		int n = wname_check(msg + q, pos - q);
		if (n < 0 || !wname_equal(msg + q, (size_t)n, p->origin, p->origin_len) ||
		    pkt_get16(msg + pos) != p->qtype)
			return ANYNS_EMALF;
		pos += 4;
	}
	p->messages++;
	rrlist_t s;
	rrlist_init(&s);
	int rc = 0;
	for (unsigned i = 0; i < an && rc == 0; i++) {
		rrlist_reset(&s);
		rc = rrlist_read_wire(&s, msg, len, &pos);
		if (rc != 0)
			break;
		if (s.rr[0].rclass != PKT_CLASS_IN) {
			rc = ANYNS_EMALF;
			break;
		}
		if (p->max_records && ++p->records > p->max_records) {
			rc = ANYNS_EMALF;
			break;
		}
		rc = step(p, &s, &s.rr[0]);
	}
	rrlist_clear(&s);
	if (rc != 0)
		return rc == ANYNS_ENOMEM ? rc : ANYNS_EMALF;
	/* RFC 1995 4: an IXFR answered with one SOA alone, not newer than ours:
	 * the client is current. A newer SOA alone may be the start of a stream
	 * cut into small messages; if nothing follows, the caller asks again
	 * with AXFR. */
	if (p->state == ST_SECOND && p->qtype == PKT_TYPE_IXFR &&
	    !serial_gt(p->serial, p->have_serial)) {
		p->kind = XFR_UPTODATE;
		p->state = ST_END;
		p->done = true;
	}
	return 0;
}

/* ---- writing a response stream -------------------------------------------- */

void xfr_writer_init(xfr_writer_t *w, const uint8_t *query, size_t qend)
{
	memset(w, 0, sizeof(*w));
	w->query = query;
	w->qend = qend;
	w->id = pkt_get16(query);
}

void xfr_writer_clear(xfr_writer_t *w)
{
	free(w->seg);
	w->seg = NULL;
	w->nseg = w->cap = 0;
}

static int add_seg(xfr_writer_t *w, const rrlist_t *l, size_t from, size_t to, bool skip_soa)
{
	if (from >= to)
		return 0;
	if (w->nseg == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 8;
		xfr_seg_t *s = realloc(w->seg, nc * sizeof(*s));
		if (s == NULL)
			return ANYNS_ENOMEM;
		w->seg = s;
		w->cap = nc;
	}
	w->seg[w->nseg++] = (xfr_seg_t){ l, from, to, skip_soa };
	return 0;
}

int xfr_writer_axfr(xfr_writer_t *w, const rrlist_t *zone)
{
	const rr_t *soa = find_soa(zone);
	if (soa == NULL)
		return ANYNS_EINVAL;
	size_t si = (size_t)(soa - zone->rr);
	int rc = add_seg(w, zone, si, si + 1, false);
	if (rc == 0)
		rc = add_seg(w, zone, 0, zone->n, true);
	if (rc == 0)
		rc = add_seg(w, zone, si, si + 1, false);
	return rc;
}

int xfr_writer_ixfr(xfr_writer_t *w, const rrlist_t *soa_list, const rr_t *soa,
                    const xfr_change_t *const *ch, size_t n)
{
	size_t si = (size_t)(soa - soa_list->rr);
	int rc = add_seg(w, soa_list, si, si + 1, false);
	for (size_t k = 0; k < n && rc == 0; k++) {
		rc = add_seg(w, &ch[k]->del, 0, ch[k]->del.n, false);
		if (rc == 0)
			rc = add_seg(w, &ch[k]->add, 0, ch[k]->add.n, false);
	}
	if (rc == 0)
		rc = add_seg(w, soa_list, si, si + 1, false);
	return rc;
}

int xfr_writer_soa(xfr_writer_t *w, const rrlist_t *soa_list, const rr_t *soa)
{
	size_t si = (size_t)(soa - soa_list->rr);
	return add_seg(w, soa_list, si, si + 1, false);
}

int xfr_writer_next(xfr_writer_t *w, uint8_t *buf, size_t cap, size_t *len)
{
	/* Skip what is left of segments with nothing more to send. */
	while (w->cur < w->nseg) {
		xfr_seg_t *s = &w->seg[w->cur];
		size_t i = w->idx > s->from ? w->idx : s->from;
		while (i < s->to && s->skip_soa && s->l->rr[i].type == PKT_TYPE_SOA)
			i++;
		if (i < s->to) {
			w->idx = i;
			break;
		}
		w->cur++;
		w->idx = 0;
	}
	if (w->cur >= w->nseg)
		return ANYNS_ENOENT;
	if (cap > 65535)
		cap = 65535;
	int rc = xfr_answer_header(w->query, w->qend, PKT_RCODE_NOERROR, buf, cap, len);
	if (rc != 0)
		return rc;
	compress_t c;
	compress_init(&c, buf);
	compress_add(&c, PKT_HDR_LEN, w->query + PKT_HDR_LEN, w->qend - 4 - PKT_HDR_LEN);
	size_t p = *len;
	unsigned an = 0;
	while (w->cur < w->nseg && an < 65535) {
		xfr_seg_t *s = &w->seg[w->cur];
		size_t i = w->idx > s->from ? w->idx : s->from;
		if (i >= s->to) {
			w->cur++;
			w->idx = 0;
			continue;
		}
		const rr_t *r = &s->l->rr[i];
		if (s->skip_soa && r->type == PKT_TYPE_SOA) {
			w->idx = i + 1;
			continue;
		}
		unsigned mark = compress_mark(&c);
		int n = rr_write_wire(s->l, r, &c, buf, p, cap);
		if (n < 0) {
			compress_rollback(&c, mark);
			if (an == 0)
				return ANYNS_ESPACE;
			break;
		}
		p += (size_t)n;
		an++;
		w->idx = i + 1;
	}
	pkt_put16(buf + 6, (uint16_t)an);
	*len = p;
	w->messages++;
	return 0;
}

/* ---- NOTIFY --------------------------------------------------------------- */

int xfr_notify_parse(const uint8_t *msg, size_t len, xfr_notify_t *out)
{
	memset(out, 0, sizeof(*out));
	if (len < PKT_HDR_LEN || (msg[2] & PKT_F1_QR) ||
	    ((msg[2] >> 3) & 0x0F) != PKT_OPCODE_NOTIFY)
		return ANYNS_EINVAL;
	out->id = pkt_get16(msg);
	if (pkt_get16(msg + 4) != 1)
		return ANYNS_EMALF;
	size_t pos = PKT_HDR_LEN;
	int n = wname_check(msg + pos, len - pos);
	if (n < 0 || pos + (size_t)n + 4 > len)
		return ANYNS_EMALF;
	wname_lower(out->zone, msg + pos, (size_t)n);
	out->zone_len = (uint8_t)n;
	pos += (size_t)n;
	if (pkt_get16(msg + pos) != PKT_TYPE_SOA || pkt_get16(msg + pos + 2) != PKT_CLASS_IN)
		return ANYNS_EMALF;
	pos += 4;
	out->qend = pos;
	/* RFC 1996 3.7: the answer section may carry the primary's new SOA. */
	if (pkt_get16(msg + 6) >= 1) {
		rrlist_t l;
		rrlist_init(&l);
		if (rrlist_read_wire(&l, msg, len, &pos) == 0 && l.rr[0].type == PKT_TYPE_SOA &&
		    wname_equal(rr_owner(&l, &l.rr[0]), l.rr[0].owner_len, out->zone,
		                out->zone_len))
			out->has_serial = rr_soa_serial(&l, &l.rr[0], &out->serial);
		rrlist_clear(&l);
	}
	return 0;
}

int xfr_answer_header(const uint8_t *query, size_t qend, uint8_t rcode, uint8_t *out,
                      size_t cap, size_t *len)
{
	if (qend < PKT_HDR_LEN || qend > cap)
		return ANYNS_ESPACE;
	memcpy(out, query, qend);
	/* A refusal or an error is not an authoritative answer (as NSD). */
	out[2] = (uint8_t)(PKT_F1_QR | (rcode == PKT_RCODE_NOERROR ? PKT_F1_AA : 0) |
	                   (query[2] & 0x78) | (query[2] & PKT_F1_RD));
	out[3] = (uint8_t)(rcode & 0x0F);
	pkt_put16(out + 4, qend > PKT_HDR_LEN ? 1 : 0);
	pkt_put16(out + 6, 0);
	pkt_put16(out + 8, 0);
	pkt_put16(out + 10, 0);
	*len = qend;
	return 0;
}

/* ---- catalog zones -------------------------------------------------------- */

/* True when name is one label below parent. */
static bool is_child_of(const uint8_t *name, size_t nlen, const uint8_t *parent, size_t plen)
{
	if (nlen <= plen || name[0] == 0)
		return false;
	size_t first = 1 + (size_t)name[0];
	return nlen - first == plen && wname_equal(name + first, plen, parent, plen);
}

int xfr_catalog_members(const rrlist_t *zone, const uint8_t *origin, size_t origin_len,
                        rrlist_t *out)
{
	uint8_t version[WNAME_MAXLEN], zones[WNAME_MAXLEN];
	bool version_ok = false;
	int rc = 0;

	if (origin_len + 9 > WNAME_MAXLEN)
		return ANYNS_EINVAL;
	memcpy(version, "\x07version", 8);
	memcpy(version + 8, origin, origin_len);
	memcpy(zones, "\x05zones", 6);
	memcpy(zones + 6, origin, origin_len);
	for (size_t i = 0; i < zone->n; i++) {
		const rr_t *r = &zone->rr[i];
		const uint8_t *rd = rr_rdata(zone, r);
		if (r->type == PKT_TYPE_TXT &&
		    wname_equal(rr_owner(zone, r), r->owner_len, version, origin_len + 8) &&
		    r->rdlen == 2 && rd[0] == 1 && rd[1] == '2')
			version_ok = true;
	}
	if (!version_ok)
		return ANYNS_EINVAL;
	for (size_t i = 0; i < zone->n && rc == 0; i++) {
		const rr_t *r = &zone->rr[i];
		const uint8_t *own = rr_owner(zone, r);
		if (r->type != PKT_TYPE_PTR || !is_child_of(own, r->owner_len, zones, origin_len + 6))
			continue;
		int n = wname_check(rr_rdata(zone, r), r->rdlen);
		if (n < 0 || (size_t)n != r->rdlen)
			continue;
		uint8_t member[WNAME_MAXLEN];
		wname_lower(member, rr_rdata(zone, r), (size_t)n);
		bool seen = false;
		for (size_t k = 0; k < out->n && !seen; k++)
			seen = wname_equal(rr_owner(out, &out->rr[k]), out->rr[k].owner_len, member,
			                   (size_t)n);
		if (seen)
			continue;
		rc = rrlist_add(out, member, (size_t)n, PKT_TYPE_PTR, PKT_CLASS_IN, 0, own,
		                1 + (size_t)own[0]);
	}
	return rc;
}
