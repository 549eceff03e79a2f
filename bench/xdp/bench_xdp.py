#!/usr/bin/python3
"""XDP benchmark: whole-machine CPU per answered query at a fixed query rate,
through a veth pair between a client and a server network namespace, for
anynsd with XDP on (native, and generic mode), anynsd with XDP off, NSD and
Knot DNS, in the same run.

dnsperf runs in the client namespace at RATE queries/s for SECONDS; the CPU
cost is the machine's busy time (/proc/stat, every core, every process: the
client, the veth, the server) during the run minus the busy time of an idle
period of the same length measured just before, divided by the answers.
On a shared machine that figure is noisy, so the CSV also has the CPU we can
attribute: the server's processes, dnsperf, and the machine's irq+softirq
time (where the veth and the XDP program run).
and the server side alone (server processes + irq/softirq), the part the
fast path changes.
The share answered in the kernel is the XDP counter's growth over the
answers dnsperf counted.

Environment: B (build dir), BENCH_XDP_RATE (default 4000), BENCH_XDP_SECONDS
(default 3), BENCH_XDP_REPS (default 3; medians are reported), FULL=1 (10 s,
5 reps). Writes bench/results/xdp.csv and bench/results/xdp-summary.txt."""
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
B = os.environ.get("B", "build")
BIN = os.path.join(ROOT, B) if not os.path.isabs(B) else B
FULL = os.environ.get("FULL") == "1"
RATE = int(os.environ.get("BENCH_XDP_RATE", "4000"))
SECONDS = int(os.environ.get("BENCH_XDP_SECONDS", "10" if FULL else "3"))
REPS = int(os.environ.get("BENCH_XDP_REPS", "5" if FULL else "3"))
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


def server_argv(name, tmp):
    zone = os.path.join(tmp, "example.com.zone")
    if name.startswith("anynsd"):
        argv = [os.path.join(BIN, "anynsd"), "--listen", ADDR, "--zone", "example.com=" + zone,
                "--workers", "1", "--metrics", "192.0.2.2:9154", "-l", "warning"]
        if name == "anynsd-xdp-generic":
            conf = os.path.join(tmp, "generic.yaml")
            with open(conf, "w") as f:
                f.write("xdp:\n  interfaces: [vs]\n  mode: generic\n")
            return argv + ["-c", conf]
        return argv + (["--xdp", "vs"] if name == "anynsd-xdp" else [])
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    if name == "nsd":
        conf = os.path.join(d, "nsd.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  ip-address: {ADDR}
  server-count: 1
  do-ip6: no
  database: ""
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  pidfile: "{d}/nsd.pid"
  logfile: "{d}/nsd.log"
  username: ""
  chroot: ""
  zonesdir: "{d}"
  verbosity: 0
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.com
  zonefile: "{zone}"
""")
        return ["nsd", "-d", "-c", conf]
    if name == "knot":
        os.makedirs(os.path.join(d, "db"), exist_ok=True)
        conf = os.path.join(d, "knot.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  rundir: "{d}"
  listen: {ADDR}@53
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "{d}/db"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: example.com
    file: "{zone}"
""")
        return ["knotd", "-c", conf]
    raise ValueError(name)


def available(name):
    if name.startswith("anynsd"):
        return os.access(os.path.join(BIN, "anynsd"), os.X_OK)
    return shutil.which("nsd" if name == "nsd" else "knotd") is not None


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


def ns_cpu_jiffies(name):
    """utime+stime of every process in a namespace (the server under test)."""
    r = sh("ip", "netns", "pids", name, check=False, stdout=subprocess.PIPE, text=True)
    total = 0
    for pid in r.stdout.split():
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def softirq_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[5] + v[6]


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]   # minus idle and iowait


def xdp_answered():
    try:
        body = urllib.request.urlopen(METRICS, timeout=2).read().decode()
    except OSError:
        return None
    m = re.search(r"^anyns_xdp_answered_total (\d+)", body, re.M)
    return int(m.group(1)) if m else None


