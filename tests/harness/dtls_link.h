/* Two DTLS endpoints over a simulated link: loss, duplication and reordering (delay jitter)
 * in each direction from a seeded PRNG. Time is real monotonic time, because OpenSSL 3.0
 * times retransmissions with its own clock (see src/dtls/endpoint.c); tests use short
 * retransmission intervals so they stay fast. Header-only. */
#ifndef DSRTP_DTLS_LINK_H
#define DSRTP_DTLS_LINK_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dsrtp/dtls.h>

#define LINK_MAX_INFLIGHT 256
#define LINK_MTU 2048

typedef struct link_pkt {
    uint8_t data[LINK_MTU];
    size_t len;
    dsrtp_time due;
    int to; /* 0 or 1 */
} link_pkt;

typedef struct link_cfg {
    unsigned loss_pct;    /* per datagram, each direction */
    unsigned dup_pct;
    unsigned jitter_us;   /* random extra delay: reorders */
    dsrtp_time delay_us;  /* base one-way delay */
    uint64_t seed;
    /* Optional tap: called for every datagram sent (before loss); may modify it and
     * return false to drop it. */
    bool (*tap)(void *arg, int from, uint8_t *data, size_t *len);
    void *tap_arg;
} link_cfg;

typedef struct link_stats {
    size_t sent[2];
    size_t delivered[2];
    size_t max_len[2];
    dsrtp_dtls_event last_event[2];
    bool connected[2];
    bool failed[2];
    bool closed[2];
    size_t events[2];
    size_t alerts[2];
    size_t refused[2]; /* datagrams handle_datagram returned an error for */
    size_t failures[2];      /* EV_FAILED events seen */
    dsrtp_time failed_at[2]; /* link_now() when the first EV_FAILED was drained */
} link_stats;

static inline dsrtp_time link_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (dsrtp_time)ts.tv_sec * 1000000u + (dsrtp_time)ts.tv_nsec / 1000u;
}

static inline uint64_t link_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct link_sim {
    link_cfg cfg;
    link_pkt *q; /* LINK_MAX_INFLIGHT */
    size_t n;
    uint64_t rng;
    link_stats st;
} link_sim;

static inline void link_enqueue(link_sim *l, int to, const uint8_t *data, size_t len,
                                dsrtp_time now)
{
    if (l->n == LINK_MAX_INFLIGHT || len > LINK_MTU) {
        return;
    }
    link_pkt *p = &l->q[l->n++];
    memcpy(p->data, data, len);
    p->len = len;
    p->to = to;
    p->due = now + l->cfg.delay_us +
             (l->cfg.jitter_us ? link_rand(&l->rng) % l->cfg.jitter_us : 0);
}

/* Drains one endpoint's output into the link; records events. */
static inline void link_drain(link_sim *l, dsrtp_dtls *d, int from, dsrtp_time now)
{
    uint8_t buf[LINK_MTU];
    dsrtp_dtls_output out;
    while (dsrtp_dtls_poll_output(d, buf, sizeof buf, &out) == DSRTP_OK &&
           out.kind != DSRTP_OUT_IDLE) {
        if (out.kind == DSRTP_OUT_EVENT) {
            l->st.events[from]++;
            l->st.last_event[from] = out.event;
            if (out.event.kind == DSRTP_DTLS_EV_CONNECTED) {
                l->st.connected[from] = true;
            } else if (out.event.kind == DSRTP_DTLS_EV_FAILED) {
                if (!l->st.failed[from]) {
                    l->st.failed_at[from] = now;
                }
                l->st.failed[from] = true;
                l->st.failures[from]++;
            } else if (out.event.kind == DSRTP_DTLS_EV_CLOSED) {
                l->st.closed[from] = true;
            } else if (out.event.kind == DSRTP_DTLS_EV_ALERT) {
                l->st.alerts[from]++;
            }
            continue;
        }
        size_t len = out.len;
        l->st.sent[from]++;
        if (len > l->st.max_len[from]) {
            l->st.max_len[from] = len;
        }
        if (l->cfg.tap != NULL && !l->cfg.tap(l->cfg.tap_arg, from, buf, &len)) {
            continue;
        }
        if (link_rand(&l->rng) % 100 < l->cfg.loss_pct) {
            continue;
        }
        link_enqueue(l, 1 - from, buf, len, now);
        if (link_rand(&l->rng) % 100 < l->cfg.dup_pct) {
            link_enqueue(l, 1 - from, buf, len, now);
        }
    }
}

