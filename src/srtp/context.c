/* Send and receive contexts: key install (derivation, cipher contexts, stream table),
 * wiping on free, ROC accessors and counters. */
#include <stdlib.h>
#include <string.h>

#include "srtp/srtp_int.h"

void dsrtp_srtp_cfg_init(dsrtp_srtp_cfg *cfg)
{
    if (cfg == NULL) {
        return;
    }
    *cfg = (dsrtp_srtp_cfg){0};
    cfg->profile = DSRTP_PROFILE_NONE;
    cfg->max_streams = DSRTP_SRTP_DEFAULT_STREAMS;
    cfg->replay_window = DSRTP_SRTP_DEFAULT_WINDOW;
    cfg->encrypt_rtcp = true;
}

static dsrtp_err check_cfg(const dsrtp_srtp_cfg *cfg, const dsrtp_profile_info **info)
{
    DSRTP_CHECK(cfg != NULL, DSRTP_ERR_INVALID_ARG);
    const dsrtp_profile_info *i = dsrtp_profile_info_get(cfg->profile);
    DSRTP_CHECK(i != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->master_key != NULL && cfg->master_key_len == i->key_len,
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->master_salt != NULL && cfg->master_salt_len == i->salt_len,
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->mki_len <= DSRTP_SRTP_MAX_MKI_LEN, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->mki_len == 0 || cfg->mki != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->max_streams > 0 && cfg->max_streams <= 65536, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->replay_window >= 1 && cfg->replay_window <= DSRTP_SRTP_MAX_WINDOW,
                DSRTP_ERR_INVALID_ARG);
    *info = i;
    return DSRTP_OK;
}

/* Keys one direction's (RTP or RTCP) cipher. Normally its session keys are derived from the
 * master key and salt under enc_label; with `given` (the test hook below) cfg's key and salt
 * are the session key and salt themselves, and given_auth the session auth key. */
