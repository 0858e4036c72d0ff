/* Constant-time comparison, wiping and randomness: the secret-handling primitives. */
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/util_int.h"

bool dsrtp_ct_equal(const void *a, const void *b, size_t n)
{
    /* CRYPTO_memcmp runs in time that depends on n only. */
    return CRYPTO_memcmp(a, b, n) == 0;
}

void dsrtp_secure_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}

dsrtp_err dsrtp_random_bytes(void *p, size_t n)
{
    DSRTP_CHECK(n <= INT32_MAX, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(RAND_bytes(p, (int)n) == 1, DSRTP_ERR_CRYPTO);
    return DSRTP_OK;
}
