#!/usr/bin/python3
"""dsrtpd with several media interfaces (--interface NAME/ADDR[!ADVERTISED]) and the ng
direction flag, end to end on the loopback addresses 127.0.0.1 and 127.0.0.2; driven by
test_dsrtpd_interfaces.sh, which starts two gateways
(usage: dsrtpd_interfaces.py SOURCE_DIR NG1_HOST:PORT NG2_HOST:PORT WORK_DIR):

  NG1: --interface external/127.0.0.1 --interface internal/127.0.0.2
  NG2: --interface pub/127.0.0.1!192.0.2.7 --interface priv/127.0.0.2

The script plays the SIP proxy over ng and both endpoints, plain RTP/AVP on raw sockets
with one RTP socket (port P) and one RTCP socket (P + 1) per stream:

  1. A (on 127.0.0.1) offers audio + video with "direction": ["external", "internal"]:
     the offer to B names 127.0.0.2 on every c= line (session and media level), B (on
     127.0.0.2) answers, the answer to A names 127.0.0.1 on c= and o=. RTP and RTCP both
     ways, per stream: B's sockets get them from 127.0.0.2:<our B port (+1)>, A's from
     127.0.0.1:<our A port (+1)>, payloads intact. A re-offer naming the reverse direction
     keeps the interfaces the first offer chose (same address, same ports).
  2. The reverse ("internal", "external", replace origin): the offer to B names 127.0.0.1
     (c= and o=), the answer to A 127.0.0.2; media both ways from those addresses.
  3. No direction: both sides on the default (first) interface, 127.0.0.1, even though B's
     endpoint sits on 127.0.0.2. One name only ("internal"): A internal, B the default.
  4. rtpp-flags string form: "direction=internal direction=external", and the bracketed
     list "direction=[internal external]", pick the interfaces as the list form does.
  5. A direction name no --interface has (in the dict, and in rtpp-flags): ng error
     "direction names an interface dsrtpd does not have ...", no call is left, and ping
     still answers.
  6. NG2: A plain offers with ICE=force, UDP/TLS/RTP/SAVPF, "direction": ["priv", "pub"]:
     the offer to B names 192.0.2.7 on c= and on its host candidate (port = the m= port),
     and that port is bound on 127.0.0.1 (ss -uln; a bind on it fails), not on 192.0.2.7;
     B's answer gives A an answer naming 127.0.0.2, whose port is bound there.
Every SDP exchanged is written to WORK_DIR/sdp/. Every wait is bounded; exit 0 only when
every check passed.
"""
import errno
import os
import random
import socket
import subprocess
import sys

SRC, NG1, NG2, WORK = sys.argv[1:5]
sys.path.insert(0, os.path.join(SRC, "tests", "peers"))
from gwtest import (Endpoint, Sdp, check, collect, is_rtcp, new_call, ng, ok_reply,  # noqa: E402
                    plain_sdp, rtcp_ssrc, rtp, run, sdp_saver, sdp_text, sender_report, summary)

IP1, IP2 = "127.0.0.1", "127.0.0.2"
ADV = "192.0.2.7"
DIRECTION_ERR = "direction names an interface dsrtpd does not have"

save_sdp = sdp_saver(os.path.join(WORK, "sdp"))


# ---- ng ----

def delete(server, call, fa):
    return ng(server, {"command": "delete", "call-id": call, "from-tag": fa}, timeout=1.0)


def offer_req(call, fa, sdp, flags):
    """An ng offer of A's sdp: RTP/AVP towards B, then flags."""
    return dict({"command": "offer", "call-id": call, "from-tag": fa, "sdp": sdp,
                 "transport-protocol": "RTP/AVP"}, **flags)


def offer_on_ng1(label, call, fa, sdp, flags):
    """A's sdp offered on NG1 with flags: checks the reply is ok and has no warning; the SDP
    towards B (saved as <first word of label>_offer_to_b), or None when the offer failed."""
    r = ng(NG1, offer_req(call, fa, sdp, flags))
    if not ok_reply("%s: ng offer %s -> ok" % (label, flags), r):
        return None
    check("%s: no warning in the offer's reply" % label, "warning" not in r,
          str(r.get("warning")))
    to_b = r.get("sdp", "")
    save_sdp(label.split()[0] + "_offer_to_b", to_b)
    return to_b


