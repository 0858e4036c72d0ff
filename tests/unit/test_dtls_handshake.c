/* DTLS-SRTP handshakes between two in-process endpoints over the simulated link: every
 * profile in both roles, profile preference, the exported keys driving real SRTP both ways,
 * the RFC 5764 exporter layout, loss/reordering/duplication, lost final flights and the
 * cookie exchange. Real time (see dtls_link.h), with a 10 ms first retransmission so that
 * recovery stays fast. Endpoint 0 is the client, endpoint 1 the server. */
#include "harness/check.h"
#include "harness/dtls_link.h"

#define RUN_LIMIT 8000000u /* us: a generous bound; a healthy run takes well under 1 s */

static dsrtp_cert *cert_c; /* ECDSA P-256, generated once for the whole file */
static dsrtp_cert *cert_s;

static void free_certs(void)
{
    dsrtp_cert_free(cert_c);
    dsrtp_cert_free(cert_s);
}

static void client_server_cfgs(dsrtp_dtls_cfg *c, dsrtp_dtls_cfg *s)
{
    if (cert_c == NULL && atexit(free_certs) != 0) {
        abort();
    }
    if (cert_c == NULL && dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_c) != DSRTP_OK) {
        abort();
    }
    if (cert_s == NULL && dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_s) != DSRTP_OK) {
        abort();
    }
    link_pair_cfg(c, cert_c, DSRTP_DTLS_CLIENT);
    link_pair_cfg(s, cert_s, DSRTP_DTLS_SERVER);
}

/* Creates, pins (sha-256) and starts a client/server pair. */
static dsrtp_err start_pair(link_pair *p, const dsrtp_dtls_cfg *c, const dsrtp_dtls_cfg *s,
                            const link_cfg *lc)
{
    dsrtp_err e = link_pair_new(p, c, s, lc);
    if (e == DSRTP_OK) {
        e = link_pair_pin(p, cert_c, cert_s, DSRTP_HASH_SHA256);
    }
    if (e == DSRTP_OK) {
        e = link_pair_start(p);
    }
    return e;
}

static size_t make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc)
{
    static const uint8_t hdr[12] = {0x80, 0x60, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 0};
    memcpy(b, hdr, sizeof hdr);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[8] = (uint8_t)(ssrc >> 24);
    b[9] = (uint8_t)(ssrc >> 16);
    b[10] = (uint8_t)(ssrc >> 8);
    b[11] = (uint8_t)ssrc;
    for (size_t i = 0; i < 160; i++) {
        b[12 + i] = (uint8_t)(i * 7 + seq);
    }
    return 12 + 160;
}

static void srtp_cfg(dsrtp_srtp_cfg *cfg, dsrtp_profile p, const uint8_t *key,
                     const uint8_t *salt)
{
    dsrtp_srtp_cfg_init(cfg);
    cfg->profile = p;
    cfg->master_key = key;
    cfg->master_key_len = dsrtp_profile_key_len(p);
    cfg->master_salt = salt;
    cfg->master_salt_len = dsrtp_profile_salt_len(p);
}

/* Protects with the sender's local keys and unprotects with the receiver's remote keys; a
 * receiver that wrongly installs its own local keys must refuse the same packet. */
static void check_srtp_flow(const dsrtp_dtls_keys *from, const dsrtp_dtls_keys *to)
{
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_tx *tx = NULL;
    dsrtp_srtp_rx *rx = NULL;
    dsrtp_srtp_rx *wrong = NULL;
    srtp_cfg(&cfg, from->profile, from->local_key, from->local_salt);
    CHECK_OK(dsrtp_srtp_tx_new(&cfg, &tx));
    srtp_cfg(&cfg, to->profile, to->remote_key, to->remote_salt);
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &rx));
    srtp_cfg(&cfg, to->profile, to->local_key, to->local_salt);
    CHECK_OK(dsrtp_srtp_rx_new(&cfg, &wrong));
    uint8_t plain[256];
    uint8_t pkt[256 + DSRTP_SRTP_MAX_TRAILER];
    uint8_t copy[sizeof pkt];
    size_t len = make_rtp(plain, 1000, 0x1234abcd);
    memcpy(pkt, plain, len);
    size_t out = 0;
    CHECK_OK(dsrtp_srtp_tx_protect(tx, pkt, len, sizeof pkt, &out));
    memcpy(copy, pkt, out);
    size_t got = 0;
    CHECK_ERR(dsrtp_srtp_rx_unprotect(wrong, copy, out, &got), DSRTP_ERR_AUTH);
    CHECK_OK(dsrtp_srtp_rx_unprotect(rx, pkt, out, &got));
    CHECK_EQ(got, len);
    CHECK_MEM(pkt, plain, len);
    dsrtp_srtp_tx_free(tx);
    dsrtp_srtp_rx_free(rx);
    dsrtp_srtp_rx_free(wrong);
}

