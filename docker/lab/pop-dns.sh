#!/bin/sh
# PoP DNS container: anycast address on lo, replies to the client routed through the lab
# router, then anynsd on the anycast address with the PoP's name as identity.
# Environment: POP (pop1..), ROUTER (router address on this PoP's network).
set -e
ip addr add 192.0.2.53/32 dev lo 2>/dev/null || true
ip route replace 203.0.113.0/24 via "$ROUTER"
exec /usr/sbin/anynsd --listen 192.0.2.53:53 --zone example.com=/etc/anyns/example.com.zone \
	--identity "$POP"
