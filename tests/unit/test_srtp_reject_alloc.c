/* Nothing on the per-packet path allocates, whether the packet is accepted or refused.
 *
 * With glibc (and without ASan, which brings its own allocator), this file replaces malloc,
 * calloc and realloc for the whole process (the shared libcrypto included) with counting
 * wrappers around glibc's own entry points, and also compares mallinfo2()'s bytes in use
 * before and after the traffic. Under ASan or another libc the traffic still runs, but the
 * counts are not checked. */
#include "harness/check.h"
#include "srtp/srtp_int.h"

#include "harness/alloc_count.h"

#define SSRC_A 0x0a0a0a0au
#define SSRC_B 0x0b0b0b0bu
#define SSRC_C 0x0c0c0c0cu
#define ROUNDS 1000

static const uint8_t key[32] = {7, 1, 4, 2, 8, 5, 7, 1, 4, 2, 8, 5, 7, 1, 4, 2,
                                8, 5, 7, 1, 4, 2, 8, 5, 7, 1, 4, 2, 8, 5, 7, 1};
static const uint8_t salt[14] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7};
static const uint8_t mki[2] = {0x42, 0x24};

static size_t make_rtp(uint8_t *b, uint32_t ssrc, uint16_t seq)
{
    memset(b, 0x33, 172);
    b[0] = 0x80;
    b[1] = 0;
    dsrtp_store16(b + 2, seq);
    dsrtp_store32(b + 8, ssrc);
    return 172;
}

static size_t make_rtcp(uint8_t *b, uint32_t ssrc)
{
    memset(b, 0x44, 28);
    b[0] = 0x80;
    b[1] = 200;
    dsrtp_store16(b + 2, 6);
    dsrtp_store32(b + 4, ssrc);
    return 28;
}

/* One round of traffic for one profile: every accepted and refused outcome of protect and
 * unprotect, for RTP and RTCP. Returns false on the first unexpected result. */
static bool one_round(dsrtp_srtp_tx *tx, dsrtp_srtp_rx *rx, uint16_t seq)
{
    uint8_t pkt[256];
    uint8_t copy[256];
    size_t len = 0;
    size_t out = 0;
    size_t got = 0;
    bool ok = true;

    /* Accepted RTP, then its replay, a flipped tag, a truncation and a non-RTP packet. */
    len = make_rtp(pkt, SSRC_A, seq);
    ok = ok && dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out) == DSRTP_OK;
    memcpy(copy, pkt, out);
    ok = ok && dsrtp_srtp_rx_unprotect(rx, pkt, out, &got) == DSRTP_OK;
    ok = ok && dsrtp_srtp_rx_unprotect(rx, copy, out, &got) == DSRTP_ERR_REPLAY;
    len = make_rtp(pkt, SSRC_A, (uint16_t)(seq + 1));
    ok = ok && dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out) == DSRTP_OK;
    pkt[out - 1] ^= 1;
    ok = ok && dsrtp_srtp_rx_unprotect(rx, pkt, out, &got) == DSRTP_ERR_AUTH;
    pkt[out - 1] ^= 1;
    ok = ok && dsrtp_srtp_rx_unprotect(rx, pkt, 11, &got) == DSRTP_ERR_MALFORMED;
    pkt[0] = 0;
    ok = ok && dsrtp_srtp_rx_unprotect(rx, pkt, out, &got) == DSRTP_ERR_MALFORMED;

    /* A second stream, and a third that does not fit the receiver's table of two. */
    len = make_rtp(pkt, SSRC_B, seq);
    ok = ok && dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out) == DSRTP_OK;
    ok = ok && dsrtp_srtp_rx_unprotect(rx, pkt, out, &got) == DSRTP_OK;
    len = make_rtp(pkt, SSRC_C, seq);
    ok = ok && dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out) == DSRTP_OK;
    ok = ok && dsrtp_srtp_rx_unprotect(rx, pkt, out, &got) == DSRTP_ERR_TABLE_FULL;

    /* Buffer too small, and the batch calls. */
    len = make_rtp(pkt, SSRC_A, (uint16_t)(seq + 1));
    ok = ok && dsrtp_srtp_tx_protect(tx, pkt, len, len, &out) == DSRTP_ERR_BUFFER_TOO_SMALL;
    dsrtp_srtp_pkt batch = {pkt, len, sizeof pkt, DSRTP_OK};
    ok = ok && dsrtp_srtp_tx_protect_batch(tx, &batch, 1) == 1;
    ok = ok && dsrtp_srtp_rx_unprotect_batch(rx, &batch, 1) == 1;

    /* RTCP: accepted, replayed, flipped. */
    len = make_rtcp(pkt, SSRC_A);
    ok = ok && dsrtp_srtp_tx_protect_rtcp(tx, pkt, len, sizeof pkt, &out) == DSRTP_OK;
    memcpy(copy, pkt, out);
    ok = ok && dsrtp_srtp_rx_unprotect_rtcp(rx, pkt, out, &got) == DSRTP_OK;
    ok = ok && dsrtp_srtp_rx_unprotect_rtcp(rx, copy, out, &got) == DSRTP_ERR_REPLAY;
    len = make_rtcp(pkt, SSRC_B);
    ok = ok && dsrtp_srtp_tx_protect_rtcp(tx, pkt, len, sizeof pkt, &out) == DSRTP_OK;
    pkt[out - 1] ^= 1;
    ok = ok && dsrtp_srtp_rx_unprotect_rtcp(rx, pkt, out, &got) == DSRTP_ERR_AUTH;
    return ok;
}

