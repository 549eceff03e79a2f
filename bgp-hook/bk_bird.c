/* BIRD 2 backend. The hook owns one include file with a static protocol per
 * service, rewrites it on every route change and asks BIRD to "configure"
 * through the control socket (the birdc protocol spoken directly), then reads
 * "show route" until the change is visible.
 *
 * Dying hook: the announced routes point at a tun device ("guard interface")
 * that only exists while this process holds its file descriptor. When the
 * process dies, even by SIGKILL, the kernel deletes the device and BIRD drops
 * the static routes through it, so the export is withdrawn with no help. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "errors.h"
#include "log.h"

typedef struct bird {
	hroute_t *routes;           /* per service: what the include file says */
	char (*canon)[64];          /* per service: prefix as BIRD prints it */
	int guard_fd;
	char *buf;                  /* include file text */
	size_t bufcap;
} bird_t;

static void proto_name(char *out, size_t cap, const char *pfx, const char *svc)
{
	snprintf(out, cap, "%s%s", pfx, svc);
	/* BIRD symbols are letters, digits and '_'. */
	for (char *p = out; *p; p++)
		if (*p == '-')
			*p = '_';
}

int hbk_bird_format(char *buf, size_t cap, const hroute_t *routes, size_t n,
                    const char *proto_prefix, const char *guard_if, uint32_t asn)
{
	size_t off = 0;
	int w;
#define ADD(...) do { \
		w = snprintf(buf + off, cap - off, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= cap - off) \
			return ANYNS_ESPACE; \
		off += (size_t)w; \
	} while (0)
	ADD("# Written by anyns-health; do not edit: rewritten on every route change.\n");
	for (size_t i = 0; i < n; i++) {
		const hroute_t *r = &routes[i];
		char pn[96];
		proto_name(pn, sizeof(pn), proto_prefix, r->service);
		ADD("protocol static %s {\n\t%s;\n", pn, r->family == 6 ? "ipv6" : "ipv4");
		if (r->kind != HSM_WITHDRAWN) {
			if (guard_if && *guard_if)
				ADD("\troute %s via \"%s\" {", r->prefix, guard_if);
			else
				ADD("\troute %s blackhole {", r->prefix);
			for (size_t c = 0; c < r->attrs.ncomm; c++)
				ADD(" bgp_community.add((%u,%u));", r->attrs.comm[c] >> 16,
				    r->attrs.comm[c] & 0xffff);
			for (size_t c = 0; c < r->attrs.nlcomm; c++)
				ADD(" bgp_large_community.add((%u,%u,%u));", r->attrs.lcomm[c][0],
				    r->attrs.lcomm[c][1], r->attrs.lcomm[c][2]);
			if (r->attrs.has_med)
				ADD(" bgp_med = %u;", r->attrs.med);
			for (unsigned p = 0; p < r->attrs.prepend; p++)
				ADD(" bgp_path.prepend(%u);", asn);
			ADD(" };\n");
		}
		ADD("}\n");
	}
#undef ADD
	return 0;
}

/* ---- the birdc protocol ------------------------------------------------- */

/* Reads one reply (lines "NNNN-text", " text", ending with "NNNN text") into
 * out. Returns the final code, or a negative ANYNS_E* code. */
static int bird_reply(int fd, char *out, size_t cap, size_t *used)
{
	char line[1024];
	size_t ll = 0;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return ANYNS_EINVAL;
		if (ch != '\n') {
			if (ll < sizeof(line) - 1)
				line[ll++] = ch;
			continue;
		}
		line[ll] = '\0';
		if (out && *used + ll + 2 < cap) {
			memcpy(out + *used, line, ll);
			*used += ll;
			out[(*used)++] = '\n';
			out[*used] = '\0';
		}
		bool coded = ll >= 5 && line[0] >= '0' && line[0] <= '9' && line[1] >= '0' &&
		             line[1] <= '9' && line[2] >= '0' && line[2] <= '9' && line[3] >= '0' &&
		             line[3] <= '9';
		if (coded && line[4] == ' ')
			return atoi(line) ;
		if (coded && ll == 4)
			return atoi(line);
		ll = 0;
	}
}

