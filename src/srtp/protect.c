/* SRTP: protect and unprotect RTP packets in place (RFC 3711 §3-4, RFC 7714 §8).
 *
 * Layouts: AES-CM   header | payload (encrypted) | MKI | tag
 *          AES-GCM  header | payload (encrypted) | tag | MKI
 * The header (with CSRCs and any RFC 8285 extension) stays in clear and is authenticated;
 * RTP padding is part of the payload and is encrypted with it. */
#include "srtp/srtp_int.h"

dsrtp_err dsrtp_rtp_header_len(const uint8_t *buf, size_t len, size_t *hdr_len)
{
    dsrtp_rd r = dsrtp_rd_make(buf, len);
    uint8_t b0 = 0;
    DSRTP_TRY(dsrtp_rd_u8(&r, &b0));
    DSRTP_CHECK((b0 >> 6) == 2, DSRTP_ERR_MALFORMED);
    DSRTP_TRY(dsrtp_rd_skip(&r, DSRTP_RTP_HEADER_LEN - 1 + 4u * (b0 & 0x0f)));
    if (b0 & 0x10) {
        uint16_t profile = 0;
        uint16_t words = 0;
        DSRTP_TRY(dsrtp_rd_u16(&r, &profile));
        DSRTP_TRY(dsrtp_rd_u16(&r, &words));
        DSRTP_TRY(dsrtp_rd_skip(&r, 4u * words));
    }
    *hdr_len = r.pos;
    return DSRTP_OK;
}

static void cm_iv(uint8_t iv[16], const uint8_t *salt, uint32_t ssrc, uint32_t roc,
                  uint16_t seq)
{
    /* RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16). */
    for (int k = 0; k < 14; k++) {
        iv[k] = salt[k];
    }
    iv[14] = 0;
    iv[15] = 0;
    iv[4] ^= (uint8_t)(ssrc >> 24);
    iv[5] ^= (uint8_t)(ssrc >> 16);
    iv[6] ^= (uint8_t)(ssrc >> 8);
    iv[7] ^= (uint8_t)ssrc;
    iv[8] ^= (uint8_t)(roc >> 24);
    iv[9] ^= (uint8_t)(roc >> 16);
    iv[10] ^= (uint8_t)(roc >> 8);
    iv[11] ^= (uint8_t)roc;
    iv[12] ^= (uint8_t)(seq >> 8);
    iv[13] ^= (uint8_t)seq;
}

static void gcm_iv(uint8_t iv[DSRTP_GCM_IV_LEN], const uint8_t *salt, uint32_t ssrc,
                   uint32_t roc, uint16_t seq)
{
    /* RFC 7714 §8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt. */
    uint8_t x[DSRTP_GCM_IV_LEN] = {0};
    dsrtp_store32(x + 2, ssrc);
    dsrtp_store32(x + 6, roc);
    dsrtp_store16(x + 10, seq);
    for (int k = 0; k < DSRTP_GCM_IV_LEN; k++) {
        iv[k] = x[k] ^ salt[k];
    }
}

static uint64_t stream_index(const dsrtp_stream *s)
{
    return ((uint64_t)s->roc << 16) | s->s_l;
}

/* Moves the stream's highest index forward to (v, seq) if that is newer. */
static void advance_rtp(dsrtp_stream *s, uint32_t v, uint16_t seq)
{
    uint64_t index = ((uint64_t)v << 16) | seq;
    if (!s->rtp_started || index > stream_index(s)) {
        s->roc = v;
        s->s_l = seq;
        s->rtp_started = true;
    }
}

static dsrtp_err count_tx_err(dsrtp_srtp_ctx *c, dsrtp_err err)
{
    if (err == DSRTP_ERR_TABLE_FULL) {
        c->stats.table_full++;
    } else if (err == DSRTP_ERR_KEY_EXHAUSTED) {
        c->stats.key_exhausted++;
    } else if (err == DSRTP_ERR_REPLAY) {
        c->stats.replays++;
    }
    return err;
}

