#!/usr/bin/python3
"""anyns benchmark: anynsd beside NSD and Knot DNS under dnsperf (bench/README.md).

Run through `make bench` (or `make bench FULL=1`, `make bench PROFILE=1`).
Environment:
  B=build            build directory holding anynsd and anyns-reflector
  FULL=1             long run: more repetitions, longer runs, every zone size
  PROFILE=1          also count instructions per query under valgrind callgrind
  BENCH_SERVERS      comma list, default "reflector,anynsd,nsd,knot"
  BENCH_SERVER_CPUS  cores for the server (taskset list), default "1"
  BENCH_CLIENT_CPUS  cores for dnsperf, default "0"
  BENCH_WORKERS      workers per server, default 1
  BENCH_ZIPF         Zipf exponent of query-name popularity (default 0: uniform)
  BENCH_REPS, BENCH_DUR, BENCH_RATES (comma list), BENCH_SKIP (comma list of
  phases: rates,maxrate,load,reload) override the defaults below.
  BENCH_NOISE_PCT    retry a rate burst when others held more than this % of
                     the server core (default 10), BENCH_RETRIES times (default 2)
  BENCH_QUIET_WAIT   seconds the rate phase may wait for a quiet core (60)

Every server is pinned to the same core(s) (every thread, re-pinned after
start) with the same number of workers, rate limiting off, on 127.0.0.1;
dnsperf runs pinned to another core. For the CPU figures all servers run at
once and each repetition gives each of them one short burst in turn (rotated
order); CPU is the scheduler run time of every thread of the server's session
(/proc/PID/task/TID/schedstat), so NSD's forked servers count.
Nothing here fails the build: targets print PASS or MISS.
"""
import atexit
import csv
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.environ.get("B") or "build"
BIN = os.path.join(ROOT, B)
RES = os.path.join(ROOT, "bench", "results")
TMP = os.path.join(RES, "tmp")
FULL = os.environ.get("FULL", "") not in ("", "0")
PROFILE = os.environ.get("PROFILE", "") not in ("", "0")
ORIGIN = "bench.example"
SERVER_CPUS = os.environ.get("BENCH_SERVER_CPUS", "1")
CLIENT_CPUS = os.environ.get("BENCH_CLIENT_CPUS", "0")
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
HZ = os.sysconf("SC_CLK_TCK")


def env_list(name, default):
    v = os.environ.get(name)
    return [x for x in (v.split(",") if v else default) if x]


REPS = int(os.environ.get("BENCH_REPS", 9 if FULL else 7))
DUR = int(os.environ.get("BENCH_DUR", 10 if FULL else 3))
# A burst during which others held more than NOISE_PCT % of the server's core is
# retried up to RETRIES times (bench/README.md, "Reading the numbers").
NOISE_PCT = float(os.environ.get("BENCH_NOISE_PCT", "10"))
RETRIES = int(os.environ.get("BENCH_RETRIES", "2"))
RATES = [int(x) for x in env_list("BENCH_RATES", ["20000", "40000", "70000", "100000"]
                                   if FULL else ["40000", "100000"])]
TARGET_RATES = (40000, 100000)
SEARCH_DUR = 5 if FULL else 3
RELOAD_RATE, RELOADS = 20000, 10
LOAD_SIZES = [10000, 100000, 1000000] if FULL else [1000000]
RATE_ZONE = 100000          # zone size for the rate, latency and reload runs
SERVERS = env_list("BENCH_SERVERS", ["reflector", "anynsd", "nsd", "knot"])
SKIP = set(env_list("BENCH_SKIP", []))
PEERS = ("nsd", "knot")
LOSS_OK = 0.001             # "answered with < 0.1% loss"
ZIPF = float(os.environ.get("BENCH_ZIPF", "0"))  # query popularity; 0 = uniform


def log(msg):
    print("bench: " + msg, flush=True)


# ---- processes ---------------------------------------------------------------

_live = []  # Popen objects of the sessions we started; killed on any exit


def _cleanup():
    for p in list(_live):
        stop_session(p)


atexit.register(_cleanup)


