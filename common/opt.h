/* Option tables: each setting of a program described once (YAML key,
 * command-line flag, type, limits, default, help), and the code that reads a
 * YAML file (common/cfg.h) and the command line through it, prints --help and
 * writes the Markdown reference. A program fills a plain struct: every option
 * names the field it sets by offset.
 *
 * Nesting: OPT_SECTION is a YAML map whose keys are options of the same
 * struct (`server:`); OPT_LIST is a YAML list of maps, each an element of a
 * growing array (`zones:`), described by its own table. Scalar lists
 * (`listen: [a, b]`, a repeatable flag) are OPT_CUSTOM with OPT_MULTI.
 *
 * Errors name the key: "FILE:LINE: server.workers: want a number from 1 to
 * 256" for YAML, "--workers: want ..." for a flag. */
#ifndef ANYNS_OPT_H
#define ANYNS_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"

enum opt_type {
	OPT_END = 0,
	OPT_STR,        /* char *, strdup'ed */
	OPT_UINT,       /* unsigned integer of .size bytes, min..max */
	OPT_DURATION,   /* uint64_t milliseconds, min..max ms; "500ms", "10s", "1m", "1h" */
	OPT_ENUM,       /* int: the index of the value in .choices */
	OPT_BOOL,       /* bool */
	OPT_CUSTOM,     /* .parse does the work */
	OPT_SECTION,    /* a map of the options in .sub (same struct) */
	OPT_LIST,       /* a list of maps, each an element described by .sub */
};

/* Flags of an option. */
enum {
	OPT_OFF      = 1 << 0,  /* OPT_STR: "false" (or "off", "no") sets NULL */
	OPT_AUTO     = 1 << 1,  /* OPT_UINT: "auto" stores .autoval */
	OPT_MULTI    = 1 << 2,  /* OPT_CUSTOM: YAML scalar or list, flag repeatable; .parse per item */
	OPT_REQUIRED = 1 << 3,  /* in an OPT_LIST element: must be present */
	OPT_RESTART  = 1 << 4,  /* not changed by a reload: a restart applies it */
	OPT_NOFILE   = 1 << 5,  /* command line only (no YAML key) */
};

typedef struct opt opt_t;
struct opt {
	const char *key;        /* YAML key in its map; NULL with OPT_NOFILE */
	const char *flag;       /* long flag without "--", or NULL */
	char short_flag;        /* or 0 */
	enum opt_type type;
	unsigned flags;
	size_t offset, size;    /* the field (OPT_AT); OPT_LIST: the element array */
	long long min, max;     /* OPT_UINT, OPT_DURATION (ms) */
	long long autoval;      /* OPT_AUTO */
	const char *const *choices;  /* OPT_ENUM, NULL-terminated */
	const char *def;        /* default as text, parsed at opt_defaults(); NULL: none */
	const char *def_doc;    /* default as the reference says it, when not .def */
	const char *arg;        /* the value's name in --help: "N", "ADDR[:PORT]" */
	const char *help;
	/* OPT_CUSTOM: one value into obj (OPT_MULTI: appends one item).
	 * OPT_LIST with a flag: the flag's text into obj (adds an element).
	 * Returns 0 or -1 with the reason in err. */
	int (*parse)(void *obj, const char *text, char *err, size_t errlen);
	/* OPT_CUSTOM with OPT_MULTI: the first flag empties the list (else the
	 * flags add to the file's list). */
	void (*reset)(void *obj);
	/* OPT_CUSTOM: frees what parse allocated (NULL: nothing). */
	void (*release)(void *obj);
	/* OPT_CUSTOM: the value as text, for comparing two configurations. */
	void (*format)(const void *obj, char *buf, size_t len);
	/* OPT_SECTION, OPT_LIST: the options inside, ended by { 0 }. */
	const opt_t *sub;
	/* OPT_LIST: element size, offset of the size_t count in the parent, and
	 * an optional check of a complete element (index i; 0 or -1 with err),
	 * e.g. against the elements before it. */
	size_t elem_size, count_offset;
	int (*check)(void *obj, size_t i, char *err, size_t errlen);
};

#define OPT_AT(T, m) .offset = offsetof(T, m), .size = sizeof(((T *)0)->m)

/* Sets every option that has a .def (recursively through sections). */
int opt_defaults(const opt_t *table, void *obj);
/* Frees the strings, lists and custom allocations of obj. */
void opt_release(const opt_t *table, void *obj);

/* Reads the YAML map `map` into obj. `prefix` is the path of the map ("" at
 * the top). Unknown keys are errors. Returns 0 or -1 with cfg->err set. */
int opt_load(cfg_t *cfg, cfg_node_t *map, const opt_t *table, void *obj, const char *prefix);

/* Sets one value from its text (a flag's argument). Returns 0 or -1 with the
 * reason in err (without the option's name). */
int opt_set(const opt_t *o, void *obj, const char *text, char *err, size_t errlen);

/* The command line, against n_tables tables, each filling its own obj: every
 * option with a flag (found through sections). Returns 0, or -1 with
 * "--flag: reason" in err. Non-option arguments are refused. */
int opt_parse_argv(const opt_t *const *tables, void *const *objs, size_t n_tables, int argc,
                   char **argv, char *err, size_t errlen);

/* --help: one entry per flag (in table order), then the keys that have no flag. */
void opt_usage(FILE *f, const opt_t *const *tables, size_t n_tables);
/* The reference as a Markdown table: key, flag, default, meaning. */
void opt_markdown(FILE *f, const opt_t *table);

/* The value of o in obj as text (for comparing configurations and logs). */
void opt_format(const opt_t *o, const void *obj, char *buf, size_t len);
/* Calls fn for every option whose formatted value differs between a and b,
 * with its dotted path (lists compare as a whole). */
void opt_diff(const opt_t *table, const void *a, const void *b, unsigned need_flags,
              void (*fn)(void *arg, const char *path, const opt_t *o), void *arg);

#endif
