#!/usr/bin/python3
"""dsrtpd: a new DTLS association on a call leg that exists (RFC 8842 §5), end to end on
127.0.0.1; driven by test_dsrtpd_dtls_renew.sh (usage: dsrtpd_dtls_renew.py BUILD_DIR
SOURCE_DIR). The script starts one dsrtpd and plays the SIP proxy over ng; the trunks are
played here (plain RTP on raw sockets), the DTLS endpoints are `dsrtp peer` processes and
aiortc (a real WebRTC stack: full ICE, its own DTLS).

  1. Transfer on a DTLS leg without ICE. A = `dsrtp peer` (offerer; its SDP goes to dsrtpd
     without any ICE line: a SIP phone doing DTLS-SRTP without ICE) calls a plain RTP trunk
     (RTP/AVP, ICE=remove, DTLS=off, rtcp-mux demux). Media flows. Then a second
     `dsrtp peer` (another certificate, another port) takes over: its offer goes to dsrtpd
     as a re-offer with A's from-tag, the trunk answers with its SDP (version up), the
     answer goes to the new peer. Checks: both ng requests ok; the re-offer towards the
     trunk keeps our port and stays plain; our answer keeps our port, has no ICE, and a
     setup role that answers the new peer's actpass (active or passive, and the peer took
     the other DTLS role); the first peer got close_notify (it reports "closed", exit 0);
     dsrtpd logs `new DTLS association` (leg A, by=re-offer) and two handshakes for the
     call, /metrics counts one more handshake; the trunk gets the new peer's RTP (a new
     SSRC carrying its silence, no more of the first peer's tone) and the new peer reports
     RTP received (exit 0).
  2. Forked answer on B without ICE. A = plain trunk; towards B UDP/TLS/RTP/SAVPF without
     ICE, rtcp-mux offered. B = `dsrtp peer` #1 answers (tone): media flows. Then
     `dsrtp peer` #2 (silence, another fingerprint) answers the same offer with another
     to-tag (a 200 from another fork after a 183). Checks: ng ok, A's SDP keeps our port;
     log `new DTLS association` (leg B, by=answer), two handshakes for the call, metrics +1;
     the trunk gets #2's RTP (new SSRC, silence) and #2 reports RTP received; #1 got
     close_notify; the new to-tag names the call (delete with it -> ok).
  3. aiortc (audio only, PCMU) offers through dsrtpd to a plain echo trunk, connects and
     receives audio. It closes; a NEW RTCPeerConnection (new fingerprint, new ICE
     credentials) offers as a re-offer on the same call-id and from-tag; the trunk
     re-answers. Checks: ng ok; our answer has the same port and fingerprint and
     a=ice-ufrag/a=ice-pwd different from the first answer's; the new PC connects (ICE +
     DTLS) and receives the echoed audio; the trunk gets the new PC's SSRC; the log has
     `new DTLS association` (leg A, by=re-offer) and two handshakes for the call.
  4. On that call: a re-offer of the new PC's SDP with only the fingerprint changed (ICE
     credentials as they are) is refused with an ng error naming the fingerprint and the
     ICE restart; no new association; the PC stays connected and audio keeps flowing.
Every wait is bounded; every child is killed at exit; exit 0 only when every check passed.
"""
import asyncio
import json
import os
import random
import re
import select
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1]
SRC = sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "peers"))
from gwtest import (Daemon, aioice_loopback_only, all_lines, bind_pair,  # noqa: E402
                    both_legs_flowing, check, children, dump, finish, gw_addr, is_rtp, legs_in,
                    line, lines_of, mport, new_call, ok_reply, plain_sdp, read_when_there, rtp,
                    rtp_ssrc, run, summary, tone_track, version, wait_exit, wait_until, with_ssrc,
                    with_version, write_atomic)

DSRTP = os.path.join(BUILD, "dsrtp")
DSRTPD = os.path.join(BUILD, "dsrtpd")
WORK = tempfile.mkdtemp(prefix="dsrtp-renew.")


# ---- SDP text ----

def mproto(sdp):
    m = re.search(r"^m=audio \d+ (\S+) ", sdp or "", re.M)
    return m.group(1) if m else None


def setup_of(sdp):
    l = line(sdp, "a=setup:")
    return l[len("a=setup:"):] if l else None


