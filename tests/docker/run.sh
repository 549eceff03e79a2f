#!/usr/bin/env bash
# Docker suite: builds the three images of docker/Dockerfile, checks that they run as
# the unprivileged user anyns, that the anynsd image serves a zone mounted into it, and
# runs the compose lab (docker/compose.yaml): the client is answered by pop1; pop1's
# anynsd killed -> another PoP answers within 3 s; pop1's anynsd started again -> pop1
# answers again (its health container kept the PoP's network namespace).
#
# Engine: the one DOCKER_HOST or /var/run/docker.sock answers on; otherwise, as root, a
# private dockerd (Debian's docker.io) with its own socket, exec root and data root
# ($B/docker/engine, kept so that a second run reuses the layers), no bridge, no
# iptables rules, stopped by PID at the end. The base image debian:bookworm-slim, when
# the engine lacks it, is made with debootstrap from the mirror of this machine's apt
# sources and `docker import`ed; its tarball is cached in $B/docker.
# Compose: Debian's docker-compose (v1), else `docker compose`; ANYNS_COMPOSE overrides.
# The lab's networks are bridges on the host: each run at once on a machine takes its
# own /24 (198.18.53.0/24, then .54 ...; ANYNS_LAB_NET chooses), under a lock.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$ROOT"
source tests/lib.sh

CHECKS=(engine base-image build:anynsd build:anyns-health build:router
	non-root:anynsd non-root:anyns-health non-root:router
	anynsd:mounted-zone anynsd:unprivileged anynsd:ctl-reload anynsd:root-becomes-anyns
	anynsd:default-zone
	lab:up lab:pop1-answers lab:unprivileged lab:failover lab:pop1-back lab:down
	host-restored)
plan ${#CHECKS[@]}
declare -A DONE=()
ok() { DONE[$1]=1; pass "docker:$1"; }
ko() { DONE[$1]=1; fail "docker:$1" "$2"; }
# rest_skip REASON: every check not reached yet is a (root-only) skip.
rest_skip() {
	local c
	for c in "${CHECKS[@]}"; do
		[ -n "${DONE[$c]:-}" ] && continue
		DONE[$c]=1
		skip_root "docker:$c" "$1"
	done
}
# rest_fail REASON: every check not reached yet fails with REASON.
rest_fail() {
	local c
	for c in "${CHECKS[@]}"; do
		[ -n "${DONE[$c]:-}" ] && continue
		ko "$c" "$1"
	done
}

CACHE=$ROOT/$B/docker
mkdir -p "$CACHE"
WORK=$(mktemp -d /tmp/anyns-docker.XXXXXX)
PROJECT=anynsdk$$
ZNET=anynsdk-zt$$
DOCKERD_PID=""
EXEC_ROOT=""
MY_EXEC=""
HOST_CREATED=()
# The host's links this run's networks made (bridges and their veth ends), noted while
# they exist, and the host's IPv4 forwarding, which an engine may turn on.
MY_LINKS=()
note_links() {
	local id b
	for id in "$@"; do
		b=br-${id:0:12}
		MY_LINKS+=("$b" $(ip -o link show master "$b" 2>/dev/null | awk -F': ' '{ print $2 }' | sed 's/@.*//'))
	done
}
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)

# Debian's client talks to Debian's engine; /usr/local/bin/docker (another build)
# may come first in PATH.
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=$(command -v docker || true); fi

compose() { $COMPOSE -p "$PROJECT" -f "$ROOT/docker/compose.yaml" "$@"; }

