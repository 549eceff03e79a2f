#!/usr/bin/env bash
# The two-region anycast lab (`make lab LAB=world`): what anycast is for.
#
#   c1 (clients, region 1)               c2 (clients, region 2)
#   203.0.113.0/25                       203.0.113.128/25
#        |                                    |
#   r1 (BIRD, AS 64512) ------eBGP------ r2 (BIRD, AS 64513)
#     |          |                            |
#   a1 (AS 64601)  a2 (AS 64602)            b1 (AS 64611)
#
# Every PoP (a1, a2, b1) has 192.0.2.53/32 on its loopback, anynsd answering
# id.server CH TXT and NSID with its name, a BIRD announcing the prefix to its
# region's router, and anyns-health (bird backend) keeping it announced only
# while anynsd answers. Each router prefers its own region's PoPs (AS path 1
# against 2 through the other router) and spreads over equal routes (ECMP: r1
# has a1 and a2; kernel multipath with a layer-4 hash).
#
# Router<->PoP links: 198.51.100.(4k)/30 for k = 1 (a1), 2 (a2), 3 (b1), router
# .4k+1, PoP .4k+2; r1<->r2: 198.51.100.100/30 (r1 .101, r2 .102).
#
# Usage: world.sh up|down|status (as root). tests/lab/run.sh sources it for
# the world scenarios. Uses lab.sh's helpers and environment (B, LAB_DIR,
# LAB_NS, LAB_HEALTH); namespaces are $LAB_NS-w-*.
WORLD_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$WORLD_SH_DIR/lab.sh"
W_DIR=${W_DIR:-$LAB_DIR/world}
W_POPS="a1 a2 b1"
W_REGION_a1=1 W_REGION_a2=1 W_REGION_b1=2
W_K_a1=1 W_K_a2=2 W_K_b1=3

w_region() { local v=W_REGION_$1; echo "${!v}"; }
w_k() { local v=W_K_$1; echo "${!v}"; }
w_rip() { echo "198.51.100.$(( 4 * $(w_k "$1") + 1 ))"; }
w_pip() { echo "198.51.100.$(( 4 * $(w_k "$1") + 2 ))"; }
w_asn() { echo $(( 64600 + $(w_k "$1") + ( $(w_region "$1") - 1 ) * 7 )); }
w_exec() { local n=$1; shift; ip netns exec "$LAB_NS-w-$n" "$@"; }
w_spawn() { local name=$1 ns=$2; shift 2; LAB_DIR=$W_DIR lab_spawn "$name" "w-$ns" "$@"; }
w_stop() { LAB_DIR=$W_DIR lab_stop "$@"; }
w_running() { LAB_DIR=$W_DIR lab_running "$1"; }

w_net_up() {
	local n r
	for n in r1 r2 c1 c2 $W_POPS; do
		ip netns add "$LAB_NS-w-$n" || return 1
		w_exec "$n" ip link set lo up
	done
	for r in r1 r2; do
		w_exec "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 net.ipv4.fib_multipath_hash_policy=1
	done
	ip link add to-r2 netns "$LAB_NS-w-r1" type veth peer name to-r1 netns "$LAB_NS-w-r2" || return 1
	w_exec r1 ip addr add 198.51.100.101/30 dev to-r2
	w_exec r2 ip addr add 198.51.100.102/30 dev to-r1
	w_exec r1 ip link set to-r2 up
	w_exec r2 ip link set to-r1 up
	# Each region's clients are reachable from the other (answers from a far PoP).
	w_exec r1 ip route add 203.0.113.128/25 via 198.51.100.102
	w_exec r2 ip route add 203.0.113.0/25 via 198.51.100.101
	for r in 1 2; do
		ip link add to-c netns "$LAB_NS-w-r$r" type veth peer name eth0 netns "$LAB_NS-w-c$r" || return 1
		w_exec "r$r" ip addr add "203.0.113.$(( (r - 1) * 128 + 1 ))/25" dev to-c
		w_exec "r$r" ip link set to-c up
		w_exec "c$r" ip addr add "203.0.113.$(( (r - 1) * 128 + 2 ))/25" dev eth0
		w_exec "c$r" ip link set eth0 up
		w_exec "c$r" ip route add default via "203.0.113.$(( (r - 1) * 128 + 1 ))"
	done
	for n in $W_POPS; do
		r=r$(w_region "$n")
		ip link add "to-$n" netns "$LAB_NS-w-$r" type veth peer name eth0 netns "$LAB_NS-w-$n" || return 1
		w_exec "$r" ip addr add "$(w_rip "$n")/30" dev "to-$n"
		w_exec "$r" ip link set "to-$n" up
		w_exec "$n" ip addr add "$(w_pip "$n")/30" dev eth0
		w_exec "$n" ip link set eth0 up
		w_exec "$n" ip route add default via "$(w_rip "$n")"
		w_exec "$n" ip addr add "$LAB_V4/32" dev lo
	done
}

