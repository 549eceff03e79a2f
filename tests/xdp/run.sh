#!/usr/bin/env bash
# XDP fast-path tests: a client and a server network namespace joined by a veth
# pair (plus an 802.1Q and an 802.1ad+802.1Q sub-interface on both ends),
# anynsd in the server namespace with and without --xdp. Checks that the XDP
# answers are byte-identical to the socket path's, that the counters show
# which path answered, that bad frames are never answered, that a reload under
# load sends nothing stale and loses nothing, that the members of a catalog
# zone are answered there while listed and never once removed, and that
# anynsd falls back to sockets when XDP cannot be attached. Needs root.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
PY=/usr/bin/python3
HERE="$ROOT/tests/xdp"
CLIENT="$HERE/xdp_client.py"

if ! need_root xdp; then
	summary; exit $?
fi
for t in ip ethtool kdig setpriv; do
	if ! command -v $t >/dev/null; then
		skip xdp "$t not installed"
		summary; exit $?
	fi
done
if ! "$PY" -c 'import dns.message' 2>/dev/null; then
	skip xdp "python3-dnspython not installed"
	summary; exit $?
fi
if [ ! -x "$BIN/anynsd" ] || [ ! -f "$BIN/tests/xdp/xdp_pass.bpf.o" ]; then
	fail xdp "no $BIN/anynsd (build first)"
	summary; exit $?
fi

C=$(netns_name xdpc)
S=$(netns_name xdps)
TMP=$(mktemp -d /tmp/anyns-xdp.XXXXXX)
chmod 755 "$TMP"
DPID=
METRICS=http://192.0.2.2:9153/metrics

