/* Two media sessions over a simulated UDP network. Each end has its own transport address;
 * a datagram a session emits goes to the end whose address equals out.to (anything else is
 * counted as stray), with loss, duplication and delay jitter from a seeded PRNG and an
 * optional tap that sees, may modify or may drop every datagram. The loop drives
 * handle_timeout when a session's deadline passes and records every event and every media
 * packet a session hands back.
 *
 * Time is real monotonic time, as in dtls_link.h: OpenSSL 3.0 decides DTLS retransmissions
 * with its own clock, so tests use short RTOs to stay fast. Tests may also call the session
 * API directly between runs (sl_inject delivers one datagram from any source address).
 * Header-only. */
#ifndef DSRTP_SESSION_LINK_H
#define DSRTP_SESSION_LINK_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dsrtp/session.h>

#define SL_MAX_INFLIGHT 256
#define SL_MTU 2048
#define SL_MAX_EVENTS 32
#define SL_EV_KINDS 6 /* indexed by dsrtp_session_event_kind (1..5) */

typedef struct sl_pkt {
    uint8_t data[SL_MTU];
    size_t len;
    dsrtp_time due;
    dsrtp_addr from;
    dsrtp_addr to;
} sl_pkt;

struct sl_link;

typedef struct sl_cfg {
    unsigned loss_pct; /* per datagram, both directions */
    unsigned dup_pct;
    unsigned jitter_us;  /* random extra delay: reorders */
    dsrtp_time delay_us; /* base one-way delay */
    uint64_t seed;
    /* Called for every datagram a session emits (before loss): may modify it and return
     * false to drop it. from is the sending end (0 or 1). */
    bool (*tap)(void *arg, int from, const dsrtp_addr *to, uint8_t *data, size_t *len);
    void *tap_arg;
    /* Called once per loop turn, before draining: lets a test act as a third party
     * (send checks, inject packets) while the sessions run. */
    void (*tick)(void *arg, struct sl_link *l, dsrtp_time now);
    void *tick_arg;
} sl_cfg;

/* What one end saw and did. */
typedef struct sl_end {
    dsrtp_session *s; /* owned by the link once set: sl_free frees it */
    dsrtp_addr addr;
    dsrtp_session_event ev[SL_MAX_EVENTS];
    size_t ev_count;            /* events recorded (at most SL_MAX_EVENTS kept) */
    size_t ev_kind[SL_EV_KINDS]; /* events by kind */
    size_t sent;                /* datagrams emitted */
    size_t sent_by_kind[5];     /* indexed by dsrtp_demux_kind */
    size_t delivered;           /* datagrams handed to this session */
    size_t rx_rtp;              /* media the session handed back */
    size_t rx_rtcp;
    size_t rx_refused; /* handle_datagram errors (any) */
    dsrtp_err last_err;
    uint8_t last_plain[SL_MTU];
    size_t last_plain_len;
    dsrtp_err fatal; /* first poll_output failure, or DSRTP_OK */
} sl_end;

typedef struct sl_link {
    sl_cfg cfg;
    sl_end end[2];
    sl_pkt *q; /* SL_MAX_INFLIGHT */
    size_t n;
    uint64_t rng;
    size_t stray; /* datagrams addressed to nobody */
} sl_link;

static inline dsrtp_time sl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (dsrtp_time)ts.tv_sec * 1000000u + (dsrtp_time)ts.tv_nsec / 1000u;
}

static inline void sl_nap(dsrtp_time us)
{
    struct timespec t = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000};
    nanosleep(&t, NULL);
}

static inline uint64_t sl_rand(sl_link *l)
{
    l->rng ^= l->rng << 13;
    l->rng ^= l->rng >> 7;
    l->rng ^= l->rng << 17;
    return l->rng;
}

/* "1.2.3.4:5" to an address; aborts on a typo in a test. */
static inline dsrtp_addr sl_addr(const char *text)
{
    dsrtp_addr a;
    if (dsrtp_addr_parse(text, strlen(text), &a) != DSRTP_OK) {
        abort();
    }
    return a;
}

/* The end whose address is a, or -1. */
static inline int sl_find(const sl_link *l, const dsrtp_addr *a)
{
    for (int i = 0; i < 2; i++) {
        if (dsrtp_addr_equal(&l->end[i].addr, a)) {
            return i;
        }
    }
    return -1;
}

static inline bool sl_init(sl_link *l, const sl_cfg *cfg, const char *addr0, const char *addr1)
{
    *l = (sl_link){.cfg = *cfg};
    l->rng = cfg->seed != 0 ? cfg->seed : 0x9e3779b97f4a7c15u; /* xorshift sticks at 0 */
    l->end[0].addr = sl_addr(addr0);
    l->end[1].addr = sl_addr(addr1);
    l->q = calloc(SL_MAX_INFLIGHT, sizeof *l->q);
    return l->q != NULL;
}

