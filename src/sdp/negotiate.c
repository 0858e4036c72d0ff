/* Offer/answer keying policy for one m-line (RFC 3264; DTLS-SRTP roles from RFC 5763 §5
 * and RFC 4145 §4; SDES from RFC 4568 §7; opportunistic SRTP on RTP/AVP from RFC 8643) and
 * the DTLS restart rule for re-offers (RFC 8842 §5). Pure functions over views. */
#include <string.h>

#include "sdp/sdp_int.h"

#define ALL_KEYINGS (DSRTP_KEYING_DTLS | DSRTP_KEYING_SDES | DSRTP_KEYING_NONE)

const char *dsrtp_keying_name(dsrtp_keying k)
{
    switch (k) {
    case DSRTP_KEYING_DTLS: return "dtls";
    case DSRTP_KEYING_SDES: return "sdes";
    case DSRTP_KEYING_NONE: return "none";
    default: return "";
    }
}

void dsrtp_sdp_policy_init(dsrtp_sdp_policy *p)
{
    static const dsrtp_profile suites[] = {
        DSRTP_AES_CM_128_HMAC_SHA1_80, DSRTP_AES_CM_128_HMAC_SHA1_32,
        DSRTP_AES_256_CM_HMAC_SHA1_80, DSRTP_AES_256_CM_HMAC_SHA1_32,
        DSRTP_AEAD_AES_128_GCM,        DSRTP_AEAD_AES_256_GCM,
    };
    if (p == NULL) {
        return;
    }
    memset(p, 0, sizeof *p);
    p->keyings = DSRTP_KEYING_DTLS;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        p->sdes_suites[i] = suites[i];
    }
    p->sdes_suite_count = sizeof suites / sizeof suites[0];
}

static dsrtp_err refuse(dsrtp_sdp_failure *why, dsrtp_err err, dsrtp_sdp_fail code,
                        const char *reason)
{
    if (why != NULL) {
        why->code = code;
        why->reason = reason;
    }
    return err;
}

/* The keyings an m-line makes possible. *dtls_proto: its transport is DTLS by name. */
static unsigned possible(const dsrtp_sdp_media *m, bool *dtls_proto)
{
    unsigned bits = m->fingerprint_count > 0 ? DSRTP_KEYING_DTLS : 0;
    *dtls_proto = false;
    switch (m->proto) {
    case DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVP:
    case DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVPF:
        *dtls_proto = true;
        return bits;
    case DSRTP_SDP_PROTO_RTP_SAVP:
    case DSRTP_SDP_PROTO_RTP_SAVPF:
        return bits | (m->crypto_count > 0 ? DSRTP_KEYING_SDES : 0);
    case DSRTP_SDP_PROTO_RTP_AVP:
    case DSRTP_SDP_PROTO_RTP_AVPF:
        /* RFC 8643: SRTP keying offered on an RTP/AVP line is opportunistic. */
        return bits | DSRTP_KEYING_NONE | (m->crypto_count > 0 ? DSRTP_KEYING_SDES : 0);
    default:
        return 0;
    }
}

static bool suite_allowed(const dsrtp_sdp_policy *p, dsrtp_profile prof)
{
    for (size_t i = 0; i < p->sdes_suite_count; i++) {
        if (p->sdes_suites[i] == prof && prof != DSRTP_PROFILE_NONE) {
            return true;
        }
    }
    return false;
}

