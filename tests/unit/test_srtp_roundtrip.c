/* Round trips through a send and a receive context for every profile: RTP with CSRCs and
 * header extensions, SRTCP encrypted and not, with and without MKI. */
#include "harness/check.h"
#include "srtp/srtp_int.h"

static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t salt[14] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
                                 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad};
static const uint8_t mki[4] = {0xde, 0xad, 0xbe, 0xef};

static void make_cfg(dsrtp_srtp_cfg *cfg, dsrtp_profile p, size_t mki_len, bool enc_rtcp)
{
    dsrtp_srtp_cfg_init(cfg);
    cfg->profile = p;
    cfg->master_key = key;
    cfg->master_key_len = dsrtp_profile_key_len(p);
    cfg->master_salt = salt;
    cfg->master_salt_len = dsrtp_profile_salt_len(p);
    cfg->mki = mki;
    cfg->mki_len = mki_len;
    cfg->encrypt_rtcp = enc_rtcp;
}

static size_t make_rtp(uint8_t *b, uint16_t seq, int csrcs, bool ext, size_t payload)
{
    size_t n = 0;
    b[n++] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | csrcs);
    b[n++] = 111;
    b[n++] = (uint8_t)(seq >> 8);
    b[n++] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        b[n++] = (uint8_t)(0x10 + i);
    }
    b[n++] = 0xca;
    b[n++] = 0xfe;
    b[n++] = 0xba;
    b[n++] = 0xbe;
    for (int i = 0; i < csrcs * 4; i++) {
        b[n++] = (uint8_t)i;
    }
    if (ext) {
        /* RFC 8285 one-byte header extension: id 1, 2 bytes, padded to a word. */
        b[n++] = 0xbe;
        b[n++] = 0xde;
        b[n++] = 0;
        b[n++] = 1;
        b[n++] = 0x11;
        b[n++] = 0xaa;
        b[n++] = 0xbb;
        b[n++] = 0;
    }
    for (size_t i = 0; i < payload; i++) {
        b[n++] = (uint8_t)(i * 13);
    }
    return n;
}

static void roundtrip(dsrtp_profile p, size_t mki_len, bool enc_rtcp)
{
    dsrtp_srtp_cfg cfg;
    make_cfg(&cfg, p, mki_len, enc_rtcp);
    dsrtp_srtp_tx *tx = NULL;
    dsrtp_srtp_rx *rx = NULL;
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &rx));
    uint8_t pkt[1600];
    uint8_t plain[1600];
    for (int i = 0; i < 40; i++) {
        size_t len = make_rtp(pkt, (uint16_t)(65520 + i), i % 3, i % 2, (size_t)i * 7);
        memcpy(plain, pkt, len);
        size_t out = 0;
        size_t got = 0;
        CHECK_OK(dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out));
        CHECK_EQ(out, len + mki_len + dsrtp_profile_srtp_tag_len(p));
        CHECK_OK(dsrtp_srtp_rx_unprotect(rx, pkt, out, &got));
        CHECK_EQ(got, len);
        CHECK_MEM(pkt, plain, len);
    }
    uint32_t roc = 0;
    CHECK_OK(dsrtp_srtp_rx_get_roc(rx, 0xcafebabe, &roc));
    CHECK_EQ(roc, 1);
    for (int i = 0; i < 5; i++) {
        /* A sender report with one report block. */
        uint8_t rtcp[52] = {0x81, 200, 0, 12, 0xca, 0xfe, 0xba, 0xbe};
        for (size_t k = 8; k < sizeof rtcp; k++) {
            rtcp[k] = (uint8_t)(k + i);
        }
        memcpy(pkt, rtcp, sizeof rtcp);
        size_t out = 0;
        size_t got = 0;
        CHECK_OK(dsrtp_srtp_tx_protect_rtcp(tx, pkt, sizeof rtcp, sizeof pkt, &out));
        CHECK_EQ(out, sizeof rtcp + 4 + mki_len + dsrtp_profile_srtcp_tag_len(p));
        CHECK_EQ(memcmp(pkt + 8, rtcp + 8, sizeof rtcp - 8) == 0, !enc_rtcp);
        CHECK_OK(dsrtp_srtp_rx_unprotect_rtcp(rx, pkt, out, &got));
        CHECK_EQ(got, sizeof rtcp);
        CHECK_MEM(pkt, rtcp, sizeof rtcp);
    }
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
}

static void test_srtp_roundtrip_every_profile(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        roundtrip((dsrtp_profile)p, 0, true);
    }
}

static void test_srtp_roundtrip_every_profile_with_mki_and_clear_srtcp(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        roundtrip((dsrtp_profile)p, 4, false);
    }
}

static void test_srtp_rx_rejects_wrong_key(void)
{
    dsrtp_srtp_cfg cfg;
    make_cfg(&cfg, DSRTP_AES_CM_128_HMAC_SHA1_80, 0, true);
    dsrtp_srtp_tx *tx = NULL;
    dsrtp_srtp_rx *rx = NULL;
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    uint8_t other[16] = {9};
    cfg.master_key = other;
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &rx));
    uint8_t pkt[256];
    size_t len = make_rtp(pkt, 1, 0, false, 100);
    size_t out = 0;
    size_t got = 0;
    CHECK_OK(dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out));
    CHECK_ERR(dsrtp_srtp_rx_unprotect(rx, pkt, out, &got), DSRTP_ERR_AUTH);
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(rx, &st);
    CHECK_EQ(st.auth_failures, 1);
    CHECK_EQ(st.rtp_packets, 0);
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
}

RUN_TESTS(TEST(test_srtp_roundtrip_every_profile),
          TEST(test_srtp_roundtrip_every_profile_with_mki_and_clear_srtcp),
          TEST(test_srtp_rx_rejects_wrong_key))
