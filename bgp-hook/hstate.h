/* anyns-health state file: what a restarted hook takes over from the one
 * before it (operator drain, flap penalty, whether the route was announced).
 * One text line per service; written whole to a temporary file, synced and
 * renamed over the old one, so a crash leaves the old or the new file, never a
 * mix:
 *
 *     boot 5c0d...            (kernel boot id: "announced" means nothing after a reboot)
 *     service dns4 announced=1 drained=0 suppressed=0 penalty=812.5 time=1764760000.125
 *
 * `penalty` is the value at `time` (wall clock, seconds); the reader decays it
 * to its own now with the half-life. Unknown services are ignored. */
#ifndef ANYNS_HSTATE_H
#define ANYNS_HSTATE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hstate_svc {
	char name[64];
	bool announced, drained, suppressed;
	double penalty;
	double time;
} hstate_svc_t;

typedef struct hstate {
	char boot[48];
	hstate_svc_t *svc;          /* owned; hstate_clear() frees */
	size_t n;
} hstate_t;

/* Returns 0, ANYNS_ENOENT (no file: a first start) or ANYNS_EINVAL (with the
 * line in err). */
int hstate_load(const char *path, hstate_t *st, char *err, size_t errlen);
/* Returns 0 or ANYNS_EINVAL (errno tells). */
int hstate_save(const char *path, const hstate_t *st);
const hstate_svc_t *hstate_find(const hstate_t *st, const char *name);
void hstate_clear(hstate_t *st);
/* The kernel's boot id ("" when unknown). */
void hstate_boot_id(char *out, size_t cap);
/* Wall clock in seconds. */
double hstate_now(void);

#endif
