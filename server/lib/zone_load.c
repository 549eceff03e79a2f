/* The master-file reader and the public entry points of zone loading.
 *
 * The reader splits a file into logical lines (comments, quotes,
 * parentheses; RFC 1035 5.1), follows $ORIGIN, $TTL and $INCLUDE, hands each
 * RR line to the parser (zone_parse.c) and each parsed RR to the builder
 * (zone_build.c), which checks and compiles the zone. It does this itself
 * rather than through ldns_zone_new_frm_fp_l() so that every syntax error is
 * reported (not only the first), $INCLUDE keeps the included file's name,
 * each RR keeps the line it started on, and no ldns zone is ever held in
 * memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "zone_build.h"
#include "zone_parse.h"

#define ZL_MAX_INCLUDE_DEPTH 10
#define ZL_MAX_LINE          (1u << 20)
#define ZL_MAX_ERRORS        1000

struct zread {
	zone_builder_t *b;
	struct zparse P;
	char *line;             /* the current logical line */
	size_t line_cap;
	int depth;
	bool unreadable;        /* the main file could not be read */
	bool gave_up;           /* ZL_MAX_ERRORS reached */
};

struct src {
	const char *buf;
	size_t len, pos;
	uint32_t line;          /* line number of buf[pos] */
	uint16_t file;
};

static int line_put(struct zread *R, size_t *o, char c)
{
	if (*o + 2 > R->line_cap) {
		if (R->line_cap >= ZL_MAX_LINE)
			return ANYNS_ESPACE;
		if (grow((void **)&R->line, &R->line_cap, *o + 2, 1))
			return ANYNS_ENOMEM;
	}
	R->line[(*o)++] = c;
	return 0;
}

static const uint8_t zl_special[256] = {
	['\n'] = 1, ['\r'] = 1, [';'] = 1, ['('] = 1, [')'] = 1, ['"'] = 1, ['\\'] = 1,
};

/* Reads one logical line into R->line: comments dropped, parentheses
 * joined into one line (RFC 1035 5.1), quotes and escapes kept for ldns.
 * Returns 1 with a line (maybe blank), 0 at the end, <0 on a syntax error
 * (message in *err; the rest of that logical line has been skipped). */
