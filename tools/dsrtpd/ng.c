/* ng requests: cookie, bencoded dict, command and keys into a dsrtpd_ng_msg; warnings text;
 * reply builders. Option values are interpreted in ng_flags.c. */
#include "ng_int.h"

#include <string.h>

#define NG_WARNING_ITEM_MAX 64 /* bytes of an offending item quoted in a warning */

typedef enum ng_key_kind {
    NG_K_COMMAND,
    NG_K_STR,      /* a borrowed string field of dsrtpd_ng_msg, at off */
    NG_K_INT,      /* an int64_t field of dsrtpd_ng_msg, at off */
    NG_K_ONE,      /* a single string option handled by fn */
    NG_K_LIST,     /* a list of strings (or one string), each item handled by fn */
    NG_K_RECEIVED, /* "received-from": [family, address] */
    NG_K_RTPP,     /* "rtpp-flags": the string form */
    NG_K_IGNORED   /* known to rtpengine clients, not used here: no warning */
} ng_key_kind;

typedef void (*ng_item_fn)(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);

typedef struct ng_key {
    const char *name;
    ng_key_kind kind;
    size_t off;
    ng_item_fn fn;
} ng_key;

#define NG_STR(name, field) {name, NG_K_STR, offsetof(dsrtpd_ng_msg, field), NULL}
#define NG_INT(name, field) {name, NG_K_INT, offsetof(dsrtpd_ng_msg, field), NULL}

/* Names compare with ' ', '-', '_' interchangeable (ng_name_eq). At most 64 entries: the
 * duplicate check keeps one bit per entry. */
static const ng_key ng_keys[] = {
    {"command", NG_K_COMMAND, 0, NULL},
    NG_STR("call-id", call_id),
    NG_STR("from-tag", from_tag),
    NG_STR("to-tag", to_tag),
    NG_STR("via-branch", via_branch),
    NG_STR("sdp", sdp),
    NG_STR("label", label),
    NG_STR("from-label", label),
    NG_STR("address-family", address_family),
    NG_STR("media-address", media_address),
    NG_INT("limit", limit),
    NG_INT("delete-delay", delete_delay),
    {"transport-protocol", NG_K_ONE, 0, ng_opt_transport},
    {"ICE", NG_K_ONE, 0, ng_opt_ice},
    {"DTLS", NG_K_ONE, 0, ng_opt_dtls},
    {"SDES", NG_K_LIST, 0, ng_opt_sdes},
    {"rtcp-mux", NG_K_LIST, 0, ng_opt_rtcp_mux},
    {"replace", NG_K_LIST, 0, ng_opt_replace},
    {"direction", NG_K_LIST, 0, ng_opt_direction},
    {"flags", NG_K_LIST, 0, ng_opt_token},
    {"received-from", NG_K_RECEIVED, 0, NULL},
    {"rtpp-flags", NG_K_RTPP, 0, NULL},
    {"supports", NG_K_IGNORED, 0, NULL},
    {"TOS", NG_K_IGNORED, 0, NULL},
    {"record-call", NG_K_IGNORED, 0, NULL},
    {"metadata", NG_K_IGNORED, 0, NULL},
    {"sip-message-type", NG_K_IGNORED, 0, NULL},
};

static const struct {
    const char *name;
    dsrtpd_ng_cmd cmd;
} ng_cmds[] = {
    {"ping", DSRTPD_NG_CMD_PING},       {"offer", DSRTPD_NG_CMD_OFFER},
    {"answer", DSRTPD_NG_CMD_ANSWER},   {"delete", DSRTPD_NG_CMD_DELETE},
    {"query", DSRTPD_NG_CMD_QUERY},     {"list", DSRTPD_NG_CMD_LIST},
    {"statistics", DSRTPD_NG_CMD_STATISTICS},
};

const char *dsrtpd_ng_cmd_name(dsrtpd_ng_cmd cmd)
{
    for (size_t i = 0; i < sizeof ng_cmds / sizeof ng_cmds[0]; i++) {
        if (ng_cmds[i].cmd == cmd) {
            return ng_cmds[i].name;
        }
    }
    return "unknown";
}

static dsrtpd_ng_cmd cmd_lookup(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < sizeof ng_cmds / sizeof ng_cmds[0]; i++) {
        if (dsrtpd_ben_bytes_eq(p, len, ng_cmds[i].name)) {
            return ng_cmds[i].cmd;
        }
    }
    return DSRTPD_NG_CMD_UNKNOWN;
}

