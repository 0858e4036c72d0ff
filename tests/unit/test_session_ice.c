/* The media session as an ICE-lite agent facing a full-ICE peer: connectivity checks are
 * answered towards their source, DTLS and media count only from addresses that passed a
 * check, the nominated address becomes the destination, and lost consent ends the session.
 *
 * End 0 (A) is the ICE-lite session under test. End 1 (B) is a session without ICE playing
 * the peer's DTLS and media; the test plays the peer's ICE agent, building checks with the
 * public STUN codec and injecting them from whatever source address it needs. Real time,
 * 10 ms first DTLS retransmission (see session_link.h). */
#include "harness/check.h"
#include "harness/session_link.h"

#define ADDR_A "127.0.0.1:10000"
#define ADDR_B "127.0.0.1:20000"
#define ADDR_X1 "192.0.2.1:40001" /* candidates of the peer that no session owns */
#define ADDR_X2 "192.0.2.2:40002"
#define ADDR_X6 "[2001:db8::7]:40006"
#define PEER_UFRAG "PeerUfrag"
#define PEER_PWD "PeerPasswordPeerPassword0"
#define RUN_LIMIT 5000000u

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

static dsrtp_fingerprint fp_of(const dsrtp_cert *c)
{
    dsrtp_fingerprint fp;
    if (dsrtp_cert_fingerprint(c, DSRTP_HASH_SHA256, &fp) != DSRTP_OK) {
        abort();
    }
    return fp;
}

/* A's view of B as its SDP describes it: full ICE, DTLS, at ADDR_B. */
static dsrtp_session_remote remote_of_b(dsrtp_dtls_role a_role)
{
    need_certs();
    dsrtp_session_remote r = {0};
    r.has_addr = true;
    r.addr = sl_addr(ADDR_B);
    r.dtls_role = a_role;
    r.fingerprints[0] = fp_of(cert_b);
    r.fingerprint_count = 1;
    snprintf(r.ice_ufrag, sizeof r.ice_ufrag, "%s", PEER_UFRAG);
    snprintf(r.ice_pwd, sizeof r.ice_pwd, "%s", PEER_PWD);
    r.ice_lite = false;
    return r;
}

/* Creates A (ICE-lite, remote known only when with_remote) and B (no ICE, DTLS with the
 * other role, media to ADDR_A). Nothing is started. */
