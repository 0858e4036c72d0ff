/* The media session's keying: DTLS-SRTP in both roles (also under loss, and with a
 * ClientHello that arrives before the offerer knows its role), SDES, plain RTP, the hard
 * gate that keeps media out before keys are agreed, fingerprint mismatch, latching onto
 * the source of authenticated media, and close. Two sessions talk over session_link.h in
 * real time with a 10 ms first DTLS retransmission. End 0 is A, end 1 is B. */
#include "harness/check.h"
#include "harness/session_link.h"

#define ADDR_A "127.0.0.1:10000"
#define ADDR_B "127.0.0.1:20000"
#define ADDR_B2 "127.0.0.1:20002" /* B after a NAT rebinding */
#define ADDR_B3 "127.0.0.1:20003" /* someone else */
#define RUN_LIMIT 5000000u        /* us; a healthy handshake takes well under 1 s */

static dsrtp_cert *cert_a;
static dsrtp_cert *cert_b;
static dsrtp_cert *cert_x; /* nobody's: for mismatches */

static void free_certs(void)
{
    dsrtp_cert_free(cert_a);
    dsrtp_cert_free(cert_b);
    dsrtp_cert_free(cert_x);
}

static void need_certs(void)
{
    if (cert_a != NULL) {
        return;
    }
    if (atexit(free_certs) != 0 ||
        dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_a) != DSRTP_OK ||
        dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_b) != DSRTP_OK ||
        dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_x) != DSRTP_OK) {
        abort();
    }
}

/* The certificates, generated on first use. */
#define CERT_A (need_certs(), cert_a)
#define CERT_B (need_certs(), cert_b)
#define CERT_X (need_certs(), cert_x)

static dsrtp_fingerprint fp_of(const dsrtp_cert *c)
{
    dsrtp_fingerprint fp;
    if (dsrtp_cert_fingerprint(c, DSRTP_HASH_SHA256, &fp) != DSRTP_OK) {
        abort();
    }
    return fp;
}

/* DTLS keying with short timers; the peer is at peer_addr with certificate peer_cert. */
static void dtls_cfg(dsrtp_session_cfg *cfg, const dsrtp_cert *mine, dsrtp_dtls_role role,
                     const dsrtp_cert *peer_cert, const char *peer_addr)
{
    need_certs();
    dsrtp_session_cfg_init(cfg);
    cfg->cert = mine;
    cfg->dtls_initial_rto = 10000;
    cfg->dtls_timeout = 4000000;
    cfg->remote.has_addr = true;
    cfg->remote.addr = sl_addr(peer_addr);
    cfg->remote.dtls_role = role;
    cfg->remote.fingerprints[0] = fp_of(peer_cert);
    cfg->remote.fingerprint_count = 1;
}

/* A (client) and B (server) on the link; expect_a / expect_b are the certificates each
 * one pins for its peer. Nothing is started. */
static dsrtp_err dtls_pair(sl_link *l, const sl_cfg *lc, const dsrtp_cert *a_expects,
                           const dsrtp_cert *b_expects)
{
    dsrtp_session_cfg ca;
    dsrtp_session_cfg cb;
    dtls_cfg(&ca, CERT_A, DSRTP_DTLS_CLIENT, CERT_B, ADDR_B);
    dtls_cfg(&cb, CERT_B, DSRTP_DTLS_SERVER, CERT_A, ADDR_A);
    ca.remote.fingerprints[0] = fp_of(a_expects);
    cb.remote.fingerprints[0] = fp_of(b_expects);
    if (!sl_init(l, lc, ADDR_A, ADDR_B)) {
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_err e = dsrtp_session_new(&ca, &l->end[0].s);
    if (e == DSRTP_OK) {
        e = dsrtp_session_new(&cb, &l->end[1].s);
    }
    return e;
}

static dsrtp_err start_both(sl_link *l)
{
    dsrtp_time now = sl_now();
    dsrtp_err e = dsrtp_session_start(l->end[0].s, now);
    if (e == DSRTP_OK) {
        e = dsrtp_session_start(l->end[1].s, now);
    }
    return e;
}

/* Builds one RTP (or RTCP) packet, protects it on end `from`, checks where it is sent,
 * delivers it to the other end and checks that exactly the plaintext comes out there. */
static void media_flows(sl_link *l, int from, bool rtcp, uint16_t seq)
{
    uint8_t plain[256];
    uint8_t buf[256 + DSRTP_SRTCP_MAX_TRAILER];
    size_t len = rtcp ? sl_make_rtcp(plain, 0x1000u + (uint32_t)from, seq)
                      : sl_make_rtp(plain, seq, 0x2000u + (uint32_t)from, 160);
    memcpy(buf, plain, len);
    size_t n = 0;
    dsrtp_addr to;
    CHECK_OK(dsrtp_session_protect(l->end[from].s, rtcp, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &l->end[1 - from].addr));
    dsrtp_input in;
    CHECK_OK(sl_inject(l, &l->end[from].addr, &to, buf, n, &in));
    CHECK_EQ(in.kind, rtcp ? DSRTP_INPUT_RTCP : DSRTP_INPUT_RTP);
    CHECK_EQ(in.len, len);
    CHECK_EQ(l->end[1 - from].last_plain_len, len);
    CHECK_MEM(l->end[1 - from].last_plain, plain, len);
}

static int count_kind(const sl_end *e, dsrtp_demux_kind k)
{
    return (int)e->sent_by_kind[k];
}

/* ---- DTLS ---- */

static void test_session_dtls_keys_both_sides_and_carries_media_both_ways(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 1};
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_NEW);
    CHECK_OK(start_both(&l));
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_KEYING);
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(dsrtp_session_get_state(l.end[i].s), DSRTP_SESSION_READY);
        CHECK_EQ(l.end[i].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 1);
        CHECK_EQ(l.end[i].ev_kind[DSRTP_SESSION_EV_FAILED], 0);
        const dsrtp_session_event *ev = sl_last_event(&l.end[i], DSRTP_SESSION_EV_KEYS_READY);
        CHECK(ev != NULL);
        CHECK_EQ(ev->profile, dsrtp_session_get_profile(l.end[i].s));
    }
    dsrtp_profile p = dsrtp_session_get_profile(l.end[0].s);
    CHECK(p != DSRTP_PROFILE_NONE);
    CHECK_EQ(p, dsrtp_session_get_profile(l.end[1].s));

    for (uint16_t seq = 1; seq <= 3; seq++) {
        media_flows(&l, 0, false, seq);
        media_flows(&l, 1, false, seq);
    }
    media_flows(&l, 0, true, 1);
    media_flows(&l, 1, true, 1);
    for (int i = 0; i < 2; i++) {
        dsrtp_session_stats st;
        dsrtp_session_get_stats(l.end[i].s, &st);
        CHECK_EQ(st.rtp_sent, 3);
        CHECK_EQ(st.rtp_received, 3);
        CHECK_EQ(st.rtcp_sent, 1);
        CHECK_EQ(st.rtcp_received, 1);
        CHECK_EQ(st.bytes_sent, 3 * 172 + 28);
        CHECK_EQ(st.bytes_received, 3 * 172 + 28);
        CHECK_EQ(st.auth_failures + st.replays + st.malformed + st.dropped_not_ready, 0);
        CHECK(st.handshake_us > 0);
    }
    sl_free(&l);
}

