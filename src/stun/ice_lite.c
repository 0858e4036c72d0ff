/* The ICE-lite agent (RFC 8445 §2.5, §7.3; RFC 7675): answers authenticated Binding
 * requests, follows nomination and tracks consent. The response queue is a ring of fixed
 * slots allocated with the agent in dsrtp_ice_lite_new (one block); events are two flags,
 * so neither can grow.
 *
 * Memory: one agent per WebRTC leg, so its size counts per call. Responses are polled out
 * right after the check that caused them, so the default ring is short, and each slot holds
 * the largest response this agent can build rather than any STUN message. The peer's
 * password is validated but not kept: a lite agent never signs with it. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun_int.h"

/* The largest response the agent writes (RFC 8489 §14: 4-byte attribute headers, values
 * padded to 4): a 420 with a 20-byte header, ERROR-CODE (4 + 4 + "Unknown Attribute"
 * padded to 20), UNKNOWN-ATTRIBUTES listing DSRTP_STUN_MAX_ATTRS types, MESSAGE-INTEGRITY
 * (4 + 20) and FINGERPRINT (4 + 4). A success with an IPv6 XOR-MAPPED-ADDRESS is 76 and a
 * 487 is 84. enqueue fails with DSRTP_ERR_INTERNAL if this is ever short. */
#define ICE_REASON_420 "Unknown Attribute"
#define ICE_REASON_487 "Role Conflict"
#define ICE_PAD4(n) (((n) + 3u) & ~(size_t)3u)
#define ICE_SLOT_DATA                                                                     \
    (20u + (8u + ICE_PAD4(sizeof ICE_REASON_420 - 1u)) +                                  \
     (4u + ICE_PAD4(2u * DSRTP_STUN_MAX_ATTRS)) + 24u + 8u)
static_assert(ICE_SLOT_DATA <= DSRTP_ICE_MAX_RESPONSE, "DSRTP_ICE_MAX_RESPONSE too small");
static_assert(sizeof ICE_REASON_487 <= sizeof ICE_REASON_420, "420 is the longest reason");

typedef struct ice_slot {
    dsrtp_addr to;
    uint16_t len;
    uint8_t data[ICE_SLOT_DATA];
} ice_slot;

struct dsrtp_ice_lite {
    char local_ufrag[DSRTP_ICE_MAX_UFRAG + 1];
    size_t local_ufrag_len;
    char local_pwd[DSRTP_ICE_MAX_PWD + 1];
    size_t local_pwd_len;
    char remote_ufrag[DSRTP_ICE_MAX_UFRAG + 1];
    size_t remote_ufrag_len; /* 0: not known yet */
    dsrtp_time consent_timeout;
    dsrtp_time now;        /* the latest time seen */
    dsrtp_time last_valid; /* when consent was last refreshed */
    bool consent;          /* the consent timer runs */
    bool lost;             /* consent expired: the agent is finished */
    bool has_selected;
    dsrtp_addr selected;
    bool ev_selected; /* report the (current) selected address */
    bool ev_lost;     /* report consent loss */
    size_t depth;
    size_t head;
    size_t count;
    dsrtp_ice_stats stats;
    ice_slot queue[]; /* depth slots, allocated with the agent */
};

void dsrtp_ice_lite_cfg_init(dsrtp_ice_lite_cfg *cfg)
{
    if (cfg == NULL) {
        return;
    }
    *cfg = (dsrtp_ice_lite_cfg){0};
    cfg->consent_timeout = DSRTP_ICE_DEFAULT_CONSENT_TIMEOUT;
    cfg->queue_depth = DSRTP_ICE_DEFAULT_QUEUE_DEPTH;
}

/* Copies a valid credential into dst (cap = max + 1 bytes); false if s is not one. */
static bool copy_cred(char *dst, size_t *dst_len, const char *s, size_t min, size_t max)
{
    if (s == NULL) {
        return false;
    }
    size_t n = dsrtp_ice_cred_len(s, max);
    if (!dsrtp_ice_cred_valid(s, n, min, max)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        dst[i] = s[i];
    }
    dst[n] = '\0';
    *dst_len = n;
    return true;
}

static dsrtp_err local_cred(char *dst, size_t *dst_len, const char *given, size_t min,
                            size_t max, size_t gen_len)
{
    if (given != NULL) {
        DSRTP_CHECK(copy_cred(dst, dst_len, given, min, max), DSRTP_ERR_INVALID_ARG);
        return DSRTP_OK;
    }
    DSRTP_TRY(dsrtp_ice_cred_generate(dst, gen_len));
    *dst_len = gen_len;
    return DSRTP_OK;
}

