/* anyns-health configuration: read from YAML through common/cfg.h and
 * validated as a whole; see bgp-hook/README.md for every key.
 *
 * Ownership: hconf_load() returns a tree owned by the caller, freed with
 * hconf_free(). The strings point into the cfg tree kept inside. */
#ifndef ANYNS_HCONF_H
#define ANYNS_HCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hsm.h"

#define HCONF_DEFAULT_PATH "/etc/anyns/anyns-health.yaml"
#define HCONF_DEFAULT_CTL  "/run/anyns-health.sock"
#define HATTR_MAXCOMM 16

/* Route attributes: standard communities (ASN << 16 | value) and large ones
 * (RFC 8092: global administrator, local data 1, local data 2). */
typedef struct hattrs {
	uint32_t comm[HATTR_MAXCOMM];
	size_t ncomm;
	uint32_t lcomm[HATTR_MAXCOMM][3];
	size_t nlcomm;
	bool has_med;
	uint32_t med;
	unsigned prepend;
} hattrs_t;

enum hcheck_transport { HCHECK_UDP = 0, HCHECK_TCP };
enum hcheck_kind { HCHECK_DNS = 0, HCHECK_EXEC };
enum hcheck_lag { HCHECK_LAG_DEGRADE = 0, HCHECK_LAG_FAIL };

typedef struct hcheck_conf {
	const char *name;
	enum hcheck_kind kind;
	char **argv;                /* exec: NULL-terminated; owned */
	const char *server_text;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	enum hcheck_transport transport;
	const char *qname;          /* absolute, with trailing dot */
	uint16_t qtype, qclass;
	uint8_t rcode;
	bool aa;
	char **rdata;               /* normalized (probe_rdata_norm), sorted; owned */
	size_t nrdata;
	bool has_rdata;
	bool has_serial_min;
	uint32_t serial_min;
	bool has_primary;
	struct sockaddr_storage primary;
	socklen_t primary_len;
	enum hcheck_lag lag;
	uint64_t latency_ms;        /* 0 = no budget */
	uint64_t timeout_ms;
} hcheck_conf_t;

typedef struct hservice_conf {
	const char *name;
	const char *prefix;         /* "192.0.2.53/32", as written (validated) */
	const char *group;          /* services of one group are judged together */
	size_t group_idx;           /* index into hconf_t.groups */
	int family;                 /* 4 or 6 */
	uint64_t interval_ms, fast_ms, timeout_ms;
	hsm_conf_t sm;
	const char *maint_file;     /* drained while this file exists; NULL = none */
	hattrs_t base;              /* always attached */
	hattrs_t degraded;          /* added in DEGRADED */
	hattrs_t draining;          /* added in DRAINING, beside 65535:0 */
	hcheck_conf_t *checks;
	size_t nchecks;
} hservice_conf_t;

enum hbk_type { HBK_EXABGP = 0, HBK_BIRD, HBK_GOBGP, HBK_FRR, HBK_EXEC };

typedef struct hbk_conf {
	enum hbk_type type;
	uint32_t asn;
	/* exabgp */
	const char *next_hop;
	uint64_t ack_timeout_ms;
	bool ack;
	/* bird */
	const char *socket;
	const char *include;
	const char *guard_if;       /* "" = none */
	const char *proto_prefix;
	const char *verify_proto;   /* "" = check the static protocol itself */
	/* gobgp */
	const char *gobgp;
	const char *gobgp_args[8];
	size_t ngobgp_args;
	/* frr */
	const char *vtysh;
	const char *vtysh_args[8];  /* e.g. --vty_socket DIR */
	size_t nvtysh_args;
	const char *rm_normal, *rm_degraded, *rm_drain;
	/* exec */
	const char *command;
	uint64_t cmd_timeout_ms;
} hbk_conf_t;

typedef struct hconf {
	struct cfg *cfg;
	int log_level;              /* -1 = not set */
	const char *log_target;     /* "stderr", "syslog", "syslog:/PATH" or NULL (stderr) */
	const char *ctl_path;
	const char *ctl_group;      /* members may use the control socket (0660); NULL: none */
	gid_t ctl_gid;              /* ctl_group's id */
	const char *metrics;        /* "addr:port" or NULL */
	uint64_t watchdog_ms;       /* kill a hook without progress for this long; 0 = off */
	const char *state_file;     /* what a restarted hook takes over ("" = none) */
	struct sockaddr_storage metrics_addr;
	hbk_conf_t bk;
	hservice_conf_t *svc;
	size_t nsvc;
	const char **groups;        /* group names, in order of first use */
	size_t ngroups;
} hconf_t;

/* Returns 0, or -1 with "file:line: key.path: reason" in err. */
int hconf_load(const char *path, hconf_t **out, char *err, size_t errlen);
void hconf_free(hconf_t *c);   /* accepts NULL */

/* "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53", "2001:db8::53".
 * Returns 0 or ANYNS_EINVAL. */
int hconf_parse_addr(const char *s, uint16_t defport, struct sockaddr_storage *ss,
                     socklen_t *len);
/* "65535:0" -> 0xffff0000. Returns 0 or ANYNS_EINVAL. */
int hconf_parse_community(const char *s, uint32_t *out);
/* "65001:1:2" -> {65001, 1, 2} (RFC 8092). Returns 0 or ANYNS_EINVAL. */
int hconf_parse_large_community(const char *s, uint32_t out[3]);
/* Validates "addr/len" and returns the family (4 or 6), or ANYNS_EINVAL. */
int hconf_parse_prefix(const char *s);

#endif