static void test_session_dtls_refuses_tampered_and_truncated_media(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 2};
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    CHECK_OK(start_both(&l));
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));

    uint8_t plain[256];
    uint8_t buf[256 + DSRTP_SRTCP_MAX_TRAILER];
    uint8_t bad[sizeof buf];
    size_t len = sl_make_rtp(plain, 7, 0xabcd, 100);
    memcpy(buf, plain, len);
    size_t n = 0;
    dsrtp_addr to;
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
    memcpy(bad, buf, n);
    bad[n - 1] ^= 0x01; /* the tag */
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &to, bad, n, NULL), DSRTP_ERR_AUTH);
    memcpy(bad, buf, n);
    bad[20] ^= 0x80; /* the payload */
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &to, bad, n, NULL), DSRTP_ERR_AUTH);
    dsrtp_err e = sl_inject(&l, &l.end[0].addr, &to, buf, 12, NULL); /* no tag at all */
    CHECK(e == DSRTP_ERR_MALFORMED || e == DSRTP_ERR_AUTH);
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.auth_failures + st.malformed, 3);
    CHECK_EQ(st.rtp_received, 0);
    /* The genuine packet still passes: the refusals changed nothing. */
    dsrtp_input in;
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &to, buf, n, &in));
    CHECK_EQ(in.kind, DSRTP_INPUT_RTP);
    CHECK_MEM(l.end[1].last_plain, plain, len);
    sl_free(&l);
}

static void test_session_dtls_keys_under_loss_duplication_and_reordering(void)
{
    sl_link l;
    sl_cfg lc = {.loss_pct = 20, .dup_pct = 10, .jitter_us = 4000, .delay_us = 500, .seed = 77};
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    CHECK_OK(start_both(&l));
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));
    CHECK_EQ(dsrtp_session_get_profile(l.end[0].s), dsrtp_session_get_profile(l.end[1].s));
    /* Media over the same lossy link: whatever arrives is genuine, nothing is refused
     * but duplicates. */
    uint8_t pkt[256];
    for (uint16_t seq = 1; seq <= 40; seq++) {
        CHECK_OK(sl_send_media(&l, 0, false, pkt, sl_make_rtp(pkt, seq, 0x77, 60)));
        CHECK_OK(sl_send_media(&l, 1, false, pkt, sl_make_rtp(pkt, seq, 0x88, 60)));
    }
    sl_run(&l, 1000000, sl_wire_empty);
    for (int i = 0; i < 2; i++) {
        dsrtp_session_stats st;
        dsrtp_session_get_stats(l.end[i].s, &st);
        CHECK(st.rtp_received > 10 && st.rtp_received <= 40);
        CHECK_EQ(st.auth_failures + st.malformed + st.dropped_not_ready, 0);
    }
    sl_free(&l);
}

static bool a_failed(const sl_link *l)
{
    return l->end[0].ev_kind[DSRTP_SESSION_EV_FAILED] > 0;
}

