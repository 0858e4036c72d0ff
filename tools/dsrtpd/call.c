/* The call table: call-id -> call with two legs. An offer creates the call (both legs get a
 * port; leg B's DTLS session exists at once so that an early ClientHello from B is held);
 * the answer completes leg B, starts both sessions and yields the answer for A. Deleted
 * calls are unlinked at once but freed at the end of the loop iteration, so an event
 * already fetched for one of their sockets never touches freed memory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dsrtp/io.h>
#include <dsrtp/util.h>

#include "gw.h"

gw_call *gw_call_find(gw *g, const char *callid)
{
    for (gw_call *c = g->calls; c != NULL; c = c->next) {
        if (strcmp(c->callid, callid) == 0) {
            return c;
        }
    }
    return NULL;
}

static void leg_clear(gw *g, gw_leg *l)
{
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
    dsrtp_sdp_free(l->remote_sdp);
    dsrtp_sdp_free(l->local_sdp);
    dsrtp_sdp_decision_wipe(&l->decision);
    dsrtp_secure_wipe(l, sizeof *l);
    l->fd = -1;
    l->rtcp_fd = -1;
}

static void call_free(gw *g, gw_call *c)
{
    leg_clear(g, &c->leg[0]);
    leg_clear(g, &c->leg[1]);
    if (c->offer_text != NULL) {
        dsrtp_secure_wipe(c->offer_text, c->offer_len);
        free(c->offer_text);
    }
    if (c->answer_text != NULL) {
        dsrtp_secure_wipe(c->answer_text, c->answer_len);
        free(c->answer_text);
    }
    free(c);
}

static int leg_open(gw *g, gw_call *c, int idx, const char *tag)
{
    gw_leg *l = &c->leg[idx];
    l->kind = GW_FD_LEG;
    l->call = c;
    l->idx = idx;
    l->fd = -1;
    l->deadline = DSRTP_TIME_NEVER;
    snprintf(l->tag, sizeof l->tag, "%s", tag != NULL ? tag : "");
    if (gw_ports_take(g, &l->fd, &l->port) != 0) {
        return -1;
    }
    atomic_fetch_add(&g->m.legs_current, 1);
    return gw_io_watch(g, l->fd, l);
}

/* A separate RTCP socket on our RTP port + 1 for a leg without rtcp-mux (RFC 3550 §11: the
 * odd port above, which the pool never hands out). Only plain and SDES legs: DTLS without
 * rtcp-mux would need a second association, so such a leg keeps RTCP on the RTP port. When
 * the port cannot be had, RTCP stays on the RTP port too (logged). */
static void leg_open_rtcp(gw *g, gw_leg *l)
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
    dsrtp_addr a = g->cfg.iface;
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

static char *keep_text(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}

static int write_sdp(const dsrtp_sdp *d, char *out, size_t cap, size_t *out_len)
{
    return dsrtp_sdp_write(d, out, cap, out_len) == DSRTP_OK ? 0 : -1;
}

