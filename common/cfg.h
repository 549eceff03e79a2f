/* A YAML config file read into a small read-only tree (libyaml does the
 * parsing), so that each program validates its own keys and every error can
 * name the key path and the line: "anynsd.yaml:12: server.workers: not a number".
 *
 * Ownership: cfg_load() returns a tree owned by the caller, freed with
 * cfg_free(). Nodes and strings live as long as the tree. */
#ifndef ANYNS_CFG_H
#define ANYNS_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_kind { CFG_SCALAR, CFG_MAP, CFG_SEQ };

typedef struct cfg_node cfg_node_t;
struct cfg_node {
	enum cfg_kind kind;
	int line;              /* 1-based line in the file */
	const char *key;       /* key in the parent map, or NULL */
	const char *value;     /* CFG_SCALAR: the text */
	cfg_node_t *child;     /* CFG_MAP / CFG_SEQ: first child */
	cfg_node_t *next;      /* next sibling */
	bool used;             /* set by the cfg_get_* accessors; see cfg_check_unused() */
};

typedef struct cfg {
	char *path;
	cfg_node_t *root;      /* a CFG_MAP (an empty file gives an empty map) */
	char err[512];         /* filled by the first failed accessor */
} cfg_t;

/* Returns NULL and writes "file:line: reason" into err (size errlen) on failure. */
cfg_t *cfg_load(const char *path, char *err, size_t errlen);
void cfg_free(cfg_t *cfg);

/* Child of a map by key, or NULL. Marks it used. */
cfg_node_t *cfg_get(cfg_node_t *map, const char *key);

/* Typed getters. Each returns 0 on success, 0 leaving *out untouched when the key
 * is absent, and -1 with cfg->err set ("file:line: path: reason") when present
 * but wrong. `path` is the dotted name used in the message (e.g. "server.workers"). */
int cfg_str(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path, const char **out);
int cfg_bool(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path, bool *out);
int cfg_int(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path,
            long long min, long long max, long long *out);
/* Durations: plain seconds, or with a unit suffix ms, s, m, h ("500ms", "2s"). */
int cfg_duration_ms(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path,
                    uint64_t *out_ms);
/* Fails with a message when node is not of the wanted kind. */
int cfg_expect(cfg_t *cfg, cfg_node_t *node, enum cfg_kind kind, const char *path);

/* After reading, returns -1 and sets err naming the first key never asked for
 * (a misspelt key must not be silently ignored). */
int cfg_check_unused(cfg_t *cfg);

/* printf into cfg->err with the "file:line: " prefix taken from node. Returns -1. */
int cfg_error(cfg_t *cfg, const cfg_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
