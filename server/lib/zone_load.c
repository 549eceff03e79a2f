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
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
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

#define ZL_DEFAULT_MAX_FILE  (1ull << 30)
#define ZL_DEFAULT_MAX_ZONE  (4ull << 30)

struct zpipe;

struct zread {
	zone_builder_t *b;
	struct zparse P;
	const zone_load_opts_t *opts;
	char *line;             /* the current logical line */
	size_t line_cap;
	int depth;
	bool unreadable;        /* the main file could not be read */
	bool gave_up;           /* ZL_MAX_ERRORS reached */
	uint64_t max_file, max_zone;
	uint64_t total;         /* bytes read for this zone, includes counted each time */
	char *roots[2];         /* real paths of the folders includes may come from */
	struct zpipe *pipe;     /* the parser runs on its own thread (zr_run()) */
	struct src *cur;        /* the innermost file being read */
};

struct src {
	const char *buf;
	size_t len, pos;
	uint32_t line;          /* line number of buf[pos] */
	uint16_t file;
	bool quote;             /* inside the zone's folders: messages may quote it */
	const char *name;       /* as registered with the builder */
};

/* ---- the parser on its own thread ---------------------------------------
 *
 * With zone_load_opts_t.threads >= 2 a big file is read and parsed on a
 * thread of its own while the calling thread builds: the parser hands over
 * batches of events (an RR in wire form, a message, a new source) in file
 * order, and the builder replays them in that order, so the messages, their
 * files and lines and the compiled zone are those of a serial load. The
 * builder also decides when to give up after ZL_MAX_ERRORS, at the place a
 * serial load would: the position the parser had reached after the event
 * that reached the limit. */
#define ZP_BATCH   (256u << 10)
#define ZP_BATCHES 8
#define ZP_MIN     (64u << 10)   /* smaller texts are read on the calling thread */

enum { ZEV_RR = 1, ZEV_REPORT, ZEV_SOURCE };

struct zev {
	uint8_t kind;
	uint8_t flag;           /* REPORT: fatal; SOURCE: private */
	uint16_t file;          /* RR, REPORT: source of the line */
	uint16_t cfile;         /* where a serial load would check the error count next */
	uint16_t type, rclass;
	uint16_t owner_len;
	uint32_t line, cline;
	uint32_t ttl;
	uint32_t hash;          /* RR: hash of the lowercased owner, for zb_prefetch() */
	uint32_t len;           /* payload after the header: owner and rdata, or text with its NUL */
};

struct zpipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *full[ZP_BATCHES];     /* batches handed over, in order */
	size_t full_len[ZP_BATCHES];
	unsigned head, count;
	char *spare[ZP_BATCHES];    /* batches to fill */
	unsigned nspare;
	bool done;                  /* the parser has finished */
	atomic_bool stop;           /* the builder wants no more */
	int rc;                     /* the parser's result */
	char *cur;                  /* the batch the parser fills */
	size_t cur_len;
	size_t nsrcs;               /* sources registered, counting those still in batches */
	struct zread *R;
	struct src *s;
};

/* Hands the current batch over (parser side). */
static void zp_flush(struct zpipe *P)
{
	if (!P->cur_len)
		return;
	pthread_mutex_lock(&P->mu);
	P->full[(P->head + P->count) % ZP_BATCHES] = P->cur;
	P->full_len[(P->head + P->count) % ZP_BATCHES] = P->cur_len;
	P->count++;
	pthread_cond_broadcast(&P->cv);
	while (!P->nspare)
		pthread_cond_wait(&P->cv, &P->mu);
	P->cur = P->spare[--P->nspare];
	P->cur_len = 0;
	pthread_mutex_unlock(&P->mu);
}

/* Room for one event with `payload` bytes; the header filled with the
 * position of the next error-count check. */
