/* a=crypto (RFC 4568 §9.1), SRTP flavour (§6):
 *   <tag> <suite> inline:<base64 key||salt>[|<lifetime>][|<mki>:<mki length>][;inline:...]
 *   [<session params>]
 * Keys are secrets: decoding goes through a stack buffer that is wiped on every path, and
 * the decoded copies live in the view's arena, which is wiped when it is freed. */
#include <stdio.h>
#include <string.h>

#include "sdp/sdp_int.h"

/* Cuts s at the first delim (like strsep): returns the piece, advances *s past the delim, or
 * sets it to NULL when there is none. The string is our own arena copy. */
static char *split(char **s, char delim)
{
    char *piece = *s;
    for (char *p = piece; *p != '\0'; p++) {
        if (*p == delim) {
            *p = '\0';
            *s = p + 1;
            return piece;
        }
    }
    *s = NULL;
    return piece;
}

/* RFC 4568 §6.3: only WSH= is a hint we can honour by ignoring it; every other session
 * parameter (UNENCRYPTED_SRTP, KDR, FEC_ORDER, ...) changes the transform. */
static bool session_params_ok(const char *s)
{
    size_t i = 0;
    while (s[i] != '\0') {
        while (s[i] == ' ' || s[i] == '\t') {
            i++;
        }
        if (s[i] == '\0') {
            break;
        }
        if (!(s[i] == 'W' && s[i + 1] == 'S' && s[i + 2] == 'H' && s[i + 3] == '=')) {
            return false;
        }
        while (s[i] != '\0' && s[i] != ' ' && s[i] != '\t') {
            i++;
        }
    }
    return true;
}

static dsrtp_err parse_lifetime(const char *s, uint64_t *out)
{
    uint64_t v;
    if (s[0] == '2' && s[1] == '^') {
        DSRTP_TRY(sdp_number(s + 2, 63, &v));
        *out = (uint64_t)1 << v;
        return DSRTP_OK;
    }
    DSRTP_TRY(sdp_number(s, UINT64_MAX, &v));
    DSRTP_CHECK(v > 0, DSRTP_ERR_MALFORMED);
    *out = v;
    return DSRTP_OK;
}

/* "<value>:<length>": writes the value big-endian into length bytes. *fits is false (and
 * nothing is written) for a length over DSRTP_SRTP_MAX_MKI_LEN or a value over 64 bits. */
static dsrtp_err parse_mki(char *s, dsrtp_sdp_key *k, bool *fits)
{
    char *rest = s;
    char *value = split(&rest, ':');
    uint64_t len;
    uint64_t v;
    DSRTP_CHECK(rest != NULL, DSRTP_ERR_MALFORMED);
    DSRTP_TRY(sdp_number(rest, 128, &len));
    DSRTP_CHECK(len >= 1 && sdp_strnlen(rest, 3) <= 3, DSRTP_ERR_MALFORMED);
    if (sdp_number(value, UINT64_MAX, &v) != DSRTP_OK) {
        for (size_t i = 0; value[i] != '\0'; i++) {
            DSRTP_CHECK(value[i] >= '0' && value[i] <= '9', DSRTP_ERR_MALFORMED);
        }
        DSRTP_CHECK(value[0] != '\0', DSRTP_ERR_MALFORMED);
        *fits = false; /* digits, but too large for us to carry */
        return DSRTP_OK;
    }
    DSRTP_CHECK(len >= 8 || v >> (8 * len) == 0, DSRTP_ERR_MALFORMED);
    if (len > DSRTP_SRTP_MAX_MKI_LEN) {
        *fits = false;
        return DSRTP_OK;
    }
    for (size_t i = 0; i < len; i++) {
        size_t shift = 8 * (len - 1 - i);
        k->mki[i] = shift < 64 ? (uint8_t)(v >> shift) : 0;
    }
    k->mki_len = (size_t)len;
    *fits = true;
    return DSRTP_OK;
}

