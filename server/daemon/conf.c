/* anynsd configuration: YAML file and flags into a validated dconf_t. */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>

#include "addr.h"
#include "anyns.h"
#include "cfg.h"
#include "log.h"

int dconf_parse_addr(const char *text, uint16_t defport, dconf_listen_t *out,
                     char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(out->text)) {
		snprintf(err, errlen, "bad address \"%.20s...\" (too long)", text);
		return -1;
	}
	if (addr_parse(text, defport, &out->ss, &out->len, err, errlen) != 0)
		return -1;
	snprintf(out->text, sizeof(out->text), "%s", text);
	out->wildcard = addr_is_wildcard(&out->ss);
	return 0;
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

/* ---- the option table's custom types ------------------------------------------ */
static int opt_listen(void *obj, const char *text, char *err, size_t errlen)
{
	return dconf_add_listen(obj, text, err, errlen);
}

static void reset_listen(void *obj)
{
	((dconf_t *)obj)->n_listen = 0;
}

static void fmt_listen(const void *obj, char *buf, size_t len)
{
	const dconf_t *c = obj;
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < c->n_listen && off < len; i++) {
		int k = snprintf(buf + off, len - off, "%s%s", i ? " " : "", c->listen[i].text);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static int opt_nsid(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_t *c = obj;
	if (strcasecmp(text, "false") == 0 || strcasecmp(text, "off") == 0) {
		c->nsid_set = false;
		c->nsid_len = 0;
		return 0;
	}
	return dconf_set_nsid(c, text, err, errlen);
}

static void fmt_nsid(const void *obj, char *buf, size_t len)
{
	const dconf_t *c = obj;
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; c->nsid_set && i < c->nsid_len && off + 3 <= len; i++, off += 2)
		snprintf(buf + off, len - off, "%02x", c->nsid[i]);
}

/* ADDR:PORT, ADDR (port 9153) or a bare PORT (on 127.0.0.1). */
static int opt_metrics(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_t *c = obj;
	dconf_listen_t tmp;
	char buf[64];
	if (text[0] != '\0' && strspn(text, "0123456789") == strlen(text) && strlen(text) < 8) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", text);
		text = buf;
	}
	if (dconf_parse_addr(text, 9153, &tmp, err, errlen) != 0)
		return -1;
	char *v = strdup(text);
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(c->metrics);
	c->metrics = v;
	return 0;
}

static void release_metrics(void *obj)
{
	dconf_t *c = obj;
	free(c->metrics);
	c->metrics = NULL;
}

static void fmt_metrics(const void *obj, char *buf, size_t len)
{
	const dconf_t *c = obj;
	snprintf(buf, len, "%s", c->metrics != NULL ? c->metrics : "");
}

