/* The ng control port: "<cookie> <bencoded dict>" over UDP (and, framed by control_tcp.c,
 * over TCP). A retransmitted request (same cookie from the same source) gets the cached
 * reply and is not acted on twice. Every
 * request gets a reply with result ok/pong/error; unknown flags come back as warnings. */
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <dsrtp/io.h>
#include <dsrtp/util.h>

#include "gw.h"
#include "ng.h"

static uint8_t rx[DSRTPD_NG_MAX_DATAGRAM + 1];
static uint8_t reply[GW_SDP_MAX + 8192];
static char sdp_out[GW_SDP_MAX];
static dsrtpd_ben_node nodes[DSRTPD_BEN_MAX_NODES];
static dsrtpd_ng_cache *cache;

static void cstr(dsrtpd_ng_str s, char *out, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n > 0) {
        memcpy(out, s.p, n);
    }
    out[n] = '\0';
}

static void opts_from(const dsrtpd_ng_msg *m, gw_opts *o)
{
    *o = (gw_opts){0};
    o->transport = m->transport != DSRTPD_NG_PROTO_UNSET ? dsrtpd_ng_proto_name(m->transport)
                                                         : NULL;
    o->ice = m->ice == DSRTPD_NG_ICE_FORCE    ? GW_ICE_FORCE
             : m->ice == DSRTPD_NG_ICE_REMOVE ? GW_ICE_REMOVE
                                              : GW_ICE_DEFAULT;
    o->dtls_off = m->dtls == DSRTPD_NG_DTLS_OFF;
    o->dtls_setup = m->dtls == DSRTPD_NG_DTLS_PASSIVE  ? DSRTP_SDP_SETUP_PASSIVE
                    : m->dtls == DSRTPD_NG_DTLS_ACTIVE ? DSRTP_SDP_SETUP_ACTIVE
                                                       : DSRTP_SDP_SETUP_NONE;
    o->sdes_off = m->sdes_off;
    o->sdes_no = m->sdes_no;
    o->sdes_only = m->sdes_only;
    if (m->rtcp_mux & (DSRTPD_NG_RTCPMUX_DEMUX | DSRTPD_NG_RTCPMUX_REJECT)) {
        o->rtcp_mux = GW_MUX_DEMUX;
    } else if (m->rtcp_mux & (DSRTPD_NG_RTCPMUX_OFFER | DSRTPD_NG_RTCPMUX_REQUIRE)) {
        o->rtcp_mux = GW_MUX_OFFER;
    }
    o->replace_origin = (m->replace & DSRTPD_NG_REPLACE_ORIGIN) != 0;
    o->replace_session_connection = (m->replace & DSRTPD_NG_REPLACE_SESSION_CONNECTION) != 0;
    o->iface[0] = -1;
    o->iface[1] = -1;
}

/* The direction flag's interface names as indexes into the configured interfaces (rtpengine:
 * the first names the offering side's, the second the other side's): 0, or -1 and err set
 * for a name no --interface has. */
static int opts_direction(const gw *g, const dsrtpd_ng_msg *m, gw_opts *o, const char **err)
{
    for (size_t d = 0; d < m->n_direction && d < 2; d++) {
        const dsrtpd_ng_str *name = &m->direction[d];
        for (unsigned i = 0; i < g->cfg.iface_count && o->iface[d] < 0; i++) {
            if (dsrtpd_ben_bytes_eq(name->p, name->len, g->cfg.ifaces[i].name)) {
                o->iface[d] = (int)i;
            }
        }
        if (o->iface[d] < 0) {
            *err = "direction names an interface dsrtpd does not have (--interface NAME/...)";
            return -1;
        }
    }
    return 0;
}

/* A monotonic time of the call (created, last signal) in wall-clock seconds. */
static int64_t unix_at(dsrtp_time t)
{
    dsrtp_time now = dsrtp_io_now();
    dsrtp_time age = now > t ? now - t : 0;
    return (int64_t)time(NULL) - (int64_t)(age / 1000000u);
}

static int64_t unix_seconds(const gw_call *c)
{
    return unix_at(c->created);
}

