#!/usr/bin/env bash
# Instructions per query of the answer engine under callgrind (README.md here):
# the built-in example.com mix, and a bench/gen_zone.py zone with its query mix,
# each for answer_build() and for the cache hit path.
#   tests/perf/run.sh [N]        N queries per run (default 20000)
#   B=build/clang tests/perf/run.sh
#   BENCH=/path/to/old/engine-bench EXAMPLE_ZONE=/path/to/example.com.zone tests/perf/run.sh
#                                (compare builds on the same zone)
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
