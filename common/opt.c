/* Option tables; see opt.h. */
#include "opt.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD(obj, o) ((char *)(obj) + (o)->offset)
#define CFIELD(obj, o) ((const char *)(obj) + (o)->offset)

static bool is_false(const char *v)
{
	return strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	       strcasecmp(v, "off") == 0;
}

static bool is_true(const char *v)
{
	return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	       strcasecmp(v, "on") == 0;
}

static void store_uint(void *p, size_t size, unsigned long long v)
{
	switch (size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: { uint64_t x = v; memcpy(p, &x, 8); break; }
	}
}

static unsigned long long load_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: { uint8_t x; memcpy(&x, p, 1); return x; }
	case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
	case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
	default: { uint64_t x; memcpy(&x, p, 8); return x; }
	}
}

/* 1 -> "1ms", 1500 -> "1500ms", 10000 -> "10s", 60000 -> "1m", 3600000 -> "1h". */
static void fmt_ms(long long ms, char *buf, size_t len)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, len, "%lldh", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, len, "%lldm", ms / 60000);
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(buf, len, "%llds", ms / 1000);
	else
		snprintf(buf, len, "%lldms", ms);
}

/* "want a, b or c" */
static void choices_text(const char *const *c, char *buf, size_t len)
{
	size_t off = 0, n = 0;
	while (c[n] != NULL)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int k = snprintf(buf + off, len - off, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
		                 c[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static int parse_duration(const char *s, long long *out)
{
	char *e;
	errno = 0;
	double v = strtod(s, &e), mult;
	if (e == s || errno != 0 || v < 0)
		return -1;
	if (*e == '\0' || strcmp(e, "s") == 0) mult = 1000;
	else if (strcmp(e, "ms") == 0) mult = 1;
	else if (strcmp(e, "m") == 0) mult = 60000;
	else if (strcmp(e, "h") == 0) mult = 3600000;
	else return -1;
	if (v * mult > 9e15)
		return -1;
	*out = (long long)(v * mult + 0.5);
	return 0;
}

int opt_set(const opt_t *o, void *obj, const char *text, char *err, size_t errlen)
{
	char *f = FIELD(obj, o);
	switch (o->type) {
	case OPT_STR: {
		char **p = (char **)(void *)f;
		char *v = NULL;
		if (!((o->flags & OPT_OFF) && (is_false(text) || text[0] == '\0'))) {
			v = strdup(text);
			if (v == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		free(*p);
		*p = v;
		return 0;
	}
	case OPT_UINT: {
		char *e;
		if ((o->flags & OPT_AUTO) && strcmp(text, "auto") == 0) {
			store_uint(f, o->size, (unsigned long long)o->autoval);
			return 0;
		}
		errno = 0;
		unsigned long long v = strtoull(text, &e, 10);
		if (text[0] == '\0' || text[0] == '-' || text[0] == '+' || *e != '\0' || errno != 0 ||
		    v < (unsigned long long)o->min || v > (unsigned long long)o->max) {
			snprintf(err, errlen, "want %sa number from %lld to %lld, not \"%s\"",
			         (o->flags & OPT_AUTO) ? "auto or " : "", o->min, o->max, text);
			return -1;
		}
		store_uint(f, o->size, v);
		return 0;
	}
	case OPT_DURATION: {
		long long ms;
		if (parse_duration(text, &ms) != 0 || ms < o->min || ms > o->max) {
			char a[32], b[32];
			fmt_ms(o->min, a, sizeof(a));
			fmt_ms(o->max, b, sizeof(b));
			snprintf(err, errlen, "want a duration from %s to %s (500ms, 10s, 1m), not \"%s\"",
			         a, b, text);
			return -1;
		}
		store_uint(f, sizeof(uint64_t), (unsigned long long)ms);
		return 0;
	}
	case OPT_ENUM:
		for (int i = 0; o->choices[i] != NULL; i++)
			if (strcmp(o->choices[i], text) == 0) {
				memcpy(f, &i, sizeof(i));
				return 0;
			}
		{
			char c[200];
			choices_text(o->choices, c, sizeof(c));
			snprintf(err, errlen, "want %s, not \"%s\"", c, text);
		}
		return -1;
	case OPT_BOOL: {
		bool v;
		if (is_true(text))
			v = true;
		else if (is_false(text))
			v = false;
		else {
			snprintf(err, errlen, "want true or false, not \"%s\"", text);
			return -1;
		}
		memcpy(f, &v, sizeof(v));
		return 0;
	}
	case OPT_CUSTOM:
	case OPT_LIST:
		if (o->parse == NULL) {
			snprintf(err, errlen, "cannot be set this way");
			return -1;
		}
		if (o->parse(obj, text, err, errlen) != 0)
			return -1;
		if (o->type == OPT_LIST && o->check != NULL) {
			size_t n;
			memcpy(&n, (char *)obj + o->count_offset, sizeof(n));
			if (n > 0 && o->check(obj, n - 1, err, errlen) != 0)
				return -1;
		}
		return 0;
	default:
		snprintf(err, errlen, "is a section");
		return -1;
	}
}

int opt_defaults(const opt_t *table, void *obj)
{
	char err[256];
	for (const opt_t *o = table; o->type != OPT_END; o++) {
		if (o->type == OPT_SECTION) {
			if (opt_defaults(o->sub, obj) != 0)
				return -1;
			continue;
		}
		if (o->def != NULL && opt_set(o, obj, o->def, err, sizeof(err)) != 0)
			return -1;
	}
	return 0;
}

void opt_release(const opt_t *table, void *obj)
{
	for (const opt_t *o = table; o->type != OPT_END; o++) {
		switch (o->type) {
		case OPT_STR: {
			char **p = (char **)(void *)FIELD(obj, o);
			free(*p);
			*p = NULL;
			break;
		}
		case OPT_CUSTOM:
			if (o->release != NULL)
				o->release(obj);
			break;
		case OPT_SECTION:
			opt_release(o->sub, obj);
			break;
		case OPT_LIST: {
			char **arr = (char **)(void *)FIELD(obj, o);
			size_t *n = (size_t *)(void *)((char *)obj + o->count_offset);
			for (size_t i = 0; *arr != NULL && i < *n; i++)
				opt_release(o->sub, *arr + i * o->elem_size);
			free(*arr);
			*arr = NULL;
			*n = 0;
			break;
		}
		default:
			break;
		}
	}
}

/* ---- YAML ----------------------------------------------------------------- */
static const opt_t *find_key(const opt_t *table, const char *key)
{
	for (const opt_t *o = table; o->type != OPT_END; o++)
		if (o->key != NULL && !(o->flags & OPT_NOFILE) && strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static const char *kind_name(enum cfg_kind k)
{
	return k == CFG_MAP ? "map" : k == CFG_SEQ ? "list" : "value";
}

static int load_list(cfg_t *cfg, cfg_node_t *n, const opt_t *o, void *obj, const char *path)
{
	char **arr = (char **)(void *)FIELD(obj, o);
	size_t *count = (size_t *)(void *)((char *)obj + o->count_offset);
	size_t i = *count;
	char ipath[300], err[256];
	if (n->kind != CFG_SEQ)
		return cfg_error(cfg, n, "%s: expected a list of maps, not a %s", path,
		                 kind_name(n->kind));
	for (cfg_node_t *it = n->child; it != NULL; it = it->next, i++) {
		it->used = true;
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (it->kind != CFG_MAP)
			return cfg_error(cfg, it, "%s: expected a map, not a %s", ipath,
			                 kind_name(it->kind));
		char *na = realloc(*arr, (i + 1) * o->elem_size);
		if (na == NULL)
			return cfg_error(cfg, it, "%s: out of memory", ipath);
		*arr = na;
		void *elem = na + i * o->elem_size;
		memset(elem, 0, o->elem_size);
		*count = i + 1;
		if (opt_defaults(o->sub, elem) != 0)
			return cfg_error(cfg, it, "%s: bad default", ipath);
		if (opt_load(cfg, it, o->sub, elem, ipath) != 0)
			return -1;
		for (const opt_t *s = o->sub; s->type != OPT_END; s++)
			if ((s->flags & OPT_REQUIRED) && cfg_get(it, s->key) == NULL)
				return cfg_error(cfg, it, "%s.%s: missing", ipath, s->key);
		if (o->check != NULL && o->check(obj, i, err, sizeof(err)) != 0)
			return cfg_error(cfg, it, "%s: %s", ipath, err);
	}
	return 0;
}

int opt_load(cfg_t *cfg, cfg_node_t *map, const opt_t *table, void *obj, const char *prefix)
{
	char path[256], err[256];
	if (cfg_expect(cfg, map, CFG_MAP, prefix[0] != '\0' ? prefix : "(top level)") != 0)
		return -1;
	for (cfg_node_t *n = map->child; n != NULL; n = n->next) {
		n->used = true;
		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", n->key);
		const opt_t *o = find_key(table, n->key);
		if (o == NULL)
			return cfg_error(cfg, n, "%s: unknown key", path);
		if (o->type == OPT_SECTION) {
			if (opt_load(cfg, n, o->sub, obj, path) != 0)
				return -1;
			continue;
		}
		if (o->type == OPT_LIST) {
			if (load_list(cfg, n, o, obj, path) != 0)
				return -1;
			continue;
		}
		if (o->type == OPT_CUSTOM && (o->flags & OPT_MULTI) && n->kind == CFG_SEQ) {
			for (cfg_node_t *it = n->child; it != NULL; it = it->next) {
				it->used = true;
				if (it->kind != CFG_SCALAR)
					return cfg_error(cfg, it, "%s: expected a value, not a %s", path,
					                 kind_name(it->kind));
				if (opt_set(o, obj, it->value, err, sizeof(err)) != 0)
					return cfg_error(cfg, it, "%s: %s", path, err);
			}
			continue;
		}
		if (n->kind != CFG_SCALAR)
			return cfg_error(cfg, n, "%s: expected a value, not a %s", path,
			                 kind_name(n->kind));
		if (opt_set(o, obj, n->value, err, sizeof(err)) != 0)
			return cfg_error(cfg, n, "%s: %s", path, err);
	}
	return 0;
}

/* ---- command line ---------------------------------------------------------- */
struct flag_ref {
	const opt_t *o;
	void *obj;
	bool seen;
};

static size_t collect_flags(const opt_t *table, void *obj, struct flag_ref *out, size_t n,
                            size_t cap)
{
	for (const opt_t *o = table; o->type != OPT_END; o++) {
		if (o->type == OPT_SECTION) {
			n = collect_flags(o->sub, obj, out, n, cap);
			continue;
		}
		if ((o->flag == NULL && o->short_flag == 0) || n >= cap)
			continue;
		out[n].o = o;
		out[n].obj = obj;
		out[n].seen = false;
		n++;
	}
	return n;
}

#define MAX_FLAGS 128

int opt_parse_argv(const opt_t *const *tables, void *const *objs, size_t n_tables, int argc,
                   char **argv, char *err, size_t errlen)
{
	struct flag_ref refs[MAX_FLAGS];
	struct option lopts[MAX_FLAGS + 1];
	char shorts[2 * MAX_FLAGS + 2];
	size_t n = 0, ns = 0;
	for (size_t t = 0; t < n_tables; t++)
		n = collect_flags(tables[t], objs[t], refs, n, MAX_FLAGS);
	shorts[ns++] = ':';
	for (size_t i = 0; i < n; i++) {
		const opt_t *o = refs[i].o;
		bool arg = o->type != OPT_BOOL;
		lopts[i] = (struct option){ o->flag != NULL ? o->flag : "", arg ? required_argument
		                                                                : no_argument,
		                            NULL, (int)(1000 + i) };
		if (o->short_flag != 0) {
			shorts[ns++] = o->short_flag;
			if (arg)
				shorts[ns++] = ':';
		}
	}
	memset(&lopts[n], 0, sizeof(lopts[n]));
	shorts[ns] = '\0';

	optind = 0;   /* full re-initialisation (GNU) */
	opterr = 0;
	int ch, li;
	while ((ch = getopt_long(argc, argv, shorts, lopts, &li)) != -1) {
		size_t i;
		if (ch == '?' || ch == ':') {
			const char *a = argv[optind - 1];
			if (ch == ':')
				snprintf(err, errlen, "%s: needs a value", a);
			else
				snprintf(err, errlen, "%s: unknown option (see --help)", a);
			return -1;
		}
		if (ch >= 1000) {
			i = (size_t)ch - 1000;
		} else {
			for (i = 0; i < n && refs[i].o->short_flag != ch; i++)
				;
			if (i == n)
				continue;
		}
		const opt_t *o = refs[i].o;
		char why[256], name[64];
		if (o->flag != NULL)
			snprintf(name, sizeof(name), "--%s", o->flag);
		else
			snprintf(name, sizeof(name), "-%c", o->short_flag);
		if ((o->flags & OPT_MULTI) && o->reset != NULL && !refs[i].seen)
			o->reset(refs[i].obj);
		refs[i].seen = true;
		if (o->type == OPT_BOOL) {
			bool v = true;
			memcpy(FIELD(refs[i].obj, o), &v, sizeof(v));
			continue;
		}
		if (opt_set(o, refs[i].obj, optarg, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", name, why);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", argv[optind]);
		return -1;
	}
	return 0;
}

/* ---- documentation ----------------------------------------------------------- */
static const char *default_text(const opt_t *o)
{
	return o->def_doc != NULL ? o->def_doc : o->def;
}

/* Limits the help text does not say itself. */
static void limits_text(const opt_t *o, char *buf, size_t len)
{
	buf[0] = '\0';
	if (o->type == OPT_UINT) {
		snprintf(buf, len, "%s%lld..%lld", (o->flags & OPT_AUTO) ? "auto or " : "", o->min,
		         o->max);
	} else if (o->type == OPT_DURATION) {
		char a[32], b[32];
		fmt_ms(o->min, a, sizeof(a));
		fmt_ms(o->max, b, sizeof(b));
		snprintf(buf, len, "%s..%s", a, b);
	} else if (o->type == OPT_ENUM) {
		choices_text(o->choices, buf, len);
	}
}

/* Writes text wrapped at 80 columns, continuation lines indented by `indent`. */
static void wrap(FILE *f, const char *text, int col, int indent)
{
	const char *p = text;
	bool line_start = true;	/* nothing written after the indent yet */
	while (*p != '\0') {
		const char *w = p;
		while (*w != '\0' && *w != ' ')
			w++;
		int wl = (int)(w - p);
		if (!line_start && col + 1 + wl > 80) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (!line_start) {
			fputc(' ', f);
			col++;
		}
		line_start = false;
		fprintf(f, "%.*s", wl, p);
		col += wl;
		p = w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void usage_flags(FILE *f, const opt_t *table)
{
	char line[128], lim[160], help[1024];
	for (const opt_t *o = table; o->type != OPT_END; o++) {
		if (o->type == OPT_SECTION) {
			usage_flags(f, o->sub);
			continue;
		}
		if (o->flag == NULL && o->short_flag == 0)
			continue;
		int k;
		if (o->short_flag != 0 && o->flag != NULL)
			k = snprintf(line, sizeof(line), "  -%c, --%s", o->short_flag, o->flag);
		else if (o->flag != NULL)
			k = snprintf(line, sizeof(line), "      --%s", o->flag);
		else
			k = snprintf(line, sizeof(line), "  -%c", o->short_flag);
		if (o->arg != NULL && k > 0 && (size_t)k < sizeof(line))
			k += snprintf(line + k, sizeof(line) - (size_t)k, " %s", o->arg);
		limits_text(o, lim, sizeof(lim));
		const char *def = default_text(o);
		snprintf(help, sizeof(help), "%s%s%s%s%s%s%s", o->help,
		         (o->flags & OPT_MULTI) || o->type == OPT_LIST ? " (repeatable)" : "",
		         lim[0] != '\0' ? "; " : "", lim, def != NULL ? " (default: " : "",
		         def != NULL ? def : "", def != NULL ? ")" : "");
		fputs(line, f);
		int col = (int)strlen(line);
		if (col >= 30) {
			fprintf(f, "\n%30s", "");
			col = 30;
		} else {
			fprintf(f, "%*s", 30 - col, "");
			col = 30;
		}
		wrap(f, help, col - 1, 30);
	}
}

static void usage_keys(FILE *f, const opt_t *table, const char *prefix, bool *head)
{
	char path[256];
	for (const opt_t *o = table; o->type != OPT_END; o++) {
		if (o->flags & OPT_NOFILE)
			continue;
		snprintf(path, sizeof(path), "%s%s%s%s", prefix, prefix[0] ? "." : "", o->key,
		         o->type == OPT_LIST ? "[]" : "");
		if (o->type == OPT_SECTION || o->type == OPT_LIST) {
			usage_keys(f, o->sub, path, head);
			continue;
		}
		if (o->flag != NULL || o->short_flag != 0)
			continue;
		if (!*head) {
			fprintf(f, "\nConfig file keys without a flag:\n");
			*head = true;
		}
		char line[300];
		snprintf(line, sizeof(line), "  %s", path);
		fputs(line, f);
		int col = (int)strlen(line);
		if (col >= 30) {
			fprintf(f, "\n%30s", "");
		} else {
			fprintf(f, "%*s", 30 - col, "");
		}
		char help[1024], lim[160];
		limits_text(o, lim, sizeof(lim));
		const char *def = default_text(o);
		snprintf(help, sizeof(help), "%s%s%s%s%s%s", o->help, lim[0] != '\0' ? "; " : "", lim,
		         def != NULL ? " (default: " : "", def != NULL ? def : "",
		         def != NULL ? ")" : "");
		wrap(f, help, 29, 30);
	}
}

void opt_usage(FILE *f, const opt_t *const *tables, size_t n_tables)
{
	bool head = false;
	for (size_t t = 0; t < n_tables; t++)
		usage_flags(f, tables[t]);
	for (size_t t = 0; t < n_tables; t++)
		usage_keys(f, tables[t], "", &head);
}

static void md_rows(FILE *f, const opt_t *table, const char *prefix)
{
	char path[256], lim[160];
	for (const opt_t *o = table; o->type != OPT_END; o++) {
		if (o->flags & OPT_NOFILE)
			continue;
		snprintf(path, sizeof(path), "%s%s%s%s", prefix, prefix[0] ? "." : "", o->key,
		         o->type == OPT_LIST ? "[]" : "");
		if (o->type == OPT_SECTION) {
			md_rows(f, o->sub, path);
			continue;
		}
		fprintf(f, "| `%s` | ", path);
		if (o->flag != NULL)
			fprintf(f, "`--%s%s%s`%s", o->flag, o->arg ? " " : "", o->arg ? o->arg : "",
			        (o->flags & OPT_MULTI) || o->type == OPT_LIST ? " (repeatable)" : "");
		const char *def = default_text(o);
		fprintf(f, " | %s%s%s | %s", def ? "`" : "", def ? def : "", def ? "`" : "", o->help);
		limits_text(o, lim, sizeof(lim));
		if (lim[0] != '\0')
			fprintf(f, "; %s", lim);
		if (o->flags & OPT_RESTART)
			fprintf(f, "; a reload keeps the running value");
		fprintf(f, " |\n");
		if (o->type == OPT_LIST)
			md_rows(f, o->sub, path);
	}
}

void opt_markdown(FILE *f, const opt_t *table)
{
	fprintf(f, "| key | flag | default | meaning |\n|---|---|---|---|\n");
	md_rows(f, table, "");
}

/* ---- comparing ------------------------------------------------------------------ */
void opt_format(const opt_t *o, const void *obj, char *buf, size_t len)
{
	const char *f = CFIELD(obj, o);
	buf[0] = '\0';
	switch (o->type) {
	case OPT_STR: {
		const char *s;
		memcpy(&s, f, sizeof(s));
		snprintf(buf, len, "%s", s != NULL ? s : "(off)");
		break;
	}
	case OPT_UINT: {
		unsigned long long v = load_uint(f, o->size);
		if ((o->flags & OPT_AUTO) && v == (unsigned long long)o->autoval)
			snprintf(buf, len, "auto");
		else
			snprintf(buf, len, "%llu", v);
		break;
	}
	case OPT_DURATION:
		fmt_ms((long long)load_uint(f, sizeof(uint64_t)), buf, len);
		break;
	case OPT_ENUM: {
		int i;
		memcpy(&i, f, sizeof(i));
		snprintf(buf, len, "%s", o->choices[i]);
		break;
	}
	case OPT_BOOL: {
		bool v;
		memcpy(&v, f, sizeof(v));
		snprintf(buf, len, "%s", v ? "true" : "false");
		break;
	}
	case OPT_CUSTOM:
		if (o->format != NULL)
			o->format(obj, buf, len);
		break;
	case OPT_LIST: {
		const char *arr;
		size_t n, off = 0;
		memcpy(&arr, f, sizeof(arr));
		memcpy(&n, (const char *)obj + o->count_offset, sizeof(n));
		for (size_t i = 0; i < n && off + 1 < len; i++)
			for (const opt_t *s = o->sub; s->type != OPT_END && off + 1 < len; s++) {
				opt_format(s, arr + i * o->elem_size, buf + off, len - off);
				off += strlen(buf + off);
				if (off + 1 < len)
					buf[off++] = ' ';
				buf[off] = '\0';
			}
		break;
	}
	default:
		break;
	}
}

static void diff_rec(const opt_t *table, const void *a, const void *b, unsigned need,
                     const char *prefix,
                     void (*fn)(void *arg, const char *path, const opt_t *o), void *arg)
{
	char path[256], va[1024], vb[1024];
	for (const opt_t *o = table; o->type != OPT_END; o++) {
		if (o->flags & OPT_NOFILE)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", o->key);
		if (o->type == OPT_SECTION) {
			diff_rec(o->sub, a, b, need, path, fn, arg);
			continue;
		}
		if ((o->flags & need) != need)
			continue;
		opt_format(o, a, va, sizeof(va));
		opt_format(o, b, vb, sizeof(vb));
		if (strcmp(va, vb) != 0)
			fn(arg, path, o);
	}
}

void opt_diff(const opt_t *table, const void *a, const void *b, unsigned need_flags,
              void (*fn)(void *arg, const char *path, const opt_t *o), void *arg)
{
	diff_rec(table, a, b, need_flags, "", fn, arg);
}