ICE_PREFIXES = ("a=ice-", "a=candidate:", "a=end-of-candidates")


def without_ice(sdp):
    """The SDP of an endpoint that does DTLS-SRTP without ICE (a SIP phone, a PBX)."""
    return "".join(l + "\r\n" for l in lines_of(sdp) if not l.startswith(ICE_PREFIXES))


def has_ice(sdp):
    return any(l.startswith(ICE_PREFIXES) for l in lines_of(sdp))


def other_fingerprint(sdp):
    """Every a=fingerprint line with its last byte changed: another certificate."""
    def flip(m):
        last = m.group(2)
        return m.group(1) + ("00" if last.upper() != "00" else "11")
    return re.sub(r"^(a=fingerprint:\S+ (?:[0-9A-Fa-f]{2}:)+)([0-9A-Fa-f]{2})", flip, sdp,
                  flags=re.M)


# ---- a plain RTP trunk played here ----

SILENCE = 0xFF  # PCMU of 0: what `dsrtp peer --send silence` sends
TRUNK_BYTE = 0x55  # the trunk's own payload, neither tone nor silence


class Trunk:
    """Plain RTP, no rtcp-mux (RTCP on port + 1 is read and dropped). Sends PCMU every 20 ms
    to `remote` once started, or (echo=True) sends every RTP packet back where it came from
    with its SSRC changed. Records what arrives per SSRC: packets, how many carry silence
    (every payload byte 0xFF) and the source addresses."""

    def __init__(self, echo=False):
        self.echo = echo
        self.rtp, self.rtcp = bind_pair()
        self.port = self.rtp.getsockname()[1]
        self.version = 1
        self.sess = random.randrange(1, 1 << 30)
        self.lock = threading.Lock()
        self.by_ssrc = {}  # ssrc -> [packets, silence packets, set of sources]
        self.remote = None
        self.echoed = 0
        self.stop_flag = False
        self.t = threading.Thread(target=self.run, daemon=True)

    def sdp(self):
        return plain_sdp("trunk", [("audio", self.port, 0, "PCMU/8000")], sess=self.sess,
                         version=self.version)

    def start(self, remote=None):
        self.remote = remote
        self.t.start()

    def snapshot(self):
        with self.lock:
            return {k: (v[0], v[1], set(v[2])) for k, v in self.by_ssrc.items()}

    def total(self):
        with self.lock:
            return sum(v[0] for v in self.by_ssrc.values())

    def run(self):
        seq, ts, ssrc = random.getrandbits(16), random.getrandbits(32), random.getrandbits(32)
        nxt = time.monotonic()
        while not self.stop_flag:
            now = time.monotonic()
            if not self.echo and self.remote is not None and now >= nxt:
                try:
                    self.rtp.sendto(rtp(0, seq, ts, ssrc, bytes([TRUNK_BYTE]) * 160),
                                    self.remote)
                except OSError:
                    pass
                seq, ts, nxt = seq + 1, ts + 160, nxt + 0.02
            wait = 0.02 if self.echo else max(0.0, min(0.02, nxt - now))
            ready, _, _ = select.select([self.rtp, self.rtcp], [], [], wait)
            for s in ready:
                try:
                    data, src = s.recvfrom(4096)
                except OSError:
                    continue
                if s is not self.rtp or not is_rtp(data):
                    continue
                k = rtp_ssrc(data)
                silent = len(data) > 12 and all(b == SILENCE for b in data[12:])
                with self.lock:
                    e = self.by_ssrc.setdefault(k, [0, 0, set()])
                    e[0] += 1
                    e[1] += silent
                    e[2].add(src)
                if self.echo:
                    try:
                        self.rtp.sendto(with_ssrc(data, k ^ 0x5A5A5A5A), src)
                        self.echoed += 1
                    except OSError:
                        pass

    def stop(self):
        self.stop_flag = True
        if self.t.is_alive():
            self.t.join(2)
        self.rtp.close()
        self.rtcp.close()


# ---- `dsrtp peer` ----