/* The longest delete-delay taken from a request: a day. */
#define DELETE_DELAY_MAX 86400

static void write_stream_stats(dsrtpd_ben_wr *w, const gw_leg *l)
{
    const gw_leg *t = l->bundled ? &l->call->leg[l->idx] : l; /* its transport */
    dsrtpd_ben_wr_dict(w);
    dsrtpd_ben_wr_kv_int(w, "local port", t->port);
    dsrtpd_ben_wr_kv_cstr(w, "keying", dsrtp_keying_name(t->keying));
    dsrtpd_ben_wr_kv_cstr(w, "state", t->failed ? "failed" : t->ready ? "ready" : "keying");
    dsrtpd_ben_wr_cstr(w, "stats");
    dsrtpd_ben_wr_dict(w);
    dsrtpd_ben_wr_kv_int(w, "packets", (int64_t)(l->rtp_in + l->rtcp_in));
    dsrtpd_ben_wr_kv_int(w, "bytes", (int64_t)l->bytes_in);
    dsrtpd_ben_wr_kv_int(w, "errors", (int64_t)(l->auth_failures + l->replays));
    dsrtpd_ben_wr_kv_int(w, "rtp packets in", (int64_t)l->rtp_in);
    dsrtpd_ben_wr_kv_int(w, "rtcp packets in", (int64_t)l->rtcp_in);
    dsrtpd_ben_wr_kv_int(w, "rtp packets out", (int64_t)l->rtp_out);
    dsrtpd_ben_wr_kv_int(w, "rtcp packets out", (int64_t)l->rtcp_out);
    dsrtpd_ben_wr_kv_int(w, "bytes out", (int64_t)l->bytes_out);
    dsrtpd_ben_wr_kv_int(w, "auth failures", (int64_t)l->auth_failures);
    dsrtpd_ben_wr_kv_int(w, "replays", (int64_t)l->replays);
    dsrtpd_ben_wr_end(w);
    dsrtpd_ben_wr_end(w);
}

static void write_query(dsrtpd_ben_wr *w, gw_call *c)
{
    int64_t created = unix_seconds(c);
    dsrtpd_ben_wr_kv_int(w, "created", created);
    dsrtpd_ben_wr_kv_int(w, "last signal", unix_at(c->last_signal));
    dsrtpd_ben_wr_cstr(w, "totals");
    dsrtpd_ben_wr_dict(w);
    const char *kinds[2] = {"RTP", "RTCP"};
    unsigned streams = gw_call_streams(c);
    for (int k = 0; k < 2; k++) {
        uint64_t pk = 0;
        uint64_t err = 0;
        uint64_t bytes = 0;
        for (unsigned j = 0; j < 2 * streams; j++) {
            const gw_leg *l = gw_call_leg(c, (int)(j % 2), j / 2);
            pk += k == 0 ? l->rtp_in : l->rtcp_in;
            err += k == 0 ? l->auth_failures + l->replays : 0;
            bytes += l->bytes_in;
        }
        dsrtpd_ben_wr_cstr(w, kinds[k]);
        dsrtpd_ben_wr_dict(w);
        dsrtpd_ben_wr_kv_int(w, "packets", (int64_t)pk);
        dsrtpd_ben_wr_kv_int(w, "bytes", k == 0 ? (int64_t)bytes : 0);
        dsrtpd_ben_wr_kv_int(w, "errors", (int64_t)err);
        dsrtpd_ben_wr_end(w);
    }
    dsrtpd_ben_wr_end(w);
    dsrtpd_ben_wr_cstr(w, "tags");
    dsrtpd_ben_wr_dict(w);
    for (int i = 0; i < 2; i++) {
        const gw_leg *l = &c->leg[i];
        if (i == 1 && !c->answered) {
            continue;
        }
        dsrtpd_ben_wr_cstr(w, l->tag);
        dsrtpd_ben_wr_dict(w);
        dsrtpd_ben_wr_kv_cstr(w, "tag", l->tag);
        dsrtpd_ben_wr_kv_int(w, "created", created);
        dsrtpd_ben_wr_cstr(w, "medias");
        dsrtpd_ben_wr_list(w);
        for (unsigned k = 0; k < streams; k++) {
            const gw_leg *s = gw_call_leg(c, i, k);
            if (s->off) {
                continue;
            }
            dsrtpd_ben_wr_dict(w);
            dsrtpd_ben_wr_kv_int(w, "index", (int64_t)s->mline + 1);
            char type[32];
            char proto[64];
            gw_leg_media(s, type, sizeof type, proto, sizeof proto);
            dsrtpd_ben_wr_kv_cstr(w, "type", type);
            dsrtpd_ben_wr_kv_cstr(w, "protocol", proto);
            dsrtpd_ben_wr_cstr(w, "streams");
            dsrtpd_ben_wr_list(w);
            write_stream_stats(w, s);
            dsrtpd_ben_wr_end(w);
            dsrtpd_ben_wr_end(w);
        }
        dsrtpd_ben_wr_end(w);
        dsrtpd_ben_wr_end(w);
    }
    dsrtpd_ben_wr_end(w);
}

