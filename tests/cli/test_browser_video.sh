#!/usr/bin/env bash
# A real browser's audio + video call through dsrtpd: Debian's Chromium, headless, driven by
# playwright-core (npm, tests/browser/call.mjs --media audio,video), with its fake
# microphone and camera, on loopback. The script plays the SIP proxy as Kamailio would (ng
# offer and answer, SDP moved between the endpoints through files) and the trunk too.
#
# Chromium offers two m-lines, audio (PCMU only) and video (VP8 only), with its default
# bundle policy: a port per m-line and a=group:BUNDLE over both mids. The ng offer goes
# towards a plain-RTP trunk (RTP/AVP, ICE removed, DTLS off, RTCP on its own port), which
# is tests/cli/rtp_echo.py: two streams on two ports (audio, video; RTCP on each port + 1),
# every RTP packet sent back to its source with the SSRC replaced by a fixed one of the
# echo's (Chromium drops RTP carrying its own SSRC), RTCP sent back with the SSRC fields
# swapped (a PLI or NACK Chromium's receiver sends about the echoed stream then reaches its
# own sender about its own stream, so a lost key frame is sent, and echoed, again). The
# trunk's answer has two m-lines on its two ports, PCMU and VP8 with the payload types of
# dsrtpd's offer (rtcp-fb nack, nack pli for VP8); by default it names no SSRC, so Chromium
# must take the echoed streams as unsignalled ones (a bundled transport routes those by
# payload type); DSRTP_VIDEO_SSRC_LINES=1 adds a=ssrc lines for the echo's SSRCs instead.
#
# Checks: Chromium offers both m-lines under BUNDLE; ng offer ok; the offer to the trunk
# has two active m-lines (audio, video) on distinct ports; ng answer ok; the answer to
# Chromium bundles both mids on one port (a=group:BUNDLE with both mids, the same port on
# both m-lines) and carries the same fingerprint, setup, ICE credentials and candidate on
# each m-line; Chromium's getStats() after ~5 s of call: DTLS transport connected, an SRTP
# cipher, inbound audio packetsReceived > 0, inbound video packetsReceived > 0 and
# framesDecoded > 0; the echo saw only the audio m-line's payload types on its audio port
# and only the video m-line's on its video port, each from that m-line's port in the offer
# (symmetric RTP); ng delete ok.
#
# A second call, add_video, adds a stream by re-offer (call.mjs --media add-video). Chromium
# (default bundle policy) starts it audio only (PCMU) through dsrtpd, with the same ng flags,
# to a new echo whose video port is bound from the start but not in the trunk's first
# answer (audio only). After ~3 s of audio Chromium adds a video transceiver (VP8 only) and
# renegotiates: its re-offer goes to dsrtpd as an ng offer for the same call-id with
# Chromium's from-tag and the same flags; the trunk re-answers (o= version up) with both
# m-lines, the video one on the echo's video port, as an ng answer, and dsrtpd's answer goes
# to Chromium. Checks: Chromium's first offer is audio only; ng offer and answer ok;
# Chromium's re-offer has audio + video under BUNDLE; ng re-offer ok; our re-offer to the
# trunk keeps the audio port and adds an active m=video on a new port (not the audio RTP
# or RTCP port) with VP8, o= version one up; ng answer ok; the answer to Chromium has both
# m-lines on the port of the first answer, a=group:BUNDLE with both mids, and on each m-line
# the fingerprint, setup and ICE credentials of the first answer; Chromium accepts it (both
# transceivers sendrecv), its audio had flowed before the re-offer (inbound packetsReceived
# > 0), its DTLS transport is the same object, still connected and connected once only, the
# video sender rides on it, one getStats transport with the same selected candidate pair and
# certificate fingerprints; after ~4 s inbound video packetsReceived > 0, framesDecoded > 0
# and inbound audio still growing (also the last line's facts: DTLS connected, an SRTP
# cipher); the echo saw only the audio m-line's payload types on its audio port and only
# the video m-line's on its video port, each from that m-line's port in our offers; dsrtpd
# logged one DTLS handshake for the call; ng delete ok.
#
# Setup as in test_browser_dsrtpd.sh: playwright-core is installed with `npm install`, here
# into BUILD_DIR/browser-video-test (its own folder: ctest -j may run both browser tests at
# once, and neither may rewrite files the other is loading or installing), only when its
# node_modules is missing; no browser is ever downloaded, /usr/bin/chromium is used.
# Missing chromium, node or npm is a failure, not a skip. The call runs in a fresh network
# namespace with only `lo` when `unshare -n` works.
#
# usage: bash test_browser_video.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree;
#        DSRTP_VIDEO_CALLS: the calls to run, default "browser_video add_video")
set -u

