/* Socket addresses; see addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

static int bad(const char *text, char *err, size_t errlen, const char *why)
{
	if (err != NULL)
		snprintf(err, errlen, "bad address \"%s\" (%s)", text, why);
	return ANYNS_EINVAL;
}

int addr_parse(const char *text, uint16_t defport, struct sockaddr_storage *ss, socklen_t *len,
               char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;
	const char *want = "want IP, IP:PORT or [IPv6]:PORT";
	memset(ss, 0, sizeof(*ss));
	if (text == NULL || text[0] == '\0')
		return bad("", err, errlen, want);
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || (size_t)(end - text - 1) >= sizeof(host))
			return bad(text, err, errlen, want);
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return bad(text, err, errlen, want);
	} else {
		const char *colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* One colon: IPv4 (or "*") with a port. */
			if ((size_t)(colon - text) >= sizeof(host))
				return bad(text, err, errlen, want);
			memcpy(host, text, (size_t)(colon - text));
			host[colon - text] = '\0';
			port = colon + 1;
		} else {
			/* A bare IPv6 or IPv4 address. */
			if (strlen(text) >= sizeof(host))
				return bad(text, err, errlen, want);
			snprintf(host, sizeof(host), "%s", text);
		}
	}
	unsigned long p = defport;
	if (port != NULL) {
		char *e;
		errno = 0;
		p = strtoul(port, &e, 10);
		if (*port < '0' || *port > '9' || *e != '\0' || errno != 0 || p == 0 || p > 65535)
			return bad(text, err, errlen, "port from 1 to 65535");
	} else if (defport == 0) {
		return bad(text, err, errlen, "a port is needed: IP:PORT or [IPv6]:PORT");
	}
	if (strcmp(host, "*") == 0)
		snprintf(host, sizeof(host), "0.0.0.0");

	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
		return 0;
	}
	return bad(text, err, errlen, want);
}

bool addr_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

bool addr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}
