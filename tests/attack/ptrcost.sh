#!/usr/bin/env bash
# Compression-pointer chains cost about what a plain query does. anynsd runs
# under callgrind (instruction counts, not time: the machine is shared) with
# one worker and no answer cache, so that a plain query pays the full parse
# and answer; COUNT queries of each shape go over UDP (4 KB) and over one TCP
# connection (64 KB each), and the instructions the worker spent per query on
# each transport (udp_round, conn_on_read, inclusive) must stay within twice
# those of a plain query. Shapes: tests/attack/ptrchain.py.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
COUNT=${PTRCOST_COUNT:-50}
test_setup ptrcost

if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	plan 1
	skip $T:ptrchain-cost "valgrind (callgrind) is not installed"
	summary
	exit 0
fi
printf '$TTL 300\n@ IN SOA ns1 h 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n' \
	> "$TMP/cost.test.zone"
PORT=$(free_port)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.out" \
	"$BIN/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$PORT" --zone "cost.test=$TMP/cost.test.zone" \
	--workers 1 --answer-cache 0 >"$TMP/vg.log" 2>&1 &
DPID=$!
up=0
for _ in $(seq 1 150); do
	if kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 www.cost.test A 2>/dev/null | grep -q "status: NOERROR"; then
		up=1; break
	fi
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.2
done
if [ "$up" = 0 ]; then
	plan 1
	fail $T:ptrchain-cost "anynsd under callgrind did not answer within 30 s"
	tail -5 "$TMP/vg.log"
	summary
	exit 1
fi
callgrind_control -i on "$DPID" >/dev/null 2>&1
# Two shapes against the plain query, in two functions, and the rcodes.
plan $((2 * 2 + 1))
ok=1
for shape in plain an ar; do
	if ! timeout 120 /usr/bin/python3 "$HERE/ptrchain.py" "$PORT" "$shape" "$COUNT" www.cost.test; then
		fail $T:ptrchain-$shape-rcode "answers to the $shape shape"
		ok=0
	fi
	callgrind_control -d "$shape" "$DPID" >/dev/null 2>&1
done
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=

# cost FILE FUNCTION: inclusive instructions of FUNCTION per query.
cost() {
	callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
		awk -v fn="$2" -v n="$COUNT" '$0 ~ (":" fn " \\[") { gsub(",", "", $1); print int($1 / n); exit }'
}
dump() { grep -l "^desc: Trigger: dump $1\$" "$TMP"/cg.out.* | head -1; }
P=$(dump plain)
for fn in udp_round conn_on_read; do
	base=$(cost "$P" "$fn")
	for shape in an ar; do
		c=$(cost "$(dump "$shape")" "$fn")
		echo "$fn: plain ${base:-?} instructions per query, $shape ${c:-?}"
		if [ -n "$base" ] && [ -n "$c" ] && [ "$base" -gt 0 ] && [ "$c" -le $((2 * base)) ]; then
			pass "$T:ptrchain-cost-$shape-$fn"
		else
			fail "$T:ptrchain-cost-$shape-$fn" "$c instructions per query against ${base} for a plain one"
		fi
	done
done
[ "$ok" = 1 ] && pass $T:ptrchain-rcodes
summary