static dsrtp_err decode_key(const char *b64, dsrtp_profile p, dsrtp_sdp_key *k,
                            const char **why)
{
    uint8_t buf[DSRTP_SRTP_MAX_KEY_LEN + DSRTP_SRTP_MAX_SALT_LEN];
    size_t n = 0;
    size_t key_len = dsrtp_profile_key_len(p);
    size_t salt_len = dsrtp_profile_salt_len(p);
    dsrtp_err e = dsrtp_base64_decode(b64, sdp_strnlen(b64, DSRTP_SDP_MAX_LINE_LEN), buf,
                                      sizeof buf, &n);
    if (e == DSRTP_OK && n != key_len + salt_len) {
        e = DSRTP_ERR_MALFORMED;
    }
    if (e == DSRTP_OK) {
        memcpy(k->key, buf, key_len);
        memcpy(k->salt, buf + key_len, salt_len);
        k->key_len = key_len;
        k->salt_len = salt_len;
    } else {
        *why = "a=crypto key has the wrong length or bad base64";
        e = DSRTP_ERR_MALFORMED;
    }
    dsrtp_wipe(buf, sizeof buf);
    return e;
}

/* One "inline:<key>[|lifetime][|mki:len]"; *usable goes false for what we cannot carry. */
static dsrtp_err parse_key_param(char *param, dsrtp_profile p, dsrtp_sdp_key *k, bool *usable,
                                 const char **why)
{
    char *info = param;
    char *method = split(&info, ':');
    *why = "bad a=crypto key parameter";
    DSRTP_CHECK(info != NULL && method[0] != '\0', DSRTP_ERR_MALFORMED);
    if (!sdp_streq(method, "inline")) {
        *usable = false;
        return DSRTP_OK;
    }
    char *key = split(&info, '|');
    DSRTP_TRY(decode_key(key, p, k, why));
    *why = "bad a=crypto lifetime or MKI";
    for (int field = 0; info != NULL && field < 2; field++) {
        char *f = split(&info, '|');
        bool is_mki = false;
        for (size_t i = 0; f[i] != '\0'; i++) {
            is_mki = is_mki || f[i] == ':';
        }
        if (is_mki) {
            bool fits = true;
            DSRTP_TRY(parse_mki(f, k, &fits));
            *usable = *usable && fits;
            DSRTP_CHECK(info == NULL, DSRTP_ERR_MALFORMED); /* MKI is the last field */
        } else {
            DSRTP_CHECK(field == 0, DSRTP_ERR_MALFORMED); /* lifetime comes first */
            DSRTP_TRY(parse_lifetime(f, &k->lifetime));
        }
    }
    DSRTP_CHECK(info == NULL, DSRTP_ERR_MALFORMED);
    return DSRTP_OK;
}

/* out lives in a fresh arena: on failure it may be partly written, and the arena (wiped)
 * goes with the failed derivation. */
dsrtp_err sdp_parse_crypto(sdp_cur *c, dsrtp_sdp_crypto *out, const char **why)
{
    const char *s;
    const char *params;
    uint64_t tag;
    *why = "bad a=crypto tag";
    DSRTP_TRY(sdp_word(c, &s));
    DSRTP_CHECK(sdp_strnlen(s, 9) <= 9, DSRTP_ERR_MALFORMED);
    DSRTP_TRY(sdp_number(s, 999999999, &tag));
    out->tag = (uint32_t)tag;
    *why = "bad a=crypto suite";
    DSRTP_TRY(sdp_word(c, &out->suite));
    DSRTP_CHECK(sdp_is_token(out->suite), DSRTP_ERR_MALFORMED);
    *why = "a=crypto without key parameters";
    DSRTP_TRY(sdp_word(c, &params));
    if (!sdp_at_end(c)) {
        DSRTP_TRY(sdp_rest(c, &out->session_params));
    }
    out->profile = DSRTP_PROFILE_NONE;
    out->usable = false;
    out->key_count = 0;
    if (dsrtp_profile_from_name(out->suite, &out->profile) != DSRTP_OK) {
        out->profile = DSRTP_PROFILE_NONE;
        return DSRTP_OK; /* kept, flagged: a suite we do not implement */
    }
    bool usable = out->session_params == NULL || session_params_ok(out->session_params);
    char *rest = c->w + (params - c->w);
    size_t n = 0;
    while (rest != NULL) {
        char *param = split(&rest, ';');
        *why = "too many a=crypto key parameters";
        DSRTP_CHECK(n < DSRTP_SDP_MAX_KEY_PARAMS, DSRTP_ERR_MALFORMED);
        DSRTP_TRY(parse_key_param(param, out->profile, &out->keys[n], &usable, why));
        n++;
    }
    if (!usable) {
        dsrtp_wipe(out->keys, sizeof out->keys);
        return DSRTP_OK;
    }
    /* RFC 4568 §6.1: with several keys, every one carries an MKI of the same length. */
    for (size_t i = 1; i < n; i++) {
        *why = "several a=crypto keys need MKIs of one length";
        DSRTP_CHECK(out->keys[i].mki_len == out->keys[0].mki_len && out->keys[0].mki_len > 0,
                    DSRTP_ERR_MALFORMED);
    }
    out->usable = true;
    out->key_count = n;
    return DSRTP_OK;
}

