/* Unit tests of the answer cache (server/lib/acache.c): keys, lookup and
 * store against answers built by the engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_answer_util.h"

static const char *zone_text =
	"$TTL 3600\n"
	"@ IN SOA ns1 hostmaster 1 3600 900 604800 300\n"
	"@ IN NS ns1\n"
	"ns1 IN A 192.0.2.1\n"
	"www IN A 192.0.2.80\n"
	"www IN AAAA 2001:db8::80\n"
	"*.w IN A 192.0.2.9\n"
	"big IN TXT \"" "0123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big IN TXT \"" "1123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big IN TXT \"" "2123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456789\"\n";

static zset_t *g_zs;
static answer_conf_t g_conf;

static int setup(void **st)
{
	zone_t *z = tz_zone("example.com", zone_text);
	g_zs = tz_set(&z, 1);
	answer_conf_init(&g_conf);
	return 0;
}

static int teardown(void **st)
{
	zset_free(g_zs);
	return 0;
}

static void test_key(void **st)
{
	uint8_t q[512], q2[512];
	acache_key_t k, k2;
	struct qopt o = { .id = 7, .rd = true, .edns = true, .payload = 4096, .do_bit = true };
	size_t n = tq_build(q, "WwW.Example.COM", 1, 1, &o);
	size_t n2 = tq_build(q2, "www.example.com", 1, 1, &(struct qopt){ .id = 9, .edns = true, .payload = 512, .do_bit = true });

	assert_int_equal(acache_key_from_query(q, n, &k), 0);
	assert_int_equal(acache_key_from_query(q2, n2, &k2), 0);
	assert_memory_equal(&k.name, &k2.name, sizeof(k.name));
	assert_int_equal(k.name_len, 17);
	assert_memory_equal(k.name, "\3www\7example\3com", 17);
	assert_int_equal(k.qtype, 1);
	assert_int_equal(k.qclass, 1);
	assert_int_equal(k.flags, ACACHE_KEY_EDNS | ACACHE_KEY_DO);

	n = tq_build(q, "a.b", 28, 1, NULL);
	assert_int_equal(acache_key_from_query(q, n, &k), 0);
	assert_int_equal(k.flags, 0);
	assert_int_equal(k.qtype, 28);
	for (size_t i = 5; i < sizeof(k.name); i++)
		assert_int_equal(k.name[i], 0);

	/* Not the simple shape: no key. */
	assert_int_equal(acache_key_from_query(q, n - 1, &k), ANYNS_EINVAL);
	n = tq_build(q, "a.b", 1, 1, &(struct qopt){ .edns = true, .nsid = true });
	assert_int_equal(acache_key_from_query(q, n, &k), ANYNS_EINVAL);
	n = tq_build(q, "a.b", 1, 1, &(struct qopt){ .edns = true, .version = 1 });
	assert_int_equal(acache_key_from_query(q, n, &k), ANYNS_EINVAL);
	n = tq_build(q, "a.b", 1, 1, NULL);
	q[2] |= 1 << 3;
	assert_int_equal(acache_key_from_query(q, n, &k), ANYNS_EINVAL);
	q[2] = PKT_F1_QR;
	assert_int_equal(acache_key_from_query(q, n, &k), ANYNS_EINVAL);
	q[2] = 0;
	pkt_put16(q + 4, 2);
	assert_int_equal(acache_key_from_query(q, n, &k), ANYNS_EINVAL);
}

/* Looks `q` up in c under gen; on a miss builds and offers the answer.
 * Returns the lookup's result; the response (from either) is in out. */
static int ask(acache_t *c, uint64_t gen, const uint8_t *q, size_t n, uint8_t *out,
               size_t *olen)
{
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	answer_info_t info;
	int r = acache_lookup(c, gen, q, n, &k, &h, out, 512, olen, &rc);
	if (r >= 0)
		return 0;       /* a hit, maybe flagged (a wildcard's answer) */
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, 512, olen, &info), 0);
	if (r == ANYNS_ENOENT)
		acache_store(c, gen, &k, h, out, *olen, &info);
	return r;
}

