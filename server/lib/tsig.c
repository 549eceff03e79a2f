/* TSIG (RFC 8945) signing and verification. See tsig.h. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "pkt.h"
#include "tsig.h"
#include "wire_name.h"

static const struct {
	const char *name;       /* presentation, no trailing dot */
	const char *digest;     /* OpenSSL digest name */
	size_t size;
} algs[] = {
	[TSIG_HMAC_SHA1]   = { "hmac-sha1",   "SHA1",   20 },
	[TSIG_HMAC_SHA256] = { "hmac-sha256", "SHA256", 32 },
	[TSIG_HMAC_SHA384] = { "hmac-sha384", "SHA384", 48 },
	[TSIG_HMAC_SHA512] = { "hmac-sha512", "SHA512", 64 },
};

int tsig_alg_from_text(const char *text, enum tsig_alg *alg)
{
	size_t n = strlen(text);
	if (n > 0 && text[n - 1] == '.')
		n--;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strlen(algs[i].name) == n && strncasecmp(algs[i].name, text, n) == 0) {
			*alg = (enum tsig_alg)i;
			return 0;
		}
	return ANYNS_EINVAL;
}

const char *tsig_alg_name(enum tsig_alg alg)
{
	return algs[alg].name;
}

size_t tsig_mac_size(enum tsig_alg alg)
{
	return algs[alg].size;
}

/* The algorithm as a wire name ("\x0bhmac-sha256\x00"). */
static size_t alg_wire(enum tsig_alg alg, uint8_t *out)
{
	size_t n = strlen(algs[alg].name);
	out[0] = (uint8_t)n;
	memcpy(out + 1, algs[alg].name, n);
	out[n + 1] = 0;
	return n + 2;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int tsig_base64_decode(const char *in, uint8_t *out, size_t outcap)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	size_t n = 0;

	for (; *in; in++) {
		int c = (unsigned char)*in;
		if (isspace(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad > 0)
			return ANYNS_EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outcap)
				return ANYNS_ESPACE;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Left-over bits must be zero padding, and '=' only completes a quantum. */
	if (pad > 2 || (acc & ((1u << bits) - 1)) != 0 || bits >= 6)
		return ANYNS_EINVAL;
	return (int)n;
}

int tsig_key_init(tsig_key_t *k, const char *name, const char *alg, const char *secret_b64)
{
	memset(k, 0, sizeof(*k));
	int n = anyns_name_from_text(name, k->name, sizeof(k->name));
	if (n <= 0)
		return ANYNS_EINVAL;
	k->name_len = (uint8_t)n;
	if (tsig_alg_from_text(alg, &k->alg) != 0)
		return ANYNS_EINVAL;
	int s = tsig_base64_decode(secret_b64, k->secret, sizeof(k->secret));
	if (s <= 0)
		return ANYNS_EINVAL;
	k->secret_len = (size_t)s;
	return 0;
}

/* Reads an uncompressed name (TSIG names are never compressed, RFC 8945
 * 4.2) at msg[*pos] into out, lowercased. */
static int read_plain_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t *out,
                           uint8_t *out_len)
{
	int n = wname_check(msg + *pos, len - *pos);
	if (n < 0)
		return ANYNS_EMALF;
	wname_lower(out, msg + *pos, (size_t)n);
	*out_len = (uint8_t)n;
	*pos += (size_t)n;
	return 0;
}

