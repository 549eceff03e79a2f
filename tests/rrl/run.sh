#!/usr/bin/env bash
# Response rate limiting of the real anynsd, beside NSD with the same settings.
#
# One source: a burst of 3000 identical queries in one second against
# rate 200 and slip 2 gets about rate full answers per clock second the
# burst touches (at most two), every second limited response as TC=1 and
# the rest dropped; the same with both UDP back ends; the counters say the
# same; TCP is never limited; a whitelisted source is not limited.
# Many sources: inside a network namespace made here, raw sockets send
# queries from documentation addresses: sources in one /24 share one limit,
# another /24 has its own, a whitelisted one is not limited.
# Every burst is bounded in count and time.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=rrl
ANYNSD=("$BIN/anynsd" "${ANYNSD_USER[@]}")
PY=/usr/bin/python3
BURST=$HERE/burst.py
test_setup rrl
NS=anyns-rrl-$$
cleanup_more() {
	ip netns del "$NS" 2>/dev/null
	declare -F xdp_cleanup >/dev/null && xdp_cleanup
}

if [ ! -x "$ANYNSD" ]; then
	fail $T:anynsd-built "$ANYNSD is missing (run make)"
	summary
	exit 1
fi
# The checks below, cookies.sh's and xdp.sh's included (a server that does
# not start ends the run early, with its failure).
plan 33

cat > "$TMP/example.com.zone" <<'Z'
$TTL 300
@ SOA ns1 host 1 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
*.w A 192.0.2.9
Z

# start_anynsd NAME ADDR PORT RRL-FLOW [EXTRA-LINES] [NETNS]: starts anynsd
# with that rrl section (EXTRA-LINES go at the top level, after server:'s
# own); sets DPID.
start_anynsd() {
	local name=$1 addr=$2 port=$3 rrl=$4 extra=${5:-} ns=${6:-}
	cat > "$TMP/$name.yaml" <<Y
server:
  listen: [$addr:$port]
  workers: 2
  control: false
$extra
rrl: $rrl
zones:
  - origin: example.com
    file: $TMP/example.com.zone
Y
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "${ANYNSD[@]}" -c "$TMP/$name.yaml" >"$TMP/$name.log" 2>&1 &
	else
		"${ANYNSD[@]}" -c "$TMP/$name.yaml" >"$TMP/$name.log" 2>&1 &
	fi
	DPID=$!
	PIDS+=("$DPID")
}
stop_pid() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# field JSON-LINE KEY
field() { echo "$1" | $PY -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$2"; }

# burst_ok NAME JSON RATE SLIP: full answers between RATE and 2 RATE (the
# second the burst straddles); of the limited ones 1/SLIP truncated, the rest
# dropped (10% slack for the per-second split and lost datagrams).
burst_ok() {
	local n=$1 j=$2 rate=$3 slip=$4 full tc none lim
	full=$(field "$j" full); tc=$(field "$j" tc); none=$(field "$j" none)
	lim=$((tc + none))
	echo "  $n: full=$full tc=$tc dropped=$none"
	if [ "$full" -lt $((rate * 9 / 10)) ] || [ "$full" -gt $((rate * 2 + rate / 10)) ]; then
		fail "$n" "full answers $full, want $rate..$((2 * rate))"; return
	fi
	if [ "$slip" -eq 0 ]; then
		[ "$tc" -eq 0 ] && pass "$n" || fail "$n" "slip 0 sent $tc TC answers"
		return
	fi
	local want=$((lim / slip))
	if [ "$tc" -lt $((want * 9 / 10)) ] || [ "$tc" -gt $((want * 11 / 10 + 2)) ]; then
		fail "$n" "TC answers $tc, want about $want"; return
	fi
	pass "$n"
}

# metric PORT NAME [NETNS]: a counter of the Prometheus page at 127.0.0.1:PORT.
metric() {
	${3:+ip netns exec "$3"} $PY -c '
import sys, urllib.request
try:
    body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=3).read()
except OSError:
    sys.exit(0)
for line in body.decode().splitlines():
    if line.split(" ")[0] == sys.argv[2]:
        print(line.split()[1])' "$1" "$2"
}