def _on_signal(sig, frame):
    sys.exit(128 + sig)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def start_session(argv, logpath, cpus=SERVER_CPUS):
    """Starts argv pinned to cpus in its own session (so that every process it
    forks can be found and stopped by the session id)."""
    lf = open(logpath, "ab")
    p = subprocess.Popen(["taskset", "-c", cpus] + argv, stdout=lf, stderr=lf,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    lf.close()
    _live.append(p)
    return p


def session_pids(sid):
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
        if int(fields[3]) == sid:  # field 6 of stat: session id
            pids.append(int(d))
    return pids


def session_cpu(sid):
    """CPU seconds used by every process of the session so far."""
    total = 0
    for pid in session_pids(sid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # fields[11..14] = utime stime cutime cstime (stat fields 14..17)
        total += sum(int(x) for x in fields[11:15])
    return total / HZ


def session_runtime(sid):
    """Scheduler run time in seconds of every thread of the session so far, from
    /proc/PID/task/TID/schedstat (first field, ns): the kernel's own exact
    count, read per thread at the instant of the call. (utime+stime come from
    tick samples that the kernel rescales to this same run time, so the two
    agree within ~1% here; this one is used, utime+stime kept in the JSON.)
    Threads that exited are not counted (none do during the rate runs). Without
    IRQ time accounting it includes the softirqs that ran while the server was
    on the CPU, as utime+stime do."""
    total = 0
    for pid in session_pids(sid):
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9


def softirqd_runtime(cpus=SERVER_CPUS):
    """Run time in seconds of the ksoftirqd threads of the given cores: network
    work the kernel deferred there (it is charged to no server)."""
    want = {"ksoftirqd/%d" % c for c in _cpu_list(cpus)}
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() not in want:
                    continue
            with open("/proc/%s/schedstat" % d) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def pin_session(sid, cpus=SERVER_CPUS):
    """Pins every thread of the session to cpus; returns the threads that had
    to be moved. taskset at start is not enough: Knot pins its UDP worker i to
    CPU i % ncpus itself when the thread starts (on this 2-core machine worker
    0 lands on CPU 0, the dnsperf core), so it is moved back once it runs."""
    want, moved = _cpu_list(cpus), []
    for pid in session_pids(sid):
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                if os.sched_getaffinity(int(t)) != want:
                    os.sched_setaffinity(int(t), want)
                    moved.append(int(t))
            except OSError:
                continue
    return moved


def _cpu_list(spec):
    out = set()
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def core_busy(cpus=SERVER_CPUS):
    """Busy (non-idle) seconds of the given cores, from /proc/stat."""
    want = _cpu_list(cpus)
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m and int(m.group(1)) in want:
                v = [int(x) for x in m.group(2).split()]
                busy += sum(v) - v[3] - v[4]  # minus idle and iowait
    return busy / HZ


def session_switches(sid):
    """Voluntary context switches of every thread of the session: each one is
    the server going to sleep with nothing to read, i.e. one wake-up later."""
    total = 0
    for pid in session_pids(sid):
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            total += int(line.split()[1])
            except OSError:
                continue
    return total


def session_mem(sid):
    """(PSS MiB summed, RSS MiB summed, peak RSS MiB of the largest process).
    PSS splits pages shared after fork() between the processes, so NSD's forked
    servers are not counted twice."""
    pss = rss = hwm = 0
    for pid in session_pids(sid):
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            continue
    return pss / 1024.0, rss / 1024.0, hwm / 1024.0


def stop_session(p, timeout=10):
    if p not in _live:
        return
    _live.remove(p)
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    # Forked children (NSD) may outlive the leader: wait for the group, then force.
    deadline = time.time() + timeout
    while session_pids(p.pid) and time.time() < deadline:
        time.sleep(0.05)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        p.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass


def free_port():
    import socket
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            s.close()
    raise RuntimeError("no free port")


# ---- DNS probes ----------------------------------------------------------------

def probe(port, name, rtype, expect, timeout=0.1):
    """True when the server answers name/rtype with an RR whose text is expect."""
    import dns.message
    import dns.query
    import dns.rcode
    try:
        q = dns.message.make_query(name, rtype)
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    except Exception:
        return False
    if r.rcode() != dns.rcode.NOERROR:
        return False
    for rrset in r.answer:
        for rd in rrset:
            if rd.to_text().split()[2 if rtype == "SOA" else 0] == expect:
                return True
    return False


def wait_answer(port, name, rtype, expect, limit, proc=None):
    """Seconds until the first correct answer, or None after limit seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if probe(port, name, rtype, expect):
            return time.monotonic() - t0
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(0.01)
    return None


# ---- zones ---------------------------------------------------------------------

def addr4(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


class Zone:
    def __init__(self, records):
        self.records = records
        self.path = os.path.join(TMP, "zone-%d.zone" % records)
        self.queries = os.path.join(TMP, "queries-%d.txt" % records)
        out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "gen_zone.py"),
                              "--records", str(records), "--origin", ORIGIN,
                              "--zone", self.path, "--queries", self.queries,
                              "--nq", "100000", "--zipf", str(ZIPF)],
                             check=True, capture_output=True, text=True)
        last = int(out.stdout.strip())
        while last % 10 > 4:  # probe an A-only or A+AAAA name: h<i>
            last -= 1
        self.probe = ("h%d.%s." % (last, ORIGIN), "A", addr4(last))


def reload_bump(path, serial):
    """Writes a new 10-digit SOA serial in place (same length, so no rewrite)."""
    with open(path, "r+b") as f:
        head = f.read(512)
        m = re.search(rb"SOA\s+\S+\s+\S+\s+(\d{10})", head)
        f.seek(m.start(1))
        f.write(b"%010d" % serial)
    # Some servers compare mtimes in whole seconds; make it clearly newer.
    t = time.time()
    os.utime(path, (t, t))


# ---- servers -------------------------------------------------------------------

class Server:
    name = "?"
    peer = False

    def __init__(self):
        self.proc = None
        self.dir = os.path.join(TMP, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.logpath = os.path.join(self.dir, "log.txt")

    program = None  # a path (built by us) or a command name (from Debian)

    def available(self):
        """None, or why this server cannot run."""
        if os.sep in self.program:
            return None if os.access(self.program, os.X_OK) else "%s not built" % self.program
        return None if shutil.which(self.program) else "%s not installed" % self.program

    def argv(self, zone_path, port):
        raise NotImplementedError

    def start(self, zone_path, port, wrap=None):
        self.port = port
        self.zone_path = zone_path
        argv = self.argv(zone_path, port)
        if wrap:
            argv = wrap + argv
        self.proc = start_session(argv, self.logpath)
        return self.proc

    def stop(self):
        if self.proc is not None:
            stop_session(self.proc)
            self.proc = None

    def cpu(self):
        return session_cpu(self.proc.pid)

    def reload(self):
        raise NotImplementedError


class Reflector(Server):
    name = "reflector"
    program = os.path.join(BIN, "anyns-reflector")

    def argv(self, zone_path, port):
        # The same 4 MiB receive buffer anynsd asks for: the floor is the
        # kernel's cost per datagram, not drops from a small default buffer.
        return [self.program, "--listen", "127.0.0.1:%d" % port,
                "--workers", str(WORKERS), "--rcvbuf", str(4 << 20)]


class Anynsd(Server):
    name = "anynsd"
    program = os.path.join(BIN, "anynsd")

    def argv(self, zone_path, port):
        return [self.program, "--listen", "127.0.0.1:%d" % port,
                "--zone", "%s=%s" % (ORIGIN, zone_path), "--workers", str(WORKERS),
                "-l", "info"]  # info: the exit line carries the cache counters

    def reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)  # anynsd: SIGHUP re-reads the zone files

    def cache_stats(self):
        """(hits, misses) from the stats line anynsd logs when it exits."""
        try:
            with open(self.logpath, errors="replace") as f:
                lines = [l for l in f if "cache-hits=" in l]
        except OSError:
            return None
        if not lines:
            return None
        m = re.search(r"cache-hits=(\d+) cache-misses=(\d+)", lines[-1])
        return (int(m.group(1)), int(m.group(2))) if m else None


class Nsd(Server):
    name = "nsd"
    peer = True
    program = "nsd"

    def argv(self, zone_path, port):
        d = self.dir
        conf = os.path.join(d, "nsd.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  server-count: {WORKERS}
  reuseport: yes
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
  tcp-count: 100
  # rate limiting off (bench/README.md: same rules for every server)
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: {ORIGIN}
  zonefile: "{zone_path}"
""")
        for stale in ("zone.list", "xfrd.state", "nsd.pid"):
            try:
                os.unlink(os.path.join(d, stale))
            except FileNotFoundError:
                pass
        return ["nsd", "-d", "-c", conf]

    def reload(self):
        # NSD's main process re-forks on reload; the pid file names the current one.
        with open(os.path.join(self.dir, "nsd.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGHUP)


class Knot(Server):
    name = "knot"
    peer = True
    program = "knotd"

    def argv(self, zone_path, port):
        d = self.dir
        shutil.rmtree(os.path.join(d, "db"), ignore_errors=True)
        os.makedirs(os.path.join(d, "db"), exist_ok=True)
        self.conf = os.path.join(d, "knot.conf")
        with open(self.conf, "w") as f:
            # No rrl module in the template: rate limiting off.
            f.write(f"""server:
  rundir: "{d}"
  listen: 127.0.0.1@{port}
  udp-workers: {WORKERS}
  tcp-workers: 1
  background-workers: 1
database:
  storage: "{d}/db"
log:
  - target: stderr
    any: warning
control:
  listen: "{d}/knot.sock"
template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: {ORIGIN}
    file: "{zone_path}"
""")
        return ["knotd", "-c", self.conf]

    def reload(self):
        subprocess.run(["knotc", "-c", self.conf, "zone-reload", ORIGIN],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)


SERVER_CLASSES = {"reflector": Reflector, "anynsd": Anynsd, "nsd": Nsd, "knot": Knot}


# ---- dnsperf -----------------------------------------------------------------------

def dnsperf(port, qfile, rate, dur, verbose_to=None, nmax=None):
    argv = ["taskset", "-c", CLIENT_CPUS, "dnsperf", "-s", "127.0.0.1", "-p", str(port),
            "-d", qfile, "-c", "8", "-q", "1000", "-t", "1", "-b", "4096"]
    if dur:
        argv += ["-l", str(dur)]
    if rate:
        argv += ["-Q", str(rate)]
    if nmax:
        argv += ["-n", str(nmax)]
    if verbose_to:
        argv.append("-v")
        with open(verbose_to, "wb") as f:
            subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=dur * 3 + 60 if dur else 600)
        with open(verbose_to, "r", errors="replace") as f:
            text = f.read()
    else:
        text = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=dur * 3 + 60 if dur else 600).stdout
    r = {"offered": rate}

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
        os.unlink(verbose_to)
    return r


def loss(r):
    return r["lost"] / r["sent"] if r["sent"] else 1.0


# ---- phases --------------------------------------------------------------------------

def start_ready(srv, zone, limit=120):
    port = free_port()
    p = srv.start(zone.path, port)
    if srv.name == "reflector":
        # It answers anything: ready when any reply comes back.
        t = 0.0 if _wait_reflect(port) else None
    else:
        t = wait_answer(port, *zone.probe, limit, p)
    if t is None:
        tail = ""
        try:
            with open(srv.logpath, errors="replace") as f:
                tail = f.read()[-600:]
        except OSError:
            pass
        srv.stop()
        raise RuntimeError("%s gave no correct answer for %s within %ds: %s"
                           % (srv.name, zone.probe[0], limit, tail.strip()))
    moved = pin_session(p.pid)
    if moved:
        log("%s: moved %d thread(s) that had left core(s) %s back to them"
            % (srv.name, len(moved), SERVER_CPUS))
    return t


def _reflect_probe(port):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.1)
    try:
        s.sendto(b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01",
                 ("127.0.0.1", port))
        data = s.recv(512)
        return data[:2] == b"\x12\x34" and data[2] & 0x80
    except OSError:
        return False
    finally:
        s.close()