BUILD=${1:?usage: test_browser_video.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
CALL_SECONDS=5
ADD_AUDIO_SECONDS=3 # add_video: audio only before Chromium adds video
ADD_VIDEO_SECONDS=4 # add_video: audio + video after Chromium applied the answer
CALLS=${DSRTP_VIDEO_CALLS:-browser_video add_video}
SSRC_LINES=${DSRTP_VIDEO_SSRC_LINES:-0}
ECHO_SSRC_AUDIO=$((0x0EC40A01)) # the echo's SSRCs, fixed (and so never Chromium's but by
ECHO_SSRC_VIDEO=$((0x0EC40B01)) # a 1 in 2^32 chance)
# The ng flags of the offer towards the trunk, as the proxy sets them.
TO_TRUNK=',"transport-protocol":"RTP/AVP","ICE":"remove","DTLS":"off","rtcp-mux":["demux"]'

source "$SRC/tests/cli/lib.sh" browser-video
# chromium, node and npm present, playwright-core in BUILD/browser-video-test, then the
# network namespace (BUILD absolute, CHROMIUM and NODE_DIR set).
browser_setup browser-video-test

# 28 consecutive free ports: dsrtpd's media ports are the first 16, then each call's echo
# has 4 (audio RTP, audio RTCP, video RTP, video RTCP).
read -r NG_PORT HTTP_PORT MEDIA_BASE < <(gw_free_ports 28)
NG=127.0.0.1:$NG_PORT
gw_launch "$WORK/dsrtpd.log" "$MEDIA_BASE" $((MEDIA_BASE + 15)) --interface 127.0.0.1 \
    --timeout 30 || echo "# dsrtpd does not answer ping"

# sdp_mlines FILE: one line per m-line: "KIND PORT FMT,FMT.. MID" (MID "-" when none).
sdp_mlines() {
    tr -d '\r' <"$1" | awk '
        function flush() { if (kind != "") print kind, port, fmts, (mid == "" ? "-" : mid) }
        /^m=/ { flush(); split(substr($0, 3), f, " "); kind = f[1]; port = f[2]; fmts = f[4]
                for (i = 5; i in f; i++) fmts = fmts "," f[i]; mid = "" }
        /^a=mid:/ { if (kind != "") mid = substr($0, 7) }
        END { flush() }'
}
# sdp_version FILE: the o= line's session version.
sdp_version() { tr -d '\r' <"$1" | sed -n 's/^o=[^ ]* [^ ]* \([0-9]*\) .*/\1/p' | head -n 1; }
# sdp_bundle FILE: the mids of a=group:BUNDLE, space separated.
sdp_bundle() { tr -d '\r' <"$1" | sed -n 's/^a=group:BUNDLE *//p' | head -n 1; }
# sdp_pt FILE KIND CODEC: the payload type of CODEC (rtpmap name, any case) in the first
# KIND m-line.
sdp_pt() {
    tr -d '\r' <"$1" | awk -v k="$2" -v c="$3" '
        /^m=/ { inm = ($0 ~ "^m=" k " ") && !done; if (inm) done = 1 }
        inm && /^a=rtpmap:/ {
            split(substr($0, 10), f, "[ /]")
            if (toupper(f[2]) == toupper(c)) { print f[1]; exit }
        }'
}

# trunk_sdp VERSION PCMU [VP8]: the trunk's SDP (CRLF): the echo's audio port with PCMU,
# and with VP8 given its video port too (rtcp-fb nack, nack pli).
trunk_sdp() {
    {
        echo "v=0"
        echo "o=trunk 1 $1 IN IP4 127.0.0.1"
        echo "s=-"
        echo "c=IN IP4 127.0.0.1"
        echo "t=0 0"
        echo "m=audio $ECHO_AUDIO RTP/AVP $2"
        echo "a=rtpmap:$2 PCMU/8000"
        echo "a=sendrecv"
        [ "$SSRC_LINES" = 1 ] && echo "a=ssrc:$ECHO_SSRC_AUDIO cname:trunk-echo"
        if [ -n "${3:-}" ]; then
            echo "m=video $ECHO_VIDEO RTP/AVP $3"
            echo "a=rtpmap:$3 VP8/90000"
            echo "a=rtcp-fb:$3 nack"
            echo "a=rtcp-fb:$3 nack pli"
            echo "a=sendrecv"
            [ "$SSRC_LINES" = 1 ] && echo "a=ssrc:$ECHO_SSRC_VIDEO cname:trunk-echo"
        fi
    } | sed 's/$/\r/'
}

# start_echo: the echo on its two ports (ECHO_AUDIO, ECHO_VIDEO), reporting to D/echo.json.
start_echo() {
    $PY "$SRC/tests/cli/rtp_echo.py" --bind 127.0.0.1 --out "$D/echo.json" --seconds 60 \
        --stream "audio:$ECHO_AUDIO:$ECHO_SSRC_AUDIO" \
        --stream "video:$ECHO_VIDEO:$ECHO_SSRC_VIDEO" \
        >"$D/echo.out" 2>"$D/echo.err" &
    EPID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q ready "$D/echo.out" 2>/dev/null && break
        sleep 0.1
    done
    grep -q ready "$D/echo.out" ||
        fail "$CALL: the echo bound its ports: $(tail -n 2 "$D/echo.err" | tr '\n' ' ')"
}

# sdp_av FILE: sets the caller's om to sdp_mlines FILE, pa and pv to the ports of its first
# audio and video m-lines, fa and fv to their formats.
sdp_av() {
    local oa ov
    om=$(sdp_mlines "$1")
    oa=$(awk '$1 == "audio"' <<<"$om" | head -n 1)
    ov=$(awk '$1 == "video"' <<<"$om" | head -n 1)
    pa=$(awk '{ print $2 }' <<<"$oa")
    pv=$(awk '{ print $2 }' <<<"$ov")
    fa=$(awk '{ print $3 }' <<<"$oa")
    fv=$(awk '{ print $3 }' <<<"$ov")
}

run_call() {
    if ! wait_file "$B" 30 $BPID; then
        fail "$CALL: Chromium made an offer: $(tail -n 3 "$D/browser.err" | tr '\n' ' ')"
        return 1
    fi
    local bm bmids ok
    bm=$(sdp_mlines "$B")
    bmids=$(awk '{ print $4 }' <<<"$bm" | tr '\n' ' ' | sed 's/ $//')
    [ "$(awk '{ print $1 }' <<<"$bm" | tr '\n' ' ')" = "audio video " ] &&
        [ "$(sdp_bundle "$B")" = "$bmids" ] &&
        pass "$CALL: Chromium offers audio + video, a=group:BUNDLE $bmids" ||
        fail "$CALL: Chromium offers audio + video under BUNDLE (m-lines '$(
            tr '\n' ';' <<<"$bm")', BUNDLE '$(sdp_bundle "$B")')"

    # The offer to the trunk: two active m-lines on distinct ports.
    ng_sdp "$CALL" offer "$TO_TRUNK" "$B" "$O" || return 1
    local om pa pv fa fv what="offer to the trunk has two active m-lines on distinct ports"
    sdp_av "$O"
    [ "$(wc -l <<<"$om")" = 2 ] && [ "${pa:-0}" -gt 0 ] 2>/dev/null &&
        [ "${pv:-0}" -gt 0 ] 2>/dev/null && [ "$pa" != "$pv" ] &&
        pass "$CALL: $what (audio $pa, video $pv)" ||
        fail "$CALL: $what (got '$(tr '\n' ';' <<<"$om")')"

    # The trunk: the echo on its two ports, and its answer.
    local pcmu vp8
    pcmu=$(sdp_pt "$O" audio PCMU)
    vp8=$(sdp_pt "$O" video VP8)
    if [ -z "$pcmu" ] || [ -z "$vp8" ]; then
        fail "$CALL: offer to the trunk has PCMU and VP8 (PCMU '$pcmu', VP8 '$vp8')"
        return 1
    fi
    echo "$fa" >"$D/audio_fmts"
    echo "$fv" >"$D/video_fmts"
    echo "$pa $pv" >"$D/offer_ports"
    start_echo
    trunk_sdp 1 "$pcmu" "$vp8" >"$T"

    # The answer to Chromium: both mids bundled on one port, one transport's attributes on
    # each m-line.
    ng_sdp "$CALL" answer '' "$T" "$A" || return 1
    local am ports
    am=$(sdp_mlines "$A")
    ports=$(awk '{ print $2 }' <<<"$am" | sort -u)
    [ "$(sdp_bundle "$A")" = "$bmids" ] &&
        [ "$(awk '{ print $4 }' <<<"$am" | tr '\n' ' ' | sed 's/ $//')" = "$bmids" ] &&
        [ "$(wc -l <<<"$ports")" = 1 ] && [ "${ports:-0}" -gt 0 ] 2>/dev/null &&
        pass "$CALL: answer to Chromium bundles mids $bmids on one port ($ports)" ||
        fail "$CALL: answer to Chromium bundles mids $bmids on one port (BUNDLE '$(
            sdp_bundle "$A")', m-lines '$(tr '\n' ';' <<<"$am")')"
    local why what
    why=$(same_transport_attrs "$A")
    what="answer to Chromium has the same fingerprint, setup, ICE credentials and candidate"
    what="$what on each m-line"
    [ -z "$why" ] && pass "$CALL: $what" || fail "$CALL: $what (${why%; })"
    return 0
}

