#!/usr/bin/env bash
# dsrtpd relays media between two `dsrtp peer` processes, driven over ng like Kamailio does.
#
# The script plays the SIP proxy: it takes the offerer's SDP file, sends an ng offer with
# the flags of the scenario, writes the returned SDP where the answerer reads its remote
# description, takes the answerer's SDP, sends an ng answer, writes the returned SDP where
# the offerer reads it. Both peers must exit 0 (keys agreed, RTP received both ways), then
# ng delete ends the call. Scenarios:
#   1. WebRTC-like DTLS-SRTP offerer  -> plain RTP trunk (RTP/AVP, ICE=remove, DTLS=off)
#   2. SDES offerer                   -> plain RTP trunk (RTP/AVP)
#   3. plain RTP trunk offerer        -> DTLS-SRTP answerer (UDP/TLS/RTP/SAVPF, ICE=force)
#   4. DTLS-SRTP offerer              -> DTLS-SRTP answerer (no flags)
#   5. plain RTP offerer              -> SDES answerer (RTP/SAVP)
#      then twice more with SDES=only-AEAD_AES_256_GCM and rtpp-flags
#      SDES-no-AES_CM_128_HMAC_SHA1_80: our offer carries the one suite left, the peer uses it
#   6. aiortc (python3-aiortc, full ICE) offerer -> plain RTP trunk
#   7. plain RTP offerer              -> aiortc answerer (UDP/TLS/RTP/SAVPF, ICE=force)
#   8. aiortc offerer                 -> SDES answerer (RTP/SAVP, ICE=remove, DTLS=off)
# Afterwards /metrics must show relayed packets both ways and completed DTLS handshakes,
# and the daemon's log must hold no ICE password and no SDES key from any SDP.
#
# usage: bash test_dsrtpd_relay.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_dsrtpd_relay.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTP=$BUILD/dsrtp
DSRTPD=$BUILD/dsrtpd
PY=/usr/bin/python3
AIORTC_PEER=$SRC/tests/peers/aiortc_peer.py
RUN_SECONDS=25

source "$SRC/tests/cli/lib.sh" dsrtpd-relay

gw_start 40

# start_peer KIND ROLE LOCAL_SDP REMOTE_SDP DURATION OUT_PREFIX: a background endpoint,
# `dsrtp peer --keying KIND` (the answerer echoes) or, for KIND aiortc, aiortc (PCMU only).
start_peer() {
    local kind=$1 role=$2 local_sdp=$3 remote_sdp=$4 duration=$5 out=$6
    if [ "$kind" = aiortc ]; then
        timeout $RUN_SECONDS "$PY" "$AIORTC_PEER" --role "$role" --local-sdp "$local_sdp" \
            --remote-sdp "$remote_sdp" --duration "$duration" --codecs pcmu --trace \
            >"$out.out" 2>"$out.err" &
    else
        local echo=""
        [ "$role" = answer ] && echo=--echo
        "$DSRTP" peer --role "$role" --local-sdp "$local_sdp" --remote-sdp "$remote_sdp" \
            --duration "$duration" --keying "$kind" $echo --trace >"$out.out" 2>"$out.err" &
    fi
}

