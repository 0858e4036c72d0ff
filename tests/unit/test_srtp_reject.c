/* Rejection tests for the SRTP/SRTCP engine, every profile, RTP and RTCP: single-bit flips,
 * truncations and extensions of protected packets, full stream tables, exhausted keys, short
 * buffers, wrong MKIs and invalid configurations. Every refused packet is handed over in a
 * heap block of exactly its length, so the ASan build catches any read past it; after every
 * refusal the buffer must be byte-identical and the next genuine packet must still pass. */
#include "harness/check.h"
#include "srtp/srtp_int.h"

#define SSRC 0x11223344u

static const uint8_t key[32] = {0x3c, 0x1f, 0x88, 0x02, 0x9a, 0x7e, 0x41, 0xd5, 0x60, 0x2b, 0xee,
                                0x13, 0x97, 0x5a, 0xc4, 0x08, 0x71, 0xb6, 0x2d, 0xf0, 0x4e, 0x99,
                                0x05, 0xa3, 0x6c, 0xd8, 0x17, 0xbb, 0x52, 0x0e, 0xe1, 0x84};
static const uint8_t salt[14] = {0x9e, 0x21, 0x57, 0xc0, 0x3a, 0x8d, 0x14,
                                 0xf6, 0x6b, 0x02, 0xd9, 0x45, 0xb8, 0x7c};
static const uint8_t mki[4] = {0xde, 0xad, 0xbe, 0xef};

static void cfg_for(dsrtp_srtp_cfg *cfg, dsrtp_profile p, size_t mki_len)
{
    dsrtp_srtp_cfg_init(cfg);
    cfg->profile = p;
    cfg->master_key = key;
    cfg->master_key_len = dsrtp_profile_key_len(p);
    cfg->master_salt = salt;
    cfg->master_salt_len = dsrtp_profile_salt_len(p);
    cfg->mki = mki;
    cfg->mki_len = mki_len;
    cfg->max_streams = 4;
}

typedef struct pair {
    dsrtp_srtp_tx *tx;
    dsrtp_srtp_rx *rx;
} pair;

static dsrtp_err pair_new(pair *pr, const dsrtp_srtp_cfg *cfg)
{
    pr->tx = NULL;
    pr->rx = NULL;
    dsrtp_err err = dsrtp_srtp_tx_new(cfg, &pr->tx);
    if (err == DSRTP_OK) {
        err = dsrtp_srtp_rx_new(cfg, &pr->rx);
    }
    return err;
}

static void pair_free(pair *pr)
{
    dsrtp_srtp_tx_free(pr->tx);
    dsrtp_srtp_rx_free(pr->rx);
}

/* An RTP packet with one CSRC and an RFC 8285 one-byte header extension, so that header
 * parsing is on the line too. Returns its length. */
static size_t make_rtp(uint8_t *b, uint32_t ssrc, uint16_t seq, size_t payload)
{
    size_t n = 0;
    b[n++] = 0x80 | 0x10 | 1;
    b[n++] = 96;
    dsrtp_store16(b + n, seq);
    n += 2;
    dsrtp_store32(b + n, 0x01020304u + seq);
    n += 4;
    dsrtp_store32(b + n, ssrc);
    n += 4;
    dsrtp_store32(b + n, 0xc5c5c5c5u);
    n += 4;
    static const uint8_t ext[8] = {0xbe, 0xde, 0x00, 0x01, 0x10, 0x7f, 0x00, 0x00};
    memcpy(b + n, ext, sizeof ext);
    n += sizeof ext;
    for (size_t i = 0; i < payload; i++) {
        b[n++] = (uint8_t)(seq + i * 7);
    }
    return n;
}

/* A sender report with one report block (52 octets). */
static size_t make_rtcp(uint8_t *b, uint32_t ssrc, uint8_t fill)
{
    b[0] = 0x81;
    b[1] = 200;
    dsrtp_store16(b + 2, 12);
    dsrtp_store32(b + 4, ssrc);
    for (size_t i = 8; i < 52; i++) {
        b[i] = (uint8_t)(fill + i);
    }
    return 52;
}

/* A heap copy of the n bytes at src, with nothing addressable after it (for n == 0 the
 * pointer is one past a 1-byte block): ASan reports any read beyond n. Free *block. */
