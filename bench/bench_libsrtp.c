/* bench_libsrtp: the `dsrtp bench srtp` loop on libsrtp 2, for comparison.
 *
 * Built twice by bench/CMakeLists.txt: against libsrtp compiled on OpenSSL from Debian's
 * source package (scripts/bench-libsrtp.sh; impl name "libsrtp-openssl", the fair
 * reference) and, when present, against Debian's binary libsrtp2, which uses NSS
 * ("libsrtp-nss"). Same driver, packets, batches and report as dsrtp's own benchmark.
 *
 * The sessions mirror dsrtp's contexts: one sender for any outbound SSRC, one receiver for
 * any inbound SSRC, replay window 128, no MKI, encrypted SRTCP.
 * Usage: bench_libsrtp --profile P --size BYTES --op OP [--packets N] [--json] */
#include <stdio.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "bench_util.h"

#ifndef DSRTP_BENCH_IMPL_NAME
#define DSRTP_BENCH_IMPL_NAME "libsrtp"
#endif

typedef struct bench_state {
    srtp_t tx;
    srtp_t rx;
} bench_state;

static bool set_policy(const dsrtp_bench_profile *p, srtp_policy_t *pol)
{
    const char *n = p->name;
    if (strcmp(n, "AES_CM_128_HMAC_SHA1_80") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
    } else if (strcmp(n, "AES_CM_128_HMAC_SHA1_32") == 0) {
        /* SRTCP keeps the 80-bit tag (RFC 5764 §4.1.2). */
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
    } else if (strcmp(n, "AES_256_CM_HMAC_SHA1_80") == 0) {
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
    } else if (strcmp(n, "AES_256_CM_HMAC_SHA1_32") == 0) {
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&pol->rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol->rtcp);
    } else if (strcmp(n, "AEAD_AES_128_GCM") == 0) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
    } else if (strcmp(n, "AEAD_AES_256_GCM") == 0) {
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtcp);
    } else {
        return false;
    }
    return true;
}

static int prepare(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens,
                   size_t n, uint64_t first)
{
    bench_state *s = st;
    for (size_t i = 0; i < n; i++) {
        dsrtp_bench_make_packet(a, bufs[i], (uint16_t)(DSRTP_BENCH_SEQ_BASE + first + i));
        int len = (int)a->size;
        srtp_err_status_t err = srtp_err_status_ok;
        if (a->op == DSRTP_BENCH_UNPROTECT) {
            err = srtp_protect(s->tx, bufs[i], &len);
        } else if (a->op == DSRTP_BENCH_RTCP_UNPROTECT) {
            err = srtp_protect_rtcp(s->tx, bufs[i], &len);
        }
        if (err != srtp_err_status_ok) {
            fprintf(stderr, "bench_libsrtp: protecting a packet to unprotect: error %d\n",
                    (int)err);
            return 1;
        }
        lens[i] = (size_t)len;
    }
    return 0;
}

static size_t run(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens, size_t n)
{
    bench_state *s = st;
    size_t failed = 0;
    int len = 0;
    switch (a->op) {
    case DSRTP_BENCH_PROTECT:
        for (size_t i = 0; i < n; i++) {
            len = (int)lens[i];
            failed += srtp_protect(s->tx, bufs[i], &len) != srtp_err_status_ok;
            lens[i] = (size_t)len;
        }
        break;
    case DSRTP_BENCH_UNPROTECT:
        for (size_t i = 0; i < n; i++) {
            len = (int)lens[i];
            failed += srtp_unprotect(s->rx, bufs[i], &len) != srtp_err_status_ok ||
                      (size_t)len != a->size;
            lens[i] = (size_t)len;
        }
        break;
    case DSRTP_BENCH_RTCP_PROTECT:
        for (size_t i = 0; i < n; i++) {
            len = (int)lens[i];
            failed += srtp_protect_rtcp(s->tx, bufs[i], &len) != srtp_err_status_ok;
            lens[i] = (size_t)len;
        }
        break;
    case DSRTP_BENCH_RTCP_UNPROTECT:
        for (size_t i = 0; i < n; i++) {
            len = (int)lens[i];
            failed += srtp_unprotect_rtcp(s->rx, bufs[i], &len) != srtp_err_status_ok ||
                      (size_t)len != a->size;
            lens[i] = (size_t)len;
        }
        break;
    }
    return failed;
}

static srtp_err_status_t make_session(const dsrtp_bench_profile *p, srtp_ssrc_type_t type,
                                      unsigned char *key, srtp_t *out)
{
    srtp_policy_t pol;
    memset(&pol, 0, sizeof pol);
    if (!set_policy(p, &pol)) {
        return srtp_err_status_bad_param;
    }
    pol.ssrc.type = type;
    pol.key = key;
    pol.window_size = 128;
    pol.allow_repeat_tx = 0;
    pol.next = NULL;
    return srtp_create(out, &pol);
}

int main(int argc, char **argv)
{
    dsrtp_bench_args a;
    if (!dsrtp_bench_parse(argc, argv, 1, "bench_libsrtp", &a)) {
        return 2;
    }
    if (srtp_init() != srtp_err_status_ok) {
        fprintf(stderr, "bench_libsrtp: srtp_init failed\n");
        return 1;
    }
    /* libsrtp takes the master key and salt back to back; same bytes as dsrtp's bench. */
    unsigned char key[64];
    for (size_t i = 0; i < a.profile->key_len; i++) {
        key[i] = (unsigned char)(0x11 * i + 3);
    }
    for (size_t i = 0; i < a.profile->salt_len; i++) {
        key[a.profile->key_len + i] = (unsigned char)(0x0d * i + 7);
    }
    bench_state s = {0};
    srtp_err_status_t err = make_session(a.profile, ssrc_any_outbound, key, &s.tx);
    if (err == srtp_err_status_ok) {
        err = make_session(a.profile, ssrc_any_inbound, key, &s.rx);
    }
    if (err != srtp_err_status_ok) {
        fprintf(stderr, "bench_libsrtp: srtp_create failed: error %d\n", (int)err);
        return 1;
    }
    const dsrtp_bench_impl impl = {DSRTP_BENCH_IMPL_NAME, prepare, run};
    int status = dsrtp_bench_run(&impl, &s, &a, NULL);
    srtp_dealloc(s.tx);
    srtp_dealloc(s.rx);
    srtp_shutdown();
    return status;
}
