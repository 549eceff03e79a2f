#!/usr/bin/python3
"""XDP benchmark: whole-machine CPU per answered query at a fixed query rate,
through a veth pair between a client and a server network namespace, for
anynsd with XDP on (native, and generic mode), anynsd with XDP off, NSD and
Knot DNS, in the same run.

How the cost is measured (see bench/xdp/README.md for why):
- dnsperf runs in the client namespace at RATE queries/s for SECONDS.
- Busy time of the whole machine from /proc/stat's "cpu" line (every CPU):
  user + nice + system + irq + softirq (idle, iowait and steal are not
  busy), over the run, minus the busy time of an idle window measured right
  before it (same length, scaled to the run's wall time): what the
  benchmark added to whatever else the machine was doing. Divided by the
  answers dnsperf counted: us CPU per answered query. Client included.
- The idle window is measured both right before and right after the run
  and averaged, so that a load from elsewhere that rises or falls steadily
  cancels out.
- Server side: the server's processes (utime+stime) plus the machine's
  irq+softirq time (minus the idle windows' rate), where the veth and the
  XDP program run. Without CONFIG_IRQ_TIME_ACCOUNTING (this kernel) CPU
  time is sampled at ticks, and a tick during a softirq that a process's
  syscall ran is charged both to the softirq column and to that process's
  stime: dnsperf's own CPU holds part of the server's receive path, so
  "whole machine minus the client" would subtract server work.
- Per-process CPU alone is no use here: veth delivers a frame by running
  the receiver's softirq on the sender's CPU, so the server's receive path,
  the XDP program and the stack's UDP work are charged to softirq time of
  whichever CPU sent, not to the server's process.
- The XDP program's own run time per frame, from the kernel's BPF run-time
  statistics (BPF_ENABLE_STATS, held only while this script runs).
- Each server is started for its run and warmed by one uncounted pass over
  the query file. Servers are interleaved within each repetition, the order
  rotated from one repetition to the next, so that the other load on a
  shared machine falls on all of them alike; medians and (min..max) over the
  repetitions are reported, and the XDP/socket ratio is taken per
  repetition (both measured minutes apart at most) before its median.
The share answered in the kernel is the XDP counter's growth over the
answers dnsperf counted.

Environment: B (build dir), BENCH_XDP_RATE (default 10000), BENCH_XDP_SECONDS
(default 3), BENCH_XDP_REPS (default 5; medians are reported), FULL=1 (10 s,
7 reps), BENCH_XDP_SERVERS (a subset, e.g. "anynsd-xdp anynsd"). Writes bench/results/xdp.csv and bench/results/xdp-summary.txt."""
import ctypes
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchlib as bl  # noqa: E402

ROOT = bl.ROOT
BIN = bl.bin_dir()
FULL = os.environ.get("FULL") == "1"
RATE = int(os.environ.get("BENCH_XDP_RATE", "10000"))
SECONDS = int(os.environ.get("BENCH_XDP_SECONDS", "10" if FULL else "3"))
REPS = int(os.environ.get("BENCH_XDP_REPS", "7" if FULL else "5"))
TARGET = 0.5   # the XDP path's cost per query at most 0.5x the socket path's
RESULTS = os.path.join(ROOT, "bench", "results")
C, S = "axbc%d" % os.getpid(), "axbs%d" % os.getpid()
ADDR = "192.0.2.53"
METRICS = "http://192.0.2.2:9154/metrics"

# Hit-heavy mix: 39 simple queries the fast path holds, 1 it cannot (an
# answer over 512 bytes, truncated without EDNS).
HITS = ["www.example.com A", "www.example.com AAAA", "example.com SOA", "example.com NS",
        "example.com MX", "ns1.example.com A", "ns1.example.com AAAA", "mail.example.com A",
        "txt.example.com TXT", "alias.example.com A", "a.wild.example.com A",
        "nx.example.com A", "WWW.Example.COM A"]
MISSES = ["big.example.com TXT"]


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, **kw)


def ns(name, *argv, **kw):
    return sh("ip", "netns", "exec", name, *argv, **kw)