# rN's BIRD: its PoPs, the other router; ECMP over equal routes into the kernel.
w_router_conf() {
	local r=$1 n asn=$(( 64511 + $1 )) other=$(( 3 - $1 ))
	cat <<CONF
protocol kernel { ipv4 { import none; export all; }; merge paths on limit 4; }
template bgp pop { local as $asn; hold time 90; keepalive time 30; connect retry time 1;
	connect delay time 1; error wait time 1, 5; graceful restart off; }
protocol bgp r$other {
	local 198.51.100.$(( 100 + r )) as $asn;
	neighbor 198.51.100.$(( 100 + other )) as $(( 64511 + other ));
	hold time 90; keepalive time 30; connect retry time 1; connect delay time 1;
	error wait time 1, 5; graceful restart off;
	ipv4 { import all; export where source = RTS_BGP; };
}
CONF
	for n in $W_POPS; do
		[ "$(w_region "$n")" = "$r" ] || continue
		cat <<CONF
protocol bgp $n from pop {
	neighbor $(w_pip "$n") as $(w_asn "$n");
	ipv4 { import all; export none; };
}
CONF
	done
}

w_pop_bird_conf() {
	local n=$1
	cat <<CONF
protocol bgp upstream {
	local $(w_pip "$n") as $(w_asn "$n");
	neighbor $(w_rip "$n") as $(( 64511 + $(w_region "$n") ));
	hold time 90; keepalive time 30; connect retry time 1; connect delay time 1;
	error wait time 1, 5; graceful restart off;
	ipv4 { import none; export where proto ~ "anyns_*"; };
}
CONF
}

w_health_conf() {
	local n=$1 d=$W_DIR/$1
	cat <<CONF
control-socket: $d/health.sock
backend: { type: bird, asn: $(w_asn "$n"), socket: $d/bird.ctl, include: $d/anyns-bird.conf,
           guard-interface: anyhk0 }
defaults: { flap: { suppress: 20000, max: 40000 } }
services:
  - name: dns4
    prefix: $LAB_V4/32
    checks:
      - { name: soa, server: $LAB_V4, qname: example.com., serial-min: $LAB_SERIAL }
      - { name: www, server: $LAB_V4, transport: tcp, qname: www.example.com., qtype: A, rdata: [192.0.2.80] }
CONF
}

# w_dns_start POP: anynsd (under the lab's supervisor) on the anycast address.
w_dns_start() {
	local n=$1
	w_spawn "$n-dns" "$n" "$LAB_ROOT/tests/lab/supervise.sh" "$LAB_RESTART_SEC" \
		"${LAB_ANYNSD[@]}" --listen "$LAB_V4:53" --zone "example.com=$W_DIR/$n/example.com.zone" \
		--identity "$n" --nsid "$n" --workers 1 --metrics 127.0.0.1:9153
}

w_pop_start() {
	local n=$1 d=$W_DIR/$1
	mkdir -p "$d"
	cp "$LAB_ZONES/example.com.zone" "$d/example.com.zone"
	w_dns_start "$n"
	: >"$d/anyns-bird.conf"
	w_pop_bird_conf "$n" | lab_peers bird-config --dir "$d" --router-id "$(w_pip "$n")" \
		--include "$d/anyns-bird.conf" >/dev/null
	w_spawn "$n-bgp" "$n" bird -f -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
	w_health_conf "$n" >"$d/health.yaml"
	# The hook's first act is a BIRD configure: wait for BIRD's socket.
	local i
	for i in $(seq 1 50); do [ -S "$d/bird.ctl" ] && break; sleep 0.1; done
	w_spawn "$n-hook" "$n" "$LAB_HEALTH" -c "$d/health.yaml"
}