static int opt_xdp_iface(void *obj, const char *name, char *err, size_t errlen)
{
	dconf_t *c = obj;
	if (c->n_xdp_ifaces >= DCONF_MAX_IFACES) {
		snprintf(err, errlen, "too many XDP interfaces (max %d)", DCONF_MAX_IFACES);
		return -1;
	}
	if (name[0] == '\0' || strlen(name) >= IF_NAMESIZE || strchr(name, '/') != NULL) {
		snprintf(err, errlen, "bad interface name \"%s\"", name);
		return -1;
	}
	c->xdp_ifaces[c->n_xdp_ifaces] = strdup(name);
	if (c->xdp_ifaces[c->n_xdp_ifaces] == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->n_xdp_ifaces++;
	return 0;
}

static void release_xdp_ifaces(void *obj)
{
	dconf_t *c = obj;
	for (size_t i = 0; i < c->n_xdp_ifaces; i++)
		free(c->xdp_ifaces[i]);
	c->n_xdp_ifaces = 0;
}

static void fmt_xdp_ifaces(const void *obj, char *buf, size_t len)
{
	const dconf_t *c = obj;
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < c->n_xdp_ifaces && off < len; i++) {
		int k = snprintf(buf + off, len - off, "%s%s", i ? " " : "", c->xdp_ifaces[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static int opt_rrl_whitelist(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_t *c = obj;
	if (c->rrl.n_whitelist >= RRL_MAX_WHITELIST) {
		snprintf(err, errlen, "too many prefixes (max %d)", RRL_MAX_WHITELIST);
		return -1;
	}
	if (rrl_prefix_parse(text, &c->rrl.whitelist[c->rrl.n_whitelist]) != 0) {
		snprintf(err, errlen, "bad prefix \"%.60s\" (want ADDR/LEN)", text);
		return -1;
	}
	c->rrl.n_whitelist++;
	return 0;
}

static void reset_rrl_whitelist(void *obj)
{
	((dconf_t *)obj)->rrl.n_whitelist = 0;
}

/* A list of networks as text, space-separated. */
static void fmt_prefixes(const rrl_prefix_t *v, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off + 1 < len; i++) {
		char p[64];
		rrl_prefix_format(&v[i], p, sizeof(p));
		int k = snprintf(buf + off, len - off, "%s%s", i ? " " : "", p);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static void fmt_rrl_whitelist(const void *obj, char *buf, size_t len)
{
	const dconf_t *c = obj;
	fmt_prefixes(c->rrl.whitelist, c->rrl.n_whitelist, buf, len);
}

static int opt_cookie_secret(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_t *c = obj;
	if (cookie_secret_from_hex(text, c->cookie.secret) != 0) {
		snprintf(err, errlen, "want 32 hex digits (16 bytes)");
		return -1;
	}
	c->cookie_secret_set = true;
	return 0;
}

static int opt_cookie_previous(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_t *c = obj;
	if (cookie_secret_from_hex(text, c->cookie.previous) != 0) {
		snprintf(err, errlen, "want 32 hex digits (16 bytes)");
		return -1;
	}
	c->cookie.has_previous = true;
	return 0;
}

static void fmt_hex16(const uint8_t *b, bool set, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; set && i < 16 && (size_t)(2 * i + 2) < len; i++)
		snprintf(buf + 2 * i, len - 2 * (size_t)i, "%02x", b[i]);
}

static void fmt_cookie_secret(const void *obj, char *buf, size_t len)
{
	const dconf_t *c = obj;
	fmt_hex16(c->cookie.secret, c->cookie_secret_set, buf, len);
}

static void fmt_cookie_previous(const void *obj, char *buf, size_t len)
{
	const dconf_t *c = obj;
	fmt_hex16(c->cookie.previous, c->cookie.has_previous, buf, len);
}

static int opt_zone_origin(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_zone_t *z = obj;
	uint8_t wire[256];
	if (anyns_name_from_text(text, wire, sizeof(wire)) < 0) {
		snprintf(err, errlen, "bad domain name \"%s\"", text);
		return -1;
	}
	char *v = strdup(text);
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(z->origin);
	z->origin = v;
	return 0;
}

static void release_zone_origin(void *obj)
{
	dconf_zone_t *z = obj;
	free(z->origin);
	z->origin = NULL;
}

static void fmt_zone_origin(const void *obj, char *buf, size_t len)
{
	const dconf_zone_t *z = obj;
	snprintf(buf, len, "%s", z->origin != NULL ? z->origin : "");
}

/* --zone ORIGIN=FILE */
static int opt_zone_flag(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_t *c = obj;
	const char *eq = strchr(text, '=');
	char origin[300];
	if (eq == NULL || eq == text || eq[1] == '\0' || (size_t)(eq - text) >= sizeof(origin)) {
		snprintf(err, errlen, "want ORIGIN=FILE, not \"%s\"", text);
		return -1;
	}
	snprintf(origin, sizeof(origin), "%.*s", (int)(eq - text), text);
	dconf_zone_t *z = realloc(c->zones, (c->n_zones + 1) * sizeof(*z));
	if (z == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->zones = z;
	z += c->n_zones;
	memset(z, 0, sizeof(*z));
	c->n_zones++;
	if (opt_zone_origin(z, origin, err, errlen) != 0)
		return -1;
	/* A path typed on the command line is the shell's: from the working
	 * directory. */
	char cwd[4096];
	if (eq[1] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
		size_t n = strlen(cwd) + strlen(eq + 1) + 2;
		z->file = malloc(n);
		if (z->file != NULL)
			snprintf(z->file, n, "%s/%s", cwd, eq + 1);
	} else {
		z->file = strdup(eq + 1);
	}
	if (z->file == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Two zones with the same origin (in any letter case, with or without the
 * final dot) cannot both be served. */
static int check_zone(void *obj, size_t i, char *err, size_t errlen)
{
	dconf_t *c0 = obj;
	const dconf_zone_t *zc = &c0->zones[i];
	if (zc->file == NULL && zc->primaries.n == 0) {
		snprintf(err, errlen, "file: missing (a zone needs a file, or primaries to transfer "
		         "it from)");
		return -1;
	}
	if (zc->catalog && zc->primaries.n == 0) {
		snprintf(err, errlen, "catalog: a catalog zone needs primaries");
		return -1;
	}
	dconf_t *c = obj;
	uint8_t a[256], b[256];
	int la = anyns_name_from_text(c->zones[i].origin, a, sizeof(a));
	for (size_t j = 0; la > 0 && j < i; j++) {
		int lb = anyns_name_from_text(c->zones[j].origin, b, sizeof(b)), k = 0;
		while (lb == la && k < la && tolower(a[k]) == tolower(b[k]))
			k++;
		if (lb == la && k == la) {
			snprintf(err, errlen, "zone %s is already zones[%zu]", c->zones[i].origin, j);
			return -1;
		}
	}
	return 0;
}

static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };
static const char *const udp_ios[] = { "poll", "threads", NULL };
static const char *const xdp_modes[] = { "auto", "native", "generic", NULL };

static const opt_t server_opts[] = {
	{ .key = "listen", .flag = "listen", .type = OPT_CUSTOM, .flags = OPT_MULTI | OPT_RESTART,
	  .parse = opt_listen, .reset = reset_listen, .format = fmt_listen,
	  .arg = "ADDR[:PORT]", .def_doc = "0.0.0.0:53, [::]:53",
	  .help = "address to serve over UDP and TCP: IP, IP:PORT, [IPv6]:PORT or *:PORT (default "
	          "port 53); a wildcard address answers from the address asked (IP_PKTINFO); "
	          "flags replace the file's list" },
	{ .key = "workers", .flag = "workers", .type = OPT_UINT, .flags = OPT_AUTO | OPT_RESTART,
	  OPT_AT(dconf_t, workers), .min = 1, .max = 256, .autoval = 0, .def = "auto",
	  .arg = "N", .help = "worker threads, each with its own SO_REUSEPORT sockets and answer "
	                      "cache; auto: one per core" },
	{ .key = "identity", .flag = "identity", .type = OPT_STR, .flags = OPT_OFF | OPT_RESTART,
	  OPT_AT(dconf_t, identity), .arg = "NAME", .def_doc = "false",
	  .help = "answer CH TXT id.server and hostname.bind with NAME; false: REFUSED" },
	{ .key = "version", .flag = "server-version", .type = OPT_STR, .flags = OPT_OFF | OPT_RESTART,
	  OPT_AT(dconf_t, version), .arg = "TEXT", .def_doc = "false",
	  .help = "answer CH TXT version.bind and version.server with TEXT (telling strangers "
	          "which software to attack); false: REFUSED" },
	{ .key = "nsid", .flag = "nsid", .type = OPT_CUSTOM, .flags = OPT_RESTART, .parse = opt_nsid,
	  .format = fmt_nsid, .arg = "NSID", .def_doc = "false",
	  .help = "RFC 5001 NSID: text, or hex:0a0b... (at most 128 bytes); false: none" },
	{ .key = "max-udp-payload", .flag = "max-udp-payload", .type = OPT_UINT,
	  OPT_AT(dconf_t, max_udp_payload), .min = 512, .max = 4096, .def = "1232", .arg = "N",
	  .flags = OPT_RESTART,
	  .help = "our EDNS payload size and the largest UDP answer; above 1232 fragments may be "
	          "lost (DNS flag day 2020), so a warning says so" },
	{ .key = "minimal-responses", .flag = "minimal-responses", .type = OPT_BOOL,
	  .flags = OPT_RESTART, OPT_AT(dconf_t, minimal_responses), .def = "false",
	  .help = "as NSD's minimal-responses: positive answers carry only the answer section, "
	          "without the zone's NS set in the authority section nor addresses of NS, MX "
	          "and SRV targets in the additional section; referrals keep their NS set and "
	          "glue, NS answers the addresses of the servers, negative answers their SOA "
	          "(and DNSSEC proofs); false: added as NSD does by default" },
	{ .key = "answer-cache", .flag = "answer-cache", .type = OPT_UINT,
	  .flags = OPT_AUTO | OPT_RESTART, OPT_AT(dconf_t, answer_cache), .min = 0,
	  .max = 1 << 24, .autoval = (long long)DCONF_CACHE_AUTO, .def = "auto", .arg = "N",
	  .help = "answer cache entries per worker, 72 bytes each (an index slot and 64 bytes of "
	          "a ring of variable-size answers), touched as answers are stored; an NXDOMAIN "
	          "(UDP or TCP) is admitted on its second miss, and so is any answer once the ring "
	          "is full, so one-off names neither fill it nor push out the answers in use; 0 "
	          "turns it off; auto: 3 per name served at start-up, "
	          "between 65536 and 262144, four times that with a signed zone (its answers to "
	          "DO=1 are 3-5 times larger)" },
	{ .key = "udp-io", .flag = "udp-io", .type = OPT_ENUM, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, udp_io), .choices = udp_ios, .def = "poll", .arg = "MODE",
	  .help = "UDP receive back end: poll (each worker polls its sockets on its libuv loop) "
	          "or threads (one thread per worker and socket blocking in recvmmsg)" },
	{ .key = "tcp-idle-timeout", .flag = "tcp-idle-timeout", .type = OPT_DURATION,
	  .flags = OPT_RESTART, OPT_AT(dconf_t, tcp_idle_ms), .min = 1, .max = 3600000,
	  .def = "10s", .arg = "T",
	  .help = "close TCP connections this long after their last complete query or answer "
	          "read (the bytes of an unfinished query do not count); 200ms once half of "
	          "tcp-max-connections are open" },
	{ .key = "tcp-query-timeout", .flag = "tcp-query-timeout", .type = OPT_DURATION,
	  .flags = OPT_RESTART, OPT_AT(dconf_t, tcp_query_ms), .min = 1, .max = 3600000,
	  .def = "5s", .arg = "T",
	  .help = "close a TCP connection whose query has not arrived whole this long after its "
	          "first byte (slow senders holding slots); 200ms once half of "
	          "tcp-max-connections are open" },
	{ .key = "tcp-max-per-source", .flag = "tcp-max-per-source", .type = OPT_UINT,
	  .flags = OPT_RESTART, OPT_AT(dconf_t, tcp_max_per_source), .min = 1, .max = 1000000,
	  .def = "64", .arg = "N",
	  .help = "open TCP connections from one IPv4 address or IPv6 /64; past it a new one is "
	          "closed at once" },
	{ .key = "tcp-max-connections", .flag = "tcp-max-connections", .type = OPT_UINT,
	  .flags = OPT_RESTART, OPT_AT(dconf_t, tcp_max_conn), .min = 1, .max = 1000000,
	  .def = "1000", .arg = "N",
	  .help = "open TCP connections over all workers; past it a new one takes the slot of "
	          "the least recently active connection of its worker" },
	{ .key = "log", .flag = "log", .type = OPT_STR, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, log_target), .def = "stderr", .arg = "TARGET",
	  .help = "where the log goes: stderr (under systemd: the journal), syslog (/dev/log, "
	          "facility daemon) or syslog:/PATH" },
	{ .key = "log-level", .flag = "log-level", .short_flag = 'l', .type = OPT_ENUM,
	  OPT_AT(dconf_t, log_level), .choices = log_levels, .def = "info", .arg = "LEVEL",
	  .help = "least important messages logged" },
	{ .key = "user", .flag = "user", .type = OPT_STR, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, user), .arg = "NAME",
	  .def_doc = "none: stay the user started as; refused when that is root",
	  .help = "once the sockets are bound, XDP attached and the zones loaded, become this "
	          "user (and group) with no capabilities left; zone files, the config file and "
	          "secondary zones' folders must then be readable (writable) by it for reloads "
	          "and transfers; root: keep root on purpose (with a warning)" },
	{ .key = "group", .flag = "group", .type = OPT_STR, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, group), .arg = "NAME", .def_doc = "the user's primary group",
	  .help = "group to become with user" },
	{ .key = "pid-file", .flag = "pid-file", .type = OPT_STR, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, pid_file), .arg = "FILE",
	  .help = "write the process id to FILE after start-up; removed at a clean exit" },
	{ .key = "control", .flag = "control", .type = OPT_STR, .flags = OPT_OFF | OPT_RESTART,
	  OPT_AT(dconf_t, control), .def = "auto", .arg = "PATH",
	  .help = "Unix socket of anyns-ctl (mode 0600, or 0660 with control-group); a socket "
	          "another anynsd answers on is left to it; auto: " DCONF_CONTROL_DEFAULT
	          " when started with a config file (-c), none when started from flags alone "
	          "(one-off and test instances then never meet on the socket of the installed "
	          "one); false: none" },
	{ .key = "control-group", .flag = "control-group", .type = OPT_STR, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, control_group), .arg = "GROUP",
	  .help = "members of GROUP may use the control socket too" },
	{ .key = "zones-dir", .flag = "zones-dir", .type = OPT_STR, OPT_AT(dconf_t, zones_dir),
	  .arg = "DIR", .def_doc = "the config file's folder",
	  .help = "folder of the zone files named with a relative path in the config (a "
	          "relative DIR is from the config file's folder); zone files given with --zone "
	          "are from the working directory" },
	{ .key = "include-anywhere", .flag = "include-anywhere", .type = OPT_BOOL,
	  OPT_AT(dconf_t, include_anywhere), .def = "false",
	  .help = "let $INCLUDE in zone files read any regular file; by default only files in "
	          "the including zone file's folder and in zones-dir (symbolic links resolved)" },
	{ .key = "strict-glue", .flag = "strict-glue", .type = OPT_BOOL,
	  OPT_AT(dconf_t, strict_glue), .def = "false",
	  .help = "an in-zone NS target below a cut without an A or AAAA (missing glue) stops "
	          "the zone from loading; by default it is a warning, as NSD and Knot DNS serve "
	          "such a zone" },
	{ .key = "load-threads", .flag = "load-threads", .type = OPT_UINT, .flags = OPT_AUTO,
	  OPT_AT(dconf_t, load_threads), .min = 1, .max = 256, .autoval = 0, .def = "auto",
	  .arg = "N",
	  .help = "threads a zone load may use: 2 or more read and parse a big zone file (64 KiB "
	          "and up) on a thread of its own while another builds the zone (same messages, "
	          "same zone); 1: one thread; auto: one per core (2 or more use two today)" },
	{ .key = "metrics", .flag = "metrics", .type = OPT_CUSTOM, .flags = OPT_RESTART,
	  .parse = opt_metrics, .release = release_metrics, .format = fmt_metrics,
	  .arg = "ADDR:PORT",
	  .help = "serve Prometheus metrics over HTTP at http://ADDR:PORT/metrics; a bare PORT "
	          "means 127.0.0.1:PORT; any other address than loopback is warned about (the "
	          "counters tell a stranger about the traffic); slow clients are cut off after "
	          "3 s of silence, at most 8 connections per client address" },
	{ .key = "xfr-concurrency", .type = OPT_UINT, OPT_AT(dconf_t, xfr_max_concurrent),
	  .min = 1, .max = 1024, .def = "8",
	  .help = "secondary zones transferring at once; the others wait their turn" },
	{ .key = "xfr-timeout", .type = OPT_DURATION, OPT_AT(dconf_t, xfr_timeout_ms),
	  .min = 1000, .max = 3600000, .def = "60s",
	  .help = "transfers from a primary silent this long fail (the next primary is tried)" },
	{ 0 },
};

