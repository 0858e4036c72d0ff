/* Certificates and fingerprints: SDP fingerprint text (parse/format), PEM store and load,
 * generation limits, and handshakes pinned under every hash, with several fingerprints, with
 * a fingerprint under the wrong hash, and with an RSA-4096 certificate over a 576-byte MTU.
 * Endpoint 0 is the client, endpoint 1 the server. */
#include "harness/check.h"
#include "harness/dtls_link.h"

#include <dsrtp/util.h>

#define RUN_LIMIT 8000000u

static dsrtp_cert *cert_c;
static dsrtp_cert *cert_s;
static dsrtp_cert *cert_rsa; /* RSA-4096: about a second to make, so only once */

static const dsrtp_hash all_hashes[] = {DSRTP_HASH_SHA1, DSRTP_HASH_SHA224, DSRTP_HASH_SHA256,
                                        DSRTP_HASH_SHA384, DSRTP_HASH_SHA512};
static const size_t all_lens[] = {20, 28, 32, 48, 64};

static void free_certs(void)
{
    dsrtp_cert_free(cert_c);
    dsrtp_cert_free(cert_s);
    dsrtp_cert_free(cert_rsa);
}

static void setup_certs(void)
{
    if (cert_c == NULL) {
        if (dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_c) != DSRTP_OK ||
            dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_s) != DSRTP_OK ||
            atexit(free_certs) != 0) {
            abort();
        }
    }
}

/* ---- fingerprint text ---- */

static dsrtp_err parse(const char *text, dsrtp_fingerprint *fp)
{
    return dsrtp_fingerprint_parse(text, strlen(text), fp);
}

static void test_dtls_fingerprint_format_then_parse_round_trips_every_hash(void)
{
    setup_certs();
    for (size_t i = 0; i < 5; i++) {
        dsrtp_fingerprint fp;
        dsrtp_fingerprint back;
        char text[DSRTP_FINGERPRINT_TEXT_MAX];
        CHECK_OK(dsrtp_cert_fingerprint(cert_c, all_hashes[i], &fp));
        CHECK_EQ(fp.hash, all_hashes[i]);
        CHECK_EQ(fp.len, all_lens[i]);
        CHECK_OK(dsrtp_fingerprint_format(&fp, text, sizeof text));
        size_t name = strlen(dsrtp_hash_name(all_hashes[i]));
        CHECK_EQ(strlen(text), name + 1 + 3 * all_lens[i] - 1);
        CHECK(strncmp(text, dsrtp_hash_name(all_hashes[i]), name) == 0);
        CHECK_OK(parse(text, &back));
        CHECK_EQ(back.hash, fp.hash);
        CHECK_EQ(back.len, fp.len);
        CHECK_MEM(back.value, fp.value, fp.len);
    }
}

static void test_dtls_fingerprint_parse_accepts_any_case_and_surrounding_space(void)
{
    static const char upper[] = "SHA-256 "
                                "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                                "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    static const char mixed[] = "  Sha-256\tab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                                "ab:Cd:eF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89 \r\n";
    dsrtp_fingerprint a;
    dsrtp_fingerprint b;
    CHECK_OK(parse(upper, &a));
    CHECK_OK(parse(mixed, &b));
    CHECK_EQ(a.hash, DSRTP_HASH_SHA256);
    CHECK_EQ(b.hash, DSRTP_HASH_SHA256);
    CHECK_EQ(a.len, 32);
    CHECK_MEM(a.value, b.value, 32);
    CHECK_EQ(a.value[0], 0xab);
    CHECK_EQ(a.value[31], 0x89);
    /* The writer always uses the SDP spelling: lower-case name, upper-case hex. */
    char text[DSRTP_FINGERPRINT_TEXT_MAX];
    CHECK_OK(dsrtp_fingerprint_format(&b, text, sizeof text));
    CHECK(strncmp(text, "sha-256 AB:CD:EF:01", 19) == 0);
}

