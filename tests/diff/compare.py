#!/usr/bin/python3
"""Differential DNS test: sends the same wire query to a reference server (NSD)
and to each server under test, then compares the parsed responses.

    compare.py --queries FILE --ref nsd=127.0.0.1:PORT --test anynsd=127.0.0.1:PORT [...]

Compared, per query: opcode, header flags (QR AA TC RD RA CD AD), the rcode
(extended bits included), EDNS presence, version, payload size and DO bit,
the question echoed byte for byte, and the answer/authority/additional
sections as sets of RRs (order aside; owner names case-insensitively; TTLs
and rdata compared). For anynsd also the length: with the same records its
response must not be longer than NSD's (name compression).

Differences that are intended are listed in EXCEPTIONS below, each with the RFC
that allows it, and applied only to the queries and servers the entry names.

Prints one line per (query, server under test):  PASS: diff:<server>:<id>,
FAIL: diff:<server>:<id>: <why> (followed by indented detail lines), or
SKIP: diff:<server>:<id>: <reason>. Run with /usr/bin/python3 (Debian's
dnspython)."""

import argparse
import os
import random
import socket
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import dnsutil  # noqa: E402

TIMEOUT = 2.0
TRIES = 3

# ---------------------------------------------------------------------------
# Queries


class Query:
    def __init__(self, qid, qname, qtype, qclass, opts, lineno):
        self.id = qid
        self.qname = qname
        self.qtype = qtype
        self.qclass = qclass
        self.opts = opts
        self.lineno = lineno
        self.tcp = "tcp" in opts
        self.skip = opts.get("skip")

    def wire(self):
        o = self.opts
        name = dns.name.from_text(self.qname)
        use_edns = "noedns" not in o
        msg = dns.message.make_query(name, self.qtype, self.qclass, use_edns=False)
        if use_edns:
            # make_query() does not pass a version through; use_edns() does.
            msg.use_edns(int(o.get("ednsver", 0)),
                         dns.flags.DO if "do" in o else 0,
                         int(o.get("bufsize", 1232)))
        msg.id = random.randint(0, 0xFFFF)
        if "nord" in o:
            msg.flags &= ~dns.flags.RD
        if "cd" in o:
            msg.flags |= dns.flags.CD
        if "ad" in o:
            msg.flags |= dns.flags.AD
        if use_edns and "ednsopt" in o:
            code, _, hexdata = o["ednsopt"].partition(":")
            msg.use_edns(int(o.get("ednsver", 0)), dns.flags.DO if "do" in o else 0,
                         int(o.get("bufsize", 1232)),
                         options=[dns.edns.GenericOption(int(code), bytes.fromhex(hexdata))])
        return self.patch(bytearray(msg.to_wire()))

    def patch(self, w):
        """Header and section changes dnspython will not make by itself."""
        o = self.opts
        hdr, body = w[:12], w[12:]
        qd, an, ns, ar = struct.unpack("!HHHH", bytes(hdr[4:12]))
        qend = len(dns.name.from_text(self.qname).to_wire()) + 4 if qd else 0
        question, rest = body[:qend], body[qend:]
        if "opcode" in o:
            hdr[2] = (hdr[2] & 0x87) | (int(o["opcode"]) << 3)
        if "z" in o:
            hdr[3] |= 0x40
        if "tc" in o:
            hdr[2] |= 0x02
        if "qr" in o:
            hdr[2] |= 0x80
        if "noquestion" in o:
            question, qd = b"", 0
        if "twoq" in o:
            question, qd = question + question, 2
        if "twoopt" in o and ar:
            rest, ar = rest + rest, ar + 1
        out = bytearray(hdr[:4]) + struct.pack("!HHHH", qd, an, ns, ar) + question + rest
        if "trailing" in o:
            out += b"\xde\xad\xbe\xef"
        return bytes(out)


# What a line of queries.txt may say after the type and class.
OPTIONS = {"tcp", "noedns", "bufsize", "ednsver", "do", "cd", "ad", "nord", "ednsopt",
           "opcode", "z", "tc", "qr", "noquestion", "twoq", "twoopt", "trailing", "drop",
           "v6", "skip"}


def parse_type(text):
    if text.isdigit():
        return int(text)
    return dns.rdatatype.from_text(text)


def load_queries(path):
    out = []
    seen = set()
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
            words = line.split()
            if not words:
                continue
            if len(words) < 3:
                sys.exit("%s:%d: need ID QNAME QTYPE" % (path, lineno))
            qid, qname, qtype = words[0], words[1], parse_type(words[2])
            rest = words[3:]
            qclass = dns.rdataclass.IN
            if rest and rest[0].upper() in ("IN", "CH", "HS", "ANY", "NONE") or \
                    (rest and rest[0].upper().startswith("CLASS")):
                qclass = dns.rdataclass.from_text(rest[0])
                rest = rest[1:]
            opts = {}
            # skip=WHY takes the rest of the line as its reason.
            for i, w in enumerate(rest):
                if w.startswith("skip="):
                    opts["skip"] = " ".join([w[5:]] + rest[i + 1:])
                    break
                k, _, v = w.partition("=")
                if k not in OPTIONS:
                    sys.exit("%s:%d: unknown option %s" % (path, lineno, k))
                opts[k] = v
            if qid in seen:
                sys.exit("%s:%d: duplicate query id %s" % (path, lineno, qid))
            seen.add(qid)
            out.append(Query(qid, qname, qtype, qclass, opts, lineno))
    return out


# ---------------------------------------------------------------------------
# Transport


def ask(server, wire, tcp, tries=TRIES, timeout=TIMEOUT):
    """Returns the raw response, or None after `tries` timeouts."""
    return dnsutil.ask(server, wire, tcp, timeout, tries)


# ---------------------------------------------------------------------------
# Normalised view of a response

FLAG_NAMES = ["QR", "AA", "TC", "RD", "RA", "CD", "AD"]
SECTIONS = ["answer", "authority", "additional"]


def rr_key(rrset, rd):
    # Owner compared without case (RFC 4343); rdata in canonical form, which
    # lowercases the names inside the rdata of the RFC 4034 6.2 types.
    return (rrset.name.to_text().lower(), dns.rdataclass.to_text(rrset.rdclass),
            dns.rdatatype.to_text(rrset.rdtype), rrset.ttl,
            rd.to_digestable().hex())


class View:
    """What the comparison looks at; exceptions may edit it."""

    def __init__(self, raw):
        self.raw = raw
        self.error = None
        self.msg = None
        self.text = {}
        if raw is None:
            self.error = "no response (timeout)"
            return
        # dnspython refuses opcodes it has no name for (3, 6-15): then parse a
        # copy with opcode 0 and keep the number.
        opname = None
        try:
            try:
                m = dns.message.from_wire(raw, ignore_trailing=True)
            except Exception:  # noqa: BLE001
                if len(raw) < 3 or not raw[2] & 0x78:
                    raise
                m = dns.message.from_wire(raw[:2] + bytes([raw[2] & 0x87]) + raw[3:],
                                          ignore_trailing=True)
                opname = "OPCODE%d" % ((raw[2] >> 3) & 0xF)
        except Exception as e:  # noqa: BLE001 - any parse error is a finding
            self.error = "unparseable response: %s (%s)" % (e, raw[:64].hex())
            return
        self.msg = m
        self.opcode = opname or dns.opcode.to_text(m.opcode())
        self.flags = {f: bool(m.flags & getattr(dns.flags, f)) for f in FLAG_NAMES}
        self.rcode = dns.rcode.to_text(m.rcode())
        # EDNS as (version, payload size, DO bit) (RFC 6891 6.1.3, RFC 3225 3:
        # DO is copied into the response).
        self.edns = None if m.edns < 0 else (
            m.edns, m.payload, bool(m.ednsflags & dns.flags.DO))
        self.question = [str(q) for q in m.question]  # case kept
        # RFC 5001 NSID: every server is given the same one.
        self.nsid = [bytes(o.to_wire()) for o in m.options if o.otype == dns.edns.NSID]
        self.sections = {}
        for sec in SECTIONS:
            keys = set()
            for rrset in getattr(m, sec):
                for rd in rrset:
                    k = rr_key(rrset, rd)
                    keys.add(k)
                    self.text[k] = (rrset, rd)   # formatted only for a report
            self.sections[sec] = keys

    def rr_text(self, k):
        rrset, rd = self.text[k]
        return "%s %d %s %s %s" % (rrset.name, rrset.ttl, dns.rdataclass.to_text(rrset.rdclass),
                                   dns.rdatatype.to_text(rrset.rdtype), rd.to_text())

    def clone(self):
        """A copy that exceptions may edit; the parsed message is shared."""
        c = View.__new__(View)
        c.__dict__.update(self.__dict__)
        if self.msg is not None:
            c.flags = dict(self.flags)
            c.question = list(self.question)
            c.sections = {k: set(v) for k, v in self.sections.items()}
        return c

    def rrs(self, sec, rtype=None, owner=None):
        return {k for k in self.sections[sec]
                if (rtype is None or k[2] == rtype) and (owner is None or k[0] == owner)}


