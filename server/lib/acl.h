/* Address access lists: which clients a zone answers (allow-query). A list
 * of networks (IPv4 and IPv6 prefixes, rrl_prefix_t); a client matches when
 * its address is in one of them. An empty list is never attached: a zone
 * without one answers everyone.
 *
 * A zone set holds the lists of its zones (zset_set_acl()), so that a reload
 * changes them together with the zones, and answer_build_peer() answers
 * REFUSED (as NSD and Knot DNS) to a client outside its zone's list. Answers
 * of a zone with a list are marked (answer_info.acl): the answer cache checks
 * the list again on every hit (answer_allowed()) and the XDP map never holds
 * them, since the driver does not know the list. */
#ifndef ANYNS_ACL_H
#define ANYNS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anyns.h"
#include "rrl.h"

typedef struct acl {
	size_t n;
	rrl_prefix_t nets[];
} acl_t;

/* A copy of n networks (n >= 1). Returns NULL when out of memory. */
acl_t *acl_new(const rrl_prefix_t *nets, size_t n);
void acl_free(acl_t *a);   /* accepts NULL */

/* Whether the address ip (4 or 16 bytes; an IPv4 client over IPv6 given as
 * its 4 bytes, as answer_peer_t holds it) is in the list. An unknown client
 * (ip_len 0) is not. */
bool acl_allows(const acl_t *a, const uint8_t *ip, size_t ip_len);

/* Gives zone z of the set a copy of acl (n >= 1), before the set is
 * published. Returns 0, ANYNS_EINVAL (z not in the set, an empty list) or
 * ANYNS_ENOMEM. */
int zset_set_acl(zset_t *zs, const zone_t *z, const acl_t *acl);
/* Whether any zone of the set has a list. */
bool zset_has_acl(const zset_t *zs);
/* Zone z's list, or NULL when it answers everyone. */
const acl_t *zset_zone_acl(const zset_t *zs, const zone_t *z);

/* Whether the zone that answers the question (lowercased wire name, type)
 * answers `peer` (NULL: an unknown client, refused by any list): the check
 * answer_build_peer() makes, for a cached answer marked answer_info.acl. */
bool answer_allowed(const zset_t *zs, const uint8_t *qname_lc, size_t len, uint16_t qtype,
                    const answer_peer_t *peer);

#endif
