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
  BENCH_MINIMAL      1 (default): anynsd and NSD with minimal responses, so that
                     all three servers send answers of the same content (Knot's);
                     0: NSD's default (apex NS set and addresses added)
  BENCH_UDP_IO       anynsd's UDP back end in every row but TCP: threads (the
                     default) or poll (anynsd's own default)
  BENCH_REPS, BENCH_DUR, BENCH_RATES (comma list), BENCH_TCP_RATE,
  BENCH_FLOOD_RATE, BENCH_SIGNED_RATE, BENCH_LOAD_SIZES (comma list of zone
  sizes for the load rows), BENCH_LOAD_REPS, BENCH_LOAD_CPUS (cores for the
  load rows, default the server's and the client's), BENCH_SKIP (comma list of phases:
  rates,tcp,flood,signed,maxrate,load,reload) override the defaults below.
  BENCH_NOISE_PCT    retry a burst when others held more than this % of
                     the server core (default 10), BENCH_RETRIES times (default 2)
  BENCH_QUIET_WAIT   seconds a phase may wait for a quiet core (60)
  BENCH_PROFILE_MIXES  comma list of the PROFILE=1 mixes (default
                     "mix,hot,flood,signed")

Every server is pinned to the same core(s) (every thread, re-pinned after
start) with the same number of workers, rate limiting off, on 127.0.0.1;
dnsperf runs pinned to another core. For the CPU figures all servers run at
once, each is warmed by one uncounted pass over the query file, and each
repetition gives each of them one short burst in turn (rotated order); CPU is
the scheduler run time of every thread of the server's session, so NSD's
forked servers count. Nothing here fails the build: targets print PASS, MISS
or NOISE.
"""
import csv
import json
import os
import random
import re
import shutil
import subprocess
import time

import benchlib as bl
import dnsutil  # tests/pylib, on the path through benchlib
from benchlib import loss

ROOT = bl.ROOT
B = os.environ.get("B") or "build"
BIN = bl.bin_dir()
RES = os.path.join(ROOT, "bench", "results")
# Everything but the summary and the charts: raw runs, profiles, scratch.
RUN = os.path.join(BIN, "bench")
TMP = os.path.join(RUN, "tmp")
FULL = os.environ.get("FULL", "") not in ("", "0")
PROFILE = os.environ.get("PROFILE", "") not in ("", "0")
ORIGIN = "bench.example"
SERVER_CPUS = os.environ.get("BENCH_SERVER_CPUS", "1")
CLIENT_CPUS = os.environ.get("BENCH_CLIENT_CPUS", "0")
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))


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
# TCP: 100 connections, each with queries pipelined on it, at a fixed rate.
TCP_RATE = int(os.environ.get("BENCH_TCP_RATE", "20000"))
TCP_CONNS, TCP_OUTSTANDING = 100, 1000
# Random-subdomain flood: every query a new nonexistent name under the zone.
FLOOD_RATE = int(os.environ.get("BENCH_FLOOD_RATE", "40000"))
# The same zone signed (NSEC3), queried with DO=1.
SIGNED_RATE = int(os.environ.get("BENCH_SIGNED_RATE", "40000"))
SEARCH_DUR = 5 if FULL else 3
RELOAD_RATE, RELOADS = 20000, 10
# Zone sizes for the load time and memory rows; FULL adds a TLD-sized one.
LOAD_SIZES = [int(x) for x in env_list("BENCH_LOAD_SIZES", ["10000", "100000", "1000000",
                                                              "10000000"]
                                        if FULL else ["1000000"])]
LOAD_REPS = int(os.environ.get("BENCH_LOAD_REPS", "3"))
# Cores every server may use while it loads a zone: the server's and the
# client's (no queries run then), so anynsd's parser thread and the peers'
# background workers get a second core alike.
LOAD_CPUS = os.environ.get("BENCH_LOAD_CPUS", ",".join(sorted({SERVER_CPUS, CLIENT_CPUS})))
RELOAD_REPS = 3 if FULL else 2
RATE_ZONE = 100000          # zone size for the rate, latency and reload runs
SERVERS = env_list("BENCH_SERVERS", ["reflector", "anynsd", "nsd", "knot"])
SKIP = set(env_list("BENCH_SKIP", []))
PEERS = ("nsd", "knot")
LOSS_OK = 0.001             # "answered with < 0.1% loss"
ZIPF = float(os.environ.get("BENCH_ZIPF", "0"))  # query popularity; 0 = uniform
SCPUS = bl.cpu_list(SERVER_CPUS)
PROFILE_MIXES = env_list("BENCH_PROFILE_MIXES", ["mix", "hot", "flood", "signed"])


def log(msg):
    print("bench: " + msg, flush=True)


def dnsperf(port, qfile, rate, dur, verbose_to=None, nmax=None, **kw):
    return bl.dnsperf("127.0.0.1", port, qfile, rate=rate, dur=dur, verbose_to=verbose_to,
                      nmax=nmax, cpus=CLIENT_CPUS, **kw)


# ---- DNS probes ----------------------------------------------------------------

def probe(port, name, rtype, expect, timeout=0.1):
    """True when the server answers name/rtype with an RR whose text is expect."""
    import dns.message
    import dns.rcode
    data = dnsutil.udp_ask(("127.0.0.1", port), dns.message.make_query(name, rtype).to_wire(),
                           timeout)
    try:
        r = dns.message.from_wire(data) if data else None
    except Exception:  # noqa: BLE001 (any malformed reply: not ready)
        r = None
    if r is None or r.rcode() != dns.rcode.NOERROR:
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


def make_server(name):
    return bl.SERVERS[name](TMP, cpus=SCPUS, workers=WORKERS)


# ---- phases --------------------------------------------------------------------------

def start_ready(srv, zone, limit=120):
    """Starts srv on a free port with the zone; returns the seconds until its
    first correct answer, after pinning every thread of it to the server core."""
    port = bl.free_port()
    p = srv.start([(ORIGIN, zone.path)], port)
    if srv.name == "reflector":
        # It answers anything: ready when any reply comes back.
        t = 0.0 if _wait_reflect(port) else None
    else:
        t = wait_answer(port, *zone.probe, limit, p)
    if t is None:
        tail = srv.log_tail()
        srv.stop()
        raise RuntimeError("%s gave no correct answer for %s within %ds: %s"
                           % (srv.name, zone.probe[0], limit, tail))
    moved = srv.pin()
    if moved:
        log("%s: moved %d thread(s) that had left core(s) %s back to them"
            % (srv.name, len(moved), SERVER_CPUS))
    return t


def _reflect_probe(port):
    """True when a query for ". A" comes back with QR set (the reflector)."""
    data = dnsutil.udp_ask(("127.0.0.1", port),
                           b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01", 0.1)
    return bool(data) and len(data) > 2 and data[2] & 0x80 != 0


def _burst(srv, qfile, rate, dur, **kw):
    """One dnsperf run of dur s against a running server, with the server's CPU
    time, its wake-ups and what everybody else did on its core meanwhile."""
    pids = srv.pids()
    ksirq = bl.ksoftirqd_pids(SCPUS)
    c0, w0, b0, x0 = bl.tick_cpu(pids), bl.switches(pids), bl.core_busy(SCPUS), bl.runtime(pids)
    k0 = bl.runtime(ksirq)
    t0 = time.monotonic()
    vfile = os.path.join(TMP, "dnsperf-v.txt") if rate <= 50000 and not kw else None
    r = dnsperf(srv.port, qfile, rate, dur, verbose_to=vfile, **kw)
    c1, w1, b1, x1 = bl.tick_cpu(pids), bl.switches(pids), bl.core_busy(SCPUS), bl.runtime(pids)
    k1 = bl.runtime(ksirq)
    # Busy time of the server's core not charged to the server: the noise gauge.
    # Both sides are tick samples (/proc/stat and utime+stime), so they compare.
    r["others_on_core_pct"] = max(0.0, 100.0 * ((b1 - b0) - (c1 - c0)) /
                                  (time.monotonic() - t0) / len(SCPUS))
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
    while True:
        b0, w0 = bl.core_busy(SCPUS), time.monotonic()
        time.sleep(0.25)
        busy = 100.0 * (bl.core_busy(SCPUS) - b0) / (time.monotonic() - w0) / len(SCPUS)
        if busy <= NOISE_PCT or time.monotonic() - t0 >= budget[0]:
            break
    waited = time.monotonic() - t0
    budget[0] = max(0.0, budget[0] - waited)
    return waited, busy


class Load:
    """What one burst sends: a label (the key in the results), the offered
    rate, the query file of repetition rep, dnsperf options, and the burst's
    length."""
    def __init__(self, label, rate, qfile, dur=None, **dnsperf_kw):
        self.label, self.rate, self.qfile, self.kw = label, rate, qfile, dnsperf_kw
        self.dur = dur or DUR


def phase_bursts(servers, zone, results, key, loads):
    """CPU per answered query and latency for each load, as interleaved bursts.

    Every server is started once and kept running for the phase (all pinned
    to the same core; an idle server costs nothing) and warmed up the same way:
    one uncounted pass over the benchmark's query file. Each repetition then
    runs one DUR s dnsperf burst per load against each server in turn, the
    order rotated from one repetition to the next, so that a slow drift of the
    machine's load hits every server alike and each repetition carries its own
    floor (reflector). A burst during which other processes held more than
    NOISE_PCT of the server's core is retried, at most RETRIES times per burst
    and within a retry budget for the whole phase; the quietest attempt is
    kept and flagged "noisy" when even that one was above the threshold
    (bench/README.md, "Reading the numbers on this machine"). Memory (PSS) is
    read after each repetition's bursts."""
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
    for srv in live:
        # Over UDP, with the first load's query flags (DO=1 for the signed row).
        w = bl.warm_up("127.0.0.1", srv.port, zone.queries, max(RATES), cpus=CLIENT_CPUS,
                       extra=loads[0].kw.get("extra", ()))
        results["warmup"].setdefault(key, {})[srv.name] = {k: w[k] for k in ("sent", "completed")}
    nbursts = REPS * len(loads) * len(live)
    budget = nbursts // 2  # retries for the whole phase
    # Seconds the phase may spend waiting for a quiet core before bursts.
    wait_budget = [float(os.environ.get("BENCH_QUIET_WAIT", 60))]
    t_end = time.monotonic() + 3 * nbursts * (max(l.dur for l in loads) + 1)
    sect = results.setdefault(key, {})
    for rep in range(REPS):
        for load in loads:
            qfile = load.qfile(rep)
            for srv in bl.rotated(live, rep):
                if not srv.running():
                    results["errors"].append("%s exited during the %s runs" % (srv.name, key))
                    continue
                attempts = []
                waited = 0.0
                while True:
                    time.sleep(0.2)  # let the previous burst's stragglers drain
                    waited += wait_quiet(wait_budget)[0]
                    a = _burst(srv, qfile, load.rate, load.dur, **load.kw)
                    attempts.append(a)
                    if a["others_on_core_pct"] <= NOISE_PCT:
                        break
                    if len(attempts) > RETRIES or budget <= 0 or time.monotonic() > t_end:
                        break
                    budget -= 1
                    log("rep %d %-9s %s: others held %.0f%% of the server core, retrying"
                        % (rep + 1, srv.name, load.label, a["others_on_core_pct"]))
                r = dict(min(attempts, key=lambda x: x["others_on_core_pct"]))
                r["rep"] = rep
                r["attempts"] = len(attempts)
                r["waited_for_quiet_s"] = round(waited, 2)
                r["noisy"] = r["others_on_core_pct"] > NOISE_PCT
                r["others_all_attempts"] = [round(x["others_on_core_pct"], 1) for x in attempts]
                sect.setdefault(srv.name, {}).setdefault(load.label, []).append(r)
                log("rep %d %-9s %s: %.0f answered/s, loss %.3f%%, cpu %.2f us/q, "
                    "(ticks %.2f, ksoftirqd %.2f), avg %.0f us%s, others %.0f%%%s  [%s]"
                    % (rep + 1, srv.name, load.label, r["qps"], 100 * loss(r),
                       r["cpu_us_per_q"] or -1, r["cpu_tick_us_per_q"] or -1,
                       r["ksoftirqd_us_per_q"] or 0, r["avg_lat_us"],
                       ", p99 %.0f us" % r["p99_lat_us"] if "p99_lat_us" in r else "",
                       r["others_on_core_pct"], " NOISY" if r["noisy"] else "", r["rcodes"]))
        # Memory after traffic: caches filled by the queries count too.
        for srv in live:
            if srv.running():
                pss, _, _ = bl.memory(srv.pids())
                results["mem_after"].setdefault(key, {}).setdefault(srv.name, []).append(pss)
    for srv in live:
        srv.stop()
        if hasattr(srv, "cache_stats"):
            cs = srv.cache_stats()
            if cs and sum(cs):
                results["cache"].setdefault(key, []).append(100.0 * cs[0] / sum(cs))
                log("anynsd answer cache over the %s runs: %d hits, %d misses (%.1f%%)"
                    % (key, cs[0], cs[1], results["cache"][key][-1]))


def phase_rates(servers, zone, results):
    """UDP, the benchmark's query mix, at each rate of RATES."""
    phase_bursts(servers, zone, results, "rates",
                 [Load(str(rate), rate, lambda rep: zone.queries) for rate in RATES])


def phase_tcp(servers, zone, results):
    """TCP: TCP_CONNS connections (dnsperf clients), TCP_OUTSTANDING queries
    in flight spread over them, i.e. pipelined on each connection, at
    TCP_RATE qps. The warm-up is the UDP pass every phase gets; anynsd runs
    with udp-io poll here, where TCP answers from the per-worker answer cache
    its UDP side fills, so the warm-up warms TCP too. The reflector's TCP side
    (one read per ready connection, every message of it sent back in one
    write) is the floor, as for UDP. dnsperf
    opens the connections at once when a burst starts; a server with a short
    listen backlog (Knot: 10) drops the SYNs beyond it and the client retries
    them after 1 s, so the bursts last at least 5 s."""
    anys = [s for s in servers if isinstance(s, bl.Anynsd)]
    for s in anys:
        s.udp_io = "poll"
    try:
        phase_bursts(servers, zone, results, "tcp",
                     [Load(str(TCP_RATE), TCP_RATE, lambda rep: zone.queries,
                           dur=max(DUR, 5), mode="tcp", clients=TCP_CONNS,
                           outstanding=TCP_OUTSTANDING)])
    finally:
        for s in anys:
            s.udp_io = bl.UDP_IO


def phase_flood(servers, zone, results):
    """Random-subdomain flood: every query a name under the zone that does not
    exist and was never asked before (a new file per repetition, as many
    names as a burst sends), at FLOOD_RATE qps, after the same warm-up on the
    benchmark mix. Memory after each repetition shows whether it grows with
    the number of distinct names asked."""
    n = FLOOD_RATE * (DUR + 1)

    def qfile(rep):
        path = os.path.join(TMP, "flood-%d.txt" % rep)
        rnd = random.Random(1000 + rep)
        letters = "abcdefghijklmnopqrstuvwxyz0123456789"
        with open(path, "w") as f:
            for i in range(n):
                f.write("%s%x.%s A\n" % ("".join(rnd.choice(letters) for _ in range(10)),
                                         rep * n + i, ORIGIN))
        return path
    phase_bursts(servers, zone, results, "flood", [Load(str(FLOOD_RATE), FLOOD_RATE, qfile)])


def signed_zone(zone, sub="signed"):
    """The benchmark zone signed by ldns-signzone: ECDSA P-256 KSK and ZSK,
    NSEC3 without salt or extra iterations (RFC 9276), signatures valid from
    an hour ago for 30 days, in TMP/sub. The queries and the probe stay the
    same."""
    d = os.path.join(TMP, sub)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)

    def keygen(*flags):
        return subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256"] + list(flags) + [ORIGIN],
                              cwd=d, capture_output=True, text=True, check=True).stdout.strip()
    ksk, zsk = keygen("-k"), keygen()
    now = time.time()
    stamp = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
    z = Zone.__new__(Zone)
    z.path, z.queries, z.probe = os.path.join(d, "zone.signed"), zone.queries, zone.probe
    subprocess.run(["ldns-signzone", "-n", "-t", "0", "-i", stamp(now - 3600),
                    "-e", stamp(now + 30 * 86400), "-o", ORIGIN, "-f", z.path, zone.path,
                    os.path.join(d, ksk), os.path.join(d, zsk)],
                   cwd=d, check=True, capture_output=True)
    return z


