/* The zone transfer part of the option table: keys:, remotes: and, per
 * zone, primaries:, notify:, allow-transfer: (the rows themselves are in
 * conf.c's tables). Remote ids are resolved once the whole file and the
 * flags are read (dconf_resolve_xfr()), so the order of the sections in
 * the file does not matter. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "conf.h"

/* ---- keys ------------------------------------------------------------------ */

static const char *const tsig_algs[] = { "hmac-sha1", "hmac-sha256", "hmac-sha384",
                                         "hmac-sha512", NULL };

const opt_t dconf_key_opts[] = {
	{ .key = "id", .type = OPT_STR, .flags = OPT_REQUIRED, OPT_AT(dconf_key_t, id),
	  .help = "the key's name, as it goes on the wire (the same on both ends)" },
	{ .key = "algorithm", .type = OPT_ENUM, OPT_AT(dconf_key_t, alg), .choices = tsig_algs,
	  .def = "hmac-sha256", .help = "the HMAC" },
	{ .key = "secret", .type = OPT_STR, OPT_AT(dconf_key_t, secret),
	  .help = "the shared secret in base64 (or secret-file)" },
	{ .key = "secret-file", .type = OPT_STR, OPT_AT(dconf_key_t, secret_file),
	  .help = "file holding the base64 secret" },
	{ 0 },
};

int dconf_check_key(void *obj, size_t i, char *err, size_t errlen)
{
	dconf_t *c = obj;
	dconf_key_t *k = &c->keys[i];
	char buf[1024];
	const char *secret = k->secret;
	for (size_t j = 0; j < i; j++)
		if (strcmp(c->keys[j].id, k->id) == 0) {
			snprintf(err, errlen, "key %s is already keys[%zu]", k->id, j);
			return -1;
		}
	if ((k->secret == NULL) == (k->secret_file == NULL)) {
		snprintf(err, errlen, "give secret or secret-file (one of them)");
		return -1;
	}
	if (k->secret_file != NULL) {
		FILE *f = fopen(k->secret_file, "r");
		if (f == NULL) {
			snprintf(err, errlen, "secret-file %s: %s", k->secret_file, strerror(errno));
			return -1;
		}
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		secret = buf;
	}
	if (tsig_key_init(&k->key, k->id, tsig_algs[k->alg], secret) != 0) {
		snprintf(err, errlen, "key %s: bad name or secret (want base64)", k->id);
		return -1;
	}
	return 0;
}

/* ---- remotes --------------------------------------------------------------- */

static int opt_remote_addr(void *obj, const char *text, char *err, size_t errlen)
{
	dconf_remote_t *r = obj;
	if (r->n_addr >= DCONF_MAX_REMOTE_ADDRS) {
		snprintf(err, errlen, "at most %d addresses", DCONF_MAX_REMOTE_ADDRS);
		return -1;
	}
	if (dconf_parse_addr(text, 53, &r->addr[r->n_addr], err, errlen) != 0)
		return -1;
	r->n_addr++;
	return 0;
}

static void fmt_remote_addr(const void *obj, char *buf, size_t len)
{
	const dconf_remote_t *r = obj;
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_addr && off < len; i++) {
		int k = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", r->addr[i].text);
		if (k > 0)
			off += (size_t)k;
	}
}

const opt_t dconf_remote_opts[] = {
	{ .key = "id", .type = OPT_STR, .flags = OPT_REQUIRED, OPT_AT(dconf_remote_t, id),
	  .help = "the name zones use for it" },
	{ .key = "address", .type = OPT_CUSTOM, .flags = OPT_MULTI | OPT_REQUIRED,
	  .parse = opt_remote_addr, .format = fmt_remote_addr,
	  .help = "one or more addresses, IP:PORT or [IPv6]:PORT (port 53 by default); as a "
	          "primary they are tried in order; NOTIFY and transfers are accepted from "
	          "them (the port is not compared)" },
	{ .key = "key", .type = OPT_STR, OPT_AT(dconf_remote_t, key_id),
	  .help = "the id of the TSIG key everything to and from this remote is signed with" },
	{ 0 },
};

int dconf_check_remote(void *obj, size_t i, char *err, size_t errlen)
{
	dconf_t *c = obj;
	for (size_t j = 0; j < i; j++)
		if (strcmp(c->remotes[j].id, c->remotes[i].id) == 0) {
			snprintf(err, errlen, "remote %s is already remotes[%zu]", c->remotes[i].id, j);
			return -1;
		}
	c->remotes[i].key = -1;
	return 0;
}

