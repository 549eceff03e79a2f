/* Unit tests for zone loading (server/lib/zone_load.c, zone_parse.c,
 * zone_build.c, zone_check.c): master-file
 * syntax, $ORIGIN/$TTL/$INCLUDE, RFC 3597 types and every load-time check,
 * each with the line number it must name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "anyns.h"
#include "zone_db.h"

struct diag {
	char file[256];
	int line;
	bool fatal;
	char msg[512];
};
struct diags {
	int n;
	struct diag d[64];
};

static void collect(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	struct diags *ds = ctx;
	if (ds->n >= 64)
		return;
	struct diag *d = &ds->d[ds->n++];
	snprintf(d->file, sizeof(d->file), "%s", file);
	d->line = line;
	d->fatal = fatal;
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

/* True when a diagnostic with this line, severity and message part exists. */
static bool has(const struct diags *ds, int line, bool fatal, const char *part)
{
	for (int i = 0; i < ds->n; i++)
		if (ds->d[i].line == line && ds->d[i].fatal == fatal && strstr(ds->d[i].msg, part))
			return true;
	return false;
}

static void dump(const struct diags *ds)
{
	for (int i = 0; i < ds->n; i++)
		print_message("  %s:%d: %s: %s\n", ds->d[i].file, ds->d[i].line,
		              ds->d[i].fatal ? "error" : "warning", ds->d[i].msg);
}

/* Options for load_ok() and load_bad(); tests set ldns_only to compare the
 * fast parser with ldns. */
static zone_load_opts_t g_opts;
static const zone_load_opts_t ldns_opts = { .ldns_only = true };

static zone_t *load_ok(const char *text, struct diags *ds)
{
	zone_t *z = NULL;
	memset(ds, 0, sizeof(*ds));
	int rc = zone_compile_text_opts("example.com", text, "t.zone", &g_opts, collect, ds, &z);
	if (rc != 0)
		dump(ds);
	assert_int_equal(rc, 0);
	assert_non_null(z);
	return z;
}

static void load_bad(const char *text, struct diags *ds)
{
	zone_t *z = (zone_t *)1;
	memset(ds, 0, sizeof(*ds));
	assert_int_equal(zone_compile_text_opts("example.com", text, "t.zone", &g_opts, collect, ds, &z),
	                 ANYNS_EZONE);
	assert_null(z);
	assert_true(ds->n > 0);
}

static const znode_t *node(const zone_t *z, const char *name)
{
	uint8_t w[255];
	int n = anyns_name_from_text(name, w, sizeof(w));
	assert_true(n > 0);
	return zone_lookup(z, w, (size_t)n);
}

#define HEAD "$TTL 300\n" \
	"@ IN SOA ns1 hostmaster 2026112101 3600 900 604800 60\n" \
	"@ NS ns1\n" \
	"ns1 A 192.0.2.1\n"
/* HEAD takes lines 1-4; test lines start at 5. */

static void test_syntax(void **st)
{
	(void)st;
	struct diags ds;
	zone_t *z = load_ok(
		"$TTL 1h\n"                                        /* 1 */
		"; a comment line\n"                               /* 2 */
		"@ IN SOA ns1.example.com. hostmaster.example.com. (\n" /* 3 */
		"      2026112101 ; serial\n"                      /* 4 */
		"      3600 900 604800 60 )\n"                     /* 5 */
		"   NS ns1\n"                                       /* 6: owner inherited */
		"ns1 A 192.0.2.1\n"                                /* 7 */
		"www 600 IN A 192.0.2.2\n"                         /* 8 */
		"    IN AAAA 2001:db8::1\n"                        /* 9 */
		"\n"                                               /* 10 */
		"mx MX 10 mail\n"                                  /* 11: relative rdata name */
		"txt TXT \"a;b\" \"(c)\"\n"                        /* 12 */
		"unk TYPE12345 \\# 4 0a000001\n"                   /* 13: RFC 3597 */
		"$ORIGIN Sub.Example.Com.\n"                       /* 14 */
		"x A 192.0.2.9\n"                                  /* 15 */
		"$ORIGIN deeper\n"                                 /* 16: relative origin */
		"y A 192.0.2.10\n"                                 /* 17 */
		"$TTL 77\n"                                        /* 18 */
		"z A 192.0.2.11\n",                                /* 19 */
		&ds);
	assert_int_equal(ds.n, 0);
	zone_stats_t s;
	zone_get_stats(z, &s);
	assert_int_equal(s.serial, 2026112101);
	assert_int_equal(s.records, 11);
	assert_string_equal(zone_origin_text(z), "example.com.");

	const zrrset_t *r = znode_rrset(node(z, "www.example.com"), 1);
	assert_non_null(r);
	assert_int_equal(r->ttl, 600);
	assert_int_equal(r->count, 1);
	assert_int_equal(r->len, 6);
	assert_memory_equal(r->data, "\x00\x04\xc0\x00\x02\x02", 6);
	r = znode_rrset(node(z, "www.example.com"), 28);
	assert_non_null(r);
	assert_int_equal(r->ttl, 3600);                    /* $TTL 1h */
	r = znode_rrset(node(z, "mx.example.com"), 15);
	assert_non_null(r);
	assert_memory_equal(r->data, "\x00\x14\x00\x0a\x04mail\x07" "example\x03" "com\x00", 22);
	r = znode_rrset(node(z, "txt.example.com"), 16);
	assert_non_null(r);
	assert_memory_equal(r->data, "\x00\x08\x03" "a;b\x03(c)", 10);
	r = znode_rrset(node(z, "unk.example.com"), 12345);
	assert_non_null(r);
	assert_memory_equal(r->data, "\x00\x04\x0a\x00\x00\x01", 6);
	assert_non_null(znode_rrset(node(z, "x.sub.example.com"), 1));
	assert_non_null(znode_rrset(node(z, "y.deeper.sub.example.com"), 1));
	r = znode_rrset(node(z, "z.deeper.sub.example.com"), 1);
	assert_non_null(r);
	assert_int_equal(r->ttl, 77);
	/* the NS on line 6 inherited the apex owner */
	r = znode_rrset(zone_apex(z), 2);
	assert_non_null(r);
	assert_int_equal(r->count, 1);
	zone_unref(z);
}

struct last {
	int n, line;
	char msg[512];
};

static void keep_last(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	struct last *l = ctx;
	(void)file; (void)fatal;
	l->n++;
	l->line = line;
	snprintf(l->msg, sizeof(l->msg), "%s", msg);
}

