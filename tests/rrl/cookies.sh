#!/usr/bin/env bash
# DNS Cookies of the real anynsd, with kdig +cookie: a client cookie gets a
# server cookie; a valid one comes back unchanged; a forged one is answered
# with a new one; a bad length is FORMERR; a second anynsd with the same
# secret accepts the first one's cookies, one with another secret does not;
# after a rollover the previous secret's cookies stay valid. With rrl on, a
# valid cookie exempts the client from the limit and a client cookie alone
# slips as BADCOOKIE. Run by tests/rrl/run.sh (its helpers and $TMP).

SECRET_A=e5e973e5a6b2a43f48e7dc849e37bfcf
SECRET_B=445536bcd2513298075a5d379663c962
CC=2464c4abcf10c957

# kcookie PORT COOKIE-HEX [kdig args]: the COOKIE the answer carries (upper case hex).
kcookie() {
	local port=$1 ck=$2
	shift 2
	kdig @127.0.0.1 -p "$port" +time=2 +retry=0 +nobadcookie +cookie="$ck" "$@" \
		www.example.com A 2>&1 | awk '/^;; COOKIE:/ { print $3 }'
}
kstatus() {
	local port=$1 ck=$2
	shift 2
	kdig @127.0.0.1 -p "$port" +time=2 +retry=0 +nobadcookie +cookie="$ck" "$@" \
		www.example.com A 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
}
lc() { tr 'A-F' 'a-f'; }

PA=$(free_port)
PB=$(free_port)
PC=$(free_port)
PD=$(free_port)
start_anynsd ck-a 127.0.0.1 "$PA" "{ rate: 50, slip: 2 }" \
	"cookies: { enable: true, secret: $SECRET_A }"
PIDA=$DPID
start_anynsd ck-b 127.0.0.1 "$PB" "{ rate: 50, slip: 2 }" \
	"cookies: { enable: true, secret: $SECRET_A }"
PIDB=$DPID
start_anynsd ck-c 127.0.0.1 "$PC" "{ rate: 50, slip: 2 }" \
	"cookies: { enable: true, secret: $SECRET_B, previous-secret: $SECRET_A }"
PIDC=$DPID
start_anynsd ck-d 127.0.0.1 "$PD" "{ rate: 50, slip: 2 }" \
	"cookies: { enable: true, secret: $SECRET_B }"
PIDD=$DPID
if ! wait_dns "$PA" || ! wait_dns "$PB" || ! wait_dns "$PC" || ! wait_dns "$PD"; then
	fail $T:cookies-start "an anynsd did not answer"
	return 0 2>/dev/null || exit 0
fi
sleep 1.1

# A client cookie alone: the answer, with it and a 16-byte server cookie (version 1).
got=$(kcookie "$PA" "$CC" | lc)
st=$(kstatus "$PA" "$CC")
[[ "$got" =~ ^${CC}01000000[0-9a-f]{24}$ ]] && [ "$st" = NOERROR ] &&
	pass $T:cookie-client-only || fail $T:cookie-client-only "got '$got' $st"
GOOD=$got

# The same over TCP.
got=$(kcookie "$PA" "$CC" +tcp | lc)
[[ "$got" =~ ^${CC}01000000[0-9a-f]{24}$ ]] && pass $T:cookie-tcp || fail $T:cookie-tcp "got '$got'"

# The cookie back: valid, returned unchanged.
got=$(kcookie "$PA" "$GOOD" | lc)
[ -n "$GOOD" ] && [ "$got" = "$GOOD" ] && pass $T:cookie-good || fail $T:cookie-good "sent $GOOD got $got"

# A forged one (right shape, wrong hash): answered, with a new cookie.
FORGED=${GOOD:0:32}0000000000000000
got=$(kcookie "$PA" "$FORGED" | lc)
st=$(kstatus "$PA" "$FORGED")
[ "$st" = NOERROR ] && [[ "$got" =~ ^${CC}01000000 ]] && [ "$got" != "$FORGED" ] &&
	pass $T:cookie-bad || fail $T:cookie-bad "sent $FORGED got '$got' $st"

# A COOKIE option of 12 bytes (neither 8 nor 16..40): FORMERR.
rc=$($PY - "$PA" <<'PY'
import sys, dns.edns, dns.message, dns.query, dns.rcode
q = dns.message.make_query("www.example.com", "A", use_edns=0,
                           options=[dns.edns.GenericOption(10, bytes(12))])
r = dns.query.udp(q, "127.0.0.1", port=int(sys.argv[1]), timeout=2)
print(dns.rcode.to_text(r.rcode()))
PY
)
[ "$rc" = FORMERR ] && pass $T:cookie-formerr || fail $T:cookie-formerr "got $rc"

# Another anynsd with the same secret accepts it; one with another does not.
got=$(kcookie "$PB" "$GOOD" | lc)
[ "$got" = "$GOOD" ] && pass $T:cookie-shared-secret || fail $T:cookie-shared-secret "got $got"
got=$(kcookie "$PD" "$GOOD" | lc)
[ -n "$got" ] && [ "$got" != "$GOOD" ] && pass $T:cookie-other-secret ||
	fail $T:cookie-other-secret "got '$got'"

# Valid cookies are not rate limited: 500 queries at rate 50 all answered;
# a client cookie alone is limited, its slips are BADCOOKIE.
j=$($PY "$BURST" --port "$PA" --count 500 --seconds 0.5 --cookie "$GOOD")
echo "  valid cookie at rate 50: $j"
[ "$(field "$j" full)" -ge 495 ] && pass $T:cookie-exempt || fail $T:cookie-exempt "$j"
j=$($PY "$BURST" --port "$PA" --count 500 --seconds 0.5 --cookie "$CC")
echo "  client cookie only at rate 50: $j"
full=$(field "$j" full); bc=$(field "$j" badcookie); tc=$(field "$j" tc)
[ "$full" -le 110 ] && [ "$bc" -ge 150 ] && [ "$tc" -eq 0 ] && pass $T:cookie-badcookie-slip ||
	fail $T:cookie-badcookie-slip "$j"

# Rollover: the cookie made with the previous secret is valid (not limited)
# where it is the previous secret, limited where it is unknown.
j=$($PY "$BURST" --port "$PC" --count 500 --seconds 0.5 --cookie "$GOOD")
echo "  previous secret's cookie, rolled over: $j"
[ "$(field "$j" full)" -ge 495 ] && pass $T:cookie-rotated || fail $T:cookie-rotated "$j"
j=$($PY "$BURST" --port "$PD" --count 500 --seconds 0.5 --cookie "$GOOD")
echo "  the same, secret unknown: $j"
[ "$(field "$j" full)" -le 110 ] && pass $T:cookie-unknown-limited ||
	fail $T:cookie-unknown-limited "$j"
for p in $PIDA $PIDB $PIDC $PIDD; do stop_pid "$p"; done
