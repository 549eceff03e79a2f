/* anyns-health: keeps the anycast prefixes announced only while the local DNS
 * server answers correctly. One libuv loop: per service a timer starts a round
 * of checks; the round's outcome goes through the state machine (hsm.c) and the
 * wanted route goes to the backend only when it changes. See README.md. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "backend.h"
#include "ctl.h"
#include "errors.h"
#include "hconf.h"
#include "hsm.h"
#include "hstate.h"
#include "log.h"
#include "probe.h"
#include "prom.h"
#include "watchdog.h"
#include "xcheck.h"

#define EXPORTED_EVERY 10   /* rounds between two "is it exported?" questions */

struct app;

/* Our few error codes in words (the engine library is not linked here). */
static const char *hk_strerror(int e)
{
	switch (e) {
	case 0: return "ok";
	case ANYNS_ENOMEM: return "out of memory";
	case ANYNS_EINVAL: return "failed";
	case ANYNS_ESPACE: return "no space";
	case ANYNS_ENOENT: return "speaker gone";
	default: return "error";
	}
}

typedef struct chk_ctx {
	struct svc *s;
	size_t i;
} chk_ctx_t;

typedef struct svc {
	struct app *app;
	struct grp *g;
	size_t idx;
	const hservice_conf_t *c;
	hsm_t sm;
	uv_timer_t drain_timer;     /* end of DRAINING */
	probe_result_t *res;
	chk_ctx_t *ctx;
	uint64_t (*cnt)[3];         /* per check: good, slow, bad */
	enum hsm_route applied;
	bool apply_failed;
	int exported;               /* -1 unknown */
	unsigned rounds;
	bool ctl_drained;           /* the operator's drain (ctl), saved in the state file */
	bool maint;                 /* the maintenance file exists */
} svc_t;

/* Services served by one DNS server: one round runs the checks of all of them
 * and its worst outcome goes to each one's state machine, so a wrong answer on
 * any address takes every prefix of the group out. */
typedef struct grp {
	struct app *app;
	const char *name;
	svc_t **m;
	size_t n;
	uv_timer_t timer;           /* next round */
	size_t pending;
	uint64_t last_end;          /* when the last round ended (loop time) */
	uint64_t bound_ms;          /* a round ends within this after the last one */
} grp_t;

typedef struct app {
	uv_loop_t loop;
	hconf_t *conf;
	hbk_t *bk;
	svc_t *svc;
	size_t nsvc;
	grp_t *grp;
	size_t ngrp;
	uv_signal_t sigterm, sigint, sighup;
	uv_poll_t bkpoll;
	bool bkpoll_on;
	ctl_t *ctl;
	prom_t *met;
	int beat_fd;                /* watchdog pipe, -1 = none */
	bool *keep;                 /* per service: resumed, ExaBGP keeps the route */
	bool state_dirty;           /* something the state file holds changed */
	char boot[48];
	uv_timer_t beat;
	int exit_code;
	bool stopping;
} app_t;

static void app_stop(app_t *a, int code);

/* ---- metrics ------------------------------------------------------------ */

