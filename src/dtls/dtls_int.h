/* dtls: DTLS-SRTP keying over OpenSSL 3 libssl, sans-IO.
 *
 * The SSL object talks to a custom datagram BIO (bio.c) that keeps datagram boundaries:
 * every BIO write is one outgoing datagram, queued in a ring of DSRTP_DTLS_QUEUE slots (a
 * slot's buffer is allocated on its first use: a handshake needs a few), and every read
 * hands over the one datagram being fed. Certificates own a ready SSL_CTX and the BIO
 * method (cert.c), so a new endpoint costs only an SSL object and its BIO.
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
    BIO_METHOD *bio_meth;  /* the datagram BIO's method, shared by this cert's endpoints */
    uint8_t cookie_secret[32];
};

/* Takes one more reference. */
dsrtp_cert *dsrtp_cert_ref(const dsrtp_cert *c);
/* The EVP digest for a fingerprint hash, or NULL. */
const EVP_MD *dsrtp_hash_md(dsrtp_hash h);
/* Fingerprint of any X509 under h. */
dsrtp_err dsrtp_x509_fingerprint(X509 *x, dsrtp_hash h, dsrtp_fingerprint *out);

/* ---- the datagram BIO (bio.c) ---- */
/* Datagrams the endpoint can hold for output. A whole flight is written in one call, so
 * this caps the largest flight: OpenSSL resends a flight that overflowed truncated the same
 * way every time and the handshake can never finish. 64 holds a 20-certificate chain (about
 * 20 KB) at MTU 576; slot buffers are still allocated only when a flight uses them. */
#define DSRTP_DTLS_QUEUE 64

typedef struct dsrtp_dgram {
    uint8_t *data; /* slot_cap bytes, allocated on the slot's first use */
    size_t len;
    size_t dirty; /* most bytes ever written here: what clear wipes */
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
/* The BIO method, made once per certificate and shared by its endpoints. NULL on failure;
 * BIO_meth_free once no BIO uses it. */
BIO_METHOD *dsrtp_dgram_bio_method_new(void);
/* A BIO of method meth over q (both must outlive it). NULL on failure. */
BIO *dsrtp_dgram_bio_new(dsrtp_dgram_bio *q, const BIO_METHOD *meth);

/* ---- record framing (record.c) ---- */
/* False when the datagram is not made of whole, well-framed DTLS 1.x records: epoch-0
 * records must be a one-byte ChangeCipherSpec, a fatal alert or close_notify, or handshake
 * fragments that fit their messages; protected records must be long enough for ssl's
 * cipher. */
bool dsrtp_dtls_datagram_plausible(const SSL *ssl, const uint8_t *p, size_t len);

#endif
