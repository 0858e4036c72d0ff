/* ng message layer: request parsing (dict and rtpp-flags forms), warnings, errors,
 * byte-exact replies and the retransmission cache. Requests are assembled here with
 * snprintf, independently of the bencode writer under test. */
#include "../harness/check.h"

#include "ng.h"

static dsrtpd_ben_node nodes[DSRTPD_BEN_MAX_NODES];

/* ---- a tiny independent request builder ---- */

typedef struct msgbuf {
    char b[8192];
    size_t n;
} msgbuf;

static void put(msgbuf *m, const char *s)
{
    size_t l = strlen(s);
    if (l >= sizeof m->b - m->n) {
        abort();
    }
    memcpy(m->b + m->n, s, l);
    m->n += l;
    m->b[m->n] = '\0';
}

/* Appends s as a bencoded string. */
static void bs(msgbuf *m, const char *s)
{
    char len[24];
    snprintf(len, sizeof len, "%zu:", strlen(s));
    put(m, len);
    put(m, s);
}

static void kv(msgbuf *m, const char *k, const char *v)
{
    bs(m, k);
    bs(m, v);
}

static dsrtp_err parse(const msgbuf *m, dsrtpd_ng_msg *msg, const char **reason)
{
    return dsrtpd_ng_parse((const uint8_t *)m->b, m->n, nodes, DSRTPD_BEN_MAX_NODES, msg,
                           reason);
}

static dsrtp_err parse_cstr(const char *s, dsrtpd_ng_msg *msg, const char **reason)
{
    return dsrtpd_ng_parse((const uint8_t *)s, strlen(s), nodes, DSRTPD_BEN_MAX_NODES, msg,
                           reason);
}

static bool str_is(dsrtpd_ng_str s, const char *want)
{
    return s.len == strlen(want) && (s.len == 0 || memcmp(s.p, want, s.len) == 0);
}

static dsrtpd_ng_str ng_s(const char *s)
{
    return (dsrtpd_ng_str){(const uint8_t *)s, strlen(s)};
}

static const char webrtc_sdp[] =
    "v=0\r\n"
    "o=- 7310624190183052218 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS stream0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 2122260223 192.0.2.10 50712 typ host generation 0\r\n"
    "a=ice-ufrag:Qx7c\r\n"
    "a=ice-pwd:testtesttesttesttesttest\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3C:"
    "4D:11:9F:6C:E0:44:10:4E:3F:73:2C\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:1001 cname:wxyz\r\n";

/* What Kamailio's rtpengine_offer() sends for a WebRTC caller bridged to a plain trunk. */
static void kamailio_offer(msgbuf *m, bool with_sdp, bool with_call_id)
{
    m->n = 0;
    put(m, "5832_1_3 d");
    if (with_sdp) {
        kv(m, "sdp", webrtc_sdp);
    }
    kv(m, "ICE", "remove");
    kv(m, "DTLS", "off");
    bs(m, "flags");
    put(m, "l");
    bs(m, "trust-address");
    bs(m, "loop-protect");
    bs(m, "generate-mid");
    put(m, "e");
    bs(m, "replace");
    put(m, "l");
    bs(m, "origin");
    bs(m, "session-connection");
    put(m, "e");
    bs(m, "rtcp-mux");
    put(m, "l");
    bs(m, "demux");
    put(m, "e");
    kv(m, "transport-protocol", "RTP/AVP");
    if (with_call_id) {
        kv(m, "call-id", "a84b4c76e66710@pc33.example.com");
    }
    bs(m, "received-from");
    put(m, "l");
    bs(m, "IP4");
    bs(m, "198.51.100.7");
    put(m, "e");
    kv(m, "from-tag", "1928301774");
    kv(m, "via-branch", "z9hG4bK776asdhds");
    bs(m, "supports");
    put(m, "l");
    bs(m, "load limit");
    put(m, "e");
    kv(m, "command", "offer");
    put(m, "e");
}

static void test_ng_parse_reads_a_kamailio_webrtc_offer(void)
{
    msgbuf m;
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    kamailio_offer(&m, true, true);
    CHECK_OK(parse(&m, &msg, &reason));
    CHECK(strcmp(reason, "ok") == 0);
    CHECK(str_is(msg.cookie, "5832_1_3"));
    CHECK_EQ(msg.cmd, DSRTPD_NG_CMD_OFFER);
    CHECK(str_is(msg.command, "offer"));
    CHECK(str_is(msg.call_id, "a84b4c76e66710@pc33.example.com"));
    CHECK(str_is(msg.from_tag, "1928301774"));
    CHECK_EQ(msg.to_tag.len, 0);
    CHECK(str_is(msg.via_branch, "z9hG4bK776asdhds"));
    CHECK(str_is(msg.sdp, webrtc_sdp));
    CHECK(str_is(msg.received_from[0], "IP4"));
    CHECK(str_is(msg.received_from[1], "198.51.100.7"));
    CHECK_EQ(msg.transport, DSRTPD_NG_PROTO_RTP_AVP);
    CHECK_EQ(msg.ice, DSRTPD_NG_ICE_REMOVE);
    CHECK_EQ(msg.dtls, DSRTPD_NG_DTLS_OFF);
    CHECK_EQ(msg.rtcp_mux, DSRTPD_NG_RTCPMUX_DEMUX);
    CHECK_EQ(msg.replace, DSRTPD_NG_REPLACE_ORIGIN | DSRTPD_NG_REPLACE_SESSION_CONNECTION);
    CHECK_EQ(msg.flags, DSRTPD_NG_FLAG_TRUST_ADDRESS | DSRTPD_NG_FLAG_LOOP_PROTECT |
                            DSRTPD_NG_FLAG_GENERATE_MID);
    CHECK_EQ(msg.n_warnings, 0);
    CHECK_EQ(msg.limit, -1);
    CHECK(msg.dict != NULL);
    CHECK(dsrtpd_ben_dict_get(msg.dict, "supports") != NULL);
}

