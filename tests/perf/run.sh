#!/usr/bin/env bash
# Instructions per query of the answer engine under callgrind (README.md here):
# the built-in example.com mix, and a bench/gen_zone.py zone with its query mix,
# each for answer_build() and for the cache hit path.
#   tests/perf/run.sh [N]        N queries per run (default 20000)
#   B=build/clang tests/perf/run.sh
#   BENCH=/path/to/old/engine-bench EXAMPLE_ZONE=/path/to/example.com.zone tests/perf/run.sh
#                                (compare builds on the same zone)
#   MISSES=1 tests/perf/run.sh   also L1 and last-level read misses per query of the
#                                flood and hit paths on a 100k-record gen_zone.py zone
#                                (callgrind's cache model, warm from the start; LL=SIZE
#                                in bytes sets its last level, default 1 MiB)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
N=${1:-20000}
BENCH=${BENCH:-$ROOT/$B/tests/perf/engine-bench}
EXZ=${EXAMPLE_ZONE:-zones/example.com.zone}
[ -x "$BENCH" ] || { echo "SKIP: $BENCH not built (make $B/tests/perf/engine-bench)"; exit 0; }
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 0; }
TMP=$(mktemp -d /tmp/anyns-perf.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"
/usr/bin/python3 bench/gen_zone.py --records 20000 --origin bench.example \
	--zone "$TMP/bench.zone" --queries "$TMP/bench.q" --nq 20000 >/dev/null

ir_per_query() {   # label, bench args...
	local label=$1; shift
	valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.out" \
		"$BENCH" -n "$N" "$@" >/dev/null 2>"$TMP/vg.log" || { echo "$label: failed"; cat "$TMP/vg.log"; return 1; }
	local ir
	ir=$(awk '/^totals:/ { print $2 }' "$TMP/cg.out")
	printf '%-28s %8.0f instructions/query\n' "$label" "$(echo "$ir / $N" | bc -l)"
}
ir_per_query "example.com build" -z example.com="$EXZ" -m build
ir_per_query "example.com hit" -z example.com="$EXZ" -m hit
ir_per_query "gen_zone 20k build" -z bench.example="$TMP/bench.zone" -q "$TMP/bench.q" -m build
ir_per_query "gen_zone 20k hit" -z bench.example="$TMP/bench.zone" -q "$TMP/bench.q" -m hit
ir_per_query "example.com flood" -z example.com="$EXZ" -m flood

# misses_per_query LABEL MODE: the measured loop's calls only (--toggle-collect),
# the caches simulated from the start (so they are warm when the loop begins); the
# difference of an N and a 6N run, divided by 5N, leaves out what does not grow
# with the loop (the zone load, the mix filling the cache).
misses_per_query() {
	local label=$1 mode=$2 n t
	for n in "$N" $((6 * N)); do
		valgrind --tool=callgrind --cache-sim=yes --collect-atstart=no \
			--toggle-collect=acache_lookup --toggle-collect=answer_negative \
			--toggle-collect=acache_store --toggle-collect=answer_build \
			--LL="${LL:-1048576},16,64" --callgrind-out-file="$TMP/cm.$n" \
			"$BENCH" -m "$mode" -n "$n" -z bench.example="$TMP/big.zone" -q "$TMP/big.q" \
			>/dev/null 2>"$TMP/vg.log" || { echo "$label: failed"; cat "$TMP/vg.log"; return 1; }
	done
	/usr/bin/python3 - "$label" "$((5 * N))" "$TMP/cm.$N" "$TMP/cm.$((6 * N))" <<'PY'
import sys
def totals(f):
    ev = tot = None
    for line in open(f):
        if line.startswith("events:"):
            ev = line.split()[1:]
        elif line.startswith("totals:"):
            tot = [int(x) for x in line.split()[1:]]
    return dict(zip(ev, tot))
a, b, n = totals(sys.argv[3]), totals(sys.argv[4]), int(sys.argv[2])
d = {k: (b[k] - a[k]) / n for k in a}
print("%-28s %8.0f instructions/query, %.2f L1 read misses, %.2f LL read misses"
      % (sys.argv[1], d["Ir"], d["D1mr"], d["DLmr"]))
PY
}
if [ "${MISSES:-0}" = 1 ]; then
	/usr/bin/python3 bench/gen_zone.py --records 100000 --origin bench.example \
		--zone "$TMP/big.zone" --queries "$TMP/big.q" --nq 100000 >/dev/null
	misses_per_query "gen_zone 100k flood" flood
	misses_per_query "gen_zone 100k hit" hit
fi
