/* DTLS-SRTP handshakes that must fail, and hostile or badly timed input that must not break
 * a handshake: fingerprint mismatch in either role, missing fingerprints, no common SRTP
 * profile, garbage and truncated records mid-handshake, a silent peer, the ClientHello that
 * arrives before the role is known, close_notify, and API misuse. Endpoint 0 is the client,
 * endpoint 1 the server, over the real-time simulated link of dtls_link.h. */
#include "harness/check.h"
#include "harness/dtls_link.h"

#define RUN_LIMIT 8000000u
#define ALERT_BAD_CERTIFICATE 42

static dsrtp_cert *cert_c;
static dsrtp_cert *cert_s;
static dsrtp_cert *cert_x; /* belongs to nobody in the handshake */

static void free_certs(void)
{
    dsrtp_cert_free(cert_c);
    dsrtp_cert_free(cert_s);
    dsrtp_cert_free(cert_x);
}

static void client_server_cfgs(dsrtp_dtls_cfg *c, dsrtp_dtls_cfg *s)
{
    if (cert_c == NULL) {
        if (dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_c) != DSRTP_OK ||
            dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_s) != DSRTP_OK ||
            dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_x) != DSRTP_OK ||
            atexit(free_certs) != 0) {
            abort();
        }
    }
    link_pair_cfg(c, cert_c, DSRTP_DTLS_CLIENT);
    link_pair_cfg(s, cert_s, DSRTP_DTLS_SERVER);
}

static dsrtp_err pin(dsrtp_dtls *d, const dsrtp_cert *peer)
{
    dsrtp_fingerprint fp;
    dsrtp_err e = dsrtp_cert_fingerprint(peer, DSRTP_HASH_SHA256, &fp);
    return e == DSRTP_OK ? dsrtp_dtls_set_remote_fingerprints(d, &fp, 1) : e;
}

static void check_no_keys(dsrtp_dtls *d)
{
    dsrtp_dtls_keys k;
    uint8_t m[60];
    CHECK_ERR(dsrtp_dtls_get_keys(d, &k), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_dtls_export(d, m, sizeof m), DSRTP_ERR_INVALID_ARG);
}

static void check_keys_mirror(dsrtp_dtls *client, dsrtp_dtls *server)
{
    dsrtp_dtls_keys kc;
    dsrtp_dtls_keys ks;
    CHECK_OK(dsrtp_dtls_get_keys(client, &kc));
    CHECK_OK(dsrtp_dtls_get_keys(server, &ks));
    CHECK_EQ(kc.profile, ks.profile);
    CHECK_MEM(kc.local_key, ks.remote_key, kc.key_len);
    CHECK_MEM(kc.remote_key, ks.local_key, kc.key_len);
    CHECK_MEM(kc.local_salt, ks.remote_salt, kc.salt_len);
    CHECK_MEM(kc.remote_salt, ks.local_salt, kc.salt_len);
}

static bool any_closed(const link_sim *l)
{
    return l->st.closed[0] || l->st.closed[1];
}

/* ---- fingerprints ---- */

/* The checker expects cert_x: it fails FINGERPRINT and alerts; the other side fails by that
 * alert. Neither releases keys. */
static void mismatch_checked_by(int checker)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    link_cfg lc = {.seed = 21};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(pin(p.d[0], checker == 0 ? cert_x : cert_s));
    CHECK_OK(pin(p.d[1], checker == 1 ? cert_x : cert_c));
    CHECK_OK(link_pair_start(&p));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    int other = 1 - checker;
    CHECK(p.l.st.failed[checker] && p.l.st.failed[other]);
    CHECK(!p.l.st.connected[0] && !p.l.st.connected[1]);
    CHECK_EQ(dsrtp_dtls_get_state(p.d[checker]), DSRTP_DTLS_STATE_FAILED);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[checker]), DSRTP_DTLS_FAIL_FINGERPRINT);
    CHECK_EQ(p.l.st.last_event[checker].failure, DSRTP_DTLS_FAIL_FINGERPRINT);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[other]), DSRTP_DTLS_FAIL_ALERT);
    CHECK_EQ(p.l.st.last_event[other].alert, ALERT_BAD_CERTIFICATE);
    CHECK_EQ(p.l.st.alerts[other], 1);
    CHECK_EQ(p.l.st.alerts[checker], 0); /* its own alert is not reported as received */
    check_no_keys(p.d[0]);
    check_no_keys(p.d[1]);
    link_pair_free(&p);
}