def compare(ref, got):
    """List of (field, ref value, test value, detail lines)."""
    diffs = []
    if ref.error or got.error:
        if (ref.error is None) != (got.error is None) or ref.error != got.error:
            diffs.append(("response", ref.error or "ok", got.error or "ok", []))
        return diffs
    if ref.opcode != got.opcode:
        diffs.append(("opcode", ref.opcode, got.opcode, []))
    for f in FLAG_NAMES:
        if ref.flags[f] != got.flags[f]:
            diffs.append(("flag " + f, int(ref.flags[f]), int(got.flags[f]), []))
    if ref.rcode != got.rcode:
        diffs.append(("rcode", ref.rcode, got.rcode, []))
    if ref.edns != got.edns:
        fmt = lambda v: "none" if v is None else "version %d payload %d DO=%d" % v  # noqa: E731
        diffs.append(("edns", fmt(ref.edns), fmt(got.edns), []))
    if ref.question != got.question:
        diffs.append(("question", ref.question, got.question, []))
    if ref.nsid != got.nsid:
        diffs.append(("nsid", ref.nsid, got.nsid, []))
    for sec in SECTIONS:
        a, b = ref.sections[sec], got.sections[sec]
        if a != b:
            det = ["only in ref:  " + ref.rr_text(k) for k in sorted(a - b)]
            det += ["only in test: " + got.rr_text(k) for k in sorted(b - a)]
            diffs.append((sec, "%d RRs" % len(a), "%d RRs" % len(b), det))
    return diffs


# ---------------------------------------------------------------------------
# Intended differences. Each entry names the servers under test it applies to,
# the RFC that allows the difference, and a function
#     fn(ctx, q, ref, got) -> None (does not apply) or (problems, replaced)
# that may edit both views before the comparison, return extra problems found
# by its own check, and name the fields whose plain comparison it replaces.
# An entry is reported next to the result only when it changed something.

ADDR_TYPES = ("A", "AAAA")


def _targets(view, sec):
    """Names that additional-section processing looks up (RFC 1035 3.3.9,
    3.3.11; RFC 2782) for the NS/MX/SRV records of one section."""
    out = set()
    for rrset in getattr(view.msg, sec):
        for rd in rrset:
            if rrset.rdtype in (dns.rdatatype.NS, dns.rdatatype.SRV):
                out.add(rd.target.to_text().lower())
            elif rrset.rdtype == dns.rdatatype.MX:
                out.add(rd.exchange.to_text().lower())
    return out


def _rrsig_covers(k, types):
    """An RRSIG key whose rdata covers one of `types` (the rdata's first two
    bytes are the covered type, RFC 4034 3.1)."""
    return k[2] == "RRSIG" and int(k[4][:4], 16) in {dns.rdatatype.from_text(t) for t in types}


def ex_positive_auth_ns(ctx, q, ref, got):
    # The reference's positive answer carries the apex NS RRset (with DO=1,
    # and its RRSIGs) as its authority section, beside only the denial
    # records a wildcard answer needs, plus the addresses of those servers
    # (and their RRSIGs) that nothing else asked for; the test server's
    # carries none of it. Only that part is taken out of the reference's
    # view; every other RR is still compared, and a test server that keeps
    # any part of it is compared as such.
    if ref.rcode != "NOERROR" or not ref.sections["answer"]:
        return None
    if all(ref.sections[s] == got.sections[s] for s in ("authority", "additional")):
        return None
    apex = ctx.apex(q)
    ns = ref.rrs("authority", "NS")
    nssig = {k for k in ref.sections["authority"] if _rrsig_covers(k, ("NS",))}
    # Only the NS of the zone apex answering the query: a delegation's NS
    # (a CNAME into a cut) is a referral and always compared.
    if not ns or {k[0] for k in ns} != {apex} or {k[0] for k in nssig} - {apex}:
        return None
    rest = ref.sections["authority"] - ns - nssig
    if any(k[2] not in ("NSEC", "NSEC3") and not _rrsig_covers(k, ("NSEC", "NSEC3"))
           for k in rest):
        return None
    if got.sections["authority"] & (ns | nssig):
        return None
    keep = _targets(ref, "answer")
    ns_targets = _targets(ref, "authority")
    glue = {k for k in ref.sections["additional"]
            if (k[2] in ADDR_TYPES or _rrsig_covers(k, ADDR_TYPES)) and
            k[0] in ns_targets and k[0] not in keep}
    if got.sections["additional"] & glue:
        return None
    ref.sections["authority"] = rest
    ref.sections["additional"] -= glue
    return [], set()


# anynsd's ANY rule (server/lib/answer.c any_pick): the SOA at a zone apex;
# else the first, by type number, of A, SOA, PTR, MX, AAAA; else the other
# type with the highest number; else DNSKEY, RRSIG or NSEC.
_ANY_FIRST = ["A", "SOA", "PTR", "MX", "AAAA"]
_ANY_WEAK = {"DNSKEY", "RRSIG", "NSEC"}


def _any_rank(ctx, q, rtype):
    qn = dns.name.from_text(q.qname).to_text().lower()
    if rtype == "SOA" and ctx.apex(q) == qn:
        return (0, 0)
    if rtype in _ANY_FIRST:
        return (1, _ANY_FIRST.index(rtype))
    if rtype in _ANY_WEAK:
        return (3, 0)
    return (2, -dns.rdatatype.from_text(rtype))