/* Both sides connected on profile want: mirrored keys, SRTP both ways, and the exporter's
 * client key | server key | client salt | server salt layout (RFC 5764 §4.2). */
static void check_keys(dsrtp_dtls *client, dsrtp_dtls *server, dsrtp_profile want)
{
    dsrtp_dtls_keys kc;
    dsrtp_dtls_keys ks;
    CHECK_EQ(dsrtp_dtls_get_state(client), DSRTP_DTLS_STATE_CONNECTED);
    CHECK_EQ(dsrtp_dtls_get_state(server), DSRTP_DTLS_STATE_CONNECTED);
    CHECK_OK(dsrtp_dtls_get_keys(client, &kc));
    CHECK_OK(dsrtp_dtls_get_keys(server, &ks));
    size_t kl = dsrtp_profile_key_len(want);
    size_t sl = dsrtp_profile_salt_len(want);
    CHECK_EQ(kc.profile, want);
    CHECK_EQ(ks.profile, want);
    CHECK_EQ(kc.key_len, kl);
    CHECK_EQ(kc.salt_len, sl);
    CHECK_EQ(ks.key_len, kl);
    CHECK_EQ(ks.salt_len, sl);
    CHECK_MEM(kc.local_key, ks.remote_key, kl);
    CHECK_MEM(kc.remote_key, ks.local_key, kl);
    CHECK_MEM(kc.local_salt, ks.remote_salt, sl);
    CHECK_MEM(kc.remote_salt, ks.local_salt, sl);
    CHECK(memcmp(kc.local_key, kc.remote_key, kl) != 0);
    CHECK(memcmp(kc.local_salt, kc.remote_salt, sl) != 0);

    uint8_t mc[2 * (DSRTP_SRTP_MAX_KEY_LEN + DSRTP_SRTP_MAX_SALT_LEN)];
    uint8_t ms[sizeof mc];
    size_t n = 2 * (kl + sl);
    CHECK_OK(dsrtp_dtls_export(client, mc, n));
    CHECK_OK(dsrtp_dtls_export(server, ms, n));
    CHECK_MEM(mc, ms, n);
    CHECK_MEM(mc, kc.local_key, kl);
    CHECK_MEM(mc + kl, ks.local_key, kl);
    CHECK_MEM(mc + 2 * kl, kc.local_salt, sl);
    CHECK_MEM(mc + 2 * kl + sl, ks.local_salt, sl);

    int before = check_failures_;
    check_srtp_flow(&kc, &ks);
    CHECK(check_failures_ == before);
    check_srtp_flow(&ks, &kc);
}

/* One side offers only `prof` (the other everything); the handshake agrees on it. */
static void handshake_forced(dsrtp_profile prof, int restricted)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[restricted].profiles[0] = prof;
    cfg[restricted].profile_count = 1;
    link_cfg lc = {.seed = 1};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    CHECK_EQ(p.l.st.refused[0] + p.l.st.refused[1], 0);
    CHECK_EQ(dsrtp_dtls_get_role(p.d[0]), DSRTP_DTLS_CLIENT);
    CHECK_EQ(dsrtp_dtls_get_role(p.d[1]), DSRTP_DTLS_SERVER);
    check_keys(p.d[0], p.d[1], prof);
    link_pair_free(&p);
}

