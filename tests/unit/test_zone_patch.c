/* zone_patch(): a change applied to a compiled zone must answer exactly as
 * the zone built in full from the records after the change. Each case takes
 * two (or more) versions of a zone as text, computes the change between
 * them with xfr_diff() (what an IXFR carries), patches the compiled first
 * version, builds the next one in full from its records as a transfer
 * does, and compares: the counters, every record (rrlist_from_zone), the
 * canonical walk, and the answer bytes for every name of both versions and
 * names below them, for a list of types, with DO=0 and DO=1. Signed cases
 * sign each version with the same RSA key (deterministic signatures, so
 * only the changed sets get new RRSIGs, as a signer's IXFR has it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

#include "test_answer_util.h"
#include "test_sign_util.h"
#include "rrlist.h"
#include "wire_name.h"
#include "xfr.h"
#include "zone_db.h"
#include "zone_patch.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:ldns_nsec3_hash_name\n";
}

#define ORIGIN "example.com"

static const char *V1 =
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"@ NS ns2\n"
	"@ MX 10 mail\n"
	"ns1 A 192.0.2.1\n"
	"ns2 A 192.0.2.9\n"
	"mail A 192.0.2.2\n"
	"www 300 A 192.0.2.3\n"
	"www 300 A 192.0.2.33\n"
	"www 7200 TXT \"www\"\n"
	"a.b.ent A 192.0.2.4\n"
	"*.wild A 192.0.2.5\n"
	"x.wild TXT \"x\"\n"
	"alias CNAME www\n"
	"sub NS ns.sub\n"
	"ns.sub A 192.0.2.10\n"
	"deep.tree.sub A 192.0.2.12\n"
	"host.zone2 A 192.0.2.13\n"
	"c.host.zone2 A 192.0.2.14\n"
	"dn DNAME example.net.\n";

struct edit {
	const char *name;
	const char *text;       /* a new version, or NULL to derive one */
};

/* Version texts made from V1 with a serial and extra lines, minus lines
 * that contain one of the `drop` strings. */
static char *version(unsigned serial, const char *extra, const char *const *drop)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const char *p = V1;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		bool skip = false;
		for (size_t k = 0; drop && drop[k]; k++)
			if (strncmp(line, drop[k], strlen(drop[k])) == 0)
				skip = true;
		if (strncmp(line, "@ SOA", 5) == 0)
			fprintf(f, "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n", serial);
		else if (!skip)
			fputs(line, f);
		p += l;
	}
	if (extra)
		fputs(extra, f);
	fclose(f);
	return out;
}

/* ---- signing ---------------------------------------------------------------- */

static ldns_key *g_key;
static ldns_key_list *g_keys;      /* owns g_key */

static char *sign(const char *text, enum denial d)
{
	if (d == D_NONE)
		return strdup(text);
	ldns_rdf *origin = ldns_dname_new_frm_str(ORIGIN ".");
	ldns_dnssec_zone *dz = sign_read(text, origin);
	if (!g_key) {
		g_key = ldns_key_new_frm_algorithm(LDNS_SIGN_RSASHA256, 1024);
		assert_non_null(g_key);
		ldns_key_set_pubkey_owner(g_key, ldns_rdf_clone(origin));
		ldns_key_set_flags(g_key, 257);
		ldns_key_set_inception(g_key, (uint32_t)time(NULL) - 3600);
		ldns_key_set_expiration(g_key, (uint32_t)time(NULL) + 30 * 86400);
		g_keys = ldns_key_list_new();
		ldns_key_list_push_key(g_keys, g_key);
	}
	assert_int_equal(ldns_dnssec_zone_add_rr(dz, ldns_key2rr(g_key)), LDNS_STATUS_OK);
	char *out = sign_print(dz, g_keys, d);
	ldns_dnssec_zone_deep_free(dz);
	ldns_rdf_deep_free(origin);
	return out;
}

/* ---- comparing ------------------------------------------------------------------- */

static void zone_list(const char *text, rrlist_t *l)
{
	zone_t *z = tz_zone(ORIGIN, text);
	rrlist_init(l);
	assert_int_equal(rrlist_from_zone(z, l), 0);
	zone_unref(z);
}

