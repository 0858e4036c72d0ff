#!/usr/bin/env bash
# The dsrtpd relay benchmark: for each call count N, a fresh `dsrtpd --workers 1` and
# bench/relay_load (unpinned unless RELAY_PIN=1): N calls set up over ng, each a DTLS-SRTP
# leg (real handshake, the library's session API on the generator side) and a plain RTP
# leg, then 50 packets/s of 160-byte audio on every call in BOTH directions (so N calls =
# 100*N packets/s relayed), spread evenly over each 20 ms interval. Prints one row per N:
# packets/s relayed, loss, latency added between the generator's send and receive (two
# loopback hops plus the gateway), and the growth of dsrtpd's RSS per call.
#
# usage: scripts/bench-relay.sh BUILD_DIR [N ...]   (env RELAY_SECONDS: media seconds, 5)
#
# RELAY_IO picks dsrtpd's worker loop (--io: auto, the default, is io_uring wherever the
# kernel allows it; epoll is the recvmmsg/sendmmsg loop), so both can be compared.
#
# RELAY_RTPENGINE=1 adds, in the same run and after the dsrtpd table, a second table in the
# same format for Debian's rtpengine (package rtpengine-daemon, not installed by anything
# here) doing the same job under the same relay_load, whose ng flags are rtpengine's own:
# a fresh `rtpengine --foreground --table=-1 --num-threads=1` per N (userspace forwarding,
# no kernel module, one worker thread; its timer/poller helper threads still exist),
# --config-file=none so /etc/rtpengine is ignored, 127.0.0.1 only, log to a file, stopped
# with SIGTERM. Off by default, so the plain run is unchanged. RELAY_RTPENGINE_BIN picks
# another binary (default: rtpengine on PATH). RELAY_VERBOSE=1 also shows the SRTP profile
# each gateway chose (srtp_profile=).
set -u
BUILD=${1:?usage: bench-relay.sh BUILD_DIR [N ...]}
shift
COUNTS=${*:-250 500 1000 1500 2000}
SECONDS_MEDIA=${RELAY_SECONDS:-5}
DSRTPD=$BUILD/dsrtpd
LOAD=$BUILD/relay_load
if [ ! -x "$DSRTPD" ] || [ ! -x "$LOAD" ]; then
    echo "bench-relay: $DSRTPD or $LOAD missing (configure with -DDSRTP_BENCH=ON)" >&2
    exit 1
fi
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
PIN_GW="" PIN_LOAD=""
# RELAY_PIN=1 pins dsrtpd to CPU 0 and the generator to CPU 1 (slower here: see the report)
if [ -n "${RELAY_PIN:-}" ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_GW="taskset -c 0" PIN_LOAD="taskset -c 1"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-relay.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# stop PID: SIGTERM, then SIGKILL if it has not gone within 10 s
stop() {
    kill "$1" 2>/dev/null
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# row N LINE: one table row from relay_load's key=value line (or the failure)
row() {
    local n=$1 line=$2
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
    printf "$fmt" "$n" "$(get pps_relayed)" "$(get loss_pct)" "$(get lat_p50_us)" \
        "$(get lat_p99_us)" "$(get lat_p999_us)" "$(get rss_kib_per_call)"
    [ -n "${RELAY_VERBOSE:-}" ] && echo "  $line"
    return 0
}

fmt="%6s %9s %8s %8s %8s %9s %9s\n"
table_head() {
    printf "$fmt" calls "pps" "loss" "median" "p99" "p99.9" "RSS/call"
    printf "$fmt" "" relayed "%" "us" "us" "us" "KiB"
}

echo "dsrtpd relay (--io ${RELAY_IO:-auto}): one worker thread, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), loopback"
echo "each call: DTLS-SRTP leg + plain RTP leg, 50 pkt/s of 160-byte audio each way; ${SECONDS_MEDIA} s per row"
table_head
for n in $COUNTS; do
    base=$((20000 + (RANDOM % 50) * 2))
    ng_port=$((10000 + RANDOM % 5000))
    $PIN_GW "$DSRTPD" --listen-ng 127.0.0.1:$ng_port --listen-http 127.0.0.1:$((ng_port + 1)) \
        --interface 127.0.0.1 --port-min $base --port-max $((base + 4 * n + 200)) \
        --workers 1 --timeout 120 --max-calls $((n + 10)) --log "$WORK/dsrtpd.log" \
        --io "${RELAY_IO:-auto}" 2>"$WORK/dsrtpd.err" &
    gw=$!
    sleep 0.5
    line=$($PIN_LOAD "$LOAD" --ng 127.0.0.1:$ng_port --calls "$n" --seconds "$SECONDS_MEDIA" \
        --pid "$gw" 2>"$WORK/load.err")
    rc=$?
    kill "$gw" 2>/dev/null
    wait "$gw" 2>/dev/null
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        printf "%6s  failed: %s\n" "$n" "$(tail -1 "$WORK/load.err")"
        continue
    fi
    row "$n" "$line"
done
echo "latency: generator send -> generator receive (both loopback hops + dsrtpd); loss < 0.1% is the bar"

[ "${RELAY_RTPENGINE:-0}" = 1 ] || exit 0
RTPENGINE=${RELAY_RTPENGINE_BIN:-$(command -v rtpengine)}
if [ -z "$RTPENGINE" ] || [ ! -x "$RTPENGINE" ]; then
    echo "bench-relay: RELAY_RTPENGINE=1 but no rtpengine (apt-get install rtpengine-daemon)" >&2
    exit 1
fi
echo
echo "rtpengine $("$RTPENGINE" --version 2>&1 | sed -n 's/^Version: //p') relay: --num-threads=1, userspace (--table=-1), same cores, loopback"
echo "same relay_load, same ng messages and load; ${SECONDS_MEDIA} s per row"
table_head
for n in $COUNTS; do
    base=$((20000 + (RANDOM % 50) * 2))
    ng_port=$((10000 + RANDOM % 5000))
    # rtpengine takes an RTP/RTCP port pair per leg and may skip busy ports: a wider range
    $PIN_GW "$RTPENGINE" --config-file=none --foreground --table=-1 --interface=127.0.0.1 \
        --listen-ng=127.0.0.1:$ng_port --port-min=$base --port-max=$((base + 8 * n + 1000)) \
        --num-threads=1 --timeout=120 --log-stderr >"$WORK/rtpengine.log" 2>&1 &
    gw=$!
    sleep 0.5
    line=$($PIN_LOAD "$LOAD" --ng 127.0.0.1:$ng_port --calls "$n" --seconds "$SECONDS_MEDIA" \
        --pid "$gw" 2>"$WORK/load.err")
    rc=$?
    stop "$gw"
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        printf "%6s  failed: %s\n" "$n" "$(tail -1 "$WORK/load.err")"
        continue
    fi
    row "$n" "$line"
done
echo "latency: generator send -> generator receive (both loopback hops + rtpengine)"
