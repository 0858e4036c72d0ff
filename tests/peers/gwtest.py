"""What the dsrtpd gateway test drivers (tests/cli/dsrtpd_*.py) share: ok/FAIL counting, a
dsrtpd started on free ports, ng requests (over ng_client.py's bencoding), a small SDP line
parser, raw-socket RTP/RTCP endpoints with packet builders and parsers, and aiortc helpers.
Standard library only, but for tone_track() and aioice_loopback_only(), which import aiortc
and av when called. A driver puts tests/peers on sys.path and imports it."""
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request

from ng_client import bdec, benc, split_server

LOOPBACK = "127.0.0.1"

# ---- ok / FAIL lines ----

checks = 0
failures = 0
_dumped = set()


def ok(name):
    """Counts a passed check and prints its "ok   - NAME" line."""
    global checks
    checks += 1
    print("ok   - " + name, flush=True)


def fail(name, detail=""):
    """Counts a failed check and prints its "FAIL - NAME (DETAIL)" line."""
    global checks, failures
    checks += 1
    failures += 1
    print("FAIL - " + name + (" (" + detail + ")" if detail else ""), flush=True)


def dump(label, text):
    """An SDP or log excerpt as # lines (after a failure, for the report)."""
    print("# %s:" % label)
    for l in (text or "").replace("\r\n", "\n").split("\n"):
        if l:
            print("#   " + l)
    sys.stdout.flush()


def check(name, cond, detail="", sdp=None):
    """One ok/FAIL line, as cond is true or not; returns bool(cond). On failure, sdp=(label,
    text) dumps that SDP, once per label."""
    if cond:
        ok(name)
    else:
        fail(name, detail)
        if sdp is not None and sdp[0] not in _dumped:
            _dumped.add(sdp[0])
            dump(sdp[0], sdp[1])
    return bool(cond)


def ok_reply(label, r):
    """The check LABEL that ng reply r is "result": "ok" (its error-reason as the detail);
    whether it is."""
    return check(label, r.get("result") == "ok", str(r.get("error-reason")))


def run(name, fn):
    """Runs one scenario: an exception in it is a failed check (the others still run); then
    a "# NAME: S s" line."""
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:
        import traceback
        traceback.print_exc()
        fail("%s raised %s: %s" % (name, e.__class__.__name__, e))
    print("# %s: %.1f s" % (name, time.monotonic() - t0), flush=True)


def summary(prefix=""):
    """Prints "PREFIX<passed>/<all> checks passed"; the exit status to end with (0 only when
    there were checks and none failed)."""
    print("%s%d/%d checks passed" % (prefix, checks - failures, checks), flush=True)
    return 0 if failures == 0 and checks > 0 else 1


def wait_until(pred, limit, step=0.05):
    """Polls pred every step seconds for up to limit seconds; whether it came true."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


# ---- files ----

def write_atomic(path, text):
    """Writes text to path through a temporary name, so a reader never sees half of it."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def read_when_there(path, limit):
    """The text of path once it exists (waiting up to limit seconds), else None."""
    if not wait_until(lambda: os.path.exists(path), limit):
        return None
    with open(path) as f:
        return f.read()


def sdp_saver(folder):
    """A save_sdp(name, text) that writes folder/NAME.sdp (folder made now)."""
    os.makedirs(folder, exist_ok=True)

    def save_sdp(name, text):
        with open(os.path.join(folder, name + ".sdp"), "w") as f:
            f.write(text or "")
    return save_sdp


# ---- ng ----

def _addr(server):
    """(host, port) of "HOST:PORT" or of (host, port)."""
    return split_server(server) if isinstance(server, str) else server


def ng_request(server, req=None, timeout=3.0, cookie=None, sock=None, raw=None):
    """One ng request over UDP to server ("HOST:PORT" or (host, port)): the reply dict, with
    the reply's bytes under "_raw". cookie: this cookie, not a random one; sock: sent from
    that socket; raw: these bytes sent instead of the cookie and the bencoded req. Raises
    OSError when no reply comes within timeout seconds."""
    own = sock is None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if own else sock
    try:
        s.settimeout(timeout)
        data = raw if raw is not None else (
            (cookie or "%08x" % random.getrandbits(32)).encode() + b" " + benc(req))
        s.sendto(data, _addr(server))
        reply, _ = s.recvfrom(65536)
    finally:
        if own:
            s.close()
    _, _, body = reply.partition(b" ")
    d, _ = bdec(body)
    d["_raw"] = reply
    return d


