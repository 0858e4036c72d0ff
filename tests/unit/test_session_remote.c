/* dsrtp_session_remote_from_sdp: what a session learns of its peer from an m-line and the
 * keying decision. */
#include "harness/check.h"

#include <dsrtp/session.h>

static const char offer[] = "v=0\r\n"
                            "o=- 1 1 IN IP4 192.0.2.10\r\n"
                            "s=-\r\n"
                            "c=IN IP4 192.0.2.10\r\n"
                            "t=0 0\r\n"
                            "a=fingerprint:sha-256 "
                            "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"
                            "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n"
                            "m=audio 40000 UDP/TLS/RTP/SAVPF 0\r\n"
                            "a=setup:actpass\r\n"
                            "a=ice-ufrag:abcd\r\n"
                            "a=ice-pwd:0123456789abcdefghijkl\r\n"
                            "a=rtcp-mux\r\n";

static void decide(const char *text, dsrtp_sdp **sdp, dsrtp_sdp_decision *d)
{
    dsrtp_sdp_policy pol;
    dsrtp_sdp_policy_init(&pol);
    if (dsrtp_sdp_parse(text, strlen(text), sdp, NULL) != DSRTP_OK ||
        dsrtp_sdp_negotiate(&pol, DSRTP_SDP_ANSWERER, dsrtp_sdp_get_media(*sdp, 0), NULL, d,
                            NULL) != DSRTP_OK) {
        abort();
    }
}

static void test_session_remote_from_sdp_takes_address_role_fingerprint_and_ice(void)
{
    dsrtp_sdp *sdp = NULL;
    dsrtp_sdp_decision d;
    decide(offer, &sdp, &d);
    dsrtp_session_remote r;
    CHECK_OK(dsrtp_session_remote_from_sdp(dsrtp_sdp_get_media(sdp, 0), &d, true, &r));
    CHECK(r.has_addr);
    CHECK_EQ(r.addr.family, 4);
    CHECK_EQ(r.addr.port, 40000);
    CHECK_EQ(r.addr.ip[0], 192);
    CHECK_EQ(r.addr.ip[3], 10);
    CHECK_EQ(r.dtls_role, DSRTP_DTLS_CLIENT);
    CHECK_EQ(r.fingerprint_count, 1);
    CHECK_EQ(r.fingerprints[0].hash, DSRTP_HASH_SHA256);
    CHECK_EQ(r.fingerprints[0].value[0], 0xaa);
    CHECK(strcmp(r.ice_ufrag, "abcd") == 0);
    CHECK(strcmp(r.ice_pwd, "0123456789abcdefghijkl") == 0);
    CHECK(!r.ice_lite);
    /* Without ICE in use the credentials stay out. */
    CHECK_OK(dsrtp_session_remote_from_sdp(dsrtp_sdp_get_media(sdp, 0), &d, false, &r));
    CHECK_EQ(r.ice_ufrag[0], '\0');
    dsrtp_sdp_decision_wipe(&d);
    dsrtp_sdp_free(sdp);
}

static void test_session_remote_from_sdp_gives_no_address_for_a_host_name(void)
{
    char text[sizeof offer + 32];
    snprintf(text, sizeof text, "%s", offer);
    char *c = strstr(text, "c=IN IP4 192.0.2.10");
    memcpy(c, "c=IN IP4 pbx.example", strlen("c=IN IP4 pbx.example"));
    memmove(c + strlen("c=IN IP4 pbx.example"), c + strlen("c=IN IP4 192.0.2.10"),
            strlen(c + strlen("c=IN IP4 192.0.2.10")) + 1);
    dsrtp_sdp *sdp = NULL;
    dsrtp_sdp_decision d;
    decide(text, &sdp, &d);
    dsrtp_session_remote r;
    CHECK_OK(dsrtp_session_remote_from_sdp(dsrtp_sdp_get_media(sdp, 0), &d, true, &r));
    CHECK(!r.has_addr);
    CHECK_ERR(dsrtp_session_remote_from_sdp(NULL, &d, true, &r), DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp_decision_wipe(&d);
    dsrtp_sdp_free(sdp);
}

RUN_TESTS(TEST(test_session_remote_from_sdp_takes_address_role_fingerprint_and_ice),
          TEST(test_session_remote_from_sdp_gives_no_address_for_a_host_name))