# ---- SDP and media ----

def mlines(text):
    return " | ".join(l for l in (text or "").replace("\r\n", "\n").split("\n")
                      if l.startswith("m=") or l.startswith("c=") or l.startswith("o="))


KINDS, PTS, CODECS = ["audio", "video"], [0, 96], ["PCMU/8000", "VP8/90000"]


def media_one_way(label, src, gw_ip_in, gw_ports_in, dst, gw_ip_out, gw_ports_out):
    """RTP (5 a stream) and an RTCP SR from each src[i] to gw_ip_in:gw_ports_in[i] (+1):
    dst[i] must get all of it, from gw_ip_out:gw_ports_out[i] (RTCP: + 1), intact."""
    sent = []
    ssrcs = [random.getrandbits(32) for _ in src]
    for i, e in enumerate(src):
        sent.append([])
        for n in range(5):
            payload = ("%s %s %d " % (label, KINDS[i], n)).encode() * 6
            e.rtp.sendto(rtp(PTS[i], 1000 + n, 160 * n, ssrcs[i], payload),
                         (gw_ip_in, gw_ports_in[i]))
            sent[i].append(rtp(PTS[i], 1000 + n, 160 * n, ssrcs[i], payload))
        e.rtcp.sendto(sender_report(ssrcs[i], "%s-%d" % (label, i), 1234, 5, 800),
                      (gw_ip_in, gw_ports_in[i] + 1))
    socks = [s for e in dst for s in (e.rtp, e.rtcp)]
    got = collect(socks, 3, lambda g: all(len(g[e.rtp]) >= 5 and len(g[e.rtcp]) >= 1
                                          for e in dst), sources=True)
    for i, e in enumerate(dst):
        pk = got[e.rtp]
        srcs = sorted({a for _, a in pk})
        check("%s: %s RTP: all 5 packets arrive intact, from %s:%d"
              % (label, KINDS[i], gw_ip_out, gw_ports_out[i]),
              len(pk) == 5 and sorted(d for d, _ in pk) == sorted(sent[i]) and
              srcs == [(gw_ip_out, gw_ports_out[i])],
              "got %d packets, %d intact, from %s"
              % (len(pk), sum(1 for d, _ in pk if d in sent[i]), srcs))
        rc = [(d, a) for d, a in got[e.rtcp] if is_rtcp(d)]
        srcs = sorted({a for _, a in got[e.rtcp]})
        check("%s: %s RTCP arrives on the RTCP socket from %s:%d"
              % (label, KINDS[i], gw_ip_out, gw_ports_out[i] + 1),
              len(rc) >= 1 and all(rtcp_ssrc(d) == ssrcs[i] for d, _ in rc)
              and srcs == [(gw_ip_out, gw_ports_out[i] + 1)],
              "got %d RTCP, from %s" % (len(rc), srcs))


def addressed(sdp, ip, label, what):
    """Checks every c= line (session and each m-line) of sdp names ip."""
    s = Sdp(sdp)
    ok = (s.session_c() == [ip] and all(m.conn() in ([], [ip]) for m in s.media)
          and all(s.addr(m) == ip for m in s.media) and s.media)
    return check("%s: %s names %s on every c= line (session c= %s, media c= %s)"
                 % (label, what, ip, s.session_c(), [m.conn() for m in s.media]),
                 ok, "c= lines %s" % s.all_c(), sdp=("%s: %s" % (label, what), sdp))


