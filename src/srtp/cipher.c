/* The SRTP cipher back end over OpenSSL 3 libcrypto.
 *
 * Everything is keyed once at key install; nothing on the packet path allocates, and no
 * packet goes through EVP's per-message set-up. In OpenSSL 3.0 that set-up is the bulk of
 * the cost of a small packet: EVP_CipherInit_ex with only a new IV re-reads the IV length
 * through the provider's parameter lookups (a chain of strcmp), and for GCM the tag get/set
 * controls do the same again. A 160-byte AES-CTR payload costs less than setting its IV.
 * So the single AES entry point is an EVP AES-ECB context under the session key:
 *
 *  - AES-CM (RFC 3711 §4.1.1): each packet writes its counter blocks (IV, IV + 1, ...),
 *    encrypts them with one ECB call per 512 bytes and XORs the keystream in. That is
 *    exactly EVP's CTR keystream, from the same AES-NI code.
 *  - AES-GCM (RFC 7714): OpenSSL's GCM128 mode code (CRYPTO_gcm128_*, public in
 *    <openssl/modes.h>) does the GHASH (PCLMULQDQ) and the GCM framing, with the block and
 *    CTR32 callbacks below running AES through the ECB context. The tag is checked by
 *    CRYPTO_gcm128_finish with CRYPTO_memcmp, in constant time.
 *
 * HMAC-SHA1 does not go through EVP_MAC: in OpenSSL 3.0 every HMAC re-init and every
 * EVP_MD_CTX copy allocates. Instead the inner and outer SHA-1 states after the key pads
 * are computed once, kept as plain SHA_CTX values, and copied by value per packet. SHA_CTX
 * and SHA1_Update are deprecated in 3.0 but remain the only allocation-free way to resume
 * a hash from a saved state; they still run OpenSSL's SHA-NI/AVX code. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/modes.h>
#include <openssl/sha.h>

#include "srtp/srtp_int.h"

/* Keystream is made this many bytes (32 blocks) at a time: one ECB call per chunk. */
#define DSRTP_CTR_CHUNK 512

/* What the GCM128 callbacks get as their key: the ECB context, and where to report a
 * failure (the callbacks return void, so errors are collected and checked afterwards). */
typedef struct dsrtp_aes {
    EVP_CIPHER_CTX *ecb;
    bool *failed;
} dsrtp_aes;

/* The HMAC-SHA1 key of an AES-CM transform, as the two SHA-1 states it starts from. */
typedef struct dsrtp_hmac_key {
    SHA_CTX inner; /* SHA-1 state after (key XOR ipad) */
    SHA_CTX outer; /* SHA-1 state after (key XOR opad) */
} dsrtp_hmac_key;

struct dsrtp_cipher {
    dsrtp_aes aes;
    GCM128_CONTEXT *gcm; /* AES-GCM only */
    dsrtp_cipher_kind kind;
    bool failed;
    /* AES-CM only (one entry; none for AES-GCM, which would carry 192 unused bytes). */
    dsrtp_hmac_key mac[];
};

/* Bytes of the allocation for a cipher of this kind. */
static size_t cipher_size(dsrtp_cipher_kind kind)
{
    return sizeof(dsrtp_cipher) + (kind == DSRTP_CIPHER_AES_CM ? sizeof(dsrtp_hmac_key) : 0);
}

static void hmac_precompute(dsrtp_hmac_key *mac, const uint8_t *key, size_t key_len)
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
    SHA1_Init(&mac->inner);
    SHA1_Update(&mac->inner, pad, sizeof pad);
    for (size_t i = 0; i < SHA_CBLOCK; i++) {
        pad[i] = (uint8_t)((i < key_len ? key[i] : 0) ^ 0x5c);
    }
    SHA1_Init(&mac->outer);
    SHA1_Update(&mac->outer, pad, sizeof pad);
    dsrtp_wipe(pad, sizeof pad);
    dsrtp_wipe(hashed, sizeof hashed);
}