# same_transport_attrs FILE: what differs between the m-lines of FILE in fingerprint,
# setup, ICE credentials and candidates ("" when nothing).
same_transport_attrs() {
    tr -d '\r' <"$1" | awk '
        /^m=/ { n++ }
        n && /^a=(fingerprint|setup|ice-ufrag|ice-pwd|candidate):/ {
            split($0, kv, ":"); v[n, kv[1]] = v[n, kv[1]] $0 "|" }
        END {
            split("a=fingerprint a=setup a=ice-ufrag a=ice-pwd a=candidate", keys, " ")
            for (k = 1; k <= 5; k++) {
                if (v[1, keys[k]] == "") { printf "%s missing on m-line 1; ", keys[k]; continue }
                for (i = 2; i <= n; i++)
                    if (v[i, keys[k]] != v[1, keys[k]])
                        printf "%s differs on m-line %d; ", keys[k], i
            }
        }'
}

# check_browser: Chromium's stats line after the call.
check_browser() {
    wait_pid $BPID 45
    local rc=$? S=$D/browser.last v
    tail -n 1 "$D/browser.out" >"$S"
    echo "# chromium $(cat "$S")"
    [ $rc -eq 0 ] && pass "$CALL: browser script exit 0" ||
        fail "$CALL: browser script exit $rc: $(tail -n 3 "$D/browser.err" | tr '\n' ' ')"
    [ "$(json_str "$S" dtlsState)" = connected ] && pass "$CALL: getStats dtlsState connected" ||
        fail "$CALL: getStats dtlsState connected (got '$(json_str "$S" dtlsState)')"
    v=$(json_str "$S" srtpCipher)
    [ -n "$v" ] && pass "$CALL: getStats srtpCipher $v" ||
        fail "$CALL: getStats srtpCipher non-empty"
    for v in audioPacketsReceived:"inbound audio packetsReceived" \
        videoPacketsReceived:"inbound video packetsReceived" \
        framesDecoded:"inbound video framesDecoded"; do
        local key=${v%%:*} what=${v#*:} n
        n=$(json_val "$S" "$key")
        [ "${n:-0}" -gt 0 ] 2>/dev/null && pass "$CALL: getStats $what $n" ||
            fail "$CALL: getStats $what > 0 (got '${n:-none}')"
    done
}

# check_echo: what the echo saw on each port (after it stopped and wrote echo.json).
check_echo() {
    if [ -z "$EPID" ]; then
        return
    fi
    kill -TERM $EPID 2>/dev/null
    wait_pid $EPID 10
    if [ ! -s "$D/echo.json" ]; then
        fail "$CALL: the echo wrote its report: $(tail -n 3 "$D/echo.err" | tr '\n' ' ')"
        return
    fi
    echo "# echo $(cat "$D/echo.json")"
    local verdict what
    while IFS=$'\t' read -r verdict what; do
        if [ "$verdict" = ok ]; then pass "$CALL: $what"; else fail "$CALL: $what"; fi
    done < <($PY - "$D/echo.json" "$(cat "$D/audio_fmts")" "$(cat "$D/video_fmts")" \
        $(cat "$D/offer_ports") <<'PYEOF'
import json, sys
rep = json.load(open(sys.argv[1]))
fmts = {"audio": {int(x) for x in sys.argv[2].split(",") if x},
        "video": {int(x) for x in sys.argv[3].split(",") if x}}
ports = {"audio": sys.argv[4], "video": sys.argv[5]}
for kind in ("audio", "video"):
    s = rep[kind]
    pts = set(s["pts"])
    print("%s\techo's %s port saw only %s payload types "
          "(got %s from %d RTP packets, %s m-line has %s)"
          % ("ok" if pts and pts <= fmts[kind] else "FAIL", kind, kind,
             sorted(pts), s["rtp_packets"], kind, sorted(fmts[kind])))
    want = "127.0.0.1:" + ports[kind]
    print("%s\techo's %s RTP came from the %s m-line's port in the offer (%s; got %s)"
          % ("ok" if s["rtp_from"] == [want] else "FAIL", kind, kind, want,
             ", ".join(s["rtp_from"]) or "nothing"))
PYEOF
)
    $PY - "$D/echo.json" <<'PYEOF'
import json, sys
rep = json.load(open(sys.argv[1]))
for kind in ("audio", "video"):
    s = rep[kind]
    print("# echo %s: RTCP %d packets (types %s, %d on the RTP port) from %s, %d echoed"
          % (kind, s["rtcp_packets"], s["rtcp_types"], s["rtcp_on_rtp_port"],
             ", ".join(s["rtcp_from"]) or "nowhere", s["rtcp_echoed"]))
PYEOF
}

# ng_delete: the call ends.
ng_delete() {
    ng "{\"command\":\"delete\",\"call-id\":\"$CALL\",\"from-tag\":\"$CALL-a\"}" >"$D/ng_delete.json"
    grep -q '"result": "ok"' "$D/ng_delete.json" && pass "$CALL: ng delete" ||
        fail "$CALL: ng delete ($(cut -c1-200 "$D/ng_delete.json"))"
}

# dump_call FILE..: the call's SDPs, the dsrtpd log lines about it and Chromium's stderr, after
# a failure.
dump_call() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "# $CALL $(basename "$f"):"
        tr -d '\r' <"$f" | grep -v '^a=\(extmap\|ssrc-group\|msid-semantic\)' | sed 's/^/#   /'
    done
    echo "# dsrtpd log ($CALL):"
    grep -F "call=\"$CALL\"" "$WORK/dsrtpd.log" 2>/dev/null | tail -n 25 | sed 's/^/#   /'
    echo "# $CALL browser.err tail:"; tail -n 10 "$D/browser.err" | sed 's/^/#   /'
}

