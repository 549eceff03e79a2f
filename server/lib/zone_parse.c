/* The RR parser (contract in zone_parse.h): a fast reader for the common
 * shapes beside an adapter over ldns_rr_new_frm_str() for the rest. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grow.h"
#include "zone_parse.h"

/* ---- fast path ---------------------------------------------------------- */

/* A name token without escapes; relative names get the current origin.
 * Returns the wire length or 0 when the token is not a plain name. */
static size_t fast_name(const struct zparse *P, const char *t, uint8_t *out)
{
	size_t o = 0;
	if (t[0] == '@' && t[1] == 0) {
		memcpy(out, P->origin_wire, P->origin_len);
		return P->origin_len;
	}
	if (t[0] == '.' && t[1] == 0) {
		out[0] = 0;
		return 1;
	}
	for (;;) {
		const char *e = t;
		while (*e && *e != '.') {
			if (*e == '@')
				return 0;      /* leave ldns' reading of "@" in names */
			e++;
		}
		size_t l = (size_t)(e - t);
		if (l == 0 || l > WNAME_MAXLABEL || o + 1 + l >= WNAME_MAXLEN)
			return 0;
		out[o++] = (uint8_t)l;
		memcpy(out + o, t, l);
		o += l;
		if (*e == 0)
			break;             /* relative: the origin follows */
		t = e + 1;
		if (*t == 0) {         /* absolute */
			out[o++] = 0;
			return o;
		}
	}
	if (o + P->origin_len > WNAME_MAXLEN)
		return 0;
	memcpy(out + o, P->origin_wire, P->origin_len);
	return o + P->origin_len;
}

static bool fast_u32(const char *t, uint32_t *v)
{
	uint64_t x = 0;
	if (!*t)
		return false;
	for (; *t; t++) {
		if (*t < '0' || *t > '9')
			return false;
		x = x * 10 + (uint64_t)(*t - '0');
		if (x > UINT32_MAX)
			return false;
	}
	*v = (uint32_t)x;
	return true;
}

static bool has_special(const char *t)
{
	for (; *t; t++)
		if (*t == '"' || *t == '\\')
			return true;
	return false;
}

/* TXT rdata: quoted or bare character-strings with \X and \DDD escapes
 * (RFC 1035 5.1). Returns the rdata length or -1 for anything unusual
 * (a string over 255 bytes, a stray quote), which ldns then judges. */
static ssize_t fast_txt(const char *p, uint8_t *out)
{
	size_t o = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		bool quoted = *p == '"';
		if (quoted)
			p++;
		if (o + 256 > 65535)
			return -1;
		size_t lenpos = o++, n = 0;
		for (;;) {
			char c = *p;
			if (c == 0) {
				if (quoted)
					return -1;
				break;
			}
			if (quoted && c == '"') {
				p++;
				if (*p && *p != ' ' && *p != '\t')
					return -1;
				break;
			}
			if (!quoted && (c == ' ' || c == '\t'))
				break;
			if (!quoted && c == '"')
				return -1;
			p++;
			if (c == '\\') {
				if (p[0] >= '0' && p[0] <= '9') {
					if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
						return -1;
					int v = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
					if (v > 255)
						return -1;
					c = (char)v;
					p += 3;
				} else if (*p) {
					c = *p++;
				} else {
					return -1;
				}
			}
			if (n == 255)
				return -1;
			out[o++] = (uint8_t)c;
			n++;
		}
		out[lenpos] = (uint8_t)n;
	}
	return o ? (ssize_t)o : -1;
}

/* Any other type whose fields are each one token (SOA, SRV, DS, DNSKEY,
 * RRSIG, NSEC, NSEC3, ...): every field goes through ldns' own field parser
 * so the bytes are ldns' bytes, without the cost of ldns_rr_new_frm_str().
 * As there, a last B64/HEX/NSEC field takes the rest of the line. `rest`
 * is the unsplit text from tok[0] on. Returns the rdata length or -1. */
