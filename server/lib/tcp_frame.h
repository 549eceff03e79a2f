/* DNS over TCP framing (RFC 1035 4.2.2, RFC 7766 8): each message is preceded
 * by its length in two bytes, network order. Pure buffer logic, shared by the
 * daemon's TCP connections and their fuzzer. */
#ifndef ANYNS_TCP_FRAME_H
#define ANYNS_TCP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The message at the start of buf[0..len). True when it is whole: *mlen is
 * its length, it starts at buf + 2 and takes 2 + *mlen bytes. False when
 * more bytes are needed: *need is the bytes the message takes with its
 * prefix, or 0 when not even the prefix is there (*need untouched on true). */
static inline bool tcp_frame_next(const uint8_t *buf, size_t len, size_t *mlen, size_t *need)
{
	if (len < 2) {
		*need = 0;
		return false;
	}
	size_t n = (size_t)buf[0] << 8 | buf[1];
	if (len - 2 < n) {
		*need = 2 + n;
		return false;
	}
	*mlen = n;
	return true;
}

#endif
