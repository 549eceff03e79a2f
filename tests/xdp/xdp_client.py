#!/usr/bin/python3
"""Client side of the XDP tests (run inside the client network namespace).

  queries OUT.json METRICS_URL IFACE DST_MAC raw|noraw
                                         the query list, twice; raw answers,
                                         which path answered, checksum check
  badframes IFACE DST_MAC METRICS_URL    crafted bad frames over AF_PACKET
  reload DIR COUNT                       bounded query loop across a reload
  load ADDR COUNT                        bounded query loop, counts answers
  member ADDR METRICS_URL NAME served|gone
                                         a catalog member: UDP against TCP,
                                         the driver answering it or none

Every loop is bounded in count and time. Exit status 0 means the mode ran;
the verdicts are in the output, checked by run.sh."""
import json
import os
import socket
import struct
import sys
import time
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dnsutil  # noqa: E402

# (label, address, VLAN tags). The kernel here has no 802.1Q support, so
# tagged queries are sent as raw frames and their answers read raw: only the
# fast path can answer them, and their DNS bytes must equal what the socket
# path answered for the same untagged query.
TARGETS = [
    ("v4", "192.0.2.53", ()),
    ("v6", "2001:db8::53", ()),
    ("vlan-v4", "192.0.2.53", ((0x8100, 100),)),
    ("vlan-v6", "2001:db8::53", ((0x8100, 100),)),
    ("qinq-v4", "192.0.2.53", ((0x88A8, 300), (0x8100, 301))),
]

# (name, type, class, hit): hit means a simple query whose answer fits in
# 512 bytes, so the fast path must answer it on the second pass.
NAMES = [
    ("www.example.com", "A", "IN", True),
    ("WwW.ExAmPlE.cOm", "AAAA", "IN", True),
    ("example.com", "SOA", "IN", True),
    ("EXAMPLE.COM", "NS", "IN", True),
    ("example.com", "MX", "IN", True),
    ("txt.example.com", "TXT", "IN", True),
    ("Alias.example.com", "A", "IN", True),
    ("foo.WILD.example.com", "A", "IN", True),
    ("nx.example.com", "A", "IN", True),
    ("www.example.com", "MX", "IN", True),
    ("host.sub.example.com", "A", "IN", True),
    ("www.example.org", "A", "IN", True),
    ("big.example.com", "TXT", "IN", False),
    # Signed (run.sh signs it): RRSIGs with DO=1, NSEC proofs for a name
    # that does not exist and one that has no MX. With DO=1 the answers
    # (300-370 bytes) may outgrow what a frame can grow by on veth (256
    # bytes of headroom, less the headers): answered by XDP or by the
    # sockets (hit None: not counted either way, bytes still compared).
    ("www.signed.example", "A", "IN", "nodo"),
    ("a.signed.example", "A", "IN", "nodo"),
    ("www.signed.example", "MX", "IN", "nodo"),
]

# (label, edns, do, options, flags-to-set, hit)
SHAPES = [
    ("plain", False, False, None, 0, True),
    ("rd", False, False, None, dns.flags.RD, True),
    ("edns", True, False, None, 0, True),
    ("do", True, True, None, dns.flags.RD, True),
    ("edns512", True, False, None, 0, True),
    ("ad-cd", True, False, None, dns.flags.AD | dns.flags.CD, True),
    ("nsid", True, False, "nsid", 0, False),
]


def metric(url, name):
    """Value of a Prometheus counter, or None when absent or unreachable."""
    if not url:
        return None
    try:
        body = urllib.request.urlopen(url, timeout=3).read().decode()
    except OSError:
        return None
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None


def make_query(name, rtype, rclass, shape, qid):
    label, edns, do, opt, flags, _ = shape
    q = dns.message.make_query(name, rtype, rclass, use_edns=False)
    q.id = qid
    q.flags = flags
    if edns:
        options = [dns.edns.GenericOption(dns.edns.NSID, b"")] if opt == "nsid" else []
        q.use_edns(0, dns.flags.DO if do else 0, 512 if label == "edns512" else 1232,
                   options=options)
    return q.to_wire()


