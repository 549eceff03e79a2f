/* The zone builder (contract in zone_build.h): collects RRs in wire form,
 * creates the nodes as owners arrive, then groups the records into RRsets
 * and lays out the flat arrays of zone_int.h. The checks live apart in
 * zone_check.c and run on the grouped records before the zone is handed
 * out. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <ldns/ldns.h>

#include "grow.h"
#include "zone_int.h"

void zb_report(zone_builder_t *b, uint16_t src, uint32_t line, bool fatal,
               const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (fatal)
		b->errors++;
	else
		b->warnings++;
	if (!b->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->diag(b->diag_ctx, zb_source_name(b, src), (int)line, fatal, msg);
}

unsigned zb_errors(const zone_builder_t *b)
{
	return b->errors;
}

int zb_source(zone_builder_t *b, const char *name, uint16_t *id)
{
	if (b->nsrcs >= UINT16_MAX)
		return ANYNS_ENOMEM;
	char **f = realloc(b->srcs, (b->nsrcs + 1) * sizeof(*f));
	if (!f)
		return ANYNS_ENOMEM;
	b->srcs = f;
	bool *p = realloc(b->priv, (b->nsrcs + 1) * sizeof(*p));
	if (!p)
		return ANYNS_ENOMEM;
	b->priv = p;
	p[b->nsrcs] = false;
	if (!(f[b->nsrcs] = strdup(name)))
		return ANYNS_ENOMEM;
	*id = (uint16_t)b->nsrcs++;
	return 0;
}

size_t zb_sources(const zone_builder_t *b)
{
	return b->nsrcs;
}

const char *zb_source_name(const zone_builder_t *b, uint16_t id)
{
	return id < b->nsrcs ? b->srcs[id] : "?";
}

void zb_source_private(zone_builder_t *b, uint16_t id)
{
	if (id < b->nsrcs)
		b->priv[id] = true;
}

const char *zb_name_text(const zone_builder_t *b, uint16_t src, const uint8_t *name,
                         size_t len, char *buf, size_t buflen)
{
	if ((src < b->nsrcs && b->priv[src]) || anyns_name_to_text(name, len, buf, buflen) < 0)
		snprintf(buf, buflen, "(name not shown)");
	return buf;
}

const char *zb_type_name(uint16_t t, char *buf, size_t len)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(t);
	if (d && d->_name)
		return d->_name;
	snprintf(buf, len, "TYPE%u", t);
	return buf;
}

/* ---- nodes -------------------------------------------------------------- */

static uint32_t zb_add_node(zone_builder_t *b, const uint8_t *name, size_t len,
                            uint32_t hash, uint32_t parent)
{
	struct zone *z = b->z;
	if (z->nnodes + 1 > b->nodes_cap) {
		size_t nc = b->nodes_cap ? b->nodes_cap * 2 : 64;
		char *m = realloc(z->nodes ? (char *)z->nodes - ZNODES_HDR : NULL,
		                  ZNODES_HDR + nc * sizeof(*z->nodes));
		if (!m)
			return ZIDX_NONE;
		grow_advise_huge(m, ZNODES_HDR + nc * sizeof(*z->nodes));
		z->nodes = (struct znode *)(void *)(m + ZNODES_HDR);
		b->nodes_cap = nc;
	}
	if (grow((void **)&z->names, &b->names_cap, z->names_len + len, 1))
		return ZIDX_NONE;
	uint32_t idx = z->nnodes;
	struct znode *n = &z->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->name_off = (uint32_t)z->names_len;
	n->name_len = (uint8_t)len;
	n->parent = parent;
	n->wild = ZIDX_NONE;
	n->self = idx;
	memcpy(z->names + z->names_len, name, len);
	z->names_len += len;
	z->nnodes++;
	/* The presized table once the file has shown that its estimate holds. */
	if (b->table_want && (size_t)z->nnodes * 8 >= b->table_want) {
		if (zdb__table_reserve(z, b->table_want)) {
			z->nnodes--;
			return ZIDX_NONE;
		}
		b->table_want = 0;
	}
	if (zdb__table_insert(z, idx, hash)) {
		z->nnodes--;
		return ZIDX_NONE;
	}
	if (name[0] == 1 && name[1] == '*') {
		n->flags |= ZN_WILDCARD;
		if (parent != ZIDX_NONE)
			z->nodes[parent].wild = idx;
	}
	return idx;
}