static void write_statistics(gw *g, dsrtpd_ben_wr *w)
{
    gw_metrics sum; /* every worker's counters and the control thread's */
    gw_metrics_sum(g->root, &sum);
    gw_metrics *m = &sum;
    int64_t calls = (int64_t)atomic_load(&m->calls_current);
    dsrtpd_ben_wr_cstr(w, "statistics");
    dsrtpd_ben_wr_dict(w);
    dsrtpd_ben_wr_cstr(w, "currentstatistics");
    dsrtpd_ben_wr_dict(w);
    dsrtpd_ben_wr_kv_int(w, "sessionsown", calls);
    dsrtpd_ben_wr_kv_int(w, "sessionsforeign", 0);
    dsrtpd_ben_wr_kv_int(w, "sessionstotal", calls);
    dsrtpd_ben_wr_kv_int(w, "legs", (int64_t)atomic_load(&m->legs_current));
    dsrtpd_ben_wr_kv_int(w, "portsfree", (int64_t)gw_ports_free(&g->root->ports));
    dsrtpd_ben_wr_end(w);
    dsrtpd_ben_wr_cstr(w, "totalstatistics");
    dsrtpd_ben_wr_dict(w);
    dsrtpd_ben_wr_kv_int(w, "managedsessions", (int64_t)atomic_load(&m->calls_total));
    dsrtpd_ben_wr_kv_int(w, "timeoutsessions", (int64_t)atomic_load(&m->calls_timeout));
    uint64_t pk = 0;
    for (int d = 0; d < 2; d++) {
        pk += atomic_load(&m->packets[d][0]) + atomic_load(&m->packets[d][1]);
    }
    dsrtpd_ben_wr_kv_int(w, "packetsrelayed", (int64_t)pk);
    dsrtpd_ben_wr_kv_int(w, "bytesrelayed",
                         (int64_t)(atomic_load(&m->bytes[0]) + atomic_load(&m->bytes[1])));
    dsrtpd_ben_wr_kv_int(w, "authfailures", (int64_t)atomic_load(&m->auth_failures));
    dsrtpd_ben_wr_kv_int(w, "replays", (int64_t)atomic_load(&m->replays));
    dsrtpd_ben_wr_kv_int(w, "dtlshandshakes", (int64_t)atomic_load(&m->dtls_ok));
    dsrtpd_ben_wr_kv_int(w, "dtlsfailures", (int64_t)atomic_load(&m->dtls_failed));
    dsrtpd_ben_wr_end(w);
    dsrtpd_ben_wr_end(w);
}

