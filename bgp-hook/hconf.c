/* anyns-health configuration; see hconf.h and bgp-hook/README.md. */
#include "hconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "errors.h"
#include "log.h"
#include "peercred.h"
#include "probe.h"

/* Strings the config owns beyond the cfg tree (normalized names and RDATA). */
typedef struct hconf_priv {
	hconf_t pub;
	char **owned;
	size_t nowned, capowned;
} hconf_priv_t;

static char *own(hconf_priv_t *p, char *s)
{
	if (!s)
		return NULL;
	if (p->nowned == p->capowned) {
		size_t n = p->capowned ? p->capowned * 2 : 16;
		char **v = realloc(p->owned, n * sizeof(*v));
		if (!v) {
			free(s);
			return NULL;
		}
		p->owned = v;
		p->capowned = n;
	}
	p->owned[p->nowned++] = s;
	return s;
}

int hconf_parse_addr(const char *s, uint16_t defport, struct sockaddr_storage *ss,
                     socklen_t *len)
{
	return addr_parse(s, defport, ss, len, NULL, 0);
}

int hconf_parse_community(const char *s, uint32_t *out)
{
	char *e1, *e2;
	if (!s || !isdigit((unsigned char)*s))
		return ANYNS_EINVAL;
	unsigned long a = strtoul(s, &e1, 10);
	if (*e1 != ':' || !isdigit((unsigned char)e1[1]))
		return ANYNS_EINVAL;
	unsigned long b = strtoul(e1 + 1, &e2, 10);
	if (*e2 || a > 65535 || b > 65535)
		return ANYNS_EINVAL;
	*out = (uint32_t)(a << 16 | b);
	return 0;
}

int hconf_parse_large_community(const char *s, uint32_t out[3])
{
	const char *p = s;
	for (int i = 0; i < 3; i++) {
		char *e;
		if (!p || !isdigit((unsigned char)*p))
			return ANYNS_EINVAL;
		errno = 0;
		unsigned long long v = strtoull(p, &e, 10);
		if (errno || v > 4294967295ULL || *e != (i < 2 ? ':' : '\0'))
			return ANYNS_EINVAL;
		out[i] = (uint32_t)v;
		p = e + 1;
	}
	return 0;
}

int hconf_parse_prefix(const char *s)
{
	char host[64];
	const char *sl = s ? strchr(s, '/') : NULL;
	if (!sl || (size_t)(sl - s) >= sizeof(host))
		return ANYNS_EINVAL;
	memcpy(host, s, (size_t)(sl - s));
	host[sl - s] = '\0';
	char *end;
	long len = strtol(sl + 1, &end, 10);
	if (end == sl + 1 || *end)
		return ANYNS_EINVAL;
	uint8_t buf[16];
	if (inet_pton(AF_INET, host, buf) == 1)
		return len >= 0 && len <= 32 ? 4 : ANYNS_EINVAL;
	if (inet_pton(AF_INET6, host, buf) == 1)
		return len >= 0 && len <= 128 ? 6 : ANYNS_EINVAL;
	return ANYNS_EINVAL;
}

/* ---- reading ------------------------------------------------------------ */

#define P(...) (snprintf(path, sizeof(path), __VA_ARGS__), path)

/* key: one community or a list of them; standard ("ASN:VALUE") or, with
 * large, RFC 8092 ones ("GA:LD1:LD2"). */
static int read_comms_kind(cfg_t *cfg, cfg_node_t *map, const char *key, const char *base,
                           hattrs_t *a, bool large)
{
	char path[160];
	cfg_node_t *n = cfg_get(map, key);
	if (!n)
		return 0;
	size_t *cnt = large ? &a->nlcomm : &a->ncomm;
	*cnt = 0;
	cfg_node_t *e = n;
	if (n->kind != CFG_SCALAR) {
		if (cfg_expect(cfg, n, CFG_SEQ, P("%s.%s", base, key)) < 0)
			return -1;
		e = n->child;
	}
	for (size_t i = 0; e; e = n->kind == CFG_SCALAR ? NULL : e->next, i++) {
		if (n->kind == CFG_SCALAR)
			P("%s.%s", base, key);
		else
			P("%s.%s[%zu]", base, key, i);
		if (cfg_expect(cfg, e, CFG_SCALAR, path) < 0)
			return -1;
		if (*cnt == HATTR_MAXCOMM)
			return cfg_error(cfg, e, "%s: at most %d %scommunities", path, HATTR_MAXCOMM,
			                 large ? "large " : "");
		int rc = large ? hconf_parse_large_community(e->value, a->lcomm[*cnt])
		               : hconf_parse_community(e->value, &a->comm[*cnt]);
		if (rc < 0)
			return cfg_error(cfg, e, "%s: '%s' is not a %s", path, e->value,
			                 large ? "large community (GA:LD1:LD2, each 0..4294967295)"
			                       : "community (ASN:VALUE)");
		(*cnt)++;
	}
	return 0;
}

