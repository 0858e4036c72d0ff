/* Stream sorting for bundled sides: payload-type and SSRC maps, the SSRC map's round-robin
 * replacement, and which SSRC of an RTCP compound packet decides its stream. Packets are
 * written out byte by byte (hex); each is handed over in an exact-size heap copy so a read
 * past its end is an ASan report in the sanitizer build. */
#include "../harness/check.h"

#include "streams.h"

/* SSRCs used throughout. */
#define SSRC_A 0x11223344u
#define SSRC_B 0x55667788u
#define SSRC_C 0x99aabbccu
#define SSRC_X 0xdeadbeefu /* never learnt */

static unsigned rtp_exact(const gw_stream_map *m, const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, p, len);
    unsigned k = gw_stream_map_rtp(m, copy, len);
    free(copy);
    return k;
}

static unsigned rtcp_exact(const gw_stream_map *m, const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, p, len);
    unsigned k = gw_stream_map_rtcp(m, copy, len);
    free(copy);
    return k;
}

/* The stream of the RTP or RTCP packet written as hex. */
static unsigned rtp_hex(const gw_stream_map *m, const char *hex)
{
    uint8_t b[256];
    return rtp_exact(m, b, check_hex(hex, b, sizeof b));
}

static unsigned rtcp_hex(const gw_stream_map *m, const char *hex)
{
    uint8_t b[512];
    return rtcp_exact(m, b, check_hex(hex, b, sizeof b));
}

/* A 12-byte RTP fixed header: V=2, byte 1 = marker|pt, seq 0x1234, ts 0x0a0b0c0d. */
static size_t rtp_header(uint8_t b[12], uint8_t m_pt, uint32_t ssrc)
{
    const uint8_t h[12] = {0x80,
                           m_pt,
                           0x12,
                           0x34,
                           0x0a,
                           0x0b,
                           0x0c,
                           0x0d,
                           (uint8_t)(ssrc >> 24),
                           (uint8_t)(ssrc >> 16),
                           (uint8_t)(ssrc >> 8),
                           (uint8_t)ssrc};
    memcpy(b, h, sizeof h);
    return sizeof h;
}

static unsigned rtp_pkt(const gw_stream_map *m, uint8_t m_pt, uint32_t ssrc)
{
    uint8_t b[12];
    return rtp_exact(m, b, rtp_header(b, m_pt, ssrc));
}

/* How many SSRC entries are taken. */
static unsigned ssrcs_used(const gw_stream_map *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < GW_SSRC_MAP; i++) {
        n += m->ssrc_stream[i] != GW_NO_STREAM;
    }
    return n;
}

/* ---- payload types ---- */

static void test_init_knows_no_payload_type_and_no_ssrc(void)
{
    gw_stream_map m;
    memset(&m, 0x5a, sizeof m);
    gw_stream_map_init(&m);
    for (unsigned pt = 0; pt < 128; pt++) {
        CHECK_EQ(m.pt_stream[pt], GW_NO_STREAM);
        CHECK_EQ(rtp_pkt(&m, (uint8_t)pt, SSRC_A), GW_NO_STREAM);
    }
    CHECK_EQ(ssrcs_used(&m), 0);
    CHECK_EQ(m.ssrc_next, 0);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0), GW_NO_STREAM); /* zeroed entries are free, not SSRC 0 */
    CHECK_EQ(gw_stream_map_ssrc(&m, SSRC_A), GW_NO_STREAM);
    CHECK_EQ(rtcp_hex(&m, "81c90007 11223344 11223344 00000000 00000000 00000000 00000000"
                          "00000000"),
             0);
}