def setup(tmp):
    sh("ip", "netns", "add", C)
    sh("ip", "netns", "add", S)
    sh("ip", "-n", C, "link", "add", "vc", "type", "veth", "peer", "name", "vs", "netns", S)
    for n, dev, host in ((C, "vc", 1), (S, "vs", 53)):
        sh("ip", "-n", n, "link", "set", "lo", "up")
        sh("ip", "-n", n, "addr", "add", "192.0.2.%d/24" % host, "dev", dev)
        ns(n, "ethtool", "-K", dev, "tx", "off", check=False, stdout=subprocess.DEVNULL,
           stderr=subprocess.DEVNULL)
        sh("ip", "-n", n, "link", "set", dev, "up")
    sh("ip", "-n", S, "addr", "add", "192.0.2.2/24", "dev", "vs")
    # A veth receives its peer's XDP_TX frames only when it runs XDP itself.
    sh("ip", "-n", C, "link", "set", "dev", "vc", "xdpdrv", "obj",
       os.path.join(BIN, "tests", "xdp", "xdp_pass.bpf.o"), "sec", "xdp")
    zone = open(os.path.join(ROOT, "tests", "xdp", "zone.in")).read()
    zone = "\n".join(line for line in zone.splitlines() if not line.startswith(";"))
    zone = zone.replace("@SERIAL@", "1").replace("@GEN@", "gen-1") + "\n"
    with open(os.path.join(tmp, "example.com.zone"), "w") as f:
        f.write(zone)
    with open(os.path.join(tmp, "queries.txt"), "w") as f:
        lines = (HITS * 3)[:39] + MISSES
        f.write("\n".join(lines) + "\n")


def teardown():
    sh("ip", "netns", "del", C, check=False, stderr=subprocess.DEVNULL)
    sh("ip", "netns", "del", S, check=False, stderr=subprocess.DEVNULL)


ZONES = None


def make_server(name, tmp):
    """The server under test name, in the server namespace on ADDR port 53."""
    kw = dict(addr=ADDR, netns=S, name=name)
    if name.startswith("anynsd"):
        extra = ["--metrics", "192.0.2.2:9154"]
        if name == "anynsd-xdp-generic":
            conf = os.path.join(tmp, "generic.yaml")
            with open(conf, "w") as f:
                f.write("xdp:\n  interfaces: [vs]\n  mode: generic\n")
            extra += ["-c", conf]
        elif name == "anynsd-xdp":
            extra += ["--xdp", "vs"]
        return bl.Anynsd(tmp, extra=extra, **kw)
    return bl.SERVERS[name](tmp, **kw)


