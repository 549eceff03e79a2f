/* FRR backend: vtysh "network P [route-map RM]" / "no network P" under
 * "router bgp ASN". Attributes come from route-maps the operator defines
 * (route-map, route-map-degraded, route-map-drain), since "network" takes
 * no attributes itself. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "errors.h"
#include "log.h"

int hbk_frr_argv(hargv_t *a, const hbk_conf_t *k, const hroute_t *r, bool announce)
{
	int rc = 0;
	a->n = a->used = 0;
	rc |= hargv_add(a, "%s", k->vtysh);
	for (size_t i = 0; i < k->nvtysh_args; i++)
		rc |= hargv_add(a, "%s", k->vtysh_args[i]);
	rc |= hargv_add(a, "-c");
	rc |= hargv_add(a, "configure terminal");
	rc |= hargv_add(a, "-c");
	rc |= hargv_add(a, "router bgp %u", k->asn);
	rc |= hargv_add(a, "-c");
	rc |= hargv_add(a, "address-family %s unicast", r->family == 6 ? "ipv6" : "ipv4");
	rc |= hargv_add(a, "-c");
	if (!announce) {
		rc |= hargv_add(a, "no network %s", r->prefix);
		return rc ? ANYNS_ESPACE : 0;
	}
	const char *rm = r->kind == HSM_ANNOUNCE_DRAIN      ? k->rm_drain
	                 : r->kind == HSM_ANNOUNCE_DEGRADED ? k->rm_degraded
	                                                    : k->rm_normal;
	if (rm && *rm)
		rc |= hargv_add(a, "network %s route-map %s", r->prefix, rm);
	else
		rc |= hargv_add(a, "network %s", r->prefix);
	return rc ? ANYNS_ESPACE : 0;
}

static int frr_send(hbk_t *b, const hroute_t *r)
{
	hargv_t a;
	bool ann = r->kind != HSM_WITHDRAWN;
	int rc = hbk_frr_argv(&a, &b->conf->bk, r, ann);
	if (rc < 0)
		return rc;
	char out[1024];
	rc = hbk_run(a.v, NULL, b->conf->bk.cmd_timeout_ms, out, sizeof(out));
	if (rc != 0) {
		log_err("frr: vtysh-failed command=%s status=%d output=%s", log_q(a.v[a.n - 1]), rc,
		        log_q(out));
		return ANYNS_EINVAL;
	}
	return 0;
}

static int frr_open(hbk_t *b)
{
	for (size_t i = 0; i < b->conf->nsvc; i++) {
		hroute_t r;
		hroute_make(&r, &b->conf->svc[i], i, HSM_WITHDRAWN, "init", "start");
		if (frr_send(b, &r) < 0)
			log_warn("frr: withdraw-failed prefix=%s when=start", log_q(r.prefix));
	}
	return 0;
}

static int frr_exported(hbk_t *b, const hroute_t *r, bool *out)
{
	hargv_t a = { .n = 0 };
	int rc = hargv_add(&a, "%s", b->conf->bk.vtysh);
	for (size_t i = 0; i < b->conf->bk.nvtysh_args; i++)
		rc |= hargv_add(&a, "%s", b->conf->bk.vtysh_args[i]);
	rc |= hargv_add(&a, "-c");
	rc |= hargv_add(&a, "show bgp %s unicast %s", r->family == 6 ? "ipv6" : "ipv4", r->prefix);
	if (rc)
		return ANYNS_ESPACE;
	char res[4096];
	rc = hbk_run(a.v, NULL, b->conf->bk.cmd_timeout_ms, res, sizeof(res));
	if (rc < 0)
		return ANYNS_ENOENT;
	*out = rc == 0 && !strstr(res, "not in table") && strstr(res, "Local") != NULL;
	return 0;
}

const hbk_ops_t hbk_frr_ops = {
	.name = "frr",
	.open = frr_open,
	.announce = frr_send,
	.withdraw = frr_send,
	.exported = frr_exported,
};