static const dsrtp_profile dtls_profiles[] = {DSRTP_AEAD_AES_256_GCM, DSRTP_AEAD_AES_128_GCM,
                                              DSRTP_AES_CM_128_HMAC_SHA1_80,
                                              DSRTP_AES_CM_128_HMAC_SHA1_32};

static void test_dtls_handshake_agrees_on_each_profile_forced_by_client(void)
{
    for (size_t i = 0; i < 4; i++) {
        int before = check_failures_;
        handshake_forced(dtls_profiles[i], 0);
        CHECK(check_failures_ == before);
    }
}

static void test_dtls_handshake_agrees_on_each_profile_forced_by_server(void)
{
    for (size_t i = 0; i < 4; i++) {
        int before = check_failures_;
        handshake_forced(dtls_profiles[i], 1);
        CHECK(check_failures_ == before);
    }
}

static void test_dtls_new_rejects_profile_without_dtls_identifier(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    dsrtp_dtls *d = NULL;
    cfg[0].profiles[0] = DSRTP_AES_256_CM_HMAC_SHA1_80; /* SDES only, no use_srtp code */
    cfg[0].profile_count = 1;
    CHECK_ERR(dsrtp_dtls_new(&cfg[0], &d), DSRTP_ERR_INVALID_ARG);
    cfg[0].profile_count = 0;
    CHECK_ERR(dsrtp_dtls_new(&cfg[0], &d), DSRTP_ERR_INVALID_ARG);
    cfg[0].profile_count = DSRTP_DTLS_MAX_PROFILES + 1;
    CHECK_ERR(dsrtp_dtls_new(&cfg[0], &d), DSRTP_ERR_INVALID_ARG);
    CHECK(d == NULL);
}

/* Runs a handshake with the given lists and returns the profile agreed (NONE if failed). */
static dsrtp_profile negotiate(const dsrtp_profile *cp, size_t cn, const dsrtp_profile *sp,
                               size_t sn)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    memcpy(cfg[0].profiles, cp, cn * sizeof *cp);
    cfg[0].profile_count = cn;
    memcpy(cfg[1].profiles, sp, sn * sizeof *sp);
    cfg[1].profile_count = sn;
    link_cfg lc = {.seed = 2};
    link_pair p;
    dsrtp_profile got = DSRTP_PROFILE_NONE;
    dsrtp_dtls_keys k[2];
    if (start_pair(&p, &cfg[0], &cfg[1], &lc) == DSRTP_OK) {
        link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
        if (dsrtp_dtls_get_keys(p.d[0], &k[0]) == DSRTP_OK &&
            dsrtp_dtls_get_keys(p.d[1], &k[1]) == DSRTP_OK && k[0].profile == k[1].profile) {
            got = k[0].profile;
        }
    }
    link_pair_free(&p);
    return got;
}

static void test_dtls_handshake_picks_server_preferred_profile_among_offered(void)
{
    const dsrtp_profile cm80_gcm[] = {DSRTP_AES_CM_128_HMAC_SHA1_80, DSRTP_AEAD_AES_128_GCM};
    const dsrtp_profile gcm_cm80[] = {DSRTP_AEAD_AES_128_GCM, DSRTP_AES_CM_128_HMAC_SHA1_80};
    const dsrtp_profile all[] = {DSRTP_AES_CM_128_HMAC_SHA1_32, DSRTP_AES_CM_128_HMAC_SHA1_80,
                                 DSRTP_AEAD_AES_128_GCM, DSRTP_AEAD_AES_256_GCM};
    /* The server's order decides whatever order the client offers in. */
    CHECK_EQ(negotiate(cm80_gcm, 2, gcm_cm80, 2), DSRTP_AEAD_AES_128_GCM);
    CHECK_EQ(negotiate(gcm_cm80, 2, cm80_gcm, 2), DSRTP_AES_CM_128_HMAC_SHA1_80);
    /* Never a profile the client did not offer, even the server's favourite. */
    CHECK_EQ(negotiate(cm80_gcm, 2, all, 4), DSRTP_AES_CM_128_HMAC_SHA1_80);
}

