#!/usr/bin/env bash
# `dsrtp peer` against `dsrtp peer` on 127.0.0.1, SDP passed through files.
#
# Good calls, one per keying (DTLS-SRTP, SDES, plain RTP): both ends exit 0, report the
# keying asked for and the same profile, and both received RTP.
# Bad calls, each must fail cleanly (non-zero exit, a reason naming the cause, no media):
#   - DTLS role conflict: the answer's a=setup:active is rewritten to passive on its way to
#     the offerer, so both ends act as DTLS client;
#   - an answer that says a=setup:actpass (only valid in an offer);
#   - fingerprint mismatch: the offer's a=fingerprint is replaced on its way to the answerer;
#   - keying mismatch: an SDES offer to an answerer that takes DTLS only (it must answer
#     with port 0, so the offerer learns at once).
# Finally every log (stdout and --trace stderr of every run) is searched for the secrets
# the SDP files carry: no ICE password and no a=crypto key may appear in any of them.
#
# The SDP files go through a relay: each side writes its own file, the relay copies it
# (optionally edited with sed) to the file the other side reads, with write-then-rename.
#
# usage: bash test_peer_loopback.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
# One line per check; exit status 1 if any check failed. Every wait is bounded and every
# child is killed on exit.
set -u

BUILD=${1:?usage: test_peer_loopback.sh BUILD_DIR}
DSRTP=$BUILD/dsrtp
DURATION=2      # seconds of media in the good calls
RUN_SECONDS=20  # bound on one dsrtp peer process
RELAY_SECONDS=15

SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SRC/tests/cli/lib.sh" peer-loopback
json_num() { json_val "$@"; }

# Copies $1 to $2 once $1 exists, through the sed script $3 (write, then rename).
relay() {
    local from=$1 to=$2 script=$3 i
    for ((i = 0; i < RELAY_SECONDS * 50; i++)); do
        if [ -f "$from" ]; then
            sed -e "$script" "$from" >"$to.tmp" && mv "$to.tmp" "$to"
            return 0
        fi
        sleep 0.02
    done
    return 1
}

# run_call NAME OFFER_KEYING ANSWER_KEYING OFFER_SED ANSWER_SED [ANSWERER_GRACE]
# Runs one call through the relay. Sets D (its directory), ORC and ARC (exit statuses).
# With ANSWERER_GRACE, the answerer is stopped that many seconds after the offerer ended
# (for cases where only the offerer can notice the fault).
run_call() {
    local name=$1 okey=$2 akey=$3 osed=$4 ased=$5 grace=${6:-}
    D=$WORK/$name
    mkdir -p "$D"
    relay "$D/offer.sdp" "$D/offer.in.sdp" "$osed" &
    local r1=$!
    relay "$D/answer.sdp" "$D/answer.in.sdp" "$ased" &
    local r2=$!
    timeout "$RUN_SECONDS" "$DSRTP" peer --role offer --local-sdp "$D/offer.sdp" \
        --remote-sdp "$D/answer.in.sdp" --duration "$DURATION" --keying "$okey" --trace \
        >"$D/offer.out" 2>"$D/offer.err" &
    local op=$!
    timeout "$RUN_SECONDS" "$DSRTP" peer --role answer --local-sdp "$D/answer.sdp" \
        --remote-sdp "$D/offer.in.sdp" --duration "$DURATION" --keying "$akey" --trace \
        >"$D/answer.out" 2>"$D/answer.err" &
    local ap=$!
    wait_pid "$op" $((RUN_SECONDS + 5))
    ORC=$?
    wait_pid "$ap" "${grace:-$((RUN_SECONDS + 5))}"
    ARC=$?
    kill "$r1" "$r2" 2>/dev/null
    wait "$r1" "$r2" 2>/dev/null
}

summary() { echo "$(json_str "$1" state)/$(json_str "$1" reason)"; }

# --- setup -------------------------------------------------------------------------------

if [ ! -x "$DSRTP" ]; then
    echo "FAIL - $DSRTP is not built"
    exit 1
fi

# --- good calls --------------------------------------------------------------------------

