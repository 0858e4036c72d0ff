#!/usr/bin/python3
"""dsrtpd's SDP handling under hostile ng traffic: a deterministic, bounded robustness run
against a running gateway; driven by test_dsrtpd_sdp_hostile.sh, which starts dsrtpd with
--interface external/127.0.0.1 --interface internal/127.0.0.2
(usage: dsrtpd_sdp_hostile.py SOURCE_DIR NG_HOST:PORT WORK_DIR PORT_MIN PORT_MAX).

With a fixed seed (DSRTPD_HOSTILE_SEED overrides it; printed first) the script sends about
DSRTPD_HOSTILE_REQUESTS (400) ng requests (offers, answers, re-offers from either side,
deletes) for many call-ids (DSRTPD_HOSTILE_SKIP: scenario kinds to leave out, comma-separated,
to look past a known failure). They are built from valid seed descriptions and structured
mutations of them:
  seeds: plain RTP audio; audio + video + a data channel; a Chromium-like WebRTC offer
  (BUNDLE, ICE, fingerprint, rtcp-mux, extmap, ssrc); SDES with two crypto lines per
  m-line; Firefox-style bundle-only m-lines (port 0 + a=bundle-only); five to seven
  m-lines; IPv6 c= lines.
  mutations: m-lines removed / duplicated / reordered between offer and answer; ports 0;
  answers with fewer or more m-lines; BUNDLE groups naming unknown mids, duplicate mids, the
  second mid first; 300-character mids; the m-line proto changed between offer and re-offer;
  a=setup / a=fingerprint changes; a=crypto with bad keys; empty and huge (close to 64 KiB)
  SDP; non-UTF-8 bytes; lines without CRLF; 100 m-lines; m-lines with 0 and 200 formats;
  direction naming unknown interfaces; every kind of transport-protocol; ICE force/remove;
  DTLS off/passive/active; SDES off; rtcp-mux offer/demux; answers with a wrong to-tag or
  from-tag; deletes in the middle of an exchange; re-offers from B's tag; re-offers adding
  m-lines; re-offers from both sides with no answer between (glare); chains of 4..8 later
  exchanges on one call, each with one change; a forked second answer; ICE restarts;
  generic line-level damage.
Checked for every reply (one ok/FAIL line per group, every failure listed in full):
  - a valid ng reply (strict bencode, the request's cookie, result ok/pong/error) within
    the timeout; error replies have a non-empty error-reason;
  - ok replies to offers and answers carry SDP that parses (v=, o=, s=, t=, one m= at
    least, CRLF lines), with the request's number of m-lines, where only RTP m-lines are
    active, at most four, each on the gateway's address and a port of its range, and an
    m-line the request disables (port 0, no a=bundle-only) still port 0;
  - where the README (or RFC 3264, for m-line counts) says what happens (valid exchanges
    succeed; unknown direction names, answers or re-offers with another number of m-lines,
    wrong tags, keying changes in a re-offer, missing or malformed SDP are errors; an
    unchanged re-offer gives byte-identical SDP), it does.
Before the seeded part, a fixed prelude replays the sequences that once crashed dsrtpd or
got a wrong reply (a refused re-offer adding an m-line, which must leave the call relaying;
re-offers from both sides with no answer between; a data channel m-line moved into a
stream's place; no t= line; a reply just over the largest UDP datagram; a bundling side
disabling its video in a re-offer; a bundled answer refusing the video).
Every 25 requests, a checkpoint: ping answers, a plain audio call set up at the start
(external -> internal) still relays RTP both ways, and a new plain audio call set up then
relays RTP both ways (raw sockets on 127.0.0.1 / 127.0.0.2). At the end: list and
statistics answer; after every call is deleted, no call and no media port is left in use.
Every request/reply is written to WORK_DIR/hostile_transcript.txt. Exit 0 only when every
check passed.
"""
import base64
import os
import random
import select
import socket
import struct
import sys
import time

SRC, NG_ADDR, WORK, PORT_MIN, PORT_MAX = sys.argv[1:6]
PORT_MIN, PORT_MAX = int(PORT_MIN), int(PORT_MAX)
sys.path.insert(0, os.path.join(SRC, "tests", "peers"))
from ng_client import benc  # noqa: E402

SEED = int(os.environ.get("DSRTPD_HOSTILE_SEED", "16051"))
N_REQUESTS = int(os.environ.get("DSRTPD_HOSTILE_REQUESTS", "400"))
BUDGET = float(os.environ.get("DSRTPD_HOSTILE_BUDGET", "38"))  # seconds for the main loop
# Scenario kinds not to run (comma-separated), to look past a known failure.
SKIP = {k for k in os.environ.get("DSRTPD_HOSTILE_SKIP", "").split(",") if k}
REPLY_TIMEOUT = 3.0
CHECK_EVERY = 25
MAX_UDP = 65507  # an IPv4 UDP datagram's payload
IP1, IP2 = "127.0.0.1", "127.0.0.2"
IFACE_IP = {"external": IP1, "internal": IP2}
GW_ADDRS = {IP1, IP2}

HOST, PORT = NG_ADDR.rsplit(":", 1)
PORT = int(PORT)
T0 = time.monotonic()

# ---- output ----

checks = 0
failures = 0


def ok(name):
    global checks
    checks += 1
    print("ok   - " + name, flush=True)


def fail(name, detail=""):
    global checks, failures
    checks += 1
    failures += 1
    print("FAIL - " + name + (" (" + detail + ")" if detail else ""), flush=True)


def check(name, cond, detail=""):
    if cond:
        ok(name)
    else:
        fail(name, detail)
    return bool(cond)


class Group:
    """One check group: how many items it looked at, and the failures (listed in full)."""

    def __init__(self, name):
        self.name, self.n, self.bad = name, 0, []

    def add(self, good, detail=""):
        self.n += 1
        if not good:
            self.bad.append(detail)
        return good

    def report(self):
        if not self.bad:
            ok("%s (%d checked)" % (self.name, self.n))
            return
        fail("%s (%d of %d failed)" % (self.name, len(self.bad), self.n))
        for d in self.bad:
            print("#     " + d)
        sys.stdout.flush()


G_REPLY = Group("every request got a valid ng reply (strict bencode, its cookie, result "
                "ok/error/pong) within %.0f s" % REPLY_TIMEOUT)
G_REASON = Group("every error reply has a non-empty error-reason")
G_SDP = Group("every ok reply to an offer/answer carries SDP that parses (v= o= s= t= m=, "
              "CRLF lines)")
G_MCOUNT = Group("every ok reply's SDP has as many m-lines as the request's SDP")
G_ACTIVE = Group("every ok reply's SDP: only RTP m-lines active, at most 4, each on the "
                 "gateway's address and a port of its range")
G_PORT0 = Group("every ok reply's SDP keeps port 0 on the m-lines the request disables (port "
                "0 without a=bundle-only; RFC 3264, README: a stream a re-offer disables stays "
                "off)")
G_EXPECT = Group("outcomes the README (and RFC 3264 on m-line counts) fix: valid exchanges "
                 "ok; unknown direction, wrong tags, another m-line count, keying changes, "
                 "missing or malformed SDP -> error")
G_SAME = Group("an unchanged re-offer gives byte-identical SDP (README: Re-offers)")
G_PING = Group("checkpoints: ping -> pong")
G_CANARY = Group("checkpoints: the call set up at the start still relays RTP both ways "
                 "(external 127.0.0.1 <-> internal 127.0.0.2)")
G_FRESH = Group("checkpoints: a new plain audio call set up then relays RTP both ways")
G_GOESON = Group("a refused re-offer leaves the call relaying RTP both ways as before "
                 "(README: Re-offers)")

# ---- bencode (strict) ----


def bparse(b, i=0, depth=0):
    """One bencoded value at b[i:]: (value, end). Strings stay bytes; ValueError on any
    deviation (leading zeros, truncation, non-string dict keys, nesting over 64)."""
    if depth > 64:
        raise ValueError("nested too deep")
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        s = b[i + 1:j]
        if not s or s == b"-0" or (s.lstrip(b"-").startswith(b"0") and s.lstrip(b"-") != b"0") \
                or not s.lstrip(b"-").isdigit() or s.count(b"-") > 1 or b"-" in s[1:]:
            raise ValueError("bad integer %r" % s)
        return int(s), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            if i >= len(b):
                raise ValueError("unterminated list")
            v, i = bparse(b, i, depth + 1)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            if i >= len(b):
                raise ValueError("unterminated dict")
            k, i = bparse(b, i, depth + 1)
            if not isinstance(k, bytes):
                raise ValueError("non-string dict key")
            v, i = bparse(b, i, depth + 1)
            out[k.decode("latin-1")] = v
        return out, i + 1
    if c.isdigit():
        j = b.index(b":", i)
        lenb = b[i:j]
        if not lenb.isdigit() or (len(lenb) > 1 and lenb.startswith(b"0")):
            raise ValueError("bad string length")
        n = int(lenb)
        if j + 1 + n > len(b):
            raise ValueError("string runs past the data")
        return b[j + 1:j + 1 + n], j + 1 + n
    raise ValueError("unexpected byte %r at %d" % (c, i))


# ---- SDP model ----


def split_lines(data):
    """Lines as dsrtpd's parser sees them: split at LF, one CR before it dropped."""
    if isinstance(data, str):
        data = data.encode("latin-1", "replace")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [l[:-1] if l.endswith(b"\r") else l for l in lines]


class Desc:
    """An SDP as session lines and a list of m-sections (each a list of lines, m= first)."""

    def __init__(self, session, media):
        self.session = list(session)
        self.media = [list(m) for m in media]

    def copy(self):
        return Desc(self.session, self.media)

    @staticmethod
    def parse(text):
        d = Desc([], [])
        for l in split_lines(text):
            l = l.decode("latin-1")
            if l.startswith("m="):
                d.media.append([l])
            elif d.media:
                d.media[-1].append(l)
            else:
                d.session.append(l)
        return d

    def text(self, eol="\r\n"):
        return eol.join(self.session + [l for m in self.media for l in m]) + eol

    def mfields(self, i):
        f = self.media[i][0][2:].split()
        kind = f[0] if f else "audio"
        try:
            port = int(f[1].split("/")[0]) if len(f) > 1 else 0
        except ValueError:
            port = -1
        return kind, port, (f[2] if len(f) > 2 else ""), f[3:]

    def set_mline(self, i, kind=None, port=None, proto=None, fmts=None):
        k, p, pr, fm = self.mfields(i)
        k = kind if kind is not None else k
        p = port if port is not None else p
        pr = proto if proto is not None else pr
        fm = fmts if fmts is not None else fm
        self.media[i][0] = ("m=%s %d %s %s" % (k, p, pr, " ".join(fm))).rstrip()

    def attr(self, i, name):
        lines = self.session if i is None else self.media[i][1:]
        out = []
        for l in lines:
            if l == "a=" + name:
                out.append("")
            elif l.startswith("a=" + name + ":"):
                out.append(l[len(name) + 3:])
        return out

    def eff(self, i, name):
        return self.attr(i, name) or self.attr(None, name)

    def drop_attr(self, i, name):
        keep = lambda l: not (l == "a=" + name or l.startswith("a=" + name + ":"))
        if i is None:
            self.session = [l for l in self.session if keep(l)]
        else:
            self.media[i] = [self.media[i][0]] + [l for l in self.media[i][1:] if keep(l)]

    def set_attr(self, i, name, values):
        """Replaces every a=name line of section i (None: session) by one per value."""
        lines = self.session if i is None else self.media[i]
        at = next((n for n, l in enumerate(lines) if l == "a=" + name or
                   l.startswith("a=" + name + ":")), None)
        self.drop_attr(i, name)
        lines = self.session if i is None else self.media[i]
        new = ["a=" + name + (":" + v if v != "" else "") for v in values]
        at = len(lines) if at is None or at > len(lines) else at
        lines[at:at] = new

    def bundle(self):
        for v in self.attr(None, "group"):
            f = v.split()
            if f and f[0] == "BUNDLE":
                return f[1:]
        return None

    def set_bundle(self, mids):
        self.set_attr(None, "group", ["BUNDLE " + " ".join(mids)])

    def bump(self):
        """o= session version + 1 (a re-offer that changed something)."""
        for n, l in enumerate(self.session):
            if l.startswith("o="):
                f = l.split()
                if len(f) >= 3 and f[2].isdigit():
                    f[2] = str(int(f[2]) + 1)
                    self.session[n] = " ".join(f)


def sdp_check(data):
    """Problems of an SDP the gateway wrote (empty list: fine)."""
    if not isinstance(data, bytes):
        return ["sdp is not a string"]
    if not data:
        return ["empty sdp"]
    probs = []
    if not data.endswith(b"\r\n"):
        probs.append("does not end with CRLF")
    if b"\r\n" in data and data.replace(b"\r\n", b"").count(b"\n"):
        probs.append("bare LF inside")
    lines = data.split(b"\r\n")
    if lines[-1] == b"":
        lines.pop()
    if not lines or lines[0] != b"v=0":
        probs.append("first line is not v=0: %r" % (lines[0][:40] if lines else b""))
    for p in (b"o=", b"s=", b"t="):
        if not any(l.startswith(p) for l in lines):
            probs.append("no %s line" % p.decode())
    if not any(l.startswith(b"m=") for l in lines):
        probs.append("no m= line")
    bad = [l for l in lines if len(l) < 2 or l[1:2] != b"=" or not (b"a" <= l[:1] <= b"z")]
    if bad:
        probs.append("%d malformed lines, first %r" % (len(bad), bad[0][:60]))
    for l in lines:
        if l.startswith(b"m="):
            f = l[2:].split()
            if len(f) < 3 or not f[1].split(b"/")[0].isdigit():
                probs.append("bad m= line %r" % l[:80])
    return probs