/* Encrypts len bytes (whole blocks, at most DSRTP_CTR_CHUNK) in place with AES-ECB. */
static bool ecb_encrypt(EVP_CIPHER_CTX *ecb, uint8_t *buf, size_t len)
{
    int n = 0;
    return EVP_EncryptUpdate(ecb, buf, &n, buf, (int)len) == 1 && (size_t)n == len;
}

/* Writes `blocks` counter blocks starting at ctr and advances ctr past them. With carry
 * the counter is the whole 16-byte block, big-endian, as in EVP's CTR mode (SRTP's IVs end
 * in 16 zero bits and a packet has fewer than 2^16 blocks, so the fast path is the one
 * taken); without, only the low 32 bits count, wrapping, as GCM's CTR32 requires. */
static void counter_blocks(uint8_t ctr[16], uint8_t *out, size_t blocks, bool carry)
{
    uint32_t low = dsrtp_load32(ctr + 12);
    if (!carry || low <= UINT32_MAX - blocks) {
        for (size_t b = 0; b < blocks; b++) {
            memcpy(out + 16 * b, ctr, 12);
            dsrtp_store32(out + 16 * b + 12, low + (uint32_t)b);
        }
        dsrtp_store32(ctr + 12, low + (uint32_t)blocks);
        return;
    }
    for (size_t b = 0; b < blocks; b++) {
        memcpy(out + 16 * b, ctr, 16);
        for (int k = 15; k >= 0; k--) {
            if (++ctr[k] != 0) {
                break;
            }
        }
    }
}

/* out = in XOR ks, len bytes; out may be in. */
static void xor_stream(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t len)
{
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t a;
        uint64_t b;
        memcpy(&a, in + i, 8);
        memcpy(&b, ks + i, 8);
        a ^= b;
        memcpy(out + i, &a, 8);
    }
    for (; i < len; i++) {
        out[i] = (uint8_t)(in[i] ^ ks[i]);
    }
}

/* AES counter mode from ctr (advanced past the blocks used): out = in XOR keystream. */
static bool ctr_xor(EVP_CIPHER_CTX *ecb, uint8_t ctr[16], bool carry, const uint8_t *in,
                    uint8_t *out, size_t len)
{
    uint8_t ks[DSRTP_CTR_CHUNK];
    size_t used = 0;
    bool ok = true;
    while (len > 0) {
        size_t take = len < sizeof ks ? len : sizeof ks;
        size_t bytes = (take + 15) / 16 * 16;
        counter_blocks(ctr, ks, bytes / 16, carry);
        if (!ecb_encrypt(ecb, ks, bytes)) {
            ok = false;
            break;
        }
        xor_stream(out, in, ks, take);
        used = bytes > used ? bytes : used;
        in += take;
        out += take;
        len -= take;
    }
    /* Keystream is no key, but it opens a packet: leave none of it on the stack. */
    dsrtp_wipe(ks, used);
    return ok;
}

/* GCM128 callback: one AES block (in and out are the same block or disjoint ones). */
static void gcm_block(const unsigned char in[16], unsigned char out[16], const void *key)
{
    const dsrtp_aes *aes = key;
    int n = 0;
    if (EVP_EncryptUpdate(aes->ecb, out, &n, in, 16) != 1 || n != 16) {
        *aes->failed = true;
    }
}

/* GCM128 callback: CTR32 over whole blocks from ivec (which it must not change). */
static void gcm_ctr32(const unsigned char *in, unsigned char *out, size_t blocks,
                      const void *key, const unsigned char ivec[16])
{
    const dsrtp_aes *aes = key;
    uint8_t ctr[16];
    memcpy(ctr, ivec, sizeof ctr);
    if (blocks > SIZE_MAX / 16 || !ctr_xor(aes->ecb, ctr, false, in, out, blocks * 16)) {
        *aes->failed = true;
    }
}