# call_setup NAME ECHO: CALL=NAME, its folder D (made) and SDP files B O T A; the echo's
# audio and video ports MEDIA_BASE + ECHO and + ECHO + 2.
call_setup() {
    CALL=$1
    ECHO_AUDIO=$((MEDIA_BASE + $2))
    ECHO_VIDEO=$((MEDIA_BASE + $2 + 2))
    D=$WORK/$CALL
    mkdir -p "$D"
    B=$D/browser.sdp O=$D/trunk_offer.sdp T=$D/trunk.sdp A=$D/remote.sdp
}

# 1. browser_video: audio + video from the first offer.
call_browser_video() {
    call_setup browser_video 16
    timeout 60 node "$NODE_DIR/call.mjs" --role offer --media audio,video --chromium "$CHROMIUM" \
        --local-sdp "$B" --remote-sdp "$A" --seconds $CALL_SECONDS --wait-remote 25 \
        >"$D/browser.out" 2>"$D/browser.err" &
    BPID=$!
    EPID=""
    local f0=$failures
    run_call
    check_browser
    check_echo
    ng_delete
    [ $failures -eq $f0 ] || dump_call "$B" "$O" "$T" "$A"
}

# 2. add_video: audio only, then video added by Chromium's re-offer.
call_add_video() {
    call_setup add_video 20
    B2=$D/browser.addvideo.sdp O2=$D/trunk_offer.addvideo.sdp T2=$D/trunk.addvideo.sdp
    A2=$D/remote.addvideo.sdp
    timeout 90 node "$NODE_DIR/call.mjs" --role offer --media add-video --chromium "$CHROMIUM" \
        --local-sdp "$B" --remote-sdp "$A" --seconds $ADD_AUDIO_SECONDS \
        --step-seconds $ADD_VIDEO_SECONDS --wait-remote 25 \
        >"$D/browser.out" 2>"$D/browser.err" &
    BPID=$!
    EPID=""
    local f0=$failures
    run_add_video
    check_browser
    check_add_step
    check_echo
    check_handshake
    ng_delete
    [ $failures -eq $f0 ] || dump_call "$B" "$O" "$T" "$A" "$B2" "$O2" "$T2" "$A2"
}

