# Sourced by run.sh (its helpers, $TMP, $PY): a one-record IXFR from Knot DNS
# into a large zone (IXFR_BIG_RECORDS, 200000 by default) is applied
# incrementally: the log says so, and the change is served within
# IXFR_BIG_MS (100 ms) of the end of the transfer, which a full build of
# the zone (about 0.2 s for 200k records, more on a busy machine) does not
# make. Queries run during the transfer: none lost, none
# inconsistent. A second change removes the record again. A third one adds
# more names than half the bound a patched version may keep apart (1/16 of
# the names): applied incrementally, then folded into a full build while
# it serves; the change after it is a small patch of that build.
plan 11

BIGN=${IXFR_BIG_RECORDS:-200000}
BIGMS=${IXFR_BIG_MS:-100}
BKP=$(free_port)     # its Knot primary
BAP=$(free_port)     # its anynsd secondary
BKD=$TMP/knot-big
mkdir -p "$BKD"

# big_zone SERIAL [EXTRA...]: the zone with v CNAME v1, v1 TXT "version 1"
# (what load() checks) and BIGN A records.
big_zone() {
	"$PY" - "$TMP/z/big.test" "$BIGN" "$@" <<'PY'
import sys
path, n, serial = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("$ORIGIN big.test.\n$TTL 300\n")
    f.write("@ SOA ns1 hostmaster %s 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n" % serial)
    f.write('v CNAME v1\nv1 TXT "version 1"\n')
    f.write("".join("h%d A 10.%d.%d.%d\n" % (i, i >> 16, (i >> 8) & 255, i & 255)
                    for i in range(n - 5)))
    for x in sys.argv[4:]:
        f.write(x + "\n")
PY
}

# seen_after PORT NAME T0: polls NAME A on anynsd every millisecond (30 s
# at most) until it answers; prints the milliseconds since T0 (epoch
# nanoseconds), -1 when not seen.
seen_after() {
	"$PY" - "$@" <<'PY'
import sys, time, dns.message, dns.query, dns.rcode
port, name, t0 = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) / 1e9
end = time.time() + 30
while time.time() < end:
    try:
        r = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port,
                          timeout=0.5)
        if r.rcode() == dns.rcode.NOERROR and r.answer:
            print(int(round((time.time() - t0) * 1000)))
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.001)
print(-1)
PY
}

# served_us SERIAL: what anynsd logged as the time from the end of the
# transfer to SERIAL being served.
served_us() {
	sed -n "s/.*xfr: ixfr-applied zone=big\.test\.\{0,1\} serial=$1 .*served_us=\([0-9]*\).*/\1/p" \
		"$BIG_LOG" | tail -1
}

big_zone 1
peers knot-config --dir "$BKD" --port "$BKP" --verbosity 1 --zone big.test="$TMP/z/big.test" \
	--key "xfr:hmac-sha256:$SECRET" --remote "anynsd=127.0.0.1@$BAP,key=xfr" \
	--acl "xfr=transfer,key=xfr" --template-option "zonefile-load: difference" \
	--template-option "journal-content: changes" --template-option "acl: xfr" \
	--template-option "notify: anynsd" >/dev/null
BKNOT_PID=$(peers start knot --dir "$BKD")
PEER_PIDS+=($BKNOT_PID)
cat > "$TMP/big.yaml" <<YAML
server:
  listen: 127.0.0.1:$BAP
  workers: 2
keys:
  - id: xfr
    algorithm: hmac-sha256
    secret: "$SECRET"
remotes:
  - id: knot
    address: 127.0.0.1:$BKP
    key: xfr
zones:
  - origin: big.test
    primaries: [knot]
YAML
start_anynsd big "$TMP/big.yaml"
BIG_PID=$ANY_PID
BIG_LOG=$ANY_LOG
if wait_for 120 answer_is "$BAP" v1.big.test TXT '"version 1"'; then
	pass $T:big-axfr
else
	fail $T:big-axfr "$(tail -5 "$BIG_LOG"; tail -3 "$BKD/knot.log")"
fi