def _burst(srv, zone, rate):
    """One dnsperf run of DUR s against a running server, with the server's CPU
    time, its wake-ups and what everybody else did on its core meanwhile."""
    sid = srv.proc.pid
    c0, w0, b0, x0 = srv.cpu(), session_switches(sid), core_busy(), session_runtime(sid)
    k0 = softirqd_runtime()
    t0 = time.monotonic()
    vfile = os.path.join(TMP, "dnsperf-v.txt") if rate <= 50000 else None
    r = dnsperf(srv.port, zone.queries, rate, DUR, verbose_to=vfile)
    c1, w1, b1, x1 = srv.cpu(), session_switches(sid), core_busy(), session_runtime(sid)
    k1 = softirqd_runtime()
    # Busy time of the server's core not charged to the server: the noise gauge.
    # Both sides are tick samples (/proc/stat and utime+stime), so they compare.
    r["others_on_core_pct"] = max(0.0, 100.0 * ((b1 - b0) - (c1 - c0)) /
                                  (time.monotonic() - t0) / len(_cpu_list(SERVER_CPUS)))
    r["wakeups_per_q"] = (w1 - w0) / r["completed"] if r["completed"] else None
    n = r["completed"]
    r["cpu_tick_s"] = c1 - c0
    r["cpu_tick_us_per_q"] = (c1 - c0) * 1e6 / n if n else None
    # The CPU figures use the exact scheduler run time when the kernel has it.
    r["cpu_s"] = x1 - x0 if x1 > 0 else c1 - c0
    r["cpu_source"] = "schedstat" if x1 > 0 else "utime+stime"
    r["cpu_us_per_q"] = r["cpu_s"] * 1e6 / n if n else None
    # Deferred softirq work on the server core (ksoftirqd): not in the server's
    # figure (nor in anybody's), counted in the noise gauge; kept to show it.
    r["ksoftirqd_us_per_q"] = (k1 - k0) * 1e6 / n if n else None
    return r


def wait_quiet(budget):
    """Waits, at most budget[0] seconds (spent from it), until the server core
    was no busier than NOISE_PCT over a 0.25 s window. Between bursts every
    server is idle, so whatever keeps the core busy then is someone else: a
    burst started then has a better chance than one retried blindly."""
    t0 = time.monotonic()
    ncpu = len(_cpu_list(SERVER_CPUS))
    while True:
        b0, w0 = core_busy(), time.monotonic()
        time.sleep(0.25)
        busy = 100.0 * (core_busy() - b0) / (time.monotonic() - w0) / ncpu
        if busy <= NOISE_PCT or time.monotonic() - t0 >= budget[0]:
            break
    waited = time.monotonic() - t0
    budget[0] = max(0.0, budget[0] - waited)
    return waited, busy


