/* anyns-health metrics endpoint; see metrics.h. */
#include "metrics.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "anyns.h"
#include "log.h"

struct hmet {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **req_cls)
{
	hmet_t *m = cls;
	struct MHD_Response *resp;
	unsigned code = MHD_HTTP_OK;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return MHD_NO;
	if (strcmp(url, "/metrics") != 0) {
		static const char nf[] = "not found; try /metrics\n";
		resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
		                                       MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_NOT_FOUND;
	} else {
		pthread_mutex_lock(&m->lock);
		resp = MHD_create_response_from_buffer(m->len, m->text ? m->text : (char *)"",
		                                       MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&m->lock);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	enum MHD_Result r = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return r;
}

int hmet_start(const struct sockaddr *sa, hmet_t **out)
{
	hmet_t *m = calloc(1, sizeof(*m));
	if (!m)
		return ANYNS_ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	uint16_t port = sa->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
	                                          : ntohs(((const struct sockaddr_in *)sa)->sin_port);
	m->d = MHD_start_daemon(flags, port, NULL, NULL, on_req, m, MHD_OPTION_SOCK_ADDR, sa,
	                        MHD_OPTION_CONNECTION_LIMIT, 16, MHD_OPTION_CONNECTION_TIMEOUT,
	                        5, MHD_OPTION_END);
	if (!m->d) {
		pthread_mutex_destroy(&m->lock);
		free(m);
		return ANYNS_EINVAL;
	}
	*out = m;
	return 0;
}

void hmet_publish(hmet_t *m, const char *text, size_t len)
{
	if (!m)
		return;
	char *copy = malloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&m->lock);
	char *old = m->text;
	m->text = copy;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
}

void hmet_stop(hmet_t *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}
