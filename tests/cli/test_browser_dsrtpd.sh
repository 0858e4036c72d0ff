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
# Checks for each: Chromium's getStats() shows the DTLS transport "connected", an SRTP
# cipher, DTLS 1.2, the expected DTLS role and inbound audio packets received; the plain
# peer received RTP and exits 0 (media both ways); ng delete succeeds.
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
BUILD=$(cd "$BUILD" && pwd)
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export DSRTP_SOURCE_DIR=$SRC
CHROMIUM=${DSRTP_CHROMIUM:-/usr/bin/chromium} # Debian's; never a downloaded browser
PY=/usr/bin/python3
NODE_DIR=$BUILD/browser-test
CALL_SECONDS=4

missing=""
[ -x "$CHROMIUM" ] || missing="$missing chromium($CHROMIUM)"
command -v node >/dev/null 2>&1 || missing="$missing node"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "FAIL - missing:$missing (scripts/deps.sh test installs chromium; node/npm come from nodejs)"
    exit 1
fi

# Outside the namespace (it has no route to the registry): install playwright-core once.
if [ -z "${DSRTP_BROWSER_NETNS:-}" ]; then
    mkdir -p "$NODE_DIR"
    cp "$SRC/tests/browser/package.json" "$SRC/tests/browser/call.mjs" "$NODE_DIR/"
    if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
        echo "# npm install playwright-core into $NODE_DIR (no browser download)"
        if ! (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
            timeout 60 npm install --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
            echo "FAIL - npm install playwright-core in $NODE_DIR:"
            tail -n 5 "$NODE_DIR/npm.log"
            exit 1
        fi
    fi
    if unshare -n true 2>/dev/null; then
        echo "# running the call in a network namespace with only lo"
        exec env DSRTP_BROWSER_NETNS=1 unshare -n bash -c \
            'ip link set lo up && exec bash "$0" "$@"' "$0" "$BUILD"
    fi
    echo "# unshare -n is not available: running in the host network namespace"
fi

source "$SRC/tests/cli/lib.sh" browser-dsrtpd

free_ports() { # a free UDP port, a free TCP port, the base of 20 free UDP ports
    $PY - <<'PYEOF'
import random, socket
def free(kind):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]; s.close(); return p
def block():
    for _ in range(200):
        base = random.randrange(20000, 59000, 2); socks = []
        try:
            for p in range(base, base + 20):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", p)); socks.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in socks: s.close()
    return 0
print(free(socket.SOCK_DGRAM), free(socket.SOCK_STREAM), block())
PYEOF
}


read -r NG_PORT HTTP_PORT MEDIA_BASE < <(free_ports)
NG=127.0.0.1:$NG_PORT
"$BUILD/dsrtpd" --listen-ng "$NG" --listen-http "127.0.0.1:$HTTP_PORT" --interface 127.0.0.1 \
    --port-min "$MEDIA_BASE" --port-max $((MEDIA_BASE + 19)) --timeout 30 --log "$WORK/dsrtpd.log" \
    2>"$WORK/dsrtpd.err" &
ng() { $PY "$SRC/tests/peers/ng_client.py" "$NG" "$@"; }
for ((i = 0; i < 50; i++)); do
    ng '{"command":"ping"}' --timeout 0.2 2>/dev/null | grep -q pong && break
    sleep 0.1
done

# browser ROLE DIR: Chromium in the background, SDP through DIR/browser.sdp and DIR/remote.sdp.
browser() {
    timeout 60 node "$NODE_DIR/call.mjs" --role "$1" --chromium "$CHROMIUM" \
        --local-sdp "$2/browser.sdp" --remote-sdp "$2/remote.sdp" --seconds $CALL_SECONDS \
        --wait-remote 25 >"$2/browser.out" 2>"$2/browser.err" &
}

# plain ROLE DIR: the plain-RTP `dsrtp peer` behind the "PBX" (it echoes when it answers).
plain() {
    local echo=""
    [ "$1" = answer ] && echo=--echo
    "$BUILD/dsrtp" peer --role "$1" --keying none $echo --local-sdp "$2/plain.sdp" \
        --remote-sdp "$2/plain_remote.sdp" --duration $((CALL_SECONDS + 5)) --trace \
        >"$2/plain.out" 2>"$2/plain.err" &
}

# ng_step NAME COMMAND FLAGS IN OUT: one ng offer/answer with an SDP file, checked.
ng_step() {
    local to=""
    [ "$2" = answer ] && to=",\"to-tag\":\"$1-b\""
    ng "{\"command\":\"$2\",\"call-id\":\"$1\",\"from-tag\":\"$1-a\"$to$3}" \
        --sdp-file "$4" --out-sdp "$5" >"$4.ng.json"
    grep -q '"result": "ok"' "$4.ng.json" && pass "$1: ng $2" ||
        fail "$1: ng $2 ($(cut -c1-200 "$4.ng.json"))"
}

# check_browser NAME DIR PID DTLS_ROLE: Chromium's stats line after the call.
check_browser() {
    local name=$1 S=$2/browser.out
    wait_pid $3 45
    local rc=$?
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
    ng_step browser_offers offer ',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off","rtcp-mux":["demux"]' \
        "$D/browser.sdp" "$D/plain_remote.sdp"
    plain answer "$D"
    PPID_=$!
    if wait_file "$D/plain.sdp" 15 $PPID_; then
        ng_step browser_offers answer '' "$D/plain.sdp" "$D/remote.sdp"
    else
        fail "browser_offers: the echo peer wrote its SDP"
    fi
    check_browser browser_offers "$D" $BPID server
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
    ng_step browser_answers offer ',"transport-protocol":"UDP/TLS/RTP/SAVPF","ICE":"force"' \
        "$D/trunk.sdp" "$D/remote.sdp"
    if wait_file "$D/browser.sdp" 30 $BPID; then
        ng_step browser_answers answer '' "$D/browser.sdp" "$D/plain_remote.sdp"
    else
        fail "browser_answers: Chromium made an answer: $(tail -n 3 "$D/browser.err" "$D/browser.out" | tr '\n' ' ')"
    fi
    check_browser browser_answers "$D" $BPID client
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
