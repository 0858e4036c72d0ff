/* One DTLS-SRTP endpoint: drives OpenSSL's DTLS 1.2 state machine from fed datagrams and
 * time, checks the peer's certificate against the SDP fingerprints inside the handshake,
 * and exports the SRTP keys (RFC 5764 §4.2).
 *
 * Timers: OpenSSL 3.0 decides whether a retransmission timer has expired with its own
 * clock (gettimeofday); it cannot be told the caller's time. This layer therefore reports a
 * deadline of (caller's now + OpenSSL's remaining time), sets the initial interval and the
 * doubling through DTLS_set_timer_cb, and enforces the total handshake timeout on the
 * caller's clock. Limitation: a caller whose clock runs faster than real time (a simulation)
 * sees retransmissions only as fast as real time passes.
 *
 * Compaction: the SSL object is freed the moment the handshake completes (compact.c keeps
 * what is still needed), and the rest of the handshake state (the datagram ring,
 * fingerprints, held datagrams, the config copy, the certificate reference) once its output
 * has been drained. A connected endpoint then answers only three things through post.c: the
 * peer's retransmitted final flight (a server resends its own, from a copy), its alerts
 * (close_notify included), and our close. No timer runs after the handshake. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <sys/time.h>

#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>

#include "dtls/dtls_int.h"

#define HELD_MAX 8          /* datagrams held before the role is known */
#define HELD_BYTES_MAX 4096 /* largest datagram held */
/* Events queued between two polls (16 bytes each; the detail text is made when polled).
 * In one handle_* call OpenSSL reports at most five alerts (it fails the handshake on the
 * fifth warning: MAX_WARN_ALERT_COUNT), then CONNECTED or FAILED; after CONNECTED,
 * post_receive stops reading records while fewer than EVENTS_RESERVE slots are free, so the
 * peer's alerts and the CLOSED or FAILED they bring always fit: nothing is dropped. */
#define EVENTS_MAX 8
#define EVENTS_RESERVE 2 /* an alert, and the CLOSED or FAILED it may bring */
#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

#define HS_FINISHED 20      /* handshake message type (RFC 5246 §7.4) */
#define HS_HEADER_LEN 12    /* DTLS handshake header (RFC 6347 §4.2.2) */
#define POST_PLAIN_MAX 32   /* an alert (2) or a Finished (12 + 12) */
#define ALERT_WARNING 1
#define ALERT_FATAL 2
#define ALERT_CLOSE_NOTIFY 0

/* What only the handshake needs. The SSL object goes when the handshake completes, the rest
 * once the ring is drained. */
typedef struct dtls_hs {
    dsrtp_dtls_cfg cfg; /* cfg.cert is cert */
    dsrtp_cert *cert;   /* our reference; its SSL_CTX and BIO method serve ssl */
    dsrtp_time deadline; /* the total handshake timeout, on the caller's clock */
    SSL *ssl; /* NULL once compacted */
    dsrtp_dgram_bio q;
    dsrtp_fingerprint fps[DSRTP_DTLS_MAX_FINGERPRINTS];
    size_t fp_count;
    uint8_t *held[HELD_MAX];
    size_t held_len[HELD_MAX];
    size_t held_count;
    dsrtp_dtls_failure verify_failure; /* set by the verify callback */
    bool peer_verified;
    uint8_t cookie_nonce[16];
    /* OpenSSL's reason for a failed handshake, which the FAILED event points at: a failed
     * endpoint keeps its handshake state until it is freed. */
    char fail_detail[sizeof ((dsrtp_dtls_event *)0)->detail];
} dtls_hs;

/* A queued event, its detail text made only when it is polled: a static string, or (text
 * NULL) the alert's description. */
typedef struct dtls_event {
    const char *text; /* static text (ours, profile names) or hs->fail_detail */
    uint8_t kind;     /* dsrtp_dtls_event_kind */
    uint8_t failure;  /* dsrtp_dtls_failure */
    int16_t alert;
    bool fatal;
} dtls_event;

/* A connected endpoint is this and its post state's copy of our final flight: the SRTP keys
 * are not kept, dsrtp_dtls_get_keys exports them again from the post state. */
struct dsrtp_dtls {
    dtls_hs *hs; /* NULL once the handshake is over and its output drained */
    dsrtp_time now;
    uint8_t state;   /* dsrtp_dtls_state */
    uint8_t role;    /* dsrtp_dtls_role */
    uint8_t failure; /* dsrtp_dtls_failure */
    uint8_t profile; /* dsrtp_profile agreed; set once CONNECTED */
    bool started;
    bool last_alert_fatal;
    int16_t last_alert; /* -1: none */
    uint8_t ev_head;
    uint8_t ev_count;
    dtls_event events[EVENTS_MAX];
    dsrtp_dtls_post post; /* filled when the handshake completes */
};

/* The SSL object while the handshake runs (and after it failed); NULL once compacted. */
static SSL *ssl_of(const dsrtp_dtls *d)
{
    return d->hs != NULL ? d->hs->ssl : NULL;
}

