/* Derivation of the typed view from the lines, in two passes. Pass 1 checks the document's
 * shape (v=, o=, s= first; which line types may appear where) and every cap, and counts
 * what the arena must hold. Pass 2 copies each line into the arena, cuts the copy into
 * tokens and fills the view; media-level values override session-level ones at the end of
 * each m-section. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp_int.h"

/* ---- pass 1: shape, caps, counts ---- */


static dsrtp_err fail(dsrtp_sdp_error *err, size_t line, const char *why)
{
    if (err != NULL) {
        err->line = line;
        err->reason = why;
    }
    return DSRTP_ERR_MALFORMED;
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    bool in_word = false;
    for (; *s != '\0'; s++) {
        bool blank = *s == ' ' || *s == '\t';
        if (!blank && !in_word) {
            n++;
        }
        in_word = !blank;
    }
    return n;
}

static bool has_char(const char *set, char ch)
{
    for (; *set != '\0'; set++) {
        if (*set == ch) {
            return true;
        }
    }
    return false;
}

static bool clean_text(const sdp_line *ln)
{
    if (ln->len > DSRTP_SDP_MAX_LINE_LEN - 2) {
        return false;
    }
    for (size_t i = 0; i < ln->len; i++) {
        if (ln->text[i] == '\0' || ln->text[i] == '\r' || ln->text[i] == '\n') {
            return false;
        }
    }
    return true;
}

/* Counts the attributes of one a= line into c, enforcing the per-section caps. */
static const char *count_attr(const sdp_line *ln, bool media, sdp_counts *c)
{
    if (++c->attrs > DSRTP_SDP_MAX_ATTRS) {
        return "too many attributes in one section";
    }
    if (sdp_attr_is(ln, "fingerprint") && ++c->fps > DSRTP_SDP_MAX_FINGERPRINTS) {
        return "too many a=fingerprint lines";
    }
    if (media && sdp_attr_is(ln, "crypto") && ++c->crypto > DSRTP_SDP_MAX_CRYPTO) {
        return "too many a=crypto lines";
    }
    if (media && sdp_attr_is(ln, "candidate") && ++c->cands > DSRTP_SDP_MAX_CANDIDATES) {
        return "too many a=candidate lines";
    }
    if (media && sdp_attr_is(ln, "rtpmap") && ++c->rtpmaps > DSRTP_SDP_MAX_RTPMAPS) {
        return "too many a=rtpmap lines";
    }
    if (!media && sdp_attr_is(ln, "group")) {
        size_t words = count_words(ln->text);
        if (++c->groups > DSRTP_SDP_MAX_GROUPS) {
            return "too many a=group lines";
        }
        if (words > DSRTP_SDP_MAX_GROUP_MIDS + 1) {
            return "too many tags in one a=group";
        }
        c->mids += words > 0 ? words - 1 : 0;
    }
    return NULL;
}

static dsrtp_err shape(sdp_line *const *lines, size_t n, sdp_counts *cnt, sdp_view *v,
                       size_t *text_bytes, dsrtp_sdp_error *err)
{
    static const char *const missing[3] = {"document does not start with v=",
                                           "o= must be the second line",
                                           "s= must be the third line"};
    if (n > DSRTP_SDP_MAX_LINES) {
        return fail(err, DSRTP_SDP_MAX_LINES + 1, "too many lines");
    }
    for (size_t i = 0; i < 3; i++) {
        if (i >= n || lines[i]->type != "vos"[i]) {
            return fail(err, i + 1, missing[i]);
        }
    }
    size_t sect = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const sdp_line *ln = lines[i];
        char t = ln->type;
        if (!clean_text(ln)) {
            return fail(err, i + 1, "line too long or holding a control character");
        }
        bytes += ln->len + 1;
        if (i < 3) {
            continue;
        }
        if (!has_char("vosiuepcbtrzkam", t) || t == '\0') {
            return fail(err, i + 1, "unknown line type");
        }
        if (t == 'v' || t == 'o' || t == 's') {
            return fail(err, i + 1, "misplaced v=, o= or s= line");
        }
        if (t == 'm') {
            if (v->media_count == DSRTP_SDP_MAX_MEDIA) {
                return fail(err, i + 1, "too many m-lines");
            }
            v->media_line[v->media_count++] = i;
            sect = v->media_count;
            size_t words = count_words(ln->text);
            cnt[sect].formats = words > 3 ? words - 3 : 0;
            if (cnt[sect].formats > DSRTP_SDP_MAX_FORMATS) {
                return fail(err, i + 1, "too many formats on m= line");
            }
            continue;
        }
        if (sect > 0 && !has_char("icbka", t)) {
            return fail(err, i + 1, "session-level line inside a media section");
        }
        if (t == 'c') {
            if (cnt[sect].has_c) {
                return fail(err, i + 1, "duplicate c= line");
            }
            cnt[sect].has_c = true;
        }
        if (t == 'a') {
            const char *why = count_attr(ln, sect > 0, &cnt[sect]);
            if (why != NULL) {
                return fail(err, i + 1, why);
            }
        }
    }
    *text_bytes = bytes;
    return DSRTP_OK;
}