def plain_call(label, flags, a_ip, b_ip, gw_a_ip, gw_b_ip, reoffer_flags=None,
               b_origin=None):
    """A (endpoints on a_ip) offers audio + video to B (on b_ip) on NG1 with flags: the
    gateway's side towards B must be gw_b_ip, towards A gw_a_ip. Media both ways."""
    call, fa, tb = new_call("iface-" + label.split()[0])
    a = [Endpoint(ip=a_ip) for _ in KINDS]
    b = [Endpoint(ip=b_ip) for _ in KINDS]
    try:
        sess = random.randrange(1, 1 << 30)
        offer_a = plain_sdp("a", [(KINDS[i], a[i].port, PTS[i], CODECS[i]) for i in (0, 1)],
                            sess=sess, ip=a_ip, media_c=True)
        save_sdp(label.split()[0] + "_offer_from_a", offer_a)
        to_b = offer_on_ng1(label, call, fa, offer_a, flags)
        if to_b is None:
            return
        ob = Sdp(to_b)
        if not check("%s: offer to B has audio and video on two nonzero ports" % label,
                     ob.kinds() == KINDS and 0 not in ob.ports() and
                     len(set(ob.ports())) == 2, mlines(to_b), sdp=(label + ": offer to B", to_b)):
            return
        addressed(to_b, gw_b_ip, label, "offer to B")
        if b_origin is not None:
            check("%s: offer to B: o= names %s (replace origin)" % (label, b_origin),
                  ob.origin() == b_origin, "o= %s" % ob.origin())
        gw_b = ob.ports()

        answer_b = plain_sdp("b", [(KINDS[i], b[i].port, PTS[i], CODECS[i]) for i in (0, 1)],
                             ip=b_ip, media_c=True)
        save_sdp(label.split()[0] + "_answer_from_b", answer_b)
        r = ng(NG1, {"command": "answer", "call-id": call, "from-tag": fa, "to-tag": tb,
                     "sdp": answer_b})
        if not ok_reply("%s: ng answer -> ok" % label, r):
            return
        to_a = r.get("sdp", "")
        save_sdp(label.split()[0] + "_answer_to_a", to_a)
        aa = Sdp(to_a)
        if not check("%s: answer to A has audio and video on two nonzero ports, not B's"
                     % label, aa.kinds() == KINDS and 0 not in aa.ports() and
                     len(set(aa.ports() + gw_b)) == 4, mlines(to_a),
                     sdp=(label + ": answer to A", to_a)):
            return
        addressed(to_a, gw_a_ip, label, "answer to A")
        check("%s: answer to A: o= names %s" % (label, gw_a_ip), aa.origin() == gw_a_ip,
              "o= %s" % aa.origin())
        gw_a = aa.ports()

        media_one_way(label + " A->B", a, gw_a_ip, gw_a, b, gw_b_ip, gw_b)
        media_one_way(label + " B->A", b, gw_b_ip, gw_b, a, gw_a_ip, gw_a)

        if reoffer_flags is not None:
            # A re-offer (a session refresh) naming another direction: the interfaces stay
            # as the first offer chose them.
            reoffer = plain_sdp("a", [(KINDS[i], a[i].port, PTS[i], CODECS[i])
                                      for i in (0, 1)], version=2, sess=sess, ip=a_ip,
                                media_c=True)
            r = ng(NG1, offer_req(call, fa, reoffer, reoffer_flags))
            if ok_reply("%s: re-offer with %s -> ok" % (label, reoffer_flags), r):
                re_b = r.get("sdp", "")
                save_sdp(label.split()[0] + "_reoffer_to_b", re_b)
                rb = Sdp(re_b)
                check("%s: re-offer to B keeps %s and B's ports %s (the first offer fixed "
                      "the interfaces)" % (label, gw_b_ip, gw_b),
                      rb.ports() == gw_b and rb.all_c() and
                      all(x == gw_b_ip for x in rb.all_c()), mlines(re_b),
                      sdp=(label + ": re-offer to B", re_b))
                r = ng(NG1, {"command": "answer", "call-id": call, "from-tag": fa,
                             "to-tag": tb, "sdp": answer_b.replace(" 1 IN IP4", " 2 IN IP4", 1)})
                re_a = r.get("sdp", "")
                ra = Sdp(re_a)
                check("%s: re-answer to A keeps %s and A's ports %s" % (label, gw_a_ip, gw_a),
                      r.get("result") == "ok" and ra.ports() == gw_a and ra.all_c() and
                      all(x == gw_a_ip for x in ra.all_c()),
                      "%s %s" % (r.get("error-reason"), mlines(re_a)))
                media_one_way(label + " after the re-offer, A->B", a, gw_a_ip, gw_a, b,
                              gw_b_ip, gw_b)

        r = delete(NG1, call, fa)
        check("%s: ng delete -> ok" % label, r.get("result") == "ok", str(r))
    finally:
        delete(NG1, call, fa)
        for e in a + b:
            e.close()