dsrtp_err dsrtp_cipher_new(dsrtp_cipher_kind kind, const uint8_t *key, size_t key_len,
                           const uint8_t *auth_key, size_t auth_key_len, dsrtp_cipher **out)
{
    const EVP_CIPHER *type = key_len == 16   ? EVP_aes_128_ecb()
                             : key_len == 32 ? EVP_aes_256_ecb()
                                             : NULL;
    DSRTP_CHECK(type != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(kind == DSRTP_CIPHER_AES_CM || kind == DSRTP_CIPHER_AES_GCM,
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK((kind == DSRTP_CIPHER_AES_CM) == (auth_key != NULL), DSRTP_ERR_INVALID_ARG);
    dsrtp_cipher *c = calloc(1, cipher_size(kind));
    DSRTP_CHECK(c != NULL, DSRTP_ERR_NO_MEMORY);
    c->kind = kind;
    c->aes.failed = &c->failed;
    c->aes.ecb = EVP_CIPHER_CTX_new();
    /* The ECB context only ever sees whole blocks, so padding is off. */
    if (c->aes.ecb == NULL || EVP_CipherInit_ex(c->aes.ecb, type, NULL, key, NULL, 1) != 1 ||
        EVP_CIPHER_CTX_set_padding(c->aes.ecb, 0) != 1) {
        dsrtp_cipher_free(c);
        return DSRTP_ERR_CRYPTO;
    }
    if (kind == DSRTP_CIPHER_AES_GCM) {
        /* Computes the hash key H = AES(0) through gcm_block. */
        c->gcm = CRYPTO_gcm128_new(&c->aes, gcm_block);
        if (c->gcm == NULL || c->failed) {
            dsrtp_err err = c->gcm == NULL ? DSRTP_ERR_NO_MEMORY : DSRTP_ERR_CRYPTO;
            dsrtp_cipher_free(c);
            return err;
        }
    }
    if (auth_key != NULL) {
        hmac_precompute(&c->mac[0], auth_key, auth_key_len);
    }
    *out = c;
    return DSRTP_OK;
}

void dsrtp_cipher_free(dsrtp_cipher *c)
{
    if (c == NULL) {
        return;
    }
    /* Both release calls cleanse what they held (key schedule, hash key). */
    CRYPTO_gcm128_release(c->gcm);
    EVP_CIPHER_CTX_free(c->aes.ecb);
    dsrtp_wipe(c, cipher_size(c->kind));
    free(c);
}

dsrtp_err dsrtp_cipher_ctr(dsrtp_cipher *c, const uint8_t iv[16], uint8_t *data, size_t len)
{
    uint8_t ctr[16];
    DSRTP_CHECK(c->kind == DSRTP_CIPHER_AES_CM, DSRTP_ERR_INVALID_ARG);
    memcpy(ctr, iv, sizeof ctr);
    DSRTP_CHECK(ctr_xor(c->aes.ecb, ctr, true, data, data, len), DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

void dsrtp_cipher_hmac(dsrtp_cipher *c, const uint8_t *a, size_t a_len, const uint8_t *b,
                       size_t b_len, uint8_t out[DSRTP_HMAC_SHA1_LEN])
{
    SHA_CTX h = c->mac[0].inner;
    uint8_t inner_md[SHA_DIGEST_LENGTH];
    SHA1_Update(&h, a, a_len);
    if (b_len > 0) {
        SHA1_Update(&h, b, b_len);
    }
    SHA1_Final(inner_md, &h);
    h = c->mac[0].outer;
    SHA1_Update(&h, inner_md, sizeof inner_md);
    SHA1_Final(out, &h);
    dsrtp_wipe(&h, sizeof h);
}

/* Starts one GCM message: IV, then AAD = aad1 || aad2. */
static dsrtp_err gcm_begin(dsrtp_cipher *c, const uint8_t *iv, const uint8_t *aad1,
                           size_t aad1_len, const uint8_t *aad2, size_t aad2_len)
{
    DSRTP_CHECK(c->kind == DSRTP_CIPHER_AES_GCM, DSRTP_ERR_INVALID_ARG);
    c->failed = false;
    CRYPTO_gcm128_setiv(c->gcm, iv, DSRTP_GCM_IV_LEN);
    if (aad1_len > 0) {
        DSRTP_CHECK(CRYPTO_gcm128_aad(c->gcm, aad1, aad1_len) == 0, DSRTP_ERR_INVALID_ARG);
    }
    if (aad2_len > 0) {
        DSRTP_CHECK(CRYPTO_gcm128_aad(c->gcm, aad2, aad2_len) == 0, DSRTP_ERR_INVALID_ARG);
    }
    return DSRTP_OK;
}

dsrtp_err dsrtp_cipher_gcm_seal(dsrtp_cipher *c, const uint8_t iv[DSRTP_GCM_IV_LEN],
                                const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
                                size_t aad2_len, uint8_t *data, size_t len,
                                uint8_t tag[DSRTP_GCM_TAG_LEN])
{
    DSRTP_TRY(gcm_begin(c, iv, aad1, aad1_len, aad2, aad2_len));
    if (len > 0) {
        DSRTP_CHECK(CRYPTO_gcm128_encrypt_ctr32(c->gcm, data, data, len, gcm_ctr32) == 0,
                    DSRTP_ERR_INVALID_ARG);
    }
    CRYPTO_gcm128_tag(c->gcm, tag, DSRTP_GCM_TAG_LEN);
    DSRTP_CHECK(!c->failed, DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

dsrtp_err dsrtp_cipher_gcm_open(dsrtp_cipher *c, const uint8_t iv[DSRTP_GCM_IV_LEN],
                                const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
                                size_t aad2_len, uint8_t *data, size_t len,
                                const uint8_t tag[DSRTP_GCM_TAG_LEN])
{
    DSRTP_TRY(gcm_begin(c, iv, aad1, aad1_len, aad2, aad2_len));
    if (len > 0) {
        DSRTP_CHECK(CRYPTO_gcm128_decrypt_ctr32(c->gcm, data, data, len, gcm_ctr32) == 0,
                    DSRTP_ERR_INVALID_ARG);
    }
    /* Constant-time comparison (CRYPTO_memcmp) of the computed and the given tag. */
    int mismatch = CRYPTO_gcm128_finish(c->gcm, tag, DSRTP_GCM_TAG_LEN);
    DSRTP_CHECK(!c->failed, DSRTP_ERR_CRYPTO);
    if (mismatch == 0) {
        return DSRTP_OK;
    }
    /* Tag mismatch: the buffer now holds garbage "plaintext". GCM's data path is CTR, its
     * own inverse, so encrypting it again under the same IV restores the ciphertext and the
     * caller's buffer is left as it was given. */
    if (len > 0) {
        CRYPTO_gcm128_setiv(c->gcm, iv, DSRTP_GCM_IV_LEN);
        DSRTP_CHECK(CRYPTO_gcm128_encrypt_ctr32(c->gcm, data, data, len, gcm_ctr32) == 0,
                    DSRTP_ERR_CRYPTO);
        DSRTP_CHECK(!c->failed, DSRTP_ERR_CRYPTO);
    }
    return DSRTP_ERR_AUTH;
}

dsrtp_err dsrtp_aes_cm_keystream(const uint8_t *key, size_t key_len, const uint8_t iv[16],
                                 uint8_t *out, size_t len)
{
    /* Key derivation runs once per key, so EVP's own CTR mode is fine here. */
    const EVP_CIPHER *type = key_len == 16   ? EVP_aes_128_ctr()
                             : key_len == 32 ? EVP_aes_256_ctr()
                                             : NULL;
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