def ex_any_one_rrset(ctx, q, ref, got):
    # The server under test chose another RRset of the node than the
    # reference. It must be exactly the reference's answer to a query for
    # that type at that name; for anynsd it must also be the RRset its own
    # rule prefers to the reference's choice (both exist at the node).
    if q.qtype != dns.rdatatype.ANY or q.qclass != dns.rdataclass.IN:
        return None
    if got.rcode != "NOERROR" or not got.sections["answer"] or ref.rcode != "NOERROR":
        return None
    if got.sections["answer"] == ref.sections["answer"]:
        return None
    # With DO=1 the chosen RRset comes with its RRSIG.
    types = {k[2] for k in got.sections["answer"] if k[2] != "CNAME"}
    if len(types) > 1:
        types.discard("RRSIG")
    qn = dns.name.from_text(q.qname).to_text().lower()
    if types == {"HINFO"} and len(got.sections["answer"]) == 1:
        rrset, rd = got.text[next(iter(got.sections["answer"]))]
        if rrset.name.to_text().lower() == qn and rd.cpu == b"RFC8482" and rd.os == b"":
            # RFC 8482 4.2: a synthesised HINFO (CPU "RFC8482", OS "") at the
            # query name stands for the answer; the rest is compared.
            ref.sections["answer"] = set(got.sections["answer"])
            return [], set()
    if len(types) != 1:
        return ["answer holds %d types (%s); RFC 8482 4.1 wants one RRset"
                % (len(types), ",".join(sorted(types)))], {"answer"}
    mine = types.pop()
    problems = []
    theirs = {k[2] for k in ref.sections["answer"] if k[2] != "CNAME"}
    if len(theirs) > 1:
        theirs.discard("RRSIG")
    if ctx.server.split("-")[0] == "anynsd" and len(theirs) == 1:
        theirs = theirs.pop()
        if _any_rank(ctx, q, mine) > _any_rank(ctx, q, theirs):
            problems.append("ANY answered with %s where anynsd's rule prefers the "
                            "reference's %s" % (mine, theirs))
    alt = ctx.ask_ref(q, dns.rdatatype.from_text(mine))
    if alt.msg is None:
        return problems + ["reference did not answer the %s query" % mine], set()
    # Compare against the typed answer's records, keeping the ANY reply's
    # header, question and authority section (an ANY answer carries no apex
    # NS where the typed one may), and the typed reply's additional records
    # but for the addresses only its authority section asked for.
    def glue(v):
        return {k for k in v.sections["additional"]
                if (k[2] in ADDR_TYPES or _rrsig_covers(k, ADDR_TYPES)) and
                k[0] in _targets(v, "authority") and k[0] not in _targets(v, "answer")}
    ref.text = dict(ref.text)
    ref.text.update(alt.text)
    ref.sections["additional"] = (alt.sections["additional"] - glue(alt)) | glue(ref)
    ref.sections["answer"] = set(alt.sections["answer"])
    return problems, set()


def ex_truncated(ctx, q, ref, got):
    # Both set TC: the header and the question are compared; what else a
    # truncated reply holds is the server's choice (RFC 2181 9: the client
    # retries over TCP and uses none of it). anynsd's own rule is the
    # question only (and OPT), and is checked as such.
    if not (ref.flags["TC"] and got.flags["TC"]):
        return None
    problems = []
    if ctx.server.split("-")[0] == "anynsd" and any(got.sections[s] for s in SECTIONS):
        problems.append("a TC=1 reply with records (%s); anynsd sends the question only"
                        % ", ".join("%s %d" % (s, len(got.sections[s])) for s in SECTIONS
                                    if got.sections[s]))
    if all(ref.sections[s] == got.sections[s] for s in SECTIONS) and not problems:
        return None
    return problems, set(SECTIONS)


def ex_qclass_any_aa(ctx, q, ref, got):
    if q.qclass != dns.rdataclass.ANY or ref.flags["AA"] == got.flags["AA"]:
        return None
    return [], {"flag AA"}


def ex_qtype_reserved(ctx, q, ref, got):
    if q.qtype != 0 or got.rcode == ref.rcode:
        return None
    problems = []
    if got.rcode not in ("NOTIMP", "FORMERR", "REFUSED"):
        problems.append("rcode %s: want NSD's %s or an error (NOTIMP, FORMERR, REFUSED)"
                        % (got.rcode, ref.rcode))
    if got.flags["AA"] or any(got.sections[s] for s in SECTIONS):
        problems.append("an error response with AA=1 or records")
    return problems, {"flag AA", "rcode", "answer", "authority", "additional"}


def ex_transfer_refused(ctx, q, ref, got):
    if q.qtype not in (dns.rdatatype.AXFR, dns.rdatatype.IXFR) or got.rcode == ref.rcode:
        return None
    problems = []
    if got.rcode not in ("REFUSED", "NOTAUTH", "NOTIMP"):
        problems.append("rcode %s: want a refusal (REFUSED, NOTAUTH or NOTIMP)" % got.rcode)
    if got.flags["AA"] or any(got.sections[s] for s in SECTIONS):
        problems.append("a refusal with AA=1 or records")
    return problems, {"flag AA", "rcode", "answer", "authority", "additional"}


def ex_error_echo(ctx, q, ref, got):
    # NSD answers some queries it will not process (opcode other than QUERY,
    # NOTIFY, two OPT records, QDCOUNT 2) with a bare header: no question, no OPT, RD
    # cleared. Accept a test server that echoes more, as long as what it
    # echoes is the query's own question, RD bit and EDNS version 0.
    errors = ("FORMERR", "NOTIMP", "REFUSED", "NOTAUTH")
    if ref.rcode not in errors or got.rcode not in errors:
        return None
    replaced = set()
    problems = []
    if not ref.question and got.question:
        replaced.add("question")
        one = "%s %s %s" % (dns.name.from_text(q.qname), dns.rdataclass.to_text(q.qclass),
                            dns.rdatatype.to_text(q.qtype))
        want = [one] * (2 if "twoq" in q.opts else 0 if "noquestion" in q.opts else 1)
        if got.question != want:
            problems.append("question echoed as %s, query had %s" % (got.question, want))
    if ref.edns is None and got.edns is not None and "noedns" not in q.opts:
        replaced.add("edns")
        if got.edns[0] != 0:
            problems.append("EDNS version %d in the response" % got.edns[0])
    if not ref.flags["RD"] and got.flags["RD"]:
        replaced.add("flag RD")
        if "nord" in q.opts:
            problems.append("RD=1 in the response to a query with RD=0")
    return (problems, replaced) if replaced else None


def ex_qdcount(ctx, q, ref, got):
    if "noquestion" not in q.opts and "twoq" not in q.opts:
        return None
    if got.msg is not None and got.rcode == ref.rcode:
        return None
    problems = []
    if got.rcode != "FORMERR":
        problems.append("rcode %s, want FORMERR (RFC 9619)" % got.rcode)
    if got.flags["AA"] or any(got.sections[s] for s in SECTIONS):
        problems.append("a FORMERR with AA=1 or records")
    return problems, {"flag AA", "flag RD", "rcode", "edns", "question"} | set(SECTIONS)


def ex_trailing(ctx, q, ref, got):
    if "trailing" not in q.opts or got.rcode == ref.rcode:
        return None
    problems = []
    if got.rcode != "FORMERR":
        problems.append("rcode %s, want NSD's answer or FORMERR" % got.rcode)
    if got.flags["AA"] or any(got.sections[s] for s in SECTIONS):
        problems.append("a FORMERR with AA=1 or records")
    return problems, {"flag AA", "rcode", "edns"} | set(SECTIONS)


def ex_opcode_refused(ctx, q, ref, got):
    if q.opts.get("opcode") not in ("4", "5") or got.rcode == ref.rcode:
        return None
    problems = []
    if got.rcode not in ("NOTIMP", "REFUSED", "NOTAUTH"):
        problems.append("rcode %s, want NOTIMP, REFUSED or NOTAUTH" % got.rcode)
    if got.flags["AA"] or any(got.sections[s] for s in SECTIONS):
        problems.append("a refusal with AA=1 or records")
    return problems, {"flag AA", "rcode"} | set(SECTIONS)


def _cname_chain(view, qname):
    """The CNAME RRs of the answer in chain order from qname, and the name
    the chain ends at (lowercase text)."""
    cn = {k[0]: k for k in view.sections["answer"] if k[2] == "CNAME"}
    targets = {}
    for rrset in view.msg.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            targets[rrset.name.to_text().lower()] = rrset[0].target.to_text().lower()
    chain, cur = [], qname
    while cur in cn and cn[cur] not in chain:
        chain.append(cn[cur])
        cur = targets[cur]
    return chain, cur