static void test_dtls_handshake_defaults_to_aead_aes_256_gcm(void)
{
    dsrtp_dtls_cfg c;
    dsrtp_dtls_cfg s;
    client_server_cfgs(&c, &s);
    CHECK_EQ(c.profile_count, 4);
    CHECK_EQ(negotiate(c.profiles, c.profile_count, s.profiles, s.profile_count),
             DSRTP_AEAD_AES_256_GCM);
}

static void test_dtls_export_60_bytes_is_client_key_server_key_client_salt_server_salt(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[1].profiles[0] = DSRTP_AES_CM_128_HMAC_SHA1_80;
    cfg[1].profile_count = 1;
    link_cfg lc = {.seed = 3};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    dsrtp_dtls_keys kc;
    dsrtp_dtls_keys ks;
    CHECK_OK(dsrtp_dtls_get_keys(p.d[0], &kc));
    CHECK_OK(dsrtp_dtls_get_keys(p.d[1], &ks));
    uint8_t m[60];
    CHECK_OK(dsrtp_dtls_export(p.d[1], m, sizeof m));
    CHECK_MEM(m, kc.local_key, 16);
    CHECK_MEM(m + 16, ks.local_key, 16);
    CHECK_MEM(m + 32, kc.local_salt, 14);
    CHECK_MEM(m + 46, ks.local_salt, 14);
    /* The exporter is a PRF stream: a longer export starts with the same bytes. Empty and
     * NULL requests are refused. */
    uint8_t longer[61];
    CHECK_OK(dsrtp_dtls_export(p.d[0], longer, sizeof longer));
    CHECK_MEM(longer, m, 60);
    CHECK_ERR(dsrtp_dtls_export(p.d[0], m, 0), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_dtls_export(p.d[0], NULL, 60), DSRTP_ERR_INVALID_ARG);
    link_pair_free(&p);
}

static void test_dtls_get_keys_and_export_refuse_before_connected(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    link_cfg lc = {.seed = 4};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    dsrtp_dtls_keys k;
    uint8_t m[60];
    CHECK_EQ(dsrtp_dtls_get_state(p.d[0]), DSRTP_DTLS_STATE_HANDSHAKE);
    CHECK_ERR(dsrtp_dtls_get_keys(p.d[0], &k), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_dtls_export(p.d[0], m, sizeof m), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_dtls_get_keys(p.d[1], &k), DSRTP_ERR_INVALID_ARG);
    link_pair_free(&p);
}

/* ---- loss, reordering, duplication ---- */

static void handshake_over(const link_cfg *lc)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    if (!link_both_connected(&p.l)) {
        fprintf(stderr, "seed %llu: client '%s', server '%s'\n",
                (unsigned long long)lc->seed, p.l.st.last_event[0].detail,
                p.l.st.last_event[1].detail);
    }
    CHECK(link_both_connected(&p.l));
    CHECK_EQ(p.l.st.refused[0] + p.l.st.refused[1], 0);
    check_keys(p.d[0], p.d[1], DSRTP_AEAD_AES_256_GCM);
    link_pair_free(&p);
}

/* Two flights each way, every datagram taken: nothing waits for a retransmission. */
static void test_dtls_handshake_on_clean_link_sends_each_flight_once(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[0].initial_rto = 1000000;
    cfg[1].initial_rto = 1000000;
    link_cfg lc = {.seed = 12};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    dsrtp_time took = link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    CHECK_EQ(p.l.st.refused[0], 0);
    CHECK_EQ(p.l.st.refused[1], 0);
    CHECK_EQ(p.l.st.sent[0], 2); /* ClientHello; Certificate .. Finished */
    CHECK_EQ(p.l.st.sent[1], 2); /* ServerHello .. ServerHelloDone; CCS, Finished */
    CHECK(took < cfg[0].initial_rto);
    link_pair_free(&p);
}

static void test_dtls_handshake_completes_under_30pct_loss_reordering_and_duplication(void)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        link_cfg lc = {.loss_pct = 30, .dup_pct = 20, .jitter_us = 8000, .delay_us = 500,
                       .seed = seed * 7919};
        int before = check_failures_;
        handshake_over(&lc);
        CHECK(check_failures_ == before);
    }
}

