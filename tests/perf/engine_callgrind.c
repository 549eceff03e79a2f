/* engine-bench: the cost per query of the answer engine's two paths, with no
 * socket in the way, for profiling with callgrind (instructions) or on its own
 * (wall-clock nanoseconds).
 *
 *   build      answer_build() on every query of the mix (a cache miss);
 *   hit        acache_lookup() (key, hash, lookup, patch), the per-worker
 *              cache hit path of anynsd, on the queries of the mix that the
 *              cache stored;
 *   flood      anynsd's UDP miss path (acache_lookup(), answer_negative(),
 *              answer_build() and acache_store() as udp_answer() calls them)
 *              on -n distinct names that do not exist under the first zone
 *              (a random-subdomain flood), after the mix filled the cache;
 *   flood-build  the same names through acache_lookup(), answer_build() and
 *              acache_store() only (the miss path without answer_negative()).
 *
 * Usage:
 *   build/tests/perf/engine-bench [-m build|hit|flood|flood-build] [-n N] [-z ORIGIN=FILE]...
 *                                 [-q QUERYFILE [-o]] [-D DUMPFILE] [-R COUNT]
 *
 *   -z  zones to serve (default example.com=zones/example.com.zone);
 *   -q  dnsperf query file ("name type" per line, e.g. from bench/gen_zone.py);
 *       queries alternate EDNS (payload 1232, DO on every fourth) and no EDNS,
 *       and every third one has its name in mixed case (with -o every query
 *       has EDNS and DO=1, as dnsperf -D sends them: a signed zone's answers
 *       with their RRSIGs and proofs). Without -q, a built-in
 *       mix for example.com: hits, additional-section hits, CNAME chains,
 *       wildcards, a referral, a DNAME, NODATA, NXDOMAIN, mixed case, with and
 *       without EDNS;
 *   -n  queries answered in the measured loop (default 200000);
 *   -D  no benchmark: writes every response of a deterministic random corpus
 *       (-R COUNT queries, default 200000, drawn from the zones' names with
 *       random types, classes, EDNS variants, letter case, TCP, small
 *       buffers and bit flips), plus the key and patch results, to DUMPFILE,
 *       so that two builds of the engine can be compared byte for byte.
 *
 * Instructions per query (the figure tests/perf/README.md reports):
 *   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \
 *       build/tests/perf/engine-bench -m build -n 20000
 *   callgrind_annotate /tmp/cg.out | head -30
 * Only the measured loop is instrumented (CALLGRIND_START/STOP_INSTRUMENTATION),
 * so the total Ir divided by -n is the cost of one query; tests/perf/run.sh
 * does the division for both modes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "anyns.h"
#include "pkt.h"
#include "acache.h"

#define QMAX    512
#define MAXZ    8

struct query {
	uint8_t w[QMAX];
	uint16_t len;
};

static struct query *g_q;
static size_t g_nq, g_capq;

static void die(const char *msg)
{
	fprintf(stderr, "engine-bench: %s\n", msg);
	exit(1);
}

static struct query *q_add(void)
{
	if (g_nq == g_capq) {
		g_capq = g_capq ? g_capq * 2 : 1024;
		g_q = realloc(g_q, g_capq * sizeof(*g_q));
		if (!g_q)
			die("out of memory");
	}
	return &g_q[g_nq++];
}

/* Presentation name to wire, keeping letter case (no escapes needed here). */
static int name_wire(const char *text, uint8_t *w, size_t cap)
{
	size_t o = 0;
	const char *s = text;

	while (*s && !(s[0] == '.' && s[1] == 0)) {
		const char *e = strchr(s, '.');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l == 0 || l > 63 || o + l + 2 > cap)
			return -1;
		w[o++] = (uint8_t)l;
		memcpy(w + o, s, l);
		o += l;
		s += l;
		if (*s == '.')
			s++;
	}
	if (o + 1 > cap || o + 1 > 255)
		return -1;
	w[o++] = 0;
	return (int)o;
}

