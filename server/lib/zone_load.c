/* Zone loading: reads an RFC 1035 master file, parses each RR, checks the
 * zone and compiles it into the flat layout of zone_int.h.
 *
 * Parsing: A, AAAA, NS, CNAME, PTR, DNAME, MX and TXT are read here; other
 * types whose fields are one token each go field by field through ldns'
 * own field parsers; anything else (quoted strings, RFC 3597 \#, LOC, ...)
 * through ldns_rr_new_frm_str(). All three give the same bytes (the unit
 * tests compare them; ANYNS_ZONE_NOFAST=1 forces ldns for everything).
 *
 * The file is split into logical lines here (comments, quotes, parentheses,
 * $ORIGIN/$TTL/$INCLUDE) rather than by ldns_zone_new_frm_fp_l(), so that
 * every syntax error is reported (not only the first), $INCLUDE keeps the
 * included file's name, each RR keeps the line it started on, and no ldns
 * zone is ever held in memory: each RR is copied out and freed at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "zone_int.h"

#define ZL_MAX_INCLUDE_DEPTH 10
#define ZL_MAX_LINE          (1u << 20)
#define ZL_MAX_ERRORS        1000

/* One RR as read, until the zone is compiled. */
struct brec {
	uint32_t node;
	uint32_t ttl;
	uint32_t rd_off;        /* into zl.rd */
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
	uint16_t file;          /* index into zl.files */
	uint16_t dup;           /* merged into an identical RR (RFC 2181 5) */
};

struct zl {
	struct zone *z;
	size_t nodes_cap, names_cap;
	struct brec *recs;
	size_t nrec, rec_cap;
	uint8_t *rd;
	size_t rd_len, rd_cap;
	char **files;
	size_t nfiles;
	char *line;             /* the current logical line */
	size_t line_cap;

	/* parser state */
	ldns_rdf *origin;       /* current $ORIGIN */
	ldns_rdf *prev;         /* ldns' copy of the previous owner */
	uint8_t prev_wire[WNAME_MAXLEN];   /* previous owner, for lines starting with blanks */
	size_t prev_len;
	uint8_t origin_wire[WNAME_MAXLEN]; /* current $ORIGIN, for the fast path */
	size_t origin_len;
	uint8_t last_name[WNAME_MAXLEN];   /* owner of the previous RR, lowercased */
	size_t last_len;
	uint32_t last_node;
	uint8_t *scratch;       /* rdata of one RR parsed by ldns */
	char *line2;            /* copy of the line for the fast path */
	size_t line2_cap;
	bool no_fast;
	uint32_t default_ttl;
	int depth;

	zone_diag_fn diag;
	void *diag_ctx;
	unsigned errors, warnings;
	bool unreadable;       /* the main file could not be read */
	bool gave_up;          /* ZL_MAX_ERRORS reached */
};

struct src {
	const char *buf;
	size_t len, pos;
	uint32_t line;          /* line number of buf[pos] */
	uint16_t file;
};

