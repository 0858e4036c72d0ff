/* Bencode for the rtpengine "ng" control protocol: a parser into a caller-provided node
 * arena and a writer into a caller-provided buffer. Neither allocates.
 *
 * Parsing borrows: every string a node describes points into the input buffer (pointer plus
 * length, not NUL-terminated), and the nodes point at each other inside the arena. The parse
 * result is valid while both the input buffer and the arena are alive and unchanged.
 *
 * Caps: at most the arena's capacity in nodes (DSRTPD_BEN_MAX_NODES is the size the ng layer
 * uses), nesting at most DSRTPD_BEN_MAX_DEPTH containers deep, string lengths at most what is
 * left of the input, integers "i-?[0-9]+e" with no leading zero, no "-0", within int64.
 * Dictionary keys must be strings. Keys may come in any order (rtpengine does not demand
 * sorted keys). Duplicate keys are accepted and kept; lookups return the first occurrence.
 *
 * Threading: no shared state; a parsed arena or a writer is single owner. */
#ifndef DSRTPD_BENCODE_H
#define DSRTPD_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dsrtp/dsrtp.h>

#define DSRTPD_BEN_MAX_NODES 2048 /* arena size the ng layer uses for one datagram */
#define DSRTPD_BEN_MAX_DEPTH 32   /* containers nested deeper than this are refused */
#define DSRTPD_BEN_INT_MAX_DIGITS 19

typedef enum dsrtpd_ben_type {
    DSRTPD_BEN_STR = 1,
    DSRTPD_BEN_INT,
    DSRTPD_BEN_LIST,
    DSRTPD_BEN_DICT
} dsrtpd_ben_type;

/** One parsed value. Dictionary entries are the value nodes themselves: key/key_len name
 *  them (keys do not take nodes). All pointers borrow the input buffer or the arena. */
typedef struct dsrtpd_ben_node dsrtpd_ben_node;
struct dsrtpd_ben_node {
    dsrtpd_ben_type type;
    const uint8_t *str;            /* DSRTPD_BEN_STR: the bytes (may be NULL when len 0) */
    size_t len;                    /* STR: byte count; LIST: elements; DICT: entries */
    int64_t num;                   /* DSRTPD_BEN_INT: the value */
    const uint8_t *key;            /* set when the parent is a dict; else NULL */
    size_t key_len;
    const dsrtpd_ben_node *child;  /* LIST/DICT: first element/entry, NULL when empty */
    const dsrtpd_ben_node *next;   /* next sibling in the parent, NULL at the end */
    const uint8_t *raw;            /* this value's exact encoding inside the input */
    size_t raw_len;
};

/** Parses exactly one bencoded value spanning all of in[0..len) into nodes[0..cap).
 *  On success *root points at nodes[0] and *used (may be NULL) holds the node count.
 *  The input and the arena are borrowed by the result (see the file comment).
 *  Errors: DSRTP_ERR_INVALID_ARG (NULL pointers, cap 0); DSRTP_ERR_MALFORMED for any
 *  syntax error, trailing bytes, a cap exceeded (nodes, depth), or a bad integer.
 *  On error *root and *used are untouched; the arena holds garbage. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ben_parse(const uint8_t *in, size_t len,
                                            dsrtpd_ben_node *nodes, size_t cap,
                                            const dsrtpd_ben_node **root, size_t *used);

/** Returns the first entry of dict whose key equals key (a NUL-terminated C string), or
 *  NULL when dict is NULL, not a dict, or has no such key. */
const dsrtpd_ben_node *dsrtpd_ben_dict_get(const dsrtpd_ben_node *dict, const char *key);

/** Like dsrtpd_ben_dict_get, but NULL also when the value is not of the given type. */
const dsrtpd_ben_node *dsrtpd_ben_dict_get_type(const dsrtpd_ben_node *dict, const char *key,
                                                dsrtpd_ben_type type);

/** First element of a list (or first entry of a dict); NULL when empty or not a container.
 *  Iterate with: for (n = dsrtpd_ben_first(l); n != NULL; n = dsrtpd_ben_next(n)). */
const dsrtpd_ben_node *dsrtpd_ben_first(const dsrtpd_ben_node *container);

/** The sibling after n, or NULL at the end (or when n is NULL). */
const dsrtpd_ben_node *dsrtpd_ben_next(const dsrtpd_ben_node *n);

