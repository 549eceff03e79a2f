#!/usr/bin/env bash
# Random-subdomain flood: every query a new name that does not exist. anynsd
# (one worker, an answer cache of 65536 entries: a 4 MiB ring) is warmed on
# the zone's names, then dnsperf asks 20 000 and then 40 000 more random
# names (bounded in rate and time). Checked: the answers are NXDOMAIN, the
# worker's resident memory grows by less than 1 MiB over the whole flood
# (storing each one-off answer would fill the ring: ~4 MiB), and the names
# in use are still answered from the cache afterwards. Then the same over
# TCP (dnsperf -m tcp, many queries per connection; the loop shares the
# worker's cache): 20 000 new names are NXDOMAIN and leave the resident
# memory flat (stored, they would take ~2.5 MiB of the ring), while 300
# names asked a second time are stored and hit on the third ask.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
test_setup flood

if ! command -v dnsperf >/dev/null || ! command -v kdig >/dev/null; then
	plan 1
	skip $T:flood "dnsperf or kdig is not installed (make deps)"
	summary
	exit 0
fi
plan 7
{
	printf '$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\n'
	for i in $(seq 1 200); do printf 'h%d A 192.0.2.%d\n' "$i" $((i % 250 + 1)); done
} >"$TMP/flood.test.zone"
for i in $(seq 1 200); do echo "h$i.flood.test A"; done >"$TMP/hot.q"
/usr/bin/python3 - "$TMP" <<'EOF'
import random, sys
rnd = random.Random(2024)
chars = "abcdefghijklmnopqrstuvwxyz0123456789"
for name, n in (("flood1.q", 20000), ("flood2.q", 40000), ("tcp.q", 20000), ("again.q", 300)):
    with open("%s/%s" % (sys.argv[1], name), "w") as f:
        for _ in range(n):
            f.write("%s.flood.test A\n" % "".join(rnd.choice(chars) for _ in range(12)))
EOF
PORT=$(free_port)
"$BIN/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$PORT" --zone "flood.test=$TMP/flood.test.zone" \
	--workers 1 --answer-cache 65536 >"$TMP/anynsd.log" 2>&1 &
DPID=$!
# Up to 30 s by the clock (not a count of tries: on a loaded machine each try
# and the start itself take longer), or until anynsd exits.
up=0
flood_started() {
	kdig @127.0.0.1 -p "$PORT" +time=1 +retry=0 h1.flood.test A 2>/dev/null | grep -q "status: NOERROR" && { up=1; return 0; }
	! kill -0 "$DPID" 2>/dev/null
}
wait_for 30 flood_started || true
if [ "$up" = 0 ]; then
	fail $T:flood-nxdomain "anynsd did not start"
	fail $T:flood-memory "anynsd did not start"
	fail $T:flood-hot-cached "anynsd did not start"
	fail $T:flood-alive "anynsd did not start"
	fail $T:flood-tcp-nxdomain "anynsd did not start"
	fail $T:flood-tcp-memory "anynsd did not start"
	fail $T:flood-tcp-repeat-cached "anynsd did not start"
	tail -5 "$TMP/anynsd.log"
	summary
	exit 1
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
# perf FILE [ARGS]: dnsperf over the file once, at most 20k qps and 20 s.
perf() { local f=$1; shift; dnsperf -s 127.0.0.1 -p "$PORT" -d "$f" -n 1 -Q 20000 -l 20 -t 2 -c 1 "$@" 2>&1; }
# rcodes FILE...: "NXDOMAIN-count other-count" of dnsperf outputs.
rcodes() {
	awk '/Response codes:/ { for (i = 3; i < NF; i += 3) if ($i == "NXDOMAIN") nx += $(i + 1); else o += $(i + 1) }
	     END { print nx + 0, o + 0 }' "$@"
}
# hits: the cache-hits counter of a fresh SIGUSR1 line.
hits() {
	local n
	n=$(grep -c "stats: counters reason=SIGUSR1" "$TMP/anynsd.log")
	kill -USR1 "$DPID"
	for _ in $(seq 1 50); do
		[ "$(grep -c "stats: counters reason=SIGUSR1" "$TMP/anynsd.log")" -gt "$n" ] && break
		sleep 0.1
	done
	grep "stats: counters reason=SIGUSR1" "$TMP/anynsd.log" | tail -1 | sed -n 's/.*cache-hits=\([0-9]*\).*/\1/p'
}

