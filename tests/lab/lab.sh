#!/usr/bin/env bash
# The multi-PoP anycast lab: network namespaces joined by veth pairs.
#
#   client (AS none) --- router (BIRD 2, AS 64512) ---+--- pop1 (AS 64601, ExaBGP)
#   203.0.113.0/24                                     +--- pop2 (AS 64602, BIRD 2)
#   2001:db8:2::/64                                    +--- pop3 (AS 64603, BIRD 2)
#
# Every PoP has the anycast service addresses 192.0.2.53/32 and 2001:db8::53/128 on its
# loopback, a DNS server (anynsd, or NSD when anynsd is not built) answering
# id.server CH TXT with the PoP's name, anyns-health (when built) and a BGP speaker.
# Router<->popN links: 198.51.100.(4N-4)/30 (router .4N-3, PoP .4N-2) and
# 2001:db8:1:N::/64 (router ::1, PoP ::2). The router prefers pop1, then pop2, then
# pop3 (local-pref 300/200/100), so a test knows which PoP serves.
#
# Usage: lab.sh up|down|status    (as root). Tests source this file for its functions.
# Environment: B (build dir, default build), LAB_DIR (state, default $B/lab),
#   LAB_NS (namespace prefix, default anyns-lab), LAB_DNS=anynsd|nsd (default: anynsd
#   when $B/anynsd exists), LAB_HOOK=1|0 (default: 1 when anyns-health exists; 0
#   announces statically), LAB_HEALTH (the anyns-health binary), LAB_DRAIN_TIME,
#   LAB_FLAP_SUPPRESS (raise the hook's flap suppress threshold).

LAB_ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB_B=${B:-build}
declare -F netns_add >/dev/null || source "$LAB_ROOT/tests/netns.sh"
LAB_BIN=${BIN:-$LAB_ROOT/$LAB_B}
LAB_DIR=${LAB_DIR:-$LAB_ROOT/$LAB_B/lab}
LAB_NS=${LAB_NS:-anyns-lab}
LAB_POPS="1 2 3"
LAB_V4=192.0.2.53
LAB_V6=2001:db8::53
LAB_ZONES=$LAB_ROOT/tests/lab/zones
LAB_HEALTH=${LAB_HEALTH:-$LAB_BIN/anyns-health}
# The serial the health checks want at least (tests/lab/zones/example.com.zone has it;
# example.com-old.zone is older). Drain time kept short so the drain test is quick.
LAB_SERIAL=2026112101
# Where the checks ask the primary's serial. Nothing listens there normally (an
# unreachable primary disables the lag test); lab_primary_start puts a server with a
# newer serial there, so a PoP lags and goes DEGRADED (de-preferred, still announced).
LAB_PRIMARY=127.0.0.1:5300
LAB_DRAIN_TIME=${LAB_DRAIN_TIME:-3s}
# How long the DNS servers' supervisor waits before restarting a crashed server. Longer
# than the hook takes to withdraw (fall), so a crash shows the whole path: withdrawn,
# restarted, announced again.
LAB_RESTART_SEC=${LAB_RESTART_SEC:-2}
# BGP hold time (keepalive a third of it) and BFD on the BIRD PoPs' sessions.
LAB_HOLD=${LAB_HOLD:-90}
LAB_BFD=${LAB_BFD:-1}

if [ -z "${LAB_DNS:-}" ]; then
	if [ -x "$LAB_BIN/anynsd" ]; then LAB_DNS=anynsd; else LAB_DNS=nsd; fi
fi
# The lab's servers keep root on purpose (their zones sit in the lab's folder,
# re-read on SIGHUP): anynsd refuses root unless told so.
LAB_ANYNSD=("$LAB_BIN/anynsd" --user root)
if [ -z "${LAB_HOOK:-}" ]; then
	if [ -x "$LAB_HEALTH" ]; then LAB_HOOK=1; else LAB_HOOK=0; fi
fi

lab_log() { echo "lab: $*" >&2; }
lab_exec() { local n=$1; shift; ip netns exec "$LAB_NS-$n" "$@"; }

# Addresses of the router<->popN link.
lab_r4() { echo "198.51.100.$(( 4 * $1 - 3 ))"; }
lab_p4() { echo "198.51.100.$(( 4 * $1 - 2 ))"; }
lab_r6() { echo "2001:db8:1:$1::1"; }
lab_p6() { echo "2001:db8:1:$1::2"; }
lab_asn() { echo $(( 64600 + $1 )); }
lab_pref() { echo $(( 400 - 100 * $1 )); }

