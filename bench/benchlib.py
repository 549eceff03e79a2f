"""What bench/bench.py and bench/xdp/bench_xdp.py share: the servers under
test (anynsd, the reflector floor, NSD and Knot DNS through tests/pylib/peers),
their CPU and memory accounting from /proc, dnsperf runs and their parsing,
the warm-up every server gets, the interleaved order of the bursts and the
medians with their spread."""
import os
import re
import signal
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
import peers  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
# Answers of the same content from every server: anynsd and NSD with minimal
# responses (no apex NS set or additional addresses in positive answers),
# which is what Knot DNS always sends. BENCH_MINIMAL=0: NSD's default.
MINIMAL = os.environ.get("BENCH_MINIMAL", "1") not in ("", "0")
# anynsd's UDP back end: a reader thread blocking in recvmmsg() costs less per
# query than the worker's libuv loop polling the socket (bench/README.md, "The
# servers"). The TCP row runs "poll" whatever this says (bench.py, phase_tcp).
UDP_IO = os.environ.get("BENCH_UDP_IO", "threads")


def bin_dir():
    b = os.environ.get("B") or "build"
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


# ---- processes and their CPU time ------------------------------------------------

def cpu_list(spec):
    """Set of CPU numbers of a taskset list such as "0,2-3"."""
    out = set()
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def threads(pids):
    """(pid, tid) of every thread of the given processes."""
    out = []
    for pid in pids:
        try:
            out += [(pid, t) for t in os.listdir("/proc/%s/task" % pid)]
        except OSError:
            continue
    return out


