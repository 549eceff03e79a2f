/* User side of the XDP fast path: loads anyns.bpf.c through its skeleton,
 * attaches it, and keeps its answer map filled from the engine. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "anyns_xdp.h"
#include "anyns.skel.h"
#include "xdp_internal.h"
#include "log.h"
#include "xdp_common.h"

#define AXDP_MAX_IFACES   16
#define AXDP_DEFAULT_SIZE 65536

struct anyns_xdp {
	struct anyns_bpf *skel;
	int ifindex[AXDP_MAX_IFACES];
	int iflink[AXDP_MAX_IFACES];     /* bpf_link fds: the attachment dies with us */
	char ifname[AXDP_MAX_IFACES][IF_NAMESIZE];
	size_t n_if;
	size_t map_entries, prefill_max;
	int answers_fd, config_fd, counters_fd;
	int ncpus;
	_Atomic uint64_t gen;
	_Atomic uint64_t stored;          /* entries in the answer map */
	_Atomic int full_logged;
	uint8_t rrl_seed[16];
};

/* libbpf's own messages: warnings (verifier logs, attach errors) are worth
 * seeing, the rest only when debugging. */
static int axdp__libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (lvl == LIBBPF_DEBUG && log_get_level() < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_msg(lvl == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, "xdp: libbpf message=%s", log_q(buf));
	return 0;
}

/* libbpf returns -errno or sets errno; map both to our codes in one place. */
static int axdp__err(int e)
{
	if (e < 0)
		e = -e;
	switch (e) {
	case ENOMEM: return ANYNS_ENOMEM;
	case E2BIG:
	case ENOSPC: return ANYNS_ESPACE;
	case ENOENT: return ANYNS_ENOENT;
	default:     return ANYNS_EINVAL;
	}
}

static int axdp__write_config(anyns_xdp_t *x, const struct axdp_cfg *cfg)
{
	__u32 k = 0;

	if (bpf_map_update_elem(x->config_fd, &k, cfg, BPF_ANY) < 0)
		return axdp__err(errno);
	return 0;
}

static int axdp__read_config(anyns_xdp_t *x, struct axdp_cfg *cfg)
{
	__u32 k = 0;

	if (bpf_map_lookup_elem(x->config_fd, &k, cfg) < 0)
		return axdp__err(errno);
	return 0;
}

static int axdp__add_addr(anyns_xdp_t *x, const struct sockaddr_storage *ss)
{
	struct axdp_addr a;
	__u8 one = 1;

	memset(&a, 0, sizeof(a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a.a[10] = 0xff;
		a.a[11] = 0xff;
		memcpy(&a.a[12], &s4->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(a.a, &s6->sin6_addr, 16);
	} else {
		return ANYNS_EINVAL;
	}
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.axdp_addrs), &a, &one, BPF_ANY) < 0)
		return axdp__err(errno);
	return 0;
}

/* Closing the link fd detaches the program; the stack sees the next packet. */
static void axdp__detach_all(anyns_xdp_t *x)
{
	size_t i;

	for (i = x->n_if; i > 0; i--) {
		close(x->iflink[i - 1]);
		log_info("xdp: detached interface=%s", log_q(x->ifname[i - 1]));
	}
	x->n_if = 0;
}

static int axdp__link(int prog, int idx, __u32 mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode);
	int fd = bpf_link_create(prog, idx, BPF_XDP, &opts);

	return fd < 0 ? -errno : fd;
}

/* The rrl settings into cfg (rate 0: off) and the whitelist map, emptied
 * first. */