static void test_dtls_client_aborts_on_server_fingerprint_mismatch(void)
{
    mismatch_checked_by(0);
}

static void test_dtls_server_aborts_on_client_fingerprint_mismatch(void)
{
    mismatch_checked_by(1);
}

/* The accepting twin of both: the peer's own fingerprint, the same flow, connects. */
static void test_dtls_handshake_connects_when_both_fingerprints_match(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    link_cfg lc = {.seed = 22};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(pin(p.d[0], cert_s));
    CHECK_OK(pin(p.d[1], cert_c));
    CHECK_OK(link_pair_start(&p));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    dsrtp_fingerprint want;
    dsrtp_fingerprint got;
    CHECK_OK(dsrtp_cert_fingerprint(cert_s, DSRTP_HASH_SHA384, &want));
    CHECK_OK(dsrtp_dtls_get_remote_fingerprint(p.d[0], DSRTP_HASH_SHA384, &got));
    CHECK_EQ(got.len, 48);
    CHECK_MEM(got.value, want.value, 48);
    CHECK_EQ(p.l.st.alerts[0] + p.l.st.alerts[1], 0);
    link_pair_free(&p);
}

static void test_dtls_handshake_fails_without_fingerprints_in_either_role(void)
{
    for (int bare = 0; bare < 2; bare++) {
        dsrtp_dtls_cfg cfg[2];
        client_server_cfgs(&cfg[0], &cfg[1]);
        link_cfg lc = {.seed = 23};
        link_pair p;
        CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
        if (bare != 0) {
            CHECK_OK(pin(p.d[0], cert_s));
        }
        if (bare != 1) {
            CHECK_OK(pin(p.d[1], cert_c));
        }
        CHECK_OK(link_pair_start(&p));
        link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
        CHECK(p.l.st.failed[0] && p.l.st.failed[1]);
        CHECK_EQ(dsrtp_dtls_get_failure(p.d[bare]), DSRTP_DTLS_FAIL_NO_FINGERPRINT);
        CHECK_EQ(dsrtp_dtls_get_failure(p.d[1 - bare]), DSRTP_DTLS_FAIL_ALERT);
        int before = check_failures_;
        check_no_keys(p.d[0]);
        check_no_keys(p.d[1]);
        CHECK(check_failures_ == before);
        link_pair_free(&p);
    }
}

/* Fingerprints may arrive late (the SDP answer after start), up to the handshake's end. */
static void test_dtls_fingerprints_set_after_start_are_used(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    link_cfg lc = {.seed = 24};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_start(&p));
    CHECK_OK(pin(p.d[0], cert_s));
    CHECK_OK(pin(p.d[1], cert_c));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    /* Too late now. */
    CHECK_ERR(pin(p.d[0], cert_s), DSRTP_ERR_INVALID_ARG);
    link_pair_free(&p);
}

static void test_dtls_set_remote_fingerprints_rejects_bad_lists(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    dsrtp_dtls *d = NULL;
    CHECK_OK(dsrtp_dtls_new(&cfg[0], &d));
    dsrtp_fingerprint fps[DSRTP_DTLS_MAX_FINGERPRINTS + 1];
    for (size_t i = 0; i < DSRTP_DTLS_MAX_FINGERPRINTS + 1; i++) {
        CHECK_OK(dsrtp_cert_fingerprint(cert_s, DSRTP_HASH_SHA256, &fps[i]));
    }
    CHECK_OK(dsrtp_dtls_set_remote_fingerprints(d, fps, DSRTP_DTLS_MAX_FINGERPRINTS));
    CHECK_ERR(dsrtp_dtls_set_remote_fingerprints(d, fps, DSRTP_DTLS_MAX_FINGERPRINTS + 1),
              DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_dtls_set_remote_fingerprints(d, NULL, 1), DSRTP_ERR_INVALID_ARG);
    fps[1].hash = DSRTP_HASH_NONE;
    CHECK_ERR(dsrtp_dtls_set_remote_fingerprints(d, fps, 2), DSRTP_ERR_INVALID_ARG);
    fps[1].hash = DSRTP_HASH_SHA256;
    fps[1].len = 0;
    CHECK_ERR(dsrtp_dtls_set_remote_fingerprints(d, fps, 2), DSRTP_ERR_INVALID_ARG);
    fps[1].len = DSRTP_FINGERPRINT_MAX_LEN + 1;
    CHECK_ERR(dsrtp_dtls_set_remote_fingerprints(d, fps, 2), DSRTP_ERR_INVALID_ARG);
    dsrtp_dtls_free(d);
}