class Peer:
    def __init__(self, name, role, send, duration):
        self.name = name
        self.local = os.path.join(WORK, name + ".sdp")
        self.remote = os.path.join(WORK, name + "_in.sdp")
        self.out_path = os.path.join(WORK, name + ".out")
        self.out = open(self.out_path, "w")
        self.p = subprocess.Popen(
            [DSRTP, "peer", "--role", role, "--keying", "dtls", "--local-sdp", self.local,
             "--remote-sdp", self.remote, "--duration", str(duration), "--send", send,
             "--trace"], stdout=self.out, stderr=subprocess.STDOUT)
        children.append(self.p)

    def sdp(self, limit=10):
        return read_when_there(self.local, limit)

    def give(self, text):
        write_atomic(self.remote, text)

    def wait(self, limit):
        """(exit status or "timeout", the JSON report or {})."""
        rc = wait_exit(self.p, limit)
        self.out.flush()
        report = {}
        with open(self.out_path) as f:
            for l in f:
                if l.startswith("{"):
                    try:
                        report = json.loads(l)
                    except ValueError:
                        pass
        return rc, report

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def answering_peer(name, send, duration, offer, label):
    """A `dsrtp peer` answering offer: (the Peer, its answer without ICE lines, or None when
    it wrote none: the check LABEL)."""
    p = Peer(name, "answer", send, duration)
    p.give(offer)
    ans = p.sdp()
    if not check(label, ans is not None, trace_tail(p)):
        return p, None
    return p, without_ice(ans)


def trace_tail(peer, n=8):
    try:
        with open(peer.out_path) as f:
            return " | ".join(l.strip() for l in f.readlines()[-n:])
    except OSError:
        return ""


def new_ssrc_flow(trunk, old_ssrcs, want, limit):
    """Waits until one SSRC not in old_ssrcs has brought `want` silent packets; that SSRC."""
    found = [None]

    def pred():
        for k, (n, silent, _) in trunk.snapshot().items():
            if k not in old_ssrcs and silent >= want:
                found[0] = k
                return True
        return False
    wait_until(pred, limit, 0.1)
    return found[0]


TO_TRUNK = {"transport-protocol": "RTP/AVP", "ICE": "remove", "DTLS": "off",
            "rtcp-mux": ["demux"]}


def offer_to_trunk(d, label, call, fa, sdp):
    """A's sdp as the ng offer of call towards the plain trunk (TO_TRUNK), checked as LABEL:
    the SDP for the trunk, or None when the offer failed."""
    r = d.ng(dict(TO_TRUNK, command="offer", **{"call-id": call, "from-tag": fa, "sdp": sdp}))
    return r["sdp"] if ok_reply(label, r) else None


def trunk_answers(d, label, call, fa, tb, trunk):
    """The trunk's SDP as the ng answer of call, checked as LABEL: the SDP for A, or None
    when the answer failed."""
    r = d.ng({"command": "answer", "call-id": call, "from-tag": fa, "to-tag": tb,
              "sdp": trunk.sdp()})
    return r["sdp"] if ok_reply(label, r) else None


def call_trunk(d, labels, call, fa, tb, sdp, trunk):
    """offer_to_trunk, then (when it went through) trunk_answers, checked as the two labels:
    (the SDP for the trunk, the SDP for A), None for one that failed or was not sent."""
    to_b = offer_to_trunk(d, labels[0], call, fa, sdp)
    return to_b, (None if to_b is None else trunk_answers(d, labels[1], call, fa, tb, trunk))


# ---- 1: transfer on a DTLS leg without ICE ----

