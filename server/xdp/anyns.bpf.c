// SPDX-License-Identifier: GPL-2.0
/* anyns XDP fast path: answers simple UDP DNS queries from a map of response
 * templates filled by anynsd, byte for byte what the socket path would send.
 * Everything else goes on to the stack unchanged (XDP_PASS). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdp_common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* No prealloc: a replaced or deleted entry is freed after an RCU grace
	 * period, so a reader never sees a template being overwritten. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);      /* the loader sets the configured size */
	__type(key, struct axdp_key);
	__type(value, struct axdp_val);
} axdp_answers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axdp_cfg);
} axdp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct axdp_addr);
	__type(value, __u8);
} axdp_addrs SEC(".maps");

/* Response rate limiting buckets; the least recently used go when full. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);     /* the loader sets rrl.table-size */
	__type(key, struct axdp_rrl_key);
	__type(value, struct axdp_rrl_val);
} axdp_rrl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 64);
	__type(key, struct axdp_wl_key);
	__type(value, __u8);
} axdp_rrl_white SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AXDP_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} axdp_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct axdp_scratch);
} axdp_scratch_map SEC(".maps");

#define ETH_P_8021Q_BE  bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)
#define ETH_P_IP_BE     bpf_htons(0x0800)
#define ETH_P_IPV6_BE   bpf_htons(0x86DD)

#define DNS_HDR_LEN     12
#define OPT_RR_LEN      11   /* RFC 6891 6.1.2: root name, type, class, ttl, rdlen */
#define DNS_TYPE_OPT    41
#define REPLY_TTL       64   /* what the stack puts on the socket path's answers */

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* v & (AXDP_QUERY_MAX - 1), kept even where clang can prove it a no-op: the
 * verifier may have lost the bound clang knows (a spilled register). */
static __always_inline __u32 qmask(__u32 v)
{
	asm volatile("" : "+r"(v));
	return v & (AXDP_QUERY_MAX - 1);
}

/* Byte i of the copied query; the mask keeps the verifier's bounds. */
#define QB(sc, i) ((sc)->q[qmask(i)])

static __always_inline int count(enum axdp_counter c, int verdict)
{
	__u32 k = c;
	__u64 *v = bpf_map_lookup_elem(&axdp_counters, &k);

	if (v)
		*v += 1;
	return verdict;
}

static __always_inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Sum of n 32-bit words as they lie in memory, for csum_fold(): the same
 * partial sum bpf_csum_diff() gives, without a helper call for a few words. */
typedef __u32 __attribute__((__may_alias__)) alias_u32;

static __always_inline __u64 sum_words(const void *p, int n)
{
	const alias_u32 *w = p;
	__u64 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		s += w[i];
	return s;
}

static __always_inline int addr_is_ours(const struct axdp_cfg *cfg, const struct axdp_addr *a)
{
	if (cfg->any_addr)
		return 1;
	return bpf_map_lookup_elem(&axdp_addrs, a) != NULL;
}

/* 8 bytes of the copied query from offset off, as they are in memory. The
 * mask keeps the verifier's bounds; a word at the very end of q would read
 * into resp, inside the same scratch value (names end long before that). */
static __always_inline __u64 q_word(const struct axdp_scratch *sc, __u32 off)
{
	return *(const __u64 *)&sc->q[qmask(off)];
}

/* Lowercases the ASCII letters of 8 bytes at once (the usual SWAR range
 * test on 7-bit values): a byte becomes lowercase iff it is in 'A'..'Z'.
 * Label length octets are at most 63, below 'A', so a whole wire name can be
 * lowercased without finding its labels first (RFC 4343 2: case-insensitive
 * ASCII only). */
static __always_inline __u64 lower8(__u64 w)
{
	const __u64 ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	__u64 h = w & ~high;
	__u64 ge_a = h + ones * (0x80 - 'A');    /* bit 7 set iff byte >= 'A' */
	__u64 gt_z = h + ones * (0x7f - 'Z');    /* bit 7 set iff byte > 'Z' */

	return w | (((ge_a ^ gt_z) & ~w & high) >> 2);
}

/* A length written to scratch and read back: see struct axdp_scratch. */
static __always_inline __u32 forget(volatile __u32 *p, __u32 v)
{
	*p = v;
	return *p;
}

