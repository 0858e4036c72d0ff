/* Fuzz target: the ng control protocol. Arbitrary bytes go to the bencode parser, to the
 * request parser and, as one string, to the rtpp-flags parser. Whatever parses must be
 * self-consistent: the parsed tree re-encodes to exactly the bytes it came from (bencode
 * has one spelling per value, and key order is kept), borrowed spans lie inside the input,
 * counts respect their caps, and every reply built from the result parses back to what
 * went in. Any inconsistency aborts. Deterministic: no RNG, no clock. */
#include <stdlib.h>
#include <string.h>

#include "ng.h"

static dsrtpd_ben_node fuzz_nodes[DSRTPD_BEN_MAX_NODES];
static dsrtpd_ben_node fuzz_nodes2[DSRTPD_BEN_MAX_NODES];
static uint8_t fuzz_out[DSRTPD_NG_MAX_DATAGRAM + 8192];
static dsrtpd_ng_cache *fuzz_cache;

static void reencode(dsrtpd_ben_wr *w, const dsrtpd_ben_node *n)
{
    switch (n->type) {
    case DSRTPD_BEN_STR:
        dsrtpd_ben_wr_str(w, n->str, n->len);
        break;
    case DSRTPD_BEN_INT:
        dsrtpd_ben_wr_int(w, n->num);
        break;
    case DSRTPD_BEN_LIST:
    case DSRTPD_BEN_DICT: {
        size_t count = 0;
        if (n->type == DSRTPD_BEN_LIST) {
            dsrtpd_ben_wr_list(w);
        } else {
            dsrtpd_ben_wr_dict(w);
        }
        for (const dsrtpd_ben_node *c = dsrtpd_ben_first(n); c != NULL; c = dsrtpd_ben_next(c)) {
            if ((n->type == DSRTPD_BEN_DICT) != (c->key != NULL)) {
                abort();
            }
            if (n->type == DSRTPD_BEN_DICT) {
                dsrtpd_ben_wr_str(w, c->key, c->key_len);
            }
            reencode(w, c);
            count++;
        }
        if (count != n->len) {
            abort();
        }
        dsrtpd_ben_wr_end(w);
        break;
    }
    default:
        abort();
    }
}

/* The tree under root must re-encode to exactly in[0..len). */
static void check_roundtrip(const dsrtpd_ben_node *root, const uint8_t *in, size_t len)
{
    dsrtpd_ben_wr w;
    size_t out_len = 0;
    if (root->raw != in || root->raw_len != len) {
        abort();
    }
    dsrtpd_ben_wr_init(&w, fuzz_out, sizeof fuzz_out);
    reencode(&w, root);
    if (dsrtpd_ben_wr_finish(&w, &out_len) != DSRTP_OK || out_len != len ||
        memcmp(fuzz_out, in, len) != 0) {
        abort();
    }
}

static void check_span(dsrtpd_ng_str s, const uint8_t *in, size_t len)
{
    if (s.len == 0) {
        return;
    }
    if (s.p == NULL || s.p < in || s.len > len || (size_t)(s.p - in) > len - s.len) {
        abort();
    }
}

static void check_msg_spans(const dsrtpd_ng_msg *m, const uint8_t *in, size_t len)
{
    const dsrtpd_ng_str spans[] = {m->cookie,         m->command,       m->call_id,
                                   m->from_tag,       m->to_tag,        m->via_branch,
                                   m->sdp,            m->label,         m->address_family,
                                   m->media_address,  m->received_from[0], m->received_from[1],
                                   m->direction[0],   m->direction[1]};
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
        check_span(spans[i], in, len);
    }
    if (m->n_warnings > DSRTPD_NG_MAX_WARNINGS || m->n_direction > DSRTPD_NG_MAX_DIRECTIONS) {
        abort();
    }
    for (size_t i = 0; i < m->n_warnings; i++) {
        if (m->warnings[i].what == NULL) {
            abort();
        }
        check_span(m->warnings[i].item, in, len);
    }
}

/* A reply parses back: cookie, one space, a dict whose "result" is want_result. */
static const dsrtpd_ben_node *check_reply(const uint8_t *r, size_t rlen, dsrtpd_ng_str cookie,
                                          const char *want_result)
{
    const dsrtpd_ben_node *root = NULL;
    if (rlen < cookie.len + 1 || memcmp(r, cookie.p, cookie.len) != 0 || r[cookie.len] != ' ' ||
        dsrtpd_ben_parse(r + cookie.len + 1, rlen - cookie.len - 1, fuzz_nodes2,
                         DSRTPD_BEN_MAX_NODES, &root, NULL) != DSRTP_OK ||
        root->type != DSRTPD_BEN_DICT ||
        !dsrtpd_ben_str_eq(dsrtpd_ben_dict_get(root, "result"), want_result)) {
        abort();
    }
    return root;
}

static bool str_node_is(const dsrtpd_ben_node *n, dsrtpd_ng_str s)
{
    return n != NULL && n->type == DSRTPD_BEN_STR && n->len == s.len &&
           (s.len == 0 || memcmp(n->str, s.p, s.len) == 0);
}

