#!/usr/bin/env bash
# The main job on loopback: two dsrtp endpoints exchange SDP offer/answer through files,
# run the DTLS handshake on the media port and send five seconds of SRTP audio both ways,
# tracing each step. Exit 0 only if both sides agreed keys and received media.
set -euo pipefail
build=${1:-build}
seconds=${DEMO_SECONDS:-5}
dsrtp="$build/dsrtp"
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT

echo "== dsrtp demo: DTLS-SRTP between two endpoints on 127.0.0.1 =="
echo "   offer  -> $work/offer.sdp"
echo "   answer -> $work/answer.sdp"
export DSRTP_TRACE_EPOCH=$(date +%s%6N)
echo
"$dsrtp" peer --role offer --local-sdp "$work/offer.sdp" --remote-sdp "$work/answer.sdp" \
    --duration "$seconds" --send tone --trace >"$work/offer.json" 2>"$work/offer.log" &
offer_pid=$!
"$dsrtp" peer --role answer --local-sdp "$work/answer.sdp" --remote-sdp "$work/offer.sdp" \
    --duration "$seconds" --send tone --trace >"$work/answer.json" 2>"$work/answer.log" &
answer_pid=$!
offer_rc=0
answer_rc=0
wait $offer_pid || offer_rc=$?
wait $answer_pid || answer_rc=$?

# Both traces share one time base (DSRTP_TRACE_EPOCH): merge them in time order.
cat "$work/offer.log" "$work/answer.log" | sed -E 's/^\[(offer|answer) +([0-9.]+) ms\] (.*)$/\2 \1 \3/' |
    sort -s -n -k1,1 | awk '{ t=$1; side=$2; $1=""; $2=""; sub(/^  /, ""); printf "%9.1f ms  %-6s  %s\n", t, side, $0 }'
echo
echo "offer  result: $(cat "$work/offer.json")"
echo "answer result: $(cat "$work/answer.json")"
if [[ $offer_rc -eq 0 && $answer_rc -eq 0 ]]; then
    echo "demo: keys agreed over DTLS, SRTP audio flowed both ways"
    exit 0
fi
echo "demo: FAILED (offer exit $offer_rc, answer exit $answer_rc)"
exit 1
