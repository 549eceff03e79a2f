#!/usr/bin/python3
"""Answers to DO=1 queries past 512 bytes served again from anynsd's answer
cache: the same bytes as the first (ID apart), counted as cache hits, and
never to a client that offered less room than they take.

  cached.py ADDR PORT METRICS_PORT QNAME QTYPE
Exit 0 when every check holds; otherwise prints what failed and exits 1."""
import os
import re
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


def ask(server, qname, qtype, payload, qid):
    q = dns.message.make_query(qname, qtype, want_dnssec=True, payload=payload)
    q.id = qid
    return dnsutil.udp_ask(server, q.to_wire(), 2.0, 3)


def main():
    addr, port, mport, qname, qtype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        sys.argv[4], sys.argv[5]
    server = (addr, port)
    bad = []
    first = ask(server, qname, qtype, 1232, 1)
    if not first or len(first) <= 512:
        print("the answer to %s %s is %s bytes: not past 512" % (qname, qtype,
                                                                 len(first) if first else "no"))
        return 1
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
