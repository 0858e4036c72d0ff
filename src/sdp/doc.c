/* The document: splitting text into lines, writing lines back as text, lifetime, the edit
 * and commit machinery the builders use, and the read-only accessors. */
#include <stdlib.h>
#include <string.h>

#include "sdp/sdp_int.h"

sdp_line *sdp_line_new(char type, const char *text, size_t len)
{
    DSRTP_CHECK(len <= DSRTP_SDP_MAX_LINE_LEN, NULL);
    sdp_line *ln = malloc(sizeof *ln + len + 1);
    if (ln == NULL) {
        return NULL;
    }
    ln->len = len;
    ln->type = type;
    ln->fresh = false;
    ln->keep = false;
    memcpy(ln->text, text, len);
    ln->text[len] = '\0';
    return ln;
}

void sdp_line_free(sdp_line *ln)
{
    if (ln != NULL) {
        dsrtp_wipe(ln, sizeof *ln + ln->len + 1);
        free(ln);
    }
}

static void free_lines(sdp_line **lines, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        sdp_line_free(lines[i]);
    }
    free(lines);
}

void dsrtp_sdp_free(dsrtp_sdp *sdp)
{
    if (sdp == NULL) {
        return;
    }
    free_lines(sdp->lines, sdp->line_count);
    sdp_view_clear(&sdp->view);
    free(sdp);
}

static dsrtp_err split_fail(dsrtp_sdp_error *err, size_t line, const char *why)
{
    if (err != NULL) {
        err->line = line;
        err->reason = why;
    }
    return DSRTP_ERR_MALFORMED;
}

/* Length of the line at the cursor, up to (not including) its CR LF, LF, or the end. */
static dsrtp_err line_length(const dsrtp_rd *r, size_t *len, const char **why)
{
    size_t n = 0;
    size_t left = dsrtp_rd_left(r);
    const uint8_t *p = r->p + r->pos;
    while (n < left && p[n] != '\n') {
        *why = "NUL byte in line";
        DSRTP_CHECK(p[n] != '\0', DSRTP_ERR_MALFORMED);
        /* RFC 8866 §5: lines end in CRLF; a CR anywhere else is not text. */
        *why = "CR not followed by LF";
        DSRTP_CHECK(p[n] != '\r' || n + 1 == left || p[n + 1] == '\n', DSRTP_ERR_MALFORMED);
        if (p[n] == '\r') {
            break;
        }
        n++;
        *why = "line too long";
        DSRTP_CHECK(n <= DSRTP_SDP_MAX_LINE_LEN, DSRTP_ERR_MALFORMED);
    }
    *len = n;
    return DSRTP_OK;
}

static bool known_type(char t)
{
    for (const char *k = "vosiuepcbtrzkam"; *k != '\0'; k++) {
        if (*k == t) {
            return true;
        }
    }
    return false;
}