static int axdp__rrl_config(anyns_xdp_t *x, const rrl_conf_t *r, struct axdp_cfg *cfg)
{
	int wfd = bpf_map__fd(x->skel->maps.axdp_rrl_white);
	struct axdp_wl_key wk, next;
	size_t i;

	cfg->rrl_rate = r->rate;
	cfg->rrl_slip = (__u16)(r->slip > RRL_MAX_SLIP ? RRL_MAX_SLIP : r->slip);
	cfg->rrl_v4_prefix = r->v4_prefix >= 1 && r->v4_prefix <= 32 ? r->v4_prefix : 24;
	cfg->rrl_v6_prefix = r->v6_prefix >= 1 && r->v6_prefix <= 128 ? r->v6_prefix : 56;
	while (bpf_map_get_next_key(wfd, NULL, &next) == 0)
		if (bpf_map_delete_elem(wfd, &next) < 0)
			return axdp__err(errno);
	for (i = 0; i < r->n_whitelist; i++) {
		const rrl_prefix_t *p = &r->whitelist[i];
		__u8 one = 1;
		memset(&wk, 0, sizeof(wk));
		wk.prefixlen = p->len;
		if (p->family == AF_INET) {
			wk.a[10] = wk.a[11] = 0xff;
			memcpy(wk.a + 12, p->addr, 4);
			wk.prefixlen += 96;
		} else {
			memcpy(wk.a, p->addr, 16);
		}
		if (bpf_map_update_elem(wfd, &wk, &one, BPF_ANY) < 0)
			return axdp__err(errno);
	}
	return 0;
}

int anyns_xdp_set_rrl(anyns_xdp_t *x, const rrl_conf_t *r)
{
	struct axdp_cfg cfg;
	int err;

	if (!x || !r)
		return ANYNS_EINVAL;
	err = axdp__read_config(x, &cfg);
	if (err == 0)
		err = axdp__rrl_config(x, r, &cfg);
	if (err == 0)
		err = axdp__write_config(x, &cfg);
	return err;
}

/* Attached through a bpf_link rather than netlink: if anynsd dies, even by
 * SIGKILL, the kernel detaches the program, so no XDP answer outlives the
 * daemon that keeps its map current. */
static int axdp__attach(anyns_xdp_t *x, const char *name, int force_generic)
{
	int prog = bpf_program__fd(x->skel->progs.anyns_xdp);
	int idx = (int)if_nametoindex(name);
	int fd = -EOPNOTSUPP;
	size_t n = x->n_if;

	if (n >= AXDP_MAX_IFACES) {
		log_err("xdp: failed error=\"too many interfaces\" max=%d", AXDP_MAX_IFACES);
		return ANYNS_EINVAL;
	}
	if (idx == 0) {
		log_err("xdp: no-interface interface=%s error=%s", log_q(name), log_q(strerror(errno)));
		return ANYNS_ENOENT;
	}
	/* Native mode runs in the driver before any skb exists; drivers without
	 * XDP support refuse it and we fall back to generic (skb) mode. */
	if (!force_generic) {
		fd = axdp__link(prog, idx, XDP_FLAGS_DRV_MODE);
		if (fd >= 0)
			log_info("xdp: attached interface=%s mode=native", log_q(name));
		else
			log_info("xdp: native-refused interface=%s error=%s next=generic", log_q(name),
			         log_q(strerror(-fd)));
	}
	if (fd < 0) {
		fd = axdp__link(prog, idx, XDP_FLAGS_SKB_MODE);
		if (fd < 0) {
			log_err("xdp: attach-failed interface=%s error=%s%s", log_q(name),
			        log_q(strerror(-fd)),
			        fd == -EBUSY ? " hint=\"another XDP program is attached\"" : "");
			return axdp__err(fd);
		}
		log_info("xdp: attached interface=%s mode=generic", log_q(name));
	}
	x->ifindex[n] = idx;
	x->iflink[n] = fd;
	snprintf(x->ifname[n], sizeof(x->ifname[n]), "%s", name);
	x->n_if = n + 1;
	return 0;
}

