# Shared helpers for the shell test suites. Source it; then call
#   pass NAME | fail NAME [WHY] | skip NAME REASON
# Each result is printed and appended to $ANYNS_RESULTS (set by tests/run-all.sh;
# a suite run on its own prints its own summary through `summary`).
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
B=${B:-build}
BIN=${BIN:-$ROOT/$B}
: "${ANYNS_RESULTS:=$(mktemp /tmp/anyns-results.XXXXXX)}"
export ANYNS_RESULTS
_suite_pass=0; _suite_fail=0; _suite_skip=0

pass() { echo "PASS: $1"; echo "PASS $1" >> "$ANYNS_RESULTS"; _suite_pass=$((_suite_pass+1)); }
fail() { echo "FAIL: $1${2:+: $2}"; echo "FAIL $1" >> "$ANYNS_RESULTS"; _suite_fail=$((_suite_fail+1)); }
skip() { echo "SKIP: $1: $2"; echo "SKIP $1" >> "$ANYNS_RESULTS"; _suite_skip=$((_suite_skip+1)); }
# check NAME CMD...: pass when CMD succeeds.
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
summary() { echo "$_suite_pass passed, $_suite_fail failed, $_suite_skip skipped"; [ "$_suite_fail" -eq 0 ]; }

# A free loopback port (UDP and TCP) for a test server.
free_port() {
	/usr/bin/python3 - <<'PY'
import socket
for _ in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        t.close(); s.close()
PY
}

# wait_udp PORT [ADDR]: wait up to 10 s until a DNS server answers there.
wait_dns() {
	local port=$1 addr=${2:-127.0.0.1} i
	for i in $(seq 1 100); do
		kdig @"$addr" -p "$port" +time=1 +retry=0 +short . SOA >/dev/null 2>&1 && return 0
		# any answer (even REFUSED) means it is up
		kdig @"$addr" -p "$port" +time=1 +retry=0 . SOA 2>/dev/null | grep -q 'status:' && return 0
		sleep 0.1
	done
	return 1
}
