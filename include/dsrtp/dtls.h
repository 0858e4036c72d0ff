/* DTLS-SRTP keying (RFC 5764, RFC 5763, RFC 5705, RFC 8122), sans-IO.
 *
 * A dsrtp_dtls endpoint runs one DTLS 1.2 handshake on the media port: datagrams and the
 * current time go in (handle_datagram, handle_timeout), datagrams and events come out
 * (poll_output). The use_srtp extension picks the SRTP profile and the RFC 5705 exporter
 * (label EXTRACTOR-dtls_srtp) yields the master keys and salts. The peer is authenticated
 * by its certificate's fingerprint as SDP carries it: no keys are ever released unless the
 * leaf certificate matches one of the fingerprints given, in either role.
 *
 * Time: the caller's monotonic microseconds decide the total handshake timeout and every
 * deadline reported. Limitation: OpenSSL 3.0 decides whether a retransmission timer has
 * expired with its own clock (gettimeofday) and cannot be given the caller's; deadlines are
 * therefore "now + OpenSSL's remaining time", and a caller whose clock runs faster than real
 * time (a simulation) sees retransmissions only as fast as real time passes.
 *
 * Memory: once the handshake completes, the endpoint frees its OpenSSL state (some 40 KB)
 * and keeps under 1 KB: the epoch-1 record keys and sequence numbers, the exporter's inputs
 * (dsrtp_dtls_get_keys exports the SRTP keys from them again), the peer's certificate
 * fingerprints and, for a server, a copy of its final flight. From then on no timer runs
 * (next_deadline is DSRTP_TIME_NEVER); a server answers a peer that resends its final
 * flight (ours was lost) with that copy, at most once per authenticated, never-seen
 * retransmission; close_notify is sealed, and the peer's alerts are authenticated and
 * checked against a 64-record replay window, by the endpoint itself (AES-GCM and
 * ChaCha20-Poly1305 suites). Anything else the peer sends is dropped. */
#ifndef DSRTP_DTLS_H
#define DSRTP_DTLS_H

#include <dsrtp/dsrtp.h>
#include <dsrtp/srtp.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Hash functions for certificate fingerprints (RFC 8122 §5). */
typedef enum dsrtp_hash {
    DSRTP_HASH_NONE = 0,
    DSRTP_HASH_SHA1,
    DSRTP_HASH_SHA224,
    DSRTP_HASH_SHA256,
    DSRTP_HASH_SHA384,
    DSRTP_HASH_SHA512
} dsrtp_hash;

#define DSRTP_FINGERPRINT_MAX_LEN 64 /* SHA-512 */
/** "sha-512 " plus 64 colon-separated upper-case hex pairs plus NUL. */
#define DSRTP_FINGERPRINT_TEXT_MAX (8 + 64 * 3)

/** A certificate fingerprint: the hash and its value. Plain data. */
typedef struct dsrtp_fingerprint {
    dsrtp_hash hash;
    size_t len; /* bytes in value */
    uint8_t value[DSRTP_FINGERPRINT_MAX_LEN];
} dsrtp_fingerprint;

/** The SDP name of a hash ("sha-256"); "none" for anything else. */
DSRTP_API const char *dsrtp_hash_name(dsrtp_hash h);

/** Parses an a=fingerprint value, "sha-256 AB:CD:..." (hash name case-insensitive, hex
 *  either case). DSRTP_ERR_UNSUPPORTED for an unknown hash (md5, md2 included);
 *  DSRTP_ERR_MALFORMED for bad hex or a value of the wrong length. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_fingerprint_parse(const char *text, size_t len,
                                                             dsrtp_fingerprint *out);
/** Writes "sha-256 AB:CD:..." and a NUL into out (DSRTP_FINGERPRINT_TEXT_MAX is always
 *  enough). DSRTP_ERR_BUFFER_TOO_SMALL or DSRTP_ERR_INVALID_ARG otherwise. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_fingerprint_format(const dsrtp_fingerprint *fp,
                                                              char *out, size_t cap);

/** Key types for generated certificates. */
typedef enum dsrtp_cert_kind {
    DSRTP_CERT_ECDSA_P256 = 0, /* the default: small and fast */
    DSRTP_CERT_RSA            /* bits given separately; 2048 by default */
} dsrtp_cert_kind;