static void test_lookup_store(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512], out[512], want[512];
	size_t n, ol, wl;
	assert_int_equal(acache_new(1024, &c), 0);

	n = tq_build(q, "www.example.com", 1, 1, NULL);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_ENOENT);
	/* Another ID, RD and letter case: a hit, byte for byte the built answer. */
	struct qopt o = { .id = 0xbeef, .rd = false };
	n = tq_build(q, "WWW.example.COM", 1, 1, &o);
	assert_int_equal(ask(c, 1, q, n, out, &ol), 0);
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, want, sizeof(want), &wl, NULL), 0);
	assert_int_equal(ol, wl);
	assert_memory_equal(out, want, wl);
	/* A hit that does not fit the caller's buffer is a miss. */
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, wl - 1, &ol, &rc), ANYNS_ENOENT);

	/* Another generation, type, EDNS or DO flag: a miss. */
	assert_int_equal(ask(c, 2, q, n, out, &ol), ANYNS_ENOENT);
	assert_int_equal(ask(c, 1, q, tq_build(q, "www.example.com", 28, 1, NULL), out, &ol),
	                 ANYNS_ENOENT);
	struct qopt e = { .edns = true, .payload = 1232 };
	n = tq_build(q, "www.example.com", 1, 1, &e);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_ENOENT);
	assert_int_equal(ask(c, 1, q, n, out, &ol), 0);
	e.do_bit = true;
	n = tq_build(q, "www.example.com", 1, 1, &e);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_ENOENT);
	assert_int_equal(ask(c, 1, q, n, out, &ol), 0);
	assert_true(out[ol - 4] & 0x80);    /* DO copied into the OPT */

	/* NXDOMAIN is cached with its rcode, from its second miss on. */
	n = tq_build(q, "nx.example.com", 1, 1, NULL);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_ENOENT);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_ENOENT);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), 0);
	assert_int_equal(rc, PKT_RCODE_NXDOMAIN);

	/* Not the simple shape: no key, nothing stored. */
	struct qopt ns = { .edns = true, .payload = 1232, .nsid = true };
	n = tq_build(q, "www.example.com", 1, 1, &ns);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_EINVAL);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_EINVAL);

	/* A truncated answer (three 211-byte TXT records, no EDNS) is never stored. */
	n = tq_build(q, "big.example.com", 16, 1, NULL);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_ENOENT);
	assert_true(out[2] & PKT_F1_TC);
	assert_int_equal(ask(c, 1, q, n, out, &ol), ANYNS_ENOENT);
	acache_free(c);
	acache_free(NULL);
}

/* An EDNS answer over 512 bytes (three 211-byte TXT records) is kept, served
 * byte for byte to clients that offered room for it, never to one that did
 * not, and not offered to the XDP map. */
static void test_large_template(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512], out[2048], want[2048];
	size_t n, ol, wl;
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	answer_info_t info;
	assert_int_equal(acache_new(1024, &c), 0);

	n = tq_build(q, "big.example.com", 16, 1, &(struct qopt){ .edns = true, .payload = 1232 });
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol, &info), 0);
	assert_true(ol > 600 && ol < 1232);
	assert_false(info.tc);
	assert_true(info.cacheable);
	assert_false(acache_store(c, 1, &k, h, out, ol, &info));   /* not for XDP */

	/* Another ID, case and a payload just large enough: a hit, the built bytes. */
	struct qopt o = { .id = 0x1234, .rd = true, .edns = true, .payload = (uint16_t)ol };
	n = tq_build(q, "BIG.example.com", 16, 1, &o);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), 0);
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, want, sizeof(want), &wl, &info), 0);
	assert_int_equal(ol, wl);
	assert_memory_equal(out, want, wl);

	/* One byte less, or 512, or below 512: a miss; built, it is shorter
	 * (what is optional left out, or truncated) and no template. */
	uint16_t small[3] = { (uint16_t)(wl - 1), 512, 100 };
	for (int i = 0; i < 3; i++) {
		o.payload = small[i];
		n = tq_build(q, "big.example.com", 16, 1, &o);
		assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc),
		                 ANYNS_ENOENT);
		assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol,
		                              &info), 0);
		assert_true(ol < wl);
		assert_false(info.cacheable);
	}
	/* Without EDNS the same question has another key: a miss. */
	n = tq_build(q, "big.example.com", 16, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	/* A caller's buffer smaller than the template: a miss. */
	n = tq_build(q, "big.example.com", 16, 1, &(struct qopt){ .edns = true, .payload = 4096 });
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, 512, &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), 0);
	acache_free(c);

	/* A ring of 64 entries (256 units) takes no template of over 8 units' share. */
	assert_int_equal(acache_new(64, &c), 0);
	n = tq_build(q, "big.example.com", 16, 1, &(struct qopt){ .edns = true, .payload = 1232 });
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol, &info), 0);
	assert_false(acache_store(c, 1, &k, h, out, ol, &info));
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	acache_free(c);
}