static int read_comms(cfg_t *cfg, cfg_node_t *map, const char *key, const char *base,
                      hattrs_t *a)
{
	return read_comms_kind(cfg, map, key, base, a, false);
}

static int read_lcomms(cfg_t *cfg, cfg_node_t *map, const char *key, const char *base,
                       hattrs_t *a)
{
	return read_comms_kind(cfg, map, key, base, a, true);
}

/* degraded: / draining: { prepend, med, community, large-community } */
static int read_attrs(cfg_t *cfg, cfg_node_t *d, const char *base, const char *key, hattrs_t *a)
{
	char path[160], db[100];
	long long v;
	if (!d)
		return 0;
	snprintf(db, sizeof(db), "%s.%s", base, key);
	if (cfg_expect(cfg, d, CFG_MAP, db) < 0)
		return -1;
	v = a->prepend;
	if (cfg_int(cfg, d, "prepend", P("%s.prepend", db), 0, 32, &v) < 0)
		return -1;
	a->prepend = (unsigned)v;
	if (cfg_get(d, "med")) {
		v = 0;
		if (cfg_int(cfg, d, "med", P("%s.med", db), 0, 4294967295LL, &v) < 0)
			return -1;
		a->has_med = true;
		a->med = (uint32_t)v;
	}
	if (read_comms(cfg, d, "community", db, a) < 0 ||
	    read_lcomms(cfg, d, "large-community", db, a) < 0)
		return -1;
	return 0;
}

/* Keys a service may take from `defaults:` or set itself. */
static int read_svc_common(cfg_t *cfg, cfg_node_t *map, const char *base, hservice_conf_t *s)
{
	char path[160];
	long long v;
	if (!map)
		return 0;
	if (cfg_expect(cfg, map, CFG_MAP, base) < 0)
		return -1;
	if (cfg_duration_ms(cfg, map, "interval", P("%s.interval", base), &s->interval_ms) < 0 ||
	    cfg_duration_ms(cfg, map, "fast-interval", P("%s.fast-interval", base), &s->fast_ms) < 0 ||
	    cfg_duration_ms(cfg, map, "timeout", P("%s.timeout", base), &s->timeout_ms) < 0 ||
	    cfg_duration_ms(cfg, map, "drain-time", P("%s.drain-time", base), &s->sm.drain_ms) < 0)
		return -1;
	v = s->sm.rise;
	if (cfg_int(cfg, map, "rise", P("%s.rise", base), 1, 1000, &v) < 0)
		return -1;
	s->sm.rise = (unsigned)v;
	v = s->sm.fall;
	if (cfg_int(cfg, map, "fall", P("%s.fall", base), 1, 1000, &v) < 0)
		return -1;
	s->sm.fall = (unsigned)v;
	v = s->sm.restart_rise;
	if (cfg_int(cfg, map, "restart-rise", P("%s.restart-rise", base), 1, 1000, &v) < 0)
		return -1;
	s->sm.restart_rise = (unsigned)v;
	if (cfg_str(cfg, map, "maintenance-file", P("%s.maintenance-file", base), &s->maint_file) < 0)
		return -1;
	if (s->maint_file && s->maint_file[0] != '/')
		return cfg_error(cfg, cfg_get(map, "maintenance-file"),
		                 "%s.maintenance-file: '%s' is not an absolute path", base, s->maint_file);
	if (read_comms(cfg, map, "communities", base, &s->base) < 0 ||
	    read_lcomms(cfg, map, "large-communities", base, &s->base) < 0)
		return -1;
	if (read_attrs(cfg, cfg_get(map, "degraded"), base, "degraded", &s->degraded) < 0 ||
	    read_attrs(cfg, cfg_get(map, "draining"), base, "draining", &s->draining) < 0)
		return -1;
	cfg_node_t *f = cfg_get(map, "flap");
	if (f) {
		char fb[100];
		snprintf(fb, sizeof(fb), "%s.flap", base);
		if (cfg_expect(cfg, f, CFG_MAP, fb) < 0)
			return -1;
		hsm_flap_t *fl = &s->sm.flap;
		long long pen = (long long)fl->penalty, sup = (long long)fl->suppress,
		          reu = (long long)fl->reuse, max = (long long)fl->max;
		if (cfg_int(cfg, f, "penalty", P("%s.penalty", fb), 0, 1000000, &pen) < 0 ||
		    cfg_int(cfg, f, "suppress", P("%s.suppress", fb), 0, 1000000, &sup) < 0 ||
		    cfg_int(cfg, f, "reuse", P("%s.reuse", fb), 0, 1000000, &reu) < 0 ||
		    cfg_int(cfg, f, "max", P("%s.max", fb), 0, 1000000, &max) < 0 ||
		    cfg_duration_ms(cfg, f, "half-life", P("%s.half-life", fb), &fl->half_life_ms) < 0)
			return -1;
		fl->penalty = (double)pen;
		fl->suppress = (double)sup;
		fl->reuse = (double)reu;
		fl->max = (double)max;
		if (reu > sup)
			return cfg_error(cfg, f, "%s.reuse: must not be above suppress", fb);
	}
	return 0;
}