/** True when n is a string node whose bytes equal the C string s exactly (same length). */
bool dsrtpd_ben_str_eq(const dsrtpd_ben_node *n, const char *s);

/** True when the byte span (p, len) equals the C string s exactly. p may be NULL if len 0. */
bool dsrtpd_ben_bytes_eq(const uint8_t *p, size_t len, const char *s);

/** Sticky-error writer into a caller buffer. Writes never go past cap: after the first
 *  overflow nothing more is stored, but `need` keeps counting the bytes a complete
 *  encoding would take. The writer does not check that dict keys and values alternate;
 *  call dsrtpd_ben_wr_str (or _cstr) for each key, then the value. */
typedef struct dsrtpd_ben_wr {
    uint8_t *buf;
    size_t cap;
    size_t need;     /* bytes written so far, or that would have been */
    unsigned depth;  /* open containers */
    bool overflow;   /* some byte did not fit */
    bool misuse;     /* end() without an open container */
} dsrtpd_ben_wr;

/** Starts writing into buf[0..cap) (buf is borrowed until finish). buf may be NULL when
 *  cap is 0, to measure. */
void dsrtpd_ben_wr_init(dsrtpd_ben_wr *w, uint8_t *buf, size_t cap);
/** Appends bytes verbatim (no bencode framing): the ng cookie, or a pre-encoded value. */
void dsrtpd_ben_wr_raw(dsrtpd_ben_wr *w, const void *p, size_t n);
/** Opens a dictionary ('d'). Close it with dsrtpd_ben_wr_end. */
void dsrtpd_ben_wr_dict(dsrtpd_ben_wr *w);
/** Opens a list ('l'). Close it with dsrtpd_ben_wr_end. */
void dsrtpd_ben_wr_list(dsrtpd_ben_wr *w);
/** Closes the innermost open container ('e'). */
void dsrtpd_ben_wr_end(dsrtpd_ben_wr *w);
/** Writes a byte string "<len>:<bytes>". p may be NULL when n is 0. */
void dsrtpd_ben_wr_str(dsrtpd_ben_wr *w, const void *p, size_t n);
/** Writes a NUL-terminated C string as a byte string. */
void dsrtpd_ben_wr_cstr(dsrtpd_ben_wr *w, const char *s);
/** Writes an integer "i<v>e". */
void dsrtpd_ben_wr_int(dsrtpd_ben_wr *w, int64_t v);
/** Dict entry shorthands: key (C string) followed by a string / C string / int value. */
void dsrtpd_ben_wr_kv_str(dsrtpd_ben_wr *w, const char *key, const void *p, size_t n);
void dsrtpd_ben_wr_kv_cstr(dsrtpd_ben_wr *w, const char *key, const char *val);
void dsrtpd_ben_wr_kv_int(dsrtpd_ben_wr *w, const char *key, int64_t v);

/** Ends writing. On success *out_len is the byte count in buf.
 *  DSRTP_ERR_BUFFER_TOO_SMALL: something did not fit; *out_len is the size needed.
 *  DSRTP_ERR_INVALID_ARG: containers left open or closed too often. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ben_wr_finish(const dsrtpd_ben_wr *w, size_t *out_len);

/** Resumable measurement of one bencoded value at the start of a growing buffer, for
 *  streams where values arrive back to back with no other framing (ng over TCP). Zero the
 *  struct before the first call; keep the bytes already fed unchanged between calls. */
typedef struct dsrtpd_ben_scan {
    size_t pos;     /* first byte of the next unscanned token */
    unsigned depth; /* open containers */
} dsrtpd_ben_scan;

/** Scans in[0..len) from where the last call stopped. DSRTP_OK: the value is complete and
 *  *value_len is its length (bytes after it are not looked at). DSRTP_ERR_BUFFER_TOO_SMALL:
 *  the value is not complete yet; feed more bytes. DSRTP_ERR_MALFORMED: not bencode, or
 *  nested deeper than DSRTPD_BEN_MAX_DEPTH. Costs O(new bytes) per call, plus at most one
 *  token header rescanned. Only the framing is checked: parse the value afterwards. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ben_scan_feed(dsrtpd_ben_scan *s, const uint8_t *in,
                                                size_t len, size_t *value_len);

#endif
