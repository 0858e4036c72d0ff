#!/usr/bin/env bash
# CLI test of `dsrtp sdp inspect FILE`. Usage: bash test_sdp_inspect.sh BUILD_DIR
# (DSRTP_SOURCE_DIR names the source tree; the seed SDPs of fuzz/corpus/sdp_parse are the
# inputs). Checks fields of the JSON for real peers' descriptions, that no SDES key and no
# ICE password is ever printed, and the error path: 'line N: reason' on stderr, exit 2.
set -u

BUILD=${1:?usage: test_sdp_inspect.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DSRTP="$BUILD/dsrtp"
CORPUS="$SRC/fuzz/corpus/sdp_parse"
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/dsrtp-sdp.XXXXXX")
trap 'rm -rf "$T"' EXIT

checks=0
fails=0
ok() { checks=$((checks + 1)); echo "ok   - $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL - $1"; }

if [ ! -x "$DSRTP" ]; then
    echo "FAIL - $DSRTP is not built"
    exit 1
fi

# field FILE EXPR WANT: evaluates the Python expression EXPR on the JSON as d.
field() {
    local got
    got=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1" "$2" 2>&1)
    if [ "$got" = "$3" ]; then ok "$(basename "$1") $2 = $3"; else bad "$(basename "$1") $2: got '$got', want '$3'"; fi
}

inspect() {
    local name=$1
    if "$DSRTP" sdp inspect "$CORPUS/$name.sdp" >"$T/$name.json" 2>"$T/$name.err"; then
        ok "inspect $name exits 0"
    else
        bad "inspect $name exits 0 ($(cat "$T/$name.err"))"
    fi
}

for n in chromium_offer aiortc_offer baresip_offer sdes_offer pbx_plain ipv6_offer; do
    inspect "$n"
done

J="$T/chromium_offer.json"
field "$J" 'len(d["media"])' 2
field "$J" 'd["session"]["groups"][0]["semantics"] + " " + " ".join(d["session"]["groups"][0]["mids"])' "BUNDLE 0 1"
field "$J" 'd["media"][0]["proto"]' "UDP/TLS/RTP/SAVPF"
field "$J" 'd["media"][0]["port"]' 54139
field "$J" 'd["media"][0]["setup"]' actpass
field "$J" 'd["media"][0]["fingerprints"][0]["hash"]' sha-256
field "$J" 'd["media"][0]["fingerprints"][0]["value"][:8]' "60:4F:D7"
field "$J" 'd["media"][0]["ice_ufrag"]' Wq1b
field "$J" 'd["media"][0]["ice_pwd_present"]' True
field "$J" 'd["media"][0]["candidates"]' 2
field "$J" 'd["media"][0]["rtcp_mux"]' True
field "$J" 'd["media"][0]["mid"]' 0
field "$J" 'd["media"][1]["media"]' video
field "$J" 'd["media"][0]["connection"]["address"]' 127.0.0.1
field "$J" 'd["media"][0]["direction"]' sendrecv

J="$T/aiortc_offer.json"
field "$J" '[f["hash"] for f in d["media"][0]["fingerprints"]]' "['sha-256', 'sha-384', 'sha-512']"
field "$J" 'd["media"][0]["end_of_candidates"]' True

J="$T/baresip_offer.json"
field "$J" 'd["session"]["fingerprints"][0]["hash"]' sha-256
field "$J" 'd["media"][0]["fingerprints_from_session"]' True
field "$J" 'd["media"][0]["fingerprints"][0]["value"][:5]' "F2:6C"
field "$J" 'd["media"][0]["proto"]' "UDP/TLS/RTP/SAVP"

J="$T/sdes_offer.json"
field "$J" '[(c["tag"], c["suite"], c["supported"]) for c in d["media"][0]["crypto"]]' \
    "[(1, 'AES_CM_128_HMAC_SHA1_80', True), (2, 'AES_CM_128_HMAC_SHA1_32', True), (3, 'F8_128_HMAC_SHA1_80', False)]"
field "$J" 'd["media"][0]["setup"]' None
field "$J" 'd["media"][0]["ice_ufrag"]' None

J="$T/pbx_plain.json"
field "$J" 'd["media"][0]["proto"]' "RTP/AVP"
field "$J" 'd["media"][0]["crypto"]' "[]"
field "$J" 'd["media"][0]["connection_from_session"]' True

J="$T/ipv6_offer.json"
field "$J" 'd["media"][0]["connection"]["family"]' IP6
field "$J" 'd["media"][0]["connection"]["address"]' 2001:db8::1
field "$J" 'd["session"]["ice_lite"] and d["media"][0]["ice_lite"]' True
field "$J" 'd["media"][0]["tls_id"]' abc3de65cddef001be82feac2d0f3e7
field "$J" 'd["media"][0]["direction"]' recvonly

# No secret may appear in any output: SDES keys (whole or in part) and ICE passwords.
secrets=$(grep -ohE 'inline:[A-Za-z0-9+/=]+|ice-pwd:[^[:space:]]+' "$CORPUS"/*.sdp |
    sed -e 's/^inline://' -e 's/^ice-pwd://' -e 's/\r$//')
leaked=0
for s in $secrets; do
    if grep -qF -- "${s:0:12}" "$T"/*.json "$T"/*.err; then
        leaked=1
        echo "  leaked: ${s:0:6}..."
    fi
done
if grep -qiE 'inline|pwd"' "$T"/*.json; then leaked=1; fi
if [ -n "$secrets" ] && [ $leaked -eq 0 ]; then ok "no key or ice-pwd text in the output"; else bad "secrets in the output"; fi

# Standard input as '-'.
if "$DSRTP" sdp inspect - <"$CORPUS/pbx_plain.sdp" | cmp -s - "$T/pbx_plain.json"; then
    ok "'-' reads standard input"
else
    bad "'-' reads standard input"
fi

# Malformed input: 'line N: reason' on stderr, nothing on stdout, exit 2.
malformed() {
    local desc=$1 want=$2
    "$DSRTP" sdp inspect "$T/bad.sdp" >"$T/bad.out" 2>"$T/bad.err"
    local rc=$?
    if [ $rc -eq 2 ] && [ "$(head -1 "$T/bad.err")" = "$want" ] && [ ! -s "$T/bad.out" ]; then
        ok "$desc: exit 2, '$want'"
    else
        bad "$desc: exit $rc, stderr '$(cat "$T/bad.err")', want '$want'"
    fi
}
printf 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=setup:sideways\r\n' >"$T/bad.sdp"
malformed "bad a=setup" "line 6: bad a=setup value"
printf 'v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 99999 RTP/AVP 0\n' >"$T/bad.sdp"
malformed "bad port" "line 4: bad port on m= line"
printf 'hello\n' >"$T/bad.sdp"
malformed "not SDP" "line 1: line is not <letter>=<value>"
sed 's/^a=ice-pwd:.*/a=ice-pwd:short/' "$CORPUS/chromium_offer.sdp" >"$T/bad.sdp"
malformed "short ice-pwd" "line 14: bad a=ice-pwd"
if grep -q '5Ne3' "$T/bad.err"; then bad "error text quotes the line"; else ok "error text quotes nothing from the line"; fi

"$DSRTP" sdp inspect "$T/does-not-exist.sdp" >/dev/null 2>&1
rc=$?
if [ $rc -eq 1 ]; then ok "missing file exits 1"; else bad "missing file exits $rc"; fi
"$DSRTP" sdp >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok "usage error exits 2"; else bad "usage error exits $rc"; fi

echo "$checks checks, $fails failed"
[ $fails -eq 0 ]
