/* The checks a zone passes before it is served, whatever its source. They
 * run in zb_finish() on the grouped records (zone_int.h: perm, set_first),
 * so each problem can name the file and line of the record
 * that causes it. Errors stop the zone from being served; warnings do not. */
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "zone_int.h"

static const char *node_text(const struct zone_builder *b, uint32_t idx, uint16_t src,
                             char *buf, size_t len)
{
	const struct znode *n = &b->z->nodes[idx];
	return zb_name_text(b, src, b->z->names + n->name_off, n->name_len, buf, len);
}

static bool is_dnssec_meta(uint16_t t)
{
	return t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC;
}

/* The second record kept in RRset `set` (not a duplicate), or NULL. */
static const struct zb_rec *second_kept(const struct zone_builder *b, uint32_t set)
{
	for (uint32_t k = b->set_first[set] + 1; k < b->set_first[set + 1]; k++)
		if (!b->recs[b->perm[k]].dup)
			return &b->recs[b->perm[k]];
	return NULL;
}

static void check_glue(struct zone_builder *b, uint32_t s);

static const struct zb_rec *first_rec(const struct zone_builder *b, uint32_t set)
{
	return &b->recs[b->perm[b->set_first[set]]];
}

/* One pass over a node's RRsets, by type only in the usual case; the
 * records (for their lines) are read only when something is reported. */
static void check_node(struct zone_builder *b, uint32_t ni)
{
	const struct zone *z = b->z;
	const struct znode *n = &z->nodes[ni];
	uint32_t cname = ZIDX_NONE, other = ZIDX_NONE;

	for (uint32_t s = n->rrset_first; s < n->rrset_first + n->rrset_count; s++) {
		const zrrset_t *set = &z->rrsets[s];
		switch (set->type) {
		case LDNS_RR_TYPE_SOA:
			if (ni != 0) {
				for (uint32_t k = b->set_first[s]; k < b->set_first[s + 1]; k++) {
					const struct zb_rec *r = &b->recs[b->perm[k]];
					zb_report(b, r->src, r->line, true, "SOA record not at the zone apex");
				}
			} else if (set->count > 1) {
				const struct zb_rec *r = second_kept(b, s);
				zb_report(b, r->src, r->line, true, "more than one SOA record");
			}
			break;
		case LDNS_RR_TYPE_CNAME:
			cname = s;
			if (set->count > 1) {
				const struct zb_rec *r = second_kept(b, s);
				zb_report(b, r->src, r->line, true,
				          "more than one CNAME record at the same name");
			}
			continue;
		case LDNS_RR_TYPE_NS:
			if (!(n->flags & (ZN_BELOW_CUT | ZN_BELOW_DNAME)))
				check_glue(b, s);
			break;
		}
		if (other == ZIDX_NONE && !is_dnssec_meta(set->type))
			other = s;
	}
	if (cname != ZIDX_NONE && other != ZIDX_NONE) {
		/* RFC 1034 3.6.2; RFC 4035 2.5 allows RRSIG and NSEC. */
		const struct zb_rec *c = first_rec(b, cname), *o = first_rec(b, other);
		char tb[16];
		bool cname_later = c->src == o->src ? c->line > o->line : false;
		const struct zb_rec *at = cname_later ? c : o;
		zb_report(b, at->src, at->line, true, "CNAME and other data (%s) at the same name",
		          zb_type_name(o->type, tb, sizeof(tb)));
	}
	if (n->rrset_count == 0 || !(n->flags & (ZN_BELOW_DNAME | ZN_BELOW_CUT)))
		return;
	/* Occluded data: below a cut only glue (A/AAAA) is expected. */
	uint32_t a = b->set_first[n->rrset_first];
	uint32_t e = b->set_first[n->rrset_first + n->rrset_count];
	if (n->flags & ZN_BELOW_DNAME) {
		const struct zb_rec *r = &b->recs[b->perm[a]];
		char nb[1024];
		zb_report(b, r->src, r->line, false, "%s is below a DNAME and occluded",
		          node_text(b, ni, r->src, nb, sizeof(nb)));
	} else {
		for (uint32_t i = a; i < e; i++) {
			const struct zb_rec *r = &b->recs[b->perm[i]];
			if (r->type != LDNS_RR_TYPE_A && r->type != LDNS_RR_TYPE_AAAA) {
				char nb[1024], tb[16];
				zb_report(b, r->src, r->line, false,
				          "%s %s is below a delegation and occluded",
				          node_text(b, ni, r->src, nb, sizeof(nb)),
				          zb_type_name(r->type, tb, sizeof(tb)));
				break;
			}
		}
	}
}

