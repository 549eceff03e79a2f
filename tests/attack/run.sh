#!/usr/bin/env bash
# Attacks on the real anynsd, each part bounded in time and count, on loopback:
#   includes.sh   hostile $INCLUDEs (FIFO, /dev/zero, files outside the folder)
#   zonesize.sh   files of comments or garbage cost about what their records need
#   ptrcost.sh    compression-pointer chains cost about what a plain query does
#   malformed.sh  a corpus of malformed queries, the rcode expected per category
#   tcp.sh        slow and idle TCP clients do not lock a legitimate one out
#   privdrop.sh   the daemon serves as an unprivileged user without capabilities
#   acl.sh        allow-query: REFUSED outside the list, also past the answer cache
#   flood.sh      random-subdomain flood: NXDOMAIN, memory flat, names in use stay cached
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rc=0
for part in includes zonesize ptrcost malformed tcp privdrop acl flood; do
	[ -f "$HERE/$part.sh" ] || continue
	echo "--- attack/$part"
	bash "$HERE/$part.sh" || rc=1
done
exit $rc
