/* zone_patch(): a change applied to a compiled zone as a new version that
 * keeps only the touched names apart from its full build (zone_patch.h).
 *
 * The work happens on "pnodes", one per name the change reaches: the
 * names of the records, the names the previous patches kept, the parents
 * whose children come or go, the descendants of a name that becomes or
 * stops being a cut or a DNAME. Each holds its RRsets as the builder lays
 * them out (sorted by type, RRSIGs per covered type); an RRset the change
 * does not touch keeps pointing into the full build's rdata. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "sha1.h"
#include "zone_int.h"
#include "zone_patch.h"

struct pset {
	uint32_t key;           /* type << 16 | covered type for RRSIG */
	uint16_t type, count;
	uint32_t ttl;
	const uint8_t *data;    /* rdlen | rdata, back to back */
	uint32_t len;
	uint8_t *own;           /* malloc'd when the change rewrote the set */
};

struct pnode {
	uint32_t name_off;      /* into patch.names */
	uint32_t hash;
	uint32_t bidx;          /* index in the full build, or ZIDX_NONE */
	uint32_t kids;          /* children in the new version */
	uint32_t out;           /* index in the new version */
	uint32_t old_recs, old_sets, old_sigs, old_sigmin;
	uint16_t oldflags, flags;
	uint16_t nsets, capsets;
	uint8_t len, labels;
	bool existed, exists, changed, kept;
	struct pset *sets;
};

struct patch {
	const struct zone *cur, *base;
	const zone_load_opts_t *opts;
	zone_diag_fn diag;
	void *diag_ctx;
	const char *src;
	struct pnode *pn;
	uint32_t npn, cappn;
	uint8_t *names;
	size_t names_len, names_cap;
	uint32_t *tab;          /* pnode index + 1, 0 = empty */
	uint32_t tmask;
	uint32_t limit;
	unsigned errors, warnings;
};

