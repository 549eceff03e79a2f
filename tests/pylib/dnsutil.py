"""DNS over the wire for the test and benchmark scripts: send a query in wire
form over UDP or TCP and read the reply, with bounded waits. Run with
/usr/bin/python3 (Debian's, with dnspython); import with

    sys.path.insert(0, os.path.join(ROOT, "tests", "pylib")); import dnsutil

Every function takes the server as (address, port); an address with a colon
is IPv6. Replies are returned as bytes (parse them with dns.message.from_wire)
or None when nothing came within the timeout."""
import socket
import struct


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def frame(wire):
    """A message with its RFC 1035 4.2.2 two-byte length prefix (TCP)."""
    return struct.pack("!H", len(wire)) + wire


def recv_exact(s, n):
    """n bytes from a stream socket; EOFError when the peer closes first."""
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def tcp_read(s):
    """One length-prefixed message from a TCP connection, as bytes."""
    (ln,) = struct.unpack("!H", recv_exact(s, 2))
    return recv_exact(s, ln)


def tcp_connect(server, timeout=3.0):
    s = socket.socket(family(server[0]), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(server)
    except OSError:
        s.close()
        raise
    return s


def udp_ask(server, wire, timeout=2.0, tries=1):
    """Sends wire over UDP and returns the first datagram that carries its ID
    (stray datagrams are ignored), or None after `tries` timeouts."""
    for _ in range(tries):
        with socket.socket(family(server[0]), socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            try:
                s.connect(server)
                s.send(wire)
                while True:
                    data = s.recv(65535)
                    if len(data) >= 2 and data[:2] == wire[:2]:
                        return data
            except OSError:
                continue
    return None


def tcp_ask(server, wire, timeout=2.0, tries=1):
    """Sends wire on a new TCP connection and returns the reply, or None when
    the connection fails, closes or times out `tries` times."""
    for _ in range(tries):
        try:
            with tcp_connect(server, timeout) as s:
                s.sendall(frame(wire))
                return tcp_read(s)
        except (socket.timeout, EOFError, OSError):
            continue
    return None


def ask(server, wire, tcp=False, timeout=2.0, tries=1):
    return (tcp_ask if tcp else udp_ask)(server, wire, timeout, tries)


def header(wire):
    """(id, flags, qdcount, ancount, nscount, arcount) of a message."""
    return struct.unpack("!HHHHHH", wire[:12])