static void test_srtp_packet_path_allocates_nothing_when_accepting_or_refusing(void)
{
    dsrtp_srtp_tx *tx[DSRTP_PROFILE_COUNT] = {NULL};
    dsrtp_srtp_rx *rx[DSRTP_PROFILE_COUNT] = {NULL};
#ifdef TEST_COUNTS_ALLOCS
    unsigned long setup_calls = alloc_calls;
#endif
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        dsrtp_srtp_cfg cfg;
        dsrtp_srtp_cfg_init(&cfg);
        cfg.profile = (dsrtp_profile)p;
        cfg.master_key = key;
        cfg.master_key_len = dsrtp_profile_key_len(cfg.profile);
        cfg.master_salt = salt;
        cfg.master_salt_len = dsrtp_profile_salt_len(cfg.profile);
        cfg.mki = mki;
        cfg.mki_len = p % 2 == 0 ? sizeof mki : 0;
        cfg.max_streams = 4;
        cfg.allow_repeat_tx = true; /* the test re-sends indices to test the receiver */
        CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx[p]));
        cfg.max_streams = 2;
        cfg.replay_window = 1024;
        CHECK_OK(dsrtp_srtp_rx_new(&cfg, &rx[p]));
    }
#ifdef TEST_COUNTS_ALLOCS
    /* The counting must see the library's allocations and libcrypto's: each context makes
     * a handful itself and libcrypto at least one per cipher context, so fewer than 8 per
     * context would mean the wrappers are not in the path. */
    CHECK(alloc_calls - setup_calls >= 8 * 2 * (DSRTP_PROFILE_COUNT - 1));
    unsigned long calls_before = alloc_calls;
    size_t heap_before = heap_in_use();
#else
    printf("allocation counting skipped (ASan or not glibc); traffic only\n");
#endif

    for (int i = 0; i < ROUNDS; i++) {
        for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
            if (!one_round(tx[p], rx[p], (uint16_t)(2 * i))) {
                fprintf(stderr, "  %s: unexpected result in round %d\n",
                        dsrtp_profile_name((dsrtp_profile)p), i);
                CHECK(false);
            }
        }
    }

#ifdef TEST_COUNTS_ALLOCS
    unsigned long calls = alloc_calls - calls_before;
    size_t heap_after = heap_in_use();
    if (calls != 0) {
        fprintf(stderr, "  %lu allocations in %d rounds\n", calls, ROUNDS);
    }
    CHECK_EQ(calls, 0);
    CHECK_EQ(heap_after, heap_before);
#endif
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        dsrtp_srtp_stats st;
        dsrtp_srtp_rx_get_stats(rx[p], &st);
        CHECK_EQ(st.rtp_packets, 3 * ROUNDS);
        CHECK_EQ(st.replays, 2 * ROUNDS);
        CHECK_EQ(st.table_full, ROUNDS);
        dsrtp_srtp_tx_free(tx[p]);
        dsrtp_srtp_rx_free(rx[p]);
    }
}

RUN_TESTS(TEST(test_srtp_packet_path_allocates_nothing_when_accepting_or_refusing))