cleanup() {
	if [ -n "${COMPOSE:-}" ] && [ -n "${DOCKER_HOST_OK:-}" ]; then
		compose down -t 2 -v --remove-orphans >/dev/null 2>&1
		$DOCKER rm -f "anynsdk-zt$$" "anynsdk-def$$" "anynsdk-root$$" >/dev/null 2>&1
		$DOCKER network rm "$ZNET" >/dev/null 2>&1
	fi
	stop_private_engine
	if [ "$_suite_fail" -gt 0 ]; then
		echo "docker: logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A /24 of 198.18.0.0/15 for the lab, held with a lock while the suite runs.
if [ -n "${ANYNS_LAB_NET:-}" ]; then
	exec 9>"/tmp/anyns-docker-suite.$ANYNS_LAB_NET.lock"
	flock -w 1800 9 || { rest_fail "$ANYNS_LAB_NET is held by another run"; summary; exit; }
else
	for n in 53 54 55 56; do
		exec 9>"/tmp/anyns-docker-suite.198.18.$n.lock"
		flock -n 9 && { ANYNS_LAB_NET=198.18.$n; break; }
		exec 9>&-
	done
	if [ -z "${ANYNS_LAB_NET:-}" ]; then
		exec 9>"/tmp/anyns-docker-suite.198.18.53.lock"
		flock -w 1800 9 || { rest_fail "four runs at once held every lab network"; summary; exit; }
		ANYNS_LAB_NET=198.18.53
	fi
fi
export ANYNS_LAB_NET
NET=$ANYNS_LAB_NET

### engine
start_private_engine() {
	local p
	EXEC_ROOT=$(mktemp -d /tmp/anyns-dk.XXXXXX)
	MY_EXEC=$EXEC_ROOT
	# What the engine may create on the host outside its own folders, removed after
	# unless it was there before.
	for p in /etc/docker/key.json /run/docker /var/lib/docker; do
		[ -e "$p" ] || HOST_CREATED+=("$p")
	done
	echo '{}' > "$EXEC_ROOT/daemon.json"
	mkdir -p "$CACHE/engine"
	# One engine per data root: a second run of the same tree waits.
	exec 8>"$CACHE/engine.lock"
	flock -w 1800 8 || { echo "$CACHE/engine is in use"; return 1; }
	/usr/sbin/dockerd --config-file "$EXEC_ROOT/daemon.json" \
		--host "unix://$EXEC_ROOT/docker.sock" --pidfile "$EXEC_ROOT/dockerd.pid" \
		--exec-root "$EXEC_ROOT" --data-root "$CACHE/engine" \
		--bridge=none --iptables=false --ip-masq=false --ip-forward=false --userland-proxy=false \
		--log-level warn > "$WORK/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	export DOCKER_HOST=unix://$EXEC_ROOT/docker.sock
	wait_for 30 $DOCKER version >/dev/null 2>&1
}
stop_private_engine() {
	local p
	if [ -n "$DOCKERD_PID" ]; then
		kill -TERM "$DOCKERD_PID" 2>/dev/null
		# dockerd stops its containerd on the way out.
		if ! wait_for 30 eval '! kill -0 "$DOCKERD_PID" 2>/dev/null'; then
			kill -KILL "$DOCKERD_PID" 2>/dev/null
		fi
		wait "$DOCKERD_PID" 2>/dev/null
		DOCKERD_PID=""
		for p in "${HOST_CREATED[@]}"; do rm -rf "$p"; done
		HOST_CREATED=()
	fi
	# dockerd leaves its own namespace's bind mount (netns/default) behind.
	if [ -n "$EXEC_ROOT" ]; then
		findmnt -rn -o TARGET | grep "^$EXEC_ROOT/" | sort -r | xargs -r -n1 umount -l
		rm -rf "$EXEC_ROOT"
		EXEC_ROOT=""
	fi
}

if [ -z "$DOCKER" ]; then
	rest_skip "no docker client (Debian's docker.io, in mk/packages.txt)"
	summary; exit
fi
engine_kind=existing
if ! $DOCKER version >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/dockerd ]; then
		rest_skip "no Docker engine answers and no root or dockerd to start one"
		summary; exit
	fi
	engine_kind=private
	if ! start_private_engine; then
		ko engine "the private dockerd did not answer within 30 s: $(tail -3 "$WORK/dockerd.log")"
		rest_fail "no engine"
		summary; exit
	fi
fi
DOCKER_HOST_OK=1
ok engine
echo "docker: engine=$engine_kind $($DOCKER version -f 'server={{.Server.Version}}' 2>/dev/null)" \
	"host=${DOCKER_HOST:-default}"

