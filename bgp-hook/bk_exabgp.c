/* ExaBGP backend: the hook is ExaBGP's API process. Commands go to stdout, one
 * line each; with exabgp.api.ack=true ExaBGP answers every command with
 * "done" or "error" on our stdin. EOF on stdin means ExaBGP went away. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "errors.h"
#include "log.h"

typedef struct exa {
	char in[4096];
	size_t inlen;
	bool eof;
	unsigned late;              /* commands whose ack timed out: their acks come first */
	bool *announced;            /* per service, as acknowledged */
} exa_t;

static void fmt_comm(char *buf, size_t cap, uint32_t c)
{
	snprintf(buf, cap, "%u:%u", c >> 16, c & 0xffff);
}

int hbk_exabgp_format(char *buf, size_t cap, const hroute_t *r, const char *next_hop,
                      uint32_t asn)
{
	size_t off = 0;
	int w;
#define ADD(...) do { \
		w = snprintf(buf + off, cap - off, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= cap - off) \
			return ANYNS_ESPACE; \
		off += (size_t)w; \
	} while (0)
	if (r->kind == HSM_WITHDRAWN) {
		ADD("withdraw route %s", r->prefix);
		return 0;
	}
	ADD("announce route %s next-hop %s", r->prefix, next_hop ? next_hop : "self");
	if (r->attrs.has_med)
		ADD(" med %u", r->attrs.med);
	if (r->attrs.prepend) {
		/* ExaBGP adds the local AS itself on eBGP; these are the extra copies. */
		ADD(" as-path [");
		for (unsigned i = 0; i < r->attrs.prepend; i++)
			ADD("%s%u", i ? " " : "", asn);
		ADD("]");
	}
	if (r->attrs.ncomm) {
		ADD(" community [");
		for (size_t i = 0; i < r->attrs.ncomm; i++) {
			char c[16];
			fmt_comm(c, sizeof(c), r->attrs.comm[i]);
			ADD("%s%s", i ? " " : "", c);
		}
		ADD("]");
	}
	if (r->attrs.nlcomm) {
		ADD(" large-community [");
		for (size_t i = 0; i < r->attrs.nlcomm; i++)
			ADD("%s%u:%u:%u", i ? " " : "", r->attrs.lcomm[i][0], r->attrs.lcomm[i][1],
			    r->attrs.lcomm[i][2]);
		ADD("]");
	}
#undef ADD
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads what is available on stdin (waiting up to wait_ms for something).
 * Returns 0, or ANYNS_ENOENT on EOF. */
static int exa_fill(exa_t *e, int wait_ms)
{
	if (e->eof)
		return ANYNS_ENOENT;
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int n = poll(&p, 1, wait_ms);
	if (n <= 0)
		return 0;
	if (e->inlen == sizeof(e->in))
		e->inlen = 0;   /* an over-long line: drop it */
	ssize_t r = read(0, e->in + e->inlen, sizeof(e->in) - e->inlen);
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : ANYNS_ENOENT;
	if (r == 0) {
		e->eof = true;
		return ANYNS_ENOENT;
	}
	e->inlen += (size_t)r;
	return 0;
}

/* Takes one complete line out of the buffer; returns false when none. */
static bool exa_line(exa_t *e, char *line, size_t cap)
{
	char *nl = memchr(e->in, '\n', e->inlen);
	if (!nl)
		return false;
	size_t l = (size_t)(nl - e->in);
	size_t c = l < cap - 1 ? l : cap - 1;
	memcpy(line, e->in, c);
	line[c] = '\0';
	if (c && line[c - 1] == '\r')
		line[c - 1] = '\0';
	memmove(e->in, nl + 1, e->inlen - l - 1);
	e->inlen -= l + 1;
	return true;
}

