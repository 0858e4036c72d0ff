/* The record layer of a connected endpoint once its SSL object is gone: DTLS 1.2 epoch-1
 * records under the negotiated AEAD, a replay window over the peer's sequence numbers, and
 * the few datagrams such an endpoint still sends (our final flight again, an alert).
 *
 * Records (RFC 6347 §4.1): type(1) version(2) epoch(2) sequence_number(6) length(2), then
 * the protected body. AAD (RFC 5246 §6.2.3.3) = epoch || sequence_number || type ||
 * version || plaintext length. AES-GCM (RFC 5288): nonce = salt(4) || explicit(8), the
 * explicit part sent in front of the ciphertext; like OpenSSL we send epoch || sequence
 * there. ChaCha20-Poly1305 (RFC 7905 §2): nonce = IV(12) XOR the 64-bit epoch || sequence,
 * left-padded with zeros; nothing explicit.
 *
 * Only a record whose tag verifies moves the replay window; a record that fails anything is
 * dropped without trace, as RFC 6347 §4.1.2.7 asks. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "dtls/dtls_int.h"

#define DTLS12_MAJOR 0xfe
#define DTLS12_MINOR 0xfd
#define SEQ_LIMIT ((uint64_t)1 << 48)
#define NONCE_LEN 12
#define AAD_LEN 13
#define WINDOW_BITS 64

_Static_assert(DSRTP_POST_FLIGHT_MAX <= UINT16_MAX, "flight offsets are 16-bit");
_Static_assert(DSRTP_POST_ALERT_RECORD_MAX <= UINT8_MAX, "alert_len is 8-bit");

static const EVP_CIPHER *cipher_of(uint8_t aead)
{
    switch (aead) {
    case DSRTP_POST_AES_128_GCM: return EVP_aes_128_gcm();
    case DSRTP_POST_AES_256_GCM: return EVP_aes_256_gcm();
    case DSRTP_POST_CHACHA20_POLY1305: return EVP_chacha20_poly1305();
    default: return NULL;
    }
}

static size_t explicit_len(uint8_t aead)
{
    return aead == DSRTP_POST_CHACHA20_POLY1305 ? 0 : DSRTP_POST_EXPLICIT_LEN;
}

size_t dsrtp_post_min_record(const dsrtp_dtls_post *p)
{
    if (p->aead == DSRTP_POST_AEAD_NONE) {
        return SIZE_MAX;
    }
    return explicit_len(p->aead) + DSRTP_POST_TAG_LEN;
}

/* seq8 is the record's epoch || sequence_number (8 bytes); explicit its explicit nonce. */
static void make_nonce(const dsrtp_dtls_post *p, const uint8_t *iv, const uint8_t *seq8,
                       const uint8_t *explicit, uint8_t nonce[NONCE_LEN])
{
    if (p->aead == DSRTP_POST_CHACHA20_POLY1305) {
        memcpy(nonce, iv, NONCE_LEN);
        for (size_t i = 0; i < 8; i++) {
            nonce[4 + i] ^= seq8[i];
        }
        return;
    }
    memcpy(nonce, iv, 4);
    memcpy(nonce + 4, explicit, DSRTP_POST_EXPLICIT_LEN);
}

static void make_aad(const uint8_t *hdr, size_t plain_len, uint8_t aad[AAD_LEN])
{
    memcpy(aad, hdr + 3, 8); /* epoch, sequence_number */
    aad[8] = hdr[0];
    aad[9] = hdr[1];
    aad[10] = hdr[2];
    dsrtp_store16(aad + 11, (uint16_t)plain_len);
}

/* One AEAD pass: seals in into out and writes tag, or opens in into out checking tag. */
static dsrtp_err aead_run(const dsrtp_dtls_post *p, bool seal, const uint8_t *key,
                          const uint8_t nonce[NONCE_LEN], const uint8_t aad[AAD_LEN],
                          const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
    const EVP_CIPHER *c = cipher_of(p->aead);
    DSRTP_CHECK(c != NULL && n <= INT32_MAX, DSRTP_ERR_INTERNAL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    DSRTP_CHECK(ctx != NULL, DSRTP_ERR_NO_MEMORY);
    uint8_t fin[32];
    int len = 0;
    bool ok = EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, seal ? 1 : 0) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, -1) == 1 &&
              EVP_CipherUpdate(ctx, NULL, &len, aad, AAD_LEN) == 1 &&
              (n == 0 || EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1);
    if (ok && !seal) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, DSRTP_POST_TAG_LEN, tag) == 1;
    }
    ok = ok && EVP_CipherFinal_ex(ctx, fin, &len) == 1;
    if (ok && seal) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, DSRTP_POST_TAG_LEN, tag) == 1;
    }
    EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
    ERR_clear_error();
    if (!ok) {
        dsrtp_wipe(out, n); /* never leave unauthenticated plaintext behind */
        return seal ? DSRTP_ERR_CRYPTO : DSRTP_ERR_AUTH;
    }
    return DSRTP_OK;
}

/* ---- replay window (RFC 6347 §4.1.2.6) ---- */

