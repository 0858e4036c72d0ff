/* A call leg's life (one stream of one side): its socket and RTCP socket, its session
 * started from the offer/answer decision, what later descriptions change in it (a plain or
 * SDES peer's new address, an SDES peer's new key, an ICE restart), a new DTLS association
 * in place of the current one, and its teardown. call.c decides when; this file does it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dsrtp/io.h>
#include <dsrtp/util.h>

#include "gw.h"

/* Wipes (secrets: SDES keys, ICE passwords) and frees a kept text. */
void gw_text_drop(char **text, size_t *len)
{
    if (*text != NULL) {
        dsrtp_secure_wipe(*text, *len);
        free(*text);
    }
    *text = NULL;
    *len = 0;
}

void gw_leg_unparse(gw_leg *l)
{
    dsrtp_sdp_free(l->remote_sdp);
    dsrtp_sdp_free(l->local_sdp);
    l->remote_sdp = NULL;
    l->local_sdp = NULL;
}

/* The whole decision goes once the session has what it needs of it. */
static void drop_pending(gw_leg *l)
{
    if (l->pending != NULL) {
        dsrtp_sdp_decision_wipe(l->pending);
        free(l->pending);
        l->pending = NULL;
    }
}

void gw_leg_clear(gw *g, gw_leg *l)
{
    gw_hs_end(g, l);
    if (l->rtcp_fd >= 0) {
        gw_io_unwatch(g, l->rtcp_fd);
        close(l->rtcp_fd);
    }
    if (l->fd >= 0) {
        gw_io_unwatch(g, l->fd);
        close(l->fd);
        gw_ports_give(&g->root->ports, l->port);
        atomic_fetch_sub(&g->m.legs_current, 1);
    }
    dsrtp_session_free(l->session);
    gw_leg_unparse(l);
    drop_pending(l);
    gw_text_drop(&l->remote_text, &l->remote_len);
    gw_text_drop(&l->sent_sdp, &l->sent_len);
    if (l->sdes_keys != NULL) {
        dsrtp_secure_wipe(l->sdes_keys, GW_SDES_OFFERED * sizeof *l->sdes_keys);
        free(l->sdes_keys);
    }
    free(l->tag);
    free(l->mid);
    dsrtp_secure_wipe(l, sizeof *l);
    l->fd = -1;
    l->rtcp_fd = -1;
}

/* Replaces a tag with a copy of text: 0, or -1 (out of memory; the tag stays). */
int gw_leg_set_tag(gw_leg *l, const char *text)
{
    char *copy = strdup(text != NULL ? text : "");
    if (copy == NULL) {
        return -1;
    }
    free(l->tag);
    l->tag = copy;
    return 0;
}

/* Leg l of side idx for stream k on m-line mline: no socket yet. The first stream's legs
 * name their side: tag (NULL: unknown yet). 0, or -1 (out of memory). */
int gw_leg_init(gw_call *c, gw_leg *l, int idx, unsigned k, uint8_t mline, const char *tag)
{
    l->kind = GW_FD_LEG;
    l->call = c;
    l->idx = idx;
    l->stream = (uint8_t)k;
    l->mline = mline;
    l->fd = -1;
    l->rtcp_fd = -1;
    l->deadline = DSRTP_TIME_NEVER;
    return k == 0 ? gw_leg_set_tag(l, tag) : 0;
}

/* A port for leg l (a stream of its own, not bundled). */
int gw_leg_open(gw *g, gw_leg *l, const char **err)
{
    if (gw_ports_take(g, &gw_leg_iface(g, l)->bind, &l->fd, &l->port) != 0) {
        *err = "no free media ports";
        return -1;
    }
    atomic_fetch_add(&g->m.legs_current, 1);
    if (gw_io_watch(g, l->fd, l) != 0) {
        *err = "no free media ports";
        return -1;
    }
    return 0;
}

/* A separate RTCP socket on our RTP port + 1 for a leg without rtcp-mux (RFC 3550 §11: the
 * odd port above, which the pool never hands out). Only plain and SDES legs: DTLS without
 * rtcp-mux would need a second association, so such a leg keeps RTCP on the RTP port. When
 * the port cannot be had, RTCP stays on the RTP port too (logged). */
