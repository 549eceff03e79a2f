/* The zone set's pipeline: build (compile every configured zone beside the
 * set serving), publish with RCU, tell the subscribers (XDP, metrics).
 * Reloads run in the libuv thread pool, one at a time; completions and
 * subscribers run on the main loop.
 *
 * Flavour: urcu-memb. Workers wrap each batch (a recvmmsg round, a TCP read)
 * in rcu_read_lock()/rcu_read_unlock(), which costs a counter store and a
 * compiler barrier, and an idle worker sleeping in epoll holds nothing, so a
 * reload never waits for traffic (with QSBR an idle loop would have to go
 * offline around every poll). The writer pays with membarrier(2). */
#include <ctype.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"

/* A fatal message of the compile running in this thread was noted, and
 * where (for the line that says what became of the zone). */
static __thread bool t_fatal_noted;
static __thread char t_fatal_file[256];
static __thread int t_fatal_line;

const char *zones_lq(const char *origin)
{
	size_t n = origin != NULL ? strlen(origin) : 0;
	char buf[260];
	if (n == 0 || origin[n - 1] == '.' || n + 2 > sizeof(buf))
		return log_q(origin);
	memcpy(buf, origin, n);
	buf[n] = '.';
	return log_qn(buf, n + 1);
}

/* "file=F line=N" for a log line, without line= when there is none. */
static const char *where(char *buf, size_t len, const char *file, int line)
{
	if (line > 0)
		snprintf(buf, len, "file=%s line=%d", log_q(file), line);
	else
		snprintf(buf, len, "file=%s", log_q(file));
	return buf;
}

static void diag_log(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	const char *origin = ctx;
	char wb[LOG_Q_MAX * 4 + 32];
	if (fatal) {
		char why[256];
		log_err("zone: error zone=%s %s error=%s", zones_lq(origin),
		        where(wb, sizeof(wb), file, line), log_q(msg));
		snprintf(why, sizeof(why), "%s:%d: %s", file, line, msg);
		zones_note(origin, why);
		if (!t_fatal_noted) {
			snprintf(t_fatal_file, sizeof(t_fatal_file), "%s", file);
			t_fatal_line = line;
		}
		t_fatal_noted = true;
	} else
		log_warn("zone: warning zone=%s %s warning=%s", zones_lq(origin),
		         where(wb, sizeof(wb), file, line), log_q(msg));
}

/* The same zone name (letter case and final dot aside). */
static bool same_origin(const char *a, const char *b)
{
	uint8_t wa[256], wb[256];
	int la = anyns_name_from_text(a, wa, sizeof(wa));
	int lb = anyns_name_from_text(b, wb, sizeof(wb));
	if (la <= 0 || la != lb)
		return false;
	for (int i = 0; i < la; i++)
		if (tolower(wa[i]) != tolower(wb[i]))
			return false;
	return true;
}

/* Appends NAME to a bounded, space-separated list for the summary line. */
static void name_add(char *list, size_t cap, const char *name)
{
	size_t off = strlen(list), n = strlen(name);
	if (off + n + 3 < cap)
		snprintf(list + off, cap - off, "%s%s%s", off ? "," : "", name,
		         n > 0 && name[n - 1] == '.' ? "" : ".");
}

/* Each zone's allow-query list into set (zones[i] is conf->zones[i]'s
 * version, or NULL); catalog members take their catalog's. */