/* The hit path fills only part of the key's name tail: a key left full of
 * garbage by the caller must still hash and match, for names of every
 * length modulo 8 (the hash reads words). */
static void test_key_garbage(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512], out[512];
	char name[300];
	size_t n, ol;
	acache_key_t k;
	uint32_t h, h2;
	uint8_t rc;
	answer_info_t info;

	assert_int_equal(acache_new(1024, &c), 0);
	for (unsigned len = 1; len <= 40; len++) {
		memset(name, 'a', len);
		snprintf(name + len, sizeof(name) - len, ".example.com");
		n = tq_build(q, name, 1, 1, NULL);
		memset(&k, 0xAA, sizeof(k));
		assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc),
		                 ANYNS_ENOENT);
		assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, 512, &ol, &info), 0);
		/* The name does not exist: kept on its second offer. */
		assert_false(acache_store(c, 1, &k, h, out, ol, &info));
		assert_true(acache_store(c, 1, &k, h, out, ol, &info));
		memset(&k, 0x55, sizeof(k));
		assert_int_equal(acache_lookup(c, 1, q, n, &k, &h2, out, sizeof(out), &ol, &rc), 0);
		/* The same hash as a fully zero-filled key's. */
		acache_key_t full;
		assert_int_equal(acache_key_from_query(q, n, &full), 0);
		assert_int_equal(acache_hash(&full), h);
	}
	acache_free(c);
}

/* Asks q and checks that a hit is byte for byte what answer_build() gives. */
static int ask_checked(acache_t *c, uint64_t gen, const uint8_t *q, size_t n)
{
	uint8_t out[512], want[512];
	size_t ol, wl;
	int r = ask(c, gen, q, n, out, &ol);
	if (r == 0) {
		assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, want, sizeof(want),
		                              &wl, NULL), 0);
		assert_int_equal(ol, wl);
		assert_memory_equal(out, want, wl);
	}
	return r;
}

static size_t qname(uint8_t *q, const char *fmt, unsigned i, uint16_t type)
{
	char name[64];
	struct qopt o = { .id = (uint16_t)i, .rd = (i & 1) != 0, .edns = (i & 2) != 0,
	                  .payload = 1232, .do_bit = (i & 4) != 0 };
	snprintf(name, sizeof(name), fmt, i);
	return tq_build(q, name, type, 1, &o);
}

/* An answer made from a wildcard is flagged, and answer_wildcard_owner()
 * finds the wildcard again for it (rate limiting counts it by that name). */
static void test_wildcard_flag(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512], out[512];
	size_t n, ol;
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	answer_info_t info;
	assert_int_equal(acache_new(1024, &c), 0);
	n = tq_build(q, "Any.W.example.com", 1, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol, &info), 0);
	uint8_t w[64];
	int wl = anyns_name_from_text("*.w.example.com", w, sizeof(w));
	assert_non_null(info.wildcard);
	assert_int_equal(info.wildcard_len, wl);
	assert_memory_equal(info.wildcard, w, (size_t)wl);
	assert_true(acache_store(c, 1, &k, h, out, ol, &info));
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc),
	                 ACACHE_HIT_WILDCARD);
	const uint8_t *owner = NULL;
	size_t olen = 0;
	assert_int_equal(answer_wildcard_owner(g_zs, k.name, k.name_len, k.qtype, &owner, &olen), 0);
	assert_int_equal(olen, wl);
	assert_memory_equal(owner, w, olen);
	/* A name of its own: no flag, no wildcard. */
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol, &info), 0);
	assert_null(info.wildcard);
	assert_true(acache_store(c, 1, &k, h, out, ol, &info));
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), 0);
	assert_int_equal(answer_wildcard_owner(g_zs, k.name, k.name_len, k.qtype, &owner, &olen),
	                 ANYNS_ENOENT);
	acache_free(c);
}

