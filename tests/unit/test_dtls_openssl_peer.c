/* A compacted endpoint against OpenSSL's own DTLS 1.2 stack in this process: the peer is a
 * plain SSL object (OpenSSL's record layer, key schedule and exporter, none of ours) on the
 * same datagram BIO, so every datagram is seen and can be dropped, damaged or replayed.
 *
 * Once connected, our endpoint has freed its SSL object and speaks epoch 1 with keys of its
 * own making (src/dtls/compact.c, post.c). OpenSSL is the oracle: it must accept our
 * close_notify and refuse a damaged copy; we must accept its close_notify and refuse damaged
 * copies; our exporter must give OpenSSL's bytes; and a server whose final flight was lost
 * must answer OpenSSL's retransmitted flight with the very same datagram, once. Every
 * AEAD suite our certificates allow is run, in both roles, across the four DTLS-SRTP
 * profiles. Records we forge with the peer's keys exercise the replay window. */
#include "harness/check.h"

#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dtls/dtls_int.h"

#define MTU 1200
#define DGRAM_MAX 2048
#define ROUNDS 32
#define EXPORT_LEN 88
#define LABEL "EXTRACTOR-dtls_srtp"
#define RT_ALERT 21
#define ALERT_WARNING 1
#define ALERT_CLOSE_NOTIFY 0
#define ALERT_USER_CANCELED 90
/* The OpenSSL peer's first retransmission timer. OpenSSL 3.0 takes a timer with under 15 ms
 * left as expired: this leaves 45 ms, far more than a handshake in memory needs. */
#define PEER_RTO_US 60000u

static dsrtp_cert *certs[2][2]; /* [ECDSA, RSA][ours, the peer's] */

static void free_certs(void)
{
    for (int k = 0; k < 2; k++) {
        dsrtp_cert_free(certs[k][0]);
        dsrtp_cert_free(certs[k][1]);
    }
}

static dsrtp_cert *cert_of(int kind, int whose)
{
    if (certs[0][0] == NULL) {
        for (int k = 0; k < 2; k++) {
            for (int w = 0; w < 2; w++) {
                if (dsrtp_cert_generate(k == 0 ? DSRTP_CERT_ECDSA_P256 : DSRTP_CERT_RSA, 0,
                                        &certs[k][w]) != DSRTP_OK) {
                    abort();
                }
            }
        }
        if (atexit(free_certs) != 0) {
            abort();
        }
    }
    return certs[kind][whose];
}

static const struct {
    const char *name;
    int kind;       /* 0 ECDSA, 1 RSA */
    size_t close_len; /* our close_notify record: header, explicit nonce, alert, tag */
} suites[] = {
    {"ECDHE-ECDSA-AES128-GCM-SHA256", 0, 13 + 8 + 2 + 16},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", 0, 13 + 8 + 2 + 16},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", 0, 13 + 2 + 16},
    {"ECDHE-RSA-AES128-GCM-SHA256", 1, 13 + 8 + 2 + 16},
    {"ECDHE-RSA-AES256-GCM-SHA384", 1, 13 + 8 + 2 + 16},
    {"ECDHE-RSA-CHACHA20-POLY1305", 1, 13 + 2 + 16},
};
#define SUITE_COUNT (sizeof suites / sizeof suites[0])

static const struct {
    const char *openssl;
    dsrtp_profile ours;
} profiles[] = {
    {"SRTP_AEAD_AES_256_GCM", DSRTP_AEAD_AES_256_GCM},
    {"SRTP_AEAD_AES_128_GCM", DSRTP_AEAD_AES_128_GCM},
    {"SRTP_AES128_CM_SHA1_80", DSRTP_AES_CM_128_HMAC_SHA1_80},
    {"SRTP_AES128_CM_SHA1_32", DSRTP_AES_CM_128_HMAC_SHA1_32},
};

/* ---- the OpenSSL peer ---- */

typedef struct peer {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO_METHOD *meth;
    dsrtp_dgram_bio q;
    bool done;
} peer;

static int accept_any(X509_STORE_CTX *store, void *arg)
{
    (void)store;
    (void)arg;
    return 1; /* the certificate is checked below, by fingerprint, on our side */
}

