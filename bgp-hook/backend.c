/* anyns-health backends: shared helpers and the factory; see backend.h. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"

extern char **environ;

static void attrs_merge(hattrs_t *a, const hattrs_t *b)
{
	for (size_t i = 0; i < b->ncomm && a->ncomm < HATTR_MAXCOMM; i++)
		a->comm[a->ncomm++] = b->comm[i];
	for (size_t i = 0; i < b->nlcomm && a->nlcomm < HATTR_MAXCOMM; i++, a->nlcomm++)
		memcpy(a->lcomm[a->nlcomm], b->lcomm[i], sizeof(a->lcomm[0]));
	if (b->has_med) {
		a->has_med = true;
		a->med = b->med;
	}
	a->prepend += b->prepend;
}

void hroute_make(hroute_t *r, const hservice_conf_t *s, size_t idx, enum hsm_route kind,
                 const char *state, const char *reason)
{
	memset(r, 0, sizeof(*r));
	r->idx = idx;
	r->service = s->name;
	r->prefix = s->prefix;
	r->family = s->family;
	r->kind = kind;
	r->state = state ? state : "";
	r->reason = reason ? reason : "";
	r->attrs = s->base;
	if (kind == HSM_ANNOUNCE_DEGRADED)
		attrs_merge(&r->attrs, &s->degraded);
	if (kind == HSM_ANNOUNCE_DRAIN) {
		/* RFC 8326 first; the draining attributes (prepend, MED) are the
		 * fallback for routers that ignore GRACEFUL_SHUTDOWN. */
		if (r->attrs.ncomm < HATTR_MAXCOMM)
			r->attrs.comm[r->attrs.ncomm++] = HBK_GSHUT_COMMUNITY;
		attrs_merge(&r->attrs, &s->draining);
	}
}

int hbk_new(const hconf_t *conf, hbk_t **out)
{
	hbk_t *b = calloc(1, sizeof(*b));
	if (!b)
		return ANYNS_ENOMEM;
	b->conf = conf;
	switch (conf->bk.type) {
	case HBK_EXABGP: b->ops = &hbk_exabgp_ops; break;
	case HBK_BIRD:   b->ops = &hbk_bird_ops; break;
	case HBK_GOBGP:  b->ops = &hbk_gobgp_ops; break;
	case HBK_FRR:    b->ops = &hbk_frr_ops; break;
	case HBK_EXEC:   b->ops = &hbk_exec_ops; break;
	default:
		free(b);
		return ANYNS_EINVAL;
	}
	*out = b;
	return 0;
}

void hbk_free(hbk_t *b)
{
	if (!b)
		return;
	if (b->ops->close)
		b->ops->close(b);
	free(b);
}

int hargv_add(hargv_t *a, const char *fmt, ...)
{
	if (a->n + 1 >= sizeof(a->v) / sizeof(a->v[0]))
		return ANYNS_ESPACE;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(a->buf + a->used, sizeof(a->buf) - a->used, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(a->buf) - a->used)
		return ANYNS_ESPACE;
	a->v[a->n++] = a->buf + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)w + 1;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int hbk_run(char *const *argv, char *const *env, uint64_t timeout_ms, char *out, size_t outcap)
{
	int pfd[2] = { -1, -1 };
	size_t nenv = 0, nextra = 0;
	char **envp = NULL;
	int rc = ANYNS_EINVAL;

	for (char **e = environ; e && *e; e++)
		nenv++;
	for (char *const *e = env; e && *e; e++)
		nextra++;
	envp = calloc(nenv + nextra + 1, sizeof(*envp));
	if (!envp)
		return ANYNS_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "ANYNS_", 6) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; i < nextra; i++)
		envp[k++] = env[i];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = ANYNS_ENOMEM;
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		/* ExaBGP reads our stdout: a child must never write into it. */
		dup2(pfd[1], 1);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;
	size_t got = 0;
	uint64_t deadline = now_ms() + (timeout_ms ? timeout_ms : 5000);
	for (;;) {
		uint64_t t = now_ms();
		if (t >= deadline) {
			kill(pid, SIGKILL);
			log_warn("backend: killed command=%s ms=%llu", log_q(argv[0]),
			         (unsigned long long)timeout_ms);
			break;
		}
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int n = poll(&p, 1, (int)(deadline - t));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		char tmp[1024];
		ssize_t r = read(pfd[0], tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out && got + 1 < outcap) {
			size_t c = (size_t)r < outcap - 1 - got ? (size_t)r : outcap - 1 - got;
			memcpy(out + got, tmp, c);
			got += c;
		}
	}
	if (out && outcap)
		out[got] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		rc = WEXITSTATUS(st);
	else
		rc = ANYNS_EINVAL;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(envp);
	return rc;
}
