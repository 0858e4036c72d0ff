/* Connected endpoints are compacted: the SSL object is freed when the handshake completes
 * and the endpoint keeps well under a kilobyte. Checked here between two of our own
 * endpoints: the heap a connected endpoint holds (glibc's mallinfo2, as the bench reports
 * it), no timers once connected, the events one datagram queues all coming out, every
 * DTLS-SRTP profile with ECDSA and RSA certificates (keys, exporter, fingerprints,
 * close_notify each way), damaged and replayed close_notify, and a server whose final
 * flight is lost: it must answer the client's retransmission with the same bytes, and a
 * replay of that retransmission with nothing.
 *
 * Most runs pass datagrams straight across in memory; the lost flight needs OpenSSL's
 * retransmission timer and runs over dtls_link.h in real time. Endpoint 0 is the client,
 * endpoint 1 the server. */
#include "harness/check.h"
#include "harness/dtls_link.h"

#include "harness/alloc_count.h" /* after the libc headers: it tests __GLIBC__ */

#include "dtls/dtls_int.h"

#define RUN_LIMIT 8000000u
#define ROUNDS 32
/* Bytes a connected endpoint may hold: 720 to 850 today (the struct with its post state,
 * a server's copy of its final flight, malloc's headers). Keeping the SRTP keys again
 * (120 bytes) or full-size events (8 x 112 bytes) would break it. */
#define HELD_LIMIT 1024
#define HANDSHAKE_FLOOR 16384 /* an endpoint mid-handshake (with its SSL object) holds more */
#define EXPORT_LEN 88
#define RT_CHANGE_CIPHER_SPEC 20
#define RT_ALERT 21
#define RT_HANDSHAKE 22

static dsrtp_cert *certs[2][2]; /* [ECDSA, RSA][client, server] */

static void free_certs(void)
{
    for (int k = 0; k < 2; k++) {
        dsrtp_cert_free(certs[k][0]);
        dsrtp_cert_free(certs[k][1]);
    }
}

static dsrtp_cert *cert_of(int kind, int side)
{
    if (certs[0][0] == NULL) {
        for (int k = 0; k < 2; k++) {
            for (int s = 0; s < 2; s++) {
                if (dsrtp_cert_generate(k == 0 ? DSRTP_CERT_ECDSA_P256 : DSRTP_CERT_RSA, 0,
                                        &certs[k][s]) != DSRTP_OK) {
                    abort();
                }
            }
        }
        if (atexit(free_certs) != 0) {
            abort();
        }
    }
    return certs[kind][side];
}

static const dsrtp_profile all_profiles[] = {DSRTP_AEAD_AES_256_GCM, DSRTP_AEAD_AES_128_GCM,
                                             DSRTP_AES_CM_128_HMAC_SHA1_80,
                                             DSRTP_AES_CM_128_HMAC_SHA1_32};

/* ---- two endpoints, datagrams passed across in memory ---- */

typedef struct side {
    bool connected;
    bool failed;
    bool closed;
    size_t events;
    size_t sent;
    dsrtp_dtls_event last;
} side;

typedef struct mem_pair {
    dsrtp_dtls *d[2];
    side s[2];
    dsrtp_time now;
    /* When set, datagrams are captured here instead of delivered. */
    bool capture;
    uint8_t captured[LINK_MTU];
    size_t captured_len;
} mem_pair;

/* Drains side i; its datagrams go to the other side (or into the capture). */
static size_t mem_drain(mem_pair *m, int i)
{
    size_t n = 0;
    uint8_t buf[LINK_MTU];
    dsrtp_dtls_output out;
    while (dsrtp_dtls_poll_output(m->d[i], buf, sizeof buf, &out) == DSRTP_OK &&
           out.kind != DSRTP_OUT_IDLE) {
        side *s = &m->s[i];
        if (out.kind == DSRTP_OUT_EVENT) {
            s->events++;
            s->last = out.event;
            s->connected |= out.event.kind == DSRTP_DTLS_EV_CONNECTED;
            s->failed |= out.event.kind == DSRTP_DTLS_EV_FAILED;
            s->closed |= out.event.kind == DSRTP_DTLS_EV_CLOSED;
            continue;
        }
        n++;
        s->sent++;
        if (m->capture) {
            memcpy(m->captured, buf, out.len);
            m->captured_len = out.len;
        } else if (dsrtp_dtls_handle_datagram(m->d[1 - i], m->now, buf, out.len) != DSRTP_OK) {
            s->failed = true; /* a refused datagram has no place in these runs */
        }
    }
    return n;
}