static const struct { const char *name; uint16_t type; } TYPES[] = {
	{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
	{ "HINFO", 13 }, { "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 }, { "SRV", 33 },
	{ "DNAME", 39 }, { "DS", 43 }, { "DNSKEY", 48 }, { "CAA", 257 },
	{ "ANY", 255 }, { "AXFR", 252 }, { "TYPE65400", 65400 },
};

static int type_num(const char *s)
{
	for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
		if (strcasecmp(s, TYPES[i].name) == 0)
			return TYPES[i].type;
	return -1;
}

enum { QF_EDNS = 1, QF_DO = 2, QF_NORD = 4, QF_CASE = 8 };

/* Writes a query; returns its length or -1. */
static int mkquery(uint8_t *b, size_t cap, uint16_t id, const uint8_t *name, size_t nlen,
                   uint16_t type, uint16_t klass, unsigned f, uint16_t payload)
{
	pkt_qspec_t s = {
		.name = name, .name_len = nlen, .qtype = type, .qclass = klass, .id = id,
		.flags1 = (f & QF_NORD) ? 0 : PKT_F1_RD,
		.edns = (f & QF_EDNS) != 0, .do_bit = (f & QF_DO) != 0, .payload = payload,
	};
	size_t len;

	if (pkt_write_query(&s, b, cap, &len) != 0)
		return -1;
	if (f & QF_CASE) {
		/* Flip the case of every other letter: the engine must echo it. */
		for (size_t i = 0; i < nlen; i++)
			if ((b[12 + i] | 0x20) >= 'a' && (b[12 + i] | 0x20) <= 'z' && (i & 1))
				b[12 + i] ^= 0x20;
	}
	return (int)len;
}

static void add_text_query(const char *name, const char *type, unsigned f)
{
	uint8_t w[256];
	int nl = name_wire(name, w, sizeof(w)), t = type_num(type);
	struct query *q;

	if (nl < 0 || t < 0) {
		fprintf(stderr, "engine-bench: skipped query '%s %s'\n", name, type);
		return;
	}
	q = q_add();
	int l = mkquery(q->w, sizeof(q->w), (uint16_t)(g_nq * 7919), w, (size_t)nl,
	                (uint16_t)t, 1, f, 1232);
	if (l < 0)
		die("query too long");
	q->len = (uint16_t)l;
}

/* The built-in mix for example.com; weights follow bench/gen_zone.py roughly
 * (mostly hits). */
static void builtin_mix(void)
{
	static const struct { const char *n, *t; unsigned f; } M[] = {
		{ "www.example.com", "A", QF_EDNS },
		{ "www.example.com", "A", 0 },
		{ "www.example.com", "AAAA", QF_EDNS | QF_DO },
		{ "mail.example.com", "A", QF_EDNS },
		{ "ns1.example.com", "AAAA", 0 },
		{ "example.com", "MX", QF_EDNS },
		{ "example.com", "NS", 0 },
		{ "example.com", "A", QF_EDNS },
		{ "_sip._tcp.example.com", "SRV", QF_EDNS },
		{ "www.example.com", "TXT", 0 },
		{ "sip.example.com", "A", QF_EDNS },
		{ "alpha.hosts.example.com", "A", QF_EDNS },
		{ "WwW.ExAmPlE.CoM", "A", QF_EDNS },
		{ "MAIL.example.COM", "AAAA", 0 },
		{ "ftp.example.com", "A", QF_EDNS },
		{ "files.example.com", "A", 0 },
		{ "host.wild.example.com", "A", QF_EDNS },
		{ "x.cwild.example.com", "A", QF_EDNS },
		{ "www.sub.example.com", "A", QF_EDNS },
		{ "www.old.example.com", "A", QF_EDNS },
		{ "www.example.com", "MX", QF_EDNS },
		{ "mail.example.com", "TXT", 0 },
		{ "nope.example.com", "A", QF_EDNS },
		{ "x.ent.wild.example.com", "AAAA", 0 },
		{ "odd.example.com", "MX", QF_EDNS },
	};
	for (size_t i = 0; i < sizeof(M) / sizeof(M[0]); i++)
		add_text_query(M[i].n, M[i].t, M[i].f);
}

static bool g_all_do;   /* -o */

static void file_mix(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[600], n[300], t[32];
	size_t i = 0;

	if (!f)
		die("cannot open the query file");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%299s %31s", n, t) != 2 || n[0] == '#')
			continue;
		unsigned fl = (i & 1) ? 0 : QF_EDNS;
		if ((i & 3) == 0 || g_all_do)
			fl |= QF_EDNS | QF_DO;
		if (i % 3 == 2)
			fl |= QF_CASE;
		add_text_query(n, t, fl);
		i++;
	}
	fclose(f);
}

/* ---- zones ---------------------------------------------------------------- */

static zone_t *g_zones[MAXZ];
static size_t g_nz;
static zset_t *g_zs;

static void diag(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	(void)ctx;
	if (fatal)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
}

static void load_zone(const char *spec)
{
	char origin[300];
	const char *eq = strchr(spec, '=');

	if (!eq || (size_t)(eq - spec) >= sizeof(origin) || g_nz >= MAXZ)
		die("-z wants ORIGIN=FILE");
	memcpy(origin, spec, (size_t)(eq - spec));
	origin[eq - spec] = 0;
	if (zone_compile_file(origin, eq + 1, diag, NULL, &g_zones[g_nz]) != 0)
		die("zone did not compile");
	g_nz++;
}

/* ---- modes ------------------------------------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static answer_conf_t g_conf;

static int run_build(size_t n)
{
	static uint8_t out[65535];
	size_t olen, bytes = 0;
	double t0 = now_ns();

	CALLGRIND_START_INSTRUMENTATION;
	for (size_t i = 0; i < n; i++) {
		const struct query *q = &g_q[i % g_nq];
		if (answer_build(g_zs, &g_conf, q->w, q->len, ANSWER_UDP, out, sizeof(out),
		                 &olen, NULL) == 0)
			bytes += olen;
	}
	CALLGRIND_STOP_INSTRUMENTATION;
	double t = now_ns() - t0;
	printf("build: %zu queries (mix of %zu), %.1f ns/query, %.1f bytes/response\n",
	       n, g_nq, t / (double)n, (double)bytes / (double)n);
	return 0;
}

static int run_hit(size_t n)
{
	static uint8_t out[65535];
	size_t olen, nhit = 0, bytes = 0;
	size_t *hits = calloc(g_nq, sizeof(*hits));
	answer_info_t info;
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	acache_t *c = NULL;

	/* anynsd's smallest automatic size, or more for a large mix. */
	/* Signed answers (-o) are 3-5 times larger: anynsd's cache grows
	 * four times with a signed zone. */
	size_t entries = (g_nq * 2 > 65536 ? g_nq * 2 : 65536) * (g_all_do ? 4 : 1);
	if (!hits || acache_new(entries, &c) != 0)
		die("out of memory");
	/* Fill the cache as the daemon does on misses; the measured loop then
	 * runs anynsd's hit path over the queries that were stored. */
	for (size_t i = 0; i < g_nq; i++) {
		const struct query *q = &g_q[i];
		int r = acache_lookup(c, 1, q->w, q->len, &k, &h, out, sizeof(out), &olen, &rc);
		if (r == 0) {
			hits[nhit++] = i;
			continue;
		}
		if (r != ANYNS_ENOENT ||
		    answer_build(g_zs, &g_conf, q->w, q->len, ANSWER_UDP, out, sizeof(out),
		                 &olen, &info) != 0)
			continue;
		/* Its result says "for XDP too" (512 bytes at most): the lookup
		 * says whether it was kept. */
		(void)acache_store(c, 1, &k, h, out, olen, &info);
		if (acache_lookup(c, 1, q->w, q->len, &k, &h, out, sizeof(out), &olen, &rc) != 0)
			continue;
		hits[nhit++] = i;
	}
	if (nhit == 0)
		die("no cacheable query in the mix");

	double t0 = now_ns();
	CALLGRIND_START_INSTRUMENTATION;
	for (size_t i = 0; i < n; i++) {
		const struct query *q = &g_q[hits[i % nhit]];
		if (acache_lookup(c, 1, q->w, q->len, &k, &h, out, sizeof(out), &olen, &rc) == 0)
			bytes += olen;
	}
	CALLGRIND_STOP_INSTRUMENTATION;
	double t = now_ns() - t0;
	printf("hit: %zu queries (%zu cached of %zu), %.1f ns/query, %.1f bytes/response\n",
	       n, nhit, g_nq, t / (double)n, (double)bytes / (double)n);
	free(hits);
	acache_free(c);
	return 0;
}

