/* srtp: the SRTP/SRTCP transforms (RFC 3711, 6188, 7714).
 *
 * A context (send or receive) holds, per direction of use, the derived session keys inside
 * two cipher back-end objects (one for RTP, one for RTCP), and a per-SSRC stream table
 * sized at creation. Invariants:
 *  - nothing here allocates after dsrtp_srtp_ctx_init: the table, the replay bitmaps and
 *    the cipher contexts all exist from key install on;
 *  - receive state (ROC, highest sequence, replay windows, table slots) changes only after
 *    a packet's tag has verified;
 *  - OpenSSL is touched only in cipher.c; everything else sees dsrtp_cipher. */
#ifndef DSRTP_SRTP_INT_H
#define DSRTP_SRTP_INT_H

#include <dsrtp/srtp.h>

#include "util/util_int.h"

#define DSRTP_RTP_HEADER_LEN 12
#define DSRTP_RTCP_HEADER_LEN 8
#define DSRTP_HMAC_SHA1_LEN 20
#define DSRTP_GCM_IV_LEN 12
#define DSRTP_GCM_TAG_LEN 16
#define DSRTP_SRTCP_E_FLAG 0x80000000u
#define DSRTP_SRTCP_INDEX_MAX 0x7fffffffu

typedef enum dsrtp_cipher_kind { DSRTP_CIPHER_AES_CM, DSRTP_CIPHER_AES_GCM } dsrtp_cipher_kind;

/* Static facts about one profile. */
typedef struct dsrtp_profile_info {
    const char *name;
    dsrtp_cipher_kind kind;
    uint8_t key_len;        /* master and session key */
    uint8_t salt_len;       /* master and session salt */
    uint8_t auth_key_len;   /* 0 for AEAD */
    uint8_t srtp_tag_len;
    uint8_t srtcp_tag_len;
} dsrtp_profile_info;

/* NULL for an invalid profile. */
const dsrtp_profile_info *dsrtp_profile_info_get(dsrtp_profile p);

/* ---- cipher back end (cipher.c, OpenSSL) ---- */
typedef struct dsrtp_cipher dsrtp_cipher;

/* Keys one transform: AES-CM + HMAC-SHA1 (auth_key given) or AES-GCM (auth_key NULL). */
dsrtp_err dsrtp_cipher_new(dsrtp_cipher_kind kind, const uint8_t *key, size_t key_len,
                           const uint8_t *auth_key, size_t auth_key_len, dsrtp_cipher **out);
void dsrtp_cipher_free(dsrtp_cipher *c);
/* AES counter mode: XORs len bytes at data with the keystream from the 16-byte iv. */
dsrtp_err dsrtp_cipher_ctr(dsrtp_cipher *c, const uint8_t iv[16], uint8_t *data, size_t len);
/* HMAC-SHA1 over a || b, full 20-byte output. AES-CM ciphers only (an AES-GCM one holds no
 * HMAC key). */
void dsrtp_cipher_hmac(dsrtp_cipher *c, const uint8_t *a, size_t a_len, const uint8_t *b,
                       size_t b_len, uint8_t out[DSRTP_HMAC_SHA1_LEN]);
/* AES-GCM seal in place: AAD is aad1 || aad2; writes the 16-byte tag. */
dsrtp_err dsrtp_cipher_gcm_seal(dsrtp_cipher *c, const uint8_t iv[DSRTP_GCM_IV_LEN],
                                const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
                                size_t aad2_len, uint8_t *data, size_t len,
                                uint8_t tag[DSRTP_GCM_TAG_LEN]);
/* AES-GCM open in place. On DSRTP_ERR_AUTH data holds the ciphertext again, as given. */
dsrtp_err dsrtp_cipher_gcm_open(dsrtp_cipher *c, const uint8_t iv[DSRTP_GCM_IV_LEN],
                                const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
                                size_t aad2_len, uint8_t *data, size_t len,
                                const uint8_t tag[DSRTP_GCM_TAG_LEN]);
/* One-shot AES-CM keystream under key (16 or 32 bytes) from iv, for key derivation. */
dsrtp_err dsrtp_aes_cm_keystream(const uint8_t *key, size_t key_len, const uint8_t iv[16],
                                 uint8_t *out, size_t len);

/* ---- key derivation (kdf.c), RFC 3711 §4.3 with key derivation rate 0 ---- */
enum {
    DSRTP_LABEL_RTP_ENC = 0,
    DSRTP_LABEL_RTP_AUTH = 1,
    DSRTP_LABEL_RTP_SALT = 2,
    DSRTP_LABEL_RTCP_ENC = 3,
    DSRTP_LABEL_RTCP_AUTH = 4,
    DSRTP_LABEL_RTCP_SALT = 5
};
/* Derives len bytes for label from the master key and salt (salt shorter than 14 bytes is
 * padded with zeros on the right, as AES-GCM's 12-byte salt is, RFC 7714 §11). */
dsrtp_err dsrtp_kdf(const uint8_t *master_key, size_t key_len, const uint8_t *master_salt,
                    size_t salt_len, uint8_t label, uint8_t *out, size_t len);

/* ---- replay window (replay.c) ---- */
/* A circular bitmap of `words` 64-bit words: bit (i mod W) is set when index i, within
 * (high - W, high], has been accepted. */
