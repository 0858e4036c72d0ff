/* SDP in the forms real endpoints send (tests/fixtures/sdp/, hand-written, CRLF as on the
 * wire): browsers (Chrome, Firefox, Safari), PBXs (Asterisk with DTLS and with SDES,
 * FreeSWITCH with SDES and with DTLS), Janus, rtpengine, desk phones and baresip.
 * Each fixture writes back byte for byte; its typed view holds the keying values written
 * out below; the offer/answer policy decides it as a gateway facing that endpoint should.
 * Every family has a rejecting twin: fingerprint gone or of an unknown hash, SDES over
 * insecure signalling, no suite in common, actpass or a clashing role in an answer. */
#include <dsrtp/sdp.h>
#include <dsrtp/util.h>

#include "harness/check.h"

static const char *const fixtures[] = {
    "chrome_offer",        "chrome_answer",       "firefox_offer",          "firefox_answer",
    "safari_offer",        "asterisk_dtls_offer", "asterisk_sdes_offer",    "freeswitch_offer",
    "janus_answer",        "rtpengine_offer",     "freeswitch_dtls_answer", "sip_phone_plain",
    "sip_phone_sdes",      "baresip_offer",
};
#define FIXTURE_COUNT (sizeof fixtures / sizeof fixtures[0])

/* The fixture's bytes, NUL-terminated; the caller frees them. */
static char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/sdp/%s.sdp", DSRTP_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    char *buf = malloc(65536);
    if (buf == NULL) {
        abort();
    }
    *len = fread(buf, 1, 65535, f);
    if (!feof(f)) {
        fprintf(stderr, "%s: larger than this test reads\n", path);
        abort();
    }
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Documents parsed by a test; each test ends with release(). Loops print the case they are
 * on to stderr, so that a failing CHECK inside one names its fixture. */
static dsrtp_sdp *docs[8];
static size_t ndocs;

static void release(void)
{
    while (ndocs > 0) {
        dsrtp_sdp_free(docs[--ndocs]);
    }
}

/* Parses text (a fixture or a variant of one); NULL, with the reason printed, if refused. */
static dsrtp_sdp *parse_as(const char *label, const char *text, size_t len)
{
    dsrtp_sdp *d = NULL;
    dsrtp_sdp_error err = {0, NULL};
    if (ndocs == sizeof docs / sizeof docs[0]) {
        fprintf(stderr, "too many documents in one test\n");
        abort();
    }
    if (dsrtp_sdp_parse(text, len, &d, &err) != DSRTP_OK) {
        fprintf(stderr, "%s refused: line %zu: %s\n", label, err.line,
                err.reason != NULL ? err.reason : "(none)");
        return NULL;
    }
    docs[ndocs++] = d;
    return d;
}

static dsrtp_sdp *fixture(const char *name)
{
    size_t len = 0;
    char *text = load(name, &len);
    dsrtp_sdp *d = parse_as(name, text, len);
    free(text);
    return d;
}

/* The fixture with every line starting with prefix removed. */
static dsrtp_sdp *fixture_without(const char *name, const char *prefix)
{
    size_t len = 0;
    char *text = load(name, &len);
    size_t plen = strlen(prefix);
    size_t out = 0;
    size_t removed = 0;
    for (size_t pos = 0; pos < len;) {
        const char *eol = strstr(text + pos, "\r\n");
        size_t line_len = eol != NULL ? (size_t)(eol - (text + pos)) + 2 : len - pos;
        if (strncmp(text + pos, prefix, plen) == 0) {
            removed++;
        } else {
            memmove(text + out, text + pos, line_len);
            out += line_len;
        }
        pos += line_len;
    }
    if (removed == 0) {
        fprintf(stderr, "%s has no line starting '%s'\n", name, prefix);
        abort();
    }
    dsrtp_sdp *d = parse_as(name, text, out);
    free(text);
    return d;
}

/* The fixture with every occurrence of from replaced by to. */
static dsrtp_sdp *fixture_replacing(const char *name, const char *from, const char *to)
{
    size_t len = 0;
    char *text = load(name, &len);
    size_t flen = strlen(from);
    size_t tlen = strlen(to);
    size_t hits = 0;
    for (const char *p = strstr(text, from); p != NULL; p = strstr(p + flen, from)) {
        hits++;
    }
    if (hits == 0) {
        fprintf(stderr, "%s has no '%s'\n", name, from);
        abort();
    }
    char *out = malloc(len + hits * tlen + 1);
    size_t n = 0;
    if (out == NULL) {
        abort();
    }
    for (size_t pos = 0; pos < len;) {
        if (strncmp(text + pos, from, flen) == 0) {
            memcpy(out + n, to, tlen);
            n += tlen;
            pos += flen;
        } else {
            out[n++] = text[pos++];
        }
    }
    dsrtp_sdp *d = parse_as(name, out, n);
    free(out);
    free(text);
    return d;
}

static const dsrtp_sdp_media *media_of(const dsrtp_sdp *d, size_t i)
{
    return d != NULL ? dsrtp_sdp_get_media(d, i) : NULL;
}

static dsrtp_sdp_policy policy(unsigned keyings, bool secure)
{
    dsrtp_sdp_policy p;
    dsrtp_sdp_policy_init(&p);
    p.keyings = keyings;
    p.signalling_secure = secure;
    return p;
}

/* Runs the policy on one m-line, expecting a refusal with err and code; the decision must
 * stay untouched. Returns 1 when it did. */
static int refused(const dsrtp_sdp_policy *p, dsrtp_sdp_side side, const dsrtp_sdp_media *m,
                   const dsrtp_sdp_media *ours, dsrtp_err err, dsrtp_sdp_fail code)
{
    dsrtp_sdp_decision d;
    dsrtp_sdp_failure why = {DSRTP_SDP_FAIL_NONE, NULL};
    memset(&d, 0x5a, sizeof d);
    if (m == NULL) {
        return 0;
    }
    dsrtp_err e = dsrtp_sdp_negotiate(p, side, m, ours, &d, &why);
    if (e != err || why.code != code || why.reason == NULL ||
        ((const uint8_t *)&d)[0] != 0x5a) {
        fprintf(stderr, "  want %s/%d, got %s/%d (%s)\n", dsrtp_strerror(err), (int)code,
                dsrtp_strerror(e), (int)why.code, why.reason != NULL ? why.reason : "");
        return 0;
    }
    return 1;
}

/* ---- round trip ---- */