def active_problems(d):
    """Invariants of an SDP the gateway wrote: RTP m-lines only active, at most 4, each on
    one of our addresses and a port of our range."""
    probs = []
    active = 0
    for i in range(len(d.media)):
        kind, port, proto, fmts = d.mfields(i)
        if port == 0:
            continue
        active += 1
        if "RTP/" not in proto:
            probs.append("m-line %d (%s) active with port %d" % (i, proto, port))
        if not PORT_MIN <= port <= PORT_MAX:
            probs.append("m-line %d port %d not in %d..%d" % (i, port, PORT_MIN, PORT_MAX))
        conn = [l for l in d.media[i] if l.startswith("c=")] or \
               [l for l in d.session if l.startswith("c=")]
        addrs = {l.split()[-1] for l in conn if len(l.split()) >= 3}
        if not conn or not addrs <= GW_ADDRS:
            probs.append("m-line %d connection %s is not the gateway's" % (i, conn))
    if active > 4:
        probs.append("%d active m-lines (the cap is 4)" % active)
    return probs


# ---- endpoints ----

class Sinks:
    """UDP sockets hostile descriptions name as their media address: whatever the gateway
    sends there (DTLS, RTP) lands somewhere harmless. Never read."""

    def __init__(self):
        self.socks = {IP1: [], IP2: []}
        for ip in (IP1, IP2):
            for _ in range(4):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((ip, 0))
                self.socks[ip].append(s)

    def port(self, r, ip=IP1):
        return r.choice(self.socks[ip]).getsockname()[1]

    def close(self):
        for l in self.socks.values():
            for s in l:
                s.close()


SINKS = Sinks()


def bind_pair(ip):
    for _ in range(200):
        base = random.randrange(20000, 60000, 2)
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            a.bind((ip, base))
            b.bind((ip, base + 1))
            return a, b
        except OSError:
            a.close()
            b.close()
    raise SystemExit("no free port pair on " + ip)


# ---- ng transport ----

UDP = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
TRANSCRIPT = open(os.path.join(WORK, "hostile_transcript.txt"), "w", encoding="latin-1")


def exchange(data, cookie, tcp, timeout):
    """Sends one request; the raw reply (b"" on timeout or a closed connection)."""
    end = time.monotonic() + timeout
    if tcp:
        try:
            s = socket.create_connection((HOST, PORT), timeout=timeout)
        except OSError:
            return b""
        try:
            s.sendall(data)
            buf = b""
            while time.monotonic() < end:
                s.settimeout(max(0.01, end - time.monotonic()))
                more = s.recv(1 << 17)
                if not more:
                    return buf
                buf += more
                sp = buf.find(b" ")
                if sp > 0:
                    try:
                        _, n = bparse(buf, sp + 1)
                        return buf[:n]
                    except (ValueError, IndexError):
                        pass
            return buf
        except OSError:
            return b""
        finally:
            s.close()
    UDP.sendto(data, (HOST, PORT))
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return b""
        ready, _, _ = select.select([UDP], [], [], left)
        if not ready:
            return b""
        reply, _ = UDP.recvfrom(1 << 17)
        if reply.split(b" ", 1)[0] == cookie:
            return reply  # other cookies: late replies to requests that timed out


class Harness:
    def __init__(self, r):
        self.r = r
        self.rc = random.Random(SEED + 1)  # checkpoints: apart from the scenarios' draws
        self.n = 0  # requests sent by scenarios
        self.ncalls = 0
        self.live = []
        self.stats = {}  # kind -> [requests, ok, error, bad]
        self.order = []
        self.dead = False
        self.next_checkpoint = CHECK_EVERY
        self.on_checkpoint = None
        self.extra = 0  # uncounted requests (checkpoints, the end), pings: own cookies

    def send(self, kind, step, req, expect=None, tcp=False, timeout=REPLY_TIMEOUT,
             count=True):
        """One ng request; its reply as a dict (str keys, bytes values) or {} on failure.
        Once the daemon stopped answering (reported once), nothing more is sent."""
        if self.dead:
            return {}
        self.n += count
        seq = self.n
        if not count:
            self.extra += 1
        cookie = b"h%d-%05d" % (SEED % 100000, seq) if count else b"x%d-%05d" % (SEED % 100000,
                                                                                  self.extra)
        data = cookie + b" " + benc(req)
        if len(data) > MAX_UDP:
            tcp = True  # no UDP datagram holds it
        label = "#%d %s/%s call=%s" % (seq, kind, step, str(req.get("call-id", ""))[:60])
        raw = exchange(data, cookie, tcp, timeout)
        TRANSCRIPT.write("> %s %s %d bytes\n%s\n< %s\n\n" % (
            label, "tcp" if tcp else "udp", len(data), data[:600].decode("latin-1"),
            raw[:600].decode("latin-1")))
        st = self.stats.setdefault(kind, [0, 0, 0, 0])
        if kind not in self.order:
            self.order.append(kind)
        st[0] += 1
        reply, why = self.decode(raw, cookie)
        cmd = req.get("command")
        if not G_REPLY.add(reply is not None, "%s: %s (%s)" % (label, why, summary(req))):
            st[3] += 1
            if count:
                self.maybe_dead()
            return {}
        res = reply.get("result")
        if res == b"error":
            st[2] += 1
            reason = reply.get("error-reason")
            G_REASON.add(isinstance(reason, bytes) and len(reason) > 0,
                         "%s: error-reason %r" % (label, reason))
        else:
            st[1] += 1
        if cmd in ("offer", "answer") and res == b"ok":
            self.check_sdp(label, req, reply)
        if expect is not None:
            got = res.decode("latin-1") if isinstance(res, bytes) else str(res)
            G_EXPECT.add(got == expect, "%s: expected %s, got %s%s (%s)" % (
                label, expect, got,
                (" [" + reply.get("error-reason", b"").decode("latin-1") + "]")
                if got == "error" else "", summary(req)))
        if count and self.n >= self.next_checkpoint and self.on_checkpoint is not None:
            self.next_checkpoint += CHECK_EVERY
            self.on_checkpoint()
        return reply

    @staticmethod
    def decode(raw, cookie):
        if not raw:
            return None, "no reply"
        c, sp, body = raw.partition(b" ")
        if c != cookie or not sp:
            return None, "cookie %r, sent %r" % (c[:40], cookie)
        try:
            d, end = bparse(body)
        except (ValueError, IndexError) as e:
            return None, "not bencode: %s: %r" % (e, body[:80])
        if end != len(body):
            return None, "%d trailing bytes" % (len(body) - end)
        if not isinstance(d, dict):
            return None, "not a dict"
        if d.get("result") not in (b"ok", b"error", b"pong"):
            return None, "result %r" % d.get("result")
        return d, ""

    def check_sdp(self, label, req, reply):
        sdp = reply.get("sdp")
        probs = sdp_check(sdp)
        if not G_SDP.add(not probs, "%s: %s" % (label, "; ".join(probs))):
            return
        out = Desc.parse(sdp)
        mine = req.get("sdp", b"")
        if isinstance(mine, str):
            mine = mine.encode("utf-8")
        if not isinstance(mine, bytes):
            mine = b""
        n_in = sum(1 for l in split_lines(mine) if l.startswith(b"m="))
        G_MCOUNT.add(len(out.media) == n_in, "%s: %d m-lines in, %d out (%s)" % (
            label, n_in, len(out.media), summary(req)))
        probs = active_problems(out)
        G_ACTIVE.add(not probs, "%s: %s (%s)" % (label, "; ".join(probs), summary(req)))
        if len(out.media) == n_in:
            d_in = Desc.parse(mine)
            kept = [i for i in range(n_in) if d_in.mfields(i)[1] == 0 and
                    not d_in.attr(i, "bundle-only") and out.mfields(i)[1] != 0]
            G_PORT0.add(not kept, "%s: m-line(s) %s disabled in the request are active in the "
                        "reply (%s) (%s)" % (label, kept, " | ".join(out.media[i][0]
                                                                      for i in kept),
                                              summary(req)))

    def maybe_dead(self):
        """After a missing reply: is the daemon still answering at all?"""
        for _ in range(3):
            if self.ping():
                return
        self.dead = True

    def ping(self):
        self.extra += 1
        cookie = b"p%05d" % self.extra
        raw = exchange(cookie + b" d7:command4:pinge", cookie, False, 1.0)
        d, _ = self.decode(raw, cookie)
        return d is not None and d.get("result") == b"pong"


def summary(req):
    """A request in one short line: its keys, the SDP's size and m= lines."""
    parts = []
    for k in sorted(req):
        v = req[k]
        if k == "sdp" and isinstance(v, (str, bytes)):
            b = v.encode("utf-8") if isinstance(v, str) else v
            ms = [l.decode("latin-1")[:40] for l in split_lines(b) if l.startswith(b"m=")]
            parts.append("sdp=%dB[%s%s]" % (len(b), " | ".join(ms[:6]),
                                            " ...+%d" % (len(ms) - 6) if len(ms) > 6 else ""))
        elif k in ("call-id",):
            continue
        else:
            s = repr(v)
            parts.append("%s=%s" % (k, s[:80]))
    return " ".join(parts)


# ---- seed descriptions ----

def rand_fp(r, hash_name="sha-256", n=32):
    return hash_name + " " + ":".join("%02X" % x for x in r.randbytes(n))


def rand_ice(r):
    ch = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
    return ("".join(r.choice(ch) for _ in range(r.randrange(4, 9))),
            "".join(r.choice(ch) for _ in range(24)))


SUITE_LEN = {"AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30,
             "AES_256_CM_HMAC_SHA1_80": 46, "AES_256_CM_HMAC_SHA1_32": 46,
             "AEAD_AES_128_GCM": 28, "AEAD_AES_256_GCM": 44}


def rand_key(r, suite="AES_CM_128_HMAC_SHA1_80"):
    return base64.b64encode(r.randbytes(SUITE_LEN.get(suite, 30))).decode()


class Party:
    """One endpoint's identity: address, fingerprint, ICE credentials."""

    def __init__(self, r, ip=IP1, who="a"):
        self.ip, self.who = ip, who
        self.fp = rand_fp(r)
        self.ufrag, self.pwd = rand_ice(r)
        self.sess = r.randrange(1, 1 << 62)
        self.cname = "%08x" % r.getrandbits(32)


def head(r, p, fam="IP4", conn=True, addr=None):
    addr = addr or p.ip
    s = ["v=0", "o=%s %d %d IN %s %s" % (p.who, p.sess, r.randrange(1, 5), fam, addr),
         "s=%s" % p.who]
    if conn:
        s.append("c=IN %s %s" % (fam, addr))
    s.append("t=0 0")
    return s


def seed_plain(r, p):
    s = head(r, p)
    m = ["m=audio %d RTP/AVP 0 8 101" % SINKS.port(r, p.ip), "a=rtpmap:0 PCMU/8000",
         "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16",
         "a=ptime:20", "a=sendrecv"]
    return Desc(s, [m])


def seed_av_dc(r, p):
    s = head(r, p)
    a = ["m=audio %d RTP/AVP 0 8" % SINKS.port(r, p.ip), "a=rtpmap:0 PCMU/8000",
         "a=rtpmap:8 PCMA/8000", "a=sendrecv"]
    v = ["m=video %d RTP/AVP 96 97" % SINKS.port(r, p.ip), "a=rtpmap:96 VP8/90000",
         "a=rtpmap:97 H264/90000", "a=fmtp:97 packetization-mode=1;profile-level-id=42e01f",
         "a=sendrecv"]
    dc = ["m=application %d UDP/DTLS/SCTP webrtc-datachannel" % SINKS.port(r, p.ip),
          "a=sctp-port:5000", "a=max-message-size:262144"]
    return Desc(s, [a, v, dc])


def webrtc_common(p, mid, setup="actpass"):
    return ["c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:" + p.ufrag,
            "a=ice-pwd:" + p.pwd, "a=ice-options:trickle", "a=fingerprint:" + p.fp,
            "a=setup:" + setup, "a=mid:" + mid]


def seed_chrome(r, p, dc=True):
    port = SINKS.port(r, p.ip)
    mids = ["0", "1", "2"] if dc else ["0", "1"]
    s = head(r, p, conn=False) + ["a=group:BUNDLE " + " ".join(mids), "a=extmap-allow-mixed",
                                  "a=msid-semantic: WMS s1"]
    ssrc_a, ssrc_v, ssrc_r = r.getrandbits(31), r.getrandbits(31), r.getrandbits(31)
    a = (["m=audio %d UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126" % port] +
         webrtc_common(p, "0")[:2] +
         ["a=candidate:1 1 udp 2122260223 %s %d typ host generation 0 network-id 1" %
          (p.ip, port)] + webrtc_common(p, "0")[2:] +
         ["a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
          "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
          "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
          "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=sendrecv", "a=msid:s1 a1",
          "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 transport-cc",
          "a=fmtp:111 minptime=10;useinbandfec=1", "a=rtpmap:63 red/48000/2",
          "a=fmtp:63 111/111", "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000",
          "a=rtpmap:8 PCMA/8000", "a=rtpmap:13 CN/8000", "a=rtpmap:110 telephone-event/48000",
          "a=rtpmap:126 telephone-event/8000", "a=ssrc:%d cname:%s" % (ssrc_a, p.cname),
          "a=ssrc:%d msid:s1 a1" % ssrc_a])
    v = (["m=video %d UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 45" % port] +
         webrtc_common(p, "1") +
         ["a=extmap:14 urn:ietf:params:rtp-hdrext:toffset",
          "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
          "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=sendrecv", "a=msid:s1 v1",
          "a=rtcp-mux", "a=rtcp-rsize", "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 goog-remb",
          "a=rtcp-fb:96 transport-cc", "a=rtcp-fb:96 ccm fir", "a=rtcp-fb:96 nack",
          "a=rtcp-fb:96 nack pli", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
          "a=rtpmap:98 VP9/90000", "a=fmtp:98 profile-id=0", "a=rtpmap:99 rtx/90000",
          "a=fmtp:99 apt=98", "a=rtpmap:100 H264/90000",
          "a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
          "a=rtpmap:101 rtx/90000", "a=fmtp:101 apt=100", "a=rtpmap:45 AV1/90000",
          "a=ssrc-group:FID %d %d" % (ssrc_v, ssrc_r),
          "a=ssrc:%d cname:%s" % (ssrc_v, p.cname), "a=ssrc:%d msid:s1 v1" % ssrc_v,
          "a=ssrc:%d cname:%s" % (ssrc_r, p.cname), "a=ssrc:%d msid:s1 v1" % ssrc_r])
    media = [a, v]
    if dc:
        media.append(["m=application %d UDP/DTLS/SCTP webrtc-datachannel" % port] +
                     webrtc_common(p, "2")[:1] + webrtc_common(p, "2")[2:] +
                     ["a=sctp-port:5000", "a=max-message-size:262144"])
    return Desc(s, media)


