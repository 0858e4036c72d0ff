#!/usr/bin/env bash
# dsrtpd's ng control protocol, command by command, without media:
#   ping -> pong; offer (WebRTC offer towards a plain trunk) -> rewritten RTP/AVP offer;
#   answer -> DTLS answer with setup:active, fingerprint, ICE-lite and a host candidate;
#   query, list, statistics; delete (and delete/query of an unknown call -> error);
#   a retransmitted request (same cookie) gets the identical reply and is acted on once;
#   malformed bencode and an unknown command get error replies and the daemon keeps
#   serving; unknown flags come back as a warning; the reverse direction (plain offer ->
#   UDP/TLS/RTP/SAVPF with ICE=force) and SDES towards the trunk (RTP/SAVP);
#   limits: --max-calls and an exhausted port range refuse new offers with an error;
#   ng over TCP on the same address (ping, offer/answer/delete, two requests in one write,
#   one request split over several writes, garbage -> error and close; UDP unaffected);
#   --timeout ends calls without media; SIGHUP reopens the log; SIGTERM exits 0;
#   peer addresses in the log are masked unless --verbose.
#
# usage: bash test_dsrtpd_ng.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_dsrtpd_ng.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTPD=$BUILD/dsrtpd
PY=/usr/bin/python3
NG_CLIENT=$SRC/tests/peers/ng_client.py

source "$SRC/tests/cli/lib.sh" dsrtpd-ng

check() { # check NAME COMMAND...: pass when the command succeeds
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

free_port() { $PY -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_$1); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
free_ng_port() { # a port free for both UDP and TCP (ng listens on both)
    $PY -c "
import socket
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(('127.0.0.1', u.getsockname()[1])); print(u.getsockname()[1]); break
    except OSError:
        pass"
}
free_block() { # base of $1 free UDP ports
    $PY - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 59000, 2); socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
}

# start_daemon VAR LOG EXTRA...: starts dsrtpd, sets VAR_NG and VAR_PID
start_daemon() {
    local var=$1 log=$2
    shift 2
    local ngp httpp base
    ngp=$(free_ng_port)
    httpp=$(free_port STREAM)
    base=$(free_block 20)
    "$DSRTPD" --listen-ng "127.0.0.1:$ngp" --listen-http "127.0.0.1:$httpp" \
        --interface 127.0.0.1 --port-min "$base" --port-max $((base + 19)) --log "$log" "$@" \
        2>>"$log.stderr" &
    eval "${var}_PID=$!; ${var}_NG=127.0.0.1:$ngp"
    local i
    for ((i = 0; i < 50; i++)); do
        $PY "$NG_CLIENT" "127.0.0.1:$ngp" '{"command":"ping"}' --timeout 0.2 2>/dev/null |
            grep -q pong && return 0
        sleep 0.1
    done
    return 1
}

# A WebRTC-like offer (DTLS-SRTP, ICE, rtcp-mux, BUNDLE) and a plain trunk answer.
cat >"$WORK/webrtc_offer.sdp" <<'EOF'
v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
m=audio 9 UDP/TLS/RTP/SAVPF 111 0
c=IN IP4 127.0.0.1
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Wbuf
a=ice-pwd:WebRtcSecretPassword0123
a=ice-options:trickle
a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
a=setup:actpass
a=mid:0
a=sendrecv
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtpmap:0 PCMU/8000
a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host
EOF
cat >"$WORK/plain.sdp" <<'EOF'
v=0
o=pbx 1 1 IN IP4 127.0.0.1
s=pbx
c=IN IP4 127.0.0.1
t=0 0
m=audio 41000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv
EOF

LOG=$WORK/d1.log
start_daemon D1 "$LOG" --max-calls 3 || fail "dsrtpd starts"
ng() { $PY "$NG_CLIENT" "$D1_NG" "$@"; }
has() { grep -qF -- "$2" <<<"$1"; }

r=$(ng '{"command":"ping"}')
check "ping -> pong" has "$r" '"result": "pong"'

r=$(ng '{"command":"offer","call-id":"call1","from-tag":"ta","transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off","flags":["no-such-flag"]}' \
    --sdp-file "$WORK/webrtc_offer.sdp" --out-sdp "$WORK/o1.sdp")