static void metrics_render(app_t *a)
{
	if (!a->met)
		return;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return;
	uint64_t now = uv_now(&a->loop);
	fprintf(f, "# HELP anyns_health_state Current state of the service (1 for the current one).\n"
	           "# TYPE anyns_health_state gauge\n");
	for (size_t i = 0; i < a->nsvc; i++)
		for (int st = 0; st < HSM_NSTATES; st++)
			fprintf(f, "anyns_health_state{service=\"%s\",state=\"%s\"} %d\n",
			        a->svc[i].c->name, hsm_state_lname(st), (int)a->svc[i].sm.state == st);
	fprintf(f, "# HELP anyns_health_announced Whether the hook has the route announced.\n"
	           "# TYPE anyns_health_announced gauge\n");
	for (size_t i = 0; i < a->nsvc; i++)
		fprintf(f, "anyns_health_announced{service=\"%s\"} %d\n", a->svc[i].c->name,
		        a->svc[i].applied != HSM_WITHDRAWN);
	fprintf(f, "# HELP anyns_health_backend_exported Whether the BGP speaker reports the route exported (-1 unknown).\n"
	           "# TYPE anyns_health_backend_exported gauge\n");
	for (size_t i = 0; i < a->nsvc; i++)
		fprintf(f, "anyns_health_backend_exported{service=\"%s\"} %d\n", a->svc[i].c->name,
		        a->svc[i].exported);
	fprintf(f, "# HELP anyns_health_transitions_total State transitions.\n"
	           "# TYPE anyns_health_transitions_total counter\n");
	for (size_t i = 0; i < a->nsvc; i++)
		fprintf(f, "anyns_health_transitions_total{service=\"%s\"} %llu\n", a->svc[i].c->name,
		        (unsigned long long)a->svc[i].sm.transitions);
	fprintf(f, "# HELP anyns_health_flap_penalty Flap penalty (decays with the half-life).\n"
	           "# TYPE anyns_health_flap_penalty gauge\n");
	for (size_t i = 0; i < a->nsvc; i++)
		fprintf(f, "anyns_health_flap_penalty{service=\"%s\"} %.1f\n", a->svc[i].c->name,
		        hsm_penalty(&a->svc[i].sm, now));
	fprintf(f, "# HELP anyns_health_check_ok Whether the last run of the check held.\n"
	           "# TYPE anyns_health_check_ok gauge\n");
	for (size_t i = 0; i < a->nsvc; i++)
		for (size_t j = 0; j < a->svc[i].c->nchecks; j++)
			fprintf(f, "anyns_health_check_ok{service=\"%s\",check=\"%s\"} %d\n",
			        a->svc[i].c->name, a->svc[i].c->checks[j].name,
			        a->svc[i].res[j].res == HSM_GOOD);
	fprintf(f, "# HELP anyns_health_check_latency_seconds Latency of the last answer.\n"
	           "# TYPE anyns_health_check_latency_seconds gauge\n");
	for (size_t i = 0; i < a->nsvc; i++)
		for (size_t j = 0; j < a->svc[i].c->nchecks; j++)
			fprintf(f, "anyns_health_check_latency_seconds{service=\"%s\",check=\"%s\"} %.6f\n",
			        a->svc[i].c->name, a->svc[i].c->checks[j].name,
			        (double)a->svc[i].res[j].latency_us / 1e6);
	fprintf(f, "# HELP anyns_health_checks_total Check runs by result.\n"
	           "# TYPE anyns_health_checks_total counter\n");
	static const char *const rn[3] = { "ok", "slow", "fail" };
	for (size_t i = 0; i < a->nsvc; i++)
		for (size_t j = 0; j < a->svc[i].c->nchecks; j++)
			for (int r = 0; r < 3; r++)
				fprintf(f, "anyns_health_checks_total{service=\"%s\",check=\"%s\",result=\"%s\"} %llu\n",
				        a->svc[i].c->name, a->svc[i].c->checks[j].name, rn[r],
				        (unsigned long long)a->svc[i].cnt[j][r]);
	fclose(f);
	prom_publish(a->met, text, len);
	free(text);
}

/* ---- routes ------------------------------------------------------------- */

static const char *route_name(enum hsm_route r)
{
	switch (r) {
	case HSM_ANNOUNCE: return "announced";
	case HSM_ANNOUNCE_DEGRADED: return "announced-depreferred";
	case HSM_ANNOUNCE_DRAIN: return "announced-graceful-shutdown";
	default: return "withdrawn";
	}
}

static void refresh_exported(svc_t *s)
{
	hroute_t r;
	bool ex = false;
	hroute_make(&r, s->c, s->idx, s->applied, hsm_state_lname(s->sm.state), s->sm.reason);
	if (s->app->bk->ops->exported && s->app->bk->ops->exported(s->app->bk, &r, &ex) == 0)
		s->exported = ex;
	else
		s->exported = -1;
}

/* Tells the backend when the wanted route differs from what it has. */
static void apply(svc_t *s)
{
	app_t *a = s->app;
	enum hsm_route want = hsm_route(&s->sm);
	if (want == s->applied && !s->apply_failed)
		return;
	hroute_t r;
	hroute_make(&r, s->c, s->idx, want, hsm_state_lname(s->sm.state), s->sm.reason);
	int rc = want == HSM_WITHDRAWN ? a->bk->ops->withdraw(a->bk, &r)
	                               : a->bk->ops->announce(a->bk, &r);
	if (rc < 0) {
		s->apply_failed = true;
		log_err("route: failed service=%s prefix=%s backend=%s error=%s", log_q(s->c->name),
		        log_q(s->c->prefix), a->bk->ops->name, log_q(hk_strerror(rc)));
		/* ANYNS_ENOENT: the speaker went away (ExaBGP closed our stdin). */
		if (rc == ANYNS_ENOENT && !a->stopping)
			app_stop(a, 1);
		return;
	}
	s->apply_failed = false;
	if (s->applied != want)
		a->state_dirty = true;
	s->applied = want;
	log_info("route: %s service=%s prefix=%s", route_name(want), log_q(s->c->name),
	         log_q(s->c->prefix));
	refresh_exported(s);
}

/* ---- state file --------------------------------------------------------- */

