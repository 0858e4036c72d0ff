/* util: the shared bottom layer. Bounds-checked byte cursors for untrusted input, big-endian
 * loads and stores, the two control-flow macros, constant-time compare and wiping.
 * Invariants: a failed read never moves a cursor; bounds are checked against what is left
 * (n <= len - pos), never by adding to pos. */
#ifndef DSRTP_UTIL_INT_H
#define DSRTP_UTIL_INT_H

#include <dsrtp/dsrtp.h>
#include <dsrtp/util.h>

#define DSRTP_TRY(expr)                                                                    \
    do {                                                                                   \
        dsrtp_err try_err_ = (expr);                                                       \
        if (try_err_ != DSRTP_OK) {                                                        \
            return try_err_;                                                               \
        }                                                                                  \
    } while (0)
#define DSRTP_CHECK(cond, err)                                                             \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            return (err);                                                                  \
        }                                                                                  \
    } while (0)

static inline uint16_t dsrtp_load16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}
static inline uint32_t dsrtp_load32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void dsrtp_store16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void dsrtp_store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The value of one hex digit (either case), or -1. */
static inline int dsrtp_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Read cursor over untrusted bytes. */
typedef struct dsrtp_rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
} dsrtp_rd;

static inline dsrtp_rd dsrtp_rd_make(const uint8_t *p, size_t len)
{
    dsrtp_rd r = {p, len, 0};
    return r;
}
static inline size_t dsrtp_rd_left(const dsrtp_rd *r)
{
    return r->len - r->pos;
}
static inline dsrtp_err dsrtp_rd_u8(dsrtp_rd *r, uint8_t *v)
{
    DSRTP_CHECK(r->len - r->pos >= 1, DSRTP_ERR_MALFORMED);
    *v = r->p[r->pos];
    r->pos += 1;
    return DSRTP_OK;
}
static inline dsrtp_err dsrtp_rd_u16(dsrtp_rd *r, uint16_t *v)
{
    DSRTP_CHECK(r->len - r->pos >= 2, DSRTP_ERR_MALFORMED);
    *v = dsrtp_load16(r->p + r->pos);
    r->pos += 2;
    return DSRTP_OK;
}
static inline dsrtp_err dsrtp_rd_u32(dsrtp_rd *r, uint32_t *v)
{
    DSRTP_CHECK(r->len - r->pos >= 4, DSRTP_ERR_MALFORMED);
    *v = dsrtp_load32(r->p + r->pos);
    r->pos += 4;
    return DSRTP_OK;
}
/* Zero-copy view of the next n bytes. */
static inline dsrtp_err dsrtp_rd_take(dsrtp_rd *r, size_t n, const uint8_t **out)
{
    DSRTP_CHECK(n <= r->len - r->pos, DSRTP_ERR_MALFORMED);
    *out = r->p + r->pos;
    r->pos += n;
    return DSRTP_OK;
}
static inline dsrtp_err dsrtp_rd_skip(dsrtp_rd *r, size_t n)
{
    DSRTP_CHECK(n <= r->len - r->pos, DSRTP_ERR_MALFORMED);
    r->pos += n;
    return DSRTP_OK;
}
/* A child cursor over the next n bytes (a length-prefixed block). */
static inline dsrtp_err dsrtp_rd_sub(dsrtp_rd *r, size_t n, dsrtp_rd *child)
{
    const uint8_t *p;
    DSRTP_TRY(dsrtp_rd_take(r, n, &p));
    *child = dsrtp_rd_make(p, n);
    return DSRTP_OK;
}
/* Fails unless the cursor was consumed exactly. */
static inline dsrtp_err dsrtp_rd_end(const dsrtp_rd *r)
{
    DSRTP_CHECK(r->pos == r->len, DSRTP_ERR_MALFORMED);
    return DSRTP_OK;
}

/* Write cursor into a caller buffer. */
typedef struct dsrtp_wr {
    uint8_t *p;
    size_t cap;
    size_t pos;
} dsrtp_wr;

static inline dsrtp_wr dsrtp_wr_make(uint8_t *p, size_t cap)
{
    dsrtp_wr w = {p, cap, 0};
    return w;
}
static inline dsrtp_err dsrtp_wr_bytes(dsrtp_wr *w, const void *src, size_t n)
{
    DSRTP_CHECK(n <= w->cap - w->pos, DSRTP_ERR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < n; i++) {
        w->p[w->pos + i] = ((const uint8_t *)src)[i];
    }
    w->pos += n;
    return DSRTP_OK;
}
static inline dsrtp_err dsrtp_wr_u8(dsrtp_wr *w, uint8_t v)
{
    return dsrtp_wr_bytes(w, &v, 1);
}
static inline dsrtp_err dsrtp_wr_u16(dsrtp_wr *w, uint16_t v)
{
    uint8_t b[2];
    dsrtp_store16(b, v);
    return dsrtp_wr_bytes(w, b, 2);
}
static inline dsrtp_err dsrtp_wr_u32(dsrtp_wr *w, uint32_t v)
{
    uint8_t b[4];
    dsrtp_store32(b, v);
    return dsrtp_wr_bytes(w, b, 4);
}

/* Internal spellings of the public helpers. */
#define dsrtp_ct_eq dsrtp_ct_equal
#define dsrtp_wipe dsrtp_secure_wipe

#endif