check "offer -> ok" has "$r" '"result": "ok"'
check "offer: unknown flag reported as a warning" has "$r" 'no-such-flag'
check "offer: trunk SDP is RTP/AVP on our address" grep -q '^m=audio [0-9]* RTP/AVP 111 0' "$WORK/o1.sdp"
check "offer: trunk SDP has no DTLS, ICE or crypto lines" \
    bash -c "! grep -q 'a=fingerprint\|a=ice-\|a=candidate\|a=crypto\|a=setup' '$WORK/o1.sdp'"
check "offer: the browser's ICE password is not forwarded" \
    bash -c "! grep -q WebRtcSecretPassword0123 '$WORK/o1.sdp'"

r=$(ng '{"command":"answer","call-id":"call1","from-tag":"ta","to-tag":"tb"}' \
    --sdp-file "$WORK/plain.sdp" --out-sdp "$WORK/a1.sdp")
check "answer -> ok" has "$r" '"result": "ok"'
check "answer: UDP/TLS/RTP/SAVPF with setup:active" \
    bash -c "grep -q '^m=audio [0-9]* UDP/TLS/RTP/SAVPF 0' '$WORK/a1.sdp' && grep -q 'a=setup:active' '$WORK/a1.sdp'"
check "answer: fingerprint, ice-lite, ice-ufrag and one host candidate" \
    bash -c "grep -q 'a=fingerprint:sha-256 ' '$WORK/a1.sdp' && grep -q 'a=ice-lite' '$WORK/a1.sdp' && grep -q 'a=ice-ufrag:' '$WORK/a1.sdp' && [ \$(grep -c 'a=candidate:' '$WORK/a1.sdp') -eq 1 ]"
check "answer: rtcp-mux and BUNDLE as offered" \
    bash -c "grep -q 'a=rtcp-mux' '$WORK/a1.sdp' && grep -q 'a=group:BUNDLE 0' '$WORK/a1.sdp'"

r=$(ng '{"command":"query","call-id":"call1"}')
check "query -> ok with both tags" bash -c "grep -q '\"ta\"' <<<'$r' && grep -q '\"tb\"' <<<'$r' && grep -q '\"result\": \"ok\"' <<<'$r'"
r=$(ng '{"command":"list"}')
check "list -> call1" has "$r" '"calls": ["call1"]'
r=$(ng '{"command":"statistics"}')
check "statistics -> ok with one own session" has "$r" '"sessionsown": 1'

# The same offer twice (with the same cookie, but ng_client.py sends each from a new socket,
# so this is a repeated offer rather than a cached retransmission; the cache itself is
# checked in test_dsrtpd_reinvite.sh): identical bytes, and the call is created once.
r1=$(ng '{"command":"offer","call-id":"call2","from-tag":"x","transport-protocol":"RTP/AVP","ICE":"remove"}' --cookie retx-1 --sdp-file "$WORK/webrtc_offer.sdp")
r2=$(ng '{"command":"offer","call-id":"call2","from-tag":"x","transport-protocol":"RTP/AVP","ICE":"remove"}' --cookie retx-1 --sdp-file "$WORK/webrtc_offer.sdp")
check "retransmission: identical reply" test "$r1" = "$r2"
r=$(ng '{"command":"statistics"}')
check "retransmission: call created once" has "$r" '"managedsessions": 2'

# Errors: the daemon answers and keeps serving.
r=$(ng --raw 'badc d7:command4:pin')
check "malformed bencode -> error reply" bash -c "grep -q 'badc d6:result5:error' <<<'$r'"
r=$(ng '{"command":"frobnicate"}')
check "unknown command -> error" bash -c "grep -q '\"result\": \"error\"' <<<'$r' && grep -q 'error-reason' <<<'$r'"
r=$(ng '{"command":"answer","call-id":"nosuch","from-tag":"a","to-tag":"b","sdp":"v=0"}')
check "answer for an unknown call -> error" has "$r" '"result": "error"'
r=$(ng '{"command":"offer","call-id":"bad-sdp","from-tag":"a","sdp":"this is not SDP"}')
check "offer with malformed SDP -> error" has "$r" '"result": "error"'
r=$(ng '{"command":"ping"}')
check "still serving after errors" has "$r" '"result": "pong"'