void gw_leg_open_rtcp(gw *g, gw_leg *l)
{
    if (l->rtcp_fd >= 0) {
        return;
    }
    const char *side = l->idx == 0 ? "A" : "B";
    if (l->keying == DSRTP_KEYING_DTLS) {
        gw_log("warn", "msg=\"DTLS leg without rtcp-mux: RTCP stays on the RTP port\" "
                       "call=\"%s\" leg=%s", l->call->callid, side);
        return;
    }
    dsrtp_addr a = gw_leg_iface(g, l)->bind;
    a.port = (uint16_t)(l->port + 1);
    int fd = -1;
    if (l->port == UINT16_MAX || gw_udp_bind(&a, &fd) != 0) {
        gw_log("warn", "msg=\"no RTCP port: RTCP stays on the RTP port\" call=\"%s\" leg=%s "
                       "port=%u", l->call->callid, side, (unsigned)a.port);
        return;
    }
    l->rtcp_tag = (gw_rtcp_tag){.kind = GW_FD_LEG_RTCP, .leg = l};
    if (gw_io_watch(g, fd, &l->rtcp_tag) != 0) {
        close(fd);
        gw_log("warn", "msg=\"cannot watch the RTCP port\" call=\"%s\" leg=%s",
               l->call->callid, side);
        return;
    }
    l->rtcp_fd = fd;
    gw_log("debug", "msg=\"separate RTCP port\" call=\"%s\" leg=%s port=%u", l->call->callid,
           side, (unsigned)a.port);
}

/* Where RTCP for a leg with its own RTCP socket goes first: the peer's a=rtcp (RFC 3605),
 * on its address or else the RTP one; without it, the RTP path's port + 1 (relay.c). */
static void rtcp_peer_from_sdp(gw_leg *l, const dsrtp_sdp_media *m, const dsrtp_session_remote *r)
{
    l->has_rtcp_peer = false;
    if (!m->has_rtcp || m->rtcp_port == 0) {
        return;
    }
    if (m->rtcp_address.family != DSRTP_SDP_ADDR_NONE && m->rtcp_address.address != NULL) {
        const char *ip = m->rtcp_address.address;
        char text[DSRTP_ADDR_TEXT_MAX + 8];
        snprintf(text, sizeof text, strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip,
                 m->rtcp_port);
        l->has_rtcp_peer = dsrtp_addr_parse(text, strlen(text), &l->rtcp_peer) == DSRTP_OK;
    } else if (r->has_addr) {
        l->rtcp_peer = r->addr;
        l->rtcp_peer.port = m->rtcp_port;
        l->has_rtcp_peer = true;
    }
}

int gw_leg_start(gw *g, gw_leg *l)
{
    dsrtp_session_remote r;
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(l->call->leg[l->idx].remote_sdp, l->mline);
    if (gw_sdp_fill_remote(l, m, &r) != 0) {
        return -1;
    }
    if (r.has_addr) {
        l->rtp_peer = r.addr;
    }
    if (l->rtcp_fd >= 0) {
        rtcp_peer_from_sdp(l, m, &r);
    }
    bool dtls = l->keying == DSRTP_KEYING_DTLS;
    /* A DTLS client without ICE needs no session before its handshake starts (nothing comes
     * for it before our ClientHello): one waiting for a slot gets it only then, so that its
     * OpenSSL state is not allocated amid the long-lived state of the calls set up
     * meanwhile, which would pin the arena once the handshake frees it. */
    if (dtls && l->session == NULL && !l->ice && l->agreed.role == DSRTP_DTLS_CLIENT &&
        !gw_hs_admit(g, l)) {
        dsrtp_secure_wipe(&r, sizeof r);
        return 0;
    }
    dsrtp_err err = DSRTP_OK;
    if (l->session == NULL && gw_leg_session_new(g, l) != 0) {
        err = DSRTP_ERR_INTERNAL;
    }
    if (err == DSRTP_OK) {
        err = dsrtp_session_set_remote(l->session, &r);
    }
    dsrtp_secure_wipe(&r, sizeof r);
    if (err == DSRTP_OK && dtls && !gw_hs_admit(g, l)) {
        /* No handshake slot (--max-handshakes): the session is configured and answers ICE
         * checks meanwhile; the worker starts it when a slot frees. Until then the leg is
         * not started, so a later answer configures it again (pending stays for that). */
        return 0;
    }
    if (err == DSRTP_OK) {
        err = dsrtp_session_start(l->session, dsrtp_io_now());
    }
    if (err != DSRTP_OK) {
        gw_hs_end(g, l);
        return -1;
    }
    drop_pending(l);
    l->started = true;
    gw_leg_flush(g, l);
    return 0;
}