# A process started in a namespace: its pid in $LAB_DIR/NAME.pid.
# The peers' configurations and command lines come from tests/pylib/peers.py.
lab_peers() { /usr/bin/python3 "$LAB_ROOT/tests/pylib/peers.py" "$@"; }

lab_spawn() {
	local name=$1 ns=$2; shift 2
	# From a subshell, so that the process is not a job of ours (no "Killed" notices) and
	# init reaps it (kill -0 then tells whether it is gone).
	( ip netns exec "$LAB_NS-$ns" "$@" >>"$LAB_DIR/$name.log" 2>&1 </dev/null &
	  echo $! >"$LAB_DIR/$name.pid" )
}

# Kills a process and all of its descendants (NSD and ExaBGP fork children). The parent
# first: a supervisor killed after its child could start a new one in between.
lab_kill_tree() {
	local sig=$1 pid=$2 c kids
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)
	kill "-$sig" "$pid" 2>/dev/null
	for c in $kids; do lab_kill_tree "$sig" "$c"; done
}

# lab_stop NAME [SIGNAL]: stops the process recorded as NAME (default TERM, then KILL).
lab_stop() {
	local name=$1 sig=${2:-TERM} pid i
	[ -f "$LAB_DIR/$name.pid" ] || return 0
	pid=$(cat "$LAB_DIR/$name.pid")
	rm -f "$LAB_DIR/$name.pid"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	lab_kill_tree "$sig" "$pid"
	for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && lab_kill_tree KILL "$pid"
	return 0
}

lab_running() { [ -f "$LAB_DIR/$1.pid" ] && kill -0 "$(cat "$LAB_DIR/$1.pid")" 2>/dev/null; }

# ---------------------------------------------------------------- network

lab_net_up() {
	local n ns
	for n in router client $LAB_POPS; do
		ns=$LAB_NS-$n; [ "$n" = router ] || [ "$n" = client ] || ns=$LAB_NS-pop$n
		netns_add "$ns" || return 1
	done
	lab_exec router sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0

	ip link add r-client netns "$LAB_NS-router" type veth peer name eth0 netns "$LAB_NS-client" || return 1
	lab_exec router ip addr add 203.0.113.1/24 dev r-client
	lab_exec router ip addr add 2001:db8:2::1/64 dev r-client nodad
	lab_exec router ip link set r-client up
	lab_exec client ip addr add 203.0.113.2/24 dev eth0
	lab_exec client ip addr add 2001:db8:2::2/64 dev eth0 nodad
	lab_exec client ip link set eth0 up
	lab_exec client ip route add default via 203.0.113.1
	lab_exec client ip -6 route add default via 2001:db8:2::1

	for n in $LAB_POPS; do
		# router <-> swN (a bridge: the link's "wire", where a silent failure drops
		# packets without either end seeing an error) <-> popN
		ip netns add "$LAB_NS-sw$n" || return 1
		lab_exec "sw$n" ip link set lo up
		ip link add "r-pop$n" netns "$LAB_NS-router" type veth peer name to-r netns "$LAB_NS-sw$n" || return 1
		ip link add eth0 netns "$LAB_NS-pop$n" type veth peer name to-p netns "$LAB_NS-sw$n" || return 1
		lab_exec "sw$n" ip link add br0 type bridge
		lab_exec "sw$n" ip link set to-r master br0
		lab_exec "sw$n" ip link set to-p master br0
		lab_exec "sw$n" ip link set to-r up
		lab_exec "sw$n" ip link set to-p up
		lab_exec "sw$n" ip link set br0 up
		lab_exec router ip addr add "$(lab_r4 "$n")/30" dev "r-pop$n"
		lab_exec router ip addr add "$(lab_r6 "$n")/64" dev "r-pop$n" nodad
		lab_exec router ip link set "r-pop$n" up
		lab_exec "pop$n" ip addr add "$(lab_p4 "$n")/30" dev eth0
		lab_exec "pop$n" ip addr add "$(lab_p6 "$n")/64" dev eth0 nodad
		lab_exec "pop$n" ip link set eth0 up
		lab_exec "pop$n" ip route add default via "$(lab_r4 "$n")"
		lab_exec "pop$n" ip -6 route add default via "$(lab_r6 "$n")"
		# The service addresses; the same on every PoP (that is anycast).
		lab_exec "pop$n" ip addr add "$LAB_V4/32" dev lo
		lab_exec "pop$n" ip addr add "$LAB_V6/128" dev lo nodad
	done
}