static void apply_list(dsrtpd_ng_msg *msg, const dsrtpd_ben_node *key, const dsrtpd_ben_node *v,
                       ng_item_fn fn)
{
    if (v->type == DSRTPD_BEN_STR) {
        fn(msg, v->str, v->len); /* a lone string counts as a one-item list */
        return;
    }
    if (v->type != DSRTPD_BEN_LIST) {
        ng_warn(msg, "wrong type for key", key->key, key->key_len);
        return;
    }
    size_t items = 0;
    for (const dsrtpd_ben_node *it = dsrtpd_ben_first(v); it != NULL; it = dsrtpd_ben_next(it)) {
        if (++items > DSRTPD_NG_MAX_LIST_ITEMS) {
            ng_warn(msg, "too many list items, rest ignored", key->key, key->key_len);
            return;
        }
        if (it->type != DSRTPD_BEN_STR) {
            ng_warn(msg, "non-string list item in", key->key, key->key_len);
            continue;
        }
        fn(msg, it->str, it->len);
    }
}

static void apply_received_from(dsrtpd_ng_msg *msg, const dsrtpd_ben_node *v)
{
    const dsrtpd_ben_node *fam = dsrtpd_ben_first(v);
    const dsrtpd_ben_node *addr = dsrtpd_ben_next(fam);
    if (v->type != DSRTPD_BEN_LIST || v->len != 2 || fam->type != DSRTPD_BEN_STR ||
        addr->type != DSRTPD_BEN_STR) {
        ng_warn(msg, "received-from is not [family, address]", NULL, 0);
        return;
    }
    msg->received_from[0] = (dsrtpd_ng_str){fam->str, fam->len};
    msg->received_from[1] = (dsrtpd_ng_str){addr->str, addr->len};
}

/* A string of 1..9 decimal digits. */
static bool decimal(const uint8_t *p, size_t len, int64_t *out)
{
    int64_t n = 0;
    if (len == 0 || len > 9) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        n = n * 10 + (p[i] - '0');
    }
    *out = n;
    return true;
}

/* Applies one top-level dict entry. Returns MALFORMED only for a non-string command. */
static dsrtp_err apply_entry(dsrtpd_ng_msg *msg, const dsrtpd_ben_node *e, uint64_t *seen,
                             const dsrtpd_ben_node **rtpp, const char **reason)
{
    int64_t num = 0;
    size_t i = 0;
    while (i < sizeof ng_keys / sizeof ng_keys[0] &&
           !ng_name_eq(e->key, e->key_len, ng_keys[i].name)) {
        i++;
    }
    if (i == sizeof ng_keys / sizeof ng_keys[0]) {
        ng_warn(msg, "unknown key", e->key, e->key_len);
        return DSRTP_OK;
    }
    const ng_key *k = &ng_keys[i];
    /* Keep the first sighting of a key. ("label" and "from-label" share a field; the
     * string setter below keeps whichever came first.) */
    if ((*seen >> i) & 1u) {
        ng_warn(msg, "duplicate key ignored", e->key, e->key_len);
        return DSRTP_OK;
    }
    *seen |= (uint64_t)1 << i;
    switch (k->kind) {
    case NG_K_COMMAND:
        if (e->type != DSRTPD_BEN_STR) {
            *reason = "command is not a string";
            return DSRTP_ERR_MALFORMED;
        }
        msg->command = (dsrtpd_ng_str){e->str, e->len};
        msg->cmd = cmd_lookup(e->str, e->len);
        break;
    case NG_K_STR:
        if (e->type == DSRTPD_BEN_STR) {
            dsrtpd_ng_str *dst = (dsrtpd_ng_str *)(void *)((uint8_t *)msg + k->off);
            if (dst->len == 0) {
                *dst = (dsrtpd_ng_str){e->str, e->len};
            }
        } else {
            ng_warn(msg, "wrong type for key", e->key, e->key_len);
        }
        break;
    case NG_K_INT:
        if (e->type == DSRTPD_BEN_INT && e->num >= 0) {
            memcpy((uint8_t *)msg + k->off, &e->num, sizeof e->num);
        } else if (e->type == DSRTPD_BEN_STR && decimal(e->str, e->len, &num)) {
            /* rtpengine takes "delete-delay" as a string of digits too (older clients) */
            memcpy((uint8_t *)msg + k->off, &num, sizeof num);
        } else {
            ng_warn(msg, "wrong type for key", e->key, e->key_len);
        }
        break;
    case NG_K_ONE:
        if (e->type == DSRTPD_BEN_STR) {
            k->fn(msg, e->str, e->len);
        } else {
            ng_warn(msg, "wrong type for key", e->key, e->key_len);
        }
        break;
    case NG_K_LIST:
        apply_list(msg, e, e, k->fn);
        break;
    case NG_K_RECEIVED:
        apply_received_from(msg, e);
        break;
    case NG_K_RTPP:
        if (e->type == DSRTPD_BEN_STR) {
            *rtpp = e;
        } else {
            ng_warn(msg, "wrong type for key", e->key, e->key_len);
        }
        break;
    case NG_K_IGNORED:
        break;
    }
    return DSRTP_OK;
}

