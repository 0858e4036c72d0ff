/* The media endpoint: one port, composing the ICE-lite agent, the DTLS-SRTP endpoint (or
 * SDES keys, or none) and the SRTP contexts behind the RFC 7983 demultiplexer.
 *
 * Invariants: media is neither sent nor accepted before the keys are installed (READY);
 * with ICE, DTLS and media are accepted only from addresses that passed a connectivity
 * check; without ICE, media goes to the SDP address and follows the peer only to the source
 * of packets that authenticated. DTLS events are not relayed: the session reads the DTLS
 * state after every call instead, so keys are installed before any media can arrive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrtp/session.h>

#include "util/util_int.h"

#define SESSION_EVENTS 8
#define ROLE_CONFLICT                                                                          \
    "DTLS role conflict: the peer is a DTLS client too (both sides a=setup:active)"
#define TLS_ALERT_UNEXPECTED_MESSAGE 10 /* RFC 5246 §7.2 */
#define TLS_ALERT_BAD_CERTIFICATE 42
#define VALIDATED_MAX 8

/* What only start needs: our SDES send key and what is known of the peer (its SDES key,
 * ICE credentials, fingerprints). Wiped and freed once start has handed it on to the SRTP
 * contexts, the ICE agent and the DTLS endpoint. */
typedef struct session_setup {
    dsrtp_profile sdes_profile;
    uint8_t sdes_key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t sdes_salt[DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t sdes_mki[DSRTP_SRTP_MAX_MKI_LEN];
    size_t sdes_mki_len;
    dsrtp_session_remote remote;
} session_setup;

/* SDES: the peer's key in use (our receive key), kept so that a later offer can tell a
 * re-key from a repeat. A secret: wiped with the session. */
typedef struct session_sdes_key {
    uint8_t key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t salt[DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t mki[DSRTP_SRTP_MAX_MKI_LEN];
    size_t mki_len;
} session_sdes_key;

/* A queued event without its text: FAILED's is fail_detail (a session fails once), the
 * others' is fixed or made from the profile when the event is polled. */
typedef struct session_event {
    uint8_t kind;    /* dsrtp_session_event_kind */
    uint8_t profile; /* dsrtp_profile */
    dsrtp_addr addr;
} session_event;

struct dsrtp_session {
    dsrtp_keying keying;
    dsrtp_dtls_role role; /* DTLS: ours, from the peer's description (set at start) */
    dsrtp_session_state state;
    dsrtp_profile profile;
    size_t max_streams;   /* SRTP stream table and replay window per direction */
    size_t replay_window;
    session_setup *setup; /* until start; NULL afterwards */
    dsrtp_dtls *dtls;
    dsrtp_ice_lite *ice;
    dsrtp_srtp_tx *tx;
    dsrtp_srtp_rx *rx;
    dsrtp_srtp_rx *rx_prev; /* SDES: the receive key before a re-key, until the new one works */
    /* DTLS, from start on: the peer's fingerprints, which a later offer must repeat
     * (RFC 8842 §5). Exactly fingerprint_count entries. */
    dsrtp_fingerprint *fingerprints;
    size_t fingerprint_count;
    dsrtp_addr *validated; /* with ICE: VALIDATED_MAX addresses that passed a check */
    dsrtp_time now;
    dsrtp_time started_at;
    bool latch;
    bool started;
    bool has_dest;
    bool ice_selected;
    bool ice_gating; /* the peer does full ICE: only checked addresses count */
    bool peer_hello_held;   /* a ClientHello arrived before start: the peer acts as client */
    bool server_hello_seen; /* the peer answered our ClientHello as a DTLS server */
    uint8_t validated_count;
    uint8_t validated_next;
    uint8_t ev_head;
    uint8_t ev_count;
    dsrtp_addr dest;
    session_sdes_key sdes_rx;
    session_event events[SESSION_EVENTS];
    char fail_detail[96];
    dsrtp_session_stats stats;
};

void dsrtp_session_cfg_init(dsrtp_session_cfg *cfg)
{
    if (cfg == NULL) {
        return;
    }
    *cfg = (dsrtp_session_cfg){0};
    cfg->keying = DSRTP_KEYING_DTLS;
    cfg->mtu = DSRTP_DTLS_DEFAULT_MTU;
    cfg->dtls_initial_rto = DSRTP_DTLS_DEFAULT_RTO;
    cfg->dtls_timeout = DSRTP_DTLS_DEFAULT_TIMEOUT;
    cfg->consent_timeout = DSRTP_ICE_DEFAULT_CONSENT_TIMEOUT;
    cfg->latch = true;
    cfg->max_streams = DSRTP_SRTP_DEFAULT_STREAMS;
    cfg->replay_window = DSRTP_SRTP_DEFAULT_WINDOW;
}

/* ---- events ---- */

static session_event *push_event(dsrtp_session *s, dsrtp_session_event_kind kind)
{
    if (s->ev_count == SESSION_EVENTS) {
        return NULL;
    }
    session_event *e = &s->events[(s->ev_head + s->ev_count) % SESSION_EVENTS];
    *e = (session_event){.kind = (uint8_t)kind};
    s->ev_count++;
    return e;
}

/* The event as the caller sees it, with its text. */
static void event_out(const dsrtp_session *s, const session_event *e, dsrtp_session_event *out)
{
    *out = (dsrtp_session_event){.kind = (dsrtp_session_event_kind)e->kind,
                                 .profile = (dsrtp_profile)e->profile,
                                 .addr = e->addr};
    switch (out->kind) {
    case DSRTP_SESSION_EV_KEYS_READY:
        snprintf(out->detail, sizeof out->detail, "%s %s", dsrtp_keying_name(s->keying),
                 dsrtp_profile_name(out->profile));
        break;
    case DSRTP_SESSION_EV_FAILED:
        snprintf(out->detail, sizeof out->detail, "%s", s->fail_detail);
        break;
    case DSRTP_SESSION_EV_CLOSED:
        snprintf(out->detail, sizeof out->detail, "peer sent close_notify");
        break;
    default:
        break;
    }
}

static void fail(dsrtp_session *s, const char *why)
{
    if (s->state == DSRTP_SESSION_FAILED) {
        return;
    }
    s->state = DSRTP_SESSION_FAILED;
    snprintf(s->fail_detail, sizeof s->fail_detail, "%s", why);
    (void)push_event(s, DSRTP_SESSION_EV_FAILED);
}

static void set_dest(dsrtp_session *s, const dsrtp_addr *a, bool announce)
{
    if (s->has_dest && dsrtp_addr_equal(&s->dest, a)) {
        return;
    }
    s->dest = *a;
    s->has_dest = true;
    if (announce) {
        session_event *e = push_event(s, DSRTP_SESSION_EV_ADDRESS_CHANGED);
        if (e != NULL) {
            e->addr = *a;
        }
    }
}

/* ---- creation ---- */

static dsrtp_err check_cfg(const dsrtp_session_cfg *cfg)
{
    DSRTP_CHECK(cfg != NULL, DSRTP_ERR_INVALID_ARG);
    switch (cfg->keying) {
    case DSRTP_KEYING_DTLS:
        DSRTP_CHECK(cfg->cert != NULL, DSRTP_ERR_INVALID_ARG);
        break;
    case DSRTP_KEYING_SDES:
        DSRTP_CHECK(dsrtp_profile_key_len(cfg->sdes_profile) > 0, DSRTP_ERR_INVALID_ARG);
        DSRTP_CHECK(cfg->sdes_mki_len <= DSRTP_SRTP_MAX_MKI_LEN, DSRTP_ERR_INVALID_ARG);
        break;
    case DSRTP_KEYING_NONE:
        break;
    default:
        return DSRTP_ERR_INVALID_ARG;
    }
    return DSRTP_OK;
}

static dsrtp_err make_dtls(dsrtp_session *s, const dsrtp_session_cfg *cfg)
{
    dsrtp_dtls_cfg dc;
    dsrtp_dtls_cfg_init(&dc);
    dc.cert = cfg->cert;
    if (cfg->dtls_profile_count > 0) {
        DSRTP_CHECK(cfg->dtls_profile_count <= DSRTP_DTLS_MAX_PROFILES, DSRTP_ERR_INVALID_ARG);
        for (size_t i = 0; i < cfg->dtls_profile_count; i++) {
            dc.profiles[i] = cfg->dtls_profiles[i];
        }
        dc.profile_count = cfg->dtls_profile_count;
    }
    dc.mtu = cfg->mtu;
    dc.initial_rto = cfg->dtls_initial_rto;
    dc.handshake_timeout = cfg->dtls_timeout;
    return dsrtp_dtls_new(&dc, &s->dtls);
}

/* Copies a credential that may lack its NUL (the config is plain data). */
static void copy_cred(char dst[DSRTP_ICE_CRED_MAX], const char src[DSRTP_ICE_CRED_MAX])
{
    memcpy(dst, src, DSRTP_ICE_CRED_MAX - 1);
    dst[DSRTP_ICE_CRED_MAX - 1] = '\0';
}

static dsrtp_err make_ice(dsrtp_session *s, const dsrtp_session_cfg *cfg)
{
    char ufrag[DSRTP_ICE_CRED_MAX];
    char pwd[DSRTP_ICE_CRED_MAX];
    copy_cred(ufrag, cfg->ice_ufrag);
    copy_cred(pwd, cfg->ice_pwd);
    dsrtp_ice_lite_cfg ic;
    dsrtp_ice_lite_cfg_init(&ic);
    ic.local_ufrag = ufrag[0] != '\0' ? ufrag : NULL;
    ic.local_pwd = pwd[0] != '\0' ? pwd : NULL;
    ic.consent_timeout = cfg->consent_timeout;
    dsrtp_err err = dsrtp_ice_lite_new(&ic, &s->ice);
    dsrtp_wipe(pwd, sizeof pwd);
    if (err == DSRTP_OK) {
        s->validated = calloc(VALIDATED_MAX, sizeof *s->validated);
        err = s->validated != NULL ? DSRTP_OK : DSRTP_ERR_NO_MEMORY;
    }
    return err;
}

/* Takes what is known of the peer (copied; credentials NUL-terminated). */
static void take_remote(session_setup *u, const dsrtp_session_remote *r)
{
    dsrtp_wipe(&u->remote, sizeof u->remote);
    u->remote = *r;
    u->remote.ice_ufrag[DSRTP_ICE_CRED_MAX - 1] = '\0';
    u->remote.ice_pwd[DSRTP_ICE_CRED_MAX - 1] = '\0';
}

static void drop_setup(dsrtp_session *s)
{
    if (s->setup != NULL) {
        dsrtp_wipe(s->setup, sizeof *s->setup);
        free(s->setup);
        s->setup = NULL;
    }
}

dsrtp_err dsrtp_session_new(const dsrtp_session_cfg *cfg, dsrtp_session **out)
{
    DSRTP_CHECK(out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(check_cfg(cfg));
    dsrtp_session *s = calloc(1, sizeof *s);
    DSRTP_CHECK(s != NULL, DSRTP_ERR_NO_MEMORY);
    s->keying = cfg->keying;
    s->latch = cfg->latch;
    s->max_streams = cfg->max_streams;
    s->replay_window = cfg->replay_window;
    dsrtp_err err = DSRTP_ERR_NO_MEMORY;
    s->setup = calloc(1, sizeof *s->setup);
    if (s->setup != NULL) {
        session_setup *u = s->setup;
        u->sdes_profile = cfg->sdes_profile;
        memcpy(u->sdes_key, cfg->sdes_key, sizeof u->sdes_key);
        memcpy(u->sdes_salt, cfg->sdes_salt, sizeof u->sdes_salt);
        memcpy(u->sdes_mki, cfg->sdes_mki, sizeof u->sdes_mki);
        u->sdes_mki_len = cfg->sdes_mki_len;
        take_remote(u, &cfg->remote);
        err = DSRTP_OK;
    }
    if (err == DSRTP_OK && cfg->keying == DSRTP_KEYING_DTLS) {
        err = make_dtls(s, cfg); /* the endpoint takes its own reference to the certificate */
    }
    if (err == DSRTP_OK && cfg->ice) {
        err = make_ice(s, cfg);
    }
    if (err != DSRTP_OK) {
        dsrtp_session_free(s);
        return err;
    }
    *out = s;
    return DSRTP_OK;
}

void dsrtp_session_free(dsrtp_session *s)
{
    if (s == NULL) {
        return;
    }
    dsrtp_dtls_free(s->dtls);
    dsrtp_ice_lite_free(s->ice);
    dsrtp_srtp_tx_free(s->tx);
    dsrtp_srtp_rx_free(s->rx);
    dsrtp_srtp_rx_free(s->rx_prev);
    drop_setup(s);
    free(s->fingerprints);
    free(s->validated);
    dsrtp_wipe(s, sizeof *s);
    free(s);
}

dsrtp_err dsrtp_session_set_remote(dsrtp_session *s, const dsrtp_session_remote *r)
{
    DSRTP_CHECK(s != NULL && r != NULL && !s->started && s->setup != NULL,
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(r->fingerprint_count <= DSRTP_DTLS_MAX_FINGERPRINTS, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(r->sdes_mki_len <= DSRTP_SRTP_MAX_MKI_LEN, DSRTP_ERR_INVALID_ARG);
    take_remote(s->setup, r);
    return DSRTP_OK;
}

/* ---- keys ---- */

static dsrtp_err install(dsrtp_session *s, dsrtp_profile p, const uint8_t *tx_key,
                         const uint8_t *tx_salt, const uint8_t *tx_mki, size_t tx_mki_len,
                         const uint8_t *rx_key, const uint8_t *rx_salt, const uint8_t *rx_mki,
                         size_t rx_mki_len)
{
    dsrtp_srtp_cfg c;
    dsrtp_srtp_cfg_init(&c);
    c.profile = p;
    c.master_key_len = dsrtp_profile_key_len(p);
    c.master_salt_len = dsrtp_profile_salt_len(p);
    c.max_streams = s->max_streams;
    c.replay_window = s->replay_window;
    c.master_key = tx_key;
    c.master_salt = tx_salt;
    c.mki = tx_mki;
    c.mki_len = tx_mki_len;
    DSRTP_TRY(dsrtp_srtp_tx_new(&c, &s->tx));
    c.master_key = rx_key;
    c.master_salt = rx_salt;
    c.mki = rx_mki;
    c.mki_len = rx_mki_len;
    DSRTP_TRY(dsrtp_srtp_rx_new(&c, &s->rx));
    return DSRTP_OK;
}

static void become_ready(dsrtp_session *s, dsrtp_profile p)
{
    s->state = DSRTP_SESSION_READY;
    s->profile = p;
    s->stats.handshake_us = s->now - s->started_at;
    session_event *e = push_event(s, DSRTP_SESSION_EV_KEYS_READY);
    if (e != NULL) {
        e->profile = (uint8_t)p;
    }
}

/* Why DTLS failed, for the FAILED event. A fatal alert from the peer is named, and
 * bad_certificate is spelt out: in DTLS-SRTP it means the peer's a=fingerprint for us did not
 * match our certificate. The alert is in the endpoint's own FAILED event, which the session
 * otherwise skips: read its events here (no buffer, so queued datagrams stay queued). */
static void dtls_failure_text(dsrtp_session *s, char *why, size_t cap)
{
    dsrtp_dtls *d = s->dtls;
    dsrtp_dtls_failure f = dsrtp_dtls_get_failure(d);
    snprintf(why, cap, "DTLS: %s", dsrtp_dtls_failure_name(f));
    if (f != DSRTP_DTLS_FAIL_ALERT) {
        return;
    }
    dsrtp_dtls_output o;
    while (dsrtp_dtls_poll_output(d, NULL, 0, &o) == DSRTP_OK && o.kind == DSRTP_OUT_EVENT) {
        if (o.event.kind != DSRTP_DTLS_EV_FAILED) {
            continue;
        }
        if (o.event.alert == TLS_ALERT_BAD_CERTIFICATE) {
            snprintf(why, cap, "DTLS: peer refused our certificate (bad_certificate): "
                               "its fingerprint for us does not match");
        } else if (o.event.alert == TLS_ALERT_UNEXPECTED_MESSAGE &&
                   s->role == DSRTP_DTLS_CLIENT && !s->server_hello_seen) {
            /* Our ClientHello was unexpected: the peer is no DTLS server. */
            snprintf(why, cap, "%s", ROLE_CONFLICT);
        } else if (o.event.detail[0] != '\0') {
            snprintf(why, cap, "DTLS: %.88s", o.event.detail);
        }
        return;
    }
}

/* Reads the DTLS state after any call into it: installs keys on success, reports failure
 * and close. */
static void sync_dtls(dsrtp_session *s)
{
    if (s->dtls == NULL || !s->started) {
        return;
    }
    dsrtp_dtls_state st = dsrtp_dtls_get_state(s->dtls);
    if (st == DSRTP_DTLS_STATE_CONNECTED && s->state == DSRTP_SESSION_KEYING) {
        dsrtp_dtls_keys k;
        if (dsrtp_dtls_get_keys(s->dtls, &k) != DSRTP_OK) {
            fail(s, "DTLS keys unavailable");
            return;
        }
        dsrtp_profile profile = k.profile;
        dsrtp_err err = install(s, profile, k.local_key, k.local_salt, NULL, 0, k.remote_key,
                                k.remote_salt, NULL, 0);
        dsrtp_wipe(&k, sizeof k);
        if (err != DSRTP_OK) {
            fail(s, "SRTP key install failed");
            return;
        }
        become_ready(s, profile);
    } else if (st == DSRTP_DTLS_STATE_FAILED && s->state != DSRTP_SESSION_FAILED) {
        char why[96];
        dtls_failure_text(s, why, sizeof why);
        fail(s, why);
    } else if (st == DSRTP_DTLS_STATE_CLOSED && (s->state == DSRTP_SESSION_READY ||
                                                 s->state == DSRTP_SESSION_KEYING)) {
        s->state = DSRTP_SESSION_CLOSED;
        (void)push_event(s, DSRTP_SESSION_EV_CLOSED);
    }
}

/* DTLS: keeps the peer's fingerprints for later offers to repeat (exactly as many as it
 * gave; the endpoint has its own copy for the handshake). */
static dsrtp_err keep_fingerprints(dsrtp_session *s, const dsrtp_session_remote *r)
{
    DSRTP_CHECK(r->fingerprint_count <= DSRTP_DTLS_MAX_FINGERPRINTS, DSRTP_ERR_INVALID_ARG);
    free(s->fingerprints);
    s->fingerprints = NULL;
    s->fingerprint_count = 0;
    if (r->fingerprint_count == 0) {
        return DSRTP_OK;
    }
    s->fingerprints = malloc(r->fingerprint_count * sizeof *s->fingerprints);
    DSRTP_CHECK(s->fingerprints != NULL, DSRTP_ERR_NO_MEMORY);
    memcpy(s->fingerprints, r->fingerprints, r->fingerprint_count * sizeof *s->fingerprints);
    s->fingerprint_count = r->fingerprint_count;
    return DSRTP_OK;
}

static void keep_sdes_key(dsrtp_session *s, const dsrtp_session_remote *r)
{
    memcpy(s->sdes_rx.key, r->sdes_key, sizeof s->sdes_rx.key);
    memcpy(s->sdes_rx.salt, r->sdes_salt, sizeof s->sdes_rx.salt);
    memcpy(s->sdes_rx.mki, r->sdes_mki, sizeof s->sdes_rx.mki);
    s->sdes_rx.mki_len = r->sdes_mki_len;
}

/* Keying once started: DTLS begins, SDES keys are installed, plain RTP is ready. */
static dsrtp_err start_keying(dsrtp_session *s, const session_setup *u)
{
    const dsrtp_session_remote *r = &u->remote;
    switch (s->keying) {
    case DSRTP_KEYING_DTLS:
        DSRTP_TRY(dsrtp_dtls_start(s->dtls, s->now));
        /* Our ClientHello still goes out, so that the peer sees the conflict too. */
        if (s->peer_hello_held && s->role == DSRTP_DTLS_CLIENT) {
            fail(s, ROLE_CONFLICT);
        }
        sync_dtls(s);
        break;
    case DSRTP_KEYING_SDES: {
        dsrtp_err err = install(s, u->sdes_profile, u->sdes_key, u->sdes_salt, u->sdes_mki,
                                u->sdes_mki_len, r->sdes_key, r->sdes_salt, r->sdes_mki,
                                r->sdes_mki_len);
        if (err != DSRTP_OK) {
            fail(s, "SDES key install failed");
            return err;
        }
        keep_sdes_key(s, r);
        become_ready(s, u->sdes_profile);
        break;
    }
    case DSRTP_KEYING_NONE:
        become_ready(s, DSRTP_PROFILE_NONE);
        break;
    }
    return DSRTP_OK;
}

dsrtp_err dsrtp_session_start(dsrtp_session *s, dsrtp_time now)
{
    /* Not after a close either: a closed session stays closed. */
    DSRTP_CHECK(s != NULL && !s->started && s->state == DSRTP_SESSION_NEW && s->setup != NULL,
                DSRTP_ERR_INVALID_ARG);
    if (now > s->now) {
        s->now = now;
    }
    const dsrtp_session_remote *r = &s->setup->remote;
    if (s->keying == DSRTP_KEYING_DTLS) {
        DSRTP_TRY(dsrtp_dtls_set_role(s->dtls, r->dtls_role));
        DSRTP_TRY(dsrtp_dtls_set_remote_fingerprints(s->dtls, r->fingerprints,
                                                     r->fingerprint_count));
        DSRTP_TRY(keep_fingerprints(s, r));
    }
    if (s->ice != NULL && r->ice_ufrag[0] != '\0') {
        DSRTP_TRY(dsrtp_ice_lite_set_remote(s->ice, r->ice_ufrag, r->ice_pwd));
    }
    s->role = r->dtls_role;
    s->ice_gating = s->ice != NULL && r->ice_ufrag[0] != '\0' && !r->ice_lite;
    if (!s->ice_gating && r->has_addr) {
        set_dest(s, &r->addr, false);
    }
    s->started = true;
    s->started_at = s->now;
    s->state = DSRTP_SESSION_KEYING;
    /* From here on nothing reads the setup again: its keys now live in the SRTP contexts,
     * the ICE credentials in the agent, the fingerprints in the endpoint (and above). */
    dsrtp_err err = start_keying(s, s->setup);
    drop_setup(s);
    return err;
}

static bool same_fingerprint(const dsrtp_fingerprint *x, const dsrtp_fingerprint *y)
{
    return x->hash == y->hash && x->len == y->len && x->len <= sizeof x->value &&
           dsrtp_ct_eq(x->value, y->value, x->len);
}

/* The same set (RFC 8842 §5 compares sets: the order of the lines does not matter). */
static bool same_fingerprints(const dsrtp_session *s, const dsrtp_session_remote *r)
{
    if (s->fingerprint_count != r->fingerprint_count) {
        return false;
    }
    for (size_t i = 0; i < s->fingerprint_count; i++) {
        bool found = false;
        for (size_t j = 0; j < r->fingerprint_count && !found; j++) {
            found = same_fingerprint(&s->fingerprints[i], &r->fingerprints[j]);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static bool same_sdes_key(const session_sdes_key *a, const dsrtp_session_remote *b)
{
    return a->mki_len == b->sdes_mki_len &&
           dsrtp_ct_eq(a->key, b->sdes_key, sizeof a->key) &&
           dsrtp_ct_eq(a->salt, b->sdes_salt, sizeof a->salt) &&
           dsrtp_ct_eq(a->mki, b->sdes_mki, sizeof a->mki);
}

dsrtp_err dsrtp_session_update_remote(dsrtp_session *s, const dsrtp_session_remote *r)
{
    DSRTP_CHECK(s != NULL && r != NULL && s->started, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(r->fingerprint_count <= DSRTP_DTLS_MAX_FINGERPRINTS &&
                    r->sdes_mki_len <= DSRTP_SRTP_MAX_MKI_LEN,
                DSRTP_ERR_INVALID_ARG);
    if (s->keying == DSRTP_KEYING_DTLS) {
        /* RFC 8842 §5: another fingerprint or role means another association. */
        DSRTP_CHECK(r->dtls_role == s->role && same_fingerprints(s, r), DSRTP_ERR_INVALID_ARG);
    }
    char ufrag[DSRTP_ICE_CRED_MAX];
    char pwd[DSRTP_ICE_CRED_MAX];
    copy_cred(ufrag, r->ice_ufrag);
    copy_cred(pwd, r->ice_pwd);
    /* The agent holds the peer's credentials: giving it the same ones again changes
     * nothing, new ones (an ICE restart) are used for the peer's checks from now on. */
    bool ice_creds = s->ice != NULL && ufrag[0] != '\0';
    /* Make everything that can fail before changing anything. */
    dsrtp_srtp_rx *rx = NULL;
    dsrtp_err err = DSRTP_OK;
    if (s->keying == DSRTP_KEYING_SDES && s->rx != NULL && !same_sdes_key(&s->sdes_rx, r)) {
        dsrtp_srtp_cfg c;
        dsrtp_srtp_cfg_init(&c);
        c.profile = s->profile;
        c.master_key_len = dsrtp_profile_key_len(s->profile);
        c.master_salt_len = dsrtp_profile_salt_len(s->profile);
        c.max_streams = s->max_streams;
        c.replay_window = s->replay_window;
        c.master_key = r->sdes_key;
        c.master_salt = r->sdes_salt;
        c.mki = r->sdes_mki;
        c.mki_len = r->sdes_mki_len;
        err = dsrtp_srtp_rx_new(&c, &rx);
    }
    if (err == DSRTP_OK && ice_creds) {
        err = dsrtp_ice_lite_set_remote(s->ice, ufrag, pwd);
    }
    dsrtp_wipe(pwd, sizeof pwd);
    if (err != DSRTP_OK) {
        dsrtp_srtp_rx_free(rx);
        return err;
    }
    if (rx != NULL) {
        /* The fallback is the last key known to be in use: after two re-keys without a
         * packet under the first, the first is dropped and the old fallback stays. */
        if (s->rx_prev != NULL) {
            dsrtp_srtp_rx_free(s->rx);
        } else {
            s->rx_prev = s->rx;
        }
        s->rx = rx;
        keep_sdes_key(s, r);
    }
    if (r->has_addr && !s->ice_gating) {
        set_dest(s, &r->addr, true);
    }
    return DSRTP_OK;
}

dsrtp_err dsrtp_session_restart_ice(dsrtp_session *s, const char *ufrag, const char *pwd,
                                    const char *peer_ufrag, const char *peer_pwd)
{
    DSRTP_CHECK(s != NULL && s->ice != NULL && s->started, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(s->state == DSRTP_SESSION_KEYING || s->state == DSRTP_SESSION_READY,
                DSRTP_ERR_NOT_READY);
    /* RFC 8445 §9: a restart flushes the ICE state but "data can continue to be sent using
     * existing data sessions": the destination, the addresses already validated (media
     * from the path in use is still accepted) and the DTLS association stay; only the
     * credentials change. A new nomination moves the path (ADDRESS_CHANGED). */
    const char *u = ufrag != NULL && ufrag[0] != '\0' ? ufrag : NULL;
    const char *p = pwd != NULL && pwd[0] != '\0' ? pwd : NULL;
    dsrtp_err err = dsrtp_ice_lite_restart(s->ice, u, p, peer_ufrag, peer_pwd);
    return err == DSRTP_ERR_CLOSED ? DSRTP_ERR_NOT_READY : err;
}

/* ---- input ---- */

/* True when a passed a connectivity check, whether or not checks gate anything (before
 * start that is not known yet, and checks may already arrive). */
static bool was_checked(const dsrtp_session *s, const dsrtp_addr *a)
{
    for (size_t i = 0; i < s->validated_count; i++) {
        if (dsrtp_addr_equal(&s->validated[i], a)) {
            return true;
        }
    }
    return false;
}

static bool is_validated(const dsrtp_session *s, const dsrtp_addr *a)
{
    return !s->ice_gating || was_checked(s, a);
}

/* Whether DTLS from a counts. Before start it is unknown whether the peer does full ICE;
 * with ICE on, hold only what comes from a checked address (the peer retransmits). */
static bool dtls_allowed(const dsrtp_session *s, const dsrtp_addr *a)
{
    return s->started || s->ice == NULL ? is_validated(s, a) : was_checked(s, a);
}

static void remember_validated(dsrtp_session *s, const dsrtp_addr *a)
{
    if (was_checked(s, a)) {
        return;
    }
    s->validated[s->validated_next] = *a;
    s->validated_next = (s->validated_next + 1) % VALIDATED_MAX;
    if (s->validated_count < VALIDATED_MAX) {
        s->validated_count++;
    }
    /* Before the peer nominates, answer DTLS towards the latest checked address. */
    if (!s->ice_selected) {
        set_dest(s, a, false);
    }
}

static dsrtp_err on_stun(dsrtp_session *s, const dsrtp_addr *from, const uint8_t *buf,
                         size_t len)
{
    if (s->ice == NULL) {
        s->stats.stun_dropped++;
        return DSRTP_ERR_MALFORMED;
    }
    dsrtp_ice_stats before;
    dsrtp_ice_stats after;
    dsrtp_ice_lite_get_stats(s->ice, &before);
    dsrtp_err err = dsrtp_ice_lite_handle_datagram(s->ice, s->now, from, buf, len);
    dsrtp_ice_lite_get_stats(s->ice, &after);
    if (err == DSRTP_OK) {
        s->stats.stun_answered++;
        /* OK also covers indications (no credentials) and 420/487 answers: only a check
         * the agent accepted validates its source (RFC 8445 §7.3.1.4). */
        if (after.checks_answered > before.checks_answered) {
            remember_validated(s, from);
        }
    } else {
        s->stats.stun_dropped++;
    }
    /* After consent loss the agent is finished; the session reports it as a failure. */
    return err == DSRTP_ERR_CLOSED ? DSRTP_ERR_NOT_READY : err;
}

/* The message type of the first record when it is an epoch-0 handshake record (RFC 6347
 * §4.1, §4.2.2): 1 ClientHello, 2 ServerHello, 3 HelloVerifyRequest; -1 otherwise. */
static int first_handshake_type(const uint8_t *buf, size_t len)
{
    return len >= 14 && buf[0] == 22 && buf[3] == 0 && buf[4] == 0 ? buf[13] : -1;
}

static dsrtp_err on_dtls(dsrtp_session *s, const dsrtp_addr *from, const uint8_t *buf,
                         size_t len)
{
    if (s->dtls == NULL || !dtls_allowed(s, from)) {
        s->stats.dtls_dropped++;
        return s->dtls == NULL ? DSRTP_ERR_MALFORMED : DSRTP_ERR_NOT_READY;
    }
    int hs = first_handshake_type(buf, len);
    /* Without ICE gating anyone may send us a ClientHello, while our handshake flights go
     * to dest: one from any other address cannot start a handshake that completes, and
     * passing it on would let one unauthenticated datagram end the call. A DTLS client
     * (OpenSSL) aborts on it, and it would pass for a role conflict; a DTLS server takes
     * the first ClientHello it reads, so a forged one that beats the peer's binds the
     * handshake to a transcript the peer cannot finish. Drop it, as a lossy link would. */
    if (hs == 1 && s->started && !s->ice_gating && s->has_dest &&
        !dsrtp_addr_equal(&s->dest, from)) {
        s->stats.dtls_dropped++;
        return DSRTP_ERR_NOT_READY;
    }
    /* Both sides DTLS clients (the SDP roles disagree, e.g. an answer edited on the way):
     * OpenSSL would only say "unexpected message"; name the cause. The ClientHello still
     * goes to OpenSSL, whose unexpected_message alert tells the peer (see
     * dtls_failure_text). */
    if (hs == 1 && !s->started) {
        s->peer_hello_held = true;
    } else if (hs == 1 && s->state == DSRTP_SESSION_KEYING &&
               s->role == DSRTP_DTLS_CLIENT) {
        fail(s, ROLE_CONFLICT);
    } else if (hs == 2 || hs == 3) {
        s->server_hello_seen = true;
    }
    if (!s->ice_gating && !s->has_dest) {
        /* No ICE and no SDP address yet: answer where the handshake comes from. */
        set_dest(s, from, false);
    }
    dsrtp_err err = dsrtp_dtls_handle_datagram(s->dtls, s->now, buf, len);
    if (err != DSRTP_OK) {
        s->stats.dtls_dropped++;
    }
    sync_dtls(s);
    return err;
}

static void count_refusal(dsrtp_session *s, dsrtp_err err)
{
    switch (err) {
    case DSRTP_ERR_AUTH: s->stats.auth_failures++; break;
    case DSRTP_ERR_REPLAY: s->stats.replays++; break;
    default: s->stats.malformed++; break;
    }
}

static dsrtp_err rx_unprotect(dsrtp_srtp_rx *rx, bool rtcp, uint8_t *buf, size_t len,
                              size_t *plain)
{
    return rtcp ? dsrtp_srtp_rx_unprotect_rtcp(rx, buf, len, plain)
                : dsrtp_srtp_rx_unprotect(rx, buf, len, plain);
}

/* After an SDES re-key the peer may still send with its old key for a while: what the new
 * context refuses is tried with the old one (a refused packet leaves buf and both contexts
 * unchanged), and the old one goes once the new key has authenticated a packet. */
static dsrtp_err unprotect(dsrtp_session *s, bool rtcp, uint8_t *buf, size_t len,
                           size_t *plain)
{
    dsrtp_err err = rx_unprotect(s->rx, rtcp, buf, len, plain);
    if (s->rx_prev == NULL) {
        return err;
    }
    if (err == DSRTP_OK) {
        dsrtp_srtp_rx_free(s->rx_prev);
        s->rx_prev = NULL;
        return err;
    }
    if (err == DSRTP_ERR_AUTH && rx_unprotect(s->rx_prev, rtcp, buf, len, plain) == DSRTP_OK) {
        return DSRTP_OK;
    }
    return err;
}

static dsrtp_err on_media(dsrtp_session *s, bool rtcp, const dsrtp_addr *from, uint8_t *buf,
                          size_t len, dsrtp_input *res)
{
    if (s->state != DSRTP_SESSION_READY || !is_validated(s, from)) {
        s->stats.dropped_not_ready++;
        return DSRTP_ERR_NOT_READY;
    }
    size_t plain = len;
    dsrtp_err err = DSRTP_OK;
    if (s->keying == DSRTP_KEYING_NONE) {
        err = len >= (rtcp ? 8u : 12u) ? DSRTP_OK : DSRTP_ERR_MALFORMED;
    } else {
        err = unprotect(s, rtcp, buf, len, &plain);
    }
    if (err != DSRTP_OK) {
        count_refusal(s, err);
        return err;
    }
    /* Latch only onto authenticated sources (plain RTP authenticates nothing). */
    if (!s->ice_gating && s->latch && s->keying != DSRTP_KEYING_NONE) {
        set_dest(s, from, s->has_dest);
    }
    if (rtcp) {
        s->stats.rtcp_received++;
    } else {
        s->stats.rtp_received++;
    }
    s->stats.bytes_received += plain;
    res->kind = rtcp ? DSRTP_INPUT_RTCP : DSRTP_INPUT_RTP;
    res->len = plain;
    return DSRTP_OK;
}

dsrtp_err dsrtp_session_handle_datagram(dsrtp_session *s, dsrtp_time now,
                                        const dsrtp_addr *from, uint8_t *buf, size_t len,
                                        dsrtp_input *res)
{
    DSRTP_CHECK(s != NULL && from != NULL && buf != NULL && res != NULL, DSRTP_ERR_INVALID_ARG);
    if (now > s->now) {
        s->now = now;
    }
    *res = (dsrtp_input){DSRTP_INPUT_CONSUMED, 0};
    if (s->state == DSRTP_SESSION_FAILED || s->state == DSRTP_SESSION_CLOSED) {
        return DSRTP_ERR_NOT_READY;
    }
    switch (dsrtp_demux(buf, len)) {
    case DSRTP_DEMUX_STUN: return on_stun(s, from, buf, len);
    case DSRTP_DEMUX_DTLS: return on_dtls(s, from, buf, len);
    case DSRTP_DEMUX_RTP: return on_media(s, false, from, buf, len, res);
    case DSRTP_DEMUX_RTCP: return on_media(s, true, from, buf, len, res);
    default:
        s->stats.malformed++;
        return DSRTP_ERR_MALFORMED;
    }
}

dsrtp_err dsrtp_session_handle_timeout(dsrtp_session *s, dsrtp_time now)
{
    DSRTP_CHECK(s != NULL, DSRTP_ERR_INVALID_ARG);
    if (now > s->now) {
        s->now = now;
    }
    if (s->ice != NULL) {
        bool had_consent = dsrtp_ice_lite_has_consent(s->ice);
        DSRTP_TRY(dsrtp_ice_lite_handle_timeout(s->ice, s->now));
        /* Stop at once, not at the next poll: no media may go out after consent ends. */
        if (had_consent && !dsrtp_ice_lite_has_consent(s->ice)) {
            fail(s, "ICE consent lost (RFC 7675)");
        }
    }
    if (s->dtls != NULL && s->started) {
        DSRTP_TRY(dsrtp_dtls_handle_timeout(s->dtls, s->now));
        sync_dtls(s);
    }
    return DSRTP_OK;
}

dsrtp_time dsrtp_session_next_deadline(const dsrtp_session *s)
{
    if (s == NULL || s->state == DSRTP_SESSION_FAILED || s->state == DSRTP_SESSION_CLOSED) {
        return DSRTP_TIME_NEVER;
    }
    dsrtp_time d = DSRTP_TIME_NEVER;
    if (s->ice != NULL) {
        dsrtp_time t = dsrtp_ice_lite_next_deadline(s->ice);
        d = t < d ? t : d;
    }
    if (s->dtls != NULL && s->started) {
        dsrtp_time t = dsrtp_dtls_next_deadline(s->dtls);
        d = t < d ? t : d;
    }
    return d;
}

/* ---- output ---- */

static void on_ice_event(dsrtp_session *s, const dsrtp_ice_event *ev)
{
    if (ev->kind == DSRTP_ICE_EV_SELECTED) {
        bool first = !s->ice_selected;
        s->ice_selected = true;
        set_dest(s, &ev->addr, false);
        session_event *e =
            push_event(s, first ? DSRTP_SESSION_EV_CONNECTED : DSRTP_SESSION_EV_ADDRESS_CHANGED);
        if (e != NULL) {
            e->addr = ev->addr;
        }
    } else if (ev->kind == DSRTP_ICE_EV_CONSENT_LOST) {
        fail(s, "ICE consent lost (RFC 7675)");
    }
}

dsrtp_err dsrtp_session_poll_output(dsrtp_session *s, uint8_t *buf, size_t cap,
                                    dsrtp_session_output *out)
{
    DSRTP_CHECK(s != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    *out = (dsrtp_session_output){0};
    for (;;) {
        if (s->ev_count > 0) {
            out->kind = DSRTP_OUT_EVENT;
            event_out(s, &s->events[s->ev_head], &out->event);
            s->ev_head = (s->ev_head + 1) % SESSION_EVENTS;
            s->ev_count--;
            return DSRTP_OK;
        }
        if (s->ice == NULL) {
            break;
        }
        dsrtp_ice_output io;
        dsrtp_err err = dsrtp_ice_lite_poll_output(s->ice, buf, cap, &io);
        if (err != DSRTP_OK) {
            out->len = io.len;
            return err;
        }
        if (io.kind == DSRTP_OUT_EVENT) {
            on_ice_event(s, &io.event);
            continue;
        }
        if (io.kind == DSRTP_OUT_DATAGRAM) {
            out->kind = DSRTP_OUT_DATAGRAM;
            out->len = io.len;
            out->to = io.to;
            return DSRTP_OK;
        }
        break;
    }
    /* DTLS datagrams wait in the endpoint until there is somewhere to send them. */
    while (s->dtls != NULL && s->has_dest && s->started) {
        dsrtp_dtls_output dout;
        dsrtp_err err = dsrtp_dtls_poll_output(s->dtls, buf, cap, &dout);
        if (err != DSRTP_OK) {
            out->len = dout.len;
            return err;
        }
        if (dout.kind == DSRTP_OUT_EVENT) {
            continue; /* state is read with sync_dtls instead */
        }
        if (dout.kind == DSRTP_OUT_DATAGRAM) {
            out->kind = DSRTP_OUT_DATAGRAM;
            out->len = dout.len;
            out->to = s->dest;
            return DSRTP_OK;
        }
        break;
    }
    out->kind = DSRTP_OUT_IDLE;
    out->deadline = dsrtp_session_next_deadline(s);
    return DSRTP_OK;
}

dsrtp_err dsrtp_session_protect(dsrtp_session *s, bool rtcp, uint8_t *buf, size_t len,
                                size_t cap, size_t *out_len, dsrtp_addr *to)
{
    DSRTP_CHECK(s != NULL && buf != NULL && out_len != NULL && to != NULL,
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(s->state == DSRTP_SESSION_READY && s->has_dest, DSRTP_ERR_NOT_READY);
    size_t n = len;
    if (s->keying == DSRTP_KEYING_NONE) {
        DSRTP_CHECK(cap >= len, DSRTP_ERR_BUFFER_TOO_SMALL);
    } else if (rtcp) {
        DSRTP_TRY(dsrtp_srtp_tx_protect_rtcp(s->tx, buf, len, cap, &n));
    } else {
        DSRTP_TRY(dsrtp_srtp_tx_protect(s->tx, buf, len, cap, &n));
    }
    if (rtcp) {
        s->stats.rtcp_sent++;
    } else {
        s->stats.rtp_sent++;
    }
    s->stats.bytes_sent += len;
    *out_len = n;
    *to = s->dest;
    return DSRTP_OK;
}

dsrtp_err dsrtp_session_close(dsrtp_session *s)
{
    DSRTP_CHECK(s != NULL, DSRTP_ERR_INVALID_ARG);
    if (s->dtls != NULL && s->started) {
        DSRTP_TRY(dsrtp_dtls_close(s->dtls));
    }
    if (s->state != DSRTP_SESSION_FAILED) {
        s->state = DSRTP_SESSION_CLOSED;
    }
    return DSRTP_OK;
}

dsrtp_session_state dsrtp_session_get_state(const dsrtp_session *s)
{
    return s != NULL ? s->state : DSRTP_SESSION_FAILED;
}

dsrtp_profile dsrtp_session_get_profile(const dsrtp_session *s)
{
    return s != NULL ? s->profile : DSRTP_PROFILE_NONE;
}

const char *dsrtp_session_get_ice_ufrag(const dsrtp_session *s)
{
    return s != NULL && s->ice != NULL ? dsrtp_ice_lite_get_local_ufrag(s->ice) : NULL;
}

const char *dsrtp_session_get_ice_pwd(const dsrtp_session *s)
{
    return s != NULL && s->ice != NULL ? dsrtp_ice_lite_get_local_pwd(s->ice) : NULL;
}

void dsrtp_session_get_stats(const dsrtp_session *s, dsrtp_session_stats *out)
{
    if (s != NULL && out != NULL) {
        *out = s->stats;
    }
}
