/* anyns-checkzone FILE ORIGIN: loads a zone with the same parser and checks
 * as anynsd, prints every problem as "FILE:LINE: error|warning: msg" (in
 * file and line order) and a one-line summary like nsd-checkzone and
 * kzonecheck. Exit status: 0 zone ok, 1 zone has errors, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anyns.h"

struct diag {
	char *file;
	int line;
	bool fatal;
	char *msg;
	size_t seq;
};

struct diags {
	struct diag *d;
	size_t n, cap;
	unsigned errors, warnings;
	bool nomem;
};

static void on_diag(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	struct diags *ds = ctx;
	if (fatal)
		ds->errors++;
	else
		ds->warnings++;
	if (ds->n == ds->cap) {
		size_t nc = ds->cap ? ds->cap * 2 : 64;
		struct diag *d = realloc(ds->d, nc * sizeof(*d));
		if (!d) {
			ds->nomem = true;
			return;
		}
		ds->d = d;
		ds->cap = nc;
	}
	struct diag *d = &ds->d[ds->n];
	d->file = strdup(file);
	d->msg = strdup(msg);
	if (!d->file || !d->msg) {
		free(d->file);
		free(d->msg);
		ds->nomem = true;
		return;
	}
	d->line = line;
	d->fatal = fatal;
	d->seq = ds->n++;
}

/* The loader reports per check; sort into file order for reading. */
static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : 1;
}

static void print_diags(struct diags *ds)
{
	if (ds->n > 1)
		qsort(ds->d, ds->n, sizeof(*ds->d), diag_cmp);
	for (size_t i = 0; i < ds->n; i++) {
		printf("%s:%d: %s: %s\n", ds->d[i].file, ds->d[i].line,
		       ds->d[i].fatal ? "error" : "warning", ds->d[i].msg);
		free(ds->d[i].file);
		free(ds->d[i].msg);
	}
	free(ds->d);
	if (ds->nomem)
		printf("(out of memory: some problems were not printed)\n");
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
	struct diags ds = { 0 };
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
	rc = zone_compile_file(origin, file, on_diag, &ds, &z);
	print_diags(&ds);
	if (rc == 0) {
		zone_stats_t st;
		zone_get_stats(z, &st);
		printf("zone %s is ok: %zu records, %zu names, serial %u",
		       zone_origin_text(z), st.records, st.names, st.serial);
		if (ds.warnings)
			printf(", %u warning%s", ds.warnings, ds.warnings == 1 ? "" : "s");
		printf("\n");
		zone_unref(z);
		return 0;
	}
	if (rc == ANYNS_EZONE) {
		char txt[1024];
		anyns_name_to_text(w, (size_t)wl, txt, sizeof(txt));
		printf("zone %s has %u error%s", txt, ds.errors, ds.errors == 1 ? "" : "s");
		if (ds.warnings)
			printf(" and %u warning%s", ds.warnings, ds.warnings == 1 ? "" : "s");
		printf("\n");
		return 1;
	}
	fprintf(stderr, "anyns-checkzone: %s: %s\n", file, anyns_strerror(rc));
	return 2;
}