def offer_only(label, flags, gw_a_ip, gw_b_ip):
    """An offer and an answer on NG1 (no media): the offer to B names gw_b_ip, the answer
    to A gw_a_ip."""
    call, fa, tb = new_call("iface-" + label.split()[0])
    try:
        to_b = offer_on_ng1(label, call, fa,
                            plain_sdp("a", [("audio", 40000, 0, "PCMU/8000")], ip=IP1), flags)
        if to_b is None:
            return
        addressed(to_b, gw_b_ip, label, "offer to B")
        answer_b = plain_sdp("b", [("audio", 40002, 0, "PCMU/8000")], ip=IP2)
        r = ng(NG1, {"command": "answer", "call-id": call, "from-tag": fa, "to-tag": tb,
                     "sdp": answer_b})
        if ok_reply("%s: ng answer -> ok" % label, r):
            save_sdp(label.split()[0] + "_answer_to_a", r.get("sdp", ""))
            addressed(r.get("sdp", ""), gw_a_ip, label, "answer to A")
    finally:
        delete(NG1, call, fa)


def unknown_direction():
    for label, flags in (("s5 dict", {"direction": ["external", "nosuch"]}),
                         ("s5 dict first", {"direction": ["outside", "internal"]}),
                         ("s5 rtpp-flags", {"rtpp-flags": "direction=nosuch"})):
        call, fa, _ = new_call("iface-unknown")
        offer_a = plain_sdp("a", [("audio", 40000, 0, "PCMU/8000")], ip=IP1, media_c=True)
        r = ng(NG1, offer_req(call, fa, offer_a, flags))
        check("%s: offer with %s -> error \"%s ...\"" % (label, flags, DIRECTION_ERR),
              r.get("result") == "error" and
              str(r.get("error-reason", "")).startswith(DIRECTION_ERR),
              "result %s, reason %s" % (r.get("result"), r.get("error-reason")))
        q = ng(NG1, {"command": "query", "call-id": call})
        check("%s: no call left behind (query -> error)" % label, q.get("result") == "error",
              str(q.get("result")))
        delete(NG1, call, fa)
    check("s5: dsrtpd still answers ping", ng(NG1, {"command": "ping"}).get("result") == "pong")


