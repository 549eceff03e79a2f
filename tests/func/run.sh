#!/usr/bin/env bash
# Functional tests: the real anynsd on free loopback ports, queried with kdig,
# drill and raw sockets (dnsraw.py).
#
#   cases/NAME/args        kdig arguments after @server -p port
#   cases/NAME/transports  "udp", "tcp" or both (default)
#   cases/NAME/expected    the answer as norm.awk prints it (sorted)
# plus scripted checks for TCP behaviour, opcodes, malformed packets, config
# errors, reload and shutdown. Every daemon started here is killed on exit.
# REGEN=1 rewrites the expected files from the current answers (review them!).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
PY=/usr/bin/python3
# UDP_IO=threads runs everything with --udp-io threads (test names func-threads:*);
# a run without it ends by running the suite once more that way.
T=func${UDP_IO:+-$UDP_IO}
ANYNSD=("$BIN/anynsd" "${ANYNSD_USER[@]}")
ZONES=$HERE/zones
test_setup func

# finish: the sanitizer check, then (in a plain run) the suite once more with
# --udp-io threads, then the summary. Every way out of this script ends here.
finish() {
	# Under ASan/UBSan (B=build/asan) a report in any daemon log is a failure.
	if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TMP"/*.log 2>/dev/null; then
		fail $T:sanitizers "sanitizer report in a daemon log"
		grep -h -A20 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TMP"/*.log | head -60
	else
		pass $T:sanitizers
	fi
	if [ -z "${UDP_IO:-}" ]; then
		echo
		# Its own results are recorded under func-threads:*; a failure there
		# also fails this run.
		UDP_IO=threads bash "$0" || { echo "FAIL: (the func-threads run failed)"; _suite_fail=$((_suite_fail+1)); }
	fi
	summary
}

echo "$T: anynsd functional tests ($ANYNSD, UDP ${UDP_IO:-poll})"
if [ ! -x "$ANYNSD" ]; then
	fail $T:anynsd-built "$ANYNSD is missing (run make)"
	finish
	exit 1
fi
for tool in kdig drill; do
	if ! command -v $tool >/dev/null; then
		skip $T:all "$tool is not installed (make deps)"
		finish
		exit 0
	fi
done

# The results this run must produce: one per case and transport, plus the
# scripted checks below (FIXED; keep it in step when adding one).
FIXED=96
# The benchmark reflector's check runs in the plain run only.
[ -z "${UDP_IO:-}" ] && FIXED=$((FIXED + 1))
ncases=0
for dir in "$HERE"/cases/*/; do
	if [ -f "$dir/transports" ]; then set -- $(cat "$dir/transports"); else set -- udp tcp; fi
	ncases=$((ncases + $#))
done
set --
plan $((ncases + FIXED))

# running PID: true while the process exists and is not a zombie.
running() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ "${st:0:1}" != Z ]
}

# start_anynsd LOG ARGS...: starts anynsd in the background, sets DPID, waits
# until it answers on $PORT (127.0.0.1). Returns 1 if it never does.
start_anynsd() {
	local log=$1
	shift
	[ "$1" != -c ] && set -- "$@" --udp-io "${UDP_IO:-poll}"
	"${ANYNSD[@]}" "$@" >"$log" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	if ! wait_dns "$PORT"; then
		echo "--- anynsd did not come up; log:"
		cat "$log"
		return 1
	fi
	return 0
}

# stop_anynsd PID: SIGTERM, wait up to 5 s, then SIGKILL. Sets RC to the exit status.
stop_anynsd() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		running "$pid" || break
		sleep 0.1
	done
	running "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	RC=$?
}

# kq ARGS...: kdig against the main server, bounded.
kq() { kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 "$@" 2>&1; }
norm() { awk -f "$HERE/norm.awk" | LC_ALL=C sort; }

# wait_log FILE PATTERN: up to 5 s for PATTERN to appear in FILE.
wait_log() {
	local i
	for i in $(seq 1 50); do
		grep -q -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

PORT=$(free_port)
LOG=$TMP/main.log
cp "$ZONES/func.test.zone" "$ZONES/broken.test.zone" "$ZONES/second.test.zone" "$TMP/"
cat > "$TMP/main.yaml" <<EOF
server:
  listen: [ "127.0.0.1:$PORT", "[::1]:$PORT" ]
  workers: 2
  control: false
  identity: pop1
  version: "anyns-test"
  nsid: pop1
  max-udp-payload: 1232
  tcp-idle-timeout: 10s
  log-level: info
  udp-io: ${UDP_IO:-poll}
  pid-file: $TMP/anynsd.pid
zones:
  - origin: func.test
    file: $TMP/func.test.zone
  - origin: broken.test
    file: $TMP/broken.test.zone
  - origin: second.test
    file: $TMP/second.test.zone
EOF

if ! start_anynsd "$LOG" -c "$TMP/main.yaml"; then
	fail $T:start "anynsd did not answer on 127.0.0.1:$PORT"
	finish
	exit 1
fi
MAIN=$DPID
pass $T:start

# ---- start-up log and the zone with errors -------------------------------------
if grep -Eq "zones: loaded zones=3 loaded=2 records=[0-9]+ ms=[0-9]+$" "$LOG"; then
	pass $T:startup-log
else
	fail $T:startup-log "no 'zones: loaded zones=3 loaded=2 records=N ms=N' line"
fi
if grep -q "zone: error zone=broken.test. file=[^ ]*broken.test.zone line=8 " "$LOG" &&
   grep -q "zone: failed zone=broken.test. error=.* file=[^ ]*broken.test.zone line=8 served=no" "$LOG"; then
	pass $T:zone-error-file-line
else
	fail $T:zone-error-file-line "broken.test.zone:8 not named in the log"
fi
if grep -q "zone: loaded zone=func.test. serial=2026010101 records=[1-9][0-9]* file=" "$LOG" &&
	grep -q "zone: loaded zone=second.test. serial=1 records=[1-9][0-9]* file=" "$LOG"; then
	pass $T:startup-log-zone-serials
else
	fail $T:startup-log-zone-serials "$(grep 'zone: ' "$LOG" | head -3)"
fi
# A second anynsd on the same address and port refuses to start (SO_REUSEPORT
# would have it share the queries), and the first goes on answering.
out=$(timeout 10 "${ANYNSD[@]}" --listen "127.0.0.1:$PORT" --workers 1 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "listen: in-use address=127.0.0.1:$PORT proto=udp" &&
	kq www.func.test A | grep -q "status: NOERROR"; then
	pass $T:second-instance-refused
else
	fail $T:second-instance-refused "exit $rc: $(echo "$out" | tail -2)"
fi
if [ -s "$TMP/anynsd.pid" ] && [ "$(cat "$TMP/anynsd.pid")" = "$MAIN" ]; then
	pass $T:pid-file
else
	fail $T:pid-file "pid file missing or wrong"
fi

# ---- answer cases -----------------------------------------------------------------
for dir in "$HERE"/cases/*/; do
	name=$(basename "$dir")
	read -r -a args < "$dir/args"
	transports="udp tcp"
	[ -f "$dir/transports" ] && transports=$(cat "$dir/transports")
	for tp in $transports; do
		extra=()
		[ "$tp" = tcp ] && extra=(+tcp)
		got=$(kq "${args[@]}" "${extra[@]}" | norm)
		if [ "${REGEN:-0}" = 1 ] && [ "$tp" = "${transports%% *}" ]; then
			printf '%s\n' "$got" > "$dir/expected"
		fi
		if [ ! -f "$dir/expected" ]; then
			fail "$T:case:$name:$tp" "no expected file"
		elif [ "$got" = "$(cat "$dir/expected")" ]; then
			pass "$T:case:$name:$tp"
		else
			fail "$T:case:$name:$tp" "answer differs"
			diff <(cat "$dir/expected") <(printf '%s\n' "$got") | sed 's/^/    /'
		fi
	done