static const opt_t xdp_opts[] = {
	{ .key = "interfaces", .flag = "xdp", .type = OPT_CUSTOM, .flags = OPT_MULTI | OPT_RESTART,
	  .parse = opt_xdp_iface, .release = release_xdp_ifaces, .format = fmt_xdp_ifaces,
	  .arg = "IFACE",
	  .help = "answer cached queries in XDP on IFACE; if it cannot attach, anynsd says why "
	          "and serves from sockets; flags add to the file's list" },
	{ .key = "port", .type = OPT_UINT, .flags = OPT_RESTART, OPT_AT(dconf_t, xdp_port),
	  .min = 1, .max = 65535, .def_doc = "first listen port",
	  .help = "UDP port answered in XDP" },
	{ .key = "map-entries", .type = OPT_UINT, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, xdp_map_entries), .min = 16, .max = 1 << 24, .def = "65536",
	  .help = "answer map size; half of it is pre-filled at each load" },
	{ .key = "mode", .type = OPT_ENUM, .flags = OPT_RESTART, OPT_AT(dconf_t, xdp_mode),
	  .choices = xdp_modes, .def = "auto",
	  .help = "generic forces skb mode; native and auto try native first and say which mode "
	          "they got" },
	{ 0 },
};

static const opt_t rrl_opts[] = {
	{ .key = "rate", .flag = "rrl-rate", .type = OPT_UINT,
	  OPT_AT(dconf_t, rrl.rate), .min = 0, .max = RRL_MAX_RATE, .def = "0", .arg = "N",
	  .help = "response rate limiting over UDP: at most N responses a second to one client "
	          "network for one name and kind of answer (answer, no data, referral, NXDOMAIN "
	          "per zone, error, and per wildcard the answers made from it); past it "
	          "responses are dropped or slipped; 0: off. TCP is never limited" },
	{ .key = "slip", .flag = "rrl-slip", .type = OPT_UINT,
	  OPT_AT(dconf_t, rrl.slip), .min = 0, .max = RRL_MAX_SLIP, .def = "2", .arg = "N",
	  .help = "every Nth limited response goes out as an empty TC=1 answer so that a real "
	          "client behind a spoofed address retries over TCP; 0 drops all, 1 truncates all" },
	{ .key = "ipv4-prefix", .type = OPT_UINT,
	  OPT_AT(dconf_t, rrl.v4_prefix), .min = 1, .max = 32, .def = "24",
	  .help = "IPv4 clients in one network of this length share their limits" },
	{ .key = "ipv6-prefix", .type = OPT_UINT,
	  OPT_AT(dconf_t, rrl.v6_prefix), .min = 1, .max = 128, .def = "56",
	  .help = "IPv6 clients in one network of this length share their limits" },
	{ .key = "whitelist", .type = OPT_CUSTOM, .flags = OPT_MULTI,
	  .parse = opt_rrl_whitelist, .reset = reset_rrl_whitelist, .format = fmt_rrl_whitelist,
	  .help = "networks never limited (ADDR/LEN or an address), at most 64" },
	{ .key = "table-size", .type = OPT_UINT,
	  OPT_AT(dconf_t, rrl.table_size), .min = 64, .max = 1 << 30, .def = "262144",
	  .help = "buckets shared by all workers, 16 bytes each (rounded up to a power of two); "
	          "two keys in one bucket take it over from each other; a reload that changes "
	          "any rrl setting starts a new table; with XDP on, a reload keeps the running "
	          "size (logged as rrl: table-size-unchanged, a restart resizes)" },
	{ 0 },
};