static void test_dtls_fingerprint_parse_rejects_bad_text(void)
{
    /* 32 pairs, for building the cases */
    const char *ok32 = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                       "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    char t[300];
    dsrtp_fingerprint fp = {.hash = DSRTP_HASH_SHA384, .len = 7};
    dsrtp_fingerprint untouched = fp;

    snprintf(t, sizeof t, "md5 %.47s", ok32); /* 16 pairs: a valid MD5 shape */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_UNSUPPORTED);
    snprintf(t, sizeof t, "md2 %.47s", ok32);
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_UNSUPPORTED);
    snprintf(t, sizeof t, "sha-3 %s", ok32);
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_UNSUPPORTED);
    snprintf(t, sizeof t, "sha256 %s", ok32); /* no dash: not the IANA name */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_UNSUPPORTED);
    /* A sha-256 value labelled sha-1 (the wrong algorithm) does not fit. */
    snprintf(t, sizeof t, "sha-1 %s", ok32);
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %.92s", ok32); /* one pair short */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %s:00", ok32); /* one pair long */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %s:", ok32); /* trailing colon */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %s", ok32);
    t[8 + 4] = 'G'; /* bad hex digit */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %s", ok32);
    t[8 + 2] = '-'; /* wrong separator */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %s", ok32);
    t[8 + 2] = ' '; /* a space instead of a colon */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %s", ok32);
    t[8 + 5] = 'A'; /* a missing colon, at the right overall length */
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED);
    snprintf(t, sizeof t, "sha-256 %s", "001122334455667788990011223344556677889900112233445566"
                                        "778899001122334455667788990011223344");
    CHECK_ERR(parse(t, &fp), DSRTP_ERR_MALFORMED); /* no colons at all */
    CHECK_ERR(parse("sha-256", &fp), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse("sha-256 ", &fp), DSRTP_ERR_MALFORMED);
    CHECK_ERR(parse("", &fp), DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_fingerprint_parse(NULL, 5, &fp), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_fingerprint_parse("sha-1", 5, NULL), DSRTP_ERR_INVALID_ARG);
    /* Nothing was written on any failure. */
    CHECK_EQ(fp.hash, untouched.hash);
    CHECK_EQ(fp.len, untouched.len);
    /* The accepting twin of them all. */
    snprintf(t, sizeof t, "sha-256 %s", ok32);
    CHECK_OK(parse(t, &fp));
    CHECK_EQ(fp.len, 32);
}

static void test_dtls_fingerprint_format_needs_room_and_a_hash(void)
{
    setup_certs();
    dsrtp_fingerprint fp;
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA512, &fp));
    char text[DSRTP_FINGERPRINT_TEXT_MAX];
    size_t need = strlen("sha-512 ") + 64 * 3; /* pairs, colons and the NUL */
    CHECK(need <= sizeof text);
    CHECK_OK(dsrtp_fingerprint_format(&fp, text, need));
    CHECK_EQ(strlen(text), need - 1);
    CHECK_ERR(dsrtp_fingerprint_format(&fp, text, need - 1), DSRTP_ERR_BUFFER_TOO_SMALL);
    dsrtp_fingerprint bad = fp;
    bad.hash = DSRTP_HASH_NONE;
    CHECK_ERR(dsrtp_fingerprint_format(&bad, text, sizeof text), DSRTP_ERR_INVALID_ARG);
    bad = fp;
    bad.len = 0;
    CHECK_ERR(dsrtp_fingerprint_format(&bad, text, sizeof text), DSRTP_ERR_INVALID_ARG);
    bad.len = DSRTP_FINGERPRINT_MAX_LEN + 1;
    CHECK_ERR(dsrtp_fingerprint_format(&bad, text, sizeof text), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_NONE, &fp), DSRTP_ERR_INVALID_ARG);
}

static void test_dtls_hash_name_spells_sdp_names(void)
{
    static const char *const names[] = {"sha-1", "sha-224", "sha-256", "sha-384", "sha-512"};
    for (size_t i = 0; i < 5; i++) {
        CHECK(strcmp(dsrtp_hash_name(all_hashes[i]), names[i]) == 0);
    }
    CHECK(strcmp(dsrtp_hash_name(DSRTP_HASH_NONE), "none") == 0);
    CHECK(strcmp(dsrtp_hash_name((dsrtp_hash)99), "none") == 0);
}

