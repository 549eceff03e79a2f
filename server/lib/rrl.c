/* Response rate limiting: classification of a response, the keyed hash of
 * its bucket, the lock-free bucket table (rrl.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "pkt.h"
#include "rrl.h"
#include "siphash.h"

typedef struct rrl_bucket {
	_Atomic uint64_t key;   /* hash | 1; 0: never used */
	_Atomic uint64_t state; /* second << 32 | tokens << 8 | limited count since a slip */
} rrl_bucket_t;

struct rrl {
	rrl_conf_t conf;
	uint8_t seed[16];
	size_t mask;
	rrl_bucket_t *tab;
};

int rrl_prefix_parse(const char *text, rrl_prefix_t *out)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof(buf))
		return ANYNS_EINVAL;
	memcpy(buf, text, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	unsigned max;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return ANYNS_EINVAL;
	}
	unsigned len = max;
	if (slash != NULL) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || v > max)
			return ANYNS_EINVAL;
		len = (unsigned)v;
	}
	out->len = (uint8_t)len;
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = len > i * 8 ? len - i * 8 : 0;
		if (keep < 8)
			out->addr[i] &= (uint8_t)(0xFF00u >> keep);
	}
	return 0;
}

void rrl_prefix_format(const rrl_prefix_t *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(p->family, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
}

/* The address bytes of sa, v4-mapped IPv6 as IPv4: family, or 0. */
static int sa_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			memcpy(out, a + 12, 4);
			return AF_INET;
		}
		memcpy(out, a, 16);
		return AF_INET6;
	}
	return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, net, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ net[full]) & (0xFF00u >> rest)) == 0;
}

static bool whitelisted(const rrl_t *r, int fam, const uint8_t *a)
{
	for (size_t i = 0; i < r->conf.n_whitelist; i++) {
		const rrl_prefix_t *p = &r->conf.whitelist[i];
		if (p->family == fam && prefix_match(a, p->addr, p->len))
			return true;
	}
	return false;
}

bool rrl_whitelisted(const rrl_t *r, const struct sockaddr *addr)
{
	uint8_t a[16];
	int fam = sa_bytes(addr, a);
	return fam != 0 && whitelisted(r, fam, a);
}

/* Skips one resource record at *pos. */
static int skip_rr(const uint8_t *m, size_t len, size_t *pos)
{
	if (pkt_skip_name(m, len, pos) != 0 || *pos + 10 > len)
		return ANYNS_EINVAL;
	size_t rdlen = pkt_get16(m + *pos + 8);
	if (*pos + 10 + rdlen > len)
		return ANYNS_EINVAL;
	*pos += 10 + rdlen;
	return 0;
}

int rrl_classify(const uint8_t *resp, size_t len, enum rrl_class *cls, size_t *name_off)
{
	size_t pos = 12;
	if (len < 12 || !(resp[2] & 0x80) || pkt_get16(resp + 4) != 1)
		return ANYNS_EINVAL;
	if (pkt_skip_name(resp, len, &pos) != 0 || pos + 4 > len)
		return ANYNS_EINVAL;
	pos += 4;
	unsigned rcode = resp[3] & 0x0F;
	uint16_t an = pkt_get16(resp + 6), ns = pkt_get16(resp + 8);
	*name_off = 12;
	if (rcode == 0 && an > 0) {
		*cls = RRL_ANSWER;
		return 0;
	}
	if (rcode == 0 && (resp[2] & 0x04)) {
		*cls = RRL_NODATA;
		return 0;
	}
	if (rcode != 0 && rcode != 3) {
		*cls = RRL_ERROR;
		*name_off = 0;
		return 0;
	}
	*cls = rcode == 3 ? RRL_NXDOMAIN : RRL_REFERRAL;
	/* The first authority record's owner: the zone's SOA for NXDOMAIN, the
	 * delegation's NS for a referral. */
	for (uint16_t i = 0; i < an; i++)
		if (skip_rr(resp, len, &pos) != 0)
			return 0;
	if (ns > 0 && pos < len)
		*name_off = pos;
	return 0;
}