def runtime(pids):
    """Scheduler run time in seconds of every thread of the given processes,
    from /proc/PID/task/TID/schedstat (first field, ns): the kernel's exact
    count, read at the instant of the call. Without IRQ time accounting it
    includes the softirqs that ran while the thread was on the CPU."""
    total = 0
    for pid, t in threads(pids):
        try:
            with open("/proc/%s/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def tick_cpu(pids):
    """utime+stime+cutime+cstime in seconds (tick samples) of the processes."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        total += sum(int(x) for x in st[st.rindex(")") + 2:].split()[11:15])
    return total / HZ


def switches(pids):
    """Voluntary context switches of every thread: each is the thread going
    to sleep with nothing to read, i.e. one wake-up later."""
    total = 0
    for pid, t in threads(pids):
        try:
            with open("/proc/%s/task/%s/status" % (pid, t)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def ksoftirqd_pids(cpus=None):
    """Pids of the ksoftirqd threads (of the given CPU numbers, or all)."""
    want = None if cpus is None else {"ksoftirqd/%d" % c for c in cpus}
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm.startswith("ksoftirqd/") and (want is None or comm in want):
            pids.append(d)
    return pids


def core_busy(cpus):
    """Busy (non-idle) seconds of the given CPU numbers, from /proc/stat."""
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m and int(m.group(1)) in cpus:
                v = [int(x) for x in m.group(2).split()]
                busy += sum(v) - v[3] - v[4]  # minus idle and iowait
    return busy / HZ


def memory(pids):
    """(PSS MiB summed, RSS MiB summed, peak RSS MiB of the largest process).
    PSS splits pages shared after fork() between the processes, so NSD's
    forked servers are not counted twice."""
    pss = rss = hwm = 0
    for pid in pids:
        try:
            with open("/proc/%s/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            with open("/proc/%s/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            continue
    return pss / 1024.0, rss / 1024.0, hwm / 1024.0


def pin(pids, cpus):
    """Pins every thread of the processes to cpus; returns the threads that
    had to be moved. taskset at start is not enough: Knot pins its UDP worker
    i to CPU i % ncpus itself when the thread starts."""
    moved = []
    for _, t in threads(pids):
        try:
            if os.sched_getaffinity(int(t)) != cpus:
                os.sched_setaffinity(int(t), cpus)
                moved.append(int(t))
        except OSError:
            continue
    return moved


def free_port():
    """A port free for UDP and TCP on 127.0.0.1."""
    import socket
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            s.close()
    raise RuntimeError("no free port")


# ---- the servers under test ---------------------------------------------------------

_live = []  # servers started and not stopped yet; stopped on any exit


def stop_all():
    for srv in list(_live):
        srv.stop()


def _on_signal(sig, frame):
    sys.exit(128 + sig)


def install_cleanup():
    """Stops every server started here on exit, error, SIGTERM or Ctrl-C."""
    import atexit
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


class Server:
    """One server under test: started in a session of its own (pinned to
    cpus, in netns when given), serving zones [(origin, file)] on addr:port.
    Its CPU and memory cover every process and thread of that session."""
    name = "?"
    label = None
    peer = False
    program = None  # a path (built here) or a command name (from Debian)

    def __init__(self, workdir, addr="127.0.0.1", cpus=None, netns=None, workers=1, name=None):
        if name:
            self.name = name
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.logpath = os.path.join(self.dir, "log.txt")
        self.addr, self.cpus, self.netns, self.workers = addr, cpus, netns, workers
        self.proc = None

    def available(self):
        """None, or why this server cannot run."""
        if os.sep in self.program:
            return None if os.access(self.program, os.X_OK) else "%s not built" % self.program
        return None if shutil.which(self.program) else "%s not installed" % self.program

    def argv(self, zones, port):
        raise NotImplementedError

    def start(self, zones, port, wrap=None):
        self.port, self.zones = port, zones
        argv = self.argv(zones, port)
        self.proc = peers.start((wrap or []) + argv, self.logpath, netns=self.netns,
                                cpus=",".join(str(c) for c in sorted(self.cpus)) if self.cpus else None)
        _live.append(self)
        return self.proc

    def stop(self):
        if self.proc is not None:
            peers.stop(self.proc.pid, proc=self.proc)
            self.proc = None
        if self in _live:
            _live.remove(self)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        return peers.session_pids(self.proc.pid)

    def pin(self):
        return pin(self.pids(), self.cpus) if self.cpus else []

    def reload(self):
        raise NotImplementedError

    def log_tail(self, n=600):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-n:].strip()
        except OSError:
            return ""


class Reflector(Server):
    """The do-nothing server that gives the kernel's floor: it sends every UDP
    datagram and every TCP message back with QR set."""
    name = "reflector"

    def __init__(self, *a, **kw):
        self.program = os.path.join(bin_dir(), "anyns-reflector")
        super().__init__(*a, **kw)

    def argv(self, zones, port):
        # The same 4 MiB receive buffer anynsd asks for: the floor is the
        # kernel's cost per datagram, not drops from a small default buffer.
        return [self.program, "--listen", "%s:%d" % (self.addr, port),
                "--workers", str(self.workers), "--rcvbuf", str(peers.RCVBUF)]


class Anynsd(Server):
    name = "anynsd"

    def __init__(self, *a, extra=(), **kw):
        self.program = os.path.join(bin_dir(), "anynsd")
        self.extra = list(extra)
        self.udp_io = UDP_IO
        super().__init__(*a, **kw)

    def argv(self, zones, port):
        # The TCP room the peers get (peers.TCP_CLIENTS) from the one client
        # address of the benchmark; info: the exit line has the cache counters.
        argv = [self.program, "--listen", "%s:%d" % (self.addr, port),
                "--workers", str(self.workers), "--tcp-max-per-source", str(peers.TCP_CLIENTS),
                "-l", "info"]
        # anynsd refuses root without server.user; the benchmark keeps it on
        # purpose (zones re-read from its private folder on reload).
        if os.geteuid() == 0:
            argv += ["--user", "root"]
        for origin, file in zones:
            argv += ["--zone", "%s=%s" % (origin, file)]
        if MINIMAL:
            argv.append("--minimal-responses")
        return argv + ["--udp-io", self.udp_io] + self.extra

    def reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)  # SIGHUP re-reads the zone files

    def cache_stats(self):
        """(hits, misses) from the stats line anynsd logs when it exits."""
        try:
            with open(self.logpath, errors="replace") as f:
                lines = [l for l in f if "cache-hits=" in l]
        except OSError:
            return None
        m = re.search(r"cache-hits=(\d+) cache-misses=(\d+)", lines[-1]) if lines else None
        return (int(m.group(1)), int(m.group(2))) if m else None


class Nsd(Server):
    name = "nsd"
    label = "NSD"
    peer = True
    program = "nsd"

    def argv(self, zones, port):
        self.conf = peers.nsd_config(self.dir, zones, listen=["%s@%d" % (self.addr, port)],
                                     workers=self.workers,
                                     server_options=["minimal-responses: yes"] if MINIMAL else [])
        return peers.nsd_argv(self.conf)

    def reload(self):
        peers.nsd_reload(self.dir)


class Knot(Server):
    name = "knot"
    label = "Knot DNS"
    peer = True
    program = "knotd"

    def argv(self, zones, port):
        shutil.rmtree(os.path.join(self.dir, "db"), ignore_errors=True)
        self.conf = peers.knot_config(self.dir, zones, listen=["%s@%d" % (self.addr, port)],
                                      workers=self.workers)
        return peers.knot_argv(self.conf)

    def reload(self):
        if not peers.knot_reload(self.conf):
            raise OSError("knotc zone-reload failed")


SERVERS = {"reflector": Reflector, "anynsd": Anynsd, "nsd": Nsd, "knot": Knot}


# ---- dnsperf -----------------------------------------------------------------------

def dnsperf_argv(addr, port, qfile, rate=None, dur=None, nmax=None, clients=8,
                 outstanding=1000, mode="udp", cpus=None, netns=None, extra=()):
    argv = ["dnsperf", "-s", addr, "-p", str(port), "-d", qfile, "-c", str(clients),
            "-q", str(outstanding), "-t", "1", "-b", "4096", "-m", mode] + list(extra)
    if dur:
        argv += ["-l", str(dur)]
    if rate:
        argv += ["-Q", str(rate)]
    if nmax:
        argv += ["-n", str(nmax)]
    if cpus:
        argv = ["taskset", "-c", cpus] + argv
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    return argv


def parse_dnsperf(text, offered=None):
    r = {"offered": offered}

    def grab(pat, conv=float):
        m = re.search(pat, text)
        return conv(m.group(1)) if m else None
    r["sent"] = grab(r"Queries sent:\s+(\d+)", int) or 0
    r["completed"] = grab(r"Queries completed:\s+(\d+)", int) or 0
    r["lost"] = grab(r"Queries lost:\s+(\d+)", int) or 0
    r["qps"] = grab(r"Queries per second:\s+([\d.]+)") or 0.0
    r["avg_lat_us"] = (grab(r"Average Latency \(s\):\s+([\d.]+)") or 0.0) * 1e6
    codes = re.search(r"Response codes:\s+(.*)", text)
    r["rcodes"] = codes.group(1).strip() if codes else ""
    return r


def dnsperf(addr, port, qfile, rate=None, dur=None, verbose_to=None, **kw):
    """One dnsperf run; its figures (and the 99th percentile latency with
    verbose_to, a scratch file for dnsperf -v's one line per answer)."""
    argv = dnsperf_argv(addr, port, qfile, rate=rate, dur=dur, **kw)
    timeout = dur * 3 + 60 if dur else 600
    if verbose_to:
        with open(verbose_to, "wb") as f:
            subprocess.run(argv + ["-v"], stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        with open(verbose_to, "r", errors="replace") as f:
            text = f.read()
        os.unlink(verbose_to)
    else:
        text = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout).stdout
    r = parse_dnsperf(text, rate)
    if verbose_to:
        lats = []
        for line in text.splitlines():
            if line.startswith("> "):
                try:
                    lats.append(float(line.rsplit(None, 1)[1]))
                except ValueError:
                    pass
        if lats:
            lats.sort()
            r["p99_lat_us"] = lats[min(len(lats) - 1, int(len(lats) * 0.99))] * 1e6
    return r


def warm_up(addr, port, qfile, rate, **kw):
    """The warm-up every server gets before anything is counted: one pass
    over the query file (dnsperf -n 1) at the given rate, so that answer
    caches hold what the counted bursts will ask and the page cache, the
    allocator and the socket buffers are in their steady state."""
    return dnsperf(addr, port, qfile, rate=rate, nmax=1, **kw)


def loss(r):
    return r["lost"] / r["sent"] if r["sent"] else 1.0


# ---- order and statistics ------------------------------------------------------------

def rotated(items, rep):
    """The order of repetition rep: items rotated by rep, so that no server
    always runs first or last and a slow drift of the machine's load falls
    on all of them alike."""
    k = rep % len(items) if items else 0
    return items[k:] + items[:k]


def med_spread(values):
    """(median, min, max) of the values that are not None, or (None,)*3."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None, None
    return statistics.median(v), min(v), max(v)


def fmt_spread(values, fmt="%.2f"):
    m, lo, hi = med_spread(values)
    if m is None:
        return "-"
    return fmt % m if lo == hi else (fmt + " (" + fmt + ".." + fmt + ")") % (m, lo, hi)


def ratio_verdict(ratios, limit):
    """PASS, MISS or NOISE for a target "at most limit" on ratios taken per
    repetition of two costs above a floor. A ratio is None where a cost
    came out at or below the floor: the difference is noise, not a saving,
    so such repetitions never count towards a PASS; when they are half or
    more of the repetitions there is no verdict."""
    good = [r for r in ratios if r is not None]
    if not good or len(good) * 2 <= len(ratios):
        return "NOISE"
    return "PASS" if statistics.median(good) <= limit else "MISS"