lab_net_down() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_NS-"); do
		# Anything still running inside is killed first.
		netns_del "$ns"
	done
}

# ---------------------------------------------------------------- router

# BFD (RFC 5880, BIRD's) on the router<->PoP links: 100 ms, 3 missed packets. Only the
# BIRD PoPs run it (ExaBGP has no BFD). LAB_BFD=0 turns it off (to measure without).
lab_bfd_conf() {
	[ "$LAB_BFD" = 1 ] || return 0
	printf 'protocol bfd {\n\tinterface "%s*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };\n}\n' "$1"
}
lab_bfd_on() { if [ "$LAB_BFD" = 1 ] && [ "$(lab_speaker "$1")" = bird ]; then echo on; else echo off; fi; }

# lab_router_conf: the router's protocols (tests/pylib/peers.py bird-config adds the
# router id, the log and the device protocol).
lab_router_conf() {
	local n
	cat <<EOF
# Lab router: eBGP to each PoP, best path by local-pref (pop1 > pop2 > pop3), no ECMP.
protocol kernel kernel4 { ipv4 { import none; export all; }; merge paths off; }
protocol kernel kernel6 { ipv6 { import none; export all; }; merge paths off; }

# Per-PoP preference. A de-preferred route (AS path prepended by anyns-health in DEGRADED,
# or community 64512:100) drops one rank; GRACEFUL_SHUTDOWN (RFC 8326 4: 65535:0) drops to
# local-pref 0, so traffic leaves a draining PoP while its route is still there.
function pop_pref(int lp) {
	bgp_local_pref = lp;
	if bgp_path.len > 1 then bgp_local_pref = lp - 150;
	if (64512, 100) ~ bgp_community then bgp_local_pref = lp - 150;
	if (65535, 0) ~ bgp_community then bgp_local_pref = 0;
}

$(lab_bfd_conf r-pop)
template bgp pop {
	local as 64512;
	# Realistic BGP timers (hold 90 s, keepalive 30 s): a silently dead link is noticed by
	# BFD (the BIRD PoPs) in 3 x 100 ms, or by the hold timer (pop1: ExaBGP has no BFD).
	hold time $LAB_HOLD;
	keepalive time $(( LAB_HOLD / 3 ));
	connect retry time 1;
	connect delay time 1;
	error wait time 1, 5;
	graceful restart off;
}
EOF
	for n in $LAB_POPS; do
		cat <<EOF
protocol bgp pop$n from pop {
	neighbor $(lab_p4 "$n") as $(lab_asn "$n");
	bfd $(lab_bfd_on "$n");
	ipv4 { import filter { pop_pref($(lab_pref "$n")); accept; }; export none; };
}
protocol bgp pop${n}v6 from pop {
	neighbor $(lab_p6 "$n") as $(lab_asn "$n");
	bfd $(lab_bfd_on "$n");
	ipv6 { import filter { pop_pref($(lab_pref "$n")); accept; }; export none; };
}
EOF
	done
}

# ---------------------------------------------------------------- DNS servers

# The zone file a PoP serves; lab_zone_set replaces it and reloads.
lab_zone() { echo "$LAB_DIR/pop$1/example.com.zone"; }

# lab_nsd_conf N DIR ZONEFILE ADDR@PORT...: writes DIR/nsd.conf for an NSD of popN serving
# example.com from ZONEFILE and prints its path.
lab_nsd_conf() {
	local n=$1 d=$2 zone=$3 a args=()
	shift 3
	for a in "$@"; do args+=(--listen "$a"); done
	lab_peers nsd-config --dir "$d" "${args[@]}" --zone "example.com=$zone" \
		--identity "pop$n" --verbosity 1
}

