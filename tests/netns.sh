# Network namespaces for the shell suites (sourced by tests/lib.sh). Every
# namespace made here is recorded and removed by netns_cleanup, which a suite
# calls from its EXIT trap. Names carry the suite's PID: several runs at once
# on one machine never share one.
#
#   netns_name TAG              prints anyns-TAG-<pid of this shell>
#   netns_add NS...             creates NS (lo up, no IPv6 DAD); 1 on failure
#   netns_veth NS1 IF1 NS2 IF2  a veth pair IF1 (in NS1) <-> IF2 (in NS2), both up
#   netns_exec NS CMD...        runs CMD in NS (exec: $! of `netns_exec ... &` is CMD)
#   netns_del NS...             kills what still runs in NS, then removes it
#   netns_cleanup               removes every namespace netns_add made
#   netns_usable                true when namespaces can be made here (root, ip)
NETNS_MADE=()

netns_name() { echo "anyns-$1-$$"; }

netns_add() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" 2>/dev/null || return 1
		NETNS_MADE+=("$ns")
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1
		ip -n "$ns" link set lo up || return 1
	done
}

netns_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

netns_exec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

netns_del() {
	local ns pid
	for ns in "$@"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}

netns_cleanup() {
	[ ${#NETNS_MADE[@]} -gt 0 ] && netns_del "${NETNS_MADE[@]}"
	NETNS_MADE=()
}

netns_usable() {
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null || return 1
	local probe
	probe=$(netns_name probe)
	ip netns add "$probe" 2>/dev/null || return 1
	ip netns del "$probe"
}