static uint32_t rnd(uint32_t n);

/* Random-subdomain flood: n names "<12 letters and digits>.<origin>" A,
 * every other one with EDNS, each asked once, through the miss path of
 * udp_answer() (`fast`: with answer_negative() first). The cache is filled
 * with the mix first, so that the flood meets a full working set. */
static int run_flood(size_t n, bool fast)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static uint8_t out[65535];
	static answer_neg_t neg[8];
	size_t olen, bytes = 0, nx = 0, stored = 0, olen0;
	const uint8_t *origin = zone_origin_wire(g_zones[0], &olen0);
	struct query *fq = calloc(n, sizeof(*fq));
	answer_info_t info;
	acache_key_t k;
	uint32_t h;
	uint8_t rc, w[256];
	acache_t *c = NULL;

	if (fq == NULL || acache_new(g_nq * 2 > 65536 ? g_nq * 2 : 65536, &c) != 0)
		die("out of memory");
	for (size_t i = 0; i < g_nq; i++) {
		const struct query *q = &g_q[i];
		if (acache_lookup(c, 1, q->w, q->len, &k, &h, out, sizeof(out), &olen, &rc) ==
		        ANYNS_ENOENT &&
		    answer_build(g_zs, &g_conf, q->w, q->len, ANSWER_UDP, out, sizeof(out), &olen,
		                 &info) == 0)
			(void)acache_store(c, 1, &k, h, out, olen, &info);
	}
	for (size_t i = 0; i < n; i++) {
		w[0] = 12;
		for (int j = 1; j <= 12; j++)
			w[j] = (uint8_t)alnum[rnd(sizeof(alnum) - 1)];
		memcpy(w + 13, origin, olen0);
		int l = mkquery(fq[i].w, sizeof(fq[i].w), (uint16_t)i, w, 13 + olen0, PKT_TYPE_A, 1,
		                i & 1 ? QF_EDNS : 0, 1232);
		if (l < 0)
			die("query too long");
		fq[i].len = (uint16_t)l;
	}

	double t0 = now_ns();
	CALLGRIND_START_INSTRUMENTATION;
	for (size_t i = 0; i < n; i++) {
		const struct query *q = &fq[i];
		if (acache_lookup(c, 1, q->w, q->len, &k, &h, out, sizeof(out), &olen, &rc) !=
		    ANYNS_ENOENT)
			continue;
		if (fast && answer_negative(g_zs, &g_conf, neg, 8, q->w, q->len, k.name, k.name_len,
		                            k.qtype, k.qclass, (k.flags & ACACHE_KEY_EDNS) != 0,
		                            (k.flags & ACACHE_KEY_DO) != 0, out, sizeof(out), &olen,
		                            &info) == 0) {
			if (acache_store(c, 1, &k, h, out, olen, &info))
				stored++;
		} else if (answer_build(g_zs, &g_conf, q->w, q->len, ANSWER_UDP, out, sizeof(out),
		                        &olen, &info) == 0) {
			if (acache_store(c, 1, &k, h, out, olen, &info))
				stored++;
		} else {
			continue;
		}
		bytes += olen;
		nx += info.rcode == PKT_RCODE_NXDOMAIN;
	}
	CALLGRIND_STOP_INSTRUMENTATION;
	double t = now_ns() - t0;
	printf("%s: %zu names (%zu NXDOMAIN, %zu stored in the cache), %.1f ns/query, "
	       "%.1f bytes/response\n", fast ? "flood" : "flood-build", n, nx, stored,
	       t / (double)n, (double)bytes / (double)n);
	if (nx != n)
		die("not every flood name was answered NXDOMAIN");
	free(fq);
	acache_free(c);
	return 0;
}

