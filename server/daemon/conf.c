/* anynsd configuration: YAML file and flags into a validated dconf_t. */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <net/if.h>
#include <netinet/in.h>

#include "anyns.h"
#include "cfg.h"
#include "log.h"

void dconf_init(dconf_t *c)
{
	memset(c, 0, sizeof(*c));
	c->max_udp_payload = 1232;
	c->answer_cache = DCONF_CACHE_AUTO;
	c->tcp_idle_ms = 10000;
	c->tcp_max_conn = 1000;
	c->log_level = LOG_INFO;
	c->xdp_map_entries = 65536;
	c->version = strdup("anyns 0.1");
}

void dconf_clear(dconf_t *c)
{
	if (c == NULL)
		return;
	free(c->identity);
	free(c->version);
	free(c->pid_file);
	free(c->metrics);
	for (size_t i = 0; i < c->n_xdp_ifaces; i++)
		free(c->xdp_ifaces[i]);
	for (size_t i = 0; i < c->n_zones; i++) {
		free(c->zones[i].origin);
		free(c->zones[i].file);
	}
	free(c->zones);
	memset(c, 0, sizeof(*c));
}

int dconf_parse_addr(const char *text, uint16_t defport, dconf_listen_t *out,
                     char *err, size_t errlen)
{
	char host[64];
	const char *port = NULL;
	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(out->text) || strlen(text) == 0) {
		snprintf(err, errlen, "bad address \"%s\"", text);
		return -1;
	}
	snprintf(out->text, sizeof(out->text), "%s", text);

	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || (size_t)(end - text - 1) >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
	} else {
		const char *colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* one colon: IPv4 (or "*") with a port */
			if ((size_t)(colon - text) >= sizeof(host))
				goto bad;
			memcpy(host, text, (size_t)(colon - text));
			host[colon - text] = '\0';
			port = colon + 1;
		} else {
			snprintf(host, sizeof(host), "%s", text); /* bare IPv6 or IPv4 */
		}
	}

	unsigned long p = defport;
	if (port != NULL) {
		char *e;
		errno = 0;
		p = strtoul(port, &e, 10);
		if (*port == '\0' || *e != '\0' || errno != 0 || p == 0 || p > 65535)
			goto bad;
	}
	if (strcmp(host, "*") == 0)
		snprintf(host, sizeof(host), "0.0.0.0");

	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		out->len = sizeof(*s4);
		out->wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		out->len = sizeof(*s6);
		out->wildcard = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		return 0;
	}
bad:
	snprintf(err, errlen, "bad address \"%s\" (want IP, IP:PORT or [IPv6]:PORT)", text);
	return -1;
}

int dconf_add_listen(dconf_t *c, const char *text, char *err, size_t errlen)
{
	if (c->n_listen >= DCONF_MAX_LISTEN) {
		snprintf(err, errlen, "too many listen addresses (max %d)", DCONF_MAX_LISTEN);
		return -1;
	}
	if (dconf_parse_addr(text, 53, &c->listen[c->n_listen], err, errlen) != 0)
		return -1;
	c->n_listen++;
	return 0;
}

int dconf_add_zone(dconf_t *c, const char *origin, const char *file)
{
	dconf_zone_t *z = realloc(c->zones, (c->n_zones + 1) * sizeof(*z));
	if (z == NULL)
		return -1;
	c->zones = z;
	z[c->n_zones].origin = strdup(origin);
	z[c->n_zones].file = strdup(file);
	if (z[c->n_zones].origin == NULL || z[c->n_zones].file == NULL) {
		free(z[c->n_zones].origin);
		free(z[c->n_zones].file);
		return -1;
	}
	c->n_zones++;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	return -1;
}

