/* The RR parser: one logical master-file line (comments and parentheses
 * already removed by the reader, zone_load.c) in, one RR in wire form out.
 * The common types (A, AAAA, NS, CNAME, PTR, DNAME, MX, TXT and the types
 * whose fields are one token each) are read here; anything else goes through
 * ldns_rr_new_frm_str(). Both give the same bytes (the unit tests compare
 * them; zone_load_opts_t.ldns_only forces ldns for everything). RFC 3597
 * generic rdata ("TYPE \# len hex") is decoded here for every type, known or
 * not, and checked against the type's wire format when ldns knows it. */
#ifndef ANYNS_ZONE_PARSE_H
#define ANYNS_ZONE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "wire_name.h"
#include "zone_build.h"

struct zparse {
	ldns_rdf *origin;       /* current $ORIGIN */
	uint8_t origin_wire[WNAME_MAXLEN];
	size_t origin_len;
	ldns_rdf *prev;         /* ldns' copy of the previous owner */
	uint8_t prev_wire[WNAME_MAXLEN];   /* previous owner, for lines starting with blanks */
	size_t prev_len;
	uint32_t default_ttl;   /* $TTL; 3600 until one is given, as NSD */
	bool ldns_only;
	bool quote;             /* messages may quote the line (zparse_quote()) */

	uint8_t owner[WNAME_MAXLEN];       /* owner of the RR returned last */
	uint8_t *scratch;       /* its rdata (65536 bytes) */
	char *line2;            /* copy of the line, cut into tokens or edited for ldns */
	size_t line2_cap;
	char *hdr;              /* owner, TTL and class of a generic-rdata line */
	size_t hdr_cap;
};

/* Sets up a parser for a zone whose origin is `origin` (wire form).
 * Returns 0 or ANYNS_ENOMEM. */
int zparse_init(struct zparse *p, const uint8_t *origin, size_t len, bool ldns_only);
void zparse_free(struct zparse *p);

/* A name from a directive ($ORIGIN, $INCLUDE): relative names are completed
 * with the current origin. NULL when it is no name. Caller frees. */
ldns_rdf *zparse_dname(const struct zparse *p, const char *text);
/* Makes `o` the current origin (the parser takes it) and returns the
 * previous one (the caller takes it). */
ldns_rdf *zparse_swap_origin(struct zparse *p, ldns_rdf *o);

/* For a message about text[0..len): " 'excerpt'" with at most
 * ZPARSE_EXCERPT characters, printable ASCII kept and any other byte written
 * as \DDD, "..." when cut; "" when `quote` is false (the file lies outside
 * the zone's folder: its content is not ours to show). Returns out. */
#define ZPARSE_EXCERPT 40
const char *zparse_quote(bool quote, const char *text, size_t len, char *out, size_t outlen);

/* Parses one logical line (not a directive, not blank). Returns 1 with the
 * RR in *rr (pointing into the parser, valid until the next call), 0 when
 * the line is no RR (why in err[0..errlen)), or ANYNS_ENOMEM. */
int zparse_line(struct zparse *p, const char *line, zb_rr_t *rr, char *err, size_t errlen);

#endif