def seed_firefox(r, p):
    port = SINKS.port(r, p.ip)
    s = ["v=0", "o=mozilla...THIS_IS_SDPARTA-99.0 %d 0 IN IP4 0.0.0.0" % p.sess, "s=-",
         "t=0 0", "a=fingerprint:" + p.fp, "a=group:BUNDLE 0 1", "a=ice-options:trickle",
         "a=msid-semantic:WMS *"]
    a = ["m=audio %d UDP/TLS/RTP/SAVPF 109 9 0 8 101" % port, "c=IN IP4 %s" % p.ip,
         "a=candidate:0 1 UDP 2122252543 %s %d typ host" % (p.ip, port), "a=sendrecv",
         "a=end-of-candidates", "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
         "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid",
         "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1", "a=fmtp:101 0-15",
         "a=ice-pwd:" + p.pwd, "a=ice-ufrag:" + p.ufrag, "a=mid:0",
         "a=msid:{5c0b8f3e} {0d7e1b2a}", "a=rtcp-mux", "a=rtpmap:109 opus/48000/2",
         "a=rtpmap:9 G722/8000/1", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
         "a=rtpmap:101 telephone-event/8000", "a=setup:actpass",
         "a=ssrc:%d cname:{%s}" % (r.getrandbits(31), p.cname)]
    v = ["m=video 0 UDP/TLS/RTP/SAVPF 120 124 121 125", "c=IN IP4 0.0.0.0", "a=bundle-only",
         "a=sendrecv", "a=fmtp:120 max-fs=12288;max-fr=60", "a=fmtp:124 apt=120",
         "a=ice-pwd:" + p.pwd, "a=ice-ufrag:" + p.ufrag, "a=mid:1", "a=rtcp-mux",
         "a=rtpmap:120 VP8/90000", "a=rtpmap:124 rtx/90000", "a=rtpmap:121 VP9/90000",
         "a=rtpmap:125 rtx/90000", "a=setup:actpass",
         "a=ssrc:%d cname:{%s}" % (r.getrandbits(31), p.cname)]
    return Desc(s, [a, v])


def seed_sdes2(r, p, streams=None):
    streams = streams or r.choice([1, 2])
    s = head(r, p)
    media = []
    for k, (kind, fmts, maps) in enumerate([("audio", "0 8", ["0 PCMU/8000", "8 PCMA/8000"]),
                                            ("video", "96", ["96 VP8/90000"])][:streams]):
        media.append(["m=%s %d RTP/SAVP %s" % (kind, SINKS.port(r, p.ip), fmts)] +
                     ["a=rtpmap:" + x for x in maps] +
                     ["a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r),
                      "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + rand_key(r) + "|2^31",
                      "a=sendrecv"])
    return Desc(s, media)


def seed_five(r, p):
    s = head(r, p)
    media = []
    for k in range(r.randrange(5, 8)):
        if k % 2 == 0:
            media.append(["m=audio %d RTP/AVP 0" % SINKS.port(r, p.ip), "a=rtpmap:0 PCMU/8000",
                          "a=sendrecv"])
        else:
            media.append(["m=video %d RTP/AVP 96" % SINKS.port(r, p.ip), "a=rtpmap:96 VP8/90000",
                          "a=sendrecv"])
    return Desc(s, media)


def seed_ipv6(r, p):
    s = head(r, p, fam="IP6", addr="::1")
    media = [["m=audio %d RTP/AVP 0 101" % SINKS.port(r, p.ip), "a=rtpmap:0 PCMU/8000",
              "a=rtpmap:101 telephone-event/8000", "a=sendrecv"]]
    if r.random() < 0.5:
        media.append(["m=video %d RTP/AVP 96" % SINKS.port(r, p.ip), "c=IN IP6 ::1",
                      "a=rtpmap:96 VP8/90000", "a=sendrecv"])
    return Desc(s, media)


SEEDS = {"plain": seed_plain, "av-dc": seed_av_dc, "chrome": seed_chrome,
         "firefox": seed_firefox, "sdes2": seed_sdes2, "five": seed_five, "ipv6": seed_ipv6}
WEBRTC = ("chrome", "firefox")

# Flags that make sense for a seed: (name, dict). The first applies to WebRTC offers.
TO_TRUNK = {"transport-protocol": "RTP/AVP", "ICE": "remove", "DTLS": "off",
            "rtcp-mux": ["demux"], "replace": ["origin", "session-connection"]}
TO_BROWSER = {"transport-protocol": "UDP/TLS/RTP/SAVPF", "ICE": "force", "rtcp-mux": ["offer"],
              "replace": ["origin", "session-connection"]}
FLAG_SETS = [
    ("to-trunk", TO_TRUNK),
    ("to-browser", TO_BROWSER),
    ("sdes", {"transport-protocol": "RTP/SAVP"}),
    ("none", {}),
    ("avpf", {"transport-protocol": "RTP/AVPF", "ICE": "remove"}),
    ("rtpp-to-trunk", {"rtpp-flags": "RTP/AVP ICE=remove DTLS=off SDES-off rtcp-mux-demux "
                                     "replace-origin replace-session-connection"}),
    ("rtpp-to-browser", {"rtpp-flags": "UDP/TLS/RTP/SAVPF ICE=force rtcp-mux-offer"}),
]


def valid_flags(r, seed):
    """A flag set that leads to a working exchange for this seed (and a direction)."""
    if seed in WEBRTC:
        name, f = r.choice([FLAG_SETS[0], FLAG_SETS[5], FLAG_SETS[3], FLAG_SETS[2]])
    else:
        name, f = r.choice(FLAG_SETS)
    f = dict(f)
    d = r.choice([None, None, ["external", "internal"], ["internal", "external"], ["internal"]])
    if d is not None:
        f["direction"] = d
    return name, f


def direction_ips(flags):
    d = flags.get("direction") or []
    a = IFACE_IP.get(d[0], IP1) if len(d) > 0 else IP1
    b = IFACE_IP.get(d[1], IP1) if len(d) > 1 else IP1
    return a, b


def make_answer(offer, r, p, style=None):
    """A well-formed answer from party p to offer (text or Desc): every m-line answered in
    order (port 0 stays refused), the first format, the keying the proto asks for (DTLS:
    p's fingerprint, the opposite setup, ICE when offered; SDES: the first crypto line's
    tag and suite with a fresh key), a=mid mirrored, BUNDLE of the accepted offered mids."""
    o = offer if isinstance(offer, Desc) else Desc.parse(offer)
    style = style or {}
    grp = o.bundle()
    s = head(r, p)
    media = []
    shared = SINKS.port(r, p.ip)
    accepted = []
    for i in range(len(o.media)):
        kind, port, proto, fmts = o.mfields(i)
        mid = o.attr(i, "mid")
        fmt = fmts[0] if fmts else "0"
        if port == 0 and not o.attr(i, "bundle-only"):
            lines = ["m=%s 0 %s %s" % (kind, proto or "RTP/AVP", fmt)]
            lines += ["a=mid:" + mid[0]] if mid else []
            media.append(lines)
            continue
        bundled = grp is not None and mid and mid[0] in grp and "UDP/TLS" in proto
        mport = shared if bundled else SINKS.port(r, p.ip)
        lines = ["m=%s %d %s %s" % (kind, mport, proto, fmt)]
        lines += ["a=rtpmap:" + v for v in o.attr(i, "rtpmap") if v.split(" ")[0] == fmt]
        if "UDP/TLS" in proto:
            setup = {"actpass": "active", "active": "passive",
                     "passive": "active"}.get((o.eff(i, "setup") or ["actpass"])[0], "active")
            lines += ["a=fingerprint:" + p.fp, "a=setup:" + style.get("setup", setup)]
            if o.eff(i, "ice-ufrag"):
                lines += ["a=ice-ufrag:" + p.ufrag, "a=ice-pwd:" + p.pwd,
                          "a=candidate:1 1 udp 2122260223 %s %d typ host" % (p.ip, mport)]
        elif "SAVP" in proto:
            cr = o.attr(i, "crypto")
            if cr:
                f = cr[0].split()
                suite = f[1] if len(f) > 1 else "AES_CM_128_HMAC_SHA1_80"
                lines.append("a=crypto:%s %s inline:%s" % (f[0], suite, rand_key(r, suite)))
        if o.attr(i, "rtcp-mux"):
            lines.append("a=rtcp-mux")
        lines += ["a=mid:" + mid[0]] if mid else []
        lines.append("a=sendrecv")
        if mid and grp is not None and mid[0] in grp:
            accepted.append(mid[0])
        media.append(lines)
    d = Desc(s, media)
    if grp is not None and accepted:
        d.set_bundle([m for m in grp if m in accepted])
    return d


def reoffer_from_answer(ans):
    """The description a party answered with, as its own re-offer (version + 1)."""
    d = ans.copy()
    d.bump()
    return d


# ---- mutations ----

def mut_remove(d, r):
    if len(d.media) > 1:
        del d.media[r.randrange(len(d.media))]
    else:
        d.media = []
    return d


def mut_dup(d, r):
    i = r.randrange(len(d.media))
    d.media.insert(i + 1, list(d.media[i]))
    return d


def mut_reorder(d, r):
    old = list(d.media)
    for _ in range(20):  # identical m-lines may leave nothing to reorder
        if d.media != old:
            break
        r.shuffle(d.media)
    return d


def mut_port0(d, r, first=None):
    idx = list(range(len(d.media)))
    pick = [0] if first else r.sample(idx, r.randrange(1, len(idx) + 1))
    if first is False:
        pick = [i for i in pick if i != 0] or ([1] if len(idx) > 1 else [])
    for i in pick:
        d.set_mline(i, port=0)
    return d


def mut_crypto(d, r):
    bad = [
        "1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 39,  # 29 bytes
        "1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 44,  # too long
        "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!notbase64!!!!notbase64!!!!notbase6",
        "1 AES_CM_128_HMAC_SHA1_80 inline:",
        "1 AES_CM_128_HMAC_SHA1_80",
        "1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^99" % rand_key(r),
        "1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^20|1:0" % rand_key(r),
        "1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^20|300:200" % rand_key(r),
        "1 AES_CM_128_HMAC_SHA1_80 inline:%s|1:4|2^20|junk" % rand_key(r),
        "0 AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r),
        "4294967296 AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r),
        "1 NOT_A_SUITE inline:" + rand_key(r),
        "1 F8_128_HMAC_SHA1_80 inline:" + rand_key(r),
        "1 AEAD_AES_256_GCM inline:" + rand_key(r, "AES_CM_128_HMAC_SHA1_80"),
        "1 AES_256_CM_HMAC_SHA1_80 inline:" + rand_key(r),
        "1 AES_CM_128_HMAC_SHA1_80 inline:%s UNENCRYPTED_SRTP FEC_ORDER=FEC_SRTP" % rand_key(r),
        "1 AES_CM_128_HMAC_SHA1_80 " + " ".join(["inline:" + rand_key(r)] * 6),
        "x AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r),
        "",
    ]
    for i in range(len(d.media)):
        d.set_attr(i, "crypto", r.sample(bad, r.randrange(1, 4)))
    return d


def mut_bundle(d, r, how):
    mids = [m[0] for m in (d.attr(i, "mid") for i in range(len(d.media))) if m]
    if not mids:
        mids = ["0"]
    if how == "unknown":
        g = list(mids)
        g[r.randrange(len(g))] = r.choice(["nosuch", "9", "", "audio"]) or "x"
        if r.random() < 0.5:
            g.append("ghost")
    elif how == "dup":
        g = list(mids)
        g.insert(r.randrange(len(g) + 1), r.choice(mids))
    else:  # second first
        g = list(mids)
        if len(g) >= 2:
            g[0], g[1] = g[1], g[0]
    d.set_bundle(g)
    return d


def mut_mid300(d, r):
    i = r.randrange(len(d.media))
    long = "m" + "".join(r.choice("abcdefghij0123456789") for _ in range(299))
    old = d.attr(i, "mid")
    d.set_attr(i, "mid", [long])
    g = d.bundle()
    if g is not None and r.random() < 0.7:
        d.set_bundle([long if (old and m == old[0]) else m for m in g])
    return d


PROTOS = ["RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF", "UDP/TLS/RTP/SAVP",
          "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", "TCP/TLS/RTP/SAVPF", "udp", "RTP/AVP/TCP",
          "TCP/RTP/AVP", "DCCP/RTP/AVP", "RTP/", "x" * 200, "RTP/SAVPFX", "UDP/TLS/RTP/AVP"]


def mut_formats(d, r, n):
    i = r.randrange(len(d.media))
    if n == 0:
        d.set_mline(i, fmts=[])
    else:
        fm = [str(x % 128) for x in range(n)] if r.random() < 0.6 else \
             [str(r.choice([0, 8, 96, 127, 128, 255, 256, 65535, 99999999999, -1]))
              for _ in range(n)]
        d.set_mline(i, fmts=fm)
    return d