int dconf_set_nsid(dconf_t *c, const char *text, char *err, size_t errlen)
{
	if (strncasecmp(text, "hex:", 4) == 0) {
		const char *h = text + 4;
		size_t n = strlen(h);
		if (n == 0 || n % 2 != 0 || n / 2 > DCONF_MAX_NSID) {
			snprintf(err, errlen, "bad hex NSID \"%s\"", text);
			return -1;
		}
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
			if (hi < 0 || lo < 0) {
				snprintf(err, errlen, "bad hex NSID \"%s\"", text);
				return -1;
			}
			c->nsid[i] = (uint8_t)(hi << 4 | lo);
		}
		c->nsid_len = (uint16_t)(n / 2);
	} else {
		size_t n = strlen(text);
		if (n == 0 || n > DCONF_MAX_NSID) {
			snprintf(err, errlen, "NSID must be 1..%d bytes", DCONF_MAX_NSID);
			return -1;
		}
		memcpy(c->nsid, text, n);
		c->nsid_len = (uint16_t)n;
	}
	c->nsid_set = true;
	return 0;
}

int dconf_set_udp_io(dconf_t *c, const char *mode)
{
	if (strcmp(mode, "poll") == 0)
		c->udp_threads = false;
	else if (strcmp(mode, "threads") == 0)
		c->udp_threads = true;
	else
		return -1;
	return 0;
}

int dconf_add_xdp_iface(dconf_t *c, const char *name, char *err, size_t errlen)
{
	if (c->n_xdp_ifaces >= DCONF_MAX_IFACES) {
		snprintf(err, errlen, "too many XDP interfaces (max %d)", DCONF_MAX_IFACES);
		return -1;
	}
	if (name[0] == '\0' || strlen(name) >= IF_NAMESIZE) {
		snprintf(err, errlen, "bad interface name \"%s\"", name);
		return -1;
	}
	c->xdp_ifaces[c->n_xdp_ifaces] = strdup(name);
	if (c->xdp_ifaces[c->n_xdp_ifaces] == NULL)
		return -1;
	c->n_xdp_ifaces++;
	return 0;
}

static bool is_false(const char *v)
{
	return strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	       strcasecmp(v, "off") == 0;
}

/* A string that may be turned off with `false`: *out becomes NULL then. */
static int get_str_or_off(cfg_t *cfg, cfg_node_t *map, const char *key, const char *path,
                          char **out)
{
	cfg_node_t *n = cfg_get(map, key);
	if (n == NULL)
		return 0;
	if (n->kind != CFG_SCALAR)
		return cfg_error(cfg, n, "%s: expected a string or false", path);
	free(*out);
	*out = NULL;
	if (is_false(n->value) || n->value[0] == '\0')
		return 0;
	*out = strdup(n->value);
	return *out == NULL ? cfg_error(cfg, n, "%s: out of memory", path) : 0;
}

/* A scalar or a sequence of scalars; cb is called for each. */
static int each_scalar(cfg_t *cfg, cfg_node_t *n, const char *path,
                       int (*cb)(dconf_t *, const char *, char *, size_t), dconf_t *c)
{
	char why[256];
	if (n == NULL)
		return 0;
	if (n->kind == CFG_SCALAR) {
		if (cb(c, n->value, why, sizeof(why)) != 0)
			return cfg_error(cfg, n, "%s: %s", path, why);
		return 0;
	}
	if (n->kind != CFG_SEQ)
		return cfg_error(cfg, n, "%s: expected a list of strings", path);
	for (cfg_node_t *it = n->child; it != NULL; it = it->next) {
		it->used = true;
		if (it->kind != CFG_SCALAR)
			return cfg_error(cfg, it, "%s: expected a string", path);
		if (cb(c, it->value, why, sizeof(why)) != 0)
			return cfg_error(cfg, it, "%s: %s", path, why);
	}
	return 0;
}

