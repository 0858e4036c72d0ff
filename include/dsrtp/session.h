/* One media endpoint on one UDP port (RFC 5764 §5.1.2, RFC 7983), sans-IO.
 *
 * A session demultiplexes what arrives on the port (STUN, DTLS, RTP/RTCP), answers ICE
 * connectivity checks as an ICE-lite agent, runs DTLS-SRTP keying (or uses SDES keys, or
 * none for a plain-RTP trunk), and then protects and unprotects media. Gating is hard: no
 * media is sent or accepted before keys are agreed and the peer authenticated, and when ICE
 * is in use, DTLS and media from an address ICE has not validated are ignored.
 *
 * The loop: feed datagrams (handle_datagram) and time (handle_timeout); after every call,
 * drain poll_output until IDLE, sending datagrams to out.to and acting on events; then wait
 * for the socket or out.deadline. */
#ifndef DSRTP_SESSION_H
#define DSRTP_SESSION_H

#include <dsrtp/dsrtp.h>
#include <dsrtp/dtls.h>
#include <dsrtp/sdp.h>
#include <dsrtp/srtp.h>
#include <dsrtp/stun.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- demultiplexing (RFC 7983, RFC 5761) ---- */

typedef enum dsrtp_demux_kind {
    DSRTP_DEMUX_OTHER = 0, /* none of the below (ZRTP, TURN channels, garbage) */
    DSRTP_DEMUX_STUN,      /* first byte 0..3 */
    DSRTP_DEMUX_DTLS,      /* first byte 20..63 */
    DSRTP_DEMUX_RTP,       /* first byte 128..191, payload type not 64..95 */
    DSRTP_DEMUX_RTCP       /* first byte 128..191, packet type 192..223 (RFC 5761 §4) */
} dsrtp_demux_kind;

/** Classifies one datagram by its first bytes. Never reads past len. */
DSRTP_API dsrtp_demux_kind dsrtp_demux(const uint8_t *buf, size_t len);

/* ---- the session ---- */

#define DSRTP_ICE_CRED_MAX 257 /* ufrag or password plus NUL */

/** What is learnt about the peer, from its SDP: may be given at creation or later
 *  through dsrtp_session_set_remote (before dsrtp_session_start). Plain data, copied. */
