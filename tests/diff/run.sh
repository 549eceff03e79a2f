#!/usr/bin/env bash
# Differential test: the same zones served by NSD (the reference), Knot DNS and
# anynsd, each on its own free loopback port; compare.py sends every query of
# queries.txt to all of them and compares flags, rcode, EDNS and each section.
# Intended differences are listed, with their RFC, in compare.py (EXCEPTIONS).
#
#   tests/diff/run.sh                 everything
#   tests/diff/run.sh --only ID,ID    only these queries (debugging)
#   tests/diff/run.sh --show          also print every response
#   DIFF_SERVERS="knot" tests/diff/run.sh   only some servers under test
#   DIFF_EXTRA="anynsd=127.0.0.1:5353" ...  also compare a server started by hand
#   DIFF_RANDOM=5000 DIFF_SEED=7 ...        more random queries, another seed
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
PY=/usr/bin/python3
PEERS=$ROOT/tests/pylib/peers.py

# origin=file of every zone served; the same set goes to every server.
ZONES=(
	"example.com=$ROOT/zones/example.com.zone"
	"child.example.com=$HERE/zones/child.example.com.zone"
	"example.org=$HERE/zones/example.org.zone"
	"island.example.org=$HERE/zones/island.example.org.zone"
	"generic.example=$HERE/zones/generic.example.zone"
	"2.0.192.in-addr.arpa=$ROOT/zones/2.0.192.in-addr.arpa.zone"
)
# CH TXT id.server / hostname.bind and the RFC 5001 NSID of every server.
IDENTITY=anyns-diff
# IPv6 loopback: containers often have none; then the v6 queries are skipped.
if $PY -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
	HAVE_V6=1
else
	HAVE_V6=0
fi
SERVERS=${DIFF_SERVERS-knot anynsd anynsd-asan}

TMP=$(mktemp -d /tmp/anyns-diff.XXXXXX)
PIDS=()       # anynsd processes started here (children of this shell)
PEER_PIDS=()  # NSD and Knot, each in a session of its own (tests/pylib/peers.py)
cleanup() {
	local p
	[ -s "$TMP/compare.pid" ] && kill "$(cat "$TMP/compare.pid")" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	[ ${#PEER_PIDS[@]} -gt 0 ] && $PY "$PEERS" stop "${PEER_PIDS[@]}"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A zone using $INCLUDE with an origin (RFC 1035 5.1). Written at run time so
# that the included file's path is absolute: servers resolve a relative one
# against different directories.
mkdir -p "$TMP/zones"
cat > "$TMP/zones/inc.example.part" <<'EOF'
; included with origin sub.inc.example.
www	IN	A	192.0.2.78
@	IN	TXT	"from the included file"
EOF
cat > "$TMP/zones/inc.example.zone" <<EOF
\$ORIGIN inc.example.
\$TTL 300
@	IN	SOA	ns hostmaster 1 3600 600 86400 60
	IN	NS	ns
ns	IN	A	192.0.2.77
\$INCLUDE $TMP/zones/inc.example.part sub.inc.example.
; RFC 1035 5.1: the origin is back to inc.example. after the include.
after	IN	A	192.0.2.79
EOF
ZONES+=("inc.example=$TMP/zones/inc.example.zone")
# A random zone (same seed, same zone): deep names, many ENTs, wildcards,
# cuts, chains and DNAMEs in places nobody would write by hand.
$PY "$HERE/genzone.py" gen.example "${DIFF_SEED:-1}" "${DIFF_GEN_NAMES:-150}" \
	> "$TMP/zones/gen.example.zone"
ZONES+=("gen.example=$TMP/zones/gen.example.zone")
# Signed zones (NSEC, NSEC3, NSEC3 opt-out) and their children, signed now
# with fresh keys (tests/dnssec/mkzones.sh); swept with DO=1 and DO=0.
SIGNED=()
if command -v ldns-signzone >/dev/null && command -v ldns-keygen >/dev/null; then
	while IFS= read -r z; do
		case ${z%%=*} in broken.*) continue ;; esac   # for validators only
		ZONES+=("$z")
		case ${z%%=*} in sub.*|insecure.*) ;; *) SIGNED+=(--sweep-dnssec "$z") ;; esac
	done < <(bash "$HERE/../dnssec/mkzones.sh" "$TMP/signed")
else
	skip diff:dnssec "ldns-signzone or ldns-keygen not installed (ldnsutils)"
fi