static void test_session_dtls_fails_when_the_handshake_times_out(void)
{
    /* The twin of keying under loss: nothing gets through at all. */
    sl_link l;
    sl_cfg lc = {.loss_pct = 100, .seed = 3};
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    dsrtp_session_cfg ca;
    dtls_cfg(&ca, CERT_A, DSRTP_DTLS_CLIENT, CERT_B, ADDR_B);
    ca.dtls_timeout = 150000;
    dsrtp_session_free(l.end[0].s);
    CHECK_OK(dsrtp_session_new(&ca, &l.end[0].s));
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    sl_run(&l, RUN_LIMIT, a_failed);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_FAILED], 1);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 0);
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_FAILED);
    sl_free(&l);
}

/* ---- the hard gate ---- */

static void test_session_refuses_media_before_keys_are_agreed(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 4};
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    uint8_t pkt[256];
    uint8_t copy[256];
    size_t n = 0;
    dsrtp_addr to;
    dsrtp_addr from = sl_addr(ADDR_A);
    for (int phase = 0; phase < 2; phase++) {
        /* Phase 0: created, not started. Phase 1: started, handshake not finished. */
        if (phase == 1) {
            CHECK_OK(dsrtp_session_start(l.end[1].s, sl_now()));
            CHECK_EQ(dsrtp_session_get_state(l.end[1].s), DSRTP_SESSION_KEYING);
        }
        size_t len = sl_make_rtp(pkt, 1, 5, 40);
        CHECK_ERR(dsrtp_session_protect(l.end[1].s, false, pkt, len, sizeof pkt, &n, &to),
                  DSRTP_ERR_NOT_READY);
        len = sl_make_rtcp(pkt, 5, 1);
        CHECK_ERR(dsrtp_session_protect(l.end[1].s, true, pkt, len, sizeof pkt, &n, &to),
                  DSRTP_ERR_NOT_READY);
        /* Packets that look like SRTP/SRTCP (with room for a tag) are not even looked at. */
        len = sl_make_rtp(pkt, 1, 5, 40) + 10;
        memcpy(copy, pkt, len);
        dsrtp_input in;
        CHECK_ERR(dsrtp_session_handle_datagram(l.end[1].s, sl_now(), &from, pkt, len, &in),
                  DSRTP_ERR_NOT_READY);
        CHECK_EQ(in.kind, DSRTP_INPUT_CONSUMED);
        CHECK_MEM(pkt, copy, len);
        len = sl_make_rtcp(pkt, 5, 1) + 14;
        CHECK_ERR(dsrtp_session_handle_datagram(l.end[1].s, sl_now(), &from, pkt, len, &in),
                  DSRTP_ERR_NOT_READY);
    }
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.dropped_not_ready, 4);
    CHECK_EQ(st.rtp_sent + st.rtcp_sent + st.rtp_received + st.rtcp_received, 0);
    CHECK_EQ(count_kind(&l.end[1], DSRTP_DEMUX_RTP) + count_kind(&l.end[1], DSRTP_DEMUX_RTCP),
             0);
    /* Once the handshake is done, the same calls go through. */
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));
    media_flows(&l, 1, false, 1);
    media_flows(&l, 0, true, 1);
    sl_free(&l);
}

static bool any_failed_and_wire_empty(const sl_link *l)
{
    return sl_both_failed(l) && l->n == 0;
}

/* A (client) pins the wrong certificate for B, or B (server) for A. */
static void check_mismatch(bool client_pins_wrong)
{
    sl_link l;
    sl_cfg lc = {.seed = 5};
    CHECK_OK(dtls_pair(&l, &lc, client_pins_wrong ? CERT_X : CERT_B,
                       client_pins_wrong ? CERT_A : CERT_X));
    CHECK_OK(start_both(&l));
    sl_run(&l, RUN_LIMIT, any_failed_and_wire_empty);
    uint8_t pkt[256];
    size_t n = 0;
    dsrtp_addr to;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(l.end[i].ev_kind[DSRTP_SESSION_EV_FAILED], 1);
        CHECK_EQ(l.end[i].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 0);
        CHECK_EQ(dsrtp_session_get_state(l.end[i].s), DSRTP_SESSION_FAILED);
        CHECK_EQ(dsrtp_session_get_profile(l.end[i].s), DSRTP_PROFILE_NONE);
        size_t len = sl_make_rtp(pkt, 1, 9, 40);
        CHECK_ERR(dsrtp_session_protect(l.end[i].s, false, pkt, len, sizeof pkt, &n, &to),
                  DSRTP_ERR_NOT_READY);
        len += 10;
        CHECK_ERR(sl_inject(&l, &l.end[1 - i].addr, &l.end[i].addr, pkt, len, NULL),
                  DSRTP_ERR_NOT_READY);
        CHECK_EQ(count_kind(&l.end[i], DSRTP_DEMUX_RTP) + count_kind(&l.end[i], DSRTP_DEMUX_RTCP),
                 0);
        CHECK_EQ(l.end[i].rx_rtp + l.end[i].rx_rtcp, 0);
        CHECK_EQ(dsrtp_session_next_deadline(l.end[i].s), DSRTP_TIME_NEVER);
    }
    const dsrtp_session_event *ev = sl_last_event(&l.end[client_pins_wrong ? 0 : 1],
                                                  DSRTP_SESSION_EV_FAILED);
    CHECK(ev != NULL && strstr(ev->detail, "fingerprint") != NULL);
    sl_free(&l);
}

static void test_session_fails_both_sides_when_the_client_sees_a_wrong_fingerprint(void)
{
    check_mismatch(true);
}

