/* anyns-checkzone's DNSSEC checks of a compiled signed zone: every RRSIG
 * verified with ldns against the apex DNSKEY set (signature, inception,
 * expiration), every authoritative RRset signed, the NSEC or NSEC3 chain
 * complete and in order, and signatures that expire soon reported. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "checkzone_dnssec.h"
#include "pkt.h"
#include "sha1.h"
#include "wire_name.h"
#include "zone_db.h"

struct cz {
	const zone_t *z;
	const char *file;
	zone_diag_fn diag;
	void *ctx;
	ldns_rr_list *keys;
	int64_t now;
	uint32_t warn;
	unsigned errors, warnings;
	/* Authoritative names in canonical order (the walk's order), and the
	 * owners of NSEC3 records. */
	const znode_t **names, **n3;
	size_t nnames, cap, nn3, n3cap;
	unsigned signatures;
};

static void report(struct cz *c, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct cz *c, bool fatal, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fatal)
		c->errors++;
	else
		c->warnings++;
	if (c->diag)
		c->diag(c->ctx, c->file, 0, fatal, msg);
}

static const char *type_text(uint16_t t, char *buf, size_t len)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(t);
	if (d && d->_name)
		return d->_name;
	snprintf(buf, len, "TYPE%u", t);
	return buf;
}