static void test_dtls_handshake_times_out_when_every_datagram_is_lost(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[0].handshake_timeout = 300000;
    cfg[1].handshake_timeout = 300000;
    link_cfg lc = {.loss_pct = 100, .seed = 5};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(p.l.st.failed[0] && p.l.st.failed[1]);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[0]), DSRTP_DTLS_FAIL_TIMEOUT);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[1]), DSRTP_DTLS_FAIL_TIMEOUT);
    CHECK(p.l.st.sent[0] >= 2); /* the ClientHello was retransmitted */
    dsrtp_dtls_keys k;
    CHECK_ERR(dsrtp_dtls_get_keys(p.d[0], &k), DSRTP_ERR_INVALID_ARG);
    link_pair_free(&p);
}

/* ---- retransmission timing ---- */

static void sleep_until(dsrtp_time t)
{
    while (link_now() < t) {
        struct timespec nap = {0, 500000};
        nanosleep(&nap, NULL);
    }
}

/* Polls one output; returns its kind and (for IDLE) the deadline. */
static dsrtp_output_kind poll_kind(dsrtp_dtls *d, dsrtp_time *deadline)
{
    uint8_t buf[LINK_MTU];
    dsrtp_dtls_output out;
    if (dsrtp_dtls_poll_output(d, buf, sizeof buf, &out) != DSRTP_OK) {
        return (dsrtp_output_kind)-1;
    }
    *deadline = out.deadline;
    return out.kind;
}

#define STALL_US 3000 /* a scheduler stall longer than this blurs the timing: try again */

/* One run of the scenario below; *disturbed when a stall made its timing meaningless. */
static void rto_attempt(const dsrtp_dtls_cfg *c, bool *disturbed)
{
    *disturbed = true;
    dsrtp_dtls *d = NULL;
    CHECK_OK(dsrtp_dtls_new(c, &d));
    dsrtp_time t0 = link_now();
    CHECK_OK(dsrtp_dtls_start(d, t0));
    dsrtp_time deadline = 0;
    dsrtp_output_kind first = poll_kind(d, &deadline);
    dsrtp_output_kind second = poll_kind(d, &deadline);
    if (link_now() - t0 > STALL_US) {
        dsrtp_dtls_free(d);
        return;
    }
    CHECK_EQ(first, DSRTP_OUT_DATAGRAM);
    CHECK_EQ(second, DSRTP_OUT_IDLE); /* no copy of the ClientHello queued at once */
    CHECK(deadline >= t0 + c->initial_rto - STALL_US && deadline <= t0 + c->initial_rto);
    /* Early calls change nothing. */
    CHECK_OK(dsrtp_dtls_handle_timeout(d, t0 + 1000));
    second = poll_kind(d, &deadline);
    if (link_now() - t0 > c->initial_rto - 1000) {
        dsrtp_dtls_free(d);
        return;
    }
    CHECK_EQ(second, DSRTP_OUT_IDLE);
    /* Just after the deadline: exactly one retransmission, then a doubled interval. */
    sleep_until(deadline + 1000);
    dsrtp_time t1 = link_now();
    CHECK_OK(dsrtp_dtls_handle_timeout(d, t1));
    first = poll_kind(d, &deadline);
    second = poll_kind(d, &deadline);
    if (link_now() - t1 > STALL_US) {
        dsrtp_dtls_free(d);
        return;
    }
    *disturbed = false;
    CHECK_EQ(first, DSRTP_OUT_DATAGRAM);
    CHECK_EQ(second, DSRTP_OUT_IDLE);
    CHECK(deadline >= t1 + 2 * c->initial_rto - STALL_US &&
          deadline <= t1 + 2 * c->initial_rto);
    dsrtp_dtls_free(d);
}

/* OpenSSL 3.0 counts a timer with under 15 ms left as expired: an initial_rto below that
 * must still not resend the ClientHello at once, and the schedule must be the caller's. */
