/* The floor for `dsrtp bench dtls`: the same DTLS-SRTP handshake on bare OpenSSL calls, with
 * nothing of dsrtp in the way. Two SSL objects, each with its own certificate of the given
 * type, talk in one thread through two memory BIOs (client to server, server to client);
 * DTLS 1.2 with use_srtp, mutual certificate authentication (any certificate is accepted:
 * the floor does no fingerprint check), and the SRTP keying material exported on both sides
 * and compared. Only what shapes the handshake is set as dsrtp sets it, so the two run the
 * same messages: the cipher suite, the SRTP profile list, the 1200-byte MTU, and no session
 * ticket. Prints the JSON fields of `dsrtp bench dtls --json`.
 *
 * usage: bench_dtls_floor [--cert ecdsa|rsa] [--handshakes N] [--json] */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench_util.h"

#define FLOOR_DEFAULT_N 1000
#define FLOOR_WARMUP 20
#define FLOOR_MAX_ROUNDS 64
#define FLOOR_MTU 1200
#define FLOOR_PROFILES \
    "SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"
#define FLOOR_LABEL "EXTRACTOR-dtls_srtp"

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

static int accept_any(X509_STORE_CTX *store, void *arg)
{
    (void)store;
    (void)arg;
    return 1;
}

/* A self-signed certificate and its key in a ready SSL_CTX. */
static SSL_CTX *make_ctx(bool rsa)
{
    EVP_PKEY *pkey = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    X509 *x = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    bool ok = pkey != NULL && x != NULL && ctx != NULL;
    ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1;
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -86400L) != NULL;
    ok = ok && X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L) != NULL;
    ok = ok && X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                          (const unsigned char *)"floor", -1, -1, 0) == 1;
    ok = ok && X509_set_issuer_name(x, X509_get_subject_name(x)) == 1;
    ok = ok && X509_set_pubkey(x, pkey) == 1 && X509_sign(x, pkey, EVP_sha256()) > 0;
    ok = ok && SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1;
    ok = ok && SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1;
    ok = ok && SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
    ok = ok && SSL_CTX_set_cipher_list(ctx, rsa ? "ECDHE-RSA-AES128-GCM-SHA256"
                                                : "ECDHE-ECDSA-AES128-GCM-SHA256") == 1;
    ok = ok && SSL_CTX_set_tlsext_use_srtp(ctx, FLOOR_PROFILES) == 0;
    if (ok) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, accept_any, NULL);
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static BIO *mem_bio(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b != NULL) {
        BIO_set_mem_eof_return(b, -1); /* empty means "try again", not end of stream */
    }
    return b;
}

typedef struct floor_pair {
    SSL *ssl[2]; /* 0 client, 1 server */
} floor_pair;

static void pair_free(floor_pair *p)
{
    SSL_free(p->ssl[0]);
    SSL_free(p->ssl[1]);
    p->ssl[0] = NULL;
    p->ssl[1] = NULL;
}

static bool pair_new(SSL_CTX *ctx[2], floor_pair *p)
{
    p->ssl[0] = SSL_new(ctx[0]);
    p->ssl[1] = SSL_new(ctx[1]);
    BIO *to_server = mem_bio();
    BIO *to_client = mem_bio();
    if (p->ssl[0] == NULL || p->ssl[1] == NULL || to_server == NULL || to_client == NULL ||
        BIO_up_ref(to_server) != 1 || BIO_up_ref(to_client) != 1) {
        BIO_free(to_server);
        BIO_free(to_client);
        pair_free(p);
        return false;
    }
    /* Each BIO now has two references, one for each SSL object that uses it. */
    SSL_set_bio(p->ssl[0], to_client, to_server);
    SSL_set_bio(p->ssl[1], to_server, to_client);
    for (int i = 0; i < 2; i++) {
        SSL_set_mtu(p->ssl[i], FLOOR_MTU);
    }
    SSL_set_connect_state(p->ssl[0]);
    SSL_set_accept_state(p->ssl[1]);
    return true;
}

static bool pair_handshake(floor_pair *p)
{
    bool done[2] = {false, false};
    for (int round = 0; round < FLOOR_MAX_ROUNDS && !(done[0] && done[1]); round++) {
        for (int i = 0; i < 2; i++) {
            if (done[i]) {
                continue;
            }
            int r = SSL_do_handshake(p->ssl[i]);
            if (r == 1) {
                done[i] = true;
            } else if (SSL_get_error(p->ssl[i], r) != SSL_ERROR_WANT_READ) {
                return false;
            }
        }
    }
    const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(p->ssl[0]);
    if (!done[0] || !done[1] || prof == NULL) {
        return false;
    }
    /* 2 * (key + salt): the profile decides the length, as an SRTP endpoint would. */
    size_t len = prof->id == SRTP_AEAD_AES_256_GCM   ? 88
                 : prof->id == SRTP_AEAD_AES_128_GCM ? 56
                                                     : 60;
    unsigned char km[2][88];
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        ok = ok && SSL_export_keying_material(p->ssl[i], km[i], len, FLOOR_LABEL,
                                              strlen(FLOOR_LABEL), NULL, 0, 0) == 1;
    }
    ok = ok && CRYPTO_memcmp(km[0], km[1], len) == 0;
    OPENSSL_cleanse(km, sizeof km);
    return ok;
}