/* Acts on one parsed request; writes the reply. Returns false for an error reply. */
static bool dispatch(gw *g, const dsrtpd_ng_msg *m, dsrtpd_ng_str warn, size_t *out_len)
{
    char callid[GW_CALLID_MAX];
    char from_tag[GW_TAG_MAX];
    char to_tag[GW_TAG_MAX];
    const char *err = NULL;
    cstr(m->call_id, callid, sizeof callid);
    cstr(m->from_tag, from_tag, sizeof from_tag);
    cstr(m->to_tag, to_tag, sizeof to_tag);
    gw_opts o;
    opts_from(m, &o);
    size_t sdp_len = 0;
    dsrtpd_ben_wr w;
    gw_call *c = NULL;
    switch (m->cmd) {
    case DSRTPD_NG_CMD_PING:
        return dsrtpd_ng_reply_pong(reply, sizeof reply, m->cookie, out_len) == DSRTP_OK;
    case DSRTPD_NG_CMD_OFFER:
    case DSRTPD_NG_CMD_ANSWER: {
        if (g->stopping) {
            err = "shutting down";
            break;
        }
        if (opts_direction(g, m, &o, &err) != 0) {
            break;
        }
        int rc = m->cmd == DSRTPD_NG_CMD_OFFER
                     ? gw_call_offer(g, callid, from_tag, (const char *)m->sdp.p, m->sdp.len,
                                     &o, sdp_out, sizeof sdp_out, &sdp_len, &err)
                     : gw_call_answer(g, callid, from_tag, to_tag, (const char *)m->sdp.p,
                                      m->sdp.len, &o, sdp_out, sizeof sdp_out, &sdp_len, &err);
        if (rc != 0) {
            break;
        }
        dsrtpd_ng_str sdp = {(const uint8_t *)sdp_out, sdp_len};
        bool ok = dsrtpd_ng_reply_ok(reply, sizeof reply, m->cookie, sdp, warn, out_len) ==
                  DSRTP_OK;
        dsrtp_secure_wipe(sdp_out, sdp_len);
        if (ok) {
            return true;
        }
        err = "reply too large";
        break;
    }
    case DSRTPD_NG_CMD_DELETE: {
        c = gw_call_find(g, callid);
        if (c == NULL) {
            err = "Call-ID not found";
            break;
        }
        /* rtpengine deletes the branch a to-tag names. There is one B leg per call here, so
         * a to-tag must be one of the call's two tags (a BYE from either side names the
         * other in its To), and then the whole call goes. A via-branch names nothing more. */
        if (to_tag[0] != '\0' && strcmp(to_tag, c->leg[0].tag) != 0 &&
            strcmp(to_tag, c->leg[1].tag) != 0) {
            err = "Call-ID not found or tags didn't match";
            break;
        }
        /* "delete-delay" (or "delete delay") overrides --delete-delay; 0 is at once. */
        int64_t delay = m->delete_delay >= 0 ? m->delete_delay : (int64_t)g->cfg.delete_delay;
        delay = delay > DELETE_DELAY_MAX ? DELETE_DELAY_MAX : delay;
        dsrtpd_ng_reply_begin(&w, reply, sizeof reply, m->cookie, "ok");
        dsrtpd_ben_wr_kv_int(&w, "created", unix_seconds(c));
        dsrtpd_ben_wr_kv_int(&w, "last signal", unix_at(c->last_signal));
        gw_call_delete_later(g, c, (unsigned)delay);
        if (warn.len > 0) {
            dsrtpd_ben_wr_kv_str(&w, "warning", warn.p, warn.len);
        }
        return dsrtpd_ng_reply_end(&w, out_len) == DSRTP_OK;
    }
    case DSRTPD_NG_CMD_QUERY:
        c = gw_call_find(g, callid);
        if (c == NULL) {
            err = "Call-ID not found";
            break;
        }
        dsrtpd_ng_reply_begin(&w, reply, sizeof reply, m->cookie, "ok");
        write_query(&w, c);
        return dsrtpd_ng_reply_end(&w, out_len) == DSRTP_OK;
    case DSRTPD_NG_CMD_LIST: {
        dsrtpd_ng_str ids[256];
        size_t n = 0;
        size_t limit = m->limit >= 0 && m->limit < 256 ? (size_t)m->limit : 256;
        for (c = g->calls; c != NULL && n < limit; c = c->next) {
            ids[n++] = (dsrtpd_ng_str){(const uint8_t *)c->callid, strlen(c->callid)};
        }
        return dsrtpd_ng_reply_list(reply, sizeof reply, m->cookie, ids, n, out_len) ==
               DSRTP_OK;
    }
    case DSRTPD_NG_CMD_STATISTICS:
        dsrtpd_ng_reply_begin(&w, reply, sizeof reply, m->cookie, "ok");
        write_statistics(g, &w);
        return dsrtpd_ng_reply_end(&w, out_len) == DSRTP_OK;
    default:
        err = "Unrecognized command";
        break;
    }
    if (dsrtpd_ng_reply_error(reply, sizeof reply, m->cookie, err, out_len) != DSRTP_OK) {
        *out_len = 0;
    }
    return false;
}