/* ---- PEM ---- */

static void test_dtls_cert_pem_write_then_load_keeps_fingerprint(void)
{
    setup_certs();
    static char cert_pem[8192];
    static char key_pem[8192];
    CHECK_OK(dsrtp_cert_write_pem(cert_c, cert_pem, sizeof cert_pem, key_pem, sizeof key_pem));
    CHECK(strstr(cert_pem, "-----BEGIN CERTIFICATE-----") == cert_pem);
    CHECK(strstr(key_pem, "PRIVATE KEY-----") != NULL);
    dsrtp_cert *loaded = NULL;
    CHECK_OK(dsrtp_cert_load_pem(cert_pem, strlen(cert_pem), key_pem, strlen(key_pem),
                                 &loaded));
    for (size_t i = 0; i < 5; i++) {
        dsrtp_fingerprint a;
        dsrtp_fingerprint b;
        CHECK_OK(dsrtp_cert_fingerprint(cert_c, all_hashes[i], &a));
        CHECK_OK(dsrtp_cert_fingerprint(loaded, all_hashes[i], &b));
        CHECK_EQ(a.len, b.len);
        CHECK_MEM(a.value, b.value, a.len);
    }
    /* A certificate followed by its chain loads too; the leaf is what gets pinned. */
    static char chain[16384];
    static char other_pem[8192];
    static char other_key[8192];
    CHECK_OK(dsrtp_cert_write_pem(cert_s, other_pem, sizeof other_pem, other_key,
                                  sizeof other_key));
    snprintf(chain, sizeof chain, "%s%s", cert_pem, other_pem);
    dsrtp_cert *chained = NULL;
    CHECK_OK(dsrtp_cert_load_pem(chain, strlen(chain), key_pem, strlen(key_pem), &chained));
    dsrtp_fingerprint a;
    dsrtp_fingerprint b;
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA256, &a));
    CHECK_OK(dsrtp_cert_fingerprint(chained, DSRTP_HASH_SHA256, &b));
    CHECK_MEM(a.value, b.value, 32);
    dsrtp_cert_free(loaded);
    dsrtp_cert_free(chained);
    dsrtp_secure_wipe(key_pem, sizeof key_pem);
    dsrtp_secure_wipe(other_key, sizeof other_key);
}