static int load_server(dconf_t *c, cfg_t *cfg, cfg_node_t *srv)
{
	long long v;
	const char *s = NULL;
	uint64_t ms;

	if (cfg_expect(cfg, srv, CFG_MAP, "server") != 0)
		return -1;
	if (each_scalar(cfg, cfg_get(srv, "listen"), "server.listen", dconf_add_listen, c) != 0)
		return -1;
	v = -1;
	if (cfg_int(cfg, srv, "workers", "server.workers", 0, 256, &v) != 0)
		return -1;
	if (v >= 0)
		c->workers = (unsigned)v;
	if (get_str_or_off(cfg, srv, "identity", "server.identity", &c->identity) != 0 ||
	    get_str_or_off(cfg, srv, "version", "server.version", &c->version) != 0)
		return -1;

	cfg_node_t *n = cfg_get(srv, "nsid");
	if (n != NULL) {
		char why[256];
		if (n->kind != CFG_SCALAR)
			return cfg_error(cfg, n, "server.nsid: expected a string or hex:..");
		if (!is_false(n->value) && dconf_set_nsid(c, n->value, why, sizeof(why)) != 0)
			return cfg_error(cfg, n, "server.nsid: %s", why);
	}
	v = -1;
	/* RFC 6891 6.2.5: values below 512 are treated as 512. */
	if (cfg_int(cfg, srv, "max-udp-payload", "server.max-udp-payload", 512, 65535, &v) != 0)
		return -1;
	if (v >= 0)
		c->max_udp_payload = (uint16_t)v;
	n = cfg_get(srv, "answer-cache");
	if (n != NULL && n->kind == CFG_SCALAR && strcmp(n->value, "auto") == 0) {
		c->answer_cache = DCONF_CACHE_AUTO;
	} else {
		v = -1;
		if (cfg_int(cfg, srv, "answer-cache", "server.answer-cache", 0, 1 << 24, &v) != 0)
			return -1;
		if (v >= 0)
			c->answer_cache = (size_t)v;
	}
	s = NULL;
	if (cfg_str(cfg, srv, "udp-io", "server.udp-io", &s) != 0)
		return -1;
	if (s != NULL && dconf_set_udp_io(c, s) != 0)
		return cfg_error(cfg, cfg_get(srv, "udp-io"), "server.udp-io: want poll or threads");
	ms = c->tcp_idle_ms;
	if (cfg_duration_ms(cfg, srv, "tcp-idle-timeout", "server.tcp-idle-timeout", &ms) != 0)
		return -1;
	if (ms == 0 || ms > 3600 * 1000ULL) {
		n = cfg_get(srv, "tcp-idle-timeout");
		return cfg_error(cfg, n, "server.tcp-idle-timeout: must be between 1ms and 1h");
	}
	c->tcp_idle_ms = ms;
	v = -1;
	if (cfg_int(cfg, srv, "tcp-max-connections", "server.tcp-max-connections", 1, 1000000,
	            &v) != 0)
		return -1;
	if (v >= 0)
		c->tcp_max_conn = (unsigned)v;
	s = NULL;
	if (cfg_str(cfg, srv, "log-level", "server.log-level", &s) != 0)
		return -1;
	if (s != NULL) {
		int l = log_level_parse(s);
		if (l < 0)
			return cfg_error(cfg, cfg_get(srv, "log-level"),
			                 "server.log-level: want error, warning, info or debug");
		c->log_level = l;
	}
	s = NULL;
	if (cfg_str(cfg, srv, "pid-file", "server.pid-file", &s) != 0)
		return -1;
	if (s != NULL) {
		free(c->pid_file);
		c->pid_file = strdup(s);
	}
	s = NULL;
	if (cfg_str(cfg, srv, "metrics", "server.metrics", &s) != 0)
		return -1;
	if (s != NULL) {
		dconf_listen_t tmp;
		char why[256];
		if (dconf_parse_addr(s, 9153, &tmp, why, sizeof(why)) != 0)
			return cfg_error(cfg, cfg_get(srv, "metrics"), "server.metrics: %s", why);
		free(c->metrics);
		c->metrics = strdup(s);
	}
	return 0;
}

