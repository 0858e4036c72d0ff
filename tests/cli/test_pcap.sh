#!/usr/bin/env bash
# CLI test of `dsrtp pcap decrypt|encrypt`. Usage: bash test_pcap.sh BUILD_DIR
#
# The plain captures are written here byte by byte (classic pcap and pcapng, with IP and UDP
# checksums computed in bash), so nothing outside coreutils is needed. The main check is a
# round trip: encrypt, then decrypt, must give back the input byte for byte, which also
# proves the tool's length and checksum fix-ups (the inputs carry correct checksums). The
# only documented difference: a capture read from pcapng or from a pipe is written as
# classic pcap with nanosecond time stamps, so those are compared with a nanosecond twin.
set -u

BUILD=${1:?usage: test_pcap.sh BUILD_DIR}
DSRTP="$BUILD/dsrtp"
T=$(mktemp -d "${TMPDIR:-/tmp}/dsrtp-pcap.XXXXXX")
trap 'rm -rf "$T"' EXIT

checks=0
fails=0
ok() { checks=$((checks + 1)); echo "ok   - $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL - $1"; }
# expect DESCRIPTION COMMAND...: passes when the command succeeds.
expect() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

if [ ! -x "$DSRTP" ]; then
    echo "FAIL - $DSRTP is not built"
    exit 1
fi

# ---- byte helpers ----

