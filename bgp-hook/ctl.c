/* anyns-health control socket; see ctl.h. */
#include "ctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"
#include "peercred.h"

struct ctl {
	uv_pipe_t srv;
	char *path;
	ctl_handler_fn fn;
	void *ctx;
	gid_t group;               /* control-group, when group_set */
	bool group_set;
};

#define CTL_IDLE_MS 5000   /* a client that sends no full line is dropped */

typedef struct ctl_conn {
	uv_pipe_t pipe;
	uv_timer_t idle;
	int open_handles;
	uv_write_t wr;
	ctl_t *ctl;
	char in[256];
	size_t inlen;
	char out[8192];
	bool answered;
} ctl_conn_t;

static void conn_closed(uv_handle_t *h)
{
	ctl_conn_t *c = h->data;
	if (--c->open_handles == 0)
		free(c);
}

static void conn_close(ctl_conn_t *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->idle))
		uv_close((uv_handle_t *)&c->idle, conn_closed);
	if (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void on_idle(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_written(uv_write_t *w, int status)
{
	conn_close(w->data);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	ctl_conn_t *c = h->data;
	*buf = uv_buf_init(c->in + c->inlen, (unsigned)(sizeof(c->in) - 1 - c->inlen));
}

static void answer(ctl_conn_t *c)
{
	char *line = c->in, *arg = NULL;
	c->in[c->inlen] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	char *sp = strchr(line, ' ');
	if (sp) {
		*sp = '\0';
		arg = sp + 1;
		while (*arg == ' ')
			arg++;
		if (!*arg)
			arg = NULL;
	}
	c->ctl->fn(c->ctl->ctx, line, arg, c->out, sizeof(c->out));
	c->answered = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_buf_t b = uv_buf_init(c->out, (unsigned)strlen(c->out));
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, on_written) < 0)
		conn_close(c);
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	ctl_conn_t *c = s->data;
	if (c->answered)
		return;
	if (nread < 0) {
		if (c->inlen)
			answer(c);
		else
			conn_close(c);
		return;
	}
	c->inlen += (size_t)nread;
	if (memchr(c->in, '\n', c->inlen) || c->inlen >= sizeof(c->in) - 1)
		answer(c);
}

/* Only root, our own user and the control group may steer the routes: the
 * socket file's mode says so already, and the peer's credentials are checked
 * too, in case its folder or mode is changed. */
static bool peer_allowed(ctl_t *ctl, uv_pipe_t *p)
{
	uv_os_fd_t fd;
	char who[96] = "peer=unknown";
	if (uv_fileno((uv_handle_t *)p, &fd) == 0 &&
	    peercred_allowed(fd, ctl->group_set ? &ctl->group : NULL, who, sizeof(who)))
		return true;
	log_warn("ctl: refused %s", who);
	return false;
}

static void on_conn(uv_stream_t *srv, int status)
{
	ctl_t *ctl = srv->data;
	if (status < 0)
		return;
	ctl_conn_t *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->ctl = ctl;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	uv_timer_init(srv->loop, &c->idle);
	c->pipe.data = c->idle.data = c;
	c->open_handles = 2;
	uv_timer_start(&c->idle, on_idle, CTL_IDLE_MS, 0);
	if (uv_accept(srv, (uv_stream_t *)&c->pipe) < 0 || !peer_allowed(ctl, &c->pipe) ||
	    uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read) < 0)
		conn_close(c);
}

/* True when a live process answers on path. */
static bool someone_listens(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

int ctl_listen(uv_loop_t *loop, const char *path, const gid_t *group, ctl_handler_fn fn,
               void *ctx, ctl_t **out)
{
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return ANYNS_EINVAL;
	if (someone_listens(path)) {
		log_err("ctl: in-use socket=%s", log_q(path));
		return ANYNS_EINVAL;
	}
	unlink(path);   /* stale socket of a dead instance */
	ctl_t *c = calloc(1, sizeof(*c));
	if (!c)
		return ANYNS_ENOMEM;
	c->path = strdup(path);
	c->fn = fn;
	c->ctx = ctx;
	if (group != NULL) {
		c->group = *group;
		c->group_set = true;
	}
	uv_pipe_init(loop, &c->srv, 0);
	c->srv.data = c;
	/* Created 0600 whatever the umask, so that no other user can connect;
	 * then 0660 of the control group, if there is one. */
	mode_t old = umask(0177);
	int rc = uv_pipe_bind(&c->srv, path);
	umask(old);
	if (rc == 0 && peercred_socket_mode(path, group) != 0)
		rc = uv_translate_sys_error(errno);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&c->srv, 8, on_conn);
	if (rc < 0) {
		log_err("ctl: failed socket=%s error=%s", log_q(path), log_q(uv_strerror(rc)));
		ctl_close(c);
		return ANYNS_EINVAL;
	}
	*out = c;
	return 0;
}

static void srv_closed(uv_handle_t *h)
{
	ctl_t *c = h->data;
	free(c->path);
	free(c);
}

void ctl_close(ctl_t *c)
{
	if (!c)
		return;
	if (c->path)
		unlink(c->path);
	uv_close((uv_handle_t *)&c->srv, srv_closed);
}

int ctl_client(const char *path, const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "anyns-health: socket path too long: %s\n", path);
		return 1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "anyns-health: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buf[8192];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return 1;
	}
	size_t got = 0;
	ssize_t r;
	while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	close(fd);
	fputs(buf, stdout);
	return strncmp(buf, "ok", 2) == 0 ? 0 : 1;
}
