/* Zone transfers in and NOTIFY out, on the main thread's libuv loop.
 *
 * Secondary zones (zones[] with primaries, and the members of catalog
 * zones) each have a refresh timer from their SOA (or the config): a refresh
 * asks a primary for its SOA over UDP (over TCP when truncated, unanswered
 * or not verified), and when the serial is newer (RFC 1982) asks for an
 * IXFR over TCP, falling back to AXFR when IXFR is refused or cannot be
 * applied. Primaries are tried in order,
 * each of their addresses in order. The received version is compiled and
 * checked like a zone file and published like a reload in a worker thread
 * (uv_queue_work), then written to the zone's file (temporary file, fsync,
 * rename). Past expire without a good refresh the zone answers SERVFAIL.
 *
 * For the primary side each published version of a zone with
 * allow-transfer is kept as a record list with the changes from the
 * versions held before (zhist_t, read by the workers), and zones with
 * notify: get a NOTIFY over UDP, retried, when their serial changes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "daemon.h"
#include "log.h"
#include "pkt.h"
#include "serial.h"
#include "tsig.h"
#include "wire_name.h"
#include "xjournal.h"
#include "zone_db.h"
#include "zone_patch.h"

#define XFRD_MAX_MEMBERS   XFR_MAX_MEMBERS
#define XFRD_HIST_MAX      32       /* changes kept per zone for IXFR out */
#define XFRD_MAX_RECORDS   (16u << 20)
#define NOTIFY_TRIES       5
#define NOTIFY_INTERVAL_MS 1000
#define RETRY_FIRST        5        /* seconds: a zone with no copy yet */
#define SOA_UDP_WAIT_MS    1000     /* then the SOA query goes over TCP */
#define JOURNAL_SUFFIX     ".journal"
#define JOURNAL_MAX        (1ull << 32)  /* bytes: a bigger file is not read */

enum xphase { XP_SOA, XP_IXFR, XP_AXFR };

typedef struct xzone xzone_t;
typedef struct xclient xclient_t;

struct xzone {
	struct xfrd *x;
	size_t idx;             /* conf zone */
	char *origin;
	uint8_t owire[WNAME_MAXLEN];
	size_t olen;
	bool have;              /* a version is serving */
	uint32_t serial;
	rrlist_t rrs;           /* that version, sorted */
	uint32_t refresh, retry, expire;
	uint64_t expire_at;     /* ms, monotonic; 0: not counting */
	bool expired;
	uv_timer_t timer;       /* refresh / retry / expire */
	bool timer_on;
	xclient_t *client;      /* transfer in progress */
	bool busy;              /* client or publish job running */
	bool again;             /* NOTIFY while busy: check once more after */
	bool again_axfr;        /* a full transfer was asked while busy or queued */
	bool queued;
	bool gone;              /* catalog member removed */
	unsigned lagging;       /* quick re-checks of a primary whose IXFR lags its SOA */
};

struct xclient {
	xzone_t *z;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_timer_t timer;
	uv_udp_t udp;           /* the SOA query goes over UDP first */
	bool on_udp;            /* waiting for the UDP answer */
	int handles;
	size_t prim, addr;      /* position in the primaries and their addresses */
	enum xphase phase;
	bool force_axfr;
	uint16_t id;
	uint8_t q[1024];
	size_t qlen;
	uint8_t *rb;
	size_t rlen, rcap;
	const tsig_key_t *key;
	tsig_ctx_t tsig;
	xfr_parser_t p;
	bool parser_on;
	bool done;
	uint32_t remote_serial;
	struct sockaddr_storage to;
	char remote[96];
	uint8_t ub[4096];       /* a UDP answer */
};

/* One NOTIFY to one address, retried until answered. */
typedef struct nsend {
	struct xfrd *x;
	uv_udp_t udp;
	uv_timer_t timer;
	int handles;
	struct sockaddr_storage to;
	const tsig_key_t *key;  /* &keybuf or NULL: a reload may free the config's */
	tsig_key_t keybuf;
	uint8_t msg[1024];
	size_t len;
	uint16_t id;
	unsigned tries;
	char what[300];
	struct nsend *next;
} nsend_t;

typedef struct xfrd {
	daemon_t *d;
	uv_loop_t *loop;
	uv_async_t async;
	pthread_mutex_t lock;   /* notify_flag, hist */
	bool *notify_flag;
	zhist_t **hist;
	uint32_t *notified;     /* serial last NOTIFYed per zone */
	bool *hist_busy;        /* a history is being built */
	bool *hist_again;       /* and another publication came meanwhile */
	bool *notified_set;
	bool *jloaded;          /* the zone's journal was read (or tried) */
	size_t cap;             /* entries of the per-zone arrays */
	xzone_t **zones;        /* per conf zone, NULL when not a secondary */
	unsigned active;
	xzone_t **queue;        /* waiting for a transfer slot */
	size_t nqueue;
	nsend_t *nsends;
	unsigned hjobs;         /* history jobs running */
	void (*idle_fn)(daemon_t *d);   /* waiting for no job to run */
	bool stopping;
} xfrd_t;

static void xfrd_idle_check(xfrd_t *x)
{
	if (x->idle_fn == NULL || x->active > 0 || x->hjobs > 0)
		return;
	void (*fn)(daemon_t *d) = x->idle_fn;
	x->idle_fn = NULL;
	fn(x->d);
}

static uint32_t retry_first(const struct xzone *z);

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint16_t rand16(void)
{
	uint16_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint16_t)(mono_ms() * 2654435761u);
	return v;
}

static void sa_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
		snprintf(buf, len, "%s:%u", ip, port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
		snprintf(buf, len, "[%s]:%u", ip, port);
	}
}

static const dconf_rlist_t *zone_primaries(const daemon_t *d, size_t idx)
{
	return &dconf_zone_policy(&d->conf, &d->conf.zones[idx])->primaries;
}

/* ---- history for transfers out ------------------------------------------- */

void zhist_unref(zhist_t *h)
{
	if (h == NULL || atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	for (size_t i = 0; i < h->nch; i++)
		xfr_change_clear(&h->ch[i]);
	free(h->ch);
	rrlist_clear(&h->rrs);
	zone_unref((zone_t *)h->zone);
	free(h);
}

zhist_t *xfrd_hist_get(daemon_t *d, size_t idx)
{
	xfrd_t *x = d->xfrd;
	zhist_t *h = NULL;
	if (x == NULL)
		return NULL;
	pthread_mutex_lock(&x->lock);
	if (idx < x->cap && x->hist[idx] != NULL) {
		h = x->hist[idx];
		atomic_fetch_add(&h->refs, 1);
	}
	pthread_mutex_unlock(&x->lock);
	return h;
}

/* Copies old's changes [first, old->nch) to the end of h's; 0 or ANYNS_ENOMEM
 * (h keeps the changes copied whole). */
static int hist_copy(zhist_t *h, const zhist_t *old, size_t first)
{
	for (size_t i = first; i < old->nch; i++) {
		xfr_change_t *dst = &h->ch[h->nch];
		xfr_change_init(dst);
		dst->from = old->ch[i].from;
		dst->to = old->ch[i].to;
		int rc = 0;
		for (size_t k = 0; k < old->ch[i].del.n && rc == 0; k++)
			rc = rrlist_copy_rr(&dst->del, &old->ch[i].del, &old->ch[i].del.rr[k]);
		for (size_t k = 0; k < old->ch[i].add.n && rc == 0; k++)
			rc = rrlist_copy_rr(&dst->add, &old->ch[i].add, &old->ch[i].add.rr[k]);
		if (rc != 0) {
			xfr_change_clear(dst);
			/* What was kept must still lead to h's version. */
			for (size_t k = 0; k < h->nch; k++)
				xfr_change_clear(&h->ch[k]);
			h->nch = 0;
			return rc;
		}
		h->nch++;
	}
	return 0;
}

static bool lists_same(const rrlist_t *a, const rrlist_t *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].ttl != b->rr[i].ttl || rr_cmp(a, &a->rr[i], b, &b->rr[i]) != 0)
			return false;
	return true;
}

/* A new history for zone z, continuing old when the serial moved forward,
 * or keeping old's changes when z is the same version again (a reload, a
 * restart with the journal): *same says so. */
static zhist_t *hist_build(const zhist_t *old, zone_t *z, bool *same)
{
	*same = false;
	zhist_t *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	atomic_init(&h->refs, 1);
	rrlist_init(&h->rrs);
	h->zone = zone_ref(z);
	if (rrlist_from_zone(z, &h->rrs) != 0 || (h->soa = rrlist_soa(&h->rrs)) == NULL ||
	    !rr_soa_serial(&h->rrs, h->soa, &h->serial)) {
		zhist_unref(h);
		return NULL;
	}
	if (old == NULL)
		return h;
	if (old->serial == h->serial) {
		if (lists_same(&old->rrs, &h->rrs)) {
			*same = true;
			if (old->nch > 0 && (h->ch = calloc(old->nch, sizeof(*h->ch))) != NULL)
				hist_copy(h, old, 0);
		}
		return h;
	}
	if (!serial_gt(h->serial, old->serial))
		return h;
	xfr_change_t c;
	xfr_change_init(&c);
	if (xfr_diff(&old->rrs, &h->rrs, &c) != 0) {
		xfr_change_clear(&c);
		return h;
	}
	/* Older changes are copied; the total stays under the zone's size. */
	size_t keep = old->nch, total = xfr_change_size(&c);
	while (keep > 0 && (old->nch - keep + 1 >= XFRD_HIST_MAX ||
	                    total + xfr_change_size(&old->ch[old->nch - keep]) > h->rrs.n))
		keep--;
	size_t first = old->nch - keep;
	for (size_t i = first; i < old->nch; i++)
		total += xfr_change_size(&old->ch[i]);
	h->ch = calloc(keep + 1, sizeof(*h->ch));
	if (h->ch == NULL) {
		xfr_change_clear(&c);
		return h;
	}
	hist_copy(h, old, first);
	h->ch[h->nch++] = c;
	return h;
}

