#include "dnstap.h"

#include <errno.h>
#include <fstrm.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dnstap.pb-c.h"

struct dtap {
	struct fstrm_iothr *iothr;
	struct fstrm_iothr_queue **q;
	unsigned n_q;
	bool queries, responses;
	ProtobufCBinaryData identity, version;
	uint64_t frames, dropped;       /* atomics */
};

#define DTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"

static struct fstrm_writer *writer_new(const dtap_conf_t *c)
{
	struct fstrm_writer_options *wopt = fstrm_writer_options_init();
	struct fstrm_writer *w = NULL;
	if (wopt == NULL)
		return NULL;
	fstrm_writer_options_add_content_type(wopt, DTAP_CONTENT_TYPE, strlen(DTAP_CONTENT_TYPE));
	if (c->socket != NULL) {
		struct fstrm_unix_writer_options *uopt = fstrm_unix_writer_options_init();
		if (uopt != NULL) {
			fstrm_unix_writer_options_set_socket_path(uopt, c->socket);
			w = fstrm_unix_writer_init(uopt, wopt);
			fstrm_unix_writer_options_destroy(&uopt);
		}
	} else {
		struct fstrm_file_options *fopt = fstrm_file_options_init();
		if (fopt != NULL) {
			fstrm_file_options_set_file_path(fopt, c->file);
			w = fstrm_file_writer_init(fopt, wopt);
			fstrm_file_options_destroy(&fopt);
		}
	}
	fstrm_writer_options_destroy(&wopt);
	return w;
}

int dtap_new(const dtap_conf_t *c, dtap_t **out, char *err, size_t errlen)
{
	dtap_t *t = calloc(1, sizeof(*t));
	struct fstrm_iothr_options *iopt = NULL;
	struct fstrm_writer *w = NULL;
	if (t == NULL || c->n_queues == 0 || (c->socket == NULL) == (c->file == NULL))
		goto fail;
	t->queries = c->queries;
	t->responses = c->responses;
	if (c->identity != NULL)
		t->identity = (ProtobufCBinaryData){ strlen(c->identity), (uint8_t *)c->identity };
	if (c->version != NULL)
		t->version = (ProtobufCBinaryData){ strlen(c->version), (uint8_t *)c->version };
	if (c->file != NULL) {
		/* The I/O thread opens the file; say now when it cannot. */
		FILE *f = fopen(c->file, "ab");
		if (f == NULL) {
			snprintf(err, errlen, "%s: %s", c->file, strerror(errno));
			goto fail_quiet;
		}
		fclose(f);
	}
	w = writer_new(c);
	if (w == NULL) {
		snprintf(err, errlen, "cannot set up the %s writer", c->socket ? "socket" : "file");
		goto fail_quiet;
	}
	iopt = fstrm_iothr_options_init();
	if (iopt == NULL)
		goto fail;
	/* Several threads of a worker (its loop, its UDP readers) share its
	 * queue. */
	fstrm_iothr_options_set_num_input_queues(iopt, c->n_queues);
	fstrm_iothr_options_set_queue_model(iopt, FSTRM_IOTHR_QUEUE_MODEL_MPSC);
	fstrm_iothr_options_set_input_queue_size(iopt, 4096);
	fstrm_iothr_options_set_reopen_interval(iopt, 2);
	t->iothr = fstrm_iothr_init(iopt, &w);  /* takes w */
	fstrm_iothr_options_destroy(&iopt);
	if (t->iothr == NULL) {
		snprintf(err, errlen, "cannot start the I/O thread (cannot open %s?)",
		         c->socket ? c->socket : c->file);
		goto fail_quiet;
	}
	t->q = calloc(c->n_queues, sizeof(*t->q));
	if (t->q == NULL)
		goto fail;
	for (unsigned i = 0; i < c->n_queues; i++)
		if ((t->q[i] = fstrm_iothr_get_input_queue_idx(t->iothr, i)) == NULL)
			goto fail;
	t->n_q = c->n_queues;
	*out = t;
	return 0;
fail:
	snprintf(err, errlen, "out of memory or bad settings");
fail_quiet:
	if (w != NULL)
		fstrm_writer_destroy(&w);
	if (iopt != NULL)
		fstrm_iothr_options_destroy(&iopt);
	dtap_free(t);
	return -1;
}

void dtap_free(dtap_t *t)
{
	if (t == NULL)
		return;
	if (t->iothr != NULL)
		fstrm_iothr_destroy(&t->iothr);
	free(t->q);
	free(t);
}