/* ---- the byte-for-byte dump --------------------------------------------------- */

struct names {
	uint8_t (*w)[256];
	uint8_t *len;
	size_t n, cap;
};

static int walk_cb(void *ctx, const uint8_t *name, size_t len, const uint16_t *types,
                   size_t ntypes)
{
	struct names *nm = ctx;
	(void)types; (void)ntypes;
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 256;
		nm->w = realloc(nm->w, nm->cap * sizeof(*nm->w));
		nm->len = realloc(nm->len, nm->cap);
		if (!nm->w || !nm->len)
			die("out of memory");
	}
	memcpy(nm->w[nm->n], name, len);
	nm->len[nm->n++] = (uint8_t)len;
	return 0;
}

/* Two generators: the mutations of the key check draw from their own, so the
 * corpus stays the same as in builds without that check. */
static uint64_t g_rs = 0x2545F4914F6CDD1Dull, g_rs2 = 0x9E3779B97F4A7C15ull;
static uint32_t rnd_from(uint64_t *st, uint32_t n)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return (uint32_t)((*st >> 11) % n);
}

static uint32_t rnd(uint32_t n)
{
	return rnd_from(&g_rs, n);
}

static uint32_t rnd2(uint32_t n)
{
	return rnd_from(&g_rs2, n);
}

