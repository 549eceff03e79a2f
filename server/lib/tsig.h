/* TSIG (RFC 8945): HMAC-SHA1/SHA256/SHA384/SHA512 signatures on single DNS
 * messages and on multi-message TCP streams (AXFR/IXFR), the time check, and
 * the error responses (BADSIG, BADKEY, BADTIME). No I/O: the caller passes
 * the current time. HMAC comes from OpenSSL.
 *
 * A tsig_ctx_t follows one exchange: the request, then every response
 * message of its stream. Both sides use the same calls:
 *   client: tsig_sign_query() -> tsig_verify_response() per message
 *   server: tsig_verify_query() -> tsig_sign_response() per message
 * Responses after the first digest the previous MAC, the messages since the
 * last signed one and the timers only (RFC 8945 5.3.1). */
#ifndef ANYNS_TSIG_H
#define ANYNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anyns.h"

#define PKT_TYPE_TSIG     250
#define PKT_RCODE_NOTAUTH 9
/* TSIG error field values (RFC 8945 3). */
#define TSIG_BADSIG   16
#define TSIG_BADKEY   17
#define TSIG_BADTIME  18
#define TSIG_BADTRUNC 22

#define TSIG_FUDGE      300     /* seconds, RFC 8945 10 */
#define TSIG_MAC_MAX    64      /* SHA-512 */
#define TSIG_SECRET_MAX 512
/* Room a signed message needs past its records: key and algorithm names,
 * fixed fields, MAC and 6 bytes of other data. */
#define TSIG_RR_MAX     (255 + 10 + 255 + 16 + TSIG_MAC_MAX + 6)
/* RFC 8945 5.3.1: at most this many unsigned messages between signed ones. */
#define TSIG_MAX_UNSIGNED 99

enum tsig_alg { TSIG_HMAC_SHA1 = 0, TSIG_HMAC_SHA256, TSIG_HMAC_SHA384, TSIG_HMAC_SHA512 };

typedef struct tsig_key {
	uint8_t name[255];          /* lowercased wire name */
	uint8_t name_len;
	enum tsig_alg alg;
	uint8_t secret[TSIG_SECRET_MAX];
	size_t secret_len;
} tsig_key_t;

/* "hmac-sha256" (case and trailing dot ignored) -> alg. 0 or ANYNS_EINVAL. */
int tsig_alg_from_text(const char *text, enum tsig_alg *alg);
const char *tsig_alg_name(enum tsig_alg alg);    /* "hmac-sha256" */
size_t tsig_mac_size(enum tsig_alg alg);
/* Decodes base64 (whitespace ignored). Returns the length or ANYNS_EINVAL/ANYNS_ESPACE. */
int tsig_base64_decode(const char *in, uint8_t *out, size_t outcap);
/* Fills k from text name, algorithm name and base64 secret. 0 or ANYNS_EINVAL. */
int tsig_key_init(tsig_key_t *k, const char *name, const char *alg, const char *secret_b64);

/* A TSIG record as found in a message; pointers go into the message. */
typedef struct tsig_rr {
	size_t rr_start;            /* the TSIG record's offset: the signed part ends here */
	uint8_t key_name[255];      /* lowercased */
	uint8_t key_name_len;
	uint8_t alg_name[255];      /* lowercased */
	uint8_t alg_name_len;
	uint64_t time_signed;
	uint16_t fudge;
	const uint8_t *mac;
	uint16_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
} tsig_rr_t;

/* Looks for a TSIG record in msg. Returns 0 (found, *out filled),
 * ANYNS_ENOENT (the message carries none) or ANYNS_EMALF (a TSIG record that
 * is not the last additional record, not class ANY, or truncated). */
int tsig_find(const uint8_t *msg, size_t len, tsig_rr_t *out);

typedef struct tsig_ctx {
	const tsig_key_t *key;      /* borrowed */
	uint8_t mac[TSIG_MAC_MAX];  /* the previous MAC of the exchange */
	uint16_t mac_len;
	unsigned nresp;             /* response messages seen so far */
	unsigned unsigned_run;      /* unsigned responses since the last signed one */
	uint64_t time_signed;       /* of the request */
	uint16_t error;             /* TSIG error found by tsig_verify_query() */
	void *acc;                  /* HMAC over unsigned messages (verifying a stream) */
} tsig_ctx_t;

void tsig_ctx_init(tsig_ctx_t *c, const tsig_key_t *key);
void tsig_ctx_clear(tsig_ctx_t *c);             /* frees what the context holds */

/* Client: signs the query in msg[0..*len) in place (appends the TSIG record,
 * ARCOUNT + 1) with time `now`. 0 or ANYNS_ESPACE. */
int tsig_sign_query(tsig_ctx_t *c, uint8_t *msg, size_t *len, size_t cap, uint64_t now);

/* Client: checks one response message of the exchange. Returns 0 when it is
 * signed and correct, or unsigned but allowed (a message in the middle of a
 * stream, at most TSIG_MAX_UNSIGNED in a row: tsig_stream_complete() says
 * whether the last message seen was signed); otherwise ANYNS_EINVAL with
 * *terr the reason: TSIG_BADSIG, TSIG_BADKEY, TSIG_BADTIME, or the TSIG
 * error the server sent back (for an unsigned BADKEY/BADSIG answer too). */
int tsig_verify_response(tsig_ctx_t *c, const uint8_t *msg, size_t len, uint64_t now,
                         uint16_t *terr);
static inline bool tsig_stream_complete(const tsig_ctx_t *c)
{
	return c->nresp > 0 && c->unsigned_run == 0;
}

/* Server: checks the TSIG of a query with key c->key (the caller found the
 * key by the name in tr, from tsig_find()). Returns 0 when good; otherwise
 * the TSIG error (TSIG_BADSIG or TSIG_BADTIME), also kept in c->error for
 * tsig_sign_response(). */
int tsig_verify_query(tsig_ctx_t *c, const uint8_t *msg, size_t len, const tsig_rr_t *tr,
                      uint64_t now);

/* Server: signs one response message in place; the first digests the
 * request's MAC and all TSIG variables, the later ones the previous MAC and
 * the timers. After a BADTIME query the response carries the error and our
 * time in other data (RFC 8945 5.2.3). 0 or ANYNS_ESPACE. */
int tsig_sign_response(tsig_ctx_t *c, uint8_t *msg, size_t *len, size_t cap, uint64_t now);

/* Server: turns msg (a response already holding the query's question) into
 * the unsigned error answer for a query whose key is unknown (BADKEY) or
 * whose MAC is wrong (BADSIG): RCODE NOTAUTH and a TSIG record with the
 * error, the query's key and algorithm names and an empty MAC (RFC 8945
 * 5.2.1, 5.2.2). 0 or ANYNS_ESPACE. */
int tsig_append_error(uint8_t *msg, size_t *len, size_t cap, const tsig_rr_t *query_tsig,
                      uint16_t error, uint64_t now);

#endif
