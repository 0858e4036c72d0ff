/* Value parsers for the structured lines and attributes: addresses (c=, o=, a=rtcp),
 * a=setup, a=candidate, a=rtpmap. Each reads from a cursor over the view's private copy,
 * so the strings it returns are NUL-terminated pieces of that copy. */
#include <stdio.h>

#include "sdp/sdp_int.h"

static bool visible(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f) {
            return false;
        }
    }
    return n > 0;
}

/* Points at the writable byte of the cursor's copy that s (a token of it) starts at. */
static char *writable(sdp_cur *c, const char *s)
{
    return c->w + (s - c->w);
}

/* Accepts "/digits" or "/digits/digits" after a multicast address (RFC 8866 §5.7). */
static bool multicast_suffix(const char *s)
{
    size_t slashes = 0;
    size_t digits = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '/') {
            if (digits == 0 && i > 0) {
                return false;
            }
            slashes++;
            digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && digits < 10) {
            digits++;
        } else {
            return false;
        }
    }
    return slashes >= 1 && slashes <= 2 && digits > 0;
}

/* "IN IP4 203.0.113.1[/ttl[/n]]": the address is cut before any '/' suffix. */
dsrtp_err sdp_parse_addr(sdp_cur *c, dsrtp_sdp_addr *out)
{
    const char *net;
    const char *type;
    const char *addr;
    DSRTP_TRY(sdp_word(c, &net));
    DSRTP_TRY(sdp_word(c, &type));
    DSRTP_TRY(sdp_word(c, &addr));
    DSRTP_CHECK(sdp_is_token(net) && sdp_is_token(type) && visible(addr), DSRTP_ERR_MALFORMED);
    char *a = writable(c, addr);
    for (size_t i = 0; a[i] != '\0'; i++) {
        if (a[i] == '/') {
            DSRTP_CHECK(i > 0 && multicast_suffix(a + i), DSRTP_ERR_MALFORMED);
            a[i] = '\0';
            break;
        }
    }
    dsrtp_sdp_addr r = {DSRTP_SDP_ADDR_OTHER, addr};
    if (sdp_streq(net, "IN") && sdp_streq(type, "IP4")) {
        r.family = DSRTP_SDP_ADDR_IP4;
    } else if (sdp_streq(net, "IN") && sdp_streq(type, "IP6")) {
        r.family = DSRTP_SDP_ADDR_IP6;
    }
    *out = r;
    return DSRTP_OK;
}

dsrtp_err sdp_parse_setup(sdp_cur *c, dsrtp_sdp_setup *out)
{
    static const dsrtp_sdp_setup all[] = {DSRTP_SDP_SETUP_ACTPASS, DSRTP_SDP_SETUP_ACTIVE,
                                          DSRTP_SDP_SETUP_PASSIVE, DSRTP_SDP_SETUP_HOLDCONN};
    const char *v;
    DSRTP_TRY(sdp_word(c, &v));
    DSRTP_TRY(sdp_end(c));
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (sdp_streq(v, dsrtp_sdp_setup_name(all[i]))) {
            *out = all[i];
            return DSRTP_OK;
        }
    }
    return DSRTP_ERR_MALFORMED;
}

/* True when the next word is exactly w (nothing is consumed). */
static bool next_word_is(sdp_cur *c, const char *w)
{
    sdp_skip_ws(c);
    size_t left = dsrtp_rd_left(&c->r);
    const uint8_t *p = c->r.p + c->r.pos;
    size_t i = 0;
    for (; w[i] != '\0'; i++) {
        if (i >= left || p[i] != (uint8_t)w[i]) {
            return false;
        }
    }
    return i == left || p[i] == ' ' || p[i] == '\t';
}

static dsrtp_err u16_word(sdp_cur *c, uint16_t *out)
{
    const char *s;
    uint64_t v;
    DSRTP_TRY(sdp_word(c, &s));
    DSRTP_TRY(sdp_number(s, 65535, &v));
    *out = (uint16_t)v;
    return DSRTP_OK;
}

/* RFC 8839 §5.1: foundation component transport priority address port "typ" type
 * [raddr addr] [rport port] *(name value). */