static void dump_rec(FILE *f, char tag, int ret, const uint8_t *b, size_t len)
{
	uint16_t l = (uint16_t)len;
	fputc(tag, f);
	fwrite(&ret, sizeof(ret), 1, f);
	fwrite(&l, sizeof(l), 1, f);
	if (ret == 0)
		fwrite(b, 1, len, f);
}

/* acache_key_from_query() must accept exactly the queries pkt_parse_query()
 * calls simple, with the same name, type, class and flags. */
static size_t g_key_bad;
static void key_check(const uint8_t *q, size_t len)
{
	pkt_query_t pq;
	acache_key_t k;
	uint8_t *qx = malloc(len > 0 ? len : 1);

	if (!qx)
		die("out of memory");
	memcpy(qx, q, len);
	memset(&k, 0x55, sizeof(k));
	int kr = acache_key_from_query(qx, len, &k);
	bool simple = pkt_parse_query(qx, len, &pq) == 0 && pq.simple;
	bool ok = (kr == 0) == simple;
	if (ok && simple) {
		uint8_t flags = (pq.edns ? ACACHE_KEY_EDNS : 0) | (pq.do_bit ? ACACHE_KEY_DO : 0);
		ok = k.name_len == pq.qname_len && k.qtype == pq.qtype && k.qclass == pq.qclass &&
		     k.flags == flags && memcmp(k.name, pq.qname_lc, pq.qname_len) == 0;
		for (size_t i = pq.qname_len; ok && i < sizeof(k.name); i++)
			ok = k.name[i] == 0;
	} else if (ok) {
		/* A refused query leaves the key as it was. */
		const uint8_t *kb = (const uint8_t *)&k;
		for (size_t i = 0; ok && i < sizeof(k); i++)
			ok = kb[i] == 0x55;
	}
	if (!ok && g_key_bad++ < 5)
		fprintf(stderr, "engine-bench: acache_key_from_query disagrees with pkt_parse_query "
		        "(len %zu, key %d, simple %d)\n", len, kr, simple);
	free(qx);
}