static void test_sdp_fixtures_write_back_byte_for_byte(void)
{
    for (size_t i = 0; i < FIXTURE_COUNT; i++) {
        size_t len = 0;
        char *text = load(fixtures[i], &len);
        dsrtp_sdp *d = parse_as(fixtures[i], text, len);
        CHECK(d != NULL);
        char *out = malloc(len + 1);
        size_t out_len = 0;
        CHECK(out != NULL);
        CHECK_OK(dsrtp_sdp_write(d, out, len + 1, &out_len));
        CHECK_EQ(out_len, len);
        CHECK_MEM(out, text, len);
        /* One byte short of the NUL: refused, and the room needed reported. */
        CHECK_ERR(dsrtp_sdp_write(d, out, len, &out_len), DSRTP_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ(out_len, len + 1);
        free(out);
        free(text);
        release();
    }
}

static void test_sdp_fixtures_with_lf_line_ends_write_back_as_the_crlf_files(void)
{
    for (size_t i = 0; i < FIXTURE_COUNT; i++) {
        size_t len = 0;
        char *text = load(fixtures[i], &len);
        char *lf = malloc(len + 1);
        size_t lf_len = 0;
        CHECK(lf != NULL);
        for (size_t k = 0; k < len; k++) {
            if (text[k] != '\r') {
                lf[lf_len++] = text[k];
            }
        }
        CHECK(lf_len < len);
        dsrtp_sdp *d = parse_as(fixtures[i], lf, lf_len);
        CHECK(d != NULL);
        char *out = malloc(len + 1);
        size_t out_len = 0;
        CHECK(out != NULL);
        CHECK_OK(dsrtp_sdp_write(d, out, len + 1, &out_len));
        CHECK_EQ(out_len, len);
        CHECK_MEM(out, text, len);
        free(out);
        free(lf);
        free(text);
        release();
    }
}

/* Rejecting twin of the round trip: a CR left without its LF is not SDP text. */
static void test_sdp_fixtures_refuse_a_bare_cr_naming_its_line(void)
{
    for (size_t i = 0; i < FIXTURE_COUNT; i++) {
        size_t len = 0;
        char *text = load(fixtures[i], &len);
        char *third = strstr(strstr(strstr(text, "\r\n") + 2, "\r\n") + 2, "\r\n");
        third[1] = ' '; /* the s= line now ends in a lone CR */
        dsrtp_sdp *d = NULL;
        dsrtp_sdp_error err = {0, NULL};
        CHECK_ERR(dsrtp_sdp_parse(text, len, &d, &err), DSRTP_ERR_MALFORMED);
        CHECK(d == NULL);
        CHECK_EQ(err.line, 3);
        CHECK(err.reason != NULL && strstr(err.reason, "CR") != NULL);
        free(text);
    }
}

/* ---- typed view: what keying needs, per m-line ---- */

typedef struct want_media {
    const char *fixture;
    size_t index;
    const char *media;
    uint16_t port;
    dsrtp_sdp_proto proto;
    dsrtp_sdp_addr_family family;
    const char *address;
    bool connection_from_session;
    dsrtp_sdp_setup setup;
    size_t fingerprints;
    dsrtp_hash hash;
    uint8_t fp_head[3];
    bool fingerprints_from_session;
    const char *tls_id;
    const char *ufrag;
    bool has_pwd;
    const char *ice_options;
    bool ice_lite;
    size_t candidates;
    bool end_of_candidates;
    bool rtcp_mux;
    int rtcp_port; /* -1: no a=rtcp */
    const char *mid;
    dsrtp_sdp_direction dir;
    size_t crypto;
    size_t formats;
} want_media;

#define IP4 DSRTP_SDP_ADDR_IP4
#define IP6 DSRTP_SDP_ADDR_IP6
#define SAVPF DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVPF
#define ACTPASS DSRTP_SDP_SETUP_ACTPASS
#define ACTIVE DSRTP_SDP_SETUP_ACTIVE
#define PASSIVE DSRTP_SDP_SETUP_PASSIVE
#define NO_SETUP DSRTP_SDP_SETUP_NONE
#define SHA256 DSRTP_HASH_SHA256
#define SENDRECV DSRTP_SDP_DIR_SENDRECV
#define RECVONLY DSRTP_SDP_DIR_RECVONLY
#define INACTIVE DSRTP_SDP_DIR_INACTIVE

static const want_media media_wants[] = {
    /* fixture, m, media, port, proto, family, address, c= from session, setup,
     * fingerprints, hash, first bytes, from session, tls-id, ufrag, pwd, ice-options,
     * lite, candidates, end-of-candidates, rtcp-mux, a=rtcp port, mid, direction,
     * crypto lines, formats */
    {"chrome_offer", 0, "audio", 51312, SAVPF, IP4, "198.51.100.44", false, ACTPASS, 1,
     SHA256, {0x6d, 0x77, 0x1b}, false, NULL, "m79G", true, "trickle", false, 3, false, true,
     9, "0", SENDRECV, 0, 8},
    {"chrome_offer", 1, "video", 9, SAVPF, IP4, "0.0.0.0", false, ACTPASS, 1, SHA256,
     {0x6d, 0x77, 0x1b}, false, NULL, "m79G", true, "trickle", false, 0, false, true, 9, "1",
     SENDRECV, 0, 6},
    {"chrome_offer", 2, "application", 9, DSRTP_SDP_PROTO_OTHER, IP4, "0.0.0.0", false,
     ACTPASS, 1, SHA256, {0x6d, 0x77, 0x1b}, false, NULL, "m79G", true, "trickle", false, 0,
     false, false, -1, "2", SENDRECV, 0, 1},
    {"chrome_answer", 0, "audio", 60121, SAVPF, IP4, "198.51.100.61", false, ACTIVE, 1,
     SHA256, {0x21, 0x53, 0x9b}, false, NULL, "qQO9", true, "trickle", false, 1, false, true,
     9, "0", RECVONLY, 0, 3},
    {"chrome_answer", 1, "video", 0, SAVPF, IP4, "0.0.0.0", false, ACTIVE, 1, SHA256,
     {0x21, 0x53, 0x9b}, false, NULL, "qQO9", true, "trickle", false, 0, false, true, 9, "1",
     INACTIVE, 0, 1},
    {"firefox_offer", 0, "audio", 54321, SAVPF, IP4, "192.0.2.91", false, ACTPASS, 1, SHA256,
     {0x6d, 0x96, 0xeb}, true, NULL, "7533b801", true, "trickle", false, 5, true, true, -1,
     "0", SENDRECV, 0, 5},
    {"firefox_offer", 1, "video", 9, SAVPF, IP4, "0.0.0.0", false, ACTPASS, 1, SHA256,
     {0x6d, 0x96, 0xeb}, true, NULL, "7533b801", true, "trickle", false, 0, false, true, -1,
     "1", SENDRECV, 0, 11},
    {"firefox_answer", 0, "audio", 49170, SAVPF, IP6, "2001:db8::7", false, ACTIVE, 1, SHA256,
     {0xc2, 0xba, 0x7d}, true, NULL, "7c2cfe17", true, "trickle", false, 2, true, true, -1,
     "0", SENDRECV, 0, 2},
    {"firefox_answer", 1, "video", 0, SAVPF, IP4, "0.0.0.0", false, NO_SETUP, 1, SHA256,
     {0xc2, 0xba, 0x7d}, true, NULL, NULL, false, "trickle", false, 0, false, false, -1, "1",
     INACTIVE, 0, 1},
    {"safari_offer", 0, "audio", 57024, SAVPF, IP4, "198.51.100.150", false, ACTPASS, 1,
     SHA256, {0x6f, 0x14, 0x40}, false, NULL, "xlp4", true, "trickle", false, 2, false, true,
     9, "0", SENDRECV, 0, 8},
    {"asterisk_dtls_offer", 0, "audio", 14542, SAVPF, IP4, "192.0.2.10", true, ACTPASS, 1,
     SHA256, {0x29, 0x6b, 0x58}, false, NULL, "e3K6KM8q7IdiFSKV", true, NULL, false, 2, false,
     true, -1, "0", SENDRECV, 0, 4},
    {"asterisk_sdes_offer", 0, "audio", 17804, DSRTP_SDP_PROTO_RTP_SAVP, IP4, "192.0.2.12",
     true, NO_SETUP, 0, DSRTP_HASH_NONE, {0, 0, 0}, false, NULL, NULL, false, NULL, false, 0,
     false, false, -1, NULL, SENDRECV, 2, 4},
    {"freeswitch_offer", 0, "audio", 24680, DSRTP_SDP_PROTO_RTP_SAVP, IP4, "198.51.100.20",
     true, NO_SETUP, 0, DSRTP_HASH_NONE, {0, 0, 0}, false, NULL, NULL, false, NULL, false, 0,
     false, false, 24681, NULL, SENDRECV, 8, 6},
    {"freeswitch_dtls_answer", 0, "audio", 31472, SAVPF, IP4, "198.51.100.20", true, ACTIVE,
     1, SHA256, {0x60, 0x45, 0x4e}, false, NULL, "FAriJH9hKFen0j2h", true, NULL, false, 1,
     true, true, 31472, "0", SENDRECV, 0, 2},
    {"freeswitch_dtls_answer", 1, "video", 0, SAVPF, IP4, "198.51.100.20", true, NO_SETUP, 0,
     DSRTP_HASH_NONE, {0, 0, 0}, false, NULL, NULL, false, NULL, false, 0, false, false, -1,
     "1", SENDRECV, 0, 1},
    {"janus_answer", 0, "audio", 9, SAVPF, IP4, "192.0.2.50", false, PASSIVE, 1, SHA256,
     {0xe9, 0xc4, 0xaf}, false, NULL, "lk21", true, "trickle", true, 1, true, true, -1, "0",
     RECVONLY, 0, 1},
    {"janus_answer", 1, "video", 9, SAVPF, IP4, "192.0.2.50", false, PASSIVE, 1, SHA256,
     {0xe9, 0xc4, 0xaf}, false, NULL, "lk21", true, "trickle", true, 0, true, true, -1, "1",
     RECVONLY, 0, 2},
    {"rtpengine_offer", 0, "audio", 30000, SAVPF, IP4, "198.51.100.33", true, ACTPASS, 1,
     SHA256, {0x54, 0xaa, 0x15}, false, "f53fe9b7730b654aeb5215f49583abff", "HkOxwHvM", true,
     "trickle", true, 2, true, false, 30001, NULL, SENDRECV, 0, 3},
    {"sip_phone_plain", 0, "audio", 2222, DSRTP_SDP_PROTO_RTP_AVP, IP4, "192.0.2.77", true,
     NO_SETUP, 0, DSRTP_HASH_NONE, {0, 0, 0}, false, NULL, NULL, false, NULL, false, 0,
     false, false, -1, NULL, SENDRECV, 0, 5},
    {"sip_phone_sdes", 0, "audio", 52070, DSRTP_SDP_PROTO_RTP_SAVP, IP4, "192.0.2.88", true,
     NO_SETUP, 0, DSRTP_HASH_NONE, {0, 0, 0}, false, NULL, NULL, false, NULL, false, 0,
     false, false, -1, NULL, SENDRECV, 2, 5},
    {"baresip_offer", 0, "audio", 10196, DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVP, IP4,
     "192.0.2.130", true, ACTPASS, 1, SHA256, {0xe1, 0xa0, 0x0c}, true, NULL, NULL, false,
     NULL, false, 0, false, false, 10197, NULL, SENDRECV, 0, 4},
};

static bool same_str(const char *got, const char *want)
{
    if (got == NULL || want == NULL) {
        return got == want;
    }
    return strcmp(got, want) == 0;
}

static void test_sdp_fixtures_media_views_carry_the_keying_attributes(void)
{
    for (size_t i = 0; i < sizeof media_wants / sizeof media_wants[0]; i++) {
        const want_media *w = &media_wants[i];
        const dsrtp_sdp_media *m = media_of(fixture(w->fixture), w->index);
        fprintf(stderr, "%s m-line %zu\n", w->fixture, w->index);
        CHECK(m != NULL);
        CHECK(same_str(m->media, w->media));
        CHECK_EQ(m->port, w->port);
        CHECK_EQ(m->port_count, 1);
        CHECK_EQ(m->proto, w->proto);
        CHECK_EQ(m->format_count, w->formats);
        CHECK_EQ(m->connection.family, w->family);
        CHECK(same_str(m->connection.address, w->address));
        CHECK_EQ(m->connection_from_session, w->connection_from_session);
        CHECK_EQ(m->setup, w->setup);
        CHECK_EQ(m->fingerprint_count, w->fingerprints);
        CHECK_EQ(m->unsupported_fingerprints, 0);
        if (w->fingerprints > 0) {
            CHECK_EQ(m->fingerprints[0].hash, w->hash);
            CHECK_EQ(m->fingerprints[0].len, 32);
            CHECK_MEM(m->fingerprints[0].value, w->fp_head, sizeof w->fp_head);
            CHECK_EQ(m->fingerprints_from_session, w->fingerprints_from_session);
        }
        CHECK(same_str(m->tls_id, w->tls_id));
        CHECK(same_str(m->ice_ufrag, w->ufrag));
        CHECK_EQ(m->ice_pwd != NULL, w->has_pwd);
        CHECK(same_str(m->ice_options, w->ice_options));
        CHECK_EQ(m->ice_lite, w->ice_lite);
        CHECK_EQ(m->candidate_count, w->candidates);
        CHECK_EQ(m->end_of_candidates, w->end_of_candidates);
        CHECK_EQ(m->rtcp_mux, w->rtcp_mux);
        CHECK_EQ(m->has_rtcp, w->rtcp_port >= 0);
        if (w->rtcp_port >= 0) {
            CHECK_EQ(m->rtcp_port, w->rtcp_port);
        }
        CHECK(same_str(m->mid, w->mid));
        CHECK_EQ(m->direction, w->dir);
        CHECK_EQ(m->crypto_count, w->crypto);
        release();
    }
}

/* ---- typed view: session part, candidates, rtcp addresses, rtpmaps ---- */

static void test_sdp_fixtures_session_views_carry_groups_lite_and_fingerprints(void)
{
    static const struct {
        const char *fixture;
        const char *origin_username;
        const char *bundle; /* the BUNDLE tags, space-separated; NULL: no group */
        size_t fingerprints;
        bool ice_lite;
        dsrtp_sdp_direction dir;
        dsrtp_sdp_addr_family conn;
    } cases[] = {
        {"chrome_offer", "-", "0 1 2", 0, false, DSRTP_SDP_DIR_NONE, DSRTP_SDP_ADDR_NONE},
        {"chrome_answer", "-", "0 2", 0, false, DSRTP_SDP_DIR_NONE, DSRTP_SDP_ADDR_NONE},
        {"firefox_offer", "mozilla...THIS_IS_SDPARTA-128.0.3", "0 1", 1, false,
         DSRTP_SDP_DIR_NONE, DSRTP_SDP_ADDR_NONE},
        {"firefox_answer", "mozilla...THIS_IS_SDPARTA-128.0.3", "0", 1, false,
         DSRTP_SDP_DIR_NONE, DSRTP_SDP_ADDR_NONE},
        {"safari_offer", "-", "0 1", 0, false, DSRTP_SDP_DIR_NONE, DSRTP_SDP_ADDR_NONE},
        {"asterisk_dtls_offer", "-", "0", 0, false, DSRTP_SDP_DIR_NONE, IP4},
        {"asterisk_sdes_offer", "-", NULL, 0, false, DSRTP_SDP_DIR_NONE, IP4},
        {"freeswitch_offer", "FreeSWITCH", NULL, 0, false, DSRTP_SDP_DIR_NONE, IP4},
        {"freeswitch_dtls_answer", "FreeSWITCH", "0", 0, false, DSRTP_SDP_DIR_NONE, IP4},
        {"janus_answer", "-", "0 1", 0, true, DSRTP_SDP_DIR_NONE, DSRTP_SDP_ADDR_NONE},
        {"rtpengine_offer", "-", NULL, 0, true, DSRTP_SDP_DIR_NONE, IP4},
        {"sip_phone_plain", "-", NULL, 0, false, SENDRECV, IP4},
        {"sip_phone_sdes", "root", NULL, 0, false, DSRTP_SDP_DIR_NONE, IP4},
        {"baresip_offer", "-", NULL, 1, false, DSRTP_SDP_DIR_NONE, IP4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsrtp_sdp *d = fixture(cases[i].fixture);
        fprintf(stderr, "%s session\n", cases[i].fixture);
        CHECK(d != NULL);
        const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
        CHECK(same_str(s->origin_username, cases[i].origin_username));
        CHECK_EQ(s->fingerprint_count, cases[i].fingerprints);
        CHECK_EQ(s->ice_lite, cases[i].ice_lite);
        CHECK_EQ(s->direction, cases[i].dir);
        CHECK_EQ(s->connection.family, cases[i].conn);
        CHECK(s->ice_pwd == NULL && s->setup == DSRTP_SDP_SETUP_NONE);
        if (cases[i].bundle == NULL) {
            CHECK_EQ(s->group_count, 0);
        } else {
            char tags[64] = "";
            CHECK_EQ(s->group_count, 1);
            CHECK(same_str(s->groups[0].semantics, "BUNDLE"));
            for (size_t k = 0; k < s->groups[0].mid_count; k++) {
                strcat(tags, k > 0 ? " " : "");
                strcat(tags, s->groups[0].mids[k]);
            }
            CHECK(same_str(tags, cases[i].bundle));
            /* Every bundled tag names an m-line of this document. */
            for (size_t k = 0; k < s->groups[0].mid_count; k++) {
                bool found = false;
                for (size_t j = 0; j < dsrtp_sdp_media_count(d); j++) {
                    found = found || same_str(dsrtp_sdp_get_media(d, j)->mid,
                                              s->groups[0].mids[k]);
                }
                CHECK(found);
            }
        }
        release();
    }
}

static void test_sdp_fixtures_read_candidates_as_each_endpoint_writes_them(void)
{
    const dsrtp_sdp_media *chrome = media_of(fixture("chrome_offer"), 0);
    const dsrtp_sdp_media *firefox = media_of(fixture("firefox_offer"), 0);
    const dsrtp_sdp_media *safari = media_of(fixture("safari_offer"), 0);
    const dsrtp_sdp_media *asterisk = media_of(fixture("asterisk_dtls_offer"), 0);
    const dsrtp_sdp_media *rtpengine = media_of(fixture("rtpengine_offer"), 0);
    const dsrtp_sdp_media *janus = media_of(fixture("janus_answer"), 0);
    const dsrtp_sdp_media *freeswitch = media_of(fixture("freeswitch_dtls_answer"), 0);
    CHECK(chrome != NULL && firefox != NULL && safari != NULL && asterisk != NULL);
    CHECK(rtpengine != NULL && janus != NULL && freeswitch != NULL);

    const dsrtp_sdp_candidate *c = &chrome->candidates[1];
    CHECK(same_str(c->type, "srflx"));
    CHECK(same_str(c->address, "198.51.100.44"));
    CHECK(same_str(c->raddr, "192.0.2.44"));
    CHECK_EQ(c->rport, 51312);
    CHECK(same_str(c->extensions, "generation 0 network-id 1 network-cost 10"));
    c = &chrome->candidates[2];
    CHECK(same_str(c->transport, "tcp"));
    CHECK_EQ(c->port, 9);
    CHECK(same_str(c->extensions, "tcptype active generation 0 network-id 1 network-cost 10"));

    c = &firefox->candidates[1];
    CHECK(same_str(c->transport, "UDP"));
    CHECK(same_str(c->address, "2001:db8::91"));
    CHECK_EQ(c->port, 50123);
    CHECK(c->extensions == NULL && c->raddr == NULL && !c->has_rport);

    c = &safari->candidates[0];
    CHECK(same_str(c->address, "5e9c2a17-0b4d-4f38-a6e1-93d0c7b2f844.local"));
    c = &safari->candidates[1];
    CHECK(same_str(c->raddr, "0.0.0.0"));
    CHECK(c->has_rport);
    CHECK_EQ(c->rport, 0);

    CHECK(same_str(asterisk->candidates[0].foundation, "Hc000020a"));
    CHECK_EQ(asterisk->candidates[0].priority, 2130706431u);

    /* rtpengine lists an RTCP candidate (component 2) next to a=rtcp, without rtcp-mux. */
    c = &rtpengine->candidates[1];
    CHECK(same_str(c->foundation, "Xb7QmP2rK9sL4wTz"));
    CHECK_EQ(c->component, 2);
    CHECK_EQ(c->port, rtpengine->rtcp_port);
    CHECK(same_str(c->extensions, "generation 0"));
    CHECK_EQ(rtpengine->rtcp_address.family, DSRTP_SDP_ADDR_NONE);
    CHECK(rtpengine->rtcp_address.address == NULL);

    /* Janus writes port 9 on the m= line; the candidate carries the real port. */
    CHECK_EQ(janus->port, 9);
    CHECK_EQ(janus->candidates[0].port, 40514);

    CHECK_EQ(freeswitch->candidates[0].priority, 659136u);
    CHECK_EQ(freeswitch->rtcp_address.family, IP4);
    CHECK(same_str(freeswitch->rtcp_address.address, "198.51.100.20"));
    release();
}

static void test_sdp_fixtures_read_rtpmaps_and_unknown_attributes_verbatim(void)
{
    dsrtp_sdp *ff = fixture("firefox_offer");
    dsrtp_sdp *fs = fixture("freeswitch_dtls_answer");
    dsrtp_sdp *phone = fixture("sip_phone_plain");
    CHECK(ff != NULL && fs != NULL && phone != NULL);
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(ff, 0);
    CHECK_EQ(m->rtpmap_count, 5);
    CHECK(same_str(m->rtpmaps[1].encoding, "G722"));
    CHECK_EQ(m->rtpmaps[1].clock_rate, 8000);
    CHECK_EQ(m->rtpmaps[1].channels, 1); /* Firefox writes G722/8000/1 */
    CHECK(same_str(dsrtp_sdp_find_attr(ff, 0, "extmap", 1),
                   "2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level"));
    CHECK(same_str(dsrtp_sdp_find_attr(ff, DSRTP_SDP_SESSION, "msid-semantic", 0), "WMS *"));
    CHECK(same_str(dsrtp_sdp_find_attr(fs, 0, "silenceSupp", 0), "off - - - -"));
    m = dsrtp_sdp_get_media(phone, 0);
    CHECK_EQ(m->rtpmap_count, 5);
    CHECK_EQ(m->rtpmaps[4].payload_type, 127);
    CHECK(same_str(m->rtpmaps[4].encoding, "telephone-event"));
    CHECK(same_str(dsrtp_sdp_find_attr(phone, 0, "ptime", 0), "20"));
    CHECK(same_str(dsrtp_sdp_find_attr(phone, 0, "fmtp", 0), "18 annexb=no"));
    release();
}

/* ---- SDES key material in the view ---- */

static void test_sdp_fixture_asterisk_sdes_offer_decodes_both_keys_with_lifetime(void)
{
    static const struct {
        uint32_t tag;
        dsrtp_profile profile;
        const char *key_salt;
    } want[] = {
        {1, DSRTP_AES_CM_128_HMAC_SHA1_80,
         "0ac4c51b637ea5af23b897d2a6d13f22255cd3e31d4d16004a417af76f4b"},
        {2, DSRTP_AES_CM_128_HMAC_SHA1_32,
         "25f1fca2cc9b44828a7a6e0022369ec280d2bcb7f1c491b1235fc56507be"},
    };
    const dsrtp_sdp_media *m = media_of(fixture("asterisk_sdes_offer"), 0);
    CHECK(m != NULL);
    CHECK_EQ(m->crypto_count, 2);
    for (size_t i = 0; i < 2; i++) {
        const dsrtp_sdp_crypto *c = &m->crypto[i];
        uint8_t ks[30];
        CHECK_EQ(check_hex(want[i].key_salt, ks, sizeof ks), 30);
        CHECK_EQ(c->tag, want[i].tag);
        CHECK_EQ(c->profile, want[i].profile);
        CHECK(same_str(c->suite, dsrtp_profile_name(want[i].profile)));
        CHECK(c->usable);
        CHECK_EQ(c->key_count, 1);
        CHECK_EQ(c->keys[0].key_len, 16);
        CHECK_EQ(c->keys[0].salt_len, 14);
        CHECK_MEM(c->keys[0].key, ks, 16);
        CHECK_MEM(c->keys[0].salt, ks + 16, 14);
        CHECK_EQ(c->keys[0].lifetime, (uint64_t)1 << 31);
        CHECK_EQ(c->keys[0].mki_len, 0);
        CHECK(c->session_params == NULL);
    }
    release();
}

static void test_sdp_fixture_freeswitch_offer_flags_the_suites_we_do_not_implement(void)
{
    static const struct {
        const char *suite;
        bool usable;
        size_t key_len;
    } want[8] = {
        {"AEAD_AES_256_GCM_8", false, 0},       {"AEAD_AES_128_GCM_8", false, 0},
        {"AES_256_CM_HMAC_SHA1_80", true, 32},  {"AES_192_CM_HMAC_SHA1_80", false, 0},
        {"AES_CM_128_HMAC_SHA1_80", true, 16},  {"AES_256_CM_HMAC_SHA1_32", true, 32},
        {"AES_192_CM_HMAC_SHA1_32", false, 0},  {"AES_CM_128_HMAC_SHA1_32", true, 16},
    };
    const dsrtp_sdp_media *m = media_of(fixture("freeswitch_offer"), 0);
    CHECK(m != NULL);
    CHECK_EQ(m->crypto_count, 8);
    CHECK(!m->rtcp_mux);
    CHECK_EQ(m->rtcp_address.family, IP4);
    CHECK(same_str(m->rtcp_address.address, "198.51.100.20"));
    for (size_t i = 0; i < 8; i++) {
        const dsrtp_sdp_crypto *c = &m->crypto[i];
        CHECK_EQ(c->tag, i + 1);
        CHECK(same_str(c->suite, want[i].suite));
        CHECK_EQ(c->usable, want[i].usable);
        CHECK_EQ(c->profile == DSRTP_PROFILE_NONE, !want[i].usable);
        CHECK_EQ(c->key_count, want[i].usable ? 1 : 0);
        if (want[i].usable) {
            CHECK_EQ(c->keys[0].key_len, want[i].key_len);
            CHECK_EQ(c->keys[0].salt_len, 14);
            CHECK_EQ(c->keys[0].lifetime, 0);
        }
    }
    uint8_t ks[46];
    CHECK_EQ(check_hex("2f0b09789a381d349e9933dea54df00a5a1c87680df6dcfd0b23b7aba941f1fe"
                       "4c7d4b076ddf5a9172b6aca77e42",
                       ks, sizeof ks),
             46);
    CHECK_MEM(m->crypto[2].keys[0].key, ks, 32);
    CHECK_MEM(m->crypto[2].keys[0].salt, ks + 32, 14);
    release();
}

static void test_sdp_fixture_sip_phone_sdes_carries_a_four_byte_mki(void)
{
    static const uint8_t mki[4] = {0, 0, 0, 1};
    const dsrtp_sdp_media *m = media_of(fixture("sip_phone_sdes"), 0);
    CHECK(m != NULL);
    CHECK_EQ(m->crypto_count, 2);
    for (size_t i = 0; i < 2; i++) {
        const dsrtp_sdp_key *k = &m->crypto[i].keys[0];
        CHECK(m->crypto[i].usable);
        CHECK_EQ(m->crypto[i].key_count, 1);
        CHECK_EQ(k->lifetime, 0); /* no lifetime: the MKI is the only field after the key */
        CHECK_EQ(k->mki_len, 4);
        CHECK_MEM(k->mki, mki, 4);
    }
    release();
}

/* Rejecting twin of the key decoding: a key cut short refuses the document, naming the line. */
static void test_sdp_fixture_sip_phone_sdes_with_a_short_key_is_refused(void)
{
    size_t len = 0;
    char *text = load("sip_phone_sdes", &len);
    char *key = strstr(text, "inline:5Gep");
    CHECK(key != NULL);
    memmove(key + 7, key + 11, strlen(key + 11) + 1); /* three bytes of key fewer */
    dsrtp_sdp *d = NULL;
    dsrtp_sdp_error err = {0, NULL};
    CHECK_ERR(dsrtp_sdp_parse(text, strlen(text), &d, &err), DSRTP_ERR_MALFORMED);
    CHECK_EQ(err.line, 7);
    CHECK(err.reason != NULL && strstr(err.reason, "wrong length") != NULL);
    free(text);
}

/* ---- negotiation: browsers and WebRTC servers offering DTLS-SRTP ---- */

/* Answering each WebRTC-style offer with DTLS allowed: we are the DTLS client (active) and
 * answer with a sha-256 fingerprint. */
static void test_sdp_fixtures_dtls_offers_are_answered_as_client_with_sha256(void)
{
    static const struct {
        const char *fixture;
        size_t index;
        uint8_t fp0;
    } cases[] = {
        {"chrome_offer", 0, 0x6d},        {"chrome_offer", 1, 0x6d},
        {"firefox_offer", 0, 0x6d},       {"firefox_offer", 1, 0x6d},
        {"safari_offer", 0, 0x6f},        {"asterisk_dtls_offer", 0, 0x29},
        {"rtpengine_offer", 0, 0x54},     {"baresip_offer", 0, 0xe1},
    };
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dsrtp_sdp_media *m = media_of(fixture(cases[i].fixture), cases[i].index);
        dsrtp_sdp_decision d;
        fprintf(stderr, "%s m-line %zu\n", cases[i].fixture, cases[i].index);
        CHECK(m != NULL);
        CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
        CHECK_EQ(d.keying, DSRTP_KEYING_DTLS);
        CHECK(d.dtls_handshake);
        CHECK_EQ(d.role, DSRTP_DTLS_CLIENT);
        CHECK_EQ(d.local_setup, DSRTP_SDP_SETUP_ACTIVE);
        CHECK_EQ(d.fingerprint_hash, DSRTP_HASH_SHA256);
        CHECK_EQ(d.remote_fingerprint_count, 1);
        CHECK_EQ(d.remote_fingerprints[0].value[0], cases[i].fp0);
        CHECK(!d.generate_local_key);
        release();
    }
}

/* Rejecting twins: the same offers with their a=fingerprint lines gone (session-level ones
 * for Firefox and baresip). */
static void test_sdp_fixtures_dtls_offers_without_fingerprint_are_refused(void)
{
    static const char *const names[] = {"chrome_offer", "firefox_offer", "safari_offer",
                                        "asterisk_dtls_offer", "rtpengine_offer",
                                        "baresip_offer"};
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES | DSRTP_KEYING_NONE, true);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const dsrtp_sdp_media *m = media_of(fixture_without(names[i], "a=fingerprint:"), 0);
        fprintf(stderr, "%s\n", names[i]);
        CHECK(m != NULL);
        CHECK_EQ(m->fingerprint_count, 0);
        CHECK(refused(&p, DSRTP_SDP_ANSWERER, m, NULL, DSRTP_ERR_UNSUPPORTED,
                      DSRTP_SDP_FAIL_NO_FINGERPRINT));
        release();
    }
}