/* Commands about one call run on the worker that owns it (a new call: the next worker,
 * round-robin); the main thread waits for the reply. list asks every worker. */
typedef struct route_job {
    const dsrtpd_ng_msg *m;
    dsrtpd_ng_str warn;
    size_t *out_len;
    bool ok;
} route_job;

static void dispatch_job(gw *w, void *arg)
{
    route_job *r = arg;
    r->ok = dispatch(w, r->m, r->warn, r->out_len);
}

static char list_ids[256][GW_CALLID_MAX];

typedef struct list_job {
    size_t n, limit;
} list_job;

static void list_job_run(gw *w, void *arg)
{
    list_job *l = arg;
    for (gw_call *c = w->calls; c != NULL && l->n < l->limit; c = c->next) {
        snprintf(list_ids[l->n], GW_CALLID_MAX, "%s", c->callid);
        l->n++;
    }
}

static bool route(gw *g, const dsrtpd_ng_msg *m, dsrtpd_ng_str warn, size_t *out_len)
{
    gw *root = g->root;
    gw *w = root;
    char callid[GW_CALLID_MAX];
    switch (m->cmd) {
    case DSRTPD_NG_CMD_OFFER:
    case DSRTPD_NG_CMD_ANSWER:
    case DSRTPD_NG_CMD_DELETE:
    case DSRTPD_NG_CMD_QUERY:
        cstr(m->call_id, callid, sizeof callid);
        w = gw_worker_find(root, callid);
        if (w == NULL) {
            /* unknown: a new call, or "not found" from the root, which owns no call */
            w = m->cmd == DSRTPD_NG_CMD_OFFER && !g->stopping ? gw_worker_pick(root) : root;
        }
        break;
    case DSRTPD_NG_CMD_LIST: {
        list_job l = {0, m->limit >= 0 && m->limit < 256 ? (size_t)m->limit : 256};
        for (unsigned i = 0; i < root->worker_count; i++) {
            gw_worker_run(root->workers[i], list_job_run, &l);
        }
        dsrtpd_ng_str ids[256];
        for (size_t i = 0; i < l.n; i++) {
            ids[i] = (dsrtpd_ng_str){(const uint8_t *)list_ids[i], strlen(list_ids[i])};
        }
        return dsrtpd_ng_reply_list(reply, sizeof reply, m->cookie, ids, l.n, out_len) ==
               DSRTP_OK;
    }
    default:
        break;
    }
    if (w == root) {
        return dispatch(g, m, warn, out_len);
    }
    route_job r = {m, warn, out_len, false};
    gw_worker_run(w, dispatch_job, &r);
    return r.ok;
}

static int ensure_cache(void)
{
    if (cache == NULL &&
        dsrtpd_ng_cache_new(128, sizeof reply, DSRTPD_NG_CACHE_DEFAULT_TTL, &cache) != DSRTP_OK) {
        gw_log("error", "msg=\"cannot allocate the ng cache\"");
        return -1;
    }
    return 0;
}

