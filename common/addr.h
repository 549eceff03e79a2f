/* Socket addresses as operators write them, shared by every anyns program:
 * "192.0.2.1", "192.0.2.1:53", "2001:db8::1", "[2001:db8::1]:53", "*:53"
 * ("*" is 0.0.0.0). */
#ifndef ANYNS_ADDR_H
#define ANYNS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Parses text into ss (and its length into *len). Without a port in the
 * text, defport is used; defport 0 means a port is required. Returns 0, or
 * ANYNS_EINVAL with a reason in err (err may be NULL). */
int addr_parse(const char *text, uint16_t defport, struct sockaddr_storage *ss, socklen_t *len,
               char *err, size_t errlen);

/* 0.0.0.0 or :: */
bool addr_is_wildcard(const struct sockaddr_storage *ss);
/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 */
bool addr_is_loopback(const struct sockaddr_storage *ss);
uint16_t addr_port(const struct sockaddr_storage *ss);

#endif