# --- the zones themselves must pass both reference checkers -----------------
plan $((2 * ${#ZONES[@]}))
for z in "${ZONES[@]}"; do
	origin=${z%%=*}; file=${z#*=}
	if command -v nsd-checkzone >/dev/null; then
		if out=$(nsd-checkzone "$origin" "$file" 2>&1); then pass "diff:nsd-checkzone:$origin"
		else fail "diff:nsd-checkzone:$origin" "$out"; fi
	else
		skip "diff:nsd-checkzone:$origin" "nsd-checkzone not installed"
	fi
	if command -v kzonecheck >/dev/null; then
		if out=$(kzonecheck -o "$origin" "$file" 2>&1) && [ -z "$out" ]; then
			pass "diff:kzonecheck:$origin"
		else fail "diff:kzonecheck:$origin" "$out"; fi
	else
		skip "diff:kzonecheck:$origin" "kzonecheck not installed (knot-dnssecutils)"
	fi
done

# --- servers ----------------------------------------------------------------
# start_X PORT: starts the server in the background and sets LAST to its pid.
# start_nsd PORT [DIR [ORIGIN=FILE ...]]: the zones default to ZONES.
# NSD and Knot get their configuration from tests/pylib/peers.py.
peer_args() {
	local port=$1 z
	PEER_ARGS=(--port "$port" --listen 127.0.0.1 --identity "$IDENTITY" --nsid "$IDENTITY"
		--hide-version --verbosity 1)
	[ $HAVE_V6 = 1 ] && PEER_ARGS+=(--listen ::1)
	for z in "${@:2}"; do PEER_ARGS+=(--zone "$z"); done
}

# MINIMAL=1: every server with minimal responses (NSD's minimal-responses).
MINIMAL=0
start_nsd() {
	local port=$1 d=${2:-$TMP/nsd} zones=("${ZONES[@]}")
	[ $# -gt 2 ] && zones=("${@:3}")
	peer_args "$port" "${zones[@]}"
	[ $MINIMAL = 1 ] && PEER_ARGS+=(--server-option "minimal-responses: yes")
	$PY "$PEERS" nsd-config --dir "$d" "${PEER_ARGS[@]}" >/dev/null || return 1
	LAST=$($PY "$PEERS" start nsd --dir "$d" --log "$d/stderr") || return 1
	PEER_PIDS+=("$LAST")
}

start_knot() {
	local port=$1 d=$TMP/knot
	peer_args "$port" "${ZONES[@]}"
	$PY "$PEERS" knot-config --dir "$d" "${PEER_ARGS[@]}" >/dev/null || return 1
	LAST=$($PY "$PEERS" start knot --dir "$d" --log "$d/stderr") || return 1
	PEER_PIDS+=("$LAST")
}

start_anynsd() {
	local port=$1 d=$TMP/${2:-anynsd} bin=${3:-$BIN/anynsd} z args=()
	mkdir -p "$d"
	for z in "${ZONES[@]}"; do args+=(--zone "$z"); done
	[ $HAVE_V6 = 1 ] && args+=(--listen "[::1]:$port")
	[ $MINIMAL = 1 ] && args+=(--minimal-responses)
	"$bin" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$port" "${args[@]}" --identity "$IDENTITY" \
		--nsid "$IDENTITY" --server-version false \
		>"$d/stderr" 2>&1 &
	LAST=$!
	PIDS+=("$LAST")
}

# The ASan+UBSan build (tests/run-all.sh makes it): the same queries must not
# trip a sanitizer. Two workers: the answers go through the threaded path too.
ASAN_BIN=${ASAN_BIN:-$ROOT/build/asan/anynsd}
start_anynsd-asan() {
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		start_anynsd "$1" anynsd-asan "$ASAN_BIN"
}

# A server counts as up when it answers SOA for every zone with AA=1 (zones
# load after the socket opens).
zones_up() {
	local port=$1 pid=$2 z i
	for i in $(seq 1 100); do
		# Our server died (e.g. the port was taken meanwhile): do not take
		# answers from whoever else listens there.
		kill -0 "$pid" 2>/dev/null || return 1
		for z in "${ZONES[@]}"; do
			kdig @127.0.0.1 -p "$port" +time=1 +retry=0 "${z%%=*}" SOA 2>/dev/null |
				grep -q 'Flags: qr aa' || { sleep 0.1; continue 2; }
		done
		return 0
	done
	return 1
}

# launch NAME: starts server NAME on a free port (three tries: another test
# running at the same time may take the port between free_port and bind);
# sets PORT.
launch() {
	local name=$1 try
	for try in 1 2 3; do
		PORT=$(free_port)
		LAST=
		"start_$name" "$PORT"
		if [ -n "$LAST" ] && zones_up "$PORT" "$LAST"; then
			echo "$LAST" > "$TMP/$name/pid"; return 0
		fi
		[ -n "$LAST" ] && kill "$LAST" 2>/dev/null
	done
	return 1
}

if ! command -v nsd >/dev/null || ! command -v kdig >/dev/null; then
	skip diff "nsd or kdig not installed (the reference server and the probe)"
	summary; exit $?
fi
if ! $PY -c 'import dns.message' 2>/dev/null; then
	skip diff "python3-dnspython not installed"
	summary; exit $?
fi

if launch nsd; then
	NSD_PORT=$PORT
else
	fail diff:nsd-start "NSD did not serve the zones; its log:"
	cat "$TMP/nsd/stderr" "$TMP/nsd/nsd.log" 2>/dev/null | tail -20
	summary; exit $?
fi

TESTS=()
for s in $SERVERS; do
	case $s in
	knot)
		if ! command -v knotd >/dev/null; then plan 1; skip diff:knot "knotd not installed"; continue; fi
		;;
	anynsd)
		if [ ! -x "$BIN/anynsd" ]; then plan 1; skip diff:anynsd "$BIN/anynsd not built"; continue; fi
		;;
	anynsd-asan)
		if [ ! -x "$ASAN_BIN" ]; then plan 1; skip diff:anynsd-asan "$ASAN_BIN not built"; continue; fi
		;;
	*) plan 1; fail "diff:$s" "unknown server"; continue ;;
	esac
	if launch "$s"; then
		TESTS+=(--test "$s=127.0.0.1:$PORT")
		# The sanitizer build's own verdict at the end.
		[ "$s" = anynsd-asan ] && plan 1
	else
		plan 1
		fail "diff:$s-start" "$s did not serve all the zones (3 tries); its log:"
		tail -20 "$TMP/$s/stderr"
	fi
done

ORIGINS=$(for z in "${ZONES[@]}"; do printf '%s,' "${z%%=*}"; done)
ORIGINS=${ORIGINS%,}
# Every zone is also swept: each owner name with many types, names below it.
# (The signed zones have their own sweep, --sweep-dnssec above.)
SWEEPS=()
for z in "${ZONES[@]}"; do
	case ${z%%=*} in *.test) ;; *) SWEEPS+=(--sweep "$z") ;; esac