static void test_session_fails_both_sides_when_the_server_sees_a_wrong_fingerprint(void)
{
    check_mismatch(false);
}

/* ---- the early ClientHello (RFC 5763 §5: the answerer may be active) ---- */

typedef struct hello_tap {
    int client_hellos; /* ClientHellos A sent */
    int passed;        /* ClientHellos let through */
} hello_tap;

/* Lets only A's first ClientHello through: the handshake then completes only if B used
 * the copy it held from before start. */
static bool first_hello_only(void *arg, int from, const dsrtp_addr *to, uint8_t *d, size_t *len)
{
    hello_tap *t = arg;
    (void)to;
    /* DTLS record: type 22 (handshake), epoch 0, handshake type 1 (ClientHello). */
    if (from == 0 && *len > 13 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1) {
        t->client_hellos++;
        if (t->client_hellos > 1) {
            return false;
        }
        t->passed++;
    }
    return true;
}

static bool b_holds_hello(const sl_link *l)
{
    return l->end[1].delivered > 0;
}

/* A is the answerer and DTLS client; B, the offerer, is created without a remote and
 * receives A's ClientHello before its set_remote and start. */
static dsrtp_err early_pair(sl_link *l, sl_cfg *lc)
{
    dsrtp_session_cfg ca;
    dsrtp_session_cfg cb;
    dtls_cfg(&ca, CERT_A, DSRTP_DTLS_CLIENT, CERT_B, ADDR_B);
    dsrtp_session_cfg_init(&cb);
    cb.cert = CERT_B;
    cb.dtls_initial_rto = 10000;
    cb.dtls_timeout = 4000000;
    if (!sl_init(l, lc, ADDR_A, ADDR_B)) {
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_err e = dsrtp_session_new(&ca, &l->end[0].s);
    if (e == DSRTP_OK) {
        e = dsrtp_session_new(&cb, &l->end[1].s);
    }
    if (e == DSRTP_OK) {
        e = dsrtp_session_start(l->end[0].s, sl_now());
    }
    if (e == DSRTP_OK) {
        sl_run(l, RUN_LIMIT, b_holds_hello);
    }
    return e;
}

static void test_session_completes_the_handshake_with_a_client_hello_held_before_start(void)
{
    sl_link l;
    hello_tap t = {0};
    sl_cfg lc = {.seed = 6, .tap = first_hello_only, .tap_arg = &t};
    CHECK_OK(early_pair(&l, &lc));
    CHECK_EQ(t.passed, 1);
    CHECK_EQ(l.end[1].delivered, 1);
    CHECK_EQ(l.end[1].last_err, DSRTP_OK);
    CHECK_EQ(dsrtp_session_get_state(l.end[1].s), DSRTP_SESSION_NEW);

    dsrtp_session_remote r = {0};
    r.has_addr = true;
    r.addr = sl_addr(ADDR_A);
    r.dtls_role = DSRTP_DTLS_SERVER;
    r.fingerprints[0] = fp_of(CERT_A);
    r.fingerprint_count = 1;
    CHECK_OK(dsrtp_session_set_remote(l.end[1].s, &r));
    CHECK_OK(dsrtp_session_start(l.end[1].s, sl_now()));
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));
    CHECK(t.client_hellos >= 1);
    CHECK_EQ(t.passed, 1);
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.dtls_dropped, 0);
    media_flows(&l, 0, false, 1);
    media_flows(&l, 1, false, 1);
    /* Too late to change the peer now. */
    CHECK_ERR(dsrtp_session_set_remote(l.end[1].s, &r), DSRTP_ERR_INVALID_ARG);
    sl_free(&l);
}

static void test_session_holds_an_early_client_hello_without_answering_before_start(void)
{
    sl_link l;
    hello_tap t = {0};
    sl_cfg lc = {.seed = 7, .tap = first_hello_only, .tap_arg = &t};
    CHECK_OK(early_pair(&l, &lc));
    CHECK_EQ(l.end[1].delivered, 1);
    /* Nothing goes back while the role is unknown, however long it waits. */
    sl_run(&l, 100000, NULL);
    CHECK_EQ(l.end[1].sent, 0);
    CHECK_EQ(l.end[1].ev_count, 0);
    CHECK_EQ(dsrtp_session_get_state(l.end[1].s), DSRTP_SESSION_NEW);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 0);
    /* And start refuses to guess the role. */
    CHECK_ERR(dsrtp_session_start(l.end[1].s, sl_now()), DSRTP_ERR_INVALID_ARG);
    CHECK_EQ(dsrtp_session_get_state(l.end[1].s), DSRTP_SESSION_NEW);
    sl_free(&l);
}

/* A ClientHello from a third DTLS client (certificate X) aimed at B's address. */
static size_t stranger_hello(uint8_t *buf, size_t cap)
{
    dsrtp_session_cfg cx;
    dtls_cfg(&cx, CERT_X, DSRTP_DTLS_CLIENT, CERT_B, ADDR_B);
    dsrtp_session *x = NULL;
    dsrtp_session_output out = {0};
    if (dsrtp_session_new(&cx, &x) != DSRTP_OK || dsrtp_session_start(x, sl_now()) != DSRTP_OK ||
        dsrtp_session_poll_output(x, buf, cap, &out) != DSRTP_OK) {
        out.kind = DSRTP_OUT_IDLE;
    }
    dsrtp_session_free(x);
    return out.kind == DSRTP_OUT_DATAGRAM ? out.len : 0;
}

