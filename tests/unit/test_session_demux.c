/* The RFC 7983 demultiplexer: every first byte, RTP against RTCP by the second byte
 * (RFC 5761 §4), short inputs, and what the session does with datagrams it cannot place. */
#include "harness/check.h"
#include "harness/session_link.h"

/* The classification written out from the RFC 7983 §7 table, independently of demux.c. */
static dsrtp_demux_kind expected(uint8_t b0, int b1)
{
    if (b0 <= 3) {
        return DSRTP_DEMUX_STUN;
    }
    if (b0 >= 20 && b0 <= 63) {
        return DSRTP_DEMUX_DTLS;
    }
    if (b0 >= 128 && b0 <= 191) {
        if (b1 < 0) {
            return DSRTP_DEMUX_OTHER; /* no second byte to tell RTP from RTCP */
        }
        return b1 >= 192 && b1 <= 223 ? DSRTP_DEMUX_RTCP : DSRTP_DEMUX_RTP;
    }
    return DSRTP_DEMUX_OTHER;
}

static void test_session_demux_classifies_every_first_and_second_byte(void)
{
    uint8_t buf[4] = {0};
    for (int b0 = 0; b0 < 256; b0++) {
        for (int b1 = 0; b1 < 256; b1++) {
            buf[0] = (uint8_t)b0;
            buf[1] = (uint8_t)b1;
            CHECK_EQ(dsrtp_demux(buf, sizeof buf), expected((uint8_t)b0, b1));
            CHECK_EQ(dsrtp_demux(buf, 2), expected((uint8_t)b0, b1));
        }
    }
}

static void test_session_demux_places_the_range_edges(void)
{
    static const struct {
        uint8_t b0, b1;
        dsrtp_demux_kind want;
    } edges[] = {
        {0, 1, DSRTP_DEMUX_STUN},     {3, 0, DSRTP_DEMUX_STUN},
        {4, 0, DSRTP_DEMUX_OTHER},    {16, 0, DSRTP_DEMUX_OTHER}, /* ZRTP */
        {19, 0, DSRTP_DEMUX_OTHER},   {20, 0, DSRTP_DEMUX_DTLS},
        {22, 0xfe, DSRTP_DEMUX_DTLS}, {63, 0, DSRTP_DEMUX_DTLS},
        {64, 0, DSRTP_DEMUX_OTHER},   {79, 0, DSRTP_DEMUX_OTHER}, /* TURN channel */
        {127, 0, DSRTP_DEMUX_OTHER},  {128, 0, DSRTP_DEMUX_RTP},
        {128, 96, DSRTP_DEMUX_RTP},   {128, 191, DSRTP_DEMUX_RTP},
        {128, 192, DSRTP_DEMUX_RTCP}, {129, 200, DSRTP_DEMUX_RTCP},
        {128, 223, DSRTP_DEMUX_RTCP}, {128, 224, DSRTP_DEMUX_RTP},
        {191, 200, DSRTP_DEMUX_RTCP}, {191, 0, DSRTP_DEMUX_RTP},
        {192, 200, DSRTP_DEMUX_OTHER}, {255, 0, DSRTP_DEMUX_OTHER},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        uint8_t buf[2] = {edges[i].b0, edges[i].b1};
        CHECK_EQ(dsrtp_demux(buf, 2), edges[i].want);
    }
}

static void test_session_demux_reads_no_further_than_it_may(void)
{
    /* Exact-size heap buffers: a read past the end is an ASan report. */
    CHECK_EQ(dsrtp_demux(NULL, 0), DSRTP_DEMUX_OTHER);
    CHECK_EQ(dsrtp_demux(NULL, 12), DSRTP_DEMUX_OTHER);
    uint8_t *one = malloc(1);
    CHECK(one != NULL);
    for (int b0 = 0; b0 < 256; b0++) {
        one[0] = (uint8_t)b0;
        dsrtp_demux_kind k = dsrtp_demux(one, 1);
        if (k != expected((uint8_t)b0, -1)) {
            free(one);
            CHECK_EQ(k, expected((uint8_t)b0, -1));
        }
        if (dsrtp_demux(one, 0) != DSRTP_DEMUX_OTHER) {
            free(one);
            CHECK(false);
        }
    }
    free(one);
}

/* A session given datagrams no layer owns counts and refuses them, and carries on. */
static void test_session_refuses_datagrams_the_demultiplexer_cannot_place(void)
{
    dsrtp_session_cfg cfg;
    dsrtp_session_cfg_init(&cfg);
    cfg.keying = DSRTP_KEYING_NONE;
    cfg.remote.has_addr = true;
    cfg.remote.addr = sl_addr("127.0.0.1:20000");
    dsrtp_session *s = NULL;
    CHECK_OK(dsrtp_session_new(&cfg, &s));
    dsrtp_err e = dsrtp_session_start(s, 1);
    dsrtp_addr from = sl_addr("127.0.0.1:20000");
    uint8_t odd[][16] = {{16, 0, 0, 0}, {64, 1, 2, 3}, {0xc0, 200}, {0xff}, {0x80}};
    const size_t lens[] = {16, 16, 16, 16, 1};
    size_t refused = 0;
    for (size_t i = 0; e == DSRTP_OK && i < sizeof lens / sizeof lens[0]; i++) {
        dsrtp_input in;
        if (dsrtp_session_handle_datagram(s, 2, &from, odd[i], lens[i], &in) ==
                DSRTP_ERR_MALFORMED &&
            in.kind == DSRTP_INPUT_CONSUMED) {
            refused++;
        }
    }
    /* Plain RTP still passes afterwards. */
    uint8_t rtp[64];
    size_t len = sl_make_rtp(rtp, 1, 1, 20);
    dsrtp_input in = {0};
    dsrtp_err e2 = e == DSRTP_OK ? dsrtp_session_handle_datagram(s, 3, &from, rtp, len, &in)
                                 : e;
    dsrtp_session_stats st;
    dsrtp_session_get_stats(s, &st);
    dsrtp_session_free(s);
    CHECK_OK(e);
    CHECK_EQ(refused, 5);
    CHECK_EQ(st.malformed, 5);
    CHECK_OK(e2);
    CHECK_EQ(in.kind, DSRTP_INPUT_RTP);
    CHECK_EQ(st.rtp_received, 1);
}

/* An empty datagram is nothing; the session says so rather than reading it. */
static void test_session_refuses_an_empty_datagram(void)
{
    dsrtp_session_cfg cfg;
    dsrtp_session_cfg_init(&cfg);
    cfg.keying = DSRTP_KEYING_NONE;
    dsrtp_session *s = NULL;
    CHECK_OK(dsrtp_session_new(&cfg, &s));
    dsrtp_addr from = sl_addr("127.0.0.1:20000");
    uint8_t *empty = malloc(1);
    dsrtp_input in;
    dsrtp_err e = empty != NULL ? dsrtp_session_handle_datagram(s, 1, &from, empty, 0, &in)
                                : DSRTP_ERR_NO_MEMORY;
    free(empty);
    dsrtp_session_free(s);
    CHECK(e == DSRTP_ERR_MALFORMED || e == DSRTP_ERR_NOT_READY);
}

RUN_TESTS(TEST(test_session_demux_classifies_every_first_and_second_byte),
          TEST(test_session_demux_places_the_range_edges),
          TEST(test_session_demux_reads_no_further_than_it_may),
          TEST(test_session_refuses_datagrams_the_demultiplexer_cannot_place),
          TEST(test_session_refuses_an_empty_datagram))
