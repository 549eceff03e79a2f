/* Unit tests for server/lib/wire_name.c and the name text helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "anyns.h"
#include "wire_name.h"

#define W(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_check(void **st)
{
	(void)st;
	assert_int_equal(wname_check(W("\x03www\x07" "example\x03" "com\x00")), 17);
	assert_int_equal(wname_check(W("\x00")), 1);
	/* compression pointer, label > 63, missing root */
	assert_int_equal(wname_check(W("\x03www\xc0\x0c")), ANYNS_EMALF);
	assert_int_equal(wname_check(W("\x40xxxx")), ANYNS_EMALF);
	assert_int_equal(wname_check(W("\x03www")), ANYNS_EMALF);
	uint8_t big[300];
	for (int i = 0; i < 300; i++)
		big[i] = (i % 2) ? 'a' : 1;
	big[299] = 0;
	assert_int_equal(wname_check(big, sizeof(big)), ANYNS_EMALF);   /* > 255 */
}

static void test_labels_lower_equal(void **st)
{
	(void)st;
	assert_int_equal(wname_labels((const uint8_t *)"\x03www\x07" "Example\x03" "com"), 3);
	assert_int_equal(wname_labels((const uint8_t *)""), 0);
	uint8_t buf[32];
	wname_lower(buf, (const uint8_t *)"\x03WwW\x02" "A\xc9\x00", 9);
	assert_memory_equal(buf, "\x03www\x02" "a\xc9\x00", 9);   /* only ASCII folds */
	assert_true(wname_equal(W("\x03WWW\x02" "ab\x00"), W("\x03www\x02" "aB\x00")));
	assert_false(wname_equal(W("\x03www\x02" "ab\x00"), W("\x03wwx\x02" "ab\x00")));
	assert_false(wname_equal(W("\x03www\x00"), W("\x03www\x02" "ab\x00")));
}

static void test_parent_subdomain(void **st)
{
	(void)st;
	size_t pl;
	const uint8_t *n = (const uint8_t *)"\x01" "a\x07" "example\x00";
	const uint8_t *p = wname_parent(n, 11, &pl);
	assert_ptr_equal(p, n + 2);
	assert_int_equal(pl, 9);
	p = wname_parent(p, pl, &pl);
	assert_int_equal(pl, 1);
	assert_null(wname_parent(p, pl, &pl));

	assert_true(wname_is_subdomain(W("\x01" "a\x07" "Example\x00"), W("\x07" "example\x00")));
	assert_true(wname_is_subdomain(W("\x07" "example\x00"), W("\x07" "example\x00")));
	assert_true(wname_is_subdomain(W("\x07" "example\x00"), W("\x00")));
	assert_false(wname_is_subdomain(W("\x07" "example\x00"), W("\x01" "a\x07" "example\x00")));
	/* "xexample." ends with the bytes of "example." but not on a label boundary */
	assert_false(wname_is_subdomain(W("\x08xexample\x00"), W("\x07" "example\x00")));
	assert_false(wname_is_subdomain(W("\x02" "ab\x01" "c\x00"), W("\x01" "c\x00\x00")));
	assert_false(wname_is_subdomain(W("\x04" "a\x01" "ca\x00"), W("\x01" "a\x00")));
}

static int cmp_txt(const char *a, const char *b)
{
	uint8_t wa[255], wb[255];
	int la = anyns_name_from_text(a, wa, sizeof(wa)), lb = anyns_name_from_text(b, wb, sizeof(wb));
	assert_true(la > 0 && lb > 0);
	return wname_canon_cmp(wa, (size_t)la, wb, (size_t)lb);
}