static dsrtp_err install_keys(dsrtp_srtp_ctx *c, const dsrtp_srtp_cfg *cfg, uint8_t enc_label,
                              bool given, const uint8_t *given_auth, dsrtp_cipher **cipher,
                              uint8_t *salt)
{
    const dsrtp_profile_info *i = c->info;
    uint8_t enc[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t auth[DSRTP_HMAC_SHA1_LEN];
    dsrtp_err err = DSRTP_OK;
    if (given) {
        memcpy(enc, cfg->master_key, i->key_len);
        if (i->auth_key_len > 0) {
            memcpy(auth, given_auth, i->auth_key_len);
        }
        memcpy(salt, cfg->master_salt, i->salt_len);
    } else {
        err = dsrtp_kdf(cfg->master_key, i->key_len, cfg->master_salt, i->salt_len, enc_label,
                        enc, i->key_len);
        if (err == DSRTP_OK && i->auth_key_len > 0) {
            err = dsrtp_kdf(cfg->master_key, i->key_len, cfg->master_salt, i->salt_len,
                            (uint8_t)(enc_label + 1), auth, i->auth_key_len);
        }
        if (err == DSRTP_OK) {
            err = dsrtp_kdf(cfg->master_key, i->key_len, cfg->master_salt, i->salt_len,
                            (uint8_t)(enc_label + 2), salt, i->salt_len);
        }
    }
    if (err == DSRTP_OK) {
        err = dsrtp_cipher_new(i->kind, enc, i->key_len, i->auth_key_len > 0 ? auth : NULL,
                               i->auth_key_len, cipher);
    }
    dsrtp_wipe(enc, sizeof enc);
    dsrtp_wipe(auth, sizeof auth);
    return err;
}

static dsrtp_err ctx_init(dsrtp_srtp_ctx *c, const dsrtp_srtp_cfg *cfg, bool rx, bool given,
                          const uint8_t *given_auth)
{
    const dsrtp_profile_info *info = NULL;
    DSRTP_TRY(check_cfg(cfg, &info));
    DSRTP_CHECK(!given || info->auth_key_len == 0 || given_auth != NULL, DSRTP_ERR_INVALID_ARG);
    *c = (dsrtp_srtp_ctx){0};
    c->info = info;
    c->profile = cfg->profile;
    c->encrypt_rtcp = cfg->encrypt_rtcp;
    c->allow_repeat_tx = cfg->allow_repeat_tx;
    c->mki_len = cfg->mki_len;
    for (size_t k = 0; k < cfg->mki_len; k++) {
        c->mki[k] = cfg->mki[k];
    }
    dsrtp_err err =
        install_keys(c, cfg, DSRTP_LABEL_RTP_ENC, given, given_auth, &c->rtp, c->rtp_salt);
    if (err == DSRTP_OK) {
        err = install_keys(c, cfg, DSRTP_LABEL_RTCP_ENC, given, given_auth, &c->rtcp,
                           c->rtcp_salt);
    }
    if (err == DSRTP_OK) {
        /* The send side keeps an RTP window too: it refuses to protect an index twice,
         * which would reuse keystream (AES-CM) or a nonce (GCM). Its SRTCP index is a
         * counter of its own and needs none. */
        unsigned windows = rx ? 2u : cfg->allow_repeat_tx ? 0u : 1u;
        err = dsrtp_stream_table_init(&c->streams, cfg->max_streams, cfg->replay_window,
                                      windows);
    }
    if (err != DSRTP_OK) {
        dsrtp_srtp_ctx_clear(c);
    }
    return err;
}

dsrtp_err dsrtp_srtp_ctx_init(dsrtp_srtp_ctx *c, const dsrtp_srtp_cfg *cfg, bool rx)
{
    return ctx_init(c, cfg, rx, false, NULL);
}

dsrtp_err dsrtp_srtp_ctx_init_session_keys(dsrtp_srtp_ctx *c, const dsrtp_srtp_cfg *cfg,
                                           bool rx, const uint8_t *auth_key)
{
    return ctx_init(c, cfg, rx, true, auth_key);
}

void dsrtp_srtp_ctx_clear(dsrtp_srtp_ctx *c)
{
    dsrtp_cipher_free(c->rtp);
    dsrtp_cipher_free(c->rtcp);
    dsrtp_stream_table_clear(&c->streams);
    dsrtp_wipe(c, sizeof *c);
}

dsrtp_err dsrtp_srtp_tx_new(const dsrtp_srtp_cfg *cfg, dsrtp_srtp_tx **out)
{
    DSRTP_CHECK(out != NULL, DSRTP_ERR_INVALID_ARG);
    dsrtp_srtp_tx *tx = calloc(1, sizeof *tx);
    DSRTP_CHECK(tx != NULL, DSRTP_ERR_NO_MEMORY);
    dsrtp_err err = dsrtp_srtp_ctx_init(&tx->c, cfg, false);
    if (err != DSRTP_OK) {
        free(tx);
        return err;
    }
    *out = tx;
    return DSRTP_OK;
}

void dsrtp_srtp_tx_free(dsrtp_srtp_tx *tx)
{
    if (tx != NULL) {
        dsrtp_srtp_ctx_clear(&tx->c);
        free(tx);
    }
}

dsrtp_err dsrtp_srtp_rx_new(const dsrtp_srtp_cfg *cfg, dsrtp_srtp_rx **out)
{
    DSRTP_CHECK(out != NULL, DSRTP_ERR_INVALID_ARG);
    dsrtp_srtp_rx *rx = calloc(1, sizeof *rx);
    DSRTP_CHECK(rx != NULL, DSRTP_ERR_NO_MEMORY);
    dsrtp_err err = dsrtp_srtp_ctx_init(&rx->c, cfg, true);
    if (err != DSRTP_OK) {
        free(rx);
        return err;
    }
    *out = rx;
    return DSRTP_OK;
}

void dsrtp_srtp_rx_free(dsrtp_srtp_rx *rx)
{
    if (rx != NULL) {
        dsrtp_srtp_ctx_clear(&rx->c);
        free(rx);
    }
}

/* Finds ssrc's stream or claims a slot for it: the setters' path, never the packet path. */
static dsrtp_err stream_get_or_add(dsrtp_srtp_ctx *c, uint32_t ssrc, dsrtp_stream **out)
{
    dsrtp_stream *s = dsrtp_stream_find(&c->streams, ssrc);
    if (s == NULL) {
        DSRTP_TRY(dsrtp_stream_add(&c->streams, ssrc, &s));
    }
    *out = s;
    return DSRTP_OK;
}

static dsrtp_err set_roc(dsrtp_srtp_ctx *c, uint32_t ssrc, uint32_t roc)
{
    dsrtp_stream *s = NULL;
    DSRTP_TRY(stream_get_or_add(c, ssrc, &s));
    /* A new ROC starts the stream afresh: the next packet sets the highest sequence
     * number, and indices of the old numbering no longer count as seen. */
    s->roc = roc;
    s->rtp_started = false;
    s->rtp_win.any = false;
    return DSRTP_OK;
}

static dsrtp_err get_roc(const dsrtp_srtp_ctx *c, uint32_t ssrc, uint32_t *roc)
{
    DSRTP_CHECK(roc != NULL, DSRTP_ERR_INVALID_ARG);
    dsrtp_stream *s = dsrtp_stream_find((dsrtp_stream_table *)&c->streams, ssrc);
    DSRTP_CHECK(s != NULL, DSRTP_ERR_INVALID_ARG);
    *roc = s->roc;
    return DSRTP_OK;
}

dsrtp_err dsrtp_srtp_tx_set_roc(dsrtp_srtp_tx *tx, uint32_t ssrc, uint32_t roc)
{
    DSRTP_CHECK(tx != NULL, DSRTP_ERR_INVALID_ARG);
    return set_roc(&tx->c, ssrc, roc);
}

dsrtp_err dsrtp_srtp_tx_get_roc(const dsrtp_srtp_tx *tx, uint32_t ssrc, uint32_t *roc)
{
    DSRTP_CHECK(tx != NULL, DSRTP_ERR_INVALID_ARG);
    return get_roc(&tx->c, ssrc, roc);
}

dsrtp_err dsrtp_srtp_rx_set_roc(dsrtp_srtp_rx *rx, uint32_t ssrc, uint32_t roc)
{
    DSRTP_CHECK(rx != NULL, DSRTP_ERR_INVALID_ARG);
    return set_roc(&rx->c, ssrc, roc);
}

dsrtp_err dsrtp_srtp_rx_get_roc(const dsrtp_srtp_rx *rx, uint32_t ssrc, uint32_t *roc)
{
    DSRTP_CHECK(rx != NULL, DSRTP_ERR_INVALID_ARG);
    return get_roc(&rx->c, ssrc, roc);
}

dsrtp_err dsrtp_srtp_tx_set_rtcp_index(dsrtp_srtp_tx *tx, uint32_t ssrc, uint32_t index)
{
    DSRTP_CHECK(tx != NULL && index <= DSRTP_SRTCP_INDEX_MAX, DSRTP_ERR_INVALID_ARG);
    dsrtp_stream *s = NULL;
    DSRTP_TRY(stream_get_or_add(&tx->c, ssrc, &s));
    s->rtcp_index = index;
    return DSRTP_OK;
}

void dsrtp_srtp_tx_get_stats(const dsrtp_srtp_tx *tx, dsrtp_srtp_stats *st)
{
    if (tx != NULL && st != NULL) {
        *st = tx->c.stats;
    }
}

void dsrtp_srtp_rx_get_stats(const dsrtp_srtp_rx *rx, dsrtp_srtp_stats *st)
{
    if (rx != NULL && st != NULL) {
        *st = rx->c.stats;
    }
}

size_t dsrtp_srtp_rx_stream_footprint(const dsrtp_srtp_rx *rx)
{
    if (rx == NULL) {
        return 0;
    }
    /* The slot, its two windows, and its share (two buckets) of the index. */
    return sizeof(dsrtp_stream) + 2 * rx->c.streams.words * sizeof(uint64_t) +
           2 * sizeof(uint32_t);
}
