#!/usr/bin/env bash
# The Prometheus endpoints of both programs (common/prom.c): anynsd's and
# anyns-health's pages pass `promtool check metrics` (HELP and TYPE on every
# series), only /metrics answers 200, a bare --metrics PORT binds loopback
# only, a public bind is warned about (inside a namespace of our own), and
# slow clients neither block a scrape nor hold their connection.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
PY=/usr/bin/python3
T=metrics
test_setup metrics
NS=
cleanup_more() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; }

echo "$T: Prometheus endpoints of anynsd and anyns-health"
if [ ! -x "$BIN/anynsd" ] || [ ! -x "$BIN/anyns-health" ]; then
	fail $T:built "no $BIN/anynsd or $BIN/anyns-health (build first)"
	summary; exit $?
fi
if ! command -v promtool >/dev/null; then
	skip $T:all "promtool is not installed (make deps: Debian's prometheus package)"
	summary; exit $?
fi
# The checks below (a failed start ends the run early, with its failure).
plan 7

# get URL [SOURCE-ADDR]: the body (status 200 only), bounded in time.
get() {
	$PY - "$1" "${2:-}" <<'PY'
import http.client, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=3,
                               source_address=(sys.argv[2], 0) if sys.argv[2] else None)
c.request("GET", u.path)
r = c.getresponse()
body = r.read().decode()
if r.status != 200:
    print(f"status {r.status}", file=sys.stderr)
    sys.exit(1)
sys.stdout.write(body)
PY
}

# promcheck NAME TEXT MUST-MATCH: promtool accepts TEXT and TEXT has MUST-MATCH
# (an empty page would pass promtool).
promcheck() {
	local out
	if out=$(printf '%s\n' "$2" | promtool check metrics 2>&1) && echo "$2" | grep -q -- "$3"; then
		pass "$1"
	else
		fail "$1" "$(echo "$out" | head -5)"
	fi
}

PORT=$(free_port)
MPORT=$(free_port)
"$BIN/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$PORT" --zone "func.test=$ROOT/tests/func/zones/func.test.zone" \
	--workers 1 --metrics "$MPORT" >"$TMP/anynsd.log" 2>&1 &
DPID=$!
PIDS+=("$DPID")
if ! wait_dns "$PORT"; then
	fail $T:anynsd-start "$(tail -5 "$TMP/anynsd.log")"
	summary; exit $?
fi
kdig @127.0.0.1 -p "$PORT" +time=2 +retry=0 www.func.test A >/dev/null 2>&1
page=$(get "http://127.0.0.1:$MPORT/metrics")
promcheck $T:anynsd-promtool "$page" '^anyns_queries_total{transport="udp"} [1-9]'
if echo "$page" | grep -q '^anyns_zone_serial{zone="func.test."} 2026010101$'; then
	pass $T:anynsd-zone-serial
else
	fail $T:anynsd-zone-serial "$(echo "$page" | grep zone_serial)"
fi
if get "http://127.0.0.1:$MPORT/other" >/dev/null 2>&1; then
	fail $T:anynsd-only-metrics-path "/other answered 200"
else
	pass $T:anynsd-only-metrics-path
fi
# A bare port: 127.0.0.1 only (127.0.0.2 is loopback too, but not bound), no warning.
if ! get "http://127.0.0.2:$MPORT/metrics" >/dev/null 2>&1 && ! grep -q "metrics: reachable" "$TMP/anynsd.log" &&
	grep -q "metrics: serving url=http://127.0.0.1:$MPORT/metrics$" "$TMP/anynsd.log"; then
	pass $T:bare-port-loopback
else
	fail $T:bare-port-loopback "$(grep metrics "$TMP/anynsd.log")"
fi

# Slow clients: 20 connections that send half a request and then nothing.
# A scrape from another address is answered at once, and the server closes
# the silent connections after its timeout (3 s).
out=$($PY - "$MPORT" <<'PY'
import http.client, socket, sys, time
port = int(sys.argv[1])
slow = []
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
t0 = time.monotonic()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=3, source_address=("127.0.0.3", 0))
c.request("GET", "/metrics")
r = c.getresponse()
ok = r.status == 200 and b"anyns_queries_total" in r.read()
scrape = time.monotonic() - t0
closed = 0
deadline = time.monotonic() + 8
for s in slow:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        if s.recv(100) == b"":
            closed += 1
    except ConnectionResetError:
        closed += 1     # over the per-address limit: refused
    except (socket.timeout, OSError):
        pass
print(f"scrape_ok={ok} scrape_s={scrape:.2f} closed={closed}")
sys.exit(0 if ok and scrape < 2 and closed == 20 else 1)
PY
)
if [ $? -eq 0 ]; then pass $T:slow-clients "$out"; else fail $T:slow-clients "$out"; fi

# anyns-health's page, probing the anynsd above (exec backend: no BGP speaker needed).
HPORT=$(free_port)
cat >"$TMP/health.yaml" <<EOF
control-socket: $TMP/health.sock
metrics: 127.0.0.1:$HPORT
backend:
  type: exec
  command: /bin/true
defaults:
  interval: 200ms
  degraded: { prepend: 0, med: 200 }
services:
  - name: dns-test
    prefix: 192.0.2.53/32
    checks:
      - { server: "127.0.0.1:$PORT", qname: func.test., qtype: SOA }
EOF
"$BIN/anyns-health" -c "$TMP/health.yaml" >"$TMP/health.log" 2>&1 &
HPID=$!
PIDS+=("$HPID")
page=
for i in $(seq 1 50); do
	page=$(get "http://127.0.0.1:$HPORT/metrics" 2>/dev/null) && echo "$page" | grep -q 'check_ok{.*} 1' && break
	sleep 0.1
done
promcheck $T:health-promtool "$page" '^anyns_health_state{service="dns-test",'

# A public bind is warned about: inside a namespace of our own (only its lo),
# "*:PORT" binds every address there.
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip $T:public-bind-warning "needs root and ip for a network namespace"
else
	NS=anyns-met$$
	ip netns add "$NS" && ip -n "$NS" link set lo up
	ip netns exec "$NS" "$BIN/anynsd" "${ANYNSD_USER[@]}" --listen "127.0.0.1:$PORT" --workers 1 --metrics "*:$MPORT" \
		>"$TMP/public.log" 2>&1 &
	NPID=$!
	PIDS+=("$NPID")
	for i in $(seq 1 50); do grep -q "daemon: serving" "$TMP/public.log" && break; sleep 0.1; done
	if grep -q "metrics: reachable address=\*:$MPORT from=every-network " "$TMP/public.log"; then
		pass $T:public-bind-warning
	else
		fail $T:public-bind-warning "$(cat "$TMP/public.log")"
	fi
fi
summary
