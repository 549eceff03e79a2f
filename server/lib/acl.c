/* Address access lists (acl.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acl.h"

acl_t *acl_new(const rrl_prefix_t *nets, size_t n)
{
	acl_t *a = malloc(sizeof(*a) + n * sizeof(a->nets[0]));
	if (a == NULL)
		return NULL;
	a->n = n;
	memcpy(a->nets, nets, n * sizeof(a->nets[0]));
	return a;
}

void acl_free(acl_t *a)
{
	free(a);
}

bool acl_allows(const acl_t *a, const uint8_t *ip, size_t ip_len)
{
	int fam = ip_len == 4 ? AF_INET : ip_len == 16 ? AF_INET6 : 0;
	for (size_t i = 0; fam != 0 && i < a->n; i++) {
		const rrl_prefix_t *p = &a->nets[i];
		unsigned full = p->len / 8u, rest = p->len % 8u;
		if (p->family != fam || memcmp(ip, p->addr, full) != 0)
			continue;
		if (rest == 0 || ((ip[full] ^ p->addr[full]) & (0xFF00u >> rest)) == 0)
			return true;
	}
	return false;
}
