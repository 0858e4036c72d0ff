/* SRTCP: protect and unprotect (compound) RTCP packets in place (RFC 3711 §3.4,
 * RFC 7714 §9).
 *
 * Layouts: AES-CM   header(8) | rest (encrypted if E) | E||index | MKI | tag(10)
 *          AES-GCM  header(8) | rest (encrypted if E) | tag(16) | E||index | MKI
 * The 31-bit SRTCP index is explicit, so there is no ROC to estimate. With E clear, GCM
 * authenticates the whole packet as associated data (RFC 7714 §9.2). */
#include "srtp/srtp_int.h"

static void rtcp_cm_iv(uint8_t iv[16], const uint8_t *salt, uint32_t ssrc, uint32_t index)
{
    /* RFC 3711 §4.1.1 with i = the SRTCP index. */
    for (int k = 0; k < 14; k++) {
        iv[k] = salt[k];
    }
    iv[14] = 0;
    iv[15] = 0;
    uint8_t x[10] = {0};
    dsrtp_store32(x, ssrc);
    dsrtp_store32(x + 6, index);
    for (int k = 0; k < 10; k++) {
        iv[4 + k] ^= x[k];
    }
}

static void rtcp_gcm_iv(uint8_t iv[DSRTP_GCM_IV_LEN], const uint8_t *salt, uint32_t ssrc,
                        uint32_t index)
{
    /* RFC 7714 §9.1: IV = (0x0000 || SSRC || 0x0000 || 0 || index31) XOR salt. */
    uint8_t x[DSRTP_GCM_IV_LEN] = {0};
    dsrtp_store32(x + 2, ssrc);
    dsrtp_store32(x + 8, index & DSRTP_SRTCP_INDEX_MAX);
    for (int k = 0; k < DSRTP_GCM_IV_LEN; k++) {
        iv[k] = x[k] ^ salt[k];
    }
}

static dsrtp_err check_rtcp_header(const uint8_t *buf, size_t len)
{
    DSRTP_CHECK(len >= DSRTP_RTCP_HEADER_LEN, DSRTP_ERR_MALFORMED);
    DSRTP_CHECK((buf[0] >> 6) == 2, DSRTP_ERR_MALFORMED);
    return DSRTP_OK;
}