# run_add_video: the first exchange (audio only), then Chromium's re-offer adding video.
run_add_video() {
    if ! wait_file "$B" 30 $BPID; then
        fail "$CALL: Chromium made an offer: $(tail -n 3 "$D/browser.err" | tr '\n' ' ')"
        return 1
    fi
    local bm mid0
    bm=$(sdp_mlines "$B")
    mid0=$(awk '{ print $4 }' <<<"$bm")
    [ "$(awk '{ print $1 }' <<<"$bm" | tr '\n' ' ')" = "audio " ] &&
        pass "$CALL: Chromium offers audio only (mid $mid0, BUNDLE '$(sdp_bundle "$B")')" ||
        fail "$CALL: Chromium offers audio only (m-lines '$(tr '\n' ';' <<<"$bm")')"

    ng_sdp "$CALL" offer "$TO_TRUNK" "$B" "$O" || return 1
    local om pa pcmu
    om=$(sdp_mlines "$O")
    pa=$(awk '$1 == "audio" { print $2; exit }' <<<"$om")
    [ "$(wc -l <<<"$om")" = 1 ] && [ "${pa:-0}" -gt 0 ] 2>/dev/null &&
        pass "$CALL: offer to the trunk has one active audio m-line (port $pa)" ||
        fail "$CALL: offer to the trunk has one active audio m-line (got '$(tr '\n' ';' <<<"$om")')"
    pcmu=$(sdp_pt "$O" audio PCMU)
    if [ -z "$pcmu" ]; then
        fail "$CALL: offer to the trunk has PCMU"
        return 1
    fi
    # The echo binds its video port now; the trunk announces it only in its re-answer.
    start_echo
    trunk_sdp 1 "$pcmu" >"$T"
    ng_sdp "$CALL" answer '' "$T" "$A" || return 1
    local am ap
    am=$(sdp_mlines "$A")
    ap=$(awk '{ print $2 }' <<<"$am")
    [ "$(wc -l <<<"$am")" = 1 ] && [ "${ap:-0}" -gt 0 ] 2>/dev/null &&
        pass "$CALL: answer to Chromium: audio on port $ap (BUNDLE '$(sdp_bundle "$A")')" ||
        fail "$CALL: answer to Chromium has one active audio m-line (got '$(tr '\n' ';' <<<"$am")')"

    # Chromium adds video and re-offers.
    if ! wait_file "$B2" $((ADD_AUDIO_SECONDS + 30)) $BPID; then
        fail "$CALL: Chromium re-offered with video: $(tail -n 3 "$D/browser.err" "$D/browser.out" |
            tr '\n' ' ')"
        return 1
    fi
    local bm2 bmids
    bm2=$(sdp_mlines "$B2")
    bmids=$(awk '{ print $4 }' <<<"$bm2" | tr '\n' ' ' | sed 's/ $//')
    [ "$(awk '{ print $1 }' <<<"$bm2" | tr '\n' ' ')" = "audio video " ] &&
        [ "$(sdp_bundle "$B2")" = "$bmids" ] &&
        pass "$CALL: Chromium re-offers audio + video, a=group:BUNDLE $bmids" ||
        fail "$CALL: Chromium re-offers audio + video under BUNDLE (m-lines '$(
            tr '\n' ';' <<<"$bm2")', BUNDLE '$(sdp_bundle "$B2")')"

    ng "{\"command\":\"offer\",\"call-id\":\"$CALL\",\"from-tag\":\"$CALL-a\"$TO_TRUNK}" \
        --sdp-file "$B2" --out-sdp "$O2" >"$B2.ng.json"
    grep -q '"result": "ok"' "$B2.ng.json" && pass "$CALL: ng re-offer" ||
        { fail "$CALL: ng re-offer ($(cut -c1-300 "$B2.ng.json"))"; return 1; }
    local pa1=$pa pv fa fv vp8 what="re-offer to the trunk keeps the audio port and adds"
    what="$what an active m=video on a new port"
    sdp_av "$O2" # om and pa now the re-offer's; pa1 is the first offer's audio port
    [ "$(awk '{ print $1 }' <<<"$om" | tr '\n' ' ')" = "audio video " ] &&
        [ "$pa" = "$pa1" ] && [ "${pv:-0}" -gt 0 ] 2>/dev/null && [ "$pv" != "$pa1" ] &&
        [ "$pv" != $((pa1 + 1)) ] &&
        pass "$CALL: $what (audio $pa, video $pv)" ||
        fail "$CALL: $what (audio was $pa1; got '$(tr '\n' ';' <<<"$om")')"
    vp8=$(sdp_pt "$O2" video VP8)
    [ -n "$vp8" ] && [ -n "$(sdp_pt "$O2" audio PCMU)" ] &&
        pass "$CALL: re-offer to the trunk has PCMU and VP8 ($(sdp_pt "$O2" audio PCMU), $vp8)" ||
        { fail "$CALL: re-offer to the trunk has PCMU and VP8 (VP8 '$vp8')"; return 1; }
    local v1 v2
    v1=$(sdp_version "$O")
    v2=$(sdp_version "$O2")
    [ -n "$v1" ] && [ "$v2" = $((v1 + 1)) ] 2>/dev/null &&
        pass "$CALL: re-offer to the trunk: o= version one up ($v1 -> $v2)" ||
        fail "$CALL: re-offer to the trunk: o= version one up (got $v1 -> $v2)"
    echo "$fa" >"$D/audio_fmts"
    echo "$fv" >"$D/video_fmts"
    echo "$pa $pv" >"$D/offer_ports"

    # The trunk re-answers with both m-lines; the answer goes to Chromium.
    trunk_sdp 2 "$pcmu" "$vp8" >"$T2"
    ng "{\"command\":\"answer\",\"call-id\":\"$CALL\",\"from-tag\":\"$CALL-a\",\"to-tag\":\"$CALL-b\"}" \
        --sdp-file "$T2" --out-sdp "$A2.tmp" >"$T2.ng.json"
    grep -q '"result": "ok"' "$T2.ng.json" && pass "$CALL: ng answer to the re-offer" ||
        { fail "$CALL: ng answer to the re-offer ($(cut -c1-300 "$T2.ng.json"))"; return 1; }
    local am2 ports
    am2=$(sdp_mlines "$A2.tmp")
    ports=$(awk '{ print $2 }' <<<"$am2" | sort -u)
    what="answer to Chromium has both mids on the first answer's port $ap and BUNDLE $bmids"
    [ "$(sdp_bundle "$A2.tmp")" = "$bmids" ] &&
        [ "$(awk '{ print $4 }' <<<"$am2" | tr '\n' ' ' | sed 's/ $//')" = "$bmids" ] &&
        [ "$(awk '{ print $1 }' <<<"$am2" | tr '\n' ' ')" = "audio video " ] &&
        [ "$ports" = "$ap" ] &&
        pass "$CALL: $what" ||
        fail "$CALL: $what (BUNDLE '$(sdp_bundle "$A2.tmp")', m-lines '$(tr '\n' ';' <<<"$am2")')"
    local why
    why=$(cat "$A" "$A2.tmp" | same_transport_attrs /dev/stdin)
    what="answer to Chromium has the first answer's fingerprint, setup, ICE credentials and"
    what="$what candidate on each m-line"
    [ -z "$why" ] && pass "$CALL: $what" ||
        fail "$CALL: $what (m-line 1: the first answer's; ${why%; })"
    mv "$A2.tmp" "$A2" # Chromium takes it from here
    return 0
}

