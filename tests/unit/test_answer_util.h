/* Helpers shared by the answer-engine unit tests (test_pkt, test_answer*):
 * raw query building with the letter case kept, zone sets from inline text,
 * response parsing with ldns and RR matching by presentation text. */
#ifndef TEST_ANSWER_UTIL_H
#define TEST_ANSWER_UTIL_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "acache.h"
#include "anyns.h"
#include "pkt.h"

struct qopt {
	uint16_t id;
	bool rd;
	bool edns;
	uint16_t payload;
	uint8_t version;
	bool do_bit;
	bool nsid;
	bool unknown_opt;
};

/* "WwW.Example.com" -> wire with case kept; returns the length. */
static inline size_t tq_name(uint8_t *w, const char *text)
{
	size_t n = 0;
	const char *s = text;

	while (*s && !(s[0] == '.' && s[1] == 0)) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		w[n++] = (uint8_t)l;
		memcpy(w + n, s, l);
		n += l;
		s += l;
		if (*s == '.')
			s++;
	}
	w[n++] = 0;
	return n;
}

/* Builds a query with pkt_write_query() into b (512 bytes); returns its length. */
static inline size_t tq_build(uint8_t *b, const char *name, uint16_t type,
                              uint16_t klass, const struct qopt *o)
{
	static const struct qopt def = { .id = 0x1234, .rd = true };
	static const uint8_t unknown[] = { 0xfd, 0xe9, 0, 3, 'a', 'b', 'c' };   /* option 65001 */
	uint8_t w[256];
	size_t len = 0;

	if (!o)
		o = &def;
	pkt_qspec_t s = {
		.name = w, .name_len = tq_name(w, name), .qtype = type, .qclass = klass,
		.id = o->id, .flags1 = o->rd ? PKT_F1_RD : 0,
		.edns = o->edns != 0, .do_bit = o->do_bit != 0, .payload = o->payload,
		.edns_version = o->version, .nsid = o->nsid != 0,
		.opts = o->unknown_opt ? unknown : NULL, .opts_len = o->unknown_opt ? sizeof(unknown) : 0,
	};
	if (pkt_write_query(&s, b, 512, &len) != 0) {
		fprintf(stderr, "tq_build: cannot write a query for %s\n", name);
		abort();
	}
	return len;
}

static inline zone_t *tz_zone(const char *origin, const char *text)
{
	zone_t *z = NULL;
	int ret = zone_compile_text(origin, text, "test", NULL, NULL, &z);
	if (ret != 0 || !z) {
		fprintf(stderr, "zone %s did not compile: %d\n", origin, ret);
		abort();
	}
	return z;
}

/* A zone set of the given zones (references taken over). */
static inline zset_t *tz_set(zone_t **zones, size_t n)
{
	zset_t *zs = NULL;
	if (zset_new(zones, n, 1, &zs) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		zone_unref(zones[i]);
	return zs;
}

/* Presentation of an RR, lowercased, whitespace squeezed to one space. */
static inline void tr_text(const ldns_rr *rr, char *buf, size_t cap)
{
	char *s = ldns_rr2str(rr);
	size_t n = 0;
	bool sp = false;
	for (char *c = s; *c && n + 1 < cap; c++) {
		if (isspace((unsigned char)*c)) {
			sp = true;
			continue;
		}
		if (sp && n)
			buf[n++] = ' ';
		sp = false;
		buf[n++] = (char)tolower((unsigned char)*c);
	}
	buf[n] = 0;
	free(s);
}

/* Number of RRs in the list whose text equals `want` (same format as
 * tr_text: "www.example.com. 3600 in cname host.example.com."). */
static inline int tr_count(const ldns_rr_list *l, const char *want)
{
	char buf[2048], w[2048];
	size_t n = 0;
	int hits = 0;
	for (const char *c = want; *c && n + 1 < sizeof(w); c++)
		w[n++] = (char)tolower((unsigned char)*c);
	w[n] = 0;
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		tr_text(ldns_rr_list_rr(l, i), buf, sizeof(buf));
		if (strcmp(buf, w) == 0)
			hits++;
	}
	return hits;
}

/* Number of RRs of a type in the list. */
static inline int tr_count_type(const ldns_rr_list *l, ldns_rr_type t)
{
	int hits = 0;
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t)
			hits++;
	return hits;
}

static inline void tr_dump(const ldns_pkt *p)
{
	if (getenv("TEST_VERBOSE"))
		ldns_pkt_print(stderr, p);
}

#endif
