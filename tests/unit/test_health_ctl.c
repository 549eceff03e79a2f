/* anyns-health control socket: command parsing, answers, one instance per
 * socket, cleanup. The server runs in the test's libuv loop, the clients in a
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "anyns.h"
#include "ctl.h"

static char g_path[108];
static uv_async_t g_done;
static char g_answers[3][256];
static int g_client_rc[2];

static void handler(void *ctx, const char *cmd, const char *arg, char *out, size_t cap)
{
	int *calls = ctx;
	(*calls)++;
	if (!strcmp(cmd, "status"))
		snprintf(out, cap, "ok\nsvc state=up\n");
	else
		snprintf(out, cap, "%s cmd=%s arg=%s\n", strcmp(cmd, "bogus") ? "ok" : "error", cmd,
		         arg ? arg : "(none)");
}

static void raw(const char *line, char *out, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, g_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	shutdown(fd, SHUT_WR);
	size_t got = 0;
	ssize_t n;
	while (got < cap - 1 && (n = read(fd, out + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
}

static void *client(void *arg)
{
	raw("drain dns4\n", g_answers[0], sizeof(g_answers[0]));
	raw("undrain\r\n", g_answers[1], sizeof(g_answers[1]));
	raw("status", g_answers[2], sizeof(g_answers[2]));    /* no newline: EOF ends it */
	/* ctl_client prints the answer; the exit code follows its first word. */
	g_client_rc[0] = ctl_client(g_path, "status");
	g_client_rc[1] = ctl_client(g_path, "bogus x");
	uv_async_send(&g_done);
	return NULL;
}

static ctl_t *g_ctl;

static void on_done(uv_async_t *a)
{
	ctl_close(g_ctl);
	uv_close((uv_handle_t *)a, NULL);
}

static void test_ctl(void **st)
{
	uv_loop_t loop;
	int calls = 0;
	snprintf(g_path, sizeof(g_path), "/tmp/test_health_ctl.%d.sock", (int)getpid());
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(ctl_listen(&loop, g_path, NULL, handler, &calls, &g_ctl), 0);
	/* A second instance on the same path is refused while the first lives. */
	ctl_t *second = NULL;
	assert_int_equal(ctl_listen(&loop, g_path, NULL, handler, &calls, &second), ANYNS_EINVAL);
	assert_null(second);
	uv_async_init(&loop, &g_done, on_done);
	pthread_t th;
	pthread_create(&th, NULL, client, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	pthread_join(th, NULL);
	assert_int_equal(uv_loop_close(&loop), 0);

	assert_string_equal(g_answers[0], "ok cmd=drain arg=dns4\n");
	assert_string_equal(g_answers[1], "ok cmd=undrain arg=(none)\n");
	assert_string_equal(g_answers[2], "ok\nsvc state=up\n");
	assert_int_equal(g_client_rc[0], 0);
	assert_int_equal(g_client_rc[1], 1);
	assert_int_equal(calls, 5);
	assert_int_equal(access(g_path, F_OK), -1);         /* socket file removed */
	assert_int_equal(ctl_client(g_path, "status"), 1);  /* nobody listens now */
}

/* A stale socket file of a dead instance is replaced. */
static void test_stale_socket(void **st)
{
	uv_loop_t loop;
	int calls = 0;
	snprintf(g_path, sizeof(g_path), "/tmp/test_health_ctl.%d.sock", (int)getpid());
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, g_path);
	unlink(g_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);                                          /* bound, never listening */
	assert_int_equal(uv_loop_init(&loop), 0);
	ctl_t *c = NULL;
	assert_int_equal(ctl_listen(&loop, g_path, NULL, handler, &calls, &c), 0);
	ctl_close(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* The socket is 0600 under any umask, and a client of another user is
 * refused even when the file's mode lets it connect (SO_PEERCRED). */
static pid_t g_child;
static int g_child_status = -1;
static ctl_t *g_pc;

static void on_poll_child(uv_timer_t *t)
{
	if (waitpid(g_child, &g_child_status, WNOHANG) != g_child) {
		static int ticks;
		if (++ticks < 250)
			return;
		kill(g_child, SIGKILL);
		waitpid(g_child, &g_child_status, 0);
	}
	ctl_close(g_pc);
	uv_close((uv_handle_t *)t, NULL);
}

static void test_peer_other_user(void **st)
{
	if (geteuid() != 0)
		skip();
	uv_loop_t loop;
	int calls = 0;
	snprintf(g_path, sizeof(g_path), "/tmp/test_health_ctl.%d.sock", (int)getpid());
	mode_t old = umask(0);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(ctl_listen(&loop, g_path, NULL, handler, &calls, &g_pc), 0);
	umask(old);
	struct stat sb;
	assert_int_equal(stat(g_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(chmod(g_path, 0666), 0);
	fflush(NULL);
	g_child = fork();
	if (g_child == 0) {
		/* As nobody: connect, ask, expect the connection closed unanswered. */
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, g_path);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(4);
		if (send(fd, "drain dns4\n", 11, MSG_NOSIGNAL) < 0) {
			/* closed before we wrote: refused */
		}
		char buf[64];
		_exit(read(fd, buf, sizeof(buf)) > 0 ? 1 : 0);
	}
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, on_poll_child, 20, 20);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_true(WIFEXITED(g_child_status));
	assert_int_equal(WEXITSTATUS(g_child_status), 0);
	assert_int_equal(calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl),
		cmocka_unit_test(test_peer_other_user),
		cmocka_unit_test(test_stale_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