/* The cookie: 1..DSRTPD_NG_MAX_COOKIE bytes in '!'..'~', then one space. */
static dsrtp_err parse_cookie(const uint8_t *in, size_t len, dsrtpd_ng_str *cookie,
                              size_t *body)
{
    size_t i = 0;
    while (i < len && i <= DSRTPD_NG_MAX_COOKIE && in[i] > ' ' && in[i] < 0x7f) {
        i++;
    }
    DSRTP_CHECK(i > 0 && i <= DSRTPD_NG_MAX_COOKIE && i < len && in[i] == ' ',
                DSRTP_ERR_MALFORMED);
    cookie->p = in;
    cookie->len = i;
    *body = i + 1;
    return DSRTP_OK;
}

static dsrtp_err check_required(const dsrtpd_ng_msg *msg, const char **reason)
{
    bool needs_call = msg->cmd == DSRTPD_NG_CMD_OFFER || msg->cmd == DSRTPD_NG_CMD_ANSWER ||
                      msg->cmd == DSRTPD_NG_CMD_DELETE || msg->cmd == DSRTPD_NG_CMD_QUERY;
    bool needs_sdp = msg->cmd == DSRTPD_NG_CMD_OFFER || msg->cmd == DSRTPD_NG_CMD_ANSWER;
    if (needs_call && msg->call_id.len == 0) {
        *reason = "missing call-id";
        return DSRTP_ERR_MALFORMED;
    }
    if (needs_sdp && msg->from_tag.len == 0) {
        *reason = "missing from-tag";
        return DSRTP_ERR_MALFORMED;
    }
    if (msg->cmd == DSRTPD_NG_CMD_ANSWER && msg->to_tag.len == 0) {
        *reason = "missing to-tag";
        return DSRTP_ERR_MALFORMED;
    }
    if (needs_sdp && msg->sdp.len == 0) {
        *reason = "missing sdp";
        return DSRTP_ERR_MALFORMED;
    }
    return DSRTP_OK;
}

dsrtp_err dsrtpd_ng_parse(const uint8_t *in, size_t len, dsrtpd_ben_node *nodes, size_t cap,
                          dsrtpd_ng_msg *msg, const char **reason)
{
    DSRTP_CHECK(reason != NULL, DSRTP_ERR_INVALID_ARG);
    *reason = "invalid arguments";
    DSRTP_CHECK((in != NULL || len == 0) && nodes != NULL && cap > 0 && msg != NULL,
                DSRTP_ERR_INVALID_ARG);
    memset(msg, 0, sizeof *msg);
    msg->limit = -1;
    msg->delete_delay = -1;

    size_t body = 0;
    *reason = "missing or invalid cookie";
    DSRTP_TRY(parse_cookie(in, len, &msg->cookie, &body));
    *reason = "request too long";
    DSRTP_CHECK(len <= DSRTPD_NG_MAX_DATAGRAM, DSRTP_ERR_MALFORMED);
    size_t end = len;
    while (end > body && (in[end - 1] == '\n' || in[end - 1] == '\r')) {
        end--; /* tolerate a line ending, as sent by hand-driven test tools */
    }
    *reason = "missing dictionary";
    DSRTP_CHECK(end > body, DSRTP_ERR_MALFORMED);
    *reason = "JSON requests are not supported";
    DSRTP_CHECK(in[body] != '{', DSRTP_ERR_MALFORMED);
    const dsrtpd_ben_node *root = NULL;
    *reason = "malformed bencode";
    DSRTP_TRY(dsrtpd_ben_parse(in + body, end - body, nodes, cap, &root, NULL));
    *reason = "request is not a dictionary";
    DSRTP_CHECK(root->type == DSRTPD_BEN_DICT, DSRTP_ERR_MALFORMED);
    msg->dict = root;

    uint64_t seen = 0;
    const dsrtpd_ben_node *rtpp = NULL;
    for (const dsrtpd_ben_node *e = dsrtpd_ben_first(root); e != NULL; e = dsrtpd_ben_next(e)) {
        DSRTP_TRY(apply_entry(msg, e, &seen, &rtpp, reason));
    }
    if (rtpp != NULL) {
        DSRTP_TRY(dsrtpd_ng_apply_rtpp_flags(msg, rtpp->str, rtpp->len));
    }
    *reason = "missing command";
    DSRTP_CHECK(msg->command.len > 0, DSRTP_ERR_MALFORMED);
    *reason = "unknown command";
    DSRTP_CHECK(msg->cmd != DSRTPD_NG_CMD_UNKNOWN, DSRTP_ERR_UNSUPPORTED);
    DSRTP_TRY(check_required(msg, reason));
    *reason = "ok";
    return DSRTP_OK;
}