static const opt_t cookie_opts[] = {
	{ .key = "enable", .flag = "cookies", .type = OPT_BOOL,
	  OPT_AT(dconf_t, cookies), .def = "false",
	  .help = "answer DNS Cookies (RFC 7873): a query's client cookie comes back with a server "
	          "cookie (RFC 9018: SipHash-2-4 under the secret); a COOKIE option of a bad "
	          "length is FORMERR; a valid server cookie exempts the query from rrl, and a "
	          "rate-limited query without one gets BADCOOKIE instead of a TC=1 slip" },
	{ .key = "secret", .type = OPT_CUSTOM, .parse = opt_cookie_secret,
	  .format = fmt_cookie_secret, .def_doc = "random at start-up, kept by reloads",
	  .help = "the server cookie secret, 32 hex digits; give every server behind one "
	          "address the same so that they accept each other's cookies" },
	{ .key = "previous-secret", .type = OPT_CUSTOM,
	  .parse = opt_cookie_previous, .format = fmt_cookie_previous,
	  .help = "a secret still accepted (cookies made with it are valid) while a new secret "
	          "rolls out; new cookies are made with secret" },
	{ 0 },
};

/* allow-query: a list of networks (a host: an address alone). */
#define DCONF_MAX_ALLOW_QUERY 1024
static int opt_allow_query(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_zone_t *z = obj;
	rrl_prefix_t p;
	if (z->n_allow_query >= DCONF_MAX_ALLOW_QUERY) {
		snprintf(err, errlen, "too many networks (max %d)", DCONF_MAX_ALLOW_QUERY);
		return -1;
	}
	if (rrl_prefix_parse(text, &p) != 0) {
		snprintf(err, errlen, "bad network \"%.60s\" (want ADDR or ADDR/LEN)", text);
		return -1;
	}
	rrl_prefix_t *v = realloc(z->allow_query, (z->n_allow_query + 1) * sizeof(*v));
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v[z->n_allow_query++] = p;
	z->allow_query = v;
	return 0;
}