/* Runs one command on the control socket. Returns BIRD's final reply code
 * (0..9999; 0xxx success, 8xxx/9xxx errors) or a negative ANYNS_E* code.
 * Never ANYNS_ENOENT ("speaker gone, stop"): a BIRD restart must not stop the
 * hook; the daemon retries every round and BIRD reads our include file anew. */
static int bird_cmd(const char *sock, const char *cmd, char *out, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t used = 0;
	if (out && cap)
		out[0] = '\0';
	if (strlen(sock) >= sizeof(sa.sun_path))
		return ANYNS_EINVAL;
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ANYNS_ENOMEM;
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_err("bird: connect-failed socket=%s error=%s", log_q(sock), log_q(strerror(errno)));
		rc = ANYNS_EINVAL;
		goto out;
	}
	rc = bird_reply(fd, NULL, 0, &used);   /* "0001 BIRD 2.x ready." */
	if (rc < 0)
		goto out;
	char line[512];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line) || write(fd, line, (size_t)n) != n) {
		rc = ANYNS_EINVAL;
		goto out;
	}
	rc = bird_reply(fd, out, cap, &used);
out:
	close(fd);
	return rc;
}

/* ---- the backend -------------------------------------------------------- */

static int guard_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		log_err("bird: guard-failed file=/dev/net/tun error=%s", log_q(strerror(errno)));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	/* Not TUNSETPERSIST: the device must die with the process. EBUSY here
	 * means another live hook holds it. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		log_err("bird: guard-failed interface=%s error=%s", log_q(name), log_q(strerror(errno)));
		close(fd);
		return -1;
	}
	char p[128];
	snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	int pf = open(p, O_WRONLY | O_CLOEXEC);
	if (pf >= 0) {
		/* No link-local address, router solicitations or DAD on it. */
		if (write(pf, "1", 1) != 1)
			log_debug("bird: guard-ipv6-on interface=%s", log_q(name));
		close(pf);
	}
	return fd;
}

static int guard_up(const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr)) < 0) {
		log_err("bird: guard-failed interface=%s action=up error=%s", log_q(name),
		        log_q(strerror(errno)));
		if (s >= 0)
			close(s);
		return -1;
	}
	close(s);
	return 0;
}

static int bird_write_conf(hbk_t *b)
{
	bird_t *d = b->priv;
	const hbk_conf_t *k = &b->conf->bk;
	int rc;
	for (;;) {
		rc = hbk_bird_format(d->buf, d->bufcap, d->routes, b->conf->nsvc, k->proto_prefix,
		                     k->guard_if, k->asn);
		if (rc != ANYNS_ESPACE)
			break;
		char *nb = realloc(d->buf, d->bufcap * 2);
		if (!nb)
			return ANYNS_ENOMEM;
		d->buf = nb;
		d->bufcap *= 2;
	}
	if (rc < 0)
		return rc;
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", k->include);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		log_err("bird: write-failed file=%s error=%s", log_q(tmp), log_q(strerror(errno)));
		return ANYNS_EINVAL;
	}
	size_t len = strlen(d->buf);
	bool ok = fwrite(d->buf, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	/* rename(2) so that BIRD never reads a half-written file. */
	if (!ok || rename(tmp, k->include) < 0) {
		log_err("bird: write-failed file=%s error=%s", log_q(k->include), log_q(strerror(errno)));
		unlink(tmp);
		return ANYNS_EINVAL;
	}
	char out[2048];
	rc = bird_cmd(k->socket, "configure", out, sizeof(out));
	if (rc < 0)
		return rc;
	if (rc >= 8000) {
		log_err("bird: configure-failed output=%s", log_q(out));
		return ANYNS_EINVAL;
	}
	return 0;
}

/* True when BIRD shows the route (in the static protocol, or exported to
 * verify-protocol). */