static void test_set_pt_first_stream_listing_it_keeps_it(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    gw_stream_map_set_pt(&m, 111, 0);
    gw_stream_map_set_pt(&m, 96, 1);
    gw_stream_map_set_pt(&m, 96, 2); /* a later m-line listing 96 again: ignored */
    gw_stream_map_set_pt(&m, 111, 1);
    gw_stream_map_set_pt(&m, 97, 2);
    CHECK_EQ(m.pt_stream[96], 1);
    CHECK_EQ(m.pt_stream[111], 0);
    CHECK_EQ(m.pt_stream[97], 2);
    CHECK_EQ(rtp_hex(&m, "80 6f 0001 00000000 11223344"), 0);  /* pt 111 */
    CHECK_EQ(rtp_hex(&m, "80 60 0001 00000000 11223344"), 1);  /* pt 96 */
    CHECK_EQ(rtp_hex(&m, "80 e0 0001 00000000 11223344"), 1);  /* pt 96 with the marker bit */
    CHECK_EQ(rtp_hex(&m, "80 61 0001 00000000 11223344"), 2);  /* pt 97 */
    CHECK_EQ(rtp_hex(&m, "80 62 0001 00000000 11223344"), GW_NO_STREAM); /* pt 98 */
    /* The SSRC plays no part when the payload type is known, and nothing is learnt. */
    CHECK_EQ(ssrcs_used(&m), 0);
    /* Stream 254 is the largest there is. */
    gw_stream_map_set_pt(&m, 0, 254);
    CHECK_EQ(rtp_hex(&m, "80 80 0001 00000000 11223344"), 254); /* marker + pt 0 */
}

static void test_set_pt_ignores_out_of_range_pt_and_stream(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    gw_stream_map_set_pt(&m, 128, 1);
    gw_stream_map_set_pt(&m, 200, 1);
    gw_stream_map_set_pt(&m, 0xffffffffu, 1);
    gw_stream_map_set_pt(&m, 5, GW_NO_STREAM);
    gw_stream_map_set_pt(&m, 5, 300);
    for (unsigned pt = 0; pt < 128; pt++) {
        CHECK_EQ(m.pt_stream[pt], GW_NO_STREAM);
    }
    /* 128 is not 0 with the marker bit: pt 0 stays unknown. */
    CHECK_EQ(rtp_hex(&m, "80 80 0001 00000000 11223344"), GW_NO_STREAM);
    CHECK_EQ(rtp_hex(&m, "80 00 0001 00000000 11223344"), GW_NO_STREAM);
    /* An ignored stream number does not take the slot: the next valid one does. */
    gw_stream_map_set_pt(&m, 5, 3);
    CHECK_EQ(rtp_hex(&m, "80 05 0001 00000000 11223344"), 3);
    gw_stream_map_set_pt(&m, 127, 4);
    CHECK_EQ(rtp_hex(&m, "80 ff 0001 00000000 11223344"), 4); /* marker + pt 127 */
}

static void test_clear_pts_forgets_payload_types_but_keeps_ssrcs(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    gw_stream_map_set_pt(&m, 96, 1);
    gw_stream_map_learn(&m, SSRC_A, 2);
    CHECK_EQ(rtp_pkt(&m, 96, SSRC_A), 1);
    gw_stream_map_clear_pts(&m);
    CHECK_EQ(m.pt_stream[96], GW_NO_STREAM);
    CHECK_EQ(rtp_pkt(&m, 96, SSRC_A), 2); /* now by SSRC */
    CHECK_EQ(rtp_pkt(&m, 96, SSRC_B), GW_NO_STREAM);
    gw_stream_map_set_pt(&m, 96, 3); /* free again: a new offer may hand it to another stream */
    CHECK_EQ(rtp_pkt(&m, 96, SSRC_B), 3);
}

/* ---- RTP ---- */

