#!/usr/bin/env bash
# TCP slots under attack (RFC 7766 6.2.3), on loopback: a client sending a
# query one byte a second is closed at tcp-query-timeout although each byte
# arrives within the idle timeout; one source holds at most
# tcp-max-per-source connections; while slow connections from twenty sources
# (127.0.0.10-29) try to hold every slot, a client from 127.0.0.2 gets its
# answers over TCP, asking at most twice. Bounded: 40 slots, 12 s of attack,
# 2 s per answer.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
test_setup tcp
FPID=
cleanup_more() { [ -n "$FPID" ] && kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null; }

printf '$TTL 300\n@ IN SOA ns1 h 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n' \
	> "$TMP/test.zone"
PORT=$(free_port)
"$BIN/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$PORT" --zone "test=$TMP/test.zone" --workers 1 \
	--tcp-max-connections 40 --tcp-max-per-source 8 --tcp-idle-timeout 10s \
	--tcp-query-timeout 3s >"$TMP/anynsd.log" 2>&1 &
DPID=$!
if ! wait_dns "$PORT"; then
	plan 1
	fail $T:tcp-start "anynsd did not answer"
	cat "$TMP/anynsd.log"
	summary
	exit 1
fi
# The checks below.
plan 4
# One byte a second: closed at the query deadline (3 s), not kept alive by
# each byte (the idle timeout, 10 s, never runs out).
secs=$(timeout 30 /usr/bin/python3 "$HERE/slowtcp.py" "$PORT" trickle)
if [ -n "$secs" ] && awk -v s="$secs" 'BEGIN { exit !(s >= 2.5 && s <= 5) }'; then
	pass $T:tcp-slowloris-closed
else
	fail $T:tcp-slowloris-closed "a query sent one byte a second held its connection ${secs:-?} s"
fi

# The flood: 20 sources x 16 slow connections, reconnecting when closed.
SRCS="127.0.0.10"
for i in $(seq 11 29); do SRCS="$SRCS 127.0.0.$i"; done
timeout 30 /usr/bin/python3 "$HERE/slowtcp.py" "$PORT" flood 12 16 $SRCS > "$TMP/flood.out" &
FPID=$!
# The flood has begun once its connections are up (then every second it
# opens again what the server closed).
flooding() { [ -n "$(ss -Htn state established "( dport = :$PORT )" 2>/dev/null | grep -m1 '127\.0\.0\.[12][0-9]:')" ]; }
wait_for 5 flooding
sleep 1
# Each query may be asked twice, 0.25 s apart, as a resolver asks again: a
# connection that lands in the burst of the flood's reconnections (every
# second, up to 160 connections for 40 slots) is pushed out before its query
# is read when the client is slow to send it on a busy machine (seen once in
# ten runs: "can't receive reply"). That is the defence at work; a client
# left unserved fails both times.
ok=0 tries=0 worst=0 again=0 why=
ask() { kdig @127.0.0.1 -p "$PORT" -b 127.0.0.2 +tcp +time=2 +retry=0 www.test A 2>&1; }
for _ in $(seq 1 10); do
	kill -0 "$FPID" 2>/dev/null || break
	tries=$((tries + 1))
	t0=$(date +%s%N)
	out=$(ask)
	if ! echo "$out" | grep -q "192.0.2.2"; then
		again=$((again + 1))
		sleep 0.25
		out=$(ask)
	fi
	if echo "$out" | grep -q "192.0.2.2"; then
		ok=$((ok + 1))
	else
		[ -n "$why" ] || why=" $(echo "$out" | grep -m2 'WARNING\|ERROR' | tr '\n' ' ')"
	fi
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.5
done
wait "$FPID"
FPID=
most=$(cat "$TMP/flood.out")
echo "legitimate TCP client during the flood: $ok of $tries answered ($again asked twice), slowest ${worst} ms"
if [ "$ok" = "$tries" ] && [ "$tries" -ge 5 ]; then
	pass $T:tcp-legit-client-served
else
	fail $T:tcp-legit-client-served "$ok of $tries TCP queries answered during the flood (at least 5 asked):$why"
fi
if [ -n "$most" ] && [ "$most" -le 8 ]; then
	pass $T:tcp-per-source-limit
else
	fail $T:tcp-per-source-limit "one source held ${most:-?} connections (limit 8)"
fi
if kill -0 "$DPID" 2>/dev/null && kdig @127.0.0.1 -p "$PORT" +tcp +time=2 +retry=0 www.test A +short | grep -q 192.0.2.2; then
	pass $T:tcp-after-flood
else
	fail $T:tcp-after-flood "anynsd not answering over TCP after the flood"
fi
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
grep -o "tcp-conns=.*" "$TMP/anynsd.log" | tail -1
summary