typedef struct dsrtp_replay {
    uint64_t *bits;
    uint64_t high;
    uint32_t words;
    bool any; /* false until the first accepted index */
} dsrtp_replay;

/* DSRTP_OK if index is new and not too old; DSRTP_ERR_REPLAY otherwise. Changes nothing. */
dsrtp_err dsrtp_replay_check(const dsrtp_replay *w, uint64_t index);
/* Records index as accepted (call only after dsrtp_replay_check passed and the tag verified). */
void dsrtp_replay_commit(dsrtp_replay *w, uint64_t index);

/* ---- per-SSRC streams (stream.c) ---- */
typedef struct dsrtp_stream {
    uint32_t ssrc;
    uint32_t roc;          /* rollover counter of the highest index seen / sent */
    uint16_t s_l;          /* highest sequence number seen / sent */
    bool rtp_started;      /* s_l is meaningful */
    uint32_t rtcp_index;   /* tx: next index to send; rx: unused (the window holds it) */
    dsrtp_replay rtp_win;  /* rx, and tx unless repeats are allowed */
    dsrtp_replay rtcp_win; /* rx only (bits NULL on tx) */
} dsrtp_stream;

/* One allocation: cap slots, then `windows` replay bitmaps of `words` words per slot, then
 * the index. */
typedef struct dsrtp_stream_table {
    dsrtp_stream *slots; /* the start of the block */
    size_t count;
    size_t cap;
    uint32_t *index; /* open addressing: slot + 1, 0 = empty; mask + 1 entries */
    size_t mask;
    uint64_t *bitmaps; /* slot i's windows at i * windows * words; NULL without windows */
    uint32_t words;
    unsigned windows; /* per slot: 2 (rx: RTP, RTCP), 1 (tx: RTP), 0 (tx, repeats allowed) */
    size_t size;      /* bytes in the block */
    size_t last; /* slot of the last lookup, a cache for the common single-stream case */
} dsrtp_stream_table;

/* Sizes the table for cap streams with `windows` replay windows (0..2) of window_bits each
 * per stream. */
dsrtp_err dsrtp_stream_table_init(dsrtp_stream_table *t, size_t cap, size_t window_bits,
                                  unsigned windows);
void dsrtp_stream_table_clear(dsrtp_stream_table *t);
/* The stream of ssrc, or NULL. */
dsrtp_stream *dsrtp_stream_find(dsrtp_stream_table *t, uint32_t ssrc);
/* Claims a fresh slot for ssrc (which must not be present). DSRTP_ERR_TABLE_FULL. */
dsrtp_err dsrtp_stream_add(dsrtp_stream_table *t, uint32_t ssrc, dsrtp_stream **out);

/* RFC 3711 §3.3.1 / Appendix A: the ROC v to use for seq given the stream's s_l and ROC.
 * DSRTP_ERR_REPLAY when v would be -1 (older than the stream's start),
 * DSRTP_ERR_KEY_EXHAUSTED when it would pass 2^32 - 1. */
dsrtp_err dsrtp_roc_estimate(const dsrtp_stream *s, uint16_t seq, uint32_t *v);

/* ---- the context shared by send and receive ---- */
typedef struct dsrtp_srtp_ctx {
    const dsrtp_profile_info *info;
    dsrtp_profile profile;
    dsrtp_cipher *rtp;
    dsrtp_cipher *rtcp;
    uint8_t rtp_salt[DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t rtcp_salt[DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t mki[DSRTP_SRTP_MAX_MKI_LEN];
    size_t mki_len;
    bool encrypt_rtcp;
    bool allow_repeat_tx;
    dsrtp_stream_table streams;
    dsrtp_srtp_stats stats;
} dsrtp_srtp_ctx;

struct dsrtp_srtp_tx {
    dsrtp_srtp_ctx c;
};
struct dsrtp_srtp_rx {
    dsrtp_srtp_ctx c;
};

dsrtp_err dsrtp_srtp_ctx_init(dsrtp_srtp_ctx *c, const dsrtp_srtp_cfg *cfg, bool rx);
/* Tests only (the RFC 7714 vectors publish session keys, not master keys): as
 * dsrtp_srtp_ctx_init, but cfg's master_key and master_salt are taken as the session key and
 * salt themselves, used for both SRTP and SRTCP, with auth_key (auth_key_len bytes, NULL for
 * AEAD profiles) as the session auth key. Key derivation is skipped; nothing else differs. */
dsrtp_err dsrtp_srtp_ctx_init_session_keys(dsrtp_srtp_ctx *c, const dsrtp_srtp_cfg *cfg,
                                           bool rx, const uint8_t *auth_key);
void dsrtp_srtp_ctx_clear(dsrtp_srtp_ctx *c);

/* Parses an RTP header: *hdr_len covers the fixed header, CSRCs and any extension. */
dsrtp_err dsrtp_rtp_header_len(const uint8_t *buf, size_t len, size_t *hdr_len);



/* Counts a refused receive verdict in c's counters and returns err unchanged. */
dsrtp_err dsrtp_srtp_count_rx_err(dsrtp_srtp_ctx *c, dsrtp_err err);
#endif
