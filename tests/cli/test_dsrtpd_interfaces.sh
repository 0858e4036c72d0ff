#!/usr/bin/env bash
# dsrtpd with several media interfaces: --interface [NAME/]ADDR[!ADVERTISED] (repeatable, the
# first the default) and ng's direction flag (the offering side's interface, then the other
# side's), on the loopback addresses 127.0.0.1 and 127.0.0.2 (both on lo under Linux).
# This script starts two gateways,
#   NG1: --interface external/127.0.0.1 --interface internal/127.0.0.2
#   NG2: --interface pub/127.0.0.1!192.0.2.7 --interface priv/127.0.0.2
# and dsrtpd_interfaces.py plays the SIP proxy and raw-socket RTP endpoints against them
# (its docstring lists the calls: c=/o= per direction, media from the right address and
# port both ways, direction in rtpp-flags, an unknown name, ADVERTISED on c= and on the ICE
# candidate while the port is bound on ADDR). Here, afterwards:
#   - bad command lines (two interfaces of one name, also two unnamed ones; a bad address;
#     a bad advertised address; a bad or too long name; nine interfaces) each end dsrtpd
#     at once with a non-zero status and a message about --interface on stderr;
#   - eight interfaces (the first unnamed: "default"; a 31-character name) start, and
#     direction picks the eighth's advertised address towards B;
#   - both gateways end with status 0 on SIGTERM.
#
# usage: bash test_dsrtpd_interfaces.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree,
#        DSRTPD_IO: the gateways' --io, default auto)
set -u