static dsrtp_err protect_rtcp(dsrtp_srtp_ctx *c, uint8_t *buf, size_t len, size_t cap,
                              size_t *out_len)
{
    DSRTP_CHECK(buf != NULL && out_len != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(check_rtcp_header(buf, len));
    size_t trailer = 4 + c->mki_len + c->info->srtcp_tag_len;
    if (cap < len || cap - len < trailer) {
        *out_len = len + trailer;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    uint32_t ssrc = dsrtp_load32(buf + 4);
    dsrtp_stream *s = dsrtp_stream_find(&c->streams, ssrc);
    if (s == NULL) {
        dsrtp_err err = dsrtp_stream_add(&c->streams, ssrc, &s);
        if (err != DSRTP_OK) {
            c->stats.table_full++;
            return err;
        }
    }
    if (s->rtcp_index > DSRTP_SRTCP_INDEX_MAX) {
        c->stats.key_exhausted++;
        return DSRTP_ERR_KEY_EXHAUSTED;
    }
    uint32_t index = s->rtcp_index;
    uint8_t e_index[4];
    dsrtp_store32(e_index, index | (c->encrypt_rtcp ? DSRTP_SRTCP_E_FLAG : 0));
    uint8_t *rest = buf + DSRTP_RTCP_HEADER_LEN;
    size_t rest_len = len - DSRTP_RTCP_HEADER_LEN;

    if (c->info->kind == DSRTP_CIPHER_AES_CM) {
        if (c->encrypt_rtcp) {
            uint8_t iv[16];
            rtcp_cm_iv(iv, c->rtcp_salt, ssrc, index);
            DSRTP_TRY(dsrtp_cipher_ctr(c->rtcp, iv, rest, rest_len));
        }
        for (int k = 0; k < 4; k++) {
            buf[len + k] = e_index[k];
        }
        for (size_t k = 0; k < c->mki_len; k++) {
            buf[len + 4 + k] = c->mki[k];
        }
        uint8_t mac[DSRTP_HMAC_SHA1_LEN];
        dsrtp_cipher_hmac(c->rtcp, buf, len + 4, NULL, 0, mac);
        for (size_t k = 0; k < c->info->srtcp_tag_len; k++) {
            buf[len + 4 + c->mki_len + k] = mac[k];
        }
    } else {
        uint8_t iv[DSRTP_GCM_IV_LEN];
        rtcp_gcm_iv(iv, c->rtcp_salt, ssrc, index);
        if (c->encrypt_rtcp) {
            DSRTP_TRY(dsrtp_cipher_gcm_seal(c->rtcp, iv, buf, DSRTP_RTCP_HEADER_LEN, e_index, 4,
                                            rest, rest_len, buf + len));
        } else {
            DSRTP_TRY(dsrtp_cipher_gcm_seal(c->rtcp, iv, buf, len, e_index, 4, NULL, 0,
                                            buf + len));
        }
        for (int k = 0; k < 4; k++) {
            buf[len + DSRTP_GCM_TAG_LEN + k] = e_index[k];
        }
        for (size_t k = 0; k < c->mki_len; k++) {
            buf[len + DSRTP_GCM_TAG_LEN + 4 + k] = c->mki[k];
        }
    }
    s->rtcp_index = index + 1;
    c->stats.rtcp_packets++;
    c->stats.rtcp_bytes += len;
    *out_len = len + trailer;
    return DSRTP_OK;
}

dsrtp_err dsrtp_srtp_tx_protect_rtcp(dsrtp_srtp_tx *tx, uint8_t *buf, size_t len, size_t cap,
                                     size_t *out_len)
{
    DSRTP_CHECK(tx != NULL, DSRTP_ERR_INVALID_ARG);
    return protect_rtcp(&tx->c, buf, len, cap, out_len);
}

static dsrtp_err unprotect_rtcp(dsrtp_srtp_ctx *c, uint8_t *buf, size_t len, size_t *out_len)
{
    size_t tag_len = c->info->srtcp_tag_len;
    size_t trailer = 4 + c->mki_len + tag_len;
    DSRTP_CHECK(len >= trailer, DSRTP_ERR_MALFORMED);
    size_t rtcp_len = len - trailer;
    DSRTP_TRY(check_rtcp_header(buf, rtcp_len));
    uint32_t ssrc = dsrtp_load32(buf + 4);

    const uint8_t *e_index;
    const uint8_t *mki;
    const uint8_t *tag;
    if (c->info->kind == DSRTP_CIPHER_AES_CM) {
        e_index = buf + rtcp_len;
        mki = e_index + 4;
        tag = mki + c->mki_len;
    } else {
        tag = buf + rtcp_len;
        e_index = tag + DSRTP_GCM_TAG_LEN;
        mki = e_index + 4;
    }
    uint32_t word = dsrtp_load32(e_index);
    bool encrypted = (word & DSRTP_SRTCP_E_FLAG) != 0;
    uint32_t index = word & DSRTP_SRTCP_INDEX_MAX;

    dsrtp_stream *s = dsrtp_stream_find(&c->streams, ssrc);
    if (s == NULL) {
        DSRTP_CHECK(c->streams.count < c->streams.cap, DSRTP_ERR_TABLE_FULL);
    } else {
        DSRTP_TRY(dsrtp_replay_check(&s->rtcp_win, index));
    }
    DSRTP_CHECK(dsrtp_ct_eq(mki, c->mki, c->mki_len), DSRTP_ERR_AUTH);

    uint8_t *rest = buf + DSRTP_RTCP_HEADER_LEN;
    size_t rest_len = rtcp_len - DSRTP_RTCP_HEADER_LEN;
    if (c->info->kind == DSRTP_CIPHER_AES_CM) {
        uint8_t mac[DSRTP_HMAC_SHA1_LEN];
        dsrtp_cipher_hmac(c->rtcp, buf, rtcp_len + 4, NULL, 0, mac);
        DSRTP_CHECK(dsrtp_ct_eq(mac, tag, tag_len), DSRTP_ERR_AUTH);
        if (encrypted) {
            uint8_t iv[16];
            rtcp_cm_iv(iv, c->rtcp_salt, ssrc, index);
            DSRTP_TRY(dsrtp_cipher_ctr(c->rtcp, iv, rest, rest_len));
        }
    } else {
        uint8_t iv[DSRTP_GCM_IV_LEN];
        rtcp_gcm_iv(iv, c->rtcp_salt, ssrc, index);
        if (encrypted) {
            DSRTP_TRY(dsrtp_cipher_gcm_open(c->rtcp, iv, buf, DSRTP_RTCP_HEADER_LEN, e_index,
                                            4, rest, rest_len, tag));
        } else {
            DSRTP_TRY(dsrtp_cipher_gcm_open(c->rtcp, iv, buf, rtcp_len, e_index, 4, NULL, 0,
                                            tag));
        }
    }

    if (s == NULL) {
        DSRTP_TRY(dsrtp_stream_add(&c->streams, ssrc, &s));
    }
    dsrtp_replay_commit(&s->rtcp_win, index);
    c->stats.rtcp_packets++;
    c->stats.rtcp_bytes += rtcp_len;
    *out_len = rtcp_len;
    return DSRTP_OK;
}

dsrtp_err dsrtp_srtp_rx_unprotect_rtcp(dsrtp_srtp_rx *rx, uint8_t *buf, size_t len,
                                       size_t *out_len)
{
    DSRTP_CHECK(rx != NULL && buf != NULL && out_len != NULL, DSRTP_ERR_INVALID_ARG);
    return dsrtp_srtp_count_rx_err(&rx->c, unprotect_rtcp(&rx->c, buf, len, out_len));
}
