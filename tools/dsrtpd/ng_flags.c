/* ng option values: transport, ICE, DTLS, SDES, rtcp-mux, replace, direction, flags, and
 * the rtpp-flags string form that maps onto the same appliers. */
#include "ng_int.h"

#include <string.h>

#define NG_MAX_SUITE_NAME 40     /* longer than any SDES suite name we know */
#define NG_MAX_BRACKET_DEPTH 8   /* nesting inside one rtpp-flags value */

static bool is_sep(uint8_t c)
{
    return c == ' ' || c == '-' || c == '_';
}

bool ng_name_eq(const uint8_t *p, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (n != len) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t a = p[i];
        uint8_t b = (uint8_t)name[i];
        if (a != b && !(is_sep(a) && is_sep(b))) {
            return false;
        }
    }
    return true;
}

/* If (p, len) starts with prefix (separators interchangeable), returns true and the rest. */
static bool ng_prefix(const uint8_t *p, size_t len, const char *prefix, const uint8_t **rest,
                      size_t *rest_len)
{
    size_t n = strlen(prefix);
    if (len < n || !ng_name_eq(p, n, prefix)) {
        return false;
    }
    *rest = p + n;
    *rest_len = len - n;
    return true;
}

void ng_warn(dsrtpd_ng_msg *msg, const char *what, const uint8_t *p, size_t len)
{
    if (msg->n_warnings >= DSRTPD_NG_MAX_WARNINGS) {
        msg->warnings_dropped++;
        return;
    }
    dsrtpd_ng_warning *w = &msg->warnings[msg->n_warnings++];
    w->what = what;
    w->item.p = len > 0 ? p : NULL;
    w->item.len = len;
}

typedef struct ng_name_bit {
    const char *name;
    uint32_t bit;
} ng_name_bit;

static bool lookup_bit(const ng_name_bit *table, size_t n, const uint8_t *v, size_t len,
                       uint32_t *bit)
{
    for (size_t i = 0; i < n; i++) {
        if (ng_name_eq(v, len, table[i].name)) {
            *bit = table[i].bit;
            return true;
        }
    }
    return false;
}

/* Transport names are matched exactly: '/' is not a separator and case matters in SDP. */
static const struct {
    const char *name;
    dsrtpd_ng_proto proto;
} ng_protos[] = {
    {"RTP/AVP", DSRTPD_NG_PROTO_RTP_AVP},
    {"RTP/SAVP", DSRTPD_NG_PROTO_RTP_SAVP},
    {"RTP/AVPF", DSRTPD_NG_PROTO_RTP_AVPF},
    {"RTP/SAVPF", DSRTPD_NG_PROTO_RTP_SAVPF},
    {"UDP/TLS/RTP/SAVP", DSRTPD_NG_PROTO_UDP_TLS_RTP_SAVP},
    {"UDP/TLS/RTP/SAVPF", DSRTPD_NG_PROTO_UDP_TLS_RTP_SAVPF},
};

static bool proto_lookup(const uint8_t *v, size_t len, dsrtpd_ng_proto *out)
{
    for (size_t i = 0; i < sizeof ng_protos / sizeof ng_protos[0]; i++) {
        if (dsrtpd_ben_bytes_eq(v, len, ng_protos[i].name)) {
            *out = ng_protos[i].proto;
            return true;
        }
    }
    return false;
}

const char *dsrtpd_ng_proto_name(dsrtpd_ng_proto p)
{
    for (size_t i = 0; i < sizeof ng_protos / sizeof ng_protos[0]; i++) {
        if (ng_protos[i].proto == p) {
            return ng_protos[i].name;
        }
    }
    return "";
}

void ng_opt_transport(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    dsrtpd_ng_proto p;
    if (proto_lookup(v, len, &p)) {
        msg->transport = p;
    } else {
        ng_warn(msg, "unknown transport-protocol", v, len);
    }
}

void ng_opt_ice(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    if (ng_name_eq(v, len, "force")) {
        msg->ice = DSRTPD_NG_ICE_FORCE;
    } else if (ng_name_eq(v, len, "remove")) {
        msg->ice = DSRTPD_NG_ICE_REMOVE;
    } else if (ng_name_eq(v, len, "default")) {
        msg->ice = DSRTPD_NG_ICE_DEFAULT;
    } else {
        ng_warn(msg, "unsupported ICE option", v, len);
    }
}

