/* anyns-ctl's side in the daemon: a Unix stream socket (server.control) on
 * the main loop. A client sends one line, "[json ]COMMAND [ARGUMENT]", and
 * reads the answer up to the closing line "EXIT N", N being the exit status
 * anyns-ctl returns: 0 done, 1 the command failed (a reload that did not
 * read, a bad config), 2 a bad command or an unknown zone.
 *
 * Each answer is one line per item, "key=value key=value" (values with a
 * space or a quote are quoted), or with json a JSON array of objects with
 * the same keys.
 *
 * Access: the socket is 0600 (0660 and the group of control-group when it is
 * set), and each peer's credentials (SO_PEERCRED) are checked again: root,
 * our own user, or a member of control-group. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "peercred.h"

#define CTL_LINE_MAX   512
#define CTL_TIMEOUT_MS 5000     /* to send the command line */
#define CTL_MAX_CONNS  16

uint64_t daemon_started_ms;

typedef struct ctl_conn {
	uv_pipe_t pipe;
	uv_timer_t timer;
	int handles;
	char line[CTL_LINE_MAX];
	size_t len;
	bool json, answered, waiting;
	bool refused;           /* not allowed: its line is read, then refused */
	size_t zone;            /* reload ZONE: the conf zone asked about */
	bool zone_set;
	struct ctl_conn *next, *prev;
} ctl_conn_t;

static struct {
	daemon_t *d;
	uv_pipe_t listen;
	bool on;
	gid_t gid;
	bool gid_set;
	ctl_conn_t *conns;
	unsigned n_conns;
} g_ctl;

/* ---- output: key=value lines or JSON ------------------------------------ */
typedef struct out {
	prom_buf_t b;
	bool json;
	unsigned items, fields;
} out_t;

static void out_begin(out_t *o)
{
	if (o->json)
		prom_printf(&o->b, "%s{", o->items ? ",\n" : "[\n");
	o->items++;
	o->fields = 0;
}

static void out_end(out_t *o)
{
	prom_printf(&o->b, o->json ? "}" : "\n");
}

static void out_str(out_t *o, const char *k, const char *v)
{
	if (o->json) {
		prom_printf(&o->b, "%s\"%s\":\"", o->fields ? "," : "", k);
		for (const char *p = v; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '"' || c == '\\')
				prom_printf(&o->b, "\\%c", c);
			else if (c < 0x20)
				prom_printf(&o->b, "\\u%04x", c);
			else
				prom_printf(&o->b, "%c", c);
		}
		prom_printf(&o->b, "\"");
	} else if (v[0] == '\0' || strpbrk(v, " \"\t=") != NULL) {
		prom_printf(&o->b, "%s%s=\"", o->fields ? " " : "", k);
		for (const char *p = v; *p; p++)
			prom_printf(&o->b, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
		prom_printf(&o->b, "\"");
	} else {
		prom_printf(&o->b, "%s%s=%s", o->fields ? " " : "", k, v);
	}
	o->fields++;
}

static void out_u64(out_t *o, const char *k, unsigned long long v)
{
	if (o->json)
		prom_printf(&o->b, "%s\"%s\":%llu", o->fields ? "," : "", k, v);
	else
		prom_printf(&o->b, "%s%s=%llu", o->fields ? " " : "", k, v);
	o->fields++;
}