static dsrtp_err protect(dsrtp_srtp_ctx *c, uint8_t *buf, size_t len, size_t cap,
                         size_t *out_len)
{
    size_t hlen = 0;
    DSRTP_CHECK(buf != NULL && out_len != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(dsrtp_rtp_header_len(buf, len, &hlen));
    size_t trailer = c->mki_len + c->info->srtp_tag_len;
    if (cap < len || cap - len < trailer) {
        *out_len = len + trailer;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    uint16_t seq = dsrtp_load16(buf + 2);
    uint32_t ssrc = dsrtp_load32(buf + 8);
    dsrtp_stream *s = dsrtp_stream_find(&c->streams, ssrc);
    if (s == NULL) {
        DSRTP_TRY(count_tx_err(c, dsrtp_stream_add(&c->streams, ssrc, &s)));
    }
    uint32_t v = 0;
    DSRTP_TRY(count_tx_err(c, dsrtp_roc_estimate(s, seq, &v)));
    uint64_t index = ((uint64_t)v << 16) | seq;
    if (s->rtp_win.bits != NULL) {
        DSRTP_TRY(count_tx_err(c, dsrtp_replay_check(&s->rtp_win, index)));
    }

    uint8_t *payload = buf + hlen;
    size_t payload_len = len - hlen;
    if (c->info->kind == DSRTP_CIPHER_AES_CM) {
        uint8_t iv[16];
        uint8_t mac[DSRTP_HMAC_SHA1_LEN];
        uint8_t roc_be[4];
        cm_iv(iv, c->rtp_salt, ssrc, v, seq);
        DSRTP_TRY(dsrtp_cipher_ctr(c->rtp, iv, payload, payload_len));
        dsrtp_store32(roc_be, v);
        dsrtp_cipher_hmac(c->rtp, buf, len, roc_be, 4, mac);
        for (size_t k = 0; k < c->mki_len; k++) {
            buf[len + k] = c->mki[k];
        }
        for (size_t k = 0; k < c->info->srtp_tag_len; k++) {
            buf[len + c->mki_len + k] = mac[k];
        }
    } else {
        uint8_t iv[DSRTP_GCM_IV_LEN];
        gcm_iv(iv, c->rtp_salt, ssrc, v, seq);
        DSRTP_TRY(dsrtp_cipher_gcm_seal(c->rtp, iv, buf, hlen, NULL, 0, payload, payload_len,
                                        buf + len));
        for (size_t k = 0; k < c->mki_len; k++) {
            buf[len + DSRTP_GCM_TAG_LEN + k] = c->mki[k];
        }
    }
    if (s->rtp_win.bits != NULL) {
        dsrtp_replay_commit(&s->rtp_win, index);
    }
    advance_rtp(s, v, seq);
    c->stats.rtp_packets++;
    c->stats.rtp_bytes += len;
    *out_len = len + trailer;
    return DSRTP_OK;
}

dsrtp_err dsrtp_srtp_tx_protect(dsrtp_srtp_tx *tx, uint8_t *buf, size_t len, size_t cap,
                                size_t *out_len)
{
    DSRTP_CHECK(tx != NULL, DSRTP_ERR_INVALID_ARG);
    return protect(&tx->c, buf, len, cap, out_len);
}

size_t dsrtp_srtp_tx_protect_batch(dsrtp_srtp_tx *tx, dsrtp_srtp_pkt *pkts, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; pkts != NULL && i < n; i++) {
        size_t out_len = 0;
        pkts[i].err = dsrtp_srtp_tx_protect(tx, pkts[i].buf, pkts[i].len, pkts[i].cap,
                                            &out_len);
        if (pkts[i].err == DSRTP_OK) {
            pkts[i].len = out_len;
            ok++;
        }
    }
    return ok;
}

/* Counts a refused packet in the receive counters and passes the error on. */
static dsrtp_err count_rx_err(dsrtp_srtp_ctx *c, dsrtp_err err)
{
    switch (err) {
    case DSRTP_ERR_MALFORMED: c->stats.malformed++; break;
    case DSRTP_ERR_AUTH: c->stats.auth_failures++; break;
    case DSRTP_ERR_REPLAY: c->stats.replays++; break;
    case DSRTP_ERR_TABLE_FULL: c->stats.table_full++; break;
    case DSRTP_ERR_KEY_EXHAUSTED: c->stats.key_exhausted++; break;
    default: break;
    }
    return err;
}

static dsrtp_err unprotect(dsrtp_srtp_ctx *c, uint8_t *buf, size_t len, size_t *out_len)
{
    size_t hlen = 0;
    size_t tag_len = c->info->srtp_tag_len;
    size_t trailer = c->mki_len + tag_len;
    DSRTP_CHECK(len >= trailer, DSRTP_ERR_MALFORMED);
    size_t rtp_len = len - trailer;
    DSRTP_TRY(dsrtp_rtp_header_len(buf, rtp_len, &hlen));
    uint16_t seq = dsrtp_load16(buf + 2);
    uint32_t ssrc = dsrtp_load32(buf + 8);

    /* A packet from an unknown SSRC is checked against a fresh stream; the slot is
     * claimed only once its tag verifies. */
    dsrtp_stream fresh = {0};
    dsrtp_stream *s = dsrtp_stream_find(&c->streams, ssrc);
    if (s == NULL) {
        DSRTP_CHECK(c->streams.count < c->streams.cap, DSRTP_ERR_TABLE_FULL);
        fresh.ssrc = ssrc;
    }
    const dsrtp_stream *view = s != NULL ? s : &fresh;
    uint32_t v = 0;
    DSRTP_TRY(dsrtp_roc_estimate(view, seq, &v));
    uint64_t index = ((uint64_t)v << 16) | seq;
    if (s != NULL) {
        DSRTP_TRY(dsrtp_replay_check(&s->rtp_win, index));
    }

    uint8_t *payload = buf + hlen;
    size_t payload_len = rtp_len - hlen;
    if (c->info->kind == DSRTP_CIPHER_AES_CM) {
        const uint8_t *mki = buf + rtp_len;
        const uint8_t *tag = mki + c->mki_len;
        DSRTP_CHECK(dsrtp_ct_eq(mki, c->mki, c->mki_len), DSRTP_ERR_AUTH);
        uint8_t mac[DSRTP_HMAC_SHA1_LEN];
        uint8_t roc_be[4];
        dsrtp_store32(roc_be, v);
        dsrtp_cipher_hmac(c->rtp, buf, rtp_len, roc_be, 4, mac);
        DSRTP_CHECK(dsrtp_ct_eq(mac, tag, tag_len), DSRTP_ERR_AUTH);
        uint8_t iv[16];
        cm_iv(iv, c->rtp_salt, ssrc, v, seq);
        DSRTP_TRY(dsrtp_cipher_ctr(c->rtp, iv, payload, payload_len));
    } else {
        const uint8_t *tag = buf + rtp_len;
        const uint8_t *mki = tag + DSRTP_GCM_TAG_LEN;
        DSRTP_CHECK(dsrtp_ct_eq(mki, c->mki, c->mki_len), DSRTP_ERR_AUTH);
        uint8_t iv[DSRTP_GCM_IV_LEN];
        gcm_iv(iv, c->rtp_salt, ssrc, v, seq);
        DSRTP_TRY(dsrtp_cipher_gcm_open(c->rtp, iv, buf, hlen, NULL, 0, payload, payload_len,
                                        tag));
    }

    /* Verified: now, and only now, state moves. */
    if (s == NULL) {
        dsrtp_err err = dsrtp_stream_add(&c->streams, ssrc, &s);
        if (err != DSRTP_OK) {
            return err; /* unreachable: room was checked above */
        }
    }
    dsrtp_replay_commit(&s->rtp_win, index);
    advance_rtp(s, v, seq);
    c->stats.rtp_packets++;
    c->stats.rtp_bytes += rtp_len;
    *out_len = rtp_len;
    return DSRTP_OK;
}

dsrtp_err dsrtp_srtp_rx_unprotect(dsrtp_srtp_rx *rx, uint8_t *buf, size_t len,
                                  size_t *out_len)
{
    DSRTP_CHECK(rx != NULL && buf != NULL && out_len != NULL, DSRTP_ERR_INVALID_ARG);
    return count_rx_err(&rx->c, unprotect(&rx->c, buf, len, out_len));
}

size_t dsrtp_srtp_rx_unprotect_batch(dsrtp_srtp_rx *rx, dsrtp_srtp_pkt *pkts, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; pkts != NULL && i < n; i++) {
        size_t out_len = 0;
        pkts[i].err = dsrtp_srtp_rx_unprotect(rx, pkts[i].buf, pkts[i].len, &out_len);
        if (pkts[i].err == DSRTP_OK) {
            pkts[i].len = out_len;
            ok++;
        }
    }
    return ok;
}

dsrtp_err dsrtp_srtp_count_rx_err(dsrtp_srtp_ctx *c, dsrtp_err err)
{
    return count_rx_err(c, err);
}