static void test_dtls_client_waits_initial_rto_before_first_retransmission(void)
{
    dsrtp_dtls_cfg c;
    dsrtp_dtls_cfg s;
    client_server_cfgs(&c, &s);
    CHECK(c.initial_rto < 15000);
    bool disturbed = true;
    for (int attempt = 0; attempt < 10 && disturbed; attempt++) {
        int before = check_failures_;
        rto_attempt(&c, &disturbed);
        CHECK(check_failures_ == before);
    }
    CHECK(!disturbed);
}

/* ---- lost final flights ---- */

/* Drops the first `drop` copies of one side's final flight. The client's final flight
 * starts with its Certificate, the server's with its ChangeCipherSpec; a Finished (the
 * epoch-1 handshake record) ends either. */
typedef struct flight_tap {
    int side;
    int drop;
    int copy[2];     /* copies of the final flight begun, per side */
    int finished[2]; /* epoch-1 Finished records sent, per side */
    int dropped;
} flight_tap;

static bool final_flight_tap(void *arg, int from, uint8_t *data, size_t *len)
{
    flight_tap *t = arg;
    bool starts = from == 0 ? link_dgram_has(data, *len, 22, 0, 11)
                            : link_dgram_has(data, *len, 20, 0, -1);
    if (starts) {
        t->copy[from]++;
    }
    if (link_dgram_has(data, *len, 22, 1, -1)) {
        t->finished[from]++;
    }
    if (from == t->side && t->copy[from] > 0 && t->copy[from] <= t->drop) {
        t->dropped++;
        return false;
    }
    return true;
}

static void test_dtls_handshake_recovers_when_server_final_flight_is_lost(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    flight_tap t = {.side = 1, .drop = 1};
    link_cfg lc = {.seed = 6, .tap = final_flight_tap, .tap_arg = &t};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_both_connected);
    CHECK(link_both_connected(&p.l));
    CHECK(t.dropped >= 1);     /* ChangeCipherSpec and Finished, usually in one datagram */
    CHECK(t.finished[0] >= 2); /* the client retransmitted its final flight */
    CHECK(t.finished[1] >= 2); /* and the (already connected) server answered again */
    check_keys(p.d[0], p.d[1], DSRTP_AEAD_AES_256_GCM);
    link_pair_free(&p);
}

static void test_dtls_handshake_recovers_when_client_final_flight_is_lost(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    flight_tap t = {.side = 0, .drop = 1};
    link_cfg lc = {.seed = 7, .tap = final_flight_tap, .tap_arg = &t};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_both_connected);
    CHECK(link_both_connected(&p.l));
    CHECK(t.dropped >= 1); /* Certificate .. Finished, usually packed in one datagram */
    CHECK(t.copy[0] >= 2);
    CHECK(t.finished[0] >= 2);
    check_keys(p.d[0], p.d[1], DSRTP_AEAD_AES_256_GCM);
    link_pair_free(&p);
}

static void test_dtls_client_times_out_when_server_final_flight_never_arrives(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[0].handshake_timeout = 300000;
    flight_tap t = {.side = 1, .drop = 1000};
    link_cfg lc = {.seed = 8, .tap = final_flight_tap, .tap_arg = &t};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(p.l.st.failed[0]);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[0]), DSRTP_DTLS_FAIL_TIMEOUT);
    CHECK(t.finished[1] >= 2); /* the server kept answering the client's retransmissions */
    dsrtp_dtls_keys k;
    CHECK_ERR(dsrtp_dtls_get_keys(p.d[0], &k), DSRTP_ERR_INVALID_ARG);
    link_pair_free(&p);
}

/* ---- cookie exchange (HelloVerifyRequest) ---- */

typedef struct cookie_tap {
    int hello_verify; /* HelloVerifyRequest records from the server */
    int client_hello;
    bool forge;       /* corrupt the cookie of every ClientHello that carries one */
} cookie_tap;