static void test_dtls_cert_load_rejects_mismatched_key_and_bad_pem(void)
{
    setup_certs();
    static char cert_pem[8192];
    static char key_pem[8192];
    static char other_cert[8192];
    static char other_key[8192];
    CHECK_OK(dsrtp_cert_write_pem(cert_c, cert_pem, sizeof cert_pem, key_pem, sizeof key_pem));
    CHECK_OK(dsrtp_cert_write_pem(cert_s, other_cert, sizeof other_cert, other_key,
                                  sizeof other_key));
    dsrtp_cert *c = NULL;
    CHECK_ERR(dsrtp_cert_load_pem(cert_pem, strlen(cert_pem), other_key, strlen(other_key), &c),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_cert_load_pem("junk", 4, key_pem, strlen(key_pem), &c),
              DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_cert_load_pem(cert_pem, strlen(cert_pem), "junk", 4, &c),
              DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_cert_load_pem(cert_pem, strlen(cert_pem) / 2, key_pem, strlen(key_pem), &c),
              DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_cert_load_pem(cert_pem, strlen(cert_pem), key_pem, strlen(key_pem) - 40, &c),
              DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_cert_load_pem(NULL, 0, key_pem, strlen(key_pem), &c),
              DSRTP_ERR_INVALID_ARG);
    CHECK(c == NULL);
    /* Room too small for either text. */
    char small[64];
    CHECK_ERR(dsrtp_cert_write_pem(cert_c, small, sizeof small, key_pem, sizeof key_pem),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_ERR(dsrtp_cert_write_pem(cert_c, cert_pem, sizeof cert_pem, small, sizeof small),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    /* The accepting twin: the matching pair. */
    CHECK_OK(dsrtp_cert_write_pem(cert_c, cert_pem, sizeof cert_pem, key_pem, sizeof key_pem));
    CHECK_OK(dsrtp_cert_load_pem(cert_pem, strlen(cert_pem), key_pem, strlen(key_pem), &c));
    dsrtp_cert_free(c);
    dsrtp_secure_wipe(key_pem, sizeof key_pem);
    dsrtp_secure_wipe(other_key, sizeof other_key);
}

static void test_dtls_cert_generate_rejects_bad_parameters(void)
{
    dsrtp_cert *c = NULL;
    CHECK_ERR(dsrtp_cert_generate(DSRTP_CERT_RSA, 1024, &c), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_cert_generate(DSRTP_CERT_RSA, 8193, &c), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_cert_generate((dsrtp_cert_kind)7, 0, &c), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK(c == NULL);
    dsrtp_cert_free(NULL);
}

/* ---- handshakes pinned in various ways ---- */

/* The client expects one of fc[] from the server, the server one of fs[] from the client. */
static void run_pinned(link_pair *p, const dsrtp_fingerprint *fc, size_t nc,
                       const dsrtp_fingerprint *fs, size_t ns)
{
    dsrtp_dtls_cfg c;
    dsrtp_dtls_cfg s;
    link_pair_cfg(&c, cert_c, DSRTP_DTLS_CLIENT);
    link_pair_cfg(&s, cert_s, DSRTP_DTLS_SERVER);
    link_cfg lc = {.seed = 31};
    CHECK_OK(link_pair_new(p, &c, &s, &lc));
    CHECK_OK(dsrtp_dtls_set_remote_fingerprints(p->d[0], fc, nc));
    CHECK_OK(dsrtp_dtls_set_remote_fingerprints(p->d[1], fs, ns));
    CHECK_OK(link_pair_start(p));
    link_run(&p->l, p->d, RUN_LIMIT, link_any_done);
}

static void test_dtls_handshake_pins_under_every_hash(void)
{
    setup_certs();
    for (size_t i = 0; i < 5; i++) {
        dsrtp_fingerprint fc;
        dsrtp_fingerprint fs;
        CHECK_OK(dsrtp_cert_fingerprint(cert_s, all_hashes[i], &fc));
        CHECK_OK(dsrtp_cert_fingerprint(cert_c, all_hashes[i], &fs));
        link_pair p;
        int before = check_failures_;
        run_pinned(&p, &fc, 1, &fs, 1);
        CHECK(check_failures_ == before);
        CHECK(link_both_connected(&p.l));
        link_pair_free(&p);
    }
}

/* The rejecting twin: one bit off, under each hash, on the client's side. */
static void test_dtls_handshake_rejects_one_bit_off_under_every_hash(void)
{
    setup_certs();
    for (size_t i = 0; i < 5; i++) {
        dsrtp_fingerprint fc;
        dsrtp_fingerprint fs;
        CHECK_OK(dsrtp_cert_fingerprint(cert_s, all_hashes[i], &fc));
        CHECK_OK(dsrtp_cert_fingerprint(cert_c, all_hashes[i], &fs));
        fc.value[fc.len - 1] ^= 0x01;
        link_pair p;
        int before = check_failures_;
        run_pinned(&p, &fc, 1, &fs, 1);
        CHECK(check_failures_ == before);
        CHECK(!p.l.st.connected[0] && !p.l.st.connected[1]);
        CHECK_EQ(dsrtp_dtls_get_failure(p.d[0]), DSRTP_DTLS_FAIL_FINGERPRINT);
        link_pair_free(&p);
    }
}

static void test_dtls_handshake_accepts_when_only_a_later_fingerprint_matches(void)
{
    setup_certs();
    dsrtp_fingerprint fc[3];
    dsrtp_fingerprint fs[2];
    /* Client: a stranger's sha-1, the server's sha-384, another stranger's sha-256. */
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA1, &fc[0]));
    CHECK_OK(dsrtp_cert_fingerprint(cert_s, DSRTP_HASH_SHA384, &fc[1]));
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA256, &fc[2]));
    /* Server: its own (wrong) fingerprint first, then the client's. */
    CHECK_OK(dsrtp_cert_fingerprint(cert_s, DSRTP_HASH_SHA256, &fs[0]));
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA256, &fs[1]));
    link_pair p;
    int before = check_failures_;
    run_pinned(&p, fc, 3, fs, 2);
    CHECK(check_failures_ == before);
    CHECK(link_both_connected(&p.l));
    link_pair_free(&p);
}