w_birdc() { w_exec "$1" birdc -s "$W_DIR/$1-bird.ctl" "${@:2}"; }
# w_best rN: the protocol (a1, a2, b1, r1, r2) of rN's best route, or none.
w_best() {
	w_birdc "$1" show route for "$LAB_V4/32" 2>/dev/null |
		awk '/ \* / { for (i = 1; i <= NF; i++) if ($i ~ /^\[/) { p = substr($i, 2); print p; f = 1; exit } }
		     END { if (!f) print "none" }'
}
# w_routes rN: the protocols rN has a route from, sorted.
w_routes() {
	w_birdc "$1" show route for "$LAB_V4/32" 2>/dev/null | grep -o '\[[a-z0-9]* ' | tr -d '[ ' |
		sort -u | tr '\n' ' ' | sed 's/ $//'
}
# w_kernel_nexthops rN: how many next hops the kernel route has (ECMP).
w_kernel_nexthops() {
	local out; out=$(w_exec "$1" ip route show "$LAB_V4/32")
	if echo "$out" | grep -q nexthop; then echo "$out" | grep -c nexthop; else [ -n "$out" ] && echo 1 || echo 0; fi
}
# w_client_id cN: the PoP that answers cN (id.server).
w_client_id() {
	w_exec "$1" kdig @"$LAB_V4" +timeout=1 +retry=0 +short -c CH -t TXT id.server 2>/dev/null | tr -d '"' | head -1
}
w_client_nsid() {
	w_exec "$1" kdig @"$LAB_V4" +timeout=1 +retry=0 +nsid example.com SOA 2>/dev/null |
		sed -n 's/.*NSID: .*"\(.*\)".*/\1/p' | head -1
}

w_up() {
	[ "$(id -u)" = 0 ] || { lab_log "must run as root"; return 1; }
	local why n; why=$(lab_check_tools) || { lab_log "$why"; return 1; }
	[ -x "$LAB_HEALTH" ] || { lab_log "missing $LAB_HEALTH"; return 1; }
	w_down
	rm -rf "$W_DIR"; mkdir -p "$W_DIR" || return 1
	w_net_up || { lab_log "world network set-up failed"; w_down; return 1; }
	for n in 1 2; do
		w_router_conf "$n" | lab_peers bird-config --dir "$W_DIR" --name "r$n-bird" \
			--router-id "198.51.100.$(( 100 + n ))" >/dev/null
		w_spawn "r$n-bird" "r$n" bird -f -c "$W_DIR/r$n-bird.conf" -s "$W_DIR/r$n-bird.ctl" \
			-P "$W_DIR/r$n-bird.pidfile"
	done
	for n in $W_POPS; do w_pop_start "$n"; done
	local i
	for i in $(seq 1 200); do
		[ "$(w_routes r1)" = "a1 a2 r2" ] && [ "$(w_routes r2)" = "b1 r1" ] && return 0
		sleep 0.1
	done
	lab_log "world: routes did not converge (r1: $(w_routes r1); r2: $(w_routes r2))"
	return 1
}

w_down() {
	local f ns
	if [ -d "$W_DIR" ]; then
		for f in "$W_DIR"/*.pid; do [ -e "$f" ] && w_stop "$(basename "$f" .pid)"; done
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_NS-w-"); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}

w_status() {
	if ! ip netns list 2>/dev/null | grep -q "^$LAB_NS-w-r1"; then echo "world lab is down"; return 1; fi
	local r
	for r in r1 r2; do
		echo "$r: routes from [$(w_routes "$r")], best $(w_best "$r"), kernel next hops $(w_kernel_nexthops "$r")"
	done
	echo "c1 is answered by $(w_client_id c1); c2 by $(w_client_id c2)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case ${1:-} in
	up) if w_up; then w_status; cat <<USAGE
The world lab is up ($W_DIR). Try:
  ip netns exec $LAB_NS-w-c1 kdig @$LAB_V4 id.server CH TXT
  ip netns exec $LAB_NS-w-c2 kdig @$LAB_V4 +nsid example.com SOA
  ip netns exec $LAB_NS-w-r1 birdc -s $W_DIR/r1-bird.ctl show route for $LAB_V4/32 all
  tests/lab/world.sh status; make lab-down LAB=world
USAGE
	else w_down; exit 1; fi ;;
	down) w_down ;;
	status) w_status ;;
	*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
	esac
fi
