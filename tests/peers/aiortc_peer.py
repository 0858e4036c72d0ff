#!/usr/bin/python3
"""An aiortc endpoint that trades SDP through files the way `dsrtp peer` does.

    /usr/bin/python3 aiortc_peer.py --role offer|answer --local-sdp FILE --remote-sdp FILE
                                    --duration SECONDS [--send tone|silence]
                                    [--codecs pcmu|default] [--trace]

It writes its own description to --local-sdp (to a temporary name first, then renamed),
waits for --remote-sdp to appear, offers or answers one PCMU audio stream, sends audio
for the duration once DTLS is up, counts what arrives, and prints one JSON line:

    {"role", "profile", "dtls_state_was_connected", "dtls_state", "dtls_role", "ice_role",
     "packets_sent", "packets_received", "frames_received", "sender_reports_seen", "ok",
     "reason"}

profile is the SRTP protection profile OpenSSL negotiated inside aiortc's DTLS transport
(for example SRTP_AES128_CM_SHA1_80). Exit status 0 only if DTLS connected and RTP flowed
both ways.

Loopback only: aioice never gathers 127.0.0.1 by itself, so its host-address lookup is
replaced to give exactly that address, no STUN server is configured, and remote
candidates that are not loopback (or are mDNS .local names) are dropped before aiortc
sees them. Debian's aiortc lives under /usr/bin/python3 only.
"""

import argparse
import asyncio
import fractions
import json
import math
import os
import sys
import time

import aioice.ice

LOOPBACK = "127.0.0.1"


def _loopback_addresses(use_ipv4=True, use_ipv6=False):
    return [LOOPBACK] if use_ipv4 else []


# aioice looks the function up as a module global on every gathering.
aioice.ice.get_host_addresses = _loopback_addresses

import av  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError  # noqa: E402

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms
STARTED = time.monotonic()
TRACE = False


def trace(msg):
    if TRACE:
        ms = (time.monotonic() - STARTED) * 1000.0
        print(f"[aiortc {ms:7.1f} ms] {msg}", file=sys.stderr, flush=True)


class ToneTrack(MediaStreamTrack):
    """Mono 8 kHz audio in 20 ms frames: a 440 Hz tone, or silence."""

    kind = "audio"

    def __init__(self, tone=True):
        super().__init__()
        self._tone = tone
        self._pts = 0
        self._start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            due = self._start + self._pts / SAMPLE_RATE
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        samples = bytearray()
        for i in range(FRAME_SAMPLES):
            v = 0
            if self._tone:
                v = int(8000 * math.sin(2 * math.pi * 440 * (self._pts + i) / SAMPLE_RATE))
            samples += v.to_bytes(2, "little", signed=True)
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(bytes(samples))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += FRAME_SAMPLES
        return frame


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="ascii", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


