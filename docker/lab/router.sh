#!/bin/sh
# Lab router container: lab/router.conf with the lab's networks moved to NET (the first
# three octets, ANYNS_LAB_NET in the compose file), then BIRD in the foreground.
set -e
sed "s/198\.18\.53\./$NET./g" /lab/router.conf > /run/anyns/bird.conf
exec /usr/sbin/bird -f -c /run/anyns/bird.conf -s /run/anyns/bird.ctl
