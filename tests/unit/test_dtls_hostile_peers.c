/* DTLS-SRTP against peers that are odd or hostile rather than merely lossy: certificates
 * outside their validity dates, certificate chains far larger than one datagram (and one so
 * large the receiver must refuse it), peers that stop talking at each point of the
 * handshake, and a peer that sends close_notify before the handshake is done. Endpoint 0 is
 * the client, endpoint 1 the server, over the real-time simulated link of dtls_link.h.
 * The certificates are built here with OpenSSL directly and loaded through PEM, the way a
 * deployment would load its own. */
#include "harness/check.h"
#include "harness/dtls_link.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define RUN_LIMIT 8000000u
#define DAY 86400L
#define ALERT_ILLEGAL_PARAMETER 47
#define HS_CERTIFICATE 11
#define HS_SERVER_HELLO_DONE 14
#define HS_CLIENT_KEY_EXCHANGE 16
#define RT_ALERT 21
#define RT_HANDSHAKE 22

static dsrtp_cert *cert_plain; /* an ordinary generated certificate for the other side */

static void free_certs(void)
{
    dsrtp_cert_free(cert_plain);
}

static const dsrtp_cert *plain_cert(void)
{
    if (cert_plain == NULL) {
        if (dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_plain) != DSRTP_OK ||
            atexit(free_certs) != 0) {
            abort();
        }
    }
    return cert_plain;
}

/* ---- building certificates ---- */

/* A self-signed ECDSA certificate: key signs itself, valid from now+not_before to
 * now+not_after (seconds), with the subject padded by OU entries until the DER is about
 * pad bytes longer. NULL on any failure. */
static X509 *build_cert(EVP_PKEY *key, const char *cn, long not_before, long not_after,
                        size_t pad, unsigned serial)
{
    X509 *x = X509_new();
    bool ok = x != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
              ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial + 1) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(x), not_before) != NULL &&
              X509_gmtime_adj(X509_getm_notAfter(x), not_after) != NULL;
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                                          -1, -1, 0) == 1;
    /* Upper bound for an OU is 64 characters: pad with several. */
    char unit[61];
    for (size_t done = 0; ok && done < pad; done += sizeof unit - 1) {
        memset(unit, '.', sizeof unit - 1);
        unit[sizeof unit - 1] = '\0';
        int n = snprintf(unit, sizeof unit, "%s padding unit %zu ", cn, done);
        if (n > 0 && (size_t)n < sizeof unit - 1) {
            unit[n] = '.'; /* keep the dots after the label */
        }
        ok = X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const unsigned char *)unit,
                                        -1, -1, 0) == 1;
    }
    ok = ok && X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1 &&
         X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Writes leaf, then chain[0..n), then the leaf's key as PEM and loads them as a dsrtp
 * certificate. */
static dsrtp_err load_as_pem(X509 *leaf, X509 *const *chain, size_t n, EVP_PKEY *key,
                             dsrtp_cert **out)
{
    BIO *cb = BIO_new(BIO_s_mem());
    BIO *kb = BIO_new(BIO_s_mem());
    dsrtp_err e = DSRTP_ERR_CRYPTO;
    bool ok = cb != NULL && kb != NULL && PEM_write_bio_X509(cb, leaf) == 1 &&
              PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        ok = PEM_write_bio_X509(cb, chain[i]) == 1;
    }
    if (ok) {
        char *ct = NULL;
        char *kt = NULL;
        long cl = BIO_get_mem_data(cb, &ct);
        long kl = BIO_get_mem_data(kb, &kt);
        e = dsrtp_cert_load_pem(ct, (size_t)cl, kt, (size_t)kl, out);
    }
    BIO_free(cb);
    BIO_free(kb);
    return e;
}

/* A certificate whose dates lie wholly in the past (expired a year ago) or the future
 * (valid only from next year). */
static dsrtp_err dated_cert(bool expired, dsrtp_cert **out)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = NULL;
    if (key != NULL) {
        x = expired ? build_cert(key, "expired", -730 * DAY, -365 * DAY, 0, 1)
                    : build_cert(key, "not yet valid", 365 * DAY, 730 * DAY, 0, 2);
    }
    /* The dates really are what the tests claim: wholly past, or wholly future. */
    bool dated = x != NULL && (expired ? X509_cmp_current_time(X509_get0_notAfter(x)) < 0
                                       : X509_cmp_current_time(X509_get0_notBefore(x)) > 0);
    dsrtp_err e = dated ? load_as_pem(x, NULL, 0, key, out) : DSRTP_ERR_CRYPTO;
    X509_free(x);
    EVP_PKEY_free(key);
    return e;
}

