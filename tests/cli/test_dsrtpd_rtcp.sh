#!/usr/bin/env bash
# dsrtpd carries RTCP for a trunk without rtcp-mux on a separate port (our RTP port + 1).
#
# A plain-RTP "PBX" (tests/peers/rtp_pbx.py: RTP on P, RTCP on P+1, no a=rtcp-mux) talks
# through the gateway to a `dsrtp peer` with DTLS-SRTP, ICE and rtcp-mux. The script plays
# the SIP proxy over ng as test_dsrtpd_relay.sh does. Scenarios:
#   1. PBX offers (with a=rtcp) -> DTLS answerer: the gateway's leg A has no rtcp-mux
#   2. DTLS offerer -> PBX, flag rtcp-mux demux: leg B is offered no rtcp-mux
#   3. DTLS offerer -> PBX, no flag: rtcp-mux is offered to the PBX, its answer drops it
# Each must show: the DTLS peer exits 0 (keys, RTP both ways) and received RTCP (the PBX's
# sender reports, sent from P+1 to the gateway's odd port); the PBX received RTP on P and
# RTCP on P+1 from the gateway's RTP port + 1 (the DTLS peer's reports, decrypted) and no
# RTCP on P; the SDP towards the PBX carries no a=rtcp-mux.
#
# usage: bash test_dsrtpd_rtcp.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_dsrtpd_rtcp.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTP=$BUILD/dsrtp
DSRTPD=$BUILD/dsrtpd
PY=/usr/bin/python3
PBX=$SRC/tests/peers/rtp_pbx.py
RUN_SECONDS=15

# shellcheck source=lib.sh
source "$SRC/tests/cli/lib.sh" dsrtpd-rtcp

gw_start 20 --workers 2 --io "${DSRTPD_IO:-auto}"
if ! kill -0 $DAEMON 2>/dev/null; then
    fail "dsrtpd did not start ($(head -c 300 "$WORK/dsrtpd.err"))"
    exit 1
fi
# DSRTPD_IO=epoll|uring: the workers must run the loop asked for (auto: whichever).
if [ -n "${DSRTPD_IO:-}" ] && [ "$DSRTPD_IO" != auto ]; then
    want_io=$([ "$DSRTPD_IO" = uring ] && echo io_uring || echo epoll)
    if [ "$(grep -c "msg=\"worker started\" .* io=$want_io\$" "$LOG")" = 2 ]; then
        pass "both workers run the $want_io loop"
    else
        fail "workers do not run the $want_io loop: $(grep 'worker started' "$LOG" | head -2)"
    fi
fi

# A field of the PBX's JSON report.
pbx_field() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2" 2>/dev/null; }

# the m= port of an SDP file
sdp_port() { sed -n 's/^m=audio \([0-9]*\) .*/\1/p' "$1" | head -n 1; }