/* The zone as a transfer builds it: from its records, in canonical order. */
static zone_t *full(const rrlist_t *l)
{
	zone_t *z = NULL;
	assert_int_equal(zone_compile_rrs(ORIGIN ".", l, "test", NULL, NULL, &z), 0);
	return z;
}

struct names {
	uint8_t (*w)[WNAME_MAXLEN + 8];
	size_t *len;
	size_t n, cap;
};

static int collect(void *ctx, const uint8_t *name, size_t len, const uint16_t *types, size_t nt)
{
	struct names *ns = ctx;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 64;
		ns->w = realloc(ns->w, ns->cap * sizeof(*ns->w));
		ns->len = realloc(ns->len, ns->cap * sizeof(*ns->len));
	}
	memcpy(ns->w[ns->n], name, len);
	ns->len[ns->n++] = len;
	return 0;
}

struct walkrec {
	char *text;
	size_t len;
	FILE *f;
};

static int walk_text(void *ctx, const uint8_t *name, size_t len, const uint16_t *types, size_t nt)
{
	struct walkrec *w = ctx;
	char t[1024];
	anyns_name_to_text(name, len, t, sizeof(t));
	fprintf(w->f, "%s", t);
	for (size_t i = 0; i < nt; i++)
		fprintf(w->f, " %u", types[i]);
	fputc('\n', w->f);
	return 0;
}

static char *walk_of(const zone_t *z)
{
	struct walkrec w = { 0 };
	w.f = open_memstream(&w.text, &w.len);
	assert_int_equal(zone_walk(z, walk_text, &w), 0);
	fclose(w.f);
	return w.text;
}

static const uint16_t QTYPES[] = {
	PKT_TYPE_A, PKT_TYPE_NS, PKT_TYPE_SOA, PKT_TYPE_CNAME, PKT_TYPE_MX, PKT_TYPE_TXT,
	PKT_TYPE_AAAA, PKT_TYPE_DS, PKT_TYPE_DNAME, PKT_TYPE_NSEC, PKT_TYPE_NSEC3,
	PKT_TYPE_RRSIG, PKT_TYPE_DNSKEY, 255, 999,
};

static unsigned g_queries;

static void same_answer(const zset_t *a, const zset_t *b, const uint8_t *name, size_t len,
                        uint16_t type, bool do_bit)
{
	static answer_conf_t conf;
	static bool init;
	if (!init) {
		answer_conf_init(&conf);
		init = true;
	}
	pkt_qspec_t s = {
		.name = name, .name_len = len, .qtype = type, .qclass = PKT_CLASS_IN,
		.id = 7, .edns = true, .do_bit = do_bit, .payload = 4096,
	};
	uint8_t q[512], ra[65535], rb[65535];
	size_t ql = 0, la = 0, lb = 0;
	answer_info_t ia, ib;
	if (pkt_write_query(&s, q, sizeof(q), &ql) != 0)
		return;
	int ra_rc = answer_build(a, &conf, q, ql, ANSWER_TCP, ra, sizeof(ra), &la, &ia);
	int rb_rc = answer_build(b, &conf, q, ql, ANSWER_TCP, rb, sizeof(rb), &lb, &ib);
	g_queries++;
	if (ra_rc != rb_rc || la != lb || memcmp(ra, rb, la) != 0) {
		char t[1024];
		anyns_name_to_text(name, len, t, sizeof(t));
		fail_msg("answers differ for %s type %u do=%d (patched %zu bytes, full %zu)", t, type,
		         do_bit, la, lb);
	}
}

