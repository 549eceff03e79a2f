/* Listening sockets of anynsd: one SO_REUSEPORT socket per worker, address
 * and transport, opened here for the UDP back ends (udp.c) and TCP (tcp.c). */
#ifndef ANYNSD_SOCKETS_H
#define ANYNSD_SOCKETS_H

#include "conf.h"

/* A non-blocking SO_REUSEPORT socket of `type` (SOCK_DGRAM or SOCK_STREAM)
 * bound to l; a wildcard UDP address also asks for the destination address of
 * each datagram (IP_PKTINFO). Returns 0 or -errno. */
int socket_bind(const dconf_listen_t *l, int type, int *fd_out);

/* Whether another process already serves l over `type`: a probe socket bound
 * without SO_REUSEPORT fails then (ours would silently share the address,
 * each process getting part of the queries). Returns 0 when free, -EADDRINUSE
 * when taken, or another -errno (e.g. the address is not local). */
int socket_check_free(const dconf_listen_t *l, int type);

#endif