static struct zev *zp_event(struct zread *R, uint8_t kind, size_t payload)
{
	struct zpipe *P = R->pipe;
	size_t need = (sizeof(struct zev) + payload + 7) & ~(size_t)7;
	if (P->cur_len + need > ZP_BATCH)
		zp_flush(P);
	struct zev *e = (struct zev *)(void *)(P->cur + P->cur_len);
	P->cur_len += need;
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->len = (uint32_t)payload;
	e->cfile = R->cur ? R->cur->file : 0;
	e->cline = R->cur ? R->cur->line : 0;
	return e;
}

static int zp_rr(struct zread *R, const zb_rr_t *rr, uint16_t src, uint32_t line)
{
	/* The builder refuses what does not fit the event; it says so. */
	size_t ol = rr->owner_len <= WNAME_MAXLEN ? rr->owner_len : 0;
	size_t rl = rr->rdlen <= 65535 ? rr->rdlen : 0;
	struct zev *e = zp_event(R, ZEV_RR, ol + rl);
	e->file = src;
	e->line = line;
	e->type = rr->type;
	e->rclass = rr->rclass;
	e->ttl = rr->ttl;
	e->owner_len = (uint16_t)ol;
	e->flag = rr->rdlen > 65535;
	/* The builder hashes the lowercased owner; the parser's thread has
	 * time to do it once more for the prefetch. */
	uint8_t low[WNAME_MAXLEN];
	wname_lower(low, rr->owner, ol);
	e->hash = wname_hash(low, ol);
	memcpy(e + 1, rr->owner, ol);
	memcpy((char *)(e + 1) + ol, rr->rdata, rl);
	return 0;
}

static void zr_report(struct zread *R, uint16_t src, uint32_t line, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void zr_report(struct zread *R, uint16_t src, uint32_t line, bool fatal, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!R->pipe) {
		zb_report(R->b, src, line, fatal, "%s", msg);
		return;
	}
	size_t n = strlen(msg) + 1;
	struct zev *e = zp_event(R, ZEV_REPORT, n);
	e->file = src;
	e->line = line;
	e->flag = fatal;
	memcpy(e + 1, msg, n);
}

/* Registers a source; with the parser on its own thread the builder does
 * it when it reaches the event, in the same order, so the ids agree. */
static int zr_source(struct zread *R, const char *name, bool priv, uint16_t *id)
{
	if (!R->pipe) {
		int rc = zb_source(R->b, name, id);
		if (rc == 0 && priv)
			zb_source_private(R->b, *id);
		return rc;
	}
	if (R->pipe->nsrcs >= UINT16_MAX)
		return ANYNS_ENOMEM;
	size_t n = strlen(name) + 1;
	struct zev *e = zp_event(R, ZEV_SOURCE, n);
	e->flag = priv;
	memcpy(e + 1, name, n);
	*id = (uint16_t)R->pipe->nsrcs++;
	e->file = *id;
	return 0;
}

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
	/* Blanks at the end (after the rdata, or where a comment was) go, as
	 * NSD and Knot drop them; an escaped blank ("\\ ") stays. */
	while (o > 0 && (R->line[o - 1] == ' ' || R->line[o - 1] == '\t')) {
		size_t bs = 0;
		while (bs + 1 < o && R->line[o - 2 - bs] == '\\')
			bs++;
		if (bs % 2)
			break;
		o--;
	}
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

/* The real path of an open file (symbolic links resolved), or NULL. */
static char *fd_realpath(int fd, const char *path)
{
	char link[64], buf[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n > 0 && buf[0] == '/') {
		buf[n] = 0;
		return strdup(buf);
	}
	return realpath(path, NULL);
}

/* True when real path `p` is the folder `root` or below it. */
static bool path_under(const char *p, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return true;
	return strncmp(p, root, n) == 0 && (p[n] == '/' || p[n] == 0);
}

static bool zr_inside(const struct zread *R, const char *real)
{
	for (size_t i = 0; i < sizeof(R->roots) / sizeof(R->roots[0]); i++)
		if (R->roots[i] && real && path_under(real, R->roots[i]))
			return true;
	return false;
}