static bool one_handshake(SSL_CTX *ctx[2])
{
    floor_pair p;
    if (!pair_new(ctx, &p)) {
        return false;
    }
    bool ok = pair_handshake(&p);
    pair_free(&p);
    return ok;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_dtls_floor [--cert ecdsa|rsa] [--handshakes N] [--json]\n");
    return 2;
}

int main(int argc, char **argv)
{
    bool rsa = false;
    bool json = false;
    size_t n = FLOOR_DEFAULT_N;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "rsa") != 0 && strcmp(v, "ecdsa") != 0) {
                return usage();
            }
            rsa = strcmp(v, "rsa") == 0;
        } else if (strcmp(argv[i], "--handshakes") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            char *end = NULL;
            unsigned long long x = strtoull(v, &end, 10);
            if (end == v || *end != '\0' || v[0] == '-' || x == 0 || x > 100000000ull) {
                return usage();
            }
            n = (size_t)x;
        } else {
            return usage();
        }
    }
    SSL_CTX *ctx[2] = {make_ctx(rsa), make_ctx(rsa)};
    int rc = 1;
    if (ctx[0] == NULL || ctx[1] == NULL) {
        fprintf(stderr, "bench_dtls_floor: cannot make the certificates\n");
        goto out;
    }
    for (int i = 0; i < FLOOR_WARMUP; i++) {
        if (!one_handshake(ctx)) {
            fprintf(stderr, "bench_dtls_floor: warm-up handshake failed\n");
            ERR_print_errors_fp(stderr);
            goto out;
        }
    }
    /* Heap held by one connected endpoint, as dsrtp bench dtls measures it. */
    long long held = -1;
    size_t before = heap_in_use();
    floor_pair p;
    if (pair_new(ctx, &p)) {
        if (pair_handshake(&p)) {
            size_t after = heap_in_use();
            /* Under a sanitizer's allocator glibc sees nothing: leave it unknown. */
            held = after > before ? ((long long)after - (long long)before) / 2 : -1;
        }
        pair_free(&p);
    }
    uint64_t alloc_bytes = 0;
    uint64_t alloc_calls = 0;
    dsrtp_bench_alloc_start();
    double t0 = clock_seconds(CLOCK_MONOTONIC);
    double c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < n; i++) {
        if (!one_handshake(ctx)) {
            dsrtp_bench_alloc_stop(&alloc_bytes, &alloc_calls);
            fprintf(stderr, "bench_dtls_floor: handshake %zu failed\n", i);
            goto out;
        }
    }
    double secs = clock_seconds(CLOCK_MONOTONIC) - t0;
    /* CPU time too: on a shared machine it is the steadier figure. */
    double cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    dsrtp_bench_alloc_stop(&alloc_bytes, &alloc_calls);
    const char *cert = rsa ? "rsa" : "ecdsa";
    double rate = secs > 0 ? (double)n / secs : 0.0;
    char held_text[32] = "null";
    if (held >= 0) {
        snprintf(held_text, sizeof held_text, "%lld", held);
    }
    if (json) {
        printf("{\"impl\":\"openssl-floor\",\"cert\":\"%s\",\"handshakes\":%zu,\"seconds\":%.6f,"
               "\"per_second\":%.1f,\"cpu_seconds\":%.6f,\"per_cpu_second\":%.1f,"
               "\"us_per_handshake\":%.1f,\"bytes_per_endpoint\":%s,"
               "\"allocs_per_handshake\":%.1f,\"alloc_bytes_per_handshake\":%.0f}\n",
               cert, n, secs, rate, cpu, cpu > 0 ? (double)n / cpu : 0.0,
               secs * 1e6 / (double)n, held_text, (double)alloc_calls / (double)n,
               (double)alloc_bytes / (double)n);
    } else {
        printf("openssl floor %s: %zu handshakes in %.3f s: %.1f/s (%.1f us each); %s bytes "
               "held per connected endpoint; %.1f allocations (%.0f bytes) per handshake\n",
               cert, n, secs, rate, secs * 1e6 / (double)n, held_text,
               (double)alloc_calls / (double)n, (double)alloc_bytes / (double)n);
    }
    rc = 0;
out:
    SSL_CTX_free(ctx[0]);
    SSL_CTX_free(ctx[1]);
    return rc;
}