/* Everything a resolver could see differs in nothing. */
static void same_zone(const zone_t *patched, const zone_t *fullz, const zone_t *old)
{
	zone_stats_t sp, sf;
	zone_get_stats(patched, &sp);
	zone_get_stats(fullz, &sf);
	assert_int_equal(sp.records, sf.records);
	assert_int_equal(sp.rrsets, sf.rrsets);
	assert_int_equal(sp.names, sf.names);
	assert_int_equal(sp.serial, sf.serial);
	assert_int_equal(sp.dnssec, sf.dnssec);
	assert_int_equal(sp.denial, sf.denial);
	assert_int_equal(sp.rrsigs, sf.rrsigs);
	assert_int_equal(sp.rrsig_expire_min, sf.rrsig_expire_min);

	rrlist_t lp, lf;
	rrlist_init(&lp);
	rrlist_init(&lf);
	assert_int_equal(rrlist_from_zone(patched, &lp), 0);
	assert_int_equal(rrlist_from_zone(fullz, &lf), 0);
	assert_int_equal(lp.n, lf.n);
	for (size_t i = 0; i < lp.n; i++) {
		assert_int_equal(rr_cmp(&lp, &lp.rr[i], &lf, &lf.rr[i]), 0);
		assert_int_equal(lp.rr[i].ttl, lf.rr[i].ttl);
	}
	rrlist_clear(&lp);
	rrlist_clear(&lf);
	char *wp = walk_of(patched), *wf = walk_of(fullz);
	assert_string_equal(wp, wf);
	free(wp);
	free(wf);

	/* Every name of both versions, a name below each (NXDOMAIN, wildcard,
	 * referral, DNAME) and one two labels below. */
	struct names ns = { 0 };
	assert_int_equal(zone_walk(fullz, collect, &ns), 0);
	assert_int_equal(zone_walk(old, collect, &ns), 0);
	size_t n0 = ns.n;
	for (size_t i = 0; i < n0; i++) {
		static const char *pre[] = { "\003zzz", "\001a\001b" };
		for (size_t k = 0; k < 2; k++) {
			size_t pl = strlen(pre[k]);
			if (ns.len[i] + pl > WNAME_MAXLEN)
				continue;
			uint8_t tmp[WNAME_MAXLEN + 8];
			memcpy(tmp, pre[k], pl);
			memcpy(tmp + pl, ns.w[i], ns.len[i]);
			collect(&ns, tmp, ns.len[i] + pl, NULL, 0);
		}
	}
	zone_t *zp = zone_ref((zone_t *)patched), *zf = zone_ref((zone_t *)fullz);
	zset_t *a = tz_set(&zp, 1), *b = tz_set(&zf, 1);
	for (size_t i = 0; i < ns.n; i++)
		for (size_t t = 0; t < sizeof(QTYPES) / sizeof(QTYPES[0]); t++)
			for (int d = 0; d < 2; d++)
				same_answer(a, b, ns.w[i], ns.len[i], QTYPES[t], d);
	zset_free(a);
	zset_free(b);
	free(ns.w);
	free(ns.len);
}

static void to_zb(const rrlist_t *l, zb_rr_t **out)
{
	*out = calloc(l->n ? l->n : 1, sizeof(**out));
	for (size_t i = 0; i < l->n; i++) {
		const rr_t *r = &l->rr[i];
		(*out)[i] = (zb_rr_t){ rr_owner(l, r), r->owner_len, r->type, r->rclass, r->ttl,
		                       rr_rdata(l, r), r->rdlen };
	}
}

static int patch(const zone_t *cur, const xfr_change_t *ch, zone_t **out)
{
	zb_rr_t *del, *add;
	to_zb(&ch->del, &del);
	to_zb(&ch->add, &add);
	int rc = zone_patch(cur, del, ch->del.n, add, ch->add.n, NULL, NULL, NULL, "test", out);
	free(del);
	free(add);
	return rc;
}

/* Versions texts[0..n) in turn: each change patched onto the last patched
 * version and compared with the full build of the same records. */
static void chain(const char *const *texts, size_t n, enum denial d)
{
	rrlist_t prev;
	char *t0 = sign(texts[0], d);
	zone_list(t0, &prev);
	free(t0);
	zone_t *cur = full(&prev);
	for (size_t i = 1; i < n; i++) {
		rrlist_t next;
		char *ti = sign(texts[i], d);
		zone_list(ti, &next);
		free(ti);
		xfr_change_t ch;
		xfr_change_init(&ch);
		assert_int_equal(xfr_diff(&prev, &next, &ch), 0);
		zone_t *p = NULL, *f = full(&next);
		int rc = patch(cur, &ch, &p);
		if (rc != 0)
			fail_msg("patch %zu: %s", i, anyns_strerror(rc));
		assert_true(zone_patch_names(p) > 0);
		same_zone(p, f, cur);
		xfr_change_clear(&ch);
		zone_unref(cur);
		zone_unref(f);
		cur = p;
		rrlist_clear(&prev);
		prev = next;
	}
	zone_unref(cur);
	rrlist_clear(&prev);
}

