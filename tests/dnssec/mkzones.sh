#!/usr/bin/env bash
# Writes and signs the DNSSEC test zones into DIR with ldns-keygen and
# ldns-signzone, fresh keys every run:
#   nsec.test    NSEC
#   nsec3.test   NSEC3 (salt, 5 iterations)
#   optout.test  NSEC3 with opt-out, unsigned delegations left out of the chain
#                (signed by Knot's kzonesign: ldns-signzone -p only sets the
#                flag and still gives every delegation an NSEC3)
# each with wildcards, empty non-terminals, CNAME and DNAME chains, a signed
# delegation (its child sub.<zone> is written and signed too, its DS in the
# parent) and unsigned delegations (child insecure.<zone>, unsigned).
#   broken.test  NSEC, then one A record changed under its signature
#   mkzones.sh DIR    prints ORIGIN=FILE for every zone written, and writes
#                     DIR/<zone>.ds (trust anchors for resolvers and drill)
set -eu
DIR=$1
mkdir -p "$DIR"
cd "$DIR"
# Inception an hour ago, expiration in 30 days: valid now, and far from the
# 7-day warning of anyns-checkzone.
INCEP=$(date -u -d '-1 hour' +%Y%m%d%H%M%S)
EXPIR=$(date -u -d '+30 days' +%Y%m%d%H%M%S)

# keys ORIGIN: a KSK and a ZSK (ECDSA P-256), base names in K_KSK and K_ZSK.
keys() {
	K_KSK=$(ldns-keygen -a ECDSAP256SHA256 -k "$1")
	K_ZSK=$(ldns-keygen -a ECDSAP256SHA256 "$1")
	rm -f "$K_KSK.ds" "$K_ZSK.ds"
}

# sign ORIGIN FILE [ldns-signzone options]: signs FILE into FILE.signed.
sign() {
	local origin=$1 file=$2
	shift 2
	keys "$origin"
	ldns-signzone -i "$INCEP" -e "$EXPIR" "$@" -o "$origin" -f "$file.signed" \
		"$file" "$K_KSK" "$K_ZSK" >/dev/null
	ldns-key2ds -n -2 "$K_KSK.key" > "$origin.ds"
	rm -f "$K_KSK".* "$K_ZSK".*
}

# sign_knot ORIGIN FILE: signs FILE into FILE.signed with kzonesign, NSEC3
# with opt-out, salt of 4 bytes, one iteration, signatures valid 30 days.
sign_knot() {
	local origin=$1 file=$2 kd=$DIR/knot-$1
	mkdir -p "$kd/db" "$kd/keys" "$kd/out"
	cat > "$kd/knot.conf" <<K
server:
    rundir: "$kd"
database:
    storage: "$kd/db"
keystore:
  - id: default
    config: "$kd/keys"
policy:
  - id: optout
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-opt-out: on
    nsec3-iterations: 1
    nsec3-salt-length: 4
    rrsig-lifetime: 30d
    rrsig-refresh: 7d
zone:
  - domain: $origin
    file: "$DIR/$file"
    storage: "$kd"
    dnssec-signing: on
    dnssec-policy: optout
K
	kzonesign -c "$kd/knot.conf" -o "$kd/out" "$origin" >/dev/null 2>&1
	cp "$kd/out/$file" "$file.signed"
	keymgr -c "$kd/knot.conf" "$origin" ds 2>/dev/null | awk '$5 == 2 { print $1, "3600 IN", $2, $3, $4, $5, $6 }' \
		> "$origin.ds"
	rm -rf "$kd"
}

zone() {
	local z=$1
	cat <<Z
\$ORIGIN $z.
\$TTL 3600
@		SOA	ns1 hostmaster 2024010101 3600 900 604800 300
@		NS	ns1
@		NS	ns2.example.net.
@		MX	10 mail
@		TXT	"apex of $z"
ns1		A	192.0.2.1
ns1		AAAA	2001:db8::1
mail		A	192.0.2.2
www		A	192.0.2.3
www	7200	AAAA	2001:db8::3
www		TXT	"www"
www		MX	20 mail
; empty non-terminals: b.c.ent and c.ent exist without data
a.b.c.ent	A	192.0.2.4
; wildcards, one with a sibling, one with a CNAME, one deep
*.wild		A	192.0.2.5
*.wild		TXT	"wild"
x.wild		A	192.0.2.6
*.wcname	CNAME	www
*.deep.wild2	AAAA	2001:db8::5
; CNAME chains: to data, to NXDOMAIN, to NODATA, through a wildcard, 22 links
cname		CNAME	www
cname2		CNAME	cname
cnamenx		CNAME	nothere
cnameent	CNAME	c.ent
cnamewild	CNAME	foo.wild
cnamew2		CNAME	z.wcname
c1 CNAME c2
c2 CNAME c3
c3 CNAME c4
c4 CNAME c5
c5 CNAME c6
c6 CNAME c7
c7 CNAME c8
c8 CNAME c9
c9 CNAME c10
c10 CNAME c11
c11 CNAME c12
c12 CNAME c13
c13 CNAME c14
c14 CNAME c15
c15 CNAME c16
c16 CNAME c17
c17 CNAME c18
c18 CNAME c19
c19 CNAME c20
c20 CNAME c21
c21 CNAME c22
c22 CNAME www
loop1		CNAME	loop2
loop2		CNAME	loop1
; DNAME: into the zone and out of it
dname		DNAME	dtarget
x.dtarget	A	192.0.2.7
cnamedname	CNAME	x.dname
dnameout	DNAME	example.net.
srv		SRV	0 0 53 ns1
; a signed delegation (DS below) and unsigned ones, one below an ENT
sub		NS	ns.sub
ns.sub		A	192.0.2.10
insecure	NS	ns.insecure
ns.insecure	A	192.0.2.11
insecure	NS	ns1
deleg.ent2	NS	ns.example.net.
Z
}

child() {
	cat <<Z
\$ORIGIN $1.
\$TTL 3600
@	SOA	ns hostmaster 1 3600 900 604800 300
@	NS	ns
ns	A	$2
www	A	192.0.2.20
Z
}

for z in nsec.test nsec3.test optout.test; do
	child "sub.$z" 192.0.2.10 > "sub.$z.zone"
	sign "sub.$z" "sub.$z.zone"
	child "insecure.$z" 192.0.2.11 > "insecure.$z.zone"
	# The DS of the signed child, owner made relative.
	zone "$z" > "$z.zone"
	awk '{ $1 = "sub"; print }' "sub.$z.ds" >> "$z.zone"
done
sign nsec.test nsec.test.zone
sign nsec3.test nsec3.test.zone -n -s 1f2e3d4c -t 5
if command -v kzonesign >/dev/null && command -v keymgr >/dev/null; then
	sign_knot optout.test optout.test.zone
else
	sign optout.test optout.test.zone -n -p -s beef -t 1
fi
zone broken.test > broken.test.zone
sign broken.test broken.test.zone
# A changed rdata under an unchanged signature: validators must say bogus.
sed -i 's/^\(www\.broken\.test\.[[:space:]].*IN[[:space:]]*A[[:space:]]*\)192\.0\.2\.3$/\1192.0.2.99/' \
	broken.test.zone.signed
grep -q '192\.0\.2\.99' broken.test.zone.signed
echo "broken.test=$DIR/broken.test.zone.signed"
for z in nsec.test nsec3.test optout.test; do
	echo "$z=$DIR/$z.zone.signed"
	echo "sub.$z=$DIR/sub.$z.zone.signed"
	echo "insecure.$z=$DIR/insecure.$z.zone"
done
