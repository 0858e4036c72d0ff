#!/usr/bin/env bash
# The SRTP benchmark behind `make bench`: dsrtp against libsrtp 2 on OpenSSL (built from
# Debian's source package by scripts/bench-libsrtp.sh), the bare OpenSSL calls (floor) and,
# when installed, Debian's NSS-based libsrtp2. Every profile at 160 and 1200 bytes, protect
# and unprotect, plus SRTCP at 160 bytes. Runs are interleaved (each round runs every
# program on every case, in a rotating order) and the table shows, per case and program,
# the median over the rounds of each run's median-batch ns/packet (a batch hit by
# preemption on a busy machine then moves nothing).
#
# Usage: scripts/bench.sh BUILD
# Knobs (environment): BENCH_ROUNDS (7), BENCH_PACKETS (50000), BENCH_CPU (the last CPU;
# "" to not pin), BENCH_PROFILES (all six), BENCH_SIZES ("160 1200").
# Raw results, one JSON object per run, go to BUILD/bench-results.jsonl.
set -euo pipefail

build=${1:-build}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${BENCH_ROUNDS:-7}
packets=${BENCH_PACKETS:-50000}
sizes=${BENCH_SIZES:-"160 1200"}
profiles=${BENCH_PROFILES:-"AES_CM_128_HMAC_SHA1_80 AES_CM_128_HMAC_SHA1_32 \
AES_256_CM_HMAC_SHA1_80 AES_256_CM_HMAC_SHA1_32 AEAD_AES_128_GCM AEAD_AES_256_GCM"}

# The fair reference: libsrtp on OpenSSL. Build it if missing, then let CMake pick it up.
if "$root/scripts/bench-libsrtp.sh" "$build"; then
    if [[ ! -x $build/bench_libsrtp ]]; then
        echo "bench: reconfiguring $build to build bench_libsrtp"
        cmake -S "$root" -B "$build" -DDSRTP_BENCH=ON >/dev/null
        cmake --build "$build" -j"$(nproc)" >/dev/null
    fi
else
    echo "bench: libsrtp on OpenSSL unavailable; its column stays empty" >&2
fi

for prog in "$build/dsrtp" "$build/bench_floor"; do
    [[ -x $prog ]] || { echo "bench: $prog missing (configure with -DDSRTP_BENCH=ON)" >&2; exit 1; }
done

pin=()
cpu=${BENCH_CPU-$(($(nproc) - 1))}
if [[ -n $cpu ]] && command -v taskset >/dev/null; then
    pin=(taskset -c "$cpu")
fi

# name:command. openssl-floor makes the calls dsrtp's cipher back end makes, bare;
# openssl-evp-floor the textbook EVP sequence (IV set per packet) that libsrtp makes.
# The NSS build is several times slower, so it runs a fifth of the packets.
impls=("dsrtp:$build/dsrtp bench srtp" "libsrtp-openssl:$build/bench_libsrtp"
    "openssl-floor:$build/bench_floor" "openssl-evp-floor:$build/bench_floor --api evp")
if [[ -x $build/bench_libsrtp_nss ]]; then
    impls+=("libsrtp-nss:$build/bench_libsrtp_nss")
fi
[[ -x $build/bench_libsrtp ]] || impls=("${impls[0]}" "${impls[@]:2}")

cases=()
for p in $profiles; do
    for s in $sizes; do
        cases+=("$p $s protect" "$p $s unprotect")
    done
    cases+=("$p 160 rtcp-protect" "$p 160 rtcp-unprotect")
done

out=$build/bench-results.jsonl
: >"$out"
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "bench: ${#cases[@]} cases x ${#impls[@]} programs x $rounds rounds, $packets packets" \
    "per run, ${pin[*]:-unpinned}; CPU: $cpu_model"
