/* Unit tests of server/lib/xjournal.c: a zone's history encoded and read
 * back whole; any flipped byte, any truncation, another zone's journal and
 * serials that do not chain are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_answer_util.h"
#include "test_rrlist_util.h"
#include "xjournal.h"

static const char *V1 =
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 10 3600 900 86400 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.1\n"
	"www A 192.0.2.3\n"
	"old TXT \"going away\"\n";

static const char *V2 =
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 11 3600 900 86400 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.1\n"
	"www 60 A 192.0.2.3\n"
	"www A 192.0.2.4\n";

static const char *V3 =
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 12 3600 900 86400 300\n"
	"@ NS ns1\n"
	"ns1 A 192.0.2.1\n"
	"www A 192.0.2.4\n"
	"new CNAME www\n";


/* v3's records and the changes 10 -> 11 -> 12. */
struct hist {
	rrlist_t v1, v2, v3;
	xfr_change_t ch[2];
};

static void hist_make(struct hist *h)
{
	zone_list(V1, &h->v1);
	zone_list(V2, &h->v2);
	zone_list(V3, &h->v3);
	xfr_change_init(&h->ch[0]);
	xfr_change_init(&h->ch[1]);
	assert_int_equal(xfr_diff(&h->v1, &h->v2, &h->ch[0]), 0);
	assert_int_equal(xfr_diff(&h->v2, &h->v3, &h->ch[1]), 0);
}

static void hist_clear(struct hist *h)
{
	rrlist_clear(&h->v1);
	rrlist_clear(&h->v2);
	rrlist_clear(&h->v3);
	xfr_change_clear(&h->ch[0]);
	xfr_change_clear(&h->ch[1]);
}

static void free_changes(xfr_change_t *ch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xfr_change_clear(&ch[i]);
	free(ch);
}

static void test_roundtrip(void **state)
{
	struct hist h;
	hist_make(&h);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &h.v3, h.ch, 2, &buf, &len), 0);
	rrlist_t rrs;
	rrlist_init(&rrs);
	xfr_change_t *ch = NULL;
	size_t nch = 0;
	uint32_t serial = 0;
	/* The origin compares without regard to letter case. */
	const uint8_t upper[] = "\x07" "EXAMPLE" "\x03" "com";
	assert_int_equal(xjournal_decode(buf, len, upper, ORIGIN_LEN, &rrs, &ch, &nch, &serial), 0);
	assert_int_equal(serial, 12);
	assert_true(lists_equal(&rrs, &h.v3));
	assert_int_equal(nch, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(ch[i].from, h.ch[i].from);
		assert_int_equal(ch[i].to, h.ch[i].to);
		assert_true(lists_equal(&ch[i].del, &h.ch[i].del));
		assert_true(lists_equal(&ch[i].add, &h.ch[i].add));
	}
	/* The changes read back still lead from v1 to v3. */
	rrlist_t out;
	rrlist_init(&out);
	assert_int_equal(xfr_apply(&h.v1, ch, nch, &out), 0);
	assert_true(lists_equal(&out, &h.v3));
	rrlist_clear(&out);
	free_changes(ch, nch);
	rrlist_clear(&rrs);
	/* A version without changes. */
	free(buf);
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &h.v1, NULL, 0, &buf, &len), 0);
	assert_int_equal(xjournal_decode(buf, len, ORIGIN, ORIGIN_LEN, &rrs, &ch, &nch, &serial), 0);
	assert_int_equal(nch, 0);
	assert_int_equal(serial, 10);
	assert_true(lists_equal(&rrs, &h.v1));
	rrlist_clear(&rrs);
	free(buf);
	hist_clear(&h);
}

static void test_damage_refused(void **state)
{
	struct hist h;
	hist_make(&h);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &h.v3, h.ch, 2, &buf, &len), 0);
	rrlist_t rrs;
	rrlist_init(&rrs);
	xfr_change_t *ch = NULL;
	size_t nch = 0;
	uint32_t serial;
	/* Every single flipped bit anywhere, every truncation: refused, nothing held. */
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x10;
		assert_int_not_equal(xjournal_decode(buf, len, ORIGIN, ORIGIN_LEN, &rrs, &ch, &nch,
		                                     &serial), 0);
		assert_int_equal(rrs.n, 0);
		buf[i] ^= 0x10;
	}
	for (size_t l = 0; l < len; l++)
		assert_int_not_equal(xjournal_decode(buf, l, ORIGIN, ORIGIN_LEN, &rrs, &ch, &nch,
		                                     &serial), 0);
	/* Another zone's journal. */
	const uint8_t other[] = "\x07" "example" "\x03" "net";
	assert_int_equal(xjournal_decode(buf, len, other, ORIGIN_LEN, &rrs, &ch, &nch, &serial),
	                 ANYNS_EINVAL);
	free(buf);
	/* Changes that do not lead to the version are not written. */
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &h.v2, h.ch, 2, &buf, &len),
	                 ANYNS_EINVAL);
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &h.v3, &h.ch[0], 1, &buf, &len),
	                 ANYNS_EINVAL);
	hist_clear(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_damage_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
