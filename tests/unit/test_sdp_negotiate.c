/* The offer/answer keying policy: every a=setup value against our side, DTLS only / SDES
 * only / both / none, insecure signalling, SDES suite choice, answers that conflict, and
 * the DTLS restart rule for re-offers (fingerprint, tls-id). */
#include <dsrtp/sdp.h>
#include <dsrtp/util.h>

#include "harness/check.h"

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
#define FP_A                                                                               \
    "a=fingerprint:sha-256 60:4F:D7:53:AF:EB:4A:37:EC:50:E1:44:01:F1:BC:87:1C:49:24:AE:29:" \
    "6E:CF:D7:33:02:F8:3B:15:3A:05:8F\r\n"
#define FP_B                                                                               \
    "a=fingerprint:sha-256 A3:13:C4:D7:D9:7F:17:56:83:FB:18:19:53:A8:E7:2D:55:3F:4A:9C:93:" \
    "77:0F:08:85:23:19:5B:E7:B6:D9:8C\r\n"
#define FP_384                                                                             \
    "a=fingerprint:sha-384 3F:5C:F2:3C:80:1D:4D:D2:49:DA:55:CD:10:F5:4C:BC:2A:DF:8A:1F:A5:" \
    "5D:93:B7:72:CF:13:D8:CC:20:78:23:7A:BB:56:3F:C8:19:1E:96:48:17:20:52:2A:17:CA:42\r\n"
#define KEY1 "mcK0IcCHiqLoCeJJgv//xgwViNzTulXmSJqq6zxY"
#define KEY2 "wc5YXPfODbskNYylG44uRb8agATLy+SePvDkqyEY"
#define KEY256 "swntYhsI+3VucBKpEljFHKa8kx+DdQONK55Aa4yug5lP+7YvGSPT88WoY04Qqw=="

/* Up to four parsed descriptions live at once; each test frees them with release(). */
static dsrtp_sdp *docs[4];
static size_t ndocs;

static const dsrtp_sdp_media *mline(const char *proto, const char *attrs)
{
    char text[4096];
    snprintf(text, sizeof text, HEAD "m=audio 5000 %s 0\r\n%s", proto, attrs);
    dsrtp_sdp_error err = {0, NULL};
    dsrtp_sdp *d = NULL;
    if (ndocs == 4 || dsrtp_sdp_parse(text, strlen(text), &d, &err) != DSRTP_OK) {
        fprintf(stderr, "test SDP refused: line %zu: %s\n", err.line, err.reason);
        abort();
    }
    docs[ndocs++] = d;
    return dsrtp_sdp_get_media(d, 0);
}

static void release(void)
{
    while (ndocs > 0) {
        dsrtp_sdp_free(docs[--ndocs]);
    }
}

static dsrtp_sdp_policy policy(unsigned keyings, bool secure)
{
    dsrtp_sdp_policy p;
    dsrtp_sdp_policy_init(&p);
    p.keyings = keyings;
    p.signalling_secure = secure;
    return p;
}

static const dsrtp_sdp_media *dtls_mline(const char *setup)
{
    char attrs[512];
    snprintf(attrs, sizeof attrs, FP_A "%s", setup);
    return mline("UDP/TLS/RTP/SAVPF", attrs);
}

static void test_sdp_negotiate_answers_each_offer_setup_with_the_rfc_role(void)
{
    static const struct {
        const char *offer;
        dsrtp_sdp_setup local;
        dsrtp_dtls_role role;
        bool handshake;
    } cases[] = {
        {"a=setup:actpass\r\n", DSRTP_SDP_SETUP_ACTIVE, DSRTP_DTLS_CLIENT, true},
        {"a=setup:active\r\n", DSRTP_SDP_SETUP_PASSIVE, DSRTP_DTLS_SERVER, true},
        {"a=setup:passive\r\n", DSRTP_SDP_SETUP_ACTIVE, DSRTP_DTLS_CLIENT, true},
        {"a=setup:holdconn\r\n", DSRTP_SDP_SETUP_HOLDCONN, DSRTP_DTLS_ROLE_UNSET, false},
        {"", DSRTP_SDP_SETUP_PASSIVE, DSRTP_DTLS_SERVER, true}, /* RFC 4145: active */
    };
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsrtp_sdp_decision d;
        CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, dtls_mline(cases[i].offer), NULL,
                                     &d, NULL));
        CHECK_EQ(d.keying, DSRTP_KEYING_DTLS);
        CHECK_EQ(d.local_setup, cases[i].local);
        CHECK_EQ(d.role, cases[i].role);
        CHECK_EQ(d.dtls_handshake, cases[i].handshake);
        CHECK_EQ(d.fingerprint_hash, DSRTP_HASH_SHA256);
        CHECK_EQ(d.remote_fingerprint_count, 1);
        CHECK_EQ(d.remote_fingerprints[0].value[0], 0x60);
        release();
    }
}

