/* Counters summed over the workers: logged on SIGUSR1 and at exit, and served
 * in the Prometheus text format when `server.metrics` is set. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "addr.h"
#include "anyns_xdp.h"
#include "daemon.h"
#include "log.h"
#include "prom.h"

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void stats_add(dstats_t *o, dstats_t *s)
{
	o->udp_queries += LD(s->udp_queries);
	o->tcp_queries += LD(s->tcp_queries);
	o->dropped += LD(s->dropped);
	o->cache_hits += LD(s->cache_hits);
	o->cache_misses += LD(s->cache_misses);
	o->truncated += LD(s->truncated);
	o->tcp_accepted += LD(s->tcp_accepted);
	o->tcp_refused += LD(s->tcp_refused);
	o->tcp_timeouts += LD(s->tcp_timeouts);
	o->xdp_puts += LD(s->xdp_puts);
	o->rrl_slipped += LD(s->rrl_slipped);
	o->rrl_dropped += LD(s->rrl_dropped);
	for (int r = 0; r < STAT_RCODES; r++)
		o->rcode[r] += LD(s->rcode[r]);
}

/* Worker (TCP) counters plus those of every UDP reader. */
void stats_sum(daemon_t *d, dstats_t *o)
{
	memset(o, 0, sizeof(*o));
	for (unsigned i = 0; i < d->n_workers; i++) {
		worker_t *w = d->workers[i];
		stats_add(o, &w->stats);
		for (size_t j = 0; j < w->n_io; j++)
			stats_add(o, &w->io[j]->stats);
	}
}

static const char *rcode_name(int r)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	                                     "NOTIMP", "REFUSED" };
	if (r < 6)
		return names[r];
	if (r == 16)
		return "BADVERS";
	return NULL;
}

void stats_log(daemon_t *d, const char *why)
{
	dstats_t s;
	char rc[512];
	size_t off = 0;
	stats_sum(d, &s);
	rc[0] = '\0';
	for (int r = 0; r < STAT_RCODES; r++) {
		if (s.rcode[r] == 0)
			continue;
		const char *n = rcode_name(r);
		char tmp[24];
		if (n == NULL) {
			snprintf(tmp, sizeof(tmp), "rcode%d", r);
			n = tmp;
		}
		int k = snprintf(rc + off, sizeof(rc) - off, " %s=%llu", n,
		                 (unsigned long long)s.rcode[r]);
		if (k < 0 || (size_t)k >= sizeof(rc) - off)
			break;
		off += (size_t)k;
	}
	log_info("stats: counters reason=%s udp=%llu tcp=%llu cache-hits=%llu cache-misses=%llu dropped=%llu "
	         "truncated=%llu tcp-conns=%llu tcp-refused=%llu tcp-timeouts=%llu%s",
	         why, (unsigned long long)s.udp_queries, (unsigned long long)s.tcp_queries,
	         (unsigned long long)s.cache_hits, (unsigned long long)s.cache_misses,
	         (unsigned long long)s.dropped, (unsigned long long)s.truncated,
	         (unsigned long long)s.tcp_accepted, (unsigned long long)s.tcp_refused,
	         (unsigned long long)s.tcp_timeouts, rc);
	if (d->rrl != NULL)
		log_info("stats: rrl reason=%s slipped=%llu dropped=%llu", why,
		         (unsigned long long)s.rrl_slipped, (unsigned long long)s.rrl_dropped);
	if (d->xdp != NULL) {
		anyns_xdp_stats_t x;
		if (anyns_xdp_stats(d->xdp, &x) == 0)
			log_info("stats: xdp reason=%s answered=%llu passed=%llu miss=%llu stale=%llu "
			         "puts=%llu rrl-slipped=%llu rrl-dropped=%llu", why,
			         (unsigned long long)x.answered, (unsigned long long)x.passed,
			         (unsigned long long)x.pass_miss, (unsigned long long)x.pass_stale,
			         (unsigned long long)s.xdp_puts, (unsigned long long)x.rrl_slipped,
			         (unsigned long long)x.rrl_dropped);
	}
}

/* ---- Prometheus endpoint ---------------------------------------------------- */
/* What the scrapes say about the zones: a copy made on the main loop each time
 * a zone set is published (the HTTP thread never touches the zone set). */
struct zone_info {
	char *origin;
	uint32_t serial;
	size_t records;
	bool signed_;           /* has RRSIGs: rrsig_expire is meaningful */
	zone_stats_t st;
};

static struct {
	prom_t *prom;
	pthread_mutex_t lock;
	struct zone_info *zones;
	size_t n_zones;
} g_met = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void zone_info_free(struct zone_info *z, size_t n)
{
	for (size_t i = 0; z != NULL && i < n; i++)
		free(z[i].origin);
	free(z);
}

