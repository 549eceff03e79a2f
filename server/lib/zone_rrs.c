/* Compiling a zone from a record list (a zone transfer) through the same
 * reader, checks and compiler as a zone file: each record is written in the
 * RFC 3597 generic form, which carries any RDATA byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rrlist.h"

static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap * 2 : 65536;
		while (nc < *len + n + 1)
			nc *= 2;
		char *nb = realloc(*buf, nc);
		if (nb == NULL)
			return ANYNS_ENOMEM;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

int zone_compile_rrs(const char *origin, const rrlist_t *l, const char *name,
                     zone_diag_fn diag, void *diag_ctx, zone_t **out)
{
	static const char hex[] = "0123456789abcdef";
	char *buf = NULL, line[1100];
	size_t len = 0, cap = 0;
	int rc = 0;

	*out = NULL;
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		const rr_t *r = &l->rr[i];
		char owner[1024];
		if (anyns_name_to_text(rr_owner(l, r), r->owner_len, owner, sizeof(owner)) < 0) {
			rc = ANYNS_EINVAL;
			break;
		}
		int n = snprintf(line, sizeof(line), "%s %u CLASS%u TYPE%u \\# %u ", owner, r->ttl,
		                 r->rclass, r->type, r->rdlen);
		rc = put(&buf, &len, &cap, line, (size_t)n);
		const uint8_t *rd = rr_rdata(l, r);
		for (size_t k = 0; k < r->rdlen && rc == 0; k += 512) {
			size_t m = r->rdlen - k < 512 ? r->rdlen - k : 512;
			for (size_t j = 0; j < m; j++) {
				line[2 * j] = hex[rd[k + j] >> 4];
				line[2 * j + 1] = hex[rd[k + j] & 15];
			}
			rc = put(&buf, &len, &cap, line, 2 * m);
		}
		if (rc == 0)
			rc = put(&buf, &len, &cap, "\n", 1);
	}
	if (rc == 0)
		rc = zone_compile_text(origin, buf ? buf : "", name, diag, diag_ctx, out);
	free(buf);
	return rc;
}
