#!/usr/bin/env bash
# Installs the Debian packages a dsrtp job needs, only when some are missing.
# Usage: scripts/deps.sh build|test|bench   (test and bench include build)
set -euo pipefail

want=(cmake make gcc pkg-config libssl-dev libpcap-dev libmicrohttpd-dev liburing-dev openssl)
case "${1:-build}" in
build) ;;
test) want+=(libsrtp2-dev clang libclang-rt-14-dev python3-aiortc chromium) ;;
bench) want+=(libsrtp2-dev dpkg-dev autoconf automake libtool) ;;
*) echo "deps.sh: unknown set '$1' (build, test, bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "dsrtp: missing Debian packages: ${missing[*]}; run as root or install them" >&2
    exit 1
fi
echo "dsrtp: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "dsrtp: installed ${missing[*]}"