static void test_canon_order(void **st)
{
	(void)st;
	/* The example order of RFC 4034 6.1. */
	const char *order[] = {
		"example", "a.example", "yljkjljk.a.example", "Z.a.example",
		"zABC.a.EXAMPLE", "z.example", "\\001.z.example", "*.z.example",
		"\\200.z.example",
	};
	size_t n = sizeof(order) / sizeof(order[0]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int c = cmp_txt(order[i], order[j]);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	assert_int_equal(cmp_txt("A.Example", "a.example"), 0);
	assert_true(cmp_txt(".", "com") < 0);
}

static void test_text(void **st)
{
	(void)st;
	uint8_t w[255];
	char t[300];
	int n = anyns_name_from_text("www.Example.COM", w, sizeof(w));
	assert_int_equal(n, 17);
	assert_memory_equal(w, "\x03www\x07" "example\x03" "com\x00", 17);
	assert_int_equal(anyns_name_from_text("www.example.com.", w, sizeof(w)), 17);
	assert_int_equal(anyns_name_from_text(".", w, sizeof(w)), 1);
	assert_int_equal(w[0], 0);
	assert_int_equal(anyns_name_from_text("", w, sizeof(w)), 1);
	assert_true(anyns_name_from_text("a..b", w, sizeof(w)) < 0);
	assert_true(anyns_name_from_text("..", w, sizeof(w)) < 0);
	assert_int_equal(anyns_name_from_text("a\\.b.c", w, sizeof(w)), 7);
	assert_memory_equal(w, "\x03" "a.b\x01" "c\x00", 7);
	assert_int_equal(anyns_name_from_text("\\065\\032x", w, sizeof(w)), 5);
	assert_memory_equal(w, "\x03" "a x\x00", 5);   /* \065 = 'A', lowercased */
	assert_int_equal(anyns_name_from_text("a", w, 2), ANYNS_ESPACE);
	char lab[70];
	memset(lab, 'x', 64);
	lab[64] = 0;
	assert_true(anyns_name_from_text(lab, w, sizeof(w)) < 0);   /* label of 64 */
	lab[63] = 0;
	assert_int_equal(anyns_name_from_text(lab, w, sizeof(w)), 65);
	char longname[400] = "";
	for (int i = 0; i < 64; i++)
		strcat(longname, "abc.");
	assert_true(anyns_name_from_text(longname, w, sizeof(w)) < 0);   /* 257 > 255 */

	assert_int_equal(anyns_name_to_text(W("\x03Www\x07" "example\x00"), t, sizeof(t)), 12);
	assert_string_equal(t, "Www.example.");
	assert_int_equal(anyns_name_to_text(W("\x00"), t, sizeof(t)), 1);
	assert_string_equal(t, ".");
	anyns_name_to_text(W("\x04" "a.b \x02" "\\\x01\x00"), t, sizeof(t));
	assert_string_equal(t, "a\\.b\\032.\\\\\\001.");
	assert_int_equal(anyns_name_to_text(W("\x03www\x00"), t, 4), ANYNS_ESPACE);
	assert_int_equal(anyns_name_to_text(W("\x03www\x00"), t, 5), 4);
	/* round trip of an escaped name */
	anyns_name_to_text(W("\x04" "a.b \x02" "\\\x01\x00"), t, sizeof(t));
	n = anyns_name_from_text(t, w, sizeof(w));
	assert_int_equal(n, 9);
	assert_memory_equal(w, "\x04" "a.b \x02" "\\\x01\x00", 9);
}

static void test_offsets_hash(void **st)
{
	(void)st;
	uint8_t o[WNAME_MAXLABELS];
	assert_int_equal(wname_label_offsets((const uint8_t *)"\x01" "a\x02" "bc\x00", o), 2);
	assert_int_equal(o[0], 0);
	assert_int_equal(o[1], 2);
	assert_int_equal(wname_hash(W("\x01" "a\x00")), wname_hash(W("\x01" "a\x00")));
	assert_int_not_equal(wname_hash(W("\x01" "a\x00")), wname_hash(W("\x01" "b\x00")));
}

static void test_strerror(void **st)
{
	(void)st;
	assert_string_equal(anyns_strerror(ANYNS_EZONE), "zone has errors");
	assert_string_equal(anyns_strerror(0), "success");
	assert_string_equal(anyns_strerror(-424242), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_labels_lower_equal),
		cmocka_unit_test(test_parent_subdomain),
		cmocka_unit_test(test_canon_order),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_offsets_hash),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