KNOT_PID=
cleanup() {
	stop_server
	[ -z "$KNOT_PID" ] || "$PY" "$ROOT/tests/pylib/peers.py" stop --timeout 2 "$KNOT_PID" >/dev/null 2>&1
	netns_cleanup
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

inc() { ip netns exec "$C" "$@"; }
ins() { ip netns exec "$S" "$@"; }

if ! netns_add "$C" "$S"; then
	skip_root xdp "cannot create network namespaces"
	summary; exit $?
fi
# The results of the run below (33); a step that cannot start records one
# failure in place of its checks.
plan 33

setup_net() {
	netns_veth "$C" vc "$S" vs || return 1
	local ns side peer
	for ns in "$C" "$S"; do
		if [ "$ns" = "$C" ]; then side=vc; peer=1; else side=vs; peer=53; fi
		ip -n "$ns" addr add 192.0.2.$peer/24 dev $side
		ip -n "$ns" addr add 2001:db8::$peer/64 dev $side nodad
		# VLAN offload off so tags stay in the frame; checksums
		# computed in software so the client can check every one.
		ip netns exec "$ns" ethtool -K $side txvlan off rxvlan off \
			tx-vlan-stag-hw-insert off rx-vlan-stag-hw-parse off tx off >/dev/null 2>&1
	done
	# A veth receives its peer's XDP_TX frames only when it runs XDP itself.
	ip -n "$C" link set dev vc xdpdrv obj "$BIN/tests/xdp/xdp_pass.bpf.o" sec xdp || return 1
	ip -n "$S" addr add 192.0.2.2/24 dev vs
	ip -n "$S" addr add 2001:db8::2/64 dev vs nodad
}

make_zone() { # SERIAL GEN
	sed -e "/^;/d" -e "s/@SERIAL@/$1/" -e "s/@GEN@/$2/" "$HERE/zone.in" > "$TMP/example.com.zone.tmp"
	mv "$TMP/example.com.zone.tmp" "$TMP/example.com.zone"
}

# start_server LOGNAME [extra anynsd args...]
start_server() {
	local log=$TMP/$1.log i; shift
	# Not through ins(): $! must be anynsd itself (ip netns exec execs it).
	ip netns exec "$S" "$@" >"$log" 2>&1 &
	DPID=$!
	for i in $(seq 1 100); do
		if inc kdig @192.0.2.53 +timeout=1 +retry=0 example.com SOA 2>/dev/null | grep -q 'status:'; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "--- $log"; tail -20 "$log"
	return 1
}

# reload_gen2 LOGNAME: gen-2 of the zone, SIGHUP, wait until it is published.
reload_gen2() {
	make_zone 2 gen-2
	kill -HUP "$DPID"
	for _ in $(seq 1 100); do
		grep -q "reload: done generation=2 " "$TMP/$1.log" && break
		sleep 0.05
	done
}

stop_server() {
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
		DPID=
	fi
}

# The fast path's answer counter, read over HTTP from the client namespace.
metric() {
	inc "$PY" -c "import sys; sys.path.insert(0,'$HERE'); import xdp_client as c; print(c.metric('$METRICS','anyns_xdp_answered_total'))"
}

check_detached() { # LABEL
	local i
	# The kernel releases the link when the last fd closes; allow it a moment.
	for i in $(seq 1 20); do
		ip -n "$S" link show vs | grep -q 'prog/xdp' || break
		sleep 0.1
	done
	if ip -n "$S" link show vs | grep -q 'prog/xdp'; then
		fail xdp-detached-on-exit-$1 "still attached to vs: $(ip -n "$S" link show vs | grep prog/xdp)"
	else
		pass xdp-detached-on-exit-$1
	fi
}

ANYNSD=("$BIN/anynsd" "${ANYNSD_USER[@]}" --listen 192.0.2.53 --listen '[2001:db8::53]' --zone "example.com=$TMP/example.com.zone"
	--metrics 192.0.2.2:9153 --workers 1)
# A small zone signed now (NSEC): its DO=1 answers, with RRSIGs and denial
# proofs, go through the fast path too and must stay byte-identical.
if command -v ldns-signzone >/dev/null && command -v ldns-keygen >/dev/null; then
	printf '%s\n' '$ORIGIN signed.example.' '$TTL 300' \
		'@ SOA ns.example.com. hostmaster 1 3600 900 604800 300' '@ NS ns.example.com.' \
		'www A 192.0.2.80' > "$TMP/signed.example.zone"
	( cd "$TMP" && k=$(ldns-keygen -a ECDSAP256SHA256 -k signed.example) &&
	  ldns-signzone -o signed.example -f signed.example.zone.signed signed.example.zone "$k" &&
	  rm -f "$k".* )
	ANYNSD+=(--zone "signed.example=$TMP/signed.example.zone.signed")
fi

if ! setup_net; then
	fail xdp-setup "could not build the veth/VLAN topology"
	summary; exit $?
fi
make_zone 1 gen-1
SMAC=$(ins cat /sys/class/net/vs/address)

# ---- 1. the same query list with XDP off and on ------------------------------
if start_server off "${ANYNSD[@]}"; then
	inc "$PY" "$CLIENT" queries "$TMP/off.json" "$METRICS" vc "$SMAC" noraw || fail xdp-client-off
	stop_server
else
	fail xdp-start-off "anynsd did not start"
fi

if start_server on "${ANYNSD[@]}" --xdp vs; then
	if grep -q "xdp: attached interface=vs mode=native" "$TMP/on.log"; then
		pass xdp-attach-native
	else
		fail xdp-attach-native "$(grep -i xdp "$TMP/on.log" | head -3)"
	fi
	inc "$PY" "$CLIENT" queries "$TMP/on.json" "$METRICS" vc "$SMAC" raw || fail xdp-client-on
	# ---- 2. bad frames, sent raw from the client namespace ---------------
	if inc "$PY" "$CLIENT" badframes vc "$SMAC" "$METRICS" > "$TMP/bad.out" 2>&1 &&
	   kill -0 "$DPID" 2>/dev/null; then
		pass xdp-bad-frames-never-answered
	else
		grep -v '^ok' "$TMP/bad.out"
		fail xdp-bad-frames-never-answered
	fi
	# The server still answers through XDP after the bad frames.
	if inc kdig @192.0.2.53 +timeout=1 +retry=1 www.example.com A +short | grep -q 192.0.2.80; then
		pass xdp-alive-after-bad-frames
	else
		fail xdp-alive-after-bad-frames
	fi
	stop_server
	check_detached queries
else
	fail xdp-start-on "anynsd --xdp did not start"
fi

if [ -s "$TMP/off.json" ] && [ -s "$TMP/on.json" ]; then
	"$PY" - "$TMP/off.json" "$TMP/on.json" > "$TMP/compare.out" <<'PY'
import json, sys
off = json.load(open(sys.argv[1])); on = json.load(open(sys.argv[2]))
ro, rn = off["results"], on["results"]
res = {}
def verdict(name, ok, why=""):
    print("%s %s %s" % ("PASS" if ok else "FAIL", name, why))
lost = [r for r in ro + rn if r["resp"] is None and r["target"] in ("v4", "v6")]
verdict("xdp-no-loss", not lost and len(ro) > 0,
        "; ".join("%s %s %s %s" % (r["target"], r["name"], r["type"], r["shape"]) for r in lost[:5]))
# Tagged queries only exist in the XDP run: their answers must equal the
# socket path's answer to the same untagged query.
base = {"vlan-v4": "v4", "vlan-v6": "v6", "qinq-v4": "v4"}
key = lambda r: (r["pass"], r["target"], r["name"], r["type"], r["shape"])
offk = {key(r): r for r in ro}
lost = [r for r in lost if r["target"] not in base]
rawhits = [r for r in rn if r["target"] in base and r["hit"] and r["pass"] == 2]
rawlost = [r for r in rawhits if r["resp"] is None]
verdict("xdp-vlan-answered", rawhits and not rawlost,
        "; ".join("%s %s %s %s" % (r["target"], r["name"], r["type"], r["shape"]) for r in rawlost[:5]))
verdict("xdp-vlan-tags-kept", rawhits and all(r["tags_ok"] for r in rawhits if r["resp"]))
pairs = []
for r in rn:
    k = key(r)
    if r["target"] in base:
        if not (r["hit"] and r["pass"] == 2):
            continue
        k = (r["pass"], base[r["target"]]) + k[2:]
    pairs.append((offk.get(k, {"resp": "missing"}), r))
diff = [(a, b) for a, b in pairs if a["resp"] != b["resp"]]
verdict("xdp-byte-identical", not diff and len(pairs) > 0,
        "; ".join("pass%d %s %s %s %s" % (a["pass"], a["target"], a["name"], a["type"], a["shape"]) for a, b in diff[:5]))
p2 = [r for r in rn if r["pass"] == 2]
rawnon = [r for r in p2 if r["target"] in base and r["hit"] is False and r["resp"] is not None]
verdict("xdp-vlan-non-simple-passed", not rawnon)
missed = [r for r in p2 if r["hit"] and r["xdp"] != 1]
verdict("xdp-answers-hits", not missed,
        "not from XDP: " + "; ".join("%s %s %s %s" % (r["target"], r["name"], r["type"], r["shape"]) for r in missed[:8]))
wrong = [r for r in p2 if r["hit"] is False and r["xdp"] != 0]
verdict("xdp-passes-non-simple", not wrong,
        "; ".join("%s %s %s %s" % (r["target"], r["name"], r["type"], r["shape"]) for r in wrong[:8]))
for t in ("v4", "v6", "vlan-v4", "vlan-v6", "qinq-v4"):
    n = sum(1 for r in p2 if r["target"] == t and r["xdp"] == 1)
    verdict("xdp-path-" + t, n > 0, "%d answered in XDP" % n)
offx = [r for r in ro if r["xdp"]]
verdict("xdp-off-counts-nothing", not offx)
shapes = {r["shape"] for r in p2 if r["xdp"] == 1}
verdict("xdp-shapes-covered", {"plain", "rd", "edns", "do", "edns512", "ad-cd"} <= shapes, str(sorted(shapes)))
verdict("xdp-checksums", on["checked"] > 0 and not on["bad"], "%d frames checked, bad: %s" % (on["checked"], on["bad"][:5]))
PY
	while read -r v name why; do
		if [ "$v" = PASS ]; then pass "$name"; else fail "$name" "$why"; fi
	done < "$TMP/compare.out"
fi

# ---- 3. reload under load: nothing stale, nothing lost -----------------------
if start_server reload "${ANYNSD[@]}" --xdp vs; then
	mkdir -p "$TMP/rl"
	inc "$PY" "$CLIENT" reload "$TMP/rl" 1500 > "$TMP/reload.out" 2>&1 &
	CPID=$!
	for _ in $(seq 1 200); do
		[ -f "$TMP/rl/sent" ] && [ "$(cat "$TMP/rl/sent")" -ge 300 ] && break
		sleep 0.05
	done
	A1=$(metric)
	reload_gen2 reload
	touch "$TMP/rl/reloaded"
	wait "$CPID"
	A2=$(metric)
	out=$(cat "$TMP/reload.out")
	echo "$out (xdp answered: $A1 before the reload, $A2 at the end)"
	if echo "$out" | grep -q "lost=0 " && echo "$out" | grep -q "stale=0 " &&
	   ! echo "$out" | grep -q "after_reload=0 "; then
		pass xdp-reload-no-stale-no-loss
	else
		fail xdp-reload-no-stale-no-loss "$out"
	fi
	if [ "${A1:-0}" != None ] && [ "${A2:-0}" != None ] && [ "$A1" -gt 0 ] && [ "$A2" -gt "$A1" ]; then
		pass xdp-reload-xdp-answers-both-generations
	else
		fail xdp-reload-xdp-answers-both-generations "answered $A1 -> $A2"
	fi
	stop_server
	check_detached reload
else
	fail xdp-reload "anynsd did not start"
fi
make_zone 1 gen-1

# ---- 3b. a reload after the privilege drop still refreshes the map --------
# As nobody, anynsd keeps CAP_BPF alone: where unprivileged bpf() is off, the
# map updates of a reload need it, or the driver would keep answering gen-1.
NOBODY=("$BIN/anynsd" --user nobody --listen 192.0.2.53 --zone "example.com=$TMP/example.com.zone"
	--metrics 192.0.2.2:9153 --workers 1)
gq() { inc kdig @192.0.2.53 +timeout=1 +retry=1 gen.example.com TXT +short 2>/dev/null | tr -d '"'; }
if start_server dropped "${NOBODY[@]}" --xdp vs; then
	for _ in 1 2 3; do gq >/dev/null; done
	A1=$(metric)
	before=$(gq)
	A2=$(metric)
	reload_gen2 dropped
	after=$(gq)
	after2=$(gq)
	A3=$(metric)
	uid=$(awk '/^Uid:/ {print $2}' /proc/$DPID/status 2>/dev/null)
	# CAP_BPF (bit 39) and nothing else, in the main thread and the worker
	# (it puts answers into the map too), none in threads started before the
	# drop; kernels from 6.5 allow map updates without it, Debian 12's 6.1
	# does not.
	caps=$(cat /proc/$DPID/task/*/status 2>/dev/null | awk '/^CapEff:/ {print $2}' | sort | uniq -c |
		awk '{printf "%s:%s ", $2, ($2 == "0000008000000000" && $1 >= 2) ? "ok" : $1}')
	maincap=$(awk '/^CapEff:/ {print $2}' /proc/$DPID/status 2>/dev/null)
	if [ "$before" = gen-1 ] && [ "$after" = gen-2 ] && [ "$after2" = gen-2 ] &&
	   [ "$uid" = "$(id -u nobody)" ] && [ "$maincap" = 0000008000000000 ] && echo "$caps" | grep -q '0000008000000000:ok' &&
	   ! echo "$caps" | grep -vq '^\(0000000000000000:[0-9]* \)\?0000008000000000:ok $'  && [ "$A1" != None ] && [ "$A2" -gt "$A1" ] &&
	   [ "$A3" -gt "$A2" ] && ! grep -q "xdp: refresh-failed" "$TMP/dropped.log"; then
		pass xdp-reload-after-user-drop
	else
		fail xdp-reload-after-user-drop "uid $uid, CapEff $caps; before $before, after $after/$after2; xdp answered $A1 -> $A2 -> $A3; $(grep -E 'xdp: refresh|daemon: user' "$TMP/dropped.log" | head -3)"
	fi
	stop_server
	check_detached dropped
else
	fail xdp-reload-after-user-drop "anynsd did not start as nobody"
fi
make_zone 1 gen-1

# ---- 4. generic (skb) mode, forced from the config file ----------------------
printf 'xdp:\n  interfaces: [vs]\n  mode: generic\n' > "$TMP/generic.yaml"
if start_server generic "${ANYNSD[@]}" -c "$TMP/generic.yaml" --control false; then
	A1=$(metric)
	out=$(inc "$PY" "$CLIENT" load 192.0.2.53 200)
	A2=$(metric)
	if grep -q "xdp: attached interface=vs mode=generic" "$TMP/generic.log" && echo "$out" | grep -q "answered=200 of 200" &&
	   [ "$A1" != None ] && [ "$A2" != None ] && [ $((A2 - A1)) -ge 190 ]; then
		pass xdp-generic-mode
	else
		fail xdp-generic-mode "$out; xdp answered $A1 -> $A2"
	fi
	stop_server
	check_detached generic
else
	fail xdp-generic-mode "anynsd did not start"
fi

# ---- 4b. a zone with allow-query never answers from the XDP map --------------
# The client's 192.0.2.1 is in the list, its 192.0.2.3 is not. Queries from
# .1 fill the socket path's cache (which would offer them to the map); .3
# then gets REFUSED from the sockets, and the driver answered none of them
# while it does answer example.com from .3.
printf '$TTL 300\n@ SOA ns.example.com. h 1 3600 900 604800 300\n@ NS ns.example.com.\nwww A 192.0.2.90\n' \
	> "$TMP/acl.example.zone"
printf 'zones:\n  - origin: acl.example\n    file: %s\n    allow-query: [ 192.0.2.1, "2001:db8::1" ]\n' \
	"$TMP/acl.example.zone" > "$TMP/acl.yaml"
ip -n "$C" addr add 192.0.2.3/24 dev vc 2>/dev/null
if start_server acl "${ANYNSD[@]}" -c "$TMP/acl.yaml" --xdp vs; then
	aq() { inc kdig @192.0.2.53 -b "$1" +timeout=1 +retry=1 www.acl.example A 2>/dev/null |
		grep -o 'status: [A-Z]*\|192\.0\.2\.90' | tr '\n' ' '; }
	A1=$(metric)
	allowed=$(for _ in 1 2 3 4 5; do aq 192.0.2.1; echo; done | sort | uniq -c)
	denied=$(for _ in 1 2 3 4 5; do aq 192.0.2.3; echo; done | sort | uniq -c)
	A2=$(metric)
	inc kdig @192.0.2.53 -b 192.0.2.3 +timeout=1 +retry=1 www.example.com A >/dev/null 2>&1
	inc kdig @192.0.2.53 -b 192.0.2.3 +timeout=1 +retry=1 www.example.com A >/dev/null 2>&1
	A3=$(metric)
	if echo "$allowed" | grep -q '5 status: NOERROR 192.0.2.90' &&
	   echo "$denied" | grep -q '5 status: REFUSED $' &&
	   [ "$A1" != None ] && [ "$A1" = "$A2" ] && [ "$A3" -gt "$A2" ]; then
		pass xdp-acl-zone-not-in-map
	else
		fail xdp-acl-zone-not-in-map "allowed: $allowed; denied: $denied; xdp answered $A1 -> $A2 -> $A3"
	fi
	stop_server
else
	fail xdp-acl-zone-not-in-map "anynsd did not start"
fi

# ---- 4c. catalog members (RFC 9432) from a Knot primary -------------------
# Knot serves a catalog on the server namespace's loopback; anynsd follows it
# (the catalog's SOA refresh is 2 s).
# A member listed at start and one added later are answered by the driver
# byte for byte as the sockets answer them (TCP); a member removed is REFUSED
# over UDP too, the driver answering none of its queries (its map entries are
# of a dead generation), while the other member keeps being answered there.
member_zone() { # ORIGIN ADDRESS
	printf '$ORIGIN %s.\n$TTL 300\n@ SOA ns1 h 1 3600 900 604800 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A %s\n' \
		"$1" "$2" > "$TMP/cat/$1"
}
catalog_zone() { # SERIAL MEMBER...
	local s=$1 m
	shift
	{
		printf '$ORIGIN catalog.invalid.\n$TTL 0\n@ SOA invalid. invalid. %s 2 1 3600 0\n' "$s"
		printf '@ NS invalid.\nversion TXT "2"\n'
		for m in "$@"; do echo "${m%%.*}.zones PTR $m."; done
	} > "$TMP/cat/catalog.invalid"
}
member() { inc "$PY" "$CLIENT" member 192.0.2.53 "$METRICS" "$@" >> "$TMP/member.out" 2>&1; }
mq() { inc kdig @192.0.2.53 +tcp +timeout=1 +retry=0 "$1" A 2>/dev/null | grep -o 'status: [A-Z]*\|192\.0\.2\.8[0-9]' | tr '\n' ' '; }
mq_is() { [ "$(mq "$1")" = "$2" ]; }
if ! command -v knotd >/dev/null || ! command -v knotc >/dev/null; then
	for c in member-at-start member-added member-removed other-member-stays; do
		skip_root xdp-catalog-$c "knotd not installed (make deps)"
	done
else
	mkdir -p "$TMP/cat/knot" "$TMP/cat/kept"
	member_zone m1.test 192.0.2.81
	member_zone m2.test 192.0.2.82
	catalog_zone 1 m1.test
	KP=5300
	"$PY" "$ROOT/tests/pylib/peers.py" knot-config --dir "$TMP/cat/knot" --port "$KP" \
		--zone catalog.invalid="$TMP/cat/catalog.invalid" --zone m1.test="$TMP/cat/m1.test" \
		--zone m2.test="$TMP/cat/m2.test" \
		--acl "xfr=transfer,address=127.0.0.0/8" --template-option "acl: xfr" >/dev/null
	KNOT_PID=$("$PY" "$ROOT/tests/pylib/peers.py" start knot --dir "$TMP/cat/knot" --netns "$S")
	cat > "$TMP/cat.yaml" <<YAML
remotes:
  - id: knot
    address: 127.0.0.1:$KP
zones:
  - origin: catalog.invalid
    primaries: [knot]
    catalog: true
    file: $TMP/cat/kept/catalog.invalid
YAML
	if start_server catalog "${ANYNSD[@]}" -c "$TMP/cat.yaml" --xdp vs &&
	   wait_for 15 mq_is www.m1.test "status: NOERROR 192.0.2.81 "; then
		if member www.m1.test served; then pass xdp-catalog-member-at-start
		else fail xdp-catalog-member-at-start "$(grep WRONG "$TMP/member.out" | head -3)"; fi
		catalog_zone 2 m1.test m2.test
		knotc -s "$TMP/cat/knot/knot.sock" zone-reload catalog.invalid >/dev/null
		if wait_for 15 mq_is www.m2.test "status: NOERROR 192.0.2.82 " && member www.m2.test served; then
			pass xdp-catalog-member-added
		else
			fail xdp-catalog-member-added "$(mq www.m2.test); $(grep -E 'WRONG|m2' "$TMP/member.out" | head -3)"
		fi
		catalog_zone 3 m2.test
		knotc -s "$TMP/cat/knot/knot.sock" zone-reload catalog.invalid >/dev/null
		if wait_for 15 mq_is www.m1.test "status: REFUSED " && member www.m1.test gone; then
			pass xdp-catalog-member-removed
		else
			fail xdp-catalog-member-removed "$(mq www.m1.test); $(grep -E 'WRONG' "$TMP/member.out" | head -3)"
		fi
		if member www.m2.test served; then pass xdp-catalog-other-member-stays
		else fail xdp-catalog-other-member-stays "$(grep WRONG "$TMP/member.out" | tail -3)"; fi
		stop_server
	else
		stop_server
		for c in member-at-start member-added member-removed other-member-stays; do
			fail xdp-catalog-$c "m1.test not served: $(grep -i 'catalog\|xfr' "$TMP/catalog.log" | tail -3)"
		done
	fi
	"$PY" "$ROOT/tests/pylib/peers.py" stop --timeout 5 "$KNOT_PID" >/dev/null 2>&1
	KNOT_PID=
fi

# ---- 5. XDP cannot attach: anynsd says why and serves from sockets -----------
if start_server noiface "${ANYNSD[@]}" --xdp nosuchif0; then
	if grep -q "xdp: no-interface interface=nosuchif0 " "$TMP/noiface.log" && grep -q "xdp: off .*fallback=sockets" "$TMP/noiface.log" &&
	   inc kdig @192.0.2.53 +timeout=1 +retry=1 www.example.com A +short | grep -q 192.0.2.80; then
		pass xdp-fallback-bad-iface
	else
		fail xdp-fallback-bad-iface "$(grep -i xdp "$TMP/noiface.log" | head -3)"
	fi
	stop_server
else
	fail xdp-fallback-bad-iface "anynsd did not start"
fi

# Not root: the program cannot even be loaded. Port 5353, as nobody may not bind 53.
ip netns exec "$S" setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	"$BIN/anynsd" --listen 192.0.2.53:5353 --zone "example.com=$TMP/example.com.zone" \
	--workers 1 --xdp vs > "$TMP/nonroot.log" 2>&1 &
DPID=$!
ok=0
for _ in $(seq 1 50); do
	if inc kdig @192.0.2.53 -p 5353 +timeout=1 +retry=0 www.example.com A +short 2>/dev/null | grep -q 192.0.2.80; then
		ok=1; break
	fi
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.1
done
if [ $ok = 1 ] && grep -q "xdp: load-failed " "$TMP/nonroot.log" &&
   grep -q "xdp: off .*fallback=sockets" "$TMP/nonroot.log"; then
	pass xdp-fallback-not-root
else
	fail xdp-fallback-not-root "$(tail -5 "$TMP/nonroot.log")"
fi
stop_server

summary