/* Asterisk spells the hash name "SHA-256"; an unknown hash name is skipped, leaving no usable
 * fingerprint. */
static void test_sdp_fixture_asterisk_dtls_offer_with_an_unknown_hash_is_refused(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    const dsrtp_sdp_media *m =
        media_of(fixture_replacing("asterisk_dtls_offer", "fingerprint:SHA-256",
                                   "fingerprint:MD5"),
                 0);
    CHECK(m != NULL);
    CHECK_EQ(m->fingerprint_count, 0);
    CHECK_EQ(m->unsupported_fingerprints, 1);
    CHECK(refused(&p, DSRTP_SDP_ANSWERER, m, NULL, DSRTP_ERR_UNSUPPORTED,
                  DSRTP_SDP_FAIL_NO_FINGERPRINT));
    release();
}

static void test_sdp_fixture_chrome_offer_datachannel_is_not_keyed_as_rtp(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    const dsrtp_sdp_media *m = media_of(fixture("chrome_offer"), 2);
    CHECK(m != NULL);
    CHECK(same_str(m->proto_text, "UDP/DTLS/SCTP"));
    CHECK(refused(&p, DSRTP_SDP_ANSWERER, m, NULL, DSRTP_ERR_UNSUPPORTED,
                  DSRTP_SDP_FAIL_PROTO));
    release();
}