static void check_replies(const dsrtpd_ng_msg *m)
{
    static uint8_t warn[8192];
    size_t warn_len = 0;
    size_t len = 0;
    if (dsrtpd_ng_format_warnings(m, warn, sizeof warn, &warn_len) != DSRTP_OK ||
        (warn_len == 0) != (m->n_warnings == 0 && m->warnings_dropped == 0)) {
        abort();
    }
    for (size_t i = 0; i < warn_len; i++) {
        if (warn[i] < 0x20 || warn[i] >= 0x7f) {
            abort(); /* warnings are printable: the daemon logs them */
        }
    }
    dsrtpd_ng_str w = {warn, warn_len};
    if (dsrtpd_ng_reply_ok(fuzz_out, sizeof fuzz_out, m->cookie, m->sdp, w, &len) != DSRTP_OK) {
        abort();
    }
    const dsrtpd_ben_node *root = check_reply(fuzz_out, len, m->cookie, "ok");
    if ((m->sdp.len > 0 && !str_node_is(dsrtpd_ben_dict_get(root, "sdp"), m->sdp)) ||
        (warn_len > 0 && !str_node_is(dsrtpd_ben_dict_get(root, "warning"), w))) {
        abort();
    }
    /* Retransmission: the cache hands back the very bytes stored. */
    const uint8_t *got = NULL;
    size_t got_len = 0;
    dsrtp_err err = dsrtpd_ng_cache_put(fuzz_cache, 0, m->cookie, "src", 3, fuzz_out, len);
    if (err == DSRTP_OK) {
        if (!dsrtpd_ng_cache_get(fuzz_cache, 1, m->cookie, "src", 3, &got, &got_len) ||
            got_len != len || memcmp(got, fuzz_out, len) != 0) {
            abort();
        }
    } else if (err != DSRTP_ERR_BUFFER_TOO_SMALL) {
        abort();
    }
    dsrtpd_ng_str ids[2] = {m->call_id, m->from_tag};
    if (dsrtpd_ng_reply_list(fuzz_out, sizeof fuzz_out, m->cookie, ids, 2, &len) != DSRTP_OK) {
        abort();
    }
    root = check_reply(fuzz_out, len, m->cookie, "ok");
    const dsrtpd_ben_node *calls = dsrtpd_ben_dict_get_type(root, "calls", DSRTPD_BEN_LIST);
    if (calls == NULL || calls->len != 2 || !str_node_is(dsrtpd_ben_first(calls), ids[0])) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > DSRTPD_NG_MAX_DATAGRAM + 16) {
        return 0;
    }
    if (fuzz_cache == NULL &&
        dsrtpd_ng_cache_new(4, sizeof fuzz_out, 1000, &fuzz_cache) != DSRTP_OK) {
        abort();
    }
    /* 1. The bare bencode parser. */
    const dsrtpd_ben_node *root = NULL;
    size_t used = 0;
    if (dsrtpd_ben_parse(data, size, fuzz_nodes, DSRTPD_BEN_MAX_NODES, &root, &used) ==
        DSRTP_OK) {
        if (used == 0 || used > DSRTPD_BEN_MAX_NODES) {
            abort();
        }
        check_roundtrip(root, data, size);
    }

    /* 2. A whole request. */
    dsrtpd_ng_msg msg;
    const char *reason = NULL;
    dsrtp_err err = dsrtpd_ng_parse(data, size, fuzz_nodes, DSRTPD_BEN_MAX_NODES, &msg, &reason);
    if (reason == NULL) {
        abort();
    }
    if (err == DSRTP_OK) {
        size_t body = msg.cookie.len + 1;
        size_t end = size;
        while (end > body && (data[end - 1] == '\n' || data[end - 1] == '\r')) {
            end--;
        }
        if (msg.cookie.p != data || msg.cmd == DSRTPD_NG_CMD_UNKNOWN || msg.dict == NULL ||
            msg.dict->type != DSRTPD_BEN_DICT) {
            abort();
        }
        check_roundtrip(msg.dict, data + body, end - body);
        check_msg_spans(&msg, data, size);
        check_replies(&msg);
    } else {
        if (err != DSRTP_ERR_MALFORMED && err != DSRTP_ERR_UNSUPPORTED) {
            abort();
        }
        if (msg.cookie.len > 0) {
            size_t len = 0;
            check_span(msg.cookie, data, size);
            if (dsrtpd_ng_reply_error(fuzz_out, sizeof fuzz_out, msg.cookie, reason, &len) !=
                DSRTP_OK) {
                abort();
            }
            const dsrtpd_ben_node *r = check_reply(fuzz_out, len, msg.cookie, "error");
            if (!dsrtpd_ben_str_eq(dsrtpd_ben_dict_get(r, "error-reason"), reason)) {
                abort();
            }
        }
    }

    /* 3. The whole input as an rtpp-flags string. */
    memset(&msg, 0, sizeof msg);
    if (dsrtpd_ng_apply_rtpp_flags(&msg, data, size) != DSRTP_OK) {
        abort();
    }
    check_msg_spans(&msg, data, size);
    return 0;
}
