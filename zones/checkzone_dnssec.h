/* anyns-checkzone's DNSSEC checks (checkzone_dnssec.c). */
#ifndef ANYNS_CHECKZONE_DNSSEC_H
#define ANYNS_CHECKZONE_DNSSEC_H

#include "anyns.h"

/* For a signed zone (DNSKEY at the apex): verifies every RRSIG with ldns
 * against the apex DNSKEY set at time `now` (signature, inception,
 * expiration; RFC 4034 3.1.5), that every authoritative RRset is signed,
 * and that the NSEC or NSEC3 chain is complete and linked in order.
 * Problems go to diag (errors fatal); a signature valid now that expires
 * within warn_secs is a warning naming owner and type. Counts come back in
 * the out-parameters. Returns 0, or ANYNS_ENOMEM. Nothing for an unsigned
 * zone. */
int checkzone_dnssec(const zone_t *z, const char *file, int64_t now, uint32_t warn_secs,
                     zone_diag_fn diag, void *ctx, unsigned *errors, unsigned *warnings,
                     unsigned *signatures);

#endif
