/* exec health checks; see xcheck.h. */
#include "xcheck.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

typedef struct xrun {
	struct xrun *prev, *next;    /* active list, for xcheck_cancel_all() */
	uv_process_t proc;
	uv_timer_t timer;
	const hcheck_conf_t *c;
	probe_cb cb;
	void *ctx;
	uint64_t t0;
	bool done, exited;
	int open_handles;
	probe_result_t res;
} xrun_t;

static xrun_t *g_active;

static void on_close(uv_handle_t *h)
{
	xrun_t *x = h->data;
	if (--x->open_handles == 0)
		free(x);
}

/* Reports the result once; the handles close when the process is gone. */
static void finish(xrun_t *x)
{
	if (x->done)
		return;
	x->done = true;
	if (x->prev)
		x->prev->next = x->next;
	else
		g_active = x->next;
	if (x->next)
		x->next->prev = x->prev;
	uv_timer_stop(&x->timer);
	x->cb(x->ctx, &x->res);
}

static void release(xrun_t *x)
{
	if (!x->exited)
		return;
	uv_close((uv_handle_t *)&x->proc, on_close);
	uv_close((uv_handle_t *)&x->timer, on_close);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	xrun_t *x = p->data;
	x->exited = true;
	if (!x->done) {
		uint64_t us = (uv_hrtime() - x->t0) / 1000;
		x->res.latency_us = us;
		if (sig) {
			x->res.res = HSM_BAD;
			snprintf(x->res.why, sizeof(x->res.why), "%s: killed by signal %d", x->c->name, sig);
		} else if (status != 0) {
			x->res.res = HSM_BAD;
			snprintf(x->res.why, sizeof(x->res.why), "%s: exit status %lld", x->c->name,
			         (long long)status);
		} else if (x->c->latency_ms && us > x->c->latency_ms * 1000) {
			x->res.res = HSM_SLOW;
			snprintf(x->res.why, sizeof(x->res.why), "%s: latency %.1f ms over %llu ms",
			         x->c->name, (double)us / 1000.0, (unsigned long long)x->c->latency_ms);
		} else {
			x->res.res = HSM_GOOD;
			snprintf(x->res.why, sizeof(x->res.why), "ok");
		}
		finish(x);
	}
	release(x);
}

static void kill_run(xrun_t *x, const char *why)
{
	x->res.res = HSM_BAD;
	x->res.latency_us = 0;
	snprintf(x->res.why, sizeof(x->res.why), "%s: %s", x->c->name, why);
	uv_process_kill(&x->proc, SIGKILL);
	finish(x);
}

static void on_timeout(uv_timer_t *t)
{
	xrun_t *x = t->data;
	char why[64];
	snprintf(why, sizeof(why), "no exit within %llu ms", (unsigned long long)x->c->timeout_ms);
	kill_run(x, why);
}

int xcheck_start(uv_loop_t *loop, const hcheck_conf_t *c, probe_cb cb, void *ctx)
{
	xrun_t *x = calloc(1, sizeof(*x));
	if (!x)
		return ANYNS_ENOMEM;
	x->c = c;
	x->cb = cb;
	x->ctx = ctx;
	x->proc.data = x->timer.data = x;
	uv_stdio_container_t io[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = 2 },
	};
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = c->argv[0],
		.args = c->argv,
		.stdio_count = 3,
		.stdio = io,
	};
	uv_timer_init(loop, &x->timer);
	x->t0 = uv_hrtime();
	int rc = uv_spawn(loop, &x->proc, &o);
	if (rc < 0) {
		/* The process handle needs closing even when spawning failed. */
		x->open_handles = 2;
		uv_close((uv_handle_t *)&x->proc, on_close);
		uv_close((uv_handle_t *)&x->timer, on_close);
		return ANYNS_EINVAL;
	}
	x->open_handles = 2;
	x->next = g_active;
	if (g_active)
		g_active->prev = x;
	g_active = x;
	uv_timer_start(&x->timer, on_timeout, c->timeout_ms, 0);
	return 0;
}

void xcheck_cancel_all(void)
{
	while (g_active)
		kill_run(g_active, "cancelled");
}
