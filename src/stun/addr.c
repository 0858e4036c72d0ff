/* Transport address text: "1.2.3.4:5" and "[2001:db8::1]:5". Parsing is strict (the text
 * comes from SDP candidates and config files); formatting follows RFC 5952. */
#include "stun/stun_int.h"

/* A decimal number of 1..max_digits digits without a leading zero, at most max. */
static dsrtp_err parse_decimal(const char *s, size_t n, size_t max_digits, uint32_t max,
                               uint32_t *out)
{
    uint32_t v = 0;
    DSRTP_CHECK(n >= 1 && n <= max_digits, DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(n == 1 || s[0] != '0', DSRTP_ERR_MALFORMED);
    for (size_t i = 0; i < n; i++) {
        DSRTP_CHECK(s[i] >= '0' && s[i] <= '9', DSRTP_ERR_MALFORMED);
        v = v * 10u + (uint32_t)(s[i] - '0');
    }
    DSRTP_CHECK(v <= max, DSRTP_ERR_MALFORMED);
    *out = v;
    return DSRTP_OK;
}

static dsrtp_err parse_v4(const char *s, size_t n, uint8_t ip[4])
{
    uint8_t tmp[4];
    size_t start = 0;
    for (size_t part = 0; part < 4; part++) {
        size_t end = start;
        uint32_t v;
        while (end < n && s[end] != '.') {
            end++;
        }
        /* Three dots exactly: the fourth part runs to the end. */
        DSRTP_CHECK((part < 3) == (end < n), DSRTP_ERR_MALFORMED);
        DSRTP_TRY(parse_decimal(s + start, end - start, 3, 255, &v));
        tmp[part] = (uint8_t)v;
        start = end + 1;
    }
    for (size_t i = 0; i < 4; i++) {
        ip[i] = tmp[i];
    }
    return DSRTP_OK;
}

/* RFC 4291 §2.2 text: up to eight 16-bit groups, at most one "::", and optionally a dotted
 * IPv4 address in place of the last two groups. */
static dsrtp_err parse_v6(const char *s, size_t n, uint8_t ip[16])
{
    uint16_t groups[8];
    size_t count = 0;
    size_t gap = SIZE_MAX; /* index in groups where "::" stands */
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    }
    while (i < n) {
        size_t j = i;
        while (j < n && dsrtp_hex_digit(s[j]) >= 0) {
            j++;
        }
        if (j < n && s[j] == '.') {
            /* The IPv4 tail ends the text and fills two groups. */
            uint8_t v4[4];
            DSRTP_CHECK(count + 2 <= 8, DSRTP_ERR_MALFORMED);
            DSRTP_TRY(parse_v4(s + i, n - i, v4));
            groups[count++] = (uint16_t)(v4[0] << 8 | v4[1]);
            groups[count++] = (uint16_t)(v4[2] << 8 | v4[3]);
            i = n;
            break;
        }
        DSRTP_CHECK(j > i && j - i <= 4 && count < 8, DSRTP_ERR_MALFORMED);
        uint16_t g = 0;
        for (size_t k = i; k < j; k++) {
            g = (uint16_t)(g << 4 | (uint16_t)dsrtp_hex_digit(s[k]));
        }
        groups[count++] = g;
        i = j;
        if (i == n) {
            break;
        }
        DSRTP_CHECK(s[i] == ':', DSRTP_ERR_MALFORMED);
        i++;
        if (i < n && s[i] == ':') {
            DSRTP_CHECK(gap == SIZE_MAX, DSRTP_ERR_MALFORMED);
            gap = count;
            i++;
        } else {
            DSRTP_CHECK(i < n, DSRTP_ERR_MALFORMED); /* a lone trailing ':' */
        }
    }
    if (gap == SIZE_MAX) {
        DSRTP_CHECK(count == 8, DSRTP_ERR_MALFORMED);
    } else {
        DSRTP_CHECK(count <= 7, DSRTP_ERR_MALFORMED);
    }
    /* Expand: groups before the gap, zeros, then the groups after it. */
    size_t zeros = 8 - count;
    size_t before = gap == SIZE_MAX ? count : gap;
    for (size_t k = 0, src = 0; k < 8; k++) {
        uint16_t g = 0;
        if (k < before || k >= before + zeros) {
            g = groups[src++];
        }
        ip[2 * k] = (uint8_t)(g >> 8);
        ip[2 * k + 1] = (uint8_t)g;
    }
    return DSRTP_OK;
}