static void state_save(app_t *a)
{
	if (!*a->conf->state_file)
		return;
	hstate_t st;
	memset(&st, 0, sizeof(st));
	st.svc = calloc(a->nsvc, sizeof(*st.svc));
	if (!st.svc)
		return;
	snprintf(st.boot, sizeof(st.boot), "%s", a->boot);
	uint64_t now = uv_now(&a->loop);
	double wall = hstate_now();
	for (size_t i = 0; i < a->nsvc; i++) {
		svc_t *s = &a->svc[i];
		hstate_svc_t *o = &st.svc[st.n++];
		snprintf(o->name, sizeof(o->name), "%s", s->c->name);
		/* A stop is deliberate: the next instance starts with the full rise
		 * even when the withdraw failed (the speaker went first). */
		o->announced = s->applied != HSM_WITHDRAWN && !a->stopping;
		o->drained = s->ctl_drained;
		o->suppressed = s->sm.suppressed;
		o->penalty = hsm_penalty(&s->sm, now);
		o->time = wall;
	}
	if (hstate_save(a->conf->state_file, &st) < 0)
		log_warn("state: write-failed file=%s error=%s", log_q(a->conf->state_file),
		         log_q(strerror(errno)));
	else
		a->state_dirty = false;
	hstate_clear(&st);
}

static void state_maybe_save(app_t *a)
{
	if (a->state_dirty)
		state_save(a);
}

/* Takes over what the previous instance saved; see hsm_restore(). */
static void state_restore(app_t *a)
{
	hstate_boot_id(a->boot, sizeof(a->boot));
	if (!*a->conf->state_file)
		return;
	hstate_t st;
	char err[300];
	int rc = hstate_load(a->conf->state_file, &st, err, sizeof(err));
	if (rc == ANYNS_ENOENT)
		return;
	if (rc < 0) {
		log_warn("state: unreadable error=%s action=start-afresh", log_q(err));
		return;
	}
	bool same_boot = *a->boot && !strcmp(st.boot, a->boot);
	uint64_t now = uv_now(&a->loop);
	double wall = hstate_now();
	for (size_t i = 0; i < a->nsvc; i++) {
		svc_t *s = &a->svc[i];
		const hstate_svc_t *o = hstate_find(&st, s->c->name);
		if (!o)
			continue;
		double pen = o->penalty, half = (double)s->c->sm.flap.half_life_ms / 1000.0;
		if (half > 0 && wall > o->time)
			pen *= exp2(-(wall - o->time) / half);
		bool announced = o->announced && same_boot && !o->drained;
		s->ctl_drained = o->drained;
		hsm_restore(&s->sm, pen, o->suppressed, o->drained, announced, now);
		if (announced && a->conf->bk.type == HBK_EXABGP && s->sm.resume) {
			/* ExaBGP still has the route: keep it until the first round
			 * (apply_failed makes that round tell ExaBGP either way). */
			a->keep[i] = true;
			s->applied = HSM_ANNOUNCE;
			s->apply_failed = true;
		} else if (announced) {
			/* The route went with the dead hook (guard device,
			 * supervisor): that was a flap. */
			hsm_add_flap(&s->sm, now);
		}
		log_info("state: restored service=%s was=%s kept=%s penalty=%.0f suppressed=%s",
		         log_q(s->c->name), o->drained ? "drained" : announced ? "announced" : "withdrawn",
		         a->keep[i] ? "yes" : "no", hsm_penalty(&s->sm, now),
		         s->sm.suppressed ? "yes" : "no");
	}
	hstate_clear(&st);
}

/* ---- rounds ------------------------------------------------------------- */

static void round_start(grp_t *g);
static void maint_check(svc_t *s);

static void on_round_timer(uv_timer_t *t)
{
	round_start(t->data);
}

static void round_end(grp_t *g)
{
	app_t *a = g->app;
	if (a->stopping)
		return;
	enum hsm_result worst = HSM_GOOD;
	char why[200] = "all checks hold";
	for (size_t k = 0; k < g->n; k++) {
		svc_t *s = g->m[k];
		for (size_t i = 0; i < s->c->nchecks; i++) {
			s->cnt[i][s->res[i].res]++;
			if (s->res[i].res > worst) {
				worst = s->res[i].res;
				if (g->n > 1)
					snprintf(why, sizeof(why), "%s: %s", s->c->name, s->res[i].why);
				else
					snprintf(why, sizeof(why), "%s", s->res[i].why);
			}
		}
	}
	uint64_t now = uv_now(&a->loop);
	bool fast = false;
	g->last_end = now;
	for (size_t k = 0; k < g->n && !a->stopping; k++) {
		svc_t *s = g->m[k];
		maint_check(s);
		enum hsm_state old = s->sm.state;
		if (hsm_input(&s->sm, worst, why, now)) {
			log_info("service: state service=%s from=%s to=%s reason=%s", log_q(s->c->name),
			         hsm_state_name(old), hsm_state_name(s->sm.state), log_q(s->sm.reason));
			a->state_dirty = true;
		}
		else if (worst != HSM_GOOD)
			log_debug("service: round service=%s result=%s reason=%s", log_q(s->c->name),
			          worst == HSM_BAD ? "bad" : "slow", log_q(why));
		apply(s);
		if (++s->rounds % EXPORTED_EVERY == 0)
			refresh_exported(s);
		fast = fast || hsm_fast(&s->sm);
	}
	state_maybe_save(a);
	metrics_render(a);
	if (a->stopping)
		return;
	uint64_t next = UINT64_MAX;
	for (size_t k = 0; k < g->n; k++) {
		uint64_t v = fast ? g->m[k]->c->fast_ms : g->m[k]->c->interval_ms;
		if (v < next)
			next = v;
	}
	uv_timer_start(&g->timer, on_round_timer, next, 0);
}

