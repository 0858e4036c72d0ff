/* Certificate fingerprints as SDP carries them (RFC 8122 §5): "sha-256 AB:CD:...". */
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "dtls/dtls_int.h"

static const struct {
    dsrtp_hash hash;
    const char *name;
    size_t len;
} hashes[] = {
    {DSRTP_HASH_SHA1, "sha-1", 20},     {DSRTP_HASH_SHA224, "sha-224", 28},
    {DSRTP_HASH_SHA256, "sha-256", 32}, {DSRTP_HASH_SHA384, "sha-384", 48},
    {DSRTP_HASH_SHA512, "sha-512", 64},
};
#define HASH_COUNT (sizeof hashes / sizeof hashes[0])

const char *dsrtp_hash_name(dsrtp_hash h)
{
    for (size_t i = 0; i < HASH_COUNT; i++) {
        if (hashes[i].hash == h) {
            return hashes[i].name;
        }
    }
    return "none";
}

const EVP_MD *dsrtp_hash_md(dsrtp_hash h)
{
    switch (h) {
    case DSRTP_HASH_SHA1: return EVP_sha1();
    case DSRTP_HASH_SHA224: return EVP_sha224();
    case DSRTP_HASH_SHA256: return EVP_sha256();
    case DSRTP_HASH_SHA384: return EVP_sha384();
    case DSRTP_HASH_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

dsrtp_err dsrtp_x509_fingerprint(X509 *x, dsrtp_hash h, dsrtp_fingerprint *out)
{
    const EVP_MD *md = dsrtp_hash_md(h);
    DSRTP_CHECK(x != NULL && md != NULL, DSRTP_ERR_INVALID_ARG);
    unsigned int n = 0;
    dsrtp_fingerprint fp = {0};
    DSRTP_CHECK(X509_digest(x, md, fp.value, &n) == 1, DSRTP_ERR_CRYPTO);
    fp.hash = h;
    fp.len = n;
    *out = fp;
    return DSRTP_OK;
}

dsrtp_err dsrtp_fingerprint_parse(const char *text, size_t len, dsrtp_fingerprint *out)
{
    DSRTP_CHECK(text != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    size_t pos = 0;
    while (pos < len && (text[pos] == ' ' || text[pos] == '\t')) {
        pos++;
    }
    size_t name_start = pos;
    while (pos < len && text[pos] != ' ' && text[pos] != '\t') {
        pos++;
    }
    size_t name_len = pos - name_start;
    DSRTP_CHECK(name_len > 0 && pos < len, DSRTP_ERR_MALFORMED);
    while (pos < len && (text[pos] == ' ' || text[pos] == '\t')) {
        pos++;
    }
    size_t end = len;
    while (end > pos && (text[end - 1] == ' ' || text[end - 1] == '\t' ||
                         text[end - 1] == '\r' || text[end - 1] == '\n')) {
        end--;
    }
    for (size_t i = 0; i < HASH_COUNT; i++) {
        if (strlen(hashes[i].name) != name_len ||
            strncasecmp(hashes[i].name, text + name_start, name_len) != 0) {
            continue;
        }
        /* Strictly "XX:XX:...": pairs of hex digits separated by single colons. */
        size_t hex_len = end - pos;
        DSRTP_CHECK(hex_len == hashes[i].len * 3 - 1, DSRTP_ERR_MALFORMED);
        for (size_t k = 2; k < hex_len; k += 3) {
            DSRTP_CHECK(text[pos + k] == ':', DSRTP_ERR_MALFORMED);
        }
        dsrtp_fingerprint fp = {0};
        size_t n = 0;
        DSRTP_TRY(dsrtp_hex_decode(text + pos, hex_len, fp.value, sizeof fp.value, &n));
        DSRTP_CHECK(n == hashes[i].len, DSRTP_ERR_MALFORMED);
        fp.hash = hashes[i].hash;
        fp.len = n;
        *out = fp;
        return DSRTP_OK;
    }
    return DSRTP_ERR_UNSUPPORTED;
}

dsrtp_err dsrtp_fingerprint_format(const dsrtp_fingerprint *fp, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    DSRTP_CHECK(fp != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    const char *name = dsrtp_hash_name(fp->hash);
    DSRTP_CHECK(fp->hash != DSRTP_HASH_NONE && fp->len > 0 &&
                    fp->len <= DSRTP_FINGERPRINT_MAX_LEN,
                DSRTP_ERR_INVALID_ARG);
    size_t name_len = strlen(name);
    size_t need = name_len + 1 + fp->len * 3; /* pairs, colons, NUL */
    DSRTP_CHECK(cap >= need, DSRTP_ERR_BUFFER_TOO_SMALL);
    size_t k = 0;
    for (size_t i = 0; i < name_len; i++) {
        out[k++] = name[i];
    }
    out[k++] = ' ';
    for (size_t i = 0; i < fp->len; i++) {
        if (i > 0) {
            out[k++] = ':';
        }
        out[k++] = digits[fp->value[i] >> 4];
        out[k++] = digits[fp->value[i] & 15];
    }
    out[k] = '\0';
    return DSRTP_OK;
}

dsrtp_err dsrtp_fp_table_fill(X509 *x, uint8_t *table, size_t table_len)
{
    size_t at = 0;
    for (size_t i = 0; i < HASH_COUNT; i++) {
        DSRTP_CHECK(hashes[i].len <= table_len - at, DSRTP_ERR_INTERNAL);
        dsrtp_fingerprint fp;
        DSRTP_TRY(dsrtp_x509_fingerprint(x, hashes[i].hash, &fp));
        DSRTP_CHECK(fp.len == hashes[i].len, DSRTP_ERR_CRYPTO);
        memcpy(table + at, fp.value, fp.len);
        at += fp.len;
    }
    DSRTP_CHECK(at == table_len, DSRTP_ERR_INTERNAL);
    return DSRTP_OK;
}

dsrtp_err dsrtp_fp_table_get(const uint8_t *table, size_t table_len, dsrtp_hash h,
                             dsrtp_fingerprint *out)
{
    size_t at = 0;
    for (size_t i = 0; i < HASH_COUNT; i++) {
        DSRTP_CHECK(hashes[i].len <= table_len - at, DSRTP_ERR_INTERNAL);
        if (hashes[i].hash == h) {
            dsrtp_fingerprint fp = {.hash = h, .len = hashes[i].len};
            memcpy(fp.value, table + at, fp.len);
            *out = fp;
            return DSRTP_OK;
        }
        at += hashes[i].len;
    }
    return DSRTP_ERR_INVALID_ARG;
}
