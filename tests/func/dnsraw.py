#!/usr/bin/python3
"""Raw-socket DNS checks for tests/func/run.sh that kdig and drill cannot do:
pipelined TCP, idle timeout, connection limit, odd opcodes, malformed packets,
queries during reloads. Each sub-command prints what it saw and exits 0 when
the server behaved, 1 otherwise. Every wait is bounded."""
import os
import signal
import socket
import struct
import sys
import threading
import time

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dnsutil  # noqa: E402
from dnsutil import frame, recv_exact  # noqa: E402


def tcp_connect(addr, port, timeout=3.0):
    return dnsutil.tcp_connect((addr, port), timeout)


def tcp_read_msg(s):
    return dns.message.from_wire(dnsutil.tcp_read(s))


def udp_exchange(addr, port, wire, timeout=2.0):
    return dnsutil.udp_ask((addr, port), wire, timeout)


def cmd_pipeline(addr, port):
    """Several length-prefixed queries in one write, answered on one connection."""
    names = ["www.func.test", "alias.func.test", "nx.func.test", "huge.func.test",
             "mail.func.test"]
    types = ["A", "A", "A", "TXT", "A"]
    msgs = []
    for i, (n, t) in enumerate(zip(names, types)):
        q = dns.message.make_query(n, t)
        q.id = 1000 + i
        msgs.append(q)
    s = tcp_connect(addr, port)
    s.sendall(b"".join(frame(q.to_wire()) for q in msgs))
    got = {}
    for _ in msgs:
        r = tcp_read_msg(s)
        got[r.id] = r
    s.close()
    ok = True
    for q in msgs:
        r = got.get(q.id)
        if r is None or r.question[0].name != q.question[0].name:
            print("missing or wrong answer for id", q.id)
            ok = False
    if ok and dns.rcode.to_text(got[1002].rcode()) != "NXDOMAIN":
        print("nx.func.test: expected NXDOMAIN")
        ok = False
    if ok and len(got[1003].answer[0]) != 28:
        print("huge.func.test: expected 28 TXT over TCP, got", len(got[1003].answer[0]))
        ok = False
    print("pipelined %d queries, %d answers" % (len(msgs), len(got)))
    return ok


def data_segs_in(s):
    """Segments with data this socket received (struct tcp_info's
    tcpi_data_segs_in, Linux 4.6 and later), or None."""
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("=I", info, 152)[0] if len(info) >= 156 else None


def cmd_batched(addr, port, count):
    """count pipelined queries in one segment get their answers in one write:
    a few segments, not one per answer (TCP_NODELAY is on, so answers written
    one by one would each leave in a segment of their own)."""
    count = int(count)
    msgs = []
    for i in range(count):
        q = dns.message.make_query("www.func.test", "A")
        q.id = 2000 + i
        msgs.append(q)
    s = tcp_connect(addr, port)
    s.sendall(b"".join(frame(q.to_wire()) for q in msgs))
    ids = set()
    for _ in msgs:
        ids.add(tcp_read_msg(s).id)
    segs = data_segs_in(s)
    s.close()
    if ids != {q.id for q in msgs}:
        print("answers missing: got %d of %d ids" % (len(ids), count))
        return False
    print("%d pipelined queries answered in %s segments" % (count, segs))
    return segs is not None and segs <= 3