static uint8_t *exact_copy(const uint8_t *src, size_t n, uint8_t **block)
{
    *block = malloc(n > 0 ? n : 1);
    if (*block == NULL) {
        abort();
    }
    if (n == 0) {
        return *block + 1;
    }
    memcpy(*block, src, n);
    return *block;
}

static uint64_t refusals(const dsrtp_srtp_stats *st)
{
    return st->malformed + st->auth_failures + st->replays + st->table_full +
           st->key_exhausted;
}

/* Where the SRTCP E||index word sits in a protected packet of rtcp_len RTCP octets. */
static size_t esrtcp_offset(dsrtp_profile p, size_t rtcp_len)
{
    return p == DSRTP_AEAD_AES_128_GCM || p == DSRTP_AEAD_AES_256_GCM
               ? rtcp_len + DSRTP_GCM_TAG_LEN
               : rtcp_len;
}

/* The verdict on one tampered packet: refused with an allowed error, buffer and out_len
 * untouched, nothing accepted, exactly one refusal counted. */
typedef dsrtp_err (*unprotect_fn)(dsrtp_srtp_rx *rx, uint8_t *buf, size_t len, size_t *out);

static bool refused_cleanly(dsrtp_srtp_rx *rx, unprotect_fn fn, const uint8_t *bytes,
                            size_t len, bool replay_ok, const char *what, size_t where)
{
    uint8_t *block = NULL;
    uint8_t *buf = exact_copy(bytes, len, &block);
    dsrtp_srtp_stats before;
    dsrtp_srtp_stats after;
    dsrtp_srtp_rx_get_stats(rx, &before);
    size_t out = 0xabcd;
    dsrtp_err err = fn(rx, buf, len, &out);
    dsrtp_srtp_rx_get_stats(rx, &after);
    bool ok = err == DSRTP_ERR_AUTH || err == DSRTP_ERR_MALFORMED ||
              (replay_ok && err == DSRTP_ERR_REPLAY);
    if (!ok) {
        fprintf(stderr, "  %s %zu: got '%s'\n", what, where, dsrtp_strerror(err));
    } else if (out != 0xabcd || (len > 0 && memcmp(buf, bytes, len) != 0)) {
        fprintf(stderr, "  %s %zu: buffer or out_len changed by a refusal\n", what, where);
        ok = false;
    } else if (after.rtp_packets != before.rtp_packets ||
               after.rtcp_packets != before.rtcp_packets ||
               refusals(&after) != refusals(&before) + 1) {
        fprintf(stderr, "  %s %zu: counters moved wrongly\n", what, where);
        ok = false;
    }
    free(block);
    return ok;
}

static dsrtp_err protect_rtp_seq(dsrtp_srtp_tx *tx, uint32_t ssrc, uint16_t seq, uint8_t *pkt,
                                 size_t cap, uint8_t *plain, size_t *plain_len, size_t *out)
{
    *plain_len = make_rtp(plain, ssrc, seq, 24);
    memcpy(pkt, plain, *plain_len);
    return dsrtp_srtp_tx_protect(tx, pkt, *plain_len, cap, out);
}

/* ---- single-bit flips ---- */