def phase_rates(servers, zone, results):
    """CPU per answered query and latency at fixed offered rates.

    Every server is started once and kept running (all pinned to the same
    core; an idle server costs nothing). Each repetition then runs one short
    dnsperf burst per rate against each server in turn, the order rotated from
    one repetition to the next, so that a slow drift of the machine's load hits
    every server alike and each repetition carries its own floor (reflector).
    A burst during which other processes held more than NOISE_PCT of the
    server's core is retried, at most RETRIES times per burst and within a
    retry budget for the whole phase; the quietest attempt is kept and flagged
    "noisy" when even that one was above the threshold (bench/README.md,
    "Reading the numbers on this machine")."""
    live = []
    for srv in servers:
        try:
            start_ready(srv, zone)
            live.append(srv)
        except RuntimeError as e:
            log(str(e))
            results["errors"].append(str(e))
    if not live:
        return
    # Warm-up: fill answer caches and let each server settle before counting.
    for srv in live:
        dnsperf(srv.port, zone.queries, min(RATES), 1)
    budget = REPS * len(RATES) * len(live) // 2  # retries for the whole phase
    # Seconds the phase may spend waiting for a quiet core before bursts.
    wait_budget = [float(os.environ.get("BENCH_QUIET_WAIT", 60))]
    t_end = time.monotonic() + 3 * REPS * len(RATES) * len(live) * (DUR + 1)
    for rep in range(REPS):
        order = live[rep % len(live):] + live[:rep % len(live)]
        for rate in RATES:
            for srv in order:
                if srv.proc.poll() is not None:
                    results["errors"].append("%s exited during the rate runs" % srv.name)
                    continue
                attempts = []
                waited = 0.0
                while True:
                    time.sleep(0.2)  # let the previous burst's stragglers drain
                    waited += wait_quiet(wait_budget)[0]
                    a = _burst(srv, zone, rate)
                    attempts.append(a)
                    if a["others_on_core_pct"] <= NOISE_PCT:
                        break
                    if len(attempts) > RETRIES or budget <= 0 or time.monotonic() > t_end:
                        break
                    budget -= 1
                    log("rep %d %-9s %6d qps: others held %.0f%% of the server core, retrying"
                        % (rep + 1, srv.name, rate, a["others_on_core_pct"]))
                r = dict(min(attempts, key=lambda x: x["others_on_core_pct"]))
                r["rep"] = rep
                r["attempts"] = len(attempts)
                r["waited_for_quiet_s"] = round(waited, 2)
                r["noisy"] = r["others_on_core_pct"] > NOISE_PCT
                r["others_all_attempts"] = [round(x["others_on_core_pct"], 1) for x in attempts]
                results["rates"].setdefault(srv.name, {}).setdefault(str(rate), []).append(r)
                log("rep %d %-9s %6d qps offered: %.0f answered, loss %.3f%%, cpu %.2f us/q, "
                    "(ticks %.2f, ksoftirqd %.2f), avg %.0f us%s, others %.0f%%%s  [%s]"
                    % (rep + 1, srv.name, rate, r["qps"], 100 * loss(r), r["cpu_us_per_q"] or -1,
                       r["cpu_tick_us_per_q"] or -1, r["ksoftirqd_us_per_q"] or 0,
                       r["avg_lat_us"], ", p99 %.0f us" % r["p99_lat_us"] if "p99_lat_us" in r else "",
                       r["others_on_core_pct"], " NOISY" if r["noisy"] else "", r["rcodes"]))
        # Memory after traffic: caches filled by the queries count too.
        for srv in live:
            if srv.proc.poll() is None:
                pss, _, _ = session_mem(srv.proc.pid)
                results["mem_after"].setdefault(srv.name, []).append(pss)
    for srv in live:
        srv.stop()
        if hasattr(srv, "cache_stats"):
            cs = srv.cache_stats()
            if cs and sum(cs):
                results["cache"].append(100.0 * cs[0] / sum(cs))
                log("anynsd answer cache over the rate runs: %d hits, %d misses (%.1f%%)"
                    % (cs[0], cs[1], results["cache"][-1]))


def phase_maxrate(servers, zone, results):
    """Highest offered rate answered with < 0.1% loss: step up by 1.5x until a
    miss, then bisect twice. A rate dnsperf itself cannot reach (no loss but
    fewer than 95% of the offered queries sent) ends the search: 'client-bound'."""
    for srv in servers:
        try:
            start_ready(srv, zone)
        except RuntimeError as e:
            log(str(e))
            results["errors"].append(str(e))
            continue
        probes = []

        def ok(rate):
            r = dnsperf(srv.port, zone.queries, rate, SEARCH_DUR)
            good = loss(r) < LOSS_OK
            bound = good and r["qps"] < 0.95 * rate
            probes.append({"rate": rate, "qps": r["qps"], "loss": loss(r)})
            log("max-rate %-9s %6d offered: %.0f answered, loss %.3f%%%s"
                % (srv.name, rate, r["qps"], 100 * loss(r), " (client-bound)" if bound else ""))
            return good, bound, r["qps"]
        best, bound_hit, lo, hi = 0, False, None, None
        rate = 40000
        while True:
            good, bound, qps = ok(rate)
            if bound:
                # dnsperf shares its core with the rest of the machine: one retry
                # before calling the rate out of the client's reach.
                good, bound, qps = ok(rate)
            if bound:
                best, bound_hit = max(best, qps), True
                break
            if not good:
                hi = rate
                break
            lo = best = rate
            rate = int(rate * 1.5)
        if not bound_hit and hi is not None:
            lo = lo or 5000
            for _ in range(2):
                mid = (lo + hi) // 2
                good, bound, qps = ok(mid)
                if good and not bound:
                    lo = best = mid
                else:
                    hi = mid
        results["maxrate"][srv.name] = {"rate": best, "client_bound": bound_hit, "probes": probes}
        srv.stop()


def phase_load(servers, results):
    """Zone load time to the first correct answer and memory, per zone size."""
    for size in LOAD_SIZES:
        zone = Zone(size)
        for srv in servers:
            if srv.name == "reflector":
                continue
            port = free_port()
            t0 = time.monotonic()
            p = srv.start(zone.path, port)
            t = wait_answer(port, *zone.probe, 600, p)
            if t is None:
                log("%s: no correct answer for the %d-record zone" % (srv.name, size))
                results["errors"].append("%s: %d-record zone not served" % (srv.name, size))
                srv.stop()
                continue
            t = time.monotonic() - t0
            time.sleep(2)  # let background work (Knot's, NSD's forks) settle
            pss, rss, hwm = session_mem(p.pid)
            results["load"].setdefault(srv.name, {})[str(size)] = {
                "load_s": t, "pss_mib": pss, "rss_mib": rss, "hwm_mib": hwm}
            log("load %-7s %8d records: first correct answer after %.2f s, PSS %.0f MiB, "
                "RSS %.0f MiB, peak %.0f MiB" % (srv.name, size, t, pss, rss, hwm))
            srv.stop()
        if size >= 1000000 and not FULL:
            for f in (zone.path, zone.queries):
                os.unlink(f)


def phase_reload(servers, zone, results):
    """Queries lost while the zone is reloaded RELOADS times under RELOAD_RATE qps.
    Each reload first bumps the serial, so every server really reloads."""
    for srv in servers:
        if srv.name == "reflector":
            continue
        zpath = os.path.join(TMP, "reload-%s.zone" % srv.name)
        shutil.copyfile(zone.path, zpath)
        z = Zone.__new__(Zone)
        z.path, z.queries, z.probe = zpath, zone.queries, zone.probe
        try:
            start_ready(srv, z)
        except RuntimeError as e:
            log(str(e))
            results["errors"].append(str(e))
            continue
        dur = RELOADS + 4
        argv = ["taskset", "-c", CLIENT_CPUS, "dnsperf", "-s", "127.0.0.1", "-p", str(srv.port),
                "-d", zone.queries, "-c", "8", "-q", "1000", "-t", "1", "-b", "4096",
                "-l", str(dur), "-Q", str(RELOAD_RATE)]
        perf = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        serial = 2026010100
        time.sleep(1.5)
        for _ in range(RELOADS):
            serial += 1
            reload_bump(zpath, serial)
            try:
                srv.reload()
            except (OSError, ValueError, subprocess.SubprocessError) as e:
                results["errors"].append("%s: reload failed: %s" % (srv.name, e))
            time.sleep(1.0)
        out, _ = perf.communicate(timeout=dur + 60)
        seen = wait_answer(srv.port, ORIGIN + ".", "SOA", str(serial), 30)
        m = {k: re.search(pat, out) for k, pat in
             (("sent", r"Queries sent:\s+(\d+)"), ("lost", r"Queries lost:\s+(\d+)"))}
        r = {k: int(v.group(1)) if v else None for k, v in m.items()}
        r["final_serial_served"] = seen is not None
        results["reload"][srv.name] = r
        log("reload %-7s %d reloads under %d qps: %s of %s queries lost, final serial %s"
            % (srv.name, RELOADS, RELOAD_RATE, r["lost"], r["sent"],
               "served" if seen is not None else "NOT served"))
        srv.stop()