static const struct {
    dsrtp_profile profile;
    unsigned long id;
    const char *openssl_name;
} srtp_ids[] = {
    {DSRTP_AEAD_AES_256_GCM, SRTP_AEAD_AES_256_GCM, "SRTP_AEAD_AES_256_GCM"},
    {DSRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_128_GCM, "SRTP_AEAD_AES_128_GCM"},
    {DSRTP_AES_CM_128_HMAC_SHA1_80, SRTP_AES128_CM_SHA1_80, "SRTP_AES128_CM_SHA1_80"},
    {DSRTP_AES_CM_128_HMAC_SHA1_32, SRTP_AES128_CM_SHA1_32, "SRTP_AES128_CM_SHA1_32"},
};
#define SRTP_ID_COUNT (sizeof srtp_ids / sizeof srtp_ids[0])
/* RFC 5764 §4.2: the exporter's output for the largest profile. */
#define SRTP_MAT_MAX (2 * (DSRTP_SRTP_MAX_KEY_LEN + DSRTP_SRTP_MAX_SALT_LEN))

static const char *openssl_profile_name(dsrtp_profile p)
{
    for (size_t i = 0; i < SRTP_ID_COUNT; i++) {
        if (srtp_ids[i].profile == p) {
            return srtp_ids[i].openssl_name;
        }
    }
    return NULL;
}

void dsrtp_dtls_cfg_init(dsrtp_dtls_cfg *cfg)
{
    if (cfg == NULL) {
        return;
    }
    *cfg = (dsrtp_dtls_cfg){0};
    for (size_t i = 0; i < SRTP_ID_COUNT; i++) {
        cfg->profiles[i] = srtp_ids[i].profile;
    }
    cfg->profile_count = SRTP_ID_COUNT;
    cfg->mtu = DSRTP_DTLS_DEFAULT_MTU;
    cfg->initial_rto = DSRTP_DTLS_DEFAULT_RTO;
    cfg->handshake_timeout = DSRTP_DTLS_DEFAULT_TIMEOUT;
}

const char *dsrtp_dtls_failure_name(dsrtp_dtls_failure f)
{
    switch (f) {
    case DSRTP_DTLS_FAIL_NONE: return "none";
    case DSRTP_DTLS_FAIL_FINGERPRINT: return "peer certificate does not match the fingerprint";
    case DSRTP_DTLS_FAIL_NO_FINGERPRINT: return "no fingerprint to check the peer against";
    case DSRTP_DTLS_FAIL_NO_PROFILE: return "no SRTP profile in common";
    case DSRTP_DTLS_FAIL_TIMEOUT: return "handshake timed out";
    case DSRTP_DTLS_FAIL_ALERT: return "peer sent a fatal alert";
    case DSRTP_DTLS_FAIL_PROTOCOL: return "handshake failed";
    }
    return "unknown";
}

/* ---- events ---- */

static dtls_event *push_event(dsrtp_dtls *d, dsrtp_dtls_event_kind kind, const char *text)
{
    if (d->ev_count == EVENTS_MAX) {
        return NULL; /* see EVENTS_MAX: cannot happen; keep the earliest */
    }
    dtls_event *e = &d->events[(d->ev_head + d->ev_count) % EVENTS_MAX];
    *e = (dtls_event){.kind = (uint8_t)kind, .alert = -1, .text = text};
    d->ev_count++;
    return e;
}

/* The public form of a queued event, detail text included. */
static void event_out(const dtls_event *e, dsrtp_dtls_event *out)
{
    *out = (dsrtp_dtls_event){.kind = (dsrtp_dtls_event_kind)e->kind,
                              .failure = (dsrtp_dtls_failure)e->failure,
                              .alert = e->alert,
                              .fatal = e->fatal};
    if (e->text != NULL) {
        snprintf(out->detail, sizeof out->detail, "%s", e->text);
    } else if (e->kind == DSRTP_DTLS_EV_ALERT) {
        snprintf(out->detail, sizeof out->detail, "%s alert: %s",
                 e->fatal ? "fatal" : "warning", SSL_alert_desc_string_long(e->alert));
    } else {
        snprintf(out->detail, sizeof out->detail, "fatal alert from peer: %s",
                 SSL_alert_desc_string_long((SSL3_AL_FATAL << 8) | e->alert));
    }
}

/* detail must outlive the event (static text, or hs->fail_detail); NULL (for a fatal alert
 * from the peer) names the alert when the event is polled. */
static void fail(dsrtp_dtls *d, dsrtp_dtls_failure why, const char *detail)
{
    if (d->state == DSRTP_DTLS_STATE_FAILED) {
        return;
    }
    d->state = DSRTP_DTLS_STATE_FAILED;
    d->failure = (uint8_t)why;
    dsrtp_post_wipe_secrets(&d->post);
    bool by_alert = why == DSRTP_DTLS_FAIL_ALERT && detail == NULL;
    dtls_event *e = push_event(d, DSRTP_DTLS_EV_FAILED, detail != NULL || by_alert ? detail : "");
    if (e != NULL) {
        e->failure = (uint8_t)why;
        e->alert = why == DSRTP_DTLS_FAIL_ALERT ? d->last_alert : -1;
    }
}

/* ---- OpenSSL callbacks ---- */

/* OpenSSL 3.0 counts a DTLS timer as expired once less than 15 ms remain (dtls1_get_timeout),
 * and checks it inside every SSL_do_handshake and SSL_read. The intervals handed to it carry
 * that slack and next_deadline takes it off again, so a flight is resent after initial_rto,
 * not 15 ms early (which, for an RTO under 15 ms, meant at once: every flight sent twice). */