static dsrtp_err replay_check(const dsrtp_dtls_post *p, uint64_t seq)
{
    if (p->read_window == 0 || seq > p->read_top) {
        return DSRTP_OK;
    }
    uint64_t age = p->read_top - seq;
    DSRTP_CHECK(age < WINDOW_BITS, DSRTP_ERR_REPLAY);
    DSRTP_CHECK(((p->read_window >> age) & 1u) == 0, DSRTP_ERR_REPLAY);
    return DSRTP_OK;
}

void dsrtp_post_mark_seen(dsrtp_dtls_post *p, uint64_t seq)
{
    if (p->read_window == 0) {
        p->read_top = seq;
        p->read_window = 1;
    } else if (seq > p->read_top) {
        uint64_t shift = seq - p->read_top;
        p->read_window = shift >= WINDOW_BITS ? 1 : (p->read_window << shift) | 1u;
        p->read_top = seq;
    } else if (p->read_top - seq < WINDOW_BITS) {
        p->read_window |= (uint64_t)1 << (p->read_top - seq);
    }
}

/* ---- records ---- */

dsrtp_err dsrtp_post_next_record(dsrtp_rd *r, const uint8_t **rec, size_t *rec_len)
{
    dsrtp_rd peek = *r;
    const uint8_t *hdr;
    DSRTP_TRY(dsrtp_rd_take(&peek, DSRTP_DTLS_HEADER_LEN, &hdr));
    DSRTP_TRY(dsrtp_rd_skip(&peek, dsrtp_load16(hdr + 11)));
    *rec = hdr;
    *rec_len = peek.pos - r->pos;
    *r = peek;
    return DSRTP_OK;
}

static uint64_t record_seq(const uint8_t *hdr)
{
    return (uint64_t)dsrtp_load16(hdr + 5) << 32 | dsrtp_load32(hdr + 7);
}

