/* Compaction: what a connected endpoint keeps of a finished handshake so that its SSL
 * object (some 40 KB) can go. The epoch-1 record keys come from the key block (RFC 5246
 * §6.3), the exporter (RFC 5705) from the master secret and both randoms, and the peer's
 * certificate survives as its fingerprints under every hash SDP may name. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "dtls/dtls_int.h"

#define KEY_EXPANSION_LABEL "key expansion"

/* The record protection of the suite: AEAD, key and IV sizes (RFC 5288 §3, RFC 7905 §2). */
static dsrtp_err suite_of(const SSL_CIPHER *c, dsrtp_dtls_post *p)
{
    DSRTP_CHECK(c != NULL, DSRTP_ERR_INTERNAL);
    switch (SSL_CIPHER_get_cipher_nid(c)) {
    case NID_aes_128_gcm:
        p->aead = DSRTP_POST_AES_128_GCM;
        p->key_len = 16;
        p->iv_len = 4;
        break;
    case NID_aes_256_gcm:
        p->aead = DSRTP_POST_AES_256_GCM;
        p->key_len = 32;
        p->iv_len = 4;
        break;
    case NID_chacha20_poly1305:
        p->aead = DSRTP_POST_CHACHA20_POLY1305;
        p->key_len = 32;
        p->iv_len = 12;
        break;
    default:
        /* cert.c allows AEAD suites only; a CBC suite would need MAC keys as well. */
        return DSRTP_ERR_UNSUPPORTED;
    }
    const EVP_MD *md = SSL_CIPHER_get_handshake_digest(c);
    DSRTP_CHECK(md != NULL, DSRTP_ERR_UNSUPPORTED);
    switch (EVP_MD_get_size(md)) {
    case 32: p->prf = DSRTP_PRF_SHA256; break;
    case 48: p->prf = DSRTP_PRF_SHA384; break;
    default: return DSRTP_ERR_UNSUPPORTED;
    }
    return DSRTP_OK;
}

static dsrtp_err take_secrets(SSL *ssl, dsrtp_dtls_post *p)
{
    const SSL_SESSION *sess = SSL_get_session(ssl);
    DSRTP_CHECK(sess != NULL, DSRTP_ERR_INTERNAL);
    DSRTP_CHECK(SSL_SESSION_get_master_key(sess, p->master, sizeof p->master) ==
                    sizeof p->master,
                DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(SSL_get_client_random(ssl, p->randoms, DSRTP_POST_RANDOM_LEN) ==
                    DSRTP_POST_RANDOM_LEN,
                DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(SSL_get_server_random(ssl, p->randoms + DSRTP_POST_RANDOM_LEN,
                                      DSRTP_POST_RANDOM_LEN) == DSRTP_POST_RANDOM_LEN,
                DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

/* key_block = PRF(master_secret, "key expansion", server_random || client_random):
 * client_write_key, server_write_key, client_write_IV, server_write_IV (AEAD suites have
 * no MAC keys). */
static dsrtp_err derive_keys(bool client, dsrtp_dtls_post *p)
{
    uint8_t kb[2 * (DSRTP_POST_KEY_MAX + DSRTP_POST_IV_MAX)];
    size_t kl = p->key_len;
    size_t il = p->iv_len;
    const uint8_t *client_random = p->randoms;
    const uint8_t *server_random = p->randoms + DSRTP_POST_RANDOM_LEN;
    DSRTP_TRY(dsrtp_tls12_prf(p->prf, p->master, sizeof p->master, KEY_EXPANSION_LABEL,
                              server_random, DSRTP_POST_RANDOM_LEN, client_random,
                              DSRTP_POST_RANDOM_LEN, kb, 2 * (kl + il)));
    const uint8_t *ck = kb;
    const uint8_t *sk = kb + kl;
    const uint8_t *civ = kb + 2 * kl;
    const uint8_t *siv = kb + 2 * kl + il;
    memcpy(p->write_key, client ? ck : sk, kl);
    memcpy(p->read_key, client ? sk : ck, kl);
    memcpy(p->write_iv, client ? civ : siv, il);
    memcpy(p->read_iv, client ? siv : civ, il);
    dsrtp_wipe(kb, sizeof kb);
    return DSRTP_OK;
}

static dsrtp_err fill(SSL *ssl, bool client, const dsrtp_dgram_bio *q, dsrtp_dtls_post *p)
{
    DSRTP_TRY(suite_of(SSL_get_current_cipher(ssl), p));
    DSRTP_TRY(take_secrets(ssl, p));
    DSRTP_TRY(derive_keys(client, p));
    X509 *peer = SSL_get0_peer_certificate(ssl);
    DSRTP_CHECK(peer != NULL, DSRTP_ERR_INTERNAL);
    DSRTP_TRY(dsrtp_fp_table_fill(peer, p->peer_fps, sizeof p->peer_fps));
    p->have_peer_fps = true;
    /* Our Finished went out as epoch 1, sequence 0 at least; a client may have resent it. */
    p->write_seq = q->epoch1_next > 0 ? q->epoch1_next : 1;
    /* RFC 6347 §4.1: sequence numbers restart at 0 in each epoch, so the peer's Finished,
     * which OpenSSL has read, was its epoch-1 record 0. */
    dsrtp_post_mark_seen(p, 0);
    return DSRTP_OK;
}

dsrtp_err dsrtp_post_from_ssl(SSL *ssl, bool client, const dsrtp_dgram_bio *q,
                              dsrtp_dtls_post *p)
{
    DSRTP_CHECK(ssl != NULL && q != NULL && p != NULL && p->aead == DSRTP_POST_AEAD_NONE,
                DSRTP_ERR_INVALID_ARG);
    dsrtp_err err = fill(ssl, client, q, p);
    ERR_clear_error();
    if (err != DSRTP_OK) {
        dsrtp_post_clear(p);
    }
    return err;
}

dsrtp_err dsrtp_post_export(const dsrtp_dtls_post *p, const char *label, uint8_t *out,
                            size_t len)
{
    DSRTP_CHECK(p->aead != DSRTP_POST_AEAD_NONE && p->key_len > 0, DSRTP_ERR_INVALID_ARG);
    /* RFC 5705 §4 without a context: PRF(master_secret, label, client_random ||
     * server_random). */
    return dsrtp_tls12_prf(p->prf, p->master, sizeof p->master, label, p->randoms,
                           DSRTP_POST_RANDOM_LEN, p->randoms + DSRTP_POST_RANDOM_LEN,
                           DSRTP_POST_RANDOM_LEN, out, len);
}
