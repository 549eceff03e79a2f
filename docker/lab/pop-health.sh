#!/bin/sh
# PoP health container (in the network namespace of the popN container, beside the DNS
# container): writes the BGP speaker's and anyns-health's configs, then runs the speaker.
# With ExaBGP the hook is ExaBGP's API process; with BIRD the hook runs beside it.
# Everything runs as the image's user (anyns).
# Environment: POP, ASN, ADDR (this PoP's address), ROUTER, SPEAKER (exabgp|bird).
set -e
d=/run/anyns; mkdir -p "$d"
cat >"$d/health.yaml" <<EOC
log-level: info
control-socket: $d/health.sock
backend:
  type: $SPEAKER
  asn: $ASN
EOC
if [ "$SPEAKER" = bird ]; then
	# The guard tun device withdraws the route when the hook dies (bgp-hook/README.md,
	# "Dying hook"); a host whose /dev/net/tun only root may open gets none.
	guard=anyhk0
	if ! [ -r /dev/net/tun ] || ! [ -w /dev/net/tun ]; then
		echo "pop-health: guard: none reason=\"/dev/net/tun not usable by $(id -un)\"" >&2
		guard=
	fi
	cat >>"$d/health.yaml" <<EOC
  socket: $d/bird.ctl
  include: $d/anyns-bird.conf
  guard-interface: "$guard"
EOC
fi
cat >>"$d/health.yaml" <<EOC
defaults: { interval: 500ms, fast-interval: 200ms, timeout: 300ms, rise: 2, fall: 2 }
services:
  - name: dns4
    prefix: 192.0.2.53/32
    checks:
      - { name: udp4-soa, server: 192.0.2.53, qname: example.com., qtype: SOA }
      - { name: tcp4-soa, server: 192.0.2.53, transport: tcp, qname: example.com., qtype: SOA }
EOC

if [ "$SPEAKER" = exabgp ]; then
	cat >"$d/exabgp.conf" <<EOC
process anyns-health {
	run /usr/sbin/anyns-health -c $d/health.yaml;
	encoder text;
}
neighbor $ROUTER {
	router-id $ADDR; local-address $ADDR; local-as $ASN; peer-as 64512; hold-time 3;
	family { ipv4 unicast; }
	api { processes [ anyns-health ]; }
}
EOC
	exec env exabgp.daemon.user="$(id -un)" exabgp.api.cli=false exabgp "$d/exabgp.conf"
fi

: >"$d/anyns-bird.conf"
cat >"$d/bird.conf" <<EOC
router id $ADDR;
protocol device { scan time 1; }
include "$d/anyns-bird.conf";
protocol bgp upstream {
	local $ADDR as $ASN; neighbor $ROUTER as 64512;
	hold time 3; keepalive time 1; connect retry time 1;
	ipv4 { import none; export where proto ~ "anyns_*"; };
}
EOC
bird -c "$d/bird.conf" -s "$d/bird.ctl"
exec /usr/sbin/anyns-health -c "$d/health.yaml"
