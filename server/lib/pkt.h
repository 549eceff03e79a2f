/* Query parsing for the answer engine: DNS header (RFC 1035 4.1.1), the
 * question, the records a query may carry and the EDNS0 OPT record
 * (RFC 6891 6.1). Everything is checked against the packet length; nothing is
 * read past it and nothing allocates. */
#ifndef ANYNS_PKT_H
#define ANYNS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PKT_HDR_LEN 12

/* Header byte 2 and 3 bits. */
#define PKT_F1_QR 0x80
#define PKT_F1_AA 0x04
#define PKT_F1_TC 0x02
#define PKT_F1_RD 0x01
#define PKT_F2_RA 0x80
#define PKT_F2_AD 0x20
#define PKT_F2_CD 0x10

#define PKT_OPCODE_QUERY 0

#define PKT_RCODE_NOERROR  0
#define PKT_RCODE_FORMERR  1
#define PKT_RCODE_SERVFAIL 2
#define PKT_RCODE_NXDOMAIN 3
#define PKT_RCODE_NOTIMP   4
#define PKT_RCODE_REFUSED  5
#define PKT_RCODE_YXDOMAIN 6
#define PKT_RCODE_BADVERS  16   /* extended: needs OPT (RFC 6891 6.1.3) */
#define PKT_RCODE_BADCOOKIE 23  /* extended: RFC 7873 8 */

#define PKT_TYPE_A      1
#define PKT_TYPE_NS     2
#define PKT_TYPE_MD     3
#define PKT_TYPE_MF     4
#define PKT_TYPE_CNAME  5
#define PKT_TYPE_SOA    6
#define PKT_TYPE_MB     7
#define PKT_TYPE_MG     8
#define PKT_TYPE_MR     9
#define PKT_TYPE_PTR    12
#define PKT_TYPE_HINFO  13
#define PKT_TYPE_MINFO  14
#define PKT_TYPE_MX     15
#define PKT_TYPE_TXT    16
#define PKT_TYPE_AAAA   28
#define PKT_TYPE_SRV    33
#define PKT_TYPE_DNAME  39
#define PKT_TYPE_OPT    41
#define PKT_TYPE_DS     43
#define PKT_TYPE_RRSIG  46
#define PKT_TYPE_NSEC   47
#define PKT_TYPE_DNSKEY 48
#define PKT_TYPE_NSEC3  50
#define PKT_TYPE_NSEC3PARAM 51
#define PKT_TYPE_IXFR   251
#define PKT_TYPE_AXFR   252
#define PKT_TYPE_ANY    255

#define PKT_CLASS_IN  1
#define PKT_CLASS_CH  3
#define PKT_CLASS_ANY 255

#define PKT_EDNS_DO   0x8000    /* in the OPT TTL's flags half */
#define PKT_OPT_NSID  3         /* RFC 5001 */
#define PKT_OPT_COOKIE 10       /* RFC 7873 */

/* A query to write with pkt_write_query(). Zero-initialise, then set what
 * differs: the defaults are opcode QUERY, every flag clear, no EDNS. */
typedef struct pkt_qspec {
	const uint8_t *name;        /* uncompressed wire name, letter case kept */
	size_t name_len;
	uint16_t qtype, qclass;
	uint16_t id;
	uint8_t flags1, flags2;     /* header bytes 2 and 3 (PKT_F1_RD, PKT_F2_CD, ...) */
	bool edns;                  /* an OPT record (RFC 6891 6.1.2) with: */
	bool do_bit;                /*   DO (RFC 3225) */
	uint16_t payload;           /*   the UDP payload size, written as given */
	uint8_t edns_version;
	bool nsid;                  /*   an empty NSID option: asks for it (RFC 5001 2.3) */
	const uint8_t *cookie;      /*   RFC 7873 4: client cookie (8) + server cookie */
	size_t cookie_len;          /*   (8 to 32), or 0 for none */
	const uint8_t *opts;        /*   further options, already in wire form */
	size_t opts_len;
} pkt_qspec_t;

/* Writes the query `s` describes into out[0..cap): header, one question,
 * and the OPT record when s->edns. Returns 0 with *len, ANYNS_EINVAL for a
 * name that is not a sound uncompressed wire name or a bad cookie length,
 * ANYNS_ESPACE when it does not fit. */