static dsrtp_err ice_pair(sl_link *l, const sl_cfg *lc, dsrtp_dtls_role a_role,
                          bool with_remote, dsrtp_time consent_timeout)
{
    need_certs();
    if (!sl_init(l, lc, ADDR_A, ADDR_B)) {
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_session_cfg ca;
    dsrtp_session_cfg_init(&ca);
    ca.cert = cert_a;
    ca.dtls_initial_rto = 10000;
    ca.dtls_timeout = 4000000;
    ca.ice = true;
    if (consent_timeout > 0) {
        ca.consent_timeout = consent_timeout;
    }
    if (with_remote) {
        ca.remote = remote_of_b(a_role);
    }
    dsrtp_session_cfg cb;
    dsrtp_session_cfg_init(&cb);
    cb.cert = cert_b;
    cb.dtls_initial_rto = 10000;
    cb.dtls_timeout = 4000000;
    cb.remote.has_addr = true;
    cb.remote.addr = sl_addr(ADDR_A);
    cb.remote.dtls_role = a_role == DSRTP_DTLS_SERVER ? DSRTP_DTLS_CLIENT : DSRTP_DTLS_SERVER;
    cb.remote.fingerprints[0] = fp_of(cert_a);
    cb.remote.fingerprint_count = 1;
    dsrtp_err e = dsrtp_session_new(&ca, &l->end[0].s);
    if (e == DSRTP_OK) {
        e = dsrtp_session_new(&cb, &l->end[1].s);
    }
    return e;
}

/* ---- the peer's connectivity checks ---- */

#define CHK_NOMINATE 1u    /* USE-CANDIDATE */
#define CHK_NOT_CONTROLLING 2u
#define CHK_WRONG_PWD 4u
#define CHK_WRONG_PEER 8u  /* a ufrag other than PEER_UFRAG after the colon */
#define CHK_WRONG_LOCAL 16u /* a ufrag other than A's before it */
#define CHK_INDICATION 32u /* a Binding indication, no credentials at all */

static uint32_t check_serial;
/* The credentials checks are built with: the peer's ufrag, and A's ufrag and password when
 * set (a peer still using what A had before an ICE restart); NULL means the current ones. */
static const char *chk_peer_ufrag = PEER_UFRAG;
static const char *chk_local_ufrag;
static const char *chk_local_pwd;

/* Builds a Binding request to session s as the full-ICE peer would: USERNAME
 * "<s's ufrag>:<peer ufrag>", PRIORITY, ICE-CONTROLLING, maybe USE-CANDIDATE, signed with
 * s's password, with FINGERPRINT. Returns the length; *txid gets the transaction id. */
static size_t make_check(const dsrtp_session *s, unsigned flags, uint8_t *out, size_t cap,
                         uint8_t txid[DSRTP_STUN_TXID_LEN])
{
    const char *ufrag =
        chk_local_ufrag != NULL ? chk_local_ufrag : dsrtp_session_get_ice_ufrag(s);
    const char *pwd = chk_local_pwd != NULL ? chk_local_pwd : dsrtp_session_get_ice_pwd(s);
    if (ufrag == NULL || pwd == NULL) {
        abort();
    }
    char user[DSRTP_STUN_MAX_USERNAME + 1];
    snprintf(user, sizeof user, "%s%s:%s", (flags & CHK_WRONG_LOCAL) ? "x" : "", ufrag,
             (flags & CHK_WRONG_PEER) ? "OtherUfrag" : chk_peer_ufrag);
    dsrtp_stun_msg m;
    dsrtp_stun_msg_init(&m);
    check_serial++;
    for (size_t i = 0; i < DSRTP_STUN_TXID_LEN; i++) {
        m.txid[i] = (uint8_t)(check_serial * 31u + i * 7u);
    }
    memcpy(txid, m.txid, DSRTP_STUN_TXID_LEN);
    size_t n = 0;
    if (flags & CHK_INDICATION) {
        m.cls = DSRTP_STUN_INDICATION;
        if (dsrtp_stun_write(&m, NULL, 0, true, out, cap, &n) != DSRTP_OK) {
            abort();
        }
        return n;
    }
    m.has = DSRTP_STUN_HAS_USERNAME | DSRTP_STUN_HAS_PRIORITY;
    m.username = user;
    m.username_len = strlen(user);
    m.priority = 0x6e0001ffu;
    if (!(flags & CHK_NOT_CONTROLLING)) {
        m.has |= DSRTP_STUN_HAS_ICE_CONTROLLING;
        m.ice_controlling = 0x1122334455667788u;
    }
    if (flags & CHK_NOMINATE) {
        m.has |= DSRTP_STUN_HAS_USE_CANDIDATE;
    }
    const char *key = (flags & CHK_WRONG_PWD) ? "NotThePasswordNotThePassword" : pwd;
    if (dsrtp_stun_write(&m, (const uint8_t *)key, strlen(key), true, out, cap, &n) !=
        DSRTP_OK) {
        abort();
    }
    return n;
}

/* Sends a check from `from` to end 0 and returns the session's verdict. */
static dsrtp_err send_check(sl_link *l, const char *from, unsigned flags)
{
    uint8_t buf[512];
    uint8_t txid[DSRTP_STUN_TXID_LEN];
    size_t n = make_check(l->end[0].s, flags, buf, sizeof buf, txid);
    dsrtp_addr src = sl_addr(from);
    dsrtp_input in = {DSRTP_INPUT_CONSUMED, 0};
    dsrtp_err e = sl_inject(l, &src, &l->end[0].addr, buf, n, &in);
    if (in.kind != DSRTP_INPUT_CONSUMED) {
        abort();
    }
    return e;
}

/* ---- what A sends ---- */

typedef struct a_tap {
    int stun;
    uint8_t last_stun[SL_MTU];
    size_t last_stun_len;
    dsrtp_addr last_stun_to;
    int dtls;
    dsrtp_addr last_dtls_to;
    int dtls_to_x2;
    int b_hellos; /* ClientHellos from B */
    bool first_hello_only;
} a_tap;

static bool watch(void *arg, int from, const dsrtp_addr *to, uint8_t *d, size_t *len)
{
    a_tap *t = arg;
    dsrtp_demux_kind k = dsrtp_demux(d, *len);
    if (from == 1) {
        /* DTLS record type 22, epoch 0, handshake type 1: a ClientHello. */
        if (*len > 13 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1) {
            t->b_hellos++;
            return !(t->first_hello_only && t->b_hellos > 1);
        }
        return true;
    }
    if (k == DSRTP_DEMUX_STUN) {
        t->stun++;
        memcpy(t->last_stun, d, *len);
        t->last_stun_len = *len;
        t->last_stun_to = *to;
    } else if (k == DSRTP_DEMUX_DTLS) {
        dsrtp_addr x2 = sl_addr(ADDR_X2);
        t->dtls++;
        t->last_dtls_to = *to;
        t->dtls_to_x2 += dsrtp_addr_equal(to, &x2);
    }
    return true;
}

static dsrtp_session_stats stats_of(const sl_link *l, int i)
{
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l->end[i].s, &st);
    return st;
}

/* Checks that the last STUN datagram A sent is a success response to txid for `from`. */
static void check_success_response(const a_tap *t, const sl_link *l, const char *from,
                                   const uint8_t *txid)
{
    dsrtp_addr src = sl_addr(from);
    CHECK(dsrtp_addr_equal(&t->last_stun_to, &src));
    dsrtp_stun_msg m;
    CHECK_OK(dsrtp_stun_parse(t->last_stun, t->last_stun_len, &m));
    CHECK_EQ(m.cls, DSRTP_STUN_SUCCESS);
    CHECK_EQ(m.method, DSRTP_STUN_METHOD_BINDING);
    CHECK_MEM(m.txid, txid, DSRTP_STUN_TXID_LEN);
    CHECK(m.has & DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS);
    CHECK(dsrtp_addr_equal(&m.xor_mapped, &src));
    CHECK(m.has & DSRTP_STUN_HAS_FINGERPRINT);
    const char *pwd = dsrtp_session_get_ice_pwd(l->end[0].s);
    CHECK_OK(dsrtp_stun_check_integrity(t->last_stun, t->last_stun_len, &m,
                                        (const uint8_t *)pwd, strlen(pwd)));
}