static void test_sdp_negotiate_reads_each_answer_setup_against_our_offer(void)
{
    static const struct {
        const char *ours;
        const char *theirs;
        dsrtp_err err;
        dsrtp_sdp_fail fail;
        dsrtp_dtls_role role;
    } cases[] = {
        {"a=setup:actpass\r\n", "a=setup:active\r\n", DSRTP_OK, 0, DSRTP_DTLS_SERVER},
        {"a=setup:actpass\r\n", "a=setup:passive\r\n", DSRTP_OK, 0, DSRTP_DTLS_CLIENT},
        {"a=setup:actpass\r\n", "", DSRTP_OK, 0, DSRTP_DTLS_CLIENT}, /* RFC 4145: passive */
        {"a=setup:actpass\r\n", "a=setup:holdconn\r\n", DSRTP_OK, 0, DSRTP_DTLS_ROLE_UNSET},
        {"a=setup:active\r\n", "a=setup:passive\r\n", DSRTP_OK, 0, DSRTP_DTLS_CLIENT},
        {"a=setup:passive\r\n", "a=setup:active\r\n", DSRTP_OK, 0, DSRTP_DTLS_SERVER},
        {"a=setup:actpass\r\n", "a=setup:actpass\r\n", DSRTP_ERR_MALFORMED,
         DSRTP_SDP_FAIL_BAD_SETUP, 0},
        {"a=setup:active\r\n", "a=setup:active\r\n", DSRTP_ERR_MALFORMED,
         DSRTP_SDP_FAIL_ROLE_CONFLICT, 0},
        {"a=setup:passive\r\n", "a=setup:passive\r\n", DSRTP_ERR_MALFORMED,
         DSRTP_SDP_FAIL_ROLE_CONFLICT, 0},
        {"a=setup:holdconn\r\n", "a=setup:active\r\n", DSRTP_ERR_MALFORMED,
         DSRTP_SDP_FAIL_BAD_SETUP, 0},
    };
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsrtp_sdp_decision d;
        memset(&d, 0x5a, sizeof d);
        dsrtp_sdp_failure why = {DSRTP_SDP_FAIL_NONE, NULL};
        const dsrtp_sdp_media *ours = dtls_mline(cases[i].ours);
        const dsrtp_sdp_media *theirs = dtls_mline(cases[i].theirs);
        CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_OFFERER, theirs, ours, &d, &why),
                  cases[i].err);
        if (cases[i].err == DSRTP_OK) {
            CHECK_EQ(d.role, cases[i].role);
            CHECK_EQ(d.dtls_handshake, cases[i].role != DSRTP_DTLS_ROLE_UNSET);
            CHECK_EQ(d.local_setup, ours->setup);
        } else {
            CHECK_EQ(why.code, cases[i].fail);
            CHECK(why.reason != NULL);
            CHECK_EQ(((const uint8_t *)&d)[0], 0x5a); /* untouched on failure */
        }
        release();
    }
}

static void test_sdp_negotiate_answers_fingerprints_with_the_offers_hash(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    dsrtp_sdp_decision d;
    const dsrtp_sdp_media *m = mline("UDP/TLS/RTP/SAVPF", FP_384 FP_A "a=setup:actpass\r\n");
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.fingerprint_hash, DSRTP_HASH_SHA384);
    CHECK_EQ(d.remote_fingerprint_count, 2);
    release();
}

static void test_sdp_negotiate_refuses_a_dtls_transport_without_fingerprint(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES, true);
    dsrtp_sdp_decision d;
    dsrtp_sdp_failure why;
    const dsrtp_sdp_media *m = mline("UDP/TLS/RTP/SAVPF", "a=setup:actpass\r\n"
                                     "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:"
                                     "CC:DD:EE:FF\r\n");
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, &why),
              DSRTP_ERR_UNSUPPORTED);
    CHECK_EQ(why.code, DSRTP_SDP_FAIL_NO_FINGERPRINT);
    release();
}