# ---- callgrind ------------------------------------------------------------------------

def _cg_totals(outdir, want_dump):
    """Sums "totals:" over callgrind output files; with want_dump only over the
    parts written by a dump request (they hold exactly what ran between
    "instrumentation on" and the dump; the part written at exit, the shutdown)."""
    total, files = 0, []
    for fn in sorted(os.listdir(outdir)):
        path = os.path.join(outdir, fn)
        dump, tot = False, 0
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("desc: Trigger:") and "dump" in line.lower():
                    dump = True
                elif line.startswith("totals:"):
                    tot = int(line.split()[1])
                    break
        if dump == want_dump and 0 < tot < (1 << 62):
            total += tot
            files.append(path)
    return total, files


def _cg_run(srv, zone, qfile, nq, outdir, toggle):
    """One server under callgrind. toggle: instrumentation starts off and is
    switched on through vgdb once the zone is loaded (exact, but vgdb does not
    reach forked children); otherwise everything is counted to the exit."""
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=%s" % ("no" if toggle else "yes"),
            "--callgrind-out-file=%s/callgrind.out.%%p" % outdir]
    port = free_port()
    p = srv.start(zone.path, port, wrap=wrap)
    ok = (_wait_reflect(port) if srv.name == "reflector"
          else wait_answer(port, *zone.probe, 300, p) is not None)
    if not ok:
        srv.stop()
        return None
    # One pass first so that answer caches are as warm as they get in the
    # rate runs, where dnsperf loops over its query file.
    dnsperf(port, qfile, 2000, None, nmax=1)
    time.sleep(1)
    pids = [str(x) for x in session_pids(p.pid)]
    if toggle:
        for pid in pids:
            subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, timeout=30)
    done = 0
    if nq:
        r = dnsperf(port, qfile, 2000, None, nmax=1)
        done = r["completed"]
    if toggle:
        for pid in pids:
            subprocess.run(["callgrind_control", "-d", pid], capture_output=True, timeout=60)
    time.sleep(1)
    srv.stop()
    total, files = _cg_totals(outdir, toggle)
    return total, files, done