int tsig_find(const uint8_t *msg, size_t len, tsig_rr_t *out)
{
	if (len < PKT_HDR_LEN)
		return ANYNS_EMALF;
	unsigned qd = pkt_get16(msg + 4), an = pkt_get16(msg + 6), ns = pkt_get16(msg + 8),
	         ar = pkt_get16(msg + 10);
	size_t pos = PKT_HDR_LEN;

	for (unsigned i = 0; i < qd; i++) {
		if (pkt_skip_name(msg, len, &pos) != 0 || pos + 4 > len)
			return ANYNS_EMALF;
		pos += 4;
	}
	unsigned total = an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		size_t start = pos;
		if (pkt_skip_name(msg, len, &pos) != 0 || pos + 10 > len)
			return ANYNS_EMALF;
		uint16_t type = pkt_get16(msg + pos);
		uint16_t cls = pkt_get16(msg + pos + 2);
		uint16_t rdlen = pkt_get16(msg + pos + 8);
		size_t rd = pos + 10;
		if (rd + rdlen > len)
			return ANYNS_EMALF;
		pos = rd + rdlen;
		if (type != PKT_TYPE_TSIG)
			continue;
		/* RFC 8945 5.1: the TSIG record must be the last additional record. */
		if (i != total - 1 || ar == 0 || cls != PKT_CLASS_ANY || pos != len)
			return ANYNS_EMALF;
		size_t p = start;
		memset(out, 0, sizeof(*out));
		out->rr_start = start;
		if (read_plain_name(msg, len, &p, out->key_name, &out->key_name_len) != 0)
			return ANYNS_EMALF;
		p = rd;
		size_t end = rd + rdlen;
		if (read_plain_name(msg, end, &p, out->alg_name, &out->alg_name_len) != 0)
			return ANYNS_EMALF;
		if (p + 10 > end)
			return ANYNS_EMALF;
		out->time_signed = (uint64_t)pkt_get16(msg + p) << 32 | pkt_get32(msg + p + 2);
		out->fudge = pkt_get16(msg + p + 6);
		out->mac_len = pkt_get16(msg + p + 8);
		p += 10;
		if (p + out->mac_len + 6 > end)
			return ANYNS_EMALF;
		out->mac = msg + p;
		p += out->mac_len;
		out->orig_id = pkt_get16(msg + p);
		out->error = pkt_get16(msg + p + 2);
		out->other_len = pkt_get16(msg + p + 4);
		p += 6;
		if (p + out->other_len != end)
			return ANYNS_EMALF;
		out->other = msg + p;
		return 0;
	}
	return ANYNS_ENOENT;
}

/* ---- HMAC ----------------------------------------------------------------- */