static void release_allow_query(void *obj)
{
	dconf_zone_t *z = obj;
	free(z->allow_query);
	z->allow_query = NULL;
	z->n_allow_query = 0;
}

static void fmt_allow_query(const void *obj, char *buf, size_t len)
{
	const dconf_zone_t *z = obj;
	fmt_prefixes(z->allow_query, z->n_allow_query, buf, len);
}

static const opt_t zone_opts[] = {
	{ .key = "origin", .type = OPT_CUSTOM, .flags = OPT_REQUIRED, .parse = opt_zone_origin,
	  .release = release_zone_origin, .format = fmt_zone_origin,
	  .help = "the zone's name" },
	{ .key = "file", .type = OPT_STR, OPT_AT(dconf_zone_t, file),
	  .help = "its RFC 1035 master file; for a secondary zone (optional) where the "
	          "received zone is kept: written at each transfer, served at start-up" },
	{ .key = "primaries", .type = OPT_CUSTOM, .flags = OPT_MULTI,
	  .parse = dconf_parse_rlist_primaries, .release = dconf_release_rlists,
	  .format = dconf_format_primaries,
	  .help = "remotes to transfer the zone from, tried in order: makes it a secondary zone "
	          "(SOA refresh and NOTIFY, IXFR then AXFR)" },
	{ .key = "notify", .type = OPT_CUSTOM, .flags = OPT_MULTI,
	  .parse = dconf_parse_rlist_notify, .format = dconf_format_notify,
	  .help = "remotes sent a NOTIFY when the zone's serial changes (reload or transfer)" },
	{ .key = "allow-transfer", .type = OPT_CUSTOM, .flags = OPT_MULTI,
	  .parse = dconf_parse_rlist_allow, .format = dconf_format_allow, .def_doc = "nobody",
	  .help = "remotes that may AXFR/IXFR the zone over TCP, signed with their key if "
	          "they have one; anyone else is REFUSED" },
	{ .key = "allow-query", .type = OPT_CUSTOM, .flags = OPT_MULTI,
	  .parse = opt_allow_query, .release = release_allow_query, .format = fmt_allow_query,
	  .arg = "ADDR[/LEN]", .def_doc = "everyone",
	  .help = "networks (IPv4, IPv6; an address alone is a host) whose queries the zone "
	          "answers, over UDP and TCP; others get REFUSED, and its answers are never "
	          "sent from the XDP map; transfers and NOTIFY follow allow-transfer and "
	          "primaries instead" },
	{ .key = "catalog", .type = OPT_BOOL, OPT_AT(dconf_zone_t, catalog), .def = "false",
	  .help = "marks a catalog zone (RFC 9432, needs primaries): each member becomes a "
	          "secondary zone from the same primaries, and goes when removed; with a file, "
	          "members are kept beside it (ORIGIN.zone) and serve at start-up. Members "
	          "take the catalog's allow-query, allow-transfer, notify and "
	          "refresh/retry/expire (a member the config lists as a zone of its own "
	          "is not taken from the catalog: its own settings hold)" },
	{ .key = "refresh", .type = OPT_DURATION, OPT_AT(dconf_zone_t, refresh_ms), .min = 1000,
	  .max = 2147483647000LL, .def_doc = "SOA refresh",
	  .help = "secondary: how often the primary's serial is checked" },
	{ .key = "retry", .type = OPT_DURATION, OPT_AT(dconf_zone_t, retry_ms), .min = 1000,
	  .max = 2147483647000LL, .def_doc = "SOA retry",
	  .help = "secondary: the wait after a failed refresh" },
	{ .key = "expire", .type = OPT_DURATION, OPT_AT(dconf_zone_t, expire_ms), .min = 1000,
	  .max = 2147483647000LL, .def_doc = "SOA expire",
	  .help = "secondary: past this long without a good refresh the zone answers SERVFAIL" },
	{ 0 },
};