/* Without EDNS a UDP answer that left optional records out to fit 512 bytes
 * is stored flagged partial: whole enough for UDP, not for TCP. A TCP answer
 * of at most 512 bytes with nothing left out is a template too (the UDP one,
 * byte for byte); a longer one, and any transfer's, is not. */
static void test_partial_tcp(void **st)
{
	char text[2048];
	int tl = snprintf(text, sizeof(text), "$TTL 3600\n@ IN SOA ns1 h 1 3600 900 604800 300\n"
	                  "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n");
	for (int i = 1; i <= 12; i++)
		tl += snprintf(text + tl, sizeof(text) - (size_t)tl,
		               "mx IN MX %d m%02d.mx\nm%02d.mx IN A 192.0.2.%d\n"
		               "m%02d.mx IN AAAA 2001:db8::%d\n", i, i, i, 100 + i, i, i);
	zone_t *z = tz_zone("example.net", text);
	zset_t *zs = tz_set(&z, 1);
	acache_t *c = NULL;
	uint8_t q[512], out[65535], want[512];
	size_t n, ol, wl;
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	answer_info_t info;
	assert_int_equal(acache_new(1024, &c), 0);

	n = tq_build(q, "mx.example.net", 15, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, 512, &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build(zs, &g_conf, q, n, ANSWER_UDP, out, 512, &ol, &info), 0);
	assert_true(info.partial && info.cacheable && !info.tc);
	assert_true(acache_store(c, 1, &k, h, out, ol, &info));
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, 512, &ol, &rc), ACACHE_HIT_PARTIAL);
	assert_int_equal(answer_build(zs, &g_conf, q, n, ANSWER_TCP, out, sizeof(out), &ol, &info), 0);
	assert_true(ol > 512 && !info.partial && !info.cacheable);

	n = tq_build(q, "www.example.net", 1, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, 512, &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build(zs, &g_conf, q, n, ANSWER_TCP, out, sizeof(out), &ol, &info), 0);
	assert_true(info.cacheable && !info.partial);
	assert_true(acache_store(c, 1, &k, h, out, ol, &info));
	assert_int_equal(answer_build(zs, &g_conf, q, n, ANSWER_UDP, want, sizeof(want), &wl, NULL), 0);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, 512, &ol, &rc), 0);
	assert_int_equal(ol, wl);
	assert_memory_equal(out, want, wl);

	n = tq_build(q, "example.net", 252, 1, NULL);
	assert_int_equal(answer_build(zs, &g_conf, q, n, ANSWER_TCP, out, sizeof(out), &ol, &info), 0);
	assert_false(info.cacheable);
	acache_free(c);
	zset_free(zs);
}

/* A ring smaller than what is asked: the oldest records go, every hit stays
 * byte-identical, nothing outgrows the ring. */
static void test_ring(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512];
	size_t n;
	uint8_t hot[512];
	size_t hn = tq_build(hot, "www.example.com", 28, 1, NULL);
	unsigned hits = 0, hot_misses = 0;
	assert_int_equal(acache_new(64, &c), 0);    /* a 4 KiB ring: about 40 answers */
	for (unsigned i = 0; i < 2000; i++) {
		n = qname(q, i % 3 ? "n%u.w.example.com" : "nx%u.example.com", i, 1);
		for (int k = 0; k < 3; k++)
			if (ask_checked(c, 1, q, n) == 0)
				hits++;
		/* An answer in use survives the churn: a hit in the oldest
		 * quarter of the ring moves it to the head. */
		if (i % 5 == 0 && ask_checked(c, 1, hot, hn) != 0)
			hot_misses++;
	}
	assert_int_equal(hot_misses, 1);
	/* Each name: one miss, then hits (the second miss admits it when
	 * the ring is under pressure). */
	assert_true(hits >= 2000);
	/* The latest names are resident, the first ones long gone. */
	n = qname(q, "n%u.w.example.com", 1999, 1);
	assert_int_equal(ask_checked(c, 1, q, n), 0);
	n = qname(q, "n%u.w.example.com", 1, 1);
	assert_int_equal(ask_checked(c, 1, q, n), ANYNS_ENOENT);
	/* A reload: the old generation's records are free to overwrite, so the
	 * new one's answers are admitted on their first miss. */
	n = qname(q, "n%u.w.example.com", 1998, 1);
	assert_int_equal(ask_checked(c, 2, q, n), ANYNS_ENOENT);
	assert_int_equal(ask_checked(c, 2, q, n), 0);
	acache_free(c);
}

