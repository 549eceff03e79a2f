/* Socket set-up shared by the UDP back ends and TCP. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockets.h"

int socket_check_free(const dconf_listen_t *l, int type)
{
	int one = 1, rc = 0;
	int fd = socket(l->ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* TCP: SO_REUSEADDR so that connections in TIME_WAIT do not count; a
	 * listening socket still does. */
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->ss, l->len) != 0)
		rc = -errno;
	else if (type == SOCK_STREAM && listen(fd, 1) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int socket_bind(const dconf_listen_t *l, int type, int *fd_out)
{
	int fam = l->ss.ss_family, one = 1;
	int fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Each worker binds its own socket; the kernel spreads flows over them. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (fam == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (type == SOCK_DGRAM) {
		/* Room for bursts between two recvmmsg() rounds (capped by rmem_max). */
		int sz = 4 << 20;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (type == SOCK_DGRAM && l->wildcard) {
		int rc = fam == AF_INET
		         ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
		         : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (rc != 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&l->ss, l->len) != 0)
		goto fail;
	*fd_out = fd;
	return 0;
fail:;
	int e = -errno;
	close(fd);
	return e;
}