static const opt_t dnstap_opts[] = {
	{ .key = "socket", .flag = "dnstap-socket", .type = OPT_STR, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, dnstap_socket), .arg = "PATH",
	  .help = "write dnstap to the Frame Streams reader listening on this Unix socket "
	          "(e.g. fstrm_capture, dnstap-ldns is a reader of files); reconnects every 2 s "
	          "while it is away" },
	{ .key = "file", .flag = "dnstap-file", .type = OPT_STR, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, dnstap_file), .arg = "FILE",
	  .help = "or to this file (written anew at start-up), readable with dnstap-ldns -r "
	          "or kdig -G" },
	{ .key = "log-queries", .type = OPT_BOOL, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, dnstap_queries), .def = "true",
	  .help = "write an AUTH_QUERY message for every query answered by the sockets" },
	{ .key = "log-responses", .type = OPT_BOOL, .flags = OPT_RESTART,
	  OPT_AT(dconf_t, dnstap_responses), .def = "true",
	  .help = "write an AUTH_RESPONSE message for every response they send" },
	{ 0 },
};

const opt_t dconf_options[] = {
	{ .key = "server", .type = OPT_SECTION, .sub = server_opts,
	  .help = "how anynsd serves" },
	{ .key = "xdp", .type = OPT_SECTION, .sub = xdp_opts, .help = "the XDP fast path" },
	{ .key = "rrl", .type = OPT_SECTION, .sub = rrl_opts,
	  .help = "response rate limiting (off unless rate is set)" },
	{ .key = "cookies", .type = OPT_SECTION, .sub = cookie_opts, .help = "DNS Cookies" },
	{ .key = "dnstap", .type = OPT_SECTION, .sub = dnstap_opts,
	  .help = "dnstap logging of queries and responses (off unless socket or file is set; "
	          "XDP answers are not seen)" },
	{ .key = "keys", .type = OPT_LIST, OPT_AT(dconf_t, keys), .elem_size = sizeof(dconf_key_t),
	  .count_offset = offsetof(dconf_t, n_keys), .sub = dconf_key_opts,
	  .check = dconf_check_key, .help = "TSIG keys (RFC 8945)" },
	{ .key = "remotes", .type = OPT_LIST, OPT_AT(dconf_t, remotes),
	  .elem_size = sizeof(dconf_remote_t), .count_offset = offsetof(dconf_t, n_remotes),
	  .sub = dconf_remote_opts, .check = dconf_check_remote,
	  .help = "other servers: primaries, secondaries, NOTIFY targets" },
	{ .key = "zones", .flag = "zone", .type = OPT_LIST, OPT_AT(dconf_t, zones),
	  .elem_size = sizeof(dconf_zone_t), .count_offset = offsetof(dconf_t, n_zones),
	  .sub = zone_opts, .parse = opt_zone_flag, .check = check_zone, .arg = "ORIGIN=FILE",
	  .help = "zones served; flags add to the file's list" },
	{ 0 },
};

