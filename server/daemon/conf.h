/* anynsd configuration: one option table (dconf_options, common/opt.h)
 * describes every setting once and drives the YAML file, the command-line
 * flags, --help and the README's reference; the result is one plain struct
 * that the rest of the daemon reads.
 *
 * Ownership: dconf_t owns every string it points to; dconf_clear() frees them. */
#ifndef ANYNSD_CONF_H
#define ANYNSD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "opt.h"
#include "cookie.h"
#include "rrl.h"
#include "tsig.h"

#define ANYNSD_VERSION "0.1"

#define DCONF_MAX_LISTEN 32
#define DCONF_MAX_IFACES 16
#define DCONF_MAX_NSID   128
#define DCONF_CACHE_AUTO ((size_t)-1)

/* The values of server.udp-io and xdp.mode, in the order of their choices. */
enum dconf_udp_io { DCONF_UDP_POLL = 0, DCONF_UDP_THREADS };
enum dconf_xdp_mode { DCONF_XDP_AUTO = 0, DCONF_XDP_NATIVE, DCONF_XDP_GENERIC };

/* anyns-ctl's socket of an instance started with a config file. */
#define DCONF_CONTROL_DEFAULT "/run/anyns/anynsd.sock"

typedef struct dconf_listen {
	struct sockaddr_storage ss;
	socklen_t len;
	bool wildcard;             /* 0.0.0.0 or :: (needs IP_PKTINFO to answer) */
	char text[64];             /* as given, for logs */
} dconf_listen_t;

#define DCONF_MAX_REMOTE_ADDRS 8

/* keys[]: a TSIG key; its id is the key's name on the wire. */
typedef struct dconf_key {
	char *id;
	int alg;                   /* enum tsig_alg */
	char *secret;              /* base64 */
	char *secret_file;
	tsig_key_t key;            /* decoded by the list's check */
} dconf_key_t;

/* remotes[]: a primary, a secondary or both. */
typedef struct dconf_remote {
	char *id;
	dconf_listen_t addr[DCONF_MAX_REMOTE_ADDRS];
	size_t n_addr;
	char *key_id;
	int key;                   /* index into keys, -1: none (dconf_finish()) */
} dconf_remote_t;

/* A list of remotes, by id as written and by index (dconf_finish()). */
typedef struct dconf_rlist {
	char **ids;
	int *v;
	size_t n;
} dconf_rlist_t;

typedef struct dconf_zone {
	char *origin;
	char *file;                /* NULL: a secondary zone kept in memory only */
	dconf_rlist_t primaries;   /* not empty: a secondary zone */
	dconf_rlist_t notify;
	dconf_rlist_t allow_transfer;
	rrl_prefix_t *allow_query; /* networks answered; none: everyone */
	size_t n_allow_query;
	bool catalog;              /* members become secondary zones (RFC 9432) */
	uint64_t refresh_ms, retry_ms, expire_ms;   /* 0: from the SOA */
	/* Set at run time for the members of a catalog zone. */
	bool member;               /* a member of zones[catalog] */
	size_t catalog_idx;
	bool removed;              /* a member no longer listed */
} dconf_zone_t;

typedef struct dconf {
	dconf_listen_t listen[DCONF_MAX_LISTEN];
	size_t n_listen;
	unsigned workers;          /* 0 = one per core */
	char *identity;            /* NULL: id.server / hostname.bind REFUSED */
	char *version;             /* NULL: version.bind REFUSED */
	uint8_t nsid[DCONF_MAX_NSID];
	uint16_t nsid_len;
	bool nsid_set;
	uint16_t max_udp_payload;
	size_t answer_cache;       /* entries per worker; 0: off; DCONF_CACHE_AUTO: from zones */
	int udp_io;                /* enum dconf_udp_io */
	uint64_t tcp_idle_ms;
	uint64_t tcp_query_ms;
	unsigned tcp_max_conn;
	unsigned tcp_max_per_source;
	int log_level;
	char *log_target;          /* stderr, syslog, syslog:/PATH */
	char *pid_file;
	char *user;                /* drop to this user after start-up; NULL: stay */
	char *group;               /* NULL: the user's primary group */
	char *metrics;             /* "addr:port" of the Prometheus endpoint, or NULL */
	char *control;             /* anyns-ctl's Unix socket, or NULL */
	char *control_group;       /* also allowed on it, or NULL */

	char *xdp_ifaces[DCONF_MAX_IFACES];
	size_t n_xdp_ifaces;
	uint16_t xdp_port;         /* 0: the port of the first listen address */
	size_t xdp_map_entries;
	int xdp_mode;              /* enum dconf_xdp_mode */

	rrl_conf_t rrl;            /* rrl.rate 0: off */
	bool cookies;              /* answer DNS Cookies (RFC 7873) */
	cookie_conf_t cookie;      /* its secrets */
	bool cookie_secret_set;    /* else a random one at start-up */
	char *dnstap_socket;       /* dnstap to a Frame Streams socket, or NULL */
	char *dnstap_file;         /* or to a file, or NULL (dnstap off) */
	bool dnstap_queries, dnstap_responses;

	char *zones_dir;           /* relative zone files are read from here */
	bool include_anywhere;     /* $INCLUDE may read files outside the zones' folders */
	bool strict_glue;          /* missing glue stops a zone */
	bool minimal_responses;    /* answer_conf.minimal_responses */
	unsigned load_threads;     /* threads for one zone load; 0: one per core */
	dconf_zone_t *zones;
	size_t n_zones;

	dconf_key_t *keys;
	size_t n_keys;
	dconf_remote_t *remotes;
	size_t n_remotes;
	unsigned xfr_max_concurrent; /* transfers in at once */
	uint64_t xfr_timeout_ms;     /* one transfer, connect to last message */

	char *conf_file;           /* the file read (absolute), or NULL */
} dconf_t;

