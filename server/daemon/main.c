/* anynsd: start-up, signals and shutdown. The main thread runs its own libuv
 * loop for signals and reload completion (zones.c); queries are answered by
 * the worker threads (worker.c, udp*.c, tcp.c). */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"

#define EXIT_CONFIG 2

static daemon_t g_d;
static uv_signal_t g_sig[4];
static bool g_stopping;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: anynsd [-c FILE] [options]\n"
"Authoritative DNS server for anycast: answers from compiled zones over UDP and TCP.\n"
"\n"
"  -c, --config FILE          YAML configuration (server:, xdp:, zones:)\n"
"      --listen ADDR[:PORT]   address to serve, e.g. 127.0.0.1:5353 or [::1]:5353\n"
"                             (repeatable; replaces server.listen; default port 53;\n"
"                             without any: 0.0.0.0:53 and [::]:53)\n"
"      --zone ORIGIN=FILE     serve the zone ORIGIN from master file FILE (repeatable,\n"
"                             added to the zones: of the config)\n"
"      --workers N            worker threads (default: one per core)\n"
"      --identity NAME        answer CH TXT id.server and hostname.bind with NAME\n"
"                             (default: REFUSED)\n"
"      --server-version TEXT  answer CH TXT version.bind with TEXT; \"false\" turns it\n"
"                             off (default \"anyns " ANYNSD_VERSION "\")\n"
"      --nsid NSID            RFC 5001 NSID: text, or hex:0a0b...\n"
"      --max-udp-payload N    largest UDP answer, 512..65535 (default 1232)\n"
"      --answer-cache N       answer cache entries per worker; 0 off; default auto:\n"
"                             3 per name served, 65536 to 262144 (512 bytes each)\n"
"      --udp-io MODE          poll: UDP sockets on each worker's libuv loop (default);\n"
"                             threads: one thread per UDP socket blocking in recvmmsg\n"
"      --tcp-idle-timeout T   close idle TCP connections after T (e.g. 10s, 500ms;\n"
"                             default 10s)\n"
"      --tcp-max-connections N  open TCP connections at most (default 1000)\n"
"      --xdp IFACE            answer cached queries in XDP on IFACE (repeatable)\n"
"      --metrics ADDR:PORT    Prometheus metrics over HTTP at /metrics\n"
"      --pid-file FILE        write the process id to FILE\n"
"  -l, --log-level LEVEL      error, warning, info (default) or debug\n"
"      --check-config         read the config and the zones, report, exit\n"
"                             (0 all good, 1 a zone failed, 2 bad config)\n"
"  -h, --help                 this text\n"
"  -V, --version              print the version\n"
"\n"
"Signals: SIGHUP reloads the zone files (a zone that fails keeps serving its\n"
"previous version), SIGUSR1 logs the counters, SIGTERM/SIGINT stop gracefully.\n"
"Exit status: 0 after a clean stop, 1 on a start-up failure, 2 for a bad config.\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- parts with a lifecycle beside the workers ----------------------------- */
static const daemon_hook_t *const g_hooks[] = { &xdp_hook, &metrics_hook };
#define N_HOOKS (sizeof(g_hooks) / sizeof(g_hooks[0]))
static size_t g_hooks_started;

static void hooks_start(daemon_t *d)
{
	for (; g_hooks_started < N_HOOKS; g_hooks_started++)
		if (g_hooks[g_hooks_started]->start != NULL)
			(void)g_hooks[g_hooks_started]->start(d);
}

static void hooks_stop(daemon_t *d)
{
	while (g_hooks_started > 0) {
		const daemon_hook_t *h = g_hooks[--g_hooks_started];
		if (h->stop != NULL)
			h->stop(d);
	}
}