def ex_cname_chain_limit(ctx, q, ref, got):
    # The server under test stopped a chain the reference followed further:
    # its answer must be the first CNAMEs of the reference's chain and nothing
    # else; what follows a cut-short chain is not compared.
    if ref.rcode != "NOERROR" or got.rcode != "NOERROR":
        return None
    qn = dns.name.from_text(q.qname).to_text().lower()
    rchain, _ = _cname_chain(ref, qn)
    gchain, _ = _cname_chain(got, qn)
    # With DO=1 each CNAME comes with its RRSIG, as in the reference.
    owners = {k[0] for k in gchain}
    sigs = {k for k in ref.sections["answer"] if k[0] in owners and _rrsig_covers(k, ("CNAME",))}
    if not (0 < len(gchain) < len(rchain)) or \
            got.sections["answer"] - sigs != set(gchain):
        return None
    if gchain != rchain[:len(gchain)]:
        return ["the chain differs from the reference's"], set()
    if len(gchain) < 5:
        return ["a chain cut after %d CNAMEs is too short to be a loop guard"
                % len(gchain)], set()
    # The reference's whole chain may not have fitted (TC=1); the cut one did.
    return [], {"answer", "authority", "additional", "flag TC"}


def ex_cname_cross_zone(ctx, q, ref, got):
    # The chain leaves the zone of the query for another zone this server
    # holds. The reference goes on there; the test server stops, as for a
    # target outside its zones: its answer is the reference's answer up to the
    # first name outside the query's zone, with nothing in the authority and
    # additional sections, or, when that name is below a delegation of the
    # query's zone, that zone's referral (the cut's NS RRset and its glue, as
    # the zone file has them).
    apex = ctx.apex(q)
    # A CNAME or ANY query at an alias gets the CNAME itself: no chain is
    # followed (RFC 1034 4.3.2 step 3a), nothing is excepted.
    if apex is None or q.qtype in (dns.rdatatype.CNAME, dns.rdatatype.ANY) or \
            ref.rcode not in ("NOERROR", "NXDOMAIN") or got.rcode not in ("NOERROR", "NXDOMAIN"):
        return None
    qn = dns.name.from_text(q.qname).to_text().lower()
    chain, end = _cname_chain(ref, qn)
    sub = lambda name: Query(q.id, name, q.qtype, q.qclass, q.opts, 0)  # noqa: E731
    end_apex = ctx.apex(sub(end))
    if not chain or end_apex is None or end_apex == apex:
        return None
    mine = {k for k in ref.sections["answer"] if ctx.apex(sub(k[0])) == apex}
    problems = []
    if got.sections["answer"] != mine:
        problems.append("answer is not the reference's part inside %s" % apex)
    if got.rcode != "NOERROR":
        problems.append("rcode %s: the chain's first part exists" % got.rcode)
    # The first name of the chain outside the query's zone.
    targets = {}
    for rrset in ref.msg.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            targets[rrset.name.to_text().lower()] = rrset[0].target.to_text().lower()
    out = qn
    while ctx.apex(sub(out)) == apex and out in targets:
        out = targets[out]
    auth, addl = ctx.referral(apex, out)
    if auth is None:
        problems.append("zone file of %s not known (--sweep)" % apex)
    else:
        if got.sections["authority"] != auth:
            problems.append("authority: want %s" % ("the referral of %s" % out if auth else "nothing"))
        if got.sections["additional"] != addl:
            problems.append("additional: want %s" % ("the referral's glue" if addl else "nothing"))
    return problems, {"rcode", "answer", "authority", "additional"}


def ex_glue_additional(ctx, q, ref, got):
    # Addresses for MX/SRV/NS targets that exist only as glue below a cut.
    if ref.sections["additional"] == got.sections["additional"]:
        return None
    # The addresses only one side has must all be glue: an A query for
    # their owner gets a referral (AA=0, NS in authority) from the reference.
    cut_glue = ref.sections["additional"] ^ got.sections["additional"]
    if any(k[2] not in ADDR_TYPES for k in cut_glue):
        return None
    for owner in {k[0] for k in cut_glue}:
        sub = Query(q.id, owner, dns.rdatatype.A, q.qclass, {}, 0)
        v = View(ask(ctx.ref_addr, sub.wire(), False))
        if v.msg is None or v.flags["AA"] or not v.rrs("authority", "NS"):
            return None
    for v in (ref, got):
        v.sections["additional"] -= cut_glue
    return [], set()


def ex_minimal_target_addresses(ctx, q, ref, got):
    # Against a reference with minimal responses (a server named *-min):
    # the test server's additional section holds only addresses (and their
    # RRSIGs) of the MX and SRV targets of its answer section, which the
    # reference leaves out; all else is compared.
    if not ctx.server.endswith("-min") or ref.rcode != "NOERROR":
        return None
    extra = got.sections["additional"] - ref.sections["additional"]
    if not extra:
        return None
    targets = set()
    for rrset in got.msg.answer:
        for rd in rrset:
            if rrset.rdtype == dns.rdatatype.SRV:
                targets.add(rd.target.to_text().lower())
            elif rrset.rdtype == dns.rdatatype.MX:
                targets.add(rd.exchange.to_text().lower())
    if any(k[0] not in targets or
           (k[2] not in ADDR_TYPES and not _rrsig_covers(k, ADDR_TYPES)) for k in extra):
        return None
    got.sections["additional"] -= extra
    return [], set()


def ex_knot_rrsig_query(ctx, q, ref, got):
    # QTYPE RRSIG: Knot answers a part of the RRSIGs at the name (its pick),
    # NSD all of them; Knot's must be among NSD's.
    if q.qtype != dns.rdatatype.RRSIG or ref.rcode != got.rcode:
        return None
    ga, ra = got.sections["answer"], ref.sections["answer"]
    if not ga or ga == ra or any(k[2] != "RRSIG" for k in ra | ga):
        return None
    if not ga < ra:
        return ["RRSIGs the reference does not have"], {"answer"}
    return [], {"answer", "authority", "additional"}


def ex_knot_nsec3_alias(ctx, q, ref, got):
    # QTYPE NSEC3 at an alias: NSD answers NODATA (NSEC3 is no data of a
    # name, RFC 5155 7.2.8); Knot follows the CNAME. Knot's chain must start
    # with the reference's name and hold no NSEC3 record.
    if q.qtype != dns.rdatatype.NSEC3 or ref.rcode != "NOERROR" or ref.sections["answer"]:
        return None
    if not any(k[2] in ("CNAME", "DNAME") for k in got.sections["answer"]):
        return None
    if any(k[2] == "NSEC3" for k in got.sections["answer"]):
        return ["an NSEC3 record in the answer"], {"answer"}
    return [], {"rcode", "flag TC", "answer", "authority", "additional"}


def ex_nsec3_wildcard_itself(ctx, q, ref, got):
    # NODATA for a wildcard asked by its own name ("*.w"): NSD also sends the
    # NSEC3 of the wildcard's parent (as for a wildcard NODATA, RFC 5155
    # 7.2.5), Knot only the wildcard's own (a plain NODATA, 7.2.3). Knot's
    # must be NSD's without that set.
    if not q.qname.startswith("*.") or ref.rcode != "NOERROR" or got.rcode != "NOERROR" or \
            ref.sections["answer"] or got.sections["answer"]:
        return None
    ra, ga = ref.sections["authority"], got.sections["authority"]
    extra = ra - ga
    if not ga < ra or any(k[2] != "NSEC3" and not _rrsig_covers(k, ("NSEC3",)) for k in extra):
        return None
    ref.sections["authority"] = set(ga)
    return [], set()