static void report(struct patch *P, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct patch *P, bool fatal, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (fatal)
		P->errors++;
	else
		P->warnings++;
	if (!P->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	P->diag(P->diag_ctx, P->src, 0, fatal, msg);
}

static const uint8_t *pn_name(const struct patch *P, const struct pnode *p)
{
	return P->names + p->name_off;
}

static bool pn_apex(const struct patch *P, const struct pnode *p)
{
	return p->len == P->base->origin_len;
}

static uint32_t set_key(uint16_t type, const uint8_t *rd, size_t rdlen)
{
	uint32_t k = (uint32_t)type << 16;
	if (type == PKT_TYPE_RRSIG && rdlen >= 2)
		k |= (uint32_t)rd[0] << 8 | rd[1];
	return k;
}

/* ---- the pnode table ------------------------------------------------------ */

static uint32_t pn_find(const struct patch *P, const uint8_t *name, size_t len, uint32_t h)
{
	if (!P->tab)
		return ZIDX_NONE;
	for (uint32_t i = h & P->tmask;; i = (i + 1) & P->tmask) {
		uint32_t v = P->tab[i];
		if (v == 0)
			return ZIDX_NONE;
		const struct pnode *p = &P->pn[v - 1];
		if (p->hash == h && p->len == len && memcmp(pn_name(P, p), name, len) == 0)
			return v - 1;
	}
}

static int pn_add(struct patch *P, const uint8_t *name, size_t len, uint32_t h, uint32_t *idx)
{
	if (P->npn >= P->limit)
		return ANYNS_EFULL;
	if (P->npn + 1 > P->cappn) {
		uint32_t nc = P->cappn ? P->cappn * 2 : 64;
		struct pnode *n = realloc(P->pn, (size_t)nc * sizeof(*n));
		if (!n)
			return ANYNS_ENOMEM;
		P->pn = n;
		P->cappn = nc;
	}
	if ((size_t)(P->npn + 1) * 2 > (size_t)P->tmask + 1 || !P->tab) {
		uint32_t sz = P->tab ? (P->tmask + 1) * 2 : 128;
		uint32_t *t = calloc(sz, sizeof(*t));
		if (!t)
			return ANYNS_ENOMEM;
		for (uint32_t i = 0; i < P->npn; i++) {
			uint32_t j = P->pn[i].hash & (sz - 1);
			while (t[j])
				j = (j + 1) & (sz - 1);
			t[j] = i + 1;
		}
		free(P->tab);
		P->tab = t;
		P->tmask = sz - 1;
	}
	if (P->names_len + len > P->names_cap) {
		size_t nc = P->names_cap ? P->names_cap * 2 : 4096;
		while (nc < P->names_len + len)
			nc *= 2;
		uint8_t *n = realloc(P->names, nc);
		if (!n)
			return ANYNS_ENOMEM;
		P->names = n;
		P->names_cap = nc;
	}
	struct pnode *p = &P->pn[P->npn];
	memset(p, 0, sizeof(*p));
	p->name_off = (uint32_t)P->names_len;
	memcpy(P->names + P->names_len, name, len);
	P->names_len += len;
	p->len = (uint8_t)len;
	p->labels = (uint8_t)wname_labels(name);
	p->hash = h;
	p->bidx = ZIDX_NONE;
	p->out = ZIDX_NONE;
	uint32_t j = h & P->tmask;
	while (P->tab[j])
		j = (j + 1) & P->tmask;
	P->tab[j] = P->npn + 1;
	*idx = P->npn++;
	return 0;
}

static bool sig_min(const struct pset *sets, uint16_t n, uint32_t *min);

/* Fills pnode i with what node n of the current version holds. */
static int pn_load(struct patch *P, uint32_t i, const struct znode *n)
{
	struct pnode *p = &P->pn[i];
	p->existed = p->exists = true;
	p->kids = znode__kids(n);
	p->oldflags = p->flags = n->flags;
	p->nsets = p->capsets = n->rrset_count;
	if (n->rrset_count && !(p->sets = calloc(n->rrset_count, sizeof(*p->sets))))
		return ANYNS_ENOMEM;
	for (uint16_t k = 0; k < n->rrset_count; k++) {
		const zrrset_t *r = znode_rrset_at(n, k);
		struct pset *s = &p->sets[k];
		s->type = r->type;
		s->count = r->count;
		s->ttl = r->ttl;
		s->data = r->data;
		s->len = r->len;
		s->key = set_key(r->type, r->data + 2, r->len >= 2 ? r->len - 2 : 0);
		p->old_recs += r->count;
		if (r->type == PKT_TYPE_RRSIG)
			p->old_sigs += r->count;
	}
	p->old_sets = n->rrset_count;
	if (p->old_sigs)
		sig_min(p->sets, p->nsets, &p->old_sigmin);
	return 0;
}

/* The pnode of a lowercased name: loaded from the current version when
 * it holds the name, else (when create) a new one. ZIDX_NONE in *idx when
 * the name does not exist and create is false. */
static int pn_get(struct patch *P, const uint8_t *name, size_t len, bool create, uint32_t *idx)
{
	uint32_t h = wname_hash(name, len);
	uint32_t i = pn_find(P, name, len, h);
	int rc;
	*idx = i;
	if (i != ZIDX_NONE)
		return 0;
	/* Every name the current version keeps apart is a pnode already, so
	 * what is left is read from the full build. */
	uint32_t bi = zdb__find(P->base, name, len, h);
	if (bi == ZIDX_NONE && !create)
		return 0;
	if ((rc = pn_add(P, name, len, h, &i)) != 0)
		return rc;
	if (bi != ZIDX_NONE) {
		P->pn[i].bidx = bi;
		if ((rc = pn_load(P, i, &P->base->nodes[bi])) != 0)
			return rc;
	}
	*idx = i;
	return 0;
}

/* ---- records -------------------------------------------------------------- */

static struct pset *pn_set(struct pnode *p, uint32_t key)
{
	for (uint16_t k = 0; k < p->nsets; k++)
		if (p->sets[k].key == key)
			return &p->sets[k];
	return NULL;
}

static void set_replace(struct pset *s, uint8_t *blob, uint32_t len)
{
	free(s->own);
	s->own = blob;
	s->data = blob;
	s->len = len;
}

/* Offset of the record rd in the set, or -1. */
static long set_find(const struct pset *s, const uint8_t *rd, size_t rdlen)
{
	uint32_t off = 0;
	for (uint16_t k = 0; k < s->count && off + 2 <= s->len; k++) {
		size_t l = pkt_get16(s->data + off);
		if (l == rdlen && memcmp(s->data + off + 2, rd, rdlen) == 0)
			return off;
		off += 2 + (uint32_t)l;
	}
	return -1;
}

static int rec_del(struct patch *P, struct pnode *p, const zb_rr_t *rr)
{
	(void)P;
	struct pset *s = pn_set(p, set_key(rr->type, rr->rdata, rr->rdlen));
	long off = s ? set_find(s, rr->rdata, rr->rdlen) : -1;
	if (off < 0)
		return ANYNS_EINVAL;
	p->changed = true;
	if (s->count == 1) {
		free(s->own);
		size_t k = (size_t)(s - p->sets);
		if (k + 1 < p->nsets)
			memmove(s, s + 1, (p->nsets - k - 1) * sizeof(*s));
		p->nsets--;
		return 0;
	}
	uint32_t cut = 2 + (uint32_t)rr->rdlen, nl = s->len - cut;
	uint8_t *blob = malloc(nl);
	if (!blob)
		return ANYNS_ENOMEM;
	memcpy(blob, s->data, (size_t)off);
	if (s->len > (size_t)off + cut)
		memcpy(blob + off, s->data + off + cut, s->len - (size_t)off - cut);
	set_replace(s, blob, nl);
	s->count--;
	return 0;
}

/* rr_cmp()'s order of rdata: bytes, the shorter first on a common prefix;
 * a set received by transfer is in that order and stays in it. */
static int rd_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al == bl ? 0 : (al < bl ? -1 : 1);
}

static int rec_add(struct patch *P, struct pnode *p, const zb_rr_t *rr, uint32_t ttl)
{
	uint32_t key = set_key(rr->type, rr->rdata, rr->rdlen);
	struct pset *s = pn_set(p, key);
	p->changed = true;
	if (!s) {
		if (p->nsets == UINT16_MAX)
			return ANYNS_EFULL;
		if (p->nsets + 1 > p->capsets) {
			uint16_t nc = p->capsets ? (uint16_t)(p->capsets * 2 > UINT16_MAX ? UINT16_MAX :
			                                      p->capsets * 2) : 4;
			struct pset *n = realloc(p->sets, nc * sizeof(*n));
			if (!n)
				return ANYNS_ENOMEM;
			p->sets = n;
			p->capsets = nc;
		}
		uint16_t k = 0;
		while (k < p->nsets && p->sets[k].key < key)
			k++;
		if (k < p->nsets)
			memmove(&p->sets[k + 1], &p->sets[k], (p->nsets - k) * sizeof(*s));
		p->nsets++;
		s = &p->sets[k];
		memset(s, 0, sizeof(*s));
		s->key = key;
		s->type = rr->type;
		s->ttl = ttl;
	} else if (set_find(s, rr->rdata, rr->rdlen) >= 0) {
		/* Already there: the record takes the new TTL. */
		s->ttl = s->count == 1 || ttl < s->ttl ? ttl : s->ttl;
		return 0;
	} else {
		if (s->count == UINT16_MAX)
			return ANYNS_EFULL;
		/* RFC 2181 5.2: one TTL per RRset, the lowest. */
		if (ttl < s->ttl)
			s->ttl = ttl;
	}
	uint32_t off = 0;
	for (uint16_t k = 0; k < s->count; k++) {
		size_t l = pkt_get16(s->data + off);
		if (rd_cmp(s->data + off + 2, l, rr->rdata, rr->rdlen) > 0)
			break;
		off += 2 + (uint32_t)l;
	}
	uint32_t nl = s->len + 2 + (uint32_t)rr->rdlen;
	uint8_t *blob = malloc(nl);
	if (!blob)
		return ANYNS_ENOMEM;
	if (off)
		memcpy(blob, s->data, off);
	blob[off] = (uint8_t)(rr->rdlen >> 8);
	blob[off + 1] = (uint8_t)rr->rdlen;
	if (rr->rdlen)
		memcpy(blob + off + 2, rr->rdata, rr->rdlen);
	if (s->len > off)
		memcpy(blob + off + 2 + rr->rdlen, s->data + off, s->len - off);
	set_replace(s, blob, nl);
	s->count++;
	return 0;
}