/* Why a file was not read, beyond errno values. */
enum { ZR_NOTREG = -2000, ZR_OUTSIDE, ZR_FILE_BIG, ZR_ZONE_BIG, ZR_NUL };

static const char *zr_strerror(int rc)
{
	switch (rc) {
	case ZR_NOTREG:   return "not a regular file";
	case ZR_OUTSIDE:  return "outside the zone's folder and zones-dir (includes from there are not allowed)";
	case ZR_FILE_BIG: return "larger than the size limit for one file";
	case ZR_ZONE_BIG: return "the zone's files together exceed the size limit for a zone";
	case ZR_NUL:      return "a NUL byte (not a text file)";
	default:          return strerror(-rc);
	}
}

/* A file is read this much at a time, so that one with a NUL byte early (a
 * sparse file, a binary) is refused before the rest of it is held. */
#define ZL_READ_CHUNK (4u << 20)

/* Reads a whole zone file or include: only a regular file (a FIFO or a
 * device would block or never end; opening with O_NONBLOCK keeps a FIFO
 * from blocking the open itself), within the size limits, without a NUL
 * byte (ZR_NUL, its line in *nul_line), and for an include only from the
 * zone's folders unless the options allow any. *inside says whether the
 * file lies in those folders. */
static int read_zone_file(struct zread *R, const char *path, bool include, char **buf,
                          size_t *len, bool *inside, uint32_t *nul_line)
{
	struct stat st;
	char *b = NULL, *real = NULL;
	size_t cap = 0, n = 0;
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ZR_NOTREG;
		goto fail;
	}
	if (R->opts->file_read)
		R->opts->file_read(R->opts->file_read_ctx, path, &st);
	real = fd_realpath(fd, path);
	if (!include && real) {
		/* The main file's folder is where its includes may come from. */
		char *slash = strrchr(real, '/');
		R->roots[0] = slash == real ? strdup("/") : strndup(real, (size_t)(slash - real));
		if (!R->roots[0]) {
			rc = ANYNS_ENOMEM;
			goto fail;
		}
	}
	*inside = !include || zr_inside(R, real);
	if (include && !*inside && !R->opts->include_anywhere) {
		rc = ZR_OUTSIDE;
		goto fail;
	}
	if ((uint64_t)st.st_size > R->max_file) {
		rc = ZR_FILE_BIG;
		goto fail;
	}
	if (R->total + (uint64_t)st.st_size > R->max_zone) {
		rc = ZR_ZONE_BIG;
		goto fail;
	}
	/* Sized from fstat so that a big zone is read in one allocation; the
	 * limits hold also when the file grows while it is read. */
	size_t want = (size_t)st.st_size + 1;
	for (;;) {
		if (n > R->max_file || R->total + n > R->max_zone) {
			rc = n > R->max_file ? ZR_FILE_BIG : ZR_ZONE_BIG;
			goto fail;
		}
		if (grow((void **)&b, &cap, n + (n < want ? want - n : 65536), 1)) {
			rc = ANYNS_ENOMEM;
			goto fail;
		}
		ssize_t r = read(fd, b + n, cap - n < ZL_READ_CHUNK ? cap - n : ZL_READ_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		const char *nul = memchr(b + n, 0, (size_t)r);
		if (nul) {
			uint32_t line = 1;
			for (const char *p = b; (p = memchr(p, '\n', (size_t)(nul - p))) != NULL; p++)
				line++;
			*nul_line = line;
			rc = ZR_NUL;
			goto fail;
		}
		n += (size_t)r;
	}
	if (n > R->max_file || R->total + n > R->max_zone) {
		rc = n > R->max_file ? ZR_FILE_BIG : ZR_ZONE_BIG;
		goto fail;
	}
	R->total += n;
	close(fd);
	free(real);
	*buf = b;
	*len = n;
	return 0;
fail:
	close(fd);
	free(real);
	free(b);
	return rc;
}

