/* Doubling growth of a malloc'd array, used by the zone loading stages. */
#ifndef ANYNS_GROW_H
#define ANYNS_GROW_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "anyns.h"

/* Big arrays of a zone (millions of records) are filled page by page; a
 * fault per 4 KiB page is a fifth of a large load. Transparent huge pages
 * where the kernel offers them on request take 512 pages per fault, and the
 * finished zone's lookups then miss the TLB less. Only the 2 MiB-aligned
 * interior of an allocation of at least GROW_HUGE bytes is advised. */
#define GROW_HUGE (8u << 20)

static inline void grow_advise_huge(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
	if (!p || bytes < GROW_HUGE)
		return;
	uintptr_t a = ((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
	uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)((2u << 20) - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)bytes;
#endif
}

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
	grow_advise_huge(q, nc * elem);
	*p = q;
	*cap = nc;
	return 0;
}

#endif
