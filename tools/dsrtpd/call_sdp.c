/* SDP for each side of a call. Leg A is the offering side: we answer its offer (keying
 * decided by dsrtp_sdp_negotiate as answerer). Leg B is the side the offer goes to: we
 * offer it the keying the ng flags ask for, on our own ports, and read its answer as
 * offerer. Later offers may come from either side (re-offers, below): the leg that offers
 * is then answered, the other one offered to, each keeping its keying. Each rewritten
 * description carries our address, ports, fingerprint or crypto lines and ICE-lite
 * credentials with one host candidate; everything else the author wrote (codecs, fmtp,
 * ssrc, direction, ...) passes through.
 *
 * Streams: every RTP m-line of the first offer with a port (or bundle-only) is a stream, up
 * to GW_STREAMS_MAX; other m-lines (data channels, the rest) are refused with port 0 on
 * both sides. A side bundles its streams (RFC 8843) when it is DTLS and either offered a
 * BUNDLE group naming all of them (A) or gets DTLS with ICE from us (B): then every stream
 * m-line towards it carries the one port, keying and ICE of its first stream, and the
 * group. Otherwise each stream has its own port and keying (an SDES key per m-line). */
#include <stdlib.h>
#include <string.h>

#include <dsrtp/util.h>

#include "gw.h"

void gw_ice_creds_make(char ufrag[GW_ICE_UFRAG_LEN + 1], char pwd[GW_ICE_PWD_LEN + 1])
{
    enum { UFRAG_RAW = GW_ICE_UFRAG_LEN / 4 * 3, PWD_RAW = GW_ICE_PWD_LEN / 4 * 3 };
    uint8_t raw[UFRAG_RAW + PWD_RAW];
    /* base64 of 6 and 18 bytes has no padding: all ice-chars (RFC 8839 §5.4), exactly
     * GW_ICE_UFRAG_LEN and GW_ICE_PWD_LEN of them. */
    if (dsrtp_random_bytes(raw, sizeof raw) != DSRTP_OK ||
        dsrtp_base64_encode(raw, UFRAG_RAW, ufrag, GW_ICE_UFRAG_LEN + 1) != DSRTP_OK ||
        dsrtp_base64_encode(raw + UFRAG_RAW, PWD_RAW, pwd, GW_ICE_PWD_LEN + 1) != DSRTP_OK) {
        abort(); /* the CSPRNG failing is not something to carry on from */
    }
    dsrtp_secure_wipe(raw, sizeof raw);
}

static void make_ice_creds(gw_leg *l)
{
    gw_ice_creds_make(l->ice_ufrag, l->ice_pwd);
}

/* Room for an SDES leg's send keys: 0, or -1 (out of memory). */
static int sdes_keys_alloc(gw_leg *l)
{
    if (l->sdes_keys == NULL) {
        l->sdes_keys = calloc(GW_SDES_OFFERED, sizeof *l->sdes_keys);
    }
    return l->sdes_keys != NULL ? 0 : -1;
}

static int fresh_key(dsrtp_profile prof, dsrtp_sdp_key *k)
{
    *k = (dsrtp_sdp_key){0};
    k->key_len = dsrtp_profile_key_len(prof);
    k->salt_len = dsrtp_profile_salt_len(prof);
    return dsrtp_random_bytes(k->key, k->key_len) == DSRTP_OK &&
                   dsrtp_random_bytes(k->salt, k->salt_len) == DSRTP_OK
               ? 0
               : -1;
}

/* Writes the keying attributes of leg l into m-line i of d: fingerprint and setup (DTLS),
 * crypto (SDES), ICE-lite credentials and our host candidate (when l->ice). */
static int write_keying(gw *g, gw_leg *l, dsrtp_sdp *d, size_t i, dsrtp_sdp_setup setup,
                        dsrtp_hash hash, uint32_t answer_tag)
{
    dsrtp_sdp_keying_attrs k = {0};
    dsrtp_fingerprint fp;
    dsrtp_sdp_crypto crypto[GW_SDES_OFFERED];
    dsrtp_sdp_candidate cand = {0};
    const char *ip = gw_leg_iface(g, l)->adv;
    if (l->keying == DSRTP_KEYING_DTLS) {
        if (dsrtp_cert_fingerprint(g->cert, hash != DSRTP_HASH_NONE ? hash : DSRTP_HASH_SHA256,
                                   &fp) != DSRTP_OK) {
            return -1;
        }
        k.fingerprints = &fp;
        k.fingerprint_count = 1;
        k.setup = setup;
    } else if (l->keying == DSRTP_KEYING_SDES) {
        for (size_t j = 0; j < l->sdes_count; j++) {
            crypto[j] = (dsrtp_sdp_crypto){0};
            crypto[j].tag = answer_tag != 0 ? answer_tag : (uint32_t)(j + 1);
            crypto[j].profile = l->sdes_profiles[j];
            crypto[j].key_count = 1;
            crypto[j].keys[0] = l->sdes_keys[j];
        }
        k.crypto = crypto;
        k.crypto_count = l->sdes_count;
    }
    if (l->ice) {
        cand.foundation = "1";
        cand.component = 1;
        cand.transport = "UDP";
        cand.priority = 2130706431u;
        cand.address = ip;
        cand.port = l->port;
        cand.type = "host";
        k.ice_ufrag = l->ice_ufrag;
        k.ice_pwd = l->ice_pwd;
        k.ice_lite = true;
        k.candidates = &cand;
        k.candidate_count = 1;
        k.end_of_candidates = true;
    }
    dsrtp_err err = dsrtp_sdp_set_keying(d, i, &k);
    dsrtp_secure_wipe(crypto, sizeof crypto);
    return err == DSRTP_OK ? 0 : -1;
}

