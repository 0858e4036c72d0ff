/* Fuzz target: the media session's datagram entry point. Two sessions per input: one keyed
 * with fixed SDES keys (latching on unless selected off), one with DTLS keying and ICE-lite
 * facing a full-ICE peer (fixed ICE credentials, certificate from the PEM below, so no
 * path depends on the RNG). The input is a selector byte (SEL_*: SDES profile and MKI,
 * DTLS role, whether the peer is lite, late start), then chunks:
 *
 *   ctl (1 byte) | length (2 bytes, big endian, clipped to what is left) | bytes
 *
 * ctl bits 0-1 pick the source address (the SDP address, another IPv4 one, a third, an
 * IPv6 one; for op 6, bit 0 means RTCP), bits 2-4 the operation, bits 5-7 how far time
 * moves first. Operations: 0-2 hand the bytes to both sessions as a datagram; 3 sends a
 * genuine connectivity check (flags from the first byte) to the ICE session; 4/5 protect
 * the bytes as RTP/RTCP with the peer's SDES key and feed that to the SDES session; 6
 * protects the bytes on both sessions; 7 lets time pass (handle_timeout), starts the DTLS
 * session if it waited, or closes a session.
 *
 * After every call both sessions are drained until IDLE. Oracles: a datagram the poll
 * refused for want of room comes out at the size it announced on the retry; what the SDES
 * session protects unprotects with the peer's key to the same bytes; what the peer
 * protects comes out of the SDES session as exactly those bytes whenever it is accepted;
 * start succeeds exactly on a NEW session. DTLS retransmission timers are set to the
 * maximum, so OpenSSL's own clock never fires within a run. */
#include <stdlib.h>
#include <string.h>

#include <dsrtp/session.h>

#include "util/util_int.h" /* DSRTP_TRY */

static const char fuzz_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBczCCARmgAwIBAgIUPKnfocsEw5DyseACeJQwtAKKhZwwCgYIKoZIzj0EAwIw\n"
    "DzENMAsGA1UEAwwEZnV6ejAeFw0yNjExMjcwNTQ0MDFaFw0zNjExMjQwNTQ0MDFa\n"
    "MA8xDTALBgNVBAMMBGZ1enowWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARZQkb8\n"
    "pJ7rrbdk1H+2k3f/QiSxZqiYNmQcHS1aSg7qAolqoMkHtmIHVdgBVwxz6AEywwnS\n"
    "H3Xj4WtJIe8rCLjXo1MwUTAdBgNVHQ4EFgQUZckAkezZaRDGXBGk4uGpd5utneQw\n"
    "HwYDVR0jBBgwFoAUZckAkezZaRDGXBGk4uGpd5utneQwDwYDVR0TAQH/BAUwAwEB\n"
    "/zAKBggqhkjOPQQDAgNIADBFAiEAhOAJYOO4yRIDvEwknLIfxiPqKp+ueoK6afn4\n"
    "jVIlRcoCICcGA7Qr9iteLXm97KQB/kPFs74aCsI6qGmJTydQUY8d\n"
    "-----END CERTIFICATE-----\n";

/* A throwaway key for this test certificate only. */
static const char fuzz_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFfNC2eJXSyCXTut/\n"
    "k9N58oH6/mN31B931sAq8q+AqgWhRANCAARZQkb8pJ7rrbdk1H+2k3f/QiSxZqiY\n"
    "NmQcHS1aSg7qAolqoMkHtmIHVdgBVwxz6AEywwnSH3Xj4WtJIe8rCLjX\n"
    "-----END PRIVATE KEY-----\n";

#define FZ_LOCAL_UFRAG "FuzzUfrg"
#define FZ_LOCAL_PWD "FuzzIcePasswordFuzzIcePw"
#define FZ_PEER_UFRAG "PeerUfrg"
#define FZ_PEER_PWD "PeerIcePasswordPeerIcePw"
#define FZ_MAX_CHUNKS 48
#define FZ_BUF 4096
#define FZ_SMALL_CAP 40 /* first poll attempt: exercises BUFFER_TOO_SMALL */