/* Without ICE, a ClientHello from an address other than the peer's, mid-handshake, must
 * neither abort the client (nor pass for a role conflict) nor start the server's
 * handshake ahead of the real peer's ClientHello. */
static void test_session_dtls_ignores_a_client_hello_from_another_address_while_keying(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 12};
    uint8_t hello[SL_MTU];
    size_t n = stranger_hello(hello, sizeof hello);
    CHECK(n > 13 && hello[0] == 22 && hello[13] == 1);
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    CHECK_OK(start_both(&l));
    dsrtp_addr b3 = sl_addr(ADDR_B3);
    /* Before anything of A's reached B: B is a server waiting for its first ClientHello. */
    for (int i = 0; i < 2; i++) {
        CHECK_ERR(sl_inject(&l, &b3, &l.end[i].addr, hello, n, NULL), DSRTP_ERR_NOT_READY);
        CHECK_EQ(dsrtp_session_get_state(l.end[i].s), DSRTP_SESSION_KEYING);
    }
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(l.end[i].ev_kind[DSRTP_SESSION_EV_FAILED], 0);
        dsrtp_session_stats st;
        dsrtp_session_get_stats(l.end[i].s, &st);
        CHECK(st.dtls_dropped >= 1);
    }
    media_flows(&l, 0, false, 1);
    media_flows(&l, 1, false, 1);
    sl_free(&l);
}

/* ---- SDES ---- */

static const uint8_t key_a[32] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
                                  0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
                                  0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0};
static const uint8_t key_b[32] = {0x1b, 0x2b, 0x3b, 0x4b, 0x5b, 0x6b, 0x7b, 0x8b, 0x9b, 0xab, 0xbb,
                                  0xcb, 0xdb, 0xeb, 0xfb, 0x0b, 0x1c, 0x2c, 0x3c, 0x4c, 0x5c, 0x6c,
                                  0x7c, 0x8c, 0x9c, 0xac, 0xbc, 0xcc, 0xdc, 0xec, 0xfc, 0x0c};
static const uint8_t salt_a[14] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
static const uint8_t salt_b[14] = {14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static void sdes_cfg(dsrtp_session_cfg *cfg, dsrtp_profile p, bool is_a)
{
    dsrtp_session_cfg_init(cfg);
    cfg->keying = DSRTP_KEYING_SDES;
    cfg->sdes_profile = p;
    memcpy(cfg->sdes_key, is_a ? key_a : key_b, sizeof cfg->sdes_key);
    memcpy(cfg->sdes_salt, is_a ? salt_a : salt_b, sizeof cfg->sdes_salt);
    memcpy(cfg->remote.sdes_key, is_a ? key_b : key_a, sizeof cfg->remote.sdes_key);
    memcpy(cfg->remote.sdes_salt, is_a ? salt_b : salt_a, sizeof cfg->remote.sdes_salt);
    cfg->remote.has_addr = true;
    cfg->remote.addr = sl_addr(is_a ? ADDR_B : ADDR_A);
}

static dsrtp_err sdes_pair(sl_link *l, dsrtp_profile p)
{
    dsrtp_session_cfg ca;
    dsrtp_session_cfg cb;
    sdes_cfg(&ca, p, true);
    sdes_cfg(&cb, p, false);
    sl_cfg lc = {.seed = 8};
    if (!sl_init(l, &lc, ADDR_A, ADDR_B)) {
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_err e = dsrtp_session_new(&ca, &l->end[0].s);
    if (e == DSRTP_OK) {
        e = dsrtp_session_new(&cb, &l->end[1].s);
    }
    if (e == DSRTP_OK) {
        e = start_both(l);
    }
    for (int i = 0; i < 2 && e == DSRTP_OK; i++) {
        sl_drain(l, i, sl_now());
    }
    return e;
}

static void test_session_sdes_is_ready_at_start_and_carries_media_both_ways(void)
{
    for (dsrtp_profile p = 1; p < DSRTP_PROFILE_COUNT; p++) {
        sl_link l;
        CHECK_OK(sdes_pair(&l, p));
        for (int i = 0; i < 2; i++) {
            CHECK_EQ(dsrtp_session_get_state(l.end[i].s), DSRTP_SESSION_READY);
            CHECK_EQ(dsrtp_session_get_profile(l.end[i].s), p);
            const dsrtp_session_event *ev =
                sl_last_event(&l.end[i], DSRTP_SESSION_EV_KEYS_READY);
            CHECK(ev != NULL && ev->profile == p);
            CHECK_EQ(l.end[i].sent, 0); /* SDES has no handshake */
            CHECK_EQ(dsrtp_session_next_deadline(l.end[i].s), DSRTP_TIME_NEVER);
        }
        for (uint16_t seq = 100; seq < 103; seq++) {
            media_flows(&l, 0, false, seq);
            media_flows(&l, 1, false, seq);
        }
        media_flows(&l, 0, true, 1);
        media_flows(&l, 1, true, 1);
        sl_free(&l);
    }
}

static void test_session_sdes_refuses_a_configuration_without_a_profile(void)
{
    dsrtp_session_cfg cfg;
    dsrtp_session *s = NULL;
    sdes_cfg(&cfg, DSRTP_PROFILE_NONE, true);
    CHECK_ERR(dsrtp_session_new(&cfg, &s), DSRTP_ERR_INVALID_ARG);
    CHECK(s == NULL);
    sdes_cfg(&cfg, DSRTP_PROFILE_COUNT, true);
    CHECK_ERR(dsrtp_session_new(&cfg, &s), DSRTP_ERR_INVALID_ARG);
    /* DTLS keying without a certificate is as inconsistent. */
    dsrtp_session_cfg_init(&cfg);
    CHECK_ERR(dsrtp_session_new(&cfg, &s), DSRTP_ERR_INVALID_ARG);
    CHECK(s == NULL);
}

/* Protects an RTP packet on end `from` into buf; returns its length (0 on failure). */
static size_t protect_rtp(sl_link *l, int from, uint16_t seq, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, seq, 0x5151, 80);
    if (dsrtp_session_protect(l->end[from].s, false, buf, len, cap, &n, &to) != DSRTP_OK) {
        return 0;
    }
    return n;
}

static void test_session_sdes_refuses_a_packet_protected_with_the_wrong_key(void)
{
    sl_link l;
    CHECK_OK(sdes_pair(&l, DSRTP_AES_CM_128_HMAC_SHA1_80));
    /* A sender with a key B was not told about. */
    dsrtp_srtp_cfg c;
    dsrtp_srtp_cfg_init(&c);
    c.profile = DSRTP_AES_CM_128_HMAC_SHA1_80;
    c.master_key = key_b; /* B's own key, not A's: wrong direction */
    c.master_key_len = 16;
    c.master_salt = salt_b;
    c.master_salt_len = 14;
    dsrtp_srtp_tx *rogue = NULL;
    CHECK_OK(dsrtp_srtp_tx_new(&c, &rogue));
    uint8_t buf[256];
    size_t n = 0;
    size_t len = sl_make_rtp(buf, 1, 0x5151, 80);
    dsrtp_err e = dsrtp_srtp_tx_protect(rogue, buf, len, sizeof buf, &n);
    dsrtp_srtp_tx_free(rogue);
    CHECK_OK(e);
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL), DSRTP_ERR_AUTH);
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.auth_failures, 1);
    CHECK_EQ(st.rtp_received, 0);
    /* The genuine packet with the same sequence number still passes. */
    n = protect_rtp(&l, 0, 1, buf, sizeof buf);
    CHECK(n > 0);
    dsrtp_input in;
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, &in));
    CHECK_EQ(in.kind, DSRTP_INPUT_RTP);
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.rtp_received, 1);
    CHECK_EQ(st.auth_failures, 1);
    sl_free(&l);
}

