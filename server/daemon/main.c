/* anynsd: start-up, signals and shutdown. The main thread runs its own libuv
 * loop for signals and reload completion (zones.c); queries are answered by
 * the worker threads (worker.c, udp*.c, tcp.c). */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"
#include "sockets.h"

#define EXIT_CONFIG 2

static daemon_t g_d;
static uv_signal_t g_sig[4];
static bool g_stopping;

static void usage(FILE *f)
{
	fprintf(f, "Usage: anynsd [-c FILE] [options]\n"
	           "Authoritative DNS server for anycast: answers from compiled zones over UDP and "
	           "TCP.\n\n");
	dconf_usage(f);
	fprintf(f,
"\n"
"Signals: SIGHUP re-reads the config and the zone files (a zone that fails keeps\n"
"serving its previous version; settings that need a restart are named and kept),\n"
"SIGUSR1 logs the counters, SIGTERM/SIGINT stop gracefully.\n"
"Exit status: 0 after a clean stop, 1 on a start-up failure, 2 for a bad config.\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- parts with a lifecycle beside the workers ----------------------------- */
static const daemon_hook_t *const g_hooks[] = { &dnstap_hook, &xdp_hook, &metrics_hook,
                                                 &xfr_hook, &control_hook };
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

/* ---- systemd's readiness protocol (sd_notify(3)) ------------------------------ */
/* One datagram to $NOTIFY_SOCKET (a path, or @name in the abstract namespace);
 * nothing when it is not set. */
static void notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("systemd: notify-failed socket=%s error=%s", log_q(path),
		         log_q(strerror(errno)));
	close(fd);
}

/* ---- signals ----------------------------------------------------------------- */
static void reload_notified(daemon_t *d, void *arg)
{
	notify_systemd("READY=1\nSTATUS=serving");
}

static void on_signal(uv_signal_t *h, int signum)
{
	switch (signum) {
	case SIGHUP:
		notify_systemd("RELOADING=1");
		zones_reload_wait(&g_d, NULL, reload_notified, NULL);
		break;
	case SIGUSR1:
		stats_log(&g_d, "SIGUSR1");
		break;
	default:
		if (g_stopping)
			break;
		g_stopping = true;
		zones_reload_close(&g_d);
		log_info("daemon: stopping signal=%s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
		notify_systemd("STOPPING=1");
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
	d->aconf.minimal_responses = d->conf.minimal_responses;
}

/* Enough slots for every name with a couple of types (a uniform query mix
 * over the zone then mostly hits), within bounds: slots cost memory only
 * once filled, but a big zone under uniform load does fill them. Answers
 * from a signed zone to DO=1 queries are 3-5 times larger (RRSIGs, NSEC3
 * proofs, 700-1000 bytes against 60-200): four times the room then. */
static size_t cache_auto_size(const zset_t *zs)
{
	size_t names = 0, n = 65536, max = 262144;
	bool sig = false;
	for (size_t i = 0; zs != NULL && i < zset_count(zs); i++) {
		zone_stats_t st;
		zone_get_stats(zset_zone(zs, i), &st);
		names += st.names;
		sig = sig || st.rrsigs > 0;
	}
	if (sig) {
		names *= 4;
		max *= 4;
	}
	while (n < 3 * names && n < max)
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
		log_warn("tcp: limited open-files=%llu tcp-max-connections=%u "
		         "reason=\"fewer connections than tcp-max-connections can be open\"",
		         (unsigned long long)rl.rlim_cur, c->tcp_max_conn);
}

/* server.user/group resolved before anything starts, so that a wrong name
 * is a config error. Root without server.user is refused: a server facing
 * the internet keeps root only when the config says so (user: root). With
 * check set (--check-config) a user this machine lacks is only a warning:
 * the config may be meant for another one. *drop: there is someone to become. */
static int resolve_user(const dconf_t *c, bool check, uid_t *uid, gid_t *gid, bool *drop,
                        char *err, size_t errlen)
{
	*drop = false;
	if (c->user == NULL) {
		if (c->group != NULL) {
			snprintf(err, errlen, "server.group: needs server.user");
			return -1;
		}
		if (geteuid() == 0) {
			snprintf(err, errlen, "server.user: not set while running as root; set a user "
			         "(--user NAME) that can read the zone files, or user: root to keep root");
			return -1;
		}
		return 0;
	}
	struct passwd *pw = getpwnam(c->user);
	if (pw == NULL && check) {
		log_warn("config: no-such-user key=server.user user=%s", log_q(c->user));
		return 0;
	}
	if (pw == NULL) {
		snprintf(err, errlen, "server.user: no user %s", c->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (c->group != NULL) {
		struct group *gr = getgrnam(c->group);
		if (gr == NULL) {
			snprintf(err, errlen, "server.group: no group %s", c->group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	if (*uid == 0 && geteuid() == 0)
		log_warn("privileges: keeping-root user=%s reason=\"as configured; a flaw in anynsd "
		         "would give an attacker the machine\"", log_q(c->user));
	if (*uid == geteuid() && *gid == getegid())
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen, "server.user: only root can become %s", c->user);
		return -1;
	}
	*drop = true;
	return 0;
}

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* Leaves the calling thread with exactly the capabilities in mask, permitted
 * and effective (none inheritable). */
static int caps_keep_only(uint64_t mask)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (uint32_t)mask;
	data[1].permitted = data[1].effective = (uint32_t)(mask >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Becomes uid/gid for good (every thread: glibc applies set*id to all), with
 * no supplementary groups and no way back (no_new_privs). No capability is
 * left, but for CAP_BPF when keep_bpf: with XDP on, a reload refreshes the
 * program's maps, and on kernels before 6.5 with unprivileged bpf() disabled
 * (Debian 12's default) every map update needs it; without it the driver
 * would go on answering from the old zone set. Only the calling thread keeps
 * it: the workers, started after this, inherit it. */
static int drop_privileges(uid_t uid, gid_t gid, const char *user, bool keep_bpf)
{
	if (keep_bpf && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
		log_err("daemon: user-failed user=%s error=%s", log_q(user), log_q(strerror(errno)));
		return -1;
	}
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		log_err("daemon: user-failed user=%s error=%s", log_q(user), log_q(strerror(errno)));
		return -1;
	}
	if (keep_bpf && uid != 0) {
		if (caps_keep_only(1ull << CAP_BPF) != 0) {
			log_err("daemon: user-failed user=%s error=%s reason=\"cannot keep CAP_BPF for "
			        "the XDP maps\"", log_q(user), log_q(strerror(errno)));
			return -1;
		}
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_err("daemon: user-failed user=%s error=\"root could be regained\"", log_q(user));
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	log_info("daemon: user user=%s uid=%u gid=%u caps=%s", log_q(user), (unsigned)uid,
	         (unsigned)gid, uid == 0 ? "all" : keep_bpf ? "cap_bpf" : "none");
	return 0;
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		log_err("daemon: pid-file-failed file=%s error=%s", log_q(path), log_q(strerror(errno)));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	daemon_t *d = &g_d;
	char err[600] = "";
	int ret = 1;
	uv_loop_t loop;

	pthread_mutex_init(&d->zones_lock, NULL);
	log_set_ident("anynsd");
	/* The flags alone first: to find the config file, and to refuse a bad
	 * flag before reading anything. */
	dconf_cmd_t cl;
	if (dconf_cmdline(&cl, argc, argv, err, sizeof(err)) != 0 || cl.help || cl.version) {
		if (err[0] != '\0')
			log_err("config: bad error=%s", log_q(err));
		else if (cl.help)
			usage(stdout);
		else
			printf("anynsd %s\n", ANYNSD_VERSION);
		opt_release(dconf_cmd_options, &cl);
		return err[0] != '\0' ? EXIT_CONFIG : 0;
	}
	d->conf_path = cl.config;
	d->argc = argc;
	d->argv = argv;
	if (dconf_read(&d->conf, cl.config, argc, argv, err, sizeof(err)) != 0) {
		log_err("config: bad error=%s", log_q(err));
		ret = EXIT_CONFIG;
		goto out_conf;
	}
	log_set_level((enum log_level)d->conf.log_level);
	if (d->conf.log_target != NULL && log_set_target(d->conf.log_target, err, sizeof(err)) != 0) {
		log_err("config: bad key=server.log error=%s", log_q(err));
		ret = EXIT_CONFIG;
		goto out_conf;
	}
	uid_t run_uid = 0;
	gid_t run_gid = 0;
	bool drop = false;
	if (resolve_user(&d->conf, cl.check, &run_uid, &run_gid, &drop, err, sizeof(err)) != 0) {
		log_err("config: bad error=%s", log_q(err));
		ret = EXIT_CONFIG;
		goto out_conf;
	}
	answer_conf_from(d);
	if (defences_start(d) != 0)
		goto out_conf;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&d->conf);

	/* Zones: a zone with errors is logged and left out; the rest serve. */
	uint64_t t0 = now_ms();
	unsigned n_ok = 0;
	size_t records = 0;
	if (zones_load(d, &n_ok, &records) != 0) {
		log_err("zones: failed error=\"cannot build the zone set\"");
		goto out_conf;
	}
	uint64_t t1 = now_ms();
	if (cl.check) {
		printf("config OK; %u of %zu zones loaded (%zu records)\n", n_ok, d->conf.n_zones,
		       records);
		ret = n_ok == d->conf.n_zones ? 0 : 1;
		goto out_zones;
	}
	log_info("zones: loaded zones=%zu loaded=%u records=%zu ms=%llu", d->conf.n_zones, n_ok,
	         records, (unsigned long long)(t1 - t0));
	if (n_ok == 0)
		log_err("zones: none-loaded reason=\"every query will be REFUSED\"");
	else if (n_ok < d->conf.n_zones)
		log_err("zones: not-served count=%zu", d->conf.n_zones - n_ok);

	if (d->conf.answer_cache == DCONF_CACHE_AUTO) {
		d->answer_cache_auto = true;
		d->conf.answer_cache = cache_auto_size(d->zset);
	}
	log_debug("cache: size entries-per-worker=%zu", d->conf.answer_cache);

	d->n_workers = d->conf.workers;
	if (d->n_workers == 0) {
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		d->n_workers = nc > 0 ? (unsigned)nc : 1;
	}
	for (size_t i = 0; i < d->conf.n_listen; i++) {
		const dconf_listen_t *l = &d->conf.listen[i];
		for (int t = 0; t < 2; t++) {
			int rc = socket_check_free(l, t == 0 ? SOCK_DGRAM : SOCK_STREAM);
			if (rc == -EADDRINUSE) {
				log_err("listen: in-use address=%s proto=%s reason=\"already served by "
				        "another process; not sharing it (both would get part of the "
				        "queries)\"", log_q(l->text), t == 0 ? "udp" : "tcp");
				goto out_zones;
			}
			if (rc != 0) {
				log_err("listen: failed address=%s proto=%s error=%s", log_q(l->text),
				        t == 0 ? "udp" : "tcp", log_q(strerror(-rc)));
				goto out_zones;
			}
		}
	}
	d->udp = udp_api_for(&d->conf);
	d->tcp_src = tcp_sources_new(d->conf.tcp_max_conn);
	d->workers = calloc(d->n_workers, sizeof(*d->workers));
	if (d->workers == NULL || d->tcp_src == NULL)
		goto out_workers;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (worker_new(d, i, &d->workers[i]) != 0)
			goto out_workers;

	if (uv_loop_init(&loop) != 0)
		goto out_workers;
	daemon_started_ms = uv_now(&loop);
	zones_reload_init(d, &loop);
	const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	for (int i = 0; i < 4; i++) {
		uv_signal_init(&loop, &g_sig[i]);
		uv_signal_start(&g_sig[i], on_signal, sigs[i]);
	}
	hooks_start(d);
	/* Sockets bound, XDP attached, zones read: nothing left that needs root
	 * (XDP's maps aside). Dropped before the workers start, so that their
	 * threads inherit what is kept; the pid file first, where root may write. */
	if (d->conf.pid_file != NULL)
		write_pid_file(d->conf.pid_file);
	if (drop && drop_privileges(run_uid, run_gid, d->conf.user, d->xdp != NULL) != 0) {
		g_stopping = true;
		zones_reload_close(d);
		for (int k = 0; k < 4; k++)
			uv_unref((uv_handle_t *)&g_sig[k]);
		ret = 1;
	}
	for (unsigned i = 0; !g_stopping && i < d->n_workers; i++)
		if (worker_start(d->workers[i]) != 0) {
			log_err("worker: start-failed worker=%u", i);
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
			int k = snprintf(addrs + off, sizeof(addrs) - off, "%s%s", i ? "," : "",
			                 d->conf.listen[i].text);
			if (k > 0)
				off += (size_t)k;
		}
		log_info("daemon: serving listen=%s workers=%u udp=%s tcp=on xdp=%s", log_q(addrs),
		         d->n_workers, d->udp == &udp_api_threads ? "threads" : "polled",
		         d->xdp != NULL ? "on" : "off");
		char ready[128];
		snprintf(ready, sizeof(ready), "READY=1\nSTATUS=serving %u zones\nMAINPID=%ld", n_ok,
		         (long)getpid());
		notify_systemd(ready);
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
		log_warn("daemon: loop-not-empty loop=main");
	if (d->conf.pid_file != NULL && ret == 0)
		unlink(d->conf.pid_file);
	log_info("daemon: stopped");
out_workers:
	hooks_stop(d);
	for (unsigned i = 0; d->workers != NULL && i < d->n_workers; i++)
		worker_free(d->workers[i]);
	free(d->workers);
	tcp_sources_free(d->tcp_src);
out_zones:
	zones_free(d);
out_conf:
	defences_stop(d);
	dconf_clear(&d->conf);
	opt_release(dconf_cmd_options, &cl);
	return ret;
}
