/* Fuzz target: RTP unprotect. The first byte picks profile, MKI and SRTCP encryption; the
 * second the mode. Mode 0 feeds the rest straight to unprotect (hostile bytes). Otherwise the
 * rest is protected as plain RTP first, optionally one bit is flipped (position from the next
 * two bytes), and then unprotected: an untouched packet must come back exactly, a flipped
 * one must be refused with the buffer left unchanged. Deterministic: fixed keys, no RNG. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 4096) {
        return 0;
    }
    dsrtp_srtp_tx *tx = NULL;
    dsrtp_srtp_rx *rx = NULL;
    if (fuzz_pair(data[0], &tx, &rx) != 0) {
        abort();
    }
    uint8_t mode = data[1];
    size_t flip = ((size_t)data[2] << 8) | data[3];
    const uint8_t *pkt = data + 4;
    size_t len = size - 4;
    size_t cap = len + DSRTP_SRTCP_MAX_TRAILER;
    uint8_t *buf = malloc(cap);
    uint8_t *orig = malloc(cap);
    if (buf == NULL || orig == NULL) {
        abort();
    }
    memcpy(buf, pkt, len);
    size_t out = 0;
    size_t got = 0;
    if (mode % 3 == 0) {
        /* Raw hostile input, twice (the second sees any state the first left). */
        dsrtp_err raw1 = dsrtp_srtp_rx_unprotect(rx, buf, len, &out);
        memcpy(buf, pkt, len);
        dsrtp_err raw2 = dsrtp_srtp_rx_unprotect(rx, buf, len, &out);
        /* Unkeyed bytes must never authenticate twice: the first pass claims the index. */
        if (raw1 == DSRTP_OK && raw2 == DSRTP_OK) {
            abort();
        }
    } else if (dsrtp_srtp_tx_protect(tx, buf, len, cap, &out) == DSRTP_OK) {
        memcpy(orig, buf, out);
        if (mode % 3 == 2) {
            size_t bit = flip % (out * 8);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            memcpy(orig, buf, out);
            if (dsrtp_srtp_rx_unprotect(rx, buf, out, &got) == DSRTP_OK) {
                abort(); /* a flipped bit got through */
            }
            if (memcmp(buf, orig, out) != 0) {
                abort(); /* a refused packet was modified */
            }
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        if (dsrtp_srtp_rx_unprotect(rx, buf, out, &got) != DSRTP_OK || got != len ||
            memcmp(buf, pkt, len) != 0) {
            abort(); /* a genuine packet did not round-trip */
        }
        if (dsrtp_srtp_rx_unprotect(rx, orig, out, &got) == DSRTP_OK && mode % 3 == 1) {
            abort(); /* a replay got through */
        }
    }
    free(buf);
    free(orig);
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
    return 0;
}
