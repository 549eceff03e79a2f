/* Prometheus endpoint; see prom.h. */
#include "prom.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* Slow clients cannot hold the endpoint: few connections per address, an
 * idle timeout, and the whole exchange is one small request. */
#define PROM_CONN_MAX    64U
#define PROM_PER_IP_MAX  8U
#define PROM_TIMEOUT_S   3U

struct prom {
	struct MHD_Daemon *mhd;
	prom_render_fn render;
	void *arg;
	pthread_mutex_t lock;   /* published text */
	char *text;
	size_t len;
};

static void buf_grow(prom_buf_t *b, size_t need)
{
	if (b->failed || b->cap - b->len > need)
		return;
	size_t ncap = b->cap ? b->cap : 4096;
	while (ncap - b->len <= need)
		ncap *= 2;
	char *n = realloc(b->text, ncap);
	if (n == NULL) {
		b->failed = true;
		return;
	}
	b->text = n;
	b->cap = ncap;
}

void prom_printf(prom_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k < 0) {
		b->failed = true;
		return;
	}
	buf_grow(b, (size_t)k + 1);
	if (b->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)k;
}

void prom_head(prom_buf_t *b, const char *name, const char *type, const char *help)
{
	prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_scalar(prom_buf_t *b, const char *name, const char *type, const char *help,
                 unsigned long long value)
{
	prom_head(b, name, type, help);
	prom_printf(b, "%s %llu\n", name, value);
}

void prom_label_value(prom_buf_t *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			prom_printf(b, "\\%c", *v);
		else if (*v == '\n')
			prom_printf(b, "\\n");
		else
			prom_printf(b, "%c", *v);
	}
}

void prom_buf_free(prom_buf_t *b)
{
	free(b->text);
	memset(b, 0, sizeof(*b));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **req_cls)
{
	prom_t *p = cls;
	struct MHD_Response *resp;
	unsigned code = MHD_HTTP_OK;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return MHD_NO;
	if (strcmp(url, "/metrics") != 0) {
		static const char nf[] = "not found; try /metrics\n";
		resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
		                                       MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_NOT_FOUND;
	} else if (p->render != NULL) {
		prom_buf_t b = { 0 };
		p->render(p->arg, &b);
		if (b.failed) {
			prom_buf_free(&b);
			return MHD_NO;
		}
		/* MHD frees the text with free() once sent. */
		resp = MHD_create_response_from_buffer(b.len, b.text ? b.text : (char *)"",
		                                       b.text ? MHD_RESPMEM_MUST_FREE
		                                              : MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			free(b.text);
	} else {
		pthread_mutex_lock(&p->lock);
		resp = MHD_create_response_from_buffer(p->len, p->text ? p->text : (char *)"",
		                                       MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&p->lock);
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	enum MHD_Result r = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return r;
}

int prom_start(const struct sockaddr *sa, prom_render_fn render, void *arg, prom_t **out)
{
	prom_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return ANYNS_ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->render = render;
	p->arg = arg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	uint16_t port = sa->sa_family == AF_INET6
	                ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
	                : ntohs(((const struct sockaddr_in *)sa)->sin_port);
	p->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, p,
	                          MHD_OPTION_SOCK_ADDR, sa,
	                          MHD_OPTION_CONNECTION_LIMIT, PROM_CONN_MAX,
	                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, PROM_PER_IP_MAX,
	                          MHD_OPTION_CONNECTION_TIMEOUT, PROM_TIMEOUT_S,
	                          MHD_OPTION_END);
	if (p->mhd == NULL) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return ANYNS_EINVAL;
	}
	*out = p;
	return 0;
}

void prom_publish(prom_t *p, const char *text, size_t len)
{
	if (p == NULL)
		return;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&p->lock);
	char *old = p->text;
	p->text = copy;
	p->len = len;
	pthread_mutex_unlock(&p->lock);
	free(old);
}

void prom_stop(prom_t *p)
{
	if (p == NULL)
		return;
	MHD_stop_daemon(p->mhd);
	pthread_mutex_destroy(&p->lock);
	free(p->text);
	free(p);
}