def scenario_transfer(d):
    call, fa, tb = new_call("xfer")
    p1 = Peer("s1_peer1", "offer", "tone", 30)
    trunk = Trunk()
    p2 = None
    try:
        offer1 = p1.sdp()
        if not check("s1: the first peer wrote its offer", offer1 is not None):
            return
        offer1 = without_ice(offer1)
        to_b1, to_a1 = call_trunk(d, ("s1: offer -> ok", "s1: answer -> ok"), call, fa, tb,
                                  offer1, trunk)
        if to_a1 is None:
            return
        check("s1: our answer to the peer without ICE has no ICE either, a fingerprint and "
              "a=setup active or passive",
              not has_ice(to_a1) and line(to_a1, "a=fingerprint:") is not None and
              setup_of(to_a1) in ("active", "passive"), "setup %s" % setup_of(to_a1))
        p1.give(to_a1)
        s1, up = first_media(d, "s1", call, trunk, to_b1, "the first peer's")
        check("s1: one DTLS handshake logged for the call",
              len(d.log_lines(call, "DTLS handshake done")) == 1)
        if not up:
            return
        h0 = d.handshakes()

        # The transfer: another endpoint, another certificate, another port.
        p2 = Peer("s1_peer2", "offer", "silence", 4)
        offer2 = p2.sdp()
        if not check("s1: the second peer wrote its offer", offer2 is not None):
            return
        offer2 = without_ice(offer2)
        check("s1: the second peer has another fingerprint and another port",
              line(offer2, "a=fingerprint:") != line(offer1, "a=fingerprint:") and
              mport(offer2) != mport(offer1))
        offer2 = with_version(offer2, version(offer1) + 1)
        t_reoffer = time.monotonic()
        to_b2 = offer_to_trunk(d, "s1: re-offer from the new endpoint (A's from-tag) -> ok",
                               call, fa, offer2)
        if to_b2 is None:
            return
        check("s1: re-offer towards the trunk keeps our port, stays plain RTP/AVP without "
              "DTLS, o= version one up",
              mport(to_b2) == mport(to_b1) and mproto(to_b2) == "RTP/AVP" and
              line(to_b2, "a=fingerprint:") is None and version(to_b2) == version(to_b1) + 1,
              "port %d/%d proto %s version %d/%d" % (mport(to_b2), mport(to_b1), mproto(to_b2),
                                                     version(to_b2), version(to_b1)))
        trunk.version += 1
        to_a2 = trunk_answers(d, "s1: the trunk's answer (same SDP, version up) -> ok", call,
                              fa, tb, trunk)
        if to_a2 is None:
            return
        if not check("s1: our answer to the new peer keeps our port, has no ICE, our "
                     "fingerprint, and answers its actpass with active or passive",
                     mport(to_a2) == mport(to_a1) and not has_ice(to_a2) and
                     line(to_a2, "a=fingerprint:") == line(to_a1, "a=fingerprint:") and
                     setup_of(offer2) == "actpass" and setup_of(to_a2) in ("active", "passive"),
                     "port %d/%d setup %s" % (mport(to_a2), mport(to_a1), setup_of(to_a2))):
            dump("s1 answer to the new peer", to_a2)
        p2.give(to_a2)

        rc1, rep1 = p1.wait(6)
        check("s1: the first peer got close_notify and ended (state closed, exit 0)",
              rc1 == 0 and rep1.get("state") == "closed" and
              time.monotonic() - t_reoffer < 6,
              "rc %s, %s" % (rc1, rep1))
        renewed = wait_until(lambda: len(d.log_lines(call, "DTLS handshake done")) == 2, 8, 0.1)
        news = d.log_lines(call, "new DTLS association")
        check("s1: dsrtpd logs one new DTLS association on leg A by the re-offer",
              len(news) == 1 and "leg=A" in news[0] and "by=re-offer" in news[0], str(news))
        check("s1: dsrtpd logs a second DTLS handshake done for the call", renewed,
              str(d.log_lines(call, "DTLS handshake done")))
        h1 = d.handshakes()
        check("s1: /metrics counts one more successful handshake",
              h0 is not None and h1 == h0 + 1, "%s -> %s" % (h0, h1))
        s2 = new_ssrc_flow(trunk, {s1}, 25, 8)
        check("s1: the trunk receives the new peer's RTP (new SSRC, its silence)",
              s2 is not None, str(trunk.snapshot()))
        if s2 is not None and s1 is not None:
            snap = trunk.snapshot()
            time.sleep(0.5)
            later = trunk.snapshot()
            check("s1: nothing more of the first peer's tone reaches the trunk",
                  later.get(s1, (0,))[0] == snap.get(s1, (0,))[0],
                  "%s -> %s" % (snap.get(s1), later.get(s1)))
            check("s1: the trunk gets the new peer's RTP from our port only",
                  later[s2][2] == {gw_addr(to_b1)}, str(later[s2][2]))
        rc2, rep2 = p2.wait(10)
        ours = setup_of(to_a2)
        check("s1: the new peer completed a handshake, sent and received RTP (exit 0, %s "
              "RTP received)" % rep2.get("rtp_received"),
              rc2 == 0 and rep2.get("profile", "NONE") != "NONE" and
              rep2.get("rtp_received", 0) >= 50 and rep2.get("rtp_sent", 0) >= 50,
              "rc %s, %s; %s" % (rc2, rep2, trace_tail(p2)))
        check("s1: the new peer's DTLS role is the other one of our a=setup:%s" % ours,
              (ours, rep2.get("role")) in (("active", "server"), ("passive", "client")),
              "peer role %s" % rep2.get("role"))
        check("s1: no leg failed", not d.log_lines(call, "leg failed"),
              str(d.log_lines(call, "leg failed")))
    finally:
        trunk.stop()
        p1.kill()
        if p2 is not None:
            p2.kill()
        d.ng({"command": "delete", "call-id": call, "from-tag": fa})