static void test_session_sdes_refuses_a_replayed_packet(void)
{
    sl_link l;
    CHECK_OK(sdes_pair(&l, DSRTP_AEAD_AES_128_GCM));
    uint8_t buf[256];
    uint8_t copy[256];
    size_t n = protect_rtp(&l, 0, 10, buf, sizeof buf);
    CHECK(n > 0);
    memcpy(copy, buf, n);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, copy, n, NULL), DSRTP_ERR_REPLAY);
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.replays, 1);
    CHECK_EQ(st.rtp_received, 1);
    /* The next packet passes, and so does an older one never seen (reordering). */
    n = protect_rtp(&l, 0, 12, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    n = protect_rtp(&l, 0, 11, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.rtp_received, 3);
    CHECK_EQ(st.replays, 1);
    sl_free(&l);
}

/* ---- plain RTP ---- */

static dsrtp_err plain_pair(sl_link *l)
{
    dsrtp_session_cfg cfg;
    sl_cfg lc = {.seed = 9};
    if (!sl_init(l, &lc, ADDR_A, ADDR_B)) {
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_err e = DSRTP_OK;
    for (int i = 0; i < 2 && e == DSRTP_OK; i++) {
        dsrtp_session_cfg_init(&cfg);
        cfg.keying = DSRTP_KEYING_NONE;
        cfg.remote.has_addr = true;
        cfg.remote.addr = l->end[1 - i].addr;
        e = dsrtp_session_new(&cfg, &l->end[i].s);
    }
    return e;
}

static void test_session_plain_rtp_is_ready_at_start_and_passes_packets_unchanged(void)
{
    sl_link l;
    CHECK_OK(plain_pair(&l));
    CHECK_OK(start_both(&l));
    for (int i = 0; i < 2; i++) {
        sl_drain(&l, i, sl_now());
        CHECK_EQ(dsrtp_session_get_state(l.end[i].s), DSRTP_SESSION_READY);
        CHECK_EQ(dsrtp_session_get_profile(l.end[i].s), DSRTP_PROFILE_NONE);
        CHECK_EQ(l.end[i].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 1);
    }
    uint8_t plain[256];
    uint8_t buf[256];
    for (int rtcp = 0; rtcp < 2; rtcp++) {
        size_t len = rtcp ? sl_make_rtcp(plain, 3, 3) : sl_make_rtp(plain, 3, 3, 50);
        memcpy(buf, plain, len);
        size_t n = 0;
        dsrtp_addr to;
        CHECK_OK(dsrtp_session_protect(l.end[0].s, rtcp, buf, len, len, &n, &to));
        CHECK_EQ(n, len);
        CHECK_MEM(buf, plain, len);
        CHECK(dsrtp_addr_equal(&to, &l.end[1].addr));
        dsrtp_input in;
        CHECK_OK(sl_inject(&l, &l.end[0].addr, &to, buf, n, &in));
        CHECK_EQ(in.kind, rtcp ? DSRTP_INPUT_RTCP : DSRTP_INPUT_RTP);
        CHECK_EQ(in.len, len);
        CHECK_MEM(l.end[1].last_plain, plain, len);
    }
    sl_free(&l);
}

static void test_session_plain_rtp_refuses_truncated_headers_and_media_before_start(void)
{
    sl_link l;
    CHECK_OK(plain_pair(&l));
    uint8_t buf[64];
    size_t len = sl_make_rtp(buf, 1, 1, 20);
    size_t n = 0;
    dsrtp_addr to;
    CHECK_ERR(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to),
              DSRTP_ERR_NOT_READY);
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, len, NULL),
              DSRTP_ERR_NOT_READY);
    CHECK_OK(start_both(&l));
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, 11, NULL),
              DSRTP_ERR_MALFORMED);
    len = sl_make_rtcp(buf, 1, 1);
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, 7, NULL),
              DSRTP_ERR_MALFORMED);
    /* Too little room to hand the packet back. */
    CHECK_ERR(dsrtp_session_protect(l.end[0].s, true, buf, len, len - 1, &n, &to),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.malformed, 2);
    CHECK_EQ(st.dropped_not_ready, 1);
    CHECK_EQ(st.rtp_received + st.rtcp_received, 0);
    sl_free(&l);
}