/* Low n bytes (0 < n <= 8) of a little-endian word. */
static __always_inline __u64 low_bytes(__u32 n)
{
	return n >= 8 ? ~0ULL : (1ULL << (n * 8)) - 1;
}

/* The frame's start and end read again from the context after a loop that
 * checked packet pointers at each step: a pointer checked up to a different
 * length at each of the loop's exits would keep the exits apart for the
 * verifier, which then goes through the rest of the program once per exit. */
#define PKT_RELOAD(ctx, data, end) do { \
	(data) = (void *)(long)*(volatile __u32 *)&(ctx)->data; \
	(end) = (void *)(long)*(volatile __u32 *)&(ctx)->data_end; \
} while (0)

/* Copies the DNS message, qlen bytes at dnsoff in the frame, to sc->q with
 * direct reads, 8 bytes at a time and the last qlen % 8 one by one: the
 * helper call bpf_xdp_load_bytes() would make costs more than the copy.
 * The frame pointer used here is offset by a value read back from memory,
 * so the checks in the loop bound only that pointer, not the caller's. */
static __always_inline int copy_query(struct xdp_md *ctx, struct axdp_scratch *sc, __u32 dnsoff,
                                      __u32 qlen)
{
	void *data, *end;
	__u8 *src, *p;
	__u32 i, off, tail;

	if (qlen > AXDP_QUERY_MAX)
		return -1;
	off = forget(&sc->tail, dnsoff);
	if (off > AXDP_HDR_MAX)
		return -1;
	PKT_RELOAD(ctx, data, end);
	src = data + off;
	for (i = 0; i < AXDP_QUERY_MAX / 8; i++) {
		const __u64 *w = (const __u64 *)(src + i * 8);

		if (i * 8 + 8 > qlen)
			break;
		if ((void *)(w + 1) > end)
			return -1;
		*(__u64 *)&sc->q[i * 8] = *w;
	}
	off = forget(&sc->tail, dnsoff);
	if (off > AXDP_HDR_MAX)
		return -1;
	PKT_RELOAD(ctx, data, end);
	src = data + off;
	tail = forget(&sc->tail, qlen & ~7U);
	if (tail > AXDP_QUERY_MAX)
		return -1;
	for (i = 0; i < 7; i++) {
		off = tail + i;
		if (off >= qlen)
			break;
		p = src + qmask(off);
		if ((void *)(p + 1) > end)
			return -1;
		sc->q[qmask(off)] = *p;
	}
	return 0;
}

/* Parses the DNS query copied to sc->q (qlen bytes) into sc->key. Mirrors
 * acache_key_from_query(): one question, opcode QUERY, QR=0, no answer or
 * authority records, at most one OPT record (root owner, version 0, no
 * options) and nothing after it. Returns the question name length, -1 for a
 * query we do not parse, -2 for a name longer than the key holds. */
