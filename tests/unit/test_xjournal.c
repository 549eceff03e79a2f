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

/* A history, its journal (v3 with both changes) and what decoding it gives. */
struct jr {
	struct hist h;
	uint8_t *buf;
	size_t len;
	rrlist_t rrs;
	xfr_change_t *ch;
	size_t nch;
	uint32_t serial;
};

static void jr_make(struct jr *j)
{
	memset(j, 0, sizeof(*j));
	hist_make(&j->h);
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &j->h.v3, j->h.ch, 2, &j->buf, &j->len),
	                 0);
	rrlist_init(&j->rrs);
}

/* xjournal_decode() of the journal's first len bytes for origin. */
static int jr_decode(struct jr *j, size_t len, const uint8_t *origin)
{
	return xjournal_decode(j->buf, len, origin, ORIGIN_LEN, &j->rrs, &j->ch, &j->nch, &j->serial);
}

static void test_roundtrip(void **state)
{
	struct jr j;
	jr_make(&j);
	/* The origin compares without regard to letter case. */
	const uint8_t upper[] = "\x07" "EXAMPLE" "\x03" "com";
	assert_int_equal(jr_decode(&j, j.len, upper), 0);
	assert_int_equal(j.serial, 12);
	assert_true(lists_equal(&j.rrs, &j.h.v3));
	assert_int_equal(j.nch, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(j.ch[i].from, j.h.ch[i].from);
		assert_int_equal(j.ch[i].to, j.h.ch[i].to);
		assert_true(lists_equal(&j.ch[i].del, &j.h.ch[i].del));
		assert_true(lists_equal(&j.ch[i].add, &j.h.ch[i].add));
	}
	/* The changes read back still lead from v1 to v3. */
	rrlist_t out;
	rrlist_init(&out);
	assert_int_equal(xfr_apply(&j.h.v1, j.ch, j.nch, &out), 0);
	assert_true(lists_equal(&out, &j.h.v3));
	rrlist_clear(&out);
	free_changes(j.ch, j.nch);
	rrlist_clear(&j.rrs);
	/* A version without changes. */
	free(j.buf);
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &j.h.v1, NULL, 0, &j.buf, &j.len), 0);
	assert_int_equal(jr_decode(&j, j.len, ORIGIN), 0);
	assert_int_equal(j.nch, 0);
	assert_int_equal(j.serial, 10);
	assert_true(lists_equal(&j.rrs, &j.h.v1));
	rrlist_clear(&j.rrs);
	free(j.buf);
	hist_clear(&j.h);
}

static void test_damage_refused(void **state)
{
	struct jr j;
	jr_make(&j);
	/* Every single flipped bit anywhere, every truncation: refused, nothing held. */
	for (size_t i = 0; i < j.len; i++) {
		j.buf[i] ^= 0x10;
		assert_int_not_equal(jr_decode(&j, j.len, ORIGIN), 0);
		assert_int_equal(j.rrs.n, 0);
		j.buf[i] ^= 0x10;
	}
	for (size_t l = 0; l < j.len; l++)
		assert_int_not_equal(jr_decode(&j, l, ORIGIN), 0);
	/* Another zone's journal. */
	const uint8_t other[] = "\x07" "example" "\x03" "net";
	assert_int_equal(jr_decode(&j, j.len, other), ANYNS_EINVAL);
	free(j.buf);
	/* Changes that do not lead to the version are not written. */
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &j.h.v2, j.h.ch, 2, &j.buf, &j.len),
	                 ANYNS_EINVAL);
	assert_int_equal(xjournal_encode(ORIGIN, ORIGIN_LEN, &j.h.v3, &j.h.ch[0], 1, &j.buf, &j.len),
	                 ANYNS_EINVAL);
	hist_clear(&j.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_damage_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