/** A certificate with its private key.
 *  Threading: immutable after creation; share freely between endpoints and threads.
 *  Endpoints take their own reference, so the caller may free it at any time. Rotation is
 *  the caller's: generate a new one (about a millisecond for ECDSA) and use it for new
 *  endpoints; running endpoints keep the one they started with. */
typedef struct dsrtp_cert dsrtp_cert;

/** Generates a self-signed certificate (CN "dsrtp", valid from one day ago for 30 days,
 *  random serial). rsa_bits is used for DSRTP_CERT_RSA only (0 = 2048; 2048..8192).
 *  DSRTP_ERR_INVALID_ARG, DSRTP_ERR_NO_MEMORY, DSRTP_ERR_CRYPTO. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_cert_generate(dsrtp_cert_kind kind,
                                                         unsigned rsa_bits, dsrtp_cert **out);
/** Loads a PEM certificate (optionally followed by its chain) and a PEM private key from
 *  memory. DSRTP_ERR_MALFORMED if either does not parse, DSRTP_ERR_INVALID_ARG if the key
 *  does not match the certificate. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_cert_load_pem(const char *cert_pem, size_t cert_len,
                                                         const char *key_pem, size_t key_len,
                                                         dsrtp_cert **out);
/** Writes the certificate and the private key as PEM into two caller buffers (NUL
 *  terminated). DSRTP_ERR_BUFFER_TOO_SMALL when either does not fit. The key text is a
 *  secret: wipe it when done. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_cert_write_pem(const dsrtp_cert *c, char *cert_out,
                                                          size_t cert_cap, char *key_out,
                                                          size_t key_cap);
/** Computes the certificate's fingerprint under hash h. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_cert_fingerprint(const dsrtp_cert *c, dsrtp_hash h,
                                                            dsrtp_fingerprint *out);
/** Drops the caller's reference; the key is wiped when the last reference goes. NULL is a
 *  no-op. */
DSRTP_API void dsrtp_cert_free(dsrtp_cert *c);

typedef enum dsrtp_dtls_role {
    DSRTP_DTLS_ROLE_UNSET = 0, /* decided later: an early ClientHello is held meanwhile */
    DSRTP_DTLS_CLIENT,         /* a=setup:active */
    DSRTP_DTLS_SERVER          /* a=setup:passive */
} dsrtp_dtls_role;

#define DSRTP_DTLS_MAX_PROFILES 4
#define DSRTP_DTLS_MAX_FINGERPRINTS 8
#define DSRTP_DTLS_DEFAULT_MTU 1200
#define DSRTP_DTLS_MIN_MTU 256
/** 100 ms: a LAN or WebRTC path answers well within it, a lost flight costs a tenth of a
 *  second instead of RFC 6347's full second, and the doubling backoff keeps a slow path
 *  (satellite, congested mobile) from more than one or two spurious repeats. */
#define DSRTP_DTLS_DEFAULT_RTO 100000u
#define DSRTP_DTLS_MAX_RTO 3000000u
#define DSRTP_DTLS_DEFAULT_TIMEOUT 20000000u

/** Endpoint settings; start from dsrtp_dtls_cfg_init. */
typedef struct dsrtp_dtls_cfg {
    const dsrtp_cert *cert; /* required; the endpoint takes its own reference */
    dsrtp_dtls_role role;   /* may stay UNSET until dsrtp_dtls_set_role */
    /* SRTP profiles in preference order: AEAD_AES_256_GCM, AEAD_AES_128_GCM,
     * AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32 (the only ones with DTLS-SRTP
     * identifiers). Default: GCM first, in that order. */
    dsrtp_profile profiles[DSRTP_DTLS_MAX_PROFILES];
    size_t profile_count;
    size_t mtu;                   /* largest datagram sent; default 1200 */
    dsrtp_time initial_rto;       /* first retransmission after; default 100 ms */
    dsrtp_time handshake_timeout; /* give up after; default 20 s */
    bool require_cookie;          /* server: HelloVerifyRequest before any state */
} dsrtp_dtls_cfg;

