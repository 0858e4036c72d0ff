#!/usr/bin/python3
"""A plain-RTP trunk that echoes every stream back, for tests/cli/test_browser_video.sh.

  rtp_echo.py --bind ADDR --stream NAME:PORT:SSRC [--stream ...] --out FILE [--seconds S]

Each --stream binds PORT (RTP) and PORT+1 (RTCP, as a trunk without rtcp-mux has it) on
ADDR. Every RTP packet goes back to the address it came from, unchanged except its SSRC,
which becomes that stream's SSRC (a WebRTC endpoint drops RTP that carries one of its own
SSRCs as if it had looped). RTCP is echoed too, to where it came from, with the SSRC fields
swapped: the stream's last seen RTP SSRC (the far end's sender) becomes the echo's SSRC and
the echo's becomes the sender's. That keeps the loop consistent: a PLI or NACK the far
end's receiver sends about the echoed stream comes back to its own sender about its own
stream, so a lost key frame or packet is sent again and echoed again (video recovers the
way it does in a real call), and its SRs come back as the echo stream's SRs (the same RTP
timestamps as the echoed media). RTCP is recognised by its packet type (200..207, RFC 5761)
on either port; such a packet that arrives on the RTP port is counted apart.

Runs until SIGTERM/SIGINT (or --seconds), then writes one JSON object to --out: per
stream the RTP packet count, the payload types seen, the SSRCs seen, the source addresses
of RTP and RTCP, the RTCP packet counts (and the RTCP packet types seen) and how many were
echoed. Prints "ready" on stdout once every socket is bound."""
import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time


class Stream:
    def __init__(self, name, port, ssrc, bind):
        self.name, self.port, self.ssrc = name, port, ssrc
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((bind, port))
        self.rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtcp.bind((bind, port + 1))
        self.peer_ssrc = None  # the last RTP SSRC received: the far end's sender
        self.rtp_packets = 0
        self.pts = {}
        self.ssrcs = set()
        self.rtp_from = set()
        self.rtcp_from = set()
        self.rtcp_packets = 0
        self.rtcp_on_rtp_port = 0
        self.rtcp_types = set()
        self.rtcp_echoed = 0
        self.other = 0  # neither RTP nor RTCP (too short, not version 2)

    def swap(self, v):
        if self.peer_ssrc is not None and v == self.peer_ssrc:
            return self.ssrc
        if self.peer_ssrc is not None and v == self.ssrc:
            return self.peer_ssrc
        return v

    def report(self):
        return {
            "port": self.port, "ssrc": self.ssrc, "rtp_packets": self.rtp_packets,
            "pts": sorted(self.pts), "pt_counts": {str(k): v for k, v in sorted(self.pts.items())},
            "ssrcs": sorted(self.ssrcs), "rtp_from": sorted(self.rtp_from),
            "rtcp_packets": self.rtcp_packets, "rtcp_on_rtp_port": self.rtcp_on_rtp_port,
            "rtcp_types": sorted(self.rtcp_types), "rtcp_from": sorted(self.rtcp_from),
            "rtcp_echoed": self.rtcp_echoed, "other": self.other,
        }


def is_rtcp(data):
    return len(data) >= 8 and data[0] >> 6 == 2 and 200 <= data[1] <= 207


def rewrite_rtcp(st, data):
    """The compound RTCP packet with every SSRC field it names passed through st.swap;
    None when it does not parse."""
    b = bytearray(data)

    def sw(off):
        if off + 4 <= end:
            v = struct.unpack_from("!I", b, off)[0]
            struct.pack_into("!I", b, off, st.swap(v))

    off = 0
    while off + 4 <= len(b):
        if b[off] >> 6 != 2:
            return None
        count, pt = b[off] & 0x1F, b[off + 1]
        end = off + 4 * (struct.unpack_from("!H", b, off + 2)[0] + 1)
        if end > len(b):
            return None
        st.rtcp_types.add(pt)
        if pt in (200, 201):  # SR, RR: sender SSRC, then report blocks
            sw(off + 4)
            first = off + (28 if pt == 200 else 8)
            for i in range(count):
                sw(first + 24 * i)
        elif pt == 202:  # SDES: chunks of SSRC + items up to a null, padded to 32 bits
            p = off + 4
            for _ in range(count):
                if p + 4 > end:
                    break
                sw(p)
                p += 4
                while p < end and b[p] != 0:
                    p += 2 + (b[p + 1] if p + 1 < end else 0)
                p = (p + 4) & ~3  # the null item, then padding
        elif pt == 203:  # BYE: a list of SSRCs
            for i in range(count):
                sw(off + 4 + 4 * i)
        elif pt in (205, 206):  # RTPFB, PSFB: sender and media SSRC
            sw(off + 4)
            sw(off + 8)
            if pt == 206 and count == 4:  # FIR: FCI entries of SSRC + seq + reserved
                for p in range(off + 12, end, 8):
                    sw(p)
        elif pt == 207:  # XR: the sender SSRC (its blocks name no media SSRC we swap)
            sw(off + 4)
        off = end
    return bytes(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--stream", action="append", required=True, help="NAME:PORT:SSRC")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=120)
    a = ap.parse_args()
    streams = []
    for s in a.stream:
        name, port, ssrc = s.split(":")
        streams.append(Stream(name, int(port), int(ssrc, 0), a.bind))
    socks = {}
    for st in streams:
        socks[st.rtp.fileno()] = (st, st.rtp, False)
        socks[st.rtcp.fileno()] = (st, st.rtcp, True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)
    until = time.monotonic() + a.seconds
    while not stop and time.monotonic() < until:
        try:
            ready, _, _ = select.select(list(socks), [], [], 0.2)
        except InterruptedError:
            continue
        for fd in ready:
            st, sock, rtcp_port = socks[fd]
            try:
                data, src = sock.recvfrom(65536)
            except OSError:
                continue
            where = "%s:%d" % src
            if is_rtcp(data):
                st.rtcp_packets += 1
                st.rtcp_from.add(where)
                if not rtcp_port:
                    st.rtcp_on_rtp_port += 1
                out = rewrite_rtcp(st, data)
                if out is not None:
                    try:
                        sock.sendto(out, src)
                        st.rtcp_echoed += 1
                    except OSError:
                        pass
            elif len(data) >= 12 and data[0] >> 6 == 2 and not rtcp_port:
                st.rtp_packets += 1
                pt = data[1] & 0x7F
                st.pts[pt] = st.pts.get(pt, 0) + 1
                ssrc = struct.unpack_from("!I", data, 8)[0]
                st.ssrcs.add(ssrc)
                st.peer_ssrc = ssrc
                st.rtp_from.add(where)
                try:
                    sock.sendto(data[:8] + struct.pack("!I", st.ssrc) + data[12:], src)
                except OSError:
                    pass
            else:
                st.other += 1
    rep = {st.name: st.report() for st in streams}
    with open(a.out + ".tmp", "w") as f:
        json.dump(rep, f)
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