/* ---- the journal: histories kept across restarts -------------------------- */

static void journal_path(const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", file, JOURNAL_SUFFIX);
}

/* The history kept in the journal of zone z's file, or NULL (none, or not
 * usable: logged). */
static zhist_t *journal_load(const char *path, const zone_t *z)
{
	const char *origin = zone_origin_text(z);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("xfr: journal-unread zone=%s file=%s reason=%s", zones_lq(origin),
			         log_q(path), log_q(strerror(errno)));
		return NULL;
	}
	struct stat st;
	uint8_t *buf = NULL;
	const char *why = NULL;
	size_t got = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if ((uint64_t)st.st_size > JOURNAL_MAX)
		why = "too big";
	else if ((buf = malloc(st.st_size ? (size_t)st.st_size : 1)) == NULL)
		why = "out of memory";
	while (why == NULL && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			why = n < 0 ? strerror(errno) : "shorter than its size";
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	zhist_t *h = NULL;
	if (why == NULL && (h = calloc(1, sizeof(*h))) == NULL)
		why = "out of memory";
	if (why == NULL) {
		size_t olen;
		const uint8_t *ow = zone_origin_wire(z, &olen);
		atomic_init(&h->refs, 1);
		rrlist_init(&h->rrs);
		int rc = xjournal_decode(buf, got, ow, olen, &h->rrs, &h->ch, &h->nch, &h->serial);
		if (rc != 0) {
			why = rc == ANYNS_EMALF ? "damaged (bad layout or checksum)" :
			      rc == ANYNS_EINVAL ? "another zone's, or serials that do not chain" :
			      anyns_strerror(rc);
			free(h);
			h = NULL;
		} else {
			h->soa = rrlist_soa(&h->rrs);
		}
	}
	free(buf);
	if (why != NULL) {
		log_warn("xfr: journal-ignored zone=%s file=%s reason=%s", zones_lq(origin), log_q(path),
		         log_q(why));
		return NULL;
	}
	log_info("xfr: journal-loaded zone=%s file=%s serial=%u changes=%zu", zones_lq(origin),
	         log_q(path), h->serial, h->nch);
	return h;
}

static int file_commit(const char *tmp, const char *path);

/* Writes h to its journal: a temporary file, fsync, rename. */
static void journal_write(const char *path, const zhist_t *h)
{
	const char *origin = zone_origin_text(h->zone);
	size_t olen, len = 0;
	const uint8_t *ow = zone_origin_wire(h->zone, &olen);
	uint8_t *buf = NULL;
	int rc = xjournal_encode(ow, olen, &h->rrs, h->ch, h->nch, &buf, &len);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = rc == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (rc == 0 && fd < 0)
		rc = -errno;
	for (size_t off = 0; rc == 0 && off < len;) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0)
			rc = -errno;
		else
			off += (size_t)n;
	}
	if (fd >= 0) {
		if (rc == 0 && fsync(fd) != 0)
			rc = -errno;
		if (close(fd) != 0 && rc == 0)
			rc = -errno;
	}
	if (fd >= 0 && rc == 0)
		rc = file_commit(tmp, path);
	else if (fd >= 0)
		unlink(tmp);
	free(buf);
	if (rc != 0)
		log_warn("xfr: journal-unwritten zone=%s file=%s reason=%s", zones_lq(origin),
		         log_q(path), log_q(rc < 0 ? strerror(-rc) : anyns_strerror(rc)));
	else
		log_debug("xfr: journal-written zone=%s file=%s serial=%u changes=%zu bytes=%zu",
		          zones_lq(origin), log_q(path), h->serial, h->nch, len);
}

/* ---- NOTIFY out ------------------------------------------------------------- */

static void nsend_closed(uv_handle_t *hd)
{
	nsend_t *n = hd->data;
	if (--n->handles > 0)
		return;
	xfrd_t *x = n->x;
	for (nsend_t **pp = &x->nsends; *pp != NULL; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	free(n);
}

static void nsend_close(nsend_t *n)
{
	if (uv_is_closing((uv_handle_t *)&n->udp))
		return;
	uv_close((uv_handle_t *)&n->udp, nsend_closed);
	uv_close((uv_handle_t *)&n->timer, nsend_closed);
}

static void nsend_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	static uint8_t rbuf[4096];  /* main loop only */
	b->base = (char *)rbuf;
	b->len = sizeof(rbuf);
}

static void nsend_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *b, const struct sockaddr *from,
                       unsigned flags)
{
	nsend_t *n = u->data;
	const uint8_t *m = (const uint8_t *)b->base;
	if (nread < PKT_HDR_LEN || from == NULL)
		return;
	if (pkt_get16(m) != n->id || !(m[2] & PKT_F1_QR) || ((m[2] >> 3) & 15) != PKT_OPCODE_NOTIFY)
		return;
	if (n->key != NULL) {
		tsig_ctx_t c;
		uint16_t terr;
		tsig_ctx_init(&c, n->key);
		/* The answer is signed over the MAC of our NOTIFY. */
		tsig_rr_t qt;
		if (tsig_find(n->msg, n->len, &qt) == 0) {
			memcpy(c.mac, qt.mac, qt.mac_len);
			c.mac_len = qt.mac_len;
		}
		int rc = tsig_verify_response(&c, m, (size_t)nread, (uint64_t)time(NULL), &terr);
		tsig_ctx_clear(&c);
		if (rc != 0) {
			log_warn("notify: bad-tsig %s tsig-error=%u action=ignored", n->what, terr);
			return;
		}
	}
	uint8_t rc = m[3] & 0x0F;
	if (rc != PKT_RCODE_NOERROR)
		log_warn("notify: rejected %s rcode=%u", n->what, rc);
	else
		log_info("notify: acknowledged %s", n->what);
	nsend_close(n);
}

static void nsend_tick(uv_timer_t *t)
{
	nsend_t *n = t->data;
	if (n->tries >= NOTIFY_TRIES) {
		log_warn("notify: unanswered %s tries=%u", n->what, n->tries);
		nsend_close(n);
		return;
	}
	n->tries++;
	uv_buf_t b = uv_buf_init((char *)n->msg, (unsigned)n->len);
	uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&n->to);
}

static void notify_send(xfrd_t *x, size_t idx, const dconf_remote_t *r, size_t ai)
{
	daemon_t *d = x->d;
	zone_t *z = zones_get(d, idx);
	if (z == NULL)
		return;
	nsend_t *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		zone_unref(z);
		return;
	}
	n->x = x;
	n->to = r->addr[ai].ss;
	if (r->key >= 0) {
		n->keybuf = d->conf.keys[r->key].key;
		n->key = &n->keybuf;
	}
	n->id = rand16();
	char to[80];
	sa_text(&n->to, to, sizeof(to));
	/* The SOA goes in the answer section (RFC 1996 3.7). */
	rrlist_t l;
	rrlist_init(&l);
	const zrrset_t *soa = zone_soa(z);
	size_t olen;
	const uint8_t *ow = zone_origin_wire(z, &olen);
	int rc = ANYNS_EINVAL;
	uint32_t serial = 0;
	if (soa != NULL && rrlist_add(&l, ow, olen, PKT_TYPE_SOA, PKT_CLASS_IN, soa->ttl,
	                              soa->data + 2, pkt_get16(soa->data)) == 0) {
		rr_soa_serial(&l, &l.rr[0], &serial);
		rc = xfr_query_build(n->msg, sizeof(n->msg), n->id, PKT_OPCODE_NOTIFY, ow, olen,
		                     PKT_TYPE_SOA, &l, &l.rr[0], &n->len);
	}
	rrlist_clear(&l);
	snprintf(n->what, sizeof(n->what), "zone=%s serial=%u to=%s@%s", zone_origin_text(z),
	         serial, r->id, to);
	zone_unref(z);
	if (rc == 0 && n->key != NULL) {
		tsig_ctx_t c;
		tsig_ctx_init(&c, n->key);
		rc = tsig_sign_query(&c, n->msg, &n->len, sizeof(n->msg), (uint64_t)time(NULL));
		tsig_ctx_clear(&c);
	}
	if (rc != 0) {
		free(n);
		return;
	}
	uv_udp_init(x->loop, &n->udp);
	uv_timer_init(x->loop, &n->timer);
	n->handles = 2;
	n->udp.data = n;
	n->timer.data = n;
	uv_unref((uv_handle_t *)&n->udp);
	uv_unref((uv_handle_t *)&n->timer);
	n->next = x->nsends;
	x->nsends = n;
	struct sockaddr_storage any;
	memset(&any, 0, sizeof(any));
	any.ss_family = n->to.ss_family;
	if (uv_udp_bind(&n->udp, (const struct sockaddr *)&any, 0) != 0 ||
	    uv_udp_recv_start(&n->udp, nsend_alloc, nsend_recv) != 0) {
		log_warn("notify: failed %s error=\"cannot open a socket\"", n->what);
		nsend_close(n);
		return;
	}
	uv_timer_start(&n->timer, nsend_tick, 0, NOTIFY_INTERVAL_MS);
}

static void notify_zone(xfrd_t *x, size_t i, uint32_t serial)
{
	daemon_t *d = x->d;
	const dconf_zone_t *zc = dconf_zone_policy(&d->conf, &d->conf.zones[i]);
	if (zc->notify.n == 0 || (x->notified_set[i] && x->notified[i] == serial))
		return;
	x->notified_set[i] = true;
	x->notified[i] = serial;
	for (size_t k = 0; k < zc->notify.n; k++) {
		const dconf_remote_t *r = &d->conf.remotes[zc->notify.v[k]];
		for (size_t a = 0; a < r->n_addr; a++)
			notify_send(x, i, r, a);
	}
}

