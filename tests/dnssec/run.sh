#!/usr/bin/env bash
# DNSSEC end to end: zones signed now (mkzones.sh: NSEC, NSEC3, NSEC3 opt-out,
# children signed and unsigned, one zone with a broken signature) served by
# anynsd; a real validating resolver (Unbound, trust anchors = the zones'
# DS) resolves through it, and drill -S chases the signatures.
#   dnssec:unbound:<case>   secure answers come back AD=1 with the right
#                           rcode; insecure ones (below an unsigned cut)
#                           NOERROR without AD; the broken zone SERVFAIL
#   dnssec:drill:<case>     drill -S -k <the zone's DS> chases to the key
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
test_setup dnssec

for tool in ldns-signzone ldns-keygen ldns-key2ds kdig drill unbound; do
	if ! command -v $tool >/dev/null; then
		skip dnssec "$tool not installed (ldnsutils, knot-dnsutils, unbound)"
		summary; exit $?
	fi
done
if [ ! -x "$BIN/anynsd" ]; then
	fail dnssec:anynsd-built "$BIN/anynsd is missing (run make)"
	summary; exit $?
fi

ZONES=()
while IFS= read -r z; do ZONES+=("$z"); done < <(bash "$HERE/mkzones.sh" "$TMP/z")
if [ ${#ZONES[@]} -lt 10 ]; then
	fail dnssec:zones "mkzones.sh did not write the zones"
	summary; exit $?
fi

# anynsd with every zone, on a free port (three tries: ports are shared).
APORT=
for try in 1 2 3; do
	port=$(free_port)
	MPORT=$(free_port)
	args=()
	for z in "${ZONES[@]}"; do args+=(--zone "$z"); done
	"$BIN/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$port" "${args[@]}" --metrics "$MPORT" \
		>"$TMP/anynsd.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 100); do
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		if kdig @127.0.0.1 -p "$port" +time=1 +retry=0 broken.test SOA 2>/dev/null |
			grep -q 'Flags: qr aa'; then APORT=$port; break; fi
		sleep 0.1
	done
	[ -n "$APORT" ] && break
	kill "${PIDS[-1]}" 2>/dev/null
done
if [ -z "$APORT" ]; then
	fail dnssec:anynsd-start "anynsd did not serve the zones; its log:"
	tail -20 "$TMP/anynsd.log"
	summary; exit $?
fi

# --- anyns-checkzone: signatures, chains, expiry warnings --------------------
# checkzone NAME WANT-EXIT GREP FILE ORIGIN [OPTIONS]: exit status and a line.
checkzone() {
	local name=$1 want=$2 pat=$3 out rc
	shift 3
	out=$("$BIN/anyns-checkzone" "$@" 2>&1); rc=$?
	if [ $rc -eq "$want" ] && echo "$out" | grep -q -E -- "$pat"; then
		pass "dnssec:checkzone:$name"
	else
		fail "dnssec:checkzone:$name" "exit $rc (want $want), no line matching '$pat':"
		echo "$out" | tail -5
	fi
}
for z in nsec.test nsec3.test optout.test sub.nsec.test; do
	checkzone "ok:$z" 0 "is ok: .*signed \(NSEC3?\), [0-9]+ signatures verified" \
		"$TMP/z/$z.zone.signed" "$z"
done
checkzone bad-signature 1 "error: RRSIG www.broken.test. A \(key [0-9]+\) does not verify" \
	"$TMP/z/broken.test.zone.signed" broken.test
# mkzones.sh signs for 30 days: all of them expire within 40.
checkzone expire-warn 0 "warning: RRSIG www.nsec3.test. AAAA \(key [0-9]+\) expires in" \
	--expire-warn 40 "$TMP/z/nsec3.test.zone.signed" nsec3.test
checkzone expire-default 0 "is ok: [^,]*, [^,]*, [^,]*, signed \(NSEC\), [0-9]+ signatures verified$" \
	"$TMP/z/nsec.test.zone.signed" nsec.test
# A hole in each chain.
grep -v -P '^www\.nsec\.test\.\s+\d+\s+IN\s+NSEC\s' "$TMP/z/nsec.test.zone.signed" \
	> "$TMP/nsec-hole.zone"
checkzone nsec-hole 1 "error: NSEC chain: www.nsec.test. has no NSEC" "$TMP/nsec-hole.zone" nsec.test
h=$(grep -m1 -P '^\S+\s+\d+\s+IN\s+NSEC3\s' "$TMP/z/nsec3.test.zone.signed" | awk '{ print $1 }')
grep -v -P "^$h\s+\d+\s+IN\s+NSEC3\s" "$TMP/z/nsec3.test.zone.signed" > "$TMP/nsec3-hole.zone"
checkzone nsec3-hole 1 "error: NSEC3 chain: (no NSEC3 for|the NSEC3 after hash)" \
	"$TMP/nsec3-hole.zone" nsec3.test
# Signatures already expired, and not yet valid.
( cd "$TMP" && printf '%s\n' '$ORIGIN old.test.' '$TTL 300' '@ SOA ns hostmaster 1 3600 900 604800 300' \
	'@ NS ns' 'ns A 192.0.2.1' > old.test.zone &&
  k=$(ldns-keygen -a ECDSAP256SHA256 -k old.test) &&
  ldns-signzone -i 20200101000000 -e 20200201000000 -f old.test.signed -o old.test old.test.zone "$k" &&
  ldns-signzone -i 20500101000000 -e 20500201000000 -f new.test.signed -o old.test old.test.zone "$k" &&
  rm -f "$k".* )
checkzone expired 1 "error: RRSIG ns.old.test. A \(key [0-9]+\) expired at 2020-02-01" \
	"$TMP/old.test.signed" old.test
checkzone not-yet-valid 1 "error: RRSIG ns.old.test. A \(key [0-9]+\) not valid before 2050-01-01" \
	"$TMP/new.test.signed" old.test
checkzone no-dnssec 0 "is ok: " --no-dnssec "$TMP/old.test.signed" old.test

# --- the earliest expiration: logged per signed zone, and a metric ----------
# mkzones.sh signs for 30 days: expect 29 to 31 days from now.
for z in nsec.test nsec3.test optout.test broken.test; do
	line=$(grep "zone: signed zone=$z\. " "$TMP/anynsd.log")
	s=$(echo "$line" | sed -n 's/.* expires-in=\([0-9]*\)$/\1/p')
	if [ -n "$s" ] && [ "$s" -gt $((29 * 86400)) ] && [ "$s" -lt $((31 * 86400)) ]; then
		pass "dnssec:log-expiry:$z"
	else
		fail "dnssec:log-expiry:$z" "log line: '$line'"
	fi
done
metrics=$(curl -s "http://127.0.0.1:$MPORT/metrics" 2>/dev/null ||
	/usr/bin/python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$MPORT/metrics').read().decode())")
for z in nsec.test. optout.test.; do
	v=$(echo "$metrics" | sed -n "s/^anyns_zone_rrsig_expiry_seconds{zone=\"$z\"} \(-\?[0-9]*\)$/\1/p")
	if [ -n "$v" ] && [ "$v" -gt $((29 * 86400)) ] && [ "$v" -lt $((31 * 86400)) ]; then
		pass "dnssec:metric-expiry:$z"
	else
		fail "dnssec:metric-expiry:$z" "anyns_zone_rrsig_expiry_seconds: '$v'"
	fi
done
if echo "$metrics" | grep -q 'anyns_zone_rrsig_expiry_seconds{zone="insecure.nsec.test."}'; then
	fail dnssec:metric-expiry:unsigned "an unsigned zone has an expiry metric"
else
	pass dnssec:metric-expiry:unsigned
fi

# --- Unbound, validating, with a stub zone per served zone --------------------
start_unbound() {
	local port=$1 z
	{
		echo "server:"
		echo "	interface: 127.0.0.1"
		echo "	port: $port"
		echo "	do-ip6: no"
		echo "	do-daemonize: no"
		echo "	username: \"\""
		echo "	chroot: \"\""
		echo "	directory: \"$TMP\""
		echo "	pidfile: \"$TMP/unbound.pid\""
		echo "	use-syslog: no"
		echo "	logfile: \"$TMP/unbound.log\""
		echo "	verbosity: 1"
		echo "	val-log-level: 2"
		echo "	module-config: \"validator iterator\""
		# anynsd listens on loopback; test. is reserved (RFC 6761) and
		# Unbound serves it as an empty local zone unless told not to.
		echo "	do-not-query-localhost: no"
		echo "	local-zone: \"test.\" nodefault"
		echo "	access-control: 127.0.0.0/8 allow"
		echo "	qname-minimisation: no"
		echo "	harden-referral-path: no"
		echo "	cache-max-ttl: 1"
		for z in nsec.test nsec3.test optout.test broken.test; do
			echo "	trust-anchor: \"$(tr -s ' \t' ' ' < "$TMP/z/$z.ds")\""
		done
		echo "remote-control:"
		echo "	control-enable: no"
		for z in "${ZONES[@]}"; do
			echo "stub-zone:"
			echo "	name: \"${z%%=*}\""
			echo "	stub-addr: 127.0.0.1@$APORT"
		done
	} > "$TMP/unbound.conf"
	unbound -d -c "$TMP/unbound.conf" >"$TMP/unbound.out" 2>&1 &
	PIDS+=($!)
}
UPORT=
for try in 1 2 3; do
	port=$(free_port)
	start_unbound "$port"
	for _ in $(seq 1 50); do
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		if kdig @127.0.0.1 -p "$port" +time=1 +retry=0 nsec.test SOA 2>/dev/null |
			grep -q 'status: NOERROR'; then UPORT=$port; break; fi
		sleep 0.2
	done
	[ -n "$UPORT" ] && break
	kill "${PIDS[-1]}" 2>/dev/null
done
if [ -z "$UPORT" ]; then
	fail dnssec:unbound-start "Unbound did not answer; its output:"
	tail -20 "$TMP/unbound.out" "$TMP/unbound.log" 2>/dev/null
	summary; exit $?
fi
# The cases below: 30 resolved per NSEC/NSEC3/opt-out zone (29 for NSEC),
# 3 DS at empty non-terminal cuts, 2 x 2 at NSEC3 owner names, 2 in the
# broken zone; 4 chased by drill per zone and the broken one; above, the
# signature expiry logged for 4 zones and in the metrics for 3, and 12
# anyns-checkzone runs; 2 answers past 512 bytes served from the cache.
plan $((30 * 3 - 1 + 3 + 4 + 2 + 4 * 3 + 1 + 4 + 3 + 12 + 2))

# resolve CASE QNAME QTYPE RCODE SECURE: asks Unbound (DO=1, fresh: the
# cache lives one second); SECURE is ad (AD=1), noad (AD=0) or any.
resolve() {
	local name=$1 q=$2 t=$3 want=$4 sec=$5 out flags
	out=$(kdig @127.0.0.1 -p "$UPORT" +dnssec +time=4 +retry=1 "$q" "$t" 2>&1)
	flags=$(echo "$out" | sed -n 's/^;; Flags: \([a-z ]*\);.*/\1/p')
	local st
	st=$(echo "$out" | sed -n 's/.*status: \([A-Z]*\);.*/\1/p')
	local ok=1
	[ "$st" = "$want" ] || ok=0
	case $sec in
	ad) [[ " $flags " == *" ad "* ]] || ok=0 ;;
	noad) [[ " $flags " != *" ad "* ]] || ok=0 ;;
	esac
	if [ $ok = 1 ]; then
		pass "dnssec:unbound:$name"
	else
		fail "dnssec:unbound:$name" "$q $t: status $st flags '$flags', want $want $sec"
		grep -i -E "validation failure|bogus|error" "$TMP/unbound.log" | tail -3
	fi
}

for z in nsec.test nsec3.test optout.test; do
	k=${z%.test}
	# RFC 5155 9.2: with opt-out, a covering NSEC3 cannot rule out an
	# unsigned delegation, so denied names and wildcard answers are
	# insecure (no AD) rather than secure; bogus would be SERVFAIL.
	den=ad
	[ $z = optout.test ] && den=noad
	resolve "$k:positive"          "www.$z" A NOERROR ad
	resolve "$k:positive-ttl"      "www.$z" AAAA NOERROR ad
	resolve "$k:apex-dnskey"       "$z" DNSKEY NOERROR ad
	resolve "$k:nxdomain"          "nothere.$z" A NXDOMAIN $den
	resolve "$k:nxdomain-deep"     "a.b.nothere.$z" TXT NXDOMAIN $den
	resolve "$k:nodata"            "www.$z" SRV NOERROR ad
	resolve "$k:nodata-ent"        "c.ent.$z" A NOERROR ad
	resolve "$k:below-ent"         "a.b.c.ent.$z" A NOERROR ad
	resolve "$k:wildcard"          "foo.wild.$z" A NOERROR $den
	resolve "$k:wildcard-deep"     "a.b.wild.$z" TXT NOERROR $den
	resolve "$k:wildcard-nodata"   "foo.wild.$z" MX NOERROR $den
	resolve "$k:wildcard-ent"      "x.deep.wild2.$z" AAAA NOERROR $den
	resolve "$k:wildcard-cname"    "foo.wcname.$z" A NOERROR $den
	resolve "$k:wildcard-itself"   "*.wild.$z" MX NOERROR ad
	resolve "$k:cname"             "cname2.$z" A NOERROR ad
	# Unbound follows at most 11 CNAMEs itself: 8 links here; the whole
	# 22-link chain is in the differential test.
	resolve "$k:cname-8"           "c15.$z" A NOERROR ad
	resolve "$k:cname-nxdomain"    "cnamenx.$z" A NXDOMAIN $den
	resolve "$k:cname-nodata"      "cname.$z" SRV NOERROR ad
	resolve "$k:cname-ent"         "cnameent.$z" A NOERROR ad
	resolve "$k:cname-wildcard"    "cnamew2.$z" A NOERROR $den
	resolve "$k:dname"             "x.dname.$z" A NOERROR ad
	resolve "$k:dname-nxdomain"    "y.dname.$z" A NXDOMAIN $den
	resolve "$k:cname-to-dname"    "cnamedname.$z" A NOERROR ad
	resolve "$k:ds-signed"         "sub.$z" DS NOERROR ad
	resolve "$k:referral-signed"   "www.sub.$z" A NOERROR ad
	resolve "$k:referral-nxdomain" "nothere.sub.$z" A NXDOMAIN ad
	resolve "$k:mx-additional"     "$z" MX NOERROR ad
	# Below an unsigned cut the answer is insecure (proved so: no SERVFAIL).
	resolve "$k:referral-insecure" "www.insecure.$z" A NOERROR noad
	# The DS proof of an unsigned child: secure NODATA from its NSEC or
	# NSEC3; with opt-out the child has no NSEC3 (RFC 5155 7.2.4): insecure.
	resolve "$k:ds-unsigned"       "insecure.$z" DS NOERROR $den
	# NSEC3PARAM like any RRset at the apex.
	[ $z = nsec.test ] || resolve "$k:nsec3param" "$z" NSEC3PARAM NOERROR ad
done
# An unsigned cut below an empty non-terminal: with opt-out neither has an
# NSEC3, and the DS answer is the closest provable encloser proof with an
# opt-out NSEC3 covering the next closer name (RFC 5155 7.2.4): insecure.
resolve optout:ds-optout deleg.ent2.optout.test DS NOERROR noad
resolve nsec3:ds-ent-cut deleg.ent2.nsec3.test DS NOERROR ad
resolve nsec:ds-ent-cut deleg.ent2.nsec.test DS NOERROR ad
# RFC 5155 7.2.8: an NSEC3 owner name answers NXDOMAIN, and that validates.
for z in nsec3.test optout.test; do
	den=ad
	[ $z = optout.test ] && den=noad
	h=$(grep -m1 -E "^[0-9a-v]{32}\.$z\.[[:space:]].*NSEC3[[:space:]]" "$TMP/z/$z.zone.signed" | awk '{ print $1 }')
	resolve "${z%.test}:nsec3-owner" "$h" A NXDOMAIN $den
	resolve "${z%.test}:nsec3-owner-nsec3" "$h" NSEC3 NXDOMAIN $den
done
# A changed record under its old signature: bogus, SERVFAIL.
resolve broken:bogus www.broken.test A SERVFAIL any
resolve broken:others-fine mail.broken.test A NOERROR ad

# --- drill -S: chase every signature up to the zone's DS --------------------
chase() {
	local name=$1 z=$2 q=$3 t=$4 out
	if out=$(drill -S -k "$TMP/z/$z.ds" -p "$APORT" @127.0.0.1 "$q" "$t" 2>&1) &&
		! echo "$out" | grep -q -i -E "chase failed|bogus|Error"; then
		pass "dnssec:drill:$name"
	else
		fail "dnssec:drill:$name" "drill -S $q $t"
		echo "$out" | tail -8
	fi
}
for z in nsec.test nsec3.test optout.test; do
	k=${z%.test}
	chase "$k:positive" "$z" "www.$z" A
	chase "$k:wildcard" "$z" "foo.wild.$z" A
	chase "$k:nxdomain" "$z" "nothere.$z" A
	chase "$k:nodata" "$z" "www.$z" SRV
done
if out=$(drill -S -k "$TMP/z/broken.test.ds" -p "$APORT" @127.0.0.1 www.broken.test A 2>&1) &&
	! echo "$out" | grep -q -i -E "bogus|failed|invalid"; then
	fail dnssec:drill:broken "drill -S accepted a broken signature"
else
	pass dnssec:drill:broken
fi

# --- NXDOMAIN with its proofs (past 512 bytes) from the answer cache ---------
for z in nsec3.test optout.test; do
	if out=$(/usr/bin/python3 "$HERE/cached.py" 127.0.0.1 "$APORT" "$MPORT" "cached-nx.$z" A 2>&1); then
		pass "dnssec:cached-large:$z"
	else
		fail "dnssec:cached-large:$z" "$out"
	fi
done
summary