/* ---- checks ---- */

static void test_session_ice_answers_a_valid_check_towards_its_source(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 1, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    CHECK(dsrtp_session_get_ice_ufrag(l.end[0].s) != NULL);
    CHECK(strlen(dsrtp_session_get_ice_pwd(l.end[0].s)) >= DSRTP_ICE_MIN_PWD);
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    const char *from[] = {ADDR_X1, ADDR_X6};
    for (int i = 0; i < 2; i++) {
        uint8_t buf[512];
        uint8_t txid[DSRTP_STUN_TXID_LEN];
        size_t n = make_check(l.end[0].s, 0, buf, sizeof buf, txid);
        dsrtp_addr src = sl_addr(from[i]);
        dsrtp_input in;
        CHECK_OK(sl_inject(&l, &src, &l.end[0].addr, buf, n, &in));
        CHECK_EQ(in.kind, DSRTP_INPUT_CONSUMED);
        CHECK_EQ(t.stun, i + 1);
        check_success_response(&t, &l, from[i], txid);
    }
    dsrtp_session_stats st = stats_of(&l, 0);
    CHECK_EQ(st.stun_answered, 2);
    CHECK_EQ(st.stun_dropped, 0);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 0); /* nobody nominated */
    sl_free(&l);
}

static void test_session_ice_drops_checks_with_wrong_credentials_without_answering(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 2, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    CHECK_ERR(send_check(&l, ADDR_X1, CHK_WRONG_PWD), DSRTP_ERR_AUTH);
    CHECK_ERR(send_check(&l, ADDR_X1, CHK_WRONG_PEER), DSRTP_ERR_AUTH);
    CHECK_ERR(send_check(&l, ADDR_X1, CHK_WRONG_LOCAL), DSRTP_ERR_AUTH);
    uint8_t junk[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    dsrtp_addr x1 = sl_addr(ADDR_X1);
    CHECK_ERR(sl_inject(&l, &x1, &l.end[0].addr, junk, 12, NULL), DSRTP_ERR_MALFORMED);
    CHECK_EQ(t.stun, 0);
    dsrtp_session_stats st = stats_of(&l, 0);
    CHECK_EQ(st.stun_dropped, 4);
    CHECK_EQ(st.stun_answered, 0);
    /* A session without ICE answers nobody, even a check that would be valid. */
    uint8_t buf[512];
    uint8_t txid[DSRTP_STUN_TXID_LEN];
    size_t n = make_check(l.end[0].s, 0, buf, sizeof buf, txid);
    CHECK(dsrtp_session_get_ice_ufrag(l.end[1].s) == NULL);
    CHECK(dsrtp_session_get_ice_pwd(l.end[1].s) == NULL);
    CHECK_ERR(sl_inject(&l, &x1, &l.end[1].addr, buf, n, NULL), DSRTP_ERR_MALFORMED);
    CHECK_EQ(stats_of(&l, 1).stun_dropped, 1);
    CHECK_EQ(l.end[1].sent, 0);
    sl_free(&l);
}

/* ---- the gate on DTLS ---- */

static void test_session_ice_ignores_dtls_from_an_address_that_passed_no_check(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 3, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    CHECK_OK(dsrtp_session_start(l.end[1].s, sl_now()));
    /* A valid check from another of the peer's addresses, and a Binding indication (which
     * carries no credentials) from B's: neither validates B's address. */
    CHECK_OK(send_check(&l, ADDR_X1, CHK_NOMINATE));
    dsrtp_err e = send_check(&l, ADDR_B, CHK_INDICATION);
    CHECK(e == DSRTP_OK || e == DSRTP_ERR_MALFORMED || e == DSRTP_ERR_UNSUPPORTED);
    sl_run(&l, 150000, NULL); /* B's ClientHello and several retransmissions */
    CHECK(t.b_hellos >= 2);
    dsrtp_session_stats st = stats_of(&l, 0);
    CHECK(st.dtls_dropped >= 2);
    CHECK_EQ(t.dtls, 0);
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_KEYING);
    CHECK_EQ(l.end[1].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 0);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 0);
    sl_free(&l);
}

/* Brings A and B to READY with a nominating check from B's address. */
static void connect_via_b(sl_link *l)
{
    CHECK_OK(dsrtp_session_start(l->end[0].s, sl_now()));
    CHECK_OK(dsrtp_session_start(l->end[1].s, sl_now()));
    sl_run(l, 30000, NULL); /* B's first ClientHello is dropped: no check yet */
    CHECK(stats_of(l, 0).dtls_dropped >= 1);
    CHECK_OK(send_check(l, ADDR_B, CHK_NOMINATE));
    sl_run(l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(l));
}