static void test_ng_parse_rejects_an_offer_without_sdp(void)
{
    msgbuf m;
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    kamailio_offer(&m, false, true);
    CHECK_ERR(parse(&m, &msg, &reason), DSRTP_ERR_MALFORMED);
    CHECK(strcmp(reason, "missing sdp") == 0);
    CHECK(str_is(msg.cookie, "5832_1_3")); /* so the daemon can answer with an error */
}

static void test_ng_parse_rejects_an_offer_without_call_id(void)
{
    msgbuf m;
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    kamailio_offer(&m, true, false);
    CHECK_ERR(parse(&m, &msg, &reason), DSRTP_ERR_MALFORMED);
    CHECK(strcmp(reason, "missing call-id") == 0);
}

static void test_ng_parse_rejects_the_offer_truncated_at_every_byte(void)
{
    msgbuf m;
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    kamailio_offer(&m, true, true);
    for (size_t cut = 0; cut < m.n; cut++) {
        dsrtp_err err = dsrtpd_ng_parse((const uint8_t *)m.b, cut, nodes,
                                        DSRTPD_BEN_MAX_NODES, &msg, &reason);
        CHECK(err == DSRTP_ERR_MALFORMED);
        CHECK(reason != NULL && strcmp(reason, "ok") != 0);
    }
}

static void test_ng_parse_reads_an_answer_with_to_tag(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_OK(parse_cstr("c1 d7:command6:answer7:call-id1:c8:from-tag1:f6:to-tag1:t3:sdp3:v=0e",
                        &msg, &reason));
    CHECK_EQ(msg.cmd, DSRTPD_NG_CMD_ANSWER);
    CHECK(str_is(msg.to_tag, "t"));
}

static void test_ng_parse_rejects_an_answer_without_to_tag(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_ERR(parse_cstr("c1 d7:command6:answer7:call-id1:c8:from-tag1:f3:sdp3:v=0e", &msg,
                         &reason),
              DSRTP_ERR_MALFORMED);
    CHECK(strcmp(reason, "missing to-tag") == 0);
}

static void test_ng_parse_reads_every_simple_command(void)
{
    static const struct {
        const char *req;
        dsrtpd_ng_cmd cmd;
    } cases[] = {
        {"p d7:command4:pinge", DSRTPD_NG_CMD_PING},
        {"d d7:command6:delete7:call-id1:c8:from-tag1:fe", DSRTPD_NG_CMD_DELETE},
        {"q d7:command5:query7:call-id1:ce", DSRTPD_NG_CMD_QUERY},
        {"l d7:command4:list5:limiti32ee", DSRTPD_NG_CMD_LIST},
        {"s d7:command10:statisticse", DSRTPD_NG_CMD_STATISTICS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsrtpd_ng_msg msg;
        const char *reason = NULL;
        CHECK_OK(parse_cstr(cases[i].req, &msg, &reason));
        CHECK_EQ(msg.cmd, cases[i].cmd);
        CHECK(strcmp(dsrtpd_ng_cmd_name(msg.cmd), "unknown") != 0);
        CHECK_EQ(msg.n_warnings, 0);
    }
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_OK(parse_cstr("l d7:command4:list5:limiti32ee", &msg, &reason));
    CHECK_EQ(msg.limit, 32);
}

static void test_ng_parse_rejects_delete_and_query_without_call_id(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_ERR(parse_cstr("d d7:command6:deletee", &msg, &reason), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse_cstr("q d7:command5:query7:call-id0:e", &msg, &reason),
              DSRTP_ERR_MALFORMED);
    CHECK(strcmp(reason, "missing call-id") == 0);
}

static void test_ng_parse_rejects_unknown_and_missing_commands(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_ERR(parse_cstr("u1 d7:command15:start recordinge", &msg, &reason),
              DSRTP_ERR_UNSUPPORTED);
    CHECK(strcmp(reason, "unknown command") == 0);
    CHECK_EQ(msg.cmd, DSRTPD_NG_CMD_UNKNOWN);
    CHECK(str_is(msg.cookie, "u1"));
    CHECK_ERR(parse_cstr("u2 d7:command4:PINGe", &msg, &reason), DSRTP_ERR_UNSUPPORTED);
    CHECK_ERR(parse_cstr("u3 d7:call-id1:ce", &msg, &reason), DSRTP_ERR_MALFORMED);
    CHECK(strcmp(reason, "missing command") == 0);
    CHECK_ERR(parse_cstr("u4 d7:commandi1ee", &msg, &reason), DSRTP_ERR_MALFORMED);
    CHECK(strcmp(reason, "command is not a string") == 0);
}

static void test_ng_parse_accepts_a_64_byte_cookie_and_a_trailing_newline(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    char req[128];
    memset(req, 'k', 64);
    strcpy(req + 64, " d7:command4:pinge\r\n");
    CHECK_OK(parse_cstr(req, &msg, &reason));
    CHECK_EQ(msg.cookie.len, 64);
}

static void test_ng_parse_rejects_bad_cookies(void)
{
    static const char *const bad[] = {
        "d7:command4:pinge",        /* no cookie */
        " d7:command4:pinge",       /* empty cookie */
        "ab\tc d7:command4:pinge",  /* control byte */
        "ab\x80 d7:command4:pinge", /* not ASCII */
        "abc",                      /* no space */
        "abc ",                     /* no dictionary */
        "abc \r\n",                 /* no dictionary either */
    };
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(parse_cstr(bad[i], &msg, &reason), DSRTP_ERR_MALFORMED);
    }
    char req[128];
    memset(req, 'k', 65);
    strcpy(req + 65, " d7:command4:pinge");
    CHECK_ERR(parse_cstr(req, &msg, &reason), DSRTP_ERR_MALFORMED);
    CHECK_EQ(msg.cookie.len, 0); /* nothing to answer to: the daemon drops it */
    CHECK(strcmp(reason, "missing or invalid cookie") == 0);
}