static EVP_MAC_CTX *hmac_new(const tsig_key_t *k)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return NULL;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (ctx == NULL)
		return NULL;
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		                                 (char *)algs[k->alg].digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(ctx, k->secret, k->secret_len, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void hmac_u16(EVP_MAC_CTX *ctx, uint16_t v)
{
	uint8_t b[2];
	pkt_put16(b, v);
	EVP_MAC_update(ctx, b, 2);
}

/* The previous MAC, length first (RFC 8945 4.3.1, 4.3.2). */
static void hmac_prior(EVP_MAC_CTX *ctx, const uint8_t *mac, uint16_t mac_len)
{
	hmac_u16(ctx, mac_len);
	if (mac_len > 0)
		EVP_MAC_update(ctx, mac, mac_len);
}

/* The message as it was before the TSIG record was added: original ID,
 * ARCOUNT one less, nothing from rr_start on. */
static void hmac_message(EVP_MAC_CTX *ctx, const uint8_t *msg, size_t rr_start,
                         uint16_t orig_id)
{
	uint8_t hdr[PKT_HDR_LEN];
	memcpy(hdr, msg, PKT_HDR_LEN);
	pkt_put16(hdr, orig_id);
	pkt_put16(hdr + 10, (uint16_t)(pkt_get16(hdr + 10) - 1));
	EVP_MAC_update(ctx, hdr, PKT_HDR_LEN);
	EVP_MAC_update(ctx, msg + PKT_HDR_LEN, rr_start - PKT_HDR_LEN);
}

static void hmac_timers(EVP_MAC_CTX *ctx, uint64_t t, uint16_t fudge)
{
	uint8_t b[8];
	pkt_put16(b, (uint16_t)(t >> 32));
	pkt_put32(b + 2, (uint32_t)t);
	pkt_put16(b + 6, fudge);
	EVP_MAC_update(ctx, b, 8);
}

/* RFC 8945 4.3.3: every TSIG variable. */
static void hmac_variables(EVP_MAC_CTX *ctx, const uint8_t *kname, size_t klen,
                           const uint8_t *aname, size_t alen, uint64_t t, uint16_t fudge,
                           uint16_t error, const uint8_t *other, uint16_t other_len)
{
	uint8_t b[6];
	EVP_MAC_update(ctx, kname, klen);
	pkt_put16(b, PKT_CLASS_ANY);
	pkt_put32(b + 2, 0);
	EVP_MAC_update(ctx, b, 6);
	EVP_MAC_update(ctx, aname, alen);
	hmac_timers(ctx, t, fudge);
	hmac_u16(ctx, error);
	hmac_u16(ctx, other_len);
	if (other_len > 0)
		EVP_MAC_update(ctx, other, other_len);
}

static int hmac_final(EVP_MAC_CTX *ctx, uint8_t *out, uint16_t *out_len)
{
	size_t n = 0;
	int ok = EVP_MAC_final(ctx, out, &n, TSIG_MAC_MAX);
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		return ANYNS_ENOMEM;
	*out_len = (uint16_t)n;
	return 0;
}

/* ---- writing the record --------------------------------------------------- */

static int append_rr(uint8_t *msg, size_t *len, size_t cap, const uint8_t *kname, size_t klen,
                     const uint8_t *aname, size_t alen, uint64_t t, uint16_t fudge,
                     const uint8_t *mac, uint16_t mac_len, uint16_t orig_id, uint16_t error,
                     const uint8_t *other, uint16_t other_len)
{
	size_t rdlen = alen + 10 + mac_len + 6 + other_len;
	size_t need = klen + 10 + rdlen;
	if (*len + need > cap || *len < PKT_HDR_LEN)
		return ANYNS_ESPACE;
	uint8_t *p = msg + *len;
	memcpy(p, kname, klen);
	p += klen;
	pkt_put16(p, PKT_TYPE_TSIG);
	pkt_put16(p + 2, PKT_CLASS_ANY);
	pkt_put32(p + 4, 0);
	pkt_put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, aname, alen);
	p += alen;
	pkt_put16(p, (uint16_t)(t >> 32));
	pkt_put32(p + 2, (uint32_t)t);
	pkt_put16(p + 6, fudge);
	pkt_put16(p + 8, mac_len);
	p += 10;
	if (mac_len > 0)
		memcpy(p, mac, mac_len);
	p += mac_len;
	pkt_put16(p, orig_id);
	pkt_put16(p + 2, error);
	pkt_put16(p + 4, other_len);
	p += 6;
	if (other_len > 0)
		memcpy(p, other, other_len);
	*len += need;
	pkt_put16(msg + 10, (uint16_t)(pkt_get16(msg + 10) + 1));
	return 0;
}

void tsig_ctx_init(tsig_ctx_t *c, const tsig_key_t *key)
{
	memset(c, 0, sizeof(*c));
	c->key = key;
}

void tsig_ctx_clear(tsig_ctx_t *c)
{
	if (c->acc != NULL)
		EVP_MAC_CTX_free(c->acc);
	c->acc = NULL;
}

int tsig_sign_query(tsig_ctx_t *c, uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
	const tsig_key_t *k = c->key;
	uint8_t aname[32];
	size_t alen = alg_wire(k->alg, aname);

	if (*len < PKT_HDR_LEN || *len + k->name_len + 26 + alen + tsig_mac_size(k->alg) > cap)
		return ANYNS_ESPACE;
	EVP_MAC_CTX *h = hmac_new(k);
	if (h == NULL)
		return ANYNS_ENOMEM;
	uint16_t id = pkt_get16(msg);
	/* Digest the message as it stands (no TSIG yet). */
	EVP_MAC_update(h, msg, *len);
	hmac_variables(h, k->name, k->name_len, aname, alen, now, TSIG_FUDGE, 0, NULL, 0);
	int rc = hmac_final(h, c->mac, &c->mac_len);
	if (rc != 0)
		return rc;
	c->time_signed = now;
	c->nresp = 0;
	c->unsigned_run = 0;
	return append_rr(msg, len, cap, k->name, k->name_len, aname, alen, now, TSIG_FUDGE, c->mac,
	                 c->mac_len, id, 0, NULL, 0);
}

