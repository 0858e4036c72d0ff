/* The SDP lexer: a cursor over a private copy of one line's value that hands out
 * NUL-terminated tokens by overwriting the separator that ends each one. The copy lives in
 * the view's arena, so the tokens stay valid as long as the view. */
#include "sdp/sdp_int.h"

sdp_cur sdp_cur_make(char *text, size_t len)
{
    sdp_cur c;
    c.r = dsrtp_rd_make((const uint8_t *)text, len);
    c.w = text;
    return c;
}

static bool is_blank(uint8_t b)
{
    return b == ' ' || b == '\t';
}

/* The next byte without consuming it; -1 at the end. */
static int peek(const sdp_cur *c)
{
    return dsrtp_rd_left(&c->r) > 0 ? c->r.p[c->r.pos] : -1;
}

/* Ends the token just read: the byte at the cursor (a separator, or the copy's own NUL at
 * the end) becomes NUL and is consumed. */
static void cut(sdp_cur *c)
{
    if (dsrtp_rd_left(&c->r) > 0) {
        c->w[c->r.pos] = '\0';
        c->r.pos++;
    }
}

void sdp_skip_ws(sdp_cur *c)
{
    int b;
    while ((b = peek(c)) >= 0 && is_blank((uint8_t)b)) {
        c->r.pos++;
    }
}

bool sdp_at_end(sdp_cur *c)
{
    sdp_skip_ws(c);
    return dsrtp_rd_left(&c->r) == 0;
}

dsrtp_err sdp_word(sdp_cur *c, const char **out)
{
    sdp_skip_ws(c);
    size_t start = c->r.pos;
    int b;
    while ((b = peek(c)) >= 0 && !is_blank((uint8_t)b)) {
        c->r.pos++;
    }
    DSRTP_CHECK(c->r.pos > start, DSRTP_ERR_MALFORMED);
    cut(c);
    *out = c->w + start;
    return DSRTP_OK;
}

dsrtp_err sdp_until(sdp_cur *c, char delim, const char **out)
{
    size_t start = c->r.pos;
    int b;
    while ((b = peek(c)) >= 0 && b != (uint8_t)delim) {
        if (is_blank((uint8_t)b)) {
            c->r.pos = start;
            return DSRTP_ERR_MALFORMED;
        }
        c->r.pos++;
    }
    if (b < 0 || c->r.pos == start) {
        c->r.pos = start;
        return DSRTP_ERR_MALFORMED;
    }
    cut(c);
    *out = c->w + start;
    return DSRTP_OK;
}

dsrtp_err sdp_rest(sdp_cur *c, const char **out)
{
    sdp_skip_ws(c);
    size_t start = c->r.pos;
    size_t end = c->r.len;
    while (end > start && is_blank(c->r.p[end - 1])) {
        end--;
    }
    DSRTP_CHECK(end > start, DSRTP_ERR_MALFORMED);
    c->w[end] = '\0';
    c->r.pos = c->r.len;
    *out = c->w + start;
    return DSRTP_OK;
}

dsrtp_err sdp_end(sdp_cur *c)
{
    DSRTP_CHECK(sdp_at_end(c), DSRTP_ERR_MALFORMED);
    return DSRTP_OK;
}

dsrtp_err sdp_number(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        DSRTP_CHECK(s[n] >= '0' && s[n] <= '9' && n < 20, DSRTP_ERR_MALFORMED);
        uint64_t d = (uint64_t)(s[n] - '0');
        DSRTP_CHECK(v <= (UINT64_MAX - d) / 10, DSRTP_ERR_MALFORMED);
        v = v * 10 + d;
    }
    DSRTP_CHECK(n > 0 && v <= max, DSRTP_ERR_MALFORMED);
    *out = v;
    return DSRTP_OK;
}

/* RFC 8866 §9: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E */
static bool token_char(unsigned char ch)
{
    return ch == 0x21 || (ch >= 0x23 && ch <= 0x27) || ch == 0x2a || ch == 0x2b || ch == 0x2d ||
           ch == 0x2e || (ch >= 0x30 && ch <= 0x39) || (ch >= 0x41 && ch <= 0x5a) ||
           (ch >= 0x5e && ch <= 0x7e);
}

static bool alnum(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

bool sdp_is_token(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (!token_char((unsigned char)s[n])) {
            return false;
        }
    }
    return n > 0;
}

bool sdp_is_ice_chars(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (n >= max || !(alnum(ch) || ch == '+' || ch == '/')) {
            return false;
        }
    }
    return n >= min;
}

bool sdp_is_tls_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (n >= 255 || !(alnum(ch) || ch == '+' || ch == '/' || ch == '-' || ch == '_')) {
            return false;
        }
    }
    return n >= 20;
}

bool sdp_streq(const char *a, const char *b)
{
    size_t i = 0;
    for (; a[i] != '\0' && a[i] == b[i]; i++) {
    }
    return a[i] == b[i];
}

size_t sdp_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0') {
        n++;
    }
    return n;
}