def phase_signed(servers, zone, results):
    """The benchmark mix with DO=1 (dnsperf -D) on the signed zone at
    SIGNED_RATE: answers carry RRSIGs, NXDOMAIN and NODATA NSEC3 proofs."""
    if not shutil.which("ldns-signzone"):
        results["errors"].append("ldns-signzone not installed: no signed row")
        return
    z = signed_zone(zone)
    phase_bursts(servers, z, results, "signed",
                 [Load(str(SIGNED_RATE), SIGNED_RATE, lambda rep: z.queries, extra=["-D"])])


def phase_maxrate(servers, zone, results):
    """Highest offered rate answered with < 0.1% loss: step up by 1.5x until a
    miss, then bisect twice. A rate dnsperf itself cannot reach (no loss but
    fewer than 95% of the offered queries sent) ends the search: 'client-bound'.
    One search per server, after the same warm-up as the rate runs."""
    for srv in servers:
        try:
            start_ready(srv, zone)
        except RuntimeError as e:
            log(str(e))
            results["errors"].append(str(e))
            continue
        bl.warm_up("127.0.0.1", srv.port, zone.queries, max(RATES), cpus=CLIENT_CPUS)
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


class NsdLoad(bl.Nsd):
    """NSD as it loads fastest: no database, zone files neither checked for
    changes nor written back."""

    def argv(self, zones, port):
        self.conf = bl.peers.nsd_config(self.dir, zones, listen=["%s@%d" % (self.addr, port)],
                                        workers=self.workers,
                                        server_options=["zonefiles-check: no",
                                                        "zonefiles-write: 0"])
        return bl.peers.nsd_argv(self.conf)


