#!/usr/bin/env bash
# Rate limiting in the XDP program: a client and a server namespace on a
# veth pair, anynsd answering a hot (pre-filled) name from XDP with rrl at
# rate 200, slip 2. The same burst as the socket path's (3000 identical
# queries in one second) must get the same split, counted by the XDP
# program's counters and not by the sockets'. Run by tests/rrl/run.sh (its
# helpers and $TMP).

XC=arrlc$$
XS=arrls$$
xdp_cleanup() { ip netns del "$XC" 2>/dev/null; ip netns del "$XS" 2>/dev/null; }

xdp_rrl() {
	local xpid j m xa xs xd sl dr
	# Each way out before the burst gives one result for the four checks.
	if ! ip netns add "$XC" 2>/dev/null || ! ip netns add "$XS" 2>/dev/null; then
		plan -4
		skip_root $T:xdp "cannot create network namespaces (not root?)"; return
	fi
	if [ ! -f "$BIN/tests/xdp/xdp_pass.bpf.o" ]; then
		plan -4
		fail $T:xdp "no $BIN/tests/xdp/xdp_pass.bpf.o (build first)"; return
	fi
	if ! ip -n "$XC" link add vc type veth peer name vs netns "$XS"; then
		plan -4
		fail $T:xdp "cannot make a veth pair"; return
	fi
	ip -n "$XC" link set lo up
	ip -n "$XS" link set lo up
	ip -n "$XC" addr add 192.0.2.1/24 dev vc
	ip -n "$XS" addr add 192.0.2.53/24 dev vs
	ip -n "$XC" link set vc up
	ip -n "$XS" link set vs up
	# A veth receives its peer's XDP_TX frames only when it runs XDP itself.
	if ! ip -n "$XC" link set dev vc xdpdrv obj "$BIN/tests/xdp/xdp_pass.bpf.o" sec xdp; then
		plan -4
		fail $T:xdp "cannot attach the pass program"; return
	fi
	cat > "$TMP/xdp.yaml" <<Y
server:
  listen: [192.0.2.53]
  workers: 1
  control: false
  metrics: 127.0.0.1:9153
xdp: { interfaces: [ vs ] }
rrl: { rate: 200, slip: 2 }
zones:
  - origin: example.com
    file: $TMP/example.com.zone
Y
	ip netns exec "$XS" "${ANYNSD[@]}" -c "$TMP/xdp.yaml" >"$TMP/xdp.log" 2>&1 &
	xpid=$!
	PIDS+=("$xpid")
	local up=0 i
	for i in $(seq 1 100); do
		ip netns exec "$XC" kdig @192.0.2.53 +time=1 +retry=0 example.com SOA 2>/dev/null |
			grep -q status: && { up=1; break; }
		sleep 0.1
	done
	if [ "$up" -eq 0 ] || ! grep -q "xdp: attached\|xdp=on" "$TMP/xdp.log"; then
		plan -4
		fail $T:xdp "anynsd with XDP did not come up: $(tail -3 "$TMP/xdp.log")"
		stop_pid "$xpid"; return
	fi
	m() { metric 9153 "$1" "$XS"; }
	xa=$(m anyns_xdp_answered_total)
	sleep 1.1
	j=$(ip netns exec "$XC" $PY "$BURST" --server 192.0.2.53 --port 53 --count 3000 --seconds 1)
	burst_ok $T:xdp-one-source "$j" 200 2
	xa=$(( $(m anyns_xdp_answered_total) - xa ))
	xs=$(m anyns_xdp_rrl_slipped_total); xd=$(m anyns_xdp_rrl_dropped_total)
	sl=$(m anyns_rrl_slipped_total); dr=$(m anyns_rrl_dropped_total)
	echo "  XDP counters: answered=$xa slipped=$xs dropped=$xd; sockets: slipped=$sl dropped=$dr"
	local tc none full
	tc=$(field "$j" tc); none=$(field "$j" none); full=$(field "$j" full)
	# The limiting happened in XDP: its counters hold the split, the
	# sockets saw none of it.
	if [ "${xs:-x}" = "$tc" ] && [ -n "$xd" ] && [ "$xd" -ge $((none * 9 / 10)) ] &&
	   [ "$xd" -le "$none" ] && [ "$xd" -gt 0 ] && [ "$xa" -ge $((full + tc)) ] && [ "${sl:-1}" -eq 0 ] &&
	   [ "${dr:-1}" -eq 0 ]; then
		pass $T:xdp-counters
	else
		fail $T:xdp-counters "xdp answered=$xa slipped=$xs dropped=$xd, sockets $sl/$dr, for $j"
	fi
	# Queries with EDNS: the TC=1 answers XDP slips carry the OPT record.
	sleep 1.1
	j=$(ip netns exec "$XC" $PY "$BURST" --server 192.0.2.53 --port 53 --count 1000 --seconds 0.5 --edns)
	local xs2 tco
	xs2=$(m anyns_xdp_rrl_slipped_total); tc=$(field "$j" tc); tco=$(field "$j" tc_opt)
	echo "  XDP, EDNS: full=$(field "$j" full) tc=$tc (with OPT $tco) dropped=$(field "$j" none)"
	if [ "$tc" -gt 0 ] && [ "$tco" = "$tc" ] && [ $((xs2 - xs)) -ge "$tc" ]; then
		pass $T:xdp-slip-opt
	else
		fail $T:xdp-slip-opt "tc=$tc with OPT $tco, xdp slipped $xs -> $xs2"
	fi
	# A reload raising the rate changes the XDP program's limit at once:
	# the same burst goes through whole, answered from XDP. The table size
	# asked for in the same reload is not taken (the program's map is sized
	# at start): both paths keep theirs, and the log says a restart is needed.
	sed -i 's/^rrl: .*/rrl: { rate: 5000, slip: 2, table-size: 1024 }/' "$TMP/xdp.yaml"
	kill -HUP "$xpid"
	wait_for 5 grep -q "rrl: reloaded rate=5000" "$TMP/xdp.log"
	if grep -q "rrl: table-size-unchanged table-size=262144 requested=1024 reason=.*restart" "$TMP/xdp.log" &&
	   grep -q "rrl: reloaded rate=5000 .*table-size=262144$" "$TMP/xdp.log"; then
		pass $T:xdp-reload-table-size-kept
	else
		fail $T:xdp-reload-table-size-kept "$(grep 'rrl:' "$TMP/xdp.log" | tail -3)"
	fi
	sleep 1.1
	xa=$(m anyns_xdp_answered_total)
	j=$(ip netns exec "$XC" $PY "$BURST" --server 192.0.2.53 --port 53 --count 3000 --seconds 1)
	xa=$(( $(m anyns_xdp_answered_total) - xa ))
	full=$(field "$j" full)
	echo "  XDP after a reload to rate 5000: full=$full tc=$(field "$j" tc) dropped=$(field "$j" none), answered in XDP $xa"
	if [ "$full" -ge 2950 ] && [ "$xa" -ge 2950 ]; then
		pass $T:xdp-reload-rrl
	else
		fail $T:xdp-reload-rrl "full=$full, XDP answered $xa; $(grep -i 'rrl\|xdp' "$TMP/xdp.log" | tail -3)"
	fi
	stop_pid "$xpid"
}
xdp_rrl
xdp_cleanup