/* Node of a lowercased name at or below the origin; creates it and any
 * missing ancestors (empty non-terminals until they get data), so that a
 * parent always has a smaller index than its children. */
static uint32_t zb_node(zone_builder_t *b, const uint8_t *name, size_t len)
{
	uint32_t h = wname_hash(name, len);
	uint32_t idx = zdb__find(b->z, name, len, h);
	if (idx != ZIDX_NONE)
		return idx;
	size_t plen;
	const uint8_t *p = wname_parent(name, len, &plen);
	/* Siblings come one after another in most files: the parent of the
	 * last new name is often this one's, and a compare is cheaper than a
	 * lookup that misses the cache. */
	uint32_t parent;
	if (plen == b->last_parent_len && memcmp(p, b->last_parent, plen) == 0) {
		parent = b->last_parent_node;
	} else {
		parent = zb_node(b, p, plen);
		if (parent == ZIDX_NONE)
			return ZIDX_NONE;
		memcpy(b->last_parent, p, plen);
		b->last_parent_len = plen;
		b->last_parent_node = parent;
	}
	return zb_add_node(b, name, len, h, parent);
}

void zb_prefetch(const zone_builder_t *b, uint32_t hash)
{
	const struct zone *z = b->z;
	if (z->table)
		__builtin_prefetch(&z->table[hash & z->mask]);
}

/* The name table a presize reserves before any name has been added. */
#define ZB_TABLE_EAGER (1u << 16)

int zb_presize(zone_builder_t *b, size_t names, size_t records, size_t name_bytes,
               size_t rdata)
{
	struct zone *z = b->z;
	if (names > UINT32_MAX / 2 || records > UINT32_MAX)
		return 0;
	if (zdb__table_reserve(z, names + 1 < ZB_TABLE_EAGER ? names + 1 : ZB_TABLE_EAGER))
		return ANYNS_ENOMEM;
	b->table_want = names + 1 > ZB_TABLE_EAGER ? names + 1 : 0;
	if (names + 1 > b->nodes_cap) {
		char *m = realloc((char *)z->nodes - ZNODES_HDR,
		                  ZNODES_HDR + (names + 1) * sizeof(*z->nodes));
		if (!m)
			return ANYNS_ENOMEM;
		grow_advise_huge(m, ZNODES_HDR + (names + 1) * sizeof(*z->nodes));
		z->nodes = (struct znode *)(void *)(m + ZNODES_HDR);
		b->nodes_cap = names + 1;
	}
	if (grow((void **)&z->names, &b->names_cap, z->names_len + name_bytes, 1) ||
	    grow((void **)&b->recs, &b->rec_cap, records, sizeof(*b->recs)) ||
	    grow((void **)&b->rd, &b->rd_cap, rdata, 1))
		return ANYNS_ENOMEM;
	return 0;
}

/* ---- records ------------------------------------------------------------ */

/* Copies name src[0..len) to dst lowercased and checks it on the way: labels
 * of at most 63 octets, no compression pointer, the root label last. */
static bool lower_valid(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t p = 0;
	while (p < len) {
		uint8_t l = src[p];
		dst[p++] = l;
		if (l == 0)
			return p == len;
		if (l > WNAME_MAXLABEL || p + l >= len)
			return false;
		for (size_t e = p + l; p < e; p++)
			dst[p] = wname_lower_tab[src[p]];
	}
	return false;
}