def wait_up(proc):
    for _ in range(100):
        r = ns(C, "kdig", "@" + ADDR, "+timeout=1", "+retry=0", "example.com", "SOA",
               check=False, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if "status:" in r.stdout:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def cpu_stat():
    """Busy and softirq jiffies of the whole machine (every CPU)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, _steal = v
    return {"busy": user + nice + system + irq + softirq, "softirq": irq + softirq}


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bpf_enable_stats():
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): the kernel times every BPF
    program run while the returned fd is open (closed at our exit, even on
    SIGKILL). None when the kernel refuses."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.create_string_buffer(8)       # enable_stats.type = 0
        fd = libc.syscall(321, 32, attr, 4)         # __NR_bpf (x86-64), BPF_ENABLE_STATS
    except OSError:
        return None
    return fd if fd >= 0 else None


def xdp_prog_stats(netns=None, dev="vs"):
    """(run_time_ns, run_cnt) of the XDP program attached to dev (default:
    anynsd's on vs; ("vc" in the client namespace: the pass-through program),
    or None."""
    r = sh("ip", "-j", "-n", netns or S, "link", "show", "dev", dev, check=False,
           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        xdp = json.loads(r.stdout)[0].get("xdp", {})
        pid = xdp.get("prog", {}).get("id") or xdp.get("progs", [{}])[0].get("id")
        r = sh("bpftool", "prog", "show", "id", str(pid), "-j", check=False,
               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        info = json.loads(r.stdout)
        return info["run_time_ns"], info["run_cnt"]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def xdp_answered():
    try:
        body = urllib.request.urlopen(METRICS, timeout=2).read().decode()
    except OSError:
        return None
    m = re.search(r"^anyns_xdp_answered_total (\d+)", body, re.M)
    return int(m.group(1)) if m else None


def xdp_answered_ns():
    r = ns(C, "/usr/bin/python3", "-c",
           "import sys; sys.dont_write_bytecode = True; sys.path.insert(0, %r); import bench_xdp as b; print(b.xdp_answered())"
           % os.path.dirname(os.path.abspath(__file__)),
           check=False, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        return int(r.stdout.strip())
    except ValueError:
        return None


def one_run(srv, tmp):
    hz = os.sysconf("SC_CLK_TCK")
    name = srv.name
    is_xdp = name.startswith("anynsd-xdp")
    def idle_window():
        t0, c0 = time.monotonic(), cpu_stat()
        time.sleep(SECONDS)
        w, c1 = time.monotonic() - t0, cpu_stat()
        return (c1["busy"] - c0["busy"]) / hz / w, (c1["softirq"] - c0["softirq"]) / hz / w

    # Idle window right before the run (and one right after, below): what
    # the rest of the machine does meanwhile.
    i0 = idle_window()
    x0 = xdp_answered_ns() if is_xdp else None
    p0 = xdp_prog_stats() if is_xdp else None
    f0 = xdp_prog_stats(C, "vc")
    spids, kpids = srv.pids(), bl.ksoftirqd_pids()
    t_s0, t_k0 = bl.runtime(spids), bl.runtime(kpids)
    s0, k0 = bl.tick_cpu(spids), children_cpu_s()
    t0, c0 = time.monotonic(), cpu_stat()
    r = bl.dnsperf(ADDR, 53, os.path.join(tmp, "queries.txt"), rate=RATE, dur=SECONDS,
                   clients=1, netns=C, extra=["-T", "1"])
    wall, c1 = time.monotonic() - t0, cpu_stat()
    t_s1, t_k1 = bl.runtime(spids), bl.runtime(kpids)
    server_s = bl.tick_cpu(spids) - s0
    client_s = children_cpu_s() - k0
    p1 = xdp_prog_stats() if is_xdp else None
    f1 = xdp_prog_stats(C, "vc")
    x1 = xdp_answered_ns() if is_xdp else None
    i1 = idle_window()
    idle_rate, idle_sirq_rate = (i0[0] + i1[0]) / 2, (i0[1] + i1[1]) / 2
    busy = (c1["busy"] - c0["busy"]) / hz
    idle = idle_rate * wall                 # the idle windows scaled to the run's length
    softirq_s = (c1["softirq"] - c0["softirq"]) / hz - idle_sirq_rate * wall
    sent, done = r["sent"], r["completed"]
    if not sent:
        raise RuntimeError("dnsperf sent nothing")
    cost = busy - idle
    share = (x1 - x0) / done if x0 is not None and x1 is not None and done else None
    prog_ns = None
    if p0 and p1 and p1[1] > p0[1]:
        prog_ns = (p1[0] - p0[0]) / (p1[1] - p0[1])
    # The client's pass-through program returns at once: its time per frame
    # is what the run-time statistics charge an empty program on this path
    # (the clock reads and the call), the floor under prog_ns.
    floor_ns = None
    if f0 and f1 and f1[1] > f0[1]:
        floor_ns = (f1[0] - f0[0]) / (f1[1] - f0[1])
    per = lambda v: v / done * 1e6 if done else None
    return {"sent": sent, "completed": done, "lost": sent - done, "busy_s": busy,
            "idle_s": idle, "us_per_query": per(cost),
            "attributed_s": server_s + softirq_s + client_s,
            "server_s": server_s, "softirq_s": softirq_s, "client_s": client_s,
            "server_us_per_query": per(server_s + softirq_s),
            "attr_us_per_query": per(server_s + softirq_s + client_s),
            "xdp_share": share,
            "idle_busy_frac": idle_rate / (os.cpu_count() or 1),
            "prog_ns": prog_ns,
            "floor_ns": floor_ns,
            # Every task on the path, exact: dnsperf (rusage: its total is
            # the scheduler's sum) + the server's threads + ksoftirqd. With
            # no IRQ time accounting a softirq is part of the runtime of the
            # task it interrupted, so this holds the veth and XDP work too.
            "tasks_us_per_query": per(client_s + t_s1 - t_s0 + t_k1 - t_k0)}


def med_spread(vals, fmt="%.2f"):
    """(median, 'median (min..max)') of the values that are not None."""
    return bl.med_spread(vals)[0], bl.fmt_spread(vals, fmt)


def main():
    if os.geteuid() != 0:
        print("SKIP: bench/xdp needs root (network namespaces, XDP)")
        return 0
    for tool in ("dnsperf", "kdig", "ethtool"):
        if not shutil.which(tool):
            print("SKIP: bench/xdp needs %s" % tool)
            return 0
    only = os.environ.get("BENCH_XDP_SERVERS", "").split()
    tmp = tempfile.mkdtemp(prefix="anyns-benchxdp.")
    servers = [make_server(n, tmp) for n in ("anynsd-xdp", "anynsd-xdp-generic", "anynsd", "nsd", "knot")
               if not only or n in only]
    servers = [s for s in servers if s.available() is None]
    names = [s.name for s in servers]
    rows = {n: [] for n in names}
    byrep = []
    bl.install_cleanup()
    stats_fd = bpf_enable_stats()
    started = time.monotonic()
    try:
        setup(tmp)
        # Interleaved repetitions, so that the other load on the machine
        # falls on every server alike.
        qfile = os.path.join(tmp, "queries.txt")
        for rep in range(REPS):
            byrep.append({})
            for srv in bl.rotated(servers, rep):
                name = srv.name
                p = srv.start([("example.com", os.path.join(tmp, "example.com.zone"))], 53)
                try:
                    if not wait_up(p):
                        print("bench/xdp: %s did not start: %s" % (name, srv.log_tail(300)))
                        continue
                    bl.warm_up(ADDR, 53, qfile, RATE, clients=1, netns=C)
                    res = one_run(srv, tmp)
                    rows[name].append(res)
                    byrep[-1][name] = res
                    print("bench/xdp: rep %d %-18s %6d/%d answered; tasks %5.1f us/query, "
                          "machine %6.1f, server side %6.1f (idle windows %2.0f%% busy; server procs %.2f s, "
                          "softirq %+.2f s, client %.2f s)%s%s%s" %
                          (rep + 1, name, res["completed"], res["sent"],
                           res["tasks_us_per_query"] or 0, res["us_per_query"] or 0, res["server_us_per_query"] or 0,
                           100 * res["idle_busy_frac"], res["server_s"], res["softirq_s"],
                           res["client_s"],
                           "" if res["xdp_share"] is None else
                           ", %.1f%% in XDP" % (100 * res["xdp_share"]),
                           "" if res["prog_ns"] is None else
                           ", program %.0f ns/frame" % res["prog_ns"],
                           "" if res["floor_ns"] is None else
                           ", client's empty program %.0f ns/frame" % res["floor_ns"]),
                          flush=True)
                finally:
                    srv.stop()
    finally:
        bl.stop_all()
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)
        if stats_fd is not None:
            os.close(stats_fd)

    os.makedirs(RESULTS, exist_ok=True)
    med = {}
    cols = ["sent", "completed", "lost", "busy_s", "idle_s", "us_per_query", "attributed_s",
            "attr_us_per_query", "server_s", "softirq_s", "client_s", "server_us_per_query",
            "xdp_share", "idle_busy_frac", "prog_ns", "tasks_us_per_query", "floor_ns"]
    fmts = ["%d", "%d", "%d", "%.2f", "%.2f", "%.2f", "%.3f", "%.2f", "%.3f", "%.3f", "%.3f",
            "%.2f", "%.4f", "%.2f", "%.0f", "%.2f", "%.0f"]
    with open(os.path.join(RESULTS, "xdp.csv"), "w") as f:
        # The first 17 columns are as before; the spreads and the new
        # figures come after them.
        f.write("server,rate_qps,seconds,reps," + ",".join(cols[:12]) + ",xdp_share,"
                "us_per_query_min,us_per_query_max,server_us_min,server_us_max,"
                "idle_busy_frac,prog_ns_per_frame,tasks_us_per_query,tasks_us_min,tasks_us_max,"
                "empty_prog_ns_per_frame\n")
        for name in names:
            rs = rows[name]
            if not rs:
                f.write("%s,%d,%d,0%s\n" % (name, RATE, SECONDS, "," * 23))
                continue
            med[name] = {k: med_spread([r[k] for r in rs])[0] for k in cols}
            v = med[name]
            out = lambda k, fm: "" if v[k] is None else fm % v[k]
            mach = [r["us_per_query"] for r in rs if r["us_per_query"] is not None]
            side = [r["server_us_per_query"] for r in rs if r["server_us_per_query"] is not None]
            task = [r["tasks_us_per_query"] for r in rs if r["tasks_us_per_query"] is not None]
            f.write("%s,%d,%d,%d," % (name, RATE, SECONDS, len(rs)) +
                    ",".join(out(k, fm) for k, fm in zip(cols[:13], fmts[:13])) + "," +
                    ",".join("%.2f" % x for x in (min(mach), max(mach))) + "," +
                    ",".join("%.2f" % x for x in (min(side), max(side))) + "," +
                    out("idle_busy_frac", "%.2f") + "," + out("prog_ns", "%.0f") + "," +
                    out("tasks_us_per_query", "%.2f") + "," +
                    ",".join("%.2f" % x for x in (min(task), max(task))) + "," +
                    out("floor_ns", "%.0f") + "\n")

    # XDP/socket ratios per repetition (both servers measured in the same
    # repetition, under the same outside load), then their median.
    def ratios(k):
        return [rp["anynsd-xdp"][k] / rp["anynsd"][k] for rp in byrep
                if "anynsd-xdp" in rp and "anynsd" in rp and rp["anynsd-xdp"][k] is not None
                and rp["anynsd"][k]]

    busy = [r["idle_busy_frac"] for n in names for r in rows[n]]
    busy_med = statistics.median(busy) if busy else 0.0
    line = ("XDP (veth, %d qps, %d s x %d reps, hit-heavy mix), us CPU per answered query, "
            "median (min..max)" % (RATE, SECONDS, REPS))
    for k, label in (("us_per_query", "whole machine minus idle window"),
                     ("server_us_per_query", "server side (server processes + irq/softirq)"),
                     ("tasks_us_per_query", "tasks on the path (dnsperf + server + ksoftirqd, "
                      "scheduler time, not disturbed by other load)")):
        parts = ["%s %s" % (n, med_spread([r[k] for r in rows[n]], "%.1f")[1])
                 for n in names if med.get(n, {}).get(k) is not None]
        line += "; %s: %s" % (label, ", ".join(parts))
        rs_k = ratios(k)
        m, txt = med_spread(rs_k)
        if m is None:
            continue
        # A figure taken as a difference against the idle windows is noise
        # when the rest of the machine was mostly busy (more load only
        # displaces other work) or when a repetition came out negative.
        if k != "tasks_us_per_query" and (busy_med > 0.5 or min(rs_k) <= 0):
            verdict = "NO VERDICT: noise, machine %.0f%% busy in the idle windows" % (
                100 * busy_med)
        else:
            verdict = "PASS" if m <= TARGET else "MISS"
        line += " (XDP/socket %s, target <= %.1f: %s)" % (txt, TARGET, verdict)
        if k == "tasks_us_per_query":
            # What the ratio would be with an XDP program costing nothing:
            # the rest is the veth, the stack and dnsperf.
            x, sock = med.get("anynsd-xdp", {}), med.get("anynsd", {})
            if x.get("prog_ns") and x.get(k) and sock.get(k):
                floor = (x[k] - x["prog_ns"] / 1e3 * (x.get("xdp_share") or 1)) / sock[k]
                line += (" (ratio of the medians %.2f; with an XDP program costing nothing "
                         "it would be %.2f)" % (x[k] / sock[k], floor))
    share = med.get("anynsd-xdp", {}).get("xdp_share")
    if share is not None:
        line += "; answered in XDP %.1f%% (target > 95%%: %s)" % (
            100 * share, "PASS" if share > 0.95 else "MISS")
    for n in ("anynsd-xdp", "anynsd-xdp-generic"):
        if med.get(n, {}).get("prog_ns") is not None:
            line += "; %s program %.0f ns/frame" % (n, med[n]["prog_ns"])
            if med[n].get("floor_ns") is not None:
                line += " (an empty program on the client's veth %.0f)" % med[n]["floor_ns"]
    if busy:
        line += "; machine %.0f%% busy before the runs (median of idle windows)" % (
            100 * busy_med)
    line += "; %.0f s" % (time.monotonic() - started)
    with open(os.path.join(RESULTS, "xdp-summary.txt"), "w") as f:
        f.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
