/* The answer engine: one query in, one response out (RFC 1034 4.3.2 as
 * refined by RFC 2308, 4592, 6672, 6891, 8482; for signed zones RFC 4035 3.1
 * and RFC 5155 7.2). No allocation: the response is
 * written straight into the caller's buffer, the compression table lives on
 * the stack, RRsets are copied from their pre-rendered zone form. */
#include <string.h>

#include "acl.h"
#include "anyns.h"
#include "compress.h"
#include "cookie.h"
#include "pkt.h"
#include "wire_name.h"
#include "zone_db.h"

/* CNAME/DNAME links followed. NSD has no fixed limit: it stops at a loop or
 * when the message is full. Each link writes at least one RR (12 bytes or
 * more), so a 64 KiB message holds a few thousand at most; 512 is beyond
 * any UDP answer and most TCP ones, and bounds the work per query to 512
 * lookups plus the loop check's hash set below. */
#define CHAIN_MAX 512
#define SEEN_SLOTS 1024 /* hash set of visited (node, name), load <= 1/2 */
#define ADDL_MAX  32   /* target names queued for additional processing */
#define DONE_MAX  64   /* RRsets already in the message (no duplicates) */
#define PROOF_MAX 32   /* NSEC/NSEC3 owners queued for the authority section */
#define OPT_LEN   11   /* root owner, type, class, TTL, rdlength */

enum section { SEC_AN = 0, SEC_NS = 1, SEC_AR = 2 };

/* An owner name to write: a fixed pointer when `ptr` >= 0 (the question
 * name or one of its suffixes), else `name`, compressed when written. */
struct owner {
	const uint8_t *name;
	size_t len;
	int ptr;
};

struct resp {
	uint8_t *pkt;
	size_t pos;
	size_t end;                 /* sections stop here; room after is kept for OPT */
	const pkt_query_t *q;
	const zone_t *zone;
	uint16_t count[3];
	uint8_t rcode;
	bool aa;
	bool partial;               /* optional records left out for lack of room */
	bool dnssec;                /* DO=1 and a signed zone: RRSIGs and proofs */
	uint8_t denial;             /* ZDNSSEC_* of the zone */
	bool apex_ns;               /* add the apex NS set (optional) after the proofs */
	bool minimal;               /* answer_conf.minimal_responses */
	const znode_t *wild;        /* the wildcard the question's answer came from */
	bool acl;                   /* the zone has an allow-query list */
	bool acl_refused;           /* and the client is not in it */
	/* Denial proofs are queued while the answer section is being written
	 * (a wildcard inside a CNAME chain needs one) and written after it. */
	unsigned nproof;
	const znode_t *proof[PROOF_MAX];
	unsigned ndone, naddl;
	const zrrset_t *done[DONE_MAX];
	struct {
		const uint8_t *name;
		uint8_t len;
		bool glue;      /* an NS target: data below a cut may be given */
		int ptr;        /* compression pointer for it as an owner, or -1 */
	} addl[ADDL_MAX];
	compress_t cmp;
};

void answer_conf_init(answer_conf_t *c)
{
	memset(c, 0, sizeof(*c));
	c->max_udp_payload = 1232;   /* DNS flag day 2020 default */
}

/* Where the domain names sit in the RDATA of the types whose names may be
 * compressed (RFC 3597 4: the RFC 1035 types only): `pre` fixed bytes, then
 * `names` names, then fixed bytes to the end. Returns false for other types. */
static bool rdata_layout(uint16_t type, unsigned *pre, unsigned *names)
{
	switch (type) {
	case PKT_TYPE_NS: case PKT_TYPE_CNAME: case PKT_TYPE_PTR:
	case PKT_TYPE_MD: case PKT_TYPE_MF: case PKT_TYPE_MB:
	case PKT_TYPE_MG: case PKT_TYPE_MR:
		*pre = 0; *names = 1; return true;
	case PKT_TYPE_MX:
		*pre = 2; *names = 1; return true;
	case PKT_TYPE_SOA: case PKT_TYPE_MINFO:
		*pre = 0; *names = 2; return true;
	default:
		return false;
	}
}

/* Offset of the name that triggers additional-section processing
 * (RFC 1035 3.3.9, 3.3.11; RFC 2782), or -1. */
static int addl_offset(uint16_t type)
{
	switch (type) {
	case PKT_TYPE_NS: return 0;
	case PKT_TYPE_MX: return 2;
	case PKT_TYPE_SRV: return 6;
	default: return -1;
	}
}

/* Queues the valid name `name` (n bytes) for additional processing. */
static void addl_queue(struct resp *r, const uint8_t *name, size_t n, bool glue, int ptr)
{
	for (unsigned i = 0; i < r->naddl; i++) {
		/* The same zone bytes are the same name: no comparison. */
		if (r->addl[i].name == name ||
		    wname_equal(r->addl[i].name, r->addl[i].len, name, n)) {
			r->addl[i].glue |= glue;
			return;
		}
	}
	if (r->naddl >= ADDL_MAX)
		return;
	r->addl[r->naddl].name = name;
	r->addl[r->naddl].len = (uint8_t)n;
	r->addl[r->naddl].glue = glue;
	r->addl[r->naddl].ptr = ptr;
	r->naddl++;
}

/* wname_is_subdomain() for a lowercased name and a lowercased parent. */
static bool lc_is_subdomain(const uint8_t *name, size_t nlen, const uint8_t *parent,
                            size_t plen)
{
	size_t p = 0;

	if (nlen < plen)
		return false;
	while (nlen - p > plen)
		p += 1 + (size_t)name[p];
	return nlen - p == plen && memcmp(name + p, parent, plen) == 0;
}

static bool is_done(const struct resp *r, const zrrset_t *rs)
{
	for (unsigned i = 0; i < r->ndone; i++)
		if (r->done[i] == rs)
			return true;
	return false;
}

/* The pointer compress_put() would give a later copy of the name it just
 * wrote at `at` (`n_before`: table size before): the target when the whole
 * name became a pointer; else `at` itself when its first label was
 * remembered, since no earlier entry held the whole name and later entries
 * come after it in the table. -1 when neither holds. */
static int name_ptr_after_put(const struct resp *r, size_t at, unsigned n_before)
{
	const uint8_t *w = r->pkt + at;

	if (w[0] >= 0xC0)
		return (w[0] & 0x3F) << 8 | w[1];
	if (r->cmp.n > n_before && r->cmp.e[n_before].off == at)
		return (int)at;
	return -1;
}

/* RDATA of a type with names inside: the names go through compression.
 * *first_ptr: name_ptr_after_put() of the first name, *first_len its length. */
static int put_rdata_names(struct resp *r, const uint8_t *rd, size_t rdlen,
                           unsigned pre, unsigned names, int *first_ptr,
                           size_t *first_len)
{
	size_t o = 0;

	if (pre > rdlen || r->end - r->pos < pre)
		return ANYNS_ESPACE;
	/* Most types have nothing before or after their names: no call. */
	if (pre > 0)
		memcpy(r->pkt + r->pos, rd, pre);
	r->pos += pre;
	o = pre;
	for (unsigned i = 0; i < names; i++) {
		int nl = wname_check(rd + o, rdlen - o);
		if (nl < 0)
			return ANYNS_EINVAL;
		unsigned nb = r->cmp.n;
		int w = compress_put(&r->cmp, r->pos, r->end, rd + o, (size_t)nl, true);
		if (w < 0)
			return w;
		if (i == 0) {
			*first_ptr = name_ptr_after_put(r, r->pos, nb);
			*first_len = (size_t)nl;
		}
		r->pos += (size_t)w;
		o += (size_t)nl;
	}
	if (r->end - r->pos < rdlen - o)
		return ANYNS_ESPACE;
	if (rdlen > o)
		memcpy(r->pkt + r->pos, rd + o, rdlen - o);
	r->pos += rdlen - o;
	return 0;
}

/* Counts a whole RRset now in section `sec` and remembers it (no duplicates
 * in the additional section). */
static inline void rrset_written(struct resp *r, enum section sec, const zrrset_t *rs)
{
	r->count[sec] += rs->count;
	if (r->ndone < DONE_MAX)
		r->done[r->ndone++] = rs;
}

/* put_rrset() for the common case: the owner is a pointer already known and
 * the rdata is copied as stored, with no name to compress or queue (A, AAAA,
 * TXT, ...). Same bytes, same all-or-nothing contract. */
