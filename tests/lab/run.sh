#!/usr/bin/env bash
# Lab suite: anycast failover scenarios in the network-namespace lab (tests/lab/lab.sh).
# Each case asserts what the router's BIRD has for the service prefix and which PoP
# answers the client. Needs root and ip netns; SKIPs with the reason otherwise.
# The lab it builds uses its own namespace prefix, so a `make lab` left up is untouched.
# Writes the measured failover time to $B/lab-failover.txt for the benchmark.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
source tests/lib.sh
# Names and state of this run only, so that two runs at once (two `make test`) and a
# `make lab` left up never touch each other.
export LAB_NS=anyns-labtest$$
LAB_DIR_KEEP=${LAB_DIR:+1}
export LAB_DIR=${LAB_DIR:-$(mktemp -d /tmp/anyns-lab.XXXXXX)}
# Flap damping stays on but cannot suppress pop1 during the suite (bgp-hook's own tests
# cover damping); every other health setting is the hook's default.
export LAB_FLAP_SUPPRESS=${LAB_FLAP_SUPPRESS:-20000}
source tests/lab/lab.sh
source tests/lab/world.sh
PROBE=$ROOT/tests/lab/probe.py
FAILOVER_FILE=$ROOT/$B/lab-failover.txt
# The issue's bound on failover with the default health config (fault -> first answer
# from another PoP).
FAILOVER_MAX_MS=3000

