/* Shared set-up for the SRTP fuzz targets: a fixed key, a profile and MKI chosen by the
 * input's first byte, so every run is deterministic. */
#ifndef DSRTP_FUZZ_COMMON_H
#define DSRTP_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <dsrtp/srtp.h>

static const uint8_t fuzz_key[32] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                     0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
                                     0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                     0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
static const uint8_t fuzz_salt[14] = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96,
                                      0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d};
static const uint8_t fuzz_mki[3] = {0xab, 0xcd, 0xef};

/* Builds a tx/rx pair from the selector byte; returns 0 on success. */
static int fuzz_pair(uint8_t sel, dsrtp_srtp_tx **tx, dsrtp_srtp_rx **rx)
{
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = (dsrtp_profile)(1 + sel % (DSRTP_PROFILE_COUNT - 1));
    cfg.master_key = fuzz_key;
    cfg.master_key_len = dsrtp_profile_key_len(cfg.profile);
    cfg.master_salt = fuzz_salt;
    cfg.master_salt_len = dsrtp_profile_salt_len(cfg.profile);
    cfg.mki = fuzz_mki;
    cfg.mki_len = (sel >> 3) & 1 ? sizeof fuzz_mki : 0;
    cfg.encrypt_rtcp = ((sel >> 4) & 1) == 0;
    cfg.max_streams = 2;
    cfg.replay_window = 64;
    if (dsrtp_srtp_tx_new(&cfg, tx) != DSRTP_OK) {
        return -1;
    }
    if (dsrtp_srtp_rx_new(&cfg, rx) != DSRTP_OK) {
        dsrtp_srtp_tx_free(*tx);
        return -1;
    }
    return 0;
}


/* RTP or RTCP flavours of the two transforms. */
static dsrtp_err protect(dsrtp_srtp_tx *tx, bool rtcp, uint8_t *buf, size_t len, size_t cap,
                         size_t *out)
{
    return rtcp ? dsrtp_srtp_tx_protect_rtcp(tx, buf, len, cap, out)
                : dsrtp_srtp_tx_protect(tx, buf, len, cap, out);
}

static dsrtp_err unprotect(dsrtp_srtp_rx *rx, bool rtcp, uint8_t *buf, size_t len, size_t *out)
{
    return rtcp ? dsrtp_srtp_rx_unprotect_rtcp(rx, buf, len, out)
                : dsrtp_srtp_rx_unprotect(rx, buf, len, out);
}

/* The shared body of the SRTP and SRTCP targets (see their headers). */
static int fuzz_roundtrip(const uint8_t *data, size_t size, bool rtcp)
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
        dsrtp_err raw1 = unprotect(rx, rtcp, buf, len, &out);
        memcpy(buf, pkt, len);
        dsrtp_err raw2 = unprotect(rx, rtcp, buf, len, &out);
        /* Unkeyed bytes must never authenticate twice: the first pass claims the index. */
        if (raw1 == DSRTP_OK && raw2 == DSRTP_OK) {
            abort();
        }
    } else if (protect(tx, rtcp, buf, len, cap, &out) == DSRTP_OK) {
        memcpy(orig, buf, out);
        if (mode % 3 == 2) {
            size_t bit = flip % (out * 8);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            memcpy(orig, buf, out);
            if (unprotect(rx, rtcp, buf, out, &got) == DSRTP_OK) {
                abort(); /* a flipped bit got through */
            }
            if (memcmp(buf, orig, out) != 0) {
                abort(); /* a refused packet was modified */
            }
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        if (unprotect(rx, rtcp, buf, out, &got) != DSRTP_OK || got != len ||
            memcmp(buf, pkt, len) != 0) {
            abort(); /* a genuine packet did not round-trip */
        }
        if (unprotect(rx, rtcp, orig, out, &got) == DSRTP_OK && mode % 3 == 1) {
            abort(); /* a replay got through */
        }
    }
    free(buf);
    free(orig);
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
    return 0;
}

#endif