static void on_check_done(void *ctx, const probe_result_t *r)
{
	chk_ctx_t *c = ctx;
	svc_t *s = c->s;
	s->res[c->i] = *r;
	if (--s->g->pending == 0)
		round_end(s->g);
}

static void round_start(grp_t *g)
{
	if (g->app->stopping)
		return;
	g->pending = 0;
	for (size_t k = 0; k < g->n; k++)
		g->pending += g->m[k]->c->nchecks;
	for (size_t k = 0; k < g->n; k++) {
		svc_t *s = g->m[k];
		for (size_t i = 0; i < s->c->nchecks; i++) {
			s->ctx[i].s = s;
			s->ctx[i].i = i;
			const hcheck_conf_t *ck = &s->c->checks[i];
			int rc = ck->kind == HCHECK_EXEC
			       ? xcheck_start(&s->app->loop, ck, on_check_done, &s->ctx[i])
			       : probe_start(&s->app->loop, ck, on_check_done, &s->ctx[i]);
			if (rc < 0) {
				probe_result_t r = { .res = HSM_BAD };
				snprintf(r.why, sizeof(r.why), "%s: cannot start: %s",
				         s->c->checks[i].name, hk_strerror(rc));
				on_check_done(&s->ctx[i], &r);
			}
		}
	}
}

/* ---- drain -------------------------------------------------------------- */

static void on_drain_timer(uv_timer_t *t)
{
	svc_t *s = t->data;
	enum hsm_state old = s->sm.state;
	if (hsm_tick(&s->sm, uv_now(&s->app->loop))) {
		log_info("service: state service=%s from=%s to=%s reason=%s", log_q(s->c->name),
		         hsm_state_name(old), hsm_state_name(s->sm.state), log_q(s->sm.reason));
		apply(s);
		state_maybe_save(s->app);
		metrics_render(s->app);
	}
}

static bool svc_draining(const svc_t *s)
{
	return s->sm.state == HSM_DRAINING || s->sm.state == HSM_DRAINED;
}

/* Drained while the operator asked for it (ctl) or the maintenance file
 * exists; back (through DOWN and rise) when neither holds. */
static void svc_drain_update(svc_t *s)
{
	bool want = s->ctl_drained || s->maint;
	if (want == svc_draining(s))
		return;
	uint64_t now = uv_now(&s->app->loop);
	enum hsm_state old = s->sm.state;
	bool changed = want ? hsm_drain(&s->sm, now) : hsm_undrain(&s->sm, now);
	if (!changed)
		return;
	log_info("service: state service=%s from=%s to=%s reason=%s maintenance-file=%s",
	         log_q(s->c->name), hsm_state_name(old), hsm_state_name(s->sm.state),
	         log_q(s->sm.reason), s->maint ? "present" : "absent");
	if (s->sm.state == HSM_DRAINING)
		uv_timer_start(&s->drain_timer, on_drain_timer, s->c->sm.drain_ms, 0);
	else
		uv_timer_stop(&s->drain_timer);
	s->app->state_dirty = true;
	apply(s);
	state_maybe_save(s->app);
	metrics_render(s->app);
}

static void svc_drain(svc_t *s, bool drain)
{
	if (s->ctl_drained != drain)
		s->app->state_dirty = true;
	s->ctl_drained = drain;
	svc_drain_update(s);
	state_maybe_save(s->app);
}

static void maint_check(svc_t *s)
{
	if (!s->c->maint_file)
		return;
	bool m = access(s->c->maint_file, F_OK) == 0;
	if (m == s->maint)
		return;
	s->maint = m;
	log_info("service: maintenance-file service=%s file=%s present=%s", log_q(s->c->name),
	         log_q(s->c->maint_file), m ? "yes" : "no");
	svc_drain_update(s);
}

/* ---- control socket ----------------------------------------------------- */