int anyns_xdp_open(const anyns_xdp_conf_t *conf, anyns_xdp_t **out)
{
	struct axdp_cfg cfg;
	anyns_xdp_t *x;
	size_t i;
	int err;

	if (!conf || !out || (conf->n_ifaces > 0 && !conf->ifaces))
		return ANYNS_EINVAL;
	*out = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return ANYNS_ENOMEM;
	x->map_entries = conf->map_entries ? conf->map_entries : AXDP_DEFAULT_SIZE;
	x->prefill_max = conf->prefill_max ? conf->prefill_max : x->map_entries / 2;
	libbpf_set_print(axdp__libbpf_print);

	x->ncpus = libbpf_num_possible_cpus();
	if (x->ncpus <= 0) {
		log_err("xdp: failed error=\"cannot count CPUs: %s\"", strerror(-x->ncpus));
		err = ANYNS_EINVAL;
		goto fail_free;
	}
	x->skel = anyns_bpf__open();
	if (!x->skel) {
		log_err("xdp: failed error=\"cannot open the BPF object: %s\"", strerror(errno));
		err = axdp__err(errno);
		goto fail_free;
	}
	err = bpf_map__set_max_entries(x->skel->maps.axdp_answers, (__u32)x->map_entries);
	if (err < 0) {
		err = axdp__err(err);
		goto fail_skel;
	}
	/* Templates always carry their bucket key (anyns_xdp_put_gen()), so
	 * that a reload can turn rate limiting on over the entries in place. */
	if (conf->rrl != NULL) {
		size_t n = conf->rrl->table_size < 64 ? 64 : conf->rrl->table_size;
		err = bpf_map__set_max_entries(x->skel->maps.axdp_rrl,
		                               n > (1u << 30) ? (1u << 30) : (__u32)n);
		if (err < 0) {
			err = axdp__err(err);
			goto fail_skel;
		}
	}
	if (getrandom(x->rrl_seed, sizeof(x->rrl_seed), 0) != (ssize_t)sizeof(x->rrl_seed)) {
		err = axdp__err(-EIO);
		goto fail_skel;
	}
	err = anyns_bpf__load(x->skel);
	if (err < 0) {
		log_err("xdp: load-failed error=%s%s", log_q(strerror(-err)),
		        (err == -EPERM || err == -EACCES) ?
		        " hint=\"needs root or CAP_BPF+CAP_NET_ADMIN\"" : "");
		err = axdp__err(err);
		goto fail_skel;
	}
	x->answers_fd = bpf_map__fd(x->skel->maps.axdp_answers);
	x->config_fd = bpf_map__fd(x->skel->maps.axdp_config);
	x->counters_fd = bpf_map__fd(x->skel->maps.axdp_counters);

	memset(&cfg, 0, sizeof(cfg));
	cfg.gen = 0;
	cfg.port = htons(conf->port ? conf->port : 53);
	cfg.any_addr = conf->n_addrs == 0;
	for (i = 0; i < conf->n_addrs; i++) {
		err = axdp__add_addr(x, &conf->addrs[i]);
		if (err < 0) {
			log_err("xdp: failed error=\"bad service address\" index=%zu", i);
			goto fail_skel;
		}
	}
	if (conf->rrl != NULL) {
		err = axdp__rrl_config(x, conf->rrl, &cfg);
		if (err < 0)
			goto fail_skel;
	}
	err = axdp__write_config(x, &cfg);
	if (err < 0)
		goto fail_skel;

	for (i = 0; i < conf->n_ifaces; i++) {
		err = axdp__attach(x, conf->ifaces[i], conf->force_generic);
		if (err < 0)
			goto fail_detach;
	}
	*out = x;
	return 0;

fail_detach:
	axdp__detach_all(x);
fail_skel:
	anyns_bpf__destroy(x->skel);
fail_free:
	free(x);
	return err;
}

int anyns_xdp__prog_fd(const anyns_xdp_t *x)
{
	return bpf_program__fd(x->skel->progs.anyns_xdp);
}

void anyns_xdp_close(anyns_xdp_t *x)
{
	if (!x)
		return;
	axdp__detach_all(x);
	anyns_bpf__destroy(x->skel);
	free(x);
}

/* acache_key_t -> the kernel's key. The name length is recomputed from the
 * labels so the key holds exactly what the program computes from a packet. */