int zb_add_rr(zone_builder_t *b, const zb_rr_t *rr, uint16_t src, uint32_t line)
{
	struct zone *z = b->z;
	uint8_t name[WNAME_MAXLEN];
	size_t len = rr->owner_len, rdlen = rr->rdlen;

	if (rr->rclass != LDNS_RR_CLASS_IN) {
		zb_report(b, src, line, true, "class is not IN");
		return 0;
	}
	if (rdlen > 65535) {
		zb_report(b, src, line, true, "rdata longer than 65535 bytes");
		return 0;
	}
	if (len == 0 || len > WNAME_MAXLEN) {
		zb_report(b, src, line, true, "bad owner name");
		return 0;
	}
	/* RFC 2181 8: a TTL with the top bit set is not to be trusted; NSD
	 * serves its default TTL instead, and so do we. */
	uint32_t ttl = rr->ttl;
	if (ttl > ZB_TTL_MAX) {
		zb_report(b, src, line, false, "TTL %u is above %u (RFC 2181 8); using %u", ttl,
		          ZB_TTL_MAX, ZB_TTL_DEFAULT);
		ttl = ZB_TTL_DEFAULT;
	}
	if (!lower_valid(name, rr->owner, len)) {
		zb_report(b, src, line, true, "bad owner name");
		return 0;
	}
	/* Files list a name's RRs together: a repeat of the last owner was
	 * checked and looked up already. */
	uint32_t node;
	if (len == b->last_len && memcmp(name, b->last_name, len) == 0) {
		node = b->last_node;
	} else {
		if (!wname_is_subdomain(name, len, z->origin, z->origin_len)) {
			char txt[1024];
			zb_report(b, src, line, true, "%s is out of zone %s",
			          zb_name_text(b, src, name, len, txt, sizeof(txt)), z->origin_text);
			return 0;
		}
		node = zb_node(b, name, len);
		if (node != ZIDX_NONE) {
			memcpy(b->last_name, name, len);
			b->last_len = len;
			b->last_node = node;
		}
	}
	if (node == ZIDX_NONE ||
	    grow((void **)&b->recs, &b->rec_cap, b->nrec + 1, sizeof(*b->recs)) ||
	    grow((void **)&b->rd, &b->rd_cap, b->rd_len + rdlen, 1))
		return ANYNS_ENOMEM;
	if (b->rd_len + rdlen > UINT32_MAX)
		return ANYNS_ENOMEM;

	struct zb_rec *r = &b->recs[b->nrec++];
	r->node = node;
	r->ttl = ttl;
	r->rd_off = (uint32_t)b->rd_len;
	r->line = line;
	r->type = rr->type;
	r->rdlen = (uint16_t)rdlen;
	r->src = src;
	r->dup = 0;
	if (rdlen)
		memcpy(b->rd + b->rd_len, rr->rdata, rdlen);
	b->rd_len += rdlen;

	if (rr->type == LDNS_RR_TYPE_NS && node != 0)
		z->nodes[node].flags |= ZN_DELEG;
	if (rr->type == LDNS_RR_TYPE_DNAME)
		z->nodes[node].flags |= ZN_DNAME;
	return 0;
}

/* ---- grouping ----------------------------------------------------------- */

/* RRsets are grouped by type, and RRSIGs also by the type they cover, so
 * that each covered type's signatures form a set with its own TTL
 * (RFC 4034 3). */
static uint32_t rec_key(const zone_builder_t *b, const struct zb_rec *r)
{
	uint32_t k = (uint32_t)r->type << 16;
	if (r->type == LDNS_RR_TYPE_RRSIG && r->rdlen >= 2)
		k |= (uint32_t)b->rd[r->rd_off] << 8 | b->rd[r->rd_off + 1];
	return k;
}

