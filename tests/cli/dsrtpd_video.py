#!/usr/bin/python3
"""dsrtpd multi-stream calls (audio + video, and m-lines that are not relayed), end to end
on 127.0.0.1 against a running gateway; driven by test_dsrtpd_video.sh, which starts
dsrtpd (usage: dsrtpd_video.py BUILD_DIR SOURCE_DIR NG_HOST:PORT WORK_DIR).

The script plays the SIP proxy over ng and every endpoint itself:

  1. aiortc (a real WebRTC stack: full ICE, DTLS-SRTP, BUNDLE) offers PCMU audio and VP8
     video, both generated here, with a=group:BUNDLE. Towards the trunk the flags are
     RTP/AVP, ICE=remove, DTLS=off, rtcp-mux demux. The trunk is played here: one socket
     pair (RTP, RTCP) per stream that echoes every RTP packet back to its sender with the
     SSRC changed (so aiortc takes it as the peer's stream, not its own).
     Checks: the offer to the trunk has two active plain m-lines on distinct ports, no
     DTLS/ICE/SDES attributes, our c= address; the answer to aiortc bundles both mids on
     one port with one fingerprint/setup/ICE credentials/candidate/rtcp-mux; the trunk's
     audio socket got only the audio m-line's payload types and its video socket only the
     video m-line's (aiortc sends both over one bundled port: the gateway routes by PT);
     RTCP reached each stream's RTCP port carrying only that stream's SSRCs (routing by
     SSRC); aiortc decoded the echoed audio and VP8 video (frames of our size); query
     lists two medias per tag with packets counted in each; delete is ok.
  2. Two plain RTP sides played with raw sockets; A offers audio, video and a data channel
     m-line (UDP/DTLS/SCTP). The data channel line gets port 0 both ways; audio and video
     each get their own port per side, and RTP (and RTCP, on port + 1) sent to one
     stream's port arrives on the other side's socket of that stream, payload and payload
     type intact, and nowhere else, both ways. A then re-offers with one more m-line: the
     streams keep their ports, the added line becomes a third stream with new ports on
     both sides, and media flows on all three, both ways.
  3. A plain, B SDES (RTP/SAVP), two streams: every m-line towards B has its own a=crypto
     key; B's sockets decrypt what arrives with the key of their own m-line (libsrtp,
     through pylibsrtp, an independent implementation) and not with the other m-line's;
     SRTP that B protects with its own per-m-line keys arrives at A as the plain RTP sent.
  4. Plain <-> plain with five audio m-lines: four are relayed (distinct ports, media on
     each, query lists four medias), the fifth, past the cap, gets port 0 both ways.
Every SDP exchanged is written to WORK_DIR/sdp/ (the shell script checks the daemon's log
holds none of their secrets). Every wait is bounded; exit 0 only when every check passed.
"""
import asyncio
import base64
import os
import random
import select
import sys
import threading
import time

BUILD, SRC, NG_ADDR, WORK = sys.argv[1:5]
sys.path.insert(0, os.path.join(SRC, "tests", "peers"))
import gwtest  # noqa: E402
from gwtest import (LOOPBACK, Endpoint, Sdp, check, collect, is_rtcp, is_rtp,  # noqa: E402
                    new_call, ok_reply, plain_sdp, rtcp_ssrc, rtp, rtp_payload, rtp_pt, rtp_ssrc,
                    run, sdp_saver, sdp_text, sender_report, summary, tone_track, with_ssrc)

gwtest.aioice_loopback_only()