/* A leaf followed by n unrelated, expired, self-signed "intermediates" of roughly
 * 500..1000 bytes each: not a chain any validator could build, so a handshake that
 * completes proves the peer looked at the leaf alone. *mid_fp, if asked for, is the
 * fingerprint of the first intermediate. */
static dsrtp_err chained_cert(size_t n, size_t pad, dsrtp_cert **out, dsrtp_fingerprint *mid_fp)
{
    EVP_PKEY *leaf_key = EVP_EC_gen("P-256");
    EVP_PKEY *mid_key = EVP_EC_gen("P-256");
    X509 *leaf = NULL;
    X509 **chain = calloc(n, sizeof *chain);
    dsrtp_err e = DSRTP_ERR_CRYPTO;
    if (leaf_key == NULL || mid_key == NULL || chain == NULL) {
        goto out;
    }
    leaf = build_cert(leaf_key, "leaf", -DAY, 30 * DAY, 0, 1000);
    if (leaf == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char cn[48];
        snprintf(cn, sizeof cn, "intermediate %zu", i);
        chain[i] = build_cert(mid_key, cn, -400 * DAY, -300 * DAY, pad, (unsigned)i);
        if (chain[i] == NULL) {
            goto out;
        }
        /* The sizes the tests reason with: each intermediate 500..1000 bytes of DER. */
        int der_len = i2d_X509(chain[i], NULL);
        if (der_len < 500 || der_len > 1000) {
            fprintf(stderr, "intermediate %zu is %d bytes\n", i, der_len);
            e = DSRTP_ERR_INTERNAL;
            goto out;
        }
    }
    if (mid_fp != NULL) {
        unsigned char der_fp[EVP_MAX_MD_SIZE];
        unsigned int fl = 0;
        if (n == 0 || X509_digest(chain[0], EVP_sha256(), der_fp, &fl) != 1) {
            goto out;
        }
        *mid_fp = (dsrtp_fingerprint){.hash = DSRTP_HASH_SHA256, .len = fl};
        memcpy(mid_fp->value, der_fp, fl);
    }
    e = load_as_pem(leaf, chain, n, leaf_key, out);
out:
    for (size_t i = 0; chain != NULL && i < n; i++) {
        X509_free(chain[i]);
    }
    free(chain);
    X509_free(leaf);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(mid_key);
    return e;
}

/* ---- shared checks ---- */

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
    CHECK(kc.key_len > 0);
    CHECK_MEM(kc.local_key, ks.remote_key, kc.key_len);
    CHECK_MEM(kc.remote_key, ks.local_key, kc.key_len);
    CHECK_MEM(kc.local_salt, ks.remote_salt, kc.salt_len);
    CHECK_MEM(kc.remote_salt, ks.local_salt, kc.salt_len);
}

/* Runs a call made of CHECKs and says whether it added no failure, so the caller can
 * still free what it holds before failing itself. */
#define PASSES(call) (check_failures_before_ = check_failures_, (call), \
                      check_failures_ == check_failures_before_)
static int check_failures_before_;

/* side's endpoint uses odd, the other a plain certificate; both pin what the peer really
 * holds, except that the peer of side pins odd_pin instead when it is given. */