# Reverse direction and SDES towards the trunk.
r=$(ng '{"command":"offer","call-id":"call3","from-tag":"p","transport-protocol":"UDP/TLS/RTP/SAVPF","ICE":"force"}' \
    --sdp-file "$WORK/plain.sdp" --out-sdp "$WORK/o3.sdp")
check "plain offer -> WebRTC offer (actpass, fingerprint, ICE-lite, rtcp-mux)" \
    bash -c "grep -q 'UDP/TLS/RTP/SAVPF' '$WORK/o3.sdp' && grep -q 'a=setup:actpass' '$WORK/o3.sdp' && grep -q 'a=fingerprint' '$WORK/o3.sdp' && grep -q 'a=ice-lite' '$WORK/o3.sdp' && grep -q 'a=rtcp-mux' '$WORK/o3.sdp'"

# Limit: --max-calls 3 is now reached.
r=$(ng '{"command":"offer","call-id":"call4","from-tag":"q","transport-protocol":"RTP/SAVP"}' \
    --sdp-file "$WORK/plain.sdp")
check "max-calls reached -> error" bash -c "grep -q '\"result\": \"error\"' <<<'$r' && grep -q 'limit' <<<'$r'"

for c in call1 call2 call3; do
    r=$(ng "{\"command\":\"delete\",\"call-id\":\"$c\",\"from-tag\":\"ta\"}")
    check "delete $c -> ok" has "$r" '"result": "ok"'
done
r=$(ng '{"command":"offer","call-id":"call4","from-tag":"q","transport-protocol":"RTP/SAVP"}' \
    --sdp-file "$WORK/plain.sdp" --out-sdp "$WORK/o4.sdp")
check "SDES towards the trunk: RTP/SAVP with a=crypto" \
    bash -c "grep -q 'RTP/SAVP' '$WORK/o4.sdp' && grep -q 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' '$WORK/o4.sdp'"
r=$(ng '{"command":"delete","call-id":"call1"}')
check "delete of a deleted call -> error" has "$r" '"result": "error"'
r=$(ng '{"command":"query","call-id":"call1"}')
check "query of a deleted call -> error" has "$r" '"result": "error"'

# ng over TCP on the same address: requests back to back on the stream, no other framing.
tng() { $PY "$NG_CLIENT" "$D1_NG" "$@" --tcp; }
r=$(tng '{"command":"ping"}')
check "tcp: ping -> pong" has "$r" '"result": "pong"'
r=$(tng '{"command":"offer","call-id":"tcp1","from-tag":"ta","transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off"}' \
    --sdp-file "$WORK/webrtc_offer.sdp" --out-sdp "$WORK/t1.sdp")
check "tcp: offer -> ok with an RTP/AVP SDP" \
    bash -c "grep -q '\"result\": \"ok\"' <<<'$r' && grep -q '^m=audio [0-9]* RTP/AVP' '$WORK/t1.sdp'"
r=$(tng '{"command":"answer","call-id":"tcp1","from-tag":"ta","to-tag":"tb"}' \
    --sdp-file "$WORK/plain.sdp" --out-sdp "$WORK/t1a.sdp")
check "tcp: answer -> ok with a DTLS SDP" \
    bash -c "grep -q '\"result\": \"ok\"' <<<'$r' && grep -q 'UDP/TLS/RTP/SAVPF' '$WORK/t1a.sdp'"
r=$(tng '{"command":"delete","call-id":"tcp1","from-tag":"ta"}')
check "tcp: delete -> ok" has "$r" '"result": "ok"'
r=$(tng --raw 'k1 d7:command4:pingek2 d7:command4:list5:limiti5ee' --replies 2)
check "tcp: two requests in one write -> two replies in order, connection kept" \
    bash -c "[ \"\$(sed -n 1p <<<'$r')\" = 'k1 d6:result4:ponge' ] && sed -n 2p <<<'$r' | grep -q '^k2 d6:result2:ok5:calls' && [ \"\$(tail -n 1 <<<'$r')\" = open ]"
r=$(tng --raw 'split-1 d7:command4:pinge' --split 4,12,20)
check "tcp: one request split over four writes -> one reply" \
    bash -c "[ \"\$(sed -n 1p <<<'$r')\" = 'split-1 d6:result4:ponge' ]"