static __always_inline int parse_query(struct axdp_scratch *sc)
{
	__u32 i, nlen = 0, pos, qlen = sc->qlen;
	__u8 c = 0;

	/* RFC 1035 4.1.1: QR=0, opcode QUERY. The other flag bits (AA, TC, Z,
	 * AD, CD) do not change the answer, as in pkt_parse_query(). */
	if ((QB(sc, 2) & 0xf8) != 0)
		return -1;
	if (QB(sc, 4) != 0 || QB(sc, 5) != 1 || QB(sc, 6) != 0 || QB(sc, 7) != 0 ||
	    QB(sc, 8) != 0 || QB(sc, 9) != 0 || QB(sc, 10) != 0 || QB(sc, 11) > 1)
		return -1;

	/* Label by label: at most AXDP_KEY_NAME / 2 labels fit. Bytes past
	 * qlen are stale scratch, but a name reaching them fails the length
	 * check below. */
	for (i = 0; i < AXDP_KEY_NAME / 2; i++) {
		c = QB(sc, DNS_HDR_LEN + nlen);
		if (c == 0)
			break;
		/* RFC 1035 4.1.4: no compression in a question we answer. */
		if (c > 63)
			return -1;
		nlen += c + 1;
		if (nlen >= AXDP_KEY_NAME)
			return -2;
	}
	if (c != 0)
		return -1;
	nlen = forget(&sc->nlen, nlen + 1);             /* + the root label */
	if (nlen > AXDP_KEY_NAME)
		return -1;

	pos = DNS_HDR_LEN + nlen;
	if (pos + 4 > qlen)
		return -1;
	/* The key's name: lowercased, zero past nlen. */
	for (i = 0; i < AXDP_KEY_NAME / 8; i++) {
		__u64 w;

		if (i * 8 >= nlen)
			break;
		w = lower8(q_word(sc, DNS_HDR_LEN + i * 8));
		if (i * 8 + 8 > nlen)
			w &= low_bytes(nlen - i * 8);
		*(__u64 *)&sc->key.name[i * 8] = w;
	}
	nlen = forget(&sc->nlen, nlen);
	if (nlen > AXDP_KEY_NAME)
		return -1;
	sc->key.name_len = nlen;
	sc->key.qtype = ((__u16)QB(sc, pos) << 8) | QB(sc, pos + 1);
	sc->key.qclass = ((__u16)QB(sc, pos + 2) << 8) | QB(sc, pos + 3);
	pos += 4;

	if (QB(sc, 11) == 0)
		return pos == qlen ? (int)nlen : -1;

	/* RFC 6891 6.1.2/6.1.3: OPT at the root, version 0, no options. */
	if (pos + OPT_RR_LEN != qlen)
		return -1;
	if (QB(sc, pos) != 0 || QB(sc, pos + 1) != 0 || QB(sc, pos + 2) != DNS_TYPE_OPT)
		return -1;
	if (QB(sc, pos + 6) != 0)                          /* version 0 */
		return -1;
	if (QB(sc, pos + 9) != 0 || QB(sc, pos + 10) != 0) /* rdlen: no options */
		return -1;
	sc->key.flags = AXDP_KEY_EDNS;
	if (QB(sc, pos + 7) & 0x80)
		sc->key.flags |= AXDP_KEY_DO;
	return (int)nlen;
}

enum { RRL_PASS = 0, RRL_SLIP, RRL_DROP };

/* Response rate limiting of an answer with identity rkey to the client at
 * src (IPv4 mapped), as rrl_check() does on the socket path: `rate`
 * responses a second per bucket, then every slip-th limited one slipped and
 * the rest dropped. */
static __always_inline int rrl_decide(const struct axdp_cfg *cfg, const struct axdp_addr *src,
                                      int is_v6, __u64 rkey)
{
	struct axdp_wl_key wk = { .prefixlen = 128 };
	struct axdp_rrl_key k = { .rkey = rkey };
	struct axdp_rrl_val *v, nv = {};
	__u32 plen = is_v6 ? cfg->rrl_v6_prefix : 96 + (__u32)cfg->rrl_v4_prefix;
	__u64 now = bpf_ktime_get_ns() / 1000000000ULL, c, l;
	int i;

	__builtin_memcpy(wk.a, src->a, 16);
	if (bpf_map_lookup_elem(&axdp_rrl_white, &wk))
		return RRL_PASS;
#pragma unroll
	for (i = 0; i < 16; i++) {
		__u32 bit = (__u32)i * 8;
		__u8 m = plen >= bit + 8 ? 0xff : plen <= bit ? 0 : (__u8)(0xff00 >> (plen - bit));

		k.net[i] = src->a[i] & m;
	}
	v = bpf_map_lookup_elem(&axdp_rrl, &k);
	if (!v) {
		nv.sec = now;
		nv.count = 1;
		bpf_map_update_elem(&axdp_rrl, &k, &nv, BPF_NOEXIST);
		return RRL_PASS;
	}
	/* A new second: the count starts again (a race here only ever lets a
	 * few more through). */
	if (v->sec != now) {
		v->sec = now;
		v->count = 0;
	}
	c = __sync_fetch_and_add(&v->count, 1);
	if (c < cfg->rrl_rate)
		return RRL_PASS;
	if (cfg->rrl_slip == 0)
		return RRL_DROP;
	l = __sync_fetch_and_add(&v->limited, 1) + 1;
	return l % cfg->rrl_slip == 0 ? RRL_SLIP : RRL_DROP;
}

/* Turns the template answer into the response for this query in sc->resp,
 * like acache_patch(): the query's ID, RD and CD bits and question name
 * (original case). Copies the template's words up to rlen only, not all
 * 512 bytes. */
