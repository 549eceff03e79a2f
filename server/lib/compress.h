/* Name compression while writing a response (RFC 1035 4.1.4). A fixed-size
 * table on the caller's stack remembers where names start in the message;
 * writing a name looks for its longest suffix already there and replaces it
 * by a pointer. Nothing allocates. */
#ifndef ANYNS_COMPRESS_H
#define ANYNS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMPRESS_MAX     96      /* names (suffixes) remembered per message */
#define COMPRESS_MAX_OFF 0x3FFF  /* a pointer holds 14 bits of offset */

typedef struct compress {
	uint8_t *pkt;                /* message start: pointers count from here */
	unsigned n;
	struct {
		uint16_t off;            /* where the suffix starts in pkt */
		uint8_t len;             /* its uncompressed length incl. root */
	} e[COMPRESS_MAX];
} compress_t;

void compress_init(compress_t *c, uint8_t *pkt);

/* Remembers the uncompressed name `name` (len bytes) that is at pkt+off, and
 * each of its suffixes, as pointer targets. */
void compress_add(compress_t *c, size_t off, const uint8_t *name, size_t len);

/* Writes the uncompressed name `name` (len bytes, valid, any letter case) at
 * pkt+off, not past pkt+end. With `allow` the longest suffix already in the
 * message becomes a pointer (match ignores ASCII case) and the new labels are
 * remembered; without it the name is written in full (RFC 3597 4: only the
 * RFC 1035 types may be compressed) and still remembered.
 * Returns the number of bytes written or ANYNS_ESPACE. */
int compress_put(compress_t *c, size_t off, size_t end, const uint8_t *name,
                 size_t len, bool allow);

/* Truncation support: forget everything remembered after a mark. */
static inline unsigned compress_mark(const compress_t *c)
{
	return c->n;
}

static inline void compress_rollback(compress_t *c, unsigned mark)
{
	c->n = mark;
}

#endif