def ex_knot_meta_no_cname(ctx, q, ref, got):
    # Knot's answer stops at the first alias (or right after a DNAME's
    # synthesised CNAME): it must be a part of the reference's chain.
    if q.qtype not in (dns.rdatatype.RRSIG, dns.rdatatype.NSEC) or got.rcode != "NOERROR":
        return None
    ga, ra = got.sections["answer"], ref.sections["answer"]
    if not ga < ra or any(k[2] not in ("CNAME", "DNAME") for k in ga):
        return None
    if not any(k[2] in ("CNAME", "DNAME") for k in ra):
        return None
    # The reference's whole chain may not have fitted (TC=1).
    return [], {"rcode", "flag TC", "answer", "authority", "additional"}


def _nsec3_covers(rr_owner, rd, h):
    """True when NSEC3 `rd` owned by `rr_owner` matches or covers hash h
    (base32hex text, RFC 5155 3.1.7; the last one wraps around)."""
    import base64
    own = rr_owner.split(".", 1)[0].upper()
    nxt = base64.b32encode(rd.next).decode().translate(
        str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV"))
    if own < nxt:
        return own <= h < nxt
    return h >= own or h < nxt


def ex_nsec3_provable_encloser(ctx, q, ref, got):
    # NXDOMAIN from an NSEC3 zone where the closest encloser has no NSEC3 of
    # its own: a name below an NSEC3 owner name (RFC 5155 7.2.8: no name of
    # the zone) or below an empty non-terminal left out by opt-out. NSD
    # proves from that name anyway, which proves nothing; Knot and anynsd
    # prove from the closest provable encloser (7.2.1, 7.2.2). The test's
    # NSEC3 records are checked by hashing instead of compared.
    import dns.dnssec
    apex = ctx.apex(q)
    if apex is None or ref.rcode != "NXDOMAIN" or got.rcode != "NXDOMAIN" or \
            not ref.rrs("authority", "NSEC3"):
        return None
    n3 = [(rrset.name.to_text().lower(), rd) for rrset in got.msg.authority
          if rrset.rdtype == dns.rdatatype.NSEC3 for rd in rrset]
    if not n3 and got.flags["TC"] and not any(got.sections[s] for s in SECTIONS):
        # The proof may be larger than NSD's: then it may not fit.
        return [], {"flag TC"} | set(SECTIONS)
    if not n3 or ref.sections["authority"] == got.sections["authority"]:
        return None
    rd0 = n3[0][1]
    salt = rd0.salt.hex() if rd0.salt else None
    hsh = lambda n: dns.dnssec.nsec3_hash(n, salt, rd0.iterations, rd0.algorithm)  # noqa: E731
    owners = {o.split(".", 1)[0].upper() for o, _ in n3}
    qn, az = dns.name.from_text(q.qname), dns.name.from_text(apex)
    # The closest provable encloser: the deepest ancestor with a matching NSEC3.
    ce, below = None, qn
    for cut in range(1, len(qn) - len(az) + 1):
        anc = qn.split(len(az) + len(qn) - len(az) - cut)[1]
        if hsh(anc) in owners:
            ce = anc
            break
        below = anc
    problems = []
    if ce is None:
        problems.append("no NSEC3 matches an ancestor of the name (closest encloser)")
    else:
        nc = dns.name.Name(qn.labels[-(len(ce) + 1):])
        for what, name in (("next closer", nc), ("wildcard", dns.name.from_text("*", ce))):
            if not any(_nsec3_covers(o, rd, hsh(name)) for o, rd in n3):
                problems.append("no NSEC3 covering the %s name %s" % (what, name))
    # The rest (SOA and its RRSIG) is compared as usual; an RRSIG's rdata
    # starts with the type it covers (NSEC3 = 50 = 0x0032).
    for v in (ref, got):
        v.sections["authority"] = {k for k in v.sections["authority"]
                                   if k[2] != "NSEC3" and
                                   not (k[2] == "RRSIG" and k[4].startswith("0032"))}
    return problems, set()


def ex_cd_copied(ctx, q, ref, got):
    # RFC 4035 3: a security-aware name server MUST copy CD into the response.
    if "cd" not in q.opts or ref.flags["CD"] or not got.flags["CD"]:
        return None
    return [], {"flag CD"}


def ex_badvers_nsid(ctx, q, ref, got):
    if ref.rcode != "BADVERS" or got.rcode != "BADVERS" or ref.nsid == got.nsid:
        return None
    return [], {"nsid"}


def ex_chaos_any_refused(ctx, q, ref, got):
    if q.qclass != dns.rdataclass.CH or q.qtype != dns.rdatatype.ANY or got.rcode == ref.rcode:
        return None
    problems = []
    if got.rcode != "REFUSED" or got.flags["AA"] or any(got.sections[s] for s in SECTIONS):
        problems.append("want NSD's answer or a bare REFUSED")
    return problems, {"rcode", "flag AA"} | set(SECTIONS)


EXCEPTIONS = [
    dict(name="knot-meta-no-cname", servers={"knot"}, fn=ex_knot_meta_no_cname, final=True,
         rfc="RFC 1034 4.3.2 follows a CNAME for every type but CNAME; Knot treats "
             "RRSIG and NSEC as DNSSEC meta types (RFC 4034 3, 4) and answers NODATA at "
             "the alias. NSD (and anynsd) follow the chain. Knot only."),
    dict(name="knot-rrsig-query", servers={"knot"}, fn=ex_knot_rrsig_query, final=True,
         rfc="RFC 4035 3.1.5 does not say which RRSIGs answer QTYPE RRSIG; NSD gives "
             "every one at the name, Knot a part of them. Knot only."),
    dict(name="knot-nsec3-at-alias", servers={"knot"}, fn=ex_knot_nsec3_alias, final=True,
         rfc="RFC 5155 7.2.8: NSEC3 is no data of a name; NSD (and anynsd) answer QTYPE "
             "NSEC3 at an alias NODATA, Knot follows the CNAME. Knot only."),
    dict(name="nsec3-wildcard-itself", servers={"knot"}, fn=ex_nsec3_wildcard_itself,
         rfc="RFC 5155 7.2.3 and 7.2.5: NODATA for a wildcard asked by its own name; NSD "
             "adds the NSEC3 of the wildcard's parent, Knot sends the wildcard's own only. "
             "Knot only."),
    dict(name="chaos-any-refused", servers={"knot"}, fn=ex_chaos_any_refused,
         rfc="RFC 4892 defines id.server as CH TXT only; NSD answers a CH ANY query with "
             "the TXT, Knot refuses it. Knot only."),
    dict(name="badvers-nsid", servers={"knot"}, fn=ex_badvers_nsid,
         rfc="RFC 6891 6.1.3 says nothing of options in a BADVERS response: NSD (and "
             "anynsd) leave NSID out, Knot puts it in."),
    dict(name="any-one-rrset", servers={"knot", "anynsd"}, fn=ex_any_one_rrset,
         rfc="RFC 8482 4.1: an ANY query may be answered with any one RRset of the node "
             "(or a synthesised HINFO, 4.2). NSD picks one type, Knot another (at the "
             "apex: NSD SOA, Knot A); the chosen RRset must equal the reference's answer "
             "to a query for that type, and be the one anynsd's rule (SOA at an apex, "
             "then A, SOA, PTR, MX, AAAA) prefers to the reference's."),
    dict(name="positive-authority-ns", servers={"knot"}, fn=ex_positive_auth_ns,
         rfc="RFC 1034 4.3.2 (step 3a copies the matching RRs to the answer, step 6 "
             "adds only what is useful): the apex NS RRset in the authority section of "
             "a positive answer, with the addresses of those servers in the additional "
             "section, is optional. NSD adds it (minimal-responses: no), Knot "
             "never does: only that part of NSD's answer is left out for Knot. anynsd "
             "adds it as NSD does and is compared as such."),
    dict(name="truncated-content", servers={"knot", "anynsd"}, fn=ex_truncated,
         rfc="RFC 2181 9, RFC 1035 7.1: a response with TC=1 is discarded and the query "
             "retried over TCP, so the records a truncated response still holds are not "
             "compared; the header and the question are (both must set TC). anynsd's "
             "TC reply must hold the question only."),
    dict(name="qclass-any-aa", servers={"knot"}, fn=ex_qclass_any_aa,
         rfc="RFC 1035 6.2: a response to QCLASS=* should never be authoritative unless "
             "it covers all classes. NSD clears AA, Knot sets it; anynsd must do as NSD."),
    dict(name="qtype-reserved", servers={"knot", "anynsd"}, fn=ex_qtype_reserved,
         rfc="RFC 6895 3.1: QTYPE 0 is reserved and its handling unspecified. NSD answers "
             "NODATA, Knot NOTIMP; either an NSD-identical answer or an error rcode "
             "without AA or records is accepted."),
    dict(name="transfer-refused", servers={"knot", "anynsd"}, fn=ex_transfer_refused,
         rfc="RFC 5936 6: zone transfers are subject to policy and the refusal rcode is "
             "not fixed. NSD (no provide-xfr) says REFUSED, or NOTIMP to AXFR over UDP "
             "(RFC 5936 4.2); Knot NOTAUTH. Any of the three without AA or records is "
             "accepted."),
    dict(name="error-echo", servers={"knot", "anynsd"}, fn=ex_error_echo,
         rfc="RFC 1035 4.1.1 (RD is copied into the response), RFC 6891 6.1.1 (a "
             "response to a query with OPT carries OPT): NSD's FORMERR/NOTIMP for "
             "queries it does not process is a bare header; echoing the question, RD "
             "and OPT is accepted, when what is echoed is right."),
    dict(name="qdcount-not-1", servers={"anynsd"}, fn=ex_qdcount,
         rfc="RFC 9619 (QDCOUNT is one): a query with no question or with two is "
             "answered FORMERR. NSD answers QDCOUNT=0 with NOERROR."),
    dict(name="qdcount-not-1-or-drop", servers={"knot"}, fn=lambda c, q, r, g: (
         ([], {"response"}) if ("noquestion" in q.opts or "twoq" in q.opts) and g.msg is None
         else ex_qdcount(c, q, r, g)),
         no_response=True,
         rfc="RFC 9619; Knot drops a query with QDCOUNT=2 instead of answering FORMERR."),
    dict(name="trailing-data", servers={"knot", "anynsd"}, fn=ex_trailing,
         rfc="RFC 1035 4.1 defines no bytes after the last section: NSD ignores them "
             "and answers, Knot (and anynsd, by its spec) answer FORMERR. Either is "
             "accepted."),
    dict(name="notify-update-refused", servers={"knot", "anynsd"}, fn=ex_opcode_refused,
         rfc="RFC 1996 (NOTIFY) and RFC 2136 (UPDATE) are policy-controlled: NSD says "
             "REFUSED to a NOTIFY from an unknown primary and NOTIMP to UPDATE, Knot "
             "NOTAUTH to both, anynsd NOTAUTH to a NOTIFY for a zone it is not a secondary "
             "of and NOTIMP to the other opcodes but QUERY (RFC 1035 4.1.1)."),
    dict(name="cname-chain-limit", servers={"knot", "anynsd"}, fn=ex_cname_chain_limit,
         rfc="RFC 1034 4.3.2 sets no bound on CNAME chains; servers cut long ones to be "
             "loop-safe (RFC 1034 3.6.2 advises against chains). NSD followed 12, Knot "
             "stops after 5. A cut chain must be the start of the reference's (5 at "
             "least)."),
    dict(name="cname-cross-zone", servers={"knot", "anynsd"}, fn=ex_cname_cross_zone,
         rfc="RFC 1034 4.3.2 step 3a restarts the lookup for the CNAME target, which NSD "
             "does in any zone it holds (with that zone's NS); RFC 6604 2.1 and Knot stop "
             "at the query's zone, and anynsd follows chains inside the zone only (its "
             "spec). The test's answer must be the reference's part inside the zone, with "
             "nothing else, or with the zone's referral when the name the chain leaves "
             "for lies below one of the zone's cuts."),
    dict(name="nsec3-provable-encloser", servers={"knot", "anynsd"},
         fn=ex_nsec3_provable_encloser,
         rfc="RFC 5155 7.2.1, 7.2.2, 7.2.8: a Name Error is proved from the closest "
             "provable encloser. Below an NSEC3 owner name (no name of the zone) or an "
             "empty non-terminal without NSEC3 (opt-out), NSD proves from that name and "
             "its NSEC3 records prove nothing; Knot and anynsd prove from the nearest "
             "ancestor that has an NSEC3, which is checked by hashing instead of compared."),
    dict(name="cd-copied", servers={"anynsd"}, fn=ex_cd_copied,
         rfc="RFC 4035 3: a security-aware name server MUST copy the CD bit from a "
             "query into the response; NSD and Knot clear it, anynsd copies it."),
    dict(name="minimal-target-addresses", servers={"knot"}, fn=ex_minimal_target_addresses,
         rfc="RFC 1034 4.3.2 step 6, RFC 2782: additional data is optional. With "
             "minimal-responses NSD leaves the addresses of MX and SRV targets out of "
             "the additional section; Knot, which has no such setting, adds them. "
             "Compared against NSD with minimal-responses only."),
    dict(name="glue-additional", servers={"knot"}, fn=ex_glue_additional,
         rfc="RFC 1034 4.3.2 step 6 and RFC 2181 5.4.1: additional data is optional, "
             "and glue below a cut is not authoritative data; Knot adds the glue of an "
             "MX target below a cut, NSD does not."),
]


class Ctx:
    def __init__(self, ref_addr, zones, files=()):
        self.ref_addr = ref_addr
        self.zones = [dns.name.from_text(z) for z in zones]
        # ORIGIN=FILE of the zones whose files are known (--sweep).
        self.files = dict(spec.partition("=")[::2] for spec in files)
        self.loaded = {}

    def zone(self, apex):
        import dns.zone
        key = apex.rstrip(".").lower()
        if key not in self.loaded:
            path = {o.rstrip(".").lower(): f for o, f in self.files.items()}.get(key)
            self.loaded[key] = path and dns.zone.from_file(path, key, relativize=False,
                                                           check_origin=False)
        return self.loaded[key]

    def referral(self, apex, name):
        """(authority, additional) RR keys of the referral zone `apex` gives for
        `name`: the NS RRset of the highest cut above or at name and the glue
        addresses of its servers (below the cut); (set(), set()) when name is
        not below a cut of the zone; (None, None) for an unknown zone file."""
        z = self.zone(apex)
        if not z:
            return None, None
        origin, n = dns.name.from_text(apex), dns.name.from_text(name)
        if not n.is_subdomain(origin):
            return set(), set()
        cut = None
        while n != origin:
            node = z.get_node(n)
            if node is not None and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS):
                cut = n
            n = n.parent()
        if cut is None:
            return set(), set()

        def keys(owner, rds):
            return {(owner.to_text().lower(), "IN", dns.rdatatype.to_text(rds.rdtype), rds.ttl,
                     rd.to_digestable().hex()) for rd in rds}
        ns = z.get_node(cut).get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS)
        auth, addl = keys(cut, ns), set()
        for rd in ns:
            if not rd.target.is_subdomain(cut):
                continue
            node = z.get_node(rd.target)
            for t in (dns.rdatatype.A, dns.rdatatype.AAAA):
                rds = node.get_rdataset(dns.rdataclass.IN, t) if node is not None else None
                if rds:
                    addl |= keys(rd.target, rds)
        return auth, addl

    def apex(self, q):
        """Origin (lowercase text) of the most specific zone served for q, or None."""
        qn = dns.name.from_text(q.qname)
        best = None
        for z in self.zones:
            # RFC 4035 3.1.4.1: DS at a zone's apex is answered by the parent.
            if q.qtype == dns.rdatatype.DS and qn == z:
                continue
            if qn.is_subdomain(z) and (best is None or len(z) > len(best)):
                best = z
        return best.to_text().lower() if best is not None else None

    def ask_ref(self, q, rtype):
        sub = Query(q.id, q.qname, rtype, q.qclass, q.opts, q.lineno)
        return View(ask(self.ref_addr, sub.wire(), sub.tcp))