static void on_ctl(void *ctx, const char *cmd, const char *arg, char *out, size_t cap)
{
	app_t *a = ctx;
	size_t off = 0;
	bool drain = !strcmp(cmd, "drain"), undrain = !strcmp(cmd, "undrain");
	if (!strcmp(cmd, "status")) {
		off += (size_t)snprintf(out + off, cap - off, "ok\n");
		uint64_t now = uv_now(&a->loop);
		for (size_t i = 0; i < a->nsvc && off < cap; i++) {
			svc_t *s = &a->svc[i];
			off += (size_t)snprintf(out + off, cap - off,
			                        "%s %s state=%s route=%s exported=%s penalty=%.0f reason=%s\n",
			                        s->c->name, s->c->prefix, hsm_state_lname(s->sm.state),
			                        s->applied == HSM_WITHDRAWN ? "withdrawn"
			                        : s->applied == HSM_ANNOUNCE_DRAIN ? "draining"
			                        : s->applied == HSM_ANNOUNCE_DEGRADED ? "degraded"
			                                                              : "announced",
			                        s->exported < 0 ? "unknown" : s->exported ? "yes" : "no",
			                        hsm_penalty(&s->sm, now), s->sm.reason);
			static const char *const rn[3] = { "ok", "slow", "fail" };
			for (size_t j = 0; j < s->c->nchecks && off < cap; j++)
				off += (size_t)snprintf(out + off, cap - off,
				                        "  check %s %s %s: %s %.1f ms: %s\n",
				                        s->c->checks[j].name,
				                        s->c->checks[j].kind == HCHECK_EXEC ? "exec"
				                        : s->c->checks[j].transport == HCHECK_TCP ? "tcp" : "udp",
				                        s->c->checks[j].server_text, rn[s->res[j].res],
				                        (double)s->res[j].latency_us / 1000.0, s->res[j].why);
		}
		return;
	}
	if (drain || undrain) {
		size_t hit = 0;
		for (size_t i = 0; i < a->nsvc; i++) {
			if (arg && strcmp(arg, a->svc[i].c->name) != 0)
				continue;
			hit++;
			log_info("ctl: %s service=%s", cmd, log_q(a->svc[i].c->name));
			svc_drain(&a->svc[i], drain);
		}
		if (!hit) {
			snprintf(out, cap, "error: no service '%s'\n", arg ? arg : "");
			return;
		}
		off += (size_t)snprintf(out, cap, "ok\n");
		for (size_t i = 0; i < a->nsvc && off < cap; i++)
			if (!arg || !strcmp(arg, a->svc[i].c->name))
				off += (size_t)snprintf(out + off, cap - off, "%s state=%s\n",
				                        a->svc[i].c->name, hsm_state_lname(a->svc[i].sm.state));
		return;
	}
	snprintf(out, cap, "error: unknown command '%s' (status, drain [SERVICE], undrain [SERVICE])\n",
	         cmd);
}

/* ---- watchdog ----------------------------------------------------------- */

/* Beats only while every group's rounds keep ending: a loop that runs but
 * whose checks never complete is as stuck as a stopped process. */
static void on_beat(uv_timer_t *t)
{
	app_t *a = t->data;
	uint64_t now = uv_now(&a->loop);
	for (size_t k = 0; k < a->ngrp; k++)
		if (now - a->grp[k].last_end > a->grp[k].bound_ms) {
			log_warn("watchdog: no-beat group=%s ms-since-round=%llu", log_q(a->grp[k].name),
			         (unsigned long long)(now - a->grp[k].last_end));
			return;
		}
	if (hwd_beat(a->beat_fd) < 0) {
		log_err("watchdog: gone action=stop");
		app_stop(a, 1);
	}
}

/* ---- start and stop ----------------------------------------------------- */

static void on_signal(uv_signal_t *h, int sig)
{
	app_t *a = h->data;
	if (sig == SIGHUP) {
		/* Not a reload: a restart must go through "starts withdrawn". */
		log_warn("hook: sighup-ignored reason=\"configuration reload is not supported; restart "
		         "the hook\"");
		return;
	}
	log_info("hook: stopping signal=%d action=withdraw", sig);
	app_stop(a, 0);
}

static void on_bk_readable(uv_poll_t *p, int status, int events)
{
	app_t *a = p->data;
	if (status < 0 || a->bk->ops->on_readable(a->bk) < 0) {
		log_err("backend: speaker-gone backend=%s action=stop", a->bk->ops->name);
		app_stop(a, 1);
	}
}

