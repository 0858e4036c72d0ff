/* The protection profiles: names and sizes (RFC 3711 §8.2, RFC 6188, RFC 7714 §12,
 * RFC 5764 §4.1.2 for the 80-bit SRTCP tag under the _32 profiles). */
#include <string.h>

#include "srtp/srtp_int.h"

static const dsrtp_profile_info profiles[DSRTP_PROFILE_COUNT] = {
    [DSRTP_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", DSRTP_CIPHER_AES_CM, 16, 14,
                                       20, 10, 10},
    [DSRTP_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", DSRTP_CIPHER_AES_CM, 16, 14,
                                       20, 4, 10},
    [DSRTP_AES_256_CM_HMAC_SHA1_80] = {"AES_256_CM_HMAC_SHA1_80", DSRTP_CIPHER_AES_CM, 32, 14,
                                       20, 10, 10},
    [DSRTP_AES_256_CM_HMAC_SHA1_32] = {"AES_256_CM_HMAC_SHA1_32", DSRTP_CIPHER_AES_CM, 32, 14,
                                       20, 4, 10},
    [DSRTP_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", DSRTP_CIPHER_AES_GCM, 16, 12, 0, 16, 16},
    [DSRTP_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", DSRTP_CIPHER_AES_GCM, 32, 12, 0, 16, 16},
};

const dsrtp_profile_info *dsrtp_profile_info_get(dsrtp_profile p)
{
    if ((int)p <= DSRTP_PROFILE_NONE || (int)p >= DSRTP_PROFILE_COUNT) {
        return NULL;
    }
    return &profiles[p];
}

const char *dsrtp_profile_name(dsrtp_profile p)
{
    const dsrtp_profile_info *i = dsrtp_profile_info_get(p);
    return i != NULL ? i->name : "NONE";
}

dsrtp_err dsrtp_profile_from_name(const char *name, dsrtp_profile *out)
{
    DSRTP_CHECK(name != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        if (strcmp(name, profiles[p].name) == 0) {
            *out = (dsrtp_profile)p;
            return DSRTP_OK;
        }
    }
    return DSRTP_ERR_UNSUPPORTED;
}

size_t dsrtp_profile_key_len(dsrtp_profile p)
{
    const dsrtp_profile_info *i = dsrtp_profile_info_get(p);
    return i != NULL ? i->key_len : 0;
}

size_t dsrtp_profile_salt_len(dsrtp_profile p)
{
    const dsrtp_profile_info *i = dsrtp_profile_info_get(p);
    return i != NULL ? i->salt_len : 0;
}

size_t dsrtp_profile_srtp_tag_len(dsrtp_profile p)
{
    const dsrtp_profile_info *i = dsrtp_profile_info_get(p);
    return i != NULL ? i->srtp_tag_len : 0;
}

size_t dsrtp_profile_srtcp_tag_len(dsrtp_profile p)
{
    const dsrtp_profile_info *i = dsrtp_profile_info_get(p);
    return i != NULL ? i->srtcp_tag_len : 0;
}