def phase_profile(servers, results):
    """Instructions per answered query under callgrind, for a fixed query count.
    Single-process servers: instrumentation switched on after the load, then a
    dump. NSD forks its server processes after loading, out of vgdb's reach:
    it runs twice, with the queries and without, and the difference counts.
    Both ways, a first pass over the same queries warms caches up uncounted."""
    if not shutil.which("valgrind"):
        results["errors"].append("valgrind not installed: no profile")
        return
    zone = Zone(10000)
    nq = 20000
    qmix = os.path.join(TMP, "queries-profile.txt")
    with open(zone.queries) as f, open(qmix, "w") as g:
        g.writelines(f.readlines()[:nq])
    # "hot": 200 host names asked 100 times each; every answer cache holds them.
    qhot = os.path.join(TMP, "queries-profile-hot.txt")
    with open(qhot, "w") as g:
        g.write("\n".join(["h%d.%s A" % (i * 10, ORIGIN) for i in range(200)] * (nq // 200)) + "\n")
    for mix, qfile in (("mix", qmix), ("hot", qhot)):
        for srv in servers:
            outdir = os.path.join(TMP, "callgrind-%s-%s" % (mix, srv.name))
            forks = srv.name == "nsd"
            run = _cg_run(srv, zone, qfile, nq, outdir, toggle=not forks)
            if run is None:
                results["errors"].append("%s: not ready under valgrind" % srv.name)
                continue
            total, files, done = run
            method = "vgdb toggle"
            if forks:
                base = _cg_run(srv, zone, qfile, 0, outdir + "-base", toggle=False)
                if base is None:
                    results["errors"].append("%s: baseline run under valgrind failed" % srv.name)
                    continue
                total -= base[0]
                method = "difference of runs with and without the counted pass"
            ipq = total / done if done else None
            results["profile"].setdefault(mix, {})[srv.name] = {
                "instructions": total, "queries": done, "ins_per_query": ipq, "method": method}
            log("callgrind %s %-9s %d queries answered, %s instructions per query (%s)"
                % (mix, srv.name, done, "%.0f" % ipq if ipq else "?", method))
            if files:
                path = os.path.join(RES, "profile-%s-%s.txt" % (mix, srv.name))
                with open(path, "w") as f:
                    for incl in ("no", "yes"):
                        ann = subprocess.run(["callgrind_annotate", "--inclusive=" + incl] + files,
                                             capture_output=True, text=True).stdout
                        f.write("# callgrind_annotate --inclusive=%s (first 60 lines)\n" % incl)
                        f.write("\n".join(ann.splitlines()[:60]) + "\n\n")


def _wait_reflect(port):
    for _ in range(500):
        if _reflect_probe(port):
            return True
        time.sleep(0.05)
    return False


# ---- report --------------------------------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def cpu_by_rep(results, k):
    """{server: {rep: (cpu_us_per_q, noisy)}} for one rate, complete bursts only."""
    out = {}
    for srv, by_rate in results["rates"].items():
        for r in by_rate.get(k, []):
            if r.get("cpu_us_per_q") is not None:
                out.setdefault(srv, {})[r["rep"]] = (r["cpu_us_per_q"], r.get("noisy", False))
    return out


def clean_reps(cpu):
    """(repetitions to use, quiet ones). Quiet: every burst of the repetition
    had others below NOISE_PCT. Only those are used when they are at least half
    of the repetitions; otherwise all are, and the report says so. Turns cpu
    into {server: {rep: us}} in place."""
    reps = sorted(set().union(*(v.keys() for v in cpu.values()))) if cpu else []
    quiet = [i for i in reps if all(i in v and not v[i][1] for v in cpu.values())]
    for srv in cpu:
        cpu[srv] = {i: v[0] for i, v in cpu[srv].items()}
    return (quiet if len(quiet) >= max(1, (len(reps) + 1) // 2) else reps), quiet


def summarize(results):
    """rows: (metric, unit, {server: (median, lo, hi)}, better='low'|'high')."""
    rows = []
    rates = results["rates"]
    for rate in RATES:
        k = str(rate)
        cpu = cpu_by_rep(results, k)
        reps, quiet = clean_reps(cpu)
        results.setdefault("cpu_reps_used", {})[k] = {"used": reps, "quiet": quiet}
        vals = {s: [cpu[s][i] for i in reps if i in cpu[s]] for s in cpu}
        rows.append(("cpu_us_per_query@%d" % rate, "us", {s: (med(v),) + spread(v) for s, v in vals.items()}, "low"))
        if "reflector" not in cpu:
            continue
        # Cost above floor per repetition, from that repetition's own floor.
        above = {s: {i: cpu[s][i] - cpu["reflector"][i] for i in reps
                     if i in cpu[s] and i in cpu["reflector"]}
                 for s in cpu if s != "reflector"}
        rows.append(("cost_above_floor@%d" % rate, "us",
                     {s: (med(v.values()),) + spread(v.values()) for s, v in above.items()}, "low"))
        # anynsd / best peer within each repetition, then the median of those.
        ratios = []
        for i in reps:
            peers = [above[p][i] for p in PEERS if p in above and i in above[p]]
            if "anynsd" not in above or i not in above["anynsd"] or not peers:
                continue
            bp = min(peers)
            # A peer at or below the floor leaves nothing to compare: not a pass.
            ratios.append(above["anynsd"][i] / bp if bp > 0 else float("inf"))
        if ratios:
            results.setdefault("cpu_ratio_per_rep", {})[k] = ratios
            rows.append(("cost_ratio_per_rep@%d" % rate, "x",
                         {"anynsd": (med(ratios),) + spread(ratios)}, "low"))
    for rate in RATES:
        k = str(rate)
        wk = {s: [r.get("wakeups_per_q") for r in rates.get(s, {}).get(k, [])] for s in rates}
        rows.append(("wakeups_per_query@%d" % rate, "", {s: (med(v),) + spread(v) for s, v in wk.items()}, "low"))
        ot = {s: [r.get("others_on_core_pct") for r in rates.get(s, {}).get(k, [])] for s in rates}
        rows.append(("others_on_server_core@%d" % rate, "%", {s: (med(v),) + spread(v) for s, v in ot.items()}, "low"))
    for rate in RATES:
        k = str(rate)
        avg = {s: [r["avg_lat_us"] for r in rates.get(s, {}).get(k, [])] for s in rates}
        rows.append(("avg_latency@%d" % rate, "us", {s: (med(v),) + spread(v) for s, v in avg.items()}, "low"))
        p99 = {s: [r.get("p99_lat_us") for r in rates.get(s, {}).get(k, [])] for s in rates}
        if any(med(v) is not None for v in p99.values()):
            rows.append(("p99_latency@%d" % rate, "us", {s: (med(v),) + spread(v) for s, v in p99.items()}, "low"))
        got = {s: [r["qps"] for r in rates.get(s, {}).get(k, [])] for s in rates}
        rows.append(("answered_qps@%d" % rate, "qps", {s: (med(v),) + spread(v) for s, v in got.items()}, "high"))
        ls = {s: [100.0 * loss(r) for r in rates.get(s, {}).get(k, [])] for s in rates}
        rows.append(("loss_pct@%d" % rate, "%", {s: (med(v),) + spread(v) for s, v in ls.items()}, "low"))
    if results["mem_after"]:
        rows.append(("memory_pss_after_traffic_%s" % _size(RATE_ZONE), "MiB",
                     {s: (med(v),) + spread(v) for s, v in results["mem_after"].items()
                      if s != "reflector"}, "low"))
    if results["cache"]:
        v = results["cache"]
        rows.append(("anynsd_cache_hit_pct", "%", {"anynsd": (med(v),) + spread(v)}, "high"))
    if results["maxrate"]:
        rows.append(("max_rate_lt_0.1pct_loss", "qps",
                     {s: (v["rate"], v["rate"], v["rate"]) for s, v in results["maxrate"].items()}, "high"))
        for s, v in results["maxrate"].items():
            if v["client_bound"]:
                LOWER_BOUND.add(("max_rate_lt_0.1pct_loss", s))
    for size in LOAD_SIZES:
        k = str(size)
        for key, name, unit in (("load_s", "load_time", "s"), ("pss_mib", "memory_pss", "MiB"),
                                ("rss_mib", "memory_rss_sum", "MiB"), ("hwm_mib", "memory_peak", "MiB")):
            vals = {s: d[k][key] for s, d in results["load"].items() if k in d}
            if vals:
                rows.append(("%s_%s" % (name, _size(size)), unit, {s: (v, v, v) for s, v in vals.items()}, "low"))
    if results["reload"]:
        rows.append(("reload_lost_queries", "q", {s: (v["lost"], v["lost"], v["lost"])
                                                 for s, v in results["reload"].items()}, "low"))
    for mix, prof in results["profile"].items():
        rows.append(("instructions_per_query_%s" % mix, "Ir",
                     {s: (v["ins_per_query"],) * 3 for s, v in prof.items()}, "low"))
        if "reflector" in prof and prof["reflector"]["ins_per_query"]:
            fl = prof["reflector"]["ins_per_query"]
            rows.append(("instructions_above_floor_%s" % mix, "Ir",
                         {s: ((v["ins_per_query"] - fl),) * 3 for s, v in prof.items()
                          if s != "reflector" and v["ins_per_query"]}, "low"))
    return rows


# (metric, server) cells that are only lower bounds: dnsperf could not offer more.
LOWER_BOUND = set()


def _size(n):
    return "1M" if n >= 1000000 else "%dk" % (n // 1000)


def best_peer(cells, better):
    vals = [(cells[p][0], p) for p in PEERS if p in cells and cells[p][0] is not None]
    if not vals:
        return None, None
    return (min(vals) if better == "low" else max(vals))


def targets(rows, results):
    """(name, measured ratio or value, limit, PASS/MISS/n.a.)"""
    by = {r[0]: r for r in rows}
    out = []

    def ratio_target(metric, limit, label):
        row = by.get(metric)
        if not row or "anynsd" not in row[2] or row[2]["anynsd"][0] is None:
            out.append((label, None, limit, "n/a"))
            return
        bv, _ = best_peer(row[2], row[3])
        a = row[2]["anynsd"][0]
        if bv is None or bv <= 0:
            out.append((label, None, limit, "n/a"))
            return
        ratio = a / bv
        out.append((label, ratio, limit, "PASS" if ratio <= limit else "MISS"))
    for rate in TARGET_RATES:
        label = "cost above floor @%dk <= 0.5x best peer" % (rate // 1000)
        row = by.get("cost_ratio_per_rep@%d" % rate)
        if row:
            # Median of the ratios taken within each repetition (same floor,
            # same minute of machine load), not the ratio of two medians.
            ratio = row[2]["anynsd"][0]
            out.append((label + " (median of per-rep ratios)", ratio, 0.5,
                        "PASS" if ratio <= 0.5 else "MISS"))
        else:
            ratio_target("cost_above_floor@%d" % rate, 0.5, label)
    # The exact complement of the CPU figures (user space only): see README.md.
    for mix in ("mix", "hot"):
        if "instructions_above_floor_%s" % mix in by:
            ratio_target("instructions_above_floor_%s" % mix, 0.5,
                         "callgrind instr. above floor (%s) <= 0.5x best peer" % mix)
    ratio_target("load_time_1M", 0.7, "1M zone load <= 0.7x faster peer")
    ratio_target("memory_pss_1M", 0.5, "1M zone memory <= 0.5x smaller peer")
    rl = results["reload"].get("anynsd")
    if rl and rl["lost"] is not None:
        out.append(("zero loss over %d reloads @%dk" % (RELOADS, RELOAD_RATE // 1000), rl["lost"], 0,
                    "PASS" if rl["lost"] == 0 and rl["final_serial_served"] else "MISS"))
    else:
        out.append(("zero loss over %d reloads @%dk" % (RELOADS, RELOAD_RATE // 1000), None, 0, "n/a"))
    return out


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit in ("qps", "q", "Ir"):
        return "%d" % round(v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def render_table(rows, cols, md=False):
    head = ["metric", "unit"] + cols + ["anynsd/best peer"]
    lines = []
    for name, unit, cells, better in rows:
        line = [name, unit]
        for c in cols:
            if c in cells and cells[c][0] is not None:
                m, lo, hi = cells[c]
                s = fmt(m, unit) + ("+" if (name, c) in LOWER_BOUND else "")
                if lo is not None and hi is not None and lo != hi:
                    s += " (%s..%s)" % (fmt(lo, unit), fmt(hi, unit))
                line.append(s)
            else:
                line.append("-")
        bv, bp = best_peer(cells, better)
        a = cells.get("anynsd", (None,))[0]
        bound = any((name, x) in LOWER_BOUND for x in ("anynsd", bp))
        line.append("%.2fx %s%s" % (a / bv, bp, " (bound)" if bound else "")
                    if a is not None and bv is not None and abs(bv) > 1e-9 else "-")
        lines.append(line)
    if md:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(l) + " |" for l in lines]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    out = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(x).ljust(w) for x, w in zip(l, widths)) for l in lines]
    return "\n".join(out)


def _csv_table(path, md):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows:
        return ""
    if md:
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows[1:]])
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def extras(md=False):
    """Numbers other parts of the project leave for the report: engineer F's
    XDP benchmark (bench/results/xdp.csv) and the lab's failover time."""
    text = []
    summ = os.path.join(RES, "xdp-summary.txt")
    if os.path.exists(summ):
        with open(summ) as f:
            text.append(("**XDP summary** (bench/results/xdp-summary.txt): " if md else
                         "XDP summary (bench/results/xdp-summary.txt): ") + f.read().strip())
    xdp = os.path.join(RES, "xdp.csv")
    if os.path.exists(xdp):
        text.append(("### XDP path (bench/results/xdp.csv)\n\n" if md else
                     "XDP path (bench/results/xdp.csv):\n") + _csv_table(xdp, md))
    lab = os.path.join(ROOT, B, "lab-failover.txt")
    if os.path.exists(lab):
        with open(lab) as f:
            text.append("Lab failover time (%s/lab-failover.txt): %s" % (B, f.read().strip()))
    return text


def capacity(rows):
    """Per-core throughput from the measured CPU per query at the highest rate
    run, and the cores 1M qps would need at 50% utilisation (headroom for
    bursts, a failed neighbour PoP's catchment, attack traffic)."""
    top = max(RATES)
    row = next((r for r in rows if r[0] == "cpu_us_per_query@%d" % top), None)
    out = []
    if not row:
        return out
    for s, cell in row[2].items():
        us = cell[0]
        if not us:
            continue
        per_core = 1e6 / us
        out.append((s, us, per_core, 1e6 / per_core / 0.5))
    return out


def cpu_quality(results, md=False):
    """How clean the CPU figures are: per rate, the quiet repetitions, the
    retried and still-noisy bursts, and anynsd's ratio in each repetition."""
    lines = []
    for rate in RATES:
        k = str(rate)
        runs = [r for v in results["rates"].values() for r in v.get(k, [])]
        if not runs:
            continue
        used = results.get("cpu_reps_used", {}).get(k, {})
        quiet, use = used.get("quiet", []), used.get("used", [])
        noisy = sum(1 for r in runs if r.get("noisy"))
        retried = sum(r.get("attempts", 1) - 1 for r in runs)
        others = [r["others_on_core_pct"] for r in runs]
        ratios = results.get("cpu_ratio_per_rep", {}).get(k, [])
        lines.append("%dk qps: %d of %d repetitions quiet (others <= %g%% of the server core in "
                     "every burst), CPU figures from %s; %d bursts retried, %d still noisy; "
                     "others median %.0f%% (max %.0f%%)%s"
                     % (rate // 1000, len(quiet), REPS, NOISE_PCT,
                        "the quiet ones" if use == quiet else "ALL (too few quiet: treat as suspect)",
                        retried, noisy, med(others), max(others),
                        "; anynsd/best peer above floor per repetition: " +
                        " ".join(fmt(x) for x in ratios) if ratios else ""))
    if not lines:
        return ""
    if md:
        return "**CPU measurement** (bench/README.md, \"Reading the numbers\"):\n\n" + \
            "\n".join("- " + l for l in lines)
    return "CPU measurement:\n" + "\n".join("  " + l for l in lines)


def write_outputs(results, rows, tgts, cols):
    os.makedirs(RES, exist_ok=True)
    with open(os.path.join(RES, "latest.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(os.path.join(RES, "latest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "unit", "server", "median", "min", "max"])
        for name, unit, cells, _ in rows:
            for s in cols:
                if s in cells and cells[s][0] is not None:
                    w.writerow([name, unit, s] + ["%.4f" % x if x is not None else "" for x in cells[s]])
    charts(results, rows, cols)
    md = ["# anyns benchmark: latest run", "",
          "Generated by `make bench%s` on %s (%s). Server pinned to core(s) %s with %d worker(s), "
          "dnsperf on core(s) %s; %d interleaved repetitions of %d s per rate, medians with (min..max); "
          "query names picked %s."
          % (" FULL=1" if FULL else "", results["meta"]["date"], results["meta"]["host"],
             SERVER_CPUS, WORKERS, CLIENT_CPUS, REPS, DUR,
             "with Zipf popularity, exponent %g" % ZIPF if ZIPF else "uniformly"), "",
          "Load average at start: %s. The machine is shared: absolute numbers are noisy, "
          "ratios measured in the same run are what count." % results["meta"]["loadavg"], "",
          render_table(rows, cols, md=True), "",
          cpu_quality(results, md=True), "",
          "`+`: a lower bound, dnsperf (one core) could not offer more; a ratio marked "
          "(bound) compares lower bounds.", "", "## Targets", "",
          "| target | measured | limit | result |", "|---|---|---|---|"]
    for name, val, lim, res in tgts:
        md.append("| %s | %s | %s | %s |" % (name, fmt(val), lim, res))
    md += ["", "![CPU per query](cpu.png)", "", "![Latency](latency.png)", "",
           "![Memory, 1M-record zone](memory.png)", ""]
    cap = capacity(rows)
    if cap:
        md += ["## Capacity from these numbers", "",
               "CPU per query at %dk qps offered, one worker; cores for 1M qps at 50%% "
               "utilisation (see README.md, \"Scale past one machine\")." % (max(RATES) // 1000), "",
               "| server | CPU us/query | qps per core | cores for 1M qps |", "|---|---|---|---|"]
        md += ["| %s | %.2f | %d | %.0f |" % c for c in cap] + [""]
    if results["profile"]:
        md += ["## Instructions per query (callgrind, user space only)", "",
               "`mix`: 20 000 queries of the benchmark mix on the 10k zone; `hot`: 200 names "
               "asked 100 times each (all answer-cache hits). Each after one uncounted warm-up "
               "pass. Hot spots: `profile-<mix>-<server>.txt`.", "",
               "| mix | server | instructions/query | method |", "|---|---|---|---|"]
        md += ["| %s | %s | %s | %s |" % (mix, s, fmt(v["ins_per_query"], "Ir"), v["method"])
               for mix, prof in results["profile"].items() for s, v in prof.items()] + [""]
    for e in extras(md=True):
        md += [e, ""]
    if results["errors"]:
        md += ["## Problems during the run", ""] + ["- " + e for e in results["errors"]] + [""]
    with open(os.path.join(RES, "latest.md"), "w") as f:
        f.write("\n".join(md))


def charts(results, rows, cols):
    if not shutil.which("gnuplot"):
        results["errors"].append("gnuplot not installed: no charts")
        return
    by = {r[0]: r for r in rows}
    servers = [c for c in cols]
    # cpu.dat: one line per rate, three columns per server (median, min, max).
    with open(os.path.join(TMP, "cpu.dat"), "w") as f:
        f.write("rate " + " ".join("%s %s_min %s_max" % (s, s, s) for s in servers) + "\n")
        for rate in RATES:
            cells = by.get("cpu_us_per_query@%d" % rate, (0, 0, {}, 0))[2]
            f.write("%dk " % (rate // 1000) + " ".join(
                " ".join(fmt(x) if x is not None else "NaN" for x in cells[s])
                if s in cells and cells[s][0] is not None else "NaN NaN NaN" for s in servers) + "\n")
    with open(os.path.join(TMP, "latency.dat"), "w") as f:
        f.write("server avg p99\n")
        r40 = min(RATES, key=lambda r: abs(r - 40000))
        a = by.get("avg_latency@%d" % r40, (0, 0, {}, 0))[2]
        p = by.get("p99_latency@%d" % r40, (0, 0, {}, 0))[2]
        for s in servers:
            f.write("%s %s %s\n" % (s, fmt(a[s][0]) if s in a and a[s][0] is not None else "NaN",
                                    fmt(p[s][0]) if s in p and p[s][0] is not None else "NaN"))
    have_mem = 0
    with open(os.path.join(TMP, "memory.dat"), "w") as f:
        f.write("server PSS peak-RSS\n")
        big = str(max(LOAD_SIZES))
        for s in servers:
            d = results["load"].get(s, {}).get(big)
            if d:
                f.write("%s %.1f %.1f\n" % (s, d["pss_mib"], d["hwm_mib"]))
                have_mem = 1
    have_rates = 1 if results["rates"] else 0
    gp = os.path.join(ROOT, "bench", "charts.gp")
    r = subprocess.run(["gnuplot", "-e", "tmp='%s'; res='%s'; nserv=%d; lat_rate='%dk'; "
                        "have_rates=%d; have_mem=%d"
                        % (TMP, RES, len(servers), min(RATES, key=lambda r: abs(r - 40000)) // 1000,
                           have_rates, have_mem),
                        gp], capture_output=True, text=True)
    if r.returncode != 0:
        results["errors"].append("gnuplot: " + r.stderr.strip()[-300:])


def main():
    os.makedirs(TMP, exist_ok=True)
    for stale in os.listdir(TMP):
        p = os.path.join(TMP, stale)
        if os.path.isdir(p):
            shutil.rmtree(p, ignore_errors=True)
    servers, missing = [], []
    for name in SERVERS:
        srv = SERVER_CLASSES[name]()
        why = srv.available()
        if why:
            missing.append("%s: %s" % (name, why))
            log("skipping " + missing[-1])
        else:
            servers.append(srv)
    results = {"meta": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                        "host": os.uname().nodename, "cpus": os.cpu_count(),
                        "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]),
                        "full": FULL, "zipf": ZIPF, "reps": REPS, "dur": DUR, "rates": RATES,
                        "server_cpus": SERVER_CPUS, "client_cpus": CLIENT_CPUS, "workers": WORKERS},
               "rates": {}, "cache": [], "mem_after": {}, "maxrate": {}, "load": {}, "reload": {}, "profile": {},
               "errors": list(missing)}
    t0 = time.monotonic()
    log("zones: generating %d-record zone and queries" % RATE_ZONE)
    zone = Zone(RATE_ZONE)
    phases = [("rates", lambda: phase_rates(servers, zone, results)),
              ("maxrate", lambda: phase_maxrate(servers, zone, results)),
              ("reload", lambda: phase_reload(servers, zone, results)),
              ("load", lambda: phase_load(servers, results))]
    if PROFILE:
        phases.append(("profile", lambda: phase_profile(servers, results)))
    for name, run in phases:
        if name in SKIP:
            continue
        # A phase that breaks is reported; the others still run and the table
        # is still written (make bench never fails on a server's problem).
        try:
            run()
        except Exception as e:  # noqa: BLE001
            results["errors"].append("phase %s: %s: %s" % (name, type(e).__name__, e))
            log("phase %s failed: %s" % (name, e))
        finally:
            for srv in servers:
                srv.stop()
    results["meta"]["elapsed_s"] = round(time.monotonic() - t0)

    cols = [s.name for s in servers]
    rows = summarize(results)
    tgts = targets(rows, results)
    write_outputs(results, rows, tgts, cols)
    print()
    print("anyns benchmark (%s): medians of %d interleaved reps of %d s, (min..max); ratio = anynsd / best peer"
          % (results["meta"]["date"], REPS, DUR))
    print(render_table(rows, cols))
    if LOWER_BOUND:
        print("+ = lower bound: dnsperf (one core) could not offer more")
    q = cpu_quality(results)
    if q:
        print()
        print(q)
    print()
    for name, val, lim, res in tgts:
        print("%-4s %-50s measured %s, limit %s" % (res, name, fmt(val), lim))
    cap = capacity(rows)
    if cap:
        print()
        print("capacity at %dk qps offered: " % (max(RATES) // 1000) + "; ".join(
            "%s %.0f qps/core, %.0f cores for 1M qps at 50%%" % (c[0], c[2], c[3]) for c in cap))
    for e in extras():
        print()
        print(e)
    if results["errors"]:
        print()
        print("problems:")
        for e in results["errors"]:
            print("  " + e)
    print()
    print("results: bench/results/latest.{md,csv,json}, bench/results/{cpu,latency,memory}.png "
          "(%d s)" % results["meta"]["elapsed_s"])


if __name__ == "__main__":
    main()