/* type: exec, command: "shell text" or [argv...], timeout, latency. */
static int read_exec_check(hconf_priv_t *p, cfg_node_t *m, const char *base,
                           const hservice_conf_t *s, hcheck_conf_t *c)
{
	cfg_t *cfg = p->pub.cfg;
	char path[160];
	c->kind = HCHECK_EXEC;
	c->server_text = "exec";
	cfg_node_t *n = cfg_get(m, "command");
	if (!n)
		return cfg_error(cfg, m, "%s.command: missing (a command line or a list of arguments)",
		                 base);
	size_t cnt = 0;
	if (n->kind == CFG_SCALAR)
		cnt = 3;
	else if (cfg_expect(cfg, n, CFG_SEQ, P("%s.command", base)) < 0)
		return -1;
	else
		for (cfg_node_t *e = n->child; e; e = e->next)
			cnt++;
	if (cnt == 0 || cnt > 64)
		return cfg_error(cfg, n, "%s.command: 1 to 64 arguments", base);
	c->argv = calloc(cnt + 1, sizeof(char *));
	if (!c->argv)
		return cfg_error(cfg, n, "out of memory");
	own(p, (char *)c->argv);
	if (n->kind == CFG_SCALAR) {
		if (!*n->value)
			return cfg_error(cfg, n, "%s.command: empty", base);
		c->argv[0] = (char *)"/bin/sh";
		c->argv[1] = (char *)"-c";
		c->argv[2] = (char *)n->value;
	} else {
		size_t i = 0;
		for (cfg_node_t *e = n->child; e; e = e->next, i++) {
			if (cfg_expect(cfg, e, CFG_SCALAR, P("%s.command[%zu]", base, i)) < 0)
				return -1;
			c->argv[i] = (char *)e->value;
		}
		if (c->argv[0][0] != '/')
			return cfg_error(cfg, n->child, "%s.command[0]: '%s' is not an absolute path",
			                 base, c->argv[0]);
	}
	if (cfg_duration_ms(cfg, m, "latency", P("%s.latency", base), &c->latency_ms) < 0)
		return -1;
	c->timeout_ms = s->timeout_ms;
	if (cfg_duration_ms(cfg, m, "timeout", P("%s.timeout", base), &c->timeout_ms) < 0)
		return -1;
	if (c->timeout_ms == 0)
		return cfg_error(cfg, cfg_get(m, "timeout"), "%s.timeout: must be > 0", base);
	return 0;
}

