/* The call table: call-id -> call with a leg per stream on each side. An offer creates the
 * call (every stream's legs get a port unless their side bundles; B's DTLS sessions exist at
 * once so that an early ClientHello from B is held); the answer completes B's legs, starts
 * the sessions and yields the answer for A. Later offers (SIP re-INVITEs) may come from
 * either side, told apart by their from-tag: A's tag, or B's (the answer's to-tag). The
 * answer then comes from the other side. Each leg keeps its port, sockets, keys, ICE
 * credentials and DTLS association, and its session learns what changed (leg.c), unless
 * the description asks for a new DTLS association, which the leg then gets. Deleted calls
 * are unlinked at once but freed at the end of the loop iteration, so an event already
 * fetched for one of their sockets never touches freed memory; a delete with a delay leaves
 * the call relaying until then, and an offer or answer in the meantime cancels it. */
#include <stdlib.h>
#include <string.h>

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

static void call_free(gw *g, gw_call *c)
{
    for (unsigned k = gw_call_streams(c); k-- > 0;) {
        gw_leg_clear(g, gw_call_leg(c, 1, k));
        gw_leg_clear(g, gw_call_leg(c, 0, k));
    }
    if (c->more != NULL) {
        dsrtp_secure_wipe(c->more, sizeof *c->more);
        free(c->more);
    }
    free(c);
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

static bool same_text(const gw_leg *l, const char *text, size_t len)
{
    return l->sent_sdp != NULL && l->sent_len == len && memcmp(l->sent_sdp, text, len) == 0;
}

/* Writes l->local_sdp, the description for side l, into out and keeps a copy. RFC 3264
 * §8: the o= session version goes up by one exactly when the description differs from the
 * last one this side got; the first one carries its author's version. So a re-offer that
 * changes nothing (a session refresh) yields the same bytes again. */
static int emit_sdp(gw *g, gw_leg *l, char *out, size_t cap, size_t *out_len, const char **err)
{
    const dsrtp_sdp_session *s = dsrtp_sdp_get_session(l->local_sdp);
    char addr[256];
    if (s->origin_address.address != NULL) {
        snprintf(addr, sizeof addr, "%s", s->origin_address.address);
    } else {
        snprintf(addr, sizeof addr, "%s", gw_leg_iface(g, l)->adv);
    }
    uint64_t v = l->sent_sdp != NULL ? l->sdp_version : strtoull(s->origin_sess_version, NULL, 10);
    for (;;) {
        if (dsrtp_sdp_set_origin(l->local_sdp, v, addr) != DSRTP_OK ||
            write_sdp(l->local_sdp, out, cap, out_len) != 0) {
            *err = "rewritten SDP too large";
            return -1;
        }
        if (l->sent_sdp == NULL || same_text(l, out, *out_len) || v != l->sdp_version) {
            break;
        }
        v++; /* changed: write it again with the next version */
    }
    if (!same_text(l, out, *out_len)) {
        char *copy = keep_text(out, *out_len);
        if (copy == NULL) {
            *err = "out of memory";
            return -1;
        }
        if (l->sent_sdp != NULL) {
            dsrtp_secure_wipe(l->sent_sdp, l->sent_len);
            free(l->sent_sdp);
        }
        l->sent_sdp = copy;
        l->sent_len = *out_len;
    }
    l->sdp_version = v;
    return 0;
}

/* A parsed description has a t= line (RFC 8866 §5.9: every description has one; the parser
 * leaves its absence to the caller, and a gateway must not pass such SDP on). */
static bool has_timing(const char *sdp, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (sdp[i] == '\n' && sdp[i + 1] == 't' && sdp[i + 2] == '=') {
            return true;
        }
    }
    return false;
}