static void close_if_open(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

/* Fails closed: withdraw everything, then let the loop run out. */
static void app_stop(app_t *a, int code)
{
	if (a->stopping)
		return;
	a->stopping = true;
	a->exit_code = code;
	hwd_notify("STOPPING=1");
	for (size_t i = 0; i < a->nsvc; i++) {
		svc_t *s = &a->svc[i];
		if (s->applied != HSM_WITHDRAWN || s->apply_failed) {
			hroute_t r;
			hroute_make(&r, s->c, s->idx, HSM_WITHDRAWN, "stopping", "stopping");
			if (a->bk->ops->withdraw(a->bk, &r) == 0) {
				s->applied = HSM_WITHDRAWN;
				log_info("route: withdrawn service=%s prefix=%s reason=stopping",
				         log_q(s->c->name), log_q(s->c->prefix));
			} else {
				log_err("route: failed service=%s prefix=%s action=withdraw reason=stopping",
				        log_q(s->c->name), log_q(s->c->prefix));
			}
		}
		close_if_open((uv_handle_t *)&s->drain_timer);
	}
	for (size_t k = 0; k < a->ngrp; k++)
		close_if_open((uv_handle_t *)&a->grp[k].timer);
	/* Withdrawn on purpose: the next instance starts with the full rise. */
	state_save(a);
	probe_cancel_all();
	xcheck_cancel_all();
	close_if_open((uv_handle_t *)&a->sigterm);
	close_if_open((uv_handle_t *)&a->sigint);
	close_if_open((uv_handle_t *)&a->sighup);
	close_if_open((uv_handle_t *)&a->beat);
	if (a->bkpoll_on)
		close_if_open((uv_handle_t *)&a->bkpoll);
	ctl_close(a->ctl);
	a->ctl = NULL;
}

static int app_run(app_t *a)
{
	int rc;
	hconf_t *c = a->conf;
	a->exit_code = 1;
	if (uv_loop_init(&a->loop) < 0)
		return 1;
	a->nsvc = c->nsvc;
	a->svc = calloc(c->nsvc, sizeof(*a->svc));
	a->keep = calloc(c->nsvc, sizeof(*a->keep));
	a->ngrp = c->ngroups;
	a->grp = calloc(c->ngroups, sizeof(*a->grp));
	if (!a->svc || !a->grp || !a->keep)
		goto out_svc;
	for (size_t k = 0; k < a->ngrp; k++) {
		grp_t *g = &a->grp[k];
		g->app = a;
		g->name = c->groups[k];
		g->m = calloc(c->nsvc, sizeof(*g->m));
		if (!g->m)
			goto out_svc;
	}
	for (size_t i = 0; i < c->nsvc; i++) {
		svc_t *s = &a->svc[i];
		s->app = a;
		s->idx = i;
		s->c = &c->svc[i];
		s->g = &a->grp[s->c->group_idx];
		s->g->m[s->g->n++] = s;
		s->exported = -1;
		s->applied = HSM_WITHDRAWN;
		hsm_init(&s->sm, &s->c->sm);
		s->res = calloc(s->c->nchecks, sizeof(*s->res));
		s->ctx = calloc(s->c->nchecks, sizeof(*s->ctx));
		s->cnt = calloc(s->c->nchecks, sizeof(*s->cnt));
		if (!s->res || !s->ctx || !s->cnt)
			goto out_svc;
		for (size_t j = 0; j < s->c->nchecks; j++) {
			s->res[j].res = HSM_BAD;
			snprintf(s->res[j].why, sizeof(s->res[j].why), "not run yet");
		}
	}

	/* The control socket first: a second instance started by mistake stops
	 * here, before it touches the routes of the live one. */
	if (ctl_listen(&a->loop, c->ctl_path, c->ctl_group ? &c->ctl_gid : NULL, on_ctl, a,
	               &a->ctl) < 0)
		goto out_svc;
	state_restore(a);
	rc = hbk_new(c, &a->bk);
	if (rc < 0)
		goto out_ctl;
	a->bk->keep = a->keep;
	/* The backend starts by withdrawing whatever a previous instance left. */
	rc = a->bk->ops->open(a->bk);
	if (rc < 0) {
		log_err("backend: start-failed backend=%s error=%s", a->bk->ops->name,
		        log_q(hk_strerror(rc)));
		goto out_bk;
	}
	if (c->metrics && prom_start((struct sockaddr *)&c->metrics_addr, NULL, NULL, &a->met) < 0) {
		log_err("metrics: failed address=%s error=\"cannot listen\"", log_q(c->metrics));
		goto out_bk;
	}
	uv_signal_init(&a->loop, &a->sigterm);
	uv_signal_init(&a->loop, &a->sigint);
	uv_signal_init(&a->loop, &a->sighup);
	a->sigterm.data = a->sigint.data = a->sighup.data = a;
	uv_signal_start(&a->sigterm, on_signal, SIGTERM);
	uv_signal_start(&a->sigint, on_signal, SIGINT);
	uv_signal_start(&a->sighup, on_signal, SIGHUP);
	int fd = a->bk->ops->fd ? a->bk->ops->fd(a->bk) : -1;
	if (fd >= 0) {
		if (uv_poll_init(&a->loop, &a->bkpoll, fd) == 0) {
			a->bkpoll.data = a;
			a->bkpoll_on = true;
			uv_poll_start(&a->bkpoll, UV_READABLE | UV_DISCONNECT, on_bk_readable);
		} else {
			log_warn("backend: unwatched backend=%s fd=%d hint=\"not a pipe?\"",
			         a->bk->ops->name, fd);
		}
	}
	for (size_t i = 0; i < a->nsvc; i++) {
		svc_t *s = &a->svc[i];
		uv_timer_init(&a->loop, &s->drain_timer);
		s->drain_timer.data = s;
		log_info("service: configured service=%s prefix=%s group=%s checks=%zu rise=%u fall=%u "
		         "interval-ms=%llu fast-ms=%llu route=withdrawn", log_q(s->c->name),
		         log_q(s->c->prefix), log_q(s->g->name),
		         s->c->nchecks, s->c->sm.rise, s->c->sm.fall,
		         (unsigned long long)s->c->interval_ms, (unsigned long long)s->c->fast_ms);
	}
	uint64_t start = uv_now(&a->loop);
	for (size_t k = 0; k < a->ngrp; k++) {
		grp_t *g = &a->grp[k];
		uv_timer_init(&a->loop, &g->timer);
		g->timer.data = g;
		g->last_end = start;
		for (size_t i = 0; i < g->n; i++) {
			const hservice_conf_t *sc = g->m[i]->c;
			for (size_t j = 0; j < sc->nchecks; j++)
				if (sc->interval_ms + sc->checks[j].timeout_ms + 500 > g->bound_ms)
					g->bound_ms = sc->interval_ms + sc->checks[j].timeout_ms + 500;
		}
		uv_timer_start(&g->timer, on_round_timer, 0, 0);
	}
	uint64_t every = c->watchdog_ms / 4, sd = hwd_systemd_interval_ms();
	if (sd && (!every || sd < every))
		every = sd;
	uv_timer_init(&a->loop, &a->beat);
	a->beat.data = a;
	if (every && (a->beat_fd >= 0 || sd))
		uv_timer_start(&a->beat, on_beat, 0, every);
	hwd_notify("READY=1");
	metrics_render(a);
	a->exit_code = 0;
	uv_run(&a->loop, UV_RUN_DEFAULT);
	/* The loop only ends after app_stop(), which withdrew everything. */
	prom_stop(a->met);
	a->met = NULL;
	hbk_free(a->bk);
	a->bk = NULL;
	goto out_svc;

out_bk:
	/* Failed start: open() withdraws before anything else, so nothing of
	 * ours is announced; unwind. */
	hbk_free(a->bk);
	a->bk = NULL;
out_ctl:
	ctl_close(a->ctl);
	a->ctl = NULL;
out_svc:
	for (size_t i = 0; a->svc && i < a->nsvc; i++) {
		free(a->svc[i].res);
		free(a->svc[i].ctx);
		free(a->svc[i].cnt);
	}
	free(a->svc);
	free(a->keep);
	for (size_t k = 0; a->grp && k < a->ngrp; k++)
		free(a->grp[k].m);
	free(a->grp);
	uv_run(&a->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&a->loop) != 0)
		log_warn("hook: loop-not-empty loop=main");
	return a->exit_code;
}

