/* Incremental change of a compiled zone: an IXFR step (records deleted,
 * records added, RFC 1995) applied without building the zone again.
 *
 * The new version shares everything the change does not touch with the
 * version it comes from: it keeps only the touched names (each with its
 * whole new content, or marked gone), their new empty non-terminals and the
 * parents whose children changed, over the last full build, on which it
 * holds a reference. Lookups consult those names first (zone_int.h). A
 * patch of a patched version starts again from the same full build, so
 * the names kept apart grow with the changes since that build; past
 * zone_patch_limit() the caller builds the zone in full.
 *
 * The new version passes the checks of zone_check.c for the names the
 * change touches, and keeps the way the zone denies existence (a change to
 * the DNSKEY presence, the NSEC3PARAM or the kind of chain needs a full
 * build); the NSEC and NSEC3 records of the change update the chains. */
#ifndef ANYNS_ZONE_PATCH_H
#define ANYNS_ZONE_PATCH_H

#include "zone_build.h"

/* Applies one change to `cur` (not modified; still valid afterwards). Records
 * are in the wire form zb_add_rr() takes; a deleted record must be in the
 * zone (same rdata bytes, TTL not compared); an added record already there
 * takes the new TTL. Problems go to diag with `src` as the file name.
 * Returns 0 and a new version (one reference) in *out;
 *   ANYNS_EINVAL  a deleted record is not there, a record is out of zone
 *                 or malformed: the change does not apply to this version;
 *   ANYNS_EZONE   the new version fails the checks (reported);
 *   ANYNS_EFULL   the change is too large for a patch or alters how the
 *                 zone is signed: build the zone in full;
 *   ANYNS_ENOMEM. */
int zone_patch(const zone_t *cur, const zb_rr_t *del, size_t ndel, const zb_rr_t *add,
               size_t nadd, const zone_load_opts_t *opts, zone_diag_fn diag,
               void *diag_ctx, const char *src, zone_t **out);

/* How many names a version of z may keep apart from its full build. */
uint32_t zone_patch_limit(const zone_t *z);

/* Names a version keeps apart from its full build; 0 for a full build. */
size_t zone_patch_names(const zone_t *z);

#endif
