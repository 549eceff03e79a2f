#!/usr/bin/env bash
# Runs every test suite: builds with gcc and clang (warnings are errors), runs the
# unit tests under gcc and again under AddressSanitizer+UndefinedBehaviorSanitizer,
# then the suites against the real daemons (functional, metrics, differential,
# DNSSEC, transfers, attacks, XDP, lab, hook, the Docker images and compose lab; a short
# libFuzzer pass), then the quick mutants
# (MUTATE=0 leaves them out).
#
# Every result is PASS, FAIL or SKIP, one per check, including each cmocka test.
# A suite's run is itself checked: it must reach its summary, exit 0 unless it
# recorded a failure, and produce exactly the results it planned (tests/lib.sh
# `plan`; a unit binary's plan is its test count). As root (CI; ANYNS_CI=1) a
# skip that only a machine without root may take is a failure.
#
# The closing lines count by kind: checks of anyns itself, the same checks
# repeated (sanitizer build, threaded UDP), checks of the reference servers,
# checks of the test harness, builds; the last line counts everything.
# Exits non-zero on any failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN=$(mktemp -d /tmp/anyns-run.XXXXXX)
trap 'rm -rf "$RUN"' EXIT
export ANYNS_RESULTS=$RUN/all
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

# run_unit BINARY LABEL: one result per cmocka test (TAP output); the binary's
# own count is its plan, so a crash part way is a failure.
run_unit() {
	local t=$1 label=$2 name rc out
	name=$label:$(basename "$t")
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1 "$t" 2>&1); rc=$?
	local planned=0 got=0 failed=0 line tname
	while IFS= read -r line; do
		case $line in
		1..*) planned=${line#1..} ;;
		"ok "*) got=$((got+1)); tname=${line#ok * - }; pass "$name:$tname" ;;
		"not ok "*"# SKIP "*)
			got=$((got+1)); tname=${line##*# SKIP }
			# Every skip inside the unit tests is a root-only one.
			skip_root "$name:$tname" "skipped by the test (needs root)" ;;
		"not ok 0 "*) failed=1; fail "$name" "${line#not ok 0 - }" ;;
		"not ok "*) got=$((got+1)); failed=1; tname=${line#not ok * - }; fail "$name:$tname" ;;
		esac
	done <<< "$out"
	if [ "$got" -ne "$planned" ] || [ "$planned" -eq 0 ] || { [ $rc -ne 0 ] && [ $failed = 0 ]; }; then
		fail "$name" "exit status $rc, $got results of $planned tests"
		failed=1
	fi
	[ $failed = 1 ] && echo "$out" | tail -40
}
run_units() {
	local dir=$1 label=$2 t
	for t in "$dir"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o|*.d) continue;; esac
		run_unit "$t" "$label"
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

# run_suite NAME CMD...: runs a suite with its own results file, then checks the
# run itself: every process that declared a plan reached its summary, the
# results match the plans, the exit status matches the failures.
run_suite() {
	local s=$1 rc planned got fails unfinished
	shift
	step "suite $s"
	local f=$RUN/suite-$s
	: > "$f"
	ANYNS_RESULTS=$f B=build "$@"; rc=$?
	planned=$(awk '$1 == "PLAN" { n += $2 } END { print n + 0 }' "$f")
	got=$(grep -c -E '^(PASS|FAIL|SKIP) ' "$f")
	fails=$(grep -c '^FAIL ' "$f")
	# Processes (the suite, a second run of it) that planned and never finished.
	unfinished=$(awk '$1 == "PLAN" { p[$3] = 1 } $1 == "DONE" { d[$2] = 1 }
		END { for (k in p) if (!(k in d)) n++; print n + 0 }' "$f")
	grep -E '^(PASS|FAIL|SKIP) ' "$f" >> "$ANYNS_RESULTS"
	if ! grep -q '^DONE ' "$f" || [ "$unfinished" -gt 0 ]; then
		fail "suite:$s" "stopped before its summary (exit status $rc, $got results)"
	elif ! grep -q '^PLAN ' "$f" && grep -q -E '^(PASS|FAIL) ' "$f"; then
		# Without a plan a suite may only skip as a whole.
		fail "suite:$s" "declares no plan (tests/lib.sh plan)"
	elif grep -q '^PLAN ' "$f" && [ "$got" -ne "$planned" ]; then
		fail "suite:$s" "$got results for $planned planned (a check added or lost: the suite's plan must count it)"
	elif [ $rc -ne 0 ] && [ "$fails" -eq 0 ]; then
		fail "suite:$s" "exit status $rc with no failure recorded"
	elif [ $rc -eq 0 ] && [ "$fails" -gt 0 ]; then
		fail "suite:$s" "exit status 0 after $fails failures"
	fi
}
SUITES="func ctl systemd metrics fuzz diff dnssec xfr attack rrl xdp lab hook docker"
for suite in $SUITES; do
	if [ -f "tests/$suite/run.sh" ]; then
		run_suite "$suite" bash "tests/$suite/run.sh"
	else
		fail "suite:$suite" "tests/$suite/run.sh is missing"
	fi
done
# A suite folder that is not in the list would never run: say so.
for f in tests/*/run.sh; do
	s=${f#tests/}; s=${s%/run.sh}
	case " $SUITES mutate perf " in *" $s "*) ;; *) fail "suite:$s" "$f is not in run-all.sh's list";; esac
done
if [ "${MUTATE:-1}" != 0 ] && [ -f tests/mutate/run.sh ]; then
	run_suite mutate bash tests/mutate/run.sh --quick
fi

# kind of each result, from its name: the first pattern that matches.
classify() {
	awk '
	function kind(n) {
		if (n ~ /^build-/) return "builds"
		if (n ~ /^(unit-asan|func-threads):/ || n ~ /^diff:anynsd-asan:/ || n == "engine-keycheck:build/asan") return "repeats"
		if (n ~ /^diff:(knot|nsd)[-:]/ || n ~ /^diff:(nsd-checkzone|kzonecheck):/) return "references"
		if (n ~ /^(suite|mutant|mutate):/ || n == "diff:selftest" || n ~ /^diff:compare/) return "harness"
		return "anyns"
	}
	$1 ~ /^(PASS|FAIL|SKIP)$/ { k = kind($2); c[k, $1]++; c["all", $1]++ }
	function line(k, what) {
		printf "%-64s %d passed, %d failed, %d skipped\n", what ":", c[k, "PASS"], c[k, "FAIL"], c[k, "SKIP"]
	}
	END {
		line("anyns", "checks of anyns (anynsd, anyns-health, checkzone, XDP)")
		line("repeats", "the same checks repeated (ASan+UBSan build, --udp-io threads)")
		line("references", "checks of the reference servers (Knot vs NSD, zone checkers)")
		line("harness", "checks of the test harness (suite runs, comparer, mutants)")
		line("builds", "builds (gcc, clang, ASan+UBSan)")
		printf "all results: %d passed, %d failed, %d skipped\n", c["all", "PASS"], c["all", "FAIL"], c["all", "SKIP"]
	}' "$1"
}

echo
f=$(grep -c '^FAIL ' "$ANYNS_RESULTS")
if [ "$f" -gt 0 ]; then echo "failed:"; grep '^FAIL ' "$ANYNS_RESULTS" | sed 's/^FAIL /  /'; fi
if grep -q '^SKIP ' "$ANYNS_RESULTS"; then echo "skipped:"; grep '^SKIP ' "$ANYNS_RESULTS" | sed 's/^SKIP /  /'; fi
classify "$ANYNS_RESULTS"
[ "$f" -eq 0 ]