/* ---- the arena ---- */


typedef struct bump {
    unsigned char *base; /* NULL while measuring */
    size_t used;
} bump;

static void *take(bump *b, size_t size, size_t count)
{
    size_t a = alignof(max_align_t);
    b->used = (b->used + a - 1) / a * a;
    void *p = b->base != NULL && count > 0 ? b->base + b->used : NULL;
    b->used += size * count;
    return p;
}

static void layout(bump *b, const sdp_counts *cnt, size_t media_count, size_t text_bytes,
                   sdp_slot *slots, sdp_view *v, char **text)
{
    v->media = take(b, sizeof(dsrtp_sdp_media), media_count);
    for (size_t s = 0; s <= media_count; s++) {
        sdp_slot *sl = &slots[s];
        sl->cap = cnt[s];
        sl->fps = take(b, sizeof(dsrtp_fingerprint), cnt[s].fps);
        sl->crypto = take(b, sizeof(dsrtp_sdp_crypto), cnt[s].crypto);
        sl->cands = take(b, sizeof(dsrtp_sdp_candidate), cnt[s].cands);
        sl->rtpmaps = take(b, sizeof(dsrtp_sdp_rtpmap), cnt[s].rtpmaps);
        sl->formats = take(b, sizeof(const char *), cnt[s].formats);
        sl->groups = take(b, sizeof(dsrtp_sdp_group), cnt[s].groups);
        sl->mids = take(b, sizeof(const char *), cnt[s].mids);
    }
    *text = take(b, 1, text_bytes);
}

/* ---- pass 2: values ---- */


static bool digits(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9') {
            return false;
        }
    }
    return n > 0;
}

static dsrtp_err fill_origin(sdp_fill *f, sdp_cur *c, const char **why)
{
    dsrtp_sdp_session *s = &f->v->session;
    *why = "bad o= line";
    DSRTP_TRY(sdp_word(c, &s->origin_username));
    DSRTP_TRY(sdp_word(c, &s->origin_sess_id));
    DSRTP_TRY(sdp_word(c, &s->origin_sess_version));
    DSRTP_CHECK(digits(s->origin_sess_id) && digits(s->origin_sess_version),
                DSRTP_ERR_MALFORMED);
    DSRTP_TRY(sdp_parse_addr(c, &s->origin_address));
    return sdp_end(c);
}

static const struct {
    dsrtp_sdp_proto proto;
    const char *name;
} protos[] = {
    {DSRTP_SDP_PROTO_RTP_AVP, "RTP/AVP"},
    {DSRTP_SDP_PROTO_RTP_AVPF, "RTP/AVPF"},
    {DSRTP_SDP_PROTO_RTP_SAVP, "RTP/SAVP"},
    {DSRTP_SDP_PROTO_RTP_SAVPF, "RTP/SAVPF"},
    {DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVP, "UDP/TLS/RTP/SAVP"},
    {DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVPF, "UDP/TLS/RTP/SAVPF"},
};

const char *dsrtp_sdp_proto_name(dsrtp_sdp_proto p)
{
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        if (protos[i].proto == p) {
            return protos[i].name;
        }
    }
    return "";
}

/* RFC 8866 §9: proto = token *("/" token). */
static bool proto_ok(const char *s)
{
    size_t run = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '/') {
            if (run == 0) {
                return false;
            }
            run = 0;
        } else {
            char one[2] = {s[i], '\0'};
            if (!sdp_is_token(one)) {
                return false;
            }
            run++;
        }
    }
    return run > 0;
}

