/* UDP answering shared by every receive back end: batch buffers, one round
 * (receive a batch, answer each query through the worker's answer cache or
 * the engine, send the answers in one batch), recvmmsg()/sendmmsg(). The back
 * ends (udp_poll.c, udp_threads.c) decide only how a socket is waited on. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu.h>

#include "daemon.h"
#include "log.h"
#include "pkt.h"

const udp_api_t *udp_api_for(const dconf_t *c)
{
	return c->udp_io == DCONF_UDP_THREADS ? &udp_api_threads : &udp_api_poll;
}

void udp_io_free(udp_io_t *io)
{
	if (io == NULL)
		return;
	acache_free(io->cache);
	free(io->rbuf);
	free(io->sbuf);
	free(io);
}

int udp_io_new(worker_t *w, udp_io_t **out)
{
	const dconf_t *c = &w->d->conf;
	udp_io_t *io = calloc(1, sizeof(*io));
	if (io == NULL)
		return ANYNS_ENOMEM;
	io->w = w;
	io->rbuf = malloc(sizeof(*io->rbuf) * UDP_BATCH);
	io->sbuf = malloc((size_t)UDP_BATCH * c->max_udp_payload);
	if (io->rbuf == NULL || io->sbuf == NULL ||
	    (c->answer_cache > 0 && acache_new(c->answer_cache, &io->cache) != 0)) {
		udp_io_free(io);
		return ANYNS_ENOMEM;
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		struct msghdr *m = &io->rmsg[i].msg_hdr;
		io->riov[i].iov_base = io->rbuf[i];
		io->riov[i].iov_len = UDP_QUERY_MAX;
		m->msg_name = &io->raddr[i];
		m->msg_iov = &io->riov[i];
		m->msg_iovlen = 1;
		m->msg_control = io->rctl[i];
	}
	io->rdirty = UDP_BATCH;
	io->rctl_len = -1;
	*out = io;
	return 0;
}

struct udp_out {
	uint8_t *buf;
	size_t cap, len;
};

static void udp_out_put(void *ctx, const uint8_t *msg, size_t len)
{
	struct udp_out *o = ctx;
	if (len <= o->cap && o->len == 0) {
		memcpy(o->buf, msg, len);
		o->len = len;
	}
}

void peer_from(const struct sockaddr *sa, uint8_t buf[16], answer_peer_t *p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	struct timespec ts;
	memset(p, 0, sizeof(*p));
	memset(buf, 0, 16);
	p->ip = buf;
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(buf, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		p->ip_len = 4;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		bool v4 = memcmp(a, mapped, sizeof(mapped)) == 0;
		memcpy(buf, v4 ? a + 12 : a, v4 ? 4 : 16);
		p->ip_len = v4 ? 4 : 16;
	}
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	p->now = (uint32_t)ts.tv_sec;
}

/* Response rate limiting of the response out[0..olen) (rcode `rcode`;
 * synthesised from the wildcard `wild`, or NULL) to io->from: the length to
 * send (0: drop it), counted by the rcode sent. A
 * query with a valid server cookie is not limited (the source address is
 * proven); a limited one with a client cookie slips as BADCOOKIE with a
 * server cookie to come back with. */
static size_t udp_rrl(udp_io_t *io, const zset_t *zs, const answer_peer_t *peer,
                      const uint8_t *q, size_t qlen, uint8_t cookie, uint8_t *out,
                      size_t outcap, size_t olen, uint8_t rcode, const uint8_t *wild,
                      size_t wild_len)
{
	rrl_t *r = io->w->d->rrl;
	struct timespec ts;
	if (r == NULL || io->from == NULL || olen == 0 || cookie == COOKIE_VALID)
		goto send;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	switch (rrl_check_wild(r, io->from, out, olen, wild, wild_len, (uint32_t)ts.tv_sec)) {
	case RRL_PASS:
		goto send;
	case RRL_SLIP:
		if (cookie == COOKIE_CLIENT_ONLY || cookie == COOKIE_BAD) {
			answer_peer_t bp = *peer;
			answer_info_t bi;
			bp.badcookie = true;
			if (answer_build_peer(zs, &io->w->d->aconf, &bp, q, qlen, ANSWER_UDP, out, outcap,
			                      &olen, &bi) == 0 && olen > 0) {
				STAT_INC(io->stats.rrl_slipped);
				rcode = bi.rcode;
				goto send;
			}
		} else if (rrl_slip(out, &olen) == 0) {
			STAT_INC(io->stats.rrl_slipped);
			goto send;
		}
		break;
	case RRL_DROP:
		break;
	}
	STAT_INC(io->stats.rrl_dropped);
	return 0;
send:
	if (olen > 0)
		STAT_RCODE(io->stats, rcode);
	return olen;
}

/* A cached answer of a zone with allow-query, for this client? Otherwise the
 * query is answered afresh (REFUSED). */