static void test_session_ice_lets_dtls_through_once_its_source_passed_a_check(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 4, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    connect_via_b(&l);
    CHECK(sl_both_ready(&l));
    const dsrtp_session_event *ev = sl_last_event(&l.end[0], DSRTP_SESSION_EV_CONNECTED);
    CHECK(ev != NULL && dsrtp_addr_equal(&ev->addr, &l.end[1].addr));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 1);
    CHECK(dsrtp_addr_equal(&t.last_dtls_to, &l.end[1].addr));
    /* Media both ways on the checked path. */
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 1, 0xa, 40);
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &l.end[1].addr));
    dsrtp_input in;
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &to, buf, n, &in));
    CHECK_EQ(in.kind, DSRTP_INPUT_RTP);
    len = sl_make_rtcp(buf, 0xb, 1);
    CHECK_OK(dsrtp_session_protect(l.end[1].s, true, buf, len, sizeof buf, &n, &to));
    CHECK_OK(sl_inject(&l, &l.end[1].addr, &to, buf, n, &in));
    CHECK_EQ(in.kind, DSRTP_INPUT_RTCP);
    CHECK_EQ(in.len, len);
    sl_free(&l);
}

/* ---- nomination ---- */

static bool dtls_reached_x2(const sl_link *l)
{
    return ((const a_tap *)l->cfg.tap_arg)->dtls_to_x2 > 0;
}

static void test_session_ice_sends_to_the_nominated_address(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 5, .tap = watch, .tap_arg = &t};
    /* A is the DTLS client, so its ClientHello shows where it sends. */
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_CLIENT, true, 0));
    dsrtp_session_free(l.end[1].s);
    l.end[1].s = NULL;
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    sl_run(&l, 50000, NULL);
    CHECK_EQ(t.dtls, 0); /* no checked path yet: the ClientHello waits */
    dsrtp_addr to;
    uint8_t buf[64];
    size_t n = 0;
    /* A check without nomination gives a path, not a selection. */
    CHECK_OK(send_check(&l, ADDR_X1, 0));
    dsrtp_addr x1 = sl_addr(ADDR_X1);
    CHECK(t.dtls >= 1);
    CHECK(dsrtp_addr_equal(&t.last_dtls_to, &x1));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 0);
    /* The nomination moves the destination. */
    CHECK_OK(send_check(&l, ADDR_X2, CHK_NOMINATE));
    dsrtp_addr x2 = sl_addr(ADDR_X2);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 1);
    const dsrtp_session_event *ev = sl_last_event(&l.end[0], DSRTP_SESSION_EV_CONNECTED);
    CHECK(ev != NULL && dsrtp_addr_equal(&ev->addr, &x2));
    sl_run(&l, 2000000, dtls_reached_x2); /* the next retransmission */
    CHECK(dsrtp_addr_equal(&t.last_dtls_to, &x2));
    /* A later nomination of another checked address moves it again. */
    CHECK_OK(send_check(&l, ADDR_X1, CHK_NOMINATE));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 1);
    ev = sl_last_event(&l.end[0], DSRTP_SESSION_EV_ADDRESS_CHANGED);
    CHECK(ev != NULL && dsrtp_addr_equal(&ev->addr, &x1));
    /* Still no keys, so no media. */
    size_t len = sl_make_rtp(buf, 1, 1, 4);
    CHECK_ERR(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to),
              DSRTP_ERR_NOT_READY);
    sl_free(&l);
}

static void test_session_ice_does_not_select_without_use_candidate_from_the_controller(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 6, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    CHECK_OK(send_check(&l, ADDR_X1, 0));
    CHECK_OK(send_check(&l, ADDR_X2, CHK_NOMINATE | CHK_NOT_CONTROLLING));
    CHECK_EQ(t.stun, 2);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 0);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0);
    /* A failed check nominates nothing either. */
    CHECK_ERR(send_check(&l, ADDR_X2, CHK_NOMINATE | CHK_WRONG_PWD), DSRTP_ERR_AUTH);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 0);
    sl_free(&l);
}

/* ---- the gate on media ---- */

static void test_session_ice_refuses_media_from_an_unvalidated_address(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 7, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    connect_via_b(&l);
    uint8_t buf[256];
    uint8_t copy[256];
    size_t n = 0;
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 1, 0xc, 40);
    CHECK_OK(dsrtp_session_protect(l.end[1].s, false, buf, len, sizeof buf, &n, &to));
    memcpy(copy, buf, n);
    dsrtp_addr x1 = sl_addr(ADDR_X1);
    CHECK_ERR(sl_inject(&l, &x1, &l.end[0].addr, buf, n, NULL), DSRTP_ERR_NOT_READY);
    dsrtp_session_stats st = stats_of(&l, 0);
    CHECK_EQ(st.dropped_not_ready, 1);
    CHECK_EQ(st.rtp_received, 0);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0);
    /* The very same packet from the checked address is accepted: the refusal used up
     * nothing. */
    dsrtp_input in;
    CHECK_OK(sl_inject(&l, &l.end[1].addr, &l.end[0].addr, copy, n, &in));
    CHECK_EQ(in.kind, DSRTP_INPUT_RTP);
    CHECK_EQ(stats_of(&l, 0).rtp_received, 1);
    sl_free(&l);
}