static const char *const NONE_DROPPED[] = { NULL };

/* The changes every case runs through, in order. */
static void edits(enum denial d)
{
	static const char *const drop_host[] = { "host.zone2", NULL };
	static const char *const drop_sub[] = { "sub NS", NULL };
	static const char *const drop_wild[] = { "*.wild", NULL };
	char *v[] = {
		version(1, NULL, NONE_DROPPED),
		/* an RR added to a set, a new name three labels deep (two ENTs),
		 * a name below the DNAME (occluded) */
		version(2, "www 300 A 192.0.2.34\nq.r.s.new A 192.0.2.50\ny.dn A 192.0.2.80\n"
		           "h1 A 192.0.2.81\nh2 A 192.0.2.82\nh3 A 192.0.2.83\nh4 A 192.0.2.84\n"
		           "h5 A 192.0.2.85\nh6 A 192.0.2.86\nh7 A 192.0.2.87\nh8 A 192.0.2.88\n",
		        NONE_DROPPED),
		/* an RR removed, a set replaced (TTL change), a leaf and its
		 * ENTs gone */
		version(3, "www 600 TXT \"www2\"\n", (const char *const[]){
			"www 300 A 192.0.2.33", "www 7200 TXT", "a.b.ent", NULL }),
		/* a name with a child loses its data and stays as an ENT */
		version(4, NULL, drop_host),
		/* a delegation appears over existing names (they become
		 * occluded glue), with DS */
		version(5, "zone2 NS ns.zone2\nns.zone2 A 192.0.2.60\n"
		           "zone2 DS 1 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
		        drop_host),
		/* a delegation goes: the names below are names of the zone again */
		version(6, NULL, drop_sub),
		/* the wildcard goes, another one comes at the apex */
		version(7, "* TXT \"any\"\n", drop_wild),
		/* a CNAME becomes data, the DNAME goes */
		version(8, "alias A 192.0.2.70\n", (const char *const[]){ "alias CNAME", "dn DNAME",
		                                                          NULL }),
		/* back to the start */
		version(9, NULL, NONE_DROPPED),
	};
	chain((const char *const *)v, sizeof(v) / sizeof(v[0]), d);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		free(v[i]);
}

static void test_unsigned(void **st)
{
	edits(D_NONE);
}

static void test_nsec(void **st)
{
	edits(D_NSEC);
}

static void test_nsec3(void **st)
{
	edits(D_NSEC3);
}

static void test_nsec3_optout(void **st)
{
	edits(D_OPTOUT);
}

/* Every change between two unrelated versions (most names touched). */
static void test_big_change(void **st)
{
	char *a = version(1, NULL, NONE_DROPPED);
	char *b = version(2, "n1 A 192.0.2.1\nn2.n1 A 192.0.2.2\n*.n3 MX 0 .\n",
	                  (const char *const[]){ "www", "ns2", "mail", "x.wild", "sub", "ns.sub",
	                                         "deep", "dn", NULL });
	const char *v[] = { a, b, a };
	chain(v, 3, D_NONE);
	chain(v, 3, D_NSEC3);
	free(a);
	free(b);
}

/* ---- an NSEC3 chain that does not match every name ----------------------------- */

/* The NSEC3 owner label of a name (lowercase base32hex, RFC 5155 3.3). */
static void hash_label(const char *name, char *out, size_t cap)
{
	uint8_t salt[2] = { 0xab, 0xcd };
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	ldns_rdf *h = ldns_nsec3_hash_name(n, LDNS_SHA1, 3, sizeof(salt), salt);
	char *t = ldns_rdf2str(h);
	size_t k = 0;
	for (; t[k] && t[k] != '.' && k + 1 < cap; k++)
		out[k] = (char)tolower((unsigned char)t[k]);
	out[k] = 0;
	free(t);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(n);
}

