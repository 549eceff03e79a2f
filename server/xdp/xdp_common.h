/* Map layouts shared by the XDP program (anyns.bpf.c) and its loader
 * (xdp_loader.c). Plain fixed-size types only: this header is compiled both
 * with clang -target bpf and with the host compiler. */
#ifndef ANYNS_XDP_COMMON_H
#define ANYNS_XDP_COMMON_H

#include <linux/types.h>

#define AXDP_NAME_MAX   255   /* RFC 1035 3.1: wire names are at most 255 octets */
#define AXDP_KEY_NAME   96    /* longest name the map holds; longer ones XDP_PASS */
#define AXDP_RESP_MAX   512   /* templates fit any client: RFC 1035 4.2.1 UDP limit */
#define AXDP_OPT_LEN    11    /* an OPT record without options, a template's last with EDNS */
#define AXDP_QUERY_MAX  512   /* longer queries are never of the simple shape */
#define AXDP_HDR_MAX    128   /* at least Ethernet + 2 VLAN tags + IPv6 + UDP = 70 */

#define AXDP_KEY_EDNS   0x01  /* same bits as ACACHE_KEY_EDNS / ACACHE_KEY_DO */
#define AXDP_KEY_DO     0x02

/* Answer map key: the same facts as acache_key_t. The name is the lowercased
 * uncompressed wire name including the root label, zero-filled past name_len,
 * so that two keys for the same query compare equal byte for byte.
 * The name field is AXDP_KEY_NAME, not 255, bytes: every lookup hashes and
 * compares the whole key, and hot names are short; a query for a longer name
 * is left to the socket path (counted as too big). */
struct axdp_key {
	__u8 name_len;
	__u8 flags;                  /* AXDP_KEY_* */
	__u16 qtype;                 /* host order */
	__u16 qclass;                /* host order */
	__u8 pad[2];                 /* always zero */
	__u8 name[AXDP_KEY_NAME];
};

/* Answer map value: a response template as answer_build() made it. Entries
 * whose generation differs from the one in the generation map are stale and
 * are never answered from. */
struct axdp_val {
	__u64 gen;
	__u16 len;
	/* The template's Internet checksum partial sum (RFC 1071): its bytes up
	 * to len rounded up to 4 (zero past len) summed as 16-bit words in
	 * memory order, end-around carry, folded to 16 bits. The program then
	 * sums only the bytes it changes. */
	__u16 csum;
	__u8 pad[4];
	/* Response rate limiting: the bucket identity of this answer apart from
	 * the client (rrl_response_key()). */
	__u64 rrl_key;
	__u8 resp[AXDP_RESP_MAX];
};

/* The configuration map (one entry). */
struct axdp_cfg {
	__u64 gen;                   /* current generation */
	__u16 port;                  /* network order */
	__u8 any_addr;               /* 1: every destination address is ours */
	__u8 pad[5];
	/* Response rate limiting as the socket path (server/lib/rrl.h); rate 0: off. */
	__u32 rrl_rate;
	__u16 rrl_slip;
	__u8 rrl_v4_prefix;          /* 1..32 */
	__u8 rrl_v6_prefix;          /* 1..128 */
};

/* A rate limiting bucket: the answer's identity and the client's network
 * (IPv4 mapped, bits past the prefix zero). */
struct axdp_rrl_key {
	__u64 rkey;
	__u8 net[16];
};
struct axdp_rrl_val {
	__u64 sec;                   /* the second `count` counts in */
	__u64 count;                 /* responses in that second */
	__u64 limited;               /* limited responses, for slip */
};
/* Whitelist (LPM trie): IPv4 networks mapped, prefix length + 96. */
struct axdp_wl_key {
	__u32 prefixlen;
	__u8 a[16];
};

/* Service address set: IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d). */
struct axdp_addr {
	__u8 a[16];
};

/* Per-CPU counters, indexes into the counter array. */
enum axdp_counter {
	AXDP_C_ANSWERED = 0,
	AXDP_C_PASS_MISS,            /* simple query, no entry */
	AXDP_C_PASS_STALE,           /* entry from an older generation */
	AXDP_C_PASS_NOT_DNS,         /* not UDP to a service address and port */
	AXDP_C_PASS_MALFORMED,       /* DNS query we do not parse (or bad headers) */
	AXDP_C_PASS_TOO_BIG,         /* query larger than we handle */
	AXDP_C_DROPPED,              /* XDP_ABORTED paths (helper failures) */
	AXDP_C_RRL_SLIPPED,          /* rate limited, answered TC=1 (also counted answered) */
	AXDP_C_RRL_DROPPED,          /* rate limited, XDP_DROP */
	AXDP_C_MAX
};

/* Scratch space per CPU: the program builds the key (and a slipped response)
 * here because they are larger than the 512-byte BPF stack allows. */
struct axdp_scratch {
	/* Ordered so that what a typical query touches (the key, the lengths,
	 * the start of q) shares few cache lines: at 10k frames/s on a busy
	 * machine each one is a miss. */
	struct axdp_key key;
	/* Lengths re-read through memory after each loop: the verifier does not
	 * track values in map memory, so the loop's exits converge into one
	 * state instead of one per iteration. */
	__u32 nlen, qlen, rlen, tail;
	__u8 q[AXDP_QUERY_MAX];        /* the query's DNS message */
	__u8 resp[AXDP_RESP_MAX];      /* a slipped (RRL) response being built */
	__u8 slack[8];                 /* word reads/writes at q's and resp's ends stay inside */
};

#endif
