/* Fuzz target: datagrams fed to a DTLS-SRTP endpoint.
 *
 * Input: one flags byte, then datagrams, each a big-endian 16-bit length and that many bytes
 * (the last one takes whatever is left). Flags: bit 0 client role (else server), bit 1 the
 * server asks for a cookie, bit 2 the first datagram arrives before the role and start (it is
 * held), bit 3 no fingerprint is pinned, bit 4 the total handshake timeout passes at the end,
 * bit 5 the smallest MTU, bits 6-7 the SRTP profile list.
 *
 * The endpoint uses a fixed certificate (below, made once with `openssl req`) and pins that
 * same certificate's sha-256 fingerprint, so an input replaying it gets past the fingerprint
 * check. Time is a counter, and retransmission timers are set far beyond one run, so no
 * timer ever fires from OpenSSL's own clock: what happens depends on the input only
 * (OpenSSL's RNG picks randoms and keys, never the path taken through the code).
 *
 * Oracles: handle_datagram and poll_output never report a fatal error; the endpoint is never
 * CONNECTED without a pinned fingerprint, and when it is, the peer's certificate is the pinned
 * one and keys come out; outside CONNECTED no keys come out. */
#include <stdlib.h>
#include <string.h>

#include <dsrtp/dtls.h>

#include "fuzz_datagrams.h"

static const char fuzz_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgDCCASegAwIBAgIUfH6bI3t+04mDOsCkK0FLwtKba7swCgYIKoZIzj0EAwIw\n"
    "FTETMBEGA1UEAwwKZHNydHAtZnV6ejAgFw0yNjExMjcwNTQxNTVaGA8yMTI2MTEw\n"
    "MzA1NDE1NVowFTETMBEGA1UEAwwKZHNydHAtZnV6ejBZMBMGByqGSM49AgEGCCqG\n"
    "SM49AwEHA0IABKcvY3kcppGveT9mkvsqTcIT4HMIeXagZYuhiH3Kw43JrKZnCjUG\n"
    "Cz46bDhsW721WgDv0A+yL3y4g3vZtFyoJ6GjUzBRMB0GA1UdDgQWBBR+OlXpDiM8\n"
    "8HZexwyDRMwsC4bT5TAfBgNVHSMEGDAWgBR+OlXpDiM88HZexwyDRMwsC4bT5TAP\n"
    "BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIE4zKUXncuq3IV2HnrHO\n"
    "e57FS9C2NAaPoVfYUlldOCRvAiBwGDgPimoXNw3BW3HaDq0W5kE8DCFdrnG/wTZT\n"
    "lpt6nw==\n"
    "-----END CERTIFICATE-----\n";

/* A throw-away key for this test certificate only; it protects nothing. */
static const char fuzz_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFH4rL2zHIvkyfJNK\n"
    "8MIEe/gwAKySzacOgKYP4BDiUzehRANCAASnL2N5HKaRr3k/ZpL7Kk3CE+BzCHl2\n"
    "oGWLoYh9ysONyaymZwo1Bgs+Omw4bFu9tVoA79APsi98uIN72bRcqCeh\n"
    "-----END PRIVATE KEY-----\n";

#define FUZZ_MAX_DATAGRAMS 64

static dsrtp_cert *fuzz_cert;
static dsrtp_fingerprint fuzz_fp;

static void setup(void)
{
    if (fuzz_cert != NULL) {
        return;
    }
    if (dsrtp_cert_load_pem(fuzz_cert_pem, sizeof fuzz_cert_pem - 1, fuzz_key_pem,
                            sizeof fuzz_key_pem - 1, &fuzz_cert) != DSRTP_OK ||
        dsrtp_cert_fingerprint(fuzz_cert, DSRTP_HASH_SHA256, &fuzz_fp) != DSRTP_OK) {
        abort();
    }
}

static const dsrtp_profile profile_lists[4][2] = {
    {DSRTP_PROFILE_NONE, DSRTP_PROFILE_NONE}, /* the default list */
    {DSRTP_AES_CM_128_HMAC_SHA1_80, DSRTP_PROFILE_NONE},
    {DSRTP_AEAD_AES_128_GCM, DSRTP_PROFILE_NONE},
    {DSRTP_AES_CM_128_HMAC_SHA1_32, DSRTP_AEAD_AES_256_GCM},
};