async def wait_for_file(path, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(path, "r", encoding="ascii", newline="") as f:
                return f.read()
        except FileNotFoundError:
            await asyncio.sleep(0.02)
    raise TimeoutError(f"{path} did not appear in {seconds} s")


def loopback_only(sdp):
    """Drops every a=candidate line that is not a 127.0.0.0/8 address (or is .local)."""
    kept = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            addr = fields[4] if len(fields) > 4 else ""
            if addr.endswith(".local") or not addr.startswith("127."):
                trace(f"dropping remote candidate {addr}")
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n"


def pcmu_only(transceiver):
    codecs = [
        c
        for c in RTCRtpSender.getCapabilities("audio").codecs
        if c.mimeType.lower() == "audio/pcmu"
    ]
    transceiver.setCodecPreferences(codecs)


def srtp_profile_name(dtls):
    """The profile OpenSSL selected through use_srtp, read from aiortc's SSL connection."""
    try:
        from OpenSSL._util import ffi, lib

        ssl = getattr(dtls, "ssl", None)
        if ssl is None:
            return "NONE"
        prof = lib.SSL_get_selected_srtp_profile(ssl._ssl)
        if prof == ffi.NULL:
            return "NONE"
        return ffi.string(prof.name).decode("ascii")
    except Exception as exc:  # internals moved: say so instead of guessing
        return f"unknown ({exc.__class__.__name__})"


async def run(args):
    result = {
        "role": args.role,
        "profile": "NONE",
        "dtls_state_was_connected": False,
        "dtls_state": "new",
        "dtls_role": "",
        "ice_role": "",
        "packets_sent": 0,
        "packets_received": 0,
        "frames_received": 0,
        "sender_reports_seen": False,
        "ok": False,
        "reason": "",
    }
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = ToneTrack(tone=args.send == "tone")
    connected = asyncio.Event()
    frames = {"n": 0}

    def watch_dtls(dtls):
        @dtls.on("statechange")
        def on_dtls_state():
            trace(f"DTLS {dtls.state} (role {dtls._role})")
            result["dtls_state"] = dtls.state
            if dtls.state == "connected":
                result["dtls_state_was_connected"] = True
                result["profile"] = srtp_profile_name(dtls)
                result["dtls_role"] = dtls._role
                connected.set()
            elif dtls.state in ("failed", "closed"):
                connected.set()

    @pc.on("track")
    def on_track(remote):
        trace(f"remote track {remote.kind}")

        async def drain():
            while True:
                try:
                    await remote.recv()
                except MediaStreamError:
                    return
                frames["n"] += 1

        asyncio.ensure_future(drain())

    @pc.on("iceconnectionstatechange")
    def on_ice_state():
        trace(f"ICE {pc.iceConnectionState}")

    if args.role == "offer":
        transceiver = pc.addTransceiver(track, direction="sendrecv")
        if args.codecs == "pcmu":
            pcmu_only(transceiver)
        watch_dtls(transceiver.sender.transport)
        await pc.setLocalDescription(await pc.createOffer())
        write_atomic(args.local_sdp, pc.localDescription.sdp)
        trace(f"offer written to {args.local_sdp}")
        remote = await wait_for_file(args.remote_sdp, args.wait)
        trace("answer read")
        await pc.setRemoteDescription(RTCSessionDescription(loopback_only(remote), "answer"))
    else:
        remote = await wait_for_file(args.remote_sdp, args.wait)
        trace("offer read")
        await pc.setRemoteDescription(RTCSessionDescription(loopback_only(remote), "offer"))
        transceiver = pc.getTransceivers()[0]
        if args.codecs == "pcmu":
            pcmu_only(transceiver)
        pc.addTrack(track)
        transceiver.direction = "sendrecv"
        watch_dtls(transceiver.sender.transport)
        await pc.setLocalDescription(await pc.createAnswer())
        write_atomic(args.local_sdp, pc.localDescription.sdp)
        trace(f"answer written to {args.local_sdp}")

    dtls = transceiver.sender.transport
    ice = dtls.transport
    try:
        await asyncio.wait_for(connected.wait(), timeout=args.connect_timeout)
    except asyncio.TimeoutError:
        result["reason"] = f"DTLS not connected after {args.connect_timeout} s"
    result["ice_role"] = ice.role
    if result["dtls_state_was_connected"]:
        await asyncio.sleep(args.duration)

    # The counters, read while our side is still open.
    stats = await pc.getStats()
    for s in stats.values():
        if s.type == "outbound-rtp":
            result["packets_sent"] += s.packetsSent
        elif s.type == "inbound-rtp":
            result["packets_received"] += s.packetsReceived
        elif s.type == "remote-outbound-rtp":
            result["sender_reports_seen"] = True  # built from the peer's RTCP SR
    result["frames_received"] = frames["n"]
    if not result["reason"]:
        if not result["dtls_state_was_connected"]:
            result["reason"] = f"DTLS {dtls.state}"
        elif result["packets_received"] == 0:
            result["reason"] = "no RTP received"
        elif result["packets_sent"] == 0:
            result["reason"] = "no RTP sent"
    result["ok"] = (
        result["dtls_state_was_connected"]
        and result["packets_received"] > 0
        and result["packets_sent"] > 0
    )
    result["dtls_state"] = dtls.state
    await pc.close()
    return result


def main():
    global TRACE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=("offer", "answer"), required=True)
    ap.add_argument("--local-sdp", required=True)
    ap.add_argument("--remote-sdp", required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--send", choices=("tone", "silence"), default="tone")
    ap.add_argument("--codecs", choices=("pcmu", "default"), default="pcmu",
                    help="PCMU only, or aiortc's own list (opus, PCMU, PCMA)")
    ap.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the peer's SDP")
    ap.add_argument("--connect-timeout", type=float, default=15.0)
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    TRACE = args.trace
    try:
        result = asyncio.run(run(args))
    except Exception as exc:  # report, never hang or print a bare traceback only
        result = {"role": args.role, "profile": "NONE", "dtls_state_was_connected": False,
                  "packets_sent": 0, "packets_received": 0, "ok": False,
                  "reason": f"{exc.__class__.__name__}: {exc}"}
    print(json.dumps(result), flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
