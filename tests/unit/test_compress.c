/* Unit tests of server/lib/compress.c: name compression while writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "anyns.h"
#include "compress.h"

#define N(s) (const uint8_t *)(s), sizeof(s), true   /* literal incl. its root 0 */

static uint8_t g_pkt[0x5000];

static void test_basic(void **st)
{
	compress_t c;
	compress_init(&c, g_pkt);
	memset(g_pkt, 0xEE, sizeof(g_pkt));

	/* First time: the whole name. */
	assert_int_equal(compress_put(&c, 12, 512, N("\3www\7Example\3com")), 17);
	assert_memory_equal(g_pkt + 12, "\3www\7Example\3com", 17);
	/* Same name, other case: a pointer to it. */
	assert_int_equal(compress_put(&c, 29, 512, N("\3WWW\7example\3COM")), 2);
	assert_int_equal(g_pkt[29], 0xC0);
	assert_int_equal(g_pkt[30], 12);
	/* A sibling: its first label, then a pointer to "example.com". */
	assert_int_equal(compress_put(&c, 31, 512, N("\4mail\7example\3com")), 7);
	assert_memory_equal(g_pkt + 31, "\4mail\xC0\x10", 7);
	/* A name below the sibling points at the sibling. */
	assert_int_equal(compress_put(&c, 38, 512, N("\1x\4mail\7example\3com")), 4);
	assert_memory_equal(g_pkt + 38, "\1x\xC0\x1F", 4);
	/* Nothing in common: written in full; the root alone is one byte. */
	assert_int_equal(compress_put(&c, 42, 512, N("\3org")), 5);
	assert_int_equal(compress_put(&c, 47, 512, (const uint8_t *)"", 1, true), 1);
	assert_int_equal(g_pkt[47], 0);
	/* "com" alone matches the tail of the first name. */
	assert_int_equal(compress_put(&c, 48, 512, N("\3com")), 2);
	assert_int_equal(g_pkt[49], 12 + 12);
}

static void test_no_compress_and_space(void **st)
{
	compress_t c;
	compress_init(&c, g_pkt);
	compress_add(&c, 12, (const uint8_t *)"\3www\7example\3com", 17);

	/* Not allowed (SRV, DNAME rdata): full name, but remembered. */
	assert_int_equal(compress_put(&c, 29, 512, (const uint8_t *)"\4host\7example\3com", 18, false), 18);
	assert_memory_equal(g_pkt + 29, "\4host\7example\3com", 18);
	assert_int_equal(compress_put(&c, 47, 512, N("\4host\7example\3com")), 2);
	assert_int_equal(g_pkt[48], 29);

	/* Not enough room: ESPACE and nothing remembered. */
	unsigned n = compress_mark(&c);
	assert_int_equal(compress_put(&c, 500, 505, N("\4abcd\3net")), ANYNS_ESPACE);
	assert_int_equal(compress_mark(&c), n);
	assert_int_equal(compress_put(&c, 500, 502, N("\3www\7example\3com")), 2);
	assert_int_equal(compress_put(&c, 500, 501, N("\3www\7example\3com")), ANYNS_ESPACE);
	assert_int_equal(compress_put(&c, 600, 500, N("\3www\7example\3com")), ANYNS_ESPACE);

	/* Rollback forgets names written after the mark. */
	assert_int_equal(compress_put(&c, 100, 512, N("\3foo\3bar")), 9);
	assert_int_equal(compress_put(&c, 109, 512, N("\3foo\3bar")), 2);
	compress_rollback(&c, n);
	assert_int_equal(compress_put(&c, 100, 512, N("\3foo\3bar")), 9);
}

static void test_offset_limit(void **st)
{
	compress_t c;
	compress_init(&c, g_pkt);

	/* Names past 0x3FFF cannot be pointed to: never remembered. */
	assert_int_equal(compress_put(&c, 0x4000, sizeof(g_pkt), N("\3abc\3net")), 9);
	assert_int_equal(compress_put(&c, 0x4010, sizeof(g_pkt), N("\3abc\3net")), 9);
	assert_int_equal(c.n, 0);
	/* One starting just below: its first label is, the rest is not. */
	assert_int_equal(compress_put(&c, 0x3FFF, sizeof(g_pkt), N("\3abc\3net")), 9);
	assert_int_equal(c.n, 1);
	assert_int_equal(compress_put(&c, 0x4100, sizeof(g_pkt), N("\3abc\3net")), 2);
	assert_int_equal(g_pkt[0x4100], 0xFF);
	assert_int_equal(g_pkt[0x4101], 0xFF);
	assert_int_equal(compress_put(&c, 0x4200, sizeof(g_pkt), N("\3net")), 5);

	/* compress_add keeps the same limit. */
	compress_init(&c, g_pkt);
	compress_add(&c, 0x3FFC, (const uint8_t *)"\3abc\3net\3org", 13);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.e[0].off, 0x3FFC);
	compress_add(&c, 0x4000, (const uint8_t *)"\3abc", 5);
	assert_int_equal(c.n, 1);
}

static void test_table_full(void **st)
{
	compress_t c;
	size_t off = 12;
	compress_init(&c, g_pkt);

	for (int i = 0; i < COMPRESS_MAX + 20; i++) {
		uint8_t name[8] = { 4, 'n', (uint8_t)('a' + i / 26), (uint8_t)('a' + i % 26), 'x', 0 };
		int w = compress_put(&c, off, sizeof(g_pkt), name, 6, true);
		assert_int_equal(w, 6);
		off += 6;
	}
	assert_int_equal(c.n, COMPRESS_MAX);
	/* Early names still compress, late ones are written in full. */
	uint8_t first[6] = { 4, 'n', 'a', 'a', 'x', 0 };
	assert_int_equal(compress_put(&c, off, sizeof(g_pkt), first, 6, true), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_no_compress_and_space),
		cmocka_unit_test(test_offset_limit),
		cmocka_unit_test(test_table_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