/* A WebRTC offer carries no SDES keys and no plain RTP: SDES or plain only finds nothing. */
static void test_sdp_fixture_safari_offer_is_refused_without_dtls_in_the_policy(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES | DSRTP_KEYING_NONE, true);
    const dsrtp_sdp_media *m = media_of(fixture("safari_offer"), 0);
    CHECK(refused(&p, DSRTP_SDP_ANSWERER, m, NULL, DSRTP_ERR_UNSUPPORTED,
                  DSRTP_SDP_FAIL_NO_KEYING));
    release();
}

static void test_sdp_fixture_rtpengine_offer_restarts_dtls_only_on_a_new_tls_id(void)
{
    const dsrtp_sdp_media *first = media_of(fixture("rtpengine_offer"), 0);
    const dsrtp_sdp_media *same = media_of(fixture("rtpengine_offer"), 0);
    const dsrtp_sdp_media *renewed = media_of(
        fixture_replacing("rtpengine_offer", "a=tls-id:f53f", "a=tls-id:0000"), 0);
    bool restart = true;
    const char *reason = NULL;
    CHECK(first != NULL && same != NULL && renewed != NULL);
    CHECK_OK(dsrtp_sdp_dtls_restart(first, same, &restart, &reason));
    CHECK(!restart);
    CHECK(same_str(reason, "unchanged"));
    CHECK_OK(dsrtp_sdp_dtls_restart(first, renewed, &restart, &reason));
    CHECK(restart);
    CHECK(same_str(reason, "tls-id changed"));
    release();
}