probe_pid=""
RUN_LAB_DIR=$LAB_DIR
cleanup() {
	# An interrupt can land inside `LAB_DIR=$W_DIR lab_stop ...` (world.sh): the
	# trap then runs with that temporary LAB_DIR, and would stop and remove the
	# world's folder only.
	LAB_DIR=$RUN_LAB_DIR
	probe_stop
	lab_down
	w_down
	# Logs stay for a failed run (or a LAB_DIR given by the caller).
	if [ "$_suite_fail" -gt 0 ] || [ -n "$LAB_DIR_KEEP" ]; then
		echo "lab: logs and configs kept in $LAB_DIR"
	else
		rm -rf "$LAB_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# probe_start FILE [SECONDS]: queries the anycast v4 address from the client every 25 ms
# (bounded: 30 s at most, or SECONDS) into FILE.
probe_start() {
	rm -f "$1" "$1.stop"
	ip netns exec "$LAB_NS-client" "$PROBE" run "$LAB_V4" "$1" --interval 25 --timeout 250 \
		--max-seconds "${2:-30}" &
	probe_pid=$!
}
probe_stop() {
	[ -n "$probe_pid" ] || return 0
	kill "$probe_pid" 2>/dev/null
	wait "$probe_pid" 2>/dev/null
	probe_pid=""
}
# probe_wait_other FILE POP SECONDS: waits until a PoP other than POP answered the probe.
probe_wait_other() {
	local end=$(( $(date +%s) + $3 ))
	while [ "$(date +%s)" -le "$end" ]; do
		awk -v p="$2" '$3 != p && $3 != "LOST" && $3 != "BAD" && $3 != "EMPTY" { f = 1 } END { exit !f }' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
now() { date +%s.%N; }

# What the router sees, for failure messages.
why() { echo "$1; router: best=$(lab_best_pop) announced=[$(lab_announcing)] client=$(lab_client_id)"; }

# baseline: every PoP announced, pop1 best, client answered by pop1. If the previous case
# left the lab broken, rebuilds it so that cases stay independent.
baseline() {
	local i
	for i in $(seq 1 150); do
		[ "$(lab_announcing)" = "pop1 pop2 pop3" ] && [ "$(lab_announcing "$LAB_V6/128")" = "pop1 pop2 pop3" ] &&
			[ "$(lab_best_pop)" = pop1 ] && [ "$(lab_client_id)" = pop1 ] && return 0
		sleep 0.1
	done
	echo "lab: not back to baseline ($(why state)); rebuilding"
	lab_down
	lab_up >/dev/null 2>&1 || return 1
	for i in $(seq 1 150); do
		[ "$(lab_announcing)" = "pop1 pop2 pop3" ] && [ "$(lab_client_id)" = pop1 ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_cond SECONDS CMD...: polls CMD every 50 ms.
wait_cond() {
	local end=$(( $(date +%s) + $1 )); shift
	while [ "$(date +%s)" -le "$end" ]; do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
not_announcing() { ! lab_announcing "${2:-}" | grep -qw "$1"; }
is_announcing() { lab_announcing "${2:-}" | grep -qw "$1"; }
best_is() { [ "$(lab_best_pop)" = "$1" ]; }
all_announcing() { [ "$(lab_announcing)" = "pop1 pop2 pop3" ]; }
nothing_announced() { [ -z "$(lab_announcing)" ] && [ -z "$(lab_announcing "$LAB_V6/128")" ]; }

# ------------------------------------------------------------------ preconditions
if ! need_root lab; then
	summary; exit $?
fi
if ! netns_usable; then
	skip_root lab "ip netns unavailable"
	summary; exit $?
fi
# Leftovers of runs that were killed before their trap ran (their pid is gone).
for ns in $(ip netns list | awk '{print $1}' | grep '^anyns-labtest[0-9]*-'); do
	pid=${ns#anyns-labtest}; pid=${pid%%-*}
	kill -0 "$pid" 2>/dev/null || LAB_NS=anyns-labtest$pid lab_net_down
done
if ! why_missing=$(lab_check_tools); then
	skip lab "$why_missing"
	summary; exit $?
fi
# The one-region cases below, one result each (without the hook, a skip each).
plan 17
echo "lab: DNS server $LAB_DNS, hook $([ "$LAB_HOOK" = 1 ] && echo anyns-health || echo 'none (static announcements)')"

# ------------------------------------------------------------------ all PoPs up
if lab_up; then
	if [ "$(lab_announcing)" = "pop1 pop2 pop3" ] || wait_cond 10 all_announcing; then :; fi
	if [ "$(lab_announcing)" = "pop1 pop2 pop3" ] && [ "$(lab_best_pop)" = pop1 ] &&
		[ "$(lab_client_id)" = pop1 ] && [ "$(lab_client_id "$LAB_V6")" = pop1 ] &&
		[ "$(lab_best_pop "$LAB_V6/128")" = pop1 ]; then
		pass lab-all-up
	else
		fail lab-all-up "$(why "v6 best=$(lab_best_pop "$LAB_V6/128") v6 client=$(lab_client_id "$LAB_V6")")"
	fi
else
	fail lab-all-up "lab did not come up (logs in $LAB_DIR)"
	summary; exit $?
fi

# ------------------------------------------------------------------ BGP speaker lost
# The session goes down with the speaker: the router withdraws at once (no hold timer
# wait, since the TCP connection closes), and pop2 serves.
if baseline; then
	lab_stop pop1-bgp KILL
	if wait_cond 5 not_announcing pop1 && lab_wait_client pop2 5; then
		pass lab-speaker-killed
	else
		fail lab-speaker-killed "$(why "pop1 still there")"
	fi
	lab_speaker_start 1
else
	fail lab-speaker-killed "no baseline"
fi

if [ "$LAB_HOOK" != 1 ]; then
	for t in failover restart-rise wrong-data wrong-data-v6-only old-serial degraded drain undrain \
		hook-killed-exabgp-no-flap hook-killed-bird bfd-silent-link server-restart failover-order \
		all-unhealthy all-recover; do
		skip "lab-$t" "anyns-health not built ($LAB_HEALTH)"
	done
	summary; exit $?
fi

# ------------------------------------------------------------------ kill -9 of the DNS server
# Fault -> first answer from another PoP, measured by the client probe.
if baseline; then
	out=$LAB_DIR/probe-failover.txt
	probe_start "$out"
	sleep 1
	t0=$(now)
	lab_stop pop1-dns KILL
	ok=1
	wait_cond 10 not_announcing pop1 || ok=0
	probe_wait_other "$out" pop1 10 || ok=0
	sleep 0.3
	probe_stop
	res=$("$PROBE" analyze "$out" "$t0" pop1)
	ms=$(echo "$res" | sed -n 's/.*failover_ms=\(-\?[0-9]*\).*/\1/p')
	lost=$(echo "$res" | sed -n 's/.*lost=\([0-9]*\).*/\1/p')
	echo "lab: failover after kill -9 of $LAB_DNS at pop1: ${ms} ms, ${lost} queries lost (probe every 25 ms)"
	# The v6 service failed with the same server: withdrawn too.
	wait_cond 5 not_announcing pop1 "$LAB_V6/128" || ok=0
	if [ "$ok" = 1 ] && [ "$(lab_client_id)" = pop2 ] && [ "$(lab_best_pop)" = pop2 ] &&
		[ "$(lab_client_id "$LAB_V6")" = pop2 ] && [ "$(lab_best_pop "$LAB_V6/128")" = pop2 ]; then
		printf 'failover_ms=%s lost=%s interval_ms=25 dns=%s date=%s\n' "$ms" "$lost" "$LAB_DNS" \
			"$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$FAILOVER_FILE"
		if [ "${ms:--1}" -ge 0 ] && [ "$ms" -lt "$FAILOVER_MAX_MS" ]; then
			pass lab-failover
		else
			fail lab-failover "failover took ${ms} ms (limit ${FAILOVER_MAX_MS} ms)"
		fi
	else
		fail lab-failover "$(why "pop1 not withdrawn or pop2 not serving (v6 best=$(lab_best_pop "$LAB_V6/128")); $res")"
	fi
else
	fail lab-failover "no baseline"
fi

# ------------------------------------------------------------------ restart -> rise
# After the restart the server answers at once, but the route must come back only after
# `rise` good rounds: there must be a moment where pop1 answers right locally and is
# still not announced, then the announce, with RISING -> UP in the hook's log.
restart_check() {
	local log=$LAB_DIR/pop1/hook.log from i
	from=$(( $(wc -l <"$log" 2>/dev/null || echo 0) + 1 ))
	lab_dns_start 1
	wait_cond 10 is_announcing pop1 || { echo "not re-announced"; return 1; }
	lab_wait_client pop1 5 || { echo "client not back on pop1"; return 1; }
	# Since the restart: good round 1/3, then UP after 3 good rounds, then the announce.
	tail -n +"$from" "$log" |
		grep -E "service=dns4 from=(DOWN to=RISING|RISING to=UP)|route: announced service=dns4 prefix=192.0.2.53/32" |
		head -3 | awk 'NR == 1 && /from=DOWN to=RISING reason="good round 1\/3"/ { a = 1 }
		               NR == 2 && /from=RISING to=UP reason="3 good rounds"/ { b = 1 }
		               NR == 3 && /route: announced/ { c = 1 } END { exit !(a && b && c) }' ||
		{ echo "no rise before the announce: $(tail -n +"$from" "$log" | grep service=dns4 | head -4 | tr '\n' ' ')"; return 1; }
	return 0
}
if lab_running pop1-dns; then
	fail lab-restart-rise "pop1 DNS server still running (failover case broken)"
elif msg=$(restart_check); then
	pass lab-restart-rise
else
	fail lab-restart-rise "$(why "$msg")"
fi

# ------------------------------------------------------------------ wrong answers
# A zone with wrong data, then one with an old serial, loaded at the serving PoP.
bad_zone_case() {
	local name=$1 kind=$2 probe_name=$3 probe_type=$4 want_bad=$5
	if ! baseline; then fail "$name" "no baseline"; return; fi
	lab_zone_set 1 "$kind"
	wait_cond 3 pop_has 1 "$probe_name" "$probe_type" "$want_bad" || lab_dns_reload_by_restart 1
	if wait_cond 10 not_announcing pop1 && lab_wait_client pop2 5 && [ "$(lab_best_pop)" = pop2 ] &&
		is_announcing pop2 && is_announcing pop3; then
		pass "$name"
	else
		fail "$name" "$(why "pop1 not withdrawn with the $kind zone")"
	fi
	lab_zone_set 1 good
	wait_cond 10 is_announcing pop1 || lab_dns_reload_by_restart 1
}
# pop_has N NAME TYPE VALUE: popN answers VALUE (for SOA: the serial).
pop_has() {
	[ "$(lab_pop_query "$1" "$2" "$3" | awk -v t="$3" '{ print (t == "SOA" ? $3 : $1); exit }')" = "$4" ]
}
# When the server does not reload on SIGHUP, restart it on the new zone.
lab_dns_reload_by_restart() {
	echo "lab: pop$1 did not reload on SIGHUP; restarting it on the new zone"
	lab_stop "pop$1-dns"
	lab_dns_start "$1"
}
bad_zone_case lab-wrong-data wrong www.example.com A 192.0.2.66

# The same wrong `www A`, served only to IPv6 clients: pop1's two prefixes are one
# group, so both leave (the IPv4 answers are right, but the server is not).
v6_wrong_check() {
	lab_stop pop1-dns
	lab_dns_start_split 1
	wait_cond 5 pop_has 1 www.example.com A 192.0.2.80 || { echo "IPv4 server not up"; return 1; }
	wait_cond 10 not_announcing pop1 "$LAB_V6/128" || { echo "IPv6 prefix not withdrawn"; return 1; }
	wait_cond 3 not_announcing pop1 || { echo "IPv4 prefix still announced"; return 1; }
	lab_wait_client pop2 5 || { echo "IPv4 client not moved to pop2"; return 1; }
	lab_wait_client pop2 5 "$LAB_V6" || { echo "IPv6 client not moved to pop2"; return 1; }
	return 0
}
if ! baseline; then
	fail lab-wrong-data-v6-only "no baseline"
elif msg=$(v6_wrong_check); then
	pass lab-wrong-data-v6-only
else
	fail lab-wrong-data-v6-only "$(why "$msg")"
fi
lab_stop pop1-dns; lab_stop pop1-dns6
lab_dns_start 1
bad_zone_case lab-old-serial old example.com SOA 2026010101

# ------------------------------------------------------------------ degraded
# pop1's serial lags the primary's: it stays announced but de-preferred (AS-path
# prepend), so pop2 serves; with the primary gone (lag test off) pop1 is preferred again.
degraded_check() {
	lab_primary_start 1
	wait_cond 10 best_is pop2 || { echo "best path did not move"; return 1; }
	is_announcing pop1 || { echo "pop1 withdrawn instead of de-preferred"; return 1; }
	lab_route_dump | grep -A10 '\[pop1 ' | grep -q 'BGP.as_path: 64601 64601' ||
		{ echo "no AS-path prepend on pop1's route"; return 1; }
	lab_health_ctl 1 status | grep -q '^dns4 .*state=degraded' || { echo "hook not DEGRADED"; return 1; }
	lab_wait_client pop2 5 || { echo "client not on pop2"; return 1; }
	lab_primary_stop 1
	wait_cond 15 best_is pop1 || { echo "pop1 not preferred again"; return 1; }
	lab_wait_client pop1 5 || { echo "client not back on pop1"; return 1; }
	return 0
}
if ! baseline; then
	fail lab-degraded "no baseline"
elif msg=$(degraded_check); then
	pass lab-degraded
else
	fail lab-degraded "$(why "$msg")"
	lab_primary_stop 1
fi

# ------------------------------------------------------------------ drain
# ctl drain: GRACEFUL_SHUTDOWN makes the router prefer pop2 while pop1 still announces
# (and answers), then pop1 withdraws after drain-time. No query may be lost.
if baseline; then
	out=$LAB_DIR/probe-drain.txt
	probe_start "$out"
	sleep 0.5
	t0=$(now)
	ok=1; msg=""
	lab_health_ctl 1 drain >/dev/null || { ok=0; msg="ctl drain failed"; }
	if [ "$ok" = 1 ] && ! wait_cond 5 best_is pop2; then ok=0; msg="best path did not move"; fi
	# The moment traffic moved, pop1's route must still be there, with 65535:0.
	if [ "$ok" = 1 ] && ! is_announcing pop1; then ok=0; msg="pop1 withdrawn before traffic left"; fi
	if [ "$ok" = 1 ] && ! lab_route_dump | grep -A12 '\[pop1 ' | grep -q '(65535,0)'; then
		ok=0; msg="no GRACEFUL_SHUTDOWN community on pop1's route"
	fi
	if [ "$ok" = 1 ] && ! lab_wait_client pop2 5; then ok=0; msg="client not moved to pop2"; fi
	if [ "$ok" = 1 ] && ! wait_cond 15 not_announcing pop1; then ok=0; msg="pop1 not withdrawn after drain-time"; fi
	sleep 0.5
	probe_stop
	res=$("$PROBE" count "$out" "$t0")
	echo "lab: drain: $res"
	case $res in *" lost=0 "*) ;; *) [ "$ok" = 1 ] && { ok=0; msg="queries lost during drain: $res"; } ;; esac
	if [ "$ok" = 1 ]; then pass lab-drain; else fail lab-drain "$(why "$msg")"; fi
	lab_health_ctl 1 undrain >/dev/null
	if wait_cond 15 is_announcing pop1 && lab_wait_client pop1 5; then
		pass lab-undrain
	else
		fail lab-undrain "$(why "pop1 not back after undrain")"
	fi
else
	fail lab-drain "no baseline"
fi

# ------------------------------------------------------------------ kill -9 of the hook
# pop1 (ExaBGP): ExaBGP respawns the hook; the new one finds "announced" in its state
# file, keeps the route, and confirms it after one good round: a healthy PoP does not
# flap. The router must keep pop1's route all along and the client stays on pop1.
if baseline; then
	out=$LAB_DIR/probe-hook.txt
	old=$(lab_hook_pid 1)
	probe_start "$out"
	sleep 0.5
	t0=$(now)
	ok=1; msg=""
	if [ -z "$old" ]; then
		ok=0; msg="no hook process under ExaBGP"
	else
		kill -9 "$old"
		respawned() { local n; n=$(lab_hook_pid 1) && [ -n "$n" ] && [ "$n" != "$old" ]; }
		end=$(( $(date +%s%N) + 3000000000 ))
		while [ "$(date +%s%N)" -lt "$end" ]; do
			is_announcing pop1 || { ok=0; msg="pop1's route left the router"; break; }
			sleep 0.05
		done
		[ "$ok" = 1 ] && { respawned || { ok=0; msg="hook not respawned"; }; }
		[ "$ok" = 1 ] && { grep -q "state: restored service=dns4 was=announced kept=yes " "$LAB_DIR/pop1/hook.log" ||
			{ ok=0; msg="the new hook did not resume from the state file"; }; }
	fi
	probe_stop
	res=$("$PROBE" count "$out" "$t0")
	echo "lab: hook killed at pop1: $res"
	[ "$ok" = 1 ] && case $res in *" lost=0 pops=pop1") ;; *) ok=0; msg="client saw: $res";; esac
	if [ "$ok" = 1 ]; then pass lab-hook-killed-exabgp-no-flap; else fail lab-hook-killed-exabgp-no-flap "$(why "$msg")"; fi
else
	fail lab-hook-killed-exabgp-no-flap "no baseline"
fi

# pop2 (BIRD): the hook's guard tun device goes with the process, BIRD drops the static
# route; nothing respawns the hook here, so pop2 stays withdrawn until it is restarted.
if baseline; then
	lab_stop pop2-hook KILL
	if wait_cond 5 not_announcing pop2 && wait_cond 5 not_announcing pop2 "$LAB_V6/128" &&
		is_announcing pop1 && [ "$(lab_client_id)" = pop1 ]; then
		pass lab-hook-killed-bird
	else
		fail lab-hook-killed-bird "$(why "pop2 still announced after its hook died")"
	fi
	lab_hook_start 2
else
	fail lab-hook-killed-bird "no baseline"
fi

# ------------------------------------------------------------------ silent link failure
# pop1 goes (its server is stopped), so pop2, a BIRD PoP with BFD, serves. Then pop2's
# link drops every packet while it stays up. With BFD (100 ms x 3) the router drops
# pop2's session and the client moves to pop3 in under 1 s; without it (LAB_BFD=0) only
# the BGP hold timer ($LAB_HOLD s) notices.
if [ "$LAB_BFD" = 1 ]; then BFD_MAX_MS=1000; else BFD_MAX_MS=$(( LAB_HOLD * 1000 + 3000 )); fi
BFD_MAX_MS=${LAB_BFD_MAX_MS:-$BFD_MAX_MS}
if baseline; then
	ok=1; msg=""
	lab_stop pop1-dns KILL
	{ wait_cond 10 best_is pop2 && lab_wait_client pop2 5; } || { ok=0; msg="pop2 not serving after pop1 left"; }
	if [ "$ok" = 1 ]; then
		out=$LAB_DIR/probe-bfd.txt
		probe_start "$out" $(( BFD_MAX_MS / 1000 + 5 ))
		sleep 0.5
		t0=$(now)
		lab_link_silence 2 on || { ok=0; msg="tc could not drop the link's traffic"; }
		lab_exec pop2 ip link show eth0 | grep -q "state UP" || { ok=0; msg="link went down"; }
		[ "$ok" = 1 ] && { probe_wait_other "$out" pop2 $(( BFD_MAX_MS / 1000 + 3 )) || { ok=0; msg="client never moved"; }; }
		sleep 0.3
		probe_stop
		res=$("$PROBE" analyze "$out" "$t0" pop2)
		ms=$(echo "$res" | sed -n 's/.*failover_ms=\(-\?[0-9]*\).*/\1/p')
		echo "lab: silent link failure at pop2 (BFD $([ "$LAB_BFD" = 1 ] && echo on || echo off), BGP hold ${LAB_HOLD} s): $res"
		[ "$ok" = 1 ] && { [ "$(lab_best_pop)" = pop3 ] && [ "$(lab_client_id)" = pop3 ] || { ok=0; msg="pop3 not serving"; }; }
		[ "$ok" = 1 ] && { [ "${ms:--1}" -ge 0 ] && [ "$ms" -lt "$BFD_MAX_MS" ] || { ok=0; msg="failover took ${ms} ms (limit $BFD_MAX_MS ms)"; }; }
		lab_link_silence 2 off
	fi
	if [ "$ok" = 1 ]; then pass lab-bfd-silent-link; else fail lab-bfd-silent-link "$(why "$msg")"; fi
	lab_link_silence 2 off
	lab_dns_start 1
else
	fail lab-bfd-silent-link "no baseline"
fi

# ------------------------------------------------------------------ server restarted after a crash
# kill -9 of anynsd alone: its supervisor (Restart=on-failure, RestartSec 2 s) starts it
# again. The route must leave (the hook's fall), the server come back, the route come
# back (rise) and the client return to pop1.
if baseline; then
	out=$LAB_DIR/probe-restart.txt
	old=$(lab_dns_pid 1)
	probe_start "$out"
	sleep 0.5
	t0=$(now)
	ok=1; msg=""
	if [ -z "$old" ] || ! lab_dns_crash 1; then ok=0; msg="no supervised DNS server at pop1"; fi
	[ "$ok" = 1 ] && { wait_cond 5 not_announcing pop1 || { ok=0; msg="route not withdrawn"; }; }
	t_wd=$(now)
	new_server() { local p; p=$(lab_dns_pid 1) && [ -n "$p" ] && [ "$p" != "$old" ] && lab_dns_wait 1; }
	[ "$ok" = 1 ] && { wait_cond 10 new_server || { ok=0; msg="server not restarted"; }; }
	t_up=$(now)
	[ "$ok" = 1 ] && { wait_cond 10 is_announcing pop1 || { ok=0; msg="route not announced again"; }; }
	t_ann=$(now)
	[ "$ok" = 1 ] && { lab_wait_client pop1 5 || { ok=0; msg="client not back on pop1"; }; }
	sleep 0.3
	probe_stop
	res=$("$PROBE" analyze "$out" "$t0" pop1)
	ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
	echo "lab: anynsd killed at pop1: withdrawn after $(ms "$t0" "$t_wd") ms, answering again after $(ms "$t0" "$t_up") ms, announced again after $(ms "$t0" "$t_ann") ms; client: $res, $("$PROBE" count "$out" "$t0")"
	if [ "$ok" = 1 ] && grep -q "supervise: .*anynsd failed (status 137); restarting" "$LAB_DIR/pop1-dns.log" 2>/dev/null ||
		{ [ "$ok" = 1 ] && [ "$LAB_DNS" != anynsd ]; }; then
		pass lab-server-restart
	else
		fail lab-server-restart "$(why "${msg:-no restart logged by the supervisor}")"
	fi
else
	fail lab-server-restart "no baseline"
fi

# ------------------------------------------------------------------ all PoPs unhealthy
# The servers die one after the other: pop1 -> pop2 -> pop3 takes over, then nothing is
# announced at all and the client gets no answer.
if baseline; then
	lab_stop pop1-dns KILL
	if wait_cond 10 not_announcing pop1 && lab_wait_client pop2 5 && [ "$(lab_best_pop)" = pop2 ]; then
		lab_stop pop2-dns KILL
		if wait_cond 10 not_announcing pop2 && lab_wait_client pop3 5 && [ "$(lab_best_pop)" = pop3 ] &&
			[ "$(lab_announcing)" = pop3 ]; then
			pass lab-failover-order
		else
			fail lab-failover-order "$(why "pop3 not serving after pop1 and pop2 died")"
		fi
	else
		fail lab-failover-order "$(why "pop2 not serving after pop1 died")"
	fi
	for n in $LAB_POPS; do lab_stop "pop$n-dns" KILL; done
	if wait_cond 15 nothing_announced && [ -z "$(lab_client_id)" ] &&
		[ "$(lab_best_pop)" = none ]; then
		pass lab-all-unhealthy
	else
		fail lab-all-unhealthy "$(why "something still announced")"
	fi
	for n in $LAB_POPS; do lab_dns_start "$n"; done
	if baseline; then pass lab-all-recover; else fail lab-all-recover "$(why "not back")"; fi
else
	fail lab-all-unhealthy "no baseline"
fi

# ================================================================== two regions
# tests/lab/world.sh: r1 (a1, a2) and r2 (b1), the routers peering. Each scenario
# asserts the routers' routes and which PoP answered (id.server and NSID).
lab_down
# Five cases (a failed start ends the run early, with its failure).
plan 5
WLOAD=$ROOT/tests/lab/world_load.py
if ! w_up; then
	fail world-up "the two-region lab did not come up (logs in $W_DIR)"
	summary; exit $?
fi
in_region1() { case $1 in a1|a2) return 0;; *) return 1;; esac; }
wmsg() { echo "$1; r1: [$(w_routes r1)] best $(w_best r1); r2: [$(w_routes r2)] best $(w_best r2); c1: $(w_client_id c1); c2: $(w_client_id c2)"; }

