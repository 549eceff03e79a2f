/* A Prometheus text-format endpoint over libmicrohttpd, shared by every anyns
 * program: GET (or HEAD) /metrics answers 200 with the exposition, any other
 * path 404. The HTTP server runs in its own thread.
 *
 * The text comes either from a render callback called for each scrape (from
 * the HTTP thread: read counters with relaxed atomic loads or under a lock),
 * or, without one, from the last text handed to prom_publish() (for a program
 * whose state lives in one loop). Every series written with prom_head() has
 * its HELP and TYPE lines, so `promtool check metrics` accepts the output. */
#ifndef ANYNS_PROM_H
#define ANYNS_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct prom prom_t;

/* A growing text buffer; on allocation failure `failed` is set and further
 * writes are dropped. */
typedef struct prom_buf {
	char *text;
	size_t len, cap;
	bool failed;
} prom_buf_t;

/* "# HELP name help" and "# TYPE name type" (counter, gauge, ...). */
void prom_head(prom_buf_t *b, const char *name, const char *type, const char *help);
void prom_printf(prom_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A series without labels: its HELP and TYPE lines, then "name value". */
void prom_scalar(prom_buf_t *b, const char *name, const char *type, const char *help,
                 unsigned long long value);
/* A label value escaped per the text format (backslash, quote, newline). */
void prom_label_value(prom_buf_t *b, const char *v);
void prom_buf_free(prom_buf_t *b);

typedef void (*prom_render_fn)(void *arg, prom_buf_t *out);

/* Serves on sa. render may be NULL (then prom_publish() supplies the text).
 * Each client connection is closed after `timeout_s` seconds of silence, at
 * most `per_ip` connections from one address, 64 in all. Returns 0 or an
 * ANYNS_E* code (ANYNS_EINVAL when the address cannot be bound). */
int prom_start(const struct sockaddr *sa, prom_render_fn render, void *arg, prom_t **out);
/* Replaces the text served (copied). */
void prom_publish(prom_t *p, const char *text, size_t len);
void prom_stop(prom_t *p);   /* accepts NULL */

#endif