# lab_dns_start N: starts popN's DNS server on the anycast addresses, under a supervisor
# that restarts it after a crash (tests/lab/supervise.sh: Restart=on-failure with
# RestartSec=$LAB_RESTART_SEC). popN-dns.pid is the supervisor's; lab_stop ends both (a
# server that stays dead), lab_dns_crash kills the server alone (a crash).
lab_dns_start() {
	local n=$1 sup=("$LAB_ROOT/tests/lab/supervise.sh" "$LAB_RESTART_SEC")
	if [ "$LAB_DNS" = anynsd ]; then
		lab_spawn "pop$n-dns" "pop$n" "${sup[@]}" "${LAB_ANYNSD[@]}" --listen "$LAB_V4:53" --listen "[$LAB_V6]:53" \
			--zone "example.com=$(lab_zone "$n")" --identity "pop$n" --workers 1
	else
		lab_spawn "pop$n-dns" "pop$n" "${sup[@]}" nsd -d -c "$(lab_nsd_conf "$n" "$LAB_DIR/pop$n/nsd" \
			"$(lab_zone "$n")" "$LAB_V4@53" "$LAB_V6@53")"
	fi
}

# lab_dns_pid N: the pid of popN's DNS server itself (the supervisor's child).
lab_dns_pid() { lab_running "pop$1-dns" && pgrep -P "$(cat "$LAB_DIR/pop$1-dns.pid")" | head -1; }

# lab_dns_crash N: kill -9 of popN's DNS server, not of its supervisor.
lab_dns_crash() { local p; p=$(lab_dns_pid "$1") && [ -n "$p" ] && kill -9 "$p"; }

# lab_dns_start_split N: popN's server as two processes, the IPv4 one on the good zone
# and the IPv6 one on the zone with a wrong `www A` (a server that is wrong only for
# IPv6 clients). Both under the name popN-dns (the second as popN-dns6).
lab_dns_start_split() {
	local n=$1
	cp "$LAB_ZONES/example.com-wrong.zone" "$LAB_DIR/pop$n/example.com-v6.zone"
	if [ "$LAB_DNS" = anynsd ]; then
		lab_spawn "pop$n-dns" "pop$n" "${LAB_ANYNSD[@]}" --listen "$LAB_V4:53" \
			--zone "example.com=$(lab_zone "$n")" --identity "pop$n" --workers 1
		lab_spawn "pop$n-dns6" "pop$n" "${LAB_ANYNSD[@]}" --listen "[$LAB_V6]:53" \
			--zone "example.com=$LAB_DIR/pop$n/example.com-v6.zone" --identity "pop$n" --workers 1
	else
		lab_spawn "pop$n-dns" "pop$n" nsd -d -c "$(lab_nsd_conf "$n" "$LAB_DIR/pop$n/nsd" \
			"$(lab_zone "$n")" "$LAB_V4@53")"
		lab_spawn "pop$n-dns6" "pop$n" nsd -d -c "$(lab_nsd_conf "$n" "$LAB_DIR/pop$n/nsd6" \
			"$LAB_DIR/pop$n/example.com-v6.zone" "$LAB_V6@53")"
	fi
}