/* The address bytes and port of sa, for the message's fields. */
static bool addr_of(const struct sockaddr *sa, ProtobufCBinaryData *a, uint32_t *port)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		*a = (ProtobufCBinaryData){ 4, (uint8_t *)&in->sin_addr };
		*port = ntohs(in->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*a = (ProtobufCBinaryData){ 16, (uint8_t *)&in6->sin6_addr };
		*port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

static void submit(dtap_t *t, unsigned q, Dnstap__Dnstap *frame)
{
	size_t len = protobuf_c_message_get_packed_size(&frame->base);
	uint8_t *buf = malloc(len);
	if (buf == NULL) {
		__atomic_add_fetch(&t->dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	protobuf_c_message_pack(&frame->base, buf);
	if (fstrm_iothr_submit(t->iothr, t->q[q % t->n_q], buf, len, fstrm_free_wrapper, NULL) !=
	    fstrm_res_success) {
		free(buf);
		__atomic_add_fetch(&t->dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&t->frames, 1, __ATOMIC_RELAXED);
}

void dtap_log(dtap_t *t, unsigned q, bool tcp, const struct sockaddr *client,
              const struct sockaddr *local, const struct timespec *qtime, const uint8_t *query,
              size_t qlen, const uint8_t *resp, size_t rlen)
{
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Dnstap frame = DNSTAP__DNSTAP__INIT;
	frame.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	frame.message = &m;
	frame.has_identity = t->identity.data != NULL;
	frame.identity = t->identity;
	frame.has_version = t->version.data != NULL;
	frame.version = t->version;
	m.has_socket_family = client != NULL;
	m.socket_family = client != NULL && client->sa_family == AF_INET6 ?
	                  DNSTAP__SOCKET_FAMILY__INET6 : DNSTAP__SOCKET_FAMILY__INET;
	m.has_socket_protocol = true;
	m.socket_protocol = tcp ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
	m.has_query_address = m.has_query_port = addr_of(client, &m.query_address, &m.query_port);
	m.has_response_address = m.has_response_port =
		local != NULL && local->sa_family == (client ? client->sa_family : 0) &&
		addr_of(local, &m.response_address, &m.response_port);
	m.has_query_time_sec = m.has_query_time_nsec = true;
	m.query_time_sec = (uint64_t)qtime->tv_sec;
	m.query_time_nsec = (uint32_t)qtime->tv_nsec;
	if (t->queries) {
		m.type = DNSTAP__MESSAGE__TYPE__AUTH_QUERY;
		m.has_query_message = true;
		m.query_message = (ProtobufCBinaryData){ qlen, (uint8_t *)query };
		submit(t, q, &frame);
		m.has_query_message = false;
	}
	if (t->responses && resp != NULL) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		m.type = DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE;
		m.has_response_time_sec = m.has_response_time_nsec = true;
		m.response_time_sec = (uint64_t)now.tv_sec;
		m.response_time_nsec = (uint32_t)now.tv_nsec;
		m.has_response_message = true;
		m.response_message = (ProtobufCBinaryData){ rlen, (uint8_t *)resp };
		submit(t, q, &frame);
	}
}

void dtap_stats(const dtap_t *t, dtap_stats_t *s)
{
	s->frames = __atomic_load_n(&t->frames, __ATOMIC_RELAXED);
	s->dropped = __atomic_load_n(&t->dropped, __ATOMIC_RELAXED);
}

/* ---- the daemon's part ------------------------------------------------------ */
#include "daemon.h"
#include "log.h"

static int dnstap_start(daemon_t *d)
{
	const dconf_t *c = &d->conf;
	char err[512];
	if (c->dnstap_socket == NULL && c->dnstap_file == NULL)
		return 0;
	dtap_conf_t dc = {
		.socket = c->dnstap_socket, .file = c->dnstap_file, .identity = c->identity,
		.version = "anynsd " ANYNSD_VERSION, .queries = c->dnstap_queries,
		.responses = c->dnstap_responses, .n_queues = d->n_workers,
	};
	if (dtap_new(&dc, &d->dnstap, err, sizeof(err)) != 0) {
		log_err("dnstap: failed error=%s", log_q(err));
		return -1;
	}
	log_info("dnstap: on %s=%s queries=%s responses=%s", c->dnstap_socket ? "socket" : "file",
	         log_q(c->dnstap_socket ? c->dnstap_socket : c->dnstap_file),
	         c->dnstap_queries ? "yes" : "no", c->dnstap_responses ? "yes" : "no");
	return 0;
}

static void dnstap_stop(daemon_t *d)
{
	if (d->dnstap == NULL)
		return;
	dtap_stats_t s;
	dtap_stats(d->dnstap, &s);
	dtap_free(d->dnstap);
	d->dnstap = NULL;
	log_info("dnstap: stopped frames=%llu dropped=%llu", (unsigned long long)s.frames,
	         (unsigned long long)s.dropped);
}

const daemon_hook_t dnstap_hook = { "dnstap", dnstap_start, dnstap_stop };