static void test_rtp_falls_back_to_ssrc_when_pt_unknown(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    gw_stream_map_set_pt(&m, 96, 0);
    gw_stream_map_learn(&m, SSRC_A, 2);
    gw_stream_map_learn(&m, SSRC_B, 1);
    CHECK_EQ(rtp_hex(&m, "80 64 0001 00000000 11223344"), 2); /* pt 100, SSRC_A */
    CHECK_EQ(rtp_hex(&m, "80 e4 0001 00000000 55667788"), 1); /* pt 100 + marker, SSRC_B */
    CHECK_EQ(rtp_hex(&m, "80 64 0001 00000000 deadbeef"), GW_NO_STREAM);
    /* A known payload type wins over a known SSRC on another stream. */
    CHECK_EQ(rtp_hex(&m, "80 60 0001 00000000 11223344"), 0);
    /* Only the fixed header counts: CSRCs and an extension after it change nothing. */
    CHECK_EQ(rtp_hex(&m, "91 64 0001 00000000 11223344 55667788 bede0001 10ff0000"), 2);
    /* SSRC bytes are big-endian: the byte-swapped SSRC is another SSRC. */
    CHECK_EQ(rtp_hex(&m, "80 64 0001 00000000 44332211"), GW_NO_STREAM);
}

static void test_rtp_unknown_or_short_is_no_stream(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    gw_stream_map_set_pt(&m, 96, 1);
    gw_stream_map_learn(&m, SSRC_A, 2);
    uint8_t b[12];
    rtp_header(b, 96, SSRC_A);
    CHECK_EQ(rtp_exact(&m, b, 12), 1);
    for (size_t len = 0; len < 12; len++) {
        CHECK_EQ(rtp_exact(&m, b, len), GW_NO_STREAM);
    }
    rtp_header(b, 100, SSRC_A);
    CHECK_EQ(rtp_exact(&m, b, 12), 2);
    CHECK_EQ(rtp_exact(&m, b, 11), GW_NO_STREAM);
    CHECK_EQ(rtp_pkt(&m, 100, SSRC_X), GW_NO_STREAM);
    CHECK_EQ(gw_stream_map_rtp(&m, b, 0), GW_NO_STREAM);
}

/* ---- learning SSRCs ---- */

static void test_learn_updates_an_ssrc_in_place(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    gw_stream_map_learn(&m, SSRC_A, 1);
    gw_stream_map_learn(&m, SSRC_B, 2);
    gw_stream_map_learn(&m, SSRC_A, 3);
    CHECK_EQ(gw_stream_map_ssrc(&m, SSRC_A), 3);
    CHECK_EQ(gw_stream_map_ssrc(&m, SSRC_B), 2);
    CHECK_EQ(ssrcs_used(&m), 2);
    CHECK_EQ(m.ssrc[0], SSRC_A);
    CHECK_EQ(m.ssrc_stream[0], 3);
    CHECK_EQ(m.ssrc[1], SSRC_B);
    CHECK_EQ(m.ssrc_next, 0);
    /* Out-of-range streams are ignored: no change, no new entry. */
    gw_stream_map_learn(&m, SSRC_A, GW_NO_STREAM);
    gw_stream_map_learn(&m, SSRC_C, 1000);
    CHECK_EQ(gw_stream_map_ssrc(&m, SSRC_A), 3);
    CHECK_EQ(gw_stream_map_ssrc(&m, SSRC_C), GW_NO_STREAM);
    CHECK_EQ(ssrcs_used(&m), 2);
    /* SSRC 0 is an SSRC like any other; stream 254 the largest. */
    gw_stream_map_learn(&m, 0, 254);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0), 254);
    CHECK_EQ(ssrcs_used(&m), 3);
}

static void test_learn_fills_free_entries_in_order(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    for (unsigned i = 0; i < GW_SSRC_MAP; i++) {
        gw_stream_map_learn(&m, 0x1000u + i, i % 5);
        CHECK_EQ(ssrcs_used(&m), i + 1);
        CHECK_EQ(m.ssrc[i], 0x1000u + i);
        CHECK_EQ(m.ssrc_stream[i], i % 5);
        CHECK_EQ(m.ssrc_next, 0); /* nothing replaced yet */
    }
    for (unsigned i = 0; i < GW_SSRC_MAP; i++) {
        CHECK_EQ(gw_stream_map_ssrc(&m, 0x1000u + i), i % 5);
    }
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x1000u + GW_SSRC_MAP), GW_NO_STREAM);
}