/* Our address on every line that named the author's: session c=, and (on request) o=. */

/* Our address on every line that named the author's: session c=, and (on request) o=. The
 * author's groups go: write_side puts back the BUNDLE group of our streams. */
static int rewrite_common(const gw_iface *ifc, dsrtp_sdp *d, bool origin)
{
    const char *ip = ifc->adv;
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    if (s->connection.family != DSRTP_SDP_ADDR_NONE &&
        dsrtp_sdp_set_connection(d, DSRTP_SDP_SESSION, ip) != DSRTP_OK) {
        return -1;
    }
    if (origin) {
        uint64_t version = strtoull(s->origin_sess_version, NULL, 10);
        if (dsrtp_sdp_set_origin(d, version, ip) != DSRTP_OK) {
            return -1;
        }
    }
    return dsrtp_sdp_remove_attr(d, DSRTP_SDP_SESSION, "group", NULL) == DSRTP_OK ? 0 : -1;
}

/* The keying for leg B from the flags (transport-protocol, DTLS=off, SDES=off). */
static void choose_b(const gw_opts *o, const dsrtp_sdp_media *am, dsrtp_keying *k,
                     const char **proto)
{
    const char *p = o->transport != NULL ? o->transport : am->proto_text;
    size_t n = strlen(p);
    bool feedback = n > 0 && p[n - 1] == 'F';
    if (strncmp(p, "UDP/TLS/", 8) == 0 && !o->dtls_off) {
        *k = DSRTP_KEYING_DTLS;
        *proto = feedback ? "UDP/TLS/RTP/SAVPF" : "UDP/TLS/RTP/SAVP";
    } else if (strstr(p, "SAVP") != NULL && !o->sdes_off) {
        *k = DSRTP_KEYING_SDES;
        *proto = feedback ? "RTP/SAVPF" : "RTP/SAVP";
    } else {
        *k = DSRTP_KEYING_NONE;
        *proto = feedback ? "RTP/AVPF" : "RTP/AVP";
    }
}

/* RFC 8843 §6: an offerer's m-line with port 0 and a=bundle-only is still a stream. */
static bool bundle_only(const dsrtp_sdp *d, size_t i)
{
    return dsrtp_sdp_find_attr(d, i, "bundle-only", 0) != NULL;
}

bool gw_sdp_mline_active(const dsrtp_sdp *d, size_t i)
{
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, i);
    return m != NULL && (m->port != 0 || bundle_only(d, i));
}

unsigned gw_sdp_pick_streams(const dsrtp_sdp *d, uint8_t mlines[GW_STREAMS_MAX])
{
    unsigned n = 0;
    for (size_t i = 0; i < dsrtp_sdp_media_count(d) && n < GW_STREAMS_MAX && i < 255; i++) {
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, i);
        if (gw_sdp_mline_active(d, i) && strstr(m->proto_text, "RTP/") != NULL) {
            mlines[n++] = (uint8_t)i;
        }
    }
    return n;
}

/* The BUNDLE group of d names every stream's m-line of the call, the first stream's first
 * (RFC 8843 §7.2: the offerer-tagged m-line, whose transport the bundle uses). */