static void metrics_published(daemon_t *d)
{
	pthread_mutex_lock(&d->zones_lock);
	size_t n = d->n_zarr, k = 0;
	struct zone_info *z = calloc(n ? n : 1, sizeof(*z));
	if (z == NULL) {
		pthread_mutex_unlock(&d->zones_lock);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		zone_stats_t st;
		if (d->zones == NULL || d->zones[i] == NULL)
			continue;
		zone_get_stats(d->zones[i], &st);
		z[k].origin = strdup(zone_origin_text(d->zones[i]));
		if (z[k].origin == NULL)
			break;
		z[k].serial = st.serial;
		z[k].records = st.records;
		z[k].signed_ = st.dnssec && st.rrsigs > 0;
		z[k].st = st;
		k++;
	}
	pthread_mutex_unlock(&d->zones_lock);
	pthread_mutex_lock(&g_met.lock);
	struct zone_info *old = g_met.zones;
	size_t n_old = g_met.n_zones;
	g_met.zones = z;
	g_met.n_zones = k;
	pthread_mutex_unlock(&g_met.lock);
	zone_info_free(old, n_old);
}

#define ULL(x) ((unsigned long long)(x))

static void metrics_render(void *arg, prom_buf_t *b)
{
	stats_render(arg, b);
}

void stats_render(daemon_t *d, prom_buf_t *b)
{
	dstats_t s;
	stats_sum(d, &s);
	prom_head(b, "anyns_queries_total", "counter", "Queries received, by transport.");
	prom_printf(b, "anyns_queries_total{transport=\"udp\"} %llu\n", ULL(s.udp_queries));
	prom_printf(b, "anyns_queries_total{transport=\"tcp\"} %llu\n", ULL(s.tcp_queries));
	prom_head(b, "anyns_responses_total", "counter", "Responses sent, by RCODE.");
	for (int r = 0; r < STAT_RCODES; r++) {
		if (s.rcode[r] == 0 && r != 0 && r != 3 && r != 5)
			continue;
		const char *n = rcode_name(r);
		if (n != NULL)
			prom_printf(b, "anyns_responses_total{rcode=\"%s\"} %llu\n", n, ULL(s.rcode[r]));
		else
			prom_printf(b, "anyns_responses_total{rcode=\"%d\"} %llu\n", r, ULL(s.rcode[r]));
	}
	prom_scalar(b, "anyns_cache_hits_total", "counter", "Queries (UDP and TCP) answered from the answer cache.", s.cache_hits);
	prom_scalar(b, "anyns_cache_misses_total", "counter",
	            "UDP queries looked up in the answer cache and not found there.", s.cache_misses);
	prom_scalar(b, "anyns_dropped_total", "counter",
	            "Queries that got no response (unparseable, QR set, send failures).", s.dropped);
	prom_scalar(b, "anyns_truncated_total", "counter", "UDP responses sent truncated (TC=1).", s.truncated);
	prom_scalar(b, "anyns_rrl_limited_total", "counter",
	            "UDP responses over the rate limit (rrl), slipped or dropped.", s.rrl_slipped + s.rrl_dropped);
	prom_scalar(b, "anyns_rrl_slipped_total", "counter",
	            "Rate-limited responses sent as empty TC=1 answers (rrl.slip).", s.rrl_slipped);
	prom_scalar(b, "anyns_rrl_dropped_total", "counter", "Rate-limited responses not sent.", s.rrl_dropped);
	prom_scalar(b, "anyns_tcp_connections_total", "counter", "TCP connections accepted.", s.tcp_accepted);
	prom_scalar(b, "anyns_tcp_refused_total", "counter",
	            "TCP connections closed at once because tcp-max-connections were open.", s.tcp_refused);
	prom_scalar(b, "anyns_tcp_timeouts_total", "counter", "TCP connections closed as idle.", s.tcp_timeouts);
	prom_head(b, "anyns_tcp_open", "gauge", "TCP connections open now.");
	prom_printf(b, "anyns_tcp_open %u\n", atomic_load(&d->tcp_conns));
	prom_head(b, "anyns_zone_generation", "gauge", "Generation of the zone set being served.");
	prom_printf(b, "anyns_zone_generation %llu\n",
	            ULL(__atomic_load_n(&d->generation, __ATOMIC_RELAXED)));
	prom_head(b, "anyns_reloads_total", "counter", "Zone reloads, by result.");
	prom_printf(b, "anyns_reloads_total{result=\"ok\"} %llu\n",
	            ULL(__atomic_load_n(&d->reload.ok_total, __ATOMIC_RELAXED)));
	prom_printf(b, "anyns_reloads_total{result=\"failed\"} %llu\n",
	            ULL(__atomic_load_n(&d->reload.failed_total, __ATOMIC_RELAXED)));
	pthread_mutex_lock(&g_met.lock);
	prom_head(b, "anyns_zone_serial", "gauge", "SOA serial of the version of each zone served.");
	for (size_t i = 0; i < g_met.n_zones; i++) {
		prom_printf(b, "anyns_zone_serial{zone=\"");
		prom_label_value(b, g_met.zones[i].origin);
		prom_printf(b, "\"} %u\n", g_met.zones[i].serial);
	}
	prom_head(b, "anyns_zone_records", "gauge", "Records of the version of each zone served.");
	for (size_t i = 0; i < g_met.n_zones; i++) {
		prom_printf(b, "anyns_zone_records{zone=\"");
		prom_label_value(b, g_met.zones[i].origin);
		prom_printf(b, "\"} %zu\n", g_met.zones[i].records);
	}
	prom_head(b, "anyns_zone_rrsig_expiry_seconds", "gauge",
	          "Seconds until the earliest RRSIG of each signed zone expires (negative: expired).");
	for (size_t i = 0; i < g_met.n_zones; i++) {
		if (!g_met.zones[i].signed_)
			continue;
		prom_printf(b, "anyns_zone_rrsig_expiry_seconds{zone=\"");
		prom_label_value(b, g_met.zones[i].origin);
		prom_printf(b, "\"} %lld\n",
		            (long long)zone_stats_expire_in(&g_met.zones[i].st, time(NULL)));
	}
	pthread_mutex_unlock(&g_met.lock);
	if (d->dnstap != NULL) {
		dtap_stats_t t;
		dtap_stats(d->dnstap, &t);
		prom_scalar(b, "anyns_dnstap_frames_total", "counter",
		            "dnstap messages handed to the writer thread.", t.frames);
		prom_scalar(b, "anyns_dnstap_dropped_total", "counter",
		            "dnstap messages dropped: the writer's queue was full.", t.dropped);
	}
	if (d->xdp != NULL) {
		anyns_xdp_stats_t x;
		if (anyns_xdp_stats(d->xdp, &x) == 0) {
			prom_scalar(b, "anyns_xdp_answered_total", "counter", "Queries answered in XDP.", x.answered);
			prom_scalar(b, "anyns_xdp_passed_total", "counter", "Packets XDP passed on to the sockets.", x.passed);
			prom_scalar(b, "anyns_xdp_puts_total", "counter",
			            "Answers the workers put into the XDP map after a miss.", s.xdp_puts);
			if (d->rrl != NULL) {
				prom_scalar(b, "anyns_xdp_rrl_slipped_total", "counter",
				            "Rate-limited answers XDP sent as empty TC=1 answers.", x.rrl_slipped);
				prom_scalar(b, "anyns_xdp_rrl_dropped_total", "counter", "Rate-limited queries XDP dropped.", x.rrl_dropped);
			}
		}
	}
}