void ng_opt_dtls(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    if (ng_name_eq(v, len, "off") || ng_name_eq(v, len, "no") ||
        ng_name_eq(v, len, "disable")) {
        msg->dtls = DSRTPD_NG_DTLS_OFF;
    } else if (ng_name_eq(v, len, "passive")) {
        msg->dtls = DSRTPD_NG_DTLS_PASSIVE;
    } else if (ng_name_eq(v, len, "active")) {
        msg->dtls = DSRTPD_NG_DTLS_ACTIVE;
    } else {
        ng_warn(msg, "unsupported DTLS option", v, len);
    }
}

/* Suite names are the IANA spellings with underscores, so they are compared exactly
 * through the library's own table (which needs a NUL-terminated copy). */
static bool suite_bit(const uint8_t *v, size_t len, uint32_t *bit)
{
    char name[NG_MAX_SUITE_NAME + 1];
    dsrtp_profile prof = DSRTP_PROFILE_NONE;
    if (len == 0 || len > NG_MAX_SUITE_NAME || memchr(v, '\0', len) != NULL) {
        return false;
    }
    memcpy(name, v, len);
    name[len] = '\0';
    if (dsrtp_profile_from_name(name, &prof) != DSRTP_OK || prof == DSRTP_PROFILE_NONE ||
        prof >= DSRTP_PROFILE_COUNT) {
        return false;
    }
    *bit = 1u << (unsigned)prof;
    return true;
}

void ng_opt_sdes(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    const uint8_t *rest = NULL;
    size_t rest_len = 0;
    uint32_t bit = 0;
    if (ng_name_eq(v, len, "off") || ng_name_eq(v, len, "no") ||
        ng_name_eq(v, len, "disable")) {
        msg->sdes_off = true;
    } else if (ng_prefix(v, len, "no-", &rest, &rest_len)) {
        if (suite_bit(rest, rest_len, &bit)) {
            msg->sdes_no |= bit;
        } else {
            ng_warn(msg, "unknown SDES suite", v, len);
        }
    } else if (ng_prefix(v, len, "only-", &rest, &rest_len)) {
        if (suite_bit(rest, rest_len, &bit)) {
            msg->sdes_only |= bit;
        } else {
            ng_warn(msg, "unknown SDES suite", v, len);
        }
    } else {
        ng_warn(msg, "unsupported SDES option", v, len);
    }
}

static const ng_name_bit ng_rtcp_mux[] = {
    {"offer", DSRTPD_NG_RTCPMUX_OFFER},   {"require", DSRTPD_NG_RTCPMUX_REQUIRE},
    {"demux", DSRTPD_NG_RTCPMUX_DEMUX},   {"accept", DSRTPD_NG_RTCPMUX_ACCEPT},
    {"reject", DSRTPD_NG_RTCPMUX_REJECT},
};

void ng_opt_rtcp_mux(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    uint32_t bit = 0;
    if (lookup_bit(ng_rtcp_mux, sizeof ng_rtcp_mux / sizeof ng_rtcp_mux[0], v, len, &bit)) {
        msg->rtcp_mux |= bit;
    } else {
        ng_warn(msg, "unknown rtcp-mux option", v, len);
    }
}

static const ng_name_bit ng_replace[] = {
    {"origin", DSRTPD_NG_REPLACE_ORIGIN},
    {"session-connection", DSRTPD_NG_REPLACE_SESSION_CONNECTION},
    {"sdp-version", DSRTPD_NG_REPLACE_SDP_VERSION},
    {"username", DSRTPD_NG_REPLACE_USERNAME},
    {"session-name", DSRTPD_NG_REPLACE_SESSION_NAME},
};

void ng_opt_replace(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    uint32_t bit = 0;
    if (lookup_bit(ng_replace, sizeof ng_replace / sizeof ng_replace[0], v, len, &bit)) {
        msg->replace |= bit;
    } else {
        ng_warn(msg, "unknown replace option", v, len);
    }
}

void ng_opt_direction(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    if (len == 0) {
        ng_warn(msg, "empty direction", NULL, 0);
    } else if (msg->n_direction >= DSRTPD_NG_MAX_DIRECTIONS) {
        ng_warn(msg, "too many directions, ignored", v, len);
    } else {
        msg->direction[msg->n_direction].p = v;
        msg->direction[msg->n_direction].len = len;
        msg->n_direction++;
    }
}

