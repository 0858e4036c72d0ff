/* `dsrtp sdp inspect FILE`: parses a session description and prints, as one JSON object,
 * the session part and each m-line's transport and keying: proto, port, address, setup,
 * fingerprints, SDES suites and tags, ICE ufrag, lite flag, rtcp-mux, mid, candidate count,
 * direction. Secrets never reach the output: no a=crypto key, and for a=ice-pwd only
 * whether one is present. Malformed input: "line N: reason" on stderr and exit status 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrtp/sdp.h>
#include <dsrtp/util.h>

#include "cmd.h"

/* Large enough for any document within the parser's caps (lines x line length). */
#define SDP_FILE_MAX ((size_t)DSRTP_SDP_MAX_LINES * (DSRTP_SDP_MAX_LINE_LEN + 2) + 1)

static const char sdp_usage_text[] =
    "usage: dsrtp sdp inspect FILE\n"
    "  Prints the session description in FILE ('-' for standard input) as JSON: the\n"
    "  session, then each m-line's proto, port, address and keying attributes. Keys and\n"
    "  ICE passwords are never printed.\n"
    "  Exit status: 0 printed, 1 FILE unreadable, 2 malformed SDP ('line N: reason' on\n"
    "  standard error) or usage error.\n";

/* ---- a small JSON writer with indentation ---- */

typedef struct json {
    FILE *f;
    int depth;
    bool first; /* nothing written yet at this depth */
} json;

static void j_indent(json *j)
{
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++) {
        fputs("  ", j->f);
    }
}

/* Writes s as a JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void j_string(json *j, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', j->f);
    while (*p != 0) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fprintf(j->f, "\\%c", c);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(j->f, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            fputc(c, j->f);
            p++;
        } else {
            size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            size_t k = 1;
            while (n > 0 && k < n && (p[k] & 0xc0) == 0x80) {
                k++;
            }
            if (n > 0 && k == n) {
                fwrite(p, 1, n, j->f);
                p += n;
            } else {
                fputs("\\ufffd", j->f);
                p++;
            }
        }
    }
    fputc('"', j->f);
}

static void j_key(json *j, const char *key)
{
    if (!j->first) {
        fputc(',', j->f);
    }
    j->first = false;
    j_indent(j);
    if (key != NULL) {
        j_string(j, key);
        fputs(": ", j->f);
    }
}

static void j_open(json *j, const char *key, char bracket)
{
    j_key(j, key);
    fputc(bracket, j->f);
    j->depth++;
    j->first = true;
}

static void j_close(json *j, char bracket)
{
    j->depth--;
    if (!j->first) {
        j_indent(j);
    }
    fputc(bracket, j->f);
    j->first = false;
}

static void j_str(json *j, const char *key, const char *v)
{
    j_key(j, key);
    if (v == NULL) {
        fputs("null", j->f);
    } else {
        j_string(j, v);
    }
}

static void j_num(json *j, const char *key, unsigned long long v)
{
    j_key(j, key);
    fprintf(j->f, "%llu", v);
}

static void j_bool(json *j, const char *key, bool v)
{
    j_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

static const char *empty_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* ---- the description ---- */

static void put_addr(json *j, const char *key, const dsrtp_sdp_addr *a)
{
    static const char *const families[] = {"none", "IP4", "IP6", "other"};
    if (a->family == DSRTP_SDP_ADDR_NONE) {
        j_str(j, key, NULL);
        return;
    }
    j_open(j, key, '{');
    j_str(j, "family", families[a->family]);
    j_str(j, "address", a->address);
    j_close(j, '}');
}

static void put_fingerprints(json *j, const dsrtp_fingerprint *fps, size_t n)
{
    char text[DSRTP_FINGERPRINT_TEXT_MAX];
    j_open(j, "fingerprints", '[');
    for (size_t i = 0; i < n; i++) {
        if (dsrtp_fingerprint_format(&fps[i], text, sizeof text) != DSRTP_OK) {
            continue;
        }
        const char *space = strchr(text, ' ');
        j_open(j, NULL, '{');
        j_str(j, "hash", dsrtp_hash_name(fps[i].hash));
        j_str(j, "value", space != NULL ? space + 1 : text);
        j_close(j, '}');
    }
    j_close(j, ']');
}

static void put_session(json *j, const dsrtp_sdp_session *s)
{
    j_open(j, "session", '{');
    j_open(j, "origin", '{');
    j_str(j, "username", s->origin_username);
    j_str(j, "sess_id", s->origin_sess_id);
    j_str(j, "sess_version", s->origin_sess_version);
    put_addr(j, "address", &s->origin_address);
    j_close(j, '}');
    j_str(j, "name", s->name);
    put_addr(j, "connection", &s->connection);
    put_fingerprints(j, s->fingerprints, s->fingerprint_count);
    j_num(j, "unsupported_fingerprints", s->unsupported_fingerprints);
    j_str(j, "setup", empty_null(dsrtp_sdp_setup_name(s->setup)));
    j_str(j, "tls_id", s->tls_id);
    j_str(j, "ice_ufrag", s->ice_ufrag);
    j_bool(j, "ice_pwd_present", s->ice_pwd != NULL);
    j_bool(j, "ice_lite", s->ice_lite);
    j_str(j, "ice_options", s->ice_options);
    j_str(j, "direction", empty_null(dsrtp_sdp_direction_name(s->direction)));
    j_open(j, "groups", '[');
    for (size_t i = 0; i < s->group_count; i++) {
        j_open(j, NULL, '{');
        j_str(j, "semantics", s->groups[i].semantics);
        j_open(j, "mids", '[');
        for (size_t k = 0; k < s->groups[i].mid_count; k++) {
            j_str(j, NULL, s->groups[i].mids[k]);
        }
        j_close(j, ']');
        j_close(j, '}');
    }
    j_close(j, ']');
    j_close(j, '}');
}

