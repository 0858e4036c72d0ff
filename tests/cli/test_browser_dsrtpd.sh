#!/usr/bin/env bash
# Real browser calls through dsrtpd: Debian's Chromium, headless, driven by playwright-core
# (npm, tests/browser/call.mjs), with its fake microphone, on loopback. The script plays the
# SIP proxy as Kamailio would: it sends the ng offer and answer itself and moves the
# rewritten SDP between the endpoints through files.
#   1. browser_offers: Chromium places a WebRTC call (ICE, DTLS-SRTP, PCMU) through dsrtpd
#      (RTP/AVP, ICE removed, DTLS off) to a plain-RTP `dsrtp peer --keying none --echo`
#      that sends the audio back. dsrtpd answers setup:active: Chromium is the DTLS server.
#   2. browser_answers: a plain-RTP `dsrtp peer` calls Chromium through dsrtpd
#      (UDP/TLS/RTP/SAVPF, ICE forced). Chromium answers setup:active: it is the DTLS client,
#      so dsrtpd's DTLS 1.2 server takes Chromium's fragmented, DTLS 1.3-capable ClientHello.
# Once audio flows, Chromium renegotiates four times in each call (re-offers, as a browser
# sends on its own): "refresh" (createOffer/setLocalDescription with nothing changed),
# "hold" (its transceiver sendonly), "resume" (sendrecv again) and "icerestart"
# (createOffer with iceRestart: new ICE credentials, which our answer must change too, and
# Chromium must select a new candidate pair, checked with them, on the same DTLS transport). The script sends each as
# an ng offer for the same call-id with Chromium's tag as from-tag (side A in 1, side B in
# 2), and answers for the plain peer, which does not renegotiate: its earlier SDP with the
# direction mirrored (recvonly to a hold) and, when that changed it, o= version one up.
# Checks for each: Chromium's getStats() shows the DTLS transport "connected", an SRTP
# cipher, DTLS 1.2, the expected DTLS role and inbound audio packets received; the plain
# peer received RTP and exits 0 (media both ways); ng delete succeeds. For each re-offer:
# ng offer and answer ok; the offer to the plain side carries Chromium's direction, the
# answer to Chromium the mirrored one; both keep our port; the answer to Chromium keeps our
# fingerprint, a=setup role, ICE credentials, candidate and a=mid/BUNDLE as in the first
# exchange; each o= version goes up by one exactly when our SDP changed (a refresh gives
# Chromium byte-identical SDP); Chromium accepts the answer (setRemoteDescription), its
# transceiver's currentDirection is the one asked for, and its DTLS association is the
# same: the same RTCDtlsTransport, reached "connected" once only, still connected, same
# getStats transport, selected candidate pair (no pair change) and both certificates'
# fingerprints; inbound audio packets keep growing (outbound during hold); dsrtpd logs one
# DTLS handshake for the call and its /metrics handshake counter goes up by one per call.
#
# Setup: playwright-core is installed with `npm install` into BUILD_DIR/browser-test (only
# when its node_modules is missing; no browser is ever downloaded, /usr/bin/chromium is
# used). Missing chromium, node or npm is a failure, not a skip (`make check` installs
# chromium through scripts/deps.sh test). The call runs in a fresh network namespace with
# only `lo` when `unshare -n` works, so Chromium cannot pick another interface.
#
# usage: bash test_browser_dsrtpd.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_browser_dsrtpd.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
CALL_SECONDS=4
STEPS="refresh hold resume icerestart" # Chromium's re-offers in each call, in order
STEP_SECONDS=1.2            # media after each one before Chromium's stats are taken
RENEG_SECONDS=7             # what the re-offers add to a call (the plain peer's --duration)
# The ng flags of an offer towards the plain side, as the proxy sets them (re-offers too).
TO_TRUNK=',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off","rtcp-mux":["demux"]'

source "$SRC/tests/cli/lib.sh" browser-dsrtpd
# chromium, node and npm present, playwright-core in BUILD/browser-test, then the network
# namespace (BUILD absolute, CHROMIUM and NODE_DIR set).
browser_setup browser-test

gw_start 20