static void test_learn_replaces_the_oldest_in_round_robin_order(void)
{
    gw_stream_map m;
    gw_stream_map_init(&m);
    for (unsigned i = 0; i < GW_SSRC_MAP; i++) {
        gw_stream_map_learn(&m, 0x1000u + i, 1);
    }
    /* The 17th SSRC takes entry 0: SSRC 0x1000 goes, all others stay. */
    gw_stream_map_learn(&m, 0x2000u, 2);
    CHECK_EQ(m.ssrc[0], 0x2000u);
    CHECK_EQ(m.ssrc_next, 1);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x2000u), 2);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x1000u), GW_NO_STREAM);
    for (unsigned i = 1; i < GW_SSRC_MAP; i++) {
        CHECK_EQ(gw_stream_map_ssrc(&m, 0x1000u + i), 1);
    }
    CHECK_EQ(ssrcs_used(&m), GW_SSRC_MAP);
    /* The 18th: SSRC 0x1001 goes. */
    gw_stream_map_learn(&m, 0x2001u, 3);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x1001u), GW_NO_STREAM);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x1002u), 1);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x2000u), 2);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x2001u), 3);
    CHECK_EQ(m.ssrc_next, 2);
    /* Learning a known SSRC again (0x1002, next in line) updates it in place and replaces
     * nothing; it stays the oldest, so the next new SSRC still takes its entry. */
    gw_stream_map_learn(&m, 0x1002u, 4);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x1002u), 4);
    CHECK_EQ(m.ssrc_next, 2);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x100fu), 1);
    gw_stream_map_learn(&m, 0x2002u, 5);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x1002u), GW_NO_STREAM);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x1003u), 1);
    CHECK_EQ(m.ssrc[2], 0x2002u);
    /* Thirteen more replace 0x1003 .. 0x100f; the one after wraps to entry 0 (0x2000). */
    for (unsigned i = 3; i < GW_SSRC_MAP; i++) {
        gw_stream_map_learn(&m, 0x2000u + i, 6);
        CHECK_EQ(gw_stream_map_ssrc(&m, 0x1000u + i), GW_NO_STREAM);
    }
    CHECK_EQ(m.ssrc_next, 0);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x2000u), 2);
    gw_stream_map_learn(&m, 0x3000u, 7);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x2000u), GW_NO_STREAM);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x2001u), 3);
    CHECK_EQ(gw_stream_map_ssrc(&m, 0x3000u), 7);
    CHECK_EQ(m.ssrc_next, 1);
    CHECK_EQ(ssrcs_used(&m), GW_SSRC_MAP);
    /* The map never names more than GW_SSRC_MAP SSRCs. */
    unsigned known = 0;
    for (uint32_t s = 0x1000u; s < 0x1000u + GW_SSRC_MAP; s++) {
        known += gw_stream_map_ssrc(&m, s) != GW_NO_STREAM;
        known += gw_stream_map_ssrc(&m, s + 0x1000u) != GW_NO_STREAM;
        known += gw_stream_map_ssrc(&m, s + 0x2000u) != GW_NO_STREAM;
    }
    CHECK_EQ(known, GW_SSRC_MAP);
}

/* ---- RTCP ---- */

/* Streams: SSRC_A on 1, SSRC_B on 2, SSRC_C on 3. */
static void three_ssrcs(gw_stream_map *m)
{
    gw_stream_map_init(m);
    gw_stream_map_learn(m, SSRC_A, 1);
    gw_stream_map_learn(m, SSRC_B, 2);
    gw_stream_map_learn(m, SSRC_C, 3);
}