static void zl_report(struct zl *L, uint16_t file, uint32_t line, bool fatal,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void zl_report(struct zl *L, uint16_t file, uint32_t line, bool fatal,
                      const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (fatal)
		L->errors++;
	else
		L->warnings++;
	if (!L->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->diag(L->diag_ctx, file < L->nfiles ? L->files[file] : "?", (int)line, fatal, msg);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * elem);
	if (!q)
		return ANYNS_ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

/* ---- nodes -------------------------------------------------------------- */

static uint32_t zl_add_node(struct zl *L, const uint8_t *name, size_t len,
                            uint32_t hash, uint32_t parent)
{
	struct zone *z = L->z;
	if (z->nnodes + 1 > L->nodes_cap) {
		size_t nc = L->nodes_cap ? L->nodes_cap * 2 : 64;
		char *m = realloc(z->nodes ? (char *)z->nodes - ZNODES_HDR : NULL,
		                  ZNODES_HDR + nc * sizeof(*z->nodes));
		if (!m)
			return ZIDX_NONE;
		z->nodes = (struct znode *)(void *)(m + ZNODES_HDR);
		L->nodes_cap = nc;
	}
	if (grow((void **)&z->names, &L->names_cap, z->names_len + len, 1))
		return ZIDX_NONE;
	uint32_t idx = z->nnodes;
	struct znode *n = &z->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->name_off = (uint32_t)z->names_len;
	n->name_len = (uint8_t)len;
	n->parent = parent;
	n->wild = ZIDX_NONE;
	n->self = idx;
	memcpy(z->names + z->names_len, name, len);
	z->names_len += len;
	z->nnodes++;
	if (zdb__table_insert(z, idx, hash)) {
		z->nnodes--;
		return ZIDX_NONE;
	}
	if (name[0] == 1 && name[1] == '*') {
		n->flags |= ZN_WILDCARD;
		if (parent != ZIDX_NONE)
			z->nodes[parent].wild = idx;
	}
	return idx;
}

/* Node of a lowercased name at or below the origin; creates it and any
 * missing ancestors (empty non-terminals until they get data), so that a
 * parent always has a smaller index than its children. */
static uint32_t zl_node(struct zl *L, const uint8_t *name, size_t len)
{
	uint32_t h = wname_hash(name, len);
	uint32_t idx = zdb__find(L->z, name, len, h);
	if (idx != ZIDX_NONE)
		return idx;
	size_t plen;
	const uint8_t *p = wname_parent(name, len, &plen);
	uint32_t parent = zl_node(L, p, plen);
	if (parent == ZIDX_NONE)
		return ZIDX_NONE;
	return zl_add_node(L, name, len, h, parent);
}

/* ---- records ------------------------------------------------------------ */

/* Adds one RR: owner in wire form (any case), rdata in wire form. */
static int zl_add_record(struct zl *L, const uint8_t *owner, size_t len, uint16_t type,
                         uint32_t ttl, const uint8_t *rdata, size_t rdlen,
                         uint16_t file, uint32_t line)
{
	struct zone *z = L->z;
	uint8_t name[WNAME_MAXLEN];

	if (len == 0 || len > WNAME_MAXLEN) {
		zl_report(L, file, line, true, "bad owner name");
		return 0;
	}
	wname_lower(name, owner, len);
	if (!wname_is_subdomain(name, len, z->origin, z->origin_len)) {
		char txt[1024];
		anyns_name_to_text(name, len, txt, sizeof(txt));
		zl_report(L, file, line, true, "%s is out of zone %s", txt, z->origin_text);
		return 0;
	}
	if (rdlen > 65535) {
		zl_report(L, file, line, true, "rdata longer than 65535 bytes");
		return 0;
	}
	/* Files list a name's RRs together: skip the lookup for a repeat. */
	uint32_t node;
	if (len == L->last_len && memcmp(name, L->last_name, len) == 0) {
		node = L->last_node;
	} else {
		node = zl_node(L, name, len);
		if (node != ZIDX_NONE) {
			memcpy(L->last_name, name, len);
			L->last_len = len;
			L->last_node = node;
		}
	}
	if (node == ZIDX_NONE ||
	    grow((void **)&L->recs, &L->rec_cap, L->nrec + 1, sizeof(*L->recs)) ||
	    grow((void **)&L->rd, &L->rd_cap, L->rd_len + rdlen, 1))
		return ANYNS_ENOMEM;
	if (L->rd_len + rdlen > UINT32_MAX)
		return ANYNS_ENOMEM;

	struct brec *r = &L->recs[L->nrec++];
	r->node = node;
	r->ttl = ttl;
	r->rd_off = (uint32_t)L->rd_len;
	r->line = line;
	r->type = type;
	r->rdlen = (uint16_t)rdlen;
	r->file = file;
	r->dup = 0;
	memcpy(L->rd + L->rd_len, rdata, rdlen);
	L->rd_len += rdlen;

	if (type == LDNS_RR_TYPE_SOA && node != 0)
		zl_report(L, file, line, true, "SOA record not at the zone apex");
	if (type == LDNS_RR_TYPE_NS && node != 0)
		z->nodes[node].flags |= ZN_DELEG;
	if (type == LDNS_RR_TYPE_DNAME)
		z->nodes[node].flags |= ZN_DNAME;
	return 0;
}

static int zl_add_ldns_rr(struct zl *L, const ldns_rr *rr, uint16_t file, uint32_t line)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	size_t rdlen = 0;

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		zl_report(L, file, line, true, "class is not IN");
		return 0;
	}
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++)
		rdlen += ldns_rdf_size(ldns_rr_rdf(rr, i));
	if (rdlen > 65535) {
		zl_report(L, file, line, true, "rdata longer than 65535 bytes");
		return 0;
	}
	if (!L->scratch && !(L->scratch = malloc(65536)))
		return ANYNS_ENOMEM;
	/* ldns keeps each rdata field in wire form; names stay uncompressed. */
	size_t o = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		memcpy(L->scratch + o, ldns_rdf_data(f), ldns_rdf_size(f));
		o += ldns_rdf_size(f);
	}
	size_t olen = ldns_rdf_size(owner);
	if (olen > 0 && olen <= WNAME_MAXLEN) {
		memcpy(L->prev_wire, ldns_rdf_data(owner), olen);
		L->prev_len = olen;
	}
	return zl_add_record(L, ldns_rdf_data(owner), olen, (uint16_t)ldns_rr_get_type(rr),
	                     ldns_rr_ttl(rr), L->scratch, rdlen, file, line);
}

/* ---- fast path ---------------------------------------------------------- */

/* A name token without escapes; relative names get the current origin.
 * Returns the wire length or 0 when the token is not a plain name. */