def xdp_answered_ns():
    r = ns(C, "/usr/bin/python3", "-c",
           "import sys; sys.path.insert(0, %r); import bench_xdp as b; print(b.xdp_answered())"
           % os.path.dirname(os.path.abspath(__file__)),
           check=False, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        return int(r.stdout.strip())
    except ValueError:
        return None


def one_run(name, tmp):
    hz = os.sysconf("SC_CLK_TCK")
    b0 = busy_jiffies()
    time.sleep(SECONDS)
    idle = (busy_jiffies() - b0) / hz
    x0 = xdp_answered_ns() if name.startswith("anynsd-xdp") else None
    s0, q0, c0 = ns_cpu_jiffies(S), softirq_jiffies(), children_cpu_s()
    b0 = busy_jiffies()
    r = ns(C, "dnsperf", "-s", ADDR, "-d", os.path.join(tmp, "queries.txt"), "-l", str(SECONDS),
           "-Q", str(RATE), "-c", "1", "-T", "1", "-t", "1", check=False,
           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    busy = (busy_jiffies() - b0) / hz
    # The part of it we can name: the server's processes, the client
    # (dnsperf, our child) and the machine's interrupt and softirq time,
    # where the veth and the XDP program run.
    server_s = (ns_cpu_jiffies(S) - s0) / hz
    softirq_s = (softirq_jiffies() - q0) / hz
    client_s = children_cpu_s() - c0
    attributed = server_s + softirq_s + client_s
    x1 = xdp_answered_ns() if name.startswith("anynsd-xdp") else None
    sent = int(re.search(r"Queries sent:\s+(\d+)", r.stdout).group(1))
    done = int(re.search(r"Queries completed:\s+(\d+)", r.stdout).group(1))
    cost = max(busy - idle, 0.0)
    share = (x1 - x0) / done if x0 is not None and x1 is not None and done else None
    return {"sent": sent, "completed": done, "lost": sent - done, "busy_s": busy,
            "idle_s": idle, "us_per_query": cost / done * 1e6 if done else None,
            "attributed_s": attributed, "server_s": server_s, "softirq_s": softirq_s,
            "client_s": client_s,
            "server_us_per_query": (server_s + softirq_s) / done * 1e6 if done else None,
            "attr_us_per_query": attributed / done * 1e6 if done else None,
            "xdp_share": share}


def main():
    if os.geteuid() != 0:
        print("SKIP: bench/xdp needs root (network namespaces, XDP)")
        return 0
    for tool in ("dnsperf", "kdig", "ethtool"):
        if not shutil.which(tool):
            print("SKIP: bench/xdp needs %s" % tool)
            return 0
    names = [n for n in ("anynsd-xdp", "anynsd-xdp-generic", "anynsd", "nsd", "knot")
             if available(n)]
    tmp = tempfile.mkdtemp(prefix="anyns-benchxdp.")
    rows = {n: [] for n in names}
    procs = []
    try:
        setup(tmp)
        # Interleaved repetitions, so that the other load on the machine
        # falls on every server alike.
        for rep in range(REPS):
            for name in names:
                log = open(os.path.join(tmp, "%s.log" % name), "a")
                p = subprocess.Popen(["ip", "netns", "exec", S] + server_argv(name, tmp),
                                     stdout=log, stderr=subprocess.STDOUT)
                procs.append(p)
                try:
                    if not wait_up(p):
                        print("bench/xdp: %s did not start" % name)
                        continue
                    res = one_run(name, tmp)
                    rows[name].append(res)
                    print("bench/xdp: rep %d %-10s %6d answered, machine %5.1f us/query, "
                      "attributed %5.1f us/query (server %.2f s, softirq %.2f s, client %.2f s)%s" %
                          (rep + 1, name, res["completed"], res["us_per_query"] or 0,
                           res["attr_us_per_query"] or 0, res["server_s"], res["softirq_s"],
                           res["client_s"],
                           "" if res["xdp_share"] is None else
                           ", %.1f%% in XDP" % (100 * res["xdp_share"])))
                finally:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
                    log.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)

    os.makedirs(RESULTS, exist_ok=True)
    med = {}
    with open(os.path.join(RESULTS, "xdp.csv"), "w") as f:
        f.write("server,rate_qps,seconds,reps,sent,completed,lost,busy_s,idle_s,"
                "us_per_query,attributed_s,attr_us_per_query,server_s,softirq_s,client_s,"
                "server_us_per_query,xdp_share\n")
        for name in names:
            rs = rows[name]
            if not rs:
                f.write("%s,%d,%d,0,,,,,,,,,,,,,\n" % (name, RATE, SECONDS))
                continue
            m = lambda k: statistics.median([r[k] for r in rs if r[k] is not None]) \
                if any(r[k] is not None for r in rs) else None
            med[name] = {k: m(k) for k in rs[0]}
            v = med[name]
            f.write("%s,%d,%d,%d,%d,%d,%d,%.2f,%.2f,%.2f,%.3f,%.2f,%.3f,%.3f,%.3f,%.2f,%s\n" % (
                name, RATE, SECONDS, len(rs), v["sent"], v["completed"], v["lost"],
                v["busy_s"], v["idle_s"], v["us_per_query"] or 0, v["attributed_s"],
                v["attr_us_per_query"] or 0, v["server_s"], v["softirq_s"], v["client_s"],
                v["server_us_per_query"] or 0,
                "" if v["xdp_share"] is None else "%.4f" % v["xdp_share"]))

    def cost(n, k):
        return med.get(n, {}).get(k)
    line = "XDP (veth, %d qps, hit-heavy mix), us CPU/query" % RATE
    for k, label in (("us_per_query", "whole machine minus idle"),
                     ("attr_us_per_query", "server+client+softirq"),
                     ("server_us_per_query", "server+softirq")):
        parts = ["%s %.1f" % (n, cost(n, k)) for n in names if cost(n, k) is not None]
        line += "; %s: %s" % (label, ", ".join(parts))
        if cost("anynsd-xdp", k) is not None and cost("anynsd", k):
            ratio = cost("anynsd-xdp", k) / cost("anynsd", k)
            line += " (XDP/socket %.2f, target <= 0.5 %s)" % (ratio, "met" if ratio <= 0.5 else "NOT met")
    share = med.get("anynsd-xdp", {}).get("xdp_share")
    if share is not None:
        line += "; answered in XDP %.1f%% (target > 95%%: %s)" % (
            100 * share, "met" if share > 0.95 else "NOT met")
    with open(os.path.join(RESULTS, "xdp-summary.txt"), "w") as f:
        f.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