def mut_add_mlines(d, r, p, k):
    for _ in range(k):
        d.media.append(r.choice([
            ["m=audio %d RTP/AVP 0" % SINKS.port(r, p.ip), "a=rtpmap:0 PCMU/8000", "a=sendrecv"],
            ["m=video %d RTP/AVP 96" % SINKS.port(r, p.ip), "a=rtpmap:96 VP8/90000"],
            ["m=audio %d RTP/SAVP 0" % SINKS.port(r, p.ip),
             "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r)],
            ["m=audio %d RTP/SAVP 0" % SINKS.port(r, p.ip)],  # SDES without a key
            ["m=video %d UDP/TLS/RTP/SAVPF 96" % SINKS.port(r, p.ip),
             "a=fingerprint:" + p.fp, "a=setup:actpass", "a=mid:added%d" % r.randrange(99)],
            ["m=application %d UDP/DTLS/SCTP webrtc-datachannel" % SINKS.port(r, p.ip)],
            ["m=audio 0 RTP/AVP 0"],
            ["m=text %d RTP/AVP 98" % SINKS.port(r, p.ip), "a=rtpmap:98 t140/1000"],
        ]))
    return d


def many_mlines(r, p, n):
    d = seed_plain(r, p)
    for k in range(n - 1):
        d.media.append(["m=%s %d RTP/AVP 0" % (r.choice(["audio", "video"]),
                                                r.choice([0, SINKS.port(r, p.ip)])),
                        "a=mid:%d" % k])
    return d


def huge(d, r, target):
    """d grown with filler attributes to a text of about target bytes (lines under 4 KiB,
    at most 200 extra attribute lines per section)."""
    base = len(d.text())
    if base >= target:
        return d.text()
    secs = [None] + list(range(len(d.media)))
    room = target - base
    per = r.choice([120, 400, 1000, 3000, 3000])
    k = 0
    while room > 20:
        sec = secs[k % len(secs)]
        n = min(per, room - 12)
        line = "a=x-fill%d:" % k
        line += "z" * max(0, n - len(line))
        (d.session if sec is None else d.media[sec]).append(line)
        room -= len(line) + 2
        k += 1
    return d.text()


def non_utf8(text, r):
    b = bytearray(text.encode("latin-1") if isinstance(text, str) else text)
    lines = bytes(b).split(b"\r\n")
    for _ in range(r.randrange(1, 6)):
        i = r.randrange(len(lines))
        junk = bytes(r.choice([0x80, 0xC0, 0xC3, 0xFE, 0xFF, 0xED, 0xA0, 0x00, 0x7F, 0x1B])
                     for _ in range(r.randrange(1, 6)))
        pos = r.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + junk + lines[i][pos:]
    return b"\r\n".join(lines)


def eol_variant(d, r, how):
    t = d.text()
    if how == "lf":
        return t.replace("\r\n", "\n")
    if how == "cr":
        return t.replace("\r\n", "\r")
    if how == "mixed":
        return "".join(l + r.choice(["\r\n", "\n"]) for l in t.split("\r\n")[:-1])
    if how == "no-final":
        return t[:-2]
    if how == "crcrlf":
        return t.replace("\r\n", "\r\r\n")
    if how == "blank-lines":
        return t.replace("\r\n", "\r\n\r\n", 3)
    if how == "trailing-space":
        return t.replace("\r\n", " \r\n")
    if how == "nul":
        return t.replace("\r\n", "\r\n\x00", 1)
    return t


def line_fuzz(d, r):
    """Generic damage to random lines of d's text: delete, duplicate, truncate, swap, number
    extremes, random attribute, empty value."""
    lines = d.text().split("\r\n")[:-1]
    for _ in range(r.randrange(1, 5)):
        if not lines:
            break
        i = r.randrange(len(lines))
        op = r.randrange(8)
        if op == 0 and len(lines) > 1:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            lines[i] = lines[i][:r.randrange(len(lines[i]) + 1)]
        elif op == 3:
            j = r.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 4:
            f = lines[i].split(" ")
            k = r.randrange(len(f))
            f[k] = r.choice(["0", "-1", "65536", "4294967296", "99999999999999999999999",
                             "", "1e9", "0x10", "\t"])
            lines[i] = " ".join(f)
        elif op == 5:
            lines.insert(i, "a=" + r.choice(["setup:bogus", "fingerprint:", "fingerprint:md5 00",
                                             "ice-ufrag:", "candidate:x", "rtcp:", "rtcp:0",
                                             "rtcp:99999 IN IP4 1.2.3.4", "group:BUNDLE",
                                             "group:", "mid:", "bundle-only", "rtcp-mux",
                                             "crypto:", "ssrc:", "rtpmap:", "rtpmap:300 x/0",
                                             "tls-id:", "ice-lite", "inactive",
                                             "end-of-candidates", "extmap:0 x", ":::"]))
        elif op == 6:
            lines[i] = lines[i].split(":")[0] + ":" if ":" in lines[i] else lines[i][:2]
        else:
            lines.insert(i, r.choice(["c=IN IP4", "c=IN IP7 1.2.3.4", "c=IN IP4 300.1.1.1",
                                      "c=IN IP4 224.2.1.1/127/3", "o=", "m=", "m=audio",
                                      "b=AS:99999999999", "t=", "z=x", "k=prompt", "x=y",
                                      "c=IN IP6 ::ffff:127.0.0.1", "c=IN IP4 0.0.0.0"]))
    return "\r\n".join(lines) + "\r\n"


# ---- scenarios ----

class Call:
    def __init__(self, h, kind):
        h.ncalls += 1
        self.h, self.kind = h, kind
        self.id = "hostile-%d-%s" % (h.ncalls, kind)
        self.fa = "fa-%d" % h.ncalls
        self.tb = "tb-%d" % h.ncalls
        h.live.append(self)

    def offer(self, step, sdp, flags=None, from_tag=None, to_tag=None, expect=None,
              tcp=False):
        req = {"command": "offer", "call-id": self.id,
               "from-tag": self.fa if from_tag is None else from_tag}
        if to_tag is not None:
            req["to-tag"] = to_tag
        if sdp is not None:
            req["sdp"] = sdp.text() if isinstance(sdp, Desc) else sdp
        req.update(flags or {})
        return self.h.send(self.kind, step, req, expect=expect, tcp=tcp)

    def answer(self, step, sdp, from_tag=None, to_tag=None, expect=None, flags=None,
               tcp=False):
        req = {"command": "answer", "call-id": self.id,
               "from-tag": self.fa if from_tag is None else from_tag,
               "to-tag": self.tb if to_tag is None else to_tag}
        if sdp is not None:
            req["sdp"] = sdp.text() if isinstance(sdp, Desc) else sdp
        req.update(flags or {})
        return self.h.send(self.kind, step, req, expect=expect, tcp=tcp)

    def delete(self, step="delete", expect=None, **extra):
        req = {"command": "delete", "call-id": self.id, "from-tag": self.fa}
        req.update(extra)
        if self in self.h.live and "to-tag" not in extra and "delete-delay" not in extra:
            self.h.live.remove(self)
        return self.h.send(self.kind, step, req, expect=expect)

    def end(self):
        """Most calls are deleted at their end; some stay (many call-ids at once) until
        later scenarios push them out."""
        if self.h.r.random() < 0.8:
            self.delete("delete")
        while len(self.h.live) > 20:
            old = self.h.live[0]
            old.delete("delete (old)")


def conn_addr(d, i):
    """The address of m-line i's c= line (media level, else session level)."""
    for l in d.media[i] + d.session:
        if l.startswith("c="):
            return l.split()[-1]
    return None


def sdp_of(reply):
    s = reply.get("sdp") if reply.get("result") == b"ok" else None
    return Desc.parse(s) if isinstance(s, bytes) else None


def exchange_ok(h, kind, r, seed=None, flags=None):
    """A valid offer/answer for a new call: (call, A, B, A's offer, B's answer, the reply
    to the offer, the reply to the answer, the flags). B's answer and the reply to the answer
    are None when the offer failed (already counted)."""
    seed = seed or r.choice(list(SEEDS))
    fname, f = valid_flags(r, seed) if flags is None else ("given", flags)
    ipa, ipb = direction_ips(f)
    pa, pb = Party(r, ipa, "a"), Party(r, ipb, "b")
    c = Call(h, kind)
    offer = SEEDS[seed](r, pa)
    exp = "ok" if seed != "ipv6" else None
    r1 = c.offer("%s offer (%s)" % (seed, fname), offer, f, expect=exp)
    ob = sdp_of(r1)
    if ob is None:
        return c, pa, pb, offer, None, r1, None, f
    ans = make_answer(ob, r, pb)
    r2 = c.answer("%s answer" % seed, ans, expect=exp)
    return c, pa, pb, offer, ans, r1, r2, f


def sc_valid(h, r):
    """A seed's exchange, an unchanged re-offer twice (identical SDP), a delete."""
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "valid", r)
    if r2 is not None and r2.get("result") == b"ok" and r.random() < 0.6:
        re1 = c.offer("re-offer unchanged", offer, f, expect="ok")
        re2 = c.offer("re-offer unchanged again", offer, f, expect="ok")
        if re1.get("result") == b"ok" and re2.get("result") == b"ok":
            G_SAME.add(re1.get("sdp") == re2.get("sdp"),
                       "%s: two unchanged re-offers gave different SDP" % c.id)
        if (ob := sdp_of(re2)) is not None:
            c.answer("answer to re-offer", make_answer(ob, r, pb), expect="ok")
    c.end()


def sc_answer_mlines(h, r, how):
    seed = r.choice(["av-dc", "chrome", "five", "sdes2", "firefox", "plain"])
    kind = "answer-" + how
    fname, f = valid_flags(r, seed)
    pa, pb = Party(r, direction_ips(f)[0]), Party(r, direction_ips(f)[1], "b")
    c = Call(h, kind)
    ob = sdp_of(c.offer("%s offer" % seed, SEEDS[seed](r, pa), f))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    n = len(ans.media)
    if how == "fewer":
        mut_remove(ans, r)
    elif how == "more":
        mut_add_mlines(ans, r, pb, r.randrange(1, 4))
    elif how == "mline-removed":
        mut_remove(ans, r)
    elif how == "mline-duplicated":
        mut_dup(ans, r)
    elif how == "mline-reordered":
        mut_reorder(ans, r)
    changed_count = len(ans.media) != n
    c.answer("%s answer" % how, ans, expect="error" if changed_count else None)
    if r.random() < 0.5:  # the right answer afterwards still works
        c.answer("proper answer after", make_answer(ob, r, pb))
    c.end()


def sc_offer_mlines(h, r, how):
    """Offers whose m-lines are removed/duplicated/reordered between the first offer and a
    re-offer (and a re-offer from B's side after the answer)."""
    kind = "reoffer-" + how
    seed = r.choice(["av-dc", "chrome", "five", "sdes2", "firefox", "ipv6"])
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, kind, r, seed)
    d = offer.copy()
    d.bump()
    {"mline-removed": mut_remove, "mline-duplicated": mut_dup,
     "mline-reordered": mut_reorder}[how](d, r)
    if r.random() < 0.3 and ans is not None:
        src, tag, p = reoffer_from_answer(ans), c.tb, pb
        {"mline-removed": mut_remove, "mline-duplicated": mut_dup,
         "mline-reordered": mut_reorder}[how](src, r)
        rr = c.offer("re-offer from B, %s" % how, src, from_tag=tag, to_tag=c.fa)
        if (ob := sdp_of(rr)) is not None:
            c.answer("A answers", make_answer(ob, r, pa), from_tag=c.tb, to_tag=c.fa)
    else:
        exp = "error" if how == "mline-removed" and len(d.media) < len(offer.media) else None
        rr = c.offer("re-offer %s" % how, d, f, expect=exp)
        if (ob := sdp_of(rr)) is not None:
            c.answer("answer", make_answer(ob, r, pb))
    c.end()


def sc_port0(h, r):
    seed = r.choice(list(SEEDS))
    fname, f = valid_flags(r, seed)
    pa, pb = Party(r), Party(r, direction_ips(f)[1], "b")
    c = Call(h, "port-0")
    where = r.choice(["offer", "offer-all", "answer-first", "answer-other", "reoffer"])
    offer = SEEDS[seed](r, pa)
    if where == "offer":
        mut_port0(offer, r)
    elif where == "offer-all":
        for i in range(len(offer.media)):
            offer.set_mline(i, port=0)
            offer.drop_attr(i, "bundle-only")
    r1 = c.offer("%s offer (%s)" % (seed, where), offer, f)
    ob = sdp_of(r1)
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    if where.startswith("answer"):
        mut_port0(ans, r, first=(where == "answer-first"))
    r2 = c.answer("answer (%s)" % where, ans)
    if where == "reoffer" and r2.get("result") == b"ok":
        d = offer.copy()
        d.bump()
        mut_port0(d, r)
        if (ob := sdp_of(c.offer("re-offer with ports 0", d, f))) is not None:
            c.answer("answer", make_answer(ob, r, pb))
    c.end()


def sc_bundle(h, r, how):
    seed = r.choice(["chrome", "chrome", "firefox"])
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "bundle-" + how)
    offer = SEEDS[seed](r, pa)
    where = r.choice(["offer", "answer", "reoffer"])
    flags = r.choice([TO_TRUNK, TO_BROWSER, {}])
    if where == "offer":
        mut_bundle(offer, r, how)
    ob = sdp_of(c.offer("%s offer (%s)" % (seed, where), offer, flags))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    if where == "answer":
        mut_bundle(ans, r, how)
    r2 = c.answer("answer", ans)
    if where == "reoffer" and r2.get("result") == b"ok":
        d = offer.copy()
        d.bump()
        mut_bundle(d, r, how)
        if (ob2 := sdp_of(c.offer("re-offer", d, flags))) is not None:
            c.answer("answer to re-offer", make_answer(ob2, r, pb))
    c.end()


def sc_mid300(h, r):
    seed = r.choice(["chrome", "firefox", "av-dc", "five"])
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "mid-300")
    offer = SEEDS[seed](r, pa)
    where = r.choice(["offer", "answer", "both"])
    if where != "answer":
        mut_mid300(offer, r)
    flags = r.choice([TO_TRUNK, TO_BROWSER, {}])
    ob = sdp_of(c.offer("%s offer" % seed, offer, flags))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    if where != "offer":
        mut_mid300(ans, r)
    c.answer("answer", ans)
    if r.random() < 0.4:
        d = offer.copy()
        d.bump()
        mut_mid300(d, r)
        if (ob2 := sdp_of(c.offer("re-offer", d, flags))) is not None:
            c.answer("answer to re-offer", make_answer(ob2, r, pb))
    c.end()