static int run_dump(const char *path, size_t count)
{
	static uint8_t out[65535], pat[65535], q[QMAX + 64];
	static const uint16_t qt[] = { 1, 28, 15, 2, 6, 5, 16, 33, 43, 255, 39, 12, 257,
	                               13, 252, 251, 65400, 48, 0 };
	static const uint16_t payloads[] = { 0, 100, 512, 1232, 4096, 65535, 1400 };
	static const char *labels[] = { "*", "www", "x", "nope", "WwW", "a", "mail", "sub" };
	struct names nm = { 0 };
	answer_conf_t conf_nsid;
	FILE *f = fopen(path, "wb");

	if (!f)
		die("cannot write the dump");
	for (size_t i = 0; i < g_nz; i++)
		zone_walk(g_zones[i], walk_cb, &nm);
	conf_nsid = g_conf;
	conf_nsid.nsid = (const uint8_t *)"anyns-bench";
	conf_nsid.nsid_len = 11;
	conf_nsid.id_server = "bench";
	conf_nsid.version_bind = "anyns";
	for (size_t i = 0; i < count; i++) {
		uint8_t name[300];
		size_t k = rnd((uint32_t)nm.n), nlen = nm.len[k];
		memcpy(name, nm.w[k], nlen);
		/* Below an existing name, or above it, sometimes. */
		uint32_t shape = rnd(8);
		if (shape == 0 || shape == 1) {
			const char *l = labels[rnd(sizeof(labels) / sizeof(labels[0]))];
			size_t ll = strlen(l);
			if (nlen + ll + 1 <= 255) {
				memmove(name + ll + 1, name, nlen);
				name[0] = (uint8_t)ll;
				memcpy(name + 1, l, ll);
				nlen += ll + 1;
			}
		} else if (shape == 2 && name[0]) {
			size_t s = (size_t)name[0] + 1;
			memmove(name, name + s, nlen - s);
			nlen -= s;
		} else if (shape == 3 && nlen + 70 <= 255) {
			/* A long random label: long names, YXDOMAIN after DNAMEs. */
			size_t ll = 20 + rnd(44);
			memmove(name + ll + 1, name, nlen);
			name[0] = (uint8_t)ll;
			for (size_t j = 0; j < ll; j++)
				name[1 + j] = (uint8_t)('a' + rnd(26));
			nlen += ll + 1;
		}
		uint16_t type = qt[rnd(sizeof(qt) / sizeof(qt[0]))];
		uint16_t klass = rnd(20) == 0 ? (uint16_t)(rnd(2) ? 3 : 255) : 1;
		if (klass == 3 && rnd(2)) {
			static const uint8_t ids[] = "\2id\6server";
			memcpy(name, ids, sizeof(ids));
			nlen = sizeof(ids);
		}
		unsigned fl = rnd(3) ? QF_EDNS : 0;
		if (rnd(3) == 0)
			fl |= QF_DO;
		if (rnd(3) == 0)
			fl |= QF_CASE;
		if (rnd(4) == 0)
			fl |= QF_NORD;
		uint16_t payload = payloads[rnd(sizeof(payloads) / sizeof(payloads[0]))];
		int ql = mkquery(q, sizeof(q), (uint16_t)rnd(65536), name, nlen, type, klass,
		                 fl, payload);
		if (ql < 0)
			continue;
		uint32_t var = rnd(16);
		if (var == 0 && (fl & QF_EDNS)) {
			q[ql - 4] = 1;      /* EDNS version 1: BADVERS */
		} else if (var == 1 && (fl & QF_EDNS)) {
			/* An NSID option. */
			q[ql - 2] = 0;
			q[ql - 1] = 4;
			q[ql++] = 0; q[ql++] = 3; q[ql++] = 0; q[ql++] = 0;
		} else if (var == 2) {
			/* Bit flips anywhere: parser error paths. */
			for (int b = 0; b < 1 + (int)rnd(3); b++)
				q[rnd((uint32_t)ql)] ^= (uint8_t)(1u << rnd(8));
		} else if (var == 3) {
			ql = (int)rnd((uint32_t)ql + 1);   /* cut short */
		} else if (var == 4) {
			q[ql++] = 0xde; q[ql++] = 0xad;    /* trailing bytes */
		}
		/* An exact-size heap copy: a sanitizer build sees any read past it. */
		uint8_t *qx = malloc(ql > 0 ? (size_t)ql : 1);
		if (!qx)
			die("out of memory");
		memcpy(qx, q, (size_t)ql);
		const answer_conf_t *c = rnd(2) ? &conf_nsid : &g_conf;
		enum answer_transport tp = rnd(5) == 0 ? ANSWER_TCP : ANSWER_UDP;
		size_t cap = rnd(10) == 0 ? 12 + rnd(200) : sizeof(out);
		size_t olen = 0;
		answer_info_t info;
		memset(&info, 0, sizeof(info));
		memset(out, 0xAA, 1024);
		int ret = answer_build(g_zs, c, qx, (size_t)ql, tp, out, cap, &olen, &info);
		dump_rec(f, 'B', ret, out, olen);
		/* The wildcard owner by its bytes, not its address (which moves
		 * from run to run). */
		const uint8_t *wild = info.wildcard;
		info.wildcard = NULL;
		fwrite(&info, sizeof(info), 1, f);
		if (wild != NULL)
			fwrite(wild, 1, info.wildcard_len, f);
		acache_key_t key;
		memset(&key, 0x55, sizeof(key));
		int kr = acache_key_from_query(qx, (size_t)ql, &key);
		free(qx);
		key_check(q, (size_t)ql);
		for (int m = 0; m < 2 && ql > 0; m++) {
			/* One more byte changed, mostly in the header and the OPT. */
			uint8_t qm[QMAX + 64];
			memcpy(qm, q, (size_t)ql);
			size_t at = rnd2(2) ? rnd2(12) : (size_t)ql - 1 - rnd2(ql < 11 ? (uint32_t)ql : 11);
			if (at >= (size_t)ql)
				at = (size_t)ql - 1;
			qm[at] = rnd2(2) ? (uint8_t)rnd2(256) : (uint8_t)(qm[at] ^ (1u << rnd2(8)));
			key_check(qm, (size_t)ql);
		}
		fputc('K', f);
		fwrite(&kr, sizeof(kr), 1, f);
		if (kr == 0)
			fwrite(&key, sizeof(key), 1, f);
		if (ret == 0 && info.cacheable) {
			/* Patch the template with a case-flipped copy of the query. */
			uint8_t q2[QMAX + 64];
			memcpy(q2, q, (size_t)ql);
			q2[0] ^= 0x5a;
			q2[2] ^= 1;
			for (size_t j = 12; j < 12 + nlen && j < (size_t)ql; j++)
				if ((q2[j] | 0x20) >= 'a' && (q2[j] | 0x20) <= 'z' && rnd(2))
					q2[j] ^= 0x20;
			size_t pl = 0;
			int pr = acache_patch(out, olen, q2, (size_t)ql, pat, sizeof(pat), &pl);
			dump_rec(f, 'P', pr, pat, pl);
		}
	}
	fclose(f);
	free(nm.w);
	free(nm.len);
	printf("dump: %zu queries from %zu names written to %s; key check: %zu disagreements\n",
	       count, nm.n, path, g_key_bad);
	return g_key_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = "build", *qfile = NULL, *dump = NULL;
	size_t n = 200000, count = 200000;
	bool minimal = false;
	int opt;

	while ((opt = getopt(argc, argv, "m:n:z:q:D:R:oM")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'z': load_zone(optarg); break;
		case 'q': qfile = optarg; break;
		case 'D': dump = optarg; break;
		case 'R': count = strtoul(optarg, NULL, 10); break;
		case 'o': g_all_do = true; break;
		case 'M': minimal = true; break;
		default:
			fprintf(stderr, "usage: engine-bench [-m build|hit|flood|flood-build] [-n N] [-z ORIGIN=FILE]... "
			        "[-q QUERYFILE [-o]] [-M] [-D DUMPFILE [-R COUNT]]\n");
			return 2;
		}
	}
	if (g_nz == 0)
		load_zone("example.com=zones/example.com.zone");
	if (zset_new(g_zones, g_nz, 1, &g_zs) != 0)
		die("zset_new failed");
	answer_conf_init(&g_conf);
	g_conf.minimal_responses = minimal;
	int ret;
	if (dump) {
		ret = run_dump(dump, count);
	} else {
		if (qfile)
			file_mix(qfile);
		else
			builtin_mix();
		if (g_nq == 0 || n == 0)
			die("no queries");
		if (strcmp(mode, "build") == 0)
			ret = run_build(n);
		else if (strcmp(mode, "hit") == 0)
			ret = run_hit(n);
		else if (strcmp(mode, "flood") == 0 || strcmp(mode, "flood-build") == 0)
			ret = run_flood(n, strcmp(mode, "flood") == 0);
		else
			die("-m build, hit, flood or flood-build");
	}
	zset_free(g_zs);
	for (size_t i = 0; i < g_nz; i++)
		zone_unref(g_zones[i]);
	free(g_q);
	return ret;
}