def first_media(d, label, call, trunk, gw_sdp, whose):
    """Starts the trunk, sending to the gateway port of gw_sdp; checks that WHOSE RTP (tone)
    reaches it and that media flows both ways through dsrtpd: (the tone's SSRC or None,
    whether media flows)."""
    trunk.start(gw_addr(gw_sdp))
    s1 = new_ssrc_flow_tone(trunk, 25, 10)
    check("%s: %s RTP (tone) reaches the trunk" % (label, whose), s1 is not None,
          str(trunk.snapshot()))
    up = both_legs_flowing(d, call)
    check("%s: media flows both ways through dsrtpd" % label, up, str(legs_in(d, call)))
    return s1, up


def new_ssrc_flow_tone(trunk, want, limit):
    """Waits until one SSRC has brought `want` packets that are not silence; that SSRC."""
    found = [None]

    def pred():
        for k, (n, silent, _) in trunk.snapshot().items():
            if n - silent >= want:
                found[0] = k
                return True
        return False
    wait_until(pred, limit, 0.1)
    return found[0]


# ---- 2: a second answer (another fork) on B without ICE ----

def scenario_forked_answer(d):
    call = "fork-%d" % random.getrandbits(24)
    fa, tb1, tb2 = "fa-" + call, "tb1-" + call, "tb2-" + call
    trunk = Trunk()
    p1 = p2 = None
    try:
        r = d.ng({"command": "offer", "call-id": call, "from-tag": fa, "sdp": trunk.sdp(),
                  "transport-protocol": "UDP/TLS/RTP/SAVPF", "ICE": "remove",
                  "rtcp-mux": ["offer"]})
        if not ok_reply("s2: offer -> ok", r):
            return
        to_b = r["sdp"]
        if not check("s2: offer towards B is DTLS (fingerprint, actpass) without ICE",
                     mproto(to_b) == "UDP/TLS/RTP/SAVPF" and not has_ice(to_b) and
                     line(to_b, "a=fingerprint:") is not None and setup_of(to_b) == "actpass",
                     mproto(to_b)):
            dump("s2 offer to B", to_b)
            return
        p1, ans1 = answering_peer("s2_peer1", "tone", 30, to_b,
                                  "s2: the first B endpoint answered")
        if ans1 is None:
            return
        r = d.ng({"command": "answer", "call-id": call, "from-tag": fa, "to-tag": tb1,
                  "sdp": ans1})
        if not ok_reply("s2: answer from the first endpoint -> ok", r):
            return
        to_a1 = r["sdp"]
        s1, up = first_media(d, "s2", call, trunk, to_a1, "the first endpoint's")
        if not up:
            return
        h0 = d.handshakes()

        # Another fork answers the same offer (the 200 after a 183 from the first).
        p2, ans2 = answering_peer("s2_peer2", "silence", 4, to_b,
                                  "s2: the second B endpoint answered")
        if ans2 is None:
            return
        check("s2: the second endpoint has another fingerprint and port",
              line(ans2, "a=fingerprint:") != line(ans1, "a=fingerprint:") and
              mport(ans2) != mport(ans1))
        t_answer = time.monotonic()
        r = d.ng({"command": "answer", "call-id": call, "from-tag": fa, "to-tag": tb2,
                  "sdp": ans2})
        if not ok_reply("s2: second answer (another to-tag, another fingerprint) -> ok", r):
            return
        to_a2 = r["sdp"]
        check("s2: the SDP for the trunk keeps our port and stays plain",
              mport(to_a2) == mport(to_a1) and mproto(to_a2) == "RTP/AVP" and
              line(to_a2, "a=fingerprint:") is None,
              "port %d/%d proto %s" % (mport(to_a2), mport(to_a1), mproto(to_a2)))
        wait_until(lambda: d.log_lines(call, "new DTLS association"), 3)
        news = d.log_lines(call, "new DTLS association")
        check("s2: dsrtpd logs a new DTLS association on leg B by the answer",
              len(news) == 1 and "leg=B" in news[0] and "by=answer" in news[0], str(news))
        renewed = wait_until(lambda: len(d.log_lines(call, "DTLS handshake done")) == 2, 8, 0.1)
        check("s2: dsrtpd logs a second DTLS handshake done for the call", renewed,
              str(d.log_lines(call, "DTLS handshake done")))
        h1 = d.handshakes()
        check("s2: /metrics counts one more successful handshake",
              h0 is not None and h1 == h0 + 1, "%s -> %s" % (h0, h1))
        rc1, rep1 = p1.wait(6)
        check("s2: the first endpoint got close_notify and ended (state closed, exit 0)",
              rc1 == 0 and rep1.get("state") == "closed" and time.monotonic() - t_answer < 6,
              "rc %s, %s" % (rc1, rep1))
        s2 = new_ssrc_flow(trunk, {s1}, 25, 8)
        check("s2: the trunk receives the second endpoint's RTP (new SSRC, its silence)",
              s2 is not None, str(trunk.snapshot()))
        rc2, rep2 = p2.wait(10)
        check("s2: the second endpoint completed a handshake, sent and received RTP (exit 0, "
              "%s RTP received)" % rep2.get("rtp_received"),
              rc2 == 0 and rep2.get("profile", "NONE") != "NONE" and
              rep2.get("rtp_received", 0) >= 50 and rep2.get("rtp_sent", 0) >= 50,
              "rc %s, %s; %s" % (rc2, rep2, trace_tail(p2)))
        r = d.ng({"command": "delete", "call-id": call, "from-tag": fa, "to-tag": tb2})
        check("s2: the second answer's to-tag names the call (delete with it -> ok)",
              r.get("result") == "ok", str(r))
    finally:
        trunk.stop()
        for p in (p1, p2):
            if p is not None:
                p.kill()
        d.ng({"command": "delete", "call-id": call, "from-tag": fa})