/* RFC 8945 5.2.2.1: a truncated MAC is accepted down to half the full length
 * (and never below 10 bytes). */
static bool mac_len_ok(enum tsig_alg alg, uint16_t got)
{
	size_t full = tsig_mac_size(alg);
	if (got > full)
		return false;
	size_t min = full / 2 > 10 ? full / 2 : 10;
	return got >= min;
}

static bool time_ok(uint64_t signed_at, uint16_t fudge, uint64_t now)
{
	uint64_t d = now > signed_at ? now - signed_at : signed_at - now;
	return d <= fudge;
}

static bool key_matches(const tsig_key_t *k, const tsig_rr_t *tr)
{
	uint8_t aname[32];
	size_t alen = alg_wire(k->alg, aname);
	return tr->key_name_len == k->name_len && memcmp(tr->key_name, k->name, k->name_len) == 0 &&
	       tr->alg_name_len == alen && memcmp(tr->alg_name, aname, alen) == 0;
}

int tsig_verify_response(tsig_ctx_t *c, const uint8_t *msg, size_t len, uint64_t now,
                         uint16_t *terr)
{
	const tsig_key_t *k = c->key;
	tsig_rr_t tr;
	int rc = tsig_find(msg, len, &tr);

	*terr = 0;
	if (rc == ANYNS_ENOENT) {
		/* The first response must be signed, later ones may skip (RFC 8945 5.3.1). */
		if (c->nresp == 0 || c->unsigned_run >= TSIG_MAX_UNSIGNED) {
			*terr = TSIG_BADSIG;
			return ANYNS_EINVAL;
		}
		if (c->acc == NULL) {
			c->acc = hmac_new(k);
			if (c->acc == NULL)
				return ANYNS_ENOMEM;
			hmac_prior(c->acc, c->mac, c->mac_len);
		}
		EVP_MAC_update(c->acc, msg, len);
		c->unsigned_run++;
		c->nresp++;
		return 0;
	}
	if (rc != 0) {
		*terr = TSIG_BADSIG;
		return ANYNS_EINVAL;
	}
	if (!key_matches(k, &tr)) {
		*terr = TSIG_BADKEY;
		return ANYNS_EINVAL;
	}
	if (tr.error != 0 && tr.mac_len == 0) {
		/* BADKEY/BADSIG answers are unsigned (RFC 8945 5.3.2). */
		*terr = tr.error;
		return ANYNS_EINVAL;
	}
	if (!mac_len_ok(k->alg, tr.mac_len)) {
		*terr = TSIG_BADSIG;
		return ANYNS_EINVAL;
	}
	EVP_MAC_CTX *h = c->acc;
	c->acc = NULL;
	if (h == NULL) {
		h = hmac_new(k);
		if (h == NULL)
			return ANYNS_ENOMEM;
		hmac_prior(h, c->mac, c->mac_len);
	}
	hmac_message(h, msg, tr.rr_start, tr.orig_id);
	if (c->nresp == 0)
		hmac_variables(h, tr.key_name, tr.key_name_len, tr.alg_name, tr.alg_name_len,
		               tr.time_signed, tr.fudge, tr.error, tr.other, tr.other_len);
	else
		hmac_timers(h, tr.time_signed, tr.fudge);
	uint8_t mac[TSIG_MAC_MAX];
	uint16_t mac_len;
	rc = hmac_final(h, mac, &mac_len);
	if (rc != 0)
		return rc;
	if (CRYPTO_memcmp(mac, tr.mac, tr.mac_len) != 0) {
		*terr = TSIG_BADSIG;
		return ANYNS_EINVAL;
	}
	if (tr.error != 0) {
		*terr = tr.error;
		return ANYNS_EINVAL;
	}
	if (!time_ok(tr.time_signed, tr.fudge, now)) {
		*terr = TSIG_BADTIME;
		return ANYNS_EINVAL;
	}
	memcpy(c->mac, tr.mac, tr.mac_len);
	c->mac_len = tr.mac_len;
	c->nresp++;
	c->unsigned_run = 0;
	return 0;
}