static dsrtp_err decide_dtls(dsrtp_sdp_side side, const dsrtp_sdp_media *remote,
                             const dsrtp_sdp_media *local_offer, dsrtp_sdp_decision *d,
                             dsrtp_sdp_failure *why)
{
    d->keying = DSRTP_KEYING_DTLS;
    d->remote_fingerprint_count = remote->fingerprint_count;
    for (size_t i = 0; i < remote->fingerprint_count; i++) {
        d->remote_fingerprints[i] = remote->fingerprints[i];
    }
    /* RFC 8122 §5: answer with the hash the peer chose. */
    d->fingerprint_hash = remote->fingerprints[0].hash;
    d->dtls_handshake = true;
    if (side == DSRTP_SDP_ANSWERER) {
        switch (remote->setup) {
        case DSRTP_SDP_SETUP_ACTPASS:
        case DSRTP_SDP_SETUP_PASSIVE:
            d->local_setup = DSRTP_SDP_SETUP_ACTIVE; /* RFC 5763 §5: active answers actpass */
            d->role = DSRTP_DTLS_CLIENT;
            return DSRTP_OK;
        case DSRTP_SDP_SETUP_HOLDCONN:
            d->local_setup = DSRTP_SDP_SETUP_HOLDCONN;
            d->dtls_handshake = false;
            return DSRTP_OK;
        default: /* active, or absent: RFC 4145 §4 makes an offer active by default */
            d->local_setup = DSRTP_SDP_SETUP_PASSIVE;
            d->role = DSRTP_DTLS_SERVER;
            return DSRTP_OK;
        }
    }
    dsrtp_sdp_setup ours = local_offer != NULL ? local_offer->setup : DSRTP_SDP_SETUP_ACTPASS;
    ours = ours == DSRTP_SDP_SETUP_NONE ? DSRTP_SDP_SETUP_ACTIVE : ours;
    /* RFC 4145 §4: an answer without a=setup is passive. */
    dsrtp_sdp_setup theirs =
        remote->setup == DSRTP_SDP_SETUP_NONE ? DSRTP_SDP_SETUP_PASSIVE : remote->setup;
    d->local_setup = ours;
    if (theirs == DSRTP_SDP_SETUP_ACTPASS) {
        return refuse(why, DSRTP_ERR_MALFORMED, DSRTP_SDP_FAIL_BAD_SETUP,
                      "a=setup:actpass is not valid in an answer");
    }
    if (theirs == DSRTP_SDP_SETUP_HOLDCONN) {
        d->dtls_handshake = false;
        return DSRTP_OK;
    }
    if (ours == DSRTP_SDP_SETUP_HOLDCONN) {
        return refuse(why, DSRTP_ERR_MALFORMED, DSRTP_SDP_FAIL_BAD_SETUP,
                      "the answer to a holdconn offer must be holdconn");
    }
    if (theirs == ours) {
        return refuse(why, DSRTP_ERR_MALFORMED, DSRTP_SDP_FAIL_ROLE_CONFLICT,
                      theirs == DSRTP_SDP_SETUP_ACTIVE ? "both sides are a=setup:active"
                                                       : "both sides are a=setup:passive");
    }
    d->role = theirs == DSRTP_SDP_SETUP_ACTIVE ? DSRTP_DTLS_SERVER : DSRTP_DTLS_CLIENT;
    return DSRTP_OK;
}

static dsrtp_err decide_sdes(const dsrtp_sdp_policy *p, dsrtp_sdp_side side,
                             const dsrtp_sdp_media *remote, const dsrtp_sdp_media *local_offer,
                             dsrtp_sdp_decision *d, dsrtp_sdp_failure *why)
{
    const dsrtp_sdp_crypto *pick = NULL;
    if (side == DSRTP_SDP_ANSWERER) {
        /* RFC 4568 §7.1.2: take the first offered line we can do, in the offer's order. */
        for (size_t i = 0; i < remote->crypto_count && pick == NULL; i++) {
            const dsrtp_sdp_crypto *c = &remote->crypto[i];
            if (c->usable && c->key_count > 0 && suite_allowed(p, c->profile)) {
                pick = c;
            }
        }
        if (pick == NULL) {
            return refuse(why, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_NO_SUITE,
                          "no offered a=crypto suite is one we support");
        }
    } else {
        /* RFC 4568 §7.1.3: the answer holds the one line accepted, under its offered tag. */
        if (remote->crypto_count != 1) {
            return refuse(why, DSRTP_ERR_MALFORMED, DSRTP_SDP_FAIL_BAD_CRYPTO,
                          "an SDES answer must carry exactly one a=crypto line");
        }
        pick = &remote->crypto[0];
        if (!pick->usable || pick->key_count == 0 || !suite_allowed(p, pick->profile)) {
            return refuse(why, DSRTP_ERR_MALFORMED, DSRTP_SDP_FAIL_BAD_CRYPTO,
                          "the answer's a=crypto suite is not one we offered");
        }
        bool offered = local_offer == NULL;
        for (size_t i = 0; local_offer != NULL && i < local_offer->crypto_count; i++) {
            offered = offered || (local_offer->crypto[i].tag == pick->tag &&
                                  local_offer->crypto[i].profile == pick->profile);
        }
        if (!offered) {
            return refuse(why, DSRTP_ERR_MALFORMED, DSRTP_SDP_FAIL_BAD_CRYPTO,
                          "the answer's a=crypto tag and suite match no offered line");
        }
    }
    d->keying = DSRTP_KEYING_SDES;
    d->sdes_profile = pick->profile;
    d->sdes_tag = pick->tag;
    d->remote_key = pick->keys[0];
    d->generate_local_key = side == DSRTP_SDP_ANSWERER;
    return DSRTP_OK;
}