/** Fills cfg with the defaults above (no certificate, role unset). */
DSRTP_API void dsrtp_dtls_cfg_init(dsrtp_dtls_cfg *cfg);

typedef enum dsrtp_dtls_state {
    DSRTP_DTLS_STATE_NEW = 0,    /* waiting for role, fingerprints or start */
    DSRTP_DTLS_STATE_HANDSHAKE,  /* flights in progress */
    DSRTP_DTLS_STATE_CONNECTED,  /* keys available */
    DSRTP_DTLS_STATE_FAILED,     /* see dsrtp_dtls_get_failure */
    DSRTP_DTLS_STATE_CLOSED      /* close_notify sent or received */
} dsrtp_dtls_state;

typedef enum dsrtp_dtls_failure {
    DSRTP_DTLS_FAIL_NONE = 0,
    DSRTP_DTLS_FAIL_FINGERPRINT,     /* peer certificate matched no given fingerprint */
    DSRTP_DTLS_FAIL_NO_FINGERPRINT,  /* nothing to compare the peer certificate with */
    DSRTP_DTLS_FAIL_NO_PROFILE,      /* no SRTP profile in common (or no use_srtp) */
    DSRTP_DTLS_FAIL_TIMEOUT,         /* handshake did not finish in time */
    DSRTP_DTLS_FAIL_ALERT,           /* the peer sent a fatal alert */
    DSRTP_DTLS_FAIL_PROTOCOL         /* the handshake failed locally (see the detail) */
} dsrtp_dtls_failure;

typedef enum dsrtp_dtls_event_kind {
    DSRTP_DTLS_EV_CONNECTED = 1, /* handshake done, fingerprint matched: keys are ready */
    DSRTP_DTLS_EV_FAILED,        /* fatal; failure and detail say why */
    DSRTP_DTLS_EV_ALERT,         /* an alert arrived (description, fatal or warning) */
    DSRTP_DTLS_EV_CLOSED         /* the peer sent close_notify */
} dsrtp_dtls_event_kind;

typedef struct dsrtp_dtls_event {
    dsrtp_dtls_event_kind kind;
    dsrtp_dtls_failure failure; /* EV_FAILED */
    int alert;                  /* EV_ALERT / EV_FAILED by alert: TLS alert description */
    bool fatal;                 /* EV_ALERT */
    char detail[96];            /* human-readable reason, never secret */
} dsrtp_dtls_event;

typedef struct dsrtp_dtls_output {
    dsrtp_output_kind kind;
    size_t len;            /* DATAGRAM */
    dsrtp_dtls_event event; /* EVENT */
    dsrtp_time deadline;   /* IDLE: when to call handle_timeout (DSRTP_TIME_NEVER: never) */
} dsrtp_dtls_output;

/** The SRTP keys a finished handshake agreed, oriented for this endpoint: install local_*
 *  into the send context and remote_* into the receive context. A secret: wipe it. */
