/* Prometheus text exposition on GET /metrics (libmicrohttpd, its own
 * thread). The daemon renders the text in its loop and publishes a copy;
 * the HTTP thread only copies it out under a mutex. */
#ifndef ANYNS_HMETRICS_H
#define ANYNS_HMETRICS_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct hmet hmet_t;

int hmet_start(const struct sockaddr *sa, hmet_t **out);
void hmet_publish(hmet_t *m, const char *text, size_t len);
void hmet_stop(hmet_t *m);   /* accepts NULL */

#endif