# $1 keying, $2 expected profile ("" = any SRTP profile, the same on both sides)
good_call() {
    local k=$1 want=$2 why="" side f op ap
    local started=$SECONDS
    run_call "good-$k" "$k" "$k" "" ""
    local o=$D/offer.out a=$D/answer.out
    op=$(json_str "$o" profile)
    ap=$(json_str "$a" profile)
    if [ "$ORC" -ne 0 ] || [ "$ARC" -ne 0 ]; then
        why="exit offer $ORC ($(summary "$o")), answer $ARC ($(summary "$a"))"
    elif [ "$(json_str "$o" keying)" != "$k" ] || [ "$(json_str "$a" keying)" != "$k" ]; then
        why="keying offer '$(json_str "$o" keying)', answer '$(json_str "$a" keying)'"
    elif [ -z "$op" ] || [ "$op" != "$ap" ]; then
        why="profiles differ: offer '$op', answer '$ap'"
    elif [ -n "$want" ] && [ "$op" != "$want" ]; then
        why="profile $op, expected $want"
    elif [ -z "$want" ] && [ "$op" = NONE ]; then
        why="no SRTP profile"
    fi
    for side in offer answer; do
        f=$D/$side.out
        if [ -z "$why" ] && ! [ "$(json_num "$f" rtp_received)" -gt 0 ] 2>/dev/null; then
            why="$side received no RTP ($(json_num "$f" rtp_received))"
        fi
        if [ -z "$why" ] && [ "$(json_num "$f" auth_failures)" != 0 ]; then
            why="$side counted $(json_num "$f" auth_failures) authentication failures"
        fi
    done
    if [ -z "$why" ] && [ "$k" = dtls ]; then
        local roles
        roles="$(json_str "$o" role)/$(json_str "$a" role)"
        if [ "$roles" != server/client ]; then
            why="DTLS roles offer/answer $roles, expected server/client (answerer active)"
        elif ! grep -q '^a=setup:actpass' "$D/offer.sdp" ||
            ! grep -q '^a=setup:active' "$D/answer.sdp"; then
            why="a=setup is not actpass in the offer and active in the answer"
        fi
    fi
    if [ -z "$why" ] && [ "$k" = sdes ] && ! grep -q '^a=crypto:' "$D/answer.sdp"; then
        why="the SDES answer has no a=crypto line"
    fi
    if [ -z "$why" ] && [ "$k" = none ] && grep -qE '^a=(crypto|fingerprint):' "$D/offer.sdp"; then
        why="the plain-RTP offer carries keying attributes"
    fi
    if [ -z "$why" ]; then
        local got
        got="RTP received $(json_num "$o" rtp_received)/$(json_num "$a" rtp_received)"
        pass "$k: both exit 0, profile $op, $got ($((SECONDS - started)) s)"
    else
        fail "$k: $why"
    fi
}

good_call dtls ""
good_call sdes AES_CM_128_HMAC_SHA1_80
good_call none NONE

# --- bad calls ---------------------------------------------------------------------------

# $1 label, $2 out file, $3 reason pattern (grep -iE). Non-zero exit status in $4, no media.
expect_failed() {
    local label=$1 f=$2 pattern=$3 rc=$4 why=""
    if [ "$rc" -eq 0 ]; then
        why="exit 0"
    elif [ "$rc" -eq 124 ]; then
        why="did not end in time"
    elif [ "$(json_str "$f" state)" != failed ]; then
        why="state '$(json_str "$f" state)', expected failed"
    elif ! json_str "$f" reason | grep -qiE "$pattern"; then
        why="reason '$(json_str "$f" reason)' does not match /$pattern/"
    elif [ "$(json_num "$f" rtp_received)" != 0 ] || [ "$(json_num "$f" rtp_sent)" != 0 ]; then
        why="media flowed: sent $(json_num "$f" rtp_sent), received $(json_num "$f" rtp_received)"
    elif [ "$(json_str "$f" profile)" != NONE ]; then
        why="profile $(json_str "$f" profile) although the call failed"
    fi
    if [ -z "$why" ]; then
        pass "$label: exit $rc, $(json_str "$f" reason)"
    else
        fail "$label: $why"
    fi
}