/* A new history is built in the thread pool: listing a big zone takes
 * seconds, which the main loop must not wait for. */
typedef struct hjob {
	uv_work_t w;
	xfrd_t *x;
	size_t idx;
	zone_t *zone;
	zhist_t *old, *h;
	zhist_t *prev;          /* the history h replaced */
	char *journal;          /* its path, or NULL: none */
	bool journal_load;      /* read it first (the first history of the zone) */
} hjob_t;

static void hist_work(uv_work_t *w)
{
	hjob_t *j = w->data;
	bool same = false;
	if (j->journal_load && j->old == NULL)
		j->old = journal_load(j->journal, j->zone);
	j->h = hist_build(j->old, j->zone, &same);
	if (j->h != NULL) {
		/* Served at once: transfers out must not lag behind the zone
		 * serving for longer than the build (the journal waits on fsync). */
		xfrd_t *x = j->x;
		pthread_mutex_lock(&x->lock);
		j->prev = x->hist[j->idx];
		x->hist[j->idx] = j->h;
		pthread_mutex_unlock(&x->lock);
	}
	/* The same version again with the same changes: the journal holds it. */
	if (j->h != NULL && j->journal != NULL && !(same && j->old != NULL &&
	                                            j->old->nch == j->h->nch))
		journal_write(j->journal, j->h);
}

static void xfrd_published(daemon_t *d);

static void hist_done(uv_work_t *w, int status)
{
	hjob_t *j = w->data;
	xfrd_t *x = j->x;
	if (j->h != NULL) {
		zhist_unref(j->prev);
		/* NOTIFY once the new version can be transferred. */
		if (!x->stopping)
			notify_zone(x, j->idx, j->h->serial);
	}
	size_t idx = j->idx;
	x->hist_busy[idx] = false;
	x->hjobs--;
	zhist_unref(j->old);
	zone_unref(j->zone);
	free(j->journal);
	free(j);
	if (!x->stopping && x->hist_again[idx] && x->idle_fn == NULL) {
		x->hist_again[idx] = false;
		xfrd_published(x->d);
	}
	if (!x->stopping)
		xfrd_idle_check(x);
}

static uint32_t zone_serial(const zone_t *z)
{
	const zrrset_t *soa = zone_soa(z);
	uint32_t serial = 0;
	if (soa != NULL && soa->len >= 22) {
		rrlist_t l;
		rrlist_init(&l);
		size_t olen;
		const uint8_t *ow = zone_origin_wire(z, &olen);
		if (rrlist_add(&l, ow, olen, PKT_TYPE_SOA, PKT_CLASS_IN, 0, soa->data + 2,
		               pkt_get16(soa->data)) == 0)
			rr_soa_serial(&l, &l.rr[0], &serial);
		rrlist_clear(&l);
	}
	return serial;
}

/* After each publication: histories for transfers out, NOTIFY on serial change. */
static void xfrd_published(daemon_t *d)
{
	xfrd_t *x = d->xfrd;
	/* Waiting for a new zone list: it is published (and this runs) after. */
	if (x == NULL || x->stopping || x->idle_fn != NULL)
		return;
	for (size_t i = 0; i < d->conf.n_zones && i < x->cap; i++) {
		const dconf_zone_t *own = &d->conf.zones[i], *zc = dconf_zone_policy(&d->conf, own);
		if (own->removed || (zc->allow_transfer.n == 0 && zc->notify.n == 0))
			continue;
		zone_t *z = zones_get(d, i);
		if (z == NULL || zone_is_expired(z)) {
			zone_unref(z);
			continue;
		}
		if (zc->allow_transfer.n == 0) {
			notify_zone(x, i, zone_serial(z));
			zone_unref(z);
			continue;
		}
		pthread_mutex_lock(&x->lock);
		zhist_t *old = x->hist[i];
		if (old != NULL)
			atomic_fetch_add(&old->refs, 1);
		pthread_mutex_unlock(&x->lock);
		if ((old != NULL && old->zone == z) || x->hist_busy[i]) {
			if (x->hist_busy[i])
				x->hist_again[i] = true;
			zhist_unref(old);
			zone_unref(z);
			continue;
		}
		hjob_t *j = calloc(1, sizeof(*j));
		if (j == NULL) {
			zhist_unref(old);
			zone_unref(z);
			continue;
		}
		j->x = x;
		j->idx = i;
		j->zone = z;
		j->old = old;
		j->w.data = j;
		if (own->file != NULL) {
			char jp[4096];
			journal_path(own->file, jp, sizeof(jp));
			j->journal = strdup(jp);
			j->journal_load = !x->jloaded[i];
			x->jloaded[i] = true;
		}
		x->hist_busy[i] = true;
		x->hjobs++;
		if (uv_queue_work(x->loop, &j->w, hist_work, hist_done) != 0) {
			x->hist_busy[i] = false;
			x->hjobs--;
			zhist_unref(old);
			zone_unref(z);
			free(j->journal);
			free(j);
		}
	}
}

/* ---- secondary: timers ------------------------------------------------------- */

static void xzone_refresh(xzone_t *z, bool force_axfr);

static void xzone_timer_cb(uv_timer_t *t)
{
	xzone_t *z = t->data;
	z->timer_on = false;
	if (z->have && !z->expired && z->expire_at != 0 && mono_ms() >= z->expire_at) {
		zone_t *ph = NULL;
		log_err("xfr: expired zone=%s expire=%u answer=SERVFAIL", zones_lq(z->origin),
		        z->expire);
		z->expired = true;
		if (zone_new_expired(z->origin, &ph) == 0) {
			zones_replace(z->x->d, z->idx, ph);
			zone_unref(ph);
			zones_notify(z->x->d);
		}
	}
	xzone_refresh(z, false);
}

/* Next refresh in `sec` seconds, but never after expire. */
static void xzone_schedule(xzone_t *z, uint32_t sec)
{
	uint64_t ms = (uint64_t)sec * 1000;
	if (z->have && !z->expired && z->expire_at != 0) {
		uint64_t now = mono_ms();
		uint64_t left = z->expire_at > now ? z->expire_at - now : 0;
		if (left < ms)
			ms = left;
	}
	uv_timer_start(&z->timer, xzone_timer_cb, ms, 0);
	z->timer_on = true;
}

static void xzone_soa_timers(xzone_t *z)
{
	const dconf_zone_t *zc = dconf_zone_policy(&z->x->d->conf, &z->x->d->conf.zones[z->idx]);
	uint32_t v[5] = { 0, 3600, 600, 604800, 0 };
	const rr_t *soa = rrlist_soa(&z->rrs);
	if (soa != NULL)
		rr_soa_fields(&z->rrs, soa, v);
	z->refresh = zc->refresh_ms ? (uint32_t)(zc->refresh_ms / 1000) : (v[1] ? v[1] : 1);
	z->retry = zc->retry_ms ? (uint32_t)(zc->retry_ms / 1000) : (v[2] ? v[2] : 1);
	z->expire = zc->expire_ms ? (uint32_t)(zc->expire_ms / 1000) : (v[3] ? v[3] : 1);
}

/* Before the first copy: the configured retry, else a short one. */
static uint32_t retry_first(const xzone_t *z)
{
	const dconf_t *c = &z->x->d->conf;
	uint64_t r = dconf_zone_policy(c, &c->zones[z->idx])->retry_ms;
	return r ? (uint32_t)(r / 1000) : RETRY_FIRST;
}

/* ---- secondary: the publish job ---------------------------------------------- */

typedef struct xjob {
	uv_work_t w;
	xzone_t *z;
	daemon_t *d;
	char origin[1024];
	char *file;
	char remote[96];
	size_t idx;
	/* in: a full list (AXFR) or changes to apply to base (IXFR) */
	rrlist_t rrs;
	const rrlist_t *base;
	xfr_change_t *ch;
	size_t nch;
	bool catalog;
	uint64_t t_end;         /* mono_us() when the transfer ended */
	/* out */
	int rc;
	uint32_t serial;
	uint64_t ms;
	rrlist_t members;
	bool members_ok;
} xjob_t;

static void job_diag(void *ctx, const char *file, int line, bool fatal, const char *msg)
{
	xjob_t *j = ctx;
	if (fatal)
		log_err("xfr: error zone=%s remote=%s error=%s", zones_lq(j->origin), log_q(j->remote),
		        log_q(msg));
	else
		log_warn("xfr: warning zone=%s remote=%s warning=%s", zones_lq(j->origin),
		         log_q(j->remote), log_q(msg));
}

/* Writes the zone to path atomically: a temporary file beside it, fsync,
 * rename, fsync of the directory. */
static int write_zone_file(const char *path, const rrlist_t *l)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	uint8_t wire[65535 + 512];
	int rc = 0;
	/* SOA first, as a zone file reader expects. */
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < l->n && rc == 0; i++) {
			const rr_t *r = &l->rr[i];
			if ((r->type == PKT_TYPE_SOA) != (pass == 0))
				continue;
			size_t p = 0;
			memcpy(wire, rr_owner(l, r), r->owner_len);
			p = r->owner_len;
			pkt_put16(wire + p, r->type);
			pkt_put16(wire + p + 2, r->rclass);
			pkt_put32(wire + p + 4, r->ttl);
			pkt_put16(wire + p + 8, r->rdlen);
			memcpy(wire + p + 10, rr_rdata(l, r), r->rdlen);
			p += 10 + r->rdlen;
			ldns_rr *lr = NULL;
			size_t pos = 0;
			if (ldns_wire2rr(&lr, wire, p, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK) {
				rc = -EINVAL;
				break;
			}
			char *s = ldns_rr2str(lr);
			ldns_rr_free(lr);
			if (s == NULL || fputs(s, f) < 0)
				rc = -EIO;
			free(s);
		}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = rc ? rc : -errno;
	if (fclose(f) != 0)
		rc = rc ? rc : -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	return file_commit(tmp, path);
}