static const ng_name_bit ng_flags[] = {
    {"trust-address", DSRTPD_NG_FLAG_TRUST_ADDRESS},
    {"symmetric", DSRTPD_NG_FLAG_SYMMETRIC},
    {"asymmetric", DSRTPD_NG_FLAG_ASYMMETRIC},
    {"loop-protect", DSRTPD_NG_FLAG_LOOP_PROTECT},
    {"strict-source", DSRTPD_NG_FLAG_STRICT_SOURCE},
    {"media-handover", DSRTPD_NG_FLAG_MEDIA_HANDOVER},
    {"port-latching", DSRTPD_NG_FLAG_PORT_LATCHING},
    {"no-port-latching", DSRTPD_NG_FLAG_NO_PORT_LATCHING},
    {"generate-mid", DSRTPD_NG_FLAG_GENERATE_MID},
    {"strip-extmap", DSRTPD_NG_FLAG_STRIP_EXTMAP},
    {"SIP-source-address", DSRTPD_NG_FLAG_SIP_SOURCE_ADDRESS},
    {"record-call", DSRTPD_NG_FLAG_RECORD_CALL},
    {"all", DSRTPD_NG_FLAG_ALL},
    {"fragment", DSRTPD_NG_FLAG_FRAGMENT},
    {"reset", DSRTPD_NG_FLAG_RESET},
    {"no-rtcp-attribute", DSRTPD_NG_FLAG_NO_RTCP_ATTRIBUTE},
    {"full-rtcp-attribute", DSRTPD_NG_FLAG_FULL_RTCP_ATTRIBUTE},
    {"trickle-ICE", DSRTPD_NG_FLAG_TRICKLE_ICE},
    {"unidirectional", DSRTPD_NG_FLAG_UNIDIRECTIONAL},
    {"fatal", DSRTPD_NG_FLAG_FATAL},
};

void ng_opt_token(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len)
{
    const uint8_t *rest = NULL;
    size_t rest_len = 0;
    uint32_t bit = 0;
    dsrtpd_ng_proto proto;
    if (lookup_bit(ng_flags, sizeof ng_flags / sizeof ng_flags[0], v, len, &bit)) {
        msg->flags |= bit;
    } else if (proto_lookup(v, len, &proto)) {
        /* Kamailio's module accepts a bare transport name as a flag. */
        msg->transport = proto;
    } else if (ng_prefix(v, len, "replace-", &rest, &rest_len)) {
        ng_opt_replace(msg, rest, rest_len);
    } else if (ng_prefix(v, len, "rtcp-mux-", &rest, &rest_len)) {
        ng_opt_rtcp_mux(msg, rest, rest_len);
    } else if (ng_prefix(v, len, "SDES-", &rest, &rest_len)) {
        ng_opt_sdes(msg, rest, rest_len);
    } else {
        ng_warn(msg, "unknown flag", v, len);
    }
}

/* ---- rtpp-flags string form ---- */

typedef void (*ng_item_fn)(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);

static void set_str(dsrtpd_ng_str *dst, const uint8_t *v, size_t len)
{
    dst->p = v;
    dst->len = len;
}

/* Identifiers from the request dict win over the same ones repeated in rtpp-flags. */
static void set_str_if_unset(dsrtpd_ng_str *dst, const uint8_t *v, size_t len)
{
    if (dst->len == 0) {
        set_str(dst, v, len);
    }
}

/* Decimal seconds for "delete-delay=N": digits only, at most 9 of them. */
static bool parse_small_uint(const uint8_t *v, size_t len, int64_t *out)
{
    int64_t n = 0;
    if (len == 0 || len > 9) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return false;
        }
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return true;
}

/* Returns the list applier for a list-valued key, or NULL. */
static ng_item_fn list_key_fn(const uint8_t *k, size_t klen)
{
    if (ng_name_eq(k, klen, "replace")) {
        return ng_opt_replace;
    }
    if (ng_name_eq(k, klen, "rtcp-mux")) {
        return ng_opt_rtcp_mux;
    }
    if (ng_name_eq(k, klen, "SDES")) {
        return ng_opt_sdes;
    }
    if (ng_name_eq(k, klen, "direction")) {
        return ng_opt_direction;
    }
    if (ng_name_eq(k, klen, "flags")) {
        return ng_opt_token;
    }
    return NULL;
}

