#!/usr/bin/env bash
# anyns-ctl against the real daemon: every command (status, zones, reload,
# refresh, retransfer, stats, config-check) with its exit status and its
# key=value and --json output; unknown zones and commands exit 2; a broken
# zone file shows as stale with its file and line while the old version
# serves; the socket is 0600 (0660 with control-group) and a peer that is
# neither root, the daemon's user nor in the group is refused. refresh and
# retransfer run on a secondary fed by a second anynsd over AXFR.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
PY=/usr/bin/python3
T=ctl
test_setup ctl
chmod 755 "$TMP"
CTL=$BIN/anyns-ctl

echo "$T: anyns-ctl over the control socket"
plan 44
if [ ! -x "$BIN/anynsd" ] || [ ! -x "$CTL" ]; then
	fail $T:built "no $BIN/anynsd or $CTL (build first)"
	summary; exit $?
fi

# wait_sock PATH: up to 10 s for the control socket to answer.
wait_sock() {
	local i
	for i in $(seq 1 100); do
		"$CTL" -s "$1" -t 1 status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# expect NAME WANT-STATUS GREP-PATTERN ARGS...: anyns-ctl ARGS exits WANT-STATUS
# and its output (stdout and stderr) matches the pattern.
expect() {
	local name=$1 want=$2 pat=$3 out rc
	shift 3
	out=$("$CTL" "$@" 2>&1); rc=$?
	if [ "$rc" -eq "$want" ] && echo "$out" | grep -Eq -- "$pat"; then
		pass "$T:$name"
	else
		fail "$T:$name" "exit $rc (want $want): $(echo "$out" | head -3)"
	fi
}

P1=$(free_port)
cp "$ROOT/zones/example.com.zone" "$TMP/example.com.zone"
cat > "$TMP/primary.yaml" <<EOF
server:
  listen: [ "127.0.0.1:$P1" ]
  workers: 1
  control: $TMP/primary.sock
remotes:
  - id: sec
    address: [ "127.0.0.1" ]
zones:
  - origin: example.com
    file: example.com.zone
    allow-transfer: [ sec ]
EOF
"$BIN/anynsd" "${ANYNSD_USER[@]}" -c "$TMP/primary.yaml" 2>"$TMP/primary.log" &
PIDS+=($!)
S=$TMP/primary.sock
if ! wait_sock "$S"; then
	fail $T:start "no control socket: $(tail -3 "$TMP/primary.log")"
	summary; exit $?
fi

# status
expect status 0 "^version=[0-9.]+ pid=$! uptime=[0-9]+ workers=1 udp-io=poll xdp=off zones=1 " -s "$S" status
out=$("$CTL" -s "$S" --json status)
if echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); assert d[0]["workers"]==1 and d[0]["xdp"]=="off"'; then
	pass $T:status-json
else
	fail $T:status-json "$out"
fi

# zones
SER=$(awk '/SOA/ {getline; print $1; exit}' "$TMP/example.com.zone")
expect zones 0 "^zone=example.com serial=[0-9]+ records=[0-9]+ loaded=20[0-9-]+T[0-9:]+Z file=$TMP/example.com.zone state=ok$" -s "$S" zones
expect zones-one 0 "state=ok" -s "$S" zones EXAMPLE.com.
expect zones-unknown 2 'error="no zone nope.example"' -s "$S" zones nope.example
out=$("$CTL" -s "$S" --json zones)
if echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); assert len(d)==1 and d[0]["state"]=="ok" and d[0]["records"]>10'; then
	pass $T:zones-json
else
	fail $T:zones-json "$out"
fi

# reload: all, one, unknown; a broken file keeps the old version (stale)
serial() { "$CTL" -s "$S" zones example.com | sed -n 's/.* serial=\([0-9]*\) .*/\1/p'; }
old=$(serial)
expect reload 0 '^result=ok generation=2 loaded=1 zones=1 records=[0-9]+ reread=0 unchanged=1$' -s "$S" reload
expect reload-unknown 2 'no zone nope.example' -s "$S" reload nope.example
sed -i "s/$old/$((old + 1))/" "$TMP/example.com.zone"
expect reload-zone 0 "^zone=example.com serial=$((old + 1)) .* state=ok$" -s "$S" reload example.com
printf 'broken line here\n' >> "$TMP/example.com.zone"
expect reload-broken 1 "serial=$((old + 1)) .*state=stale error=\"$TMP/example.com.zone:[0-9]+: " \
	-s "$S" reload example.com
