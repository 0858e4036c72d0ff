/* Media relay. A datagram on leg X's socket goes through X's session: STUN and DTLS are
 * consumed there; SRTP/SRTCP is authenticated and decrypted in place (plain RTP on a
 * plain leg passes the session's checks too). What comes out is re-protected in place with
 * the other leg's session and sent from the other leg's socket. I/O is batched: one
 * recvmmsg takes up to GW_BATCH datagrams from a readable leg into the worker's batch
 * buffers (each with room for the largest SRTCP trailer), every one is unprotected and
 * re-protected in place, and one sendmmsg sends what the batch produced for the other leg.
 * Nothing here allocates or locks. Nothing unauthenticated crosses: a packet the session
 * refuses is counted and dropped.
 *
 * A plain or SDES leg without rtcp-mux has a second socket on our port + 1: RTCP read there
 * goes through the same session (other kinds are dropped), and RTCP for that leg leaves
 * from it, in a sendmmsg of its own. */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <dsrtp/io.h>

#include "gw.h"

static void on_event(gw *g, gw_leg *l, const dsrtp_session_event *e)
{
    const char *side = l->idx == 0 ? "A" : "B";
    char peer[80];
    switch (e->kind) {
    case DSRTP_SESSION_EV_CONNECTED:
        l->rtp_peer = e->addr;
        gw_addr_log(&e->addr, peer, sizeof peer);
        gw_log("info", "msg=\"ICE path nominated\" call=\"%s\" leg=%s peer=%s", l->call->callid,
               side, peer);
        break;
    case DSRTP_SESSION_EV_KEYS_READY: {
        l->ready = true;
        gw_hs_end(g, l); /* its handshake slot frees (--max-handshakes) */
        if (l->keying == DSRTP_KEYING_DTLS) {
            g->trim_due = true;
            g->handshakes_in_tick++;
        }
        if (l->keying == DSRTP_KEYING_DTLS) {
            dsrtp_session_stats st;
            dsrtp_session_get_stats(l->session, &st);
            gw_metrics_dtls(g, st.handshake_us, true);
            gw_log("info", "msg=\"DTLS handshake done\" call=\"%s\" leg=%s profile=%s ms=%.1f",
                   l->call->callid, side, dsrtp_profile_name(e->profile),
                   (double)st.handshake_us / 1000.0);
        } else {
            gw_log("info", "msg=\"keys ready\" call=\"%s\" leg=%s stream=%u keying=%s",
                   l->call->callid, side, (unsigned)l->stream, dsrtp_keying_name(l->keying));
        }
        break;
    }
    case DSRTP_SESSION_EV_ADDRESS_CHANGED:
        l->rtp_peer = e->addr;
        gw_addr_log(&e->addr, peer, sizeof peer);
        gw_log("debug", "msg=\"media address changed\" call=\"%s\" leg=%s peer=%s",
               l->call->callid, side, peer);
        break;
    case DSRTP_SESSION_EV_FAILED:
        l->failed = true;
        l->ready = false;
        gw_hs_end(g, l);
        if (l->keying == DSRTP_KEYING_DTLS) {
            gw_metrics_dtls(g, 0, false);
        }
        gw_log("warn", "msg=\"leg failed\" call=\"%s\" leg=%s detail=\"%s\"", l->call->callid,
               side, e->detail);
        break;
    case DSRTP_SESSION_EV_CLOSED:
        l->closed = true;
        l->ready = false;
        gw_hs_end(g, l);
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

/* Re-protects the plain packet in buf for leg `to`; fills the address it goes to.
 * false (counted as dropped) when it cannot go. */
static bool reprotect(gw *g, gw_leg *to, bool rtcp, uint8_t *buf, size_t len, size_t *out_len,
                      struct sockaddr_storage *ss, socklen_t *sl)
{
    if (to->session == NULL || !to->ready) {
        atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
        return false;
    }
    dsrtp_addr dest;
    unsigned dl = 0;
    dsrtp_err err = dsrtp_session_protect(to->session, rtcp, buf, len, GW_PKT_MAX + 64,
                                          out_len, &dest);
    if (err == DSRTP_OK && rtcp && to->rtcp_fd >= 0) {
        /* The leg's RTCP socket: the peer's RTCP address, else its RTP path's port + 1. */
        if (to->has_rtcp_peer) {
            dest = to->rtcp_peer;
        } else if (dest.port < UINT16_MAX) {
            dest.port++;
        }
    }
    if (err != DSRTP_OK || gw_to_sockaddr(&dest, ss, &dl) != 0) {
        atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
        return false;
    }
    *sl = (socklen_t)dl;
    return true;
}

/* Sends the n prepared messages from socket fd, counting what left. */
static void send_batch(gw *g, int from_idx, int fd, struct mmsghdr *msgs, unsigned n,
                       const bool *rtcp)
{
    unsigned sent = 0;
    while (sent < n) {
        int r = sendmmsg(fd, msgs + sent, n - sent, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            /* The first message was refused (full buffer, ICMP error): drop it, go on. */
            atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
            sent++;
            continue;
        }
        for (unsigned i = sent; i < sent + (unsigned)r; i++) {
            gw_relay_sent(g, from_idx, rtcp[i], msgs[i].msg_len);
        }
        sent += (unsigned)r;
    }
}

void gw_relay_sent(gw *g, int from_idx, bool rtcp, size_t len)
{
    atomic_fetch_add_explicit(&g->m.packets[from_idx][rtcp ? 1 : 0], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->m.bytes[from_idx], len, memory_order_relaxed);
}

/* The stream of a plain RTP or RTCP packet p[0..len) that arrived on leg l, and the SSRC of
 * RTP noted for the RTCP that follows. GW_NO_STREAM: RTP of no stream (dropped). */
static unsigned stream_of(gw_leg *l, bool rtcp, const uint8_t *p, size_t len)
{
    gw_streams *s = l->call->more;
    if (s == NULL) {
        return 0;
    }
    unsigned k = l->stream;
    if (s->bundled[l->idx]) {
        if (rtcp) {
            return gw_stream_map_rtcp(&s->map, p, len);
        }
        k = gw_stream_map_rtp(&s->map, p, len);
    }
    if (!rtcp && k != GW_NO_STREAM && len >= 12) {
        gw_stream_map_learn(&s->map, (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
                                         (uint32_t)p[10] << 8 | p[11], k);
    }
    return k;
}

bool gw_relay_datagram(gw *g, gw_leg *l, bool rtcp_sock, const struct sockaddr_storage *src,
                       uint8_t *buf, size_t len, dsrtp_time now, gw_out *o)
{
    gw_call *c = l->call;
    if (l->session == NULL || len == 0) {
        return false; /* no session yet (plain or SDES leg before the answer) */
    }
    dsrtp_addr from;
    gw_from_sockaddr(src, &from);
    const dsrtp_addr *feed = &from;
    dsrtp_addr rtp_side;
    if (rtcp_sock) {
        /* Only RTCP belongs here; the session takes it as from the RTP path. */
        if (dsrtp_demux(buf, len) != DSRTP_DEMUX_RTCP) {
            atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
            return false;
        }
        rtp_side = l->rtp_peer;
        if (rtp_side.family == 0) {
            rtp_side = from;
            rtp_side.port = (uint16_t)(from.port - 1);
        }
        feed = &rtp_side;
    }
    dsrtp_input res;
    dsrtp_err err = dsrtp_session_handle_datagram(l->session, now, feed, buf, len, &res);
    if (err == DSRTP_ERR_AUTH) {
        l->auth_failures++;
        atomic_fetch_add_explicit(&g->m.auth_failures, 1, memory_order_relaxed);
        return false;
    }
    if (err == DSRTP_ERR_REPLAY) {
        l->replays++;
        atomic_fetch_add_explicit(&g->m.replays, 1, memory_order_relaxed);
        return false;
    }
    if (err != DSRTP_OK || res.kind == DSRTP_INPUT_CONSUMED) {
        /* STUN/DTLS (or a verdict the session reports itself): answers and events now. */
        gw_leg_flush(g, l);
        return false;
    }
    bool rtcp = res.kind == DSRTP_INPUT_RTCP;
    if (rtcp_sock && rtcp) {
        /* Accepted RTCP: answer it where it came from (symmetric RTCP). */
        l->rtcp_peer = from;
        l->has_rtcp_peer = true;
    }
    c->last_media = now;
    /* The session hands out whole RTP headers and RTCP with a full first header only. */
    unsigned k = stream_of(l, rtcp, buf, res.len);
    if (k == GW_NO_STREAM) {
        atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
        return false;
    }
    gw_leg *in = gw_call_leg(c, l->idx, k);
    if (rtcp) {
        in->rtcp_in++;
    } else {
        in->rtp_in++;
    }
    in->bytes_in += res.len;
    gw_leg *dst = gw_call_leg(c, 1 - l->idx, k);
    gw_leg *other = gw_leg_via(dst);
    if (dst->off || !reprotect(g, other, rtcp, buf, res.len, &o->len, &o->dst, &o->dst_len)) {
        if (dst->off) {
            atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
        }
        return false;
    }
    /* Counted for the stream's leg when queued; metrics count what the kernel took. */
    if (rtcp) {
        dst->rtcp_out++;
    } else {
        dst->rtp_out++;
    }
    dst->bytes_out += o->len;
    o->rtcp = rtcp;
    o->fd = rtcp && other->rtcp_fd >= 0 ? other->rtcp_fd : other->fd;
    return true;
}

/* Reads leg l's socket fd (its RTP socket, or its separate RTCP socket) with recvmmsg and
 * sends what the batch produced with sendmmsg, one call per run of datagrams leaving from
 * the same socket (the other side's stream, or its RTCP socket): the epoll loop's way. */
static void leg_read(gw *g, gw_leg *l, int fd, bool rtcp_sock)
{
    gw_call *c = l->call;
    struct mmsghdr in[GW_BATCH];
    struct iovec iov[GW_BATCH];
    struct sockaddr_storage src[GW_BATCH];
    struct mmsghdr out[GW_BATCH];
    struct iovec oiov[GW_BATCH];
    gw_out dst[GW_BATCH];
    bool rtcp_of[GW_BATCH];
    for (int round = 0; round < 2 && !c->dead; round++) {
        for (unsigned i = 0; i < GW_BATCH; i++) {
            /* Room is kept after GW_PKT_MAX for the SRTCP trailer the other leg adds. */
            iov[i] = (struct iovec){.iov_base = g->batch[i], .iov_len = GW_PKT_MAX};
            in[i].msg_hdr = (struct msghdr){.msg_name = &src[i], .msg_namelen = sizeof src[i],
                                            .msg_iov = &iov[i], .msg_iovlen = 1};
            in[i].msg_len = 0;
        }
        int n = recvmmsg(fd, in, GW_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            return; /* EAGAIN: drained (other errors: ICMP noise, try next time) */
        }
        dsrtp_time now = dsrtp_io_now();
        unsigned nout = 0;
        for (int i = 0; i < n; i++) {
            gw_out *o = &dst[nout];
            if ((in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 ||
                !gw_relay_datagram(g, l, rtcp_sock, &src[i], g->batch[i], in[i].msg_len, now,
                                   o)) {
                continue;
            }
            oiov[nout] = (struct iovec){.iov_base = g->batch[i], .iov_len = o->len};
            out[nout].msg_hdr = (struct msghdr){.msg_name = &o->dst,
                                                .msg_namelen = o->dst_len,
                                                .msg_iov = &oiov[nout],
                                                .msg_iovlen = 1};
            out[nout].msg_len = 0;
            rtcp_of[nout] = o->rtcp;
            nout++;
        }
        for (unsigned first = 0, end; first < nout; first = end) {
            for (end = first + 1; end < nout && dst[end].fd == dst[first].fd; end++) {
            }
            send_batch(g, l->idx, dst[first].fd, out + first, end - first, rtcp_of + first);
        }
        gw_leg_flush(g, l); /* events media may raise (latching), and the next deadline */
        if (n < GW_BATCH) {
            return;
        }
    }
}

void gw_leg_readable(gw *g, gw_leg *l)
{
    leg_read(g, l, l->fd, false);
}

void gw_leg_rtcp_readable(gw *g, gw_leg *l)
{
    leg_read(g, l, l->rtcp_fd, true);
}