def apply_exceptions(ctx, server, q, ref, got):
    """Edits the views for the exceptions that apply; returns (names used,
    extra problems, fields whose plain comparison was replaced)."""
    used, problems, replaced = [], [], set()
    if ref.msg is None:
        return used, problems, replaced
    # "anynsd-asan" is anynsd built with sanitizers: the same exceptions.
    base = server.split("-")[0]
    ctx.server = server
    for ex in EXCEPTIONS:
        if base not in ex["servers"]:
            continue
        if got.msg is None and not ex.get("no_response"):
            continue
        r = ex["fn"](ctx, q, ref, got)
        if r is None:
            continue
        used.append(ex["name"])
        problems += ["%s [%s]" % (p, ex["name"]) for p in r[0]]
        replaced |= r[1]
        if ex.get("final"):
            break
    return used, problems, replaced


# ---------------------------------------------------------------------------


def describe(q):
    o = " ".join(k if v == "" else "%s=%s" % (k, v) for k, v in q.opts.items() if k != "skip")
    return "%s %s %s%s" % (q.qname, dns.rdataclass.to_text(q.qclass),
                           dns.rdatatype.to_text(q.qtype), (" " + o) if o else "")


def parse_server(text):
    name, _, addr = text.partition("=")
    host, _, port = addr.rpartition(":")
    return name, (host, int(port))