void dconf_init(dconf_t *c)
{
	memset(c, 0, sizeof(*c));
	if (opt_defaults(dconf_options, c) != 0)
		abort();   /* a default that does not parse is a bug in the table */
}

void dconf_clear(dconf_t *c)
{
	if (c == NULL)
		return;
	opt_release(dconf_options, c);
	free(c->conf_file);
	memset(c, 0, sizeof(*c));
}

int dconf_load_file(dconf_t *c, const char *path, char *err, size_t errlen)
{
	cfg_t *cfg = cfg_load(path, err, errlen);
	if (cfg == NULL)
		return -1;
	free(c->conf_file);
	c->conf_file = realpath(path, NULL);
	int ret = opt_load(cfg, cfg->root, dconf_options, c, "");
	if (ret != 0)
		snprintf(err, errlen, "%s", cfg->err);
	cfg_free(cfg);
	return ret;
}

/* "a/b" + "c" -> "a/b/c" (malloc'ed); an absolute rel is kept as it is. */
static char *path_join(const char *base, const char *rel)
{
	if (rel[0] == '/' || base == NULL)
		return strdup(rel);
	size_t n = strlen(base) + strlen(rel) + 2;
	char *p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s", base, rel);
	return p;
}

static int zones_resolve(dconf_t *c, char *err, size_t errlen)
{
	char *cdir = NULL, *zdir = NULL;
	int ret = -1;
	if (c->conf_file != NULL) {
		cdir = strdup(c->conf_file);
		if (cdir == NULL)
			goto oom;
		char *slash = strrchr(cdir, '/');
		if (slash != NULL)
			*(slash == cdir ? slash + 1 : slash) = '\0';
	}
	if (c->zones_dir != NULL) {
		/* From the file: from its folder; from the flag: the shell's. */
		zdir = cdir != NULL ? path_join(cdir, c->zones_dir) : strdup(c->zones_dir);
		if (zdir == NULL)
			goto oom;
	} else if (cdir != NULL) {
		zdir = strdup(cdir);
		if (zdir == NULL)
			goto oom;
	}
	for (size_t i = 0; i < c->n_zones; i++) {
		dconf_zone_t *z = &c->zones[i];
		if (z->file == NULL || z->file[0] == '/' || zdir == NULL)
			continue;
		char *p = path_join(zdir, z->file);
		if (p == NULL)
			goto oom;
		free(z->file);
		z->file = p;
	}
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(cdir);
	free(zdir);
	return ret;
}