static int put_rrset_flat(struct resp *r, enum section sec, int ptr, const zrrset_t *rs,
                          uint32_t ttl, uint16_t klass)
{
	size_t mark = r->pos;
	const uint8_t *p = rs->data, *pend = rs->data + rs->len;
	uint8_t hdr[10];

	hdr[0] = (uint8_t)(0xC0 | ptr >> 8);
	hdr[1] = (uint8_t)ptr;
	pkt_put16(hdr + 2, rs->type);
	pkt_put16(hdr + 4, klass);
	pkt_put32(hdr + 6, ttl);
	for (unsigned i = 0; i < rs->count; i++) {
		if (pend - p < 2)
			goto fail;
		size_t rdlen = pkt_get16(p);
		if ((size_t)(pend - p - 2) < rdlen || r->end - r->pos < 12 + rdlen)
			goto fail;
		uint8_t *w = r->pkt + r->pos;
		memcpy(w, hdr, 10);
		/* Fixed sizes for A and AAAA: inline copies, no libc call. The
		 * stored rdlen is in network order already. */
		if (rdlen == 4)
			memcpy(w + 10, p, 6);
		else if (rdlen == 16)
			memcpy(w + 10, p, 18);
		else
			memcpy(w + 10, p, 2 + rdlen);
		r->pos += 12 + rdlen;
		p += 2 + rdlen;
	}
	rrset_written(r, sec, rs);
	return 0;
fail:
	r->pos = mark;
	return ANYNS_ESPACE;
}

/* Writes a whole RRset into a section, or nothing (then ANYNS_ESPACE and the
 * message is as before). The owner is written once; the other records of the
 * set point to it. */
static int put_rrset(struct resp *r, enum section sec, const struct owner *own,
                     const zrrset_t *rs, uint32_t ttl, uint16_t klass)
{
	size_t mark = r->pos;
	unsigned cmark = compress_mark(&r->cmp), amark = r->naddl;
	int optr = own->ptr;
	unsigned pre = 0, names = 0;
	bool comp = rdata_layout(rs->type, &pre, &names);
	/* With minimal responses only NS targets get addresses: a referral's
	 * glue and an NS answer's servers (as NSD). */
	int aoff = r->minimal && rs->type != PKT_TYPE_NS ? -1 : addl_offset(rs->type);
	const uint8_t *p = rs->data, *pend = rs->data + rs->len;
	uint8_t hdr[8];
	int ret = ANYNS_ESPACE;

	if (optr >= 0 && !comp && aoff < 0)
		return put_rrset_flat(r, sec, optr, rs, ttl, klass);
	/* TYPE, CLASS and TTL are the same for every record of the set. */
	pkt_put16(hdr, rs->type);
	pkt_put16(hdr + 2, klass);
	pkt_put32(hdr + 4, ttl);
	for (unsigned i = 0; i < rs->count; i++) {
		size_t at = r->pos;
		if (pend - p < 2)
			goto fail;
		size_t rdlen = pkt_get16(p);
		if ((size_t)(pend - p - 2) < rdlen)
			goto fail;
		if (optr >= 0) {
			if (r->end - r->pos < 2)
				goto fail;
			r->pkt[at] = (uint8_t)(0xC0 | optr >> 8);
			r->pkt[at + 1] = (uint8_t)optr;
			r->pos += 2;
		} else {
			int n = compress_put(&r->cmp, at, r->end, own->name, own->len, true);
			if (n < 0) {
				ret = n;
				goto fail;
			}
			r->pos += (size_t)n;
			/* The next records point at this owner. */
			if (i == 0) {
				if (r->pkt[at] >= 0xC0)
					optr = (r->pkt[at] & 0x3F) << 8 | r->pkt[at + 1];
				else if (at <= COMPRESS_MAX_OFF)
					optr = (int)at;
			}
		}
		if (r->end - r->pos < 10)
			goto fail;
		uint8_t *h = r->pkt + r->pos;
		memcpy(h, hdr, 8);
		if (comp) {
			int nptr = -1;
			size_t nlen = 0;
			r->pos += 10;
			int e = put_rdata_names(r, p + 2, rdlen, pre, names, &nptr, &nlen);
			if (e < 0) {
				ret = e;
				goto fail;
			}
			pkt_put16(h + 8, (uint16_t)(r->pos - (size_t)(h + 10 - r->pkt)));
			/* NS and MX: the target is the rdata's first name. */
			if (aoff >= 0)
				addl_queue(r, p + 2 + aoff, nlen, rs->type == PKT_TYPE_NS, nptr);
		} else {
			if (r->end - r->pos - 8 < rdlen + 2)
				goto fail;
			/* The stored rdlen is in network order already. */
			memcpy(h + 8, p, rdlen + 2);
			r->pos += 10 + rdlen;
			if (aoff >= 0 && (size_t)aoff < rdlen) {
				int n = wname_check(p + 2 + aoff, rdlen - (size_t)aoff);
				if (n >= 0)
					addl_queue(r, p + 2 + aoff, (size_t)n, false, -1);
			}
		}
		p += 2 + rdlen;
	}
	rrset_written(r, sec, rs);
	return 0;
fail:
	r->pos = mark;
	compress_rollback(&r->cmp, cmark);
	r->naddl = amark;
	return ret;
}

/* Where the message stands, to take back a group of RRsets as a whole. */
struct rmark {
	size_t pos;
	unsigned cmp, naddl, ndone;
	uint16_t count[3];
};

static void mark_save(const struct resp *r, struct rmark *m)
{
	m->pos = r->pos;
	m->cmp = compress_mark(&r->cmp);
	m->naddl = r->naddl;
	m->ndone = r->ndone;
	memcpy(m->count, r->count, sizeof(m->count));
}

static void mark_restore(struct resp *r, const struct rmark *m)
{
	r->pos = m->pos;
	compress_rollback(&r->cmp, m->cmp);
	r->naddl = m->naddl;
	r->ndone = m->ndone;
	memcpy(r->count, m->count, sizeof(m->count));
}

/* The pointer for a later copy of the owner name written at `at`. */
static int owner_ptr_at(const struct resp *r, size_t at)
{
	if (r->pkt[at] >= 0xC0)
		return (r->pkt[at] & 0x3F) << 8 | r->pkt[at + 1];
	return at <= COMPRESS_MAX_OFF ? (int)at : -1;
}

/* put_rrset() of a set of node n followed, when the answer carries DNSSEC,
 * by the RRSIGs covering it at n, under the same owner (for a wildcard, the
 * expanded name; RFC 4035 3.1.1, 3.1.3.3). The two go in together or not
 * at all, so that no RRset is sent without its signatures. */
static int put_signed_ttl(struct resp *r, enum section sec, const struct owner *own,
                          const znode_t *n, const zrrset_t *rs, uint32_t ttl,
                          uint32_t sig_max_ttl)
{
	const zrrset_t *sig;
	struct rmark m;

	if (rs->type == PKT_TYPE_RRSIG || !(sig = znode_rrsig(n, rs->type)))
		return put_rrset(r, sec, own, rs, ttl, PKT_CLASS_IN);
	mark_save(r, &m);
	int ret = put_rrset(r, sec, own, rs, ttl, PKT_CLASS_IN);
	if (ret < 0)
		return ret;
	struct owner o = *own;
	if (o.ptr < 0)
		o.ptr = owner_ptr_at(r, m.pos);
	/* RFC 4034 3: each RRSIG set keeps its own TTL. */
	ret = put_rrset(r, sec, &o, sig, sig->ttl < sig_max_ttl ? sig->ttl : sig_max_ttl,
	                PKT_CLASS_IN);
	if (ret < 0)
		mark_restore(r, &m);
	return ret;
}

/* Most answers carry no DNSSEC: that case costs one test. */
static inline int put_signed(struct resp *r, enum section sec, const struct owner *own,
                             const znode_t *n, const zrrset_t *rs, uint32_t ttl)
{
	if (!r->dnssec)
		return put_rrset(r, sec, own, rs, ttl, PKT_CLASS_IN);
	return put_signed_ttl(r, sec, own, n, rs, ttl, UINT32_MAX);
}

/* QTYPE RRSIG: every RRSIG set at the name, each with its own TTL. Returns
 * the number of sets written or ANYNS_ESPACE. */