typedef struct dsrtp_dtls_keys {
    dsrtp_profile profile;
    size_t key_len;
    size_t salt_len;
    uint8_t local_key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t local_salt[DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t remote_key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t remote_salt[DSRTP_SRTP_MAX_SALT_LEN];
} dsrtp_dtls_keys;

/** One DTLS-SRTP endpoint. Threading: single owner (one thread at a time). */
typedef struct dsrtp_dtls dsrtp_dtls;

/** Creates an endpoint. cfg is copied. DSRTP_ERR_INVALID_ARG for a missing certificate, a
 *  profile without a DTLS-SRTP identifier, an MTU under DSRTP_DTLS_MIN_MTU;
 *  DSRTP_ERR_NO_MEMORY; DSRTP_ERR_CRYPTO. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_new(const dsrtp_dtls_cfg *cfg,
                                                    dsrtp_dtls **out);
/** Wipes keys and frees everything. NULL is a no-op. */
DSRTP_API void dsrtp_dtls_free(dsrtp_dtls *d);

/** Sets the role, once, before the handshake starts. DSRTP_ERR_INVALID_ARG otherwise. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_set_role(dsrtp_dtls *d, dsrtp_dtls_role role);
/** Sets the fingerprints the peer's certificate must match (any one of them; several
 *  a=fingerprint lines may be given). Copied. Allowed until the handshake completes. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_set_remote_fingerprints(
    dsrtp_dtls *d, const dsrtp_fingerprint *fps, size_t n);
/** Starts the handshake at time now once the role is known: a client sends its ClientHello,
 *  a server processes any ClientHello held so far. DSRTP_ERR_INVALID_ARG if the role is
 *  unset or it already started. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_start(dsrtp_dtls *d, dsrtp_time now);

/** Feeds one datagram received from the peer (borrowed for the call). Before start, up to a
 *  few datagrams are held. Garbage and truncated records are dropped and the handshake
 *  continues: DSRTP_ERR_MALFORMED when the datagram is not DTLS at all or not made of
 *  well-framed records (dropped whole, nothing changed); records that only fail their
 *  protection are dropped inside. Fatal conditions come out as an EV_FAILED event, not as
 *  an error here. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_handle_datagram(dsrtp_dtls *d, dsrtp_time now,
                                                                const uint8_t *buf, size_t len);
/** Lets time pass: retransmits a flight whose timer ran out, fails the handshake after the
 *  total timeout. Early calls are harmless. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_handle_timeout(dsrtp_dtls *d, dsrtp_time now);
/** Pulls the next output: events first, then datagrams, then IDLE with the deadline. A
 *  datagram that does not fit cap stays queued (DSRTP_ERR_BUFFER_TOO_SMALL, out->len =
 *  size needed). Never moves time. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_poll_output(dsrtp_dtls *d, uint8_t *buf,
                                                            size_t cap, dsrtp_dtls_output *out);
/** The time at which handle_timeout should next be called, or DSRTP_TIME_NEVER. */
DSRTP_API dsrtp_time dsrtp_dtls_next_deadline(const dsrtp_dtls *d);

/** Copies the agreed keys; DSRTP_ERR_INVALID_ARG unless the state is CONNECTED. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_get_keys(const dsrtp_dtls *d,
                                                         dsrtp_dtls_keys *out);
/** Exports len bytes of RFC 5705 keying material with label EXTRACTOR-dtls_srtp (the raw
 *  client key | server key | client salt | server salt), for interop checks. Only when
 *  CONNECTED. A secret. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_export(const dsrtp_dtls *d, uint8_t *out,
                                                       size_t len);
/** The peer's leaf certificate fingerprint under hash h (after it was received). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_get_remote_fingerprint(const dsrtp_dtls *d,
                                                                       dsrtp_hash h,
                                                                       dsrtp_fingerprint *out);
/** Current state, role, and the reason for FAILED. */
DSRTP_API dsrtp_dtls_state dsrtp_dtls_get_state(const dsrtp_dtls *d);
DSRTP_API dsrtp_dtls_role dsrtp_dtls_get_role(const dsrtp_dtls *d);
DSRTP_API dsrtp_dtls_failure dsrtp_dtls_get_failure(const dsrtp_dtls *d);
/** Queues close_notify for the peer and moves to CLOSED. During the handshake OpenSSL 3.0
 *  sends nothing (it will not shut down mid-handshake): the peer then ends by its own
 *  timeout. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_dtls_close(dsrtp_dtls *d);
/** Static text for a failure reason. */
DSRTP_API const char *dsrtp_dtls_failure_name(dsrtp_dtls_failure f);

#ifdef __cplusplus
}
#endif

#endif
