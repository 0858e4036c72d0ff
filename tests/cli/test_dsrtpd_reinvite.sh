#!/usr/bin/env bash
# dsrtpd re-offers (SIP re-INVITEs from either side: hold/unhold, a trunk moving its media
# port, an SDES peer's new key, refused DTLS restarts, retransmissions) and delete-delay,
# with media flowing between `dsrtp peer` and a plain RTP trunk. The scenarios and their
# checks are described in dsrtpd_reinvite.py, which does the work; every wait in it is
# bounded, and this script bounds the whole run too.
#
# usage: bash test_dsrtpd_reinvite.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_dsrtpd_reinvite.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

exec timeout -k 5 180 /usr/bin/python3 "$SRC/tests/cli/dsrtpd_reinvite.py" "$BUILD" "$SRC"
