/* DNS Cookies: making and checking RFC 9018 server cookies (cookie.h). */
#include <string.h>

#include "cookie.h"
#include "siphash.h"

void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t cc[COOKIE_CLIENT_LEN],
                 const uint8_t reserved[3], uint32_t ts, const uint8_t *ip, size_t ip_len,
                 uint8_t out[COOKIE_SERVER_LEN])
{
	uint8_t in[COOKIE_CLIENT_LEN + 8 + 16];
	memcpy(in, cc, COOKIE_CLIENT_LEN);
	out[0] = 1;
	memcpy(out + 1, reserved, 3);
	out[4] = (uint8_t)(ts >> 24);
	out[5] = (uint8_t)(ts >> 16);
	out[6] = (uint8_t)(ts >> 8);
	out[7] = (uint8_t)ts;
	memcpy(in + COOKIE_CLIENT_LEN, out, 8);
	if (ip_len > 16)
		ip_len = 16;
	memcpy(in + COOKIE_CLIENT_LEN + 8, ip, ip_len);
	uint64_t h = siphash24(secret, in, COOKIE_CLIENT_LEN + 8 + ip_len);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(h >> (8 * i));
}

/* True when the 16-byte server cookie sc was made under secret. */
static bool made_with(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *opt,
                      const uint8_t *ip, size_t ip_len)
{
	const uint8_t *sc = opt + COOKIE_CLIENT_LEN;
	uint8_t want[COOKIE_SERVER_LEN];
	uint32_t ts = (uint32_t)sc[4] << 24 | (uint32_t)sc[5] << 16 | (uint32_t)sc[6] << 8 | sc[7];
	cookie_make(secret, opt, sc + 1, ts, ip, ip_len, want);
	/* Constant time: the hash is what a forger would probe. */
	uint8_t d = 0;
	for (int i = 0; i < COOKIE_SERVER_LEN; i++)
		d |= (uint8_t)(want[i] ^ sc[i]);
	return d == 0;
}

static uint32_t cookie_ts(const uint8_t *opt)
{
	const uint8_t *p = opt + COOKIE_CLIENT_LEN + 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum cookie_verdict cookie_check(const cookie_conf_t *c, const uint8_t *opt, size_t len,
                                 const uint8_t *ip, size_t ip_len, uint32_t now)
{
	/* RFC 7873 4: a client cookie of 8 bytes, a server cookie of 8 to 32. */
	if (len == COOKIE_CLIENT_LEN)
		return COOKIE_CLIENT_ONLY;
	if (len < COOKIE_CLIENT_LEN + 8 || len > COOKIE_CLIENT_LEN + 32)
		return COOKIE_MALFORMED;
	/* RFC 9018 4.2: version 1 is 16 bytes; anything else is not ours. */
	if (len != COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN || opt[COOKIE_CLIENT_LEN] != 1)
		return COOKIE_BAD;
	/* Serial arithmetic (RFC 1982): valid an hour back, five minutes ahead. */
	int32_t age = (int32_t)(now - cookie_ts(opt));
	if (age > COOKIE_MAX_AGE || age < -COOKIE_MAX_FUTURE)
		return COOKIE_BAD;
	if (made_with(c->secret, opt, ip, ip_len) ||
	    (c->has_previous && made_with(c->previous, opt, ip, ip_len)))
		return COOKIE_VALID;
	return COOKIE_BAD;
}

void cookie_answer(const cookie_conf_t *c, const uint8_t *opt, size_t len,
                   enum cookie_verdict v, const uint8_t *ip, size_t ip_len, uint32_t now,
                   uint8_t out[COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN])
{
	static const uint8_t zero[3];
	memcpy(out, opt, COOKIE_CLIENT_LEN);
	/* A valid cookie goes back as it came while young and made with the
	 * current secret (reserved bytes zero, as we make them). */
	if (v == COOKIE_VALID && (int32_t)(now - cookie_ts(opt)) < COOKIE_RENEW_AGE &&
	    (int32_t)(now - cookie_ts(opt)) >= -COOKIE_MAX_FUTURE &&
	    memcmp(opt + COOKIE_CLIENT_LEN + 1, zero, 3) == 0 &&
	    made_with(c->secret, opt, ip, ip_len)) {
		memcpy(out + COOKIE_CLIENT_LEN, opt + COOKIE_CLIENT_LEN, COOKIE_SERVER_LEN);
		return;
	}
	(void)len;
	cookie_make(c->secret, opt, zero, now, ip, ip_len, out + COOKIE_CLIENT_LEN);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int cookie_secret_from_hex(const char *text, uint8_t out[COOKIE_SECRET_LEN])
{
	if (strlen(text) != 2 * COOKIE_SECRET_LEN)
		return -1;
	for (int i = 0; i < COOKIE_SECRET_LEN; i++) {
		int h = hexval(text[2 * i]), l = hexval(text[2 * i + 1]);
		if (h < 0 || l < 0)
			return -1;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}
