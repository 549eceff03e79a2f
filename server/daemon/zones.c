/* Zone loading and the RCU-published zone set.
 *
 * Flavour: urcu-memb. Workers wrap each batch (a recvmmsg round, a TCP read)
 * in rcu_read_lock()/rcu_read_unlock(), which costs a counter store and a
 * compiler barrier, and an idle worker sleeping in epoll holds nothing, so a
 * reload never waits for traffic (with QSBR an idle loop would have to go
 * offline around every poll). The writer pays with membarrier(2). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

int zones_build(daemon_t *d, zone_t **old, uint64_t gen, zone_t ***zones_out,
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
		int rc = zone_compile_file(zc->origin, zc->file, diag_log, zc->origin, &z);
		if (rc == 0 && z != NULL) {
			zone_stats_t st;
			zone_get_stats(z, &st);
			*records += st.records;
			(*n_ok)++;
			log_debug("zone %s: loaded from %s, serial %u, %zu records", zc->origin,
			          zc->file, st.serial, st.records);
		} else if (old != NULL && old[i] != NULL) {
			/* A broken reload keeps the version that was serving. */
			log_err("zone %s: %s: %s; keeping the previous version", zc->origin,
			        zc->file, anyns_strerror(rc));
			z = zone_ref(old[i]);
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

void zones_publish(daemon_t *d, zset_t *set, zone_t **zones)
{
	zset_t *old = rcu_xchg_pointer(&d->zset, set);
	zone_t **old_zones = d->zones;
	size_t n = d->conf.n_zones;
	d->zones = zones;
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

void zones_free(daemon_t *d)
{
	zones_publish(d, NULL, NULL);
}

const zset_t *zones_current(daemon_t *d)
{
	return rcu_dereference(d->zset);
}