if [ -n "${ANYNS_COMPOSE:-}" ]; then COMPOSE=$ANYNS_COMPOSE
elif command -v docker-compose >/dev/null; then COMPOSE=docker-compose
elif $DOCKER compose version >/dev/null 2>&1; then COMPOSE="$DOCKER compose"
else COMPOSE=""
fi

### base image
# mirror_of SUITE: the first URI this machine's apt sources give for SUITE.
mirror_of() {
	local f
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			# deb822 stanzas: print the URIs of each stanza whose Suites hold SUITE.
			awk -v s="$1" 'BEGIN { RS = ""; FS = "\n" }
				{ u = ""; ok = 0
				  for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
					if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
					if ($i ~ /^Types:/ && $i !~ /[ \t]deb([ \t]|$)/) { ok = -99 }
				  }
				  if (ok > 0 && u != "") print u }' "$f"
		done
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk -v s="$1" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++
				if ($(i + 1) == s) print $i }'
	} | head -1
}

make_base_image() {
	local tar=$CACHE/bookworm-minbase.tar mirror sec rootfs
	if [ ! -s "$tar" ]; then
		mirror=$(mirror_of bookworm)
		[ -n "$mirror" ] || { echo "no bookworm mirror in /etc/apt/sources*"; return 2; }
		[ "$(id -u)" = 0 ] && command -v debootstrap >/dev/null ||
			{ echo "debootstrap needs root and the debootstrap package"; return 2; }
		sec=$(mirror_of bookworm-security)
		rootfs=$CACHE/rootfs.$$
		rm -rf "$rootfs"
		echo "docker: debootstrap --variant=minbase bookworm from $mirror"
		if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$WORK/debootstrap.log" 2>&1; then
			tail -5 "$WORK/debootstrap.log"
			rm -rf "$rootfs"
			echo "debootstrap from $mirror failed (no network?)"
			return 2
		fi
		{
			echo "deb $mirror bookworm main"
			echo "deb $mirror bookworm-updates main"
			[ -n "$sec" ] && echo "deb $sec bookworm-security main"
		} > "$rootfs/etc/apt/sources.list"
		rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
		tar --numeric-owner -C "$rootfs" -c . > "$tar.tmp" && mv "$tar.tmp" "$tar"
		rm -rf "$rootfs"
	fi
	$DOCKER import "$tar" debian:bookworm-slim > /dev/null
}
if $DOCKER image inspect debian:bookworm-slim >/dev/null 2>&1; then
	ok base-image
elif why=$(make_base_image 2>&1); then
	echo "$why"
	ok base-image
else
	echo "$why"
	rest_skip "no base image: $(echo "$why" | tail -1)"
	summary; exit
fi

### images
t0=$(date +%s)
declare -A BUILT=()
for t in anynsd anyns-health router; do
	tb=$(date +%s)
	if $DOCKER build --network host -f docker/Dockerfile --target "$t" -t "anyns/$t" . \
			> "$WORK/build-$t.log" 2>&1; then
		ok "build:$t"
		BUILT[$t]=1
		echo "docker: built anyns/$t in $(( $(date +%s) - tb )) s"
	else
		tail -20 "$WORK/build-$t.log"
		ko "build:$t" "docker build failed (log: $WORK/build-$t.log)"
	fi
done
echo "docker: images built in $(( $(date +%s) - t0 )) s"
# Images of an earlier run must not stand in for ones that failed to build.
for t in anynsd anyns-health router; do
	if [ -z "${BUILT[$t]:-}" ] || ! $DOCKER image inspect "anyns/$t" >/dev/null 2>&1; then
		rest_fail "the images did not build"
		summary; exit
	fi
done
# A private engine keeps its layers as the next run's cache; only week-old ones go.
if [ "$engine_kind" = private ]; then
	$DOCKER image prune -f --filter until=168h > /dev/null 2>&1
fi

for t in anynsd anyns-health router; do
	if ! $DOCKER image inspect "anyns/$t" >/dev/null 2>&1; then
		ko "non-root:$t" "no image"
		continue
	fi
	user=$($DOCKER image inspect -f '{{.Config.User}}' "anyns/$t")
	uid=$($DOCKER run --rm --network none --entrypoint id "anyns/$t" -u 2>&1)
	if [ "$user" = anyns ] && [ "$uid" = 5353 ]; then
		ok "non-root:$t"
	else
		ko "non-root:$t" "image user '$user', id -u inside '$uid' (want anyns, 5353)"
	fi
