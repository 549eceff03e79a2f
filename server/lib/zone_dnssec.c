/* The DNSSEC side of a compiled zone: which denial of existence it uses,
 * the NSEC chain in canonical order (covering lookups by binary search),
 * the NSEC3 chain sorted by hash with every name's own NSEC3 found at load
 * (RFC 5155 7.2: the closest encloser and the names of the zone need no
 * hashing per query), and RRSIGs per covered type. */
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "sha1.h"
#include "zone_int.h"

static bool b32hex_decode(const uint8_t *s, size_t n, uint8_t *out, size_t outlen);

int zone_denial(const zone_t *z)
{
	return z->denial;
}

bool zone_is_signed(const zone_t *z)
{
	return z->stats.dnssec;
}

const zrrset_t *znode_rrsig(const znode_t *n, uint16_t type)
{
	const zrrset_t *r = znode__zone(n)->rrsets + n->rrset_first;

	for (uint16_t i = 0; i < n->rrset_count; i++) {
		if (r[i].type > PKT_TYPE_RRSIG)
			break;
		/* RFC 4034 3.1: Type Covered is the rdata's first field. */
		if (r[i].type == PKT_TYPE_RRSIG && r[i].len >= 4 &&
		    pkt_get16(r[i].data + 2) == type)
			return &r[i];
	}
	return NULL;
}

/* The last entry at or before a key in a sorted array of n (upper bound
 * `ub` found by the caller), going back over entries `skip` rejects; the
 * chain wraps around (before the first, the last one). *wrapped says the
 * entry came from the wrap. n when every entry is rejected. */
static uint32_t chain_back(uint32_t n, uint32_t ub, bool (*skip)(const void *, uint32_t),
                           const void *ctx, bool *wrapped)
{
	uint32_t i = ub ? ub - 1 : n - 1;
	*wrapped = ub == 0;
	for (uint32_t k = 0; k < n; k++) {
		if (!skip || !skip(ctx, i))
			return i;
		if (i == 0) {
			i = n - 1;
			*wrapped = true;
		} else {
			i--;
		}
	}
	return n;
}

static bool nsec_shadowed(const void *ctx, uint32_t i)
{
	const struct zone *z = ctx;
	return zdb__shadow(z, z->base->nsec_order[i]) != ZIDX_NONE;
}