static int axdp__key(const acache_key_t *key, struct axdp_key *k)
{
	size_t pos = 0;

	memset(k, 0, sizeof(*k));
	for (;;) {
		uint8_t l;

		if (pos >= sizeof(key->name))
			return ANYNS_EINVAL;
		l = key->name[pos];
		if (l > 63)
			return ANYNS_EINVAL;
		pos += (size_t)l + 1;
		if (l == 0)
			break;
	}
	if (pos > AXDP_NAME_MAX)
		return ANYNS_EINVAL;
	/* The program passes longer names on to the sockets. */
	if (pos > AXDP_KEY_NAME)
		return ANYNS_ESPACE;
	memcpy(k->name, key->name, pos);
	/* Label lengths are at most 63, below 'A': only letters change. */
	for (size_t i = 0; i < pos; i++)
		if (k->name[i] >= 'A' && k->name[i] <= 'Z')
			k->name[i] += 'a' - 'A';
	k->name_len = (__u8)pos;
	k->qtype = key->qtype;
	k->qclass = key->qclass;
	k->flags = key->flags & (AXDP_KEY_EDNS | AXDP_KEY_DO);
	return 0;
}

/* The partial sum struct axdp_val.csum holds: 16-bit words in memory
 * order, end-around carry, folded (what bpf_csum_diff() sums to). */