static void test_ng_parse_rejects_bodies_that_are_not_bencoded_dicts(void)
{
    static const struct {
        const char *req;
        const char *reason;
    } bad[] = {
        {"c l7:command4:pinge", "request is not a dictionary"},
        {"c 4:ping", "request is not a dictionary"},
        {"c d7:command4:ping", "malformed bencode"},
        {"c d7:command4:pingee", "malformed bencode"},
        {"c {\"command\":\"ping\"}", "JSON requests are not supported"},
        {"c  d7:command4:pinge", "malformed bencode"},
    };
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(parse_cstr(bad[i].req, &msg, &reason), DSRTP_ERR_MALFORMED);
        CHECK(strcmp(reason, bad[i].reason) == 0);
        CHECK(str_is(msg.cookie, "c"));
    }
}

static void test_ng_parse_rejects_null_arguments(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_ERR(dsrtpd_ng_parse(NULL, 4, nodes, 4, &msg, &reason), DSRTP_ERR_INVALID_ARG);
    CHECK(reason != NULL);
    CHECK_ERR(dsrtpd_ng_parse((const uint8_t *)"c d7:command4:pinge", 19, nodes, 4, &msg,
                              NULL),
              DSRTP_ERR_INVALID_ARG);
}

static const char rtpp_form[] =
    "ICE=remove transport-protocol=RTP/AVP DTLS=off replace-origin "
    "replace-session-connection rtcp-mux-demux SDES-off trust-address loop-protect "
    "generate-mid direction=pub direction=priv via-branch=z9hG4bK1 label=caller call-id=cid";

