#!/usr/bin/python3
"""Sends COUNT queries of one shape over UDP, then COUNT over one TCP
connection, to 127.0.0.1:PORT and checks each answer's rcode.

  ptrchain.py PORT SHAPE COUNT NAME
shapes:
  plain  an ordinary query for NAME A (NOERROR expected)
  an     the question, then answer records whose owners each point at the
         previous owner: walking every owner costs the square of their number
  ar     two additional records: the first holds a chain of pointers, each to
         the one before, as rdata; the second's owner points at its end
The hostile shapes fill 4 KB over UDP and 64 KB over TCP; FORMERR expected."""
import socket
import struct
import sys


def question(name):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.strip(".").split(".")) + b"\0"
    return wire + struct.pack("!HH", 1, 1)


def query(shape, name, size, qid=0x4242):
    q = question(name)
    if shape == "plain":
        return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + q
    if shape == "an":
        body, prev = b"", 12
        n = 0
        while 12 + len(q) + len(body) + 12 <= size:
            here = 12 + len(q) + len(body)
            body += struct.pack("!HHHIH", 0xC000 | prev, 1, 1, 60, 0)
            prev, n = here, n + 1
        return struct.pack("!HHHHHH", qid, 0, 1, n, 0, 0) + q + body
    if shape == "ar":
        start = 12 + len(q) + 11           # the first record's rdata
        hops = (size - start - 12) // 2
        chain = bytearray()
        for i in range(hops):
            target = 12 if i == 0 else start + 2 * (i - 1)
            chain += struct.pack("!H", 0xC000 | target)
        rec1 = b"\0" + struct.pack("!HHIH", 16, 1, 60, len(chain)) + bytes(chain)
        rec2 = struct.pack("!H", 0xC000 | (start + 2 * (hops - 1))) + struct.pack("!HHIH", 1, 1, 60, 0)
        return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 2) + q + rec1 + rec2
    raise SystemExit("unknown shape " + shape)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise SystemExit("TCP connection closed early")
        buf += chunk
    return buf


def main():
    port, shape, count, name = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    want = 0 if shape == "plain" else 1
    bad = 0
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(20)
    m = query(shape, name, 4096)
    for _ in range(count):
        u.sendto(m, ("127.0.0.1", port))
        r = u.recv(65535)
        bad += (r[3] & 15) != want
    t = socket.create_connection(("127.0.0.1", port), timeout=60)
    m = query(shape, name, 65535)
    for _ in range(count):
        t.sendall(struct.pack("!H", len(m)) + m)
        r = recv_exact(t, struct.unpack("!H", recv_exact(t, 2))[0])
        bad += (r[3] & 15) != want
    t.close()
    print("%s: %d bytes over TCP, %d answers with another rcode than %d" % (shape, len(m), bad, want))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