done

### the anynsd image serving a mounted zone
# A folder in the layout of /etc/anyns: the config and a zone of our own.
zdir=$WORK/etc-anyns
mkdir -p "$zdir/zones"
token=docker-$$-$RANDOM
cat > "$zdir/anynsd.yaml" <<EOF
server:
  listen: [ "0.0.0.0:53" ]
  user: anyns
  identity: mounted
zones:
  - origin: docker.test
    file: zones/docker.test.zone
EOF
cat > "$zdir/zones/docker.test.zone" <<EOF
\$TTL 300
@   SOA ns hostmaster 2024010101 3600 600 86400 300
@   NS  ns
ns  A   $NET.66
t   TXT "$token"
EOF
chmod -R a+rX "$zdir"
# pid_of CONTAINER: its first process, as the host sees it.
pid_of() { $DOCKER inspect -f '{{.State.Pid}}' "$1" 2>/dev/null; }
# status_of PID FIELD: a field of /proc/PID/status on the host.
status_of() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
ip_of() { $DOCKER inspect -f "{{(index .NetworkSettings.Networks \"$ZNET\").IPAddress}}" "$1" 2>/dev/null; }
zt_answer() {
	kdig @"$1" t.docker.test TXT +short +time=1 +retry=0 ${2:-} 2>/dev/null | tr -d '"'
}
if $DOCKER network create --subnet "$NET.64/29" "$ZNET" >/dev/null 2>&1 &&
		$DOCKER run -d --name "anynsdk-zt$$" --network "$ZNET" -v "$zdir:/etc/anyns:ro" \
			anyns/anynsd >/dev/null 2>&1 &&
		$DOCKER run -d --name "anynsdk-def$$" --network "$ZNET" anyns/anynsd >/dev/null 2>&1; then
	zip=$(ip_of "anynsdk-zt$$"); dip=$(ip_of "anynsdk-def$$")
	note_links "$($DOCKER network inspect -f '{{.Id}}' "$ZNET")"
	wait_for 10 eval '[ "$(zt_answer "$zip")" = "$token" ]'
	u=$(zt_answer "$zip"); tcp=$(zt_answer "$zip" +tcp)
	if [ "$u" = "$token" ] && [ "$tcp" = "$token" ]; then
		ok anynsd:mounted-zone
	else
		ko anynsd:mounted-zone "t.docker.test TXT at $zip: UDP '$u', TCP '$tcp', want '$token'"
		$DOCKER logs "anynsdk-zt$$" 2>&1 | tail -10
	fi
	# The server itself: uid and gid anyns, only CAP_NET_BIND_SERVICE (bit 10) effective.
	p=$(pid_of "anynsdk-zt$$")
	uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$p/status" 2>/dev/null)
	capeff=$(status_of "$p" CapEff)
	comm=$(cat "/proc/$p/comm" 2>/dev/null)
	if [ "$comm" = anynsd ] && [ "$uids" = "5353 5353 5353 5353" ] && [ "$capeff" = 0000000000000400 ]; then
		ok anynsd:unprivileged
	else
		ko anynsd:unprivileged "process '$comm' uids '$uids' CapEff '$capeff' (want anynsd, 5353 x4, 0000000000000400)"
	fi
	# An operator edits the zone on the host and reloads through the control socket.
	token2=$token-2
	sed -i -e 's/2024010101/2024010102/' -e "s/\"$token\"/\"$token2\"/" "$zdir/zones/docker.test.zone"
	if out=$($DOCKER exec "anynsdk-zt$$" anyns-ctl reload 2>&1) &&
			wait_for 5 eval '[ "$(zt_answer "$zip")" = "$token2" ]'; then
		ok anynsd:ctl-reload
	else
		ko anynsd:ctl-reload "anyns-ctl reload: '$out'; t.docker.test TXT now '$(zt_answer "$zip")'"
	fi
	# Started as root (--user root), anynsd binds port 53 and becomes server.user.
	if $DOCKER run -d --name "anynsdk-root$$" --user root --network "$ZNET" \
			-v "$zdir:/etc/anyns:ro" anyns/anynsd >/dev/null 2>&1 &&
			rip=$(ip_of "anynsdk-root$$") &&
			wait_for 10 eval '[ "$(zt_answer "$rip")" = "$token2" ]'; then
		p=$(pid_of "anynsdk-root$$")
		uids=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$p/status" 2>/dev/null)
		capeff=$(status_of "$p" CapEff)
		if [ "$uids" = "5353 5353 5353 5353" ] && [ "$capeff" = 0000000000000000 ]; then
			ok anynsd:root-becomes-anyns
		else
			ko anynsd:root-becomes-anyns "uids '$uids' CapEff '$capeff' (want 5353 x4, no capability)"
		fi
	else
		ko anynsd:root-becomes-anyns "started with --user root it does not answer: $($DOCKER logs "anynsdk-root$$" 2>&1 | tail -3)"
	fi
	wait_for 10 eval 'kdig @"$dip" example.com SOA +short +time=1 +retry=0 2>/dev/null | grep -q .'
	soa=$(kdig @"$dip" example.com SOA +time=1 +retry=0 2>/dev/null)
	if echo "$soa" | grep -q 'status: NOERROR' && echo "$soa" | grep -q 'Flags: qr aa'; then
		ok anynsd:default-zone
	else
		ko anynsd:default-zone "example.com SOA at $dip: $(echo "$soa" | grep -m1 status)"
		$DOCKER logs "anynsdk-def$$" 2>&1 | tail -10
	fi
