/* Access to a control socket (anynsd's and anyns-health's): root, the
 * program's own user, or a member of a configured group, as the kernel
 * vouches for the peer (SO_PEERCRED). The socket file is made 0600, or 0660
 * with that group, so that the file mode says the same. */
#ifndef ANYNS_PEERCRED_H
#define ANYNS_PEERCRED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The group's id; 0 or -1 when there is no such group. */
int peercred_group(const char *name, gid_t *gid);

/* Whether the peer of the connected Unix socket fd may use it: root, our
 * effective user, or (gid not NULL) a member of *gid, primary or
 * supplementary. who gets "uid=U gid=G pid=P" for the log. */
bool peercred_allowed(int fd, const gid_t *gid, char *who, size_t wlen);

/* Gives the socket file at path to the group (NULL: none) with mode 0660,
 * else leaves it 0600. Returns 0 or -1 with errno set. */
int peercred_socket_mode(const char *path, const gid_t *gid);

#endif
