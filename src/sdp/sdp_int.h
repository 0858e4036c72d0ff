/* sdp: session descriptions as lines plus a derived, typed view.
 *
 * The lines are the truth: each is stored once, exactly as written (type letter and value,
 * no line end), and writing emits them in order. The view (dsrtp_sdp_session, one
 * dsrtp_sdp_media per m-line, and every array and string they point at) is derived from the
 * lines by sdp_derive into one arena: a fresh arena per derivation, holding a private copy
 * of the line texts that the lexer cuts into NUL-terminated tokens. Derivation is also the
 * validator: parsing and every builder end in it, and only a successful derivation replaces
 * the document's lines and view (check, then commit), so a failed call changes nothing.
 *
 * Invariants: line texts contain no NUL, CR or LF; the document always satisfies the caps in
 * dsrtp/sdp.h; the arena is wiped before it is freed (it holds decoded keys and the ICE
 * password), and so is every line. */
#ifndef DSRTP_SDP_INT_H
#define DSRTP_SDP_INT_H

#include <dsrtp/sdp.h>

#include "util/util_int.h"

/* One line: the type letter and the value after "x=", NUL-terminated. */
typedef struct sdp_line {
    size_t len;
    char type;
    bool fresh; /* made by an edit that is not committed yet */
    bool keep;  /* scratch mark during commit */
    char text[];
} sdp_line;

/* The derived view and the arena that holds it. */
typedef struct sdp_view {
    dsrtp_sdp_session session;
    dsrtp_sdp_media *media;
    size_t media_count;
    size_t media_line[DSRTP_SDP_MAX_MEDIA]; /* index of each m= line in the line array */
    unsigned char *arena;
    size_t arena_len;
} sdp_view;

struct dsrtp_sdp {
    sdp_line **lines;
    size_t line_count;
    sdp_view view;
};

/* ---- lines and commit (doc.c) ---- */

/* A new line of the given type holding text[0..len); NULL when out of memory. */
sdp_line *sdp_line_new(char type, const char *text, size_t len);
/* Wipes and frees a line. NULL does nothing. */
void sdp_line_free(sdp_line *ln);

/* A pending change: a new line array that shares unchanged lines with the document. */
typedef struct sdp_edit {
    sdp_line **lines;
    size_t count;
    size_t cap;
    dsrtp_err err; /* the first failure; later steps do nothing */
} sdp_edit;

/* Starts an edit of d with room for extra more lines. */
void sdp_edit_begin(const dsrtp_sdp *d, sdp_edit *e, size_t extra);
/* Inserts "type=text" before position pos (pos == count appends). */
void sdp_edit_insert(sdp_edit *e, size_t pos, char type, const char *text);
/* Replaces the line at pos with "type=text". */
void sdp_edit_replace(sdp_edit *e, size_t pos, char type, const char *text);
/* Removes the line at pos. */
void sdp_edit_remove(sdp_edit *e, size_t pos);
/* Derives the edited lines; on success they become d's lines and view. On failure d is
 * unchanged, the edit's new lines are freed, and a derivation error turns into
 * DSRTP_ERR_INVALID_ARG (the caller handed us text that is not valid SDP). */
dsrtp_err sdp_edit_commit(dsrtp_sdp *d, sdp_edit *e);
/* Abandons an edit, freeing its new lines. */
void sdp_edit_abort(sdp_edit *e);

/* First and one-past-last line index of a section of the edit's lines (DSRTP_SDP_SESSION or
 * a media index); false when the section does not exist. */
bool sdp_section_bounds(sdp_line *const *lines, size_t count, size_t section, size_t *first,
                        size_t *end);
/* True when line ln is "a=name" or "a=name:...". */
bool sdp_attr_is(const sdp_line *ln, const char *name);

/* ---- derivation (view.c, keying.c) ---- */

/* Per-section counts from pass 1; they size the arena and bound every array in it. */
typedef struct sdp_counts {
    size_t attrs;
    size_t fps;
    size_t crypto;
    size_t cands;
    size_t rtpmaps;
    size_t formats;
    size_t groups;
    size_t mids;
    bool has_c;
} sdp_counts;

/* A section's arrays in the arena, with their capacities. */
typedef struct sdp_slot {
    dsrtp_fingerprint *fps;
    dsrtp_sdp_crypto *crypto;
    dsrtp_sdp_candidate *cands;
    dsrtp_sdp_rtpmap *rtpmaps;
    const char **formats;
    dsrtp_sdp_group *groups;
    const char **mids;
    sdp_counts cap;
} sdp_slot;