else
	ko anynsd:mounted-zone "cannot start the container on network $ZNET"
	ko anynsd:unprivileged "not started"
	ko anynsd:ctl-reload "not started"
	ko anynsd:root-becomes-anyns "not started"
	ko anynsd:default-zone "not started"
fi
$DOCKER rm -f "anynsdk-zt$$" "anynsdk-def$$" "anynsdk-root$$" >/dev/null 2>&1
$DOCKER network rm "$ZNET" >/dev/null 2>&1

### the compose lab
if [ -z "$COMPOSE" ]; then
	rest_skip "neither docker-compose nor docker compose"
	summary; exit
fi
cid() { compose ps -q "$1" 2>/dev/null | head -1; }
# who: the PoP that answers the client (its id.server), or nothing.
who() {
	$DOCKER exec "$CLIENT" kdig @192.0.2.53 id.server CH TXT +short +time=1 +retry=0 2>/dev/null | tr -d '"'
}
if compose up -d --no-build > "$WORK/compose-up.log" 2>&1; then
	ok lab:up
else
	tail -20 "$WORK/compose-up.log"
	ko lab:up "compose up failed"
fi
CLIENT=$(cid client)
# BGP sessions and the hooks' rise take a few seconds.
note_links $($DOCKER network ls -q --no-trunc --filter "label=com.docker.compose.project=$PROJECT")
if [ -n "$CLIENT" ] && wait_for 60 eval '[ "$(who)" = pop1 ]'; then
	ok lab:pop1-answers
else
	ko lab:pop1-answers "the client got '$(who)' for id.server, not pop1"
	compose ps; compose logs --tail 15 2>&1 | tail -60
fi

# Every process of the product's containers runs as someone else than root (the
# popN holders and the client are root by design: they set addresses and routes).
bad=""
for s in router pop1-dns pop1-health pop2-dns pop2-health pop3-dns pop3-health; do
	c=$(cid "$s")
	[ -n "$c" ] || { bad="$bad $s:missing"; continue; }
	n=0
	# docker top needs the pid column to pick the container's processes.
	for u in $($DOCKER top "$c" -eo pid,uid 2>/dev/null | awk 'NR > 1 { print $2 }'); do
		n=$((n + 1))
		[ "$u" = 5353 ] || bad="$bad $s:uid=$u"
	done
	[ "$n" -gt 0 ] || bad="$bad $s:no-process"
done
if [ -z "$bad" ]; then ok lab:unprivileged; else ko lab:unprivileged "$bad"; fi