def sc_proto_change(h, r):
    """The m-line proto changes between offer and re-offer (a keying change is refused)."""
    seed = r.choice(["plain", "sdes2", "chrome", "firefox", "av-dc", "five"])
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "proto-change", r, seed)
    if r2 is None or r2.get("result") != b"ok":
        return c.end()
    d = offer.copy()
    d.bump()
    old = d.mfields(0)[2]
    new = r.choice([p for p in PROTOS if p != old])
    d.set_mline(0, proto=new)
    # README: a re-offer that changes the keying of a leg is refused. The keying is what the
    # attributes allow (a fingerprint on any RTP proto is DTLS, RFC 8643 makes crypto on
    # RTP/AVP opportunistic SDES), so only a proto the m-line's attributes cannot serve is
    # a change for sure: DTLS by name without a fingerprint, SDES by name without either.
    has_fp = bool(d.eff(0, "fingerprint"))
    has_cr = bool(d.attr(0, "crypto"))
    exp = "error" if (new.startswith("UDP/TLS/RTP/") and not has_fp) or \
        (new in ("RTP/SAVP", "RTP/SAVPF") and not has_fp and not has_cr) else None
    if r.random() < 0.3 and ans is not None:
        src = reoffer_from_answer(ans)
        src.set_mline(0, proto=new)
        rr = c.offer("re-offer from B %s -> %s" % (old, new), src, from_tag=c.tb, to_tag=c.fa)
    else:
        rr = c.offer("re-offer %s -> %s" % (old, new), d, f, expect=exp)
    if (ob := sdp_of(rr)) is not None:
        c.answer("answer", make_answer(ob, r, pb))
    if r.random() < 0.5:
        h.send("proto-change", "query", {"command": "query", "call-id": c.id}, expect="ok")
    c.end()


def sc_dtls_change(h, r, what):
    """a=setup / a=fingerprint changes in a re-offer (either side) or a second answer."""
    seed = r.choice(["chrome", "firefox", "plain"])
    flags = dict(TO_TRUNK) if seed != "plain" else dict(TO_BROWSER)
    if seed == "plain" and r.random() < 0.5:
        flags = {"transport-protocol": "UDP/TLS/RTP/SAVP", "ICE": "remove"}
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, what + "-change", r, seed, flags)
    if r2 is None or r2.get("result") != b"ok":
        return c.end()
    where = r.choice(["reoffer-A", "reoffer-B", "second-answer"])
    if where == "reoffer-A" and seed in WEBRTC:
        d = offer.copy()
        d.bump()
        for i in range(len(d.media)):
            if what == "setup":
                if d.attr(i, "setup"):
                    d.set_attr(i, "setup", [r.choice(["active", "passive", "holdconn",
                                                      "bogus", ""])])
            else:
                newfp = r.choice([rand_fp(r), rand_fp(r, "sha-1", 20), rand_fp(r, "sha-512", 64),
                                  "md5 00:11", "sha-256 zz", rand_fp(r, "sha-256", 31)])
                for sec in (None, i):
                    if d.attr(sec, "fingerprint"):
                        d.set_attr(sec, "fingerprint", [newfp])
        restart = r.random() < 0.4
        if restart:  # a new peer connection: new ICE credentials too
            u, p = rand_ice(r)
            for i in range(len(d.media)):
                if d.attr(i, "ice-ufrag"):
                    d.set_attr(i, "ice-ufrag", [u])
                    d.set_attr(i, "ice-pwd", [p])
        # README: an ICE leg's fingerprint changed without an ICE restart is refused.
        exp = "error" if what == "fingerprint" and not restart else None
        rr = c.offer("re-offer from A (%s%s)" % (what, ", ICE restart" if restart else ""),
                     d, f, expect=exp)
        if (ob := sdp_of(rr)) is not None:
            c.answer("answer", make_answer(ob, r, pb))
    elif where == "reoffer-B" or where == "reoffer-A":
        src = reoffer_from_answer(ans)
        for i in range(len(src.media)):
            if what == "setup" and src.attr(i, "setup"):
                src.set_attr(i, "setup", [r.choice(["actpass", "passive", "active", "holdconn"])])
            elif what == "fingerprint" and src.attr(i, "fingerprint"):
                src.set_attr(i, "fingerprint", [rand_fp(r)])
        rr = c.offer("re-offer from B (%s)" % what, src, from_tag=c.tb, to_tag=c.fa)
        if (ob := sdp_of(rr)) is not None:
            c.answer("A answers", make_answer(ob, r, pa), from_tag=c.tb, to_tag=c.fa)
    else:
        pb2 = Party(r, pb.ip, "b2")
        ob = sdp_of(r1)
        a2 = make_answer(ob, r, pb2 if what == "fingerprint" else pb,
                         style={"setup": r.choice(["passive", "active", "actpass"])}
                         if what == "setup" else None)
        c.answer("second answer (%s)" % what, a2, to_tag="tb2-" + c.tb)
    c.end()


def sc_crypto_bad(h, r):
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "crypto-bad")
    where = r.choice(["offer", "answer", "reoffer"])
    offer = seed_sdes2(r, pa)
    if where == "offer":
        mut_crypto(offer, r)
    flags = r.choice([{"transport-protocol": "RTP/AVP"}, {"transport-protocol": "RTP/SAVP"},
                      {}, TO_BROWSER])
    ob = sdp_of(c.offer("SDES offer (%s)" % where, offer, flags))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    if where == "answer":
        mut_crypto(ans, r)
    r2 = c.answer("answer", ans)
    if where == "reoffer" and r2.get("result") == b"ok":
        d = offer.copy()
        d.bump()
        mut_crypto(d, r)
        if (ob2 := sdp_of(c.offer("re-offer with bad crypto", d, flags))) is not None:
            c.answer("answer", make_answer(ob2, r, pb))
    c.end()


def sc_empty(h, r):
    c = Call(h, "empty-sdp")
    variants = [("sdp empty", ""), ("sdp missing", None), ("v=0 only", "v=0\r\n"),
                ("whitespace", " \r\n\t\r\n"), ("CRLF only", "\r\n"),
                ("no m-line", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"),
                ("sdp is a list", ["v=0"]), ("sdp is an int", 0), ("NUL", "\x00")]
    name, v = r.choice(variants)
    req = {"command": "offer", "call-id": c.id, "from-tag": c.fa}
    if v is not None:
        req["sdp"] = v
    h.send(c.kind, "offer (%s)" % name, req, expect="error")
    if r.random() < 0.5:  # an answer with empty SDP to a real call
        ob = sdp_of(c.offer("plain offer", seed_plain(r, Party(r)), {}))
        if ob is not None:
            name, v = r.choice(variants)
            req = {"command": "answer", "call-id": c.id, "from-tag": c.fa, "to-tag": c.tb}
            if v is not None:
                req["sdp"] = v
            h.send(c.kind, "answer (%s)" % name, req, expect="error")
    c.end()


def sc_huge(h, r):
    seed = r.choice(list(SEEDS))
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "huge-sdp")
    target = r.choice([60000, 64000, 65200, 65300, 65536, 70000])
    tcp = r.random() < 0.3
    text = huge(SEEDS[seed](r, pa), r, target)
    flags = r.choice([{}, TO_TRUNK, TO_BROWSER])
    rr = c.offer("%s offer of %d bytes%s" % (seed, len(text), " (tcp)" if tcp else ""),
                 text, flags, tcp=tcp)
    if (ob := sdp_of(rr)) is not None:
        ans = make_answer(ob, r, pb)
        big = huge(ans, r, r.choice([30000, 64000, 65300]))
        c.answer("answer of %d bytes" % len(big), big, tcp=r.random() < 0.3)
    c.end()


def sc_non_utf8(h, r):
    seed = r.choice(list(SEEDS))
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "non-utf8")
    where = r.choice(["offer", "answer", "tags"])
    offer = SEEDS[seed](r, pa)
    flags = r.choice([{}, TO_TRUNK, TO_BROWSER])
    if where == "tags":
        c.id = "hostile-\xff\xfe-%d" % h.ncalls
        c.id = c.id.encode("latin-1")
        c.fa = b"fa-\xc3\x28-\x80"
    sdp = non_utf8(offer.text(), r) if where == "offer" else offer.text()
    ob = sdp_of(c.offer("%s offer (%s)" % (seed, where), sdp, flags))
    if ob is not None:
        ans = make_answer(ob, r, pb).text()
        c.answer("answer", non_utf8(ans, r) if where == "answer" else ans)
    if where == "tags":
        h.send(c.kind, "query", {"command": "query", "call-id": c.id})
    c.end()


def sc_eol(h, r):
    seed = r.choice(list(SEEDS))
    how = r.choice(["lf", "cr", "mixed", "no-final", "crcrlf", "blank-lines", "trailing-space",
                    "nul"])
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "line-endings")
    where = r.choice(["offer", "answer"])
    offer = SEEDS[seed](r, pa)
    flags = r.choice([{}, TO_TRUNK, TO_BROWSER])
    sdp = eol_variant(offer, r, how) if where == "offer" else offer
    ob = sdp_of(c.offer("%s offer (%s %s)" % (seed, where, how), sdp, flags))
    if ob is not None:
        ans = make_answer(ob, r, pb)
        c.answer("answer (%s)" % how, eol_variant(ans, r, how) if where == "answer" else ans)
    c.end()


def sc_many_mlines(h, r):
    n = r.choice([100, 100, 17, 16, 255, 256])
    pa = Party(r)
    c = Call(h, "100-mlines")
    where = r.choice(["offer", "answer", "reoffer"])
    if where == "offer":
        c.offer("offer with %d m-lines" % n, many_mlines(r, pa, n), r.choice([{}, TO_BROWSER]))
        return c.end()
    c2, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "100-mlines", r, "plain")
    if r2 is None:
        return c2.end()
    if where == "answer":
        c2.answer("answer with %d m-lines" % n, many_mlines(r, pb, n), expect="error")
    else:
        c2.offer("re-offer with %d m-lines" % n, many_mlines(r, pa, n), f)
    c2.end()
    h.live.remove(c) if c in h.live else None


def sc_formats(h, r):
    n = r.choice([0, 200, 64, 65])
    seed = r.choice(list(SEEDS))
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "formats-%d" % n if n in (0, 200) else "formats-edge")
    where = r.choice(["offer", "answer"])
    offer = SEEDS[seed](r, pa)
    if where == "offer":
        mut_formats(offer, r, n)
    flags = r.choice([{}, TO_TRUNK, TO_BROWSER])
    ob = sdp_of(c.offer("%s offer (%s, %d formats)" % (seed, where, n), offer, flags))
    if ob is not None:
        ans = make_answer(ob, r, pb)
        if where == "answer":
            mut_formats(ans, r, n)
        c.answer("answer", ans)
    c.end()


def sc_direction(h, r):
    c = Call(h, "direction")
    bad = r.choice([["nowhere"], ["external", "nowhere"], ["nowhere", "internal"], ["EXTERNAL"],
                    ["external ", "internal"], ["x" * 300], ["\xff"], ["default"],
                    ["external", "internal", "nowhere"], [""], ["internal", ""]])
    seed = r.choice(list(SEEDS))
    pa = Party(r)
    if r.random() < 0.3:
        flags = {"rtpp-flags": " ".join("direction=" + d for d in bad)}
        names = [d.strip() for d in bad]
    else:
        flags = {"direction": bad}
        names = list(bad)
    # An empty name is only a warning; the first two others must name an interface.
    named = [d for d in names if d]
    unknown = any(d not in IFACE_IP for d in named[:2])
    if r.random() < 0.5:  # an unknown name in a re-offer or in an answer
        c2, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "direction", r, seed)
        if r2 is not None and r2.get("result") == b"ok":
            d = offer.copy()
            d.bump()
            f2 = {k: v for k, v in f.items() if k not in ("direction", "rtpp-flags")}
            f2.update(flags)
            c2.offer("re-offer direction=%r" % bad, d, f2, expect="error" if unknown else None)
            c2.answer("answer direction=%r" % bad, ans, flags=flags,
                      expect="error" if unknown else None)
        c2.end()
        h.live.remove(c) if c in h.live else None
        return
    c.offer("%s offer direction=%r" % (seed, bad), SEEDS[seed](r, pa), flags,
            expect="error" if unknown else None)
    c.end()


TRANSPORTS = ["RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF", "UDP/TLS/RTP/SAVP",
              "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", "rtp/avp", "RTP/AVP ", "", "RTP",
              "TCP/TLS/RTP/SAVPF", "x" * 500, "UDP/TLS/RTP/SAVPF\x00", "RTP/SAVP/TCP"]


def sc_flags(h, r, what):
    seed = r.choice(list(SEEDS))
    if what == "transport":
        f = {"transport-protocol": r.choice(TRANSPORTS)}
    elif what == "ICE":
        f = {"ICE": r.choice(["force", "remove", "default", "force-relay", "", "optional"])}
    elif what == "DTLS":
        f = {"DTLS": r.choice(["off", "passive", "active", "no", "disable", "actpass", ""]),
             "transport-protocol": r.choice(["UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP", "RTP/AVP"])}
    elif what == "SDES":
        f = {"SDES": r.choice([["off"], ["no-AES_CM_128_HMAC_SHA1_80"],
                               ["only-AES_CM_128_HMAC_SHA1_32"], ["no-NOT_A_SUITE"],
                               ["off", "only-AEAD_AES_256_GCM"], "off"]),
             "transport-protocol": r.choice(["RTP/SAVP", "RTP/SAVPF", "RTP/AVP"])}
    else:
        f = {"rtcp-mux": r.choice([["offer"], ["demux"], ["require"], ["accept"], ["reject"],
                                   ["offer", "demux"], ["bogus"], "demux"])}
    if r.random() < 0.5:  # combined with other flags
        for k, v in r.choice(FLAG_SETS)[1].items():
            f.setdefault(k, v)
    c, pa, pb, offer, ans, r1, r2, ff = exchange_ok(h, "flags-" + what, r, seed, f)
    if r2 is not None and r2.get("result") == b"ok" and r.random() < 0.4:
        d = offer.copy()
        d.bump()
        f2 = dict(f)
        if what == "rtcp-mux":
            f2["rtcp-mux"] = r.choice([["offer"], ["demux"]])
        elif what == "ICE":
            f2["ICE"] = r.choice(["force", "remove"])
        rr = c.offer("re-offer with other %s flags" % what, d, f2)
        if (ob := sdp_of(rr)) is not None:
            c.answer("answer", make_answer(ob, r, pb))
    c.end()