# ---- one source, beside NSD ------------------------------------------------------------
NSD_LINE="NSD: not run"
if command -v nsd >/dev/null; then
	NPORT=$(free_port)
	mkdir -p "$TMP/nsd"
	conf=$($PY "$ROOT/tests/pylib/peers.py" nsd-config --dir "$TMP/nsd" --port "$NPORT" \
		--listen 127.0.0.1 --zone "example.com=$TMP/example.com.zone" \
		--server-option "rrl-ratelimit: 200" --server-option "rrl-slip: 2" \
		--server-option "rrl-ipv4-prefix-length: 24" 2>/dev/null) || conf=
	if [ -n "$conf" ]; then
		# peers.py turns rrl off; the later lines turn it on (the last wins).
		nsd -d -c "$conf" >"$TMP/nsd.log" 2>&1 &
		NPID=$!
		PIDS+=("$NPID")
		if wait_dns "$NPORT"; then
			sleep 1.1
			j=$($PY "$BURST" --port "$NPORT" --count 3000 --seconds 1)
			NSD_LINE="NSD: full=$(field "$j" full) tc=$(field "$j" tc) dropped=$(field "$j" none)"
		fi
		stop_pid "$NPID"
	fi
fi
echo "  $NSD_LINE (same burst, rrl-ratelimit 200, rrl-slip 2)"

for io in poll threads; do
	PORT=$(free_port)
	MPORT=$(free_port)
	start_anynsd "one-$io" 127.0.0.1 "$PORT" "{ rate: 200, slip: 2 }" \
		"  udp-io: $io
  metrics: 127.0.0.1:$MPORT"
	if ! wait_dns "$PORT"; then
		fail $T:start-$io "anynsd did not answer"; continue
	fi
	sleep 1.1   # a fresh bucket: wait_dns's queries were other names
	j=$($PY "$BURST" --port "$PORT" --count 3000 --seconds 1)
	burst_ok $T:one-source-$io "$j" 200 2
	sl=$(metric "$MPORT" anyns_rrl_slipped_total); dr=$(metric "$MPORT" anyns_rrl_dropped_total)
	tc=$(field "$j" tc); none=$(field "$j" none)
	if [ "$io" = poll ]; then
		[ "${sl:-x}" = "$tc" ] && [ -n "$dr" ] && [ "$dr" -ge $((none * 9 / 10)) ] &&
			[ "$dr" -le "$none" ] &&
			pass $T:metrics || fail $T:metrics "slipped=$sl dropped=$dr for tc=$tc none=$none"
		# TCP is never limited, even for the bucket just emptied.
		ok=0
		for i in 1 2 3 4 5; do
			kdig @127.0.0.1 -p "$PORT" +tcp +time=2 +retry=0 www.example.com A 2>&1 |
				grep -q "192.0.2.1" && ok=$((ok + 1))
		done
		[ "$ok" -eq 5 ] && pass $T:tcp-not-limited || fail $T:tcp-not-limited "$ok of 5"
		# Responses counted are the ones sent: the burst's full and
		# slipped (wait_dns's queries were REFUSED, TCP's went over TCP).
		rs=$(metric "$MPORT" 'anyns_responses_total{rcode="NOERROR"}')
		full=$(field "$j" full)
		[ "${rs:-x}" = $((full + tc + 5)) ] && pass $T:responses-not-dropped ||
			fail $T:responses-not-dropped "NOERROR responses $rs for $full full, $tc slipped, 5 over TCP"
		# Random names under a wildcard share its bucket: limited as one.
		sleep 1.1
		j=$($PY "$BURST" --port "$PORT" --count 1000 --seconds 0.5 --random --name w.example.com)
		echo "  random names under *.w: full=$(field "$j" full) tc=$(field "$j" tc) dropped=$(field "$j" none)"
		burst_ok $T:wildcard-class "$j" 200 2
		# Queries with EDNS: slipped answers carry the OPT record.
		sleep 1.1
		j=$($PY "$BURST" --port "$PORT" --count 1000 --seconds 0.5 --edns)
		tc=$(field "$j" tc); tco=$(field "$j" tc_opt)
		echo "  EDNS: full=$(field "$j" full) tc=$tc (with OPT $tco) dropped=$(field "$j" none)"
		[ "$tc" -gt 0 ] && [ "$tco" = "$tc" ] && pass $T:slip-opt ||
			fail $T:slip-opt "$tc slipped, $tco with an OPT"
	fi
	stop_pid "$DPID"