static unsigned int peer_timer(SSL *ssl, unsigned int previous_us)
{
    (void)ssl;
    return previous_us == 0 ? PEER_RTO_US : 2 * previous_us;
}

static bool peer_ctx(peer *p, const dsrtp_cert *c, const char *suite, const char *srtp)
{
    SSL_CTX *x = p->ctx;
    if (SSL_CTX_set_min_proto_version(x, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(x, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(x, c->x509) != 1 || SSL_CTX_use_PrivateKey(x, c->pkey) != 1 ||
        SSL_CTX_set_cipher_list(x, suite) != 1 || SSL_CTX_set_tlsext_use_srtp(x, srtp) != 0) {
        return false;
    }
    SSL_CTX_set_options(x, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
    SSL_CTX_set_read_ahead(x, 1);
    SSL_CTX_set_verify(x, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(x, accept_any, NULL);
    return true;
}

static bool peer_new(peer *p, const dsrtp_cert *c, bool client, const char *suite,
                     const char *srtp)
{
    *p = (peer){0};
    p->ctx = SSL_CTX_new(DTLS_method());
    p->meth = dsrtp_dgram_bio_method_new();
    if (p->ctx == NULL || p->meth == NULL || dsrtp_dgram_bio_init(&p->q, MTU) != DSRTP_OK ||
        !peer_ctx(p, c, suite, srtp)) {
        return false;
    }
    p->ssl = SSL_new(p->ctx);
    BIO *b = p->ssl != NULL ? dsrtp_dgram_bio_new(&p->q, p->meth) : NULL;
    if (b == NULL) {
        return false;
    }
    SSL_set_bio(p->ssl, b, b);
    SSL_set_mtu(p->ssl, MTU);
    DTLS_set_timer_cb(p->ssl, peer_timer);
    if (client) {
        SSL_set_connect_state(p->ssl);
    } else {
        SSL_set_accept_state(p->ssl);
    }
    return true;
}

static void peer_free(peer *p)
{
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
    dsrtp_dgram_bio_clear(&p->q);
    BIO_meth_free(p->meth);
    ERR_clear_error();
    *p = (peer){0};
}

/* Takes the peer's next datagram; false when it has none. */
static bool peer_pop(peer *p, uint8_t *buf, size_t *len)
{
    if (p->q.out_count == 0) {
        return false;
    }
    const dsrtp_dgram *g = &p->q.out[p->q.out_head];
    memcpy(buf, g->data, g->len);
    *len = g->len;
    p->q.out_head = (p->q.out_head + 1) % DSRTP_DTLS_QUEUE;
    p->q.out_count--;
    return true;
}

static void peer_handshake(peer *p)
{
    if (!p->done && SSL_do_handshake(p->ssl) == 1) {
        p->done = true;
    }
    ERR_clear_error();
}

/* Hands one datagram to the peer: to its handshake, or once done to SSL_read, whose
 * SSL_get_error verdict is returned (SSL_ERROR_NONE for application data). */
static int peer_feed(peer *p, const uint8_t *dg, size_t len)
{
    p->q.in = dg;
    p->q.in_len = len;
    int verdict = SSL_ERROR_NONE;
    if (!p->done) {
        peer_handshake(p);
    } else {
        uint8_t buf[256];
        int r = SSL_read(p->ssl, buf, sizeof buf);
        verdict = r > 0 ? SSL_ERROR_NONE : SSL_get_error(p->ssl, r);
        ERR_clear_error();
    }
    p->q.in = NULL;
    p->q.in_len = 0;
    return verdict;
}

/* ---- our endpoint ---- */

typedef struct ours {
    dsrtp_dtls *d;
    bool connected;
    bool failed;
    bool closed;
    size_t alerts;
    size_t events;
    dsrtp_dtls_event last;
    size_t dropped; /* datagrams we sent after connecting that were not delivered */
    uint8_t drop[DGRAM_MAX]; /* the last of them */
    size_t drop_len;
} ours;

static void note_event(ours *o, const dsrtp_dtls_event *e)
{
    o->events++;
    o->last = *e;
    o->connected |= e->kind == DSRTP_DTLS_EV_CONNECTED;
    o->failed |= e->kind == DSRTP_DTLS_EV_FAILED;
    o->closed |= e->kind == DSRTP_DTLS_EV_CLOSED;
    o->alerts += e->kind == DSRTP_DTLS_EV_ALERT;
}

/* Drains our endpoint. Datagrams go to the peer unless drop_after_connect and we are
 * connected (our final flight, as a server); those are kept in o->drop. Returns the number
 * of datagrams drained. */
static size_t ours_drain(ours *o, peer *p, bool drop_after_connect)
{
    size_t n = 0;
    uint8_t buf[DGRAM_MAX];
    dsrtp_dtls_output out;
    while (dsrtp_dtls_poll_output(o->d, buf, sizeof buf, &out) == DSRTP_OK &&
           out.kind != DSRTP_OUT_IDLE) {
        if (out.kind == DSRTP_OUT_EVENT) {
            note_event(o, &out.event);
            continue;
        }
        n++;
        if (drop_after_connect && o->connected) {
            o->dropped++;
            memcpy(o->drop, buf, out.len);
            o->drop_len = out.len;
        } else if (p != NULL) {
            (void)peer_feed(p, buf, out.len);
        }
    }
    return n;
}

static dsrtp_err ours_feed(ours *o, const uint8_t *dg, size_t len)
{
    return dsrtp_dtls_handle_datagram(o->d, 1000, dg, len);
}

/* Every datagram from the peer so far goes to us. */
static void peer_to_ours(peer *p, ours *o)
{
    uint8_t buf[DGRAM_MAX];
    size_t len = 0;
    while (peer_pop(p, buf, &len)) {
        (void)ours_feed(o, buf, len);
    }
}

typedef struct pair {
    ours o;
    peer p;
    bool we_client;
    size_t suite;
    size_t profile;
} pair;

/* Sets up our endpoint (role per we_client) and the OpenSSL peer on suite and profile. */
static bool pair_new(pair *x, size_t suite, size_t profile, bool we_client)
{
    *x = (pair){.we_client = we_client, .suite = suite, .profile = profile};
    int kind = suites[suite].kind;
    if (!peer_new(&x->p, cert_of(kind, 1), !we_client, suites[suite].name,
                  profiles[profile].openssl)) {
        return false;
    }
    dsrtp_dtls_cfg cfg;
    dsrtp_dtls_cfg_init(&cfg);
    cfg.cert = cert_of(kind, 0);
    cfg.role = we_client ? DSRTP_DTLS_CLIENT : DSRTP_DTLS_SERVER;
    cfg.profiles[0] = profiles[profile].ours;
    cfg.profile_count = 1;
    dsrtp_fingerprint fp;
    return dsrtp_dtls_new(&cfg, &x->o.d) == DSRTP_OK &&
           dsrtp_cert_fingerprint(cert_of(kind, 1), DSRTP_HASH_SHA256, &fp) == DSRTP_OK &&
           dsrtp_dtls_set_remote_fingerprints(x->o.d, &fp, 1) == DSRTP_OK &&
           dsrtp_dtls_start(x->o.d, 1000) == DSRTP_OK;
}

static void pair_free(pair *x)
{
    dsrtp_dtls_free(x->o.d);
    peer_free(&x->p);
}

/* Exchanges datagrams until both sides are done (or ROUNDS pass). */
static void pair_handshake(pair *x, bool drop_our_final_flight)
{
    if (!x->we_client) {
        peer_handshake(&x->p); /* its ClientHello */
    }
    for (int round = 0; round < ROUNDS && !(x->o.connected && x->p.done); round++) {
        peer_to_ours(&x->p, &x->o);
        ours_drain(&x->o, &x->p, drop_our_final_flight);
    }
}

static void check_connected(pair *x)
{
    CHECK(x->o.connected && !x->o.failed);
    CHECK(x->p.done);
    CHECK_EQ(dsrtp_dtls_get_state(x->o.d), DSRTP_DTLS_STATE_CONNECTED);
    CHECK_EQ(dsrtp_dtls_next_deadline(x->o.d), DSRTP_TIME_NEVER);
    CHECK_EQ(strcmp(SSL_get_cipher_name(x->p.ssl), suites[x->suite].name), 0);
    /* Our exporter, from kept secrets, against OpenSSL's on its live session. */
    uint8_t mine[EXPORT_LEN];
    uint8_t theirs[EXPORT_LEN];
    CHECK_OK(dsrtp_dtls_export(x->o.d, mine, sizeof mine));
    CHECK(SSL_export_keying_material(x->p.ssl, theirs, sizeof theirs, LABEL, strlen(LABEL),
                                     NULL, 0, 0) == 1);
    CHECK_MEM(mine, theirs, sizeof mine);
    /* RFC 5764 §4.2 layout: client key | server key | client salt | server salt. */
    dsrtp_dtls_keys k;
    CHECK_OK(dsrtp_dtls_get_keys(x->o.d, &k));
    CHECK_EQ(k.profile, profiles[x->profile].ours);
    size_t kl = k.key_len;
    size_t sl = k.salt_len;
    CHECK_MEM(k.local_key, theirs + (x->we_client ? 0 : kl), kl);
    CHECK_MEM(k.remote_key, theirs + (x->we_client ? kl : 0), kl);
    CHECK_MEM(k.local_salt, theirs + 2 * kl + (x->we_client ? 0 : sl), sl);
    CHECK_MEM(k.remote_salt, theirs + 2 * kl + (x->we_client ? sl : 0), sl);
    /* The peer's certificate, under every hash, survived the SSL object. */
    for (dsrtp_hash h = DSRTP_HASH_SHA1; h <= DSRTP_HASH_SHA512; h++) {
        dsrtp_fingerprint want;
        dsrtp_fingerprint got;
        CHECK_OK(dsrtp_cert_fingerprint(cert_of(suites[x->suite].kind, 1), h, &want));
        CHECK_OK(dsrtp_dtls_get_remote_fingerprint(x->o.d, h, &got));
        CHECK_EQ(got.hash, h);
        CHECK_EQ(got.len, want.len);
        CHECK_MEM(got.value, want.value, want.len);
    }
    dsrtp_fingerprint none;
    CHECK_ERR(dsrtp_dtls_get_remote_fingerprint(x->o.d, DSRTP_HASH_NONE, &none),
              DSRTP_ERR_INVALID_ARG);
}

/* Each run: suite i, profile i mod 4, and the role. */
static bool run_case(size_t i, bool we_client, void (*body)(pair *x))
{
    int before = check_failures_;
    pair x;
    if (!pair_new(&x, i, i % 4, we_client)) {
        fprintf(stderr, "cannot set up %s\n", suites[i].name);
        check_failures_++;
        pair_free(&x);
        return false;
    }
    pair_handshake(&x, false);
    check_connected(&x);
    if (check_failures_ == before) {
        body(&x);
    }
    if (check_failures_ != before) {
        fprintf(stderr, "  in %s, %s, we are the %s\n", suites[i].name,
                profiles[i % 4].openssl, we_client ? "client" : "server");
    }
    pair_free(&x);
    return check_failures_ == before;
}

static void for_every_case(void (*body)(pair *x))
{
    for (size_t i = 0; i < SUITE_COUNT; i++) {
        for (int we_client = 0; we_client < 2; we_client++) {
            if (!run_case(i, we_client != 0, body)) {
                return;
            }
        }
    }
}

/* ---- close_notify both ways ---- */

/* Our close_notify: one epoch-1 alert record of the suite's size, with the next sequence
 * number after our Finished (0). OpenSSL drops a copy with a flipped tag bit or sequence
 * number bit, then takes the genuine one as the end of the connection. */
static void our_close_reaches_openssl(pair *x)
{
    CHECK_OK(dsrtp_dtls_close(x->o.d));
    CHECK_EQ(dsrtp_dtls_get_state(x->o.d), DSRTP_DTLS_STATE_CLOSED);
    uint8_t rec[DGRAM_MAX];
    dsrtp_dtls_output out;
    CHECK_OK(dsrtp_dtls_poll_output(x->o.d, rec, sizeof rec, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_DATAGRAM);
    size_t len = out.len;
    CHECK_EQ(len, suites[x->suite].close_len);
    static const uint8_t hdr[11] = {RT_ALERT, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1};
    CHECK_MEM(rec, hdr, sizeof hdr);
    CHECK_EQ(rec[11] << 8 | rec[12], len - 13);
    CHECK_OK(dsrtp_dtls_poll_output(x->o.d, rec + len, sizeof rec - len, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_IDLE); /* one datagram, and no timer after it */
    CHECK_EQ(out.deadline, DSRTP_TIME_NEVER);
    uint8_t bad[DGRAM_MAX];
    const size_t flips[] = {len - 1, 10, 13};
    for (size_t i = 0; i < 3; i++) {
        memcpy(bad, rec, len);
        bad[flips[i]] ^= 0x01;
        CHECK_EQ(peer_feed(&x->p, bad, len), SSL_ERROR_WANT_READ);
        CHECK_EQ(SSL_get_shutdown(x->p.ssl) & SSL_RECEIVED_SHUTDOWN, 0);
    }
    CHECK_EQ(peer_feed(&x->p, rec, len), SSL_ERROR_ZERO_RETURN);
    CHECK(SSL_get_shutdown(x->p.ssl) & SSL_RECEIVED_SHUTDOWN);
    dsrtp_dtls_keys k;
    CHECK_ERR(dsrtp_dtls_get_keys(x->o.d, &k), DSRTP_ERR_INVALID_ARG);
}

static void test_dtls_compacted_close_notify_is_accepted_by_openssl_in_every_suite(void)
{
    for_every_case(our_close_reaches_openssl);
}

/* OpenSSL's close_notify: damaged copies do nothing; the genuine one gives the same events
 * as before compaction (the alert, then CLOSED); a replay of it gives nothing more. */
static void openssl_close_reaches_us(pair *x)
{
    CHECK(SSL_shutdown(x->p.ssl) >= 0);
    ERR_clear_error();
    uint8_t rec[DGRAM_MAX];
    size_t len = 0;
    CHECK(peer_pop(&x->p, rec, &len));
    CHECK(len > 13 && rec[0] == RT_ALERT);
    uint8_t bad[DGRAM_MAX];
    const size_t flips[] = {len - 1, 10, len - 17};
    for (size_t i = 0; i < 3; i++) {
        memcpy(bad, rec, len);
        bad[flips[i]] ^= 0x80;
        CHECK_OK(ours_feed(&x->o, bad, len));
        CHECK_EQ(ours_drain(&x->o, NULL, false), 0);
        CHECK_EQ(x->o.events, 1); /* CONNECTED only */
        CHECK_EQ(dsrtp_dtls_get_state(x->o.d), DSRTP_DTLS_STATE_CONNECTED);
    }
    CHECK_OK(ours_feed(&x->o, rec, len));
    CHECK_EQ(ours_drain(&x->o, NULL, false), 0); /* nothing is sent back */
    CHECK_EQ(x->o.events, 3);
    CHECK_EQ(x->o.alerts, 1);
    CHECK(x->o.closed && !x->o.failed);
    CHECK_EQ(x->o.last.kind, DSRTP_DTLS_EV_CLOSED);
    CHECK_EQ(dsrtp_dtls_get_state(x->o.d), DSRTP_DTLS_STATE_CLOSED);
    CHECK_OK(ours_feed(&x->o, rec, len));
    CHECK_EQ(ours_drain(&x->o, NULL, false), 0);
    CHECK_EQ(x->o.events, 3);
    uint8_t m[EXPORT_LEN];
    CHECK_ERR(dsrtp_dtls_export(x->o.d, m, sizeof m), DSRTP_ERR_INVALID_ARG);
}

static void test_dtls_compacted_endpoint_sees_openssl_close_notify_in_every_suite(void)
{
    for_every_case(openssl_close_reaches_us);
}

/* ---- forged, replayed and reordered alerts ---- */

/* Seals an alert as the peer would: f holds the peer's write keys; seq is the record's. */
static size_t forge_alert(dsrtp_dtls_post *f, uint64_t seq, uint8_t level, uint8_t desc,
                          uint8_t *out)
{
    const uint8_t alert[2] = {level, desc};
    size_t len = 0;
    f->write_seq = seq;
    if (dsrtp_post_seal(f, RT_ALERT, alert, sizeof alert, out, DGRAM_MAX, &len) != DSRTP_OK) {
        return 0;
    }
    return len;
}

/* Feeds one record; returns how many events came out of it (refused framing: none). */
static size_t events_from(ours *o, const uint8_t *rec, size_t len)
{
    size_t before = o->events;
    dsrtp_err e = ours_feed(o, rec, len);
    if (e != DSRTP_OK && e != DSRTP_ERR_MALFORMED) {
        return (size_t)-1;
    }
    (void)ours_drain(o, NULL, false);
    return o->events - before;
}

static void forged_and_replayed_alerts(pair *x)
{
    /* The peer's write keys, derived the way we derive ours, from its own SSL object. */
    dsrtp_dtls_post f = {0};
    CHECK_OK(dsrtp_post_from_ssl(x->p.ssl, !x->we_client, &x->p.q, &f));
    uint64_t s = f.write_seq; /* the peer's next sequence number */
    uint8_t rec[DGRAM_MAX];
    size_t len = forge_alert(&f, s, ALERT_WARNING, ALERT_USER_CANCELED, rec);
    CHECK(len > 0);
    /* A flipped bit in any byte but the type and length (which framing alone refuses):
     * version, epoch, sequence number, explicit nonce, ciphertext, tag. Nothing. */
    for (size_t at = 1; at < len; at++) {
        if (at == 11 || at == 12) {
            continue;
        }
        rec[at] ^= 0x04;
        size_t n = events_from(&x->o, rec, len);
        rec[at] ^= 0x04;
        if (n != 0) {
            fprintf(stderr, "flipped byte %zu was taken\n", at);
        }
        CHECK_EQ(n, 0);
    }
    /* Genuine: one warning alert, still connected. */
    CHECK_EQ(events_from(&x->o, rec, len), 1);
    CHECK_EQ(x->o.last.kind, DSRTP_DTLS_EV_ALERT);
    CHECK_EQ(x->o.last.alert, ALERT_USER_CANCELED);
    CHECK(!x->o.last.fatal);
    CHECK_EQ(dsrtp_dtls_get_state(x->o.d), DSRTP_DTLS_STATE_CONNECTED);
    /* Replayed: nothing. The peer's Finished (sequence 0) was read before compaction. */
    CHECK_EQ(events_from(&x->o, rec, len), 0);
    len = forge_alert(&f, 0, ALERT_WARNING, ALERT_USER_CANCELED, rec);
    CHECK_EQ(events_from(&x->o, rec, len), 0);
    /* Far ahead, then late but inside the 64-record window, then too late. */
    len = forge_alert(&f, s + 100, ALERT_WARNING, ALERT_USER_CANCELED, rec);
    CHECK_EQ(events_from(&x->o, rec, len), 1);
    len = forge_alert(&f, s + 37, ALERT_WARNING, ALERT_USER_CANCELED, rec);
    CHECK_EQ(events_from(&x->o, rec, len), 1);
    CHECK_EQ(events_from(&x->o, rec, len), 0);
    len = forge_alert(&f, s + 36, ALERT_WARNING, ALERT_USER_CANCELED, rec);
    CHECK_EQ(events_from(&x->o, rec, len), 0);
    /* Another epoch under the right keys: not ours to read. */
    len = forge_alert(&f, s + 101, ALERT_WARNING, ALERT_USER_CANCELED, rec);
    rec[4] = 2;
    CHECK_EQ(events_from(&x->o, rec, len), 0);
    CHECK_EQ(dsrtp_dtls_get_state(x->o.d), DSRTP_DTLS_STATE_CONNECTED);
    /* A fatal alert ends it as before compaction: the alert, then FAILED by alert. */
    len = forge_alert(&f, s + 102, 2, 40, rec);
    CHECK_EQ(events_from(&x->o, rec, len), 2);
    CHECK(x->o.failed);
    CHECK_EQ(x->o.last.kind, DSRTP_DTLS_EV_FAILED);
    CHECK_EQ(x->o.last.failure, DSRTP_DTLS_FAIL_ALERT);
    CHECK_EQ(x->o.last.alert, 40);
    CHECK_EQ(dsrtp_dtls_get_failure(x->o.d), DSRTP_DTLS_FAIL_ALERT);
    dsrtp_post_clear(&f);
}

static void test_dtls_compacted_endpoint_drops_forged_and_replayed_alerts(void)
{
    for_every_case(forged_and_replayed_alerts);
}

/* ---- the server's lost final flight ---- */

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

/* We are the server; our CCS and Finished never reach OpenSSL's client. When its timer
 * runs out it resends its final flight; we answer with the very bytes that were lost, and it
 * completes. A replay of its flight, even after our resend gap, draws nothing. */
static void test_dtls_compacted_server_resends_lost_final_flight_to_openssl(void)
{
    for (size_t i = 0; i < SUITE_COUNT; i++) {
        int before = check_failures_;
        pair x;
        CHECK(pair_new(&x, i, i % 4, false));
        pair_handshake(&x, true);
        CHECK(x.o.connected);
        CHECK(!x.p.done);
        CHECK_EQ(x.o.dropped, 1); /* ChangeCipherSpec and Finished in one datagram */
        uint8_t lost[DGRAM_MAX];
        size_t lost_len = x.o.drop_len;
        memcpy(lost, x.o.drop, lost_len);
        CHECK(lost_len > 13 && lost[0] == 20);
        sleep_us(PEER_RTO_US + 10000);
        CHECK(DTLSv1_handle_timeout(x.p.ssl) > 0);
        uint8_t flight[8][DGRAM_MAX];
        size_t flight_len[8];
        size_t n = 0;
        while (n < 8 && peer_pop(&x.p, flight[n], &flight_len[n])) {
            n++;
        }
        CHECK(n >= 1);
        for (size_t k = 0; k < n; k++) {
            CHECK_OK(ours_feed(&x.o, flight[k], flight_len[k]));
        }
        CHECK_EQ(ours_drain(&x.o, NULL, true), 1);
        CHECK_EQ(x.o.dropped, 2);
        CHECK_EQ(x.o.drop_len, lost_len);
        CHECK_MEM(x.o.drop, lost, lost_len);
        CHECK_EQ(peer_feed(&x.p, lost, lost_len), SSL_ERROR_NONE);
        CHECK(x.p.done);
        uint8_t m[EXPORT_LEN];
        uint8_t theirs[EXPORT_LEN];
        CHECK_OK(dsrtp_dtls_export(x.o.d, m, sizeof m));
        CHECK(SSL_export_keying_material(x.p.ssl, theirs, sizeof theirs, LABEL, strlen(LABEL),
                                         NULL, 0, 0) == 1);
        CHECK_MEM(m, theirs, sizeof m);
        sleep_us(DSRTP_POST_RESEND_GAP + 10000);
        for (size_t k = 0; k < n; k++) {
            CHECK_OK(ours_feed(&x.o, flight[k], flight_len[k]));
        }
        CHECK_EQ(ours_drain(&x.o, NULL, true), 0);
        CHECK_EQ(dsrtp_dtls_get_state(x.o.d), DSRTP_DTLS_STATE_CONNECTED);
        if (check_failures_ != before) {
            fprintf(stderr, "  in %s\n", suites[i].name);
        }
        pair_free(&x);
        if (check_failures_ != before) {
            return;
        }
    }
}

RUN_TESTS(TEST(test_dtls_compacted_close_notify_is_accepted_by_openssl_in_every_suite),
          TEST(test_dtls_compacted_endpoint_sees_openssl_close_notify_in_every_suite),
          TEST(test_dtls_compacted_endpoint_drops_forged_and_replayed_alerts),
          TEST(test_dtls_compacted_server_resends_lost_final_flight_to_openssl))