static void flips_rtp(dsrtp_profile p, size_t mki_len)
{
    dsrtp_srtp_cfg cfg;
    pair pr;
    cfg_for(&cfg, p, mki_len);
    CHECK_OK(pair_new(&pr, &cfg));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    size_t got = 0;
    uint16_t seq = 1000;
    /* The stream exists before the tampering starts, so flips land on a live window. */
    CHECK_OK(protect_rtp_seq(pr.tx, SSRC, seq++, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
    size_t wire_len = out;
    for (size_t bit = 0; bit < wire_len * 8; bit++) {
        CHECK_OK(protect_rtp_seq(pr.tx, SSRC, seq++, pkt, sizeof pkt, plain, &plain_len, &out));
        CHECK_EQ(out, wire_len);
        uint8_t bad[256];
        memcpy(bad, pkt, out);
        bad[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
        /* A flip in the sequence number may turn it into an index already seen or too old:
         * refusing that as a replay, before any crypto, is right too. */
        bool in_seq = bit / 8 == 2 || bit / 8 == 3;
        CHECK(refused_cleanly(pr.rx, dsrtp_srtp_rx_unprotect, bad, out, in_seq, "rtp bit", bit));
        CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
        CHECK_EQ(got, plain_len);
        CHECK_MEM(pkt, plain, plain_len);
    }
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(pr.rx, &st);
    CHECK_EQ(st.rtp_packets, wire_len * 8 + 1);
    CHECK_EQ(refusals(&st), wire_len * 8);
    CHECK_EQ(st.table_full, 0);
    uint32_t roc = 9;
    CHECK_OK(dsrtp_srtp_rx_get_roc(pr.rx, SSRC, &roc));
    CHECK_EQ(roc, 0);
    pair_free(&pr);
}

static void flips_rtcp(dsrtp_profile p, size_t mki_len, bool encrypt)
{
    dsrtp_srtp_cfg cfg;
    pair pr;
    cfg_for(&cfg, p, mki_len);
    cfg.encrypt_rtcp = encrypt;
    CHECK_OK(pair_new(&pr, &cfg));
    uint8_t pkt[256];
    uint8_t plain[64];
    size_t out = 0;
    size_t got = 0;
    size_t len = make_rtcp(plain, SSRC, 0);
    memcpy(pkt, plain, len);
    CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect_rtcp(pr.rx, pkt, out, &got));
    size_t wire_len = out;
    size_t idx_at = esrtcp_offset(p, len);
    for (size_t bit = 0; bit < wire_len * 8; bit++) {
        len = make_rtcp(plain, SSRC, (uint8_t)bit);
        memcpy(pkt, plain, len);
        CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out));
        CHECK_EQ(out, wire_len);
        uint8_t bad[256];
        memcpy(bad, pkt, out);
        bad[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
        bool in_index = bit / 8 >= idx_at && bit / 8 < idx_at + 4 && bit != idx_at * 8;
        CHECK(refused_cleanly(pr.rx, dsrtp_srtp_rx_unprotect_rtcp, bad, out, in_index,
                              "rtcp bit", bit));
        CHECK_OK(dsrtp_srtp_rx_unprotect_rtcp(pr.rx, pkt, out, &got));
        CHECK_EQ(got, len);
        CHECK_MEM(pkt, plain, len);
    }
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(pr.rx, &st);
    CHECK_EQ(st.rtcp_packets, wire_len * 8 + 1);
    CHECK_EQ(refusals(&st), wire_len * 8);
    pair_free(&pr);
}

static void test_srtp_unprotect_rejects_every_single_bit_flip(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        flips_rtp((dsrtp_profile)p, 0);
        flips_rtp((dsrtp_profile)p, sizeof mki);
    }
}

static void test_srtp_unprotect_rtcp_rejects_every_single_bit_flip(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        flips_rtcp((dsrtp_profile)p, 0, true);
        flips_rtcp((dsrtp_profile)p, sizeof mki, true);
        flips_rtcp((dsrtp_profile)p, 0, false);
    }
}

/* ---- truncation and extension ---- */

static void truncations(dsrtp_profile p, size_t mki_len, bool rtcp)
{
    dsrtp_srtp_cfg cfg;
    pair pr;
    cfg_for(&cfg, p, mki_len);
    CHECK_OK(pair_new(&pr, &cfg));
    unprotect_fn fn = rtcp ? dsrtp_srtp_rx_unprotect_rtcp : dsrtp_srtp_rx_unprotect;
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    size_t got = 0;
    uint16_t seq = 7;
    size_t wire_len = 0;
    for (size_t n = 0;; n++) {
        if (rtcp) {
            plain_len = make_rtcp(plain, SSRC, (uint8_t)n);
            memcpy(pkt, plain, plain_len);
            CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, plain_len, sizeof pkt, &out));
        } else {
            CHECK_OK(
                protect_rtp_seq(pr.tx, SSRC, seq++, pkt, sizeof pkt, plain, &plain_len, &out));
        }
        wire_len = out;
        if (n >= wire_len + 3) {
            break;
        }
        if (n < wire_len) {
            CHECK(refused_cleanly(pr.rx, fn, pkt, n, false, rtcp ? "rtcp length" : "rtp length",
                                  n));
        } else {
            /* Oversized: 1 to 3 extra octets after the genuine packet. */
            uint8_t longer[260];
            memcpy(longer, pkt, out);
            memset(longer + out, 0x5a, n - out + 1);
            CHECK(refused_cleanly(pr.rx, fn, longer, n + 1, false,
                                  rtcp ? "rtcp length" : "rtp length", n + 1));
        }
        CHECK_OK(fn(pr.rx, pkt, out, &got));
        CHECK_EQ(got, plain_len);
        CHECK_MEM(pkt, plain, plain_len);
    }
    pair_free(&pr);
}

