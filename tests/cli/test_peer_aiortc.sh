#!/usr/bin/env bash
# Interop: `dsrtp peer` against aiortc (Debian's python3-aiortc, an independent WebRTC stack
# with a full ICE agent, its own DTLS over pyOpenSSL and libsrtp2), on 127.0.0.1, SDP passed
# through files (tests/peers/aiortc_peer.py speaks the same file protocol).
#
#   1. aiortc offers (PCMU only), dsrtp answers: dsrtp is ICE-lite, so aiortc must check and
#      nominate our candidate; we answer actpass with active, so we are the DTLS client.
#   2. dsrtp offers (a=ice-lite, actpass), aiortc answers: aiortc must take the controlling
#      ICE role and answer active (DTLS client), leaving us the DTLS server.
#   3. aiortc offers its default codec list (opus, PCMU, PCMA): our answer must keep PCMU
#      alone, with the BUNDLE group, mid and rtcp-mux the offer asked for.
# In each: both exit 0, audio flows both ways (both sides count received RTP), and the SRTP
# profile is the same on both ends: AES_CM_128_HMAC_SHA1_80 in our spelling,
# SRTP_AES128_CM_SHA1_80 in OpenSSL's (read from aiortc's DTLS connection). Our logs must not
# show the ICE passwords.
#
# python3-aiortc is part of the `test` package set (scripts/deps.sh); without it this test
# fails rather than skips.
#
# usage: bash test_peer_aiortc.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
# One line per check; exit status 1 if any check failed. Every wait is bounded and every
# child is killed on exit.
set -u