/* Picks the strongest keying both sides allow; writes *out only on success. */
static dsrtp_err choose(const dsrtp_sdp_policy *p, dsrtp_sdp_side side,
                        const dsrtp_sdp_media *remote, const dsrtp_sdp_media *local_offer,
                        dsrtp_sdp_decision *d, dsrtp_sdp_failure *why)
{
    bool dtls_proto = false;
    bool unused = false;
    if (remote->port == 0) {
        return refuse(why, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_REJECTED,
                      "port 0: the stream is disabled or rejected");
    }
    unsigned avail = possible(remote, &dtls_proto);
    if (remote->proto == DSRTP_SDP_PROTO_OTHER) {
        return refuse(why, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_PROTO,
                      "not an RTP transport this library keys");
    }
    if (side == DSRTP_SDP_OFFERER && local_offer != NULL) {
        avail &= possible(local_offer, &unused);
    }
    unsigned ok = avail & p->keyings;
    if (ok & DSRTP_KEYING_DTLS) {
        return decide_dtls(side, remote, local_offer, d, why);
    }
    if (dtls_proto && (p->keyings & DSRTP_KEYING_DTLS)) {
        return refuse(why, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_NO_FINGERPRINT,
                      "DTLS transport without a usable a=fingerprint");
    }
    dsrtp_sdp_failure sdes_why = {DSRTP_SDP_FAIL_NONE, NULL};
    dsrtp_err sdes_err = DSRTP_ERR_UNSUPPORTED;
    if (ok & DSRTP_KEYING_SDES) {
        if (p->signalling_secure || p->allow_insecure_sdes) {
            sdes_err = decide_sdes(p, side, remote, local_offer, d, &sdes_why);
            if (sdes_err == DSRTP_OK) {
                return DSRTP_OK;
            }
            if (sdes_err != DSRTP_ERR_UNSUPPORTED) {
                return refuse(why, sdes_err, sdes_why.code, sdes_why.reason);
            }
        } else {
            sdes_why.code = DSRTP_SDP_FAIL_INSECURE_SDES;
            sdes_why.reason = "SDES keys over insecure signalling are not allowed";
        }
    }
    /* Plain RTP only where the m-line itself allows it and the caller asked for it. */
    if (ok & DSRTP_KEYING_NONE) {
        d->keying = DSRTP_KEYING_NONE;
        return DSRTP_OK;
    }
    if (sdes_why.code != DSRTP_SDP_FAIL_NONE) {
        return refuse(why, sdes_err, sdes_why.code, sdes_why.reason);
    }
    return refuse(why, DSRTP_ERR_UNSUPPORTED, DSRTP_SDP_FAIL_NO_KEYING,
                  "nothing offered is among the acceptable keyings");
}

dsrtp_err dsrtp_sdp_negotiate(const dsrtp_sdp_policy *policy, dsrtp_sdp_side side,
                              const dsrtp_sdp_media *remote, const dsrtp_sdp_media *local_offer,
                              dsrtp_sdp_decision *out, dsrtp_sdp_failure *why)
{
    DSRTP_CHECK(policy != NULL && remote != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK((policy->keyings & ALL_KEYINGS) != 0 && (policy->keyings & ~ALL_KEYINGS) == 0,
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(side == DSRTP_SDP_ANSWERER || side == DSRTP_SDP_OFFERER, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(policy->sdes_suite_count <= DSRTP_PROFILE_COUNT, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(remote->fingerprint_count <= DSRTP_SDP_MAX_FINGERPRINTS, DSRTP_ERR_INVALID_ARG);
    dsrtp_sdp_decision d;
    memset(&d, 0, sizeof d);
    dsrtp_err e = choose(policy, side, remote, local_offer, &d, why);
    if (e == DSRTP_OK) {
        *out = d;
    }
    dsrtp_wipe(&d, sizeof d);
    return e;
}

void dsrtp_sdp_decision_wipe(dsrtp_sdp_decision *d)
{
    if (d != NULL) {
        dsrtp_wipe(d, sizeof *d);
    }
}

/* Same set of fingerprints, in any order. */
static bool same_fingerprints(const dsrtp_sdp_media *a, const dsrtp_sdp_media *b)
{
    if (a->fingerprint_count != b->fingerprint_count) {
        return false;
    }
    for (size_t i = 0; i < a->fingerprint_count; i++) {
        const dsrtp_fingerprint *x = &a->fingerprints[i];
        bool found = false;
        for (size_t j = 0; j < b->fingerprint_count && !found; j++) {
            const dsrtp_fingerprint *y = &b->fingerprints[j];
            found = x->hash == y->hash && x->len == y->len && x->len <= sizeof x->value &&
                    dsrtp_ct_eq(x->value, y->value, x->len);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

dsrtp_err dsrtp_sdp_dtls_restart(const dsrtp_sdp_media *prev, const dsrtp_sdp_media *next,
                                 bool *restart, const char **reason)
{
    DSRTP_CHECK(prev != NULL && next != NULL && restart != NULL, DSRTP_ERR_INVALID_ARG);
    bool tls_changed = (prev->tls_id == NULL) != (next->tls_id == NULL) ||
                       (prev->tls_id != NULL && !sdp_streq(prev->tls_id, next->tls_id));
    const char *why = "unchanged";
    *restart = false;
    if (!same_fingerprints(prev, next)) {
        why = "fingerprint changed";
        *restart = true;
    } else if (tls_changed) {
        why = "tls-id changed";
        *restart = true;
    }
    if (reason != NULL) {
        *reason = why;
    }
    return DSRTP_OK;
}
