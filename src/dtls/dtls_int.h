/* dtls: DTLS-SRTP keying over OpenSSL 3 libssl, sans-IO.
 *
 * The SSL object talks to a custom datagram BIO (bio.c) that keeps datagram boundaries:
 * every BIO write is one outgoing datagram, queued in a ring sized at creation, and every
 * read hands over the one datagram being fed. Certificates own a ready SSL_CTX (cert.c), so
 * a new endpoint costs only an SSL object.
 *
 * Invariants: keys are exported only after the handshake completed, the peer's leaf
 * certificate matched a caller-given fingerprint (checked inside the handshake, so a
 * mismatch sends a fatal alert), and a DTLS-SRTP profile was negotiated. OpenSSL types stay
 * inside this directory. */
#ifndef DSRTP_DTLS_INT_H
#define DSRTP_DTLS_INT_H

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <dsrtp/dtls.h>

#include "util/util_int.h"

struct dsrtp_cert {
    int refs; /* atomic via __atomic builtins */
    X509 *x509;
    EVP_PKEY *pkey;
    STACK_OF(X509) *chain; /* extra certificates after the leaf, may be NULL */
    SSL_CTX *ctx;          /* DTLS 1.2, certificate and key loaded */
    uint8_t cookie_secret[32];
};

/* Takes one more reference. */
dsrtp_cert *dsrtp_cert_ref(const dsrtp_cert *c);
/* The EVP digest for a fingerprint hash, or NULL. */
const EVP_MD *dsrtp_hash_md(dsrtp_hash h);
/* Fingerprint of any X509 under h. */
dsrtp_err dsrtp_x509_fingerprint(X509 *x, dsrtp_hash h, dsrtp_fingerprint *out);

/* ---- the datagram BIO (bio.c) ---- */
#define DSRTP_DTLS_QUEUE 32 /* datagrams the endpoint can hold for output */

typedef struct dsrtp_dgram {
    uint8_t *data;
    size_t len;
} dsrtp_dgram;

typedef struct dsrtp_dgram_bio {
    /* Input: the datagram being fed, handed over by one read. */
    const uint8_t *in;
    size_t in_len;
    /* Output ring. */
    dsrtp_dgram out[DSRTP_DTLS_QUEUE];
    size_t out_head;
    size_t out_count;
    size_t slot_cap;
    size_t dropped; /* writes refused because the ring was full */
} dsrtp_dgram_bio;

dsrtp_err dsrtp_dgram_bio_init(dsrtp_dgram_bio *q, size_t slot_cap);
void dsrtp_dgram_bio_clear(dsrtp_dgram_bio *q);
/* A BIO over q (q must outlive it) and its method, which the caller frees after the BIO.
 * NULL on failure. */
BIO *dsrtp_dgram_bio_new(dsrtp_dgram_bio *q, BIO_METHOD **meth_out);

#endif