static int read_check(hconf_priv_t *p, cfg_node_t *m, const char *base, size_t idx,
                      const hservice_conf_t *s, hcheck_conf_t *c)
{
	cfg_t *cfg = p->pub.cfg;
	char path[160];
	const char *str;
	long long v;

	if (cfg_expect(cfg, m, CFG_MAP, base) < 0)
		return -1;
	char nm[32];
	snprintf(nm, sizeof(nm), "check%zu", idx);
	c->name = own(p, strdup(nm));
	if (cfg_str(cfg, m, "name", P("%s.name", base), &c->name) < 0)
		return -1;
	str = "dns";
	if (cfg_str(cfg, m, "type", P("%s.type", base), &str) < 0)
		return -1;
	if (!strcmp(str, "exec"))
		return read_exec_check(p, m, base, s, c);
	if (strcmp(str, "dns") != 0)
		return cfg_error(cfg, cfg_get(m, "type"), "%s.type: '%s' is not dns or exec", base, str);

	cfg_node_t *n = cfg_get(m, "server");
	if (!n) {
		/* Default: the service address itself, port 53, as a client asks. */
		char host[64];
		const char *sl = strchr(s->prefix, '/');
		size_t hl = sl ? (size_t)(sl - s->prefix) : 0;
		bool hostpfx = sl && ((s->family == 4 && !strcmp(sl, "/32")) ||
		                      (s->family == 6 && !strcmp(sl, "/128")));
		if (!hostpfx || hl >= sizeof(host))
			return cfg_error(cfg, m, "%s.server: missing (address[:port]; only a /32 or "
			                 "/128 service prefix gives a default)", base);
		memcpy(host, s->prefix, hl);
		host[hl] = '\0';
		if (hconf_parse_addr(host, 53, &c->addr, &c->addrlen) < 0)
			return cfg_error(cfg, m, "%s.server: missing", base);
		c->server_text = own(p, strdup(host));
	} else {
		if (cfg_expect(cfg, n, CFG_SCALAR, P("%s.server", base)) < 0)
			return -1;
		if (hconf_parse_addr(n->value, 53, &c->addr, &c->addrlen) < 0)
			return cfg_error(cfg, n, "%s.server: '%s' is not an address[:port]", base,
			                 n->value);
		c->server_text = n->value;
	}

	str = "udp";
	if (cfg_str(cfg, m, "transport", P("%s.transport", base), &str) < 0)
		return -1;
	if (!strcasecmp(str, "udp"))
		c->transport = HCHECK_UDP;
	else if (!strcasecmp(str, "tcp"))
		c->transport = HCHECK_TCP;
	else
		return cfg_error(cfg, cfg_get(m, "transport"), "%s.transport: '%s' is not udp or tcp",
		                 base, str);

	n = cfg_get(m, "qname");
	if (!n)
		return cfg_error(cfg, m, "%s.qname: missing", base);
	if (cfg_expect(cfg, n, CFG_SCALAR, P("%s.qname", base)) < 0)
		return -1;
	size_t ql = strlen(n->value);
	char *qn = malloc(ql + 2);
	if (!qn)
		return cfg_error(cfg, n, "out of memory");
	memcpy(qn, n->value, ql + 1);
	if (ql == 0 || qn[ql - 1] != '.')
		strcat(qn, ".");
	c->qname = own(p, qn);
	ldns_rdf *rd = ldns_dname_new_frm_str(c->qname);
	if (!rd)
		return cfg_error(cfg, n, "%s.qname: '%s' is not a domain name", base, n->value);
	ldns_rdf_deep_free(rd);

	str = "SOA";
	if (cfg_str(cfg, m, "qtype", P("%s.qtype", base), &str) < 0)
		return -1;
	c->qtype = ldns_get_rr_type_by_name(str);
	if (c->qtype == 0)
		return cfg_error(cfg, cfg_get(m, "qtype"), "%s.qtype: unknown type '%s'", base, str);
	str = "IN";
	if (cfg_str(cfg, m, "qclass", P("%s.qclass", base), &str) < 0)
		return -1;
	c->qclass = ldns_get_rr_class_by_name(str);
	if (c->qclass == 0)
		return cfg_error(cfg, cfg_get(m, "qclass"), "%s.qclass: unknown class '%s'", base, str);
	str = "NOERROR";
	if (cfg_str(cfg, m, "rcode", P("%s.rcode", base), &str) < 0)
		return -1;
	ldns_lookup_table *lt = ldns_lookup_by_name(ldns_rcodes, str);
	if (!lt)
		return cfg_error(cfg, cfg_get(m, "rcode"), "%s.rcode: unknown rcode '%s'", base, str);
	c->rcode = (uint8_t)lt->id;
	c->aa = true;
	if (cfg_bool(cfg, m, "aa", P("%s.aa", base), &c->aa) < 0)
		return -1;

	n = cfg_get(m, "rdata");
	if (n) {
		size_t cnt = 0;
		if (n->kind == CFG_SCALAR)
			cnt = 1;
		else if (cfg_expect(cfg, n, CFG_SEQ, P("%s.rdata", base)) < 0)
			return -1;
		else
			for (cfg_node_t *e = n->child; e; e = e->next)
				cnt++;
		c->rdata = calloc(cnt ? cnt : 1, sizeof(char *));
		if (!c->rdata)
			return cfg_error(cfg, n, "out of memory");
		own(p, (char *)c->rdata);
		c->has_rdata = true;
		cfg_node_t *e = n->kind == CFG_SCALAR ? n : n->child;
		for (size_t i = 0; e && i < cnt; e = e->next, i++) {
			P("%s.rdata[%zu]", base, i);
			if (cfg_expect(cfg, e, CFG_SCALAR, path) < 0)
				return -1;
			char *norm = probe_rdata_norm(c->qtype, c->qclass, e->value);
			if (!norm)
				return cfg_error(cfg, e, "%s: '%s' is not valid %s rdata", path, e->value,
				                 str);
			c->rdata[c->nrdata++] = own(p, norm);
		}
		/* Same order as probe_eval() builds the answer's set. */
		for (size_t i = 1; i < c->nrdata; i++)
			for (size_t j = i; j > 0 && strcmp(c->rdata[j - 1], c->rdata[j]) > 0; j--) {
				char *t = c->rdata[j];
				c->rdata[j] = c->rdata[j - 1];
				c->rdata[j - 1] = t;
			}
		size_t o = c->nrdata ? 1 : 0;
		for (size_t i = 1; i < c->nrdata; i++)
			if (strcmp(c->rdata[i], c->rdata[o - 1]) != 0)
				c->rdata[o++] = c->rdata[i];
		c->nrdata = o;
	}

	if (cfg_get(m, "serial-min")) {
		v = 0;
		if (cfg_int(cfg, m, "serial-min", P("%s.serial-min", base), 0, 4294967295LL, &v) < 0)
			return -1;
		c->has_serial_min = true;
		c->serial_min = (uint32_t)v;
	}
	n = cfg_get(m, "serial-primary");
	if (n) {
		if (cfg_expect(cfg, n, CFG_SCALAR, P("%s.serial-primary", base)) < 0)
			return -1;
		if (hconf_parse_addr(n->value, 53, &c->primary, &c->primary_len) < 0)
			return cfg_error(cfg, n, "%s.serial-primary: '%s' is not an address[:port]", base,
			                 n->value);
		c->has_primary = true;
	}
	str = "degrade";
	if (cfg_str(cfg, m, "serial-lag", P("%s.serial-lag", base), &str) < 0)
		return -1;
	if (!strcmp(str, "degrade"))
		c->lag = HCHECK_LAG_DEGRADE;
	else if (!strcmp(str, "fail"))
		c->lag = HCHECK_LAG_FAIL;
	else
		return cfg_error(cfg, cfg_get(m, "serial-lag"),
		                 "%s.serial-lag: '%s' is not degrade or fail", base, str);
	if ((c->has_serial_min || c->has_primary) && c->qtype != LDNS_RR_TYPE_SOA)
		return cfg_error(cfg, m, "%s: serial-min/serial-primary need qtype SOA", base);
	if (cfg_duration_ms(cfg, m, "latency", P("%s.latency", base), &c->latency_ms) < 0)
		return -1;
	c->timeout_ms = s->timeout_ms;
	if (cfg_duration_ms(cfg, m, "timeout", P("%s.timeout", base), &c->timeout_ms) < 0)
		return -1;
	if (c->timeout_ms == 0)
		return cfg_error(cfg, cfg_get(m, "timeout"), "%s.timeout: must be > 0", base);
	return 0;
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) > 48)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* backend.<key>: a list of at most 8 extra command line arguments. */
static int read_args(cfg_t *cfg, cfg_node_t *b, const char *key, const char **out, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "backend.%s", key);
	cfg_node_t *a = cfg_get(b, key);
	if (!a)
		return 0;
	if (cfg_expect(cfg, a, CFG_SEQ, path) < 0)
		return -1;
	for (cfg_node_t *e = a->child; e; e = e->next) {
		if (cfg_expect(cfg, e, CFG_SCALAR, path) < 0)
			return -1;
		if (*n == 8)
			return cfg_error(cfg, e, "%s: at most 8 arguments", path);
		out[(*n)++] = e->value;
	}
	return 0;
}

