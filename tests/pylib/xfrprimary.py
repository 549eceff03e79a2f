#!/usr/bin/python3
"""A minimal primary for the transfer tests: the one behaviour no reference
server has.

Knot DNS 3.2 and NSD 4.6 never refuse an IXFR their transfer rule allows:
Knot's acl action "transfer" and NSD's provide-xfr cover AXFR and IXFR
together, and with provide-ixfr: off (Knot) or without IXFR support (NSD)
they answer IXFR with the whole zone, AXFR style. Primaries that answer IXFR
with NOTIMP, REFUSED or FORMERR exist (servers without IXFR, appliances,
load balancers passing AXFR only), and a secondary must fall back to AXFR
with them (RFC 1995 4). This server answers:

  SOA over UDP and TCP (for the zones given, TC=1 or no answer over UDP),
  AXFR over TCP with the whole zone in one message,
  IXFR with the rcode given for the zone (or like an AXFR when none is),
  or, the first N times after a reload (--ixfr-lag), with the SOA of the
  version before alone: a primary whose transfers lag behind its SOA,
  every answer signed when the query was (TSIG, one key).

Each query is logged as `query: received zone=Z type=T transport=udp|tcp
tsig=yes|no answer=...` to --log, so a test can see what was asked and how.
SIGHUP reads the zone files again.

  xfrprimary.py --port P [--address A] --zone ORIGIN=FILE... [--ixfr-rcode ORIGIN=RCODE]...
      [--key NAME:ALGORITHM:SECRET] [--udp-soa ORIGIN=truncate|drop]...
      [--ixfr-lag ORIGIN=N]... --log FILE
"""
import argparse
import signal
import socket
import socketserver
import sys
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.zone

import dnsutil  # beside this file


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.zones = {}
        self.ixfr_rcode = {}
        self.udp_soa = {}
        self.lag = {}
        self.lag_left = {}
        for item in args.ixfr_lag:
            origin, _, n = item.partition("=")
            self.lag[dns.name.from_text(origin)] = int(n)
        self.prev = {}
        for item in args.udp_soa:
            origin, _, mode = item.partition("=")
            self.udp_soa[dns.name.from_text(origin)] = mode
        for item in args.ixfr_rcode:
            origin, _, rc = item.partition("=")
            self.ixfr_rcode[dns.name.from_text(origin)] = dns.rcode.from_text(rc)
        self.keyring = None
        if args.key:
            name, alg, secret = args.key.split(":", 2)
            self.keyring = {dns.name.from_text(name):
                            dns.tsig.Key(name, secret, algorithm=alg)}
        self.log = open(args.log, "a", buffering=1)
        self.load()

    def load(self):
        zones = {}
        for item in self.args.zone:
            origin, _, path = item.partition("=")
            z = dns.zone.from_file(path, origin=origin, relativize=False)
            zones[z.origin] = z
        with self.lock:
            self.prev = self.zones if hasattr(self, "zones") else {}
            self.zones = zones
            self.lag_left = dict(self.lag)

    def note(self, text):
        with self.lock:
            self.log.write(text + "\n")


def rrsets(zone):
    """The zone's RRsets, the SOA first."""
    soa = zone.find_rrset(zone.origin, dns.rdatatype.SOA)
    out = [soa]
    for name, node in zone.nodes.items():
        for rds in node.rdatasets:
            if name == zone.origin and rds.rdtype == dns.rdatatype.SOA:
                continue
            rr = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
            rr.update(rds)
            out.append(rr)
    return out, soa


def answer(state, wire, transport):
    """Returns (the answer in wire form or None, whether to set TC)."""
    try:
        q = dns.message.from_wire(wire, keyring=state.keyring)
    except Exception as e:
        state.note("query: dropped transport=%s reason=\"%s\"" % (transport, e))
        return None
    if not q.question:
        return None
    qn, qt = q.question[0].name, q.question[0].rdtype
    tsig = "yes" if q.had_tsig else "no"
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    with state.lock:
        zone = state.zones.get(qn)
    what = "refused"
    if zone is None:
        r.set_rcode(dns.rcode.REFUSED)
    elif qt == dns.rdatatype.SOA:
        mode = state.udp_soa.get(qn, "answer") if transport == "udp" else "answer"
        if mode == "drop":
            state.note("query: received zone=%s type=SOA transport=udp tsig=%s answer=none"
                       % (qn, tsig))
            return None
        if mode == "truncate":
            r.flags |= dns.flags.TC
            what = "truncated"
        else:
            r.answer.append(rrsets(zone)[1])
            what = "soa"
    elif qt in (dns.rdatatype.AXFR, dns.rdatatype.IXFR) and transport == "udp":
        r.set_rcode(dns.rcode.NOTIMP)
        what = "notimp"
    elif qt == dns.rdatatype.IXFR and state.lag_left.get(qn, 0) > 0 and qn in state.prev:
        with state.lock:
            state.lag_left[qn] -= 1
        r.answer.append(rrsets(state.prev[qn])[1])
        what = "lagging"
    elif qt == dns.rdatatype.IXFR and qn in state.ixfr_rcode:
        r.set_rcode(state.ixfr_rcode[qn])
        what = dns.rcode.to_text(state.ixfr_rcode[qn])
    elif qt in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
        sets, soa = rrsets(zone)
        r.answer = sets + [soa]
        what = "axfr"
    else:
        r.set_rcode(dns.rcode.REFUSED)
    state.note("query: received zone=%s type=%s transport=%s tsig=%s answer=%s"
               % (qn, dns.rdatatype.to_text(qt), transport, tsig, what))
    return r.to_wire(max_size=65535)


class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        out = answer(self.server.state, data, "udp")
        if out is not None:
            sock.sendto(out, self.client_address)


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(5)
        try:
            while True:
                out = answer(self.server.state, dnsutil.tcp_read(s), "tcp")
                if out is None:
                    return
                s.sendall(dnsutil.frame(out))
        except (OSError, EOFError):
            return


class UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = True


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv):
    ap = argparse.ArgumentParser(prog="xfrprimary.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", action="append", required=True)
    ap.add_argument("--ixfr-rcode", action="append", default=[])
    ap.add_argument("--key")
    ap.add_argument("--udp-soa", action="append", default=[])
    ap.add_argument("--ixfr-lag", action="append", default=[])
    ap.add_argument("--log", required=True)
    args = ap.parse_args(argv)
    state = State(args)
    fam = socket.AF_INET6 if ":" in args.address else socket.AF_INET
    UDPServer.address_family = fam
    TCPServer.address_family = fam
    udp = UDPServer((args.address, args.port), UDPHandler)
    tcp = TCPServer((args.address, args.port), TCPHandler)
    udp.state = tcp.state = state
    signal.signal(signal.SIGHUP, lambda *_: state.load())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=udp.serve_forever, daemon=True).start()
    state.note("primary: started port=%d zones=%d" % (args.port, len(state.zones)))
    tcp.serve_forever()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
