#!/usr/bin/python3
"""Answers to DO=1 queries past 512 bytes served again from anynsd's answer
cache: the same bytes as the first (ID apart), counted as cache hits, and
never to a client that offered less room than they take. QNAME must be a
name that does not exist, asked here first: its answer is kept only from
its second query on.

  cached.py ADDR PORT METRICS_PORT QNAME QTYPE
Exit 0 when every check holds; otherwise prints what failed and exits 1."""
import os
import re
import socket
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dnsutil  # noqa: E402


def hits(mport):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=3).read().decode()
    m = re.search(r"^anyns_cache_hits_total (\d+)$", text, re.M)
    return int(m.group(1)) if m else -1


# One socket, so one source port: SO_REUSEPORT hands every query to the
# same worker, and each worker has its own cache.
SOCK = None


def ask(server, qname, qtype, payload, qid):
    q = dns.message.make_query(qname, qtype, want_dnssec=True, payload=payload)
    q.id = qid
    wire = q.to_wire()
    for _ in range(3):
        SOCK.send(wire)
        try:
            while True:
                data = SOCK.recv(65535)
                if data[:2] == wire[:2]:
                    return data
        except OSError:
            continue
    return None


def main():
    addr, port, mport, qname, qtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        sys.argv[4], sys.argv[5]
    server = (addr, port)
    global SOCK
    SOCK = socket.socket(dnsutil.family(addr), socket.SOCK_DGRAM)
    SOCK.settimeout(2.0)
    SOCK.connect(server)
    bad = []
    first = ask(server, qname, qtype, 1232, 1)
    if not first or len(first) <= 512:
        print("the answer to %s %s is %s bytes: not past 512" % (qname, qtype,
                                                                 len(first) if first else "no"))
        return 1
    # A name that does not exist is kept only once asked again: the
    # second query is still a miss.
    before = hits(mport)
    ask(server, qname, qtype, 1232, 2)
    if hits(mport) != before:
        bad.append("the second query of a name that does not exist was a cache hit")
    before = hits(mport)
    n = 12
    for i in range(n):
        r = ask(server, qname, qtype, 1232, 1000 + i)
        if not r or r[2:] != first[2:] or r[:2] != (1000 + i).to_bytes(2, "big"):
            bad.append("answer %d differs from the first" % i)
    after = hits(mport)
    if after - before < n - 2:
        bad.append("cache hits went from %d to %d over %d identical queries" % (before, after, n))
    # One byte short of the answer's size, and 512: never the large answer.
    for payload in (len(first) - 1, 512):
        r = ask(server, qname, qtype, payload, 7)
        if not r or len(r) > payload:
            bad.append("payload %d: answer of %s bytes" % (payload, len(r) if r else "no"))
        elif not (dns.message.from_wire(r).flags & dns.flags.TC):
            bad.append("payload %d: %d bytes without TC" % (payload, len(r)))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