def ask(addr, wire, timeout=2.0, tries=3):
    return dnsutil.udp_ask((addr, 53), wire, timeout, tries)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


class Capture:
    """Every UDP frame from port 53 that reaches IFACE: checks the IPv4
    header checksum and the UDP checksum of the answers we receive."""

    def __init__(self, iface):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.s.bind((iface, 0))
        self.s.setblocking(False)
        self.checked = 0
        self.bad = []

    def drain(self):
        while True:
            try:
                frame, addr = self.s.recvfrom(65535)
            except BlockingIOError:
                return
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            self.check(frame)

    def check(self, f):
        off = 12
        et = struct.unpack("!H", f[off:off + 2])[0]
        while et in (0x8100, 0x88A8):
            off += 4
            et = struct.unpack("!H", f[off:off + 2])[0]
        off += 2
        if et == 0x0800:
            ip = f[off:off + 20]
            if len(ip) < 20 or ip[9] != 17:
                return
            ihl = (ip[0] & 0xF) * 4
            tot = struct.unpack("!H", ip[2:4])[0]
            udp = f[off + ihl:off + tot]
            if struct.unpack("!H", udp[0:2])[0] != 53:
                return
            if csum(f[off:off + ihl]) != 0xFFFF:
                self.bad.append("ipv4 header checksum")
            ph = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
        elif et == 0x86DD:
            ip = f[off:off + 40]
            if len(ip) < 40 or ip[6] != 17:
                return
            plen = struct.unpack("!H", ip[4:6])[0]
            udp = f[off + 40:off + 40 + plen]
            if struct.unpack("!H", udp[0:2])[0] != 53:
                return
            ph = ip[8:40] + struct.pack("!IxxxB", len(udp), 17)
        else:
            return
        if struct.unpack("!H", udp[4:6])[0] != len(udp):
            self.bad.append("udp length")
        ck = struct.unpack("!H", udp[6:8])[0]
        if ck != 0 and csum(ph + udp) != 0xFFFF:
            self.bad.append("udp checksum")
        self.checked += 1


SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 1 << 4, 1 << 6


def recv_frame(s):
    """A frame and the VLAN tag the stack took out of it (skb_vlan_untag()
    runs before packet sockets see a frame), from PACKET_AUXDATA."""
    f, anc, _flags, addr = s.recvmsg(65535, 256)
    tag = None
    for level, typ, data in anc:
        if level == SOL_PACKET and typ == PACKET_AUXDATA and len(data) >= 20:
            status, _l, _sl, _mac, _net, tci, tpid = struct.unpack("=IIIHHHH", data[:20])
            if status & TP_STATUS_VLAN_VALID:
                tag = (tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100, tci & 0xFFF)
    return f, addr, tag


def parse_frame(f, tag=None):
    """(tags, ip version, src port, dst port, payload) of a UDP frame, or None."""
    off, tags = 12, [tag] if tag else []
    et = struct.unpack("!H", f[off:off + 2])[0]
    while et in (0x8100, 0x88A8) and len(f) >= off + 6:
        tags.append((et, struct.unpack("!H", f[off + 2:off + 4])[0] & 0xFFF))
        off += 4
        et = struct.unpack("!H", f[off:off + 2])[0]
    off += 2
    if et == 0x0800 and len(f) >= off + 28 and f[off + 9] == 17:
        ihl = (f[off] & 0xF) * 4
        tot = struct.unpack("!H", f[off + 2:off + 4])[0]
        u = f[off + ihl:off + tot]
        ver = 4
    elif et == 0x86DD and len(f) >= off + 48 and f[off + 6] == 17:
        plen = struct.unpack("!H", f[off + 4:off + 6])[0]
        u = f[off + 40:off + 40 + plen]
        ver = 6
    else:
        return None
    sp, dp = struct.unpack("!HH", u[0:4])
    return tuple(tags), ver, sp, dp, u[8:]


