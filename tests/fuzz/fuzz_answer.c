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
#include "engine.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_engine_init();
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
			if (acache_key_from_query(data, size, &key) != 0 ||
			    ol > (key.flags & ACACHE_KEY_EDNS ? ACACHE_TMPL_EDNS_MAX : ACACHE_TMPL_MAX))
				abort();
			if (acache_patch(out, ol, data, size, patched, sizeof(patched), &pl) != 0 ||
			    pl != ol || memcmp(patched, out, ol) != 0)
				abort();
		}
	}
	return 0;
}