static __always_inline void patch_response(struct axdp_scratch *sc, const struct axdp_val *val,
                                           __u32 rlen, __u32 nlen)
{
	__u64 *dst = (__u64 *)sc->resp;
	const __u64 *src = (const __u64 *)val->resp;
	__u32 i;

	/* The loader zero-fills templates past len, so the padding up to the
	 * next 8 bytes, which the checksum reads, is zero too. */
	for (i = 0; i < AXDP_RESP_MAX / 8; i++) {
		if (i * 8 >= rlen)
			break;
		dst[i] = src[i];
	}
	nlen = forget(&sc->nlen, nlen);
	sc->resp[0] = sc->q[0];
	sc->resp[1] = sc->q[1];
	sc->resp[2] = (sc->resp[2] & 0xfe) | (sc->q[2] & 0x01);
	sc->resp[3] = (sc->resp[3] & 0xef) | (sc->q[3] & 0x10);   /* CD (RFC 4035 3) */
	/* The question name as the query spelled it, 8 bytes at a time; the
	 * last word keeps the template's bytes past the name. */
	for (i = 0; i < AXDP_KEY_NAME / 8 + 1; i++) {
		__u32 off = DNS_HDR_LEN + i * 8;
		__u64 w, m;

		if (i * 8 >= nlen)
			break;
		w = q_word(sc, off);
		m = low_bytes(nlen - i * 8);
		__u64 *r = (__u64 *)&sc->resp[qmask(off)];   /* AXDP_RESP_MAX == AXDP_QUERY_MAX */
		*r = (w & m) | (*r & ~m);
	}
}

/* Makes the frame `delta` bytes longer at the head, or at both ends, when
 * the tail had no room for it (bpf_xdp_adjust_tail() failed): a NIC ring
 * buffer has a page of tailroom, but veth and generic mode hand over a
 * buffer sized to the packet with XDP_PACKET_HEADROOM (256) in front.
 * Returns how many bytes the start moved (move_headers() then puts the
 * headers there), -1 with the frame as it was. */
static __always_inline int grow_head(struct xdp_md *ctx, int delta)
{
	int head;

	if (delta <= 0)
		return -1;
	if (bpf_xdp_adjust_head(ctx, -delta) == 0)
		return delta;
	head = delta > 192 ? 192 : delta;
	if (bpf_xdp_adjust_head(ctx, -head) < 0)
		return -1;
	if (bpf_xdp_adjust_tail(ctx, delta - head) == 0)
		return head;
	bpf_xdp_adjust_head(ctx, head);
	return -1;
}

/* Moves the first len bytes of the frame, left `moved` bytes further in by
 * grow_head(), to its new start, 8 bytes at a time and in place: each word
 * is read before any write reaches it, since the destination lies before
 * the source. The last word may carry a few bytes past len along: they are
 * in the DNS part, which the answer overwrites. */
static __always_inline int move_headers(struct xdp_md *ctx, __u32 moved, __u32 len)
{
	void *data, *end;
	__u32 k;

	PKT_RELOAD(ctx, data, end);

	if (moved >= AXDP_RESP_MAX)
		return -1;
	moved = qmask(moved);                /* the bound where the verifier sees it */
	for (k = 0; k < AXDP_HDR_MAX / 8; k++) {
		__u64 *dst = data + k * 8, *src = data + moved + k * 8;

		if (k * 8 >= len)
			break;
		if ((void *)(src + 1) > end || (void *)(dst + 1) > end)
			return -1;
		*dst = *src;
	}
	return 0;
}

/* Writes the answer for this query into the frame at dnsoff (the frame
 * already dnsoff + rlen long): the template's first rlen bytes, 8 at a time,
 * then the query's ID, RD and CD bits and its question name as it was
 * spelled, like acache_patch() and patch_response() but without a copy in
 * scratch. Adds the words it patched to the checksum sum (the template's
 * are already out of it). */
