#!/usr/bin/python3
"""Benchmark zone and query generator for anyns bench (bench/README.md).

    gen_zone.py --records N --origin bench.example --zone FILE --queries FILE [--nq N]

Writes an RFC 1035 master file of about N resource records and a dnsperf query
file ("name type" per line) in random order with a realistic mix:

    hits (A, AAAA, MX)   ~73%      CNAME (in-zone target)   ~8%
    wildcard             ~5%       referral (below a cut)   ~5%
    NODATA               ~2%       NXDOMAIN                  7%

Names cycle through ten shapes (i = name index):
    i%10 in 0..4  h<i>  A
    i%10 in 5,6   h<i>  A + AAAA
    i%10 == 7     m<i>  MX 10 h<i-7>   (target inside the zone: additional section)
    i%10 == 8     c<i>  CNAME h<i-8>
    i%10 == 9     d<i>  NS ns.d<i> + glue ns.d<i> A   (a delegation with glue)
plus one wildcard *.w A at the apex level. Names are picked uniformly, or with
Zipf popularity (--zipf S, e.g. 1.0) for a skewed, cache-friendlier mix. The SOA serial has a fixed width so
that a reload test can bump it in place (see bench.py, reload_bump()).
The output is deterministic for a given --seed.
"""
import argparse
import random
import sys

SERIAL = "2026010100"  # 10 digits: bench.py rewrites it in place


def addr4(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def addr6(i):
    return "2001:db8::%x:%x" % ((i >> 16) & 0xFFFF, i & 0xFFFF)


def gen_zone(origin, records, f):
    """Writes the zone; returns the number of name indexes used."""
    out = []
    w = out.append
    w("$ORIGIN %s.\n$TTL 3600\n" % origin)
    w("@ IN SOA ns1 hostmaster %s 3600 900 604800 300\n" % SERIAL)
    w("@ IN NS ns1\n@ IN NS ns2\n")
    w("ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n")
    w("ns1 IN AAAA 2001:db8::1\nns2 IN AAAA 2001:db8::2\n")
    w("@ IN MX 10 ns1\n")
    w("*.w IN A 192.0.2.80\n")
    n = 9
    i = 0
    while n < records:
        k = i % 10
        if k <= 4:
            w("h%d IN A %s\n" % (i, addr4(i)))
            n += 1
        elif k <= 6:
            w("h%d IN A %s\nh%d IN AAAA %s\n" % (i, addr4(i), i, addr6(i)))
            n += 2
        elif k == 7:
            w("m%d IN MX 10 h%d\n" % (i, i - 7))
            n += 1
        elif k == 8:
            w("c%d IN CNAME h%d\n" % (i, i - 8))
            n += 1
        else:
            w("d%d IN NS ns.d%d\nns.d%d IN A %s\n" % (i, i, i, addr4(i)))
            n += 2
        i += 1
        if len(out) >= 65536:
            f.write("".join(out))
            out.clear()
    f.write("".join(out))
    return i


def gen_queries(origin, names, nq, rng, f, zipf=0.0):
    """zipf > 0: names drawn with Zipf popularity (rank r weighs 1/r^zipf, ranks
    shuffled over the zone), closer to real traffic than the uniform default."""
    o = origin
    qs = []
    pick = None
    if zipf > 0:
        import itertools
        order = list(range(names))
        rng.shuffle(order)
        cum = list(itertools.accumulate(1.0 / (r + 1) ** zipf for r in range(names)))
        picks = rng.choices(order, cum_weights=cum, k=nq)
        pick = iter(picks)
    for _ in range(nq):
        r = rng.random()
        if r < 0.07:  # NXDOMAIN
            qs.append("nx%d.%s A" % (rng.randrange(10 * names + 10), o))
            continue
        if r < 0.12:  # wildcard
            qs.append("q%d.w.%s A" % (rng.randrange(1 << 20), o))
            continue
        # pick a name and ask what its shape calls for
        i = next(pick) if pick else rng.randrange(names)
        k = i % 10
        if k <= 4:
            if rng.random() < 0.04:  # NODATA: A-only name asked for AAAA
                qs.append("h%d.%s AAAA" % (i, o))
            else:
                qs.append("h%d.%s A" % (i, o))
        elif k <= 6:
            qs.append("h%d.%s %s" % (i, o, "AAAA" if rng.random() < 0.5 else "A"))
        elif k == 7:
            qs.append("m%d.%s MX" % (i, o))
        elif k == 8:
            qs.append("c%d.%s A" % (i, o))
        else:
            qs.append("www.d%d.%s A" % (i, o))  # referral
    f.write("\n".join(qs))
    f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--origin", default="bench.example")
    ap.add_argument("--zone", required=True)
    ap.add_argument("--queries")
    ap.add_argument("--nq", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=53)
    ap.add_argument("--zipf", type=float, default=0.0,
                    help="Zipf exponent of name popularity (0: uniform, the default)")
    a = ap.parse_args()
    if a.records < 20:
        sys.exit("gen_zone.py: --records must be at least 20")
    origin = a.origin.rstrip(".")
    with open(a.zone, "w") as f:
        names = gen_zone(origin, a.records, f)
    if a.queries:
        with open(a.queries, "w") as f:
            gen_queries(origin, names, a.nq, random.Random(a.seed), f, a.zipf)
    # The last name index is the probe bench.py uses for "first correct answer".
    print(names - 1)


if __name__ == "__main__":
    main()