/* ---- consent ---- */

typedef struct checker {
    dsrtp_time until; /* send checks from B's address until then */
    dsrtp_time last;
    int sent;
    bool refused_ok; /* checks may be refused (stale credentials) */
} checker;

static void keep_checking(void *arg, sl_link *l, dsrtp_time now)
{
    checker *c = arg;
    if (now < c->until && now - c->last >= 50000) {
        c->last = now;
        c->sent++;
        if (send_check(l, ADDR_B, CHK_NOMINATE) != DSRTP_OK && !c->refused_ok) {
            abort();
        }
    }
}

static bool a_failed(const sl_link *l)
{
    return l->end[0].ev_kind[DSRTP_SESSION_EV_FAILED] > 0;
}

static void run_with_consent(sl_link *l, checker *c)
{
    CHECK_OK(dsrtp_session_start(l->end[0].s, sl_now()));
    CHECK_OK(dsrtp_session_start(l->end[1].s, sl_now()));
    c->until = DSRTP_TIME_NEVER;
    sl_run(l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(l));
    CHECK(c->sent >= 1);
}

static void test_session_ice_fails_when_consent_expires(void)
{
    sl_link l;
    checker c = {0};
    sl_cfg lc = {.seed = 8, .tick = keep_checking, .tick_arg = &c};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 300000));
    run_with_consent(&l, &c);
    c.until = 0; /* the peer goes quiet */
    dsrtp_time quiet_since = c.last;
    sl_run(&l, 3000000, a_failed);
    dsrtp_time failed_at = sl_now();
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_FAILED], 1);
    CHECK(failed_at - quiet_since >= 300000);
    const dsrtp_session_event *ev = sl_last_event(&l.end[0], DSRTP_SESSION_EV_FAILED);
    CHECK(ev != NULL && strstr(ev->detail, "consent") != NULL);
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_FAILED);
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 9, 0xd, 20);
    CHECK_ERR(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to),
              DSRTP_ERR_NOT_READY);
    /* Nor is anything taken in, checks included. */
    CHECK_OK(dsrtp_session_protect(l.end[1].s, false, buf, len, sizeof buf, &n, &to));
    CHECK_ERR(sl_inject(&l, &l.end[1].addr, &l.end[0].addr, buf, n, NULL), DSRTP_ERR_NOT_READY);
    CHECK(send_check(&l, ADDR_B, CHK_NOMINATE) != DSRTP_OK);
    sl_free(&l);
}

static void test_session_ice_keeps_the_session_while_checks_continue(void)
{
    sl_link l;
    checker c = {0};
    sl_cfg lc = {.seed = 9, .tick = keep_checking, .tick_arg = &c};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 300000));
    run_with_consent(&l, &c);
    c.until = sl_now() + 700000; /* more than twice the timeout */
    sl_run(&l, 700000, a_failed);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_FAILED], 0);
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_READY);
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 9, 0xd, 20);
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &l.end[1].addr));
    sl_free(&l);
}

/* ---- before start (the offerer's early ClientHello, RFC 5763 §5) ---- */

static bool b_got_a_hello_through(const sl_link *l)
{
    return ((const a_tap *)l->cfg.tap_arg)->b_hellos > 0 && sl_wire_empty(l);
}

static void test_session_ice_uses_a_check_and_client_hello_that_came_before_start(void)
{
    sl_link l;
    a_tap t = {.first_hello_only = true};
    sl_cfg lc = {.seed = 10, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, false, 0));
    /* The peer got A's offer: it checks, then sends its ClientHello, before A has the
     * answer. A's agent does not know the peer's ufrag yet and takes any. */
    CHECK_OK(send_check(&l, ADDR_B, CHK_NOMINATE));
    CHECK(t.stun == 1);
    CHECK_OK(dsrtp_session_start(l.end[1].s, sl_now()));
    sl_run(&l, RUN_LIMIT, b_got_a_hello_through);
    CHECK_EQ(l.end[0].last_err, DSRTP_OK);
    CHECK_EQ(stats_of(&l, 0).dtls_dropped, 0);
    /* The answer arrives. No further check, no retransmitted ClientHello gets through:
     * the handshake must run on what A held. */
    dsrtp_session_remote r = remote_of_b(DSRTP_DTLS_SERVER);
    CHECK_OK(dsrtp_session_set_remote(l.end[0].s, &r));
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    sl_run(&l, RUN_LIMIT, sl_both_ready);
    CHECK(sl_both_ready(&l));
    CHECK_EQ(stats_of(&l, 0).dtls_dropped, 0);
    CHECK(dsrtp_addr_equal(&t.last_dtls_to, &l.end[1].addr));
    sl_free(&l);
}

static void test_session_ice_ignores_an_early_client_hello_from_an_unchecked_address(void)
{
    sl_link l;
    a_tap t = {.first_hello_only = true};
    sl_cfg lc = {.seed = 11, .tap = watch, .tap_arg = &t};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, false, 0));
    CHECK_OK(dsrtp_session_start(l.end[1].s, sl_now()));
    sl_run(&l, RUN_LIMIT, b_got_a_hello_through);
    dsrtp_session_remote r = remote_of_b(DSRTP_DTLS_SERVER);
    CHECK_OK(dsrtp_session_set_remote(l.end[0].s, &r));
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    sl_run(&l, 100000, NULL);
    /* The peer does full ICE and never checked that address: no answer goes there. */
    CHECK_EQ(t.dtls, 0);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 0);
    CHECK_EQ(l.end[1].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 0);
    sl_free(&l);
}