static int rec_type_cmp(const void *a, const void *b, void *ctx)
{
	const zone_builder_t *B = ctx;
	uint32_t x = rec_key(B, &B->recs[*(const uint32_t *)a]);
	uint32_t y = rec_key(B, &B->recs[*(const uint32_t *)b]);
	if (x != y)
		return x < y ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int rec_rdata_cmp(const void *a, const void *b, void *ctx)
{
	const zone_builder_t *B = ctx;
	const struct zb_rec *x = &B->recs[*(const uint32_t *)a], *y = &B->recs[*(const uint32_t *)b];
	if (x->rdlen != y->rdlen)
		return x->rdlen < y->rdlen ? -1 : 1;
	int c = memcmp(B->rd + x->rd_off, B->rd + y->rd_off, x->rdlen);
	if (c)
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Marks every RR of a big RRset that repeats an earlier one as a dup. */
static int zb_mark_dups(zone_builder_t *b, const uint32_t *set, size_t n)
{
	uint32_t *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return ANYNS_ENOMEM;
	memcpy(tmp, set, n * sizeof(*tmp));
	qsort_r(tmp, n, sizeof(*tmp), rec_rdata_cmp, b);
	/* Ties sort by record index, so the first of equals is the earliest. */
	for (size_t k = 1; k < n; k++) {
		const struct zb_rec *p = &b->recs[tmp[k - 1]];
		struct zb_rec *r = &b->recs[tmp[k]];
		if (p->rdlen == r->rdlen && memcmp(b->rd + p->rd_off, b->rd + r->rd_off, r->rdlen) == 0)
			r->dup = 1;
	}
	free(tmp);
	return 0;
}

/* Groups the records of each node into RRsets sorted by type, merging
 * duplicates and writing each RRset's records into the rdata blob. */
static int zb_group(zone_builder_t *b)
{
	struct zone *z = b->z;
	uint32_t nn = z->nnodes;
	uint32_t *start, *perm;
	size_t blob_cap = 0;

	/* Counting sort by node keeps file order within a node. */
	start = calloc((size_t)nn + 1, sizeof(*start));
	perm = b->perm = malloc((b->nrec ? b->nrec : 1) * sizeof(*perm));
	b->set_first = malloc((b->nrec + 1) * sizeof(*b->set_first));
	if (!start || !perm || !b->set_first)
		goto nomem;
	for (size_t i = 0; i < b->nrec; i++)
		start[b->recs[i].node + 1]++;
	for (uint32_t i = 0; i < nn; i++)
		start[i + 1] += start[i];
	{
		uint32_t *fill = malloc(((size_t)nn + 1) * sizeof(*fill));
		if (!fill)
			goto nomem;
		memcpy(fill, start, ((size_t)nn + 1) * sizeof(*fill));
		for (size_t i = 0; i < b->nrec; i++)
			perm[fill[b->recs[i].node]++] = (uint32_t)i;
		free(fill);
	}
	for (size_t i = 0; i < b->nrec; i++)
		blob_cap += 2 + (size_t)b->recs[i].rdlen;
	z->rdata = malloc(blob_cap ? blob_cap : 1);
	z->rrsets = malloc((b->nrec ? b->nrec : 1) * sizeof(*z->rrsets));
	if (!z->rdata || !z->rrsets)
		goto nomem;

	/* Flags flow from parent to child; parents come first. */
	z->nodes[0].flags |= ZN_APEX;
	z->nodes[0].flags &= (uint16_t)~ZN_DELEG;
	for (uint32_t i = 1; i < nn; i++) {
		struct znode *n = &z->nodes[i];
		const struct znode *p = &z->nodes[n->parent];
		if (p->flags & (ZN_DELEG | ZN_BELOW_CUT)) {
			n->flags |= ZN_BELOW_CUT;
			n->flags &= (uint16_t)~ZN_DELEG;   /* an occluded cut is no cut */
		}
		if (p->flags & (ZN_DNAME | ZN_BELOW_DNAME))
			n->flags |= ZN_BELOW_DNAME;
	}

	for (uint32_t ni = 0; ni < nn; ni++) {
		struct znode *n = &z->nodes[ni];
		uint32_t a = start[ni], e = start[ni + 1];
		n->rrset_first = z->nrrsets;
		n->rrset_count = 0;
		if (a == e) {
			n->flags |= ZN_ENT;
			continue;
		}
		/* Stable sort by type: insertion sort for the usual few records. */
		if (e - a <= 16) {
			for (uint32_t i = a + 1; i < e; i++) {
				uint32_t v = perm[i], j = i;
				while (j > a && rec_key(b, &b->recs[perm[j - 1]]) > rec_key(b, &b->recs[v])) {
					perm[j] = perm[j - 1];
					j--;
				}
				perm[j] = v;
			}
		} else {
			qsort_r(perm + a, e - a, sizeof(*perm), rec_type_cmp, b);
		}
		for (uint32_t i = a; i < e;) {
			uint16_t type = b->recs[perm[i]].type;
			uint32_t key = rec_key(b, &b->recs[perm[i]]), j = i;
			while (j < e && rec_key(b, &b->recs[perm[j]]) == key)
				j++;
			/* Merge identical RRs (RFC 2181 5): pairwise for the
			 * usual small sets, by sorting for big ones. */
			if (j - i > 32 && zb_mark_dups(b, perm + i, j - i))
				goto nomem;
			uint32_t kept = 0, ttl = UINT32_MAX;
			const struct zb_rec *first = &b->recs[perm[i]];
			bool ttl_warned = false;
			b->set_first[z->nrrsets] = i;
			zrrset_t *set = &z->rrsets[z->nrrsets];
			set->type = type;
			set->len = 0;
			set->data = NULL;
			for (uint32_t k = i; k < j; k++) {
				struct zb_rec *r = &b->recs[perm[k]];
				for (uint32_t m = i; m < k && (j - i) <= 32; m++) {
					const struct zb_rec *q = &b->recs[perm[m]];
					if (!q->dup && q->rdlen == r->rdlen &&
					    memcmp(b->rd + q->rd_off, b->rd + r->rd_off, r->rdlen) == 0) {
						r->dup = 1;
						break;
					}
				}
				/* RFC 2181 5.2: one TTL per RRset; take the lowest.
				 * RRSIGs take the TTL of the set each one covers
				 * (RFC 4034 3), so theirs differ by design. */
				if (r->ttl != first->ttl && !ttl_warned && type != LDNS_RR_TYPE_RRSIG) {
					char tb[16];
					zb_report(b, r->src, r->line, false,
					          "TTL %u differs from %u in the %s RRset; using the lowest",
					          r->ttl, first->ttl, zb_type_name(type, tb, sizeof(tb)));
					ttl_warned = true;
				}
				if (r->ttl < ttl)
					ttl = r->ttl;
				if (r->dup)
					continue;
				uint8_t *d = z->rdata + z->rdata_len;
				d[0] = (uint8_t)(r->rdlen >> 8);
				d[1] = (uint8_t)r->rdlen;
				memcpy(d + 2, b->rd + r->rd_off, r->rdlen);
				z->rdata_len += 2 + (size_t)r->rdlen;
				set->len += 2 + (uint32_t)r->rdlen;
				kept++;
			}
			if (kept > UINT16_MAX) {
				zb_report(b, first->src, first->line, true, "RRset has more than 65535 records");
				kept = UINT16_MAX;
			}
			set->count = (uint16_t)kept;
			set->ttl = ttl;
			z->stats.records += kept;
			z->nrrsets++;
			n->rrset_count++;
			i = j;
		}
	}
	b->set_first[z->nrrsets] = (uint32_t)b->nrec;
	free(start);
	return 0;
nomem:
	free(start);
	return ANYNS_ENOMEM;
}

static uint32_t rd_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Shrinks the arrays to size and turns the RRsets' implicit offsets (they
 * were written in order) into pointers, now that the blob no longer moves. */
static void zb_layout(zone_builder_t *b)
{
	struct zone *z = b->z;
	void *p;
	if (z->rdata_len && (p = realloc(z->rdata, z->rdata_len)))
		z->rdata = p;
	if (z->nrrsets && (p = realloc(z->rrsets, z->nrrsets * sizeof(*z->rrsets))))
		z->rrsets = p;
	if ((p = realloc((char *)z->nodes - ZNODES_HDR,
	                 ZNODES_HDR + (size_t)z->nnodes * sizeof(*z->nodes))))
		z->nodes = (struct znode *)(void *)((char *)p + ZNODES_HDR);
	if (z->names_len && (p = realloc(z->names, z->names_len)))
		z->names = p;
	size_t off = 0;
	for (uint32_t i = 0; i < z->nrrsets; i++) {
		z->rrsets[i].data = z->rdata + off;
		off += z->rrsets[i].len;
	}
	memcpy((char *)z->nodes - ZNODES_HDR, &z, sizeof(z));
	/* Children counts let a patch (zone_patch.c) tell a leaf from an
	 * empty non-terminal without a walk. */
	for (uint32_t i = 1; i < z->nnodes; i++) {
		struct znode *pa = &z->nodes[z->nodes[i].parent];
		znode__set_kids(pa, znode__kids(pa) + 1);
	}

	const zrrset_t *soa = znode_rrset(&z->nodes[0], LDNS_RR_TYPE_SOA);
	if (soa) {
		z->soa = soa;
		const uint8_t *d = soa->data + 2;
		size_t rdlen = (size_t)soa->data[0] << 8 | soa->data[1];
		int n1 = wname_check(d, rdlen);
		int n2 = n1 > 0 ? wname_check(d + n1, rdlen - (size_t)n1) : -1;
		if (n1 > 0 && n2 > 0 && (size_t)n1 + (size_t)n2 + 20 <= rdlen)
			z->stats.serial = rd_u32(d + n1 + n2);
	}
	z->stats.rrsets = z->nrrsets;
	z->stats.names = z->nnodes;
	z->stats.bytes = sizeof(*z) + ZNODES_HDR + (size_t)z->nnodes * sizeof(*z->nodes) +
	                 ((size_t)z->mask + 1) * sizeof(*z->table) + z->names_len +
	                 (size_t)z->nrrsets * sizeof(*z->rrsets) + z->rdata_len +
	                 strlen(z->origin_text) + 1;
}

/* ---- life cycle --------------------------------------------------------- */

int zb_begin(const uint8_t *origin, size_t origin_len, const zone_load_opts_t *opts,
             zone_diag_fn diag, void *diag_ctx, zone_builder_t **out)
{
	static const zone_load_opts_t defaults;
	zone_builder_t *b;
	struct zone *z;
	char txt[1024];

	*out = NULL;
	if (origin_len == 0 || wname_check(origin, origin_len) != (int)origin_len)
		return ANYNS_EINVAL;
	if (!(b = calloc(1, sizeof(*b))))
		return ANYNS_ENOMEM;
	b->opts = opts ? opts : &defaults;
	b->diag = diag;
	b->diag_ctx = diag_ctx;
	if (!(z = b->z = calloc(1, sizeof(*z))))
		goto nomem;
	atomic_init(&z->refs, 1);
	wname_lower(z->origin, origin, origin_len);
	z->origin_len = (uint8_t)origin_len;
	z->origin_labels = (uint8_t)wname_labels(z->origin);
	anyns_name_to_text(z->origin, z->origin_len, txt, sizeof(txt));
	if (!(z->origin_text = strdup(txt)))
		goto nomem;
	/* Never NULL, so that empty rdata can be copied and compared. */
	if (grow((void **)&b->rd, &b->rd_cap, 4096, 1))
		goto nomem;
	if (zb_add_node(b, z->origin, z->origin_len,
	                wname_hash(z->origin, z->origin_len), ZIDX_NONE) != 0)
		goto nomem;
	*out = b;
	return 0;
nomem:
	zb_abort(b);
	return ANYNS_ENOMEM;
}

void zb_abort(zone_builder_t *b)
{
	if (!b)
		return;
	zdb__free(b->z);
	free(b->recs);
	free(b->rd);
	for (size_t i = 0; i < b->nsrcs; i++)
		free(b->srcs[i]);
	free(b->srcs);
	free(b->priv);
	free(b->perm);
	free(b->set_first);
#ifdef __GLIBC__
	/* The build arrays grow by realloc and die at the end of a load; give
	 * their pages back so that a server's resident size is its zones. */
	bool big = b->rec_cap * sizeof(*b->recs) + b->rd_cap > (1u << 20);
	free(b);
	if (big)
		malloc_trim(0);
#else
	free(b);
#endif
}

int zb_finish(zone_builder_t *b, uint16_t main_src, zone_t **out)
{
	int rc;
	*out = NULL;
	rc = zb_group(b);
	if (rc)
		goto out;
	/* The rdata now lives in the zone; the checks read it there. */
	free(b->rd);
	b->rd = NULL;
	b->rd_cap = 0;
	zb_layout(b);
	if ((rc = zdb__dnssec_build(b->z)) != 0)
		goto out;
	zcheck_run(b, main_src);
	b->z->stats.errors = b->errors;
	b->z->stats.warnings = b->warnings;
	if (b->errors) {
		rc = ANYNS_EZONE;
		goto out;
	}
	*out = b->z;
	b->z = NULL;
out:
	zb_abort(b);
	return rc;
}