static int put_rrsigs(struct resp *r, const struct owner *own, const znode_t *n)
{
	struct owner o = *own;
	size_t cnt = znode_rrset_count(n);
	int sets = 0;

	for (size_t i = 0; i < cnt; i++) {
		const zrrset_t *rs = znode_rrset_at(n, i);
		if (rs->type != PKT_TYPE_RRSIG)
			continue;
		size_t at = r->pos;
		int ret = put_rrset(r, SEC_AN, &o, rs, rs->ttl, PKT_CLASS_IN);
		if (ret < 0)
			return ret;
		if (o.ptr < 0)
			o.ptr = owner_ptr_at(r, at);
		sets++;
	}
	return sets;
}

/* RFC 2308 3: the SOA of a negative answer carries min(SOA TTL, MINIMUM). */
static int put_neg_soa(struct resp *r)
{
	const zrrset_t *soa = zone_soa(r->zone);
	size_t olen;
	const uint8_t *origin = zone_origin_wire(r->zone, &olen);

	if (!soa || soa->len < 2 + 20)
		return 0;
	uint32_t ttl = soa->ttl;
	size_t rdlen = pkt_get16(soa->data);
	if (rdlen >= 20 && rdlen + 2 <= soa->len) {
		uint32_t min = pkt_get32(soa->data + 2 + rdlen - 4);
		if (min < ttl)
			ttl = min;
	}
	/* The origin is a suffix of the question name: point into it. */
	struct owner o = { origin, olen, (int)(PKT_HDR_LEN + r->q->qname_len - olen) };
	/* Its RRSIG is cached as long as the SOA it covers (as NSD and Knot). */
	if (!r->dnssec)
		return put_rrset(r, SEC_NS, &o, soa, ttl, PKT_CLASS_IN);
	return put_signed_ttl(r, SEC_NS, &o, zone_apex(r->zone), soa, ttl, ttl);
}

/* `above_q`: n is the question name or one of its ancestors (the apex
 * always is), so its owner is a pointer into the question, no search. */
static int put_node_rrset(struct resp *r, enum section sec, const znode_t *n,
                          const zrrset_t *rs, bool above_q)
{
	struct owner o = { NULL, 0, -1 };
	o.name = znode_name(n, &o.len);
	if (above_q)
		o.ptr = (int)(PKT_HDR_LEN + r->q->qname_len - o.len);
	return put_signed(r, sec, &o, n, rs, rs->ttl);
}

/* RFC 1034 4.3.2 step 6 / RFC 1035 3.3.9 etc.: A and AAAA of the queued
 * targets that are in the zone. Optional data: what does not fit is left
 * out without TC (RFC 2181 9). All A records go first, then all AAAA, as
 * NSD does: more targets get an address when room is short. */
static void put_additional(struct resp *r)
{
	static const uint16_t types[2] = { PKT_TYPE_A, PKT_TYPE_AAAA };
	const znode_t *nodes[ADDL_MAX];
	bool wild[ADDL_MAX];
	uint8_t lc[WNAME_MAXLEN];
	size_t olen;
	const uint8_t *origin = zone_origin_wire(r->zone, &olen);

	for (unsigned i = 0; i < r->naddl; i++) {
		size_t len = r->addl[i].len;
		nodes[i] = NULL;
		wild[i] = false;
		pkt_lower_name(lc, r->addl[i].name, len);
		if (!lc_is_subdomain(lc, len, origin, olen))
			continue;
		const znode_t *n = zone_lookup(r->zone, lc, len);
		if (!n) {
			/* RFC 4592 3.3.1: a wildcard covers the target too (NSD
			 * adds such synthesised addresses as well). */
			const znode_t *ce = zone_closest_encloser(r->zone, lc, len);
			if (znode_flags(ce) & (ZN_DELEG | ZN_BELOW_CUT | ZN_DNAME | ZN_BELOW_DNAME))
				continue;
			n = znode_wildcard_child(r->zone, ce);
			wild[i] = true;
		}
		/* Below a cut is glue: only for NS targets (RFC 1034 4.3.2
		 * step 3b); an MX or SRV target there is not ours to give. */
		if (n && (!(znode_flags(n) & ZN_BELOW_CUT) || r->addl[i].glue))
			nodes[i] = n;
	}
	for (int t = 0; t < 2; t++) {
		for (unsigned i = 0; i < r->naddl; i++) {
			if (!nodes[i])
				continue;
			const zrrset_t *rs = znode_rrset(nodes[i], types[t]);
			/* A wildcard's set serves several names: no dedup by set
			 * (the names themselves are unique in the queue). */
			if (!rs || (!wild[i] && is_done(r, rs)))
				continue;
			/* The owner is the target as written (for a wildcard, the
			 * synthesised name); it points at the rdata name. */
			struct owner o = { r->addl[i].name, r->addl[i].len, r->addl[i].ptr };
			if (put_signed(r, SEC_AR, &o, nodes[i], rs, rs->ttl) < 0) {
				r->partial = true;
				return;
			}
		}
	}
}

/* ---- denial of existence (RFC 4035 3.1.3, RFC 5155 7.2) ----------------- */

/* Queues the NSEC or NSEC3 set of node n for the authority section, once.
 * ANYNS_ESPACE when the queue is full (a chain through more wildcards than
 * any zone has): the answer is then truncated rather than unprovable. */
static int put_denial(struct resp *r, const znode_t *n)
{
	if (!n)
		return 0;
	for (unsigned i = 0; i < r->nproof; i++)
		if (r->proof[i] == n)
			return 0;
	if (r->nproof == PROOF_MAX)
		return ANYNS_ESPACE;
	r->proof[r->nproof++] = n;
	return 0;
}

/* Writes the queued proofs with their RRSIGs (mandatory: RFC 4035 3.1.1
 * sets TC when they do not fit), then the optional apex NS set. */
static int put_proofs(struct resp *r)
{
	uint16_t type = r->denial == ZDNSSEC_NSEC3 ? PKT_TYPE_NSEC3 : PKT_TYPE_NSEC;

	if (r->nproof == 0 && !r->apex_ns)
		return 0;
	for (unsigned i = 0; i < r->nproof; i++) {
		const zrrset_t *rs = znode_rrset(r->proof[i], type);
		if (!rs || is_done(r, rs))
			continue;
		struct owner o = { NULL, 0, -1 };
		o.name = znode_name(r->proof[i], &o.len);
		int ret = put_signed(r, SEC_NS, &o, r->proof[i], rs, rs->ttl);
		if (ret < 0)
			return ret;
	}
	if (r->apex_ns) {
		const znode_t *apex = zone_apex(r->zone);
		const zrrset_t *ns = znode_rrset(apex, PKT_TYPE_NS);
		if (ns && put_node_rrset(r, SEC_NS, apex, ns, true) < 0)
			r->partial = true;
	}
	return 0;
}

/* The suffix of `name` that has `labels` labels. */
static const uint8_t *name_suffix(const uint8_t *name, size_t len, int labels, size_t *slen)
{
	uint8_t offs[WNAME_MAXLABELS];
	int nl = wname_label_offsets(name, offs);

	if (labels >= nl) {
		*slen = len;
		return name;
	}
	*slen = len - offs[nl - labels];
	return name + offs[nl - labels];
}

static int node_labels(const znode_t *n)
{
	return wname_labels(znode_name(n, NULL));
}

/* RFC 5155 7.2.1: the closest provable encloser of n (n itself or its
 * nearest ancestor whose hash has an NSEC3; with opt-out some names have
 * none) and the name one label below it towards n (*below, NULL when n
 * itself is provable). */
static const znode_t *n3_provable(const zone_t *z, const znode_t *n, const znode_t **below)
{
	bool exact;

	*below = NULL;
	while (n && (znode_nsec3(z, n, &exact), !exact) && znode_parent(z, n)) {
		*below = n;
		n = znode_parent(z, n);
	}
	return n;
}

/* The NSEC3 covering the next closer name of `name` (the name one label
 * below the encloser ce, RFC 5155 7.2.1). */
static int n3_next_closer(struct resp *r, const uint8_t *name, size_t nlen, const znode_t *ce)
{
	size_t l;
	bool exact;
	const uint8_t *nc = name_suffix(name, nlen, node_labels(ce) + 1, &l);
	return put_denial(r, zone_nsec3_cover(r->zone, nc, l, &exact));
}

/* The name exists and has no RRset of the query type (RFC 4035 3.1.3.1,
 * RFC 5155 7.2.3 and 7.2.4), also an empty non-terminal (RFC 4035
 * 3.1.3.2 via the NSEC covering it) and a cut without DS (RFC 4035 3.1.4,
 * RFC 5155 7.2.7; with opt-out the closest provable encloser proof). */