def ask_raw(iface, dst_mac, addr, tags, wire, sport, timeout):
    """Sends a query as a raw (tagged) frame and waits for its answer."""
    src_mac = open("/sys/class/net/%s/address" % iface).read().strip()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    s.settimeout(0.05)
    try:
        if ":" in addr:
            frame = ipv6_frame(dst_mac, src_mac, wire, tags=tags, sport=sport)
        else:
            frame = ipv4_frame(dst_mac, src_mac, wire, tags=tags, sport=sport)
        s.send(frame)
        t_end = time.time() + timeout
        while time.time() < t_end:
            try:
                f, a, tag = recv_frame(s)
            except socket.timeout:
                continue
            if a[2] == socket.PACKET_OUTGOING:
                continue
            p = parse_frame(f, tag)
            if p and p[2] == 53 and p[3] == sport and p[4][:2] == wire[:2]:
                return p[4], p[0] == tuple(tags)
        return None, None
    finally:
        s.close()


def mode_queries(out, url, iface, dst_mac, raw):
    cap = Capture(iface)
    results = []
    plan = []
    qid = 1000
    for name, rtype, rclass, hit in NAMES:
        for shape in SHAPES:
            qid += 1
            for tlabel, addr, tags in TARGETS:
                # every shape on the plain paths, a cross-section elsewhere
                if tags and shape[0] not in ("plain", "do", "edns", "nsid"):
                    continue
                if tags and raw != "raw":
                    continue
                h = hit is True or (hit == "nodo" and shape[0] != "do")
                if hit == "nodo" and shape[0] == "do":
                    if tags:
                        continue   # only XDP answers tagged frames
                    h = None
                plan.append((tlabel, addr, tags, name, rtype, rclass, shape,
                             h and shape[5] if h is not None else None, qid))
    sport = 20000
    for npass in (1, 2):
        for tlabel, addr, tags, name, rtype, rclass, shape, hit, qid in plan:
            wire = make_query(name, rtype, rclass, shape, qid)
            before = metric(url, "anyns_xdp_answered_total")
            tags_ok = None
            if tags:
                sport += 1
                resp, tags_ok = ask_raw(iface, dst_mac, addr, tags, wire, sport,
                                        1.0 if hit else 0.3)
            else:
                resp = ask(addr, wire)
            after = metric(url, "anyns_xdp_answered_total")
            cap.drain()
            results.append({
                "pass": npass, "target": tlabel, "name": name, "type": rtype,
                "shape": shape[0], "hit": hit, "qid": qid, "tags_ok": tags_ok,
                "resp": resp.hex() if resp is not None else None,
                "xdp": (after - before) if before is not None and after is not None else None,
            })
    time.sleep(0.2)
    cap.drain()
    with open(out, "w") as f:
        json.dump({"results": results, "checked": cap.checked, "bad": cap.bad}, f)
    return 0


# ---- bad frames ----------------------------------------------------------

def ipv4_frame(dst_mac, src_mac, payload, tags=(), ihl_opts=b"", frag=0x4000,
               tot_delta=0, udp_delta=0, bad_ipsum=False, proto=17, dport=53, sport=40000):
    udp_len = 8 + len(payload) + udp_delta
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    if udp_delta == 0:
        ph = socket.inet_aton("192.0.2.1") + socket.inet_aton("192.0.2.53") + \
            struct.pack("!BBH", 0, 17, len(udp))
        ck = (~csum(ph + udp)) & 0xFFFF or 0xFFFF
        udp = udp[:6] + struct.pack("!H", ck) + udp[8:]
    ihl = 5 + len(ihl_opts) // 4
    tot = ihl * 4 + len(udp) + tot_delta
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, frag, 64, proto, 0,
                      socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.53")) + ihl_opts
    s = (~csum(hdr)) & 0xFFFF
    if bad_ipsum:
        s ^= 0x1234
    hdr = hdr[:10] + struct.pack("!H", s) + hdr[12:]
    return eth(dst_mac, src_mac, 0x0800, tags) + hdr + udp


