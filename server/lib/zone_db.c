/* Lookups in a compiled zone (layout in zone_int.h), zone references and
 * zone sets. Nothing here allocates on the query path. */
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "grow.h"
#include "zone_int.h"

/* ---- hash table --------------------------------------------------------- */

uint32_t zdb__find(const struct zone *z, const uint8_t *name, size_t len, uint32_t hash)
{
	if (!z->table)
		return ZIDX_NONE;
	/* Slots carry the hash, so a probe touches a node only when the
	 * whole hash matches: about one node read per hit, none per miss. */
	for (uint32_t i = hash & z->mask;; i = (i + 1) & z->mask) {
		uint64_t v = z->table[i];
		if (v == 0)
			return ZIDX_NONE;
		if ((uint32_t)(v >> 32) != hash)
			continue;
		uint32_t idx = (uint32_t)v - 1;
		const struct znode *n = &z->nodes[idx];
		if (n->name_len == len && memcmp(z->names + n->name_off, name, len) == 0)
			return idx;
	}
}

/* Out of line: a patched version is the rare case, and the common one
 * keeps its lookup code as small as before. */
__attribute__((noinline)) const struct znode *zdb__node(const struct zone *z, const uint8_t *name,
                                                        size_t len, uint32_t hash)
{
	uint32_t i = zdb__find(z, name, len, hash);
	if (i != ZIDX_NONE)
		return z->nodes[i].flags & ZN_GONE ? NULL : &z->nodes[i];
	if (!z->base)
		return NULL;
	/* A name the patches did not touch reads as in the base. */
	i = zdb__find(z->base, name, len, hash);
	return i == ZIDX_NONE ? NULL : &z->base->nodes[i];
}

static void table_put(uint64_t *t, uint32_t mask, uint64_t slot)
{
	uint32_t i = (uint32_t)(slot >> 32) & mask;
	while (t[i])
		i = (i + 1) & mask;
	t[i] = slot;
}

/* Moves the table to `sz` slots (a power of two holding every entry). */
static int table_resize(struct zone *z, size_t sz)
{
	if (sz > (1u << 31))
		return ANYNS_ENOMEM;
	uint64_t *t = calloc(sz, sizeof(*t));
	if (!t)
		return ANYNS_ENOMEM;
	grow_advise_huge(t, sz * sizeof(*t));
	if (z->table)
		for (size_t i = 0; i <= z->mask; i++)
			if (z->table[i])
				table_put(t, (uint32_t)(sz - 1), z->table[i]);
	free(z->table);
	z->table = t;
	z->mask = (uint32_t)(sz - 1);
	return 0;
}

int zdb__table_reserve(struct zone *z, size_t names)
{
	size_t sz = 64;
	while (sz < names * 2 && sz <= (1u << 31))
		sz *= 2;
	if (z->table && sz <= (size_t)z->mask + 1)
		return 0;
	return table_resize(z, sz);
}

int zdb__table_insert(struct zone *z, uint32_t idx, uint32_t hash)
{
	/* Keep the load factor at or under 1/2 so that probe runs stay short. */
	if (!z->table || (size_t)(idx + 1) * 2 > (size_t)z->mask + 1) {
		size_t sz = z->table ? ((size_t)z->mask + 1) * 2 : 64;
		while ((size_t)(idx + 1) * 2 > sz)
			sz *= 2;
		if (table_resize(z, sz))
			return ANYNS_ENOMEM;
	}
	table_put(z->table, z->mask, (uint64_t)hash << 32 | (idx + 1));
	return 0;
}

void zdb__free(struct zone *z)
{
	if (!z)
		return;
	free(z->origin_text);
	free(z->nodes ? (char *)z->nodes - ZNODES_HDR : NULL);
	free(z->table);
	free(z->names);
	free(z->rrsets);
	free(z->rdata);
	zdb__dnssec_free(z);
	free(z->shadow);
	free(z->ov_bidx);
	free(z->ov_nsec);
	free(z->ov_n3hash);
	free(z->ov_n3node);
	free(z->ov_n3of);
	zone_unref(z->base);
	free(z);
}

/* ---- zones -------------------------------------------------------------- */

zone_t *zone_ref(zone_t *z)
{
	if (z)
		atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed);
	return z;
}

