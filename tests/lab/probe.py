#!/usr/bin/python3
"""Client-side probe of the anycast lab.

  probe.py run ADDR OUT [--interval MS] [--timeout MS] [--max-seconds S]
      Asks ADDR for id.server CH TXT every INTERVAL ms (a fresh query id each time) and
      appends "SENT_TIME RECV_TIME ANSWER" to OUT, ANSWER being the PoP name or LOST (no
      answer within TIMEOUT). Stops after MAX_SECONDS, on SIGTERM, or when OUT.stop exists.
  probe.py analyze OUT FAULT_TIME OLD_POP
      Prints "failover_ms=N lost=N first=POP" where failover is from FAULT_TIME to the
      first answer from a PoP other than OLD_POP, and lost counts the queries sent after
      the fault that got no answer before it. Exits 1 if no other PoP ever answered.
  probe.py count OUT [FROM_TIME]
      Prints "sent=N lost=N pops=a,b" for the queries sent at or after FROM_TIME.
"""
import os
import signal
import sys
import time

import dns.exception
import dns.message
import dns.rdataclass
import dns.rdatatype

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dnsutil  # noqa: E402


def run(addr, out, interval_ms=25, timeout_ms=250, max_seconds=30):
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    end = time.time() + max_seconds
    # A bound on the count too, whatever the timing: at most one query per interval.
    limit = int(max_seconds * 1000 / interval_ms) + 1
    with open(out, "a", buffering=1) as f:
        for _ in range(limit):
            if stop["now"] or time.time() >= end or os.path.exists(out + ".stop"):
                break
            sent = time.time()
            q = dns.message.make_query("id.server", dns.rdatatype.TXT, dns.rdataclass.CH)
            raw = dnsutil.udp_ask((addr, 53), q.to_wire(), timeout_ms / 1000.0)
            try:
                r = dns.message.from_wire(raw) if raw else None
                ans = "LOST" if r is None else (
                    r.answer[0][0].strings[0].decode() if r.answer else "EMPTY")
            except dns.exception.DNSException:
                ans = "BAD"
            f.write("%.3f %.3f %s\n" % (sent, time.time(), ans))
            left = sent + interval_ms / 1000.0 - time.time()
            if left > 0:
                time.sleep(left)


def rows(out):
    with open(out) as f:
        for line in f:
            p = line.split()
            if len(p) == 3:
                yield float(p[0]), float(p[1]), p[2]


def analyze(out, fault, old):
    lost = 0
    for sent, recv, ans in rows(out):
        if sent < fault:
            continue
        if ans in ("LOST", "BAD", "EMPTY"):
            lost += 1
        elif ans != old:
            print("failover_ms=%d lost=%d first=%s" % ((recv - fault) * 1000, lost, ans))
            return 0
    print("failover_ms=-1 lost=%d first=none" % lost)
    return 1


def count(out, since=0.0):
    sent = lost = 0
    pops = []
    for s, _, ans in rows(out):
        if s < since:
            continue
        sent += 1
        if ans in ("LOST", "BAD", "EMPTY"):
            lost += 1
        elif ans not in pops:
            pops.append(ans)
    print("sent=%d lost=%d pops=%s" % (sent, lost, ",".join(pops) or "none"))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "run":
        opts = {"--interval": 25, "--timeout": 250, "--max-seconds": 30}
        rest = argv[3:]
        while rest:
            opts[rest[0]] = float(rest[1])
            rest = rest[2:]
        run(argv[1], argv[2], opts["--interval"], opts["--timeout"], opts["--max-seconds"])
        return 0
    if len(argv) == 4 and argv[0] == "analyze":
        return analyze(argv[1], float(argv[2]), argv[3])
    if len(argv) in (2, 3) and argv[0] == "count":
        return count(argv[1], float(argv[2]) if len(argv) == 3 else 0.0)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