static void test_syntax_errors(void **st)
{
	(void)st;
	struct diags ds;
	load_bad(HEAD
	         "bad A 300.1.1.1\n"               /* 5 */
	         "ok A 192.0.2.5\n"                /* 6 */
	         "bad2 NOSUCHTYPE foo\n"           /* 7 */
	         "paren A ( 192.0.2.7\n"           /* 8 */
	         "\n"                              /* 9 */
	         , &ds);
	/* every bad line is reported, not only the first */
	assert_true(has(&ds, 5, true, ""));
	assert_true(has(&ds, 7, true, ""));
	assert_true(has(&ds, 8, true, "("));
	assert_false(has(&ds, 6, true, ""));
	assert_string_equal(ds.d[0].file, "t.zone");

	/* a file that is not a zone stops after 1000 errors */
	static char junk[40000];
	size_t o = 0;
	for (int i = 0; i < 3000; i++)
		o += (size_t)snprintf(junk + o, sizeof(junk) - o, "junk%d\n", i);
	struct last l = { 0, 0, "" };
	zone_t *z = NULL;
	assert_int_equal(zone_compile_text("example.com", junk, "j", keep_last, &l, &z), ANYNS_EZONE);
	assert_int_equal(l.n, 1001);
	assert_int_equal(l.line, 1001);
	assert_non_null(strstr(l.msg, "too many errors"));

	/* an escaped newline still counts as a line */
	load_bad(HEAD "a TXT x\\\ny\nbad A 1.2.3\n", &ds);
	assert_true(has(&ds, 7, true, "1.2.3"));

	load_bad(HEAD "$GENERATE 1-2 x$ A 192.0.2.1\n", &ds);
	assert_true(has(&ds, 5, true, "directive"));
	load_bad(HEAD "$TTL abc\n", &ds);
	assert_true(has(&ds, 5, true, "$TTL"));
	load_bad(HEAD "ch CH TXT \"x\"\n", &ds);
	assert_true(has(&ds, 5, true, "class"));
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_include(void **st)
{
	(void)st;
	struct diags ds;
	char path[256];
	zone_t *z = NULL;
	strcpy(tmpdir, "/tmp/anyns-zl-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("main.zone", HEAD
	           "$INCLUDE inc.zone sub.example.com.\n"  /* 5: path beside main.zone */
	           "after A 192.0.2.20\n");                /* 6: origin restored */
	write_file("inc.zone", "a A 192.0.2.30\n@ TXT \"inc\"\n");
	write_file("bad.zone", HEAD "$INCLUDE incbad.zone\n");
	write_file("incbad.zone", "ok A 192.0.2.1\n\nbroken A nonsense\n");
	write_file("loop.zone", HEAD "$INCLUDE loop.zone\n");

	snprintf(path, sizeof(path), "%s/main.zone", tmpdir);
	memset(&ds, 0, sizeof(ds));
	assert_int_equal(zone_compile_file("example.com.", path, collect, &ds, &z), 0);
	assert_non_null(znode_rrset(node(z, "a.sub.example.com"), 1));
	assert_non_null(znode_rrset(node(z, "sub.example.com"), 16));
	assert_non_null(znode_rrset(node(z, "after.example.com"), 1));
	zone_unref(z);

	/* an error inside an included file names that file and its line */
	snprintf(path, sizeof(path), "%s/bad.zone", tmpdir);
	memset(&ds, 0, sizeof(ds));
	z = NULL;
	assert_int_equal(zone_compile_file("example.com.", path, collect, &ds, &z), ANYNS_EZONE);
	assert_null(z);
	assert_true(has(&ds, 3, true, ""));
	assert_non_null(strstr(ds.d[0].file, "incbad.zone"));

	snprintf(path, sizeof(path), "%s/loop.zone", tmpdir);
	memset(&ds, 0, sizeof(ds));
	assert_int_equal(zone_compile_file("example.com.", path, collect, &ds, &z), ANYNS_EZONE);
	assert_true(has(&ds, 5, true, "deep"));

	snprintf(path, sizeof(path), "%s/missing.zone", tmpdir);
	memset(&ds, 0, sizeof(ds));
	assert_int_equal(zone_compile_file("example.com.", path, collect, &ds, &z), ANYNS_EZONE);
	assert_true(has(&ds, 0, true, "cannot read"));

	const char *names[] = { "main.zone", "inc.zone", "bad.zone", "incbad.zone", "loop.zone" };
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* A NUL byte is no text: the file is refused, naming the NUL's line, instead
 * of the line being cut at it (its rest would be lost without a word). */
static void test_nul_byte(void **st)
{
	(void)st;
	static const char body[] = HEAD "www A 192.0.2.9\0junk\nafter A 192.0.2.10\n";
	static const char inc[] = "ok A 192.0.2.1\nbad\0 A 192.0.2.2\n";
	struct diags ds;
	char path[256];
	zone_t *z = NULL;
	strcpy(tmpdir, "/tmp/anyns-zl-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/inc.zone", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(inc, 1, sizeof(inc) - 1, f), sizeof(inc) - 1);
	fclose(f);
	write_file("main.zone", HEAD "$INCLUDE inc.zone\n");
	snprintf(path, sizeof(path), "%s/nul.zone", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(body, 1, sizeof(body) - 1, f), sizeof(body) - 1);
	fclose(f);

	memset(&ds, 0, sizeof(ds));
	assert_int_equal(zone_compile_file("example.com.", path, collect, &ds, &z), ANYNS_EZONE);
	assert_null(z);
	if (!has(&ds, 5, true, "NUL byte"))
		dump(&ds);
	assert_true(has(&ds, 5, true, "NUL byte"));

	snprintf(path, sizeof(path), "%s/main.zone", tmpdir);
	memset(&ds, 0, sizeof(ds));
	assert_int_equal(zone_compile_file("example.com.", path, collect, &ds, &z), ANYNS_EZONE);
	if (!has(&ds, 5, true, "NUL byte (not a text file) at its line 2"))
		dump(&ds);
	assert_true(has(&ds, 5, true, "NUL byte (not a text file) at its line 2"));

	const char *names[] = { "nul.zone", "inc.zone", "main.zone" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* True when no diagnostic contains `part`. */
static bool nowhere(const struct diags *ds, const char *part)
{
	for (int i = 0; i < ds->n; i++)
		if (strstr(ds->d[i].msg, part) || strstr(ds->d[i].file, part))
			return false;
	return true;
}

static int load_file(const char *name, const zone_load_opts_t *o, struct diags *ds)
{
	char path[256];
	zone_t *z = NULL;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	memset(ds, 0, sizeof(*ds));
	int rc = zone_compile_file_opts("example.com.", path, o, collect, ds, &z);
	zone_unref(z);
	return rc;
}

/* Hostile includes: only regular files (a FIFO or /dev/zero neither blocks
 * nor grows memory), size limits per file and per zone, includes only from
 * the zone's folder or zones_dir, and no content of other files in
 * messages. */
static void test_include_policy(void **st)
{
	(void)st;
	struct diags ds;
	char other[64], path[512], link[512];
	zone_load_opts_t o;
	zone_load_opts_init(&o);

	strcpy(tmpdir, "/tmp/anyns-zl-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	strcpy(other, "/tmp/anyns-zl-other-XXXXXX");
	assert_non_null(mkdtemp(other));
	/* a file outside the zone's folder, and a symbolic link to it inside */
	snprintf(path, sizeof(path), "%s/secret", other);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("secret-content A nonsense\n", f);
	fclose(f);
	snprintf(link, sizeof(link), "%s/link.zone", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	snprintf(link, sizeof(link), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(link, 0600), 0);

	char text[1024];
	write_file("fifo.zone", HEAD "$INCLUDE fifo\n");               /* 5 */
	write_file("zero.zone", HEAD "$INCLUDE /dev/zero\n");
	snprintf(text, sizeof(text), HEAD "$INCLUDE %s\n", path);
	write_file("outside.zone", text);
	write_file("link-inc.zone", HEAD "$INCLUDE link.zone\n");
	write_file("small.zone", "a A 192.0.2.1\n");                   /* 14 bytes */
	write_file("twice.zone", HEAD "$INCLUDE small.zone\n$INCLUDE small.zone\n");
	write_file("incbig.zone", HEAD "$INCLUDE bigger.zone\n");
	size_t o2 = 0;
	for (int i = 0; i < 20; i++)
		o2 += (size_t)snprintf(text + o2, sizeof(text) - o2, "b%02d A 192.0.2.%d\n", i, i);
	write_file("bigger.zone", text);                               /* 340 bytes */
	write_file("esc.zone", HEAD "bad\033[31m A 1.2.3\n"
	           "long A 1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20\n");

	/* A reader of the FIFO would block: the alarm ends a hung test. */
	alarm(20);
	assert_int_equal(load_file("fifo.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 5, true, "not a regular file"));
	assert_int_equal(load_file("zero.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 5, true, "not a regular file"));
	alarm(0);

	/* outside the folder: refused, also through a symbolic link */
	assert_int_equal(load_file("outside.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 5, true, "outside the zone's folder"));
	assert_true(nowhere(&ds, "secret-content"));
	assert_int_equal(load_file("link-inc.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 5, true, "outside the zone's folder"));
	/* allowed by zones_dir, or by include_anywhere: read, but its errors
	 * quote nothing of it */
	o.zones_dir = other;
	assert_int_equal(load_file("outside.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 1, true, "'secret-content A nonsense'"));
	o.zones_dir = NULL;
	o.include_anywhere = true;
	assert_int_equal(load_file("link-inc.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 1, true, ""));
	assert_true(nowhere(&ds, "secret-content"));
	assert_true(nowhere(&ds, "nonsense"));
	/* nor the names of its records */
	char path2[512];
	snprintf(path2, sizeof(path2), "%s/secret2", other);
	f = fopen(path2, "w");
	assert_non_null(f);
	fputs("secret-owner.example.net. A 192.0.2.1\n", f);
	fclose(f);
	snprintf(text, sizeof(text), HEAD "$INCLUDE %s\n", path2);
	write_file("outside2.zone", text);
	assert_int_equal(load_file("outside2.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 1, true, "(name not shown) is out of zone"));
	assert_true(nowhere(&ds, "secret-owner"));
	o.zones_dir = other;                   /* inside: named */
	o.include_anywhere = false;
	assert_int_equal(load_file("outside2.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 1, true, "secret-owner.example.net. is out of zone"));
	o.zones_dir = NULL;
	unlink(path2);

	/* size limits per file and for the zone, naming the $INCLUDE line */
	assert_int_equal(load_file("twice.zone", &o, &ds), 0);
	o.max_file_size = 10;
	assert_int_equal(load_file("twice.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 0, true, "size limit for one file"));   /* the main file */
	o.max_file_size = 200;
	assert_int_equal(load_file("incbig.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 5, true, "size limit for one file"));
	o.max_file_size = 0;
	o.max_zone_size = strlen(HEAD) + 40 + 14 + 7;               /* the main file and one include */
	assert_int_equal(load_file("twice.zone", &o, &ds), ANYNS_EZONE);
	assert_false(has(&ds, 5, true, "size limit"));
	assert_true(has(&ds, 6, true, "size limit for a zone"));
	o.max_zone_size = 0;

	/* excerpts: control bytes escaped, long lines cut */
	assert_int_equal(load_file("esc.zone", &o, &ds), ANYNS_EZONE);
	assert_true(has(&ds, 5, true, "bad\\027[31m A 1.2.3"));
	assert_true(nowhere(&ds, "\033"));
	assert_true(has(&ds, 6, true, "...'"));
	assert_true(nowhere(&ds, "19.20"));

	const char *names[] = { "fifo.zone", "zero.zone", "outside.zone", "link-inc.zone", "small.zone",
	                        "twice.zone", "esc.zone", "link.zone", "fifo", "incbig.zone",
	                        "bigger.zone", "outside2.zone" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(link, sizeof(link), "%s/%s", tmpdir, names[i]);
		unlink(link);
	}
	rmdir(tmpdir);
	unlink(path);
	rmdir(other);
}

static void test_check_soa(void **st)
{
	(void)st;
	struct diags ds;
	load_bad("$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n", &ds);
	assert_true(has(&ds, 0, true, "no SOA"));
	load_bad(HEAD "sub SOA ns1 hostmaster 1 2 3 4 5\n", &ds);
	assert_true(has(&ds, 5, true, "SOA record not at the zone apex"));
	load_bad(HEAD "@ SOA ns1 hostmaster 2 3600 900 604800 60\n", &ds);
	assert_true(has(&ds, 5, true, "more than one SOA"));
	/* the same SOA twice is a duplicate, merged silently */
	zone_t *z = load_ok(HEAD "@ SOA ns1 hostmaster 2026112101 3600 900 604800 60\n", &ds);
	assert_int_equal(ds.n, 0);
	assert_int_equal(zone_soa(z)->count, 1);
	zone_unref(z);
}

static void test_check_apex_ns(void **st)
{
	(void)st;
	struct diags ds;
	load_bad("$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4 5\nns1 A 192.0.2.1\n", &ds);
	assert_true(has(&ds, 2, true, "no NS"));
}

static void test_check_out_of_zone(void **st)
{
	(void)st;
	struct diags ds;
	load_bad(HEAD "www.example.net. A 192.0.2.1\n", &ds);
	assert_true(has(&ds, 5, true, "out of zone"));
	load_bad(HEAD "$ORIGIN example.org.\nwww A 192.0.2.1\n", &ds);
	assert_true(has(&ds, 6, true, "out of zone"));
	/* a name that merely ends with the same characters is outside too */
	load_bad(HEAD "wwwexample.com. A 192.0.2.1\n", &ds);
	assert_true(has(&ds, 5, true, "out of zone"));
}

static void test_check_cname(void **st)
{
	(void)st;
	struct diags ds;
	load_bad(HEAD "www CNAME ns1\nwww A 192.0.2.1\n", &ds);
	assert_true(has(&ds, 6, true, "CNAME and other data"));
	load_bad(HEAD "www A 192.0.2.1\nx A 192.0.2.2\nwww CNAME ns1\n", &ds);
	assert_true(has(&ds, 7, true, "CNAME and other data"));
	load_bad(HEAD "www CNAME ns1\nwww CNAME x\n", &ds);
	assert_true(has(&ds, 6, true, "more than one CNAME"));
	/* RRSIG and NSEC may sit beside a CNAME (RFC 4035 2.5) */
	zone_t *z = load_ok(HEAD
		"www CNAME ns1\n"
		"www NSEC zz.example.com. CNAME RRSIG NSEC\n"
		"www RRSIG CNAME 8 3 300 20300101000000 20200101000000 12345 example.com. AAAA\n",
		&ds);
	zone_unref(z);
	/* an identical CNAME twice is a duplicate, not two CNAMEs */
	z = load_ok(HEAD "www CNAME ns1\nwww CNAME ns1\n", &ds);
	assert_int_equal(znode_rrset(node(z, "www.example.com"), 5)->count, 1);
	zone_unref(z);
}

/* Missing glue is a warning, as NSD and Knot serve such a zone; with
 * strict_glue it stops the zone. */
static void test_check_glue(void **st)
{
	(void)st;
	struct diags ds;
	zone_t *z;
	for (int strict = 0; strict < 2; strict++) {
		g_opts.strict_glue = strict;
		const char *t1 = HEAD
		         "sub NS ns.sub\n"             /* 5: glue missing */
		         "sub NS ns.other.net.\n"      /* 6: out of zone, fine */
		         "sub NS ns1\n";               /* 7: in zone above the cut, fine */
		/* a target at the cut itself needs glue too; TXT is not glue */
		const char *t2 = HEAD "sub NS sub\nsub TXT \"x\"\n";
		/* an apex NS whose target lies below a cut */
		const char *t3 = "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns.sub\nsub NS ns.sub\n"
		                 "sub NS ns1\nns1 A 192.0.2.1\n";
		if (strict) {
			load_bad(t1, &ds);
		} else {
			z = load_ok(t1, &ds);
			zone_unref(z);
		}
		assert_true(has(&ds, 5, strict, "missing glue"));
		assert_int_equal(ds.n, 1);
		if (strict) {
			load_bad(t2, &ds);
		} else {
			z = load_ok(t2, &ds);
			zone_unref(z);
		}
		assert_true(has(&ds, 5, strict, "missing glue"));
		if (strict) {
			load_bad(t3, &ds);
		} else {
			z = load_ok(t3, &ds);
			/* served: the referral just has no glue */
			assert_non_null(znode_rrset(node(z, "sub.example.com"), 2));
			zone_unref(z);
		}
		assert_true(has(&ds, 3, strict, "missing glue"));
		assert_true(has(&ds, 4, strict, "missing glue"));
		z = load_ok(HEAD "sub NS ns.sub\nns.sub AAAA 2001:db8::53\n", &ds);
		assert_int_equal(ds.n, 0);
		zone_unref(z);
	}
	g_opts.strict_glue = false;
}

static void test_warnings(void **st)
{
	(void)st;
	struct diags ds;
	zone_t *z = load_ok(HEAD
		"d DNAME example.net.\n"       /* 5 */
		"x.d A 192.0.2.1\n"            /* 6: occluded by the DNAME */
		"sub NS ns.sub\n"              /* 7 */
		"ns.sub A 192.0.2.2\n"         /* 8: glue */
		"mx.sub MX 10 ns1\n"           /* 9: occluded by the cut */
		"t TXT \"a\"\n"                /* 10 */
		"t 60 TXT \"b\"\n"             /* 11: TTL differs */
		"t TXT \"a\"\n",               /* 12: duplicate */
		&ds);
	assert_true(has(&ds, 6, false, "DNAME"));
	assert_true(has(&ds, 9, false, "delegation"));
	assert_true(has(&ds, 11, false, "TTL"));
	assert_false(has(&ds, 8, false, ""));
	assert_false(has(&ds, 12, false, ""));
	assert_int_equal(ds.n, 3);
	zone_stats_t s;
	zone_get_stats(z, &s);
	assert_int_equal(s.warnings, 3);
	assert_int_equal(s.errors, 0);
	const zrrset_t *r = znode_rrset(node(z, "t.example.com"), 16);
	assert_int_equal(r->count, 2);
	assert_int_equal(r->ttl, 60);                 /* the lowest */
	zone_unref(z);
}

/* Every RR shape the loader parses without ldns must compile to the same
 * bytes as when ldns parses it (ldns_only). */
struct cmp_ctx {
	const zone_t *self, *other;
	int names;
};

static int cmp_node(void *ctx, const uint8_t *name, size_t len, const uint16_t *types, size_t nt)
{
	struct cmp_ctx *c = ctx;
	const znode_t *me = zone_lookup(c->self, name, len);
	const znode_t *n = zone_lookup(c->other, name, len);
	assert_non_null(me);
	assert_non_null(n);
	assert_int_equal(znode_flags(n), znode_flags(me));
	/* RRSIGs are one set per covered type, the walk names the type once:
	 * compare the sets one by one. */
	(void)types;
	(void)nt;
	assert_int_equal(znode_rrset_count(n), znode_rrset_count(me));
	for (size_t i = 0; i < znode_rrset_count(me); i++) {
		const zrrset_t *r = znode_rrset_at(n, i), *m = znode_rrset_at(me, i);
		assert_non_null(r);
		assert_int_equal(r->ttl, m->ttl);
		assert_int_equal(r->count, m->count);
		assert_int_equal(r->len, m->len);
		assert_memory_equal(r->data, m->data, r->len);
	}
	c->names++;
	return 0;
}

static void test_fast_path_matches_ldns(void **st)
{
	(void)st;
	const char *text =
		"$TTL 300\n"
		"@ IN SOA ns1 hostmaster 1 3600 900 604800 60\n"
		"@ NS ns1\n"
		"@ 600 IN NS ns2.example.com.\n"
		"@ 700 IN MX 10 @\n"
		"@ MX 20 mail.example.net.\n"
		"ns1 A 192.0.2.1\n"
		"  AAAA 2001:DB8::1\n"
		"Ns2 in a 192.0.2.2\n"
		"\tin aaaa ::ffff:192.0.2.2\n"
		"WWW CNAME Ns1\n"
		"p PTR host.example.org.\n"
		"dn DNAME example.net.\n"
		"$ORIGIN Sub.example.com.\n"
		"x 5 A 192.0.2.3\n"
		"y MX 65535 x\n"
		"sub.example.com. NS x\n"
		"a.b.c.example.com. A 192.0.2.4\n"
		"t1 TXT \"hello world\"\n"
		"t2 TXT bare words \"and; quoted\" \"\"\n"
		"t3 TXT \"esc \\\" \\\\ \\065\\009 x\"\n"
		"t4 TXT ( \"split\"\n   \"over lines\" )\n"
		"t5 TXT a\\ b \\\"q\n"
		"t6 TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
		"@x A 192.0.2.5\n"
		"@y SSHFP 1 1 0123456789abcdef0123456789abcdef01234567\n";
	struct diags ds;
	zone_t *fast = load_ok(text, &ds);
	g_opts.ldns_only = true;
	zone_t *slow = load_ok(text, &ds);
	g_opts.ldns_only = false;
	struct cmp_ctx c = { fast, slow, 0 };
	assert_int_equal(zone_walk(fast, cmp_node, &c), 0);
	zone_stats_t a, b;
	zone_get_stats(fast, &a);
	zone_get_stats(slow, &b);
	assert_int_equal(a.names, b.names);
	assert_int_equal(a.records, b.records);
	assert_int_equal(c.names, (int)a.names);
	/* the bytes of every RRset agree, in the same order */
	struct { const char *n; uint16_t t; } sets[] = {
		{ "example.com", 2 }, { "example.com", 15 }, { "ns1.example.com", 1 },
		{ "ns1.example.com", 28 }, { "ns2.example.com", 1 }, { "ns2.example.com", 28 },
		{ "www.example.com", 5 }, { "p.example.com", 12 }, { "dn.example.com", 39 },
		{ "x.sub.example.com", 1 }, { "y.sub.example.com", 15 }, { "sub.example.com", 2 },
		{ "a.b.c.example.com", 1 }, { "t1.sub.example.com", 16 },
		{ "t2.sub.example.com", 16 }, { "t3.sub.example.com", 16 },
		{ "t4.sub.example.com", 16 }, { "t5.sub.example.com", 16 },
		{ "t6.sub.example.com", 16 }, { "\\@x.sub.example.com", 1 },
		{ "\\064y.sub.example.com", 44 },
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		const zrrset_t *x = znode_rrset(node(fast, sets[i].n), sets[i].t);
		const zrrset_t *y = znode_rrset(node(slow, sets[i].n), sets[i].t);
		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(x->ttl, y->ttl);
		assert_int_equal(x->count, y->count);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, x->len);
	}
	assert_int_equal(znode_rrset(node(fast, "example.com"), 2)->ttl, 300);   /* lowest */
	const zrrset_t *t2 = znode_rrset(node(fast, "t2.sub.example.com"), 16);
	assert_int_equal(t2->len, 2 + 5 + 6 + 12 + 1);
	assert_memory_equal(t2->data, "\x00\x18\x04" "bare\x05" "words\x0b" "and; quoted\x00", 26);
	const zrrset_t *t3 = znode_rrset(node(fast, "t3.sub.example.com"), 16);
	assert_memory_equal(t3->data + 2, "\x0c" "esc \" \\ A\t x", 13);
	/* RFC 1035 5.1: class before TTL, also for types only ldns parses */
	zone_t *o = load_ok(HEAD "t IN 42 TXT \"x\"\nu in 43 A 192.0.2.1\nv 44 in A 192.0.2.1\n", &ds);
	assert_int_equal(znode_rrset(node(o, "t.example.com"), 16)->ttl, 42);
	assert_int_equal(znode_rrset(node(o, "u.example.com"), 1)->ttl, 43);
	assert_int_equal(znode_rrset(node(o, "v.example.com"), 1)->ttl, 44);
	zone_unref(o);
	g_opts.ldns_only = true;
	o = load_ok(HEAD "u IN 43 A 192.0.2.1\n\tIN 45 AAAA ::1\n", &ds);
	g_opts.ldns_only = false;
	assert_int_equal(znode_rrset(node(o, "u.example.com"), 1)->ttl, 43);
	assert_int_equal(znode_rrset(node(o, "u.example.com"), 28)->ttl, 45);
	zone_unref(o);
	assert_int_equal(znode_rrset(node(fast, "x.sub.example.com"), 1)->ttl, 5);
	/* rdata names keep the case of the file */
	const zrrset_t *cn = znode_rrset(node(fast, "www.example.com"), 5);
	assert_memory_equal(cn->data + 2, "\x03Ns1\x07" "example\x03" "com\x00", 17);
	zone_unref(fast);
	zone_unref(slow);

	/* no $TTL: 3600 as NSD; $TTL 0 is a real zero on both paths */
	for (int nofast = 0; nofast < 2; nofast++) {
		if (nofast)
			g_opts.ldns_only = true;
		o = load_ok("@ 100 SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
		            "$TTL 0\nz A 192.0.2.2\nz TXT \"t\"\nz 7 AAAA ::1\n", &ds);
		g_opts.ldns_only = false;
		assert_int_equal(znode_rrset(node(o, "ns1.example.com"), 1)->ttl, 3600);
		assert_int_equal(znode_rrset(node(o, "z.example.com"), 1)->ttl, 0);
		assert_int_equal(znode_rrset(node(o, "z.example.com"), 16)->ttl, 0);
		assert_int_equal(znode_rrset(node(o, "z.example.com"), 28)->ttl, 7);
		zone_unref(o);
	}
}

static void test_big_rrset_dups(void **st)
{
	(void)st;
	/* 300 A records, each listed twice, plus a third copy of the first */
	static char text[32768];
	size_t o = (size_t)snprintf(text, sizeof(text), "%s", HEAD);
	for (int rep = 0; rep < 2; rep++)
		for (int i = 0; i < 300; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "big A 10.0.%d.%d\n", i / 256, i % 256);
	snprintf(text + o, sizeof(text) - o, "big A 10.0.0.0\n");
	struct diags ds;
	zone_t *z = load_ok(text, &ds);
	assert_int_equal(ds.n, 0);
	const zrrset_t *r = znode_rrset(node(z, "big.example.com"), 1);
	assert_int_equal(r->count, 300);
	assert_int_equal(r->len, 300 * 6);
	/* file order is kept */
	assert_memory_equal(r->data, "\x00\x04\x0a\x00\x00\x00\x00\x04\x0a\x00\x00\x01", 12);
	zone_unref(z);
}

/* A DNSSEC-signed zone (tests/zones/signed.zone: RRSIG, NSEC3, DNSKEY,
 * DS and split fields) compiles to the same bytes on both parse paths. */
static void test_signed_zone_both_paths(void **st)
{
	(void)st;
	zone_t *fast = NULL, *slow = NULL;
	struct diags ds;
	if (access("tests/zones/signed.zone", R_OK) != 0)
		fail_msg("run from the top of the tree: tests/zones/signed.zone not found");
	memset(&ds, 0, sizeof(ds));
	assert_int_equal(zone_compile_file("example.com", "tests/zones/signed.zone", collect, &ds, &fast), 0);
	assert_int_equal(ds.n, 0);      /* RRSIG TTLs may differ: no warning */
	assert_int_equal(zone_compile_file_opts("example.com", "tests/zones/signed.zone", &ldns_opts,
	                                        NULL, NULL, &slow), 0);
	struct cmp_ctx c = { fast, slow, 0 };
	assert_int_equal(zone_walk(fast, cmp_node, &c), 0);
	zone_stats_t a;
	zone_get_stats(fast, &a);
	assert_int_equal((size_t)c.names, a.names);
	assert_int_equal(a.records, 59);
	/* the DS digest split over lines and chunks is one 32-byte digest */
	const zrrset_t *r = znode_rrset(node(fast, "split.example.com"), 43);
	assert_non_null(r);
	assert_int_equal(r->len, 2 + 4 + 32);
	assert_memory_equal(r->data + 6, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	zone_unref(fast);
	zone_unref(slow);
}

/* The rdata of one RRset, without the 2-byte length of its first record. */
static const zrrset_t *set_of(const zone_t *z, const char *name, uint16_t type)
{
	const znode_t *n = node(z, name);
	assert_non_null(n);
	const zrrset_t *r = znode_rrset(n, type);
	assert_non_null(r);
	return r;
}

/* RFC 3597 generic rdata is the type's wire form, for every type (known or
 * not), on both parse paths. */
static void test_generic_rdata(void **st)
{
	(void)st;
	struct diags ds;
	const char *text = HEAD
		"txt TXT \\# 6 0568656C6C6F\n"              /* 5: one string "hello" */
		"txt2 TXT hello\n"                          /* 6 */
		"a A \\# 4 c0000201\n"                      /* 7 */
		"mx 600 IN MX \\# 6 000a 02 6d78 00\n"      /* 8: hex in chunks */
		"mx2 MX 10 mx.\n"                           /* 9 */
		"t9 TYPE9999 \\# 0\n"                       /* 10: empty rdata */
		"t10 TYPE9999 \\# 3 ( 01\n 0203 )\n"        /* 11: over two lines */
		"e\\.x CLASS1 TYPE1 \\# 4 c0000202 \t\n"    /* 13: escaped owner, class, trailing blank */
		"  AAAA \\# 16 20010db8000000000000000000000001\n"; /* 14: owner of line 13 */
	for (int ldns_only = 0; ldns_only < 2; ldns_only++) {
		g_opts.ldns_only = ldns_only;
		zone_t *z = load_ok(text, &ds);
		assert_int_equal(ds.n, 0);
		const zrrset_t *t = set_of(z, "txt.example.com", 16), *t2 = set_of(z, "txt2.example.com", 16);
		assert_int_equal(t->len, 2 + 6);
		assert_memory_equal(t->data, "\x00\x06\x05hello", 8);
		assert_memory_equal(t->data, t2->data, t2->len);
		assert_memory_equal(set_of(z, "a.example.com", 1)->data, "\x00\x04\xc0\x00\x02\x01", 6);
		const zrrset_t *m = set_of(z, "mx.example.com", 15), *m2 = set_of(z, "mx2.example.com", 15);
		assert_int_equal(m->ttl, 600);
		assert_int_equal(m->len, m2->len);
		assert_memory_equal(m->data, m2->data, m->len);
		const zrrset_t *e = set_of(z, "t9.example.com", 9999);
		assert_int_equal(e->count, 1);
		assert_int_equal(e->len, 2);
		assert_memory_equal(set_of(z, "t10.example.com", 9999)->data, "\x00\x03\x01\x02\x03", 5);
		assert_memory_equal(set_of(z, "e\\.x.example.com", 1)->data + 2, "\xc0\x00\x02\x02", 4);
		assert_int_equal(set_of(z, "e\\.x.example.com", 28)->len, 18);
		zone_unref(z);
	}
	g_opts.ldns_only = false;

	/* legal lengths up to 65535 octets load (the line is 131 kB of hex) */
	size_t sizes[] = { 48000, 65535 };
	for (size_t k = 0; k < 2; k++) {
		size_t cap = strlen(HEAD) + 64 + 2 * sizes[k];
		char *big = malloc(cap);
		assert_non_null(big);
		size_t o = (size_t)snprintf(big, cap, HEAD "big TYPE65280 \\# %zu ", sizes[k]);
		for (size_t i = 0; i < sizes[k]; i++)
			o += (size_t)snprintf(big + o, cap - o, "%02x", (unsigned)(i & 0xff));
		snprintf(big + o, cap - o, "\n");
		zone_t *z = load_ok(big, &ds);
		const zrrset_t *r = set_of(z, "big.example.com", 65280);
		assert_int_equal(r->len, 2 + sizes[k]);
		assert_int_equal(r->data[2 + 255], 255);
		zone_unref(z);
		free(big);
	}

	/* wrong lengths, bad hex, and data that is not the type's wire form */
	load_bad(HEAD "x TYPE9999 \\# 3 0102\n"           /* 5: short */
	              "x TYPE9999 \\# 1 010\n"            /* 6: odd digits */
	              "x TYPE9999 \\# 1 0g\n"             /* 7: not hex */
	              "x TYPE9999 \\# 65536 00\n"         /* 8: too long */
	              "x A \\# 3 c00002\n"                /* 9: an A is 4 octets */
	              "x CNAME \\# 2 c00c\n"              /* 10: compressed name */
	              "x MX \\# 4 000a 0161\n"            /* 11: name without its end */
	              "x TYPE9999 \\# 2 0102 03\n"        /* 12: too much */
	              "x TXT \\#\n",                        /* 13: no length */
	         &ds);
	for (int line = 5; line <= 13; line++)
		assert_true(has(&ds, line, true, "generic rdata"));
}

/* Blanks after the rdata (as kdig's AXFR output writes them) are no error;
 * an escaped blank is data. */
static void test_trailing_blanks(void **st)
{
	(void)st;
	struct diags ds;
	const char *text = HEAD
		"@ CAA 0 issue \"ca.example\" \t \n"        /* 5: only ldns reads CAA */
		"t TXT a\\  \n"                              /* 6: "a " */
		"s SRV 1 2 3 t ; comment\n"                 /* 7 */
		"h HINFO \"x\" \"y\"   \n";                  /* 8 */
	for (int ldns_only = 0; ldns_only < 2; ldns_only++) {
		g_opts.ldns_only = ldns_only;
		zone_t *z = load_ok(text, &ds);
		assert_int_equal(ds.n, 0);
		assert_int_equal(set_of(z, "example.com", 257)->len, 2 + 2 + 5 + 10);
		assert_memory_equal(set_of(z, "t.example.com", 16)->data, "\x00\x03\x02" "a ", 5);
		zone_unref(z);
	}
	g_opts.ldns_only = false;
}

/* RFC 2181 8: a TTL with the top bit set becomes 3600 (NSD's choice), with
 * a warning naming the line; 2^31 - 1 is kept. */
static void test_ttl_top_bit(void **st)
{
	(void)st;
	struct diags ds;
	zone_t *z = load_ok(HEAD
		"big 2147483648 A 192.0.2.2\n"               /* 5 */
		"max 2147483647 A 192.0.2.3\n"               /* 6 */
		"huge IN 4294967295 TXT x\n"                 /* 7 */
		"$TTL 2147483648\n"                          /* 8 */
		"dflt A 192.0.2.6\n", &ds);                  /* 9 */
	assert_true(has(&ds, 5, false, "RFC 2181"));
	assert_true(has(&ds, 7, false, "RFC 2181"));
	assert_true(has(&ds, 8, false, "RFC 2181"));
	assert_int_equal(ds.n, 3);
	assert_int_equal(set_of(z, "big.example.com", 1)->ttl, 3600);
	assert_int_equal(set_of(z, "max.example.com", 1)->ttl, 2147483647);
	assert_int_equal(set_of(z, "huge.example.com", 16)->ttl, 3600);
	assert_int_equal(set_of(z, "dflt.example.com", 1)->ttl, 3600);
	zone_unref(z);
}

static void test_null_diag(void **st)
{
	(void)st;
	zone_t *z = NULL;
	/* a file that starts with a comment or blank line */
	assert_int_equal(zone_compile_text("example.com", "; c\n" HEAD, NULL, NULL, NULL, &z), 0);
	zone_unref(z);
	assert_int_equal(zone_compile_text("example.com", "\n" HEAD, NULL, NULL, NULL, &z), 0);
	zone_unref(z);
	assert_int_equal(zone_compile_text("example.com", "", NULL, NULL, NULL, &z), ANYNS_EZONE);
	assert_int_equal(zone_compile_text("example.com", "junk\n", NULL, NULL, NULL, &z), ANYNS_EZONE);
	assert_null(z);
	assert_int_equal(zone_compile_text("a..b", HEAD, NULL, NULL, NULL, &z), ANYNS_EINVAL);
	assert_int_equal(zone_compile_text("example.com", HEAD, NULL, NULL, NULL, &z), 0);
	zone_unref(z);
}

/* Mutated zone texts must load or fail cleanly, never crash or leak (this
 * runs under ASan in tests/run-all.sh). Deterministic and bounded. */
static int count_cb(void *ctx, const uint8_t *name, size_t len, const uint16_t *t, size_t nt)
{
	(void)name; (void)len; (void)t; (void)nt;
	(*(int *)ctx)++;
	return 0;
}

static void test_mutations(void **st)
{
	(void)st;
	static const char base[] =
		"$ORIGIN example.com.\n$TTL 300\n"
		"@ SOA ns1 h ( 1 2 3 4 5 )\n@ NS ns1\nns1 A 192.0.2.1\n"
		"w\\.x TXT \"a;b\" c\nsub NS ns.sub\nns.sub AAAA ::1\n*.d DNAME a.b.\n"
		"m MX 1 @\nu TYPE999 \\# 2 abcd\n$ORIGIN o\nq CNAME w\n"
		" AAAA 2001:db8::1\nt 60 IN TXT \"d\\\"e\" \\065x\nm2 IN MX 2 m.example.com.\n"
		"p PTR x.y.\nr 7 TXT x\ns SRV 1 2 3 q\nd DS 1 13 2 ( 0123456789ABCDEF 01234567 )\n"
		"d NS q\nr RRSIG A 13 3 300 20360101000000 1767225600 53050 example.com. GFMALcHQ uPSI795y\n"
		"r NSEC s.o.example.com. A RRSIG NSEC TYPE99\nk DNSKEY 257 3 13 DFlA4/neMbWq6qF8\n"
		"n3 NSEC3 1 0 2 abcd t6e65jp0ll7b12rk85qnr9gql83jg2bb NS SOA\nn3 NSEC3PARAM 1 0 2 -\n";
	static const char alpha[] = "()\";\\\n\t .$@*#09azAZ\xff-:I5=/+F";
	char buf[sizeof(base) + 64];
	uint64_t x = 88172645463325252ull;
	int loaded = 0;
	for (int it = 0; it < 3000; it++) {
		memcpy(buf, base, sizeof(base));
		size_t len = sizeof(base) - 1;
		int edits = 1 + (int)(it % 4);
		for (int e = 0; e < edits; e++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			size_t pos = (size_t)(x % len);
			char c = alpha[(x >> 20) % (sizeof(alpha) - 1)];
			switch ((x >> 40) % 3) {
			case 0: buf[pos] = c; break;
			case 1: if (len + 1 < sizeof(buf)) { memmove(buf + pos + 1, buf + pos, len - pos + 1); buf[pos] = c; len++; } break;
			default: memmove(buf + pos, buf + pos + 1, len - pos); len--; break;
			}
		}
		buf[len] = 0;
		zone_t *z = NULL;
		int rc = zone_compile_text("example.com", buf, "m.zone", NULL, NULL, &z);
		assert_true(rc == 0 || rc == ANYNS_EZONE);
		/* ...and the fast path reads it exactly as ldns does */
		zone_t *slow = NULL;
		int rc2 = zone_compile_text_opts("example.com", buf, "m.zone", &ldns_opts, NULL, NULL, &slow);
		assert_int_equal(rc, rc2);
		if (rc == 0) {
			struct cmp_ctx c = { z, slow, 0 };
			assert_int_equal(zone_walk(z, cmp_node, &c), 0);
			zone_unref(slow);
		}
		if (rc == 0) {
			int n = 0;
			zone_stats_t zs;
			zone_get_stats(z, &zs);
			assert_int_equal(zone_walk(z, count_cb, &n), 0);
			assert_int_equal((size_t)n, zs.names);
			zone_unref(z);
			loaded++;
		}
	}
	/* some mutations are harmless (in comments, in names) */
	assert_true(loaded > 0);
}

/* anyns-checkzone, run as a program: exit status, per-problem lines and the
 * summary. The binary is found beside this test's build directory
 * ($B/anyns-checkzone for $B/tests/unit/test_zone_load); the fixtures are
 * tests/zones/ under the working directory (tests/run-all.sh runs from the
 * top of the tree). */
static char checkzone[512];

static int run(const char *args, char *out, size_t cap)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", checkzone, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_checkzone(void **st)
{
	(void)st;
	char out[4096];
	if (access("tests/zones/good.zone", R_OK) != 0)
		fail_msg("run from the top of the tree: tests/zones/good.zone not found");
	assert_int_equal(access(checkzone, X_OK), 0);

	assert_int_equal(run("tests/zones/good.zone example.com", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "zone example.com. is ok: 11 records, 8 names, serial 2026112101"));
	assert_non_null(strstr(out, "reading tests/zones/good.zone as the zone example.com: "
	                            "arguments in the FILE ORIGIN order"));
	/* nsd-checkzone's order, said so */
	assert_int_equal(run("example.com tests/zones/good.zone", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "zone example.com. is ok: 11 records"));
	assert_non_null(strstr(out, "reading tests/zones/good.zone as the zone example.com: "
	                            "arguments in the ORIGIN FILE (nsd-checkzone) order"));
	assert_int_equal(run("example.com tests/zones/no-such.zone", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "tests/zones/no-such.zone:0: error: cannot read"));

	assert_int_equal(run("tests/zones/bad-checks.zone example.com.", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "tests/zones/bad-checks.zone:8: error: CNAME and other data"));
	assert_non_null(strstr(out, "tests/zones/bad-checks.zone:9: error: out.example.net. is out of zone"));
	assert_non_null(strstr(out, "tests/zones/bad-checks.zone:10: warning: missing glue"));
	assert_non_null(strstr(out, "tests/zones/bad-checks.zone:11: error: "));
	assert_non_null(strstr(out, "tests/zones/bad-checks.zone:13: warning: "));
	assert_non_null(strstr(out, "zone example.com. has 3 errors and 2 warnings"));
	/* printed in line order although the checks run in phases */
	assert_true(strstr(out, ":8: error") < strstr(out, ":9: error"));
	assert_true(strstr(out, ":9: error") < strstr(out, ":10: warning"));
	assert_true(strstr(out, ":10: warning") < strstr(out, ":11: error"));
	assert_true(strstr(out, ":11: error") < strstr(out, ":13: warning"));

	/* missing glue is an error with --strict-glue */
	assert_int_equal(run("--strict-glue tests/zones/bad-checks.zone example.com.", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "tests/zones/bad-checks.zone:10: error: missing glue"));
	assert_non_null(strstr(out, "has 4 errors and 1 warning"));
	assert_int_equal(run("--no-such-option tests/zones/good.zone example.com", out, sizeof(out)), 2);

	assert_int_equal(run("tests/zones/no-such.zone example.com", out, sizeof(out)), 1);
	assert_non_null(strstr(out, "cannot read"));
	assert_int_equal(run("tests/zones/good.zone", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "usage"));
	assert_int_equal(run("tests/zones/good.zone a..b", out, sizeof(out)), 2);
	/* the wrong origin makes every record out of zone */
	assert_int_equal(run("tests/zones/good.zone example.org", out, sizeof(out)), 1);
}

int main(int argc, char **argv)
{
	(void)argc;
	/* $B/tests/unit/test_zone_load -> $B/anyns-checkzone */
	const char *slash = strrchr(argv[0], '/');
	int dl = slash ? (int)(slash - argv[0]) : 1;
	snprintf(checkzone, sizeof(checkzone), "%.*s/../../anyns-checkzone", dl, slash ? argv[0] : ".");
	if (access(checkzone, X_OK) != 0)
		snprintf(checkzone, sizeof(checkzone), "%.*s/anyns-checkzone", dl, slash ? argv[0] : ".");

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_policy),
		cmocka_unit_test(test_check_soa),
		cmocka_unit_test(test_check_apex_ns),
		cmocka_unit_test(test_check_out_of_zone),
		cmocka_unit_test(test_check_cname),
		cmocka_unit_test(test_check_glue),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_fast_path_matches_ldns),
		cmocka_unit_test(test_big_rrset_dups),
		cmocka_unit_test(test_signed_zone_both_paths),
		cmocka_unit_test(test_generic_rdata),
		cmocka_unit_test(test_trailing_blanks),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_ttl_top_bit),
		cmocka_unit_test(test_null_diag),
		cmocka_unit_test(test_checkzone),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
