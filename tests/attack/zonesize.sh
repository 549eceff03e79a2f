#!/usr/bin/env bash
# Hostile zone files cost about what their records need. The loader sizes its
# tables from a measure of a big file before it parses it; a file of comments
# and blank lines, or of short lines of garbage, must not make it reserve (or
# touch) far more than a file with the same records and nothing else. Each
# file here holds the records of the plain one plus 48 MiB of filler:
#   comments  ";" lines and blank lines (a valid zone)
#   owners    one-field lines "a" / "b" (every line a new owner, all errors)
#   fields    "a A x" / "b A x" lines (look like records, all errors)
# and a sparse file of 256 MiB (zeros, no disk used): it is refused at its
# first NUL byte, with file and line, without being held whole.
# anyns-checkzone runs under a limit of address space (the plain file's need
# plus three times the filler) and its peak resident size is measured; anynsd
# reloads a zone into each garbage file and the sparse one and keeps serving
# the previous version, with the file and line of the first error in its log
# and its peak resident size bounded the same way.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
test_setup attack-zonesize
CHECKZONE=$BIN/anyns-checkzone
ANYNSD=("$BIN/anynsd" "${ANYNSD_USER[@]}")
plan 6

FILL=$((48 << 20))
/usr/bin/python3 - "$TMP" "$FILL" <<'PY'
import sys
tmp, fill = sys.argv[1], int(sys.argv[2])
head = ("$ORIGIN big.test.\n$TTL 3600\n@ SOA ns1 host %d 3600 600 86400 300\n"
        "@ NS ns1\nns1 A 192.0.2.53\n")
recs = "".join("h%d A 192.0.2.%d\n" % (i, i % 250 + 1) for i in range(50000))
def write(name, serial, filler):
    with open("%s/%s.zone" % (tmp, name), "w") as f:
        f.write(head % serial)
        f.write(recs)
        f.write(filler)
write("plain", 1, "")
write("comments", 2, ";\n" * (fill // 4) + "\n" * (fill // 2))
write("owners", 3, "a\nb\n" * (fill // 4))
write("fields", 4, "a A x\nb A x\n" * (fill // 12))
PY
truncate -s 256M "$TMP/sparse.zone"

# peak_kb CMD...: runs CMD (output to $TMP/out), prints its peak resident kB.
peak_kb() {
	/usr/bin/python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$TMP/out" "$@"
}
# as_ok LIMIT_KB FILE: checkzone reads FILE within LIMIT_KB of address space.
as_ok() {
	( ulimit -v "$1"; "$CHECKZONE" --threads 1 "$2" big.test. ) >"$TMP/out" 2>&1
	grep -q "is ok" "$TMP/out"
}

# The plain file's need: the smallest limit (to 16 MiB) it loads within. A
# sanitizer build reserves terabytes of shadow memory: no limit fits it.
if grep -q __asan_init "$CHECKZONE"; then
	skip $T:zonesize-comments-address-space "$CHECKZONE is built with AddressSanitizer"
else
	lo=16384 hi=$((4 << 20))
	while [ $((hi - lo)) -gt 16384 ]; do
		mid=$(((lo + hi) / 2))
		if as_ok "$mid" "$TMP/plain.zone"; then hi=$mid; else lo=$mid; fi
	done
	LIMIT=$((hi + 3 * FILL / 1024))
	if as_ok "$LIMIT" "$TMP/comments.zone" && grep -q "50003 records" "$TMP/out"; then
		pass $T:zonesize-comments-address-space
	else
		fail $T:zonesize-comments-address-space "limit ${LIMIT} kB (plain ${hi} kB): $(tail -1 "$TMP/out")"
	fi
fi

base=$(peak_kb "$CHECKZONE" --threads 1 "$TMP/plain.zone" big.test.)
BOUND=$((base + 2 * FILL / 1024))
echo "zonesize: anyns-checkzone peak ${base} kB on the plain file (bound on the garbage ${BOUND} kB)"
for f in owners fields; do
	kb=$(peak_kb "$CHECKZONE" "$TMP/$f.zone" big.test.)
	if [ "$kb" -le "$BOUND" ] && grep -q "^$TMP/$f.zone:50006: error" "$TMP/out"; then
		pass $T:zonesize-$f-peak
	else
		fail $T:zonesize-$f-peak "peak ${kb} kB, bound ${BOUND} kB (plain ${base} kB): $(grep -m1 error "$TMP/out")"
	fi
done

kb=$(peak_kb "$CHECKZONE" "$TMP/sparse.zone" big.test.)
if [ "$kb" -le $((base + 16384)) ] && grep -q "^$TMP/sparse.zone:1: error: cannot read: a NUL byte" "$TMP/out"; then
	pass $T:zonesize-sparse-refused
else
	fail $T:zonesize-sparse-refused "peak ${kb} kB (plain ${base} kB): $(grep -m1 error "$TMP/out")"
fi

# anynsd: the plain zone, then a reload into each garbage file.
PORT=$(free_port)
LOG=$TMP/anynsd.log
cp "$TMP/plain.zone" "$TMP/big.test.zone"
"${ANYNSD[@]}" --listen "127.0.0.1:$PORT" --zone "big.test=$TMP/big.test.zone" --workers 1 >"$LOG" 2>&1 &
DPID=$!
serial() { kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 +short big.test SOA 2>/dev/null | awk '{print $3}'; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$DPID/status" 2>/dev/null; }
if wait_dns "$PORT" && [ "$(serial)" = 1 ]; then
	pass $T:zonesize-anynsd-start
else
	fail $T:zonesize-anynsd-start "$(tail -3 "$LOG")"
fi
hwm0=$(hwm_kb)
gen=1
for f in owners fields sparse; do
	cp --sparse=always "$TMP/$f.zone" "$TMP/big.test.zone"
	gen=$((gen + 1))
	kill -HUP "$DPID"
	for _ in $(seq 1 300); do grep -q "reload: done generation=$gen " "$LOG" && break; sleep 0.1; done
done
hwm=$(hwm_kb)
echo "zonesize: anynsd peak ${hwm0} kB with the plain zone, ${hwm} kB after the reloads (bound $((hwm0 + 2 * FILL / 1024)) kB)"
if grep -q "reload: done generation=4 " "$LOG" && [ "$(serial)" = 1 ] &&
   grep -q "file=$TMP/big.test.zone line=50006 " "$LOG" &&
   grep -q "file=$TMP/big.test.zone line=1 .*NUL byte" "$LOG" &&
   [ -n "$hwm" ] && [ "$hwm" -le $((hwm0 + 2 * FILL / 1024)) ]; then
	pass $T:zonesize-anynsd-reload-garbage
else
	fail $T:zonesize-anynsd-reload-garbage "serial $(serial), peak ${hwm0} -> ${hwm} kB; $(grep -m2 'big.test' "$LOG" | tail -1)"
fi

summary