static int deny_type(struct resp *r, const znode_t *n)
{
	size_t len;
	const uint8_t *name = znode_name(n, &len);
	bool exact;

	if (r->denial == ZDNSSEC_NSEC)
		return put_denial(r, zone_nsec_cover(r->zone, name, len));
	const znode_t *own = znode_nsec3(r->zone, n, &exact);
	if (exact) {
		/* A wildcard asked by its own name: also its closest encloser's
		 * NSEC3, as a wildcard NODATA has (RFC 5155 7.2.5; as NSD). */
		const znode_t *p = znode_parent(r->zone, n), *pn;
		bool pexact;
		int ret;
		if ((znode_flags(n) & ZN_WILDCARD) && p && (pn = znode_nsec3(r->zone, p, &pexact)) &&
		    pexact && (ret = put_denial(r, pn)) < 0)
			return ret;
		return put_denial(r, own);
	}
	const znode_t *below, *ce = n3_provable(r->zone, n, &below);
	int ret = put_denial(r, znode_nsec3(r->zone, ce, &exact));
	if (ret == 0 && below)
		ret = put_denial(r, znode_nsec3(r->zone, below, &exact));
	return ret;
}

/* "*.<ce>" into buf; returns its length or 0 when too long. */
static size_t wildcard_name(const znode_t *ce, uint8_t buf[WNAME_MAXLEN])
{
	size_t len;
	const uint8_t *name = znode_name(ce, &len);

	if (len + 2 > WNAME_MAXLEN)
		return 0;
	buf[0] = 1;
	buf[1] = '*';
	memcpy(buf + 2, name, len);
	return len + 2;
}

/* NXDOMAIN: no name `name`, closest encloser ce, no wildcard there
 * (RFC 4035 3.1.3.2; RFC 5155 7.2.2 closest encloser proof and the
 * NSEC3 covering the wildcard). */
static int deny_name(struct resp *r, const uint8_t *name, size_t nlen, const znode_t *ce)
{
	uint8_t w[WNAME_MAXLEN];
	size_t wl;
	bool exact;
	int ret;

	if (r->denial == ZDNSSEC_NSEC) {
		if ((ret = put_denial(r, zone_nsec_cover(r->zone, name, nlen))) < 0)
			return ret;
		wl = wildcard_name(ce, w);
		return wl ? put_denial(r, zone_nsec_cover(r->zone, w, wl)) : 0;
	}
	const znode_t *below;
	ce = n3_provable(r->zone, ce, &below);
	if ((ret = put_denial(r, znode_nsec3(r->zone, ce, &exact))) < 0 ||
	    (ret = n3_next_closer(r, name, nlen, ce)) < 0)
		return ret;
	wl = wildcard_name(ce, w);
	return wl ? put_denial(r, zone_nsec3_cover(r->zone, w, wl, &exact)) : 0;
}

/* A wildcard below ce answered `name`: no closer name exists (RFC 4035
 * 3.1.3.3, RFC 5155 7.2.6). */
static int deny_closer(struct resp *r, const uint8_t *name, size_t nlen, const znode_t *ce)
{
	if (r->denial == ZDNSSEC_NSEC)
		return put_denial(r, zone_nsec_cover(r->zone, name, nlen));
	return n3_next_closer(r, name, nlen, ce);
}

/* Wildcard NODATA (RFC 4035 3.1.3.4, RFC 5155 7.2.5): no closer name, and
 * the wildcard has no RRset of the type; for NSEC3 also the closest
 * encloser's own NSEC3. */
static int deny_wild_type(struct resp *r, const uint8_t *name, size_t nlen,
                          const znode_t *ce, const znode_t *wild)
{
	bool exact;
	int ret = deny_closer(r, name, nlen, ce);

	if (ret == 0 && r->denial == ZDNSSEC_NSEC3) {
		const znode_t *n3 = znode_nsec3(r->zone, ce, &exact);
		if (exact)
			ret = put_denial(r, n3);
	}
	return ret < 0 ? ret : deny_type(r, wild);
}

/* Referral to the child zone at `cut` (RFC 1034 4.3.2 step 3b): NS of the
 * cut in authority, glue in additional, not authoritative. With DNSSEC the
 * DS set and its RRSIG, or the proof that there is none (RFC 4035 3.1.4). */
static int put_referral(struct resp *r, const znode_t *cut, bool above_q)
{
	const zrrset_t *ns = znode_rrset(cut, PKT_TYPE_NS), *ds;
	int ret;

	r->aa = r->count[SEC_AN] > 0;   /* AA covers the CNAMEs already given */
	if (!ns)
		return 0;
	if ((ret = put_node_rrset(r, SEC_NS, cut, ns, above_q)) < 0 || !r->dnssec)
		return ret;
	if ((ds = znode_rrset(cut, PKT_TYPE_DS)))
		return put_node_rrset(r, SEC_NS, cut, ds, above_q);
	return deny_type(r, cut);
}

/* RFC 8482 4.1: ANY gets one RRset. NSD prefers the first of A, AAAA, SOA,
 * MX, PTR in zone file order (SOA at the apex, which opens the file), then
 * the last other type, then DNSSEC types; our RRsets are in type order. */
static const zrrset_t *any_pick(const znode_t *n)
{
	const zrrset_t *normal = NULL, *weak = NULL;
	size_t cnt = znode_rrset_count(n);

	if (znode_flags(n) & ZN_APEX) {
		const zrrset_t *soa = znode_rrset(n, PKT_TYPE_SOA);
		if (soa)
			return soa;
	}
	for (size_t i = 0; i < cnt; i++) {
		const zrrset_t *rs = znode_rrset_at(n, i);
		switch (rs->type) {
		case PKT_TYPE_A: case PKT_TYPE_AAAA: case PKT_TYPE_SOA:
		case PKT_TYPE_MX: case PKT_TYPE_PTR:
			return rs;
		case PKT_TYPE_DNSKEY: case PKT_TYPE_RRSIG: case PKT_TYPE_NSEC:
			weak = rs;
			break;
		case PKT_TYPE_NSEC3PARAM:   /* never returned by NSD for ANY */
			break;
		default:
			normal = rs;
		}
	}
	return normal ? normal : weak;
}

/* CHAOS class identity queries (RFC 4892 for id.server; the BIND names by
 * custom), from config. Not authoritative data: AA stays 0, TTL 0. */
static int answer_chaos(struct resp *r, const answer_conf_t *conf)
{
	static const uint8_t id_server[] = "\2id\6server";
	static const uint8_t hostname_bind[] = "\x08hostname\4bind";
	static const uint8_t version_bind[] = "\7version\4bind";
	static const uint8_t version_server[] = "\7version\6server";
	const pkt_query_t *q = r->q;
	const char *s = NULL;

#define IS(w) (q->qname_len == sizeof(w) && memcmp(q->qname_lc, w, sizeof(w)) == 0)
	if (IS(id_server))
		s = conf->id_server;
	else if (IS(hostname_bind))
		s = conf->hostname_bind;
	else if (IS(version_bind) || IS(version_server))
		s = conf->version_bind;
#undef IS
	if (!s || (q->qtype != PKT_TYPE_TXT && q->qtype != PKT_TYPE_ANY)) {
		r->rcode = PKT_RCODE_REFUSED;
		return 0;
	}
	size_t slen = strlen(s), rdlen = slen + (slen + 254) / 255;
	if (slen == 0)
		rdlen = 1;
	if (rdlen > 65535 || r->end - r->pos < 12 + rdlen)
		return ANYNS_ESPACE;
	uint8_t *w = r->pkt + r->pos;
	w[0] = 0xC0;
	w[1] = PKT_HDR_LEN;
	pkt_put16(w + 2, PKT_TYPE_TXT);
	pkt_put16(w + 4, PKT_CLASS_CH);
	pkt_put32(w + 6, 0);
	pkt_put16(w + 10, (uint16_t)rdlen);
	w += 12;
	/* TXT RDATA is a list of <character-string>s of up to 255 bytes. */
	do {
		size_t chunk = slen > 255 ? 255 : slen;
		*w++ = (uint8_t)chunk;
		memcpy(w, s, chunk);
		w += chunk;
		s += chunk;
		slen -= chunk;
	} while (slen > 0);
	r->pos += 12 + rdlen;
	r->count[SEC_AN] = 1;
	return 0;
}