int gw_leg_start_queued(gw *g, gw_leg *l)
{
    dsrtp_time now = dsrtp_io_now();
    int rc = 0;
    if (l->session == NULL) {
        /* Queued without a session (start_leg): made now, from the kept descriptions. */
        const char *why = NULL;
        rc = gw_call_parse(l->call, &why);
        if (rc == 0) {
            rc = gw_leg_start(g, l);
        }
        gw_call_unparse(l->call);
    } else if (dsrtp_session_start(l->session, now) == DSRTP_OK) {
        drop_pending(l);
        l->started = true;
        gw_leg_flush(g, l);
    } else {
        rc = -1;
    }
    if (rc != 0) {
        l->failed = true;
        gw_log("warn", "msg=\"leg failed\" call=\"%s\" leg=%s detail=\"cannot start the "
                       "queued DTLS handshake\"", l->call->callid, l->idx == 0 ? "A" : "B");
        return -1;
    }
    l->call->last_media = now; /* the media timeout counts from the real start */
    return 0;
}

/* An unspecified address (c=IN IP4 0.0.0.0, RFC 2543 hold) names no peer: sending there
 * would reach this host. */
static bool addr_unspecified(const dsrtp_addr *a)
{
    size_t n = a->family == 6 ? 16 : 4;
    for (size_t i = 0; i < n; i++) {
        if (a->ip[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Tells a running leg's session what the side's latest description changed. A plain or
 * SDES peer's c=/m= address becomes where its media goes (for a plain leg the SDP is the
 * only source of it); a DTLS leg learns its path from ICE or from authenticated packets
 * only, so there the address is not taken. An SDES peer's new key re-keys our receive side;
 * new ICE credentials of the peer are used for its checks. */
int gw_leg_update(gw *g, gw_leg *l)
{
    dsrtp_session_remote r;
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(l->call->leg[l->idx].remote_sdp, l->mline);
    if (gw_sdp_fill_remote(l, m, &r) != 0) {
        return -1;
    }
    if (l->keying == DSRTP_KEYING_DTLS || (r.has_addr && addr_unspecified(&r.addr))) {
        r.has_addr = false;
    }
    if (r.has_addr && !dsrtp_addr_equal(&r.addr, &l->rtp_peer)) {
        char was[80];
        char now[80];
        gw_addr_log(&l->rtp_peer, was, sizeof was);
        gw_addr_log(&r.addr, now, sizeof now);
        gw_log("info", "msg=\"media address moved by the SDP\" call=\"%s\" leg=%s from=%s to=%s",
               l->call->callid, l->idx == 0 ? "A" : "B", was, now);
        l->rtp_peer = r.addr;
    }
    if (l->rtcp_fd >= 0) {
        rtcp_peer_from_sdp(l, m, &r);
    }
    dsrtp_err err = dsrtp_session_update_remote(l->session, &r);
    dsrtp_secure_wipe(&r, sizeof r);
    drop_pending(l);
    gw_leg_flush(g, l);
    return err == DSRTP_OK ? 0 : -1;
}

/* RFC 8445 §9: "To restart ICE, an agent MUST change both the password and the username
 * fragment"; RFC 8839 §4.4.3.1.1 has the offerer signal a restart with new a=ice-ufrag and
 * a=ice-pwd. The answerer treats either one changed as a restart (a peer that changed one
 * alone is not following the rule, but it no longer agrees with us on the pair). */
bool gw_ice_restarted(const dsrtp_sdp_media *prev, const dsrtp_sdp_media *m)
{
    if (prev == NULL || prev->ice_ufrag == NULL || prev->ice_pwd == NULL ||
        m->ice_ufrag == NULL || m->ice_pwd == NULL) {
        return false;
    }
    size_t pl = strlen(prev->ice_pwd);
    return strcmp(prev->ice_ufrag, m->ice_ufrag) != 0 || pl != strlen(m->ice_pwd) ||
           !dsrtp_ct_equal(prev->ice_pwd, m->ice_pwd, pl);
}

/* The peer of a running ICE leg restarted ICE: our side restarts too, with new credentials
 * of ours (RFC 8445 §9: both agents change them), which the answer towards it then carries.
 * The agent takes checks under the new credentials only (the peer has our answer by the
 * time it sends them); media stays on the path in use until the peer nominates again, and
 * the DTLS association and keys stay. Nothing changes when the session refuses. */
int gw_leg_restart_ice(gw_leg *l, const dsrtp_sdp_media *m)
{
    char ufrag[GW_ICE_UFRAG_LEN + 1];
    char pwd[GW_ICE_PWD_LEN + 1];
    gw_ice_creds_make(ufrag, pwd);
    dsrtp_err err = dsrtp_session_restart_ice(l->session, ufrag, pwd, m->ice_ufrag, m->ice_pwd);
    if (err == DSRTP_OK) {
        memcpy(l->ice_ufrag, ufrag, sizeof ufrag);
        dsrtp_secure_wipe(l->ice_pwd, sizeof l->ice_pwd);
        memcpy(l->ice_pwd, pwd, sizeof pwd);
        gw_log("info", "msg=\"ICE restart\" call=\"%s\" leg=%s", l->call->callid,
               l->idx == 0 ? "A" : "B");
    } else {
        gw_log("warn", "msg=\"ICE restart refused by the media session\" call=\"%s\" leg=%s "
                       "error=\"%s\"",
               l->call->callid, l->idx == 0 ? "A" : "B", dsrtp_strerror(err));
    }
    dsrtp_secure_wipe(pwd, sizeof pwd);
    return err == DSRTP_OK ? 0 : -1;
}

/* One SDES key per leg once it runs: the one for the suite agreed. Later offers towards the
 * leg carry just that line (a second suite offered again could be picked: a new send key). */
void gw_leg_keep_used_sdes_key(gw_leg *l)
{
    if (l->keying != DSRTP_KEYING_SDES || l->sdes_count < 2) {
        return;
    }
    for (size_t j = 0; j < l->sdes_count; j++) {
        if (l->sdes_profiles[j] == l->agreed.sdes_profile) {
            l->sdes_profiles[0] = l->sdes_profiles[j];
            l->sdes_keys[0] = l->sdes_keys[j];
            break;
        }
    }
    dsrtp_secure_wipe(&l->sdes_keys[1], (GW_SDES_OFFERED - 1) * sizeof *l->sdes_keys);
    l->sdes_count = 1;
}

/* A new DTLS association on leg l (RFC 8842 §5): the current one ends (close_notify when
 * it is up), its session goes, and the leg is started again from its pending decision, with
 * new ICE credentials of ours when new_creds. Port and sockets stay. */
void gw_leg_renew(gw *g, gw_leg *l, bool new_creds, const char *by)
{
    if (l->session != NULL && l->ready &&
        dsrtp_session_get_state(l->session) == DSRTP_SESSION_READY &&
        dsrtp_session_close(l->session) == DSRTP_OK) {
        gw_leg_flush(g, l);
    }
    gw_hs_end(g, l);
    dsrtp_session_free(l->session);
    l->session = NULL;
    l->started = false;
    l->ready = false;
    l->failed = false;
    l->closed = false;
    l->deadline = DSRTP_TIME_NEVER;
    if (new_creds) {
        dsrtp_secure_wipe(l->ice_pwd, sizeof l->ice_pwd);
        gw_ice_creds_make(l->ice_ufrag, l->ice_pwd);
    }
    gw_log("info", "msg=\"new DTLS association\" call=\"%s\" leg=%s stream=%u by=%s",
           l->call->callid, l->idx == 0 ? "A" : "B", (unsigned)l->stream, by);
}
