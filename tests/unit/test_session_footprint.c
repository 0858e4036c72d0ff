/* The heap a running media session holds, piece by piece: glibc's mallinfo2() bytes in use
 * (what dsrtpd's malloc_stats reports, chunk headers included) before and after making
 * SESSIONS of a kind at once, divided by their number. A gateway call is two sessions (one
 * per leg) and the gateway's own call state, so these figures are most of what a call costs;
 * the budgets below keep them from growing back unnoticed. Each figure is printed, so the
 * test's output is the breakdown. Under ASan (its own allocator) the figures are not
 * measured and only the sessions' behaviour is checked. */
#include <stdio.h>

#include <dsrtp/srtp.h>
#include <dsrtp/stun.h>

#include "harness/alloc_count.h" /* after a libc header: it tests __GLIBC__ */
#include "harness/check.h"
#include "harness/session_link.h"

#define SESSIONS 16
#define WARMUP 8
#define RUN_LIMIT 5000000u /* us */

/* Budgets in bytes per session (chunk headers included), some 15% above what OpenSSL 3.0
 * and glibc 2.36 (Debian 12) give, for other versions. Measured on x86-64: plain 624, SDES
 * AES_CM_128_HMAC_SHA1_80 7.5 KB and AEAD_AES_256_GCM 8.4 KB, a connected DTLS one with
 * AEAD_AES_256_GCM 11 KB (averaged over client and server). The SRTP contexts are most of
 * a keyed session: four OpenSSL cipher contexts and two 16-stream tables. */
#define BUDGET_PLAIN 1024
#define BUDGET_SDES_CM 8704
#define BUDGET_SDES_GCM 9728
#define BUDGET_DTLS_GCM 12800
/* ICE-lite, on every WebRTC leg: the agent alone measured 1,648 B (its struct with the
 * local and remote ufrag buffers plus DSRTP_ICE_DEFAULT_QUEUE_DEPTH response slots, one
 * allocation; it was ~5.9 KB with 16 slots of 288 B), a plain session with ICE 2,448 B
 * (the agent and the validated-address table on top of BUDGET_PLAIN's session). */
#define BUDGET_ICE_AGENT 2048
#define BUDGET_PLAIN_ICE 3072

static dsrtp_cert *cert_a;
static dsrtp_cert *cert_b;

static void free_certs(void)
{
    dsrtp_cert_free(cert_a);
    dsrtp_cert_free(cert_b);
}

static void need_certs(void)
{
    if (cert_a != NULL) {
        return;
    }
    if (atexit(free_certs) != 0 ||
        dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_a) != DSRTP_OK ||
        dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_b) != DSRTP_OK) {
        abort();
    }
}

static size_t in_use(void)
{
#ifdef TEST_COUNTS_ALLOCS
    return heap_in_use();
#else
    return 0;
#endif
}

/* Prints one line of the breakdown and says whether it is within budget (always, when the
 * heap cannot be measured). */
static bool report(const char *what, size_t before, size_t after, size_t n, long long budget)
{
#ifdef TEST_COUNTS_ALLOCS
    long long per = ((long long)after - (long long)before) / (long long)n;
    printf("  %-44s %6lld B\n", what, per);
    return per <= budget;
#else
    (void)what, (void)before, (void)after, (void)n, (void)budget;
    return true;
#endif
}

/* ---- sessions keyed at start: plain RTP and SDES ---- */