expect zones-stale 0 'state=stale error=' -s "$S" zones
sed -i '$d' "$TMP/example.com.zone"
sed -i "s/$((old + 1))/$((old + 2))/" "$TMP/example.com.zone"
expect reload-fixed 0 "serial=$((old + 2)) .*state=ok$" -s "$S" reload example.com
if kdig @127.0.0.1 -p "$P1" +time=2 +retry=0 example.com SOA | grep -q "$((old + 2))"; then
	pass $T:reload-serves
else
	fail $T:reload-serves "the new serial is not served"
fi

# stats: the counters move with the queries
kdig @127.0.0.1 -p "$P1" +time=2 +retry=0 www.example.com A >/dev/null
expect stats 0 '^name="anyns_queries_total\{transport=\\"udp\\"\}" value=[1-9]' -s "$S" stats
out=$("$CTL" -s "$S" --json stats)
if echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); assert any(x["name"].startswith("anyns_zone_serial") for x in d)'; then
	pass $T:stats-json
else
	fail $T:stats-json "$(echo "$out" | head -3)"
fi

# config-check: good, then a bad key named, exit 1; the daemon keeps running
expect config-check 0 "^config=$TMP/primary.yaml result=ok zones=1$" -s "$S" config-check
cp "$TMP/primary.yaml" "$TMP/primary.good"
sed -i 's/workers: 1/workers: many/' "$TMP/primary.yaml"
expect config-check-bad 1 'error=.*workers' -s "$S" config-check
expect reload-badconf 1 'reload failed: .*workers' -s "$S" reload
cp "$TMP/primary.good" "$TMP/primary.yaml"

# bad commands and usage
expect unknown-command 2 'unknown command' -s "$S" frobnicate
expect refresh-primary 2 'not a secondary zone' -s "$S" refresh example.com
expect refresh-noarg 2 'which zone' -s "$S" refresh
expect no-daemon 3 'No such file' -s "$TMP/none.sock" status

# the socket: 0600, root's; another user is refused by the mode, and by
# SO_PEERCRED when the mode would let them in
mode=$(stat -c %a "$S")
if [ "$mode" = 600 ]; then pass $T:socket-0600; else fail $T:socket-0600 "mode $mode"; fi
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	for n in mode-refuses peercred-refuses peercred-logged; do
		skip $T:$n "needs root and setpriv to act as another user"
	done
else
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$S" status 2>&1); rc=$?
	if [ $rc -eq 3 ] && echo "$out" | grep -q 'Permission denied'; then
		pass $T:mode-refuses
	else
		fail $T:mode-refuses "exit $rc: $out"
	fi
	chmod 666 "$S"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$S" status 2>&1); rc=$?
	if [ $rc -eq 2 ] && echo "$out" | grep -q 'permission denied'; then
		pass $T:peercred-refuses
	else
		fail $T:peercred-refuses "exit $rc: $out"
	fi
	chmod 600 "$S"
	if grep -q 'control: refused uid=65534 ' "$TMP/primary.log"; then
		pass $T:peercred-logged
	else
		fail $T:peercred-logged
	fi
fi

# A secondary with control-group: the socket is 0660 in that group and its
# members get in. refresh and retransfer transfer from the primary above.
P2=$(free_port)
grp=$(getent group nogroup >/dev/null && echo nogroup || echo users)
gid=$(getent group "$grp" | cut -d: -f3)
cat > "$TMP/secondary.yaml" <<EOF
server:
  listen: [ "127.0.0.1:$P2" ]
  workers: 1
  control: $TMP/secondary.sock
  control-group: $grp
remotes:
  - id: prim
    address: [ "127.0.0.1:$P1" ]
zones:
  - origin: example.com
    primaries: [ prim ]
    file: $TMP/secondary.zone
    refresh: 1h
    retry: 1h