import av  # noqa: E402
from aiortc import (  # noqa: E402
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs import HEADER_EXTENSIONS  # noqa: E402
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack  # noqa: E402
import pylibsrtp  # noqa: E402

# aiortc 1.4 gives ssrc-audio-level (audio) and abs-send-time (video) the same extmap id 2;
# once audio and video share a bundled transport it parses one as the other and its DTLS
# transport dies on the first audio packet. Audio without the audio-level extension keeps
# the ids apart (the dict is the one RTCPeerConnection reads).
HEADER_EXTENSIONS["audio"] = [x for x in HEADER_EXTENSIONS["audio"]
                              if not x.uri.endswith("ssrc-audio-level")]

save_sdp = sdp_saver(os.path.join(WORK, "sdp"))


def show(text):
    """An SDP's m= lines on one line, for a failure message."""
    return " | ".join(l for l in (text or "").replace("\r\n", "\n").split("\n")
                      if l.startswith("m="))


# The streams of scenarios 2 and 3; the ng flags towards a plain trunk.
KINDS, PTS, CODECS = ["audio", "video"], [0, 96], ["PCMU/8000", "VP8/90000"]
TO_TRUNK = {"transport-protocol": "RTP/AVP", "ICE": "remove", "DTLS": "off",
            "rtcp-mux": ["demux"]}
PLAIN = {"transport-protocol": "RTP/AVP"}


# ---- ng ----

def ng(req, timeout=5.0):
    """One ng request to the gateway under test (an error dict when it does not answer)."""
    return gwtest.ng(NG_ADDR, req, timeout)


def offer(label, call, fa, sdp, save_as, flags):
    """A's sdp (saved as SAVE_AS_from_a) as the ng offer of call with flags, checked as
    LABEL: the SDP towards B (saved as SAVE_AS_to_b), or None when the offer failed."""
    save_sdp(save_as + "_from_a", sdp)
    r = ng(dict({"command": "offer", "call-id": call, "from-tag": fa, "sdp": sdp}, **flags))
    return reply_sdp(label, r, save_as + "_to_b")


def answer(label, call, fa, tb, sdp, save_as):
    """B's sdp (saved as SAVE_AS_from_b) as the ng answer of call, checked as LABEL: the SDP
    towards A (saved as SAVE_AS_to_a), or None when the answer failed."""
    save_sdp(save_as + "_from_b", sdp)
    r = ng({"command": "answer", "call-id": call, "from-tag": fa, "to-tag": tb, "sdp": sdp})
    return reply_sdp(label, r, save_as + "_to_a")


def reply_sdp(label, r, save_as):
    """The check LABEL that ng reply r is ok; its SDP (saved as SAVE_AS), else None."""
    if not ok_reply(label, r):
        return None
    sdp = r.get("sdp", "")
    save_sdp(save_as, sdp)
    return sdp


def av_endpoints():
    """A's and B's raw endpoints for an audio and a video stream."""
    return [Endpoint("a-" + k) for k in KINDS], [Endpoint("b-" + k) for k in KINDS]


# ---- 1: aiortc (audio + video, BUNDLE) -> plain trunk ----

VIDEO_W, VIDEO_H = 160, 120


class PatternTrack(VideoStreamTrack):
    """160x120 yuv420p frames at 30 fps: a luma ramp that moves a little every frame."""

    def __init__(self):
        super().__init__()
        self.count = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=VIDEO_W, height=VIDEO_H, format="yuv420p")
        y, u, v = frame.planes
        row = bytes(((x * 3 + self.count * 5) & 0xFF) for x in range(y.line_size))
        y.update(row * (y.buffer_size // y.line_size))
        u.update(bytes([(90 + self.count) & 0xFF]) * u.buffer_size)
        v.update(bytes([160]) * v.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        self.count += 1
        return frame


class EchoTrunk:
    """The trunk of scenario 1: per stream, an RTP socket that echoes every RTP packet to
    where it came from with SSRC ^ 0x5a5a5a5a, and an RTCP socket (P + 1) that records."""

    def __init__(self, kinds):
        self.streams = [Endpoint(k) for k in kinds]
        self.lock = threading.Lock()
        self.rtp_pts = [dict() for _ in kinds]      # pt -> count
        self.rtp_ssrcs = [set() for _ in kinds]
        self.rtcp_ssrcs = [dict() for _ in kinds]   # sender ssrc -> count
        self.rtcp_on_rtp = [0 for _ in kinds]
        self.echoed = [0 for _ in kinds]
        self.stop_flag = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        where = {}
        for i, e in enumerate(self.streams):
            where[e.rtp] = (i, "rtp")
            where[e.rtcp] = (i, "rtcp")
        socks = list(where)
        while not self.stop_flag:
            ready, _, _ = select.select(socks, [], [], 0.05)
            for s in ready:
                try:
                    data, src = s.recvfrom(4096)
                except OSError:
                    continue
                i, kind = where[s]
                with self.lock:
                    if kind == "rtcp":
                        if is_rtcp(data):
                            k = rtcp_ssrc(data)
                            self.rtcp_ssrcs[i][k] = self.rtcp_ssrcs[i].get(k, 0) + 1
                        continue
                    if is_rtcp(data):
                        self.rtcp_on_rtp[i] += 1
                        continue
                    if not is_rtp(data):
                        continue
                    pt = rtp_pt(data)
                    self.rtp_pts[i][pt] = self.rtp_pts[i].get(pt, 0) + 1
                    self.rtp_ssrcs[i].add(rtp_ssrc(data))
                try:
                    s.sendto(with_ssrc(data, rtp_ssrc(data) ^ 0x5A5A5A5A), src)
                    with self.lock:
                        self.echoed[i] += 1
                except OSError:
                    pass

    def stop(self):
        self.stop_flag = True
        self.t.join(2)
        for e in self.streams:
            e.close()


def prefer(transceiver, kind, mime):
    codecs = [c for c in RTCRtpSender.getCapabilities(kind).codecs
              if c.mimeType.lower() == mime]
    transceiver.setCodecPreferences(codecs)


def same_everywhere(sdp, ms, name):
    """(ok, values): attribute name present on every m-line of ms (media level, else the
    session level) with one and the same value."""
    vals = [tuple(sdp.eff(m, name)) for m in ms]
    return all(vals) and len(set(vals)) == 1, vals


async def scenario_aiortc():
    call, fa, tb = new_call("video-aiortc")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    trunk = None
    tasks = []
    try:
        at = pc.addTransceiver(tone_track(600), direction="sendrecv")
        prefer(at, "audio", "audio/pcmu")
        vt = pc.addTransceiver(PatternTrack(), direction="sendrecv")
        prefer(vt, "video", "video/vp8")
        await pc.setLocalDescription(await pc.createOffer())
        offer_a = pc.localDescription.sdp
        oa = Sdp(offer_a)
        mids = [m.attr("mid")[0] for m in oa.media]
        if not check("s1: aiortc offers audio + video bundled",
                     [m.kind for m in oa.media] == ["audio", "video"] and oa.bundle() == mids,
                     show(offer_a), sdp=("s1 offer from aiortc", offer_a)):
            return
        audio_ssrcs, video_ssrcs = oa.media[0].ssrcs(), oa.media[1].ssrcs()

        to_b = offer("s1: ng offer -> ok", call, fa, offer_a, "s1_offer", TO_TRUNK)
        if to_b is None:
            return
        sdp_b = ("s1: offer to B", to_b)
        ob = Sdp(to_b)
        act = ob.active()
        check("s1: offer to the trunk has two active m-lines, audio then video, distinct ports",
              len(ob.media) == 2 and [m.kind for m in act] == ["audio", "video"] and
              len({m.port for m in act}) == 2, show(to_b), sdp=sdp_b)
        check("s1: offer to the trunk is plain RTP/AVP on every m-line",
              all(m.proto == "RTP/AVP" for m in ob.media), show(to_b), sdp=sdp_b)
        check("s1: offer to the trunk has no fingerprint, setup, ICE, candidate or crypto",
              not any(ob.anywhere(p) for p in ("a=fingerprint", "a=setup", "a=ice-",
                                                "a=candidate", "a=crypto", "a=rtcp-mux")),
              show(to_b), sdp=sdp_b)
        check("s1: offer to the trunk carries the gateway's address 127.0.0.1 on each m-line",
              all(ob.addr(m) == LOOPBACK for m in ob.media), show(to_b), sdp=sdp_b)
        if len(act) != 2:
            return
        a_pt = act[0].codec_pt("PCMU")
        v_pt = act[1].codec_pt("VP8")
        if not check("s1: offer to the trunk keeps PCMU on audio, VP8 on video",
                     a_pt is not None and v_pt is not None, show(to_b), sdp=sdp_b):
            return
        audio_pts = {int(x) for x in act[0].fmts}
        video_pts = {int(x) for x in act[1].fmts}

        trunk = EchoTrunk(["audio", "video"])
        lines = ["v=0", "o=trunk %d 1 IN IP4 127.0.0.1" % random.randrange(1, 1 << 30),
                 "s=trunk", "c=IN IP4 127.0.0.1", "t=0 0"]
        for m, e, pt, codec in ((act[0], trunk.streams[0], a_pt, "PCMU/8000"),
                                (act[1], trunk.streams[1], v_pt, "VP8/90000")):
            lines.append("m=%s %d RTP/AVP %s" % (m.kind, e.port, pt))
            lines += ["a=mid:" + x for x in m.attr("mid")]
            lines += ["a=rtpmap:%s %s" % (pt, codec), "a=sendrecv"]
        to_a = answer("s1: ng answer -> ok", call, fa, tb, sdp_text(lines), "s1_answer")
        if to_a is None:
            return
        sdp_a = ("s1: answer to A", to_a)
        aa = Sdp(to_a)
        check("s1: answer to aiortc has a=group:BUNDLE with both mids in order, and the "
              "offer's a=mid on each m-line",
              aa.bundle() == mids and [m.attr("mid") for m in aa.media] == [[x] for x in mids],
              "group %s, a=mid %s, offered %s" % (aa.bundle(), [m.attr("mid") for m in aa.media],
                                                 mids))
        check("s1: answer to aiortc has both m-lines on one (nonzero) port",
              len(aa.media) == 2 and aa.media[0].port != 0 and
              aa.media[0].port == aa.media[1].port, show(to_a), sdp=sdp_a)
        fps = {v for m in aa.media for v in aa.eff(m, "fingerprint")}
        check("s1: answer to aiortc has one fingerprint, on every m-line",
              len(fps) == 1 and all(aa.eff(m, "fingerprint") for m in aa.media), str(fps))
        for name in ("setup", "ice-ufrag", "ice-pwd", "candidate", "rtcp-mux"):
            same, vals = same_everywhere(aa, aa.media, name)
            check("s1: answer to aiortc has the same a=%s on every m-line" % name, same,
                  str(vals) if name != "ice-pwd" else "differs or missing")
        check("s1: answer to aiortc is UDP/TLS/RTP/SAVPF with PCMU / VP8",
              len(aa.media) == 2 and all(m.proto == "UDP/TLS/RTP/SAVPF" for m in aa.media) and
              aa.media[0].codec_pt("PCMU") is not None and
              aa.media[1].codec_pt("VP8") is not None, show(to_a), sdp=sdp_a)

        # aiortc: connect, then count what its receivers give back.
        connected = asyncio.Event()

        @pc.on("connectionstatechange")
        def _state():
            if pc.connectionState in ("connected", "failed", "closed"):
                connected.set()

        frames = {"audio": 0, "video": 0, "size": None}

        async def drain(track, kind):
            while True:
                try:
                    f = await track.recv()
                except MediaStreamError:
                    return
                frames[kind] += 1
                if kind == "video":
                    frames["size"] = (f.width, f.height)

        await pc.setRemoteDescription(RTCSessionDescription(to_a, "answer"))
        tasks = [asyncio.ensure_future(drain(at.receiver.track, "audio")),
                 asyncio.ensure_future(drain(vt.receiver.track, "video"))]
        try:
            await asyncio.wait_for(connected.wait(), 12)
        except asyncio.TimeoutError:
            pass
        if not check("s1: aiortc connects (ICE + DTLS) to the bundled port",
                     pc.connectionState == "connected", pc.connectionState):
            return
        end = time.monotonic() + 10
        while time.monotonic() < end and not (frames["audio"] >= 50 and frames["video"] >= 20):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # a few more RTCP intervals (aiortc: 0.5 - 1.5 s)

        with trunk.lock:
            pts = [dict(x) for x in trunk.rtp_pts]
            rtcp = [dict(x) for x in trunk.rtcp_ssrcs]
            on_rtp = list(trunk.rtcp_on_rtp)
            echoed = list(trunk.echoed)
        check("s1: trunk audio socket got %d RTP packets, only audio payload types %s"
              % (sum(pts[0].values()), sorted(audio_pts)),
              sum(pts[0].values()) > 20 and set(pts[0]) <= audio_pts, "PTs %s" % pts[0])
        check("s1: trunk video socket got %d RTP packets, only video payload types %s"
              % (sum(pts[1].values()), sorted(video_pts)),
              sum(pts[1].values()) > 10 and set(pts[1]) <= video_pts, "PTs %s" % pts[1])
        check("s1: trunk RTCP ports got aiortc's RTCP (%d audio, %d video), each only its own "
              "stream's SSRCs" % (sum(rtcp[0].values()), sum(rtcp[1].values())),
              rtcp[0] and rtcp[1] and set(rtcp[0]) <= audio_ssrcs and
              set(rtcp[1]) <= video_ssrcs,
              "audio %s (want %s), video %s (want %s), RTCP on RTP ports %s"
              % (rtcp[0], audio_ssrcs, rtcp[1], video_ssrcs, on_rtp))
        check("s1: aiortc received the echoed audio (%d frames)" % frames["audio"],
              frames["audio"] >= 50, "echoed %s" % echoed)
        check("s1: aiortc decoded the echoed VP8 video (%d frames of %s)"
              % (frames["video"], frames["size"]),
              frames["video"] >= 20 and frames["size"] == (VIDEO_W, VIDEO_H), "echoed %s" % echoed)

        q = ng({"command": "query", "call-id": call})
        check_query("s1", q, fa, tb, ["audio", "video"])
        deleted(call, fa, "s1")
    finally:
        cleanup(call, fa)
        for t in tasks:
            t.cancel()
        try:
            await asyncio.wait_for(pc.close(), 5)
        except Exception:
            pass
        if trunk is not None:
            trunk.stop()


def deleted(call, fa, label):
    """delete -> ok, and the call is gone (query -> error)."""
    r = ng({"command": "delete", "call-id": call, "from-tag": fa})
    check("%s: ng delete -> ok" % label, r.get("result") == "ok", str(r))
    q = ng({"command": "query", "call-id": call})
    check("%s: after delete, query -> error" % label, q.get("result") == "error",
          str(q.get("result")))


def cleanup(call, fa, endpoints=()):
    """At the end of a scenario: no call left behind (best effort, when it stopped early),
    the endpoints closed."""
    ng({"command": "delete", "call-id": call, "from-tag": fa}, timeout=1.0)
    for e in endpoints:
        e.close()


def stream_in(media):
    try:
        return media["streams"][0]["stats"]["rtp packets in"]
    except (KeyError, IndexError, TypeError):
        return -1


def check_query(label, q, fa, tb, kinds):
    if not check("%s: ng query -> ok" % label, q.get("result") == "ok",
                 str(q.get("error-reason"))):
        return
    tags = q.get("tags", {})
    for tag, side in ((fa, "A"), (tb, "B")):
        medias = tags.get(tag, {}).get("medias", [])
        shape = [(m.get("index"), m.get("type")) for m in medias]
        check("%s: query: tag %s has %d medias %s" % (label, side, len(kinds),
                                                        list(enumerate(kinds, 1))),
              shape == list(enumerate(kinds, 1)) and all(m.get("protocol") for m in medias),
              str([(m.get("index"), m.get("type"), m.get("protocol")) for m in medias]))
        counts = [stream_in(m) for m in medias]
        check("%s: query: tag %s counts RTP in on every media" % (label, side),
              len(counts) == len(kinds) and all(c > 0 for c in counts), str(counts))


# ---- 2: plain <-> plain with audio, video and a data channel line ----

def exchange(label, src, dst_port_of, dst, kinds, pts, rtcp=True):
    """RTP (and with rtcp an RTCP SR, to port + 1) from each src[i] to the gateway port
    dst_port_of[i]: each must arrive on dst[i] (payload, PT intact) and on no other socket
    of dst. Returns ok."""
    if 0 in dst_port_of:
        return check("%s: the gateway has a port for every stream" % label, False,
                     str(dst_port_of))
    sent = {}
    ssrcs = [random.getrandbits(32) for _ in src]
    for i, e in enumerate(src):
        sent[i] = []
        seq = random.getrandbits(16)
        for n in range(5):
            payload = ("%s %s packet %d " % (label, kinds[i], n)).encode() * 4
            e.rtp.sendto(rtp(pts[i], seq + n, 1000 * n, ssrcs[i], payload),
                         (LOOPBACK, dst_port_of[i]))
            sent[i].append(payload)
        if rtcp:
            e.rtcp.sendto(sender_report(ssrcs[i], "%s-%s" % (label, kinds[i])),
                          (LOOPBACK, dst_port_of[i] + 1))
    socks = [s for e in dst for s in (e.rtp, e.rtcp)]
    got = collect(socks, 3, lambda g: all(len(g[e.rtp]) >= 5 and
                                          (len(g[e.rtcp]) >= 1 or not rtcp) for e in dst))
    good = True
    for i, e in enumerate(dst):
        pk = [d for d in got[e.rtp] if is_rtp(d)]
        payloads = [rtp_payload(d) for d in pk]
        good &= check("%s: %s RTP arrives on the %s socket only, PT %d and payload intact"
                      % (label, kinds[i], kinds[i], pts[i]),
                      sorted(payloads) == sorted(sent[i]) and
                      all(rtp_pt(d) == pts[i] for d in pk) and len(got[e.rtp]) == len(pk),
                      "got %d packets, PTs %s, %d payloads match"
                      % (len(got[e.rtp]), sorted({rtp_pt(d) for d in pk}),
                         sum(1 for p in payloads if p in sent[i])))
        rc = [d for d in got[e.rtcp] if is_rtcp(d)]
        if not rtcp:
            good &= check("%s: nothing arrives on the %s RTCP socket" % (label, kinds[i]),
                          not got[e.rtcp], "%d datagrams" % len(got[e.rtcp]))
            continue
        good &= check("%s: %s RTCP arrives on the %s RTCP socket (port + 1) only"
                      % (label, kinds[i], kinds[i]),
                      len(rc) >= 1 and all(rtcp_ssrc(d) == ssrcs[i] for d in rc),
                      "got %s" % [hex(rtcp_ssrc(d)) for d in rc])
    return good


def scenario_plain_three_lines():
    call, fa, tb = new_call("video-plain")
    a, b = av_endpoints()
    try:
        dc = ("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
              "a=sctp-port:5000\r\na=max-message-size:262144\r\n")
        a_streams = [(KINDS[i], a[i].port, PTS[i], CODECS[i]) for i in (0, 1)]
        b_streams = [(KINDS[i], b[i].port, PTS[i], CODECS[i]) for i in (0, 1)]
        a_sess, b_sess = random.randrange(1, 1 << 30), random.randrange(1, 1 << 30)
        to_b = offer("s2: ng offer (audio, video, application) -> ok", call, fa,
                     plain_sdp("a", a_streams, dc, a_sess), "s2_offer", PLAIN)
        if to_b is None:
            return
        sdp_b = ("s2: offer to B", to_b)
        ob = Sdp(to_b)
        kinds_b = [m.kind for m in ob.media]
        check("s2: offer to B keeps the three m-lines in order", kinds_b ==
              ["audio", "video", "application"], show(to_b), sdp=sdp_b)
        if len(ob.media) != 3:
            return
        check("s2: offer to B: audio and video active on distinct ports",
              ob.media[0].port != 0 and ob.media[1].port != 0 and
              ob.media[0].port != ob.media[1].port, show(to_b), sdp=sdp_b)
        check("s2: offer to B: the application m-line has port 0", ob.media[2].port == 0,
              ob.media[2].lines[0])
        check("s2: offer to B: c= 127.0.0.1, RTP/AVP, same PTs",
              all(ob.addr(m) == LOOPBACK for m in ob.media[:2]) and
              [m.proto for m in ob.media[:2]] == ["RTP/AVP", "RTP/AVP"] and
              [m.fmts for m in ob.media[:2]] == [["0"], ["96"]], show(to_b), sdp=sdp_b)
        dc0 = "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        to_a = answer("s2: ng answer -> ok", call, fa, tb,
                      plain_sdp("b", b_streams, dc0, b_sess), "s2_answer")
        if to_a is None:
            return
        sdp_a = ("s2: answer to A", to_a)
        aa = Sdp(to_a)
        if not check("s2: answer to A has the three m-lines, application with port 0",
                     [m.kind for m in aa.media] == ["audio", "video", "application"] and
                     aa.media[2].port == 0, show(to_a), sdp=sdp_a):
            return
        gw_a = [aa.media[0].port, aa.media[1].port]
        gw_b = [ob.media[0].port, ob.media[1].port]
        check("s2: answer to A: audio and video on distinct ports, not B's",
              0 not in gw_a and len(set(gw_a + gw_b)) == 4, "A %s B %s" % (gw_a, gw_b))
        exchange("s2 A->B", a, gw_a, b, KINDS, PTS)
        exchange("s2 B->A", b, gw_b, a, KINDS, PTS)
        q = ng({"command": "query", "call-id": call})
        check_query("s2", q, fa, tb, KINDS)

        # A re-offers with one more m-line (a second audio stream): the two streams keep
        # their ports on both sides, the new line becomes a third stream with a port of its
        # own on each side (the data channel stays refused), and media flows on all three.
        extra = Endpoint("a-extra")
        a.append(extra)  # closed with the others
        b_extra = Endpoint("b-extra")
        b.append(b_extra)
        new_line = "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" % extra.port
        re_b = offer("s2 re-offer: ng offer with an added m-line -> ok", call, fa,
                     plain_sdp("a", a_streams, dc + new_line, a_sess, 2), "s2_reoffer", PLAIN)
        if re_b is None:
            return
        rb = Sdp(re_b)
        ports_b = [m.port for m in rb.media]
        if not check("s2 re-offer: offer to B keeps the streams' ports, port 0 on the data "
                     "channel, a new port for the added line",
                     len(ports_b) == 4 and ports_b[:3] == gw_b + [0] and
                     ports_b[3] not in (0, *gw_b, *gw_a), show(re_b),
                     sdp=("s2: re-offer to B", re_b)):
            return
        new_b_line = "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" % b_extra.port
        re_a = answer("s2 re-offer: ng answer -> ok", call, fa, tb,
                      plain_sdp("b", b_streams, dc0 + new_b_line, b_sess, 2), "s2_reanswer")
        if re_a is None:
            return
        ports_a = [m.port for m in Sdp(re_a).media]
        if not check("s2 re-offer: answer to A keeps the streams' ports, port 0 on the data "
                     "channel, a new port for the added stream",
                     len(ports_a) == 4 and ports_a[:3] == gw_a + [0] and
                     ports_a[3] not in (0, *gw_a, *gw_b, ports_b[3]), show(re_a),
                     sdp=("s2: re-answer to A", re_a)):
            return
        kinds3, pts3 = KINDS + ["audio"], PTS + [0]
        exchange("s2 after the re-offer, A->B", a, gw_a + [ports_a[3]], b, kinds3, pts3)
        exchange("s2 after the re-offer, B->A", b, gw_b + [ports_b[3]], a, kinds3, pts3)
        q = ng({"command": "query", "call-id": call})
        medias = q.get("tags", {}).get(fa, {}).get("medias", [])
        check("s2 re-offer: query lists three medias for A, the added one as index 4",
              [m.get("index") for m in medias] == [1, 2, 4], str(medias))
        deleted(call, fa, "s2")
    finally:
        cleanup(call, fa, a + b)


# ---- 4: the cap, four streams a call ----

def scenario_cap():
    call, fa, tb = new_call("video-cap")
    names = ["stream %d" % i for i in range(1, 5)]
    a = [Endpoint("a%d" % i) for i in range(5)]  # the fifth m-line must be refused
    b = [Endpoint("b%d" % i) for i in range(4)]
    try:
        to_b = offer("s4: ng offer with five audio m-lines -> ok", call, fa,
                     plain_sdp("a", [("audio", e.port, 0, "PCMU/8000") for e in a]), "s4_offer",
                     PLAIN)
        if to_b is None:
            return
        gw_b = [m.port for m in Sdp(to_b).media]
        if not check("s4: offer to B: four distinct ports, the fifth m-line port 0",
                     len(gw_b) == 5 and 0 not in gw_b[:4] and len(set(gw_b[:4])) == 4 and
                     gw_b[4] == 0, show(to_b), sdp=("s4: offer to B", to_b)):
            return
        to_a = answer("s4: ng answer -> ok", call, fa, tb,
                      plain_sdp("b", [("audio", e.port, 0, "PCMU/8000") for e in b],
                                "m=audio 0 RTP/AVP 0\r\n"), "s4_answer")
        if to_a is None:
            return
        gw_a = [m.port for m in Sdp(to_a).media]
        if not check("s4: answer to A: four distinct ports, the fifth m-line port 0",
                     len(gw_a) == 5 and 0 not in gw_a[:4] and
                     len(set(gw_a[:4] + gw_b[:4])) == 8 and gw_a[4] == 0, show(to_a),
                     sdp=("s4: answer to A", to_a)):
            return
        exchange("s4 A->B", a[:4], gw_a[:4], b, names, [0] * 4, rtcp=False)
        exchange("s4 B->A", b, gw_b[:4], a[:4], names, [0] * 4, rtcp=False)
        check_query("s4", ng({"command": "query", "call-id": call}), fa, tb, ["audio"] * 4)
        deleted(call, fa, "s4")
    finally:
        cleanup(call, fa, a + b)


# ---- 3: plain A <-> SDES B, two streams ----

SUITES = {"AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
          "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32}


def cryptos(m):
    """[(tag, suite, key+salt bytes)] of an m-line's a=crypto lines."""
    out = []
    for v in m.attr("crypto"):
        f = v.split()
        if len(f) < 3 or not f[2].startswith("inline:"):
            continue
        key = f[2][len("inline:"):].split("|")[0]
        try:
            out.append((f[0], f[1], base64.b64decode(key + "=" * (-len(key) % 4))))
        except ValueError:
            pass
    return out


def srtp_session(keysalt, suite, outbound):
    pol = pylibsrtp.Policy(key=keysalt, srtp_profile=SUITES[suite],
                           ssrc_type=(pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound
                                      else pylibsrtp.Policy.SSRC_ANY_INBOUND))
    return pylibsrtp.Session(pol)


def two_streams(sdp, proto):
    """Whether Sdp sdp has an audio and a video m-line, both proto, on distinct ports (not
    0)."""
    return ([m.kind for m in sdp.media] == KINDS and
            all(m.proto == proto and m.port != 0 for m in sdp.media) and
            sdp.media[0].port != sdp.media[1].port)


def unprotects(keysalt, suite, data):
    try:
        return srtp_session(keysalt, suite, False).unprotect(data)
    except pylibsrtp.Error:
        return None


def scenario_sdes_two_streams():
    call, fa, tb = new_call("video-sdes")
    a, b = av_endpoints()
    try:
        offer_a = plain_sdp("a", [(KINDS[i], a[i].port, PTS[i], CODECS[i]) for i in (0, 1)])
        to_b = offer("s3: ng offer (RTP/SAVP towards B) -> ok", call, fa, offer_a, "s3_offer",
                     {"transport-protocol": "RTP/SAVP"})
        if to_b is None:
            return
        sdp_b = ("s3: offer to B", to_b)
        ob = Sdp(to_b)
        if not check("s3: offer to B has audio and video RTP/SAVP on distinct ports",
                     two_streams(ob, "RTP/SAVP"), show(to_b), sdp=sdp_b):
            return
        offered = [cryptos(m) for m in ob.media]
        keys = [{k for _, _, k in c} for c in offered]
        check("s3: every m-line towards B has its own a=crypto lines",
              all(offered) and all(m.has("crypto") for m in ob.media) and
              not ob.session_attr("crypto"), show(to_b), sdp=sdp_b)
        check("s3: no key is shared between the audio and the video m-line",
              keys[0] and keys[1] and not (keys[0] & keys[1]), "audio and video share a key")
        check("s3: no fingerprint, ICE or BUNDLE towards B",
              not any(ob.anywhere(p) for p in ("a=fingerprint", "a=ice-", "a=candidate",
                                                "a=group:BUNDLE")), show(to_b), sdp=sdp_b)
        pick = []
        for c in offered:
            usable = [x for x in c if x[1] in SUITES]
            pick.append(usable[0] if usable else None)
        if not check("s3: both m-lines offer an AES-CM suite libsrtp can check",
                     all(pick), str([[x[1] for x in c] for c in offered])):
            return
        # B answers each m-line with that suite's tag and a fresh key of its own.
        b_keys = [os.urandom(30) for _ in KINDS]
        lines = ["v=0", "o=b %d 1 IN IP4 127.0.0.1" % random.randrange(1, 1 << 30), "s=b",
                 "c=IN IP4 127.0.0.1", "t=0 0"]
        for i, m in enumerate(ob.media):
            lines += ["m=%s %d RTP/SAVP %d" % (KINDS[i], b[i].port, PTS[i]),
                      "a=rtpmap:%d %s" % (PTS[i], CODECS[i]),
                      "a=crypto:%s %s inline:%s" % (pick[i][0], pick[i][1],
                                                    base64.b64encode(b_keys[i]).decode()),
                      "a=sendrecv"]
            lines += ["a=mid:" + x for x in m.attr("mid")]
        to_a = answer("s3: ng answer -> ok", call, fa, tb, sdp_text(lines), "s3_answer")
        if to_a is None:
            return
        sdp_a = ("s3: answer to A", to_a)
        aa = Sdp(to_a)
        if not check("s3: answer to A is plain RTP/AVP, two ports, no crypto",
                     two_streams(aa, "RTP/AVP") and not aa.anywhere("a=crypto"),
                     show(to_a), sdp=sdp_a):
            return
        gw_a = [m.port for m in aa.media]
        gw_b = [m.port for m in ob.media]

        # A -> B: plain in, SRTP out, each stream with its own key.
        ssrc_a = [random.getrandbits(32) for _ in KINDS]
        sent = [[], []]
        for i in (0, 1):
            for n in range(5):
                payload = ("s3 A->B %s %d " % (KINDS[i], n)).encode() * 5
                a[i].rtp.sendto(rtp(PTS[i], 100 + n, 160 * n, ssrc_a[i], payload),
                                (LOOPBACK, gw_a[i]))
                sent[i].append(payload)
        got = collect([e.rtp for e in b], 3, lambda g: all(len(g[e.rtp]) >= 5 for e in b))
        for i in (0, 1):
            other = 1 - i
            pk = got[b[i].rtp]
            clear = []
            for d in pk:
                sess = srtp_session(pick[i][2], pick[i][1], False)
                try:
                    clear.append(sess.unprotect(d))
                except pylibsrtp.Error:
                    pass
            check("s3 A->B: the %s socket decrypts all 5 packets with the %s m-line's key, "
                  "payload and PT intact" % (KINDS[i], KINDS[i]),
                  len(pk) == 5 and len(clear) == 5 and
                  sorted(rtp_payload(c) for c in clear) == sorted(sent[i]) and
                  all(rtp_pt(c) == PTS[i] for c in clear),
                  "got %d packets, %d decrypt" % (len(pk), len(clear)))
            check("s3 A->B: the %s packets do not decrypt with the %s m-line's key"
                  % (KINDS[i], KINDS[other]),
                  pk and all(unprotects(pick[other][2], pick[other][1], d) is None for d in pk))

        # B -> A: SRTP with B's own key per m-line, plain at A.
        sent = [[], []]
        for i in (0, 1):
            sess = srtp_session(b_keys[i], pick[i][1], True)
            ssrc = random.getrandbits(32)
            for n in range(5):
                payload = ("s3 B->A %s %d " % (KINDS[i], n)).encode() * 5
                b[i].rtp.sendto(sess.protect(rtp(PTS[i], 200 + n, 160 * n, ssrc, payload)),
                                (LOOPBACK, gw_b[i]))
                sent[i].append(payload)
        got = collect([e.rtp for e in a], 3, lambda g: all(len(g[e.rtp]) >= 5 for e in a))
        for i in (0, 1):
            pk = [d for d in got[a[i].rtp] if is_rtp(d)]
            check("s3 B->A: B's SRTP (its own %s key) arrives at A's %s socket as plain RTP, "
                  "payload and PT intact" % (KINDS[i], KINDS[i]),
                  len(pk) == 5 and sorted(rtp_payload(d) for d in pk) == sorted(sent[i]) and
                  all(rtp_pt(d) == PTS[i] for d in pk),
                  "got %d packets, PTs %s" % (len(got[a[i].rtp]),
                                              sorted({rtp_pt(d) for d in pk})))
        q = ng({"command": "query", "call-id": call})
        st = q.get("tags", {}).get(tb, {}).get("medias", [])
        errs = [m.get("streams", [{}])[0].get("stats", {}).get("auth failures", -1) for m in st]
        check("s3: query: B's two medias count no authentication failures",
              len(errs) == 2 and errs == [0, 0], str(errs))
        deleted(call, fa, "s3")
    finally:
        cleanup(call, fa, a + b)


def main():
    if not check("dsrtpd answers ping", ng({"command": "ping"}).get("result") == "pong"):
        return
    run("scenario 1 (aiortc audio+video bundled -> plain trunk)",
        lambda: asyncio.run(asyncio.wait_for(scenario_aiortc(), 40)))
    run("scenario 2 (plain <-> plain, audio + video + data channel line)",
        scenario_plain_three_lines)
    run("scenario 3 (plain <-> SDES, audio + video)", scenario_sdes_two_streams)
    run("scenario 4 (five m-lines: four streams relayed, the fifth refused)", scenario_cap)


if __name__ == "__main__":
    main()
    sys.exit(summary("# dsrtpd_video.py: "))