int tsig_verify_query(tsig_ctx_t *c, const uint8_t *msg, size_t len, const tsig_rr_t *tr,
                      uint64_t now)
{
	const tsig_key_t *k = c->key;

	c->nresp = 0;
	c->unsigned_run = 0;
	c->mac_len = 0;
	c->time_signed = tr->time_signed;
	c->error = 0;
	if (!key_matches(k, tr))
		return c->error = TSIG_BADKEY;
	if (!mac_len_ok(k->alg, tr->mac_len))
		return c->error = TSIG_BADSIG;
	EVP_MAC_CTX *h = hmac_new(k);
	if (h == NULL)
		return c->error = TSIG_BADSIG;
	hmac_message(h, msg, tr->rr_start, tr->orig_id);
	hmac_variables(h, tr->key_name, tr->key_name_len, tr->alg_name, tr->alg_name_len,
	               tr->time_signed, tr->fudge, tr->error, tr->other, tr->other_len);
	uint8_t mac[TSIG_MAC_MAX];
	uint16_t mac_len;
	if (hmac_final(h, mac, &mac_len) != 0 || CRYPTO_memcmp(mac, tr->mac, tr->mac_len) != 0)
		return c->error = TSIG_BADSIG;
	/* The request MAC is digested into the response even when the time is wrong. */
	memcpy(c->mac, tr->mac, tr->mac_len);
	c->mac_len = tr->mac_len;
	if (!time_ok(tr->time_signed, tr->fudge, now))
		return c->error = TSIG_BADTIME;
	return 0;
}

int tsig_sign_response(tsig_ctx_t *c, uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
	const tsig_key_t *k = c->key;
	uint8_t aname[32], other[6];
	size_t alen = alg_wire(k->alg, aname);
	uint16_t other_len = 0, error = c->error;
	uint64_t t = now;

	if (*len < PKT_HDR_LEN || *len + k->name_len + 32 + alen + tsig_mac_size(k->alg) > cap)
		return ANYNS_ESPACE;
	if (error == TSIG_BADTIME) {
		/* RFC 8945 5.2.3: the client's time signed, our time in other data. */
		t = c->time_signed;
		pkt_put16(other, (uint16_t)(now >> 32));
		pkt_put32(other + 2, (uint32_t)now);
		other_len = 6;
		msg[3] = (uint8_t)((msg[3] & 0xF0) | PKT_RCODE_NOTAUTH);
	}
	EVP_MAC_CTX *h = hmac_new(k);
	if (h == NULL)
		return ANYNS_ENOMEM;
	hmac_prior(h, c->mac, c->mac_len);
	EVP_MAC_update(h, msg, *len);
	if (c->nresp == 0)
		hmac_variables(h, k->name, k->name_len, aname, alen, t, TSIG_FUDGE, error, other,
		               other_len);
	else
		hmac_timers(h, t, TSIG_FUDGE);
	int rc = hmac_final(h, c->mac, &c->mac_len);
	if (rc != 0)
		return rc;
	c->nresp++;
	return append_rr(msg, len, cap, k->name, k->name_len, aname, alen, t, TSIG_FUDGE, c->mac,
	                 c->mac_len, pkt_get16(msg), error, other, other_len);
}

int tsig_append_error(uint8_t *msg, size_t *len, size_t cap, const tsig_rr_t *qt,
                      uint16_t error, uint64_t now)
{
	if (*len < PKT_HDR_LEN)
		return ANYNS_ESPACE;
	msg[3] = (uint8_t)((msg[3] & 0xF0) | PKT_RCODE_NOTAUTH);
	return append_rr(msg, len, cap, qt->key_name, qt->key_name_len, qt->alg_name,
	                 qt->alg_name_len, qt->time_signed, qt->fudge, NULL, 0, qt->orig_id, error,
	                 NULL, 0);
}
