#!/usr/bin/env bash
# anyns-health end to end: the hook beside a real ExaBGP and a real BIRD, both
# peering with a "router" BIRD, all on loopback addresses inside a network
# namespace this script creates (so the guard tun device, ports and sockets
# never touch the host). NSD stands in for the DNS server.
#
#   router BIRD  127.0.0.1:$P_R     AS 65000   (show route = what the network sees)
#   ExaBGP       127.0.0.2:$P_EXA   AS 65001   hook as its API process, 192.0.2.53/32
#   PoP BIRD     127.0.0.3:$P_POP   AS 65002   hook with the bird backend, 198.51.100.53/32
#   GoBGP        127.0.0.4:$P_GOBGP AS 65003   hook --supervise, gobgp backend, 203.0.113.60/32
#   FRR bgpd     127.0.0.5:$P_FRR   AS 65005   hook --supervise, frr backend (vtysh), 203.0.113.70/32
#   ExaBGP #2    127.0.0.6:$P_EXA2  AS 65006   hook that cannot restart, 203.0.113.80/32
#   NSD          127.0.0.1:$P_NSD   example.com serial 2024010101
#   NSD primary  127.0.0.1:$P_PRI   example.com serial 2024010102 (for the lag check)
# Every port is a free one picked at start (P_* below), so runs never collide.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
HOOK=$BIN/anyns-health

