/* anyns-health watchdog: a hook that stops making progress (stopped, stuck in
 * a call, a loop that no longer runs its rounds) is killed, so that the fail-
 * closed path of its backend withdraws (ExaBGP respawns a hook that starts
 * withdrawn, the BIRD guard device goes with the process, the supervisor
 * withdraws through GoBGP/FRR/exec).
 *
 * The hook writes one byte on a pipe (hwd_beat) while its rounds progress.
 * The other end is read by the supervisor (--supervise) or by a small watchdog
 * process forked at start (hwd_spawn); when no byte came for the timeout it
 * sends SIGKILL, which also ends a stopped (SIGSTOP) process. Under systemd
 * with WatchdogSec= the same beat also goes to sd_notify("WATCHDOG=1"). */
#ifndef ANYNS_WATCHDOG_H
#define ANYNS_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Forks the watchdog process of the calling process. Call before opening
 * anything the watchdog must not hold (sockets, the BIRD guard device, the
 * ExaBGP pipes are closed in the child). Returns the write end of the beat
 * pipe (non-blocking, close-on-exec) or a negative ANYNS_E* code. */
int hwd_spawn(uint64_t timeout_ms);

/* Waits for `child`, killing it with SIGKILL when no beat arrives on beat_fd
 * for timeout_ms (0: no watchdog, just wait). Returns the wait status, or -1
 * on error. *killed tells whether the watchdog fired. */
int hwd_wait_child(pid_t child, int beat_fd, uint64_t timeout_ms, bool *killed);

/* One beat: writes a byte to fd (when >= 0) and tells systemd when its
 * watchdog is on. Returns 0, or ANYNS_ENOENT when the reader is gone. */
int hwd_beat(int fd);

/* systemd: the interval at which to beat (half its WatchdogSec), 0 when the
 * service has no watchdog; hwd_notify() sends READY=1 / STOPPING=1. */
uint64_t hwd_systemd_interval_ms(void);
void hwd_notify(const char *state);

#endif