/* The chain's loop check: a link is a (node, name hash) pair; a pair seen
 * before is a loop. The usual short chain is checked by a scan of the few
 * links so far; from SEEN_LINEAR links on, a hash set (open addressing in
 * a fixed table, cleared only then) keeps each check O(1). */
#define SEEN_LINEAR 16
struct seen {
	unsigned n;
	const znode_t *at[SEEN_SLOTS];
	uint32_t h[SEEN_SLOTS];
};

static bool seen_put(struct seen *s, const znode_t *at, uint32_t h)
{
	uintptr_t k = (uintptr_t)at;
	unsigned i = (unsigned)((k >> 4) ^ (k >> 13) ^ h) & (SEEN_SLOTS - 1);

	while (s->at[i]) {
		if (s->at[i] == at && s->h[i] == h)
			return false;
		i = (i + 1) & (SEEN_SLOTS - 1);
	}
	s->at[i] = at;
	s->h[i] = h;
	return true;
}

/* Adds (at, h); false when it was there already. */
static bool seen_add(struct seen *s, const znode_t *at, uint32_t h)
{
	if (s->n < SEEN_LINEAR) {
		for (unsigned i = 0; i < s->n; i++)
			if (s->at[i] == at && s->h[i] == h)
				return false;
		s->at[s->n] = at;
		s->h[s->n++] = h;
		return true;
	}
	if (s->n == SEEN_LINEAR) {
		const znode_t *la[SEEN_LINEAR];
		uint32_t lh[SEEN_LINEAR];
		memcpy(la, s->at, sizeof(la));
		memcpy(lh, s->h, sizeof(lh));
		memset(s->at, 0, sizeof(s->at));
		for (unsigned i = 0; i < SEEN_LINEAR; i++)
			seen_put(s, la[i], lh[i]);
	}
	s->n++;
	return seen_put(s, at, h);
}

/* Follows the query through the zone: exact match, CNAME and DNAME chains,
 * wildcards, referrals and negative answers, with the RRSIGs of a signed
 * zone when the query has DO=1 and the denial proofs queued. Returns 0 or
 * ANYNS_ESPACE when a mandatory part did not fit (the caller truncates). */
static int answer_chain(struct resp *r)
{
	const pkt_query_t *q = r->q;
	const zone_t *z = r->zone;
	const znode_t *apex = zone_apex(z);
	struct seen seen;
	uint8_t buf[2][WNAME_MAXLEN];
	const uint8_t *name = q->qname_lc;
	size_t nlen = q->qname_len, olen;
	const uint8_t *origin = zone_origin_wire(z, &olen);
	struct owner own = { q->qname_lc, q->qname_len, PKT_HDR_LEN };
	int ret;

	seen.n = 0;
	r->aa = true;
	for (unsigned step = 0; step < CHAIN_MAX; step++) {
		const znode_t *node = zone_lookup(z, name, nlen), *dn = NULL, *wce = NULL;
		uint32_t f;

		if (node) {
			f = znode_flags(node);
			if (f & ZN_NSEC3) {
				/* RFC 5155 7.2.8: an NSEC3 owner name is no name of
				 * the zone: Name Error, also with DO=0. */
				r->rcode = PKT_RCODE_NXDOMAIN;
				if ((ret = put_neg_soa(r)) < 0 || !r->dnssec)
					return ret;
				return deny_name(r, name, nlen, znode_parent(r->zone, node));
			}
			if (f & ZN_BELOW_CUT)
				return put_referral(r, znode_cut(r->zone, node), step == 0);
			if (f & ZN_BELOW_DNAME)
				dn = znode_dname_owner(r->zone, node);
			/* RFC 4035 3.1.4.1 / RFC 3658: DS lives on the parent side
			 * of the cut, so a DS query at the cut is ours. */
			else if ((f & ZN_DELEG) && q->qtype != PKT_TYPE_DS)
				return put_referral(r, node, step == 0);
		} else {
			const znode_t *ce = zone_closest_encloser(z, name, nlen);
			f = znode_flags(ce);
			if (f & ZN_NSEC3) {
				ce = znode_parent(r->zone, ce);
				f = znode_flags(ce);
			}
			if (f & ZN_BELOW_CUT)
				return put_referral(r, znode_cut(r->zone, ce), step == 0);
			if (f & ZN_DELEG)
				return put_referral(r, ce, step == 0);
			if (f & ZN_DNAME)
				dn = ce;
			else if (f & ZN_BELOW_DNAME)
				dn = znode_dname_owner(r->zone, ce);
			else if (!(node = znode_wildcard_child(r->zone, ce))) {
				/* RFC 1034 4.3.2 3c: the name does not exist. */
				r->rcode = PKT_RCODE_NXDOMAIN;
				if ((ret = put_neg_soa(r)) < 0 || !r->dnssec)
					return ret;
				return deny_name(r, name, nlen, ce);
			} else {
				/* RFC 4592 3.3.1: the wildcard answers, owner = qname. */
				wce = ce;
				if (step == 0)
					r->wild = node;
			}
		}

		/* A loop is a (node, name) pair seen before. A wildcard node
		 * answers many names, so for it the name counts too: a chain
		 * through the same wildcard under another name goes on (as NSD). */
		const znode_t *at = dn ? dn : node;
		uint32_t h = (!dn && wce) ? wname_hash(name, nlen) | 1u : 0;
		if (!seen_add(&seen, at, h))
			return 0;   /* a loop: stop with what we have */

		const uint8_t *target;
		size_t tlen;
		if (dn) {
			/* RFC 6672 2.2/3.2: DNAME, then a CNAME from the qname to
			 * the qname with the DNAME owner replaced by its target. */
			const zrrset_t *drs = znode_rrset(dn, PKT_TYPE_DNAME);
			size_t dlen;
			(void)znode_name(dn, &dlen);
			if (!drs || drs->len < 3)
				return 0;
			if ((ret = put_node_rrset(r, SEC_AN, dn, drs, step == 0)) < 0)
				return ret;
			const uint8_t *rd = drs->data + 2;
			int t = wname_check(rd, pkt_get16(drs->data));
			if (t < 0)
				return 0;
			size_t plen = nlen - dlen;
			if (plen + (size_t)t > WNAME_MAXLEN) {
				r->rcode = PKT_RCODE_YXDOMAIN;
				return 0;
			}
			uint8_t *nb = buf[step & 1];
			memcpy(nb, name, plen);
			memcpy(nb + plen, rd, (size_t)t);
			tlen = plen + (size_t)t;
			/* The synthesised CNAME: one record, TTL of the DNAME,
			 * unsigned (RFC 4035 3.1.3: the DNAME's RRSIG covers it). */
			uint8_t rr[2 + WNAME_MAXLEN];
			pkt_put16(rr, (uint16_t)tlen);
			memcpy(rr + 2, nb, tlen);
			zrrset_t cname = { PKT_TYPE_CNAME, 1, drs->ttl, rr, (uint32_t)(2 + tlen) };
			if ((ret = put_rrset(r, SEC_AN, &own, &cname, drs->ttl, PKT_CLASS_IN)) < 0)
				return ret;
			if (q->qtype == PKT_TYPE_CNAME)
				return 0;
			/* The target keeps the file's case in the CNAME; lookups
			 * need it lowercased. */
			pkt_lower_name(nb, nb, tlen);
			target = nb;
		} else {
			const zrrset_t *rs = NULL;
			int sets = 0;
			if (q->qtype == PKT_TYPE_ANY) {
				rs = any_pick(node);
			} else if (q->qtype == PKT_TYPE_RRSIG) {
				if ((sets = put_rrsigs(r, &own, node)) < 0)
					return sets;
			} else {
				rs = znode_rrset(node, q->qtype);
			}
			if (rs) {
				if ((ret = put_signed(r, SEC_AN, &own, node, rs, rs->ttl)) < 0)
					return ret;
				sets = 1;
			}
			if (sets > 0) {
				if (wce && r->dnssec && (ret = deny_closer(r, name, nlen, wce)) < 0)
					return ret;
				if (q->qtype == PKT_TYPE_ANY)
					return 0;
				/* NSD (minimal-responses off) adds the apex NS set to
				 * positive answers, but not for DS and DNSKEY, whose
				 * sets are large with DNSSEC; it is optional, so no
				 * TC for it. */
				const zrrset_t *ns = znode_rrset(apex, PKT_TYPE_NS);
				r->apex_ns = !r->minimal && ns && ns != rs && q->qclass == PKT_CLASS_IN &&
				             q->qtype != PKT_TYPE_DS && q->qtype != PKT_TYPE_DNSKEY;
				return 0;
			}
			/* As NSD, QTYPE NSEC3 does not follow an alias: NSEC3 is
			 * no data of a name of the zone (RFC 5155 7.2.8). */
			rs = q->qtype == PKT_TYPE_ANY || q->qtype == PKT_TYPE_NSEC3 ? NULL :
			     znode_rrset(node, PKT_TYPE_CNAME);
			if (!rs) {
				/* RFC 2308 2.2: NODATA. */
				if ((ret = put_neg_soa(r)) < 0 || !r->dnssec)
					return ret;
				return wce ? deny_wild_type(r, name, nlen, wce, node) : deny_type(r, node);
			}
			/* RFC 1034 4.3.2 3a: give the CNAME and go on with its target. */
			if ((ret = put_signed(r, SEC_AN, &own, node, rs, rs->ttl)) < 0)
				return ret;
			if (wce && r->dnssec && (ret = deny_closer(r, name, nlen, wce)) < 0)
				return ret;
			if (rs->len < 3)
				return 0;
			int t = wname_check(rs->data + 2, pkt_get16(rs->data));
			if (t < 0)
				return 0;
			tlen = (size_t)t;
			pkt_lower_name(buf[step & 1], rs->data + 2, tlen);
			target = buf[step & 1];
		}
		/* Like NSD, chains are followed inside this zone only. */
		if (!lc_is_subdomain(target, tlen, origin, olen))
			return 0;
		name = target;
		nlen = tlen;
		own.name = target;
		own.len = tlen;
		own.ptr = -1;
		/* RFC 6604 2.1: the rcode is that of the last name looked up. */
	}
	return 0;
}