/* Appends the lowercased name at m[off] (compressed or not) to buf; returns
 * the new length or 0 for a bad name. */
static size_t put_name(const uint8_t *m, size_t len, size_t off, uint8_t *buf, size_t at)
{
	size_t start = at;
	for (int hops = 0; off < len;) {
		uint8_t c = m[off];
		if (c >= 0xC0) {
			if (off + 1 >= len || ++hops > 16)
				return 0;
			off = (size_t)(c & 0x3F) << 8 | m[off + 1];
			continue;
		}
		if (c > 63 || off + 1 + c > len || at - start + 1 + c > 255)
			return 0;
		buf[at++] = c;
		if (c == 0)
			return at;
		pkt_lower_name(buf + at, m + off + 1, c);
		at += c;
		off += 1 + (size_t)c;
	}
	return 0;
}

int rrl_new(const rrl_conf_t *conf, const uint8_t seed[16], rrl_t **out)
{
	if (conf->rate == 0 || conf->rate > RRL_MAX_RATE)
		return ANYNS_EINVAL;
	rrl_t *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ANYNS_ENOMEM;
	r->conf = *conf;
	if (r->conf.slip > RRL_MAX_SLIP)
		r->conf.slip = RRL_MAX_SLIP;
	if (r->conf.v4_prefix == 0 || r->conf.v4_prefix > 32)
		r->conf.v4_prefix = 24;
	if (r->conf.v6_prefix == 0 || r->conf.v6_prefix > 128)
		r->conf.v6_prefix = 56;
	size_t n = 64;
	while (n < conf->table_size && n < ((size_t)1 << 30))
		n <<= 1;
	r->mask = n - 1;
	memcpy(r->seed, seed, 16);
	r->tab = calloc(n, sizeof(*r->tab));
	if (r->tab == NULL) {
		free(r);
		return ANYNS_ENOMEM;
	}
	*out = r;
	return 0;
}

void rrl_free(rrl_t *r)
{
	if (r == NULL)
		return;
	free(r->tab);
	free(r);
}

int rrl_response_key_wild(const uint8_t seed[16], const uint8_t *resp, size_t len,
                          const uint8_t *wild, size_t wild_len, uint64_t *key)
{
	enum rrl_class cls;
	size_t name_off;
	if (rrl_classify(resp, len, &cls, &name_off) != 0)
		return ANYNS_EINVAL;
	/* RFC 4592: an answer or no data made from a wildcard. */
	if (wild != NULL && wild_len <= 255 && (cls == RRL_ANSWER || cls == RRL_NODATA))
		cls = RRL_WILDCARD;
	/* class, qtype, name */
	uint8_t k[1 + 2 + 255];
	size_t klen = 3;
	k[0] = (uint8_t)cls;
	k[1] = k[2] = 0;
	if (cls == RRL_ANSWER || cls == RRL_NODATA || cls == RRL_WILDCARD) {
		size_t p = 12;
		if (pkt_skip_name(resp, len, &p) == 0 && p + 2 <= len)
			memcpy(k + 1, resp + p, 2);
	}
	if (cls == RRL_WILDCARD) {
		memcpy(k + klen, wild, wild_len);
		klen += wild_len;
	} else if (name_off != 0) {
		size_t e = put_name(resp, len, name_off, k, klen);
		if (e != 0)
			klen = e;
	}
	*key = siphash24(seed, k, klen);
	return 0;
}

int rrl_response_key(const uint8_t seed[16], const uint8_t *resp, size_t len, uint64_t *key)
{
	return rrl_response_key_wild(seed, resp, len, NULL, 0, key);
}