/* ---- negotiation: answers to our own offers ---- */

/* Each answer read as the offerer, against the offer it answers (ours). */
static void test_sdp_fixtures_dtls_answers_set_our_role_from_their_setup(void)
{
    static const struct {
        const char *ours;
        const char *theirs;
        dsrtp_dtls_role role;
        uint8_t fp0;
    } cases[] = {
        {"chrome_offer", "chrome_answer", DSRTP_DTLS_SERVER, 0x21},
        {"chrome_offer", "freeswitch_dtls_answer", DSRTP_DTLS_SERVER, 0x60},
        {"firefox_offer", "firefox_answer", DSRTP_DTLS_SERVER, 0xc2},
        {"safari_offer", "janus_answer", DSRTP_DTLS_CLIENT, 0xe9},
    };
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dsrtp_sdp_media *ours = media_of(fixture(cases[i].ours), 0);
        const dsrtp_sdp_media *theirs = media_of(fixture(cases[i].theirs), 0);
        dsrtp_sdp_decision d;
        fprintf(stderr, "%s answering %s\n", cases[i].theirs, cases[i].ours);
        CHECK(ours != NULL && theirs != NULL);
        CHECK(same_str(ours->mid, theirs->mid));
        CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_OFFERER, theirs, ours, &d, NULL));
        CHECK_EQ(d.keying, DSRTP_KEYING_DTLS);
        CHECK(d.dtls_handshake);
        CHECK_EQ(d.role, cases[i].role);
        CHECK_EQ(d.local_setup, DSRTP_SDP_SETUP_ACTPASS);
        CHECK_EQ(d.fingerprint_hash, DSRTP_HASH_SHA256);
        CHECK_EQ(d.remote_fingerprints[0].value[0], cases[i].fp0);
        release();
    }
}

