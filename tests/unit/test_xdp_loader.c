/* Unit tests of the XDP fast path (server/xdp): the program is loaded (which
 * also proves the verifier accepts it) but attached nowhere, and run on
 * synthetic frames with BPF_PROG_TEST_RUN. Every XDP_TX answer must be the
 * socket path's answer (answer_build()) with the frame turned around and
 * valid checksums; everything else must be XDP_PASS with the frame unchanged.
 * Needs root (CAP_BPF); skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "test_answer_util.h"
#include "anyns_xdp.h"
#include "xdp_internal.h"

static const char *ZONE =
	"$ORIGIN example.com.\n"
	"$TTL 300\n"
	"@ SOA ns1 hostmaster 1 3600 900 604800 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.53\n"
	"ns1 AAAA 2001:db8::53\n"
	"www A 192.0.2.80\n"
	"alias CNAME www\n"
	"*.wild A 192.0.2.9\n";

struct fx {
	zset_t *zs;
	anyns_xdp_t *x;
	answer_conf_t conf;
	int fd;
};

static int setup(void **st)
{
	static struct fx f;
	zone_t *z = NULL;
	anyns_xdp_conf_t xc = { .port = 53 };

	if (geteuid() != 0)
		return 0;
	memset(&f, 0, sizeof(f));
	answer_conf_init(&f.conf);
	if (zone_compile_text("example.com", ZONE, "test", NULL, NULL, &z) != 0)
		return -1;
	if (zset_new(&z, 1, 1, &f.zs) != 0)
		return -1;
	zone_unref(z);
	if (anyns_xdp_open(&xc, &f.x) != 0)
		return -1;
	if (anyns_xdp_set_generation(f.x, 1) != 0)
		return -1;
	f.fd = anyns_xdp__prog_fd(f.x);
	*st = &f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;

	if (f) {
		anyns_xdp_close(f->x);
		zset_free(f->zs);
	}
	return 0;
}

#define NEED_ROOT(st) do { if (*(st) == NULL) skip(); } while (0)

/* ---- frames ---------------------------------------------------------------- */

struct shape {
	int v6;
	int ntags;           /* 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q) */
};

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static const uint8_t MAC_C[6] = { 2, 0, 0, 0, 0, 1 }, MAC_S[6] = { 2, 0, 0, 0, 0, 2 };

/* Ethernet [tags] IP UDP dns; returns the frame length and the DNS offset. */
static size_t frame(uint8_t *f, const struct shape *sh, const uint8_t *dns, size_t dlen,
                    size_t *dnsoff)
{
	size_t o = 12, l3, u;

	memcpy(f, MAC_S, 6);
	memcpy(f + 6, MAC_C, 6);
	if (sh->ntags == 2) {
		pkt_put16(f + o, 0x88a8);
		pkt_put16(f + o + 2, 300);
		o += 4;
	}
	if (sh->ntags >= 1) {
		pkt_put16(f + o, 0x8100);
		pkt_put16(f + o + 2, 301);
		o += 4;
	}
	pkt_put16(f + o, sh->v6 ? 0x86dd : 0x0800);
	l3 = o + 2;
	if (sh->v6) {
		memset(f + l3, 0, 40);
		f[l3] = 0x60;
		pkt_put16(f + l3 + 4, (uint16_t)(8 + dlen));
		f[l3 + 6] = 17;
		f[l3 + 7] = 64;
		inet_pton(AF_INET6, "2001:db8::1", f + l3 + 8);
		inet_pton(AF_INET6, "2001:db8::53", f + l3 + 24);
		u = l3 + 40;
	} else {
		memset(f + l3, 0, 20);
		f[l3] = 0x45;
		pkt_put16(f + l3 + 2, (uint16_t)(28 + dlen));
		f[l3 + 6] = 0x40;
		f[l3 + 8] = 64;
		f[l3 + 9] = 17;
		inet_pton(AF_INET, "192.0.2.1", f + l3 + 12);
		inet_pton(AF_INET, "192.0.2.53", f + l3 + 16);
		pkt_put16(f + l3 + 10, (uint16_t)~fold(sum16(f + l3, 20, 0)));
		u = l3 + 20;
	}
	pkt_put16(f + u, 40000);
	pkt_put16(f + u + 2, 53);
	pkt_put16(f + u + 4, (uint16_t)(8 + dlen));
	pkt_put16(f + u + 6, 0x1111);   /* not checked on input, as on veth */
	memcpy(f + u + 8, dns, dlen);
	*dnsoff = u + 8;
	return u + 8 + dlen;
}

