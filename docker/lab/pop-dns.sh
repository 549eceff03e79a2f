#!/bin/sh
# PoP DNS container (in the network namespace of the popN container, which puts the
# anycast address on lo): waits for that address, then runs anynsd on it with the
# PoP's name as identity. Environment: POP (pop1..).
set -e
i=0
until ip -4 -o addr show dev lo | grep -q ' 192\.0\.2\.53/'; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "pop-dns: 192.0.2.53 never appeared on lo" >&2; exit 1; }
	sleep 0.1
done
exec /usr/sbin/anynsd --listen 192.0.2.53:53 --zone example.com=/etc/anyns/zones/example.com.zone \
	--identity "$POP"
