#!/usr/bin/python3
"""Query bursts for tests/rrl/run.sh. Sends COUNT identical queries spread
evenly over SECONDS to a server (or, with --random, as many names under one), from one UDP socket or (with --spoof) from
several source addresses written into raw IPv4 packets, collects the
responses for a second more and prints one JSON line of counts per source:
full answers, TC=1 answers (slipped; tc_opt: of them, those with an OPT
record, for --edns), BADCOOKIE answers (slipped, with --cookie) and queries
never answered. Bounded in
count and time."""
import argparse
import json
import socket
import struct
import sys
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="www.example.com")
    ap.add_argument("--type", default="A")
    ap.add_argument("--count", type=int, default=3000, help="queries per source")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--spoof", action="append", default=[],
                    help="source address (raw socket; repeat for several)")
    ap.add_argument("--sport", type=int, default=0, help="source port of spoofed queries")
    ap.add_argument("--cookie", help="a COOKIE option (hex) in every query")
    ap.add_argument("--edns", action="store_true", help="EDNS (an OPT record) in every query")
    ap.add_argument("--random", action="store_true",
                    help="each query asks another name under --name (q<N>.NAME)")
    a = ap.parse_args()
    count = min(a.count, 20000)
    srcs = a.spoof or [None]

    recv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    recv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    if a.spoof:
        recv.bind(("0.0.0.0", a.sport))
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    else:
        recv.connect((a.server, a.port))
    recv.setblocking(False)

    # ids: source index * count + n, below 65536
    if len(srcs) * count > 65536:
        sys.exit("too many queries for distinct ids")
    if a.cookie:
        opt = dns.edns.GenericOption(10, bytes.fromhex(a.cookie))
        q = dns.message.make_query(a.name, a.type, use_edns=0, options=[opt])
    else:
        q = dns.message.make_query(a.name, a.type, use_edns=0 if a.edns else False)
    wire = bytearray(q.to_wire())
    if a.random:
        rnd = [bytearray(dns.message.make_query("q%d.%s" % (n, a.name), a.type,
                                                use_edns=0 if a.edns else False).to_wire())
               for n in range(len(srcs) * count)]
    seen = {}
    stats = [{"full": 0, "tc": 0, "badcookie": 0, "tc_opt": 0} for _ in srcs]

    def drain():
        while True:
            try:
                data, peer = recv.recvfrom(4096)
            except BlockingIOError:
                return
            if len(data) < 12:
                continue
            qid = struct.unpack("!H", data[:2])[0]
            if qid in seen:
                continue
            seen[qid] = True
            i = qid // count
            if i >= len(srcs):
                continue
            if data[3] & 0x0F == 7:     # BADCOOKIE (23): 7 here, 1 in the OPT TTL
                stats[i]["badcookie"] += 1
            else:
                stats[i]["tc" if data[2] & 0x02 else "full"] += 1
                # A slipped answer that carries exactly one record: an OPT.
                if data[2] & 0x02 and data[6:12] == b"\0\0\0\0\0\1":
                    try:
                        if dns.message.from_wire(data).edns >= 0:
                            stats[i]["tc_opt"] += 1
                    except dns.exception.DNSException:
                        pass

    total = len(srcs) * count
    t0 = time.monotonic()
    for n in range(total):
        i, k = n % len(srcs), n // len(srcs)
        qid = i * count + k
        if a.random:
            wire = rnd[n]
        wire[0:2] = struct.pack("!H", qid)
        if a.spoof:
            raw.sendto(ipv4_udp(srcs[i], a.server, a.sport, a.port, bytes(wire)), (a.server, 0))
        else:
            recv.send(bytes(wire))
        due = t0 + a.seconds * (n + 1) / total
        while time.monotonic() < due:
            drain()
        if n % 64 == 0:
            drain()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        drain()
        time.sleep(0.005)
    for i, st in enumerate(stats):
        st["source"] = srcs[i] or "socket"
        st["sent"] = count
        st["none"] = count - st["full"] - st["tc"] - st["badcookie"]
        print(json.dumps(st))


if __name__ == "__main__":
    main()