# browser ROLE DIR: Chromium in the background, SDP through DIR/browser.sdp and DIR/remote.sdp.
browser() {
    timeout 60 node "$NODE_DIR/call.mjs" --role "$1" --chromium "$CHROMIUM" \
        --local-sdp "$2/browser.sdp" --remote-sdp "$2/remote.sdp" --seconds $CALL_SECONDS \
        --wait-remote 25 --reoffers "${STEPS// /,}" --step-seconds $STEP_SECONDS \
        >"$2/browser.out" 2>"$2/browser.err" &
}

# plain ROLE DIR: the plain-RTP `dsrtp peer` behind the "PBX" (it echoes when it answers).
plain() {
    local echo=""
    [ "$1" = answer ] && echo=--echo
    "$BUILD/dsrtp" peer --role "$1" --keying none $echo --local-sdp "$2/plain.sdp" \
        --remote-sdp "$2/plain_remote.sdp" --duration $((CALL_SECONDS + 5 + RENEG_SECONDS)) \
        --trace \
        >"$2/plain.out" 2>"$2/plain.err" &
}

# check_browser NAME DIR PID DTLS_ROLE: Chromium's stats line after the call (the last one;
# the re-offers' lines come before it).
check_browser() {
    local name=$1 S=$2/browser.last
    wait_pid $3 45
    local rc=$?
    tail -n 1 "$2/browser.out" >"$S"
    echo "# $name: chromium $(tail -n 1 "$S")"
    [ $rc -eq 0 ] && pass "$name: browser script exit 0" ||
        fail "$name: browser script exit $rc: $(tail -n 3 "$2/browser.err" | tr '\n' ' ')"
    [ "$(json_str "$S" dtlsState)" = connected ] && pass "$name: getStats dtlsState connected" ||
        fail "$name: getStats dtlsState connected (got '$(json_str "$S" dtlsState)')"
    local cipher rx
    cipher=$(json_str "$S" srtpCipher)
    [ -n "$cipher" ] && pass "$name: getStats srtpCipher $cipher" || fail "$name: getStats srtpCipher non-empty"
    [ "$(json_str "$S" tlsVersion)" = FEFD ] && pass "$name: getStats tlsVersion FEFD (DTLS 1.2)" ||
        fail "$name: getStats tlsVersion FEFD (got '$(json_str "$S" tlsVersion)')"
    [ "$(json_str "$S" dtlsRole)" = "$4" ] && pass "$name: Chromium is the DTLS $4" ||
        fail "$name: Chromium is the DTLS $4 (got '$(json_str "$S" dtlsRole)')"
    rx=$(json_val "$S" packetsReceived)
    [ "${rx:-0}" -gt 0 ] 2>/dev/null && pass "$name: getStats inbound audio packetsReceived $rx" ||
        fail "$name: getStats inbound audio packetsReceived > 0 (got '${rx:-none}')"
}

# SDP helpers: a line by prefix (no CR), the direction, m= port and o= version; the file
# without its o= version (what must be equal when the version stays).
sdp_line() { tr -d '\r' <"$1" | grep -m1 "^$2"; }
sdp_dir() { tr -d '\r' <"$1" | grep -E -m1 '^a=(sendrecv|sendonly|recvonly|inactive)$' | cut -c3-; }
sdp_port() { tr -d '\r' <"$1" | sed -n 's/^m=audio \([0-9]*\) .*/\1/p' | head -n 1; }
sdp_version() { tr -d '\r' <"$1" | sed -n 's/^o=[^ ]* [^ ]* \([0-9]*\) .*/\1/p' | head -n 1; }
sdp_unversioned() { tr -d '\r' <"$1" | sed 's/^\(o=[^ ]* [^ ]* \)[0-9]*/\1V/'; }
# sdp_edit IN DIRECTION VERSION_DELTA: IN with its direction (in place, or added) and o=
# version changed; IN itself when neither changes.
sdp_edit() {
    tr -d '\r' <"$1" | awk -v d="$2" -v k="$3" '
        /^o=/ { $3 += k }
        /^a=(sendrecv|sendonly|recvonly|inactive)$/ { if (seen) next; $0 = "a=" d; seen = 1 }
        { print }
        END { if (!seen && d != "sendrecv") print "a=" d }' | sed 's/$/\r/'
}
mirror() { case $1 in sendonly) echo recvonly ;; recvonly) echo sendonly ;; *) echo "$1" ;; esac; }

