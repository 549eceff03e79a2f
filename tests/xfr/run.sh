#!/usr/bin/env bash
# Zone transfer tests against real peers on free loopback ports:
#  - Knot DNS and NSD as hidden primaries feeding anynsd (AXFR, NOTIFY then
#    IXFR, IXFR answered with a full zone, TSIG good and bad, primary down
#    then back, expire, restart serving the kept file, queries under load
#    during transfers);
#  - anynsd as primary feeding Knot DNS and NSD (AXFR, IXFR after a reload,
#    NOTIFY, a transfer from an address not allowed refused);
#  - a catalog zone on a Knot primary (member added, member removed; the
#    members follow the catalog's allow-query and allow-transfer).
# Each peer gets its own source address in 127.0.0.0/8 so that address
# based rules can be tested. Every daemon started here is killed on exit.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
PY=/usr/bin/python3
T=xfr
ANYNSD=("$BIN/anynsd" "${ANYNSD_USER[@]}")
test_setup xfr
PEER_PIDS=()
SECRET="c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="
BADSECRET="b3RoZXItc2VjcmV0LW5vdC10aGUtc2FtZS0wMTIzNDU="

# Knot and NSD (PEER_PIDS) go through peers.py, which stops their sessions.
cleanup_more() { [ ${#PEER_PIDS[@]} -eq 0 ] || peers stop --timeout 2 "${PEER_PIDS[@]}"; }

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

echo "$T: zone transfers with Knot DNS and NSD ($ANYNSD)"
if [ ! -x "$ANYNSD" ]; then
	fail $T:anynsd-built "$ANYNSD is missing (run make)"
	summary
	exit 1
fi
for tool in kdig knotd knotc nsd; do
	if ! command -v $tool >/dev/null; then
		skip $T "$tool not installed (make deps)"
		summary
		exit 0
	fi
done
# The checks below (a primary that does not start ends the run early, with
# its failure).
plan 89

# ---- helpers -----------------------------------------------------------------

# zone FILE ORIGIN SERIAL VERSION [EXTRA...]: a small zone whose data say
# which version it is: www A 10.0.0.VERSION, v CNAME vVERSION, vVERSION TXT.
# SOA timers: refresh 2, retry 1, expire 3600.
write_zone() {
	local f=$1 o=$2 s=$3 v=$4
	shift 4
	{
		echo "\$ORIGIN $o."
		echo "\$TTL 300"
		echo "@ SOA ns1 hostmaster $s 2 1 3600 60"
		echo "@ NS ns1"
		echo "ns1 A 192.0.2.1"
		echo "www A 10.0.0.$v"
		echo "v CNAME v$v"
		echo "v$v TXT \"version $v\""
		for i in $(seq 1 50); do echo "host$i A 192.0.2.$i"; done
		for x in "$@"; do echo "$x"; done
	} > "$f"
}

# q PORT NAME TYPE [kdig options]: the answer's data, one per line.
q() {
	local port=$1 name=$2 type=$3
	shift 3
	kdig @127.0.0.1 -p "$port" +time=1 +retry=0 +short "$@" "$name" "$type" 2>/dev/null
}
status() {
	local port=$1 name=$2 type=$3
	shift 3
	kdig @127.0.0.1 -p "$port" +time=1 +retry=0 "$@" "$name" "$type" 2>/dev/null |
		sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds, for at
# most SECONDS of wall time.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
# answer_is/status_is PORT NAME TYPE WANT [kdig options]
answer_is() { local p=$1 n=$2 t=$3 w=$4; shift 4; [ "$(q "$p" "$n" "$t" "$@")" = "$w" ]; }
status_is() { local p=$1 n=$2 t=$3 w=$4; shift 4; [ "$(status "$p" "$n" "$t" "$@")" = "$w" ]; }

# Knot and NSD get their configurations from tests/pylib/peers.py and run in
# a session of their own (peers.py start), stopped through it.
PEERS=$ROOT/tests/pylib/peers.py
peers() { "$PY" "$PEERS" "$@"; }
# knot_conf DIR PORT NOTIFY_PORT SECRET ZONES...: Knot serving each ZONE=FILE
# with journal differences (so it answers IXFR), TSIG key "xfr", transfers
# and NOTIFY to anynsd at 127.0.0.1@NOTIFY_PORT; full.test answers IXFR
# with the whole zone (provide-ixfr: off).
knot_conf() {
	local d=$1 port=$2 nport=$3 secret=$4 z args=()
	shift 4
	for z in "$@"; do args+=(--zone "$z"); done
	peers knot-config --dir "$d" --port "$port" --verbosity 1 "${args[@]}" \
		--key "xfr:hmac-sha256:$secret" --remote "anynsd=127.0.0.1@$nport,key=xfr" \
		--acl "xfr=transfer,key=xfr" --template-option "zonefile-load: difference" \
		--template-option "journal-content: changes" --template-option "acl: xfr" \
		--template-option "notify: anynsd" --zone-option "full.test:provide-ixfr: off" >/dev/null
}
start_knot() {
	KNOT_PID=$(peers start knot --dir "$1")
	PEER_PIDS+=($KNOT_PID)
}
stop_peer() { peers stop --timeout 5 "$1"; }

# start_anynsd NAME CONFIG: anynsd with a YAML config; ANY_PID, ANY_LOG.
start_anynsd() {
	local name=$1 conf=$2
	ANY_LOG=$TMP/$name.log
	"${ANYNSD[@]}" -c "$conf" -l debug >>"$ANY_LOG" 2>&1 &
	ANY_PID=$!
	PIDS+=($ANY_PID)
}

# load PORT NAME SECONDS: queries NAME TXT (following the CNAME) over UDP
# at a bounded rate for SECONDS; prints "sent lost bad" where bad counts
# answers that are neither a whole old nor a whole new version.
load() {
	"$PY" - "$@" <<'PY'
import sys, time, dns.message, dns.query, dns.rdatatype
port, name, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
sent = lost = bad = 0
end = time.time() + secs
while time.time() < end and sent < 20000:
    q = dns.message.make_query(name, "TXT")
    sent += 1
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=1)
    except Exception:
        lost += 1
        continue
    cname = [rr for rs in r.answer if rs.rdtype == dns.rdatatype.CNAME for rr in rs]
    txt = [rr for rs in r.answer if rs.rdtype == dns.rdatatype.TXT for rr in rs]
    if len(cname) != 1 or len(txt) != 1:
        bad += 1
        continue
    v = cname[0].target.labels[0].decode()[1:]
    if txt[0].strings[0].decode() != "version " + v:
        bad += 1
    time.sleep(0.002)
print(sent, lost, bad)
PY
}

# nsd_conf DIR LISTEN ZONE=FILE [zone option lines...]: NSD with the key "xfr".
nsd_conf() {
	local d=$1 listen=$2 zone=$3 o args=()
	shift 3
	for o in "$@"; do args+=(--zone-option "${zone%%=*}:$o"); done
	peers nsd-config --dir "$d" --listen "$listen" --zone "$zone" --verbosity 2 \
		--key "xfr:hmac-sha256:$SECRET" "${args[@]}" >/dev/null
}
start_nsd() {
	NSD_PID=$(peers start nsd --dir "$1")
	PEER_PIDS+=($NSD_PID)
}

# Ports and files.
KP=$(free_port)      # Knot primary
NP=$(free_port)      # NSD primary
AP=$(free_port)      # anynsd secondary
KD=$TMP/knot
mkdir -p "$KD" "$TMP/z" "$TMP/kept"
write_zone "$TMP/z/example.test" example.test 1 1
write_zone "$TMP/z/exp.test" exp.test 1 1
write_zone "$TMP/z/m1.test" m1.test 1 1
write_zone "$TMP/z/m2.test" m2.test 1 1
catalog() {
	local s=$1
	shift
	{
		echo "\$ORIGIN catalog.invalid."
		echo "\$TTL 0"
		echo "@ SOA invalid. invalid. $s 2 1 3600 0"
		echo "@ NS invalid."
		echo "version TXT \"2\""
		for m in "$@"; do echo "${m%%.*}.zones PTR $m."; done
	} > "$TMP/z/catalog.invalid"
}
catalog 1 m1.test
write_zone "$TMP/z/full.test" full.test 1 1
knot_conf "$KD" "$KP" "$AP" "$SECRET" example.test="$TMP/z/example.test" \
	exp.test="$TMP/z/exp.test" catalog.invalid="$TMP/z/catalog.invalid" \
	m1.test="$TMP/z/m1.test" m2.test="$TMP/z/m2.test" full.test="$TMP/z/full.test"
start_knot "$KD"
up() { kill -0 "$1" 2>/dev/null && status_is "$2" "${3:-example.test}" SOA NOERROR; }
if ! wait_for 10 up "$KNOT_PID" "$KP"; then
	fail $T:knot-primary-up "$(cat "$KD/knot.log")"
	summary
	exit 1
fi

# anynsd, secondary of Knot (TSIG) for three zones and of NSD for one.
# sec_conf SECRET [CATALOG-ALLOW-QUERY]
sec_conf() {
	local secret=$1 catq=${2:-127.0.0.1}
	cat > "$TMP/sec.yaml" <<YAML
server:
  listen: 127.0.0.1:$AP
  workers: 2
  control: false
  metrics: 127.0.0.1:$SEC_MPORT
  xfr-concurrency: 1        # one transfer at a time: the others queue
keys:
  - id: xfr
    algorithm: hmac-sha256
    secret: "$secret"
remotes:
  - id: knot
    address: 127.0.0.1:$KP
    key: xfr
  - id: nsd
    address: ["127.0.0.1:$(free_port)", "127.0.0.1:$NP"]
    key: xfr
  - id: downstream          # a secondary of the catalog's members
    address: 127.0.0.8
zones:
  - origin: example.test
    primaries: [knot]
    file: $TMP/kept-example.test
  - origin: exp.test
    primaries: [knot]
    expire: 4s
  - origin: catalog.invalid
    primaries: [knot]
    catalog: true
    file: $TMP/kept/catalog.invalid
    allow-query: [ $catq ]          # the members take these two lists
    allow-transfer: [ downstream ]
  - origin: nsd.test
    primaries: [nsd]
    file: $TMP/kept-nsd.test
  - origin: full.test
    primaries: [knot]
YAML
}
SEC_MPORT=$(free_port)
sec_conf "$SECRET"
start_anynsd sec "$TMP/sec.yaml"
SEC_PID=$ANY_PID
SEC_LOG=$ANY_LOG

# ---- Knot primary -> anynsd ------------------------------------------------------
if wait_for 10 answer_is "$AP" www.example.test A 10.0.0.1; then pass $T:knot-axfr
else fail $T:knot-axfr "$(tail -5 "$ANY_LOG")"; fi
check $T:knot-axfr-logged grep -q "xfr: received zone=example.test. type=AXFR serial=1 remote=knot@" "$ANY_LOG"

# anyns-health beside it: SOA serial checked against the primary's (a PoP
# lagging behind its primary is withdrawn); routes go to a log.
HOOK=$BIN/anyns-health
cat > "$TMP/route.sh" <<'SH'
#!/bin/sh
# exported: "is it announced?" (0 yes, 1 no), from the last action logged.
if [ "$ANYNS_ACTION" = exported ]; then
	tail -1 "$(dirname "$0")/routes.log" 2>/dev/null | grep -q "^announce"
	exit
fi
echo "$ANYNS_ACTION $ANYNS_PREFIX" >> "$(dirname "$0")/routes.log"
SH
chmod +x "$TMP/route.sh"
cat > "$TMP/hook.yaml" <<YAML
control-socket: $TMP/hook.sock
backend: { type: exec, command: $TMP/route.sh }
defaults: { interval: 300ms, fast-interval: 100ms, timeout: 300ms, rise: 2, fall: 2, degraded: { prepend: 0 } }
services:
  - name: xfr
    prefix: 203.0.113.99/32
    checks:
      - { server: "127.0.0.1:$AP", qname: example.test, qtype: SOA,
          serial-primary: "127.0.0.1:$KP", serial-lag: fail }
YAML
last_route() { tail -1 "$TMP/routes.log" 2>/dev/null | cut -d' ' -f1; }
route_is() { [ "$(last_route)" = "$1" ]; }
"$HOOK" -c "$TMP/hook.yaml" >>"$TMP/hook.log" 2>&1 &
PIDS+=($!)
if wait_for 10 route_is announce; then pass $T:health-serial-in-sync-announced
else fail $T:health-serial-in-sync-announced "$(tail -3 "$TMP/hook.log")"; fi
check $T:kept-file-written grep -q "10.0.0.1" "$TMP/kept-example.test"

# NOTIFY then IXFR, with queries running: none lost, none half-applied.
load "$AP" v.example.test 4 > "$TMP/load1" &
LOADPID=$!
sleep 1
write_zone "$TMP/z/example.test" example.test 2 2
t0=$(date +%s%N)
knotc -s "$KD/knot.sock" zone-reload example.test >/dev/null
if wait_for 10 answer_is "$AP" www.example.test A 10.0.0.2; then
	t1=$(date +%s%N)
	pass $T:knot-notify-ixfr
	echo "  change served $(( (t1 - t0) / 1000000 )) ms after the primary's reload"
else
	fail $T:knot-notify-ixfr "$(tail -5 "$ANY_LOG")"
fi
check $T:knot-notify-logged grep -q "notify: received zone=example.test. from=127.0.0.1 serial=2$" "$ANY_LOG"
check $T:knot-ixfr-logged grep -q "xfr: received zone=example.test. type=IXFR from-serial=1 serial=2 remote=knot@" "$ANY_LOG"
wait $LOADPID
read -r sent lost bad < "$TMP/load1"
echo "  under load: $sent queries, $lost lost, $bad inconsistent"
if [ "${sent:-0}" -gt 100 ] && [ "$lost" = 0 ] && [ "$bad" = 0 ]; then pass $T:load-during-ixfr
else fail $T:load-during-ixfr "sent ${sent:-?} lost ${lost:-?} bad ${bad:-?}"; fi

# Knot with provide-ixfr: off answers the IXFR with the whole zone, which is taken.
write_zone "$TMP/z/full.test" full.test 2 2
knotc -s "$KD/knot.sock" zone-reload full.test >/dev/null
if wait_for 10 answer_is "$AP" www.full.test A 10.0.0.2; then pass $T:knot-ixfr-off-full-zone
else fail $T:knot-ixfr-off-full-zone "$(grep full.test "$ANY_LOG" | tail -3)"; fi
check $T:knot-ixfr-off-logged grep -q "xfr: received zone=full.test. type=IXFR-full-zone serial=2 remote=knot@" "$ANY_LOG"

# A SIGHUP reload keeps what the secondary zones received.
kill -HUP "$ANY_PID"
if wait_for 5 grep -q "reload: done generation=" "$ANY_LOG" && sleep 0.5 &&
   answer_is "$AP" www.example.test A 10.0.0.2; then pass $T:reload-keeps-transferred
else fail $T:reload-keeps-transferred "$(tail -3 "$ANY_LOG")"; fi

# TSIG on ordinary queries.
KEYOK="hmac-sha256:xfr:$SECRET"
out=$(kdig @127.0.0.1 -p "$AP" -y "$KEYOK" example.test SOA 2>&1)
if echo "$out" | grep -q "status: NOERROR" && echo "$out" | grep -q "TSIG" &&
   ! echo "$out" | grep -q WARNING; then pass $T:tsig-query-signed
else fail $T:tsig-query-signed "$out"; fi
out=$(kdig @127.0.0.1 -p "$AP" -y "hmac-sha256:unknown:$SECRET" example.test SOA 2>&1)
if echo "$out" | grep -q "BADKEY" && ! echo "$out" | grep -q "IN.SOA.*ns1"; then
	pass $T:tsig-unknown-key-badkey
else fail $T:tsig-unknown-key-badkey "$out"; fi
out=$(kdig @127.0.0.1 -p "$AP" -y "hmac-sha256:xfr:$BADSECRET" example.test SOA 2>&1)
if echo "$out" | grep -q "BADSIG"; then pass $T:tsig-wrong-secret-badsig
else fail $T:tsig-wrong-secret-badsig "$out"; fi
out=$(kdig @127.0.0.1 -p "$AP" +tcp -y "$KEYOK" example.test SOA 2>&1)
if echo "$out" | grep -q "status: NOERROR" && ! echo "$out" | grep -q WARNING; then
	pass $T:tsig-query-signed-tcp
else fail $T:tsig-query-signed-tcp "$out"; fi

# Catalog zone: m1 listed at start; add m2, then remove m1.
if wait_for 10 answer_is "$AP" www.m1.test A 10.0.0.1; then pass $T:catalog-member
else fail $T:catalog-member "$(grep -i catalog "$ANY_LOG" | tail -3)"; fi
catalog 2 m1.test m2.test
knotc -s "$KD/knot.sock" zone-reload catalog.invalid >/dev/null
if wait_for 10 answer_is "$AP" www.m2.test A 10.0.0.1; then pass $T:catalog-member-added
else fail $T:catalog-member-added "$(grep -i catalog "$ANY_LOG" | tail -3)"; fi
catalog 3 m2.test
knotc -s "$KD/knot.sock" zone-reload catalog.invalid >/dev/null
if wait_for 10 status_is "$AP" www.m1.test A REFUSED; then pass $T:catalog-member-removed
else fail $T:catalog-member-removed "$(grep -i catalog "$ANY_LOG" | tail -3)"; fi
check $T:catalog-other-member-stays answer_is "$AP" www.m2.test A 10.0.0.1
check $T:catalog-member-kept-file test -s "$TMP/kept/m2.test.zone"
check $T:catalog-removed-member-file-gone test ! -e "$TMP/kept/m1.test.zone"
# A member's NOTIFY is taken like its catalog's.
write_zone "$TMP/z/m2.test" m2.test 2 2
knotc -s "$KD/knot.sock" zone-reload m2.test >/dev/null
if wait_for 10 answer_is "$AP" www.m2.test A 10.0.0.2; then pass $T:catalog-member-ixfr
else fail $T:catalog-member-ixfr "$(grep m2.test "$ANY_LOG" | tail -3)"; fi
# The catalog's allow-query holds for its members: 127.0.0.7 is REFUSED over
# UDP and TCP, also once 127.0.0.1 has put the answer in the cache, while
# 127.0.0.1 keeps being answered (from the cache: the hit counter moves).
# member_acl NAME: "allowed-udp allowed-udp / denied-udp denied-udp /
# allowed-tcp denied-tcp cache-hits" for www.NAME A.
cache_hits() { curl -s "http://127.0.0.1:$SEC_MPORT/metrics" | awk '/^anyns_cache_hits_total / { print $2 }'; }
member_acl() {
	local h0 h1 out
	h0=$(cache_hits)
	out="$(q "$AP" "www.$1" A -b 127.0.0.1) $(q "$AP" "www.$1" A -b 127.0.0.1)"
	out="$out / $(status "$AP" "www.$1" A -b 127.0.0.7) $(status "$AP" "www.$1" A -b 127.0.0.7)"
	out="$out / $(q "$AP" "www.$1" A -b 127.0.0.1 +tcp) $(status "$AP" "www.$1" A -b 127.0.0.7 +tcp)"
	h1=$(cache_hits)
	echo "$out $(( ${h1:-0} - ${h0:-0} > 0 ? 1 : 0 ))"
}
out=$(member_acl m2.test)
if [ "$out" = "10.0.0.2 10.0.0.2 / REFUSED REFUSED / 10.0.0.2 REFUSED 1" ]; then
	pass $T:catalog-member-allow-query
else fail $T:catalog-member-allow-query "got '$out' (want 10.0.0.2 10.0.0.2 / REFUSED REFUSED / 10.0.0.2 REFUSED 1)"; fi
check $T:catalog-member-acl-other-zone-open answer_is "$AP" www.example.test A 10.0.0.2 -b 127.0.0.7
# ...and its allow-transfer: the downstream secondary (127.0.0.8) may AXFR a
# member, another address may not.
axfr_soas() { kdig @127.0.0.1 -p "$AP" -b "$1" +time=2 +retry=0 m2.test AXFR 2>/dev/null | grep -c '	SOA	'; }
a8=$(axfr_soas 127.0.0.8)
a9=$(kdig @127.0.0.1 -p "$AP" -b 127.0.0.9 +time=2 +retry=0 m2.test AXFR 2>&1 | grep -c 'SOA\|REFUSED')
if [ "$a8" = 2 ] && [ "$a9" = 1 ] && kdig @127.0.0.1 -p "$AP" -b 127.0.0.9 +time=2 +retry=0 \
	m2.test AXFR 2>&1 | grep -q REFUSED; then pass $T:catalog-member-allow-transfer
else fail $T:catalog-member-allow-transfer "from the allowed address $a8 SOA records, from another $a9 lines with SOA or REFUSED"; fi
# A reload that changes the catalog's list changes its members' too.
sec_conf "$SECRET" 127.0.0.7
kill -HUP "$ANY_PID"
if wait_for 5 answer_is "$AP" www.m2.test A 10.0.0.2 -b 127.0.0.7 &&
   status_is "$AP" www.m2.test A REFUSED -b 127.0.0.1; then pass $T:catalog-member-acl-reload
else fail $T:catalog-member-acl-reload "$(status "$AP" www.m2.test A -b 127.0.0.7) from 127.0.0.7, $(status "$AP" www.m2.test A -b 127.0.0.1) from 127.0.0.1"; fi
sec_conf "$SECRET"
kill -HUP "$ANY_PID"
wait_for 5 answer_is "$AP" www.m2.test A 10.0.0.2 -b 127.0.0.1

# Primary stopped, zone changed, primary back: the retry timer finds it.
check $T:expire-zone-served answer_is "$AP" www.exp.test A 10.0.0.1
stop_peer "$KNOT_PID"
write_zone "$TMP/z/example.test" example.test 3 3
# Past expire (4 s in the config) the zone answers SERVFAIL.
if wait_for 10 status_is "$AP" www.exp.test A SERVFAIL; then pass $T:expire-servfail
else fail $T:expire-servfail "$(grep exp.test "$ANY_LOG" | tail -3)"; fi
check $T:retry-logged grep -q "xfr: primary-failed zone=exp.test. remote=knot@127.0.0.1:$KP error=\"connect" "$ANY_LOG"
check $T:old-version-while-primary-down answer_is "$AP" www.example.test A 10.0.0.2
start_knot "$KD"
if wait_for 15 answer_is "$AP" www.example.test A 10.0.0.3; then pass $T:primary-back-retry
else fail $T:primary-back-retry "$(tail -5 "$ANY_LOG")"; fi
if wait_for 10 answer_is "$AP" www.exp.test A 10.0.0.1; then pass $T:expired-zone-back
else fail $T:expired-zone-back "$(grep exp.test "$ANY_LOG" | tail -3)"; fi

# ---- NSD primary -> anynsd ------------------------------------------------------
NSDD=$TMP/nsd
write_zone "$TMP/z/nsd.test" nsd.test 1 1
nsd_conf "$NSDD" "127.0.0.1@$NP" nsd.test="$TMP/z/nsd.test" "notify: 127.0.0.1@$AP xfr" \
	"provide-xfr: 127.0.0.1 xfr"
start_nsd "$NSDD"
if wait_for 15 answer_is "$AP" www.nsd.test A 10.0.0.1; then pass $T:nsd-axfr
else fail $T:nsd-axfr "$(grep nsd.test "$ANY_LOG" | tail -3) $(tail -3 "$NSDD/nsd.log")"; fi
check $T:nsd-second-address-tried grep -q "xfr: primary-failed zone=nsd.test. remote=nsd@127.0.0.1:[0-9]* error=\"connect" "$ANY_LOG"
write_zone "$TMP/z/nsd.test" nsd.test 2 2
kill -HUP "$NSD_PID"
if wait_for 10 answer_is "$AP" www.nsd.test A 10.0.0.2; then pass $T:nsd-notify-transfer
else fail $T:nsd-notify-transfer "$(grep nsd.test "$ANY_LOG" | tail -3)"; fi
check $T:nsd-notify-logged grep -q "notify: received zone=nsd.test. from=127.0.0.1 " "$ANY_LOG"
# NSD has no IXFR out: the IXFR is answered with the whole zone, which is taken.
check $T:nsd-ixfr-full-zone grep -q "xfr: received zone=nsd.test. type=IXFR-full-zone serial=2 " "$ANY_LOG"

# ---- a primary that refuses IXFR, SOA over UDP ----------------------------------
# No reference server refuses an IXFR it would transfer (tests/pylib/xfrprimary.py
# says why): a minimal primary does. It answers IXFR for ref.test with REFUSED
# and for nimp.test with NOTIMP, the SOA of tc.test over UDP with TC=1 and
# that of drop.test not at all over UDP; everything signed with the key.
PYP=$(free_port)
AP3=$(free_port)
for z in ref nimp tc drop add lag; do write_zone "$TMP/z/$z.test" $z.test 1 1; done
PYLOG=$TMP/pyprimary.log
start_pyprimary() {
	"$PY" "$ROOT/tests/pylib/xfrprimary.py" --port "$PYP" --key "xfr:hmac-sha256:$SECRET" \
		--zone ref.test="$TMP/z/ref.test" --zone nimp.test="$TMP/z/nimp.test" \
		--zone tc.test="$TMP/z/tc.test" --zone drop.test="$TMP/z/drop.test" \
		--zone add.test="$TMP/z/add.test" --zone lag.test="$TMP/z/lag.test" --ixfr-lag lag.test=2 \
		--ixfr-rcode ref.test=REFUSED --ixfr-rcode nimp.test=NOTIMP \
		--udp-soa tc.test=truncate --udp-soa drop.test=drop --log "$PYLOG" \
		>>"$TMP/pyprimary.err" 2>&1 &
	PY_PID=$!
	PIDS+=($PY_PID)
}
start_pyprimary
# sec3_conf [ZONE:PRIMARY]...: the four zones from the minimal primary, and more.
sec3_conf() {
	local z
	cat > "$TMP/sec3.yaml" <<YAML
server:
  listen: 127.0.0.1:$AP3
  workers: 1
  control: false
keys:
  - id: xfr
    algorithm: hmac-sha256
    secret: "$SECRET"
remotes:
  - id: mini
    address: 127.0.0.1:$PYP
    key: xfr
  - id: nowhere
    address: 127.0.0.1:$DEADP
    key: xfr
zones:
YAML
	for z in "$@"; do echo "  - { origin: ${z%%:*}, primaries: [${z#*:}] }"; done >> "$TMP/sec3.yaml"
}
DEADP=$(free_port)
sec3_conf ref.test:mini nimp.test:mini tc.test:mini drop.test:mini lag.test:mini
wait_for 10 grep -q "primary: started" "$PYLOG"
start_anynsd sec3 "$TMP/sec3.yaml"
SEC3_PID=$ANY_PID
SEC3_LOG=$ANY_LOG
all_at() {
	local z
	for z in ref nimp tc drop lag; do answer_is "$AP3" www.$z.test A "10.0.0.$1" || return 1; done
}
if wait_for 15 all_at 1; then pass $T:mini-axfr
else fail $T:mini-axfr "$(tail -5 "$SEC3_LOG") $(tail -3 "$TMP/pyprimary.err")"; fi
for z in ref nimp tc drop lag; do write_zone "$TMP/z/$z.test" $z.test 2 2; done
kill -HUP "$PY_PID"
# The SOA refresh (2 s) finds serial 2; IXFR first, then AXFR.
if wait_for 15 all_at 2; then pass $T:mini-new-serial-served
else fail $T:mini-new-serial-served "$(tail -8 "$SEC3_LOG")"; fi
pyseq() { grep -o "zone=$1. type=[A-Z]* transport=[a-z]* tsig=[a-z]* answer=[A-Za-z]*" "$PYLOG" |
	sed 's/zone=[^ ]* //'; }
# ixfr_then_axfr Z RCODE: after the SOA check over UDP, an IXFR answered RCODE,
# then an AXFR that was taken.
ixfr_then_axfr() {
	pyseq "$1" | tr '\n' ' ' | grep -q "type=SOA transport=udp tsig=yes answer=soa type=IXFR transport=tcp tsig=yes answer=$2 type=AXFR transport=tcp tsig=yes answer=axfr"
}
check $T:ixfr-refused-then-axfr ixfr_then_axfr ref.test REFUSED
check $T:ixfr-refused-logged grep -q "xfr: fallback zone=ref.test. remote=mini@127.0.0.1:$PYP reason=\"IXFR answered with rcode 5\" next=AXFR" "$SEC3_LOG"
check $T:ixfr-notimp-then-axfr ixfr_then_axfr nimp.test NOTIMP
check $T:ixfr-notimp-logged grep -q "xfr: fallback zone=nimp.test. remote=mini@127.0.0.1:$PYP reason=\"IXFR answered with rcode 4\" next=AXFR" "$SEC3_LOG"
# SOA checks: over UDP, signed, and never over TCP while UDP answers.
if pyseq ref.test | grep -q "type=SOA transport=udp tsig=yes" &&
   ! pyseq ref.test | grep -q "type=SOA transport=tcp"; then pass $T:soa-check-udp-signed
else fail $T:soa-check-udp-signed "$(pyseq ref.test)"; fi
# A truncated UDP answer, or none, brings the same query over TCP.
if pyseq tc.test | tr '\n' ' ' | grep -q "type=SOA transport=udp tsig=yes answer=truncated type=SOA transport=tcp tsig=yes answer=soa"
then pass $T:soa-check-truncated-tcp
else fail $T:soa-check-truncated-tcp "$(pyseq tc.test)"; fi
if pyseq drop.test | tr '\n' ' ' | grep -q "type=SOA transport=udp tsig=yes answer=none type=SOA transport=tcp tsig=yes answer=soa"
then pass $T:soa-check-no-udp-answer-tcp
else fail $T:soa-check-no-udp-answer-tcp "$(pyseq drop.test)"; fi
check $T:mini-all-signed-verified test -z "$(grep "dropped" "$PYLOG")"
# A primary whose IXFR answers the version before (its SOA already says the
# new one) twice: checked again after 1 s each time, not at the next refresh.
if pyseq lag.test | tr '\n' ' ' | grep -q "type=IXFR transport=tcp tsig=yes answer=lagging type=SOA transport=udp tsig=yes answer=soa type=IXFR transport=tcp tsig=yes answer=lagging type=SOA transport=udp tsig=yes answer=soa type=IXFR transport=tcp tsig=yes answer=axfr" &&
   [ "$(grep -c "xfr: primary-lagging zone=lag.test. remote=mini@127.0.0.1:$PYP soa-serial=2 ixfr-serial=1 retry-in=1" "$SEC3_LOG")" = 2 ]
then pass $T:primary-lagging-rechecked
else fail $T:primary-lagging-rechecked "$(pyseq lag.test | tail -6)"; fi
# The zone list changes on SIGHUP with transfers running: a zone added (its
# primary down at first, then another), one removed; the others stay.
sec3_conf ref.test:mini nimp.test:mini tc.test:mini drop.test:mini lag.test:mini add.test:nowhere
kill -HUP "$SEC3_PID"
if wait_for 10 grep -q "xfr: zone-list-applied zones=6 secondaries=6" "$SEC3_LOG"
then pass $T:reload-zone-list-applied
else fail $T:reload-zone-list-applied "$(grep -E "reload|zone-list" "$SEC3_LOG" | tail -3)"; fi
if wait_for 10 grep -q "xfr: primary-failed zone=add.test. remote=nowhere@127.0.0.1:$DEADP " "$SEC3_LOG" &&
   all_at 2; then pass $T:reload-added-zone-tried-others-stay
else fail $T:reload-added-zone-tried-others-stay "$(grep add.test "$SEC3_LOG" | tail -3)"; fi
sec3_conf ref.test:mini tc.test:mini drop.test:mini lag.test:mini add.test:mini
kill -HUP "$SEC3_PID"
if wait_for 10 answer_is "$AP3" www.add.test A 10.0.0.1; then pass $T:reload-new-primary-transfers
else fail $T:reload-new-primary-transfers "$(grep add.test "$SEC3_LOG" | tail -3)"; fi
if wait_for 10 status_is "$AP3" www.nimp.test A REFUSED; then pass $T:reload-removed-zone-gone
else fail $T:reload-removed-zone-gone "$(status "$AP3" www.nimp.test A)"; fi
check $T:reload-others-still-served answer_is "$AP3" www.ref.test A 10.0.0.2
# A change at the primary reaches the zone added by the reload.
write_zone "$TMP/z/add.test" add.test 2 2
kill -HUP "$PY_PID"
if wait_for 10 answer_is "$AP3" www.add.test A 10.0.0.2; then pass $T:reload-added-zone-refreshes
else fail $T:reload-added-zone-refreshes "$(grep add.test "$SEC3_LOG" | tail -3)"; fi
# An anynsd started with no transfer configured at all gets its first
# secondary zone, key and primary by SIGHUP.
AP4=$(free_port)
cat > "$TMP/plain.yaml" <<YAML
server: { listen: 127.0.0.1:$AP4, workers: 1, control: false }
zones:
  - { origin: nsd.test, file: $TMP/z/nsd.test }
YAML
start_anynsd plain "$TMP/plain.yaml"
PLAIN_PID=$ANY_PID
wait_for 10 answer_is "$AP4" www.nsd.test A 10.0.0.2
cat >> "$TMP/plain.yaml" <<YAML
  - { origin: ref.test, primaries: [mini] }
keys: [ { id: xfr, algorithm: hmac-sha256, secret: "$SECRET" } ]
remotes: [ { id: mini, address: 127.0.0.1:$PYP, key: xfr } ]
YAML
kill -HUP "$PLAIN_PID"
if wait_for 10 answer_is "$AP4" www.ref.test A 10.0.0.2 && answer_is "$AP4" www.nsd.test A 10.0.0.2
then pass $T:reload-first-secondary-transfers
else fail $T:reload-first-secondary-transfers "$(tail -5 "$ANY_LOG")"; fi
stop_pid "$PLAIN_PID"
stop_pid "$SEC3_PID"
stop_pid "$PY_PID"
ANY_PID=$SEC_PID
ANY_LOG=$SEC_LOG

# ---- restart of anynsd: the kept file serves at once ----------------------------
stop_pid "$ANY_PID"
stop_peer "$KNOT_PID"
stop_peer "$NSD_PID"
sec_conf "$BADSECRET"
start_anynsd sec2 "$TMP/sec.yaml"
if wait_for 5 answer_is "$AP" www.example.test A 10.0.0.3; then pass $T:restart-serves-kept-file
else fail $T:restart-serves-kept-file "$(tail -5 "$ANY_LOG")"; fi
check $T:restart-kept-file-nsd answer_is "$AP" www.nsd.test A 10.0.0.2
check $T:restart-kept-catalog-member answer_is "$AP" www.m2.test A 10.0.0.2
check $T:restart-kept-member-allow-query status_is "$AP" www.m2.test A REFUSED -b 127.0.0.7
check $T:restart-removed-member-stays-out status_is "$AP" www.m1.test A REFUSED
# Primary down: the hook cannot compare, and the PoP serves: announced.
if wait_for 10 route_is announce; then pass $T:health-primary-down-announced
else fail $T:health-primary-down-announced "$(tail -3 "$TMP/routes.log")"; fi
# With the wrong secret the primary's answers fail TSIG: logged with the
# remote's name, and the version serving stays.
write_zone "$TMP/z/example.test" example.test 4 4
start_knot "$KD"
if wait_for 10 grep -q "xfr: primary-failed zone=example.test. remote=knot@127.0.0.1:$KP error=\"TSIG" "$ANY_LOG"; then
	pass $T:tsig-bad-secret-logged
else fail $T:tsig-bad-secret-logged "$(tail -5 "$ANY_LOG")"; fi
check $T:tsig-bad-secret-keeps-version answer_is "$AP" www.example.test A 10.0.0.3
# The primary has serial 4, the PoP cannot follow: anyns-health withdraws it.
if wait_for 10 route_is withdraw; then pass $T:health-serial-lag-withdrawn
else fail $T:health-serial-lag-withdrawn "$(tail -3 "$TMP/routes.log") $(tail -3 "$TMP/hook.log")"; fi
check $T:tsig-bad-notify-refused grep -q "tsig: refused from=127.0.0.1 key=xfr. error=BADSIG" "$ANY_LOG"
# The right secret by SIGHUP: the PoP takes serial 4 and is announced again.
sec_conf "$SECRET"
kill -HUP "$ANY_PID"
if wait_for 10 answer_is "$AP" www.example.test A 10.0.0.4; then pass $T:reload-key-changed-transfers
else fail $T:reload-key-changed-transfers "$(grep example.test "$ANY_LOG" | tail -3)"; fi
if wait_for 10 route_is announce; then pass $T:health-serial-caught-up-announced
else fail $T:health-serial-caught-up-announced "$(tail -3 "$TMP/routes.log") $(tail -3 "$TMP/hook.log")"; fi
stop_pid "$ANY_PID"
stop_peer "$KNOT_PID"

# ---- anynsd primary -> Knot and NSD secondaries --------------------------------
# Ports taken now: one chosen long before could be some socket's by now.
PP=$(free_port)      # anynsd primary
KS=$(free_port)      # Knot secondary (127.0.0.2)
NS=$(free_port)      # NSD secondary (127.0.0.3)
write_zone "$TMP/z/prim.test" prim.test 1 1
cat > "$TMP/prim.yaml" <<YAML
server:
  listen: 127.0.0.1:$PP
  workers: 2
  control: false
keys:
  - id: xfr
    algorithm: hmac-sha256
    secret: "$SECRET"
remotes:
  - id: knot-sec
    address: 127.0.0.2:$KS
    key: xfr
  - id: nsd-sec
    address: 127.0.0.3:$NS
    key: xfr
zones:
  - origin: prim.test
    file: $TMP/z/prim.test
    notify: [knot-sec, nsd-sec]
    allow-transfer: [knot-sec, nsd-sec]
YAML
start_anynsd prim "$TMP/prim.yaml"
PRIM_PID=$ANY_PID
PRIM_LOG=$ANY_LOG
wait_for 10 up "$PRIM_PID" "$PP" prim.test
KSD=$TMP/knot-sec
mkdir -p "$KSD"
peers knot-config --dir "$KSD" --listen "127.0.0.2@$KS" --verbosity 1 \
	--zone prim.test="$KSD/prim.test.zone" --key "xfr:hmac-sha256:$SECRET" \
	--remote "anynsd=127.0.0.1@$PP,via=127.0.0.2,key=xfr" --acl "notify=notify,key=xfr" \
	--template-option "journal-content: changes" --template-option "zonefile-sync: 0" \
	--zone-option "prim.test:master: anynsd" \
	--zone-option "prim.test:acl: notify" >/dev/null
KS_PID=$(peers start knot --dir "$KSD")
PEER_PIDS+=($KS_PID)
NSS=$TMP/nsd-sec
nsd_conf "$NSS" "127.0.0.3@$NS" prim.test="$NSS/prim.test.zone" "outgoing-interface: 127.0.0.3" \
	"allow-notify: 127.0.0.1 xfr" "request-xfr: 127.0.0.1@$PP xfr"
start_nsd "$NSS"
ks_is() { [ "$(kdig @127.0.0.2 -p "$KS" +time=1 +retry=0 +short "$1" A 2>/dev/null)" = "$2" ]; }
ns_is() { [ "$(kdig @127.0.0.3 -p "$NS" +time=1 +retry=0 +short "$1" A 2>/dev/null)" = "$2" ]; }
if wait_for 15 ks_is www.prim.test 10.0.0.1; then pass $T:primary-axfr-to-knot
else fail $T:primary-axfr-to-knot "$(tail -3 "$KSD/knot.log")"; fi
if wait_for 15 ns_is www.prim.test 10.0.0.1; then pass $T:primary-axfr-to-nsd
else fail $T:primary-axfr-to-nsd "$(tail -3 "$NSS/nsd.log")"; fi
write_zone "$TMP/z/prim.test" prim.test 2 2
kill -HUP "$PRIM_PID"
if wait_for 10 ks_is www.prim.test 10.0.0.2; then pass $T:primary-reload-ixfr-knot
else fail $T:primary-reload-ixfr-knot "$(tail -3 "$KSD/knot.log")"; fi
if wait_for 10 ns_is www.prim.test 10.0.0.2; then pass $T:primary-reload-nsd
else fail $T:primary-reload-nsd "$(tail -3 "$NSS/nsd.log")"; fi
check $T:primary-knot-took-ixfr grep -q "IXFR, incoming, remote 127.0.0.1@$PP, finished" "$KSD/knot.log"
check $T:primary-ixfr-logged grep -q "xfr: sent type=IXFR zone=prim.test. serial=2 to=127.0.0.2 kind=ixfr " "$PRIM_LOG"
check $T:primary-notify-knot grep -q "notify, incoming, remote 127.0.0.1@.*serial 2" "$KSD/knot.log"
check $T:primary-notify-acked grep -q "notify: acknowledged zone=prim.test. serial=2 to=nsd-sec@" "$PRIM_LOG"
out=$(kdig @127.0.0.1 -p "$PP" -b 127.0.0.5 prim.test AXFR 2>&1)
if echo "$out" | grep -q REFUSED; then pass $T:primary-refuses-other-address
else fail $T:primary-refuses-other-address "$out"; fi
out=$(kdig @127.0.0.1 -p "$PP" -b 127.0.0.2 prim.test AXFR 2>&1)
if echo "$out" | grep -q REFUSED; then pass $T:primary-refuses-unsigned
else fail $T:primary-refuses-unsigned "$out"; fi
out=$(kdig @127.0.0.1 -p "$PP" -b 127.0.0.2 -y "$KEYOK" prim.test AXFR 2>&1)
if echo "$out" | grep -q "10.0.0.2" && ! echo "$out" | grep -q WARNING; then
	pass $T:primary-signed-axfr
else fail $T:primary-signed-axfr "$out"; fi
out=$(kdig @127.0.0.1 -p "$PP" prim.test AXFR 2>&1)
if echo "$out" | grep -q REFUSED; then pass $T:primary-axfr-udp-not-served
else fail $T:primary-axfr-udp-not-served "$out"; fi

# ---- the history for IXFR out survives a restart of the primary ---------------
# soas SERIAL: SOA records in the answer to an IXFR from SERIAL (4 for one
# change, 6 for two; 2 when answered with the whole zone).
soas() {
	kdig @127.0.0.1 -p "$PP" -b 127.0.0.2 -y "$KEYOK" +time=2 +retry=0 prim.test "IXFR=$1" \
		2>/dev/null | grep -c "IN[[:space:]]*SOA"
}
soas_are() { [ "$(soas "$1")" = "$2" ]; }
JOURNAL=$TMP/z/prim.test.journal
check $T:journal-written test -s "$JOURNAL"
stop_pid "$PRIM_PID"
start_anynsd prim2 "$TMP/prim.yaml"
PRIM_PID=$ANY_PID
if wait_for 10 soas_are 1 4; then pass $T:journal-restart-ixfr-diff
else fail $T:journal-restart-ixfr-diff "$(soas 1) SOA records; $(grep journal "$ANY_LOG")"; fi
check $T:journal-restart-loaded grep -q "xfr: journal-loaded zone=prim.test. file=$JOURNAL serial=2 changes=1" "$ANY_LOG"
# Both restarted, the zone changed meanwhile: the secondary (serial 2 in its
# file) resumes with IXFR 2 -> 3, from the journal's version 2.
stop_pid "$PRIM_PID"
stop_peer "$KS_PID"
write_zone "$TMP/z/prim.test" prim.test 3 3
start_anynsd prim3 "$TMP/prim.yaml"
PRIM_PID=$ANY_PID
KS_PID=$(peers start knot --dir "$KSD")
PEER_PIDS+=($KS_PID)
knot_ixfrs() { grep -c "IXFR, incoming, remote 127.0.0.1@$PP, finished" "$KSD/knot.log"; }
if wait_for 15 ks_is www.prim.test 10.0.0.3 && [ "$(knot_ixfrs)" = 2 ]; then
	pass $T:journal-secondary-resumes-ixfr
else fail $T:journal-secondary-resumes-ixfr "$(knot_ixfrs) IXFRs; $(tail -5 "$KSD/knot.log")"; fi
check $T:journal-ixfr-logged grep -q "xfr: sent type=IXFR zone=prim.test. serial=3 to=127.0.0.2 kind=ixfr " "$ANY_LOG"
if soas_are 1 6; then pass $T:journal-two-changes
else fail $T:journal-two-changes "$(soas 1) SOA records"; fi
# A damaged journal is refused whole: logged, the IXFR gets the whole zone.
stop_pid "$PRIM_PID"
"$PY" - "$JOURNAL" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
start_anynsd prim4 "$TMP/prim.yaml"
PRIM_PID=$ANY_PID
if wait_for 10 grep -q "xfr: journal-ignored zone=prim.test. file=$JOURNAL reason=\"damaged" "$ANY_LOG"
then pass $T:journal-damaged-refused
else fail $T:journal-damaged-refused "$(grep journal "$ANY_LOG")"; fi
if wait_for 10 soas_are 1 2; then pass $T:journal-damaged-full-zone
else fail $T:journal-damaged-full-zone "$(soas 1) SOA records"; fi
check $T:journal-damaged-still-serves answer_is "$PP" www.prim.test A 10.0.0.3
stop_pid "$PRIM_PID"

# A one-record IXFR into a large zone, applied incrementally.
source "$HERE/ixfr_big.sh"

# Sanitizer reports in any anynsd log fail the suite.
if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TMP"/*.log 2>/dev/null; then
	fail $T:sanitizers "$(grep -h -A10 -E "Sanitizer|runtime error:" "$TMP"/*.log | head -30)"
else
	pass $T:sanitizers
fi
summary