static void test_rtcp_rr_report_block_wins_over_a_known_sender(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* RR, RC=1, length 7: sender SSRC_A (stream 1), report block about SSRC_B (stream 2). */
    CHECK_EQ(rtcp_hex(&m, "81c90007 11223344"
                          "55667788 00000000 00000001 00000000 00000000 00000000"),
             2);
    /* The report block's SSRC unknown: the sender decides. */
    CHECK_EQ(rtcp_hex(&m, "81c90007 11223344"
                          "deadbeef 00000000 00000001 00000000 00000000 00000000"),
             1);
    /* Only the first report block counts: the second (SSRC_C) is not looked at. */
    CHECK_EQ(rtcp_hex(&m, "82c9000d deadbeef"
                          "deadbeef 00000000 00000001 00000000 00000000 00000000"
                          "99aabbcc 00000000 00000001 00000000 00000000 00000000"),
             0);
    /* RR without report blocks: the sender, even when a known SSRC follows in the packet. */
    CHECK_EQ(rtcp_hex(&m, "80c90002 deadbeef 55667788"), 0);
    CHECK_EQ(rtcp_hex(&m, "80c90001 11223344"), 1);
    /* RC=1 but only 8 bytes: no report block to read, the sender decides. */
    CHECK_EQ(rtcp_hex(&m, "81c90001 11223344"), 1);
    CHECK_EQ(rtcp_hex(&m, "81c90001 deadbeef"), 0);
    /* RC=1, 12 bytes: the block's SSRC is read though the rest of the block is missing. */
    CHECK_EQ(rtcp_hex(&m, "81c90002 11223344 99aabbcc"), 3);
}

static void test_rtcp_sr_report_block_sits_at_offset_28(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* SR, RC=1, length 12 (52 bytes): sender SSRC_A, sender info whose NTP seconds happen to
     * equal SSRC_C, then a report block about SSRC_B at offset 28. */
    CHECK_EQ(rtcp_hex(&m, "81c8000c 11223344"
                          "99aabbcc 00000000 00000000 00000000 00000000"
                          "55667788 00000000 00000001 00000000 00000000 00000000"),
             2);
    /* Report block unknown: the sender, never the sender info. */
    CHECK_EQ(rtcp_hex(&m, "81c8000c 11223344"
                          "99aabbcc 00000000 00000000 00000000 00000000"
                          "deadbeef 00000000 00000001 00000000 00000000 00000000"),
             1);
    CHECK_EQ(rtcp_hex(&m, "81c8000c deadbeef"
                          "99aabbcc 55667788 00000000 00000000 00000000"
                          "deadbeef 00000000 00000001 00000000 00000000 00000000"),
             0);
    /* RC=1 but 28 bytes (no room for a block): the sender. */
    CHECK_EQ(rtcp_hex(&m, "81c80006 11223344"
                          "99aabbcc 55667788 00000000 00000000 00000000"),
             1);
    /* RC=1, 32 bytes: just the block's SSRC present. */
    CHECK_EQ(rtcp_hex(&m, "81c80007 11223344"
                          "00000000 00000000 00000000 00000000 00000000 99aabbcc"),
             3);
}

static void test_rtcp_sr_without_report_blocks_uses_the_sender(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* SR, RC=0, 28 bytes; known SSRCs in the sender info are not looked at. */
    CHECK_EQ(rtcp_hex(&m, "80c80006 55667788"
                          "11223344 99aabbcc 00000000 00000000 00000000"),
             2);
    CHECK_EQ(rtcp_hex(&m, "80c80006 deadbeef"
                          "11223344 99aabbcc 00000000 00000000 00000000"),
             0);
    /* RC=0 with a stray block after the sender info: still the sender. */
    CHECK_EQ(rtcp_hex(&m, "80c8000c 99aabbcc"
                          "00000000 00000000 00000000 00000000 00000000"
                          "55667788 00000000 00000001 00000000 00000000 00000000"),
             3);
}