static int run(struct fx *f, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
	            .data_out = out, .data_size_out = 2048, .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(f->fd, &o), 0);
	*outlen = o.data_size_out;
	return (int)o.retval;
}

/* Checks an XDP_TX'd frame against the query frame it answers: headers
 * turned around, lengths and checksums right, DNS bytes exactly what
 * answer_build() gives for that query. */
static void check_answer(struct fx *f, const uint8_t *in, size_t dnsoff, size_t qlen,
                         const uint8_t *out, size_t outlen)
{
	uint8_t want[4096];
	size_t wlen = 0, l3 = 12, u = dnsoff - 8;
	int v6;
	uint32_t s;

	while (pkt_get16(in + l3) == 0x8100 || pkt_get16(in + l3) == 0x88a8)
		l3 += 4;
	l3 += 2;
	v6 = in[l3] >> 4 == 6;

	assert_int_equal(answer_build(f->zs, &f->conf, in + dnsoff, qlen, ANSWER_UDP, want,
	                              sizeof(want), &wlen, NULL), 0);
	assert_int_equal(outlen, dnsoff + wlen);
	assert_memory_equal(out + dnsoff, want, wlen);
	assert_memory_equal(out, in + 6, 6);
	assert_memory_equal(out + 6, in, 6);
	assert_memory_equal(out + 12, in + 12, l3 - 12);          /* tags kept */
	if (v6) {
		assert_memory_equal(out + l3 + 8, in + l3 + 24, 16);
		assert_memory_equal(out + l3 + 24, in + l3 + 8, 16);
		assert_int_equal(pkt_get16(out + l3 + 4), 8 + wlen);
		s = sum16(out + l3 + 8, 32, 0) + (uint32_t)(8 + wlen) + 17;
	} else {
		assert_int_equal(fold(sum16(out + l3, 20, 0)), 0xffff);
		assert_memory_equal(out + l3 + 12, in + l3 + 16, 4);
		assert_memory_equal(out + l3 + 16, in + l3 + 12, 4);
		assert_int_equal(pkt_get16(out + l3 + 2), 28 + wlen);
		s = sum16(out + l3 + 12, 8, 0) + (uint32_t)(8 + wlen) + 17;
	}
	assert_int_equal(pkt_get16(out + u), pkt_get16(in + u + 2));
	assert_int_equal(pkt_get16(out + u + 2), pkt_get16(in + u));
	assert_int_equal(pkt_get16(out + u + 4), 8 + wlen);
	assert_int_equal(fold(sum16(out + u, 8 + wlen, s)), 0xffff);
}

/* Stores the template for the lowercased, ID 0, RD 0 form of a query. */
static void put_for(struct fx *f, const char *name, uint16_t type, const struct qopt *o)
{
	uint8_t q[512], r[4096];
	size_t ql, rl = 0;
	struct qopt t = o ? *o : (struct qopt){ 0 };
	char lower[256];
	acache_key_t key;
	answer_info_t info;

	for (size_t i = 0; i <= strlen(name); i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	t.id = 0;
	t.rd = false;
	ql = tq_build(q, lower, type, 1, &t);
	assert_int_equal(acache_key_from_query(q, ql, &key), 0);
	assert_int_equal(answer_build(f->zs, &f->conf, q, ql, ANSWER_UDP, r, sizeof(r), &rl, &info), 0);
	assert_true(info.cacheable);
	assert_int_equal(anyns_xdp_put(f->x, &key, r, rl), 0);
}

static void test_answers_every_shape(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	struct qopt plain = { .id = 0xbeef, .rd = true };
	struct qopt edo = { .id = 0x4242, .edns = true, .payload = 1232, .do_bit = true };
	struct qopt e512 = { .id = 7, .edns = true, .payload = 100 };

	put_for(f, "www.example.com", 1, NULL);
	put_for(f, "www.example.com", 1, &edo);
	put_for(f, "alias.example.com", 1, &e512);
	for (int v6 = 0; v6 <= 1; v6++) {
		for (int tags = 0; tags <= 2; tags++) {
			struct shape sh = { v6, tags };
			const struct { const char *n; const struct qopt *o; } qs[] = {
				{ "WwW.ExAmPlE.cOm", &plain }, { "www.example.com", &edo },
				{ "ALIAS.example.com", &e512 },
			};
			for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
				uint8_t q[512], in[2048], out[2048];
				size_t ql = tq_build(q, qs[i].n, 1, 1, qs[i].o), off, ol;
				size_t len = frame(in, &sh, q, ql, &off);

				assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
				check_answer(f, in, off, ql, out, ol);
			}
		}
	}
}

