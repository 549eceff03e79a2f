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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"

static void diag_log(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	const char *origin = ctx;
	if (fatal)
		log_err("zone %s: %s:%d: %s", origin, file, line, msg);
	else
		log_warn("zone %s: %s:%d: %s", origin, file, line, msg);
}

static int zones_build(daemon_t *d, zone_t **old, uint64_t gen, zone_t ***zones_out,
                zset_t **set_out, unsigned *n_ok, size_t *records)
{
	size_t n = d->conf.n_zones;
	zone_t **zones = calloc(n ? n : 1, sizeof(*zones));
	zone_t **serving = calloc(n ? n : 1, sizeof(*serving));
	size_t n_serving = 0;
	int ret = ANYNS_ENOMEM;

	*n_ok = 0;
	*records = 0;
	if (zones == NULL || serving == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const dconf_zone_t *zc = &d->conf.zones[i];
		zone_t *z = NULL;
		zone_t *prev = old != NULL && i < d->n_zarr ? old[i] : NULL;
		if (zc->removed)
			continue;
		if (zc->primaries.n > 0 || zc->member) {
			/* A secondary keeps what it received; its file only seeds
			 * the first version (and may not exist yet). */
			if (prev != NULL) {
				z = zones[i] = zone_ref(prev);
				serving[n_serving++] = z;
				(*n_ok)++;
				continue;
			}
			if (zc->file == NULL || access(zc->file, R_OK) != 0) {
				log_info("zone %s: no copy yet, waiting for a transfer", zc->origin);
				(*n_ok)++;
				continue;
			}
		}
		int rc = zone_compile_file(zc->origin, zc->file, diag_log, zc->origin, &z);
		if (rc == 0 && z != NULL) {
			zone_stats_t st;
			zone_get_stats(z, &st);
			*records += st.records;
			(*n_ok)++;
			log_debug("zone %s: loaded from %s, serial %u, %zu records", zc->origin,
			          zc->file, st.serial, st.records);
		} else if (prev != NULL) {
			/* A broken reload keeps the version that was serving. */
			log_err("zone %s: %s: %s; keeping the previous version", zc->origin,
			        zc->file, anyns_strerror(rc));
			z = zone_ref(prev);
		} else {
			log_err("zone %s: %s: %s; not served", zc->origin, zc->file,
			        anyns_strerror(rc));
		}
		zones[i] = z;
		if (z != NULL)
			serving[n_serving++] = z;
	}
	ret = zset_new(serving, n_serving, gen, set_out);
	if (ret != 0) {
		log_err("zone set: %s", anyns_strerror(ret));
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

static void zones_publish(daemon_t *d, zset_t *set, zone_t **zones)
{
	zset_t *old = rcu_xchg_pointer(&d->zset, set);
	zone_t **old_zones = d->zones;
	size_t n = d->n_zarr;
	d->zones = zones;
	d->n_zarr = zones != NULL ? d->conf.n_zones : 0;
	if (set != NULL)
		__atomic_store_n(&d->generation, zset_generation(set), __ATOMIC_RELAXED);
	/* Every reader that could still see `old` leaves its read-side section
	 * at the end of its current batch; nobody blocks on us meanwhile. */
	synchronize_rcu();
	zset_free(old);
	if (old_zones != NULL)
		for (size_t i = 0; i < n; i++)
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
	int rc = zones_build(d, NULL, 1, &zones, &set, n_ok, records);
	if (rc == 0)
		zones_publish(d, set, zones);
	pthread_mutex_unlock(&d->zones_lock);
	if (rc != 0)
		return rc;
	zones_notify(d);
	return 0;
}

/* In a thread-pool thread: the build, and the publish (whose wait for the
 * readers must not hold up the main loop). */
static void reload_work(uv_work_t *req)
{
	daemon_t *d = req->data;
	zones_reload_t *r = &d->reload;
	zone_t **zones = NULL;
	zset_t *set = NULL;
	pthread_mutex_lock(&d->zones_lock);
	r->rc = zones_build(d, d->zones, d->generation + 1, &zones, &set, &r->n_ok, &r->records);
	if (r->rc == 0)
		zones_publish(d, set, zones);
	pthread_mutex_unlock(&d->zones_lock);
}

static void reload_done(uv_work_t *req, int status)
{
	daemon_t *d = req->data;
	zones_reload_t *r = &d->reload;
	r->running = false;
	if (status == 0 && r->rc == 0) {
		__atomic_add_fetch(&r->ok_total, 1, __ATOMIC_RELAXED);
		log_info("reload: generation %llu, %u of %zu zones loaded (%zu records)",
		         (unsigned long long)d->generation, r->n_ok, d->conf.n_zones, r->records);
		zones_notify(d);
	} else {
		__atomic_add_fetch(&r->failed_total, 1, __ATOMIC_RELAXED);
		log_err("reload failed: %s; still serving the previous zones",
		        anyns_strerror(status != 0 ? ANYNS_EINVAL : r->rc));
	}
	if (r->pending && !r->closed) {
		r->pending = false;
		zones_reload(d);
	}
}

void zones_reload_init(daemon_t *d, uv_loop_t *loop)
{
	d->reload.loop = loop;
	d->reload.req.data = d;
}

void zones_reload(daemon_t *d)
{
	zones_reload_t *r = &d->reload;
	if (r->closed || r->loop == NULL)
		return;
	if (r->running) {
		r->pending = true;
		return;
	}
	log_info("reload: re-reading %zu zone files", d->conf.n_zones);
	if (uv_queue_work(r->loop, &r->req, reload_work, reload_done) == 0)
		r->running = true;
}

void zones_reload_close(daemon_t *d)
{
	d->reload.closed = true;
	d->reload.pending = false;
}

void zones_free(daemon_t *d)
{
	zones_publish(d, NULL, NULL);
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
	if (rc != 0) {
		log_err("zone set: %s", anyns_strerror(rc));
		goto fail;
	}
	free(serving);
	zones_publish(d, set, zones);
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