# The o= rule for what dsrtpd gave one side: NEW has PREV's version when the rest is the
# same, and one more when it is not.
check_version() {
    local name=$1 prev=$2 new=$3 vp vn
    vp=$(sdp_version "$prev")
    vn=$(sdp_version "$new")
    if cmp -s <(sdp_unversioned "$prev") <(sdp_unversioned "$new"); then
        [ "$vn" = "$vp" ] && pass "$name: unchanged, o= version stays ($vn)" ||
            fail "$name: unchanged SDP, o= version $vp -> $vn"
    else
        [ "$vn" = $((vp + 1)) ] && pass "$name: changed, o= version one up ($vp -> $vn)" ||
            fail "$name: changed SDP, o= version $vp -> $vn (want $((vp + 1)))"
    fi
}

# expect LABEL GOT WANT: one check that GOT is WANT.
expect() { [ "$2" = "$3" ] && pass "$1" || fail "$1 (got '$2', want '$3')"; }

# renegotiate NAME DIR STEP FROM TO FLAGS PEER_SDP BPID: Chromium's re-offer
# DIR/browser.STEP.sdp (from-tag FROM) through dsrtpd to the plain side
# (DIR/plain_remote.STEP.sdp); the plain side's answer is PEER_SDP with the direction
# mirrored (DIR/peer.STEP.sdp); dsrtpd's answer goes to Chromium as DIR/remote.STEP.sdp.
# State kept by reneg_setup: DIR/to_plain.sdp and DIR/to_browser.sdp (the last SDP each
# side got from dsrtpd), DIR/peer_dir and DIR/peer_version (the plain side's direction and
# o= version increase so far).
renegotiate() {
    local name=$1 D=$2 step=$3 from=$4 to=$5 flags=$6 peer=$7 want pd l
    local n="$1 $3" O="$2/plain_remote.$3.sdp" A="$2/remote.$3.sdp.tmp" F="$2/to_browser.sdp"
    if ! wait_file "$D/browser.$step.sdp" 20 "$8"; then
        fail "$n: Chromium made a re-offer: $(tail -n 2 "$D/browser.err" | tr '\n' ' ')"
        return 1
    fi
    want=sendrecv
    [ "$step" = hold ] && want=sendonly
    pd=$(mirror $want)
    expect "$n: Chromium re-offers a=$want" "$(sdp_dir "$D/browser.$step.sdp")" $want
    ng "{\"command\":\"offer\",\"call-id\":\"$name\",\"from-tag\":\"$from\"$flags}" \
        --sdp-file "$D/browser.$step.sdp" --out-sdp "$O" >"$D/$step.offer.json"
    if ! grep -q '"result": "ok"' "$D/$step.offer.json"; then
        fail "$n: ng re-offer ($(cut -c1-300 "$D/$step.offer.json"))"
        return 1
    fi
    pass "$n: ng re-offer ok"
    expect "$n: offer to the plain side carries a=$want" "$(sdp_dir "$O")" $want
    expect "$n: offer to the plain side keeps our port" "$(sdp_port "$O")" \
        "$(sdp_port "$D/to_plain.sdp")"
    check_version "$n: offer to the plain side" "$D/to_plain.sdp" "$O"
    cp "$O" "$D/to_plain.sdp"
    # The plain side answers: its SDP again, direction mirrored, o= up when that changed it.
    if [ "$pd" != "$(cat "$D/peer_dir")" ]; then
        echo $(($(cat "$D/peer_version") + 1)) >"$D/peer_version"
        echo "$pd" >"$D/peer_dir"
    fi
    sdp_edit "$peer" "$pd" "$(cat "$D/peer_version")" >"$D/peer.$step.sdp"
    ng "{\"command\":\"answer\",\"call-id\":\"$name\",\"from-tag\":\"$from\",\"to-tag\":\"$to\"}" \
        --sdp-file "$D/peer.$step.sdp" --out-sdp "$A" >"$D/$step.answer.json"
    if ! grep -q '"result": "ok"' "$D/$step.answer.json"; then
        fail "$n: ng answer ($(cut -c1-300 "$D/$step.answer.json"))"
        return 1
    fi
    pass "$n: ng answer ok"
    expect "$n: answer to Chromium carries a=$pd" "$(sdp_dir "$A")" $pd
    expect "$n: answer to Chromium keeps our port" "$(sdp_port "$A")" "$(sdp_port "$F")"
    expect "$n: answer to Chromium keeps our DTLS role" "$(sdp_line "$A" a=setup:)" \
        "$(cat "$D/want_setup")"
    expect "$n: answer to Chromium has the re-offer's a=mid" "$(sdp_line "$A" a=mid:)" \
        "$(sdp_line "$D/browser.$step.sdp" a=mid:)"
    local keep="a=fingerprint: a=ice-ufrag: a=ice-pwd: a=ice-lite a=candidate: a=group:"
    if [ "$step" = icerestart ]; then
        # Chromium restarts ICE: new credentials in its offer, and in our answer too (RFC 8445
        # §9: both agents change ufrag and pwd); everything else stays.
        keep="a=fingerprint: a=ice-lite a=candidate: a=group:"
        local pb="$D/browser.$step.sdp" l2
        for l2 in a=ice-ufrag: a=ice-pwd:; do
            [ "$(sdp_line "$pb" $l2)" != "$(sdp_line "$D/browser.resume.sdp" $l2)" ] &&
                pass "$n: Chromium's re-offer has a new ${l2%:}" ||
                fail "$n: Chromium's re-offer has a new ${l2%:}"
            [ -n "$(sdp_line "$A" $l2)" ] && [ "$(sdp_line "$A" $l2)" != "$(sdp_line "$F" $l2)" ] &&
                pass "$n: answer to Chromium has a new ${l2%:}" ||
                fail "$n: answer to Chromium has a new ${l2%:}"
        done
    fi
    for l in $keep; do
        expect "$n: answer to Chromium keeps ${l%:} as at first" "$(sdp_line "$A" $l)" \
            "$(sdp_line "$D/remote.first.sdp" $l)"
    done
    check_version "$n: answer to Chromium" "$F" "$A"
    if [ "$step" = refresh ] && [ -f "$D/first_was_answer" ]; then
        cmp -s "$F" "$A" && pass "$n: answer to Chromium byte-identical to the one before" ||
            fail "$n: answer to Chromium byte-identical to the one before: $(diff \
                <(tr -d '\r' <"$F") <(tr -d '\r' <"$A") | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
    fi
    cp "$A" "$F"
    mv "$A" "$D/remote.$step.sdp" # Chromium takes it from here
}

