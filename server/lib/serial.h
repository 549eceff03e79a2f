/* Serial number arithmetic (RFC 1982) for 32-bit SOA serials. */
#ifndef ANYNS_SERIAL_H
#define ANYNS_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 1982 3.2: s1 < s2 when they differ and the distance from s1 forward to
 * s2 is below 2^31. Serials exactly 2^31 apart are neither less nor greater
 * (the comparison is undefined); both helpers return false for them. */
static inline bool serial_lt(uint32_t s1, uint32_t s2)
{
	return s1 != s2 && (uint32_t)(s2 - s1) < 0x80000000u;
}

static inline bool serial_gt(uint32_t s1, uint32_t s2)
{
	return serial_lt(s2, s1);
}

/* RFC 1982 3.1: s + n for 0 <= n <= 2^31 - 1. */
static inline uint32_t serial_add(uint32_t s, uint32_t n)
{
	return s + (n & 0x7FFFFFFFu);
}

#endif
