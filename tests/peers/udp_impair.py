#!/usr/bin/python3
"""A bounded UDP impairment proxy between two media endpoints, with an optional injector
of hostile traffic. Standard library only; loopback addresses only.

    /usr/bin/python3 udp_impair.py --a-listen ADDR:PORT --a-peer ADDR:PORT
                                   --b-listen ADDR:PORT --b-peer ADDR:PORT
                                   [--loss PCT] [--dup PCT] [--reorder-ms N] [--seed N]
                                   [--max-seconds S] [--idle-exit S]
                                   [--inject a|b|both] [--flood-pps N]
                                   [--flood-kinds stun,client_hello,random]
                                   [--flood-from-start]
                                   [--inject-ufrag UFRAG | --inject-sdp FILE]
                                   [--status-file FILE] [--log FILE]

Topology: peer A is told (through its SDP) that the other end lives at --a-listen, and
peer B that it lives at --b-listen. What A sends to --a-listen leaves from the --b-listen
socket towards --b-peer, and the reverse, so each peer sees one stable remote address.
Datagrams reaching a listening socket from anywhere but the expected peer are counted
("stray") and dropped.

Impairment, applied independently to every datagram in both directions: drop with
probability --loss %, otherwise send it after a random extra delay of up to --reorder-ms
(so later datagrams can overtake it), and with probability --dup % send one more copy
with its own delay. Each direction has its own RNG, seeded from --seed, and the injector a
third: the n-th datagram A sends meets the same fate in every run with the same seed, as
long as the peers send the same datagrams in the same order.

Injector (--inject SIDE): once SRTP media towards SIDE has been seen, and for as long as
it keeps flowing, every 20 ms the proxy also sends SIDE one hostile copy made from the
SRTP/SRTCP packets it forwarded there, in turn: an exact replay of a recent packet, an
old packet from far back, a truncated copy, a copy with one bit flipped (never in the
first byte, so that it still demultiplexes as SRTP/SRTCP), a copy with the SSRC
rewritten. Every fourth copy is SRTCP. Half of them leave from the proxy's own socket
(the address the peer expects), half from extra sockets bound on 127.0.0.2..127.0.0.9.
Meanwhile, floods at --flood-pps from those extra sockets: STUN Binding requests with
wrong credentials (half of them carry the target's real ICE ufrag, from --inject-ufrag
or read from its SDP file --inject-sdp, so that only MESSAGE-INTEGRITY refuses them),
datagrams that look like DTLS ClientHellos (first byte 22) and random bytes. With
--flood-from-start the floods (not the copies) also run during keying: from the first
datagram the proxy forwards towards SIDE.

The proxy stops by itself: after --max-seconds in any case, after --idle-exit seconds
without a datagram from either peer once traffic has been seen, or on SIGTERM/SIGINT. It
then prints one JSON line of counts: per direction (received, dropped, forwarded,
duplicated, by kind), what was injected, by kind, the floods (and how many of them went
out before the target's first SRTP), and how many datagrams came back to the flooding
sockets. With --status-file the same JSON is rewritten there about once a second while
it runs; --log writes one line per datagram forwarded or dropped (for debugging).
"""

import argparse
import heapq
import hmac
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time
import zlib

LOOPBACK_EXTRAS = ["127.0.0.%d" % i for i in range(2, 10)]
STUN_COOKIE = 0x2112A442
HISTORY = 400  # SRTP packets remembered per direction for replays
INJECT_INTERVAL = 0.020
MEDIA_GAP = 1.0  # no media towards the target for this long: the call is over
COPY_KINDS = ["replay", "old", "truncated", "bitflip", "wrong_ssrc"]


def parse_addr(text):
    host, _, port = text.rpartition(":")
    if not host.startswith("127."):
        raise argparse.ArgumentTypeError("loopback (127.0.0.0/8) addresses only: " + text)
    return (host, int(port))


def kind_of(data):
    """RFC 7983 first-byte demultiplexing, with RTCP told apart under rtcp-mux."""
    if not data:
        return "other"
    b = data[0]
    if b <= 3:
        return "stun"
    if 20 <= b <= 63:
        return "dtls"
    if 128 <= b <= 191:
        if len(data) >= 2 and 192 <= data[1] <= 223:
            return "rtcp"
        return "rtp"
    return "other"


class Direction:
    """One way through the proxy: from a peer, via our socket `out`, to the other peer."""

    def __init__(self, name, out_sock, to_addr, rng):
        self.name = name
        self.rng = rng
        self.out = out_sock
        self.to = to_addr
        self.counts = {}
        self.history = {"rtp": [], "rtcp": []}
        self.last_media = None

    def count(self, what, kind, n=1):
        per = self.counts.setdefault(what, {})
        per[kind] = per.get(kind, 0) + n


