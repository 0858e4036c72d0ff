/* dtls: DTLS-SRTP keying over OpenSSL 3 libssl, sans-IO.
 *
 * The SSL object talks to a custom datagram BIO (bio.c) that keeps datagram boundaries:
 * every BIO write is one outgoing datagram, queued in a ring of DSRTP_DTLS_QUEUE slots (a
 * slot's buffer is allocated on its first use: a handshake needs a few), and every read
 * hands over the one datagram being fed. Certificates own a ready SSL_CTX and the BIO
 * method (cert.c), so a new endpoint costs only an SSL object and its BIO.
 *
 * Once the handshake completes the endpoint is compacted (compact.c): the little it still
 * needs (epoch-1 record keys and sequence numbers, the exporter's inputs, the peer's
 * fingerprints, a copy of a server's final flight) moves into a dsrtp_dtls_post and the SSL
 * object is freed; the ring goes as soon as it is drained. From then on post.c is the record
 * layer: it seals our close_notify, opens the peer's epoch-1 records, and keeps their replay
 * window.
 *
 * Invariants: keys are exported only after the handshake completed, the peer's leaf
 * certificate matched a caller-given fingerprint (checked inside the handshake, so a
 * mismatch sends a fatal alert), and a DTLS-SRTP profile was negotiated. OpenSSL types stay
 * inside this directory. A post-handshake record acts only after its AEAD tag verified and
 * its sequence number was new. */
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
/* Fingerprints of x under every hash, packed in dsrtp_hash order (table_len bytes: the sum
 * of the digest sizes); and one of them back out. */
dsrtp_err dsrtp_fp_table_fill(X509 *x, uint8_t *table, size_t table_len);
dsrtp_err dsrtp_fp_table_get(const uint8_t *table, size_t table_len, dsrtp_hash h,
                             dsrtp_fingerprint *out);

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
    size_t writes;  /* writes queued, ever: the datagrams of one SSL call are the last few */
    uint64_t epoch1_next; /* one past the highest epoch-1 sequence number written */
} dsrtp_dgram_bio;

dsrtp_err dsrtp_dgram_bio_init(dsrtp_dgram_bio *q, size_t slot_cap);
void dsrtp_dgram_bio_clear(dsrtp_dgram_bio *q);
/* The BIO method, made once per certificate and shared by its endpoints. NULL on failure;
 * BIO_meth_free once no BIO uses it. */
BIO_METHOD *dsrtp_dgram_bio_method_new(void);
/* A BIO of method meth over q (both must outlive it). NULL on failure. */
BIO *dsrtp_dgram_bio_new(dsrtp_dgram_bio *q, const BIO_METHOD *meth);

/* ---- record framing (record.c) ---- */
#define DSRTP_DTLS_RT_CHANGE_CIPHER_SPEC 20
#define DSRTP_DTLS_RT_ALERT 21
#define DSRTP_DTLS_RT_HANDSHAKE 22
#define DSRTP_DTLS_HEADER_LEN 13 /* type(1) version(2) epoch(2) sequence_number(6) length(2) */

/* The shortest protected record ssl's cipher can produce: SIZE_MAX while none is agreed. */
size_t dsrtp_dtls_min_protected_len(const SSL *ssl);
/* False when the datagram is not made of whole, well-framed DTLS 1.x records: epoch-0
 * records must be a one-byte ChangeCipherSpec, a fatal alert or close_notify, or handshake
 * fragments that fit their messages; protected records must be at least min_protected
 * bytes long. */
bool dsrtp_dtls_datagram_plausible(size_t min_protected, const uint8_t *p, size_t len);

/* ---- the TLS 1.2 PRF (prf.c) ---- */
typedef enum dsrtp_prf_hash {
    DSRTP_PRF_NONE = 0,
    DSRTP_PRF_SHA256,
    DSRTP_PRF_SHA384
} dsrtp_prf_hash;