/* Our SDES send key and the peer's (our receive key); the MKI is used when selected. */
static const uint8_t fz_key_local[32] = {
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
    0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0};
static const uint8_t fz_salt_local[14] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70,
                                          0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0};
static const uint8_t fz_key_peer[32] = {
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
    0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
static const uint8_t fz_salt_peer[14] = {0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08,
                                         0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
static const uint8_t fz_mki[4] = {0xde, 0xad, 0xbe, 0xef};

/* Source addresses: [0] is the peer's SDP address. */
static const dsrtp_addr fz_src[4] = {
    {4, 20000, {127, 0, 0, 1}},
    {4, 20002, {127, 0, 0, 1}},
    {4, 40001, {192, 0, 2, 1}},
    {6, 40006, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}},
};

static const dsrtp_time fz_steps[8] = {0, 1000, 10000, 100000, 1000000, 5000000, 30000000,
                                       60000000};

static dsrtp_cert *fz_cert; /* loaded once; stays referenced for the process */

/* Selector bits. */
#define SEL_PROFILE(s) ((dsrtp_profile)(1 + ((s) & 7u) % (DSRTP_PROFILE_COUNT - 1)))
#define SEL_CLIENT 0x08u     /* the DTLS session is the client */
#define SEL_MKI 0x10u        /* SDES with an MKI */
#define SEL_PEER_LITE 0x20u  /* the peer is ICE-lite too: no gating */
#define SEL_NO_LATCH 0x40u   /* SDES session does not latch */
#define SEL_LATE_START 0x80u /* the DTLS session starts at the first op 7, not at once */

/* Check flags (first payload byte of op 3). */
#define CHK_NOMINATE 0x01u
#define CHK_NOT_CONTROLLING 0x02u
#define CHK_CONTROLLED 0x04u /* answered with 487 */
#define CHK_WRONG_PEER 0x08u
#define CHK_INDICATION 0x10u

typedef struct fz {
    dsrtp_session *s[2]; /* 0: SDES, 1: DTLS + ICE */
    bool started[2];
    dsrtp_srtp_tx *peer_tx; /* the peer's send side: what session 0 receives */
    dsrtp_srtp_rx *peer_rx; /* the peer's receive side: checks what session 0 sends */
    dsrtp_time now;
    uint8_t *buf;   /* FZ_BUF: datagrams and packets */
    uint8_t *out;   /* FZ_BUF: poll output */
    uint32_t checks;
} fz;

static void fz_load_cert(void)
{
    if (fz_cert == NULL &&
        dsrtp_cert_load_pem(fuzz_cert_pem, sizeof fuzz_cert_pem - 1, fuzz_key_pem,
                            sizeof fuzz_key_pem - 1, &fz_cert) != DSRTP_OK) {
        abort();
    }
}

/* Drains session i until IDLE: a refused poll must come out identical on the retry. */
static void fz_drain(fz *f, int i)
{
    for (int n = 0;; n++) {
        if (n > 1000) {
            abort(); /* output that never ends */
        }
        dsrtp_session_output o;
        dsrtp_err e = dsrtp_session_poll_output(f->s[i], f->out, FZ_SMALL_CAP, &o);
        if (e == DSRTP_ERR_BUFFER_TOO_SMALL) {
            size_t need = o.len;
            if (need <= FZ_SMALL_CAP || need > FZ_BUF) {
                abort();
            }
            e = dsrtp_session_poll_output(f->s[i], f->out, FZ_BUF, &o);
            if (e != DSRTP_OK || o.kind != DSRTP_OUT_DATAGRAM || o.len != need) {
                abort();
            }
        }
        if (e != DSRTP_OK) {
            abort(); /* polling has no other failure */
        }
        if (o.kind == DSRTP_OUT_IDLE) {
            return;
        }
        if (o.kind == DSRTP_OUT_DATAGRAM && (o.to.family != 4 && o.to.family != 6)) {
            abort(); /* a datagram for nowhere */
        }
    }
}

static void fz_drain_all(fz *f)
{
    fz_drain(f, 0);
    fz_drain(f, 1);
}

static dsrtp_err fz_new_sessions(fz *f, uint8_t sel)
{
    dsrtp_profile p = SEL_PROFILE(sel);
    size_t mki_len = (sel & SEL_MKI) ? sizeof fz_mki : 0;
    dsrtp_session_cfg c;
    dsrtp_session_cfg_init(&c);
    c.keying = DSRTP_KEYING_SDES;
    c.sdes_profile = p;
    memcpy(c.sdes_key, fz_key_local, sizeof c.sdes_key);
    memcpy(c.sdes_salt, fz_salt_local, sizeof c.sdes_salt);
    memcpy(c.sdes_mki, fz_mki, mki_len);
    c.sdes_mki_len = mki_len;
    memcpy(c.remote.sdes_key, fz_key_peer, sizeof c.remote.sdes_key);
    memcpy(c.remote.sdes_salt, fz_salt_peer, sizeof c.remote.sdes_salt);
    memcpy(c.remote.sdes_mki, fz_mki, mki_len);
    c.remote.sdes_mki_len = mki_len;
    c.remote.has_addr = true;
    c.remote.addr = fz_src[0];
    c.latch = (sel & SEL_NO_LATCH) == 0;
    c.max_streams = 4;
    c.replay_window = 64;
    DSRTP_TRY(dsrtp_session_new(&c, &f->s[0]));

    dsrtp_session_cfg_init(&c);
    c.cert = fz_cert;
    c.dtls_initial_rto = DSRTP_DTLS_MAX_RTO; /* OpenSSL's clock never fires in a run */
    c.dtls_timeout = 20000000;
    c.ice = true;
    memcpy(c.ice_ufrag, FZ_LOCAL_UFRAG, sizeof FZ_LOCAL_UFRAG);
    memcpy(c.ice_pwd, FZ_LOCAL_PWD, sizeof FZ_LOCAL_PWD);
    c.consent_timeout = 2000000;
    c.max_streams = 4;
    c.remote.has_addr = true;
    c.remote.addr = fz_src[0];
    c.remote.dtls_role = (sel & SEL_CLIENT) ? DSRTP_DTLS_CLIENT : DSRTP_DTLS_SERVER;
    DSRTP_TRY(dsrtp_cert_fingerprint(fz_cert, DSRTP_HASH_SHA256, &c.remote.fingerprints[0]));
    c.remote.fingerprint_count = 1;
    memcpy(c.remote.ice_ufrag, FZ_PEER_UFRAG, sizeof FZ_PEER_UFRAG);
    memcpy(c.remote.ice_pwd, FZ_PEER_PWD, sizeof FZ_PEER_PWD);
    c.remote.ice_lite = (sel & SEL_PEER_LITE) != 0;
    DSRTP_TRY(dsrtp_session_new(&c, &f->s[1]));

    dsrtp_srtp_cfg sc;
    dsrtp_srtp_cfg_init(&sc);
    sc.profile = p;
    sc.master_key = fz_key_peer;
    sc.master_key_len = dsrtp_profile_key_len(p);
    sc.master_salt = fz_salt_peer;
    sc.master_salt_len = dsrtp_profile_salt_len(p);
    sc.mki = fz_mki;
    sc.mki_len = mki_len;
    sc.max_streams = 4;
    DSRTP_TRY(dsrtp_srtp_tx_new(&sc, &f->peer_tx));
    sc.master_key = fz_key_local;
    sc.master_salt = fz_salt_local;
    return dsrtp_srtp_rx_new(&sc, &f->peer_rx);
}

static void fz_start(fz *f, int i)
{
    if (!f->started[i]) {
        f->started[i] = true;
        /* Start works exactly on a NEW session: consent can be lost before it, and a
         * failed session must stay failed. */
        bool fresh = dsrtp_session_get_state(f->s[i]) == DSRTP_SESSION_NEW;
        if ((dsrtp_session_start(f->s[i], f->now) == DSRTP_OK) != fresh) {
            abort();
        }
        fz_drain(f, i);
    }
}

/* A connectivity check the ICE session accepts (unless flags spoil it on purpose). */
static size_t fz_check(fz *f, uint8_t flags)
{
    dsrtp_stun_msg m;
    dsrtp_stun_msg_init(&m);
    f->checks++;
    for (size_t i = 0; i < DSRTP_STUN_TXID_LEN; i++) {
        m.txid[i] = (uint8_t)(f->checks + i);
    }
    size_t n = 0;
    if (flags & CHK_INDICATION) {
        m.cls = DSRTP_STUN_INDICATION;
        return dsrtp_stun_write(&m, NULL, 0, true, f->buf, FZ_BUF, &n) == DSRTP_OK ? n : 0;
    }
    const char *user = (flags & CHK_WRONG_PEER) ? FZ_LOCAL_UFRAG ":Someone"
                                                : FZ_LOCAL_UFRAG ":" FZ_PEER_UFRAG;
    m.has = DSRTP_STUN_HAS_USERNAME | DSRTP_STUN_HAS_PRIORITY;
    m.username = user;
    m.username_len = strlen(user);
    m.priority = 0x7e0000ffu;
    if (!(flags & CHK_NOT_CONTROLLING)) {
        m.has |= DSRTP_STUN_HAS_ICE_CONTROLLING;
        m.ice_controlling = 0x0102030405060708u;
    }
    if (flags & CHK_CONTROLLED) {
        m.has |= DSRTP_STUN_HAS_ICE_CONTROLLED;
        m.ice_controlled = 0x0807060504030201u;
    }
    if (flags & CHK_NOMINATE) {
        m.has |= DSRTP_STUN_HAS_USE_CANDIDATE;
    }
    if (dsrtp_stun_write(&m, (const uint8_t *)FZ_LOCAL_PWD, sizeof FZ_LOCAL_PWD - 1, true, f->buf,
                         FZ_BUF, &n) != DSRTP_OK) {
        abort();
    }
    return n;
}

/* Feeds buf[0..len) to session i from src and drains it. buf is decrypted in place. */
static dsrtp_err fz_feed(fz *f, int i, const dsrtp_addr *src, size_t len, dsrtp_input *in)
{
    dsrtp_err e = dsrtp_session_handle_datagram(f->s[i], f->now, src, f->buf, len, in);
    if (e == DSRTP_OK && in->len > len) {
        abort(); /* plaintext longer than the datagram */
    }
    if (e != DSRTP_OK && in->kind != DSRTP_INPUT_CONSUMED) {
        abort(); /* refused, yet handed back as media */
    }
    fz_drain(f, i);
    return e;
}

static void fz_raw(fz *f, const dsrtp_addr *src, const uint8_t *p, size_t len)
{
    for (int i = 0; i < 2; i++) {
        dsrtp_input in;
        memcpy(f->buf, p, len);
        (void)fz_feed(f, i, src, len, &in);
    }
}

/* The peer protects p as RTP or RTCP; whatever session 0 accepts must be exactly p. */
static void fz_peer_media(fz *f, const dsrtp_addr *src, bool rtcp, const uint8_t *p, size_t len)
{
    if (len + DSRTP_SRTCP_MAX_TRAILER > FZ_BUF) {
        return;
    }
    memcpy(f->buf, p, len);
    size_t n = 0;
    dsrtp_err e = rtcp ? dsrtp_srtp_tx_protect_rtcp(f->peer_tx, f->buf, len, FZ_BUF, &n)
                       : dsrtp_srtp_tx_protect(f->peer_tx, f->buf, len, FZ_BUF, &n);
    if (e != DSRTP_OK) {
        return;
    }
    dsrtp_input in;
    if (fz_feed(f, 0, src, n, &in) == DSRTP_OK) {
        /* A packet the demultiplexer takes for the other kind is refused by that kind's
         * transform; what is accepted must be the peer's bytes, as the kind it sent. */
        if (in.kind != (rtcp ? DSRTP_INPUT_RTCP : DSRTP_INPUT_RTP) || in.len != len ||
            memcmp(f->buf, p, len) != 0) {
            abort();
        }
    }
}

/* Both sessions protect p; session 0's output must unprotect with the peer's key. */
static void fz_local_media(fz *f, bool rtcp, const uint8_t *p, size_t len)
{
    if (len + DSRTP_SRTCP_MAX_TRAILER > FZ_BUF) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        memcpy(f->buf, p, len);
        size_t n = 0;
        dsrtp_addr to;
        dsrtp_err e = dsrtp_session_protect(f->s[i], rtcp, f->buf, len, FZ_BUF, &n, &to);
        if (e != DSRTP_OK || i != 0) {
            continue;
        }
        size_t back = 0;
        dsrtp_err e2 = rtcp ? dsrtp_srtp_rx_unprotect_rtcp(f->peer_rx, f->buf, n, &back)
                            : dsrtp_srtp_rx_unprotect(f->peer_rx, f->buf, n, &back);
        /* The peer's window refuses a sequence number protected twice, and its table a
         * stream too many; anything else must come back exactly. */
        if (e2 == DSRTP_ERR_REPLAY || e2 == DSRTP_ERR_TABLE_FULL) {
            continue;
        }
        if (e2 != DSRTP_OK || back != len || memcmp(f->buf, p, len) != 0) {
            abort();
        }
    }
}

