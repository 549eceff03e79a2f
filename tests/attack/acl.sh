#!/usr/bin/env bash
# allow-query per zone, on loopback: kdig bound to 127.0.0.2 (allowed) and to
# 127.0.0.1 (not) asks acl.test over UDP and TCP; open.test answers both. The
# answer cache is primed by the allowed source first (the hit counter shows
# it), and the other source is still REFUSED while the allowed one keeps being
# answered from the cache. IPv6 (::1) is allowed by the list; AXFR follows
# allow-transfer only. A SIGHUP with another list swaps who is answered.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
T=attack
test_setup acl

HAVE_V6=0
ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128' && HAVE_V6=1
zone() {
	printf '$TTL 300\n@ IN SOA ns1 h 1 3600 900 604800 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A %s\n' "$1"
}
zone 192.0.2.80 > "$TMP/acl.test.zone"
zone 192.0.2.81 > "$TMP/open.test.zone"
PORT=$(free_port)
MPORT=$(free_port)
# conf LIST: the config with acl.test's allow-query LIST.
conf() {
	cat <<EOF
server:
  listen: [ "127.0.0.1:$PORT"$([ $HAVE_V6 = 1 ] && echo ", \"[::1]:$PORT\"") ]
  workers: 1
  control: false
  metrics: 127.0.0.1:$MPORT
remotes:
  - id: xfr-client
    address: 127.0.0.1
zones:
  - origin: acl.test
    file: $TMP/acl.test.zone
    allow-query: $1
    allow-transfer: [ xfr-client ]
  - origin: open.test
    file: $TMP/open.test.zone
EOF
}
conf '[ 127.0.0.2, "::1" ]' > "$TMP/anynsd.yaml"
"$BIN/anynsd" "${ANYNSD_USER[@]}" -c "$TMP/anynsd.yaml" >"$TMP/anynsd.log" 2>&1 &
DPID=$!
if ! wait_dns "$PORT"; then
	plan 1
	fail $T:acl-start "anynsd did not answer: $(tail -3 "$TMP/anynsd.log")"
	summary
	exit 1
fi
# The checks below.
plan 10

# q SRC [KDIG ARGS...] NAME: "RCODE ANSWER" as kdig reports them.
q() {
	local src=$1 srv=127.0.0.1; shift
	case $src in *:*) srv=::1 ;; esac
	kdig @"$srv" -p "$PORT" -b "$src" +time=2 +retry=0 "$@" A 2>/dev/null |
		awk '/status:/ { for (i = 1; i < NF; i++) if ($i == "status:") { st = $(i + 1); sub(/[;,]$/, "", st) } }
		     /^;; [A-Z]+ SECTION:/ { sec = $2 }
		     sec == "ANSWER" && /^[^;]/ && $4 == "A" { a = $NF }
		     END { print st, a }'
}
hits() { curl -s "http://127.0.0.1:$MPORT/metrics" | awk '/^anyns_cache_hits_total / { print $2 }'; }

# UDP: the allowed source gets the answer, twice (the second from the cache).
a1=$(q 127.0.0.2 www.acl.test)
h0=$(hits)
a2=$(q 127.0.0.2 www.acl.test)
h1=$(hits)
if [ "$a1" = "NOERROR 192.0.2.80" ] && [ "$a2" = "$a1" ] && [ "${h1:-0}" -gt "${h0:-0}" ]; then
	pass $T:acl-allowed-udp
else
	fail $T:acl-allowed-udp "got '$a1', '$a2', cache hits $h0 -> $h1"
fi
# The same question from the other source, the answer in the cache: REFUSED.
d1=$(q 127.0.0.1 www.acl.test)
d2=$(q 127.0.0.1 www.acl.test)
if [ "$d1" = "REFUSED " ] && [ "$d2" = "REFUSED " ]; then
	pass $T:acl-denied-udp-cached
else
	fail $T:acl-denied-udp-cached "got '$d1', '$d2'"