BUILD=${1:?usage: test_peer_aiortc.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTP=$BUILD/dsrtp
PY=/usr/bin/python3 # Debian's aiortc is installed for the system interpreter only
AIORTC_PEER=$SRC/tests/peers/aiortc_peer.py
DURATION=3
RUN_SECONDS=30

source "$SRC/tests/cli/lib.sh" peer-aiortc

# --- setup -------------------------------------------------------------------------------

if [ ! -x "$DSRTP" ]; then
    echo "FAIL - $DSRTP is not built"
    exit 1
fi
if ! version=$("$PY" -c 'import aiortc; print(aiortc.__version__)' 2>/dev/null); then
    echo "FAIL - aiortc is missing for $PY: install python3-aiortc (scripts/deps.sh test)"
    exit 1
fi
echo "# aiortc $version"

# run_call NAME WHO_OFFERS(aiortc|dsrtp) [aiortc options...]. Sets D, DRC, ARC.
run_call() {
    local name=$1 offerer=$2
    shift 2
    D=$WORK/$name
    mkdir -p "$D"
    local drole=answer arole=offer
    if [ "$offerer" = dsrtp ]; then
        drole=offer arole=answer
    fi
    timeout "$RUN_SECONDS" "$PY" "$AIORTC_PEER" --role "$arole" --local-sdp "$D/aiortc.sdp" \
        --remote-sdp "$D/dsrtp.sdp" --duration "$DURATION" --trace "$@" \
        >"$D/aiortc.out" 2>"$D/aiortc.err" &
    local apid=$!
    timeout "$RUN_SECONDS" "$DSRTP" peer --role "$drole" --local-sdp "$D/dsrtp.sdp" \
        --remote-sdp "$D/aiortc.sdp" --duration "$DURATION" --keying dtls --trace \
        >"$D/dsrtp.out" 2>"$D/dsrtp.err" &
    local dpid=$!
    wait_pid "$dpid" $((RUN_SECONDS + 5))
    DRC=$?
    wait_pid "$apid" $((RUN_SECONDS + 5))
    ARC=$?
}

# $1 label; $2 our expected DTLS role; $3 aiortc's expected DTLS role.
check_call() {
    local label=$1 our_role=$2 their_role=$3 why=""
    local d=$D/dsrtp.out a=$D/aiortc.out
    if [ "$DRC" -ne 0 ] || [ "$ARC" -ne 0 ]; then
        why="exit dsrtp $DRC ($(json_str "$d" state): $(json_str "$d" reason)),"
        why="$why aiortc $ARC ($(json_str "$a" reason); $(tail -n 1 "$D/aiortc.err"))"
    elif [ "$(json_val "$a" dtls_state_was_connected)" != true ]; then
        why="aiortc's DTLS never connected"
    elif [ "$(json_str "$d" profile)" != AES_CM_128_HMAC_SHA1_80 ]; then
        why="dsrtp profile '$(json_str "$d" profile)'"
    elif [ "$(json_str "$a" profile)" != SRTP_AES128_CM_SHA1_80 ]; then
        why="aiortc profile '$(json_str "$a" profile)'"
    elif ! [ "$(json_val "$d" rtp_received)" -gt 0 ] 2>/dev/null; then
        why="dsrtp received no RTP"
    elif ! [ "$(json_val "$a" packets_received)" -gt 0 ] 2>/dev/null; then
        why="aiortc received no RTP"
    elif ! [ "$(json_val "$a" frames_received)" -gt 0 ] 2>/dev/null; then
        why="aiortc decoded no audio frames"
    elif [ "$(json_val "$d" auth_failures)" != 0 ]; then
        why="dsrtp counted $(json_val "$d" auth_failures) authentication failures"
    elif [ "$(json_str "$d" role)" != "$our_role" ] ||
        [ "$(json_str "$a" dtls_role)" != "$their_role" ]; then
        why="DTLS roles dsrtp $(json_str "$d" role), aiortc $(json_str "$a" dtls_role);"
        why="$why expected $our_role and $their_role"
    elif [ "$(json_str "$a" ice_role)" != controlling ]; then
        why="aiortc is ICE $(json_str "$a" ice_role): facing an ICE-lite peer it must control"
    fi
    if [ -z "$why" ]; then
        local got
        got="RTP received dsrtp $(json_val "$d" rtp_received)"
        got="$got, aiortc $(json_val "$a" packets_received);"
        got="$got $(json_str "$d" profile) = $(json_str "$a" profile); DTLS $our_role/$their_role"
        pass "$label: $got"
    else
        fail "$label: $why"
    fi
}

# Our answer to an aiortc offer: PCMU only, BUNDLE and mid echoed, rtcp-mux, ICE-lite.
check_answer() {
    local label=$1 f=$D/dsrtp.sdp why=""
    local mid
    mid=$(tr -d '\r' <"$D/aiortc.sdp" | sed -n 's/^a=mid:\(.*\)$/\1/p' | head -n 1)
    if ! tr -d '\r' <"$f" | grep -qE '^m=audio [1-9][0-9]* UDP/TLS/RTP/SAVPF 0$'; then
        why="m= line is not 'audio PORT UDP/TLS/RTP/SAVPF 0': $(grep '^m=' "$f")"
    elif ! tr -d '\r' <"$f" | grep -qx "a=mid:$mid"; then
        why="a=mid:$mid not echoed"
    elif ! tr -d '\r' <"$f" | grep -qx "a=group:BUNDLE $mid"; then
        why="no a=group:BUNDLE $mid"
    elif ! tr -d '\r' <"$f" | grep -qx 'a=rtcp-mux'; then
        why="no a=rtcp-mux"
    elif ! tr -d '\r' <"$f" | grep -qx 'a=ice-lite'; then
        why="no a=ice-lite"
    elif ! tr -d '\r' <"$f" | grep -qx 'a=setup:active'; then
        why="a=setup is not active"
    elif ! tr -d '\r' <"$f" | grep -q '^a=fingerprint:sha-256 '; then
        why="no sha-256 fingerprint"
    fi
    if [ -z "$why" ]; then
        pass "$label: our answer has PCMU only, BUNDLE/mid $mid, rtcp-mux, ice-lite, setup active"
    else
        fail "$label: $why"
    fi
}

started=$SECONDS
run_call aiortc-offers aiortc
check_call "aiortc offers, dsrtp answers ($((SECONDS - started)) s)" client server
check_answer "aiortc offers"

started=$SECONDS
run_call dsrtp-offers dsrtp
check_call "dsrtp offers, aiortc answers ($((SECONDS - started)) s)" server client
if tr -d '\r' <"$D/aiortc.sdp" | grep -qE '^m=audio [0-9]+ UDP/TLS/RTP/SAVPF 0$'; then
    pass "dsrtp offers: aiortc answered PCMU"
else
    fail "dsrtp offers: aiortc's answer m= line: $(grep '^m=' "$D/aiortc.sdp")"
fi

started=$SECONDS
run_call aiortc-offers-all-codecs aiortc --codecs default
if tr -d '\r' <"$D/aiortc.sdp" | grep -qE '^m=audio [0-9]+ UDP/TLS/RTP/SAVPF 96 0 8$'; then
    check_call "aiortc offers opus/PCMU/PCMA, dsrtp answers ($((SECONDS - started)) s)" \
        client server
    check_answer "aiortc offers opus/PCMU/PCMA"
else
    fail "aiortc's default offer is not opus, PCMU, PCMA: $(grep '^m=' "$D/aiortc.sdp")"
fi

# No ICE password in our logs.
leaks=""
for pwd in $(cat "$WORK"/*/*.sdp | tr -d '\r' | sed -n 's/^a=ice-pwd:\(.*\)$/\1/p' | sort -u); do
    if grep -qF -- "$pwd" "$WORK"/*/dsrtp.out "$WORK"/*/dsrtp.err; then
        leaks="$leaks $pwd"
    fi
done
if grep -qi 'ice-pwd' "$WORK"/*/dsrtp.out "$WORK"/*/dsrtp.err; then
    leaks="$leaks (an a=ice-pwd line)"
fi
if [ -z "$leaks" ]; then
    pass "secrets: no ICE password in dsrtp's output or trace"
else
    fail "secrets: ICE password in dsrtp's logs:$leaks"
fi

echo "# $((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
