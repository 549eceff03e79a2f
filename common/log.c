#include "log.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_INFO;
static const char *g_ident = NULL;
static const char *const g_names[] = { "error", "warning", "info", "debug" };

static int g_sys_fd = -1;          /* syslog socket, or -1: stderr */
static struct sockaddr_un g_sys_addr;
/* RFC 5424 severities of our levels. */
static const int g_sev[] = { 3, 4, 6, 7 };

int log_set_target(const char *spec, char *err, size_t errlen)
{
	const char *path = "/dev/log";
	if (strcmp(spec, "stderr") == 0) {
		if (g_sys_fd >= 0)
			close(g_sys_fd);
		g_sys_fd = -1;
		return 0;
	}
	if (strncmp(spec, "syslog:", 7) == 0 && spec[7] == '/')
		path = spec + 7;
	else if (strcmp(spec, "syslog") != 0) {
		snprintf(err, errlen, "%s: stderr, syslog or syslog:/PATH", spec);
		return -1;
	}
	if (strlen(path) >= sizeof(g_sys_addr.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&g_sys_addr, 0, sizeof(g_sys_addr));
	g_sys_addr.sun_family = AF_UNIX;
	strcpy(g_sys_addr.sun_path, path);
	if (g_sys_fd >= 0)
		close(g_sys_fd);
	g_sys_fd = fd;
	return 0;
}

void log_set_level(enum log_level lvl) { g_level = lvl; }
enum log_level log_get_level(void) { return g_level; }
void log_set_ident(const char *ident) { g_ident = ident; }

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, g_names[i]) == 0)
			return i;
	if (strcasecmp(s, "err") == 0) return LOG_ERR;
	if (strcasecmp(s, "warn") == 0) return LOG_WARN;
	return -1;
}

const char *log_qn(const char *s, size_t n)
{
	static __thread char ring[LOG_Q_SLOTS][LOG_Q_MAX * 4 + 8];
	static __thread unsigned next;
	char *out = ring[next++ % LOG_Q_SLOTS];
	if (s == NULL)
		return "-";
	int plain = n > 0;
	for (size_t i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=' || c == '\\')
			plain = 0;
	}
	if (plain && n <= LOG_Q_MAX) {
		memcpy(out, s, n);
		out[n] = 0;
		return out;
	}
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == LOG_Q_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = 0;
	return out;
}

const char *log_q(const char *s)
{
	return log_qn(s, s ? strlen(s) : 0);
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl > g_level)
		return;
	char buf[2048];
	if (g_sys_fd >= 0) {
		/* Facility daemon (3); the syslog daemon adds the time and host. */
		int n = snprintf(buf, sizeof(buf), "<%d>%s[%ld]: %s: ", 3 * 8 + g_sev[lvl],
		                 g_ident ? g_ident : "anyns", (long)getpid(), g_names[lvl]);
		if (n < 0 || (size_t)n >= sizeof(buf))
			n = 0;
		va_list aq;
		va_copy(aq, ap);
		int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, aq);
		va_end(aq);
		size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
		if (len > sizeof(buf) - 1)
			len = sizeof(buf) - 1;
		if (sendto(g_sys_fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&g_sys_addr,
		           sizeof(g_sys_addr)) >= 0)
			return;
		/* No syslog daemon: the line goes to stderr rather than nowhere. */
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s%s%s: ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, ts.tv_nsec / 1000000, g_ident ? g_ident : "",
	                 g_ident ? " " : "", g_names[lvl]);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	/* One write per line so that lines from several threads never interleave. */
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
