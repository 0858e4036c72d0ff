/* The TLS 1.2 PRF (RFC 5246 §5), through OpenSSL 3's "TLS1-PRF" KDF. A compacted endpoint
 * uses it twice: for the key block of the epoch-1 record keys (RFC 5246 §6.3) and for the
 * RFC 5705 exporter, both from the master secret the handshake left behind. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>

#include "dtls/dtls_int.h"

static const char *digest_name(dsrtp_prf_hash h)
{
    switch (h) {
    case DSRTP_PRF_SHA256: return "SHA256";
    case DSRTP_PRF_SHA384: return "SHA384";
    default: return NULL;
    }
}

/* The KDF's seed parameters concatenate, so the label and both seeds go in as three. */
static dsrtp_err derive(EVP_KDF_CTX *kctx, const char *md, const uint8_t *secret,
                        size_t secret_len, const char *label, const uint8_t *seed1,
                        size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
                        uint8_t *out, size_t out_len)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label, strlen(label)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed1, seed1_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed2, seed2_len),
        OSSL_PARAM_construct_end(),
    };
    DSRTP_CHECK(EVP_KDF_derive(kctx, out, out_len, params) == 1, DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}

dsrtp_err dsrtp_tls12_prf(dsrtp_prf_hash h, const uint8_t *secret, size_t secret_len,
                          const char *label, const uint8_t *seed1, size_t seed1_len,
                          const uint8_t *seed2, size_t seed2_len, uint8_t *out, size_t out_len)
{
    const char *md = digest_name(h);
    DSRTP_CHECK(md != NULL && secret != NULL && label != NULL && seed1 != NULL &&
                    seed2 != NULL && out != NULL && out_len > 0,
                DSRTP_ERR_INVALID_ARG);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    dsrtp_err err = DSRTP_ERR_NO_MEMORY;
    if (kctx != NULL) {
        err = derive(kctx, md, secret, secret_len, label, seed1, seed1_len, seed2, seed2_len,
                     out, out_len);
    }
    EVP_KDF_CTX_free(kctx); /* wipes the secret it copied */
    EVP_KDF_free(kdf);
    if (err != DSRTP_OK) {
        ERR_clear_error();
        dsrtp_wipe(out, out_len);
    }
    return err;
}
