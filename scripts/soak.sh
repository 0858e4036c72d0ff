#!/usr/bin/env bash
# Soak: one long DTLS-SRTP call between two `dsrtp peer` endpoints on loopback, through the
# impairment proxy (tests/peers/udp_impair.py) dropping 5% of datagrams each way.
#
#   scripts/soak.sh BUILD_DIR SECONDS        (make soak [SOAK_SECONDS=600])
#
# Prints progress every 10 s, then the resident memory (VmRSS) of each peer when its keys
# were ready and at the end, RTP and RTCP sent, lost on the way (dropped by the proxy) and
# received, and the authentication failures and replays each side counted.
# Exits non-zero if a peer did not exit 0, if either peer's memory grew by more than
# 2 MiB, if media stopped (no RTP through the proxy in one direction for 5 s while the call
# ran, or a side received under 80% of what the other sent), or if a peer counted an
# authentication failure (nothing on this path corrupts packets).
set -u

BUILD=${1:?usage: soak.sh BUILD_DIR SECONDS}
SECS=${2:?usage: soak.sh BUILD_DIR SECONDS}
LOSS=${SOAK_LOSS:-5}
MEM_LIMIT_KB=2048
STALL_SECONDS=5
DSRTP=$BUILD/dsrtp
PY=/usr/bin/python3
SRC=$(cd "$(dirname "$0")/.." && pwd)
PROXY=$SRC/tests/peers/udp_impair.py
source "$SRC/tests/cli/lib.sh" soak # work folder, children killed on exit, JSON readers

if ! [[ "$SECS" =~ ^[0-9]+$ ]] || [ "$SECS" -lt 10 ]; then
    echo "soak: SECONDS must be a whole number >= 10" >&2
    exit 2
fi
if [ ! -x "$DSRTP" ]; then
    echo "soak: $DSRTP is not built" >&2
    exit 2
fi

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
to_proxy() { echo "s/^m=audio $1 /m=audio $2 /;s/^\(a=candidate:.* \)$1 typ /\1$2 typ /"; }
pj() { "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$1" "$2" 2>/dev/null; }

relay() {
    local from=$1 to=$2 script=$3 i
    for ((i = 0; i < 15 * 50; i++)); do
        if [ -f "$from" ]; then
            sed -e "$script" "$from" >"$to.tmp" && mv "$to.tmp" "$to"
            return 0
        fi
        sleep 0.02
    done
    return 1
}

read -r PA PB OPORT APORT <<<"$("$PY" -c '
import socket
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"

D=$WORK
"$PY" "$PROXY" --a-listen "127.0.0.1:$PA" --a-peer "127.0.0.1:$OPORT" \
    --b-listen "127.0.0.1:$PB" --b-peer "127.0.0.1:$APORT" --loss "$LOSS" --seed 1 \
    --idle-exit 10 --max-seconds $((SECS + 60)) --status-file "$D/proxy.status" \
    >"$D/proxy.json" 2>"$D/proxy.err" &
PP=$!
relay "$D/offer.sdp" "$D/offer.in.sdp" "$(to_proxy "$OPORT" "$PB")" &
relay "$D/answer.sdp" "$D/answer.in.sdp" "$(to_proxy "$APORT" "$PA")" &
"$DSRTP" peer --role offer --bind "127.0.0.1:$OPORT" --local-sdp "$D/offer.sdp" \
    --remote-sdp "$D/answer.in.sdp" --duration "$SECS" --trace >"$D/offer.out" 2>"$D/offer.err" &
OP=$!
"$DSRTP" peer --role answer --bind "127.0.0.1:$APORT" --local-sdp "$D/answer.sdp" \
    --remote-sdp "$D/offer.in.sdp" --duration "$SECS" --trace >"$D/answer.out" 2>"$D/answer.err" &
AP=$!