BUILD=${1:?usage: test_dsrtpd_interfaces.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTPD=$BUILD/dsrtpd
PY=/usr/bin/python3
IO=${DSRTPD_IO:-auto}

# shellcheck source=lib.sh
source "$SRC/tests/cli/lib.sh" dsrtpd-interfaces


if ! $PY -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.2", 0))' \
    2>/dev/null; then
    fail "cannot bind 127.0.0.2 (the test needs it on lo)"
    exit 1
fi

# One block of 80: the first 40 ports for NG1, the next 40 for NG2 (and the 8-interface one).
MEDIA_BASE=0
for _ in 1 2 3 4 5; do
    read -r NG_PORT HTTP_PORT MEDIA_BASE < <(gw_free_ports 80)
    [ "${MEDIA_BASE:-0}" != 0 ] && free_on_127_0_0_2 "$MEDIA_BASE" 80 && break
    MEDIA_BASE=0
done
if [ "$MEDIA_BASE" = 0 ]; then
    fail "no 80 free UDP ports on both 127.0.0.1 and 127.0.0.2"
    exit 1
fi
BASE2=$((MEDIA_BASE + 40))

NG=127.0.0.1:$NG_PORT
NG1=$NG
gw_launch "$WORK/dsrtpd1.log" "$MEDIA_BASE" $((MEDIA_BASE + 39)) --interface external/127.0.0.1 \
    --interface internal/127.0.0.2 --timeout 30 --workers 2 --io "$IO" ||
    { fail "dsrtpd (external, internal) did not start ($(head -c 300 "$WORK/dsrtpd1.err"))"; exit 1; }
D1=$DAEMON
pass "dsrtpd with --interface external/127.0.0.1 --interface internal/127.0.0.2 starts"
grep -q 'interface=external/127.0.0.1!127.0.0.1,internal/127.0.0.2!127.0.0.2' "$WORK/dsrtpd1.log" &&
    pass "its log's start line lists both interfaces" ||
    fail "its log's start line lists both interfaces ($(grep -m1 started "$WORK/dsrtpd1.log"))"

read -r NG_PORT HTTP_PORT _ < <(gw_free_ports 2)
NG=127.0.0.1:$NG_PORT
NG2=$NG
gw_launch "$WORK/dsrtpd2.log" "$BASE2" $((BASE2 + 39)) --interface 'pub/127.0.0.1!192.0.2.7' \
    --interface priv/127.0.0.2 --timeout 30 --workers 2 --io "$IO" ||
    { fail "dsrtpd (pub!192.0.2.7, priv) did not start ($(head -c 300 "$WORK/dsrtpd2.err"))"; exit 1; }
D2=$DAEMON
pass "dsrtpd with --interface 'pub/127.0.0.1!192.0.2.7' --interface priv/127.0.0.2 starts"

# The driver prints one ok/FAIL line per check; its counts join ours.
run_driver 25 "$SRC/tests/cli/dsrtpd_interfaces.py" "$SRC" "$NG1" "$NG2" "$WORK"

# ---- command lines dsrtpd must refuse ----
# bad_cmdline LABEL STDERR_PATTERN --interface ...: dsrtpd must end within 5 s, non-zero,
# saying STDERR_PATTERN (grep -E) on stderr.
N=0
bad_cmdline() {
    local label=$1 want=$2
    shift 2
    N=$((N + 1))
    local err=$WORK/bad$N.err p1 p2
    read -r p1 p2 _ < <(gw_free_ports 2)
    "$DSRTPD" --listen-ng "127.0.0.1:$p1" --listen-http "127.0.0.1:$p2" "$@" \
        --port-min "$BASE2" --port-max $((BASE2 + 39)) --io "$IO" \
        --log "$WORK/bad$N.log" >/dev/null 2>"$err" &
    local pid=$!
    wait_pid $pid 5
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qE -- "$want" "$err"; then
        pass "refused: $label (exit $rc: $(head -n 1 "$err"))"
    else
        fail "refused: $label (exit $rc, stderr: $(head -n 2 "$err" | tr '\n' ' '))"
    fi
}
bad_cmdline "two --interface named 'a'" "two --interface options named 'a'" \
    --interface a/127.0.0.1 --interface a/127.0.0.2
bad_cmdline "two unnamed --interface (both 'default')" "two --interface options named 'default'" \
    --interface 127.0.0.1 --interface 127.0.0.2
bad_cmdline "an unnamed --interface and one named 'default'" \
    "two --interface options named 'default'" --interface 127.0.0.1 --interface default/127.0.0.2
bad_cmdline "bad address x/300.1.1.1" "bad --interface 'x/300\.1\.1\.1'" --interface x/300.1.1.1
bad_cmdline "bad address x/localhost" "bad --interface 'x/localhost'" --interface x/localhost
bad_cmdline "bad advertised address x/127.0.0.1!nowhere" "bad --interface 'x/127\.0\.0\.1!nowhere'" \
    --interface 'x/127.0.0.1!nowhere'
bad_cmdline "bad name 'bad name/127.0.0.1'" "bad --interface 'bad name/127\.0\.0\.1'" \
    --interface 'bad name/127.0.0.1'
bad_cmdline "bad name 'a:b/127.0.0.1'" "bad --interface 'a:b/127\.0\.0\.1'" --interface a:b/127.0.0.1
bad_cmdline "empty name '/127.0.0.1'" "bad --interface '/127\.0\.0\.1'" --interface /127.0.0.1
NAME32=abcdefghijklmnopqrstuvwxyz_.-789
NAME31=${NAME32:0:31}
bad_cmdline "a 32-character name" "bad --interface '$NAME32/127\.0\.0\.1'" \
    --interface "$NAME32/127.0.0.1"
nine=()
for i in 1 2 3 4 5 6 7 8 9; do nine+=(--interface "i$i/127.0.0.1"); done
bad_cmdline "nine --interface options" "more than 8 --interface options" "${nine[@]}"

# Eight are fine: the first unnamed (so "default"), one with a 31-character name, the last
# advertising another address; direction picks by name.
read -r NG_PORT HTTP_PORT _ < <(gw_free_ports 2)
NG=127.0.0.1:$NG_PORT
eight=(--interface 127.0.0.1 --interface "$NAME31/127.0.0.2")
for i in 3 4 5 6 7; do eight+=(--interface "i$i/127.0.0.1"); done
eight+=(--interface 'i8/127.0.0.2!198.51.100.8')
if gw_launch "$WORK/dsrtpd8.log" "$BASE2" $((BASE2 + 39)) "${eight[@]}" \
    --timeout 30 --workers 1 --io "$IO"; then
    D8=$DAEMON
    pass "eight --interface options (the first unnamed, a 31-character name) start"
    printf 'v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n' \
        >"$WORK/eight_offer.sdp"
    ng "{\"command\":\"offer\",\"call-id\":\"eight\",\"from-tag\":\"eight-a\",\"transport-protocol\":\"RTP/AVP\",\"direction\":[\"default\",\"i8\"]}" \
        --sdp-file "$WORK/eight_offer.sdp" --out-sdp "$WORK/eight_to_b.sdp" >"$WORK/eight.json"
    if grep -q '"result": "ok"' "$WORK/eight.json" && [ -f "$WORK/eight_to_b.sdp" ] &&
        [ "$(grep -c '^c=' "$WORK/eight_to_b.sdp")" -ge 1 ] &&
        ! grep '^c=' "$WORK/eight_to_b.sdp" | grep -qv 'c=IN IP4 198\.51\.100\.8'; then
        pass "eight interfaces: direction [default, i8] -> offer to B names i8's 198.51.100.8"
    else
        fail "eight interfaces: direction [default, i8] -> offer to B names 198.51.100.8 ($(head -c 300 "$WORK/eight.json"); $(grep '^c=' "$WORK/eight_to_b.sdp" 2>/dev/null | tr -d '\r' | tr '\n' ' '))"
    fi
    ng "{\"command\":\"offer\",\"call-id\":\"eight31\",\"from-tag\":\"e-a\",\"transport-protocol\":\"RTP/AVP\",\"direction\":[\"i8\",\"$NAME31\"]}" \
        --sdp-file "$WORK/eight_offer.sdp" --out-sdp "$WORK/eight31_to_b.sdp" >"$WORK/eight31.json"
    if grep -q '"result": "ok"' "$WORK/eight31.json" &&
        [ "$(grep -c '^c=' "$WORK/eight31_to_b.sdp")" -ge 1 ] &&
        ! grep '^c=' "$WORK/eight31_to_b.sdp" | grep -qv 'c=IN IP4 127\.0\.0\.2'; then
        pass "eight interfaces: direction [i8, <31-character name>] -> offer to B names 127.0.0.2"
    else
        fail "eight interfaces: direction [i8, <31-character name>] -> offer to B names 127.0.0.2 ($(head -c 300 "$WORK/eight31.json"))"
    fi
    gw_stop $D8 "the eight-interface dsrtpd"
else
    fail "eight --interface options start ($(head -c 300 "$WORK/dsrtpd8.err"))"
fi

# ---- the two gateways ----
gw_alive $D1 "dsrtpd 1" "$WORK/dsrtpd1.err"
gw_alive $D2 "dsrtpd 2" "$WORK/dsrtpd2.err"
if [ "$failures" -ne 0 ]; then
    for d in 1 2; do
        echo "# dsrtpd $d log (last lines):"
        tail -n 20 "$WORK/dsrtpd$d.log" 2>/dev/null | sed 's/^/#   /'
    done
fi
gw_stop $D1 "dsrtpd 1"
gw_stop $D2 "dsrtpd 2"

echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