def cmd_reflect(addr, port):
    """bench's anyns-reflector over TCP: every query comes back as it was sent
    with QR set, the answers to one segment of pipelined queries in one write,
    messages cut anywhere reassembled, responses and runts left unanswered, a
    message of the largest size answered whole, the connection closed at EOF,
    and the same bytes over UDP."""
    def reply(wire):
        return wire[:2] + bytes([wire[2] | 0x80]) + wire[3:]
    qs = []
    for i in range(20):
        q = dns.message.make_query("n%d.reflect.test" % i, "A")
        q.id = 3000 + i
        qs.append(q.to_wire())
    s = tcp_connect(addr, port)
    s.sendall(b"".join(frame(w) for w in qs))
    got = [dnsutil.tcp_read(s) for _ in qs]
    segs = data_segs_in(s)
    if got != [reply(w) for w in qs]:
        print("pipelined: the answers are not the queries with QR set, in order")
        return False
    if segs is None or segs > 3:
        print("pipelined: 20 answers came in %s segments, want at most 3" % segs)
        return False
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # One query a byte at a time, then two with the cut inside a length prefix.
    for b in frame(qs[0]):
        s.sendall(bytes([b]))
        time.sleep(0.002)
    if dnsutil.tcp_read(s) != reply(qs[0]):
        print("byte-by-byte query: wrong answer")
        return False
    data = frame(qs[1]) + frame(qs[2])
    cut = len(frame(qs[1])) + 1
    s.sendall(data[:cut])
    time.sleep(0.05)
    s.sendall(data[cut:])
    if [dnsutil.tcp_read(s), dnsutil.tcp_read(s)] != [reply(qs[1]), reply(qs[2])]:
        print("split prefix: wrong answers")
        return False
    # A response and a runt get nothing; the query behind them is answered.
    s.sendall(frame(reply(qs[3])) + frame(b"\x00\x01\x00") + frame(qs[4]))
    if dnsutil.tcp_read(s) != reply(qs[4]):
        print("a response or a runt was answered")
        return False
    # The largest message there is, sent in pieces, comes back whole.
    big = qs[5][:12] + bytes(65535 - 12)
    fb = frame(big)
    for off in range(0, len(fb), 10000):
        s.sendall(fb[off:off + 10000])
    if dnsutil.tcp_read(s) != reply(big):
        print("65535-byte message: wrong answer")
        return False
    # A client that reads late, with a small receive buffer: 6 MB of 60 000
    # byte messages sent while it does not read fill the reflector's socket,
    # its writes come up short, it stops reading that connection, and every
    # answer still comes back whole and in order once the client reads.
    bigs = [qs[7 + i % 8][:12] + bytes([i]) * (60000 - 12) for i in range(100)]
    ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    ls.settimeout(10)
    ls.connect((addr, port))
    sender = threading.Thread(target=lambda: ls.sendall(b"".join(frame(m) for m in bigs)))
    sender.start()
    time.sleep(0.5)
    late = [dnsutil.tcp_read(ls) for _ in bigs]
    sender.join(10)
    ls.close()
    if late != [reply(m) for m in bigs]:
        print("late reader: answers missing, cut or out of order")
        return False
    s.shutdown(socket.SHUT_WR)
    try:
        rest = s.recv(16)
    except OSError as e:
        print("after EOF: %r instead of the connection closed" % (e,))
        return False
    s.close()
    if rest != b"":
        print("after EOF: got %r instead of the connection closed" % (rest,))
        return False
    u = udp_exchange(addr, port, qs[6])
    if u != reply(qs[6]):
        print("UDP: %r is not the query with QR set" % (u,))
        return False
    print("reflector: 20 pipelined answers in %d segment(s), split, skipped, 64 KiB, late reader, EOF and UDP right" % segs)
    return True