/* A signed zone (NSEC; the signatures are not checked here, only carried):
 * DO=1 answers with RRSIGs and denial proofs go through the map and come
 * out byte for byte as answer_build() writes them. */
#define SIG(t) " RRSIG " t " 13 2 300 20300101000000 20200101000000 1 s.test. " \
               "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
static const char *SIGNED =
	"$ORIGIN s.test.\n"
	"$TTL 300\n"
	"@ SOA ns1 hostmaster 1 3600 900 604800 300\n"
	"@ NS ns1\n"
	"@ DNSKEY 257 3 13 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==\n"
	"@ NSEC ns1 NS SOA RRSIG NSEC DNSKEY\n"
	"@" SIG("SOA") "@" SIG("NS") "@" SIG("NSEC") "@" SIG("DNSKEY")
	"ns1 A 192.0.2.53\n"
	"ns1 NSEC www A RRSIG NSEC\n"
	"ns1" SIG("A") "ns1" SIG("NSEC")
	"www A 192.0.2.80\n"
	"www NSEC s.test. A RRSIG NSEC\n"
	"www" SIG("A") "www" SIG("NSEC");

static void test_signed_do(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	zset_t *unsigned_zs = f->zs, *zs = NULL;
	zone_t *z = NULL;
	struct qopt edo = { .id = 0x4243, .edns = true, .payload = 1232, .do_bit = true };
	struct qopt e0 = { .id = 0x4244, .edns = true, .payload = 1232 };
	const char *names[] = { "www.s.test", "nope.s.test", "WWW.s.TEST", "s.test" };
	const uint16_t types[] = { 1, 1, 16, 48 };

	assert_int_equal(zone_compile_text("s.test", SIGNED, "signed", NULL, NULL, &z), 0);
	assert_int_equal(zset_new(&z, 1, 2, &zs), 0);
	zone_unref(z);
	f->zs = zs;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		put_for(f, names[i], types[i], &edo);
		put_for(f, names[i], types[i], &e0);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (int d = 0; d <= 1; d++) {
			struct shape sh = { d, 0 };
			uint8_t q[512], in[2048], out[2048], want[2048];
			size_t ql = tq_build(q, names[i], types[i], 1, d ? &edo : &e0), off, ol, wl;
			size_t len = frame(in, &sh, q, ql, &off);
			assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
			check_answer(f, in, off, ql, out, ol);
			/* The DO=1 answers do carry DNSSEC records. */
			assert_int_equal(answer_build(f->zs, &f->conf, q, ql, ANSWER_UDP, want,
			                              sizeof(want), &wl, NULL), 0);
			ldns_pkt *p = NULL;
			assert_int_equal(ldns_wire2pkt(&p, want, wl), LDNS_STATUS_OK);
			int sigs = tr_count_type(ldns_pkt_answer(p), LDNS_RR_TYPE_RRSIG) +
			           tr_count_type(ldns_pkt_authority(p), LDNS_RR_TYPE_RRSIG);
			if (d)
				assert_true(sigs > 0);
			else
				assert_int_equal(sigs, 0);
			ldns_pkt_free(p);
		}
	}
	f->zs = unsigned_zs;
	zset_free(zs);
}

/* Names of every length class the program writes differently into the
 * frame: shorter than 8 octets (byte by byte), 8 and more with a partial
 * last word (the word that ends with the name), a multiple of 8 (whole
 * words); the letters of each in another case than the template's. */