static int zr_parse_file(struct zread *R, const char *path, const struct src *from,
                         uint32_t from_line);

/* $INCLUDE FILE [ORIGIN]: RFC 1035 5.1, the origin given (or the current
 * one) applies inside the file; ours and the $TTL are restored after. */
static int zr_include(struct zread *R, struct src *s, uint32_t line, char *arg, char *oarg)
{
	ldns_rdf *o = NULL;
	char q[ZPARSE_EXCERPT * 4 + 8];
	if (oarg && !(o = zparse_dname(&R->P, oarg))) {
		zr_report(R, s->file, line, true, "bad $INCLUDE origin%s",
		          zparse_quote(s->quote, oarg, strlen(oarg), q, sizeof(q)));
		return 0;
	}
	ldns_rdf *saved = zparse_swap_origin(&R->P, o ? o : ldns_rdf_clone(R->P.origin));
	uint32_t ttl = R->P.default_ttl;
	char *fname = strdup(arg);
	int rc = fname ? zr_parse_file(R, fname, s, line) : ANYNS_ENOMEM;
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
	char q[ZPARSE_EXCERPT * 4 + 8];
	if (strcasecmp(dir, "$ORIGIN") == 0 && arg) {
		ldns_rdf *o = zparse_dname(&R->P, arg);
		if (!o) {
			zr_report(R, s->file, line, true, "bad $ORIGIN name%s",
			          zparse_quote(s->quote, arg, strlen(arg), q, sizeof(q)));
			return 0;
		}
		ldns_rdf_deep_free(zparse_swap_origin(&R->P, o));
	} else if (strcasecmp(dir, "$TTL") == 0 && arg) {
		const char *end;
		uint32_t ttl = ldns_str2period(arg, &end);
		if (*end || end == arg) {
			zr_report(R, s->file, line, true, "bad $TTL value%s",
			          zparse_quote(s->quote, arg, strlen(arg), q, sizeof(q)));
			return 0;
		}
		if (ttl > ZB_TTL_MAX) {
			zr_report(R, s->file, line, false, "$TTL %u is above %u (RFC 2181 8); using %u",
			          ttl, ZB_TTL_MAX, ZB_TTL_DEFAULT);
			ttl = ZB_TTL_DEFAULT;
		}
		R->P.default_ttl = ttl;
	} else if (strcasecmp(dir, "$INCLUDE") == 0 && arg) {
		return zr_include(R, s, line, arg, next_tok(&cur));
	} else {
		zr_report(R, s->file, line, true, "unknown or incomplete directive%s",
		          zparse_quote(s->quote, dir, strlen(dir), q, sizeof(q)));
	}
	return 0;
}

static int zr_parse_src(struct zread *R, struct src *s)
{
	int rc = 0;
	for (;;) {
		uint32_t line;
		const char *err;
		/* A file that is not a zone at all would report every line. */
		if (R->pipe) {
			if (atomic_load_explicit(&R->pipe->stop, memory_order_relaxed))
				return 0;
		} else if (zb_errors(R->b) >= ZL_MAX_ERRORS) {
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
			zr_report(R, s->file, line, true, "%s", err);
			continue;
		}
		char *p = R->line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		if (R->line[0] == '$') {
			rc = zr_directive(R, s, line);
			if (rc)
				return rc;
			continue;
		}
		zb_rr_t rr;
		char msg[256];
		R->P.quote = s->quote;
		rc = zparse_line(&R->P, R->line, &rr, msg, sizeof(msg));
		if (rc < 0)
			return rc;
		if (rc == 0) {
			zr_report(R, s->file, line, true, "%s", msg);
			continue;
		}
		rc = R->pipe ? zp_rr(R, &rr, s->file, line) : zb_add_rr(R->b, &rr, s->file, line);
		if (rc)
			return rc;
	}
	return 0;
}

