#!/usr/bin/env bash
# dsrtpd --max-handshakes: with a cap of 2 on one worker, 8 calls answered at once (a
# WebRTC-like DTLS-SRTP offerer, `dsrtp peer`, towards a plain RTP trunk, as scenario 1 of
# test_dsrtpd_relay.sh) all connect: both peers of every call exit 0 (keys agreed, RTP
# both ways). Every answer is sent before any offerer may read its own (the answered SDP
# goes into place only afterwards), so the offerers cannot finish a handshake while the
# answers arrive: 2 legs start and 6 must queue. /metrics must then show 8 completed
# handshakes, at most 2 ever running at once (exactly 2: the cap was reached), none left
# running or queued; the log must show 6 legs queued.
# Then the queue under churn: 4 more calls answered while none of their offerers can finish
# a handshake (2 run, 2 queue); deleting a running call and a queued one, and re-offering
# (then re-answering) the other queued one, must leave 2 running and none queued, the two
# surviving calls must connect, and the daemon must keep serving and exit 0 on SIGTERM (the
# ASan run of this test also catches any use of a freed or leaked queue entry).
#
# usage: bash test_dsrtpd_handshake_cap.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_dsrtpd_handshake_cap.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTP=$BUILD/dsrtp
DSRTPD=$BUILD/dsrtpd
PY=/usr/bin/python3
CALLS=8
CAP=2
RUN_SECONDS=30

source "$SRC/tests/cli/lib.sh" dsrtpd-hscap

gw_start 40 --workers 1 --max-handshakes $CAP --verbose

declare -a OFFERER ANSWERER
FLAGS=',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off","rtcp-mux":["demux"]'
# start_call I DIR: offerer up, ng offer, answerer up (for the call "cap$I").
start_call() {
    local i=$1 D=$2
    mkdir -p "$D"
    "$DSRTP" peer --role offer --local-sdp "$D/offer.sdp" --remote-sdp "$D/answer_in.sdp" \
        --duration 3 --keying dtls --trace >"$D/offer.out" 2>"$D/offer.err" &
    OFFERER[i]=$!
    if ! wait_file "$D/offer.sdp" 15 "${OFFERER[i]}"; then
        fail "call$i: offerer wrote no SDP"
        return
    fi
    ng "{\"command\":\"offer\",\"call-id\":\"cap$i\",\"from-tag\":\"cap$i-a\"$FLAGS}" \
        --sdp-file "$D/offer.sdp" --out-sdp "$D/offer_in.sdp" >"$D/ng_offer.json"
    grep -q '"result": "ok"' "$D/ng_offer.json" || fail "call$i: ng offer ($(cat "$D/ng_offer.json"))"
    "$DSRTP" peer --role answer --local-sdp "$D/answer.sdp" --remote-sdp "$D/offer_in.sdp" \
        --duration 5 --keying none --echo --trace >"$D/answer.out" 2>"$D/answer.err" &
    ANSWERER[i]=$!
}

# answer_call I DIR: the ng answer; what dsrtpd returns for the offerer is staged.
answer_call() {
    local i=$1 D=$2
    if ! wait_file "$D/answer.sdp" 15; then
        fail "call$i: answerer wrote no SDP"
        return
    fi
    ng "{\"command\":\"answer\",\"call-id\":\"cap$i\",\"from-tag\":\"cap$i-a\",\"to-tag\":\"cap$i-b\"}" \
        --sdp-file "$D/answer.sdp" --out-sdp "$D/answer_staged.sdp" >"$D/ng_answer.json"
    grep -q '"result": "ok"' "$D/ng_answer.json" || fail "call$i: ng answer ($(cat "$D/ng_answer.json"))"
}

# Offers: every call's offerer up and its offer through the gateway, then its answerer.
for ((i = 0; i < CALLS; i++)); do
    start_call $i "$WORK/call$i"
done
# Answers: all of them before any offerer sees its own.
for ((i = 0; i < CALLS; i++)); do
    answer_call $i "$WORK/call$i"
done
queued=$(grep -c 'msg="DTLS handshake queued"' "$LOG")
[ "$queued" -eq $((CALLS - CAP)) ] && pass "$queued DTLS legs queued behind the first $CAP" ||
    fail "DTLS legs queued: $queued, expected $((CALLS - CAP))"
for ((i = 0; i < CALLS; i++)); do
    mv "$WORK/call$i/answer_staged.sdp" "$WORK/call$i/answer_in.sdp" 2>/dev/null
done
ok=0
for ((i = 0; i < CALLS; i++)); do
    wait_pid "${OFFERER[i]}" $RUN_SECONDS
    orc=$?
    wait_pid "${ANSWERER[i]}" $RUN_SECONDS
    arc=$?
    if [ $orc -eq 0 ] && [ $arc -eq 0 ]; then
        ok=$((ok + 1))
    else
        echo "  call$i: offerer exit $orc ($(tail -n 1 "$WORK/call$i/offer.out")), answerer exit $arc"
    fi