static ssize_t fast_generic(const struct zparse *P, const char *type, char **tok, int nt,
                            const char *rest, uint8_t *out, uint16_t *rtype)
{
	ldns_rr_type t = ldns_get_rr_type_by_name(type);
	const ldns_rr_descriptor *d = t ? ldns_rr_descript((uint16_t)t) : NULL;
	if (!d || d->_variable != LDNS_RDF_TYPE_NONE)
		return -1;
	size_t max = ldns_rr_descriptor_maximum(d), min = ldns_rr_descriptor_minimum(d);
	size_t o = 0;
	int i = 0;
	for (size_t f = 0; f < max; f++) {
		ldns_rdf_type ft = ldns_rr_descriptor_field_type(d, f);
		if (i >= nt) {
			if (f >= min)
				break;
			return -1;
		}
		bool last = f == max - 1;
		const char *text = tok[i];
		if (last && (ft == LDNS_RDF_TYPE_B64 || ft == LDNS_RDF_TYPE_HEX ||
		             ft == LDNS_RDF_TYPE_NSEC)) {
			text = rest + (tok[i] - tok[0]);
			i = nt;
		} else {
			i++;
		}
		if (ft == LDNS_RDF_TYPE_DNAME) {
			size_t n = fast_name(P, text, out + o);
			if (!n)
				return -1;
			o += n;
			continue;
		}
		switch (ft) {
		case LDNS_RDF_TYPE_INT8: case LDNS_RDF_TYPE_INT16: case LDNS_RDF_TYPE_INT32:
		case LDNS_RDF_TYPE_A: case LDNS_RDF_TYPE_AAAA: case LDNS_RDF_TYPE_TIME:
		case LDNS_RDF_TYPE_PERIOD: case LDNS_RDF_TYPE_TYPE: case LDNS_RDF_TYPE_ALG:
		case LDNS_RDF_TYPE_HEX: case LDNS_RDF_TYPE_B64: case LDNS_RDF_TYPE_B32_EXT:
		case LDNS_RDF_TYPE_NSEC3_SALT: case LDNS_RDF_TYPE_NSEC:
		case LDNS_RDF_TYPE_CERTIFICATE_USAGE: case LDNS_RDF_TYPE_SELECTOR:
		case LDNS_RDF_TYPE_MATCHING_TYPE:
			break;
		default:
			return -1;
		}
		ldns_rdf *r = ldns_rdf_new_frm_str(ft, text);
		if (!r)
			return -1;
		size_t n = ldns_rdf_size(r);
		if (o + n > 65535) {
			ldns_rdf_deep_free(r);
			return -1;
		}
		memcpy(out + o, ldns_rdf_data(r), n);
		o += n;
		ldns_rdf_deep_free(r);
	}
	if (i < nt)
		return -1;
	*rtype = (uint16_t)t;
	return (ssize_t)o;
}

/* Parses the most common RR shapes (A, AAAA, NS, CNAME, PTR, DNAME, MX and
 * TXT in class IN, names without escapes) without ldns, which spends most of a load
 * in its tokenizer and allocator. Returns 1 when the RR was read, 0 to
 * let ldns parse the line (and word any error). */