static void out_time(out_t *o, const char *k, time_t t)
{
	char when[32] = "";
	struct tm tm;
	if (t != 0 && gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out_str(o, k, when);
}

/* One item {error: why}; the status to return. */
static int out_error(out_t *o, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int out_error(out_t *o, int status, const char *fmt, ...)
{
	char why[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	out_begin(o);
	out_str(o, "error", why);
	out_end(o);
	return status;
}

/* ---- connections ---------------------------------------------------------- */
static void conn_closed(uv_handle_t *h)
{
	ctl_conn_t *c = h->data;
	if (--c->handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g_ctl.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	g_ctl.n_conns--;
	free(c);
}

static void conn_close(ctl_conn_t *c)
{
	if (uv_is_closing((uv_handle_t *)&c->pipe))
		return;
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

typedef struct wreq {
	uv_write_t w;
	ctl_conn_t *c;
	char *text;
} wreq_t;

static void write_done(uv_write_t *w, int status)
{
	wreq_t *r = (wreq_t *)w;
	free(r->text);
	conn_close(r->c);
	free(r);
}

/* Sends o's text and "EXIT status", then closes. */
static void conn_answer(ctl_conn_t *c, out_t *o, int status)
{
	if (o->json)
		prom_printf(&o->b, o->items ? "\n]\n" : "[]\n");
	prom_printf(&o->b, "EXIT %d\n", status);
	wreq_t *r = calloc(1, sizeof(*r));
	if (r == NULL || o->b.failed) {
		free(r);
		prom_buf_free(&o->b);
		conn_close(c);
		return;
	}
	c->answered = true;
	r->c = c;
	r->text = o->b.text;
	uv_buf_t buf = uv_buf_init(r->text, (unsigned)o->b.len);
	if (uv_write(&r->w, (uv_stream_t *)&c->pipe, &buf, 1, write_done) != 0) {
		free(r->text);
		free(r);
		conn_close(c);
	}
}

/* ---- commands ------------------------------------------------------------------ */
static const char *const xdp_mode_names[] = { "auto", "native", "generic" };

static int cmd_status(daemon_t *d, out_t *o)
{
	uv_update_time(d->reload.loop);
	out_begin(o);
	out_str(o, "version", ANYNSD_VERSION);
	out_u64(o, "pid", (unsigned long long)getpid());
	out_u64(o, "uptime", (unsigned long long)((uv_now(d->reload.loop) - daemon_started_ms) / 1000));
	out_u64(o, "workers", d->n_workers);
	out_str(o, "udp-io", d->udp == &udp_api_threads ? "threads" : "poll");
	char xdp[64] = "off";
	if (d->xdp != NULL)
		snprintf(xdp, sizeof(xdp), "%s", xdp_mode_names[d->conf.xdp_mode % 3]);
	out_str(o, "xdp", xdp);
	out_u64(o, "zones", d->conf.n_zones);
	out_u64(o, "generation", (unsigned long long)__atomic_load_n(&d->generation,
	                                                            __ATOMIC_RELAXED));
	out_u64(o, "reloads", (unsigned long long)d->reload.ok_total);
	out_u64(o, "reloads-failed", (unsigned long long)d->reload.failed_total);
	out_end(o);
	return 0;
}

/* Conf zone named `name` (case and final dot aside), or -1. */
static long zone_index(daemon_t *d, const char *name)
{
	size_t nl = strlen(name);
	if (nl > 1 && name[nl - 1] == '.')
		nl--;
	for (size_t i = 0; i < d->conf.n_zones; i++) {
		const char *o = d->conf.zones[i].origin;
		size_t ol = strlen(o);
		if (ol > 1 && o[ol - 1] == '.')
			ol--;
		if (d->conf.zones[i].removed)
			continue;
		if (ol == nl && strncasecmp(o, name, nl) == 0)
			return (long)i;
	}
	return -1;
}

static void zone_item(daemon_t *d, out_t *o, size_t i)
{
	const dconf_zone_t *zc = &d->conf.zones[i];
	zone_t *z = zones_get(d, i);
	zone_stats_t st;
	time_t at = 0;
	char err[256] = "";
	zones_noted(zc->origin, &at, err, sizeof(err));
	out_begin(o);
	out_str(o, "zone", zc->origin);
	if (z != NULL) {
		zone_get_stats(z, &st);
		out_u64(o, "serial", st.serial);
		out_u64(o, "records", st.records);
	}
	out_time(o, "loaded", z != NULL ? at : 0);
	if (zc->primaries.n > 0 || zc->member) {
		char prim[256] = "";
		if (zc->member)
			snprintf(prim, sizeof(prim), "catalog %s", d->conf.zones[zc->catalog_idx].origin);
		else
			dconf_format_primaries(zc, prim, sizeof(prim));
		out_str(o, "primary", prim);
	} else {
		out_str(o, "file", zc->file != NULL ? zc->file : "");
	}
	const char *state = "ok";
	if (xfrd_expired(d, i))
		state = "expired";
	else if (z == NULL)
		state = err[0] != '\0' ? "failed" : "waiting";
	else if (err[0] != '\0')
		state = "stale";
	out_str(o, "state", state);
	if (err[0] != '\0')
		out_str(o, "error", err);
	out_end(o);
	zone_unref(z);
}

static int cmd_zones(daemon_t *d, out_t *o, const char *arg)
{
	if (arg != NULL) {
		long i = zone_index(d, arg);
		if (i < 0)
			return out_error(o, 2, "no zone %s", arg);
		zone_item(d, o, (size_t)i);
		return 0;
	}
	pthread_mutex_lock(&d->zones_lock);
	size_t n = d->conf.n_zones;
	pthread_mutex_unlock(&d->zones_lock);
	for (size_t i = 0; i < n; i++)
		if (!d->conf.zones[i].removed)
			zone_item(d, o, i);
	return 0;
}

static int cmd_stats(daemon_t *d, out_t *o)
{
	prom_buf_t b = { 0 };
	stats_render(d, &b);
	for (char *line = b.text, *nl; line != NULL && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		char *sp = strrchr(line, ' ');
		if (line[0] == '#' || sp == NULL)
			continue;
		*sp = '\0';
		out_begin(o);
		out_str(o, "name", line);
		out_str(o, "value", sp + 1);
		out_end(o);
	}
	prom_buf_free(&b);
	return b.failed ? out_error(o, 1, "out of memory") : 0;
}

static int cmd_config_check(daemon_t *d, out_t *o)
{
	dconf_t c;
	char err[600] = "";
	if (d->conf_path == NULL)
		return out_error(o, 1, "started without a config file (-c): nothing to check");
	int rc = dconf_read(&c, d->conf_path, d->argc, d->argv, err, sizeof(err));
	if (rc == 0) {
		out_begin(o);
		out_str(o, "config", c.conf_file != NULL ? c.conf_file : d->conf_path);
		out_str(o, "result", "ok");
		out_u64(o, "zones", c.n_zones);
		out_end(o);
	}
	dconf_clear(&c);
	return rc == 0 ? 0 : out_error(o, 1, "%s", err);
}

static void reload_ended(daemon_t *d, void *arg)
{
	ctl_conn_t *c = arg;
	zones_reload_t *r = &d->reload;
	out_t o = { .json = c->json };
	int status = 0;
	c->waiting = false;
	if (uv_is_closing((uv_handle_t *)&c->pipe))
		return;
	if (r->rc != 0) {
		status = out_error(&o, 1, "reload failed: %s", r->conf_err[0] != '\0' ? r->conf_err :
		                   anyns_strerror(r->rc));
	} else if (c->zone_set) {
		long i = zone_index(d, c->line);
		if (i < 0) {
			status = out_error(&o, 2, "no zone %s after the reload", c->line);
		} else {
			zone_item(d, &o, (size_t)i);
			time_t at;
			char err[256] = "";
			zones_noted(c->line, &at, err, sizeof(err));
			status = err[0] != '\0' ? 1 : 0;
		}
	} else {
		out_begin(&o);
		out_str(&o, "result", r->kept[0] || r->failed[0] ? "partial" : "ok");
		out_u64(&o, "generation", (unsigned long long)d->generation);
		out_u64(&o, "loaded", r->n_ok);
		out_u64(&o, "zones", d->conf.n_zones);
		out_u64(&o, "records", r->records);
		out_u64(&o, "reread", r->n_reread);
		out_u64(&o, "unchanged", r->n_unchanged);
		if (r->kept[0])
			out_str(&o, "kept-previous", r->kept);
		if (r->failed[0])
			out_str(&o, "not-served", r->failed);
		out_end(&o);
		status = r->kept[0] || r->failed[0] ? 1 : 0;
	}
	conn_answer(c, &o, status);
}

/* Runs the command in c->line. */
static void conn_command(ctl_conn_t *c)
{
	daemon_t *d = g_ctl.d;
	out_t o = { 0 };
	char *save = NULL;
	char *cmd = strtok_r(c->line, " \t\r", &save);
	if (cmd != NULL && strcmp(cmd, "json") == 0) {
		o.json = c->json = true;
		cmd = strtok_r(NULL, " \t\r", &save);
	}
	char *arg = strtok_r(NULL, " \t\r", &save);
	char *extra = strtok_r(NULL, " \t\r", &save);
	int status;
	log_debug("control: command command=%s arg=%s", log_q(cmd), log_q(arg));
	if (cmd == NULL) {
		status = out_error(&o, 2, "no command");
	} else if (extra != NULL) {
		status = out_error(&o, 2, "%s: too many arguments", cmd);
	} else if (strcmp(cmd, "status") == 0 && arg == NULL) {
		status = cmd_status(d, &o);
	} else if (strcmp(cmd, "zones") == 0) {
		status = cmd_zones(d, &o, arg);
	} else if (strcmp(cmd, "stats") == 0 && arg == NULL) {
		status = cmd_stats(d, &o);
	} else if (strcmp(cmd, "config-check") == 0 && arg == NULL) {
		status = cmd_config_check(d, &o);
	} else if (strcmp(cmd, "reload") == 0) {
		if (arg != NULL && zone_index(d, arg) < 0) {
			status = out_error(&o, 2, "no zone %s", arg);
		} else {
			log_info("control: reload zone=%s", arg ? zones_lq(arg) : "all");
			c->zone_set = arg != NULL;
			if (arg != NULL)
				memmove(c->line, arg, strlen(arg) + 1);
			if (zones_reload_wait(d, c->zone_set ? c->line : NULL, reload_ended, c) == 0) {
				c->waiting = true;
				uv_timer_stop(&c->timer);
				return;
			}
			status = out_error(&o, 1, "no reload can start now (stopping)");
		}
	} else if (strcmp(cmd, "refresh") == 0 || strcmp(cmd, "retransfer") == 0) {
		long i = arg != NULL ? zone_index(d, arg) : -1;
		bool axfr = cmd[2] == 't';
		if (arg == NULL)
			status = out_error(&o, 2, "%s: which zone?", cmd);
		else if (i < 0)
			status = out_error(&o, 2, "no zone %s", arg);
		else if (xfrd_refresh(d, (size_t)i, axfr) != 0)
			status = out_error(&o, 2, "zone %s is not a secondary zone", arg);
		else {
			log_info("control: %s zone=%s", cmd, zones_lq(d->conf.zones[i].origin));
			out_begin(&o);
			out_str(&o, "zone", d->conf.zones[i].origin);
			out_str(&o, "result", axfr ? "transfer started" : "refresh started");
			out_end(&o);
			status = 0;
		}
	} else {
		status = out_error(&o, 2, "unknown command or arguments: %s", cmd);
	}
	conn_answer(c, &o, status);
}

static void conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	ctl_conn_t *c = h->data;
	b->base = c->line + c->len;
	b->len = sizeof(c->line) - 1 - c->len;
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	ctl_conn_t *c = s->data;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	char *nl = strchr(c->line, '\n');
	if (nl == NULL && c->len < sizeof(c->line) - 1)
		return;
	uv_read_stop(s);
	if (nl == NULL) {
		out_t o = { 0 };
		conn_answer(c, &o, out_error(&o, 2, "command line too long"));
		return;
	}
	*nl = '\0';
	if (c->refused) {
		/* Answered after its line is read: a close with unread data would
		 * reach the client as a reset instead of the reason. */
		out_t o = { 0 };
		conn_answer(c, &o, out_error(&o, 2, "permission denied"));
		return;
	}
	conn_command(c);
}

static void conn_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
	if (status != 0)
		return;
	ctl_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	uv_pipe_init(server->loop, &c->pipe, 0);
	uv_timer_init(server->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	c->handles = 2;
	c->next = g_ctl.conns;
	if (c->next != NULL)
		c->next->prev = c;
	g_ctl.conns = c;
	g_ctl.n_conns++;
	/* A client never keeps the daemon from stopping. */
	uv_unref((uv_handle_t *)&c->pipe);
	uv_unref((uv_handle_t *)&c->timer);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	uv_os_fd_t fd;
	char who[96];
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 || !peercred_allowed(fd, g_ctl.gid_set ? &g_ctl.gid : NULL, who, sizeof(who))) {
		log_warn("control: refused %s reason=\"not root, our user or control-group\"", who);
		c->refused = true;
	} else if (g_ctl.n_conns > CTL_MAX_CONNS) {
		out_t o = { 0 };
		conn_answer(c, &o, out_error(&o, 1, "too many control connections"));
		return;
	}
	uv_timer_start(&c->timer, conn_timeout, CTL_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read);
}

/* ---- the socket ------------------------------------------------------------------ */
/* Another process answers on path. */
static bool socket_in_use(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used = false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0) {
		used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != ECONNREFUSED;
		close(fd);
	}
	return used;
}

/* The socket's folder, made 0755 when missing (one level, as /run/anyns). */
static void make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0)
		log_debug("control: mkdir dir=%s", log_q(dir));
}