/* Drains every output; checks the invariants that hold at any moment. */
static void drain(dsrtp_dtls *d, bool pinned)
{
    static uint8_t buf[65536];
    dsrtp_dtls_output out;
    /* A buffer too small for anything keeps the datagram queued. */
    dsrtp_err e = dsrtp_dtls_poll_output(d, buf, 0, &out);
    if (e != DSRTP_OK && e != DSRTP_ERR_BUFFER_TOO_SMALL) {
        abort();
    }
    for (int i = 0; i < 256; i++) {
        if (dsrtp_dtls_poll_output(d, buf, sizeof buf, &out) != DSRTP_OK) {
            abort();
        }
        if (out.kind == DSRTP_OUT_IDLE) {
            break;
        }
    }
    dsrtp_dtls_keys keys;
    dsrtp_err k = dsrtp_dtls_get_keys(d, &keys);
    if (dsrtp_dtls_get_state(d) != DSRTP_DTLS_STATE_CONNECTED) {
        if (k == DSRTP_OK) {
            abort(); /* keys outside CONNECTED */
        }
        return;
    }
    dsrtp_fingerprint peer;
    if (!pinned || k != DSRTP_OK ||
        dsrtp_dtls_get_remote_fingerprint(d, DSRTP_HASH_SHA256, &peer) != DSRTP_OK ||
        peer.len != fuzz_fp.len || memcmp(peer.value, fuzz_fp.value, peer.len) != 0) {
        abort(); /* connected to a certificate nobody pinned */
    }
}

static void feed(dsrtp_dtls *d, dsrtp_time now, const uint8_t *p, size_t n)
{
    dsrtp_err e = dsrtp_dtls_handle_datagram(d, now, p, n);
    if (dsrtp_err_is_fatal(e)) {
        abort(); /* hostile input must never end the endpoint through an error code */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    setup();
    uint8_t flags = data[0];
    dsrtp_dtls_role role = (flags & 1) ? DSRTP_DTLS_CLIENT : DSRTP_DTLS_SERVER;
    bool early = (flags & 4) != 0;
    bool pinned = (flags & 8) == 0;
    dsrtp_dtls_cfg cfg;
    dsrtp_dtls_cfg_init(&cfg);
    cfg.cert = fuzz_cert;
    cfg.role = early ? DSRTP_DTLS_ROLE_UNSET : role;
    cfg.require_cookie = (flags & 2) != 0;
    cfg.mtu = (flags & 32) ? DSRTP_DTLS_MIN_MTU : DSRTP_DTLS_DEFAULT_MTU;
    cfg.initial_rto = DSRTP_DTLS_MAX_RTO; /* no retransmission inside one run */
    cfg.handshake_timeout = 60000000;
    const dsrtp_profile *pl = profile_lists[flags >> 6];
    if (pl[0] != DSRTP_PROFILE_NONE) {
        cfg.profiles[0] = pl[0];
        cfg.profiles[1] = pl[1];
        cfg.profile_count = pl[1] != DSRTP_PROFILE_NONE ? 2 : 1;
    }
    dsrtp_dtls *d = NULL;
    if (dsrtp_dtls_new(&cfg, &d) != DSRTP_OK) {
        abort();
    }
    if (pinned && dsrtp_dtls_set_remote_fingerprints(d, &fuzz_fp, 1) != DSRTP_OK) {
        abort();
    }
    dsrtp_time now = 1000000;
    bool started = false;
    if (!early) {
        if (dsrtp_dtls_start(d, now) != DSRTP_OK) {
            abort();
        }
        started = true;
    }
    size_t pos = 1;
    for (int n = 0; n < FUZZ_MAX_DATAGRAMS && pos < size; n++) {
        size_t len = 0;
        uint8_t *dg = fuzz_next_datagram(data, size, &pos, &len);
        now += 1000;
        feed(d, now, dg, len);
        free(dg);
        if (!started) {
            if (dsrtp_dtls_set_role(d, role) != DSRTP_OK || dsrtp_dtls_start(d, now) != DSRTP_OK) {
                abort();
            }
            started = true;
        }
        drain(d, pinned);
    }
    if (!started &&
        (dsrtp_dtls_set_role(d, role) != DSRTP_OK || dsrtp_dtls_start(d, now) != DSRTP_OK)) {
        abort();
    }
    if (flags & 16) {
        /* Past the total timeout: decided on the caller's clock before OpenSSL is asked. */
        if (dsrtp_dtls_handle_timeout(d, now + cfg.handshake_timeout + 1) != DSRTP_OK) {
            abort();
        }
        if (dsrtp_dtls_get_state(d) == DSRTP_DTLS_STATE_HANDSHAKE) {
            abort();
        }
    }
    drain(d, pinned);
    uint8_t m[88];
    if ((dsrtp_dtls_export(d, m, sizeof m) == DSRTP_OK) !=
        (dsrtp_dtls_get_state(d) == DSRTP_DTLS_STATE_CONNECTED)) {
        abort();
    }
    if (dsrtp_dtls_close(d) != DSRTP_OK) {
        abort();
    }
    drain(d, pinned);
    dsrtp_dtls_free(d);
    return 0;
}