static void fz_control(fz *f, const uint8_t *p, size_t len)
{
    for (int i = 0; i < 2; i++) {
        if (f->started[i] && dsrtp_session_handle_timeout(f->s[i], f->now) != DSRTP_OK) {
            abort(); /* time passing is never an error */
        }
    }
    fz_start(f, 1);
    if (len >= 1 && p[0] == 0xc5) {
        dsrtp_err e = dsrtp_session_close(f->s[len >= 2 ? p[1] & 1 : 1]);
        (void)e; /* closing twice is allowed to refuse */
    }
    fz_drain_all(f);
}

static void fz_free(fz *f)
{
    dsrtp_session_free(f->s[0]);
    dsrtp_session_free(f->s[1]);
    dsrtp_srtp_tx_free(f->peer_tx);
    dsrtp_srtp_rx_free(f->peer_rx);
    free(f->buf);
    free(f->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384) {
        return 0;
    }
    fz_load_cert();
    fz f = {.now = 1000000};
    f.buf = malloc(FZ_BUF);
    f.out = malloc(FZ_BUF);
    if (f.buf == NULL || f.out == NULL ||
        fz_new_sessions(&f, data[0]) != DSRTP_OK) {
        abort();
    }
    fz_start(&f, 0);
    if ((data[0] & SEL_LATE_START) == 0) {
        fz_start(&f, 1);
    }
    size_t pos = 1;
    for (int chunk = 0; chunk < FZ_MAX_CHUNKS && size - pos >= 3; chunk++) {
        uint8_t ctl = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos) {
            len = size - pos;
        }
        if (len > FZ_BUF - DSRTP_SRTCP_MAX_TRAILER) {
            len = FZ_BUF - DSRTP_SRTCP_MAX_TRAILER;
        }
        const uint8_t *p = data + pos;
        pos += len;
        /* Copy to an exact-size block so a read past the chunk is caught. */
        uint8_t *chunk_bytes = malloc(len > 0 ? len : 1);
        if (chunk_bytes == NULL) {
            abort();
        }
        memcpy(chunk_bytes, p, len);
        const dsrtp_addr *src = &fz_src[ctl & 3];
        f.now += fz_steps[ctl >> 5];
        switch ((ctl >> 2) & 7) {
        case 3: {
            size_t n = fz_check(&f, len > 0 ? chunk_bytes[0] : 0);
            dsrtp_input in;
            (void)fz_feed(&f, 1, src, n, &in);
            break;
        }
        case 4:
        case 5:
            fz_peer_media(&f, src, ((ctl >> 2) & 7) == 5, chunk_bytes, len);
            break;
        case 6:
            fz_local_media(&f, (ctl & 1) != 0, chunk_bytes, len); /* no source: bit 0 = RTCP */
            break;
        case 7:
            fz_control(&f, chunk_bytes, len);
            break;
        default:
            fz_raw(&f, src, chunk_bytes, len);
            break;
        }
        free(chunk_bytes);
    }
    fz_free(&f);
    return 0;
}
