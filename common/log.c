#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_INFO;
static const char *g_ident = NULL;
static const char *const g_names[] = { "error", "warning", "info", "debug" };

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

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl > g_level)
		return;
	char buf[2048];
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