static void run_with_cert(const dsrtp_cert *odd, int side, const dsrtp_fingerprint *odd_pin,
                          size_t mtu, dsrtp_time timeout, link_pair *p)
{
    dsrtp_dtls_cfg cfg[2];
    link_pair_cfg(&cfg[0], side == 0 ? odd : plain_cert(), DSRTP_DTLS_CLIENT);
    link_pair_cfg(&cfg[1], side == 1 ? odd : plain_cert(), DSRTP_DTLS_SERVER);
    for (int i = 0; i < 2; i++) {
        cfg[i].mtu = mtu;
        if (timeout != 0) {
            cfg[i].handshake_timeout = timeout;
        }
    }
    link_cfg lc = {.seed = 71 + (uint64_t)side};
    CHECK_OK(link_pair_new(p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(pin(p->d[side], plain_cert()));
    if (odd_pin != NULL) {
        CHECK_OK(dsrtp_dtls_set_remote_fingerprints(p->d[1 - side], odd_pin, 1));
    } else {
        CHECK_OK(pin(p->d[1 - side], odd));
    }
    CHECK_OK(link_pair_start(p));
    link_run(&p->l, p->d, RUN_LIMIT, link_any_done);
}

/* ---- 1. certificates outside their validity dates ---- */

/* Expectation: the handshake completes with matching keys. In DTLS-SRTP the certificate
 * is normally self-signed and the only thing that identifies the peer is its fingerprint,
 * signalled over the (authenticated) SDP channel (RFC 5763 §5, RFC 8122 §5); browsers do
 * not look at notBefore/notAfter of a WebRTC peer certificate, and many endpoints use
 * long-lived or clock-skewed ones. Refusing on dates would break interop without adding
 * any security the pinned fingerprint does not already give. Checked in both roles. */
static void test_dtls_handshake_accepts_expired_and_not_yet_valid_certs_when_pinned(void)
{
    for (int expired = 0; expired < 2; expired++) {
        dsrtp_cert *odd = NULL;
        CHECK_OK(dated_cert(expired != 0, &odd));
        for (int side = 0; side < 2; side++) {
            link_pair p;
            if (!PASSES(run_with_cert(odd, side, NULL, DSRTP_DTLS_DEFAULT_MTU, 0, &p))) {
                fprintf(stderr, "expired=%d side=%d\n", expired, side);
                link_pair_free(&p);
                dsrtp_cert_free(odd);
                return;
            }
            if (!link_both_connected(&p.l)) {
                fprintf(stderr, "expired=%d side=%d: '%s' / '%s'\n", expired, side,
                        p.l.st.last_event[0].detail, p.l.st.last_event[1].detail);
            }
            bool ok = link_both_connected(&p.l) && PASSES(check_keys_mirror(p.d[0], p.d[1]));
            link_pair_free(&p);
            if (!ok) {
                dsrtp_cert_free(odd);
                CHECK(ok);
            }
        }
        dsrtp_cert_free(odd);
    }
}

/* The rejecting twin: the same expired certificate, but the peer pinned another
 * fingerprint. The dates earn it nothing: FINGERPRINT, no keys on either side. */
static void test_dtls_handshake_rejects_expired_cert_with_wrong_fingerprint(void)
{
    dsrtp_cert *odd = NULL;
    CHECK_OK(dated_cert(true, &odd));
    for (int side = 0; side < 2; side++) {
        dsrtp_fingerprint wrong;
        CHECK_OK(dsrtp_cert_fingerprint(odd, DSRTP_HASH_SHA256, &wrong));
        wrong.value[wrong.len - 1] ^= 0x01;
        link_pair p;
        bool ran = PASSES(run_with_cert(odd, side, &wrong, DSRTP_DTLS_DEFAULT_MTU, 0, &p));
        bool ok = ran && p.l.st.failed[1 - side] && !p.l.st.connected[0] &&
                  !p.l.st.connected[1] &&
                  dsrtp_dtls_get_failure(p.d[1 - side]) == DSRTP_DTLS_FAIL_FINGERPRINT &&
                  p.l.st.last_event[1 - side].failure == DSRTP_DTLS_FAIL_FINGERPRINT &&
                  PASSES(check_no_keys(p.d[0])) && PASSES(check_no_keys(p.d[1]));
        link_pair_free(&p);
        if (!ok) {
            fprintf(stderr, "side=%d\n", side);
            dsrtp_cert_free(odd);
            CHECK(ok);
        }
    }
    dsrtp_cert_free(odd);
}

/* ---- 2. huge certificate chains ---- */

#define CHAIN_LEN 20
#define CHAIN_PAD 200 /* padding in subject and issuer: ~850 bytes of DER each */

/* A leaf and 20 intermediates (~17 KB of Certificate message) from one PEM, on either
 * side, at MTU 1200 and 576: OpenSSL fragments it, every datagram fits the MTU, the
 * handshake completes, and the fingerprint the peer checked is the leaf's. */
static void test_dtls_handshake_with_20_intermediate_chain_fits_mtu_and_pins_leaf(void)
{
    dsrtp_cert *big = NULL;
    CHECK_OK(chained_cert(CHAIN_LEN, CHAIN_PAD, &big, NULL));
    char pem[64];
    char key[8];
    /* The whole chain was kept: writing just the leaf is small, yet the chain is big. */
    CHECK_ERR(dsrtp_cert_write_pem(big, pem, sizeof pem, key, sizeof key),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    const size_t mtus[] = {1200, 576};
    for (size_t m = 0; m < 2; m++) {
        for (int side = 0; side < 2; side++) {
            link_pair p;
            bool ran = PASSES(run_with_cert(big, side, NULL, mtus[m], 0, &p));
            if (ran && !link_both_connected(&p.l)) {
                fprintf(stderr, "mtu %zu side %d: '%s' / '%s' (sent %zu/%zu)\n", mtus[m],
                        side, p.l.st.last_event[0].detail, p.l.st.last_event[1].detail,
                        p.l.st.sent[0], p.l.st.sent[1]);
            }
            dsrtp_fingerprint want;
            dsrtp_fingerprint got;
            bool ok = ran && link_both_connected(&p.l) &&
                      PASSES(check_keys_mirror(p.d[0], p.d[1])) &&
                      p.l.st.max_len[0] <= mtus[m] && p.l.st.max_len[1] <= mtus[m] &&
                      dsrtp_cert_fingerprint(big, DSRTP_HASH_SHA256, &want) == DSRTP_OK &&
                      dsrtp_dtls_get_remote_fingerprint(p.d[1 - side], DSRTP_HASH_SHA256,
                                                        &got) == DSRTP_OK &&
                      got.len == want.len && memcmp(got.value, want.value, want.len) == 0;
            /* The chain really travelled: far more than one datagram from its holder. */
            ok = ok && p.l.st.sent[side] * mtus[m] > CHAIN_LEN * 600;
            if (!ok) {
                fprintf(stderr, "mtu %zu side %d: max_len %zu/%zu sent %zu/%zu\n", mtus[m],
                        side, p.l.st.max_len[0], p.l.st.max_len[1], p.l.st.sent[0],
                        p.l.st.sent[1]);
            }
            link_pair_free(&p);
            if (!ok) {
                dsrtp_cert_free(big);
                CHECK(ok);
            }
        }
    }
    dsrtp_cert_free(big);
}

/* The rejecting twin of "pins the leaf": pinning the first intermediate of the chain (a
 * certificate the peer did send) is a mismatch, since only the leaf identifies the peer. */
static void test_dtls_handshake_rejects_pin_of_an_intermediate(void)
{
    dsrtp_cert *big = NULL;
    dsrtp_fingerprint mid;
    CHECK_OK(chained_cert(CHAIN_LEN, CHAIN_PAD, &big, &mid));
    link_pair p;
    bool ran = PASSES(run_with_cert(big, 1, &mid, 1200, 0, &p));
    bool ok = ran && p.l.st.failed[0] && !p.l.st.connected[0] && !p.l.st.connected[1] &&
              dsrtp_dtls_get_failure(p.d[0]) == DSRTP_DTLS_FAIL_FINGERPRINT &&
              PASSES(check_no_keys(p.d[0])) && PASSES(check_no_keys(p.d[1]));
    link_pair_free(&p);
    dsrtp_cert_free(big);
    CHECK(ok);
}

/* Over 100 KiB of chain (OpenSSL's default max_cert_list, which also caps any DTLS
 * handshake message it will reassemble). Expectation: both sides end FAILED with a
 * failure code, no keys, nothing hangs past the handshake timeout, and the receiver never
 * buffers the message. Observed with OpenSSL 3.0: the receiver gives up at the first
 * fragment (its message length is over the cap) and does so without sending an alert
 * (dtls1_reassemble_fragment fails silently), so it ends PROTOCOL at once while the holder
 * of the chain learns nothing and ends TIMEOUT at its handshake timeout. */
#define HUGE_TIMEOUT 600000u
static void test_dtls_handshake_fails_cleanly_when_chain_exceeds_cert_list_limit(void)
{
    dsrtp_cert *huge = NULL;
    CHECK_OK(chained_cert(170, CHAIN_PAD, &huge, NULL)); /* ~145 KB */
    for (int side = 0; side < 2; side++) {
        link_pair p;
        dsrtp_time t0 = link_now();
        bool ran = PASSES(run_with_cert(huge, side, NULL, 1200, HUGE_TIMEOUT, &p));
        int peer = 1 - side;
        bool ok = ran && p.l.st.failed[0] && p.l.st.failed[1] && !p.l.st.connected[0] &&
                  !p.l.st.connected[1] && p.l.st.failures[0] == 1 &&
                  p.l.st.failures[1] == 1 &&
                  dsrtp_dtls_get_failure(p.d[peer]) == DSRTP_DTLS_FAIL_PROTOCOL &&
                  p.l.st.failed_at[peer] < t0 + HUGE_TIMEOUT / 2 &&
                  dsrtp_dtls_get_failure(p.d[side]) == DSRTP_DTLS_FAIL_TIMEOUT &&
                  p.l.st.failed_at[side] >= t0 + HUGE_TIMEOUT &&
                  p.l.st.failed_at[side] < t0 + HUGE_TIMEOUT + 1000000 &&
                  PASSES(check_no_keys(p.d[0])) && PASSES(check_no_keys(p.d[1]));
        if (!ok && ran) {
            fprintf(stderr, "side %d: at %lld/%lld ms, '%s' / '%s'\n", side,
                    (long long)(p.l.st.failed_at[0] - t0) / 1000,
                    (long long)(p.l.st.failed_at[1] - t0) / 1000, p.l.st.last_event[0].detail,
                    p.l.st.last_event[1].detail);
        }
        link_pair_free(&p);
        if (!ok) {
            dsrtp_cert_free(huge);
            CHECK(ok);
        }
    }
    dsrtp_cert_free(huge);
}

/* ---- 3. a peer that stops mid-handshake ---- */

#define SHORT_TIMEOUT 500000u
#define SHORT_RTO 20000u

/* A tap that lets one side talk until a trigger datagram, then silences it (and, if
 * deaf, also everything sent to it). Counts and timestamps the datagrams each side sent
 * that match the watched handshake message. */
typedef struct stop_tap {
    int quitter;           /* the side that goes silent */
    int trigger_type;      /* record content type of the last datagram it sends, or ... */
    int trigger_hs;        /* ... handshake type within it (-1: any) */
    bool trigger_is_first; /* pass the trigger itself (true) or drop it (false) */
    bool deaf;             /* once silent, also drop what is sent to it */
    bool silent;
    int watch_hs;          /* epoch-0 handshake message type to count */
    int watch_side;
    size_t watched;
    dsrtp_time watched_at[32];
} stop_tap;

static bool stop_tap_fn(void *arg, int from, uint8_t *data, size_t *len)
{
    stop_tap *t = arg;
    if (from == t->watch_side && link_dgram_has(data, *len, RT_HANDSHAKE, 0, t->watch_hs)) {
        if (t->watched < 32) {
            t->watched_at[t->watched] = link_now();
        }
        t->watched++;
    }
    if (t->silent) {
        return from != t->quitter && !t->deaf;
    }
    if (from == t->quitter && link_dgram_has(data, *len, t->trigger_type, 0, t->trigger_hs)) {
        t->silent = true;
        return t->trigger_is_first;
    }
    return true;
}

/* Runs the pair with the tap until the survivor has failed, and a little longer to see
 * that nothing more comes out; *t0 is taken just before the start. */
static void run_until_survivor_fails(link_pair *p, stop_tap *t, bool cookie, dsrtp_time *t0)
{
    dsrtp_dtls_cfg cfg[2];
    link_pair_cfg(&cfg[0], plain_cert(), DSRTP_DTLS_CLIENT);
    link_pair_cfg(&cfg[1], plain_cert(), DSRTP_DTLS_SERVER);
    for (int i = 0; i < 2; i++) {
        cfg[i].initial_rto = SHORT_RTO;
        cfg[i].handshake_timeout = SHORT_TIMEOUT;
    }
    cfg[1].require_cookie = cookie;
    link_cfg lc = {.seed = 81, .tap = stop_tap_fn, .tap_arg = t};
    CHECK_OK(link_pair_new(p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(p, plain_cert(), plain_cert(), DSRTP_HASH_SHA256));
    *t0 = link_now();
    CHECK_OK(link_pair_start(p));
    link_run(&p->l, p->d, SHORT_TIMEOUT + 1500000, link_any_done);
    /* Keep going a while: a second FAILED event, or any late output, would show here. */
    link_run(&p->l, p->d, 150000, link_any_done);
}

static void check_survivor_timed_out(const link_pair *p, int survivor, dsrtp_time t0)
{
    CHECK(p->l.st.failed[survivor]);
    CHECK(!p->l.st.connected[0] && !p->l.st.connected[1]);
    CHECK_EQ(p->l.st.failures[survivor], 1);
    CHECK_EQ(p->l.st.last_event[survivor].kind, DSRTP_DTLS_EV_FAILED);
    CHECK_EQ(p->l.st.last_event[survivor].failure, DSRTP_DTLS_FAIL_TIMEOUT);
    CHECK_EQ(dsrtp_dtls_get_state(p->d[survivor]), DSRTP_DTLS_STATE_FAILED);
    CHECK_EQ(dsrtp_dtls_get_failure(p->d[survivor]), DSRTP_DTLS_FAIL_TIMEOUT);
    CHECK(p->l.st.failed_at[survivor] >= t0 + SHORT_TIMEOUT);
    CHECK(p->l.st.failed_at[survivor] < t0 + SHORT_TIMEOUT + 1000000);
    CHECK_EQ(dsrtp_dtls_next_deadline(p->d[survivor]), DSRTP_TIME_NEVER);
}

/* Retransmissions of the watched flight back off: more than one copy, well under
 * OpenSSL's 12-try limit, and the gaps grow (the last at least twice the first). */
static void check_backoff(const stop_tap *t)
{
    CHECK(t->watched >= 3);
    CHECK(t->watched < 12);
    dsrtp_time first = t->watched_at[1] - t->watched_at[0];
    dsrtp_time last = t->watched_at[t->watched - 1] - t->watched_at[t->watched - 2];
    CHECK(first >= SHORT_RTO);
    CHECK(last >= 2 * first);
}

/* (a) The client sends its ClientHello and nothing more: the server answers, resends its
 * flight with backoff, and gives up with TIMEOUT at its handshake timeout: not before, and
 * not much after; one FAILED event, no keys. */
static void test_dtls_server_times_out_when_client_goes_silent_after_client_hello(void)
{
    stop_tap t = {.quitter = 0, .trigger_type = RT_HANDSHAKE, .trigger_hs = 1,
                  .trigger_is_first = true, .watch_hs = HS_SERVER_HELLO_DONE, .watch_side = 1};
    link_pair p;
    dsrtp_time t0 = 0;
    bool ran = PASSES(run_until_survivor_fails(&p, &t, false, &t0));
    bool ok = ran && PASSES(check_survivor_timed_out(&p, 1, t0)) && PASSES(check_backoff(&t)) &&
              PASSES(check_no_keys(p.d[1]));
    link_pair_free(&p);
    CHECK(ok);
}

/* (b) The server answers the ClientHello with its first flight, then is gone (hears and
 * says nothing more): the client resends its second flight with backoff and fails with
 * TIMEOUT. */
static void test_dtls_client_times_out_when_server_goes_silent_after_first_flight(void)
{
    stop_tap t = {.quitter = 1, .trigger_type = RT_HANDSHAKE, .trigger_hs = HS_SERVER_HELLO_DONE,
                  .trigger_is_first = true, .deaf = true, .watch_hs = HS_CLIENT_KEY_EXCHANGE,
                  .watch_side = 0};
    link_pair p;
    dsrtp_time t0 = 0;
    bool ran = PASSES(run_until_survivor_fails(&p, &t, false, &t0));
    bool ok = ran && PASSES(check_survivor_timed_out(&p, 0, t0)) && PASSES(check_backoff(&t)) &&
              PASSES(check_no_keys(p.d[0]));
    link_pair_free(&p);
    CHECK(ok);
}

/* (c) With a cookie exchange, the client sends both ClientHellos, receives the server's
 * flight, and stops right before its final flight (Certificate ... Finished): the server
 * resends its flight with backoff and fails with TIMEOUT. */
static void test_dtls_server_times_out_when_client_stops_before_final_flight(void)
{
    stop_tap t = {.quitter = 0, .trigger_type = RT_HANDSHAKE, .trigger_hs = HS_CERTIFICATE,
                  .trigger_is_first = false, .watch_hs = HS_SERVER_HELLO_DONE, .watch_side = 1};
    link_pair p;
    dsrtp_time t0 = 0;
    bool ran = PASSES(run_until_survivor_fails(&p, &t, true, &t0));
    bool ok = ran && t.silent && PASSES(check_survivor_timed_out(&p, 1, t0)) &&
              PASSES(check_backoff(&t)) && PASSES(check_no_keys(p.d[1]));
    link_pair_free(&p);
    CHECK(ok);
}

/* The accepting twin of all three: the same short timers with nobody quitting connect
 * well within the timeout. */
static void test_dtls_handshake_with_short_timers_connects_when_nobody_quits(void)
{
    stop_tap t = {.quitter = 0, .trigger_type = RT_HANDSHAKE, .trigger_hs = 99,
                  .watch_hs = HS_SERVER_HELLO_DONE, .watch_side = 1};
    link_pair p;
    dsrtp_time t0 = 0;
    bool ran = PASSES(run_until_survivor_fails(&p, &t, true, &t0));
    bool ok = ran && link_both_connected(&p.l) && !p.l.st.failed[0] && !p.l.st.failed[1] &&
              PASSES(check_keys_mirror(p.d[0], p.d[1]));
    link_pair_free(&p);
    CHECK(ok);
}

/* ---- 4. close_notify before the handshake is done ---- */

/* Starts a pair whose client stops before its final flight, and runs it until the server
 * has sent its first flight: the server is mid-handshake, waiting for the client. */
static void pair_mid_handshake(link_pair *p, stop_tap *t)
{
    *t = (stop_tap){.quitter = 0, .trigger_type = RT_HANDSHAKE, .trigger_hs = HS_CERTIFICATE,
                    .watch_hs = HS_SERVER_HELLO_DONE, .watch_side = 1};
    dsrtp_dtls_cfg cfg[2];
    link_pair_cfg(&cfg[0], plain_cert(), DSRTP_DTLS_CLIENT);
    link_pair_cfg(&cfg[1], plain_cert(), DSRTP_DTLS_SERVER);
    for (int i = 0; i < 2; i++) {
        cfg[i].initial_rto = SHORT_RTO;
        cfg[i].handshake_timeout = SHORT_TIMEOUT;
    }
    link_cfg lc = {.seed = 91, .tap = stop_tap_fn, .tap_arg = t};
    CHECK_OK(link_pair_new(p, &cfg[0], &cfg[1], &lc));
    CHECK_OK(link_pair_pin(p, plain_cert(), plain_cert(), DSRTP_HASH_SHA256));
    CHECK_OK(link_pair_start(p));
    dsrtp_time start = link_now();
    while (t->watched == 0 && link_now() - start < 2000000) {
        link_run(&p->l, p->d, 1000, link_any_done);
    }
    CHECK(t->watched >= 1);
    CHECK_EQ(dsrtp_dtls_get_state(p->d[1]), DSRTP_DTLS_STATE_HANDSHAKE);
}

static bool server_closed_or_failed(const link_sim *l)
{
    return l->st.closed[1] || l->st.failed[1];
}

/* The client's close_notify (epoch 0, warning level, description 0; sequence number past
 * anything the client used) reaches the server after its first flight. Expectation,
 * as the API documents CLOSED ("close_notify sent or received") and EV_CLOSED ("the peer
 * sent close_notify"): the server ends CLOSED with one EV_CLOSED, after the EV_ALERT
 * reporting the warning; it does not connect, does not call it a FAILED handshake, has no
 * deadline left, releases no keys, and stays so (no later timeout turns it FAILED). */
static void test_dtls_server_ends_closed_on_close_notify_mid_handshake(void)
{
    stop_tap t;
    link_pair p;
    if (!PASSES(pair_mid_handshake(&p, &t))) {
        link_pair_free(&p);
        return;
    }
    static const uint8_t close_notify[15] = {RT_ALERT, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0x01, 0,
                                             0,        0,    2,    1, 0};
    size_t events = p.l.st.events[1];
    dsrtp_err e = dsrtp_dtls_handle_datagram(p.d[1], link_now(), close_notify,
                                             sizeof close_notify);
    link_run(&p.l, p.d, SHORT_TIMEOUT + 300000, server_closed_or_failed);
    link_run(&p.l, p.d, SHORT_TIMEOUT + 100000, link_any_done); /* and well past the timeout */
    bool ok = e == DSRTP_OK && p.l.st.closed[1] && !p.l.st.failed[1] && !p.l.st.connected[1] &&
              dsrtp_dtls_get_state(p.d[1]) == DSRTP_DTLS_STATE_CLOSED &&
              dsrtp_dtls_get_failure(p.d[1]) == DSRTP_DTLS_FAIL_NONE &&
              p.l.st.events[1] == events + 2 && p.l.st.alerts[1] == 1 &&
              p.l.st.last_event[1].kind == DSRTP_DTLS_EV_CLOSED &&
              dsrtp_dtls_next_deadline(p.d[1]) == DSRTP_TIME_NEVER &&
              PASSES(check_no_keys(p.d[1]));
    if (!ok) {
        fprintf(stderr, "server: state %d failure %d events %zu->%zu last '%s'\n",
                dsrtp_dtls_get_state(p.d[1]), dsrtp_dtls_get_failure(p.d[1]), events,
                p.l.st.events[1], p.l.st.last_event[1].detail);
    }
    link_pair_free(&p);
    CHECK(ok);
}

/* The rejecting twin: a close_notify the server must not believe (a warning alert other
 * than close_notify, here user_canceled) is refused outright and the server stays in its
 * handshake until, the client being gone, it times out. */
static void test_dtls_server_ignores_warning_alert_that_is_not_close_notify(void)
{
    stop_tap t;
    link_pair p;
    if (!PASSES(pair_mid_handshake(&p, &t))) {
        link_pair_free(&p);
        return;
    }
    static const uint8_t user_canceled[15] = {RT_ALERT, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0x01, 0,
                                              0,        0,    2,    1, 90};
    CHECK_ERR(dsrtp_dtls_handle_datagram(p.d[1], link_now(), user_canceled,
                                         sizeof user_canceled),
              DSRTP_ERR_MALFORMED);
    CHECK_EQ(dsrtp_dtls_get_state(p.d[1]), DSRTP_DTLS_STATE_HANDSHAKE);
    link_run(&p.l, p.d, SHORT_TIMEOUT + 1000000, server_closed_or_failed);
    bool ok = p.l.st.failed[1] && !p.l.st.closed[1] &&
              dsrtp_dtls_get_failure(p.d[1]) == DSRTP_DTLS_FAIL_TIMEOUT &&
              p.l.st.alerts[1] == 0 && PASSES(check_no_keys(p.d[1]));
    link_pair_free(&p);
    CHECK(ok);
}

/* The client gives up mid-handshake through the API. Expectation: it is CLOSED at once
 * with no keys, and the server is not left connected; whatever the client could send, the
 * server ends CLOSED (close_notify arrived) or FAILED by its timeout, never CONNECTED. */
static void test_dtls_client_close_mid_handshake_never_connects_server(void)
{
    stop_tap t;
    link_pair p;
    if (!PASSES(pair_mid_handshake(&p, &t))) {
        link_pair_free(&p);
        return;
    }
    t.silent = false; /* let whatever the client sends now through */
    t.trigger_hs = 99;
    size_t sent = p.l.st.sent[0];
    CHECK_OK(dsrtp_dtls_close(p.d[0]));
    CHECK_EQ(dsrtp_dtls_get_state(p.d[0]), DSRTP_DTLS_STATE_CLOSED);
    link_run(&p.l, p.d, SHORT_TIMEOUT + 1000000, server_closed_or_failed);
    /* Observed with OpenSSL 3.0: SSL_shutdown refuses to run while in the handshake, so
     * the client sends nothing and the server ends by its timeout. Either outcome below is
     * a clean end; CONNECTED or a FAILED of any other kind would not be. */
    bool server_ok = (p.l.st.closed[1] && !p.l.st.failed[1] &&
                      dsrtp_dtls_get_failure(p.d[1]) == DSRTP_DTLS_FAIL_NONE) ||
                     (p.l.st.failed[1] && !p.l.st.closed[1] &&
                      dsrtp_dtls_get_failure(p.d[1]) == DSRTP_DTLS_FAIL_TIMEOUT);
    bool ok = server_ok && !p.l.st.connected[0] && !p.l.st.connected[1] &&
              !p.l.st.failed[0] && dsrtp_dtls_get_state(p.d[0]) == DSRTP_DTLS_STATE_CLOSED &&
              PASSES(check_no_keys(p.d[0])) && PASSES(check_no_keys(p.d[1]));
    if (!ok || p.l.st.sent[0] == sent) {
        /* Worth knowing when reading the log, not a failure by itself. */
        fprintf(stderr, "note: client close mid-handshake sent %zu datagrams; server %s\n",
                p.l.st.sent[0] - sent, dsrtp_dtls_failure_name(dsrtp_dtls_get_failure(p.d[1])));
    }
    link_pair_free(&p);
    CHECK(ok);
}

RUN_TESTS(TEST(test_dtls_handshake_accepts_expired_and_not_yet_valid_certs_when_pinned),
          TEST(test_dtls_handshake_rejects_expired_cert_with_wrong_fingerprint),
          TEST(test_dtls_handshake_with_20_intermediate_chain_fits_mtu_and_pins_leaf),
          TEST(test_dtls_handshake_rejects_pin_of_an_intermediate),
          TEST(test_dtls_handshake_fails_cleanly_when_chain_exceeds_cert_list_limit),
          TEST(test_dtls_server_times_out_when_client_goes_silent_after_client_hello),
          TEST(test_dtls_client_times_out_when_server_goes_silent_after_first_flight),
          TEST(test_dtls_server_times_out_when_client_stops_before_final_flight),
          TEST(test_dtls_handshake_with_short_timers_connects_when_nobody_quits),
          TEST(test_dtls_server_ends_closed_on_close_notify_mid_handshake),
          TEST(test_dtls_server_ignores_warning_alert_that_is_not_close_notify),
          TEST(test_dtls_client_close_mid_handshake_never_connects_server))