# Nearest PoP: each router prefers its own region's PoPs (AS path 1 against 2).
# The routes are in BIRD once w_up returns; the best-route choice and the kernel
# routes the clients use may follow a moment later, so wait (bounded) for all of it.
nearest_ok() {
	c1=$(w_client_id c1); c1n=$(w_client_nsid c1); c2=$(w_client_id c2); c2n=$(w_client_nsid c2)
	[ "$(w_routes r1)" = "a1 a2 r2" ] && in_region1 "$(w_best r1)" && [ "$(w_routes r2)" = "b1 r1" ] &&
		[ "$(w_best r2)" = b1 ] && in_region1 "$c1" && [ "$c1n" = "$c1" ] && [ "$c2" = b1 ] && [ "$c2n" = b1 ]
}
if wait_cond 5 nearest_ok; then
	pass world-nearest-pop
else fail world-nearest-pop "$(wmsg "c1 NSID $c1n, c2 NSID $c2n")"; fi

# Load spreading: r1's kernel route has both region-1 PoPs (ECMP), and queries from
# many source ports reach both.
spread=$(w_exec c1 "$WLOAD" spread "$LAB_V4" 200)
na1=$(echo "$spread" | awk '$1 == "a1" { print $2 }'); na2=$(echo "$spread" | awk '$1 == "a2" { print $2 }')
echo "world: 200 queries from c1 (new source port each): a1 ${na1:-0}, a2 ${na2:-0} ($(echo "$spread" | tr '\n' ' '))"
if [ "$(w_kernel_nexthops r1)" = 2 ] && [ "${na1:-0}" -ge 30 ] && [ "${na2:-0}" -ge 30 ] &&
	! echo "$spread" | grep -q '^b1 '; then
	pass world-ecmp-spread
