#!/usr/bin/env bash
# Attacks on the real anynsd, each bounded in time and count, on loopback.
#
# Hostile $INCLUDEs: a zone that includes a FIFO, /dev/zero or a file outside
# its folder must fail with file and line in the log, quickly, without
# blocking the reload, growing memory or printing the other file's content;
# the other zones keep serving, a reload keeps the previous version, and
# SIGTERM still ends the daemon.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
ANYNSD=("$BIN/anynsd" "${ANYNSD_USER[@]}")
test_setup attack
OUTSIDE=$(mktemp -d /tmp/anyns-attack-outside.XXXXXX)
cleanup_more() { rm -rf "$OUTSIDE"; }

if [ ! -x "$ANYNSD" ]; then
	fail $T:anynsd-built "$ANYNSD is missing (run make)"
	summary
	exit 1
fi
# The checks below (a failed start ends the run early, with its failure).
plan 9

PORT=$(free_port)
kq() { kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 "$@" 2>&1; }
# wait_log FILE PATTERN [TENTHS]: until PATTERN appears in FILE (default 5 s).
wait_log() {
	local i
	for i in $(seq 1 "${3:-50}"); do
		grep -q -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}
running() { kill -0 "$1" 2>/dev/null; }
# up_within SECS: the daemon answers for good.test within SECS seconds.
up_within() {
	local end=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$end" ]; do
		kq good.test SOA | grep -q "status: NOERROR" && return 0
		running "$DPID" || return 1
		sleep 0.2
	done
	return 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

zone() {   # zone ORIGIN SERIAL: the head of a small zone
	printf '$TTL 300\n@ IN SOA ns1.%s. h.%s. %s 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n' \
		"$1" "$1" "$2"
}
zone good.test 1 > "$TMP/good.test.zone"
{ zone hostile.test 1; echo '$INCLUDE fifo'; } > "$TMP/hostile.test.zone"
mkfifo "$TMP/fifo"
# A secret outside the zones' folder; the zone may not read it, nor may a
# message show it.
echo 'marker-of-a-secret-line A 192.0.2.99' > "$OUTSIDE/secret"

LOG=$TMP/anynsd.log
"${ANYNSD[@]}" --listen "127.0.0.1:$PORT" --zone "good.test=$TMP/good.test.zone" \
	--zone "hostile.test=$TMP/hostile.test.zone" --workers 1 >"$LOG" 2>&1 &
DPID=$!
if up_within 10; then
	pass $T:include-fifo-start
else
	fail $T:include-fifo-start "not serving within 10 s beside a zone that includes a FIFO"
	cat "$LOG"
	summary
	exit 1
fi
if grep -q "hostile.test.zone line=5 .*not a regular file" "$LOG" &&
   kq hostile.test SOA | grep -q "status: REFUSED"; then
	pass $T:include-fifo-refused
else
	fail $T:include-fifo-refused "$(grep hostile "$LOG" | head -3)"
fi

# The zone fixed: served at the next reload.
zone hostile.test 2 > "$TMP/hostile.test.zone"
kill -HUP "$DPID"
if wait_log "$LOG" "reload: done generation=2 " && [ "$(kq hostile.test SOA +short | awk '{print $3}')" = 2 ]; then
	pass $T:include-reload-fixed
else
	fail $T:include-reload-fixed "$(tail -3 "$LOG")"
fi

# /dev/zero: refused at once, memory does not grow, the old version serves.
rss0=$(rss_kb "$DPID")
{ zone hostile.test 3; echo '$INCLUDE /dev/zero'; } > "$TMP/hostile.test.zone"
kill -HUP "$DPID"
if wait_log "$LOG" "reload: done generation=3 " 50 && grep -q "hostile.test.zone line=5 .*not a regular file" "$LOG" &&
   [ "$(kq hostile.test SOA +short | awk '{print $3}')" = 2 ] && [ "$(rss_kb "$DPID")" -lt $((rss0 + 65536)) ]; then
	pass $T:include-dev-zero
else
	fail $T:include-dev-zero "rss ${rss0} -> $(rss_kb "$DPID") kB; $(grep -i 'zero\|hostile' "$LOG" | tail -2)"
fi

# A FIFO with a writer that never finishes: refused too (never read).
{ zone hostile.test 4; echo '$INCLUDE fifo'; } > "$TMP/hostile.test.zone"
sleep 30 > "$TMP/fifo" &
WRITER=$!
kill -HUP "$DPID"
if wait_log "$LOG" "reload: done generation=4 " 50 && [ "$(kq hostile.test SOA +short | awk '{print $3}')" = 2 ]; then
	pass $T:include-fifo-reload
else
	fail $T:include-fifo-reload "$(tail -3 "$LOG")"
fi
kill "$WRITER" 2>/dev/null
wait "$WRITER" 2>/dev/null

# Outside the zones' folder: refused, and nothing of the file in the log
# (directly and through a symbolic link in the folder).
ln -s "$OUTSIDE/secret" "$TMP/link.zone"
{ zone hostile.test 5; echo "\$INCLUDE $OUTSIDE/secret"; echo '$INCLUDE link.zone'; } > "$TMP/hostile.test.zone"
kill -HUP "$DPID"
if wait_log "$LOG" "reload: done generation=5 " 50 && grep -q "hostile.test.zone line=5 .*outside the zone's folder" "$LOG" &&
   grep -q "hostile.test.zone line=6 .*outside the zone's folder" "$LOG" && ! grep -q "marker-of-a-secret" "$LOG"; then
	pass $T:include-outside-refused
else
	fail $T:include-outside-refused "$(grep hostile "$LOG" | tail -3)"
fi

# Control bytes of a bad line are escaped in the log.
{ zone hostile.test 6; printf 'bad\033[31m A 1.2.3\n'; } > "$TMP/hostile.test.zone"
kill -HUP "$DPID"
if wait_log "$LOG" "reload: done generation=6 " 50 && grep -q 'hostile.test.zone line=5 .*bad\\\\027\[31m' "$LOG" &&
   ! grep -q $'\033' "$LOG"; then
	pass $T:error-excerpt-escaped
else
	fail $T:error-excerpt-escaped "$(grep hostile "$LOG" | tail -2 | cat -v)"
fi

# SIGTERM still ends the daemon promptly.
kill -TERM "$DPID"
for _ in $(seq 1 50); do running "$DPID" || break; sleep 0.1; done
if running "$DPID"; then
	fail $T:sigterm-after-hostile-includes "still running 5 s after SIGTERM"
else
	wait "$DPID"
	rc=$?
	if [ "$rc" = 0 ]; then pass $T:sigterm-after-hostile-includes
	else fail $T:sigterm-after-hostile-includes "exit status $rc"; fi
fi
DPID=

# --include-anywhere (server.include-anywhere) lets an operator read an
# include from elsewhere: the outside file's record is served.
zone good.test 1 > "$TMP/good.test.zone"
echo 'from-outside A 192.0.2.77' > "$OUTSIDE/part"
{ zone hostile.test 7; echo "\$INCLUDE $OUTSIDE/part"; } > "$TMP/hostile.test.zone"
"${ANYNSD[@]}" --listen "127.0.0.1:$PORT" --zone "good.test=$TMP/good.test.zone" \
	--zone "hostile.test=$TMP/hostile.test.zone" --workers 1 --include-anywhere >"$TMP/anywhere.log" 2>&1 &
DPID=$!
if up_within 10 && [ "$(kq from-outside.hostile.test A +short)" = 192.0.2.77 ]; then
	pass $T:include-anywhere-option
else
	fail $T:include-anywhere-option "$(tail -3 "$TMP/anywhere.log")"
fi
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=

summary
