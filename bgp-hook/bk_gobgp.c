/* GoBGP backend: the gobgp CLI talking to a running gobgpd.
 * gobgp global rib -a ipv4 add P [aspath A,A] [med N] [community C,C] / del P. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "errors.h"
#include "log.h"

int hbk_gobgp_argv(hargv_t *a, const hbk_conf_t *k, const hroute_t *r, bool announce)
{
	int rc = 0;
	a->n = a->used = 0;
	rc |= hargv_add(a, "%s", k->gobgp);
	for (size_t i = 0; i < k->ngobgp_args; i++)
		rc |= hargv_add(a, "%s", k->gobgp_args[i]);
	rc |= hargv_add(a, "global");
	rc |= hargv_add(a, "rib");
	rc |= hargv_add(a, "-a");
	rc |= hargv_add(a, "%s", r->family == 6 ? "ipv6" : "ipv4");
	if (!announce) {
		rc |= hargv_add(a, "del");
		rc |= hargv_add(a, "%s", r->prefix);
		return rc ? ANYNS_ESPACE : 0;
	}
	rc |= hargv_add(a, "add");
	rc |= hargv_add(a, "%s", r->prefix);
	if (r->attrs.prepend) {
		char p[256] = "";
		size_t off = 0;
		for (unsigned i = 0; i < r->attrs.prepend && off < sizeof(p); i++)
			off += (size_t)snprintf(p + off, sizeof(p) - off, "%s%u", i ? "," : "", k->asn);
		rc |= hargv_add(a, "aspath");
		rc |= hargv_add(a, "%s", p);
	}
	if (r->attrs.has_med) {
		rc |= hargv_add(a, "med");
		rc |= hargv_add(a, "%u", r->attrs.med);
	}
	if (r->attrs.ncomm) {
		char c[256] = "";
		size_t off = 0;
		for (size_t i = 0; i < r->attrs.ncomm && off < sizeof(c); i++)
			off += (size_t)snprintf(c + off, sizeof(c) - off, "%s%u:%u", i ? "," : "",
			                        r->attrs.comm[i] >> 16, r->attrs.comm[i] & 0xffff);
		rc |= hargv_add(a, "community");
		rc |= hargv_add(a, "%s", c);
	}
	if (r->attrs.nlcomm) {
		char c[512] = "";
		size_t off = 0;
		for (size_t i = 0; i < r->attrs.nlcomm && off < sizeof(c); i++)
			off += (size_t)snprintf(c + off, sizeof(c) - off, "%s%u:%u:%u", i ? "," : "",
			                        r->attrs.lcomm[i][0], r->attrs.lcomm[i][1],
			                        r->attrs.lcomm[i][2]);
		rc |= hargv_add(a, "large-community");
		rc |= hargv_add(a, "%s", c);
	}
	return rc ? ANYNS_ESPACE : 0;
}

static int gobgp_send(hbk_t *b, const hroute_t *r)
{
	hargv_t a;
	bool ann = r->kind != HSM_WITHDRAWN;
	/* gobgp replaces a path on add, so a changed attribute is one "add". */
	int rc = hbk_gobgp_argv(&a, &b->conf->bk, r, ann);
	if (rc < 0)
		return rc;
	char out[1024];
	rc = hbk_run(a.v, NULL, b->conf->bk.cmd_timeout_ms, out, sizeof(out));
	if (rc != 0) {
		log_err("gobgp: failed action=%s prefix=%s status=%d output=%s", ann ? "add" : "del",
		        log_q(r->prefix), rc, log_q(out));
		return ANYNS_EINVAL;
	}
	return 0;
}

static int gobgp_open(hbk_t *b)
{
	for (size_t i = 0; i < b->conf->nsvc; i++) {
		hroute_t r;
		hroute_make(&r, &b->conf->svc[i], i, HSM_WITHDRAWN, "init", "start");
		if (gobgp_send(b, &r) < 0)
			log_warn("gobgp: withdraw-failed prefix=%s when=start", log_q(r.prefix));
	}
	return 0;
}

static int gobgp_exported(hbk_t *b, const hroute_t *r, bool *out)
{
	hargv_t a = { .n = 0 };
	const hbk_conf_t *k = &b->conf->bk;
	int rc = hargv_add(&a, "%s", k->gobgp);
	for (size_t i = 0; i < k->ngobgp_args; i++)
		rc |= hargv_add(&a, "%s", k->gobgp_args[i]);
	rc |= hargv_add(&a, "global");
	rc |= hargv_add(&a, "rib");
	rc |= hargv_add(&a, "-a");
	rc |= hargv_add(&a, "%s", r->family == 6 ? "ipv6" : "ipv4");
	rc |= hargv_add(&a, "%s", r->prefix);
	if (rc)
		return ANYNS_ESPACE;
	char res[4096];
	rc = hbk_run(a.v, NULL, k->cmd_timeout_ms, res, sizeof(res));
	if (rc < 0)
		return ANYNS_ENOENT;
	*out = rc == 0 && strstr(res, r->prefix) != NULL;
	return 0;
}

const hbk_ops_t hbk_gobgp_ops = {
	.name = "gobgp",
	.open = gobgp_open,
	.announce = gobgp_send,
	.withdraw = gobgp_send,
	.exported = gobgp_exported,
};