static int fast_rr(struct zparse *P, char *line, const char *orig, zb_rr_t *rr)
{
	char *tok[48];
	int nt = 0;
	bool blank_owner = line[0] == ' ' || line[0] == '\t';
	bool special = false;       /* quotes or escapes somewhere */
	for (char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (nt == 48) {
			special = true;     /* only TXT may have this many fields */
			break;
		}
		tok[nt++] = p;
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '"' || *p == '\\')
				special = true;
			p++;
		}
		if (*p)
			*p++ = 0;
	}
	int i = 0;
	uint8_t *owner = P->owner, *rd = P->scratch;
	size_t olen, rdlen;
	if (blank_owner) {
		if (!P->prev_len)
			return 0;
		olen = P->prev_len;
		memcpy(owner, P->prev_wire, olen);
	} else {
		if (nt < 1 || has_special(tok[0]) || !(olen = fast_name(P, tok[i++], owner)))
			return 0;
	}
	/* RFC 1035 5.1: TTL and class may come in either order. */
	uint32_t ttl = P->default_ttl;
	bool have_ttl = false, have_class = false;
	while (i < nt) {
		if (!have_ttl && tok[i][0] >= '0' && tok[i][0] <= '9') {
			if (!fast_u32(tok[i], &ttl))
				return 0;
			have_ttl = true;
			i++;
		} else if (!have_class && strcasecmp(tok[i], "IN") == 0) {
			have_class = true;
			i++;
		} else {
			break;
		}
	}
	if (i >= nt || has_special(tok[i]))
		return 0;
	const char *type = tok[i++];
	int left = nt - i;
	uint16_t t;
	if (left >= 1 && tok[i][0] == '\\' && tok[i][1] == '#' && !tok[i][2]) {
		return 0;              /* RFC 3597 generic rdata: generic_rr() */
	} else if (left >= 1 && strcasecmp(type, "TXT") == 0) {
		ssize_t n = fast_txt(orig + (tok[i] - line), rd);
		if (n < 0)
			return 0;
		rdlen = (size_t)n;
		t = LDNS_RR_TYPE_TXT;
	} else if (special) {
		return 0;
	} else if (strcasecmp(type, "A") == 0 && left == 1) {
		if (inet_pton(AF_INET, tok[i], rd) != 1)
			return 0;
		t = LDNS_RR_TYPE_A;
		rdlen = 4;
	} else if (strcasecmp(type, "AAAA") == 0 && left == 1) {
		if (inet_pton(AF_INET6, tok[i], rd) != 1)
			return 0;
		t = LDNS_RR_TYPE_AAAA;
		rdlen = 16;
	} else if (strcasecmp(type, "MX") == 0 && left == 2) {
		uint32_t pref;
		if (!fast_u32(tok[i], &pref) || pref > 65535 || !(rdlen = fast_name(P, tok[i + 1], rd + 2)))
			return 0;
		rd[0] = (uint8_t)(pref >> 8);
		rd[1] = (uint8_t)pref;
		rdlen += 2;
		t = LDNS_RR_TYPE_MX;
	} else if (left == 1 && (!strcasecmp(type, "NS") || !strcasecmp(type, "CNAME") ||
	                         !strcasecmp(type, "PTR") || !strcasecmp(type, "DNAME"))) {
		if (!(rdlen = fast_name(P, tok[i], rd)))
			return 0;
		t = (uint16_t)(type[0] == 'N' || type[0] == 'n' ? LDNS_RR_TYPE_NS :
		               type[0] == 'C' || type[0] == 'c' ? LDNS_RR_TYPE_CNAME :
		               type[0] == 'P' || type[0] == 'p' ? LDNS_RR_TYPE_PTR : LDNS_RR_TYPE_DNAME);
	} else {
		ssize_t n = fast_generic(P, type, tok + i, left, orig + (left ? tok[i] - line : 0),
		                         rd, &t);
		if (n < 0)
			return 0;
		rdlen = (size_t)n;
	}
	if (!blank_owner) {
		memcpy(P->prev_wire, owner, olen);
		P->prev_len = olen;
	}
	*rr = (zb_rr_t){ .owner = owner, .owner_len = olen, .type = t, .rclass = LDNS_RR_CLASS_IN,
	                 .ttl = ttl, .rdata = rd, .rdlen = rdlen };
	return 1;
}

/* ---- ldns adapter ------------------------------------------------------ */

static bool is_class_tok(const char *t, size_t n)
{
	return (n == 2 && (!strncasecmp(t, "IN", 2) || !strncasecmp(t, "CH", 2) ||
	                   !strncasecmp(t, "HS", 2) || !strncasecmp(t, "CS", 2))) ||
	       (n > 5 && !strncasecmp(t, "CLASS", 5));
}

/* RFC 1035 5.1 allows "<class> <TTL>" as well as "<TTL> <class>"; ldns
 * only reads the latter, so swap the two in place before handing it over.
 * Returns whether the line has a TTL of its own. */