def ng(server, req, timeout=3.0):
    """One ng request (see ng_request): the reply dict, or {"result": "error",
    "error-reason": "no reply: ..."} when none comes."""
    try:
        d = ng_request(server, req, timeout)
    except OSError as e:
        return {"result": "error", "error-reason": "no reply: %s" % e}
    del d["_raw"]
    return d


# ---- a dsrtpd run here ----

children = []  # every process started (dsrtpd, peers): killed by finish()


def free_udp_tcp_port():
    """A port of 127.0.0.1 free for both UDP and TCP (ng listens on both)."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((LOOPBACK, 0))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((LOOPBACK, u.getsockname()[1]))
            return u.getsockname()[1]
        except OSError:
            pass
        finally:
            u.close()
            t.close()
    raise SystemExit("no free port for ng")


def free_tcp_port():
    """A free TCP port of 127.0.0.1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((LOOPBACK, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def free_udp_block(n):
    """The (even) first of n consecutive UDP ports free on 127.0.0.1, in 20000..29000."""
    for _ in range(200):
        base = random.randrange(20000, 29000, 2)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((LOOPBACK, p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise SystemExit("no block of %d free UDP ports" % n)


class Daemon:
    """dsrtpd started here: ng and HTTP on free ports of 127.0.0.1, the interface 127.0.0.1
    with a block of `media` free ports, --timeout 30, two workers, --io io when given, then
    the extra options; its log in WORK/NAME.log, stderr in WORK/NAME.err. up: it answered
    ping within 5 s."""

    def __init__(self, dsrtpd, work, name="dsrtpd", media=20, io=None, extra=()):
        ng_port, http, base = free_udp_tcp_port(), free_tcp_port(), free_udp_block(media)
        self.ng_addr = (LOOPBACK, ng_port)
        self.http = http
        self.log = os.path.join(work, name + ".log")
        self.err = open(os.path.join(work, name + ".err"), "w")
        args = [dsrtpd, "--listen-ng", "%s:%d" % self.ng_addr,
                "--listen-http", "%s:%d" % (LOOPBACK, http), "--interface", LOOPBACK,
                "--port-min", str(base), "--port-max", str(base + media - 1),
                "--timeout", "30", "--workers", "2"]
        if io:
            args += ["--io", io]
        self.p = subprocess.Popen(args + ["--log", self.log] + list(extra),
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        children.append(self.p)
        self.up = wait_until(lambda: self.ng({"command": "ping"}, 0.3).get("result") == "pong",
                             5, 0.1)

    def ng(self, req, timeout=3.0):
        """One ng request to this dsrtpd (see ng())."""
        return ng(self.ng_addr, req, timeout)

    def metric(self, key):
        """The value of one /metrics line (an int), or None."""
        try:
            text = urllib.request.urlopen("http://%s:%d/metrics" % (LOOPBACK, self.http),
                                          timeout=3).read().decode()
        except OSError:
            return None
        for l in text.splitlines():
            parts = l.split()
            if len(parts) == 2 and parts[0] == key:
                return int(float(parts[1]))
        return None

    def handshakes(self):
        """/metrics' count of DTLS handshakes done."""
        return self.metric('dsrtpd_dtls_handshakes_total{result="ok"}')

    def log_count(self, needle):
        """How many log lines hold needle."""
        try:
            with open(self.log) as f:
                return sum(1 for l in f if needle in l)
        except OSError:
            return 0

    def log_lines(self, call, msg=None):
        """The log lines of one call (msg="..." among them when msg is given)."""
        try:
            with open(self.log) as f:
                text = f.read()
        except OSError:
            return []
        return [l for l in text.splitlines() if 'call="%s"' % call in l and
                (msg is None or 'msg="%s"' % msg in l)]

    def stop(self):
        """SIGTERM, then its exit status (-9 when it had to be killed after 10 s)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return -9


def new_call(prefix):
    """(call-id, A's from-tag, B's to-tag) for a new call: PREFIX-<random>, fa-.., tb-.."""
    call = "%s-%d" % (prefix, random.getrandbits(24))
    return call, "fa-" + call, "tb-" + call


def legs_in(d, call):
    """{tag: RTP packets in} from a query to Daemon d, or None when the call is not there."""
    r = d.ng({"command": "query", "call-id": call})
    if r.get("result") != "ok":
        return None
    out = {}
    for tag, t in r.get("tags", {}).items():
        try:
            out[tag] = t["medias"][0]["streams"][0]["stats"]["rtp packets in"]
        except (KeyError, IndexError, TypeError):
            out[tag] = 0
    return out


def both_legs_flowing(d, call, limit=10):
    """Waits up to limit seconds until both legs of call have more than 20 RTP packets in."""
    return wait_until(lambda: (lambda x: x is not None and len(x) == 2 and
                               min(x.values()) > 20)(legs_in(d, call)), limit, 0.2)


def wait_exit(p, limit):
    """The exit status of process p within limit seconds, else "timeout" (it is killed)."""
    try:
        return p.wait(limit)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "timeout"


def finish(work):
    """At the end: kills every child still running, removes work (with KEEP_WORK set in the
    environment: keeps it and prints where it is)."""
    for p in children:
        if p.poll() is None:
            p.kill()
            p.wait()
    if os.environ.get("KEEP_WORK"):
        print("# work folder: " + work)
    else:
        shutil.rmtree(work, ignore_errors=True)


# ---- SDP text ----

def lines_of(sdp):
    """The non-empty lines of an SDP (CRLF or LF; None is no lines)."""
    return [l for l in (sdp or "").replace("\r\n", "\n").split("\n") if l]


def line(sdp, prefix):
    """The first line starting with prefix, or None."""
    for l in lines_of(sdp):
        if l.startswith(prefix):
            return l
    return None


def all_lines(sdp, prefix):
    """Every line starting with prefix."""
    return [l for l in lines_of(sdp) if l.startswith(prefix)]


def mport(sdp):
    """The port of the first m=audio line, or -1."""
    m = re.search(r"^m=audio (\d+) ", sdp or "", re.M)
    return int(m.group(1)) if m else -1


def version(sdp):
    """The o= line's session version, or -1."""
    m = re.search(r"^o=\S+ \S+ (\d+)", sdp or "", re.M)
    return int(m.group(1)) if m else -1


def with_version(sdp, v):
    """The SDP with its o= session version set to v."""
    return re.sub(r"^(o=\S+ \S+ )\d+", lambda m: m.group(1) + str(v), sdp, count=1, flags=re.M)


def gw_addr(sdp):
    """(c= address, first m=audio port) of an SDP: where its media goes."""
    ip = re.search(r"^c=IN IP4 (\S+)", sdp, re.M).group(1)
    return (ip, mport(sdp))


def attr_values(lines, name):
    """The values of a=NAME:VALUE among lines ("" for a flag a=NAME)."""
    out = []
    for l in lines:
        if l == "a=" + name:
            out.append("")
        elif l.startswith("a=" + name + ":"):
            out.append(l[len(name) + 3:])
    return out


def conn_addrs(lines):
    """The addresses of the c=IN IP4 lines among lines."""
    return [l.split()[2] for l in lines if l.startswith("c=IN IP4 ") and len(l.split()) > 2]


class Media:
    """One m-line: kind, port, proto, fmts, and lines (the m= line, then its own lines)."""

    def __init__(self, mline):
        f = mline[2:].split()
        self.kind, self.port, self.proto, self.fmts = f[0], int(f[1]), f[2], f[3:]
        self.lines = [mline]

    def attr(self, name):
        """Values of a=name:value (or "" for a flag a=name) at media level."""
        return attr_values(self.lines, name)

    def has(self, name):
        """Whether the m-line has a=name at media level."""
        return bool(self.attr(name))

    def codec_pt(self, codec):
        """The payload type whose rtpmap names codec (case-insensitive), or None."""
        for v in self.attr("rtpmap"):
            pt, _, enc = v.partition(" ")
            if enc.split("/")[0].lower() == codec.lower():
                return pt
        return None

    def ssrcs(self):
        """The SSRCs of its a=ssrc lines."""
        return {int(v.split()[0]) for v in self.attr("ssrc")}

    def conn(self):
        """The addresses of its own c= lines."""
        return conn_addrs(self.lines)

    def candidates(self):
        """[(address, port)] of its a=candidate lines."""
        out = []
        for l in self.lines:
            if l.startswith("a=candidate:"):
                f = l.split()
                if len(f) > 5:
                    out.append((f[4], int(f[5])))
        return out


class Sdp:
    """An SDP split into session lines and Media."""

    def __init__(self, text):
        self.text = text or ""
        self.session = []
        self.media = []
        for l in lines_of(self.text):
            if l.startswith("m="):
                self.media.append(Media(l))
            elif self.media:
                self.media[-1].lines.append(l)
            else:
                self.session.append(l)

    def session_attr(self, name):
        """Values of a=name at session level."""
        return attr_values(self.session, name)

    def eff(self, m, name):
        """An attribute's values for m-line m: its own, else the session level's."""
        return m.attr(name) or self.session_attr(name)

    def session_c(self):
        """The addresses of the session-level c= lines."""
        return conn_addrs(self.session)

    def all_c(self):
        """The addresses of every c= line, session level first."""
        return self.session_c() + [a for m in self.media for a in m.conn()]

    def addr(self, m):
        """The c= address in effect for m-line m: its own, else the session's (or None)."""
        own = m.conn()
        return own[0] if own else (self.session_c() or [None])[0]

    def origin(self):
        """The address of the o= line, or None."""
        for l in self.session:
            if l.startswith("o="):
                f = l.split()
                return f[5] if len(f) > 5 else None
        return None

    def ports(self):
        """The ports of the m-lines, in order."""
        return [m.port for m in self.media]

    def kinds(self):
        """The media kinds of the m-lines, in order."""
        return [m.kind for m in self.media]

    def active(self):
        """The m-lines with a port other than 0."""
        return [m for m in self.media if m.port != 0]

    def bundle(self):
        """The mids of a=group:BUNDLE, or None."""
        for v in self.session_attr("group"):
            f = v.split()
            if f and f[0] == "BUNDLE":
                return f[1:]
        return None

    def anywhere(self, prefix):
        """Every line, at any level, that starts with prefix."""
        return [l for l in lines_of(self.text) if l.startswith(prefix)]


def sdp_text(lines):
    """SDP text of lines, each ended by CRLF."""
    return "\r\n".join(lines) + "\r\n"


def plain_sdp(who, streams, extra_media="", sess=None, version=1, ip=LOOPBACK, media_c=False,
              direction="sendrecv"):
    """A plain RTP/AVP SDP of WHO on ip: one m-line per (kind, port, pt, codec) (with its own
    c= line when media_c) in the given direction, then the text extra_media."""
    sess = sess if sess is not None else random.randrange(1, 1 << 30)
    lines = ["v=0", "o=%s %d %d IN IP4 %s" % (who, sess, version, ip), "s=%s" % who,
             "c=IN IP4 %s" % ip, "t=0 0"]
    for kind, port, pt, codec in streams:
        lines.append("m=%s %d RTP/AVP %d" % (kind, port, pt))
        if media_c:
            lines.append("c=IN IP4 %s" % ip)
        lines += ["a=rtpmap:%d %s" % (pt, codec), "a=" + direction]
    return sdp_text(lines) + extra_media


# ---- RTP / RTCP bytes ----

def rtp(pt, seq, ts, ssrc, payload, marker=0):
    """An RTP packet: the fixed 12-byte header, then payload."""
    return struct.pack("!BBHII", 0x80, (marker << 7) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF,
                       ssrc) + payload


def is_rtcp(data):
    """Whether data looks like RTCP (version 2, packet type 192..223)."""
    return len(data) >= 8 and data[0] >> 6 == 2 and 192 <= data[1] <= 223


def is_rtp(data):
    """Whether data looks like RTP (version 2, a full header, not an RTCP packet type)."""
    return len(data) >= 12 and data[0] >> 6 == 2 and not 192 <= data[1] <= 223


def rtp_pt(data):
    """An RTP packet's payload type."""
    return data[1] & 0x7F


def rtp_ssrc(data):
    """An RTP packet's SSRC."""
    return struct.unpack("!I", data[8:12])[0]


def rtcp_ssrc(data):
    """The sender SSRC of an RTCP packet."""
    return struct.unpack("!I", data[4:8])[0]


def with_ssrc(data, ssrc):
    """The RTP packet data with its SSRC replaced."""
    return data[:8] + struct.pack("!I", ssrc) + data[12:]


def rtp_payload(data):
    """The payload after the fixed header, CSRCs and a header extension (no padding)."""
    cc = data[0] & 0x0F
    off = 12 + 4 * cc
    if data[0] & 0x10:
        ext_words = struct.unpack("!H", data[off + 2:off + 4])[0]
        off += 4 + 4 * ext_words
    return data[off:]


def sender_report(ssrc, cname, rtp_ts=12345, packets=10, octets=1600):
    """A compound RTCP packet: a sender report (no report blocks) and an SDES CNAME."""
    now = time.time() + 2208988800
    sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, int(now), int((now % 1) * (1 << 32)),
                     rtp_ts, packets, octets)
    item = bytes([1, len(cname)]) + cname.encode() + b"\x00"
    chunk = struct.pack("!I", ssrc) + item
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes


# ---- raw sockets ----

def bind_pair(ip=LOOPBACK):
    """Two UDP sockets on ip, an even port P and P + 1 (RTP and RTCP)."""
    for _ in range(200):
        base = random.randrange(30000, 60000, 2)
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


class Endpoint:
    """One stream of a raw endpoint on ip: an RTP socket on P and an RTCP socket on P + 1."""

    def __init__(self, name="", ip=LOOPBACK):
        self.name = name
        self.ip = ip
        self.rtp, self.rtcp = bind_pair(ip)
        self.port = self.rtp.getsockname()[1]

    def close(self):
        """Closes both sockets."""
        self.rtp.close()
        self.rtcp.close()


def collect(socks, limit, enough, sources=False):
    """Reads from socks for up to limit seconds, or until enough(got) is true, then what
    else is already queued; got maps each socket to the list of datagrams it read ((data,
    source) pairs with sources)."""
    got = {s: [] for s in socks}
    end = time.monotonic() + limit
    while time.monotonic() < end and not enough(got):
        ready, _, _ = select.select(socks, [], [], max(0.0, min(0.05, end - time.monotonic())))
        for s in ready:
            try:
                data, src = s.recvfrom(4096)
            except OSError:
                continue
            got[s].append((data, src) if sources else data)
    # whatever else is already queued (something that should not be there shows up too)
    time.sleep(0.1)
    for s in socks:
        s.setblocking(False)
        try:
            while True:
                data, src = s.recvfrom(4096)
                got[s].append((data, src) if sources else data)
        except OSError:
            pass
        s.setblocking(True)
    return got


# ---- aiortc ----

def aioice_loopback_only():
    """Makes aioice gather 127.0.0.1 only: it skips loopback by itself (and looks the
    function up on every gathering, so this works at any time)."""
    import aioice.ice

    def loopback(use_ipv4=True, use_ipv6=False):
        return [LOOPBACK] if use_ipv4 else []
    aioice.ice.get_host_addresses = loopback


def tone_track(hz):
    """An aiortc audio track: 8 kHz mono s16 in 20 ms frames, real time, a tone of hz."""
    import asyncio
    import fractions
    import math
    import av
    from aiortc import MediaStreamTrack
    from aiortc.mediastreams import MediaStreamError

    class ToneTrack(MediaStreamTrack):
        kind = "audio"

        def __init__(self):
            super().__init__()
            self.n = 0
            self.t0 = None

        async def recv(self):
            if self.readyState != "live":
                raise MediaStreamError
            if self.t0 is None:
                self.t0 = time.monotonic()
            wait = self.t0 + self.n / 8000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            pcm = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * hz *
                                                                 (self.n + i) / 8000)))
                           for i in range(160))
            frame = av.AudioFrame(format="s16", layout="mono", samples=160)
            frame.planes[0].update(pcm)
            frame.sample_rate = 8000
            frame.pts = self.n
            frame.time_base = fractions.Fraction(1, 8000)
            self.n += 160
            return frame
    return ToneTrack()