# ---- 3 and 4: aiortc, a brand-new RTCPeerConnection on the call; then a refusal ----

async def scenario_aiortc(d):
    aioice_loopback_only()
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    class Pc:
        """One RTCPeerConnection offering PCMU audio, counting the frames it receives."""

        def __init__(self):
            self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            self.tr = self.pc.addTransceiver(tone_track(500), direction="sendrecv")
            self.tr.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("audio").codecs
                                         if c.mimeType.lower() == "audio/pcmu"])
            self.frames = 0
            self.task = None

        async def offer(self):
            await self.pc.setLocalDescription(await self.pc.createOffer())
            return self.pc.localDescription.sdp

        async def answer(self, sdp, limit=12):
            """Takes the answer; True once connected (ICE + DTLS)."""
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            self.task = asyncio.ensure_future(self.drain())
            end = time.monotonic() + limit
            while time.monotonic() < end and self.pc.connectionState not in ("connected",
                                                                              "failed"):
                await asyncio.sleep(0.05)
            return self.pc.connectionState == "connected"

        async def drain(self):
            while True:
                try:
                    await self.tr.receiver.track.recv()
                except MediaStreamError:
                    return
                self.frames += 1

        async def frames_grow(self, want, limit):
            start = self.frames
            end = time.monotonic() + limit
            while time.monotonic() < end and self.frames - start < want:
                await asyncio.sleep(0.05)
            return self.frames - start

        async def close(self):
            await self.pc.close()
            if self.task is not None:
                self.task.cancel()

    def ssrcs_of(sdp):
        return {int(l.split()[0][len("a=ssrc:"):]) for l in all_lines(sdp, "a=ssrc:")}

    call, fa, tb = new_call("webrtc")
    trunk = Trunk(echo=True)
    trunk.start()
    pc1 = Pc()
    pc2 = None
    try:
        offer1 = await pc1.offer()
        to_b1, to_a1 = call_trunk(d, ("s3: aiortc's offer -> ok",
                                      "s3: the echo trunk's answer -> ok"),
                                  call, fa, tb, offer1, trunk)
        if to_a1 is None:
            return
        check("s3: our answer to aiortc has ICE credentials, a fingerprint and a setup role",
              line(to_a1, "a=ice-ufrag:") and line(to_a1, "a=ice-pwd:") and
              line(to_a1, "a=fingerprint:") and setup_of(to_a1) in ("active", "passive"))
        if not check("s3: the first RTCPeerConnection connects (ICE + DTLS)",
                     await pc1.answer(to_a1), pc1.pc.connectionState):
            dump("s3 answer to the first PC", to_a1)
            return
        got = await pc1.frames_grow(25, 8)
        check("s3: the first RTCPeerConnection receives the echoed audio (%d frames)" % got,
              got >= 25, "trunk echoed %d" % trunk.echoed)
        h0 = d.handshakes()
        await pc1.close()
        t0 = trunk.total()

        # A brand-new RTCPeerConnection on the same call (a page reload, another device).
        pc2 = Pc()
        offer2 = await pc2.offer()
        check("s3: the new RTCPeerConnection has another fingerprint and other ICE "
              "credentials",
              all_lines(offer2, "a=fingerprint:") != all_lines(offer1, "a=fingerprint:") and
              line(offer2, "a=ice-ufrag:") != line(offer1, "a=ice-ufrag:") and
              line(offer2, "a=ice-pwd:") != line(offer1, "a=ice-pwd:"))
        to_b2 = offer_to_trunk(d, "s3: the new PC's offer as a re-offer (same call-id, "
                               "from-tag) -> ok", call, fa, offer2)
        if to_b2 is None:
            dump("s3 offer of the new PC", offer2)
            return
        check("s3: the re-offer towards the trunk keeps our port and stays plain",
              mport(to_b2) == mport(to_b1) and mproto(to_b2) == "RTP/AVP" and
              not has_ice(to_b2), "port %d/%d" % (mport(to_b2), mport(to_b1)))
        trunk.version += 1
        to_a2 = trunk_answers(d, "s3: the trunk's re-answer -> ok", call, fa, tb, trunk)
        if to_a2 is None:
            return
        check("s3: our answer to the new PC keeps our port and our fingerprint",
              mport(to_a2) == mport(to_a1) and
              line(to_a2, "a=fingerprint:") == line(to_a1, "a=fingerprint:"),
              "port %d/%d" % (mport(to_a2), mport(to_a1)))
        check("s3: our answer to the new PC carries new a=ice-ufrag and a=ice-pwd of ours",
              line(to_a2, "a=ice-ufrag:") is not None and line(to_a2, "a=ice-pwd:") is not None
              and line(to_a2, "a=ice-ufrag:") != line(to_a1, "a=ice-ufrag:") and
              line(to_a2, "a=ice-pwd:") != line(to_a1, "a=ice-pwd:") and
              line(to_a2, "a=ice-ufrag:") != line(offer2, "a=ice-ufrag:"),
              "%s -> %s" % (line(to_a1, "a=ice-ufrag:"), line(to_a2, "a=ice-ufrag:")))
        check("s3: our answer to the new PC answers its actpass with active or passive",
              setup_of(offer2) == "actpass" and setup_of(to_a2) in ("active", "passive"),
              str(setup_of(to_a2)))
        if not check("s3: the new RTCPeerConnection connects (ICE + DTLS)",
                     await pc2.answer(to_a2), pc2.pc.connectionState):
            dump("s3 answer to the new PC", to_a2)
            dump("s3 log of the call", "\n".join(d.log_lines(call)))
            return
        got = await pc2.frames_grow(25, 8)
        check("s3: the new RTCPeerConnection receives the echoed audio (%d frames)" % got,
              got >= 25, "trunk echoed %d" % trunk.echoed)
        mine = ssrcs_of(offer2)
        snap = trunk.snapshot()
        check("s3: the trunk receives the new PC's RTP (its SSRC)",
              mine and any(snap.get(k, (0,))[0] >= 25 for k in mine) and trunk.total() > t0,
              "offer SSRCs %s, trunk %s" % (mine, {k: v[0] for k, v in snap.items()}))
        news = d.log_lines(call, "new DTLS association")
        check("s3: dsrtpd logs a new DTLS association on leg A by the re-offer",
              len(news) == 1 and "leg=A" in news[0] and "by=re-offer" in news[0], str(news))
        check("s3: dsrtpd logs two DTLS handshakes for the call, /metrics one more",
              len(d.log_lines(call, "DTLS handshake done")) == 2 and d.handshakes() == h0 + 1,
              "log %d, metric %s -> %s" % (len(d.log_lines(call, "DTLS handshake done")), h0,
                                           d.handshakes()))

        # 4: the same SDP with only the fingerprint changed: no ICE restart, refused.
        bad = with_version(other_fingerprint(offer2), version(offer2) + 1)
        assert all_lines(bad, "a=fingerprint:") != all_lines(offer2, "a=fingerprint:")
        r = d.ng(dict(TO_TRUNK, command="offer", **{"call-id": call, "from-tag": fa,
                                                    "sdp": bad}))
        reason = str(r.get("error-reason", ""))
        check("s4: a re-offer with another fingerprint and the same ICE credentials -> ng "
              "error naming the fingerprint and the ICE restart",
              r.get("result") == "error" and "fingerprint" in reason and
              "ICE restart" in reason, "%s: %s" % (r.get("result"), reason))
        bad_role = with_version(offer2.replace("a=setup:actpass",
                                               "a=setup:%s" % setup_of(to_a2)),
                                version(offer2) + 1)
        r = d.ng(dict(TO_TRUNK, command="offer", **{"call-id": call, "from-tag": fa,
                                                    "sdp": bad_role}))
        reason = str(r.get("error-reason", ""))
        check("s4: a re-offer forcing the other DTLS role without an ICE restart -> ng error "
              "naming the role and the ICE restart",
              r.get("result") == "error" and "role" in reason and "ICE restart" in reason,
              "%s: %s" % (r.get("result"), reason))
        check("s4: no new DTLS association after the refusals",
              len(d.log_lines(call, "new DTLS association")) == 1 and
              len(d.log_lines(call, "DTLS handshake done")) == 2)
        t1 = trunk.total()
        got = await pc2.frames_grow(40, 6)
        check("s4: the PC stays connected and audio keeps flowing both ways (%d frames, "
              "trunk +%d)" % (got, trunk.total() - t1),
              pc2.pc.connectionState == "connected" and got >= 40 and trunk.total() - t1 >= 40,
              pc2.pc.connectionState)
        check("s3/s4: no leg failed", not d.log_lines(call, "leg failed"),
              str(d.log_lines(call, "leg failed")))
    finally:
        for pc in (pc1, pc2):
            if pc is not None:
                try:
                    await asyncio.wait_for(pc.close(), 3)
                except Exception:
                    pass
        trunk.stop()
        d.ng({"command": "delete", "call-id": call, "from-tag": fa})