void zone_unref(zone_t *z)
{
	/* acq_rel: the last owner must see every write made before other unrefs. */
	if (z && atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) == 1)
		zdb__free(z);
}

int zone_new_expired(const char *origin, zone_t **out)
{
	struct zone *z = calloc(1, sizeof(*z));
	if (!z)
		return ANYNS_ENOMEM;
	int n = anyns_name_from_text(origin, z->origin, sizeof(z->origin));
	char text[WNAME_MAXLEN * 4 + 2];
	if (n <= 0 || anyns_name_to_text(z->origin, (size_t)n, text, sizeof(text)) < 0) {
		free(z);
		return ANYNS_EINVAL;
	}
	z->origin_len = (uint8_t)n;
	z->origin_labels = (uint8_t)wname_labels(z->origin);
	z->origin_text = strdup(text);
	if (!z->origin_text) {
		free(z);
		return ANYNS_ENOMEM;
	}
	z->expired = true;
	atomic_init(&z->refs, 1);
	*out = z;
	return 0;
}

bool zone_is_expired(const zone_t *z)
{
	return z->expired;
}

void zone_get_stats(const zone_t *z, zone_stats_t *st)
{
	*st = z->stats;
}

const char *zone_origin_text(const zone_t *z)
{
	return z->origin_text;
}

const uint8_t *zone_origin_wire(const zone_t *z, size_t *len)
{
	if (len)
		*len = z->origin_len;
	return z->origin;
}

const znode_t *zone_apex(const zone_t *z)
{
	return &z->nodes[0];
}

const zrrset_t *zone_soa(const zone_t *z)
{
	return z->soa;
}

/* Out of line: a name a patched version does not hold itself is read from
 * its full build. */
__attribute__((noinline)) static const znode_t *lookup_base(const zone_t *z,
                                                            const uint8_t *name, size_t len)
{
	uint32_t i = zdb__find(z->base, name, len, wname_hash(name, len));
	return i == ZIDX_NONE ? NULL : &z->base->nodes[i];
}

const znode_t *zone_lookup(const zone_t *z, const uint8_t *name, size_t len)
{
	/* A patched version's own names come first, in its own table. */
	uint32_t i = zdb__find(z, name, len, wname_hash(name, len));
	if (i == ZIDX_NONE)
		return __builtin_expect(z->base != NULL, 0) ? lookup_base(z, name, len) : NULL;
	const struct znode *n = &z->nodes[i];
	return n->flags & ZN_GONE ? NULL : n;
}