/* What one section says about keying by itself (before session/media inheritance). */
typedef struct sdp_level {
    dsrtp_fingerprint *fps;
    size_t fp_count;
    size_t fp_unsupported;
    dsrtp_sdp_setup setup;
    const char *tls_id;
    const char *ufrag;
    const char *pwd;
    const char *options;
    bool lite;
    bool eoc;
    dsrtp_sdp_direction dir;
    dsrtp_sdp_addr conn;
} sdp_level;

/* Pass 2's state while it walks the lines. */
typedef struct sdp_fill {
    sdp_view *v;
    sdp_slot *slots;
    sdp_slot *sl;       /* the current section's arrays */
    sdp_level sess;
    sdp_level med;
    sdp_level *lv;      /* sess or med */
    dsrtp_sdp_media *m; /* NULL in the session part */
    const sdp_line *ln;
    char *text;         /* next free byte of the arena's text area */
} sdp_fill;

/* Fills the view from one a= line (w is its arena copy, cut in place). Unknown attributes
 * and known ones in a section they do not belong to are left alone. */
dsrtp_err sdp_fill_attr(sdp_fill *f, char *w, size_t len, const char **why);

/* Builds the view of lines[0..count) into *out (which the caller later clears with
 * sdp_view_clear). On DSRTP_ERR_MALFORMED *err names the line (1-based index) and reason. */
dsrtp_err sdp_derive(sdp_line *const *lines, size_t count, sdp_view *out, dsrtp_sdp_error *err);
/* Wipes and frees a view's arena and zeroes it. */
void sdp_view_clear(sdp_view *v);

/* ---- lexing (lex.c): a cursor over a private, writable copy of one value ---- */

typedef struct sdp_cur {
    dsrtp_rd r; /* r.p aliases w */
    char *w;
} sdp_cur;

sdp_cur sdp_cur_make(char *text, size_t len);
/* Skips spaces and tabs. */
void sdp_skip_ws(sdp_cur *c);
/* True when only spaces and tabs are left. */
bool sdp_at_end(sdp_cur *c);
/* The next run of non-blank bytes, NUL-terminated in place; MALFORMED when there is none. */
dsrtp_err sdp_word(sdp_cur *c, const char **out);
/* The next run of bytes up to (not including) delim, which must follow and is consumed; the
 * run must be non-empty and free of blanks. NUL-terminated in place. */
dsrtp_err sdp_until(sdp_cur *c, char delim, const char **out);
/* Everything left with surrounding blanks trimmed; MALFORMED when empty. */
dsrtp_err sdp_rest(sdp_cur *c, const char **out);
/* MALFORMED unless only blanks are left. */
dsrtp_err sdp_end(sdp_cur *c);

/* Decimal digits only (1..20 of them), value at most max. */
dsrtp_err sdp_number(const char *s, uint64_t max, uint64_t *out);
/* Character classes (RFC 8866 token-char, RFC 8839 ice-char, RFC 8842 tls-id-char). */
bool sdp_is_token(const char *s);
bool sdp_is_ice_chars(const char *s, size_t min, size_t max);
bool sdp_is_tls_id(const char *s);
/* Exact string equality without memcmp (the texts are not secret). */
bool sdp_streq(const char *a, const char *b);
/* Length of a NUL-terminated string, at most max + 1 (so callers can spot overlong ones). */
size_t sdp_strnlen(const char *s, size_t max);

/* ---- attribute values (attr.c, crypto.c) ---- */

dsrtp_err sdp_parse_addr(sdp_cur *c, dsrtp_sdp_addr *out);
dsrtp_err sdp_parse_setup(sdp_cur *c, dsrtp_sdp_setup *out);
dsrtp_err sdp_parse_candidate(sdp_cur *c, dsrtp_sdp_candidate *out, const char **why);
dsrtp_err sdp_parse_rtpmap(sdp_cur *c, dsrtp_sdp_rtpmap *out);
dsrtp_err sdp_parse_crypto(sdp_cur *c, dsrtp_sdp_crypto *out, const char **why);
/* Writes the a=crypto value of c (tag, suite from profile, keys) into out (cap bytes, NUL
 * included); the text is a secret. INVALID_ARG for an unusable entry or short buffer. */
dsrtp_err sdp_format_crypto(const dsrtp_sdp_crypto *c, char *out, size_t cap);
/* Writes a candidate value (no "candidate:" prefix). INVALID_ARG when it does not fit. */
dsrtp_err sdp_format_candidate(const dsrtp_sdp_candidate *c, char *out, size_t cap);

#endif