/* "<media> <port>[/<count>] <proto> <fmt> ..." (RFC 8866 §5.14). */
static dsrtp_err fill_media(sdp_fill *f, sdp_cur *c, const char **why)
{
    dsrtp_sdp_media *m = f->m;
    char *port;
    const char *s;
    uint64_t v;
    *why = "bad media type on m= line";
    DSRTP_TRY(sdp_word(c, &m->media));
    DSRTP_CHECK(sdp_is_token(m->media), DSRTP_ERR_MALFORMED);
    *why = "bad port on m= line";
    DSRTP_TRY(sdp_word(c, &s));
    port = c->w + (s - c->w);
    m->port_count = 1;
    for (size_t i = 0; port[i] != '\0'; i++) {
        if (port[i] == '/') {
            port[i] = '\0';
            DSRTP_TRY(sdp_number(port + i + 1, 65535, &v));
            DSRTP_CHECK(v >= 1, DSRTP_ERR_MALFORMED);
            m->port_count = (uint16_t)v;
            break;
        }
    }
    DSRTP_TRY(sdp_number(port, 65535, &v));
    m->port = (uint16_t)v;
    *why = "bad proto on m= line";
    DSRTP_TRY(sdp_word(c, &m->proto_text));
    DSRTP_CHECK(proto_ok(m->proto_text), DSRTP_ERR_MALFORMED);
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        if (sdp_streq(m->proto_text, protos[i].name)) {
            m->proto = protos[i].proto;
        }
    }
    *why = "bad format on m= line";
    const char **fmts = f->sl->formats;
    while (!sdp_at_end(c)) {
        DSRTP_CHECK(m->format_count < f->sl->cap.formats, DSRTP_ERR_INTERNAL);
        DSRTP_TRY(sdp_word(c, &s));
        DSRTP_CHECK(sdp_is_token(s), DSRTP_ERR_MALFORMED);
        fmts[m->format_count++] = s;
    }
    *why = "m= line without formats";
    DSRTP_CHECK(m->format_count > 0, DSRTP_ERR_MALFORMED);
    m->formats = fmts;
    return DSRTP_OK;
}

/* Closes the current m-section: its own values where it has them, the session's otherwise. */
static void finish_media(sdp_fill *f)
{
    dsrtp_sdp_media *m = f->m;
    const sdp_level *s = &f->sess;
    const sdp_level *l = &f->med;
    bool own_fps = l->fp_count + l->fp_unsupported > 0;
    const sdp_level *fp = own_fps ? l : s;
    m->fingerprints = fp->fp_count > 0 ? fp->fps : NULL;
    m->fingerprint_count = fp->fp_count;
    m->unsupported_fingerprints = fp->fp_unsupported;
    m->fingerprints_from_session = !own_fps && s->fp_count + s->fp_unsupported > 0;
    m->setup = l->setup != DSRTP_SDP_SETUP_NONE ? l->setup : s->setup;
    m->tls_id = l->tls_id != NULL ? l->tls_id : s->tls_id;
    m->ice_ufrag = l->ufrag != NULL ? l->ufrag : s->ufrag;
    m->ice_pwd = l->pwd != NULL ? l->pwd : s->pwd;
    m->ice_options = l->options != NULL ? l->options : s->options;
    m->ice_lite = l->lite || s->lite;
    m->end_of_candidates = l->eoc || s->eoc;
    m->direction = l->dir != DSRTP_SDP_DIR_NONE   ? l->dir
                   : s->dir != DSRTP_SDP_DIR_NONE ? s->dir
                                                  : DSRTP_SDP_DIR_SENDRECV;
    m->connection_from_session = l->conn.family == DSRTP_SDP_ADDR_NONE;
    m->connection = m->connection_from_session ? s->conn : l->conn;
    if (m->crypto_count == 0) {
        m->crypto = NULL;
    }
    if (m->candidate_count == 0) {
        m->candidates = NULL;
    }
    if (m->rtpmap_count == 0) {
        m->rtpmaps = NULL;
    }
}

static void finish_session(sdp_fill *f)
{
    dsrtp_sdp_session *s = &f->v->session;
    const sdp_level *l = &f->sess;
    s->fingerprints = l->fp_count > 0 ? l->fps : NULL;
    s->fingerprint_count = l->fp_count;
    s->unsupported_fingerprints = l->fp_unsupported;
    s->setup = l->setup;
    s->tls_id = l->tls_id;
    s->ice_ufrag = l->ufrag;
    s->ice_pwd = l->pwd;
    s->ice_options = l->options;
    s->ice_lite = l->lite;
    s->end_of_candidates = l->eoc;
    s->direction = l->dir;
    s->connection = l->conn;
}

