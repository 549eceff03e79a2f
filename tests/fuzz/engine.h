/* The engine under the fuzzers that answer queries: a zone with every kind
 * of node (delegations, DS, wildcards, CNAME and DNAME chains and loops,
 * answers too large for a small buffer) and an answer configuration with the
 * optional replies on. */
#ifndef ANYNS_FUZZ_ENGINE_H
#define ANYNS_FUZZ_ENGINE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "anyns.h"

static const char *ZONE =
	"$ORIGIN example.com.\n$TTL 3600\n"
	"@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	"@ NS ns1\n@ NS ns2.example.net.\n@ MX 10 mail\n@ A 192.0.2.1\n"
	"ns1 A 192.0.2.53\nns1 AAAA 2001:db8::53\nmail A 192.0.2.25\nmail AAAA 2001:db8::25\n"
	"www CNAME host\nhost A 192.0.2.80\n*.wild TXT \"wild\"\n*.wild A 192.0.2.99\n"
	"*.wc CNAME host\n*.b TXT \"b\"\nx.a.b A 192.0.2.7\n"
	"sub NS ns.sub\nns.sub A 192.0.2.100\nsec NS ns.sec\nns.sec A 192.0.2.101\n"
	"sec DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE3A5BBA68726F2F0C46E4E19B\n"
	"loop1 CNAME loop2\nloop2 CNAME loop1\ndangling CNAME nothere\n"
	"d DNAME example.net.\ndd DNAME t\nx.t A 192.0.2.30\n"
	"_sip._udp SRV 0 0 5060 host\nt1 TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"t1 TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"t1 TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"t1 TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"t1 TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"t1 TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"t1 TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"t1 TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"\n";

static zset_t *g_zs;
static answer_conf_t g_conf;

static void fuzz_engine_init(void)
{
	zone_t *z = NULL;

	if (zone_compile_text("example.com", ZONE, "fuzz", NULL, NULL, &z) != 0 ||
	    zset_new(&z, 1, 1, &g_zs) != 0) {
		fprintf(stderr, "fuzz zone did not compile\n");
		abort();
	}
	zone_unref(z);
	answer_conf_init(&g_conf);
	g_conf.nsid = (const uint8_t *)"fuzz-nsid";
	g_conf.nsid_len = 9;
	g_conf.id_server = "fuzz";
	g_conf.version_bind = "anyns";
}

#endif