static void test_ng_rtpp_flags_string_equals_the_dict_form(void)
{
    msgbuf a;
    msgbuf b;
    a.n = 0;
    b.n = 0;
    put(&a, "c1 d");
    kv(&a, "command", "offer");
    kv(&a, "call-id", "cid");
    kv(&a, "from-tag", "ft");
    kv(&a, "sdp", "v=0\r\n");
    kv(&a, "rtpp_flags", rtpp_form); /* the spelling Kamailio sends */
    put(&a, "e");

    put(&b, "c1 d");
    kv(&b, "command", "offer");
    kv(&b, "call-id", "cid");
    kv(&b, "from-tag", "ft");
    kv(&b, "sdp", "v=0\r\n");
    kv(&b, "ICE", "remove");
    kv(&b, "transport-protocol", "RTP/AVP");
    kv(&b, "DTLS", "off");
    bs(&b, "replace");
    put(&b, "l");
    bs(&b, "origin");
    bs(&b, "session connection");
    put(&b, "e");
    bs(&b, "rtcp-mux");
    put(&b, "l");
    bs(&b, "demux");
    put(&b, "e");
    bs(&b, "SDES");
    put(&b, "l");
    bs(&b, "off");
    put(&b, "e");
    bs(&b, "flags");
    put(&b, "l");
    bs(&b, "trust address");
    bs(&b, "loop-protect");
    bs(&b, "generate_mid");
    put(&b, "e");
    bs(&b, "direction");
    put(&b, "l");
    bs(&b, "pub");
    bs(&b, "priv");
    put(&b, "e");
    kv(&b, "via-branch", "z9hG4bK1");
    kv(&b, "label", "caller");
    put(&b, "e");

    static dsrtpd_ben_node nodes_b[DSRTPD_BEN_MAX_NODES];
    dsrtpd_ng_msg ma;
    dsrtpd_ng_msg mb;
    const char *reason = NULL;
    CHECK_OK(parse(&a, &ma, &reason));
    CHECK_OK(dsrtpd_ng_parse((const uint8_t *)b.b, b.n, nodes_b, DSRTPD_BEN_MAX_NODES, &mb,
                             &reason));
    CHECK_EQ(ma.n_warnings, 0);
    CHECK_EQ(mb.n_warnings, 0);
    CHECK_EQ(ma.transport, mb.transport);
    CHECK_EQ(ma.transport, DSRTPD_NG_PROTO_RTP_AVP);
    CHECK_EQ(ma.ice, mb.ice);
    CHECK_EQ(ma.dtls, mb.dtls);
    CHECK_EQ(ma.dtls, DSRTPD_NG_DTLS_OFF);
    CHECK_EQ(ma.sdes_off, mb.sdes_off);
    CHECK(ma.sdes_off);
    CHECK_EQ(ma.rtcp_mux, mb.rtcp_mux);
    CHECK_EQ(ma.replace, mb.replace);
    CHECK_EQ(ma.replace, DSRTPD_NG_REPLACE_ORIGIN | DSRTPD_NG_REPLACE_SESSION_CONNECTION);
    CHECK_EQ(ma.flags, mb.flags);
    CHECK_EQ(ma.n_direction, 2);
    CHECK_EQ(mb.n_direction, 2);
    CHECK(str_is(ma.direction[0], "pub") && str_is(mb.direction[0], "pub"));
    CHECK(str_is(ma.direction[1], "priv") && str_is(mb.direction[1], "priv"));
    CHECK(str_is(ma.via_branch, "z9hG4bK1") && str_is(mb.via_branch, "z9hG4bK1"));
    CHECK(str_is(ma.label, "caller") && str_is(mb.label, "caller"));
}