static bool udp_acl_admits(udp_io_t *io, const zset_t *zs, const acache_key_t *key)
{
	uint8_t ipbuf[16];
	answer_peer_t peer;
	peer_from(io->from, ipbuf, &peer);
	return answer_allowed(zs, key->name, key->name_len, key->qtype, &peer);
}

size_t udp_answer(udp_io_t *io, const zset_t *zs, const uint8_t *q, size_t qlen,
                  uint8_t *out, size_t outcap)
{
	acache_key_t key;
	answer_info_t info;
	size_t olen = 0;
	uint32_t h = 0;
	uint8_t rcode;
	bool keyed = false;
	uint64_t gen = zs != NULL ? zset_generation(zs) : 0;

	STAT_INC(io->stats.udp_queries);
	if (gen != 0 && io->cache != NULL) {
		int r = acache_lookup(io->cache, gen, q, qlen, &key, &h, out, outcap, &olen, &rcode);
		/* Not for this client: answered afresh (REFUSED), not stored. */
		if (r > 0 && (r & ACACHE_HIT_ACL) && !udp_acl_admits(io, zs, &key))
			r = ANYNS_EINVAL;
		if (r >= 0) {
			const uint8_t *wild = NULL;
			size_t wl = 0;
			if ((r & ACACHE_HIT_WILDCARD) && io->w->d->rrl != NULL)
				(void)answer_wildcard_owner(zs, key.name, key.name_len, key.qtype, &wild,
				                            &wl);
			STAT_INC(io->stats.cache_hits);
			return udp_rrl(io, zs, NULL, q, qlen, COOKIE_NONE, out, outcap, olen, rcode,
			               wild, wl);
		}
		if (r == ANYNS_ENOENT) {
			keyed = true;
			STAT_INC(io->stats.cache_misses);
		}
	} else if (gen != 0 && acache_key_from_query(q, qlen, &key) == 0) {
		keyed = true;
	}
	/* A name the zone does not have (or NODATA at one it has): the SOA
	 * rendered once per zone version, no builder. The cache keeps an
	 * NXDOMAIN only when asked again, and the XDP map gets what it keeps:
	 * a flood of random names leaves both alone. */
	if (keyed && answer_negative(zs, &io->w->d->aconf, io->neg, UDP_NEG_ZONES, q, qlen, key.name,
	                             key.name_len, key.qtype, key.qclass,
	                             (key.flags & ACACHE_KEY_EDNS) != 0,
	                             (key.flags & ACACHE_KEY_DO) != 0, out, outcap, &olen,
	                             &info) == 0) {
		if (io->cache != NULL && acache_store(io->cache, gen, &key, h, out, olen, &info) &&
		    io->w->d->xdp != NULL)
			xdp_maybe_put(io, gen, &key, out, olen, NULL, 0);
		return udp_rrl(io, zs, NULL, q, qlen, COOKIE_NONE, out, outcap, olen, info.rcode,
		               NULL, 0);
	}
	/* NOTIFY and TSIG-signed queries (never cache-keyed) go aside. */
	if (!keyed && io->from != NULL && xfr_serve_wants(q, qlen, false)) {
		struct udp_out uo = { out, outcap, 0 };
		xfr_serve(io->w->d, zs, io->from, false, q, qlen, outcap, udp_out_put, &uo);
		if (uo.len == 0)
			STAT_INC(io->stats.dropped);
		else
			STAT_RCODE(io->stats, out[3] & 0x0F);
		return uo.len;
	}
	uint8_t ipbuf[16];
	answer_peer_t peer;
	peer_from(io->from, ipbuf, &peer);
	if (answer_build_peer(zs, &io->w->d->aconf, &peer, q, qlen, ANSWER_UDP, out, outcap, &olen,
	                      &info) != 0 || olen == 0) {
		STAT_INC(io->stats.dropped);
		return 0;
	}
	if (info.tc)
		STAT_INC(io->stats.truncated);
	/* NXDOMAIN from the builder (a signed zone asked with DO=1, which
	 * answer_negative() leaves to it) is likewise kept only when asked
	 * again: the one-off names of a flood through validating resolvers
	 * stay out. */
	if (keyed && io->cache != NULL && acache_store(io->cache, gen, &key, h, out, olen, &info) &&
	    io->w->d->xdp != NULL && !info.acl)
		xdp_maybe_put(io, gen, &key, out, olen, info.wildcard, info.wildcard_len);
	return udp_rrl(io, zs, &peer, q, qlen, info.cookie, out, outcap, olen, info.rcode,
	               info.wildcard, info.wildcard_len);
}