/* The keyings matrix: what the m-line offers x what the policy accepts. */
static void test_sdp_negotiate_picks_the_strongest_keying_both_sides_allow(void)
{
    const char *sdes = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n";
    const char *both = FP_A "a=setup:actpass\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1
                            "\r\n";
    static const struct {
        const char *proto;
        int attrs; /* 0 dtls, 1 sdes, 2 both, 3 nothing */
        unsigned keyings;
        dsrtp_err err;
        unsigned want; /* keying, or the failure code when err != OK */
    } cases[] = {
        {"UDP/TLS/RTP/SAVPF", 0, DSRTP_KEYING_DTLS, DSRTP_OK, DSRTP_KEYING_DTLS},
        {"UDP/TLS/RTP/SAVPF", 0, DSRTP_KEYING_SDES, DSRTP_ERR_UNSUPPORTED,
         DSRTP_SDP_FAIL_NO_KEYING},
        {"UDP/TLS/RTP/SAVPF", 0, DSRTP_KEYING_NONE, DSRTP_ERR_UNSUPPORTED,
         DSRTP_SDP_FAIL_NO_KEYING},
        {"RTP/SAVP", 1, DSRTP_KEYING_SDES, DSRTP_OK, DSRTP_KEYING_SDES},
        {"RTP/SAVP", 1, DSRTP_KEYING_DTLS, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_NO_KEYING},
        {"RTP/SAVP", 1, DSRTP_KEYING_NONE, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_NO_KEYING},
        {"RTP/SAVPF", 2, DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES, DSRTP_OK, DSRTP_KEYING_DTLS},
        {"RTP/SAVPF", 2, DSRTP_KEYING_SDES, DSRTP_OK, DSRTP_KEYING_SDES},
        {"RTP/SAVPF", 2, DSRTP_KEYING_DTLS, DSRTP_OK, DSRTP_KEYING_DTLS},
        {"RTP/AVP", 3, DSRTP_KEYING_NONE, DSRTP_OK, DSRTP_KEYING_NONE},
        {"RTP/AVP", 3, DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES, DSRTP_ERR_UNSUPPORTED,
         DSRTP_SDP_FAIL_NO_KEYING},
        {"RTP/AVPF", 1, DSRTP_KEYING_SDES | DSRTP_KEYING_NONE, DSRTP_OK, DSRTP_KEYING_SDES},
        {"RTP/AVP", 0, DSRTP_KEYING_DTLS | DSRTP_KEYING_NONE, DSRTP_OK, DSRTP_KEYING_DTLS},
        {"RTP/SAVP", 3, DSRTP_KEYING_SDES | DSRTP_KEYING_NONE, DSRTP_ERR_UNSUPPORTED,
         DSRTP_SDP_FAIL_NO_KEYING},
        {"UDP/DTLS/SCTP", 0, DSRTP_KEYING_DTLS, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_PROTO},
    };
    const char *attrs[4] = {FP_A "a=setup:actpass\r\n", sdes, both, ""};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsrtp_sdp_policy p = policy(cases[i].keyings, true);
        dsrtp_sdp_decision d;
        dsrtp_sdp_failure why = {DSRTP_SDP_FAIL_NONE, NULL};
        const dsrtp_sdp_media *m = mline(cases[i].proto, attrs[cases[i].attrs]);
        dsrtp_err e = dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, &why);
        if (e != cases[i].err) {
            fprintf(stderr, "  case %zu: %s (%s)\n", i, dsrtp_strerror(e),
                    why.reason != NULL ? why.reason : "");
        }
        CHECK_ERR(e, cases[i].err);
        CHECK_EQ(e == DSRTP_OK ? (unsigned)d.keying : (unsigned)why.code, cases[i].want);
        release();
    }
}

static void test_sdp_negotiate_refuses_sdes_over_insecure_signalling(void)
{
    const dsrtp_sdp_media *m =
        mline("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n");
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES, false);
    dsrtp_sdp_decision d;
    dsrtp_sdp_failure why;
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, &why),
              DSRTP_ERR_UNSUPPORTED);
    CHECK_EQ(why.code, DSRTP_SDP_FAIL_INSECURE_SDES);
    p.allow_insecure_sdes = true;
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.keying, DSRTP_KEYING_SDES);
    p = policy(DSRTP_KEYING_SDES, true);
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.keying, DSRTP_KEYING_SDES);
    dsrtp_sdp_decision_wipe(&d);
    release();
}

static void test_sdp_negotiate_answers_opportunistic_srtp_in_plain_over_insecure_signalling(void)
{
    /* RFC 8643: keys on an RTP/AVP line are optional; refused here, plain RTP stays. */
    const dsrtp_sdp_media *m =
        mline("RTP/AVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n");
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES | DSRTP_KEYING_NONE, false);
    dsrtp_sdp_decision d;
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.keying, DSRTP_KEYING_NONE);
    p.keyings = DSRTP_KEYING_SDES;
    dsrtp_sdp_failure why;
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, &why),
              DSRTP_ERR_UNSUPPORTED);
    CHECK_EQ(why.code, DSRTP_SDP_FAIL_INSECURE_SDES);
    release();
}

