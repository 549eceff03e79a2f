#!/usr/bin/env bash
# make install into a DESTDIR: every program, man page (mandoc -T lint clean),
# unit and example where it belongs, the units and examples naming the
# installed paths, the installed units verified by systemd-analyze with the
# installed man pages; make uninstall leaves no file behind.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$ROOT/tests/lib.sh"
T=install
D=$(mktemp -d /tmp/anyns-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
echo "$T: make install / uninstall into a DESTDIR"
plan 7
mk() { make -s -C "$ROOT" B="$B" DESTDIR="$D" PREFIX=/usr "$@" >"$D.log" 2>&1; }
if ! mk install; then
	fail $T:install "$(tail -5 "$D.log")"
	rm -f "$D.log"; summary; exit $?
fi
rm -f "$D.log"
ok=1
for f in usr/sbin/anynsd usr/sbin/anyns-ctl usr/sbin/anyns-checkzone usr/sbin/anyns-health \
	usr/share/man/man8/anynsd.8 usr/share/man/man8/anyns-ctl.8 usr/share/man/man8/anyns-checkzone.8 \
	usr/share/man/man8/anyns-health.8 usr/lib/systemd/system/anynsd.service \
	usr/lib/systemd/system/anyns-health.service usr/share/doc/anyns/examples/anynsd.example.yaml \
	usr/share/doc/anyns/examples/exabgp.conf; do
	[ -f "$D/$f" ] || { echo "missing $f"; ok=; }
done
[ -x "$D/usr/sbin/anyns-ctl" ] || ok=
if [ -n "$ok" ]; then pass $T:files; else fail $T:files; fi
out=$(for m in "$D"/usr/share/man/man8/*.8; do mandoc -T lint -W warning "$m"; done 2>&1)
if [ -z "$out" ] && command -v mandoc >/dev/null; then pass $T:man-lint; else fail $T:man-lint "$out"; fi
if grep -q 'ExecStart=/usr/sbin/anynsd -c /etc/anyns/anynsd.yaml' "$D/usr/lib/systemd/system/anynsd.service" &&
   grep -q 'run /usr/sbin/anyns-health -c /etc/anyns/anyns-health.yaml' "$D/usr/share/doc/anyns/examples/exabgp.conf" &&
   ! grep -rq '@SBINDIR@\|@SYSCONFDIR@\|\.\./\.\./zones' "$D/usr/lib/systemd" "$D/usr/share/doc/anyns"; then
	pass $T:paths
else
	fail $T:paths "units or examples do not name the installed paths"
fi
ports=$(grep -h '^ *#* *metrics: ' "$D"/usr/share/doc/anyns/examples/{anynsd.example,bird,exabgp}.yaml |
	grep -oE ':[0-9]+' | sort | uniq -d)
if [ -z "$ports" ]; then pass $T:metrics-ports; else fail $T:metrics-ports "shared: $ports"; fi
if ! command -v systemd-analyze >/dev/null; then
	skip $T:verify "systemd-analyze is not installed"
else
	# The installed units point at /usr/sbin: verify a copy naming the staged files.
	mkdir -p "$D/verify"
	for u in anynsd anyns-health; do
		sed "s|/usr/sbin/|$D/usr/sbin/|" "$D/usr/lib/systemd/system/$u.service" > "$D/verify/$u.service"
	done
	if out=$(cd "$D/verify" && MANPATH=$D/usr/share/man systemd-analyze verify ./anynsd.service ./anyns-health.service 2>&1) &&
	   [ -z "$out" ]; then
		pass $T:verify
	else
		fail $T:verify "$out"
	fi
	rm -rf "$D/verify"
fi
if "$D/usr/sbin/anyns-ctl" --help | grep -q retransfer; then pass $T:runs; else fail $T:runs; fi
mk uninstall
left=$(find "$D" -type f -o -type l; find "$D" -type d -name anyns)
if [ -z "$left" ]; then pass $T:uninstall; else fail $T:uninstall "left: $left"; fi
summary