static void test_short_names(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	zset_t *saved = f->zs, *zs = NULL;
	zone_t *z = NULL;
	struct qopt plain = { .id = 0x1234, .rd = true };
	struct qopt edns = { .id = 0x4321, .edns = true, .payload = 1232 };
	const char *names[] = { "ab", "AB", "xYz.aB", "WWWW.AB", "Mail.Ab", "ABCDEFGHIJKLMNO.Ab" };
	const uint16_t types[] = { 6, 2, 1, 1, 1, 1 };

	assert_int_equal(zone_compile_text("ab", "$ORIGIN ab.\n$TTL 60\n"
	                                   "@ SOA ns1 hostmaster 1 3600 900 604800 60\n@ NS ns1\n"
	                                   "ns1 A 192.0.2.53\nxyz A 192.0.2.1\nwwww A 192.0.2.2\n"
	                                   "mail A 192.0.2.3\nabcdefghijklmno A 192.0.2.4\n",
	                                   "short", NULL, NULL, &z), 0);
	assert_int_equal(zset_new(&z, 1, 3, &zs), 0);
	zone_unref(z);
	f->zs = zs;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		put_for(f, names[i], types[i], &plain);
		put_for(f, names[i], types[i], &edns);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (int k = 0; k < 4; k++) {
			struct shape sh = { k & 1, 0 };
			uint8_t q[512], in[2048], out[2048];
			size_t ql = tq_build(q, names[i], types[i], 1, k & 2 ? &edns : &plain), off, ol;
			size_t len = frame(in, &sh, q, ql, &off);

			assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
			check_answer(f, in, off, ql, out, ol);
		}
	}
	f->zs = saved;
	zset_free(zs);
}

static void test_passes_misses_and_stale(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	struct shape sh = { 0, 0 };
	uint8_t q[512], in[2048], out[2048];
	struct qopt nsid = { .id = 1, .edns = true, .payload = 1232, .nsid = true };
	size_t ql, off, len, ol;

	/* A miss: never stored. */
	ql = tq_build(q, "ns1.example.com", 28, 1, NULL);
	len = frame(in, &sh, q, ql, &off);
	assert_int_equal(run(f, in, len, out, &ol), XDP_PASS);
	assert_int_equal(ol, len);
	assert_memory_equal(out, in, len);
	/* Not of the simple shape: EDNS with an option. */
	put_for(f, "www.example.com", 1, NULL);
	ql = tq_build(q, "www.example.com", 1, 1, &nsid);
	len = frame(in, &sh, q, ql, &off);
	assert_int_equal(run(f, in, len, out, &ol), XDP_PASS);
	/* Never towards a broadcast, multicast or unspecified source. */
	ql = tq_build(q, "www.example.com", 1, 1, NULL);
	{
		static const char *v4src[] = { "255.255.255.255", "224.0.0.1", "0.0.0.0" };
		static const char *v6src[] = { "ff02::1", "::" };
		struct shape s6 = { 1, 0 };

		for (size_t i = 0; i < 3; i++) {
			len = frame(in, &sh, q, ql, &off);
			inet_pton(AF_INET, v4src[i], in + 14 + 12);
			in[14 + 10] = in[14 + 11] = 0;
			pkt_put16(in + 14 + 10, (uint16_t)~fold(sum16(in + 14, 20, 0)));
			assert_int_equal(run(f, in, len, out, &ol), XDP_PASS);
		}
		for (size_t i = 0; i < 2; i++) {
			len = frame(in, &s6, q, ql, &off);
			inet_pton(AF_INET6, v6src[i], in + 14 + 8);
			assert_int_equal(run(f, in, len, out, &ol), XDP_PASS);
		}
	}
	/* Stale: a reload makes every older entry unanswerable. */
	ql = tq_build(q, "www.example.com", 1, 1, NULL);
	len = frame(in, &sh, q, ql, &off);
	assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
	assert_int_equal(anyns_xdp_set_generation(f->x, 2), 0);
	assert_int_equal(run(f, in, len, out, &ol), XDP_PASS);
	assert_memory_equal(out, in, len);
	/* A put for the old generation is ignored; the current one answers. */
	{
		uint8_t r[512];
		size_t rl = 0;
		acache_key_t key;

		assert_int_equal(acache_key_from_query(q, ql, &key), 0);
		assert_int_equal(answer_build(f->zs, &f->conf, q, ql, ANSWER_UDP, r, sizeof(r), &rl, NULL), 0);
		assert_int_equal(anyns_xdp_put_gen(f->x, 1, &key, r, rl), 0);
		assert_int_equal(run(f, in, len, out, &ol), XDP_PASS);
		assert_int_equal(anyns_xdp_put_gen(f->x, 2, &key, r, rl), 0);
		assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
	}
	assert_int_equal(anyns_xdp_set_generation(f->x, 1), 0);
}