dsrtp_err dsrtp_post_open(dsrtp_dtls_post *p, const uint8_t *rec, size_t rec_len,
                          uint8_t *type, uint8_t *plain, size_t cap, size_t *plain_len)
{
    DSRTP_CHECK(p->aead != DSRTP_POST_AEAD_NONE && p->key_len > 0, DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(rec_len >= DSRTP_DTLS_HEADER_LEN, DSRTP_ERR_MALFORMED);
    size_t body_len = rec_len - DSRTP_DTLS_HEADER_LEN;
    DSRTP_CHECK(dsrtp_load16(rec + 3) == 1 && dsrtp_load16(rec + 11) == body_len,
                DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(rec[1] == DTLS12_MAJOR && rec[2] == DTLS12_MINOR, DSRTP_ERR_MALFORMED);
    size_t ex = explicit_len(p->aead);
    DSRTP_CHECK(body_len >= ex + DSRTP_POST_TAG_LEN, DSRTP_ERR_MALFORMED);
    size_t n = body_len - ex - DSRTP_POST_TAG_LEN;
    DSRTP_CHECK(n <= cap, DSRTP_ERR_MALFORMED);
    uint64_t seq = record_seq(rec);
    DSRTP_TRY(replay_check(p, seq));
    const uint8_t *body = rec + DSRTP_DTLS_HEADER_LEN;
    uint8_t nonce[NONCE_LEN];
    uint8_t aad[AAD_LEN];
    uint8_t tag[DSRTP_POST_TAG_LEN];
    make_nonce(p, p->read_iv, rec + 3, body, nonce);
    make_aad(rec, n, aad);
    memcpy(tag, body + ex + n, sizeof tag);
    DSRTP_TRY(aead_run(p, false, p->read_key, nonce, aad, body + ex, n, plain, tag));
    dsrtp_post_mark_seen(p, seq);
    *type = rec[0];
    *plain_len = n;
    return DSRTP_OK;
}

dsrtp_err dsrtp_post_seal(dsrtp_dtls_post *p, uint8_t type, const uint8_t *plain, size_t n,
                          uint8_t *out, size_t cap, size_t *out_len)
{
    DSRTP_CHECK(p->aead != DSRTP_POST_AEAD_NONE && p->key_len > 0, DSRTP_ERR_INVALID_ARG);
    /* RFC 6347 §4.1: a sequence number is never reused within an epoch. */
    DSRTP_CHECK(p->write_seq < SEQ_LIMIT, DSRTP_ERR_CLOSED);
    size_t ex = explicit_len(p->aead);
    DSRTP_CHECK(n <= UINT16_MAX - ex - DSRTP_POST_TAG_LEN, DSRTP_ERR_INVALID_ARG);
    size_t body_len = ex + n + DSRTP_POST_TAG_LEN;
    DSRTP_CHECK(cap >= DSRTP_DTLS_HEADER_LEN && body_len <= cap - DSRTP_DTLS_HEADER_LEN,
                DSRTP_ERR_BUFFER_TOO_SMALL);
    uint64_t seq = p->write_seq;
    uint8_t *hdr = out;
    hdr[0] = type;
    hdr[1] = DTLS12_MAJOR;
    hdr[2] = DTLS12_MINOR;
    dsrtp_store16(hdr + 3, 1);
    dsrtp_store16(hdr + 5, (uint16_t)(seq >> 32));
    dsrtp_store32(hdr + 7, (uint32_t)seq);
    dsrtp_store16(hdr + 11, (uint16_t)body_len);
    uint8_t *body = out + DSRTP_DTLS_HEADER_LEN;
    memcpy(body, hdr + 3, ex); /* the explicit nonce: epoch || sequence_number */
    uint8_t nonce[NONCE_LEN];
    uint8_t aad[AAD_LEN];
    make_nonce(p, p->write_iv, hdr + 3, body, nonce);
    make_aad(hdr, n, aad);
    DSRTP_TRY(aead_run(p, true, p->write_key, nonce, aad, plain, n, body + ex, body + ex + n));
    p->write_seq++;
    *out_len = DSRTP_DTLS_HEADER_LEN + body_len;
    return DSRTP_OK;
}

dsrtp_err dsrtp_post_queue_alert(dsrtp_dtls_post *p, uint8_t level, uint8_t desc)
{
    const uint8_t alert[2] = {level, desc};
    size_t len = 0;
    DSRTP_TRY(dsrtp_post_seal(p, DSRTP_DTLS_RT_ALERT, alert, sizeof alert, p->alert,
                              sizeof p->alert, &len));
    p->alert_len = (uint8_t)len; /* at most sizeof p->alert */
    return DSRTP_OK;
}

/* ---- the final flight ---- */

dsrtp_err dsrtp_post_keep_flight(dsrtp_dtls_post *p, const dsrtp_dgram_bio *q, size_t n)
{
    DSRTP_CHECK(n > 0 && n <= q->out_count && p->flight == NULL, DSRTP_ERR_INVALID_ARG);
    size_t first = q->out_head + q->out_count - n;
    size_t total = 0;
    for (size_t k = 0; k < n; k++) {
        size_t len = q->out[(first + k) % DSRTP_DTLS_QUEUE].len;
        DSRTP_CHECK(len <= DSRTP_POST_FLIGHT_MAX - 2 - total, DSRTP_ERR_BUFFER_TOO_SMALL);
        total += 2 + len;
    }
    uint8_t *copy = malloc(total);
    DSRTP_CHECK(copy != NULL, DSRTP_ERR_NO_MEMORY);
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        const dsrtp_dgram *g = &q->out[(first + k) % DSRTP_DTLS_QUEUE];
        dsrtp_store16(copy + at, (uint16_t)g->len);
        memcpy(copy + at + 2, g->data, g->len);
        at += 2 + g->len;
    }
    p->flight = copy;
    p->flight_len = (uint16_t)total; /* at most DSRTP_POST_FLIGHT_MAX */
    p->flight_next = (uint16_t)total; /* the original is still queued in the ring */
    return DSRTP_OK;
}

bool dsrtp_post_resend_flight(dsrtp_dtls_post *p, dsrtp_time now)
{
    if (p->flight == NULL || p->flight_next < p->flight_len) {
        return false;
    }
    if (p->resent && now - p->last_resend < DSRTP_POST_RESEND_GAP) {
        return false;
    }
    p->flight_next = 0;
    p->last_resend = now;
    p->resent = true;
    return true;
}

dsrtp_err dsrtp_post_poll(dsrtp_dtls_post *p, uint8_t *buf, size_t cap, size_t *len)
{
    const uint8_t *src = NULL;
    size_t n = 0;
    if (p->flight_next < p->flight_len) {
        n = dsrtp_load16(p->flight + p->flight_next);
        src = p->flight + p->flight_next + 2;
    } else if (p->alert_len > 0) {
        n = p->alert_len;
        src = p->alert;
    }
    if (src == NULL) {
        *len = 0;
        return DSRTP_OK;
    }
    if (buf == NULL || cap < n) {
        *len = n;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(buf, src, n);
    *len = n;
    if (src == p->alert) {
        dsrtp_wipe(p->alert, sizeof p->alert);
        p->alert_len = 0;
    } else {
        p->flight_next = (uint16_t)(p->flight_next + 2 + n);
    }
    return DSRTP_OK;
}

void dsrtp_post_wipe_secrets(dsrtp_dtls_post *p)
{
    dsrtp_wipe(p->write_key, sizeof p->write_key);
    dsrtp_wipe(p->write_iv, sizeof p->write_iv);
    dsrtp_wipe(p->read_key, sizeof p->read_key);
    dsrtp_wipe(p->read_iv, sizeof p->read_iv);
    dsrtp_wipe(p->master, sizeof p->master);
    dsrtp_wipe(p->randoms, sizeof p->randoms);
    p->key_len = 0; /* open and seal refuse from now on */
}

void dsrtp_post_clear(dsrtp_dtls_post *p)
{
    if (p->flight != NULL) {
        dsrtp_wipe(p->flight, p->flight_len);
        free(p->flight);
    }
    dsrtp_wipe(p, sizeof *p);
}