done
for e in ${DIFF_EXTRA:-}; do TESTS+=(--test "$e"); done

# --- self-test: the comparison must see a difference ------------------------------
# A second NSD serves example.com with a changed A record, one TXT record less
# on the wildcard and no DNAME; compare.py must report exactly these queries.
selftest() {
	plan 1
	local port d=$TMP/mutant out q bad=0
	mkdir -p "$d"
	sed -e 's/^www\t300\tIN\tA\t192.0.2.81/www\t300\tIN\tA\t192.0.2.99/' \
	    -e '/synthesised from \*.wild/d' -e '/^dname\t/d' \
	    "$ROOT/zones/example.com.zone" > "$d/example.com.zone"
	port=$(free_port)
	LAST=
	start_nsd "$port" "$d" "example.com=$d/example.com.zone"
	for _ in $(seq 1 50); do
		kill -0 "$LAST" 2>/dev/null || break
		kdig @127.0.0.1 -p "$port" +time=1 +retry=0 example.com SOA 2>/dev/null |
			grep -q 'Flags: qr aa' && break
		sleep 0.1
	done
	if [ -z "$LAST" ] || ! kill -0 "$LAST" 2>/dev/null; then
		fail diff:selftest "the mutant NSD did not start"; cat "$d/stderr"; return
	fi
	out=$($PY "$HERE/compare.py" --queries "$HERE/queries.txt" --zones "$ORIGINS" \
		--ref "nsd=127.0.0.1:$NSD_PORT" --test "mutant=127.0.0.1:$port" \
		--only www-a,wild-hit-txt,dname-below,apex-a)
	for q in www-a wild-hit-txt dname-below; do
		echo "$out" | grep -q "^FAIL: diff:mutant:$q:" || { bad=1; echo "selftest: no FAIL for $q"; }
	done
	echo "$out" | grep -q "^PASS: diff:mutant:apex-a" || { bad=1; echo "selftest: apex-a should pass"; }
	if [ $bad -eq 0 ]; then pass diff:selftest; else echo "$out"; fail diff:selftest "compare.py missed a difference"; fi
}
selftest