static int answer_zone(struct resp *r)
{
	int ret = answer_chain(r);

	return ret < 0 ? ret : put_proofs(r);
}

/* The zone that answers (name, qtype): the most specific one, but a DS at a
 * zone's apex belongs to its parent zone, if we serve it. */
static const zone_t *answer_zone_for(const zset_t *zs, const uint8_t *name, size_t len,
                                     uint16_t qtype)
{
	const zone_t *z = zset_best_zone(zs, name, len);
	if (z && qtype == PKT_TYPE_DS && len > 1) {
		size_t olen;
		zone_origin_wire(z, &olen);
		if (olen == len) {
			const zone_t *pz = zset_best_zone(zs, name + name[0] + 1, len - name[0] - 1);
			if (pz)
				z = pz;
		}
	}
	return z;
}

static bool acl_admits(const acl_t *acl, const answer_peer_t *peer)
{
	return peer != NULL && acl_allows(acl, peer->ip, peer->ip_len);
}

bool answer_allowed(const zset_t *zs, const uint8_t *qname_lc, size_t len, uint16_t qtype,
                    const answer_peer_t *peer)
{
	const acl_t *acl = zset_zone_acl(zs, answer_zone_for(zs, qname_lc, len, qtype));
	return acl == NULL || acl_admits(acl, peer);
}

int answer_wildcard_owner(const zset_t *zs, const uint8_t *qname_lc, size_t len, uint16_t qtype,
                          const uint8_t **owner, size_t *owner_len)
{
	const zone_t *z = answer_zone_for(zs, qname_lc, len, qtype);
	if (z == NULL || zone_lookup(z, qname_lc, len) != NULL)
		return ANYNS_ENOENT;
	const znode_t *ce = zone_closest_encloser(z, qname_lc, len);
	if (znode_flags(ce) & ZN_NSEC3)
		ce = znode_parent(z, ce);
	const znode_t *w = znode_wildcard_child(z, ce);
	if (w == NULL)
		return ANYNS_ENOENT;
	*owner = znode_name(w, owner_len);
	return 0;
}

static int answer_query(struct resp *r, const zset_t *zs, const answer_conf_t *conf,
                        const answer_peer_t *peer, enum answer_transport tp)
{
	const pkt_query_t *q = r->q;

	if (q->qclass == PKT_CLASS_CH)
		return answer_chaos(r, conf);
	if ((q->qclass != PKT_CLASS_IN && q->qclass != PKT_CLASS_ANY) || !zs) {
		r->rcode = PKT_RCODE_REFUSED;
		return 0;
	}
	if (q->qtype == PKT_TYPE_AXFR || q->qtype == PKT_TYPE_IXFR) {
		/* No zone transfers. As NSD: AXFR needs TCP (RFC 5936 4.2),
		 * over UDP it is NOTIMP; otherwise REFUSED. */
		r->rcode = q->qtype == PKT_TYPE_AXFR && tp == ANSWER_UDP ?
		           PKT_RCODE_NOTIMP : PKT_RCODE_REFUSED;
		return 0;
	}
	r->zone = answer_zone_for(zs, q->qname_lc, q->qname_len, q->qtype);
	if (!r->zone) {
		r->rcode = PKT_RCODE_REFUSED;
		return 0;
	}
	const acl_t *acl = zset_zone_acl(zs, r->zone);
	if (acl != NULL) {
		/* allow-query: REFUSED to others, as NSD and Knot DNS answer. */
		r->acl = true;
		if (!acl_admits(acl, peer)) {
			r->acl_refused = true;
			r->zone = NULL;
			r->rcode = PKT_RCODE_REFUSED;
			return 0;
		}
	}
	if (zone_is_expired(r->zone)) {
		r->rcode = PKT_RCODE_SERVFAIL;
		return 0;
	}
	/* RFC 4035 3.1: DNSSEC records only for DO=1, only from a signed zone. */
	r->dnssec = q->do_bit && zone_is_signed(r->zone);
	if (r->dnssec)
		r->denial = (uint8_t)zone_denial(r->zone);
	int ret = answer_zone(r);
	if (ret == 0)
		put_additional(r);
	/* RFC 1035 6.2: an answer to QCLASS * is not authoritative (it does
	 * not cover the other classes); NSD clears AA. */
	if (q->qclass == PKT_CLASS_ANY)
		r->aa = false;
	return ret;
}

int answer_build(const zset_t *zs, const answer_conf_t *conf,
                 const uint8_t *query, size_t qlen, enum answer_transport tp,
                 uint8_t *out, size_t outcap, size_t *outlen, answer_info_t *info)
{
	return answer_build_peer(zs, conf, NULL, query, qlen, tp, out, outcap, outlen, info);
}

