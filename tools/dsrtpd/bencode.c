/* Bencode parser (into a caller arena) and writer (into a caller buffer). See bencode.h for
 * the caps and the borrowing rules. The parser recurses once per container level, bounded
 * by DSRTPD_BEN_MAX_DEPTH, so the stack it needs is small and fixed. */
#include "bencode.h"

#include <string.h>

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

typedef struct ben_parser {
    const uint8_t *in;
    size_t len;
    size_t pos;
    dsrtpd_ben_node *nodes;
    size_t cap;
    size_t used;
} ben_parser;

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Reads the decimal length of a string up to ':' and the bytes after it. The length must
 * not exceed what is left of the input after the colon. */
static dsrtp_err parse_str(ben_parser *p, const uint8_t **out, size_t *out_len)
{
    size_t pos = p->pos;
    size_t n = 0;
    size_t digits = 0;
    DSRTP_CHECK(pos < p->len && is_digit(p->in[pos]), DSRTP_ERR_MALFORMED);
    /* "0" is the only length allowed to start with a zero. */
    DSRTP_CHECK(!(p->in[pos] == '0' && pos + 1 < p->len && is_digit(p->in[pos + 1])),
                DSRTP_ERR_MALFORMED);
    while (pos < p->len && is_digit(p->in[pos])) {
        size_t d = (size_t)(p->in[pos] - '0');
        /* Any length above the input size is refused anyway: stop before overflowing. */
        DSRTP_CHECK(d <= p->len && n <= (p->len - d) / 10, DSRTP_ERR_MALFORMED);
        n = n * 10 + d;
        pos++;
        digits++;
    }
    DSRTP_CHECK(digits > 0 && pos < p->len && p->in[pos] == ':', DSRTP_ERR_MALFORMED);
    pos++;
    DSRTP_CHECK(n <= p->len - pos, DSRTP_ERR_MALFORMED);
    *out = p->in + pos;
    *out_len = n;
    p->pos = pos + n;
    return DSRTP_OK;
}

