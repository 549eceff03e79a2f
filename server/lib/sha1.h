/* SHA-1 (FIPS 180-4) for NSEC3 owner hashing (RFC 5155 5). Small and
 * allocation-free, so that the answer path can hash a name per query. */
#ifndef ANYNS_SHA1_H
#define ANYNS_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

/* out = SHA-1(a || b); either part may be empty. */
void sha1_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
            uint8_t out[SHA1_LEN]);

/* RFC 5155 5: IH(salt, x, 0) = H(x || salt), IH(salt, x, k) =
 * H(IH(salt, x, k-1) || salt); the hash is IH(salt, owner, iterations).
 * `name` must be the lowercased wire name. */
void sha1_nsec3(const uint8_t *name, size_t len, const uint8_t *salt, size_t saltlen,
                unsigned iterations, uint8_t out[SHA1_LEN]);

#endif