/* ---- supervisor --------------------------------------------------------- */

static volatile sig_atomic_t g_child;

static void forward_signal(int sig)
{
	if (g_child > 0)
		kill(g_child, sig);
}

/* --supervise: for speakers with no dead-man mechanism of their own (GoBGP,
 * FRR, exec), and the watchdog of the hook. Returns -1 in the child, which
 * then runs the hook with *beat_fd to beat on; in the supervisor, waits for
 * the child and returns the exit code. */
static int supervise_run(hconf_t *c, int *beat_fd)
{
	pid_t parent = getpid();
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_err("supervise: failed call=pipe error=%s", log_q(strerror(errno)));
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_err("supervise: failed call=fork error=%s", log_q(strerror(errno)));
		return 1;
	}
	if (pid == 0) {
		/* The supervisor dying (even by SIGKILL) makes the hook withdraw. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			raise(SIGTERM);
		close(p[0]);
		fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
		*beat_fd = p[1];
		return -1;
	}
	close(p[1]);
	g_child = pid;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	bool killed;
	int st = hwd_wait_child(pid, p[0], c->watchdog_ms, &killed);
	close(p[0]);
	if (st < 0)
		return 1;
	if (!killed && WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 2))
		return WEXITSTATUS(st);   /* it withdrew itself, or never started */
	if (WIFSIGNALED(st))
		log_err("supervise: hook-died pid=%d signal=%d action=withdraw", (int)pid,
		        WTERMSIG(st));
	else
		log_err("supervise: hook-exited pid=%d status=%d action=withdraw", (int)pid,
		        WEXITSTATUS(st));
	/* The backend's open() withdraws every prefix of the config. */
	hbk_t *b = NULL;
	int rc = hbk_new(c, &b);
	if (rc == 0)
		rc = b->ops->open(b);
	hbk_free(b);
	if (rc < 0)
		log_err("supervise: withdraw-failed error=%s", log_q(hk_strerror(rc)));
	return 1;
}