int pkt_write_query(const pkt_qspec_t *s, uint8_t *out, size_t cap, size_t *len);

/* What pkt_parse_query() found. */
typedef struct pkt_query {
	uint16_t id;
	uint8_t flags1, flags2;     /* header bytes 2 and 3 as received */
	uint8_t opcode;
	uint16_t qdcount, ancount, nscount, arcount;

	/* The question; valid when has_question. The name is at offset
	 * PKT_HDR_LEN of the query, uncompressed (compression in a question is
	 * refused), qname_len bytes incl. the root label. */
	bool has_question;
	uint8_t qname_len;
	uint16_t qtype, qclass;
	uint16_t question_end;      /* offset just past QTYPE/QCLASS */

	/* EDNS0, valid when edns (the OPT record parsed). */
	bool edns;
	bool do_bit;
	bool nsid;                  /* an NSID option was present */
	bool edns_opts;             /* any option at all */
	uint16_t cookie_off;        /* RFC 7873 COOKIE option data in the query; 0: none */
	uint16_t cookie_len;
	uint8_t edns_version;
	uint16_t edns_payload;      /* as sent by the client */

	/* True for the simplest shape of query, the one answer caches may key:
	 * QUERY, QR=0, one question, no answer/authority records, at most one
	 * additional record which is an OPT of version 0 without options, and
	 * nothing after it. */
	bool simple;

	/* The rcode to answer with when not NOERROR: FORMERR for a malformed
	 * query, NOTIMP for an opcode other than QUERY. */
	uint8_t rcode;

	uint8_t qname_lc[255];      /* lowercased question name; last, not cleared */
} pkt_query_t;

/* Parses the query in q[0..len). Returns
 *   0            the query is well formed (pq->rcode == 0), or it must be
 *                answered with pq->rcode (FORMERR, NOTIMP); pq->has_question
 *                says whether the question may be echoed;
 *   ANYNS_EDROP  nothing must be sent back (shorter than a header, QR=1).
 * Never reads past len. */
int pkt_parse_query(const uint8_t *q, size_t len, pkt_query_t *pq);

/* Pointers followed in one name at most, as BIND (DNS_POINTER_MAXHOPS): a
 * compressor points once per name, at a suffix already written, so a longer
 * chain only costs the parser time. */
#define PKT_MAX_PTR_HOPS 16

/* Additional records a query may carry: an OPT and a TSIG. */
#define PKT_QUERY_MAX_AR 2

/* Skips a possibly compressed name at q[*pos], checking that every pointer
 * goes strictly backwards (so no loop is possible), that at most
 * PKT_MAX_PTR_HOPS are followed, that labels are at most 63 bytes and the
 * name at most 255. On success *pos is just past the name in
 * the record. Returns 0 or ANYNS_EMALF. */
int pkt_skip_name(const uint8_t *q, size_t len, size_t *pos);

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pkt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ASCII-lowercases eight bytes at once: a byte gets 0x20 added when it is
 * in 'A'..'Z'. Label length octets (< 64) are never changed. */
static inline uint64_t pkt_lower8(uint64_t x)
{
	const uint64_t hi = 0x8080808080808080ull;
	uint64_t low7 = x & ~hi;
	uint64_t ge_a = low7 + 0x3f3f3f3f3f3f3f3full;   /* bit 7 set: >= 'A' */
	uint64_t gt_z = low7 + 0x2525252525252525ull;   /* bit 7 set: >= '[' */
	return x | ((ge_a & ~gt_z & ~x & hi) >> 2);
}

/* Copies len bytes of a wire name lowercased (dst may equal src); same
 * result as wname_lower(), eight bytes per step. */
static inline void pkt_lower_name(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, src + i, 8);
		w = pkt_lower8(w);
		memcpy(dst + i, &w, 8);
	}
	if (i < len && len >= 8) {
		/* The rest as the word ending at the name's end: the bytes it
		 * shares with the last step are lowercased twice (the same). */
		memcpy(&w, src + len - 8, 8);
		w = pkt_lower8(w);
		memcpy(dst + len - 8, &w, 8);
		return;
	}
	for (; i < len; i++) {
		uint8_t c = src[i];
		dst[i] = (uint8_t)(c + ((unsigned)(c - 'A') < 26u ? 0x20 : 0));
	}
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