static int zr_parse(struct zread *R, struct src *s)
{
	struct src *outer = R->cur;
	R->cur = s;
	int rc = zr_parse_src(R, s);
	R->cur = outer;
	return rc;
}

static void *zp_main(void *arg)
{
	struct zpipe *P = arg;
	int rc = zr_parse(P->R, P->s);
	zp_flush(P);
	pthread_mutex_lock(&P->mu);
	P->rc = rc;
	P->done = true;
	pthread_cond_broadcast(&P->cv);
	pthread_mutex_unlock(&P->mu);
	return NULL;
}

/* Replays one batch into the builder. Returns 0 or <0 (the build cannot
 * go on). */
#define ZP_AHEAD 12   /* records between a prefetch and the lookup it serves */

static size_t zp_next(const char *buf, size_t off)
{
	const struct zev *e = (const struct zev *)(const void *)(buf + off);
	return off + ((sizeof(*e) + e->len + 7) & ~(size_t)7);
}

static int zp_replay(struct zread *R, const char *buf, size_t len, bool *gave_up)
{
	size_t ahead = 0;
	for (unsigned i = 0; i < ZP_AHEAD && ahead < len; i++)
		ahead = zp_next(buf, ahead);
	for (size_t off = 0; off < len && !*gave_up;) {
		if (ahead < len) {
			const struct zev *a = (const struct zev *)(const void *)(buf + ahead);
			if (a->kind == ZEV_RR)
				zb_prefetch(R->b, a->hash);
			ahead = zp_next(buf, ahead);
		}
		const struct zev *e = (const struct zev *)(const void *)(buf + off);
		const char *pl = (const char *)(e + 1);
		off += (sizeof(*e) + e->len + 7) & ~(size_t)7;
		int rc = 0;
		if (e->kind == ZEV_RR) {
			zb_rr_t rr = {
				.owner = (const uint8_t *)pl, .owner_len = e->owner_len, .type = e->type,
				.rclass = e->rclass, .ttl = e->ttl,
				.rdata = (const uint8_t *)pl + e->owner_len,
				.rdlen = e->flag ? 65536 : e->len - e->owner_len,
			};
			rc = zb_add_rr(R->b, &rr, e->file, e->line);
		} else if (e->kind == ZEV_REPORT) {
			zb_report(R->b, e->file, e->line, e->flag, "%s", pl);
		} else {
			uint16_t id;
			rc = zb_source(R->b, pl, &id);
			if (rc == 0 && e->flag)
				zb_source_private(R->b, id);
		}
		if (rc)
			return rc;
		if (zb_errors(R->b) >= ZL_MAX_ERRORS) {
			zb_report(R->b, e->cfile, e->cline, true, "too many errors, stopped reading");
			*gave_up = true;
		}
	}
	return 0;
}

/* Parses source `s` (the main file or text), on a thread of its own when
 * the options ask for it and the text is big enough to gain from it. */
static int zr_run(struct zread *R, struct src *s)
{
	struct zpipe P;
	pthread_t t;
	int rc = 0;
	bool gave_up = false;
	if (R->opts->threads < 2 || s->len < ZP_MIN)
		return zr_parse(R, s);
	memset(&P, 0, sizeof(P));
	for (unsigned i = 0; i < ZP_BATCHES; i++) {
		if (!(P.spare[i] = malloc(ZP_BATCH))) {
			while (i--)
				free(P.spare[i]);
			return zr_parse(R, s);
		}
	}
	P.nspare = ZP_BATCHES - 1;
	P.cur = P.spare[ZP_BATCHES - 1];
	P.nsrcs = zb_sources(R->b);
	P.R = R;
	P.s = s;
	atomic_init(&P.stop, false);
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.cv, NULL);
	R->pipe = &P;
	if (pthread_create(&t, NULL, zp_main, &P) != 0) {
		R->pipe = NULL;
		rc = zr_parse(R, s);
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&P.mu);
		while (!P.count && !P.done)
			pthread_cond_wait(&P.cv, &P.mu);
		if (!P.count) {
			pthread_mutex_unlock(&P.mu);
			break;
		}
		char *buf = P.full[P.head];
		size_t len = P.full_len[P.head];
		P.head = (P.head + 1) % ZP_BATCHES;
		P.count--;
		pthread_mutex_unlock(&P.mu);
		if (!rc && !gave_up) {
			rc = zp_replay(R, buf, len, &gave_up);
			if (rc || gave_up)
				atomic_store(&P.stop, true);
		}
		pthread_mutex_lock(&P.mu);
		P.spare[P.nspare++] = buf;
		pthread_cond_broadcast(&P.cv);
		pthread_mutex_unlock(&P.mu);
	}
	pthread_join(t, NULL);
	R->pipe = NULL;
	if (!rc && !gave_up)
		rc = P.rc;
	if (gave_up)
		R->gave_up = true;