/* Applies one "key=value" token whose value holds no brackets. */
static void apply_kv(dsrtpd_ng_msg *msg, const uint8_t *tok, size_t tok_len, const uint8_t *k,
                     size_t klen, const uint8_t *v, size_t vlen)
{
    ng_item_fn fn = list_key_fn(k, klen);
    int64_t num = 0;
    if (fn != NULL) {
        fn(msg, v, vlen);
    } else if (ng_name_eq(k, klen, "transport-protocol")) {
        ng_opt_transport(msg, v, vlen);
    } else if (ng_name_eq(k, klen, "ICE")) {
        ng_opt_ice(msg, v, vlen);
    } else if (ng_name_eq(k, klen, "DTLS")) {
        ng_opt_dtls(msg, v, vlen);
    } else if (ng_name_eq(k, klen, "via-branch")) {
        set_str(&msg->via_branch, v, vlen);
    } else if (ng_name_eq(k, klen, "label") || ng_name_eq(k, klen, "from-label")) {
        set_str(&msg->label, v, vlen);
    } else if (ng_name_eq(k, klen, "address-family")) {
        set_str(&msg->address_family, v, vlen);
    } else if (ng_name_eq(k, klen, "media-address")) {
        set_str(&msg->media_address, v, vlen);
    } else if (ng_name_eq(k, klen, "to-tag")) {
        set_str_if_unset(&msg->to_tag, v, vlen);
    } else if (ng_name_eq(k, klen, "from-tag")) {
        set_str_if_unset(&msg->from_tag, v, vlen);
    } else if (ng_name_eq(k, klen, "call-id")) {
        set_str_if_unset(&msg->call_id, v, vlen);
    } else if (ng_name_eq(k, klen, "delete-delay") && parse_small_uint(v, vlen, &num)) {
        msg->delete_delay = num;
    } else {
        ng_warn(msg, "unsupported rtpp-flags option", tok, tok_len);
    }
}

dsrtp_err dsrtpd_ng_apply_rtpp_flags(dsrtpd_ng_msg *msg, const uint8_t *s, size_t len)
{
    DSRTP_CHECK(msg != NULL && (s != NULL || len == 0), DSRTP_ERR_INVALID_ARG);
    size_t pos = 0;
    while (pos < len) {
        while (pos < len && (s[pos] == ' ' || s[pos] == '\t')) {
            pos++;
        }
        if (pos >= len) {
            break;
        }
        /* A token runs to the next blank outside brackets: "replace=[origin x]". */
        size_t start = pos;
        size_t eq = SIZE_MAX;
        unsigned depth = 0;
        bool too_deep = false;
        while (pos < len && (depth > 0 || (s[pos] != ' ' && s[pos] != '\t'))) {
            if (s[pos] == '=' && eq == SIZE_MAX && depth == 0) {
                eq = pos;
            } else if (s[pos] == '[') {
                depth++;
                too_deep = too_deep || depth > NG_MAX_BRACKET_DEPTH;
            } else if (s[pos] == ']' && depth > 0) {
                depth--;
            }
            pos++;
        }
        const uint8_t *tok = s + start;
        size_t tok_len = pos - start;
        if (depth > 0 || too_deep) {
            ng_warn(msg, "unbalanced rtpp-flags brackets", tok, tok_len);
            continue;
        }
        if (eq == SIZE_MAX) {
            ng_opt_token(msg, tok, tok_len);
            continue;
        }
        const uint8_t *k = tok;
        size_t klen = eq - start;
        const uint8_t *v = s + eq + 1;
        size_t vlen = pos - eq - 1;
        if (vlen >= 2 && v[0] == '[' && v[vlen - 1] == ']') {
            /* A bracketed list: only list-valued keys, and only flat items. */
            ng_item_fn fn = list_key_fn(k, klen);
            const uint8_t *in = v + 1;
            size_t in_len = vlen - 2;
            if (fn == NULL || memchr(in, '[', in_len) != NULL) {
                ng_warn(msg, "unsupported rtpp-flags option", tok, tok_len);
                continue;
            }
            size_t i = 0;
            size_t items = 0;
            while (i < in_len) {
                while (i < in_len && (in[i] == ' ' || in[i] == '\t')) {
                    i++;
                }
                size_t b = i;
                while (i < in_len && in[i] != ' ' && in[i] != '\t') {
                    i++;
                }
                if (i > b) {
                    if (++items > DSRTPD_NG_MAX_LIST_ITEMS) {
                        ng_warn(msg, "too many list items, rest ignored", tok, tok_len);
                        break;
                    }
                    fn(msg, in + b, i - b);
                }
            }
            continue;
        }
        apply_kv(msg, tok, tok_len, k, klen, v, vlen);
    }
    return DSRTP_OK;
}
