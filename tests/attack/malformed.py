#!/usr/bin/python3
"""A corpus of malformed queries, each category with the rcode anynsd must
answer (or None: no answer at all), sent over UDP and TCP to 127.0.0.1:PORT
for the zone test. Then 2000 random mutations of good queries: every answer
must carry the query's ID, QR=1, and be no longer than the UDP limit.

  malformed.py PORT
Prints one line per category; exits 1 on any mismatch."""
import os
import random
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dnsutil  # noqa: E402

NOERROR, FORMERR, NOTIMP, REFUSED, BADVERS = 0, 1, 4, 5, 16
QNAME = b"\x03www\x04test\x00"


def hdr(qid=0x1234, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def opt(version=0, owner=b"\x00", rdata=b""):
    return owner + struct.pack("!HHBBHH", 41, 1232, 0, version, 0, len(rdata)) + rdata


Q = QNAME + struct.pack("!HH", 1, 1)
RR = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\xc0\x00\x02\x01"

CORPUS = [
    ("short-header", b"\x12\x34\x00", None),
    ("response-qr1", hdr(flags=0x8000) + Q, None),
    ("no-question", hdr(qd=0), FORMERR),
    ("two-questions", hdr(qd=2) + Q + Q, FORMERR),
    ("question-cut", hdr() + QNAME[:6], FORMERR),
    ("question-no-type", hdr() + QNAME, FORMERR),
    ("pointer-in-question", hdr() + b"\x03www\xc0\x0c" + struct.pack("!HH", 1, 1), FORMERR),
    ("extended-label", hdr() + b"\x43www\x00" + struct.pack("!HH", 1, 1), FORMERR),
    ("name-over-255", hdr() + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63
     + b"\x3f" + b"d" * 63 + b"\x00" + struct.pack("!HH", 1, 1), FORMERR),
    ("answer-record", hdr(an=1) + Q + RR, FORMERR),
    ("authority-record", hdr(ns=1) + Q + RR, FORMERR),
    ("three-additional", hdr(ar=3) + Q + RR + RR + RR, FORMERR),
    ("additional-count-lies", hdr(ar=1) + Q, FORMERR),
    ("two-opt", hdr(ar=2) + Q + opt() + opt(), FORMERR),
    ("opt-owner-not-root", hdr(ar=1) + Q + opt(owner=b"\xc0\x0c"), FORMERR),
    ("opt-option-cut", hdr(ar=1) + Q + opt(rdata=b"\x00\x0a\x00\x08abc"), FORMERR),
    ("trailing-garbage", hdr() + Q + b"\x00\x00\x00", FORMERR),
    ("pointer-loop", hdr(ar=1) + Q + b"\xc0\x1d" + struct.pack("!HHIH", 1, 1, 60, 0), FORMERR),
    ("opcode-update", hdr(flags=5 << 11) + Q, NOTIMP),
    ("opcode-unassigned", hdr(flags=3 << 11) + Q, NOTIMP),
    ("edns-version-1", hdr(ar=1) + Q + opt(version=1), BADVERS),
    ("class-chaos-unknown", hdr() + QNAME + struct.pack("!HH", 16, 3), REFUSED),
    ("class-hesiod", hdr() + QNAME + struct.pack("!HH", 1, 4), REFUSED),
    ("good", hdr() + Q, NOERROR),
]


def rcode_of(r):
    ext = 0
    # Extended rcode from an OPT in the answer, if any (the last record).
    if struct.unpack("!H", r[10:12])[0] and len(r) >= 11 and r[-11] == 0 and r[-10:-8] == b"\x00\x29":
        ext = r[-6]
    return (ext << 4) | (r[3] & 15)


def udp(port, m, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(m, ("127.0.0.1", port))
    try:
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def tcp(port, m):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(dnsutil.frame(m))
        return dnsutil.tcp_read(s)
    except (socket.timeout, ConnectionResetError, EOFError):
        return None
    finally:
        s.close()


def main():
    port = int(sys.argv[1])
    bad = 0
    for name, m, want in CORPUS:
        for proto, fn in (("udp", udp), ("tcp", tcp)):
            r = fn(port, m)
            if want is None:
                ok = r is None
                got = "no answer" if r is None else "rcode %d" % rcode_of(r)
            else:
                ok = r is not None and rcode_of(r) == want and r[:2] == m[:2] and r[2] & 0x80
                got = "no answer" if r is None else "rcode %d" % rcode_of(r)
            print("%-22s %s: %s (want %s)%s" % (name, proto, got,
                  "no answer" if want is None else want, "" if ok else "  MISMATCH"))
            bad += not ok
    rnd = random.Random(7)
    seeds = [m for _, m, w in CORPUS if w is not None]
    odd = 0
    for i in range(2000):
        m = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 4)):
            op = rnd.randint(0, 2)
            if op == 0 and m:
                m[rnd.randrange(len(m))] = rnd.randrange(256)
            elif op == 1:
                m.insert(rnd.randrange(len(m) + 1), rnd.randrange(256))
            elif m:
                del m[rnd.randrange(len(m))]
        m = bytes(m)
        r = udp(port, m, 0.3)
        if r is None:
            continue     # dropped: QR=1 or shorter than a header
        if len(m) >= 12 and (r[:2] != m[:2] or not r[2] & 0x80 or len(r) > 1232):
            odd += 1
    print("mutations: 2000 sent, %d answers without the query's ID or QR" % odd)
    bad += odd
    if udp(port, hdr() + Q) is None:
        print("no answer to a good query after the corpus")
        bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