/* ---- warnings text ---- */

/* Quotes an item: printable ASCII as is, anything else as '?', cut at NG_WARNING_ITEM_MAX. */
static void put_item(dsrtpd_ben_wr *w, dsrtpd_ng_str item)
{
    size_t n = item.len < NG_WARNING_ITEM_MAX ? item.len : NG_WARNING_ITEM_MAX;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = item.p[i];
        uint8_t safe = (uint8_t)(c >= 0x20 && c < 0x7f ? c : '?');
        dsrtpd_ben_wr_raw(w, &safe, 1);
    }
    if (n < item.len) {
        dsrtpd_ben_wr_raw(w, "...", 3);
    }
}

static void put_warnings(dsrtpd_ben_wr *w, const dsrtpd_ng_msg *msg)
{
    size_t n = msg->n_warnings < DSRTPD_NG_MAX_WARNINGS ? msg->n_warnings
                                                         : DSRTPD_NG_MAX_WARNINGS;
    for (size_t i = 0; i < n; i++) {
        const dsrtpd_ng_warning *wa = &msg->warnings[i];
        if (i > 0) {
            dsrtpd_ben_wr_raw(w, "; ", 2);
        }
        dsrtpd_ben_wr_raw(w, wa->what, strlen(wa->what));
        if (wa->item.len > 0) {
            dsrtpd_ben_wr_raw(w, ": ", 2);
            put_item(w, wa->item);
        }
    }
    if (msg->warnings_dropped > 0) {
        char tmp[32];
        size_t k = sizeof tmp;
        size_t v = msg->warnings_dropped;
        do {
            tmp[--k] = (char)('0' + v % 10);
            v /= 10;
        } while (v != 0 && k > 0);
        dsrtpd_ben_wr_raw(w, "; ", 2);
        dsrtpd_ben_wr_raw(w, tmp + k, sizeof tmp - k);
        dsrtpd_ben_wr_raw(w, " more", 5);
    }
}

