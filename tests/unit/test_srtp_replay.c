/* Replay protection and rollover-counter handling, every profile: duplicates and too-old
 * indices are refused as DSRTP_ERR_REPLAY and counted; the window edge for sizes 64, 128,
 * 1000 (rounded up to 1024) and 4096; ROC estimation across the sequence-number wrap with
 * packets reordered around it; and ROC set/get for re-keying. */
#include "harness/check.h"
#include "srtp/srtp_int.h"

#define SSRC 0x5eed1234u

static const uint8_t key[32] = {0xa1, 0x0b, 0x77, 0x3e, 0xc2, 0x58, 0x19, 0xf4, 0x6d, 0x80, 0x2a,
                                0xe7, 0x34, 0x9b, 0x05, 0xd1, 0x4f, 0xb3, 0x62, 0x1c, 0x8e, 0x07,
                                0xfa, 0x95, 0x21, 0x6a, 0xcd, 0x40, 0xb9, 0x13, 0x7c, 0xe8};
static const uint8_t salt[14] = {0x12, 0xf3, 0x8a, 0x45, 0x6e, 0xd7, 0x20,
                                 0x99, 0xbc, 0x03, 0x5f, 0xe4, 0x71, 0x2c};

typedef struct pair {
    dsrtp_srtp_tx *tx;
    dsrtp_srtp_rx *rx;
} pair;

static dsrtp_err pair_new(pair *pr, dsrtp_profile p, size_t window)
{
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = p;
    cfg.master_key = key;
    cfg.master_key_len = dsrtp_profile_key_len(p);
    cfg.master_salt = salt;
    cfg.master_salt_len = dsrtp_profile_salt_len(p);
    cfg.replay_window = window;
    /* These tests make old indices on purpose to test the receiver. */
    cfg.allow_repeat_tx = true;
    pr->tx = NULL;
    pr->rx = NULL;
    dsrtp_err err = dsrtp_srtp_tx_new(&cfg, &pr->tx);
    if (err == DSRTP_OK) {
        err = dsrtp_srtp_rx_new(&cfg, &pr->rx);
    }
    return err;
}

static void pair_free(pair *pr)
{
    dsrtp_srtp_tx_free(pr->tx);
    dsrtp_srtp_rx_free(pr->rx);
}

/* One protected packet kept for later delivery. */
typedef struct wire {
    uint8_t b[128];
    size_t len;
    uint16_t seq;
} wire;

static size_t make_rtp(uint8_t *b, uint32_t ssrc, uint16_t seq)
{
    b[0] = 0x80;
    b[1] = 0x60;
    dsrtp_store16(b + 2, seq);
    dsrtp_store32(b + 4, 0xa0a0a0a0u + seq);
    dsrtp_store32(b + 8, ssrc);
    for (size_t i = 12; i < 44; i++) {
        b[i] = (uint8_t)(seq ^ i);
    }
    return 44;
}

static dsrtp_err protect_seq(dsrtp_srtp_tx *tx, uint16_t seq, wire *w)
{
    size_t len = make_rtp(w->b, SSRC, seq);
    w->seq = seq;
    return dsrtp_srtp_tx_protect(tx, w->b, len, sizeof w->b, &w->len);
}

static size_t make_rtcp(uint8_t *b, uint32_t ssrc)
{
    b[0] = 0x80;
    b[1] = 201; /* an empty receiver report */
    dsrtp_store16(b + 2, 1);
    dsrtp_store32(b + 4, ssrc);
    return 8;
}

static dsrtp_err protect_rtcp_index(dsrtp_srtp_tx *tx, uint32_t index, wire *w)
{
    size_t len = make_rtcp(w->b, SSRC);
    dsrtp_err err = dsrtp_srtp_tx_set_rtcp_index(tx, SSRC, index);
    if (err == DSRTP_OK) {
        err = dsrtp_srtp_tx_protect_rtcp(tx, w->b, len, sizeof w->b, &w->len);
    }
    return err;
}

/* Hands a copy of w to rx (the original stays deliverable again). */
static dsrtp_err deliver(dsrtp_srtp_rx *rx, const wire *w, bool rtcp)
{
    uint8_t buf[128];
    size_t out = 0;
    memcpy(buf, w->b, w->len);
    dsrtp_err err = rtcp ? dsrtp_srtp_rx_unprotect_rtcp(rx, buf, w->len, &out)
                         : dsrtp_srtp_rx_unprotect(rx, buf, w->len, &out);
    if (err != DSRTP_OK && memcmp(buf, w->b, w->len) != 0) {
        fprintf(stderr, "  a refused packet was modified\n");
        return DSRTP_ERR_INTERNAL;
    }
    return err;
}