/* Rejecting twin: the same answers with a=setup:actpass, which only an offer may carry. */
static void test_sdp_fixtures_dtls_answers_with_actpass_are_refused(void)
{
    static const struct {
        const char *ours;
        const char *theirs;
        const char *setup;
    } cases[] = {
        {"chrome_offer", "chrome_answer", "a=setup:active"},
        {"chrome_offer", "freeswitch_dtls_answer", "a=setup:active"},
        {"firefox_offer", "firefox_answer", "a=setup:active"},
        {"safari_offer", "janus_answer", "a=setup:passive"},
    };
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dsrtp_sdp_media *ours = media_of(fixture(cases[i].ours), 0);
        const dsrtp_sdp_media *theirs =
            media_of(fixture_replacing(cases[i].theirs, cases[i].setup, "a=setup:actpass"), 0);
        fprintf(stderr, "%s\n", cases[i].theirs);
        CHECK(theirs != NULL && theirs->setup == DSRTP_SDP_SETUP_ACTPASS);
        CHECK(refused(&p, DSRTP_SDP_OFFERER, theirs, ours, DSRTP_ERR_MALFORMED,
                      DSRTP_SDP_FAIL_BAD_SETUP));
        release();
    }
}

/* Rejecting twin: had we offered a fixed role equal to theirs, the roles would clash. */
static void test_sdp_fixtures_dtls_answers_clashing_with_our_role_are_refused(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    const dsrtp_sdp_media *ours =
        media_of(fixture_replacing("safari_offer", "a=setup:actpass", "a=setup:passive"), 0);
    const dsrtp_sdp_media *janus = media_of(fixture("janus_answer"), 0);
    CHECK(refused(&p, DSRTP_SDP_OFFERER, janus, ours, DSRTP_ERR_MALFORMED,
                  DSRTP_SDP_FAIL_ROLE_CONFLICT));
    ours = media_of(fixture_replacing("firefox_offer", "a=setup:actpass", "a=setup:active"), 0);
    const dsrtp_sdp_media *firefox = media_of(fixture("firefox_answer"), 0);
    CHECK(refused(&p, DSRTP_SDP_OFFERER, firefox, ours, DSRTP_ERR_MALFORMED,
                  DSRTP_SDP_FAIL_ROLE_CONFLICT));
    release();
}