static bool zl_class_ttl_order(char *line)
{
	char *p = line, *t1, *t2;
	size_t n1, n2;
	if (*p != ' ' && *p != '\t')
		while (*p && *p != ' ' && *p != '\t')
			p++;                       /* the owner */
	while (*p == ' ' || *p == '\t')
		p++;
	t1 = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	n1 = (size_t)(p - t1);
	while (*p == ' ' || *p == '\t')
		p++;
	t2 = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	n2 = (size_t)(p - t2);
	if (n1 && t1[0] >= '0' && t1[0] <= '9')
		return true;
	if (!is_class_tok(t1, n1) || n2 == 0 || n2 > 32 || t2[0] < '0' || t2[0] > '9')
		return false;
	char c[32], t[33];
	if (n1 >= sizeof(c))
		return true;
	memcpy(c, t1, n1);
	memcpy(t, t2, n2);
	/* "IN<gap>300" becomes "300<gap>IN": same total length. */
	size_t gap = (size_t)(t2 - (t1 + n1));
	memmove(t1 + n2 + gap, c, n1);
	memcpy(t1, t, n2);
	memset(t1 + n2, ' ', gap);
	return true;
}

static void sync_origin(struct zparse *P)
{
	size_t n = ldns_rdf_size(P->origin);
	if (n > WNAME_MAXLEN)
		n = 0;
	memcpy(P->origin_wire, ldns_rdf_data(P->origin), n);
	P->origin_len = n;
}

ldns_rdf *zparse_dname(const struct zparse *P, const char *txt)
{
	ldns_rdf *d = ldns_dname_new_frm_str(txt);
	if (d && !ldns_dname_str_absolute(txt) && P->origin &&
	    ldns_dname_cat(d, P->origin) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(d);
		d = NULL;
	}
	return d;
}

ldns_rdf *zparse_swap_origin(struct zparse *P, ldns_rdf *o)
{
	ldns_rdf *old = P->origin;
	P->origin = o;
	sync_origin(P);
	return old;
}

/* The line as ldns reads it, in P->line2: returns whether it has a TTL. */
static int ldns_line(struct zparse *P, const char *line, bool *own_ttl)
{
	size_t ll = strlen(line) + 1;
	if (grow((void **)&P->line2, &P->line2_cap, ll + 1, 1))
		return ANYNS_ENOMEM;
	/* ldns reads any owner starting with '@' as the origin; "@x" is a
	 * name of its own (as NSD reads it): escape the '@'. */
	if (line[0] == '@' && line[1] && line[1] != ' ' && line[1] != '\t') {
		P->line2[0] = '\\';
		memcpy(P->line2 + 1, line, ll);
	} else {
		memcpy(P->line2, line, ll);
	}
	*own_ttl = zl_class_ttl_order(P->line2);
	return 0;
}

static int ldns_path(struct zparse *P, const char *line, zb_rr_t *out, char *err, size_t errlen)
{
	bool own_ttl;
	int rc = ldns_line(P, line, &own_ttl);
	if (rc)
		return rc;
	/* ldns keeps its own previous owner; hand it ours. */
	ldns_rdf_deep_free(P->prev);
	P->prev = P->prev_len ? ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, P->prev_len, P->prev_wire) : NULL;
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, P->line2, P->default_ttl, P->origin, &P->prev);
	if (st != LDNS_STATUS_OK) {
		/* Name the RR too: ldns' messages do not say which field. */
		const char *txt = P->line2;
		char q[ZPARSE_EXCERPT * 4 + 8];
		while (*txt == ' ' || *txt == '\t')
			txt++;
		snprintf(err, errlen, "%s%s", ldns_get_errorstr_by_id(st),
		         zparse_quote(P->quote, txt, strlen(txt), q, sizeof(q)));
		ldns_rr_free(rr);
		return 0;
	}
	/* ldns reads a default TTL of 0 as "none" and uses 3600. */
	if (!own_ttl && P->default_ttl == 0)
		ldns_rr_set_ttl(rr, 0);

	size_t rdlen = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++)
		rdlen += ldns_rdf_size(ldns_rr_rdf(rr, i));
	const ldns_rdf *owner = ldns_rr_owner(rr);
	size_t olen = ldns_rdf_size(owner);
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || rdlen > 65535 || olen > WNAME_MAXLEN) {
		snprintf(err, errlen, "%s", ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ?
		         "class is not IN" : rdlen > 65535 ? "rdata longer than 65535 bytes" :
		         "bad owner name");
		ldns_rr_free(rr);
		return 0;
	}
	/* ldns keeps each rdata field in wire form; names stay uncompressed. */
	size_t o = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		memcpy(P->scratch + o, ldns_rdf_data(f), ldns_rdf_size(f));
		o += ldns_rdf_size(f);
	}
	memcpy(P->owner, ldns_rdf_data(owner), olen);
	if (olen > 0) {
		memcpy(P->prev_wire, P->owner, olen);
		P->prev_len = olen;
	}
	*out = (zb_rr_t){ .owner = P->owner, .owner_len = olen, .type = (uint16_t)ldns_rr_get_type(rr),
	                  .rclass = LDNS_RR_CLASS_IN, .ttl = ldns_rr_ttl(rr),
	                  .rdata = P->scratch, .rdlen = rdlen };
	ldns_rr_free(rr);
	return 1;
}