/* The address the query was sent to, from IP_PKTINFO, as a cmsg for the reply. */
static size_t reply_pktinfo(const struct msghdr *rh, uint8_t *ctl, size_t ctlcap)
{
	struct msghdr tmp = { .msg_control = ctl, .msg_controllen = ctlcap };
	memset(ctl, 0, ctlcap);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rh); c != NULL; c = CMSG_NXTHDR((struct msghdr *)rh, c)) {
		struct cmsghdr *o = CMSG_FIRSTHDR(&tmp);
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo in, pi;
			memcpy(&in, CMSG_DATA(c), sizeof(in));
			memset(&pi, 0, sizeof(pi));
			pi.ipi_spec_dst = in.ipi_addr;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

/* The address a query was sent to: from its IP_PKTINFO / IPV6_PKTINFO on a
 * wildcard socket (with the socket's port), else the socket's own. */
static const struct sockaddr *query_local(const struct udp_sock *s, const struct msghdr *rh,
                                          struct sockaddr_storage *ss)
{
	if (!s->pktinfo)
		return (const struct sockaddr *)s->local;
	*ss = *s->local;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rh); c != NULL; c = CMSG_NXTHDR((struct msghdr *)rh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    ss->ss_family == AF_INET) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)ss)->sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		           ss->ss_family == AF_INET6) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in6 *)ss)->sin6_addr = pi.ipi6_addr;
		}
	}
	return (const struct sockaddr *)ss;
}

int udp_recv_mmsg(struct udp_sock *s, int rflags)
{
	udp_io_t *io = s->io;
	int n;
	/* recvmmsg() only rewrites the headers it filled: reset those (all of them
	 * when this socket wants control messages and the last one did not). */
	int dirty = io->rdirty, ctl = s->pktinfo ? (int)sizeof(io->rctl[0]) : 0;
	if (ctl != io->rctl_len) {
		dirty = UDP_BATCH;
		io->rctl_len = ctl;
	}
	for (int i = 0; i < dirty; i++) {
		struct msghdr *m = &io->rmsg[i].msg_hdr;
		m->msg_namelen = sizeof(io->raddr[i]);
		m->msg_controllen = (size_t)ctl;
		m->msg_flags = 0;
	}
	io->rdirty = 0;
	do
		n = recvmmsg(s->fd, io->rmsg, UDP_BATCH, rflags, NULL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	io->rdirty = n;
	return n;
}

void udp_send_mmsg(struct udp_sock *s, int ns)
{
	udp_io_t *io = s->io;
	for (int off = 0; off < ns;) {
		int r = sendmmsg(s->fd, io->smsg + off, (unsigned)(ns - off), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
				STAT_ADD(io->stats.dropped, (uint64_t)(ns - off));
				break;
			}
			/* This datagram cannot go (e.g. unreachable peer): skip it. */
			STAT_INC(io->stats.dropped);
			off++;
			continue;
		}
		off += r;
	}
}

int udp_round(struct udp_sock *s)
{
	udp_io_t *io = s->io;
	const udp_api_t *api = io->w->d->udp;
	size_t cap = io->w->d->conf.max_udp_payload;
	int ns = 0;
	int n = api->recv(s);
	if (n <= 0)
		return 0;

	dtap_t *dnstap = io->w->d->dnstap;
	rcu_read_lock();
	const zset_t *zs = zones_current(io->w->d);
	for (int i = 0; i < n; i++) {
		struct msghdr *rh = &io->rmsg[i].msg_hdr;
		/* Empty: nothing to answer (also what a shut-down socket returns). */
		if (io->rmsg[i].msg_len == 0)
			continue;
		if (rh->msg_flags & MSG_TRUNC) {
			STAT_INC(io->stats.dropped);
			continue;
		}
		uint8_t *out = io->sbuf + (size_t)ns * cap;
		io->from = (const struct sockaddr *)&io->raddr[i];
		struct timespec qtime;
		if (dnstap != NULL)
			clock_gettime(CLOCK_REALTIME, &qtime);
		size_t olen = udp_answer(io, zs, io->rbuf[i], io->rmsg[i].msg_len, out, cap);
		if (dnstap != NULL) {
			struct sockaddr_storage lss;
			dtap_log(dnstap, io->w->id, false, io->from, query_local(s, rh, &lss), &qtime,
			         io->rbuf[i], io->rmsg[i].msg_len, olen > 0 ? out : NULL, olen);
		}
		if (olen == 0)
			continue;
		struct msghdr *sh = &io->smsg[ns].msg_hdr;
		io->siov[ns].iov_base = out;
		io->siov[ns].iov_len = olen;
		sh->msg_name = &io->raddr[i];
		sh->msg_namelen = rh->msg_namelen;
		sh->msg_iov = &io->siov[ns];
		sh->msg_iovlen = 1;
		sh->msg_control = NULL;
		sh->msg_controllen = 0;
		if (s->pktinfo) {
			size_t cl = reply_pktinfo(rh, io->sctl[ns], sizeof(io->sctl[ns]));
			if (cl > 0) {
				sh->msg_control = io->sctl[ns];
				sh->msg_controllen = cl;
			}
		}
		sh->msg_flags = 0;
		ns++;
	}
	rcu_read_unlock();
	if (ns > 0)
		api->send(s, ns);
	return n;
}

void udp_drain(struct udp_sock *s)
{
	for (int round = 0; round < UDP_ROUNDS; round++)
		if (udp_round(s) < UDP_BATCH)
			break;
}
