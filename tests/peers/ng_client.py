#!/usr/bin/python3
"""A tiny rtpengine "ng" client for the dsrtpd tests: "<cookie> <bencoded dict>" over UDP,
or over TCP with --tcp (requests and replies back to back on the stream, no other framing).

  ng_client.py SERVER JSON [--tcp] [--cookie C] [--sdp-file F] [--out-sdp F] [--timeout S]
  ng_client.py SERVER --raw TEXT [--tcp [--split N,N..] [--replies N]] [--timeout S]

JSON is the request dict (strings, ints, lists, dicts). --sdp-file puts a file's text under
"sdp"; --out-sdp writes the reply's "sdp" to a file (write, then rename). Prints the reply
dict as one JSON line (byte strings decoded as UTF-8); with --raw, sends TEXT verbatim and
prints the raw reply. Over TCP, --split sends TEXT in pieces cut at those byte offsets with
a pause between writes, --replies reads that many replies (one line each), and a last line
"closed" or "open" says whether the server then closed the connection.
Exit 0 when every reply came, 1 on timeout."""
import argparse
import json
import os
import random
import socket
import sys
import time


def benc(v):
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:" % len(v) + v
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    if j + 1 + n > len(b):
        raise IndexError("string runs past the data")
    s = b[j + 1:j + 1 + n]
    try:
        return s.decode(), j + 1 + n
    except UnicodeDecodeError:
        return s.decode("latin-1"), j + 1 + n


def tcp_read_reply(s, buf):
    """One "<cookie> <bencoded value>" off the stream: (reply bytes, rest), or (None, buf)
    when the server closed first. Raises socket.timeout."""
    while True:
        sp = buf.find(b" ")
        if sp > 0:
            try:
                _, end = bdec(buf, sp + 1)
                return buf[:end], buf[end:]
            except (IndexError, ValueError):
                pass  # not complete yet
        more = s.recv(65536)
        if not more:
            return None, buf
        buf += more


def tcp_exchange(a, data):
    s = socket.create_connection(split_server(a.server), timeout=a.timeout)
    cuts = [int(x) for x in a.split.split(",")] if a.split else []
    last = 0
    for cut in cuts + [len(data)]:
        s.sendall(data[last:cut])
        last = cut
        if cut != len(data):
            time.sleep(0.2)
    replies, buf = [], b""
    for _ in range(a.replies):
        r, buf = tcp_read_reply(s, buf)
        if r is None:
            break
        replies.append(r)
    state = "open"
    if a.raw is not None:
        s.settimeout(0.5)
        try:
            state = "closed" if s.recv(1) == b"" else "open"
        except socket.timeout:
            state = "open"
        except OSError:
            state = "closed"
    s.close()
    return replies, state


def split_server(server):
    host, port = server.rsplit(":", 1)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("request", nargs="?")
    ap.add_argument("--cookie")
    ap.add_argument("--sdp-file")
    ap.add_argument("--out-sdp")
    ap.add_argument("--raw")
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--tcp", action="store_true")
    ap.add_argument("--split")
    ap.add_argument("--replies", type=int, default=1)
    a = ap.parse_args()
    if a.raw is not None:
        data = a.raw.encode()
    else:
        req = json.loads(a.request)
        if a.sdp_file:
            with open(a.sdp_file) as f:
                req["sdp"] = f.read()
        cookie = a.cookie or "%08x" % random.getrandbits(32)
        data = cookie.encode() + b" " + benc(req)
    if a.tcp:
        try:
            replies, state = tcp_exchange(a, data)
        except socket.timeout:
            replies, state = [], "timeout"
        if a.raw is not None:
            for r in replies:
                print(r.decode("latin-1").replace("\n", "\\n"))
            print(state)
            return 0 if len(replies) == a.replies else 1
        if not replies:
            print("no reply", file=sys.stderr)
            return 1
        reply = replies[0]
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(a.timeout)
        s.sendto(data, split_server(a.server))
        try:
            reply, _ = s.recvfrom(65536)
        except socket.timeout:
            print("no reply", file=sys.stderr)
            return 1
        if a.raw is not None:
            print(reply.decode("latin-1"))
            return 0
    cookie, _, body = reply.partition(b" ")
    d, _ = bdec(body)
    if a.out_sdp and "sdp" in d:
        tmp = a.out_sdp + ".tmp"
        with open(tmp, "w") as f:
            f.write(d["sdp"])
        os.rename(tmp, a.out_sdp)
    d["_cookie"] = cookie.decode("latin-1")
    print(json.dumps(d, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