/* ---- SRTP profiles ---- */

static void test_dtls_handshake_fails_without_common_profile(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[0].profiles[0] = DSRTP_AES_CM_128_HMAC_SHA1_32;
    cfg[0].profile_count = 1;
    cfg[1].profiles[0] = DSRTP_AEAD_AES_128_GCM;
    cfg[1].profile_count = 1;
    link_cfg lc = {.seed = 25};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(&p, cert_c, cert_s, DSRTP_HASH_SHA256));
    CHECK_OK(link_pair_start(&p));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(p.l.st.failed[0] && p.l.st.failed[1]);
    CHECK(!p.l.st.connected[0] && !p.l.st.connected[1]);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[0]), DSRTP_DTLS_FAIL_NO_PROFILE);
    CHECK_EQ(dsrtp_dtls_get_failure(p.d[1]), DSRTP_DTLS_FAIL_NO_PROFILE);
    check_no_keys(p.d[0]);
    check_no_keys(p.d[1]);
    link_pair_free(&p);
}

/* ---- hostile datagrams mid-handshake ---- */

typedef struct junk_tap {
    dsrtp_dtls **d;
    uint64_t rng;
    int budget;     /* handshake datagrams still to be shadowed by junk */
    int shadowed;
    int injected;
    int refused;    /* handle_datagram said MALFORMED */
    int unexpected; /* another error, or the receiver failed */
} junk_tap;

static void inject(junk_tap *t, int to, const uint8_t *junk, size_t n)
{
    dsrtp_err e = dsrtp_dtls_handle_datagram(t->d[to], link_now(), junk, n);
    t->injected++;
    if (e == DSRTP_ERR_MALFORMED) {
        t->refused++;
    } else if (e != DSRTP_OK || dsrtp_dtls_get_state(t->d[to]) == DSRTP_DTLS_STATE_FAILED) {
        t->unexpected++;
    }
}

/* Before each of the first datagrams reaches its receiver, the receiver also gets junk:
 * random bytes behind a DTLS-looking first byte; the same inside a well-formed record
 * header (right length, epoch 0, then epoch 1) of each content type; bytes that are not
 * DTLS at all; and truncations of the real datagram. */
static bool junk_tap_fn(void *arg, int from, uint8_t *data, size_t *len)
{
    junk_tap *t = arg;
    if (t->budget <= 0) {
        return true;
    }
    t->budget--;
    t->shadowed++;
    int to = 1 - from;
    uint8_t junk[300];
    size_t n = 16 + link_rand(&t->rng) % (sizeof junk - 16);
    for (size_t i = 0; i < n; i++) {
        junk[i] = (uint8_t)link_rand(&t->rng);
    }
    junk[0] = (uint8_t)(20 + link_rand(&t->rng) % 44);
    inject(t, to, junk, n);
    junk[1] = 0xfe;
    junk[2] = 0xfd;
    junk[11] = (uint8_t)((n - 13) >> 8);
    junk[12] = (uint8_t)(n - 13);
    for (uint8_t epoch = 0; epoch < 2; epoch++) {
        junk[3] = 0;
        junk[4] = epoch;
        for (uint8_t type = 20; type <= 25; type++) {
            junk[0] = type;
            inject(t, to, junk, n);
        }
    }
    /* A protected record too short for any AEAD nonce and tag. */
    junk[12] = 7;
    inject(t, to, junk, 13 + 7);
    junk[0] = 0x80; /* RTP */
    inject(t, to, junk, n);
    const size_t cuts[] = {5, 13, *len / 2, *len - 1};
    for (size_t i = 0; i < 4; i++) {
        if (cuts[i] < *len) {
            inject(t, to, data, cuts[i]);
        }
    }
    return true;
}

