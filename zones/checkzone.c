/* anyns-checkzone FILE ORIGIN (or ORIGIN FILE, as nsd-checkzone takes them):
 * loads a zone with the same parser and checks as anynsd, prints which
 * order the arguments were read in, every problem as
 * "FILE:LINE: error|warning: msg" (in file and line order) and a one-line
 * summary like nsd-checkzone and kzonecheck. Exit status: 0 zone ok, 1 zone has errors, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>

#include "anyns.h"
#include "checkzone_dnssec.h"

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
	fprintf(f, "usage: anyns-checkzone [OPTIONS] FILE ORIGIN\n"
	           "       anyns-checkzone [OPTIONS] ORIGIN FILE   (the nsd-checkzone order)\n"
	           "  Parses the RFC 1035 master file FILE as the zone ORIGIN, runs the\n"
	           "  checks anynsd runs at load time and prints a summary. The first line\n"
	           "  says which order the arguments were read in.\n"
	           "  --strict-glue      missing glue is an error (default: a warning)\n"
	           "  --zones-dir DIR    $INCLUDE may also read from DIR\n"
	           "  --include-anywhere $INCLUDE may read any regular file\n"
	           "  --expire-warn DAYS warn about RRSIGs that expire within DAYS (default 7)\n"
	           "  --no-dnssec        do not verify the signatures of a signed zone\n"
	           "  --threads N        threads for a big zone: 2 or more parse beside the\n"
	           "                     build (default: the CPUs online; 1: one thread)\n"
	           "  A signed zone (DNSKEY at the apex) also has every RRSIG verified with\n"
	           "  ldns (signature, inception, expiration) and its NSEC/NSEC3 chain checked.\n"
	           "  Exit status: 0 ok, 1 the zone has errors, 2 usage.\n");
}

/* FILE ORIGIN or ORIGIN FILE: the one that names an existing file is the
 * file; when that does not decide, one with a '/' is a path; else the
 * documented FILE ORIGIN order. Returns true for the nsd-checkzone order. */
static bool origin_first(const char *a, const char *b, const char **why)
{
	struct stat st;
	bool fa = stat(a, &st) == 0 && !S_ISDIR(st.st_mode);
	bool fb = stat(b, &st) == 0 && !S_ISDIR(st.st_mode);
	if (fa != fb) {
		*why = "only it names a file";
		return fb;
	}
	bool sa = strchr(a, '/') != NULL, sb = strchr(b, '/') != NULL;
	if (sa != sb) {
		*why = "only it holds a '/'";
		return sb;
	}
	*why = fa ? "both name files: the FILE ORIGIN order is the default"
	          : "neither names a file: the FILE ORIGIN order is the default";
	return false;
}

int main(int argc, char **argv)
{
	struct diags ds = { 0 };
	zone_t *z = NULL;
	zone_load_opts_t opts;
	const char *args[2];
	int nargs = 0, rc;
	bool dnssec = true;
	long warn_days = 7;

	zone_load_opts_init(&opts);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	opts.threads = ncpu > 0 ? (unsigned)ncpu : 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--strict-glue")) {
			opts.strict_glue = true;
		} else if (!strcmp(argv[i], "--include-anywhere")) {
			opts.include_anywhere = true;
		} else if (!strcmp(argv[i], "--no-dnssec")) {
			dnssec = false;
		} else if (!strcmp(argv[i], "--expire-warn") && i + 1 < argc) {
			char *end;
			warn_days = strtol(argv[++i], &end, 10);
			if (*end || warn_days < 0 || warn_days > 24855) {
				fprintf(stderr, "anyns-checkzone: --expire-warn: '%s' is not a number "
				        "of days (0 to 24855)\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			char *end;
			long t = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || t < 1 || t > 256) {
				fprintf(stderr, "anyns-checkzone: --threads: '%s' is not a number "
				        "from 1 to 256\n", argv[i]);
				return 2;
			}
			opts.threads = (unsigned)t;
		} else if (!strcmp(argv[i], "--zones-dir") && i + 1 < argc) {
			opts.zones_dir = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "anyns-checkzone: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (nargs < 2) {
			args[nargs++] = argv[i];
		} else {
			nargs = 3;
		}
	}
	if (nargs != 2) {
		usage(stderr);
		return 2;
	}
	const char *why;
	bool swapped = origin_first(args[0], args[1], &why);
	const char *file = args[swapped], *origin = args[!swapped];
	printf("reading %s as the zone %s: arguments in the %s order (%s)\n", file, origin,
	       swapped ? "ORIGIN FILE (nsd-checkzone)" : "FILE ORIGIN", why);
	uint8_t w[255];
	int wl = anyns_name_from_text(origin, w, sizeof(w));
	if (wl < 0) {
		fprintf(stderr, "anyns-checkzone: bad origin '%s'\n", origin);
		return 2;
	}
	rc = zone_compile_file_opts(origin, file, &opts, on_diag, &ds, &z);
	unsigned sigs = 0, derr = 0, dwarn = 0;
	if (rc == 0 && dnssec) {
		int r = checkzone_dnssec(z, file, (int64_t)time(NULL), (uint32_t)(warn_days * 86400),
		                         on_diag, &ds, &derr, &dwarn, &sigs);
		if (r != 0) {
			print_diags(&ds);
			fprintf(stderr, "anyns-checkzone: %s: %s\n", file, anyns_strerror(r));
			zone_unref(z);
			return 2;
		}
		if (derr) {
			zone_unref(z);
			z = NULL;
			rc = ANYNS_EZONE;
		}
	}
	print_diags(&ds);
	if (rc == 0) {
		zone_stats_t st;
		zone_get_stats(z, &st);
		printf("zone %s is ok: %zu records, %zu names, serial %u",
		       zone_origin_text(z), st.records, st.names, st.serial);
		if (st.dnssec && dnssec)
			printf(", signed (%s), %u signatures verified",
			       st.denial == 3 ? "NSEC3" : "NSEC", sigs);
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
