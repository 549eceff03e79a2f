/* libFuzzer target for DNS over TCP: any bytes as the stream a client sends.
 * The first byte picks the size of the reads the stream arrives in; the rest
 * is split into messages by tcp_frame_next() as server/daemon/tcp.c does (a
 * buffer filled read by read, the complete messages answered and the rest
 * moved to the front) and each is answered by answer_build() over TCP.
 * Checks that read by read the framing finds the same messages as over the
 * whole stream at once, that what is left is a message's start and no more
 * than it needs, and that every answer fits its 2-byte length. Run with
 * `make fuzz` (bounded by FUZZ_TIME seconds). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tcp_frame.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_engine_init();
	return 0;
}

static void answer(const uint8_t *q, size_t qlen)
{
	static uint8_t out[65535];
	size_t ol = 0;
	answer_info_t info;
	int ret = answer_build(g_zs, &g_conf, q, qlen, ANSWER_TCP, out, sizeof(out), &ol, &info);
	if (ret == ANYNS_EDROP)
		return;
	if (ret != 0 || ol < 12 || ol > sizeof(out))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t step = data[0] ? data[0] : size;
	const uint8_t *s = data + 1;
	size_t slen = size - 1;

	/* The whole stream at once: the offsets where messages start. */
	size_t *starts = malloc((slen / 2 + 1) * sizeof(*starts));
	size_t n = 0, off = 0, mlen = 0, need = 0;
	if (starts == NULL)
		return 0;
	while (tcp_frame_next(s + off, slen - off, &mlen, &need)) {
		starts[n++] = off;
		off += 2 + mlen;
	}
	if (off > slen || (need != 0 && need <= slen - off) || (need == 0 && slen - off >= 2))
		abort();
	size_t whole_end = off;

	/* Read by read, as the daemon's connection buffer. */
	uint8_t *buf = malloc(slen + 1);
	size_t len = 0, fed = 0, consumed = 0, seen = 0;
	if (buf == NULL) {
		free(starts);
		return 0;
	}
	while (fed < slen) {
		size_t r = slen - fed < step ? slen - fed : step;
		memcpy(buf + len, s + fed, r);
		len += r;
		fed += r;
		off = 0;
		while (tcp_frame_next(buf + off, len - off, &mlen, &need)) {
			if (seen >= n || starts[seen] != consumed + off)
				abort();
			seen++;
			answer(buf + off + 2, mlen);
			off += 2 + mlen;
		}
		if (need != 0 && need <= len - off)
			abort();
		memmove(buf, buf + off, len - off);
		len -= off;
		consumed += off;
	}
	if (seen != n || consumed != whole_end || consumed + len != slen)
		abort();
	free(buf);
	free(starts);
	return 0;
}