static dsrtp_err mem_new(mem_pair *m, int kind, dsrtp_profile profile)
{
    *m = (mem_pair){.now = 1000};
    for (int i = 0; i < 2; i++) {
        dsrtp_dtls_cfg cfg;
        link_pair_cfg(&cfg, cert_of(kind, i), i == 0 ? DSRTP_DTLS_CLIENT : DSRTP_DTLS_SERVER);
        cfg.profiles[0] = profile;
        cfg.profile_count = 1;
        DSRTP_TRY(dsrtp_dtls_new(&cfg, &m->d[i]));
        dsrtp_fingerprint fp;
        DSRTP_TRY(dsrtp_cert_fingerprint(cert_of(kind, 1 - i), DSRTP_HASH_SHA256, &fp));
        DSRTP_TRY(dsrtp_dtls_set_remote_fingerprints(m->d[i], &fp, 1));
    }
    return DSRTP_OK;
}

static void mem_free(mem_pair *m)
{
    dsrtp_dtls_free(m->d[0]);
    dsrtp_dtls_free(m->d[1]);
    m->d[0] = NULL;
    m->d[1] = NULL;
}

static bool mem_handshake(mem_pair *m)
{
    if (dsrtp_dtls_start(m->d[1], m->now) != DSRTP_OK ||
        dsrtp_dtls_start(m->d[0], m->now) != DSRTP_OK) {
        return false;
    }
    for (int round = 0; round < ROUNDS; round++) {
        size_t moved = mem_drain(m, 0) + mem_drain(m, 1);
        if (moved == 0) {
            break;
        }
    }
    return m->s[0].connected && m->s[1].connected && !m->s[0].failed && !m->s[1].failed;
}

/* ---- held memory ---- */

#define WARMUP 20  /* OpenSSL and glibc fill their caches over the first handshakes */
#define HELD_PAIRS 32 /* measured together, so that what is left of that spreads thin */

#ifdef TEST_COUNTS_ALLOCS
/* Heap held per connected endpoint, over HELD_PAIRS pairs kept alive at once. */
static long long held_per_endpoint(int kind)
{
    mem_pair m[HELD_PAIRS];
    size_t before = heap_in_use();
    size_t made = 0;
    bool ok = true;
    for (; made < HELD_PAIRS && ok; made++) {
        ok = mem_new(&m[made], kind, DSRTP_AEAD_AES_128_GCM) == DSRTP_OK &&
             mem_handshake(&m[made]);
    }
    long long held = (long long)heap_in_use() - (long long)before;
    for (size_t i = 0; i < made; i++) {
        mem_free(&m[i]);
    }
    return ok ? held / (2 * HELD_PAIRS) : -1;
}

/* The same witness on a client that has only sent its ClientHello. */
static long long held_mid_handshake(void)
{
    size_t before = heap_in_use();
    mem_pair m;
    long long held = -1;
    if (mem_new(&m, 0, DSRTP_AEAD_AES_128_GCM) == DSRTP_OK &&
        dsrtp_dtls_start(m.d[0], m.now) == DSRTP_OK) {
        held = (long long)heap_in_use() - (long long)before;
    }
    mem_free(&m);
    return held;
}
#endif