def ipv6_frame(dst_mac, src_mac, payload, nexthdr=17, plen_delta=0, zero_csum=False,
               tags=(), sport=40000):
    src = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    dst = socket.inet_pton(socket.AF_INET6, "2001:db8::53")
    ulen = 8 + len(payload)
    udp = struct.pack("!HHHH", sport, 53, ulen, 0) + payload
    ph = src + dst + struct.pack("!IxxxB", ulen, 17)
    ck = 0 if zero_csum else ((~csum(ph + udp)) & 0xFFFF or 0xFFFF)
    udp = udp[:6] + struct.pack("!H", ck) + udp[8:]
    if nexthdr == 0:   # hop-by-hop header in front of UDP
        udp = struct.pack("!BB6x", 17, 0) + udp
    hdr = struct.pack("!IHBB", 0x60000000, len(udp) + plen_delta, nexthdr, 64) + src + dst
    return eth(dst_mac, src_mac, 0x86DD, tags) + hdr + udp


def eth(dst_mac, src_mac, et, tags):
    f = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", ""))
    for tpid, vid in tags:
        f += struct.pack("!HH", tpid, vid)
    return f + struct.pack("!H", et)


def mode_badframes(iface, dst_mac, url):
    src_mac = open("/sys/class/net/%s/address" % iface).read().strip()
    good = make_query("www.example.com", "A", "IN", SHAPES[0], 4242)
    q = bytearray(good)

    def mut(fn):
        b = bytearray(good)
        fn(b)
        return bytes(b)

    edns_opt = make_query("www.example.com", "A", "IN", SHAPES[6], 4243)
    edns = make_query("www.example.com", "A", "IN", SHAPES[2], 4244)
    name_end = 12 + len(b"\x03www\x07example\x03com\x00")
    frames = [
        # positive controls: what the fast path must answer
        ("control-v4", True, ipv4_frame(dst_mac, src_mac, good)),
        ("control-v6", True, ipv6_frame(dst_mac, src_mac, good)),
        ("control-edns", True, ipv4_frame(dst_mac, src_mac, edns)),
        ("control-vlan", True, ipv4_frame(dst_mac, src_mac, good, tags=((0x8100, 7),))),
        ("three-tags", False, ipv4_frame(dst_mac, src_mac, good, tags=((0x88A8, 1), (0x8100, 2), (0x8100, 3)))),
        # truncated frames
        ("trunc-eth", False, ipv4_frame(dst_mac, src_mac, good)[:14]),
        ("trunc-ip", False, ipv4_frame(dst_mac, src_mac, good)[:14 + 12]),
        ("trunc-udp", False, ipv4_frame(dst_mac, src_mac, good)[:14 + 20 + 4]),
        ("trunc-dns", False, ipv4_frame(dst_mac, src_mac, good)[:14 + 28 + 20]),
        ("trunc-vlan", False, eth(dst_mac, src_mac, 0x8100, ())[:14] + b"\x00"),
        ("trunc-v6", False, ipv6_frame(dst_mac, src_mac, good)[:14 + 30]),
        # lengths that lie
        ("ip-totlen-long", False, ipv4_frame(dst_mac, src_mac, good, tot_delta=40)),
        ("ip-totlen-short", False, ipv4_frame(dst_mac, src_mac, good, tot_delta=-3)),
        ("udp-len-long", False, ipv4_frame(dst_mac, src_mac, good, udp_delta=9)),
        ("udp-len-short", False, ipv4_frame(dst_mac, src_mac, good, udp_delta=-2)),
        ("udp-len-tiny", False, ipv4_frame(dst_mac, src_mac, good, udp_delta=-(len(good) + 3))),
        ("v6-plen-long", False, ipv6_frame(dst_mac, src_mac, good, plen_delta=30)),
        ("v6-plen-short", False, ipv6_frame(dst_mac, src_mac, good, plen_delta=-4)),
        # IP features the fast path leaves to the stack
        ("ip-bad-checksum", False, ipv4_frame(dst_mac, src_mac, good, bad_ipsum=True)),
        ("ip-options", False, ipv4_frame(dst_mac, src_mac, good, ihl_opts=b"\x01\x01\x01\x00")),
        ("ip-fragment-mf", False, ipv4_frame(dst_mac, src_mac, good, frag=0x2000)),
        ("ip-fragment-off", False, ipv4_frame(dst_mac, src_mac, good, frag=0x0010)),
        ("tcp", False, ipv4_frame(dst_mac, src_mac, good, proto=6)),
        ("other-port", False, ipv4_frame(dst_mac, src_mac, good, dport=54)),
        ("v6-hop-by-hop", False, ipv6_frame(dst_mac, src_mac, good, nexthdr=0)),
        ("v6-zero-udp-csum", False, ipv6_frame(dst_mac, src_mac, good, zero_csum=True)),
        ("group-mac", False, ipv4_frame("ff:ff:ff:ff:ff:ff", src_mac, good)),
        # DNS messages that are not simple queries
        ("dns-qr", False, ipv4_frame(dst_mac, src_mac, mut(lambda b: b.__setitem__(2, b[2] | 0x80)))),
        ("dns-opcode", False, ipv4_frame(dst_mac, src_mac, mut(lambda b: b.__setitem__(2, b[2] | 0x10)))),
        ("dns-qdcount2", False, ipv4_frame(dst_mac, src_mac, mut(lambda b: b.__setitem__(5, 2)))),
        ("dns-ancount", False, ipv4_frame(dst_mac, src_mac, mut(lambda b: b.__setitem__(7, 1)))),
        ("dns-arcount-no-opt", False, ipv4_frame(dst_mac, src_mac, mut(lambda b: b.__setitem__(11, 1)))),
        ("dns-pointer", False, ipv4_frame(dst_mac, src_mac, bytes(q[:12]) + b"\xc0\x0c" + bytes(q[name_end:]))),
        ("dns-label-64", False, ipv4_frame(dst_mac, src_mac, bytes(q[:12]) + b"\x40" + b"a" * 64 + b"\x00" + bytes(q[name_end:]))),
        ("dns-no-root", False, ipv4_frame(dst_mac, src_mac, bytes(q[:name_end - 1]))),
        ("dns-long-name", False, ipv4_frame(dst_mac, src_mac, bytes(q[:12]) + (b"\x3f" + b"a" * 63) * 4 + b"\x00" + bytes(q[name_end:]))),
        ("dns-trailing", False, ipv4_frame(dst_mac, src_mac, good + b"\x00")),
        ("dns-header-only", False, ipv4_frame(dst_mac, src_mac, good[:12])),
        ("edns-option", False, ipv4_frame(dst_mac, src_mac, edns_opt)),
        ("edns-version1", False, ipv4_frame(dst_mac, src_mac, mut_edns(edns, 6, 1))),
        ("edns-trailing", False, ipv4_frame(dst_mac, src_mac, edns + b"\x00")),
        ("edns-rdlen", False, ipv4_frame(dst_mac, src_mac, mut_edns(edns, 10, 4))),
        ("dns-too-big", False, ipv4_frame(dst_mac, src_mac, good + b"\x00" * 600)),
        # controls again: the program still answers after all that
        ("control-v4-again", True, ipv4_frame(dst_mac, src_mac, good)),
    ]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    out = []
    for label, want, frame in frames:
        before = metric(url, "anyns_xdp_answered_total")
        s.send(frame)
        time.sleep(0.05)
        after = metric(url, "anyns_xdp_answered_total")
        delta = None if before is None or after is None else after - before
        ok = delta == (1 if want else 0)
        print("%s %s answered=%s" % ("ok" if ok else "BAD", label, delta))
        out.append(ok)
    s.close()
    print("badframes: %d of %d as expected" % (sum(out), len(out)))
    return 0 if all(out) else 1