static int read_backend(hconf_priv_t *p, cfg_node_t *b)
{
	cfg_t *cfg = p->pub.cfg;
	hbk_conf_t *k = &p->pub.bk;
	long long v;
	const char *t = NULL;

	k->next_hop = "self";
	k->ack = true;
	k->ack_timeout_ms = 2000;
	k->socket = "/run/bird/bird.ctl";
	k->guard_if = "";
	k->proto_prefix = "anyns_";
	k->verify_proto = "";
	k->gobgp = "/usr/bin/gobgp";
	k->vtysh = "/usr/bin/vtysh";
	k->rm_normal = k->rm_degraded = k->rm_drain = "";
	k->cmd_timeout_ms = 5000;

	if (!b)
		return cfg_error(cfg, p->pub.cfg->root, "backend: missing (backend.type: exabgp|bird|gobgp|frr|exec)");
	if (cfg_expect(cfg, b, CFG_MAP, "backend") < 0 ||
	    cfg_str(cfg, b, "type", "backend.type", &t) < 0)
		return -1;
	if (!t)
		return cfg_error(cfg, b, "backend.type: missing (exabgp|bird|gobgp|frr|exec)");
	if (!strcmp(t, "exabgp"))
		k->type = HBK_EXABGP;
	else if (!strcmp(t, "bird"))
		k->type = HBK_BIRD;
	else if (!strcmp(t, "gobgp"))
		k->type = HBK_GOBGP;
	else if (!strcmp(t, "frr"))
		k->type = HBK_FRR;
	else if (!strcmp(t, "exec"))
		k->type = HBK_EXEC;
	else
		return cfg_error(cfg, cfg_get(b, "type"),
		                 "backend.type: '%s' is not exabgp, bird, gobgp, frr or exec", t);
	v = 0;
	if (cfg_int(cfg, b, "asn", "backend.asn", 0, 4294967295LL, &v) < 0)
		return -1;
	k->asn = (uint32_t)v;

	/* Only the keys of the chosen type are read, so that a key meant for
	 * another backend is reported as unknown. */
	switch (k->type) {
	case HBK_EXABGP:
		if (cfg_str(cfg, b, "next-hop", "backend.next-hop", &k->next_hop) < 0 ||
		    cfg_bool(cfg, b, "ack", "backend.ack", &k->ack) < 0 ||
		    cfg_duration_ms(cfg, b, "ack-timeout", "backend.ack-timeout", &k->ack_timeout_ms) < 0)
			return -1;
		break;
	case HBK_BIRD:
		if (cfg_str(cfg, b, "socket", "backend.socket", &k->socket) < 0 ||
		    cfg_str(cfg, b, "include", "backend.include", &k->include) < 0 ||
		    cfg_str(cfg, b, "guard-interface", "backend.guard-interface", &k->guard_if) < 0 ||
		    cfg_str(cfg, b, "protocol-prefix", "backend.protocol-prefix", &k->proto_prefix) < 0 ||
		    cfg_str(cfg, b, "verify-protocol", "backend.verify-protocol", &k->verify_proto) < 0)
			return -1;
		if (!k->include)
			return cfg_error(cfg, b, "backend.include: missing (file bird.conf includes)");
		if (strlen(k->guard_if) >= 16)
			return cfg_error(cfg, cfg_get(b, "guard-interface"),
			                 "backend.guard-interface: longer than 15 characters");
		break;
	case HBK_GOBGP: {
		if (cfg_str(cfg, b, "gobgp", "backend.gobgp", &k->gobgp) < 0 ||
		    cfg_duration_ms(cfg, b, "command-timeout", "backend.command-timeout",
		                    &k->cmd_timeout_ms) < 0)
			return -1;
		if (read_args(cfg, b, "gobgp-args", k->gobgp_args, &k->ngobgp_args) < 0)
			return -1;
		break;
	}
	case HBK_FRR:
		if (cfg_str(cfg, b, "vtysh", "backend.vtysh", &k->vtysh) < 0 ||
		    cfg_str(cfg, b, "route-map", "backend.route-map", &k->rm_normal) < 0 ||
		    cfg_str(cfg, b, "route-map-degraded", "backend.route-map-degraded", &k->rm_degraded) < 0 ||
		    cfg_str(cfg, b, "route-map-drain", "backend.route-map-drain", &k->rm_drain) < 0 ||
		    cfg_duration_ms(cfg, b, "command-timeout", "backend.command-timeout",
		                    &k->cmd_timeout_ms) < 0)
			return -1;
		if (read_args(cfg, b, "vtysh-args", k->vtysh_args, &k->nvtysh_args) < 0)
			return -1;
		if (k->asn == 0)
			return cfg_error(cfg, b, "backend.asn: missing (FRR needs 'router bgp ASN')");
		break;
	case HBK_EXEC:
		if (cfg_str(cfg, b, "command", "backend.command", &k->command) < 0 ||
		    cfg_duration_ms(cfg, b, "command-timeout", "backend.command-timeout",
		                    &k->cmd_timeout_ms) < 0)
			return -1;
		if (!k->command)
			return cfg_error(cfg, b, "backend.command: missing");
		break;
	}
	return 0;
}