# lab_primary_start N / lab_primary_stop N: the "primary" at popN (newer serial).
lab_primary_start() {
	local n=$1
	cp "$LAB_ZONES/example.com-new.zone" "$LAB_DIR/pop$n/primary.zone"
	if [ "$LAB_DNS" = anynsd ]; then
		lab_spawn "pop$n-primary" "pop$n" "${LAB_ANYNSD[@]}" --listen "$LAB_PRIMARY" \
			--zone "example.com=$LAB_DIR/pop$n/primary.zone" --workers 1
	else
		lab_spawn "pop$n-primary" "pop$n" nsd -d -c "$(lab_nsd_conf "$n" "$LAB_DIR/pop$n/primary-nsd" \
			"$LAB_DIR/pop$n/primary.zone" "${LAB_PRIMARY%:*}@${LAB_PRIMARY##*:}")"
	fi
}
lab_primary_stop() { lab_stop "pop$1-primary"; }

# lab_dns_wait N: waits (5 s at most) until popN's server answers locally.
lab_dns_wait() {
	local i
	for i in $(seq 1 50); do
		[ "$(lab_pop_query "$1" id.server TXT CH)" = "pop$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# lab_pop_query N NAME TYPE [CLASS]: asks popN's server from inside popN.
lab_pop_query() {
	lab_exec "pop$1" kdig @"$LAB_V4" +timeout=1 +retry=0 +short -c "${4:-IN}" -t "$3" "$2" 2>/dev/null | tr -d '"'
}

# lab_zone_set N good|wrong|old: puts that zone at popN and reloads (SIGHUP, which both
# anynsd and NSD take as "reload zones").
lab_zone_set() {
	local n=$1 f
	case $2 in good) f=example.com.zone;; *) f=example.com-$2.zone;; esac
	cp "$LAB_ZONES/$f" "$(lab_zone "$n")"
	if lab_running "pop$n-dns"; then
		if [ "$LAB_DNS" = nsd ] && [ -f "$LAB_DIR/pop$n/nsd/nsd.pid" ]; then
			kill -HUP "$(cat "$LAB_DIR/pop$n/nsd/nsd.pid")"
		else
			# To anynsd itself, as ExecReload=kill -HUP $MAINPID does, not through
			# the supervisor: a shell started with SIGHUP ignored (under nohup)
			# cannot trap it, so it would never pass the reload on.
			# Without a supervisor (lab_dns_start_split) the pid file is anynsd's.
			local p
			p=$(lab_dns_pid "$n") || true
			kill -HUP "${p:-$(cat "$LAB_DIR/pop$n-dns.pid")}"
		fi
	fi
}

# ---------------------------------------------------------------- PoP speakers and hook

# The anyns-health config of popN (schema: bgp-hook/README.md). Timing (interval, rise,
# fall, timeout) is left at the hook's defaults: the failover test asserts the default.
lab_health_conf() {
	local n=$1 d=$LAB_DIR/pop$1
	cat <<EOF
# anyns-health at pop$n (generated by tests/lab/lab.sh).
log-level: info
control-socket: $d/health.sock
backend:
  type: $(lab_speaker "$n")
  asn: $(lab_asn "$n")
EOF
	if [ "$(lab_speaker "$n")" = bird ]; then
		cat <<EOF
  socket: $d/bird.ctl
  include: $d/anyns-bird.conf
  guard-interface: anyhk0
  protocol-prefix: anyns_
EOF
	fi
	cat <<EOF
defaults:
  drain-time: $LAB_DRAIN_TIME
EOF
	# The scenario tests flap pop1 on purpose several times a minute; with the default
	# suppress threshold its own damping would hold it down for minutes.
	[ -n "${LAB_FLAP_SUPPRESS:-}" ] && printf '  flap: { suppress: %s, max: %s }\n' \
		"$LAB_FLAP_SUPPRESS" "$(( LAB_FLAP_SUPPRESS * 2 ))"
	cat <<EOF
services:
  # One anynsd serves both addresses: one group (the default), so a wrong answer on
  # either address withdraws both prefixes. The same checks run over IPv4 and IPv6.
  - name: dns4
    prefix: $LAB_V4/32
    checks:
      - { name: udp4-soa, server: $LAB_V4, transport: udp, qname: example.com., qtype: SOA, serial-min: $LAB_SERIAL, serial-primary: "$LAB_PRIMARY" }
      - { name: tcp4-www, server: $LAB_V4, transport: tcp, qname: www.example.com., qtype: A, rdata: [192.0.2.80] }
      - { name: udp4-www6, server: $LAB_V4, transport: udp, qname: www.example.com., qtype: AAAA, rdata: ["2001:db8::80"] }
  - name: dns6
    prefix: $LAB_V6/128
    checks:
      - { name: udp6-soa, server: "[$LAB_V6]", transport: udp, qname: example.com., qtype: SOA, serial-min: $LAB_SERIAL, serial-primary: "$LAB_PRIMARY" }
      - { name: tcp6-www, server: "[$LAB_V6]", transport: tcp, qname: www.example.com., qtype: A, rdata: [192.0.2.80] }
      - { name: udp6-www6, server: "[$LAB_V6]", transport: udp, qname: www.example.com., qtype: AAAA, rdata: ["2001:db8::80"] }
EOF
}

# pop1: ExaBGP. With the hook, ExaBGP runs anyns-health as its API process and announces
# nothing by itself. When the hook dies (even by SIGKILL) ExaBGP respawns it (the default
# exabgp.api.respawn) and the new hook starts withdrawn: its first act is a withdraw
# (bgp-hook/README.md, "Dying hook").
lab_exabgp_conf() {
	local n=$1 proto="" static4="" static6="" api=""
	if [ "$LAB_HOOK" = 1 ]; then
		# A wrapper only to keep the hook's log (stderr) in a file of its own.
		printf '#!/bin/sh\nexec %s -c %s 2>>%s\n' "$LAB_HEALTH" \
			"$LAB_DIR/pop$n/health.yaml" "$LAB_DIR/pop$n/hook.log" >"$LAB_DIR/pop$n/hook.sh"
		chmod +x "$LAB_DIR/pop$n/hook.sh"
		proto="process anyns-health {
	run $LAB_DIR/pop$n/hook.sh;
	encoder text;
}"
		api="api { processes [ anyns-health ]; }"
	else
		static4="static { route $LAB_V4/32 next-hop self; }"
		static6="static { route $LAB_V6/128 next-hop self; }"
	fi
	cat <<EOF
$proto
neighbor $(lab_r4 "$n") {
	router-id $(lab_p4 "$n");
	local-address $(lab_p4 "$n");
	local-as $(lab_asn "$n");
	peer-as 64512;
	hold-time $LAB_HOLD;
	family { ipv4 unicast; }
	$api
	$static4
}
neighbor $(lab_r6 "$n") {
	router-id $(lab_p4 "$n");
	local-address $(lab_p6 "$n");
	local-as $(lab_asn "$n");
	peer-as 64512;
	hold-time $LAB_HOLD;
	family { ipv6 unicast; }
	$api
	$static6
}
EOF
}