static void test_dtls_handshake_survives_garbage_and_truncated_records(void)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        dsrtp_dtls_cfg cfg[2];
        client_server_cfgs(&cfg[0], &cfg[1]);
        link_pair p;
        junk_tap t = {.rng = seed * 0x2545f4914f6cdd1du, .budget = 16};
        link_cfg lc = {.seed = seed, .tap = junk_tap_fn, .tap_arg = &t};
        CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
        t.d = p.d;
        CHECK_OK(link_pair_pin(&p, cert_c, cert_s, DSRTP_HASH_SHA256));
        CHECK_OK(link_pair_start(&p));
        link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
        if (!link_both_connected(&p.l)) {
            fprintf(stderr, "seed %llu: '%s' / '%s'\n", (unsigned long long)seed,
                    p.l.st.last_event[0].detail, p.l.st.last_event[1].detail);
        }
        CHECK(link_both_connected(&p.l));
        CHECK(t.shadowed >= 4); /* both flights of each side, at least */
        CHECK(t.injected >= 18 * t.shadowed);
        /* Every injection but the random one and the epoch-1 records is refused outright
         * (those may be handed to OpenSSL, which must then drop them quietly). */
        CHECK(t.refused >= 12 * t.shadowed);
        CHECK_EQ(t.unexpected, 0);
        check_keys_mirror(p.d[0], p.d[1]);
        link_pair_free(&p);
    }
}

/* Junk that reaches a connected endpoint leaves it connected, keys intact. */
static void test_dtls_connected_endpoint_ignores_junk_records(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    link_cfg lc = {.seed = 29};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(&p, cert_c, cert_s, DSRTP_HASH_SHA256));
    CHECK_OK(link_pair_start(&p));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    uint8_t rec[80] = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9};
    for (size_t i = 13; i < sizeof rec; i++) {
        rec[i] = (uint8_t)(i * 37);
    }
    for (size_t body = 0; body <= sizeof rec - 13; body++) {
        for (uint8_t type = 20; type <= 23; type++) {
            rec[0] = type;
            rec[12] = (uint8_t)body;
            for (int side = 0; side < 2; side++) {
                dsrtp_err e = dsrtp_dtls_handle_datagram(p.d[side], link_now(), rec, 13 + body);
                /* Too short for the AES-GCM nonce and tag: refused before OpenSSL. */
                CHECK_ERR(e, body < 24 ? DSRTP_ERR_MALFORMED : DSRTP_OK);
                CHECK_EQ(dsrtp_dtls_get_state(p.d[side]), DSRTP_DTLS_STATE_CONNECTED);
            }
        }
    }
    check_keys_mirror(p.d[0], p.d[1]);
    /* Still a working association: close_notify gets through. */
    CHECK_OK(dsrtp_dtls_close(p.d[0]));
    link_run(&p.l, p.d, 2000000, any_closed);
    CHECK(p.l.st.closed[1]);
    link_pair_free(&p);
}

static void test_dtls_handle_datagram_refuses_non_dtls(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    dsrtp_dtls *d = NULL;
    CHECK_OK(dsrtp_dtls_new(&cfg[1], &d));
    CHECK_OK(dsrtp_dtls_start(d, link_now()));
    uint8_t b[64] = {22, 0xfe, 0xfd};
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), b, 12), DSRTP_ERR_MALFORMED);
    b[0] = 19;
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), b, sizeof b), DSRTP_ERR_MALFORMED);
    b[0] = 64;
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), b, sizeof b), DSRTP_ERR_MALFORMED);
    b[0] = 0; /* STUN */
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), b, sizeof b), DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), NULL, 20), DSRTP_ERR_INVALID_ARG);
    dsrtp_dtls_free(d);
}

/* One epoch-0 handshake record: a 10-byte fragment of message_seq 5 (a future message the
 * server just buffers), then each way of getting the framing wrong. */
