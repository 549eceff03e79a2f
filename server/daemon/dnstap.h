/* dnstap logging of the queries anynsd answers and of its responses
 * (dnstap.proto: AUTH_QUERY, AUTH_RESPONSE) through a libfstrm I/O thread to
 * a Frame Streams Unix socket or file. A worker only encodes a frame and
 * puts it in its own queue; when that queue is full the frame is dropped and
 * counted: the writer never holds up an answer. */
#ifndef ANYNS_DNSTAP_H
#define ANYNS_DNSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

typedef struct dtap dtap_t;

typedef struct dtap_conf {
	const char *socket;     /* a Frame Streams reader's Unix socket, or NULL */
	const char *file;       /* or a file, written from its start */
	const char *identity;   /* Dnstap.identity, or NULL */
	const char *version;    /* Dnstap.version, or NULL */
	bool queries, responses;        /* which messages to write */
	unsigned n_queues;      /* one per worker */
} dtap_conf_t;

/* Starts the I/O thread; a socket with no reader yet is retried by it every
 * few seconds. Returns 0, or -1 with the reason in err. */
int dtap_new(const dtap_conf_t *c, dtap_t **out, char *err, size_t errlen);
/* Writes what is queued, stops the thread, closes the output. Accepts NULL. */
void dtap_free(dtap_t *t);

/* One exchange: the query as read at qtime from client to local (local may be
 * NULL when not known) and, when r is not NULL, the response. Queue q (the
 * worker's); several threads may share a queue. */
void dtap_log(dtap_t *t, unsigned q, bool tcp, const struct sockaddr *client,
              const struct sockaddr *local, const struct timespec *qtime, const uint8_t *query,
              size_t qlen, const uint8_t *resp, size_t rlen);

typedef struct dtap_stats {
	uint64_t frames;        /* handed to the I/O thread */
	uint64_t dropped;       /* its queue was full (or no memory) */
} dtap_stats_t;
void dtap_stats(const dtap_t *t, dtap_stats_t *s);

#endif