static __u16 axdp__sum16(const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t w;
		memcpy(&w, p + i, 2);
		s += w;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

int anyns_xdp_put_gen(anyns_xdp_t *x, uint64_t gen, const acache_key_t *key,
                      const uint8_t *resp, size_t len)
{
	return anyns_xdp_put_wild(x, gen, key, resp, len, NULL, 0);
}

int anyns_xdp_put_wild(anyns_xdp_t *x, uint64_t gen, const acache_key_t *key,
                       const uint8_t *resp, size_t len, const uint8_t *wild, size_t wild_len)
{
	struct axdp_key k;
	struct axdp_val v;
	int err;

	if (!x || !key || !resp || len < 12 || len > AXDP_RESP_MAX)
		return ANYNS_EINVAL;
	/* RFC 6891 7: a truncated EDNS answer depends on the advertised payload
	 * size, which is not part of the key. */
	if ((key->flags & ACACHE_KEY_EDNS) && (resp[2] & 0x02))
		return ANYNS_EINVAL;
	if (gen < atomic_load(&x->gen))
		return 0;
	err = axdp__key(key, &k);
	if (err < 0)
		return err;
	memset(&v, 0, sizeof(v));
	v.gen = gen;
	v.len = (__u16)len;
	memcpy(v.resp, resp, len);
	v.csum = axdp__sum16(v.resp, (len + 3) & ~(size_t)3);
	{
		uint64_t rk;
		if (rrl_response_key_wild(x->rrl_seed, resp, len, wild, wild_len, &rk) != 0)
			return ANYNS_EINVAL;
		v.rrl_key = rk;
	}

	if (bpf_map_update_elem(x->answers_fd, &k, &v, BPF_NOEXIST) == 0) {
		atomic_fetch_add(&x->stored, 1);
		return 0;
	}
	if (errno == EEXIST && bpf_map_update_elem(x->answers_fd, &k, &v, BPF_EXIST) == 0)
		return 0;
	if (errno == E2BIG || errno == ENOMEM) {
		if (!atomic_exchange(&x->full_logged, 1))
			log_warn("xdp: map-full entries=%zu reason=\"later answers stay on the socket "
			         "path\"", x->map_entries);
		return ANYNS_ESPACE;
	}
	return axdp__err(errno);
}

int anyns_xdp_put(anyns_xdp_t *x, const acache_key_t *key, const uint8_t *resp, size_t len)
{
	if (!x)
		return ANYNS_EINVAL;
	return anyns_xdp_put_gen(x, atomic_load(&x->gen), key, resp, len);
}

/* Deletes every entry of another generation. The next key is fetched before
 * the current one is deleted, so the walk never restarts. */
static void axdp__sweep(anyns_xdp_t *x, uint64_t gen)
{
	struct axdp_key cur, nxt;
	struct axdp_val v;
	size_t deleted = 0, bound = 2 * x->map_entries + 16;
	int have;

	have = bpf_map_get_next_key(x->answers_fd, NULL, &cur) == 0;
	while (have && bound-- > 0) {
		int have_next = bpf_map_get_next_key(x->answers_fd, &cur, &nxt) == 0;

		if (bpf_map_lookup_elem(x->answers_fd, &cur, &v) == 0 && v.gen != gen &&
		    bpf_map_delete_elem(x->answers_fd, &cur) == 0) {
			deleted++;
			if (atomic_load(&x->stored) > 0)
				atomic_fetch_sub(&x->stored, 1);
		}
		cur = nxt;
		have = have_next;
	}
	atomic_store(&x->full_logged, 0);
	log_debug("xdp: stale-removed generation=%llu entries=%zu",
	          (unsigned long long)gen, deleted);
}

int anyns_xdp_set_generation(anyns_xdp_t *x, uint64_t gen)
{
	struct axdp_cfg cfg;
	int err;

	if (!x)
		return ANYNS_EINVAL;
	err = axdp__read_config(x, &cfg);
	if (err < 0)
		return err;
	/* The program compares every entry with this value: from here on no
	 * entry of an older generation is answered. */
	atomic_store(&x->gen, gen);
	cfg.gen = gen;
	err = axdp__write_config(x, &cfg);
	if (err < 0)
		return err;
	axdp__sweep(x, gen);
	return 0;
}

int anyns_xdp_stats(anyns_xdp_t *x, anyns_xdp_stats_t *out)
{
	uint64_t c[AXDP_C_MAX];
	uint64_t *vals;
	__u32 k;
	int i;

	if (!x || !out)
		return ANYNS_EINVAL;
	vals = calloc((size_t)x->ncpus, sizeof(*vals));
	if (!vals)
		return ANYNS_ENOMEM;
	for (k = 0; k < AXDP_C_MAX; k++) {
		c[k] = 0;
		if (bpf_map_lookup_elem(x->counters_fd, &k, vals) < 0)
			continue;
		for (i = 0; i < x->ncpus; i++)
			c[k] += vals[i];
	}
	free(vals);
	memset(out, 0, sizeof(*out));
	out->answered = c[AXDP_C_ANSWERED];
	out->pass_miss = c[AXDP_C_PASS_MISS];
	out->pass_stale = c[AXDP_C_PASS_STALE];
	out->pass_not_dns = c[AXDP_C_PASS_NOT_DNS];
	out->pass_malformed = c[AXDP_C_PASS_MALFORMED];
	out->pass_too_big = c[AXDP_C_PASS_TOO_BIG];
	out->passed = out->pass_miss + out->pass_stale + out->pass_not_dns +
	              out->pass_malformed + out->pass_too_big;
	out->dropped = c[AXDP_C_DROPPED];
	out->rrl_slipped = c[AXDP_C_RRL_SLIPPED];
	out->rrl_dropped = c[AXDP_C_RRL_DROPPED];
	out->map_entries = atomic_load(&x->stored);
	return 0;
}

/* ---- pre-fill ------------------------------------------------------------
 * Which answers to pre-fill is the engine's choice (acache_prefill()); the
 * loader only stores them. */

struct axdp_prefill {
	anyns_xdp_t *x;
	uint64_t gen;
};

static int axdp__prefill_put(void *ctx, const acache_key_t *key, const uint8_t *resp,
                             size_t len)
{
	struct axdp_prefill *pf = ctx;
	return anyns_xdp_put_gen(pf->x, pf->gen, key, resp, len);
}

int anyns_xdp_prefill(anyns_xdp_t *x, const zset_t *zs, const answer_conf_t *conf)
{
	size_t done = 0;
	int err;

	if (!x || !zs || !conf)
		return ANYNS_EINVAL;
	struct axdp_prefill pf = { x, zset_generation(zs) };
	if (pf.gen != atomic_load(&x->gen)) {
		err = anyns_xdp_set_generation(x, pf.gen);
		if (err < 0)
			return err;
	}
	err = acache_prefill(zs, conf, AXDP_KEY_NAME, x->prefill_max, axdp__prefill_put, &pf,
	                     &done);
	log_info("xdp: prefilled answers=%zu generation=%llu", done, (unsigned long long)pf.gen);
	return err;
}
