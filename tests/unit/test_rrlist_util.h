/* Helpers shared by the unit tests of record lists (test_xfr, test_xjournal):
 * a zone's records from inline text, and list equality with TTLs. */
#ifndef TEST_RRLIST_UTIL_H
#define TEST_RRLIST_UTIL_H

#include "rrlist.h"
#include "zone_db.h"

static const uint8_t ORIGIN[] = "\x07" "example" "\x03" "com";
#define ORIGIN_LEN 13

/* Every record of `text` compiled as example.com, in canonical order. */
static inline void zone_list(const char *text, rrlist_t *l)
{
	zone_t *z = NULL;
	assert_int_equal(zone_compile_text("example.com", text, "t", NULL, NULL, &z), 0);
	rrlist_init(l);
	assert_int_equal(rrlist_from_zone(z, l), 0);
	zone_unref(z);
}

static inline bool lists_equal(const rrlist_t *a, const rrlist_t *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (rr_cmp(a, &a->rr[i], b, &b->rr[i]) != 0 || a->rr[i].ttl != b->rr[i].ttl)
			return false;
	return true;
}

#endif
