/* Fuzz target: SDP parsing and writing. A refused input must name a line and a reason. An
 * accepted one must write back as exactly its own text with every line end made CRLF (and
 * trailing empty lines dropped), parse again to the same text and the same view, clone to
 * the same text, and survive the policy and restart checks on every m-line (a description
 * compared with itself never restarts DTLS). Finally the first m-line's keying is replaced
 * and the result must parse again with just the new keying. abort() on any inconsistency.
 * Deterministic: no RNG. */
#include <stdlib.h>
#include <string.h>

#include <dsrtp/sdp.h>

/* The input with LF or CRLF line ends turned into CRLF, as dsrtp_sdp_write produces it. */
static char *normalise(const uint8_t *data, size_t size, size_t *out_len)
{
    char *out = malloc(size * 2 + 3);
    if (out == NULL) {
        abort();
    }
    size_t n = 0;
    size_t keep = 0; /* length up to the end of the last non-empty line */
    size_t start = 0;
    while (start < size) {
        size_t end = start;
        while (end < size && data[end] != '\n') {
            end++;
        }
        size_t next = end < size ? end + 1 : end;
        if (end > start && data[end - 1] == '\r') {
            end--;
        }
        memcpy(out + n, data + start, end - start);
        n += end - start;
        out[n++] = '\r';
        out[n++] = '\n';
        if (end > start) {
            keep = n;
        }
        start = next;
    }
    *out_len = keep;
    return out;
}

static char *write_all(const dsrtp_sdp *d, size_t *len)
{
    size_t need = 0;
    if (dsrtp_sdp_write(d, NULL, 0, &need) != DSRTP_ERR_BUFFER_TOO_SMALL || need == 0) {
        abort();
    }
    char *text = malloc(need);
    if (text == NULL || dsrtp_sdp_write(d, text, need, len) != DSRTP_OK || *len + 1 != need ||
        text[*len] != '\0') {
        abort();
    }
    return text;
}

static void same_view(const dsrtp_sdp *a, const dsrtp_sdp *b)
{
    if (dsrtp_sdp_media_count(a) != dsrtp_sdp_media_count(b)) {
        abort();
    }
    for (size_t i = 0; i < dsrtp_sdp_media_count(a); i++) {
        const dsrtp_sdp_media *x = dsrtp_sdp_get_media(a, i);
        const dsrtp_sdp_media *y = dsrtp_sdp_get_media(b, i);
        if (x->port != y->port || x->proto != y->proto || x->setup != y->setup ||
            x->fingerprint_count != y->fingerprint_count ||
            x->crypto_count != y->crypto_count || x->candidate_count != y->candidate_count ||
            x->format_count != y->format_count || x->rtpmap_count != y->rtpmap_count ||
            x->direction != y->direction || x->rtcp_mux != y->rtcp_mux) {
            abort();
        }
    }
}

static void check_policy(const dsrtp_sdp *d)
{
    dsrtp_sdp_policy pol;
    dsrtp_sdp_policy_init(&pol);
    pol.keyings = DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES | DSRTP_KEYING_NONE;
    pol.signalling_secure = true;
    for (size_t i = 0; i < dsrtp_sdp_media_count(d); i++) {
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, i);
        for (int side = 0; side < 2; side++) {
            dsrtp_sdp_decision dec;
            dsrtp_sdp_failure why = {DSRTP_SDP_FAIL_NONE, NULL};
            dsrtp_err e = dsrtp_sdp_negotiate(&pol, (dsrtp_sdp_side)side, m, NULL, &dec, &why);
            if (e != DSRTP_OK) {
                if (why.reason == NULL || why.code == DSRTP_SDP_FAIL_NONE) {
                    abort();
                }
                continue;
            }
            if ((dec.keying == DSRTP_KEYING_DTLS && dec.remote_fingerprint_count == 0) ||
                (dec.keying == DSRTP_KEYING_SDES &&
                 dec.remote_key.key_len != dsrtp_profile_key_len(dec.sdes_profile)) ||
                (dec.dtls_handshake && dec.role == DSRTP_DTLS_ROLE_UNSET)) {
                abort();
            }
            dsrtp_sdp_decision_wipe(&dec);
        }
        bool restart = true;
        if (dsrtp_sdp_dtls_restart(m, m, &restart, NULL) != DSRTP_OK || restart) {
            abort();
        }
    }
}