static uint32_t nsec_ub(const struct zone *z, const uint32_t *order, uint32_t n,
                        const uint8_t *name, size_t len)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct znode *nd = &z->nodes[order[mid]];
		if (wname_canon_cmp(z->names + nd->name_off, nd->name_len, name, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const znode_t *zone_nsec_cover(const zone_t *z, const uint8_t *name, size_t len)
{
	bool bw = false, ow = false;

	if (!z->base) {
		if (z->nnsec == 0)
			return NULL;
		/* The last owner at or before the name; before the first (cannot
		 * happen below the apex, which opens the chain) the last one wraps. */
		uint32_t lo = nsec_ub(z, z->nsec_order, z->nnsec, name, len);
		return &z->nodes[z->nsec_order[lo ? lo - 1 : z->nnsec - 1]];
	}
	/* A patched version: the base's chain without the names the patches
	 * touched, and the version's own owners; the nearer of the two. */
	const struct zone *b = z->base;
	const struct znode *bn = NULL, *on = NULL;
	if (b->nnsec) {
		uint32_t i = chain_back(b->nnsec, nsec_ub(b, b->nsec_order, b->nnsec, name, len),
		                        nsec_shadowed, z, &bw);
		if (i < b->nnsec)
			bn = &b->nodes[b->nsec_order[i]];
	}
	if (z->ov_nnsec) {
		uint32_t i = chain_back(z->ov_nnsec, nsec_ub(z, z->ov_nsec, z->ov_nnsec, name, len),
		                        NULL, NULL, &ow);
		on = &z->nodes[z->ov_nsec[i]];
	}
	if (!bn || !on)
		return bn ? bn : on;
	if (bw != ow)
		return bw ? on : bn;
	return wname_canon_cmp(znode_name(bn, NULL), bn->name_len, znode_name(on, NULL),
	                       on->name_len) > 0 ? bn : on;
}

static uint32_t n3_ub(const uint8_t *hashes, uint32_t n, const uint8_t *h)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (memcmp(hashes + (size_t)mid * SHA1_LEN, h, SHA1_LEN) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the NSEC3 matching or covering hash h; *exact says which. */
static uint32_t n3_find(const struct zone *z, const uint8_t *h, bool *exact)
{
	uint32_t lo = n3_ub(z->n3hash, z->nn3, h);
	/* RFC 5155 3.1.7: the last hash of the chain covers the wrap-around. */
	uint32_t i = lo ? lo - 1 : z->nn3 - 1;
	*exact = memcmp(z->n3hash + (size_t)i * SHA1_LEN, h, SHA1_LEN) == 0;
	return i;
}

static bool n3_shadowed(const void *ctx, uint32_t i)
{
	const struct zone *z = ctx;
	return zdb__shadow(z, z->base->n3node[i]) != ZIDX_NONE;
}

/* A patched version's NSEC3 matching or covering h, as a link. */
static uint32_t ov_n3_find(const struct zone *z, const uint8_t *h, bool *exact)
{
	const struct zone *b = z->base;
	const uint8_t *bh = NULL, *oh = NULL;
	uint32_t bi = 0, oi = 0;
	bool bw = false, ow = false;

	*exact = false;
	if (b->nn3) {
		bi = chain_back(b->nn3, n3_ub(b->n3hash, b->nn3, h), n3_shadowed, z, &bw);
		if (bi < b->nn3)
			bh = b->n3hash + (size_t)bi * SHA1_LEN;
	}
	if (z->ov_nn3) {
		oi = chain_back(z->ov_nn3, n3_ub(z->ov_n3hash, z->ov_nn3, h), NULL, NULL, &ow);
		oh = z->ov_n3hash + (size_t)oi * SHA1_LEN;
	}
	bool use_b = bh && (!oh || (bw != ow ? ow : memcmp(bh, oh, SHA1_LEN) > 0));
	if (!bh && !oh)
		return ZIDX_NONE;
	*exact = memcmp(use_b ? bh : oh, h, SHA1_LEN) == 0;
	return use_b ? b->n3node[bi] : (z->ov_n3node[oi] | ZLINK_OV);
}

uint32_t zdb__n3_link(const struct zone *z, const uint8_t *name, size_t len, bool *exact)
{
	uint8_t h[SHA1_LEN];
	sha1_nsec3(name, len, z->n3salt, z->n3saltlen, z->n3iter, h);
	return ov_n3_find(z, h, exact);
}

static const znode_t *ov_link_node(const struct zone *z, uint32_t link)
{
	if (link == ZIDX_NONE)
		return NULL;
	return link & ZLINK_OV ? &z->nodes[link & ~ZLINK_OV] : &z->base->nodes[link];
}

const znode_t *zone_nsec3_cover(const zone_t *z, const uint8_t *name, size_t len,
                                bool *exact)
{
	uint8_t h[SHA1_LEN];

	*exact = false;
	if (z->base) {
		if (z->denial != ZDNSSEC_NSEC3)
			return NULL;
		return ov_link_node(z, zdb__n3_link(z, name, len, exact));
	}
	if (z->nn3 == 0)
		return NULL;
	sha1_nsec3(name, len, z->n3salt, z->n3saltlen, z->n3iter, h);
	return &z->nodes[z->n3node[n3_find(z, h, exact)]];
}

const znode_t *znode_nsec3(const zone_t *z, const znode_t *n, bool *exact)
{
	*exact = false;
	if (z->base) {
		if (z->denial != ZDNSSEC_NSEC3)
			return NULL;
		if (znode__zone(n) == z) {
			uint32_t v = z->ov_n3of[n->self];
			*exact = (v & ZN3_EXACT) != 0;
			return ov_link_node(z, v & ~ZN3_EXACT);
		}
		const struct zone *b = z->base;
		if (z->n3same) {
			/* Same hashes: the owner of each is the same name, maybe
			 * with new content. */
			uint32_t v = b->n3of[n->self];
			*exact = (v & ZN3_EXACT) != 0;
			return zdb__base_node(z, b->n3node[v & ~ZN3_EXACT]);
		}
		return ov_link_node(z, zdb__n3_link(z, znode_name(n, NULL), n->name_len, exact));
	}
	if (!z->n3of)
		return NULL;
	uint32_t v = z->n3of[n->self];
	*exact = (v & ZN3_EXACT) != 0;
	return &z->nodes[z->n3node[v & ~ZN3_EXACT]];
}

/* ---- building ------------------------------------------------------------ */

/* RFC 4648 7 base32hex, as RFC 5155 3.3 writes hashed owner labels; the
 * names are lowercased. Returns false unless it decodes to exactly `out`. */
bool zone_nsec3_label_hash(const uint8_t *label, size_t n, uint8_t out[SHA1_LEN])
{
	return b32hex_decode(label, n, out, SHA1_LEN);
}

static bool b32hex_decode(const uint8_t *s, size_t n, uint8_t *out, size_t outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (s[i] >= '0' && s[i] <= '9')
			v = (unsigned)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'v')
			v = (unsigned)(s[i] - 'a') + 10;
		else
			return false;
		acc = acc << 5 | v;
		bits += 5;
		if (bits >= 8) {
			if (o == outlen)
				return false;
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return o == outlen && (acc & ((1u << bits) - 1)) == 0;
}

/* NSEC3 RDATA (RFC 5155 3.2): alg, flags, iterations, salt length, salt,
 * hash length, hash, type bitmaps. True when its parameters are the zone's
 * and its hash is SHA-1 sized. */
static bool n3_params_match(const struct zone *z, const uint8_t *rd, size_t rdlen)
{
	if (rdlen < 5 || rd[0] != z->n3alg || pkt_get16(rd + 2) != z->n3iter ||
	    rd[4] != z->n3saltlen || rdlen < 6u + rd[4])
		return false;
	return memcmp(rd + 5, z->n3salt, z->n3saltlen) == 0 && rd[5 + rd[4]] == SHA1_LEN;
}

struct walk_ctx {
	struct zone *z;
	uint32_t n;
};

static int collect_nsec(void *ctx, const uint8_t *name, size_t len, const uint16_t *types,
                        size_t ntypes)
{
	struct walk_ctx *w = ctx;

	for (size_t i = 0; i < ntypes; i++) {
		if (types[i] == PKT_TYPE_NSEC) {
			uint32_t idx = zdb__find(w->z, name, len, wname_hash(name, len));
			if (idx != ZIDX_NONE)
				w->z->nsec_order[w->n++] = idx;
			break;
		}
	}
	return 0;
}

static int n3_cmp(const void *a, const void *b, void *ctx)
{
	const struct zone *z = ctx;
	return memcmp(z->n3hash + (size_t)*(const uint32_t *)a * SHA1_LEN,
	              z->n3hash + (size_t)*(const uint32_t *)b * SHA1_LEN, SHA1_LEN);
}

/* Finds the NSEC3PARAM to answer with: RFC 5155 4.1.2, flags 0, and a hash
 * algorithm we implement (1, SHA-1). */
static bool pick_nsec3param(struct zone *z)
{
	const zrrset_t *p = znode_rrset(&z->nodes[0], PKT_TYPE_NSEC3PARAM);
	const uint8_t *d = p ? p->data : NULL;

	for (uint16_t i = 0; p && i < p->count; i++) {
		size_t rdlen = pkt_get16(d);
		const uint8_t *rd = d + 2;
		if (rdlen >= 5 && rdlen == 5u + rd[4] && rd[0] == 1 && rd[1] == 0) {
			z->n3alg = rd[0];
			z->n3iter = pkt_get16(rd + 2);
			z->n3saltlen = rd[4];
			memcpy(z->n3salt, rd + 5, rd[4]);
			return true;
		}
		d += 2 + rdlen;
	}
	return false;
}

bool zdb__n3_params_match(const struct zone *z, const uint8_t *rd, size_t rdlen)
{
	return n3_params_match(z, rd, rdlen);
}

static int build_nsec3(struct zone *z)
{
	uint32_t nn = z->nnodes, cnt = 0;
	uint8_t *kids = calloc(nn ? nn : 1, 1);
	uint32_t *order = NULL;
	uint8_t *hashes = NULL;
	int rc = ANYNS_ENOMEM;

	if (!kids)
		goto out;
	for (uint32_t i = 1; i < nn; i++)
		kids[z->nodes[i].parent] = 1;
	/* The chain: NSEC3 sets right below the apex with the zone's
	 * parameters (RFC 5155 7.1). */
	for (uint32_t i = 1; i < nn; i++) {
		struct znode *n = &z->nodes[i];
		const zrrset_t *s = znode_rrset(n, PKT_TYPE_NSEC3);
		if (s && n->parent == 0 && s->len > 2 &&
		    n3_params_match(z, s->data + 2, pkt_get16(s->data)))
			cnt++;
	}
	if (cnt == 0) {
		rc = 0;
		goto out;
	}
	hashes = malloc((size_t)cnt * SHA1_LEN);
	order = malloc((size_t)cnt * sizeof(*order));
	z->n3node = malloc((size_t)cnt * sizeof(*z->n3node));
	z->n3hash = malloc((size_t)cnt * SHA1_LEN);
	z->n3of = malloc((size_t)nn * sizeof(*z->n3of));
	if (!hashes || !order || !z->n3node || !z->n3hash || !z->n3of)
		goto out;
	uint32_t k = 0;
	for (uint32_t i = 1; i < nn; i++) {
		struct znode *n = &z->nodes[i];
		const zrrset_t *s = znode_rrset(n, PKT_TYPE_NSEC3);
		if (!s || n->parent != 0 || s->len <= 2 ||
		    !n3_params_match(z, s->data + 2, pkt_get16(s->data)))
			continue;
		const uint8_t *nm = z->names + n->name_off;
		/* A label that is no hash of ours is no part of the chain. */
		if (!b32hex_decode(nm + 1, nm[0], hashes + (size_t)k * SHA1_LEN, SHA1_LEN))
			continue;
		z->n3node[k] = i;
		order[k] = k;
		k++;
		/* RFC 5155 7.2.8: a name holding only NSEC3 is no name of the
		 * zone; data or names below it make it one again. */
		bool only = !kids[i];
		for (uint16_t t = 0; only && t < n->rrset_count; t++) {
			uint16_t ty = z->rrsets[n->rrset_first + t].type;
			only = ty == PKT_TYPE_NSEC3 || ty == PKT_TYPE_RRSIG;
		}
		if (only)
			n->flags |= ZN_NSEC3;
	}
	cnt = k;
	if (cnt == 0) {
		rc = 0;
		goto out;
	}
	z->nn3 = cnt;
	/* Sort hashes through an index so that hash and owner move together. */
	memcpy(z->n3hash, hashes, (size_t)cnt * SHA1_LEN);
	qsort_r(order, cnt, sizeof(*order), n3_cmp, z);
	{
		uint32_t *nodes = malloc((size_t)cnt * sizeof(*nodes));
		if (!nodes)
			goto out;
		for (uint32_t i = 0; i < cnt; i++) {
			memcpy(z->n3hash + (size_t)i * SHA1_LEN, hashes + (size_t)order[i] * SHA1_LEN,
			       SHA1_LEN);
			nodes[i] = z->n3node[order[i]];
		}
		free(z->n3node);
		z->n3node = nodes;
	}
	/* Every name's own hash, once, at load. */
	for (uint32_t i = 0; i < nn; i++) {
		const struct znode *n = &z->nodes[i];
		uint8_t h[SHA1_LEN];
		bool exact;
		sha1_nsec3(z->names + n->name_off, n->name_len, z->n3salt, z->n3saltlen,
		           z->n3iter, h);
		uint32_t j = n3_find(z, h, &exact);
		z->n3of[i] = j | (exact ? ZN3_EXACT : 0);
	}
	z->denial = ZDNSSEC_NSEC3;
	z->stats.bytes += (size_t)cnt * (SHA1_LEN + sizeof(uint32_t)) +
	                  (size_t)nn * sizeof(uint32_t);
	rc = 0;
out:
	if (z->denial != ZDNSSEC_NSEC3) {
		free(z->n3node);
		free(z->n3hash);
		free(z->n3of);
		z->n3node = z->n3of = NULL;
		z->n3hash = NULL;
		z->nn3 = 0;
	}
	free(kids);
	free(order);
	free(hashes);
	return rc;
}

static int build_nsec(struct zone *z)
{
	uint32_t cnt = 0;

	for (uint32_t i = 0; i < z->nnodes; i++)
		if (znode_rrset(&z->nodes[i], PKT_TYPE_NSEC))
			cnt++;
	if (cnt == 0 || !znode_rrset(&z->nodes[0], PKT_TYPE_NSEC))
		return 0;
	z->nsec_order = malloc((size_t)cnt * sizeof(*z->nsec_order));
	if (!z->nsec_order)
		return ANYNS_ENOMEM;
	/* zone_walk() visits the names in canonical order (RFC 4034 6.1). */
	struct walk_ctx w = { z, 0 };
	int rc = zone_walk(z, collect_nsec, &w);
	if (rc < 0) {
		free(z->nsec_order);
		z->nsec_order = NULL;
		return rc;
	}
	z->nnsec = w.n;
	z->denial = ZDNSSEC_NSEC;
	z->stats.bytes += (size_t)cnt * sizeof(*z->nsec_order);
	return 0;
}

int zdb__dnssec_build(struct zone *z)
{
	bool first = true;

	/* Earliest expiration over every RRSIG (RFC 4034 3.1.5, serial number
	 * arithmetic: a later time may have wrapped around 2^32). */
	for (uint32_t i = 0; i < z->nrrsets; i++) {
		const zrrset_t *s = &z->rrsets[i];
		const uint8_t *d = s->data, *end = s->data + s->len;
		if (s->type != PKT_TYPE_RRSIG)
			continue;
		for (uint16_t k = 0; k < s->count && end - d >= 2; k++) {
			size_t rdlen = pkt_get16(d);
			if ((size_t)(end - d - 2) < rdlen)
				break;
			if (rdlen >= 12) {
				uint32_t exp = pkt_get32(d + 2 + 8);
				if (first || (int32_t)(exp - z->stats.rrsig_expire_min) < 0)
					z->stats.rrsig_expire_min = exp;
				first = false;
			}
			z->stats.rrsigs++;
			d += 2 + rdlen;
		}
	}
	z->stats.dnssec = znode_rrset(&z->nodes[0], PKT_TYPE_DNSKEY) != NULL;
	if (!z->stats.dnssec)
		return 0;
	int rc = 0;
	if (pick_nsec3param(z))
		rc = build_nsec3(z);
	if (rc == 0 && z->denial == ZDNSSEC_NONE)
		rc = build_nsec(z);
	z->stats.denial = z->denial;
	return rc;
}

void zdb__dnssec_free(struct zone *z)
{
	free(z->nsec_order);
	free(z->n3hash);
	free(z->n3node);
	free(z->n3of);
}