start=$SECONDS
for ((r = 0; r < rounds; r++)); do
    for c in "${cases[@]}"; do
        read -r p s op <<<"$c"
        n=${#impls[@]}
        for ((k = 0; k < n; k++)); do
            entry=${impls[$(((k + r) % n))]}
            name=${entry%%:*}
            cmd=${entry#*:}
            count=$packets
            [[ $name == libsrtp-nss ]] && count=$((packets / 5))
            # shellcheck disable=SC2086 # cmd is a program plus fixed words
            "${pin[@]}" $cmd --profile "$p" --size "$s" --op "$op" --packets "$count" \
                --json >>"$out"
        done
    done
done
echo "bench: $((SECONDS - start)) s of runs; raw results in $out"
echo

# The table: medians per (implementation, case).
awk -v rounds="$rounds" '
function field(line, key,    m) {
    if (match(line, "\"" key "\":\"?[^,\"}]*")) {
        m = substr(line, RSTART, RLENGTH); sub("^\"" key "\":\"?", "", m); return m
    }
    return ""
}
function median(key,    n, i, j, t, v) {
    n = cnt[key]; if (n == 0) return -1
    for (i = 1; i <= n; i++) v[i] = val[key, i]
    for (i = 2; i <= n; i++) {   # insertion sort: a handful of rounds
        t = v[i]
        for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]
        v[j + 1] = t
    }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function ns(x) { return x < 0 ? "-" : sprintf("%.1f", x) }
# Median over rounds of libsrtp/dsrtp measured in the same round: the two runs are
# adjacent in time, so a busy spell on the machine mostly cancels out of the ratio.
function ratio(c,    n, i, k, r) {
    n = 0
    for (i = 1; i <= cnt["dsrtp" SUBSEP c] && i <= cnt["libsrtp-openssl" SUBSEP c]; i++) {
        if (val["dsrtp" SUBSEP c, i] > 0) {
            r[++n] = val["libsrtp-openssl" SUBSEP c, i] / val["dsrtp" SUBSEP c, i]
        }
    }
    if (n == 0) return -1
    for (i = 1; i <= n; i++) val["ratio" SUBSEP c, i] = r[i]
    cnt["ratio" SUBSEP c] = n
    return median("ratio" SUBSEP c)
}
{
    impl = field($0, "impl"); c = field($0, "profile") " " field($0, "size") " " field($0, "op")
    if (!(c in seen)) { seen[c] = 1; order[++ncase] = c }
    key = impl SUBSEP c
    v = field($0, "ns_median_batch"); if (v == "") v = field($0, "ns_per_packet")
    val[key, ++cnt[key]] = v + 0
    pkts = field($0, "packets") + 0
    if (pkts > 0) { a = (field($0, "allocs") + 0) / pkts; if (a > maxalloc[key]) maxalloc[key] = a }
    if (impl == "dsrtp" && field($0, "allocs") + 0 > 0) dsrtp_allocs = 1
    fp = field($0, "rx_stream_footprint"); if (fp != "") footprint = fp
}
END {
    fmt = "%-23s %5s %-14s %7s %8s %7s %8s %8s %8s %6s %11s\n"
    printf fmt, "profile", "size", "op", "dsrtp", "libsrtp", "floor", "evp", "libsrtp",
        "speedup", "ds/", "allocs B/pkt"
    printf fmt, "", "bytes", "", "ns", "openssl", "ns", "floor ns", "nss ns",
        "lib/ds", "floor", "ds/libsrtp"
    for (i = 1; i <= ncase; i++) {
        c = order[i]; split(c, f, " ")
        d = median("dsrtp" SUBSEP c); l = median("libsrtp-openssl" SUBSEP c)
        fl = median("openssl-floor" SUBSEP c); nss = median("libsrtp-nss" SUBSEP c)
        ef = median("openssl-evp-floor" SUBSEP c)
        rt = ratio(c)
        sp = rt > 0 ? sprintf("%.2fx", rt) : "-"
        vf = (d > 0 && fl > 0) ? sprintf("%.2f", d / fl) : "-"
        al = sprintf("%g/%s", maxalloc["dsrtp" SUBSEP c] + 0,
            l < 0 ? "-" : sprintf("%g", maxalloc["libsrtp-openssl" SUBSEP c] + 0))
        printf fmt, f[1], f[2], f[3], ns(d), ns(l), ns(fl), ns(ef), ns(nss), sp, vf, al
        speed[c] = rt
    }
    print ""
    print "ns/pkt: median over " rounds " interleaved runs of each run'"'"'s median batch (batches"
    print "of 64..1024 packets, in place, L2-resident); speedup = median over rounds of"
    print "libsrtp-on-OpenSSL ns / dsrtp ns measured in the same round;"
    print "floor = the OpenSSL calls dsrtp makes, bare; evp floor = the textbook EVP calls"
    print "(IV set per packet); ds/floor = dsrtp / floor; allocs = heap bytes per packet timed"
    if (footprint != "")
        print "dsrtp receive footprint per stream slot: " footprint " bytes (window 128)"
    print ""
    # The speedups asked of dsrtp over libsrtp on OpenSSL.
    ntarget = split("AES_CM_128_HMAC_SHA1_80 160 protect:1.5," \
        "AES_CM_128_HMAC_SHA1_80 160 unprotect:1.5," \
        "AEAD_AES_128_GCM 160 protect:1.3,AEAD_AES_128_GCM 160 unprotect:1.3", targets, ",")
    for (i = 1; i <= ntarget; i++) {
        split(targets[i], t, ":")
        if (!(t[1] in speed)) continue
        s = speed[t[1]]
        printf "target %-36s >= %.1fx: %s\n", t[1], t[2],
            s < 0 ? "no libsrtp result" : sprintf("%.2fx %s", s, s >= t[2] ? "met" : "MISSED")
    }
    if (dsrtp_allocs) { print "FAIL: dsrtp allocated in the timed loop"; exit 1 }
}' "$out"
srtp_rc=$?

# The dsrtpd relay benchmark: N calls through one worker thread (scripts/bench-relay.sh).
echo
"$root/scripts/bench-relay.sh" "$build" || srtp_rc=1
exit $srtp_rc