# reneg_setup DIR FIRST_TO_PLAIN FIRST_TO_BROWSER PEER_SDP SETUP: the state renegotiate
# keeps; SETUP is the a=setup line our answers to Chromium must carry (our DTLS role). When
# FIRST_TO_BROWSER was an answer (Chromium offered first), the answer to the refresh must
# be byte-identical to it.
reneg_setup() {
    echo "$5" >"$1/want_setup"
    [ "$5" = a=setup:active ] && touch "$1/first_was_answer"
    cp "$2" "$1/to_plain.sdp"
    cp "$3" "$1/to_browser.sdp"
    cp "$3" "$1/remote.first.sdp"
    echo 0 >"$1/peer_version"
    sdp_dir "$4" >"$1/peer_dir"
    [ -s "$1/peer_dir" ] || echo sendrecv >"$1/peer_dir"
}

# check_steps NAME DIR: Chromium's own facts before and after each re-offer (browser.out).
check_steps() {
    local verdict what
    while IFS=$'\t' read -r verdict what; do
        if [ "$verdict" = ok ]; then pass "$1 $what"; else fail "$1 $what"; fi
    done < <($PY - "$2/browser.out" $STEPS <<'PYEOF'
import json, sys
steps = {}
for l in open(sys.argv[1]):
    try:
        d = json.loads(l)
    except ValueError:
        continue
    if "step" in d:
        steps[d["step"]] = d
first = None
def out(ok, what):
    print(("ok" if ok else "FAIL") + "\t" + what)
for name in sys.argv[2:]:
    s = steps.get(name)
    if s is None:
        out(False, "%s: Chromium applied the answer and reported (no step line)" % name)
        continue
    b, a = s["before"], s["after"]
    first = first or b
    want = "sendonly" if name == "hold" else "sendrecv"
    out(a["signalingState"] == "stable" and a["currentDirection"] == want,
        "%s: Chromium accepted the answer, currentDirection %s (got %s, %s)"
        % (name, want, a["currentDirection"], a["signalingState"]))
    out(a["sameDtlsTransport"] and a["dtlsTransportState"] == "connected" and
        a["dtlsConnects"] == 1 and a["dtlsState"] == "connected",
        "%s: same RTCDtlsTransport, still connected, connected once only "
        "(same %s, state %s, connects %s, states '%s', stats %s)"
        % (name, a["sameDtlsTransport"], a["dtlsTransportState"], a["dtlsConnects"],
           a["dtlsStates"], a["dtlsState"]))
    keys = ("transportCount", "transportId", "selectedPairId", "selectedPairChanges",
            "selectedPair", "localFingerprint", "remoteFingerprint")
    if name == "icerestart":
        # A restart makes new candidate pairs: Chromium must have selected one, which takes
        # checks answered with our new credentials, and stay connected.
        keys = ("transportCount", "transportId", "localFingerprint", "remoteFingerprint")
        out(a["iceConnectionState"] in ("connected", "completed") and
            a["selectedPairChanges"] is not None and
            b["selectedPairChanges"] is not None and
            (a["selectedPairChanges"] > b["selectedPairChanges"] or
             a["selectedPairId"] != b["selectedPairId"]),
            "%s: ICE connected again on a new pair (state %s, pair %s -> %s, changes %s -> %s)"
            % (name, a["iceConnectionState"], b["selectedPairId"], a["selectedPairId"],
               b["selectedPairChanges"], a["selectedPairChanges"]))
    diff = [k for k in keys if a[k] != first[k] or a[k] is None]
    out(not diff and a["transportCount"] == 1,
        "%s: getStats transport, selected pair (%s, %s changes) and certificate fingerprints "
        "unchanged%s" % (name, a["selectedPair"], a["selectedPairChanges"],
                         "" if not diff else " (differ: %s)" % ", ".join(
                             "%s %s -> %s" % (k, first[k], a[k]) for k in diff)))
    if name == "hold":
        out(a["packetsSent"] > b["packetsSent"],
            "%s: outbound audio goes on (packetsSent %d -> %d)"
            % (name, b["packetsSent"], a["packetsSent"]))
    elif name == "resume":
        # While held (sendonly) Chromium has no receive stream: its inbound-rtp stats start
        # again from 0 once it receives again.
        out(a["packetsReceived"] > b["packetsReceived"],
            "%s: inbound audio is back (packetsReceived %d while held -> %d)"
            % (name, b["packetsReceived"], a["packetsReceived"]))
    else:
        out(b["packetsReceived"] > 0 and a["packetsReceived"] > b["packetsReceived"],
            "%s: inbound audio keeps flowing (packetsReceived %d -> %d)"
            % (name, b["packetsReceived"], a["packetsReceived"]))
PYEOF
)
}

