#!/usr/bin/env bash
# dsrtpd: a new DTLS association on an existing call leg (RFC 8842 §5), end to end:
#   1. a transfer on a DTLS leg without ICE (a second `dsrtp peer` re-offers with A's
#      from-tag and takes over from the first, which gets close_notify),
#   2. a second answer (another fork, another fingerprint) on a B leg without ICE,
#   3. aiortc: a brand-new RTCPeerConnection (new fingerprint + ICE restart) re-offers on the
#      call and connects,
#   4. a fingerprint change without an ICE restart on that ICE leg is still refused.
# The scenarios and their checks are described in dsrtpd_dtls_renew.py, which starts the
# gateway and does the work; every wait in it is bounded, and this script bounds the run.
#
# usage: bash test_dsrtpd_dtls_renew.sh BUILD_DIR   (env DSRTP_SOURCE_DIR: the source tree)
set -u

BUILD=${1:?usage: test_dsrtpd_dtls_renew.sh BUILD_DIR}
SRC=${DSRTP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

exec timeout -k 3 55 /usr/bin/python3 "$SRC/tests/cli/dsrtpd_dtls_renew.py" "$BUILD" "$SRC"