r=$(tng --raw 'g1 d7:command4:pingexyz abc' --replies 2)
check "tcp: garbage after a good request -> pong, then an error and the connection closed" \
    bash -c "sed -n 1p <<<'$r' | grep -q '^g1 d6:result4:ponge' && sed -n 2p <<<'$r' | grep -q 'error-reason' && [ \"\$(tail -n 1 <<<'$r')\" = closed ]"
r=$(tng --raw 'g2 d7:command4:ping7:call-id?' --replies 1)
check "tcp: malformed bencode -> error reply with the cookie, then closed" \
    bash -c "sed -n 1p <<<'$r' | grep -q '^g2 d6:result5:error' && [ \"\$(tail -n 1 <<<'$r')\" = closed ]"
big=$($PY -c "print('big d3:sdp70000:' + 'v' * 66000)")
r=$(tng --raw "$big" --replies 1)
check "tcp: a request over 64 KiB -> error reply, then closed" \
    bash -c "grep -q 'too large' <<<'$r' && [ \"\$(tail -n 1 <<<'$r')\" = closed ]"
r=$(ng '{"command":"ping"}')
check "tcp: UDP still served after TCP errors" has "$r" '"result": "pong"'

# SIGHUP reopens the log file.
mv "$LOG" "$LOG.old"
kill -HUP "$D1_PID"
sleep 0.3
ng '{"command":"ping"}' >/dev/null
sleep 0.2
check "SIGHUP reopens the log" test -s "$LOG"
kill -TERM "$D1_PID"
wait_pid "$D1_PID" 10
check "SIGTERM: exit 0" test $? -eq 0

# Port exhaustion and media timeout on a daemon with 2 media ports (1 call) and 2 s timeout.
LOG2=$WORK/d2.log
ngp=$(free_ng_port)
httpp=$(free_port STREAM)
base=$(free_block 4)
"$DSRTPD" --listen-ng "127.0.0.1:$ngp" --listen-http "127.0.0.1:$httpp" --interface 127.0.0.1 \
    --port-min "$base" --port-max $((base + 3)) --timeout 2 --log "$LOG2" 2>/dev/null &
D2_PID=$!
sleep 0.3
ng2() { $PY "$NG_CLIENT" "127.0.0.1:$ngp" "$@"; }
r=$(ng2 '{"command":"offer","call-id":"t1","from-tag":"a"}' --sdp-file "$WORK/plain.sdp")
check "small pool: first offer ok" has "$r" '"result": "ok"'
r=$(ng2 '{"command":"offer","call-id":"t2","from-tag":"a"}' --sdp-file "$WORK/plain.sdp")
check "ports exhausted -> error" bash -c "grep -q '\"result\": \"error\"' <<<'$r' && grep -q 'port' <<<'$r'"
sleep 3.5
r=$(ng2 '{"command":"list"}')
check "media timeout ends the call" has "$r" '"calls": []'
r=$(ng2 '{"command":"offer","call-id":"t3","from-tag":"a"}' --sdp-file "$WORK/plain.sdp")
check "ports are reused after the timeout" has "$r" '"result": "ok"'
kill -TERM "$D2_PID"
wait_pid "$D2_PID" 10
check "second daemon: SIGTERM exit 0" test $? -eq 0
check "no ICE password in the logs" bash -c "! grep -q WebRtcSecretPassword0123 '$WORK'/*.log*"

# Peer addresses: masked in the log unless --verbose (the host part of 127.0.0.1 hidden).
check "log: peer addresses masked (from=127.0.0.x:PORT, never 127.0.0.1)" \
    bash -c "grep -q 'from=127\.0\.0\.x:[0-9]' '$WORK'/d1.log* && ! grep -q 'from=127\.0\.0\.1' '$WORK'/d1.log*"
start_daemon D3 "$WORK/d3.log" --verbose || fail "verbose dsrtpd starts"
$PY "$NG_CLIENT" "$D3_NG" '{"command":"ping"}' --tcp >/dev/null
check "log: --verbose shows the whole peer address" grep -q 'from=127\.0\.0\.1:[0-9]' "$WORK/d3.log"
kill -TERM "$D3_PID"
wait_pid "$D3_PID" 10

echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