/* ---- duplicates ---- */

static void replayed(dsrtp_profile p, bool rtcp)
{
    pair pr;
    wire a;
    wire b;
    CHECK_OK(pair_new(&pr, p, DSRTP_SRTP_DEFAULT_WINDOW));
    if (rtcp) {
        CHECK_OK(protect_rtcp_index(pr.tx, 5, &a));
        CHECK_OK(protect_rtcp_index(pr.tx, 6, &b));
    } else {
        CHECK_OK(protect_seq(pr.tx, 5, &a));
        CHECK_OK(protect_seq(pr.tx, 6, &b));
    }
    CHECK_OK(deliver(pr.rx, &a, rtcp));
    CHECK_ERR(deliver(pr.rx, &a, rtcp), DSRTP_ERR_REPLAY);
    CHECK_ERR(deliver(pr.rx, &a, rtcp), DSRTP_ERR_REPLAY);
    CHECK_OK(deliver(pr.rx, &b, rtcp));
    CHECK_ERR(deliver(pr.rx, &b, rtcp), DSRTP_ERR_REPLAY);
    CHECK_ERR(deliver(pr.rx, &a, rtcp), DSRTP_ERR_REPLAY);
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(pr.rx, &st);
    CHECK_EQ(st.replays, 4);
    CHECK_EQ(rtcp ? st.rtcp_packets : st.rtp_packets, 2);
    CHECK_EQ(st.auth_failures + st.malformed, 0);
    pair_free(&pr);
}

static void test_srtp_unprotect_rejects_replayed_index(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        replayed((dsrtp_profile)p, false);
    }
}

static void test_srtp_unprotect_rtcp_rejects_replayed_index(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        replayed((dsrtp_profile)p, true);
    }
}

/* ---- the window edge ---- */

/* With highest index H and an effective window of W, index H - (W - 1) is the oldest still
 * accepted and H - W is too old. */
static void window_edge(dsrtp_profile p, size_t configured, uint64_t effective, bool rtcp)
{
    pair pr;
    wire top;
    wire edge;
    wire beyond;
    wire inside;
    wire newer;
    CHECK_OK(pair_new(&pr, p, configured));
    uint32_t h = (uint32_t)effective + 300;
    uint32_t at[] = {h, h - ((uint32_t)effective - 1), h - (uint32_t)effective, h - 1, h + 1};
    wire *w[] = {&top, &edge, &beyond, &inside, &newer};
    for (size_t i = 0; i < 5; i++) {
        if (rtcp) {
            CHECK_OK(protect_rtcp_index(pr.tx, at[i], w[i]));
        } else {
            CHECK_OK(protect_seq(pr.tx, (uint16_t)at[i], w[i]));
        }
    }
    CHECK_OK(deliver(pr.rx, &top, rtcp));
    CHECK_ERR(deliver(pr.rx, &beyond, rtcp), DSRTP_ERR_REPLAY);
    CHECK_OK(deliver(pr.rx, &edge, rtcp));
    CHECK_ERR(deliver(pr.rx, &edge, rtcp), DSRTP_ERR_REPLAY);
    CHECK_OK(deliver(pr.rx, &inside, rtcp));
    /* One step forward moves the edge with it: the old edge is now too old. */
    CHECK_OK(deliver(pr.rx, &newer, rtcp));
    CHECK_ERR(deliver(pr.rx, &beyond, rtcp), DSRTP_ERR_REPLAY);
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(pr.rx, &st);
    CHECK_EQ(st.replays, 3);
    CHECK_EQ(rtcp ? st.rtcp_packets : st.rtp_packets, 4);
    CHECK_EQ(st.auth_failures + st.malformed, 0);
    pair_free(&pr);
}

static void test_srtp_replay_window_accepts_edge_and_rejects_beyond_it(void)
{
    static const struct {
        size_t configured;
        uint64_t effective;
    } sizes[] = {{64, 64}, {128, 128}, {1000, 1024}, {4096, 4096}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
            window_edge((dsrtp_profile)p, sizes[i].configured, sizes[i].effective, false);
            window_edge((dsrtp_profile)p, sizes[i].configured, sizes[i].effective, true);
        }
    }
}

/* After a jump forward, the indices in the gap are accepted once each; once the window has
 * moved past them, those never seen are refused as too old. */
