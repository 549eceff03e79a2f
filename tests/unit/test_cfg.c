/* Unit tests of common/cfg.c: the YAML config tree and its typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"

static char g_path[64];

static cfg_t *load(const char *text, char *err, size_t errlen)
{
	strcpy(g_path, "/tmp/anyns-cfg-XXXXXX");
	int fd = mkstemp(g_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cfg_t *c = cfg_load(g_path, err, errlen);
	unlink(g_path);
	return c;
}

static void test_types(void **state)
{
	char err[256];
	cfg_t *c = load("server:\n  workers: 4\n  tcp: yes\n  idle: 1500ms\n  name: pop1\n"
	                "  listen: [a, b]\n", err, sizeof(err));
	assert_non_null(c);
	cfg_node_t *s = cfg_get(c->root, "server");
	assert_non_null(s);
	long long w = 0;
	bool b = false;
	uint64_t ms = 0;
	const char *name = NULL;
	assert_int_equal(cfg_int(c, s, "workers", "server.workers", 1, 64, &w), 0);
	assert_int_equal(w, 4);
	assert_int_equal(cfg_bool(c, s, "tcp", "server.tcp", &b), 0);
	assert_true(b);
	assert_int_equal(cfg_duration_ms(c, s, "idle", "server.idle", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(cfg_str(c, s, "name", "server.name", &name), 0);
	assert_string_equal(name, "pop1");
	cfg_node_t *l = cfg_get(s, "listen");
	assert_non_null(l);
	assert_int_equal(l->kind, CFG_SEQ);
	assert_string_equal(l->child->value, "a");
	assert_string_equal(l->child->next->value, "b");
	/* absent key: untouched, success */
	w = 7;
	assert_int_equal(cfg_int(c, s, "missing", "server.missing", 0, 9, &w), 0);
	assert_int_equal(w, 7);
	assert_int_equal(cfg_check_unused(c), 0);
	cfg_free(c);
}

static void test_errors_name_key_and_line(void **state)
{
	char err[256];
	cfg_t *c = load("server:\n  workers: many\n  bogus: 1\n", err, sizeof(err));
	assert_non_null(c);
	cfg_node_t *s = cfg_get(c->root, "server");
	long long w;
	assert_int_equal(cfg_int(c, s, "workers", "server.workers", 1, 64, &w), -1);
	assert_non_null(strstr(c->err, ":2: server.workers: 'many' is not a whole number"));
	assert_int_equal(cfg_check_unused(c), -1);
	assert_non_null(strstr(c->err, ":3: server.bogus: unknown key"));
	cfg_free(c);

	c = load("a: 1\n  b: [\n", err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "YAML syntax"));

	c = load("a: 1\na: 2\n", err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, ":2: key 'a' appears twice"));

	c = load("x: 10\n", err, sizeof(err));
	assert_non_null(c);
	long long v;
	assert_int_equal(cfg_int(c, c->root, "x", "x", 0, 5, &v), -1);
	assert_non_null(strstr(c->err, "out of range"));
	uint64_t ms;
	assert_int_equal(cfg_duration_ms(c, c->root, "x", "x", &ms), 0);
	assert_int_equal(ms, 10000);
	cfg_free(c);

	/* An unknown key inside a list item names the item's index. */
	c = load("zones:\n  - origin: a\n  - origin: b\n    fiel: x\n", err, sizeof(err));
	assert_non_null(c);
	cfg_node_t *z = cfg_get(c->root, "zones");
	for (cfg_node_t *i = z->child; i; i = i->next)
		assert_non_null(cfg_get(i, "origin"));
	assert_int_equal(cfg_check_unused(c), -1);
	assert_non_null(strstr(c->err, ":4: zones[1].fiel: unknown key"));
	cfg_free(c);

	assert_null(cfg_load("/nonexistent/anyns.yaml", err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

static void test_empty_file(void **state)
{
	char err[256];
	cfg_t *c = load("", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->root->kind, CFG_MAP);
	assert_null(c->root->child);
	cfg_free(c);
	c = load("- a\n- b\n", err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "top level must be a map"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_errors_name_key_and_line),
		cmocka_unit_test(test_empty_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