typedef struct dsrtp_session_remote {
    bool has_addr;
    dsrtp_addr addr;          /* where media goes without ICE (c= and m= port) */
    dsrtp_dtls_role dtls_role; /* DTLS: our role, decided by the offer/answer */
    dsrtp_fingerprint fingerprints[DSRTP_DTLS_MAX_FINGERPRINTS];
    size_t fingerprint_count;
    char ice_ufrag[DSRTP_ICE_CRED_MAX]; /* empty: the peer does no ICE */
    char ice_pwd[DSRTP_ICE_CRED_MAX];
    bool ice_lite; /* the peer is ICE-lite too: nobody checks, media goes to addr */
    /* SDES: the peer's key, which it sends with (our receive key). */
    uint8_t sdes_key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t sdes_salt[DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t sdes_mki[DSRTP_SRTP_MAX_MKI_LEN];
    size_t sdes_mki_len;
} dsrtp_session_remote;

/** Fills *out from the peer's m-line (borrowed from a parsed dsrtp_sdp) and the keying
 *  decision dsrtp_sdp_negotiate made for it: address (c= and m= port; none for a host
 *  name), DTLS role and fingerprints, ICE credentials when use_ice, the peer's SDES key.
 *  *out holds a secret (the SDES key): wipe it once passed to dsrtp_session_set_remote.
 *  DSRTP_ERR_INVALID_ARG for NULL pointers or an oversized key. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_remote_from_sdp(const dsrtp_sdp_media *m,
                                                                   const dsrtp_sdp_decision *d,
                                                                   bool use_ice,
                                                                   dsrtp_session_remote *out);

/** Session settings; start from dsrtp_session_cfg_init. Pointers are borrowed for the _new
 *  call only (the certificate is referenced). */
typedef struct dsrtp_session_cfg {
    dsrtp_keying keying;
    /* DTLS */
    const dsrtp_cert *cert;
    dsrtp_profile dtls_profiles[DSRTP_DTLS_MAX_PROFILES]; /* preference; 0 count = default */
    size_t dtls_profile_count;
    size_t mtu;                 /* default 1200 */
    dsrtp_time dtls_initial_rto; /* default DSRTP_DTLS_DEFAULT_RTO */
    dsrtp_time dtls_timeout;     /* default DSRTP_DTLS_DEFAULT_TIMEOUT */
    /* SDES: the profile agreed and our key, which we send with. */
    dsrtp_profile sdes_profile;
    uint8_t sdes_key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t sdes_salt[DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t sdes_mki[DSRTP_SRTP_MAX_MKI_LEN];
    size_t sdes_mki_len;
    /* ICE-lite: answer connectivity checks with these credentials (generated when empty;
     * read them back for the SDP). Checks gate DTLS and media only when the peer does full
     * ICE (it sent credentials and is not lite itself, RFC 8445 §6.1.1). */
    bool ice;
    char ice_ufrag[DSRTP_ICE_CRED_MAX];
    char ice_pwd[DSRTP_ICE_CRED_MAX];
    dsrtp_time consent_timeout; /* default 30 s (RFC 7675) */
    /* Without ICE: follow the peer to the source address of authenticated media. */
    bool latch;
    /* SRTP stream table and replay window per direction. */
    size_t max_streams;
    size_t replay_window;
    /* The peer, if already known. */
    dsrtp_session_remote remote;
} dsrtp_session_cfg;

/** Defaults: DTLS keying, ICE off, latching on, default DTLS settings, 16 streams,
 *  window 128. The caller sets the certificate (DTLS) or the SDES keys. */
DSRTP_API void dsrtp_session_cfg_init(dsrtp_session_cfg *cfg);

typedef enum dsrtp_session_state {
    DSRTP_SESSION_NEW = 0,   /* waiting for start */
    DSRTP_SESSION_KEYING,    /* ICE and/or DTLS in progress */
    DSRTP_SESSION_READY,     /* keys agreed: media flows */
    DSRTP_SESSION_FAILED,    /* fatal; see the FAILED event */
    DSRTP_SESSION_CLOSED     /* the peer or the caller closed it */
} dsrtp_session_state;

typedef enum dsrtp_session_event_kind {
    DSRTP_SESSION_EV_CONNECTED = 1,  /* ICE nominated a path (addr) */
    DSRTP_SESSION_EV_KEYS_READY,     /* media may flow, protected with profile */
    DSRTP_SESSION_EV_ADDRESS_CHANGED, /* media now goes to addr */
    DSRTP_SESSION_EV_FAILED,         /* fatal: detail says why */
    DSRTP_SESSION_EV_CLOSED          /* the peer sent close_notify */
} dsrtp_session_event_kind;

typedef struct dsrtp_session_event {
    dsrtp_session_event_kind kind;
    dsrtp_profile profile; /* KEYS_READY */
    dsrtp_addr addr;       /* CONNECTED, ADDRESS_CHANGED */
    char detail[96];       /* readable, never secret */
} dsrtp_session_event;

typedef struct dsrtp_session_output {
    dsrtp_output_kind kind;
    size_t len;                /* DATAGRAM: bytes in the caller's buffer */
    dsrtp_addr to;             /* DATAGRAM */
    dsrtp_session_event event; /* EVENT */
    dsrtp_time deadline;       /* IDLE */
} dsrtp_session_output;

typedef enum dsrtp_input_kind {
    DSRTP_INPUT_CONSUMED = 0, /* STUN or DTLS: handled inside */
    DSRTP_INPUT_RTP,          /* buf now holds len bytes of plain RTP */
    DSRTP_INPUT_RTCP          /* buf now holds len bytes of plain RTCP */
} dsrtp_input_kind;

typedef struct dsrtp_input {
    dsrtp_input_kind kind;
    size_t len;
} dsrtp_input;

/** Counters, per direction where it applies. */
typedef struct dsrtp_session_stats {
    uint64_t rtp_sent, rtp_received, rtcp_sent, rtcp_received;
    uint64_t bytes_sent, bytes_received; /* plain RTP/RTCP bytes */
    uint64_t auth_failures, replays, malformed;
    uint64_t dropped_not_ready;   /* media before keys, or from an unvalidated address */
    uint64_t stun_answered, stun_dropped, dtls_dropped;
    dsrtp_time handshake_us;      /* DTLS: start to keys */
} dsrtp_session_stats;

/** One media endpoint. Threading: single owner (one thread at a time); distinct sessions
 *  share nothing (but a certificate) and may run on different threads. */
typedef struct dsrtp_session dsrtp_session;

/** Creates a session: the DTLS endpoint, ICE-lite agent and SRTP contexts it needs are
 *  created here; nothing allocates on the packet path later. DSRTP_ERR_INVALID_ARG for an
 *  inconsistent configuration (DTLS without a certificate, SDES without a profile);
 *  errors of the layers below otherwise. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_new(const dsrtp_session_cfg *cfg,
                                                       dsrtp_session **out);
/** Wipes every secret and frees the session. NULL is a no-op. */
DSRTP_API void dsrtp_session_free(dsrtp_session *s);

/** Completes or replaces what is known of the peer (copied); before start only.
 *  DSRTP_ERR_INVALID_ARG after start. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_set_remote(dsrtp_session *s,
                                                              const dsrtp_session_remote *r);
/** Applies a later offer or answer (a SIP re-INVITE) to a started session, keeping its
 *  port, ICE credentials, DTLS association and SRTP send state. r is copied.
 *  - r->addr (when has_addr) becomes where media goes at once, unless ICE checks gate the
 *    path (then ICE alone decides); latching afterwards still follows authenticated media
 *    only. Without has_addr the destination stays.
 *  - SDES: a peer key (key, salt, MKI) other than the current one gets a new receive
 *    context. The old one stays as a fallback for packets the new key refuses, until the
 *    first packet authenticates with the new key (RFC 4568 §7.1.4: the offerer keeps
 *    sending with its old key until it has the answer).
 *  - ICE: new peer credentials (the peer restarted ICE) are used for its checks from now on;
 *    ours change only with dsrtp_session_restart_ice, which the answer to a restart needs.
 *  DTLS roles and fingerprints cannot change here: that takes a new association.
 *  DSRTP_ERR_INVALID_ARG before start, or when r's DTLS role or fingerprints differ from the
 *  current ones; errors of the SRTP layer when the new receive context cannot be made
 *  (then nothing changed). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_update_remote(dsrtp_session *s,
                                                                 const dsrtp_session_remote *r);
/** ICE restart (RFC 8445 §9) on a started ICE session: our credentials become ufrag/pwd
 *  (copied; NULL or "" generates each, as at creation: read them back for the SDP) and the
 *  peer's become peer_ufrag/peer_pwd (copied; both NULL when not known yet, e.g. we offer
 *  the restart: any peer ufrag is taken until dsrtp_session_update_remote brings them).
 *  Checks under the old credentials fail from then on; the path in use keeps carrying media
 *  until a check under the new ones nominates, consent keeps running, and keys and the DTLS
 *  association are untouched. DSRTP_ERR_INVALID_ARG before start, without ICE or for
 *  invalid credentials; DSRTP_ERR_NOT_READY once failed or closed (consent lost included);
 *  DSRTP_ERR_CRYPTO if the RNG fails. Nothing changes on any error. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_restart_ice(dsrtp_session *s,
                                                               const char *ufrag,
                                                               const char *pwd,
                                                               const char *peer_ufrag,
                                                               const char *peer_pwd);
/** Starts keying at now: DTLS begins (a client sends its ClientHello, to the ICE-validated
 *  or SDP address; a server processes any ClientHello held so far), SDES and plain RTP
 *  become ready at once. The keys and the description of the peer given so far are handed
 *  on to the layers below and wiped; the session keeps only what later calls need (the DTLS
 *  role and the peer's fingerprints, the peer's SDES key). DSRTP_ERR_INVALID_ARG when the
 *  DTLS role is unset, SDES keys are missing, or it already started. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_start(dsrtp_session *s, dsrtp_time now);

/** Feeds one datagram from `from`. STUN and DTLS are consumed (res->kind CONSUMED; DTLS
 *  arriving before start is held). SRTP/SRTCP is authenticated, then decrypted in place:
 *  res says RTP or RTCP and the plain length. MALFORMED, AUTH, REPLAY and NOT_READY mean
 *  "dropped, state unchanged, carry on"; only errors where dsrtp_err_is_fatal() is true end
 *  the session. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_handle_datagram(dsrtp_session *s,
                                                                   dsrtp_time now,
                                                                   const dsrtp_addr *from,
                                                                   uint8_t *buf, size_t len,
                                                                   dsrtp_input *res);
/** Lets time pass (retransmissions, handshake and consent timeouts). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_handle_timeout(dsrtp_session *s,
                                                                  dsrtp_time now);
/** Pulls the next output: events, then datagrams, then IDLE with the deadline. A datagram
 *  that does not fit cap stays queued (DSRTP_ERR_BUFFER_TOO_SMALL, out->len = needed). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_poll_output(dsrtp_session *s, uint8_t *buf,
                                                               size_t cap,
                                                               dsrtp_session_output *out);
/** When handle_timeout should next be called, or DSRTP_TIME_NEVER. */
DSRTP_API dsrtp_time dsrtp_session_next_deadline(const dsrtp_session *s);

/** Protects one outgoing RTP (rtcp false) or RTCP (rtcp true) packet in place (cap bytes
 *  of room; DSRTP_SRTCP_MAX_TRAILER more than len is always enough) and says where it goes.
 *  DSRTP_ERR_NOT_READY before keys are agreed or while there is no path to the peer;
 *  otherwise the SRTP errors. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_protect(dsrtp_session *s, bool rtcp,
                                                           uint8_t *buf, size_t len,
                                                           size_t cap, size_t *out_len,
                                                           dsrtp_addr *to);
/** Sends close_notify (DTLS) and moves to CLOSED; drain poll_output afterwards. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_session_close(dsrtp_session *s);

/** Current state. */
DSRTP_API dsrtp_session_state dsrtp_session_get_state(const dsrtp_session *s);
/** The SRTP profile in use once READY (DSRTP_PROFILE_NONE for plain RTP or before). */
DSRTP_API dsrtp_profile dsrtp_session_get_profile(const dsrtp_session *s);
/** Our ICE credentials for the SDP (valid until free; dsrtp_session_restart_ice changes
 *  the text); the password is a secret. NULL when ICE is off. */
DSRTP_API const char *dsrtp_session_get_ice_ufrag(const dsrtp_session *s);
DSRTP_API const char *dsrtp_session_get_ice_pwd(const dsrtp_session *s);
/** Copies the counters. */
DSRTP_API void dsrtp_session_get_stats(const dsrtp_session *s, dsrtp_session_stats *out);

#ifdef __cplusplus
}
#endif

#endif