/* ---- signals ----------------------------------------------------------------- */
static void on_signal(uv_signal_t *h, int signum)
{
	switch (signum) {
	case SIGHUP:
		zones_reload(&g_d);
		break;
	case SIGUSR1:
		stats_log(&g_d, "SIGUSR1");
		break;
	default:
		if (g_stopping)
			break;
		g_stopping = true;
		zones_reload_close(&g_d);
		log_info("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
		for (unsigned i = 0; i < g_d.n_workers; i++)
			worker_stop(g_d.workers[i]);
		/* Unreferenced, not closed: the loop may end, yet a second SIGTERM
		 * during the shutdown still lands here instead of killing us. */
		for (int i = 0; i < 4; i++)
			uv_unref((uv_handle_t *)&g_sig[i]);
		break;
	}
}

/* ---- start-up ------------------------------------------------------------------ */
struct flags {
	const char *config;
	const char *listen[DCONF_MAX_LISTEN];
	size_t n_listen;
	const char **zones;       /* ORIGIN=FILE */
	size_t n_zones;
	const char *xdp[DCONF_MAX_IFACES];
	size_t n_xdp;
	const char *workers, *identity, *version, *nsid, *max_udp, *idle, *max_conn, *cache;
	const char *udp_io;
	const char *metrics, *pid_file, *log_level;
	bool check;
};

static int bad_flag(const char *flag, const char *why)
{
	log_err("%s: %s", flag, why);
	return -1;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (*s == '\0' || *e != '\0' || errno != 0 || v < min || v > max || *s == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_duration_ms(const char *s, uint64_t *out)
{
	char *e;
	double v = strtod(s, &e), mult;
	if (e == s || v <= 0)
		return -1;
	if (*e == '\0' || strcmp(e, "s") == 0) mult = 1000;
	else if (strcmp(e, "ms") == 0) mult = 1;
	else if (strcmp(e, "m") == 0) mult = 60000;
	else return -1;
	if (v * mult < 1 || v * mult > 3600e3)
		return -1;
	*out = (uint64_t)(v * mult + 0.5);
	return 0;
}

/* Command-line flags override (or, for zones and XDP interfaces, add to) the file. */
static int apply_flags(dconf_t *c, const struct flags *f)
{
	char why[256];
	unsigned long v;
	if (f->n_listen > 0) {
		c->n_listen = 0;
		for (size_t i = 0; i < f->n_listen; i++)
			if (dconf_add_listen(c, f->listen[i], why, sizeof(why)) != 0)
				return bad_flag("--listen", why);
	}
	for (size_t i = 0; i < f->n_zones; i++) {
		const char *eq = strchr(f->zones[i], '=');
		uint8_t wire[256];
		if (eq == NULL || eq == f->zones[i] || eq[1] == '\0')
			return bad_flag("--zone", "want ORIGIN=FILE");
		char origin[256];
		snprintf(origin, sizeof(origin), "%.*s", (int)(eq - f->zones[i]), f->zones[i]);
		if (anyns_name_from_text(origin, wire, sizeof(wire)) < 0)
			return bad_flag("--zone", "bad origin name");
		if (dconf_add_zone(c, origin, eq + 1) != 0)
			return bad_flag("--zone", "out of memory");
	}
	for (size_t i = 0; i < f->n_xdp; i++)
		if (dconf_add_xdp_iface(c, f->xdp[i], why, sizeof(why)) != 0)
			return bad_flag("--xdp", why);
	if (f->workers != NULL) {
		if (parse_uint(f->workers, 1, 256, &v) != 0)
			return bad_flag("--workers", "want a number from 1 to 256");
		c->workers = (unsigned)v;
	}
	if (f->identity != NULL) {
		free(c->identity);
		c->identity = strcmp(f->identity, "false") == 0 ? NULL : strdup(f->identity);
	}
	if (f->version != NULL) {
		free(c->version);
		c->version = strcmp(f->version, "false") == 0 ? NULL : strdup(f->version);
	}
	if (f->nsid != NULL && dconf_set_nsid(c, f->nsid, why, sizeof(why)) != 0)
		return bad_flag("--nsid", why);
	if (f->max_udp != NULL) {
		if (parse_uint(f->max_udp, 512, 65535, &v) != 0)
			return bad_flag("--max-udp-payload", "want a number from 512 to 65535");
		c->max_udp_payload = (uint16_t)v;
	}
	if (f->cache != NULL) {
		if (strcmp(f->cache, "auto") == 0)
			c->answer_cache = DCONF_CACHE_AUTO;
		else if (parse_uint(f->cache, 0, 1UL << 24, &v) != 0)
			return bad_flag("--answer-cache", "want auto or a number from 0 to 16777216");
		else
			c->answer_cache = (size_t)v;
	}
	if (f->udp_io != NULL && dconf_set_udp_io(c, f->udp_io) != 0)
		return bad_flag("--udp-io", "want poll or threads");
	if (f->idle != NULL && parse_duration_ms(f->idle, &c->tcp_idle_ms) != 0)
		return bad_flag("--tcp-idle-timeout", "want a duration from 1ms to 1h (500ms, 10s)");
	if (f->max_conn != NULL) {
		if (parse_uint(f->max_conn, 1, 1000000, &v) != 0)
			return bad_flag("--tcp-max-connections", "want a number from 1 to 1000000");
		c->tcp_max_conn = (unsigned)v;
	}
	if (f->metrics != NULL) {
		dconf_listen_t tmp;
		if (dconf_parse_addr(f->metrics, 9153, &tmp, why, sizeof(why)) != 0)
			return bad_flag("--metrics", why);
		free(c->metrics);
		c->metrics = strdup(f->metrics);
	}
	if (f->pid_file != NULL) {
		free(c->pid_file);
		c->pid_file = strdup(f->pid_file);
	}
	if (f->log_level != NULL) {
		int l = log_level_parse(f->log_level);
		if (l < 0)
			return bad_flag("--log-level", "want error, warning, info or debug");
		c->log_level = l;
	}
	if (c->n_listen == 0) {
		/* Like NSD: every address, answered from the address asked. */
		if (dconf_add_listen(c, "0.0.0.0:53", why, sizeof(why)) != 0 ||
		    dconf_add_listen(c, "[::]:53", why, sizeof(why)) != 0)
			return bad_flag("listen", why);
	}
	return 0;
}

enum {
	OPT_LISTEN = 256, OPT_ZONE, OPT_WORKERS, OPT_IDENTITY, OPT_SVERSION, OPT_NSID,
	OPT_MAXUDP, OPT_CACHE, OPT_UDPIO, OPT_IDLE, OPT_MAXCONN, OPT_XDP, OPT_METRICS, OPT_PIDFILE, OPT_CHECK,
};

static const struct option g_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "zone", required_argument, NULL, OPT_ZONE },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "server-version", required_argument, NULL, OPT_SVERSION },
	{ "nsid", required_argument, NULL, OPT_NSID },
	{ "max-udp-payload", required_argument, NULL, OPT_MAXUDP },
	{ "answer-cache", required_argument, NULL, OPT_CACHE },
	{ "udp-io", required_argument, NULL, OPT_UDPIO },
	{ "tcp-idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "tcp-max-connections", required_argument, NULL, OPT_MAXCONN },
	{ "xdp", required_argument, NULL, OPT_XDP },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "pid-file", required_argument, NULL, OPT_PIDFILE },
	{ "log-level", required_argument, NULL, 'l' },
	{ "check-config", no_argument, NULL, OPT_CHECK },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0, 1 (exit 0 now: --help/--version) or -1 (usage error). */
static int parse_args(int argc, char **argv, struct flags *f)
{
	int ch;
	while ((ch = getopt_long(argc, argv, "c:l:hV", g_opts, NULL)) != -1) {
		switch (ch) {
		case 'c': f->config = optarg; break;
		case OPT_LISTEN:
			if (f->n_listen >= DCONF_MAX_LISTEN)
				return bad_flag("--listen", "too many addresses");
			f->listen[f->n_listen++] = optarg;
			break;
		case OPT_ZONE: {
			const char **z = realloc(f->zones, (f->n_zones + 1) * sizeof(*z));
			if (z == NULL)
				return -1;
			f->zones = z;
			z[f->n_zones++] = optarg;
			break;
		}
		case OPT_XDP:
			if (f->n_xdp >= DCONF_MAX_IFACES)
				return bad_flag("--xdp", "too many interfaces");
			f->xdp[f->n_xdp++] = optarg;
			break;
		case OPT_WORKERS: f->workers = optarg; break;
		case OPT_IDENTITY: f->identity = optarg; break;
		case OPT_SVERSION: f->version = optarg; break;
		case OPT_NSID: f->nsid = optarg; break;
		case OPT_MAXUDP: f->max_udp = optarg; break;
		case OPT_CACHE: f->cache = optarg; break;
		case OPT_UDPIO: f->udp_io = optarg; break;
		case OPT_IDLE: f->idle = optarg; break;
		case OPT_MAXCONN: f->max_conn = optarg; break;
		case OPT_METRICS: f->metrics = optarg; break;
		case OPT_PIDFILE: f->pid_file = optarg; break;
		case OPT_CHECK: f->check = true; break;
		case 'l': f->log_level = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("anynsd %s\n", ANYNSD_VERSION); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument \"%s\" (see --help)", argv[optind]);
		return -1;
	}
	return 0;
}

static void answer_conf_from(daemon_t *d)
{
	answer_conf_init(&d->aconf);
	d->aconf.max_udp_payload = d->conf.max_udp_payload;
	if (d->conf.nsid_set) {
		d->aconf.nsid = d->conf.nsid;
		d->aconf.nsid_len = d->conf.nsid_len;
	}
	d->aconf.id_server = d->conf.identity;
	d->aconf.hostname_bind = d->conf.identity;
	d->aconf.version_bind = d->conf.version;
}

/* Enough slots for every name with a couple of types (a uniform query mix
 * over the zone then mostly hits), within bounds: slots cost memory only
 * once filled, but a big zone under uniform load does fill them. */
static size_t cache_auto_size(const zset_t *zs)
{
	size_t names = 0, n = 65536;
	for (size_t i = 0; zs != NULL && i < zset_count(zs); i++) {
		zone_stats_t st;
		zone_get_stats(zset_zone(zs, i), &st);
		names += st.names;
	}
	while (n < 3 * names && n < 262144)
		n <<= 1;
	return n;
}

/* Every TCP connection is a descriptor: raise the soft limit so that
 * tcp-max-connections is reachable (up to the hard limit). */
static void raise_nofile(const dconf_t *c)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)c->tcp_max_conn + 64 + 4 * (rlim_t)c->n_listen * 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < (rlim_t)c->tcp_max_conn + 64)
		log_warn("open files limited to %llu: fewer than tcp-max-connections %u can be open",
		         (unsigned long long)rl.rlim_cur, c->tcp_max_conn);
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		log_err("pid-file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	daemon_t *d = &g_d;
	struct flags f;
	char err[600];
	int ret = 1;
	uv_loop_t loop;

	log_set_ident("anynsd");
	memset(&f, 0, sizeof(f));
	dconf_init(&d->conf);
	int pr = parse_args(argc, argv, &f);
	if (pr != 0) {
		free(f.zones);
		dconf_clear(&d->conf);
		return pr > 0 ? 0 : EXIT_CONFIG;
	}
	if (f.config != NULL) {
		d->conf_path = f.config;
		if (dconf_load_file(&d->conf, f.config, err, sizeof(err)) != 0) {
			log_err("bad config: %s", err);
			free(f.zones);
			dconf_clear(&d->conf);
			return EXIT_CONFIG;
		}
	}
	if (apply_flags(&d->conf, &f) != 0) {
		free(f.zones);
		dconf_clear(&d->conf);
		return EXIT_CONFIG;
	}
	free(f.zones);
	log_set_level((enum log_level)d->conf.log_level);
	answer_conf_from(d);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&d->conf);

	/* Zones: a zone with errors is logged and left out; the rest serve. */
	uint64_t t0 = now_ms();
	unsigned n_ok = 0;
	size_t records = 0;
	if (zones_load(d, &n_ok, &records) != 0) {
		log_err("cannot build the zone set");
		goto out_conf;
	}
	uint64_t t1 = now_ms();
	if (f.check) {
		printf("config OK; %u of %zu zones loaded (%zu records)\n", n_ok, d->conf.n_zones,
		       records);
		ret = n_ok == d->conf.n_zones ? 0 : 1;
		goto out_zones;
	}
	log_info("loaded %u of %zu zones, %zu records, in %llu ms", n_ok, d->conf.n_zones,
	         records, (unsigned long long)(t1 - t0));
	if (n_ok == 0)
		log_err("no zone loaded: every query will be REFUSED");
	else if (n_ok < d->conf.n_zones)
		log_err("%zu zone(s) failed to load and are not served", d->conf.n_zones - n_ok);

	if (d->conf.answer_cache == DCONF_CACHE_AUTO)
		d->conf.answer_cache = cache_auto_size(d->zset);
	log_debug("answer cache: %zu entries per worker", d->conf.answer_cache);

	d->n_workers = d->conf.workers;
	if (d->n_workers == 0) {
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		d->n_workers = nc > 0 ? (unsigned)nc : 1;
	}
	d->udp = udp_api_for(&d->conf);
	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	if (d->workers == NULL)
		goto out_zones;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (worker_new(d, i, &d->workers[i]) != 0)
			goto out_workers;

	if (uv_loop_init(&loop) != 0)
		goto out_workers;
	zones_reload_init(d, &loop);
	const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	for (int i = 0; i < 4; i++) {
		uv_signal_init(&loop, &g_sig[i]);
		uv_signal_start(&g_sig[i], on_signal, sigs[i]);
	}
	hooks_start(d);
	for (unsigned i = 0; i < d->n_workers; i++)
		if (worker_start(d->workers[i]) != 0) {
			log_err("cannot start worker %u", i);
			g_stopping = true;
			zones_reload_close(d);
			for (unsigned j = 0; j <= i; j++)
				worker_stop(d->workers[j]);
			for (int k = 0; k < 4; k++)
				uv_unref((uv_handle_t *)&g_sig[k]);
			break;
		}
	if (!g_stopping) {
		char addrs[512];
		size_t off = 0;
		addrs[0] = '\0';
		for (size_t i = 0; i < d->conf.n_listen && off < sizeof(addrs); i++) {
			int k = snprintf(addrs + off, sizeof(addrs) - off, "%s%s", i ? " " : "",
			                 d->conf.listen[i].text);
			if (k > 0)
				off += (size_t)k;
		}
		log_info("serving on %s with %u workers (UDP %s, TCP)%s", addrs, d->n_workers,
		         d->udp == &udp_api_threads ? "reader threads" : "polled",
		         d->xdp != NULL ? ", XDP on" : "");
		if (d->conf.pid_file != NULL)
			write_pid_file(d->conf.pid_file);
		ret = 0;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_join(d->workers[i]);
	stats_log(d, "exit");
	hooks_stop(d);
	for (int i = 0; i < 4; i++)
		uv_close((uv_handle_t *)&g_sig[i], NULL);
	/* Closing restored the default actions; we are on our way out anyway. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		log_warn("main loop not empty at exit");
	if (d->conf.pid_file != NULL && ret == 0)
		unlink(d->conf.pid_file);
	log_info("stopped");
out_workers:
	hooks_stop(d);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_free(d->workers[i]);
	free(d->workers);
out_zones:
	zones_free(d);
out_conf:
	dconf_clear(&d->conf);
	return ret;
}