# check_handshakes NAME WANT_TOTAL: dsrtpd did one DTLS handshake for the call (log), WANT in
# all (metrics).
check_handshakes() {
    local n m
    n=$(grep -c "msg=\"DTLS handshake done\" call=\"$1\"" "$WORK/dsrtpd.log")
    m=$(curl -s --max-time 3 "http://127.0.0.1:$HTTP_PORT/metrics" |
        sed -n 's/^dsrtpd_dtls_handshakes_total{result="ok"} \([0-9]*\).*/\1/p')
    [ "$n" = 1 ] && [ "$m" = "$2" ] &&
        pass "$1: one DTLS handshake for the call after the re-offers (log 1, metrics total $m)" ||
        fail "$1: one DTLS handshake for the call (log $n, metrics total '$m', want $2)"
}

# check_end NAME DIR PLAIN_PID: ng delete, and the plain peer got RTP both ways.
check_end() {
    ng "{\"command\":\"delete\",\"call-id\":\"$1\",\"from-tag\":\"$1-a\"}" >"$2/ng_delete.json"
    grep -q '"result": "ok"' "$2/ng_delete.json" && pass "$1: ng delete" ||
        fail "$1: ng delete ($(cut -c1-200 "$2/ng_delete.json"))"
    wait_pid $3 20
    local rc=$? rx
    rx=$(json_val "$2/plain.out" rtp_received)
    [ $rc -eq 0 ] && [ "${rx:-0}" -gt 0 ] && pass "$1: plain peer received RTP ($rx), exit 0" ||
        fail "$1: plain peer: exit $rc, rtp_received ${rx:-none}"
}

