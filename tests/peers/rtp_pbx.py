#!/usr/bin/python3
"""A minimal plain-RTP trunk endpoint for the dsrtpd tests (standard library only), without
rtcp-mux: RTP on an even port P, RTCP on P+1, the way a SIP trunk or PBX does it.

  rtp_pbx.py --role offer|answer --local-sdp F --remote-sdp F --duration S
             [--rtcp-attr] [--timeout S]

It binds 127.0.0.1:P and P+1, writes its SDP (RTP/AVP, PCMU, no a=rtcp-mux; with
--rtcp-attr an explicit a=rtcp:P+1) to --local-sdp (as offerer at once, as answerer once
the offer is there), waits for --remote-sdp, then for --duration seconds sends PCMU every
20 ms from P to the remote's RTP address and an RTCP sender report every 250 ms from P+1 to
the remote's RTCP address (a=rtcp, else RTP port + 1). It counts what arrives: RTP on P,
RTCP on P+1 (and from which port), RTCP wrongly on P. Prints one JSON line; exit 0."""
import argparse
import json
import os
import random
import select
import struct
import sys
import time

from gwtest import bind_pair, rtp as rtp_packet, write_atomic


def wait_text(path, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
        time.sleep(0.05)
    raise SystemExit("no remote SDP in %s" % path)


def our_sdp(port, rtcp_attr):
    lines = [
        "v=0",
        "o=pbx %d 1 IN IP4 127.0.0.1" % random.randrange(1, 1 << 30),
        "s=pbx",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio %d RTP/AVP 0" % port,
        "a=rtpmap:0 PCMU/8000",
        "a=sendrecv",
    ]
    if rtcp_attr:
        lines.append("a=rtcp:%d IN IP4 127.0.0.1" % (port + 1))
    return "\r\n".join(lines) + "\r\n"


def remote_addrs(text):
    """(RTP address, RTCP address, offered rtcp-mux) of the first m-line."""
    ip, port, rtcp, mux = None, None, None, False
    in_media = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if in_media:
                break
            in_media = True
            port = int(line.split()[1])
        elif line.startswith("c=") and (ip is None or in_media):
            ip = line.split()[2].split("/")[0]
        elif in_media and line.startswith("a=rtcp:"):
            parts = line[7:].split()
            rtcp_ip = parts[3] if len(parts) >= 4 else None
            rtcp = (rtcp_ip, int(parts[0]))
        elif in_media and line == "a=rtcp-mux":
            mux = True
    if ip is None or port is None:
        raise SystemExit("remote SDP has no address")
    if rtcp is None:
        rtcp = (ip, port + 1)
    elif rtcp[0] is None:
        rtcp = (ip, rtcp[1])
    return (ip, port), rtcp, mux


def sender_report(ssrc, rtp_ts, packets, octets):
    now = time.time() + 2208988800
    secs = int(now)
    frac = int((now - secs) * (1 << 32)) & 0xFFFFFFFF
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, secs & 0xFFFFFFFF, frac,
                       rtp_ts & 0xFFFFFFFF, packets, octets)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["offer", "answer"], required=True)
    ap.add_argument("--local-sdp", required=True)
    ap.add_argument("--remote-sdp", required=True)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--rtcp-attr", action="store_true")
    ap.add_argument("--timeout", type=float, default=20.0)
    a = ap.parse_args()

    rtp, rtcp = bind_pair()
    port = rtp.getsockname()[1]
    if a.role == "offer":
        write_atomic(a.local_sdp, our_sdp(port, a.rtcp_attr))
        remote = wait_text(a.remote_sdp, a.timeout)
    else:
        remote = wait_text(a.remote_sdp, a.timeout)
        write_atomic(a.local_sdp, our_sdp(port, a.rtcp_attr))
    rtp_to, rtcp_to, offered_mux = remote_addrs(remote)

    st = {"port": port, "remote_rtp": "%s:%d" % rtp_to, "remote_rtcp": "%s:%d" % rtcp_to,
          "remote_offered_mux": offered_mux, "rtp_sent": 0, "rtp_received": 0,
          "rtcp_sent": 0, "rtcp_received": 0, "rtcp_sr_received": 0, "rtcp_sources": [],
          "rtcp_on_rtp_port": 0, "rtp_on_rtcp_port": 0}
    ssrc = random.getrandbits(32)
    seq = random.getrandbits(16)
    ts = random.getrandbits(32)
    octets = 0
    start = time.monotonic()
    end = start + a.duration
    next_rtp = start
    next_sr = start + 0.1
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_rtp:
            payload = bytes([0xFF]) * 160
            pkt = rtp_packet(0, seq, ts, ssrc, payload)
            try:
                rtp.sendto(pkt, rtp_to)
                st["rtp_sent"] += 1
                octets += len(payload)
            except OSError:
                pass
            seq += 1
            ts += 160
            next_rtp += 0.02
        if now >= next_sr:
            try:
                rtcp.sendto(sender_report(ssrc, ts, st["rtp_sent"], octets), rtcp_to)
                st["rtcp_sent"] += 1
            except OSError:
                pass
            next_sr += 0.25
        wait = max(0.0, min(next_rtp, next_sr, end) - time.monotonic())
        ready, _, _ = select.select([rtp, rtcp], [], [], wait)
        for s in ready:
            try:
                data, src = s.recvfrom(4096)
            except OSError:
                continue
            if len(data) < 8 or data[0] >> 6 != 2:
                continue
            is_rtcp = 192 <= data[1] <= 223
            if s is rtp:
                if is_rtcp:
                    st["rtcp_on_rtp_port"] += 1
                else:
                    st["rtp_received"] += 1
            else:
                if not is_rtcp:
                    st["rtp_on_rtcp_port"] += 1
                    continue
                st["rtcp_received"] += 1
                if data[1] == 200:
                    st["rtcp_sr_received"] += 1
                source = "%s:%d" % src
                if source not in st["rtcp_sources"]:
                    st["rtcp_sources"].append(source)
    print(json.dumps(st, sort_keys=True))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