/* The flags that are not settings. */
typedef struct dconf_cmd {
	char *config;
	bool check, help, version;
} dconf_cmd_t;

/* Every setting of anynsd, and the flags that are not settings. */
extern const opt_t dconf_options[];
extern const opt_t dconf_cmd_options[];

/* The command line's own flags into cmd (every flag is checked). Returns 0,
 * or -1 with "--flag: reason" in err. opt_release(dconf_cmd_options, cmd)
 * frees it. */
int dconf_cmdline(dconf_cmd_t *cmd, int argc, char **argv, char *err, size_t errlen);
/* The whole configuration into c (initialised here): the defaults, the file
 * (NULL: none), the flags over it, dconf_finish(). Returns 0 or -1 with the
 * reason in err ("FILE:LINE: key: reason" or "--flag: reason"). */
int dconf_read(dconf_t *c, const char *file, int argc, char **argv, char *err, size_t errlen);
/* --help */
void dconf_usage(FILE *f);

/* The defaults of the table (no listener yet: see dconf_finish()). */
void dconf_init(dconf_t *c);
void dconf_clear(dconf_t *c);

/* conf_xfr.c: the zone transfer settings (keys:, remotes:, and per zone
 * primaries:, notify:, allow-transfer:, catalog:, refresh/retry/expire). */
extern const opt_t dconf_key_opts[], dconf_remote_opts[];
int dconf_check_key(void *obj, size_t i, char *err, size_t errlen);
int dconf_check_remote(void *obj, size_t i, char *err, size_t errlen);
int dconf_parse_rlist_primaries(void *obj, const char *text, char *err, size_t errlen);
int dconf_parse_rlist_notify(void *obj, const char *text, char *err, size_t errlen);
int dconf_parse_rlist_allow(void *obj, const char *text, char *err, size_t errlen);
void dconf_release_rlists(void *obj);
void dconf_format_primaries(const void *obj, char *buf, size_t len);
void dconf_format_notify(const void *obj, char *buf, size_t len);
void dconf_format_allow(const void *obj, char *buf, size_t len);
/* Remote ids to indices; keys of remotes. 0 or -1 with err. */
int dconf_resolve_xfr(dconf_t *c, char *err, size_t errlen);
/* The entry whose policy zc follows: for a member of a catalog, the catalog's
 * (allow-query, allow-transfer, notify, refresh/retry/expire, primaries), as
 * Knot DNS gives members their template; any other zone, its own. A zone the
 * config lists by name is never a member, so its own settings win. */
const dconf_zone_t *dconf_zone_policy(const dconf_t *c, const dconf_zone_t *zc);
/* The remote of `list` one of whose addresses is `sa` (port ignored), or -1. */
int dconf_rlist_match(const dconf_t *c, const dconf_rlist_t *list, const struct sockaddr *sa);

/* Reads a YAML file into c. Returns 0, or -1 with "file:line: key: reason" in err. */
int dconf_load_file(dconf_t *c, const char *path, char *err, size_t errlen);
/* After the file and the flags: the default listen addresses when none was
 * given, zone files made absolute (relative ones are read from zones-dir,
 * by default the config file's folder, never the working directory), and
 * warnings about legal but doubtful values. Returns 0 or -1 with err. */
int dconf_finish(dconf_t *c, char *err, size_t errlen);

/* "127.0.0.1:5353", "[::1]:53", "0.0.0.0", "::1" (default port 53).
 * Returns 0 or -1 with a reason in err. */
int dconf_parse_addr(const char *text, uint16_t defport, dconf_listen_t *out,
                     char *err, size_t errlen);
int dconf_add_listen(dconf_t *c, const char *text, char *err, size_t errlen);
/* "pop1" (text) or "hex:0a0b". */
int dconf_set_nsid(dconf_t *c, const char *text, char *err, size_t errlen);

#endif