# pop2, pop3: BIRD 2. The service routes come from static protocols anyns_dns4/anyns_dns6
# in an included file: anyns-health writes it (route via its guard tun device, which the
# kernel deletes when the hook dies, even by SIGKILL, so BIRD drops the route); without
# the hook lab.sh writes it with blackhole routes.
# lab_bird_conf N: popN's BIRD protocols (the header comes from peers.py bird-config).
lab_bird_conf() {
	local n=$1
	cat <<EOF
$(lab_bfd_conf eth)
template bgp upstream {
	local as $(lab_asn "$n");
	hold time $LAB_HOLD;
	keepalive time $(( LAB_HOLD / 3 ));
	bfd $(lab_bfd_on "$n");
	connect retry time 1;
	connect delay time 1;
	error wait time 1, 5;
	graceful restart off;
}
protocol bgp router4 from upstream {
	local $(lab_p4 "$n") as $(lab_asn "$n");
	neighbor $(lab_r4 "$n") as 64512;
	ipv4 { import none; export where proto ~ "anyns_*"; };
}
protocol bgp router6 from upstream {
	local $(lab_p6 "$n") as $(lab_asn "$n");
	neighbor $(lab_r6 "$n") as 64512;
	ipv6 { import none; export where proto ~ "anyns_*"; };
}
EOF
}

lab_bird_static() {
	cat <<EOF
protocol static anyns_dns4 { ipv4; route $LAB_V4/32 blackhole; }
protocol static anyns_dns6 { ipv6; route $LAB_V6/128 blackhole; }
EOF
}

lab_speaker() { if [ "$1" = 1 ]; then echo exabgp; else echo bird; fi; }

# lab_speaker_start N: starts popN's BGP speaker (and, at pop1, the hook under ExaBGP).
lab_speaker_start() {
	local n=$1 d=$LAB_DIR/pop$1
	if [ "$(lab_speaker "$n")" = exabgp ]; then
		lab_exabgp_conf "$n" >"$d/exabgp.conf"
		local argv
		mapfile -t argv < <(lab_peers argv exabgp "$d/exabgp.conf")
		lab_spawn "pop$n-bgp" "pop$n" "${argv[@]}"
	else
		lab_bird_conf "$n" | lab_peers bird-config --dir "$d" --router-id "$(lab_p4 "$n")" \
			--include "$d/anyns-bird.conf" >/dev/null
		# BIRD needs the include to exist; the hook starts it withdrawn (empty).
		if [ "$LAB_HOOK" = 1 ]; then : >"$d/anyns-bird.conf"; else lab_bird_static >"$d/anyns-bird.conf"; fi
		lab_spawn "pop$n-bgp" "pop$n" bird -f -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
	fi
}

# lab_hook_start N: starts popN's anyns-health (BIRD PoPs; at pop1 ExaBGP runs it).
lab_hook_start() {
	local n=$1
	[ "$LAB_HOOK" = 1 ] || return 0
	[ "$(lab_speaker "$n")" = exabgp ] && return 0
	# The hook's first act is a BIRD configure: wait for BIRD's control socket.
	local i
	for i in $(seq 1 50); do [ -S "$LAB_DIR/pop$n/bird.ctl" ] && break; sleep 0.1; done
	lab_spawn "pop$n-hook" "pop$n" "$LAB_HEALTH" -c "$LAB_DIR/pop$n/health.yaml"
}