done
[ $ok -eq $CALLS ] && pass "all $CALLS calls connected (both peers exit 0)" ||
    fail "$ok of $CALLS calls connected"

M=$WORK/metrics.txt
$PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$HTTP_PORT/metrics', timeout=3).read().decode())" >"$M" 2>/dev/null
metric() { awk -v k="$1" '$1 == k { print $2 }' "$M"; }
hs=$(metric 'dsrtpd_dtls_handshakes_total{result="ok"}')
peak=$(metric dsrtpd_dtls_handshakes_in_progress_max)
[ "${hs:-0}" -eq $CALLS ] && pass "metrics: $hs DTLS handshakes completed" ||
    fail "metrics: DTLS handshakes completed (${hs:-none}, expected $CALLS)"
[ "${peak:-99}" -eq $CAP ] && pass "metrics: at most $CAP handshakes ran at once ($peak)" ||
    fail "metrics: most handshakes at once ${peak:-none}, cap $CAP"
[ "$(metric dsrtpd_dtls_handshakes_in_progress)" = 0 ] &&
    [ "$(metric dsrtpd_dtls_handshakes_queued)" = 0 ] &&
    pass "metrics: no handshake left running or queued" ||
    fail "metrics: handshakes left running ($(metric dsrtpd_dtls_handshakes_in_progress)) or queued ($(metric dsrtpd_dtls_handshakes_queued))"

for ((i = 0; i < CALLS; i++)); do
    ng "{\"command\":\"delete\",\"call-id\":\"cap$i\",\"from-tag\":\"cap$i-a\"}" >/dev/null
done

# The queue under churn: calls 8..11; 8 and 9 run their handshakes, 10 and 11 queue.
for ((i = CALLS; i < CALLS + 4; i++)); do
    start_call $i "$WORK/call$i"
done
for ((i = CALLS; i < CALLS + 4; i++)); do
    answer_call $i "$WORK/call$i"
done
q0=$CALLS q1=$((CALLS + 1)) q2=$((CALLS + 2)) q3=$((CALLS + 3))
queued=$(grep -c 'msg="DTLS handshake queued"' "$LOG")
[ "$queued" -eq $((CALLS - CAP + 2)) ] && pass "churn: 2 more legs queued" ||
    fail "churn: legs queued in all $queued, expected $((CALLS - CAP + 2))"
for i in $q0 $q3; do # a running call and a queued one go
    ng "{\"command\":\"delete\",\"call-id\":\"cap$i\",\"from-tag\":\"cap$i-a\"}" \
        >"$WORK/call$i/ng_delete.json"
    grep -q '"result": "ok"' "$WORK/call$i/ng_delete.json" && pass "churn: delete cap$i" ||
        fail "churn: delete cap$i ($(cat "$WORK/call$i/ng_delete.json"))"
    kill "${OFFERER[i]}" "${ANSWERER[i]}" 2>/dev/null
done
D=$WORK/call$q2 # the queued call left: a re-offer and its answer while it waits or starts
ng "{\"command\":\"offer\",\"call-id\":\"cap$q2\",\"from-tag\":\"cap$q2-a\"$FLAGS}" \
    --sdp-file "$D/offer.sdp" --out-sdp "$D/offer_again.sdp" >"$D/ng_reoffer.json"
grep -q '"result": "ok"' "$D/ng_reoffer.json" && pass "churn: re-offer to the queued call" ||
    fail "churn: re-offer to the queued call ($(cat "$D/ng_reoffer.json"))"
answer_call $q2 "$D"
M=$WORK/metrics2.txt
$PY -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$HTTP_PORT/metrics', timeout=3).read().decode())" >"$M" 2>/dev/null
run=$(metric dsrtpd_dtls_handshakes_in_progress)
que=$(metric dsrtpd_dtls_handshakes_queued)
[ "$run" = 2 ] && [ "$que" = 0 ] &&
    pass "churn: the freed slot went to the queued call (2 running, 0 queued)" ||
    fail "churn: running ${run:-none}, queued ${que:-none}; expected 2 and 0"
for i in $q1 $q2; do
    mv "$WORK/call$i/answer_staged.sdp" "$WORK/call$i/answer_in.sdp" 2>/dev/null
done
for i in $q1 $q2; do
    wait_pid "${OFFERER[i]}" $RUN_SECONDS
    orc=$?
    wait_pid "${ANSWERER[i]}" $RUN_SECONDS
    arc=$?
    [ $orc -eq 0 ] && [ $arc -eq 0 ] && pass "churn: cap$i connected (both peers exit 0)" ||
        fail "churn: cap$i: offerer exit $orc ($(tail -n 1 "$WORK/call$i/offer.out")), answerer exit $arc"
done
ng '{"command":"ping"}' --timeout 1 | grep -q pong && pass "churn: dsrtpd still serves" ||
    fail "churn: dsrtpd does not answer ping"
for i in $q1 $q2; do
    ng "{\"command\":\"delete\",\"call-id\":\"cap$i\",\"from-tag\":\"cap$i-a\"}" >/dev/null
done
gw_stop $DAEMON

echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