static int zl_getline(struct zread *R, struct src *s, uint32_t *start, const char **err)
{
	size_t o = 0;
	int depth = 0;
	bool inq = false;
	*start = s->line;
	*err = NULL;
	if (s->pos >= s->len)
		return 0;
	if (!R->line && grow((void **)&R->line, &R->line_cap, 256, 1))
		return ANYNS_ENOMEM;
	while (s->pos < s->len) {
		if (!inq) {
			/* Copy runs of ordinary characters at once. */
			size_t st = s->pos;
			while (s->pos < s->len && !zl_special[(uint8_t)s->buf[s->pos]])
				s->pos++;
			size_t run = s->pos - st;
			if (run) {
				if (o + run + 2 > R->line_cap) {
					if (o + run + 2 > ZL_MAX_LINE ||
					    grow((void **)&R->line, &R->line_cap, o + run + 2, 1))
						goto toolong;
				}
				memcpy(R->line + o, s->buf + st, run);
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
				if (line_put(R, &o, c))
					goto toolong;
				c = s->buf[s->pos++];
				if (c == '\n')
					s->line++;
			} else if (c == '"') {
				inq = false;
			}
		} else if (c == '\\') {
			if (line_put(R, &o, c))
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
		if (line_put(R, &o, c))
			goto toolong;
	}
	if ((depth > 0 || inq) && !*err)
		*err = depth > 0 ? "'(' without ')'" : "unterminated quoted string";
	R->line[o] = 0;
	return *err ? -1 : 1;
toolong:
	/* Skip to the end of this physical line and give up on it. */
	while (s->pos < s->len && s->buf[s->pos] != '\n')
		s->pos++;
	*err = "line too long";
	if (R->line_cap)
		R->line[0] = 0;
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

static int zr_parse_file(struct zread *R, const char *path, uint16_t from_file, uint32_t from_line);

/* $INCLUDE FILE [ORIGIN]: RFC 1035 5.1, the origin given (or the current
 * one) applies inside the file; ours and the $TTL are restored after. */
static int zr_include(struct zread *R, struct src *s, uint32_t line, char *arg, char *oarg)
{
	ldns_rdf *o = NULL;
	if (oarg && !(o = zparse_dname(&R->P, oarg))) {
		zb_report(R->b, s->file, line, true, "bad $INCLUDE origin '%s'", oarg);
		return 0;
	}
	ldns_rdf *saved = zparse_swap_origin(&R->P, o ? o : ldns_rdf_clone(R->P.origin));
	uint32_t ttl = R->P.default_ttl;
	char *fname = strdup(arg);
	int rc = fname ? zr_parse_file(R, fname, s->file, line) : ANYNS_ENOMEM;
	free(fname);
	ldns_rdf_deep_free(zparse_swap_origin(&R->P, saved));
	R->P.default_ttl = ttl;
	return rc;
}

static int zr_directive(struct zread *R, struct src *s, uint32_t line)
{
	char *cur = R->line;
	char *dir = next_tok(&cur);
	char *arg = next_tok(&cur);
	if (strcasecmp(dir, "$ORIGIN") == 0 && arg) {
		ldns_rdf *o = zparse_dname(&R->P, arg);
		if (!o) {
			zb_report(R->b, s->file, line, true, "bad $ORIGIN name '%s'", arg);
			return 0;
		}
		ldns_rdf_deep_free(zparse_swap_origin(&R->P, o));
	} else if (strcasecmp(dir, "$TTL") == 0 && arg) {
		const char *end;
		uint32_t ttl = ldns_str2period(arg, &end);
		if (*end || end == arg) {
			zb_report(R->b, s->file, line, true, "bad $TTL value '%s'", arg);
			return 0;
		}
		if (ttl > ZB_TTL_MAX) {
			zb_report(R->b, s->file, line, false, "$TTL %u is above %u (RFC 2181 8); using %u",
			          ttl, ZB_TTL_MAX, ZB_TTL_DEFAULT);
			ttl = ZB_TTL_DEFAULT;
		}
		R->P.default_ttl = ttl;
	} else if (strcasecmp(dir, "$INCLUDE") == 0 && arg) {
		return zr_include(R, s, line, arg, next_tok(&cur));
	} else {
		zb_report(R->b, s->file, line, true, "unknown or incomplete directive '%s'", dir);
	}
	return 0;
}

/* Drops blanks at the end of a line (after the rdata, or left where a
 * comment was), as NSD and Knot do; an escaped blank ("\ ") stays. */
static void trim_blanks(char *line)
{
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) {
		size_t bs = 0;
		while (bs + 1 < n && line[n - 2 - bs] == '\\')
			bs++;
		if (bs % 2)
			break;
		n--;
	}
	line[n] = 0;
}

static int zr_parse(struct zread *R, struct src *s)
{
	int rc = 0;
	for (;;) {
		uint32_t line;
		const char *err;
		/* A file that is not a zone at all would report every line. */
		if (zb_errors(R->b) >= ZL_MAX_ERRORS) {
			if (!R->gave_up)
				zb_report(R->b, s->file, s->line, true, "too many errors, stopped reading");
			R->gave_up = true;
			return 0;
		}
		int r = zl_getline(R, s, &line, &err);
		if (r == 0)
			break;
		if (r < 0 && !err)
			return r;
		if (r < 0) {
			zb_report(R->b, s->file, line, true, "%s", err);
			continue;
		}
		char *p = R->line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		trim_blanks(R->line);
		if (R->line[0] == '$') {
			rc = zr_directive(R, s, line);
			if (rc)
				return rc;
			continue;
		}
		zb_rr_t rr;
		char msg[256];
		rc = zparse_line(&R->P, R->line, &rr, msg, sizeof(msg));
		if (rc < 0)
			return rc;
		if (rc == 0) {
			zb_report(R->b, s->file, line, true, "%s", msg);
			continue;
		}
		rc = zb_add_rr(R->b, &rr, s->file, line);
		if (rc)
			return rc;
	}
	return 0;
}

static int zr_parse_file(struct zread *R, const char *path, uint16_t from_file, uint32_t from_line)
{
	char *buf = NULL, *alt = NULL;
	size_t len = 0;
	uint16_t idx;
	int rc;

	if (R->depth >= ZL_MAX_INCLUDE_DEPTH) {
		zb_report(R->b, from_file, from_line, true, "$INCLUDE nested too deep");
		return 0;
	}
	/* An included relative path is looked up beside the including file
	 * first, then from the working directory. */
	if (from_file != UINT16_MAX && path[0] != '/') {
		const char *inc = zb_source_name(R->b, from_file);
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
			if (zb_source(R->b, path, &idx) == 0)
				zb_report(R->b, idx, 0, true, "cannot read: %s", strerror(-rc));
			R->unreadable = true;
		} else {
			zb_report(R->b, from_file, from_line, true, "cannot read $INCLUDE file %s: %s",
			          path, strerror(-rc));
		}
		rc = 0;
		goto out;
	}
	rc = zb_source(R->b, path, &idx);
	if (rc)
		goto out;
	struct src s = { .buf = buf, .len = len, .pos = 0, .line = 1, .file = idx };
	R->depth++;
	rc = zr_parse(R, &s);
	R->depth--;
out:
	free(alt);
	free(buf);
	return rc;
}

