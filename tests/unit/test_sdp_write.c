/* SDP writing and building: parsed documents write back as their own text (CRLF line
 * ends), unknown lines included; builders make a fresh offer and rewrite a peer's
 * description (transport, keying) the way the gateway will, and a refused change leaves the
 * document exactly as it was. */
#include <dsrtp/sdp.h>
#include <dsrtp/util.h>

#include "harness/check.h"

static char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz/corpus/sdp_parse/%s", DSRTP_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    char *buf = malloc(65536);
    *len = fread(buf, 1, 65535, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static dsrtp_sdp *parse_file(const char *name)
{
    size_t len = 0;
    char *text = load(name, &len);
    dsrtp_sdp *d = NULL;
    if (dsrtp_sdp_parse(text, len, &d, NULL) != DSRTP_OK) {
        d = NULL;
    }
    free(text);
    return d;
}

/* The document's text in a static buffer (tests are single-threaded). */
static const char *text_of(const dsrtp_sdp *d)
{
    static char out[65536];
    size_t len = 0;
    if (dsrtp_sdp_write(d, out, sizeof out, &len) != DSRTP_OK) {
        return "(write failed)";
    }
    return out;
}

static char *dup_text(const dsrtp_sdp *d)
{
    const char *t = text_of(d);
    char *copy = malloc(strlen(t) + 1);
    memcpy(copy, t, strlen(t) + 1);
    return copy;
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

static const dsrtp_fingerprint fp256 = {
    DSRTP_HASH_SHA256, 32, {0x60, 0x4f, 0xd7, 0x53, 0xaf, 0xeb, 0x4a, 0x37, 0xec, 0x50, 0xe1,
                            0x44, 0x01, 0xf1, 0xbc, 0x87, 0x1c, 0x49, 0x24, 0xae, 0x29, 0x6e,
                            0xcf, 0xd7, 0x33, 0x02, 0xf8, 0x3b, 0x15, 0x3a, 0x05, 0x8f}};

static void test_sdp_write_round_trips_every_real_world_description(void)
{
    static const char *const files[] = {"chromium_offer.sdp", "aiortc_offer.sdp",
                                        "baresip_offer.sdp",  "sdes_offer.sdp",
                                        "pbx_plain.sdp",      "ipv6_offer.sdp"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len = 0;
        char *in = load(files[i], &len);
        dsrtp_sdp *d = NULL;
        CHECK_OK(dsrtp_sdp_parse(in, len, &d, NULL));
        /* Expected: the input with every LF made CRLF. */
        char *want = malloc(2 * len + 1);
        size_t n = 0;
        for (size_t k = 0; k < len; k++) {
            if (in[k] == '\n' && (k == 0 || in[k - 1] != '\r')) {
                want[n++] = '\r';
            }
            want[n++] = in[k];
        }
        want[n] = '\0';
        CHECK(strcmp(text_of(d), want) == 0);
        dsrtp_sdp_free(d);
        free(in);
        free(want);
    }
}

static void test_sdp_write_reports_the_room_needed_and_leaves_a_short_buffer_alone(void)
{
    dsrtp_sdp *d = NULL;
    const char *in = HEAD "m=audio 5 RTP/AVP 0";
    CHECK_OK(dsrtp_sdp_parse(in, strlen(in), &d, NULL));
    size_t need = 0;
    char small[8];
    memset(small, 'z', sizeof small);
    CHECK_ERR(dsrtp_sdp_write(d, small, sizeof small, &need), DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(need, strlen(HEAD) + strlen("m=audio 5 RTP/AVP 0\r\n") + 1);
    CHECK(small[0] == 'z' && small[7] == 'z');
    char *exact = malloc(need);
    size_t len = 0;
    CHECK_ERR(dsrtp_sdp_write(d, exact, need - 1, &len), DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(dsrtp_sdp_write(d, exact, need, &len));
    CHECK_EQ(len, need - 1);
    CHECK_EQ(exact[len], '\0');
    free(exact);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_builds_a_dtls_offer_from_nothing(void)
{
    dsrtp_sdp *d = NULL;
    size_t index = 99;
    CHECK_OK(dsrtp_sdp_new("192.0.2.1", 42, &d));
    CHECK_OK(dsrtp_sdp_add_media(d, "audio", 40000, "UDP/TLS/RTP/SAVPF", "111 0", &index));
    CHECK_EQ(index, 0);
    CHECK_OK(dsrtp_sdp_add_attr(d, 0, "rtpmap", "111 opus/48000/2"));
    dsrtp_sdp_candidate cand = {0};
    cand.foundation = "1";
    cand.component = 1;
    cand.transport = "UDP";
    cand.priority = 2130706431;
    cand.address = "192.0.2.1";
    cand.port = 40000;
    cand.type = "host";
    dsrtp_sdp_keying_attrs k = {0};
    k.fingerprints = &fp256;
    k.fingerprint_count = 1;
    k.setup = DSRTP_SDP_SETUP_ACTPASS;
    k.ice_ufrag = "abcd";
    k.ice_pwd = "0123456789abcdefghijkl";
    k.ice_lite = true;
    k.candidates = &cand;
    k.candidate_count = 1;
    k.end_of_candidates = true;
    CHECK_OK(dsrtp_sdp_set_keying(d, 0, &k));
    CHECK_OK(dsrtp_sdp_add_attr(d, 0, "rtcp-mux", NULL));
    const char *want =
        "v=0\r\no=- 42 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "a=ice-lite\r\n"
        "m=audio 40000 UDP/TLS/RTP/SAVPF 111 0\r\n"
        "a=rtpmap:111 opus/48000/2\r\n"
        "a=fingerprint:sha-256 60:4F:D7:53:AF:EB:4A:37:EC:50:E1:44:01:F1:BC:87:1C:49:24:AE:"
        "29:6E:CF:D7:33:02:F8:3B:15:3A:05:8F\r\n"
        "a=setup:actpass\r\n"
        "a=ice-ufrag:abcd\r\n"
        "a=ice-pwd:0123456789abcdefghijkl\r\n"
        "a=candidate:1 1 UDP 2130706431 192.0.2.1 40000 typ host\r\n"
        "a=end-of-candidates\r\n"
        "a=rtcp-mux\r\n";
    CHECK(strcmp(text_of(d), want) == 0);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK(m->ice_lite && m->rtcp_mux && m->end_of_candidates);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_refuses_an_address_that_would_inject_lines(void)
{
    dsrtp_sdp *d = NULL;
    CHECK_ERR(dsrtp_sdp_new("192.0.2.1\r\na=evil", 1, &d), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_new("192.0.2.1 x", 1, &d), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_new("", 1, &d), DSRTP_ERR_INVALID_ARG);
    CHECK(d == NULL);
    CHECK_OK(dsrtp_sdp_new("2001:db8::5", 1, &d));
    char *before = dup_text(d);
    CHECK_ERR(dsrtp_sdp_set_connection(d, DSRTP_SDP_SESSION, "1.2.3.4\na=x"),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_add_attr(d, DSRTP_SDP_SESSION, "x", "y\r\nm=audio 1 RTP/AVP 0"),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_add_attr(d, DSRTP_SDP_SESSION, "x:y", NULL), DSRTP_ERR_INVALID_ARG);
    CHECK(strcmp(text_of(d), before) == 0);
    CHECK_EQ(dsrtp_sdp_get_session(d)->connection.family, DSRTP_SDP_ADDR_IP6);
    free(before);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_rewrites_transport_and_keying_of_a_chromium_offer(void)
{
    dsrtp_sdp *d = parse_file("chromium_offer.sdp");
    CHECK(d != NULL);
    dsrtp_sdp_transport t = {30000, "RTP/AVP", "198.51.100.9", false};
    CHECK_OK(dsrtp_sdp_set_transport(d, 0, &t));
    dsrtp_sdp_keying_attrs none = {0};
    CHECK_OK(dsrtp_sdp_set_keying(d, 0, &none));
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->port, 30000);
    CHECK_EQ(m->proto, DSRTP_SDP_PROTO_RTP_AVP);
    CHECK_EQ(m->format_count, 8);
    CHECK(strcmp(m->connection.address, "198.51.100.9") == 0);
    CHECK(!m->has_rtcp && !m->rtcp_mux);
    CHECK_EQ(m->fingerprint_count, 0);
    CHECK_EQ(m->setup, DSRTP_SDP_SETUP_NONE);
    CHECK(m->ice_ufrag == NULL && m->ice_pwd == NULL && m->ice_options == NULL);
    CHECK_EQ(m->candidate_count, 0);
    /* What we do not understand stays. */
    CHECK(strstr(text_of(d), "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-"
                             "wide-cc-extensions-01\r\n") != NULL);
    CHECK(strstr(text_of(d), "a=ssrc:1840473511 cname:Yq2mZ5bLr8uWc3Xs\r\n") != NULL);
    CHECK(strstr(text_of(d), "m=audio 30000 RTP/AVP 111 63 9 0 8 13 110 126\r\n"
                             "c=IN IP4 198.51.100.9\r\n") != NULL);
    CHECK(strstr(text_of(d), "ice-pwd:5Ne3") != NULL); /* m-line 1 still has its own */
    CHECK_EQ(dsrtp_sdp_get_media(d, 1)->fingerprint_count, 1);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_leaves_the_document_unchanged_when_keying_is_invalid(void)
{
    dsrtp_sdp *d = parse_file("chromium_offer.sdp");
    CHECK(d != NULL);
    char *before = dup_text(d);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    const char *ufrag = m->ice_ufrag;
    dsrtp_sdp_keying_attrs k = {0};
    k.ice_ufrag = "bad ufrag";
    CHECK_ERR(dsrtp_sdp_set_keying(d, 0, &k), DSRTP_ERR_INVALID_ARG);
    k.ice_ufrag = "abcd";
    k.setup = (dsrtp_sdp_setup)17;
    CHECK_ERR(dsrtp_sdp_set_keying(d, 0, &k), DSRTP_ERR_INVALID_ARG);
    k.setup = DSRTP_SDP_SETUP_ACTIVE;
    CHECK_ERR(dsrtp_sdp_set_keying(d, 2, &k), DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp_transport t = {1, "RTP AVP", NULL, true};
    CHECK_ERR(dsrtp_sdp_set_transport(d, 0, &t), DSRTP_ERR_INVALID_ARG);
    CHECK(strcmp(text_of(d), before) == 0);
    /* The view is the same object with the same strings. */
    CHECK(dsrtp_sdp_get_media(d, 0) == m);
    CHECK(strcmp(m->ice_ufrag, "Wq1b") == 0 && m->ice_ufrag == ufrag);
    free(before);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_drops_the_old_authors_session_fingerprint(void)
{
    dsrtp_sdp *d = parse_file("baresip_offer.sdp");
    CHECK(d != NULL);
    dsrtp_sdp_keying_attrs k = {0};
    k.fingerprints = &fp256;
    k.fingerprint_count = 1;
    k.setup = DSRTP_SDP_SETUP_ACTIVE;
    CHECK_OK(dsrtp_sdp_set_keying(d, 0, &k));
    CHECK_EQ(dsrtp_sdp_get_session(d)->fingerprint_count, 0);
    CHECK(strstr(text_of(d), "SHA-256") == NULL);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK(!m->fingerprints_from_session);
    CHECK_EQ(m->fingerprints[0].value[0], 0x60);
    CHECK_EQ(m->setup, DSRTP_SDP_SETUP_ACTIVE);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_writes_an_sdes_answer_that_parses_back(void)
{
    dsrtp_sdp *d = parse_file("sdes_offer.sdp");
    CHECK(d != NULL);
    dsrtp_sdp_crypto c;
    memset(&c, 0, sizeof c);
    c.tag = 1;
    c.profile = DSRTP_AES_CM_128_HMAC_SHA1_80;
    c.key_count = 1;
    c.keys[0].key_len = 16;
    c.keys[0].salt_len = 14;
    for (int i = 0; i < 16; i++) {
        c.keys[0].key[i] = (uint8_t)(0xa0 + i);
    }
    for (int i = 0; i < 14; i++) {
        c.keys[0].salt[i] = (uint8_t)(0x10 + i);
    }
    c.keys[0].lifetime = (uint64_t)1 << 31;
    c.keys[0].mki_len = 2;
    c.keys[0].mki[1] = 7;
    dsrtp_sdp_keying_attrs k = {0};
    k.crypto = &c;
    k.crypto_count = 1;
    CHECK_OK(dsrtp_sdp_set_keying(d, 0, &k));
    CHECK(strstr(text_of(d), "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:oKGio6SlpqeoqaqrrK2u"
                             "rxAREhMUFRYXGBkaGxwd|2^31|7:2\r\n") != NULL);
    CHECK(strstr(text_of(d), "a=crypto:2") == NULL);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->crypto_count, 1);
    CHECK_MEM(m->crypto[0].keys[0].key, c.keys[0].key, 16);
    CHECK_MEM(m->crypto[0].keys[0].mki, "\x00\x07", 2);
    dsrtp_sdp_decision_wipe(NULL);
    dsrtp_secure_wipe(&c, sizeof c);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_refuses_an_sdes_key_of_the_wrong_length(void)
{
    dsrtp_sdp *d = parse_file("sdes_offer.sdp");
    CHECK(d != NULL);
    char *before = dup_text(d);
    dsrtp_sdp_crypto c;
    memset(&c, 0, sizeof c);
    c.tag = 1;
    c.profile = DSRTP_AES_256_CM_HMAC_SHA1_80;
    c.key_count = 1;
    c.keys[0].key_len = 16; /* AES-256 wants 32 */
    c.keys[0].salt_len = 14;
    dsrtp_sdp_keying_attrs k = {0};
    k.crypto = &c;
    k.crypto_count = 1;
    CHECK_ERR(dsrtp_sdp_set_keying(d, 0, &k), DSRTP_ERR_INVALID_ARG);
    c.keys[0].key_len = 32;
    c.profile = DSRTP_PROFILE_NONE;
    CHECK_ERR(dsrtp_sdp_set_keying(d, 0, &k), DSRTP_ERR_INVALID_ARG);
    CHECK(strcmp(text_of(d), before) == 0);
    free(before);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_sets_port_and_proto_keeping_formats(void)
{
    dsrtp_sdp *d = parse_file("pbx_plain.sdp");
    CHECK(d != NULL);
    CHECK_OK(dsrtp_sdp_set_port(d, 0, 0));
    CHECK_OK(dsrtp_sdp_set_proto(d, 0, dsrtp_sdp_proto_name(DSRTP_SDP_PROTO_RTP_SAVP)));
    CHECK(strstr(text_of(d), "\r\nm=audio 0 RTP/SAVP 8 0 18 101\r\n") != NULL);
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->proto, DSRTP_SDP_PROTO_RTP_SAVP);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_refuses_a_missing_m_line_or_a_bad_proto(void)
{
    dsrtp_sdp *d = parse_file("pbx_plain.sdp");
    CHECK(d != NULL);
    char *before = dup_text(d);
    CHECK_ERR(dsrtp_sdp_set_port(d, 1, 5), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_set_proto(d, 0, "RTP/"), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_set_proto(d, 0, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_add_media(d, "audio", 1, "RTP/AVP", "", NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_add_attr(d, 3, "x", NULL), DSRTP_ERR_INVALID_ARG);
    CHECK(strcmp(text_of(d), before) == 0);
    free(before);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_adds_removes_and_finds_attributes(void)
{
    dsrtp_sdp *d = parse_file("pbx_plain.sdp");
    CHECK(d != NULL);
    size_t removed = 0;
    CHECK_OK(dsrtp_sdp_remove_attr(d, 0, "fmtp", &removed));
    CHECK_EQ(removed, 2);
    CHECK(dsrtp_sdp_find_attr(d, 0, "fmtp", 0) == NULL);
    CHECK_OK(dsrtp_sdp_remove_attr(d, 0, "fmtp", &removed));
    CHECK_EQ(removed, 0);
    CHECK_OK(dsrtp_sdp_add_attr(d, 0, "fmtp", "101 0-15"));
    CHECK(strcmp(dsrtp_sdp_find_attr(d, 0, "fmtp", 0), "101 0-15") == 0);
    CHECK_OK(dsrtp_sdp_set_direction(d, 0, DSRTP_SDP_DIR_SENDONLY));
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->direction, DSRTP_SDP_DIR_SENDONLY);
    CHECK(dsrtp_sdp_find_attr(d, 0, "sendrecv", 0) == NULL);
    CHECK_OK(dsrtp_sdp_set_direction(d, 0, DSRTP_SDP_DIR_NONE));
    CHECK(dsrtp_sdp_find_attr(d, 0, "sendonly", 0) == NULL);
    CHECK_ERR(dsrtp_sdp_set_direction(d, 0, (dsrtp_sdp_direction)9), DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_sets_origin_and_lines_in_rfc_order(void)
{
    dsrtp_sdp *d = parse_file("pbx_plain.sdp");
    CHECK(d != NULL);
    CHECK_OK(dsrtp_sdp_set_origin(d, 2051428513, "203.0.113.5"));
    CHECK(strcmp(dsrtp_sdp_get_session(d)->origin_sess_version, "2051428513") == 0);
    CHECK_OK(dsrtp_sdp_set_line(d, DSRTP_SDP_SESSION, 'b', "AS:80"));
    CHECK_OK(dsrtp_sdp_set_line(d, 0, 'b', "TIAS:64000"));
    CHECK_OK(dsrtp_sdp_set_line(d, DSRTP_SDP_SESSION, 's', "gateway"));
    const char *want = "v=0\r\no=root 2051428512 2051428513 IN IP4 203.0.113.5\r\n"
                       "s=gateway\r\nc=IN IP4 10.20.30.40\r\nb=AS:80\r\nt=0 0\r\n"
                       "m=audio 30000 RTP/AVP 8 0 18 101\r\nb=TIAS:64000\r\na=rtpmap:8";
    CHECK(strncmp(text_of(d), want, strlen(want)) == 0);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_refuses_lines_that_have_their_own_builders(void)
{
    dsrtp_sdp *d = parse_file("pbx_plain.sdp");
    CHECK(d != NULL);
    CHECK_ERR(dsrtp_sdp_set_line(d, DSRTP_SDP_SESSION, 'a', "x"), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_set_line(d, 0, 'm', "audio 1 RTP/AVP 0"), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_set_line(d, DSRTP_SDP_SESSION, 'v', "1"), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_set_line(d, 0, 't', "0 0"), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_set_origin(d, 1, "a b"), DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_clones_an_independent_document(void)
{
    dsrtp_sdp *d = parse_file("aiortc_offer.sdp");
    CHECK(d != NULL);
    dsrtp_sdp *c = NULL;
    CHECK_OK(dsrtp_sdp_clone(d, &c));
    char *before = dup_text(d);
    CHECK(strcmp(text_of(c), before) == 0);
    CHECK_OK(dsrtp_sdp_set_port(c, 0, 1));
    CHECK(strcmp(text_of(d), before) == 0);
    CHECK_EQ(dsrtp_sdp_get_media(c, 0)->port, 1);
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->port, 40001);
    free(before);
    dsrtp_sdp_free(c);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_refuses_keying_beyond_the_caps(void)
{
    dsrtp_sdp *d = parse_file("aiortc_offer.sdp");
    CHECK(d != NULL);
    char *before = dup_text(d);
    static dsrtp_sdp_candidate many[DSRTP_SDP_MAX_CANDIDATES + 1];
    for (size_t i = 0; i < DSRTP_SDP_MAX_CANDIDATES + 1; i++) {
        many[i].foundation = "1";
        many[i].component = 1;
        many[i].transport = "UDP";
        many[i].priority = 1;
        many[i].address = "192.0.2.1";
        many[i].port = (uint16_t)(1000 + i);
        many[i].type = "host";
    }
    dsrtp_sdp_keying_attrs k = {0};
    k.candidates = many;
    k.candidate_count = DSRTP_SDP_MAX_CANDIDATES + 1;
    CHECK_ERR(dsrtp_sdp_set_keying(d, 0, &k), DSRTP_ERR_INVALID_ARG);
    CHECK(strcmp(text_of(d), before) == 0);
    k.candidate_count = DSRTP_SDP_MAX_CANDIDATES;
    CHECK_OK(dsrtp_sdp_set_keying(d, 0, &k));
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->candidate_count, DSRTP_SDP_MAX_CANDIDATES);
    free(before);
    dsrtp_sdp_free(d);
}

static void test_sdp_write_refuses_an_attribute_past_the_section_cap(void)
{
    dsrtp_sdp *d = NULL;
    CHECK_OK(dsrtp_sdp_new("192.0.2.1", 1, &d));
    CHECK_OK(dsrtp_sdp_add_media(d, "audio", 1, "RTP/AVP", "0", NULL));
    for (int i = 0; i < DSRTP_SDP_MAX_ATTRS; i++) {
        CHECK_OK(dsrtp_sdp_add_attr(d, 0, "x-filler", NULL));
    }
    CHECK_ERR(dsrtp_sdp_add_attr(d, 0, "x-filler", NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_OK(dsrtp_sdp_add_attr(d, DSRTP_SDP_SESSION, "x-filler", NULL));
    dsrtp_sdp_free(d);
}

RUN_TESTS(TEST(test_sdp_write_round_trips_every_real_world_description),
          TEST(test_sdp_write_reports_the_room_needed_and_leaves_a_short_buffer_alone),
          TEST(test_sdp_write_builds_a_dtls_offer_from_nothing),
          TEST(test_sdp_write_refuses_an_address_that_would_inject_lines),
          TEST(test_sdp_write_rewrites_transport_and_keying_of_a_chromium_offer),
          TEST(test_sdp_write_leaves_the_document_unchanged_when_keying_is_invalid),
          TEST(test_sdp_write_drops_the_old_authors_session_fingerprint),
          TEST(test_sdp_write_writes_an_sdes_answer_that_parses_back),
          TEST(test_sdp_write_refuses_an_sdes_key_of_the_wrong_length),
          TEST(test_sdp_write_sets_port_and_proto_keeping_formats),
          TEST(test_sdp_write_refuses_a_missing_m_line_or_a_bad_proto),
          TEST(test_sdp_write_adds_removes_and_finds_attributes),
          TEST(test_sdp_write_sets_origin_and_lines_in_rfc_order),
          TEST(test_sdp_write_refuses_lines_that_have_their_own_builders),
          TEST(test_sdp_write_clones_an_independent_document),
          TEST(test_sdp_write_refuses_keying_beyond_the_caps),
          TEST(test_sdp_write_refuses_an_attribute_past_the_section_cap))
