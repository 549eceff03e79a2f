/* exec backend: runs the configured command with the route in ANYNS_*
 * environment variables, for speakers we have no module for. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "errors.h"
#include "log.h"

int hbk_exec_env(hargv_t *a, const hbk_conf_t *k, const hroute_t *r, const char *action)
{
	char comm[256] = "";
	size_t off = 0;
	for (size_t i = 0; i < r->attrs.ncomm && off < sizeof(comm); i++)
		off += (size_t)snprintf(comm + off, sizeof(comm) - off, "%s%u:%u", i ? " " : "",
		                        r->attrs.comm[i] >> 16, r->attrs.comm[i] & 0xffff);
	char lcomm[512] = "";
	off = 0;
	for (size_t i = 0; i < r->attrs.nlcomm && off < sizeof(lcomm); i++)
		off += (size_t)snprintf(lcomm + off, sizeof(lcomm) - off, "%s%u:%u:%u", i ? " " : "",
		                        r->attrs.lcomm[i][0], r->attrs.lcomm[i][1], r->attrs.lcomm[i][2]);
	a->n = a->used = 0;
	int rc = hargv_add(a, "ANYNS_ACTION=%s", action);
	rc |= hargv_add(a, "ANYNS_SERVICE=%s", r->service);
	rc |= hargv_add(a, "ANYNS_PREFIX=%s", r->prefix);
	rc |= hargv_add(a, "ANYNS_FAMILY=ipv%d", r->family);
	rc |= hargv_add(a, "ANYNS_STATE=%s", r->state);
	rc |= hargv_add(a, "ANYNS_REASON=%s", r->reason);
	rc |= hargv_add(a, "ANYNS_COMMUNITIES=%s", comm);
	rc |= hargv_add(a, "ANYNS_LARGE_COMMUNITIES=%s", lcomm);
	if (r->attrs.has_med)
		rc |= hargv_add(a, "ANYNS_MED=%u", r->attrs.med);
	else
		rc |= hargv_add(a, "ANYNS_MED=");
	rc |= hargv_add(a, "ANYNS_PREPEND=%u", r->attrs.prepend);
	rc |= hargv_add(a, "ANYNS_ASN=%u", k->asn);
	return rc ? ANYNS_ESPACE : 0;
}

static int exec_run(hbk_t *b, const hroute_t *r, const char *action)
{
	hargv_t env;
	int rc = hbk_exec_env(&env, &b->conf->bk, r, action);
	if (rc < 0)
		return rc;
	char *argv[] = { (char *)b->conf->bk.command, (char *)action, NULL };
	return hbk_run(argv, env.v, b->conf->bk.cmd_timeout_ms, NULL, 0);
}

static int exec_send(hbk_t *b, const hroute_t *r)
{
	const char *act = r->kind == HSM_WITHDRAWN ? "withdraw" : "announce";
	int rc = exec_run(b, r, act);
	if (rc != 0) {
		log_err("exec: failed command=%s action=%s prefix=%s status=%d",
		        log_q(b->conf->bk.command), act, log_q(r->prefix), rc);
		return ANYNS_EINVAL;
	}
	return 0;
}

static int exec_open(hbk_t *b)
{
	for (size_t i = 0; i < b->conf->nsvc; i++) {
		hroute_t r;
		hroute_make(&r, &b->conf->svc[i], i, HSM_WITHDRAWN, "init", "start");
		if (exec_send(b, &r) < 0)
			log_warn("exec: withdraw-failed prefix=%s when=start", log_q(r.prefix));
	}
	return 0;
}

static int exec_exported(hbk_t *b, const hroute_t *r, bool *out)
{
	int rc = exec_run(b, r, "exported");
	if (rc != 0 && rc != 1)
		return ANYNS_ENOENT;
	*out = rc == 0;
	return 0;
}

const hbk_ops_t hbk_exec_ops = {
	.name = "exec",
	.open = exec_open,
	.announce = exec_send,
	.withdraw = exec_send,
	.exported = exec_exported,
};
