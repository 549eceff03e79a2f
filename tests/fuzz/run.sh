#!/usr/bin/env bash
# A short pass of the four libFuzzer targets (tests/fuzz/README.md): each is
# built with clang (ASan+UBSan+libFuzzer) and run for FUZZ_SECONDS (5) from
# its seeds; it passes when it finds no crash, leak, sanitizer report or
# broken invariant. `make fuzz` runs them longer.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
T=fuzz
SECS=${FUZZ_SECONDS:-5}
TMP=$(mktemp -d /tmp/anyns-fuzz.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

echo "$T: libFuzzer targets, $SECS s each"
# libFuzzer ships with clang (Debian: libclang-rt-dev); without it nothing
# here can be built.
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	> "$TMP/probe.c"
if ! command -v clang >/dev/null; then
	skip $T:all "clang is not installed"
	summary; exit $?
fi
if ! clang -fsanitize=fuzzer,address,undefined -o "$TMP/probe" "$TMP/probe.c" 2> "$TMP/probe.err"; then
	skip $T:all "clang cannot link -fsanitize=fuzzer (no libFuzzer runtime): $(head -1 "$TMP/probe.err")"
	summary; exit $?
fi

# name max_len seed-dir...: the seeds are copied so the tree is never written.
TARGETS=(
	"answer 1500 $ROOT/tests/fuzz/seeds"
	"zone 8192 $ROOT/tests/zones $ROOT/tests/diff/zones"
	"tcp 4096 $ROOT/tests/fuzz/tcp-seeds"
	"conf 4096 $ROOT/tests/fuzz/conf-seeds"
)
plan $((2 * ${#TARGETS[@]}))

for t in "${TARGETS[@]}"; do
	read -r name maxlen seeds <<< "$t"
	bin=$ROOT/$B/fuzz/fuzz_$name
	if ! make -C "$ROOT" --no-print-directory B="$B" "$B/fuzz/fuzz_$name" > "$TMP/build-$name.log" 2>&1; then
		fail "$T:build:$name" "$(tail -5 "$TMP/build-$name.log")"
		fail "$T:$name" "not built"
		continue
	fi
	pass "$T:build:$name"
	corpus=$TMP/corpus-$name
	mkdir -p "$corpus"
	# shellcheck disable=SC2086
	cp -r $seeds "$corpus/"
	# Bounded twice: libFuzzer's own time limit, and timeout(1) should it hang.
	timeout -k 5 $((SECS + 60)) "$bin" -max_total_time="$SECS" -max_len="$maxlen" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$ROOT/$B/fuzz/crash-$name-" \
		"$corpus"/* > "$TMP/run-$name.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^Done ' "$TMP/run-$name.log"; then
		pass "$T:$name"
	else
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$TMP/run-$name.log" | head -5
		tail -20 "$TMP/run-$name.log"
		fail "$T:$name" "exit status $rc (log above; the input in $B/fuzz/crash-$name-*)"
	fi
done
summary