perf "$TMP/hot.q" >/dev/null
perf "$TMP/hot.q" >/dev/null
rss0=$(rss_kib)
perf "$TMP/flood1.q" >"$TMP/flood1.out"
rss1=$(rss_kib)
perf "$TMP/flood2.q" >"$TMP/flood2.out"
rss2=$(rss_kib)
echo "flood: VmRSS ${rss0} KiB after the warm-up, ${rss1} KiB after 20000 names, ${rss2} KiB after 60000"

# NXDOMAIN for (nearly) every flood query answered; dnsperf counts losses apart.
read -r nx other < <(rcodes "$TMP/flood1.out" "$TMP/flood2.out")
if [ "$nx" -ge 54000 ] && [ "$other" = 0 ]; then
	pass $T:flood-nxdomain
else
	fail $T:flood-nxdomain "NXDOMAIN $nx of 60000, other rcodes $other"
	grep -h -A3 "Queries sent" "$TMP/flood1.out" "$TMP/flood2.out"
fi
if [ -n "$rss0" ] && [ -n "$rss2" ] && [ $((rss2 - rss0)) -lt 1024 ]; then
	pass $T:flood-memory
else
	fail $T:flood-memory "VmRSS grew from ${rss0:-?} to ${rss2:-?} KiB over 60000 one-off names"
fi
h0=$(hits)
perf "$TMP/hot.q" >/dev/null
h1=$(hits)
if [ -n "$h0" ] && [ -n "$h1" ] && [ $((h1 - h0)) -ge 190 ]; then
	pass $T:flood-hot-cached
else
	fail $T:flood-hot-cached "cache hits ${h0:-?} -> ${h1:-?} over the 200 names in use"
fi
if kill -0 "$DPID" 2>/dev/null; then pass $T:flood-alive; else fail $T:flood-alive "anynsd exited"; fi

# Over TCP: 4 connections, each carrying its share of the names (dnsperf
# pipelines up to -q queries on a connection).
rss3=$(rss_kib)
perf "$TMP/tcp.q" -m tcp -c 4 >"$TMP/tcp.out"
rss4=$(rss_kib)
echo "flood over TCP: VmRSS ${rss3} KiB before 20000 names, ${rss4} KiB after"
read -r nx other < <(rcodes "$TMP/tcp.out")
if [ "$nx" -ge 18000 ] && [ "$other" = 0 ]; then
	pass $T:flood-tcp-nxdomain
else
	fail $T:flood-tcp-nxdomain "NXDOMAIN $nx of 20000, other rcodes $other"
	grep -h -A3 "Queries sent" "$TMP/tcp.out"
fi
if [ -n "$rss3" ] && [ -n "$rss4" ] && [ $((rss4 - rss3)) -lt 1024 ]; then
	pass $T:flood-tcp-memory
else
	fail $T:flood-tcp-memory "VmRSS grew from ${rss3:-?} to ${rss4:-?} KiB over 20000 one-off names over TCP"
fi
# A name that does not exist, asked again, is worth keeping: the second
# ask stores it, the third is a hit.
perf "$TMP/again.q" -m tcp >/dev/null
perf "$TMP/again.q" -m tcp >/dev/null
h2=$(hits)
perf "$TMP/again.q" -m tcp >"$TMP/again.out"
h3=$(hits)
read -r nx other < <(rcodes "$TMP/again.out")
if [ -n "$h2" ] && [ -n "$h3" ] && [ $((h3 - h2)) -ge 290 ] && [ "$nx" = 300 ]; then
	pass $T:flood-tcp-repeat-cached
else
	fail $T:flood-tcp-repeat-cached "cache hits ${h2:-?} -> ${h3:-?}, NXDOMAIN $nx of 300, over 300 names asked a third time"
fi
summary