static void test_srtp_unprotect_rejects_every_truncation_and_extension(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        truncations((dsrtp_profile)p, 0, false);
        truncations((dsrtp_profile)p, sizeof mki, false);
    }
}

static void test_srtp_unprotect_rtcp_rejects_every_truncation_and_extension(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        truncations((dsrtp_profile)p, 0, true);
        truncations((dsrtp_profile)p, sizeof mki, true);
    }
}

static void test_srtp_unprotect_rejects_non_rtp_as_malformed(void)
{
    dsrtp_srtp_cfg cfg;
    pair pr;
    cfg_for(&cfg, DSRTP_AES_CM_128_HMAC_SHA1_80, 0);
    CHECK_OK(pair_new(&pr, &cfg));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    size_t got = 0;
    CHECK_OK(protect_rtp_seq(pr.tx, SSRC, 1, pkt, sizeof pkt, plain, &plain_len, &out));
    uint8_t bad[256];
    memcpy(bad, pkt, out);
    bad[0] = (uint8_t)(bad[0] & 0x3f); /* version 0 */
    CHECK_ERR(dsrtp_srtp_rx_unprotect(pr.rx, bad, out, &got), DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_srtp_rx_unprotect_rtcp(pr.rx, bad, out, &got), DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_srtp_rx_unprotect(pr.rx, pkt, 5, &got), DSRTP_ERR_MALFORMED);
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(pr.rx, &st);
    CHECK_EQ(st.malformed, 3);
    CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
    /* Caller misuse is no verdict on a packet. */
    CHECK_ERR(dsrtp_srtp_rx_unprotect(NULL, pkt, out, &got), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_rx_unprotect(pr.rx, NULL, out, &got), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_tx_protect(pr.tx, NULL, out, sizeof pkt, &got),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_tx_protect_rtcp(NULL, pkt, out, sizeof pkt, &got),
              DSRTP_ERR_INVALID_ARG);
    /* Protect refuses what is not RTP / RTCP, and leaves it alone. */
    memcpy(pkt, bad, 40);
    CHECK_ERR(dsrtp_srtp_tx_protect(pr.tx, pkt, 40, sizeof pkt, &out), DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, 40, sizeof pkt, &out),
              DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, 7, sizeof pkt, &out), DSRTP_ERR_MALFORMED);
    CHECK_MEM(pkt, bad, 40);
    pair_free(&pr);
}

/* ---- the stream table ---- */

