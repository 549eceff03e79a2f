#!/usr/bin/python3
"""IXFR benchmark: a one-record change to a large zone, the time from the
primary's NOTIFY to the new serial being served, for anynsd, NSD and Knot DNS
as secondaries of the same Knot DNS primary (bench/README.md).

Run by `make bench` after bench.py (or alone: B=build /usr/bin/python3
bench/xfr.py). Environment:
  B=build          build directory holding anynsd
  XFR_RECORDS      zone size in records (default 1000000)
  XFR_REPS         repetitions (default 5)
  XFR_SERVERS      comma list, default "anynsd,nsd,knot"
  XFR_KNOT_OPTIONS template lines for the Knot secondary, ';' between them
                   (e.g. "journal-content: changes"; 3.2 gives the same times)

The primary (Knot, journal of changes) loads the zone; each secondary takes
it by AXFR. Each repetition adds one A record on the primary (knotc
zone-begin/zone-set/zone-commit, the serial goes up by one), waits until the
primary serves it, then for each secondary in turn (order rotated) sends the
NOTIFY the primary would send (from the primary's address, with the new SOA)
and polls the secondary's SOA over UDP every millisecond until the new serial
comes back: that time is the figure. One secondary at a time, so that they do
not compete for the CPU. The medians with their spread (min..max) go to
bench/results/xfr.md and xfr.csv; the servers' logs to build/bench/xfr/.
Latency to serve is not CPU-bound: the run needs no quiet machine, but a
busy one stretches every server's figure alike.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import time

import benchlib as bl
import dnsutil  # tests/pylib, on the path through benchlib
import peers

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype

ROOT = bl.ROOT
BIN = bl.bin_dir()
RES = os.path.join(ROOT, "bench", "results")
RUN = os.path.join(BIN, "bench", "xfr")
ORIGIN = "xfr.example"
RECORDS = int(os.environ.get("XFR_RECORDS", "1000000"))
REPS = int(os.environ.get("XFR_REPS", "5"))
SERVERS = [s for s in os.environ.get("XFR_SERVERS", "anynsd,nsd,knot").split(",") if s]
LOAD_LIMIT = 600     # seconds for the primary's load and each AXFR
SERVE_LIMIT = 120    # seconds for one change to be served


def log(msg):
    print("bench-xfr: " + msg, flush=True)


# ---- DNS helpers ------------------------------------------------------------------

def soa(port, timeout=0.2):
    """The SOA the server at 127.0.0.1:port answers (an RRset), or None."""
    q = dns.message.make_query(ORIGIN + ".", "SOA")
    data = dnsutil.udp_ask(("127.0.0.1", port), q.to_wire(), timeout)
    try:
        r = dns.message.from_wire(data) if data else None
    except Exception:  # noqa: BLE001 (a malformed reply counts as none)
        return None
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset
    return None


def serial(port, timeout=0.2):
    s = soa(port, timeout)
    return s[0].serial if s is not None else None


def wait_serial(port, want, limit, proc=None, step=0.001):
    """Seconds (monotonic) at which the server first answers serial `want`,
    or None after `limit` seconds (or when proc exits)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if serial(port) == want:
            return time.monotonic()
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(step)
    return None


def notify(port, soa_rrset):
    """Sends the NOTIFY a primary sends (RFC 1996: opcode NOTIFY, AA, the
    new SOA in the answer section) from 127.0.0.1; returns when it is sent."""
    q = dns.message.make_query(ORIGIN + ".", "SOA")
    q.flags = dns.flags.AA          # dnspython keeps the opcode in flags: set it after
    q.set_opcode(dns.opcode.NOTIFY)
    q.answer.append(soa_rrset)
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.sendto(q.to_wire(), ("127.0.0.1", port))
    finally:
        s.close()


# ---- the servers ------------------------------------------------------------------------

