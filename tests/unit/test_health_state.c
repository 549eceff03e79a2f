/* anyns-health state file: written whole and read back; a bad line is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "anyns.h"
#include "hstate.h"

static void test_roundtrip(void **st_)
{
	char dir[] = "/tmp/test_health_state.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	hstate_t st, in;
	char err[300];
	assert_int_equal(hstate_load(path, &in, err, sizeof(err)), ANYNS_ENOENT);
	memset(&st, 0, sizeof(st));
	hstate_boot_id(st.boot, sizeof(st.boot));
	assert_true(strlen(st.boot) > 10);
	hstate_svc_t sv[2] = {
		{ .name = "dns4", .announced = true, .penalty = 812.5, .time = 1764760000.125 },
		{ .name = "dns6", .drained = true, .suppressed = true, .penalty = 4000, .time = 1.5 },
	};
	st.svc = sv;
	st.n = 2;
	assert_int_equal(hstate_save(path, &st), 0);
	assert_int_equal(hstate_load(path, &in, err, sizeof(err)), 0);
	assert_string_equal(in.boot, st.boot);
	assert_int_equal(in.n, 2);
	const hstate_svc_t *a = hstate_find(&in, "dns4"), *b = hstate_find(&in, "dns6");
	assert_non_null(a);
	assert_non_null(b);
	assert_null(hstate_find(&in, "dns7"));
	assert_true(a->announced && !a->drained && !a->suppressed);
	assert_true(a->penalty == 812.5 && a->time > 1764760000.12 && a->time < 1764760000.13);
	assert_true(!b->announced && b->drained && b->suppressed && b->penalty == 4000);
	hstate_clear(&in);
	/* No temporary file left beside it. */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);

	FILE *f = fopen(path, "w");
	fputs("boot x\nservice dns4 announced=2\n", f);
	fclose(f);
	assert_int_equal(hstate_load(path, &in, err, sizeof(err)), ANYNS_EINVAL);
	assert_non_null(strstr(err, ":2:"));
	assert_int_equal(in.n, 0);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