# Both ends DTLS clients: the offerer reads a=setup:passive where the answerer said active.
started=$SECONDS
run_call role-both-active dtls dtls "" 's/^a=setup:active/a=setup:passive/'
expect_failed "role conflict (both active), offerer" "$D/offer.out" 'role' "$ORC"
expect_failed "role conflict (both active), answerer" "$D/answer.out" 'role' "$ARC"
if ((SECONDS - started <= 10)); then
    pass "role conflict detected within $((SECONDS - started)) s (no handshake timeout)"
else
    fail "role conflict took $((SECONDS - started)) s to detect"
fi

# a=setup:actpass in an answer: the offerer refuses it before any DTLS. The answerer, a DTLS
# client nobody answers, is stopped shortly after.
run_call role-actpass-answer dtls dtls "" 's/^a=setup:active/a=setup:actpass/' 2
expect_failed "a=setup:actpass in the answer, offerer" "$D/offer.out" 'setup|role' "$ORC"

# The answerer pins a fingerprint that is not the offerer's certificate.
OTHER_FP=$("$DSRTP" cert --cert-out "$WORK/other.pem" --key-out "$WORK/other.key")
if [[ "$OTHER_FP" != "sha-256 "??:* ]]; then
    fail "dsrtp cert printed '$OTHER_FP'"
fi
run_call fingerprint dtls dtls "s/^a=fingerprint:.*/a=fingerprint:$OTHER_FP/" ""
if grep -q "^a=fingerprint:$OTHER_FP" "$D/offer.in.sdp" &&
    ! grep -q "^a=fingerprint:$OTHER_FP" "$D/offer.sdp"; then
    pass "fingerprint: the answerer read a substituted a=fingerprint"
else
    fail "fingerprint: the relay did not substitute the offer's fingerprint"
fi
expect_failed "fingerprint mismatch, answerer (checks it)" "$D/answer.out" 'fingerprint' "$ARC"
expect_failed "fingerprint mismatch, offerer (refused)" "$D/offer.out" 'fingerprint' "$ORC"

# SDES offered, DTLS only accepted: the answer rejects the stream with port 0.
started=$SECONDS
run_call keying-mismatch sdes dtls "" ""
expect_failed "keying mismatch (sdes offer, dtls answerer), answerer" "$D/answer.out" \
    'keying' "$ARC"
expect_failed "keying mismatch, offerer" "$D/offer.out" 'port 0|reject' "$ORC"
if grep -qE '^m=audio 0 ' "$D/answer.sdp" && ((SECONDS - started <= 10)); then
    pass "keying mismatch: answered with port 0, both done in $((SECONDS - started)) s"
else
    fail "keying mismatch: no port-0 answer, or the offerer waited ($((SECONDS - started)) s)"
fi

# --- secrets stay out of the logs --------------------------------------------------------

# Every ICE password and every a=crypto inline key that any SDP file of this run carried.
secrets=$(cat "$WORK"/*/*.sdp 2>/dev/null | tr -d '\r' |
    sed -n -e 's/^a=ice-pwd:\(.*\)$/\1/p' \
        -e 's/^a=crypto:[0-9]* [A-Z0-9_]* inline:\([^| ]*\).*$/\1/p' | sort -u)
nsecrets=$(echo "$secrets" | grep -c .)
logs=("$WORK"/*/*.out "$WORK"/*/*.err)
nlogs=${#logs[@]}
leaks=""
while IFS= read -r s; do
    [ -n "$s" ] || continue
    if grep -rlF -- "$s" "$WORK"/*/*.out "$WORK"/*/*.err >/dev/null 2>&1; then
        leaks="$leaks $(grep -lF -- "$s" "$WORK"/*/*.out "$WORK"/*/*.err | head -n 1)"
    fi
done <<<"$secrets"
if grep -qiE 'inline:|ice-pwd' "$WORK"/*/*.out "$WORK"/*/*.err 2>/dev/null; then
    leaks="$leaks $(grep -liE 'inline:|ice-pwd' "$WORK"/*/*.out "$WORK"/*/*.err | head -n 1)"
fi
if [ "$nsecrets" -lt 4 ]; then
    fail "secrets: only $nsecrets ICE passwords / SDES keys found in the SDP files"
elif [ -n "$leaks" ]; then
    fail "secrets: a key or ICE password appears in:$leaks"
else
    pass "secrets: none of $nsecrets ICE passwords and SDES keys appears in $nlogs logs"
fi

echo "# $((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
