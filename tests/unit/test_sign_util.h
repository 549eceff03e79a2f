/* Zones signed with ldns for the unit tests of DNSSEC answers and of patched
 * versions (test_dnssec, test_zone_patch). Include after cmocka.h. */
#ifndef TEST_SIGN_UTIL_H
#define TEST_SIGN_UTIL_H

#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

/* How a zone is signed; D_NONE: not at all. */
enum denial { D_NONE, D_NSEC, D_NSEC3, D_OPTOUT };

/* The zone text `text` read for `origin` (an ldns name the caller keeps). */
static inline ldns_dnssec_zone *sign_read(const char *text, const ldns_rdf *origin)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	ldns_dnssec_zone *dz = NULL;
	assert_int_equal(ldns_dnssec_zone_new_frm_fp(&dz, f, origin, 3600, LDNS_RR_CLASS_IN),
	                 LDNS_STATUS_OK);
	fclose(f);
	return dz;
}

/* dz signed with keys, denial by NSEC or NSEC3 (3 iterations, salt abcd,
 * opt-out for D_OPTOUT), printed as zone text for the caller to free. */
static inline char *sign_print(ldns_dnssec_zone *dz, ldns_key_list *keys, enum denial d)
{
	ldns_rr_list *added = ldns_rr_list_new();
	uint8_t salt[2] = { 0xab, 0xcd };
	ldns_status st = d == D_NSEC ?
		ldns_dnssec_zone_sign(dz, added, keys, ldns_dnssec_default_replace_signatures, NULL) :
		ldns_dnssec_zone_sign_nsec3(dz, added, keys, ldns_dnssec_default_replace_signatures,
		                            NULL, LDNS_SHA1,
		                            d == D_OPTOUT ? LDNS_NSEC3_VARS_OPTOUT_MASK : 0, 3,
		                            sizeof(salt), salt);
	assert_int_equal(st, LDNS_STATUS_OK);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ldns_dnssec_zone_print(out, dz);
	fclose(out);
	ldns_rr_list_free(added);
	return text;
}

#endif