/* The watchdog must not fire on a hook that is only waiting: for a round (its
 * interval plus its slowest check) or for one backend command. */
static int check_watchdog(hconf_t *c)
{
	cfg_node_t *n = cfg_get(c->cfg->root, "watchdog");
	uint64_t need = 0;
	const char *what = "";
	for (size_t i = 0; i < c->nsvc; i++) {
		uint64_t t = 0;
		for (size_t j = 0; j < c->svc[i].nchecks; j++)
			if (c->svc[i].checks[j].timeout_ms > t)
				t = c->svc[i].checks[j].timeout_ms;
		if (c->svc[i].interval_ms + t > need) {
			need = c->svc[i].interval_ms + t;
			what = "interval plus check timeout";
		}
	}
	uint64_t cmd = c->bk.type == HBK_EXABGP ? c->bk.ack_timeout_ms
	             : c->bk.type == HBK_BIRD ? 0 : c->bk.cmd_timeout_ms;
	if (cmd > need) {
		need = cmd;
		what = c->bk.type == HBK_EXABGP ? "backend.ack-timeout" : "backend.command-timeout";
	}
	if (c->watchdog_ms <= need)
		return cfg_error(c->cfg, n ? n : c->cfg->root,
		                 "watchdog: %llu ms is not above the %s (%llu ms); raise it or set 0",
		                 (unsigned long long)c->watchdog_ms, what, (unsigned long long)need);
	return 0;
}