/* The text without the lines of the owner label.ORIGIN. */
static char *drop_owner(const char *text, const char *label)
{
	char *out = NULL, own[128];
	size_t len = 0;
	snprintf(own, sizeof(own), "%s.%s.", label, ORIGIN);
	FILE *f = open_memstream(&out, &len);
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
		if (strncasecmp(p, own, strlen(own)) != 0)
			fwrite(p, 1, l, f);
		p += l;
	}
	fclose(f);
	return out;
}

/* The largest NSEC3 owner label of the signed text below `below`, or "". */
static void chain_below(const char *text, const char *below, char *out, size_t cap)
{
	out[0] = 0;
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
		char lab[64];
		if (strstr(p, "\tNSEC3\t") && strstr(p, "\tNSEC3\t") < p + l &&
		    sscanf(p, "%63[^.]", lab) == 1) {
			for (char *c = lab; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			if (strcmp(lab, below) < 0 && strcmp(lab, out) > 0)
				snprintf(out, cap, "%s", lab);
		}
		p += l;
	}
}

/* A name of the zone whose own NSEC3 is missing (a signer's opt-out, or a
 * chain in the middle of a change) is denied with the NSEC3 covering its
 * hash, and a new chain entry between that one and its hash moves the
 * cover: a patched version must see it although the name did not change. */
static void test_nsec3_moved_cover(void **st)
{
	static const char *victims[] = { "www", "mail", "ns1", "ns2", "alias", "x.wild" };
	char *a = version(1, NULL, NONE_DROPPED), *sa = sign(a, D_NSEC3);
	char hv[64], cover[64], name[128], ht[64];
	size_t v = 0;
	for (; v < sizeof(victims) / sizeof(victims[0]); v++) {
		snprintf(name, sizeof(name), "%s.%s.", victims[v], ORIGIN);
		hash_label(name, hv, sizeof(hv));
		chain_below(sa, hv, cover, sizeof(cover));
		if (cover[0])
			break;      /* not the first of the chain: no wrap-around */
	}
	assert_true(v < sizeof(victims) / sizeof(victims[0]));
	unsigned t = 0;
	for (;; t++) {
		assert_true(t < 100000);
		snprintf(name, sizeof(name), "t%u.%s.", t, ORIGIN);
		hash_label(name, ht, sizeof(ht));
		if (strcmp(ht, cover) > 0 && strcmp(ht, hv) < 0)
			break;
	}
	char extra[64];
	snprintf(extra, sizeof(extra), "t%u A 192.0.2.99\n", t);
	char *b = version(2, extra, NONE_DROPPED), *sb = sign(b, D_NSEC3);
	char *v1 = drop_owner(sa, hv), *v2 = drop_owner(sb, hv);
	const char *texts[] = { v1, v2, v1 };
	chain(texts, 3, D_NONE);   /* signed already */
	free(v1);
	free(v2);
	free(sa);
	free(sb);
	free(a);
	free(b);
}

/* ---- what is refused ----------------------------------------------------------- */

static int try_change(const char *from, const char *to, zone_t **out)
{
	rrlist_t a, b;
	zone_list(from, &a);
	zone_list(to, &b);
	xfr_change_t ch;
	xfr_change_init(&ch);
	assert_int_equal(xfr_diff(&a, &b, &ch), 0);
	zone_t *z = full(&a);
	int rc = patch(z, &ch, out);
	zone_unref(z);
	xfr_change_clear(&ch);
	rrlist_clear(&a);
	rrlist_clear(&b);
	return rc;
}