static void test_sdp_negotiate_takes_the_first_offered_suite_we_support(void)
{
    const dsrtp_sdp_media *m =
        mline("RTP/SAVP", "a=crypto:1 F8_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
                          "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "|2^20|3:1\r\n"
                          "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n");
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES, true);
    dsrtp_sdp_decision d;
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.keying, DSRTP_KEYING_SDES);
    CHECK_EQ(d.sdes_profile, DSRTP_AES_CM_128_HMAC_SHA1_32);
    CHECK_EQ(d.sdes_tag, 2);
    CHECK(d.generate_local_key);
    uint8_t want[30];
    size_t n = 0;
    CHECK_OK(dsrtp_base64_decode(KEY2, strlen(KEY2), want, sizeof want, &n));
    CHECK_EQ(d.remote_key.key_len, 16);
    CHECK_MEM(d.remote_key.key, want, 16);
    CHECK_MEM(d.remote_key.salt, want + 16, 14);
    CHECK_EQ(d.remote_key.mki_len, 1);
    CHECK_EQ(d.remote_key.mki[0], 3);
    CHECK_EQ(d.remote_key.lifetime, 1u << 20);
    /* Our own preference does not reorder the offer. */
    p.sdes_suites[0] = DSRTP_AES_CM_128_HMAC_SHA1_80;
    p.sdes_suite_count = 1;
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.sdes_tag, 3);
    dsrtp_sdp_decision_wipe(&d);
    CHECK_EQ(d.remote_key.key[0], 0);
    CHECK_EQ(d.sdes_tag, 0);
    release();
}

static void test_sdp_negotiate_refuses_an_offer_of_only_unsupported_suites(void)
{
    const dsrtp_sdp_media *m =
        mline("RTP/SAVP", "a=crypto:1 F8_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
                          "a=crypto:2 AES_256_CM_HMAC_SHA1_80 inline:" KEY256 "\r\n");
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES, true);
    p.sdes_suites[0] = DSRTP_AES_CM_128_HMAC_SHA1_80;
    p.sdes_suite_count = 1;
    dsrtp_sdp_decision d;
    dsrtp_sdp_failure why;
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, &why),
              DSRTP_ERR_UNSUPPORTED);
    CHECK_EQ(why.code, DSRTP_SDP_FAIL_NO_SUITE);
    p.sdes_suites[1] = DSRTP_AES_256_CM_HMAC_SHA1_80;
    p.sdes_suite_count = 2;
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.sdes_profile, DSRTP_AES_256_CM_HMAC_SHA1_80);
    CHECK_EQ(d.remote_key.key_len, 32);
    dsrtp_sdp_decision_wipe(&d);
    release();
}

static void test_sdp_negotiate_checks_an_sdes_answer_against_our_offer(void)
{
    const dsrtp_sdp_media *ours =
        mline("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY1 "\r\n"
                          "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY1 "\r\n");
    const dsrtp_sdp_media *good =
        mline("RTP/SAVP", "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "\r\n");
    const dsrtp_sdp_media *wrong_tag =
        mline("RTP/SAVP", "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "\r\n");
    const dsrtp_sdp_media *two =
        mline("RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY2 "\r\n"
                          "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY2 "\r\n");
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES, true);
    dsrtp_sdp_decision d;
    dsrtp_sdp_failure why;
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_OFFERER, good, ours, &d, NULL));
    CHECK_EQ(d.sdes_tag, 2);
    CHECK(!d.generate_local_key);
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_OFFERER, wrong_tag, ours, &d, &why),
              DSRTP_ERR_MALFORMED);
    CHECK_EQ(why.code, DSRTP_SDP_FAIL_BAD_CRYPTO);
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_OFFERER, two, ours, &d, &why),
              DSRTP_ERR_MALFORMED);
    CHECK_EQ(why.code, DSRTP_SDP_FAIL_BAD_CRYPTO);
    dsrtp_sdp_decision_wipe(&d);
    release();
}