/* SOA and NS at the apex; the SOA's rdata must hold the serial. */
static void check_apex(struct zone_builder *b, uint16_t main_src)
{
	const struct zone *z = b->z;
	const struct znode *apex = &z->nodes[0];
	const zrrset_t *soa = znode_rrset(apex, LDNS_RR_TYPE_SOA);
	uint32_t soa_line = 0;
	uint16_t soa_src = main_src;

	if (!soa) {
		zb_report(b, main_src, 0, true, "no SOA record at the zone apex %s", z->origin_text);
	} else {
		const struct zb_rec *first = &b->recs[b->perm[b->set_first[soa - z->rrsets]]];
		soa_line = first->line;
		soa_src = first->src;
		const uint8_t *d = soa->data + 2;
		size_t rdlen = (size_t)soa->data[0] << 8 | soa->data[1];
		int n1 = wname_check(d, rdlen);
		int n2 = n1 > 0 ? wname_check(d + n1, rdlen - (size_t)n1) : -1;
		if (n1 <= 0 || n2 <= 0 || (size_t)n1 + (size_t)n2 + 20 > rdlen)
			zb_report(b, soa_src, soa_line, true, "malformed SOA rdata");
	}
	if (!znode_rrset(apex, LDNS_RR_TYPE_NS))
		zb_report(b, soa_src, soa_line, true, "no NS records at the zone apex %s",
		          z->origin_text);
}

/* RFC 1034 4.2.1: an NS target inside the zone at or below a cut is only
 * reachable through glue, so the A/AAAA must be there. */
size_t zcheck_glue_missing(const struct zone *z, const uint8_t *rd, size_t rdlen,
                           uint8_t t[WNAME_MAXLEN])
{
	int tl = wname_check(rd, rdlen);
	if (tl <= 0)
		return 0;
	wname_lower(t, rd, (size_t)tl);
	if (!wname_is_subdomain(t, (size_t)tl, z->origin, z->origin_len))
		return 0;
	const znode_t *ce = zone_closest_encloser(z, t, (size_t)tl);
	if (!(ce->flags & (ZN_BELOW_CUT | ZN_DELEG)))
		return 0;
	if (ce->name_len == tl && (znode_rrset(ce, LDNS_RR_TYPE_A) || znode_rrset(ce, LDNS_RR_TYPE_AAAA)))
		return 0;
	return (size_t)tl;
}

static void check_glue(struct zone_builder *b, uint32_t s)
{
	const struct zone *z = b->z;
	/* The set's records are the kept (non-dup) ones, in the same order. */
	const uint8_t *d = z->rrsets[s].data;
	for (uint32_t k = b->set_first[s]; k < b->set_first[s + 1]; k++) {
		const struct zb_rec *r = &b->recs[b->perm[k]];
		if (r->dup)
			continue;
		const uint8_t *rd = d + 2;
		d += 2 + r->rdlen;
		uint8_t t[WNAME_MAXLEN];
		size_t tl = zcheck_glue_missing(z, rd, r->rdlen, t);
		if (tl == 0)
			continue;
		char tb[1024];
		zb_report(b, r->src, r->line, b->opts->strict_glue,
		          "missing glue: no A or AAAA for NS target %s",
		          zb_name_text(b, r->src, t, tl, tb, sizeof(tb)));
	}
}

void zcheck_run(struct zone_builder *b, uint16_t main_src)
{
	const struct zone *z = b->z;
	for (uint32_t ni = 0; ni < z->nnodes; ni++) {
		const struct znode *n = &z->nodes[ni];
		/* Most nodes hold one RRset that no check is about. */
		if (n->rrset_count == 1 && !(n->flags & (ZN_BELOW_CUT | ZN_BELOW_DNAME))) {
			uint16_t t = z->rrsets[n->rrset_first].type;
			if (t != LDNS_RR_TYPE_SOA && t != LDNS_RR_TYPE_CNAME && t != LDNS_RR_TYPE_NS)
				continue;
		}
		check_node(b, ni);
	}
	check_apex(b, main_src);
}