static void test_dtls_handle_datagram_refuses_ill_framed_records(void)
{
    static const uint8_t good[13 + 12 + 10] = {
        22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 7, 0, 22, /* record header */
        1, 0, 0, 10, 0, 5, 0, 0, 0, 0, 0, 10,          /* fragment header */
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    dsrtp_dtls *d = NULL;
    CHECK_OK(dsrtp_dtls_new(&cfg[1], &d));
    CHECK_OK(dsrtp_dtls_start(d, link_now()));
    uint8_t b[sizeof good + 1];
    CHECK_OK(dsrtp_dtls_handle_datagram(d, link_now(), good, sizeof good));
    memcpy(b, good, sizeof good);
    b[sizeof good] = 0; /* a stray byte after the record */
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), b, sizeof good + 1), DSRTP_ERR_MALFORMED);
    struct {
        size_t at;
        uint8_t value;
    } const bad[] = {
        {1, 0x03},  /* TLS, not DTLS */
        {12, 21},   /* record longer than the datagram */
        {12, 12},   /* fragment longer than the record */
        {24, 9},    /* fragment shorter than the record */
        {16, 9},    /* fragment past the end of its message */
        {22, 1},    /* fragment offset past the end of its message */
        {0, 23},    /* application data in epoch 0 */
        {0, 24},    /* heartbeat */
        {0, 20},    /* ChangeCipherSpec of 22 bytes */
        {0, 21},    /* alert of 22 bytes */
        {4, 1},     /* epoch 1 before any cipher is agreed */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(b, good, sizeof good);
        b[bad[i].at] = bad[i].value;
        dsrtp_err e = dsrtp_dtls_handle_datagram(d, link_now(), b, sizeof good);
        if (e != DSRTP_ERR_MALFORMED) {
            fprintf(stderr, "case %zu accepted\n", i);
        }
        CHECK_ERR(e, DSRTP_ERR_MALFORMED);
    }
    /* Short control records: only the exact shapes pass. */
    uint8_t ccs[14] = {20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 8, 0, 1, 1};
    uint8_t alert[15] = {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 3, 10};
    ccs[13] = 2;
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), ccs, sizeof ccs), DSRTP_ERR_MALFORMED);
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), alert, sizeof alert),
              DSRTP_ERR_MALFORMED); /* level 3 */
    /* A warning alert, which OpenSSL 3.0 would count five times and die of. */
    alert[13] = 1;
    CHECK_ERR(dsrtp_dtls_handle_datagram(d, link_now(), alert, sizeof alert),
              DSRTP_ERR_MALFORMED);
    CHECK_EQ(dsrtp_dtls_get_state(d), DSRTP_DTLS_STATE_HANDSHAKE);
    /* The accepting twins: a correct CCS is taken (and ignored out of turn); a fatal alert
     * from the peer is honoured, as the protocol says. */
    ccs[13] = 1;
    CHECK_OK(dsrtp_dtls_handle_datagram(d, link_now(), ccs, sizeof ccs));
    alert[13] = 2;
    CHECK_OK(dsrtp_dtls_handle_datagram(d, link_now(), alert, sizeof alert));
    CHECK_EQ(dsrtp_dtls_get_state(d), DSRTP_DTLS_STATE_FAILED);
    CHECK_EQ(dsrtp_dtls_get_failure(d), DSRTP_DTLS_FAIL_ALERT);
    dsrtp_dtls_free(d);
}

/* ---- a silent peer ---- */

/* Drives one endpoint alone: sends go nowhere; handle_timeout at each deadline. Returns
 * when it fails or limit passes; *sent counts datagrams, *failed_at when it failed. */
static void run_alone(dsrtp_dtls *d, dsrtp_time t0, dsrtp_time limit, size_t *sent,
                      dsrtp_time *failed_at, dsrtp_dtls_event *ev)
{
    *failed_at = 0;
    for (;;) {
        uint8_t buf[LINK_MTU];
        dsrtp_dtls_output out;
        dsrtp_time now = link_now();
        while (dsrtp_dtls_poll_output(d, buf, sizeof buf, &out) == DSRTP_OK &&
               out.kind != DSRTP_OUT_IDLE) {
            if (out.kind == DSRTP_OUT_DATAGRAM) {
                (*sent)++;
            } else if (out.event.kind == DSRTP_DTLS_EV_FAILED) {
                *ev = out.event;
                *failed_at = now;
                return;
            }
        }
        if (now - t0 > limit) {
            return;
        }
        if (out.deadline <= now) {
            dsrtp_err e = dsrtp_dtls_handle_timeout(d, now);
            (void)e;
        }
        struct timespec nap = {0, 200000};
        nanosleep(&nap, NULL);
    }
}