/* Renames the temporary file (written and synced) over path and syncs the
 * folder, so that a crash leaves the old file or the new one. */
static int file_commit(const char *tmp, const char *path)
{
	if (rename(tmp, path) != 0) {
		int rc = -errno;
		unlink(tmp);
		return rc;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* The records of a list as the builder takes them; NULL without memory. */
static zb_rr_t *zb_array(const rrlist_t *l)
{
	zb_rr_t *a = calloc(l->n ? l->n : 1, sizeof(*a));
	for (size_t i = 0; a != NULL && i < l->n; i++) {
		const rr_t *r = &l->rr[i];
		a[i] = (zb_rr_t){ rr_owner(l, r), r->owner_len, r->type, r->rclass, r->ttl,
		                  rr_rdata(l, r), r->rdlen };
	}
	return a;
}

/* An IXFR applied change by change to the serving version `cur`
 * (zone_patch.h): the new version shares what did not change. 0 and *out,
 * or why it cannot be done that way (ANYNS_EZONE: reported, refused). */
static int job_patch(xjob_t *j, zone_t *cur, zone_t **out)
{
	zone_t *v = zone_ref(cur);
	int rc = 0;
	for (size_t k = 0; k < j->nch && rc == 0; k++) {
		const xfr_change_t *c = &j->ch[k];
		zone_stats_t st;
		zone_get_stats(v, &st);
		if (st.serial != c->from) {
			rc = ANYNS_EINVAL;
			break;
		}
		zb_rr_t *del = zb_array(&c->del), *add = zb_array(&c->add);
		zone_t *nv = NULL;
		rc = del != NULL && add != NULL ?
		     zone_patch(v, del, c->del.n, add, c->add.n, NULL, job_diag, j, j->remote, &nv) :
		     ANYNS_ENOMEM;
		free(del);
		free(add);
		if (rc == 0) {
			zone_unref(v);
			v = nv;
		}
	}
	if (rc != 0) {
		zone_unref(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* Builds the version just published by a patch in full from its records
 * and swaps it in when it still serves: lookups go back to one table. */
static void job_fold(xjob_t *j)
{
	uint64_t t0 = mono_ms();
	zone_t *z = NULL, *cur = NULL;
	if (zone_compile_rrs(j->origin, &j->rrs, j->remote, job_diag, j, &z) != 0)
		return;
	zone_stats_t st;
	cur = zones_get(j->d, j->idx);
	if (cur != NULL && (zone_get_stats(cur, &st), st.serial == j->serial) &&
	    zone_patch_names(cur) > 0 && zones_replace(j->d, j->idx, z) == 0)
		log_info("xfr: ixfr-folded zone=%s serial=%u ms=%llu", zones_lq(j->origin),
		         j->serial, (unsigned long long)(mono_ms() - t0));
	zone_unref(cur);
	zone_unref(z);
}

static void job_work(uv_work_t *w)
{
	xjob_t *j = w->data;
	uint64_t t0 = mono_ms();
	if (j->nch > 0) {
		/* Incrementally first: the cost follows the change, not the zone.
		 * What a patch cannot do (a change to the signing, too many
		 * names, a version that is not the one the changes start from)
		 * goes through the full build below. */
		uint64_t u0 = mono_us();
		zone_t *cur = zones_get(j->d, j->idx), *z = NULL;
		int prc = cur != NULL && !zone_is_expired(cur) ? job_patch(j, cur, &z) : ANYNS_EFULL;
		zone_unref(cur);
		if (prc == ANYNS_EZONE) {
			j->rc = prc;
			return;
		}
		if (prc == 0) {
			zone_stats_t st;
			zone_get_stats(z, &st);
			size_t names = zone_patch_names(z), limit = zone_patch_limit(z);
			j->serial = st.serial;
			j->rc = zones_replace(j->d, j->idx, z);
			zone_unref(z);
			uint64_t now = mono_us(), us = now - u0;
			j->ms = us / 1000;
			if (j->rc != 0)
				return;
			/* apply: patch and publication; served: since the transfer
			 * ended (the wait for a worker included). */
			log_info("xfr: ixfr-applied zone=%s serial=%u remote=%s mode=incremental "
			         "names=%zu apply_us=%llu served_us=%llu", zones_lq(j->origin), j->serial,
			         log_q(j->remote), names, (unsigned long long)us,
			         (unsigned long long)(now - j->t_end));
			/* The records of the new version, for the history and the file,
			 * now that it is served. */
			rrlist_t out;
			rrlist_init(&out);
			int rc = xfr_apply(j->base, j->ch, j->nch, &out);
			if (rc != 0) {
				rrlist_clear(&out);
				zone_t *nz = zones_get(j->d, j->idx);
				rc = nz != NULL ? rrlist_from_zone(nz, &out) : ANYNS_ENOENT;
				zone_unref(nz);
			}
			if (rc != 0) {
				rrlist_clear(&out);
				j->rc = rc;
				return;
			}
			rrlist_clear(&j->rrs);
			j->rrs = out;
			/* Past half the bound, the changes are folded into a full
			 * build now, while the patched version serves, rather than
			 * by the IXFR that would reach the bound. */
			if (names > limit / 2)
				job_fold(j);
			goto published;
		}
		log_info("xfr: ixfr-full-build zone=%s remote=%s reason=%s", zones_lq(j->origin),
		         log_q(j->remote), log_q(anyns_strerror(prc)));
		rrlist_t out;
		rrlist_init(&out);
		j->rc = xfr_apply(j->base, j->ch, j->nch, &out);
		if (j->rc != 0) {
			rrlist_clear(&out);
			return;
		}
		rrlist_clear(&j->rrs);
		j->rrs = out;
	} else {
		rrlist_sort(&j->rrs);
		rrlist_dedup(&j->rrs);
	}
	const rr_t *soa = rrlist_soa(&j->rrs);
	if (soa == NULL || !rr_soa_serial(&j->rrs, soa, &j->serial)) {
		j->rc = ANYNS_EZONE;
		return;
	}
	zone_t *z = NULL;
	j->rc = zone_compile_rrs(j->origin, &j->rrs, j->remote, job_diag, j, &z);
	if (j->rc != 0)
		return;
	j->rc = zones_replace(j->d, j->idx, z);
	zone_unref(z);
	j->ms = mono_ms() - t0;
	if (j->rc != 0)
		return;
	if (j->nch > 0)
		log_info("xfr: ixfr-applied zone=%s serial=%u remote=%s mode=full apply_us=%llu "
		         "served_us=%llu", zones_lq(j->origin), j->serial, log_q(j->remote),
		         (unsigned long long)j->ms * 1000, (unsigned long long)(mono_us() - j->t_end));
published:
	if (j->catalog) {
		uint8_t ow[WNAME_MAXLEN];
		int n = anyns_name_from_text(j->origin, ow, sizeof(ow));
		j->members_ok = n > 0 && xfr_catalog_members(&j->rrs, ow, (size_t)n, &j->members) == 0;
		if (!j->members_ok)
			log_err("catalog: bad zone=%s error=\"no version TXT \\\"2\\\"\" members=unchanged",
			        zones_lq(j->origin));
	}
	if (j->file != NULL) {
		int rc = write_zone_file(j->file, &j->rrs);
		if (rc != 0)
			log_err("xfr: write-failed zone=%s file=%s error=%s", zones_lq(j->origin),
			        log_q(j->file), log_q(strerror(-rc)));
	}
}

static void xfrd_catalog_update(xfrd_t *x, size_t cat, const rrlist_t *members);
static void xzone_done(xzone_t *z);

static void job_done(uv_work_t *w, int status)
{
	xjob_t *j = w->data;
	xzone_t *z = j->z;
	xfrd_t *x = z->x;
	for (size_t i = 0; i < j->nch; i++)
		xfr_change_clear(&j->ch[i]);
	free(j->ch);
	if (status == 0 && j->rc == 0) {
		log_info("xfr: published zone=%s serial=%u remote=%s ms=%llu", zones_lq(z->origin),
		         j->serial, log_q(j->remote), (unsigned long long)j->ms);
		rrlist_clear(&z->rrs);
		z->rrs = j->rrs;
		rrlist_init(&j->rrs);
		z->have = true;
		z->serial = j->serial;
		z->expired = false;
		z->lagging = 0;
		xzone_soa_timers(z);
		z->expire_at = mono_ms() + (uint64_t)z->expire * 1000;
		if (z->gone) {
			/* Removed from its catalog while this transfer ran. */
			zones_replace(x->d, z->idx, NULL);
		}
		if (!x->stopping) {
			zones_notify(x->d);
			if (j->catalog && j->members_ok)
				xfrd_catalog_update(x, z->idx, &j->members);
		}
		xzone_schedule(z, z->refresh);
	} else {
		log_err("xfr: failed zone=%s remote=%s error=%s kept=serving", zones_lq(z->origin),
		        log_q(j->remote), log_q(anyns_strerror(j->rc)));
		xzone_schedule(z, z->have ? z->retry : retry_first(z));
	}
	rrlist_clear(&j->rrs);
	rrlist_clear(&j->members);
	free(j->file);
	free(j);
	xzone_done(z);
}

/* ---- secondary: the client connection ---------------------------------------- */

static void client_start(xzone_t *z, size_t prim, size_t addr, bool force_axfr);
static void client_connect(xclient_t *c);
static void client_udp_stop(xclient_t *c);
static void client_timeout(uv_timer_t *t);

static void client_closed(uv_handle_t *h)
{
	xclient_t *c = h->data;
	if (--c->handles > 0)
		return;
	if (c->parser_on)
		xfr_parser_clear(&c->p);
	tsig_ctx_clear(&c->tsig);
	free(c->rb);
	free(c);
}

static void client_close(xclient_t *c)
{
	if (c->z != NULL && c->z->client == c)
		c->z->client = NULL;
	if (uv_is_closing((uv_handle_t *)&c->timer))
		return;
	uv_close((uv_handle_t *)&c->tcp, client_closed);
	uv_close((uv_handle_t *)&c->timer, client_closed);
	uv_close((uv_handle_t *)&c->udp, client_closed);
}

/* Transfers are bounded: the next waiting zone gets the slot. */
static void xzone_done(xzone_t *z)
{
	xfrd_t *x = z->x;
	z->busy = false;
	if (x->active > 0)
		x->active--;
	if (x->stopping)
		return;
	if (x->idle_fn != NULL) {
		xfrd_idle_check(x);
		return;
	}
	while (x->nqueue > 0 && x->active < x->d->conf.xfr_max_concurrent) {
		xzone_t *n = x->queue[0];
		memmove(x->queue, x->queue + 1, --x->nqueue * sizeof(*x->queue));
		n->queued = false;
		xzone_refresh(n, false);
	}
	if (z->again && !z->gone) {
		z->again = false;
		xzone_refresh(z, false);
	}
}

/* Every address of every primary failed. */
static void client_all_failed(xclient_t *c)
{
	xzone_t *z = c->z;
	client_close(c);
	log_warn("xfr: no-primary zone=%s retry-in=%u", zones_lq(z->origin),
	         z->have ? z->retry : retry_first(z));
	zones_note(z->origin, "no primary answered");
	xzone_schedule(z, z->have ? z->retry : retry_first(z));
	xzone_done(z);
}

/* This address failed: the next one. */
static void client_next(xclient_t *c, const char *why)
{
	xzone_t *z = c->z;
	daemon_t *d = z->x->d;
	const dconf_rlist_t *prim = zone_primaries(d, z->idx);
	log_warn("xfr: primary-failed zone=%s remote=%s error=%s", zones_lq(z->origin),
	         log_q(c->remote), log_q(why));
	size_t p = c->prim, a = c->addr + 1;
	if (a >= d->conf.remotes[prim->v[p]].n_addr) {
		a = 0;
		p++;
	}
	if (p >= prim->n || z->x->stopping) {
		client_all_failed(c);
		return;
	}
	client_close(c);
	client_start(z, p, a, false);
}

/* IXFR did not work with this primary: AXFR from the same address. */
static void client_axfr(xclient_t *c, const char *why)
{
	xzone_t *z = c->z;
	log_info("xfr: fallback zone=%s remote=%s reason=%s next=AXFR", zones_lq(z->origin),
	         log_q(c->remote), log_q(why));
	size_t p = c->prim, a = c->addr;
	client_close(c);
	client_start(z, p, a, true);
}

static void client_write_done(uv_write_t *req, int status)
{
	free(req);
}

/* Builds the query for qtype in c->q (after two bytes for the TCP length),
 * signed when the remote has a key, and readies the stream parser. */
static int client_query(xclient_t *c, uint16_t qtype)
{
	xzone_t *z = c->z;
	rrlist_t *soa_l = NULL;
	const rr_t *soa = NULL;
	if (qtype == PKT_TYPE_IXFR) {
		soa_l = &z->rrs;
		soa = rrlist_soa(&z->rrs);
	}
	c->id = rand16();
	size_t len = 0;
	int rc = xfr_query_build(c->q + 2, sizeof(c->q) - 2, c->id, PKT_OPCODE_QUERY, z->owire,
	                         z->olen, qtype, soa_l, soa, &len);
	if (rc == 0 && c->key != NULL) {
		tsig_ctx_clear(&c->tsig);
		tsig_ctx_init(&c->tsig, c->key);
		rc = tsig_sign_query(&c->tsig, c->q + 2, &len, sizeof(c->q) - 2, (uint64_t)time(NULL));
	}
	if (rc != 0)
		return rc;
	pkt_put16(c->q, (uint16_t)len);
	c->qlen = len + 2;
	if (c->parser_on) {
		xfr_parser_clear(&c->p);
		c->parser_on = false;
	}
	if (qtype != PKT_TYPE_SOA) {
		xfr_parser_init(&c->p, qtype, c->id, z->owire, z->olen, z->serial);
		c->p.max_records = XFRD_MAX_RECORDS;
		c->parser_on = true;
	}
	return 0;
}

static int client_send(xclient_t *c, uint16_t qtype)
{
	int rc = client_query(c, qtype);
	if (rc != 0)
		return rc;
	uv_write_t *wr = malloc(sizeof(*wr));
	if (wr == NULL)
		return ANYNS_ENOMEM;
	uv_buf_t b = uv_buf_init((char *)c->q, (unsigned)c->qlen);
	if (uv_write(wr, (uv_stream_t *)&c->tcp, &b, 1, client_write_done) != 0) {
		free(wr);
		return ANYNS_EINVAL;
	}
	return 0;
}

static void client_finish(xclient_t *c, xjob_t *j)
{
	xzone_t *z = c->z;
	daemon_t *d = z->x->d;
	c->done = true;
	client_close(c);
	j->z = z;
	j->d = d;
	j->idx = z->idx;
	j->w.data = j;
	snprintf(j->origin, sizeof(j->origin), "%s", z->origin);
	snprintf(j->remote, sizeof(j->remote), "%s", c->remote);
	const dconf_zone_t *zc = &d->conf.zones[z->idx];
	j->file = zc->file != NULL ? strdup(zc->file) : NULL;
	j->catalog = zc->catalog;
	rrlist_init(&j->members);
	if (uv_queue_work(z->x->loop, &j->w, job_work, job_done) != 0) {
		rrlist_clear(&j->rrs);
		free(j->file);
		free(j);
		xzone_schedule(z, z->retry);
		xzone_done(z);
	}
}

static void client_uptodate(xclient_t *c)
{
	xzone_t *z = c->z;
	log_debug("xfr: current zone=%s serial=%u remote=%s remote-serial=%u", zones_lq(z->origin),
	          z->serial, log_q(c->remote), c->remote_serial);
	c->done = true;
	client_close(c);
	if (z->expired) {
		/* A primary answering again revives the copy we held. */
		zone_t *zz = NULL;
		if (zone_compile_rrs(z->origin, &z->rrs, c->remote, NULL, NULL, &zz) == 0) {
			zones_replace(z->x->d, z->idx, zz);
			zone_unref(zz);
			zones_notify(z->x->d);
		}
		z->expired = false;
	}
	z->expire_at = mono_ms() + (uint64_t)z->expire * 1000;
	xzone_schedule(z, z->refresh);
	xzone_done(z);
}

/* The primary's answer to our SOA query (over UDP or TCP). Returns false
 * when the connection is done with (closed, or moved to TCP). */
static bool client_soa_answer(xclient_t *c, const uint8_t *m, size_t len)
{
	xzone_t *z = c->z;
	char why[160];
	if (len < PKT_HDR_LEN || pkt_get16(m) != c->id || !(m[2] & PKT_F1_QR)) {
		client_next(c, "malformed SOA answer");
		return false;
	}
	if ((m[3] & 0x0F) != PKT_RCODE_NOERROR) {
		snprintf(why, sizeof(why), "SOA query answered with rcode %u", m[3] & 0x0F);
		client_next(c, why);
		return false;
	}
	size_t pos = PKT_HDR_LEN;
	if (pkt_get16(m + 4) == 1 && (pkt_skip_name(m, len, &pos) != 0 || (pos += 4) > len)) {
		client_next(c, "malformed SOA answer");
		return false;
	}
	rrlist_t l;
	rrlist_init(&l);
	bool found = false;
	for (unsigned i = 0; i < pkt_get16(m + 6) && !found; i++) {
		rrlist_reset(&l);
		if (rrlist_read_wire(&l, m, len, &pos) != 0)
			break;
		if (l.rr[0].type == PKT_TYPE_SOA &&
		    wname_equal(rr_owner(&l, &l.rr[0]), l.rr[0].owner_len, z->owire, z->olen))
			found = rr_soa_serial(&l, &l.rr[0], &c->remote_serial);
	}
	rrlist_clear(&l);
	if (!found) {
		client_next(c, "no SOA in the answer (not authoritative for the zone?)");
		return false;
	}
	if (!serial_gt(c->remote_serial, z->serial)) {
		z->lagging = 0;
		client_uptodate(c);
		return false;
	}
	c->phase = XP_IXFR;
	if (c->on_udp) {
		/* The transfer itself goes over TCP (RFC 1995 2: IXFR over UDP
		 * is optional, and a zone's changes rarely fit a datagram). */
		client_udp_stop(c);
		client_connect(c);
		return false;
	}
	if (client_send(c, PKT_TYPE_IXFR) != 0) {
		client_next(c, "cannot send the IXFR query");
		return false;
	}
	return true;
}

/* One complete DNS message from the primary. Returns false when c is gone. */
static bool client_msg(xclient_t *c, const uint8_t *m, size_t len)
{
	xzone_t *z = c->z;
	char why[160];
	if (c->key != NULL) {
		uint16_t terr = 0;
		if (tsig_verify_response(&c->tsig, m, len, (uint64_t)time(NULL), &terr) != 0) {
			char kname[1024];
			anyns_name_to_text(c->key->name, c->key->name_len, kname, sizeof(kname));
			snprintf(why, sizeof(why), "TSIG %s with key %.100s",
			         terr == TSIG_BADKEY ? "BADKEY" : terr == TSIG_BADTIME ? "BADTIME" :
			         terr == TSIG_BADSIG ? "BADSIG" : "error", kname);
			client_next(c, why);
			return false;
		}
	}
	if (c->phase == XP_SOA)
		return client_soa_answer(c, m, len);
	int rc = xfr_parser_feed(&c->p, m, len);
	if (rc == ANYNS_EINVAL || rc == ANYNS_EMALF) {
		if (c->phase == XP_IXFR) {
			snprintf(why, sizeof(why), "IXFR %s", rc == ANYNS_EINVAL ? "refused" : "malformed");
			if (rc == ANYNS_EINVAL)
				snprintf(why, sizeof(why), "IXFR answered with rcode %u", c->p.rcode);
			client_axfr(c, why);
		} else {
			if (rc == ANYNS_EINVAL)
				snprintf(why, sizeof(why), "AXFR answered with rcode %u", c->p.rcode);
			else
				snprintf(why, sizeof(why), "malformed AXFR stream");
			client_next(c, why);
		}
		return false;
	}
	if (rc != 0) {
		client_next(c, anyns_strerror(rc));
		return false;
	}
	if (!c->p.done)
		return true;
	if (c->key != NULL && !tsig_stream_complete(&c->tsig)) {
		client_next(c, "last message of the transfer not signed");
		return false;
	}
	uint32_t soa_serial = c->remote_serial;
	c->remote_serial = c->p.serial;
	if (c->p.kind == XFR_UPTODATE) {
		if (serial_gt(c->p.serial, z->serial)) {
			client_axfr(c, "IXFR answered with a newer SOA alone");
			return false;
		}
		if (c->phase == XP_IXFR && serial_gt(soa_serial, c->p.serial) && z->lagging < 5) {
			/* The primary serves the new version but cannot transfer it
			 * yet (its transfer side follows its reload): soon again. */
			z->lagging++;
			log_info("xfr: primary-lagging zone=%s remote=%s soa-serial=%u ixfr-serial=%u "
			         "retry-in=1", zones_lq(z->origin), log_q(c->remote), soa_serial,
			         c->p.serial);
			c->done = true;
			client_close(c);
			xzone_schedule(z, 1);
			xzone_done(z);
			return false;
		}
		client_uptodate(c);
		return false;
	}
	xjob_t *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		client_next(c, "out of memory");
		return false;
	}
	j->t_end = mono_us();
	rrlist_init(&j->rrs);
	if (c->p.kind == XFR_AXFR) {
		log_info("xfr: received zone=%s type=%s serial=%u remote=%s records=%zu messages=%u",
		         zones_lq(z->origin), c->phase == XP_IXFR ? "IXFR-full-zone" : "AXFR",
		         c->p.serial, log_q(c->remote), c->p.axfr.n, c->p.messages);
		j->rrs = c->p.axfr;
		rrlist_init(&c->p.axfr);
	} else {
		size_t nrec = 0;
		for (size_t i = 0; i < c->p.nchanges; i++)
			nrec += xfr_change_size(&c->p.changes[i]);
		log_info("xfr: received zone=%s type=IXFR from-serial=%u serial=%u remote=%s "
		         "changes=%zu records=%zu", zones_lq(z->origin), z->serial, c->p.serial,
		         log_q(c->remote), c->p.nchanges, nrec);
		j->base = &z->rrs;
		j->ch = c->p.changes;
		j->nch = c->p.nchanges;
		c->p.changes = NULL;
		c->p.nchanges = 0;
	}
	client_finish(c, j);
	return false;
}

static void client_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	xclient_t *c = h->data;
	if (c->rcap - c->rlen < 16384) {
		size_t nc = c->rcap ? c->rcap * 2 : 65536 + 2;
		uint8_t *nb = realloc(c->rb, nc);
		if (nb != NULL) {
			c->rb = nb;
			c->rcap = nc;
		}
	}
	b->base = (char *)c->rb + c->rlen;
	b->len = c->rcap - c->rlen;
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	xclient_t *c = s->data;
	if (nread == 0 || c->done)
		return;
	if (nread < 0) {
		if (c->phase == XP_IXFR && c->parser_on && c->p.state == 1)
			client_axfr(c, "connection closed after a newer SOA alone");
		else
			client_next(c, nread == UV_EOF ? "connection closed by the primary" :
			                                 uv_strerror((int)nread));
		return;
	}
	c->rlen += (size_t)nread;
	size_t off = 0;
	while (c->rlen - off >= 2) {
		size_t ml = pkt_get16(c->rb + off);
		if (c->rlen - off < 2 + ml)
			break;
		if (!client_msg(c, c->rb + off + 2, ml))
			return;
		off += 2 + ml;
	}
	memmove(c->rb, c->rb + off, c->rlen - off);
	c->rlen -= off;
	uv_timer_again(&c->timer);
}

static void client_connected(uv_connect_t *req, int status)
{
	xclient_t *c = req->data;
	if (status == UV_ECANCELED)
		return;
	if (status < 0) {
		char why[128];
		snprintf(why, sizeof(why), "connect: %s", uv_strerror(status));
		client_next(c, why);
		return;
	}
	uint16_t qt = c->phase == XP_SOA ? PKT_TYPE_SOA :
	              c->phase == XP_IXFR ? PKT_TYPE_IXFR : PKT_TYPE_AXFR;
	if (uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read) != 0 ||
	    client_send(c, qt) != 0)
		client_next(c, "cannot send the query");
}

/* The TCP part: the SOA query when UDP did not do, or the transfer. */
static void client_connect(xclient_t *c)
{
	uint64_t to = c->z->x->d->conf.xfr_timeout_ms;
	uv_timer_start(&c->timer, client_timeout, to, to);
	int rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&c->to,
	                        client_connected);
	if (rc != 0) {
		char why[128];
		snprintf(why, sizeof(why), "connect: %s", uv_strerror(rc));
		client_next(c, why);
	}
}

static void client_udp_stop(xclient_t *c)
{
	c->on_udp = false;
	uv_udp_recv_stop(&c->udp);
}

/* The SOA over UDP did not do (truncated, no answer, not verified): the
 * same query over TCP, as NSD and Knot DNS do. */
static void client_udp_fallback(xclient_t *c, const char *why)
{
	log_debug("xfr: soa-udp-fallback zone=%s remote=%s reason=%s", zones_lq(c->z->origin),
	          log_q(c->remote), log_q(why));
	client_udp_stop(c);
	client_connect(c);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static void client_udp_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	xclient_t *c = h->data;
	b->base = (char *)c->ub;
	b->len = sizeof(c->ub);
}

static void client_udp_read(uv_udp_t *u, ssize_t nread, const uv_buf_t *b,
                            const struct sockaddr *from, unsigned flags)
{
	xclient_t *c = u->data;
	const uint8_t *m = (const uint8_t *)b->base;
	/* Datagrams from elsewhere or for another query are not ours. */
	if (!c->on_udp || c->done || nread < PKT_HDR_LEN || from == NULL ||
	    (flags & UV_UDP_PARTIAL) || !same_addr(&c->to, from) || pkt_get16(m) != c->id ||
	    !(m[2] & PKT_F1_QR))
		return;
	if (m[2] & PKT_F1_TC) {
		client_udp_fallback(c, "truncated");
		return;
	}
	if (c->key != NULL) {
		uint16_t terr = 0;
		if (tsig_verify_response(&c->tsig, m, (size_t)nread, (uint64_t)time(NULL), &terr) != 0) {
			/* Anyone can send a datagram: TCP tells whether the
			 * primary itself fails TSIG. */
			client_udp_fallback(c, "TSIG not verified");
			return;
		}
	}
	client_soa_answer(c, m, (size_t)nread);
}

/* SOA query over UDP; TCP when it cannot go out. */
static void client_udp_soa(xclient_t *c)
{
	struct sockaddr_storage any;
	memset(&any, 0, sizeof(any));
	any.ss_family = c->to.ss_family;
	uint64_t wait = c->z->x->d->conf.xfr_timeout_ms;
	if (wait > SOA_UDP_WAIT_MS)
		wait = SOA_UDP_WAIT_MS;
	c->on_udp = true;
	if (uv_udp_bind(&c->udp, (const struct sockaddr *)&any, 0) != 0 ||
	    uv_udp_recv_start(&c->udp, client_udp_alloc, client_udp_read) != 0 ||
	    client_query(c, PKT_TYPE_SOA) != 0) {
		client_udp_fallback(c, "cannot send over UDP");
		return;
	}
	uv_buf_t b = uv_buf_init((char *)c->q + 2, (unsigned)(c->qlen - 2));
	if (uv_udp_try_send(&c->udp, &b, 1, (const struct sockaddr *)&c->to) < 0) {
		client_udp_fallback(c, "cannot send over UDP");
		return;
	}
	uv_timer_start(&c->timer, client_timeout, wait, 0);
}

static void client_timeout(uv_timer_t *t)
{
	xclient_t *c = t->data;
	if (c->on_udp)
		client_udp_fallback(c, "no answer");
	else
		client_next(c, "timed out");
}

static void client_start(xzone_t *z, size_t prim, size_t addr, bool force_axfr)
{
	daemon_t *d = z->x->d;
	const dconf_rlist_t *pl = zone_primaries(d, z->idx);
	xclient_t *c = calloc(1, sizeof(*c));
	if (c == NULL || pl->n == 0) {
		free(c);
		xzone_schedule(z, retry_first(z));
		xzone_done(z);
		return;
	}
	const dconf_remote_t *r = &d->conf.remotes[pl->v[prim]];
	c->z = z;
	c->prim = prim;
	c->addr = addr;
	c->force_axfr = force_axfr;
	c->key = r->key >= 0 ? &d->conf.keys[r->key].key : NULL;
	c->phase = z->have && !force_axfr ? XP_SOA : XP_AXFR;
	c->to = r->addr[addr].ss;
	char a[80];
	sa_text(&c->to, a, sizeof(a));
	snprintf(c->remote, sizeof(c->remote), "%s@%s", r->id, a);
	uv_tcp_init(z->x->loop, &c->tcp);
	uv_timer_init(z->x->loop, &c->timer);
	uv_udp_init(z->x->loop, &c->udp);
	uv_unref((uv_handle_t *)&c->tcp);
	uv_unref((uv_handle_t *)&c->timer);
	uv_unref((uv_handle_t *)&c->udp);
	c->tcp.data = c;
	c->timer.data = c;
	c->udp.data = c;
	c->creq.data = c;
	c->handles = 3;
	z->client = c;
	if (c->phase == XP_SOA)
		client_udp_soa(c);
	else
		client_connect(c);
}

static void xzone_refresh(xzone_t *z, bool force_axfr)
{
	xfrd_t *x = z->x;
	/* Waiting for a new zone list: every zone is checked once it is in. */
	if (x->stopping || z->gone || x->idle_fn != NULL)
		return;
	if (z->busy || z->queued) {
		z->again |= z->busy;
		z->again_axfr |= force_axfr;
		return;
	}
	if (x->active >= x->d->conf.xfr_max_concurrent) {
		xzone_t **q = realloc(x->queue, (x->nqueue + 1) * sizeof(*q));
		if (q == NULL)
			return;
		x->queue = q;
		q[x->nqueue++] = z;
		z->queued = true;
		return;
	}
	if (z->timer_on) {
		uv_timer_stop(&z->timer);
		z->timer_on = false;
	}
	z->busy = true;
	x->active++;
	force_axfr |= z->again_axfr;
	z->again_axfr = false;
	client_start(z, 0, 0, force_axfr);
}

/* ---- zones and catalogs --------------------------------------------------------- */

static void xzone_timer_closed(uv_handle_t *h)
{
	xzone_t *z = h->data;
	rrlist_clear(&z->rrs);
	free(z->origin);
	free(z);
}

static xzone_t *xzone_new(xfrd_t *x, size_t idx)
{
	daemon_t *d = x->d;
	xzone_t *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->x = x;
	z->idx = idx;
	z->origin = strdup(d->conf.zones[idx].origin);
	int n = anyns_name_from_text(z->origin ? z->origin : "", z->owire, sizeof(z->owire));
	if (z->origin == NULL || n <= 0) {
		free(z->origin);
		free(z);
		return NULL;
	}
	z->olen = (size_t)n;
	rrlist_init(&z->rrs);
	uv_timer_init(x->loop, &z->timer);
	uv_unref((uv_handle_t *)&z->timer);
	z->timer.data = z;
	/* A copy loaded from the file at start-up serves at once; its age
	 * counts toward expire, and the primary is asked right away. */
	zone_t *cur = zones_get(d, idx);
	if (cur != NULL && !zone_is_expired(cur) && rrlist_from_zone(cur, &z->rrs) == 0) {
		const rr_t *soa = rrlist_soa(&z->rrs);
		if (soa != NULL && rr_soa_serial(&z->rrs, soa, &z->serial)) {
			z->have = true;
			xzone_soa_timers(z);
			struct stat st;
			const char *file = d->conf.zones[idx].file;
			uint64_t age = 0;
			if (file != NULL && stat(file, &st) == 0 && time(NULL) > st.st_mtime)
				age = (uint64_t)(time(NULL) - st.st_mtime) * 1000;
			uint64_t exp = (uint64_t)z->expire * 1000;
			z->expire_at = mono_ms() + (age < exp ? exp - age : 0);
		}
	}
	zone_unref(cur);
	xzone_soa_timers(z);
	return z;
}

static void xzone_free(xzone_t *z)
{
	if (z == NULL)
		return;
	if (z->client != NULL)
		client_close(z->client);
	uv_close((uv_handle_t *)&z->timer, xzone_timer_closed);
}

static void xfrd_catalog_update(xfrd_t *x, size_t cat, const rrlist_t *members)
{
	daemon_t *d = x->d;
	bool *keep = calloc(d->conf.n_zones + 1, sizeof(*keep));
	if (keep == NULL)
		return;
	for (size_t i = 0; i < members->n; i++) {
		char name[1024];
		const rr_t *r = &members->rr[i];
		anyns_name_to_text(rr_owner(members, r), r->owner_len, name, sizeof(name));
		int found = -1;
		for (size_t k = 0; k < d->conf.n_zones && found < 0; k++) {
			uint8_t w[WNAME_MAXLEN];
			const dconf_zone_t *zc = &d->conf.zones[k];
			int n = anyns_name_from_text(zc->origin, w, sizeof(w));
			if (!zc->removed && n > 0 &&
			    wname_equal(w, (size_t)n, rr_owner(members, r), r->owner_len))
				found = (int)k;
		}
		if (found >= 0) {
			if (d->conf.zones[found].member && d->conf.zones[found].catalog_idx == cat)
				keep[found] = true;
			else if (!d->conf.zones[found].member)
				log_warn("catalog: member-skipped catalog=%s member=%s "
				         "reason=\"configured already\"", zones_lq(d->conf.zones[cat].origin),
				         zones_lq(name));
			continue;
		}
		if (d->conf.n_zones >= x->cap) {
			log_err("catalog: member-skipped catalog=%s member=%s reason=\"more than %d "
			        "members\"", zones_lq(d->conf.zones[cat].origin), zones_lq(name),
			        XFRD_MAX_MEMBERS);
			continue;
		}
		/* conf.zones has room (reserved at start): no realloc under readers. */
		char *file = NULL;
		if (d->conf.zones[cat].file != NULL) {
			/* Members are kept beside the catalog's own file. */
			char dir[4096], path[4096 + 1100];
			snprintf(dir, sizeof(dir), "%s", d->conf.zones[cat].file);
			snprintf(path, sizeof(path), "%s/%szone", dirname(dir), name);
			file = strdup(path);
		}
		pthread_mutex_lock(&d->zones_lock);
		size_t idx = d->conf.n_zones;
		dconf_zone_t *zc = &d->conf.zones[idx];
		memset(zc, 0, sizeof(*zc));
		zc->origin = strdup(name);
		zc->file = file;
		zc->member = true;
		zc->catalog_idx = cat;
		if (zc->origin != NULL)
			d->conf.n_zones++;
		pthread_mutex_unlock(&d->zones_lock);
		if (zc->origin == NULL) {
			free(file);
			zc->file = NULL;
			continue;
		}
		/* A copy kept from before a restart serves at once. */
		zone_t *kept = NULL;
		if (file != NULL && access(file, R_OK) == 0 &&
		    zone_compile_file(zc->origin, file, NULL, NULL, &kept) == 0) {
			zones_replace(d, idx, kept);
			zone_unref(kept);
			zones_notify(d);
		}
		bool *nk = realloc(keep, (d->conf.n_zones + 1) * sizeof(*nk));
		if (nk != NULL) {
			keep = nk;
			keep[idx] = true;
		}
		log_info("catalog: member-added catalog=%s member=%s", zones_lq(d->conf.zones[cat].origin),
		         zones_lq(name));
		x->zones[idx] = xzone_new(x, idx);
		if (x->zones[idx] != NULL)
			xzone_refresh(x->zones[idx], false);
	}
	for (size_t k = 0; k < d->conf.n_zones; k++) {
		dconf_zone_t *zc = &d->conf.zones[k];
		if (!zc->member || zc->catalog_idx != cat || zc->removed || keep[k])
			continue;
		log_info("catalog: member-removed catalog=%s member=%s",
		         zones_lq(d->conf.zones[cat].origin), zones_lq(zc->origin));
		xzone_t *z = x->zones[k];
		if (z != NULL) {
			z->gone = true;
			if (!z->busy) {
				x->zones[k] = NULL;
				xzone_free(z);
			}
		}
		pthread_mutex_lock(&d->zones_lock);
		zc->removed = true;
		pthread_mutex_unlock(&d->zones_lock);
		zones_replace(d, k, NULL);
		zones_notify(d);
		if (zc->file != NULL && unlink(zc->file) != 0 && errno != ENOENT)
			log_warn("catalog: unlink-failed catalog=%s file=%s error=%s",
			         zones_lq(d->conf.zones[cat].origin), log_q(zc->file), log_q(strerror(errno)));
		if (zc->file != NULL) {
			char jp[4096];
			journal_path(zc->file, jp, sizeof(jp));
			unlink(jp);
		}
	}
	free(keep);
}

/* ---- NOTIFY in, from the workers ------------------------------------------------ */

void xfrd_notify_received(daemon_t *d, size_t idx)
{
	xfrd_t *x = d->xfrd;
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	if (idx < x->cap)
		x->notify_flag[idx] = true;
	pthread_mutex_unlock(&x->lock);
	uv_async_send(&x->async);
}

static void xfrd_async(uv_async_t *a)
{
	xfrd_t *x = a->data;
	for (size_t i = 0; i < x->d->conf.n_zones && i < x->cap; i++) {
		pthread_mutex_lock(&x->lock);
		bool f = x->notify_flag[i];
		x->notify_flag[i] = false;
		pthread_mutex_unlock(&x->lock);
		if (f && x->zones[i] != NULL)
			xzone_refresh(x->zones[i], false);
	}
}

int xfrd_refresh(daemon_t *d, size_t idx, bool axfr)
{
	xfrd_t *x = d->xfrd;
	if (x == NULL || idx >= x->cap || x->zones[idx] == NULL)
		return -1;
	xzone_refresh(x->zones[idx], axfr);
	return 0;
}

bool xfrd_expired(daemon_t *d, size_t idx)
{
	xfrd_t *x = d->xfrd;
	return x != NULL && idx < x->cap && x->zones[idx] != NULL && x->zones[idx]->expired;
}

/* ---- a new zone list (reload) --------------------------------------------------- */

void xfrd_when_idle(daemon_t *d, void (*fn)(daemon_t *d))
{
	xfrd_t *x = d->xfrd;
	if (x == NULL || x->stopping) {
		fn(d);
		return;
	}
	x->idle_fn = fn;
	xfrd_idle_check(x);
}

static int xfrd_start(daemon_t *d);

/* The index of origin in c's zones (removed members left out), or -1. */
static long conf_index(const dconf_t *c, size_t n, const char *origin)
{
	uint8_t w[WNAME_MAXLEN], v[WNAME_MAXLEN];
	int wl = anyns_name_from_text(origin, w, sizeof(w));
	for (size_t i = 0; wl > 0 && i < c->n_zones && i < n; i++) {
		int vl = anyns_name_from_text(c->zones[i].origin, v, sizeof(v));
		if (!c->zones[i].removed && vl > 0 && wname_equal(w, (size_t)wl, v, (size_t)vl))
			return (long)i;
	}
	return -1;
}

/* Secondary zone i of the config gets its state and a SOA check now. */
static void xfrd_add_secondary(xfrd_t *x, size_t i)
{
	x->zones[i] = xzone_new(x, i);
	if (x->zones[i] != NULL)
		xzone_refresh(x->zones[i], false);
}

void xfrd_relist(daemon_t *d, const dconf_t *old, size_t cap)
{
	xfrd_t *x = d->xfrd;
	if (d->reload.closed || (x != NULL && x->stopping))
		return;     /* stopping: the transfers are not started again */
	if (x == NULL) {
		if (xfrd_start(d) != 0)
			log_err("xfr: start-failed error=\"out of memory\"");
		return;
	}
	size_t n = d->conf.n_zones;
	bool *nf = calloc(cap, sizeof(*nf)), *ns = calloc(cap, sizeof(*ns));
	bool *nj = calloc(cap, sizeof(*nj)), *nb = calloc(cap, sizeof(*nb));
	bool *na = calloc(cap, sizeof(*na));
	uint32_t *nn = calloc(cap, sizeof(*nn));
	zhist_t **nh = calloc(cap, sizeof(*nh));
	xzone_t **nz = calloc(cap, sizeof(*nz));
	if (!nf || !ns || !nj || !nb || !na || !nn || !nh || !nz) {
		free(nf); free(ns); free(nj); free(nb); free(na); free(nn); free(nh); free(nz);
		/* Only the zones within both lists are looked at from now on. */
		x->cap = x->cap < n ? x->cap : n;
		log_err("xfr: relist-failed error=\"out of memory\" transfers=\"of the zones in both "
		        "lists only, until a restart\"");
		return;
	}
	/* What a primary serves from and what was NOTIFYed follow the zone by name. */
	for (size_t i = 0; i < n; i++) {
		long j = conf_index(old, x->cap, d->conf.zones[i].origin);
		if (j < 0)
			continue;
		nh[i] = x->hist[j];
		x->hist[j] = NULL;
		nn[i] = x->notified[j];
		ns[i] = x->notified_set[j];
		nj[i] = x->jloaded[j];
	}
	/* No transfer runs: every secondary's state goes and comes back with a
	 * SOA check (its version serving stays). */
	for (size_t j = 0; j < x->cap; j++)
		if (x->zones[j] != NULL) {
			xzone_free(x->zones[j]);
			x->zones[j] = NULL;
		}
	x->nqueue = 0;
	pthread_mutex_lock(&x->lock);
	zhist_t **oh = x->hist;
	size_t ocap = x->cap;
	x->hist = nh;
	free(x->notify_flag);
	x->notify_flag = nf;
	x->cap = cap;
	pthread_mutex_unlock(&x->lock);
	for (size_t j = 0; j < ocap; j++)
		zhist_unref(oh[j]);
	free(oh);
	free(x->notified);
	free(x->notified_set);
	free(x->jloaded);
	free(x->hist_busy);
	free(x->hist_again);
	free(x->zones);
	x->notified = nn;
	x->notified_set = ns;
	x->jloaded = nj;
	x->hist_busy = nb;
	x->hist_again = na;
	x->zones = nz;
	size_t n_sec = 0;
	for (size_t i = 0; i < n; i++)
		if (d->conf.zones[i].primaries.n > 0 || d->conf.zones[i].member) {
			xfrd_add_secondary(x, i);
			n_sec++;
		}
	/* A catalog's members: listed again from the version it has. */
	for (size_t i = 0; i < n; i++) {
		xzone_t *z = x->zones[i];
		if (z == NULL || !z->have || !d->conf.zones[i].catalog)
			continue;
		rrlist_t m;
		rrlist_init(&m);
		if (xfr_catalog_members(&z->rrs, z->owire, z->olen, &m) == 0)
			xfrd_catalog_update(x, i, &m);
		rrlist_clear(&m);
	}
	log_info("xfr: zone-list-applied zones=%zu secondaries=%zu", d->conf.n_zones, n_sec);
}

/* ---- lifecycle ------------------------------------------------------------------- */

static int xfrd_start(daemon_t *d)
{
	size_t n = d->conf.n_zones;
	bool any_catalog = false, any = false;
	for (size_t i = 0; i < n; i++) {
		any_catalog |= d->conf.zones[i].catalog;
		any |= d->conf.zones[i].primaries.n > 0 || d->conf.zones[i].notify.n > 0 ||
		       d->conf.zones[i].allow_transfer.n > 0;
	}
	if (!any && d->conf.n_keys == 0)
		return 0;
	xfrd_t *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -1;
	x->d = d;
	x->loop = d->reload.loop;
	x->cap = n + (any_catalog ? XFRD_MAX_MEMBERS : 0);
	if (any_catalog) {
		/* Members are added in place later, never by moving the array. */
		pthread_mutex_lock(&d->zones_lock);
		dconf_zone_t *nz = realloc(d->conf.zones, x->cap * sizeof(*nz));
		if (nz != NULL)
			d->conf.zones = nz;
		else
			x->cap = n;
		pthread_mutex_unlock(&d->zones_lock);
	}
	x->notify_flag = calloc(x->cap, sizeof(*x->notify_flag));
	x->hist = calloc(x->cap, sizeof(*x->hist));
	x->notified = calloc(x->cap, sizeof(*x->notified));
	x->notified_set = calloc(x->cap, sizeof(*x->notified_set));
	x->zones = calloc(x->cap, sizeof(*x->zones));
	x->hist_busy = calloc(x->cap, sizeof(*x->hist_busy));
	x->hist_again = calloc(x->cap, sizeof(*x->hist_again));
	x->jloaded = calloc(x->cap, sizeof(*x->jloaded));
	if (!x->notify_flag || !x->hist || !x->notified || !x->notified_set || !x->zones ||
	    !x->hist_busy || !x->hist_again || !x->jloaded) {
		free(x->jloaded);
		free(x->hist_busy);
		free(x->hist_again);
		free(x->notify_flag);
		free(x->hist);
		free(x->notified);
		free(x->notified_set);
		free(x->zones);
		free(x);
		return -1;
	}
	pthread_mutex_init(&x->lock, NULL);
	uv_async_init(x->loop, &x->async, xfrd_async);
	x->async.data = x;
	uv_unref((uv_handle_t *)&x->async);
	d->xfrd = x;
	for (size_t i = 0; i < n; i++) {
		if (d->conf.zones[i].primaries.n == 0)
			continue;
		x->zones[i] = xzone_new(x, i);
		if (x->zones[i] != NULL)
			xzone_refresh(x->zones[i], false);
	}
	/* Catalogs loaded from their file: their members (and the members' own
	 * kept copies) serve before the primary is reached. */
	for (size_t i = 0; i < n; i++) {
		xzone_t *z = x->zones[i];
		uint8_t ow[WNAME_MAXLEN];
		int ol = anyns_name_from_text(d->conf.zones[i].origin, ow, sizeof(ow));
		if (z == NULL || !z->have || !d->conf.zones[i].catalog || ol <= 0)
			continue;
		rrlist_t m;
		rrlist_init(&m);
		if (xfr_catalog_members(&z->rrs, ow, (size_t)ol, &m) == 0)
			xfrd_catalog_update(x, i, &m);
		rrlist_clear(&m);
	}
	zones_subscribe(d, xfrd_published);
	return 0;
}

static void xfrd_stop(daemon_t *d)
{
	xfrd_t *x = d->xfrd;
	if (x == NULL)
		return;
	x->stopping = true;
	for (size_t i = 0; i < x->cap; i++)
		if (x->zones[i] != NULL) {
			xzone_free(x->zones[i]);
			x->zones[i] = NULL;
		}
	for (nsend_t *n = x->nsends; n != NULL; n = n->next)
		nsend_close(n);
	uv_close((uv_handle_t *)&x->async, NULL);
	/* Close callbacks and jobs in flight finish in the loop's last run;
	 * what is left here is freed after it (histories, arrays). */
	uv_run(x->loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < x->cap; i++)
		zhist_unref(x->hist[i]);
	d->xfrd = NULL;
	pthread_mutex_destroy(&x->lock);
	free(x->notify_flag);
	free(x->hist);
	free(x->notified);
	free(x->notified_set);
	free(x->zones);
	free(x->hist_busy);
	free(x->hist_again);
	free(x->jloaded);
	free(x->queue);
	free(x);
}

const daemon_hook_t xfr_hook = {
	.name = "zone transfers",
	.start = xfrd_start,
	.stop = xfrd_stop,
};