/* Checks an owner, lowercases it into name; false when it is no name of
 * the zone. */
static bool owner_ok(const struct patch *P, const zb_rr_t *rr, uint8_t *name)
{
	if (rr->rclass != PKT_CLASS_IN || rr->rdlen > 65535 || rr->owner_len == 0 ||
	    rr->owner_len > WNAME_MAXLEN ||
	    wname_check(rr->owner, rr->owner_len) != (int)rr->owner_len)
		return false;
	wname_lower(name, rr->owner, rr->owner_len);
	return wname_is_subdomain(name, rr->owner_len, P->base->origin, P->base->origin_len);
}

/* ---- names coming and going ------------------------------------------------- */

/* The index of pn[i]'s parent in *pi (made when `create`; else ZIDX_NONE
 * when the patch has none). The name is copied first: pn_get() may grow
 * the names it points into. */
static int pn_parent(struct patch *P, uint32_t i, bool create, uint32_t *pi)
{
	size_t plen;
	const uint8_t *par = wname_parent(pn_name(P, &P->pn[i]), P->pn[i].len, &plen);
	uint8_t pname[WNAME_MAXLEN];
	memcpy(pname, par, plen);
	return pn_get(P, pname, plen, create, pi);
}

static int link_up(struct patch *P, uint32_t i)
{
	P->pn[i].exists = true;
	if (pn_apex(P, &P->pn[i]))
		return 0;
	uint32_t pi;
	int rc = pn_parent(P, i, true, &pi);
	if (rc)
		return rc;
	P->pn[pi].kids++;
	return P->pn[pi].exists ? 0 : link_up(P, pi);
}

static int unlink_down(struct patch *P, uint32_t i)
{
	P->pn[i].exists = false;
	uint32_t pi;
	int rc = pn_parent(P, i, false, &pi);
	if (rc)
		return rc;
	if (pi == ZIDX_NONE)
		return ANYNS_EINVAL;
	struct pnode *pp = &P->pn[pi];
	if (pp->kids < ZKIDS_MANY)
		pp->kids--;
	if (pp->exists && !pn_apex(P, pp) && pp->nsets == 0 && pp->kids == 0)
		return unlink_down(P, pi);
	return 0;
}

/* ---- flags ------------------------------------------------------------------ */

static bool label_hash(const struct patch *P, const struct pnode *p, uint8_t h[SHA1_LEN])
{
	const uint8_t *nm = pn_name(P, p);
	return zone_nsec3_label_hash(nm + 1, nm[0], h);
}

/* In the NSEC3 chain of the new version (build_nsec3()'s rule). */
static bool in_chain(const struct patch *P, const struct pnode *p, uint8_t h[SHA1_LEN])
{
	if (P->base->denial != ZDNSSEC_NSEC3 || !p->exists ||
	    p->labels != P->base->origin_labels + 1)
		return false;
	const struct pset *s = NULL;
	for (uint16_t k = 0; k < p->nsets; k++)
		if (p->sets[k].type == PKT_TYPE_NSEC3)
			s = &p->sets[k];
	if (!s || s->len <= 2 || !zdb__n3_params_match(P->base, s->data + 2, pkt_get16(s->data)))
		return false;
	return label_hash(P, p, h);
}