done

# slip 0 drops all limited responses.
PORT=$(free_port)
start_anynsd slip0 127.0.0.1 "$PORT" "{ rate: 100, slip: 0 }"
if wait_dns "$PORT"; then
	sleep 1.1
	j=$($PY "$BURST" --port "$PORT" --count 1000 --seconds 0.5)
	burst_ok $T:slip-0 "$j" 100 0
else
	fail $T:slip-0 "anynsd did not answer"
fi
stop_pid "$DPID"

# A whitelisted source is not limited.
PORT=$(free_port)
start_anynsd white 127.0.0.1 "$PORT" "{ rate: 200, slip: 2, whitelist: [ 127.0.0.0/8 ] }"
if wait_dns "$PORT"; then
	j=$($PY "$BURST" --port "$PORT" --count 3000 --seconds 1)
	full=$(field "$j" full)
	echo "  whitelisted: full=$full tc=$(field "$j" tc) dropped=$(field "$j" none)"
	[ "$full" -ge 2950 ] && pass $T:whitelist || fail $T:whitelist "$full of 3000 full"
else
	fail $T:whitelist "anynsd did not answer"
fi
stop_pid "$DPID"

# A bad rrl key names itself and exits 2.
out=$("${ANYNSD[@]}" -c /dev/stdin --check 2>&1 <<Y
rrl:
  rate: 10
  whitelist: [ 192.0.2.0/33 ]
Y
)
rc=$?
[ "$rc" -eq 2 ] && echo "$out" | grep -q "rrl.whitelist" && pass $T:bad-config ||
	fail $T:bad-config "rc=$rc: $out"