def mut_edns(wire, off_in_opt, value):
    """Sets a byte of the OPT record (which ends the message)."""
    b = bytearray(wire)
    b[len(b) - 11 + off_in_opt] = value
    return bytes(b)


def mode_reload(d, count):
    """Queries gen.example.com TXT COUNT times (stops after 60 s), writing
    progress to DIR/sent; run.sh reloads the zone meanwhile and creates
    DIR/reloaded. Answers to queries sent after that must be the new text."""
    count = int(count)
    lost = stale = after_n = 0
    texts = {}
    t_end = time.time() + 60
    for i in range(count):
        if time.time() > t_end:
            break
        reloaded = os.path.exists(os.path.join(d, "reloaded"))
        wire = make_query("gen.example.com", "TXT", "IN", SHAPES[0], i & 0xFFFF)
        r = ask("192.0.2.53", wire, timeout=1.0, tries=1)
        if r is None:
            lost += 1
        else:
            txt = dns.message.from_wire(r).answer[0][0].strings[0].decode()
            texts[txt] = texts.get(txt, 0) + 1
            if reloaded:
                after_n += 1
                if txt != "gen-2":
                    stale += 1
        if i % 50 == 0:
            with open(os.path.join(d, "sent.tmp"), "w") as f:
                f.write(str(i))
            os.rename(os.path.join(d, "sent.tmp"), os.path.join(d, "sent"))
    print("reload: sent=%d lost=%d after_reload=%d stale=%d texts=%s" %
          (i + 1, lost, after_n, stale, texts))
    return 0