#define OPENSSL_TIMER_SLACK 15000u

static unsigned int timer_cb(SSL *ssl, unsigned int previous_us)
{
    const dsrtp_dtls *d = SSL_get_app_data(ssl);
    uint64_t next = d->hs->cfg.initial_rto;
    if (previous_us > OPENSSL_TIMER_SLACK) {
        /* RFC 6347 §4.2.4.1: double on each expiry, up to a cap. */
        next = (uint64_t)(previous_us - OPENSSL_TIMER_SLACK) * 2;
        next = next > DSRTP_DTLS_MAX_RTO ? DSRTP_DTLS_MAX_RTO : next;
    }
    return (unsigned int)(next + OPENSSL_TIMER_SLACK);
}

/* An alert from the peer: remembered, and reported as an event. code is level << 8 | desc. */
static void report_alert(dsrtp_dtls *d, int code)
{
    d->last_alert = (int16_t)(code & 0xff);
    d->last_alert_fatal = (code >> 8) == SSL3_AL_FATAL;
    dtls_event *e = push_event(d, DSRTP_DTLS_EV_ALERT, NULL);
    if (e != NULL) {
        e->alert = d->last_alert;
        e->fatal = d->last_alert_fatal;
    }
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    /* Alerts we send arrive here too, as SSL_CB_WRITE_ALERT: only the peer's count. */
    if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT) {
        report_alert(SSL_get_app_data(ssl), ret);
    }
}

int dsrtp_dtls_verify_peer(X509_STORE_CTX *store, void *arg)
{
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    dsrtp_dtls *d = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    dtls_hs *hs = d != NULL ? d->hs : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(store);
    if (hs == NULL || leaf == NULL) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    if (hs->fp_count == 0) {
        hs->verify_failure = DSRTP_DTLS_FAIL_NO_FINGERPRINT;
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    /* Chain and validity are not checked: in DTLS-SRTP the certificate is self-signed and
     * pinned by the fingerprint signalled in SDP (RFC 5763 §5, RFC 8122). */
    bool match = false;
    for (size_t i = 0; i < hs->fp_count; i++) {
        dsrtp_fingerprint have;
        if (dsrtp_x509_fingerprint(leaf, hs->fps[i].hash, &have) == DSRTP_OK &&
            have.len == hs->fps[i].len &&
            dsrtp_ct_eq(have.value, hs->fps[i].value, have.len)) {
            match = true;
        }
    }
    if (!match) {
        hs->verify_failure = DSRTP_DTLS_FAIL_FINGERPRINT;
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    hs->peer_verified = true;
    return 1;
}

static void cookie_mac(const dsrtp_dtls *d, uint8_t out[32])
{
    unsigned int n = 0;
    HMAC(EVP_sha256(), d->hs->cert->cookie_secret, sizeof d->hs->cert->cookie_secret,
         d->hs->cookie_nonce, sizeof d->hs->cookie_nonce, out, &n);
}

int dsrtp_dtls_cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    const dsrtp_dtls *d = SSL_get_app_data(ssl);
    uint8_t mac[32];
    cookie_mac(d, mac);
    memcpy(cookie, mac, 16);
    *len = 16;
    return 1;
}

int dsrtp_dtls_cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    const dsrtp_dtls *d = SSL_get_app_data(ssl);
    uint8_t mac[32];
    cookie_mac(d, mac);
    return len == 16 && dsrtp_ct_eq(cookie, mac, 16);
}

/* ---- creation ---- */

static dsrtp_err check_cfg(const dsrtp_dtls_cfg *cfg)
{
    DSRTP_CHECK(cfg != NULL && cfg->cert != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->profile_count >= 1 && cfg->profile_count <= DSRTP_DTLS_MAX_PROFILES,
                DSRTP_ERR_INVALID_ARG);
    for (size_t i = 0; i < cfg->profile_count; i++) {
        DSRTP_CHECK(openssl_profile_name(cfg->profiles[i]) != NULL, DSRTP_ERR_INVALID_ARG);
    }
    DSRTP_CHECK(cfg->mtu >= DSRTP_DTLS_MIN_MTU && cfg->mtu <= 65507, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->initial_rto >= 1000 && cfg->initial_rto <= DSRTP_DTLS_MAX_RTO,
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->handshake_timeout > 0, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->role == DSRTP_DTLS_ROLE_UNSET || cfg->role == DSRTP_DTLS_CLIENT ||
                    cfg->role == DSRTP_DTLS_SERVER,
                DSRTP_ERR_INVALID_ARG);
    return DSRTP_OK;
}