int hconf_load(const char *path_, hconf_t **out, char *err, size_t errlen)
{
	char path[160];
	hconf_priv_t *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	hconf_t *c = &p->pub;
	c->log_level = -1;
	c->ctl_path = HCONF_DEFAULT_CTL;
	c->cfg = cfg_load(path_, err, errlen);
	if (!c->cfg)
		goto fail_noerr;
	cfg_t *cfg = c->cfg;
	cfg_node_t *root = cfg->root;
	const char *s = NULL;

	if (cfg_str(cfg, root, "log-level", "log-level", &s) < 0)
		goto fail;
	if (s && (c->log_level = log_level_parse(s)) < 0) {
		cfg_error(cfg, cfg_get(root, "log-level"),
		          "log-level: '%s' is not error, warning, info or debug", s);
		goto fail;
	}
	if (cfg_str(cfg, root, "log", "log", &c->log_target) < 0)
		goto fail;
	if (c->log_target && strcmp(c->log_target, "stderr") != 0 &&
	    strcmp(c->log_target, "syslog") != 0 &&
	    (strncmp(c->log_target, "syslog:/", 8) != 0 || c->log_target[8] == '\0')) {
		cfg_error(cfg, cfg_get(root, "log"), "log: '%s' is not stderr, syslog or syslog:/PATH",
		          c->log_target);
		goto fail;
	}
	if (cfg_str(cfg, root, "control-socket", "control-socket", &c->ctl_path) < 0 ||
	    cfg_str(cfg, root, "control-group", "control-group", &c->ctl_group) < 0 ||
	    cfg_str(cfg, root, "metrics", "metrics", &c->metrics) < 0)
		goto fail;
	if (c->ctl_group && peercred_group(c->ctl_group, &c->ctl_gid) != 0) {
		cfg_error(cfg, cfg_get(root, "control-group"), "control-group: no group '%s'",
		          c->ctl_group);
		goto fail;
	}
	if (c->metrics) {
		socklen_t l;
		if (hconf_parse_addr(c->metrics, 0, &c->metrics_addr, &l) < 0) {
			cfg_error(cfg, cfg_get(root, "metrics"),
			          "metrics: '%s' is not address:port", c->metrics);
			goto fail;
		}
	}
	if (read_backend(p, cfg_get(root, "backend")) < 0)
		goto fail;
	c->watchdog_ms = 10000;
	if (cfg_duration_ms(cfg, root, "watchdog", "watchdog", &c->watchdog_ms) < 0)
		goto fail;
	c->state_file = NULL;
	if (cfg_str(cfg, root, "state-file", "state-file", &c->state_file) < 0)
		goto fail;
	if (!c->state_file) {
		/* Beside the control socket: one per hook, on /run (a reboot
		 * forgets it; a maintenance-file keeps a drain across reboots). */
		size_t l = strlen(c->ctl_path);
		char *sf = malloc(l + 8);
		if (!sf) {
			cfg_error(cfg, NULL, "out of memory");
			goto fail;
		}
		memcpy(sf, c->ctl_path, l + 1);
		if (l > 5 && !strcmp(sf + l - 5, ".sock"))
			sf[l - 5] = '\0';
		strcat(sf, ".state");
		c->state_file = own(p, sf);
	}

	hservice_conf_t dflt;
	memset(&dflt, 0, sizeof(dflt));
	dflt.interval_ms = 1000;
	dflt.fast_ms = 200;
	dflt.timeout_ms = 500;
	hsm_conf_default(&dflt.sm);
	dflt.degraded.prepend = 3;
	if (read_svc_common(cfg, cfg_get(root, "defaults"), "defaults", &dflt) < 0)
		goto fail;

	cfg_node_t *sv = cfg_get(root, "services");
	if (!sv) {
		cfg_error(cfg, NULL, "services: missing (a list of service prefixes)");
		goto fail;
	}
	if (cfg_expect(cfg, sv, CFG_SEQ, "services") < 0)
		goto fail;
	for (cfg_node_t *e = sv->child; e; e = e->next)
		c->nsvc++;
	if (c->nsvc == 0) {
		cfg_error(cfg, sv, "services: empty");
		goto fail;
	}
	c->svc = calloc(c->nsvc, sizeof(*c->svc));
	c->groups = calloc(c->nsvc, sizeof(*c->groups));
	if (!c->svc || !c->groups) {
		cfg_error(cfg, sv, "out of memory");
		goto fail;
	}
	size_t i = 0;
	for (cfg_node_t *e = sv->child; e; e = e->next, i++) {
		hservice_conf_t *s1 = &c->svc[i];
		char base[64];
		snprintf(base, sizeof(base), "services[%zu]", i);
		*s1 = dflt;
		s1->checks = NULL;
		if (cfg_expect(cfg, e, CFG_MAP, base) < 0)
			goto fail;
		cfg_node_t *n = cfg_get(e, "name");
		if (!n || n->kind != CFG_SCALAR || !name_ok(n->value)) {
			cfg_error(cfg, n ? n : e, "%s.name: %s", base,
			          n ? "must be letters, digits, '-' or '_' (at most 48)" : "missing");
			goto fail;
		}
		s1->name = n->value;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->svc[j].name, s1->name)) {
				cfg_error(cfg, n, "%s.name: '%s' used twice", base, s1->name);
				goto fail;
			}
		n = cfg_get(e, "prefix");
		if (!n || n->kind != CFG_SCALAR || (s1->family = hconf_parse_prefix(n->value)) < 0) {
			cfg_error(cfg, n ? n : e, "%s.prefix: %s", base,
			          n ? "not an address/length" : "missing");
			goto fail;
		}
		s1->prefix = n->value;
		/* One anynsd serves every address of the hook by default: one group. */
		s1->group = "default";
		n = cfg_get(e, "group");
		if (n && (n->kind != CFG_SCALAR || !name_ok(n->value))) {
			cfg_error(cfg, n, "%s.group: must be letters, digits, '-' or '_' (at most 48)",
			          base);
			goto fail;
		}
		if (n)
			s1->group = n->value;
		for (s1->group_idx = 0; s1->group_idx < c->ngroups; s1->group_idx++)
			if (!strcmp(c->groups[s1->group_idx], s1->group))
				break;
		if (s1->group_idx == c->ngroups)
			c->groups[c->ngroups++] = s1->group;
		if (read_svc_common(cfg, e, base, s1) < 0)
			goto fail;
		if (s1->interval_ms == 0 || s1->fast_ms == 0 || s1->timeout_ms == 0) {
			cfg_error(cfg, e, "%s: interval, fast-interval and timeout must be > 0", base);
			goto fail;
		}
		if (s1->degraded.prepend && c->bk.asn == 0) {
			cfg_error(cfg, e, "%s.degraded.prepend: needs backend.asn (set prepend: 0 or the AS)",
			          base);
			goto fail;
		}
		if (s1->draining.prepend && c->bk.asn == 0) {
			cfg_error(cfg, e, "%s.draining.prepend: needs backend.asn", base);
			goto fail;
		}
		cfg_node_t *ch = cfg_get(e, "checks");
		if (!ch) {
			cfg_error(cfg, e, "%s.checks: missing", base);
			goto fail;
		}
		if (cfg_expect(cfg, ch, CFG_SEQ, P("%s.checks", base)) < 0)
			goto fail;
		for (cfg_node_t *x = ch->child; x; x = x->next)
			s1->nchecks++;
		if (s1->nchecks == 0) {
			cfg_error(cfg, ch, "%s.checks: empty", base);
			goto fail;
		}
		s1->checks = calloc(s1->nchecks, sizeof(*s1->checks));
		if (!s1->checks) {
			cfg_error(cfg, ch, "out of memory");
			goto fail;
		}
		size_t j = 0;
		for (cfg_node_t *x = ch->child; x; x = x->next, j++) {
			char cb[96];
			snprintf(cb, sizeof(cb), "%s.checks[%zu]", base, j);
			if (read_check(p, x, cb, j, s1, &s1->checks[j]) < 0)
				goto fail;
		}
	}
	if (c->watchdog_ms && check_watchdog(c) < 0)
		goto fail;
	if (cfg_check_unused(cfg) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	snprintf(err, errlen, "%s", cfg->err);
fail_noerr:
	hconf_free(c);
	return -1;
}

void hconf_free(hconf_t *c)
{
	if (!c)
		return;
	hconf_priv_t *p = (hconf_priv_t *)c;
	for (size_t i = 0; i < c->nsvc; i++)
		free(c->svc[i].checks);
	free(c->svc);
	free(c->groups);
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	cfg_free(c->cfg);
	free(p);
}