bool gw_sdp_bundles_all(const dsrtp_sdp *d, gw_call *c)
{
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    const dsrtp_sdp_group *grp = NULL;
    for (size_t i = 0; i < s->group_count && grp == NULL; i++) {
        if (strcmp(s->groups[i].semantics, "BUNDLE") == 0) {
            grp = &s->groups[i];
        }
    }
    if (grp == NULL || grp->mid_count == 0) {
        return false;
    }
    unsigned n = gw_call_streams(c);
    for (unsigned k = 0; k < n; k++) {
        const gw_leg *l = gw_call_leg(c, 0, k);
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, l->mline);
        if (l->off) {
            continue;
        }
        bool found = false;
        for (size_t j = 0; m != NULL && m->mid != NULL && j < grp->mid_count && !found; j++) {
            found = strcmp(grp->mids[j], m->mid) == 0 && (k != 0 || j == 0);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static int set_mid_text(gw_leg *l, const char *mid)
{
    free(l->mid);
    l->mid = NULL;
    /* An empty or over-long one counts as none. */
    if (mid == NULL || mid[0] == '\0' || strlen(mid) >= GW_TAG_MAX) {
        return 0;
    }
    l->mid = strdup(mid);
    return l->mid != NULL ? 0 : -1;
}

int gw_sdp_take_mids(gw_call *c, int side, const dsrtp_sdp *d)
{
    for (unsigned k = 0; k < gw_call_streams(c); k++) {
        gw_leg *l = gw_call_leg(c, side, k);
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, l->mline);
        if (set_mid_text(l, m != NULL ? m->mid : NULL) != 0) {
            return -1;
        }
    }
    gw_leg *first = &c->leg[side];
    if (c->more != NULL) {
        first->bundle = c->more->bundled[side]; /* decided by the first exchange */
        return 0;
    }
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    first->bundle = false;
    for (size_t i = 0; i < s->group_count; i++) {
        first->bundle = first->bundle || strcmp(s->groups[i].semantics, "BUNDLE") == 0;
    }
    return 0;
}

/* An SDES leg sends with one key of ours, for suite prof (no-op for other keyings): 0, or
 * -1 and err set. */
static int one_sdes_key(gw_leg *l, dsrtp_profile prof, const char **err)
{
    if (l->keying != DSRTP_KEYING_SDES) {
        return 0;
    }
    if (sdes_keys_alloc(l) != 0) {
        *err = "out of memory";
        return -1;
    }
    l->sdes_profiles[0] = prof;
    l->sdes_count = 1;
    if (fresh_key(prof, &l->sdes_keys[0]) != 0) {
        *err = "no randomness";
        return -1;
    }
    return 0;
}

/* Leg a (side A) answers A's offer m-line with whatever keying it offered. */
static int plan_a(gw_leg *a, const dsrtp_sdp_media *am, const char **err)
{
    dsrtp_sdp_policy pol;
    dsrtp_sdp_policy_init(&pol);
    pol.keyings = DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES | DSRTP_KEYING_NONE;
    /* A trunk's SDES keys usually cross plain SIP: interworking is this gateway's job. */
    pol.allow_insecure_sdes = true;
    dsrtp_sdp_failure why = {0};
    dsrtp_sdp_decision d = {0};
    if (dsrtp_sdp_negotiate(&pol, DSRTP_SDP_ANSWERER, am, NULL, &d, &why) != DSRTP_OK) {
        dsrtp_sdp_decision_wipe(&d);
        *err = why.reason != NULL ? why.reason : "offer: no usable keying";
        return -1;
    }
    int rc = gw_leg_decide(a, &d);
    dsrtp_sdp_decision_wipe(&d);
    if (rc != 0) {
        *err = "out of memory";
        return -1;
    }
    a->keying = a->pending->keying;
    a->ice = am->ice_ufrag != NULL && am->ice_pwd != NULL;
    a->rtcp_mux = am->rtcp_mux;
    make_ice_creds(a);
    return one_sdes_key(a, a->agreed.sdes_profile, err);
}

/* Leg b (side B) gets the keying the flags ask for. */
static int plan_b(gw_leg *b, const dsrtp_sdp_media *am, const gw_opts *o, bool a_ice,
                  const char **err)
{
    const char *proto = NULL;
    choose_b(o, am, &b->keying, &proto);
    b->ice = o->ice == GW_ICE_FORCE || (o->ice == GW_ICE_DEFAULT && a_ice);
    b->rtcp_mux = !(o->rtcp_mux == GW_MUX_DEMUX || o->rtcp_mux == GW_MUX_REJECT);
    make_ice_creds(b);
    if (b->keying == DSRTP_KEYING_SDES) {
        if (sdes_keys_alloc(b) != 0) {
            *err = "out of memory";
            return -1;
        }
        /* Without only-<suite>: the two suites every SDES peer has (RFC 4568 §6.2), in our
         * order of preference; only-<suite> may ask for any suite we have. */
        static const dsrtp_profile pref[] = {
            DSRTP_AES_CM_128_HMAC_SHA1_80, DSRTP_AES_CM_128_HMAC_SHA1_32,
            DSRTP_AEAD_AES_128_GCM,        DSRTP_AEAD_AES_256_GCM,
            DSRTP_AES_256_CM_HMAC_SHA1_80, DSRTP_AES_256_CM_HMAC_SHA1_32,
        };
        b->sdes_count = 0;
        for (size_t j = 0; j < sizeof pref / sizeof pref[0] && b->sdes_count < GW_SDES_OFFERED;
             j++) {
            uint32_t bit = 1u << (unsigned)pref[j];
            bool allowed = o->sdes_only != 0 ? (o->sdes_only & bit) != 0 : j < 2;
            if (allowed && (o->sdes_no & bit) == 0) {
                b->sdes_profiles[b->sdes_count++] = pref[j];
            }
        }
        if (b->sdes_count == 0) {
            *err = "the SDES options leave no crypto suite to offer";
            return -1;
        }
        for (size_t j = 0; j < b->sdes_count; j++) {
            if (fresh_key(b->sdes_profiles[j], &b->sdes_keys[j]) != 0) {
                *err = "no randomness";
                return -1;
            }
        }
    }
    return 0;
}

/* A stream that rides on its side's first one takes that one's transport settings. */
static void bundle_onto(gw_leg *l, const gw_leg *first)
{
    l->bundled = true;
    l->keying = first->keying;
    l->ice = first->ice;
    l->rtcp_mux = true; /* RFC 8843 §9.2 */
}

/* Towards a bundling B every stream needs an a=mid: A's, else one of ours that no other
 * m-line of A's offer uses. */
static int mid_for_b(gw_call *c, gw_leg *b, const dsrtp_sdp *ad)
{
    const dsrtp_sdp_media *am = dsrtp_sdp_get_media(ad, b->mline);
    if (am->mid != NULL && am->mid[0] != '\0') {
        return set_mid_text(b, am->mid);
    }
    char mid[16];
    for (unsigned n = b->stream;; n += GW_STREAMS_MAX) {
        snprintf(mid, sizeof mid, "%u", n);
        bool used = false;
        for (size_t i = 0; i < dsrtp_sdp_media_count(ad) && !used; i++) {
            const char *m = dsrtp_sdp_get_media(ad, i)->mid;
            used = m != NULL && strcmp(m, mid) == 0;
        }
        if (!used) {
            break;
        }
    }
    (void)c;
    return set_mid_text(b, mid);
}

int gw_sdp_plan(gw *g, gw_call *c, const gw_opts *o, const char **err)
{
    (void)g;
    const dsrtp_sdp *ad = c->leg[0].remote_sdp;
    unsigned n = gw_call_streams(c);
    gw_leg *a0 = &c->leg[0];
    gw_leg *b0 = &c->leg[1];
    for (unsigned k = 0; k < n; k++) {
        gw_leg *a = gw_call_leg(c, 0, k);
        if (k == 1) {
            c->more->bundled[0] = a0->keying == DSRTP_KEYING_DTLS && gw_sdp_bundles_all(ad, c);
        }
        if (k > 0 && c->more->bundled[0]) {
            bundle_onto(a, a0);
        } else if (plan_a(a, dsrtp_sdp_get_media(ad, a->mline), err) != 0) {
            return -1;
        }
    }
    for (unsigned k = 0; k < n; k++) {
        gw_leg *b = gw_call_leg(c, 1, k);
        const dsrtp_sdp_media *am = dsrtp_sdp_get_media(ad, b->mline);
        if (k == 1) {
            c->more->bundled[1] = b0->keying == DSRTP_KEYING_DTLS && b0->ice;
        }
        if (k > 0 && c->more->bundled[1]) {
            bundle_onto(b, b0);
        } else if (plan_b(b, am, o, a0->ice, err) != 0) {
            return -1;
        }
    }
    /* A WebRTC offer (DTLS with ICE) names its streams and offers BUNDLE for them (RFC
     * 8843): a browser with bundlePolicy max-bundle, the common setting, refuses an offer
     * without a BUNDLE group, and a trunk's offer may carry no a=mid at all. */
    b0->bundle = b0->keying == DSRTP_KEYING_DTLS && b0->ice;
    for (unsigned k = 0; k < n; k++) {
        gw_leg *b = gw_call_leg(c, 1, k);
        const char *amid = dsrtp_sdp_get_media(ad, b->mline)->mid;
        if ((b0->bundle ? mid_for_b(c, b, ad) : set_mid_text(b, amid)) != 0) {
            *err = "out of memory";
            return -1;
        }
    }
    if (gw_sdp_take_mids(c, 0, ad) != 0) {
        *err = "out of memory";
        return -1;
    }
    return 0;
}

/* Leg l, new on the side that did not re-offer, takes that side's transport settings: its
 * keying, ICE and rtcp-mux, with a fresh SDES key for the suite in use. */
static int plan_fresh(gw_leg *l, const gw_leg *first, const char **err)
{
    l->fresh = true;
    l->keying = first->keying;
    l->ice = first->ice;
    l->rtcp_mux = first->rtcp_mux;
    make_ice_creds(l);
    l->agreed.sdes_profile = first->agreed.sdes_profile;
    return one_sdes_key(l, first->agreed.sdes_profile, err);
}

static bool is_stream_mline(gw_call *c, size_t i)
{
    for (unsigned k = 0; k < gw_call_streams(c); k++) {
        if (gw_call_leg(c, 0, k)->mline == i) {
            return true;
        }
    }
    return false;
}

/* mid is named by d's BUNDLE group. */
static bool in_bundle(const dsrtp_sdp *d, const char *mid)
{
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(d);
    for (size_t i = 0; mid != NULL && i < s->group_count; i++) {
        for (size_t j = 0; strcmp(s->groups[i].semantics, "BUNDLE") == 0 &&
                           j < s->groups[i].mid_count; j++) {
            if (strcmp(s->groups[i].mids[j], mid) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* Room for streams after the first: 0, or -1 (out of memory). */
int gw_call_more(gw_call *c)
{
    if (c->more != NULL) {
        return 0;
    }
    c->more = calloc(1, sizeof *c->more);
    if (c->more == NULL) {
        return -1;
    }
    c->more->count = 1;
    for (unsigned k = 1; k < GW_STREAMS_MAX; k++) {
        for (int i = 0; i < 2; i++) {
            c->more->leg[i][k - 1].fd = -1;
            c->more->leg[i][k - 1].rtcp_fd = -1;
        }
    }
    gw_stream_map_init(&c->more->map);
    return 0;
}

/* Decides the legs of a stream a re-offer from side xi adds: 0; or -1 and err set, with
 * *fatal when the whole re-offer must fail (out of memory) rather than the stream alone. */
static int add_stream(gw_call *c, int xi, unsigned k, size_t i, bool *fatal, const char **err)
{
    const dsrtp_sdp *xd = c->leg[xi].remote_sdp;
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(xd, i);
    gw_leg *x0 = &c->leg[xi];
    gw_leg *y0 = &c->leg[1 - xi];
    gw_leg *xl = gw_call_leg(c, xi, k);
    gw_leg *yl = gw_call_leg(c, 1 - xi, k);
    *fatal = true;
    if (gw_leg_init(c, xl, xi, k, (uint8_t)i, NULL) != 0 ||
        gw_leg_init(c, yl, 1 - xi, k, (uint8_t)i, NULL) != 0) {
        *err = "out of memory";
        return -1;
    }
    *fatal = false;
    if (c->more->bundled[xi]) {
        bundle_onto(xl, x0);
    } else if (plan_a(xl, m, err) != 0) {
        return -1;
    }
    if (c->more->bundled[1 - xi]) {
        bundle_onto(yl, y0);
    } else if (plan_fresh(yl, y0, err) != 0) {
        return -1;
    }
    if ((y0->bundle ? mid_for_b(c, yl, xd) : set_mid_text(yl, m->mid)) != 0) {
        *fatal = true;
        *err = "out of memory";
        return -1;
    }
    return 0;
}

int gw_sdp_add_streams(gw *g, gw_call *c, int xi, const char **err)
{
    const dsrtp_sdp *xd = c->leg[xi].remote_sdp;
    unsigned before = gw_call_streams(c);
    gw_leg *x0 = &c->leg[xi];
    gw_leg *y0 = &c->leg[1 - xi];
    bool y_bundle = y0->bundle;
    for (size_t i = 0; i < dsrtp_sdp_media_count(xd) && i < 255; i++) {
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(xd, i);
        if (gw_call_streams(c) >= GW_STREAMS_MAX || is_stream_mline(c, i) ||
            !gw_sdp_mline_active(xd, i) || strstr(m->proto_text, "RTP/") == NULL) {
            continue;
        }
        if (c->more != NULL && c->more->count > 1 && c->more->bundled[xi] &&
            !in_bundle(xd, m->mid)) {
            continue; /* the side bundles, but not this stream: refused (port 0) */
        }
        if (gw_call_more(c) != 0) {
            *err = "out of memory";
            return -1;
        }
        unsigned k = c->more->count++;
        if (k == 1) {
            /* The call had one stream: how each side bundles is decided now. */
            c->more->bundled[xi] = x0->keying == DSRTP_KEYING_DTLS && gw_sdp_bundles_all(xd, c);
            c->more->bundled[1 - xi] = y0->keying == DSRTP_KEYING_DTLS && y_bundle;
            y0->bundle = c->more->bundled[1 - xi];
        }
        bool fatal = false;
        const char *why = NULL;
        if (add_stream(c, xi, k, i, &fatal, &why) != 0) {
            /* Not this stream (it is refused with port 0), or nothing at all. */
            gw_leg_clear(g, gw_call_leg(c, xi, k));
            gw_leg_clear(g, gw_call_leg(c, 1 - xi, k));
            c->more->count--;
            if (c->more->count == 1) {
                y0->bundle = y_bundle;
            }
            if (fatal) {
                *err = why;
                return -1;
            }
            gw_log("info", "msg=\"added stream refused\" call=\"%s\" mline=%zu reason=\"%s\"",
                   c->callid, i, why);
        }
    }
    return (int)before;
}

/* How write_side fills in our stream m-lines. */
typedef enum gw_write { GW_WRITE_OFFER, GW_WRITE_ANSWER, GW_WRITE_REOFFER } gw_write;

static dsrtp_sdp_setup setup_of_role(dsrtp_dtls_role role)
{
    return role == DSRTP_DTLS_SERVER ? DSRTP_SDP_SETUP_PASSIVE : DSRTP_SDP_SETUP_ACTIVE;
}

/* Our transport and keying for leg l on m-line i of d (a copy of the other side's latest
 * description). The first offer towards B: the keying the flags chose, actpass (or the
 * setup asked for). The answer: the m-line's own proto, with what the negotiation agreed.
 * A re-offer: what we told the side before (transport, fingerprint hash; our DTLS role
 * stays, RFC 8842 §5.5: offered as active or passive, not actpass, so that the answerer
 * cannot pick the other one; before the side answered there is no role yet and the first
 * offer's setup stays; SDES: the line in use, same tag). */
static int write_stream(gw *g, gw_leg *l, dsrtp_sdp *d, size_t i, gw_write mode,
                        const gw_opts *o)
{
    gw_leg *t = gw_leg_via(l);
    const gw_leg *side = gw_side(l);
    char proto[64];
    dsrtp_sdp_setup setup = t->agreed.local_setup;
    dsrtp_hash hash = t->agreed.fingerprint_hash;
    uint32_t tag = t->agreed.sdes_tag;
    if (mode == GW_WRITE_OFFER) {
        dsrtp_keying k;
        const char *p = NULL;
        choose_b(o, dsrtp_sdp_get_media(d, i), &k, &p);
        snprintf(proto, sizeof proto, "%s", p);
        setup = o->dtls_setup != DSRTP_SDP_SETUP_NONE ? o->dtls_setup : DSRTP_SDP_SETUP_ACTPASS;
        hash = DSRTP_HASH_SHA256;
        tag = 0;
    } else if (mode == GW_WRITE_ANSWER) {
        snprintf(proto, sizeof proto, "%s", dsrtp_sdp_get_media(side->remote_sdp, i)->proto_text);
    } else {
        /* A stream the side has not answered yet is offered as its first stream was. */
        const dsrtp_sdp_media *prev =
            dsrtp_sdp_get_media(side->local_sdp, t->fresh ? side->mline : t->mline);
        snprintf(proto, sizeof proto, "%s", prev->proto_text);
        hash = prev->fingerprint_count > 0 ? prev->fingerprints[0].hash : DSRTP_HASH_SHA256;
        setup = side->remote_text != NULL ? setup_of_role(t->agreed.role) : prev->setup;
        if (t->fresh) {
            setup = DSRTP_SDP_SETUP_ACTPASS;
            tag = 0;
        }
    }
    const char *ip = gw_leg_iface(g, l)->adv;
    dsrtp_sdp_transport tr = {.port = t->port, .proto = proto, .address = ip,
                              .rtcp_mux = t->rtcp_mux};
    if (dsrtp_sdp_set_transport(d, i, &tr) != DSRTP_OK ||
        write_keying(g, t, d, i, setup, hash, tag) != 0 ||
        dsrtp_sdp_remove_attr(d, i, "bundle-only", NULL) != DSRTP_OK) {
        return -1;
    }
    /* The a=mid side l knows the stream by: its own when it offered (RFC 5888 §9.2: an
     * answer repeats the offer's identification tag, and an offer without a=mid gets an
     * answer without one), the one we chose when we offered. */
    const char *now = dsrtp_sdp_get_media(d, i)->mid;
    bool keep = now != NULL && l->mid != NULL && strcmp(now, l->mid) == 0;
    if (!keep && (dsrtp_sdp_remove_attr(d, i, "mid", NULL) != DSRTP_OK ||
                  (l->mid != NULL && dsrtp_sdp_add_attr(d, i, "mid", l->mid) != DSRTP_OK))) {
        return -1;
    }
    return 0;
}

/* Side's view of d: every stream m-line written for it, every other m-line refused (port
 * 0, no keying), and the BUNDLE group of its streams when it bundles. */
static int write_side(gw *g, gw_call *c, int side, dsrtp_sdp *d, gw_write mode,
                      const gw_opts *o)
{
    char group[8 + GW_STREAMS_MAX * GW_TAG_MAX] = "BUNDLE";
    size_t glen = strlen(group);
    unsigned mids = 0;
    for (size_t i = 0; i < dsrtp_sdp_media_count(d); i++) {
        gw_leg *l = NULL;
        for (unsigned k = 0; k < gw_call_streams(c) && l == NULL; k++) {
            gw_leg *x = gw_call_leg(c, side, k);
            l = x->mline == i && !x->off ? x : NULL;
        }
        if (l == NULL) {
            dsrtp_sdp_keying_attrs none = {0};
            if (dsrtp_sdp_set_port(d, i, 0) != DSRTP_OK ||
                dsrtp_sdp_set_keying(d, i, &none) != DSRTP_OK ||
                dsrtp_sdp_remove_attr(d, i, "bundle-only", NULL) != DSRTP_OK) {
                return -1;
            }
            continue;
        }
        if (write_stream(g, l, d, i, mode, o) != 0) {
            return -1;
        }
        if (l->mid != NULL) {
            glen += (size_t)snprintf(group + glen, sizeof group - glen, " %s", l->mid);
            mids++;
        }
    }
    if (c->leg[side].bundle && mids > 0 &&
        dsrtp_sdp_add_attr(d, DSRTP_SDP_SESSION, "group", group) != DSRTP_OK) {
        return -1;
    }
    return 0;
}

int gw_sdp_offer_b(gw *g, gw_call *c, const gw_opts *o, const char **err)
{
    gw_leg *b = &c->leg[1];
    if (dsrtp_sdp_clone(c->leg[0].remote_sdp, &b->local_sdp) != DSRTP_OK ||
        rewrite_common(gw_leg_iface(g, b), b->local_sdp, o->replace_origin) != 0 ||
        write_side(g, c, 1, b->local_sdp, GW_WRITE_OFFER, o) != 0) {
        *err = "cannot rewrite the offer";
        return -1;
    }
    return 0;
}

int gw_sdp_answer(gw *g, gw_call *c, int xi, const char **err)
{
    gw_leg *x = &c->leg[xi];
    dsrtp_sdp *d = NULL;
    if (dsrtp_sdp_clone(c->leg[1 - xi].remote_sdp, &d) != DSRTP_OK ||
        rewrite_common(gw_leg_iface(g, x), d, true) != 0 ||
        write_side(g, c, xi, d, GW_WRITE_ANSWER, NULL) != 0) {
        dsrtp_sdp_free(d);
        *err = "cannot rewrite the answer";
        return -1;
    }
    dsrtp_sdp_free(x->local_sdp);
    x->local_sdp = d;
    return 0;
}

/* ---- re-offers ----
 * A later offer (a SIP re-INVITE, from either side) keeps each leg as it is: port, keying,
 * our SDES keys and ICE credentials (unless the offer restarts ICE, call.c), the DTLS
 * association and its roles, rtcp-mux (it may only be dropped), the streams and how they
 * are bundled (m-lines a re-offer adds are refused). What the author changed otherwise
 * (direction, codecs, its address) passes through the rewrite as in the first exchange. */

/* The checks both directions share once a leg has a decision. DTLS: another fingerprint or
 * tls-id (RFC 8842 §5), or another role, means a new association. The leg may have one when
 * a fresh session can take over its path: without ICE (the path comes from the SDP), or
 * when the same description restarts ICE. Then *renew is set and the decision keeps the
 * role the negotiation gave (for an actpass offer, ours to choose again); otherwise it is
 * an error. SDES: the suite in use stays. */
static int same_association(const gw_leg *l, const dsrtp_sdp_media *m, dsrtp_sdp_decision *d,
                            bool answering, bool ice_restart, bool *renew, const char **err)
{
    *renew = false;
    if (l->keying == DSRTP_KEYING_DTLS) {
        bool restart = false;
        const char *why = NULL;
        const dsrtp_sdp_media *prev = dsrtp_sdp_get_media(gw_side(l)->remote_sdp, l->mline);
        if (dsrtp_sdp_dtls_restart(prev, m, &restart, &why) != DSRTP_OK) {
            *err = "cannot compare the DTLS attributes";
            return -1;
        }
        if (!d->dtls_handshake) {
            *err = "SDP puts DTLS on hold (a=setup:holdconn): not supported";
            return -1;
        }
        bool keep_role = answering && m->setup == DSRTP_SDP_SETUP_ACTPASS;
        bool new_role = !keep_role && d->role != l->agreed.role;
        if ((restart || new_role) && l->ice && !ice_restart) {
            if (restart) {
                *err = answering ? "re-offer changes the DTLS fingerprint or tls-id without an "
                                   "ICE restart: not supported"
                                 : "answer changes the DTLS fingerprint or tls-id without an "
                                   "ICE restart: not supported";
            } else {
                *err = answering ? "re-offer changes the DTLS role (a=setup) without an ICE "
                                   "restart: not supported"
                                 : "answer changes the DTLS role (a=setup) without an ICE "
                                   "restart: not supported";
            }
            return -1;
        }
        if (restart || new_role) {
            *renew = true;
        } else if (keep_role) {
            /* RFC 8842 §5.3: an answerer keeps its role when the association stays. */
            d->role = l->agreed.role;
            d->local_setup = setup_of_role(d->role);
        }
    } else if (l->keying == DSRTP_KEYING_SDES && d->sdes_profile != l->agreed.sdes_profile) {
        /* Our send key is for the suite in use: keep it if the offer still has it. */
        for (size_t i = 0; answering && i < m->crypto_count; i++) {
            const dsrtp_sdp_crypto *k = &m->crypto[i];
            if (k->usable && k->key_count > 0 && k->profile == l->agreed.sdes_profile) {
                d->sdes_profile = k->profile;
                d->sdes_tag = k->tag;
                d->remote_key = k->keys[0];
                return 0;
            }
        }
        *err = answering ? "re-offer drops the SDES suite in use"
                         : "answer picks another SDES suite than the one in use";
        return -1;
    }
    return 0;
}

int gw_sdp_check_offer(const gw_leg *x, const dsrtp_sdp_media *m, bool ice_restart,
                       dsrtp_sdp_decision *out, bool *renew, const char **err)
{
    dsrtp_sdp_policy pol;
    dsrtp_sdp_policy_init(&pol);
    pol.keyings = (unsigned)x->keying;
    pol.allow_insecure_sdes = true;
    dsrtp_sdp_failure why = {0};
    dsrtp_sdp_decision d = {0};
    if (dsrtp_sdp_negotiate(&pol, DSRTP_SDP_ANSWERER, m, NULL, &d, &why) != DSRTP_OK) {
        *err = why.code == DSRTP_SDP_FAIL_NO_KEYING || why.code == DSRTP_SDP_FAIL_PROTO ||
                       why.code == DSRTP_SDP_FAIL_NO_FINGERPRINT
                   ? "re-offer changes the keying of the leg: not supported"
                   : why.reason != NULL ? why.reason : "re-offer: keying mismatch";
        dsrtp_sdp_decision_wipe(&d);
        return -1;
    }
    if (same_association(x, m, &d, true, ice_restart, renew, err) != 0) {
        dsrtp_sdp_decision_wipe(&d);
        return -1;
    }
    *out = d;
    dsrtp_sdp_decision_wipe(&d);
    return 0;
}

int gw_sdp_check_answer(const gw_leg *y, const dsrtp_sdp_media *m, bool ice_restart,
                        dsrtp_sdp_decision *out, bool *renew, const char **err)
{
    dsrtp_sdp_policy pol;
    dsrtp_sdp_policy_init(&pol);
    pol.keyings = (unsigned)y->keying;
    pol.allow_insecure_sdes = true;
    dsrtp_sdp_failure why = {0};
    dsrtp_sdp_decision d = {0};
    const dsrtp_sdp_media *offered = dsrtp_sdp_get_media(gw_side(y)->local_sdp, y->mline);
    if (dsrtp_sdp_negotiate(&pol, DSRTP_SDP_OFFERER, m, offered, &d, &why) != DSRTP_OK) {
        *err = why.reason != NULL ? why.reason : "answer: keying mismatch";
        dsrtp_sdp_decision_wipe(&d);
        return -1;
    }
    /* A leg that runs keeps its association, or renews it (a first answer decides it). */
    *renew = false;
    if (y->started && same_association(y, m, &d, false, ice_restart, renew, err) != 0) {
        dsrtp_sdp_decision_wipe(&d);
        return -1;
    }
    *out = d;
    dsrtp_sdp_decision_wipe(&d);
    return 0;
}

int gw_sdp_reoffer(gw *g, gw_call *c, int yi, const gw_opts *o, const char **err)
{
    gw_leg *y = &c->leg[yi];
    /* Towards A (which got our answer) o= always carries our address, as in that answer. */
    bool origin = yi == 0 || o->replace_origin;
    dsrtp_sdp *d = NULL;
    if (dsrtp_sdp_clone(c->leg[1 - yi].remote_sdp, &d) != DSRTP_OK ||
        rewrite_common(gw_leg_iface(g, y), d, origin) != 0 ||
        write_side(g, c, yi, d, GW_WRITE_REOFFER, o) != 0) {
        dsrtp_sdp_free(d);
        *err = "cannot rewrite the re-offer";
        return -1;
    }
    dsrtp_sdp_free(y->local_sdp);
    y->local_sdp = d;
    return 0;
}

int gw_leg_decide(gw_leg *l, const dsrtp_sdp_decision *d)
{
    if (l->pending == NULL && (l->pending = malloc(sizeof *l->pending)) == NULL) {
        return -1;
    }
    dsrtp_sdp_decision_wipe(l->pending);
    *l->pending = *d;
    l->agreed = (gw_agreed){.role = d->role,
                            .local_setup = d->local_setup,
                            .fingerprint_hash = d->fingerprint_hash,
                            .sdes_profile = d->sdes_profile,
                            .sdes_tag = d->sdes_tag};
    return 0;
}

int gw_sdp_fill_remote(const gw_leg *l, const dsrtp_sdp_media *m, dsrtp_session_remote *r)
{
    if (l->pending == NULL) {
        return -1;
    }
    return dsrtp_session_remote_from_sdp(m, l->pending, l->ice, r) == DSRTP_OK ? 0 : -1;
}

int gw_leg_session_new(gw *g, gw_leg *l)
{
    dsrtp_session_cfg cfg;
    dsrtp_session_cfg_init(&cfg);
    cfg.keying = l->keying;
    cfg.cert = g->cert;
    cfg.ice = l->ice;
    snprintf(cfg.ice_ufrag, sizeof cfg.ice_ufrag, "%s", l->ice_ufrag);
    snprintf(cfg.ice_pwd, sizeof cfg.ice_pwd, "%s", l->ice_pwd);
    if (l->keying == DSRTP_KEYING_SDES) {
        /* We send with the key of the suite agreed: the answer's tag picks it (leg B), or
         * the one key we generated (leg A). */
        size_t pick = 0;
        for (size_t j = 0; j < l->sdes_count; j++) {
            if (l->sdes_profiles[j] == l->agreed.sdes_profile) {
                pick = j;
                break;
            }
        }
        cfg.sdes_profile = l->sdes_profiles[pick];
        memcpy(cfg.sdes_key, l->sdes_keys[pick].key, l->sdes_keys[pick].key_len);
        memcpy(cfg.sdes_salt, l->sdes_keys[pick].salt, l->sdes_keys[pick].salt_len);
    }
    dsrtp_err err = dsrtp_session_new(&cfg, &l->session);
    dsrtp_secure_wipe(&cfg, sizeof cfg);
    return err == DSRTP_OK ? 0 : -1;
}