static size_t fast_name(const struct zl *L, const char *t, uint8_t *out)
{
	size_t o = 0;
	if (t[0] == '@' && t[1] == 0) {
		memcpy(out, L->origin_wire, L->origin_len);
		return L->origin_len;
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
	if (o + L->origin_len > WNAME_MAXLEN)
		return 0;
	memcpy(out + o, L->origin_wire, L->origin_len);
	return o + L->origin_len;
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
static ssize_t fast_generic(const struct zl *L, const char *type, char **tok, int nt,
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
			size_t n = fast_name(L, text, out + o);
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
 * in its tokenizer and allocator. Returns 1 when the RR was handled, 0 to
 * let ldns parse the line (and word any error), <0 on allocation failure. */
static int zl_fast(struct zl *L, char *line, const char *orig, uint16_t file, uint32_t lnr)
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
	uint8_t owner[WNAME_MAXLEN], rdbuf[WNAME_MAXLEN + 2], *rd = rdbuf;
	size_t olen, rdlen;
	if (blank_owner) {
		if (!L->prev_len)
			return 0;
		olen = L->prev_len;
		memcpy(owner, L->prev_wire, olen);
	} else {
		if (nt < 1 || has_special(tok[0]) || !(olen = fast_name(L, tok[i++], owner)))
			return 0;
	}
	/* RFC 1035 5.1: TTL and class may come in either order. */
	uint32_t ttl = L->default_ttl;
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
	if (left >= 1 && strcasecmp(type, "TXT") == 0) {
		if (!L->scratch && !(L->scratch = malloc(65536)))
			return ANYNS_ENOMEM;
		ssize_t n = fast_txt(orig + (tok[i] - line), L->scratch);
		if (n < 0)
			return 0;
		rd = L->scratch;
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
		if (!fast_u32(tok[i], &pref) || pref > 65535 || !(rdlen = fast_name(L, tok[i + 1], rd + 2)))
			return 0;
		rd[0] = (uint8_t)(pref >> 8);
		rd[1] = (uint8_t)pref;
		rdlen += 2;
		t = LDNS_RR_TYPE_MX;
	} else if (left == 1 && (!strcasecmp(type, "NS") || !strcasecmp(type, "CNAME") ||
	                         !strcasecmp(type, "PTR") || !strcasecmp(type, "DNAME"))) {
		if (!(rdlen = fast_name(L, tok[i], rd)))
			return 0;
		t = (uint16_t)(type[0] == 'N' || type[0] == 'n' ? LDNS_RR_TYPE_NS :
		               type[0] == 'C' || type[0] == 'c' ? LDNS_RR_TYPE_CNAME :
		               type[0] == 'P' || type[0] == 'p' ? LDNS_RR_TYPE_PTR : LDNS_RR_TYPE_DNAME);
	} else {
		if (!L->scratch && !(L->scratch = malloc(65536)))
			return ANYNS_ENOMEM;
		ssize_t n = fast_generic(L, type, tok + i, left, orig + (left ? tok[i] - line : 0),
		                         L->scratch, &t);
		if (n < 0)
			return 0;
		rd = L->scratch;
		rdlen = (size_t)n;
	}
	if (!blank_owner) {
		memcpy(L->prev_wire, owner, olen);
		L->prev_len = olen;
	}
	int rc = zl_add_record(L, owner, olen, t, ttl, rd, rdlen, file, lnr);
	return rc < 0 ? rc : 1;
}

/* ---- master file reader ------------------------------------------------- */

static int line_put(struct zl *L, size_t *o, char c)
{
	if (*o + 2 > L->line_cap) {
		if (L->line_cap >= ZL_MAX_LINE)
			return ANYNS_ESPACE;
		if (grow((void **)&L->line, &L->line_cap, *o + 2, 1))
			return ANYNS_ENOMEM;
	}
	L->line[(*o)++] = c;
	return 0;
}

static const uint8_t zl_special[256] = {
	['\n'] = 1, ['\r'] = 1, [';'] = 1, ['('] = 1, [')'] = 1, ['"'] = 1, ['\\'] = 1,
};

/* Reads one logical line into L->line: comments dropped, parentheses
 * joined into one line (RFC 1035 5.1), quotes and escapes kept for ldns.
 * Returns 1 with a line (maybe blank), 0 at the end, <0 on a syntax error
 * (message in *err; the rest of that logical line has been skipped). */
static int zl_getline(struct zl *L, struct src *s, uint32_t *start, const char **err)
{
	size_t o = 0;
	int depth = 0;
	bool inq = false;
	*start = s->line;
	*err = NULL;
	if (s->pos >= s->len)
		return 0;
	if (!L->line && grow((void **)&L->line, &L->line_cap, 256, 1))
		return ANYNS_ENOMEM;
	while (s->pos < s->len) {
		if (!inq) {
			/* Copy runs of ordinary characters at once. */
			size_t st = s->pos;
			while (s->pos < s->len && !zl_special[(uint8_t)s->buf[s->pos]])
				s->pos++;
			size_t run = s->pos - st;
			if (run) {
				if (o + run + 2 > L->line_cap) {
					if (o + run + 2 > ZL_MAX_LINE ||
					    grow((void **)&L->line, &L->line_cap, o + run + 2, 1))
						goto toolong;
				}
				memcpy(L->line + o, s->buf + st, run);
				o += run;
			}
			if (s->pos >= s->len)
				break;
		}
		char c = s->buf[s->pos++];
		if (c == '\n') {
			s->line++;
			if (depth == 0 && !inq)
				break;
			if (inq && !*err)
				*err = "newline inside a quoted string";
			c = ' ';
		} else if (inq) {
			if (c == '\\' && s->pos < s->len) {
				if (line_put(L, &o, c))
					goto toolong;
				c = s->buf[s->pos++];
				if (c == '\n')
					s->line++;
			} else if (c == '"') {
				inq = false;
			}
		} else if (c == '\\') {
			if (line_put(L, &o, c))
				goto toolong;
			if (s->pos < s->len) {
				c = s->buf[s->pos++];
				if (c == '\n')
					s->line++;
			}
		} else if (c == '"') {
			inq = true;
		} else if (c == ';') {
			while (s->pos < s->len && s->buf[s->pos] != '\n')
				s->pos++;
			continue;
		} else if (c == '(') {
			depth++;
			c = ' ';
		} else if (c == ')') {
			if (depth == 0 && !*err)
				*err = "')' without '('";
			else
				depth--;
			c = ' ';
		} else if (c == '\r') {
			c = ' ';
		}
		if (line_put(L, &o, c))
			goto toolong;
	}
	if ((depth > 0 || inq) && !*err)
		*err = depth > 0 ? "'(' without ')'" : "unterminated quoted string";
	L->line[o] = 0;
	return *err ? -1 : 1;
toolong:
	/* Skip to the end of this physical line and give up on it. */
	while (s->pos < s->len && s->buf[s->pos] != '\n')
		s->pos++;
	*err = "line too long";
	if (L->line_cap)
		L->line[0] = 0;
	return -1;
}

static char *next_tok(char **p)
{
	char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	char *t = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = 0;
	*p = s;
	return t;
}

/* A name from a directive: relative names are completed with the origin. */
static ldns_rdf *zl_dname(struct zl *L, const char *txt)
{
	ldns_rdf *d = ldns_dname_new_frm_str(txt);
	if (d && !ldns_dname_str_absolute(txt) && L->origin &&
	    ldns_dname_cat(d, L->origin) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(d);
		d = NULL;
	}
	return d;
}

static int zl_parse_file(struct zl *L, const char *path, uint16_t from_file, uint32_t from_line);

static bool is_class_tok(const char *t, size_t n)
{
	return (n == 2 && (!strncasecmp(t, "IN", 2) || !strncasecmp(t, "CH", 2) ||
	                   !strncasecmp(t, "HS", 2) || !strncasecmp(t, "CS", 2))) ||
	       (n > 5 && !strncasecmp(t, "CLASS", 5));
}

/* RFC 1035 5.1 allows "<class> <TTL>" as well as "<TTL> <class>"; ldns
 * only reads the latter, so swap the two in place before handing it over.
 * Returns whether the line has a TTL of its own. */
static bool zl_class_ttl_order(struct zl *L)
{
	char *p = L->line, *t1, *t2;
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

static void sync_origin(struct zl *L)
{
	size_t n = ldns_rdf_size(L->origin);
	if (n > WNAME_MAXLEN)
		n = 0;
	memcpy(L->origin_wire, ldns_rdf_data(L->origin), n);
	L->origin_len = n;
}

static int zl_parse(struct zl *L, struct src *s)
{
	int rc = 0;
	for (;;) {
		uint32_t line;
		const char *err;
		/* A file that is not a zone at all would report every line. */
		if (L->errors >= ZL_MAX_ERRORS) {
			if (!L->gave_up)
				zl_report(L, s->file, s->line, true, "too many errors, stopped reading");
			L->gave_up = true;
			return 0;
		}
		int r = zl_getline(L, s, &line, &err);
		if (r == 0)
			break;
		if (r < 0 && !err)
			return r;
		if (r < 0) {
			zl_report(L, s->file, line, true, "%s", err);
			continue;
		}
		char *p = L->line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		if (L->line[0] == '$') {
			char *cur = L->line;
			char *dir = next_tok(&cur);
			char *arg = next_tok(&cur);
			if (strcasecmp(dir, "$ORIGIN") == 0 && arg) {
				ldns_rdf *o = zl_dname(L, arg);
				if (!o) {
					zl_report(L, s->file, line, true, "bad $ORIGIN name '%s'", arg);
					continue;
				}
				ldns_rdf_deep_free(L->origin);
				L->origin = o;
				sync_origin(L);
			} else if (strcasecmp(dir, "$TTL") == 0 && arg) {
				const char *end;
				uint32_t ttl = ldns_str2period(arg, &end);
				if (*end || end == arg) {
					zl_report(L, s->file, line, true, "bad $TTL value '%s'", arg);
					continue;
				}
				L->default_ttl = ttl;
			} else if (strcasecmp(dir, "$INCLUDE") == 0 && arg) {
				/* RFC 1035 5.1: the origin given (or the current one)
				 * applies inside the file; ours is restored after. */
				char *oarg = next_tok(&cur);
				ldns_rdf *saved = L->origin, *o = NULL;
				if (oarg && !(o = zl_dname(L, oarg))) {
					zl_report(L, s->file, line, true, "bad $INCLUDE origin '%s'", oarg);
					continue;
				}
				L->origin = o ? o : ldns_rdf_clone(saved);
				sync_origin(L);
				uint32_t ttl = L->default_ttl;
				char *fname = strdup(arg);
				rc = fname ? zl_parse_file(L, fname, s->file, line) : ANYNS_ENOMEM;
				free(fname);
				ldns_rdf_deep_free(L->origin);
				L->origin = saved;
				sync_origin(L);
				L->default_ttl = ttl;
				if (rc)
					return rc;
			} else {
				zl_report(L, s->file, line, true, "unknown or incomplete directive '%s'", dir);
			}
			continue;
		}
		if (!L->no_fast) {
			/* The fast path cuts the line into tokens; keep a copy for ldns. */
			size_t ll = strlen(L->line) + 1;
			if (grow((void **)&L->line2, &L->line2_cap, ll, 1))
				return ANYNS_ENOMEM;
			memcpy(L->line2, L->line, ll);
			rc = zl_fast(L, L->line2, L->line, s->file, line);
			if (rc < 0)
				return rc;
			if (rc > 0)
				continue;
		}
		/* ldns reads any owner starting with '@' as the origin; "@x"
		 * is a name of its own (as NSD reads it): escape the '@'. */
		if (L->line[0] == '@' && L->line[1] && L->line[1] != ' ' && L->line[1] != '\t') {
			size_t ll = strlen(L->line) + 1;
			if (grow((void **)&L->line, &L->line_cap, ll + 1, 1))
				return ANYNS_ENOMEM;
			memmove(L->line + 1, L->line, ll);
			L->line[0] = '\\';
		}
		bool own_ttl = zl_class_ttl_order(L);
		/* ldns keeps its own previous owner; hand it ours. */
		ldns_rdf_deep_free(L->prev);
		L->prev = L->prev_len ? ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, L->prev_len, L->prev_wire) : NULL;
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, L->line, L->default_ttl, L->origin, &L->prev);
		if (st != LDNS_STATUS_OK) {
			/* Name the RR too: ldns' messages do not say which field. */
			const char *txt = L->line;
			while (*txt == ' ' || *txt == '\t')
				txt++;
			zl_report(L, s->file, line, true, "%s: '%.80s%s'", ldns_get_errorstr_by_id(st),
			          txt, strlen(txt) > 80 ? "..." : "");
			ldns_rr_free(rr);
			continue;
		}
		/* ldns reads a default TTL of 0 as "none" and uses 3600. */
		if (!own_ttl && L->default_ttl == 0)
			ldns_rr_set_ttl(rr, 0);
		rc = zl_add_ldns_rr(L, rr, s->file, line);
		ldns_rr_free(rr);
		if (rc)
			return rc;
	}
	return 0;
}

static int zl_add_file_name(struct zl *L, const char *name, uint16_t *idx)
{
	char **f = realloc(L->files, (L->nfiles + 1) * sizeof(*f));
	if (!f)
		return ANYNS_ENOMEM;
	L->files = f;
	if (L->nfiles >= UINT16_MAX || !(f[L->nfiles] = strdup(name)))
		return ANYNS_ENOMEM;
	*idx = (uint16_t)L->nfiles++;
	return 0;
}

static int read_all(const char *path, char **buf, size_t *len)
{
	struct stat st;
	char *b = NULL;
	size_t cap = 0, n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	/* Sized from fstat so that a big zone is read in one allocation. */
	size_t want = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
	for (;;) {
		if (grow((void **)&b, &cap, n + (n < want ? want - n : 65536), 1)) {
			free(b);
			close(fd);
			return ANYNS_ENOMEM;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

static int zl_parse_file(struct zl *L, const char *path, uint16_t from_file, uint32_t from_line)
{
	char *buf = NULL, *alt = NULL;
	size_t len = 0;
	uint16_t idx;
	int rc;

	if (L->depth >= ZL_MAX_INCLUDE_DEPTH) {
		zl_report(L, from_file, from_line, true, "$INCLUDE nested too deep");
		return 0;
	}
	/* An included relative path is looked up beside the including file
	 * first, then from the working directory. */
	if (from_file != UINT16_MAX && path[0] != '/') {
		const char *inc = L->files[from_file];
		const char *slash = strrchr(inc, '/');
		if (slash && asprintf(&alt, "%.*s/%s", (int)(slash - inc), inc, path) > 0) {
			if (access(alt, R_OK) == 0)
				path = alt;
		}
	}
	rc = read_all(path, &buf, &len);
	if (rc == ANYNS_ENOMEM)
		goto out;
	if (rc < 0) {
		if (from_file == UINT16_MAX) {
			if (zl_add_file_name(L, path, &idx) == 0)
				zl_report(L, idx, 0, true, "cannot read: %s", strerror(-rc));
			L->unreadable = true;
		} else {
			zl_report(L, from_file, from_line, true, "cannot read $INCLUDE file %s: %s",
			          path, strerror(-rc));
		}
		rc = 0;
		goto out;
	}
	rc = zl_add_file_name(L, path, &idx);
	if (rc)
		goto out;
	struct src s = { .buf = buf, .len = len, .pos = 0, .line = 1, .file = idx };
	L->depth++;
	rc = zl_parse(L, &s);
	L->depth--;
out:
	free(alt);
	free(buf);
	return rc;
}

/* ---- compile: group, check, lay out ------------------------------------- */

static int rec_type_cmp(const void *a, const void *b, void *ctx)
{
	const struct brec *recs = ctx;
	const struct brec *x = &recs[*(const uint32_t *)a], *y = &recs[*(const uint32_t *)b];
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int rec_rdata_cmp(const void *a, const void *b, void *ctx)
{
	const struct zl *L = ctx;
	const struct brec *x = &L->recs[*(const uint32_t *)a], *y = &L->recs[*(const uint32_t *)b];
	if (x->rdlen != y->rdlen)
		return x->rdlen < y->rdlen ? -1 : 1;
	int c = memcmp(L->rd + x->rd_off, L->rd + y->rd_off, x->rdlen);
	if (c)
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Marks every RR of a big RRset that repeats an earlier one as a dup. */
static int zl_mark_dups(struct zl *L, const uint32_t *set, size_t n)
{
	uint32_t *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return ANYNS_ENOMEM;
	memcpy(tmp, set, n * sizeof(*tmp));
	qsort_r(tmp, n, sizeof(*tmp), rec_rdata_cmp, L);
	/* Ties sort by record index, so the first of equals is the earliest. */
	for (size_t k = 1; k < n; k++) {
		const struct brec *p = &L->recs[tmp[k - 1]];
		struct brec *r = &L->recs[tmp[k]];
		if (p->rdlen == r->rdlen && memcmp(L->rd + p->rd_off, L->rd + r->rd_off, r->rdlen) == 0)
			r->dup = 1;
	}
	free(tmp);
	return 0;
}

static const char *type_name(uint16_t t, char *buf, size_t len)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(t);
	if (d && d->_name)
		return d->_name;
	snprintf(buf, len, "TYPE%u", t);
	return buf;
}

static void node_text(const struct zone *z, uint32_t idx, char *buf, size_t len)
{
	const struct znode *n = &z->nodes[idx];
	if (anyns_name_to_text(z->names + n->name_off, n->name_len, buf, len) < 0)
		snprintf(buf, len, "?");
}

static bool is_dnssec_meta(uint16_t t)
{
	return t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC;
}

/* Groups the records of each node into RRsets sorted by type, merging
 * duplicates and checking what can be checked per node. */
static int zl_compile(struct zl *L)
{
	struct zone *z = L->z;
	uint32_t nn = z->nnodes;
	uint32_t *start = NULL, *perm = NULL;
	size_t blob_cap = 0;
	int rc = ANYNS_ENOMEM;

	/* Counting sort by node keeps file order within a node. */
	start = calloc((size_t)nn + 1, sizeof(*start));
	perm = malloc((L->nrec ? L->nrec : 1) * sizeof(*perm));
	if (!start || !perm)
		goto out;
	for (size_t i = 0; i < L->nrec; i++)
		start[L->recs[i].node + 1]++;
	for (uint32_t i = 0; i < nn; i++)
		start[i + 1] += start[i];
	{
		uint32_t *fill = malloc(((size_t)nn + 1) * sizeof(*fill));
		if (!fill)
			goto out;
		memcpy(fill, start, ((size_t)nn + 1) * sizeof(*fill));
		for (size_t i = 0; i < L->nrec; i++)
			perm[fill[L->recs[i].node]++] = (uint32_t)i;
		free(fill);
	}
	for (size_t i = 0; i < L->nrec; i++)
		blob_cap += 2 + (size_t)L->recs[i].rdlen;
	z->rdata = malloc(blob_cap ? blob_cap : 1);
	z->rrsets = malloc((L->nrec ? L->nrec : 1) * sizeof(*z->rrsets));
	if (!z->rdata || !z->rrsets)
		goto out;

	/* Flags flow from parent to child; parents come first. */
	z->nodes[0].flags |= ZN_APEX;
	z->nodes[0].flags &= (uint16_t)~ZN_DELEG;
	for (uint32_t i = 1; i < nn; i++) {
		struct znode *n = &z->nodes[i];
		const struct znode *p = &z->nodes[n->parent];
		if (p->flags & (ZN_DELEG | ZN_BELOW_CUT)) {
			n->flags |= ZN_BELOW_CUT;
			n->flags &= (uint16_t)~ZN_DELEG;   /* an occluded cut is no cut */
		}
		if (p->flags & (ZN_DNAME | ZN_BELOW_DNAME))
			n->flags |= ZN_BELOW_DNAME;
	}

	for (uint32_t ni = 0; ni < nn; ni++) {
		struct znode *n = &z->nodes[ni];
		uint32_t a = start[ni], b = start[ni + 1];
		n->rrset_first = z->nrrsets;
		n->rrset_count = 0;
		if (a == b) {
			n->flags |= ZN_ENT;
			continue;
		}
		/* Stable sort by type: insertion sort for the usual few records. */
		if (b - a <= 16) {
			for (uint32_t i = a + 1; i < b; i++) {
				uint32_t v = perm[i], j = i;
				while (j > a && L->recs[perm[j - 1]].type > L->recs[v].type) {
					perm[j] = perm[j - 1];
					j--;
				}
				perm[j] = v;
			}
		} else {
			qsort_r(perm + a, b - a, sizeof(*perm), rec_type_cmp, L->recs);
		}
		bool has_cname = false, has_other = false;
		uint32_t cname_line = 0, other_line = 0;
		uint16_t cname_file = 0, other_file = 0, other_type = 0;
		for (uint32_t i = a; i < b;) {
			uint16_t type = L->recs[perm[i]].type;
			uint32_t j = i;
			while (j < b && L->recs[perm[j]].type == type)
				j++;
			/* Merge identical RRs (RFC 2181 5): pairwise for the
			 * usual small sets, by sorting for big ones. */
			if (j - i > 32 && zl_mark_dups(L, perm + i, j - i))
				goto out;
			uint32_t kept = 0, ttl = UINT32_MAX;
			const struct brec *first = &L->recs[perm[i]];
			bool ttl_warned = false;
			zrrset_t *set = &z->rrsets[z->nrrsets];
			set->type = type;
			set->len = 0;
			set->data = NULL;
			for (uint32_t k = i; k < j; k++) {
				struct brec *r = &L->recs[perm[k]];
				for (uint32_t m = i; m < k && (j - i) <= 32; m++) {
					const struct brec *q = &L->recs[perm[m]];
					if (!q->dup && q->rdlen == r->rdlen &&
					    memcmp(L->rd + q->rd_off, L->rd + r->rd_off, r->rdlen) == 0) {
						r->dup = 1;
						break;
					}
				}
				/* RFC 2181 5.2: one TTL per RRset; take the lowest.
				 * RRSIGs take the TTL of the set each one covers
				 * (RFC 4034 3), so theirs differ by design. */
				if (r->ttl != first->ttl && !ttl_warned && type != LDNS_RR_TYPE_RRSIG) {
					char tb[16];
					zl_report(L, r->file, r->line, false,
					          "TTL %u differs from %u in the %s RRset; using the lowest",
					          r->ttl, first->ttl, type_name(type, tb, sizeof(tb)));
					ttl_warned = true;
				}
				if (r->ttl < ttl)
					ttl = r->ttl;
				if (r->dup)
					continue;
				uint8_t *d = z->rdata + z->rdata_len;
				d[0] = (uint8_t)(r->rdlen >> 8);
				d[1] = (uint8_t)r->rdlen;
				memcpy(d + 2, L->rd + r->rd_off, r->rdlen);
				z->rdata_len += 2 + (size_t)r->rdlen;
				set->len += 2 + (uint32_t)r->rdlen;
				kept++;
			}
			if (kept > UINT16_MAX) {
				zl_report(L, first->file, first->line, true, "RRset has more than 65535 records");
				kept = UINT16_MAX;
			}
			set->count = (uint16_t)kept;
			set->ttl = ttl;
			z->stats.records += kept;
			z->nrrsets++;
			n->rrset_count++;

			if (type == LDNS_RR_TYPE_CNAME) {
				has_cname = true;
				cname_line = first->line;
				cname_file = first->file;
				if (kept > 1) {
					const struct brec *second = NULL;
					for (uint32_t k = i + 1; k < j && !second; k++)
						if (!L->recs[perm[k]].dup)
							second = &L->recs[perm[k]];
					zl_report(L, second->file, second->line, true,
					          "more than one CNAME record at the same name");
				}
			} else if (!is_dnssec_meta(type) && !has_other) {
				has_other = true;
				other_line = first->line;
				other_file = first->file;
				other_type = type;
			}
			if (type == LDNS_RR_TYPE_SOA && ni == 0 && kept > 1) {
				const struct brec *second = NULL;
				for (uint32_t k = i + 1; k < j && !second; k++)
					if (!L->recs[perm[k]].dup)
						second = &L->recs[perm[k]];
				zl_report(L, second->file, second->line, true, "more than one SOA record");
			}
			i = j;
		}
		if (has_cname && has_other) {
			/* RFC 1034 3.6.2; RFC 4035 2.5 allows RRSIG and NSEC. */
			char tb[16];
			bool cname_later = cname_file == other_file ? cname_line > other_line : false;
			zl_report(L, cname_later ? cname_file : other_file,
			          cname_later ? cname_line : other_line, true,
			          "CNAME and other data (%s) at the same name",
			          type_name(other_type, tb, sizeof(tb)));
		}
		/* Occluded data: below a cut only glue (A/AAAA) is expected. */
		if (n->flags & ZN_BELOW_DNAME) {
			const struct brec *r = &L->recs[perm[a]];
			char nb[1024];
			node_text(z, ni, nb, sizeof(nb));
			zl_report(L, r->file, r->line, false, "%s is below a DNAME and occluded", nb);
		} else if (n->flags & ZN_BELOW_CUT) {
			for (uint32_t i = a; i < b; i++) {
				const struct brec *r = &L->recs[perm[i]];
				if (r->type != LDNS_RR_TYPE_A && r->type != LDNS_RR_TYPE_AAAA) {
					char nb[1024], tb[16];
					node_text(z, ni, nb, sizeof(nb));
					zl_report(L, r->file, r->line, false,
					          "%s %s is below a delegation and occluded", nb,
					          type_name(r->type, tb, sizeof(tb)));
					break;
				}
			}
		}
	}
	rc = 0;
out:
	free(start);
	free(perm);
	return rc;
}

/* Skips one uncompressed name in rdata; returns its length or 0. */
static size_t rd_name_len(const uint8_t *d, size_t max)
{
	int n = wname_check(d, max);
	return n > 0 ? (size_t)n : 0;
}

/* RFC 1034 4.2.1: an NS target inside the zone at or below a cut is only
 * reachable through glue, so the A/AAAA must be there. */
static void zl_check_glue(struct zl *L)
{
	struct zone *z = L->z;
	for (size_t i = 0; i < L->nrec; i++) {
		const struct brec *r = &L->recs[i];
		if (r->type != LDNS_RR_TYPE_NS || r->dup ||
		    (z->nodes[r->node].flags & (ZN_BELOW_CUT | ZN_BELOW_DNAME)))
			continue;
		uint8_t t[WNAME_MAXLEN];
		size_t tl = rd_name_len(L->rd + r->rd_off, r->rdlen);
		if (tl == 0)
			continue;
		wname_lower(t, L->rd + r->rd_off, tl);
		if (!wname_is_subdomain(t, tl, z->origin, z->origin_len))
			continue;
		const znode_t *ce = zone_closest_encloser(z, t, tl);
		bool below = (ce->flags & ZN_BELOW_CUT) || (ce->flags & ZN_DELEG);
		if (!below)
			continue;
		bool exact = ce->name_len == tl;
		if (exact && (znode_rrset(ce, LDNS_RR_TYPE_A) || znode_rrset(ce, LDNS_RR_TYPE_AAAA)))
			continue;
		char tb[1024];
		anyns_name_to_text(t, tl, tb, sizeof(tb));
		zl_report(L, r->file, r->line, true, "missing glue: no A or AAAA for NS target %s", tb);
	}
}

static uint32_t rd_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void zl_finish(struct zl *L, uint16_t main_file)
{
	struct zone *z = L->z;
	const struct znode *apex;
	const zrrset_t *soa;

	/* Turn the RRsets' implicit offsets (they were written in order) into
	 * pointers, now that the blob no longer moves. */
	void *p;
	if (z->rdata_len && (p = realloc(z->rdata, z->rdata_len)))
		z->rdata = p;
	if (z->nrrsets && (p = realloc(z->rrsets, z->nrrsets * sizeof(*z->rrsets))))
		z->rrsets = p;
	if ((p = realloc((char *)z->nodes - ZNODES_HDR,
	                 ZNODES_HDR + (size_t)z->nnodes * sizeof(*z->nodes))))
		z->nodes = (struct znode *)(void *)((char *)p + ZNODES_HDR);
	if (z->names_len && (p = realloc(z->names, z->names_len)))
		z->names = p;
	size_t off = 0;
	for (uint32_t i = 0; i < z->nrrsets; i++) {
		z->rrsets[i].data = z->rdata + off;
		off += z->rrsets[i].len;
	}
	memcpy((char *)z->nodes - ZNODES_HDR, &z, sizeof(z));

	apex = &z->nodes[0];
	soa = znode_rrset(apex, LDNS_RR_TYPE_SOA);
	uint32_t soa_line = 0;
	uint16_t soa_file = main_file;
	for (size_t i = 0; i < L->nrec; i++) {
		if (L->recs[i].type == LDNS_RR_TYPE_SOA && L->recs[i].node == 0) {
			soa_line = L->recs[i].line;
			soa_file = L->recs[i].file;
			break;
		}
	}
	if (!soa) {
		zl_report(L, main_file, 0, true, "no SOA record at the zone apex %s", z->origin_text);
	} else {
		z->soa = soa;
		const uint8_t *d = soa->data + 2;
		size_t rdlen = (size_t)soa->data[0] << 8 | soa->data[1];
		size_t n1 = rd_name_len(d, rdlen);
		size_t n2 = n1 ? rd_name_len(d + n1, rdlen - n1) : 0;
		if (n1 && n2 && n1 + n2 + 20 <= rdlen)
			z->stats.serial = rd_u32(d + n1 + n2);
		else
			zl_report(L, soa_file, soa_line, true, "malformed SOA rdata");
	}
	if (!znode_rrset(apex, LDNS_RR_TYPE_NS))
		zl_report(L, soa_file, soa_line, true, "no NS records at the zone apex %s", z->origin_text);

	z->stats.rrsets = z->nrrsets;
	z->stats.names = z->nnodes;
	z->stats.bytes = sizeof(*z) + ZNODES_HDR + (size_t)z->nnodes * sizeof(*z->nodes) +
	                 ((size_t)z->mask + 1) * sizeof(*z->table) + z->names_len +
	                 (size_t)z->nrrsets * sizeof(*z->rrsets) + z->rdata_len +
	                 strlen(z->origin_text) + 1;
}

static void zl_cleanup(struct zl *L)
{
	free(L->recs);
	free(L->rd);
	for (size_t i = 0; i < L->nfiles; i++)
		free(L->files[i]);
	free(L->files);
	free(L->line);
	free(L->line2);
	free(L->scratch);
	ldns_rdf_deep_free(L->origin);
	ldns_rdf_deep_free(L->prev);
}

static int zl_init(struct zl *L, const char *origin, zone_diag_fn diag, void *ctx)
{
	memset(L, 0, sizeof(*L));
	L->diag = diag;
	L->diag_ctx = ctx;
	L->default_ttl = LDNS_DEFAULT_TTL;   /* 3600 without $TTL, as NSD */
	struct zone *z = calloc(1, sizeof(*z));
	if (!z)
		return ANYNS_ENOMEM;
	L->z = z;
	atomic_init(&z->refs, 1);
	int len = anyns_name_from_text(origin, z->origin, sizeof(z->origin));
	if (len < 0)
		return ANYNS_EINVAL;
	z->origin_len = (uint8_t)len;
	z->origin_labels = (uint8_t)wname_labels(z->origin);
	char txt[1024];
	anyns_name_to_text(z->origin, z->origin_len, txt, sizeof(txt));
	z->origin_text = strdup(txt);
	L->origin = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, z->origin_len, z->origin);
	if (!z->origin_text || !L->origin)
		return ANYNS_ENOMEM;
	sync_origin(L);
	/* Never NULL, so that empty rdata can be copied and compared. */
	if (grow((void **)&L->rd, &L->rd_cap, 4096, 1))
		return ANYNS_ENOMEM;
	/* ANYNS_ZONE_NOFAST=1 parses every RR with ldns (to compare both paths). */
	const char *nf = getenv("ANYNS_ZONE_NOFAST");
	L->no_fast = nf && *nf == '1';
	if (zl_add_node(L, z->origin, z->origin_len,
	                wname_hash(z->origin, z->origin_len), ZIDX_NONE) != 0)
		return ANYNS_ENOMEM;
	return 0;
}

/* The build arrays grow by realloc and die at the end of a load; give
 * their pages back so that a server's resident size is its zones. */
static void zl_trim(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static int zl_run(struct zl *L, zone_t **out, uint16_t main_file)
{
	if (L->gave_up)
		return ANYNS_EZONE;
	int rc = zl_compile(L);
	if (rc)
		return rc;
	zl_finish(L, main_file);
	zl_check_glue(L);
	L->z->stats.errors = L->errors;
	L->z->stats.warnings = L->warnings;
	if (L->errors)
		return ANYNS_EZONE;
	*out = L->z;
	L->z = NULL;
	return 0;
}

int zone_compile_file(const char *origin, const char *path, zone_diag_fn diag,
                      void *diag_ctx, zone_t **out)
{
	struct zl L;
	int rc;
	if (!origin || !path || !out)
		return ANYNS_EINVAL;
	*out = NULL;
	rc = zl_init(&L, origin, diag, diag_ctx);
	if (rc)
		goto out;
	rc = zl_parse_file(&L, path, UINT16_MAX, 0);
	if (rc)
		goto out;
	if (L.unreadable) {
		rc = ANYNS_EZONE;
		goto out;
	}
	rc = zl_run(&L, out, 0);
out:
	zdb__free(L.z);
	zl_cleanup(&L);
	zl_trim();
	return rc;
}

int zone_compile_text(const char *origin, const char *text, const char *name,
                      zone_diag_fn diag, void *diag_ctx, zone_t **out)
{
	struct zl L;
	uint16_t idx;
	int rc;
	if (!origin || !text || !out)
		return ANYNS_EINVAL;
	*out = NULL;
	rc = zl_init(&L, origin, diag, diag_ctx);
	if (rc)
		goto out;
	rc = zl_add_file_name(&L, name ? name : "<text>", &idx);
	if (rc)
		goto out;
	struct src s = { .buf = text, .len = strlen(text), .pos = 0, .line = 1, .file = idx };
	rc = zl_parse(&L, &s);
	if (rc)
		goto out;
	rc = zl_run(&L, out, idx);
out:
	zdb__free(L.z);
	zl_cleanup(&L);
	return rc;
}