static bool remote_valid(const char *ufrag, const char *pwd)
{
    return ufrag != NULL && pwd != NULL &&
           dsrtp_ice_cred_valid(ufrag, dsrtp_ice_cred_len(ufrag, DSRTP_ICE_MAX_UFRAG),
                                DSRTP_ICE_MIN_UFRAG, DSRTP_ICE_MAX_UFRAG) &&
           dsrtp_ice_cred_valid(pwd, dsrtp_ice_cred_len(pwd, DSRTP_ICE_MAX_PWD),
                                DSRTP_ICE_MIN_PWD, DSRTP_ICE_MAX_PWD);
}

/* Only the ufrag is kept: it is checked in USERNAME. The password was validated by
 * remote_valid (a malformed SDP is still refused) but a lite agent never signs with it
 * (RFC 8445 §2.5: it sends no checks), so it is not stored. */
static void set_remote(dsrtp_ice_lite *ice, const char *ufrag)
{
    /* Validated by remote_valid, so this copy succeeds. */
    (void)copy_cred(ice->remote_ufrag, &ice->remote_ufrag_len, ufrag, DSRTP_ICE_MIN_UFRAG,
                    DSRTP_ICE_MAX_UFRAG);
}

dsrtp_err dsrtp_ice_lite_new(const dsrtp_ice_lite_cfg *cfg, dsrtp_ice_lite **out)
{
    DSRTP_CHECK(cfg != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->consent_timeout > 0, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(cfg->queue_depth >= 1 && cfg->queue_depth <= DSRTP_ICE_MAX_QUEUE_DEPTH,
                DSRTP_ERR_INVALID_ARG);
    bool has_remote = cfg->remote_ufrag != NULL || cfg->remote_pwd != NULL;
    DSRTP_CHECK(!has_remote || remote_valid(cfg->remote_ufrag, cfg->remote_pwd),
                DSRTP_ERR_INVALID_ARG);

    /* queue_depth <= DSRTP_ICE_MAX_QUEUE_DEPTH, so this cannot overflow. */
    dsrtp_ice_lite *ice = calloc(1, sizeof *ice + cfg->queue_depth * sizeof(ice_slot));
    DSRTP_CHECK(ice != NULL, DSRTP_ERR_NO_MEMORY);
    dsrtp_err err;
    ice->depth = cfg->queue_depth;
    ice->consent_timeout = cfg->consent_timeout;
    err = local_cred(ice->local_ufrag, &ice->local_ufrag_len, cfg->local_ufrag,
                     DSRTP_ICE_MIN_UFRAG, DSRTP_ICE_MAX_UFRAG, DSRTP_ICE_GEN_UFRAG_LEN);
    if (err != DSRTP_OK) {
        goto out;
    }
    err = local_cred(ice->local_pwd, &ice->local_pwd_len, cfg->local_pwd, DSRTP_ICE_MIN_PWD,
                     DSRTP_ICE_MAX_PWD, DSRTP_ICE_GEN_PWD_LEN);
    if (err != DSRTP_OK) {
        goto out;
    }
    if (has_remote) {
        set_remote(ice, cfg->remote_ufrag);
    }
    *out = ice;
    return DSRTP_OK;
out:
    dsrtp_ice_lite_free(ice);
    return err;
}

void dsrtp_ice_lite_free(dsrtp_ice_lite *ice)
{
    if (ice == NULL) {
        return;
    }
    dsrtp_wipe(ice, sizeof *ice + ice->depth * sizeof(ice_slot));
    free(ice);
}

dsrtp_err dsrtp_ice_lite_set_remote(dsrtp_ice_lite *ice, const char *ufrag, const char *pwd)
{
    DSRTP_CHECK(ice != NULL && remote_valid(ufrag, pwd), DSRTP_ERR_INVALID_ARG);
    set_remote(ice, ufrag);
    return DSRTP_OK;
}

/* RFC 8445 §9: "To restart ICE, an agent MUST change both the password and the username
 * fragment", and "during the restart, data can continue to be sent using existing data
 * sessions". So the credentials change here and nothing else: the selected address and the
 * consent timer stay (media keeps flowing on the path in use until a check under the new
 * credentials nominates another), and responses already queued were signed before. Checks
 * under the old credentials no longer authenticate from now on. */
dsrtp_err dsrtp_ice_lite_restart(dsrtp_ice_lite *ice, const char *local_ufrag,
                                 const char *local_pwd, const char *remote_ufrag,
                                 const char *remote_pwd)
{
    DSRTP_CHECK(ice != NULL, DSRTP_ERR_INVALID_ARG);
    bool has_remote = remote_ufrag != NULL || remote_pwd != NULL;
    DSRTP_CHECK(!has_remote || remote_valid(remote_ufrag, remote_pwd), DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(!ice->lost, DSRTP_ERR_CLOSED);
    /* Check fully (and draw randomness) before changing anything. */
    char ufrag[DSRTP_ICE_MAX_UFRAG + 1];
    char pwd[DSRTP_ICE_MAX_PWD + 1];
    size_t ufrag_len = 0;
    size_t pwd_len = 0;
    dsrtp_err err = local_cred(ufrag, &ufrag_len, local_ufrag, DSRTP_ICE_MIN_UFRAG,
                               DSRTP_ICE_MAX_UFRAG, DSRTP_ICE_GEN_UFRAG_LEN);
    if (err == DSRTP_OK) {
        err = local_cred(pwd, &pwd_len, local_pwd, DSRTP_ICE_MIN_PWD, DSRTP_ICE_MAX_PWD,
                         DSRTP_ICE_GEN_PWD_LEN);
    }
    if (err == DSRTP_OK) {
        dsrtp_wipe(ice->local_pwd, sizeof ice->local_pwd);
        memcpy(ice->local_ufrag, ufrag, ufrag_len + 1);
        ice->local_ufrag_len = ufrag_len;
        memcpy(ice->local_pwd, pwd, pwd_len + 1);
        ice->local_pwd_len = pwd_len;
        if (has_remote) {
            set_remote(ice, remote_ufrag);
        } else {
            /* Not known yet (we offered the restart): any ufrag until set_remote. */
            dsrtp_wipe(ice->remote_ufrag, sizeof ice->remote_ufrag);
            ice->remote_ufrag_len = 0;
        }
        ice->stats.restarts++;
    }
    dsrtp_wipe(pwd, sizeof pwd);
    return err;
}

const char *dsrtp_ice_lite_get_local_ufrag(const dsrtp_ice_lite *ice)
{
    return ice != NULL ? ice->local_ufrag : "";
}

const char *dsrtp_ice_lite_get_local_pwd(const dsrtp_ice_lite *ice)
{
    return ice != NULL ? ice->local_pwd : "";
}

/* ---- time ---- */

/* Moves time forward (never back) and expires consent when it is due. */
static void advance(dsrtp_ice_lite *ice, dsrtp_time now)
{
    if (now > ice->now) {
        ice->now = now;
    }
    /* RFC 7675 §5.1: consent ends consent_timeout after the last valid check. */
    if (ice->consent && !ice->lost && ice->now - ice->last_valid >= ice->consent_timeout) {
        ice->consent = false;
        ice->lost = true;
        ice->ev_lost = true;
    }
}

dsrtp_time dsrtp_ice_lite_next_deadline(const dsrtp_ice_lite *ice)
{
    if (ice == NULL || !ice->consent || ice->lost) {
        return DSRTP_TIME_NEVER;
    }
    if (ice->last_valid > DSRTP_TIME_NEVER - ice->consent_timeout) {
        return DSRTP_TIME_NEVER;
    }
    return ice->last_valid + ice->consent_timeout;
}

dsrtp_err dsrtp_ice_lite_handle_timeout(dsrtp_ice_lite *ice, dsrtp_time now)
{
    DSRTP_CHECK(ice != NULL, DSRTP_ERR_INVALID_ARG);
    advance(ice, now);
    return DSRTP_OK;
}

/* ---- checks ---- */

/* RFC 8445 §7.3 with RFC 8489 §9.1.3: USERNAME "<ours>:<theirs>", then the HMAC under our
 * password. Every failure is the same DSRTP_ERR_AUTH. */
static dsrtp_err authenticate(const dsrtp_ice_lite *ice, const uint8_t *buf, size_t len,
                              const dsrtp_stun_msg *m)
{
    const uint32_t need = DSRTP_STUN_HAS_USERNAME | DSRTP_STUN_HAS_INTEGRITY;
    DSRTP_CHECK((m->has & need) == need, DSRTP_ERR_AUTH);
    size_t colon = 0;
    while (colon < m->username_len && m->username[colon] != ':') {
        colon++;
    }
    DSRTP_CHECK(colon < m->username_len, DSRTP_ERR_AUTH);
    const char *theirs = m->username + colon + 1;
    size_t theirs_len = m->username_len - colon - 1;
    DSRTP_CHECK(colon == ice->local_ufrag_len &&
                    dsrtp_ct_eq(m->username, ice->local_ufrag, colon),
                DSRTP_ERR_AUTH);
    if (ice->remote_ufrag_len > 0) {
        DSRTP_CHECK(theirs_len == ice->remote_ufrag_len &&
                        dsrtp_ct_eq(theirs, ice->remote_ufrag, theirs_len),
                    DSRTP_ERR_AUTH);
    } else {
        DSRTP_CHECK(theirs_len > 0, DSRTP_ERR_AUTH);
    }
    return dsrtp_stun_check_integrity(buf, len, m, (const uint8_t *)ice->local_pwd,
                                      ice->local_pwd_len);
}

/* Builds the response r into the next free slot, signed with our password. A full queue
 * drops it, as the network might have. */
static dsrtp_err enqueue(dsrtp_ice_lite *ice, const dsrtp_addr *to, const dsrtp_stun_msg *r)
{
    if (ice->count == ice->depth) {
        ice->stats.dropped_queue_full++;
        return DSRTP_OK;
    }
    ice_slot *s = &ice->queue[(ice->head + ice->count) % ice->depth];
    size_t n;
    dsrtp_err err = dsrtp_stun_write(r, (const uint8_t *)ice->local_pwd, ice->local_pwd_len,
                                     true, s->data, sizeof s->data, &n);
    DSRTP_CHECK(err == DSRTP_OK, DSRTP_ERR_INTERNAL);
    s->to = *to;
    s->len = (uint16_t)n; /* n <= sizeof s->data */
    ice->count++;
    return DSRTP_OK;
}

static dsrtp_err answer_error(dsrtp_ice_lite *ice, const dsrtp_addr *to,
                              const dsrtp_stun_msg *req, uint16_t code, const char *reason)
{
    dsrtp_stun_msg r;
    dsrtp_stun_msg_init(&r);
    r.cls = DSRTP_STUN_ERROR;
    for (size_t i = 0; i < DSRTP_STUN_TXID_LEN; i++) {
        r.txid[i] = req->txid[i];
    }
    r.has = DSRTP_STUN_HAS_ERROR_CODE;
    r.error_code = code;
    r.reason = reason;
    r.reason_len = strlen(reason);
    if (code == 420) {
        /* RFC 8489 §14.9: list what we did not understand. */
        r.has |= DSRTP_STUN_HAS_UNKNOWN_ATTRIBUTES;
        for (size_t i = 0; i < req->unhandled_count; i++) {
            r.unknown_attrs[i] = req->unhandled[i];
        }
        r.unknown_attrs_count = req->unhandled_count;
    }
    return enqueue(ice, to, &r);
}

static dsrtp_err answer_success(dsrtp_ice_lite *ice, const dsrtp_addr *to,
                                const dsrtp_stun_msg *req)
{
    dsrtp_stun_msg r;
    dsrtp_stun_msg_init(&r);
    r.cls = DSRTP_STUN_SUCCESS;
    for (size_t i = 0; i < DSRTP_STUN_TXID_LEN; i++) {
        r.txid[i] = req->txid[i];
    }
    /* RFC 8445 §7.3.1.2: the mapped address is where the request came from. */
    r.has = DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS;
    r.xor_mapped = *to;
    return enqueue(ice, to, &r);
}

/* A valid check has been answered: follow nomination and refresh consent. */
static void commit_check(dsrtp_ice_lite *ice, const dsrtp_addr *from, const dsrtp_stun_msg *m)
{
    bool from_selected = ice->has_selected && dsrtp_addr_equal(from, &ice->selected);
    /* RFC 8445 §7.3.1.5: only the controlling side nominates, with USE-CANDIDATE. */
    const uint32_t nominate = DSRTP_STUN_HAS_USE_CANDIDATE | DSRTP_STUN_HAS_ICE_CONTROLLING;
    if ((m->has & nominate) == nominate) {
        ice->stats.nominations++;
        if (!from_selected) {
            ice->selected = *from;
            ice->has_selected = true;
            ice->ev_selected = true;
            from_selected = true;
        }
    }
    /* RFC 7675: consent is for the selected pair once there is one. */
    if (!ice->has_selected || from_selected) {
        ice->consent = true;
        ice->last_valid = ice->now;
    }
}

dsrtp_err dsrtp_ice_lite_handle_datagram(dsrtp_ice_lite *ice, dsrtp_time now,
                                         const dsrtp_addr *from, const uint8_t *buf,
                                         size_t len)
{
    dsrtp_stun_msg m;
    DSRTP_CHECK(ice != NULL && from != NULL && buf != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(from->family == 4 || from->family == 6, DSRTP_ERR_INVALID_ARG);
    advance(ice, now);
    DSRTP_CHECK(!ice->lost, DSRTP_ERR_CLOSED);

    dsrtp_err err = dsrtp_stun_parse(buf, len, &m);
    if (err != DSRTP_OK) {
        if (err == DSRTP_ERR_AUTH) {
            ice->stats.dropped_auth++;
        } else {
            ice->stats.dropped_malformed++;
        }
        return err;
    }
    if (m.method != DSRTP_STUN_METHOD_BINDING ||
        (m.cls != DSRTP_STUN_REQUEST && m.cls != DSRTP_STUN_INDICATION)) {
        ice->stats.dropped_malformed++;
        return DSRTP_ERR_UNSUPPORTED;
    }
    if (m.cls == DSRTP_STUN_INDICATION) {
        /* RFC 8445 §11: a keepalive; unauthenticated, so it does not refresh consent. */
        return DSRTP_OK;
    }
    err = authenticate(ice, buf, len, &m);
    if (err != DSRTP_OK) {
        ice->stats.dropped_auth++;
        return err;
    }
    if (m.unhandled_count > 0) {
        /* RFC 8489 §6.3.1: comprehension-required attributes we do not know. */
        DSRTP_TRY(answer_error(ice, from, &m, 420, ICE_REASON_420));
        ice->stats.unknown_attributes++;
        return DSRTP_OK;
    }
    if ((m.has & DSRTP_STUN_HAS_ICE_CONTROLLED) != 0) {
        /* RFC 8445 §7.3.1.1: both sides think they are controlled. A lite agent cannot
         * take the controlling role (§6.1.1), so it always keeps its role and answers
         * 487, as if its tie-breaker were the larger. */
        DSRTP_TRY(answer_error(ice, from, &m, 487, ICE_REASON_487));
        ice->stats.role_conflicts++;
        return DSRTP_OK;
    }
    DSRTP_TRY(answer_success(ice, from, &m));
    ice->stats.checks_answered++;
    commit_check(ice, from, &m);
    return DSRTP_OK;
}

/* ---- output ---- */

dsrtp_err dsrtp_ice_lite_poll_output(dsrtp_ice_lite *ice, uint8_t *buf, size_t cap,
                                     dsrtp_ice_output *out)
{
    dsrtp_ice_output o = {0};
    DSRTP_CHECK(ice != NULL && out != NULL && (buf != NULL || cap == 0),
                DSRTP_ERR_INVALID_ARG);
    if (ice->ev_selected) {
        o.kind = DSRTP_OUT_EVENT;
        o.event.kind = DSRTP_ICE_EV_SELECTED;
        o.event.addr = ice->selected;
        ice->ev_selected = false;
    } else if (ice->ev_lost) {
        o.kind = DSRTP_OUT_EVENT;
        o.event.kind = DSRTP_ICE_EV_CONSENT_LOST;
        o.event.addr = ice->selected;
        ice->ev_lost = false;
    } else if (ice->count > 0) {
        const ice_slot *s = &ice->queue[ice->head];
        if (s->len > cap) {
            out->len = s->len;
            return DSRTP_ERR_BUFFER_TOO_SMALL;
        }
        for (size_t i = 0; i < s->len; i++) {
            buf[i] = s->data[i];
        }
        o.kind = DSRTP_OUT_DATAGRAM;
        o.len = s->len;
        o.to = s->to;
        ice->head = (ice->head + 1) % ice->depth;
        ice->count--;
    } else {
        o.kind = DSRTP_OUT_IDLE;
        o.deadline = dsrtp_ice_lite_next_deadline(ice);
    }
    *out = o;
    return DSRTP_OK;
}

/* ---- accessors ---- */

bool dsrtp_ice_lite_get_selected(const dsrtp_ice_lite *ice, dsrtp_addr *out)
{
    if (ice == NULL || out == NULL || !ice->has_selected) {
        return false;
    }
    *out = ice->selected;
    return true;
}

bool dsrtp_ice_lite_has_consent(const dsrtp_ice_lite *ice)
{
    return ice != NULL && ice->consent && !ice->lost;
}

void dsrtp_ice_lite_get_stats(const dsrtp_ice_lite *ice, dsrtp_ice_stats *out)
{
    if (ice == NULL || out == NULL) {
        return;
    }
    *out = ice->stats;
}
