/* anyns-health state file; see hstate.h. */
#include "hstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"

void hstate_clear(hstate_t *st)
{
	free(st->svc);
	memset(st, 0, sizeof(*st));
}

double hstate_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hstate_boot_id(char *out, size_t cap)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (fgets(out, (int)cap, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

const hstate_svc_t *hstate_find(const hstate_t *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->svc[i].name, name))
			return &st->svc[i];
	return NULL;
}

static int flag(const char *v, bool *out)
{
	if (strcmp(v, "0") && strcmp(v, "1"))
		return -1;
	*out = v[0] == '1';
	return 0;
}

static int parse_svc(char *line, hstate_svc_t *s)
{
	char *save = NULL, *tok = strtok_r(line, " \t", &save);
	if (!tok || strlen(tok) >= sizeof(s->name))
		return -1;
	strcpy(s->name, tok);
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '='), *end;
		if (!eq)
			return -1;
		*eq++ = '\0';
		if (!strcmp(tok, "announced")) {
			if (flag(eq, &s->announced) < 0)
				return -1;
		} else if (!strcmp(tok, "drained")) {
			if (flag(eq, &s->drained) < 0)
				return -1;
		} else if (!strcmp(tok, "suppressed")) {
			if (flag(eq, &s->suppressed) < 0)
				return -1;
		} else if (!strcmp(tok, "penalty") || !strcmp(tok, "time")) {
			double v = strtod(eq, &end);
			if (end == eq || *end || v < 0 || v != v)
				return -1;
			*(!strcmp(tok, "penalty") ? &s->penalty : &s->time) = v;
		}
		/* other keys: a newer writer; ignored */
	}
	return 0;
}

int hstate_load(const char *path, hstate_t *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return ANYNS_ENOENT;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ANYNS_EINVAL;
	}
	char line[512];
	unsigned lineno = 0;
	size_t cap = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (!strncmp(line, "boot ", 5)) {
			snprintf(st->boot, sizeof(st->boot), "%.47s", line + 5);
			continue;
		}
		if (strncmp(line, "service ", 8) != 0 || st->n >= 4096) {
			rc = ANYNS_EINVAL;
			break;
		}
		if (st->n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			hstate_svc_t *v = realloc(st->svc, nc * sizeof(*v));
			if (!v) {
				rc = ANYNS_ENOMEM;
				break;
			}
			st->svc = v;
			cap = nc;
		}
		hstate_svc_t *s = &st->svc[st->n];
		memset(s, 0, sizeof(*s));
		if (parse_svc(line + 8, s) < 0) {
			rc = ANYNS_EINVAL;
			break;
		}
		st->n++;
	}
	fclose(f);
	if (rc < 0) {
		snprintf(err, errlen, "%s:%u: not a state line", path, lineno);
		hstate_clear(st);
		return ANYNS_EINVAL;
	}
	return 0;
}

int hstate_save(const char *path, const hstate_t *st)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return ANYNS_EINVAL;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ANYNS_EINVAL;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return ANYNS_EINVAL;
	}
	fprintf(f, "# anyns-health state (rewritten by the hook; see bgp-hook/README.md)\n");
	fprintf(f, "boot %s\n", st->boot);
	for (size_t i = 0; i < st->n; i++) {
		const hstate_svc_t *s = &st->svc[i];
		fprintf(f, "service %s announced=%d drained=%d suppressed=%d penalty=%.1f time=%.3f\n",
		        s->name, s->announced, s->drained, s->suppressed, s->penalty, s->time);
	}
	int ok = fflush(f) == 0 && fsync(fd) == 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return ANYNS_EINVAL;
	}
	return 0;
}