static void start_media(sdp_fill *f, size_t index)
{
    if (f->m != NULL) {
        finish_media(f);
    } else {
        finish_session(f);
    }
    f->sl = &f->slots[index + 1];
    f->m = &f->v->media[index];
    f->m->crypto = f->sl->crypto;
    f->m->candidates = f->sl->cands;
    f->m->rtpmaps = f->sl->rtpmaps;
    memset(&f->med, 0, sizeof f->med);
    f->med.fps = f->sl->fps;
    f->lv = &f->med;
}

static dsrtp_err fill_line(sdp_fill *f, size_t *media_seen, const char **why)
{
    const sdp_line *ln = f->ln;
    char *w = f->text;
    memcpy(w, ln->text, ln->len + 1);
    f->text += ln->len + 1;
    sdp_cur c = sdp_cur_make(w, ln->len);
    const char *s;
    switch (ln->type) {
    case 'v':
        *why = "unsupported SDP version (want v=0)";
        DSRTP_CHECK(ln->len == 1 && w[0] == '0', DSRTP_ERR_MALFORMED);
        return DSRTP_OK;
    case 'o': return fill_origin(f, &c, why);
    case 's': f->v->session.name = w; return DSRTP_OK;
    case 'c':
        *why = "bad c= line";
        DSRTP_TRY(sdp_parse_addr(&c, &f->lv->conn));
        return sdp_end(&c);
    case 't':
        *why = "bad t= line";
        for (int i = 0; i < 2; i++) {
            DSRTP_TRY(sdp_word(&c, &s));
            DSRTP_CHECK(digits(s), DSRTP_ERR_MALFORMED);
        }
        return sdp_end(&c);
    case 'm':
        start_media(f, (*media_seen)++);
        return fill_media(f, &c, why);
    case 'a': return sdp_fill_attr(f, w, ln->len, why);
    default: return DSRTP_OK; /* i, u, e, p, b, r, z, k: kept as written */
    }
}

void sdp_view_clear(sdp_view *v)
{
    if (v->arena != NULL) {
        dsrtp_wipe(v->arena, v->arena_len);
        free(v->arena);
    }
    memset(v, 0, sizeof *v);
}

dsrtp_err sdp_derive(sdp_line *const *lines, size_t count, sdp_view *out, dsrtp_sdp_error *err)
{
    sdp_counts cnt[DSRTP_SDP_MAX_MEDIA + 1];
    sdp_slot slots[DSRTP_SDP_MAX_MEDIA + 1];
    sdp_view v;
    size_t text_bytes = 0;
    char *text = NULL;
    memset(cnt, 0, sizeof cnt);
    memset(&v, 0, sizeof v);
    DSRTP_TRY(shape(lines, count, cnt, &v, &text_bytes, err));

    bump b = {NULL, 0};
    layout(&b, cnt, v.media_count, text_bytes, slots, &v, &text);
    v.arena_len = b.used;
    v.arena = calloc(1, b.used);
    if (v.arena == NULL) {
        if (err != NULL) {
            err->line = 0;
            err->reason = "out of memory";
        }
        return DSRTP_ERR_NO_MEMORY;
    }
    b.base = v.arena;
    b.used = 0;
    layout(&b, cnt, v.media_count, text_bytes, slots, &v, &text);

    sdp_fill f;
    memset(&f, 0, sizeof f);
    f.v = &v;
    f.slots = slots;
    f.sl = &slots[0];
    f.sess.fps = slots[0].fps;
    f.lv = &f.sess;
    f.text = text;
    size_t media_seen = 0;
    for (size_t i = 0; i < count; i++) {
        const char *why = "malformed line";
        f.ln = lines[i];
        dsrtp_err e = fill_line(&f, &media_seen, &why);
        if (e != DSRTP_OK) {
            sdp_view_clear(&v);
            if (e == DSRTP_ERR_MALFORMED) {
                return fail(err, i + 1, why);
            }
            return e;
        }
    }
    if (f.m != NULL) {
        finish_media(&f);
    } else {
        finish_session(&f);
    }
    *out = v;
    return DSRTP_OK;
}
