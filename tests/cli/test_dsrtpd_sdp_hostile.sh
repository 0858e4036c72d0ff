#!/usr/bin/env bash
# dsrtpd's SDP handling under hostile ng requests: a deterministic, bounded robustness run.
# This script starts one gateway with two interfaces,
#   --interface external/127.0.0.1 --interface internal/127.0.0.2
# and dsrtpd_sdp_hostile.py plays the SIP proxy: with a fixed seed (printed; env
# DSRTPD_HOSTILE_SEED overrides it, DSRTPD_HOSTILE_REQUESTS the count, default 400) it sends
# offers, answers, re-offers and deletes for many call-ids, built from valid seed
# descriptions (plain audio, audio + video + data channel, Chromium-like and Firefox-like
# WebRTC offers, SDES with two crypto lines, five or more m-lines, IPv6) and structured
# mutations of them (its docstring lists them and the per-reply checks), after a fixed
# prelude that replays the request sequences that once crashed dsrtpd or got a wrong reply.
# Every 25 requests ping must answer and plain audio calls through the same daemon (one from
# the start, one new) must relay RTP both ways. The driver prints one ok/FAIL line per check
# group, the replies per mutation kind as counts, and every failure in full. Here, afterwards:
#   - dsrtpd is still running, and SIGTERM ends it with status 0;
#   - its stderr and log hold no AddressSanitizer, LeakSanitizer or UBSan ("runtime error")
#     report (an ASan/UBSan build shows memory errors there, or by dying).
# The whole run is bounded: under 45 s in a normal build, the driver killed at 60 s.
#
# usage: bash test_dsrtpd_sdp_hostile.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree;
#        DSRTPD_IO: the gateway's --io, default auto; DSRTPD_HOSTILE_SEED, _REQUESTS, and
#        _SKIP (scenario kinds to leave out, comma-separated); KEEP_WORK=1 keeps the work
#        folder with the daemon's log and the request transcript)
set -u

BUILD=${1:?usage: test_dsrtpd_sdp_hostile.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTPD=$BUILD/dsrtpd
PY=/usr/bin/python3
IO=${DSRTPD_IO:-auto}
N_MEDIA=600

# shellcheck source=lib.sh
source "$SRC/tests/cli/lib.sh" dsrtpd-sdp-hostile

if ! $PY -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.2", 0))' \
    2>/dev/null; then
    fail "cannot bind 127.0.0.2 (the test needs it on lo)"
    exit 1
fi


# start_daemon: picks free ports (the media block free on both addresses) and starts dsrtpd;
# 0 once it answers ping. Another process may take a port between the pick and the bind, so
# the caller tries again with new ones.
start_daemon() {
    MEDIA_BASE=0
    for _ in 1 2 3 4 5; do
        read -r NG_PORT HTTP_PORT MEDIA_BASE < <(gw_free_ports $N_MEDIA)
        [ "${MEDIA_BASE:-0}" != 0 ] && free_on_127_0_0_2 "$MEDIA_BASE" $N_MEDIA && break
        MEDIA_BASE=0
    done
    if [ "$MEDIA_BASE" = 0 ]; then
        echo "no $N_MEDIA free UDP ports on both 127.0.0.1 and 127.0.0.2" >"$ERR"
        return 1
    fi
    PORT_MAX=$((MEDIA_BASE + N_MEDIA - 1))
    NG=127.0.0.1:$NG_PORT
    # A UBSan report with its stack (the sanitizer build; the normal one ignores this).
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$DSRTPD" --listen-ng "$NG" --listen-http "127.0.0.1:$HTTP_PORT" \
        --interface external/127.0.0.1 --interface internal/127.0.0.2 \
        --port-min "$MEDIA_BASE" --port-max "$PORT_MAX" --timeout 60 --workers 2 \
        --io "$IO" --log "$LOG" 2>"$ERR" &
    DAEMON=$!
    if gw_wait_ready && kill -0 $DAEMON 2>/dev/null; then
        return 0
    fi
    kill $DAEMON 2>/dev/null
    wait $DAEMON 2>/dev/null
    return 1
}

LOG=$WORK/dsrtpd.log
ERR=$WORK/dsrtpd.err
started=no
for attempt in 1 2 3; do
    if start_daemon; then
        started=yes
        break
    fi
    echo "# dsrtpd did not start (attempt $attempt: $(head -c 200 "$ERR" | tr '\n' ' '))"
    rm -f "$LOG"
done
if [ $started = no ]; then
    fail "dsrtpd did not start ($(head -c 300 "$ERR"))"
    exit 1
fi
pass "dsrtpd with --interface external/127.0.0.1 --interface internal/127.0.0.2 starts"

# The driver prints one ok/FAIL line per check group; its counts join ours.
run_driver 60 "$SRC/tests/cli/dsrtpd_sdp_hostile.py" "$SRC" "$NG" "$WORK" "$MEDIA_BASE" \
    "$PORT_MAX"
if [ -s "$WORK/driver.err" ]; then
    echo "# driver stderr (tail):"
    tail -n 15 "$WORK/driver.err" | sed 's/^/#   /'
fi

if kill -0 $DAEMON 2>/dev/null; then
    pass "dsrtpd still running after the hostile requests"
else
    wait $DAEMON 2>/dev/null
    fail "dsrtpd died (status $?; stderr: $(grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$ERR" | tr '\n' ' ' | cut -c1-400))"
fi

kill -TERM $DAEMON 2>/dev/null
wait_pid $DAEMON 15
rc=$?
[ $rc -eq 0 ] && pass "SIGTERM: dsrtpd exits 0" || fail "SIGTERM: dsrtpd exit $rc"

# Sanitizer reports go to stderr (the log too, should anything write them there).
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$ERR" "$LOG" 2>/dev/null; then
    fail "dsrtpd's stderr/log hold a sanitizer report"
    grep -m 1 -B 2 -A 40 -E 'AddressSanitizer|LeakSanitizer|runtime error' "$ERR" "$LOG" |
        sed 's/^/#   /'
else
    pass "dsrtpd's stderr/log hold no AddressSanitizer, LeakSanitizer or runtime error report"
fi

if [ "$failures" -ne 0 ]; then
    echo "# dsrtpd log (last lines):"
    tail -n 20 "$LOG" 2>/dev/null | sed 's/^/#   /'
    [ -n "${KEEP_WORK:-}" ] && echo "# work folder kept: $WORK (hostile_transcript.txt)"
fi

echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