# Failover: the client probes id.server every 25 ms from its own network namespace
# (tests/lab/probe.py on the host, entered with nsenter), pop1's anynsd is killed.
DNS1=$(cid pop1-dns)
cpid=$(pid_of "$CLIENT")
if [ "$(id -u)" != 0 ] || ! command -v nsenter >/dev/null; then
	skip_root docker:lab:failover "the probe enters the client's namespace (root, nsenter)"
	DONE[lab:failover]=1
	$DOCKER kill "$DNS1" >/dev/null 2>&1
elif [ -n "$DNS1" ] && [ -n "$cpid" ] && [ "$(who)" = pop1 ]; then
	pf=$WORK/probe-failover
	nsenter -t "$cpid" -n /usr/bin/python3 tests/lab/probe.py run 192.0.2.53 "$pf" \
		--interval 25 --timeout 250 --max-seconds 15 &
	probe=$!
	sleep 1
	fault=$(date +%s.%N)
	$DOCKER kill "$DNS1" >/dev/null
	wait_for 5 eval '/usr/bin/python3 tests/lab/probe.py analyze "$pf" "$fault" pop1 >/dev/null'
	sleep 0.5
	touch "$pf.stop"; wait "$probe" 2>/dev/null
	res=$(/usr/bin/python3 tests/lab/probe.py analyze "$pf" "$fault" pop1)
	echo "docker: lab failover after pop1's anynsd was killed: $res"
	ms=$(echo "$res" | sed -n 's/.*failover_ms=\(-\{0,1\}[0-9]*\).*/\1/p')
	first=$(echo "$res" | sed -n 's/.*first=\([^ ]*\).*/\1/p')
	if [ -n "$ms" ] && [ "$ms" -ge 0 ] && [ "$ms" -le 3000 ] && [ "$first" = pop2 ]; then
		ok lab:failover
	else
		ko lab:failover "$res (want pop2 within 3000 ms)"
		compose logs --tail 20 pop1-health router 2>&1 | tail -40
	fi
else
	ko lab:failover "pop1 was not answering before the fault"
	$DOCKER kill "$DNS1" >/dev/null 2>&1
fi

# pop1 back: its anynsd started again in the same namespace; the health container,
# untouched, sees it answer and announces again.
if [ -n "$DNS1" ] && $DOCKER start "$DNS1" >/dev/null 2>&1 &&
		wait_for 30 eval '[ "$(who)" = pop1 ]'; then
	ok lab:pop1-back
else
	ko lab:pop1-back "after starting pop1-dns again the client gets '$(who)'"
	compose logs --tail 20 pop1-dns pop1-health 2>&1 | tail -40
fi

left() {
	{ $DOCKER ps -aq --filter "label=com.docker.compose.project=$PROJECT"
	  $DOCKER network ls -q --filter "label=com.docker.compose.project=$PROJECT"; } 2>/dev/null
}
compose down -t 2 -v --remove-orphans > "$WORK/compose-down.log" 2>&1
if [ -z "$(left)" ]; then
	ok lab:down
else
	ko lab:down "left after compose down: $(left | tr '\n' ' ')"
fi

### the host as it was found
stop_private_engine
sleep 0.5
extra=""
for l in "${MY_LINKS[@]}"; do ip link show dev "$l" >/dev/null 2>&1 && extra="$extra $l"; done
forward_after=$(cat /proc/sys/net/ipv4/ip_forward)
still=""
for p in "${HOST_CREATED[@]}"; do [ -e "$p" ] && still="$still $p"; done
mounts=$(findmnt -rn -o TARGET | grep -c -e "^$CACHE/engine" ${MY_EXEC:+-e "^$MY_EXEC"})
if [ -z "$extra" ] && [ -z "$still" ] && [ "$mounts" = 0 ] && [ "$forward_after" = "$forward_before" ] &&
		[ "${#MY_LINKS[@]}" -ge 5 ]; then
	ok host-restored
else
	ko host-restored "links left: '$extra' (of ${#MY_LINKS[@]} noted) files left: '$still' mounts left: $mounts ip_forward $forward_before -> $forward_after"
fi
rest_fail "not reached"
summary