# One record added: NOTIFY, IXFR, patch.
load "$BAP" v.big.test 6 > "$TMP/bigload" &
BLOADPID=$!
sleep 1
big_zone 2 "new1 A 192.0.2.77"
t0=$(date +%s%N)
knotc -s "$BKD/knot.sock" zone-reload big.test >/dev/null
ms=$(seen_after "$BAP" new1.big.test "$t0")
wait_for 5 grep -q "ixfr-applied zone=big.test.\{0,1\} serial=2 " "$BIG_LOG"
us=$(served_us 2)
echo "  1-record IXFR into $BIGN records: served ${us:-?} us after the transfer's end," \
     "seen $ms ms after the primary's reload"
if grep -Eq "xfr: ixfr-applied zone=big\.test\.? serial=2 remote=knot@[^ ]* mode=incremental" "$BIG_LOG"
then pass $T:big-ixfr-incremental
else fail $T:big-ixfr-incremental "$(grep -E "big.test|ixfr" "$BIG_LOG" | tail -5)"; fi
if [ -n "$us" ] && [ "$ms" -ge 0 ] && [ "$us" -le $((BIGMS * 1000)) ]; then
	pass $T:big-ixfr-served-fast
else
	fail $T:big-ixfr-served-fast "served ${us:-?} us after the transfer (limit $BIGMS ms)"
fi
wait $BLOADPID
read -r sent lost bad < "$TMP/bigload"
echo "  under load: $sent queries, $lost lost, $bad inconsistent"
if [ "${sent:-0}" -gt 100 ] && [ "$lost" = 0 ] && [ "$bad" = 0 ]; then pass $T:big-load-during-ixfr
else fail $T:big-load-during-ixfr "sent ${sent:-?} lost ${lost:-?} bad ${bad:-?}"; fi

# And removed again, on top of the patched version.
big_zone 3
knotc -s "$BKD/knot.sock" zone-reload big.test >/dev/null
gone() { status_is "$BAP" new1.big.test A NXDOMAIN; }
if wait_for 30 gone; then pass $T:big-ixfr-second-change
else fail $T:big-ixfr-second-change "$(status "$BAP" new1.big.test A)"; fi
check $T:big-ixfr-second-incremental grep -Eq \
	"xfr: ixfr-applied zone=big\.test\.? serial=3 remote=knot@[^ ]* mode=incremental" "$BIG_LOG"
check $T:big-still-serves answer_is "$BAP" h12345.big.test A 10.0.48.57

BULK=$((BIGN / 16 / 2 + 500))
"$PY" - "$BULK" > "$TMP/bulk.txt" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("bulk%d A 192.0.2.%d" % (i, i % 250 + 1))
PY
mapfile -t BULK_LINES < "$TMP/bulk.txt"
big_zone 4 "${BULK_LINES[@]}"
knotc -s "$BKD/knot.sock" zone-reload big.test >/dev/null
if wait_for 30 answer_is "$BAP" "bulk$((BULK - 1)).big.test" A "192.0.2.$(( (BULK - 1) % 250 + 1 ))"
then pass $T:big-ixfr-bulk-served
else fail $T:big-ixfr-bulk-served "$(grep -E "ixfr|big.test" "$BIG_LOG" | tail -3)"; fi
check $T:big-ixfr-bulk-incremental grep -Eq \
	"xfr: ixfr-applied zone=big\.test\.? serial=4 remote=knot@[^ ]* mode=incremental" "$BIG_LOG"
if wait_for 30 grep -Eq "xfr: ixfr-folded zone=big\.test\.? serial=4 " "$BIG_LOG"
then pass $T:big-ixfr-folded
else fail $T:big-ixfr-folded "$(grep -E "ixfr" "$BIG_LOG" | tail -3)"; fi
big_zone 5 "${BULK_LINES[@]}" "new5 A 192.0.2.55"
knotc -s "$BKD/knot.sock" zone-reload big.test >/dev/null
wait_for 30 answer_is "$BAP" new5.big.test A 192.0.2.55
check $T:big-ixfr-after-fold grep -Eq \
	"xfr: ixfr-applied zone=big\.test\.? serial=5 remote=knot@[^ ]* mode=incremental names=2 " \
	"$BIG_LOG"
stop_pid "$BIG_PID"
stop_peer "$BKNOT_PID"
