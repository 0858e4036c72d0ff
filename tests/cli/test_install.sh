#!/usr/bin/env bash
# make install's promise: headers, static and shared library and a pkg-config file that
# an embedder can build against, from an installed tree in any prefix.
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in include/dsrtp/dsrtp.h include/dsrtp/srtp.h include/dsrtp/dtls.h include/dsrtp/session.h \
    lib/pkgconfig/dsrtp.pc; do
    [[ -f "$work/prefix/$f" ]] || { echo "FAIL - $f not installed"; exit 1; }
done
echo "ok   - headers and dsrtp.pc installed"
cat >"$work/app.c" <<'C'
#include <dsrtp/srtp.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    uint8_t key[16] = {1}, salt[14] = {2}, pkt[64] = {0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9};
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = DSRTP_AES_CM_128_HMAC_SHA1_80;
    cfg.master_key = key; cfg.master_key_len = 16;
    cfg.master_salt = salt; cfg.master_salt_len = 14;
    dsrtp_srtp_tx *tx; dsrtp_srtp_rx *rx;
    size_t n = 0, m = 0;
    if (dsrtp_srtp_tx_new(&cfg, &tx) || dsrtp_srtp_rx_new(&cfg, &rx)) return 1;
    if (dsrtp_srtp_tx_protect(tx, pkt, 32, sizeof pkt, &n) || n != 42) return 2;
    if (dsrtp_srtp_rx_unprotect(rx, pkt, n, &m) || m != 32) return 3;
    dsrtp_srtp_tx_free(tx); dsrtp_srtp_rx_free(rx);
    printf("%s\n", dsrtp_version());
    return 0;
}
C
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# A sanitizer build installs instrumented libraries: the embedding program needs the runtime.
extra=()
if grep -q '^DSRTP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
    extra=(-fsanitize=address,undefined)
fi
libdir=$(pkg-config --variable=libdir dsrtp)
cc "${extra[@]}" "$work/app.c" $(pkg-config --cflags --libs dsrtp) -Wl,-rpath,"$libdir" -o "$work/app-shared"
"$work/app-shared" >/dev/null || { echo "FAIL - program linked against the shared library"; exit 1; }
echo "ok   - a program builds with pkg-config and runs against libdsrtp.so"
cc "${extra[@]}" "$work/app.c" $(pkg-config --cflags dsrtp) "$libdir/libdsrtp.a" -lssl -lcrypto -o "$work/app-static"
"$work/app-static" >/dev/null || { echo "FAIL - program linked against the static library"; exit 1; }
echo "ok   - and against libdsrtp.a"