/* ---- RFC 3597 generic rdata -------------------------------------------- */

/* Splits the start of a line into blank-separated tokens, a backslash
 * escaping the next character. Returns the number found (at most max). */
static int head_tokens(const char *line, const char **start, size_t *len, int max)
{
	int n = 0;
	const char *p = line;
	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		start[n] = p;
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		len[n] = (size_t)(p - start[n]);
		n++;
	}
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* True when `rd` is well-formed rdata of `type` for a type ldns knows: every
 * field parses, names are uncompressed, nothing is left over. */
static bool generic_valid(uint16_t type, const uint8_t *rd, size_t rdlen)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (!d || d->_type != type || !d->_name)
		return true;                    /* unknown: any bytes are fine */
	uint8_t *w = malloc(11 + rdlen);
	if (!w)
		return false;
	/* root owner, type, class IN, TTL 0, rdlength, rdata */
	w[0] = 0;
	w[1] = (uint8_t)(type >> 8);
	w[2] = (uint8_t)type;
	w[3] = 0;
	w[4] = 1;
	memset(w + 5, 0, 4);
	w[9] = (uint8_t)(rdlen >> 8);
	w[10] = (uint8_t)rdlen;
	memcpy(w + 11, rd, rdlen);
	ldns_rr *rr = NULL;
	size_t pos = 0;
	bool ok = ldns_wire2rr(&rr, w, 11 + rdlen, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK &&
	          pos == 11 + rdlen && ldns_rr_rd_count(rr) >= ldns_rr_descriptor_minimum(d);
	/* ldns expands compression pointers: equal bytes mean there were none. */
	size_t o = 0;
	for (size_t i = 0; ok && i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		size_t n = ldns_rdf_size(f);
		ok = o + n <= rdlen && memcmp(rd + o, ldns_rdf_data(f), n) == 0;
		o += n;
	}
	ok = ok && o == rdlen;
	ldns_rr_free(rr);
	free(w);
	return ok;
}

/* RFC 3597 5: "<owner> [<TTL>] [<class>] <type> \# <length> <hex>..." for
 * any type, known or not: the hex is the rdata in wire form (for a known
 * type it must be valid rdata of that type). Returns 1 with the RR, 0 with
 * an error, 2 when the line is not in the generic form, or ANYNS_ENOMEM. */