dsrtp_err sdp_parse_candidate(sdp_cur *c, dsrtp_sdp_candidate *out, const char **why)
{
    dsrtp_sdp_candidate k = {0};
    const char *s;
    uint64_t v;
    *why = "bad a=candidate foundation";
    DSRTP_TRY(sdp_word(c, &k.foundation));
    DSRTP_CHECK(sdp_is_ice_chars(k.foundation, 1, 32), DSRTP_ERR_MALFORMED);
    *why = "bad a=candidate component";
    DSRTP_TRY(sdp_word(c, &s));
    DSRTP_TRY(sdp_number(s, 256, &v));
    DSRTP_CHECK(v >= 1, DSRTP_ERR_MALFORMED);
    k.component = (uint32_t)v;
    *why = "bad a=candidate transport";
    DSRTP_TRY(sdp_word(c, &k.transport));
    DSRTP_CHECK(sdp_is_token(k.transport), DSRTP_ERR_MALFORMED);
    *why = "bad a=candidate priority";
    DSRTP_TRY(sdp_word(c, &s));
    DSRTP_TRY(sdp_number(s, UINT32_MAX, &v));
    k.priority = (uint32_t)v;
    *why = "bad a=candidate address";
    DSRTP_TRY(sdp_word(c, &k.address));
    DSRTP_CHECK(visible(k.address), DSRTP_ERR_MALFORMED);
    *why = "bad a=candidate port";
    DSRTP_TRY(u16_word(c, &k.port));
    *why = "a=candidate without typ";
    DSRTP_CHECK(next_word_is(c, "typ"), DSRTP_ERR_MALFORMED);
    DSRTP_TRY(sdp_word(c, &s));
    DSRTP_TRY(sdp_word(c, &k.type));
    DSRTP_CHECK(sdp_is_token(k.type), DSRTP_ERR_MALFORMED);
    *why = "bad a=candidate raddr";
    if (next_word_is(c, "raddr")) {
        DSRTP_TRY(sdp_word(c, &s));
        DSRTP_TRY(sdp_word(c, &k.raddr));
        DSRTP_CHECK(visible(k.raddr), DSRTP_ERR_MALFORMED);
    }
    *why = "bad a=candidate rport";
    if (next_word_is(c, "rport")) {
        DSRTP_TRY(sdp_word(c, &s));
        DSRTP_TRY(u16_word(c, &k.rport));
        k.has_rport = true;
    }
    if (!sdp_at_end(c)) {
        DSRTP_TRY(sdp_rest(c, &k.extensions));
    }
    *out = k;
    return DSRTP_OK;
}

/* "<pt> <encoding>/<clock rate>[/<channels>]" (RFC 8866 §6.6). */
dsrtp_err sdp_parse_rtpmap(sdp_cur *c, dsrtp_sdp_rtpmap *out)
{
    dsrtp_sdp_rtpmap m = {0};
    const char *s;
    uint64_t v;
    DSRTP_TRY(sdp_word(c, &s));
    DSRTP_TRY(sdp_number(s, 127, &v));
    m.payload_type = (uint8_t)v;
    sdp_skip_ws(c);
    DSRTP_TRY(sdp_until(c, '/', &m.encoding));
    DSRTP_CHECK(sdp_is_token(m.encoding), DSRTP_ERR_MALFORMED);
    if (sdp_until(c, '/', &s) == DSRTP_OK) {
        const char *ch;
        DSRTP_TRY(sdp_word(c, &ch));
        DSRTP_TRY(sdp_number(ch, UINT32_MAX, &v));
        m.channels = (uint32_t)v;
    } else {
        DSRTP_TRY(sdp_word(c, &s));
    }
    uint64_t rate;
    DSRTP_TRY(sdp_number(s, UINT32_MAX, &rate));
    DSRTP_CHECK(rate > 0, DSRTP_ERR_MALFORMED);
    m.clock_rate = (uint32_t)rate;
    DSRTP_TRY(sdp_end(c));
    *out = m;
    return DSRTP_OK;
}

dsrtp_err sdp_format_candidate(const dsrtp_sdp_candidate *c, char *out, size_t cap)
{
    DSRTP_CHECK(c->foundation != NULL && c->transport != NULL && c->address != NULL &&
                    c->type != NULL,
                DSRTP_ERR_INVALID_ARG);
    int n = snprintf(out, cap, "%s %u %s %u %s %u typ %s", c->foundation,
                     (unsigned)c->component, c->transport, (unsigned)c->priority, c->address,
                     (unsigned)c->port, c->type);
    DSRTP_CHECK(n >= 0 && (size_t)n < cap, DSRTP_ERR_INVALID_ARG);
    size_t used = (size_t)n;
    if (c->raddr != NULL) {
        n = snprintf(out + used, cap - used, " raddr %s", c->raddr);
        DSRTP_CHECK(n >= 0 && (size_t)n < cap - used, DSRTP_ERR_INVALID_ARG);
        used += (size_t)n;
    }
    if (c->raddr != NULL || c->has_rport) {
        n = snprintf(out + used, cap - used, " rport %u", (unsigned)c->rport);
        DSRTP_CHECK(n >= 0 && (size_t)n < cap - used, DSRTP_ERR_INVALID_ARG);
        used += (size_t)n;
    }
    if (c->extensions != NULL) {
        n = snprintf(out + used, cap - used, " %s", c->extensions);
        DSRTP_CHECK(n >= 0 && (size_t)n < cap - used, DSRTP_ERR_INVALID_ARG);
    }
    return DSRTP_OK;
}