int answer_build_peer(const zset_t *zs, const answer_conf_t *conf, const answer_peer_t *peer,
                      const uint8_t *query, size_t qlen, enum answer_transport tp,
                      uint8_t *out, size_t outcap, size_t *outlen, answer_info_t *info)
{
	pkt_query_t pq;
	struct resp r;
	int ret = pkt_parse_query(query, qlen, &pq);

	if (ret < 0)
		return ret;
	if (outcap < PKT_HDR_LEN)
		return ANYNS_ESPACE;
	size_t cap = outcap > 65535 ? 65535 : outcap;
	if (tp == ANSWER_UDP) {
		/* RFC 6891 6.2.3/6.2.5: the client's size, at least 512, capped
		 * by ours; 512 without EDNS (RFC 1035 4.2.1). */
		size_t udp = 512;
		if (pq.edns && pq.edns_payload > udp)
			udp = pq.edns_payload;
		if (conf->max_udp_payload >= 512 && udp > conf->max_udp_payload)
			udp = conf->max_udp_payload;
		if (cap > udp)
			cap = udp;
	}

	r.pkt = out;
	r.q = &pq;
	r.zone = NULL;
	r.count[0] = r.count[1] = r.count[2] = 0;
	r.rcode = pq.rcode;
	r.aa = false;
	r.partial = false;
	r.dnssec = false;
	r.denial = ZDNSSEC_NONE;
	r.apex_ns = false;
	r.minimal = conf->minimal_responses;
	r.acl = r.acl_refused = false;
	r.wild = NULL;
	r.nproof = 0;
	r.ndone = r.naddl = 0;
	compress_init(&r.cmp, out);

	/* Room for the OPT record, kept free while the sections are written. */
	size_t opt_len = pq.edns ? OPT_LEN : 0;
	/* NSID only in real answers: not with FORMERR/NOTIMP nor BADVERS (as NSD). */
	bool nsid = pq.edns && pq.nsid && conf->nsid && pq.rcode == 0 && pq.edns_version == 0;
	size_t qend = PKT_HDR_LEN + (pq.has_question ? pq.qname_len + 4u : 0);
	if (nsid && cap < qend + opt_len + 4 + conf->nsid_len)
		nsid = false;
	if (nsid)
		opt_len += 4 + conf->nsid_len;
	/* RFC 7873: a COOKIE option of a bad length is FORMERR (5.2.2); any
	 * other gets the client cookie and our server cookie back. */
	enum cookie_verdict cv = COOKIE_NONE;
	uint8_t cookie[COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN];
	if (pq.edns && pq.cookie_off != 0 && conf->cookies != NULL && peer != NULL) {
		cv = cookie_check(conf->cookies, query + pq.cookie_off, pq.cookie_len, peer->ip,
		                  peer->ip_len, peer->now);
		if (cv == COOKIE_MALFORMED) {
			if (r.rcode == 0 && pq.edns_version == 0)
				r.rcode = PKT_RCODE_FORMERR;
			if (nsid) {
				nsid = false;
				opt_len -= 4 + (size_t)conf->nsid_len;
			}
		} else {
			cookie_answer(conf->cookies, query + pq.cookie_off, pq.cookie_len, cv, peer->ip,
			              peer->ip_len, peer->now, cookie);
			opt_len += 4 + sizeof(cookie);
			if (r.rcode == 0 && pq.edns_version == 0 && peer->badcookie &&
			    cv != COOKIE_VALID)
				r.rcode = PKT_RCODE_BADCOOKIE;
		}
	}
	bool with_cookie = cv != COOKIE_NONE && cv != COOKIE_MALFORMED;
	if (cap < qend + opt_len)
		return ANYNS_ESPACE;
	r.end = cap - opt_len;
	r.pos = qend;
	if (pq.has_question) {
		/* Echoed byte for byte: the client checks the case it sent. */
		memcpy(out + PKT_HDR_LEN, query + PKT_HDR_LEN, qend - PKT_HDR_LEN);
		compress_add(&r.cmp, PKT_HDR_LEN, query + PKT_HDR_LEN, pq.qname_len);
	}

	bool tc = false;
	if (r.rcode == 0 && pq.edns && pq.edns_version > 0) {
		/* RFC 6891 6.1.3: we speak version 0 only. */
		r.rcode = PKT_RCODE_BADVERS;
	} else if (r.rcode == 0 && answer_query(&r, zs, conf, peer, tp) < 0) {
		/* RFC 1035 4.2.1, RFC 2181 9: the answer did not fit, send the
		 * question only with TC so that the client retries over TCP. */
		tc = true;
		r.pos = qend;
		r.count[0] = r.count[1] = r.count[2] = 0;
	}

	if (pq.edns) {
		uint8_t *o = out + r.pos;
		o[0] = 0;
		pkt_put16(o + 1, PKT_TYPE_OPT);
		pkt_put16(o + 3, conf->max_udp_payload >= 512 ? conf->max_udp_payload : 512);
		/* RFC 6891 6.1.3: upper 8 bits of the 12-bit rcode, version 0, DO. */
		uint32_t ttl = (uint32_t)(r.rcode >> 4) << 24;
		if (pq.do_bit)
			ttl |= PKT_EDNS_DO;   /* RFC 3225 3: DO copied */
		pkt_put32(o + 5, ttl);
		pkt_put16(o + 9, (uint16_t)(opt_len - OPT_LEN));
		size_t at = 11;
		if (nsid) {
			/* RFC 5001 2.3: NSID option with our identifier. */
			pkt_put16(o + at, PKT_OPT_NSID);
			pkt_put16(o + at + 2, conf->nsid_len);
			memcpy(o + at + 4, conf->nsid, conf->nsid_len);
			at += 4 + (size_t)conf->nsid_len;
		}
		if (with_cookie) {
			pkt_put16(o + at, PKT_OPT_COOKIE);
			pkt_put16(o + at + 2, sizeof(cookie));
			memcpy(o + at + 4, cookie, sizeof(cookie));
		}
		r.pos += opt_len;
		r.count[SEC_AR]++;
	}

	pkt_put16(out, pq.id);
	/* RD copied (RFC 1035 4.1.1); RA never set, we do not recurse. CD
	 * copied (RFC 4035 3: a security-aware name server MUST; NSD and Knot
	 * clear it), AD never set (RFC 4035 3.1.6: we validate nothing). */
	out[2] = (uint8_t)(PKT_F1_QR | (pq.opcode << 3) | (r.aa ? PKT_F1_AA : 0) |
	                   (tc ? PKT_F1_TC : 0) | (pq.flags1 & PKT_F1_RD));
	out[3] = (uint8_t)((r.rcode & 0x0F) | (pq.flags2 & PKT_F2_CD));
	pkt_put16(out + 4, pq.has_question ? 1 : 0);
	pkt_put16(out + 6, r.count[SEC_AN]);
	pkt_put16(out + 8, r.count[SEC_NS]);
	pkt_put16(out + 10, r.count[SEC_AR]);
	*outlen = r.pos;

	if (info) {
		info->rcode = r.rcode;
		info->aa = r.aa;
		info->tc = tc;
		info->edns = pq.edns;
		info->do_bit = pq.do_bit;
		info->qtype = pq.qtype;
		info->qclass = pq.qclass;
		info->cookie = (uint8_t)cv;
		/* A template must hold nothing that depends on more than the
		 * key: no NSID, no truncation, nothing left out because of this
		 * client's EDNS size (without EDNS the limit is always 512, the
		 * same for every client). An EDNS answer in full made for UDP may
		 * be larger than 512 bytes: the cache gives it only to clients
		 * offering as much room (acache.h). A TCP answer of at most 512
		 * bytes with nothing left out is the one UDP would give (only the
		 * size limit and AXFR differ). */
		bool xfr = pq.qtype == PKT_TYPE_AXFR || pq.qtype == PKT_TYPE_IXFR;
		info->cacheable = pq.simple && (tp == ANSWER_UDP || (!r.partial && !xfr)) && !tc &&
		                  !nsid && (r.pos <= 512 || (pq.edns && tp == ANSWER_UDP)) &&
		                  !(r.partial && pq.edns) && !r.acl_refused;
		info->partial = r.partial;
		info->acl = r.acl;
		info->wildcard = NULL;
		info->wildcard_len = 0;
		if (r.wild != NULL) {
			size_t wl;
			info->wildcard = znode_name(r.wild, &wl);
			info->wildcard_len = (uint8_t)wl;
		}
	}
	return 0;
}

/* ---- negative answers without the full builder ---------------------------- */

/* The label of `name` (nlen bytes) that ends where its suffix of `olen`
 * bytes begins: its offset, or -1 when there is none (name not longer). */
static int label_above(const uint8_t *name, size_t nlen, size_t olen)
{
	size_t p = 0;

	if (nlen <= olen)
		return -1;
	while (p + name[p] + 1u < nlen - olen)
		p += (size_t)name[p] + 1;
	return p + name[p] + 1u == nlen - olen ? (int)p : -1;
}

/* The names of an SOA record written by put_neg_soa(): where each ends in a
 * pointer. Returns false when the record is not of the expected form. */
static bool neg_find_ptrs(answer_neg_t *n)
{
	const uint8_t *w = n->rr;
	size_t p = 12;

	if (n->len < 12 + 2 + 20 || (w[0] & 0xC0) != 0xC0 || 12u + pkt_get16(w + 10) != n->len)
		return false;
	n->ptr_at[0] = 0;
	n->nptr = 1;
	for (int i = 0; i < 2; i++) {
		while (p < n->len && w[p] != 0 && (w[p] & 0xC0) == 0)
			p += (size_t)w[p] + 1;
		if (p + 1 >= n->len)
			return false;
		if (w[p] == 0) {
			p++;
			continue;
		}
		if ((w[p] & 0xC0) != 0xC0)
			return false;
		n->ptr_at[n->nptr++] = (uint16_t)p;
		p += 2;
	}
	return p + 20 == n->len;
}

/* Renders zone z's negative SOA record into n (n->len 0 when the zone has
 * none fit for it), as put_neg_soa() writes it after a question that is the
 * apex. */
