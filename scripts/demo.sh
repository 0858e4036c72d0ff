#!/usr/bin/env bash
# The main job on loopback: two dsrtp endpoints exchange SDP offer/answer through files,
# run the DTLS handshake on the media port and send five seconds of SRTP audio both ways,
# each tracing its steps as they happen (one shared time base). Exit 0 only if both sides
# agreed keys and received media.
set -euo pipefail
build=${1:-build}
seconds=${DEMO_SECONDS:-5}
dsrtp="$build/dsrtp"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== dsrtp demo: DTLS-SRTP between two endpoints on 127.0.0.1, ${seconds} s of audio =="
echo "   offer SDP  -> $work/offer.sdp"
echo "   answer SDP -> $work/answer.sdp"
echo "   (ms since start, side, step; keys and ICE passwords are never printed)"
echo
# Both traces share one wall-clock time base, so their lines interleave in order.
export DSRTP_TRACE_EPOCH=$(date +%s%6N)
"$dsrtp" peer --role offer --local-sdp "$work/offer.sdp" --remote-sdp "$work/answer.sdp" \
    --duration "$seconds" --send tone --trace >"$work/offer.json" &
offer_pid=$!
"$dsrtp" peer --role answer --local-sdp "$work/answer.sdp" --remote-sdp "$work/offer.sdp" \
    --duration "$seconds" --send tone --trace >"$work/answer.json" &
answer_pid=$!
offer_rc=0
answer_rc=0
wait $offer_pid || offer_rc=$?
wait $answer_pid || answer_rc=$?
echo
echo "offer  result: $(cat "$work/offer.json")"
echo "answer result: $(cat "$work/answer.json")"
if [[ $offer_rc -eq 0 && $answer_rc -eq 0 ]]; then
    echo "demo: keys agreed over DTLS, SRTP audio flowed both ways"
    exit 0
fi
echo "demo: FAILED (offer exit $offer_rc, answer exit $answer_rc)"
exit 1
