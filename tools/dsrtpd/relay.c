/* Media relay. A datagram on leg X's socket goes through X's session: STUN and DTLS are
 * consumed there; SRTP/SRTCP is authenticated and decrypted in place (plain RTP on a
 * plain leg passes the session's checks too). What comes out is re-protected in place with
 * the other leg's session and sent from the other leg's socket. Nothing here allocates:
 * the packet lives in the gateway's one receive buffer, with room for the largest SRTCP
 * trailer. Nothing unauthenticated crosses: a packet the session refuses is counted and
 * dropped. */
#include <errno.h>
#include <sys/socket.h>

#include <dsrtp/io.h>

#include "gw.h"

static void on_event(gw *g, gw_leg *l, const dsrtp_session_event *e)
{
    const char *side = l->idx == 0 ? "A" : "B";
    switch (e->kind) {
    case DSRTP_SESSION_EV_CONNECTED:
        gw_log("info", "msg=\"ICE path nominated\" call=\"%s\" leg=%s", l->call->callid, side);
        break;
    case DSRTP_SESSION_EV_KEYS_READY: {
        l->ready = true;
        if (l->keying == DSRTP_KEYING_DTLS) {
            dsrtp_session_stats st;
            dsrtp_session_get_stats(l->session, &st);
            gw_metrics_dtls(g, st.handshake_us, true);
            gw_log("info", "msg=\"DTLS handshake done\" call=\"%s\" leg=%s profile=%s ms=%.1f",
                   l->call->callid, side, dsrtp_profile_name(e->profile),
                   (double)st.handshake_us / 1000.0);
        } else {
            gw_log("info", "msg=\"keys ready\" call=\"%s\" leg=%s keying=%s", l->call->callid,
                   side, dsrtp_keying_name(l->keying));
        }
        break;
    }
    case DSRTP_SESSION_EV_ADDRESS_CHANGED:
        gw_log("debug", "msg=\"media address changed\" call=\"%s\" leg=%s", l->call->callid,
               side);
        break;
    case DSRTP_SESSION_EV_FAILED:
        l->failed = true;
        l->ready = false;
        if (l->keying == DSRTP_KEYING_DTLS) {
            gw_metrics_dtls(g, 0, false);
        }
        gw_log("warn", "msg=\"leg failed\" call=\"%s\" leg=%s detail=\"%s\"", l->call->callid,
               side, e->detail);
        break;
    case DSRTP_SESSION_EV_CLOSED:
        l->closed = true;
        l->ready = false;
        gw_log("info", "msg=\"peer closed the leg\" call=\"%s\" leg=%s", l->call->callid, side);
        break;
    }
}

void gw_leg_flush(gw *g, gw_leg *l)
{
    if (l->session == NULL) {
        return;
    }
    for (;;) {
        dsrtp_session_output out;
        dsrtp_err err = dsrtp_session_poll_output(l->session, g->tx, sizeof g->tx, &out);
        if (err != DSRTP_OK) {
            /* A datagram too large for our buffer cannot be: drop the session's output. */
            l->deadline = DSRTP_TIME_NEVER;
            return;
        }
        if (out.kind == DSRTP_OUT_IDLE) {
            l->deadline = out.deadline;
            if (out.deadline < g->next_deadline) {
                g->next_deadline = out.deadline;
            }
            return;
        }
        if (out.kind == DSRTP_OUT_DATAGRAM) {
            (void)gw_sendto(l->fd, &out.to, g->tx, out.len);
        } else {
            on_event(g, l, &out.event);
        }
    }
}

/* Re-protects the plain packet in g->pkt for leg `to` and sends it. */
static void forward(gw *g, gw_leg *from, gw_leg *to, bool rtcp, size_t len)
{
    if (to->session == NULL || !to->ready) {
        atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
        return;
    }
    size_t out_len = 0;
    dsrtp_addr dest;
    dsrtp_err err = dsrtp_session_protect(to->session, rtcp, g->pkt, len, sizeof g->pkt,
                                          &out_len, &dest);
    if (err != DSRTP_OK || gw_sendto(to->fd, &dest, g->pkt, out_len) != 0) {
        atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
        return;
    }
    if (rtcp) {
        to->rtcp_out++;
    } else {
        to->rtp_out++;
    }
    to->bytes_out += len;
    atomic_fetch_add_explicit(&g->m.packets[from->idx][rtcp ? 1 : 0], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->m.bytes[from->idx], len, memory_order_relaxed);
}

void gw_leg_readable(gw *g, gw_leg *l)
{
    gw_call *c = l->call;
    gw_leg *other = &c->leg[1 - l->idx];
    for (int budget = 0; budget < 64 && !c->dead; budget++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        /* Room is kept after GW_PKT_MAX for the SRTCP trailer the other leg adds. */
        ssize_t n = recvfrom(l->fd, g->pkt, GW_PKT_MAX, 0, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            return; /* EAGAIN: drained (other errors: ICMP noise, try next time) */
        }
        if (l->session == NULL || n == 0) {
            continue; /* no session yet (plain or SDES leg before the answer) */
        }
        dsrtp_addr from;
        gw_from_sockaddr(&ss, &from);
        dsrtp_time now = dsrtp_io_now();
        dsrtp_input in;
        dsrtp_err err = dsrtp_session_handle_datagram(l->session, now, &from, g->pkt,
                                                      (size_t)n, &in);
        if (err == DSRTP_ERR_AUTH) {
            l->auth_failures++;
            atomic_fetch_add_explicit(&g->m.auth_failures, 1, memory_order_relaxed);
        } else if (err == DSRTP_ERR_REPLAY) {
            l->replays++;
            atomic_fetch_add_explicit(&g->m.replays, 1, memory_order_relaxed);
        } else if (err == DSRTP_OK && in.kind != DSRTP_INPUT_CONSUMED) {
            bool rtcp = in.kind == DSRTP_INPUT_RTCP;
            if (rtcp) {
                l->rtcp_in++;
            } else {
                l->rtp_in++;
            }
            l->bytes_in += in.len;
            c->last_media = now;
            forward(g, l, other, rtcp, in.len);
        }
        gw_leg_flush(g, l);
    }
}