static inline void sl_free(sl_link *l)
{
    for (int i = 0; i < 2; i++) {
        dsrtp_session_free(l->end[i].s);
    }
    free(l->q);
    *l = (sl_link){0};
}

static inline void sl_enqueue(sl_link *l, const dsrtp_addr *from, const dsrtp_addr *to,
                              const uint8_t *data, size_t len, dsrtp_time now)
{
    if (l->n == SL_MAX_INFLIGHT || len > SL_MTU) {
        return;
    }
    sl_pkt *p = &l->q[l->n++];
    memcpy(p->data, data, len);
    p->len = len;
    p->from = *from;
    p->to = *to;
    p->due = now + l->cfg.delay_us + (l->cfg.jitter_us ? sl_rand(l) % l->cfg.jitter_us : 0);
}

static inline void sl_record_event(sl_end *e, const dsrtp_session_event *ev)
{
    if (e->ev_count < SL_MAX_EVENTS) {
        e->ev[e->ev_count] = *ev;
    }
    e->ev_count++;
    if ((unsigned)ev->kind < SL_EV_KINDS) {
        e->ev_kind[ev->kind]++;
    }
}

/* The most recent recorded event of this kind, or NULL. */
static inline const dsrtp_session_event *sl_last_event(const sl_end *e,
                                                       dsrtp_session_event_kind kind)
{
    size_t n = e->ev_count < SL_MAX_EVENTS ? e->ev_count : SL_MAX_EVENTS;
    for (size_t i = n; i > 0; i--) {
        if (e->ev[i - 1].kind == kind) {
            return &e->ev[i - 1];
        }
    }
    return NULL;
}

/* Drains end i until IDLE: events are recorded, datagrams go onto the wire. */
static inline void sl_drain(sl_link *l, int i, dsrtp_time now)
{
    sl_end *e = &l->end[i];
    if (e->s == NULL) {
        return;
    }
    uint8_t buf[SL_MTU];
    for (;;) {
        dsrtp_session_output out;
        dsrtp_err err = dsrtp_session_poll_output(e->s, buf, sizeof buf, &out);
        if (err != DSRTP_OK) {
            if (e->fatal == DSRTP_OK) {
                e->fatal = err;
            }
            return;
        }
        if (out.kind == DSRTP_OUT_IDLE) {
            return;
        }
        if (out.kind == DSRTP_OUT_EVENT) {
            sl_record_event(e, &out.event);
            continue;
        }
        size_t len = out.len;
        e->sent++;
        e->sent_by_kind[dsrtp_demux(buf, len)]++;
        if (l->cfg.tap != NULL && !l->cfg.tap(l->cfg.tap_arg, i, &out.to, buf, &len)) {
            continue;
        }
        if (sl_rand(l) % 100 < l->cfg.loss_pct) {
            continue;
        }
        sl_enqueue(l, &e->addr, &out.to, buf, len, now);
        if (sl_rand(l) % 100 < l->cfg.dup_pct) {
            sl_enqueue(l, &e->addr, &out.to, buf, len, now);
        }
    }
}

/* Hands one datagram to end i as if it came from `from`, records what came back (media
 * plaintext, refusals), then drains that end. buf is decrypted in place. */
static inline dsrtp_err sl_deliver(sl_link *l, int i, const dsrtp_addr *from, uint8_t *buf,
                                   size_t len, dsrtp_time now, dsrtp_input *res)
{
    sl_end *e = &l->end[i];
    dsrtp_input in = {0};
    e->delivered++;
    dsrtp_err err = dsrtp_session_handle_datagram(e->s, now, from, buf, len, &in);
    e->last_err = err;
    if (err != DSRTP_OK) {
        e->rx_refused++;
    } else if (in.kind == DSRTP_INPUT_RTP || in.kind == DSRTP_INPUT_RTCP) {
        if (in.kind == DSRTP_INPUT_RTP) {
            e->rx_rtp++;
        } else {
            e->rx_rtcp++;
        }
        e->last_plain_len = in.len < SL_MTU ? in.len : SL_MTU;
        memcpy(e->last_plain, buf, e->last_plain_len);
    }
    sl_drain(l, i, now);
    if (res != NULL) {
        *res = in;
    }
    return err;
}

/* Delivers a copy of data to the end at `to` from any source address, at once. Returns
 * the session's verdict; DSRTP_ERR_INVALID_ARG when nobody has that address. */
static inline dsrtp_err sl_inject(sl_link *l, const dsrtp_addr *from, const dsrtp_addr *to,
                                  const uint8_t *data, size_t len, dsrtp_input *res)
{
    int i = sl_find(l, to);
    if (i < 0 || l->end[i].s == NULL || len > SL_MTU) {
        return DSRTP_ERR_INVALID_ARG;
    }
    uint8_t buf[SL_MTU];
    memcpy(buf, data, len);
    return sl_deliver(l, i, from, buf, len, sl_now(), res);
}

