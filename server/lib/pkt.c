/* Query parsing: header, question, the records of a query, EDNS0; and the
 * one function that writes a query. */
#include <string.h>

#include "anyns.h"
#include "pkt.h"
#include "wire_name.h"

int pkt_skip_name(const uint8_t *q, size_t len, size_t *pos)
{
	size_t p = *pos, end = 0, total = 0;
	unsigned hops = 0;
	/* Pointers must go strictly backwards: each jump lowers the position
	 * below the start of the label holding the pointer, so the walk ends.
	 * A chain of backward pointers still costs one step per pointer, so
	 * their number is bounded too. */
	size_t floor = p;

	for (;;) {
		if (p >= len)
			return ANYNS_EMALF;
		uint8_t c = q[p];
		if ((c & 0xC0) == 0xC0) {
			if (p + 1 >= len)
				return ANYNS_EMALF;
			size_t target = (size_t)(c & 0x3F) << 8 | q[p + 1];
			if (end == 0)
				end = p + 2;
			if (target >= floor || ++hops > PKT_MAX_PTR_HOPS)
				return ANYNS_EMALF;
			floor = target;
			p = target;
			continue;
		}
		if (c & 0xC0)   /* 0x40, 0x80: RFC 6891 obsoleted extended labels */
			return ANYNS_EMALF;
		total += (size_t)c + 1;
		if (total > WNAME_MAXLEN)
			return ANYNS_EMALF;
		if (c == 0) {
			*pos = end ? end : p + 1;
			return 0;
		}
		p += (size_t)c + 1;
	}
}

/* The question name: RFC 1035 4.1.4 allows pointers only to earlier names,
 * and the question is the first name of the message, so any pointer there is
 * malformed. */
static int parse_qname(const uint8_t *q, size_t len, pkt_query_t *pq)
{
	size_t p = PKT_HDR_LEN;

	for (;;) {
		if (p >= len)
			return ANYNS_EMALF;
		uint8_t c = q[p];
		if (c & 0xC0)
			return ANYNS_EMALF;
		if (p - PKT_HDR_LEN + c + 1 > WNAME_MAXLEN)
			return ANYNS_EMALF;
		if (p + c + 1 > len)
			return ANYNS_EMALF;
		p += (size_t)c + 1;
		if (c == 0)
			break;
	}
	pq->qname_len = (uint8_t)(p - PKT_HDR_LEN);
	/* Lowercased in one go once the labels are known to be sound. */
	pkt_lower_name(pq->qname_lc, q + PKT_HDR_LEN, pq->qname_len);
	return 0;
}

/* RFC 6891 6.1.2: OPT owner is the root, CLASS the payload size, TTL holds
 * extended rcode, version and flags, RDATA a list of {code, length, data}. */
static int parse_opt(const uint8_t *q, size_t p, size_t rdlen, pkt_query_t *pq)
{
	const uint8_t *rr = q + p;   /* at TYPE; owner already checked */
	uint32_t ttl = pkt_get32(rr + 4);
	size_t o = p + 10, end = o + rdlen;

	pq->edns_payload = pkt_get16(rr + 2);
	pq->edns_version = (uint8_t)(ttl >> 16);
	pq->do_bit = (ttl & PKT_EDNS_DO) != 0;
	while (o < end) {
		if (end - o < 4)
			return ANYNS_EMALF;
		uint16_t code = pkt_get16(q + o), olen = pkt_get16(q + o + 2);
		o += 4;
		if (olen > end - o)
			return ANYNS_EMALF;
		pq->edns_opts = true;
		if (code == PKT_OPT_NSID)
			pq->nsid = true;
		if (code == PKT_OPT_COOKIE && pq->cookie_off == 0) {
			pq->cookie_off = (uint16_t)o;
			pq->cookie_len = olen;
		}
		/* RFC 6891 6.1.2: unknown options are ignored. */
		o += olen;
	}
	pq->edns = true;
	return 0;
}

/* Parses the records after the question (at most PKT_QUERY_MAX_AR additional
 * ones and the IXFR SOA, checked by the caller): each is checked, the OPT one
 * is read. */
static int parse_records(const uint8_t *q, size_t len, pkt_query_t *pq, size_t *pos)
{
	size_t p = *pos;
	unsigned n = (unsigned)pq->ancount + pq->nscount + pq->arcount;
	unsigned ar_first = (unsigned)pq->ancount + pq->nscount;
	bool seen_opt = false;

	for (unsigned i = 0; i < n; i++) {
		size_t owner = p;
		if (pkt_skip_name(q, len, &p) < 0)
			return ANYNS_EMALF;
		if (len - p < 10)
			return ANYNS_EMALF;
		uint16_t type = pkt_get16(q + p);
		size_t rdlen = pkt_get16(q + p + 8);
		if (rdlen > len - p - 10)
			return ANYNS_EMALF;
		if (type == PKT_TYPE_OPT) {
			/* RFC 6891 6.1.1: OPT only in the additional section, owner
			 * the root, at most one: otherwise FORMERR. */
			if (i < ar_first || seen_opt || p - owner != 1 || q[owner] != 0)
				return ANYNS_EMALF;
			seen_opt = true;
			if (parse_opt(q, p, rdlen, pq) < 0)
				return ANYNS_EMALF;
		}
		p += 10 + rdlen;
	}
	*pos = p;
	return 0;
}

