#include "cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* Nodes are small and few: each is its own allocation, freed recursively. */
static cfg_node_t *node_new(enum cfg_kind kind, int line)
{
	cfg_node_t *n = calloc(1, sizeof(*n));
	if (n) {
		n->kind = kind;
		n->line = line;
	}
	return n;
}

static void node_free(cfg_node_t *n)
{
	while (n) {
		cfg_node_t *next = n->next;
		node_free(n->child);
		free((char *)n->key);
		free((char *)n->value);
		free(n);
		n = next;
	}
}

void cfg_free(cfg_t *cfg)
{
	if (!cfg)
		return;
	node_free(cfg->root);
	free(cfg->path);
	free(cfg);
}

struct builder {
	yaml_parser_t parser;
	const char *path;
	char *err;
	size_t errlen;
};

static int set_err(struct builder *b, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_err(struct builder *b, int line, const char *fmt, ...)
{
	int n = snprintf(b->err, b->errlen, "%s:%d: ", b->path, line);
	if (n < 0 || (size_t)n >= b->errlen)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev))
		return set_err(b, (int)b->parser.problem_mark.line + 1, "YAML syntax: %s%s%s",
		               b->parser.problem ? b->parser.problem : "error",
		               b->parser.context ? " " : "",
		               b->parser.context ? b->parser.context : "");
	return 0;
}

/* Parses the node that starts with `ev` (already consumed) into *out. */
static int parse_node(struct builder *b, yaml_event_t *ev, cfg_node_t **out, int depth)
{
	int line = (int)ev->start_mark.line + 1;
	if (depth > 32)
		return set_err(b, line, "nesting too deep");
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		cfg_node_t *n = node_new(CFG_SCALAR, line);
		if (!n || !(n->value = strndup((const char *)ev->data.scalar.value,
		                               ev->data.scalar.length))) {
			node_free(n);
			return set_err(b, line, "out of memory");
		}
		*out = n;
		return 0;
	}
	case YAML_ALIAS_EVENT:
		return set_err(b, line, "YAML aliases are not supported");
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool is_map = ev->type == YAML_MAPPING_START_EVENT;
		cfg_node_t *n = node_new(is_map ? CFG_MAP : CFG_SEQ, line);
		if (!n)
			return set_err(b, line, "out of memory");
		cfg_node_t **tail = &n->child;
		for (;;) {
			yaml_event_t e;
			if (next_event(b, &e) != 0)
				goto fail;
			if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			char *key = NULL;
			int kline = 0;
			if (is_map) {
				if (e.type != YAML_SCALAR_EVENT) {
					set_err(b, (int)e.start_mark.line + 1, "map keys must be plain words");
					yaml_event_delete(&e);
					goto fail;
				}
				key = strndup((const char *)e.data.scalar.value, e.data.scalar.length);
				kline = (int)e.start_mark.line + 1;
				yaml_event_delete(&e);
				for (cfg_node_t *c = n->child; c && key; c = c->next)
					if (strcmp(c->key, key) == 0) {
						set_err(b, kline, "key '%s' appears twice (first on line %d)",
						        key, c->line);
						free(key);
						goto fail;
					}
				if (!key || next_event(b, &e) != 0) {
					free(key);
					goto fail;
				}
			}
			cfg_node_t *c = NULL;
			int rc = parse_node(b, &e, &c, depth + 1);
			yaml_event_delete(&e);
			if (rc != 0) {
				free(key);
				goto fail;
			}
			c->key = key;
			if (key)
				c->line = kline; /* errors name the key's line */
			*tail = c;
			tail = &c->next;
		}
		*out = n;
		return 0;
	fail:
		node_free(n);
		return -1;
	}
	default:
		return set_err(b, line, "unexpected YAML event");
	}
}