/* The m-lines an answer turned down (port 0) are not keyed at all. */
static void test_sdp_fixtures_rejected_streams_in_answers_are_not_keyed(void)
{
    static const struct {
        const char *ours;
        const char *theirs;
        size_t index;
    } cases[] = {
        {"chrome_offer", "chrome_answer", 1},
        {"chrome_offer", "freeswitch_dtls_answer", 1},
        {"chrome_offer", "freeswitch_dtls_answer", 2},
        {"firefox_offer", "firefox_answer", 1},
    };
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dsrtp_sdp_media *ours = media_of(fixture(cases[i].ours), cases[i].index);
        const dsrtp_sdp_media *theirs = media_of(fixture(cases[i].theirs), cases[i].index);
        fprintf(stderr, "%s m-line %zu\n", cases[i].theirs, cases[i].index);
        CHECK(theirs != NULL && theirs->port == 0);
        CHECK(refused(&p, DSRTP_SDP_OFFERER, theirs, ours, DSRTP_ERR_UNSUPPORTED,
                      DSRTP_SDP_FAIL_REJECTED));
        release();
    }
}

/* ---- negotiation: SDES and plain RTP from PBXs and phones ---- */

static void test_sdp_fixtures_sdes_offers_pick_the_first_suite_we_support(void)
{
    static const struct {
        const char *fixture;
        uint32_t tag;
        dsrtp_profile profile;
        size_t mki_len;
    } cases[] = {
        {"asterisk_sdes_offer", 1, DSRTP_AES_CM_128_HMAC_SHA1_80, 0},
        {"freeswitch_offer", 3, DSRTP_AES_256_CM_HMAC_SHA1_80, 0}, /* 1, 2: unknown GCM_8 */
        {"sip_phone_sdes", 1, DSRTP_AES_CM_128_HMAC_SHA1_80, 4},
    };
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES, true);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dsrtp_sdp_media *m = media_of(fixture(cases[i].fixture), 0);
        dsrtp_sdp_decision d;
        fprintf(stderr, "%s\n", cases[i].fixture);
        CHECK(m != NULL);
        CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
        CHECK_EQ(d.keying, DSRTP_KEYING_SDES);
        CHECK_EQ(d.sdes_tag, cases[i].tag);
        CHECK_EQ(d.sdes_profile, cases[i].profile);
        CHECK(d.generate_local_key);
        CHECK(!d.dtls_handshake);
        CHECK_EQ(d.remote_key.mki_len, cases[i].mki_len);
        const dsrtp_sdp_key *offered = NULL;
        for (size_t k = 0; k < m->crypto_count; k++) {
            if (m->crypto[k].tag == cases[i].tag) {
                offered = &m->crypto[k].keys[0];
            }
        }
        CHECK(offered != NULL);
        CHECK_EQ(d.remote_key.key_len, offered->key_len);
        CHECK_MEM(d.remote_key.key, offered->key, offered->key_len);
        CHECK_MEM(d.remote_key.salt, offered->salt, offered->salt_len);
        dsrtp_sdp_decision_wipe(&d);
        release();
    }
}

