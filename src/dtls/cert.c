/* Certificates for DTLS-SRTP: generation (ECDSA P-256 or RSA), PEM load and store, and the
 * ready-to-use SSL_CTX each certificate owns so endpoints only create SSL objects. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "dtls/dtls_int.h"

/* Provided by endpoint.c: checks the peer's leaf certificate against the fingerprints. */
int dsrtp_dtls_verify_peer(X509_STORE_CTX *store, void *arg);
int dsrtp_dtls_cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len);
int dsrtp_dtls_cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len);

/* AEAD suites only, for an ECDSA or an RSA certificate. CBC suites are left out on
 * purpose: OpenSSL 3.0 treats a bad MAC on a CBC record as fatal, so one forged record of
 * 32 bytes would end a live association; with AEAD a forged record is simply dropped.
 * Every WebRTC stack and current PBX offers AES-GCM. A connected endpoint seals and opens
 * its records itself (post.c), for exactly these three AEADs: a suite added here needs its
 * record protection there too (compact.c refuses others). */
static const char cipher_list[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static dsrtp_err make_ctx(dsrtp_cert *c)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    DSRTP_CHECK(ctx != NULL, DSRTP_ERR_NO_MEMORY);
    c->ctx = ctx;
    /* DTLS 1.2 only: RFC 5764 keying as WebRTC does it; 1.0 is long deprecated. */
    DSRTP_CHECK(SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(SSL_CTX_use_certificate(ctx, c->x509) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(SSL_CTX_use_PrivateKey(ctx, c->pkey) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(SSL_CTX_check_private_key(ctx) == 1, DSRTP_ERR_INVALID_ARG);
    for (int i = 0; c->chain != NULL && i < sk_X509_num(c->chain); i++) {
        X509 *x = sk_X509_value(c->chain, i);
        DSRTP_CHECK(SSL_CTX_add1_chain_cert(ctx, x) == 1, DSRTP_ERR_CRYPTO);
    }
    DSRTP_CHECK(SSL_CTX_set_cipher_list(ctx, cipher_list) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") == 1, DSRTP_ERR_CRYPTO);
    /* No renegotiation (RFC 8827), no tickets or session cache (one handshake per call),
     * and never ask the kernel for an MTU: the caller's MTU is set per endpoint. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(ctx, 1);
    /* Both sides present and check certificates; chain validation is replaced by the
     * fingerprint check (RFC 8122: certificates are self-signed and pinned by SDP). */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, dsrtp_dtls_verify_peer, NULL);
    SSL_CTX_set_cookie_generate_cb(ctx, dsrtp_dtls_cookie_generate);
    SSL_CTX_set_cookie_verify_cb(ctx, dsrtp_dtls_cookie_verify);
    DSRTP_CHECK(RAND_bytes(c->cookie_secret, sizeof c->cookie_secret) == 1, DSRTP_ERR_CRYPTO);
    c->bio_meth = dsrtp_dgram_bio_method_new();
    DSRTP_CHECK(c->bio_meth != NULL, DSRTP_ERR_NO_MEMORY);
    return DSRTP_OK;
}

static void cert_destroy(dsrtp_cert *c)
{
    SSL_CTX_free(c->ctx);
    BIO_meth_free(c->bio_meth); /* every endpoint (and its BIO) held a reference: all gone */
    X509_free(c->x509);
    EVP_PKEY_free(c->pkey);
    sk_X509_pop_free(c->chain, X509_free);
    dsrtp_wipe(c, sizeof *c);
    free(c);
}

static dsrtp_err finish(dsrtp_cert *c, dsrtp_cert **out)
{
    dsrtp_err err = make_ctx(c);
    if (err != DSRTP_OK) {
        ERR_clear_error();
        cert_destroy(c);
        return err;
    }
    c->refs = 1;
    *out = c;
    return DSRTP_OK;
}

static dsrtp_err self_sign(dsrtp_cert *c)
{
    X509 *x = X509_new();
    DSRTP_CHECK(x != NULL, DSRTP_ERR_NO_MEMORY);
    c->x509 = x;
    uint8_t serial[8];
    DSRTP_CHECK(RAND_bytes(serial, sizeof serial) == 1, DSRTP_ERR_CRYPTO);
    serial[0] &= 0x7f; /* a positive INTEGER */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    DSRTP_CHECK(bn != NULL, DSRTP_ERR_NO_MEMORY);
    ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    DSRTP_CHECK(sn != NULL, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(X509_set_version(x, X509_VERSION_3) == 1, DSRTP_ERR_CRYPTO);
    /* Valid from a day ago (clock skew between peers) for 30 days. */
    DSRTP_CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -86400L) != NULL, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L) != NULL,
                DSRTP_ERR_CRYPTO);
    X509_NAME *name = X509_get_subject_name(x);
    DSRTP_CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                           (const unsigned char *)"dsrtp", -1, -1, 0) == 1,
                DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(X509_set_issuer_name(x, name) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(X509_set_pubkey(x, c->pkey) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(X509_sign(x, c->pkey, EVP_sha256()) > 0, DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

dsrtp_err dsrtp_cert_generate(dsrtp_cert_kind kind, unsigned rsa_bits, dsrtp_cert **out)
{
    DSRTP_CHECK(out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(kind == DSRTP_CERT_ECDSA_P256 || kind == DSRTP_CERT_RSA, DSRTP_ERR_INVALID_ARG);
    if (kind == DSRTP_CERT_RSA && rsa_bits == 0) {
        rsa_bits = 2048;
    }
    DSRTP_CHECK(kind != DSRTP_CERT_RSA || (rsa_bits >= 2048 && rsa_bits <= 8192),
                DSRTP_ERR_INVALID_ARG);
    dsrtp_cert *c = calloc(1, sizeof *c);
    DSRTP_CHECK(c != NULL, DSRTP_ERR_NO_MEMORY);
    c->pkey = kind == DSRTP_CERT_RSA ? EVP_RSA_gen(rsa_bits) : EVP_EC_gen("P-256");
    dsrtp_err err = c->pkey != NULL ? self_sign(c) : DSRTP_ERR_CRYPTO;
    if (err != DSRTP_OK) {
        ERR_clear_error();
        cert_destroy(c);
        return err;
    }
    return finish(c, out);
}

dsrtp_err dsrtp_cert_load_pem(const char *cert_pem, size_t cert_len, const char *key_pem,
                              size_t key_len, dsrtp_cert **out)
{
    DSRTP_CHECK(cert_pem != NULL && key_pem != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cert_len <= INT32_MAX && key_len <= INT32_MAX, DSRTP_ERR_INVALID_ARG);
    dsrtp_cert *c = calloc(1, sizeof *c);
    DSRTP_CHECK(c != NULL, DSRTP_ERR_NO_MEMORY);
    dsrtp_err err = DSRTP_ERR_MALFORMED;
    BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
    BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
    if (cb != NULL && kb != NULL) {
        c->x509 = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        c->pkey = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        if (c->x509 != NULL && c->pkey != NULL) {
            err = DSRTP_OK;
            X509 *extra;
            while ((extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
                if (c->chain == NULL) {
                    c->chain = sk_X509_new_null();
                }
                if (c->chain == NULL || sk_X509_push(c->chain, extra) <= 0) {
                    X509_free(extra);
                    err = DSRTP_ERR_NO_MEMORY;
                    break;
                }
            }
            if (err == DSRTP_OK && X509_check_private_key(c->x509, c->pkey) != 1) {
                err = DSRTP_ERR_INVALID_ARG;
            }
        }
    } else {
        err = DSRTP_ERR_NO_MEMORY;
    }
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    if (err != DSRTP_OK) {
        cert_destroy(c);
        return err;
    }
    return finish(c, out);
}

/* Writes one PEM object through write_fn into out as text. */
static dsrtp_err pem_to_text(BIO *b, char *out, size_t cap)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    DSRTP_CHECK(n >= 0, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK((size_t)n < cap, DSRTP_ERR_BUFFER_TOO_SMALL);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return DSRTP_OK;
}

dsrtp_err dsrtp_cert_write_pem(const dsrtp_cert *c, char *cert_out, size_t cert_cap,
                               char *key_out, size_t key_cap)
{
    DSRTP_CHECK(c != NULL && cert_out != NULL && key_out != NULL, DSRTP_ERR_INVALID_ARG);
    BIO *cb = BIO_new(BIO_s_mem());
    BIO *kb = BIO_new(BIO_s_secmem());
    dsrtp_err err = DSRTP_ERR_NO_MEMORY;
    if (cb != NULL && kb != NULL) {
        err = DSRTP_ERR_CRYPTO;
        if (PEM_write_bio_X509(cb, c->x509) == 1 &&
            PEM_write_bio_PrivateKey(kb, c->pkey, NULL, NULL, 0, NULL, NULL) == 1) {
            err = pem_to_text(cb, cert_out, cert_cap);
            if (err == DSRTP_OK) {
                err = pem_to_text(kb, key_out, key_cap);
            }
        }
    }
    BIO_free(cb);
    BIO_free(kb);
    return err;
}

dsrtp_cert *dsrtp_cert_ref(const dsrtp_cert *c)
{
    dsrtp_cert *m = (dsrtp_cert *)c;
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void dsrtp_cert_free(dsrtp_cert *c)
{
    if (c != NULL && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        cert_destroy(c);
    }
}

dsrtp_err dsrtp_cert_fingerprint(const dsrtp_cert *c, dsrtp_hash h, dsrtp_fingerprint *out)
{
    DSRTP_CHECK(c != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    return dsrtp_x509_fingerprint(c->x509, h, out);
}
