/* The defences configured in rrl: and cookies: (the response rate limiter's
 * table, DNS Cookies' secrets), made at start-up and swapped at a reload
 * without a restart: workers read both through RCU-published pointers
 * (d->rrl, d->aconf.cookies) inside their read-side sections, and the old
 * ones are freed once every reader has left. With XDP on, its copy of the
 * rrl settings changes with them. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <urcu.h>

#include "anyns_xdp.h"
#include "daemon.h"
#include "log.h"

/* A rate limiter for conf (rate 0: none), with a random hash key. */
static int defences_rrl_new(const rrl_conf_t *conf, rrl_t **out)
{
	uint8_t seed[16];
	*out = NULL;
	if (conf->rate == 0)
		return 0;
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed) ||
	    rrl_new(conf, seed, out) != 0) {
		log_err("rrl: failed error=\"cannot make the table\" buckets=%zu", conf->table_size);
		return -1;
	}
	return 0;
}

static void defences_rrl_log(const rrl_conf_t *c, const char *event)
{
	if (c->rate == 0) {
		log_info("rrl: %s state=off", event);
		return;
	}
	log_info("rrl: %s rate=%u ipv4-prefix=%u ipv6-prefix=%u slip=%u whitelisted=%zu "
	         "table-size=%zu", event, c->rate, c->v4_prefix, c->v6_prefix, c->slip,
	         c->n_whitelist, c->table_size);
}

/* The cookie secrets of c (random when none is configured: then `keep`,
 * the random secret in use, if any), as a new heap copy; NULL when off. */
static int defences_cookies_new(const dconf_t *c, const cookie_conf_t *keep,
                                cookie_conf_t **out)
{
	*out = NULL;
	if (!c->cookies)
		return 0;
	cookie_conf_t *cc = malloc(sizeof(*cc));
	if (cc == NULL)
		return -1;
	*cc = c->cookie;
	if (!c->cookie_secret_set) {
		if (keep != NULL) {
			memcpy(cc->secret, keep->secret, COOKIE_SECRET_LEN);
		} else if (getrandom(cc->secret, COOKIE_SECRET_LEN, 0) != COOKIE_SECRET_LEN) {
			log_err("cookies: failed error=\"cannot make a random secret\"");
			free(cc);
			return -1;
		}
	}
	*out = cc;
	return 0;
}

static void defences_cookies_log(const dconf_t *c, const char *event)
{
	if (!c->cookies)
		log_info("cookies: %s state=off", event);
	else
		log_info("cookies: %s secret=%s previous-secret=%s", event,
		         c->cookie_secret_set ? "configured" : "random",
		         c->cookie.has_previous ? "accepted" : "none");
}

int defences_start(daemon_t *d)
{
	cookie_conf_t *cc;
	if (defences_cookies_new(&d->conf, NULL, &cc) != 0)
		return -1;
	d->aconf.cookies = cc;
	if (cc != NULL)
		defences_cookies_log(&d->conf, "on");
	if (defences_rrl_new(&d->conf.rrl, &d->rrl) != 0)
		return -1;
	if (d->rrl != NULL)
		defences_rrl_log(&d->conf.rrl, "on");
	return 0;
}

static bool rrl_conf_same(const rrl_conf_t *a, const rrl_conf_t *b)
{
	return a->rate == b->rate && a->slip == b->slip && a->v4_prefix == b->v4_prefix &&
	       a->v6_prefix == b->v6_prefix && a->table_size == b->table_size &&
	       a->n_whitelist == b->n_whitelist &&
	       memcmp(a->whitelist, b->whitelist, a->n_whitelist * sizeof(a->whitelist[0])) == 0;
}

static bool cookies_same(const dconf_t *a, const dconf_t *b)
{
	return a->cookies == b->cookies && a->cookie_secret_set == b->cookie_secret_set &&
	       (!a->cookie_secret_set ||
	        memcmp(a->cookie.secret, b->cookie.secret, COOKIE_SECRET_LEN) == 0) &&
	       a->cookie.has_previous == b->cookie.has_previous &&
	       (!a->cookie.has_previous ||
	        memcmp(a->cookie.previous, b->cookie.previous, COOKIE_SECRET_LEN) == 0);
}

void defences_reload(daemon_t *d, const dconf_t *next)
{
	rrl_t *old_rrl = NULL;
	cookie_conf_t *old_cc = NULL;
	rrl_conf_t want = next->rrl;
	/* The XDP program's bucket map is sized when it is loaded, and
	 * replacing it would mean loading and attaching the program again: with
	 * XDP on, both paths keep the size they started with, so that they
	 * keep limiting alike. */
	if (d->xdp != NULL && want.table_size != d->conf.rrl.table_size) {
		log_warn("rrl: table-size-unchanged table-size=%zu requested=%zu "
		         "reason=\"the XDP program's table is sized at start; restart anynsd to resize\"",
		         d->conf.rrl.table_size, want.table_size);
		want.table_size = d->conf.rrl.table_size;
	}
	bool rrl_changed = !rrl_conf_same(&d->conf.rrl, &want);
	bool cc_changed = !cookies_same(&d->conf, next);
	if (!rrl_changed && !cc_changed)
		return;
	if (rrl_changed) {
		rrl_t *r;
		if (defences_rrl_new(&want, &r) == 0) {
			d->conf.rrl = want;
			old_rrl = rcu_xchg_pointer(&d->rrl, r);
			if (d->xdp != NULL) {
				int rc = anyns_xdp_set_rrl(d->xdp, &d->conf.rrl);
				if (rc != 0)
					log_warn("xdp: rrl-update-failed error=%s",
					         log_q(anyns_strerror(rc)));
			}
			defences_rrl_log(&d->conf.rrl, "reloaded");
		}
	}
	if (cc_changed) {
		cookie_conf_t *cc;
		const cookie_conf_t *cur = d->aconf.cookies;
		if (defences_cookies_new(next, d->conf.cookie_secret_set ? NULL : cur, &cc) == 0) {
			d->conf.cookies = next->cookies;
			d->conf.cookie_secret_set = next->cookie_secret_set;
			d->conf.cookie = next->cookie;
			old_cc = rcu_xchg_pointer((cookie_conf_t **)&d->aconf.cookies, cc);
			defences_cookies_log(&d->conf, "reloaded");
		}
	}
	/* Workers answer inside read-side sections: once these have ended,
	 * nobody holds the old table or secrets. */
	synchronize_rcu();
	rrl_free(old_rrl);
	free(old_cc);
}

void defences_stop(daemon_t *d)
{
	rrl_free(d->rrl);
	d->rrl = NULL;
	free((cookie_conf_t *)d->aconf.cookies);
	d->aconf.cookies = NULL;
}