# Pid of popN's hook process (at pop1, the child ExaBGP started).
lab_hook_pid() {
	local n=$1
	if [ "$(lab_speaker "$n")" = exabgp ]; then
		lab_running "pop$n-bgp" || return 1
		pgrep -P "$(cat "$LAB_DIR/pop$n-bgp.pid")" -x anyns-health | head -1
	else
		lab_running "pop$n-hook" && cat "$LAB_DIR/pop$n-hook.pid"
	fi
}

# lab_health_ctl N ARGS...: anyns-health ctl at popN.
lab_health_ctl() {
	local n=$1; shift
	lab_exec "pop$n" "$LAB_HEALTH" ctl -s "$LAB_DIR/pop$n/health.sock" "$@"
}

# lab_link_silence N on|off: drops every packet on popN's link, both ways, in the middle
# (the bridge namespace swN: a token bucket too small for any packet, tc tbf with a 1-byte
# burst, on the egress of both its ports). Both ends keep their link up and see no send
# error: a silent failure only BFD or the BGP hold timer notices.
lab_link_silence() {
	local i
	if [ "$2" = on ]; then
		for i in to-r to-p; do
			lab_exec "sw$1" tc qdisc add dev "$i" root tbf rate 8bit burst 1 limit 1 || return 1
		done
	else
		for i in to-r to-p; do lab_exec "sw$1" tc qdisc del dev "$i" root 2>/dev/null; done
		return 0
	fi
}

# ---------------------------------------------------------------- observing

lab_birdc() { lab_exec router birdc -s "$LAB_DIR/router-bird.ctl" "$@"; }

# Prints the PoP whose route the router uses for PREFIX (default the v4 service), or none.
lab_best_pop() {
	lab_birdc show route for "${1:-$LAB_V4/32}" all 2>/dev/null |
		awk '/ \* / { for (i = 1; i <= NF; i++) if ($i ~ /^\[pop/) { p = substr($i, 2); sub(/v6$/, "", p); print p; found = 1; exit } }
		     END { if (!found) print "none" }'
}

