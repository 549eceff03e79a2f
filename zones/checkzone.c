/* anyns-checkzone FILE ORIGIN: loads a zone with the same parser and checks
 * as anynsd, prints every problem as "FILE:LINE: error|warning: msg" and a
 * one-line summary like nsd-checkzone and kzonecheck.
 * Exit status: 0 zone ok, 1 zone has errors, 2 usage or internal error. */
#include <stdio.h>
#include <string.h>

#include "anyns.h"

struct counts {
	unsigned errors, warnings;
};

static void on_diag(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	struct counts *c = ctx;
	if (fatal)
		c->errors++;
	else
		c->warnings++;
	printf("%s:%d: %s: %s\n", file, line, fatal ? "error" : "warning", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: anyns-checkzone FILE ORIGIN\n"
	           "  Parses the RFC 1035 master file FILE as the zone ORIGIN, runs the\n"
	           "  checks anynsd runs at load time and prints a summary.\n"
	           "  Exit status: 0 ok, 1 the zone has errors, 2 usage.\n");
}

int main(int argc, char **argv)
{
	struct counts c = { 0, 0 };
	zone_t *z = NULL;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	const char *file = argv[1], *origin = argv[2];
	uint8_t w[255];
	int wl = anyns_name_from_text(origin, w, sizeof(w));
	if (wl < 0) {
		fprintf(stderr, "anyns-checkzone: bad origin '%s'\n", origin);
		return 2;
	}
	rc = zone_compile_file(origin, file, on_diag, &c, &z);
	if (rc == 0) {
		zone_stats_t st;
		zone_get_stats(z, &st);
		printf("zone %s is ok: %zu records, %zu names, serial %u",
		       zone_origin_text(z), st.records, st.names, st.serial);
		if (c.warnings)
			printf(", %u warning%s", c.warnings, c.warnings == 1 ? "" : "s");
		printf("\n");
		zone_unref(z);
		return 0;
	}
	if (rc == ANYNS_EZONE) {
		char txt[1024];
		anyns_name_to_text(w, (size_t)wl, txt, sizeof(txt));
		printf("zone %s has %u error%s", txt, c.errors, c.errors == 1 ? "" : "s");
		if (c.warnings)
			printf(" and %u warning%s", c.warnings, c.warnings == 1 ? "" : "s");
		printf("\n");
		return 1;
	}
	fprintf(stderr, "anyns-checkzone: %s: %s\n", file, anyns_strerror(rc));
	return 2;
}
