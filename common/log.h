/* Logging shared by every anyns program: one line per event on stderr
 * ("TIME IDENT LEVEL: message") or to syslog ("<PRI>IDENT[PID]: LEVEL: message"),
 * with a level threshold set once at start-up. Thread-safe: each line is
 * formatted into a local buffer and written with one write(2).
 *
 * Every message has one shape, "subsystem: event key=value key=value", so that
 * a line can be split by a program: the subsystem and event are single words,
 * then fields. A value that could break the split goes through log_q(). */
#ifndef ANYNS_LOG_H
#define ANYNS_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Messages above this level are discarded. Default LOG_INFO. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error", "warning", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
/* Prefix every line with this program name (not copied; keep it alive). */
void log_set_ident(const char *ident);

/* Where lines go: "stderr" (the default; under systemd that is the journal),
 * "syslog" (datagrams to /dev/log, facility daemon) or "syslog:PATH" (another
 * syslog socket). Returns 0, or -1 with the reason in err. */
int log_set_target(const char *spec, char *err, size_t errlen);

/* The value s as it may stand after "key=": unchanged when it holds only
 * printable characters other than blank, '"', '=' and '\\'; otherwise (or
 * when empty) in double quotes with '"' and '\\' escaped by a backslash and
 * other bytes outside 0x21..0x7e written \xHH. The result lives in a
 * per-thread ring of LOG_Q_SLOTS buffers: valid until as many more calls in
 * this thread, long enough for the arguments of one log line. Values are cut
 * at LOG_Q_MAX bytes (the cut is marked "..."). NULL gives "-". */
#define LOG_Q_SLOTS 8
#define LOG_Q_MAX   400
const char *log_q(const char *s);
/* Same for the first n bytes of s (which need not be terminated). */
const char *log_qn(const char *s, size_t n);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
