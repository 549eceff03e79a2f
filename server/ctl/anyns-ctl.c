/* anyns-ctl: sends one command to anynsd's control socket and prints the
 * answer. The daemon decides the exit status (its closing "EXIT N" line);
 * 3 means no answer (no daemon on the socket, or the socket is not ours). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define DEFAULT_SOCKET "/run/anyns/anynsd.sock"
#define EXIT_NOANSWER  3

static void usage(FILE *f)
{
	fprintf(f,
"Usage: anyns-ctl [-s SOCKET] [--json] [-t SECONDS] COMMAND [ARGUMENT]\n"
"Controls a running anynsd over its Unix socket (server.control; default\n"
DEFAULT_SOCKET ").\n"
"\n"
"Commands:\n"
"  status            version, pid, uptime, workers, UDP back end, XDP mode, reloads\n"
"  zones [ZONE]      each zone: serial, records, loaded at, file or primary,\n"
"                    state (ok, stale with the last error, expired, waiting, failed)\n"
"  reload [ZONE]     re-read the config and the zone files; waits for the result\n"
"  refresh ZONE      a secondary zone asks its primary for the SOA now\n"
"  retransfer ZONE   a secondary zone transfers the whole zone (AXFR) now\n"
"  stats             the counters of the metrics endpoint, one per line\n"
"  config-check      read the config file again and say whether it is good\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the control socket\n"
"  -j, --json          a JSON array of objects instead of key=value lines\n"
"  -t, --timeout S     give up after S seconds (default 30; a reload may take long)\n"
"  -h, --help          this text\n"
"\n"
"Exit status: 0 done; 1 the command failed (reload with zones that did not load,\n"
"bad config); 2 bad usage, unknown command or zone; 3 no answer from anynsd.\n");
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	bool json = false;
	double timeout = 30;
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "s:jt:h", longopts, NULL)) != -1) {
		char *end;
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end != '\0' || !(timeout > 0 && timeout <= 86400)) {
				fprintf(stderr, "anyns-ctl: bad-option option=--timeout value=%s "
				        "error=\"seconds from 0 to 86400\"\n", log_q(optarg));
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	char req[600];
	int rl = snprintf(req, sizeof(req), "%s%s%s%s\n", json ? "json " : "", argv[optind],
	                  argc - optind > 1 ? " " : "", argc - optind > 1 ? argv[optind + 1] : "");
	if (rl < 0 || (size_t)rl >= sizeof(req) || strpbrk(argv[optind], " \t\n") != NULL ||
	    (argc - optind > 1 && strpbrk(argv[optind + 1], " \t\n") != NULL)) {
		fprintf(stderr, "anyns-ctl: bad-command error=\"bad command or argument\"\n");
		return 2;
	}

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "anyns-ctl: bad-socket socket=%s error=\"path too long for a Unix "
		        "socket\"\n", log_q(path));
		return 2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "anyns-ctl: connect-failed socket=%s error=%s hint=\"is anynsd running "
		        "with server.control there?\"\n", log_q(path), log_q(strerror(errno)));
		return EXIT_NOANSWER;
	}
	/* A daemon that refuses us answers and closes before reading: read on. */
	if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl && errno != EPIPE) {
		fprintf(stderr, "anyns-ctl: send-failed socket=%s error=%s\n", log_q(path),
		        log_q(strerror(errno)));
		return EXIT_NOANSWER;
	}

	/* The answer, whole, then its last line. */
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	long long deadline = now_ms() + (long long)(timeout * 1000);
	for (;;) {
		if (buf == NULL) {
			fprintf(stderr, "anyns-ctl: failed error=\"out of memory\"\n");
			return EXIT_NOANSWER;
		}
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			fprintf(stderr, "anyns-ctl: no-answer socket=%s timeout=%g\n", log_q(path), timeout);
			return EXIT_NOANSWER;
		}
		if (len + 1 >= cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (nb == NULL) {
				fprintf(stderr, "anyns-ctl: failed error=\"answer too long\"\n");
				return EXIT_NOANSWER;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "anyns-ctl: read-failed socket=%s error=%s\n", log_q(path),
			        log_q(strerror(errno)));
			return EXIT_NOANSWER;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	char *last = NULL;
	if (len > 0 && buf[len - 1] == '\n') {
		buf[len - 1] = '\0';
		last = strrchr(buf, '\n');
		last = last != NULL ? last + 1 : buf;
	}
	int status;
	if (last == NULL || sscanf(last, "EXIT %d", &status) != 1 || status < 0 || status > 125) {
		fprintf(stderr, "anyns-ctl: failed socket=%s error=\"answer cut short\"\n", log_q(path));
		return EXIT_NOANSWER;
	}
	*last = '\0';
	/* Errors go to stderr in the key=value form; everything else to stdout. */
	FILE *out = status != 0 && !json ? stderr : stdout;
	fputs(buf, out);
	free(buf);
	return status;
}
