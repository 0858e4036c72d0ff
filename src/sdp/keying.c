/* The attributes of the typed view: fingerprint, setup, tls-id, ICE credentials and
 * options, flags (ice-lite, end-of-candidates, rtcp-mux, directions), group, crypto,
 * candidate, rtcp, mid, rtpmap. Each handler parses one value from the line's arena copy
 * into the current section's level (session or media) or m-line. */
#include "sdp/sdp_int.h"

typedef dsrtp_err (*attr_fn)(sdp_fill *f, sdp_cur *c, int arg, const char **why);

static dsrtp_err at_fingerprint(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    const char *v;
    dsrtp_fingerprint fp;
    *why = "bad a=fingerprint";
    DSRTP_TRY(sdp_rest(c, &v));
    dsrtp_err e = dsrtp_fingerprint_parse(v, sdp_strnlen(v, DSRTP_SDP_MAX_LINE_LEN), &fp);
    if (e == DSRTP_ERR_UNSUPPORTED) {
        f->lv->fp_unsupported++; /* RFC 8122 §5: an unknown hash is skipped, not fatal */
        return DSRTP_OK;
    }
    DSRTP_CHECK(e == DSRTP_OK, DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(f->lv->fp_count < f->sl->cap.fps, DSRTP_ERR_INTERNAL);
    f->lv->fps[f->lv->fp_count++] = fp;
    return DSRTP_OK;
}

static dsrtp_err at_setup(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    *why = "duplicate a=setup";
    DSRTP_CHECK(f->lv->setup == DSRTP_SDP_SETUP_NONE, DSRTP_ERR_MALFORMED);
    *why = "bad a=setup value";
    return sdp_parse_setup(c, &f->lv->setup);
}

/* a=tls-id, a=ice-ufrag, a=ice-pwd: one word of a restricted alphabet, once per section. */
static dsrtp_err at_credential(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    static const char *const dup[3] = {"duplicate a=tls-id", "duplicate a=ice-ufrag",
                                       "duplicate a=ice-pwd"};
    static const char *const bad[3] = {"bad a=tls-id", "bad a=ice-ufrag", "bad a=ice-pwd"};
    const char **slotp = arg == 0 ? &f->lv->tls_id : arg == 1 ? &f->lv->ufrag : &f->lv->pwd;
    const char *v;
    *why = dup[arg];
    DSRTP_CHECK(*slotp == NULL, DSRTP_ERR_MALFORMED);
    *why = bad[arg];
    DSRTP_TRY(sdp_word(c, &v));
    DSRTP_TRY(sdp_end(c));
    /* RFC 8842 §4: 20..255 tls-id-chars; RFC 8839 §5.4: ufrag 4..256, pwd 22..256. */
    bool ok = arg == 0   ? sdp_is_tls_id(v)
              : arg == 1 ? sdp_is_ice_chars(v, 4, 256)
                         : sdp_is_ice_chars(v, 22, 256);
    DSRTP_CHECK(ok, DSRTP_ERR_MALFORMED);
    *slotp = v;
    return DSRTP_OK;
}

static dsrtp_err at_options(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    *why = "duplicate a=ice-options";
    DSRTP_CHECK(f->lv->options == NULL, DSRTP_ERR_MALFORMED);
    *why = "bad a=ice-options";
    return sdp_rest(c, &f->lv->options);
}

/* Flags: arg 0 ice-lite, 1 end-of-candidates, 2 rtcp-mux, 10+d a direction. */
static dsrtp_err at_flag(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)c;
    if (arg == 0) {
        f->lv->lite = true;
    } else if (arg == 1) {
        f->lv->eoc = true;
    } else if (arg == 2) {
        f->m->rtcp_mux = true;
    } else {
        *why = "more than one direction attribute";
        DSRTP_CHECK(f->lv->dir == DSRTP_SDP_DIR_NONE, DSRTP_ERR_MALFORMED);
        f->lv->dir = (dsrtp_sdp_direction)(arg - 10);
    }
    return DSRTP_OK;
}

static dsrtp_err at_group(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    dsrtp_sdp_session *s = &f->v->session;
    DSRTP_CHECK(s->group_count < f->sl->cap.groups, DSRTP_ERR_INTERNAL);
    dsrtp_sdp_group *g = &f->sl->groups[s->group_count];
    const char **mids = f->sl->mids;
    size_t used = 0;
    for (size_t i = 0; i < s->group_count; i++) {
        used += s->groups[i].mid_count;
    }
    *why = "bad a=group";
    DSRTP_TRY(sdp_word(c, &g->semantics));
    DSRTP_CHECK(sdp_is_token(g->semantics), DSRTP_ERR_MALFORMED);
    g->mids = mids != NULL ? mids + used : NULL; /* a group may list no tags at all */
    while (!sdp_at_end(c)) {
        const char *mid;
        DSRTP_TRY(sdp_word(c, &mid));
        DSRTP_CHECK(sdp_is_token(mid), DSRTP_ERR_MALFORMED);
        DSRTP_CHECK(used + g->mid_count < f->sl->cap.mids, DSRTP_ERR_INTERNAL);
        mids[used + g->mid_count++] = mid;
    }
    s->groups = f->sl->groups;
    s->group_count++;
    return DSRTP_OK;
}

