/* SDP for each side of a call. Leg A is the offering side: we answer its offer (keying
 * decided by dsrtp_sdp_negotiate as answerer). Leg B is the side the offer goes to: we
 * offer it the keying the ng flags ask for, on our own port, and read its answer as
 * offerer. Each rewritten description carries our address, port, fingerprint or crypto
 * lines and ICE-lite credentials with one host candidate; everything else the author wrote
 * (codecs, fmtp, ssrc, ...) passes through. One audio/video stream per call: further
 * m-lines are disabled (port 0). */
#include <stdlib.h>
#include <string.h>

#include <dsrtp/util.h>

#include "gw.h"

static void make_ice_creds(gw_leg *l)
{
    uint8_t raw[24];
    char text[40];
    /* base64 of 6 and 18 bytes has no padding: all ice-chars (RFC 8839 §5.4). */
    if (dsrtp_random_bytes(raw, sizeof raw) != DSRTP_OK ||
        dsrtp_base64_encode(raw, 6, text, sizeof text) != DSRTP_OK) {
        abort(); /* the CSPRNG failing is not something to carry on from */
    }
    snprintf(l->ice_ufrag, sizeof l->ice_ufrag, "%s", text);
    if (dsrtp_base64_encode(raw + 6, 18, text, sizeof text) != DSRTP_OK) {
        abort();
    }
    snprintf(l->ice_pwd, sizeof l->ice_pwd, "%s", text);
    dsrtp_secure_wipe(raw, sizeof raw);
    dsrtp_secure_wipe(text, sizeof text);
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
    char ip[64];
    gw_addr_ip(&g->cfg.iface, ip, sizeof ip);
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
static int rewrite_common(gw *g, dsrtp_sdp *d, size_t keep, bool origin)
{
    char ip[64];
    gw_addr_ip(&g->cfg.iface, ip, sizeof ip);
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
    if (dsrtp_sdp_remove_attr(d, DSRTP_SDP_SESSION, "group", NULL) != DSRTP_OK) {
        return -1;
    }
    for (size_t i = 0; i < dsrtp_sdp_media_count(d); i++) {
        if (i == keep) {
            continue;
        }
        dsrtp_sdp_keying_attrs none = {0};
        if (dsrtp_sdp_set_port(d, i, 0) != DSRTP_OK || dsrtp_sdp_set_keying(d, i, &none) != 0) {
            return -1;
        }
    }
    return 0;
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

int gw_sdp_offer_b(gw *g, gw_call *c, const dsrtp_sdp_media *am, const gw_opts *o,
                   const char **err)
{
    gw_leg *a = &c->leg[0];
    gw_leg *b = &c->leg[1];
    /* Leg A: answer its offer with whatever keying it offered. */
    dsrtp_sdp_policy pol;
    dsrtp_sdp_policy_init(&pol);
    pol.keyings = DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES | DSRTP_KEYING_NONE;
    /* A trunk's SDES keys usually cross plain SIP: interworking is this gateway's job. */
    pol.allow_insecure_sdes = true;
    dsrtp_sdp_failure why = {0};
    if (dsrtp_sdp_negotiate(&pol, DSRTP_SDP_ANSWERER, am, NULL, &a->decision, &why) !=
        DSRTP_OK) {
        *err = why.reason != NULL ? why.reason : "offer: no usable keying";
        return -1;
    }
    a->keying = a->decision.keying;
    a->ice = am->ice_ufrag != NULL && am->ice_pwd != NULL;
    a->rtcp_mux = am->rtcp_mux;
    make_ice_creds(a);
    if (a->keying == DSRTP_KEYING_SDES) {
        a->sdes_profiles[0] = a->decision.sdes_profile;
        a->sdes_count = 1;
        if (fresh_key(a->decision.sdes_profile, &a->sdes_keys[0]) != 0) {
            *err = "no randomness";
            return -1;
        }
    }
    /* Leg B: the keying the flags ask for. */
    const char *proto = NULL;
    choose_b(o, am, &b->keying, &proto);
    b->ice = o->ice == GW_ICE_FORCE || (o->ice == GW_ICE_DEFAULT && a->ice);
    b->rtcp_mux = !(o->rtcp_mux == GW_MUX_DEMUX || o->rtcp_mux == GW_MUX_REJECT);
    make_ice_creds(b);
    if (b->keying == DSRTP_KEYING_SDES) {
        b->sdes_profiles[0] = DSRTP_AES_CM_128_HMAC_SHA1_80;
        b->sdes_profiles[1] = DSRTP_AES_CM_128_HMAC_SHA1_32;
        b->sdes_count = 2;
        for (size_t j = 0; j < b->sdes_count; j++) {
            if (fresh_key(b->sdes_profiles[j], &b->sdes_keys[j]) != 0) {
                *err = "no randomness";
                return -1;
            }
        }
    }
    char ip[64];
    gw_addr_ip(&g->cfg.iface, ip, sizeof ip);
    dsrtp_sdp_transport t = {.port = b->port, .proto = proto, .address = ip,
                             .rtcp_mux = b->rtcp_mux};
    dsrtp_sdp_setup setup = o->dtls_setup != DSRTP_SDP_SETUP_NONE ? o->dtls_setup
                                                                  : DSRTP_SDP_SETUP_ACTPASS;
    if (dsrtp_sdp_clone(a->remote_sdp, &b->local_sdp) != DSRTP_OK ||
        rewrite_common(g, b->local_sdp, 0, o->replace_origin) != 0 ||
        dsrtp_sdp_set_transport(b->local_sdp, 0, &t) != DSRTP_OK ||
        write_keying(g, b, b->local_sdp, 0, setup, DSRTP_HASH_SHA256, 0) != 0) {
        *err = "cannot rewrite the offer";
        return -1;
    }
    /* A WebRTC offer (DTLS with ICE) names its stream and offers BUNDLE for it (RFC 8843):
     * a browser with bundlePolicy max-bundle, the common setting, refuses an offer without
     * a BUNDLE group, and a trunk's offer may carry no a=mid at all. */
    if (b->keying == DSRTP_KEYING_DTLS && b->ice) {
        const dsrtp_sdp_media *bm = dsrtp_sdp_get_media(b->local_sdp, 0);
        const char *mid = bm->mid != NULL ? bm->mid : "0";
        char value[300];
        snprintf(value, sizeof value, "BUNDLE %s", mid);
        if ((bm->mid == NULL && dsrtp_sdp_add_attr(b->local_sdp, 0, "mid", mid) != DSRTP_OK) ||
            dsrtp_sdp_add_attr(b->local_sdp, DSRTP_SDP_SESSION, "group", value) != DSRTP_OK) {
            *err = "cannot rewrite the offer";
            return -1;
        }
    }
    return 0;
}

int gw_sdp_answer_a(gw *g, gw_call *c, const char **err)
{
    gw_leg *a = &c->leg[0];
    gw_leg *b = &c->leg[1];
    const dsrtp_sdp_media *am = dsrtp_sdp_get_media(a->remote_sdp, 0);
    char ip[64];
    gw_addr_ip(&g->cfg.iface, ip, sizeof ip);
    dsrtp_sdp_transport t = {.port = a->port, .proto = am->proto_text, .address = ip,
                             .rtcp_mux = a->rtcp_mux};
    dsrtp_sdp_free(a->local_sdp);
    a->local_sdp = NULL;
    if (dsrtp_sdp_clone(b->remote_sdp, &a->local_sdp) != DSRTP_OK ||
        rewrite_common(g, a->local_sdp, 0, true) != 0 ||
        dsrtp_sdp_set_transport(a->local_sdp, 0, &t) != DSRTP_OK ||
        write_keying(g, a, a->local_sdp, 0, a->decision.local_setup,
                     a->decision.fingerprint_hash, a->decision.sdes_tag) != 0) {
        *err = "cannot rewrite the answer";
        return -1;
    }
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(a->local_sdp, 0);
    if (am->mid != NULL && m->mid == NULL &&
        dsrtp_sdp_add_attr(a->local_sdp, 0, "mid", am->mid) != DSRTP_OK) {
        *err = "cannot rewrite the answer";
        return -1;
    }
    /* An offer without a=mid gets an answer without one (RFC 5888 §9.2), though leg B's
     * answerer (a browser) always writes one. */
    if (am->mid == NULL && m->mid != NULL &&
        dsrtp_sdp_remove_attr(a->local_sdp, 0, "mid", NULL) != DSRTP_OK) {
        *err = "cannot rewrite the answer";
        return -1;
    }
    /* Answer BUNDLE with BUNDLE for our one stream when offered (RFC 8843). */
    const dsrtp_sdp_session *as = dsrtp_sdp_get_session(a->remote_sdp);
    for (size_t i = 0; i < as->group_count && am->mid != NULL; i++) {
        if (strcmp(as->groups[i].semantics, "BUNDLE") == 0) {
            char value[300];
            snprintf(value, sizeof value, "BUNDLE %s", am->mid);
            if (dsrtp_sdp_add_attr(a->local_sdp, DSRTP_SDP_SESSION, "group", value) !=
                DSRTP_OK) {
                *err = "cannot rewrite the answer";
                return -1;
            }
            break;
        }
    }
    return 0;
}

int gw_sdp_fill_remote(const gw_leg *l, const dsrtp_sdp_media *m, dsrtp_session_remote *r)
{
    return dsrtp_session_remote_from_sdp(m, &l->decision, l->ice, r) == DSRTP_OK ? 0 : -1;
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
            if (l->sdes_profiles[j] == l->decision.sdes_profile) {
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