static void test_dtls_handshake_rejects_when_no_fingerprint_of_several_matches(void)
{
    setup_certs();
    dsrtp_fingerprint fc[2];
    dsrtp_fingerprint fs;
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA1, &fc[0]));
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA256, &fc[1]));
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA256, &fs));
    link_pair p;
    int before = check_failures_;
    run_pinned(&p, fc, 2, &fs, 1);
    CHECK(check_failures_ == before);
    CHECK(!p.l.st.connected[0] && !p.l.st.connected[1]);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[0]), DSRTP_DTLS_FAIL_FINGERPRINT);
    link_pair_free(&p);
}

/* The right certificate's sha-256 value, declared as sha-1 (whole, or cut to sha-1's 20
 * bytes): the parser refuses the text, and as a struct it matches nothing. */
static void test_dtls_handshake_rejects_fingerprint_under_wrong_hash(void)
{
    setup_certs();
    dsrtp_fingerprint right;
    dsrtp_fingerprint fs;
    CHECK_OK(dsrtp_cert_fingerprint(cert_s, DSRTP_HASH_SHA256, &right));
    CHECK_OK(dsrtp_cert_fingerprint(cert_c, DSRTP_HASH_SHA256, &fs));
    char text[DSRTP_FINGERPRINT_TEXT_MAX];
    CHECK_OK(dsrtp_fingerprint_format(&right, text, sizeof text));
    char relabelled[DSRTP_FINGERPRINT_TEXT_MAX + 8];
    snprintf(relabelled, sizeof relabelled, "sha-1 %s", text + strlen("sha-256 "));
    dsrtp_fingerprint parsed;
    CHECK_ERR(parse(relabelled, &parsed), DSRTP_ERR_MALFORMED);

    dsrtp_fingerprint wrong[2] = {right, right};
    wrong[0].hash = DSRTP_HASH_SHA1;
    wrong[1].hash = DSRTP_HASH_SHA1;
    wrong[1].len = 20;
    for (size_t i = 0; i < 2; i++) {
        link_pair p;
        int before = check_failures_;
        run_pinned(&p, &wrong[i], 1, &fs, 1);
        CHECK(check_failures_ == before);
        CHECK(!p.l.st.connected[0] && !p.l.st.connected[1]);
        CHECK_EQ(dsrtp_dtls_get_failure(p.d[0]), DSRTP_DTLS_FAIL_FINGERPRINT);
        link_pair_free(&p);
    }
}

/* Endpoints hold their own reference: the caller's may go at once. */
static void test_dtls_endpoint_keeps_certificate_after_caller_frees_it(void)
{
    dsrtp_cert *mine = NULL;
    CHECK_OK(dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &mine));
    setup_certs();
    dsrtp_dtls_cfg c;
    dsrtp_dtls_cfg s;
    link_pair_cfg(&c, mine, DSRTP_DTLS_CLIENT);
    link_pair_cfg(&s, cert_s, DSRTP_DTLS_SERVER);
    link_cfg lc = {.seed = 32};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &c, &s, &lc));
    CHECK_OK(link_pair_pin(&p, mine, cert_s, DSRTP_HASH_SHA256));
    dsrtp_cert_free(mine);
    CHECK_OK(link_pair_start(&p));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    link_pair_free(&p);
}

/* ---- RSA-4096 over a small MTU ---- */

