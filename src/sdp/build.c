/* Builders: a new minimal document, and changes to an existing one (origin, lines, m-lines,
 * transport, attributes, keying). Each composes the new line texts from the current view,
 * applies them to an edit and commits it, so validation is the parser's own and a failure
 * leaves the document as it was. */
#include <stdio.h>
#include <string.h>

#include "sdp/sdp_int.h"

#define LINE_CAP (DSRTP_SDP_MAX_LINE_LEN + 1)

const char *dsrtp_sdp_setup_name(dsrtp_sdp_setup s)
{
    switch (s) {
    case DSRTP_SDP_SETUP_ACTPASS: return "actpass";
    case DSRTP_SDP_SETUP_ACTIVE: return "active";
    case DSRTP_SDP_SETUP_PASSIVE: return "passive";
    case DSRTP_SDP_SETUP_HOLDCONN: return "holdconn";
    default: return "";
    }
}

const char *dsrtp_sdp_direction_name(dsrtp_sdp_direction d)
{
    switch (d) {
    case DSRTP_SDP_DIR_SENDRECV: return "sendrecv";
    case DSRTP_SDP_DIR_SENDONLY: return "sendonly";
    case DSRTP_SDP_DIR_RECVONLY: return "recvonly";
    case DSRTP_SDP_DIR_INACTIVE: return "inactive";
    default: return "";
    }
}

/* A caller string that may go into a line as one word: visible ASCII, no blanks. */
static bool plain_word(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= max || (unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f) {
            return false;
        }
    }
    return n > 0;
}

static const char *family_of(const char *address)
{
    for (size_t i = 0; address[i] != '\0'; i++) {
        if (address[i] == ':') {
            return "IP6";
        }
    }
    return "IP4";
}

static void edit_fail(sdp_edit *e, dsrtp_err err)
{
    if (e->err == DSRTP_OK) {
        e->err = err;
    }
}

static bool section_of(sdp_edit *e, size_t section, size_t *first, size_t *end)
{
    if (e->err == DSRTP_OK && sdp_section_bounds(e->lines, e->count, section, first, end)) {
        return true;
    }
    edit_fail(e, DSRTP_ERR_INVALID_ARG);
    return false;
}

static void edit_append(sdp_edit *e, size_t section, char type, const char *text)
{
    size_t first;
    size_t end;
    if (section_of(e, section, &first, &end)) {
        sdp_edit_insert(e, end, type, text);
    }
}

/* Replaces the section's first line of this type, or inserts one in RFC 8866 order. */
static void edit_set_line(sdp_edit *e, size_t section, char type, const char *text)
{
    size_t first;
    size_t end;
    if (!section_of(e, section, &first, &end)) {
        return;
    }
    for (size_t i = first; i < end; i++) {
        if (e->lines[i]->type == type) {
            sdp_edit_replace(e, i, type, text);
            return;
        }
    }
    const char *order = section == DSRTP_SDP_SESSION ? "vosiuepcbtrzka" : "micbka";
    size_t want = 0;
    while (order[want] != '\0' && order[want] != type) {
        want++;
    }
    size_t pos = first;
    for (size_t i = first; i < end; i++) {
        size_t r = 0;
        while (order[r] != '\0' && order[r] != e->lines[i]->type) {
            r++;
        }
        if (r <= want) {
            pos = i + 1;
        }
    }
    sdp_edit_insert(e, pos, type, text);
}

typedef bool (*line_pred)(const sdp_line *ln, const char *arg);

static size_t edit_remove_if(sdp_edit *e, size_t section, line_pred pred, const char *arg)
{
    size_t first;
    size_t end;
    size_t removed = 0;
    if (!section_of(e, section, &first, &end)) {
        return 0;
    }
    for (size_t i = end; i > first; i--) {
        if (pred(e->lines[i - 1], arg)) {
            sdp_edit_remove(e, i - 1);
            removed++;
        }
    }
    return removed;
}

static bool is_attr(const sdp_line *ln, const char *name)
{
    return sdp_attr_is(ln, name);
}

dsrtp_err dsrtp_sdp_new(const char *address, uint64_t sess_id, dsrtp_sdp **out)
{
    DSRTP_CHECK(address != NULL && out != NULL && plain_word(address, 255),
                DSRTP_ERR_INVALID_ARG);
    char text[768];
    const char *fam = family_of(address);
    int n = snprintf(text, sizeof text, "v=0\r\no=- %llu 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\n"
                     "t=0 0\r\n", (unsigned long long)sess_id, fam, address, fam, address);
    DSRTP_CHECK(n > 0 && (size_t)n < sizeof text, DSRTP_ERR_INVALID_ARG);
    dsrtp_err e = dsrtp_sdp_parse(text, (size_t)n, out, NULL);
    return e == DSRTP_ERR_MALFORMED ? DSRTP_ERR_INVALID_ARG : e;
}