static const char *node_text(const znode_t *n, char *buf, size_t len)
{
	size_t l;
	const uint8_t *w = znode_name(n, &l);
	if (anyns_name_to_text(w, l, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

/* The records of a stored set as ldns RRs (owner, class IN, the set's TTL). */
static ldns_rr_list *to_ldns(const znode_t *n, const zrrset_t *rs)
{
	size_t olen;
	const uint8_t *owner = znode_name(n, &olen);
	const uint8_t *p = rs->data, *end = rs->data + rs->len;
	ldns_rr_list *l = ldns_rr_list_new();
	uint8_t buf[255 + 10 + 65535];

	for (uint16_t i = 0; l && i < rs->count && end - p >= 2; i++) {
		size_t rdlen = pkt_get16(p);
		if ((size_t)(end - p - 2) < rdlen)
			break;
		memcpy(buf, owner, olen);
		pkt_put16(buf + olen, rs->type);
		pkt_put16(buf + olen + 2, PKT_CLASS_IN);
		pkt_put32(buf + olen + 4, rs->ttl);
		memcpy(buf + olen + 8, p, 2 + rdlen);
		ldns_rr *rr = NULL;
		size_t pos = 0;
		if (ldns_wire2rr(&rr, buf, olen + 10 + rdlen, &pos, LDNS_SECTION_ANSWER) ==
		    LDNS_STATUS_OK)
			ldns_rr_list_push_rr(l, rr);
		p += 2 + rdlen;
	}
	return l;
}

/* "2026-12-03 10:00 UTC" for a 32-bit RRSIG time near now. */
static const char *when(struct cz *c, uint32_t t, char *buf, size_t len)
{
	time_t abs = (time_t)(c->now + (int32_t)(t - (uint32_t)c->now));
	struct tm tm;
	gmtime_r(&abs, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

/* Checks the RRSIGs covering set rs at node n. */
static void check_set(struct cz *c, const znode_t *n, const zrrset_t *rs)
{
	char nb[1024], tb[16], wb[32];
	const zrrset_t *sig = znode_rrsig(n, rs->type);

	if (!sig) {
		report(c, true, "%s %s has no RRSIG", node_text(n, nb, sizeof(nb)),
		       type_text(rs->type, tb, sizeof(tb)));
		return;
	}
	ldns_rr_list *set = to_ldns(n, rs), *sigs = to_ldns(n, sig);
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rr *s = ldns_rr_list_rr(sigs, i);
		uint32_t inc = ldns_rdf2native_time_t(ldns_rr_rrsig_inception(s));
		uint32_t exp = ldns_rdf2native_time_t(ldns_rr_rrsig_expiration(s));
		uint16_t tag = ldns_rdf2native_int16(ldns_rr_rrsig_keytag(s));
		int32_t left = (int32_t)(exp - (uint32_t)c->now);
		c->signatures++;
		/* RFC 4034 3.1.5: serial number arithmetic on both times. */
		if ((int32_t)((uint32_t)c->now - inc) < 0) {
			report(c, true, "RRSIG %s %s (key %u) not valid before %s",
			       node_text(n, nb, sizeof(nb)), type_text(rs->type, tb, sizeof(tb)),
			       tag, when(c, inc, wb, sizeof(wb)));
			continue;
		}
		if (left < 0) {
			report(c, true, "RRSIG %s %s (key %u) expired at %s",
			       node_text(n, nb, sizeof(nb)), type_text(rs->type, tb, sizeof(tb)),
			       tag, when(c, exp, wb, sizeof(wb)));
			continue;
		}
		ldns_rr_list *one = ldns_rr_list_new();
		ldns_rr_list_push_rr(one, s);
		ldns_status st = ldns_verify_notime(set, one, c->keys, NULL);
		ldns_rr_list_free(one);
		if (st != LDNS_STATUS_OK) {
			report(c, true, "RRSIG %s %s (key %u) does not verify: %s",
			       node_text(n, nb, sizeof(nb)), type_text(rs->type, tb, sizeof(tb)),
			       tag, ldns_get_errorstr_by_id(st));
			continue;
		}
		if ((uint32_t)left < c->warn)
			report(c, false, "RRSIG %s %s (key %u) expires in %d h, at %s",
			       node_text(n, nb, sizeof(nb)), type_text(rs->type, tb, sizeof(tb)),
			       tag, left / 3600, when(c, exp, wb, sizeof(wb)));
	}
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
}

static int walk(void *ctx, const uint8_t *name, size_t len, const uint16_t *types, size_t nt)
{
	struct cz *c = ctx;
	const znode_t *n = zone_lookup(c->z, name, len);
	(void)types;
	(void)nt;
	if (!n)
		return 0;
	uint32_t f = znode_flags(n);
	/* Glue and occluded data are not the zone's to sign (RFC 4035 2.2). */
	if (f & (ZN_BELOW_CUT | ZN_BELOW_DNAME))
		return 0;
	for (size_t i = 0; i < znode_rrset_count(n); i++) {
		const zrrset_t *rs = znode_rrset_at(n, i);
		if (rs->type == PKT_TYPE_RRSIG)
			continue;
		/* At a cut only DS and NSEC are signed (RFC 4035 2.2). */
		if ((f & ZN_DELEG) && rs->type != PKT_TYPE_DS && rs->type != PKT_TYPE_NSEC)
			continue;
		check_set(c, n, rs);
	}
	if (znode_rrset(n, PKT_TYPE_NSEC3)) {
		if (c->nn3 == c->n3cap) {
			size_t nc = c->n3cap ? c->n3cap * 2 : 256;
			const znode_t **p = realloc(c->n3, nc * sizeof(*p));
			if (!p)
				return ANYNS_ENOMEM;
			c->n3 = p;
			c->n3cap = nc;
		}
		c->n3[c->nn3++] = n;
	}
	if (f & ZN_NSEC3)
		return 0;
	if (c->nnames == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		const znode_t **p = realloc(c->names, nc * sizeof(*p));
		if (!p)
			return ANYNS_ENOMEM;
		c->names = p;
		c->cap = nc;
	}
	c->names[c->nnames++] = n;
	return 0;
}

/* RFC 4035 2.3: every authoritative name with data has an NSEC whose next
 * name is the next such name in canonical order, the last one the apex. */
static void check_nsec_chain(struct cz *c)
{
	char nb[1024], xb[1024], wb[1024];
	const znode_t **own = malloc((c->nnames ? c->nnames : 1) * sizeof(*own));
	size_t n = 0;

	if (!own)
		return;
	for (size_t i = 0; i < c->nnames; i++) {
		const znode_t *x = c->names[i];
		if (znode_flags(x) & ZN_ENT)
			continue;
		if (!znode_rrset(x, PKT_TYPE_NSEC)) {
			report(c, true, "NSEC chain: %s has no NSEC", node_text(x, nb, sizeof(nb)));
			continue;
		}
		own[n++] = x;
	}
	for (size_t i = 0; i < n; i++) {
		const znode_t *prev = own[i];
		const znode_t *next = own[(i + 1) % n];
		const zrrset_t *rs = znode_rrset(prev, PKT_TYPE_NSEC);
		size_t nl;
		const uint8_t *want = znode_name(next, &nl);
		int l = rs->len > 2 ? wname_check(rs->data + 2, pkt_get16(rs->data)) : -1;
		if (l < 0 || !wname_equal(rs->data + 2, (size_t)l, want, nl)) {
			xb[0] = 0;
			if (l > 0)
				anyns_name_to_text(rs->data + 2, (size_t)l, xb, sizeof(xb));
			report(c, true, "NSEC chain: %s points to %s, the next name is %s",
			       node_text(prev, nb, sizeof(nb)), xb, node_text(next, wb, sizeof(wb)));
		}
	}
	free(own);
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SHA1_LEN);
}

/* RFC 5155 7.1: every authoritative name (empty non-terminals too) has an
 * NSEC3 matching its hash, except, with opt-out, unsigned delegations and
 * empty non-terminals; the next hashes link the owners in order and the
 * last one wraps to the first. */
static void check_nsec3_chain(struct cz *c)
{
	char nb[1024];

	for (size_t i = 0; i < c->nnames; i++) {
		bool exact;
		size_t len;
		const uint8_t *w = znode_name(c->names[i], &len);
		const znode_t *x = zone_nsec3_cover(c->z, w, len, &exact);
		if (!x || exact)
			continue;
		/* The covering NSEC3's flags: bit 0 is opt-out (RFC 5155 3.1.2). */
		const zrrset_t *cov = znode_rrset(x, PKT_TYPE_NSEC3);
		bool optout = cov && cov->len > 3 && (cov->data[3] & 1);
		uint32_t f = znode_flags(c->names[i]);
		bool unsigned_cut = (f & ZN_DELEG) && !znode_rrset(c->names[i], PKT_TYPE_DS);
		if (optout && (unsigned_cut || (f & ZN_ENT)))
			continue;
		report(c, true, "NSEC3 chain: no NSEC3 for %s", node_text(c->names[i], nb, sizeof(nb)));
	}
	/* Links: each owner's next hash is the following owner's hash. */
	size_t n = c->nn3;
	uint8_t (*own)[2 * SHA1_LEN] = malloc((n ? n : 1) * sizeof(*own));
	if (!own)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const zrrset_t *rs = znode_rrset(c->n3[i], PKT_TYPE_NSEC3);
		size_t len;
		const uint8_t *w = znode_name(c->n3[i], &len);
		const uint8_t *rd = rs ? rs->data + 2 : NULL;
		size_t rdlen = rs && rs->len >= 2 ? pkt_get16(rs->data) : 0;
		/* alg, flags, iterations, salt length, salt, hash length, hash */
		if (!rd || rdlen < 6 || rdlen < 6u + rd[4] + SHA1_LEN || rd[5 + rd[4]] != SHA1_LEN ||
		    !zone_nsec3_label_hash(w + 1, w[0], own[k]))
			continue;
		memcpy(own[k] + SHA1_LEN, rd + 6 + rd[4], SHA1_LEN);
		k++;
	}
	qsort(own, k, sizeof(*own), hash_cmp);
	for (size_t i = 0; i < k; i++) {
		const uint8_t *next = own[(i + 1) % k];
		if (memcmp(own[i] + SHA1_LEN, next, SHA1_LEN) != 0)
			report(c, true, "NSEC3 chain: the NSEC3 after hash %02x%02x%02x%02x... "
			       "does not point to the next hash %02x%02x%02x%02x... (broken or "
			       "missing link)", own[i][0], own[i][1], own[i][2], own[i][3],
			       next[0], next[1], next[2], next[3]);
	}
	free(own);
}

int checkzone_dnssec(const zone_t *z, const char *file, int64_t now, uint32_t warn_secs,
                     zone_diag_fn diag, void *ctx, unsigned *errors, unsigned *warnings,
                     unsigned *signatures)
{
	struct cz c = { .z = z, .file = file, .diag = diag, .ctx = ctx, .now = now,
	                .warn = warn_secs };
	const znode_t *apex = zone_apex(z);
	const zrrset_t *dk = znode_rrset(apex, PKT_TYPE_DNSKEY);
	int rc = 0;

	*errors = *warnings = *signatures = 0;
	if (!dk)
		return 0;
	c.keys = to_ldns(apex, dk);
	rc = zone_walk(z, walk, &c);
	if (rc == 0) {
		if (zone_denial(z) == ZDNSSEC_NSEC)
			check_nsec_chain(&c);
		else if (zone_denial(z) == ZDNSSEC_NSEC3)
			check_nsec3_chain(&c);
		else
			report(&c, true, "signed zone without an NSEC chain or a usable NSEC3PARAM");
	}
	ldns_rr_list_deep_free(c.keys);
	free(c.names);
	free(c.n3);
	*errors = c.errors;
	*warnings = c.warnings;
	*signatures = c.signatures;
	return rc;
}