static void test_dtls_handshake_times_out_when_peer_never_answers(void)
{
    for (int role = 0; role < 2; role++) {
        dsrtp_dtls_cfg cfg[2];
        client_server_cfgs(&cfg[0], &cfg[1]);
        cfg[role].handshake_timeout = 300000;
        dsrtp_dtls *d = NULL;
        CHECK_OK(dsrtp_dtls_new(&cfg[role], &d));
        CHECK_OK(pin(d, role == 0 ? cert_s : cert_c));
        dsrtp_time t0 = link_now();
        CHECK_OK(dsrtp_dtls_start(d, t0));
        CHECK(dsrtp_dtls_next_deadline(d) <= t0 + 300000);
        size_t sent = 0;
        dsrtp_time failed_at = 0;
        dsrtp_dtls_event ev = {0};
        /* The rejecting twin first: not a moment before the timeout. */
        run_alone(d, t0, 250000, &sent, &failed_at, &ev);
        CHECK_EQ(failed_at, 0);
        CHECK_EQ(dsrtp_dtls_get_state(d), DSRTP_DTLS_STATE_HANDSHAKE);
        run_alone(d, t0, 2000000, &sent, &failed_at, &ev);
        CHECK(failed_at >= t0 + 300000);
        CHECK(failed_at < t0 + 1000000); /* soon after; the bound only allows for a slow host */
        CHECK_EQ(ev.failure, DSRTP_DTLS_FAIL_TIMEOUT);
        CHECK_EQ(dsrtp_dtls_get_failure(d), DSRTP_DTLS_FAIL_TIMEOUT);
        CHECK_EQ(dsrtp_dtls_next_deadline(d), DSRTP_TIME_NEVER);
        if (role == 0) {
            /* 10 ms doubling: resent at 10, 30, 70 and 150 ms (fewer on a stalled host). */
            CHECK(sent >= 2 && sent <= 5);
        } else {
            CHECK_EQ(sent, 0);
        }
        int before = check_failures_;
        check_no_keys(d);
        CHECK(check_failures_ == before);
        dsrtp_dtls_free(d);
    }
}

/* ---- the early ClientHello ---- */

static void test_dtls_server_holds_client_hello_that_arrives_before_role(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[1].role = DSRTP_DTLS_ROLE_UNSET;
    cfg[0].initial_rto = 200000; /* keep the client from resending meanwhile */
    link_cfg lc = {.seed = 26};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(&p, cert_c, cert_s, DSRTP_HASH_SHA256));
    CHECK_EQ(dsrtp_dtls_get_role(p.d[1]), DSRTP_DTLS_ROLE_UNSET);
    CHECK_ERR(dsrtp_dtls_start(p.d[1], link_now()), DSRTP_ERR_INVALID_ARG);
    CHECK_OK(dsrtp_dtls_start(p.d[0], link_now()));

    uint8_t hello[LINK_MTU];
    dsrtp_dtls_output out;
    CHECK_OK(dsrtp_dtls_poll_output(p.d[0], hello, sizeof hello, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_DATAGRAM);
    CHECK(link_dgram_has(hello, out.len, 22, 0, 1));
    size_t hello_len = out.len;
    CHECK_OK(dsrtp_dtls_handle_datagram(p.d[1], link_now(), hello, hello_len));
    /* Held: nothing happens, nothing is due. */
    uint8_t buf[LINK_MTU];
    CHECK_OK(dsrtp_dtls_poll_output(p.d[1], buf, sizeof buf, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_IDLE);
    CHECK_EQ(out.deadline, DSRTP_TIME_NEVER);
    CHECK_EQ(dsrtp_dtls_get_state(p.d[1]), DSRTP_DTLS_STATE_NEW);

    CHECK_ERR(dsrtp_dtls_set_role(p.d[1], DSRTP_DTLS_ROLE_UNSET), DSRTP_ERR_INVALID_ARG);
    CHECK_OK(dsrtp_dtls_set_role(p.d[1], DSRTP_DTLS_SERVER));
    dsrtp_time now = link_now();
    CHECK_OK(dsrtp_dtls_start(p.d[1], now));
    CHECK_ERR(dsrtp_dtls_start(p.d[1], now), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_dtls_set_role(p.d[1], DSRTP_DTLS_CLIENT), DSRTP_ERR_INVALID_ARG);
    /* The held ClientHello was answered at start: the ServerHello is already queued. */
    CHECK_OK(dsrtp_dtls_poll_output(p.d[1], buf, sizeof buf, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_DATAGRAM);
    CHECK(link_dgram_has(buf, out.len, 22, 0, 2));
    link_enqueue(&p.l, 0, buf, out.len, now);
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    CHECK_EQ(dsrtp_dtls_get_role(p.d[1]), DSRTP_DTLS_SERVER);
    link_pair_free(&p);
}

/* Only a few datagrams are held before start, and only datagrams of a sane size; the rest
 * are refused without harming the endpoint (a flood must not end the session). */
static void test_dtls_server_refuses_to_hold_more_than_a_few_datagrams(void)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    cfg[1].role = DSRTP_DTLS_ROLE_UNSET;
    cfg[0].initial_rto = 200000;
    link_cfg lc = {.seed = 27};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(&p, cert_c, cert_s, DSRTP_HASH_SHA256));
    CHECK_OK(dsrtp_dtls_start(p.d[0], link_now()));
    uint8_t hello[LINK_MTU];
    dsrtp_dtls_output out;
    CHECK_OK(dsrtp_dtls_poll_output(p.d[0], hello, sizeof hello, &out));
    size_t hello_len = out.len;
    static uint8_t big[4097] = {22, 0xfe, 0xfd};
    dsrtp_err e = dsrtp_dtls_handle_datagram(p.d[1], link_now(), big, sizeof big);
    CHECK(e != DSRTP_OK && !dsrtp_err_is_fatal(e));
    size_t held = 0;
    while (held < 100 &&
           dsrtp_dtls_handle_datagram(p.d[1], link_now(), hello, hello_len) == DSRTP_OK) {
        held++;
    }
    CHECK(held >= 2 && held < 100);
    e = dsrtp_dtls_handle_datagram(p.d[1], link_now(), hello, hello_len);
    CHECK(e != DSRTP_OK && !dsrtp_err_is_fatal(e));
    /* The copies that were held still lead to a normal handshake. */
    CHECK_OK(dsrtp_dtls_set_role(p.d[1], DSRTP_DTLS_SERVER));
    CHECK_OK(dsrtp_dtls_start(p.d[1], link_now()));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    link_pair_free(&p);
}