static void test_refused(void **st)
{
	zone_t *z = NULL;
	char *a = version(1, NULL, NONE_DROPPED);
	/* CNAME and other data: the checks of a full build. The target text
	 * cannot be compiled, so the change is made by hand. */
	rrlist_t l;
	zone_list(a, &l);
	zone_t *base = full(&l);
	uint8_t owner[64], rd[64];
	size_t ol = tq_name(owner, "www.example.com");
	size_t rl = tq_name(rd, "elsewhere.example.com");
	zb_rr_t cname = { owner, ol, PKT_TYPE_CNAME, PKT_CLASS_IN, 300, rd, rl };
	assert_int_equal(zone_patch(base, NULL, 0, &cname, 1, NULL, NULL, NULL, "t", &z),
	                 ANYNS_EZONE);
	assert_null(z);
	/* A deleted record that is not there. */
	uint8_t a4[4] = { 198, 51, 100, 1 };
	zb_rr_t missing = { owner, ol, PKT_TYPE_A, PKT_CLASS_IN, 300, a4, 4 };
	assert_int_equal(zone_patch(base, &missing, 1, NULL, 0, NULL, NULL, NULL, "t", &z),
	                 ANYNS_EINVAL);
	/* Out of zone. */
	uint8_t other[64];
	size_t xl = tq_name(other, "www.example.org");
	zb_rr_t out = { other, xl, PKT_TYPE_A, PKT_CLASS_IN, 300, a4, 4 };
	assert_int_equal(zone_patch(base, NULL, 0, &out, 1, NULL, NULL, NULL, "t", &z),
	                 ANYNS_EINVAL);
	/* The apex loses its SOA (and gets none). */
	const rr_t *soa = NULL;
	for (size_t i = 0; i < l.n; i++)
		if (l.rr[i].type == PKT_TYPE_SOA)
			soa = &l.rr[i];
	zb_rr_t dsoa = { rr_owner(&l, soa), soa->owner_len, PKT_TYPE_SOA, PKT_CLASS_IN, soa->ttl,
	                 rr_rdata(&l, soa), soa->rdlen };
	assert_int_equal(zone_patch(base, &dsoa, 1, NULL, 0, NULL, NULL, NULL, "t", &z),
	                 ANYNS_EZONE);
	zone_unref(base);
	rrlist_clear(&l);

	/* Signing changes need a full build: a zone becomes signed, an NSEC
	 * zone becomes NSEC3. */
	char *s = sign(a, D_NSEC);
	assert_int_equal(try_change(a, s, &z), ANYNS_EFULL);
	char *s3 = sign(a, D_NSEC3);
	assert_int_equal(try_change(s, s3, &z), ANYNS_EFULL);
	free(s3);
	free(s);

	/* More names than a version may keep apart: a full build. */
	zone_t *small = tz_zone(ORIGIN, a);
	uint32_t lim = zone_patch_limit(small);
	char *extra = NULL;
	size_t el = 0;
	FILE *f = open_memstream(&extra, &el);
	for (uint32_t i = 0; i <= lim; i++)
		fprintf(f, "bulk%u A 192.0.2.1\n", i);
	fclose(f);
	char *big = version(2, extra, NONE_DROPPED);
	assert_int_equal(try_change(a, big, &z), ANYNS_EFULL);
	assert_null(z);
	free(big);
	free(extra);
	zone_unref(small);
	free(a);
}

/* A patched version holds its base; the previous version may go at once. */
static void test_lifetime(void **st)
{
	char *a = version(1, NULL, NONE_DROPPED), *b = version(2, "new A 192.0.2.1\n", NONE_DROPPED);
	rrlist_t la, lb;
	zone_list(a, &la);
	zone_list(b, &lb);
	xfr_change_t ch;
	xfr_change_init(&ch);
	assert_int_equal(xfr_diff(&la, &lb, &ch), 0);
	zone_t *z = full(&la), *p = NULL;
	assert_int_equal(patch(z, &ch, &p), 0);
	zone_unref(z);          /* the base lives on through p */
	zone_t *f = full(&lb);
	zone_t *old = full(&la);
	same_zone(p, f, old);
	zone_unref(old);
	zone_unref(f);
	zone_unref(p);
	xfr_change_clear(&ch);
	rrlist_clear(&la);
	rrlist_clear(&lb);
	free(a);
	free(b);
}

static int teardown(void **st)
{
	ldns_key_list_free(g_keys);
	g_keys = NULL;
	g_key = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_nsec),
		cmocka_unit_test(test_nsec3),
		cmocka_unit_test(test_nsec3_optout),
		cmocka_unit_test(test_big_change),
		cmocka_unit_test(test_nsec3_moved_cover),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lifetime),
	};
	int rc = cmocka_run_group_tests(tests, NULL, teardown);
	fprintf(stderr, "# %u queries compared\n", g_queries);
	return rc;
}