# 1. Chromium calls: WebRTC offer -> dsrtpd -> plain RTP/AVP echo peer. dsrtpd answers
#    setup:active, so Chromium is the DTLS server.
D=$WORK/browser_offers
mkdir -p "$D"
browser offer "$D"
BPID=$!
if wait_file "$D/browser.sdp" 30 $BPID; then
    grep -q 'a=candidate:.* 127\.0\.0\.1 ' "$D/browser.sdp" &&
        pass "browser_offers: Chromium offers a 127.0.0.1 host candidate" ||
        fail "browser_offers: Chromium offers a 127.0.0.1 host candidate"
    ng_sdp browser_offers offer "$TO_TRUNK" "$D/browser.sdp" "$D/plain_remote.sdp"
    plain answer "$D"
    PPID_=$!
    if wait_file "$D/plain.sdp" 15 $PPID_; then
        ng_sdp browser_offers answer '' "$D/plain.sdp" "$D/remote.sdp"
        reneg_setup "$D" "$D/plain_remote.sdp" "$D/remote.sdp" "$D/plain.sdp" a=setup:active
        for step in $STEPS; do
            renegotiate browser_offers "$D" $step browser_offers-a browser_offers-b \
                "$TO_TRUNK" "$D/plain.sdp" $BPID || break
        done
    else
        fail "browser_offers: the echo peer wrote its SDP"
    fi
    check_browser browser_offers "$D" $BPID server
    check_steps browser_offers "$D"
    check_handshakes browser_offers 1
    check_end browser_offers "$D" $PPID_
else
    fail "browser_offers: Chromium made an offer: $(tail -n 3 "$D/browser.err" "$D/browser.out" | tr '\n' ' ')"
fi

# 2. Chromium is called: plain RTP offer -> dsrtpd (WebRTC offer, actpass, ICE-lite) ->
#    Chromium answers setup:active, so it is the DTLS client and dsrtpd's DTLS 1.2 server
#    must take its fragmented, DTLS 1.3-capable ClientHello.
D=$WORK/browser_answers
mkdir -p "$D"
plain offer "$D"
PPID_=$!
browser answer "$D"
BPID=$!
if wait_file "$D/plain.sdp" 15 $PPID_; then
    # As a SIP trunk writes it: no ICE, no a=mid, no rtcp-mux (dsrtpd adds what Chromium needs).
    sed '/^a=\(ice-\|candidate\|end-of-candidates\|mid:\|rtcp-mux\)/d' "$D/plain.sdp" >"$D/trunk.sdp"
    ng_sdp browser_answers offer ',"transport-protocol":"UDP/TLS/RTP/SAVPF","ICE":"force"' \
        "$D/trunk.sdp" "$D/remote.sdp"
    if wait_file "$D/browser.sdp" 30 $BPID; then
        ng_sdp browser_answers answer '' "$D/browser.sdp" "$D/plain_remote.sdp"
        # Chromium, the callee, re-offers: its tag (B's) is the from-tag, the trunk answers.
        reneg_setup "$D" "$D/plain_remote.sdp" "$D/remote.sdp" "$D/trunk.sdp" a=setup:passive
        for step in $STEPS; do
            renegotiate browser_answers "$D" $step browser_answers-b browser_answers-a \
                "$TO_TRUNK" "$D/trunk.sdp" $BPID || break
        done
    else
        fail "browser_answers: Chromium made an answer: $(tail -n 3 "$D/browser.err" "$D/browser.out" | tr '\n' ' ')"
    fi
    check_browser browser_answers "$D" $BPID client
    check_steps browser_answers "$D"
    check_handshakes browser_answers 2
    check_end browser_answers "$D" $PPID_
else
    fail "browser_answers: the plain peer wrote its SDP"
fi

if [ $failures -ne 0 ]; then
    echo "# dsrtpd log tail:"; tail -n 15 "$WORK/dsrtpd.log" "$WORK/dsrtpd.err" 2>/dev/null | sed 's/^/#   /'
    for f in "$WORK"/*/browser.err; do
        echo "# $f tail:"; tail -n 10 "$f" | sed 's/^/#   /'
    done
fi
echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