/* Sends one command and, with acks on, waits for ExaBGP's answer. */
static int exa_cmd(hbk_t *b, const char *cmd)
{
	exa_t *e = b->priv;
	const hbk_conf_t *k = &b->conf->bk;
	char line[4200];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return ANYNS_ESPACE;
	/* One write per command so that a line is never split. */
	ssize_t w;
	do
		w = write(1, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w != n) {
		log_err("exabgp: write-failed error=%s", log_q(w < 0 ? strerror(errno) : "short write"));
		return ANYNS_ENOENT;
	}
	log_debug("exabgp: sent command=%s", log_q(cmd));
	if (!k->ack)
		return 0;
	uint64_t deadline = mono_ms() + k->ack_timeout_ms;
	for (;;) {
		while (exa_line(e, line, sizeof(line))) {
			bool ack = !strcmp(line, "done") || !strcmp(line, "error");
			if (ack && e->late) {
				/* ExaBGP answers in order: this one is for an earlier
				 * command we stopped waiting for. */
				e->late--;
				continue;
			}
			if (!strcmp(line, "done"))
				return 0;
			if (!strcmp(line, "error")) {
				log_warn("exabgp: refused command=%s", log_q(cmd));
				return ANYNS_EINVAL;
			}
			if (!strcmp(line, "shutdown")) {
				e->eof = true;
				return ANYNS_ENOENT;
			}
			log_debug("exabgp: received line=%s", log_q(line));
		}
		uint64_t t = mono_ms();
		if (t >= deadline) {
			log_warn("exabgp: no-ack command=%s ms=%llu", log_q(cmd),
			         (unsigned long long)k->ack_timeout_ms);
			e->late++;
			return ANYNS_EINVAL;
		}
		if (exa_fill(e, (int)(deadline - t)) < 0) {
			log_err("exabgp: closed what=stdin");
			return ANYNS_ENOENT;
		}
	}
}

static int exa_open(hbk_t *b)
{
	exa_t *e = calloc(1, sizeof(*e));
	if (!e)
		return ANYNS_ENOMEM;
	e->announced = calloc(b->conf->nsvc ? b->conf->nsvc : 1, sizeof(bool));
	if (!e->announced) {
		free(e);
		return ANYNS_ENOMEM;
	}
	b->priv = e;
	/* A hook restarted by ExaBGP after a crash must not leave the previous
	 * instance's routes in place: withdraw everything first, but for the
	 * routes the daemon resumes (keep), which its first round decides. An
	 * "error" only means there was nothing to withdraw. */
	for (size_t i = 0; i < b->conf->nsvc; i++) {
		char cmd[256];
		if (b->keep && b->keep[i]) {
			e->announced[i] = true;
			continue;
		}
		snprintf(cmd, sizeof(cmd), "withdraw route %s", b->conf->svc[i].prefix);
		if (exa_cmd(b, cmd) == ANYNS_ENOENT)
			return ANYNS_ENOENT;
	}
	return 0;
}

static int exa_send(hbk_t *b, const hroute_t *r)
{
	exa_t *e = b->priv;
	char cmd[1024];
	int rc = hbk_exabgp_format(cmd, sizeof(cmd), r, b->conf->bk.next_hop, b->conf->bk.asn);
	if (rc < 0)
		return rc;
	rc = exa_cmd(b, cmd);
	if (rc == 0)
		e->announced[r->idx] = r->kind != HSM_WITHDRAWN;
	return rc;
}

static int exa_exported(hbk_t *b, const hroute_t *r, bool *out)
{
	exa_t *e = b->priv;
	if (!b->conf->bk.ack)
		return ANYNS_ENOENT;
	*out = e->announced[r->idx];
	return 0;
}

static int exa_fd(hbk_t *b)
{
	return 0;
}

static int exa_on_readable(hbk_t *b)
{
	exa_t *e = b->priv;
	char line[4200];
	if (exa_fill(e, 0) < 0)
		return ANYNS_ENOENT;
	while (exa_line(e, line, sizeof(line))) {
		if (!strcmp(line, "shutdown"))
			return ANYNS_ENOENT;
		if (e->late && (!strcmp(line, "done") || !strcmp(line, "error")))
			e->late--;
		log_debug("exabgp: received line=%s", log_q(line));
	}
	return 0;
}

static void exa_close(hbk_t *b)
{
	exa_t *e = b->priv;
	if (!e)
		return;
	free(e->announced);
	free(e);
	b->priv = NULL;
}

const hbk_ops_t hbk_exabgp_ops = {
	.name = "exabgp",
	.open = exa_open,
	.announce = exa_send,
	.withdraw = exa_send,
	.exported = exa_exported,
	.fd = exa_fd,
	.on_readable = exa_on_readable,
	.close = exa_close,
};