/* Consent can run out before the answer comes: the session fails, and start must not bring
 * it back. Simulated time is enough here, no DTLS runs. */
static void test_session_ice_start_refuses_a_session_whose_consent_ran_out_first(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 12};
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, false, 300000));
    dsrtp_session *a = l.end[0].s;
    uint8_t buf[512];
    uint8_t txid[DSRTP_STUN_TXID_LEN];
    size_t n = make_check(a, CHK_NOMINATE, buf, sizeof buf, txid);
    dsrtp_addr b = sl_addr(ADDR_B);
    dsrtp_input in;
    CHECK_OK(dsrtp_session_handle_datagram(a, 1000000, &b, buf, n, &in));
    sl_drain(&l, 0, 1000000);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 1);
    CHECK_EQ(dsrtp_session_next_deadline(a), 1300000);
    CHECK_OK(dsrtp_session_handle_timeout(a, 1300000));
    sl_drain(&l, 0, 1300000);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_FAILED], 1);
    CHECK_EQ(dsrtp_session_get_state(a), DSRTP_SESSION_FAILED);
    dsrtp_session_remote r = remote_of_b(DSRTP_DTLS_SERVER);
    CHECK_OK(dsrtp_session_set_remote(a, &r));
    CHECK_ERR(dsrtp_session_start(a, 1400000), DSRTP_ERR_INVALID_ARG);
    CHECK_EQ(dsrtp_session_get_state(a), DSRTP_SESSION_FAILED);
    sl_free(&l);
}

/* ---- ICE restart (RFC 8445 §9) ---- */

#define PEER_UFRAG2 "PeerUfrag2"
#define PEER_PWD2 "PeerPassword2PeerPassword2"

/* One RTP packet each way between A and B (B sends from its own address): both accepted,
 * and A's goes to `a_dest`. */
static void media_both_ways(sl_link *l, uint16_t seq, const dsrtp_addr *a_dest)
{
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    dsrtp_input in;
    size_t len = sl_make_rtp(buf, seq, 0xa, 40);
    CHECK_OK(dsrtp_session_protect(l->end[0].s, false, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, a_dest));
    CHECK_OK(sl_inject(l, &l->end[0].addr, &l->end[1].addr, buf, n, &in));
    CHECK_EQ(in.kind, DSRTP_INPUT_RTP);
    len = sl_make_rtp(buf, seq, 0xb, 40);
    CHECK_OK(dsrtp_session_protect(l->end[1].s, false, buf, len, sizeof buf, &n, &to));
    CHECK_OK(sl_inject(l, &l->end[1].addr, &l->end[0].addr, buf, n, &in));
    CHECK_EQ(in.kind, DSRTP_INPUT_RTP);
}

typedef struct old_creds {
    char ufrag[DSRTP_ICE_CRED_MAX];
    char pwd[DSRTP_ICE_CRED_MAX];
} old_creds;

static old_creds creds_of(const dsrtp_session *s)
{
    old_creds c;
    snprintf(c.ufrag, sizeof c.ufrag, "%s", dsrtp_session_get_ice_ufrag(s));
    snprintf(c.pwd, sizeof c.pwd, "%s", dsrtp_session_get_ice_pwd(s));
    return c;
}

/* Checks as the peer would send them while it still uses the credentials of before. */
static dsrtp_err send_old_check(sl_link *l, const old_creds *c, const char *from,
                                unsigned flags)
{
    chk_local_ufrag = c->ufrag;
    chk_local_pwd = c->pwd;
    chk_peer_ufrag = PEER_UFRAG;
    dsrtp_err e = send_check(l, from, flags);
    chk_local_ufrag = NULL;
    chk_local_pwd = NULL;
    chk_peer_ufrag = PEER_UFRAG2;
    return e;
}