SWEEP_TYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DS", "SRV", "PTR",
               "CAA", "DNAME", "HINFO", "ANY", "TYPE65400"]


def sweep_queries(spec):
    """Queries for every owner name of a zone file (ORIGIN=FILE): each type of
    SWEEP_TYPES, a name one label below, one below a wildcard label and the
    name in mixed case."""
    import dns.zone
    origin, _, path = spec.partition("=")
    z = dns.zone.from_file(path, origin, relativize=False, check_origin=False)
    out = []
    n = 0
    names = sorted(z.nodes.keys())
    for name in names:
        text = name.to_text()
        variants = [(text, t) for t in SWEEP_TYPES]
        below = "sweep-x." + text if not text.startswith("*.") else "sweep-w." + text[2:]
        variants += [(below, "A"), (below, "TXT"), ("a.b." + below, "AAAA")]
        variants.append(("".join(c.upper() if i % 2 else c for i, c in enumerate(text)), "A"))
        for qname, t in variants:
            n += 1
            out.append(Query("sweep:%s:%d" % (origin, n), qname, parse_type(t),
                             dns.rdataclass.IN, {}, 0))
    return out


# Signed zones: the sweep types plus the DNSSEC ones.
DNSSEC_TYPES = SWEEP_TYPES + ["RRSIG", "NSEC", "NSEC3", "DNSKEY", "NSEC3PARAM", "CDS"]
# Asked also with DO=0 and over TCP.
DNSSEC_TYPES_MORE = ["A", "TXT", "DS", "NSEC3", "RRSIG", "MX"]


def dnssec_sweep_queries(spec):
    """Queries for a signed zone file (ORIGIN=FILE): every owner name (NSEC3
    owner names too) with each of DNSSEC_TYPES and DO=1, DNSSEC_TYPES_MORE
    also with DO=0 and over TCP with DO=1, a name below each owner, one
    beside it (after it in canonical order) and one below a wildcard label."""
    import dns.zone
    origin, _, path = spec.partition("=")
    z = dns.zone.from_file(path, origin, relativize=False, check_origin=False)
    out = []
    n = 0

    def add(qname, t, opts):
        nonlocal n
        n += 1
        out.append(Query("dnssec:%s:%d" % (origin, n), qname, parse_type(t),
                         dns.rdataclass.IN, opts, 0))

    for name in sorted(z.nodes.keys()):
        text = name.to_text()
        for t in DNSSEC_TYPES:
            add(text, t, {"do": ""})
        for t in DNSSEC_TYPES_MORE:
            add(text, t, {})
            add(text, t, {"do": "", "tcp": ""})
        below = "sweep-x." + text if not text.startswith("*.") else "sweep-w." + text[2:]
        labels = text.split(".", 1)
        beside = labels[0] + "-b." + labels[1] if len(labels) == 2 and labels[1] else None
        for q in (below, beside):
            if q is None or len(q) > 250:
                continue
            for t in ("A", "DS", "TXT"):
                add(q, t, {"do": ""})
            add(q, "A", {})
    return out


def random_queries(specs, count, seed):
    """`count` queries made from the zones' own labels, deterministic for a
    seed: names (and names below or beside them), case flipped at random,
    many types, with or without EDNS, DO, a 512-byte payload, over TCP."""
    import dns.zone
    rnd = random.Random(seed)
    names, labels = [], set()
    for spec in specs:
        origin, _, path = spec.partition("=")
        z = dns.zone.from_file(path, origin, relativize=False, check_origin=False)
        for n in z.nodes.keys():
            names.append(n)
            labels.update(lab for lab in n.labels if lab)
    labels = sorted(labels) + [b"*", b"zz-none"]
    types = SWEEP_TYPES + ["NSEC", "DNSKEY", "RRSIG", "NAPTR", "SSHFP", "TLSA", "SVCB",
                           "HTTPS", "TYPE4242", "URI"]
    out = []
    for i in range(count):
        n = rnd.choice(names)
        r = rnd.random()
        if r < 0.3:
            n = dns.name.Name((rnd.choice(labels),) + n.labels)
        elif r < 0.4:
            n = dns.name.Name((rnd.choice(labels), rnd.choice(labels)) + n.labels)
        elif r < 0.5 and len(n.labels) > 2:
            n = dns.name.Name((rnd.choice(labels),) + n.labels[1:])
        text = "".join(c.upper() if rnd.random() < 0.3 else c for c in n.to_text())
        opts = {}
        for o, p in (("noedns", 0.2), ("do", 0.2), ("tcp", 0.15), ("nord", 0.1)):
            if rnd.random() < p:
                opts[o] = ""
        if "noedns" not in opts and rnd.random() < 0.15:
            opts["bufsize"] = "512"
        out.append(Query("random:%d" % i, text, parse_type(rnd.choice(types)),
                         dns.rdataclass.IN, opts, 0))
    return out


def pipeline(addr, wires):
    """Sends every query on one TCP connection at once (RFC 7766 6.2.1.1
    pipelining), then reads the responses in whatever order they come.
    Returns {query id bytes: response}."""
    out = {}
    try:
        with socket.create_connection(addr, timeout=10) as s:
            s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in wires))
            while len(out) < len(wires):
                m = dnsutil.tcp_read(s)
                out[m[:2]] = m
    except (EOFError, OSError):
        pass
    return out


def pipeline_run(r, queries):
    """The queries of the list that expect an answer, over TCP, all on one
    connection per server, each with its own message ID."""
    sq, wires = [], []
    for q in queries:
        # Malformed queries stay out: a server may close the connection.
        if q.skip or "v6" in q.opts or set(q.opts) & {
                "drop", "qr", "noquestion", "twoq", "twoopt", "trailing"}:
            continue
        opts = dict(q.opts, tcp="")
        tq = Query("pipeline:" + q.id, q.qname, q.qtype, q.qclass, opts, q.lineno)
        w = tq.wire()
        wires.append(struct.pack("!H", len(sq) + 1) + w[2:])
        sq.append(tq)
    got = {r.ref_name: pipeline(r.ref_addr, wires)}
    for name, addr in r.tests:
        got[name] = pipeline(addr, wires)
    raws = [{name: got[name].get(w[:2]) for name in got} for w in wires]
    return sq, raws


