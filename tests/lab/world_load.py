#!/usr/bin/python3
"""Client-side load for the two-region lab (tests/lab/world.sh).

  world_load.py spread ADDR COUNT
      COUNT queries for id.server CH TXT, each from a new socket (a new source
      port, so the router's layer-4 ECMP hash spreads them); prints "POP N" per
      answering PoP and "LOST N".
  world_load.py flood ADDR QPS SECONDS
      Sends www.example.com A queries at QPS for SECONDS (bounded: at most
      QPS * SECONDS queries, 200000 at most), reading and dropping the answers;
      prints "sent=N answered=N".
"""
import socket
import sys
import time

import dns.message
import dns.query
import dns.rdataclass
import dns.rdatatype


def spread(addr, count):
    seen = {}
    for _ in range(min(count, 5000)):
        q = dns.message.make_query("id.server", dns.rdatatype.TXT, dns.rdataclass.CH)
        try:
            r = dns.query.udp(q, addr, timeout=0.5)
            pop = r.answer[0][0].strings[0].decode() if r.answer else "EMPTY"
        except Exception:
            pop = "LOST"
        seen[pop] = seen.get(pop, 0) + 1
    for pop, n in sorted(seen.items()):
        print(pop, n)
    return 0


def flood(addr, qps, seconds):
    total = min(int(qps * seconds), 200000)
    wire = dns.message.make_query("www.example.com", dns.rdatatype.A).to_wire()
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
    for s in socks:
        s.setblocking(False)
    sent = answered = 0
    start = time.time()
    while sent < total and time.time() - start < seconds + 1:
        due = int((time.time() - start) * qps)
        while sent < min(due, total):
            s = socks[sent % len(socks)]
            try:
                s.sendto(wire, (addr, 53))
            except OSError:
                pass
            sent += 1
        for s in socks:
            try:
                while True:
                    s.recv(4096)
                    answered += 1
            except OSError:
                pass
        time.sleep(0.002)
    print("sent=%d answered=%d" % (sent, answered))
    return 0


def main(argv):
    if len(argv) == 3 and argv[0] == "spread":
        return spread(argv[1], int(argv[2]))
    if len(argv) == 4 and argv[0] == "flood":
        return flood(argv[1], float(argv[2]), float(argv[3]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