def bound_udp():
    """The local addresses ss -uln lists, as "ip:port" strings."""
    try:
        out = subprocess.run(["ss", "-Hnlu"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return None, str(e)
    return {l.split()[3] for l in out.splitlines() if len(l.split()) > 4}, ""


def bind_refused(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        return "bound"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()


def advertised_ice():
    label = "s6"
    call, fa, tb = new_call("iface-adv")
    a = Endpoint(ip=IP2)
    try:
        offer_a = plain_sdp("a", [("audio", a.port, 0, "PCMU/8000")], ip=IP2, media_c=True)
        save_sdp("s6_offer_from_a", offer_a)
        r = ng(NG2, {"command": "offer", "call-id": call, "from-tag": fa, "sdp": offer_a,
                     "transport-protocol": "UDP/TLS/RTP/SAVPF", "ICE": "force",
                     "direction": ["priv", "pub"]})
        if not ok_reply("%s: NG2 offer (ICE force, UDP/TLS/RTP/SAVPF, direction priv, pub) -> ok"
                        % label, r):
            return
        to_b = r.get("sdp", "")
        save_sdp("s6_offer_to_b", to_b)
        sdp_b = (label + ": offer to B", to_b)
        ob = Sdp(to_b)
        if not check("%s: offer to B has one UDP/TLS/RTP/SAVPF m-line on a nonzero port" % label,
                     len(ob.media) == 1 and ob.media[0].port != 0 and
                     ob.media[0].proto == "UDP/TLS/RTP/SAVPF", mlines(to_b), sdp=sdp_b):
            return
        port = ob.media[0].port
        addressed(to_b, ADV, label, "offer to B")
        cands = ob.media[0].candidates()
        check("%s: offer to B has one host candidate %s %d (the m= port)" % (label, ADV, port),
              cands == [(ADV, port)], str(cands), sdp=sdp_b)
        check("%s: offer to B names neither 127.0.0.1 nor 127.0.0.2 on c= or a=candidate"
              % label, not any(x in l for x in (IP1, IP2)
                               for l in to_b.replace("\r\n", "\n").split("\n")
                               if l.startswith("c=") or l.startswith("a=candidate")),
              mlines(to_b), sdp=sdp_b)
        bound, why = bound_udp()
        if check("%s: ss -uln lists UDP sockets" % label, bound, why):
            check("%s: ss -uln: our port %d is bound on %s:%d (ADDR), not %s:%d (ADVERTISED)"
                  % (label, port, IP1, port, ADV, port),
                  "%s:%d" % (IP1, port) in bound and "%s:%d" % (ADV, port) not in bound and
                  "0.0.0.0:%d" % port not in bound,
                  str(sorted(x for x in bound if x.endswith(":%d" % port))))
        check("%s: a bind on %s:%d fails with EADDRINUSE (dsrtpd holds it)" % (label, IP1, port),
              bind_refused(IP1, port) == "EADDRINUSE", bind_refused(IP1, port))

        # B answers as a WebRTC endpoint would (its DTLS never comes: only the SDP counts).
        fp = ":".join("%02X" % random.getrandbits(8) for _ in range(32))
        answer_b = sdp_text([
            "v=0", "o=b %d 1 IN IP4 %s" % (random.randrange(1, 1 << 30), IP1), "s=b",
            "c=IN IP4 %s" % IP1, "t=0 0",
            "m=audio 41000 UDP/TLS/RTP/SAVPF 0", "a=rtpmap:0 PCMU/8000",
            "a=ice-ufrag:bUfr", "a=ice-pwd:bpassword0123456789abcd",
            "a=fingerprint:sha-256 " + fp, "a=setup:active", "a=rtcp-mux",
            "a=candidate:1 1 UDP 2130706431 %s 41000 typ host" % IP1, "a=sendrecv"])
        save_sdp("s6_answer_from_b", answer_b)
        r = ng(NG2, {"command": "answer", "call-id": call, "from-tag": fa, "to-tag": tb,
                     "sdp": answer_b})
        if ok_reply("%s: NG2 answer -> ok" % label, r):
            to_a = r.get("sdp", "")
            save_sdp("s6_answer_to_a", to_a)
            aa = Sdp(to_a)
            addressed(to_a, IP2, label, "answer to A (priv, no ADVERTISED)")
            check("%s: answer to A: o= names %s" % (label, IP2), aa.origin() == IP2,
                  "o= %s" % aa.origin())
            pa = aa.media[0].port if aa.media else 0
            bound, _ = bound_udp()
            check("%s: A's port %d is bound on %s" % (label, pa, IP2),
                  pa != 0 and bound is not None and "%s:%d" % (IP2, pa) in bound,
                  str(sorted(x for x in (bound or ()) if x.endswith(":%d" % pa))))
        r = delete(NG2, call, fa)
        check("%s: NG2 delete -> ok" % label, r.get("result") == "ok", str(r))
    finally:
        delete(NG2, call, fa)
        a.close()


def main():
    if not check("NG1 and NG2 answer ping",
                 ng(NG1, {"command": "ping"}).get("result") == "pong" and
                 ng(NG2, {"command": "ping"}).get("result") == "pong"):
        return
    run("scenario 1 (external -> internal)",
        lambda: plain_call("s1 external->internal", {"direction": ["external", "internal"]},
                           IP1, IP2, IP1, IP2,
                           reoffer_flags={"direction": ["internal", "external"]}))
    run("scenario 2 (internal -> external)",
        lambda: plain_call("s2 internal->external",
                           {"direction": ["internal", "external"], "replace": ["origin"]},
                           IP2, IP1, IP2, IP1, b_origin=IP1))
    run("scenario 3 (no direction)",
        lambda: plain_call("s3 no-direction", {}, IP1, IP2, IP1, IP1))
    run("scenario 3b (one name)",
        lambda: offer_only("s3b one-name", {"direction": ["internal"]}, IP2, IP1))
    run("scenario 4 (rtpp-flags)",
        lambda: plain_call("s4 rtpp-flags", {"rtpp-flags": "direction=internal direction=external"},
                           IP2, IP1, IP2, IP1))
    run("scenario 4b (rtpp-flags list)",
        lambda: offer_only("s4b rtpp-flags-list", {"rtpp-flags": "direction=[external internal]"},
                           IP1, IP2))
    run("scenario 5 (unknown direction name)", unknown_direction)
    run("scenario 6 (ADVERTISED, ICE towards B)", advertised_ice)


if __name__ == "__main__":
    main()
    sys.exit(summary("# dsrtpd_interfaces.py: "))