static int zones_set_acls(const dconf_t *conf, zone_t *const *zones, size_t n, zset_t *set)
{
	for (size_t i = 0; i < n && i < conf->n_zones; i++) {
		const dconf_zone_t *zc = dconf_zone_policy(conf, &conf->zones[i]);
		if (zones[i] == NULL || zc->n_allow_query == 0)
			continue;
		acl_t *acl = acl_new(zc->allow_query, zc->n_allow_query);
		int rc = acl != NULL ? zset_set_acl(set, zones[i], acl) : ANYNS_ENOMEM;
		acl_free(acl);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the files each zone was compiled from ------------------------------------ */
typedef struct zfile {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
} zfile_t;

/* The files one compile read (zone_load_opts_t.file_read). */
typedef struct zsrc {
	zfile_t *v;
	size_t n, cap;
	bool oom;
} zsrc_t;

static void zsrc_clear(zsrc_t *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void zsrc_add(void *ctx, const char *path, const struct stat *st)
{
	zsrc_t *s = ctx;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4;
		zfile_t *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL) {
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	zfile_t *f = &s->v[s->n];
	if ((f->path = strdup(path)) == NULL) {
		s->oom = true;
		return;
	}
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
	s->n++;
}

static bool zfile_same(const zfile_t *f)
{
	struct stat st;
	return stat(f->path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino &&
	       st.st_size == f->size && st.st_mtim.tv_sec == f->mtime.tv_sec &&
	       st.st_mtim.tv_nsec == f->mtime.tv_nsec && st.st_ctim.tv_sec == f->ctime.tv_sec &&
	       st.st_ctim.tv_nsec == f->ctime.tv_nsec;
}

/* CPUs online, for load-threads: auto. */
static unsigned zones_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* What else decides a compile's outcome besides the files' contents. */
static void zsrc_key(const dconf_t *conf, const dconf_zone_t *zc, char *buf, size_t len)
{
	snprintf(buf, len, "%s\n%s\n%d%d", zc->file ? zc->file : "",
	         conf->zones_dir ? conf->zones_dir : "", conf->include_anywhere, conf->strict_glue);
}

static void zsrc_store(const char *origin, zsrc_t *s, const char *key);
static void zsrc_forget(const char *origin);
static bool zsrc_changed(const char *origin, const char *key);

/* origin is in the comma-separated list (letter case and final dot aside). */
static bool in_list(const char *list, const char *origin)
{
	char one[256];
	while (*list != '\0') {
		size_t n = strcspn(list, ",");
		if (n < sizeof(one)) {
			memcpy(one, list, n);
			one[n] = '\0';
			if (same_origin(one, origin))
				return true;
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return false;
}

/* Compiles every zone of `conf` into a new set of generation gen. The
 * version serving for zone i is d->zones[i] when conf is d->conf, else the
 * one of the same name in d->conf (a config read again); a zone that fails
 * keeps it. The outcome goes to r (counts, names). Called with zones_lock. */
static int zones_build(daemon_t *d, const dconf_t *conf, uint64_t gen, zone_t ***zones_out,
                       zset_t **set_out, zones_reload_t *r)
{
	size_t n = conf->n_zones;
	char wb[LOG_Q_MAX * 4 + 32];
	zone_t **zones = calloc(n ? n : 1, sizeof(*zones));
	zone_t **serving = calloc(n ? n : 1, sizeof(*serving));
	size_t n_serving = 0;
	int ret = ANYNS_ENOMEM;

	r->n_ok = 0;
	r->records = 0;
	r->n_reread = r->n_unchanged = 0;
	r->kept[0] = r->failed[0] = '\0';
	if (zones == NULL || serving == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const dconf_zone_t *zc = &conf->zones[i];
		zone_t *z = NULL, *prev = NULL;
		if (d->zones != NULL && conf == &d->conf) {
			prev = i < d->n_zarr ? d->zones[i] : NULL;
		} else if (d->zones != NULL) {
			for (size_t j = 0; j < d->n_zarr && j < d->conf.n_zones; j++)
				if (d->zones[j] != NULL && same_origin(d->conf.zones[j].origin, zc->origin))
					prev = d->zones[j];
		}
		if (zc->removed)
			continue;
		if (zc->primaries.n > 0 || zc->member) {
			/* A secondary keeps what it received; its file only seeds
			 * the first version (and may not exist yet). */
			if (prev != NULL) {
				z = zones[i] = zone_ref(prev);
				serving[n_serving++] = z;
				r->n_ok++;
				continue;
			}
			if (zc->file == NULL || access(zc->file, R_OK) != 0) {
				log_info("zone: waiting zone=%s reason=\"no copy yet, waiting for a transfer\"",
				         zones_lq(zc->origin));
				r->n_ok++;
				continue;
			}
		}
		char key[1024];
		zsrc_key(conf, zc, key, sizeof(key));
		zone_stats_t st;
		/* A reload keeps a zone whose files did not change (or, when
		 * zones were named, every other one) as it is: same version,
		 * nothing read. */
		if (prev != NULL && gen > 1 && !in_list(r->only_cur, zc->origin) &&
		    (!r->full_cur || !zsrc_changed(zc->origin, key))) {
			z = zones[i] = zone_ref(prev);
			serving[n_serving++] = z;
			zone_get_stats(z, &st);
			r->records += st.records;
			r->n_ok++;
			r->n_unchanged++;
			log_debug("reload: unchanged zone=%s serial=%u", zones_lq(zc->origin), st.serial);
			continue;
		}
		zsrc_t src = { 0 };
		zone_load_opts_t lo;
		zone_load_opts_init(&lo);
		lo.zones_dir = conf->zones_dir;
		lo.include_anywhere = conf->include_anywhere;
		lo.strict_glue = conf->strict_glue;
		lo.threads = conf->load_threads ? conf->load_threads : zones_cpus();
		lo.file_read = zsrc_add;
		lo.file_read_ctx = &src;
		t_fatal_noted = false;
		if (gen > 1)
			r->n_reread++;
		int rc = zone_compile_file_opts(zc->origin, zc->file, &lo, diag_log, zc->origin, &z);
		if (rc == 0 && z != NULL && !src.oom)
			zsrc_store(zc->origin, &src, key);
		else
			zsrc_forget(zc->origin);
		zsrc_clear(&src);
		if (rc == 0 && z != NULL) {
			zone_get_stats(z, &st);
			r->records += st.records;
			r->n_ok++;
			log_info("zone: loaded zone=%s serial=%u records=%zu file=%s",
			         zones_lq(zc->origin), st.serial, st.records, log_q(zc->file));
			zones_note(zc->origin, NULL);
			if (st.dnssec && st.rrsigs > 0) {
				/* What an operator must re-sign before: a resolver
				 * answers SERVFAIL for the zone from then on. */
				time_t now = time(NULL);
				int64_t left = zone_stats_expire_in(&st, now);
				time_t exp = now + (time_t)left;
				struct tm tm;
				char when[32];
				gmtime_r(&exp, &tm);
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
				log_info("zone: signed zone=%s denial=%s rrsigs=%zu expires=%s "
				         "expires-in=%lld", zones_lq(zc->origin),
				         st.denial == 3 ? "NSEC3" : st.denial == 1 ? "NSEC" : "none",
				         st.rrsigs, when, (long long)left);
			}
		} else if (prev != NULL) {
			/* A broken reload keeps the version that was serving. */
			z = zone_ref(prev);
			zone_get_stats(z, &st);
			log_err("%s: failed zone=%s error=%s %s kept-serial=%u kept-records=%zu",
			        gen > 1 ? "reload" : "zone", zones_lq(zc->origin), log_q(anyns_strerror(rc)),
			        where(wb, sizeof(wb), t_fatal_noted ? t_fatal_file : zc->file,
			              t_fatal_noted ? t_fatal_line : 0), st.serial, st.records);
			name_add(r->kept, sizeof(r->kept), zc->origin);
			if (!t_fatal_noted)
				zones_note(zc->origin, anyns_strerror(rc));
		} else {
			if (!t_fatal_noted)
				zones_note(zc->origin, anyns_strerror(rc));
			log_err("%s: failed zone=%s error=%s %s served=no",
			        gen > 1 ? "reload" : "zone", zones_lq(zc->origin), log_q(anyns_strerror(rc)),
			        where(wb, sizeof(wb), t_fatal_noted ? t_fatal_file : zc->file,
			              t_fatal_noted ? t_fatal_line : 0));
			name_add(r->failed, sizeof(r->failed), zc->origin);
		}
		zones[i] = z;
		if (z != NULL)
			serving[n_serving++] = z;
	}
	ret = zset_new(serving, n_serving, gen, set_out);
	if (ret == 0 && (ret = zones_set_acls(conf, zones, n, *set_out)) != 0) {
		zset_free(*set_out);
		*set_out = NULL;
	}
	if (ret != 0) {
		log_err("zones: failed error=%s", log_q(anyns_strerror(ret)));
		goto fail;
	}
	free(serving);
	*zones_out = zones;
	return 0;
fail:
	if (zones != NULL)
		for (size_t i = 0; i < n; i++)
			zone_unref(zones[i]);
	free(zones);
	free(serving);
	return ret;
}

/* Publishes set with its per-zone versions (zones, n of them, one per conf
 * zone), waits for the readers of the old set, frees it. Called with
 * zones_lock (or alone at exit). */
static void zones_publish(daemon_t *d, zset_t *set, zone_t **zones, size_t n)
{
	zset_t *old = rcu_xchg_pointer(&d->zset, set);
	zone_t **old_zones = d->zones;
	size_t n_old = d->n_zarr;
	d->zones = zones;
	d->n_zarr = zones != NULL ? n : 0;
	if (set != NULL)
		__atomic_store_n(&d->generation, zset_generation(set), __ATOMIC_RELAXED);
	/* Every reader that could still see `old` leaves its read-side section
	 * at the end of its current batch; nobody blocks on us meanwhile. */
	synchronize_rcu();
	zset_free(old);
	if (old_zones != NULL)
		for (size_t i = 0; i < n_old; i++)
			zone_unref(old_zones[i]);
	free(old_zones);
}

void zones_notify(daemon_t *d)
{
	for (size_t i = 0; i < d->reload.n_subs; i++)
		d->reload.subs[i](d);
}

int zones_subscribe(daemon_t *d, zones_sub_fn fn)
{
	if (d->reload.n_subs >= ZONES_MAX_SUBS)
		return ANYNS_ENOMEM;
	d->reload.subs[d->reload.n_subs++] = fn;
	if (d->zset != NULL)
		fn(d);
	return 0;
}

int zones_load(daemon_t *d, unsigned *n_ok, size_t *records)
{
	zone_t **zones = NULL;
	zset_t *set = NULL;
	pthread_mutex_lock(&d->zones_lock);
	int rc = zones_build(d, &d->conf, 1, &zones, &set, &d->reload);
	if (rc == 0)
		zones_publish(d, set, zones, d->conf.n_zones);
	pthread_mutex_unlock(&d->zones_lock);
	if (rc != 0)
		return rc;
	*n_ok = d->reload.n_ok;
	*records = d->reload.records;
	zones_notify(d);
	return 0;
}

/* The zones the config file lists, as text (catalog members, added at run
 * time after them, left out), to see whether a config read again changed them. */
static void zones_text(const dconf_t *c, const char *key, char *buf, size_t len)
{
	dconf_t view = *c;
	const opt_t *o = dconf_options;
	while (o->type != OPT_END && (o->key == NULL || strcmp(o->key, key) != 0))
		o++;
	view.n_zones = 0;
	while (view.n_zones < c->n_zones && !c->zones[view.n_zones].member)
		view.n_zones++;
	buf[0] = '\0';
	if (o->type != OPT_END)
		opt_format(o, &view, buf, len);
}

static bool has_transfers(const dconf_t *c)
{
	for (size_t i = 0; i < c->n_zones; i++)
		if (c->zones[i].primaries.n > 0 || c->zones[i].catalog || c->zones[i].member)
			return true;
	return false;
}

/* In a thread-pool thread: the config read again (when there is a file),
 * the build, and the publish (whose wait for the readers must not hold up
 * the main loop). A config that does not read changes nothing. When its
 * zones changed, the new list takes the place of the old one as the new set
 * is published; with zone transfers the set is only built here, and
 * zones_relist() applies it on the main loop with the transfer state. */
static void reload_work(uv_work_t *req)
{
	daemon_t *d = req->data;
	zones_reload_t *r = &d->reload;
	zone_t **zones = NULL;
	zset_t *set = NULL;
	r->conf_err[0] = '\0';
	r->next = NULL;
	r->staged = false;
	if (d->conf_path != NULL && r->full_cur) {
		r->next = calloc(1, sizeof(*r->next));
		if (r->next == NULL) {
			r->rc = ANYNS_ENOMEM;
			return;
		}
		if (dconf_read(r->next, d->conf_path, d->argc, d->argv, r->conf_err,
		               sizeof(r->conf_err)) != 0) {
			r->rc = ANYNS_EINVAL;
			return;
		}
	}
	pthread_mutex_lock(&d->zones_lock);
	const dconf_t *conf = &d->conf;
	if (r->next != NULL) {
		char *a = malloc(65536), *b = malloc(65536);
		bool changed = a == NULL || b == NULL, xchanged = changed;
		static const char *const xkeys[] = { "keys", "remotes" };
		if (!changed) {
			zones_text(&d->conf, "zones", a, 65536);
			zones_text(r->next, "zones", b, 65536);
			changed = strcmp(a, b) != 0;
			for (size_t k = 0; k < 2 && !xchanged; k++) {
				zones_text(&d->conf, xkeys[k], a, 65536);
				zones_text(r->next, xkeys[k], b, 65536);
				xchanged = strcmp(a, b) != 0;
			}
		}
		free(a);
		free(b);
		/* Keys and remotes are swapped with the zones, on the main loop. */
		r->staged = (changed || xchanged) &&
		            (d->xfrd != NULL || has_transfers(r->next) || xchanged);
		if (changed || xchanged)
			conf = r->next;
	}
	r->rc = zones_build(d, conf, d->generation + 1, &zones, &set, r);
	if (r->rc == 0 && r->staged) {
		/* Applied on the main loop with the transfer state (zones_relist). */
		r->staged_zones = zones;
		r->staged_set = set;
	} else if (r->rc == 0) {
		zones_publish(d, set, zones, conf->n_zones);
		if (conf == r->next) {
			/* d->zones now follows the new list: so does d->conf. */
			dconf_zone_t *zs = d->conf.zones;
			size_t n = d->conf.n_zones;
			d->conf.zones = r->next->zones;
			d->conf.n_zones = r->next->n_zones;
			r->next->zones = zs;
			r->next->n_zones = n;
		}
	}
	pthread_mutex_unlock(&d->zones_lock);
}

/* Settings a reload applies; every other one changed in the file is named. */
static const char *const reload_applies[] = { "zones", "keys", "remotes",
                                              "server.zones-dir", "server.log-level",
                                              "server.include-anywhere", "server.strict-glue",
                                              "server.load-threads",
                                              "rrl.rate", "rrl.slip", "rrl.ipv4-prefix",
                                              "rrl.ipv6-prefix", "rrl.whitelist",
                                              "rrl.table-size", "cookies.enable",
                                              "cookies.secret", "cookies.previous-secret",
                                              NULL };

static void warn_restart(void *arg, const char *path, const opt_t *o)
{
	daemon_t *d = arg;
	char now[256];
	for (size_t i = 0; reload_applies[i] != NULL; i++)
		if (strcmp(path, reload_applies[i]) == 0)
			return;
	opt_format(o, &d->conf, now, sizeof(now));
	log_warn("reload: needs-restart setting=%s still=%s", path,
	         log_q(now[0] != '\0' ? now : "none"));
}

/* On the main loop, after a good reload with the config read again. */
static void reload_apply_conf(daemon_t *d, dconf_t *next)
{
	/* 'auto' still in the file is the size chosen at start, not a change. */
	if (d->answer_cache_auto && next->answer_cache == DCONF_CACHE_AUTO)
		next->answer_cache = d->conf.answer_cache;
	opt_diff(dconf_options, &d->conf, next, 0, warn_restart, d);
	defences_reload(d, next);
	char *dir = d->conf.zones_dir;
	d->conf.zones_dir = next->zones_dir;
	next->zones_dir = dir;
	d->conf.include_anywhere = next->include_anywhere;
	d->conf.strict_glue = next->strict_glue;
	d->conf.load_threads = next->load_threads;
	if (d->conf.log_level != next->log_level) {
		d->conf.log_level = next->log_level;
		log_set_level((enum log_level)d->conf.log_level);
	}
}

static void reload_finish(daemon_t *d, int status);
static void zones_reload_start(daemon_t *d);

/* The origin's index in c's zones (catalog members removed left out), or -1. */
static long conf_find(const dconf_t *c, const char *origin)
{
	for (size_t i = 0; i < c->n_zones; i++)
		if (!c->zones[i].removed && same_origin(c->zones[i].origin, origin))
			return (long)i;
	return -1;
}

/* Main loop, no transfer running: the staged zone list (r->next's zones)
 * takes the place of the old one, with the keys and remotes. Catalog
 * members follow when their catalog stays; secondary zones keep the newest
 * version they have (a transfer may have published one since the build).
 * The old arrays go to r->next, freed after the readers left them. */
static void zones_relist(daemon_t *d)
{
	zones_reload_t *r = &d->reload;
	dconf_t *next = r->next;
	zset_t *set = NULL;
	pthread_mutex_lock(&d->zones_lock);
	size_t n_cfg = next->n_zones, n = n_cfg, cap;
	bool any_catalog = false;
	for (size_t i = 0; i < n_cfg; i++)
		any_catalog |= next->zones[i].catalog;
	cap = n_cfg + d->conf.n_zones + (any_catalog ? XFR_MAX_MEMBERS : 0);
	dconf_zone_t *nz = realloc(next->zones, cap * sizeof(*nz));
	zone_t **zones = calloc(cap, sizeof(*zones));
	zone_t **serving = calloc(cap, sizeof(*serving));
	int rc = nz != NULL && zones != NULL && serving != NULL ? 0 : ANYNS_ENOMEM;
	if (nz != NULL) {
		next->zones = nz;
		memset(nz + n_cfg, 0, (cap - n_cfg) * sizeof(*nz));
	}
	/* Members of catalogs that stay, copied (the old array is still read). */
	for (size_t k = 0; rc == 0 && k < d->conf.n_zones; k++) {
		const dconf_zone_t *m = &d->conf.zones[k];
		long cat = m->member && !m->removed ?
		           conf_find(next, d->conf.zones[m->catalog_idx].origin) : -1;
		if (cat < 0 || (size_t)cat >= n_cfg || !nz[cat].catalog || nz[cat].primaries.n == 0 ||
		    conf_find(next, m->origin) >= 0)
			continue;
		dconf_zone_t *c = &nz[n];
		c->origin = strdup(m->origin);
		c->file = m->file != NULL ? strdup(m->file) : NULL;
		c->member = true;
		c->catalog_idx = (size_t)cat;
		if (c->origin == NULL || (m->file != NULL && c->file == NULL)) {
			free(c->origin);
			free(c->file);
			memset(c, 0, sizeof(*c));
			rc = ANYNS_ENOMEM;
		} else {
			n++;
			next->n_zones = n;
		}
	}
	size_t k = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const dconf_zone_t *zc = &nz[i];
		long old = conf_find(&d->conf, zc->origin);
		zone_t *cur = old >= 0 && (size_t)old < d->n_zarr ? d->zones[old] : NULL;
		zone_t *z = i < n_cfg ? r->staged_zones[i] : NULL;
		if ((zc->primaries.n > 0 || zc->member) && cur != NULL)
			z = cur;
		zones[i] = z != NULL ? zone_ref(z) : NULL;
		if (zones[i] != NULL)
			serving[k++] = zones[i];
	}
	if (rc == 0)
		rc = zset_new(serving, k, d->generation + 1, &set);
	if (rc == 0 && (rc = zones_set_acls(next, zones, n, set)) != 0) {
		zset_free(set);
		set = NULL;
	}
	if (rc == 0) {
		dconf_t old = d->conf;
		d->conf.zones = next->zones;
		d->conf.n_zones = next->n_zones;
		d->conf.keys = next->keys;
		d->conf.n_keys = next->n_keys;
		d->conf.remotes = next->remotes;
		d->conf.n_remotes = next->n_remotes;
		next->zones = old.zones;
		next->n_zones = old.n_zones;
		next->keys = old.keys;
		next->n_keys = old.n_keys;
		next->remotes = old.remotes;
		next->n_remotes = old.n_remotes;
		/* Workers left the old arrays once this returns (synchronize_rcu). */
		zones_publish(d, set, zones, n);
	} else {
		if (zones != NULL)
			for (size_t i = 0; i < n; i++)
				zone_unref(zones[i]);
		free(zones);
		log_err("reload: relist-failed error=%s kept=all", log_q(anyns_strerror(rc)));
	}
	pthread_mutex_unlock(&d->zones_lock);
	free(serving);
	for (size_t i = 0; i < n_cfg; i++)
		zone_unref(r->staged_zones[i]);
	free(r->staged_zones);
	zset_free(r->staged_set);
	r->staged_zones = NULL;
	r->staged_set = NULL;
	if (rc == 0)
		xfrd_relist(d, next, cap);
	r->rc = rc;
	reload_finish(d, 0);
}

static void reload_done(uv_work_t *req, int status)
{
	daemon_t *d = req->data;
	zones_reload_t *r = &d->reload;
	if (status == 0 && r->rc == 0 && r->staged) {
		xfrd_when_idle(d, zones_relist);
		return;
	}
	reload_finish(d, status);
}

/* The end of a reload (on the main loop): log, subscribers, waiters. */
static void reload_finish(daemon_t *d, int status)
{
	zones_reload_t *r = &d->reload;
	r->running = false;
	if (status == 0 && r->rc == 0) {
		if (r->next != NULL)
			reload_apply_conf(d, r->next);
		__atomic_add_fetch(&r->ok_total, 1, __ATOMIC_RELAXED);
		log_info("reload: done generation=%llu zones=%zu loaded=%u records=%zu reread=%zu "
		         "unchanged=%zu kept=%s failed=%s", (unsigned long long)d->generation,
		         d->conf.n_zones, r->n_ok, r->records, r->n_reread, r->n_unchanged,
		         r->kept[0] ? r->kept : "-", r->failed[0] ? r->failed : "-");
		zones_notify(d);
	} else {
		__atomic_add_fetch(&r->failed_total, 1, __ATOMIC_RELAXED);
		if (r->conf_err[0] != '\0')
			log_err("reload: failed error=%s kept=all", log_q(r->conf_err));
		else
			log_err("reload: failed error=%s kept=all",
			        log_q(anyns_strerror(status != 0 ? ANYNS_EINVAL : r->rc)));
	}
	for (size_t i = 0; i < r->n_wait_cur; i++)
		r->wait_cur[i].fn(d, r->wait_cur[i].arg);
	r->n_wait_cur = 0;
	if (r->next != NULL) {
		dconf_clear(r->next);
		free(r->next);
		r->next = NULL;
	}
	if (r->pending && !r->closed) {
		r->pending = false;
		zones_reload_start(d);
	}
}

/* ---- what happened last to each zone (for anyns-ctl) ----------------------- */
struct znote {
	char *origin;
	time_t loaded_at;
	char err[256];
	zsrc_t files;           /* read by the last good compile of the zone file */
	char *key;              /* with these settings (NULL: compile again) */
};
static struct znote *g_notes;
static size_t g_n_notes;
static pthread_mutex_t g_notes_lock = PTHREAD_MUTEX_INITIALIZER;

static struct znote *note_find(const char *origin, bool add)
{
	for (size_t i = 0; i < g_n_notes; i++)
		if (same_origin(g_notes[i].origin, origin))
			return &g_notes[i];
	if (!add)
		return NULL;
	struct znote *n = realloc(g_notes, (g_n_notes + 1) * sizeof(*n));
	if (n == NULL)
		return NULL;
	g_notes = n;
	n = &g_notes[g_n_notes];
	memset(n, 0, sizeof(*n));
	n->origin = strdup(origin);
	if (n->origin == NULL)
		return NULL;
	g_n_notes++;
	return n;
}

void zones_note(const char *origin, const char *err)
{
	pthread_mutex_lock(&g_notes_lock);
	struct znote *n = note_find(origin, true);
	if (n != NULL && err == NULL) {
		n->loaded_at = time(NULL);
		n->err[0] = '\0';
	} else if (n != NULL) {
		snprintf(n->err, sizeof(n->err), "%s", err);
	}
	pthread_mutex_unlock(&g_notes_lock);
}

static void zsrc_store(const char *origin, zsrc_t *s, const char *key)
{
	pthread_mutex_lock(&g_notes_lock);
	struct znote *n = note_find(origin, true);
	if (n != NULL) {
		zsrc_clear(&n->files);
		free(n->key);
		n->key = strdup(key);
		n->files = *s;
		memset(s, 0, sizeof(*s));
	}
	pthread_mutex_unlock(&g_notes_lock);
}

static void zsrc_forget(const char *origin)
{
	pthread_mutex_lock(&g_notes_lock);
	struct znote *n = note_find(origin, false);
	if (n != NULL) {
		free(n->key);
		n->key = NULL;
		zsrc_clear(&n->files);
	}
	pthread_mutex_unlock(&g_notes_lock);
}

/* Whether a compile of origin's file could give something else than the
 * version serving: a file it read changed or is gone, or a setting changed,
 * or there is no good compile on record. */
static bool zsrc_changed(const char *origin, const char *key)
{
	bool changed = true;
	pthread_mutex_lock(&g_notes_lock);
	struct znote *n = note_find(origin, false);
	if (n != NULL && n->key != NULL && strcmp(n->key, key) == 0 && n->files.n > 0) {
		changed = false;
		for (size_t i = 0; i < n->files.n && !changed; i++)
			changed = !zfile_same(&n->files.v[i]);
	}
	pthread_mutex_unlock(&g_notes_lock);
	return changed;
}

bool zones_noted(const char *origin, time_t *loaded_at, char *err, size_t errlen)
{
	pthread_mutex_lock(&g_notes_lock);
	struct znote *n = note_find(origin, false);
	if (n != NULL) {
		*loaded_at = n->loaded_at;
		snprintf(err, errlen, "%s", n->err);
	}
	pthread_mutex_unlock(&g_notes_lock);
	return n != NULL;
}

/* Adds a request to the next reload. */
static int reload_ask(zones_reload_t *r, const char *origin)
{
	if (origin == NULL) {
		r->full_next = true;
		return 0;
	}
	size_t off = strlen(r->only_next), n = strlen(origin);
	if (in_list(r->only_next, origin))
		return 0;
	if (off + n + 2 > sizeof(r->only_next) || strchr(origin, ',') != NULL)
		return -1;
	snprintf(r->only_next + off, sizeof(r->only_next) - off, "%s%s", off ? "," : "", origin);
	return 0;
}

int zones_reload_wait(daemon_t *d, const char *origin, void (*fn)(daemon_t *d, void *arg),
                      void *arg)
{
	zones_reload_t *r = &d->reload;
	if (r->closed || r->loop == NULL || (fn != NULL && r->n_wait_next >= 16) ||
	    reload_ask(r, origin) != 0)
		return -1;
	if (fn != NULL) {
		r->wait_next[r->n_wait_next].fn = fn;
		r->wait_next[r->n_wait_next++].arg = arg;
	}
	if (r->running) {
		r->pending = true;
		return 0;
	}
	zones_reload_start(d);
	return 0;
}

void zones_reload_init(daemon_t *d, uv_loop_t *loop)
{
	d->reload.loop = loop;
	d->reload.req.data = d;
}

/* Starts the reload asked for (not running). */
static void zones_reload_start(daemon_t *d)
{
	zones_reload_t *r = &d->reload;
	r->full_cur = r->full_next;
	memcpy(r->only_cur, r->only_next, sizeof(r->only_cur));
	if (r->full_cur)
		log_info("reload: started config=%s zones=%zu only=%s", log_q(d->conf_path),
		         d->conf.n_zones, r->only_cur[0] ? log_q(r->only_cur) : "-");
	else
		log_info("reload: started config=- zones=%zu only=%s", d->conf.n_zones,
		         log_q(r->only_cur));
	if (uv_queue_work(r->loop, &r->req, reload_work, reload_done) == 0) {
		r->running = true;
		r->full_next = false;
		r->only_next[0] = '\0';
		memcpy(r->wait_cur, r->wait_next, r->n_wait_next * sizeof(r->wait_cur[0]));
		r->n_wait_cur = r->n_wait_next;
		r->n_wait_next = 0;
	}
}

void zones_reload(daemon_t *d)
{
	zones_reload_wait(d, NULL, NULL, NULL);
}

void zones_reload_close(daemon_t *d)
{
	d->reload.closed = true;
	d->reload.pending = false;
}

void zones_free(daemon_t *d)
{
	zones_publish(d, NULL, NULL, 0);
}

const zset_t *zones_current(daemon_t *d)
{
	return rcu_dereference(d->zset);
}

int zones_replace(daemon_t *d, size_t idx, zone_t *z)
{
	pthread_mutex_lock(&d->zones_lock);
	size_t n = d->conf.n_zones, k = 0;
	zone_t **zones = calloc(n ? n : 1, sizeof(*zones));
	zone_t **serving = calloc(n ? n : 1, sizeof(*serving));
	zset_t *set = NULL;
	int rc = ANYNS_ENOMEM;
	if (zones == NULL || serving == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		zone_t *cur = i == idx ? z : (i < d->n_zarr && d->zones != NULL ? d->zones[i] : NULL);
		zones[i] = cur != NULL ? zone_ref(cur) : NULL;
		if (zones[i] != NULL)
			serving[k++] = zones[i];
	}
	rc = zset_new(serving, k, d->generation + 1, &set);
	if (rc == 0 && (rc = zones_set_acls(&d->conf, zones, n, set)) != 0) {
		zset_free(set);
		set = NULL;
	}
	if (rc != 0) {
		log_err("zones: failed error=%s", log_q(anyns_strerror(rc)));
		goto fail;
	}
	free(serving);
	zones_publish(d, set, zones, n);
	if (z != NULL && idx < n)
		zones_note(d->conf.zones[idx].origin, NULL);
	pthread_mutex_unlock(&d->zones_lock);
	return 0;
fail:
	if (zones != NULL)
		for (size_t i = 0; i < n; i++)
			zone_unref(zones[i]);
	free(zones);
	free(serving);
	pthread_mutex_unlock(&d->zones_lock);
	return rc;
}

zone_t *zones_get(daemon_t *d, size_t idx)
{
	zone_t *z = NULL;
	pthread_mutex_lock(&d->zones_lock);
	if (d->zones != NULL && idx < d->n_zarr && d->zones[idx] != NULL)
		z = zone_ref(d->zones[idx]);
	pthread_mutex_unlock(&d->zones_lock);
	return z;
}
