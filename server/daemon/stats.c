/* Counters summed over the workers: logged on SIGUSR1 and at exit, and served
 * in the Prometheus text format when `server.metrics` is set. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "anyns_xdp.h"
#include "daemon.h"
#include "log.h"

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
	log_info("stats (%s): udp=%llu tcp=%llu cache-hits=%llu cache-misses=%llu dropped=%llu "
	         "truncated=%llu tcp-conns=%llu tcp-refused=%llu tcp-timeouts=%llu%s",
	         why, (unsigned long long)s.udp_queries, (unsigned long long)s.tcp_queries,
	         (unsigned long long)s.cache_hits, (unsigned long long)s.cache_misses,
	         (unsigned long long)s.dropped, (unsigned long long)s.truncated,
	         (unsigned long long)s.tcp_accepted, (unsigned long long)s.tcp_refused,
	         (unsigned long long)s.tcp_timeouts, rc);
	if (d->xdp != NULL) {
		anyns_xdp_stats_t x;
		if (anyns_xdp_stats(d->xdp, &x) == 0)
			log_info("stats (%s): xdp answered=%llu passed=%llu miss=%llu stale=%llu "
			         "puts=%llu", why, (unsigned long long)x.answered,
			         (unsigned long long)x.passed, (unsigned long long)x.pass_miss,
			         (unsigned long long)x.pass_stale, (unsigned long long)s.xdp_puts);
	}
}

/* ---- Prometheus endpoint ---------------------------------------------------- */
static struct MHD_Daemon *g_mhd;

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload, size_t *upload_len, void **ctx)
{
	daemon_t *d = cls;
	dstats_t s;
	char body[4096];
	size_t off = 0;
	int k;
	if (strcmp(method, "GET") != 0)
		return MHD_NO;
	stats_sum(d, &s);
#define EMIT(...) do { \
		k = snprintf(body + off, sizeof(body) - off, __VA_ARGS__); \
		if (k > 0 && (size_t)k < sizeof(body) - off) off += (size_t)k; \
	} while (0)
	EMIT("# TYPE anyns_queries_total counter\n");
	EMIT("anyns_queries_total{transport=\"udp\"} %llu\n", (unsigned long long)s.udp_queries);
	EMIT("anyns_queries_total{transport=\"tcp\"} %llu\n", (unsigned long long)s.tcp_queries);
	EMIT("# TYPE anyns_responses_total counter\n");
	for (int r = 0; r < STAT_RCODES; r++)
		if (s.rcode[r] != 0 || r == 0 || r == 3 || r == 5) {
			const char *n = rcode_name(r);
			if (n != NULL)
				EMIT("anyns_responses_total{rcode=\"%s\"} %llu\n", n,
				     (unsigned long long)s.rcode[r]);
			else
				EMIT("anyns_responses_total{rcode=\"%d\"} %llu\n", r,
				     (unsigned long long)s.rcode[r]);
		}
	EMIT("# TYPE anyns_cache_hits_total counter\nanyns_cache_hits_total %llu\n",
	     (unsigned long long)s.cache_hits);
	EMIT("# TYPE anyns_cache_misses_total counter\nanyns_cache_misses_total %llu\n",
	     (unsigned long long)s.cache_misses);
	EMIT("# TYPE anyns_dropped_total counter\nanyns_dropped_total %llu\n",
	     (unsigned long long)s.dropped);
	EMIT("# TYPE anyns_truncated_total counter\nanyns_truncated_total %llu\n",
	     (unsigned long long)s.truncated);
	EMIT("# TYPE anyns_tcp_connections_total counter\nanyns_tcp_connections_total %llu\n",
	     (unsigned long long)s.tcp_accepted);
	EMIT("# TYPE anyns_tcp_refused_total counter\nanyns_tcp_refused_total %llu\n",
	     (unsigned long long)s.tcp_refused);
	EMIT("# TYPE anyns_tcp_open gauge\nanyns_tcp_open %u\n", atomic_load(&d->tcp_conns));
	EMIT("# TYPE anyns_zone_generation gauge\nanyns_zone_generation %llu\n",
	     (unsigned long long)__atomic_load_n(&d->generation, __ATOMIC_RELAXED));
	if (d->xdp != NULL) {
		anyns_xdp_stats_t x;
		if (anyns_xdp_stats(d->xdp, &x) == 0) {
			EMIT("# TYPE anyns_xdp_answered_total counter\nanyns_xdp_answered_total %llu\n",
			     (unsigned long long)x.answered);
			EMIT("# TYPE anyns_xdp_passed_total counter\nanyns_xdp_passed_total %llu\n",
			     (unsigned long long)x.passed);
		}
	}
#undef EMIT
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(off, body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int metrics_start(daemon_t *d)
{
	dconf_listen_t l;
	char why[256];
	if (d->conf.metrics == NULL)
		return 0;
	if (dconf_parse_addr(d->conf.metrics, 9153, &l, why, sizeof(why)) != 0) {
		log_err("metrics: %s", why);
		return ANYNS_EINVAL;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (l.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	g_mhd = MHD_start_daemon(flags, 0, NULL, NULL, metrics_handler, d,
	                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&l.ss,
	                         MHD_OPTION_CONNECTION_LIMIT, 16U,
	                         MHD_OPTION_CONNECTION_TIMEOUT, 5U, MHD_OPTION_END);
	if (g_mhd == NULL) {
		log_err("metrics: cannot listen on %s", d->conf.metrics);
		return ANYNS_EINVAL;
	}
	log_info("metrics: serving on http://%s/metrics", d->conf.metrics);
	return 0;
}

static void metrics_stop(daemon_t *d)
{
	if (g_mhd != NULL)
		MHD_stop_daemon(g_mhd);
	g_mhd = NULL;
}

const daemon_hook_t metrics_hook = {
	.name = "metrics",
	.start = metrics_start,
	.stop = metrics_stop,
};