/* ---- remote lists in zones ------------------------------------------------- */

static int rlist_add(dconf_rlist_t *l, const char *text, char *err, size_t errlen)
{
	char **ids = realloc(l->ids, (l->n + 1) * sizeof(*ids));
	int *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (ids != NULL)
		l->ids = ids;
	if (v != NULL)
		l->v = v;
	if (ids == NULL || v == NULL || (ids[l->n] = strdup(text)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v[l->n++] = -1;
	return 0;
}

static void rlist_free(dconf_rlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ids[i]);
	free(l->ids);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void rlist_format(const dconf_rlist_t *l, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l->n && off < len; i++) {
		int k = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", l->ids[i]);
		if (k > 0)
			off += (size_t)k;
	}
}

int dconf_parse_rlist_primaries(void *obj, const char *text, char *err, size_t errlen)
{
	return rlist_add(&((dconf_zone_t *)obj)->primaries, text, err, errlen);
}

int dconf_parse_rlist_notify(void *obj, const char *text, char *err, size_t errlen)
{
	return rlist_add(&((dconf_zone_t *)obj)->notify, text, err, errlen);
}

int dconf_parse_rlist_allow(void *obj, const char *text, char *err, size_t errlen)
{
	return rlist_add(&((dconf_zone_t *)obj)->allow_transfer, text, err, errlen);
}

void dconf_release_rlists(void *obj)
{
	dconf_zone_t *z = obj;
	rlist_free(&z->primaries);
	rlist_free(&z->notify);
	rlist_free(&z->allow_transfer);
}

void dconf_format_primaries(const void *obj, char *buf, size_t len)
{
	rlist_format(&((const dconf_zone_t *)obj)->primaries, buf, len);
}

void dconf_format_notify(const void *obj, char *buf, size_t len)
{
	rlist_format(&((const dconf_zone_t *)obj)->notify, buf, len);
}

void dconf_format_allow(const void *obj, char *buf, size_t len)
{
	rlist_format(&((const dconf_zone_t *)obj)->allow_transfer, buf, len);
}

static int remote_find(const dconf_t *c, const char *id)
{
	for (size_t i = 0; i < c->n_remotes; i++)
		if (strcmp(c->remotes[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int resolve(const dconf_t *c, dconf_rlist_t *l, size_t zi, const char *key, char *err,
                   size_t errlen)
{
	for (size_t i = 0; i < l->n; i++)
		if ((l->v[i] = remote_find(c, l->ids[i])) < 0) {
			snprintf(err, errlen, "zones[%zu].%s: no remote \"%s\" in remotes", zi, key,
			         l->ids[i]);
			return -1;
		}
	return 0;
}

int dconf_resolve_xfr(dconf_t *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_remotes; i++) {
		dconf_remote_t *r = &c->remotes[i];
		r->key = -1;
		if (r->key_id == NULL)
			continue;
		for (size_t k = 0; k < c->n_keys && r->key < 0; k++)
			if (strcmp(c->keys[k].id, r->key_id) == 0)
				r->key = (int)k;
		if (r->key < 0) {
			snprintf(err, errlen, "remotes[%zu].key: no key \"%s\" in keys", i, r->key_id);
			return -1;
		}
	}
	for (size_t i = 0; i < c->n_zones; i++) {
		dconf_zone_t *z = &c->zones[i];
		if (resolve(c, &z->primaries, i, "primaries", err, errlen) != 0 ||
		    resolve(c, &z->notify, i, "notify", err, errlen) != 0 ||
		    resolve(c, &z->allow_transfer, i, "allow-transfer", err, errlen) != 0)
			return -1;
	}
	return 0;
}

const dconf_zone_t *dconf_zone_policy(const dconf_t *c, const dconf_zone_t *zc)
{
	return zc->member && zc->catalog_idx < c->n_zones ? &c->zones[zc->catalog_idx] : zc;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

int dconf_rlist_match(const dconf_t *c, const dconf_rlist_t *list, const struct sockaddr *sa)
{
	for (size_t i = 0; i < list->n; i++) {
		const dconf_remote_t *r = &c->remotes[list->v[i]];
		for (size_t k = 0; k < r->n_addr; k++)
			if (same_ip(&r->addr[k].ss, sa))
				return list->v[i];
	}
	return -1;
}