out:
	for (unsigned i = 0; i < P.nspare; i++)
		free(P.spare[i]);
	free(P.cur);
	pthread_mutex_destroy(&P.mu);
	pthread_cond_destroy(&P.cv);
	return rc;
}

/* A copy of a path for messages: bytes outside printable ASCII as \\DDD. */
static char *printable_path(const char *path)
{
	size_t n = strlen(path);
	char *o = malloc(4 * n + 1), *p = o;
	if (!o)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (*c >= 0x20 && *c < 0x7f)
			*p++ = (char)*c;
		else
			p += sprintf(p, "\\%03u", *c);
	}
	*p = 0;
	return o;
}

/* Sizes the builder for a big main file before it is read. Only lines that
 * can hold a record count: an owner field (a name or blank) followed by at
 * least two fields (a type and its data) before any comment; blank lines,
 * comments, directives and the inner lines of parentheses do not. Owners
 * that differ from the previous record line's bound the names of a file
 * that lists a name's records together (the usual order). The estimate only
 * saves reallocations: the builder grows past it on demand, and a file whose
 * lines are not records (comments, garbage) reserves little. One pass of
 * memchr() and a short scan per line, far less than parsing. */
#define ZL_PRESIZE_MIN (1u << 20)

/* For the measure: 1 a blank between fields, 2 the start of a comment. */
static const uint8_t zr_sep[256] = { [' '] = 1, ['\t'] = 1, ['\r'] = 1, [';'] = 2 };

static int zr_presize(struct zread *R, const char *buf, size_t len)
{
	size_t recs = 0, rec_bytes = 0, owners = 0, name_bytes = 0, plen = 0;
	const char *prev = NULL;
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *t = p;
		size_t olen = 0;
		if (p < e && *p == '$')
			goto next;
		while (t < e && !zr_sep[(uint8_t)*t])
			t++;
		olen = (size_t)(t - p);
		unsigned fields = 0;
		for (;;) {
			while (t < e && zr_sep[(uint8_t)*t] == 1)
				t++;
			if (t == e || *t == ';' || ++fields == 2)
				break;
			while (t < e && !zr_sep[(uint8_t)*t])
				t++;
		}
		if (fields < 2)
			goto next;
		recs++;
		rec_bytes += (size_t)(e - p);
		if (olen && (olen != plen || memcmp(p, prev, plen) != 0)) {
			owners++;
			/* Wire form: a length octet per label, the origin after a
			 * relative name. */
			size_t w = olen + 1 + (p[olen - 1] == '.' ? 0 : R->P.origin_len);
			name_bytes += w < WNAME_MAXLEN ? w : WNAME_MAXLEN;
			prev = p;
			plen = olen;
		}
next:
		p = e + 1;
	}
	return zb_presize(R->b, owners, recs, name_bytes, rec_bytes / 2);
}

/* Reads and parses the main file (from == NULL) or a file that `from`
 * includes at from_line. */