/* ---- command line ------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: anyns-health [-c FILE] [-l LEVEL] [-t]\n"
	        "       anyns-health ctl [-c FILE | -s SOCKET] status|drain [SERVICE]|undrain [SERVICE]\n"
	        "\n"
	        "Keeps the anycast service prefixes announced through the local BGP speaker\n"
	        "(ExaBGP, BIRD, GoBGP, FRR or a command) only while the local DNS server\n"
	        "answers the configured checks. Starts withdrawn; withdraws on SIGTERM/SIGINT\n"
	        "and on fatal errors.\n"
	        "\n"
	        "  -c, --config FILE     configuration (default " HCONF_DEFAULT_PATH ")\n"
	        "  -l, --log-level L     error|warning|info|debug\n"
	        "  -t, --check-config    validate the configuration and exit\n"
	        "  -S, --supervise       run the hook as a child; if it dies abnormally (even\n"
	        "                        SIGKILL) withdraw every prefix; if this supervisor\n"
	        "                        dies, the child gets SIGTERM and withdraws\n"
	        "  -s, --socket PATH     (ctl) control socket, instead of reading it from -c\n"
	        "  -h, --help            this text\n"
	        "  -V, --version         print the version\n"
	        "\n"
	        "Exit status: 0 stopped cleanly, 1 fatal error, 2 bad usage or configuration.\n"
	        "See bgp-hook/README.md for the configuration keys.\n");
}

static int ctl_main(int argc, char **argv)
{
	const char *cfile = HCONF_DEFAULT_PATH, *sock = NULL;
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "+c:s:h", lo, NULL)) != -1) {
		switch (o) {
		case 'c': cfile = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || optind + 2 < argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind], *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (strcmp(cmd, "status") && strcmp(cmd, "drain") && strcmp(cmd, "undrain")) {
		fprintf(stderr, "anyns-health: unknown ctl command '%s'\n", cmd);
		return 2;
	}
	hconf_t *c = NULL;
	if (!sock) {
		char err[600];
		if (hconf_load(cfile, &c, err, sizeof(err)) < 0) {
			fprintf(stderr, "anyns-health: %s\n", err);
			return 2;
		}
		sock = c->ctl_path;
	}
	char line[256];
	snprintf(line, sizeof(line), "%s%s%s", cmd, arg ? " " : "", arg ? arg : "");
	int rc = ctl_client(sock, line);
	hconf_free(c);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cfile = HCONF_DEFAULT_PATH, *level = NULL;
	bool check_only = false, supervise = false;
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 't' },
		{ "supervise", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	log_set_ident("anyns-health");
	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	int o;
	while ((o = getopt_long(argc, argv, "c:l:tShV", lo, NULL)) != -1) {
		switch (o) {
		case 'c': cfile = optarg; break;
		case 'l': level = optarg; break;
		case 't': check_only = true; break;
		case 'S': supervise = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("anyns-health 0.1\n"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	int lvl = -1;
	if (level && (lvl = log_level_parse(level)) < 0) {
		fprintf(stderr, "anyns-health: --log-level: '%s' is not error, warning, info or debug\n",
		        level);
		return 2;
	}
	hconf_t *c = NULL;
	char err[600];
	if (hconf_load(cfile, &c, err, sizeof(err)) < 0) {
		log_err("config: bad error=%s", log_q(err));
		return 2;
	}
	if (check_only) {
		printf("ok: %s: %zu services, backend %s\n", cfile, c->nsvc,
		       (const char *[]){ "exabgp", "bird", "gobgp", "frr", "exec" }[c->bk.type]);
		hconf_free(c);
		return 0;
	}
	if (lvl < 0)
		lvl = c->log_level;
	if (lvl >= 0)
		log_set_level((enum log_level)lvl);
	if (c->log_target && log_set_target(c->log_target, err, sizeof(err)) != 0) {
		log_err("config: bad key=log error=%s", log_q(err));
		hconf_free(c);
		return 2;
	}
	/* A closed pipe to ExaBGP must be an error we handle, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	int beat_fd = -1;
	if (supervise) {
		int src = supervise_run(c, &beat_fd);
		if (src >= 0) {           /* the supervisor's own exit */
			hconf_free(c);
			return src;
		}
		/* the child goes on below */
	} else if (c->watchdog_ms) {
		/* Before anything is opened: the watchdog must hold none of it. */
		beat_fd = hwd_spawn(c->watchdog_ms);
		if (beat_fd < 0) {
			log_err("watchdog: start-failed error=%s", log_q(hk_strerror(beat_fd)));
			hconf_free(c);
			return 1;
		}
	}
	app_t a;
	memset(&a, 0, sizeof(a));
	a.conf = c;
	a.beat_fd = beat_fd;
	int rc = app_run(&a);
	hconf_free(c);
	return rc;
}
