/* A zone's transfer history in one buffer, to keep it in a file across
 * restarts: the records of the last version and the changes that led to it
 * (oldest first), as a primary serves IXFR from them (RFC 1995 4).
 *
 * Layout (integers big-endian): "ANYNSJ" 0 1, the origin (length byte and
 * wire name), the record count and records of the version, the change
 * count and each change (from, to, deleted records, added records), then
 * the SHA-256 of everything before it. A record: owner (length byte and
 * wire name), type, class, TTL, RDATA length, RDATA.
 *
 * xjournal_decode() checks the whole buffer before it hands anything out:
 * length, checksum, origin, every name, the chain of serials from change
 * to change up to the version's SOA. A torn write, a foreign file or
 * another zone's journal is refused, never half read. No I/O. */
#ifndef ANYNS_XJOURNAL_H
#define ANYNS_XJOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "xfr.h"

/* Encodes origin, rrs (one SOA) and ch[0..nch) into a new buffer (*out,
 * freed by the caller). 0, ANYNS_EINVAL (no SOA, a change not leading to
 * the next) or ANYNS_ENOMEM. */
int xjournal_encode(const uint8_t *origin, size_t olen, const rrlist_t *rrs,
                    const xfr_change_t *ch, size_t nch, uint8_t **out, size_t *len);

/* Decodes buf into rrs (initialised by the caller, sorted on return) and a
 * new array *ch of *nch changes (each cleared and the array freed by the
 * caller). *serial is the version's serial. Returns 0, ANYNS_EMALF (bad
 * layout or checksum), ANYNS_EINVAL (another zone, or serials that do not
 * chain) or ANYNS_ENOMEM; on error nothing is left to free. */
int xjournal_decode(const uint8_t *buf, size_t len, const uint8_t *origin, size_t olen,
                    rrlist_t *rrs, xfr_change_t **ch, size_t *nch, uint32_t *serial);

#endif
