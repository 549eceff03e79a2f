#!/usr/bin/env bash
# Mutation check: each tests/mutate/*.patch is a small deliberate bug in the
# engine (server/lib) or the hook's state machine (bgp-hook/hsm.c). Each is
# applied to a copy of the tree (sources and gcc objects, so only what the
# patch touches is rebuilt), built, and run against the checks its header
# names; some check must fail, or the suites have lost their teeth.
#
#   tests/mutate/run.sh           every mutant (make mutate)
#   tests/mutate/run.sh --quick   the ones marked "Quick: yes" (make test)
#   tests/mutate/run.sh NAME...   only these (file names without .patch)
#
# Header lines of a patch, before its diff:
#   Catch: unit TEST          build/tests/unit/TEST must fail
#   Catch: func CMD [ARGS]    tests/func/dnsraw.py CMD against the mutant anynsd
#                             serving tests/func/zones/func.test.zone must fail
#   Catch: diff ID,ID         tests/diff/run.sh --only ID,ID (anynsd against
#                             NSD) must fail
# Several Catch lines: caught when any of them fails.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
HERE=$ROOT/tests/mutate
PY=/usr/bin/python3

quick=0
names=()
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	*) names+=("$a") ;;
	esac
done
mutants=()
for p in "$HERE"/*.patch; do
	n=$(basename "$p" .patch)
	if [ ${#names[@]} -gt 0 ]; then
		printf '%s\n' "${names[@]}" | grep -qx "$n" || continue
	elif [ $quick = 1 ]; then
		grep -q '^Quick: yes' "$p" || continue
	fi
	mutants+=("$n")
done
plan ${#mutants[@]}

if ! command -v patch >/dev/null; then
	for n in "${mutants[@]}"; do skip "mutant:$n" "patch not installed"; done
	summary; exit $?
fi

MUT=$(mktemp -d /tmp/anyns-mutate.XXXXXX)
DPID=
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill "$DPID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}
cleanup() { stop_daemon; rm -rf "$MUT"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# The tree as it is (tracked and new files) and the gcc build, times kept: the
# copy is up to date, so a mutant rebuilds only what its patch touches.
echo "mutate: copying the tree and build/ to $MUT"
if ! make -C "$ROOT" -j2 --no-print-directory B=build all >"$MUT/build.log" 2>&1; then
	for n in "${mutants[@]}"; do fail "mutant:$n" "the unmutated tree does not build"; done
	tail -20 "$MUT/build.log"
	summary; exit $?
fi
TREE=$MUT/tree
mkdir -p "$TREE"
( cd "$ROOT" && { git ls-files -co --exclude-standard
	find build -path build/asan -prune -o -path build/clang -prune -o -path 'build/lab*' -prune -o \
		-path build/docker -prune -o \
		-type f -print; } ) > "$MUT/files"
tar -C "$ROOT" --ignore-failed-read -cf - -T "$MUT/files" 2>/dev/null | tar -C "$TREE" -xf -

# catcher SPEC: 0 when the check named by SPEC fails against the mutant.
catcher() {
	local kind=$1; shift
	case $kind in
	unit)
		[ -x "$TREE/build/tests/unit/$1" ] || { echo "no unit test $1"; return 1; }
		! "$TREE/build/tests/unit/$1" >"$MUT/out" 2>&1 ;;
	func)
		if [ -z "$DPID" ]; then
			PORT=$(free_port)
			"$TREE/build/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$PORT" --workers 1 \
				--zone "func.test=$TREE/tests/func/zones/func.test.zone" >"$MUT/anynsd.log" 2>&1 &
			DPID=$!
			wait_dns "$PORT" || { echo "mutant anynsd did not start"; tail -5 "$MUT/anynsd.log"; return 1; }
		fi
		! "$PY" "$TREE/tests/func/dnsraw.py" "$1" 127.0.0.1 "$PORT" "${@:2}" >"$MUT/out" 2>&1 ;;
	diff)
		! (cd "$TREE" && ROOT=$TREE ANYNS_RESULTS=$MUT/diff.results DIFF_SERVERS=anynsd B=build \
			bash tests/diff/run.sh --only "$1" >"$MUT/out" 2>&1) ;;
	*)
		echo "unknown catcher $kind"; return 1 ;;
	esac
}

for n in "${mutants[@]}"; do
	p=$HERE/$n.patch
	echo "--- mutant $n: $(sed -n 's/^Breaks: //p' "$p")"
	if ! patch -d "$TREE" -p1 -s -F1 --dry-run <"$p" >/dev/null 2>&1; then
		fail "mutant:$n" "does not apply to the tree any more: update tests/mutate/$n.patch"
		continue
	fi
	patch -d "$TREE" -p1 -s -F1 <"$p"
	if ! make -C "$TREE" -j2 --no-print-directory B=build all >"$MUT/build.log" 2>&1; then
		fail "mutant:$n" "does not build"; tail -10 "$MUT/build.log"
	else
		caught=
		while IFS= read -r spec; do
			# shellcheck disable=SC2086
			if catcher $spec; then caught=$spec; break; fi
		done < <(sed -n 's/^Catch: //p' "$p")
		if [ -n "$caught" ]; then
			pass "mutant:$n"
			echo "    caught by: $caught"
			grep -m3 -E 'FAIL|want|WRONG|not ok|\[  FAILED|\[  ERROR' "$MUT/out" | sed 's/^/    /'
		else
			fail "mutant:$n" "no check caught it ($(sed -n 's/^Catch: //p' "$p" | paste -sd';'))"
		fi
	fi
	stop_daemon
	patch -d "$TREE" -p1 -s -R <"$p"
done
summary