dsrtp_err dsrtp_addr_parse(const char *text, size_t len, dsrtp_addr *out)
{
    dsrtp_addr a = {0};
    uint32_t port;
    size_t colon;
    DSRTP_CHECK(text != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    /* The port follows the last ':'. */
    for (colon = len; colon > 0 && text[colon - 1] != ':'; colon--) {
    }
    DSRTP_CHECK(colon >= 2, DSRTP_ERR_MALFORMED);
    colon--;
    DSRTP_TRY(parse_decimal(text + colon + 1, len - colon - 1, 5, 65535, &port));
    a.port = (uint16_t)port;
    if (text[0] == '[') {
        DSRTP_CHECK(text[colon - 1] == ']' && colon >= 3, DSRTP_ERR_MALFORMED);
        a.family = 6;
        DSRTP_TRY(parse_v6(text + 1, colon - 2, a.ip));
    } else {
        a.family = 4;
        DSRTP_TRY(parse_v4(text, colon, a.ip));
    }
    *out = a;
    return DSRTP_OK;
}

/* ---- formatting ---- */

static dsrtp_err put_char(dsrtp_wr *w, char c)
{
    return dsrtp_wr_u8(w, (uint8_t)c);
}

static dsrtp_err put_decimal(dsrtp_wr *w, unsigned v)
{
    char digits[5];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v > 0 && n < sizeof digits);
    while (n > 0) {
        DSRTP_TRY(put_char(w, digits[--n]));
    }
    return DSRTP_OK;
}

static dsrtp_err put_v4(dsrtp_wr *w, const uint8_t *ip)
{
    for (size_t i = 0; i < 4; i++) {
        if (i > 0) {
            DSRTP_TRY(put_char(w, '.'));
        }
        DSRTP_TRY(put_decimal(w, ip[i]));
    }
    return DSRTP_OK;
}

static dsrtp_err put_v6(dsrtp_wr *w, const uint8_t *ip)
{
    static const char hex[] = "0123456789abcdef";
    uint16_t g[8];
    for (size_t k = 0; k < 8; k++) {
        g[k] = (uint16_t)(ip[2 * k] << 8 | ip[2 * k + 1]);
    }
    /* RFC 5952 §5: ::ffff:0:0/96 keeps its dotted IPv4 tail. */
    if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xFFFFu) {
        static const char prefix[] = "::ffff:";
        DSRTP_TRY(dsrtp_wr_bytes(w, prefix, sizeof prefix - 1));
        return put_v4(w, ip + 12);
    }
    /* RFC 5952 §4.2: "::" replaces the longest run of two or more zero groups, the first
     * one when runs tie. */
    size_t best_at = 8;
    size_t best_len = 1;
    for (size_t k = 0; k < 8;) {
        size_t run = 0;
        while (k + run < 8 && g[k + run] == 0) {
            run++;
        }
        if (run > best_len) {
            best_at = k;
            best_len = run;
        }
        k += run > 0 ? run : 1;
    }
    for (size_t k = 0; k < 8; k++) {
        if (k == best_at) {
            DSRTP_TRY(put_char(w, ':'));
            DSRTP_TRY(put_char(w, ':'));
            k += best_len - 1;
            continue;
        }
        if (k > 0 && k != best_at + best_len) {
            DSRTP_TRY(put_char(w, ':'));
        }
        /* RFC 5952 §4.1, §4.3: lower case, no leading zeros. */
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned d = (g[k] >> shift) & 0xFu;
            if (d != 0 || started || shift == 0) {
                DSRTP_TRY(put_char(w, hex[d]));
                started = true;
            }
        }
    }
    return DSRTP_OK;
}

dsrtp_err dsrtp_addr_format(const dsrtp_addr *a, char *out, size_t cap)
{
    char tmp[DSRTP_ADDR_TEXT_MAX];
    DSRTP_CHECK(a != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(a->family == 4 || a->family == 6, DSRTP_ERR_INVALID_ARG);
    dsrtp_wr w = dsrtp_wr_make((uint8_t *)tmp, sizeof tmp);
    if (a->family == 4) {
        DSRTP_TRY(put_v4(&w, a->ip));
    } else {
        DSRTP_TRY(put_char(&w, '['));
        DSRTP_TRY(put_v6(&w, a->ip));
        DSRTP_TRY(put_char(&w, ']'));
    }
    DSRTP_TRY(put_char(&w, ':'));
    DSRTP_TRY(put_decimal(&w, a->port));
    DSRTP_TRY(put_char(&w, '\0'));
    DSRTP_CHECK(w.pos <= cap, DSRTP_ERR_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < w.pos; i++) {
        out[i] = tmp[i];
    }
    return DSRTP_OK;
}

bool dsrtp_addr_equal(const dsrtp_addr *a, const dsrtp_addr *b)
{
    if (a == NULL || b == NULL || a->family != b->family || a->port != b->port ||
        (a->family != 4 && a->family != 6)) {
        return false;
    }
    size_t n = a->family == 4 ? 4 : 16;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff |= (uint8_t)(a->ip[i] ^ b->ip[i]);
    }
    return diff == 0;
}