dsrtp_err dsrtp_sdp_set_origin(dsrtp_sdp *sdp, uint64_t sess_version, const char *address)
{
    DSRTP_CHECK(sdp != NULL && address != NULL && plain_word(address, 255),
                DSRTP_ERR_INVALID_ARG);
    const dsrtp_sdp_session *s = &sdp->view.session;
    char text[LINE_CAP];
    int n = snprintf(text, sizeof text, "%s %s %llu IN %s %s", s->origin_username,
                     s->origin_sess_id, (unsigned long long)sess_version, family_of(address),
                     address);
    DSRTP_CHECK(n > 0 && (size_t)n < sizeof text, DSRTP_ERR_INVALID_ARG);
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 1);
    sdp_edit_replace(&e, 1, 'o', text);
    return sdp_edit_commit(sdp, &e);
}

dsrtp_err dsrtp_sdp_set_line(dsrtp_sdp *sdp, size_t section, char type, const char *value)
{
    DSRTP_CHECK(sdp != NULL && value != NULL, DSRTP_ERR_INVALID_ARG);
    bool allowed = false;
    for (const char *t = "siuepcbtrzk"; *t != '\0'; t++) {
        allowed = allowed || *t == type;
    }
    DSRTP_CHECK(allowed, DSRTP_ERR_INVALID_ARG);
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 1);
    edit_set_line(&e, section, type, value);
    return sdp_edit_commit(sdp, &e);
}

dsrtp_err dsrtp_sdp_add_media(dsrtp_sdp *sdp, const char *media, uint16_t port,
                              const char *proto, const char *formats, size_t *index)
{
    DSRTP_CHECK(sdp != NULL && media != NULL && proto != NULL && formats != NULL &&
                    plain_word(media, 64) && plain_word(proto, 64),
                DSRTP_ERR_INVALID_ARG);
    char text[LINE_CAP];
    int n = snprintf(text, sizeof text, "%s %u %s %s", media, (unsigned)port, proto, formats);
    DSRTP_CHECK(n > 0 && (size_t)n < sizeof text, DSRTP_ERR_INVALID_ARG);
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 1);
    sdp_edit_insert(&e, e.count, 'm', text);
    DSRTP_TRY(sdp_edit_commit(sdp, &e));
    if (index != NULL) {
        *index = sdp->view.media_count - 1;
    }
    return DSRTP_OK;
}

/* The m= line of media i with a new port and proto; formats as they are. */
static dsrtp_err compose_m(const dsrtp_sdp_media *m, uint16_t port, const char *proto,
                           char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s %u %s", m->media, (unsigned)port, proto);
    DSRTP_CHECK(n > 0 && (size_t)n < cap, DSRTP_ERR_INVALID_ARG);
    size_t used = (size_t)n;
    for (size_t i = 0; i < m->format_count; i++) {
        n = snprintf(out + used, cap - used, " %s", m->formats[i]);
        DSRTP_CHECK(n > 0 && (size_t)n < cap - used, DSRTP_ERR_INVALID_ARG);
        used += (size_t)n;
    }
    return DSRTP_OK;
}

static dsrtp_err rewrite_m(dsrtp_sdp *sdp, size_t i, uint16_t port, const char *proto)
{
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(sdp, i);
    DSRTP_CHECK(m != NULL && proto != NULL && plain_word(proto, 64), DSRTP_ERR_INVALID_ARG);
    char text[LINE_CAP];
    DSRTP_TRY(compose_m(m, port, proto, text, sizeof text));
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 1);
    sdp_edit_replace(&e, sdp->view.media_line[i], 'm', text);
    return sdp_edit_commit(sdp, &e);
}

dsrtp_err dsrtp_sdp_set_port(dsrtp_sdp *sdp, size_t i, uint16_t port)
{
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(sdp, i);
    DSRTP_CHECK(m != NULL, DSRTP_ERR_INVALID_ARG);
    return rewrite_m(sdp, i, port, m->proto_text);
}

dsrtp_err dsrtp_sdp_set_proto(dsrtp_sdp *sdp, size_t i, const char *proto)
{
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(sdp, i);
    DSRTP_CHECK(m != NULL, DSRTP_ERR_INVALID_ARG);
    return rewrite_m(sdp, i, m->port, proto);
}

