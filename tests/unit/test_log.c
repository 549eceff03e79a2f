/* The log line's values: log_q() leaves plain words alone and quotes the rest
 * so that "key=value" still splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

static void test_plain(void **st)
{
	assert_string_equal(log_q("example.com."), "example.com.");
	assert_string_equal(log_q("/etc/anyns/x.zone"), "/etc/anyns/x.zone");
	assert_string_equal(log_q("127.0.0.1:53"), "127.0.0.1:53");
	assert_string_equal(log_q(NULL), "-");
}

static void test_quoted(void **st)
{
	assert_string_equal(log_q(""), "\"\"");
	assert_string_equal(log_q("zone has errors"), "\"zone has errors\"");
	assert_string_equal(log_q("a=b"), "\"a=b\"");
	assert_string_equal(log_q("say \"hi\""), "\"say \\\"hi\\\"\"");
	assert_string_equal(log_q("back\\slash"), "\"back\\\\slash\"");
	assert_string_equal(log_q("bad\033[31m\n"), "\"bad\\x1b[31m\\x0a\"");
	assert_string_equal(log_q("caf\xc3\xa9"), "\"caf\\xc3\\xa9\"");
	assert_string_equal(log_qn("abcdef", 3), "abc");
}

/* Several values of one line live at once; a long one is cut and marked. */
static void test_ring_and_cut(void **st)
{
	const char *v[LOG_Q_SLOTS];
	char want[16];
	for (int i = 0; i < LOG_Q_SLOTS; i++) {
		snprintf(want, sizeof(want), "v%d", i);
		v[i] = log_q(want);
	}
	for (int i = 0; i < LOG_Q_SLOTS; i++) {
		snprintf(want, sizeof(want), "v%d", i);
		assert_string_equal(v[i], want);
	}
	char big[LOG_Q_MAX + 50];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *q = log_q(big);
	size_t n = strlen(q);
	assert_int_equal(n, 1 + LOG_Q_MAX + 3 + 1);
	assert_int_equal(q[0], '"');
	assert_memory_equal(q + n - 4, "...\"", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_ring_and_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
