/* The SRTP cipher back end over OpenSSL 3 libcrypto.
 *
 * AES-CM and AES-GCM use EVP cipher contexts keyed once at key install; each packet only
 * sets a new IV, which reuses the key schedule and allocates nothing.
 *
 * HMAC-SHA1 does not go through EVP_MAC: in OpenSSL 3.0 every HMAC re-init and every
 * EVP_MD_CTX copy allocates. Instead the inner and outer SHA-1 states after the key pads
 * are computed once, kept as plain SHA_CTX values, and copied by value per packet. SHA_CTX
 * and SHA1_Update are deprecated in 3.0 but remain the only allocation-free way to resume
 * a hash from a saved state; they still run OpenSSL's SHA-NI/AVX code. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "srtp/srtp_int.h"

struct dsrtp_cipher {
    EVP_CIPHER_CTX *evp;
    dsrtp_cipher_kind kind;
    bool has_mac;
    SHA_CTX inner; /* SHA-1 state after (key XOR ipad) */
    SHA_CTX outer; /* SHA-1 state after (key XOR opad) */
};

static const EVP_CIPHER *evp_cipher_for(dsrtp_cipher_kind kind, size_t key_len)
{
    if (kind == DSRTP_CIPHER_AES_CM) {
        return key_len == 16 ? EVP_aes_128_ctr() : key_len == 32 ? EVP_aes_256_ctr() : NULL;
    }
    return key_len == 16 ? EVP_aes_128_gcm() : key_len == 32 ? EVP_aes_256_gcm() : NULL;
}

static void hmac_precompute(dsrtp_cipher *c, const uint8_t *key, size_t key_len)
{
    uint8_t pad[SHA_CBLOCK];
    uint8_t hashed[SHA_DIGEST_LENGTH];
    if (key_len > SHA_CBLOCK) {
        SHA1(key, key_len, hashed);
        key = hashed;
        key_len = SHA_DIGEST_LENGTH;
    }
    for (size_t i = 0; i < SHA_CBLOCK; i++) {
        pad[i] = (uint8_t)((i < key_len ? key[i] : 0) ^ 0x36);
    }
    SHA1_Init(&c->inner);
    SHA1_Update(&c->inner, pad, sizeof pad);
    for (size_t i = 0; i < SHA_CBLOCK; i++) {
        pad[i] = (uint8_t)((i < key_len ? key[i] : 0) ^ 0x5c);
    }
    SHA1_Init(&c->outer);
    SHA1_Update(&c->outer, pad, sizeof pad);
    dsrtp_wipe(pad, sizeof pad);
    dsrtp_wipe(hashed, sizeof hashed);
}

dsrtp_err dsrtp_cipher_new(dsrtp_cipher_kind kind, const uint8_t *key, size_t key_len,
                           const uint8_t *auth_key, size_t auth_key_len, dsrtp_cipher **out)
{
    const EVP_CIPHER *type = evp_cipher_for(kind, key_len);
    DSRTP_CHECK(type != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK((kind == DSRTP_CIPHER_AES_CM) == (auth_key != NULL), DSRTP_ERR_INVALID_ARG);
    dsrtp_cipher *c = calloc(1, sizeof *c);
    DSRTP_CHECK(c != NULL, DSRTP_ERR_NO_MEMORY);
    c->kind = kind;
    c->evp = EVP_CIPHER_CTX_new();
    if (c->evp == NULL || EVP_CipherInit_ex(c->evp, type, NULL, key, NULL, 1) != 1) {
        dsrtp_cipher_free(c);
        return DSRTP_ERR_CRYPTO;
    }
    if (kind == DSRTP_CIPHER_AES_GCM &&
        EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_SET_IVLEN, DSRTP_GCM_IV_LEN, NULL) != 1) {
        dsrtp_cipher_free(c);
        return DSRTP_ERR_CRYPTO;
    }
    if (auth_key != NULL) {
        hmac_precompute(c, auth_key, auth_key_len);
        c->has_mac = true;
    }
    *out = c;
    return DSRTP_OK;
}

void dsrtp_cipher_free(dsrtp_cipher *c)
{
    if (c == NULL) {
        return;
    }
    /* EVP_CIPHER_CTX_free cleanses the key schedule. */
    EVP_CIPHER_CTX_free(c->evp);
    dsrtp_wipe(c, sizeof *c);
    free(c);
}