/* Protects a media packet on end i and puts it on the wire towards protect's `to`. */
static inline dsrtp_err sl_send_media(sl_link *l, int i, bool rtcp, const uint8_t *pkt,
                                      size_t len)
{
    uint8_t buf[SL_MTU];
    size_t n = 0;
    dsrtp_addr to;
    if (len + DSRTP_SRTCP_MAX_TRAILER > sizeof buf) {
        return DSRTP_ERR_INVALID_ARG;
    }
    memcpy(buf, pkt, len);
    dsrtp_err err = dsrtp_session_protect(l->end[i].s, rtcp, buf, len, sizeof buf, &n, &to);
    if (err == DSRTP_OK) {
        l->end[i].sent++;
        l->end[i].sent_by_kind[dsrtp_demux(buf, n)]++;
        sl_enqueue(l, &l->end[i].addr, &to, buf, n, sl_now());
    }
    return err;
}

/* Delivers every datagram that is due, earliest first. */
static inline void sl_deliver_due(sl_link *l, dsrtp_time now)
{
    for (;;) {
        size_t best = l->n;
        for (size_t k = 0; k < l->n; k++) {
            if (l->q[k].due <= now && (best == l->n || l->q[k].due < l->q[best].due)) {
                best = k;
            }
        }
        if (best == l->n) {
            return;
        }
        sl_pkt p = l->q[best];
        l->q[best] = l->q[--l->n];
        int to = sl_find(l, &p.to);
        if (to < 0 || l->end[to].s == NULL) {
            l->stray++;
            continue;
        }
        (void)sl_deliver(l, to, &p.from, p.data, p.len, now, NULL);
    }
}

/* Runs both ends until stop(l) holds or limit_us passes; returns the time taken. */
static inline dsrtp_time sl_run(sl_link *l, dsrtp_time limit_us, bool (*stop)(const sl_link *l))
{
    dsrtp_time start = sl_now();
    for (;;) {
        dsrtp_time now = sl_now();
        if (l->cfg.tick != NULL) {
            l->cfg.tick(l->cfg.tick_arg, l, now);
        }
        for (int i = 0; i < 2; i++) {
            sl_drain(l, i, now);
        }
        if ((stop != NULL && stop(l)) || now - start > limit_us) {
            return now - start;
        }
        sl_deliver_due(l, now);
        for (int i = 0; i < 2; i++) {
            dsrtp_session *s = l->end[i].s;
            if (s != NULL && dsrtp_session_next_deadline(s) <= now) {
                dsrtp_err err = dsrtp_session_handle_timeout(s, now);
                if (err != DSRTP_OK && l->end[i].fatal == DSRTP_OK) {
                    l->end[i].fatal = err;
                }
                sl_drain(l, i, now);
            }
        }
        sl_nap(200); /* 0.2 ms */
    }
}

/* ---- stop conditions ---- */

static inline bool sl_both_ready(const sl_link *l)
{
    return l->end[0].ev_kind[DSRTP_SESSION_EV_KEYS_READY] > 0 &&
           l->end[1].ev_kind[DSRTP_SESSION_EV_KEYS_READY] > 0;
}

static inline bool sl_both_failed(const sl_link *l)
{
    return l->end[0].ev_kind[DSRTP_SESSION_EV_FAILED] > 0 &&
           l->end[1].ev_kind[DSRTP_SESSION_EV_FAILED] > 0;
}

static inline bool sl_wire_empty(const sl_link *l)
{
    return l->n == 0;
}

/* ---- packets ---- */

/* A 12-byte RTP header (V=2, PT 96) and payload_len bytes of pattern. */
static inline size_t sl_make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, size_t payload_len)
{
    static const uint8_t hdr[12] = {0x80, 0x60, 0, 0, 0, 0, 0x03, 0x20, 0, 0, 0, 0};
    memcpy(b, hdr, sizeof hdr);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[8] = (uint8_t)(ssrc >> 24);
    b[9] = (uint8_t)(ssrc >> 16);
    b[10] = (uint8_t)(ssrc >> 8);
    b[11] = (uint8_t)ssrc;
    for (size_t i = 0; i < payload_len; i++) {
        b[12 + i] = (uint8_t)(i * 13 + seq);
    }
    return 12 + payload_len;
}

/* A 28-byte RTCP sender report (PT 200, length 6) from ssrc. */
static inline size_t sl_make_rtcp(uint8_t *b, uint32_t ssrc, uint32_t packets)
{
    memset(b, 0, 28);
    b[0] = 0x80;
    b[1] = 200;
    b[3] = 6;
    b[4] = (uint8_t)(ssrc >> 24);
    b[5] = (uint8_t)(ssrc >> 16);
    b[6] = (uint8_t)(ssrc >> 8);
    b[7] = (uint8_t)ssrc;
    for (int i = 8; i < 20; i++) {
        b[i] = (uint8_t)(i * 29);
    }
    b[20] = (uint8_t)(packets >> 24);
    b[21] = (uint8_t)(packets >> 16);
    b[22] = (uint8_t)(packets >> 8);
    b[23] = (uint8_t)packets;
    return 28;
}

#endif