/* ---- close_notify ---- */

static void close_from(int closer)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    link_cfg lc = {.seed = 28};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(&p, cert_c, cert_s, DSRTP_HASH_SHA256));
    CHECK_OK(link_pair_start(&p));
    link_run(&p.l, p.d, RUN_LIMIT, link_any_done);
    CHECK(link_both_connected(&p.l));
    int peer = 1 - closer;
    CHECK(!p.l.st.closed[peer]);
    CHECK_OK(dsrtp_dtls_close(p.d[closer]));
    CHECK_EQ(dsrtp_dtls_get_state(p.d[closer]), DSRTP_DTLS_STATE_CLOSED);
    link_run(&p.l, p.d, 2000000, any_closed);
    CHECK(p.l.st.closed[peer]);
    CHECK_EQ(p.l.st.last_event[peer].kind, DSRTP_DTLS_EV_CLOSED);
    CHECK_EQ(dsrtp_dtls_get_state(p.d[peer]), DSRTP_DTLS_STATE_CLOSED);
    CHECK(!p.l.st.closed[closer]); /* nobody told the closer anything */
    CHECK(!p.l.st.failed[0] && !p.l.st.failed[1]);
    int before = check_failures_;
    check_no_keys(p.d[0]);
    check_no_keys(p.d[1]);
    CHECK(check_failures_ == before);
    CHECK_OK(dsrtp_dtls_close(p.d[peer])); /* closing again is harmless */
    link_pair_free(&p);
}

static void test_dtls_close_by_client_reaches_server_as_closed(void)
{
    close_from(0);
}

static void test_dtls_close_by_server_reaches_client_as_closed(void)
{
    close_from(1);
}

RUN_TESTS(TEST(test_dtls_client_aborts_on_server_fingerprint_mismatch),
          TEST(test_dtls_server_aborts_on_client_fingerprint_mismatch),
          TEST(test_dtls_handshake_connects_when_both_fingerprints_match),
          TEST(test_dtls_handshake_fails_without_fingerprints_in_either_role),
          TEST(test_dtls_fingerprints_set_after_start_are_used),
          TEST(test_dtls_set_remote_fingerprints_rejects_bad_lists),
          TEST(test_dtls_handshake_fails_without_common_profile),
          TEST(test_dtls_handshake_survives_garbage_and_truncated_records),
          TEST(test_dtls_connected_endpoint_ignores_junk_records),
          TEST(test_dtls_handle_datagram_refuses_non_dtls),
          TEST(test_dtls_handle_datagram_refuses_ill_framed_records),
          TEST(test_dtls_handshake_times_out_when_peer_never_answers),
          TEST(test_dtls_server_holds_client_hello_that_arrives_before_role),
          TEST(test_dtls_server_refuses_to_hold_more_than_a_few_datagrams),
          TEST(test_dtls_close_by_client_reaches_server_as_closed),
          TEST(test_dtls_close_by_server_reaches_client_as_closed))
