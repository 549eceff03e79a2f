#!/usr/bin/env bash
# Runs every test suite: builds with gcc and clang (warnings are errors), runs the
# unit tests under gcc and again under AddressSanitizer+UndefinedBehaviorSanitizer,
# then the functional, differential, XDP and lab suites against the real daemons.
# Ends with one line "N passed, N failed, N skipped" and exits non-zero on any failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export ANYNS_RESULTS=$(mktemp /tmp/anyns-results.XXXXXX)
export ROOT
JOBS=${JOBS:-$(nproc)}
source tests/lib.sh

step() { echo; echo "=== $*"; }

step "build (gcc)"
if make -j"$JOBS" --no-print-directory all; then pass build-gcc; else fail build-gcc; fi
step "build (clang)"
if make -j"$JOBS" --no-print-directory B=build/clang CC=clang all; then pass build-clang; else fail build-clang; fi
step "build (gcc, ASan+UBSan)"
SANF="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if make -j"$JOBS" --no-print-directory B=build/asan OPT=-O1 SAN="$SANF" all; then pass build-asan; else fail build-asan; fi

run_units() {
	local dir=$1 label=$2 t out
	for t in "$dir"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o|*.d) continue;; esac
		out=$(ASAN_OPTIONS=detect_leaks=1 "$t" 2>&1); rc=$?
		echo "$out" | grep -E '^\[ *(PASSED|FAILED|  ERROR) *\]|^\[  FAILED  \]' || true
		if [ $rc -eq 0 ]; then pass "$label:$(basename "$t")"; else echo "$out" | tail -40; fail "$label:$(basename "$t")"; fi
	done
}
step "unit tests (gcc)"
run_units build unit
step "unit tests (ASan+UBSan)"
run_units build/asan unit-asan

# The cache-key parser (acache_key_from_query) must agree with the full query
# parser on random and mutated queries; engine-bench -D exits 1 on any disagreement.
step "engine self-check (key parser vs full parser)"
for b in build build/asan; do
	if "$b/tests/perf/engine-bench" -D /dev/null -R 100000; then pass "engine-keycheck:$b"; else fail "engine-keycheck:$b"; fi
done

for suite in func metrics diff dnssec xfr attack rrl xdp lab hook; do
	if [ -x "tests/$suite/run.sh" ]; then
		step "suite $suite"
		B=build bash "tests/$suite/run.sh" || true
	fi
done

echo
p=$(grep -c '^PASS' "$ANYNS_RESULTS"); f=$(grep -c '^FAIL' "$ANYNS_RESULTS"); s=$(grep -c '^SKIP' "$ANYNS_RESULTS")
if [ "$f" -gt 0 ]; then echo "failed:"; grep '^FAIL' "$ANYNS_RESULTS" | sed 's/^FAIL /  /'; fi
echo "$p passed, $f failed, $s skipped"
rm -f "$ANYNS_RESULTS"
[ "$f" -eq 0 ]
