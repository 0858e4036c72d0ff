/* The send side refuses to protect an RTP index twice (keystream / GCM nonce reuse) unless
 * the caller allows repeats, and a new ROC restarts a stream on both sides. */
#include "harness/check.h"
#include "srtp/srtp_int.h"

static const uint8_t key[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
static const uint8_t salt[14] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};

static void cfg_for(dsrtp_srtp_cfg *cfg, dsrtp_profile p, bool repeat)
{
    dsrtp_srtp_cfg_init(cfg);
    cfg->profile = p;
    cfg->master_key = key;
    cfg->master_key_len = dsrtp_profile_key_len(p);
    cfg->master_salt = salt;
    cfg->master_salt_len = dsrtp_profile_salt_len(p);
    cfg->allow_repeat_tx = repeat;
}

static size_t rtp(uint8_t *b, uint16_t seq, uint8_t fill)
{
    memset(b, fill, 60);
    b[0] = 0x80;
    b[1] = 0;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[8] = 0xab;
    b[9] = 0xcd;
    b[10] = 0xef;
    b[11] = 0x01;
    return 60;
}

static void test_srtp_tx_protect_refuses_an_index_already_used(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        dsrtp_srtp_cfg cfg;
        cfg_for(&cfg, (dsrtp_profile)p, false);
        dsrtp_srtp_tx *tx = NULL;
        CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
        uint8_t buf[128];
        uint8_t before[128];
        size_t out = 0;
        CHECK_OK(dsrtp_srtp_tx_protect(tx, buf, rtp(buf, 10, 0x11), sizeof buf, &out));
        CHECK_OK(dsrtp_srtp_tx_protect(tx, buf, rtp(buf, 11, 0x11), sizeof buf, &out));
        /* Same index, different payload: refused, buffer untouched, counted. */
        size_t len = rtp(buf, 10, 0x22);
        memcpy(before, buf, len);
        CHECK_ERR(dsrtp_srtp_tx_protect(tx, buf, len, sizeof buf, &out), DSRTP_ERR_REPLAY);
        CHECK_MEM(buf, before, len);
        dsrtp_srtp_stats st;
        dsrtp_srtp_tx_get_stats(tx, &st);
        CHECK_EQ(st.replays, 1);
        CHECK_EQ(st.rtp_packets, 2);
        /* The stream carries on. */
        CHECK_OK(dsrtp_srtp_tx_protect(tx, buf, rtp(buf, 12, 0x11), sizeof buf, &out));
        dsrtp_srtp_tx_free(tx);
    }
}

static void test_srtp_tx_protect_allows_repeats_when_asked(void)
{
    dsrtp_srtp_cfg cfg;
    cfg_for(&cfg, DSRTP_AES_CM_128_HMAC_SHA1_80, true);
    dsrtp_srtp_tx *tx = NULL;
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    uint8_t a[128];
    uint8_t b[128];
    size_t out_a = 0;
    size_t out_b = 0;
    CHECK_OK(dsrtp_srtp_tx_protect(tx, a, rtp(a, 5, 0x33), sizeof a, &out_a));
    CHECK_OK(dsrtp_srtp_tx_protect(tx, b, rtp(b, 5, 0x33), sizeof b, &out_b));
    /* An identical resend protects to identical bytes. */
    CHECK_EQ(out_a, out_b);
    CHECK_MEM(a, b, out_a);
    dsrtp_srtp_tx_free(tx);
}

static void test_srtp_set_roc_restarts_the_stream_on_both_sides(void)
{
    dsrtp_srtp_cfg cfg;
    cfg_for(&cfg, DSRTP_AEAD_AES_128_GCM, false);
    dsrtp_srtp_tx *tx = NULL;
    dsrtp_srtp_rx *rx = NULL;
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &rx));
    uint8_t buf[128];
    size_t out = 0;
    size_t got = 0;
    for (uint16_t seq = 1000; seq < 1010; seq++) {
        CHECK_OK(dsrtp_srtp_tx_protect(tx, buf, rtp(buf, seq, 0x44), sizeof buf, &out));
        CHECK_OK(dsrtp_srtp_rx_unprotect(rx, buf, out, &got));
    }
    /* Failover to a sender that continues at ROC 7 with a lower sequence number. */
    CHECK_OK(dsrtp_srtp_tx_set_roc(tx, 0xabcdef01, 7));
    CHECK_OK(dsrtp_srtp_rx_set_roc(rx, 0xabcdef01, 7));
    CHECK_OK(dsrtp_srtp_tx_protect(tx, buf, rtp(buf, 10, 0x44), sizeof buf, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect(rx, buf, out, &got));
    uint32_t roc = 0;
    CHECK_OK(dsrtp_srtp_rx_get_roc(rx, 0xabcdef01, &roc));
    CHECK_EQ(roc, 7);
    /* Without the receiver learning the new ROC, the same packet fails to authenticate. */
    dsrtp_srtp_rx *stale = NULL;
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &stale));
    CHECK_OK(dsrtp_srtp_tx_protect(tx, buf, rtp(buf, 11, 0x44), sizeof buf, &out));
    CHECK_ERR(dsrtp_srtp_rx_unprotect(stale, buf, out, &got), DSRTP_ERR_AUTH);
    dsrtp_srtp_rx_free(stale);
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
}

RUN_TESTS(TEST(test_srtp_tx_protect_refuses_an_index_already_used),
          TEST(test_srtp_tx_protect_allows_repeats_when_asked),
          TEST(test_srtp_set_roc_restarts_the_stream_on_both_sides))