static __always_inline int write_answer(struct xdp_md *ctx, __u32 dnsoff, struct axdp_scratch *sc,
                                        const struct axdp_val *val, __u32 rlen, __u32 nlen,
                                        __u64 *sum)
{
	void *data, *end;
	__u8 *dns, *p;
	const __u64 *src = (const __u64 *)val->resp;
	__u32 i, off, tail, head;

	PKT_RELOAD(ctx, data, end);
	dns = data + dnsoff;

	if (dnsoff > AXDP_HDR_MAX || rlen > AXDP_RESP_MAX)
		return -1;
	for (i = 0; i < AXDP_RESP_MAX / 8; i++) {
		__u64 *w = (__u64 *)(dns + i * 8);

		if (i * 8 + 8 > rlen)
			break;
		if ((void *)(w + 1) > end)
			return -1;
		*w = src[i];
	}
	/* The last rlen % 8 bytes. */
	PKT_RELOAD(ctx, data, end);
	dns = data + dnsoff;
	tail = forget(&sc->tail, rlen & ~7U);
	if (tail > AXDP_RESP_MAX)
		return -1;
	for (i = 0; i < 7; i++) {
		off = tail + i;
		if (off >= rlen)
			break;
		p = dns + qmask(off);
		if ((void *)(p + 1) > end)
			return -1;
		*p = val->resp[qmask(off)];
	}

	PKT_RELOAD(ctx, data, end);
	dns = data + dnsoff;
	if ((void *)(dns + DNS_HDR_LEN) > end)
		return -1;
	dns[0] = sc->q[0];
	dns[1] = sc->q[1];
	dns[2] = (dns[2] & 0xfe) | (sc->q[2] & 0x01);
	dns[3] = (dns[3] & 0xef) | (sc->q[3] & 0x10);   /* CD (RFC 4035 3) */
	/* The question name as the query spelled it: whole words, then the
	 * word that ends with the name (rewriting a few name bytes again), or
	 * for a name shorter than a word the bytes one by one. */
	nlen = forget(&sc->nlen, nlen);
	if (nlen > AXDP_KEY_NAME || nlen == 0)
		return -1;
	for (i = 0; i < AXDP_KEY_NAME / 8; i++) {
		off = DNS_HDR_LEN + i * 8;
		if (i * 8 + 8 > nlen)
			break;
		p = dns + off;
		if ((void *)(p + 8) > end)
			return -1;
		*(__u64 *)p = q_word(sc, off);
	}
	PKT_RELOAD(ctx, data, end);
	dns = data + dnsoff;
	nlen = forget(&sc->nlen, nlen);
	if (nlen > AXDP_KEY_NAME || nlen == 0)
		return -1;
	if (nlen >= 8) {
		off = DNS_HDR_LEN + nlen - 8;
		p = dns + off;
		if ((void *)(p + 8) > end)
			return -1;
		*(__u64 *)p = q_word(sc, off);
	} else {
		for (i = 0; i < 7; i++) {
			if (i >= nlen)
				break;
			p = dns + DNS_HDR_LEN + i;
			if ((void *)(p + 1) > end)
				return -1;
			*p = sc->q[DNS_HDR_LEN + i];
		}
	}

	/* The header and name words as sent, into the checksum. */
	PKT_RELOAD(ctx, data, end);
	dns = data + dnsoff;
	head = forget(&sc->nlen, DNS_HDR_LEN + nlen);
	if (head > DNS_HDR_LEN + AXDP_KEY_NAME)
		return -1;
	for (i = 0; i < (DNS_HDR_LEN + AXDP_KEY_NAME) / 4 + 1; i++) {
		const alias_u32 *w = (const alias_u32 *)(dns + i * 4);

		if (i * 4 >= head)
			break;
		if ((void *)(w + 1) > end)
			return -1;
		*sum += *w;
	}
	return 0;
}