/* Truncated frames and every single-byte corruption of a good one: passed
 * unchanged, or answered exactly as the socket path would answer. */
static void test_bad_frames(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	struct qopt edo = { .id = 0x4242, .edns = true, .payload = 1232, .do_bit = true };

	put_for(f, "www.example.com", 1, &edo);
	for (int v6 = 0; v6 <= 1; v6++) {
		struct shape sh = { v6, 1 };
		uint8_t q[512], in[2048], bad[2048], out[2048];
		size_t ql = tq_build(q, "www.example.com", 1, 1, &edo), off, ol;
		size_t len = frame(in, &sh, q, ql, &off);

		assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
		for (size_t n = 14; n < len; n++) {
			assert_int_equal(run(f, in, n, out, &ol), XDP_PASS);
			assert_memory_equal(out, in, n);
		}
		for (size_t i = 0; i < len; i++) {
			for (int flip = 1; flip < 256; flip <<= 1) {
				memcpy(bad, in, len);
				bad[i] ^= (uint8_t)flip;
				int rc = run(f, bad, len, out, &ol);
				if (rc == XDP_PASS) {
					assert_int_equal(ol, len);
					assert_memory_equal(out, bad, len);
					continue;
				}
				assert_int_equal(rc, XDP_TX);
				/* Only bytes outside what makes the key may differ. */
				check_answer(f, bad, off, ql, out, ol);
			}
		}
	}
}

