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

/* Builds a query; returns its length. */
static inline size_t tq_build(uint8_t *b, const char *name, uint16_t type,
                              uint16_t klass, const struct qopt *o)
{
	static const struct qopt def = { .id = 0x1234, .rd = true };
	size_t p = PKT_HDR_LEN;

	if (!o)
		o = &def;
	memset(b, 0, PKT_HDR_LEN);
	pkt_put16(b, o->id);
	b[2] = o->rd ? PKT_F1_RD : 0;
	pkt_put16(b + 4, 1);
	pkt_put16(b + 10, o->edns ? 1 : 0);
	p += tq_name(b + p, name);
	pkt_put16(b + p, type);
	pkt_put16(b + p + 2, klass);
	p += 4;
	if (o->edns) {
		size_t rd = 0;
		b[p] = 0;
		pkt_put16(b + p + 1, PKT_TYPE_OPT);
		pkt_put16(b + p + 3, o->payload);
		pkt_put32(b + p + 5, (uint32_t)o->version << 16 | (o->do_bit ? PKT_EDNS_DO : 0));
		uint8_t *opts = b + p + 11;
		if (o->nsid) {
			pkt_put16(opts + rd, PKT_OPT_NSID);
			pkt_put16(opts + rd + 2, 0);
			rd += 4;
		}
		if (o->unknown_opt) {
			pkt_put16(opts + rd, 65001);
			pkt_put16(opts + rd + 2, 3);
			memcpy(opts + rd + 4, "abc", 3);
			rd += 7;
		}
		pkt_put16(b + p + 9, (uint16_t)rd);
		p += 11 + rd;
	}
	return p;
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