static void test_session_ice_restart_refuses_old_credentials_and_keeps_media_flowing(void)
{
    sl_link l;
    a_tap t = {0};
    sl_cfg lc = {.seed = 13, .tap = watch, .tap_arg = &t};
    chk_peer_ufrag = PEER_UFRAG;
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    connect_via_b(&l);
    media_both_ways(&l, 1, &l.end[1].addr);
    old_creds old = creds_of(l.end[0].s);
    uint64_t handshake_us = stats_of(&l, 0).handshake_us;

    /* The peer re-offers with new credentials; A answers with new ones of its own. */
    CHECK_OK(dsrtp_session_restart_ice(l.end[0].s, NULL, NULL, PEER_UFRAG2, PEER_PWD2));
    chk_peer_ufrag = PEER_UFRAG2;
    sl_drain(&l, 0, sl_now());
    const char *ufrag = dsrtp_session_get_ice_ufrag(l.end[0].s);
    const char *pwd = dsrtp_session_get_ice_pwd(l.end[0].s);
    CHECK_EQ(strlen(ufrag), DSRTP_ICE_GEN_UFRAG_LEN);
    CHECK_EQ(strlen(pwd), DSRTP_ICE_GEN_PWD_LEN);
    CHECK(strcmp(ufrag, old.ufrag) != 0);
    CHECK(strcmp(pwd, old.pwd) != 0);

    /* Media keeps flowing on the path in use before any check under the new credentials. */
    media_both_ways(&l, 2, &l.end[1].addr);
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_READY);

    /* Old credentials, whole or in part, no longer validate: no answer, no nomination. */
    int stun_before = t.stun;
    CHECK_ERR(send_old_check(&l, &old, ADDR_X1, CHK_NOMINATE), DSRTP_ERR_AUTH);
    CHECK_ERR(send_old_check(&l, &old, ADDR_B, CHK_NOMINATE), DSRTP_ERR_AUTH);
    chk_peer_ufrag = PEER_UFRAG; /* our new ufrag, the peer's old one */
    CHECK_ERR(send_check(&l, ADDR_X1, CHK_NOMINATE), DSRTP_ERR_AUTH);
    chk_peer_ufrag = PEER_UFRAG2;
    chk_local_pwd = old.pwd; /* our new ufrag, signed with our old password */
    CHECK_ERR(send_check(&l, ADDR_X1, CHK_NOMINATE), DSRTP_ERR_AUTH);
    chk_local_pwd = NULL;
    CHECK_EQ(t.stun, stun_before);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0);
    media_both_ways(&l, 3, &l.end[1].addr);

    /* A check under the new credentials is answered, signed with the new password; one
     * that nominates another address moves media there. */
    uint8_t buf[512];
    uint8_t txid[DSRTP_STUN_TXID_LEN];
    size_t n = make_check(l.end[0].s, 0, buf, sizeof buf, txid);
    dsrtp_addr x2 = sl_addr(ADDR_X2);
    CHECK_OK(sl_inject(&l, &x2, &l.end[0].addr, buf, n, NULL));
    check_success_response(&t, &l, ADDR_X2, txid);
    media_both_ways(&l, 4, &l.end[1].addr); /* not nominated: the path stays */
    CHECK_OK(send_check(&l, ADDR_B, CHK_NOMINATE));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 0); /* same address */
    media_both_ways(&l, 5, &l.end[1].addr);
    CHECK_OK(send_check(&l, ADDR_X2, CHK_NOMINATE));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_ADDRESS_CHANGED], 1);
    const dsrtp_session_event *ev = sl_last_event(&l.end[0], DSRTP_SESSION_EV_ADDRESS_CHANGED);
    CHECK(ev != NULL && dsrtp_addr_equal(&ev->addr, &x2));
    uint8_t rtp[256];
    dsrtp_addr to;
    size_t len = sl_make_rtp(rtp, 6, 0xa, 40);
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, rtp, len, sizeof rtp, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &x2));

    /* Keys and the DTLS association are untouched: one handshake, no second CONNECTED. */
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 1);
    CHECK_EQ(l.end[1].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 1);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 1);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_FAILED], 0);
    CHECK_EQ(stats_of(&l, 0).handshake_us, handshake_us);
    chk_peer_ufrag = PEER_UFRAG;
    sl_free(&l);
}

static void test_session_ice_restart_keeps_consent_running_on_the_new_credentials(void)
{
    sl_link l;
    checker c = {0};
    sl_cfg lc = {.seed = 14, .tick = keep_checking, .tick_arg = &c};
    chk_peer_ufrag = PEER_UFRAG;
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 300000));
    run_with_consent(&l, &c);
    CHECK_OK(dsrtp_session_restart_ice(l.end[0].s, "NewUfrag", "NewPasswordNewPassword22",
                                       PEER_UFRAG2, PEER_PWD2));
    CHECK(strcmp(dsrtp_session_get_ice_ufrag(l.end[0].s), "NewUfrag") == 0);
    CHECK(strcmp(dsrtp_session_get_ice_pwd(l.end[0].s), "NewPasswordNewPassword22") == 0);
    chk_peer_ufrag = PEER_UFRAG2;
    /* The peer's consent checks now use the new credentials: the session lives on. */
    c.until = sl_now() + 700000;
    sl_run(&l, 700000, a_failed);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_FAILED], 0);
    CHECK_EQ(dsrtp_session_get_state(l.end[0].s), DSRTP_SESSION_READY);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_KEYS_READY], 1);
    media_both_ways(&l, 7, &l.end[1].addr);
    /* Checks that still use the old ones refresh nothing: consent runs out. */
    chk_peer_ufrag = PEER_UFRAG;
    c.refused_ok = true;
    c.until = sl_now() + 700000;
    sl_run(&l, 700000, a_failed);
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_FAILED], 1);
    /* A session whose consent is gone cannot restart. */
    CHECK_ERR(dsrtp_session_restart_ice(l.end[0].s, NULL, NULL, PEER_UFRAG2, PEER_PWD2),
              DSRTP_ERR_NOT_READY);
    sl_free(&l);
}