dsrtp_err dsrtp_cipher_ctr(dsrtp_cipher *c, const uint8_t iv[16], uint8_t *data, size_t len)
{
    int out_len = 0;
    DSRTP_CHECK(len <= INT32_MAX, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, iv, 1) == 1, DSRTP_ERR_CRYPTO);
    if (len == 0) {
        return DSRTP_OK;
    }
    DSRTP_CHECK(EVP_CipherUpdate(c->evp, data, &out_len, data, (int)len) == 1,
                DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

void dsrtp_cipher_hmac(dsrtp_cipher *c, const uint8_t *a, size_t a_len, const uint8_t *b,
                       size_t b_len, uint8_t out[DSRTP_HMAC_SHA1_LEN])
{
    SHA_CTX h = c->inner;
    uint8_t inner_md[SHA_DIGEST_LENGTH];
    SHA1_Update(&h, a, a_len);
    if (b_len > 0) {
        SHA1_Update(&h, b, b_len);
    }
    SHA1_Final(inner_md, &h);
    h = c->outer;
    SHA1_Update(&h, inner_md, sizeof inner_md);
    SHA1_Final(out, &h);
    dsrtp_wipe(&h, sizeof h);
}

static dsrtp_err gcm_begin(dsrtp_cipher *c, int enc, const uint8_t *iv, const uint8_t *aad1,
                           size_t aad1_len, const uint8_t *aad2, size_t aad2_len)
{
    int n = 0;
    DSRTP_CHECK(aad1_len <= INT32_MAX && aad2_len <= INT32_MAX, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, iv, enc) == 1, DSRTP_ERR_CRYPTO);
    if (aad1_len > 0) {
        DSRTP_CHECK(EVP_CipherUpdate(c->evp, NULL, &n, aad1, (int)aad1_len) == 1,
                    DSRTP_ERR_CRYPTO);
    }
    if (aad2_len > 0) {
        DSRTP_CHECK(EVP_CipherUpdate(c->evp, NULL, &n, aad2, (int)aad2_len) == 1,
                    DSRTP_ERR_CRYPTO);
    }
    return DSRTP_OK;
}

dsrtp_err dsrtp_cipher_gcm_seal(dsrtp_cipher *c, const uint8_t iv[DSRTP_GCM_IV_LEN],
                                const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
                                size_t aad2_len, uint8_t *data, size_t len,
                                uint8_t tag[DSRTP_GCM_TAG_LEN])
{
    int n = 0;
    DSRTP_CHECK(len <= INT32_MAX, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(gcm_begin(c, 1, iv, aad1, aad1_len, aad2, aad2_len));
    if (len > 0) {
        DSRTP_CHECK(EVP_CipherUpdate(c->evp, data, &n, data, (int)len) == 1, DSRTP_ERR_CRYPTO);
    }
    /* GCM's Final writes no bytes; give it a real buffer since data may be NULL. */
    uint8_t none[DSRTP_GCM_TAG_LEN];
    DSRTP_CHECK(EVP_CipherFinal_ex(c->evp, none, &n) == 1, DSRTP_ERR_CRYPTO);
    DSRTP_CHECK(EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_GET_TAG, DSRTP_GCM_TAG_LEN, tag) == 1,
                DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

dsrtp_err dsrtp_cipher_gcm_open(dsrtp_cipher *c, const uint8_t iv[DSRTP_GCM_IV_LEN],
                                const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
                                size_t aad2_len, uint8_t *data, size_t len,
                                const uint8_t tag[DSRTP_GCM_TAG_LEN])
{
    int n = 0;
    uint8_t tag_copy[DSRTP_GCM_TAG_LEN];
    DSRTP_CHECK(len <= INT32_MAX, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(gcm_begin(c, 0, iv, aad1, aad1_len, aad2, aad2_len));
    if (len > 0) {
        DSRTP_CHECK(EVP_CipherUpdate(c->evp, data, &n, data, (int)len) == 1, DSRTP_ERR_CRYPTO);
    }
    for (size_t i = 0; i < DSRTP_GCM_TAG_LEN; i++) {
        tag_copy[i] = tag[i];
    }
    DSRTP_CHECK(EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_SET_TAG, DSRTP_GCM_TAG_LEN,
                                    tag_copy) == 1,
                DSRTP_ERR_CRYPTO);
    /* OpenSSL compares the tag in constant time inside Final. */
    uint8_t none[DSRTP_GCM_TAG_LEN];
    if (EVP_CipherFinal_ex(c->evp, none, &n) == 1) {
        return DSRTP_OK;
    }
    /* Tag mismatch: the buffer now holds garbage "plaintext". GCM's data path is CTR, its
     * own inverse, so one more decrypt pass under the same IV restores the ciphertext and
     * the caller's buffer is left as it was given. */
    if (len > 0) {
        DSRTP_CHECK(EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, iv, 0) == 1, DSRTP_ERR_CRYPTO);
        DSRTP_CHECK(EVP_CipherUpdate(c->evp, data, &n, data, (int)len) == 1, DSRTP_ERR_CRYPTO);
    }
    return DSRTP_ERR_AUTH;
}

dsrtp_err dsrtp_aes_cm_keystream(const uint8_t *key, size_t key_len, const uint8_t iv[16],
                                 uint8_t *out, size_t len)
{
    const EVP_CIPHER *type = evp_cipher_for(DSRTP_CIPHER_AES_CM, key_len);
    DSRTP_CHECK(type != NULL && len <= 1024, DSRTP_ERR_INVALID_ARG);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    DSRTP_CHECK(ctx != NULL, DSRTP_ERR_NO_MEMORY);
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        out[i] = 0;
    }
    dsrtp_err err = DSRTP_OK;
    if (EVP_EncryptInit_ex(ctx, type, NULL, key, iv) != 1 ||
        EVP_EncryptUpdate(ctx, out, &n, out, (int)len) != 1) {
        err = DSRTP_ERR_CRYPTO;
    }
    EVP_CIPHER_CTX_free(ctx);
    return err;
}