static dsrtp_err compose_c(const char *address, char *out, size_t cap)
{
    DSRTP_CHECK(address != NULL && plain_word(address, 255), DSRTP_ERR_INVALID_ARG);
    int n = snprintf(out, cap, "IN %s %s", family_of(address), address);
    DSRTP_CHECK(n > 0 && (size_t)n < cap, DSRTP_ERR_INVALID_ARG);
    return DSRTP_OK;
}

dsrtp_err dsrtp_sdp_set_connection(dsrtp_sdp *sdp, size_t section, const char *address)
{
    DSRTP_CHECK(sdp != NULL, DSRTP_ERR_INVALID_ARG);
    char text[300];
    DSRTP_TRY(compose_c(address, text, sizeof text));
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 1);
    edit_set_line(&e, section, 'c', text);
    return sdp_edit_commit(sdp, &e);
}

dsrtp_err dsrtp_sdp_add_attr(dsrtp_sdp *sdp, size_t section, const char *name,
                             const char *value)
{
    DSRTP_CHECK(sdp != NULL && name != NULL && sdp_is_token(name), DSRTP_ERR_INVALID_ARG);
    char text[LINE_CAP];
    int n = value != NULL ? snprintf(text, sizeof text, "%s:%s", name, value)
                          : snprintf(text, sizeof text, "%s", name);
    DSRTP_CHECK(n > 0 && (size_t)n < sizeof text, DSRTP_ERR_INVALID_ARG);
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 1);
    edit_append(&e, section, 'a', text);
    dsrtp_err r = sdp_edit_commit(sdp, &e);
    dsrtp_wipe(text, sizeof text); /* it may have been a key or password */
    return r;
}

dsrtp_err dsrtp_sdp_remove_attr(dsrtp_sdp *sdp, size_t section, const char *name,
                                size_t *removed)
{
    DSRTP_CHECK(sdp != NULL && name != NULL, DSRTP_ERR_INVALID_ARG);
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 0);
    size_t n = edit_remove_if(&e, section, is_attr, name);
    DSRTP_TRY(sdp_edit_commit(sdp, &e));
    if (removed != NULL) {
        *removed = n;
    }
    return DSRTP_OK;
}

static bool is_direction(const sdp_line *ln, const char *arg)
{
    (void)arg;
    return sdp_attr_is(ln, "sendrecv") || sdp_attr_is(ln, "sendonly") ||
           sdp_attr_is(ln, "recvonly") || sdp_attr_is(ln, "inactive");
}

dsrtp_err dsrtp_sdp_set_direction(dsrtp_sdp *sdp, size_t section, dsrtp_sdp_direction dir)
{
    DSRTP_CHECK(sdp != NULL && dir >= DSRTP_SDP_DIR_NONE && dir <= DSRTP_SDP_DIR_INACTIVE,
                DSRTP_ERR_INVALID_ARG);
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 1);
    edit_remove_if(&e, section, is_direction, NULL);
    if (dir != DSRTP_SDP_DIR_NONE) {
        edit_append(&e, section, 'a', dsrtp_sdp_direction_name(dir));
    }
    return sdp_edit_commit(sdp, &e);
}

dsrtp_err dsrtp_sdp_set_transport(dsrtp_sdp *sdp, size_t i, const dsrtp_sdp_transport *t)
{
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(sdp, i);
    DSRTP_CHECK(m != NULL && t != NULL && (t->proto == NULL || plain_word(t->proto, 64)),
                DSRTP_ERR_INVALID_ARG);
    char mline[LINE_CAP];
    char cline[300];
    DSRTP_TRY(compose_m(m, t->port, t->proto != NULL ? t->proto : m->proto_text, mline,
                        sizeof mline));
    if (t->address != NULL) {
        DSRTP_TRY(compose_c(t->address, cline, sizeof cline));
    }
    sdp_edit e;
    sdp_edit_begin(sdp, &e, 2);
    sdp_edit_replace(&e, sdp->view.media_line[i], 'm', mline);
    if (t->address != NULL) {
        edit_set_line(&e, i, 'c', cline);
    }
    edit_remove_if(&e, i, is_attr, "rtcp");
    edit_remove_if(&e, i, is_attr, "rtcp-mux");
    if (t->rtcp_mux) {
        edit_append(&e, i, 'a', "rtcp-mux");
    }
    return sdp_edit_commit(sdp, &e);
}