# check_add_step: Chromium's facts before and after the re-offer that added video.
check_add_step() {
    local verdict what
    while IFS=$'\t' read -r verdict what; do
        if [ "$verdict" = ok ]; then pass "$CALL: $what"; else fail "$CALL: $what"; fi
    done < <($PY - "$D/browser.out" <<'PYEOF'
import json, sys
s = None
for l in open(sys.argv[1]):
    try:
        d = json.loads(l)
    except ValueError:
        continue
    if d.get("step") == "addvideo":
        s = d
def out(ok, what):
    print(("ok" if ok else "FAIL") + "\t" + what)
if s is None:
    out(False, "Chromium applied the answer to its re-offer and reported (no step line)")
    sys.exit(0)
b, a = s["before"], s["after"]
out(b["packetsReceived"] > 0 and b["mids"].count(" ") == 0,
    "audio only at first: inbound audio packetsReceived %d before the re-offer (mids '%s')"
    % (b["packetsReceived"], b["mids"]))
out(a["signalingState"] == "stable" and a["directions"] == "sendrecv sendrecv",
    "Chromium accepted the answer: mids '%s', currentDirections '%s' (%s)"
    % (a["mids"], a["directions"], a["signalingState"]))
out(a["sameDtlsTransport"] and a["dtlsTransportState"] == "connected" and
    a["dtlsConnects"] == 1 and a["dtlsState"] == "connected" and a["videoSameTransport"],
    "same RTCDtlsTransport, still connected, connected once only, video sender on it "
    "(same %s, state %s, connects %s, states '%s', stats %s, video on it %s)"
    % (a["sameDtlsTransport"], a["dtlsTransportState"], a["dtlsConnects"], a["dtlsStates"],
       a["dtlsState"], a["videoSameTransport"]))
keys = ("transportCount", "transportId", "selectedPairId", "selectedPair", "localFingerprint",
        "remoteFingerprint")
diff = [k for k in keys if a[k] != b[k] or a[k] is None]
out(not diff and a["transportCount"] == 1,
    "one getStats transport, selected pair (%s) and certificate fingerprints unchanged%s"
    % (a["selectedPair"], "" if not diff else " (differ: %s)" % ", ".join(
        "%s %s -> %s" % (k, b[k], a[k]) for k in diff)))
av = a["av"]
out(av["videoPacketsReceived"] > 0 and av["framesDecoded"] > 0,
    "video added: inbound video packetsReceived %d, framesDecoded %d (%s, %sx%s; sent %d)"
    % (av["videoPacketsReceived"], av["framesDecoded"], av["videoCodec"], av["frameWidth"],
       av["frameHeight"], av["videoPacketsSent"]))
out(a["packetsReceived"] > b["packetsReceived"],
    "inbound audio keeps flowing (packetsReceived %d -> %d)"
    % (b["packetsReceived"], a["packetsReceived"]))
PYEOF
)
}

# check_handshake: dsrtpd logged one DTLS handshake for the call.
check_handshake() {
    local n
    n=$(grep -c "msg=\"DTLS handshake done\" call=\"$CALL\"" "$WORK/dsrtpd.log")
    [ "$n" = 1 ] && pass "$CALL: dsrtpd logged one DTLS handshake for the call" ||
        fail "$CALL: dsrtpd logged one DTLS handshake for the call (got $n)"
}

for c in $CALLS; do
    case $c in
    browser_video) call_browser_video ;;
    add_video) call_add_video ;;
    *) fail "unknown call '$c' in DSRTP_VIDEO_CALLS" ;;
    esac
done

if [ $failures -ne 0 ]; then
    echo "# dsrtpd log tail:"
    tail -n 25 "$WORK/dsrtpd.log" "$WORK/dsrtpd.err" 2>/dev/null | sed 's/^/#   /'
fi
echo "$((checks - failures))/$checks checks passed"
[ $failures -eq 0 ]