def aiortc_available():
    try:
        import aiortc  # noqa: F401
        import av  # noqa: F401
        return True
    except ImportError:
        return False


def main():
    if not check("%s and %s are built" % (DSRTPD, DSRTP),
                 os.access(DSRTPD, os.X_OK) and os.access(DSRTP, os.X_OK)):
        return
    d = Daemon(DSRTPD, WORK, media=24, io=os.environ.get("DSRTPD_IO", "auto"))
    if not check("dsrtpd starts", d.up):
        return
    try:
        run("scenario 1 (transfer on a DTLS leg without ICE)", lambda: scenario_transfer(d))
        run("scenario 2 (forked answer on B without ICE)", lambda: scenario_forked_answer(d))
        if check("python3-aiortc is installed for %s" % sys.executable, aiortc_available()):
            run("scenarios 3 and 4 (aiortc: a new RTCPeerConnection, then a refusal)",
                lambda: asyncio.run(asyncio.wait_for(scenario_aiortc(d), 35)))
    finally:
        check("SIGTERM: dsrtpd exits 0", d.stop() == 0)
        with open(d.log) as f:
            text = f.read()
        pw = set()
        for name in os.listdir(WORK):
            if name.endswith(".sdp"):
                with open(os.path.join(WORK, name)) as f:
                    pw |= set(re.findall(r"a=ice-pwd:(\S+)", f.read()))
        check("no ICE password of the peers in dsrtpd's log",
              not any(p in text for p in pw))


if __name__ == "__main__":
    try:
        main()
    finally:
        finish(WORK)
    sys.exit(summary("# "))
