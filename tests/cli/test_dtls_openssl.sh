#!/usr/bin/env bash
# Interop: `dsrtp dtls` against OpenSSL's own DTLS stack (openssl s_server / s_client with
# -use_srtp and -keymatexport) on 127.0.0.1, in both roles and for each of the four
# DTLS-SRTP profiles. The keying material both sides export (RFC 5705, label
# EXTRACTOR-dtls_srtp, RFC 5764 §4.2) must be the same bytes, the profile the same, and each
# side must have seen the other's certificate. Negative checks: a wrong fingerprint and no
# common profile must make dsrtp exit 1, say why, and print no keying material.
#
# usage: bash test_dtls_openssl.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
# One line per check; exit status 1 if any check failed. Every wait is bounded and every
# child is killed on exit.
set -u

BUILD=${1:?usage: test_dtls_openssl.sh BUILD_DIR}
DSRTP=$BUILD/dsrtp
HOST=127.0.0.1
FEED_SECONDS=20    # openssl quits at end of input: keep its stdin open this long at most
WAIT_SECONDS=15    # bound on any one process we wait for
DSRTP_TIMEOUT=10   # dsrtp's own handshake timeout

SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SRC/tests/cli/lib.sh" dtls-openssl

# Waits up to $3 seconds for file $1 to contain the pattern $2 (grep -E).
wait_for_text() {
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

upper() { tr '[:lower:]' '[:upper:]'; }

# "sha256 Fingerprint=AB:.." (openssl x509) -> "sha-256 AB:.." (SDP).
pem_fingerprint() {
    local line
    line=$(openssl x509 -noout -fingerprint -sha256 -in "$1") || return 1
    echo "sha-256 ${line#*=}"
}

# The keying material in openssl's output ("Keying material: HEX") and in dsrtp's JSON.
openssl_keymat() {
    sed -n 's/^ *Keying material: *\([0-9A-Fa-f]*\).*/\1/p' "$1" | head -n 1 | upper
}
dsrtp_keymat() {
    sed -n 's/.*"keying_material":"\([0-9a-fA-F]*\)".*/\1/p' "$1" | head -n 1 | upper
}
json_field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1; }
openssl_profile() { sed -n 's/^SRTP Extension negotiated, profile=\(.*\)$/\1/p' "$1" | head -n 1; }

# A random port in 20000..59999; callers retry when it turns out to be taken.
random_port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000)); }

# Starts an openssl command in the background with stdin fed by a sleep through a FIFO (so
# it does not see end of input early), output to $1. Sets OSSL_PID and FEED_PID.
start_openssl() {
    local out=$1 fifo
    shift
    fifo=$(mktemp -u "$WORK/feed.XXXXXX")
    mkfifo "$fifo" || return 1
    openssl "$@" <"$fifo" >"$out" 2>&1 &
    OSSL_PID=$!
    sleep "$FEED_SECONDS" >"$fifo" &
    FEED_PID=$!
}

stop_feed() { kill "$FEED_PID" 2>/dev/null; wait "$FEED_PID" 2>/dev/null; }

# s_server on a random free port: tries a few ports until one accepts. Sets SPORT.
start_s_server() {
    local out=$1 try
    shift
    for try in 1 2 3 4 5 6 7 8; do
        SPORT=$(random_port)
        start_openssl "$out" s_server -dtls1_2 -accept "$HOST:$SPORT" -naccept 1 -verify 1 \
            -cert "$WORK/peer.pem" -key "$WORK/peer.key" "$@"
        if wait_for_text "$out" '^ACCEPT' 5; then
            return 0
        fi
        kill "$OSSL_PID" 2>/dev/null
        wait "$OSSL_PID" 2>/dev/null
        stop_feed
    done
    return 1
}

# dsrtp --listen on port 0; the chosen port is read from its stderr. Sets DPID, DPORT.
start_dsrtp_server() {
    local out=$1 err=$2
    shift 2
    "$DSRTP" dtls --listen "$HOST:0" --timeout "$DSRTP_TIMEOUT" --json "$@" >"$out" 2>"$err" &
    DPID=$!
    wait_for_text "$err" 'listening on ' 5 || return 1
    DPORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$err" | head -n 1)
    [ -n "$DPORT" ]
}

# --- setup -----------------------------------------------------------------------------

if [ ! -x "$DSRTP" ]; then
    echo "FAIL - $DSRTP is not built"
    exit 1
fi
if ! command -v openssl >/dev/null; then
    echo "FAIL - the openssl command is needed (apt-get install openssl)"
    exit 1
fi
echo "# $(openssl version)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=peer -keyout "$WORK/peer.key" -out "$WORK/peer.pem" >/dev/null 2>&1
PEER_FP=$(pem_fingerprint "$WORK/peer.pem")
OUR_FP=$("$DSRTP" cert --cert-out "$WORK/our.pem" --key-out "$WORK/our.key")
OTHER_FP=$("$DSRTP" cert --cert-out "$WORK/other.pem" --key-out "$WORK/other.key")
if [[ "$PEER_FP" == "sha-256 "??:* && "$OUR_FP" == "sha-256 "??:* ]]; then
    pass "certificates: openssl peer $PEER_FP"