static void table_full(dsrtp_profile p)
{
    dsrtp_srtp_cfg cfg;
    pair pr;
    cfg_for(&cfg, p, 0);
    cfg.max_streams = 16; /* the sender's table is not what is under test */
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &pr.tx));
    cfg.max_streams = 2;
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &pr.rx));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    size_t got = 0;
    uint32_t roc = 0;

    /* Packets with garbage tags from four new SSRCs fail and claim nothing. */
    for (uint32_t s = 0xa0; s < 0xa2; s++) {
        CHECK_OK(protect_rtp_seq(pr.tx, s, 1, pkt, sizeof pkt, plain, &plain_len, &out));
        pkt[out - 1] ^= 0x01;
        CHECK(refused_cleanly(pr.rx, dsrtp_srtp_rx_unprotect, pkt, out, false, "ssrc", s));
        CHECK_ERR(dsrtp_srtp_rx_get_roc(pr.rx, s, &roc), DSRTP_ERR_INVALID_ARG);
    }
    for (uint32_t s = 0xb0; s < 0xb2; s++) {
        size_t len = make_rtcp(pkt, s, 1);
        CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out));
        pkt[out - 1] ^= 0x01;
        CHECK(refused_cleanly(pr.rx, dsrtp_srtp_rx_unprotect_rtcp, pkt, out, false, "ssrc", s));
        CHECK_ERR(dsrtp_srtp_rx_get_roc(pr.rx, s, &roc), DSRTP_ERR_INVALID_ARG);
    }

    /* Two genuine SSRCs still fit, RTP for one and RTCP for the other. */
    CHECK_OK(protect_rtp_seq(pr.tx, 0xc0, 1, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
    size_t len = make_rtcp(pkt, 0xc1, 1);
    CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect_rtcp(pr.rx, pkt, out, &got));

    /* A third, however genuine, does not. */
    CHECK_OK(protect_rtp_seq(pr.tx, 0xc2, 1, pkt, sizeof pkt, plain, &plain_len, &out));
    uint8_t *block = NULL;
    uint8_t *buf = exact_copy(pkt, out, &block);
    CHECK_ERR(dsrtp_srtp_rx_unprotect(pr.rx, buf, out, &got), DSRTP_ERR_TABLE_FULL);
    CHECK_MEM(buf, pkt, out);
    free(block);
    len = make_rtcp(pkt, 0xc2, 1);
    CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out));
    buf = exact_copy(pkt, out, &block);
    CHECK_ERR(dsrtp_srtp_rx_unprotect_rtcp(pr.rx, buf, out, &got), DSRTP_ERR_TABLE_FULL);
    CHECK_MEM(buf, pkt, out);
    free(block);
    CHECK_ERR(dsrtp_srtp_rx_set_roc(pr.rx, 0xc2, 1), DSRTP_ERR_TABLE_FULL);
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(pr.rx, &st);
    CHECK_EQ(st.table_full, 2);
    CHECK_EQ(st.auth_failures, 4);
    CHECK_EQ(st.rtp_packets, 1);
    CHECK_EQ(st.rtcp_packets, 1);

    /* The two that fit go on working, each now with RTP and RTCP. */
    CHECK_OK(protect_rtp_seq(pr.tx, 0xc0, 2, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
    CHECK_OK(protect_rtp_seq(pr.tx, 0xc1, 1, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
    len = make_rtcp(pkt, 0xc0, 2);
    CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect_rtcp(pr.rx, pkt, out, &got));
    pair_free(&pr);
}

static void test_srtp_unprotect_rejects_third_ssrc_when_table_holds_two(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        table_full((dsrtp_profile)p);
    }
}

static void test_srtp_protect_rejects_third_ssrc_when_table_holds_two(void)
{
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_tx *tx = NULL;
    cfg_for(&cfg, DSRTP_AEAD_AES_128_GCM, 0);
    cfg.max_streams = 2;
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    CHECK_OK(protect_rtp_seq(tx, 1, 1, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK_OK(dsrtp_srtp_tx_set_roc(tx, 2, 0));
    CHECK_ERR(protect_rtp_seq(tx, 3, 1, pkt, sizeof pkt, plain, &plain_len, &out),
              DSRTP_ERR_TABLE_FULL);
    CHECK_MEM(pkt, plain, plain_len);
    CHECK_ERR(dsrtp_srtp_tx_set_roc(tx, 3, 0), DSRTP_ERR_TABLE_FULL);
    CHECK_ERR(dsrtp_srtp_tx_set_rtcp_index(tx, 3, 0), DSRTP_ERR_TABLE_FULL);
    dsrtp_srtp_stats st;
    dsrtp_srtp_tx_get_stats(tx, &st);
    CHECK_EQ(st.table_full, 1);
    CHECK_EQ(st.rtp_packets, 1);
    CHECK_OK(protect_rtp_seq(tx, 2, 1, pkt, sizeof pkt, plain, &plain_len, &out));
    dsrtp_srtp_tx_free(tx);
}

/* ---- key exhaustion ---- */

static void key_exhausted(dsrtp_profile p)
{
    dsrtp_srtp_cfg cfg;
    pair pr;
    cfg_for(&cfg, p, 0);
    CHECK_OK(pair_new(&pr, &cfg));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    size_t got = 0;

    /* SRTP: index 2^48 - 1 is the last one. */
    CHECK_OK(dsrtp_srtp_tx_set_roc(pr.tx, SSRC, 0xffffffffu));
    CHECK_OK(dsrtp_srtp_rx_set_roc(pr.rx, SSRC, 0xffffffffu));
    CHECK_OK(protect_rtp_seq(pr.tx, SSRC, 65535, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
    CHECK_MEM(pkt, plain, plain_len);
    CHECK_ERR(protect_rtp_seq(pr.tx, SSRC, 0, pkt, sizeof pkt, plain, &plain_len, &out),
              DSRTP_ERR_KEY_EXHAUSTED);
    CHECK_MEM(pkt, plain, plain_len);
    CHECK_ERR(protect_rtp_seq(pr.tx, SSRC, 1, pkt, sizeof pkt, plain, &plain_len, &out),
              DSRTP_ERR_KEY_EXHAUSTED);
    uint32_t roc = 0;
    CHECK_OK(dsrtp_srtp_tx_get_roc(pr.tx, SSRC, &roc));
    CHECK_EQ(roc, 0xffffffffu);

    /* SRTCP: index 2^31 - 1 is the last one. */
    CHECK_OK(dsrtp_srtp_tx_set_rtcp_index(pr.tx, SSRC, 0x7fffffffu));
    size_t len = make_rtcp(plain, SSRC, 3);
    memcpy(pkt, plain, len);
    CHECK_OK(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out));
    CHECK_EQ(dsrtp_load32(pkt + esrtcp_offset(p, len)), 0xffffffffu);
    CHECK_OK(dsrtp_srtp_rx_unprotect_rtcp(pr.rx, pkt, out, &got));
    CHECK_MEM(pkt, plain, len);
    CHECK_ERR(dsrtp_srtp_tx_protect_rtcp(pr.tx, pkt, len, sizeof pkt, &out),
              DSRTP_ERR_KEY_EXHAUSTED);
    CHECK_MEM(pkt, plain, len);
    CHECK_ERR(dsrtp_srtp_tx_set_rtcp_index(pr.tx, SSRC, 0x80000000u), DSRTP_ERR_INVALID_ARG);

    dsrtp_srtp_stats st;
    dsrtp_srtp_tx_get_stats(pr.tx, &st);
    CHECK_EQ(st.key_exhausted, 3);
    CHECK_EQ(st.rtp_packets, 1);
    CHECK_EQ(st.rtcp_packets, 1);
    pair_free(&pr);
}

static void test_srtp_protect_rejects_index_past_key_lifetime(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        key_exhausted((dsrtp_profile)p);
    }
}

/* ---- short buffers ---- */

static void buffer_too_small(dsrtp_profile p, size_t mki_len)
{
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_tx *tx = NULL;
    cfg_for(&cfg, p, mki_len);
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t len = make_rtp(plain, SSRC, 9, 30);
    size_t need = len + mki_len + dsrtp_profile_srtp_tag_len(p);
    size_t out = 0;
    memset(pkt, 0xee, sizeof pkt);
    memcpy(pkt, plain, len);
    uint8_t before[256];
    memcpy(before, pkt, sizeof pkt);
    size_t caps[] = {need - 1, len, len - 1, 0};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        out = 0;
        CHECK_ERR(dsrtp_srtp_tx_protect(tx, pkt, len, caps[i], &out),
                  DSRTP_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ(out, need);
        CHECK_MEM(pkt, before, sizeof pkt);
    }
    uint32_t roc = 0;
    CHECK_ERR(dsrtp_srtp_tx_get_roc(tx, SSRC, &roc), DSRTP_ERR_INVALID_ARG);

    size_t rlen = make_rtcp(plain, SSRC, 1);
    size_t rneed = rlen + 4 + mki_len + dsrtp_profile_srtcp_tag_len(p);
    memcpy(pkt, plain, rlen);
    memcpy(before, pkt, sizeof pkt);
    CHECK_ERR(dsrtp_srtp_tx_protect_rtcp(tx, pkt, rlen, rneed - 1, &out),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(out, rneed);
    CHECK_MEM(pkt, before, sizeof pkt);

    /* The batch call reports it per packet and leaves that packet as it was. */
    len = make_rtp(pkt, SSRC, 9, 30);
    memcpy(before, pkt, len);
    make_rtp(plain, SSRC, 10, 30);
    dsrtp_srtp_pkt batch[2] = {{pkt, len, need - 1, DSRTP_OK}, {plain, len, need, DSRTP_OK}};
    CHECK_EQ(dsrtp_srtp_tx_protect_batch(tx, batch, 2), 1);
    CHECK_ERR(batch[0].err, DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(batch[0].len, len);
    CHECK_MEM(pkt, before, len);
    CHECK_OK(batch[1].err);
    CHECK_EQ(batch[1].len, need);

    dsrtp_srtp_stats st;
    dsrtp_srtp_tx_get_stats(tx, &st);
    CHECK_EQ(st.rtp_packets, 1);
    CHECK_EQ(st.rtcp_packets, 0);
    dsrtp_srtp_tx_free(tx);
}

static void test_srtp_protect_reports_needed_size_when_buffer_too_small(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        buffer_too_small((dsrtp_profile)p, 0);
        buffer_too_small((dsrtp_profile)p, sizeof mki);
    }
}

/* ---- MKI ---- */

static void wrong_mki(dsrtp_profile p)
{
    static const uint8_t other_mki[4] = {0xde, 0xad, 0xbe, 0xee};
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_tx *tx = NULL;
    dsrtp_srtp_rx *rx = NULL;
    dsrtp_srtp_rx *rx_none = NULL;
    cfg_for(&cfg, p, sizeof mki);
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    cfg.mki = other_mki;
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &rx));
    cfg.mki_len = 0;
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &rx_none));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    CHECK_OK(protect_rtp_seq(tx, SSRC, 77, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK(refused_cleanly(rx, dsrtp_srtp_rx_unprotect, pkt, out, false, "mki rtp", 0));
    CHECK(refused_cleanly(rx_none, dsrtp_srtp_rx_unprotect, pkt, out, false, "no mki rtp", 0));
    size_t len = make_rtcp(pkt, SSRC, 1);
    CHECK_OK(dsrtp_srtp_tx_protect_rtcp(tx, pkt, len, sizeof pkt, &out));
    CHECK(refused_cleanly(rx, dsrtp_srtp_rx_unprotect_rtcp, pkt, out, false, "mki rtcp", 0));
    CHECK(refused_cleanly(rx_none, dsrtp_srtp_rx_unprotect_rtcp, pkt, out, false,
                          "no mki rtcp", 0));
    dsrtp_srtp_stats st;
    dsrtp_srtp_rx_get_stats(rx, &st);
    CHECK_EQ(st.auth_failures, 2);
    uint32_t roc = 0;
    CHECK_ERR(dsrtp_srtp_rx_get_roc(rx, SSRC, &roc), DSRTP_ERR_INVALID_ARG);
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
    dsrtp_srtp_rx_free(rx_none);
}

static void test_srtp_unprotect_rejects_wrong_mki(void)
{
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        wrong_mki((dsrtp_profile)p);
    }
}

/* ---- configuration ---- */

/* Both constructors refuse cfg with DSRTP_ERR_INVALID_ARG and leave *out alone. */
static bool both_refuse(const dsrtp_srtp_cfg *cfg)
{
    dsrtp_srtp_tx *tx = (dsrtp_srtp_tx *)&tx;
    dsrtp_srtp_rx *rx = (dsrtp_srtp_rx *)&rx;
    dsrtp_err etx = dsrtp_srtp_tx_new(cfg, &tx);
    dsrtp_err erx = dsrtp_srtp_rx_new(cfg, &rx);
    return etx == DSRTP_ERR_INVALID_ARG && erx == DSRTP_ERR_INVALID_ARG &&
           tx == (dsrtp_srtp_tx *)&tx && rx == (dsrtp_srtp_rx *)&rx;
}

static void test_srtp_new_rejects_invalid_config(void)
{
    dsrtp_srtp_cfg cfg;
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        dsrtp_profile prof = (dsrtp_profile)p;
        size_t klen = dsrtp_profile_key_len(prof);
        size_t slen = dsrtp_profile_salt_len(prof);
        size_t bad_keys[] = {0, klen - 1, klen + 1, klen == 16 ? 32 : 16, 24};
        for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
            cfg_for(&cfg, prof, 0);
            cfg.master_key_len = bad_keys[i];
            CHECK(both_refuse(&cfg));
        }
        size_t bad_salts[] = {0, slen - 1, slen + 1, slen == 14 ? 12 : 14};
        for (size_t i = 0; i < sizeof bad_salts / sizeof bad_salts[0]; i++) {
            cfg_for(&cfg, prof, 0);
            cfg.master_salt_len = bad_salts[i];
            CHECK(both_refuse(&cfg));
        }
        cfg_for(&cfg, prof, 0);
        cfg.master_key = NULL;
        CHECK(both_refuse(&cfg));
        cfg_for(&cfg, prof, 0);
        cfg.master_salt = NULL;
        CHECK(both_refuse(&cfg));
        cfg_for(&cfg, prof, 0);
        cfg.replay_window = 0;
        CHECK(both_refuse(&cfg));
        cfg.replay_window = DSRTP_SRTP_MAX_WINDOW + 1;
        CHECK(both_refuse(&cfg));
        cfg.replay_window = SIZE_MAX;
        CHECK(both_refuse(&cfg));
        cfg_for(&cfg, prof, DSRTP_SRTP_MAX_MKI_LEN + 1);
        CHECK(both_refuse(&cfg));
        cfg_for(&cfg, prof, 2);
        cfg.mki = NULL;
        CHECK(both_refuse(&cfg));
        cfg_for(&cfg, prof, 0);
        cfg.max_streams = 0;
        CHECK(both_refuse(&cfg));
    }
    cfg_for(&cfg, DSRTP_AES_CM_128_HMAC_SHA1_80, 0);
    cfg.profile = DSRTP_PROFILE_NONE;
    CHECK(both_refuse(&cfg));
    cfg.profile = DSRTP_PROFILE_COUNT;
    CHECK(both_refuse(&cfg));
    cfg.profile = (dsrtp_profile)-1;
    CHECK(both_refuse(&cfg));
    CHECK(both_refuse(NULL));
    cfg_for(&cfg, DSRTP_AES_CM_128_HMAC_SHA1_80, 0);
    CHECK_ERR(dsrtp_srtp_tx_new(&cfg, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_srtp_rx_new(&cfg, NULL), DSRTP_ERR_INVALID_ARG);
}