cfg_t *cfg_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	cfg_t *cfg = calloc(1, sizeof(*cfg));
	struct builder b = { .path = path, .err = err, .errlen = errlen };
	if (!cfg || !(cfg->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail_alloc;
	}
	if (!yaml_parser_initialize(&b.parser)) {
		snprintf(err, errlen, "%s: cannot initialise the YAML parser", path);
		goto fail_alloc;
	}
	yaml_parser_set_input_file(&b.parser, f);

	yaml_event_t ev;
	bool done = false;
	while (!done) {
		if (next_event(&b, &ev) != 0)
			goto fail;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_SCALAR_EVENT:
			if (cfg->root) {
				set_err(&b, (int)ev.start_mark.line + 1, "only one YAML document is allowed");
				yaml_event_delete(&ev);
				goto fail;
			}
			if (parse_node(&b, &ev, &cfg->root, 0) != 0) {
				yaml_event_delete(&ev);
				goto fail;
			}
			if (cfg->root->kind != CFG_MAP &&
			    !(cfg->root->kind == CFG_SCALAR && cfg->root->value[0] == '\0')) {
				set_err(&b, cfg->root->line, "the top level must be a map of keys");
				yaml_event_delete(&ev);
				goto fail;
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (!cfg->root || cfg->root->kind != CFG_MAP) {
		node_free(cfg->root);
		cfg->root = node_new(CFG_MAP, 1);
		if (!cfg->root)
			goto fail;
	}
	yaml_parser_delete(&b.parser);
	fclose(f);
	return cfg;
fail:
	yaml_parser_delete(&b.parser);
fail_alloc:
	fclose(f);
	cfg_free(cfg);
	return NULL;
}

int cfg_error(cfg_t *cfg, const cfg_node_t *node, const char *fmt, ...)
{
	int n = snprintf(cfg->err, sizeof(cfg->err), "%s:%d: ", cfg->path, node ? node->line : 0);
	if (n < 0 || (size_t)n >= sizeof(cfg->err))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cfg->err + n, sizeof(cfg->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

cfg_node_t *cfg_get(cfg_node_t *map, const char *key)
{
	if (!map || map->kind != CFG_MAP)
		return NULL;
	for (cfg_node_t *c = map->child; c; c = c->next)
		if (strcmp(c->key, key) == 0) {
			c->used = true;
			return c;
		}
	return NULL;
}

static const char *kind_name(enum cfg_kind k)
{
	return k == CFG_SCALAR ? "a single value" : k == CFG_MAP ? "a map of keys" : "a list";
}

int cfg_expect(cfg_t *cfg, cfg_node_t *node, enum cfg_kind kind, const char *path)
{
	if (node->kind != kind)
		return cfg_error(cfg, node, "%s: must be %s, not %s", path, kind_name(kind),
		                 kind_name(node->kind));
	return 0;
}

static cfg_node_t *get_scalar(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path,
                              int *rc)
{
	*rc = 0;
	cfg_node_t *n = cfg_get(map, key);
	if (n && cfg_expect(cfg, n, CFG_SCALAR, path) != 0) {
		*rc = -1;
		return NULL;
	}
	return n;
}

int cfg_str(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path, const char **out)
{
	int rc;
	cfg_node_t *n = get_scalar(cfg, map, key, path, &rc);
	if (n)
		*out = n->value;
	return rc;
}

int cfg_bool(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path, bool *out)
{
	int rc;
	cfg_node_t *n = get_scalar(cfg, map, key, path, &rc);
	if (!n)
		return rc;
	const char *v = n->value;
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
	         !strcmp(v, "0"))
		*out = false;
	else
		return cfg_error(cfg, n, "%s: '%s' is not a boolean (true or false)", path, v);
	return 0;
}

int cfg_int(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path, long long min,
            long long max, long long *out)
{
	int rc;
	cfg_node_t *n = get_scalar(cfg, map, key, path, &rc);
	if (!n)
		return rc;
	char *end;
	errno = 0;
	long long v = strtoll(n->value, &end, 10);
	if (errno || end == n->value || *end != '\0')
		return cfg_error(cfg, n, "%s: '%s' is not a whole number", path, n->value);
	if (v < min || v > max)
		return cfg_error(cfg, n, "%s: %lld is out of range (%lld to %lld)", path, v, min, max);
	*out = v;
	return 0;
}

int cfg_duration_ms(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path,
                    uint64_t *out_ms)
{
	int rc;
	cfg_node_t *n = get_scalar(cfg, map, key, path, &rc);
	if (!n)
		return rc;
	char *end;
	errno = 0;
	double v = strtod(n->value, &end);
	double mult;
	if (errno || end == n->value || v < 0)
		goto bad;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		goto bad;
	if (v * mult > 1e15)
		goto bad;
	*out_ms = (uint64_t)(v * mult + 0.5);
	return 0;
bad:
	return cfg_error(cfg, n, "%s: '%s' is not a duration (e.g. 500ms, 2s, 1m)", path, n->value);
}

static int find_unused(cfg_t *cfg, cfg_node_t *n, const char *prefix)
{
	int idx = 0;
	for (cfg_node_t *c = n->child; c; c = c->next, idx++) {
		char path[256];
		if (c->key)
			snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", c->key);
		else
			snprintf(path, sizeof(path), "%s[%d]", prefix, idx);
		if (n->kind == CFG_MAP && !c->used)
			return cfg_error(cfg, c, "%s: unknown key", path);
		if (c->kind != CFG_SCALAR && find_unused(cfg, c, path) != 0)
			return -1;
	}
	return 0;
}

int cfg_check_unused(cfg_t *cfg)
{
	return find_unused(cfg, cfg->root, "");
}