/* RFC 5246 §5: out = P_hash(secret, label || seed1 || seed2), out_len bytes. */
dsrtp_err dsrtp_tls12_prf(dsrtp_prf_hash h, const uint8_t *secret, size_t secret_len,
                          const char *label, const uint8_t *seed1, size_t seed1_len,
                          const uint8_t *seed2, size_t seed2_len, uint8_t *out, size_t out_len);

/* ---- after the handshake (post.c) ---- */
typedef enum dsrtp_post_aead {
    DSRTP_POST_AEAD_NONE = 0,
    DSRTP_POST_AES_128_GCM,       /* RFC 5288: 4-byte salt, 8-byte explicit nonce */
    DSRTP_POST_AES_256_GCM,
    DSRTP_POST_CHACHA20_POLY1305  /* RFC 7905: 12-byte IV XOR the sequence, no explicit */
} dsrtp_post_aead;

#define DSRTP_POST_KEY_MAX 32
#define DSRTP_POST_IV_MAX 12
#define DSRTP_POST_TAG_LEN 16
#define DSRTP_POST_EXPLICIT_LEN 8
#define DSRTP_POST_MASTER_LEN 48
#define DSRTP_POST_RANDOM_LEN 32
/* Our final flight kept for resending: a server's is ChangeCipherSpec and Finished, about
 * 80 bytes; a larger one is not kept (and not resent). */
#define DSRTP_POST_FLIGHT_MAX 2048
/* A peer's retransmitted final flight is answered at most this often (caller's clock). */
#define DSRTP_POST_RESEND_GAP 100000u
/* Room for one sealed alert record: header, explicit nonce, level and description, tag. */
#define DSRTP_POST_ALERT_RECORD_MAX                                                        \
    (DSRTP_DTLS_HEADER_LEN + DSRTP_POST_EXPLICIT_LEN + 2 + DSRTP_POST_TAG_LEN)
/* Fingerprints of the peer's leaf certificate under every hash, packed in dsrtp_hash order
 * (SHA-1, -224, -256, -384, -512). */
#define DSRTP_POST_FP_TABLE (20 + 28 + 32 + 48 + 64)

/* Everything a connected endpoint keeps once its SSL object is gone. Secrets: wiped by
 * dsrtp_post_wipe_secrets and whenever the endpoint is freed. */
typedef struct dsrtp_dtls_post {
    uint8_t aead; /* dsrtp_post_aead; NONE until compacted */
    uint8_t prf;  /* dsrtp_prf_hash of the suite */
    uint8_t key_len;
    uint8_t iv_len;
    bool have_peer_fps;
    bool resent;
    uint8_t alert_len; /* bytes of alert waiting to go out; 0: none */
    /* Output: our final flight as datagrams, each a 16-bit length and its bytes (at most
     * DSRTP_POST_FLIGHT_MAX, so the offsets fit 16 bits). */
    uint16_t flight_len;
    uint16_t flight_next; /* offset of the next datagram to send; flight_len: none pending */
    uint8_t write_key[DSRTP_POST_KEY_MAX];
    uint8_t write_iv[DSRTP_POST_IV_MAX];
    uint8_t read_key[DSRTP_POST_KEY_MAX];
    uint8_t read_iv[DSRTP_POST_IV_MAX];
    uint64_t write_seq;   /* next epoch-1 sequence number we send */
    uint64_t read_top;    /* highest authenticated epoch-1 sequence number of the peer */
    uint64_t read_window; /* bit i: read_top - i was seen; 0 while nothing was */
    dsrtp_time last_resend;
    uint8_t *flight;
    /* RFC 5705 exporter inputs: master secret, client_random || server_random. Kept for
     * dsrtp_dtls_export and dsrtp_dtls_get_keys, which export the SRTP keys again. */
    uint8_t master[DSRTP_POST_MASTER_LEN];
    uint8_t randoms[2 * DSRTP_POST_RANDOM_LEN];
    uint8_t peer_fps[DSRTP_POST_FP_TABLE];
    uint8_t alert[DSRTP_POST_ALERT_RECORD_MAX]; /* a sealed alert waiting to go out */
} dsrtp_dtls_post;