dsrtp_err dsrtpd_ng_format_warnings(const dsrtpd_ng_msg *msg, uint8_t *out, size_t cap,
                                    size_t *out_len)
{
    DSRTP_CHECK(msg != NULL && out_len != NULL && (out != NULL || cap == 0),
                DSRTP_ERR_INVALID_ARG);
    dsrtpd_ben_wr w;
    dsrtpd_ben_wr_init(&w, NULL, 0); /* measure first, so out is untouched on overflow */
    put_warnings(&w, msg);
    if (w.need > cap) {
        *out_len = w.need;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    dsrtpd_ben_wr_init(&w, out, cap);
    put_warnings(&w, msg);
    return dsrtpd_ben_wr_finish(&w, out_len);
}

/* ---- replies ---- */

void dsrtpd_ng_reply_begin(dsrtpd_ben_wr *w, uint8_t *buf, size_t cap, dsrtpd_ng_str cookie,
                           const char *result)
{
    if (w == NULL) {
        return;
    }
    dsrtpd_ben_wr_init(w, buf, cap);
    if (cookie.len == 0 || cookie.p == NULL || result == NULL) {
        w->misuse = true;
        return;
    }
    dsrtpd_ben_wr_raw(w, cookie.p, cookie.len);
    dsrtpd_ben_wr_raw(w, " ", 1);
    dsrtpd_ben_wr_dict(w);
    dsrtpd_ben_wr_kv_cstr(w, "result", result);
}

dsrtp_err dsrtpd_ng_reply_end(dsrtpd_ben_wr *w, size_t *out_len)
{
    DSRTP_CHECK(w != NULL && out_len != NULL, DSRTP_ERR_INVALID_ARG);
    dsrtpd_ben_wr_end(w);
    return dsrtpd_ben_wr_finish(w, out_len);
}

/* Everything the fixed-shape replies may hold; absent parts have len 0 / NULL. */
typedef struct ng_reply {
    dsrtpd_ng_str cookie;
    const char *result;
    dsrtpd_ng_str sdp;
    dsrtpd_ng_str warning;
    const char *reason;
    const dsrtpd_ng_str *ids;
    size_t n_ids;
    bool with_calls;
} ng_reply;

static dsrtp_err put_reply(const ng_reply *r, uint8_t *buf, size_t cap, size_t *out_len)
{
    dsrtpd_ben_wr w;
    dsrtpd_ng_reply_begin(&w, buf, cap, r->cookie, r->result);
    if (r->sdp.len > 0) {
        dsrtpd_ben_wr_kv_str(&w, "sdp", r->sdp.p, r->sdp.len);
    }
    if (r->reason != NULL) {
        dsrtpd_ben_wr_kv_cstr(&w, "error-reason", r->reason);
    }
    if (r->with_calls) {
        dsrtpd_ben_wr_cstr(&w, "calls");
        dsrtpd_ben_wr_list(&w);
        for (size_t i = 0; i < r->n_ids; i++) {
            dsrtpd_ben_wr_str(&w, r->ids[i].p, r->ids[i].len);
        }
        dsrtpd_ben_wr_end(&w);
    }
    if (r->warning.len > 0) {
        dsrtpd_ben_wr_kv_str(&w, "warning", r->warning.p, r->warning.len);
    }
    return dsrtpd_ng_reply_end(&w, out_len);
}

/* Measures first, so that on BUFFER_TOO_SMALL the caller's buffer is left untouched. */
static dsrtp_err build_reply(const ng_reply *r, uint8_t *buf, size_t cap, size_t *out_len)
{
    DSRTP_CHECK(out_len != NULL && (buf != NULL || cap == 0), DSRTP_ERR_INVALID_ARG);
    size_t need = 0;
    dsrtp_err err = put_reply(r, NULL, 0, &need);
    DSRTP_CHECK(err == DSRTP_OK || err == DSRTP_ERR_BUFFER_TOO_SMALL, err);
    if (need > cap) {
        *out_len = need;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    return put_reply(r, buf, cap, out_len);
}

dsrtp_err dsrtpd_ng_reply_ok(uint8_t *buf, size_t cap, dsrtpd_ng_str cookie, dsrtpd_ng_str sdp,
                             dsrtpd_ng_str warning, size_t *out_len)
{
    ng_reply r = {.cookie = cookie, .result = "ok", .sdp = sdp, .warning = warning};
    return build_reply(&r, buf, cap, out_len);
}

dsrtp_err dsrtpd_ng_reply_pong(uint8_t *buf, size_t cap, dsrtpd_ng_str cookie, size_t *out_len)
{
    ng_reply r = {.cookie = cookie, .result = "pong"};
    return build_reply(&r, buf, cap, out_len);
}

dsrtp_err dsrtpd_ng_reply_error(uint8_t *buf, size_t cap, dsrtpd_ng_str cookie,
                                const char *reason, size_t *out_len)
{
    DSRTP_CHECK(reason != NULL, DSRTP_ERR_INVALID_ARG);
    ng_reply r = {.cookie = cookie, .result = "error", .reason = reason};
    return build_reply(&r, buf, cap, out_len);
}

dsrtp_err dsrtpd_ng_reply_list(uint8_t *buf, size_t cap, dsrtpd_ng_str cookie,
                               const dsrtpd_ng_str *ids, size_t n, size_t *out_len)
{
    DSRTP_CHECK(ids != NULL || n == 0, DSRTP_ERR_INVALID_ARG);
    ng_reply r = {.cookie = cookie, .result = "ok", .ids = ids, .n_ids = n, .with_calls = true};
    return build_reply(&r, buf, cap, out_len);
}