static void test_srtp_replay_window_tracks_every_index_after_a_jump(void)
{
    pair pr;
    CHECK_OK(pair_new(&pr, DSRTP_AES_CM_128_HMAC_SHA1_80, 128));
    wire w[200];
    for (uint16_t i = 0; i < 200; i++) {
        CHECK_OK(protect_seq(pr.tx, (uint16_t)(1000 + i), &w[i]));
    }
    CHECK_OK(deliver(pr.rx, &w[100], false));
    for (size_t i = 99; i >= 30; i--) {
        CHECK_OK(deliver(pr.rx, &w[i], false));
        CHECK_ERR(deliver(pr.rx, &w[i], false), DSRTP_ERR_REPLAY);
    }
    for (size_t i = 101; i < 200; i += 2) {
        CHECK_OK(deliver(pr.rx, &w[i], false));
    }
    /* The highest index is now 1000 + 199: 1000 + 71 and below are too old, seen or not
     * (0 to 29 never were); the even ones above 100 were never delivered. */
    for (size_t i = 0; i < 200; i++) {
        dsrtp_err want = i > 100 && i % 2 == 0 ? DSRTP_OK : DSRTP_ERR_REPLAY;
        CHECK_ERR(deliver(pr.rx, &w[i], false), want);
    }
    pair_free(&pr);
}

/* ---- ROC estimation across the wrap ---- */

static void wrap_reordered(dsrtp_profile p, const size_t *order, size_t n)
{
    pair pr;
    wire w[16];
    CHECK_OK(pair_new(&pr, p, 64));
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(protect_seq(pr.tx, (uint16_t)(65530 + i), &w[i]));
    }
    uint32_t roc = 0;
    CHECK_OK(dsrtp_srtp_tx_get_roc(pr.tx, SSRC, &roc));
    CHECK_EQ(roc, 1);
    for (size_t i = 0; i < n; i++) {
        size_t k = order[i];
        dsrtp_err err = deliver(pr.rx, &w[k], false);
        if (err != DSRTP_OK) {
            fprintf(stderr, "  delivery %zu (seq %u) refused\n", i, (unsigned)w[k].seq);
        }
        CHECK_OK(err);
    }
    for (size_t i = 0; i < n; i++) {
        CHECK_ERR(deliver(pr.rx, &w[i], false), DSRTP_ERR_REPLAY);
    }
    CHECK_OK(dsrtp_srtp_rx_get_roc(pr.rx, SSRC, &roc));
    CHECK_EQ(roc, 1);
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(pr.rx, &st);
    CHECK_EQ(st.rtp_packets, n);
    CHECK_EQ(st.replays, n);
    CHECK_EQ(st.auth_failures, 0);
    /* And on past the wrap. */
    wire next;
    CHECK_OK(protect_seq(pr.tx, (uint16_t)(65530 + n), &next));
    CHECK_OK(deliver(pr.rx, &next, false));
    pair_free(&pr);
}

static void test_srtp_roc_estimate_follows_reordering_across_wrap(void)
{
    /* Positions in 65530..65535, 0..5 (0 is 65530, 6 is seq 0). The first delivery comes from
     * before the wrap, as RFC 3711 3.3.1 needs for a receiver that starts at ROC 0. */
    static const size_t shuffled[12] = {0, 2, 1, 3, 6, 4, 5, 8, 7, 11, 9, 10};
    static const size_t interleaved[12] = {0, 7, 1, 6, 5, 8, 2, 9, 4, 11, 3, 10};
    static const size_t reversed_tail[12] = {1, 0, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2};
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        wrap_reordered((dsrtp_profile)p, shuffled, 12);
        wrap_reordered((dsrtp_profile)p, interleaved, 12);
        wrap_reordered((dsrtp_profile)p, reversed_tail, 12);
    }
}

/* RFC 3711 3.3.1: a receiver that starts at ROC 0 takes a first packet numbered after the
 * wrap as ROC 0, so a sender already at ROC 1 is refused until set_roc says so. */
static void test_srtp_unprotect_rejects_first_packet_from_unannounced_roc(void)
{
    pair pr;
    wire w;
    CHECK_OK(pair_new(&pr, DSRTP_AEAD_AES_256_GCM, 128));
    CHECK_OK(dsrtp_srtp_tx_set_roc(pr.tx, SSRC, 1));
    CHECK_OK(protect_seq(pr.tx, 3, &w));
    CHECK_ERR(deliver(pr.rx, &w, false), DSRTP_ERR_AUTH);
    uint32_t roc = 0;
    CHECK_ERR(dsrtp_srtp_rx_get_roc(pr.rx, SSRC, &roc), DSRTP_ERR_INVALID_ARG);
    CHECK_OK(dsrtp_srtp_rx_set_roc(pr.rx, SSRC, 1));
    CHECK_OK(deliver(pr.rx, &w, false));
    pair_free(&pr);
}