static dsrtp_err at_crypto(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    DSRTP_CHECK(f->m->crypto_count < f->sl->cap.crypto, DSRTP_ERR_INTERNAL);
    DSRTP_TRY(sdp_parse_crypto(c, &f->sl->crypto[f->m->crypto_count], why));
    f->m->crypto_count++;
    return DSRTP_OK;
}

static dsrtp_err at_candidate(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    DSRTP_CHECK(f->m->candidate_count < f->sl->cap.cands, DSRTP_ERR_INTERNAL);
    dsrtp_sdp_candidate *k = &f->sl->cands[f->m->candidate_count];
    DSRTP_TRY(sdp_parse_candidate(c, k, why));
    k->raw = f->ln->text + sizeof "candidate:" - 1;
    f->m->candidate_count++;
    return DSRTP_OK;
}

static dsrtp_err at_rtcp(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    const char *s;
    uint64_t port;
    *why = "duplicate a=rtcp";
    DSRTP_CHECK(!f->m->has_rtcp, DSRTP_ERR_MALFORMED);
    *why = "bad a=rtcp";
    DSRTP_TRY(sdp_word(c, &s));
    DSRTP_TRY(sdp_number(s, 65535, &port));
    if (!sdp_at_end(c)) {
        DSRTP_TRY(sdp_parse_addr(c, &f->m->rtcp_address));
        DSRTP_TRY(sdp_end(c));
    }
    f->m->rtcp_port = (uint16_t)port;
    f->m->has_rtcp = true;
    return DSRTP_OK;
}

static dsrtp_err at_mid(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    const char *v;
    *why = "duplicate a=mid";
    DSRTP_CHECK(f->m->mid == NULL, DSRTP_ERR_MALFORMED);
    *why = "bad a=mid";
    DSRTP_TRY(sdp_word(c, &v));
    DSRTP_TRY(sdp_end(c));
    DSRTP_CHECK(sdp_is_token(v), DSRTP_ERR_MALFORMED);
    f->m->mid = v;
    return DSRTP_OK;
}

static dsrtp_err at_rtpmap(sdp_fill *f, sdp_cur *c, int arg, const char **why)
{
    (void)arg;
    *why = "bad a=rtpmap";
    DSRTP_CHECK(f->m->rtpmap_count < f->sl->cap.rtpmaps, DSRTP_ERR_INTERNAL);
    DSRTP_TRY(sdp_parse_rtpmap(c, &f->sl->rtpmaps[f->m->rtpmap_count]));
    f->m->rtpmap_count++;
    return DSRTP_OK;
}

enum { AT_SESSION = 1, AT_MEDIA = 2, AT_BOTH = 3 };

typedef struct attr_def {
    const char *name;
    unsigned where;
    bool flag;
    int arg;
    attr_fn fn;
} attr_def;

static const attr_def attr_defs[] = {
    {"fingerprint", AT_BOTH, false, 0, at_fingerprint},
    {"setup", AT_BOTH, false, 0, at_setup},
    {"tls-id", AT_BOTH, false, 0, at_credential},
    {"ice-ufrag", AT_BOTH, false, 1, at_credential},
    {"ice-pwd", AT_BOTH, false, 2, at_credential},
    {"ice-options", AT_BOTH, false, 0, at_options},
    {"ice-lite", AT_BOTH, true, 0, at_flag},
    {"end-of-candidates", AT_BOTH, true, 1, at_flag},
    {"sendrecv", AT_BOTH, true, 10 + DSRTP_SDP_DIR_SENDRECV, at_flag},
    {"sendonly", AT_BOTH, true, 10 + DSRTP_SDP_DIR_SENDONLY, at_flag},
    {"recvonly", AT_BOTH, true, 10 + DSRTP_SDP_DIR_RECVONLY, at_flag},
    {"inactive", AT_BOTH, true, 10 + DSRTP_SDP_DIR_INACTIVE, at_flag},
    {"group", AT_SESSION, false, 0, at_group},
    {"crypto", AT_MEDIA, false, 0, at_crypto},
    {"candidate", AT_MEDIA, false, 0, at_candidate},
    {"rtcp", AT_MEDIA, false, 0, at_rtcp},
    {"rtcp-mux", AT_MEDIA, true, 2, at_flag},
    {"mid", AT_MEDIA, false, 0, at_mid},
    {"rtpmap", AT_MEDIA, false, 0, at_rtpmap},
};

dsrtp_err sdp_fill_attr(sdp_fill *f, char *w, size_t len, const char **why)
{
    size_t colon = 0;
    while (colon < len && w[colon] != ':') {
        colon++;
    }
    bool has_value = colon < len;
    w[colon] = '\0';
    *why = "bad attribute name";
    DSRTP_CHECK(sdp_is_token(w), DSRTP_ERR_MALFORMED);
    unsigned here = f->m != NULL ? AT_MEDIA : AT_SESSION;
    for (size_t i = 0; i < sizeof attr_defs / sizeof attr_defs[0]; i++) {
        const attr_def *d = &attr_defs[i];
        if ((d->where & here) == 0 || !sdp_streq(w, d->name)) {
            continue;
        }
        *why = d->flag ? "flag attribute with a value" : "attribute without a value";
        DSRTP_CHECK(has_value != d->flag, DSRTP_ERR_MALFORMED);
        sdp_cur c = has_value ? sdp_cur_make(w + colon + 1, len - colon - 1)
                              : sdp_cur_make(w + colon, 0);
        return d->fn(f, &c, d->arg, why);
    }
    return DSRTP_OK; /* not ours: the line is kept as written */
}