/* A random-subdomain flood (every query a new name, NXDOMAIN or a wildcard
 * answer) into a full cache leaves the answers in use resident, even those
 * not asked during the flood; a name asked twice is still admitted. */
static void test_flood(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512];
	size_t n;
	assert_int_equal(acache_new(1024, &c), 0);   /* a 64 KiB ring */
	/* Fill the ring with answers in use. */
	for (unsigned i = 0; i < 3000; i++) {
		n = qname(q, "warm%u.w.example.com", i, 1);
		for (int k = 0; k < 2; k++)
			(void)ask_checked(c, 1, q, n);
	}
	/* The hot set. */
	for (unsigned i = 0; i < 20; i++) {
		n = qname(q, "hot%u.w.example.com", i, i % 2 ? 1 : 28);
		(void)ask_checked(c, 1, q, n);
		(void)ask_checked(c, 1, q, n);
		assert_int_equal(ask_checked(c, 1, q, n), 0);
	}
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	(void)ask_checked(c, 1, q, n);
	(void)ask_checked(c, 1, q, n);
	for (unsigned i = 0; i < 100000; i++) {
		n = qname(q, i & 1 ? "r%u.example.com" : "r%u.w.example.com", i, 1);
		assert_int_equal(ask_checked(c, 1, q, n), ANYNS_ENOENT);
	}
	for (unsigned i = 0; i < 20; i++) {
		n = qname(q, "hot%u.w.example.com", i, i % 2 ? 1 : 28);
		assert_int_equal(ask_checked(c, 1, q, n), 0);
	}
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	assert_int_equal(ask_checked(c, 1, q, n), 0);
	/* Second sighting: admitted. */
	n = tq_build(q, "new.w.example.com", 1, 1, NULL);
	assert_int_equal(ask_checked(c, 1, q, n), ANYNS_ENOENT);
	assert_int_equal(ask_checked(c, 1, q, n), ANYNS_ENOENT);
	assert_int_equal(ask_checked(c, 1, q, n), 0);
	acache_free(c);
}

/* In a cache with room to spare, a name that does not exist is kept only
 * when it misses a second time (and only then offered to the XDP map: the
 * store says so); an answer that exists, NODATA included, on its first. */
static void test_nxdomain_admission(void **st)
{
	acache_t *c = NULL;
	uint8_t q[512], out[512];
	size_t n, ol;
	acache_key_t k;
	uint32_t h;
	uint8_t rc;
	answer_info_t info;
	assert_int_equal(acache_new(65536, &c), 0);
	for (unsigned i = 0; i < 2000; i++) {
		n = qname(q, "nx%u.example.com", i, 1);
		assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc),
		                 ANYNS_ENOENT);
		assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol,
		                              &info), 0);
		assert_int_equal(info.rcode, PKT_RCODE_NXDOMAIN);
		assert_true(info.cacheable);
		assert_false(acache_store(c, 1, &k, h, out, ol, &info));
		assert_int_equal(ask_checked(c, 1, q, n), ANYNS_ENOENT);
	}
	for (unsigned i = 0; i < 2000; i++) {
		n = qname(q, "nx%u.example.com", i, 1);
		assert_int_equal(ask_checked(c, 1, q, n), 0);
	}
	/* The second offer of the same answer is kept and fit for XDP. */
	n = tq_build(q, "nx.example.com", 1, 1, NULL);
	assert_int_equal(acache_lookup(c, 1, q, n, &k, &h, out, sizeof(out), &ol, &rc), ANYNS_ENOENT);
	assert_int_equal(answer_build(g_zs, &g_conf, q, n, ANSWER_UDP, out, sizeof(out), &ol, &info),
	                 0);
	assert_false(acache_store(c, 1, &k, h, out, ol, &info));
	assert_true(acache_store(c, 1, &k, h, out, ol, &info));
	/* NODATA and a positive answer: kept on the first miss. */
	n = tq_build(q, "www.example.com", 16, 1, NULL);
	assert_int_equal(ask_checked(c, 1, q, n), ANYNS_ENOENT);
	assert_int_equal(ask_checked(c, 1, q, n), 0);
	n = tq_build(q, "www.example.com", 1, 1, NULL);
	assert_int_equal(ask_checked(c, 1, q, n), ANYNS_ENOENT);
	assert_int_equal(ask_checked(c, 1, q, n), 0);
	acache_free(c);
}