static void check_rekey(dsrtp_sdp *d)
{
    if (dsrtp_sdp_media_count(d) == 0) {
        return;
    }
    dsrtp_fingerprint fp = {DSRTP_HASH_SHA256, 32, {0}};
    for (size_t i = 0; i < 32; i++) {
        fp.value[i] = (uint8_t)(i * 7);
    }
    dsrtp_sdp_candidate cand = {0};
    cand.foundation = "1";
    cand.component = 1;
    cand.transport = "UDP";
    cand.priority = 2130706431;
    cand.address = "192.0.2.1";
    cand.port = 4000;
    cand.type = "host";
    dsrtp_sdp_keying_attrs k = {0};
    k.fingerprints = &fp;
    k.fingerprint_count = 1;
    k.setup = DSRTP_SDP_SETUP_ACTIVE;
    k.ice_ufrag = "abcd";
    k.ice_pwd = "0123456789abcdefghijkl";
    k.candidates = &cand;
    k.candidate_count = 1;
    dsrtp_err e = dsrtp_sdp_set_keying(d, 0, &k);
    if (e == DSRTP_ERR_INVALID_ARG) {
        return; /* the document is at a cap: adding lines is refused, as it should be */
    }
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, 0);
    if (e != DSRTP_OK || m->fingerprint_count != 1 || m->setup != DSRTP_SDP_SETUP_ACTIVE ||
        m->candidate_count != 1 || m->crypto_count != 0) {
        abort();
    }
    size_t len = 0;
    char *text = write_all(d, &len);
    dsrtp_sdp *again = NULL;
    if (dsrtp_sdp_parse(text, len, &again, NULL) != DSRTP_OK) {
        abort();
    }
    same_view(d, again);
    dsrtp_sdp_free(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsrtp_sdp *doc = NULL;
    dsrtp_sdp_error err = {0, NULL};
    dsrtp_err e = dsrtp_sdp_parse((const char *)data, size, &doc, &err);
    if (e != DSRTP_OK) {
        if (e != DSRTP_ERR_MALFORMED || err.reason == NULL || err.line == 0 ||
            err.line > DSRTP_SDP_MAX_LINES + 1) {
            abort();
        }
        return 0;
    }
    size_t len = 0;
    size_t norm_len = 0;
    char *text = write_all(doc, &len);
    char *norm = normalise(data, size, &norm_len);
    if (len != norm_len || memcmp(text, norm, len) != 0) {
        abort(); /* the round trip changed something */
    }
    dsrtp_sdp *again = NULL;
    dsrtp_sdp *copy = NULL;
    if (dsrtp_sdp_parse(text, len, &again, NULL) != DSRTP_OK ||
        dsrtp_sdp_clone(doc, &copy) != DSRTP_OK) {
        abort();
    }
    size_t len2 = 0;
    size_t len3 = 0;
    char *text2 = write_all(again, &len2);
    char *text3 = write_all(copy, &len3);
    if (len2 != len || memcmp(text2, text, len) != 0 || len3 != len ||
        memcmp(text3, text, len) != 0) {
        abort();
    }
    same_view(doc, again);
    check_policy(doc);
    check_rekey(copy);
    dsrtp_sdp_free(doc);
    dsrtp_sdp_free(again);
    dsrtp_sdp_free(copy);
    free(text);
    free(text2);
    free(text3);
    free(norm);
    return 0;
}