# Servers whose responses must not be longer than the reference's when they
# hold the same records (Knot compresses referrals less than NSD).
SIZE_CHECK = {"anynsd"}


class Runner:
    def __init__(self, args):
        self.show = args.show
        self.ref_name, self.ref_addr = parse_server(args.ref)
        self.tests = [parse_server(t) for t in args.test]
        self.ctx = Ctx(self.ref_addr, args.zones.split(",") if args.zones else [],
                       getattr(args, "zone_files", args.sweep))
        self.dead = {}

    def run(self, q, raws=None):
        """Asks every server (or takes the responses from raws, by server
        name); returns {server: (problems, text lines)}, with empty problems
        on a match."""
        wire = q.wire()
        # "drop": no response is a possible outcome, so do not wait long.
        tries, tmo = (1, 0.5) if "drop" in q.opts else (TRIES, TIMEOUT)
        # "v6": every server also listens on [::1] with the same port.
        at = (lambda a: ("::1", a[1])) if "v6" in q.opts else (lambda a: a)
        if raws is not None:
            names = {self.ref_addr: self.ref_name}
            names.update((addr, name) for name, addr in self.tests)
            ask_ = lambda a, *rest: raws.get(names[a])  # noqa: E731
        else:
            ask_ = ask
        ref_raw = ask_(at(self.ref_addr), wire, q.tcp, tries, tmo)
        ref_view = View(ref_raw)
        if self.show:
            print("---- %s [%s] %s" % (q.id, self.ref_name, describe(q)))
            print(ref_view.msg)
        res = {}
        for name, addr in self.tests:
            # A server that stopped answering fails the rest at once instead of
            # costing TRIES * TIMEOUT per query.
            if self.dead.get(name, 0) >= 3:
                got_raw = None
            else:
                got_raw = ask_(at(addr), wire, q.tcp, tries, tmo)
                if "drop" not in q.opts:
                    self.dead[name] = self.dead.get(name, 0) + 1 if got_raw is None else 0
            ref, got = ref_view.clone(), View(got_raw)
            if self.show:
                print("---- %s [%s]" % (q.id, name))
                print(got.msg if got.msg is not None else got.error)
            used, problems, replaced = apply_exceptions(self.ctx, name, q, ref, got)
            diffs = [d for d in compare(ref, got) if d[0] not in replaced]
            note = " [exceptions: %s]" % ", ".join(used) if used else ""
            # RFC 1035 4.1.4: with the same records, a response should not be
            # longer than NSD's (anynsd compresses every name it may).
            if not diffs and not problems and not used and name.split("-")[0] in SIZE_CHECK \
                    and ref_raw and got_raw and len(got_raw) > len(ref_raw):
                problems.append("response of %d bytes, %s's is %d with the same records: "
                                "names compressed less (RFC 1035 4.1.4)"
                                % (len(got_raw), self.ref_name, len(ref_raw)))
            if not diffs and not problems:
                res[name] = ("", [note])
                continue
            rn = self.ref_name
            first = diffs[0] if diffs else None
            why = ("%s: %s=%s %s=%s" % (first[0], rn, first[1], name, first[2])
                   if first else problems[0])
            where = " (queries.txt line %d)" % q.lineno if q.lineno else ""
            lines = ["    query: %s%s%s" % (describe(q), where, note)]
            for field, a, b, det in diffs:
                lines.append("    %-12s %s=%s  %s=%s" % (field, rn, a, name, b))
                lines += ["        " + d.replace("ref:", rn + ":").replace("test:", name + ":")
                          for d in det]
            lines += ["    " + p for p in problems]
            res[name] = (why, lines)
        return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list-exceptions", action="store_true",
                    help="print the table of intended differences and exit")
    ap.add_argument("--queries")
    ap.add_argument("--ref", help="NAME=HOST:PORT (NSD)")
    ap.add_argument("--test", action="append", default=[], help="NAME=HOST:PORT")
    ap.add_argument("--zones", help="comma-separated origins of the zones served")
    ap.add_argument("--sweep", action="append", default=[],
                    help="ORIGIN=FILE: also query every name of this zone file (one "
                         "result per zone and server)")
    ap.add_argument("--sweep-dnssec", action="append", default=[],
                    help="ORIGIN=FILE: a signed zone; query every name with the DNSSEC "
                         "types, DO=1 and DO=0, UDP and TCP (one result per zone and server)")
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="also N random queries built from the --sweep zones")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pipeline", action="store_true",
                    help="also send the query list pipelined on one TCP connection")
    ap.add_argument("--no-v6", action="store_true",
                    help="no IPv6 loopback: skip the queries marked v6")
    ap.add_argument("--only", help="comma-separated query ids")
    ap.add_argument("--show", action="store_true", help="print every response")
    args = ap.parse_args()
    if args.list_exceptions:
        for ex in EXCEPTIONS:
            print("%s (%s):\n    %s" % (ex["name"], ", ".join(sorted(ex["servers"])), ex["rfc"]))
        return 0
    if not args.queries or not args.ref:
        ap.error("--queries and --ref are required")

    queries = load_queries(args.queries)
    if args.only:
        want = set(args.only.split(","))
        queries = [q for q in queries if q.id in want]
        args.zone_files, args.sweep = args.sweep, []
        args.sweep_dnssec = []
    r = Runner(args)
    # Sweeps and random queries: many generated queries, one result per zone
    # (or random set) and server; the first mismatches are printed in full.
    groups = [("sweep:" + spec.partition("=")[0], lambda spec=spec: sweep_queries(spec))
              for spec in args.sweep]
    groups += [("dnssec:" + spec.partition("=")[0], lambda spec=spec: dnssec_sweep_queries(spec))
               for spec in args.sweep_dnssec]
    if args.random and args.sweep:
        groups.append(("random:seed%d" % args.seed,
                       lambda: random_queries(args.sweep, args.random, args.seed)))
    if args.pipeline and not args.only:
        groups.append(("tcp-pipeline", None))
    # The results this run will print (run.sh holds it to that number).
    print("PLAN %d" % ((len(queries) + len(groups)) * len(r.tests)), flush=True)
    failed = 0
    for q in queries:
        if args.no_v6 and "v6" in q.opts:
            q.skip = "no IPv6 loopback (::1) on this machine"
        if q.skip:
            for name, _ in r.tests:
                print("SKIP: diff:%s:%s: %s" % (name, q.id, q.skip))
            continue
        for name, (why, lines) in r.run(q).items():
            tag = "diff:%s:%s" % (name, q.id)
            if not why:
                print("PASS: %s%s" % (tag, lines[0]))
                continue
            failed += 1
            print("FAIL: %s: %s" % (tag, why))
            print("\n".join(lines))
    for label, make in groups:
        if make is None:
            sq, raws = pipeline_run(r, queries)
        else:
            sq, raws = make(), None
        bad = {name: [] for name, _ in r.tests}
        for i, q in enumerate(sq):
            for name, (why, lines) in r.run(q, raws[i] if raws else None).items():
                if why:
                    bad[name].append((why, lines))
        for name, _ in r.tests:
            tag = "diff:%s:%s" % (name, label)
            if not bad[name]:
                print("PASS: %s (%d queries)" % (tag, len(sq)))
                continue
            failed += 1
            print("FAIL: %s: %d of %d queries differ" % (tag, len(bad[name]), len(sq)))
            for why, lines in bad[name][:10]:
                print("  * " + why)
                print("\n".join(lines))
    # run.sh counts a run without this line as a crash.
    print("COMPLETE")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