class KnotLoad(bl.Knot):
    """Knot DNS with a background worker per load core (it loads zones on
    them; one zone takes one)."""

    def argv(self, zones, port):
        argv = super().argv(zones, port)
        with open(self.conf) as f:
            text = f.read()
        text = text.replace("background-workers: 1",
                            "background-workers: %d" % len(bl.cpu_list(LOAD_CPUS)))
        with open(self.conf, "w") as f:
            f.write(text)
        return argv


LOAD_SERVERS = {"anynsd": bl.Anynsd, "nsd": NsdLoad, "knot": KnotLoad}


def phase_load(servers, results):
    """Zone load time to the first correct answer and memory, per zone size,
    LOAD_REPS times per server (rotated order), each server alone on the
    LOAD_CPUS cores (anynsd with load-threads auto: one per core)."""
    cpus = bl.cpu_list(LOAD_CPUS)
    servers = [LOAD_SERVERS[s.name](TMP, cpus=cpus, workers=WORKERS)
               for s in servers if s.name in LOAD_SERVERS]
    for size in LOAD_SIZES:
        zone = Zone(size)
        for rep in range(LOAD_REPS):
            for srv in bl.rotated(servers, rep):
                port = bl.free_port()
                t0 = time.monotonic()
                p = srv.start([(ORIGIN, zone.path)], port)
                t = wait_answer(port, *zone.probe, 600, p)
                if t is None:
                    log("%s: no correct answer for the %d-record zone" % (srv.name, size))
                    results["errors"].append("%s: %d-record zone not served" % (srv.name, size))
                    srv.stop()
                    continue
                t = time.monotonic() - t0
                time.sleep(2)  # let background work (Knot's, NSD's forks) settle
                pss, rss, hwm = bl.memory(srv.pids())
                results["load"].setdefault(srv.name, {}).setdefault(str(size), []).append(
                    {"load_s": t, "pss_mib": pss, "rss_mib": rss, "hwm_mib": hwm})
                log("load %-7s %8d records: first correct answer after %.2f s, PSS %.0f MiB, "
                    "RSS %.0f MiB, peak %.0f MiB" % (srv.name, size, t, pss, rss, hwm))
                srv.stop()
        if size >= 10000000 or (size >= 1000000 and not FULL):
            for f in (zone.path, zone.queries):
                os.unlink(f)


