/* libFuzzer target for zone loading: any bytes as a master file, compiled
 * into a zone or refused with ANYNS_EZONE, never anything else. Checks what
 * the server relies on: both parse paths (the fast parser and ldns) agree
 * on the result and on every RRset's bytes, a compiled zone's records fit
 * their RRsets, and every diagnostic names a line of the input. Runs in an
 * empty directory, so that $INCLUDE finds nothing to read. Run with
 * `make fuzz` (bounded by FUZZ_TIME seconds). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anyns.h"
#include "zone_db.h"

static int g_lines;     /* lines of the current input */

static void diag(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	(void)ctx;
	(void)file;
	(void)fatal;
	if (line < 0 || line > g_lines + 1 || strlen(msg) >= 512) {
		fprintf(stderr, "diagnostic at line %d of %d: %s\n", line, g_lines, msg);
		abort();
	}
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "control byte in a message: %s\n", msg);
			abort();
		}
}

struct pair {
	const zone_t *self, *other;
};

/* The node `name` of pair->self, well-formed, and the same bytes in
 * pair->other. RRsets are compared by position (RRSIGs form one set per
 * covered type, so `types` names fewer sets than there are). */
static int same_node(void *ctx, const uint8_t *name, size_t len, const uint16_t *types, size_t nt)
{
	const struct pair *p = ctx;
	const znode_t *me = zone_lookup(p->self, name, len);
	const znode_t *n = zone_lookup(p->other, name, len);
	(void)types;
	if (!me || !n || znode_rrset_count(n) != znode_rrset_count(me) ||
	    znode_rrset_count(me) < nt || znode_flags(n) != znode_flags(me))
		abort();
	for (size_t i = 0; i < znode_rrset_count(me); i++) {
		const zrrset_t *m = znode_rrset_at(me, i), *r = znode_rrset_at(n, i);
		if (r->type != m->type || r->ttl != m->ttl || r->count != m->count ||
		    r->len != m->len || memcmp(r->data, m->data, r->len) != 0)
			abort();
		size_t o = 0, k = 0;
		while (o + 2 <= m->len) {
			o += 2 + ((size_t)m->data[o] << 8 | m->data[o + 1]);
			k++;
		}
		if (o != m->len || k != m->count)
			abort();
	}
	return 0;
}

/* ldns 1.8 leaks its copy of the text of an IPSECKEY gateway it cannot
 * parse; that is ldns', not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:ldns_str2rdf_ipseckey\n";
}

static char g_dir[] = "/tmp/anyns-fuzz-zone-XXXXXX";

static void remove_dir(void)
{
	rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(g_dir) || chdir(g_dir) != 0) {
		perror("fuzz_zone: empty directory");
		abort();
	}
	atexit(remove_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const zone_load_opts_t ldns_opts = { .ldns_only = true };
	char *text = malloc(size + 1);
	zone_t *fast = NULL, *slow = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	g_lines = 1;
	for (size_t i = 0; i < size && text[i]; i++)
		g_lines += text[i] == '\n';

	int rc = zone_compile_text("example.com", text, "fuzz.zone", diag, NULL, &fast);
	int rc2 = zone_compile_text_opts("example.com", text, "fuzz.zone", &ldns_opts, diag, NULL,
	                                 &slow);
	if ((rc != 0 && rc != ANYNS_EZONE) || rc != rc2 || (rc == 0) != (fast != NULL)) {
		fprintf(stderr, "fast parser %d, ldns %d\n", rc, rc2);
		abort();
	}
	if (rc == 0) {
		zone_stats_t a, b;
		zone_get_stats(fast, &a);
		zone_get_stats(slow, &b);
		if (a.names != b.names || a.records != b.records || a.rrsets != b.rrsets)
			abort();
		struct pair ab = { fast, slow }, ba = { slow, fast };
		zone_walk(fast, same_node, &ab);
		zone_walk(slow, same_node, &ba);
	}
	zone_unref(fast);
	zone_unref(slow);
	free(text);
	return 0;
}