/* Runs both endpoints until stop(arg) says so or limit_us passes. Returns elapsed us. */
static inline dsrtp_time link_run(link_sim *l, dsrtp_dtls *d[2], dsrtp_time limit_us,
                                  bool (*stop)(const link_sim *l))
{
    dsrtp_time start = link_now();
    for (;;) {
        dsrtp_time now = link_now();
        for (int i = 0; i < 2; i++) {
            link_drain(l, d[i], i, now);
        }
        if (stop(l) || now - start > limit_us) {
            return now - start;
        }
        /* Deliver what is due, in due order. */
        bool any = true;
        while (any) {
            any = false;
            size_t best = l->n;
            for (size_t k = 0; k < l->n; k++) {
                if (l->q[k].due <= now && (best == l->n || l->q[k].due < l->q[best].due)) {
                    best = k;
                }
            }
            if (best < l->n) {
                link_pkt p = l->q[best];
                l->q[best] = l->q[--l->n];
                l->st.delivered[p.to]++;
                if (dsrtp_dtls_handle_datagram(d[p.to], now, p.data, p.len) != DSRTP_OK) {
                    l->st.refused[p.to]++;
                }
                link_drain(l, d[p.to], p.to, now);
                any = true;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (dsrtp_dtls_next_deadline(d[i]) <= now) {
                dsrtp_err e = dsrtp_dtls_handle_timeout(d[i], now);
                (void)e;
            }
        }
        struct timespec nap = {0, 200000}; /* 0.2 ms */
        nanosleep(&nap, NULL);
    }
}

static inline bool link_both_connected(const link_sim *l)
{
    return l->st.connected[0] && l->st.connected[1];
}

static inline bool link_any_done(const link_sim *l)
{
    return (l->st.connected[0] || l->st.failed[0]) && (l->st.connected[1] || l->st.failed[1]);
}

/* ---- Set-up helpers for the DTLS tests ---- */

/* Allocates the in-flight queue and seeds the PRNG (never 0: xorshift would stick). */
static inline bool link_init(link_sim *l, const link_cfg *cfg)
{
    *l = (link_sim){.cfg = *cfg};
    l->rng = cfg->seed != 0 ? cfg->seed : 0x9e3779b97f4a7c15u;
    l->q = calloc(LINK_MAX_INFLIGHT, sizeof *l->q);
    return l->q != NULL;
}

static inline void link_free(link_sim *l)
{
    free(l->q);
    l->q = NULL;
}

/* True when some record of the datagram has this content type and epoch and, for an
 * epoch-0 handshake record, this handshake message type (hs_type < 0: any). Records are
 * walked by their length fields; a truncated one ends the walk. */
static inline bool link_dgram_has(const uint8_t *p, size_t len, int type, int epoch, int hs_type)
{
    size_t pos = 0;
    while (len - pos >= 13) {
        const uint8_t *r = p + pos;
        size_t rlen = (size_t)r[11] << 8 | r[12];
        int r_epoch = r[3] << 8 | r[4];
        if (rlen > len - pos - 13) {
            return false;
        }
        if (r[0] == type && r_epoch == epoch &&
            (hs_type < 0 || (rlen > 0 && r[13] == hs_type))) {
            return true;
        }
        pos += 13 + rlen;
    }
    return false;
}

/* Two endpoints and the link between them. */
typedef struct link_pair {
    dsrtp_dtls *d[2];
    link_sim l;
} link_pair;

/* Test defaults: 10 ms first retransmission, 5 s handshake timeout. */
static inline void link_pair_cfg(dsrtp_dtls_cfg *cfg, const dsrtp_cert *cert,
                                 dsrtp_dtls_role role)
{
    dsrtp_dtls_cfg_init(cfg);
    cfg->cert = cert;
    cfg->role = role;
    cfg->initial_rto = 10000;
    cfg->handshake_timeout = 5000000;
}

/* Creates both endpoints and the link; nothing is started or pinned yet. */
static inline dsrtp_err link_pair_new(link_pair *p, const dsrtp_dtls_cfg *c0,
                                      const dsrtp_dtls_cfg *c1, const link_cfg *lc)
{
    *p = (link_pair){0};
    if (!link_init(&p->l, lc)) {
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_err e = dsrtp_dtls_new(c0, &p->d[0]);
    if (e == DSRTP_OK) {
        e = dsrtp_dtls_new(c1, &p->d[1]);
    }
    return e;
}

/* Endpoint 0 expects certificate c1 from its peer and endpoint 1 expects c0, under hash h. */
static inline dsrtp_err link_pair_pin(link_pair *p, const dsrtp_cert *c0, const dsrtp_cert *c1,
                                      dsrtp_hash h)
{
    dsrtp_fingerprint fp;
    dsrtp_err e = dsrtp_cert_fingerprint(c1, h, &fp);
    if (e == DSRTP_OK) {
        e = dsrtp_dtls_set_remote_fingerprints(p->d[0], &fp, 1);
    }
    if (e == DSRTP_OK) {
        e = dsrtp_cert_fingerprint(c0, h, &fp);
    }
    if (e == DSRTP_OK) {
        e = dsrtp_dtls_set_remote_fingerprints(p->d[1], &fp, 1);
    }
    return e;
}

static inline dsrtp_err link_pair_start(link_pair *p)
{
    dsrtp_time now = link_now();
    dsrtp_err e = dsrtp_dtls_start(p->d[0], now);
    if (e == DSRTP_OK) {
        e = dsrtp_dtls_start(p->d[1], now);
    }
    return e;
}

static inline void link_pair_free(link_pair *p)
{
    dsrtp_dtls_free(p->d[0]);
    dsrtp_dtls_free(p->d[1]);
    link_free(&p->l);
    *p = (link_pair){0};
}

#endif
