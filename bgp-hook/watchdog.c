/* anyns-health watchdog; see watchdog.h. */
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads beats from fd until EOF (returns 0) or until none came for
 * timeout_ms (returns 1). */
static int watch(int fd, uint64_t timeout_ms)
{
	uint64_t last = mono_ms();
	for (;;) {
		uint64_t now = mono_ms();
		if (now - last >= timeout_ms)
			return 1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)(timeout_ms - (now - last)));
		if (n < 0 && errno != EINTR)
			return 0;
		if (n <= 0)
			continue;
		char buf[64];
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
		if (r > 0)
			last = mono_ms();
	}
}

int hwd_spawn(uint64_t timeout_ms)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return ANYNS_ENOMEM;
	pid_t hook = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return ANYNS_ENOMEM;
	}
	if (pid == 0) {
		/* The watchdog: holds nothing of the hook's but the read end and
		 * stderr (ExaBGP must see EOF on the hook's stdout when it dies). */
		prctl(PR_SET_NAME, "anyns-health-wd");
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != hook)
			_exit(0);
		close(p[1]);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		for (int fd = 3; fd < 1024; fd++)
			if (fd != p[0])
				close(fd);
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (watch(p[0], timeout_ms) && getppid() == hook) {
			log_err("watchdog: no-progress pid=%d ms=%llu action=kill", (int)hook,
			        (unsigned long long)timeout_ms);
			kill(hook, SIGKILL);
		}
		_exit(0);
	}
	close(p[0]);
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	return p[1];
}

int hwd_wait_child(pid_t child, int beat_fd, uint64_t timeout_ms, bool *killed)
{
	int st;
	*killed = false;
	if (timeout_ms && beat_fd >= 0 && watch(beat_fd, timeout_ms)) {
		log_err("watchdog: no-progress pid=%d ms=%llu action=kill", (int)child,
		        (unsigned long long)timeout_ms);
		kill(child, SIGKILL);
		*killed = true;
	}
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

int hwd_beat(int fd)
{
	static int sd = -1;
	if (sd < 0) {
		uint64_t usec = 0;
		sd = sd_watchdog_enabled(0, &usec) > 0;
	}
	if (sd)
		sd_notify(0, "WATCHDOG=1");
	if (fd < 0)
		return 0;
	char b = 1;
	if (write(fd, &b, 1) < 0 && errno == EPIPE)
		return ANYNS_ENOENT;
	return 0;
}

uint64_t hwd_systemd_interval_ms(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 2000 ? usec / 2000 : 1;
}

void hwd_notify(const char *state)
{
	sd_notify(0, state);
}