else
    fail "certificates: peer '$PEER_FP', ours '$OUR_FP'"
    exit 1
fi
if [ "$(pem_fingerprint "$WORK/our.pem")" = "$OUR_FP" ] &&
    [ "$(stat -c %a "$WORK/our.key")" = 600 ]; then
    pass "dsrtp cert: fingerprint matches openssl's, key file mode 0600"
else
    fail "dsrtp cert: fingerprint or key file mode wrong ($(stat -c %a "$WORK/our.key"))"
fi
"$DSRTP" dtls --connect "$HOST:9" --json >/dev/null 2>"$WORK/usage.err"
rc=$?
if [ $rc -eq 2 ] && grep -q -- '--fingerprint is required' "$WORK/usage.err"; then
    pass "dsrtp dtls without --fingerprint: usage error (exit 2)"
else
    fail "dsrtp dtls without --fingerprint: exit $rc"
fi

# OpenSSL profile name, our name, export length (2 * (key + salt)).
PROFILES=(
    "SRTP_AES128_CM_SHA1_80 AES_CM_128_HMAC_SHA1_80 60"
    "SRTP_AES128_CM_SHA1_32 AES_CM_128_HMAC_SHA1_32 60"
    "SRTP_AEAD_AES_128_GCM AEAD_AES_128_GCM 56"
    "SRTP_AEAD_AES_256_GCM AEAD_AES_256_GCM 88"
)

