/* Zone transfers and NOTIFY as engine code (no I/O):
 *  - building SOA/AXFR/IXFR queries and NOTIFY messages;
 *  - reading an AXFR (RFC 5936) or IXFR (RFC 1995) response stream message
 *    by message into a full record list or a list of changes;
 *  - a change between two zone versions ("delete these, add these"), made
 *    by comparing versions or read from an IXFR, applied to a record list;
 *  - writing an AXFR or IXFR response stream;
 *  - NOTIFY (RFC 1996) parsing and answers;
 *  - catalog zone (RFC 9432) member extraction.
 * TSIG is the caller's business (tsig.h): it signs or checks each message
 * before or after these functions see it. */
#ifndef ANYNS_XFR_H
#define ANYNS_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anyns.h"
#include "rrlist.h"

#define PKT_OPCODE_NOTIFY 4

/* ---- queries -------------------------------------------------------------- */

/* Builds a query for origin (wire) with `opcode` (QUERY or NOTIFY) and
 * `qtype` into buf. `soa` (with its list), when not NULL, goes into the
 * authority section of a QUERY (the client's version for IXFR, RFC 1995 3)
 * or the answer section of a NOTIFY (RFC 1996 3.7). NOTIFY sets AA. Header
 * and question come from pkt_write_query(). Returns 0 with *len,
 * ANYNS_ESPACE, or ANYNS_EINVAL for an unsound origin. */
int xfr_query_build(uint8_t *buf, size_t cap, uint16_t id, uint8_t opcode,
                    const uint8_t *origin, size_t origin_len, uint16_t qtype,
                    const rrlist_t *soa_list, const rr_t *soa, size_t *len);

/* ---- changes -------------------------------------------------------------- */

/* One step between two versions: `del` starts with the old SOA, `add` with
 * the new one (the IXFR order, RFC 1995 4). */
typedef struct xfr_change {
	uint32_t from, to;
	rrlist_t del, add;
} xfr_change_t;

void xfr_change_init(xfr_change_t *c);
void xfr_change_clear(xfr_change_t *c);
/* Size of a change in records. */
static inline size_t xfr_change_size(const xfr_change_t *c)
{
	return c->del.n + c->add.n;
}

/* The change from `old` to `new` (both sorted by rr_cmp, one SOA each).
 * A record whose TTL changed is deleted and added. */
int xfr_diff(const rrlist_t *old_l, const rrlist_t *new_l, xfr_change_t *out);

/* Applies changes in order to `zone` (sorted), writing the result to out
 * (sorted). Each change's `from` must be the serial of the zone's SOA at
 * that point, and every record deleted must be there (TTL not compared);
 * otherwise ANYNS_EINVAL (the caller falls back to AXFR). Adding a record
 * already there replaces its TTL. Cost: one merge pass per change. */
int xfr_apply(const rrlist_t *zone, const xfr_change_t *ch, size_t n, rrlist_t *out);

/* ---- reading a response stream -------------------------------------------- */

enum xfr_kind {
	XFR_PENDING = 0,        /* not decided yet */
	XFR_UPTODATE,           /* IXFR answered with a SOA alone, not newer than ours */
	XFR_AXFR,               /* full zone in `axfr` */
	XFR_IXFR,               /* changes in `changes` */
};

typedef struct xfr_parser {
	/* What was asked. */
	uint16_t id, qtype;
	uint8_t origin[255];
	uint8_t origin_len;
	uint32_t have_serial;   /* IXFR: our version */
	size_t max_records;     /* bound on records held; 0: none */

	/* What came back. */
	enum xfr_kind kind;
	bool done;
	uint8_t rcode;          /* when a message had an error rcode */
	uint32_t serial;        /* the new version's serial (first SOA) */
	unsigned messages;
	size_t records;
	rrlist_t axfr;          /* AXFR: every record, the SOA once */
	xfr_change_t *changes;  /* IXFR */
	size_t nchanges;

	int state;
	rrlist_t first;         /* the leading SOA until the kind is known */
} xfr_parser_t;

void xfr_parser_init(xfr_parser_t *p, uint16_t qtype, uint16_t id, const uint8_t *origin,
                     size_t origin_len, uint32_t have_serial);
void xfr_parser_clear(xfr_parser_t *p);