fi
# ...and the allowed source is still answered from the cache.
h2=$(hits)
a3=$(q 127.0.0.2 www.acl.test)
h3=$(hits)
if [ "$a3" = "NOERROR 192.0.2.80" ] && [ "${h3:-0}" -gt "${h2:-0}" ]; then
	pass $T:acl-allowed-after-denied
else
	fail $T:acl-allowed-after-denied "got '$a3', cache hits $h2 -> $h3"
fi
# TCP goes through the same cache: the allowed source's answer is a hit, the
# other source is still REFUSED.
h4=$(hits)
t1=$(q 127.0.0.2 +tcp www.acl.test)
h5=$(hits)
t2=$(q 127.0.0.1 +tcp www.acl.test)
if [ "$t1" = "NOERROR 192.0.2.80" ] && [ "$t2" = "REFUSED " ] && [ "${h5:-0}" -gt "${h4:-0}" ]; then
	pass $T:acl-tcp
else
	fail $T:acl-tcp "allowed '$t1', other '$t2', cache hits $h4 -> $h5"
fi
# Another zone answers everyone.
o1=$(q 127.0.0.1 www.open.test)
o2=$(q 127.0.0.1 +tcp www.open.test)
if [ "$o1" = "NOERROR 192.0.2.81" ] && [ "$o2" = "$o1" ]; then
	pass $T:acl-other-zone-open
else
	fail $T:acl-other-zone-open "got '$o1', '$o2'"
fi
if [ $HAVE_V6 = 1 ]; then
	v1=$(q ::1 www.acl.test)
	v2=$(q ::1 +tcp www.acl.test)
	if [ "$v1" = "NOERROR 192.0.2.80" ] && [ "$v2" = "$v1" ]; then
		pass $T:acl-ipv6-allowed
	else
		fail $T:acl-ipv6-allowed "got '$v1', '$v2'"
	fi
else
	skip $T:acl-ipv6-allowed "no ::1 on lo"
fi
# AXFR follows allow-transfer (127.0.0.1), not allow-query.
n=$(kdig @127.0.0.1 -p "$PORT" -b 127.0.0.1 +time=2 +retry=0 acl.test AXFR 2>/dev/null | grep -c '	SOA	')
if [ "$n" = 2 ]; then pass $T:acl-axfr-own-list; else fail $T:acl-axfr-own-list "$n SOA records"; fi

# Reload with the list turned around: 127.0.0.1 only.
conf '[ 127.0.0.1/32 ]' > "$TMP/anynsd.yaml"
kill -HUP "$DPID"
swapped() { [ "$(q 127.0.0.1 www.acl.test)" = "NOERROR 192.0.2.80" ]; }
if wait_for 5 swapped && [ "$(q 127.0.0.2 www.acl.test)" = "REFUSED " ] &&
   [ "$(q 127.0.0.2 +tcp www.acl.test)" = "REFUSED " ]; then
	pass $T:acl-reload
else
	fail $T:acl-reload "$(q 127.0.0.1 www.acl.test) / $(q 127.0.0.2 www.acl.test); $(tail -3 "$TMP/anynsd.log")"
fi
if [ $HAVE_V6 = 1 ]; then
	v=$(q ::1 www.acl.test)
	if [ "$v" = "REFUSED " ]; then pass $T:acl-reload-ipv6; else fail $T:acl-reload-ipv6 "got '$v'"; fi
else
	skip $T:acl-reload-ipv6 "no ::1 on lo"
fi
# A bad network is a config error naming the key; the server keeps serving.
printf 'zones:\n  - origin: acl.test\n    file: %s\n    allow-query: [ 10.0.0.0/33 ]\n' \
	"$TMP/acl.test.zone" > "$TMP/bad.yaml"
out=$("$BIN/anynsd" "${ANYNSD_USER[@]}" -c "$TMP/bad.yaml" --check-config 2>&1); rc=$?
if [ $rc = 2 ] && echo "$out" | grep -q 'allow-query: bad network'; then
	pass $T:acl-bad-config
else
	fail $T:acl-bad-config "exit $rc: $out"
fi
summary