void gw_ng_request(gw *g, const uint8_t *msg, size_t len, const void *src, size_t src_len,
                   gw_ng_send_fn send, void *ctx)
{
    if (ensure_cache() != 0) {
        return;
    }
    dsrtp_time now = dsrtp_io_now();
    dsrtpd_ng_msg m;
    memset(&m, 0, sizeof m);
    const char *reason = NULL;
    dsrtp_err perr = dsrtpd_ng_parse(msg, len, nodes, DSRTPD_BEN_MAX_NODES, &m, &reason);
    dsrtp_addr peer;
    char from[80];
    gw_from_sockaddr(src, &peer); /* src is the peer's sockaddr_storage */
    gw_addr_log(&peer, from, sizeof from);
    if (m.cookie.len == 0) {
        gw_log("warn", "msg=\"ng request without a cookie dropped\" reason=\"%s\" from=%s",
               reason, from);
        gw_metrics_ng(g, 0, false);
        return;
    }
    const uint8_t *cached = NULL;
    size_t cached_len = 0;
    if (dsrtpd_ng_cache_get(cache, now, m.cookie, src, src_len, &cached, &cached_len)) {
        send(ctx, cached, cached_len);
        return;
    }
    size_t out_len = 0;
    bool ok = false;
    int cmd = 0;
    if (perr != DSRTP_OK) {
        const char *why = perr == DSRTP_ERR_UNSUPPORTED ? "Unrecognized command" : reason;
        if (dsrtpd_ng_reply_error(reply, sizeof reply, m.cookie, why, &out_len) != DSRTP_OK) {
            out_len = 0;
        }
        gw_log("warn", "msg=\"ng request refused\" reason=\"%s\" from=%s", why, from);
    } else {
        uint8_t warn_buf[1024];
        size_t warn_len = 0;
        if (dsrtpd_ng_format_warnings(&m, warn_buf, sizeof warn_buf, &warn_len) != DSRTP_OK) {
            warn_len = 0;
        }
        cmd = (int)m.cmd;
        ok = route(g, &m, (dsrtpd_ng_str){warn_buf, warn_len}, &out_len);
        char callid[GW_CALLID_MAX];
        cstr(m.call_id, callid, sizeof callid);
        gw_log(ok ? "info" : "warn", "msg=\"ng %s\" call=\"%s\" result=%s from=%s",
               dsrtpd_ng_cmd_name(m.cmd), callid, ok ? "ok" : "error", from);
    }
    gw_metrics_ng(g, cmd, ok);
    if (out_len == 0) {
        return;
    }
    send(ctx, reply, out_len);
    if (src_len <= DSRTPD_NG_CACHE_MAX_SRC) {
        dsrtp_err cerr = dsrtpd_ng_cache_put(cache, now, m.cookie, src, src_len, reply, out_len);
        (void)cerr; /* not cached: a resend is acted on again, as without a cache */
    }
    /* The reply may hold SDES keys (crypto lines): do not leave them in the buffer. */
    dsrtp_secure_wipe(reply, out_len);
}

typedef struct udp_peer {
    int fd;
    const struct sockaddr_storage *ss;
    socklen_t sl;
} udp_peer;

/* The largest UDP payload over IPv4 (65535 - 8 - 20): a reply beyond it cannot be sent. */
#define NG_UDP_MAX 65507

static void udp_send(void *ctx, const uint8_t *p, size_t len)
{
    const udp_peer *u = ctx;
    if (len > NG_UDP_MAX) {
        /* Acted on, but its reply (SDP near 64 KiB) cannot travel back as one datagram:
         * say so under the same cookie rather than leave the proxy waiting. */
        const uint8_t *sp = memchr(p, ' ', len);
        uint8_t err[256];
        size_t n = 0;
        if (sp != NULL &&
            dsrtpd_ng_reply_error(err, sizeof err, (dsrtpd_ng_str){p, (size_t)(sp - p)},
                                  "the request was carried out, but its reply does not fit "
                                  "a UDP datagram: use ng over TCP",
                                  &n) == DSRTP_OK) {
            (void)sendto(u->fd, err, n, 0, (const struct sockaddr *)u->ss, u->sl);
        }
        gw_log("warn", "msg=\"ng reply too large for UDP\" bytes=%zu", len);
        return;
    }
    (void)sendto(u->fd, p, len, 0, (const struct sockaddr *)u->ss, u->sl);
}

void gw_ng_readable(gw *g, int fd)
{
    for (int budget = 0; budget < 32; budget++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ssize_t n = recvfrom(fd, rx, sizeof rx - 1, 0, (struct sockaddr *)&ss, &sl);
        if (n <= 0) {
            return;
        }
        udp_peer u = {fd, &ss, sl};
        gw_ng_request(g, rx, (size_t)n, &ss, sl, udp_send, &u);
    }
}

void gw_ng_shutdown(void)
{
    dsrtpd_ng_cache_free(cache);
    cache = NULL;
}
