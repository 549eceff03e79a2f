# Shared helpers for the shell test suites. Source it; then call
#   plan N                 this run must produce N more results (a suite declares
#                          them, or derives them from its case list, before it
#                          starts; a shortfall or an excess fails the run)
#   pass NAME | fail NAME [WHY] | skip NAME REASON
#   skip_root NAME REASON  a skip only a machine without root may take: under CI
#                          (ANYNS_CI=1, the default as root) it is a failure
#   summary                the closing line of the suite; returns 1 on a failure
# Each result is printed and appended to $ANYNS_RESULTS (tests/run-all.sh gives
# every suite its own file and checks it; a suite run on its own makes one).
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
B=${B:-build}
BIN=${BIN:-$ROOT/$B}
: "${ANYNS_RESULTS:=$(mktemp /tmp/anyns-results.XXXXXX)}"
export ANYNS_RESULTS
if [ -z "${ANYNS_CI:-}" ]; then
	if [ "$(id -u)" = 0 ] || [ -n "${CI:-}" ]; then ANYNS_CI=1; else ANYNS_CI=0; fi
fi
export ANYNS_CI
_suite_pass=0; _suite_fail=0; _suite_skip=0; _suite_plan=0; _suite_planned=0; _suite_results=0

_record() {
	echo "$1 $2" >> "$ANYNS_RESULTS"
	case $1 in PASS|FAIL|SKIP) _suite_results=$((_suite_results+1)) ;; esac
}
pass() { echo "PASS: $1"; _record PASS "$1"; _suite_pass=$((_suite_pass+1)); }
fail() { echo "FAIL: $1${2:+: $2}"; _record FAIL "$1"; _suite_fail=$((_suite_fail+1)); }
skip() { echo "SKIP: $1: $2"; _record SKIP "$1"; _suite_skip=$((_suite_skip+1)); }
skip_root() {
	if [ "$ANYNS_CI" = 1 ]; then fail "$1" "skipped under CI (root): $2"; else skip "$1" "$2"; fi
}
plan() { _suite_plan=$((_suite_plan+$1)); _suite_planned=1; _record PLAN "$1 $$"; }
# check NAME CMD...: pass when CMD succeeds.
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
# summary: the suite's own count. A declared plan must match the results
# produced (tests/run-all.sh checks the same across every process of a suite).
summary() {
	local got=$_suite_results
	if [ "$_suite_planned" = 1 ] && [ "$got" -ne "$_suite_plan" ]; then
		echo "FAIL: plan: $got results for $_suite_plan planned (a check added or lost: update the \`plan\` of $0)"
		_suite_fail=$((_suite_fail+1))
	fi
	_record DONE "$$"
	echo "$_suite_pass passed, $_suite_fail failed, $_suite_skip skipped"
	[ "$_suite_fail" -eq 0 ]
}

# test_setup NAME: the set-up every suite shares. TMP is a new folder
# /tmp/anyns-NAME.XXXXXX; the processes a suite starts go in PIDS (or DPID, the
# one daemon of a part). At exit, also on INT or TERM: cleanup_more runs when the
# suite defines it, every process left in DPID and PIDS gets SIGTERM and, after
# 2 s, SIGKILL, and TMP is removed (kept with KEEP=1).
test_setup() {
	TMP=$(mktemp -d "/tmp/anyns-$1.XXXXXX")
	PIDS=()
	DPID=
	trap _test_cleanup EXIT
	trap 'exit 130' INT TERM
}
_test_cleanup() {
	local p i
	declare -F cleanup_more >/dev/null && cleanup_more
	for p in ${DPID:-} "${PIDS[@]}"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null || continue
		for i in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}

# need_root SUITE: true as root; otherwise records SUITE as skipped (a failure
# under CI) and returns 1.
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	skip_root "$1" "not root (needs network namespaces)"
	return 1
}

# anynsd refuses to start as root without server.user. Test daemons keep root
# on purpose (they read zones from private temporary folders and attach XDP):
#   "$BIN/anynsd" "${ANYNSD_USER[@]}" --listen ...
# As another user there is nothing to keep, and --user root would be refused.
ANYNSD_USER=()
[ "$(id -u)" = 0 ] && ANYNSD_USER=(--user root)

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

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds (0) or
# SECONDS (decimals allowed) have passed (1). For conditions with a deadline
# close to the configured value, instead of a fixed sleep before reading state.
wait_for() {
	local end=$(( $(date +%s%3N) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }') ))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s%3N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# wait_dns PORT [ADDR]: wait up to 10 s until a DNS server answers there.
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

source "$ROOT/tests/netns.sh"