SEC("xdp")
int anyns_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct axdp_scratch *sc;
	struct axdp_cfg *cfg;
	struct axdp_val *val;
	struct axdp_addr dst = {}, src = {};
	struct udphdr *udp;
	__u32 zero = 0, l3off = sizeof(struct ethhdr), l4off, dnsoff, qlen, rlen, plen4, head = 0;
	__u32 slip_opt;
	__u16 proto;
	int is_v6, nlen, i, slip = 0;
	__u64 sum;

	if ((void *)(eth + 1) > end)
		return count(AXDP_C_PASS_NOT_DNS, XDP_PASS);
	/* Never answer a frame sent to a group address. */
	if (eth->h_dest[0] & 1)
		return count(AXDP_C_PASS_NOT_DNS, XDP_PASS);
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < 2; i++) {
		struct vlan_hdr *vh;

		if (proto != ETH_P_8021Q_BE && proto != ETH_P_8021AD_BE)
			break;
		vh = data + l3off;
		if ((void *)(vh + 1) > end)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		proto = vh->encap_proto;
		l3off += sizeof(*vh);
	}

	cfg = bpf_map_lookup_elem(&axdp_config, &zero);
	sc = bpf_map_lookup_elem(&axdp_scratch_map, &zero);
	if (!cfg || !sc)
		return count(AXDP_C_DROPPED, XDP_PASS);

	if (proto == ETH_P_IP_BE) {
		struct iphdr *ip = data + l3off;
		__u32 tot;

		is_v6 = 0;
		if ((void *)(ip + 1) > end)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		if (ip->protocol != IPPROTO_UDP)
			return count(AXDP_C_PASS_NOT_DNS, XDP_PASS);
		/* No options, no fragments (RFC 791 3.1): the stack handles those. */
		if (ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		if (csum_fold(sum_words(ip, sizeof(*ip) / 4)) != 0xffff)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		tot = bpf_ntohs(ip->tot_len);
		if (tot < sizeof(*ip) + sizeof(*udp) || data + l3off + tot > end)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		dst.a[10] = 0xff;
		dst.a[11] = 0xff;
		__builtin_memcpy(&dst.a[12], &ip->daddr, 4);
		src.a[10] = 0xff;
		src.a[11] = 0xff;
		__builtin_memcpy(&src.a[12], &ip->saddr, 4);
		l4off = l3off + sizeof(*ip);
		udp = data + l4off;
		if ((void *)(udp + 1) > end)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		if (udp->dest != cfg->port || !addr_is_ours(cfg, &dst))
			return count(AXDP_C_PASS_NOT_DNS, XDP_PASS);
		/* Never answer towards 0/8, multicast or broadcast: that would
		 * reflect to many hosts (RFC 1122 3.2.1.3). */
		{
			__u8 a0 = ((__u8 *)&ip->saddr)[0];

			if (a0 == 0 || a0 >= 224)
				return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		}
		if (bpf_ntohs(udp->len) != tot - sizeof(*ip))
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
	} else if (proto == ETH_P_IPV6_BE) {
		struct ipv6hdr *ip6 = data + l3off;
		__u32 plen;

		is_v6 = 1;
		if ((void *)(ip6 + 1) > end)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		/* Extension headers are left to the stack. */
		if (ip6->nexthdr != IPPROTO_UDP)
			return count(AXDP_C_PASS_NOT_DNS, XDP_PASS);
		if (ip6->version != 6)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		plen = bpf_ntohs(ip6->payload_len);
		if (plen < sizeof(*udp) || data + l3off + sizeof(*ip6) + plen > end)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		__builtin_memcpy(dst.a, &ip6->daddr, 16);
		__builtin_memcpy(src.a, &ip6->saddr, 16);
		l4off = l3off + sizeof(*ip6);
		udp = data + l4off;
		if ((void *)(udp + 1) > end)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		if (udp->dest != cfg->port || !addr_is_ours(cfg, &dst))
			return count(AXDP_C_PASS_NOT_DNS, XDP_PASS);
		/* No answers to multicast (RFC 4291 2.7) or to the unspecified address. */
		if (ip6->saddr.in6_u.u6_addr8[0] == 0xff ||
		    (ip6->saddr.in6_u.u6_addr32[0] | ip6->saddr.in6_u.u6_addr32[1] |
		     ip6->saddr.in6_u.u6_addr32[2] | ip6->saddr.in6_u.u6_addr32[3]) == 0)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		/* RFC 8200 8.1: a zero UDP checksum is invalid over IPv6. */
		if (bpf_ntohs(udp->len) != plen || udp->check == 0)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
	} else {
		return count(AXDP_C_PASS_NOT_DNS, XDP_PASS);
	}
	if (udp->source == 0)
		return count(AXDP_C_PASS_MALFORMED, XDP_PASS);

	qlen = bpf_ntohs(udp->len) - sizeof(*udp);
	dnsoff = l4off + sizeof(*udp);
	if (qlen < DNS_HDR_LEN + 5)
		return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
	if (qlen > AXDP_QUERY_MAX)
		return count(AXDP_C_PASS_TOO_BIG, XDP_PASS);
	if (copy_query(ctx, sc, dnsoff, qlen) < 0)
		return count(AXDP_C_PASS_MALFORMED, XDP_PASS);

	__builtin_memset(&sc->key, 0, sizeof(sc->key));
	sc->qlen = qlen;
	nlen = parse_query(sc);
	if (nlen == -2)
		return count(AXDP_C_PASS_TOO_BIG, XDP_PASS);
	if (nlen < 0)
		return count(AXDP_C_PASS_MALFORMED, XDP_PASS);

	val = bpf_map_lookup_elem(&axdp_answers, &sc->key);
	if (!val)
		return count(AXDP_C_PASS_MISS, XDP_PASS);
	if (val->gen != cfg->gen)
		return count(AXDP_C_PASS_STALE, XDP_PASS);
	rlen = val->len;
	if (rlen < DNS_HDR_LEN + (__u32)nlen + 4 || rlen > AXDP_RESP_MAX)
		return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
	slip_opt = 0;
	if (cfg->rrl_rate) {
		int act = rrl_decide(cfg, &src, is_v6, val->rrl_key);

		if (act == RRL_DROP)
			return count(AXDP_C_RRL_DROPPED, XDP_DROP);
		if (act == RRL_SLIP) {
			/* As rrl_slip(): header and question, TC=1, and the OPT
			 * record when the query had EDNS: a template's last 11
			 * bytes then (cached queries carry no options). */
			rlen = DNS_HDR_LEN + (__u32)nlen + 4;
			slip = 1;
			if ((sc->key.flags & AXDP_KEY_EDNS) && val->len >= rlen + AXDP_OPT_LEN)
				slip_opt = AXDP_OPT_LEN;
			count(AXDP_C_RRL_SLIPPED, 0);
		}
	}
	/* Unless slipped, only the header and the name differ from the
	 * template, whose checksum sum the map holds (below), and the answer
	 * goes from the template straight into the frame (write_answer()). */
	head = forget(&sc->nlen, DNS_HDR_LEN + (__u32)nlen);
	if (head > DNS_HDR_LEN + AXDP_KEY_NAME)
		return count(AXDP_C_DROPPED, XDP_PASS);
	if (slip) {
		patch_response(sc, val, rlen, (__u32)nlen);
		sc->resp[2] |= 0x02;
		sc->resp[6] = sc->resp[7] = sc->resp[8] = 0;
		sc->resp[9] = sc->resp[10] = sc->resp[11] = 0;
		if (slip_opt) {
			__u32 from = val->len - AXDP_OPT_LEN, j;

			for (j = 0; j < AXDP_OPT_LEN; j++)
				sc->resp[qmask(rlen + j)] = val->resp[qmask(from + j)];
			rlen += AXDP_OPT_LEN;
			sc->resp[11] = 1;
		}
		/* The checksum reads up to 3 bytes past the end: zero, as past a
		 * template's end. */
		sc->resp[qmask(rlen)] = 0;
		sc->resp[qmask(rlen + 1)] = 0;
		sc->resp[qmask(rlen + 2)] = 0;
	}
	rlen = forget(&sc->rlen, rlen);
	if (rlen < DNS_HDR_LEN || rlen > AXDP_RESP_MAX)
		return count(AXDP_C_DROPPED, XDP_PASS);

	/* RFC 768: checksum over the pseudo-header, the UDP header and the data
	 * (zero-padded to 4 bytes here, which the sum ignores). Computed before
	 * the packet changes, from addresses read in the query. */
	plen4 = (rlen + 3) & ~3U;
	if (plen4 > AXDP_RESP_MAX)
		return count(AXDP_C_DROPPED, XDP_PASS);
	{
		struct udphdr uh = {
			.source = udp->dest,
			.dest = udp->source,
			.len = bpf_htons(sizeof(uh) + rlen),
			.check = 0,
		};
		__be32 ph[10] = {};

		if (is_v6) {
			struct ipv6hdr *ip6 = data + l3off;

			if ((void *)(ip6 + 1) > end)
				return count(AXDP_C_DROPPED, XDP_PASS);
			__builtin_memcpy(&ph[0], &ip6->daddr, 16);
			__builtin_memcpy(&ph[4], &ip6->saddr, 16);
			ph[8] = bpf_htonl(sizeof(uh) + rlen);
			ph[9] = bpf_htonl(IPPROTO_UDP);
			sum = sum_words(ph, 10);
		} else {
			struct iphdr *ip = data + l3off;

			if ((void *)(ip + 1) > end)
				return count(AXDP_C_DROPPED, XDP_PASS);
			ph[0] = ip->daddr;
			ph[1] = ip->saddr;
			ph[2] = bpf_htonl((IPPROTO_UDP << 16) | (sizeof(uh) + rlen));
			sum = sum_words(ph, 3);
		}
		sum += sum_words(&uh, sizeof(uh) / 4);
		if (slip) {
			sum = bpf_csum_diff(NULL, 0, (__be32 *)sc->resp, plen4,
			                    csum_fold(sum));
		} else {
			/* The template's sum less its header and name words
			 * (RFC 1624: the sum follows the words that change; ~w
			 * is -w in one's complement); write_answer() adds the
			 * patched ones. */
			const alias_u32 *t = (const alias_u32 *)val->resp;

			sum += val->csum;
			for (i = 0; i < (DNS_HDR_LEN + AXDP_KEY_NAME) / 4 + 1; i++) {
				if ((__u32)i * 4 >= head)
					break;
				sum += (__u32)~t[i];
			}
		}
	}

	/* Resize last: every XDP_PASS above leaves the frame untouched. At
	 * the tail the headers stay where they are; grown at the head they
	 * are moved to the new start. */
	{
		int delta = (int)(dnsoff + rlen) - (int)(end - data), moved;

		if (dnsoff > AXDP_HDR_MAX)
			return count(AXDP_C_PASS_MALFORMED, XDP_PASS);
		if (bpf_xdp_adjust_tail(ctx, delta) != 0) {
			moved = grow_head(ctx, delta);
			if (moved < 0)
				return count(AXDP_C_PASS_TOO_BIG, XDP_PASS);
			if (move_headers(ctx, (__u32)moved, dnsoff) < 0)
				return count(AXDP_C_DROPPED, XDP_ABORTED);
		}
	}
	if (slip) {
		if (bpf_xdp_store_bytes(ctx, dnsoff, sc->resp, rlen) < 0)
			return count(AXDP_C_DROPPED, XDP_ABORTED);
	} else if (write_answer(ctx, dnsoff, sc, val, rlen, (__u32)nlen, &sum) < 0) {
		return count(AXDP_C_DROPPED, XDP_ABORTED);
	}

	PKT_RELOAD(ctx, data, end);
	eth = data;
	if ((void *)(eth + 1) > end)
		return count(AXDP_C_DROPPED, XDP_ABORTED);
	{
		__u8 mac[ETH_ALEN];

		__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	}
	if (is_v6) {
		struct ipv6hdr *ip6 = data + l3off;
		struct in6_addr a;

		if ((void *)(ip6 + 1) > end)
			return count(AXDP_C_DROPPED, XDP_ABORTED);
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		/* Version 6, traffic class 0, flow label 0. */
		*(__be32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(sizeof(*udp) + rlen);
		ip6->hop_limit = REPLY_TTL;
		udp = (void *)(ip6 + 1);
	} else {
		struct iphdr *ip = data + l3off;
		__be32 a;

		if ((void *)(ip + 1) > end)
			return count(AXDP_C_DROPPED, XDP_ABORTED);
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		/* What Linux sends for unconnected UDP with path MTU discovery:
		 * TOS 0, ID 0 with DF set. */
		ip->tos = 0;
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000);
		ip->ttl = REPLY_TTL;
		ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*udp) + rlen);
		ip->check = 0;
		ip->check = ~csum_fold(sum_words(ip, sizeof(*ip) / 4));
		udp = (void *)(ip + 1);
	}
	if ((void *)(udp + 1) > end)
		return count(AXDP_C_DROPPED, XDP_ABORTED);
	{
		__be16 p = udp->source;

		udp->source = udp->dest;
		udp->dest = p;
	}
	udp->len = bpf_htons(sizeof(*udp) + rlen);
	udp->check = ~csum_fold(sum);
	/* RFC 768: a computed zero is sent as all ones. */
	if (udp->check == 0)
		udp->check = 0xffff;
	return count(AXDP_C_ANSWERED, XDP_TX);
}