# ---- rrl: and cookies: follow a reload -----------------------------------------------------
# reload_conf RRL COOKIES: the config of the "reload" server.
reload_conf() {
	cat > "$TMP/reload.yaml" <<Y
server:
  listen: [127.0.0.1:$PORT]
  workers: 2
  control: false
rrl: $1
cookies: $2
zones:
  - origin: example.com
    file: $TMP/example.com.zone
Y
}
# reloaded WHAT: SIGHUP, then wait for the log line of WHAT changed.
reloaded() {
	local what=$1 n
	n=$(grep -c "$what: reloaded" "$TMP/reload.log")
	kill -HUP "$DPID"
	wait_for 5 eval '[ "$(grep -c "$what: reloaded" "$TMP/reload.log")" -gt "$n" ]'
}
PORT=$(free_port)
reload_conf "{ rate: 0 }" "{ enable: false }"
"${ANYNSD[@]}" -c "$TMP/reload.yaml" >"$TMP/reload.log" 2>&1 &
DPID=$!
PIDS+=("$DPID")
if wait_dns "$PORT"; then
	# Off at start, on after a reload with another table size (without XDP
	# the new table has it): the burst is limited.
	reload_conf "{ rate: 100, slip: 2, table-size: 1024 }" "{ enable: false }"
	if reloaded rrl; then
		sleep 1.1
		j=$($PY "$BURST" --port "$PORT" --count 1000 --seconds 0.5)
		burst_ok $T:reload-rrl-on "$j" 100 2
	else
		fail $T:reload-rrl-on "no reload: $(tail -3 "$TMP/reload.log")"
	fi
	if grep -q "rrl: reloaded rate=100 .*table-size=1024$" "$TMP/reload.log" &&
	   ! grep -q "table-size-unchanged" "$TMP/reload.log"; then
		pass $T:reload-table-size
	else
		fail $T:reload-table-size "$(grep 'rrl:' "$TMP/reload.log" | tail -3)"
	fi
	# And off again.
	reload_conf "{ rate: 0 }" "{ enable: false }"
	if reloaded rrl; then
		sleep 1.1
		j=$($PY "$BURST" --port "$PORT" --count 1000 --seconds 0.5)
		full=$(field "$j" full)
		[ "$full" -ge 990 ] && pass $T:reload-rrl-off || fail $T:reload-rrl-off "$full of 1000 full"
	else
		fail $T:reload-rrl-off "no reload: $(tail -3 "$TMP/reload.log")"
	fi
	# Cookies turned on by a reload, then their secret changed: the server
	# cookie follows (RFC 9018: the same client cookie, time and address
	# give another server cookie under another secret).
	ck() { kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 +cookie=0102030405060708 www.example.com A 2>&1 |
		awk '/^;; COOKIE:/ { print $3 }'; }
	c0=$(ck)
	reload_conf "{ rate: 0 }" "{ enable: true, secret: 000102030405060708090a0b0c0d0e0f }"
	reloaded cookies
	c1=$(ck)
	reload_conf "{ rate: 0 }" "{ enable: true, secret: f0e0d0c0b0a090807060504030201000 }"
	reloaded cookies
	c2=$(ck)
	echo "  cookies: off '$c0', secret 1 '$c1', secret 2 '$c2'"
	if [ -z "$c0" ] && [ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" != "$c2" ]; then
		pass $T:reload-cookies
	else
		fail $T:reload-cookies "off '$c0', secret 1 '$c1', secret 2 '$c2'"
	fi
else
	fail $T:reload-rrl-on "anynsd did not answer"
	fail $T:reload-table-size "anynsd did not answer"
	fail $T:reload-rrl-off "anynsd did not answer"
	fail $T:reload-cookies "anynsd did not answer"
fi
stop_pid "$DPID"

# ---- DNS Cookies ---------------------------------------------------------------------
source "$HERE/cookies.sh"

# ---- the same in the XDP program --------------------------------------------------------
source "$HERE/xdp.sh"

# ---- many sources, spoofed inside a namespace ----------------------------------------
if ! ip netns add "$NS" 2>/dev/null; then
	plan $((1 - 3))   # one skip for the three many-source checks
	skip_root $T:many-sources "cannot create a network namespace (not root?)"
else
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add 203.0.113.53/32 dev lo
	# Every documentation address is local in the namespace, so the answers
	# to spoofed sources come back to the test.
	for p in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
		ip -n "$NS" route add local "$p" dev lo
	done
	PORT=$(free_port)
	start_anynsd many 203.0.113.53 "$PORT" "{ rate: 20, slip: 2, whitelist: [ 203.0.113.0/24 ] }" "" "$NS"
	up=0
	for i in $(seq 1 50); do
		ip netns exec "$NS" kdig @203.0.113.53 -p "$PORT" +time=1 +retry=0 . SOA 2>/dev/null |
			grep -q status: && { up=1; break; }
		sleep 0.1
	done
	if [ "$up" -eq 0 ]; then
		fail $T:many-sources "anynsd did not answer in the namespace"
	else
		sleep 1.1
		out=$(ip netns exec "$NS" $PY "$BURST" --server 203.0.113.53 --port "$PORT" \
			--count 200 --seconds 0.5 --sport 5353 \
			--spoof 192.0.2.10 --spoof 192.0.2.20 --spoof 192.0.2.30 --spoof 192.0.2.40 \
			--spoof 198.51.100.7 --spoof 203.0.113.9)
		echo "$out" | sed 's/^/  /'
		sum_full() { echo "$out" | $PY -c '
import json, sys
srcs = sys.argv[1].split(",")
print(sum(j["full"] for j in map(json.loads, sys.stdin) if j["source"] in srcs))' "$1"; }
		a=$(sum_full 192.0.2.10,192.0.2.20,192.0.2.30,192.0.2.40)
		b=$(sum_full 198.51.100.7)
		w=$(sum_full 203.0.113.9)
		# One /24 shares one bucket: 20..40 full for the four sources together
		# (80..160 if each had its own).
		[ "$a" -ge 18 ] && [ "$a" -le 44 ] && pass $T:per-prefix ||
			fail $T:per-prefix "192.0.2.0/24 got $a full answers"
		[ "$b" -ge 18 ] && [ "$b" -le 44 ] && pass $T:other-prefix ||
			fail $T:other-prefix "198.51.100.0/24 got $b full answers"
		[ "$w" -ge 195 ] && pass $T:whitelist-spoofed ||
			fail $T:whitelist-spoofed "whitelisted 203.0.113.9 got $w of 200"
	fi
	stop_pid "$DPID"
fi
summary