else fail world-ecmp-spread "$(wmsg "next hops $(w_kernel_nexthops r1); $spread")"; fi

# Region 2's PoP fails: its client goes to region 1 (through r1), then comes back.
out=$W_DIR/probe-c2.txt
rm -f "$out"
w_exec c2 "$PROBE" run "$LAB_V4" "$out" --interval 25 --timeout 250 --max-seconds 20 &
wprobe=$!
sleep 0.5
t0=$(now)
w_stop b1-dns KILL
ok=1; msg=""
c2_region1() { in_region1 "$(w_client_id c2)"; }
r2_via_r1() { [ "$(w_routes r2)" = r1 ] && [ "$(w_best r2)" = r1 ]; }
wait_cond 10 r2_via_r1 || { ok=0; msg="r2 still has b1's route"; }
[ "$ok" = 1 ] && { wait_cond 5 c2_region1 || { ok=0; msg="c2 not answered by region 1"; }; }
[ "$ok" = 1 ] && { in_region1 "$(w_client_nsid c2)" || { ok=0; msg="NSID not from region 1"; }; }
res=$("$PROBE" analyze "$out" "$t0" b1)
echo "world: b1's server killed: c2 failover $res"
if [ "$ok" = 1 ]; then pass world-region-failover; else fail world-region-failover "$(wmsg "$msg")"; fi
w_dns_start b1
ok=1
b1_back() { [ "$(w_best r2)" = b1 ] && [ "$(w_client_id c2)" = b1 ]; }
wait_cond 15 b1_back || ok=0
kill "$wprobe" 2>/dev/null; wait "$wprobe" 2>/dev/null
if [ "$ok" = 1 ] && [ "$(w_client_nsid c2)" = b1 ]; then pass world-region-return
else fail world-region-return "$(wmsg "b1 not back")"; fi