class Proxy:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed * 3 + 2)  # the injector's
        self.start = time.monotonic()
        self.queue = []  # (when, seq, sock, data, addr, direction or None)
        self.seq = 0
        self.last_peer_traffic = None
        self.stray = 0
        self.stopping = False
        self.sa = self._bind(args.a_listen)
        self.sb = self._bind(args.b_listen)
        # A -> B leaves from the socket B talks to, and the reverse.
        self.dirs = {
            "a_to_b": Direction("a_to_b", self.sb, args.b_peer, random.Random(args.seed * 3)),
            "b_to_a": Direction("b_to_a", self.sa, args.a_peer, random.Random(args.seed * 3 + 1)),
        }
        self.targets = []
        if args.inject in ("a", "both"):
            self.targets.append(self.dirs["b_to_a"])
        if args.inject in ("b", "both"):
            self.targets.append(self.dirs["a_to_b"])
        self.extras = []
        if self.targets:
            for host in LOOPBACK_EXTRAS:
                try:
                    self.extras.append(self._bind((host, 0)))
                except OSError:
                    pass  # an address this host does not route: fewer spoofed sources
        self.injected = {k: {"rtp": 0, "rtcp": 0} for k in COPY_KINDS}
        self.injected_from_extra = 0
        self.flood = {"stun": 0, "client_hello": 0, "random": 0}
        self.flood_replies = 0
        self.flood_before_media = 0
        self.next_inject = None
        self.flood_credit = 0.0
        self.copy_turn = 0
        self.last_status = 0.0
        self.log = open(args.log, "w") if args.log else None

    def note(self, way, kind, fate, data):
        if self.log is not None:
            detail = ""
            if kind == "dtls" and len(data) >= 14:
                epoch = int.from_bytes(data[3:5], "big")
                hs = data[13] if epoch == 0 else -1
                detail = " type %d epoch %d hs %d" % (data[0], epoch, hs)
            line = "%.3f %s %s %d %s%s\n" % (self.now(), way, kind, len(data), fate, detail)
            self.log.write(line)

    @staticmethod
    def _bind(addr):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(addr)
        s.setblocking(False)
        return s

    def now(self):
        return time.monotonic() - self.start

    def schedule(self, delay, sock, data, addr, direction=None):
        self.seq += 1
        heapq.heappush(self.queue, (self.now() + delay, self.seq, sock, data, addr, direction))

    @staticmethod
    def send(sock, data, addr):
        try:
            sock.sendto(data, addr)
            return True
        except OSError:
            return False  # e.g. the peer already ended: the datagram is simply lost

    # ---- forwarding with impairment ----

    def on_datagram(self, d, data):
        kind = kind_of(data)
        d.count("received", kind)
        self.last_peer_traffic = self.now()
        if kind in ("rtp", "rtcp"):
            d.last_media = self.now()
        if d.rng.random() * 100.0 < self.args.loss:
            d.count("dropped", kind)
            self.note(d.name, kind, "dropped", data)
            return
        self.schedule(self._delay(d), d.out, data, d.to, d)
        if d.rng.random() * 100.0 < self.args.dup:
            d.count("duplicated", kind)
            self.schedule(self._delay(d), d.out, data, d.to, None)

    def _delay(self, d):
        if self.args.reorder_ms <= 0:
            return 0.0
        return d.rng.uniform(0.0, self.args.reorder_ms / 1000.0)

    def flush_due(self):
        now = self.now()
        while self.queue and self.queue[0][0] <= now:
            _, _, sock, data, addr, d = heapq.heappop(self.queue)
            if self.log is not None:
                self.note(d.name if d else "dup", kind_of(data), "sent", data)
            if self.send(sock, data, addr) and d is not None:
                kind = kind_of(data)
                d.count("forwarded", kind)
                if kind in d.history:
                    h = d.history[kind]
                    h.append(data)
                    if len(h) > HISTORY:
                        del h[0]

    # ---- hostile traffic ----

    def media_flowing(self, d):
        return d.last_media is not None and self.now() - d.last_media < MEDIA_GAP

    def inject_tick(self):
        for d in self.targets:
            during_media = len(d.history["rtp"]) >= 25 and self.media_flowing(d)
            early = self.args.flood_from_start and not d.history["rtp"] and d.counts
            if not during_media and not early:
                continue
            if during_media:
                self.inject_copy(d)
            self.flood_credit += self.args.flood_pps * INJECT_INTERVAL
            while self.flood_credit >= 1.0:
                self.flood_credit -= 1.0
                if self.flood_one(d) and not d.history["rtp"]:
                    self.flood_before_media += 1

    def inject_copy(self, d):
        what = COPY_KINDS[self.copy_turn % len(COPY_KINDS)]
        # Every fourth copy is SRTCP (when some was seen), the rest SRTP.
        kind = "rtcp" if self.copy_turn % 4 == 3 and d.history["rtcp"] else "rtp"
        self.copy_turn += 1
        h = d.history[kind]
        if what == "old":
            # Far behind the newest: either outside the 128-packet window or already seen.
            back = self.rng.randint(min(len(h), 40), len(h))
        else:
            back = self.rng.randint(1, min(len(h), 8))
        pkt = bytearray(h[-back])
        if what == "truncated":
            pkt = pkt[: self.rng.randint(1, len(pkt) - 1)]
        elif what == "bitflip":
            bit = self.rng.randrange(8, len(pkt) * 8)
            pkt[bit // 8] ^= 1 << (bit % 8)
        elif what == "wrong_ssrc":
            off = 4 if kind == "rtcp" else 8
            old = bytes(pkt[off : off + 4])
            new = old
            while new == old:
                new = self.rng.getrandbits(32).to_bytes(4, "big")
            pkt[off : off + 4] = new
        sock = d.out
        if self.extras and self.rng.random() < 0.5:
            sock = self.rng.choice(self.extras)
            self.injected_from_extra += 1
        if self.send(sock, bytes(pkt), d.to):
            self.injected[what][kind] += 1

    def flood_one(self, d):
        what = self.rng.choice(self.args.flood_kinds)
        sock = self.rng.choice(self.extras) if self.extras else d.out
        if what == "stun":
            data = self.bad_stun()
        elif what == "client_hello":
            data = self.client_hello()
        else:
            data = self.rng.randbytes(self.rng.randint(1, 1200))
        if self.send(sock, data, d.to):
            self.flood[what] += 1
            return True
        return False

    def target_ufrag(self):
        if not self.args.inject_ufrag and self.args.inject_sdp:
            try:
                with open(self.args.inject_sdp) as f:
                    for line in f:
                        if line.startswith("a=ice-ufrag:"):
                            self.args.inject_ufrag = line.strip().split(":", 1)[1]
            except OSError:
                pass
        return self.args.inject_ufrag

    def bad_stun(self):
        """A Binding request with USERNAME, MESSAGE-INTEGRITY under a wrong key, and a
        correct FINGERPRINT (RFC 8489 §14.5, §14.7), so that only the credentials fail."""
        if self.target_ufrag() and self.rng.random() < 0.5:
            user = self.target_ufrag() + ":" + "x%07d" % self.rng.randrange(10**7)
        else:
            user = "%08x:%08x" % (self.rng.getrandbits(32), self.rng.getrandbits(32))
        ub = user.encode()
        attrs = struct.pack("!HH", 0x0006, len(ub)) + ub + b"\0" * (-len(ub) % 4)
        attrs += struct.pack("!HHI", 0x0024, 4, self.rng.getrandbits(32))  # PRIORITY
        attrs += struct.pack("!HHQ", 0x802A, 8, self.rng.getrandbits(64))  # ICE-CONTROLLING
        tid = self.rng.randbytes(12)

        def header(body_len):
            return struct.pack("!HHI", 0x0001, body_len, STUN_COOKIE) + tid

        # The integrity length covers up to and including MESSAGE-INTEGRITY itself.
        key = self.rng.randbytes(16)
        mac = hmac.new(key, header(len(attrs) + 24) + attrs, "sha1").digest()
        attrs += struct.pack("!HH", 0x0008, 20) + mac
        crc = zlib.crc32(header(len(attrs) + 8) + attrs) ^ 0x5354554E
        attrs += struct.pack("!HHI", 0x8028, 4, crc)
        return header(len(attrs)) + attrs

    def client_hello(self):
        """A DTLS 1.2 record holding a ClientHello (epoch 0) with use_srtp, framed well
        enough to reach the TLS stack; one in eight has a fragment header that lies."""
        suites = struct.pack("!HHHH", 0xC02B, 0xC02F, 0xC00A, 0x00FF)
        srtp = struct.pack("!HHHB", 4, 0x0001, 0x0007, 0)
        exts = struct.pack("!HH", 0x000E, len(srtp)) + srtp
        exts += struct.pack("!HHHH", 0x000A, 4, 2, 0x0017)  # supported_groups: P-256
        body = b"\xfe\xfd" + self.rng.randbytes(32) + b"\x00" + b"\x00"
        body += struct.pack("!H", len(suites)) + suites + b"\x01\x00"
        body += struct.pack("!H", len(exts)) + exts
        frag_len = len(body)
        if self.rng.random() < 0.125:
            frag_len += self.rng.randint(1, 40)
        hs = struct.pack("!B", 1) + len(body).to_bytes(3, "big") + struct.pack("!H", 0)
        hs += (0).to_bytes(3, "big") + frag_len.to_bytes(3, "big") + body
        seq = self.rng.getrandbits(16).to_bytes(6, "big")
        return struct.pack("!BBBH", 22, 0xFE, 0xFF, 0) + seq + struct.pack("!H", len(hs)) + hs

    # ---- reporting and the loop ----

    def report(self):
        return {
            "seconds": round(self.now(), 2),
            "loss_pct": self.args.loss,
            "dup_pct": self.args.dup,
            "reorder_ms": self.args.reorder_ms,
            "seed": self.args.seed,
            "a_to_b": self.dirs["a_to_b"].counts,
            "b_to_a": self.dirs["b_to_a"].counts,
            "stray": self.stray,
            "inject": self.args.inject,
            "injected": self.injected,
            "injected_from_extra": self.injected_from_extra,
            "flood": self.flood,
            "flood_replies": self.flood_replies,
            "flood_before_media": self.flood_before_media,
        }

    def write_status(self):
        if not self.args.status_file:
            return
        tmp = self.args.status_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(self.report(), sort_keys=True) + "\n")
        os.replace(tmp, self.args.status_file)

    def done(self):
        now = self.now()
        if self.stopping or now >= self.args.max_seconds:
            return True
        return (
            self.last_peer_traffic is not None
            and now - self.last_peer_traffic >= self.args.idle_exit
            and not self.queue
        )

    def run(self):
        listen = {self.sa: ("a", self.dirs["a_to_b"]), self.sb: ("b", self.dirs["b_to_a"])}
        peers = {"a": self.args.a_peer, "b": self.args.b_peer}
        socks = [self.sa, self.sb] + self.extras
        if self.targets:
            self.next_inject = self.now()
        while not self.done():
            now = self.now()
            wake = now + 0.05
            if self.queue:
                wake = min(wake, self.queue[0][0])
            if self.next_inject is not None:
                wake = min(wake, self.next_inject)
            try:
                readable, _, _ = select.select(socks, [], [], max(0.0, wake - now))
            except InterruptedError:
                readable = []
            for s in readable:
                for _ in range(64):
                    try:
                        data, src = s.recvfrom(65535)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        continue  # ICMP errors reported on the socket
                    if s in listen:
                        side, d = listen[s]
                        if src != peers[side]:
                            self.stray += 1
                        else:
                            self.on_datagram(d, data)
                    else:
                        self.flood_replies += 1
            self.flush_due()
            if self.next_inject is not None and self.now() >= self.next_inject:
                self.inject_tick()
                self.next_inject += INJECT_INTERVAL
                if self.next_inject < self.now():
                    self.next_inject = self.now() + INJECT_INTERVAL
            if self.now() - self.last_status >= 1.0:
                self.last_status = self.now()
                self.write_status()
        self.write_status()
        if self.log is not None:
            self.log.close()
        print(json.dumps(self.report(), sort_keys=True), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a-listen", type=parse_addr, required=True)
    ap.add_argument("--a-peer", type=parse_addr, required=True)
    ap.add_argument("--b-listen", type=parse_addr, required=True)
    ap.add_argument("--b-peer", type=parse_addr, required=True)
    ap.add_argument("--loss", type=float, default=0.0, help="percent dropped, each way")
    ap.add_argument("--dup", type=float, default=0.0, help="percent duplicated, each way")
    ap.add_argument("--reorder-ms", type=float, default=0.0, help="random extra delay bound")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--idle-exit", type=float, default=2.0)
    ap.add_argument("--inject", choices=["none", "a", "b", "both"], default="none")
    ap.add_argument("--inject-ufrag", default="", help="the target's ICE ufrag, for STUN")
    ap.add_argument("--inject-sdp", default="", help="the target's SDP file, for its ufrag")
    ap.add_argument("--flood-pps", type=float, default=600.0)
    ap.add_argument("--flood-kinds", type=lambda t: t.split(","),
                    default=["stun", "client_hello", "random"],
                    help="comma-separated subset of stun,client_hello,random")
    ap.add_argument("--flood-from-start", action="store_true",
                    help="flood during the handshake too, from the first datagram seen")
    ap.add_argument("--status-file", default="")
    ap.add_argument("--log", default="", help="one line per datagram: time, way, kind, fate")
    args = ap.parse_args()
    for name in ("loss", "dup"):
        if not 0.0 <= getattr(args, name) <= 100.0:
            ap.error("--%s must be a percentage" % name)
    if not args.flood_kinds or not set(args.flood_kinds) <= {"stun", "client_hello", "random"}:
        ap.error("--flood-kinds takes stun, client_hello and random")
    if args.max_seconds <= 0 or args.max_seconds > 3600:
        ap.error("--max-seconds must be in (0, 3600]")

    proxy = Proxy(args)

    def stop(signum, frame):
        proxy.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    proxy.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