# unhex HEX: writes the bytes of a hex string (blanks ignored) to stdout.
unhex() {
    local h=${1//[[:space:]]/} esc="" i
    for ((i = 0; i < ${#h}; i += 2)); do esc+="\\x${h:i:2}"; done
    printf "$esc"
}
tohex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
le32() {
    printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) \
        $(($1 >> 24 & 255))
}
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
be16() { printf '%04x' "$1"; }
hexlen() { local h=${1//[[:space:]]/}; echo $((${#h} / 2)); }

# csum HEX: RFC 1071 checksum of the bytes.
csum() {
    local h=${1//[[:space:]]/} s=0 i
    if ((${#h} % 4)); then h+=00; fi
    for ((i = 0; i < ${#h}; i += 4)); do s=$((s + 16#${h:i:4})); done
    while ((s >> 16)); do s=$(((s & 0xffff) + (s >> 16))); done
    printf '%04x' $((~s & 0xffff))
}

# ---- packet builders (all output hex) ----

# ipv4_udp SRC DST SPORT DPORT PAYLOAD [nocsum|frag|opts]
ipv4_udp() {
    local src=$1 dst=$2 sp=$3 dp=$4 pl=${5//[[:space:]]/} mode=${6:-}
    local ulen=$(($(hexlen "$pl") + 8)) ihl=5 opts="" frag=0000 ck=0000
    if [ "$mode" = opts ]; then ihl=6; opts=01010100; fi
    if [ "$mode" = frag ]; then frag=2000; fi
    local udp0="$(be16 "$sp")$(be16 "$dp")$(be16 $ulen)0000$pl"
    if [ "$mode" != nocsum ]; then
        ck=$(csum "$src$dst 0011 $(be16 $ulen) $udp0")
        if [ "$ck" = 0000 ]; then ck=ffff; fi
    fi
    local tot=$((ihl * 4 + ulen))
    local ip0="4${ihl}00$(be16 $tot)1234${frag}4011 0000 $src$dst$opts"
    echo "4${ihl}00$(be16 $tot)1234${frag}4011$(csum "$ip0")$src$dst$opts${udp0:0:12}$ck$pl"
}

# ipv4_tcp SRC DST: a bare TCP SYN.
ipv4_tcp() {
    local tcp="c35000500000000100000000500220000000 0000"
    local ip0="45000028abcd40004006 0000 $1$2"
    echo "45000028abcd40004006$(csum "$ip0")$1$2$tcp"
}

# ipv6_udp SRC DST SPORT DPORT PAYLOAD [dstopts]
ipv6_udp() {
    local src=$1 dst=$2 sp=$3 dp=$4 pl=${5//[[:space:]]/} ext="" nh=11
    local ulen=$(($(hexlen "$pl") + 8))
    if [ "${6:-}" = dstopts ]; then ext=1100010400000000; nh=3c; fi
    local udp0="$(be16 "$sp")$(be16 "$dp")$(be16 $ulen)0000$pl"
    local ck
    ck=$(csum "$src$dst 0000$(be16 $ulen) 00000011 $udp0")
    if [ "$ck" = 0000 ]; then ck=ffff; fi
    local plen=$((ulen + $(hexlen "$ext")))
    echo "60000000$(be16 $plen)${nh}40$src$dst$ext$(be16 "$sp")$(be16 "$dp")$(be16 $ulen)$ck$pl"
}

MAC_A=020000000001
MAC_B=020000000002
eth() { echo "$2$1$3$4"; }             # eth SRCMAC DSTMAC TYPE PAYLOAD
eth4() { eth "$1" "$2" 0800 "$3"; }
eth6() { eth "$1" "$2" 86dd "$3"; }
sll() { echo "00000001000602000000000100000800$1"; }               # IPv4 in Linux SLL
sll2() { echo "86dd0000000000020001000602000000000200 00$1"; }      # IPv6 in Linux SLL2

# rtp B0 PT SEQ TS SSRC [EXTRA-HEADER] PAYLOAD
rtp() { echo "$1$2$(be16 "$3")$(printf %08x "$4")$5$6${7:-}"; }
# pay N SEED: N bytes of payload.
pay() {
    local s="" i
    for ((i = 0; i < $1; i++)); do s+=$(printf %02x $(((i * 37 + $2) & 255))); done
    echo "$s"
}

IP_A=0a000001
IP_B=0a000002
IP6_A=20010db8000000000000000000000001
IP6_B=20010db8000000000000000000000002
S1=11111111
S2=22222222
S3=33333333
S4=44444444
SR1="80c80006${S1}e1e2e3e4e5e6e7e80000a0000000000500000320"
SDES1="81ca0002${S1}01014100"
RR3="81c90007${S3}${S1}00000001000003e8000000100000000000000000"
STUN="000100002112a442000102030405060708090a0b"
DTLS="16fefd000000000000000000100100000c000000000000000c0102030405060708"

# ---- capture writers ----

# rec SEC FRAC HEX [WIRELEN [CAPLEN-OVERRIDE]]: one classic pcap record.
rec() {
    local n
    n=$(hexlen "$3")
    echo "$(le32 "$1")$(le32 "$2")$(le32 "${5:-$n}")$(le32 "${4:-$n}")$3"
}
# write_pcap FILE LINKTYPE micro|nano FRAME...: time stamps 1.7e9+i s and i ms + 7 us.
write_pcap() {
    local f=$1 lt=$2 prec=$3 magic=d4c3b2a1 mul=1 i=0 out
    shift 3
    if [ "$prec" = nano ]; then magic=4d3cb2a1; mul=1000; fi
    out="${magic}02000400 00000000 00000000 $(le32 262144)$(le32 "$lt")"
    for fr in "$@"; do
        out+=$(rec $((1700000000 + i)) $(((i * 1000 + 7) * mul)) "$fr")
        i=$((i + 1))
    done
    unhex "$out" >"$f"
}
# write_pcapng FILE LINKTYPE FRAME...: the same frames and stamps as write_pcap.
write_pcapng() {
    local f=$1 lt=$2 i=0 out
    shift 2
    out="0a0d0d0a $(le32 28) 4d3c2b1a 0100 0000 ffffffffffffffff $(le32 28)"
    out+="01000000 $(le32 20) $(le16 "$lt") 0000 00000000 $(le32 20)"
    for fr in "$@"; do
        local n pad ts hi lo
        n=$(hexlen "$fr")
        pad=$(((4 - n % 4) % 4))
        ts=$(((1700000000 + i) * 1000000 + i * 1000 + 7))
        hi=$((ts >> 32))
        lo=$((ts & 0xffffffff))
        out+="06000000 $(le32 $((32 + n + pad))) 00000000 $(le32 $hi) $(le32 $lo)"
        out+="$(le32 "$n") $(le32 "$n") $fr$(printf '%*s' $((2 * pad)) '' | tr ' ' 0)"
        out+="$(le32 $((32 + n + pad)))"
        i=$((i + 1))
    done
    unhex "$out" >"$f"
}
# records FILE: one line per record of a little-endian classic pcap, as hex.
records() {
    local h pos=48 n c
    h=$(tohex "$1")
    n=${#h}
    while ((pos + 32 <= n)); do
        c=${h:pos+16:8}
        c=$((16#${c:6:2}${c:4:2}${c:2:2}${c:0:2}))
        echo "${h:pos:32+2*c}"
        pos=$((pos + 32 + 2 * c))
    done
}
caplens() {
    records "$1" | while read -r r; do echo $((16#${r:22:2}${r:20:2}${r:18:2}${r:16:2})); done
}
header() { tohex "$1" | cut -c1-48; }

# ---- the Ethernet capture: IPv4 and IPv6, RTP and RTCP both ways, and other traffic ----

P20=$(pay 20 1)
E=()
K=() # per frame: r (RTP), c (RTCP) or o (copied as is)
add() { K+=("$1"); E+=("$2"); }
# a2b PAYLOAD [MODE] / b2a PAYLOAD: the main flow, 10.0.0.1:5000 <-> 10.0.0.2:6000.
a2b() { eth4 $MAC_A $MAC_B "$(ipv4_udp $IP_A $IP_B 5000 6000 "$@")"; }
b2a() { eth4 $MAC_B $MAC_A "$(ipv4_udp $IP_B $IP_A 6000 5000 "$@")"; }
add o "${MAC_B}${MAC_A}0806$(printf '%056d' 0)" # ARP
add o "$(a2b $STUN)"
add o "$(a2b $DTLS)"
add r "$(a2b "$(rtp 80 00 1 160 $S1 "" "$P20")")"
# CSRC count 2 and an RFC 8285 one-byte header extension.
add r "$(a2b "$(rtp 92 00 2 320 $S1 "aaaaaaaabbbbbbbbbede000110ab0000" "$(pay 40 2)")")"
add r "$(b2a "$(rtp 80 08 100 8000 $S3 "" "$P20")")"
add r "$(a2b "$(rtp 80 e0 7 90000 $S2 "" "$(pay 30 3)")")" # marker, PT 96, bundled video
add c "$(a2b "$SR1$SDES1")"
add c "$(b2a "$RR3")"
add o "$(eth4 $MAC_A $MAC_B "$(ipv4_udp $IP_A 08080808 40000 53 81230100000100000000000003777777)")"
add o "$(eth4 $MAC_A $MAC_B "$(ipv4_tcp $IP_A $IP_B)")"
add r "$(a2b "$(rtp 80 00 3 480 $S1 "" "$P20")" nocsum)"
# A short frame with Ethernet padding after the IP datagram.
add r "$(a2b "$(rtp 80 00 4 640 $S1 "" beef)")00000000"
VLAN100=810000640800 # an 802.1Q tag, then IPv4
add r "${MAC_B}${MAC_A}$VLAN100$(ipv4_udp $IP_A $IP_B 5000 6000 "$(rtp 80 00 5 800 $S1 "" "$P20")")"
add o "$(a2b "$(rtp 80 00 9 900 $S1 "" "$P20")" frag)"
# RTP padding (P bit, last byte = pad count).
add r "$(b2a "$(rtp a0 08 101 8160 $S3 "" "$(pay 8 4)00000004")")"
add c "$(eth4 $MAC_A $MAC_B "$(ipv4_udp $IP_A $IP_B 5001 6001 "$SR1")")"
add r "$(a2b "$(rtp 80 00 6 960 $S1 "" "$P20")" opts)"
add r "$(eth6 $MAC_A $MAC_B "$(ipv6_udp $IP6_A $IP6_B 7000 8000 "$(rtp 80 6f 1 0 $S4 "" "$P20")")")"
N_RTP=0
N_RTCP=0
N_OTHER=0
for k in "${K[@]}"; do
    case $k in
    r) N_RTP=$((N_RTP + 1)) ;;
    c) N_RTCP=$((N_RTCP + 1)) ;;
    o) N_OTHER=$((N_OTHER + 1)) ;;
    esac
done
N_ALL=${#E[@]}
write_pcap "$T/eth.pcap" 1 micro "${E[@]}"
write_pcap "$T/eth_ns.pcap" 1 nano "${E[@]}"
write_pcapng "$T/eth.pcapng" 1 "${E[@]}"

# Raw IPv6 (LINKTYPE_RAW), with a destination options header on one packet.
R6=(
    "$(ipv6_udp $IP6_A $IP6_B 7000 8000 "$(rtp 80 6f 1 0 $S4 "" "$P20")")"
    "$(ipv6_udp $IP6_A $IP6_B 7000 8000 "$(rtp 80 6f 2 160 $S4 "" "$P20")" dstopts)"
    "$(ipv6_udp $IP6_A $IP6_B 7000 8000 "$SR1")"
    "$(ipv6_udp $IP6_B $IP6_A 8000 7000 $STUN)"
    "$(ipv6_udp $IP6_B $IP6_A 8000 7000 "$(rtp 80 6f 50 0 $S3 "" "$P20")")"
)
write_pcap "$T/raw6.pcap" 101 micro "${R6[@]}"
write_pcap "$T/sll.pcap" 113 micro \
    "$(sll "$(ipv4_udp $IP_A $IP_B 5000 6000 "$(rtp 80 00 1 160 $S1 "" "$P20")")")" \
    "$(sll "$(ipv4_udp $IP_A $IP_B 5000 6000 "$SR1$SDES1")")"
write_pcap "$T/sll2.pcap" 276 micro \
    "$(sll2 "$(ipv6_udp $IP6_A $IP6_B 7000 8000 "$(rtp 80 6f 1 0 $S4 "" "$P20")")")" \
    "$(sll2 "$(ipv6_udp $IP6_A $IP6_B 7000 8000 "$SR1")")"

# ---- running the tool ----

KEY_HEX=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d
KEY_B64=$(unhex $KEY_HEX | base64 | tr -d '\n')
WRONG_HEX=ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d
P80=AES_CM_128_HMAC_SHA1_80
DEC=(pcap decrypt --profile $P80 --key "$KEY_HEX")
ENC=(pcap encrypt --profile $P80 --key "$KEY_HEX")

# run ARGS...: runs dsrtp with stdout in $T/out, stderr in $T/err, status in $rc; a crash or
# a sanitizer report is a failure of its own.
rc=0
run() {
    "$DSRTP" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -ge 128 ] || grep -q -e Sanitizer -e 'runtime error' "$T/err"; then
        bad "no crash: dsrtp $*"
        sed 's/^/    /' "$T/err" | head -20
    fi
}
# json FIELD: a number from the JSON summary in $T/out (the first, top-level one).
json() { grep -o "\"$1\":[0-9]*" "$T/out" | head -1 | cut -d: -f2; }
same() { cmp -s "$1" "$2"; }
differ() { ! cmp -s "$1" "$2"; }
eq() { [ "$1" = "$2" ]; }

# deltas TAG MKI RTCP_TAG: the growth of each frame of the Ethernet capture when protected.
deltas() {
    for k in "${K[@]}"; do
        case $k in r) echo $(($1 + $2)) ;; c) echo $((4 + $3 + $2)) ;; o) echo 0 ;; esac
    done
}
grew_by() { # PLAIN ENC TAG MKI RTCP_TAG
    paste -d' ' <(caplens "$1") <(caplens "$2") <(deltas "$3" "$4" "$5") |
        awk '{ if ($2 - $1 != $3) bad = 1 } END { exit bad }'
}

echo "# encrypt, then decrypt, AES_CM_128_HMAC_SHA1_80, base64 key"
SUM_ENC="encrypt: $N_ALL packets read, $N_RTP RTP and $N_RTCP RTCP encrypted"
SUM_DEC="decrypt: $N_ALL packets read, $N_RTP RTP and $N_RTCP RTCP decrypted"
run pcap encrypt --profile $P80 --key "inline:$KEY_B64" --json "$T/eth.pcap" "$T/enc.pcap"
expect "encrypt exits 0" eq $rc 0
expect "encrypt counts $N_RTP RTP, $N_RTCP RTCP" eq "$(json rtp),$(json rtcp)" "$N_RTP,$N_RTCP"
expect "encrypt copies $N_OTHER other frames" eq "$(json copied)" "$N_OTHER"
expect "encrypt prints the summary line" \
    grep -q "^$SUM_ENC, $N_OTHER other copied" "$T/err"
expect "encrypted capture differs from the plain one" differ "$T/eth.pcap" "$T/enc.pcap"
expect "RTP grew by 10 bytes, RTCP by 14, the rest not at all" \
    grew_by "$T/eth.pcap" "$T/enc.pcap" 10 0 10
expect "link type and snaplen are kept" eq "$(header "$T/enc.pcap")" "$(header "$T/eth.pcap")"
run pcap decrypt --profile $P80 --key "inline:$KEY_B64" --json "$T/enc.pcap" "$T/dec.pcap"
expect "decrypt exits 0" eq $rc 0
expect "decrypt prints the summary line" \
    grep -q "^$SUM_DEC, 0 authentication failures, 0 replays, $N_OTHER other copied" "$T/err"
expect "decrypt(encrypt(x)) == x byte for byte" same "$T/eth.pcap" "$T/dec.pcap"
expect "JSON: nothing refused" eq "$(json auth_failures),$(json replays),$(json malformed)" "0,0,0"
expect "JSON: copied detail (1 STUN, 1 DTLS, 1 other UDP, 1 TCP, 1 ARP, 1 fragment)" eq \
    "$(json stun),$(json dtls),$(json other_udp),$(json not_udp),$(json not_ip),$(json fragments)" \
    "1,1,1,1,1,1"
if command -v jq >/dev/null 2>&1; then
    expect "JSON summary parses (jq)" jq -e '.flows | length == 4' "$T/out" >/dev/null
fi
expect "JSON: one entry per flow direction (4)" eq "$(grep -o '"src":' "$T/out" | wc -l)" 4

echo "# keys in other spellings"
run pcap decrypt --profile $P80 --key "hex:$KEY_HEX" "$T/enc.pcap" "$T/dec2.pcap"
expect "hex: key decrypts" same "$T/eth.pcap" "$T/dec2.pcap"
run "${DEC[@]}" "$T/enc.pcap" "$T/dec3.pcap"
expect "bare hex key is detected" same "$T/eth.pcap" "$T/dec3.pcap"
run pcap decrypt --profile $P80 --key "$KEY_B64" "$T/enc.pcap" "$T/dec4.pcap"
expect "bare base64 key is detected" same "$T/eth.pcap" "$T/dec4.pcap"
run pcap decrypt --key "a=crypto:1 $P80 inline:$KEY_B64|2^31" "$T/enc.pcap" "$T/dec5.pcap"
expect "a whole a=crypto line supplies key and profile" same "$T/eth.pcap" "$T/dec5.pcap"
run pcap decrypt --profile srtp_aes128_cm_sha1_80 --key "$KEY_HEX" "$T/enc.pcap" "$T/dec6.pcap"
expect "DTLS-SRTP profile name is accepted" same "$T/eth.pcap" "$T/dec6.pcap"

echo "# wrong key"
run pcap decrypt --profile $P80 --key "$WRONG_HEX" --json "$T/enc.pcap" "$T/wrong.pcap"
expect "wrong key: exit 0" eq $rc 0
expect "wrong key: no RTP/RTCP written" eq "$(json rtp),$(json rtcp)" "0,0"
expect "wrong key: every SRTP/SRTCP packet is an authentication failure" \
    eq "$(json auth_failures)" $((N_RTP + N_RTCP))
expect "wrong key: only the other frames are written" eq "$(json written)" "$N_OTHER"
expect "wrong key: output holds only those frames" \
    eq "$(records "$T/wrong.pcap" | wc -l)" "$N_OTHER"
expect "wrong key: a hint is printed" grep -q "^hint: nothing authenticated" "$T/err"

echo "# replays"
{
    header "$T/enc.pcap"
    i=0
    records "$T/enc.pcap" | while read -r r; do
        echo "$r"
        # Frame 5 (RTP with CSRCs) and frame 8 (SRTCP) arrive twice.
        if [ $i = 4 ] || [ $i = 7 ]; then echo "$r"; fi
        i=$((i + 1))
    done
} | tr -d '\n' >"$T/dup.hex"
unhex "$(cat "$T/dup.hex")" >"$T/dup.pcap"
run "${DEC[@]}" --json "$T/dup.pcap" "$T/dedup.pcap"
expect "duplicated SRTP and SRTCP: 2 replays reported" eq "$(json replays)" 2
expect "replay summary line says so" grep -q "0 authentication failures, 2 replays" "$T/err"
expect "replays are not written: output equals the plain capture" same "$T/eth.pcap" "$T/dedup.pcap"

echo "# --ssrc, --port, --max-streams"
run "${DEC[@]}" --ssrc 0x11111111 --json "$T/enc.pcap" "$T/s1.pcap"
expect "--ssrc 0x11111111: 6 RTP and 2 RTCP" eq "$(json rtp),$(json rtcp)" "6,2"
expect "--ssrc: the other 5 are skipped and counted" eq "$(json ssrc_skipped)" 5
expect "--ssrc: skipped packets are not written" eq "$(json written)" $((N_OTHER + 8))
run "${DEC[@]}" --ssrc 858993459 --json "$T/enc.pcap" "$T/s3.pcap"
expect "--ssrc in decimal (0x33333333): 2 RTP and 1 RTCP" eq "$(json rtp),$(json rtcp)" "2,1"
run "${DEC[@]}" --port 7000 --json "$T/enc.pcap" "$T/p.pcap"
expect "--port 7000: only that flow is decrypted" eq "$(json rtp),$(json rtcp)" "1,0"
expect "--port: other flows are copied unchanged" eq "$(json other_udp)" $((1 + N_RTP + N_RTCP - 1))
run "${DEC[@]}" --max-streams 1 --json "$T/enc.pcap" "$T/m.pcap"
expect "--max-streams 1: the bundled second SSRC hits the full table" eq "$(json table_full)" 1
expect "--max-streams 1: a clear message names the flow" \
    grep -q "10.0.0.1:5000 -> 10.0.0.2:6000: stream table full (--max-streams 1)" "$T/err"
expect "--max-streams 1: the rest still decrypts" \
    eq "$(json rtp),$(json rtcp)" "$((N_RTP - 1)),$N_RTCP"

echo "# --roc, --plain-srtcp"
run "${ENC[@]}" --roc 7 "$T/eth.pcap" "$T/roc.pcap"
run "${DEC[@]}" --json "$T/roc.pcap" "$T/roc0.pcap"
expect "ROC 7 stream without --roc: RTP fails, SRTCP (no ROC) passes" \
    eq "$(json rtp),$(json auth_failures),$(json rtcp)" "0,$N_RTP,$N_RTCP"
run "${DEC[@]}" --roc 7 "$T/roc.pcap" "$T/roc7.pcap"
expect "--roc 7 decrypts it back exactly" same "$T/eth.pcap" "$T/roc7.pcap"
run "${ENC[@]}" --plain-srtcp "$T/eth.pcap" "$T/e0.pcap"
run "${DEC[@]}" "$T/e0.pcap" "$T/e0dec.pcap"
expect "SRTCP with the E flag clear round-trips" same "$T/eth.pcap" "$T/e0dec.pcap"

echo "# one key per direction"
write_pcap "$T/fwd.pcap" 1 micro "${E[3]}" "${E[4]}" "${E[7]}"
write_pcap "$T/rev.pcap" 1 micro "${E[5]}" "${E[8]}"
run "${ENC[@]}" "$T/fwd.pcap" "$T/fwd.enc"
run pcap encrypt --profile $P80 --key "$WRONG_HEX" "$T/rev.pcap" "$T/rev.enc"
{ tohex "$T/fwd.enc"; tohex "$T/rev.enc" | cut -c49-; } | tr -d '\n' >"$T/both.hex"
unhex "$(cat "$T/both.hex")" >"$T/both.pcap"
run "${DEC[@]}" --key "$WRONG_HEX" --json -v "$T/both.pcap" "$T/both.dec"
expect "two keys: both directions decrypt" \
    eq "$(json rtp),$(json rtcp),$(json auth_failures)" "3,2,0"
expect "two keys: -v names the key each flow used" \
    grep -q "10.0.0.2:6000 -> 10.0.0.1:5000: .*key 2" "$T/err"
run "${DEC[@]}" --json "$T/both.pcap" "$T/one.dec"
expect "one key: the other direction fails authentication" \
    eq "$(json rtp),$(json auth_failures)" "2,2"

echo "# every profile, with and without MKI"
for spec in AES_CM_128_HMAC_SHA1_80:16:14:10:10 AES_CM_128_HMAC_SHA1_32:16:14:4:10 \
    AES_256_CM_HMAC_SHA1_80:32:14:10:10 AES_256_CM_HMAC_SHA1_32:32:14:4:10 \
    AEAD_AES_128_GCM:16:12:16:16 AEAD_AES_256_GCM:32:12:16:16; do
    IFS=: read -r prof klen slen tag rtag <<<"$spec"
    key=$(pay $((klen + slen)) 99)
    b64=$(unhex "$key" | base64 | tr -d '\n')
    for mki in "" "|2^31|1:4"; do
        m=0
        if [ -n "$mki" ]; then m=4; fi
        run pcap encrypt --profile "$prof" --key "inline:$b64$mki" "$T/eth.pcap" "$T/pe.pcap"
        expect "$prof${mki:+ MKI 1:4}: frames grew by tag ($tag/$rtag) + MKI ($m)" \
            grew_by "$T/eth.pcap" "$T/pe.pcap" "$tag" "$m" "$rtag"
        run pcap decrypt --profile "$prof" --key "inline:$b64$mki" "$T/pe.pcap" "$T/pd.pcap"
        expect "$prof${mki:+ MKI 1:4}: round trip is exact" same "$T/eth.pcap" "$T/pd.pcap"
    done
done
run pcap decrypt --profile AEAD_AES_256_GCM --key "inline:$b64|2^31|2:4" --json "$T/pe.pcap" \
    "$T/pd.pcap"
expect "wrong MKI value: every packet refused" \
    eq "$(json rtp),$(json auth_failures)" "0,$((N_RTP + N_RTCP))"

echo "# link types, pcapng, pipes"
for f in raw6 sll sll2; do
    run "${ENC[@]}" "$T/$f.pcap" "$T/$f.enc"
    run "${DEC[@]}" --json "$T/$f.enc" "$T/$f.dec"
    expect "$f: decrypts $(json rtp) RTP + $(json rtcp) RTCP, round trip is exact" \
        same "$T/$f.pcap" "$T/$f.dec"
    expect "$f: encrypted copy differs" differ "$T/$f.pcap" "$T/$f.enc"
done
run "${ENC[@]}" "$T/eth.pcapng" "$T/ng.enc"
expect "pcapng input: encrypt exits 0" eq $rc 0
expect "pcapng input: written as classic pcap (nanosecond)" \
    eq "$(tohex "$T/ng.enc" | cut -c1-8)" 4d3cb2a1
run "${DEC[@]}" "$T/ng.enc" "$T/ng.dec"
expect "pcapng round trip equals the nanosecond twin of the input" same "$T/eth_ns.pcap" "$T/ng.dec"
"$DSRTP" "${DEC[@]}" - - <"$T/enc.pcap" >"$T/pipe.dec" 2>"$T/err"
expect "stdin to stdout: exit 0" eq $? 0
expect "stdin to stdout: same frames (nanosecond stamps)" same "$T/eth_ns.pcap" "$T/pipe.dec"

echo "# damaged input never crashes"
size=$(wc -c <"$T/enc.pcap")
head -c $((size - 5)) "$T/enc.pcap" >"$T/cut.pcap"
run "${DEC[@]}" "$T/cut.pcap" "$T/cut.dec"
expect "capture cut mid-record: exit 1" eq $rc 1
expect "capture cut mid-record: the error names the file" grep -q "cut.pcap: .*truncated" "$T/err"
expect "capture cut mid-record: earlier frames are kept" \
    eq "$(records "$T/cut.dec" | wc -l)" $((N_ALL - 1))
printf 'this is not a capture file, only some text\n' >"$T/garbage.pcap"
run "${DEC[@]}" "$T/garbage.pcap" "$T/g.dec"
expect "garbage file: exit 1 with a message" eq "$rc,$(grep -c garbage.pcap "$T/err")" "1,1"
: >"$T/empty.pcap"
run "${DEC[@]}" "$T/empty.pcap" "$T/g.dec"
expect "empty file: exit 1" eq $rc 1
head -c 24 "$T/enc.pcap" >"$T/hdr.pcap"
run "${DEC[@]}" --json "$T/hdr.pcap" "$T/hdr.dec"
expect "header only: exit 0, 0 packets" eq "$rc,$(json packets_read)" "0,0"

# Every prefix of an SRTP frame, once claiming to be complete and once cut by the snapshot
# length, plus frames with lying length fields.
FULL=$(records "$T/enc.pcap" | sed -n 5p | cut -c33-)
FLEN=$(hexlen "$FULL")
FR=""
for ((n = 0; n < FLEN; n++)); do
    FR+=$(rec 1 0 "${FULL:0:2*n}")
    FR+=$(rec 1 0 "${FULL:0:2*n}" "$FLEN")
done
IP4=$(ipv4_udp $IP_A $IP_B 5000 6000 "$(rtp 80 00 1 0 $S1 "" "$P20")")
IP6=$(ipv6_udp $IP6_A $IP6_B 7000 8000 "$(rtp 80 00 1 0 $S1 "" "$P20")" dstopts)
for lie in "4f${IP4:2}" "${IP4:0:4}ffff${IP4:8}" "${IP4:0:4}0010${IP4:8}" \
    "${IP4:0:48}0000${IP4:52}" "${IP4:0:48}ffff${IP4:52}" "${IP4:0:48}0009${IP4:52}"; do
    FR+=$(rec 1 0 "$(eth4 $MAC_A $MAC_B "$lie")")
done
for lie in "${IP6:0:8}ffff${IP6:12}" "${IP6:0:8}0000${IP6:12}" "${IP6:0:82}ff${IP6:84}" \
    "${IP6:0:12}2c${IP6:14}" "${IP6:0:12}32${IP6:14}"; do
    FR+=$(rec 1 0 "$(eth6 $MAC_A $MAC_B "$lie")")
done
FR+=$(rec 1 0 "${MAC_B}${MAC_A}8100000181000001810000018100000181000001${IP4}")
FR+=$(rec 1 0 "${MAC_B}${MAC_A}08006${IP4:1}")
unhex "$(header "$T/enc.pcap")$FR" >"$T/fuzz.pcap"
NF=$((2 * FLEN + 13))
for mode in decrypt encrypt; do
    run pcap $mode --profile $P80 --key "$KEY_HEX" --json "$T/fuzz.pcap" "$T/fuzz.out"
    expect "$mode: $NF damaged frames: exit 0, all read" eq "$rc,$(json packets_read)" "0,$NF"
    expect "$mode: damaged frames: all copied, none transformed" \
        eq "$(json copied),$(json rtp)" "$NF,0"
done
write_pcap "$T/sll_short.pcap" 113 micro "0000" "$(sll "")" "$(sll 45)"
write_pcap "$T/sll2_short.pcap" 276 micro "86dd" "$(sll2 "")" "$(sll2 60)"
write_pcap "$T/raw_short.pcap" 101 micro "" "45" "60" "ff" "${IP6:0:80}"
write_pcap "$T/null.pcap" 0 micro "02000000${IP4}" "1e000000${IP6}" "0200"
for f in sll_short sll2_short raw_short null; do
    run "${DEC[@]}" --json "$T/$f.pcap" "$T/x.out"
    expect "$f: short or odd frames copied, exit 0" eq "$rc,$(json rtp)" "0,0"
done
write_pcap "$T/unk.pcap" 147 micro "$IP4"
run "${DEC[@]}" "$T/unk.pcap" "$T/x.out"
expect "unknown link type: warned, copied, exit 0" \
    eq "$rc,$(grep -c 'not understood' "$T/err")" "0,1"
CUT=$(rec 1 0 "$(records "$T/enc.pcap" | sed -n 4p | cut -c33-112)" 80)
unhex "$(header "$T/enc.pcap")$CUT" >"$T/snap.pcap"
run "${DEC[@]}" --json "$T/snap.pcap" "$T/x.out"
expect "frame cut by snaplen: copied, counted, hinted" \
    eq "$(json truncated),$(grep -c '^hint: 1 frame cut short' "$T/err")" "1,1"

write_pcap "$T/short.pcap" 1 micro "$(a2b 80000001)" "$(a2b 80c80001)" "$(a2b 800000010000000100)"
run "${DEC[@]}" --json "$T/short.pcap" "$T/x.out"
expect "RTP/RTCP too short for an SSRC: counted malformed, not written" \
    eq "$rc,$(json malformed),$(json written)" "0,3,0"

echo "# usage and I/O errors"
usage_case() { # DESCRIPTION ARGS...
    local d=$1
    shift
    run "$@"
    expect "usage error ($d): exit 2" eq $rc 2
}
usage_case "no arguments" pcap
usage_case "unknown mode" pcap scramble --profile $P80 --key "$KEY_HEX" "$T/eth.pcap" "$T/x"
usage_case "missing key" pcap decrypt --profile $P80 "$T/eth.pcap" "$T/x"
usage_case "missing profile" pcap decrypt --key "$KEY_HEX" "$T/eth.pcap" "$T/x"
usage_case "unknown profile" pcap decrypt --profile AES_CM_64 --key "$KEY_HEX" "$T/eth.pcap" "$T/x"
usage_case "short key" pcap decrypt --profile $P80 --key "hex:0011" "$T/eth.pcap" "$T/x"
usage_case "key for another profile" \
    pcap decrypt --profile AES_256_CM_HMAC_SHA1_80 --key "$KEY_B64" "$T/eth.pcap" "$T/x"
usage_case "bad MKI" pcap decrypt --profile $P80 --key "$KEY_B64|1:99" "$T/eth.pcap" "$T/x"
usage_case "bad lifetime" pcap decrypt --profile $P80 --key "$KEY_B64|2^x" "$T/eth.pcap" "$T/x"
usage_case "bad --ssrc" "${DEC[@]}" --ssrc 0x1ffffffff "$T/eth.pcap" "$T/x"
usage_case "unknown option" "${DEC[@]}" --frobnicate "$T/eth.pcap" "$T/x"
usage_case "option without value" pcap decrypt "$T/eth.pcap" "$T/x" --key
usage_case "missing OUT" pcap decrypt --profile $P80 --key "$KEY_HEX" "$T/eth.pcap"
usage_case "encrypt with two keys" "${ENC[@]}" --key "$KEY_HEX" "$T/eth.pcap" "$T/x"
usage_case "OUT is IN" pcap decrypt --profile $P80 --key "$KEY_HEX" "$T/eth.pcap" "$T/eth.pcap"
expect "OUT is IN: the input is untouched" same "$T/eth.pcap" "$T/dec.pcap"
run "${DEC[@]}" "$T/missing.pcap" "$T/x"
expect "missing input: exit 1" eq $rc 1
run "${DEC[@]}" "$T/eth.pcap" "$T/no/such/dir/x.pcap"
expect "unwritable output: exit 1" eq $rc 1
run pcap --help
expect "pcap --help: exit 0 with usage" eq "$rc,$(grep -c '^usage: dsrtp pcap' "$T/out")" "0,1"
run --help
expect "dsrtp --help lists pcap" grep -q "dsrtp pcap decrypt|encrypt" "$T/out"

if command -v tshark >/dev/null 2>&1; then
    echo "# tshark"
    expect "tshark reads the encrypted capture" tshark -r "$T/enc.pcap" -q
    expect "tshark reads the decrypted capture" tshark -r "$T/dec.pcap" -q
    expect "tshark sees RTP in the decrypted capture" \
        test "$(tshark -r "$T/dec.pcap" -d udp.port==6000,rtp -Y rtp 2>/dev/null | wc -l)" -gt 0
else
    echo "# tshark not installed: tshark checks skipped"
fi

echo "# $checks checks, $fails failed"
[ $fails -eq 0 ]