/* In the full build's NSEC3 chain. */
static bool in_base_chain(const struct patch *P, uint32_t bi, const struct pnode *p)
{
	const struct zone *b = P->base;
	uint8_t h[SHA1_LEN];
	if (b->nn3 == 0 || p->labels != b->origin_labels + 1 || !label_hash(P, p, h))
		return false;
	uint32_t lo = 0, hi = b->nn3;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(b->n3hash + (size_t)mid * SHA1_LEN, h, SHA1_LEN);
		if (c == 0)
			return b->n3node[mid] == bi;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static uint16_t parent_flags(const struct patch *P, const struct pnode *p)
{
	size_t plen;
	const uint8_t *par = wname_parent(pn_name(P, p), p->len, &plen);
	uint32_t pi = pn_find(P, par, plen, wname_hash(par, plen));
	if (pi != ZIDX_NONE)
		return P->pn[pi].flags;
	/* Untouched: a node of the full build (new names have their parent
	 * among the pnodes). */
	return P->base->nodes[P->base->nodes[p->bidx].parent].flags;
}

static void node_flags(struct patch *P, struct pnode *p)
{
	uint16_t f = 0;
	if (!p->exists) {
		p->flags = ZN_GONE;
		return;
	}
	if (pn_apex(P, p)) {
		p->flags = ZN_APEX | (p->nsets ? 0 : ZN_ENT) | (pn_set(p, (uint32_t)PKT_TYPE_DNAME << 16) ? ZN_DNAME : 0);
		return;
	}
	if (pn_set(p, (uint32_t)PKT_TYPE_NS << 16))
		f |= ZN_DELEG;
	if (pn_set(p, (uint32_t)PKT_TYPE_DNAME << 16))
		f |= ZN_DNAME;
	const uint8_t *nm = pn_name(P, p);
	if (nm[0] == 1 && nm[1] == '*')
		f |= ZN_WILDCARD;
	if (p->nsets == 0)
		f |= ZN_ENT;
	uint16_t pf = parent_flags(P, p);
	if (pf & (ZN_DELEG | ZN_BELOW_CUT)) {
		f |= ZN_BELOW_CUT;
		f &= (uint16_t)~ZN_DELEG;
	}
	if (pf & (ZN_DNAME | ZN_BELOW_DNAME))
		f |= ZN_BELOW_DNAME;
	uint8_t h[SHA1_LEN];
	if (p->kids == 0 && in_chain(P, p, h)) {
		/* RFC 5155 7.2.8: a name holding only NSEC3 is no name of the zone. */
		bool only = true;
		for (uint16_t k = 0; only && k < p->nsets; k++)
			only = p->sets[k].type == PKT_TYPE_NSEC3 || p->sets[k].type == PKT_TYPE_RRSIG;
		if (only)
			f |= ZN_NSEC3;
	}
	p->flags = f;
}

static int depth_cmp(const void *a, const void *b, void *ctx)
{
	const struct patch *P = ctx;
	const struct pnode *x = &P->pn[*(const uint32_t *)a], *y = &P->pn[*(const uint32_t *)b];
	if (x->labels != y->labels)
		return x->labels < y->labels ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* The pnodes the new version keeps, parents first; *n of them. */
static int order_nodes(struct patch *P, uint32_t **order, uint32_t *n)
{
	uint32_t *o = malloc((P->npn ? P->npn : 1) * sizeof(*o)), k = 0;
	if (!o)
		return ANYNS_ENOMEM;
	for (uint32_t i = 0; i < P->npn; i++) {
		P->pn[i].kept = P->pn[i].exists || P->pn[i].bidx != ZIDX_NONE;
		if (P->pn[i].kept)
			o[k++] = i;
	}
	qsort_r(o, k, sizeof(*o), depth_cmp, P);
	free(*order);
	*order = o;
	*n = k;
	return 0;
}

#define ZN_PROPAGATES (ZN_DELEG | ZN_BELOW_CUT | ZN_DNAME | ZN_BELOW_DNAME)

/* Flags of every kept pnode; when a name with children in the full build
 * becomes or stops being a cut or a DNAME, its descendants there join the
 * pnodes (their flags follow). */
static int compute_flags(struct patch *P, uint32_t **order, uint32_t *n)
{
	int rc = order_nodes(P, order, n);
	if (rc)
		return rc;
	for (uint32_t k = 0; k < *n; k++)
		node_flags(P, &P->pn[(*order)[k]]);
	const struct zone *b = P->base;
	uint8_t *mark = NULL;
	for (uint32_t k = 0; k < *n; k++) {
		const struct pnode *p = &P->pn[(*order)[k]];
		if (p->bidx == ZIDX_NONE || !p->existed || !p->exists || p->kids == 0 ||
		    !((p->oldflags ^ p->flags) & ZN_PROPAGATES))
			continue;
		if (!mark && !(mark = calloc(b->nnodes / 8 + 1, 1)))
			return ANYNS_ENOMEM;
		mark[p->bidx / 8] |= (uint8_t)(1u << (p->bidx % 8));
	}
	if (!mark)
		return 0;
	/* Parents precede children in the full build: one pass marks every
	 * descendant. */
	for (uint32_t i = 1; i < b->nnodes && rc == 0; i++) {
		uint32_t pa = b->nodes[i].parent;
		if (!(mark[pa / 8] & (1u << (pa % 8))))
			continue;
		mark[i / 8] |= (uint8_t)(1u << (i % 8));
		const struct znode *nd = &b->nodes[i];
		uint32_t pi;
		rc = pn_get(P, b->names + nd->name_off, nd->name_len, false, &pi);
	}
	free(mark);
	if (rc)
		return rc;
	if ((rc = order_nodes(P, order, n)) != 0)
		return rc;
	for (uint32_t k = 0; k < *n; k++)
		node_flags(P, &P->pn[(*order)[k]]);
	return 0;
}

/* ---- the new version ----------------------------------------------------------- */

static bool in_base_rdata(const struct zone *b, const uint8_t *p)
{
	return b->rdata && p >= b->rdata && p < b->rdata + b->rdata_len;
}

static uint32_t rrsig_exp(const uint8_t *rd, size_t rdlen, bool *ok)
{
	*ok = rdlen >= 12;
	return *ok ? pkt_get32(rd + 8) : 0;
}

/* Earliest RRSIG expiration of a pnode's sets; false when it has none. */
static bool sig_min(const struct pset *sets, uint16_t n, uint32_t *min)
{
	bool any = false;
	for (uint16_t k = 0; k < n; k++) {
		const struct pset *s = &sets[k];
		if (s->type != PKT_TYPE_RRSIG)
			continue;
		uint32_t off = 0;
		for (uint16_t r = 0; r < s->count; r++) {
			size_t l = pkt_get16(s->data + off);
			bool ok;
			uint32_t e = rrsig_exp(s->data + off + 2, l, &ok);
			if (ok && (!any || (int32_t)(e - *min) < 0)) {
				*min = e;
				any = true;
			}
			off += 2 + (uint32_t)l;
		}
	}
	return any;
}

/* The earliest expiration over the whole version (when the change
 * removed the signature that held it). */
static void sig_min_scan(struct zone *z)
{
	const struct zone *b = z->base;
	bool any = false;
	uint32_t min = 0;
	for (uint32_t pass = 0; pass < 2; pass++) {
		const struct zone *src = pass ? z : b;
		for (uint32_t i = 0; i < src->nnodes; i++) {
			const struct znode *n = &src->nodes[i];
			if (pass == 0 && zdb__shadow(z, i) != ZIDX_NONE)
				continue;
			for (uint16_t k = 0; k < n->rrset_count; k++) {
				const zrrset_t *s = &src->rrsets[n->rrset_first + k];
				if (s->type != PKT_TYPE_RRSIG)
					continue;
				uint32_t off = 0;
				for (uint16_t r = 0; r < s->count; r++) {
					size_t l = pkt_get16(s->data + off);
					bool ok;
					uint32_t e = rrsig_exp(s->data + off + 2, l, &ok);
					if (ok && (!any || (int32_t)(e - min) < 0)) {
						min = e;
						any = true;
					}
					off += 2 + (uint32_t)l;
				}
			}
		}
	}
	z->stats.rrsig_expire_min = min;
}

static int canon_cmp(const void *a, const void *b, void *ctx)
{
	const struct zone *z = ctx;
	const struct znode *x = &z->nodes[*(const uint32_t *)a], *y = &z->nodes[*(const uint32_t *)b];
	return wname_canon_cmp(z->names + x->name_off, x->name_len, z->names + y->name_off,
	                       y->name_len);
}

struct n3ent {
	uint8_t h[SHA1_LEN];
	uint32_t node;
};

static int n3ent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct n3ent *)a)->h, ((const struct n3ent *)b)->h, SHA1_LEN);
}

