/* Compiling a zone from a record list (a zone transfer) through the zone
 * builder, so a transferred zone gets every check a zone file gets. */
#include "rrlist.h"
#include "zone_build.h"

int zone_compile_rrs(const char *origin, const rrlist_t *l, const char *name,
                     zone_diag_fn diag, void *diag_ctx, zone_t **out)
{
	uint8_t ow[255];
	zone_builder_t *b = NULL;
	uint16_t src;
	int n = anyns_name_from_text(origin, ow, sizeof(ow));

	*out = NULL;
	if (n <= 0)
		return ANYNS_EINVAL;
	int rc = zb_begin(ow, (size_t)n, NULL, diag, diag_ctx, &b);
	if (rc != 0)
		return rc;
	rc = zb_source(b, name, &src);
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		const rr_t *r = &l->rr[i];
		zb_rr_t zr = {
			.owner = rr_owner(l, r), .owner_len = r->owner_len, .type = r->type,
			.rclass = r->rclass, .ttl = r->ttl, .rdata = rr_rdata(l, r), .rdlen = r->rdlen,
		};
		/* The position in the transfer stands for a line number. */
		rc = zb_add_rr(b, &zr, src, (uint32_t)(i + 1));
	}
	if (rc != 0) {
		zb_abort(b);
		return rc;
	}
	return zb_finish(b, src, out);
}