def sc_wrong_tags(h, r):
    seed = r.choice(list(SEEDS))
    fname, f = valid_flags(r, seed)
    pa, pb = Party(r, direction_ips(f)[0]), Party(r, direction_ips(f)[1], "b")
    c = Call(h, "wrong-tags")
    exp = "ok" if seed != "ipv6" else None
    ob = sdp_of(c.offer("%s offer" % seed, SEEDS[seed](r, pa), f, expect=exp))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    how = r.choice(["from-tag", "re-offer-other-tag", "to-tag-after-reoffer", "delete-to-tag",
                    "b-reoffer-before-answer"])
    if how == "from-tag":
        c.answer("answer with a wrong from-tag", ans, from_tag="not-" + c.fa, expect="error")
        c.answer("answer", ans, expect=exp)
    elif how == "b-reoffer-before-answer":
        c.offer("re-offer from B's tag before any answer", ans, from_tag=c.tb, to_tag=c.fa,
                expect="error")
    elif how == "re-offer-other-tag":
        c.answer("answer", ans, expect=exp)
        c.offer("re-offer from a third tag", SEEDS[seed](r, pa), f, from_tag="third",
                expect="error")
    elif how == "delete-to-tag":
        c.answer("answer", ans, expect=exp)
        c.delete("delete with a to-tag of neither side", expect="error", **{"to-tag": "nobody"})
        c.delete("delete with B's tag as to-tag", expect="ok", **{"to-tag": c.tb})
        return
    else:
        c.answer("answer", ans, expect=exp)
        d = SEEDS[seed](r, pa)
        rr = c.offer("re-offer from A", d, f)
        if (ob2 := sdp_of(rr)) is not None:
            c.answer("answer to re-offer with a wrong to-tag", make_answer(ob2, r, pb),
                     to_tag="other-" + c.tb, expect="error")
    c.end()


def sc_delete_middle(h, r):
    seed = r.choice(list(SEEDS))
    fname, f = valid_flags(r, seed)
    pa, pb = Party(r, direction_ips(f)[0]), Party(r, direction_ips(f)[1], "b")
    c = Call(h, "delete-middle")
    ob = sdp_of(c.offer("%s offer" % seed, SEEDS[seed](r, pa), f))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    how = r.choice(["before-answer", "delay-then-offer", "delay-then-answer", "twice",
                    "after-reoffer"])
    if how == "before-answer":
        c.delete("delete before the answer", expect="ok")
        c.answer("answer after delete", ans, expect="error")
        return
    if how == "delay-then-answer":
        c.delete("delete with delay 1 before the answer", expect="ok", **{"delete-delay": 1})
        c.answer("answer cancels the deletion", ans)
    elif how == "delay-then-offer":
        c.answer("answer", ans)
        c.delete("delete with delay", expect="ok",
                 **{"delete-delay": r.choice([1, "1", "2", -5, "abc", [1]])})
        d = SEEDS[seed](r, pa)
        if (ob2 := sdp_of(c.offer("re-offer during delete-delay", d, f))) is not None:
            c.answer("answer", make_answer(ob2, r, pb))
    elif how == "twice":
        c.answer("answer", ans)
        c.delete("delete", expect="ok")
        c.delete("delete again", expect="error")
        h.send(c.kind, "query after delete", {"command": "query", "call-id": c.id},
               expect="error")
        return
    else:
        c.answer("answer", ans)
        d = SEEDS[seed](r, pa)
        rr = c.offer("re-offer", d, f)
        c.delete("delete between re-offer and answer", expect="ok")
        if (ob2 := sdp_of(rr)) is not None:
            c.answer("answer after delete", make_answer(ob2, r, pb), expect="error")
        return
    c.delete("delete", **{"delete-delay": 0})


def sc_reoffer_b(h, r):
    seed = r.choice(list(SEEDS))
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "reoffer-from-B", r, seed)
    if r2 is None or r2.get("result") != b"ok":
        return c.end()
    src = reoffer_from_answer(ans)
    if r.random() < 0.3:
        for i in range(len(src.media)):
            src.drop_attr(i, "sendrecv")
            src.media[i].append("a=" + r.choice(["sendonly", "inactive", "recvonly"]))
    exp = "ok" if seed != "ipv6" else None
    rr = c.offer("re-offer from B's tag", src, from_tag=c.tb, to_tag=c.fa, expect=exp,
                 flags=r.choice([{}, {"ICE": "force"}, {"transport-protocol": "RTP/AVP"}]))
    if (ob := sdp_of(rr)) is not None:
        c.answer("A answers B's re-offer", make_answer(ob, r, pa), from_tag=c.tb, to_tag=c.fa,
                 expect=exp)
        if r.random() < 0.5:  # and A re-offers again afterwards
            d = offer.copy()
            d.bump()
            if (ob2 := sdp_of(c.offer("A re-offers again", d, f, expect=exp))) is not None:
                c.answer("B answers", make_answer(ob2, r, pb), expect=exp)
    c.end()


def sc_reoffer_add(h, r):
    seed = r.choice(list(SEEDS))
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "reoffer-add-mlines", r, seed)
    if r1 is None or r1.get("result") != b"ok":
        return c.end()
    from_b = r2 is not None and r2.get("result") == b"ok" and r.random() < 0.3
    if from_b:
        d = reoffer_from_answer(ans)
        mut_add_mlines(d, r, pb, r.randrange(1, 4))
        rr = c.offer("re-offer from B adding m-lines", d, from_tag=c.tb, to_tag=c.fa)
        who, tags = pa, {"from_tag": c.tb, "to_tag": c.fa}
    else:
        d = offer.copy()
        d.bump()
        mut_add_mlines(d, r, pa, r.randrange(1, 4))
        if seed in WEBRTC and r.random() < 0.5:
            g = d.bundle() or []
            d.set_bundle(g + [m for i in range(len(offer.media), len(d.media))
                              for m in d.attr(i, "mid")])
        rr = c.offer("re-offer adding m-lines", d, f)
        who, tags = pb, {}
    ob = sdp_of(rr)
    # Whatever the re-offer did, an answer comes: a proper one, or one with the old count.
    if ob is not None:
        c.answer("answer to the added m-lines", make_answer(ob, r, who), **tags)
    else:
        old = sdp_of(r1) if not from_b else None
        if old is not None:
            c.answer("answer with the old m-lines after a refused re-offer",
                     make_answer(old, r, who), **tags)
        elif from_b and r2 is not None and (a_old := sdp_of(r2)) is not None:
            c.answer("A answers with the old m-lines after a refused re-offer",
                     make_answer(a_old, r, pa), **tags)
    if r.random() < 0.5:
        h.send(c.kind, "query", {"command": "query", "call-id": c.id}, expect="ok")
    c.end()


def sc_line_fuzz(h, r):
    seed = r.choice(list(SEEDS))
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "line-fuzz")
    where = r.choice(["offer", "answer", "reoffer"])
    offer = SEEDS[seed](r, pa)
    flags = r.choice([{}, TO_TRUNK, TO_BROWSER, {"transport-protocol": "RTP/SAVP"}])
    ob = sdp_of(c.offer("%s offer (%s)" % (seed, where),
                        line_fuzz(offer, r) if where == "offer" else offer, flags))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    r2 = c.answer("answer", line_fuzz(ans, r) if where == "answer" else ans)
    if where == "reoffer" and r2.get("result") == b"ok":
        d = offer.copy()
        d.bump()
        if (ob2 := sdp_of(c.offer("damaged re-offer", line_fuzz(d, r), flags))) is not None:
            c.answer("answer", make_answer(ob2, r, pb))
    c.end()