# Compares the two outputs of one positive run. $1 label, $2 dsrtp rc, $3 dsrtp JSON,
# $4 dsrtp stderr, $5 openssl output, $6 our profile name, $7 openssl profile name, $8 len.
compare_run() {
    local label=$1 rc=$2 dout=$3 derr=$4 oout=$5 ours=$6 theirs=$7 len=$8
    local dk ok why=""
    dk=$(dsrtp_keymat "$dout")
    ok=$(openssl_keymat "$oout")
    if [ "$rc" -ne 0 ]; then
        why="dsrtp exit $rc: $(tail -n 1 "$derr")"
    elif [ -z "$dk" ] || [ ${#dk} -ne $((2 * len)) ]; then
        why="dsrtp keying material missing or not $len bytes"
    elif [ -z "$ok" ]; then
        why="openssl printed no keying material: $(grep -m1 -iE 'error|alert' "$oout")"
    elif [ "$dk" != "$ok" ]; then
        why="keying material differs: dsrtp $dk, openssl $ok"
    elif [ "$(json_field "$dout" profile)" != "$ours" ]; then
        why="dsrtp says profile $(json_field "$dout" profile)"
    elif [ "$(openssl_profile "$oout")" != "$theirs" ]; then
        why="openssl says profile '$(openssl_profile "$oout")'"
    elif [ "$(json_field "$dout" remote_fingerprint)" != "$PEER_FP" ]; then
        why="dsrtp saw remote fingerprint $(json_field "$dout" remote_fingerprint)"
    elif [ "$(json_field "$dout" local_fingerprint)" != "$OUR_FP" ]; then
        why="dsrtp reports local fingerprint $(json_field "$dout" local_fingerprint)"
    fi
    if [ -z "$why" ]; then
        pass "$label: $len bytes of keying material match ($(json_field "$dout" role))"
    else
        fail "$label: $why"
    fi
}

# dsrtp is the DTLS client, openssl s_server the server.
run_dsrtp_client() {
    local label=$1 oprof=$2 ours=$3 len=$4 fp=$5 n=$6
    local sout="$WORK/s_server.$n" dout="$WORK/dsrtp.$n.json" derr="$WORK/dsrtp.$n.err" rc
    if ! start_s_server "$sout" -use_srtp "$oprof" -keymatexport EXTRACTOR-dtls_srtp \
        -keymatexportlen "$len"; then
        fail "$label: openssl s_server did not start: $(head -n 3 "$sout")"
        return 1
    fi
    timeout $((DSRTP_TIMEOUT + 5)) "$DSRTP" dtls --connect "$HOST:$SPORT" --cert "$WORK/our.pem" \
        --key "$WORK/our.key" --fingerprint "$fp" --profiles "$ours" \
        --timeout "$DSRTP_TIMEOUT" --json >"$dout" 2>"$derr"
    rc=$?
    # s_server -naccept 1 ends after our close_notify (or the alert); bounded anyway.
    wait_pid "$OSSL_PID" 5 >/dev/null
    stop_feed
    LAST_RC=$rc LAST_DOUT=$dout LAST_DERR=$derr LAST_OOUT=$sout
}

# dsrtp is the DTLS server, openssl s_client the client.
run_dsrtp_server() {
    local label=$1 oprof=$2 ours=$3 len=$4 fp=$5 n=$6
    local cout="$WORK/s_client.$n" dout="$WORK/dsrtp.$n.json" derr="$WORK/dsrtp.$n.err" rc
    if ! start_dsrtp_server "$dout" "$derr" --cert "$WORK/our.pem" --key "$WORK/our.key" \
        --fingerprint "$fp" --profiles "$ours"; then
        fail "$label: dsrtp --listen did not start: $(head -n 3 "$derr")"
        return 1
    fi
    start_openssl "$cout" s_client -dtls1_2 -connect "$HOST:$DPORT" -cert "$WORK/peer.pem" \
        -key "$WORK/peer.key" -use_srtp "$oprof" -keymatexport EXTRACTOR-dtls_srtp \
        -keymatexportlen "$len"
    wait_pid "$DPID" "$WAIT_SECONDS"
    rc=$?
    # s_client ends on our close_notify (or the alert); bounded anyway.
    wait_pid "$OSSL_PID" 5 >/dev/null
    stop_feed
    LAST_RC=$rc LAST_DOUT=$dout LAST_DERR=$derr LAST_OOUT=$cout
}

# --- the matrix: both roles x four profiles ---------------------------------------------

n=0
for entry in "${PROFILES[@]}"; do
    read -r oprof ours len <<<"$entry"
    n=$((n + 1))
    label="dsrtp client vs s_server, $ours"
    if run_dsrtp_client "$label" "$oprof" "$ours" "$len" "$PEER_FP" "c$n"; then
        compare_run "$label" "$LAST_RC" "$LAST_DOUT" "$LAST_DERR" "$LAST_OOUT" "$ours" \
            "$oprof" "$len"
    fi
    # The server side is given OpenSSL's spelling of the profile: both are accepted.
    label="dsrtp server vs s_client, $ours"
    if run_dsrtp_server "$label" "$oprof" "$oprof" "$len" "$PEER_FP" "s$n"; then
        compare_run "$label" "$LAST_RC" "$LAST_DOUT" "$LAST_DERR" "$LAST_OOUT" "$ours" \
            "$oprof" "$len"
    fi
done

# --- negative checks ---------------------------------------------------------------------

# $1 label, $2 expected JSON failure code, $3 stderr pattern, $4 what openssl's output
# must show: its alert for a refused certificate, or no SRTP extension negotiated. (s_client
# prints its session, keying material included, even when the handshake failed, so that
# line proves nothing there.)
expect_refusal() {
    local label=$1 code=$2 pattern=$3 peer_view=$4 why=""
    if [ "$LAST_RC" -ne 1 ]; then
        why="dsrtp exit $LAST_RC, expected 1"
    elif [ "$(json_field "$LAST_DOUT" failure)" != "$code" ]; then
        why="failure '$(json_field "$LAST_DOUT" failure)', expected '$code'"
    elif ! grep -qiE "$pattern" "$LAST_DERR"; then
        why="stderr does not say why: $(tail -n 1 "$LAST_DERR")"
    elif grep -qi 'keying' "$LAST_DOUT"; then
        why="keying material was printed"
    elif [ "$peer_view" = alert ] && ! grep -q 'alert bad certificate' "$LAST_OOUT"; then
        why="openssl did not get a bad_certificate alert"
    elif [ "$peer_view" = no-srtp ] && grep -q '^SRTP Extension negotiated' "$LAST_OOUT"; then
        why="openssl negotiated $(openssl_profile "$LAST_OOUT"): not the case under test"
    fi
    if [ -z "$why" ]; then
        pass "$label: refused ($(sed -n 's/.*handshake failed: //p' "$LAST_DERR" | head -n 1))"
    else
        fail "$label: $why"
    fi
}

label="wrong fingerprint, dsrtp client vs s_server"
if run_dsrtp_client "$label" SRTP_AES128_CM_SHA1_80 AES_CM_128_HMAC_SHA1_80 60 "$OTHER_FP" nf1; then
    expect_refusal "$label" fingerprint 'does not match the fingerprint' alert
fi
label="wrong fingerprint, dsrtp server vs s_client"
if run_dsrtp_server "$label" SRTP_AES128_CM_SHA1_80 AES_CM_128_HMAC_SHA1_80 60 "$OTHER_FP" nf2; then
    expect_refusal "$label" fingerprint 'does not match the fingerprint' alert
fi
# OpenSSL completes the handshake without use_srtp when nothing is in common (PEERS.md):
# dsrtp must still refuse.
label="no common profile, dsrtp client vs s_server"
if run_dsrtp_client "$label" SRTP_AES128_CM_SHA1_32 AEAD_AES_128_GCM 56 "$PEER_FP" np1; then
    expect_refusal "$label" no_profile 'no SRTP profile in common' no-srtp
fi
label="no common profile, dsrtp server vs s_client"
if run_dsrtp_server "$label" SRTP_AES128_CM_SHA1_32 AEAD_AES_128_GCM 56 "$PEER_FP" np2; then
    expect_refusal "$label" no_profile 'no SRTP profile in common' no-srtp
fi

echo "# $((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