/* RFC 8839 (ice-*, candidates), 8840, 5763, 4145, 8842, 4568: the transport's keying. */
static bool is_keying(const sdp_line *ln, const char *arg)
{
    (void)arg;
    static const char *const names[] = {"fingerprint", "setup",     "tls-id",
                                        "crypto",      "candidate", "remote-candidates",
                                        "end-of-candidates"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (sdp_attr_is(ln, names[i])) {
            return true;
        }
    }
    return ln->type == 'a' && ln->len >= 4 && ln->text[0] == 'i' && ln->text[1] == 'c' &&
           ln->text[2] == 'e' && ln->text[3] == '-';
}

static void append_fmt(sdp_edit *e, size_t section, char *buf, const char *prefix,
                       const char *value)
{
    if (value == NULL) {
        return;
    }
    int n = snprintf(buf, LINE_CAP, "%s%s", prefix, value);
    if (n <= 0 || (size_t)n >= LINE_CAP) {
        edit_fail(e, DSRTP_ERR_INVALID_ARG);
        return;
    }
    edit_append(e, section, 'a', buf);
}

static void append_keying(sdp_edit *e, size_t i, const dsrtp_sdp_keying_attrs *k, char *buf)
{
    char fp[DSRTP_FINGERPRINT_TEXT_MAX];
    for (size_t j = 0; j < k->fingerprint_count; j++) {
        if (dsrtp_fingerprint_format(&k->fingerprints[j], fp, sizeof fp) != DSRTP_OK) {
            edit_fail(e, DSRTP_ERR_INVALID_ARG);
            return;
        }
        append_fmt(e, i, buf, "fingerprint:", fp);
    }
    if (k->setup != DSRTP_SDP_SETUP_NONE) {
        append_fmt(e, i, buf, "setup:", dsrtp_sdp_setup_name(k->setup));
    }
    append_fmt(e, i, buf, "tls-id:", k->tls_id);
    append_fmt(e, i, buf, "ice-ufrag:", k->ice_ufrag);
    append_fmt(e, i, buf, "ice-pwd:", k->ice_pwd);
    append_fmt(e, i, buf, "ice-options:", k->ice_options);
    for (size_t j = 0; j < k->crypto_count; j++) {
        memcpy(buf, "crypto:", 8);
        if (sdp_format_crypto(&k->crypto[j], buf + 7, LINE_CAP - 7) != DSRTP_OK) {
            edit_fail(e, DSRTP_ERR_INVALID_ARG);
        }
        edit_append(e, i, 'a', buf);
    }
    for (size_t j = 0; j < k->candidate_count; j++) {
        memcpy(buf, "candidate:", 11);
        if (sdp_format_candidate(&k->candidates[j], buf + 10, LINE_CAP - 10) != DSRTP_OK) {
            edit_fail(e, DSRTP_ERR_INVALID_ARG);
        }
        edit_append(e, i, 'a', buf);
    }
    if (k->end_of_candidates) {
        edit_append(e, i, 'a', "end-of-candidates");
    }
    if (k->ice_lite) {
        edit_append(e, DSRTP_SDP_SESSION, 'a', "ice-lite");
    }
}

dsrtp_err dsrtp_sdp_set_keying(dsrtp_sdp *sdp, size_t i, const dsrtp_sdp_keying_attrs *k)
{
    DSRTP_CHECK(sdp != NULL && k != NULL && i < sdp->view.media_count, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK((k->fingerprints != NULL || k->fingerprint_count == 0) &&
                    (k->crypto != NULL || k->crypto_count == 0) &&
                    (k->candidates != NULL || k->candidate_count == 0),
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(k->setup >= DSRTP_SDP_SETUP_NONE && k->setup <= DSRTP_SDP_SETUP_HOLDCONN &&
                    k->fingerprint_count <= DSRTP_SDP_MAX_FINGERPRINTS &&
                    k->crypto_count <= DSRTP_SDP_MAX_CRYPTO &&
                    k->candidate_count <= DSRTP_SDP_MAX_CANDIDATES,
                DSRTP_ERR_INVALID_ARG);
    char buf[LINE_CAP];
    sdp_edit e;
    sdp_edit_begin(sdp, &e, k->fingerprint_count + k->crypto_count + k->candidate_count + 8);
    edit_remove_if(&e, DSRTP_SDP_SESSION, is_keying, NULL);
    edit_remove_if(&e, i, is_keying, NULL);
    append_keying(&e, i, k, buf);
    dsrtp_err r = sdp_edit_commit(sdp, &e);
    dsrtp_wipe(buf, sizeof buf);
    return r;
}