def sc_keying_mismatch(h, r):
    """Answers whose keying does not fit the offer: plain to SDES, SDES to DTLS, a crypto
    tag never offered, DTLS without a fingerprint."""
    seed = r.choice(["plain", "sdes2", "chrome"])
    flags = r.choice([{"transport-protocol": "RTP/SAVP"}, TO_BROWSER,
                      {"transport-protocol": "UDP/TLS/RTP/SAVP", "ICE": "remove"}])
    pa, pb = Party(r), Party(r, IP1, "b")
    c = Call(h, "answer-keying-mismatch")
    ob = sdp_of(c.offer("%s offer" % seed, SEEDS[seed](r, pa), flags))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    how = r.choice(["plain", "sdes", "tag", "no-fingerprint", "no-setup"])
    for i in range(len(ans.media)):
        if ans.mfields(i)[1] == 0:
            continue
        if how == "plain":
            ans.set_mline(i, proto="RTP/AVP")
            for a in ("crypto", "fingerprint", "setup"):
                ans.drop_attr(i, a)
        elif how == "sdes":
            ans.set_mline(i, proto="RTP/SAVP")
            ans.set_attr(i, "crypto", ["1 AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r)])
        elif how == "tag":
            ans.set_attr(i, "crypto", ["77 AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r)])
        elif how == "no-fingerprint":
            ans.drop_attr(i, "fingerprint")
        else:
            ans.drop_attr(i, "setup")
    c.answer("answer (%s)" % how, ans)
    c.end()


def sc_forked(h, r):
    """A 183 then a 200 from another fork (another to-tag and fingerprint)."""
    seed = r.choice(list(SEEDS))
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "forked-answer", r, seed)
    ob = sdp_of(r1)
    if ob is not None and r2 is not None and r2.get("result") == b"ok":
        pb2 = Party(r, pb.ip, "fork")
        exp = "ok" if seed != "ipv6" else None
        c.answer("second answer from another fork", make_answer(ob, r, pb2),
                 to_tag="fork-" + c.tb, expect=exp)
        c.answer("the first fork again", ans, to_tag=c.tb)
    c.end()


def sc_rtpp_flags(h, r):
    seed = r.choice(list(SEEDS))
    junk = r.choice(["[[[[[[[[[[", "direction=[external internal nowhere]", "replace=[]",
                     "=", "ICE=", "transport-protocol=RTP/AVP=x", "SDES-no-", "rtcp-mux-",
                     "call-id=other from-tag=x", "delete-delay=999999999999", "\xff\xfe",
                     " ".join(["flag%d" % k for k in range(80)]),
                     "replace=[" + " ".join(["origin"] * 100) + "]", "a" * 4000])
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "rtpp-flags", r, seed,
                                                   {"rtpp-flags": junk})
    c.end()


def chain_mutate(d, r, p, what):
    """One change a later offer or answer may carry (see sc_chain); p is its author, whose
    identity follows an ICE restart or a new fingerprint."""
    n = len(d.media)
    if what == "add-mline":
        mut_add_mlines(d, r, p, 1)
    elif what == "port0-stream" and n > 1:
        d.set_mline(r.randrange(1, n), port=0)
    elif what == "reorder":
        mut_reorder(d, r)
    elif what == "proto":
        d.set_mline(r.randrange(n), proto=r.choice(PROTOS[:6]))
    elif what == "setup":
        for i in range(n):
            if d.attr(i, "setup"):
                d.set_attr(i, "setup", [r.choice(["actpass", "active", "passive"])])
    elif what in ("ice-restart", "new-fingerprint"):
        if what == "ice-restart":
            p.ufrag, p.pwd = rand_ice(r)
        if what == "new-fingerprint" or r.random() < 0.5:
            p.fp = rand_fp(r)
        for sec in [None] + list(range(n)):
            if d.attr(sec, "ice-ufrag"):
                d.set_attr(sec, "ice-ufrag", [p.ufrag])
                d.set_attr(sec, "ice-pwd", [p.pwd])
            if d.attr(sec, "fingerprint"):
                d.set_attr(sec, "fingerprint", [p.fp])
    elif what == "drop-rtcp-mux":
        for i in range(n):
            d.drop_attr(i, "rtcp-mux")
    elif what == "crypto-rekey":
        for i in range(n):
            cr = d.attr(i, "crypto")
            if cr:
                f = cr[0].split()
                suite = f[1] if len(f) > 1 else "AES_CM_128_HMAC_SHA1_80"
                d.set_attr(i, "crypto", ["%s %s inline:%s" % (f[0], suite, rand_key(r, suite))])
    elif what == "crypto-suite":
        for i in range(n):
            if d.attr(i, "crypto"):
                d.set_attr(i, "crypto", ["1 AES_256_CM_HMAC_SHA1_80 inline:" +
                                         rand_key(r, "AES_256_CM_HMAC_SHA1_80")])
    elif what == "direction-attr":
        for i in range(n):
            for a in ("sendrecv", "sendonly", "recvonly", "inactive"):
                d.drop_attr(i, a)
            d.media[i].append("a=" + r.choice(["sendonly", "recvonly", "inactive", "sendrecv"]))
    elif what == "codecs":
        for i in range(n):
            k, port, proto, fm = d.mfields(i)
            if fm:
                d.set_mline(i, fmts=r.sample(fm, r.randrange(1, len(fm) + 1)))
    elif what == "move-address":
        port = SINKS.port(r, p.ip)
        for i in range(n):
            if d.mfields(i)[1] not in (0,):
                d.set_mline(i, port=port)
    elif what == "dup-mline":
        mut_dup(d, r)
    elif what == "remove-mline":
        mut_remove(d, r)
    elif what == "bundle":
        mut_bundle(d, r, r.choice(["unknown", "dup", "second"]))
    elif what == "line-fuzz":
        return Desc.parse(line_fuzz(d, r))
    return d


CHAIN_OFFER = ["unchanged", "add-mline", "port0-stream", "reorder", "proto", "setup",
               "ice-restart", "new-fingerprint", "drop-rtcp-mux", "crypto-rekey",
               "crypto-suite", "direction-attr", "codecs", "move-address", "dup-mline",
               "remove-mline", "bundle", "line-fuzz"]
CHAIN_ANSWER = ["proper"] * 6 + ["port0-stream", "setup", "drop-rtcp-mux", "crypto-suite",
                                 "remove-mline", "add-mline", "new-fingerprint", "bundle",
                                 "line-fuzz"]


def sc_chain(h, r):
    """One call through 4..8 later exchanges: re-offers from either side, each with one
    change (or none), answered properly or with a change of their own; after a refused
    re-offer, sometimes the answer to the offer before it (a late 200)."""
    seed = r.choice(list(SEEDS))
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "chain", r, seed)
    if r2 is None or r2.get("result") != b"ok":
        return c.end()
    desc = {0: offer, 1: ans}
    party = {0: pa, 1: pb}
    tags = {0: c.fa, 1: c.tb}
    got = {1: sdp_of(r1), 0: sdp_of(r2)}  # the SDP each side last got from us
    for _ in range(r.randrange(4, 9)):
        x = r.choice([0, 1])
        what = r.choice(CHAIN_OFFER)
        d = desc[x].copy()
        d.bump()
        d = chain_mutate(d, r, party[x], what)
        rr = c.offer("re-offer from %s (%s)" % ("AB"[x], what), d, f if x == 0 else {},
                     from_tag=tags[x], to_tag=tags[1 - x])
        ob = sdp_of(rr)
        if ob is None:
            if r.random() < 0.4 and got[1 - x] is not None:
                c.answer("late answer to the earlier offer", make_answer(got[1 - x], r,
                                                                         party[1 - x]),
                         from_tag=tags[x], to_tag=tags[1 - x])
            continue
        desc[x] = d
        got[1 - x] = ob
        how = r.choice(CHAIN_ANSWER)
        a = make_answer(ob, r, party[1 - x])
        if how != "proper":
            a = chain_mutate(a, r, party[1 - x], how)
        ra = c.answer("%s answers (%s)" % ("AB"[1 - x], how), a, from_tag=tags[x],
                      to_tag=tags[1 - x])
        if (oa := sdp_of(ra)) is not None:
            desc[1 - x] = a
            got[x] = oa
    if r.random() < 0.5:
        h.send(c.kind, "query", {"command": "query", "call-id": c.id}, expect="ok")
    c.end()


def add_valid_mline(d, r, p):
    """d with one more RTP m-line like its last active one (same proto and keying): a new
    port unless bundled, a new a=mid (added to the BUNDLE group when there is one)."""
    src = None
    for i in reversed(range(len(d.media))):
        k, port, proto, fm = d.mfields(i)
        if "RTP/" in proto and (port != 0 or d.attr(i, "bundle-only")):
            src = i
            break
    if src is None:
        return mut_add_mlines(d, r, p, 1)
    m = list(d.media[src])
    grp = d.bundle()
    k, port, proto, fm = d.mfields(src)
    mid = "x%d" % r.randrange(1000)
    bundled = grp is not None and d.attr(src, "mid") and d.attr(src, "mid")[0] in grp
    d.media.append(m)
    n = len(d.media) - 1
    d.set_mline(n, port=port if bundled and port else SINKS.port(r, p.ip))
    d.drop_attr(n, "bundle-only")
    if d.attr(n, "mid"):
        d.set_attr(n, "mid", [mid])
        if bundled:
            d.set_bundle(grp + [mid])
    for a in ("ssrc", "ssrc-group", "msid", "candidate"):
        d.drop_attr(n, a)
    if d.attr(n, "crypto"):
        d.set_attr(n, "crypto", ["1 AES_CM_128_HMAC_SHA1_80 inline:" + rand_key(r)])
    return d


def sc_glare(h, r):
    """Re-offers from both sides with no answer in between (SIP glare, or a proxy passing on
    one re-INVITE while the other's transaction runs), each adding a well-formed m-line or
    not; then the answers, last offer first, then the other."""
    seed = r.choice(list(SEEDS))
    c, pa, pb, offer, ans, r1, r2, f = exchange_ok(h, "glare", r, seed)
    if r2 is None or r2.get("result") != b"ok":
        return c.end()
    desc = {0: offer, 1: ans}
    party = {0: pa, 1: pb}
    tags = {0: c.fa, 1: c.tb}
    first = r.choice([0, 1])
    got = {}
    for x in (first, 1 - first):
        d = desc[x].copy()
        d.bump()
        add = r.random() < 0.75
        if add:
            add_valid_mline(d, r, party[x])
        got[x] = sdp_of(c.offer("re-offer from %s%s" % ("AB"[x], " adding an m-line" if add
                                                         else ""), d, f if x == 0 else {},
                                from_tag=tags[x], to_tag=tags[1 - x]))
    for x in (1 - first, first):
        if got.get(x) is not None:
            c.answer("%s answers %s's re-offer" % ("AB"[1 - x], "AB"[x]),
                     make_answer(got[x], r, party[1 - x]), from_tag=tags[x], to_tag=tags[1 - x])
    if r.random() < 0.5:
        h.send(c.kind, "query", {"command": "query", "call-id": c.id}, expect="ok")
    c.end()


# ---- the fixed prelude: sequences that once broke dsrtpd, run first whatever the seed ----

def plain_text(who, port, version=1, extra="", ip=IP1):
    return ("v=0\r\no=%s 1 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % (who, version, ip, ip, port)
            + extra)


def webrtc_two(p, port, version=1):
    """Audio + video in a BUNDLE group, DTLS with ICE (both on one port)."""
    ice = ("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=setup:actpass\r\na=rtcp-mux\r\n"
           % (p.ufrag, p.pwd))
    return ("v=0\r\no=a 1 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "a=group:BUNDLE 0 1\r\na=fingerprint:%s\r\n"
            "m=audio %d UDP/TLS/RTP/SAVPF 0\r\n%sa=mid:0\r\n"
            "m=video %d UDP/TLS/RTP/SAVPF 96\r\n%sa=mid:1\r\n"
            % (version, p.ip, p.ip, p.fp, port, ice, port, ice))


def rg_refused_add(h, r):
    """A re-offer adding an m-line that cannot be had (RTP/SAVP without a=crypto), answered
    as dsrtpd took it (with the old m-lines when it refused it: once, the half-added stream
    crashed that answer); then a re-offer the README says is refused (a keying change on
    the first m-line), after which the call must still relay both ways."""
    call = RelayCall(h, "regress-refused-add", None, IP1, IP1, kind="regress-refused-add")
    try:
        if not call.setup():
            return G_GOESON.add(False, "setup: " + call.err)
        a_port, b_port = call.a[0].getsockname()[1], call.b[0].getsockname()[1]
        tags = {"call-id": call.id, "from-tag": "a-" + call.id}
        added = "m=audio %d RTP/SAVP 0\r\n" % SINKS.port(r)
        offer2 = call.sdp("a", IP1, a_port).replace(" 1 1 IN", " 1 2 IN") + added
        rr = h.send(call.kind, "re-offer adding RTP/SAVP without a=crypto",
                    dict(tags, command="offer", sdp=offer2, **{"transport-protocol": "RTP/AVP"}))
        answer = call.sdp("b", IP1, b_port).replace(" 1 1 IN", " 1 2 IN")
        if rr.get("result") == b"ok":
            answer += "m=audio 0 RTP/SAVP 0\r\n"
        h.send(call.kind, "answer" + (" with the old m-lines" if rr.get("result") != b"ok"
                                      else ", the added m-line refused"),
               dict(tags, command="answer", sdp=answer, **{"to-tag": "b-" + call.id}))
        h.send(call.kind, "query", {"command": "query", "call-id": call.id}, expect="ok")
        if rr.get("result") != b"ok":
            offer2 = offer2.replace(added, "")
        offer3 = offer2.replace(" 1 2 IN", " 1 3 IN").replace(
            "m=audio %d RTP/AVP 0" % a_port, "m=audio %d UDP/TLS/RTP/SAVPF 0" % a_port)
        refused = h.send(call.kind, "re-offer changing the keying (DTLS without a fingerprint)",
                         dict(tags, command="offer", sdp=offer3), expect="error")
        if refused.get("result") == b"error":
            good, why = call.relay("after a refused re-offer")
            G_GOESON.add(good, "%s: %s" % (call.id, why))
    finally:
        call.delete()
        call.close()


def rg_glare_bundle(h, r):
    """B re-offers a third m-line; A (bundling audio + video) re-offers its own two before
    answering; B answers those two (once: a NULL m-line in answer_parsed)."""
    pa = Party(r)
    port = SINKS.port(r)
    c = Call(h, "regress-glare-bundle")
    b = lambda v, extra="": ("v=0\r\no=b 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                             "t=0 0\r\nm=audio %d RTP/AVP 0\r\nm=video %d RTP/AVP 96\r\n%s"
                             % (v, SINKS.port(r), SINKS.port(r), extra))
    if sdp_of(c.offer("WebRTC offer, audio + video bundled", webrtc_two(pa, port), TO_TRUNK,
                      expect="ok")) is None:
        return c.end()
    c.answer("plain answer", b(1), expect="ok")
    c.offer("B re-offers a third m-line", b(2, "m=audio %d RTP/AVP 0\r\n" % SINKS.port(r)),
            from_tag=c.tb, to_tag=c.fa)
    c.offer("A re-offers its two m-lines", webrtc_two(pa, port, 2), TO_TRUNK)
    c.answer("B answers with two m-lines", b(3))
    c.delete("delete")


def rg_glare_plain(h, r):
    """Both sides re-offer a second m-line with no answer between (once: a NULL m-line in
    write_stream)."""
    c = Call(h, "regress-glare-plain")
    pa, pb = SINKS.port(r), SINKS.port(r)
    if sdp_of(c.offer("offer", plain_text("a", pa), expect="ok")) is None:
        return c.end()
    c.answer("answer", plain_text("b", pb), expect="ok")
    c.offer("B re-offers a second m-line",
            plain_text("b", pb, 2, "m=audio %d RTP/AVP 0\r\n" % SINKS.port(r)),
            from_tag=c.tb, to_tag=c.fa)
    rr = c.offer("A re-offers a second m-line",
                 plain_text("a", pa, 2, "m=audio %d RTP/AVP 0\r\n" % SINKS.port(r)))
    if (ob := sdp_of(rr)) is not None:
        c.answer("B answers", make_answer(ob, r, Party(r, IP1, "b")))
    c.delete("delete")


def rg_reorder_dc(h, r):
    """A bundling side re-offers with its data channel m-line moved into the video's place
    (once: the data channel line came out as an active RTP/AVP m-line with a port)."""
    pa = Party(r)
    c = Call(h, "regress-reorder-dc")
    port = SINKS.port(r)
    ice = "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=setup:actpass\r\na=rtcp-mux\r\n" % (
        pa.ufrag, pa.pwd)
    head_ = ("v=0\r\no=a 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "a=group:BUNDLE 0 1 2\r\na=fingerprint:" + pa.fp + "\r\n")
    au = "m=audio %d UDP/TLS/RTP/SAVPF 0\r\n%sa=mid:0\r\n" % (port, ice)
    vi = "m=video %d UDP/TLS/RTP/SAVPF 96\r\n%sa=mid:1\r\n" % (port, ice)
    dc = "m=application %d UDP/DTLS/SCTP webrtc-datachannel\r\n%sa=mid:2\r\n" % (port, ice)
    ob = sdp_of(c.offer("offer audio, video, data channel", head_ % 1 + au + vi + dc, TO_TRUNK,
                        expect="ok"))
    if ob is None:
        return c.end()
    c.answer("answer", make_answer(ob, r, Party(r, IP1, "b")), expect="ok")
    rr = c.offer("re-offer: audio, data channel, video", head_ % 2 + au + dc + vi, TO_TRUNK)
    if (ob := sdp_of(rr)) is not None:
        c.answer("answer to the reordered re-offer", make_answer(ob, r, Party(r, IP1, "b")))
    c.delete("delete")


def rg_no_t(h, r):
    """Descriptions without their t= line (RFC 8866 §5.9; once passed on as they were)."""
    c = Call(h, "regress-no-t")
    pa, pb = SINKS.port(r), SINKS.port(r)
    c.offer("offer without t=", plain_text("a", pa).replace("t=0 0\r\n", ""))
    if sdp_of(c.offer("offer", plain_text("a", pa, 2))) is not None:
        c.answer("answer without t=", plain_text("b", pb).replace("t=0 0\r\n", ""))
    c.delete("delete")


def rg_udp_size(h, r):
    """Offers whose rewritten SDP (DTLS and ICE added) makes a reply just over the largest
    UDP datagram while the request is under it (once: no reply at all)."""
    for fill in (65075, 65100):
        c = Call(h, "regress-udp-size")
        sdp = ("v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio %d RTP/AVP 0\r\n" % SINKS.port(r) +
               "".join("a=x-fill%d:%s\r\n" % (k, "z" * 3000) for k in range(fill // 3014)) +
               "a=x-last:" + "z" * (fill % 3014) + "\r\n")
        c.offer("offer of %d bytes towards a browser" % len(sdp), sdp,
                {"transport-protocol": "UDP/TLS/RTP/SAVPF", "ICE": "force"})
        c.delete("delete")


def rg_bundle_disable(h, r):
    """A bundling WebRTC side re-offers with its video m-line at port 0 (the video stopped);
    the re-offer towards the trunk must have video at port 0 too (README: a stream a
    re-offer disables stays off), and so must the answer, even when the trunk answers the
    video it was offered."""
    pa = Party(r)
    port = SINKS.port(r)
    c = Call(h, "regress-bundle-disable")
    b = lambda v, vport: ("v=0\r\no=b 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                          "t=0 0\r\nm=audio %d RTP/AVP 0\r\nm=video %d RTP/AVP 96\r\n"
                          % (v, bport, vport))
    bport, bvport = SINKS.port(r), SINKS.port(r)
    if sdp_of(c.offer("WebRTC offer, audio + video bundled", webrtc_two(pa, port), TO_TRUNK,
                      expect="ok")) is None:
        return c.end()
    c.answer("plain answer", b(1, bvport), expect="ok")
    off = webrtc_two(pa, port, 2).replace("m=video %d " % port, "m=video 0 ")
    if sdp_of(c.offer("A re-offers with the video at port 0", off, TO_TRUNK)) is not None:
        c.answer("B answers the video as offered to it", b(2, bvport))
    c.delete("delete")


def rg_bundle_refuse(h, r):
    """A plain side offers audio + video, offered on to a browser bundled (DTLS, ICE); the
    browser refuses the video as RFC 8843 §7.3.3 has it (port 0, its mid out of the BUNDLE
    group). README: a stream an answer refuses is refused with port 0 on both sides."""
    pb = Party(r, IP1, "b")
    c = Call(h, "regress-bundle-refuse")
    a = ("v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio %d RTP/AVP 0\r\nm=video %d RTP/AVP 96\r\n" % (SINKS.port(r), SINKS.port(r)))
    ob = sdp_of(c.offer("plain audio + video towards a browser", a, TO_BROWSER, expect="ok"))
    if ob is None:
        return c.end()
    ans = make_answer(ob, r, pb)
    mid = (ans.attr(1, "mid") or [""])[0]
    ans.media[1] = ["m=video 0 %s 96" % ob.mfields(1)[2]] + (["a=mid:" + mid] if mid else [])
    ans.set_bundle([m for m in (ans.bundle() or []) if m != mid])
    c.answer("the browser refuses the video (port 0, out of the group)", ans, expect="ok")
    c.delete("delete")


REGRESSIONS = [rg_refused_add, rg_glare_bundle, rg_glare_plain, rg_reorder_dc, rg_no_t,
               rg_udp_size, rg_bundle_disable, rg_bundle_refuse]


SCENARIOS = [
    ("valid", sc_valid, 6),
    ("glare", sc_glare, 3),
    ("chain", sc_chain, 5),
    ("answer-mline-removed", lambda h, r: sc_answer_mlines(h, r, "mline-removed"), 2),
    ("answer-mline-duplicated", lambda h, r: sc_answer_mlines(h, r, "mline-duplicated"), 2),
    ("answer-mline-reordered", lambda h, r: sc_answer_mlines(h, r, "mline-reordered"), 2),
    ("answer-fewer", lambda h, r: sc_answer_mlines(h, r, "fewer"), 2),
    ("answer-more", lambda h, r: sc_answer_mlines(h, r, "more"), 2),
    ("reoffer-mline-removed", lambda h, r: sc_offer_mlines(h, r, "mline-removed"), 2),
    ("reoffer-mline-duplicated", lambda h, r: sc_offer_mlines(h, r, "mline-duplicated"), 2),
    ("reoffer-mline-reordered", lambda h, r: sc_offer_mlines(h, r, "mline-reordered"), 2),
    ("port-0", sc_port0, 3),
    ("bundle-unknown-mid", lambda h, r: sc_bundle(h, r, "unknown"), 2),
    ("bundle-dup-mid", lambda h, r: sc_bundle(h, r, "dup"), 2),
    ("bundle-second-first", lambda h, r: sc_bundle(h, r, "second"), 2),
    ("mid-300", sc_mid300, 2),
    ("proto-change", sc_proto_change, 3),
    ("setup-change", lambda h, r: sc_dtls_change(h, r, "setup"), 2),
    ("fingerprint-change", lambda h, r: sc_dtls_change(h, r, "fingerprint"), 2),
    ("crypto-bad", sc_crypto_bad, 3),
    ("empty-sdp", sc_empty, 2),
    ("huge-sdp", sc_huge, 2),
    ("non-utf8", sc_non_utf8, 2),
    ("line-endings", sc_eol, 2),
    ("100-mlines", sc_many_mlines, 2),
    ("formats", sc_formats, 2),
    ("direction", sc_direction, 2),
    ("flags-transport", lambda h, r: sc_flags(h, r, "transport"), 3),
    ("flags-ICE", lambda h, r: sc_flags(h, r, "ICE"), 2),
    ("flags-DTLS", lambda h, r: sc_flags(h, r, "DTLS"), 2),
    ("flags-SDES", lambda h, r: sc_flags(h, r, "SDES"), 2),
    ("flags-rtcp-mux", lambda h, r: sc_flags(h, r, "rtcp-mux"), 2),
    ("wrong-tags", sc_wrong_tags, 3),
    ("delete-middle", sc_delete_middle, 3),
    ("reoffer-from-B", sc_reoffer_b, 3),
    ("reoffer-add-mlines", sc_reoffer_add, 4),
    ("line-fuzz", sc_line_fuzz, 4),
    ("answer-keying-mismatch", sc_keying_mismatch, 2),
    ("forked-answer", sc_forked, 2),
    ("rtpp-flags", sc_rtpp_flags, 1),
]


# ---- the checkpoints: a call that must relay ----

RTP_SEQ = [1000]


def rtp_packet(ssrc, payload):
    RTP_SEQ[0] += 1
    return struct.pack("!BBHII", 0x80, 0, RTP_SEQ[0] & 0xFFFF, RTP_SEQ[0] * 160,
                       ssrc) + payload


class RelayCall:
    """A plain PCMU call whose ends are raw sockets: A on ip_a, B on ip_b."""

    def __init__(self, h, name, direction, ip_a, ip_b, kind="checkpoint"):
        self.h, self.name, self.kind = h, name, kind
        self.id = "%s-%d-%d" % (name, SEED, h.rc.randrange(1 << 30))
        self.a = bind_pair(ip_a)
        self.b = bind_pair(ip_b)
        self.ip_a, self.ip_b = ip_a, ip_b
        self.direction = direction
        self.gw_a = self.gw_b = None
        self.ssrc = (h.rc.getrandbits(32), h.rc.getrandbits(32))
        self.err = ""

    def sdp(self, who, ip, port):
        return ("v=0\r\no=%s 1 1 IN IP4 %s\r\ns=%s\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
                % (who, ip, who, ip, port))

    def setup(self):
        req = {"command": "offer", "call-id": self.id, "from-tag": "a-" + self.id,
               "sdp": self.sdp("a", self.ip_a, self.a[0].getsockname()[1]),
               "transport-protocol": "RTP/AVP"}
        if self.direction:
            req["direction"] = self.direction
        count = self.kind != "checkpoint"
        r1 = self.h.send(self.kind, "offer", req, expect="ok", count=count)
        ob = sdp_of(r1)
        if ob is None:
            self.err = "offer: %s" % r1.get("error-reason", r1)
            return False
        r2 = self.h.send(self.kind, "answer", {
            "command": "answer", "call-id": self.id, "from-tag": "a-" + self.id,
            "to-tag": "b-" + self.id,
            "sdp": self.sdp("b", self.ip_b, self.b[0].getsockname()[1])},
            expect="ok", count=count)
        oa = sdp_of(r2)
        if oa is None:
            self.err = "answer: %s" % r2.get("error-reason", r2)
            return False
        self.gw_b = (conn_addr(ob, 0), ob.mfields(0)[1])
        self.gw_a = (conn_addr(oa, 0), oa.mfields(0)[1])
        return True

    def relay(self, tag):
        """RTP both ways: 3 packets A->B and 3 B->A must arrive, payload intact."""
        if self.gw_a is None:
            return False, "not set up: " + self.err
        out = []
        for src, dst_sock, gw, ssrc, way in ((self.a[0], self.b[0], self.gw_a, self.ssrc[0],
                                              "A->B"),
                                             (self.b[0], self.a[0], self.gw_b, self.ssrc[1],
                                              "B->A")):
            want = set()
            for k in range(3):
                payload = ("%s %s %s %d " % (self.name, tag, way, k)).encode() * 3
                want.add(payload)
                src.sendto(rtp_packet(ssrc, payload), gw)
            got = set()
            end = time.monotonic() + 2.0
            while time.monotonic() < end and not want <= got:
                ready, _, _ = select.select([dst_sock], [], [], max(0, end - time.monotonic()))
                if ready:
                    data, _ = dst_sock.recvfrom(4096)
                    if len(data) > 12:
                        got.add(data[12:])
            if not want <= got:
                out.append("%s: %d of 3 arrived" % (way, len(want & got)))
        return not out, "; ".join(out)

    def delete(self):
        self.h.send(self.kind, "delete", {"command": "delete", "call-id": self.id,
                                          "from-tag": "a-" + self.id},
                    count=self.kind != "checkpoint")

    def close(self):
        for s in self.a + self.b:
            s.close()


def main():
    r = random.Random(SEED)
    random.seed(SEED ^ 0x5A5A)  # bind_pair's port guesses
    print("# seed %d (DSRTPD_HOSTILE_SEED=%d replays this run), %d requests, gateway %s, "
          "media ports %d..%d" % (SEED, SEED, N_REQUESTS, NG_ADDR, PORT_MIN, PORT_MAX),
          flush=True)
    h = Harness(r)
    if not check("dsrtpd answers ping", h.ping()):
        return
    st0 = h.send("end", "statistics (start)", {"command": "statistics"}, count=False)
    ports0 = (st0.get("statistics", {}).get("currentstatistics", {}) or {}).get("portsfree")

    canary = RelayCall(h, "canary", ["external", "internal"], IP1, IP2)
    if check("the canary call (external -> internal) is set up", canary.setup(), canary.err):
        good, why = canary.relay("start")
        check("the canary call relays RTP both ways before the hostile requests", good, why)
    nck = [0]

    def checkpoint():
        nck[0] += 1
        tag = "ck%d@%d" % (nck[0], h.n)
        G_PING.add(h.ping(), "%s: no pong" % tag)
        good, why = canary.relay(tag)
        G_CANARY.add(good, "%s: %s" % (tag, why))
        direction = [None, ["internal", "external"], ["external", "internal"]][nck[0] % 3]
        ips = direction_ips({"direction": direction} if direction else {})
        fresh = RelayCall(h, "fresh", direction, ips[0], ips[1])
        try:
            if fresh.setup():
                good, why = fresh.relay(tag)
            else:
                good, why = False, fresh.err
            G_FRESH.add(good, "%s (direction %s): %s" % (tag, direction, why))
            fresh.delete()
        finally:
            fresh.close()
        if not h.ping():
            h.dead = True

    h.on_checkpoint = checkpoint

    # Every scenario once, in a seeded order, then weighted draws until the request count.
    scenarios = [s for s in SCENARIOS if s[0] not in SKIP]
    if SKIP:
        print("# skipped (DSRTPD_HOSTILE_SKIP): %s" % ", ".join(sorted(SKIP)), flush=True)
    names = [s[0] for s in scenarios]
    first = list(scenarios)
    r.shuffle(first)
    weights = [s[2] for s in scenarios]
    budget_end = T0 + BUDGET
    ran = {}
    out_of_time = False
    for fn in REGRESSIONS:  # the same every run, before the seeded part
        if h.dead:
            break
        if fn.__name__.replace("rg_", "regress-").replace("_", "-") in SKIP:
            continue
        try:
            fn(h, r)
        except Exception as e:
            import traceback
            traceback.print_exc()
            fail("prelude %s raised %s: %s" % (fn.__name__, e.__class__.__name__, e))
    while h.n < N_REQUESTS and not h.dead:
        if time.monotonic() > budget_end:
            out_of_time = True
            break
        name, fn, _ = first.pop() if first else r.choices(scenarios, weights)[0]
        ran[name] = ran.get(name, 0) + 1
        try:
            fn(h, r)
        except Exception as e:  # a driver bug must not pass silently
            import traceback
            traceback.print_exc()
            fail("scenario %s raised %s: %s" % (name, e.__class__.__name__, e))
    check("the daemon kept answering (no request left it silent)", not h.dead,
          "dsrtpd stopped answering ping after request #%d" % h.n)
    if not h.dead:
        check("all %d requests were sent within the %.0f s budget" % (N_REQUESTS, BUDGET),
              not out_of_time, "only %d after %.1f s" % (h.n, time.monotonic() - T0))
    if not h.dead and h.n % CHECK_EVERY:
        checkpoint()  # one more after the last requests

    print("# %d requests in %.1f s (%d scenarios: %s)" % (
        h.n, time.monotonic() - T0, sum(ran.values()),
        ", ".join("%s x%d" % (k, ran.get(k, 0)) for k in names)), flush=True)
    print("# replies per mutation kind: requests ok/error (no valid reply)", flush=True)
    for kind in sorted(h.stats):
        n, good, err, bad = h.stats[kind]
        print("#   %-26s %4d  %4d/%-4d%s" % (kind, n, good, err,
                                              "  (%d no valid reply)" % bad if bad else ""))
    sys.stdout.flush()
    for g in (G_REPLY, G_REASON, G_SDP, G_MCOUNT, G_ACTIVE, G_PORT0, G_EXPECT, G_SAME,
              G_GOESON,
              G_PING, G_CANARY, G_FRESH):
        g.report()

    if h.dead:
        return
    # The end: list and statistics answer; every call deleted leaves no call and no port.
    lst = h.send("end", "list", {"command": "list"}, count=False)
    calls = lst.get("calls")
    check("list answers with the calls (%s)" % (len(calls) if isinstance(calls, list) else "?"),
          lst.get("result") == b"ok" and isinstance(calls, list), str(lst)[:200])
    st = h.send("end", "statistics", {"command": "statistics"}, count=False)
    check("statistics answers", st.get("result") == b"ok" and "statistics" in st, str(st)[:200])
    canary.delete()
    canary.close()
    for cid in calls or []:
        h.send("end", "delete", {"command": "delete", "call-id": cid, "delete-delay": 0},
               count=False)
    left = None
    for _ in range(20):
        lst = h.send("end", "list", {"command": "list"}, count=False)
        left = lst.get("calls")
        if left == []:
            break
        time.sleep(0.1)
    check("after deleting every call, list is empty", left == [], "left: %r" % (left,))
    # A deleted call is freed (its ports back in the pool) at the end of its worker's loop
    # iteration, just after the reply: allow that a moment.
    for _ in range(30):
        st = h.send("end", "statistics", {"command": "statistics"}, count=False)
        cur = (st.get("statistics", {}) or {}).get("currentstatistics", {}) or {}
        if cur.get("sessionsown") == 0 and cur.get("legs") == 0 and \
                cur.get("portsfree") == ports0:
            break
        time.sleep(0.1)
    check("after deleting every call: no session, no leg, every media port free again "
          "(%s of %s)" % (cur.get("portsfree"), ports0),
          cur.get("sessionsown") == 0 and cur.get("legs") == 0 and
          cur.get("portsfree") == ports0 and ports0 is not None, str(cur))


if __name__ == "__main__":
    try:
        main()
    finally:
        SINKS.close()
        TRANSCRIPT.close()
    print("# dsrtpd_sdp_hostile.py: %d/%d checks passed (seed %d)" % (checks - failures, checks,
                                                                      SEED), flush=True)
    sys.exit(0 if failures == 0 and checks > 0 else 1)