/* Splits text into lines; an empty line is allowed only among the last ones. */
static dsrtp_err split(const char *text, size_t len, sdp_line ***out, size_t *out_count,
                       dsrtp_sdp_error *err)
{
    dsrtp_rd r = dsrtp_rd_make((const uint8_t *)text, len);
    sdp_line **lines = NULL;
    size_t count = 0;
    size_t lineno = 0;
    size_t first_blank = 0;
    dsrtp_err e = DSRTP_OK;
    while (e == DSRTP_OK && dsrtp_rd_left(&r) > 0) {
        const char *why = "malformed line";
        const uint8_t *p = NULL;
        size_t n = 0;
        lineno++;
        if (lineno > DSRTP_SDP_MAX_LINES) {
            e = split_fail(err, lineno, "too many lines");
            break;
        }
        if (line_length(&r, &n, &why) != DSRTP_OK) {
            e = split_fail(err, lineno, why);
            break;
        }
        if (dsrtp_rd_take(&r, n, &p) != DSRTP_OK) {
            e = DSRTP_ERR_INTERNAL;
            break;
        }
        uint8_t end;
        if (dsrtp_rd_u8(&r, &end) == DSRTP_OK && end == '\r') {
            (void)dsrtp_rd_skip(&r, dsrtp_rd_left(&r) > 0 ? 1 : 0);
        }
        if (n == 0) {
            first_blank = first_blank != 0 ? first_blank : lineno;
            continue;
        }
        if (first_blank != 0) {
            e = split_fail(err, first_blank, "empty line");
            break;
        }
        bool letter = (p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z');
        if (n < 2 || !letter || p[1] != '=') {
            e = split_fail(err, lineno, "line is not <letter>=<value>");
            break;
        }
        /* RFC 8866 §5: a description with a type letter we do not know is not ours to keep. */
        if (!known_type((char)p[0])) {
            e = split_fail(err, lineno, "unknown line type");
            break;
        }
        sdp_line *ln = NULL;
        if (count % 64 == 0) {
            sdp_line **grown = realloc(lines, (count + 64) * sizeof *lines);
            if (grown == NULL) {
                e = DSRTP_ERR_NO_MEMORY;
                break;
            }
            lines = grown;
        }
        ln = sdp_line_new((char)p[0], (const char *)p + 2, n - 2);
        if (ln == NULL) {
            e = DSRTP_ERR_NO_MEMORY;
            break;
        }
        lines[count++] = ln;
    }
    if (e == DSRTP_OK && count == 0) {
        e = split_fail(err, 1, "empty document");
    }
    if (e != DSRTP_OK) {
        free_lines(lines, count);
        return e;
    }
    *out = lines;
    *out_count = count;
    return DSRTP_OK;
}

dsrtp_err dsrtp_sdp_parse(const char *text, size_t len, dsrtp_sdp **out, dsrtp_sdp_error *err)
{
    DSRTP_CHECK(out != NULL && (text != NULL || len == 0), DSRTP_ERR_INVALID_ARG);
    sdp_line **lines = NULL;
    size_t count = 0;
    DSRTP_TRY(split(text, len, &lines, &count, err));
    dsrtp_sdp *d = calloc(1, sizeof *d);
    if (d == NULL) {
        free_lines(lines, count);
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_err e = sdp_derive(lines, count, &d->view, err);
    if (e != DSRTP_OK) {
        free_lines(lines, count);
        free(d);
        return e;
    }
    d->lines = lines;
    d->line_count = count;
    *out = d;
    return DSRTP_OK;
}

dsrtp_err dsrtp_sdp_clone(const dsrtp_sdp *sdp, dsrtp_sdp **out)
{
    DSRTP_CHECK(sdp != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp *d = calloc(1, sizeof *d);
    sdp_line **lines = calloc(sdp->line_count, sizeof *lines);
    dsrtp_err e = d != NULL && lines != NULL ? DSRTP_OK : DSRTP_ERR_NO_MEMORY;
    size_t n = 0;
    for (; e == DSRTP_OK && n < sdp->line_count; n++) {
        const sdp_line *src = sdp->lines[n];
        lines[n] = sdp_line_new(src->type, src->text, src->len);
        if (lines[n] == NULL) {
            e = DSRTP_ERR_NO_MEMORY;
        }
    }
    if (e == DSRTP_OK) {
        e = sdp_derive(lines, n, &d->view, NULL);
    }
    if (e != DSRTP_OK) {
        free_lines(lines, n);
        free(d);
        return e == DSRTP_ERR_MALFORMED ? DSRTP_ERR_INTERNAL : e;
    }
    d->lines = lines;
    d->line_count = n;
    *out = d;
    return DSRTP_OK;
}

dsrtp_err dsrtp_sdp_write(const dsrtp_sdp *sdp, char *out, size_t out_cap, size_t *out_len)
{
    DSRTP_CHECK(sdp != NULL && out_len != NULL && (out != NULL || out_cap == 0),
                DSRTP_ERR_INVALID_ARG);
    size_t need = 0;
    for (size_t i = 0; i < sdp->line_count; i++) {
        need += sdp->lines[i]->len + 4; /* "x=" and CRLF */
    }
    if (out_cap < need + 1) {
        *out_len = need + 1;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }
    dsrtp_wr w = dsrtp_wr_make((uint8_t *)out, out_cap);
    for (size_t i = 0; i < sdp->line_count; i++) {
        const sdp_line *ln = sdp->lines[i];
        uint8_t head[2] = {(uint8_t)ln->type, '='};
        DSRTP_TRY(dsrtp_wr_bytes(&w, head, 2));
        DSRTP_TRY(dsrtp_wr_bytes(&w, ln->text, ln->len));
        DSRTP_TRY(dsrtp_wr_bytes(&w, "\r\n", 2));
    }
    DSRTP_TRY(dsrtp_wr_u8(&w, 0));
    *out_len = need;
    return DSRTP_OK;
}

const dsrtp_sdp_session *dsrtp_sdp_get_session(const dsrtp_sdp *sdp)
{
    return sdp != NULL ? &sdp->view.session : NULL;
}

size_t dsrtp_sdp_media_count(const dsrtp_sdp *sdp)
{
    return sdp != NULL ? sdp->view.media_count : 0;
}

const dsrtp_sdp_media *dsrtp_sdp_get_media(const dsrtp_sdp *sdp, size_t i)
{
    return sdp != NULL && i < sdp->view.media_count ? &sdp->view.media[i] : NULL;
}

bool sdp_attr_is(const sdp_line *ln, const char *name)
{
    if (ln->type != 'a') {
        return false;
    }
    size_t i = 0;
    for (; name[i] != '\0'; i++) {
        if (i >= ln->len || ln->text[i] != name[i]) {
            return false;
        }
    }
    return i == ln->len || ln->text[i] == ':';
}

bool sdp_section_bounds(sdp_line *const *lines, size_t count, size_t section, size_t *first,
                        size_t *end)
{
    size_t want = section == DSRTP_SDP_SESSION ? 0 : section + 1;
    size_t seen = 0;
    size_t start = 0;
    bool found = want == 0;
    for (size_t i = 0; i < count; i++) {
        if (lines[i]->type != 'm') {
            continue;
        }
        seen++;
        if (found) {
            *first = start;
            *end = i;
            return true;
        }
        if (seen == want) {
            found = true;
            start = i;
        }
    }
    if (found) {
        *first = start;
        *end = count;
    }
    return found;
}

const char *dsrtp_sdp_find_attr(const dsrtp_sdp *sdp, size_t section, const char *name,
                                size_t nth)
{
    size_t first;
    size_t end;
    if (sdp == NULL || name == NULL ||
        !sdp_section_bounds(sdp->lines, sdp->line_count, section, &first, &end)) {
        return NULL;
    }
    size_t name_len = sdp_strnlen(name, DSRTP_SDP_MAX_LINE_LEN);
    for (size_t i = first; i < end; i++) {
        const sdp_line *ln = sdp->lines[i];
        if (sdp_attr_is(ln, name) && nth-- == 0) {
            return name_len < ln->len ? ln->text + name_len + 1 : ln->text + ln->len;
        }
    }
    return NULL;
}

/* ---- edits ---- */

void sdp_edit_begin(const dsrtp_sdp *d, sdp_edit *e, size_t extra)
{
    e->count = d->line_count;
    e->cap = d->line_count + extra + 1;
    e->err = DSRTP_OK;
    e->lines = malloc(e->cap * sizeof *e->lines);
    if (e->lines == NULL) {
        e->err = DSRTP_ERR_NO_MEMORY;
        e->count = 0;
        return;
    }
    for (size_t i = 0; i < d->line_count; i++) {
        e->lines[i] = d->lines[i];
    }
}

void sdp_edit_insert(sdp_edit *e, size_t pos, char type, const char *text)
{
    if (e->err != DSRTP_OK) {
        return;
    }
    if (pos > e->count || text == NULL) {
        e->err = DSRTP_ERR_INVALID_ARG;
        return;
    }
    if (e->count == e->cap) {
        sdp_line **grown = realloc(e->lines, (e->cap * 2) * sizeof *grown);
        if (grown == NULL) {
            e->err = DSRTP_ERR_NO_MEMORY;
            return;
        }
        e->lines = grown;
        e->cap *= 2;
    }
    size_t len = sdp_strnlen(text, DSRTP_SDP_MAX_LINE_LEN);
    if (len > DSRTP_SDP_MAX_LINE_LEN - 2) {
        e->err = DSRTP_ERR_INVALID_ARG;
        return;
    }
    sdp_line *ln = sdp_line_new(type, text, len);
    if (ln == NULL) {
        e->err = DSRTP_ERR_NO_MEMORY;
        return;
    }
    ln->fresh = true;
    memmove(e->lines + pos + 1, e->lines + pos, (e->count - pos) * sizeof *e->lines);
    e->lines[pos] = ln;
    e->count++;
}

void sdp_edit_remove(sdp_edit *e, size_t pos)
{
    if (e->err != DSRTP_OK) {
        return;
    }
    if (pos >= e->count) {
        e->err = DSRTP_ERR_INVALID_ARG;
        return;
    }
    if (e->lines[pos]->fresh) {
        sdp_line_free(e->lines[pos]);
    }
    memmove(e->lines + pos, e->lines + pos + 1, (e->count - pos - 1) * sizeof *e->lines);
    e->count--;
}

void sdp_edit_replace(sdp_edit *e, size_t pos, char type, const char *text)
{
    sdp_edit_remove(e, pos);
    sdp_edit_insert(e, pos, type, text);
}

void sdp_edit_abort(sdp_edit *e)
{
    for (size_t i = 0; i < e->count; i++) {
        if (e->lines[i]->fresh) {
            sdp_line_free(e->lines[i]);
        }
    }
    free(e->lines);
    e->lines = NULL;
    e->count = 0;
}

dsrtp_err sdp_edit_commit(dsrtp_sdp *d, sdp_edit *e)
{
    dsrtp_err r = e->err;
    sdp_view nv;
    memset(&nv, 0, sizeof nv);
    if (r == DSRTP_OK) {
        r = sdp_derive(e->lines, e->count, &nv, NULL);
    }
    if (r != DSRTP_OK) {
        sdp_edit_abort(e);
        return r == DSRTP_ERR_MALFORMED ? DSRTP_ERR_INVALID_ARG : r;
    }
    for (size_t i = 0; i < e->count; i++) {
        e->lines[i]->keep = true;
        e->lines[i]->fresh = false;
    }
    for (size_t i = 0; i < d->line_count; i++) {
        if (!d->lines[i]->keep) {
            sdp_line_free(d->lines[i]);
        }
    }
    for (size_t i = 0; i < e->count; i++) {
        e->lines[i]->keep = false;
    }
    free(d->lines);
    d->lines = e->lines;
    d->line_count = e->count;
    sdp_view_clear(&d->view);
    d->view = nv;
    e->lines = NULL;
    return DSRTP_OK;
}