echo "== soak: ${SECS} s DTLS-SRTP call through a proxy losing ${LOSS}% each way =="
declare -A START END PEAK PID=([offer]=$OP [answer]=$AP)
START=([offer]="" [answer]="")
END=([offer]="" [answer]="")
PEAK=([offer]=0 [answer]=0)
stall=""
last_ab=0 last_ba=0 last_move=$SECONDS media_seen=""
limit=$((SECS + 40))
t0=$SECONDS
next_report=$((t0 + 10))
while kill -0 "$OP" 2>/dev/null || kill -0 "$AP" 2>/dev/null; do
    if ((SECONDS - t0 > limit)); then
        echo "soak: the peers did not end within $limit s"
        break
    fi
    for side in offer answer; do
        p=${PID[$side]}
        v=$(rss_kb "$p")
        [ -n "$v" ] || continue
        if [ -z "${START[$side]}" ] && grep -q 'keys ready' "$D/$side.err"; then
            START[$side]=$v
        fi
        if [ -n "${START[$side]}" ]; then
            END[$side]=$v
            ((v > PEAK[$side])) && PEAK[$side]=$v
        fi
    done
    # Media flow, from the proxy's counts (rewritten about once a second).
    if [ -s "$D/proxy.status" ] && kill -0 "$OP" 2>/dev/null && kill -0 "$AP" 2>/dev/null; then
        ab=$(pj "$D/proxy.status" 'r["a_to_b"].get("forwarded",{}).get("rtp",0)')
        ba=$(pj "$D/proxy.status" 'r["b_to_a"].get("forwarded",{}).get("rtp",0)')
        if [ -n "$ab" ] && [ -n "$ba" ] && ((ab > 0 && ba > 0)); then
            media_seen=1
            if ((ab > last_ab && ba > last_ba)); then
                last_move=$SECONDS
                last_ab=$ab last_ba=$ba
            elif ((SECONDS - last_move > STALL_SECONDS)) && [ -z "$stall" ]; then
                stall="no RTP through the proxy in one direction for over ${STALL_SECONDS} s at $((SECONDS - t0)) s"
                echo "soak: $stall"
            fi
        fi
        if ((SECONDS >= next_report)); then
            echo "soak: $((SECONDS - t0)) s: RTP forwarded offer->answer $ab, answer->offer $ba;" \
                "VmRSS offer ${END[offer]:-?} kB, answer ${END[answer]:-?} kB"
            next_report=$((next_report + 10))
        fi
    fi
    sleep 0.5
done
wait_pid "$OP" 1
ORC=$?
wait_pid "$AP" 1
ARC=$?
kill -TERM "$PP" 2>/dev/null
wait_pid "$PP" 5

bad=""
note() {
    bad="$bad; $1"
    echo "soak: FAIL: $1"
}
echo "== results after $((SECONDS - t0)) s =="
for side in offer answer; do
    f=$D/$side.out
    other=answer way=a_to_b back=b_to_a
    if [ "$side" = answer ]; then
        other=offer way=b_to_a back=a_to_b
    fi
    sent=$(json_val "$f" rtp_sent)
    lost=$(pj "$D/proxy.json" "r['$way'].get('dropped',{}).get('rtp',0)")
    fwd=$(pj "$D/proxy.json" "r['$way'].get('forwarded',{}).get('rtp',0)")
    got=$(json_val "$D/$other.out" rtp_received)
    csent=$(json_val "$f" rtcp_sent)
    clost=$(pj "$D/proxy.json" "r['$way'].get('dropped',{}).get('rtcp',0)")
    cgot=$(json_val "$D/$other.out" rtcp_received)
    echo "$side: exit $([ "$side" = offer ] && echo "$ORC" || echo "$ARC")," \
        "state $(json_str "$f" state), handshake $(json_val "$f" handshake_ms) ms," \
        "VmRSS ${START[$side]:-?} kB at keys -> ${END[$side]:-?} kB at the end (peak ${PEAK[$side]})"
    echo "  RTP  sent $sent, lost by the proxy ${lost:-?} ($(pj "$D/proxy.json" \
        "round(100.0*$lost/max(1,$sent),2)" 2>/dev/null)%), forwarded ${fwd:-?}, received by $other $got"
    echo "  RTCP sent $csent, lost ${clost:-?}, received by $other $cgot"
    echo "  refused by $side: auth_failures $(json_val "$f" auth_failures), replays $(json_val "$f" replays)"
    if [ -z "${START[$side]}" ] || [ -z "${END[$side]}" ]; then
        note "$side: no memory samples (keys never ready?)"
    elif ((END[$side] - START[$side] > MEM_LIMIT_KB || PEAK[$side] - START[$side] > MEM_LIMIT_KB)); then
        note "$side: VmRSS grew by $((PEAK[$side] - START[$side])) kB (limit $MEM_LIMIT_KB kB)"
    fi
    if ! [ "${got:-0}" -gt 0 ] 2>/dev/null || ((got * 100 < sent * 80)); then
        note "$other received ${got:-0} of $sent RTP sent by $side"
    fi
    if [ "$(json_val "$f" auth_failures)" != 0 ]; then
        note "$side counted $(json_val "$f" auth_failures) authentication failures"
    fi
done
[ "$ORC" -eq 0 ] || note "offer exited $ORC ($(json_str "$D/offer.out" reason))"
[ "$ARC" -eq 0 ] || note "answer exited $ARC ($(json_str "$D/answer.out" reason))"
[ -n "$media_seen" ] || note "no media was seen through the proxy"
[ -z "$stall" ] || note "$stall"
if [ -z "$bad" ]; then
    echo "soak: OK"
    exit 0
fi
echo "soak: FAILED"
exit 1
