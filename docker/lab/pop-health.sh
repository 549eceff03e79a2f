#!/bin/sh
# PoP health container (shares the network namespace of the PoP's DNS container): writes
# the BGP speaker's and anyns-health's configs, then runs the speaker. With ExaBGP the
# hook is ExaBGP's API process; with BIRD the hook runs beside it.
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
	cat >>"$d/health.yaml" <<EOC
  socket: $d/bird.ctl
  include: $d/anyns-bird.conf
  guard-interface: anyhk0
EOC
fi
cat >>"$d/health.yaml" <<EOC
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
	exec env exabgp.daemon.user=root exabgp.api.cli=false exabgp "$d/exabgp.conf"
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