/* Reads one response message. Returns 0 (p->done says whether the stream is
 * complete), ANYNS_EINVAL when the server answered with an error rcode
 * (p->rcode; REFUSED, NOTAUTH, NOTIMP...), ANYNS_EMALF for anything that
 * breaks the protocol (wrong ID or question, TC, a record after the end, a
 * SOA of another zone, more records than max_records). */
int xfr_parser_feed(xfr_parser_t *p, const uint8_t *msg, size_t len);

/* ---- writing a response stream -------------------------------------------- */

/* A stream to send: segments of record lists written in order. */
typedef struct xfr_seg {
	const rrlist_t *l;
	size_t from, to;        /* records [from, to) of l */
	bool skip_soa;          /* leave out SOA records (the AXFR body) */
} xfr_seg_t;

typedef struct xfr_writer {
	xfr_seg_t *seg;
	size_t nseg, cap;
	size_t cur, idx;        /* position: segment, record */
	const uint8_t *query;   /* the question is copied from it */
	size_t qend;            /* end of the question in query */
	uint16_t id;
	unsigned messages;
} xfr_writer_t;

/* A writer for the answer to `query` (already parsed: question at offset
 * 12 up to qend). Fill it with xfr_writer_axfr() or xfr_writer_ixfr(). */
void xfr_writer_init(xfr_writer_t *w, const uint8_t *query, size_t qend);
void xfr_writer_clear(xfr_writer_t *w);
/* AXFR (RFC 5936 2.2): SOA, every other record of zone, SOA. zone is sorted
 * and holds one SOA. */
int xfr_writer_axfr(xfr_writer_t *w, const rrlist_t *zone);
/* IXFR (RFC 1995 4): the new SOA, each change's deletions and additions, the
 * new SOA again; `soa_list`/`soa` is the current SOA. */
int xfr_writer_ixfr(xfr_writer_t *w, const rrlist_t *soa_list, const rr_t *soa,
                    const xfr_change_t *const *ch, size_t n);
/* Just the current SOA: an IXFR from a version that is not older. */
int xfr_writer_soa(xfr_writer_t *w, const rrlist_t *soa_list, const rr_t *soa);
/* Writes the next message into buf[0..cap) (cap <= 65535; leave room for a
 * TSIG record). Returns 0 with *len, or ANYNS_ENOENT when everything was
 * written, ANYNS_ESPACE when one record does not fit in cap. */
int xfr_writer_next(xfr_writer_t *w, uint8_t *buf, size_t cap, size_t *len);

/* ---- NOTIFY --------------------------------------------------------------- */

typedef struct xfr_notify {
	uint16_t id;
	uint8_t zone[255];      /* lowercased */
	uint8_t zone_len;
	bool has_serial;
	uint32_t serial;
	size_t qend;            /* end of the question */
} xfr_notify_t;

/* Parses a NOTIFY request (opcode 4, QR=0, one question of type SOA).
 * 0, or ANYNS_EMALF (answer FORMERR), or ANYNS_EINVAL (not a NOTIFY). */
int xfr_notify_parse(const uint8_t *msg, size_t len, xfr_notify_t *out);

/* The answer to a NOTIFY or to any query with its question echoed: header
 * with QR, the query's opcode and `rcode` (AA only with NOERROR), the
 * question, no records.
 * Returns 0 with *len, or ANYNS_ESPACE. */
int xfr_answer_header(const uint8_t *query, size_t qend, uint8_t rcode, uint8_t *out,
                      size_t cap, size_t *len);

/* ---- catalog zones -------------------------------------------------------- */

/* Members of a catalog zone (RFC 9432 4.1): the PTR target of every
 * <unique-id>.zones.<catalog> with a single-label unique id, in the order
 * of the (sorted) list; a member listed twice is taken once, from its first
 * unique id (RFC 9432 4.1 says one member per unique id and a name once).
 * Returns ANYNS_EINVAL when version.<catalog> TXT is missing or is not "2"
 * (RFC 9432 4.2.1: a catalog of another version is not processed).
 * out gets one record per member: owner = member name, type PTR, the
 * unique id as RDATA. */
int xfr_catalog_members(const rrlist_t *zone, const uint8_t *origin, size_t origin_len,
                        rrlist_t *out);

#endif