need() { command -v "$1" >/dev/null 2>&1; }
# alive PID: the process exists and is not a zombie waiting for our wait.
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st#Z}" = "$st" ]; }
gone() { ! alive "$1"; }
# wait_for SECONDS CMD...: runs CMD every 20 ms until it succeeds (0) or SECONDS
# (fractions allowed) have passed (1). Bounds follow the configured timing.
wait_for() {
	local end=$(( $(date +%s%3N) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }') ))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s%3N)" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# The shipped examples must stay valid (runs without root).
if [ -x "$HOOK" ]; then
	set -- "$ROOT"/bgp-hook/examples/*.yaml
	plan $(($# + 2))
	for f in "$ROOT"/bgp-hook/examples/*.yaml; do
		check "example-$(basename "$f" .yaml)-valid" sh -c '"$0" -t -c "$1" >/dev/null' "$HOOK" "$f"
	done
	check help-exits-0 sh -c '"$0" --help | grep -q supervise' "$HOOK"
	if "$HOOK" -c /nonexistent.yaml 2>/dev/null; then rc=0; else rc=$?; fi
	check missing-config-exits-2 [ "$rc" -eq 2 ]
fi
if ! need_root hook; then summary; exit $?; fi
for t in ip bird birdc exabgp nsd kdig; do
	if ! need $t; then skip hook "$t not installed"; summary; exit 0; fi
done
if [ ! -x "$HOOK" ]; then fail hook-build "$HOOK missing (make first)"; summary; exit 1; fi
# The results below with GoBGP and FRR installed (each missing one records a
# single skip in place of its checks).
plan 65
# Without a tun device the BIRD hook runs without its guard and the tests of
# the guard are skipped; everything else still runs.
GUARD=anyhk0
[ -c /dev/net/tun ] || GUARD=""

T=$(mktemp -d /tmp/anyns-hook.XXXXXX)
NS=$(netns_name hk)
PIDS=()
cleanup() {
	local p i all
	all="${PIDS[*]} $(cat "$T"/*.pid 2>/dev/null)"
	for p in $all; do kill "$p" 2>/dev/null; done
	for i in $(seq 30); do
		alive=
		for p in $all; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for p in $all; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for p in $(cat "$T"/*.sid 2>/dev/null); do $PY "$PEERS" stop "$p"; done
	netns_cleanup
	if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

netns_add "$NS" || { skip_root hook "cannot create a network namespace"; summary; exit $?; }
# Free ports (TCP and UDP) in the namespace, all distinct, held until all are picked.
read -r P_R P_EXA P_POP P_GOBGP P_FRR P_EXA2 P_NSD P_PRI P_SLOW P_MET P_GAPI < <(
	ip netns exec "$NS" /usr/bin/python3 -c '
import socket
held, ports = [], []
while len(ports) < 11:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close(); continue
    held += [t, u]; ports.append(p)
print(*ports)')
[ -n "$P_GAPI" ] || { fail hook-ports "no free ports"; summary; exit 1; }
nsx() { ip netns exec "$NS" "$@"; }

# ---- DNS servers ----------------------------------------------------------
zone() {  # zone SERIAL
	cat <<EOF
\$ORIGIN example.com.
\$TTL 300
@ IN SOA ns1 host $1 3600 900 604800 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
www IN A 192.0.2.81
EOF
}
PY=/usr/bin/python3
PEERS=$ROOT/tests/pylib/peers.py
# nsdconf NAME PORT IDENTITY: $T/NAME/nsd.conf (tests/pylib/peers.py) for an NSD serving
# $T/NAME/example.com.zone on 127.0.0.1 and ::1.
nsdconf() {
	$PY "$PEERS" nsd-config --dir "$T/$1" --listen "127.0.0.1@$2" --listen "::1@$2" \
		--zone "example.com=$T/$1/example.com.zone" --identity "$3" >/dev/null
}
nsdconf nsd $P_NSD pop-a; zone 2024010101 > "$T/nsd/example.com.zone"
nsdconf primary $P_PRI primary; zone 2024010102 > "$T/primary/example.com.zone"
# nsd_start NAME PORT / nsd_stop NAME: NSD NAME in the namespace, in a session of its
# own whose id is in $T/NAME.sid (cleanup stops whatever is left).
nsd_start() { $PY "$PEERS" start nsd --dir "$T/$1" --netns "$NS" > "$T/$1.sid" && wait_ns_dns "$2"; }
nsd_stop() { [ -s "$T/$1.sid" ] && $PY "$PEERS" stop "$(cat "$T/$1.sid")"; rm -f "$T/$1.sid"; }
start_nsd() { nsd_start nsd $P_NSD; }
stop_nsd() { nsd_stop nsd; }
wait_ns_dns() { local i; for i in $(seq 50); do nsx kdig @127.0.0.1 -p "$1" +timeout=1 +retry=0 example.com SOA 2>/dev/null | grep -q NOERROR && return 0; sleep 0.1; done; return 1; }
start_nsd || { fail hook-nsd "NSD did not start"; summary; exit 1; }
nsd_start primary $P_PRI || { fail hook-nsd "primary NSD did not start"; summary; exit 1; }

# ---- BIRD: the router and the PoP speaker ---------------------------------
$PY "$PEERS" bird-config --dir "$T" --name router --router-id 10.255.0.1 >/dev/null <<EOF
template bgp peer {
  local 127.0.0.1 port $P_R as 65000;
  multihop 2;
  hold time 9; connect retry time 1; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export none; };
  debug { states, routes };
}
protocol bgp exa from peer { neighbor 127.0.0.2 port $P_EXA as 65001; passive on; }
protocol bgp pop from peer { neighbor 127.0.0.3 port $P_POP as 65002; }
protocol bgp gobgp from peer { neighbor 127.0.0.4 port $P_GOBGP as 65003; }
protocol bgp frr from peer { neighbor 127.0.0.5 port $P_FRR as 65005; }
protocol bgp exa2 from peer { neighbor 127.0.0.6 port $P_EXA2 as 65006; passive on; }
EOF
: > "$T/pop-hook.conf"
$PY "$PEERS" bird-config --dir "$T" --name pop --router-id 10.255.0.3 \
	--include "$T/pop-hook.conf" >/dev/null <<EOF
protocol bgp upstream {
  local 127.0.0.3 port $P_POP as 65002;
  neighbor 127.0.0.1 port $P_R as 65000;
  multihop 2;
  hold time 9; connect retry time 1; connect delay time 1; error wait time 1, 5;
  # MED goes to an eBGP peer only when set in the export filter (BIRD drops
  # a MED it did not set there), so copy the one the hook put on the route.
  ipv4 { import none; export filter { if proto ~ "anyns_*" then { if defined(bgp_med) then bgp_med = bgp_med; accept; } reject; }; };
}
EOF
nsx bird -c "$T/router.conf" -s "$T/router.ctl" -P "$T/router.pid" ||
	{ fail hook-bird "router BIRD did not start"; summary; exit 1; }
nsx bird -c "$T/pop.conf" -s "$T/pop.ctl" -P "$T/pop.pid" ||
	{ fail hook-bird "PoP BIRD did not start"; summary; exit 1; }

rshow() { birdc -s "$T/router.ctl" show route "$@" 2>/dev/null; }
# has PREFIX: the router has a route for PREFIX
has() { rshow "$1" | grep -q "^$1 "; }
# route_is PREFIX yes|no; wait_route PREFIX yes|no SECONDS (fractions allowed)
route_is() { if has "$1"; then [ "$2" = yes ]; else [ "$2" = no ]; fi; }
wait_route() { wait_for "$3" route_is "$1" "$2"; }
comm_seen() { rshow "$1" all | grep -q "BGP.community:.*(65535,0)"; }
wait_comm() { local i; for i in $(seq $(( $2 * 20 ))); do comm_seen "$1" && return 0; sleep 0.05; done; return 1; }

# ---- the hooks ------------------------------------------------------------
cat > "$T/exa-hook.yaml" <<EOF
log-level: info
control-socket: $T/exa-hook.sock
watchdog: 1s
backend:
  type: exabgp
  asn: 65001
  next-hop: 127.0.0.2
  ack-timeout: 500ms
defaults:
  interval: 300ms
  fast-interval: 100ms
  timeout: 300ms
  rise: 5
  fall: 2
  drain-time: 2s
  maintenance-file: $T/exa-maint
services:
  - name: dns4
    prefix: 192.0.2.53/32
    large-communities: [65001:53:1]
    draining: { med: 900 }
    checks:
      - { name: soa-udp, server: "127.0.0.1:$P_NSD", qname: example.com, serial-min: 2024010101 }
      - { name: www-tcp, server: "127.0.0.1:$P_NSD", transport: tcp, qname: www.example.com,
          qtype: A, rdata: [192.0.2.80, 192.0.2.81] }
EOF
cat > "$T/exa.conf" <<EOF
process hook {
  run $HOOK -c $T/exa-hook.yaml;
  encoder text;
}
neighbor 127.0.0.1 {
  router-id 10.255.0.2;
  local-address 127.0.0.2;
  local-as 65001;
  peer-as 65000;
  connect $P_R;
  family { ipv4 unicast; }
  api { processes [ hook ]; }
}
EOF
cat > "$T/pop-hook.yaml" <<EOF
log-level: info
control-socket: $T/pop-hook.sock
metrics: 127.0.0.1:$P_MET
watchdog: 1s
backend:
  type: bird
  asn: 65002
  socket: $T/pop.ctl
  include: $T/pop-hook.conf
  guard-interface: "$GUARD"
  verify-protocol: upstream
defaults:
  interval: 300ms
  fast-interval: 100ms
  timeout: 300ms
  rise: 3
  fall: 2
  drain-time: 2s
  degraded: { prepend: 3, med: 500 }
services:
  - name: dns-pop
    prefix: 198.51.100.53/32
    large-communities: [4200000000:53:1]
    draining: { prepend: 2, med: 900 }   # for routers that ignore 65535:0
    checks:
      - { name: soa-udp, server: "127.0.0.1:$P_NSD", qname: example.com, serial-min: 2024010101 }
      - { name: www-tcp, server: "127.0.0.1:$P_NSD", transport: tcp, qname: www.example.com,
          qtype: A, rdata: [192.0.2.80, 192.0.2.81] }
      - { name: soa-udp6, server: "[::1]:$P_NSD", qname: example.com }
      - { name: soa-tcp6, server: "[::1]:$P_NSD", transport: tcp, qname: example.com }
  - name: dns-lag          # serial behind the primary: DEGRADED, announced de-preferred
    prefix: 203.0.113.53/32
    group: lag
    checks:
      - { name: soa-lag, server: "127.0.0.1:$P_NSD", qname: example.com, serial-primary: "127.0.0.1:$P_PRI" }
  - name: dns-wrong        # wrong data: must never be announced
    prefix: 203.0.113.54/32
    group: wrong
    checks:
      - { name: www-wrong, server: "127.0.0.1:$P_NSD", qname: www.example.com, qtype: A, rdata: 192.0.2.99 }
  - name: dns-slow         # right but over its latency budget: DEGRADED
    prefix: 203.0.113.55/32
    group: slow
    checks:
      - { name: soa-slow, server: "127.0.0.1:$P_SLOW", qname: example.com, latency: 20ms }
EOF

# A DNS server that answers right, 80 ms late (for the latency budget).
cat > "$T/slow.py" <<'EOF'
import socket, sys, time
import dns.message, dns.rrset, dns.flags
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
soa = dns.rrset.from_text("example.com.", 300, "IN", "SOA",
                          "ns1.example.com. host.example.com. 2024010101 3600 900 604800 300")
while True:
    data, peer = s.recvfrom(512)
    q = dns.message.from_wire(data)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    r.answer.append(soa)
    time.sleep(0.08)
    s.sendto(r.to_wire(), peer)
EOF
SLOW=
if /usr/bin/python3 -c "import dns.message" 2>/dev/null; then
	ip netns exec "$NS" /usr/bin/python3 "$T/slow.py" "$P_SLOW" >>"$T/slow.log" 2>&1 &
	PIDS+=($!); SLOW=1
fi

start_exabgp() {
	( cd "$T" && exec ip netns exec "$NS" env exabgp.daemon.user=root exabgp.api.cli=false \
		exabgp.log.destination="$T/exabgp.log" exabgp.tcp.bind=127.0.0.2 exabgp.tcp.port=$P_EXA \
		exabgp.daemon.pid="$T/exabgp.pid" exabgp "$T/exa.conf" >>"$T/exabgp.out" 2>&1 ) &
	PIDS+=($!)
}
start_pop_hook() {
	# Not through nsx (a function): $! must be the hook itself.
	ip netns exec "$NS" "$HOOK" -c "$T/pop-hook.yaml" >>"$T/pop-hook.log" 2>&1 &
	POPHOOK=$!
	PIDS+=($POPHOOK)
}
# hook_pid CONFIG: the hook running CONFIG (not its watchdog process, which has
# the same command line and the name anyns-health-wd).
hook_pid() {
	local p
	for p in $(pgrep -f -- "$HOOK -c ${1:-$T/exa-hook.yaml}"); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = anyns-health ] && { echo "$p"; return 0; }
	done
	return 1
}

check bad-config-exits-2 bash -c "printf 'backend: {type: exabgp}\nservices:\n  - {name: a, prefix: 192.0.2.53/32, rise: x, checks: [{server: 127.0.0.1, qname: a.}]}\n' > $T/bad.yaml; $HOOK -c $T/bad.yaml 2>$T/bad.err; rc=\$?; grep -q 'services\[0\].rise' $T/bad.err && [ \$rc -eq 2 ]"

start_exabgp
start_pop_hook

# 1. healthy -> announced (BGP sessions need a few seconds to come up)
if wait_route 192.0.2.53/32 yes 30; then pass exabgp-healthy-announced; else fail exabgp-healthy-announced; fi
if wait_route 198.51.100.53/32 yes 30; then pass bird-healthy-announced; else fail bird-healthy-announced; fi
if [ -z "$GUARD" ]; then skip bird-guard-interface "/dev/net/tun missing"
elif [ -z "$(ip -n "$NS" link show anyhk0 2>/dev/null)" ]; then fail bird-guard-interface "anyhk0 missing"; else pass bird-guard-interface; fi
if nsx "$HOOK" ctl -s "$T/pop-hook.sock" status | grep -q "dns-pop .*state=up route=announced exported=yes"; then
	pass ctl-status-exported; else fail ctl-status-exported "$(nsx "$HOOK" ctl -s "$T/pop-hook.sock" status)"; fi

if ! need curl; then skip metrics "curl not installed"; else
	metrics=$(nsx curl -s http://127.0.0.1:$P_MET/metrics)
	if echo "$metrics" | grep -q '^anyns_health_state{service="dns-pop",state="up"} 1' &&
		echo "$metrics" | grep -q '^anyns_health_backend_exported{service="dns-pop"} 1' &&
		echo "$metrics" | grep -q '^anyns_health_check_ok{service="dns-pop",check="soa-tcp6"} 1' &&
		echo "$metrics" | grep -q '^anyns_health_flap_penalty{service="dns-pop"}'; then pass metrics
	else fail metrics "$(echo "$metrics" | grep dns-pop | head -5)"; fi
fi
if nsx "$HOOK" ctl -s "$T/pop-hook.sock" drain no-such-service >/dev/null; then fail ctl-unknown-service; else pass ctl-unknown-service; fi

# 1b. Large communities (RFC 8092) beside the standard ones.
if rshow 198.51.100.53/32 all | grep -q "BGP.large_community: (4200000000, 53, 1)" &&
	rshow 192.0.2.53/32 all | grep -q "BGP.large_community: (65001, 53, 1)"; then pass large-communities
else fail large-communities "$(rshow 198.51.100.53/32 all | grep BGP; rshow 192.0.2.53/32 all | grep BGP)"; fi
if ! rshow 198.51.100.53/32 all | grep -q "BGP.med"; then pass drain-fallback-only-when-draining
else fail drain-fallback-only-when-draining "$(rshow 198.51.100.53/32 all | grep BGP)"; fi

# 2. serial behind the primary -> announced de-preferred (prepend 3, MED 500)
if wait_route 203.0.113.53/32 yes 3 && rshow 203.0.113.53/32 all | grep -q "BGP.as_path: 65002 65002 65002 65002" &&
	rshow 203.0.113.53/32 all | grep -q "BGP.med: 500"; then pass degraded-serial-lag-depreferred
else fail degraded-serial-lag-depreferred "$(rshow 203.0.113.53/32 all)"; fi
# 2b. right but slow -> announced de-preferred
if [ -z "$SLOW" ]; then skip degraded-latency-depreferred "python3-dnspython missing"
elif wait_route 203.0.113.55/32 yes 3 && rshow 203.0.113.55/32 all | grep -q "BGP.as_path: 65002 65002 65002 65002" &&
	grep -q "service: state service=dns-slow from=RISING to=DEGRADED reason=\"3 good rounds, last slow: soa-slow: latency" "$T/pop-hook.log"; then
	pass degraded-latency-depreferred
else fail degraded-latency-depreferred "$(rshow 203.0.113.55/32 all; grep dns-slow "$T/pop-hook.log" | tail -3)"; fi

# 3. wrong data never announced
if has 203.0.113.54/32; then fail wrong-rdata-never-announced; else pass wrong-rdata-never-announced; fi

# 4. DNS server stopped -> withdrawn within fall 2: interval 300 + timeout 300 +
# fast 100 + timeout 300 = 1.0 s, plus BGP (bounds below follow the same sums:
# rise rounds, drain-time 2 s, a SIGKILL's guard device or session at once)
stop_nsd
t0=$(date +%s%N)
if wait_route 192.0.2.53/32 no 1.5; then pass exabgp-dns-down-withdrawn; else fail exabgp-dns-down-withdrawn; fi
if wait_route 198.51.100.53/32 no 1.5; then pass bird-dns-down-withdrawn; else fail bird-dns-down-withdrawn; fi
echo "   withdrawn $(( ($(date +%s%N) - t0) / 1000000 )) ms after NSD stopped (fall 2 x 100-300 ms)"

# 5. restart -> re-announced only after rise good rounds
start_nsd
if wait_route 192.0.2.53/32 yes 2.5 && wait_route 198.51.100.53/32 yes 2.5; then pass dns-restart-reannounced; else fail dns-restart-reannounced; fi
# The hook's log must show rise good rounds before the announce.
if grep "service=dns-pop " "$T/pop-hook.log" | grep -A2 "from=DOWN to=RISING" | tail -2 | head -1 | grep -q "from=RISING to=UP reason=\"3 good rounds\""; then pass rise-before-announce
else fail rise-before-announce "$(tail -5 "$T/pop-hook.log")"; fi

# 6. drain -> 65535:0 seen at the router, then withdrawn; undrain -> back
nsx "$HOOK" ctl -s "$T/exa-hook.sock" drain dns4 >/dev/null
nsx "$HOOK" ctl -s "$T/pop-hook.sock" drain dns-pop >/dev/null
if wait_comm 192.0.2.53/32 2; then pass exabgp-drain-community; else fail exabgp-drain-community "$(rshow 192.0.2.53/32 all)"; fi
if wait_comm 198.51.100.53/32 2; then pass bird-drain-community; else fail bird-drain-community "$(rshow 198.51.100.53/32 all)"; fi
# The drain fallback: prepend and MED beside 65535:0, large communities kept.
if rshow 198.51.100.53/32 all | grep -q "BGP.as_path: 65002 65002 65002$" &&
	rshow 198.51.100.53/32 all | grep -q "BGP.med: 900" &&
	rshow 198.51.100.53/32 all | grep -q "BGP.large_community: (4200000000, 53, 1)" &&
	rshow 192.0.2.53/32 all | grep -q "BGP.med: 900" &&
	rshow 192.0.2.53/32 all | grep -q "BGP.large_community: (65001, 53, 1)"; then pass drain-fallback-prepend-med
else fail drain-fallback-prepend-med "$(rshow 198.51.100.53/32 all | grep BGP; rshow 192.0.2.53/32 all | grep BGP)"; fi
if wait_route 192.0.2.53/32 no 2.7; then pass exabgp-drain-withdrawn; else fail exabgp-drain-withdrawn; fi
if wait_route 198.51.100.53/32 no 2.7; then pass bird-drain-withdrawn; else fail bird-drain-withdrawn; fi
sleep 1
if has 192.0.2.53/32 || has 198.51.100.53/32; then fail drained-stays-withdrawn; else pass drained-stays-withdrawn; fi
nsx "$HOOK" ctl -s "$T/exa-hook.sock" undrain >/dev/null
nsx "$HOOK" ctl -s "$T/pop-hook.sock" undrain >/dev/null
if wait_route 192.0.2.53/32 yes 2.5 && wait_route 198.51.100.53/32 yes 2.5 && ! comm_seen 192.0.2.53/32; then
	pass undrain-reannounced; else fail undrain-reannounced; fi

# 6b. The PoP's BIRD restarts under a running hook: the hook keeps running and
# BIRD reads the announced route back from the hook's include file.
kill "$(cat "$T/pop.pid")"
wait_route 198.51.100.53/32 no 2
for i in $(seq 50); do [ -e "$T/pop.ctl" ] || break; sleep 0.1; done
sleep 0.5
nsx bird -c "$T/pop.conf" -s "$T/pop.ctl" -P "$T/pop.pid"
if wait_route 198.51.100.53/32 yes 20 && kill -0 "$POPHOOK" 2>/dev/null; then pass bird-restart-hook-survives
else fail bird-restart-hook-survives "$(tail -3 "$T/pop-hook.log")"; fi

# 6c. A drain survives a restart of the hook (state file): the BIRD hook is
# killed while draining; the new one stays drained (and withdrawn) until undrain.
nsx "$HOOK" ctl -s "$T/pop-hook.sock" drain dns-pop >/dev/null
wait_comm 198.51.100.53/32 1
kill -9 "$POPHOOK"; wait "$POPHOOK" 2>/dev/null
start_pop_hook
sleep 1.2   # rise 3 at 100 ms would have announced it by now
if ! has 198.51.100.53/32 &&
	nsx "$HOOK" ctl -s "$T/pop-hook.sock" status | grep -q "^dns-pop .*state=drained route=withdrawn"; then
	pass drain-survives-restart
else fail drain-survives-restart "$(nsx "$HOOK" ctl -s "$T/pop-hook.sock" status | head -1)"; fi
nsx "$HOOK" ctl -s "$T/pop-hook.sock" undrain dns-pop >/dev/null
if wait_route 198.51.100.53/32 yes 1.5; then pass undrain-after-restart; else fail undrain-after-restart; fi

# 6d. The maintenance file drains (65535:0, then withdrawn after drain-time);
# checks go on while draining, so the server dying then withdraws at once
# (within a round: interval 300 + timeout 300 ms), not at the end of drain-time.
touch "$T/exa-maint"
if wait_comm 192.0.2.53/32 1; then pass maintenance-file-drains
else fail maintenance-file-drains "$(rshow 192.0.2.53/32 all)"; fi
stop_nsd
if wait_route 192.0.2.53/32 no 0.9; then pass drain-server-dies-withdrawn
else fail drain-server-dies-withdrawn "$(grep dns4 "$T/exabgp.out" | tail -2)"; fi
start_nsd
rm -f "$T/exa-maint"
if wait_route 192.0.2.53/32 yes 3 && ! comm_seen 192.0.2.53/32; then pass maintenance-file-removed-back
else fail maintenance-file-removed-back "$(grep dns4 "$T/exabgp.out" | tail -2)"; fi
wait_route 198.51.100.53/32 yes 3

# 7. SIGTERM -> withdrawn (BIRD backend: the hook exits 0 and stays gone)
kill -TERM "$POPHOOK"
wait "$POPHOOK"; rc=$?
if [ $rc -eq 0 ] && wait_route 198.51.100.53/32 no 1; then pass bird-sigterm-withdrawn; else fail bird-sigterm-withdrawn "rc=$rc"; fi

# 8. SIGKILL -> withdrawn (BIRD backend: the guard tun device dies with the hook)
start_pop_hook
wait_route 198.51.100.53/32 yes 2.5 || fail bird-restart-announced
kill -9 "$POPHOOK"; wait "$POPHOOK" 2>/dev/null
if [ -z "$GUARD" ]; then skip bird-sigkill-withdrawn "/dev/net/tun missing: no guard device"
elif wait_route 198.51.100.53/32 no 1.5; then pass bird-sigkill-withdrawn; else fail bird-sigkill-withdrawn "$(rshow 198.51.100.53/32)"; fi
if [ -z "$GUARD" ]; then skip bird-sigkill-guard-gone "/dev/net/tun missing"
elif ip -n "$NS" link show anyhk0 >/dev/null 2>&1; then fail bird-sigkill-guard-gone; else pass bird-sigkill-guard-gone; fi

# 9. ExaBGP: SIGTERM and SIGKILL of the hook; ExaBGP respawns it. SIGTERM: the
# hook withdraws as it stops (and saves "withdrawn"), so the new one rises
# again. SIGKILL of a hook whose server answers: the new instance finds
# "announced" in the state file, keeps the route and confirms it after one good
# round: no flap. The router's BIRD logs each withdraw ("removed").
removed() { grep -c "exa.ipv4 > removed .*192.0.2.53/32" "$T/router.log" 2>/dev/null || true; }
removed_more() { [ "$(removed)" -gt "$1" ]; }
before=$(removed)
p=$(hook_pid)
if [ -z "$p" ]; then fail exabgp-sigTERM-withdrawn "hook not running"
else
	kill -TERM "$p"
	if wait_for 1 removed_more "$before"; then pass exabgp-sigTERM-withdrawn
	else fail exabgp-sigTERM-withdrawn "$(tail -3 "$T/router.log")"; fi
	# rise 5 at 100 ms after ExaBGP's respawn
	wait_route 192.0.2.53/32 yes 3 || fail exabgp-sigTERM-respawn-reannounced
fi
before=$(removed)
p=$(hook_pid)
if [ -z "$p" ]; then fail exabgp-sigKILL-no-flap "hook not running"
else
	kill -KILL "$p"
	new_hook() { local n; n=$(hook_pid) && [ "$n" != "$1" ] && grep -q "state: restored service=dns4 was=announced kept=yes " "$T/exabgp.out"; }
	if wait_for 3 new_hook "$p" && sleep 1 && [ "$(removed)" = "$before" ] && has 192.0.2.53/32; then
		pass exabgp-sigKILL-no-flap
	else fail exabgp-sigKILL-no-flap "removed $before -> $(removed); $(grep 'dns4' "$T/exabgp.out" | tail -3)"; fi
fi

# 10. exec backend under --supervise: SIGKILL of the hook or of the supervisor
# still withdraws (the supervisor withdraws for a dead child; a dead
# supervisor's child gets SIGTERM through PR_SET_PDEATHSIG).
cat > "$T/route.sh" <<'EOF'
#!/bin/sh
[ "$ANYNS_ACTION" = exported ] && exit 1
echo "$ANYNS_ACTION $ANYNS_PREFIX $ANYNS_STATE" >> "$(dirname "$0")/routes.log"
EOF
chmod +x "$T/route.sh"
cat > "$T/exec-hook.yaml" <<EOF
control-socket: $T/exec-hook.sock
backend: { type: exec, command: $T/route.sh }
defaults: { interval: 300ms, fast-interval: 100ms, timeout: 300ms, rise: 2, fall: 2, degraded: { prepend: 0 } }
services:
  - name: x
    prefix: 203.0.113.99/32
    checks: [ { server: "127.0.0.1:$P_NSD", qname: example.com } ]
EOF
last_route() { tail -1 "$T/routes.log" 2>/dev/null | cut -d' ' -f1; }
wait_last() { local i; for i in $(seq 60); do [ "$(last_route)" = "$1" ] && return 0; sleep 0.05; done; return 1; }
child_of() { local i c; for i in $(seq 40); do c=$(pgrep -P "$1" | head -1); [ -n "$c" ] && { echo "$c"; return 0; }; sleep 0.05; done; return 1; }
ip netns exec "$NS" "$HOOK" --supervise -c "$T/exec-hook.yaml" >>"$T/exec-hook.log" 2>&1 &
SUP=$!; PIDS+=($SUP)
if wait_last announce && CH=$(child_of "$SUP"); then
	kill -9 "$CH"
	wait "$SUP"; rc=$?
	if wait_last withdraw && [ $rc -eq 1 ]; then pass supervise-child-sigkill-withdrawn
	else fail supervise-child-sigkill-withdrawn "rc=$rc $(tail -2 "$T/routes.log")"; fi
else fail supervise-child-sigkill-withdrawn "never announced: $(cat "$T/exec-hook.log")"; fi
ip netns exec "$NS" "$HOOK" --supervise -c "$T/exec-hook.yaml" >>"$T/exec-hook.log" 2>&1 &
SUP=$!; PIDS+=($SUP)
if wait_last announce && CH=$(child_of "$SUP"); then
	PIDS+=($CH)
	kill -9 "$SUP"; wait "$SUP" 2>/dev/null
	if wait_last withdraw; then pass supervisor-sigkill-withdrawn
	else fail supervisor-sigkill-withdrawn "$(tail -2 "$T/routes.log")"; fi
	for i in $(seq 40); do kill -0 "$CH" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$CH" 2>/dev/null; then fail supervisor-sigkill-child-exits; else pass supervisor-sigkill-child-exits; fi
else fail supervisor-sigkill-withdrawn "never announced: $(cat "$T/exec-hook.log")"; fi
# 10d. The control socket with control-group: 0660 of that group, whose
# members may use it (SO_PEERCRED checked), others not; without it 0600.
# Users act through setpriv: nobody with the group, nobody without it.
CG=daemon; CG_GID=$(getent group "$CG" | cut -d: -f3)
mkdir -m 755 "$T/cg"; chmod o+x "$T"
sed "s|routes.log|cg-routes.log|" "$T/route.sh" > "$T/cg-route.sh"; chmod +x "$T/cg-route.sh"
printf 'control-socket: %s\ncontrol-group: %s\nbackend: { type: exec, command: %s }\ndefaults: { degraded: { prepend: 0 } }\nservices:\n  - name: x\n    prefix: 203.0.113.98/32\n    checks: [ { server: "127.0.0.1:%s", qname: example.com } ]\n' \
	"$T/cg/hook.sock" "$CG" "$T/cg-route.sh" "$P_NSD" > "$T/cg-hook.yaml"
ip netns exec "$NS" "$HOOK" -c "$T/cg-hook.yaml" >>"$T/cg-hook.log" 2>&1 &
CGP=$!; PIDS+=($CGP)
wait_for 5 test -S "$T/cg/hook.sock"
as() { setpriv --reuid=65534 --regid="$1" --clear-groups "$HOOK" ctl -s "${2:-$T/cg/hook.sock}" status >/dev/null 2>&1; }
if [ -z "$CG_GID" ] || ! need setpriv; then
	skip_root ctl-group-member "no group $CG or no setpriv"
	skip_root ctl-group-other "no group $CG or no setpriv"
else
	if [ "$(stat -c '%a %G' "$T/cg/hook.sock")" = "660 $CG" ] && as "$CG_GID"; then pass ctl-group-member
	else fail ctl-group-member "$(stat -c '%a %G' "$T/cg/hook.sock"); $(tail -2 "$T/cg-hook.log")"; fi
	# Refused by the file mode; with the mode opened up, by SO_PEERCRED.
	if ! as 65534 && chmod 666 "$T/cg/hook.sock" && ! as 65534 &&
	   grep -q "ctl: refused uid=65534" "$T/cg-hook.log"; then pass ctl-group-other
	else fail ctl-group-other "$(tail -2 "$T/cg-hook.log")"; fi
fi
kill "$CGP" 2>/dev/null; wait "$CGP" 2>/dev/null
grep -v '^control-group:' "$T/cg-hook.yaml" | sed "s|$T/cg/hook.sock|$T/cg/plain.sock|" > "$T/cg-plain.yaml"
ip netns exec "$NS" "$HOOK" -c "$T/cg-plain.yaml" >>"$T/cg-hook.log" 2>&1 &
CGP=$!; PIDS+=($CGP)
wait_for 5 test -S "$T/cg/plain.sock"
if [ "$(stat -c '%a' "$T/cg/plain.sock" 2>/dev/null)" = 600 ] && ! as "$CG_GID" "$T/cg/plain.sock"; then pass ctl-no-group-0600
else fail ctl-no-group-0600 "$(stat -c '%a %G' "$T/cg/plain.sock" 2>&1)"; fi
kill "$CGP" 2>/dev/null; wait "$CGP" 2>/dev/null
sed 's/^control-group: .*/control-group: no-such-group-anyns/' "$T/cg-hook.yaml" > "$T/cg-bad.yaml"
"$HOOK" -t -c "$T/cg-bad.yaml" >"$T/cg-bad.log" 2>&1; rc=$?
if [ $rc -eq 2 ] && grep -q "control-group: no group 'no-such-group-anyns'" "$T/cg-bad.log"; then
	pass ctl-group-unknown-exits-2
else fail ctl-group-unknown-exits-2 "rc=$rc $(cat "$T/cg-bad.log")"; fi

primary_stop() { nsd_stop primary; }
primary_start() { nsd_start primary $P_PRI; }
# 10a. Groups: two prefixes whose checks ask two servers, in one group (the
# default). One server stops: both prefixes are withdrawn.
cat > "$T/grp-hook.yaml" <<EOF
control-socket: $T/grp-hook.sock
backend: { type: exec, command: $T/grp-route.sh }
defaults: { interval: 300ms, fast-interval: 100ms, timeout: 300ms, rise: 2, fall: 2, degraded: { prepend: 0 } }
services:
  - name: g4
    prefix: 203.0.113.100/32
    checks: [ { server: "127.0.0.1:$P_NSD", qname: example.com } ]
  - name: g6
    prefix: 2001:db8::100/128
    checks: [ { server: "[::1]:$P_PRI", qname: example.com } ]
EOF
sed "s|routes.log|grp.log|" "$T/route.sh" > "$T/grp-route.sh"; chmod +x "$T/grp-route.sh"
# grp_state PREFIX: the last action on PREFIX (announce|withdraw)
grp_state() { grep " $1 " "$T/grp.log" 2>/dev/null | tail -1 | cut -d' ' -f1; }
grp_is() { [ "$(grp_state "$1")" = "$2" ]; }
grp_wait() { wait_for "$3" grp_is "$1" "$2"; }
ip netns exec "$NS" "$HOOK" -c "$T/grp-hook.yaml" >>"$T/grp-hook.log" 2>&1 &
GRP=$!; PIDS+=($GRP)
if grp_wait 203.0.113.100/32 announce 5 && grp_wait 2001:db8::100/128 announce 2; then
	primary_stop
	# fall 2: interval 300 + timeout 300 + fast 100 + timeout 300 = 1.0 s at most
	if grp_wait 2001:db8::100/128 withdraw 1.3 && grp_wait 203.0.113.100/32 withdraw 0.2; then
		pass group-one-failure-withdraws-all
	else fail group-one-failure-withdraws-all "$(cat "$T/grp.log")"; fi
	primary_start
	if grp_wait 203.0.113.100/32 announce 3 && grp_wait 2001:db8::100/128 announce 1; then
		pass group-back-together; else fail group-back-together "$(cat "$T/grp.log")"; fi
else fail group-one-failure-withdraws-all "never announced: $(tail -3 "$T/grp-hook.log")"; fi
kill "$GRP"

# 10b'. exec check: a command's exit status (a dependency DNS cannot see);
# a command that outlives its timeout is a bad result too.
cat > "$T/xchk-hook.yaml" <<EOF
control-socket: $T/xchk-hook.sock
backend: { type: exec, command: $T/xchk-route.sh }
defaults: { interval: 300ms, fast-interval: 100ms, timeout: 300ms, rise: 2, fall: 2, degraded: { prepend: 0 } }
services:
  - name: x
    prefix: 203.0.113.101/32
    checks:
      - { name: dep, type: exec, command: [/usr/bin/test, -e, $T/dep-ok] }
      - { name: slowdep, type: exec, command: "if [ -e $T/dep-slow ]; then sleep 1; fi", timeout: 200ms }
EOF
sed "s|routes.log|xchk.log|" "$T/route.sh" > "$T/xchk-route.sh"; chmod +x "$T/xchk-route.sh"
xchk_is() { [ "$(tail -1 "$T/xchk.log" 2>/dev/null | cut -d' ' -f1)" = "$1" ]; }
touch "$T/dep-ok"
ip netns exec "$NS" "$HOOK" -c "$T/xchk-hook.yaml" >>"$T/xchk-hook.log" 2>&1 &
XCHK=$!; PIDS+=($XCHK)
if wait_for 2 xchk_is announce; then
	rm -f "$T/dep-ok"
	if wait_for 1.2 xchk_is withdraw; then pass exec-check-exit-status
	else fail exec-check-exit-status "$(tail -3 "$T/xchk-hook.log")"; fi
	touch "$T/dep-ok"
	wait_for 2 xchk_is announce
	touch "$T/dep-slow"
	if wait_for 1.5 xchk_is withdraw && grep -q "slowdep: no exit within 200 ms" "$T/xchk-hook.log"; then
		pass exec-check-timeout
	else fail exec-check-timeout "$(tail -3 "$T/xchk-hook.log")"; fi
else fail exec-check-exit-status "never announced: $(tail -3 "$T/xchk-hook.log")"; fi
kill "$XCHK"

# 10c. systemd: with NOTIFY_SOCKET and WATCHDOG_USEC (what systemd gives a
# Type=notify unit with WatchdogSec=) the hook says READY=1, then WATCHDOG=1
# every half period while it runs, and nothing once it is stopped.
cat > "$T/notify.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.1)
end = time.time() + float(sys.argv[2])
with open(sys.argv[3], "a", buffering=1) as f:
    while time.time() < end:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            continue
        for line in m.split("\n"):
            f.write("%.3f %s\n" % (time.time(), line))
EOF
ip netns exec "$NS" /usr/bin/python3 "$T/notify.py" "$T/notify.sock" 6 "$T/notify.log" &
NPY=$!; PIDS+=($NPY)
for i in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.02; done
ip netns exec "$NS" env NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 sh -c \
	'WATCHDOG_PID=$$ exec "$0" -c "$1"' "$HOOK" "$T/exec-hook.yaml" >>"$T/notify-hook.log" 2>&1 &
NHK=$!; PIDS+=($NHK)
sleep 1.2
beats=$(grep -c "WATCHDOG=1" "$T/notify.log" 2>/dev/null)
kill -STOP "$NHK"; sleep 0.1
n1=$(grep -c "WATCHDOG=1" "$T/notify.log" 2>/dev/null); sleep 0.8
n2=$(grep -c "WATCHDOG=1" "$T/notify.log" 2>/dev/null)
kill -9 "$NHK"
# 200 ms period: about 6 beats in 1.2 s, none while stopped.
if grep -q "READY=1" "$T/notify.log" && [ "${beats:-0}" -ge 4 ] && [ "$n1" = "$n2" ]; then
	pass systemd-notify-watchdog
else fail systemd-notify-watchdog "beats=$beats stopped: $n1 -> $n2; $(head -3 "$T/notify.log")"; fi

# 10b. Flap penalty: two flaps put this service over `suppress`; it is then held
# DOWN although its server answers again.
cat > "$T/flap-route.sh" <<'EOF'
#!/bin/sh
[ "$ANYNS_ACTION" = exported ] && exit 1
echo "$ANYNS_ACTION $ANYNS_STATE" >> "$(dirname "$0")/flap.log"
EOF
chmod +x "$T/flap-route.sh"
cat > "$T/flap-hook.yaml" <<EOF
control-socket: $T/flap-hook.sock
backend: { type: exec, command: $T/flap-route.sh }
defaults: { interval: 100ms, fast-interval: 100ms, timeout: 200ms, rise: 1, fall: 1,
            degraded: { prepend: 0 },
            flap: { penalty: 1000, half-life: 60s, suppress: 1500, reuse: 500, max: 5000 } }
services:
  - name: flappy
    prefix: 203.0.113.90/32
    checks: [ { server: "127.0.0.1:$P_PRI", qname: example.com } ]
EOF
flap_last() { tail -1 "$T/flap.log" 2>/dev/null | cut -d' ' -f1; }
flap_wait() { local i; for i in $(seq 60); do [ "$(flap_last)" = "$1" ] && return 0; sleep 0.05; done; return 1; }
ip netns exec "$NS" "$HOOK" -c "$T/flap-hook.yaml" >>"$T/flap-hook.log" 2>&1 &
FLAPHK=$!; PIDS+=($FLAPHK)
ok=1
flap_wait announce || ok=0
primary_stop; flap_wait withdraw || ok=0
primary_start; flap_wait announce || ok=0
primary_stop; flap_wait withdraw || ok=0
primary_start
sleep 1.5
if [ $ok = 1 ] && [ "$(flap_last)" = withdraw ] &&
	nsx "$HOOK" ctl -s "$T/flap-hook.sock" status | grep -q "flappy .*state=down route=withdrawn.*reason=held down: flap penalty"; then
	pass flap-penalty-holds-down
else fail flap-penalty-holds-down "ok=$ok $(tail -3 "$T/flap.log") $(nsx "$HOOK" ctl -s "$T/flap-hook.sock" status | head -2)"; fi
# A restarted hook keeps the penalty (state file): still held down.
kill -9 "$FLAPHK"
ip netns exec "$NS" "$HOOK" -c "$T/flap-hook.yaml" >>"$T/flap-hook.log" 2>&1 &
FLAPHK=$!; PIDS+=($FLAPHK)
sleep 1
if [ "$(flap_last)" = withdraw ] &&
	nsx "$HOOK" ctl -s "$T/flap-hook.sock" status | grep -Eq "flappy .*state=(init|down) route=withdrawn.*reason=held down: flap penalty"; then
	pass flap-penalty-survives-restart
else fail flap-penalty-survives-restart "$(tail -2 "$T/flap.log") $(nsx "$HOOK" ctl -s "$T/flap-hook.sock" status | head -1)"; fi

# 11. GoBGP (when installed): announce through the gobgp CLI, drain community,
# and SIGKILL of the hook under --supervise.
if ! need gobgpd || ! need gobgp; then
	plan $((1 - 5))   # one skip for GoBGP's five checks
	skip gobgp "gobgpd not installed"
else
	cat > "$T/gobgpd.toml" <<EOF
[global.config]
  as = 65003
  router-id = "10.255.0.4"
  port = $P_GOBGP
  local-address-list = ["127.0.0.4"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = 65000
  [neighbors.transport.config]
    local-address = "127.0.0.4"
    remote-port = $P_R
  [neighbors.ebgp-multihop.config]
    enabled = true
    multihop-ttl = 2
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
EOF
	ip netns exec "$NS" gobgpd -f "$T/gobgpd.toml" --api-hosts 127.0.0.1:$P_GAPI --pprof-disable \
		-l warn >>"$T/gobgpd.log" 2>&1 &
	PIDS+=($!)
	cat > "$T/gobgp-hook.yaml" <<EOF
control-socket: $T/gobgp-hook.sock
watchdog: 1500ms
backend: { type: gobgp, asn: 65003, gobgp: $(command -v gobgp), gobgp-args: [-p, "$P_GAPI"], command-timeout: 1s }
defaults: { interval: 300ms, fast-interval: 100ms, timeout: 300ms, rise: 2, fall: 2, drain-time: 2s }
services:
  - name: g
    prefix: 203.0.113.60/32
    checks: [ { server: "127.0.0.1:$P_NSD", qname: example.com } ]
EOF
	ip netns exec "$NS" "$HOOK" --supervise -c "$T/gobgp-hook.yaml" >>"$T/gobgp-hook.log" 2>&1 &
	GSUP=$!; PIDS+=($GSUP)
	if wait_route 203.0.113.60/32 yes 30; then pass gobgp-healthy-announced
	else fail gobgp-healthy-announced "$(tail -3 "$T/gobgp-hook.log")"; fi
	nsx "$HOOK" ctl -s "$T/gobgp-hook.sock" drain >/dev/null
	if wait_comm 203.0.113.60/32 2 && wait_route 203.0.113.60/32 no 2.7; then pass gobgp-drain
	else fail gobgp-drain "$(rshow 203.0.113.60/32 all)"; fi
	nsx "$HOOK" ctl -s "$T/gobgp-hook.sock" undrain >/dev/null
	if wait_route 203.0.113.60/32 yes 2.5 && GCH=$(child_of "$GSUP"); then
		kill -9 "$GCH"
		if wait_route 203.0.113.60/32 no 1.5; then pass gobgp-supervised-sigkill-withdrawn
		else fail gobgp-supervised-sigkill-withdrawn; fi
	else fail gobgp-supervised-sigkill-withdrawn "not re-announced after undrain"; fi
fi
# 12. FRR (when installed): bgpd alone (no zebra), the hook drives it through
# vtysh "network P route-map RM"; drain route-map adds 65535:0.
FRRBGPD=/usr/lib/frr/bgpd
if [ ! -x "$FRRBGPD" ] || ! need vtysh; then
	plan $((1 - 6))   # one skip for FRR's six checks
	skip frr "frr not installed"
else
	mkdir -p "$T/frr"
	cat > "$T/frr/bgpd.conf" <<EOF
frr defaults traditional
hostname anyns-hook-frr
log file $T/frr/bgpd.log
router bgp 65005
 bgp router-id 10.255.0.5
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 127.0.0.1 remote-as 65000
 neighbor 127.0.0.1 port $P_R
 neighbor 127.0.0.1 update-source 127.0.0.5
 neighbor 127.0.0.1 ebgp-multihop 2
 neighbor 127.0.0.1 timers connect 1
route-map ANYNS-DRAIN permit 10
 set community 65535:0 additive
EOF
	nsx "$FRRBGPD" -d -f "$T/frr/bgpd.conf" -i "$T/frrbgpd.pid" -Z -S --vty_socket "$T/frr" \
		-p $P_FRR -l 127.0.0.5 -P 0 >>"$T/frr/bgpd.out" 2>&1
	cat > "$T/frr-hook.yaml" <<EOF
control-socket: $T/frr-hook.sock
watchdog: 1500ms
backend:
  type: frr
  asn: 65005
  command-timeout: 1s
  vtysh: $(command -v vtysh)
  vtysh-args: [--vty_socket, $T/frr]
  route-map-drain: ANYNS-DRAIN
defaults: { interval: 300ms, fast-interval: 100ms, timeout: 300ms, rise: 2, fall: 2, drain-time: 2s, degraded: { prepend: 0 } }
services:
  - name: f
    prefix: 203.0.113.70/32
    checks: [ { server: "127.0.0.1:$P_NSD", qname: example.com } ]
EOF
	ip netns exec "$NS" "$HOOK" --supervise -c "$T/frr-hook.yaml" >>"$T/frr-hook.log" 2>&1 &
	FSUP=$!; PIDS+=($FSUP)
	if wait_route 203.0.113.70/32 yes 30; then pass frr-healthy-announced
	else fail frr-healthy-announced "$(tail -3 "$T/frr-hook.log")"; fi
	if nsx "$HOOK" ctl -s "$T/frr-hook.sock" status | grep -q "exported=yes"; then pass frr-exported
	else fail frr-exported "$(nsx "$HOOK" ctl -s "$T/frr-hook.sock" status)"; fi
	nsx "$HOOK" ctl -s "$T/frr-hook.sock" drain >/dev/null
	if wait_comm 203.0.113.70/32 2 && wait_route 203.0.113.70/32 no 2.7; then pass frr-drain
	else fail frr-drain "$(rshow 203.0.113.70/32 all)"; fi
	nsx "$HOOK" ctl -s "$T/frr-hook.sock" undrain >/dev/null
	if wait_route 203.0.113.70/32 yes 2.5 && ! comm_seen 203.0.113.70/32 && FCH=$(child_of "$FSUP"); then
		kill -9 "$FCH"
		if wait_route 203.0.113.70/32 no 1.5; then pass frr-supervised-sigkill-withdrawn
		else fail frr-supervised-sigkill-withdrawn; fi
	else fail frr-supervised-sigkill-withdrawn "not re-announced without 65535:0 after undrain"; fi
fi
# 13. ExaBGP when the killed hook cannot start again (here: its config broke):
# ExaBGP gives up after 5 quick deaths, exits, and the session drops.
cat > "$T/exa2-hook.yaml" <<EOF
control-socket: $T/exa2-hook.sock
backend: { type: exabgp, asn: 65006 }
defaults: { interval: 300ms, fast-interval: 100ms, timeout: 300ms, rise: 2, fall: 2 }
services:
  - name: e
    prefix: 203.0.113.80/32
    checks: [ { server: "127.0.0.1:$P_NSD", qname: example.com } ]
EOF
cat > "$T/exa2-hook.sh" <<EOF
#!/bin/sh
# First start: the real hook. Any restart: a broken config (exit 2).
if [ -e "$T/exa2-started" ]; then exec "$HOOK" -c "$T/nonexistent.yaml"; fi
touch "$T/exa2-started"
exec "$HOOK" -c "$T/exa2-hook.yaml"
EOF
chmod +x "$T/exa2-hook.sh"
cat > "$T/exa2.conf" <<EOF
process hook {
  run $T/exa2-hook.sh;
  encoder text;
}
neighbor 127.0.0.1 {
  router-id 10.255.0.6;
  local-address 127.0.0.6;
  local-as 65006;
  peer-as 65000;
  connect $P_R;
  family { ipv4 unicast; }
  api { processes [ hook ]; }
}
EOF
( cd "$T" && exec ip netns exec "$NS" env exabgp.daemon.user=root exabgp.api.cli=false \
	exabgp.tcp.bind=127.0.0.6 exabgp.tcp.port=$P_EXA2 exabgp "$T/exa2.conf" >>"$T/exa2.out" 2>&1 ) &
EXA2=$!; PIDS+=($EXA2)
if wait_route 203.0.113.80/32 yes 30; then
	p=$(hook_pid "$T/exa2-hook.yaml")
	kill -9 "$p"
	ok=
	for i in $(seq 100); do kill -0 "$EXA2" 2>/dev/null || { ok=1; break; }; sleep 0.05; done
	if [ -n "$ok" ] && wait_route 203.0.113.80/32 no 2; then pass exabgp-hook-cannot-restart-session-drops
	else fail exabgp-hook-cannot-restart-session-drops "$(tail -3 "$T/exa2.out")"; fi
else fail exabgp-hook-cannot-restart-session-drops "never announced"; fi

# 14. A hung hook (SIGSTOP) under each backend, and then its DNS server dies:
# the watchdog (watchdog: 1s here; the supervisor under --supervise, a watchdog
# process otherwise) kills the stopped hook and the backend's dying-hook path
# withdraws: within 3 s of the server's death.
start_pop_hook
hung=("exabgp 192.0.2.53/32" "bird 198.51.100.53/32")
if [ -n "${GSUP:-}" ]; then
	ip netns exec "$NS" "$HOOK" --supervise -c "$T/gobgp-hook.yaml" >>"$T/gobgp-hook.log" 2>&1 &
	GSUP=$!; PIDS+=($GSUP); hung+=("gobgp 203.0.113.60/32")
fi
if [ -n "${FSUP:-}" ]; then
	ip netns exec "$NS" "$HOOK" --supervise -c "$T/frr-hook.yaml" >>"$T/frr-hook.log" 2>&1 &
	FSUP=$!; PIDS+=($FSUP); hung+=("frr 203.0.113.70/32")
fi
stopped=()
for h in "${hung[@]}"; do
	set -- $h
	wait_route "$2" yes 15 || { fail "$1-sigstop-withdrawn" "not announced before the test"; continue; }
	case $1 in
	exabgp) p=$(hook_pid) ;;
	bird) p=$POPHOOK ;;
	gobgp) p=$(child_of "$GSUP") ;;
	frr) p=$(child_of "$FSUP") ;;
	esac
	kill -STOP "$p" && stopped+=("$1 $2 $p")
done
stop_nsd
for h in "${stopped[@]}"; do
	set -- $h
	if wait_route "$2" no 3; then pass "$1-sigstop-withdrawn"
	else fail "$1-sigstop-withdrawn" "$2 still announced 3 s after the server died under a stopped hook"; fi
	# The route can be seen gone while the killed hook is still exiting (its
	# files closed, the process not yet a zombie): allow it a second more.
	if wait_for 1 gone "$3"; then pass "$1-sigstop-hook-killed"
	else fail "$1-sigstop-hook-killed" "pid $3 still there (waited 1 s past the route check)"; kill -CONT "$3"; fi
done
if grep -q "watchdog: no-progress pid=" "$T/pop-hook.log"; then pass bird-watchdog-logged
else fail bird-watchdog-logged "$(tail -3 "$T/pop-hook.log")"; fi
summary
