#!/usr/bin/python3
"""The reference peers the tests and the benchmark run beside anynsd: NSD and
Knot DNS (authoritative servers), BIRD 2 and ExaBGP (BGP speakers).

One place writes their configurations and starts and stops them. Python code
imports it (sys.path gets tests/pylib); shell suites call it as a program:

  peers.py nsd-config  --dir D [--listen ADDR[@PORT]]... [--port P] --zone ORIGIN=FILE...
  peers.py knot-config --dir D [--listen ADDR[@PORT]]... [--port P] --zone ORIGIN=FILE...
      [--workers N] [--identity ID] [--nsid ID] [--hide-version] [--verbosity N]
      [--server-option 'KEY: VALUE']... [--zone-option 'ORIGIN:KEY: VALUE']...
      [--key ID:ALGORITHM:SECRET]... [--remote ID=ADDR@PORT[,via=ADDR][,key=ID]]...
      [--acl ID=ACTION[,key=ID][,address=ADDR]]... [--template-option 'KEY: VALUE']...
      writes D/nsd.conf or D/knot.conf and prints its path (--remote, --acl and
      --template-option are Knot's; NSD's zones name remotes in their options)
  peers.py bird-config --dir D --router-id ID [--name N] [--include FILE]... < PROTOCOLS
      writes D/N.conf (default N: bird) with the protocols read from stdin, prints its path
  peers.py argv nsd|knot|bird|exabgp CONF
      prints the command line that runs the peer in the foreground, one word a line
  peers.py start nsd|knot|bird|exabgp|cmd --dir D [--conf FILE] [--netns NS] [--cpus LIST]
      [-- ARGV...]
      starts the program in its own session (logs to D/<name>.log) and prints its PID
  peers.py stop PID...
      SIGTERM to each PID's process group (NSD and ExaBGP fork), SIGKILL after 10 s

Every DNS server gets the settings its documentation gives for serving
under load, the same for every use: rate limiting off (NSD rrl-ratelimit: 0
and rrl-whitelist-ratelimit: 0; Knot without the rrl module), zones read whole
from their files with no database or journal (NSD database: "", Knot
journal-content: none, zonefile-load: whole, zonefile-sync: -1), N workers
(NSD server-count with reuseport when N > 1; Knot udp-workers and tcp-workers,
tcp-reuseport), TCP room for at least TCP_CLIENTS connections per worker.
Knot's file is block-style YAML (its parser takes no flow mappings).
Zone transfer tests override what they need: TSIG keys, Knot remotes and
acls, template items (a journal for IXFR) and zone options.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

# TCP connections each server worker must accept at once (the benchmark's TCP
# row opens 100; NSD's default tcp-count is exactly 100).
TCP_CLIENTS = 256
# Receive buffer of the query sockets, the size anynsd asks for itself: under
# load a server must not lose queries to a smaller kernel default.
RCVBUF = 4 << 20


def _listen(listen, port):
    """[(addr, port)] from 'ADDR', 'ADDR@PORT' or (addr, port) items; port
    applies to items without one; 127.0.0.1 when there are none."""
    out = []
    for item in listen or ["127.0.0.1"]:
        if isinstance(item, tuple):
            out.append(item)
            continue
        addr, _, p = item.partition("@")
        out.append((addr, int(p) if p else port))
    return out


def _zones(zones):
    """[(origin, absolute file)] from 'ORIGIN=FILE' or (origin, file) items."""
    out = []
    for z in zones:
        origin, file = z if isinstance(z, tuple) else z.split("=", 1)
        out.append((origin.rstrip(".") or ".", os.path.abspath(file)))
    return out


def _q(s):
    return '"%s"' % s


def _keys(keys):
    """[(id, algorithm, secret)] from 'ID:ALGORITHM:SECRET' or tuple items."""
    return [k if isinstance(k, tuple) else tuple(k.split(":", 2)) for k in keys]


def _fields(item):
    """'ID=VALUE,k=v,...' -> (ID, VALUE, {k: v})."""
    head, *rest = item.split(",")
    ident, _, value = head.partition("=")
    return ident, value, dict(r.split("=", 1) for r in rest)


def nsd_config(d, zones, listen=None, port=None, workers=1, identity=None, nsid=None,
               hide_version=False, verbosity=0, server_options=(), zone_options=None,
               extra="", keys=()):
    """Writes d/nsd.conf and returns its path. zones: ORIGIN=FILE items;
    listen: ADDR or ADDR@PORT items (port fills those without one);
    server_options: 'key: value' lines; zone_options: {origin: [lines]};
    extra: text appended as is (pattern: clauses); keys: TSIG keys
    ('ID:ALGORITHM:SECRET'). NSD's state files
    (zone list, xfrd state, pid file) live in d and are cleared first, so a
    restart starts from the configuration alone."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    for stale in ("zone.list", "xfrd.state", "nsd.pid"):
        try:
            os.unlink(os.path.join(d, stale))
        except FileNotFoundError:
            pass
    lines = ["server:"]
    for addr, p in _listen(listen, port):
        lines.append("  ip-address: %s" % (addr if p is None else "%s@%d" % (addr, p)))
    lines += ["  server-count: %d" % workers,
              "  reuseport: %s" % ("yes" if workers > 1 else "no"),
              "  tcp-count: %d" % TCP_CLIENTS,
              "  receive-buffer-size: %d" % RCVBUF,
              "  rrl-ratelimit: 0",
              "  rrl-whitelist-ratelimit: 0",
              '  database: ""',
              "  zonelistfile: %s" % _q(d + "/zone.list"),
              "  xfrdfile: %s" % _q(d + "/xfrd.state"),
              "  xfrdir: %s" % _q(d),
              "  pidfile: %s" % _q(d + "/nsd.pid"),
              "  logfile: %s" % _q(d + "/nsd.log"),
              '  username: ""',
              '  chroot: ""',
              "  zonesdir: %s" % _q(d),
              "  verbosity: %d" % verbosity]
    if identity is not None:
        lines += ["  identity: %s" % _q(identity), "  hide-identity: no"]
    if nsid is not None:
        lines.append("  nsid: %s" % _q("ascii_" + nsid))
    if hide_version:
        lines.append("  hide-version: yes")
    lines += ["  " + o for o in server_options]
    lines += ["remote-control:", "  control-enable: no"]
    for kid, alg, secret in _keys(keys):
        lines += ["key:", "  name: %s" % kid, "  algorithm: %s" % alg, "  secret: %s" % _q(secret)]
    for origin, file in _zones(zones):
        lines += ["zone:", "  name: %s" % origin, "  zonefile: %s" % _q(file)]
        lines += ["  " + o for o in (zone_options or {}).get(origin, [])]
    path = os.path.join(d, "nsd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + (extra.rstrip() + "\n" if extra else ""))
    return path


def nsd_argv(conf):
    return ["nsd", "-d", "-c", conf]


def nsd_reload(conf_dir):
    """Reloads the zones: NSD's main process re-forks its servers on SIGHUP;
    the pid file names the current one."""
    with open(os.path.join(conf_dir, "nsd.pid")) as f:
        os.kill(int(f.read().strip()), signal.SIGHUP)


def knot_config(d, zones, listen=None, port=None, workers=1, identity=None, nsid=None,
                hide_version=False, verbosity=0, server_options=(), zone_options=None,
                extra="", keys=(), remotes=(), acls=(), template_options=()):
    """Writes d/knot.conf (block-style YAML) and returns its path. Arguments as
    for nsd_config; zone_options lines go into the zone's list item, extra
    before the template. verbosity 0 logs warnings, 1 and more info.
    keys: 'ID:ALGORITHM:SECRET'; remotes: 'ID=ADDR@PORT[,via=ADDR][,key=ID]';
    acls: 'ID=ACTION[,key=ID][,address=ADDR]'; template_options: 'KEY: VALUE'
    lines that replace the template's item of that key or are added to it."""
    d = os.path.abspath(d)
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    addrs = ["%s@%d" % (a, p if p is not None else 53) for a, p in _listen(listen, port)]
    lines = ["server:",
             "    rundir: %s" % _q(d),
             "    listen: %s" % (addrs[0] if len(addrs) == 1 else "[ %s ]" % ", ".join(addrs)),
             "    udp-workers: %d" % workers,
             "    tcp-workers: %d" % workers,
             "    tcp-reuseport: on",
             "    tcp-max-clients: %d" % (TCP_CLIENTS * workers),
             "    background-workers: 1"]
    if identity is not None:
        lines.append("    identity: %s" % _q(identity))
    if nsid is not None:
        lines.append("    nsid: %s" % _q(nsid))
    if hide_version:
        lines.append('    version: ""')
    lines += ["    " + o for o in server_options]
    lines += ["database:",
              "    storage: %s" % _q(d + "/db"),
              "log:",
              "  - target: stderr",
              "    any: %s" % ("info" if verbosity > 0 else "warning"),
              "control:",
              "    listen: %s" % _q(d + "/knot.sock")]
    sections = (("key", [[("id", k), ("algorithm", a), ("secret", sec)]
                         for k, a, sec in _keys(keys)]),
                ("remote", [[("id", i), ("address", v)] + sorted(o.items())
                            for i, v, o in map(_fields, remotes)]),
                ("acl", [[("id", i), ("action", v)] + sorted(o.items())
                         for i, v, o in map(_fields, acls)]))
    for name, items in sections:
        if items:
            lines.append(name + ":")
        for item in items:
            for n, (k, v) in enumerate(item):
                lines.append("%s%s: %s" % ("  - " if n == 0 else "    ", k, v))
    if extra:
        lines.append(extra.rstrip())
    # No module rrl: rate limiting off. Zones read whole from their files,
    # never written back, no journal: no work the other servers do not do.
    tmpl = [["storage", _q(d)], ["zonefile-sync", "-1"], ["zonefile-load", "whole"],
            ["journal-content", "none"], ["semantic-checks", "off"]]
    for o in template_options:
        k, _, v = o.partition(":")
        for t in tmpl:
            if t[0] == k.strip():
                t[1] = v.strip()
                break
        else:
            tmpl.append([k.strip(), v.strip()])
    lines += ["template:", "  - id: default"]
    lines += ["    %s: %s" % (k, v) for k, v in tmpl]
    lines.append("zone:")
    for origin, file in _zones(zones):
        lines += ["  - domain: %s" % origin, "    file: %s" % _q(file)]
        lines += ["    " + o for o in (zone_options or {}).get(origin, [])]
    path = os.path.join(d, "knot.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def knot_argv(conf):
    return ["knotd", "-c", conf]


def knot_reload(conf, origin=None):
    """Reloads one zone (or all) through knotc; True when knotc succeeded."""
    argv = ["knotc", "-c", conf, "zone-reload"] + ([origin] if origin else [])
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=10).returncode == 0


def bird_config(d, router_id, protocols="", includes=(), name="bird"):
    """Writes d/NAME.conf for BIRD 2: router id, everything logged to
    d/NAME.log, the device protocol (interfaces rescanned every second),
    include lines and the protocols text as is. Returns its path; bird_argv
    runs it in the foreground with the control socket d/NAME.ctl."""
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    lines = ["router id %s;" % router_id,
             "log %s all;" % _q(os.path.join(d, name + ".log")),
             "protocol device { scan time 1; }"]
    lines += ["include %s;" % _q(os.path.abspath(i)) for i in includes]
    path = os.path.join(d, name + ".conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + protocols.rstrip() + "\n")
    return path


def bird_argv(conf):
    base = os.path.splitext(conf)[0]
    return ["bird", "-f", "-c", conf, "-s", base + ".ctl", "-P", base + ".pid"]


def exabgp_argv(conf):
    """ExaBGP in the foreground as the current user, logging to NAME.log beside
    its configuration, with no CLI pipes and no listening socket of its own,
    acknowledging each API command (the hook waits for "done")."""
    log = os.path.splitext(conf)[0] + ".log"
    return ["env", "exabgp.daemon.user=root", "exabgp.daemon.daemonize=false",
            "exabgp.daemon.pid=", "exabgp.daemon.drop=false", "exabgp.log.destination=" + log,
            "exabgp.api.cli=false", "exabgp.api.ack=true", "exabgp.tcp.bind=",
            "exabgp", conf]


ARGV = {"nsd": (nsd_argv, "nsd.conf"), "knot": (knot_argv, "knot.conf"),
        "bird": (bird_argv, "bird.conf"), "exabgp": (exabgp_argv, "exabgp.conf")}


def start(argv, logpath, netns=None, cpus=None, env=None):
    """Starts argv in a session of its own (so every process it forks can be
    found and stopped through it), optionally inside a network namespace and
    pinned to cpus (a taskset list). Output goes to logpath. Returns the
    Popen; its pid is the session's and the process group's id."""
    if cpus:
        argv = ["taskset", "-c", cpus] + argv
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    with open(logpath, "ab") as lf:
        return subprocess.Popen(argv, stdout=lf, stderr=lf, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)


def session_pids(sid):
    """Pids of every process of the session sid (a started peer and its forks)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # stat fields 3 and 6: state and session; a zombie is gone already.
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(d))
    return pids


def stop(pid, timeout=10.0, proc=None):
    """SIGTERM to the session started as pid, then waits until every process
    of it is gone, SIGKILL after timeout seconds. proc: its Popen, reaped."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            proc.poll()
        if not session_pids(pid):
            break
        time.sleep(0.05)
    else:
        for p in session_pids(pid):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if proc is not None:
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


def _main(args):
    ap = argparse.ArgumentParser(prog="peers.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for kind in ("nsd", "knot"):
        c = sub.add_parser(kind + "-config")
        c.add_argument("--dir", required=True)
        c.add_argument("--listen", action="append", default=[])
        c.add_argument("--port", type=int)
        c.add_argument("--zone", action="append", default=[], required=True)
        c.add_argument("--workers", type=int, default=1)
        c.add_argument("--identity")
        c.add_argument("--nsid")
        c.add_argument("--hide-version", action="store_true")
        c.add_argument("--verbosity", type=int, default=0)
        c.add_argument("--server-option", action="append", default=[])
        c.add_argument("--zone-option", action="append", default=[],
                       help="ORIGIN:LINE, a line for that zone's clause")
        c.add_argument("--extra", default="", help="text appended as is")
        c.add_argument("--key", action="append", default=[], help="ID:ALGORITHM:SECRET")
        if kind == "knot":
            c.add_argument("--remote", action="append", default=[],
                           help="ID=ADDR@PORT[,via=ADDR][,key=ID]")
            c.add_argument("--acl", action="append", default=[],
                           help="ID=ACTION[,key=ID][,address=ADDR]")
            c.add_argument("--template-option", action="append", default=[],
                           help="'KEY: VALUE', replacing the template's item")
    c = sub.add_parser("bird-config")
    c.add_argument("--dir", required=True)
    c.add_argument("--router-id", required=True)
    c.add_argument("--name", default="bird")
    c.add_argument("--include", action="append", default=[])
    v = sub.add_parser("argv")
    v.add_argument("kind", choices=sorted(ARGV))
    v.add_argument("conf")
    s = sub.add_parser("start")
    s.add_argument("kind", choices=sorted(ARGV) + ["cmd"])
    s.add_argument("--dir", required=True)
    s.add_argument("--conf")
    s.add_argument("--netns")
    s.add_argument("--cpus")
    s.add_argument("--log")
    s.add_argument("argv", nargs="*")
    k = sub.add_parser("stop")
    k.add_argument("pid", type=int, nargs="+")
    k.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args(args)
    if a.cmd in ("nsd-config", "knot-config"):
        zopt = {}
        for z in a.zone_option:
            origin, _, line = z.partition(":")
            zopt.setdefault(origin.rstrip(".") or ".", []).append(line.strip())
        kw = {}
        if a.cmd == "knot-config":
            kw = dict(remotes=a.remote, acls=a.acl, template_options=a.template_option)
        fn = nsd_config if a.cmd == "nsd-config" else knot_config
        print(fn(a.dir, a.zone, listen=a.listen, port=a.port, workers=a.workers,
                 identity=a.identity, nsid=a.nsid, hide_version=a.hide_version,
                 verbosity=a.verbosity, server_options=a.server_option, zone_options=zopt,
                 extra=a.extra, keys=a.key, **kw))
        return 0
    if a.cmd == "bird-config":
        print(bird_config(a.dir, a.router_id, sys.stdin.read(), a.include, a.name))
        return 0
    if a.cmd == "argv":
        print("\n".join(ARGV[a.kind][0](os.path.abspath(a.conf))))
        return 0
    if a.cmd == "start":
        d = os.path.abspath(a.dir)
        os.makedirs(d, exist_ok=True)
        if a.kind == "cmd":
            if not a.argv:
                ap.error("start cmd: the command goes after --")
            argv, name = a.argv, os.path.basename(a.argv[0])
        else:
            fn, conf = ARGV[a.kind]
            argv, name = fn(os.path.abspath(a.conf or os.path.join(d, conf))) + a.argv, a.kind
        p = start(argv, a.log or os.path.join(d, name + ".log"), netns=a.netns, cpus=a.cpus)
        print(p.pid)
        return 0
    for pid in a.pid:
        stop(pid, a.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
