/* Shared set-up for the SRTP fuzz targets: a fixed key, a profile and MKI chosen by the
 * input's first byte, so every run is deterministic. */
#ifndef DSRTP_FUZZ_COMMON_H
#define DSRTP_FUZZ_COMMON_H

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

#endif
