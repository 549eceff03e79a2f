/* anyns-health operator interface: a Unix stream socket taking one command
 * line ("status", "drain [SERVICE]", "undrain [SERVICE]") and answering with
 * text; the first answer line starts with "ok" or "error". */
#ifndef ANYNS_HCTL_H
#define ANYNS_HCTL_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

/* Writes the answer into out (NUL-terminated). */
typedef void (*ctl_handler_fn)(void *ctx, const char *cmd, const char *arg, char *out,
                               size_t cap);

typedef struct ctl ctl_t;

/* Listens on path: the socket is 0600 and root and our user may connect;
 * with group (not NULL) it is 0660 of that group, whose members may too
 * (checked with SO_PEERCRED either way). Fails with ANYNS_EINVAL when
 * another process answers on path. */
int ctl_listen(uv_loop_t *loop, const char *path, const gid_t *group, ctl_handler_fn fn,
               void *ctx, ctl_t **out);
/* Closes the listener (the struct is freed in its close callback) and
 * removes the socket file. Accepts NULL. */
void ctl_close(ctl_t *c);

/* Client side: sends line, prints the answer on stdout. Returns the exit
 * code for the program: 0 when the answer starts with "ok", else 1. */
int ctl_client(const char *path, const char *line);

#endif
