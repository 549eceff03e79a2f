#!/usr/bin/env bash
# Privilege drop: with --user nobody, anynsd binds and loads as root, then
# every thread runs as nobody with no capability (/proc/PID/task/*/status),
# still answers, and a SIGHUP reload reads the changed zone as nobody. A user
# that does not exist is a config error naming server.user (exit 2); root
# without server.user is refused (exit 2); user: root keeps root, warned.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
test_setup priv

if [ "$(id -u)" != 0 ]; then
	skip_root $T:privdrop "not root: nothing to drop"
	summary
	exit $?
fi
if ! getent passwd nobody >/dev/null; then
	skip $T:privdrop "no user nobody on this system"
	summary
	exit 0
fi
# The checks below.
plan 7
NUID=$(id -u nobody)
chmod 755 "$TMP"
zone() { printf '$TTL 300\n@ IN SOA ns1 h %s 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n' "$1"; }
zone 1 > "$TMP/priv.test.zone"
chmod 644 "$TMP/priv.test.zone"
PORT=$(free_port)
serial() { kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 +short priv.test SOA 2>/dev/null | awk '{print $3}'; }

"$BIN/anynsd" --listen "127.0.0.1:$PORT" --zone "priv.test=$TMP/priv.test.zone" --workers 2 \
	--user nobody >"$TMP/anynsd.log" 2>&1 &
DPID=$!
if wait_dns "$PORT" && [ "$(serial)" = 1 ]; then
	pass $T:privdrop-serves
else
	fail $T:privdrop-serves "$(tail -3 "$TMP/anynsd.log")"
fi
bad=
for st in /proc/"$DPID"/task/*/status; do
	uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")
	cap=$(awk '/^CapEff:/ {print $2}' "$st")
	prm=$(awk '/^CapPrm:/ {print $2}' "$st")
	if [ "$uids" != "$NUID $NUID $NUID $NUID" ] || [ "$cap" != 0000000000000000 ] ||
	   [ "$prm" != 0000000000000000 ]; then
		bad="$bad $(basename "$(dirname "$st")"): Uid $uids CapEff $cap CapPrm $prm;"
	fi
done
if [ -z "$bad" ] && [ -d "/proc/$DPID/task" ]; then
	pass $T:privdrop-proc-status
else
	fail $T:privdrop-proc-status "${bad:-no process}"
fi
zone 2 > "$TMP/priv.test.zone"
kill -HUP "$DPID"
ok=0
for _ in $(seq 1 50); do [ "$(serial)" = 2 ] && { ok=1; break; }; sleep 0.1; done
if [ "$ok" = 1 ]; then pass $T:privdrop-reload; else fail $T:privdrop-reload "$(tail -3 "$TMP/anynsd.log")"; fi
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=

"$BIN/anynsd" --listen "127.0.0.1:$PORT" --zone "priv.test=$TMP/priv.test.zone" \
	--user no-such-user-anyns >"$TMP/nouser.log" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "server.user: no user no-such-user-anyns" "$TMP/nouser.log"; then
	pass $T:privdrop-unknown-user
else
	fail $T:privdrop-unknown-user "exit $rc: $(cat "$TMP/nouser.log")"
fi

# Root without server.user is refused before anything is bound: exit 2, the
# key named, nothing answering.
out=$(timeout 10 "$BIN/anynsd" --listen "127.0.0.1:$PORT" --zone "priv.test=$TMP/priv.test.zone" \
	--workers 1 2>&1); rc=$?
if [ "$rc" = 2 ] && echo "$out" | grep -q "server.user: not set while running as root" &&
   ! kdig @127.0.0.1 -p "$PORT" +time=1 +retry=0 priv.test SOA 2>/dev/null | grep -q 'status:'; then
	pass $T:privdrop-root-refused
else
	fail $T:privdrop-root-refused "exit $rc: $out"
fi
# The same from a config file without server.user.
printf 'server:\n  listen: 127.0.0.1:%s\n  control: false\nzones:\n  - origin: priv.test\n    file: %s\n' \
	"$PORT" "$TMP/priv.test.zone" > "$TMP/nouser.yaml"
out=$(timeout 10 "$BIN/anynsd" -c "$TMP/nouser.yaml" 2>&1); rc=$?
if [ "$rc" = 2 ] && echo "$out" | grep -q "server.user: not set while running as root"; then
	pass $T:privdrop-root-refused-config
else
	fail $T:privdrop-root-refused-config "exit $rc: $out"
fi
# user: root written on purpose keeps root, with a warning.
sed 's/^server:$/server:\n  user: root/' "$TMP/nouser.yaml" > "$TMP/root.yaml"
"$BIN/anynsd" -c "$TMP/root.yaml" >"$TMP/root.log" 2>&1 &
DPID=$!
wait_dns "$PORT"
uid=$(awk '/^Uid:/ {print $2}' "/proc/$DPID/status" 2>/dev/null)
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
if [ "$uid" = 0 ] && grep -q "privileges: keeping-root user=root " "$TMP/root.log"; then
	pass $T:privdrop-root-on-purpose
else
	fail $T:privdrop-root-on-purpose "Uid ${uid:-none}: $(cat "$TMP/root.log")"
fi
summary