struct pf_seen {
	unsigned n, www_a, www_aaaa_do, big_txt, longest;
	int stop_at;
};

/* Every pre-filled template is what answer_build() gives for its key's query. */
static int pf_cb(void *ctx, const acache_key_t *k, const uint8_t *resp, size_t len)
{
	struct pf_seen *ps = ctx;
	uint8_t q[512], want[512];
	size_t ql, wl;
	answer_info_t info;
	pkt_qspec_t s = { .name = k->name, .name_len = k->name_len, .qtype = k->qtype,
	                  .qclass = k->qclass, .edns = (k->flags & ACACHE_KEY_EDNS) != 0,
	                  .do_bit = (k->flags & ACACHE_KEY_DO) != 0, .payload = 65535 };
	assert_int_equal(pkt_write_query(&s, q, sizeof(q), &ql), 0);
	assert_int_equal(answer_build(g_zs, &g_conf, q, ql, ANSWER_UDP, want, sizeof(want), &wl,
	                              &info), 0);
	assert_true(info.cacheable);
	assert_int_equal(len, wl);
	assert_memory_equal(resp, want, wl);
	if (k->name_len > ps->longest)
		ps->longest = k->name_len;
	bool www = k->name_len == 17 && memcmp(k->name, "\3www\7example\3com", 17) == 0;
	if (www && k->qtype == 1)
		ps->www_a++;
	if (www && k->qtype == 28 && k->flags == (ACACHE_KEY_EDNS | ACACHE_KEY_DO))
		ps->www_aaaa_do++;
	if (k->qtype == 16)
		ps->big_txt++;
	if (ps->stop_at > 0 && ps->n + 1 == (unsigned)ps->stop_at)
		return ANYNS_ESPACE;
	ps->n++;
	return 0;
}

static void test_prefill(void **st)
{
	struct pf_seen ps = { 0 };
	size_t taken = 0;
	assert_int_equal(acache_prefill(g_zs, &g_conf, 255, 100000, pf_cb, &ps, &taken), 0);
	assert_int_equal(taken, ps.n);
	/* A in three shapes, AAAA with DO once; the 633-byte TXT set never. */
	assert_int_equal(ps.www_a, 3);
	assert_int_equal(ps.www_aaaa_do, 1);
	assert_int_equal(ps.big_txt, 0);
	/* Apex (SOA, NS, A, AAAA), ns1, www, big (A, AAAA: NODATA), *.w (A,
	 * AAAA) and the empty non-terminal w: six names, types x 3 shapes. */
	assert_true(ps.n >= 6 * 2 * 3);
	unsigned all = ps.n;

	/* Bounds: at most max taken; names over max_name skipped; stop. */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(acache_prefill(g_zs, &g_conf, 255, 5, pf_cb, &ps, &taken), 0);
	assert_int_equal(taken, 5);
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(acache_prefill(g_zs, &g_conf, 13, 100000, pf_cb, &ps, &taken), 0);
	assert_true(ps.longest <= 13 && ps.n > 0 && ps.n < all && ps.www_a == 0);
	memset(&ps, 0, sizeof(ps));
	ps.stop_at = 4;
	assert_int_equal(acache_prefill(g_zs, &g_conf, 255, 100000, pf_cb, &ps, &taken), 0);
	assert_int_equal(taken, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_lookup_store),
		cmocka_unit_test(test_large_template),
		cmocka_unit_test(test_key_garbage),
		cmocka_unit_test(test_wildcard_flag),
		cmocka_unit_test(test_partial_tcp),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_nxdomain_admission),
		cmocka_unit_test(test_prefill),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