done

# The same answers with drill (ldns), a second client implementation.
out=$(drill -p "$PORT" @127.0.0.1 www.func.test A 2>&1)
if echo "$out" | grep -q "rcode: NOERROR" && echo "$out" | grep -q "flags: qr aa rd" &&
   echo "$out" | grep -Eq "^www.func.test.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.81"; then
	pass $T:drill:exact
else
	fail $T:drill:exact "$(echo "$out" | head -5)"
fi
out=$(drill -t -p "$PORT" @127.0.0.1 nx.func.test A 2>&1)
if echo "$out" | grep -q "rcode: NXDOMAIN" &&
   echo "$out" | grep -Eq "^func.test.[[:space:]]+300[[:space:]]+IN[[:space:]]+SOA"; then
	pass $T:drill:nxdomain-tcp
else
	fail $T:drill:nxdomain-tcp "$(echo "$out" | head -5)"
fi
out=$(drill -p "$PORT" @::1 www.second.test A 2>&1)
if echo "$out" | grep -q "rcode: NOERROR" && echo "$out" | grep -q "192.0.2.55"; then
	pass $T:drill:ipv6
else
	fail $T:drill:ipv6 "$(echo "$out" | head -5)"
fi

# ---- IPv6 ---------------------------------------------------------------------------
for tp in udp tcp; do
	extra=()
	[ "$tp" = tcp ] && extra=(+tcp)
	out=$(kdig @::1 -p "$PORT" +time=2 +retry=0 "${extra[@]}" www.func.test AAAA 2>&1)
	if echo "$out" | grep -q "status: NOERROR" && echo "$out" | grep -q "2001:db8::80" &&
	   echo "$out" | grep -q "From ::1@$PORT"; then
		pass "$T:ipv6:$tp"
	else
		fail "$T:ipv6:$tp" "$(echo "$out" | head -3)"
	fi
done

