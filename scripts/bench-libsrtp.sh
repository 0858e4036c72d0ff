#!/usr/bin/env bash
# Builds libsrtp 2 on OpenSSL, as the reference `make bench` compares dsrtp against.
#
# Debian's binary libsrtp2 is built on NSS, whose per-packet crypto is several times slower
# than OpenSSL's, so beating it would prove nothing. This script takes Debian's own source
# package (same version, same patches), configures it with --enable-openssl and builds the
# static library into BUILD/libsrtp-openssl/. The source lives under the build directory
# only; it is never part of the dsrtp tree.
#
# Idempotent: prints nothing and does nothing when the library is already there.
# Usage: scripts/bench-libsrtp.sh BUILD
set -euo pipefail

build=${1:?usage: scripts/bench-libsrtp.sh BUILD}
mkdir -p "$build"
dest=$(cd "$build" && pwd)/libsrtp-openssl
if [[ -f $dest/lib/libsrtp2.a && -f $dest/include/srtp2/srtp.h ]]; then
    exit 0
fi

say() { echo "bench-libsrtp: $*"; }

# apt-get source needs a deb-src entry. Add one beside the machine's deb822 file, mirroring
# its URIs, suites, components and key, unless some source index is already configured.
have_deb_src() {
    grep -rqsE '^[[:space:]]*(deb-src|Types:.*deb-src)' /etc/apt/sources.list \
        /etc/apt/sources.list.d/
}
if ! have_deb_src; then
    src_list=/etc/apt/sources.list.d/dsrtp-src.sources
    base=/etc/apt/sources.list.d/debian.sources
    if [[ $(id -u) -ne 0 || ! -f $base ]]; then
        say "no deb-src entry and cannot add one (need root and $base); skipping" >&2
        exit 1
    fi
    say "adding $src_list (deb-src twin of $base)"
    sed -e 's/^Types:.*/Types: deb-src/' -e '/^#/d' "$base" >"$src_list"
    say "apt-get update"
    apt-get update -qq
elif ! apt-cache showsrc libsrtp2 >/dev/null 2>&1 ||
    [[ -z $(apt-cache showsrc libsrtp2 2>/dev/null) ]]; then
    say "apt-get update (source index missing)"
    apt-get update -qq
fi

work=$dest/src
rm -rf "$work"
mkdir -p "$work"
say "downloading Debian's libsrtp2 source package into $work"
(cd "$work" && apt-get source -qq libsrtp2 >/dev/null 2>&1) || {
    say "apt-get source libsrtp2 failed (is dpkg-dev installed?)" >&2
    exit 1
}
srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'libsrtp2-*' | head -n1)
[[ -n $srcdir ]] || { say "no source tree after apt-get source" >&2; exit 1; }

say "configuring $(basename "$srcdir") with --enable-openssl"
cd "$srcdir"
if [[ ! -x configure ]]; then
    autoreconf -fi >/dev/null 2>&1
fi
./configure --enable-openssl --prefix="$dest" >"$work/configure.log" 2>&1 || {
    say "configure failed, see $work/configure.log" >&2
    exit 1
}
grep -q '^#define GCM 1' crypto/include/config.h 2>/dev/null ||
    grep -q 'define GCM 1' config.h 2>/dev/null ||
    say "warning: GCM support not detected in config.h" >&2

say "building libsrtp2.a"
make -j"$(nproc)" libsrtp2.a >"$work/build.log" 2>&1 || {
    say "build failed, see $work/build.log" >&2
    exit 1
}
mkdir -p "$dest/lib" "$dest/include/srtp2"
cp libsrtp2.a "$dest/lib/"
cp include/srtp.h crypto/include/auth.h crypto/include/cipher.h \
    crypto/include/crypto_types.h "$dest/include/srtp2/"
say "done: $dest/lib/libsrtp2.a"