static void test_sdp_fixture_freeswitch_offer_follows_our_suite_list(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES, true);
    p.sdes_suites[0] = DSRTP_AES_CM_128_HMAC_SHA1_32;
    p.sdes_suites[1] = DSRTP_AES_CM_128_HMAC_SHA1_80;
    p.sdes_suite_count = 2;
    const dsrtp_sdp_media *m = media_of(fixture("freeswitch_offer"), 0);
    dsrtp_sdp_decision d;
    CHECK(m != NULL);
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    /* The offer's order decides among the suites we allow (RFC 4568 §7.1.2). */
    CHECK_EQ(d.sdes_tag, 5);
    CHECK_EQ(d.sdes_profile, DSRTP_AES_CM_128_HMAC_SHA1_80);
    dsrtp_sdp_decision_wipe(&d);
    release();
}

/* Rejecting twin: only GCM allowed, and FreeSWITCH's GCM lines are the _8 variants we do not
 * implement. */
static void test_sdp_fixture_freeswitch_offer_without_a_common_suite_is_refused(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES, true);
    p.sdes_suites[0] = DSRTP_AEAD_AES_128_GCM;
    p.sdes_suites[1] = DSRTP_AEAD_AES_256_GCM;
    p.sdes_suite_count = 2;
    const dsrtp_sdp_media *m = media_of(fixture("freeswitch_offer"), 0);
    CHECK(refused(&p, DSRTP_SDP_ANSWERER, m, NULL, DSRTP_ERR_UNSUPPORTED,
                  DSRTP_SDP_FAIL_NO_SUITE));
    release();
}

/* Rejecting twin: the same SDES offers over insecure signalling, even with plain RTP allowed
 * (an RTP/SAVP line never falls back to plain). */
static void test_sdp_fixtures_sdes_offers_over_insecure_signalling_are_refused(void)
{
    static const char *const names[] = {"asterisk_sdes_offer", "freeswitch_offer",
                                        "sip_phone_sdes"};
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES | DSRTP_KEYING_NONE,
                                false);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const dsrtp_sdp_media *m = media_of(fixture(names[i]), 0);
        fprintf(stderr, "%s\n", names[i]);
        CHECK(refused(&p, DSRTP_SDP_ANSWERER, m, NULL, DSRTP_ERR_UNSUPPORTED,
                      DSRTP_SDP_FAIL_INSECURE_SDES));
        release();
    }
}

static void test_sdp_fixture_asterisk_sdes_offer_is_taken_when_insecure_sdes_is_allowed(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_SDES, false);
    p.allow_insecure_sdes = true;
    const dsrtp_sdp_media *m = media_of(fixture("asterisk_sdes_offer"), 0);
    dsrtp_sdp_decision d;
    CHECK(m != NULL);
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.keying, DSRTP_KEYING_SDES);
    CHECK_EQ(d.sdes_tag, 1);
    CHECK_EQ(d.remote_key.lifetime, (uint64_t)1 << 31);
    dsrtp_sdp_decision_wipe(&d);
    release();
}

static void test_sdp_fixture_sip_phone_plain_is_answered_with_plain_rtp(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES | DSRTP_KEYING_NONE, false);
    const dsrtp_sdp_media *m = media_of(fixture("sip_phone_plain"), 0);
    dsrtp_sdp_decision d;
    CHECK(m != NULL);
    CHECK_OK(dsrtp_sdp_negotiate(&p, DSRTP_SDP_ANSWERER, m, NULL, &d, NULL));
    CHECK_EQ(d.keying, DSRTP_KEYING_NONE);
    CHECK(!d.dtls_handshake);
    CHECK_EQ(d.sdes_profile, DSRTP_PROFILE_NONE);
    release();
}

/* Rejecting twin: a policy that insists on SRTP finds nothing in a plain phone's offer. */
static void test_sdp_fixture_sip_phone_plain_is_refused_when_srtp_is_required(void)
{
    dsrtp_sdp_policy p = policy(DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES, true);
    const dsrtp_sdp_media *m = media_of(fixture("sip_phone_plain"), 0);
    CHECK(refused(&p, DSRTP_SDP_ANSWERER, m, NULL, DSRTP_ERR_UNSUPPORTED,
                  DSRTP_SDP_FAIL_NO_KEYING));
    release();
}

RUN_TESTS(TEST(test_sdp_fixtures_write_back_byte_for_byte),
          TEST(test_sdp_fixtures_with_lf_line_ends_write_back_as_the_crlf_files),
          TEST(test_sdp_fixtures_refuse_a_bare_cr_naming_its_line),
          TEST(test_sdp_fixtures_media_views_carry_the_keying_attributes),
          TEST(test_sdp_fixtures_session_views_carry_groups_lite_and_fingerprints),
          TEST(test_sdp_fixtures_read_candidates_as_each_endpoint_writes_them),
          TEST(test_sdp_fixtures_read_rtpmaps_and_unknown_attributes_verbatim),
          TEST(test_sdp_fixture_asterisk_sdes_offer_decodes_both_keys_with_lifetime),
          TEST(test_sdp_fixture_freeswitch_offer_flags_the_suites_we_do_not_implement),
          TEST(test_sdp_fixture_sip_phone_sdes_carries_a_four_byte_mki),
          TEST(test_sdp_fixture_sip_phone_sdes_with_a_short_key_is_refused),
          TEST(test_sdp_fixtures_dtls_offers_are_answered_as_client_with_sha256),
          TEST(test_sdp_fixtures_dtls_offers_without_fingerprint_are_refused),
          TEST(test_sdp_fixture_asterisk_dtls_offer_with_an_unknown_hash_is_refused),
          TEST(test_sdp_fixture_chrome_offer_datachannel_is_not_keyed_as_rtp),
          TEST(test_sdp_fixture_safari_offer_is_refused_without_dtls_in_the_policy),
          TEST(test_sdp_fixture_rtpengine_offer_restarts_dtls_only_on_a_new_tls_id),
          TEST(test_sdp_fixtures_dtls_answers_set_our_role_from_their_setup),
          TEST(test_sdp_fixtures_dtls_answers_with_actpass_are_refused),
          TEST(test_sdp_fixtures_dtls_answers_clashing_with_our_role_are_refused),
          TEST(test_sdp_fixtures_rejected_streams_in_answers_are_not_keyed),
          TEST(test_sdp_fixtures_sdes_offers_pick_the_first_suite_we_support),
          TEST(test_sdp_fixture_freeswitch_offer_follows_our_suite_list),
          TEST(test_sdp_fixture_freeswitch_offer_without_a_common_suite_is_refused),
          TEST(test_sdp_fixtures_sdes_offers_over_insecure_signalling_are_refused),
          TEST(test_sdp_fixture_asterisk_sdes_offer_is_taken_when_insecure_sdes_is_allowed),
          TEST(test_sdp_fixture_sip_phone_plain_is_answered_with_plain_rtp),
          TEST(test_sdp_fixture_sip_phone_plain_is_refused_when_srtp_is_required))