# ---- truncation and the retry over TCP ------------------------------------------
out=$(kq huge.func.test TXT +bufsize=1232)
if echo "$out" | grep -q "truncated reply" && echo "$out" | grep -q "(TCP)" &&
   [ "$(echo "$out" | grep -c 'IN[[:space:]]*TXT[[:space:]]*"0')" -eq 28 ]; then
	pass $T:tc-retry-tcp
else
	fail $T:tc-retry-tcp "expected TC over UDP, then 28 TXT over TCP"
fi

# ---- TCP behaviour ------------------------------------------------------------------
check $T:tcp-pipelining $PY "$HERE/dnsraw.py" pipeline 127.0.0.1 "$PORT"
check $T:tcp-partial-reads $PY "$HERE/dnsraw.py" split 127.0.0.1 "$PORT"
check $T:tcp-slow-reader $PY "$HERE/dnsraw.py" slowreader 127.0.0.1 "$PORT" 1000
check $T:tcp-pipelining-ipv6 $PY "$HERE/dnsraw.py" pipeline ::1 "$PORT"
check $T:tcp-answers-batched $PY "$HERE/dnsraw.py" batched 127.0.0.1 "$PORT" 20
check $T:tcp-same-as-udp $PY "$HERE/dnsraw.py" tcpcache 127.0.0.1 "$PORT"
check $T:tcp-axfr-not-from-cache $PY "$HERE/dnsraw.py" axfr-after-udp 127.0.0.1 "$PORT"

# ---- opcodes, malformed packets -------------------------------------------------------
# NOTIFY for a zone served from a file (not a secondary): NOTAUTH, as Knot answers.
check $T:notify-not-secondary $PY "$HERE/dnsraw.py" opcode 127.0.0.1 "$PORT" NOTIFY NOTAUTH
check $T:update-notimp $PY "$HERE/dnsraw.py" opcode 127.0.0.1 "$PORT" UPDATE NOTIMP
for kind in qdcount2 badlabel truncated loop twoopt; do
	check "$T:formerr:$kind" $PY "$HERE/dnsraw.py" formerr 127.0.0.1 "$PORT" "$kind"
done
check $T:tc-question-only $PY "$HERE/dnsraw.py" tc-content 127.0.0.1 "$PORT"
check $T:edns-client-payload $PY "$HERE/dnsraw.py" payload 127.0.0.1 "$PORT"
check $T:any-one-rrset $PY "$HERE/dnsraw.py" any 127.0.0.1 "$PORT"
check $T:question-case-echo $PY "$HERE/dnsraw.py" caseecho 127.0.0.1 "$PORT"
check $T:qr1-dropped $PY "$HERE/dnsraw.py" qr1 127.0.0.1 "$PORT"
check $T:garbage-survived $PY "$HERE/dnsraw.py" garbage 127.0.0.1 "$PORT" 2000
if running "$MAIN"; then pass $T:alive-after-malformed; else fail $T:alive-after-malformed; fi

# ---- counters ----------------------------------------------------------------------------
kill -USR1 "$MAIN"
if wait_log "$LOG" "stats: counters reason=SIGUSR1 udp=[1-9]" && grep "reason=SIGUSR1" "$LOG" | grep -q "NXDOMAIN=[1-9]"; then
	pass $T:stats-sigusr1
else
	fail $T:stats-sigusr1 "no stats line with queries and NXDOMAIN"
fi
# Repeated identical queries are served from the worker caches.
for i in $(seq 1 20); do kq www.second.test A +short >/dev/null; done
nstats=$(grep -c "stats: counters reason=SIGUSR1" "$LOG")
kill -USR1 "$MAIN"
more_stats() { [ "$(grep -c "stats: counters reason=SIGUSR1" "$LOG")" -gt "$nstats" ]; }
wait_for 2 more_stats
hits=$(grep "stats: counters reason=SIGUSR1" "$LOG" | tail -1 | sed -n 's/.*cache-hits=\([0-9]*\).*/\1/p')
if [ "${hits:-0}" -ge 10 ]; then
	pass $T:answer-cache-hits
else
	fail $T:answer-cache-hits "cache-hits=${hits:-none} after 20 identical queries"
fi
# ...and so are TCP ones: 20 identical queries pipelined on one connection.
$PY "$HERE/dnsraw.py" batched 127.0.0.1 "$PORT" 20 >/dev/null
nstats=$(grep -c "stats: counters reason=SIGUSR1" "$LOG")
kill -USR1 "$MAIN"
wait_for 2 more_stats
hits2=$(grep "stats: counters reason=SIGUSR1" "$LOG" | tail -1 | sed -n 's/.*cache-hits=\([0-9]*\).*/\1/p')
if [ $(( ${hits2:-0} - ${hits:-0} )) -ge 19 ]; then
	pass $T:answer-cache-hits-tcp
else
	fail $T:answer-cache-hits-tcp "cache-hits ${hits:-none} -> ${hits2:-none} after 20 pipelined TCP queries"
fi

# ---- reload -----------------------------------------------------------------------------------
serial() { kq second.test SOA +short | awk '{print $3}'; }
if [ "$(serial)" = 1 ]; then pass $T:serial-before-reload; else fail $T:serial-before-reload; fi
sed -i 's/hostmaster 1 /hostmaster 2 /; s/192.0.2.55/192.0.2.56/' "$TMP/second.test.zone"
kill -HUP "$MAIN"
wait_log "$LOG" "reload: done generation=2 "
if [ "$(serial)" = 2 ] && [ "$(kq www.second.test A +short)" = 192.0.2.56 ]; then
	pass $T:sighup-reload-new-serial
else
	fail $T:sighup-reload-new-serial "serial $(serial), www $(kq www.second.test A +short)"
fi
# The cached answer of the old generation is not served any more (checked above
# through www.second.test, which was cached before the reload).

# A broken zone at reload keeps the old version serving, with file:line in the log.
printf 'oops\tIN\tCNAME\twww\noops\tIN\tA\t192.0.2.9\n' >> "$TMP/second.test.zone"
sed -i 's/hostmaster 2 /hostmaster 3 /' "$TMP/second.test.zone"
kill -HUP "$MAIN"
wait_log "$LOG" "reload: done generation=3 "
if [ "$(serial)" = 2 ] && [ "$(kq www.second.test A +short)" = 192.0.2.56 ] &&
   grep -q "reload: failed zone=second.test. error=.* file=[^ ]*second.test.zone line=[0-9][0-9]* kept-serial=2 kept-records=[0-9]" "$LOG"; then
	pass $T:reload-broken-keeps-old
else
	fail $T:reload-broken-keeps-old "serial $(serial); log: $(grep second.test "$LOG" | tail -2)"
fi
# Fixing the broken zone file (broken.test) makes it served at the next reload.
sed -i '/^bad\tIN\tA/d' "$TMP/broken.test.zone"
kill -HUP "$MAIN"
wait_log "$LOG" "reload: done generation=4 "
if kq ns1.broken.test A | grep -q "status: NOERROR"; then
	pass $T:reload-fixed-zone-served
else
	fail $T:reload-fixed-zone-served "bad.broken.test still not served"
fi
if grep -q "reload: done generation=3 .* kept=second.test. " "$LOG"; then
	pass $T:reload-log-names-kept
else
	fail $T:reload-log-names-kept "$(grep 'reload: done generation=3' "$LOG")"
fi
# No query is lost while reloads happen.
check $T:no-loss-during-reload $PY "$HERE/dnsraw.py" reload-load 127.0.0.1 "$PORT" "$MAIN" 3000 5

# ---- SIGHUP re-reads the config -------------------------------------------------------------
# reload_wait: SIGHUP, then up to 5 s for one more "reload: done" or
# "reload: failed ... kept=all" line.
reload_wait() {
	local n i
	n=$(grep -cE "reload: done|reload: failed .*kept=all" "$LOG")
	kill -HUP "$MAIN"
	for i in $(seq 1 50); do
		[ "$(grep -cE "reload: done|reload: failed .*kept=all" "$LOG")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
printf '$TTL 300\n@\tIN\tSOA\tns1 hostmaster 7 7200 3600 1209600 300\n@\tIN\tNS\tns1\nns1\tIN\tA\t192.0.2.76\nwww\tIN\tA\t192.0.2.77\n' \
	> "$TMP/added.test.zone"
cp "$TMP/main.yaml" "$TMP/main.yaml.orig"
# A zone added (with a path relative to the config's folder), one removed, and
# a setting that needs a restart changed.
sed -i 's/^  workers: 2$/  workers: 3/; /origin: broken.test/,+1d' "$TMP/main.yaml"
printf '  - origin: added.test\n    file: added.test.zone\n' >> "$TMP/main.yaml"
reload_wait
if kq www.added.test A +short | grep -qx 192.0.2.77 && kq ns1.broken.test A | grep -q "status: REFUSED" &&
	kq www.func.test A | grep -q "status: NOERROR"; then
	pass $T:reload-config-zones-added-removed
else
	fail $T:reload-config-zones-added-removed "added: $(kq www.added.test A +short); $(tail -3 "$LOG")"
fi
# Only what changed is named: answer-cache, left at auto, is not.
if grep -q "reload: needs-restart setting=server.workers still=2$" "$LOG" &&
	[ "$(grep -c "reload: needs-restart" "$LOG")" = 1 ]; then
	pass $T:reload-config-restart-named
else
	fail $T:reload-config-restart-named "$(grep 'reload:' "$LOG" | tail -3)"
fi
# A config that does not read changes nothing, and says where.
printf 'server:\n  workerz: 1\n' > "$TMP/main.yaml"
reload_wait
if grep -q "reload: failed error=\".*main.yaml:2: server.workerz: unknown key\" kept=all" "$LOG" &&
	kq www.added.test A +short | grep -qx 192.0.2.77; then
	pass $T:reload-bad-config-keeps-all
else
	fail $T:reload-bad-config-keeps-all "$(grep 'reload' "$LOG" | tail -2)"
fi
cp "$TMP/main.yaml.orig" "$TMP/main.yaml"

# ---- SIGTERM -------------------------------------------------------------------------------
stop_anynsd "$MAIN"
if [ "$RC" -eq 0 ] && grep -q "stats: counters reason=exit " "$LOG"; then
	pass $T:sigterm-exit-0
else
	fail $T:sigterm-exit-0 "exit status $RC"
fi
if [ ! -e "$TMP/anynsd.pid" ]; then pass $T:pid-file-removed; else fail $T:pid-file-removed; fi
if grep -q "loop-not-empty" "$LOG"; then fail $T:clean-loops "a libuv loop was not empty"; else pass $T:clean-loops; fi
# Every line of that run (start-up with a broken zone, reloads good and bad,
# config errors, counters, exit) splits as "subsystem: event key=value ...".
if out=$($PY "$HERE/../pylib/logshape.py" "$LOG" anynsd 30); then
	pass $T:log-key-value
else
	fail $T:log-key-value "$(echo "$out" | head -5)"
fi

# ---- TCP limits: a second daemon with a short idle timeout and 2 connections (one worker:
# a connection over the limit takes the slot of its worker's least recently active one) --
PORT=$(free_port)
if start_anynsd "$TMP/limits.log" --listen "127.0.0.1:$PORT" --zone "func.test=$TMP/func.test.zone" \
	--workers 1 --tcp-idle-timeout 1s --tcp-max-connections 2 --answer-cache 0; then
	check $T:tcp-idle-timeout $PY "$HERE/dnsraw.py" idle 127.0.0.1 "$PORT" 1.0
	check $T:tcp-connection-limit $PY "$HERE/dnsraw.py" connlimit 127.0.0.1 "$PORT" 2
	# Without the answer cache the answers are the same (built every time).
	got=$(kq www.func.test A | norm); got2=$(kq www.func.test A | norm)
	if [ "$got" = "$(cat "$HERE/cases/exact/expected")" ] && [ "$got2" = "$got" ]; then
		pass $T:answer-cache-off
	else
		fail $T:answer-cache-off
	fi
	# CHAOS identity is off unless configured.
	if kq id.server CH TXT | grep -q "status: REFUSED"; then
		pass $T:chaos-off-refused
	else
		fail $T:chaos-off-refused
	fi
	# So is version.bind: which software runs is no stranger's business.
	if kq version.bind CH TXT | grep -q "status: REFUSED" &&
	   kq version.server CH TXT | grep -q "status: REFUSED"; then
		pass $T:chaos-version-off-by-default
	else
		fail $T:chaos-version-off-by-default
	fi
	# No NSID configured: none sent back.
	if kq www.func.test A +nsid | grep -q "NSID"; then fail $T:nsid-off; else pass $T:nsid-off; fi
	# SIGINT stops like SIGTERM.
	kill -INT "$DPID"
	for i in $(seq 1 50); do running "$DPID" || break; sleep 0.1; done
	wait "$DPID" 2>/dev/null
	rc=$?
	if [ $rc -eq 0 ]; then pass $T:sigint-exit-0; else fail $T:sigint-exit-0 "exit $rc"; fi
else
	fail $T:tcp-limits-start "second anynsd did not start"
fi

# ---- SIGTERM with TCP answers still queued: they are flushed, then exit 0 --------
PORT=$(free_port)
if start_anynsd "$TMP/flush.log" --listen "127.0.0.1:$PORT" --zone "func.test=$TMP/func.test.zone" --workers 1; then
	check $T:sigterm-flushes-tcp $PY "$HERE/dnsraw.py" termflush 127.0.0.1 "$PORT" "$DPID" 300
	for i in $(seq 1 50); do running "$DPID" || break; sleep 0.1; done
	if running "$DPID"; then
		fail $T:sigterm-flush-exit "still running 5 s after SIGTERM"
		kill -KILL "$DPID"
	else
		wait "$DPID" 2>/dev/null; rc=$?
		if [ $rc -eq 0 ]; then pass $T:sigterm-flush-exit; else fail $T:sigterm-flush-exit "exit $rc"; fi
	fi
else
	fail $T:flush-start "anynsd did not start"
fi

# ---- TCP clients that pipeline queries for 60 KB answers and do not read: the
# server answers only while its write queue is short (bounded memory), and
# every answer still arrives once they read --------------------------------------
PORT=$(free_port)
{
	printf '$ORIGIN bp.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\n'
	long=$(printf 'x%.0s' $(seq 1 250))
	for i in $(seq 100 329); do echo "big TXT \"$i$long\""; done
} > "$TMP/bp.test.zone"
if start_anynsd "$TMP/bp.log" --listen "127.0.0.1:$PORT" --zone "bp.test=$TMP/bp.test.zone" --workers 1; then
	check $T:tcp-backpressure $PY "$HERE/dnsraw.py" backpressure 127.0.0.1 "$PORT" "$DPID" big.bp.test
	stop_anynsd "$DPID"
else
	fail $T:backpressure-start "anynsd did not start"
fi

# ---- wildcard address: replies come from the address asked (IP_PKTINFO) --------------
PORT=$(free_port)
MPORT=$(free_port)
if start_anynsd "$TMP/any.log" --listen "0.0.0.0:$PORT" --listen "[::]:$PORT" --zone "func.test=$TMP/func.test.zone" \
	--workers 1 --nsid hex:0a0b0c --metrics "127.0.0.1:$MPORT"; then
	# kdig uses a connected UDP socket: an answer from another source would be lost.
	out=$(kdig @127.0.0.2 -p "$PORT" +time=2 +retry=0 www.func.test A +nsid 2>&1)
	if echo "$out" | grep -q "status: NOERROR" && echo "$out" | grep -q "From 127.0.0.2@"; then
		pass $T:wildcard-listen-pktinfo
	else
		fail $T:wildcard-listen-pktinfo "$(echo "$out" | head -3)"
	fi
	if echo "$out" | grep -qi "NSID: 0a0b0c"; then pass $T:nsid-hex; else fail $T:nsid-hex; fi
	out=$(kdig @::1 -p "$PORT" +time=2 +retry=0 www.func.test AAAA 2>&1)
	if echo "$out" | grep -q "2001:db8::80" && echo "$out" | grep -q "From ::1@"; then
		pass $T:wildcard-listen-pktinfo-ipv6
	else
		fail $T:wildcard-listen-pktinfo-ipv6 "$(echo "$out" | head -3)"
	fi
	check $T:metrics-endpoint $PY "$HERE/dnsraw.py" metrics 127.0.0.1 "$MPORT"
	# Every series has HELP and TYPE (promtool accepts the page); the zone
	# subscriber's per-zone serial is there.
	mtxt=$($PY -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' \
		"http://127.0.0.1:$MPORT/metrics" 2>&1)
	if ! command -v promtool >/dev/null; then
		skip $T:metrics-promtool "promtool is not installed (make deps)"
	elif out=$(printf '%s\n' "$mtxt" | promtool check metrics 2>&1) &&
		echo "$mtxt" | grep -q '^anyns_zone_serial{zone="func.test."} 2026010101$'; then
		pass $T:metrics-promtool
	else
		fail $T:metrics-promtool "$(echo "$out" | head -5)"
	fi
	stop_anynsd "$DPID"
else
	fail $T:wildcard-listen-start "anynsd on 0.0.0.0 did not start"
fi

# ---- dnstap: every query and response, read back with dnstap-ldns --------------------
PORT=$(free_port)
MPORT=$(free_port)
if ! command -v dnstap-ldns >/dev/null; then
	for n in dnstap-start dnstap-messages dnstap-fields dnstap-metrics dnstap-queries-only; do
		skip $T:$n "dnstap-ldns is not installed (make deps)"
	done
elif start_anynsd "$TMP/dnstap.log" --listen "127.0.0.1:$PORT" --zone "func.test=$TMP/func.test.zone" \
	--workers 2 --identity pop-tap --metrics "127.0.0.1:$MPORT" --dnstap-file "$TMP/all.tap"; then
	pass $T:dnstap-start
	kq www.func.test A >/dev/null
	kq +tcp func.test MX >/dev/null
	kq nope.func.test AAAA >/dev/null
	frames=$($PY -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' \
		"http://127.0.0.1:$MPORT/metrics" 2>&1 | sed -n 's/^anyns_dnstap_frames_total \([0-9]*\)$/\1/p')
	dropped=$($PY -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' \
		"http://127.0.0.1:$MPORT/metrics" 2>&1 | sed -n 's/^anyns_dnstap_dropped_total \([0-9]*\)$/\1/p')
	stop_anynsd "$DPID"
	# The stop writes what is queued: three queries, each with its response,
	# beside start_anynsd's probes (. SOA).
	probes=$(dnstap-ldns -r "$TMP/all.tap" 2>&1 | grep -c ' AQ .* "\." IN SOA$')
	got=$(dnstap-ldns -r "$TMP/all.tap" 2>&1 | grep -v '"\." IN SOA$' |
		awk '{ print $3, $4, $5, $7, $8, $9 }' | LC_ALL=C sort | tr '\n' ';')
	want='AQ 127.0.0.1 TCP "func.test." IN MX;AQ 127.0.0.1 UDP "nope.func.test." IN AAAA;AQ 127.0.0.1 UDP "www.func.test." IN A;AR 127.0.0.1 TCP "func.test." IN MX;AR 127.0.0.1 UDP "nope.func.test." IN AAAA;AR 127.0.0.1 UDP "www.func.test." IN A;'
	if [ "$got" = "$want" ]; then pass $T:dnstap-messages; else fail $T:dnstap-messages "got '$got'"; fi
	# The response as sent (the answer, the rcode), who answered, on which port.
	yml=$(dnstap-ldns -y -r "$TMP/all.tap" 2>&1)
	if echo "$yml" | grep -q '^identity: "pop-tap"' && echo "$yml" | grep -q "response_port: $PORT$" &&
	   echo "$yml" | grep -q '^  type: AUTH_RESPONSE' && echo "$yml" | grep -Eq 'www\.func\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.' &&
	   echo "$yml" | grep -q 'rcode: NXDOMAIN'; then
		pass $T:dnstap-fields
	else
		fail $T:dnstap-fields "$(echo "$yml" | head -30)"
	fi
	if [ "$probes" -ge 1 ] && [ "$frames" = $((6 + 2 * probes)) ] && [ "$dropped" = 0 ]; then
		pass $T:dnstap-metrics
	else
		fail $T:dnstap-metrics "frames=$frames dropped=$dropped probes=$probes"
	fi
else
	fail $T:dnstap-start "anynsd with --dnstap-file did not start"
	skip $T:dnstap-messages "no server"; skip $T:dnstap-fields "no server"; skip $T:dnstap-metrics "no server"
fi
# log-responses: false (from a config file): queries only.
if command -v dnstap-ldns >/dev/null; then
	PORT=$(free_port)
	printf 'server:\n  listen: 127.0.0.1:%s\n  workers: 1\n  control: false\n  udp-io: %s\ndnstap:\n  file: %s\n  log-responses: false\nzones:\n  - origin: func.test\n    file: %s\n' \
		"$PORT" "${UDP_IO:-poll}" "$TMP/q.tap" "$TMP/func.test.zone" > "$TMP/dnstap.yaml"
	if start_anynsd "$TMP/dnstap-q.log" -c "$TMP/dnstap.yaml"; then
		kq www.func.test A >/dev/null
		kq +tcp www.func.test A >/dev/null
		stop_anynsd "$DPID"
		got=$(dnstap-ldns -r "$TMP/q.tap" 2>&1 | grep -v '"\." IN SOA$' | awk '{ print $3, $5 }' |
			LC_ALL=C sort | tr '\n' ' ')
		if [ "$got" = "AQ TCP AQ UDP " ] && dnstap-ldns -r "$TMP/q.tap" | grep -q ' AQ .* "\." IN SOA$'; then pass $T:dnstap-queries-only; else fail $T:dnstap-queries-only "got '$got'"; fi
	else
		fail $T:dnstap-queries-only "anynsd did not start: $(tail -3 "$TMP/dnstap-q.log")"
	fi
fi

# ---- no zone at all: still serves, REFUSED, error logged ------------------------------
PORT=$(free_port)
if start_anynsd "$TMP/none.log" --listen "127.0.0.1:$PORT" --zone "broken.test=$ZONES/broken.test.zone" --workers 1; then
	if kq www.func.test A | grep -q "status: REFUSED" && grep -q "zones: none-loaded" "$TMP/none.log"; then
		pass $T:no-zone-refused
	else
		fail $T:no-zone-refused
	fi
	stop_anynsd "$DPID"
	if [ "$RC" -eq 0 ]; then pass $T:no-zone-exit-0; else fail $T:no-zone-exit-0 "exit $RC"; fi
else
	fail $T:no-zone-start "anynsd without a loadable zone did not start"
fi

# ---- configuration errors: exit 2 naming the key (and file:line) ------------------------
# bad_config NAME YAML PATTERN
bad_config() {
	local name=$1 yaml=$2 pat=$3 out rc
	printf '%s\n' "$yaml" > "$TMP/$name.yaml"
	out=$(timeout 10 "${ANYNSD[@]}" -c "$TMP/$name.yaml" --check-config 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && echo "$out" | grep -q -- "$pat"; then
		pass "$T:bad-config:$name"
	else
		fail "$T:bad-config:$name" "exit $rc, output: $out"
	fi
}
bad_config unknown-key $'server:\n  listen: [ "127.0.0.1:53" ]\n  workerz: 2' "unknown-key.yaml:3: server.workerz: unknown key"
bad_config wrong-type $'server:\n  workers: many' "wrong-type.yaml:2: server.workers"
bad_config bad-address $'server:\n  listen:\n    - "127.0.0.1:53"\n    - "300.1.2.3:53"' "bad-address.yaml:4: server.listen"
bad_config bad-port $'server:\n  listen: "127.0.0.1:99999"' "bad-port.yaml:2: server.listen"
bad_config bad-duration $'server:\n  tcp-idle-timeout: soon' "bad-duration.yaml:2: server.tcp-idle-timeout"
bad_config zone-no-file $'zones:\n  - origin: func.test' "zone-no-file.yaml:2: zones\[0\]: file: missing"
bad_config unknown-top $'zonez: []' "unknown-top.yaml:1: zonez: unknown key"
bad_config bad-nsid $'server:\n  nsid: "hex:zz"' "bad-nsid.yaml:2: server.nsid"
bad_config bad-xdp-mode $'xdp:\n  mode: turbo' "bad-xdp-mode.yaml:2: xdp.mode"
bad_config dup-zone $'zones:\n  - origin: func.test\n    file: a\n  - origin: FUNC.test.\n    file: b' \
	"dup-zone.yaml:4: zones\\[1\\]: zone FUNC.test. is already zones\\[0\\]"
bad_config big-payload $'server:\n  max-udp-payload: 4097' "big-payload.yaml:2: server.max-udp-payload: want a number from 512 to 4096"
out=$(timeout 10 "${ANYNSD[@]}" --max-udp-payload 1400 --check-config 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "warning: config: warning key=server.max-udp-payload value=1400 "; then
	pass $T:payload-above-1232-warned
else
	fail $T:payload-above-1232-warned "exit $rc: $out"
fi
# Zone files named with a relative path are read from the config file's folder
# (or zones-dir, itself relative to that folder), never the working directory.
mkdir -p "$TMP/conf/zsub" "$TMP/elsewhere"
cp "$ZONES/func.test.zone" "$TMP/conf/"
cp "$ZONES/second.test.zone" "$TMP/conf/zsub/"
printf 'zones:\n  - origin: func.test\n    file: func.test.zone\n' > "$TMP/conf/rel.yaml"
printf 'server:\n  zones-dir: zsub\nzones:\n  - origin: second.test\n    file: second.test.zone\n' > "$TMP/conf/reldir.yaml"
printf 'zones:\n  - origin: func.test\n    file: func.test.zone\n' > "$TMP/elsewhere/rel.yaml"
out1=$(cd / && timeout 10 "${ANYNSD[@]}" -c "$TMP/conf/rel.yaml" --check-config 2>&1); rc1=$?
out2=$(cd / && timeout 10 "${ANYNSD[@]}" -c "$TMP/conf/reldir.yaml" --check-config 2>&1); rc2=$?
# From the folder that has the file, a config elsewhere must still not find it.
out3=$(cd "$TMP/conf" && timeout 10 "${ANYNSD[@]}" -c "$TMP/elsewhere/rel.yaml" --check-config 2>&1); rc3=$?
if [ $rc1 -eq 0 ] && echo "$out1" | grep -q "1 of 1 zones" && [ $rc2 -eq 0 ] && [ $rc3 -eq 1 ] &&
	echo "$out3" | grep -q "0 of 1 zones"; then
	pass $T:zone-paths-from-config-folder
else
	fail $T:zone-paths-from-config-folder "exits $rc1 $rc2 $rc3: $out1 $out2 $out3"
fi
printf 'server: [ unclosed\n' > "$TMP/syntax.yaml"
out=$(timeout 10 "${ANYNSD[@]}" -c "$TMP/syntax.yaml" 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "syntax.yaml:"; then pass $T:bad-config:yaml-syntax; else fail $T:bad-config:yaml-syntax "exit $rc: $out"; fi
out=$(timeout 10 "${ANYNSD[@]}" -c "$TMP/does-not-exist.yaml" 2>&1); rc=$?
if [ $rc -eq 2 ]; then pass $T:bad-config:missing-file; else fail $T:bad-config:missing-file "exit $rc"; fi
out=$(timeout 10 "${ANYNSD[@]}" --listen "not-an-address" --check-config 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q -- "--listen"; then pass $T:bad-flag:listen; else fail $T:bad-flag:listen "exit $rc: $out"; fi
out=$(timeout 10 "${ANYNSD[@]}" --workers 0 --check-config 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q -- "--workers"; then pass $T:bad-flag:workers; else fail $T:bad-flag:workers "exit $rc: $out"; fi
out=$(timeout 10 "${ANYNSD[@]}" --no-such-flag 2>&1); rc=$?
if [ $rc -eq 2 ]; then pass $T:bad-flag:unknown; else fail $T:bad-flag:unknown "exit $rc"; fi
# A good config checks clean; a zone that fails makes --check-config say 1 (not 2).
out=$(timeout 10 "${ANYNSD[@]}" --zone "func.test=$ZONES/func.test.zone" --check-config 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "1 of 1 zones"; then pass $T:check-config-ok; else fail $T:check-config-ok "exit $rc: $out"; fi
out=$(timeout 10 "${ANYNSD[@]}" --zone "func.test=$ZONES/func.test.zone" --zone "broken.test=$ZONES/broken.test.zone" --check-config 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "zone: failed zone=broken.test. .*broken.test.zone line=8 served=no"; then pass $T:check-config-zone-error; else fail $T:check-config-zone-error "exit $rc: $out"; fi

# A zone big enough to be parsed on a thread of its own (load-threads 2) reports
# the same errors, on the same lines, as one thread.
awk 'BEGIN { print "$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1";
	for (i = 5; i <= 8000; i++) {
		if (i == 3001) print "bad3001 A 300.0.0.1"
		else if (i == 7777) print "out.example.net. A 192.0.2.2"
		else if (i % 2) printf "h%d A 10.0.%d.%d\n", i, int(i / 256) % 256, i % 256
		else printf "t%d TXT ( \"part one\"\n  \"part two\" )\n", i
	} }' > "$TMP/big.test.zone"
lt() { timeout 20 "${ANYNSD[@]}" --load-threads "$1" --zone "big.test=$TMP/big.test.zone" --check-config 2>&1 |
	grep -E "zone: (error|failed)" | sed 's/^[^ ]* //'; }
out1=$(lt 1); out2=$(lt 2)
bad=$(grep -n '^bad3001 ' "$TMP/big.test.zone" | cut -d: -f1)
oz=$(grep -n '^out\.example\.net\. ' "$TMP/big.test.zone" | cut -d: -f1)
if [ -n "$out1" ] && [ "$out1" = "$out2" ] && echo "$out2" | grep -q "zone: error .* line=$bad error=" &&
	echo "$out2" | grep -q "zone: error .* line=$oz error=.*out of zone" &&
	[ "$(stat -c %s "$TMP/big.test.zone")" -gt 65536 ]; then
	pass $T:load-threads-same-errors
else
	fail $T:load-threads-same-errors "one thread: $out1; two: $out2"
fi

# The example config shipped with the daemon is valid.
out=$(cd "$ROOT" && timeout 10 "${ANYNSD[@]}" -c server/daemon/anynsd.example.yaml --check-config 2>&1); rc=$?
if [ $rc -eq 0 ]; then pass $T:example-config; else fail $T:example-config "exit $rc: $out"; fi

# ---- --help documents every option; --version -----------------------------------------
help=$(timeout 5 "${ANYNSD[@]}" --help 2>&1); rc=$?
missing=""
for opt in --config --listen --zone --workers --identity --server-version --nsid --max-udp-payload --answer-cache --udp-io \
	--tcp-idle-timeout --tcp-max-connections --xdp --metrics --pid-file --log-level --check-config \
	--help --version; do
	echo "$help" | grep -q -- "$opt" || missing="$missing $opt"
done
if [ $rc -eq 0 ] && [ -z "$missing" ]; then pass $T:help; else fail $T:help "exit $rc, missing:$missing"; fi
if timeout 5 "${ANYNSD[@]}" --version | grep -q "^anynsd [0-9]"; then pass $T:version; else fail $T:version; fi

# ---- the benchmark's floor: anyns-reflector over TCP and UDP ----------------------------
if [ -z "${UDP_IO:-}" ]; then
	RPORT=$(free_port)
	if [ ! -x "$BIN/anyns-reflector" ]; then
		fail $T:bench-reflector "$BIN/anyns-reflector is missing (run make)"
	else
		"$BIN/anyns-reflector" --listen "127.0.0.1:$RPORT" >"$TMP/reflector.log" 2>&1 &
		PIDS+=($!)
		if wait_dns "$RPORT"; then
			check $T:bench-reflector $PY "$HERE/dnsraw.py" reflect 127.0.0.1 "$RPORT"
		else
			fail $T:bench-reflector "no answer on port $RPORT: $(tail -2 "$TMP/reflector.log")"
		fi
	fi
fi

finish