static void test_ng_rtpp_flags_reads_bracket_lists_and_sdes_suites(void)
{
    dsrtpd_ng_msg msg;
    memset(&msg, 0, sizeof msg);
    static const char s[] = "  replace=[origin session-connection]  "
                            "SDES-no-AES_CM_128_HMAC_SHA1_32 SDES=only-AEAD_AES_256_GCM rtcp-mux=[offer require] RTP/SAVPF "
                            "delete-delay=30\t address-family=IP6";
    CHECK_OK(dsrtpd_ng_apply_rtpp_flags(&msg, (const uint8_t *)s, strlen(s)));
    CHECK_EQ(msg.n_warnings, 0);
    CHECK_EQ(msg.replace, DSRTPD_NG_REPLACE_ORIGIN | DSRTPD_NG_REPLACE_SESSION_CONNECTION);
    CHECK_EQ(msg.sdes_no, 1u << DSRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_EQ(msg.sdes_only, 1u << DSRTP_AEAD_AES_256_GCM);
    CHECK_EQ(msg.rtcp_mux, DSRTPD_NG_RTCPMUX_OFFER | DSRTPD_NG_RTCPMUX_REQUIRE);
    CHECK_EQ(msg.transport, DSRTPD_NG_PROTO_RTP_SAVPF);
    CHECK_EQ(msg.delete_delay, 30);
    CHECK(str_is(msg.address_family, "IP6"));
}

static void test_ng_rtpp_flags_warns_on_what_it_cannot_map(void)
{
    dsrtpd_ng_msg msg;
    memset(&msg, 0, sizeof msg);
    static const char s[] = "replace=[origin bogus] codec=[transcode=[PCMA]] SDES-no-F8 "
                            "ICE=lite frobnicate rtcp-mux=[x unbalanced=[a";
    CHECK_OK(dsrtpd_ng_apply_rtpp_flags(&msg, (const uint8_t *)s, strlen(s)));
    CHECK_EQ(msg.replace, DSRTPD_NG_REPLACE_ORIGIN);
    CHECK_EQ(msg.n_warnings, 6);
    CHECK(strcmp(msg.warnings[0].what, "unknown replace option") == 0);
    CHECK(str_is(msg.warnings[0].item, "bogus"));
    CHECK(strcmp(msg.warnings[1].what, "unsupported rtpp-flags option") == 0);
    CHECK(str_is(msg.warnings[1].item, "codec=[transcode=[PCMA]]"));
    CHECK(strcmp(msg.warnings[2].what, "unknown SDES suite") == 0);
    CHECK(strcmp(msg.warnings[3].what, "unsupported ICE option") == 0);
    CHECK(strcmp(msg.warnings[4].what, "unknown flag") == 0);
    CHECK(str_is(msg.warnings[4].item, "frobnicate"));
    CHECK(strcmp(msg.warnings[5].what, "unbalanced rtpp-flags brackets") == 0);
    CHECK_ERR(dsrtpd_ng_apply_rtpp_flags(NULL, (const uint8_t *)s, 1), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtpd_ng_apply_rtpp_flags(&msg, NULL, 1), DSRTP_ERR_INVALID_ARG);
}

static void test_ng_parse_turns_unknown_keys_and_flags_into_warnings(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_OK(parse_cstr("w d7:command4:ping5:flagsl13:trust-address8:teleport"
                        "i7ee8:mystery!i1e9:transport3:TCP18:transport-protocol6:RTP/XYe",
                        &msg, &reason));
    CHECK_EQ(msg.flags, DSRTPD_NG_FLAG_TRUST_ADDRESS);
    CHECK_EQ(msg.n_warnings, 5);
    uint8_t out[256];
    size_t len = 0;
    CHECK_OK(dsrtpd_ng_format_warnings(&msg, out, sizeof out, &len));
    static const char want[] = "unknown flag: teleport; non-string list item in: flags; "
                               "unknown key: mystery!; unknown key: transport; "
                               "unknown transport-protocol: RTP/XY";
    CHECK_EQ(len, sizeof want - 1);
    CHECK_MEM(out, want, len);
}

static void test_ng_parse_accepts_known_keys_without_warnings(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_OK(parse_cstr("w d7:command4:ping14:address family3:IP413:media address9:192.0.2.1"
                        "12:delete delayi5e3:TOSi184e8:supportsl10:load limitee",
                        &msg, &reason));
    CHECK_EQ(msg.n_warnings, 0);
    CHECK(str_is(msg.address_family, "IP4"));
    CHECK(str_is(msg.media_address, "192.0.2.1"));
    CHECK_EQ(msg.delete_delay, 5);
    uint8_t out[8];
    size_t len = 99;
    CHECK_OK(dsrtpd_ng_format_warnings(&msg, out, sizeof out, &len));
    CHECK_EQ(len, 0);
}

static void test_ng_parse_reads_a_delete_with_delay_tags_and_the_fatal_flag(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    /* What Kamailio sends for a BYE from the callee, with rtpengine's older string form. */
    CHECK_OK(parse_cstr("k d7:command6:delete7:call-id1:c8:from-tag2:tb6:to-tag2:fa"
                        "10:via-branch5:z9hG412:delete-delay2:305:flagsl5:fatalee",
                        &msg, &reason));
    CHECK_EQ(msg.cmd, DSRTPD_NG_CMD_DELETE);
    CHECK_EQ(msg.n_warnings, 0);
    CHECK_EQ(msg.delete_delay, 30);
    CHECK(str_is(msg.to_tag, "fa"));
    CHECK(str_is(msg.via_branch, "z9hG4"));
    CHECK((msg.flags & DSRTPD_NG_FLAG_FATAL) != 0);
    CHECK_OK(parse_cstr("k d7:command6:delete7:call-id1:c12:delete-delayi0ee", &msg, &reason));
    CHECK_EQ(msg.delete_delay, 0);
    CHECK_OK(parse_cstr("k d7:command6:delete7:call-id1:ce", &msg, &reason));
    CHECK_EQ(msg.delete_delay, -1); /* absent: the daemon's --delete-delay */
}

static void test_ng_parse_refuses_a_delete_delay_that_is_not_a_count(void)
{
    const char *bad[] = {
        "k d7:command6:delete7:call-id1:c12:delete-delay2:-1e",
        "k d7:command6:delete7:call-id1:c12:delete-delay3:1s0e",
        "k d7:command6:delete7:call-id1:c12:delete-delay0:e",
        "k d7:command6:delete7:call-id1:c12:delete-delay10:1234567890e",
        "k d7:command6:delete7:call-id1:c12:delete-delayi-5ee",
        "k d7:command6:delete7:call-id1:c12:delete-delayli1eee",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsrtpd_ng_msg msg;
        const char *reason = NULL;
        CHECK_OK(parse_cstr(bad[i], &msg, &reason));
        CHECK_EQ(msg.delete_delay, -1);
        CHECK_EQ(msg.n_warnings, 1);
        CHECK(strcmp(msg.warnings[0].what, "wrong type for key") == 0);
    }
}

static void test_ng_parse_keeps_the_first_of_duplicate_keys_and_warns(void)
{
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_OK(parse_cstr("w d7:command4:ping3:ICE6:remove3:ICE5:forcee", &msg, &reason));
    CHECK_EQ(msg.ice, DSRTPD_NG_ICE_REMOVE);
    CHECK_EQ(msg.n_warnings, 1);
    CHECK(strcmp(msg.warnings[0].what, "duplicate key ignored") == 0);
}

static void test_ng_format_warnings_caps_the_count_and_quotes_safely(void)
{
    msgbuf m;
    m.n = 0;
    put(&m, "w d");
    kv(&m, "command", "ping");
    bs(&m, "flags");
    put(&m, "l");
    for (int i = 0; i < 20; i++) {
        char f[16];
        snprintf(f, sizeof f, "bad%d", i);
        bs(&m, f);
    }
    put(&m, "e");
    put(&m, "e");
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    CHECK_OK(parse(&m, &msg, &reason));
    CHECK_EQ(msg.n_warnings, DSRTPD_NG_MAX_WARNINGS);
    CHECK_EQ(msg.warnings_dropped, 4);
    uint8_t out[1024];
    size_t len = 0;
    CHECK_OK(dsrtpd_ng_format_warnings(&msg, out, sizeof out, &len));
    static const char tail[] = "unknown flag: bad15; 4 more";
    CHECK(len > sizeof tail);
    CHECK_MEM(out + len - (sizeof tail - 1), tail, sizeof tail - 1);
    /* Too small: size reported, buffer untouched. */
    uint8_t small[8];
    memset(small, 0x5A, sizeof small);
    size_t need = 0;
    CHECK_ERR(dsrtpd_ng_format_warnings(&msg, small, sizeof small, &need),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(need, len);
    CHECK_EQ(small[0], 0x5A);

    /* Control bytes are masked, long items cut. */
    CHECK_OK(parse_cstr("w d7:command4:ping5:flagsl3:a\nbee", &msg, &reason));
    CHECK_OK(dsrtpd_ng_format_warnings(&msg, out, sizeof out, &len));
    CHECK_EQ(len, strlen("unknown flag: a?b"));
    CHECK_MEM(out, "unknown flag: a?b", len);
}

/* ---- replies ---- */

static void test_ng_reply_pong_is_byte_exact(void)
{
    uint8_t out[64];
    size_t len = 0;
    CHECK_OK(dsrtpd_ng_reply_pong(out, sizeof out, ng_s("5832_1_3"), &len));
    static const char want[] = "5832_1_3 d6:result4:ponge";
    CHECK_EQ(len, sizeof want - 1);
    CHECK_MEM(out, want, len);
}

static void test_ng_reply_ok_with_sdp_and_warning_is_byte_exact(void)
{
    uint8_t out[128];
    size_t len = 0;
    CHECK_OK(dsrtpd_ng_reply_ok(out, sizeof out, ng_s("c7"), ng_s("v=0\r\n"),
                                ng_s("unknown flag: x"), &len));
    static const char want[] = "c7 d6:result2:ok3:sdp5:v=0\r\n7:warning15:unknown flag: xe";
    CHECK_EQ(len, sizeof want - 1);
    CHECK_MEM(out, want, len);
    CHECK_OK(dsrtpd_ng_reply_ok(out, sizeof out, ng_s("c7"), ng_s(""), ng_s(""), &len));
    CHECK_EQ(len, strlen("c7 d6:result2:oke"));
    CHECK_MEM(out, "c7 d6:result2:oke", len);
}

static void test_ng_reply_error_is_byte_exact(void)
{
    uint8_t out[128];
    size_t len = 0;
    CHECK_OK(dsrtpd_ng_reply_error(out, sizeof out, ng_s("x"), "missing sdp", &len));
    static const char want[] = "x d6:result5:error12:error-reason11:missing sdpe";
    CHECK_EQ(len, sizeof want - 1);
    CHECK_MEM(out, want, len);
    CHECK_ERR(dsrtpd_ng_reply_error(out, sizeof out, ng_s("x"), NULL, &len),
              DSRTP_ERR_INVALID_ARG);
}

static void test_ng_reply_list_is_byte_exact(void)
{
    uint8_t out[128];
    size_t len = 0;
    dsrtpd_ng_str ids[2] = {ng_s("call-a"), ng_s("b")};
    CHECK_OK(dsrtpd_ng_reply_list(out, sizeof out, ng_s("L"), ids, 2, &len));
    static const char want[] = "L d6:result2:ok5:callsl6:call-a1:bee";
    CHECK_EQ(len, sizeof want - 1);
    CHECK_MEM(out, want, len);
    CHECK_OK(dsrtpd_ng_reply_list(out, sizeof out, ng_s("L"), NULL, 0, &len));
    CHECK_MEM(out, "L d6:result2:ok5:callslee", len);
}

static void test_ng_reply_begin_end_carries_daemon_keys(void)
{
    uint8_t out[128];
    size_t len = 0;
    dsrtpd_ben_wr w;
    dsrtpd_ng_reply_begin(&w, out, sizeof out, ng_s("S"), "ok");
    dsrtpd_ben_wr_cstr(&w, "statistics");
    dsrtpd_ben_wr_dict(&w);
    dsrtpd_ben_wr_kv_int(&w, "current sessions", 3);
    dsrtpd_ben_wr_end(&w);
    CHECK_OK(dsrtpd_ng_reply_end(&w, &len));
    static const char want[] = "S d6:result2:ok10:statisticsd16:current sessionsi3eee";
    CHECK_EQ(len, sizeof want - 1);
    CHECK_MEM(out, want, len);
    /* The reply parses back as a dict. */
    const dsrtpd_ben_node *root = NULL;
    CHECK_OK(dsrtpd_ben_parse(out + 2, len - 2, nodes, DSRTPD_BEN_MAX_NODES, &root, NULL));
    CHECK(dsrtpd_ben_str_eq(dsrtpd_ben_dict_get(root, "result"), "ok"));
}

static void test_ng_reply_refuses_small_buffers_and_empty_cookies(void)
{
    uint8_t out[16];
    memset(out, 0x77, sizeof out);
    size_t len = 0;
    CHECK_ERR(dsrtpd_ng_reply_pong(out, 10, ng_s("5832_1_3"), &len),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, strlen("5832_1_3 d6:result4:ponge"));
    for (size_t i = 0; i < sizeof out; i++) {
        CHECK_EQ(out[i], 0x77);
    }
    CHECK_ERR(dsrtpd_ng_reply_pong(out, sizeof out, ng_s(""), &len), DSRTP_ERR_INVALID_ARG);
    dsrtpd_ben_wr w;
    dsrtpd_ng_reply_begin(&w, out, sizeof out, ng_s("S"), "ok");
    dsrtpd_ben_wr_list(&w); /* left open */
    CHECK_ERR(dsrtpd_ng_reply_end(&w, &len), DSRTP_ERR_INVALID_ARG);
}

/* ---- retransmission cache ---- */

static void test_ng_cache_returns_the_same_reply_for_a_retransmission(void)
{
    dsrtpd_ng_cache *c = NULL;
    CHECK_OK(dsrtpd_ng_cache_new(4, 64, 5000000, &c));
    static const uint8_t src[6] = {192, 0, 2, 1, 0x13, 0xc4};
    static const uint8_t reply[] = "5832_1_3 d6:result4:ponge";
    const uint8_t *got = NULL;
    size_t got_len = 0;
    CHECK(!dsrtpd_ng_cache_get(c, 1000, ng_s("5832_1_3"), src, sizeof src, &got, &got_len));
    CHECK_OK(dsrtpd_ng_cache_put(c, 1000, ng_s("5832_1_3"), src, sizeof src, reply,
                                 sizeof reply - 1));
    CHECK(dsrtpd_ng_cache_get(c, 4000000, ng_s("5832_1_3"), src, sizeof src, &got,
                              &got_len));
    CHECK_EQ(got_len, sizeof reply - 1);
    CHECK_MEM(got, reply, got_len);
    dsrtpd_ng_cache_free(c);
}

static void test_ng_cache_misses_other_cookies_and_other_sources(void)
{
    dsrtpd_ng_cache *c = NULL;
    CHECK_OK(dsrtpd_ng_cache_new(4, 64, 5000000, &c));
    static const uint8_t src[4] = {192, 0, 2, 1};
    static const uint8_t other[4] = {192, 0, 2, 2};
    const uint8_t *got = NULL;
    size_t got_len = 0;
    CHECK_OK(dsrtpd_ng_cache_put(c, 0, ng_s("abc"), src, sizeof src, (const uint8_t *)"r", 1));
    CHECK(!dsrtpd_ng_cache_get(c, 0, ng_s("abd"), src, sizeof src, &got, &got_len));
    CHECK(!dsrtpd_ng_cache_get(c, 0, ng_s("ab"), src, sizeof src, &got, &got_len));
    CHECK(!dsrtpd_ng_cache_get(c, 0, ng_s("abc"), other, sizeof other, &got, &got_len));
    CHECK(!dsrtpd_ng_cache_get(c, 0, ng_s("abc"), src, 3, &got, &got_len));
    CHECK(dsrtpd_ng_cache_get(c, 0, ng_s("abc"), src, sizeof src, &got, &got_len));
    dsrtpd_ng_cache_free(c);
}

static void test_ng_cache_forgets_after_expiry(void)
{
    dsrtpd_ng_cache *c = NULL;
    CHECK_OK(dsrtpd_ng_cache_new(4, 64, 5000000, &c));
    const uint8_t *got = NULL;
    size_t got_len = 0;
    CHECK_OK(dsrtpd_ng_cache_put(c, 1000000, ng_s("k"), NULL, 0, (const uint8_t *)"r", 1));
    CHECK(dsrtpd_ng_cache_get(c, 5999999, ng_s("k"), NULL, 0, &got, &got_len));
    CHECK(!dsrtpd_ng_cache_get(c, 6000000, ng_s("k"), NULL, 0, &got, &got_len));
    /* Time running backwards does not revive it. */
    CHECK(!dsrtpd_ng_cache_get(c, 1000000, ng_s("k"), NULL, 0, &got, &got_len));
    dsrtpd_ng_cache_free(c);
}

static void test_ng_cache_replaces_same_key_then_the_oldest_entry(void)
{
    dsrtpd_ng_cache *c = NULL;
    CHECK_OK(dsrtpd_ng_cache_new(2, 64, 5000000, &c));
    const uint8_t *got = NULL;
    size_t got_len = 0;
    CHECK_OK(dsrtpd_ng_cache_put(c, 0, ng_s("a"), NULL, 0, (const uint8_t *)"1", 1));
    CHECK_OK(dsrtpd_ng_cache_put(c, 0, ng_s("a"), NULL, 0, (const uint8_t *)"2", 1));
    CHECK_OK(dsrtpd_ng_cache_put(c, 0, ng_s("b"), NULL, 0, (const uint8_t *)"3", 1));
    CHECK(dsrtpd_ng_cache_get(c, 0, ng_s("a"), NULL, 0, &got, &got_len));
    CHECK_EQ(got[0], '2');
    CHECK_OK(dsrtpd_ng_cache_put(c, 0, ng_s("c"), NULL, 0, (const uint8_t *)"4", 1));
    CHECK(!dsrtpd_ng_cache_get(c, 0, ng_s("a"), NULL, 0, &got, &got_len));
    CHECK(dsrtpd_ng_cache_get(c, 0, ng_s("b"), NULL, 0, &got, &got_len));
    CHECK(dsrtpd_ng_cache_get(c, 0, ng_s("c"), NULL, 0, &got, &got_len));
    CHECK_EQ(got[0], '4');
    dsrtpd_ng_cache_free(c);
}

static void test_ng_cache_refuses_oversized_replies_and_bad_keys(void)
{
    dsrtpd_ng_cache *c = NULL;
    CHECK_OK(dsrtpd_ng_cache_new(2, 4, 1, &c));
    static const uint8_t big[5] = "12345";
    static const uint8_t src[DSRTPD_NG_CACHE_MAX_SRC + 1] = {0};
    const uint8_t *got = NULL;
    size_t got_len = 0;
    CHECK_ERR(dsrtpd_ng_cache_put(c, 0, ng_s("a"), NULL, 0, big, 5), DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK(!dsrtpd_ng_cache_get(c, 0, ng_s("a"), NULL, 0, &got, &got_len));
    CHECK_OK(dsrtpd_ng_cache_put(c, 0, ng_s("a"), NULL, 0, big, 4));
    CHECK_ERR(dsrtpd_ng_cache_put(c, 0, ng_s(""), NULL, 0, big, 4), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtpd_ng_cache_put(c, 0, ng_s("a"), src, sizeof src, big, 4),
              DSRTP_ERR_INVALID_ARG);
    dsrtpd_ng_cache_free(c);
    dsrtpd_ng_cache_free(NULL);
    CHECK_ERR(dsrtpd_ng_cache_new(0, 4, 1, &c), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtpd_ng_cache_new(1, 0, 1, &c), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtpd_ng_cache_new(1, 4, 0, &c), DSRTP_ERR_INVALID_ARG);
}

RUN_TESTS(TEST(test_ng_parse_reads_a_kamailio_webrtc_offer),
          TEST(test_ng_parse_rejects_an_offer_without_sdp),
          TEST(test_ng_parse_rejects_an_offer_without_call_id),
          TEST(test_ng_parse_rejects_the_offer_truncated_at_every_byte),
          TEST(test_ng_parse_reads_an_answer_with_to_tag),
          TEST(test_ng_parse_rejects_an_answer_without_to_tag),
          TEST(test_ng_parse_reads_every_simple_command),
          TEST(test_ng_parse_rejects_delete_and_query_without_call_id),
          TEST(test_ng_parse_rejects_unknown_and_missing_commands),
          TEST(test_ng_parse_accepts_a_64_byte_cookie_and_a_trailing_newline),
          TEST(test_ng_parse_rejects_bad_cookies),
          TEST(test_ng_parse_rejects_bodies_that_are_not_bencoded_dicts),
          TEST(test_ng_parse_rejects_null_arguments),
          TEST(test_ng_rtpp_flags_string_equals_the_dict_form),
          TEST(test_ng_rtpp_flags_reads_bracket_lists_and_sdes_suites),
          TEST(test_ng_rtpp_flags_warns_on_what_it_cannot_map),
          TEST(test_ng_parse_turns_unknown_keys_and_flags_into_warnings),
          TEST(test_ng_parse_accepts_known_keys_without_warnings),
          TEST(test_ng_parse_reads_a_delete_with_delay_tags_and_the_fatal_flag),
          TEST(test_ng_parse_refuses_a_delete_delay_that_is_not_a_count),
          TEST(test_ng_parse_keeps_the_first_of_duplicate_keys_and_warns),
          TEST(test_ng_format_warnings_caps_the_count_and_quotes_safely),
          TEST(test_ng_reply_pong_is_byte_exact),
          TEST(test_ng_reply_ok_with_sdp_and_warning_is_byte_exact),
          TEST(test_ng_reply_error_is_byte_exact),
          TEST(test_ng_reply_list_is_byte_exact),
          TEST(test_ng_reply_begin_end_carries_daemon_keys),
          TEST(test_ng_reply_refuses_small_buffers_and_empty_cookies),
          TEST(test_ng_cache_returns_the_same_reply_for_a_retransmission),
          TEST(test_ng_cache_misses_other_cookies_and_other_sources),
          TEST(test_ng_cache_forgets_after_expiry),
          TEST(test_ng_cache_replaces_same_key_then_the_oldest_entry),
          TEST(test_ng_cache_refuses_oversized_replies_and_bad_keys))