# run_call NAME OFFERER ANSWERER OFFER_FLAGS_JSON(fragment)
run_call() {
    local name=$1 ok=$2 ak=$3 flags=$4 D=$WORK/$1
    mkdir -p "$D"
    start_peer "$ok" offer "$D/offer.sdp" "$D/answer_in.sdp" 3 "$D/offer"
    local op=$!
    if ! wait_file "$D/offer.sdp"; then
        fail "$name: offerer wrote no SDP"
        return
    fi
    ng "{\"command\":\"offer\",\"call-id\":\"$name\",\"from-tag\":\"$name-a\"$flags}" \
        --sdp-file "$D/offer.sdp" --out-sdp "$D/offer_in.sdp" >"$D/ng_offer.json"
    if ! grep -q '"result": "ok"' "$D/ng_offer.json"; then
        fail "$name: ng offer ($(cat "$D/ng_offer.json"))"
        kill $op 2>/dev/null
        return
    fi
    start_peer "$ak" answer "$D/answer.sdp" "$D/offer_in.sdp" 5 "$D/answer"
    local ap=$!
    if ! wait_file "$D/answer.sdp"; then
        fail "$name: answerer wrote no SDP"
        kill $op 2>/dev/null
        return
    fi
    ng "{\"command\":\"answer\",\"call-id\":\"$name\",\"from-tag\":\"$name-a\",\"to-tag\":\"$name-b\"}" \
        --sdp-file "$D/answer.sdp" --out-sdp "$D/answer_in.sdp" >"$D/ng_answer.json"
    if ! grep -q '"result": "ok"' "$D/ng_answer.json"; then
        fail "$name: ng answer ($(cat "$D/ng_answer.json"))"
    fi
    wait_pid $op $RUN_SECONDS
    local orc=$?
    wait_pid $ap $RUN_SECONDS
    local arc=$?
    if [ $orc -eq 0 ] && [ $arc -eq 0 ]; then
        pass "$name: both peers exit 0 ($(tail -n 1 "$D/offer.out" | cut -c1-80))"
    else
        fail "$name: offerer exit $orc, answerer exit $arc"
        echo "  offer:  $(tail -n 1 "$D/offer.out")"
        echo "  answer: $(tail -n 1 "$D/answer.out")"
    fi
    ng "{\"command\":\"delete\",\"call-id\":\"$name\",\"from-tag\":\"$name-a\"}" >"$D/ng_delete.json"
    if grep -q '"result": "ok"' "$D/ng_delete.json"; then
        pass "$name: ng delete"
    else
        fail "$name: ng delete ($(cat "$D/ng_delete.json"))"
    fi
}

run_call dtls_to_plain dtls none ',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off","rtcp-mux":["demux"]'
grep -q 'RTP/AVP' "$WORK/dtls_to_plain/offer_in.sdp" && ! grep -q 'a=fingerprint\|a=ice-' \
    "$WORK/dtls_to_plain/offer_in.sdp" && pass "dtls_to_plain: trunk offer is plain RTP/AVP" ||
    fail "dtls_to_plain: trunk offer is plain RTP/AVP"
grep -q 'a=setup:active' "$WORK/dtls_to_plain/answer_in.sdp" &&
    grep -q 'a=ice-lite' "$WORK/dtls_to_plain/answer_in.sdp" &&
    grep -q 'a=candidate:.* 127.0.0.1 ' "$WORK/dtls_to_plain/answer_in.sdp" &&
    pass "dtls_to_plain: WebRTC answer has setup:active, ice-lite and a host candidate" ||
    fail "dtls_to_plain: WebRTC answer has setup:active, ice-lite and a host candidate"
run_call sdes_to_plain sdes none ',"transport-protocol":"RTP/AVP"'
run_call plain_to_dtls none dtls ',"transport-protocol":"UDP/TLS/RTP/SAVPF","ICE":"force"'
grep -q 'a=setup:actpass' "$WORK/plain_to_dtls/offer_in.sdp" &&
    grep -q 'a=ice-ufrag' "$WORK/plain_to_dtls/offer_in.sdp" &&
    pass "plain_to_dtls: WebRTC offer has actpass and ICE-lite" ||
    fail "plain_to_dtls: WebRTC offer has actpass and ICE-lite"
run_call dtls_to_dtls dtls dtls ''
run_call plain_to_sdes none sdes ',"transport-protocol":"RTP/SAVP"'
# SDES=only-<suite> and no-<suite> shape the a=crypto lines we offer; the peer must then
# key its media with the one suite left (AES-256-GCM, RFC 7714; AES_CM_128_HMAC_SHA1_32).
run_call plain_to_sdes_gcm none sdes ',"transport-protocol":"RTP/SAVP","SDES":["only-AEAD_AES_256_GCM"]'
[ "$(grep -c '^a=crypto:' "$WORK/plain_to_sdes_gcm/offer_in.sdp")" = 1 ] &&
    grep -q '^a=crypto:1 AEAD_AES_256_GCM ' "$WORK/plain_to_sdes_gcm/offer_in.sdp" &&
    grep -q '^a=crypto:1 AEAD_AES_256_GCM ' "$WORK/plain_to_sdes_gcm/answer.sdp" &&
    pass "plain_to_sdes_gcm: SDES=only-AEAD_AES_256_GCM offers that suite alone, and it is used" ||
    fail "plain_to_sdes_gcm: SDES=only-AEAD_AES_256_GCM offers that suite alone, and it is used"
