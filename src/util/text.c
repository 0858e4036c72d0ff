/* Hex and base64 codecs for keys and fingerprints. */
#include "util/util_int.h"

static bool is_separator(char c)
{
    return c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

dsrtp_err dsrtp_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    DSRTP_CHECK(text != NULL || text_len == 0, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(out_len != NULL, DSRTP_ERR_INVALID_ARG);
    size_t n = 0;
    int hi = -1;
    /* First pass validates and counts, so a failure writes nothing. */
    for (size_t i = 0; i < text_len; i++) {
        if (is_separator(text[i])) {
            DSRTP_CHECK(hi < 0, DSRTP_ERR_MALFORMED);
            continue;
        }
        int v = dsrtp_hex_digit(text[i]);
        DSRTP_CHECK(v >= 0, DSRTP_ERR_MALFORMED);
        if (hi < 0) {
            hi = v;
        } else {
            hi = -1;
            n++;
        }
    }
    DSRTP_CHECK(hi < 0, DSRTP_ERR_MALFORMED);
    if (n > out_cap) {
        *out_len = n;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    DSRTP_CHECK(out != NULL || n == 0, DSRTP_ERR_INVALID_ARG);
    size_t k = 0;
    for (size_t i = 0; i < text_len; i++) {
        if (is_separator(text[i])) {
            continue;
        }
        int v = dsrtp_hex_digit(text[i]);
        if (hi < 0) {
            hi = v;
        } else {
            out[k++] = (uint8_t)((hi << 4) | v);
            hi = -1;
        }
    }
    *out_len = n;
    return DSRTP_OK;
}

dsrtp_err dsrtp_hex_encode(const uint8_t *in, size_t in_len, char *out, size_t out_cap)
{
    static const char digits[] = "0123456789abcdef";
    DSRTP_CHECK(out != NULL && (in != NULL || in_len == 0), DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(in_len <= (SIZE_MAX - 1) / 2 && out_cap >= 2 * in_len + 1,
                DSRTP_ERR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < in_len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * in_len] = '\0';
    return DSRTP_OK;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

dsrtp_err dsrtp_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    DSRTP_CHECK(text != NULL || text_len == 0, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(out_len != NULL, DSRTP_ERR_INVALID_ARG);
    size_t len = text_len;
    size_t pad = 0;
    while (len > 0 && text[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    for (size_t i = 0; i < len; i++) {
        DSRTP_CHECK(b64_value(text[i]) >= 0, DSRTP_ERR_MALFORMED);
    }
    /* A lone trailing character carries under one byte; padding must complete a quad. */
    DSRTP_CHECK(len % 4 != 1, DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(pad == 0 || (len + pad) % 4 == 0, DSRTP_ERR_MALFORMED);
    size_t n = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    if (n > out_cap) {
        *out_len = n;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    DSRTP_CHECK(out != NULL || n == 0, DSRTP_ERR_INVALID_ARG);
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 6) | (uint32_t)b64_value(text[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    acc = 0;
    *out_len = n;
    return DSRTP_OK;
}

dsrtp_err dsrtp_base64_encode(const uint8_t *in, size_t in_len, char *out, size_t out_cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    DSRTP_CHECK(out != NULL && (in != NULL || in_len == 0), DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(in_len <= SIZE_MAX / 2, DSRTP_ERR_INVALID_ARG);
    size_t need = (in_len + 2) / 3 * 4 + 1;
    DSRTP_CHECK(out_cap >= need, DSRTP_ERR_BUFFER_TOO_SMALL);
    size_t k = 0;
    for (size_t i = 0; i < in_len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < in_len) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        if (i + 2 < in_len) {
            v |= in[i + 2];
        }
        out[k++] = alphabet[(v >> 18) & 63];
        out[k++] = alphabet[(v >> 12) & 63];
        out[k++] = i + 1 < in_len ? alphabet[(v >> 6) & 63] : '=';
        out[k++] = i + 2 < in_len ? alphabet[v & 63] : '=';
    }
    out[k] = '\0';
    return DSRTP_OK;
}
