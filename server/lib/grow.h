/* Doubling growth of a malloc'd array, used by the zone loading stages. */
#ifndef ANYNS_GROW_H
#define ANYNS_GROW_H

#include <stdlib.h>

#include "anyns.h"

/* Makes *p hold at least `need` elements of `elem` bytes (capacity in *cap,
 * in elements). Returns 0 or ANYNS_ENOMEM (then *p is unchanged). */
static inline int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * elem);
	if (!q)
		return ANYNS_ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

#endif