static dsrtp_err setup_ssl(dsrtp_dtls *d)
{
    dtls_hs *hs = d->hs;
    DSRTP_TRY(dsrtp_dgram_bio_init(&hs->q, hs->cfg.mtu));
    hs->ssl = SSL_new(hs->cert->ctx);
    DSRTP_CHECK(hs->ssl != NULL, DSRTP_ERR_NO_MEMORY);
    SSL *ssl = hs->ssl;
    SSL_set_app_data(ssl, d);
    BIO *bio = dsrtp_dgram_bio_new(&hs->q, hs->cert->bio_meth);
    DSRTP_CHECK(bio != NULL, DSRTP_ERR_NO_MEMORY);
    SSL_set_bio(ssl, bio, bio); /* one BIO both ways: SSL_set_bio takes one reference */
    DSRTP_CHECK(SSL_set_mtu(ssl, (long)hs->cfg.mtu) > 0, DSRTP_ERR_INVALID_ARG);
    char list[128] = "";
    for (size_t i = 0; i < hs->cfg.profile_count; i++) {
        if (i > 0) {
            strcat(list, ":");
        }
        strcat(list, openssl_profile_name(hs->cfg.profiles[i]));
    }
    /* Returns 0 on success. */
    DSRTP_CHECK(SSL_set_tlsext_use_srtp(ssl, list) == 0, DSRTP_ERR_CRYPTO);
    DTLS_set_timer_cb(ssl, timer_cb);
    SSL_set_info_callback(ssl, info_cb);
    if (hs->cfg.require_cookie) {
        SSL_set_options(ssl, SSL_OP_COOKIE_EXCHANGE);
    }
    DSRTP_CHECK(RAND_bytes(hs->cookie_nonce, sizeof hs->cookie_nonce) == 1, DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

static void hs_free(dtls_hs *hs)
{
    if (hs == NULL) {
        return;
    }
    SSL_free(hs->ssl); /* frees the BIO too; its method belongs to the certificate */
    dsrtp_dgram_bio_clear(&hs->q);
    for (size_t i = 0; i < hs->held_count; i++) {
        free(hs->held[i]);
    }
    dsrtp_cert_free(hs->cert); /* after SSL_free: the SSL and its BIO used it */
    dsrtp_wipe(hs, sizeof *hs);
    free(hs);
}

/* Once compacted and drained, the handshake state has nothing left to do. */
static void release_hs_if_done(dsrtp_dtls *d)
{
    if (d->hs != NULL && d->hs->ssl == NULL && d->hs->q.out_count == 0) {
        hs_free(d->hs);
        d->hs = NULL;
    }
}

dsrtp_err dsrtp_dtls_new(const dsrtp_dtls_cfg *cfg, dsrtp_dtls **out)
{
    DSRTP_CHECK(out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(check_cfg(cfg));
    dsrtp_dtls *d = calloc(1, sizeof *d);
    DSRTP_CHECK(d != NULL, DSRTP_ERR_NO_MEMORY);
    d->hs = calloc(1, sizeof *d->hs);
    if (d->hs == NULL) {
        free(d);
        return DSRTP_ERR_NO_MEMORY;
    }
    d->hs->cfg = *cfg;
    d->hs->cert = dsrtp_cert_ref(cfg->cert);
    d->hs->cfg.cert = d->hs->cert;
    d->hs->deadline = DSRTP_TIME_NEVER;
    d->role = (uint8_t)cfg->role;
    d->last_alert = -1;
    dsrtp_err err = setup_ssl(d);
    if (err != DSRTP_OK) {
        ERR_clear_error();
        dsrtp_dtls_free(d);
        return err;
    }
    *out = d;
    return DSRTP_OK;
}

void dsrtp_dtls_free(dsrtp_dtls *d)
{
    if (d == NULL) {
        return;
    }
    hs_free(d->hs);
    dsrtp_post_clear(&d->post);
    dsrtp_wipe(d, sizeof *d);
    free(d);
}

dsrtp_err dsrtp_dtls_set_role(dsrtp_dtls *d, dsrtp_dtls_role role)
{
    DSRTP_CHECK(d != NULL && !d->started, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(role == DSRTP_DTLS_CLIENT || role == DSRTP_DTLS_SERVER, DSRTP_ERR_INVALID_ARG);
    d->role = (uint8_t)role;
    return DSRTP_OK;
}

dsrtp_err dsrtp_dtls_set_remote_fingerprints(dsrtp_dtls *d, const dsrtp_fingerprint *fps,
                                             size_t n)
{
    DSRTP_CHECK(d != NULL && (fps != NULL || n == 0), DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(n <= DSRTP_DTLS_MAX_FINGERPRINTS, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(d->state == DSRTP_DTLS_STATE_NEW || d->state == DSRTP_DTLS_STATE_HANDSHAKE,
                DSRTP_ERR_INVALID_ARG);
    for (size_t i = 0; i < n; i++) {
        DSRTP_CHECK(dsrtp_hash_md(fps[i].hash) != NULL && fps[i].len > 0 &&
                        fps[i].len <= DSRTP_FINGERPRINT_MAX_LEN,
                    DSRTP_ERR_INVALID_ARG);
    }
    for (size_t i = 0; i < n; i++) {
        d->hs->fps[i] = fps[i];
    }
    d->hs->fp_count = n;
    return DSRTP_OK;
}

/* ---- driving the handshake ---- */

static dsrtp_profile profile_of(const SRTP_PROTECTION_PROFILE *p)
{
    for (size_t i = 0; p != NULL && i < SRTP_ID_COUNT; i++) {
        if (srtp_ids[i].id == p->id) {
            return srtp_ids[i].profile;
        }
    }
    return DSRTP_PROFILE_NONE;
}

/* The SRTP keys in mat (the exporter's output) for profile p, oriented for our role. */
static void keys_from(const dsrtp_dtls *d, dsrtp_profile p, const uint8_t *mat,
                      dsrtp_dtls_keys *keys)
{
    size_t kl = dsrtp_profile_key_len(p);
    size_t sl = dsrtp_profile_salt_len(p);
    /* RFC 5764 §4.2: client key | server key | client salt | server salt. */
    const uint8_t *ck = mat;
    const uint8_t *sk = mat + kl;
    const uint8_t *cs = mat + 2 * kl;
    const uint8_t *ss = mat + 2 * kl + sl;
    bool client = d->role == DSRTP_DTLS_CLIENT;
    *keys = (dsrtp_dtls_keys){.profile = p, .key_len = kl, .salt_len = sl};
    memcpy(keys->local_key, client ? ck : sk, kl);
    memcpy(keys->remote_key, client ? sk : ck, kl);
    memcpy(keys->local_salt, client ? cs : ss, sl);
    memcpy(keys->remote_salt, client ? ss : cs, sl);
}

/* Moves what a connected endpoint needs out of the SSL object (see compact.c). mat is
 * OpenSSL's own export: our exporter must reproduce it, which proves the master secret and
 * randoms that the record keys come from. A server also keeps the final flight it has just
 * written (its last flight_dgrams datagrams) to answer a peer that did not get it; a client's
 * final flight never needs that, since the server completes first. */
static dsrtp_err compact(dsrtp_dtls *d, const uint8_t *mat, size_t mat_len,
                         size_t flight_dgrams)
{
    uint8_t again[SRTP_MAT_MAX];
    bool client = d->role == DSRTP_DTLS_CLIENT;
    DSRTP_TRY(dsrtp_post_from_ssl(d->hs->ssl, client, &d->hs->q, &d->post));
    dsrtp_err err = dsrtp_post_export(&d->post, EXPORTER_LABEL, again, mat_len);
    if (err == DSRTP_OK && !dsrtp_ct_eq(again, mat, mat_len)) {
        err = DSRTP_ERR_INTERNAL;
    }
    dsrtp_wipe(again, sizeof again);
    if (err != DSRTP_OK) {
        dsrtp_post_clear(&d->post);
        return err;
    }
    if (!client && flight_dgrams > 0) {
        /* Too large or no memory: the flight is not kept, as if every resend were lost. */
        (void)dsrtp_post_keep_flight(&d->post, &d->hs->q, flight_dgrams);
    }
    SSL_free(d->hs->ssl);
    d->hs->ssl = NULL;
    return DSRTP_OK;
}

static void on_complete(dsrtp_dtls *d, size_t flight_dgrams)
{
    SSL *ssl = d->hs->ssl;
    dsrtp_profile p = profile_of(SSL_get_selected_srtp_profile(ssl));
    if (p == DSRTP_PROFILE_NONE) {
        /* OpenSSL finishes the handshake without use_srtp when nothing matched. */
        (void)SSL_shutdown(ssl);
        fail(d, DSRTP_DTLS_FAIL_NO_PROFILE, "no SRTP profile in common");
        return;
    }
    /* Defence in depth: the verify callback must have run and matched. */
    if (!d->hs->peer_verified || SSL_get0_peer_certificate(ssl) == NULL) {
        fail(d, DSRTP_DTLS_FAIL_FINGERPRINT, "peer certificate was not verified");
        return;
    }
    size_t n = 2 * (dsrtp_profile_key_len(p) + dsrtp_profile_salt_len(p));
    uint8_t mat[SRTP_MAT_MAX];
    if (SSL_export_keying_material(ssl, mat, n, EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL,
                                   0, 0) != 1) {
        fail(d, DSRTP_DTLS_FAIL_PROTOCOL, "keying material export failed");
        return;
    }
    dsrtp_err err = compact(d, mat, n, flight_dgrams);
    dsrtp_wipe(mat, sizeof mat);
    ERR_clear_error();
    if (err != DSRTP_OK) {
        fail(d, DSRTP_DTLS_FAIL_PROTOCOL, "cannot keep the record keys after the handshake");
        return;
    }
    d->profile = (uint8_t)p;
    d->state = DSRTP_DTLS_STATE_CONNECTED;
    (void)push_event(d, DSRTP_DTLS_EV_CONNECTED, dsrtp_profile_name(p));
}

static void on_ssl_error(dsrtp_dtls *d)
{
    unsigned long e = ERR_peek_error();
    const char *reason = ERR_reason_error_string(e);
    char *detail = d->hs->fail_detail;
    snprintf(detail, sizeof d->hs->fail_detail, "%s", reason != NULL ? reason : "protocol error");
    ERR_clear_error();
    dsrtp_dtls_failure verify_failure = d->hs->verify_failure;
    if (verify_failure != DSRTP_DTLS_FAIL_NONE) {
        fail(d, verify_failure, dsrtp_dtls_failure_name(verify_failure));
    } else if (d->last_alert >= 0 && d->last_alert_fatal) {
        fail(d, DSRTP_DTLS_FAIL_ALERT, NULL);
    } else if (ERR_GET_REASON(e) == SSL_R_READ_TIMEOUT_EXPIRED) {
        /* OpenSSL gives up after 12 retransmissions of one flight: with a short RTO that
         * comes before our own deadline, and it is the same verdict. */
        fail(d, DSRTP_DTLS_FAIL_TIMEOUT, "no answer from the peer after 12 retransmissions");
    } else {
        fail(d, DSRTP_DTLS_FAIL_PROTOCOL, detail);
    }
}

/* The peer sent close_notify: before or after the handshake completed, the association is
 * over and nothing was (or is any longer) released. */
static void on_close_notify(dsrtp_dtls *d)
{
    d->state = DSRTP_DTLS_STATE_CLOSED;
    dsrtp_post_wipe_secrets(&d->post);
    (void)push_event(d, DSRTP_DTLS_EV_CLOSED, "peer sent close_notify");
}

/* Runs OpenSSL's handshake on whatever the BIO holds. */
static void drive(dsrtp_dtls *d)
{
    SSL *ssl = d->hs->ssl;
    size_t before = d->hs->q.writes;
    ERR_clear_error();
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        /* What this call wrote is the flight that finished the handshake. */
        on_complete(d, d->hs->q.writes - before);
        return;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN) {
        /* close_notify mid-handshake (OpenSSL ends the handshake with it): the peer closed,
         * which is what CLOSED means; it is no local protocol error. */
        ERR_clear_error();
        on_close_notify(d);
    } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        on_ssl_error(d);
    }
}

/* ---- after the handshake ---- */

/* An authenticated alert (RFC 5246 §7.2), handled as OpenSSL 3.0 does in DTLS: reported,
 * then close_notify at warning level closes, any fatal alert fails, other warnings pass. */
static void on_post_alert(dsrtp_dtls *d, uint8_t level, uint8_t desc)
{
    if (level != ALERT_WARNING && level != ALERT_FATAL) {
        return;
    }
    report_alert(d, level << 8 | desc);
    if (level == ALERT_FATAL) {
        fail(d, DSRTP_DTLS_FAIL_ALERT, NULL);
    } else if (desc == ALERT_CLOSE_NOTIFY) {
        on_close_notify(d);
    }
}

/* An authenticated, new epoch-1 record from the peer. A Finished means the peer is resending
 * its final flight because ours did not arrive: send ours again. Application data has no
 * place in DTLS-SRTP and, like anything else, is dropped. */
static void on_post_record(dsrtp_dtls *d, uint8_t type, const uint8_t *plain, size_t n)
{
    if (type == DSRTP_DTLS_RT_ALERT && n == 2) {
        on_post_alert(d, plain[0], plain[1]);
    } else if (type == DSRTP_DTLS_RT_HANDSHAKE && n >= HS_HEADER_LEN &&
               plain[0] == HS_FINISHED) {
        (void)dsrtp_post_resend_flight(&d->post, d->now);
    }
}

/* Where the last epoch-1 handshake record of the datagram ends (0: there is none). */
static size_t last_epoch1_handshake_end(const uint8_t *buf, size_t len)
{
    size_t end = 0;
    dsrtp_rd r = dsrtp_rd_make(buf, len);
    const uint8_t *rec;
    size_t rec_len;
    while (dsrtp_post_next_record(&r, &rec, &rec_len) == DSRTP_OK) {
        if (rec[0] == DSRTP_DTLS_RT_HANDSHAKE && dsrtp_load16(rec + 3) == 1) {
            end = r.pos;
        }
    }
    return end;
}

/* Epoch-1 records for a compacted endpoint; everything else is dropped, as OpenSSL drops
 * records of a past epoch. The datagram that completed the handshake has been read by
 * OpenSSL up to the peer's Finished: those records only mark the replay window. */
static void post_receive(dsrtp_dtls *d, const uint8_t *buf, size_t len, bool completing)
{
    size_t settled = completing ? last_epoch1_handshake_end(buf, len) : 0;
    dsrtp_rd r = dsrtp_rd_make(buf, len);
    const uint8_t *rec;
    size_t rec_len;
    /* A record left unread for want of event slots is as good as lost (RFC 6347 §4.1.2.7):
     * it has not touched the replay window, and the peer is no worse off. */
    while (d->state == DSRTP_DTLS_STATE_CONNECTED &&
           EVENTS_MAX - d->ev_count >= EVENTS_RESERVE &&
           dsrtp_post_next_record(&r, &rec, &rec_len) == DSRTP_OK) {
        uint8_t type = 0;
        uint8_t plain[POST_PLAIN_MAX];
        size_t n = 0;
        if (dsrtp_load16(rec + 3) != 1 ||
            dsrtp_post_open(&d->post, rec, rec_len, &type, plain, sizeof plain, &n) !=
                DSRTP_OK) {
            continue; /* another epoch, forged, replayed or too long to matter */
        }
        if (r.pos > settled) {
            on_post_record(d, type, plain, n);
        }
        dsrtp_wipe(plain, sizeof plain);
    }
}

static void advance_time(dsrtp_dtls *d, dsrtp_time now)
{
    if (now > d->now) {
        d->now = now;
    }
}

static void feed(dsrtp_dtls *d, const uint8_t *buf, size_t len)
{
    if (d->state == DSRTP_DTLS_STATE_CONNECTED) {
        post_receive(d, buf, len, false);
        return;
    }
    if (d->state != DSRTP_DTLS_STATE_HANDSHAKE) {
        return;
    }
    d->hs->q.in = buf;
    d->hs->q.in_len = len;
    drive(d);
    d->hs->q.in = NULL;
    d->hs->q.in_len = 0;
    if (d->state == DSRTP_DTLS_STATE_CONNECTED) {
        post_receive(d, buf, len, true);
    }
}

dsrtp_err dsrtp_dtls_start(dsrtp_dtls *d, dsrtp_time now)
{
    DSRTP_CHECK(d != NULL && !d->started, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(d->role == DSRTP_DTLS_CLIENT || d->role == DSRTP_DTLS_SERVER,
                DSRTP_ERR_INVALID_ARG);
    advance_time(d, now);
    dtls_hs *hs = d->hs;
    d->started = true;
    d->state = DSRTP_DTLS_STATE_HANDSHAKE;
    hs->deadline = d->now + hs->cfg.handshake_timeout;
    if (d->role == DSRTP_DTLS_CLIENT) {
        SSL_set_connect_state(hs->ssl);
        drive(d);
    } else {
        SSL_set_accept_state(hs->ssl);
    }
    for (size_t i = 0; i < hs->held_count; i++) {
        feed(d, hs->held[i], hs->held_len[i]);
        free(hs->held[i]);
        hs->held[i] = NULL;
    }
    hs->held_count = 0;
    release_hs_if_done(d);
    return DSRTP_OK;
}

/* Holds a datagram that came before the role was known (an early ClientHello, RFC 5763
 * §5). A full hold drops, as a lossy link would: the peer retransmits. */
static dsrtp_err hold(dtls_hs *hs, const uint8_t *buf, size_t len)
{
    DSRTP_CHECK(hs->held_count < HELD_MAX && len <= HELD_BYTES_MAX, DSRTP_ERR_NOT_READY);
    uint8_t *copy = malloc(len);
    DSRTP_CHECK(copy != NULL, DSRTP_ERR_NO_MEMORY);
    memcpy(copy, buf, len);
    hs->held[hs->held_count] = copy;
    hs->held_len[hs->held_count] = len;
    hs->held_count++;
    return DSRTP_OK;
}

dsrtp_err dsrtp_dtls_handle_datagram(dsrtp_dtls *d, dsrtp_time now, const uint8_t *buf,
                                     size_t len)
{
    DSRTP_CHECK(d != NULL && buf != NULL, DSRTP_ERR_INVALID_ARG);
    /* RFC 7983: DTLS records start with a content type in 20..63; 13-byte header. */
    DSRTP_CHECK(len >= 13 && buf[0] >= 20 && buf[0] <= 63, DSRTP_ERR_MALFORMED);
    /* Junk that OpenSSL would take as fatal, unauthenticated as it is (record.c). */
    SSL *ssl = ssl_of(d);
    size_t min_protected = ssl != NULL ? dsrtp_dtls_min_protected_len(ssl)
                                       : dsrtp_post_min_record(&d->post);
    DSRTP_CHECK(dsrtp_dtls_datagram_plausible(min_protected, buf, len), DSRTP_ERR_MALFORMED);
    advance_time(d, now);
    if (!d->started) {
        return hold(d->hs, buf, len);
    }
    feed(d, buf, len);
    release_hs_if_done(d);
    return DSRTP_OK;
}

dsrtp_err dsrtp_dtls_handle_timeout(dsrtp_dtls *d, dsrtp_time now)
{
    DSRTP_CHECK(d != NULL, DSRTP_ERR_INVALID_ARG);
    advance_time(d, now);
    if (d->state != DSRTP_DTLS_STATE_HANDSHAKE) {
        return DSRTP_OK;
    }
    if (d->now >= d->hs->deadline) {
        fail(d, DSRTP_DTLS_FAIL_TIMEOUT, "no answer from the peer in time");
        return DSRTP_OK;
    }
    ERR_clear_error();
    if (DTLSv1_handle_timeout(d->hs->ssl) < 0) {
        on_ssl_error(d);
        return DSRTP_OK;
    }
    drive(d);
    release_hs_if_done(d);
    return DSRTP_OK;
}

dsrtp_time dsrtp_dtls_next_deadline(const dsrtp_dtls *d)
{
    if (d == NULL || d->state != DSRTP_DTLS_STATE_HANDSHAKE) {
        return DSRTP_TIME_NEVER;
    }
    dsrtp_time deadline = d->hs->deadline;
    struct timeval tv;
    if (DTLSv1_get_timeout(d->hs->ssl, &tv) == 1) {
        dsrtp_time left = (dsrtp_time)tv.tv_sec * 1000000u + (dsrtp_time)tv.tv_usec;
        dsrtp_time t = d->now + (left > OPENSSL_TIMER_SLACK ? left - OPENSSL_TIMER_SLACK : 0);
        if (t < deadline) {
            deadline = t;
        }
    }
    return deadline;
}

/* The next datagram of the handshake's ring, if it holds one. */
static dsrtp_err poll_ring(dsrtp_dtls *d, uint8_t *buf, size_t cap, dsrtp_dtls_output *out)
{
    dsrtp_dgram_bio *q = &d->hs->q;
    const dsrtp_dgram *g = &q->out[q->out_head];
    if (buf == NULL || cap < g->len) {
        out->len = g->len;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(buf, g->data, g->len);
    out->kind = DSRTP_OUT_DATAGRAM;
    out->len = g->len;
    q->out_head = (q->out_head + 1) % DSRTP_DTLS_QUEUE;
    q->out_count--;
    release_hs_if_done(d);
    return DSRTP_OK;
}

dsrtp_err dsrtp_dtls_poll_output(dsrtp_dtls *d, uint8_t *buf, size_t cap,
                                 dsrtp_dtls_output *out)
{
    DSRTP_CHECK(d != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    *out = (dsrtp_dtls_output){0};
    if (d->ev_count > 0) {
        out->kind = DSRTP_OUT_EVENT;
        event_out(&d->events[d->ev_head], &out->event);
        d->ev_head = (uint8_t)((d->ev_head + 1) % EVENTS_MAX);
        d->ev_count--;
        return DSRTP_OK;
    }
    if (d->hs != NULL && d->hs->q.out_count > 0) {
        return poll_ring(d, buf, cap, out);
    }
    size_t n = 0;
    dsrtp_err err = dsrtp_post_poll(&d->post, buf, cap, &n);
    if (err != DSRTP_OK || n > 0) {
        out->kind = err == DSRTP_OK ? DSRTP_OUT_DATAGRAM : out->kind;
        out->len = n;
        return err;
    }
    out->kind = DSRTP_OUT_IDLE;
    out->deadline = dsrtp_dtls_next_deadline(d);
    return DSRTP_OK;
}

dsrtp_err dsrtp_dtls_get_keys(const dsrtp_dtls *d, dsrtp_dtls_keys *out)
{
    DSRTP_CHECK(d != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(d->state == DSRTP_DTLS_STATE_CONNECTED, DSRTP_ERR_INVALID_ARG);
    /* Exported again rather than kept: the post state holds the exporter's inputs anyway,
     * and compact() checked that they reproduce OpenSSL's export. */
    dsrtp_profile p = (dsrtp_profile)d->profile;
    size_t n = 2 * (dsrtp_profile_key_len(p) + dsrtp_profile_salt_len(p));
    uint8_t mat[SRTP_MAT_MAX];
    dsrtp_err err = dsrtp_post_export(&d->post, EXPORTER_LABEL, mat, n);
    if (err == DSRTP_OK) {
        keys_from(d, p, mat, out);
    }
    dsrtp_wipe(mat, sizeof mat);
    return err;
}

dsrtp_err dsrtp_dtls_export(const dsrtp_dtls *d, uint8_t *out, size_t len)
{
    DSRTP_CHECK(d != NULL && out != NULL && len > 0 && len <= 1024, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(d->state == DSRTP_DTLS_STATE_CONNECTED, DSRTP_ERR_INVALID_ARG);
    return dsrtp_post_export(&d->post, EXPORTER_LABEL, out, len);
}

dsrtp_err dsrtp_dtls_get_remote_fingerprint(const dsrtp_dtls *d, dsrtp_hash h,
                                            dsrtp_fingerprint *out)
{
    DSRTP_CHECK(d != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    SSL *ssl = ssl_of(d);
    if (ssl == NULL) {
        DSRTP_CHECK(d->post.have_peer_fps, DSRTP_ERR_INVALID_ARG);
        return dsrtp_fp_table_get(d->post.peer_fps, sizeof d->post.peer_fps, h, out);
    }
    X509 *peer = SSL_get0_peer_certificate(ssl);
    DSRTP_CHECK(peer != NULL, DSRTP_ERR_INVALID_ARG);
    return dsrtp_x509_fingerprint(peer, h, out);
}

dsrtp_dtls_state dsrtp_dtls_get_state(const dsrtp_dtls *d)
{
    return d != NULL ? d->state : DSRTP_DTLS_STATE_FAILED;
}

dsrtp_dtls_role dsrtp_dtls_get_role(const dsrtp_dtls *d)
{
    return d != NULL ? d->role : DSRTP_DTLS_ROLE_UNSET;
}

dsrtp_dtls_failure dsrtp_dtls_get_failure(const dsrtp_dtls *d)
{
    return d != NULL ? d->failure : DSRTP_DTLS_FAIL_NONE;
}

dsrtp_err dsrtp_dtls_close(dsrtp_dtls *d)
{
    DSRTP_CHECK(d != NULL, DSRTP_ERR_INVALID_ARG);
    if (d->state == DSRTP_DTLS_STATE_CONNECTED) {
        /* Connected means compacted: we seal the alert ourselves. Should that fail, the
         * peer ends by its own means (consent or media timeout), as if it were lost. */
        (void)dsrtp_post_queue_alert(&d->post, ALERT_WARNING, ALERT_CLOSE_NOTIFY);
    } else if (d->state == DSRTP_DTLS_STATE_HANDSHAKE) {
        ERR_clear_error();
        (void)SSL_shutdown(d->hs->ssl);
        ERR_clear_error();
    } else {
        return DSRTP_OK;
    }
    d->state = DSRTP_DTLS_STATE_CLOSED;
    dsrtp_post_wipe_secrets(&d->post);
    return DSRTP_OK;
}