/* The DNSSEC indexes of the new version: its own NSEC owners in canonical
 * order, its own NSEC3 chain entries by hash, each own name's NSEC3. */
static int build_dnssec(struct patch *P, struct zone *z, const uint32_t *order, uint32_t n)
{
	const struct zone *b = P->base;
	if (b->denial == ZDNSSEC_NSEC) {
		z->ov_nsec = malloc((n ? n : 1) * sizeof(*z->ov_nsec));
		if (!z->ov_nsec)
			return ANYNS_ENOMEM;
		for (uint32_t k = 0; k < n; k++) {
			const struct pnode *p = &P->pn[order[k]];
			if (p->exists && pn_set((struct pnode *)p, (uint32_t)PKT_TYPE_NSEC << 16))
				z->ov_nsec[z->ov_nnsec++] = p->out;
		}
		qsort_r(z->ov_nsec, z->ov_nnsec, sizeof(*z->ov_nsec), canon_cmp, z);
		if (!znode_rrset(&z->nodes[0], PKT_TYPE_NSEC))
			return ANYNS_EFULL;
		return 0;
	}
	if (b->denial != ZDNSSEC_NSEC3)
		return 0;
	struct n3ent *e = malloc((n ? n : 1) * sizeof(*e));
	if (!e)
		return ANYNS_ENOMEM;
	uint32_t cnt = 0, removed = 0, added = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct pnode *p = &P->pn[order[k]];
		bool was = p->bidx != ZIDX_NONE && in_base_chain(P, p->bidx, p);
		bool now = in_chain(P, p, e[cnt].h);
		if (now) {
			e[cnt].node = p->out;
			cnt++;
		}
		removed += was && !now;
		added += now && !was;
	}
	qsort(e, cnt, sizeof(*e), n3ent_cmp);
	z->ov_n3hash = malloc((cnt ? cnt : 1) * (size_t)SHA1_LEN);
	z->ov_n3node = malloc((cnt ? cnt : 1) * sizeof(*z->ov_n3node));
	z->ov_n3of = malloc((z->nnodes ? z->nnodes : 1) * sizeof(*z->ov_n3of));
	if (!z->ov_n3hash || !z->ov_n3node || !z->ov_n3of) {
		free(e);
		return ANYNS_ENOMEM;
	}
	for (uint32_t k = 0; k < cnt; k++) {
		memcpy(z->ov_n3hash + (size_t)k * SHA1_LEN, e[k].h, SHA1_LEN);
		z->ov_n3node[k] = e[k].node;
	}
	free(e);
	z->ov_nn3 = cnt;
	z->n3same = removed == 0 && added == 0;
	if ((uint64_t)b->nn3 + added - removed == 0)
		return ANYNS_EFULL;
	for (uint32_t i = 0; i < z->nnodes; i++) {
		const struct znode *nd = &z->nodes[i];
		bool exact = false;
		uint32_t link = ZIDX_NONE;
		if (!(nd->flags & ZN_GONE))
			link = zdb__n3_link(z, z->names + nd->name_off, nd->name_len, &exact);
		z->ov_n3of[i] = link | (exact ? ZN3_EXACT : 0);
	}
	return 0;
}

/* How the zone denies existence must stay what the full build found. */
static bool same_signing(const struct patch *P, const struct pnode *apex)
{
	const struct zone *b = P->base;
	const struct znode *ba = &b->nodes[0];
	struct pnode *a = (struct pnode *)apex;
	if ((pn_set(a, (uint32_t)PKT_TYPE_DNSKEY << 16) != NULL) != b->stats.dnssec)
		return false;
	const zrrset_t *bp = znode_rrset(ba, PKT_TYPE_NSEC3PARAM);
	const struct pset *np = pn_set(a, (uint32_t)PKT_TYPE_NSEC3PARAM << 16);
	if ((bp != NULL) != (np != NULL) ||
	    (bp && (bp->len != np->len || memcmp(bp->data, np->data, bp->len) != 0)))
		return false;
	bool nsec = pn_set(a, (uint32_t)PKT_TYPE_NSEC << 16) != NULL;
	if (b->stats.dnssec && b->denial == ZDNSSEC_NONE && nsec)
		return false;
	return true;
}

