/* SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit hash, for hash tables
 * an attacker must not be able to flood and for DNS server cookies
 * (RFC 9018). */
#ifndef ANYNS_SIPHASH_H
#define ANYNS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of in[0..len) under the 16-byte key k. */
uint64_t siphash24(const uint8_t k[16], const uint8_t *in, size_t len);

#endif