# run_call NAME PBX_ROLE MUX_OFFERED OFFER_FLAGS_JSON(fragment) [PBX options]
# MUX_OFFERED: yes when the gateway's offer to the PBX carries a=rtcp-mux (scenario 3).
run_call() {
    local name=$1 pbx_role=$2 mux_offered=$3 flags=$4 D=$WORK/$1
    shift 4
    mkdir -p "$D"
    local op ap pbx_out peer_out pbx_sdp_in
    if [ "$pbx_role" = offer ]; then
        timeout $RUN_SECONDS "$PY" "$PBX" --role offer --local-sdp "$D/offer.sdp" \
            --remote-sdp "$D/answer_in.sdp" --duration 4 "$@" >"$D/pbx.out" 2>"$D/pbx.err" &
        op=$!
        pbx_out=$D/pbx.out
        peer_out=$D/peer.out
        pbx_sdp_in=$D/answer_in.sdp
    else
        "$DSRTP" peer --role offer --local-sdp "$D/offer.sdp" --remote-sdp "$D/answer_in.sdp" \
            --duration 3 --keying dtls >"$D/peer.out" 2>"$D/peer.err" &
        op=$!
        pbx_out=$D/pbx.out
        peer_out=$D/peer.out
        pbx_sdp_in=$D/offer_in.sdp
    fi
    if ! wait_file "$D/offer.sdp"; then
        fail "$name: offerer wrote no SDP"
        return
    fi
    ng "{\"command\":\"offer\",\"call-id\":\"$name\",\"from-tag\":\"$name-a\"$flags}" \
        --sdp-file "$D/offer.sdp" --out-sdp "$D/offer_in.sdp" >"$D/ng_offer.json"
    if ! grep -q '"result": "ok"' "$D/ng_offer.json"; then
        fail "$name: ng offer ($(cat "$D/ng_offer.json"))"
        return
    fi
    if [ "$pbx_role" = offer ]; then
        "$DSRTP" peer --role answer --local-sdp "$D/answer.sdp" --remote-sdp "$D/offer_in.sdp" \
            --duration 3 --keying dtls --echo >"$D/peer.out" 2>"$D/peer.err" &
        ap=$!
    else
        timeout $RUN_SECONDS "$PY" "$PBX" --role answer --local-sdp "$D/answer.sdp" \
            --remote-sdp "$D/offer_in.sdp" --duration 4 "$@" >"$D/pbx.out" 2>"$D/pbx.err" &
        ap=$!
    fi
    if ! wait_file "$D/answer.sdp"; then
        fail "$name: answerer wrote no SDP"
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
    ng "{\"command\":\"delete\",\"call-id\":\"$name\",\"from-tag\":\"$name-a\"}" >/dev/null

    if [ $orc -eq 0 ] && [ $arc -eq 0 ]; then
        pass "$name: both ends exit 0"
    else
        fail "$name: offerer exit $orc, answerer exit $arc ($(tail -n 1 "$peer_out"))"
    fi
    local gw_port
    gw_port=$(sdp_port "$pbx_sdp_in")
    if [ "$mux_offered" = yes ]; then
        grep -q 'a=rtcp-mux' "$pbx_sdp_in" && ! grep -q 'a=rtcp-mux' "$D/answer.sdp" &&
            pass "$name: rtcp-mux offered to the PBX, refused in its answer" ||
            fail "$name: rtcp-mux offered to the PBX, refused in its answer"
    else
        ! grep -q 'a=rtcp-mux' "$pbx_sdp_in" && pass "$name: no a=rtcp-mux towards the PBX" ||
            fail "$name: no a=rtcp-mux towards the PBX"
    fi
    local rtcp_rx prx_rtp prx_rtcp sources on_rtp on_rtcp
    rtcp_rx=$(json_val "$peer_out" rtcp_received)
    [ "${rtcp_rx:-0}" -gt 0 ] && pass "$name: DTLS peer received $rtcp_rx RTCP from the PBX's odd port" ||
        fail "$name: DTLS peer received RTCP (${rtcp_rx:-none})"
    prx_rtp=$(pbx_field "$pbx_out" rtp_received)
    [ "${prx_rtp:-0}" -gt 0 ] && pass "$name: PBX received $prx_rtp RTP on P" ||
        fail "$name: PBX received RTP (${prx_rtp:-none})"
    prx_rtcp=$(pbx_field "$pbx_out" rtcp_sr_received)
    sources=$(pbx_field "$pbx_out" rtcp_sources)
    if [ "${prx_rtcp:-0}" -gt 0 ] && [ "$sources" = "['127.0.0.1:$((gw_port + 1))']" ]; then
        pass "$name: PBX received $prx_rtcp SR on P+1 from the gateway's port $((gw_port + 1))"
    else
        fail "$name: PBX received SR on P+1 from port $((gw_port + 1)) (${prx_rtcp:-none}, $sources)"
    fi
    on_rtp=$(pbx_field "$pbx_out" rtcp_on_rtp_port)
    on_rtcp=$(pbx_field "$pbx_out" rtp_on_rtcp_port)
    [ "${on_rtp:-1}" = 0 ] && [ "${on_rtcp:-1}" = 0 ] &&
        pass "$name: RTP and RTCP kept to their own PBX ports" ||
        fail "$name: RTCP on the PBX's RTP port (${on_rtp:-none}) or RTP on its RTCP port (${on_rtcp:-none})"
}

run_call pbx_to_dtls offer no ',"transport-protocol":"UDP/TLS/RTP/SAVPF","ICE":"force"' --rtcp-attr
run_call dtls_to_pbx_demux answer no ',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off","rtcp-mux":["demux"]'
run_call dtls_to_pbx_refused answer yes ',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off"'

gw_stop $DAEMON

echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