enum rrl_action rrl_check(rrl_t *r, const struct sockaddr *addr, const uint8_t *resp,
                          size_t len, uint32_t now)
{
	return rrl_check_wild(r, addr, resp, len, NULL, 0, now);
}

enum rrl_action rrl_check_wild(rrl_t *r, const struct sockaddr *addr, const uint8_t *resp,
                               size_t len, const uint8_t *wild, size_t wild_len, uint32_t now)
{
	uint8_t a[16] = { 0 };
	uint64_t rk;
	int fam = sa_bytes(addr, a);
	if (fam == 0 || whitelisted(r, fam, a) ||
	    rrl_response_key_wild(r->seed, resp, len, wild, wild_len, &rk) != 0)
		return RRL_PASS;

	/* response key, family, network */
	uint8_t key[8 + 1 + 16];
	unsigned plen = fam == AF_INET ? r->conf.v4_prefix : r->conf.v6_prefix;
	memset(key, 0, sizeof(key));
	memcpy(key, &rk, 8);
	key[8] = (uint8_t)fam;
	for (unsigned i = 0; i * 8 < plen; i++)
		key[9 + i] = plen - i * 8 >= 8 ? a[i] : (uint8_t)(a[i] & (0xFF00u >> (plen - i * 8)));
	uint64_t h = siphash24(r->seed, key, sizeof(key)) | 1;

	rrl_bucket_t *b = &r->tab[(h >> 1) & r->mask];
	const uint64_t rate = r->conf.rate, slip = r->conf.slip;
	for (;;) {
		uint64_t st = atomic_load_explicit(&b->state, memory_order_relaxed);
		uint64_t tokens = st >> 8 & 0xFFFFFF, limited = st & 0xFF;
		if (atomic_load_explicit(&b->key, memory_order_relaxed) != h) {
			/* A new key takes the slot, full. */
			atomic_store_explicit(&b->key, h, memory_order_relaxed);
			tokens = rate;
			limited = 0;
		} else if ((uint32_t)(st >> 32) != now) {
			/* Refilled each second, never above one second's worth. */
			tokens = rate;
		}
		enum rrl_action act = RRL_PASS;
		if (tokens > 0) {
			tokens--;
		} else {
			act = RRL_DROP;
			if (slip > 0 && ++limited >= slip) {
				act = RRL_SLIP;
				limited = 0;
			}
		}
		uint64_t nst = (uint64_t)now << 32 | tokens << 8 | limited;
		if (atomic_compare_exchange_weak_explicit(&b->state, &st, nst, memory_order_relaxed,
		                                          memory_order_relaxed))
			return act;
	}
}

int rrl_slip(uint8_t *resp, size_t *len)
{
	size_t pos = 12;
	if (*len < 12 || pkt_get16(resp + 4) != 1 || pkt_skip_name(resp, *len, &pos) != 0 ||
	    pos + 4 > *len)
		return ANYNS_EINVAL;
	size_t qend = pos + 4, opt = 0, opt_len = 0;
	/* RFC 6891 7: the OPT of the answer stays (a client that sent one
	 * gets one back, as with any answer). */
	unsigned n = (unsigned)pkt_get16(resp + 6) + pkt_get16(resp + 8) + pkt_get16(resp + 10);
	pos = qend;
	for (unsigned i = 0; i < n; i++) {
		size_t at = pos;
		if (skip_rr(resp, *len, &pos) != 0)
			break;
		size_t t = at;
		if (pkt_skip_name(resp, *len, &t) == 0 && pkt_get16(resp + t) == PKT_TYPE_OPT &&
		    i >= (unsigned)pkt_get16(resp + 6) + pkt_get16(resp + 8)) {
			opt = at;
			opt_len = pos - at;
			break;
		}
	}
	resp[2] |= 0x02;
	memset(resp + 6, 0, 6);
	if (opt_len > 0) {
		memmove(resp + qend, resp + opt, opt_len);
		resp[11] = 1;
	}
	*len = qend + opt_len;
	return 0;
}