/* ---- latching (no ICE) ---- */

static void test_session_latches_onto_the_source_of_authenticated_media(void)
{
    sl_link l;
    CHECK_OK(sdes_pair(&l, DSRTP_AES_CM_128_HMAC_SHA1_80));
    dsrtp_addr b2 = sl_addr(ADDR_B2);
    uint8_t buf[256];
    size_t n = protect_rtp(&l, 0, 1, buf, sizeof buf); /* A to B: goes to the SDP address */
    CHECK(n > 0);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0);
    /* Media from B's SDP address: nothing moves. */
    n = protect_rtp(&l, 1, 1, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[1].addr, &l.end[0].addr, buf, n, NULL));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0);
    /* B's NAT rebinds: authenticated media from a new address moves A's destination. */
    n = protect_rtp(&l, 1, 2, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &b2, &l.end[0].addr, buf, n, NULL));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 1);
    const dsrtp_session_event *ev = sl_last_event(&l.end[0], DSRTP_SESSION_EV_ADDRESS_CHANGED);
    CHECK(ev != NULL && dsrtp_addr_equal(&ev->addr, &b2));
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 2, 0x99, 10);
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &b2));
    /* RTCP latches too, and more media from the same address is no news. */
    len = sl_make_rtcp(buf, 0x5151, 1);
    CHECK_OK(dsrtp_session_protect(l.end[1].s, true, buf, len, sizeof buf, &n, &to));
    CHECK_OK(sl_inject(&l, &b2, &l.end[0].addr, buf, n, NULL));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 1);
    sl_free(&l);
}

static void test_session_does_not_latch_onto_unauthenticated_or_replayed_media(void)
{
    sl_link l;
    CHECK_OK(sdes_pair(&l, DSRTP_AES_CM_128_HMAC_SHA1_80));
    dsrtp_addr b3 = sl_addr(ADDR_B3);
    uint8_t buf[256];
    uint8_t copy[256];
    size_t n = protect_rtp(&l, 1, 1, buf, sizeof buf);
    memcpy(copy, buf, n);
    copy[n - 1] ^= 0x40;
    CHECK_ERR(sl_inject(&l, &b3, &l.end[0].addr, copy, n, NULL), DSRTP_ERR_AUTH);
    memcpy(copy, buf, n);
    CHECK_OK(sl_inject(&l, &l.end[1].addr, &l.end[0].addr, buf, n, NULL));
    CHECK_ERR(sl_inject(&l, &b3, &l.end[0].addr, copy, n, NULL), DSRTP_ERR_REPLAY);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0);
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 2, 0x99, 10);
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &l.end[1].addr));
    sl_free(&l);
}

static void test_session_does_not_latch_when_latching_is_off_or_media_is_plain(void)
{
    for (int plain = 0; plain < 2; plain++) {
        sl_link l;
        sl_cfg lc = {.seed = 10};
        CHECK(sl_init(&l, &lc, ADDR_A, ADDR_B));
        dsrtp_session_cfg ca;
        dsrtp_session_cfg cb;
        sdes_cfg(&ca, DSRTP_AES_CM_128_HMAC_SHA1_80, true);
        sdes_cfg(&cb, DSRTP_AES_CM_128_HMAC_SHA1_80, false);
        if (plain) {
            ca.keying = DSRTP_KEYING_NONE;
            cb.keying = DSRTP_KEYING_NONE;
        } else {
            ca.latch = false;
        }
        CHECK_OK(dsrtp_session_new(&ca, &l.end[0].s));
        CHECK_OK(dsrtp_session_new(&cb, &l.end[1].s));
        CHECK_OK(start_both(&l));
        dsrtp_addr b2 = sl_addr(ADDR_B2);
        uint8_t buf[256];
        size_t n = protect_rtp(&l, 1, 1, buf, sizeof buf);
        CHECK(n > 0);
        CHECK_OK(sl_inject(&l, &b2, &l.end[0].addr, buf, n, NULL));
        CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0);
        dsrtp_addr to;
        size_t len = sl_make_rtp(buf, 2, 0x99, 10);
        CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
        CHECK(dsrtp_addr_equal(&to, &l.end[1].addr));
        sl_free(&l);
    }
}

