# Reduces kdig output to one fact per line, independent of record order within a
# section, so that answers can be compared with tests/func/cases/*/expected:
#   rcode NOERROR | flags qr aa | edns version=0 flags= size=1232 | nsid "pop1"
#   answer www.func.test. 300 IN A 192.0.2.80 | authority ... | additional ...
/->>HEADER<<-/ {
	s = $0; sub(/.*status: /, "", s); sub(/;.*/, "", s); print "rcode " s; next
}
/^;; Flags:/ {
	s = $0; sub(/^;; Flags: */, "", s); sub(/;.*/, "", s); print "flags " s; next
}
/^;; Version:/ {
	v = $0; sub(/^;; Version: */, "", v); sub(/;.*/, "", v)
	f = $0; sub(/.*flags: */, "", f); sub(/;.*/, "", f)
	z = $0; sub(/.*UDP size: */, "", z); sub(/ B.*/, "", z)
	e = $0; sub(/.*ext-rcode: */, "", e)
	print "edns version=" v " flags=" f " size=" z " ext-rcode=" e; next
}
/^;; NSID:/ { s = $0; sub(/^;; NSID: */, "", s); print "nsid " s; next }
/^;; ANSWER SECTION:/ { sec = "answer"; next }
/^;; AUTHORITY SECTION:/ { sec = "authority"; next }
/^;; ADDITIONAL SECTION:/ { sec = "additional"; next }
/^;;/ || /^$/ { if ($0 ~ /^$/) sec = ""; next }
sec != "" { $1 = $1; print sec " " $0 }