static void test_session_ice_restart_refuses_bad_calls_and_changes_nothing(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 15};
    chk_peer_ufrag = PEER_UFRAG;
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    /* Before start, and on a session without ICE (B). */
    CHECK_ERR(dsrtp_session_restart_ice(l.end[0].s, NULL, NULL, NULL, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_session_restart_ice(NULL, NULL, NULL, NULL, NULL), DSRTP_ERR_INVALID_ARG);
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    CHECK_OK(dsrtp_session_start(l.end[1].s, sl_now()));
    CHECK_ERR(dsrtp_session_restart_ice(l.end[1].s, NULL, NULL, NULL, NULL),
              DSRTP_ERR_INVALID_ARG);
    old_creds old = creds_of(l.end[0].s);
    /* Credentials outside the ice-char set or the lengths, or half a pair of the peer's. */
    CHECK_ERR(dsrtp_session_restart_ice(l.end[0].s, "bad:ufrag", NULL, NULL, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_session_restart_ice(l.end[0].s, NULL, "short", NULL, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_session_restart_ice(l.end[0].s, "abc", NULL, NULL, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_session_restart_ice(l.end[0].s, NULL, NULL, PEER_UFRAG2, NULL),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_session_restart_ice(l.end[0].s, NULL, NULL, PEER_UFRAG2, "short"),
              DSRTP_ERR_INVALID_ARG);
    CHECK(strcmp(dsrtp_session_get_ice_ufrag(l.end[0].s), old.ufrag) == 0);
    CHECK(strcmp(dsrtp_session_get_ice_pwd(l.end[0].s), old.pwd) == 0);
    CHECK_OK(send_check(&l, ADDR_B, CHK_NOMINATE)); /* the old ones still work */
    CHECK_ERR(send_check(&l, ADDR_B, CHK_WRONG_PEER), DSRTP_ERR_AUTH);
    sl_free(&l);
}

static void test_session_ice_restart_without_the_peer_credentials_waits_for_them(void)
{
    sl_link l;
    sl_cfg lc = {.seed = 16};
    chk_peer_ufrag = PEER_UFRAG;
    CHECK_OK(ice_pair(&l, &lc, DSRTP_DTLS_SERVER, true, 0));
    CHECK_OK(dsrtp_session_start(l.end[0].s, sl_now()));
    old_creds old = creds_of(l.end[0].s);
    /* We offer the restart: the peer's new ufrag is not known until its answer. */
    CHECK_OK(dsrtp_session_restart_ice(l.end[0].s, "", "", NULL, NULL));
    CHECK(strcmp(dsrtp_session_get_ice_ufrag(l.end[0].s), old.ufrag) != 0);
    CHECK_ERR(send_old_check(&l, &old, ADDR_B, 0), DSRTP_ERR_AUTH);
    chk_peer_ufrag = "AnyUfrag";
    CHECK_OK(send_check(&l, ADDR_B, 0));
    /* The answer brings it: from then on only it is taken. */
    dsrtp_session_remote r = remote_of_b(DSRTP_DTLS_SERVER);
    snprintf(r.ice_ufrag, sizeof r.ice_ufrag, "%s", PEER_UFRAG2);
    snprintf(r.ice_pwd, sizeof r.ice_pwd, "%s", PEER_PWD2);
    CHECK_OK(dsrtp_session_update_remote(l.end[0].s, &r));
    CHECK_ERR(send_check(&l, ADDR_B, 0), DSRTP_ERR_AUTH);
    chk_peer_ufrag = PEER_UFRAG2;
    CHECK_OK(send_check(&l, ADDR_B, CHK_NOMINATE));
    CHECK_EQ(l.end[0].ev_kind[DSRTP_SESSION_EV_CONNECTED], 1);
    chk_peer_ufrag = PEER_UFRAG;
    sl_free(&l);
}

RUN_TESTS(TEST(test_session_ice_answers_a_valid_check_towards_its_source),
          TEST(test_session_ice_drops_checks_with_wrong_credentials_without_answering),
          TEST(test_session_ice_ignores_dtls_from_an_address_that_passed_no_check),
          TEST(test_session_ice_lets_dtls_through_once_its_source_passed_a_check),
          TEST(test_session_ice_sends_to_the_nominated_address),
          TEST(test_session_ice_does_not_select_without_use_candidate_from_the_controller),
          TEST(test_session_ice_refuses_media_from_an_unvalidated_address),
          TEST(test_session_ice_fails_when_consent_expires),
          TEST(test_session_ice_keeps_the_session_while_checks_continue),
          TEST(test_session_ice_uses_a_check_and_client_hello_that_came_before_start),
          TEST(test_session_ice_ignores_an_early_client_hello_from_an_unchecked_address),
          TEST(test_session_ice_start_refuses_a_session_whose_consent_ran_out_first),
          TEST(test_session_ice_restart_refuses_old_credentials_and_keeps_media_flowing),
          TEST(test_session_ice_restart_keeps_consent_running_on_the_new_credentials),
          TEST(test_session_ice_restart_refuses_bad_calls_and_changes_nothing),
          TEST(test_session_ice_restart_without_the_peer_credentials_waits_for_them))
