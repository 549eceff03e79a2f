/* DNS Cookies (RFC 7873) with server cookies made as RFC 9018 says: version
 * 1, three reserved bytes, a 32-bit timestamp and SipHash-2-4 over client
 * cookie | version | reserved | timestamp | client address under a 16-byte
 * secret. Servers given the same secret (anycast sites behind one address)
 * make the same cookies and accept each other's; a previous secret is still
 * accepted while a new one rolls out. */
#ifndef ANYNS_COOKIE_H
#define ANYNS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_SECRET_LEN  16
#define COOKIE_CLIENT_LEN  8
#define COOKIE_SERVER_LEN  16   /* what we make */
/* RFC 9018 4.3: valid from 1 hour before until 5 minutes after now;
 * renewed once older than half an hour. */
#define COOKIE_MAX_AGE     3600
#define COOKIE_MAX_FUTURE  300
#define COOKIE_RENEW_AGE   1800

typedef struct cookie_conf {
	uint8_t secret[COOKIE_SECRET_LEN];
	uint8_t previous[COOKIE_SECRET_LEN];
	bool has_previous;
} cookie_conf_t;

/* What a query's COOKIE option (RFC 7873 4) says. */
enum cookie_verdict {
	COOKIE_NONE = 0,        /* no option */
	COOKIE_CLIENT_ONLY,     /* a client cookie alone */
	COOKIE_VALID,           /* a server cookie we made (or a peer with the secret) */
	COOKIE_BAD,             /* a server cookie we cannot verify: unknown, stale, other */
	COOKIE_MALFORMED,       /* a length RFC 7873 5.2.2 calls FORMERR */
};

/* The server cookie for client cookie cc, from address ip (4 or 16
 * bytes), at time ts, under secret; `reserved` is the three reserved bytes
 * (zero in the cookies we make). */
void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t cc[COOKIE_CLIENT_LEN],
                 const uint8_t reserved[3], uint32_t ts, const uint8_t *ip, size_t ip_len,
                 uint8_t out[COOKIE_SERVER_LEN]);

/* Judges the COOKIE option data opt[0..len) from ip at Unix time now. */
enum cookie_verdict cookie_check(const cookie_conf_t *c, const uint8_t *opt, size_t len,
                                 const uint8_t *ip, size_t ip_len, uint32_t now);

/* Writes the option data for the response into out (8 + 16 bytes): the
 * client cookie, then the server cookie sent back when it is valid and
 * younger than COOKIE_RENEW_AGE, else a new one made at `now`. */
void cookie_answer(const cookie_conf_t *c, const uint8_t *opt, size_t len,
                   enum cookie_verdict v, const uint8_t *ip, size_t ip_len, uint32_t now,
                   uint8_t out[COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN]);

/* "0123...": 32 hex digits into a secret. Returns 0 or -1. */
int cookie_secret_from_hex(const char *text, uint8_t out[COOKIE_SECRET_LEN]);

#endif