static int parse_sdp(const char *sdp, size_t len, dsrtp_sdp **out, const char **err)
{
    dsrtp_sdp_error perr = {0};
    if (dsrtp_sdp_parse(sdp, len, out, &perr) != DSRTP_OK) {
        *err = perr.reason != NULL ? perr.reason : "malformed SDP";
        return -1;
    }
    if (!has_timing(sdp, len)) {
        *err = "SDP has no t= line (RFC 8866 §5.9)";
        dsrtp_sdp_free(*out);
        *out = NULL;
        return -1;
    }
    bool active = false;
    for (size_t i = 0; i < dsrtp_sdp_media_count(*out) && !active; i++) {
        active = gw_sdp_mline_active(*out, i);
    }
    if (!active) {
        *err = "SDP has no active m-line";
        dsrtp_sdp_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Takes a description side l sent: its text is kept (replacing the last one) and doc, its
 * parse, becomes l->remote_sdp. 0, or -1 and err set (then nothing changed; doc is the
 * caller's still). */
static int take_remote(gw_leg *l, dsrtp_sdp *doc, const char *sdp, size_t len,
                       const char **err)
{
    char *text = keep_text(sdp, len);
    if (text == NULL) {
        *err = "out of memory";
        return -1;
    }
    gw_text_drop(&l->remote_text, &l->remote_len);
    l->remote_text = text;
    l->remote_len = len;
    dsrtp_sdp_free(l->remote_sdp);
    l->remote_sdp = doc;
    return 0;
}

/* A kept text parsed again (it was parsed once already, or is our own output). */
static int reparse(const char *text, size_t len, dsrtp_sdp **doc, const char **err)
{
    if (*doc != NULL || text == NULL) {
        return 0;
    }
    return parse_sdp(text, len, doc, err);
}

int gw_call_parse(gw_call *c, const char **err)
{
    for (int i = 0; i < 2; i++) {
        gw_leg *l = &c->leg[i];
        if (reparse(l->remote_text, l->remote_len, &l->remote_sdp, err) != 0 ||
            reparse(l->sent_sdp, l->sent_len, &l->local_sdp, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Until the first answer the parsed descriptions stay, for the answer to use; from then on
 * the call just relays, and a later exchange (rare) parses them again. */
void gw_call_unparse(gw_call *c)
{
    if (c->answered) {
        gw_leg_unparse(&c->leg[0]);
        gw_leg_unparse(&c->leg[1]);
    }
}

void gw_leg_media(const gw_leg *l, char *type, size_t type_cap, char *proto, size_t proto_cap)
{
    snprintf(type, type_cap, "audio");
    snprintf(proto, proto_cap, "%s", "");
    const gw_leg *s = &l->call->leg[l->idx]; /* the side's descriptions */
    const dsrtp_sdp *d = s->remote_sdp != NULL ? s->remote_sdp : s->local_sdp;
    dsrtp_sdp *parsed = NULL;
    const char *text = s->remote_text != NULL ? s->remote_text : s->sent_sdp;
    size_t len = s->remote_text != NULL ? s->remote_len : s->sent_len;
    const char *err = NULL;
    if (d == NULL && text != NULL && parse_sdp(text, len, &parsed, &err) == 0) {
        d = parsed;
    }
    const dsrtp_sdp_media *m = d != NULL ? dsrtp_sdp_get_media(d, l->mline) : NULL;
    if (m != NULL) {
        snprintf(type, type_cap, "%s", m->media);
        snprintf(proto, proto_cap, "%s", m->proto_text);
    }
    dsrtp_sdp_free(parsed);
}

static int reoffer(gw *g, gw_call *c, const char *from_tag, const char *sdp, size_t len,
                   const gw_opts *o, char *out, size_t cap, size_t *out_len, const char **err);

/* The streams of a new call from A's offer (leg[0].remote_sdp): their legs, each on its
 * m-line, with room for the streams after the first when there are several. */
static int call_streams_init(gw_call *c, const char *from_tag, const char **err)
{
    uint8_t mlines[GW_STREAMS_MAX];
    unsigned n = gw_sdp_pick_streams(c->leg[0].remote_sdp, mlines);
    if (n == 0) {
        *err = "SDP has no active RTP m-line";
        return -1;
    }
    if (n > 1) {
        if (gw_call_more(c) != 0) {
            *err = "out of memory";
            return -1;
        }
        c->more->count = n;
    }
    for (unsigned k = 0; k < n; k++) {
        if (gw_leg_init(c, gw_call_leg(c, 0, k), 0, k, mlines[k], from_tag) != 0 ||
            gw_leg_init(c, gw_call_leg(c, 1, k), 1, k, mlines[k], NULL) != 0) {
            *err = "out of memory";
            return -1;
        }
    }
    return 0;
}

/* Sockets for the legs of streams from `from` on that have none (bundled ones ride on their
 * side's first leg): a port each, RTCP on port + 1 without rtcp-mux. The offered side's
 * (`offered`) DTLS sessions exist at once: its ClientHello may come before its answer. */
static int open_legs(gw *g, gw_call *c, unsigned from, int offered, const char **err)
{
    for (unsigned k = from; k < gw_call_streams(c); k++) {
        for (int i = 0; i < 2; i++) {
            gw_leg *l = gw_call_leg(c, i, k);
            if (l->bundled || l->fd >= 0) {
                continue;
            }
            if (gw_leg_open(g, l, err) != 0) {
                return -1;
            }
            if (!l->rtcp_mux) {
                gw_leg_open_rtcp(g, l);
            }
            if (i == offered && l->keying == DSRTP_KEYING_DTLS && gw_leg_session_new(g, l) != 0) {
                *err = "cannot create the DTLS session";
                return -1;
            }
        }
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
        return reoffer(g, c, from_tag, sdp, len, o, out, cap, out_len, err);
    }
    if (g->cfg.max_calls != 0 && calls_in_progress(g) >= g->cfg.max_calls) {
        *err = "call limit reached";
        return -1;
    }
    if (gw_ports_free(&g->root->ports) < 2) {
        *err = "no free media ports";
        return -1;
    }
    /* control.c hands call-ids shorter than GW_CALLID_MAX; cut one that is not, as before. */
    size_t idlen = strnlen(callid, GW_CALLID_MAX - 1);
    c = calloc(1, sizeof *c + idlen + 1);
    if (c == NULL) {
        *err = "out of memory";
        return -1;
    }
    c->leg[0].fd = -1;
    c->leg[1].fd = -1;
    c->leg[0].rtcp_fd = -1;
    c->leg[1].rtcp_fd = -1;
    memcpy(c->callid, callid, idlen);
    c->callid[idlen] = '\0';
    c->created = dsrtp_io_now();
    c->last_media = c->created;
    c->last_signal = c->created;
    c->delete_at = DSRTP_TIME_NEVER;
    c->offerer = 0;
    /* rtpengine's direction: the offering side's interface, then the other side's; the
     * default (first) interface for what is not named. */
    c->iface[0] = (uint8_t)(o->iface[0] > 0 ? o->iface[0] : 0);
    c->iface[1] = (uint8_t)(o->iface[1] > 0 ? o->iface[1] : 0);
    dsrtp_sdp *doc = NULL;
    if (parse_sdp(sdp, len, &doc, err) != 0) {
        goto fail;
    }
    if (take_remote(&c->leg[0], doc, sdp, len, err) != 0) {
        dsrtp_sdp_free(doc);
        goto fail;
    }
    if (call_streams_init(c, from_tag, err) != 0 || gw_sdp_plan(g, c, o, err) != 0) {
        goto fail;
    }
    unsigned n = gw_call_streams(c);
    if (open_legs(g, c, 0, 1, err) != 0 || gw_sdp_offer_b(g, c, o, err) != 0) {
        goto fail;
    }
    if (emit_sdp(g, &c->leg[1], out, cap, out_len, err) != 0) {
        goto fail;
    }
    c->next = g->calls;
    g->calls = c;
    g->call_count++;
    atomic_fetch_add(&g->m.calls_current, 1);
    atomic_fetch_add(&g->m.calls_total, 1);
    gw_log("info", "msg=\"call created\" call=\"%s\" keying_a=%s keying_b=%s ice_a=%d ice_b=%d "
                   "port_a=%u port_b=%u streams=%u bundle_a=%d bundle_b=%d",
           c->callid, dsrtp_keying_name(c->leg[0].keying), dsrtp_keying_name(c->leg[1].keying),
           c->leg[0].ice, c->leg[1].ice, c->leg[0].port, c->leg[1].port, n,
           c->more != NULL && c->more->bundled[0], c->more != NULL && c->more->bundled[1]);
    return 0;
fail:
    call_free(g, c);
    return -1;
}

/* RFC 3264 §8: a later description keeps every m-line where it was. Each stream's m-line
 * in `now` must be there and, unless it is disabled (port 0), the same kind of media over
 * RTP as in `prev`. 0, or -1 and err set. */
static int same_mlines(gw_call *c, const dsrtp_sdp *prev, const dsrtp_sdp *now,
                       const char *what, const char **err)
{
    for (unsigned k = 0; k < gw_call_streams(c); k++) {
        const gw_leg *l = gw_call_leg(c, 0, k);
        const dsrtp_sdp_media *p = dsrtp_sdp_get_media(prev, l->mline);
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(now, l->mline);
        if (l->off) {
            continue;
        }
        if (m == NULL || p == NULL ||
            (gw_sdp_mline_active(now, l->mline) &&
             (strcmp(p->media, m->media) != 0 || strstr(m->proto_text, "RTP/") == NULL))) {
            *err = what;
            return -1;
        }
    }
    return 0;
}

/* Stream k of the call is refused from now on (port 0 on both sides; nothing relayed). */
static void stream_off(gw_call *c, unsigned k, const char *by)
{
    gw_call_leg(c, 0, k)->off = true;
    gw_call_leg(c, 1, k)->off = true;
    gw_log("info", "msg=\"stream refused\" call=\"%s\" stream=%u by=%s", c->callid, k, by);
}

static void cancel_delete(gw_call *c)
{
    if (c->delete_at != DSRTP_TIME_NEVER) {
        c->delete_at = DSRTP_TIME_NEVER;
        gw_log("info", "msg=\"delete cancelled by new signalling\" call=\"%s\"", c->callid);
    }
}

/* An offer for a call we know. The side is told by its from-tag: A's (the first offer's),
 * or B's once B answered (a re-INVITE from the callee carries its own tag as from-tag). The
 * offering leg is read as answerer and keeps its association; the other leg gets a new
 * offer on the same port with the same keys. An offer repeated unchanged (INVITE
 * retransmitted past the reply cache, session refresh) gives the same SDP again. */
static int reoffer_parsed(gw *g, gw_call *c, const char *from_tag, const char *sdp,
                          size_t len, const gw_opts *o, char *out, size_t cap, size_t *out_len,
                          const char **err)
{
    int xi;
    if (strcmp(from_tag, c->leg[0].tag) == 0) {
        xi = 0;
    } else if (c->answered && c->leg[1].tag[0] != '\0' && strcmp(from_tag, c->leg[1].tag) == 0) {
        xi = 1;
    } else {
        *err = "from-tag matches neither side of the call";
        return -1;
    }
    gw_leg *x = &c->leg[xi];
    gw_leg *y = &c->leg[1 - xi];
    dsrtp_sdp *ns = NULL;
    if (parse_sdp(sdp, len, &ns, err) != 0) {
        return -1;
    }
    if (dsrtp_sdp_media_count(ns) < dsrtp_sdp_media_count(x->remote_sdp)) {
        dsrtp_sdp_free(ns);
        *err = "re-offer has fewer m-lines than the last description (RFC 3264 §8)";
        return -1;
    }
    if (same_mlines(c, x->remote_sdp, ns,
                    "re-offer moves or changes the media of an m-line in use (RFC 3264 §8)",
                    err) != 0) {
        dsrtp_sdp_free(ns);
        return -1;
    }
    /* Each stream with a transport of its own keeps its association: checked against the
     * description this side sent before (take_remote replaces it). */
    unsigned n = gw_call_streams(c);
    bool restart[GW_STREAMS_MAX] = {false};
    bool renew[GW_STREAMS_MAX] = {false};
    for (unsigned k = 0; k < n; k++) {
        gw_leg *xl = gw_call_leg(c, xi, k);
        if (xl->off) {
            continue;
        }
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(ns, xl->mline);
        if (!gw_sdp_mline_active(ns, xl->mline)) {
            if (k == 0) {
                dsrtp_sdp_free(ns);
                *err = "re-offer refuses the first stream: not supported";
                return -1;
            }
            stream_off(c, k, "re-offer"); /* bundled or not: port 0 both ways from now on */
            continue;
        }
        if (xl->bundled) {
            continue; /* its transport is the first stream's, checked with that one */
        }
        const dsrtp_sdp_media *was = dsrtp_sdp_get_media(x->remote_sdp, xl->mline);
        restart[k] = xl->ice && xl->started && gw_ice_restarted(was, m);
        dsrtp_sdp_decision dec;
        if (gw_sdp_check_offer(xl, m, restart[k], &dec, &renew[k], err) != 0) {
            dsrtp_sdp_free(ns);
            return -1;
        }
        int rc = gw_leg_decide(xl, &dec);
        dsrtp_sdp_decision_wipe(&dec);
        if (rc != 0) {
            dsrtp_sdp_free(ns);
            *err = "out of memory";
            return -1;
        }
    }
    if (take_remote(x, ns, sdp, len, err) != 0) {
        dsrtp_sdp_free(ns);
        return -1;
    }
    if (gw_sdp_add_streams(g, c, xi, err) < 0 || open_legs(g, c, n, 1 - xi, err) != 0) {
        return -1;
    }
    if (gw_sdp_take_mids(c, xi, ns) != 0) {
        *err = "out of memory";
        return -1;
    }
    for (unsigned k = 0; k < n; k++) {
        gw_leg *xl = gw_call_leg(c, xi, k);
        if (xl->off || xl->bundled) {
            continue;
        }
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(ns, xl->mline);
        if (xl->rtcp_mux && !m->rtcp_mux) {
            /* RFC 5761 §5.1.3: an offer without rtcp-mux ends it; RTCP on our port + 1. */
            xl->rtcp_mux = false;
            gw_leg_open_rtcp(g, xl);
        }
        if (renew[k]) {
            /* A new association (and with ICE, a restart): the leg starts afresh with the
             * answer, which carries our new ICE credentials. */
            gw_leg_renew(g, xl, xl->ice, "re-offer");
            continue;
        }
        if (xl->started && gw_leg_update(g, xl) != 0) {
            *err = "cannot apply the re-offer to the media session";
            return -1;
        }
        if (restart[k] && gw_leg_restart_ice(xl, m) != 0) {
            *err = "cannot restart ICE on the media session";
            return -1;
        }
    }
    if (gw_sdp_reoffer(g, c, 1 - xi, o, err) != 0 || emit_sdp(g, y, out, cap, out_len, err) != 0) {
        return -1;
    }
    c->offerer = xi;
    c->reoffered = c->reoffered || c->answered;
    c->last_signal = dsrtp_io_now();
    cancel_delete(c);
    gw_log("info", "msg=\"re-offer\" call=\"%s\" from=%s", c->callid, xi == 0 ? "A" : "B");
    return 0;
}

static int reoffer(gw *g, gw_call *c, const char *from_tag, const char *sdp, size_t len,
                   const gw_opts *o, char *out, size_t cap, size_t *out_len, const char **err)
{
    int rc = gw_call_parse(c, err);
    if (rc == 0) {
        rc = reoffer_parsed(g, c, from_tag, sdp, len, o, out, cap, out_len, err);
    }
    gw_call_unparse(c);
    return rc;
}

/* Which stream a bundled side's RTP belongs to, by payload type: the formats of each
 * stream's m-line in both sides' latest descriptions (an answerer keeps the offer's numbers,
 * RFC 3264 §6.1; the first stream that lists a number has it). */
static void map_payload_types(gw_call *c)
{
    if (c->more == NULL) {
        return;
    }
    gw_stream_map_clear_pts(&c->more->map);
    for (int i = 0; i < 2; i++) {
        const dsrtp_sdp *d = c->leg[i].remote_sdp;
        for (unsigned k = 0; d != NULL && k < c->more->count; k++) {
            const gw_leg *l = gw_call_leg(c, i, k);
            const dsrtp_sdp_media *m = dsrtp_sdp_get_media(d, l->mline);
            for (size_t f = 0; m != NULL && !l->off && f < m->format_count; f++) {
                char *end = NULL;
                unsigned long pt = strtoul(m->formats[f], &end, 10);
                if (end != m->formats[f] && *end == '\0') {
                    gw_stream_map_set_pt(&c->more->map, (unsigned)pt, k);
                }
            }
        }
    }
}

/* The answer to the last offer, from the other side: the first one starts both legs; a
 * later one (to a re-offer, or a second answer to the same offer, such as a 200 after a 183)
 * updates the answering leg. Its from-tag is the offerer's tag, its to-tag the answerer's. */
static int answer_parsed(gw *g, gw_call *c, const char *from_tag, const char *to_tag,
                         const char *sdp, size_t len, char *out, size_t cap, size_t *out_len,
                         const char **err)
{
    int xi = c->offerer;
    gw_leg *x = &c->leg[xi];
    gw_leg *y = &c->leg[1 - xi];
    if (from_tag != NULL && from_tag[0] != '\0' && strcmp(from_tag, x->tag) != 0) {
        *err = "from-tag does not match the offer";
        return -1;
    }
    /* Until a re-offer, B's tag is the latest answer's (a 200 may come from another fork
     * than a 183 before it); afterwards it names B. */
    bool set_tag = xi == 0 && !c->reoffered;
    if (!set_tag && to_tag != NULL && to_tag[0] != '\0' && strcmp(to_tag, y->tag) != 0) {
        *err = "to-tag does not match the call";
        return -1;
    }
    dsrtp_sdp *ys = NULL;
    if (parse_sdp(sdp, len, &ys, err) != 0) {
        return -1;
    }
    if (dsrtp_sdp_media_count(ys) != dsrtp_sdp_media_count(y->local_sdp)) {
        dsrtp_sdp_free(ys);
        *err = "answer has not as many m-lines as the offer (RFC 3264 §6)";
        return -1;
    }
    if (same_mlines(c, y->local_sdp, ys,
                    "answer changes the media of an m-line (RFC 3264 §6)", err) != 0) {
        dsrtp_sdp_free(ys);
        return -1;
    }
    unsigned n = gw_call_streams(c);
    bool renew[GW_STREAMS_MAX] = {false};
    for (unsigned k = 0; k < n; k++) {
        gw_leg *yl = gw_call_leg(c, 1 - xi, k);
        if (yl->off) {
            continue;
        }
        const dsrtp_sdp_media *m = dsrtp_sdp_get_media(ys, yl->mline);
        if (m->port == 0) {
            if (k == 0) {
                dsrtp_sdp_free(ys);
                *err = "answer refuses the first stream: not supported";
                return -1;
            }
            stream_off(c, k, "answer"); /* bundled or not */
            continue;
        }
        if (yl->bundled) {
            continue; /* keyed with the first stream's transport */
        }
        const dsrtp_sdp_media *was = y->remote_sdp != NULL
                                         ? dsrtp_sdp_get_media(y->remote_sdp, yl->mline)
                                         : NULL;
        bool other_ice = yl->ice && yl->started && gw_ice_restarted(was, m);
        dsrtp_sdp_decision dec;
        if (gw_sdp_check_answer(yl, m, other_ice, &dec, &renew[k], err) != 0) {
            dsrtp_sdp_free(ys);
            return -1;
        }
        int rc = gw_leg_decide(yl, &dec);
        dsrtp_sdp_decision_wipe(&dec);
        if (rc != 0) {
            dsrtp_sdp_free(ys);
            *err = "out of memory";
            return -1;
        }
        yl->fresh = false;
    }
    /* We offered this side a BUNDLE group: one transport for every stream it accepts. */
    if (c->more != NULL && c->more->bundled[1 - xi] && !gw_sdp_bundles_all(ys, c)) {
        dsrtp_sdp_free(ys);
        *err = "answer does not bundle every stream it accepts: not supported";
        return -1;
    }
    if (take_remote(y, ys, sdp, len, err) != 0) {
        dsrtp_sdp_free(ys);
        return -1;
    }
    if (set_tag && gw_leg_set_tag(y, to_tag) != 0) {
        *err = "out of memory";
        return -1;
    }
    for (unsigned k = 0; k < n; k++) {
        gw_leg *yl = gw_call_leg(c, 1 - xi, k);
        if (renew[k]) {
            /* Another endpoint answered (a forked 200 after a 183), or the same one with a
             * new association: a fresh session for it. Our ICE credentials stay: the offer
             * it answered carried them. */
            gw_leg_renew(g, yl, false, "answer");
        }
        if (!yl->off && !yl->bundled && yl->rtcp_mux &&
            !dsrtp_sdp_get_media(ys, yl->mline)->rtcp_mux) {
            /* Offered but refused (RFC 5761 §5.1.1): RTCP on our port + 1 after all. */
            yl->rtcp_mux = false;
            gw_leg_open_rtcp(g, yl);
        }
    }
    if (gw_sdp_answer(g, c, xi, err) != 0 || emit_sdp(g, x, out, cap, out_len, err) != 0) {
        return -1;
    }
    map_payload_types(c);
    /* B first, as its DTLS session may hold an early ClientHello. The offering leg took
     * its changes with the offer. */
    for (int i = 1; i >= 0; i--) {
        for (unsigned k = 0; k < n; k++) {
            gw_leg *l = gw_call_leg(c, i, k);
            if (l->bundled || l->off) {
                continue;
            }
            if (!l->started) {
                if (gw_leg_start(g, l) != 0) {
                    *err = "cannot start the media sessions";
                    return -1;
                }
                gw_leg_keep_used_sdes_key(l);
            } else if (i == 1 - xi && gw_leg_update(g, l) != 0) {
                *err = "cannot apply the answer to the media session";
                return -1;
            }
        }
    }
    bool first = !c->answered;
    c->answered = true;
    c->last_media = dsrtp_io_now();
    c->last_signal = c->last_media;
    cancel_delete(c);
    gw_log("info", "msg=\"call answered\" call=\"%s\" by=%s%s", c->callid,
           xi == 0 ? "B" : "A", first ? "" : " again");
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
    int rc = gw_call_parse(c, err);
    if (rc == 0) {
        rc = answer_parsed(g, c, from_tag, to_tag, sdp, len, out, cap, out_len, err);
    }
    gw_call_unparse(c);
    return rc;
}

void gw_call_delete_later(gw *g, gw_call *c, unsigned seconds)
{
    if (seconds == 0) {
        gw_call_delete(g, c, "delete");
        return;
    }
    dsrtp_time at = dsrtp_io_now() + (dsrtp_time)seconds * 1000000u;
    if (at < c->delete_at) { /* a second delete never puts it off */
        c->delete_at = at;
    }
    if (c->delete_at < g->next_deadline) {
        g->next_deadline = c->delete_at;
    }
    gw_log("info", "msg=\"call deletion scheduled\" call=\"%s\" delay=%u", c->callid,
           seconds);
}

void gw_call_delete(gw *g, gw_call *c, const char *why)
{
    for (gw_call **pp = &g->calls; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    for (unsigned n = gw_call_streams(c), j = 0; j < 2 * n; j++) {
        gw_leg *l = gw_call_leg(c, (int)(j % 2), j / 2);
        gw_hs_end(g, l); /* a queued leg leaves the queue, a running handshake its slot */
        if (l->session != NULL && l->started && l->keying == DSRTP_KEYING_DTLS &&
            dsrtp_session_get_state(l->session) == DSRTP_SESSION_READY &&
            dsrtp_session_close(l->session) == DSRTP_OK) {
            gw_leg_flush(g, l); /* close_notify leaves now */
        }
    }
    uint64_t rtp_in[2] = {0, 0}; /* every stream's */
    for (unsigned n = gw_call_streams(c), j = 0; j < 2 * n; j++) {
        rtp_in[j % 2] += gw_call_leg(c, (int)(j % 2), j / 2)->rtp_in;
    }
    gw_log("info", "msg=\"call deleted\" call=\"%s\" reason=%s rtp_a_in=%llu rtp_b_in=%llu",
           c->callid, why, (unsigned long long)rtp_in[0], (unsigned long long)rtp_in[1]);
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
        if (c->delete_at <= now) {
            gw_call_delete(g, c, "delete-delay");
            c = following;
            continue;
        }
        unsigned legs = 2 * gw_call_streams(c);
        for (unsigned j = 0; j < legs; j++) {
            if (gw_call_leg(c, (int)(j % 2), j / 2)->hs_queued) {
                c->last_media = now; /* no media timeout while waiting for a handshake slot */
            }
        }
        if (g->cfg.timeout != 0 && now - c->last_media > (dsrtp_time)g->cfg.timeout * 1000000u) {
            atomic_fetch_add(&g->m.calls_timeout, 1);
            gw_call_delete(g, c, "timeout");
            c = following;
            continue;
        }
        if (c->delete_at < next) {
            next = c->delete_at;
        }
        for (unsigned j = 0; j < legs; j++) {
            gw_leg *l = gw_call_leg(c, (int)(j % 2), j / 2);
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