static int build_version(struct patch *P, const uint32_t *order, uint32_t n, struct zone **out)
{
	const struct zone *b = P->base, *cur = P->cur;
	struct zone *z = calloc(1, sizeof(*z));
	size_t names = 0, sets = 0, rdata = 0, nb = 0;
	int rc = ANYNS_ENOMEM;

	if (!z)
		return ANYNS_ENOMEM;
	atomic_init(&z->refs, 1);
	z->base = zone_ref((zone_t *)b);
	memcpy(z->origin, b->origin, b->origin_len);
	z->origin_len = b->origin_len;
	z->origin_labels = b->origin_labels;
	if (!(z->origin_text = strdup(b->origin_text)))
		goto fail;
	for (uint32_t k = 0; k < n; k++) {
		struct pnode *p = &P->pn[order[k]];
		p->out = k;
		names += p->len;
		if (!p->exists)
			continue;
		sets += p->nsets;
		for (uint16_t s = 0; s < p->nsets; s++)
			if (!in_base_rdata(b, p->sets[s].data))
				rdata += p->sets[s].len;
	}
	for (uint32_t k = 0; k < n; k++)
		nb += P->pn[order[k]].bidx != ZIDX_NONE;
	char *nm = malloc(ZNODES_HDR + (size_t)(n ? n : 1) * sizeof(*z->nodes));
	if (!nm)
		goto fail;
	z->nodes = (struct znode *)(void *)(nm + ZNODES_HDR);
	memcpy(nm, &z, sizeof(z));
	z->names = malloc(names ? names : 1);
	z->rrsets = malloc((sets ? sets : 1) * sizeof(*z->rrsets));
	z->rdata = malloc(rdata ? rdata : 1);
	z->ov_bidx = malloc((n ? n : 1) * sizeof(*z->ov_bidx));
	uint32_t ssz = 16;
	while (ssz < nb * 2 + 2)
		ssz *= 2;
	z->shadow = calloc(ssz, sizeof(*z->shadow));
	z->shadow_mask = ssz - 1;
	if (!z->names || !z->rrsets || !z->rdata || !z->ov_bidx || !z->shadow)
		goto fail;

	for (uint32_t k = 0; k < n; k++) {
		const struct pnode *p = &P->pn[order[k]];
		struct znode *nd = &z->nodes[k];
		const uint8_t *name = pn_name(P, p);
		memset(nd, 0, sizeof(*nd));
		nd->name_off = (uint32_t)z->names_len;
		nd->name_len = p->len;
		memcpy(z->names + z->names_len, name, p->len);
		z->names_len += p->len;
		nd->self = k;
		nd->flags = p->flags;
		nd->parent = nd->wild = ZIDX_NONE;
		nd->rrset_first = z->nrrsets;
		z->ov_bidx[k] = p->bidx;
		z->ov_new += p->bidx == ZIDX_NONE;
		z->nnodes = k + 1;
		if ((rc = zdb__table_insert(z, k, p->hash)) != 0)
			goto fail;
		rc = ANYNS_ENOMEM;
		if (p->bidx != ZIDX_NONE) {
			uint32_t j = (p->bidx * 2654435761u) & z->shadow_mask;
			while (z->shadow[j])
				j = (j + 1) & z->shadow_mask;
			z->shadow[j] = (uint64_t)(p->bidx + 1) << 32 | k;
		}
		if (!p->exists)
			continue;
		znode__set_kids(nd, p->kids);
		if (k > 0) {
			size_t plen;
			const uint8_t *par = wname_parent(name, p->len, &plen);
			uint32_t pi = pn_find(P, par, plen, wname_hash(par, plen));
			if (pi != ZIDX_NONE && P->pn[pi].kept)
				nd->parent = P->pn[pi].out | ZLINK_OV;
			else
				nd->parent = b->nodes[p->bidx].parent;
		}
		if (p->len + 2 <= WNAME_MAXLEN) {
			uint8_t w[WNAME_MAXLEN];
			w[0] = 1;
			w[1] = '*';
			memcpy(w + 2, name, p->len);
			uint32_t h = wname_hash(w, p->len + 2u);
			uint32_t wi = pn_find(P, w, p->len + 2u, h);
			if (wi != ZIDX_NONE) {
				if (P->pn[wi].exists)
					nd->wild = P->pn[wi].out | ZLINK_OV;
			} else {
				nd->wild = zdb__find(b, w, p->len + 2u, h);
			}
		}
		for (uint16_t s = 0; s < p->nsets; s++) {
			const struct pset *ps = &p->sets[s];
			zrrset_t *r = &z->rrsets[z->nrrsets++];
			r->type = ps->type;
			r->count = ps->count;
			r->ttl = ps->ttl;
			r->len = ps->len;
			if (in_base_rdata(b, ps->data)) {
				r->data = ps->data;
			} else {
				memcpy(z->rdata + z->rdata_len, ps->data, ps->len);
				r->data = z->rdata + z->rdata_len;
				z->rdata_len += ps->len;
			}
		}
		nd->rrset_count = p->nsets;
	}
	/* The apex comes first: it has the fewest labels. */
	z->soa = znode_rrset(&z->nodes[0], PKT_TYPE_SOA);
	z->denial = b->denial;
	z->n3alg = b->n3alg;
	z->n3saltlen = b->n3saltlen;
	z->n3iter = b->n3iter;
	memcpy(z->n3salt, b->n3salt, sizeof(z->n3salt));
	if ((rc = build_dnssec(P, z, order, n)) != 0)
		goto fail;

	/* Counters: the current version's, corrected by what the change did. */
	zone_stats_t st = cur->stats;
	bool had_sig = false, new_sig = false;
	uint32_t old_min = 0, new_min = 0;
	for (uint32_t i = 0; i < P->npn; i++) {
		const struct pnode *p = &P->pn[i];
		uint32_t recs = 0, sigs = 0;
		if (p->existed) {
			st.records -= p->old_recs;
			st.rrsets -= p->old_sets;
			st.rrsigs -= p->old_sigs;
			st.names--;
		}
		if (!p->exists)
			continue;
		for (uint16_t s = 0; s < p->nsets; s++) {
			recs += p->sets[s].count;
			if (p->sets[s].type == PKT_TYPE_RRSIG)
				sigs += p->sets[s].count;
		}
		st.records += recs;
		st.rrsets += p->nsets;
		st.rrsigs += sigs;
		st.names++;
		uint32_t m;
		if (p->changed && sig_min(p->sets, p->nsets, &m) &&
		    (!new_sig || (int32_t)(m - new_min) < 0)) {
			new_min = m;
			new_sig = true;
		}
		if (p->changed && p->existed && p->old_sigs &&
		    (!had_sig || (int32_t)(p->old_sigmin - old_min) < 0)) {
			old_min = p->old_sigmin;
			had_sig = true;
		}
	}
	if (z->soa) {
		const uint8_t *d = z->soa->data + 2;
		size_t rdlen = pkt_get16(z->soa->data);
		int n1 = wname_check(d, rdlen);
		int n2 = n1 > 0 ? wname_check(d + n1, rdlen - (size_t)n1) : -1;
		if (n1 > 0 && n2 > 0 && (size_t)n1 + (size_t)n2 + 20 <= rdlen)
			st.serial = pkt_get32(d + n1 + n2);
	}
	st.bytes = b->stats.bytes + sizeof(*z) + ZNODES_HDR + (size_t)n * sizeof(*z->nodes) +
	           ((size_t)z->mask + 1) * sizeof(*z->table) + z->names_len +
	           z->nrrsets * sizeof(*z->rrsets) + z->rdata_len + (size_t)ssz * 8 +
	           (size_t)n * 4 * 2 + (size_t)z->ov_nn3 * (SHA1_LEN + 4) + (size_t)z->ov_nnsec * 4;
	z->stats = st;
	if (had_sig && cur->stats.rrsigs && old_min == cur->stats.rrsig_expire_min)
		sig_min_scan(z);
	else if (new_sig && (cur->stats.rrsigs == 0 || (int32_t)(new_min - st.rrsig_expire_min) < 0))
		z->stats.rrsig_expire_min = new_min;
	*out = z;
	return 0;
fail:
	zdb__free(z);
	return rc;
}

