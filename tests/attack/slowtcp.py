#!/usr/bin/python3
"""Slow TCP clients against 127.0.0.1:PORT.

  slowtcp.py PORT trickle
      one connection sends a query one byte a second; prints the seconds
      until the server closed it (at most 15)
  slowtcp.py PORT flood SECONDS PER_SOURCE SOURCES...
      from each source address, PER_SOURCE connections that trickle one byte
      a second and are opened again (once a second) when closed, for SECONDS; prints the most
      connections the server held open at once from the first source"""
import select
import socket
import struct
import sys
import time

QUERY = struct.pack("!HHHHHH", 7, 0, 1, 0, 0, 0) + b"\x03www\x04test\x00\x00\x01\x00\x01"
MSG = struct.pack("!H", len(QUERY)) + QUERY


def connect(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.bind((src, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def closed_by_peer(s):
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(512) == b""
    except (ConnectionResetError, BlockingIOError, OSError):
        return True


def trickle(port):
    s = connect("127.0.0.3", port)
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < 15:
        if closed_by_peer(s):
            print("%.1f" % (time.monotonic() - start))
            return 0
        try:
            s.send(MSG[sent % (len(MSG) - 1):sent % (len(MSG) - 1) + 1])
        except (BlockingIOError, OSError):
            pass
        sent += 1
        time.sleep(0.25 if sent == 1 else 1.0)
    print("15.0")
    return 0


def flood(port, seconds, per_source, sources):
    conns = {src: [None] * per_source for src in sources}
    sent = {}
    most_first = 0
    end = time.monotonic() + seconds
    next_byte = 0.0
    while time.monotonic() < end:
        now = time.monotonic()
        tick = now >= next_byte
        if tick:
            next_byte = now + 1.0
        for src, lst in conns.items():
            for i, s in enumerate(lst):
                if s is not None and closed_by_peer(s):
                    s.close()
                    s = lst[i] = None
                if s is None and not tick:
                    continue
                if s is None:
                    try:
                        s = connect(src, port)
                    except OSError:
                        s = None
                    lst[i] = s
                    if s is not None:
                        sent[s] = 0
                    continue
                if tick:
                    n = sent.get(s, 0)
                    try:
                        s.send(MSG[n % (len(MSG) - 1):n % (len(MSG) - 1) + 1])
                        sent[s] = n + 1
                    except (BlockingIOError, OSError):
                        pass
        time.sleep(0.05)
        # Connections of the first source the server still holds open.
        first = [s for s in conns[sources[0]] if s is not None]
        open_now = sum(1 for s in first if not closed_by_peer(s))
        most_first = max(most_first, open_now)
    for lst in conns.values():
        for s in lst:
            if s is not None:
                s.close()
    print(most_first)
    return 0


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "trickle":
        return trickle(port)
    return flood(port, float(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])


if __name__ == "__main__":
    sys.exit(main())