int dconf_finish(dconf_t *c, char *err, size_t errlen)
{
	if (dconf_resolve_xfr(c, err, errlen) != 0)
		return -1;
	if (c->n_listen == 0) {
		/* Like NSD: every address, answered from the address asked. */
		if (dconf_add_listen(c, "0.0.0.0:53", err, errlen) != 0 ||
		    dconf_add_listen(c, "[::]:53", err, errlen) != 0)
			return -1;
	}
	if (zones_resolve(c, err, errlen) != 0)
		return -1;
	if (c->dnstap_socket != NULL && c->dnstap_file != NULL) {
		snprintf(err, errlen, "dnstap: socket and file: only one of them");
		return -1;
	}
	if (c->control != NULL && strcmp(c->control, "auto") == 0) {
		free(c->control);
		c->control = NULL;
		if (c->conf_file != NULL && (c->control = strdup(DCONF_CONTROL_DEFAULT)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (c->max_udp_payload > 1232)
		log_warn("config: warning key=server.max-udp-payload value=%u reason=\"answers over "
		         "1232 bytes may be fragmented, and fragments are often lost or spoofed; 1232 "
		         "is the usual value\"", c->max_udp_payload);
	return 0;
}

/* ---- the command line ---------------------------------------------------------- */
const opt_t dconf_cmd_options[] = {
	{ .flag = "config", .short_flag = 'c', .type = OPT_STR, .flags = OPT_NOFILE,
	  OPT_AT(dconf_cmd_t, config), .arg = "FILE",
	  .help = "YAML configuration (server:, xdp:, keys:, remotes:, zones:); flags override it" },
	{ .flag = "check-config", .type = OPT_BOOL, .flags = OPT_NOFILE,
	  OPT_AT(dconf_cmd_t, check),
	  .help = "read the config and compile the zones, report, exit (0 all good, 1 a zone "
	          "failed, 2 bad config)" },
	{ .flag = "help", .short_flag = 'h', .type = OPT_BOOL, .flags = OPT_NOFILE,
	  OPT_AT(dconf_cmd_t, help), .help = "this text" },
	{ .flag = "version", .short_flag = 'V', .type = OPT_BOOL, .flags = OPT_NOFILE,
	  OPT_AT(dconf_cmd_t, version), .help = "print the version" },
	{ 0 },
};

static const opt_t *const all_tables[] = { dconf_cmd_options, dconf_options };

static int parse_flags(dconf_cmd_t *cmd, dconf_t *c, int argc, char **argv, char *err,
                       size_t errlen)
{
	void *objs[2] = { cmd, c };
	return opt_parse_argv(all_tables, objs, 2, argc, argv, err, errlen);
}

int dconf_cmdline(dconf_cmd_t *cmd, int argc, char **argv, char *err, size_t errlen)
{
	dconf_t scratch;
	memset(cmd, 0, sizeof(*cmd));
	dconf_init(&scratch);
	int rc = parse_flags(cmd, &scratch, argc, argv, err, errlen);
	dconf_clear(&scratch);
	return rc;
}

int dconf_read(dconf_t *c, const char *file, int argc, char **argv, char *err, size_t errlen)
{
	dconf_cmd_t cmd;
	memset(&cmd, 0, sizeof(cmd));
	dconf_init(c);
	int rc = 0;
	if (file != NULL && dconf_load_file(c, file, err, errlen) != 0)
		rc = -1;
	if (rc == 0 && (parse_flags(&cmd, c, argc, argv, err, errlen) != 0 ||
	                dconf_finish(c, err, errlen) != 0))
		rc = -1;
	opt_release(dconf_cmd_options, &cmd);
	return rc;
}

void dconf_usage(FILE *f)
{
	opt_usage(f, all_tables, 2);
}