static void test_prefill_and_put_limits(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	struct shape sh = { 1, 0 };
	struct qopt e = { .id = 9, .edns = true, .payload = 4096 };
	uint8_t q[512], in[2048], out[2048], big[600];
	size_t ql, off, len, ol;
	anyns_xdp_stats_t s;
	acache_key_t key;

	assert_int_equal(anyns_xdp_prefill(f->x, f->zs, &f->conf), 0);
	assert_int_equal(anyns_xdp_stats(f->x, &s), 0);
	assert_true(s.map_entries >= 12);
	assert_true(s.answered > 0);
	ql = tq_build(q, "NS1.example.com", 28, 1, &e);
	len = frame(in, &sh, q, ql, &off);
	assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
	check_answer(f, in, off, ql, out, ol);

	/* Over 512 bytes, or truncated under EDNS: refused. */
	assert_int_equal(acache_key_from_query(q, ql, &key), 0);
	memset(big, 0, sizeof(big));
	assert_int_equal(anyns_xdp_put(f->x, &key, big, sizeof(big)), ANYNS_EINVAL);
	big[2] = 0x82;
	assert_int_equal(anyns_xdp_put(f->x, &key, big, 100), ANYNS_EINVAL);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Writes one byte in every cache line of the first n bytes of a buffer
 * larger than the last-level cache: what the frame's work had in cache is
 * gone afterwards, as when other work ran on the core between two frames. */
static void evict(size_t n)
{
	static volatile uint8_t junk[64u << 20];

	for (size_t i = 0; i < n && i < sizeof(junk); i += 64)
		junk[i]++;
}

/* The program's own cost per answered frame as the kernel times it
 * (BPF_PROG_TEST_RUN's duration, one run per call because an answered frame
 * is turned around and would not be a query on a repeat; the median, since
 * other load on the machine only adds): printed for server/xdp/README and
 * bench/xdp/README, never asserted (the machine is shared). Every answer is
 * still checked. Three cache states: back to back (the code and data the
 * frame touches stay in cache), after 2 MiB written on the same CPU (the
 * private L1 and L2 emptied) and after 64 MiB (the shared L3 too), the last
 * two being what a frame meets when the core did other work since the
 * previous one (live traffic at 10k frames/s). */
static void test_cost(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	struct qopt e = { .id = 3, .edns = true, .payload = 1232 };
	const char *names[] = { "www.example.com", "WWW.EXAMPLE.COM" };
	const struct { const char *what; size_t evict; int runs; } modes[] = {
		{ "back to back", 0, 20000 },
		{ "L1+L2 emptied", 2u << 20, 2000 },
		{ "L3 emptied", 64u << 20, 200 },
	};
	enum { RUNS = 20000 };
	cpu_set_t one, old;

	/* One CPU: the eviction must hit the caches the program runs on. */
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	put_for(f, "www.example.com", 1, &e);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
	for (size_t i = 0; i < 2; i++) {
		struct shape sh = { (int)i, 0 };
		uint8_t q[512], in[2048], out[2048];
		size_t ql = tq_build(q, names[i], 1, 1, &e), off;
		size_t len = frame(in, &sh, q, ql, &off);
		static uint32_t d[RUNS];
		int runs = modes[m].runs;

		for (int r = 0; r < runs; r++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
			            .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

			evict(modes[m].evict);
			assert_int_equal(bpf_prog_test_run_opts(f->fd, &o), 0);
			assert_int_equal(o.retval, XDP_TX);
			if (r == 0)
				check_answer(f, in, off, ql, out, o.data_size_out);
			d[r] = o.duration;
		}
		qsort(d, (size_t)runs, sizeof(d[0]), cmp_u32);
		printf("xdp cost: %s hit, %s: median %u ns per answered frame (10%%: %u, 90%%: %u; "
		       "BPF_PROG_TEST_RUN, %d runs)\n", i ? "IPv6" : "IPv4", modes[m].what,
		       d[runs / 2], d[runs / 10], d[runs * 9 / 10], runs);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
}

/* The key holds names of up to AXDP_KEY_NAME (96) octets: 95- and 96-octet
 * names are answered, a 97-octet one is refused by the loader and passed
 * unchanged by the program. */
static void test_name_length_limit(void **st)
{
	NEED_ROOT(st);
	struct fx *f = *st;
	struct shape sh = { 0, 1 };
	char name[128];
	uint8_t q[512], r[4096], in[2048], out[2048];
	size_t ql, rl, off, len, ol;
	acache_key_t key;

	/* "<40 a>.<n b>.wild.example.com" whose wire form is exactly `want`
	 * octets: two length octets, the two labels, 18 for wild.example.com. */
	for (size_t want = 95; want <= 97; want++) {
		size_t second = want - 20 - 40;

		memset(name, 'a', 40);
		name[40] = '.';
		memset(name + 41, 'b', second);
		strcpy(name + 41 + second, ".wild.example.com");
		ql = tq_build(q, name, 1, 1, NULL);
		assert_int_equal(ql, 12 + want + 4);
		assert_int_equal(acache_key_from_query(q, ql, &key), 0);
		rl = 0;
		assert_int_equal(answer_build(f->zs, &f->conf, q, ql, ANSWER_UDP, r, sizeof(r), &rl,
		                              NULL), 0);
		len = frame(in, &sh, q, ql, &off);
		if (want <= 96) {
			assert_int_equal(anyns_xdp_put(f->x, &key, r, rl), 0);
			assert_int_equal(run(f, in, len, out, &ol), XDP_TX);
			check_answer(f, in, off, ql, out, ol);
		} else {
			assert_int_equal(anyns_xdp_put(f->x, &key, r, rl), ANYNS_ESPACE);
			assert_int_equal(run(f, in, len, out, &ol), XDP_PASS);
			assert_int_equal(ol, len);
			assert_memory_equal(out, in, len);
		}
	}
}

static void test_open_errors(void **st)
{
	NEED_ROOT(st);
	const char *bad[] = { "nosuchif0" };
	anyns_xdp_conf_t xc = { .ifaces = bad, .n_ifaces = 1 };
	anyns_xdp_t *x = (anyns_xdp_t *)1;

	assert_int_equal(anyns_xdp_open(&xc, &x), ANYNS_ENOENT);
	assert_null(x);
	assert_int_equal(anyns_xdp_open(NULL, &x), ANYNS_EINVAL);
	anyns_xdp_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers_every_shape),
		cmocka_unit_test(test_signed_do),
		cmocka_unit_test(test_short_names),
		cmocka_unit_test(test_passes_misses_and_stale),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_prefill_and_put_limits),
		cmocka_unit_test(test_name_length_limit),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_open_errors),
	};
	if (geteuid() != 0)
		printf("SKIP: test_xdp_loader needs root to load BPF programs\n");
	return cmocka_run_group_tests(tests, setup, teardown);
}