# --- compare ------------------------------------------------------------------
# compare_run NAME REF_PORT TEST_ARG...: compare.py over the query list, the
# sweeps and random queries against NSD on REF_PORT, its lines as results; a
# run that stops before its end fails diff:NAME.
SCRIPT_ARGS=("$@")
compare_run() {
	local name=$1 ref=$2 complete=0 line r
	shift 2
	while IFS= read -r line; do
		case $line in
		"PASS: "*) pass "${line#PASS: }" ;;
		"FAIL: "*) r=${line#FAIL: }; fail "${r%%: *}" "${r#*: }" ;;
		"SKIP: "*) r=${line#SKIP: }; skip "${r%%: *}" "${r#*: }" ;;
		"PLAN "*) plan "${line#PLAN }" ;;
		COMPLETE) complete=1 ;;
		"compare.py exit "*)
			[ "$complete" = 1 ] || fail "diff:$name" "stopped before the end (${line#compare.py })" ;;
		*) echo "$line" ;;
		esac
	done < <($PY "$HERE/compare.py" --queries "$HERE/queries.txt" \
		--ref "nsd=127.0.0.1:$ref" "$@" --zones "$ORIGINS" "${SWEEPS[@]}" \
		"${SIGNED[@]}" \
		--random "${DIFF_RANDOM:-600}" --seed "${DIFF_SEED:-1}" --pipeline \
		$([ $HAVE_V6 = 1 ] || echo --no-v6) "${SCRIPT_ARGS[@]}" &
		echo $! > "$TMP/compare.pid"; wait $!
		echo "compare.py exit $?")
}
if [ ${#TESTS[@]} -gt 0 ]; then
	compare_run compare.py "$NSD_PORT" "${TESTS[@]}"
fi
# --- minimal responses ---------------------------------------------------------
# NSD with minimal-responses: yes as the reference, anynsd with
# --minimal-responses, the same comparison over the same queries; Knot (which
# never adds the apex NS set) is compared again against that reference, now
# without the positive-authority-ns exception having anything to take out.
MINIMAL=1
start_nsd-min() { start_nsd "$1" "$TMP/nsd-min"; }
start_anynsd-min() { start_anynsd "$1" anynsd-min; }
if [ ${#TESTS[@]} -gt 0 ]; then
	MIN_TESTS=()
	for t in "${TESTS[@]}"; do
		case $t in knot=*) MIN_TESTS+=(--test "knot-min=${t#knot=}") ;; esac
	done
	case " $SERVERS " in
	*" anynsd "*)
		if [ -x "$BIN/anynsd" ]; then
			if launch anynsd-min; then MIN_TESTS+=(--test "anynsd-min=127.0.0.1:$PORT")
			else plan 1; fail diff:anynsd-min-start "anynsd --minimal-responses did not serve the zones"
				tail -20 "$TMP/anynsd-min/stderr"; fi
		fi ;;
	esac
	if [ ${#MIN_TESTS[@]} -gt 0 ] && ! launch nsd-min; then
		plan 1; fail diff:nsd-min-start "NSD with minimal-responses did not serve the zones"
		tail -20 "$TMP/nsd-min/stderr"
	elif [ ${#MIN_TESTS[@]} -gt 0 ]; then
		compare_run compare.py-min "$PORT" "${MIN_TESTS[@]}"
	fi
fi
# The sanitizer build: stopped gracefully, it must exit 0 and report nothing.
if [ -s "$TMP/anynsd-asan/pid" ]; then
	asan_pid=$(cat "$TMP/anynsd-asan/pid")
	if kill -0 "$asan_pid" 2>/dev/null; then
		kill -TERM "$asan_pid"
		for _ in $(seq 1 100); do kill -0 "$asan_pid" 2>/dev/null || break; sleep 0.1; done
		wait "$asan_pid" 2>/dev/null; rc=$?
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/anynsd-asan/stderr"; then
			fail diff:anynsd-asan:sanitizers "a sanitizer report:"
			grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/anynsd-asan/stderr" | head -60
		elif [ "$rc" -ne 0 ]; then
			fail diff:anynsd-asan:sanitizers "exit status $rc after SIGTERM"
			tail -20 "$TMP/anynsd-asan/stderr"
		else
			pass diff:anynsd-asan:sanitizers
		fi
	else
		fail diff:anynsd-asan:sanitizers "died during the test:"
		tail -40 "$TMP/anynsd-asan/stderr"
	fi
fi
summary
