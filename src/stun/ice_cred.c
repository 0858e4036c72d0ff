/* ICE credentials: the ice-char alphabet (RFC 8839 §5.4) and random generation
 * (RFC 8445 §5.3). */
#include "stun/stun_int.h"

/* 64 characters, so one random byte masked to 6 bits picks one without bias. */
static const char ice_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool is_ice_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

bool dsrtp_ice_cred_valid(const char *s, size_t n, size_t min, size_t max)
{
    if (s == NULL || n < min || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_ice_char(s[i])) {
            return false;
        }
    }
    return true;
}

size_t dsrtp_ice_cred_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0') {
        n++;
    }
    return n;
}

dsrtp_err dsrtp_ice_cred_generate(char *out, size_t n)
{
    uint8_t rnd[DSRTP_ICE_MAX_PWD];
    DSRTP_CHECK(n <= sizeof rnd, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(dsrtp_random_bytes(rnd, n));
    for (size_t i = 0; i < n; i++) {
        out[i] = ice_chars[rnd[i] & 0x3Fu];
    }
    out[n] = '\0';
    dsrtp_wipe(rnd, sizeof rnd);
    return DSRTP_OK;
}