/* The rejecting tests' accepting twin: the edges of every range are taken. */
static void test_srtp_new_accepts_config_at_the_limits(void)
{
    dsrtp_srtp_cfg cfg;
    pair pr;
    cfg_for(&cfg, DSRTP_AES_256_CM_HMAC_SHA1_32, DSRTP_SRTP_MAX_MKI_LEN);
    uint8_t long_mki[DSRTP_SRTP_MAX_MKI_LEN] = {1, 2, 3};
    cfg.mki = long_mki;
    cfg.replay_window = DSRTP_SRTP_MAX_WINDOW;
    cfg.max_streams = 1;
    CHECK_OK(pair_new(&pr, &cfg));
    uint8_t pkt[256];
    uint8_t plain[256];
    size_t plain_len = 0;
    size_t out = 0;
    size_t got = 0;
    CHECK_OK(protect_rtp_seq(pr.tx, SSRC, 3, pkt, sizeof pkt, plain, &plain_len, &out));
    CHECK_EQ(out, plain_len + DSRTP_SRTP_MAX_MKI_LEN + 4);
    CHECK_OK(dsrtp_srtp_rx_unprotect(pr.rx, pkt, out, &got));
    pair_free(&pr);
    cfg.replay_window = 64;
    CHECK_OK(pair_new(&pr, &cfg));
    pair_free(&pr);
}

RUN_TESTS(TEST(test_srtp_unprotect_rejects_every_single_bit_flip),
          TEST(test_srtp_unprotect_rtcp_rejects_every_single_bit_flip),
          TEST(test_srtp_unprotect_rejects_every_truncation_and_extension),
          TEST(test_srtp_unprotect_rtcp_rejects_every_truncation_and_extension),
          TEST(test_srtp_unprotect_rejects_non_rtp_as_malformed),
          TEST(test_srtp_unprotect_rejects_third_ssrc_when_table_holds_two),
          TEST(test_srtp_protect_rejects_third_ssrc_when_table_holds_two),
          TEST(test_srtp_protect_rejects_index_past_key_lifetime),
          TEST(test_srtp_protect_reports_needed_size_when_buffer_too_small),
          TEST(test_srtp_unprotect_rejects_wrong_mki),
          TEST(test_srtp_new_rejects_invalid_config),
          TEST(test_srtp_new_accepts_config_at_the_limits))
