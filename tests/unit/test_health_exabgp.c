/* anyns-health ExaBGP backend: the API conversation over stdin/stdout, with
 * the test standing in for ExaBGP through two pipes on fds 0 and 1: commands
 * out, "done"/"error" acks in, unrelated lines skipped, EOF = ExaBGP gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "anyns.h"
#include "backend.h"

static int g_saved0, g_saved1, g_to_hook, g_from_hook;

static int setup(void **st)
{
	int a[2], b[2];
	fflush(stdout);
	g_saved0 = dup(0);
	g_saved1 = dup(1);
	if (pipe(a) < 0 || pipe(b) < 0)
		return -1;
	dup2(a[0], 0);
	close(a[0]);
	g_to_hook = a[1];
	dup2(b[1], 1);
	close(b[1]);
	g_from_hook = b[0];
	fcntl(g_from_hook, F_SETFL, O_NONBLOCK);
	return 0;
}

static int teardown(void **st)
{
	dup2(g_saved0, 0);
	dup2(g_saved1, 1);
	close(g_saved0);
	close(g_saved1);
	if (g_to_hook >= 0)
		close(g_to_hook);
	close(g_from_hook);
	return 0;
}

static void exa(const char *s)
{
	assert_int_equal(write(g_to_hook, s, strlen(s)), (ssize_t)strlen(s));
}

/* What the hook wrote since the last call. */
static const char *sent(void)
{
	static char buf[4096];
	ssize_t n = read(g_from_hook, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_conversation(void **st)
{
	hservice_conf_t svc[2];
	memset(svc, 0, sizeof(svc));
	svc[0].name = "dns4";
	svc[0].prefix = "192.0.2.53/32";
	svc[0].family = 4;
	svc[1].name = "dns6";
	svc[1].prefix = "2001:db8::53/128";
	svc[1].family = 6;
	hconf_t conf;
	memset(&conf, 0, sizeof(conf));
	conf.svc = svc;
	conf.nsvc = 2;
	conf.bk.type = HBK_EXABGP;
	conf.bk.next_hop = "self";
	conf.bk.ack = true;
	conf.bk.ack_timeout_ms = 200;
	conf.bk.asn = 65001;

	hbk_t *b = NULL;
	assert_int_equal(hbk_new(&conf, &b), 0);
	/* Start: withdraw every prefix; "error" (nothing to withdraw) is fine. */
	exa("done\nerror\n");
	assert_int_equal(b->ops->open(b), 0);
	assert_string_equal(sent(), "withdraw route 192.0.2.53/32\nwithdraw route 2001:db8::53/128\n");

	hroute_t r;
	bool ex = true;
	hroute_make(&r, &svc[0], 0, HSM_ANNOUNCE_DRAIN, "draining", "");
	/* Lines that are not acks (neighbor events) are skipped. */
	exa("neighbor 192.0.2.1 up\ndone\n");
	assert_int_equal(b->ops->announce(b, &r), 0);
	assert_string_equal(sent(), "announce route 192.0.2.53/32 next-hop self community [65535:0]\n");
	assert_int_equal(b->ops->exported(b, &r, &ex), 0);
	assert_true(ex);

	/* ExaBGP refuses: the backend reports it and keeps its view. */
	hroute_make(&r, &svc[0], 0, HSM_WITHDRAWN, "down", "");
	exa("error\n");
	assert_int_equal(b->ops->withdraw(b, &r), ANYNS_EINVAL);
	sent();
	assert_int_equal(b->ops->exported(b, &r, &ex), 0);
	assert_true(ex);
	/* No ack in time. */
	assert_int_equal(b->ops->withdraw(b, &r), ANYNS_EINVAL);
	sent();
	/* The late ack of that command arrives before the ack of the next one:
	 * it must not be taken for the next one's. */
	exa("error\ndone\n");
	assert_int_equal(b->ops->withdraw(b, &r), 0);
	assert_string_equal(sent(), "withdraw route 192.0.2.53/32\n");
	assert_int_equal(b->ops->exported(b, &r, &ex), 0);
	assert_false(ex);

	/* Unsolicited lines between commands are consumed by on_readable. */
	assert_int_equal(b->ops->fd(b), 0);
	exa("neighbor 192.0.2.1 down\n");
	assert_int_equal(b->ops->on_readable(b), 0);
	/* EOF on stdin: ExaBGP went away. */
	close(g_to_hook);
	g_to_hook = -1;
	assert_true(b->ops->on_readable(b) < 0);
	assert_int_equal(b->ops->announce(b, &r), ANYNS_ENOENT);
	hbk_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conversation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