static int metrics_start(daemon_t *d)
{
	dconf_listen_t l;
	char why[256];
	if (d->conf.metrics == NULL)   /* the zones' series still go to anyns-ctl stats */
		return zones_subscribe(d, metrics_published);
	if (dconf_parse_addr(d->conf.metrics, 9153, &l, why, sizeof(why)) != 0) {
		log_err("metrics: failed error=%s", log_q(why));
		return ANYNS_EINVAL;
	}
	if (!addr_is_loopback(&l.ss))
		log_warn("metrics: reachable address=%s from=%s hint=\"the counters describe the "
		         "traffic: prefer a loopback address (and a local scraper or a proxy)\"",
		         log_q(d->conf.metrics), l.wildcard ? "every-network" : "other-hosts");
	int rc = prom_start((const struct sockaddr *)&l.ss, metrics_render, d, &g_met.prom);
	if (rc != 0) {
		log_err("metrics: failed address=%s error=\"cannot listen\"", log_q(d->conf.metrics));
		return rc;
	}
	log_info("metrics: serving url=http://%s/metrics", d->conf.metrics);
	return zones_subscribe(d, metrics_published);
}

static void metrics_stop(daemon_t *d)
{
	prom_stop(g_met.prom);
	g_met.prom = NULL;
	pthread_mutex_lock(&g_met.lock);
	zone_info_free(g_met.zones, g_met.n_zones);
	g_met.zones = NULL;
	g_met.n_zones = 0;
	pthread_mutex_unlock(&g_met.lock);
}

const daemon_hook_t metrics_hook = {
	.name = "metrics",
	.start = metrics_start,
	.stop = metrics_stop,
};