/* "i" [-] digits "e": no leading zeros, no "-0", within int64. */
static dsrtp_err parse_int(ben_parser *p, int64_t *out)
{
    size_t pos = p->pos + 1; /* past 'i' */
    bool neg = false;
    uint64_t v = 0;
    size_t digits = 0;
    /* |INT64_MIN| as an unsigned magnitude; the positive limit is one less. */
    const uint64_t limit_neg = (uint64_t)INT64_MAX + 1u;
    if (pos < p->len && p->in[pos] == '-') {
        neg = true;
        pos++;
    }
    DSRTP_CHECK(pos < p->len && is_digit(p->in[pos]), DSRTP_ERR_MALFORMED);
    if (p->in[pos] == '0') {
        DSRTP_CHECK(!neg, DSRTP_ERR_MALFORMED);
        DSRTP_CHECK(pos + 1 < p->len && p->in[pos + 1] == 'e', DSRTP_ERR_MALFORMED);
    }
    while (pos < p->len && is_digit(p->in[pos])) {
        uint64_t d = (uint64_t)(p->in[pos] - '0');
        DSRTP_CHECK(digits < DSRTPD_BEN_INT_MAX_DIGITS, DSRTP_ERR_MALFORMED);
        v = v * 10 + d; /* at most 19 digits: fits uint64 */
        pos++;
        digits++;
    }
    DSRTP_CHECK(pos < p->len && p->in[pos] == 'e', DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(v <= (neg ? limit_neg : (uint64_t)INT64_MAX), DSRTP_ERR_MALFORMED);
    if (neg) {
        /* Negate in unsigned arithmetic, then convert: exact for INT64_MIN too. */
        *out = v == limit_neg ? INT64_MIN : -(int64_t)v;
    } else {
        *out = (int64_t)v;
    }
    p->pos = pos + 1;
    return DSRTP_OK;
}

static dsrtp_err parse_value(ben_parser *p, unsigned depth, dsrtpd_ben_node **out);

/* Parses the elements of a list or the entries of a dict up to the closing 'e', linking
 * them as children of parent. */
static dsrtp_err parse_children(ben_parser *p, unsigned depth, dsrtpd_ben_node *parent)
{
    bool is_dict = parent->type == DSRTPD_BEN_DICT;
    dsrtpd_ben_node *last = NULL;
    p->pos++; /* past 'l' or 'd' */
    for (;;) {
        DSRTP_CHECK(p->pos < p->len, DSRTP_ERR_MALFORMED);
        if (p->in[p->pos] == 'e') {
            p->pos++;
            return DSRTP_OK;
        }
        const uint8_t *key = NULL;
        size_t key_len = 0;
        if (is_dict) {
            /* Keys must be byte strings; any other first byte fails in parse_str. */
            DSRTP_TRY(parse_str(p, &key, &key_len));
        }
        dsrtpd_ben_node *child = NULL;
        DSRTP_TRY(parse_value(p, depth + 1, &child));
        child->key = key;
        child->key_len = key_len;
        if (last == NULL) {
            parent->child = child;
        } else {
            last->next = child;
        }
        last = child;
        parent->len++;
    }
}

static dsrtp_err parse_value(ben_parser *p, unsigned depth, dsrtpd_ben_node **out)
{
    DSRTP_CHECK(p->pos < p->len, DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(p->used < p->cap, DSRTP_ERR_MALFORMED);
    dsrtpd_ben_node *n = &p->nodes[p->used++];
    memset(n, 0, sizeof *n);
    size_t start = p->pos;
    uint8_t c = p->in[p->pos];
    if (c == 'i') {
        n->type = DSRTPD_BEN_INT;
        DSRTP_TRY(parse_int(p, &n->num));
    } else if (c == 'l' || c == 'd') {
        /* depth counts enclosing containers: the root container is depth 1. */
        DSRTP_CHECK(depth < DSRTPD_BEN_MAX_DEPTH, DSRTP_ERR_MALFORMED);
        n->type = c == 'l' ? DSRTPD_BEN_LIST : DSRTPD_BEN_DICT;
        DSRTP_TRY(parse_children(p, depth, n));
    } else {
        n->type = DSRTPD_BEN_STR;
        DSRTP_TRY(parse_str(p, &n->str, &n->len));
    }
    n->raw = p->in + start;
    n->raw_len = p->pos - start;
    *out = n;
    return DSRTP_OK;
}

dsrtp_err dsrtpd_ben_parse(const uint8_t *in, size_t len, dsrtpd_ben_node *nodes, size_t cap,
                           const dsrtpd_ben_node **root, size_t *used)
{
    DSRTP_CHECK(in != NULL || len == 0, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(nodes != NULL && cap > 0 && root != NULL, DSRTP_ERR_INVALID_ARG);
    ben_parser p = {.in = in, .len = len, .pos = 0, .nodes = nodes, .cap = cap, .used = 0};
    dsrtpd_ben_node *r = NULL;
    DSRTP_TRY(parse_value(&p, 0, &r));
    DSRTP_CHECK(p.pos == len, DSRTP_ERR_MALFORMED);
    *root = r;
    if (used != NULL) {
        *used = p.used;
    }
    return DSRTP_OK;
}

bool dsrtpd_ben_bytes_eq(const uint8_t *p, size_t len, const char *s)
{
    if (s == NULL) {
        return false;
    }
    size_t n = strlen(s);
    return n == len && (n == 0 || memcmp(p, s, n) == 0);
}

bool dsrtpd_ben_str_eq(const dsrtpd_ben_node *n, const char *s)
{
    return n != NULL && n->type == DSRTPD_BEN_STR && dsrtpd_ben_bytes_eq(n->str, n->len, s);
}

const dsrtpd_ben_node *dsrtpd_ben_dict_get(const dsrtpd_ben_node *dict, const char *key)
{
    if (dict == NULL || dict->type != DSRTPD_BEN_DICT || key == NULL) {
        return NULL;
    }
    for (const dsrtpd_ben_node *n = dict->child; n != NULL; n = n->next) {
        if (dsrtpd_ben_bytes_eq(n->key, n->key_len, key)) {
            return n;
        }
    }
    return NULL;
}

const dsrtpd_ben_node *dsrtpd_ben_dict_get_type(const dsrtpd_ben_node *dict, const char *key,
                                                dsrtpd_ben_type type)
{
    const dsrtpd_ben_node *n = dsrtpd_ben_dict_get(dict, key);
    return n != NULL && n->type == type ? n : NULL;
}

const dsrtpd_ben_node *dsrtpd_ben_first(const dsrtpd_ben_node *container)
{
    if (container == NULL ||
        (container->type != DSRTPD_BEN_LIST && container->type != DSRTPD_BEN_DICT)) {
        return NULL;
    }
    return container->child;
}

const dsrtpd_ben_node *dsrtpd_ben_next(const dsrtpd_ben_node *n)
{
    return n == NULL ? NULL : n->next;
}

/* ---- writer ---- */

void dsrtpd_ben_wr_init(dsrtpd_ben_wr *w, uint8_t *buf, size_t cap)
{
    if (w == NULL) {
        return;
    }
    w->buf = buf;
    w->cap = buf == NULL ? 0 : cap;
    w->need = 0;
    w->depth = 0;
    w->overflow = false;
    w->misuse = false;
}

void dsrtpd_ben_wr_raw(dsrtpd_ben_wr *w, const void *p, size_t n)
{
    if (w == NULL || n == 0) {
        return;
    }
    if (p == NULL) {
        w->misuse = true;
        return;
    }
    /* After an overflow keep counting, never store: the output must stay a prefix. */
    if (!w->overflow && n <= w->cap - w->need) {
        memcpy(w->buf + w->need, p, n);
    } else {
        w->overflow = true;
    }
    w->need = n <= SIZE_MAX - w->need ? w->need + n : SIZE_MAX;
}

static void wr_byte(dsrtpd_ben_wr *w, uint8_t c)
{
    dsrtpd_ben_wr_raw(w, &c, 1);
}

/* Decimal digits of an unsigned magnitude, most significant first. */
static void wr_u64(dsrtpd_ben_wr *w, uint64_t v)
{
    uint8_t tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    dsrtpd_ben_wr_raw(w, tmp + i, sizeof tmp - i);
}

void dsrtpd_ben_wr_dict(dsrtpd_ben_wr *w)
{
    if (w == NULL) {
        return;
    }
    wr_byte(w, 'd');
    w->depth++;
}

void dsrtpd_ben_wr_list(dsrtpd_ben_wr *w)
{
    if (w == NULL) {
        return;
    }
    wr_byte(w, 'l');
    w->depth++;
}

void dsrtpd_ben_wr_end(dsrtpd_ben_wr *w)
{
    if (w == NULL) {
        return;
    }
    if (w->depth == 0) {
        w->misuse = true;
        return;
    }
    wr_byte(w, 'e');
    w->depth--;
}

void dsrtpd_ben_wr_str(dsrtpd_ben_wr *w, const void *p, size_t n)
{
    if (w == NULL) {
        return;
    }
    if (p == NULL && n > 0) {
        w->misuse = true;
        return;
    }
    wr_u64(w, (uint64_t)n);
    wr_byte(w, ':');
    dsrtpd_ben_wr_raw(w, p, n);
}

void dsrtpd_ben_wr_cstr(dsrtpd_ben_wr *w, const char *s)
{
    if (s == NULL) {
        if (w != NULL) {
            w->misuse = true;
        }
        return;
    }
    dsrtpd_ben_wr_str(w, s, strlen(s));
}

void dsrtpd_ben_wr_int(dsrtpd_ben_wr *w, int64_t v)
{
    if (w == NULL) {
        return;
    }
    wr_byte(w, 'i');
    if (v < 0) {
        wr_byte(w, '-');
        /* Magnitude in unsigned arithmetic: exact for INT64_MIN. */
        wr_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        wr_u64(w, (uint64_t)v);
    }
    wr_byte(w, 'e');
}

void dsrtpd_ben_wr_kv_str(dsrtpd_ben_wr *w, const char *key, const void *p, size_t n)
{
    dsrtpd_ben_wr_cstr(w, key);
    dsrtpd_ben_wr_str(w, p, n);
}

void dsrtpd_ben_wr_kv_cstr(dsrtpd_ben_wr *w, const char *key, const char *val)
{
    dsrtpd_ben_wr_cstr(w, key);
    dsrtpd_ben_wr_cstr(w, val);
}

void dsrtpd_ben_wr_kv_int(dsrtpd_ben_wr *w, const char *key, int64_t v)
{
    dsrtpd_ben_wr_cstr(w, key);
    dsrtpd_ben_wr_int(w, v);
}

dsrtp_err dsrtpd_ben_wr_finish(const dsrtpd_ben_wr *w, size_t *out_len)
{
    DSRTP_CHECK(w != NULL && out_len != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(!w->misuse && w->depth == 0, DSRTP_ERR_INVALID_ARG);
    *out_len = w->need;
    DSRTP_CHECK(!w->overflow, DSRTP_ERR_BUFFER_TOO_SMALL);
    return DSRTP_OK;
}

/* ---- stream framing: where does the first value end? ---- */

/* Length of the token at in[pos..len) ("i...e" or "N:bytes"), without judging its contents
 * beyond what finding its end needs. BUFFER_TOO_SMALL when its end is not in the buffer. */
static dsrtp_err scan_token(const uint8_t *in, size_t len, size_t pos, size_t *tok_len)
{
    size_t i = pos;
    size_t digits = 0;
    uint64_t n = 0;
    if (in[pos] == 'i') {
        i++;
        if (i < len && in[i] == '-') {
            i++;
        }
        while (i < len && is_digit(in[i])) {
            DSRTP_CHECK(++digits <= DSRTPD_BEN_INT_MAX_DIGITS, DSRTP_ERR_MALFORMED);
            i++;
        }
        DSRTP_CHECK(i < len, DSRTP_ERR_BUFFER_TOO_SMALL);
        DSRTP_CHECK(digits > 0 && in[i] == 'e', DSRTP_ERR_MALFORMED);
        *tok_len = i + 1 - pos;
        return DSRTP_OK;
    }
    while (i < len && is_digit(in[i])) {
        DSRTP_CHECK(++digits <= DSRTPD_BEN_INT_MAX_DIGITS, DSRTP_ERR_MALFORMED);
        n = n * 10 + (uint64_t)(in[i] - '0');
        i++;
    }
    DSRTP_CHECK(i < len, DSRTP_ERR_BUFFER_TOO_SMALL);
    DSRTP_CHECK(in[i] == ':', DSRTP_ERR_MALFORMED);
    i++;
    DSRTP_CHECK(n <= len - i, DSRTP_ERR_BUFFER_TOO_SMALL);
    *tok_len = i + (size_t)n - pos;
    return DSRTP_OK;
}

dsrtp_err dsrtpd_ben_scan_feed(dsrtpd_ben_scan *s, const uint8_t *in, size_t len,
                               size_t *value_len)
{
    DSRTP_CHECK(s != NULL && value_len != NULL && (in != NULL || len == 0),
                DSRTP_ERR_INVALID_ARG);
    for (;;) {
        /* Every token takes at least one byte, so pos > 0 means the value has begun. */
        if (s->depth == 0 && s->pos > 0) {
            *value_len = s->pos;
            return DSRTP_OK;
        }
        DSRTP_CHECK(s->pos < len, DSRTP_ERR_BUFFER_TOO_SMALL);
        uint8_t c = in[s->pos];
        if (c == 'e') {
            DSRTP_CHECK(s->depth > 0, DSRTP_ERR_MALFORMED);
            s->depth--;
            s->pos++;
        } else if (c == 'd' || c == 'l') {
            DSRTP_CHECK(s->depth < DSRTPD_BEN_MAX_DEPTH, DSRTP_ERR_MALFORMED);
            s->depth++;
            s->pos++;
        } else if (c == 'i' || is_digit(c)) {
            size_t n = 0;
            DSRTP_TRY(scan_token(in, len, s->pos, &n));
            s->pos += n;
        } else {
            return DSRTP_ERR_MALFORMED;
        }
    }
}
