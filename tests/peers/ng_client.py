#!/usr/bin/python3
"""A tiny rtpengine "ng" client for the dsrtpd tests: "<cookie> <bencoded dict>" over UDP.

  ng_client.py SERVER JSON [--cookie C] [--sdp-file F] [--out-sdp F] [--timeout S]
  ng_client.py SERVER --raw TEXT [--timeout S]

JSON is the request dict (strings, ints, lists, dicts). --sdp-file puts a file's text under
"sdp"; --out-sdp writes the reply's "sdp" to a file (write, then rename). Prints the reply
dict as one JSON line (byte strings decoded as UTF-8); with --raw, sends TEXT verbatim and
prints the raw reply. Exit 0 when a reply came, 1 on timeout."""
import argparse
import json
import os
import random
import socket
import sys


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
    s = b[j + 1:j + 1 + n]
    try:
        return s.decode(), j + 1 + n
    except UnicodeDecodeError:
        return s.decode("latin-1"), j + 1 + n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("request", nargs="?")
    ap.add_argument("--cookie")
    ap.add_argument("--sdp-file")
    ap.add_argument("--out-sdp")
    ap.add_argument("--raw")
    ap.add_argument("--timeout", type=float, default=3.0)
    a = ap.parse_args()
    host, port = a.server.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    if a.raw is not None:
        data = a.raw.encode()
    else:
        req = json.loads(a.request)
        if a.sdp_file:
            with open(a.sdp_file) as f:
                req["sdp"] = f.read()
        cookie = a.cookie or "%08x" % random.getrandbits(32)
        data = cookie.encode() + b" " + benc(req)
    s.sendto(data, (host, int(port)))
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