static int generic_rr(struct zparse *P, const char *line, zb_rr_t *rr, char *err, size_t errlen)
{
	const char *ts[6];
	size_t tl[6];
	int nt = head_tokens(line, ts, tl, 6), i = 0;
	if (line[0] != ' ' && line[0] != '\t')
		i++;                            /* the owner */
	for (int k = 0; k < 2 && i < nt; k++) {
		if ((ts[i][0] >= '0' && ts[i][0] <= '9') || is_class_tok(ts[i], tl[i]))
			i++;
		else
			break;
	}
	if (i + 1 >= nt || tl[i + 1] != 2 || memcmp(ts[i + 1], "\\#", 2) != 0)
		return 2;
	char tname[64];
	if (tl[i] >= sizeof(tname))
		return 2;
	memcpy(tname, ts[i], tl[i]);
	tname[tl[i]] = 0;
	uint16_t type = (uint16_t)ldns_get_rr_type_by_name(tname);
	if (type == 0)
		return 2;                       /* ldns words the error */

	/* The owner, TTL and class, read as for any RR (with a stand-in rdata). */
	size_t head = (size_t)(ts[i] - line);
	if (grow((void **)&P->hdr, &P->hdr_cap, head + 16, 1))
		return ANYNS_ENOMEM;
	memcpy(P->hdr, line, head);
	memcpy(P->hdr + head, "A 0.0.0.0", 10);
	int rc = zparse_line(P, P->hdr, rr, err, errlen);
	if (rc != 1)
		return rc;

	if (i + 2 >= nt) {
		snprintf(err, errlen, "generic rdata (RFC 3597): no length after \\#");
		return 0;
	}
	const char *p = ts[i + 2], *e;
	unsigned long len = strtoul(p, (char **)&e, 10);
	if (e == p || (*e != ' ' && *e != '\t' && *e) || len > 65535) {
		char q[ZPARSE_EXCERPT * 4 + 8];
		snprintf(err, errlen, "generic rdata (RFC 3597): bad length%s",
		         zparse_quote(P->quote, p, tl[i + 2], q, sizeof(q)));
		return 0;
	}
	size_t o = 0;
	int hi = -1;
	for (p = e; *p; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		int v = hexval(*p);
		if (v < 0) {
			char q[ZPARSE_EXCERPT * 4 + 8];
			snprintf(err, errlen, "generic rdata (RFC 3597): not a hex digit%s",
			         zparse_quote(P->quote, p, 1, q, sizeof(q)));
			return 0;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (o == len) {
			o++;
			break;
		}
		P->scratch[o++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0 || o != len) {
		snprintf(err, errlen, "generic rdata (RFC 3597): length %lu does not match the %s",
		         len, hi >= 0 ? "odd number of hex digits" : "hex data");
		return 0;
	}
	if (!generic_valid(type, P->scratch, len)) {
		char tb[16];
		snprintf(err, errlen, "generic rdata (RFC 3597) is not valid %s rdata",
		         zb_type_name(type, tb, sizeof(tb)));
		return 0;
	}
	rr->type = type;
	rr->rdata = P->scratch;
	rr->rdlen = len;
	return 1;
}

/* ---- the parser --------------------------------------------------------- */

const char *zparse_quote(bool quote, const char *text, size_t len, char *out, size_t outlen)
{
	size_t o = 0, i;
	out[0] = 0;
	if (!quote || outlen < ZPARSE_EXCERPT * 4 + 8)
		return out;
	out[o++] = ' ';
	out[o++] = '\'';
	for (i = 0; i < len && i < ZPARSE_EXCERPT; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			o += (size_t)snprintf(out + o, outlen - o, "\\%03u", c);
		}
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = 0;
	return out;
}

int zparse_line(struct zparse *P, const char *line, zb_rr_t *rr, char *err, size_t errlen)
{
	if (!P->ldns_only) {
		/* The fast path cuts the line into tokens; keep the line for ldns.
		 * It leaves generic rdata ("\#" as the first rdata token) alone. */
		size_t ll = strlen(line) + 1;
		if (grow((void **)&P->line2, &P->line2_cap, ll, 1))
			return ANYNS_ENOMEM;
		memcpy(P->line2, line, ll);
		if (fast_rr(P, P->line2, line, rr))
			return 1;
	}
	if (line != P->hdr && strstr(line, "\\#")) {
		int rc = generic_rr(P, line, rr, err, errlen);
		if (rc != 2)
			return rc;
	}
	return ldns_path(P, line, rr, err, errlen);
}

int zparse_init(struct zparse *P, const uint8_t *origin, size_t len, bool ldns_only)
{
	memset(P, 0, sizeof(*P));
	P->ldns_only = ldns_only;
	P->default_ttl = LDNS_DEFAULT_TTL;   /* 3600 without $TTL, as NSD */
	P->origin = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, origin);
	P->scratch = malloc(65536);
	if (!P->origin || !P->scratch)
		return ANYNS_ENOMEM;
	sync_origin(P);
	return 0;
}

void zparse_free(struct zparse *P)
{
	ldns_rdf_deep_free(P->origin);
	ldns_rdf_deep_free(P->prev);
	free(P->scratch);
	free(P->line2);
	free(P->hdr);
}