static void test_sdp_negotiate_refuses_a_disabled_stream_and_bad_arguments(void)
{
    dsrtp_sdp *doc = NULL;
    const char *text = HEAD "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n" FP_A;
    CHECK_OK(dsrtp_sdp_parse(text, strlen(text), &doc, NULL));
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    dsrtp_sdp_decision d;
    dsrtp_sdp_failure why;
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(doc, 0);
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, &why),
              DSRTP_ERR_UNSUPPORTED);
    CHECK_EQ(why.code, DSRTP_SDP_FAIL_REJECTED);
    p.keyings = 0;
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL),
              DSRTP_ERR_INVALID_ARG);
    p.keyings = 1u << 5;
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL),
              DSRTP_ERR_INVALID_ARG);
    p.keyings = DSRTP_KEYING_DTLS;
    CHECK_ERR(dsrtp_sdp_negotiate(&p, (dsrtp_sdp_side)7, m, NULL, &d, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_negotiate(NULL, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, NULL, NULL, &d, NULL),
              DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp_free(doc);
}

static void test_sdp_negotiate_keeps_dtls_for_a_reoffer_with_the_same_identity(void)
{
    const char *tls = "a=tls-id:abc3de65cddef001be82feac2d0f3e7\r\n";
    char a[512];
    char b[512];
    snprintf(a, sizeof a, FP_A FP_384 "%sa=ice-ufrag:aaaa\r\n", tls);
    snprintf(b, sizeof b, FP_384 FP_A "%sa=ice-ufrag:bbbb\r\n", tls); /* ICE restart only */
    const dsrtp_sdp_media *prev = mline("UDP/TLS/RTP/SAVPF", a);
    const dsrtp_sdp_media *next = mline("UDP/TLS/RTP/SAVPF", b);
    bool restart = true;
    const char *reason = NULL;
    CHECK_OK(dsrtp_sdp_dtls_restart(prev, next, &restart, &reason));
    CHECK(!restart);
    CHECK(strcmp(reason, "unchanged") == 0);
    release();
    prev = mline("UDP/TLS/RTP/SAVPF", FP_A);
    next = mline("UDP/TLS/RTP/SAVPF", FP_A);
    CHECK_OK(dsrtp_sdp_dtls_restart(prev, next, &restart, NULL));
    CHECK(!restart);
    release();
}

static void test_sdp_negotiate_restarts_dtls_when_fingerprint_or_tls_id_changes(void)
{
    static const struct {
        const char *prev;
        const char *next;
        const char *reason;
    } cases[] = {
        {FP_A, FP_B, "fingerprint changed"},
        {FP_A, FP_A FP_384, "fingerprint changed"},
        {FP_A, "", "fingerprint changed"},
        {FP_A "a=tls-id:abc3de65cddef001be82feac2d0f3e7\r\n",
         FP_A "a=tls-id:0000de65cddef001be82feac2d0f3e7\r\n", "tls-id changed"},
        {FP_A, FP_A "a=tls-id:abc3de65cddef001be82feac2d0f3e7\r\n", "tls-id changed"},
        {FP_A "a=tls-id:abc3de65cddef001be82feac2d0f3e7\r\n", FP_A, "tls-id changed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dsrtp_sdp_media *prev = mline("UDP/TLS/RTP/SAVPF", cases[i].prev);
        const dsrtp_sdp_media *next = mline("UDP/TLS/RTP/SAVPF", cases[i].next);
        bool restart = false;
        const char *reason = NULL;
        CHECK_OK(dsrtp_sdp_dtls_restart(prev, next, &restart, &reason));
        CHECK(restart);
        CHECK(strcmp(reason, cases[i].reason) == 0);
        release();
    }
    bool restart = false;
    CHECK_ERR(dsrtp_sdp_dtls_restart(NULL, NULL, &restart, NULL), DSRTP_ERR_INVALID_ARG);
}

RUN_TESTS(TEST(test_sdp_negotiate_answers_each_offer_setup_with_the_rfc_role),
          TEST(test_sdp_negotiate_reads_each_answer_setup_against_our_offer),
          TEST(test_sdp_negotiate_answers_fingerprints_with_the_offers_hash),
          TEST(test_sdp_negotiate_refuses_a_dtls_transport_without_fingerprint),
          TEST(test_sdp_negotiate_picks_the_strongest_keying_both_sides_allow),
          TEST(test_sdp_negotiate_refuses_sdes_over_insecure_signalling),
          TEST(test_sdp_negotiate_answers_opportunistic_srtp_in_plain_over_insecure_signalling),
          TEST(test_sdp_negotiate_takes_the_first_offered_suite_we_support),
          TEST(test_sdp_negotiate_refuses_an_offer_of_only_unsupported_suites),
          TEST(test_sdp_negotiate_checks_an_sdes_answer_against_our_offer),
          TEST(test_sdp_negotiate_refuses_a_disabled_stream_and_bad_arguments),
          TEST(test_sdp_negotiate_keeps_dtls_for_a_reoffer_with_the_same_identity),
          TEST(test_sdp_negotiate_restarts_dtls_when_fingerprint_or_tls_id_changes))