static int load_xdp(dconf_t *c, cfg_t *cfg, cfg_node_t *x)
{
	long long v;
	const char *s = NULL;
	if (cfg_expect(cfg, x, CFG_MAP, "xdp") != 0)
		return -1;
	if (each_scalar(cfg, cfg_get(x, "interfaces"), "xdp.interfaces", dconf_add_xdp_iface,
	                c) != 0)
		return -1;
	v = -1;
	if (cfg_int(cfg, x, "port", "xdp.port", 1, 65535, &v) != 0)
		return -1;
	if (v > 0)
		c->xdp_port = (uint16_t)v;
	v = -1;
	if (cfg_int(cfg, x, "map-entries", "xdp.map-entries", 16, 1 << 24, &v) != 0)
		return -1;
	if (v > 0)
		c->xdp_map_entries = (size_t)v;
	if (cfg_str(cfg, x, "mode", "xdp.mode", &s) != 0)
		return -1;
	if (s != NULL) {
		if (strcmp(s, "auto") == 0)
			c->xdp_mode = DCONF_XDP_AUTO;
		else if (strcmp(s, "native") == 0)
			c->xdp_mode = DCONF_XDP_NATIVE;
		else if (strcmp(s, "generic") == 0)
			c->xdp_mode = DCONF_XDP_GENERIC;
		else
			return cfg_error(cfg, cfg_get(x, "mode"),
			                 "xdp.mode: want auto, native or generic");
	}
	return 0;
}

static int load_zones(dconf_t *c, cfg_t *cfg, cfg_node_t *zs)
{
	size_t i = 0;
	if (cfg_expect(cfg, zs, CFG_SEQ, "zones") != 0)
		return -1;
	for (cfg_node_t *z = zs->child; z != NULL; z = z->next, i++) {
		const char *origin = NULL, *file = NULL;
		char po[48], pf[48];
		uint8_t wire[256];
		z->used = true;
		snprintf(po, sizeof(po), "zones[%zu].origin", i);
		snprintf(pf, sizeof(pf), "zones[%zu].file", i);
		if (cfg_expect(cfg, z, CFG_MAP, po) != 0)
			return cfg_error(cfg, z, "zones[%zu]: must be a map with origin and file", i);
		if (cfg_str(cfg, z, "origin", po, &origin) != 0 ||
		    cfg_str(cfg, z, "file", pf, &file) != 0)
			return -1;
		if (origin == NULL)
			return cfg_error(cfg, z, "%s: missing", po);
		if (file == NULL)
			return cfg_error(cfg, z, "%s: missing", pf);
		if (anyns_name_from_text(origin, wire, sizeof(wire)) < 0)
			return cfg_error(cfg, cfg_get(z, "origin"), "%s: bad domain name \"%s\"", po,
			                 origin);
		if (dconf_add_zone(c, origin, file) != 0)
			return cfg_error(cfg, z, "zones: out of memory");
	}
	return 0;
}

int dconf_load_file(dconf_t *c, const char *path, char *err, size_t errlen)
{
	cfg_t *cfg = cfg_load(path, err, errlen);
	int ret = -1;
	if (cfg == NULL)
		return -1;
	if (cfg_expect(cfg, cfg->root, CFG_MAP, "(top level)") != 0)
		goto out;
	cfg_node_t *n;
	if ((n = cfg_get(cfg->root, "server")) != NULL && load_server(c, cfg, n) != 0)
		goto out;
	if ((n = cfg_get(cfg->root, "xdp")) != NULL && load_xdp(c, cfg, n) != 0)
		goto out;
	if ((n = cfg_get(cfg->root, "zones")) != NULL && load_zones(c, cfg, n) != 0)
		goto out;
	if (cfg_check_unused(cfg) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		snprintf(err, errlen, "%s", cfg->err);
	cfg_free(cfg);
	return ret;
}