def mode_load(addr, count):
    count = int(count)
    ok = 0
    t_end = time.time() + 30
    wire = make_query("www.example.com", "A", "IN", SHAPES[0], 7)
    for i in range(count):
        if time.time() > t_end:
            break
        if ask(addr, wire, timeout=1.0, tries=1) is not None:
            ok += 1
    print("load: answered=%d of %d" % (ok, i + 1))
    return 0


def mode_member(addr, url, name, want):
    """A catalog member over UDP against the socket path (TCP, which XDP never
    answers). want "served": in each shape the UDP answers, after a first ask
    that may fill the map, are byte-identical to the TCP one and the driver
    answered them. want "gone": every UDP answer is REFUSED, as over TCP, and
    the driver answered none of them."""
    ok = True
    for label in ("plain", "edns", "do"):
        shape = [s for s in SHAPES if s[0] == label][0]
        wire = make_query(name, "A", "IN", shape, 4000 + len(label))
        tcp = dnsutil.tcp_ask((addr, 53), wire)
        if want == "served":
            ask(addr, wire)
        before = metric(url, "anyns_xdp_answered_total")
        udp = [ask(addr, wire) for _ in range(4)]
        after = metric(url, "anyns_xdp_answered_total")
        xdp = after - before if before is not None and after is not None else None
        rcodes = sorted({dns.message.from_wire(r).rcode() for r in udp + [tcp] if r})
        same = tcp is not None and all(r == tcp for r in udp)
        if want == "served":
            good = same and rcodes == [dns.rcode.NOERROR] and xdp == len(udp)
        else:
            good = same and rcodes == [dns.rcode.REFUSED] and xdp == 0
        print("%s %s %s: UDP %s TCP, rcodes %s, %s of %d from XDP%s" %
              (name, label, want, "same as" if same else "NOT the same as",
               [dns.rcode.to_text(r) for r in rcodes], xdp, len(udp), "" if good else "  WRONG"))
        ok = ok and good
    return 0 if ok else 1


def main(argv):
    mode = argv[1]
    if mode == "member":
        return mode_member(argv[2], argv[3], argv[4], argv[5])
    if mode == "queries":
        return mode_queries(argv[2], argv[3], argv[4], argv[5], argv[6])
    if mode == "badframes":
        return mode_badframes(argv[2], argv[3], argv[4])
    if mode == "reload":
        return mode_reload(argv[2], argv[3])
    if mode == "load":
        return mode_load(argv[2], argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