/* The shortest record the post-handshake cipher can produce (SIZE_MAX before compaction). */
size_t dsrtp_post_min_record(const dsrtp_dtls_post *p);
/* Marks the peer's epoch-1 sequence number seq as seen (its Finished, read by OpenSSL). */
void dsrtp_post_mark_seen(dsrtp_dtls_post *p, uint64_t seq);
/* Splits the next whole record off r: *rec and *rec_len cover header and body. */
dsrtp_err dsrtp_post_next_record(dsrtp_rd *r, const uint8_t **rec, size_t *rec_len);
/* Opens one epoch-1 record from the peer: checks the replay window, authenticates and
 * decrypts into plain (cap bytes), then marks its sequence number seen. DSRTP_ERR_MALFORMED
 * (not epoch 1, bad framing, too long for cap), DSRTP_ERR_REPLAY, DSRTP_ERR_AUTH; nothing
 * changes on error. */
dsrtp_err dsrtp_post_open(dsrtp_dtls_post *p, const uint8_t *rec, size_t rec_len,
                          uint8_t *type, uint8_t *plain, size_t cap, size_t *plain_len);
/* Seals one record of type with our next sequence number into out. */
dsrtp_err dsrtp_post_seal(dsrtp_dtls_post *p, uint8_t type, const uint8_t *plain, size_t n,
                          uint8_t *out, size_t cap, size_t *out_len);
/* Queues an alert record (level, description) for output. */
dsrtp_err dsrtp_post_queue_alert(dsrtp_dtls_post *p, uint8_t level, uint8_t desc);
/* Keeps a copy of datagrams (n of them, from the BIO ring) as our final flight. Refuses
 * (DSRTP_ERR_BUFFER_TOO_SMALL) past DSRTP_POST_FLIGHT_MAX bytes; DSRTP_ERR_NO_MEMORY. */
dsrtp_err dsrtp_post_keep_flight(dsrtp_dtls_post *p, const dsrtp_dgram_bio *q, size_t n);
/* Queues the final flight again, unless there is none, it is already queued, or it went
 * out less than DSRTP_POST_RESEND_GAP before now. True when queued. */
bool dsrtp_post_resend_flight(dsrtp_dtls_post *p, dsrtp_time now);
/* The next queued datagram: flight first, then the alert. DSRTP_ERR_BUFFER_TOO_SMALL
 * (with *len the size needed) keeps it queued; *len = 0 when nothing is queued. */
dsrtp_err dsrtp_post_poll(dsrtp_dtls_post *p, uint8_t *buf, size_t cap, size_t *len);
/* Wipes record keys and exporter inputs (the association is over). */
void dsrtp_post_wipe_secrets(dsrtp_dtls_post *p);
/* Wipes and frees everything, leaving p zeroed. */
void dsrtp_post_clear(dsrtp_dtls_post *p);

/* ---- compaction (compact.c) ---- */
/* Fills p from a completed handshake on ssl: cipher and PRF, epoch-1 record keys for role
 * (client: we write with the client key), exporter inputs, the peer's fingerprints and the
 * next sequence number we send (from q). DSRTP_ERR_UNSUPPORTED for a suite other than
 * AES-GCM or ChaCha20-Poly1305; DSRTP_ERR_CRYPTO. On error p holds nothing secret. */
dsrtp_err dsrtp_post_from_ssl(SSL *ssl, bool client, const dsrtp_dgram_bio *q,
                              dsrtp_dtls_post *p);
/* RFC 5705 export from the kept inputs. */
dsrtp_err dsrtp_post_export(const dsrtp_dtls_post *p, const char *label, uint8_t *out,
                            size_t len);

#endif