def phase_reload(servers, zone, results):
    """Queries lost while the zone is reloaded RELOADS times under RELOAD_RATE qps,
    RELOAD_REPS times per server. Each reload first bumps the serial, so every
    server really reloads; the last serial must be served at the end."""
    for rep in range(RELOAD_REPS):
        for srv in bl.rotated([s for s in servers if s.name != "reflector"], rep):
            _reload_run(srv, zone, results)


def _reload_run(srv, zone, results):
    zpath = os.path.join(TMP, "reload-%s.zone" % srv.name)
    shutil.copyfile(zone.path, zpath)
    z = Zone.__new__(Zone)
    z.path, z.queries, z.probe = zpath, zone.queries, zone.probe
    try:
        start_ready(srv, z)
    except RuntimeError as e:
        log(str(e))
        results["errors"].append(str(e))
        return
    dur = RELOADS + 4
    argv = bl.dnsperf_argv("127.0.0.1", srv.port, zone.queries, rate=RELOAD_RATE, dur=dur,
                           cpus=CLIENT_CPUS)
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
    d = bl.parse_dnsperf(out, RELOAD_RATE)
    r = {"sent": d["sent"], "lost": d["lost"], "final_serial_served": seen is not None}
    results["reload"].setdefault(srv.name, []).append(r)
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