/* ---- close ---- */

static bool b_closed(const sl_link *l)
{
    return l->end[1].ev_kind[DSRTP_SESSION_EV_CLOSED] > 0;
}

static void test_session_close_reaches_the_peer_as_a_closed_event(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 11};
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    CHECK_OK(start_both(&l));
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));
    CHECK_OK(dsrtp_session_close(l.end[0].s));
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_CLOSED);
    sl_run(&l, RUN_LIMIT, b_closed);
    CHECK_EQ(l.end[1].ev_kind[DSRTP_SESSION_EV_CLOSED], 1);
    CHECK_EQ(dsrtp_session_get_state(l.end[1].s), DSRTP_SESSION_CLOSED);
    CHECK_EQ(l.end[1].ev_kind[DSRTP_SESSION_EV_FAILED], 0);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CLOSED], 0); /* the closer is not told */
    sl_free(&l);
}

static void test_session_refuses_media_on_both_sides_after_close(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 12};
    CHECK_OK(dtls_pair(&l, &lc, CERT_B, CERT_A));
    CHECK_OK(start_both(&l));
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));
    /* A packet protected before the close, delivered after it, is refused too. */
    uint8_t late[256];
    size_t late_n = protect_rtp(&l, 0, 1, late, sizeof late);
    CHECK(late_n > 0);
    CHECK_OK(dsrtp_session_close(l.end[0].s));
    sl_run(&l, RUN_LIMIT, b_closed);
    CHECK(b_closed(&l));
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    for (int i = 0; i < 2; i++) {
        size_t len = sl_make_rtp(buf, 5, 1, 10);
        CHECK_ERR(dsrtp_session_protect(l.end[i].s, false, buf, len, sizeof buf, &n, &to),
                  DSRTP_ERR_NOT_READY);
    }
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, late, late_n, NULL),
              DSRTP_ERR_NOT_READY);
    CHECK_EQ(l.end[1].rx_rtp, 0);
    sl_free(&l);
}

static void test_session_start_refuses_a_session_closed_before_it_started(void)
{
    dsrtp_session_cfg cfg;
    sdes_cfg(&cfg, DSRTP_AES_CM_128_HMAC_SHA1_80, true);
    dsrtp_session *s = NULL;
    CHECK_OK(dsrtp_session_new(&cfg, &s));
    dsrtp_err closed = dsrtp_session_close(s);
    dsrtp_err started = dsrtp_session_start(s, sl_now());
    dsrtp_session_state st = dsrtp_session_get_state(s);
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    dsrtp_err prot = dsrtp_session_protect(s, false, buf, sl_make_rtp(buf, 1, 1, 10),
                                           sizeof buf, &n, &to);
    dsrtp_session_free(s);
    CHECK_OK(closed);
    CHECK_ERR(started, DSRTP_ERR_INVALID_ARG);
    CHECK_EQ(st, DSRTP_SESSION_CLOSED);
    CHECK_ERR(prot, DSRTP_ERR_NOT_READY);
}

RUN_TESTS(TEST(test_session_dtls_keys_both_sides_and_carries_media_both_ways),
          TEST(test_session_dtls_refuses_tampered_and_truncated_media),
          TEST(test_session_dtls_keys_under_loss_duplication_and_reordering),
          TEST(test_session_dtls_fails_when_the_handshake_times_out),
          TEST(test_session_refuses_media_before_keys_are_agreed),
          TEST(test_session_fails_both_sides_when_the_client_sees_a_wrong_fingerprint),
          TEST(test_session_fails_both_sides_when_the_server_sees_a_wrong_fingerprint),
          TEST(test_session_completes_the_handshake_with_a_client_hello_held_before_start),
          TEST(test_session_holds_an_early_client_hello_without_answering_before_start),
          TEST(test_session_dtls_ignores_a_client_hello_from_another_address_while_keying),
          TEST(test_session_sdes_is_ready_at_start_and_carries_media_both_ways),
          TEST(test_session_sdes_refuses_a_configuration_without_a_profile),
          TEST(test_session_sdes_refuses_a_packet_protected_with_the_wrong_key),
          TEST(test_session_sdes_refuses_a_replayed_packet),
          TEST(test_session_plain_rtp_is_ready_at_start_and_passes_packets_unchanged),
          TEST(test_session_plain_rtp_refuses_truncated_headers_and_media_before_start),
          TEST(test_session_latches_onto_the_source_of_authenticated_media),
          TEST(test_session_does_not_latch_onto_unauthenticated_or_replayed_media),
          TEST(test_session_does_not_latch_when_latching_is_off_or_media_is_plain),
          TEST(test_session_close_reaches_the_peer_as_a_closed_event),
          TEST(test_session_refuses_media_on_both_sides_after_close),
          TEST(test_session_start_refuses_a_session_closed_before_it_started))