class Primary(bl.Knot):
    """Knot DNS serving the zone with a journal of changes, transfers to
    127.0.0.1, no NOTIFY of its own (the benchmark sends them)."""
    name = "primary"
    label = "Knot DNS (primary)"

    def argv(self, zones, port):
        shutil.rmtree(os.path.join(self.dir, "db"), ignore_errors=True)
        self.conf = peers.knot_config(
            self.dir, zones, listen=["%s@%d" % (self.addr, port)], workers=1, verbosity=1,
            acls=["xfr=transfer,address=127.0.0.1"],
            template_options=["journal-content: changes", "acl: xfr"])
        return peers.knot_argv(self.conf)

    def knotc(self, *args):
        subprocess.run(["knotc", "-c", self.conf] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def add(self, owner, rdata):
        """One record added through a control transaction."""
        self.knotc("zone-begin", ORIGIN)
        self.knotc("zone-set", ORIGIN, owner, "300", "A", rdata)
        self.knotc("zone-commit", ORIGIN)


class AnynsdSecondary(bl.Anynsd):
    name = "anynsd"
    label = "anynsd"

    def argv(self, zones, port):
        conf = os.path.join(self.dir, "anynsd.yaml")
        with open(conf, "w") as f:
            f.write("server:\n  listen: %s:%d\n  workers: %d\n"
                    "remotes:\n  - id: primary\n    address: 127.0.0.1:%d\n"
                    "zones:\n  - origin: %s\n    primaries: [primary]\n"
                    % (self.addr, port, self.workers, PRIMARY_PORT, ORIGIN))
        argv = [self.program, "-c", conf, "-l", "info"]
        if os.geteuid() == 0:
            argv += ["--user", "root"]
        return argv

    def applied(self, want):
        """What anynsd logged about applying serial `want`."""
        try:
            with open(self.logpath, errors="replace") as f:
                for line in f:
                    if "ixfr-applied" in line and (" serial=%d " % want) in line:
                        m = re.search(r"mode=(\w+).*?(?:names=(\d+) )?apply_us=(\d+) "
                                      r"served_us=(\d+)", line)
                        if m:
                            return m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        except OSError:
            pass
        return None


class NsdSecondary(bl.Nsd):
    def argv(self, zones, port):
        self.conf = peers.nsd_config(
            self.dir, ["%s=%s" % (ORIGIN, os.path.join(self.dir, ORIGIN + ".zone"))],
            listen=["%s@%d" % (self.addr, port)], workers=self.workers, verbosity=1,
            zone_options={ORIGIN: ["allow-notify: 127.0.0.1 NOKEY",
                                   "request-xfr: 127.0.0.1@%d NOKEY" % PRIMARY_PORT]})
        return peers.nsd_argv(self.conf)


class KnotSecondary(bl.Knot):
    def argv(self, zones, port):
        shutil.rmtree(os.path.join(self.dir, "db"), ignore_errors=True)
        zf = os.path.join(self.dir, ORIGIN + ".zone")
        if os.path.exists(zf):
            os.unlink(zf)
        self.conf = peers.knot_config(
            self.dir, [(ORIGIN, zf)], listen=["%s@%d" % (self.addr, port)],
            workers=self.workers, verbosity=1, remotes=["primary=127.0.0.1@%d" % PRIMARY_PORT],
            acls=["notify=notify,address=127.0.0.1"],
            zone_options={ORIGIN: ["master: primary", "acl: notify"]},
            template_options=[o for o in os.environ.get("XFR_KNOT_OPTIONS", "").split(";") if o])
        return peers.knot_argv(self.conf)


SECONDARIES = {"anynsd": AnynsdSecondary, "nsd": NsdSecondary, "knot": KnotSecondary}
PRIMARY_PORT = None


# ---- the run --------------------------------------------------------------------------

def med(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def main():
    global PRIMARY_PORT
    bl.install_cleanup()
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(RUN, exist_ok=True)
    zone = os.path.join(RUN, "zone.txt")
    log("generating a zone of %d records" % RECORDS)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "gen_zone.py"),
                    "--records", str(RECORDS), "--origin", ORIGIN, "--zone", zone],
                   check=True, stdout=subprocess.DEVNULL)

    prim = Primary(RUN)
    if prim.available():
        log("SKIP: %s" % prim.available())
        return 0
    PRIMARY_PORT = bl.free_port()
    t0 = time.monotonic()
    p = prim.start([(ORIGIN, zone)], PRIMARY_PORT)
    end = time.monotonic() + LOAD_LIMIT
    while serial(PRIMARY_PORT) is None and time.monotonic() < end and p.poll() is None:
        time.sleep(0.1)
    s0 = serial(PRIMARY_PORT)
    if s0 is None:
        log("the primary did not load the zone: %s" % prim.log_tail())
        return 1
    log("primary (Knot) serves serial %d after %.1f s" % (s0, time.monotonic() - t0))

    secs = []
    for name in SERVERS:
        srv = SECONDARIES[name](RUN)
        why = srv.available()
        if why:
            log("%s: not measured (%s)" % (name, why))
            continue
        port = bl.free_port()
        t0 = time.monotonic()
        proc = srv.start([], port)
        if wait_serial(port, s0, LOAD_LIMIT, proc, step=0.1) is None:
            log("%s: no AXFR of serial %d: %s" % (name, s0, srv.log_tail()))
            srv.stop()
            continue
        log("%s: serves serial %d (AXFR) after %.1f s" % (name, s0, time.monotonic() - t0))
        secs.append(srv)

    times = {s.name: [] for s in secs}
    notes = {s.name: [] for s in secs}
    cur = s0
    for rep in range(REPS):
        prim.add("ixfr%d" % rep, "192.0.2.%d" % (rep % 250 + 1))
        new = (cur + 1) % (1 << 32)
        if wait_serial(PRIMARY_PORT, new, SERVE_LIMIT, step=0.01) is None:
            log("the primary does not serve serial %d" % new)
            break
        rr = soa(PRIMARY_PORT)
        order = bl.rotated(secs, rep)
        for srv in order:
            time.sleep(0.5)  # the previous server's work after serving is done
            t0 = time.monotonic()
            notify(srv.port, rr)
            t1 = wait_serial(srv.port, new, SERVE_LIMIT, srv.proc)
            if t1 is None:
                log("%s: serial %d not served within %d s" % (srv.name, new, SERVE_LIMIT))
                continue
            times[srv.name].append((t1 - t0) * 1000)
            if srv.name == "anynsd":
                time.sleep(0.05)
                a = srv.applied(new)
                if a:
                    notes["anynsd"].append(a)
        log("rep %d: %s" % (rep + 1, ", ".join("%s %.1f ms" % (n, v[-1]) for n, v in times.items()
                                              if len(v) == rep + 1)))
        cur = new
    for srv in secs:
        srv.stop()
    prim.stop()
    for srv in secs + [prim]:
        try:
            shutil.copy(srv.logpath, os.path.join(RUN, "%s.log" % srv.name))
        except OSError:
            pass

    rows = []
    for srv in secs:
        v = times[srv.name]
        if not v:
            continue
        rows.append((srv.label or srv.name, med(v), min(v), max(v), len(v)))
    title = ("IXFR 1 record into a %s-record zone: time from the primary's NOTIFY to the "
             "new serial being served" % ("{:,}".format(RECORDS)))
    lines = ["# " + title, "",
             "Secondaries of one Knot DNS primary, one at a time, %d repetitions; "
             "median (min..max), ms." % REPS, "",
             "| secondary | median ms | spread ms | runs |", "|---|---|---|---|"]
    for label, m, lo, hi, n in rows:
        lines.append("| %s | %.1f | %.1f..%.1f | %d |" % (label, m, lo, hi, n))
    if notes.get("anynsd"):
        modes = sorted({a[0] for a in notes["anynsd"]})
        ap = [a[2] / 1000 for a in notes["anynsd"]]
        sv = [a[3] / 1000 for a in notes["anynsd"]]
        lines += ["", "anynsd applied the changes %s; its own log: patch and publication "
                  "%.2f ms median (%.2f..%.2f), served %.2f ms (%.2f..%.2f) after the "
                  "transfer's end." % ("/".join(modes), med(ap), min(ap), max(ap), med(sv),
                                       min(sv), max(sv))]
    lines += ["", "Machine: %d CPUs, load average %s at the end of the run." %
              (os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg())), ""]
    text = "\n".join(lines)
    print(text)
    os.makedirs(RES, exist_ok=True)
    with open(os.path.join(RES, "xfr.md"), "w") as f:
        f.write(text)
    with open(os.path.join(RES, "xfr.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["secondary", "records", "median_ms", "min_ms", "max_ms", "runs"])
        for label, m, lo, hi, n in rows:
            w.writerow([label, RECORDS, "%.2f" % m, "%.2f" % lo, "%.2f" % hi, n])
    return 0


if __name__ == "__main__":
    sys.exit(main())