def _cg_run(srv, zone, qfile, nq, outdir, toggle, warm=None, extra=()):
    """One server under callgrind. toggle: instrumentation starts off and is
    switched on through vgdb once the zone is loaded (exact, but vgdb does not
    reach forked children); otherwise everything is counted to the exit.
    warm: the warm-up's query file when it must differ from the counted one
    (the flood: counted names must be new). extra: dnsperf flags of both
    passes (-D for the signed mix)."""
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=%s" % ("no" if toggle else "yes"),
            "--callgrind-out-file=%s/callgrind.out.%%p" % outdir]
    port = bl.free_port()
    p = srv.start([(ORIGIN, zone.path)], port, wrap=wrap)
    ok = (_wait_reflect(port) if srv.name == "reflector"
          else wait_answer(port, *zone.probe, 300, p) is not None)
    if not ok:
        srv.stop()
        return None
    # One pass first so that answer caches are as warm as they get in the
    # rate runs, where dnsperf loops over its query file.
    dnsperf(port, warm or qfile, 2000, None, nmax=1, extra=extra)
    time.sleep(1)
    pids = [str(x) for x in srv.pids()]
    if toggle:
        for pid in pids:
            subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, timeout=30)
    done = 0
    if nq:
        r = dnsperf(port, qfile, 2000, None, nmax=1, extra=extra)
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
    # "flood": nq names that do not exist, each asked once, after a warm-up
    # on the benchmark mix (the flood phase's shape).
    qflood = os.path.join(TMP, "queries-profile-flood.txt")
    rnd = random.Random(77)
    with open(qflood, "w") as g:
        for _ in range(nq):
            g.write("%s.%s A\n" % ("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                           for _ in range(12)), ORIGIN))
    mixes = [("mix", zone, qmix, None, ()), ("hot", zone, qhot, None, ()),
             ("flood", zone, qflood, qmix, ())]
    # "signed": the benchmark mix with DO=1 on the same zone signed as in
    # the signed row (NSEC3), so answers carry RRSIGs and proofs.
    if shutil.which("ldns-signzone"):
        mixes.append(("signed", signed_zone(zone, "signed-profile"), qmix, None, ["-D"]))
    else:
        results["errors"].append("ldns-signzone not installed: no signed profile")
    for mix, mzone, qfile, warm, extra in mixes:
        if mix not in PROFILE_MIXES:
            continue
        for srv in servers:
            outdir = os.path.join(TMP, "callgrind-%s-%s" % (mix, srv.name))
            forks = srv.name == "nsd"
            run = _cg_run(srv, mzone, qfile, nq, outdir, toggle=not forks, warm=warm,
                          extra=extra)
            if run is None:
                results["errors"].append("%s: not ready under valgrind" % srv.name)
                continue
            total, files, done = run
            method = "vgdb toggle"
            if forks:
                base = _cg_run(srv, mzone, qfile, 0, outdir + "-base", toggle=False, warm=warm,
                               extra=extra)
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
                path = os.path.join(RUN, "profile-%s-%s.txt" % (mix, srv.name))
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
    return bl.med_spread(xs)[0]


def spread(xs):
    return bl.med_spread(xs)[1:]


def cell(xs):
    """(median, min, max) of the values."""
    return bl.med_spread(xs)


# The burst phases: (results key, metric suffix, whether the target is on the
# cost above the reflector's floor (else on the CPU per query), the load labels).
def burst_sections():
    return [("rates", "", True, [str(r) for r in RATES]),
            ("tcp", "_tcp", False, [str(TCP_RATE)]),
            ("flood", "_flood", True, [str(FLOOD_RATE)]),
            ("signed", "_signed", True, [str(SIGNED_RATE)])]


def cpu_by_rep(section, k):
    """{server: {rep: (cpu_us_per_q, noisy)}} for one load, complete bursts only."""
    out = {}
    for srv, by_load in section.items():
        for r in by_load.get(k, []):
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


def per_rep_ratios(cost, reps):
    """anynsd's cost divided by the best peer's, within each repetition. None
    for a repetition where either cost is at or below zero (a cost above the
    floor that comes out negative is noise, not a saving)."""
    ratios = []
    for i in reps:
        peers = [cost[p][i] for p in PEERS if p in cost and i in cost[p]]
        if "anynsd" not in cost or i not in cost["anynsd"] or not peers:
            continue
        a, bp = cost["anynsd"][i], min(peers)
        ratios.append(a / bp if a > 0 and bp > 0 else None)
    return ratios


def summarize(results):
    """rows: (metric, unit, {server: (median, lo, hi)}, better='low'|'high')."""
    rows = []
    for key, sfx, floor, labels in burst_sections():
        sect = results.get(key, {})
        if not sect:
            continue
        for k in labels:
            cpu = cpu_by_rep(sect, k)
            reps, quiet = clean_reps(cpu)
            results.setdefault("cpu_reps_used", {}).setdefault(key, {})[k] = {"used": reps, "quiet": quiet}
            vals = {s: [cpu[s][i] for i in reps if i in cpu[s]] for s in cpu}
            rows.append(("cpu_us_per_query%s@%s" % (sfx, k), "us",
                         {s: cell(v) for s, v in vals.items()}, "low"))
            # The ratios per repetition the target reads go to cpu_ratio_per_rep;
            # for a row whose target is on CPU per query, the ratio of the costs
            # above the floor is kept beside it (above_floor_ratio_per_rep).
            if not floor:
                ratios = per_rep_ratios({s: {i: cpu[s][i] for i in reps if i in cpu[s]}
                                         for s in cpu}, reps)
                if ratios:
                    results.setdefault("cpu_ratio_per_rep", {}).setdefault(key, {})[k] = ratios
                    rows.append(("cpu_ratio_per_rep%s@%s" % (sfx, k), "x",
                                 {"anynsd": cell(ratios)}, "low"))
            if "reflector" not in cpu:
                continue
            # Cost above floor per repetition, from that repetition's own floor.
            cost = {s: {i: cpu[s][i] - cpu["reflector"][i] for i in reps
                        if i in cpu[s] and i in cpu["reflector"]}
                    for s in cpu if s != "reflector"}
            rows.append(("cost_above_floor%s@%s" % (sfx, k), "us",
                         {s: cell(v.values()) for s, v in cost.items()}, "low"))
            ratios = per_rep_ratios(cost, reps)
            if ratios:
                results.setdefault("cpu_ratio_per_rep" if floor else "above_floor_ratio_per_rep",
                                   {}).setdefault(key, {})[k] = ratios
                rows.append(("cost_ratio_per_rep%s@%s" % (sfx, k), "x",
                             {"anynsd": cell(ratios)}, "low"))
        for k in labels:
            def col(field, scale=1.0):
                return {s: cell([None if r.get(field) is None else r[field] * scale
                                 for r in sect.get(s, {}).get(k, [])]) for s in sect}
            if key == "rates":
                rows.append(("wakeups_per_query@%s" % k, "", col("wakeups_per_q"), "low"))
                rows.append(("others_on_server_core@%s" % k, "%", col("others_on_core_pct"), "low"))
            rows.append(("avg_latency%s@%s" % (sfx, k), "us", col("avg_lat_us"), "low"))
            p99 = col("p99_lat_us")
            if any(v[0] is not None for v in p99.values()):
                rows.append(("p99_latency%s@%s" % (sfx, k), "us", p99, "low"))
            rows.append(("answered_qps%s@%s" % (sfx, k), "qps", col("qps"), "high"))
            rows.append(("loss_pct%s@%s" % (sfx, k), "%",
                         {s: cell([100.0 * loss(r) for r in sect.get(s, {}).get(k, [])])
                          for s in sect}, "low"))
        mem = results["mem_after"].get(key)
        if mem:
            rows.append(("memory_pss_after_%s_%s" % ({"rates": "traffic"}.get(key, key),
                                                      _size(RATE_ZONE)), "MiB",
                         {s: cell(v) for s, v in mem.items() if s != "reflector"}, "low"))
        if results["cache"].get(key):
            rows.append(("anynsd_cache_hit_pct%s" % sfx, "%",
                         {"anynsd": cell(results["cache"][key])}, "high"))
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
            vals = {s: cell([x[key] for x in d[k]]) for s, d in results["load"].items() if k in d}
            if vals:
                rows.append(("%s_%s" % (name, _size(size)), unit, vals, "low"))
    if results["reload"]:
        rows.append(("reload_lost_queries", "q", {s: cell([x["lost"] for x in v])
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
    return "%dM" % (n // 1000000) if n >= 1000000 else "%dk" % (n // 1000)


def best_peer(cells, better):
    vals = [(cells[p][0], p) for p in PEERS if p in cells and cells[p][0] is not None]
    if not vals:
        return None, None
    return (min(vals) if better == "low" else max(vals))


def targets(rows, results):
    """(name, measured ratio or value, limit, PASS/MISS/NOISE/n.a.)"""
    by = {r[0]: r for r in rows}
    out = []

    def ratio_target(metric, limit, label):
        row = by.get(metric)
        if not row or "anynsd" not in row[2] or row[2]["anynsd"][0] is None:
            out.append((label, None, limit, "n/a"))
            return
        bv, _ = best_peer(row[2], row[3])
        a = row[2]["anynsd"][0]
        if bv is None or bv <= 0 or a <= 0:
            out.append((label, None, limit, "NOISE" if bv is not None else "n/a"))
            return
        ratio = a / bv
        out.append((label, ratio, limit, "PASS" if ratio <= limit else "MISS"))

    # CPU: the median of the ratios taken within each repetition (same floor,
    # same minute of machine load), not the ratio of two medians. Repetitions
    # where a cost above the floor came out at or below zero are noise.
    cpu_targets = [("rates", str(r), 0.5, "UDP cost above floor @%dk <= 0.5x best peer" % (r // 1000))
                   for r in TARGET_RATES if r in RATES]
    cpu_targets += [("flood", str(FLOOD_RATE), 0.5, "random-subdomain flood @%dk, cost above floor "
                     "<= 0.5x best peer" % (FLOOD_RATE // 1000)),
                    ("signed", str(SIGNED_RATE), 0.5, "signed zone (NSEC3, DO=1) @%dk, cost above "
                     "floor <= 0.5x best peer" % (SIGNED_RATE // 1000)),
                    ("tcp", str(TCP_RATE), 0.7, "TCP (%d connections) @%dk, CPU per query "
                     "<= 0.7x best peer" % (TCP_CONNS, TCP_RATE // 1000))]
    for key, k, limit, label in cpu_targets:
        if not results.get(key):
            continue
        ratios = results.get("cpu_ratio_per_rep", {}).get(key, {}).get(k)
        if not ratios:
            out.append((label, None, limit, "n/a"))
            continue
        good = [r for r in ratios if r is not None]
        out.append((label + " (median of per-rep ratios)", med(good), limit,
                    bl.ratio_verdict(ratios, limit)))
    # The exact complement of the CPU figures (user space only): see README.md.
    for mix in ("mix", "hot", "flood"):
        if "instructions_above_floor_%s" % mix in by:
            ratio_target("instructions_above_floor_%s" % mix, 0.5,
                         "callgrind instr. above floor (%s) <= 0.5x best peer" % mix)
    for big in ("1M", "10M"):
        if "load_time_%s" % big in by:
            ratio_target("load_time_%s" % big, 0.7, "%s zone load <= 0.7x faster peer" % big)
            ratio_target("memory_pss_%s" % big, 0.5, "%s zone memory <= 0.5x smaller peer" % big)
    mem = by.get("memory_pss_after_traffic_%s" % _size(RATE_ZONE))
    if mem:
        ratio_target(mem[0], 1.0, "memory after traffic (100k zone) <= smaller peer")
    rl = results["reload"].get("anynsd")
    label = "zero loss over %d reloads @%dk (%d runs)" % (RELOADS, RELOAD_RATE // 1000, len(rl or []))
    if rl and all(x["lost"] is not None for x in rl):
        worst = max(x["lost"] for x in rl)
        out.append((label, worst, 0, "PASS" if worst == 0 and all(x["final_serial_served"] for x in rl)
                    else "MISS"))
    elif "reload" not in SKIP:
        out.append((label, None, 0, "n/a"))
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
    """Numbers other parts of the project leave for the report: the XDP
    benchmark (bench/results/xdp.csv) and the lab's failover time."""
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
    """How clean the CPU figures are: per load, the quiet repetitions, the
    retried and still-noisy bursts, and anynsd's ratio in each repetition."""
    lines = []
    for key, sfx, floor, labels in burst_sections():
        for k in labels:
            runs = [r for v in results.get(key, {}).values() for r in v.get(k, [])]
            if not runs:
                continue
            used = results.get("cpu_reps_used", {}).get(key, {}).get(k, {})
            quiet, use = used.get("quiet", []), used.get("used", [])
            noisy = sum(1 for r in runs if r.get("noisy"))
            retried = sum(r.get("attempts", 1) - 1 for r in runs)
            others = [r["others_on_core_pct"] for r in runs]
            ratios = results.get("cpu_ratio_per_rep", {}).get(key, {}).get(k, [])
            above = results.get("above_floor_ratio_per_rep", {}).get(key, {}).get(k, [])
            lines.append("%s %dk qps: %d of %d repetitions quiet (others <= %g%% of the server core "
                         "in every burst), CPU figures from %s; %d bursts retried, %d still noisy; "
                         "others median %.0f%% (max %.0f%%)%s"
                         % ({"rates": "UDP"}.get(key, key), int(k) // 1000, len(quiet), REPS,
                            NOISE_PCT, "the quiet ones" if use == quiet else
                            "ALL (too few quiet: treat as suspect)",
                            retried, noisy, med(others), max(others),
                            "; anynsd/best peer%s per repetition: " % (" above floor" if floor else "")
                            + " ".join("noise" if x is None else fmt(x) for x in ratios)
                            if ratios else "")
                         + ("; above floor: " + " ".join("noise" if x is None else fmt(x) for x in above)
                            if above else ""))
    if not lines:
        return ""
    if md:
        return "**CPU measurement** (bench/README.md, \"Reading the numbers\"):\n\n" + \
            "\n".join("- " + l for l in lines)
    return "CPU measurement:\n" + "\n".join("  " + l for l in lines)


def write_outputs(results, rows, tgts, cols):
    os.makedirs(RES, exist_ok=True)
    with open(os.path.join(RUN, "latest.json"), "w") as f:
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
          "dnsperf on core(s) %s; every server warmed by one uncounted pass over the query "
          "file, then %d interleaved repetitions of %d s bursts per row, medians with (min..max); "
          "query names picked %s. Zone load: %d runs per server; reloads: %d runs per server."
          % (" FULL=1" if FULL else "", results["meta"]["date"], results["meta"]["host"],
             SERVER_CPUS, WORKERS, CLIENT_CPUS, REPS, DUR,
             "with Zipf popularity, exponent %g" % ZIPF if ZIPF else "uniformly",
             LOAD_REPS, RELOAD_REPS), "",
          "Machine load (1, 5, 15 min load average, %d CPUs): %s at the start, %s at the end. "
          "The machine is shared: absolute numbers are noisy, ratios measured in the same run "
          "are what count." % (results["meta"]["cpus"], results["meta"]["loadavg"],
                               results["meta"].get("loadavg_end", "?")), "",
          render_table(rows, cols, md=True), "",
          cpu_quality(results, md=True), "",
          "`+`: a lower bound, dnsperf (one core) could not offer more; a ratio marked "
          "(bound) compares lower bounds.", "", "## Targets", "",
          "| target | measured | limit | result |", "|---|---|---|---|"]
    for name, val, lim, res in tgts:
        md.append("| %s | %s | %s | %s |" % (name, fmt(val), lim, res))
    md += ["", "![CPU per query](cpu.png)", "", "![Latency](latency.png)", "",
           "![Memory](memory.png)", ""]
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
               "pass. Hot spots: `make bench PROFILE=1` writes `%s/bench/profile-<mix>-<server>.txt`."
               % B, "",
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
    # cpu.dat: one line per row, three columns per server (median, min, max).
    with open(os.path.join(TMP, "cpu.dat"), "w") as f:
        f.write("rate " + " ".join("%s %s_min %s_max" % (s, s, s) for s in servers) + "\n")
        for key, sfx, _, labels in burst_sections():
            for k in labels:
                cells = by.get("cpu_us_per_query%s@%s" % (sfx, k), (0, 0, {}, 0))[2]
                if not cells:
                    continue
                f.write("%s%dk " % ({"rates": ""}.get(key, key + "-"), int(k) // 1000) + " ".join(
                    " ".join(fmt(x) if x is not None else "NaN" for x in cells[s])
                    if s in cells and cells[s][0] is not None else "NaN NaN NaN"
                    for s in servers) + "\n")
    with open(os.path.join(TMP, "latency.dat"), "w") as f:
        f.write("server avg p99\n")
        r40 = min(RATES, key=lambda r: abs(r - 40000))
        a = by.get("avg_latency@%d" % r40, (0, 0, {}, 0))[2]
        p = by.get("p99_latency@%d" % r40, (0, 0, {}, 0))[2]
        for s in servers:
            f.write("%s %s %s\n" % (s, fmt(a[s][0]) if s in a and a[s][0] is not None else "NaN",
                                    fmt(p[s][0]) if s in p and p[s][0] is not None else "NaN"))
    have_mem = 0
    big = _size(max(LOAD_SIZES))
    mcols = [("memory_pss_%s" % big, "PSS-%s-zone" % big),
             ("memory_peak_%s" % big, "peak-RSS-%s-zone" % big),
             ("memory_pss_after_traffic_%s" % _size(RATE_ZONE), "PSS-after-traffic-%s" % _size(RATE_ZONE)),
             ("memory_pss_after_flood_%s" % _size(RATE_ZONE), "PSS-after-flood-%s" % _size(RATE_ZONE)),
             ("memory_pss_after_signed_%s" % _size(RATE_ZONE), "PSS-after-signed-%s" % _size(RATE_ZONE))]
    # Only the columns measured in this run (gnuplot refuses an empty one).
    mcols = [c for c in mcols if any(v[0] is not None for v in by.get(c[0], (0, 0, {}, 0))[2].values())]
    with open(os.path.join(TMP, "memory.dat"), "w") as f:
        f.write("server " + " ".join(c[1] for c in mcols) + "\n")
        for s in servers:
            if s == "reflector" or not mcols:
                continue
            vals = [by.get(m, (0, 0, {}, 0))[2].get(s, (None,))[0] for m, _ in mcols]
            have_mem = 1
            f.write(s + " " + " ".join("NaN" if v is None else "%.1f" % v for v in vals) + "\n")
    have_rates = 1 if any(results.get(k) for k in ("rates", "tcp", "flood", "signed")) else 0
    have_lat = 1 if any(v[0] is not None for v in a.values()) else 0
    gp = os.path.join(ROOT, "bench", "charts.gp")
    r = subprocess.run(["gnuplot", "-e", "tmp='%s'; res='%s'; nserv=%d; lat_rate='%dk'; "
                        "have_rates=%d; have_lat=%d; have_mem=%d; nmem=%d"
                        % (TMP, RES, len(servers), min(RATES, key=lambda r: abs(r - 40000)) // 1000,
                           have_rates, have_lat, have_mem, len(mcols)),
                        gp], capture_output=True, text=True)
    if r.returncode != 0:
        results["errors"].append("gnuplot: " + r.stderr.strip()[-300:])


def main():
    bl.install_cleanup()
    os.makedirs(TMP, exist_ok=True)
    for stale in os.listdir(TMP):
        p = os.path.join(TMP, stale)
        if os.path.isdir(p):
            shutil.rmtree(p, ignore_errors=True)
    servers, missing = [], []
    for name in SERVERS:
        srv = make_server(name)
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
                        "server_cpus": SERVER_CPUS, "client_cpus": CLIENT_CPUS, "workers": WORKERS,
                        "minimal_responses": bl.MINIMAL},
               "rates": {}, "tcp": {}, "flood": {}, "signed": {}, "warmup": {}, "cache": {}, "mem_after": {},
               "maxrate": {}, "load": {}, "reload": {}, "profile": {}, "errors": list(missing)}
    t0 = time.monotonic()
    log("zones: generating %d-record zone and queries" % RATE_ZONE)
    zone = Zone(RATE_ZONE)
    phases = [("rates", lambda: phase_rates(servers, zone, results)),
              ("tcp", lambda: phase_tcp(servers, zone, results)),
              ("flood", lambda: phase_flood(servers, zone, results)),
              ("signed", lambda: phase_signed(servers, zone, results)),
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
    results["meta"]["loadavg_end"] = " ".join(open("/proc/loadavg").read().split()[:3])

    cols = [s.name for s in servers]
    rows = summarize(results)
    tgts = targets(rows, results)
    write_outputs(results, rows, tgts, cols)
    print()
    print("anyns benchmark (%s): every server warmed by one uncounted pass over the query file; "
          "medians of %d interleaved reps of %d s, (min..max); ratio = anynsd / best peer"
          % (results["meta"]["date"], REPS, DUR))
    print("machine load average (1, 5, 15 min; %d CPUs): %s at the start, %s at the end"
          % (results["meta"]["cpus"], results["meta"]["loadavg"], results["meta"]["loadavg_end"]))
    print(render_table(rows, cols))
    if LOWER_BOUND:
        print("+ = lower bound: dnsperf (one core) could not offer more")
    q = cpu_quality(results)
    if q:
        print()
        print(q)
    print()
    for name, val, lim, res in tgts:
        print("%-5s %-50s measured %s, limit %s" % (res, name, fmt(val), lim))
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
    print("results: bench/results/latest.{md,csv}, bench/results/{cpu,latency,memory}.png; "
          "every run and probe: %s/latest.json (%d s)" % (os.path.relpath(RUN, ROOT),
                                                        results["meta"]["elapsed_s"]))


if __name__ == "__main__":
    main()