static void neg_render(const zone_t *z, answer_neg_t *n)
{
	uint8_t pkt[PKT_HDR_LEN + WNAME_MAXLEN + 4 + ANSWER_NEG_MAX];
	uint8_t lc[WNAME_MAXLEN];
	pkt_query_t pq;
	struct resp r;
	size_t olen;
	const uint8_t *origin = zone_origin_wire(z, &olen);
	const zrrset_t *soa = zone_soa(z);

	n->len = 0;
	n->nptr = 0;
	n->avoid[0][0] = n->avoid[1][0] = 0;
	if (soa == NULL || soa->count != 1 || olen > WNAME_MAXLEN)
		return;
	pq.qname_len = olen;
	r.pkt = pkt;
	r.q = &pq;
	r.zone = z;
	r.count[0] = r.count[1] = r.count[2] = 0;
	r.dnssec = false;
	r.minimal = false;
	r.nproof = 0;
	r.ndone = r.naddl = 0;
	compress_init(&r.cmp, pkt);
	memcpy(pkt + PKT_HDR_LEN, origin, olen);
	compress_add(&r.cmp, PKT_HDR_LEN, pkt + PKT_HDR_LEN, olen);
	size_t qend = PKT_HDR_LEN + olen + 4;
	r.pos = qend;
	r.end = qend + ANSWER_NEG_MAX;
	if (put_neg_soa(&r) != 0 || r.count[SEC_NS] != 1 || r.naddl != 0)
		return;
	n->len = (uint16_t)(r.pos - qend);
	memcpy(n->rr, pkt + qend, n->len);
	n->cmp_used = (uint8_t)r.cmp.n;
	n->apex_labels = 0;
	for (size_t p = 0; origin[p] != 0; p += (size_t)origin[p] + 1)
		n->apex_labels++;
	if (!neg_find_ptrs(n)) {
		n->len = 0;
		return;
	}
	/* MNAME and RNAME as stored (uncompressed, any case). */
	const uint8_t *rd = soa->data + 2;
	size_t rdlen = pkt_get16(soa->data), o = 0;
	for (int i = 0; i < 2; i++) {
		int nl = wname_check(rd + o, rdlen - o);
		if (nl < 0) {
			n->len = 0;
			return;
		}
		pkt_lower_name(lc, rd + o, (size_t)nl);
		int a = lc_is_subdomain(lc, (size_t)nl, origin, olen) ?
		        label_above(lc, (size_t)nl, olen) : -1;
		if (a >= 0)
			memcpy(n->avoid[i], lc + a, (size_t)lc[a] + 1);
		o += (size_t)nl;
	}
}

int answer_negative(const zset_t *zs, const answer_conf_t *conf, answer_neg_t *tab,
                    size_t ntab, const uint8_t *query, size_t qlen, const uint8_t *qname_lc,
                    size_t nlen, uint16_t qtype, uint16_t qclass, bool edns, bool do_bit,
                    uint8_t *out, size_t outcap, size_t *outlen, answer_info_t *info)
{
	uint8_t rcode;

	if (zs == NULL || ntab == 0 || qclass != PKT_CLASS_IN || qtype == PKT_TYPE_AXFR ||
	    qtype == PKT_TYPE_IXFR)
		return ANYNS_ENOENT;
	const zone_t *z = answer_zone_for(zs, qname_lc, nlen, qtype);
	if (z == NULL || zset_zone_acl(zs, z) != NULL || zone_is_expired(z) ||
	    (do_bit && zone_is_signed(z)))
		return ANYNS_ENOENT;
	/* The cases of answer_chain() that end in put_neg_soa() alone at the
	 * first step; everything else goes to the builder. */
	const znode_t *node = zone_lookup(z, qname_lc, nlen);
	if (node != NULL) {
		uint32_t f = znode_flags(node);
		if ((f & (ZN_NSEC3 | ZN_BELOW_CUT | ZN_BELOW_DNAME)) ||
		    ((f & ZN_DELEG) && qtype != PKT_TYPE_DS) || qtype == PKT_TYPE_ANY ||
		    qtype == PKT_TYPE_RRSIG || znode_rrset(node, qtype) != NULL ||
		    (qtype != PKT_TYPE_NSEC3 && znode_rrset(node, PKT_TYPE_CNAME) != NULL))
			return ANYNS_ENOENT;
		rcode = PKT_RCODE_NOERROR;
	} else {
		/* The name is not there (nor is it the apex, which is): its
		 * closest encloser is its parent's, one lookup less. */
		size_t skip = (size_t)qname_lc[0] + 1;
		const znode_t *ce = zone_closest_encloser(z, qname_lc + skip, nlen - skip);
		if ((znode_flags(ce) & (ZN_NSEC3 | ZN_DELEG | ZN_BELOW_CUT | ZN_DNAME |
		                        ZN_BELOW_DNAME)) ||
		    znode_wildcard_child(z, ce) != NULL)
			return ANYNS_ENOENT;
		rcode = PKT_RCODE_NXDOMAIN;
	}

	uint64_t gen = zset_generation(zs);
	uintptr_t zh = (uintptr_t)z;
	answer_neg_t *n = &tab[((zh >> 6) ^ (zh >> 16)) & (ntab - 1)];
	if (n->zone != z || n->gen != gen) {
		neg_render(z, n);
		n->zone = z;
		n->gen = gen;
	}
	if (n->len == 0)
		return ANYNS_ENOENT;

	/* The render holds only if the question adds nothing the SOA's names
	 * could be compressed against (a longer suffix of MNAME or RNAME) and
	 * leaves the compression table room for what the render remembered. */
	size_t olen;
	(void)zone_origin_wire(z, &olen);
	/* Each label takes two bytes at least: most questions need no count. */
	if ((nlen - olen) / 2 + n->cmp_used > COMPRESS_MAX) {
		unsigned labels = 0;
		for (size_t p = 0; qname_lc[p] != 0; p += (size_t)qname_lc[p] + 1)
			labels++;
		if (labels - n->apex_labels + n->cmp_used > COMPRESS_MAX)
			return ANYNS_ENOENT;
	}
	int a = n->avoid[0][0] | n->avoid[1][0] ? label_above(qname_lc, nlen, olen) : -1;
	if (a >= 0)
		for (int i = 0; i < 2; i++)
			if (n->avoid[i][0] == qname_lc[a] &&
			    memcmp(n->avoid[i], qname_lc + a, (size_t)qname_lc[a] + 1) == 0)
				return ANYNS_ENOENT;

	size_t qend = PKT_HDR_LEN + nlen + 4;
	size_t total = qend + n->len + (edns ? OPT_LEN : 0);
	/* Up to 512 bytes the answer fits every client (RFC 1035 4.2.1). */
	if (total > 512 || total > outcap || qlen < qend)
		return ANYNS_ENOENT;
	memcpy(out + PKT_HDR_LEN, query + PKT_HDR_LEN, nlen + 4);
	uint8_t *w = out + qend;
	memcpy(w, n->rr, n->len);
	size_t delta = nlen - olen;
	for (unsigned i = 0; i < n->nptr; i++) {
		uint8_t *pp = w + n->ptr_at[i];
		size_t v = ((size_t)(pp[0] & 0x3F) << 8 | pp[1]) + delta;
		pp[0] = (uint8_t)(0xC0 | v >> 8);
		pp[1] = (uint8_t)v;
	}
	if (edns) {
		uint8_t *o = w + n->len;
		o[0] = 0;
		pkt_put16(o + 1, PKT_TYPE_OPT);
		pkt_put16(o + 3, conf->max_udp_payload >= 512 ? conf->max_udp_payload : 512);
		pkt_put32(o + 5, do_bit ? PKT_EDNS_DO : 0);
		pkt_put16(o + 9, 0);
	}
	out[0] = query[0];
	out[1] = query[1];
	out[2] = (uint8_t)(PKT_F1_QR | PKT_F1_AA | (query[2] & PKT_F1_RD));
	out[3] = (uint8_t)(rcode | (query[3] & PKT_F2_CD));
	pkt_put16(out + 4, 1);
	pkt_put16(out + 6, 0);
	pkt_put16(out + 8, 1);
	pkt_put16(out + 10, edns ? 1 : 0);
	*outlen = total;
	info->rcode = rcode;
	info->aa = true;
	info->tc = false;
	info->edns = edns;
	info->do_bit = do_bit;
	info->cacheable = true;
	info->partial = false;
	info->qtype = qtype;
	info->qclass = qclass;
	info->cookie = COOKIE_NONE;
	info->acl = false;
	info->wildcard = NULL;
	info->wildcard_len = 0;
	return 0;
}