static int zr_parse_file(struct zread *R, const char *path, const struct src *from,
                         uint32_t from_line)
{
	char *buf = NULL, *alt = NULL, *name = NULL;
	size_t len = 0;
	uint16_t idx;
	bool inside = false;
	int rc;

	if (from && R->depth >= ZL_MAX_INCLUDE_DEPTH) {
		zr_report(R, from->file, from_line, true, "$INCLUDE nested too deep");
		return 0;
	}
	/* An included relative path is looked up beside the including file
	 * first, then from the working directory. */
	if (from && path[0] != '/') {
		const char *inc = from->name;
		const char *slash = strrchr(inc, '/');
		if (slash && asprintf(&alt, "%.*s/%s", (int)(slash - inc), inc, path) > 0) {
			if (access(alt, R_OK) == 0)
				path = alt;
		}
	}
	uint32_t nul_line = 0;
	rc = read_zone_file(R, path, from != NULL, &buf, &len, &inside, &nul_line);
	if (rc == ANYNS_ENOMEM)
		goto out;
	if (rc < 0) {
		if (!from) {
			if (zr_source(R, path, false, &idx) == 0)
				zr_report(R, idx, nul_line, true, "cannot read: %s", zr_strerror(rc));
			R->unreadable = true;
		} else if (rc == ZR_NUL) {
			char q[ZPARSE_EXCERPT * 4 + 8];
			zr_report(R, from->file, from_line, true, "cannot read $INCLUDE file%s: %s at its line %u",
			          zparse_quote(from->quote, path, strlen(path), q, sizeof(q)),
			          zr_strerror(rc), nul_line);
		} else {
			char q[ZPARSE_EXCERPT * 4 + 8];
			zr_report(R, from->file, from_line, true, "cannot read $INCLUDE file%s: %s",
			          zparse_quote(from->quote, path, strlen(path), q, sizeof(q)),
			          zr_strerror(rc));
		}
		rc = 0;
		goto out;
	}
	rc = ANYNS_ENOMEM;
	if (!(name = from ? printable_path(path) : strdup(path)))
		goto out;
	rc = zr_source(R, name, !inside, &idx);
	if (rc)
		goto out;
	if (!from && len >= ZL_PRESIZE_MIN && (rc = zr_presize(R, buf, len)) != 0)
		goto out;
	struct src s = { .buf = buf, .len = len, .pos = 0, .line = 1, .file = idx, .quote = inside,
	                 .name = name };
	R->depth++;
	rc = from ? zr_parse(R, &s) : zr_run(R, &s);
	R->depth--;
out:
	free(name);
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
	static const zone_load_opts_t defaults;
	uint8_t w[WNAME_MAXLEN];
	memset(R, 0, sizeof(*R));
	R->opts = opts ? opts : &defaults;
	R->max_file = R->opts->max_file_size ? R->opts->max_file_size : ZL_DEFAULT_MAX_FILE;
	R->max_zone = R->opts->max_zone_size ? R->opts->max_zone_size : ZL_DEFAULT_MAX_ZONE;
	if (R->opts->zones_dir && R->opts->zones_dir[0] &&
	    !(R->roots[1] = realpath(R->opts->zones_dir, NULL)) && errno == ENOMEM)
		return ANYNS_ENOMEM;
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
	free(R->roots[0]);
	free(R->roots[1]);
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
		rc = zr_parse_file(&R, path, NULL, 0);
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
	/* Text has no folder of its own: its includes may come from the
	 * working directory (where relative ones are looked up). */
	if (rc == 0 && !(R.roots[0] = realpath(".", NULL)) && errno == ENOMEM)
		rc = ANYNS_ENOMEM;
	if (rc == 0)
		rc = zb_source(R.b, name ? name : "<text>", &idx);
	if (rc == 0) {
		struct src s = { .buf = text, .len = strlen(text), .pos = 0, .line = 1, .file = idx,
		                 .quote = true, .name = zb_source_name(R.b, idx) };
		rc = zr_run(&R, &s);
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