static bool cookie_tap_fn(void *arg, int from, uint8_t *data, size_t *len)
{
    cookie_tap *t = arg;
    if (from == 1 && link_dgram_has(data, *len, 22, 0, 3)) {
        t->hello_verify++;
    }
    if (from == 0 && link_dgram_has(data, *len, 22, 0, 1)) {
        t->client_hello++;
        /* record 13 | handshake header 12 | version 2 | random 32 | session id len + id |
         * cookie len + cookie */
        size_t at = 13 + 12 + 2 + 32;
        if (t->forge && *len > at + 1) {
            size_t cookie = at + 1 + data[at];
            if (*len > cookie + 1 && data[cookie] > 0) {
                data[cookie + 1] ^= 0x55;
            }
        }
    }
    return true;
}

static void test_dtls_handshake_completes_with_required_cookie(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[1].require_cookie = true;
    cfg[0].initial_rto = 1000000; /* no retransmission on a clean link: exact counts */
    cfg[1].initial_rto = 1000000;
    cookie_tap t = {0};
    link_cfg lc = {.seed = 9, .tap = cookie_tap_fn, .tap_arg = &t};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    CHECK_EQ(t.hello_verify, 1);
    CHECK_EQ(t.client_hello, 2);
    check_keys(p.d[0], p.d[1], DSRTP_AEAD_AES_256_GCM);
    link_pair_free(&p);
}

static void test_dtls_handshake_without_cookie_sends_no_hello_verify_request(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[0].initial_rto = 1000000;
    cfg[1].initial_rto = 1000000;
    cookie_tap t = {0};
    link_cfg lc = {.seed = 10, .tap = cookie_tap_fn, .tap_arg = &t};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    CHECK_EQ(t.hello_verify, 0);
    CHECK_EQ(t.client_hello, 1);
    link_pair_free(&p);
}

static void test_dtls_server_never_connects_with_forged_cookie(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[1].require_cookie = true;
    cfg[0].handshake_timeout = 300000;
    cfg[1].handshake_timeout = 300000;
    cookie_tap t = {.forge = true};
    link_cfg lc = {.seed = 11, .tap = cookie_tap_fn, .tap_arg = &t};
    link_pair p;
    CHECK_OK(start_pair(&p, &cfg[0], &cfg[1], &lc));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    /* Whether the server then fails (OpenSSL 3.0 does, "cookie mismatch") or waits for a
     * good cookie, neither side may ever hold keys. */
    CHECK(!p.l.st.connected[0] && !p.l.st.connected[1]);
    CHECK(t.client_hello >= 2);
    dsrtp_dtls_keys k;
    CHECK_ERR(dsrtp_dtls_get_keys(p.d[0], &k), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_dtls_get_keys(p.d[1], &k), DSRTP_ERR_INVALID_ARG);
    link_pair_free(&p);
}

RUN_TESTS(TEST(test_dtls_handshake_agrees_on_each_profile_forced_by_client),
          TEST(test_dtls_handshake_agrees_on_each_profile_forced_by_server),
          TEST(test_dtls_new_rejects_profile_without_dtls_identifier),
          TEST(test_dtls_handshake_picks_server_preferred_profile_among_offered),
          TEST(test_dtls_handshake_defaults_to_aead_aes_256_gcm),
          TEST(test_dtls_export_60_bytes_is_client_key_server_key_client_salt_server_salt),
          TEST(test_dtls_get_keys_and_export_refuse_before_connected),
          TEST(test_dtls_handshake_on_clean_link_sends_each_flight_once),
          TEST(test_dtls_handshake_completes_under_30pct_loss_reordering_and_duplication),
          TEST(test_dtls_handshake_times_out_when_every_datagram_is_lost),
          TEST(test_dtls_client_waits_initial_rto_before_first_retransmission),
          TEST(test_dtls_handshake_recovers_when_server_final_flight_is_lost),
          TEST(test_dtls_handshake_recovers_when_client_final_flight_is_lost),
          TEST(test_dtls_client_times_out_when_server_final_flight_never_arrives),
          TEST(test_dtls_handshake_completes_with_required_cookie),
          TEST(test_dtls_handshake_without_cookie_sends_no_hello_verify_request),
          TEST(test_dtls_server_never_connects_with_forged_cookie))
