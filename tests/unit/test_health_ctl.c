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
	assert_int_equal(ctl_listen(&loop, g_path, handler, &calls, &g_ctl), 0);
	/* A second instance on the same path is refused while the first lives. */
	ctl_t *second = NULL;
	assert_int_equal(ctl_listen(&loop, g_path, handler, &calls, &second), ANYNS_EINVAL);
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
	assert_int_equal(ctl_listen(&loop, g_path, handler, &calls, &c), 0);
	ctl_close(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl),
		cmocka_unit_test(test_stale_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