/* Suites and tags only: the inline keys are secrets. */
static void put_crypto(json *j, const dsrtp_sdp_media *m)
{
    j_open(j, "crypto", '[');
    for (size_t i = 0; i < m->crypto_count; i++) {
        const dsrtp_sdp_crypto *c = &m->crypto[i];
        j_open(j, NULL, '{');
        j_num(j, "tag", c->tag);
        j_str(j, "suite", c->suite);
        j_bool(j, "supported", c->usable);
        j_num(j, "keys", c->key_count);
        if (c->key_count > 0) {
            j_num(j, "lifetime", c->keys[0].lifetime);
            j_num(j, "mki_len", c->keys[0].mki_len);
        }
        j_bool(j, "session_params", c->session_params != NULL);
        j_close(j, '}');
    }
    j_close(j, ']');
}

static void put_media(json *j, size_t index, const dsrtp_sdp_media *m)
{
    j_open(j, NULL, '{');
    j_num(j, "index", index);
    j_str(j, "media", m->media);
    j_num(j, "port", m->port);
    j_num(j, "port_count", m->port_count);
    j_str(j, "proto", m->proto_text);
    j_open(j, "formats", '[');
    for (size_t i = 0; i < m->format_count; i++) {
        j_str(j, NULL, m->formats[i]);
    }
    j_close(j, ']');
    put_addr(j, "connection", &m->connection);
    j_bool(j, "connection_from_session", m->connection_from_session);
    j_str(j, "setup", empty_null(dsrtp_sdp_setup_name(m->setup)));
    put_fingerprints(j, m->fingerprints, m->fingerprint_count);
    j_bool(j, "fingerprints_from_session", m->fingerprints_from_session);
    j_num(j, "unsupported_fingerprints", m->unsupported_fingerprints);
    j_str(j, "tls_id", m->tls_id);
    put_crypto(j, m);
    j_str(j, "ice_ufrag", m->ice_ufrag);
    j_bool(j, "ice_pwd_present", m->ice_pwd != NULL);
    j_bool(j, "ice_lite", m->ice_lite);
    j_str(j, "ice_options", m->ice_options);
    j_num(j, "candidates", m->candidate_count);
    j_bool(j, "end_of_candidates", m->end_of_candidates);
    j_bool(j, "rtcp_mux", m->rtcp_mux);
    if (m->has_rtcp) {
        j_open(j, "rtcp", '{');
        j_num(j, "port", m->rtcp_port);
        put_addr(j, "address", &m->rtcp_address);
        j_close(j, '}');
    } else {
        j_str(j, "rtcp", NULL);
    }
    j_str(j, "mid", m->mid);
    j_str(j, "direction", dsrtp_sdp_direction_name(m->direction));
    j_open(j, "rtpmap", '[');
    for (size_t i = 0; i < m->rtpmap_count; i++) {
        const dsrtp_sdp_rtpmap *r = &m->rtpmaps[i];
        j_open(j, NULL, '{');
        j_num(j, "pt", r->payload_type);
        j_str(j, "encoding", r->encoding);
        j_num(j, "clock_rate", r->clock_rate);
        j_num(j, "channels", r->channels);
        j_close(j, '}');
    }
    j_close(j, ']');
    j_close(j, '}');
}

/* Reads all of path ('-': stdin) into a new buffer; NULL with errno-style text on failure. */
static char *read_input(const char *path, size_t *len, const char **problem)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        *problem = strerror(errno);
        return NULL;
    }
    char *buf = malloc(SDP_FILE_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, SDP_FILE_MAX + 1, f) : 0;
    bool bad = buf == NULL || ferror(f);
    if (f != stdin) {
        fclose(f);
    }
    if (bad || n > SDP_FILE_MAX) {
        *problem = bad ? "read error" : "larger than any SDP this tool accepts";
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int sdp_inspect(const char *path)
{
    const char *problem = NULL;
    size_t len = 0;
    char *text = read_input(path, &len, &problem);
    if (text == NULL) {
        fprintf(stderr, "dsrtp sdp: %s: %s\n", path, problem);
        return 1;
    }
    dsrtp_sdp *doc = NULL;
    dsrtp_sdp_error err = {0, NULL};
    dsrtp_err e = dsrtp_sdp_parse(text, len, &doc, &err);
    dsrtp_secure_wipe(text, len); /* it may hold keys and ICE passwords */
    free(text);
    if (e == DSRTP_ERR_MALFORMED) {
        fprintf(stderr, "line %zu: %s\n", err.line, err.reason);
        return 2;
    }
    if (e != DSRTP_OK) {
        fprintf(stderr, "dsrtp sdp: %s: %s\n", path, dsrtp_strerror(e));
        return 1;
    }
    json j = {stdout, 0, true};
    fputc('{', stdout);
    j.depth = 1;
    put_session(&j, dsrtp_sdp_get_session(doc));
    j_open(&j, "media", '[');
    for (size_t i = 0; i < dsrtp_sdp_media_count(doc); i++) {
        put_media(&j, i, dsrtp_sdp_get_media(doc, i));
    }
    j_close(&j, ']');
    j_close(&j, '}');
    fputc('\n', stdout);
    dsrtp_sdp_free(doc);
    return fflush(stdout) == 0 ? 0 : 1;
}

int dsrtp_cmd_sdp(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(sdp_usage_text, stdout);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "inspect") != 0) {
        fputs(sdp_usage_text, stderr);
        return 2;
    }
    return sdp_inspect(argv[2]);
}
