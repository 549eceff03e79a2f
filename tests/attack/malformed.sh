#!/usr/bin/env bash
# Malformed queries (tests/attack/malformed.py): each category answered with
# its rcode (or not at all) over UDP and TCP, 2000 random mutations answered
# with the query's ID or dropped, and the daemon still serving after them.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
test_setup malformed

printf '$TTL 300\n@ IN SOA ns1 h 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n' \
	> "$TMP/test.zone"
PORT=$(free_port)
"$BIN/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$PORT" --zone "test=$TMP/test.zone" --workers 1 \
	>"$TMP/anynsd.log" 2>&1 &
DPID=$!
if ! wait_dns "$PORT"; then
	plan 1
	fail $T:malformed-start "anynsd did not answer"
	summary
	exit 1
fi
plan 2
if timeout 120 /usr/bin/python3 "$HERE/malformed.py" "$PORT" > "$TMP/out" 2>&1; then
	pass $T:malformed-corpus
else
	grep -E "MISMATCH|mutations|after" "$TMP/out"
	fail $T:malformed-corpus "$(grep -c MISMATCH "$TMP/out") categories answered otherwise"
fi
grep -c "" "$TMP/out" >/dev/null
if kill -0 "$DPID" 2>/dev/null; then pass $T:malformed-still-running; else fail $T:malformed-still-running; fi
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
summary