EOF
"$BIN/anynsd" "${ANYNSD_USER[@]}" -c "$TMP/secondary.yaml" 2>"$TMP/secondary.log" &
PIDS+=($!)
S2=$TMP/secondary.sock
if ! wait_sock "$S2"; then
	fail $T:secondary "no control socket: $(tail -3 "$TMP/secondary.log")"
	summary; exit $?
fi
perm=$(stat -c '%a %g' "$S2")
if [ "$perm" = "660 $gid" ]; then pass $T:socket-group; else fail $T:socket-group "$perm"; fi
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	expect group-member 0 '^version=' -s "$S2" status
	out=$(setpriv --reuid=65534 --regid="$gid" --clear-groups "$CTL" -s "$S2" status 2>&1); rc=$?
	if [ $rc -eq 0 ]; then pass $T:group-allowed; else fail $T:group-allowed "exit $rc: $out"; fi
else
	skip $T:group-member "needs root and setpriv to act as another user"
	skip $T:group-allowed "needs root and setpriv to act as another user"
fi

# sec_serial: the serial the secondary serves, waited for up to 10 s to be $1
sec_serial_is() {
	local i
	for i in $(seq 1 100); do
		"$CTL" -s "$S2" zones example.com | grep -q "serial=$1 " && return 0
		sleep 0.1
	done
	return 1
}
if sec_serial_is $((old + 2)); then pass $T:secondary-first; else fail $T:secondary-first "$("$CTL" -s "$S2" zones)"; fi
expect secondary-zones 0 "primary=prim state=ok" -s "$S2" zones
# A new serial at the primary: no NOTIFY is configured and refresh is 1 h,
# so only `refresh` brings it before the test ends.
sed -i "s/$((old + 2))/$((old + 3))/" "$TMP/example.com.zone"
"$CTL" -s "$S" reload >/dev/null
# The primary's history for IXFR out is built after the publication, in the
# background: wait until its IXFR has the new serial.
for i in $(seq 1 50); do
	kdig @127.0.0.1 -p "$P1" +time=1 +retry=0 example.com IXFR=$((old + 2)) 2>/dev/null |
		grep -q "SOA.* $((old + 3)) " && break
	sleep 0.1
done
expect refresh 0 'result="refresh started"' -s "$S2" refresh example.com
if sec_serial_is $((old + 3)); then pass $T:refresh-applied; else fail $T:refresh-applied "$("$CTL" -s "$S2" zones)"; fi
# The serial is current, so only a forced transfer gives a second AXFR line.
n0=$(grep -c "xfr: received zone=example.com. type=AXFR serial=" "$TMP/secondary.log")
expect retransfer 0 'result="transfer started"' -s "$S2" retransfer example.com
ok=
for i in $(seq 1 100); do
	if [ "$(grep -c "xfr: received zone=example.com. type=AXFR serial=$((old + 3)) " "$TMP/secondary.log")" -gt 0 ] &&
	   [ "$(grep -c "xfr: received zone=example.com. type=AXFR serial=" "$TMP/secondary.log")" -gt "$n0" ]; then
		ok=1; break
	fi
	sleep 0.1
done
if [ -n "$ok" ]; then pass $T:retransfer-applied; else fail $T:retransfer-applied "$(tail -3 "$TMP/secondary.log")"; fi
expect retransfer-unknown 2 'no zone' -s "$S2" retransfer nope.example

# The socket goes at a clean stop.
kill -TERM "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null
if [ ! -e "$S2" ]; then pass $T:socket-removed; else fail $T:socket-removed; fi

# Reloads read only what changed: three zones, c.test with an $INCLUDE.
P3=$(free_port)
for z in a b c; do
	printf '$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n' \
		> "$TMP/$z.test.zone"
done
echo '$INCLUDE c-inc.zone' >> "$TMP/c.test.zone"
echo 'www IN A 192.0.2.10' > "$TMP/c-inc.zone"
cat > "$TMP/multi.yaml" <<EOF
server:
  listen: [ "127.0.0.1:$P3" ]
  workers: 1
  control: $TMP/multi.sock