def cmd_split(addr, port):
    """One query sent a byte at a time (partial reads), then two in one segment
    with the second cut in the middle of its length prefix."""
    q1 = dns.message.make_query("www.func.test", "A")
    q1.id = 7
    s = tcp_connect(addr, port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in frame(q1.to_wire()):
        s.sendall(bytes([b]))
        time.sleep(0.002)
    r = tcp_read_msg(s)
    if r.id != 7:
        print("byte-by-byte query: wrong id")
        return False
    q2 = dns.message.make_query("mail.func.test", "A")
    q2.id = 8
    q3 = dns.message.make_query("ns1.func.test", "A")
    q3.id = 9
    data = frame(q2.to_wire()) + frame(q3.to_wire())
    cut = len(frame(q2.to_wire())) + 1
    s.sendall(data[:cut])
    time.sleep(0.05)
    s.sendall(data[cut:])
    ids = sorted([tcp_read_msg(s).id, tcp_read_msg(s).id])
    s.close()
    print("split reads answered:", ids)
    return ids == [8, 9]


def cmd_slowreader(addr, port, count):
    """Many pipelined queries with big answers from a client that reads late:
    the server's writes back up (partial writes, queued writes, reading paused)
    and every answer still arrives, whole and in order."""
    count = int(count)
    s = socket.socket(dnsutil.family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((addr, port))
    data = b""
    for i in range(count):
        q = dns.message.make_query("huge.func.test", "TXT")
        q.id = i
        data += frame(q.to_wire())
    s.sendall(data)
    time.sleep(0.5)
    ids = []
    for _ in range(count):
        r = tcp_read_msg(s)
        if len(r.answer) != 1 or len(r.answer[0]) != 28:
            print("incomplete answer for id", r.id)
            return False
        ids.append(r.id)
    s.close()
    print("%d big answers read late, in order: %s" % (len(ids), ids == list(range(count))))
    return ids == list(range(count))


def rss_kb(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cmd_backpressure(addr, port, pid, qname, conns=8, count=120):
    """Clients that pipeline more than a read buffer's worth of queries for a TXT set of
    about 60 KB and do not read: the server answers only while its write
    queue is short, so its memory stays bounded (answering every query read
    at once would queue megabytes per connection), and when the clients do
    read, every answer arrives, whole and in order."""
    conns, count = int(conns), int(count)
    q = dns.message.make_query(qname, "TXT").to_wire()
    want = None
    base = rss_kb(pid)
    socks = []
    try:
        for _ in range(conns):
            s = socket.socket(dnsutil.family(addr), socket.SOCK_STREAM)
            socks.append(s)
            # Before connect(): a window shrunk later stalls the transfer.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect((addr, port))
            data = b"".join(frame(struct.pack("!H", i) + q[2:]) for i in range(count))
            s.sendall(data)
        # The server reads and answers until its write queues are full, then
        # stops: wait (at most 5 s) until its memory has stayed the same for
        # 300 ms, then read it.
        deadline = time.monotonic() + 5.0
        last, since = rss_kb(pid), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < 0.3:
            time.sleep(0.05)
            now = rss_kb(pid)
            if now != last:
                last, since = now, time.monotonic()
        grown = rss_kb(pid) - base
        print("%d connections x %d queries unread: server RSS +%d KB" % (conns, count, grown))
        # Per connection: the capped write queue (256 KB) and the answer
        # that crossed it, with room to spare; answering a whole read of
        # queries at once queues over 1 MB per connection here.
        ok = grown < conns * 640
        for s in socks:
            for i in range(count):
                m = dnsutil.tcp_read(s)
                an = struct.unpack("!H", m[6:8])[0]
                want = an if want is None else want
                if struct.unpack("!H", m[:2])[0] != i or an != want or an < 200:
                    print("answer %d out of order or incomplete" % i)
                    return False
        print("all %d answers read, in order" % (conns * count))
        return ok
    finally:
        for s in socks:
            s.close()


def cmd_termflush(addr, port, pid, count):
    """SIGTERM while answers wait to be written: the server flushes the answers
    to the queries it had read, whole, then closes (RFC 7766 6.2.4)."""
    pid, count = int(pid), int(count)
    s = tcp_connect(addr, port, timeout=5)
    data = b""
    for i in range(count):
        q = dns.message.make_query("huge.func.test", "TXT")
        q.id = i
        data += frame(q.to_wire())
    s.sendall(data)
    time.sleep(0.3)
    os.kill(pid, signal.SIGTERM)
    # A second one while it drains must not kill it (exit status checked by run.sh).
    time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    got = 0
    try:
        while True:
            r = tcp_read_msg(s)
            if r.id != got or len(r.answer) != 1 or len(r.answer[0]) != 28:
                print("answer %d wrong or incomplete" % got)
                return False
            got += 1
    except EOFError as e:
        tail = str(e)
    except (ConnectionResetError, socket.timeout) as e:
        print("after %d answers: %r" % (got, e))
        return False
    print("%d of %d answers flushed after SIGTERM, then %s" % (got, count, tail))
    # Whole answers only: the stream ended on a message boundary.
    return got > 0 and tail.startswith("connection closed after 0 of")


def cmd_idle(addr, port, configured):
    """The server closes a connection that stays silent (RFC 7766 6.2.3) when
    its idle timeout (`configured` seconds) has passed: not before 0.8 of it,
    not after 1.5 of it."""
    configured = float(configured)
    s = tcp_connect(addr, port, timeout=configured * 1.5)
    q = dns.message.make_query("www.func.test", "A")
    s.sendall(frame(q.to_wire()))
    tcp_read_msg(s)
    t0 = time.monotonic()
    try:
        data = s.recv(1)
    except socket.timeout:
        print("still open after %.2f s (idle timeout %.1f s)" % (time.monotonic() - t0, configured))
        return False
    except ConnectionResetError:
        data = b""
    took = time.monotonic() - t0
    print("closed by server after %.2f s (idle timeout %.1f s, data=%r)" % (took, configured, data))
    return data == b"" and took >= configured * 0.8


def cmd_connlimit(addr, port, limit):
    """limit connections work; the next one (one worker) takes the slot of the
    least recently active one, which is closed; the others still work."""
    limit = int(limit)
    conns = []
    q = dns.message.make_query("www.func.test", "A")
    for _ in range(limit):
        s = tcp_connect(addr, port)
        s.sendall(frame(q.to_wire()))
        tcp_read_msg(s)
        conns.append(s)
        time.sleep(0.05)
    extra = tcp_connect(addr, port)
    try:
        extra.sendall(frame(q.to_wire()))
        served = tcp_read_msg(extra).rcode() == 0
    except (EOFError, ConnectionResetError, BrokenPipeError, socket.timeout):
        served = False
    extra.close()
    # The least recently active connection made room.
    try:
        conns[0].sendall(frame(q.to_wire()))
        tcp_read_msg(conns[0])
        pushed = False
    except (EOFError, ConnectionResetError, BrokenPipeError):
        pushed = True
    except socket.timeout:
        pushed = False
    conns[-1].sendall(frame(q.to_wire()))
    still = tcp_read_msg(conns[-1]).rcode() == 0
    for s in conns:
        s.close()
    print("connection %d over the limit %s; the oldest %s; the newest still served: %s" %
          (limit + 1, "served" if served else "not served",
           "closed" if pushed else "still open", still))
    return served and pushed and still


def cmd_axfr_after_udp(addr, port):
    """AXFR asked over UDP (NOTIMP, an answer the answer cache keeps) and
    then over TCP on the same wire: the TCP one goes to the transfer code
    (REFUSED: no allow-transfer here), not to the cached UDP answer."""
    q = dns.message.make_query("func.test", "AXFR", use_edns=False)
    q.id = 4242
    wire = q.to_wire()
    for _ in range(3):
        u = udp_exchange(addr, port, wire)
        if u is None or dns.message.from_wire(u).rcode() != dns.rcode.NOTIMP:
            print("AXFR over UDP: %s instead of NOTIMP" % (u and dns.rcode.to_text(dns.message.from_wire(u).rcode())))
            return False
    s = tcp_connect(addr, port)
    s.sendall(frame(wire))
    r = tcp_read_msg(s)
    s.close()
    got = dns.rcode.to_text(r.rcode())
    print("AXFR over TCP after three over UDP: %s" % got)
    return r.id == q.id and got == "REFUSED"


def cmd_opcode(addr, port, opcode, want):
    q = dns.message.make_query("func.test", "SOA")
    q.set_opcode(dns.opcode.from_text(opcode))
    wire = udp_exchange(addr, port, q.to_wire())
    if wire is None:
        print("no answer")
        return False
    r = dns.message.from_wire(wire)
    got = dns.rcode.to_text(r.rcode())
    print("opcode %s: rcode %s, opcode echoed %s" % (opcode, got, dns.opcode.to_text(r.opcode())))
    return got == want and r.opcode() == q.opcode() and r.id == q.id


def cmd_formerr(addr, port, kind):
    """Malformed queries: FORMERR with the query's ID, and the whole reply's
    shape checked. A question that cannot be read, or a second question
    (RFC 9619), gets a bare header: QDCOUNT 0, nothing echoed. A readable
    question with a broken OPT (two of them, RFC 6891 6.1.1) gets its
    question echoed and no OPT. Flags: QR, RD copied, nothing else."""
    hdr_id = 0x4242
    rd = 0x0100
    q = dns.message.make_query("www.func.test", "A", use_edns=False).to_wire()
    question = q[12:]
    echo = b""
    if kind == "qdcount2":
        wire = struct.pack("!HHHHHH", hdr_id, rd, 2, 0, 0, 0) + question + question
    elif kind == "badlabel":   # label length 64 (over 63)
        wire = struct.pack("!HHHHHH", hdr_id, rd, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"
    elif kind == "truncated":  # question cut in the middle
        wire = struct.pack("!HHHHHH", hdr_id, rd, 1, 0, 0, 0) + b"\x03www\x04fu"
    elif kind == "loop":       # compression pointer to itself
        wire = struct.pack("!HHHHHH", hdr_id, rd, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"
    elif kind == "twoopt":
        qe = dns.message.make_query("www.func.test", "A", use_edns=0).to_wire()
        opt = qe[-11:]
        wire = struct.pack("!HHHHHH", hdr_id, rd, 1, 0, 0, 2) + question + opt + opt
        echo = question
    else:
        raise SystemExit("unknown kind " + kind)
    got = udp_exchange(addr, port, wire)
    if got is None:
        print("%s: no answer" % kind)
        return False
    want = struct.pack("!HHHHHH", hdr_id, 0x8000 | rd | 1, 1 if echo else 0, 0, 0, 0) + echo
    print("%s: reply %s" % (kind, got.hex()))
    if got != want:
        print("%s: want  %s" % (kind, want.hex()))
        return False
    return True


def cmd_tc_content(addr, port):
    """A reply with TC=1 holds the question only (RFC 2181 9: the client
    retries over TCP and must not use a part): a query without EDNS for a
    CNAME whose target's TXT set does not fit in 512 bytes, where the CNAME
    itself would fit."""
    q = dns.message.make_query("bigalias.func.test", "TXT", use_edns=False)
    q.flags |= dns.flags.RD
    wire = q.to_wire()
    got = udp_exchange(addr, port, wire)
    if got is None:
        print("no answer")
        return False
    # ID, flags QR AA TC RD, NOERROR, the question and nothing else.
    want = wire[:2] + struct.pack("!HHHHH", 0x8000 | 0x0400 | 0x0200 | 0x0100, 1, 0, 0, 0) + wire[12:]
    print("TC reply %s" % got.hex())
    if got != want:
        print("want     %s" % want.hex())
        return False
    # Over TCP the whole chain arrives.
    r = dns.message.from_wire(dnsutil.tcp_ask((addr, port), wire))
    n = sum(len(rs) for rs in r.answer)
    print("over TCP: %d answer RRs, TC=%d" % (n, bool(r.flags & dns.flags.TC)))
    return n == 11 and not r.flags & dns.flags.TC


def cmd_payload(addr, port):
    """The client's EDNS payload size bounds the UDP reply (RFC 6891 6.2.3,
    6.2.5): a TXT set of about 1100 bytes is truncated for 600 and for 100
    (read as 512), whole for 1232; the server's own maximum (1232) caps 4096
    (a set of about 3000 bytes is truncated). A truncated reply keeps the
    question and the OPT record only."""
    ok = True
    for size, name, tc in ((600, "big", True), (100, "big", True), (1232, "big", False),
                           (4096, "big", False), (4096, "huge", True)):
        q = dns.message.make_query(name + ".func.test", "TXT", use_edns=0, payload=size)
        wire = q.to_wire()
        got = udp_exchange(addr, port, wire)
        if got is None:
            print("payload %d %s: no answer" % (size, name))
            ok = False
            continue
        r = dns.message.from_wire(got)
        is_tc = bool(r.flags & dns.flags.TC)
        n = sum(len(rs) for rs in r.answer)
        good = is_tc == tc and len(got) <= max(size, 512)
        if tc:
            good = good and n == 0 and not r.authority and not r.additional and r.edns == 0
        else:
            good = good and n in (10, 28)
        print("payload %d %s: %d bytes, TC=%d, %d answer RRs%s" %
              (size, name, len(got), is_tc, n, "" if good else "  WRONG"))
        ok = ok and good
    return ok


def cmd_any(addr, port):
    """RFC 8482 4.1: ANY is answered with one RRset, as NSD picks it: the SOA
    at the apex, else the first of A, AAAA, SOA, MX, PTR (here the A RRset of
    a name with A and AAAA), over UDP and TCP."""
    ok = True
    for name, want in (("func.test", "SOA"), ("www.func.test", "A"), ("mail.func.test", "A")):
        for tcp in (False, True):
            wire = dns.message.make_query(name, "ANY").to_wire()
            raw = dnsutil.ask((addr, port), wire, tcp)
            r = dns.message.from_wire(raw) if raw else None
            types = [dns.rdatatype.to_text(rs.rdtype) for rs in r.answer] if r else None
            good = types == [want]
            print("%s ANY (%s): %s%s" % (name, "tcp" if tcp else "udp", types, "" if good else
                                          "  want [%s]" % want))
            ok = ok and good
    return ok


def cmd_caseecho(addr, port):
    """The question name comes back byte for byte, letter case included."""
    q = dns.message.make_query("MiXeD.FuNc.TeSt", "A")
    wire = q.to_wire()
    ok = True
    for tp in ("udp", "tcp"):
        if tp == "udp":
            got = udp_exchange(addr, port, wire)
        else:
            got = dnsutil.tcp_ask((addr, port), wire)
        qlen = len(wire) - 12
        same = got is not None and got[12:12 + qlen] == wire[12:]
        r = dns.message.from_wire(got) if got else None
        ans = r is not None and len(r.answer) == 1 and r.answer[0][0].address == "192.0.2.90"
        print("%s: question echoed exactly: %s, answer: %s" % (tp, same, ans))
        ok = ok and same and ans
    return ok


def cmd_tcpcache(addr, port):
    """Over TCP a query gets the bytes UDP gives it (the answer cache serves
    both): each question is asked over UDP from 16 sockets (SO_REUSEPORT
    spreads them over the workers, whose caches they fill), then over TCP.
    A query without EDNS whose MX targets' addresses do not all fit in 512
    bytes gets over UDP an answer with some left out (TC=0), which the cache
    keeps; over TCP it must get all of them."""
    ok = True
    cases = [("www.func.test", "A", 0), ("www.func.test", "A", -1),
             ("nx.func.test", "A", 0), ("alias.func.test", "A", -1),
             ("MiXeD.FuNc.TeSt", "A", 0), ("func.test", "MX", -1)]
    for name, qtype, edns in cases:
        q = dns.message.make_query(name, qtype, use_edns=edns)
        q.id = 4242
        wire = q.to_wire()
        udp = set()
        for _ in range(16):
            got = udp_exchange(addr, port, wire)
            udp.add(got)
        tcp = [dnsutil.tcp_ask((addr, port), wire) for _ in range(3)]
        good = len(udp) == 1 and None not in udp and all(t == next(iter(udp)) for t in tcp)
        print("%s %s edns=%d: %d distinct UDP answers, TCP %s" %
              (name, qtype, edns, len(udp), "the same bytes" if good else "DIFFERENT"))
        ok = ok and good
    q = dns.message.make_query("manymx.func.test", "MX", use_edns=False)
    wire = q.to_wire()
    small = [udp_exchange(addr, port, wire) for _ in range(16)]
    if None in small:
        print("manymx over UDP: no answer")
        return False
    u = dns.message.from_wire(small[0])
    t = dns.message.from_wire(dnsutil.tcp_ask((addr, port), wire))
    ua = sum(len(rs) for rs in u.additional)
    ta = sum(len(rs) for rs in t.additional)
    tn = sum(len(rs) for rs in t.answer)
    good = (max(len(w) for w in small) <= 512 and not u.flags & dns.flags.TC and ua < 24 and
            tn == 12 and ta >= 24 and not t.flags & dns.flags.TC)
    print("manymx MX without EDNS: UDP %d bytes, %d additional; TCP %d answer, %d additional%s" %
          (len(small[0]), ua, tn, ta, "" if good else "  WRONG"))
    return ok and good


def cmd_metrics(addr, port):
    """The Prometheus endpoint serves the query counters."""
    import urllib.request
    host = "[%s]" % addr if ":" in addr else addr
    body = urllib.request.urlopen("http://%s:%d/metrics" % (host, port), timeout=3).read().decode()
    print(body.splitlines()[:4])
    import re
    m = re.search(r'anyns_queries_total\{transport="udp"\} (\d+)', body)
    return m is not None and int(m.group(1)) > 0 and "anyns_responses_total" in body


def cmd_garbage(addr, port, count):
    """Random datagrams and random TCP streams (cut anywhere, closed abruptly):
    the server survives and still answers. Seeded, so a failure repeats."""
    import random
    rng = random.Random(4242)
    count = int(count)
    u = socket.socket(dnsutil.family(addr), socket.SOCK_DGRAM)
    base = dns.message.make_query("www.func.test", "A", use_edns=0).to_wire()
    for i in range(count):
        if i % 2:
            pkt = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        else:  # a real query with a few bytes flipped, cut or extended
            b = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            b = b[:rng.randrange(1, len(b) + 1)] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 4)))
            pkt = bytes(b)
        u.sendto(pkt, (addr, port))
    u.close()
    for i in range(count // 20):
        s = tcp_connect(addr, port)
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        if i % 3 == 0:
            data = frame(base) + data
        try:
            s.sendall(data)
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()
    time.sleep(0.3)
    got = udp_exchange(addr, port, base)
    print("%d random datagrams, %d random TCP streams; then a query is %s" %
          (count, count // 20, "answered" if got else "NOT answered"))
    return got is not None


def cmd_qr1(addr, port):
    """A packet with QR=1 is dropped (no reply), and the server still answers."""
    q = dns.message.make_query("www.func.test", "A")
    wire = bytearray(q.to_wire())
    wire[2] |= 0x80
    got = udp_exchange(addr, port, bytes(wire), timeout=1.0)
    ok = got is None
    after = udp_exchange(addr, port, q.to_wire())
    print("QR=1: %s; next query %s" % ("dropped" if ok else "answered!", "answered" if after else "lost"))
    return ok and after is not None


def cmd_reload_load(addr, port, pid, count, hups):
    """count queries one after another while SIGHUP is sent hups times: every one
    must be answered (no query lost during a reload)."""
    pid, count, hups = int(pid), int(count), int(hups)
    s = socket.socket(dnsutil.family(addr), socket.SOCK_DGRAM)
    s.settimeout(2.0)
    s.connect((addr, port))
    lost = 0
    every = max(1, count // (hups + 1))
    deadline = time.monotonic() + 60
    for i in range(count):
        if i % every == every // 2 and hups > 0:
            os.kill(pid, signal.SIGHUP)
            hups -= 1
        q = dns.message.make_query("www.func.test", "A")
        q.id = i & 0xFFFF
        s.send(q.to_wire())
        try:
            while True:
                r = dns.message.from_wire(s.recv(4096))
                if r.id == q.id:
                    break
            if r.rcode() != 0 or not r.answer:
                lost += 1
        except socket.timeout:
            lost += 1
        if time.monotonic() > deadline:
            print("too slow, stopped at", i)
            return False
    print("%d queries during reloads, %d lost or wrong" % (count, lost))
    return lost == 0


def main():
    cmd, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = sys.argv[4:]
    fn = {
        "pipeline": cmd_pipeline, "batched": cmd_batched, "termflush": cmd_termflush, "slowreader": cmd_slowreader, "backpressure": cmd_backpressure, "split": cmd_split, "reflect": cmd_reflect, "axfr-after-udp": cmd_axfr_after_udp, "idle": cmd_idle,
        "connlimit": cmd_connlimit, "opcode": cmd_opcode, "formerr": cmd_formerr,
        "tc-content": cmd_tc_content, "payload": cmd_payload, "any": cmd_any,
        "qr1": cmd_qr1, "garbage": cmd_garbage, "caseecho": cmd_caseecho, "tcpcache": cmd_tcpcache, "metrics": cmd_metrics, "reload-load": cmd_reload_load,
    }[cmd]
    try:
        ok = fn(addr, port, *args)
    except Exception as e:  # a crash of the check is a failure, with the reason
        print("error: %r" % (e,))
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