int pkt_parse_query(const uint8_t *q, size_t len, pkt_query_t *pq)
{
	memset(pq, 0, offsetof(pkt_query_t, qname_lc));

	if (len < PKT_HDR_LEN)
		return ANYNS_EDROP;
	pq->flags1 = q[2];
	pq->flags2 = q[3];
	if (pq->flags1 & PKT_F1_QR)
		return ANYNS_EDROP;   /* a response: never answer it (no loops) */
	pq->id = pkt_get16(q);
	pq->opcode = (q[2] >> 3) & 0x0F;
	pq->qdcount = pkt_get16(q + 4);
	pq->ancount = pkt_get16(q + 6);
	pq->nscount = pkt_get16(q + 8);
	pq->arcount = pkt_get16(q + 10);

	if (pq->opcode != PKT_OPCODE_QUERY)
		pq->rcode = PKT_RCODE_NOTIMP;
	if (pq->qdcount != 1) {
		if (!pq->rcode)
			pq->rcode = PKT_RCODE_FORMERR;
		return 0;
	}
	if (parse_qname(q, len, pq) < 0 || len - PKT_HDR_LEN - pq->qname_len < 4) {
		if (!pq->rcode)
			pq->rcode = PKT_RCODE_FORMERR;
		return 0;
	}
	size_t p = PKT_HDR_LEN + pq->qname_len;
	pq->qtype = pkt_get16(q + p);
	pq->qclass = pkt_get16(q + p + 2);
	p += 4;
	pq->question_end = (uint16_t)p;
	pq->has_question = true;

	/* A query carries no answer records and no authority records but the
	 * SOA of an IXFR (RFC 1995 3), and at most an OPT and a TSIG as
	 * additional records: anything else is FORMERR (as NSD), before any
	 * name in it is walked, so the work per query stays bounded. */
	if (pq->ancount != 0 ||
	    pq->nscount > (pq->qtype == PKT_TYPE_IXFR ? 1 : 0) ||
	    pq->arcount > PKT_QUERY_MAX_AR) {
		if (!pq->rcode)
			pq->rcode = PKT_RCODE_FORMERR;
		return 0;
	}

	if (pq->ancount == 0 && pq->nscount == 0 && pq->arcount == 1 && len - p == 11 &&
	    q[p] == 0 && pkt_get16(q + p + 1) == PKT_TYPE_OPT && q[p + 9] == 0 &&
	    q[p + 10] == 0) {
		/* The usual EDNS query, one OPT without options and nothing
		 * after it: what parse_records() would find, without the walk. */
		parse_opt(q, p + 1, 0, pq);
		p = len;
	} else if (parse_records(q, len, pq, &p) < 0) {
		/* A broken record or OPT: FORMERR without OPT in the reply, as
		 * the client's EDNS state is unknown (RFC 6891 7). */
		pq->edns = pq->do_bit = pq->nsid = false;
		if (!pq->rcode)
			pq->rcode = PKT_RCODE_FORMERR;
		return 0;
	}
	if (p != len) {
		/* Trailing garbage after the records: FORMERR, as NSD does. */
		if (!pq->rcode)
			pq->rcode = PKT_RCODE_FORMERR;
		return 0;
	}
	pq->simple = pq->rcode == 0 && pq->ancount == 0 && pq->nscount == 0 &&
	             (pq->arcount == 0 ||
	              (pq->arcount == 1 && pq->edns && pq->edns_version == 0 &&
	               !pq->edns_opts));
	return 0;
}

int pkt_write_query(const pkt_qspec_t *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t p = PKT_HDR_LEN, rdlen = 0;

	if (wname_check(s->name, s->name_len) != (int)s->name_len)
		return ANYNS_EINVAL;
	/* RFC 7873 4: a client cookie alone, or with a server cookie of 8 to 32. */
	if (s->cookie_len != 0 && s->cookie_len != 8 &&
	    (s->cookie_len < 16 || s->cookie_len > 40))
		return ANYNS_EINVAL;
	if (s->edns)
		rdlen = (s->nsid ? 4 : 0) + (s->cookie_len ? 4 + s->cookie_len : 0) + s->opts_len;
	if (rdlen > 65535 || cap < p + s->name_len + 4 + (s->edns ? 11 + rdlen : 0))
		return ANYNS_ESPACE;
	memset(out, 0, PKT_HDR_LEN);
	pkt_put16(out, s->id);
	out[2] = s->flags1;
	out[3] = s->flags2;
	pkt_put16(out + 4, 1);
	memcpy(out + p, s->name, s->name_len);
	p += s->name_len;
	pkt_put16(out + p, s->qtype);
	pkt_put16(out + p + 2, s->qclass);
	p += 4;
	if (s->edns) {
		uint8_t *o = out + p;
		pkt_put16(out + 10, 1);
		o[0] = 0;                                   /* root owner */
		pkt_put16(o + 1, PKT_TYPE_OPT);
		pkt_put16(o + 3, s->payload);
		/* TTL: extended rcode 0, version, flags. */
		pkt_put32(o + 5, (uint32_t)s->edns_version << 16 | (s->do_bit ? PKT_EDNS_DO : 0));
		pkt_put16(o + 9, (uint16_t)rdlen);
		p += 11;
		if (s->nsid) {
			pkt_put16(out + p, PKT_OPT_NSID);
			pkt_put16(out + p + 2, 0);
			p += 4;
		}
		if (s->cookie_len) {
			pkt_put16(out + p, PKT_OPT_COOKIE);
			pkt_put16(out + p + 2, (uint16_t)s->cookie_len);
			memcpy(out + p + 4, s->cookie, s->cookie_len);
			p += 4 + s->cookie_len;
		}
		if (s->opts_len) {
			memcpy(out + p, s->opts, s->opts_len);
			p += s->opts_len;
		}
	}
	*len = p;
	return 0;
}