static void rsa_handshake(size_t mtu, link_pair *p)
{
    if (cert_rsa == NULL) {
        CHECK_OK(dsrtp_cert_generate(DSRTP_CERT_RSA, 4096, &cert_rsa));
    }
    dsrtp_dtls_cfg c;
    dsrtp_dtls_cfg s;
    link_pair_cfg(&c, cert_rsa, DSRTP_DTLS_CLIENT);
    link_pair_cfg(&s, cert_rsa, DSRTP_DTLS_SERVER);
    c.mtu = mtu;
    s.mtu = mtu;
    link_cfg lc = {.seed = 33};
    CHECK_OK(link_pair_new(p, &c, &s, &lc));
    CHECK_OK(link_pair_pin(p, cert_rsa, cert_rsa, DSRTP_HASH_SHA256));
    CHECK_OK(link_pair_start(p));
    link_run(&p->l, p->d, RUN_LIMIT, link_any_done);
}

static void test_dtls_handshake_with_rsa_4096_fits_mtu_576(void)
{
    link_pair p;
    int before = check_failures_;
    rsa_handshake(576, &p);
    CHECK(check_failures_ == before);
    CHECK(link_both_connected(&p.l));
    CHECK(p.l.st.max_len[0] <= 576);
    CHECK(p.l.st.max_len[1] <= 576);
    CHECK(p.l.st.max_len[1] > 400); /* the certificate really was split into full datagrams */
    CHECK_EQ(p.l.st.refused[0] + p.l.st.refused[1], 0);
    dsrtp_dtls_keys k;
    CHECK_OK(dsrtp_dtls_get_keys(p.d[0], &k));
    link_pair_free(&p);
}

/* The twin: at the default MTU the same handshake sends larger datagrams, so the limit above
 * was the MTU setting at work; below DSRTP_DTLS_MIN_MTU is refused outright. */
static void test_dtls_mtu_is_what_limits_datagram_size(void)
{
    link_pair p;
    int before = check_failures_;
    rsa_handshake(DSRTP_DTLS_DEFAULT_MTU, &p);
    CHECK(check_failures_ == before);
    CHECK(link_both_connected(&p.l));
    CHECK(p.l.st.max_len[1] > 576);
    CHECK(p.l.st.max_len[1] <= DSRTP_DTLS_DEFAULT_MTU);
    link_pair_free(&p);
    dsrtp_dtls_cfg c;
    link_pair_cfg(&c, cert_rsa, DSRTP_DTLS_CLIENT);
    dsrtp_dtls *d = NULL;
    c.mtu = DSRTP_DTLS_MIN_MTU - 1;
    CHECK_ERR(dsrtp_dtls_new(&c, &d), DSRTP_ERR_INVALID_ARG);
    c.mtu = 65508;
    CHECK_ERR(dsrtp_dtls_new(&c, &d), DSRTP_ERR_INVALID_ARG);
    c.mtu = DSRTP_DTLS_MIN_MTU;
    CHECK_OK(dsrtp_dtls_new(&c, &d));
    dsrtp_dtls_free(d);
}

RUN_TESTS(TEST(test_dtls_fingerprint_format_then_parse_round_trips_every_hash),
          TEST(test_dtls_fingerprint_parse_accepts_any_case_and_surrounding_space),
          TEST(test_dtls_fingerprint_parse_rejects_bad_text),
          TEST(test_dtls_fingerprint_format_needs_room_and_a_hash),
          TEST(test_dtls_hash_name_spells_sdp_names),
          TEST(test_dtls_cert_pem_write_then_load_keeps_fingerprint),
          TEST(test_dtls_cert_load_rejects_mismatched_key_and_bad_pem),
          TEST(test_dtls_cert_generate_rejects_bad_parameters),
          TEST(test_dtls_handshake_pins_under_every_hash),
          TEST(test_dtls_handshake_rejects_one_bit_off_under_every_hash),
          TEST(test_dtls_handshake_accepts_when_only_a_later_fingerprint_matches),
          TEST(test_dtls_handshake_rejects_when_no_fingerprint_of_several_matches),
          TEST(test_dtls_handshake_rejects_fingerprint_under_wrong_hash),
          TEST(test_dtls_endpoint_keeps_certificate_after_caller_frees_it),
          TEST(test_dtls_handshake_with_rsa_4096_fits_mtu_576),
          TEST(test_dtls_mtu_is_what_limits_datagram_size))
