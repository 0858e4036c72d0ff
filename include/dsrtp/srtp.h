/* SRTP and SRTCP (RFC 3711, RFC 6188, RFC 7714).
 *
 * A master key and salt are installed once into a send context (dsrtp_srtp_tx) or a
 * receive context (dsrtp_srtp_rx); session keys are derived at that moment (key derivation
 * rate 0) and cipher contexts are created then and reused. Packets are transformed in
 * place in caller buffers: nothing on the per-packet path allocates or locks.
 *
 * Each context keeps per-SSRC stream state (rollover counter, highest sequence number,
 * replay window, SRTCP index) in a table sized at creation. A receive context claims a slot
 * only for a packet whose tag verifies; the replay window and ROC move only after that. */
#ifndef DSRTP_SRTP_H
#define DSRTP_SRTP_H

#include <dsrtp/dsrtp.h>

#ifdef __cplusplus
extern "C" {
#endif

/** SRTP protection profiles, named as SDES and IANA spell them. */
typedef enum dsrtp_profile {
    DSRTP_PROFILE_NONE = 0,
    DSRTP_AES_CM_128_HMAC_SHA1_80,
    DSRTP_AES_CM_128_HMAC_SHA1_32,
    DSRTP_AES_256_CM_HMAC_SHA1_80,
    DSRTP_AES_256_CM_HMAC_SHA1_32,
    DSRTP_AEAD_AES_128_GCM,
    DSRTP_AEAD_AES_256_GCM,
    DSRTP_PROFILE_COUNT
} dsrtp_profile;

#define DSRTP_SRTP_MAX_KEY_LEN 32  /* master key, AES-256 */
#define DSRTP_SRTP_MAX_SALT_LEN 14 /* master salt, AES-CM profiles */
#define DSRTP_SRTP_MAX_MKI_LEN 16  /* longest MKI accepted (RFC 4568 allows 1..128) */
#define DSRTP_SRTP_MAX_TAG_LEN 16
/** Most bytes protect adds to an RTP packet: MKI + tag. */
#define DSRTP_SRTP_MAX_TRAILER (DSRTP_SRTP_MAX_MKI_LEN + DSRTP_SRTP_MAX_TAG_LEN)
/** Most bytes protect_rtcp adds to an RTCP packet: E||index + MKI + tag. */
#define DSRTP_SRTCP_MAX_TRAILER (4 + DSRTP_SRTP_MAX_MKI_LEN + DSRTP_SRTP_MAX_TAG_LEN)
#define DSRTP_SRTP_DEFAULT_WINDOW 128
#define DSRTP_SRTP_MAX_WINDOW 32768
#define DSRTP_SRTP_DEFAULT_STREAMS 16

/** The profile's name ("AES_CM_128_HMAC_SHA1_80", ...); "NONE" for anything else. */
DSRTP_API const char *dsrtp_profile_name(dsrtp_profile p);
/** Looks a profile up by its name (exact spelling). DSRTP_ERR_UNSUPPORTED when unknown;
 *  *out is written only on success. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_profile_from_name(const char *name,
                                                             dsrtp_profile *out);
/** Master key length in bytes (16 or 32); 0 for an invalid profile. */
DSRTP_API size_t dsrtp_profile_key_len(dsrtp_profile p);
/** Master salt length in bytes (14 for AES-CM, 12 for GCM); 0 for an invalid profile. */
DSRTP_API size_t dsrtp_profile_salt_len(dsrtp_profile p);
/** SRTP authentication tag length in bytes (10, 4 or 16). */
DSRTP_API size_t dsrtp_profile_srtp_tag_len(dsrtp_profile p);
/** SRTCP authentication tag length: 10 for every HMAC profile, _32 ones included
 *  (RFC 5764 §4.1.2), 16 for GCM. */
DSRTP_API size_t dsrtp_profile_srtcp_tag_len(dsrtp_profile p);

/** Settings for a send or receive context. Pointers are borrowed for the _new call only. */
typedef struct dsrtp_srtp_cfg {
    dsrtp_profile profile;
    const uint8_t *master_key; /* dsrtp_profile_key_len(profile) bytes */
    size_t master_key_len;
    const uint8_t *master_salt; /* dsrtp_profile_salt_len(profile) bytes */
    size_t master_salt_len;
    const uint8_t *mki; /* optional Master Key Identifier carried in every packet */
    size_t mki_len;     /* 0 (none) .. DSRTP_SRTP_MAX_MKI_LEN */
    size_t max_streams; /* SSRC table size; default DSRTP_SRTP_DEFAULT_STREAMS */
    size_t replay_window; /* packets, 1 .. DSRTP_SRTP_MAX_WINDOW, rounded up to 64 */
    bool encrypt_rtcp;    /* send side: set the E flag and encrypt SRTCP (default true) */
    /* Send side: allow protecting the same RTP index twice (a resent packet). Off by
     * default: two different payloads under one index reuse keystream or a GCM nonce. */
    bool allow_repeat_tx;
} dsrtp_srtp_cfg;

/** Fills cfg with safe defaults: no profile and no key (the caller must set them),
 *  16 streams, window 128, encrypted SRTCP. */
DSRTP_API void dsrtp_srtp_cfg_init(dsrtp_srtp_cfg *cfg);

/** Counters of one context. */
typedef struct dsrtp_srtp_stats {
    uint64_t rtp_packets;   /* protected (tx) or accepted (rx) */
    uint64_t rtp_bytes;     /* RTP bytes before protect / after unprotect */
    uint64_t rtcp_packets;
    uint64_t rtcp_bytes;
    uint64_t malformed;     /* rx: refused as MALFORMED */
    uint64_t auth_failures; /* rx: refused as AUTH */
    uint64_t replays;       /* refused as REPLAY (rx: duplicate or too old; tx: repeat) */
    uint64_t table_full;    /* refused because a new SSRC did not fit */
    uint64_t key_exhausted; /* refused because the key reached its packet limit */
} dsrtp_srtp_stats;

/** One packet in a batch call: buf holds len bytes in a buffer of cap bytes. On return
 *  len is the new length when err is DSRTP_OK, and unchanged otherwise. */
typedef struct dsrtp_srtp_pkt {
    uint8_t *buf;
    size_t len;
    size_t cap;
    dsrtp_err err;
} dsrtp_srtp_pkt;

/** Send context: protects outgoing RTP and RTCP.
 *  Threading: single owner (one thread at a time); tx and rx contexts share nothing. */
typedef struct dsrtp_srtp_tx dsrtp_srtp_tx;
/** Receive context: unprotects incoming SRTP and SRTCP from any number of SSRCs (up to
 *  max_streams). Threading: single owner (one thread at a time). */
typedef struct dsrtp_srtp_rx dsrtp_srtp_rx;

/** Derives the session keys and creates a send context. cfg is copied; the key is wiped
 *  from the library's temporaries. DSRTP_ERR_INVALID_ARG for a bad profile, key, salt,
 *  MKI or window; DSRTP_ERR_NO_MEMORY; DSRTP_ERR_CRYPTO if OpenSSL fails. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_tx_new(const dsrtp_srtp_cfg *cfg,
                                                       dsrtp_srtp_tx **out);
/** Wipes every key, then releases memory. NULL does nothing. */
DSRTP_API void dsrtp_srtp_tx_free(dsrtp_srtp_tx *tx);

/** Protects one RTP packet in place: buf holds len bytes in cap bytes of room; on success
 *  *out_len is the SRTP length (len + MKI + tag). DSRTP_ERR_BUFFER_TOO_SMALL sets *out_len
 *  to the room needed and changes nothing; DSRTP_ERR_MALFORMED for a packet that is not
 *  RTP; DSRTP_ERR_TABLE_FULL for a new SSRC that does not fit; DSRTP_ERR_KEY_EXHAUSTED once
 *  the stream's index would pass 2^48 - 1; DSRTP_ERR_REPLAY for an index already protected
 *  (unless allow_repeat_tx) or too far behind the stream to place. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_tx_protect(dsrtp_srtp_tx *tx, uint8_t *buf,
                                                           size_t len, size_t cap,
                                                           size_t *out_len);
/** Protects one (compound) RTCP packet in place, with the next SRTCP index of its sender
 *  SSRC; *out_len is len + 4 + MKI + tag. Errors as dsrtp_srtp_tx_protect, with
 *  DSRTP_ERR_KEY_EXHAUSTED once the 31-bit SRTCP index is used up. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_tx_protect_rtcp(dsrtp_srtp_tx *tx,
                                                                uint8_t *buf, size_t len,
                                                                size_t cap, size_t *out_len);
/** Protects n RTP packets; each packet's err says how it went. Returns how many succeeded. */
DSRTP_API size_t dsrtp_srtp_tx_protect_batch(dsrtp_srtp_tx *tx, dsrtp_srtp_pkt *pkts,
                                             size_t n);
/** Sets the rollover counter of a sending SSRC (re-keying, failover), claiming a table
 *  slot if the SSRC is new; the stream restarts from its next packet. DSRTP_ERR_TABLE_FULL
 *  when it does not fit. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_tx_set_roc(dsrtp_srtp_tx *tx, uint32_t ssrc,
                                                           uint32_t roc);
/** Reads the rollover counter of a sending SSRC; DSRTP_ERR_INVALID_ARG if it is unknown. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_tx_get_roc(const dsrtp_srtp_tx *tx,
                                                           uint32_t ssrc, uint32_t *roc);
/** Sets the SRTCP index (0 .. 2^31 - 1) the next RTCP packet of ssrc will carry. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_tx_set_rtcp_index(dsrtp_srtp_tx *tx,
                                                                  uint32_t ssrc,
                                                                  uint32_t index);
/** Copies the send counters into *st. */
DSRTP_API void dsrtp_srtp_tx_get_stats(const dsrtp_srtp_tx *tx, dsrtp_srtp_stats *st);

/** Derives the session keys and creates a receive context; errors as dsrtp_srtp_tx_new. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_rx_new(const dsrtp_srtp_cfg *cfg,
                                                       dsrtp_srtp_rx **out);
/** Wipes every key, then releases memory. NULL does nothing. */
DSRTP_API void dsrtp_srtp_rx_free(dsrtp_srtp_rx *rx);

/** Authenticates, then decrypts, one SRTP packet in place; *out_len is the RTP length.
 *  The ROC is estimated per RFC 3711 §3.3.1. DSRTP_ERR_MALFORMED, DSRTP_ERR_AUTH,
 *  DSRTP_ERR_REPLAY and DSRTP_ERR_TABLE_FULL leave buf and all state untouched (only the
 *  counters move). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_rx_unprotect(dsrtp_srtp_rx *rx, uint8_t *buf,
                                                             size_t len, size_t *out_len);
/** Authenticates, then decrypts (when the E flag is set), one SRTCP packet in place;
 *  *out_len is the RTCP length. Errors as dsrtp_srtp_rx_unprotect. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_rx_unprotect_rtcp(dsrtp_srtp_rx *rx,
                                                                  uint8_t *buf, size_t len,
                                                                  size_t *out_len);
/** Unprotects n SRTP packets; each packet's err says how it went. Returns how many
 *  succeeded. */
DSRTP_API size_t dsrtp_srtp_rx_unprotect_batch(dsrtp_srtp_rx *rx, dsrtp_srtp_pkt *pkts,
                                               size_t n);
/** Sets the rollover counter expected from ssrc, claiming a table slot if it is new. The
 *  next packet then sets the highest sequence number and the replay window starts afresh. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_rx_set_roc(dsrtp_srtp_rx *rx, uint32_t ssrc,
                                                           uint32_t roc);
/** Reads the rollover counter of a receiving SSRC; DSRTP_ERR_INVALID_ARG if unknown. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_srtp_rx_get_roc(const dsrtp_srtp_rx *rx,
                                                           uint32_t ssrc, uint32_t *roc);
/** Copies the receive counters into *st. */
DSRTP_API void dsrtp_srtp_rx_get_stats(const dsrtp_srtp_rx *rx, dsrtp_srtp_stats *st);
/** Bytes of memory the receive context holds per stream slot (state plus windows). */
DSRTP_API size_t dsrtp_srtp_rx_stream_footprint(const dsrtp_srtp_rx *rx);

#ifdef __cplusplus
}
#endif

#endif
