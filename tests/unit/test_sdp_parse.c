/* SDP parsing: real peers' descriptions (Chromium, aiortc, baresip, an SDES PBX, a plain
 * PBX, IPv6 with ICE-lite) read into the typed view; every malformed case names its line
 * and reason; every cap is enforced at its limit and accepted just below it. */
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
    dsrtp_sdp_error err = {0, NULL};
    if (dsrtp_sdp_parse(text, len, &d, &err) != DSRTP_OK) {
        fprintf(stderr, "%s: line %zu: %s\n", name, err.line, err.reason);
        d = NULL;
    }
    free(text);
    return d;
}

static dsrtp_err parse_str(const char *text, dsrtp_sdp **out, dsrtp_sdp_error *err)
{
    return dsrtp_sdp_parse(text, strlen(text), out, err);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
#define AUDIO "m=audio 5000 RTP/AVP 0\r\n"
#define FP256                                                                              \
    "sha-256 60:4F:D7:53:AF:EB:4A:37:EC:50:E1:44:01:F1:BC:87:1C:49:24:AE:29:6E:CF:D7:33:02:" \
    "F8:3B:15:3A:05:8F"

/* Parses text expecting DSRTP_ERR_MALFORMED at line with a reason containing want. */
static int expect_error(const char *text, size_t len, size_t line, const char *want)
{
    dsrtp_sdp *d = NULL;
    dsrtp_sdp_error err = {0, NULL};
    dsrtp_err e = dsrtp_sdp_parse(text, len, &d, &err);
    if (e != DSRTP_ERR_MALFORMED || err.line != line || err.reason == NULL ||
        strstr(err.reason, want) == NULL) {
        fprintf(stderr, "  want line %zu '%s', got %s, line %zu '%s'\n", line, want,
                dsrtp_strerror(e), err.line, err.reason != NULL ? err.reason : "(none)");
        dsrtp_sdp_free(d);
        return 0;
    }
    return 1;
}

static void test_sdp_parse_reads_chromium_offer_with_bundle_ice_and_dtls(void)
{
    dsrtp_sdp *d = parse_file("chromium_offer.sdp");
    CHECK(d != NULL);
    CHECK_EQ(dsrtp_sdp_media_count(d), 2);
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    CHECK_EQ(s->group_count, 1);
    CHECK(strcmp(s->groups[0].semantics, "BUNDLE") == 0);
    CHECK_EQ(s->groups[0].mid_count, 2);
    CHECK(strcmp(s->groups[0].mids[1], "1") == 0);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK(strcmp(m->media, "audio") == 0);
    CHECK_EQ(m->port, 54139);
    CHECK_EQ(m->proto, DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVPF);
    CHECK_EQ(m->format_count, 8);
    CHECK(strcmp(m->formats[0], "111") == 0);
    CHECK_EQ(m->connection.family, DSRTP_SDP_ADDR_IP4);
    CHECK(strcmp(m->connection.address, "127.0.0.1") == 0);
    CHECK_EQ(m->fingerprint_count, 1);
    CHECK_EQ(m->fingerprints[0].hash, DSRTP_HASH_SHA256);
    CHECK_EQ(m->fingerprints[0].value[0], 0x60);
    CHECK_EQ(m->setup, DSRTP_SDP_SETUP_ACTPASS);
    CHECK(strcmp(m->ice_ufrag, "Wq1b") == 0);
    CHECK(strcmp(m->ice_pwd, "5Ne3pYd3w1ZkPq6HvMeKkG7v") == 0);
    CHECK(strcmp(m->ice_options, "trickle") == 0);
    CHECK_EQ(m->candidate_count, 2);
    const dsrtp_sdp_candidate *c = &m->candidates[0];
    CHECK(strcmp(c->foundation, "3458205426") == 0);
    CHECK_EQ(c->component, 1);
    CHECK(strcmp(c->transport, "udp") == 0);
    CHECK_EQ(c->priority, 2122260223u);
    CHECK(strcmp(c->address, "127.0.0.1") == 0);
    CHECK_EQ(c->port, 54139);
    CHECK(strcmp(c->type, "host") == 0);
    CHECK(strcmp(c->extensions, "generation 0 network-id 1") == 0);
    CHECK(strncmp(c->raw, "3458205426 1 udp", 16) == 0);
    CHECK(m->has_rtcp);
    CHECK_EQ(m->rtcp_port, 9);
    CHECK(strcmp(m->rtcp_address.address, "0.0.0.0") == 0);
    CHECK(m->rtcp_mux);
    CHECK(strcmp(m->mid, "0") == 0);
    CHECK_EQ(m->direction, DSRTP_SDP_DIR_SENDRECV);
    CHECK_EQ(m->rtpmap_count, 8);
    CHECK_EQ(m->rtpmaps[0].payload_type, 111);
    CHECK(strcmp(m->rtpmaps[0].encoding, "opus") == 0);
    CHECK_EQ(m->rtpmaps[0].clock_rate, 48000);
    CHECK_EQ(m->rtpmaps[0].channels, 2);
    CHECK(strcmp(dsrtp_sdp_get_media(d, 1)->mid, "1") == 0);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_chromium_offer_with_a_truncated_fingerprint(void)
{
    size_t len = 0;
    char *text = load("chromium_offer.sdp", &len);
    char *fp = strstr(text, ":05:8F");
    CHECK(fp != NULL);
    memmove(fp, fp + 3, strlen(fp + 3) + 1); /* drops one byte of the hash */
    CHECK(expect_error(text, strlen(text), 16, "bad a=fingerprint"));
    free(text);
}

static void test_sdp_parse_reads_groups_with_and_without_tags(void)
{
    dsrtp_sdp *d = NULL;
    CHECK_OK(parse_str(HEAD "a=group:LS\r\na=group:BUNDLE a b\r\n" AUDIO, &d, NULL));
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    CHECK_EQ(s->group_count, 2);
    CHECK_EQ(s->groups[0].mid_count, 0);
    CHECK_EQ(s->groups[1].mid_count, 2);
    CHECK(strcmp(s->groups[1].mids[0], "a") == 0);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_a_group_without_semantics(void)
{
    const char *text = HEAD "a=group:\r\n" AUDIO;
    CHECK(expect_error(text, strlen(text), 6, "bad a=group"));
}

static void test_sdp_parse_reads_aiortc_offer_with_three_fingerprints(void)
{
    dsrtp_sdp *d = parse_file("aiortc_offer.sdp");
    CHECK(d != NULL);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->fingerprint_count, 3);
    CHECK_EQ(m->fingerprints[1].hash, DSRTP_HASH_SHA384);
    CHECK_EQ(m->fingerprints[2].len, 64);
    CHECK(m->end_of_candidates);
    CHECK_EQ(m->candidate_count, 2);
    CHECK(strcmp(m->candidates[1].type, "srflx") == 0);
    CHECK(strcmp(m->candidates[1].raddr, "127.0.0.1") == 0);
    CHECK(m->candidates[1].has_rport);
    CHECK_EQ(m->candidates[1].rport, 40001);
    CHECK(m->candidates[1].extensions == NULL);
    CHECK(!m->connection_from_session);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_a_candidate_without_typ(void)
{
    const char *text = HEAD AUDIO "a=candidate:1 1 UDP 100 192.0.2.1 5000 host\r\n";
    CHECK(expect_error(text, strlen(text), 7, "without typ"));
}

static void test_sdp_parse_applies_baresip_session_fingerprint_in_upper_case(void)
{
    dsrtp_sdp *d = parse_file("baresip_offer.sdp");
    CHECK(d != NULL);
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    CHECK_EQ(s->fingerprint_count, 1);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->proto, DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVP);
    CHECK_EQ(m->fingerprint_count, 1);
    CHECK(m->fingerprints_from_session);
    CHECK_EQ(m->fingerprints[0].hash, DSRTP_HASH_SHA256);
    CHECK_EQ(m->fingerprints[0].value[0], 0xf2);
    CHECK(m->connection_from_session);
    CHECK(strcmp(dsrtp_sdp_find_attr(d, DSRTP_SDP_SESSION, "tool", 0), "baresip 1.0.0") == 0);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_lets_a_media_fingerprint_override_the_session_one(void)
{
    const char *text = HEAD "a=fingerprint:SHA-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
                            "EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" AUDIO
                            "a=fingerprint:" FP256 "\r\n";
    dsrtp_sdp *d = NULL;
    CHECK_OK(parse_str(text, &d, NULL));
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->fingerprint_count, 1);
    CHECK(!m->fingerprints_from_session);
    CHECK_EQ(m->fingerprints[0].value[0], 0x60);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_a_session_fingerprint_with_bad_hex(void)
{
    const char *text = HEAD "a=fingerprint:SHA-256 0G:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
                            "EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" AUDIO;
    CHECK(expect_error(text, strlen(text), 6, "bad a=fingerprint"));
}

static void test_sdp_parse_skips_a_fingerprint_with_an_unknown_hash(void)
{
    const char *text = HEAD AUDIO "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
                                  "EE:FF\r\na=fingerprint:" FP256 "\r\n";
    dsrtp_sdp *d = NULL;
    CHECK_OK(parse_str(text, &d, NULL));
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->fingerprint_count, 1);
    CHECK_EQ(m->unsupported_fingerprints, 1);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_decodes_sdes_keys_lifetime_and_mki(void)
{
    dsrtp_sdp *d = parse_file("sdes_offer.sdp");
    CHECK(d != NULL);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->proto, DSRTP_SDP_PROTO_RTP_SAVP);
    CHECK_EQ(m->crypto_count, 3);
    const dsrtp_sdp_crypto *c = &m->crypto[0];
    uint8_t want[30];
    size_t n = 0;
    CHECK_OK(dsrtp_base64_decode("mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY", 40, want,
                                 sizeof want, &n));
    CHECK_EQ(c->tag, 1);
    CHECK_EQ(c->profile, DSRTP_AES_CM_128_HMAC_SHA1_80);
    CHECK(c->usable);
    CHECK_EQ(c->key_count, 1);
    CHECK_EQ(c->keys[0].key_len, 16);
    CHECK_EQ(c->keys[0].salt_len, 14);
    CHECK_MEM(c->keys[0].key, want, 16);
    CHECK_MEM(c->keys[0].salt, want + 16, 14);
    CHECK_EQ(c->keys[0].lifetime, (uint64_t)1 << 31);
    CHECK_EQ(c->keys[0].mki_len, 4);
    CHECK_MEM(c->keys[0].mki, "\x00\x00\x00\x01", 4);
    CHECK_EQ(m->crypto[1].profile, DSRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_EQ(m->crypto[1].keys[0].lifetime, (uint64_t)1 << 20);
    CHECK_EQ(m->crypto[1].keys[0].mki_len, 0);
    CHECK(strcmp(m->crypto[2].suite, "F8_128_HMAC_SHA1_80") == 0);
    CHECK_EQ(m->crypto[2].profile, DSRTP_PROFILE_NONE);
    CHECK(!m->crypto[2].usable);
    CHECK_EQ(m->crypto[2].key_count, 0);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_sdes_keys_of_the_wrong_shape(void)
{
    static const struct {
        const char *line;
        const char *why;
    } cases[] = {
        {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "wrong length"},
        {"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY",
         "wrong length"},
        {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zx!",
         "wrong length"},
        {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY|256:1",
         "lifetime or MKI"},
        {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY"
         "|1:4|2^31",
         "lifetime or MKI"},
        {"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY|2^64",
         "lifetime or MKI"},
        {"a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY",
         "tag"},
        {"a=crypto:1234567890 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXm"
         "SJqq6zxY",
         "tag"},
        {"a=crypto:1 AES_CM_128_HMAC_SHA1_80", "without key parameters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, HEAD AUDIO "%s\r\n", cases[i].line);
        CHECK(expect_error(text, strlen(text), 7, cases[i].why));
    }
}

static void test_sdp_parse_flags_sdes_lines_it_cannot_carry(void)
{
    const char *text =
        HEAD "m=audio 5000 RTP/SAVP 0\r\n"
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY "
        "UNENCRYPTED_SRTP\r\n"
        "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY|1:20"
        "\r\n"
        "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY "
        "WSH=64\r\n";
    dsrtp_sdp *d = NULL;
    CHECK_OK(parse_str(text, &d, NULL));
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->crypto_count, 3);
    CHECK(!m->crypto[0].usable);
    CHECK(strcmp(m->crypto[0].session_params, "UNENCRYPTED_SRTP") == 0);
    CHECK(!m->crypto[1].usable); /* a 20-byte MKI is longer than SRTP here carries */
    CHECK(m->crypto[2].usable);  /* WSH is only a hint */
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_reads_plain_pbx_offer_with_lf_line_ends(void)
{
    dsrtp_sdp *d = parse_file("pbx_plain.sdp");
    CHECK(d != NULL);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->proto, DSRTP_SDP_PROTO_RTP_AVP);
    CHECK_EQ(m->port, 30000);
    CHECK_EQ(m->rtpmap_count, 4);
    CHECK(strcmp(m->rtpmaps[2].encoding, "G729") == 0);
    CHECK_EQ(m->fingerprint_count, 0);
    CHECK_EQ(m->setup, DSRTP_SDP_SETUP_NONE);
    CHECK(strcmp(dsrtp_sdp_find_attr(d, 0, "silenceSupp", 0), "off - - - -") == 0);
    CHECK(strcmp(dsrtp_sdp_find_attr(d, 0, "fmtp", 1), "101 0-16") == 0);
    CHECK(strcmp(dsrtp_sdp_find_attr(d, 0, "sendrecv", 0), "") == 0);
    CHECK(dsrtp_sdp_find_attr(d, 0, "fmtp", 2) == NULL);
    CHECK(dsrtp_sdp_find_attr(d, 1, "fmtp", 0) == NULL);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_an_unknown_line_type(void)
{
    const char *text = HEAD "x=whatever\r\n" AUDIO;
    CHECK(expect_error(text, strlen(text), 6, "unknown line type"));
}

static void test_sdp_parse_reads_ipv6_offer_with_session_ice_lite(void)
{
    dsrtp_sdp *d = parse_file("ipv6_offer.sdp");
    CHECK(d != NULL);
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    CHECK_EQ(s->origin_address.family, DSRTP_SDP_ADDR_IP6);
    CHECK(s->ice_lite);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    CHECK_EQ(m->connection.family, DSRTP_SDP_ADDR_IP6);
    CHECK(strcmp(m->connection.address, "2001:db8::1") == 0);
    CHECK(m->ice_lite);
    CHECK(strcmp(m->ice_ufrag, "F7gI") == 0);
    CHECK(m->ice_pwd != NULL);
    CHECK_EQ(m->setup, DSRTP_SDP_SETUP_PASSIVE);
    CHECK(strcmp(m->tls_id, "abc3de65cddef001be82feac2d0f3e7") == 0);
    CHECK_EQ(m->direction, DSRTP_SDP_DIR_RECVONLY);
    CHECK(strcmp(m->candidates[0].address, "2001:db8::1") == 0);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_an_ipv6_connection_without_address(void)
{
    const char *text = HEAD "m=audio 5000 RTP/AVP 0\r\nc=IN IP6\r\n";
    CHECK(expect_error(text, strlen(text), 7, "bad c= line"));
}

static void test_sdp_parse_names_the_line_of_each_malformed_case(void)
{
    static const struct {
        const char *text;
        size_t line;
        const char *why;
    } cases[] = {
        {"", 1, "empty document"},
        {"o=- 1 1 IN IP4 192.0.2.1\r\n", 1, "does not start with v="},
        {"v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n", 1, "want v=0"},
        {"v=0\r\ns=-\r\n", 2, "o= must be the second line"},
        {"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n", 3, "s= must be the third line"},
        {"v=0\r\no=- x 1 IN IP4 192.0.2.1\r\ns=-\r\n", 2, "bad o= line"},
        {HEAD "t=now 0\r\n", 6, "bad t= line"},
        {HEAD "m=audio 70000 RTP/AVP 0\r\n", 6, "bad port"},
        {HEAD "m=audio 5000/0 RTP/AVP 0\r\n", 6, "bad port"},
        {HEAD "m=audio 5000 RTP//AVP 0\r\n", 6, "bad proto"},
        {HEAD "m=audio 5000 RTP/AVP\r\n", 6, "without formats"},
        {HEAD AUDIO "c=IN IP4\r\n", 7, "bad c= line"},
        {HEAD AUDIO "c=IN IP4 192.0.2.2\r\nc=IN IP4 192.0.2.3\r\n", 8, "duplicate c="},
        {HEAD AUDIO "a=setup:bogus\r\n", 7, "bad a=setup"},
        {HEAD AUDIO "a=setup:active\r\na=setup:passive\r\n", 8, "duplicate a=setup"},
        {HEAD AUDIO "a=mid:a\r\na=mid:b\r\n", 8, "duplicate a=mid"},
        {HEAD AUDIO "a=mid:a b\r\n", 7, "bad a=mid"},
        {HEAD AUDIO "a=ice-ufrag:abc\r\n", 7, "bad a=ice-ufrag"},
        {HEAD AUDIO "a=ice-pwd:tooshort\r\n", 7, "bad a=ice-pwd"},
        {HEAD AUDIO "a=ice-pwd:0123456789012345678901\r\na=ice-pwd:0123456789012345678901\r\n",
         8, "duplicate a=ice-pwd"},
        {HEAD AUDIO "a=tls-id:short\r\n", 7, "bad a=tls-id"},
        {HEAD AUDIO "a=rtcp-mux:yes\r\n", 7, "flag attribute with a value"},
        {HEAD AUDIO "a=rtpmap\r\n", 7, "without a value"},
        {HEAD AUDIO "a=rtpmap:200 foo/8000\r\n", 7, "bad a=rtpmap"},
        {HEAD AUDIO "a=rtpmap:0 PCMU\r\n", 7, "bad a=rtpmap"},
        {HEAD AUDIO "a=rtcp:99999\r\n", 7, "bad a=rtcp"},
        {HEAD AUDIO "a=candidate:1 1 UDP 1 192.0.2.1 70000 typ host\r\n", 7, "port"},
        {HEAD AUDIO "a=candidate:1 0 UDP 1 192.0.2.1 5000 typ host\r\n", 7, "component"},
        {HEAD AUDIO "a=sendonly\r\na=recvonly\r\n", 8, "more than one direction"},
        {HEAD AUDIO "a=group:BUNDLE 0\r\na=bad name:1\r\n", 8, "bad attribute name"},
        {HEAD AUDIO "t=0 0\r\n", 7, "inside a media section"},
        {HEAD AUDIO "s=again\r\n", 7, "misplaced"},
        {HEAD "o=- 1 1 IN IP4 192.0.2.1\r\n", 6, "misplaced"},
        {HEAD "hello\r\n", 6, "<letter>=<value>"},
        {HEAD " a=x\r\n", 6, "<letter>=<value>"},
        {HEAD "\r\n" AUDIO, 6, "empty line"},
        {HEAD AUDIO "a=x\ry\r\n", 7, "CR not followed by LF"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(expect_error(cases[i].text, strlen(cases[i].text), cases[i].line, cases[i].why));
    }
    static const char nul[] = HEAD "a=x\0y\r\n";
    CHECK(expect_error(nul, sizeof nul - 1, 6, "NUL byte"));
}

static void test_sdp_parse_accepts_trailing_blank_lines_and_a_missing_final_line_end(void)
{
    dsrtp_sdp *d = NULL;
    CHECK_OK(parse_str(HEAD AUDIO "a=sendonly\r\n\r\n\n", &d, NULL));
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->direction, DSRTP_SDP_DIR_SENDONLY);
    dsrtp_sdp_free(d);
    CHECK_OK(parse_str(HEAD AUDIO "a=sendonly", &d, NULL));
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->direction, DSRTP_SDP_DIR_SENDONLY);
    dsrtp_sdp_free(d);
}

static void test_sdp_parse_rejects_a_blank_line_before_more_text(void)
{
    const char *text = HEAD AUDIO "\r\na=sendonly\r\n";
    CHECK(expect_error(text, strlen(text), 7, "empty line"));
}

static void test_sdp_parse_inherits_session_direction_and_defaults_to_sendrecv(void)
{
    dsrtp_sdp *d = NULL;
    CHECK_OK(parse_str(HEAD "a=inactive\r\n" AUDIO AUDIO "a=sendonly\r\n", &d, NULL));
    CHECK_EQ(dsrtp_sdp_get_session(d)->direction, DSRTP_SDP_DIR_INACTIVE);
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->direction, DSRTP_SDP_DIR_INACTIVE);
    CHECK_EQ(dsrtp_sdp_get_media(d, 1)->direction, DSRTP_SDP_DIR_SENDONLY);
    dsrtp_sdp_free(d);
    CHECK_OK(parse_str(HEAD AUDIO, &d, NULL));
    CHECK_EQ(dsrtp_sdp_get_media(d, 0)->direction, DSRTP_SDP_DIR_SENDRECV);
    CHECK(dsrtp_sdp_get_media(d, 1) == NULL);
    dsrtp_sdp_free(d);
}

/* ---- caps: N accepted, N + 1 refused at the line that crosses it ---- */

typedef struct buf {
    char *p;
    size_t len;
} buf;

static void add(buf *b, const char *s)
{
    size_t n = strlen(s);
    b->p = realloc(b->p, b->len + n + 1);
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* HEAD AUDIO plus count copies of line; returns the text. */
static buf with_lines(const char *line, size_t count)
{
    buf b = {NULL, 0};
    add(&b, HEAD AUDIO);
    for (size_t i = 0; i < count; i++) {
        add(&b, line);
    }
    return b;
}

static int cap_holds(const char *line, size_t limit, const char *why)
{
    buf ok = with_lines(line, limit);
    buf over = with_lines(line, limit + 1);
    dsrtp_sdp *d = NULL;
    dsrtp_sdp_error err = {0, NULL};
    int good = dsrtp_sdp_parse(ok.p, ok.len, &d, &err) == DSRTP_OK;
    if (!good) {
        fprintf(stderr, "  %zu x '%s' refused: line %zu: %s\n", limit, line, err.line,
                err.reason);
    }
    dsrtp_sdp_free(d);
    good = good && expect_error(over.p, over.len, 6 + limit + 1, why);
    free(ok.p);
    free(over.p);
    return good;
}

static void test_sdp_parse_enforces_per_section_caps(void)
{
    CHECK(cap_holds("a=candidate:1 1 UDP 1 192.0.2.1 5000 typ host\r\n",
                    DSRTP_SDP_MAX_CANDIDATES, "too many a=candidate"));
    CHECK(cap_holds("a=fingerprint:" FP256 "\r\n", DSRTP_SDP_MAX_FINGERPRINTS,
                    "too many a=fingerprint"));
    CHECK(cap_holds("a=crypto:1 FOO inline:x\r\n", DSRTP_SDP_MAX_CRYPTO, "too many a=crypto"));
    CHECK(cap_holds("a=rtpmap:0 PCMU/8000\r\n", DSRTP_SDP_MAX_RTPMAPS, "too many a=rtpmap"));
    CHECK(cap_holds("a=x-any\r\n", DSRTP_SDP_MAX_ATTRS, "too many attributes"));
    CHECK(cap_holds("m=audio 0 RTP/AVP 0\r\n", DSRTP_SDP_MAX_MEDIA - 1, "too many m-lines"));
}

static void test_sdp_parse_enforces_the_line_count_cap(void)
{
    buf ok = with_lines("b=AS:1\r\n", DSRTP_SDP_MAX_LINES - 6);
    dsrtp_sdp *d = NULL;
    CHECK_OK(dsrtp_sdp_parse(ok.p, ok.len, &d, NULL));
    dsrtp_sdp_free(d);
    add(&ok, "b=AS:1\r\n");
    CHECK(expect_error(ok.p, ok.len, DSRTP_SDP_MAX_LINES + 1, "too many lines"));
    free(ok.p);
}

static void test_sdp_parse_enforces_the_line_length_cap(void)
{
    char *line = malloc(DSRTP_SDP_MAX_LINE_LEN + 8);
    memcpy(line, "a=x:", 4);
    memset(line + 4, 'y', DSRTP_SDP_MAX_LINE_LEN - 4);
    memcpy(line + DSRTP_SDP_MAX_LINE_LEN, "\r\n", 3);
    buf b = with_lines(line, 1);
    dsrtp_sdp *d = NULL;
    CHECK_OK(dsrtp_sdp_parse(b.p, b.len, &d, NULL));
    dsrtp_sdp_free(d);
    free(b.p);
    memcpy(line + DSRTP_SDP_MAX_LINE_LEN, "y\r\n", 4);
    b = with_lines(line, 1);
    CHECK(expect_error(b.p, b.len, 7, "line too long"));
    free(b.p);
    free(line);
}

static void test_sdp_parse_enforces_the_format_and_group_caps(void)
{
    buf b = {NULL, 0};
    add(&b, HEAD "a=group:BUNDLE");
    for (int i = 0; i <= DSRTP_SDP_MAX_GROUP_MIDS; i++) {
        add(&b, " m");
    }
    add(&b, "\r\n");
    CHECK(expect_error(b.p, b.len, 6, "too many tags"));
    free(b.p);
    b.p = NULL;
    b.len = 0;
    add(&b, HEAD "m=audio 5000 RTP/AVP");
    for (int i = 0; i <= DSRTP_SDP_MAX_FORMATS; i++) {
        add(&b, " 0");
    }
    add(&b, "\r\n");
    CHECK(expect_error(b.p, b.len, 6, "too many formats"));
    free(b.p);
}

static void test_sdp_parse_refuses_null_arguments(void)
{
    dsrtp_sdp *d = NULL;
    CHECK_ERR(dsrtp_sdp_parse("v=0", 3, NULL, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_parse(NULL, 3, &d, NULL), DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp_free(NULL);
    CHECK(dsrtp_sdp_get_media(NULL, 0) == NULL);
    CHECK_EQ(dsrtp_sdp_media_count(NULL), 0);
}

RUN_TESTS(TEST(test_sdp_parse_reads_chromium_offer_with_bundle_ice_and_dtls),
          TEST(test_sdp_parse_rejects_chromium_offer_with_a_truncated_fingerprint),
          TEST(test_sdp_parse_reads_groups_with_and_without_tags),
          TEST(test_sdp_parse_rejects_a_group_without_semantics),
          TEST(test_sdp_parse_reads_aiortc_offer_with_three_fingerprints),
          TEST(test_sdp_parse_rejects_a_candidate_without_typ),
          TEST(test_sdp_parse_applies_baresip_session_fingerprint_in_upper_case),
          TEST(test_sdp_parse_lets_a_media_fingerprint_override_the_session_one),
          TEST(test_sdp_parse_rejects_a_session_fingerprint_with_bad_hex),
          TEST(test_sdp_parse_skips_a_fingerprint_with_an_unknown_hash),
          TEST(test_sdp_parse_decodes_sdes_keys_lifetime_and_mki),
          TEST(test_sdp_parse_rejects_sdes_keys_of_the_wrong_shape),
          TEST(test_sdp_parse_flags_sdes_lines_it_cannot_carry),
          TEST(test_sdp_parse_reads_plain_pbx_offer_with_lf_line_ends),
          TEST(test_sdp_parse_rejects_an_unknown_line_type),
          TEST(test_sdp_parse_reads_ipv6_offer_with_session_ice_lite),
          TEST(test_sdp_parse_rejects_an_ipv6_connection_without_address),
          TEST(test_sdp_parse_names_the_line_of_each_malformed_case),
          TEST(test_sdp_parse_accepts_trailing_blank_lines_and_a_missing_final_line_end),
          TEST(test_sdp_parse_rejects_a_blank_line_before_more_text),
          TEST(test_sdp_parse_inherits_session_direction_and_defaults_to_sendrecv),
          TEST(test_sdp_parse_enforces_per_section_caps),
          TEST(test_sdp_parse_enforces_the_line_count_cap),
          TEST(test_sdp_parse_enforces_the_line_length_cap),
          TEST(test_sdp_parse_enforces_the_format_and_group_caps),
          TEST(test_sdp_parse_refuses_null_arguments))