# Attack absorption: a bounded flood from c1 (3000 qps for 3 s) lands on region 1's
# PoPs only; region 2's client keeps its answers and its latency.
qcount() { w_exec "$1" curl -s http://127.0.0.1:9153/metrics 2>/dev/null |
	awk '/^anyns_queries_total\{transport="udp"\}/ { print $2 }'; }
if ! command -v curl >/dev/null; then skip world-attack-absorbed "curl not installed"; else
	base=$W_DIR/probe-c2-base.txt; during=$W_DIR/probe-c2-flood.txt
	rm -f "$base" "$during"
	w_exec c2 "$PROBE" run "$LAB_V4" "$base" --interval 25 --timeout 250 --max-seconds 2
	qa1=$(qcount a1); qa2=$(qcount a2); qb1=$(qcount b1)
	w_exec c2 "$PROBE" run "$LAB_V4" "$during" --interval 25 --timeout 250 --max-seconds 3.5 &
	wprobe=$!
	fl=$(w_exec c1 "$WLOAD" flood "$LAB_V4" 3000 3)
	wait "$wprobe"
	da=$(( $(qcount a1) - qa1 + $(qcount a2) - qa2 )); db=$(( $(qcount b1) - qb1 ))
	lat() { awk '$3 == "b1" { print ($2 - $1) * 1000 }' "$1" | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", v[int((NR + 1) / 2)]; else print "-1" }'; }
	lb=$(lat "$base"); ld=$(lat "$during")
	cd_=$("$PROBE" count "$during")
	echo "world: flood from c1: $fl; queries at a1+a2 $da, at b1 $db; c2 median latency $lb ms before, $ld ms during ($cd_)"
	sent=$(echo "$fl" | sed -n 's/sent=\([0-9]*\).*/\1/p')
	if [ "${sent:-0}" -gt 0 ] && [ "$da" -ge $(( sent / 2 )) ] && [ "$db" -lt 500 ] &&
		case $cd_ in *" lost=0 pops=b1") true;; *) false;; esac &&
		awk -v b="$lb" -v d="$ld" 'BEGIN { exit !(d >= 0 && d < (b * 5 > 20 ? b * 5 : 20)) }'; then
		pass world-attack-absorbed
	else fail world-attack-absorbed "$(wmsg "a1+a2 $da b1 $db; c2 $cd_; latency $lb -> $ld ms")"; fi
fi
w_down

summary