static int bird_shows(hbk_t *b, size_t i, bool *out)
{
	bird_t *d = b->priv;
	const hbk_conf_t *k = &b->conf->bk;
	char cmd[256], pn[96], res[8192];
	if (*k->verify_proto) {
		snprintf(cmd, sizeof(cmd), "show route %s export %s", d->canon[i], k->verify_proto);
	} else {
		proto_name(pn, sizeof(pn), k->proto_prefix, b->conf->svc[i].name);
		snprintf(cmd, sizeof(cmd), "show route %s protocol %s", d->canon[i], pn);
	}
	int rc = bird_cmd(k->socket, cmd, res, sizeof(res));
	if (rc < 0)
		return rc;
	/* Route lines: "1007-192.0.2.53/32  unicast [...]", or the same after a
	 * single space when it continues a reply line of the same code. */
	*out = false;
	size_t pl = strlen(d->canon[i]);
	for (char *l = res; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *t = l;
		if (t[0] >= '0' && t[0] <= '9' && strlen(t) > 5 && (t[4] == '-' || t[4] == ' '))
			t += 5;
		else if (t[0] == ' ')
			t += 1;
		if (!strncmp(t, d->canon[i], pl) && (t[pl] == ' ' || t[pl] == '\t')) {
			*out = true;
			break;
		}
	}
	return 0;
}

static void canon_prefix(const char *p, char *out, size_t cap)
{
	char host[64];
	const char *sl = strchr(p, '/');
	uint8_t a[16];
	snprintf(out, cap, "%s", p);
	if (!sl || (size_t)(sl - p) >= sizeof(host))
		return;
	memcpy(host, p, (size_t)(sl - p));
	host[sl - p] = '\0';
	int af = strchr(host, ':') ? AF_INET6 : AF_INET;
	char txt[INET6_ADDRSTRLEN];
	if (inet_pton(af, host, a) == 1 && inet_ntop(af, a, txt, sizeof(txt)))
		snprintf(out, cap, "%s%s", txt, sl);
}

static int bird_open(hbk_t *b)
{
	const hconf_t *c = b->conf;
	bird_t *d = calloc(1, sizeof(*d));
	if (!d)
		return ANYNS_ENOMEM;
	d->guard_fd = -1;
	b->priv = d;
	d->routes = calloc(c->nsvc, sizeof(*d->routes));
	d->canon = calloc(c->nsvc, sizeof(*d->canon));
	d->bufcap = 4096;
	d->buf = malloc(d->bufcap);
	if (!d->routes || !d->canon || !d->buf)
		return ANYNS_ENOMEM;
	for (size_t i = 0; i < c->nsvc; i++) {
		hroute_make(&d->routes[i], &c->svc[i], i, HSM_WITHDRAWN, "init", "start");
		canon_prefix(c->svc[i].prefix, d->canon[i], sizeof(d->canon[i]));
	}
	/* The guard device first but down (EBUSY: another live hook has it, so
	 * touch nothing), then the withdrawn file, then the device up: a
	 * restarted hook must not bring back the routes of the one that died. */
	if (*c->bk.guard_if) {
		d->guard_fd = guard_open(c->bk.guard_if);
		if (d->guard_fd < 0)
			return ANYNS_EINVAL;
	}
	int rc = bird_write_conf(b);
	if (rc < 0)
		return rc;
	if (*c->bk.guard_if && guard_up(c->bk.guard_if) < 0)
		return ANYNS_EINVAL;
	return 0;
}

static int bird_send(hbk_t *b, const hroute_t *r)
{
	bird_t *d = b->priv;
	hroute_t old = d->routes[r->idx];
	d->routes[r->idx] = *r;
	int rc = bird_write_conf(b);
	if (rc < 0) {
		d->routes[r->idx] = old;
		return rc;
	}
	/* "configure" may finish asynchronously: wait until show route agrees. */
	bool want = r->kind != HSM_WITHDRAWN, got = !want;
	for (int i = 0; i < 20; i++) {   /* at most 1 s: the loop waits meanwhile */
		if (bird_shows(b, r->idx, &got) == 0 && got == want)
			return 0;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_warn("bird: route-mismatch prefix=%s exported=%s after=configure", log_q(r->prefix),
	         got ? "yes" : "no");
	return 0;
}

static int bird_exported(hbk_t *b, const hroute_t *r, bool *out)
{
	return bird_shows(b, r->idx, out);
}

static void bird_close(hbk_t *b)
{
	bird_t *d = b->priv;
	if (!d)
		return;
	if (d->guard_fd >= 0)
		close(d->guard_fd);
	free(d->routes);
	free(d->canon);
	free(d->buf);
	free(d);
	b->priv = NULL;
}

const hbk_ops_t hbk_bird_ops = {
	.name = "bird",
	.open = bird_open,
	.announce = bird_send,
	.withdraw = bird_send,
	.exported = bird_exported,
	.close = bird_close,
};