static const uint8_t key_a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t key_b[32] = {31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
                                  16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static dsrtp_err started(dsrtp_keying k, dsrtp_profile p, bool ice, dsrtp_session **out)
{
    dsrtp_session_cfg cfg;
    dsrtp_session_cfg_init(&cfg);
    cfg.ice = ice;
    cfg.keying = k;
    cfg.remote.has_addr = true;
    cfg.remote.addr = sl_addr("127.0.0.1:20000");
    if (k == DSRTP_KEYING_SDES) {
        cfg.sdes_profile = p;
        memcpy(cfg.sdes_key, key_a, dsrtp_profile_key_len(p));
        memcpy(cfg.sdes_salt, key_b, dsrtp_profile_salt_len(p));
        memcpy(cfg.remote.sdes_key, key_b, dsrtp_profile_key_len(p));
        memcpy(cfg.remote.sdes_salt, key_a, dsrtp_profile_salt_len(p));
    }
    dsrtp_session *s = NULL;
    dsrtp_err err = dsrtp_session_new(&cfg, &s);
    if (err == DSRTP_OK) {
        err = dsrtp_session_start(s, 1);
    }
    if (err != DSRTP_OK) {
        dsrtp_session_free(s);
        return err;
    }
    *out = s;
    return DSRTP_OK;
}

/* Heap per started session of keying k (profile p for SDES); fails over budget. */
static bool measure_started(const char *what, dsrtp_keying k, dsrtp_profile p, bool ice,
                            long long budget)
{
    dsrtp_session *s[SESSIONS] = {0};
    for (int i = 0; i < WARMUP; i++) {
        if (started(k, p, ice, &s[0]) != DSRTP_OK) {
            return false;
        }
        dsrtp_session_free(s[0]);
    }
    size_t before = in_use();
    bool ok = true;
    for (size_t i = 0; i < SESSIONS && ok; i++) {
        ok = started(k, p, ice, &s[i]) == DSRTP_OK &&
             dsrtp_session_get_state(s[i]) == DSRTP_SESSION_READY;
    }
    size_t after = in_use();
    for (size_t i = 0; i < SESSIONS; i++) {
        dsrtp_session_free(s[i]);
    }
    return ok && report(what, before, after, SESSIONS, budget);
}

/* The SRTP contexts alone: one send and one receive context, as a session holds. */
static bool measure_srtp(const char *what, dsrtp_profile p, bool rx)
{
    dsrtp_srtp_cfg c;
    dsrtp_srtp_cfg_init(&c);
    c.profile = p;
    c.master_key = key_a;
    c.master_key_len = dsrtp_profile_key_len(p);
    c.master_salt = key_b;
    c.master_salt_len = dsrtp_profile_salt_len(p);
    dsrtp_srtp_tx *tx[SESSIONS] = {0};
    dsrtp_srtp_rx *rxs[SESSIONS] = {0};
    bool ok = true;
    for (int i = 0; i < WARMUP && ok; i++) {
        ok = dsrtp_srtp_tx_new(&c, &tx[0]) == DSRTP_OK;
        dsrtp_srtp_tx_free(tx[0]);
        tx[0] = NULL;
    }
    size_t before = in_use();
    for (size_t i = 0; i < SESSIONS && ok; i++) {
        ok = rx ? dsrtp_srtp_rx_new(&c, &rxs[i]) == DSRTP_OK
                : dsrtp_srtp_tx_new(&c, &tx[i]) == DSRTP_OK;
    }
    size_t after = in_use();
    for (size_t i = 0; i < SESSIONS; i++) {
        dsrtp_srtp_tx_free(tx[i]);
        dsrtp_srtp_rx_free(rxs[i]);
    }
    return ok && report(what, before, after, SESSIONS, 1 << 20);
}

static void test_session_plain_holds_under_1_kib(void)
{
    CHECK(measure_started("plain RTP session, started", DSRTP_KEYING_NONE, DSRTP_PROFILE_NONE,
                          false, BUDGET_PLAIN));
}

static void test_session_sdes_holds_under_budget(void)
{
    /* Every line is printed before any verdict, so a failure still shows the breakdown. */
    bool ok[6] = {
        measure_srtp("  srtp_tx AES_CM_128_HMAC_SHA1_80", DSRTP_AES_CM_128_HMAC_SHA1_80, false),
        measure_srtp("  srtp_rx AES_CM_128_HMAC_SHA1_80", DSRTP_AES_CM_128_HMAC_SHA1_80, true),
        measure_started("SDES session AES_CM_128_HMAC_SHA1_80", DSRTP_KEYING_SDES,
                        DSRTP_AES_CM_128_HMAC_SHA1_80, false, BUDGET_SDES_CM),
        measure_srtp("  srtp_tx AEAD_AES_256_GCM", DSRTP_AEAD_AES_256_GCM, false),
        measure_srtp("  srtp_rx AEAD_AES_256_GCM", DSRTP_AEAD_AES_256_GCM, true),
        measure_started("SDES session AEAD_AES_256_GCM", DSRTP_KEYING_SDES,
                        DSRTP_AEAD_AES_256_GCM, false, BUDGET_SDES_GCM),
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK(ok[i]);
    }
}

/* ---- ICE-lite: one agent per WebRTC leg ---- */

/* The agent alone, configured as a session configures it (defaults, generated local
 * credentials) and given the peer's, as after the SDP exchange. */
static bool measure_ice_agent(const char *what, long long budget)
{
    dsrtp_ice_lite_cfg c;
    dsrtp_ice_lite_cfg_init(&c);
    c.remote_ufrag = "PeerUfrag";
    c.remote_pwd = "PeerPasswordPeerPassword";
    dsrtp_ice_lite *a[SESSIONS] = {0};
    bool ok = true;
    for (int i = 0; i < WARMUP && ok; i++) {
        ok = dsrtp_ice_lite_new(&c, &a[0]) == DSRTP_OK;
        dsrtp_ice_lite_free(a[0]);
        a[0] = NULL;
    }
    size_t before = in_use();
    for (size_t i = 0; i < SESSIONS && ok; i++) {
        ok = dsrtp_ice_lite_new(&c, &a[i]) == DSRTP_OK;
    }
    size_t after = in_use();
    for (size_t i = 0; i < SESSIONS; i++) {
        dsrtp_ice_lite_free(a[i]);
    }
    return ok && report(what, before, after, SESSIONS, budget);
}

static void test_session_ice_lite_holds_under_budget(void)
{
    bool ok[2] = {
        measure_ice_agent("  ICE-lite agent, default queue", BUDGET_ICE_AGENT),
        measure_started("plain RTP session with ICE, started", DSRTP_KEYING_NONE,
                        DSRTP_PROFILE_NONE, true, BUDGET_PLAIN_ICE),
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK(ok[i]);
    }
}

/* ---- DTLS: a connected pair ---- */

static void dtls_cfg(dsrtp_session_cfg *cfg, const dsrtp_cert *mine, dsrtp_dtls_role role,
                     const dsrtp_cert *peer, const char *peer_addr)
{
    dsrtp_session_cfg_init(cfg);
    cfg->cert = mine;
    cfg->dtls_initial_rto = 10000;
    cfg->remote.has_addr = true;
    cfg->remote.addr = sl_addr(peer_addr);
    cfg->remote.dtls_role = role;
    if (dsrtp_cert_fingerprint(peer, DSRTP_HASH_SHA256, &cfg->remote.fingerprints[0]) !=
        DSRTP_OK) {
        abort();
    }
    cfg->remote.fingerprint_count = 1;
}

static bool both_ready(const sl_link *l)
{
    return sl_both_ready(l) && sl_wire_empty(l);
}

/* Makes and connects one pair on l (set up by the caller). */
static bool dtls_pair(sl_link *l)
{
    dsrtp_session_cfg ca;
    dsrtp_session_cfg cb;
    dtls_cfg(&ca, cert_a, DSRTP_DTLS_CLIENT, cert_b, "127.0.0.1:20000");
    dtls_cfg(&cb, cert_b, DSRTP_DTLS_SERVER, cert_a, "127.0.0.1:10000");
    dsrtp_time now = sl_now();
    if (dsrtp_session_new(&ca, &l->end[0].s) != DSRTP_OK ||
        dsrtp_session_new(&cb, &l->end[1].s) != DSRTP_OK ||
        dsrtp_session_start(l->end[0].s, now) != DSRTP_OK ||
        dsrtp_session_start(l->end[1].s, now) != DSRTP_OK) {
        return false;
    }
    sl_run(l, RUN_LIMIT, both_ready);
    return both_ready(l);
}

static void test_session_dtls_connected_holds_under_budget(void)
{
    need_certs();
    sl_cfg lc = {0};
    enum { PAIRS = SESSIONS / 2 };
    sl_link links[PAIRS];
    for (int i = 0; i < WARMUP; i++) {
        CHECK(sl_init(&links[0], &lc, "127.0.0.1:10000", "127.0.0.1:20000"));
        bool ok = dtls_pair(&links[0]);
        sl_free(&links[0]);
        CHECK(ok);
    }
    for (size_t i = 0; i < PAIRS; i++) {
        CHECK(sl_init(&links[i], &lc, "127.0.0.1:10000", "127.0.0.1:20000"));
    }
    size_t before = in_use();
    bool ok = true;
    for (size_t i = 0; i < PAIRS && ok; i++) {
        ok = dtls_pair(&links[i]);
    }
    size_t after = in_use();
    dsrtp_profile p = dsrtp_session_get_profile(links[0].end[0].s);
    for (size_t i = 0; i < PAIRS; i++) {
        sl_free(&links[i]);
    }
    CHECK(ok);
    CHECK_EQ(p, DSRTP_AEAD_AES_256_GCM);
    CHECK(report("DTLS session AEAD_AES_256_GCM, connected", before, after, SESSIONS,
                 BUDGET_DTLS_GCM));
}

RUN_TESTS(TEST(test_session_plain_holds_under_1_kib),
          TEST(test_session_sdes_holds_under_budget),
          TEST(test_session_ice_lite_holds_under_budget),
          TEST(test_session_dtls_connected_holds_under_budget))