static int control_start(daemon_t *d)
{
	const char *path = d->conf.control;
	struct stat st;
	if (path == NULL)
		return 0;
	g_ctl.d = d;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_err("control: failed socket=%s error=\"path too long for a Unix socket\"",
		        log_q(path));
		return ANYNS_EINVAL;
	}
	if (d->conf.control_group != NULL) {
		if (peercred_group(d->conf.control_group, &g_ctl.gid) != 0) {
			log_err("control: failed control-group=%s error=\"no such group\"",
			        log_q(d->conf.control_group));
			return ANYNS_EINVAL;
		}
		g_ctl.gid_set = true;
	}
	make_parent(path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("control: failed socket=%s error=\"exists and is not a socket\"",
			        log_q(path));
			return ANYNS_EINVAL;
		}
		if (socket_in_use(path)) {
			log_msg(LOG_WARN,
			        "control: in-use socket=%s hint=\"answered by another process; set "
			        "server.control to a path of this instance's own\"", log_q(path));
			return ANYNS_EINVAL;
		}
		unlink(path);
	}
	uv_pipe_init(d->reload.loop, &g_ctl.listen, 0);
	mode_t old = umask(0177);
	int rc = uv_pipe_bind(&g_ctl.listen, path);
	umask(old);
	if (rc == 0 && g_ctl.gid_set && peercred_socket_mode(path, &g_ctl.gid) != 0)
		rc = uv_translate_sys_error(errno);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&g_ctl.listen, 8, on_connection);
	if (rc != 0) {
		log_err("control: failed socket=%s error=%s", log_q(path), log_q(uv_strerror(rc)));
		uv_close((uv_handle_t *)&g_ctl.listen, NULL);
		return ANYNS_EINVAL;
	}
	uv_unref((uv_handle_t *)&g_ctl.listen);
	g_ctl.on = true;
	log_info("control: listening socket=%s group=%s", log_q(path),
	         g_ctl.gid_set ? log_q(d->conf.control_group) : "-");
	return 0;
}

static void control_stop(daemon_t *d)
{
	if (!g_ctl.on)
		return;
	g_ctl.on = false;
	uv_close((uv_handle_t *)&g_ctl.listen, NULL);
	for (ctl_conn_t *c = g_ctl.conns; c != NULL; c = c->next)
		conn_close(c);
	uv_run(d->reload.loop, UV_RUN_DEFAULT);
	unlink(d->conf.control);
}

const daemon_hook_t control_hook = {
	.name = "control",
	.start = control_start,
	.stop = control_stop,
};