static void test_dtls_connected_endpoint_holds_under_1_kib(void)
{
    for (int kind = 0; kind < 2; kind++) {
        for (int i = 0; i < WARMUP; i++) {
            mem_pair warm;
            CHECK_OK(mem_new(&warm, kind, DSRTP_AEAD_AES_128_GCM));
            bool ok = mem_handshake(&warm);
            mem_free(&warm);
            CHECK(ok);
        }
    }
#ifdef TEST_COUNTS_ALLOCS
    /* The witness can tell: a started client, with its SSL object, holds far more. */
    long long mid = held_mid_handshake();
    CHECK(mid > HANDSHAKE_FLOOR);
    for (int kind = 0; kind < 2; kind++) {
        long long held = held_per_endpoint(kind);
        fprintf(stderr, "%s: %lld bytes held per connected endpoint (a started client: %lld)\n",
                kind == 0 ? "ecdsa" : "rsa", held, mid);
        CHECK(held > 0);
        CHECK(held < HELD_LIMIT);
    }
#else
    fprintf(stderr, "note: no glibc heap witness in this build (sanitizer): sizes unchecked\n");
#endif
}

/* ---- no timers, each profile and certificate kind ---- */

static void check_idle_forever(dsrtp_dtls *d)
{
    CHECK_EQ(dsrtp_dtls_next_deadline(d), DSRTP_TIME_NEVER);
    uint8_t buf[LINK_MTU];
    dsrtp_dtls_output out;
    CHECK_OK(dsrtp_dtls_poll_output(d, buf, sizeof buf, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_IDLE);
    CHECK_EQ(out.deadline, DSRTP_TIME_NEVER);
    /* An hour later nothing is due, nothing is sent. */
    CHECK_OK(dsrtp_dtls_handle_timeout(d, 3600000000u));
    CHECK_OK(dsrtp_dtls_poll_output(d, buf, sizeof buf, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_IDLE);
    CHECK_EQ(dsrtp_dtls_get_state(d), DSRTP_DTLS_STATE_CONNECTED);
}

static void check_keys_and_fingerprints(mem_pair *m, int kind, dsrtp_profile want)
{
    dsrtp_dtls_keys k[2];
    CHECK_OK(dsrtp_dtls_get_keys(m->d[0], &k[0]));
    CHECK_OK(dsrtp_dtls_get_keys(m->d[1], &k[1]));
    CHECK_EQ(k[0].profile, want);
    CHECK_EQ(k[1].profile, want);
    CHECK_MEM(k[0].local_key, k[1].remote_key, k[0].key_len);
    CHECK_MEM(k[0].remote_key, k[1].local_key, k[0].key_len);
    CHECK_MEM(k[0].local_salt, k[1].remote_salt, k[0].salt_len);
    CHECK_MEM(k[0].remote_salt, k[1].local_salt, k[0].salt_len);
    CHECK(memcmp(k[0].local_key, k[0].remote_key, k[0].key_len) != 0);
    /* The exporter, computed after compaction, gives the keys OpenSSL exported at the end
     * of the handshake, in RFC 5764 order. */
    uint8_t e[2][EXPORT_LEN];
    CHECK_OK(dsrtp_dtls_export(m->d[0], e[0], sizeof e[0]));
    CHECK_OK(dsrtp_dtls_export(m->d[1], e[1], sizeof e[1]));
    CHECK_MEM(e[0], e[1], sizeof e[0]);
    size_t kl = k[0].key_len;
    CHECK_MEM(e[0], k[0].local_key, kl);
    CHECK_MEM(e[0] + kl, k[1].local_key, kl);
    CHECK_MEM(e[0] + 2 * kl, k[0].local_salt, k[0].salt_len);
    for (int i = 0; i < 2; i++) {
        dsrtp_fingerprint want_fp;
        dsrtp_fingerprint got;
        CHECK_OK(dsrtp_cert_fingerprint(cert_of(kind, 1 - i), DSRTP_HASH_SHA512, &want_fp));
        CHECK_OK(dsrtp_dtls_get_remote_fingerprint(m->d[i], DSRTP_HASH_SHA512, &got));
        CHECK_EQ(got.len, 64);
        CHECK_MEM(got.value, want_fp.value, 64);
    }
}

/* closer sends close_notify: a damaged copy leaves the peer connected, the genuine one
 * closes it (the alert, then CLOSED), a replay adds nothing. */
static void check_close_from(mem_pair *m, int closer)
{
    int peer = 1 - closer;
    CHECK_OK(dsrtp_dtls_close(m->d[closer]));
    CHECK_EQ(dsrtp_dtls_get_state(m->d[closer]), DSRTP_DTLS_STATE_CLOSED);
    m->capture = true;
    CHECK_EQ(mem_drain(m, closer), 1);
    m->capture = false;
    uint8_t rec[LINK_MTU];
    size_t len = m->captured_len;
    memcpy(rec, m->captured, len);
    CHECK(link_dgram_has(rec, len, RT_ALERT, 1, -1));
    size_t events = m->s[peer].events;
    rec[len - 5] ^= 0x20;
    CHECK_OK(dsrtp_dtls_handle_datagram(m->d[peer], m->now, rec, len));
    rec[len - 5] ^= 0x20;
    CHECK_EQ(mem_drain(m, peer), 0);
    CHECK_EQ(m->s[peer].events, events);
    CHECK_EQ(dsrtp_dtls_get_state(m->d[peer]), DSRTP_DTLS_STATE_CONNECTED);
    CHECK_OK(dsrtp_dtls_handle_datagram(m->d[peer], m->now, rec, len));
    CHECK_EQ(mem_drain(m, peer), 0);
    CHECK_EQ(m->s[peer].events, events + 2);
    CHECK(m->s[peer].closed);
    CHECK_EQ(m->s[peer].last.kind, DSRTP_DTLS_EV_CLOSED);
    CHECK_EQ(dsrtp_dtls_get_state(m->d[peer]), DSRTP_DTLS_STATE_CLOSED);
    CHECK_OK(dsrtp_dtls_handle_datagram(m->d[peer], m->now, rec, len));
    CHECK_EQ(mem_drain(m, peer), 0);
    CHECK_EQ(m->s[peer].events, events + 2);
    CHECK(!m->s[closer].closed); /* nobody told the closer anything */
}

static void run_profile(int kind, dsrtp_profile profile, int closer)
{
    mem_pair m;
    CHECK_OK(mem_new(&m, kind, profile));
    CHECK(mem_handshake(&m));
    check_idle_forever(m.d[0]);
    check_idle_forever(m.d[1]);
    check_keys_and_fingerprints(&m, kind, profile);
    check_close_from(&m, closer);
    mem_free(&m);
}

static void test_dtls_compacted_pairs_agree_and_close_for_every_profile_and_cert_kind(void)
{
    for (int kind = 0; kind < 2; kind++) {
        for (size_t p = 0; p < 4; p++) {
            for (int closer = 0; closer < 2; closer++) {
                int before = check_failures_;
                run_profile(kind, all_profiles[p], closer);
                if (check_failures_ != before) {
                    fprintf(stderr, "  %s certificates, %s, closed by the %s\n",
                            kind == 0 ? "ECDSA" : "RSA", dsrtp_profile_name(all_profiles[p]),
                            closer == 0 ? "client" : "server");
                    return;
                }
            }
        }
    }
}

/* ---- events: queued compactly, detailed when polled ---- */

/* Polls the next output of d into *e; it must be an event of kind want. */
static void next_event(dsrtp_dtls *d, dsrtp_dtls_event_kind want, dsrtp_dtls_event *e)
{
    uint8_t buf[LINK_MTU];
    dsrtp_dtls_output out;
    *e = (dsrtp_dtls_event){0};
    CHECK_OK(dsrtp_dtls_poll_output(d, buf, sizeof buf, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_EVENT);
    CHECK_EQ(out.event.kind, want);
    *e = out.event;
}

/* Passes datagrams across until the server is connected, its final flight not yet
 * delivered. */
static void run_until_server_connected(mem_pair *m)
{
    CHECK_OK(dsrtp_dtls_start(m->d[1], m->now));
    CHECK_OK(dsrtp_dtls_start(m->d[0], m->now));
    for (int round = 0; round < ROUNDS; round++) {
        (void)mem_drain(m, 0);
        if (dsrtp_dtls_get_state(m->d[1]) == DSRTP_DTLS_STATE_CONNECTED) {
            return;
        }
        (void)mem_drain(m, 1);
    }
    CHECK(false);
}

/* The most one datagram queues before the caller polls: the client reads the server's
 * final flight and, behind it in the same datagram, the server's close_notify. CONNECTED,
 * the alert and CLOSED all come out, in that order and with their details. */
static void test_dtls_events_of_one_datagram_all_come_out_in_order(void)
{
    mem_pair m;
    CHECK_OK(mem_new(&m, 0, DSRTP_AEAD_AES_128_GCM));
    run_until_server_connected(&m);
    m.capture = true;
    CHECK_EQ(mem_drain(&m, 1), 1); /* ChangeCipherSpec and Finished */
    uint8_t dgram[2 * LINK_MTU];
    size_t len = m.captured_len;
    memcpy(dgram, m.captured, len);
    CHECK_OK(dsrtp_dtls_close(m.d[1]));
    CHECK_EQ(mem_drain(&m, 1), 1); /* close_notify */
    memcpy(dgram + len, m.captured, m.captured_len);
    len += m.captured_len;
    CHECK_OK(dsrtp_dtls_handle_datagram(m.d[0], m.now, dgram, len));
    dsrtp_dtls_event e;
    next_event(m.d[0], DSRTP_DTLS_EV_CONNECTED, &e);
    CHECK(strcmp(e.detail, dsrtp_profile_name(DSRTP_AEAD_AES_128_GCM)) == 0);
    next_event(m.d[0], DSRTP_DTLS_EV_ALERT, &e);
    CHECK_EQ(e.alert, 0);
    CHECK(!e.fatal);
    CHECK(strcmp(e.detail, "warning alert: close notify") == 0);
    next_event(m.d[0], DSRTP_DTLS_EV_CLOSED, &e);
    CHECK(strcmp(e.detail, "peer sent close_notify") == 0);
    uint8_t buf[LINK_MTU];
    dsrtp_dtls_output out;
    CHECK_OK(dsrtp_dtls_poll_output(m.d[0], buf, sizeof buf, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_IDLE);
    CHECK_EQ(dsrtp_dtls_get_state(m.d[0]), DSRTP_DTLS_STATE_CLOSED);
    mem_free(&m);
}

/* The rejecting side of the same: a client pinned to the wrong fingerprint refuses the
 * server's certificate with a fatal alert, which the server reports as the alert, then as
 * its failure, both detailed from the alert's description. */
static void test_dtls_fatal_alert_mid_handshake_comes_out_as_alert_then_failure(void)
{
    mem_pair m;
    CHECK_OK(mem_new(&m, 0, DSRTP_AEAD_AES_128_GCM));
    dsrtp_fingerprint wrong;
    CHECK_OK(dsrtp_cert_fingerprint(cert_of(0, 0), DSRTP_HASH_SHA256, &wrong));
    CHECK_OK(dsrtp_dtls_set_remote_fingerprints(m.d[0], &wrong, 1));
    CHECK(!mem_handshake(&m));
    CHECK_EQ(dsrtp_dtls_get_failure(m.d[0]), DSRTP_DTLS_FAIL_FINGERPRINT);
    CHECK_EQ(dsrtp_dtls_get_failure(m.d[1]), DSRTP_DTLS_FAIL_ALERT);
    CHECK(m.s[1].failed);
    CHECK_EQ(m.s[1].last.kind, DSRTP_DTLS_EV_FAILED);
    CHECK_EQ(m.s[1].last.failure, DSRTP_DTLS_FAIL_ALERT);
    CHECK(m.s[1].last.alert > 0);
    const char *prefix = "fatal alert from peer: ";
    CHECK(strncmp(m.s[1].last.detail, prefix, strlen(prefix)) == 0);
    CHECK(strlen(m.s[1].last.detail) > strlen(prefix));
    CHECK_EQ(m.s[0].last.kind, DSRTP_DTLS_EV_FAILED);
    CHECK(strcmp(m.s[0].last.detail,
                 dsrtp_dtls_failure_name(DSRTP_DTLS_FAIL_FINGERPRINT)) == 0);
    mem_free(&m);
}

/* ---- the server's lost final flight, over the real-time link ---- */

/* Drops the server's first final flight (it starts with its ChangeCipherSpec) and keeps
 * every copy of it, and of the client's final flight (from its Certificate), that is sent. */
typedef struct resend_tap {
    int server_flights;
    uint8_t server[4][LINK_MTU];
    size_t server_len[4];
    int client_flights;
    uint8_t client[4][LINK_MTU];
    size_t client_len[4];
} resend_tap;

static bool resend_tap_fn(void *arg, int from, uint8_t *data, size_t *len)
{
    resend_tap *t = arg;
    if (from == 1 && link_dgram_has(data, *len, RT_CHANGE_CIPHER_SPEC, 0, -1)) {
        if (t->server_flights < 4) {
            memcpy(t->server[t->server_flights], data, *len);
            t->server_len[t->server_flights] = *len;
        }
        return t->server_flights++ > 0;
    }
    if (from == 0 && link_dgram_has(data, *len, RT_HANDSHAKE, 1, -1)) {
        if (t->client_flights < 4) {
            memcpy(t->client[t->client_flights], data, *len);
            t->client_len[t->client_flights] = *len;
        }
        t->client_flights++;
    }
    return true;
}

static void sleep_for(dsrtp_time us)
{
    struct timespec t = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000};
    nanosleep(&t, NULL);
}

static void test_dtls_compacted_server_resends_its_final_flight_bytes_and_ignores_replays(void)
{
    dsrtp_dtls_cfg cfg[2];
    link_pair_cfg(&cfg[0], cert_of(0, 0), DSRTP_DTLS_CLIENT);
    link_pair_cfg(&cfg[1], cert_of(0, 1), DSRTP_DTLS_SERVER);
    resend_tap t = {0};
    link_cfg lc = {.seed = 41, .tap = resend_tap_fn, .tap_arg = &t};
    link_pair p;
    CHECK_OK(link_pair_new(&p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(&p, cert_of(0, 0), cert_of(0, 1), DSRTP_HASH_SHA256));
    CHECK_OK(link_pair_start(&p));
    link_run(&p.l, p.d, RUN_LIMIT, link_both_connected);
    CHECK(link_both_connected(&p.l));
    /* The server answered the client's second final flight with a copy of its first. */
    CHECK(t.server_flights >= 2);
    CHECK(t.client_flights >= 2);
    CHECK_EQ(t.server_len[1], t.server_len[0]);
    CHECK_MEM(t.server[1], t.server[0], t.server_len[0]);
    CHECK(link_dgram_has(t.server[0], t.server_len[0], RT_HANDSHAKE, 1, -1));
    /* The client's retransmission is a new record, under a new sequence number. */
    CHECK(t.client_len[1] != t.client_len[0] ||
          memcmp(t.client[1], t.client[0], t.client_len[0]) != 0);
    /* Replays of either of the client's flights, after the resend gap, draw nothing. */
    sleep_for(DSRTP_POST_RESEND_GAP + 10000);
    dsrtp_time now = link_now();
    for (int k = 0; k < 2; k++) {
        CHECK_OK(dsrtp_dtls_handle_datagram(p.d[1], now, t.client[k], t.client_len[k]));
        uint8_t buf[LINK_MTU];
        dsrtp_dtls_output out;
        CHECK_OK(dsrtp_dtls_poll_output(p.d[1], buf, sizeof buf, &out));
        CHECK_EQ(out.kind, DSRTP_OUT_IDLE);
    }
    CHECK_EQ(dsrtp_dtls_get_state(p.d[1]), DSRTP_DTLS_STATE_CONNECTED);
    link_pair_free(&p);
}

RUN_TESTS(TEST(test_dtls_connected_endpoint_holds_under_1_kib),
          TEST(test_dtls_events_of_one_datagram_all_come_out_in_order),
          TEST(test_dtls_fatal_alert_mid_handshake_comes_out_as_alert_then_failure),
          TEST(test_dtls_compacted_pairs_agree_and_close_for_every_profile_and_cert_kind),
          TEST(test_dtls_compacted_server_resends_its_final_flight_bytes_and_ignores_replays))