/* ---- checks (zone_check.c, for the touched names) ------------------------------ */

static const char *name_text(const uint8_t *name, size_t len, char *buf, size_t n)
{
	if (anyns_name_to_text(name, len, buf, n) < 0)
		snprintf(buf, n, "(bad name)");
	return buf;
}

static void check_glue(struct patch *P, const struct zone *z, const zrrset_t *set)
{
	const uint8_t *d = set->data;
	for (uint16_t k = 0; k < set->count; k++) {
		size_t rdlen = pkt_get16(d);
		const uint8_t *rd = d + 2;
		d += 2 + rdlen;
		uint8_t t[WNAME_MAXLEN];
		size_t tl = zcheck_glue_missing(z, rd, rdlen, t);
		if (tl == 0)
			continue;
		char tb[1024];
		report(P, false, "missing glue: no A or AAAA for NS target %s",
		       name_text(t, tl, tb, sizeof(tb)));
	}
}

static void check_version(struct patch *P, const struct zone *z)
{
	char nb[1024], tb[16];
	for (uint32_t i = 0; i < z->nnodes; i++) {
		const struct znode *n = &z->nodes[i];
		const struct pnode *p = NULL;
		uint32_t pi = pn_find(P, z->names + n->name_off, n->name_len,
		                      wname_hash(z->names + n->name_off, n->name_len));
		if (pi != ZIDX_NONE)
			p = &P->pn[pi];
		if ((n->flags & ZN_GONE) || !p || (!p->changed && p->flags == p->oldflags))
			continue;
		const char *name = name_text(z->names + n->name_off, n->name_len, nb, sizeof(nb));
		const zrrset_t *cname = NULL, *other = NULL;
		for (uint16_t s = 0; s < n->rrset_count; s++) {
			const zrrset_t *set = znode_rrset_at(n, s);
			switch (set->type) {
			case PKT_TYPE_SOA:
				if (i != 0)
					report(P, true, "%s: SOA record not at the zone apex", name);
				else if (set->count > 1)
					report(P, true, "more than one SOA record");
				break;
			case PKT_TYPE_CNAME:
				cname = set;
				if (set->count > 1)
					report(P, true, "%s: more than one CNAME record at the same name",
					       name);
				continue;
			case PKT_TYPE_NS:
				if (!(n->flags & (ZN_BELOW_CUT | ZN_BELOW_DNAME)))
					check_glue(P, z, set);
				break;
			}
			if (!other && set->type != PKT_TYPE_RRSIG && set->type != PKT_TYPE_NSEC)
				other = set;
		}
		if (cname && other)
			report(P, true, "%s: CNAME and other data (%s) at the same name", name,
			       zb_type_name(other->type, tb, sizeof(tb)));
		if (n->rrset_count == 0 || !(n->flags & (ZN_BELOW_DNAME | ZN_BELOW_CUT)))
			continue;
		if (n->flags & ZN_BELOW_DNAME) {
			report(P, false, "%s is below a DNAME and occluded", name);
			continue;
		}
		for (uint16_t s = 0; s < n->rrset_count; s++) {
			uint16_t t = znode_rrset_at(n, s)->type;
			if (t != PKT_TYPE_A && t != PKT_TYPE_AAAA) {
				report(P, false, "%s %s is below a delegation and occluded", name,
				       zb_type_name(t, tb, sizeof(tb)));
				break;
			}
		}
	}
	const zrrset_t *soa = z->soa;
	if (!soa) {
		report(P, true, "no SOA record at the zone apex %s", z->origin_text);
	} else {
		const uint8_t *d = soa->data + 2;
		size_t rdlen = pkt_get16(soa->data);
		int n1 = wname_check(d, rdlen);
		int n2 = n1 > 0 ? wname_check(d + n1, rdlen - (size_t)n1) : -1;
		if (n1 <= 0 || n2 <= 0 || (size_t)n1 + (size_t)n2 + 20 > rdlen)
			report(P, true, "malformed SOA rdata");
	}
	if (!znode_rrset(&z->nodes[0], PKT_TYPE_NS))
		report(P, true, "no NS records at the zone apex %s", z->origin_text);
}

