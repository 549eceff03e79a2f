/* A growable list of resource records with uncompressed names: what zone
 * transfers read from and write to the wire, what an IXFR difference holds,
 * and what the zone builder takes. Owner names and RDATA live in one byte
 * arena; records refer to them by offset, so the list can grow.
 *
 * Ownership: the list owns its memory; rrlist_clear() frees it. */
#ifndef ANYNS_RRLIST_H
#define ANYNS_RRLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anyns.h"
#include "compress.h"

typedef struct rr {
	uint32_t owner;         /* offset of the owner name in the arena */
	uint32_t rdata;         /* offset of the RDATA in the arena */
	uint32_t ttl;
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlen;
	uint8_t owner_len;
} rr_t;

typedef struct rrlist {
	rr_t *rr;
	size_t n, cap;
	uint8_t *data;
	size_t len, dcap;
} rrlist_t;

void rrlist_init(rrlist_t *l);
void rrlist_clear(rrlist_t *l);           /* frees; the list is empty and usable after */
void rrlist_reset(rrlist_t *l);           /* empties, keeps the memory */

static inline const uint8_t *rr_owner(const rrlist_t *l, const rr_t *r)
{
	return l->data + r->owner;
}
static inline const uint8_t *rr_rdata(const rrlist_t *l, const rr_t *r)
{
	return l->data + r->rdata;
}

/* Appends one record (owner uncompressed, any letter case). 0 or ANYNS_ENOMEM. */
int rrlist_add(rrlist_t *l, const uint8_t *owner, size_t owner_len, uint16_t type,
               uint16_t rclass, uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* Appends a record of another list. */
int rrlist_copy_rr(rrlist_t *l, const rrlist_t *src, const rr_t *r);

/* Reads the record at msg[*pos] (owner and RDATA names may be compressed;
 * names inside RDATA are expanded for every type RFC 3597 4 lists) and
 * appends it. Advances *pos past it. 0, ANYNS_EMALF or ANYNS_ENOMEM. */
int rrlist_read_wire(rrlist_t *l, const uint8_t *msg, size_t len, size_t *pos);

/* Writes record r into pkt[off..end) with compression of the owner and of
 * the RDATA names of the RFC 1035 types. Returns the bytes written or
 * ANYNS_ESPACE. */
int rr_write_wire(const rrlist_t *l, const rr_t *r, compress_t *c, uint8_t *pkt, size_t off,
                  size_t end);

/* Order of records: owner in canonical order (RFC 4034 6.1), then type,
 * class, RDATA bytes (shorter first on a common prefix). TTL not compared. */
int rr_cmp(const rrlist_t *la, const rr_t *a, const rrlist_t *lb, const rr_t *b);
void rrlist_sort(rrlist_t *l);
/* Drops records equal by rr_cmp() to the one before them (list sorted). */
void rrlist_dedup(rrlist_t *l);

/* Every record of a compiled zone, in canonical order, owners lowercased. */
int rrlist_from_zone(const zone_t *z, rrlist_t *out);

/* Compiles a zone from the records of l with the checks of a zone file
 * (zone_compile_text()); `name` stands for the file in messages. */
int zone_compile_rrs(const char *origin, const rrlist_t *l, const char *name,
                     zone_diag_fn diag, void *diag_ctx, zone_t **out);

/* The SOA serial in the RDATA of a SOA record, or false when it is malformed. */
bool rr_soa_serial(const rrlist_t *l, const rr_t *r, uint32_t *serial);
/* The five numbers of a SOA record (serial, refresh, retry, expire,
 * minimum), or false when it is malformed. */
bool rr_soa_fields(const rrlist_t *l, const rr_t *r, uint32_t v[5]);
/* The first SOA record of l, or NULL. */
const rr_t *rrlist_soa(const rrlist_t *l);

#endif