run_call plain_to_sdes_no80 none sdes ',"transport-protocol":"RTP/SAVP","rtpp-flags":"SDES-no-AES_CM_128_HMAC_SHA1_80"'
[ "$(grep -c '^a=crypto:' "$WORK/plain_to_sdes_no80/offer_in.sdp")" = 1 ] &&
    grep -q '^a=crypto:1 AES_CM_128_HMAC_SHA1_32 ' "$WORK/plain_to_sdes_no80/offer_in.sdp" &&
    pass "plain_to_sdes_no80: rtpp-flags SDES-no-AES_CM_128_HMAC_SHA1_80 leaves the _32 suite" ||
    fail "plain_to_sdes_no80: rtpp-flags SDES-no-AES_CM_128_HMAC_SHA1_80 leaves the _32 suite"
# A real WebRTC stack (full ICE agent: it must check and nominate our ICE-lite candidate).
run_call aiortc_to_plain aiortc none ',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off"'
run_call plain_to_aiortc none aiortc ',"transport-protocol":"UDP/TLS/RTP/SAVPF","ICE":"force"'
run_call aiortc_to_sdes aiortc sdes ',"transport-protocol":"RTP/SAVP","ICE":"remove","DTLS":"off"'
grep -q 'RTP/SAVP' "$WORK/aiortc_to_sdes/offer_in.sdp" &&
    grep -q '^a=crypto:' "$WORK/aiortc_to_sdes/offer_in.sdp" &&
    ! grep -q 'a=fingerprint\|a=ice-' "$WORK/aiortc_to_sdes/offer_in.sdp" &&
    pass "aiortc_to_sdes: trunk offer is SDES RTP/SAVP without DTLS or ICE" ||
    fail "aiortc_to_sdes: trunk offer is SDES RTP/SAVP without DTLS or ICE"

# Metrics: relayed packets both ways, completed handshakes (7 DTLS legs above).
M=$WORK/metrics.txt
$PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$HTTP_PORT/metrics', timeout=3).read().decode())" >"$M" 2>/dev/null
metric() { awk -v k="$1" '$1 == k { print $2 }' "$M"; }
a2b=$(metric 'dsrtpd_packets_total{direction="a_to_b",kind="rtp"}')
b2a=$(metric 'dsrtpd_packets_total{direction="b_to_a",kind="rtp"}')
hs=$(metric 'dsrtpd_dtls_handshakes_total{result="ok"}')
[ "${a2b:-0}" -gt 0 ] && [ "${b2a:-0}" -gt 0 ] && pass "metrics: RTP relayed both ways ($a2b, $b2a)" ||
    fail "metrics: RTP relayed both ways (${a2b:-none}, ${b2a:-none})"
[ "${hs:-0}" -ge 7 ] && pass "metrics: $hs DTLS handshakes completed" ||
    fail "metrics: DTLS handshakes completed (${hs:-none})"
[ "$(metric 'dsrtpd_calls')" = "0" ] && pass "metrics: no call left" || fail "metrics: no call left"

# No secret from any SDP may appear in the daemon's log.
leaked=0
for f in "$WORK"/*/*.sdp; do
    for s in $(sed -n 's/^a=ice-pwd:\(.*\)\r\{0,1\}$/\1/p; s/^a=crypto:[0-9]* [A-Z0-9_]* inline:\([^| ]*\).*$/\1/p' "$f" | tr -d '\r'); do
        grep -qF -- "$s" "$LOG" "$WORK/dsrtpd.err" && leaked=1
    done
done
[ $leaked -eq 0 ] && pass "log holds no ICE password or SDES key" || fail "log leaks secrets"

gw_stop $DAEMON

echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