/* ---- the entry point --------------------------------------------------------------- */

uint32_t zone_patch_limit(const zone_t *z)
{
	const struct zone *b = z->base ? z->base : z;
	uint32_t l = b->nnodes / 16;
	return l < 4096 ? 4096 : l > 65536 ? 65536 : l;
}

size_t zone_patch_names(const zone_t *z)
{
	return z->base ? z->nnodes : 0;
}

static void patch_free(struct patch *P)
{
	for (uint32_t i = 0; i < P->npn; i++) {
		for (uint16_t s = 0; s < P->pn[i].nsets; s++)
			free(P->pn[i].sets[s].own);
		free(P->pn[i].sets);
	}
	free(P->pn);
	free(P->tab);
	free(P->names);
}

int zone_patch(const zone_t *cur, const zb_rr_t *del, size_t ndel, const zb_rr_t *add,
               size_t nadd, const zone_load_opts_t *opts, zone_diag_fn diag,
               void *diag_ctx, const char *src, zone_t **out)
{
	static const zone_load_opts_t defaults;
	struct patch P = { 0 };
	uint32_t *order = NULL, n = 0, apex;
	uint8_t name[WNAME_MAXLEN];
	struct zone *z = NULL;
	int rc = 0;

	*out = NULL;
	if (cur->expired || cur->nnodes == 0)
		return ANYNS_EFULL;
	P.cur = cur;
	P.base = cur->base ? cur->base : cur;
	P.opts = opts ? opts : &defaults;
	P.diag = diag;
	P.diag_ctx = diag_ctx;
	P.src = src ? src : "patch";
	P.limit = zone_patch_limit(cur);
	if (ndel + nadd >= P.limit)
		return ANYNS_EFULL;

	/* The names the current version keeps apart come first. */
	for (uint32_t i = 0; cur->base && i < cur->nnodes && rc == 0; i++) {
		const struct znode *nd = &cur->nodes[i];
		uint32_t pi;
		if ((rc = pn_add(&P, cur->names + nd->name_off, nd->name_len,
		                 wname_hash(cur->names + nd->name_off, nd->name_len), &pi)) != 0)
			break;
		P.pn[pi].bidx = cur->ov_bidx[i];
		if (!(nd->flags & ZN_GONE))
			rc = pn_load(&P, pi, nd);
	}
	if (rc == 0)
		rc = pn_get(&P, P.base->origin, P.base->origin_len, false, &apex);
	/* RFC 1995: the deletions, then the additions. */
	for (size_t i = 0; i < ndel && rc == 0; i++) {
		uint32_t pi;
		if (!owner_ok(&P, &del[i], name)) {
			rc = ANYNS_EINVAL;
			break;
		}
		if ((rc = pn_get(&P, name, del[i].owner_len, false, &pi)) != 0)
			break;
		if (pi == ZIDX_NONE || !P.pn[pi].exists)
			rc = ANYNS_EINVAL;
		else
			rc = rec_del(&P, &P.pn[pi], &del[i]);
	}
	for (size_t i = 0; i < nadd && rc == 0; i++) {
		uint32_t pi, ttl = add[i].ttl;
		if (!owner_ok(&P, &add[i], name)) {
			rc = ANYNS_EINVAL;
			break;
		}
		if (ttl > ZB_TTL_MAX) {
			report(&P, false, "TTL %u is above %u (RFC 2181 8); using %u", ttl,
			       ZB_TTL_MAX, ZB_TTL_DEFAULT);
			ttl = ZB_TTL_DEFAULT;
		}
		if ((rc = pn_get(&P, name, add[i].owner_len, true, &pi)) != 0)
			break;
		rc = rec_add(&P, &P.pn[pi], &add[i], ttl);
	}
	if (rc)
		goto out;
	/* New names and their missing ancestors, then names left with no data
	 * and no children. */
	uint32_t n0 = P.npn;
	for (uint32_t i = 0; i < n0 && rc == 0; i++)
		if (!P.pn[i].exists && P.pn[i].nsets)
			rc = link_up(&P, i);
	for (uint32_t i = 0; i < P.npn && rc == 0; i++) {
		struct pnode *p = &P.pn[i];
		if (p->exists && !pn_apex(&P, p) && p->nsets == 0 && p->kids == 0)
			rc = unlink_down(&P, i);
	}
	if (rc)
		goto out;
	if (!same_signing(&P, &P.pn[apex])) {
		rc = ANYNS_EFULL;
		goto out;
	}
	if ((rc = compute_flags(&P, &order, &n)) != 0)
		goto out;
	if (P.opts->strict_glue) {
		/* Whether glue went missing elsewhere is the full build's to say. */
		for (uint32_t k = 0; k < n; k++)
			if (P.pn[order[k]].changed &&
			    (P.pn[order[k]].flags & (ZN_DELEG | ZN_BELOW_CUT)))
				rc = ANYNS_EFULL;
		if (rc)
			goto out;
	}
	if ((rc = build_version(&P, order, n, &z)) != 0)
		goto out;
	check_version(&P, z);
	z->stats.errors = P.errors;
	z->stats.warnings = P.warnings;
	if (P.errors) {
		zdb__free(z);
		rc = ANYNS_EZONE;
		goto out;
	}
	*out = z;
out:
	free(order);
	patch_free(&P);
	return rc;
}