# Prints the PoPs that announce PREFIX to the router, space separated, sorted.
lab_announcing() {
	lab_birdc show route for "${1:-$LAB_V4/32}" all 2>/dev/null |
		grep -o '\[pop[0-9]*' | tr -d '[' | sed 's/v6$//' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# Prints the router's full view of PREFIX (for failure messages).
lab_route_dump() { lab_birdc show route for "${1:-$LAB_V4/32}" all 2>&1; }

# Asks the anycast address from the client; prints the answering PoP's name or nothing.
lab_client_id() {
	lab_exec client kdig @"${1:-$LAB_V4}" +timeout=1 +retry=0 +short -c CH -t TXT id.server 2>/dev/null | tr -d '"' | head -1
}

# lab__wait_eq WANT SECONDS FUNC [ARG]: waits until `FUNC ARG` prints WANT.
lab__wait_eq() {
	local want=$1 end=$(( $(date +%s) + $2 )) fn=$3 arg=${4:-}
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$("$fn" "$arg")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# lab_wait_best POP [SECONDS] [PREFIX]: waits until the router's best path is POP.
lab_wait_best() { lab__wait_eq "$1" "${2:-10}" lab_best_pop "${3:-}"; }

# lab_wait_client POP [SECONDS] [ADDR]: waits until the client is answered by POP.
lab_wait_client() { lab__wait_eq "$1" "${2:-10}" lab_client_id "${3:-}"; }

# ---------------------------------------------------------------- whole lab

lab_pop_start() {
	local n=$1
	lab_dns_start "$n"
	lab_speaker_start "$n"
	lab_hook_start "$n"
}

lab_pop_stop() {
	local n=$1
	lab_stop "pop$n-hook"
	lab_stop "pop$n-bgp"
	lab_stop "pop$n-dns"
	lab_stop "pop$n-dns6"
	lab_stop "pop$n-primary"
}

lab_check_tools() {
	local t
	for t in ip bird birdc exabgp kdig; do
		command -v "$t" >/dev/null || { echo "missing $t"; return 1; }
	done
	if [ "$LAB_DNS" = anynsd ]; then
		[ -x "$LAB_BIN/anynsd" ] || { echo "missing $LAB_BIN/anynsd"; return 1; }
	else
		command -v nsd >/dev/null || { echo "missing nsd"; return 1; }
	fi
	return 0
}

lab_up() {
	local n why
	[ "$(id -u)" = 0 ] || { lab_log "must run as root"; return 1; }
	why=$(lab_check_tools) || { lab_log "$why"; return 1; }
	lab_down
	# Fresh logs and configs each time (only what this script creates).
	rm -rf "$LAB_DIR"/pop[0-9]* "$LAB_DIR"/router-bird.* "$LAB_DIR"/probe-*.txt
	mkdir -p "$LAB_DIR" || return 1
	lab_net_up || { lab_log "network set-up failed"; lab_down; return 1; }
	lab_router_conf | lab_peers bird-config --dir "$LAB_DIR" --name router-bird \
		--router-id 198.51.100.1 >/dev/null
	lab_spawn router-bird router bird -f -c "$LAB_DIR/router-bird.conf" -s "$LAB_DIR/router-bird.ctl" \
		-P "$LAB_DIR/router-bird.pidfile"
	for n in $LAB_POPS; do
		mkdir -p "$LAB_DIR/pop$n"
		cp "$LAB_ZONES/example.com.zone" "$(lab_zone "$n")"
		if [ "$LAB_HOOK" = 1 ]; then
			lab_health_conf "$n" >"$LAB_DIR/pop$n/health.yaml"
			"$LAB_HEALTH" -t -c "$LAB_DIR/pop$n/health.yaml" >/dev/null ||
				{ lab_log "anyns-health rejects $LAB_DIR/pop$n/health.yaml"; return 1; }
		fi
		lab_pop_start "$n"
	done
	for n in $LAB_POPS; do
		lab_dns_wait "$n" || { lab_log "pop$n DNS server does not answer (see $LAB_DIR/pop$n-dns.log)"; return 1; }
	done
	lab_wait_best pop1 20 || { lab_log "router never learned the route from pop1"; lab_route_dump >&2; return 1; }
	# The others follow within a few rise rounds; not fatal for an explorer's lab.
	for n in $(seq 1 50); do
		[ "$(lab_announcing)" = "pop1 pop2 pop3" ] && break
		sleep 0.1
	done
	return 0
}

lab_down() {
	local f
	if [ -d "$LAB_DIR" ]; then
		for f in "$LAB_DIR"/*.pid; do
			[ -e "$f" ] || continue
			lab_stop "$(basename "$f" .pid)"
		done
	fi
	lab_net_down
}

lab_status() {
	local n
	if ! ip netns list 2>/dev/null | grep -q "^$LAB_NS-router"; then echo "lab is down"; return 1; fi
	echo "DNS server: $LAB_DNS; health hook: $([ "$LAB_HOOK" = 1 ] && echo anyns-health || echo "none (static announcements)")"
	for n in $LAB_POPS; do
				printf 'pop%s: dns %s, %s %s, local id.server %s\n' "$n" \
			"$(lab_running "pop$n-dns" && echo up || echo down)" "$(lab_speaker "$n")" \
			"$(lab_running "pop$n-bgp" && echo up || echo down)" "$(lab_pop_query "$n" id.server TXT CH)"
		[ "$LAB_HOOK" = 1 ] && lab_health_ctl "$n" status 2>&1 | sed 's/^/    anyns-health: /'
	done
	echo "router best path for $LAB_V4/32: $(lab_best_pop) (announced by: $(lab_announcing))"
	echo "router best path for $LAB_V6/128: $(lab_best_pop "$LAB_V6/128") (announced by: $(lab_announcing "$LAB_V6/128"))"
	echo "client asks $LAB_V4: $(lab_client_id) ; $LAB_V6: $(lab_client_id "$LAB_V6")"
}

lab_usage() {
	cat <<EOF
The lab is up ($LAB_DIR). Try:
  ip netns exec $LAB_NS-client kdig @$LAB_V4 id.server CH TXT
  ip netns exec $LAB_NS-client kdig @$LAB_V6 www.example.com AAAA
  ip netns exec $LAB_NS-router birdc -s $LAB_DIR/router-bird.ctl show route for $LAB_V4/32 all
  tests/lab/lab.sh status
  make lab-down
EOF
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case ${1:-} in
	up) if lab_up; then lab_status; lab_usage; else lab_down; exit 1; fi ;;
	down) lab_down ;;
	status) lab_status ;;
	*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
	esac
fi