/* ---- entry points ------------------------------------------------------- */

void zone_load_opts_init(zone_load_opts_t *o)
{
	memset(o, 0, sizeof(*o));
}

static int zr_init(struct zread *R, const char *origin, const zone_load_opts_t *opts,
                   zone_diag_fn diag, void *ctx)
{
	uint8_t w[WNAME_MAXLEN];
	memset(R, 0, sizeof(*R));
	int len = anyns_name_from_text(origin, w, sizeof(w));
	if (len < 0)
		return ANYNS_EINVAL;
	int rc = zb_begin(w, (size_t)len, opts, diag, ctx, &R->b);
	if (rc)
		return rc;
	return zparse_init(&R->P, w, (size_t)len, opts && opts->ldns_only);
}

/* Compiles what was read; frees the reader. */
static int zr_done(struct zread *R, int rc, uint16_t main_src, zone_t **out)
{
	if (rc == 0 && (R->unreadable || R->gave_up))
		rc = ANYNS_EZONE;
	if (rc == 0) {
		rc = zb_finish(R->b, main_src, out);
		R->b = NULL;
	}
	zb_abort(R->b);
	zparse_free(&R->P);
	free(R->line);
	return rc;
}

int zone_compile_file_opts(const char *origin, const char *path, const zone_load_opts_t *opts,
                           zone_diag_fn diag, void *diag_ctx, zone_t **out)
{
	struct zread R;
	if (!origin || !path || !out)
		return ANYNS_EINVAL;
	*out = NULL;
	int rc = zr_init(&R, origin, opts, diag, diag_ctx);
	if (rc == 0)
		rc = zr_parse_file(&R, path, UINT16_MAX, 0);
	return zr_done(&R, rc, 0, out);
}

int zone_compile_text_opts(const char *origin, const char *text, const char *name,
                           const zone_load_opts_t *opts, zone_diag_fn diag, void *diag_ctx,
                           zone_t **out)
{
	struct zread R;
	uint16_t idx = 0;
	if (!origin || !text || !out)
		return ANYNS_EINVAL;
	*out = NULL;
	int rc = zr_init(&R, origin, opts, diag, diag_ctx);
	if (rc == 0)
		rc = zb_source(R.b, name ? name : "<text>", &idx);
	if (rc == 0) {
		struct src s = { .buf = text, .len = strlen(text), .pos = 0, .line = 1, .file = idx };
		rc = zr_parse(&R, &s);
	}
	return zr_done(&R, rc, idx, out);
}

int zone_compile_file(const char *origin, const char *path, zone_diag_fn diag,
                      void *diag_ctx, zone_t **out)
{
	return zone_compile_file_opts(origin, path, NULL, diag, diag_ctx, out);
}

int zone_compile_text(const char *origin, const char *text, const char *name,
                      zone_diag_fn diag, void *diag_ctx, zone_t **out)
{
	return zone_compile_text_opts(origin, text, name, NULL, diag, diag_ctx, out);
}
