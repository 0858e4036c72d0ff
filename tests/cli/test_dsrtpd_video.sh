#!/usr/bin/env bash
# dsrtpd multi-stream calls: audio + video in one call, m-lines that are not relayed, and
# BUNDLE towards a WebRTC offerer. This script starts the gateway; dsrtpd_video.py plays
# the SIP proxy over ng and every endpoint (a real WebRTC stack, python3-aiortc, sending
# PCMU and VP8 it generates; plain RTP and SDES-SRTP sides on raw sockets) and describes
# its scenarios and checks:
#   1. aiortc offers audio + video with BUNDLE -> plain RTP trunk (RTP/AVP, ICE=remove,
#      DTLS=off, rtcp-mux demux) that echoes each stream: one bundled port towards aiortc,
#      one port per stream towards the trunk, media routed by payload type (RTCP by SSRC),
#      aiortc decodes the echoed audio and video; query shows two medias per tag
#   2. plain RTP <-> plain RTP, audio + video + a data channel m-line (port 0 both ways),
#      then a re-offer that adds an m-line (refused with port 0, the streams go on)
#   3. plain RTP -> SDES (RTP/SAVP), audio + video: one a=crypto key per m-line, checked
#      with libsrtp (pylibsrtp) on what arrives, both ways
#   4. five m-lines: four streams relayed, the fifth (past the cap) port 0
# Afterwards the daemon's log must hold no ICE password or SDES key from any SDP exchanged,
# and SIGTERM must end it with status 0. Every wait is bounded (the driver: 75 s at most).
#
# usage: bash test_dsrtpd_video.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_dsrtpd_video.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTPD=$BUILD/dsrtpd
PY=/usr/bin/python3

# shellcheck source=lib.sh
source "$SRC/tests/cli/lib.sh" dsrtpd-video

if ! $PY -c 'import aiortc, av, pylibsrtp' 2>/dev/null; then
    fail "python3-aiortc (with av and pylibsrtp) is not installed for $PY (make check installs it)"
    exit 1
fi

gw_start 40 --workers 2 --io "${DSRTPD_IO:-auto}"
case $? in
2) fail "no 40 free UDP ports for the gateway"; exit 1 ;;
1) fail "dsrtpd did not start ($(head -c 300 "$WORK/dsrtpd.err"))"; exit 1 ;;
esac
pass "dsrtpd starts"

# The driver prints one ok/FAIL line per check; its counts join ours.
run_driver 75 "$SRC/tests/cli/dsrtpd_video.py" "$BUILD" "$SRC" "$NG" "$WORK"
gw_alive $DAEMON

# No secret from any SDP may appear in the daemon's log or stderr.
leaked=""
for f in "$WORK"/sdp/*.sdp; do
    [ -f "$f" ] || continue
    for s in $(sed -n 's/^a=ice-pwd:\(.*\)\r\{0,1\}$/\1/p; s/^a=crypto:[0-9]* [A-Z0-9_]* inline:\([^|[:space:]]*\).*$/\1/p' "$f" | tr -d '\r'); do
        grep -qF -- "$s" "$LOG" "$WORK/dsrtpd.err" 2>/dev/null && leaked="$leaked $(basename "$f")"
    done
done
[ -z "$leaked" ] && pass "log holds no ICE password or SDES key" || fail "log leaks secrets of:$leaked"

if [ "$failures" -ne 0 ]; then
    echo "# dsrtpd log (last lines):"
    tail -n 25 "$LOG" 2>/dev/null | sed 's/^/#   /'
fi

gw_stop $DAEMON

echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