const znode_t *zone_closest_encloser(const zone_t *z, const uint8_t *name, size_t len)
{
	/* Every ancestor of a node is a node (ENTs are materialised), so
	 * existence is monotonic in depth: binary search over the number of
	 * labels below the origin needs O(log labels) lookups, which keeps
	 * long query names cheap. */
	uint8_t offs[WNAME_MAXLABELS];
	int nl = wname_label_offsets(name, offs);
	int lo = 0, hi = nl - z->origin_labels;
	const znode_t *best = &z->nodes[0];
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		const uint8_t *s = name + offs[nl - z->origin_labels - mid];
		size_t sl = len - (size_t)(s - name);
		const struct znode *n;
		if (__builtin_expect(z->base == NULL, 1)) {
			uint32_t idx = zdb__find(z, s, sl, wname_hash(s, sl));
			n = idx == ZIDX_NONE ? NULL : &z->nodes[idx];
		} else {
			n = zdb__node(z, s, sl, wname_hash(s, sl));
		}
		if (n) {
			lo = mid;
			best = n;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

uint32_t znode_flags(const znode_t *n)
{
	return n->flags;
}

const uint8_t *znode_name(const znode_t *n, size_t *len)
{
	if (len)
		*len = n->name_len;
	return znode__zone(n)->names + n->name_off;
}

const znode_t *znode_parent(const zone_t *z, const znode_t *n)
{
	return zdb__link(z, n, n->parent);
}

const znode_t *znode_cut(const zone_t *z, const znode_t *n)
{
	if (!(n->flags & ZN_BELOW_CUT))
		return NULL;
	/* Cuts are few levels up; walking is cheaper than a field per node. */
	for (const znode_t *p = znode_parent(z, n); p; p = znode_parent(z, p))
		if (p->flags & ZN_DELEG)
			return p;
	return NULL;
}

const znode_t *znode_dname_owner(const zone_t *z, const znode_t *n)
{
	if (!(n->flags & ZN_BELOW_DNAME))
		return NULL;
	/* The topmost DNAME owner wins: deeper ones are occluded by it. */
	const znode_t *found = NULL;
	for (const znode_t *p = znode_parent(z, n); p; p = znode_parent(z, p))
		if (p->flags & ZN_DNAME)
			found = p;
	return found;
}

const znode_t *znode_wildcard_child(const zone_t *z, const znode_t *n)
{
	return zdb__link(z, n, n->wild);
}

const zrrset_t *znode_rrset(const znode_t *n, uint16_t type)
{
	const zrrset_t *r = znode__zone(n)->rrsets + n->rrset_first;
	/* Nodes hold few RRsets; a linear scan over the sorted run is fastest. */
	for (uint16_t i = 0; i < n->rrset_count; i++) {
		if (r[i].type == type)
			return &r[i];
		if (r[i].type > type)
			break;
	}
	return NULL;
}

size_t znode_rrset_count(const znode_t *n)
{
	return n->rrset_count;
}

const zrrset_t *znode_rrset_at(const znode_t *n, size_t i)
{
	return i < n->rrset_count ? &znode__zone(n)->rrsets[n->rrset_first + i] : NULL;
}

/* ---- walk --------------------------------------------------------------- */

/* The names of a version as one array: a full build's own nodes, or for a
 * patched version the base's slots (a shadowed one holds the version's
 * node, NULL when gone) followed by the names the patches added. */
struct wview {
	const struct zone *z;
	const struct znode **vn;        /* NULL: z->nodes as they are */
	uint32_t *vpar;
	uint32_t n;
};

static inline const struct znode *wv_node(const struct wview *w, uint32_t i)
{
	return w->vn ? w->vn[i] : &w->z->nodes[i];
}

static inline uint32_t wv_parent(const struct wview *w, uint32_t i)
{
	return w->vn ? w->vpar[i] : w->z->nodes[i].parent;
}

static int wv_init(struct wview *w, const struct zone *z)
{
	memset(w, 0, sizeof(*w));
	w->z = z;
	w->n = z->nnodes;
	if (!z->base)
		return 0;
	const struct zone *b = z->base;
	uint32_t n = b->nnodes + z->ov_new, k = b->nnodes;
	w->vn = malloc((size_t)n * sizeof(*w->vn));
	w->vpar = malloc((size_t)n * sizeof(*w->vpar));
	uint32_t *pos = malloc((size_t)z->nnodes * sizeof(*pos));
	if (!w->vn || !w->vpar || !pos) {
		free(w->vn);
		free(w->vpar);
		free(pos);
		return ANYNS_ENOMEM;
	}
	w->n = n;
	for (uint32_t i = 0; i < b->nnodes; i++) {
		w->vn[i] = &b->nodes[i];
		w->vpar[i] = b->nodes[i].parent;
	}
	for (uint32_t i = 0; i < z->nnodes; i++)
		pos[i] = z->ov_bidx[i] != ZIDX_NONE ? z->ov_bidx[i] : k++;
	for (uint32_t i = 0; i < z->nnodes; i++) {
		const struct znode *nd = &z->nodes[i];
		uint32_t p = nd->parent;
		w->vn[pos[i]] = nd->flags & ZN_GONE ? NULL : nd;
		w->vpar[pos[i]] = p == ZIDX_NONE ? p : (p & ZLINK_OV) ? pos[p & ~ZLINK_OV] : p;
	}
	free(pos);
	return 0;
}

static void wv_clear(struct wview *w)
{
	free(w->vn);
	free(w->vpar);
}

/* Orders siblings by their first label: RFC 4034 6.1 compares the labels
 * as lowercased octet strings (stored names are lowercase already), a
 * label that is a prefix of the other first. */
static int walk_label_cmp(const void *a, const void *b, void *ctx)
{
	const struct wview *w = ctx;
	const uint8_t *x = znode_name(wv_node(w, *(const uint32_t *)a), NULL);
	const uint8_t *y = znode_name(wv_node(w, *(const uint32_t *)b), NULL);
	size_t n = x[0] < y[0] ? x[0] : y[0];
	int c = memcmp(x + 1, y + 1, n);
	if (c)
		return c;
	return (int)x[0] - (int)y[0];
}

int zone_walk(const zone_t *z, zone_walk_fn cb, void *ctx)
{
	/* Canonical order is a pre-order walk of the name tree with siblings
	 * sorted by label, which is much cheaper than sorting whole names. */
	struct wview w;
	uint32_t *start = NULL, *kids = NULL;
	uint16_t *types = NULL;
	size_t maxt = 1;
	int rc = 0;
	struct { uint32_t node, next; } stack[WNAME_MAXLABELS + 1];
	int sp = 0;

	if (z->nnodes == 0)     /* an expired placeholder: nothing to walk */
		return 0;
	if ((rc = wv_init(&w, z)) != 0)
		return rc;
	uint32_t n = w.n;
	start = calloc((size_t)n + 1, sizeof(*start));
	kids = malloc(((size_t)n + 1) * sizeof(*kids));
	if (!start || !kids) {
		rc = ANYNS_ENOMEM;
		goto out;
	}
	for (uint32_t i = 1; i < n; i++)
		if (wv_node(&w, i))
			start[wv_parent(&w, i) + 1]++;
	for (uint32_t i = 0; i < n; i++) {
		start[i + 1] += start[i];
		const struct znode *nd = wv_node(&w, i);
		if (nd && nd->rrset_count > maxt)
			maxt = nd->rrset_count;
	}
	{
		uint32_t *fill = malloc(((size_t)n + 1) * sizeof(*fill));
		if (!fill) {
			rc = ANYNS_ENOMEM;
			goto out;
		}
		memcpy(fill, start, ((size_t)n + 1) * sizeof(*fill));
		for (uint32_t i = 1; i < n; i++)
			if (wv_node(&w, i))
				kids[fill[wv_parent(&w, i)]++] = i;
		free(fill);
	}
	for (uint32_t i = 0; i < n; i++)
		if (start[i + 1] - start[i] > 1)
			qsort_r(kids + start[i], start[i + 1] - start[i], sizeof(*kids),
			        walk_label_cmp, &w);
	types = malloc(maxt * sizeof(*types));
	if (!types) {
		rc = ANYNS_ENOMEM;
		goto out;
	}
	stack[0].node = 0;
	stack[0].next = start[0];
	sp = 1;
	for (uint32_t cur = 0;;) {
		const struct znode *nd = wv_node(&w, cur);
		size_t nt = 0, nlen;
		/* RRSIGs are one set per covered type: name the type once. */
		for (uint16_t t = 0; t < nd->rrset_count; t++) {
			uint16_t ty = znode_rrset_at(nd, t)->type;
			if (nt == 0 || types[nt - 1] != ty)
				types[nt++] = ty;
		}
		const uint8_t *nm = znode_name(nd, &nlen);
		rc = cb(ctx, nm, nlen, types, nt);
		if (rc)
			break;
		/* Next: the first child, else the next sibling of the nearest
		 * ancestor that still has one. */
		while (sp > 0 && stack[sp - 1].next == start[stack[sp - 1].node + 1])
			sp--;
		if (sp == 0)
			break;
		cur = kids[stack[sp - 1].next++];
		if (sp > WNAME_MAXLABELS)
			break;     /* cannot happen: names have at most 127 labels */
		stack[sp].node = cur;
		stack[sp].next = start[cur];
		sp++;
	}
out:
	free(types);
	free(kids);
	free(start);
	wv_clear(&w);
	return rc;
}

/* ---- zone sets ---------------------------------------------------------- */

struct zset {
	zone_t **zones;
	size_t n;
	uint64_t gen;
	uint32_t *table;        /* zone index + 1, 0 = empty */
	uint32_t mask;
	int max_labels;         /* of the deepest origin */
	uint32_t *hashes;
	acl_t **acls;           /* per zone, NULL: answers everyone; NULL when none has one */
};

static size_t zset__find(const zset_t *zs, const uint8_t *name, size_t len, uint32_t h)
{
	for (uint32_t i = h & zs->mask;; i = (i + 1) & zs->mask) {
		uint32_t v = zs->table[i];
		if (v == 0)
			return SIZE_MAX;
		const zone_t *z = zs->zones[v - 1];
		if (zs->hashes[v - 1] == h && z->origin_len == len &&
		    memcmp(z->origin, name, len) == 0)
			return v - 1;
	}
}

int zset_new(zone_t *const *zones, size_t n, uint64_t generation, zset_t **out)
{
	zset_t *zs = calloc(1, sizeof(*zs));
	size_t sz = 8;
	if (!zs)
		return ANYNS_ENOMEM;
	while (sz < n * 2 + 2)
		sz *= 2;
	zs->zones = calloc(n ? n : 1, sizeof(*zs->zones));
	zs->hashes = calloc(n ? n : 1, sizeof(*zs->hashes));
	zs->table = calloc(sz, sizeof(*zs->table));
	if (!zs->zones || !zs->hashes || !zs->table) {
		zset_free(zs);
		return ANYNS_ENOMEM;
	}
	zs->mask = (uint32_t)(sz - 1);
	zs->gen = generation;
	for (size_t i = 0; i < n; i++) {
		zone_t *z = zones[i];
		uint32_t h = wname_hash(z->origin, z->origin_len);
		if (zset__find(zs, z->origin, z->origin_len, h) != SIZE_MAX) {
			zset_free(zs);
			return ANYNS_EINVAL;    /* the same origin twice */
		}
		zs->zones[i] = zone_ref(z);
		zs->hashes[i] = h;
		zs->n = i + 1;
		uint32_t j = h & zs->mask;
		while (zs->table[j])
			j = (j + 1) & zs->mask;
		zs->table[j] = (uint32_t)i + 1;
		if (z->origin_labels > zs->max_labels)
			zs->max_labels = z->origin_labels;
	}
	*out = zs;
	return 0;
}

void zset_free(zset_t *zs)
{
	if (!zs)
		return;
	for (size_t i = 0; i < zs->n; i++) {
		zone_unref(zs->zones[i]);
		if (zs->acls != NULL)
			acl_free(zs->acls[i]);
	}
	free(zs->acls);
	free(zs->zones);
	free(zs->hashes);
	free(zs->table);
	free(zs);
}

size_t zset_count(const zset_t *zs)
{
	return zs ? zs->n : 0;
}

zone_t *zset_zone(const zset_t *zs, size_t i)
{
	return i < zs->n ? zs->zones[i] : NULL;
}

uint64_t zset_generation(const zset_t *zs)
{
	return zs->gen;
}

int zset_set_acl(zset_t *zs, const zone_t *z, const acl_t *acl)
{
	size_t i = zset__find(zs, z->origin, z->origin_len, wname_hash(z->origin, z->origin_len));
	if (i == SIZE_MAX || acl == NULL || acl->n == 0)
		return ANYNS_EINVAL;
	if (zs->acls == NULL && (zs->acls = calloc(zs->n, sizeof(*zs->acls))) == NULL)
		return ANYNS_ENOMEM;
	acl_t *copy = acl_new(acl->nets, acl->n);
	if (copy == NULL)
		return ANYNS_ENOMEM;
	acl_free(zs->acls[i]);
	zs->acls[i] = copy;
	return 0;
}

bool zset_has_acl(const zset_t *zs)
{
	return zs != NULL && zs->acls != NULL;
}

const acl_t *zset_zone_acl(const zset_t *zs, const zone_t *z)
{
	if (zs == NULL || zs->acls == NULL || z == NULL)
		return NULL;
	size_t i = zset__find(zs, z->origin, z->origin_len, wname_hash(z->origin, z->origin_len));
	return i != SIZE_MAX ? zs->acls[i] : NULL;
}

const zone_t *zset_best_zone(const zset_t *zs, const uint8_t *name, size_t len)
{
	if (!zs || zs->n == 0)
		return NULL;
	uint8_t offs[WNAME_MAXLABELS];
	int nl = wname_label_offsets(name, offs);
	/* Longest suffix first, skipping suffixes deeper than any origin. */
	int first = nl > zs->max_labels ? nl - zs->max_labels : 0;
	for (int i = first; i <= nl; i++) {
		size_t off = i < nl ? offs[i] : len - 1;
		size_t j = zset__find(zs, name + off, len - off, wname_hash(name + off, len - off));
		if (j != SIZE_MAX)
			return zs->zones[j];
	}
	return NULL;
}