static int parse_sdp(const char *sdp, size_t len, dsrtp_sdp **out, const char **err)
{
    dsrtp_sdp_error perr = {0};
    if (dsrtp_sdp_parse(sdp, len, out, &perr) != DSRTP_OK) {
        *err = perr.reason != NULL ? perr.reason : "malformed SDP";
        return -1;
    }
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(*out, 0);
    if (m == NULL || m->port == 0) {
        *err = "SDP has no active m-line";
        dsrtp_sdp_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Calls of every worker: the limit is the gateway's, not a worker's. */
static uint64_t calls_in_progress(gw *g)
{
    const gw *root = g->root;
    uint64_t n = 0;
    for (unsigned i = 0; i < root->worker_count; i++) {
        n += atomic_load_explicit(&root->workers[i]->m.calls_current, memory_order_relaxed);
    }
    return n;
}

int gw_call_offer(gw *g, const char *callid, const char *from_tag, const char *sdp, size_t len,
                  const gw_opts *o, char *out, size_t cap, size_t *out_len, const char **err)
{
    gw_call *c = gw_call_find(g, callid);
    if (c != NULL) {
        /* A repeated offer for a call we know: the same description again (same ports and
         * keys). TODO(#gw-reinvite): re-offers that change media or keying. */
        if (c->offer_text == NULL || c->offer_len + 1 > cap) {
            *err = "call exists but has no offer";
            return -1;
        }
        memcpy(out, c->offer_text, c->offer_len + 1);
        *out_len = c->offer_len;
        return 0;
    }
    if (g->cfg.max_calls != 0 && calls_in_progress(g) >= g->cfg.max_calls) {
        *err = "call limit reached";
        return -1;
    }
    if (gw_ports_free(&g->root->ports) < 2) {
        *err = "no free media ports";
        return -1;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        *err = "out of memory";
        return -1;
    }
    c->leg[0].fd = -1;
    c->leg[1].fd = -1;
    c->leg[0].rtcp_fd = -1;
    c->leg[1].rtcp_fd = -1;
    snprintf(c->callid, sizeof c->callid, "%s", callid);
    c->created = dsrtp_io_now();
    c->last_media = c->created;
    if (parse_sdp(sdp, len, &c->leg[0].remote_sdp, err) != 0) {
        goto fail;
    }
    if (leg_open(g, c, 0, from_tag) != 0 || leg_open(g, c, 1, NULL) != 0) {
        *err = "no free media ports";
        goto fail;
    }
    const dsrtp_sdp_media *am = dsrtp_sdp_get_media(c->leg[0].remote_sdp, 0);
    if (gw_sdp_offer_b(g, c, am, o, err) != 0) {
        goto fail;
    }
    /* RTCP without rtcp-mux: A's offer lacks it (our answer will too), or the flags keep it
     * out of the offer to B. A B that drops it from its answer gets the port then. */
    for (int i = 0; i < 2; i++) {
        if (!c->leg[i].rtcp_mux) {
            leg_open_rtcp(g, &c->leg[i]);
        }
    }
    if (c->leg[1].keying == DSRTP_KEYING_DTLS && gw_leg_session_new(g, &c->leg[1]) != 0) {
        *err = "cannot create the DTLS session";
        goto fail;
    }
    if (write_sdp(c->leg[1].local_sdp, out, cap, out_len) != 0 ||
        (c->offer_text = keep_text(out, *out_len)) == NULL) {
        *err = "rewritten offer too large";
        goto fail;
    }
    c->offer_len = *out_len;
    c->next = g->calls;
    g->calls = c;
    g->call_count++;
    atomic_fetch_add(&g->m.calls_current, 1);
    atomic_fetch_add(&g->m.calls_total, 1);
    gw_log("info", "msg=\"call created\" call=\"%s\" keying_a=%s keying_b=%s ice_a=%d ice_b=%d "
                   "port_a=%u port_b=%u",
           c->callid, dsrtp_keying_name(c->leg[0].keying), dsrtp_keying_name(c->leg[1].keying),
           c->leg[0].ice, c->leg[1].ice, c->leg[0].port, c->leg[1].port);
    return 0;
fail:
    call_free(g, c);
    return -1;
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

static int start_leg(gw *g, gw_leg *l)
{
    dsrtp_session_remote r;
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(l->remote_sdp, 0);
    gw_sdp_fill_remote(l, m, &r);
    if (r.has_addr) {
        l->rtp_peer = r.addr;
    }
    if (l->rtcp_fd >= 0) {
        rtcp_peer_from_sdp(l, m, &r);
    }
    dsrtp_err err = DSRTP_OK;
    if (l->session == NULL && gw_leg_session_new(g, l) != 0) {
        err = DSRTP_ERR_INTERNAL;
    }
    if (err == DSRTP_OK) {
        err = dsrtp_session_set_remote(l->session, &r);
    }
    if (err == DSRTP_OK) {
        err = dsrtp_session_start(l->session, dsrtp_io_now());
    }
    dsrtp_secure_wipe(&r, sizeof r);
    if (err != DSRTP_OK) {
        return -1;
    }
    l->started = true;
    gw_leg_flush(g, l);
    return 0;
}

int gw_call_answer(gw *g, const char *callid, const char *from_tag, const char *to_tag,
                   const char *sdp, size_t len, const gw_opts *o, char *out, size_t cap,
                   size_t *out_len, const char **err)
{
    (void)o;
    gw_call *c = gw_call_find(g, callid);
    if (c == NULL) {
        *err = "Unknown call-id";
        return -1;
    }
    if (from_tag != NULL && from_tag[0] != '\0' && strcmp(from_tag, c->leg[0].tag) != 0) {
        *err = "from-tag does not match the offer";
        return -1;
    }
    if (c->answered) {
        /* A repeated answer: the same description again. */
        if (c->answer_text == NULL || c->answer_len + 1 > cap) {
            *err = "answer too large";
            return -1;
        }
        memcpy(out, c->answer_text, c->answer_len + 1);
        *out_len = c->answer_len;
        return 0;
    }
    gw_leg *a = &c->leg[0];
    gw_leg *b = &c->leg[1];
    dsrtp_sdp *bs = NULL;
    if (parse_sdp(sdp, len, &bs, err) != 0) {
        return -1;
    }
    dsrtp_sdp_policy pol;
    dsrtp_sdp_policy_init(&pol);
    pol.keyings = (unsigned)b->keying;
    pol.allow_insecure_sdes = true;
    dsrtp_sdp_failure why = {0};
    dsrtp_sdp_decision_wipe(&b->decision);
    if (dsrtp_sdp_negotiate(&pol, DSRTP_SDP_OFFERER, dsrtp_sdp_get_media(bs, 0),
                            dsrtp_sdp_get_media(b->local_sdp, 0), &b->decision,
                            &why) != DSRTP_OK) {
        *err = why.reason != NULL ? why.reason : "answer: keying mismatch";
        dsrtp_sdp_free(bs);
        return -1;
    }
    dsrtp_sdp_free(b->remote_sdp);
    b->remote_sdp = bs;
    snprintf(b->tag, sizeof b->tag, "%s", to_tag != NULL ? to_tag : "");
    if (b->rtcp_mux && !dsrtp_sdp_get_media(bs, 0)->rtcp_mux) {
        /* Offered but refused (RFC 5761 §5.1.1): RTCP on our port + 1 after all. */
        b->rtcp_mux = false;
        leg_open_rtcp(g, b);
    }
    if (gw_sdp_answer_a(g, c, err) != 0 || write_sdp(a->local_sdp, out, cap, out_len) != 0) {
        if (*err == NULL) {
            *err = "rewritten answer too large";
        }
        return -1;
    }
    if (start_leg(g, b) != 0 || start_leg(g, a) != 0) {
        *err = "cannot start the media sessions";
        return -1;
    }
    c->answer_text = keep_text(out, *out_len);
    c->answer_len = c->answer_text != NULL ? *out_len : 0;
    c->answered = true;
    c->last_media = dsrtp_io_now();
    gw_log("info", "msg=\"call answered\" call=\"%s\"", c->callid);
    return 0;
}

void gw_call_delete(gw *g, gw_call *c, const char *why)
{
    for (gw_call **pp = &g->calls; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    for (int i = 0; i < 2; i++) {
        gw_leg *l = &c->leg[i];
        if (l->session != NULL && l->started && l->keying == DSRTP_KEYING_DTLS &&
            dsrtp_session_get_state(l->session) == DSRTP_SESSION_READY &&
            dsrtp_session_close(l->session) == DSRTP_OK) {
            gw_leg_flush(g, l); /* close_notify leaves now */
        }
    }
    gw_log("info", "msg=\"call deleted\" call=\"%s\" reason=%s rtp_a_in=%llu rtp_b_in=%llu",
           c->callid, why, (unsigned long long)c->leg[0].rtp_in,
           (unsigned long long)c->leg[1].rtp_in);
    c->dead = true;
    c->next = g->dead_calls;
    g->dead_calls = c;
    g->call_count--;
    atomic_fetch_sub(&g->m.calls_current, 1);
}

void gw_call_reap(gw *g)
{
    while (g->dead_calls != NULL) {
        gw_call *c = g->dead_calls;
        g->dead_calls = c->next;
        call_free(g, c);
    }
}

void gw_calls_tick(gw *g, dsrtp_time now)
{
    dsrtp_time next = DSRTP_TIME_NEVER;
    gw_call *c = g->calls;
    while (c != NULL) {
        gw_call *following = c->next;
        if (g->cfg.timeout != 0 && now - c->last_media > (dsrtp_time)g->cfg.timeout * 1000000u) {
            atomic_fetch_add(&g->m.calls_timeout, 1);
            gw_call_delete(g, c, "timeout");
            c = following;
            continue;
        }
        for (int i = 0; i < 2; i++) {
            gw_leg *l = &c->leg[i];
            if (l->session == NULL) {
                continue;
            }
            if (l->deadline <= now) {
                dsrtp_err err = dsrtp_session_handle_timeout(l->session, now);
                (void)err; /* a fatal error comes out as a FAILED event */
                gw_leg_flush(g, l);
            }
            if (l->deadline < next) {
                next = l->deadline;
            }
        }
        c = following;
    }
    g->next_deadline = next;
}

void gw_calls_close_all(gw *g)
{
    while (g->calls != NULL) {
        gw_call_delete(g, g->calls, "shutdown");
    }
}