/* ---- set_roc / get_roc for re-keying ---- */

static void preset_roc(dsrtp_profile p)
{
    pair pr;
    wire w[4];
    pair wrong;
    CHECK_OK(pair_new(&pr, p, 128));
    CHECK_OK(pair_new(&wrong, p, 128));
    uint32_t roc = 0;
    CHECK_ERR(dsrtp_srtp_tx_get_roc(pr.tx, SSRC, &roc), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_rx_get_roc(pr.rx, SSRC, &roc), DSRTP_ERR_INVALID_ARG);

    /* A sender re-keyed mid-stream at ROC 0x1234, about to wrap. */
    CHECK_OK(dsrtp_srtp_tx_set_roc(pr.tx, SSRC, 0x1234));
    CHECK_OK(dsrtp_srtp_tx_get_roc(pr.tx, SSRC, &roc));
    CHECK_EQ(roc, 0x1234);
    CHECK_OK(protect_seq(pr.tx, 65534, &w[0]));
    CHECK_OK(protect_seq(pr.tx, 65535, &w[1]));
    CHECK_OK(protect_seq(pr.tx, 0, &w[2]));
    CHECK_OK(protect_seq(pr.tx, 1, &w[3]));
    CHECK_OK(dsrtp_srtp_tx_get_roc(pr.tx, SSRC, &roc));
    CHECK_EQ(roc, 0x1235);

    /* Rejecting twin: a receiver told the wrong ROC refuses, and claims nothing. */
    CHECK_OK(dsrtp_srtp_rx_set_roc(wrong.rx, SSRC, 0x1233));
    CHECK_ERR(deliver(wrong.rx, &w[0], false), DSRTP_ERR_AUTH);
    CHECK_OK(dsrtp_srtp_rx_get_roc(wrong.rx, SSRC, &roc));
    CHECK_EQ(roc, 0x1233);

    CHECK_OK(dsrtp_srtp_rx_set_roc(pr.rx, SSRC, 0x1234));
    CHECK_OK(dsrtp_srtp_rx_get_roc(pr.rx, SSRC, &roc));
    CHECK_EQ(roc, 0x1234);
    CHECK_OK(deliver(pr.rx, &w[1], false));
    CHECK_OK(deliver(pr.rx, &w[0], false));
    CHECK_OK(deliver(pr.rx, &w[3], false));
    CHECK_OK(dsrtp_srtp_rx_get_roc(pr.rx, SSRC, &roc));
    CHECK_EQ(roc, 0x1235);
    CHECK_OK(deliver(pr.rx, &w[2], false));
    CHECK_ERR(deliver(pr.rx, &w[0], false), DSRTP_ERR_REPLAY);
    pair_free(&pr);
    pair_free(&wrong);
}

static void test_srtp_rx_set_roc_accepts_sender_started_at_that_roc(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        preset_roc((dsrtp_profile)p);
    }
}

static void test_srtp_roc_accessors_reject_null(void)
{
    pair pr;
    uint32_t roc = 0;
    CHECK_OK(pair_new(&pr, DSRTP_AES_CM_128_HMAC_SHA1_32, 128));
    CHECK_OK(dsrtp_srtp_tx_set_roc(pr.tx, SSRC, 2));
    CHECK_ERR(dsrtp_srtp_tx_get_roc(pr.tx, SSRC, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_tx_get_roc(NULL, SSRC, &roc), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_tx_set_roc(NULL, SSRC, 2), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_rx_set_roc(NULL, SSRC, 2), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_rx_get_roc(NULL, SSRC, &roc), DSRTP_ERR_INVALID_ARG);
    pair_free(&pr);
}

RUN_TESTS(TEST(test_srtp_unprotect_rejects_replayed_index),
          TEST(test_srtp_unprotect_rtcp_rejects_replayed_index),
          TEST(test_srtp_replay_window_accepts_edge_and_rejects_beyond_it),
          TEST(test_srtp_replay_window_tracks_every_index_after_a_jump),
          TEST(test_srtp_roc_estimate_follows_reordering_across_wrap),
          TEST(test_srtp_unprotect_rejects_first_packet_from_unannounced_roc),
          TEST(test_srtp_rx_set_roc_accepts_sender_started_at_that_roc),
          TEST(test_srtp_roc_accessors_reject_null))