static dsrtp_err append(char *out, size_t cap, size_t *used, const char *text)
{
    size_t n = sdp_strnlen(text, cap);
    DSRTP_CHECK(n < cap - *used, DSRTP_ERR_INVALID_ARG);
    memcpy(out + *used, text, n + 1);
    *used += n;
    return DSRTP_OK;
}

static dsrtp_err append_key(const dsrtp_sdp_key *k, dsrtp_profile p, char *out, size_t cap,
                            size_t *used)
{
    size_t key_len = dsrtp_profile_key_len(p);
    size_t salt_len = dsrtp_profile_salt_len(p);
    DSRTP_CHECK(k->key_len == key_len && k->salt_len == salt_len &&
                    k->mki_len <= DSRTP_SRTP_MAX_MKI_LEN,
                DSRTP_ERR_INVALID_ARG);
    uint8_t raw[DSRTP_SRTP_MAX_KEY_LEN + DSRTP_SRTP_MAX_SALT_LEN];
    char b64[4 * ((sizeof raw + 2) / 3) + 1];
    char num[48];
    memcpy(raw, k->key, key_len);
    memcpy(raw + key_len, k->salt, salt_len);
    dsrtp_err e = dsrtp_base64_encode(raw, key_len + salt_len, b64, sizeof b64);
    if (e == DSRTP_OK) {
        e = append(out, cap, used, "inline:");
    }
    if (e == DSRTP_OK) {
        e = append(out, cap, used, b64);
    }
    if (e == DSRTP_OK && k->lifetime != 0) {
        unsigned bits = 0;
        while (bits < 63 && ((uint64_t)1 << bits) < k->lifetime) {
            bits++;
        }
        if (((uint64_t)1 << bits) == k->lifetime) {
            snprintf(num, sizeof num, "|2^%u", bits);
        } else {
            snprintf(num, sizeof num, "|%llu", (unsigned long long)k->lifetime);
        }
        e = append(out, cap, used, num);
    }
    if (e == DSRTP_OK && k->mki_len > 0) {
        uint64_t v = 0;
        for (size_t i = 0; i < k->mki_len; i++) {
            /* Only values that fit 64 bits can be written in decimal here. */
            if (i + 8 < k->mki_len && k->mki[i] != 0) {
                e = DSRTP_ERR_INVALID_ARG;
            }
            v = (v << 8) | k->mki[i];
        }
        snprintf(num, sizeof num, "|%llu:%zu", (unsigned long long)v, k->mki_len);
        if (e == DSRTP_OK) {
            e = append(out, cap, used, num);
        }
    }
    dsrtp_wipe(raw, sizeof raw);
    dsrtp_wipe(b64, sizeof b64);
    return e;
}

dsrtp_err sdp_format_crypto(const dsrtp_sdp_crypto *c, char *out, size_t cap)
{
    DSRTP_CHECK(c->profile > DSRTP_PROFILE_NONE && c->profile < DSRTP_PROFILE_COUNT &&
                    c->key_count >= 1 && c->key_count <= DSRTP_SDP_MAX_KEY_PARAMS &&
                    c->tag <= 999999999 && cap > 0,
                DSRTP_ERR_INVALID_ARG);
    int n = snprintf(out, cap, "%u %s ", (unsigned)c->tag, dsrtp_profile_name(c->profile));
    DSRTP_CHECK(n > 0 && (size_t)n < cap, DSRTP_ERR_INVALID_ARG);
    size_t used = (size_t)n;
    for (size_t i = 0; i < c->key_count; i++) {
        if (i > 0) {
            DSRTP_TRY(append(out, cap, &used, ";"));
        }
        DSRTP_TRY(append_key(&c->keys[i], c->profile, out, cap, &used));
    }
    if (c->session_params != NULL) {
        DSRTP_TRY(append(out, cap, &used, " "));
        DSRTP_TRY(append(out, cap, &used, c->session_params));
    }
    return DSRTP_OK;
}
