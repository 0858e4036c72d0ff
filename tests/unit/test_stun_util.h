/* Helpers shared by the STUN tests: the RFC 5769 vector file and a hand assembler for
 * messages the codec itself would never write. */
#ifndef DSRTP_TEST_STUN_UTIL_H
#define DSRTP_TEST_STUN_UTIL_H

#include <ctype.h>

#include "harness/check.h"
#include "stun/stun_int.h"

/* ---- tests/vectors/stun_rfc5769.txt: "name = hex", indented lines continue ---- */

#define VEC_MAX 16
#define VEC_NAME 32
#define VEC_BYTES 256

typedef struct vec_value {
    char name[VEC_NAME];
    uint8_t bytes[VEC_BYTES];
    size_t len;
} vec_value;

typedef struct vec_file {
    vec_value v[VEC_MAX];
    size_t n;
} vec_file;

static inline bool vec_hex(vec_value *v, const char *p, int *half)
{
    for (; *p != '\0'; p++) {
        if (isspace((unsigned char)*p)) {
            continue;
        }
        if (!isxdigit((unsigned char)*p) || v->len >= VEC_BYTES) {
            return false;
        }
        int d = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
        if (*half < 0) {
            *half = d;
        } else {
            v->bytes[v->len++] = (uint8_t)(*half << 4 | d);
            *half = -1;
        }
    }
    return true;
}

static inline bool vec_load(const char *name, vec_file *f)
{
    char path[512];
    char line[256];
    int half = -1;
    snprintf(path, sizeof path, "%s/tests/vectors/%s", DSRTP_SOURCE_DIR, name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return false;
    }
    bool ok = true;
    f->n = 0;
    while (ok && fgets(line, sizeof line, fp) != NULL) {
        const char *p = line;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0' || *p == '#') {
            continue;
        }
        if (p != line) {
            ok = f->n > 0 && vec_hex(&f->v[f->n - 1], p, &half);
            continue;
        }
        const char *eq = strchr(line, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - line) : 0;
        while (nlen > 0 && isspace((unsigned char)line[nlen - 1])) {
            nlen--;
        }
        ok = eq != NULL && half < 0 && f->n < VEC_MAX && nlen > 0 && nlen < VEC_NAME;
        if (ok) {
            vec_value *v = &f->v[f->n++];
            memcpy(v->name, line, nlen);
            v->name[nlen] = '\0';
            v->len = 0;
            ok = vec_hex(v, eq + 1, &half);
        }
    }
    fclose(fp);
    if (!ok || half >= 0) {
        fprintf(stderr, "%s: malformed vector file\n", path);
        return false;
    }
    return true;
}

static inline const vec_value *vec_get(const vec_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].name, name) == 0) {
            return &f->v[i];
        }
    }
    fprintf(stderr, "vector %s missing\n", name);
    abort();
}

/* ---- a hand assembler ---- */

typedef struct raw_msg {
    uint8_t b[2048];
    size_t len;
} raw_msg;

static const uint8_t test_txid[DSRTP_STUN_TXID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static inline void raw_sync_len(raw_msg *m)
{
    dsrtp_store16(m->b + 2, (uint16_t)(m->len - DSRTP_STUN_HEADER_LEN));
}

static inline void raw_begin(raw_msg *m, uint16_t type)
{
    memset(m, 0, sizeof *m);
    dsrtp_store16(m->b, type);
    dsrtp_store32(m->b + 4, DSRTP_STUN_MAGIC_COOKIE);
    memcpy(m->b + 8, test_txid, sizeof test_txid);
    m->len = DSRTP_STUN_HEADER_LEN;
    raw_sync_len(m);
}

/* Appends a TLV with zero padding and updates the header length. */
static inline void raw_attr(raw_msg *m, uint16_t type, const void *value, size_t n)
{
    dsrtp_store16(m->b + m->len, type);
    dsrtp_store16(m->b + m->len + 2, (uint16_t)n);
    if (n > 0) {
        memcpy(m->b + m->len + 4, value, n);
    }
    m->len += dsrtp_stun_attr_size(n);
    raw_sync_len(m);
}

static inline void raw_integrity(raw_msg *m, const char *pwd)
{
    uint8_t mac[DSRTP_STUN_INTEGRITY_LEN];
    size_t at = m->len;
    dsrtp_stun_integrity(m->b, at, (const uint8_t *)pwd, strlen(pwd), mac);
    raw_attr(m, DSRTP_STUN_ATTR_MESSAGE_INTEGRITY, mac, sizeof mac);
}

static inline void raw_fingerprint(raw_msg *m)
{
    uint8_t v[4];
    size_t at = m->len;
    m->len += dsrtp_stun_attr_size(4);
    raw_sync_len(m);
    m->len = at;
    dsrtp_store32(v, dsrtp_stun_fingerprint(m->b, at));
    raw_attr(m, DSRTP_STUN_ATTR_FINGERPRINT, v, 4);
}

#endif
