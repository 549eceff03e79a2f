/* libFuzzer target for the answer engine: any bytes as a query, over UDP and
 * TCP, against a zone that has every kind of node. Checks the invariants the
 * daemon and the XDP path rely on: the response fits the buffer and the UDP
 * limit, it parses, and a cacheable response patched with its own query is
 * itself. Run with `make fuzz` (bounded by FUZZ_TIME seconds). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acache.h"
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	zone_t *z = NULL;

	(void)argc;
	(void)argv;
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
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535], patched[65535];
	size_t ol = 0, pl = 0;
	answer_info_t info;

	for (int tp = 0; tp < 2; tp++) {
		/* A small TCP buffer sometimes, to reach the ESPACE paths. */
		size_t cap = tp == ANSWER_TCP && size && (data[size - 1] & 1) ? 300 : sizeof(out);
		int ret = answer_build(g_zs, &g_conf, data, size, (enum answer_transport)tp,
		                       out, cap, &ol, &info);
		if (ret == ANYNS_EDROP || ret == ANYNS_ESPACE)
			continue;
		if (ret != 0 || ol < 12 || ol > cap || (tp == ANSWER_UDP && ol > 1232))
			abort();
		if (tp == ANSWER_UDP && info.cacheable) {
			acache_key_t key;
			if (acache_key_from_query(data, size, &key) != 0 || ol > 512)
				abort();
			if (acache_patch(out, ol, data, size, patched, sizeof(patched), &pl) != 0 ||
			    pl != ol || memcmp(patched, out, ol) != 0)
				abort();
		}
	}
	return 0;
}
