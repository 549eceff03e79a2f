#!/usr/bin/env bash
# The systemd units (systemd/*.service.in, rendered as make install does)
# pass `systemd-analyze verify`, and anynsd speaks the notify protocol:
# READY=1 reaches $NOTIFY_SOCKET only once the zones are loaded and the server
# answers (a query sent the moment it arrives is answered from the zone),
# STOPPING=1 at SIGTERM, and RELOADING=1 then READY=1 around a SIGHUP reload.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
PY=/usr/bin/python3
T=systemd
test_setup systemd

echo "$T: systemd units and the notify protocol"
plan 9
if [ ! -x "$BIN/anynsd" ]; then
	fail $T:built "no $BIN/anynsd (build first)"
	summary; exit $?
fi

# verify: the units as installed with sbin = the build folder
for u in anynsd anyns-health; do
	sed "s|@SBINDIR@|$BIN|g; s|@SYSCONFDIR@|$TMP/etc|g" "$ROOT/systemd/$u.service.in" \
		> "$TMP/$u.service"
done
if ! command -v systemd-analyze >/dev/null; then
	skip $T:verify "systemd-analyze is not installed"
else
	MANARG=--man=no
	[ -d "$ROOT/man" ] && export MANPATH=$ROOT/man && MANARG=
	if out=$(cd "$TMP" && systemd-analyze verify $MANARG ./anynsd.service ./anyns-health.service 2>&1) &&
	   [ -z "$out" ]; then
		pass $T:verify
	else
		fail $T:verify "$out"
	fi
fi

# The notify listener: records each datagram with the moment it came, and on
# READY=1 asks the server for the zone's SOA at once.
P=$(free_port)
# A zone big enough that loading it takes a while.
{
	cat "$ROOT/zones/example.com.zone"
	for i in $(seq 1 60000); do echo "h$i 300 IN A 192.0.2.$((i % 250 + 1))"; done
} > "$TMP/example.com.zone"
$PY - "$TMP/notify.sock" "$P" "$TMP/events" <<'PY' &
import socket, subprocess, sys, time
path, port, out = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
with open(out, "w", buffering=1) as f:
    f.write("listening\n")
    seen_ready = 0
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in msg.split("\n"):
            f.write("msg " + line + "\n")
        if "READY=1" in msg.split("\n"):
            seen_ready += 1
            r = subprocess.run(["kdig", "@127.0.0.1", "-p", port, "+time=1", "+retry=0",
                                "example.com", "SOA"], capture_output=True, text=True)
            ok = "status: NOERROR" in r.stdout and "Flags: qr aa" in r.stdout
            f.write(f"ready-query {'answered' if ok else 'not-answered'}\n")
        if "STOPPING=1" in msg.split("\n"):
            break
PY
PIDS+=($!)
wait_for 5 grep -qs listening "$TMP/events"
NOTIFY_SOCKET=$TMP/notify.sock "$BIN/anynsd" "${ANYNSD_USER[@]}" --listen 127.0.0.1:$P --workers 1 --control false \
	--zone example.com="$TMP/example.com.zone" 2>"$TMP/anynsd.log" &
DPID=$!
PIDS+=($DPID)
if wait_for 30 grep -q "^ready-query" "$TMP/events" && [ "$(grep -m1 '^ready-query' "$TMP/events")" = 'ready-query answered' ]; then
	pass $T:ready-after-load
else
	fail $T:ready-after-load "$(cat "$TMP/events"; tail -3 "$TMP/anynsd.log")"
fi
if grep -q "^msg MAINPID=$DPID$" "$TMP/events"; then pass $T:mainpid; else fail $T:mainpid "$(cat "$TMP/events")"; fi
kill -HUP $DPID
answered_twice() { [ "$(grep -c "^ready-query answered" "$TMP/events")" -ge 2 ]; }
if wait_for 30 answered_twice &&
   grep -q '^msg RELOADING=1' "$TMP/events"; then
	pass $T:reload-ready
else
	fail $T:reload-ready "$(cat "$TMP/events")"
fi
kill -TERM $DPID
wait $DPID 2>/dev/null
# The listener writes what it receives in its own time: poll the file.
if wait_for 5 grep -q '^msg STOPPING=1' "$TMP/events"; then pass $T:stopping; else fail $T:stopping "$(cat "$TMP/events")"; fi
# Without NOTIFY_SOCKET nothing is sent and nothing is logged about it.
if ! grep -qi notify "$TMP/anynsd.log"; then pass $T:quiet; else fail $T:quiet "$(grep -i notify "$TMP/anynsd.log")"; fi
# log: syslog:PATH sends each line as a syslog datagram (facility daemon, the
# severity of the level); with no syslog socket the lines fall back to stderr.
P2=$(free_port)
$PY - "$TMP/log.sock" "$TMP/syslog" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w", buffering=1) as f:
    f.write("listening\n")
    try:
        while True:
            f.write(s.recv(4096).decode() + "\n")
    except socket.timeout:
        pass
PY
PIDS+=($!)
wait_for 5 grep -qs listening "$TMP/syslog"
"$BIN/anynsd" "${ANYNSD_USER[@]}" --listen 127.0.0.1:$P2 --workers 1 --control false --log "syslog:$TMP/log.sock" \
	--zone example.com="$ROOT/zones/example.com.zone" 2>"$TMP/sys.err" &
SPID=$!
PIDS+=($SPID)
wait_dns "$P2"
kill -TERM $SPID; wait $SPID 2>/dev/null
# The last datagrams may still wait in the listener's socket when anynsd has
# exited: wait until the listener has written the last line.
wait_for 5 grep -q "^<30>anynsd\[$SPID\]: info: daemon: stopped$" "$TMP/syslog"
if grep -Eq "^<30>anynsd\[$SPID\]: info: zone: loaded zone=example.com. serial=[0-9]+ records=[0-9]+ file=" "$TMP/syslog" &&
   grep -q "^<30>anynsd\[$SPID\]: info: daemon: stopped$" "$TMP/syslog" && [ ! -s "$TMP/sys.err" ]; then
	pass $T:syslog
else
	fail $T:syslog "$(head -3 "$TMP/syslog"; head -3 "$TMP/sys.err")"
fi
out=$("$BIN/anynsd" "${ANYNSD_USER[@]}" --listen 127.0.0.1:$P2 --control false --log "syslog:$TMP/none.sock" --check-config \
	--zone example.com="$ROOT/zones/example.com.zone" 2>&1)
if echo "$out" | grep -q 'info: zone: loaded zone=example.com. serial='; then pass $T:syslog-fallback; else fail $T:syslog-fallback "$out"; fi
out=$("$BIN/anynsd" "${ANYNSD_USER[@]}" --log journald --listen 127.0.0.1:$P2 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q 'config: bad key=server.log error="journald'; then pass $T:log-bad; else fail $T:log-bad "exit $rc: $out"; fi

# make install and uninstall (a process of its own, with its own plan).
irc=0
bash "$ROOT/tests/systemd/install.sh" || irc=1
summary && [ $irc -eq 0 ]