static void test_rtcp_psfb_pli_goes_by_media_ssrc(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* PSFB (206) FMT 1 (PLI), length 2: sender, media source. */
    CHECK_EQ(rtcp_hex(&m, "81ce0002 deadbeef 55667788"), 2);
    CHECK_EQ(rtcp_hex(&m, "81ce0002 11223344 55667788"), 2); /* media beats a known sender */
    CHECK_EQ(rtcp_hex(&m, "81ce0002 11223344 deadbeef"), 1); /* media unknown: sender */
    CHECK_EQ(rtcp_hex(&m, "81ce0002 deadbeef deadbeef"), 0);
    /* FIR (FMT 4) with media source 0 and the target in the FCI: by the sender. */
    CHECK_EQ(rtcp_hex(&m, "84ce0004 99aabbcc 00000000 55667788 01000000"), 3);
    /* Feedback shorter than 12 bytes has no media source: the sender. */
    CHECK_EQ(rtcp_hex(&m, "81ce0001 11223344"), 1);
}

static void test_rtcp_rtpfb_nack_goes_by_media_ssrc(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* RTPFB (205) FMT 1 (generic NACK), length 3: sender, media source, PID/BLP. */
    CHECK_EQ(rtcp_hex(&m, "81cd0003 deadbeef 99aabbcc 00640001"), 3);
    CHECK_EQ(rtcp_hex(&m, "81cd0003 11223344 99aabbcc 00640001"), 3);
    CHECK_EQ(rtcp_hex(&m, "81cd0003 55667788 deadbeef 00640001"), 2);
    /* Transport-wide CC (FMT 15) is RTPFB too. */
    CHECK_EQ(rtcp_hex(&m, "8fcd0004 deadbeef 11223344 00010002 00000000"), 1);
}

static void test_rtcp_compound_rr_sdes_pli_goes_by_the_pli(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* RR (sender unknown, RC=0) + SDES (chunk SSRC unknown, CNAME "abcdefghi") + PLI about
     * SSRC_B: the walk passes the first two and the PLI decides. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 deadbeef"
                          "81ca0004 deadbeef 0109616263646566 67686900"
                          "81ce0002 deadbeef 55667788"),
             2);
    /* The same with an RR whose report block is unknown too. */
    CHECK_EQ(rtcp_hex(&m, "81c90007 deadbeef"
                          "deadbeef 00000000 00000001 00000000 00000000 00000000"
                          "81ca0004 deadbeef 0109616263646566 67686900"
                          "81ce0002 deadbeef 55667788"),
             2);
    /* The first packet that names a known SSRC decides: a known RR sender beats the PLI. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 99aabbcc"
                          "81ca0004 deadbeef 0109616263646566 67686900"
                          "81ce0002 deadbeef 55667788"),
             3);
    /* So does an SDES chunk's SSRC, read as the packet's sender. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 deadbeef"
                          "81ca0004 11223344 0109616263646566 67686900"
                          "81ce0002 deadbeef 55667788"),
             1);
    /* Nothing known anywhere: 0. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 deadbeef"
                          "81ca0004 deadbeef 0109616263646566 67686900"
                          "81ce0002 deadbeef deadbeef"),
             0);
}

static void test_rtcp_walk_stops_at_a_packet_running_past_the_buffer(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* RR (unknown) + a PLI about SSRC_B whose length says 16 bytes where 12 are left. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 deadbeef 81ce0003 deadbeef 55667788"), 0);
    /* Length 0xffff: likewise. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 deadbeef 81ceffff deadbeef 55667788"), 0);
    /* The first packet's answer stands whatever follows. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 11223344 81ceffff deadbeef 55667788"), 1);
    /* The first packet itself too long: 0, though the sender is known. */
    CHECK_EQ(rtcp_hex(&m, "80c90002 11223344"), 0);
    /* A complete PLI with 1..7 stray bytes after it: the PLI decides, the tail is left. */
    uint8_t b[32];
    size_t n = check_hex("80c90001 deadbeef 81ce0002 deadbeef 55667788 81ce0002 99aabb", b,
                         sizeof b);
    for (size_t len = 20; len <= n; len++) {
        CHECK_EQ(rtcp_exact(&m, b, len), 2);
    }
    /* Cut short inside the PLI: only the RR is whole, and it names nobody known. */
    for (size_t len = 8; len < 20; len++) {
        CHECK_EQ(rtcp_exact(&m, b, len), 0);
    }
}