zones:
  - { origin: a.test, file: a.test.zone }
  - { origin: b.test, file: b.test.zone }
  - { origin: c.test, file: c.test.zone }
EOF
"$BIN/anynsd" "${ANYNSD_USER[@]}" -c "$TMP/multi.yaml" 2>"$TMP/multi.log" &
PIDS+=($!)
MPID=$!
S3=$TMP/multi.sock
if ! wait_sock "$S3"; then
	fail $T:multi-start "no control socket: $(tail -3 "$TMP/multi.log")"
	summary; exit $?
fi
# reread_since N: the zones with a "zone: loaded" line after line N of the log.
reread_since() { tail -n +"$(($1 + 1))" "$TMP/multi.log" | sed -n 's/.*zone: loaded zone=\([^ ]*\) .*/\1/p' | sort | tr '\n' ' '; }
loaded_at() { "$CTL" -s "$S3" zones "$1" | sed -n 's/.* loaded=\([^ ]*\) .*/\1/p'; }
n=$(wc -l < "$TMP/multi.log")
expect reload-nothing-changed 0 '^result=ok generation=2 loaded=3 zones=3 records=[0-9]+ reread=0 unchanged=3$' -s "$S3" reload
if [ -z "$(reread_since "$n")" ]; then pass $T:reload-nothing-reread; else fail $T:reload-nothing-reread "re-read: $(reread_since "$n")"; fi
# touch alone (same bytes) counts as a change, as its time is what an
# operator sees; loaded-at of a.test moves, b.test's does not.
at_a=$(loaded_at a.test); at_b=$(loaded_at b.test)
sleep 1.1
touch "$TMP/a.test.zone"
n=$(wc -l < "$TMP/multi.log")
expect reload-touched-one 0 ' reread=1 unchanged=2$' -s "$S3" reload
if [ "$(reread_since "$n")" = "a.test. " ] && [ "$(loaded_at a.test)" != "$at_a" ] &&
   [ "$(loaded_at b.test)" = "$at_b" ]; then
	pass $T:reload-only-touched-reread
else
	fail $T:reload-only-touched-reread "re-read: $(reread_since "$n"); a $at_a -> $(loaded_at a.test), b $at_b -> $(loaded_at b.test)"
fi
# A changed $INCLUDE file re-reads the zone that includes it (SIGHUP this time).
echo 'new IN A 192.0.2.11' >> "$TMP/c-inc.zone"
n=$(wc -l < "$TMP/multi.log")
kill -HUP "$MPID"
for i in $(seq 1 50); do tail -n +"$((n + 1))" "$TMP/multi.log" | grep -q "reload: done" && break; sleep 0.1; done
if [ "$(reread_since "$n")" = "c.test. " ] &&
   tail -n +"$((n + 1))" "$TMP/multi.log" | grep -q "reload: done generation=4 .* reread=1 unchanged=2 " &&
   [ "$(kdig @127.0.0.1 -p "$P3" +time=2 +retry=0 +short new.c.test A)" = 192.0.2.11 ]; then
	pass $T:reload-include-changed
else
	fail $T:reload-include-changed "re-read: $(reread_since "$n"); $(tail -n +"$((n + 1))" "$TMP/multi.log" | grep 'reload: done')"
fi
# reload ZONE reads that zone (changed or not) and nothing else, nor the config.
printf 'server:\n  workerz: 1\n' >> "$TMP/multi.yaml"
echo 'x IN A 192.0.2.12' >> "$TMP/a.test.zone"
n=$(wc -l < "$TMP/multi.log")
expect reload-one-zone 0 '^zone=b.test serial=1 .* state=ok$' -s "$S3" reload b.test
if [ "$(reread_since "$n")" = "b.test. " ] &&
   tail -n +"$((n + 1))" "$TMP/multi.log" | grep -q "reload: done generation=5 .* reread=1 unchanged=2 "; then
	pass $T:reload-one-zone-only
else
	fail $T:reload-one-zone-only "re-read: $(reread_since "$n"); $(tail -n +"$((n + 1))" "$TMP/multi.log" | grep 'reload:')"
fi
summary
