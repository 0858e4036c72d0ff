/* `dsrtp demo`: shows the SRTP engine at work on one profile per line: protect a stream of
 * RTP packets, unprotect them on the other side, then show that a flipped bit and a replayed
 * packet are refused and that the stream carries on. The DTLS-SRTP demo replaces this once
 * the endpoint exists (TODO(#4)). */
#include <stdio.h>
#include <string.h>

#include <dsrtp/srtp.h>
#include <dsrtp/util.h>

#include "cmd.h"

#define DEMO_PACKETS 250 /* five seconds of 20 ms audio */

static void make_rtp(uint8_t *buf, uint16_t seq, uint32_t ts, uint32_t ssrc, size_t payload)
{
    buf[0] = 0x80;
    buf[1] = 0; /* PCMU */
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        buf[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    for (size_t i = 0; i < payload; i++) {
        buf[12 + i] = (uint8_t)(0xff ^ (i * 7 + seq));
    }
}

static int demo_profile(dsrtp_profile p)
{
    uint8_t key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t salt[DSRTP_SRTP_MAX_SALT_LEN];
    if (dsrtp_random_bytes(key, sizeof key) != DSRTP_OK ||
        dsrtp_random_bytes(salt, sizeof salt) != DSRTP_OK) {
        return 1;
    }
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = p;
    cfg.master_key = key;
    cfg.master_key_len = dsrtp_profile_key_len(p);
    cfg.master_salt = salt;
    cfg.master_salt_len = dsrtp_profile_salt_len(p);
    dsrtp_srtp_tx *tx = NULL;
    dsrtp_srtp_rx *rx = NULL;
    if (dsrtp_srtp_tx_new(&cfg, &tx) != DSRTP_OK || dsrtp_srtp_rx_new(&cfg, &rx) != DSRTP_OK) {
        fprintf(stderr, "demo: cannot install keys for %s\n", dsrtp_profile_name(p));
        dsrtp_srtp_tx_free(tx);
        return 1;
    }
    dsrtp_secure_wipe(key, sizeof key);
    dsrtp_secure_wipe(salt, sizeof salt);
    uint8_t pkt[256];
    uint8_t plain[256];
    uint8_t saved[256];
    size_t saved_len = 0;
    int delivered = 0;
    int wrong = 0;
    const uint32_t ssrc = 0x1234abcd;
    /* Start near the sequence wrap so the rollover counter moves during the demo. */
    for (int i = 0; i < DEMO_PACKETS; i++) {
        uint16_t seq = (uint16_t)(65500 + i);
        size_t len = 12 + 160;
        size_t out = 0;
        make_rtp(pkt, seq, (uint32_t)i * 160, ssrc, 160);
        memcpy(plain, pkt, len);
        if (dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out) != DSRTP_OK) {
            wrong++;
            continue;
        }
        if (i == 100) {
            memcpy(saved, pkt, out);
            saved_len = out;
        }
        size_t got = 0;
        if (dsrtp_srtp_rx_unprotect(rx, pkt, out, &got) == DSRTP_OK && got == len &&
            memcmp(pkt, plain, len) == 0) {
            delivered++;
        } else {
            wrong++;
        }
    }
    /* A flipped bit in a fresh packet is refused ... */
    size_t out = 0;
    size_t got = 0;
    make_rtp(pkt, (uint16_t)(65500 + DEMO_PACKETS), 0, ssrc, 160);
    dsrtp_err e1 = dsrtp_srtp_tx_protect(tx, pkt, 172, sizeof pkt, &out);
    uint8_t copy[256];
    memcpy(copy, pkt, out);
    copy[40] ^= 0x04;
    dsrtp_err flip = dsrtp_srtp_rx_unprotect(rx, copy, out, &got);
    /* ... and the untouched packet still passes afterwards. */
    dsrtp_err after = dsrtp_srtp_rx_unprotect(rx, pkt, out, &got);
    /* A replay of packet 100 is refused. */
    dsrtp_err replay = dsrtp_srtp_rx_unprotect(rx, saved, saved_len, &got);
    uint32_t roc = 0;
    dsrtp_err e2 = dsrtp_srtp_rx_get_roc(rx, ssrc, &roc);
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(rx, &st);
    printf("%-24s %3d/%d delivered  roc=%u  flipped bit: %s  then: %s  replay: %s  "
           "(auth failures %llu, replays %llu)\n",
           dsrtp_profile_name(p), delivered, DEMO_PACKETS, roc, dsrtp_strerror(flip),
           dsrtp_strerror(after), dsrtp_strerror(replay),
           (unsigned long long)st.auth_failures, (unsigned long long)st.replays);
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
    bool ok = wrong == 0 && delivered == DEMO_PACKETS && e1 == DSRTP_OK && e2 == DSRTP_OK &&
              flip == DSRTP_ERR_AUTH && after == DSRTP_OK && replay == DSRTP_ERR_REPLAY &&
              roc == 1;
    return ok ? 0 : 1;
}

int dsrtp_cmd_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("dsrtp %s demo: the SRTP engine, %d packets of 160-byte PCMU per profile, "
           "sequence numbers crossing the 16-bit wrap\n",
           dsrtp_version(), DEMO_PACKETS);
    int status = 0;
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        status |= demo_profile((dsrtp_profile)p);
    }
    printf(status == 0 ? "demo: all profiles behaved\n" : "demo: FAILED\n");
    return status;
}