static void test_rtcp_buffers_under_8_bytes_give_0(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    uint8_t b[8];
    check_hex("80c90001 11223344", b, sizeof b);
    CHECK_EQ(rtcp_exact(&m, b, 8), 1);
    for (size_t len = 0; len < 8; len++) {
        CHECK_EQ(rtcp_exact(&m, b, len), 0);
    }
    CHECK_EQ(gw_stream_map_rtcp(&m, b, 0), 0);
}

static void test_rtcp_zero_length_packet_in_a_compound_is_walked_over(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* A 4-byte packet (length field 0), then a PLI about SSRC_C. */
    CHECK_EQ(rtcp_hex(&m, "80c90000 81ce0002 deadbeef 99aabbcc"), 3);
    /* Two of them, then an RR from SSRC_A. */
    CHECK_EQ(rtcp_hex(&m, "80c90000 80ca0000 80c90001 11223344"), 1);
    /* One between an unknown RR and a NACK about SSRC_B. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 deadbeef 80cb0000 81cd0003 deadbeef 55667788 00010000"),
             2);
    /* A 4-byte packet has no sender: the next packet's header, which would read as SSRC
     * 0x81ce0002 (learnt on stream 3 here), is not taken for one; the PLI decides. */
    gw_stream_map_learn(&m, 0x81ce0002u, 3);
    CHECK_EQ(rtcp_hex(&m, "80c90000 81ce0002 deadbeef 55667788"), 2);
    /* Trailing: a 4-byte packet ends the buffer; nothing to read in it. */
    CHECK_EQ(rtcp_hex(&m, "80c90001 deadbeef 80c90000"), 0);
}

static void test_rtcp_other_packet_types_go_by_the_sender(void)
{
    gw_stream_map m;
    three_ssrcs(&m);
    /* BYE (203) from SSRC_B; APP (204) from SSRC_C; XR (207) from SSRC_A. */
    CHECK_EQ(rtcp_hex(&m, "81cb0001 55667788"), 2);
    CHECK_EQ(rtcp_hex(&m, "80cc0002 99aabbcc 6e616d65"), 3);
    CHECK_EQ(rtcp_hex(&m, "80cf0004 11223344 04000002 00000000 00000000"), 1);
    /* The SSRC after a BYE's first is not looked at. */
    CHECK_EQ(rtcp_hex(&m, "82cb0002 deadbeef 55667788"), 0);
}

RUN_TESTS(TEST(test_init_knows_no_payload_type_and_no_ssrc),
          TEST(test_set_pt_first_stream_listing_it_keeps_it),
          TEST(test_set_pt_ignores_out_of_range_pt_and_stream),
          TEST(test_clear_pts_forgets_payload_types_but_keeps_ssrcs),
          TEST(test_rtp_falls_back_to_ssrc_when_pt_unknown),
          TEST(test_rtp_unknown_or_short_is_no_stream),
          TEST(test_learn_updates_an_ssrc_in_place),
          TEST(test_learn_fills_free_entries_in_order),
          TEST(test_learn_replaces_the_oldest_in_round_robin_order),
          TEST(test_rtcp_rr_report_block_wins_over_a_known_sender),
          TEST(test_rtcp_sr_report_block_sits_at_offset_28),
          TEST(test_rtcp_sr_without_report_blocks_uses_the_sender),
          TEST(test_rtcp_psfb_pli_goes_by_media_ssrc),
          TEST(test_rtcp_rtpfb_nack_goes_by_media_ssrc),
          TEST(test_rtcp_compound_rr_sdes_pli_goes_by_the_pli),
          TEST(test_rtcp_walk_stops_at_a_packet_running_past_the_buffer),
          TEST(test_rtcp_buffers_under_8_bytes_give_0),
          TEST(test_rtcp_zero_length_packet_in_a_compound_is_walked_over),
          TEST(test_rtcp_other_packet_types_go_by_the_sender))
