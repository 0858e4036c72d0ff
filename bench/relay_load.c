/* relay_load: a load generator for dsrtpd's media relay (scripts/bench-relay.sh runs it).
 *
 *   relay_load --ng ADDR:PORT --calls N [--seconds S] [--rate PPS] [--size BYTES]
 *              [--slot-us US] [--pid DSRTPD_PID]
 *
 * Setup (not timed): for each of N calls it sends dsrtpd an ng offer from a WebRTC-like
 * side A (UDP/TLS/RTP/SAVPF, our fingerprint, setup:actpass, no ICE) with the flags that
 * turn it into a plain trunk offer (transport-protocol RTP/AVP, ICE remove, DTLS off), and
 * an ng answer from the trunk side B (RTP/AVP). Side A of every call is a dsrtp_session
 * (the library's session API) that runs a real DTLS-SRTP handshake with the gateway; all
 * handshakes run at once and setup ends when every one is done.
 *
 * Media (timed): every call sends RATE packets/s of SIZE bytes of audio payload in both
 * directions: A -> gateway -> B as SRTP (protected by A's session, relayed to plain RTP)
 * and B -> gateway -> A as plain RTP (relayed to SRTP, unprotected by A's session). Calls
 * are spread evenly over the packet interval in slots of SLOT-US so that the offered load
 * is smooth rather than one burst per interval. Each payload carries its send time (the
 * monotonic clock) and the receiver takes receive time minus send time: the latency the
 * gateway adds on top of two loopback hops. All A sides share one UDP socket, as do all B
 * sides (each gateway leg still has its own port), so the generator batches its I/O with
 * sendmmsg/recvmmsg and stays cheap next to the gateway it measures.
 *
 * Output: one line of key=value pairs (calls, sent, received, loss_pct, pps relayed,
 * latency median/p99/p999/max in microseconds, dsrtpd RSS per call in KiB when --pid is
 * given, the SRTP profile the gateway chose for call 0). Exit 0 when every call was set
 * up, 1 otherwise. The ng messages use rtpengine's flag names, so Debian's rtpengine
 * (scripts/bench-relay.sh with RELAY_RTPENGINE=1) is driven by the same messages. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <dsrtp/dsrtp.h>
#include <dsrtp/dtls.h>
#include <dsrtp/io.h>
#include <dsrtp/sdp.h>
#include <dsrtp/session.h>

#define BATCH 64
#define PKT_CAP 1500
#define RTP_HDR 12
#define HIST_US 1000000 /* latency histogram: 1 us buckets up to 1 s */
#define NG_REPLY_MAX 65536

typedef struct call {
    dsrtp_session *s;
    uint16_t gw_a, gw_b; /* the gateway's leg ports: A (DTLS side), B (trunk side) */
    uint16_t seq_a, seq_b;
    bool ready;
} call;

static call *calls;
static size_t ncalls;
static int32_t by_port[65536]; /* gateway port -> call index + 1 */
static uint32_t *hist[3]; /* [0: A->B, 1: B->A, 2: both] */
static uint64_t hist_n[3], late;
static uint64_t sent[2], received[2]; /* [0: A->B, 1: B->A] */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int udp_socket(struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int big = 32 << 20;
    /* FORCE variants need CAP_NET_ADMIN; the plain ones are capped by rmem_max/wmem_max. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    *bound = a;
    return fd;
}

/* ---- ng over UDP: bencode written by hand, the reply searched for what we need ---- */

static int ng_fd;
static unsigned ng_cookie;

static size_t ben_str(char *out, size_t cap, const char *s, size_t len)
{
    int n = snprintf(out, cap, "%zu:", len);
    if (n < 0 || (size_t)n + len >= cap) {
        return 0;
    }
    memcpy(out + n, s, len);
    return (size_t)n + len;
}

/* Sends "cookie d<pairs>e" (keys already sorted by the caller) and waits for the reply. */
static int ng_request(const char *const *kv, size_t pairs, char *reply, size_t cap,
                      size_t *reply_len)
{
    static char req[NG_REPLY_MAX];
    char cookie[32];
    snprintf(cookie, sizeof cookie, "rl%u", ++ng_cookie);
    size_t len = (size_t)snprintf(req, sizeof req, "%s d", cookie);
    for (size_t i = 0; i < 2 * pairs; i++) {
        size_t n = ben_str(req + len, sizeof req - len, kv[i], strlen(kv[i]));
        if (n == 0) {
            return -1;
        }
        len += n;
    }
    req[len++] = 'e';
    for (int attempt = 0; attempt < 5; attempt++) {
        if (send(ng_fd, req, len, 0) != (ssize_t)len) {
            return -1;
        }
        struct pollfd p = {.fd = ng_fd, .events = POLLIN};
        while (poll(&p, 1, 2000) == 1) {
            ssize_t n = recv(ng_fd, reply, cap - 1, 0);
            if (n <= 0) {
                break;
            }
            size_t cl = strlen(cookie);
            if ((size_t)n > cl && memcmp(reply, cookie, cl) == 0 && reply[cl] == ' ') {
                reply[n] = '\0';
                *reply_len = (size_t)n;
                return 0;
            }
        }
    }
    return -1;
}

/* Finds the string value of key in a flat reply dict (good enough for "sdp" and "result"). */
static const char *ben_find(const char *reply, size_t len, const char *key, size_t *vlen)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "%zu:%s", strlen(key), key);
    const char *end = reply + len;
    for (const char *p = reply; p + pl < end; p++) {
        if (memcmp(p, pat, (size_t)pl) != 0) {
            continue;
        }
        char *colon = NULL;
        unsigned long n = strtoul(p + pl, &colon, 10);
        if (colon == NULL || *colon != ':' || colon + 1 + n > end) {
            return NULL;
        }
        *vlen = n;
        return colon + 1;
    }
    return NULL;
}

static dsrtp_sdp *ng_sdp(const char *const *kv, size_t pairs, const char *what)
{
    static char reply[NG_REPLY_MAX];
    size_t len = 0;
    if (ng_request(kv, pairs, reply, sizeof reply, &len) != 0) {
        fprintf(stderr, "relay_load: no reply to the %s\n", what);
        return NULL;
    }
    size_t sl = 0;
    const char *sdp = ben_find(reply, len, "sdp", &sl);
    dsrtp_sdp *d = NULL;
    if (sdp == NULL || dsrtp_sdp_parse(sdp, sl, &d, NULL) != DSRTP_OK) {
        size_t el = 0;
        const char *e = ben_find(reply, len, "error-reason", &el);
        fprintf(stderr, "relay_load: %s refused: %.*s\n", what, e != NULL ? (int)el : 0,
                e != NULL ? e : "");
        return NULL;
    }
    return d;
}

/* ---- setup ---- */

static int setup_call(size_t i, const dsrtp_cert *cert, const char *fp_text, uint16_t port_a,
                      uint16_t port_b)
{
    call *c = &calls[i];
    char callid[32];
    char offer[1024];
    char answer[512];
    snprintf(callid, sizeof callid, "load-%zu-%d", i, (int)getpid());
    snprintf(offer, sizeof offer,
             "v=0\r\no=- %zu 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %u UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n"
             "a=fingerprint:%s\r\na=setup:actpass\r\na=rtcp-mux\r\na=sendrecv\r\n",
             i + 1, port_a, fp_text);
    const char *o[] = {"DTLS", "off", "ICE", "remove", "call-id", callid, "command", "offer",
                       "from-tag", "a", "sdp", offer, "transport-protocol", "RTP/AVP"};
    dsrtp_sdp *bo = ng_sdp(o, 7, "offer");
    if (bo == NULL) {
        return -1;
    }
    c->gw_b = dsrtp_sdp_get_media(bo, 0)->port;
    dsrtp_sdp_free(bo);
    snprintf(answer, sizeof answer,
             "v=0\r\no=- %zu 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\na=sendrecv\r\n",
             i + 1, port_b);
    const char *a[] = {"call-id", callid, "command", "answer", "from-tag", "a",
                       "sdp",     answer, "to-tag",  "b"};
    dsrtp_sdp *aa = ng_sdp(a, 5, "answer");
    if (aa == NULL) {
        return -1;
    }
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(aa, 0);
    dsrtp_session_cfg cfg;
    dsrtp_session_cfg_init(&cfg);
    cfg.keying = DSRTP_KEYING_DTLS;
    cfg.cert = cert;
    cfg.ice = false;
    cfg.remote.has_addr = true;
    dsrtp_addr ga = {.family = 4, .port = m->port, .ip = {127, 0, 0, 1}};
    cfg.remote.addr = ga;
    cfg.remote.dtls_role = m->setup == DSRTP_SDP_SETUP_ACTIVE ? DSRTP_DTLS_SERVER
                                                              : DSRTP_DTLS_CLIENT;
    size_t nfp = m->fingerprint_count < DSRTP_DTLS_MAX_FINGERPRINTS
                     ? m->fingerprint_count
                     : DSRTP_DTLS_MAX_FINGERPRINTS;
    memcpy(cfg.remote.fingerprints, m->fingerprints, nfp * sizeof m->fingerprints[0]);
    cfg.remote.fingerprint_count = nfp;
    c->gw_a = m->port;
    dsrtp_sdp_free(aa);
    if (dsrtp_session_new(&cfg, &c->s) != DSRTP_OK) {
        fprintf(stderr, "relay_load: cannot create session %zu\n", i);
        return -1;
    }
    by_port[c->gw_a] = (int32_t)i + 1;
    by_port[c->gw_b] = (int32_t)i + 1;
    return 0;
}

static int fd_a, fd_b;
static struct sockaddr_in addr_a, addr_b;
static uint8_t rxbuf[BATCH][PKT_CAP];
static uint8_t txbuf[2][BATCH][PKT_CAP];

static void to_sin(const dsrtp_addr *a, struct sockaddr_in *s)
{
    memset(s, 0, sizeof *s);
    s->sin_family = AF_INET;
    s->sin_port = htons(a->port);
    memcpy(&s->sin_addr, a->ip, 4);
}

/* Sends what a session has queued (handshake flights) and notes when it is ready. */
static dsrtp_time flush(call *c)
{
    for (;;) {
        dsrtp_session_output out;
        uint8_t buf[PKT_CAP];
        if (dsrtp_session_poll_output(c->s, buf, sizeof buf, &out) != DSRTP_OK) {
            return DSRTP_TIME_NEVER;
        }
        if (out.kind == DSRTP_OUT_IDLE) {
            return out.deadline;
        }
        if (out.kind == DSRTP_OUT_DATAGRAM) {
            struct sockaddr_in to;
            to_sin(&out.to, &to);
            (void)sendto(fd_a, buf, out.len, 0, (struct sockaddr *)&to, sizeof to);
        } else if (out.event.kind == DSRTP_SESSION_EV_KEYS_READY) {
            c->ready = true;
        } else if (out.event.kind == DSRTP_SESSION_EV_FAILED) {
            fprintf(stderr, "relay_load: handshake failed: %s\n", out.event.detail);
        }
    }
}

static void on_media(const uint8_t *p, size_t len, int dir);

/* Receives on side A: DTLS during setup, SRTP during the media phase. */
static void drain_a(void)
{
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in src[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){rxbuf[i], PKT_CAP};
            m[i].msg_hdr = (struct msghdr){.msg_name = &src[i], .msg_namelen = sizeof src[i],
                                           .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(fd_a, m, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            return;
        }
        dsrtp_time now = dsrtp_io_now();
        for (int i = 0; i < n; i++) {
            int32_t idx = by_port[ntohs(src[i].sin_port)];
            if (idx == 0) {
                continue;
            }
            call *c = &calls[idx - 1];
            dsrtp_addr from = {.family = 4, .port = ntohs(src[i].sin_port)};
            memcpy(from.ip, &src[i].sin_addr, 4);
            dsrtp_input in;
            dsrtp_err err = dsrtp_session_handle_datagram(c->s, now, &from, rxbuf[i],
                                                          m[i].msg_len, &in);
            if (err == DSRTP_OK && in.kind == DSRTP_INPUT_RTP) {
                on_media(rxbuf[i], in.len, 1);
            } else if (!c->ready || in.kind == DSRTP_INPUT_CONSUMED) {
                (void)flush(c);
            }
        }
        if (n < BATCH) {
            return;
        }
    }
}

static void drain_b(void)
{
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){rxbuf[i], PKT_CAP};
            m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(fd_b, m, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            on_media(rxbuf[i], m[i].msg_len, 0);
        }
        if (n < BATCH) {
            return;
        }
    }
}

static uint64_t count_from_ns, count_until_ns; /* send times of the packets counted */

static void on_media(const uint8_t *p, size_t len, int dir)
{
    if (len < RTP_HDR + 8) {
        return;
    }
    uint64_t t = 0;
    memcpy(&t, p + RTP_HDR, 8);
    if (t < count_from_ns || t >= count_until_ns) {
        return;
    }
    received[dir]++;
    uint64_t d = (now_ns() - t) / 1000u;
    if (d >= HIST_US) {
        late++;
        d = HIST_US - 1;
    }
    hist[dir][d]++;
    hist[2][d]++;
    hist_n[dir]++;
    hist_n[2]++;
}

static int handshake_all(double limit_s)
{
    uint64_t end = now_ns() + (uint64_t)(limit_s * 1e9);
    dsrtp_time now = dsrtp_io_now();
    for (size_t i = 0; i < ncalls; i++) {
        if (dsrtp_session_start(calls[i].s, now) != DSRTP_OK) {
            return -1;
        }
        (void)flush(&calls[i]);
        if (i % 64 == 63) {
            drain_a(); /* keep the socket from overflowing while the rest start */
        }
    }
    for (;;) {
        struct pollfd p = {.fd = fd_a, .events = POLLIN};
        (void)poll(&p, 1, 5);
        drain_a();
        now = dsrtp_io_now();
        size_t ready = 0;
        for (size_t i = 0; i < ncalls; i++) {
            call *c = &calls[i];
            if (c->ready) {
                ready++;
                continue;
            }
            if (dsrtp_session_next_deadline(c->s) <= now) {
                dsrtp_err err = dsrtp_session_handle_timeout(c->s, now);
                (void)err; /* a fatal one comes out of flush as a FAILED event */
                (void)flush(c);
            }
        }
        if (ready == ncalls) {
            return 0;
        }
        if (now_ns() > end) {
            fprintf(stderr, "relay_load: %zu of %zu handshakes done in %.0f s\n", ready, ncalls,
                    limit_s);
            return -1;
        }
    }
}

/* ---- media ---- */

static size_t payload_size = 160;

static size_t make_rtp(uint8_t *p, uint16_t seq, uint32_t ssrc, uint64_t t)
{
    p[0] = 0x80;
    p[1] = 0; /* PCMU */
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    uint32_t ts = (uint32_t)seq * 160u;
    p[4] = (uint8_t)(ts >> 24);
    p[5] = (uint8_t)(ts >> 16);
    p[6] = (uint8_t)(ts >> 8);
    p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24);
    p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8);
    p[11] = (uint8_t)ssrc;
    memset(p + RTP_HDR, 0xff, payload_size);
    memcpy(p + RTP_HDR, &t, 8);
    return RTP_HDR + payload_size;
}

/* Sends one packet each way for calls [first, last). */
static void send_slot(size_t first, size_t last)
{
    struct mmsghdr ma[BATCH], mb[BATCH];
    struct iovec ia[BATCH], ib[BATCH];
    struct sockaddr_in da[BATCH], db[BATCH];
    size_t i = first;
    while (i < last) {
        unsigned na = 0, nb = 0;
        for (; i < last && na < BATCH; i++) {
            call *c = &calls[i];
            uint64_t t = now_ns();
            bool counted = t >= count_from_ns && t < count_until_ns;
            /* A -> gateway: SRTP through A's session */
            uint8_t *pa = txbuf[0][na];
            size_t len = make_rtp(pa, c->seq_a++, 0x10000000u + (uint32_t)i, t);
            size_t out_len = 0;
            dsrtp_addr to;
            if (dsrtp_session_protect(c->s, false, pa, len, PKT_CAP, &out_len, &to) ==
                DSRTP_OK) {
                to_sin(&to, &da[na]);
                ia[na] = (struct iovec){pa, out_len};
                ma[na].msg_hdr = (struct msghdr){.msg_name = &da[na],
                                                 .msg_namelen = sizeof da[na],
                                                 .msg_iov = &ia[na], .msg_iovlen = 1};
                na++;
                sent[0] += counted;
            }
            /* B -> gateway: plain RTP to the gateway's B leg */
            uint8_t *pb = txbuf[1][nb];
            len = make_rtp(pb, c->seq_b++, 0x20000000u + (uint32_t)i, t);
            db[nb] = (struct sockaddr_in){.sin_family = AF_INET,
                                          .sin_port = htons(c->gw_b),
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            ib[nb] = (struct iovec){pb, len};
            mb[nb].msg_hdr = (struct msghdr){.msg_name = &db[nb], .msg_namelen = sizeof db[nb],
                                             .msg_iov = &ib[nb], .msg_iovlen = 1};
            nb++;
            sent[1] += counted;
        }
        for (unsigned off = 0; off < na;) {
            int r = sendmmsg(fd_a, ma + off, na - off, 0);
            off += r > 0 ? (unsigned)r : 1;
        }
        for (unsigned off = 0; off < nb;) {
            int r = sendmmsg(fd_b, mb + off, nb - off, 0);
            off += r > 0 ? (unsigned)r : 1;
        }
    }
}

static void wait_until(uint64_t t)
{
    for (;;) {
        uint64_t now = now_ns();
        if (now >= t) {
            return;
        }
        struct pollfd p[2] = {{.fd = fd_a, .events = POLLIN}, {.fd = fd_b, .events = POLLIN}};
        struct timespec ts = {.tv_sec = (time_t)((t - now) / 1000000000u),
                              .tv_nsec = (long)((t - now) % 1000000000u)};
        if (ppoll(p, 2, &ts, NULL) > 0) {
            drain_b();
            drain_a();
        }
    }
}

/* Runs the media phase: `seconds` of warm-up-free load, then a short drain. */
static void media(double seconds, unsigned rate, unsigned slot_us)
{
    uint64_t interval = 1000000000u / rate;
    uint64_t slot = (uint64_t)slot_us * 1000u;
    size_t slots = (size_t)(interval / slot);
    if (slots == 0) {
        slots = 1;
    }
    uint64_t start = now_ns() + 10000000u;
    uint64_t end = start + (uint64_t)(seconds * 1e9);
    /* warm-up: one interval not counted (first packets may meet cold caches) */
    uint64_t t = start;
    uint64_t count_from = start + interval;
    count_from_ns = count_from;
    count_until_ns = end;
    for (size_t k = 0; t < end; k++) {
        t = start + k * slot;
        size_t s = k % slots;
        wait_until(t);
        size_t first = ncalls * s / slots;
        size_t last = ncalls * (s + 1) / slots;
        send_slot(first, last);
    }
    wait_until(now_ns() + 300000000u); /* late packets */
}

static uint64_t percentile(int h, double q)
{
    uint64_t want = (uint64_t)((double)hist_n[h] * q);
    uint64_t acc = 0;
    for (uint64_t i = 0; i < HIST_US; i++) {
        acc += hist[h][i];
        if (acc > want) {
            return i;
        }
    }
    return HIST_US;
}

static long rss_kib(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            v = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return v;
}

static int usage(void)
{
    fprintf(stderr, "usage: relay_load --ng ADDR:PORT --calls N [--seconds S] [--rate PPS]\n"
                    "                  [--size BYTES] [--slot-us US] [--pid DSRTPD_PID]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *ng = NULL;
    double seconds = 5;
    unsigned rate = 50, slot_us = 200;
    int pid = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            return usage();
        }
        if (strcmp(argv[i], "--ng") == 0) {
            ng = v;
        } else if (strcmp(argv[i], "--calls") == 0) {
            ncalls = strtoul(v, NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = strtod(v, NULL);
        } else if (strcmp(argv[i], "--rate") == 0) {
            rate = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(argv[i], "--size") == 0) {
            payload_size = strtoul(v, NULL, 10);
        } else if (strcmp(argv[i], "--slot-us") == 0) {
            slot_us = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(argv[i], "--pid") == 0) {
            pid = atoi(v);
        } else {
            return usage();
        }
        i++;
    }
    dsrtp_addr ng_addr;
    if (ng == NULL || ncalls == 0 || ncalls > 30000 || rate == 0 || slot_us == 0 ||
        payload_size < 8 || payload_size > 1200 ||
        dsrtp_addr_parse(ng, strlen(ng), &ng_addr) != DSRTP_OK || ng_addr.family != 4) {
        return usage();
    }
    calls = calloc(ncalls, sizeof *calls);
    for (int h = 0; h < 3; h++) {
        hist[h] = calloc(HIST_US, sizeof *hist[h]);
        if (hist[h] == NULL) {
            return 1;
        }
    }
    fd_a = udp_socket(&addr_a);
    fd_b = udp_socket(&addr_b);
    ng_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in ngs;
    to_sin(&ng_addr, &ngs);
    if (calls == NULL || fd_a < 0 || fd_b < 0 || ng_fd < 0 ||
        connect(ng_fd, (struct sockaddr *)&ngs, sizeof ngs) != 0) {
        fprintf(stderr, "relay_load: setup: %s\n", strerror(errno));
        return 1;
    }
    dsrtp_cert *cert = NULL;
    dsrtp_fingerprint fp;
    char fp_text[DSRTP_FINGERPRINT_TEXT_MAX];
    if (dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert) != DSRTP_OK ||
        dsrtp_cert_fingerprint(cert, DSRTP_HASH_SHA256, &fp) != DSRTP_OK ||
        dsrtp_fingerprint_format(&fp, fp_text, sizeof fp_text) != DSRTP_OK) {
        fprintf(stderr, "relay_load: cannot make a certificate\n");
        return 1;
    }
    long rss0 = pid > 0 ? rss_kib(pid) : -1;
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < ncalls; i++) {
        if (setup_call(i, cert, fp_text, ntohs(addr_a.sin_port), ntohs(addr_b.sin_port)) != 0) {
            fprintf(stderr, "relay_load: call %zu could not be set up\n", i);
            return 1;
        }
    }
    double ng_s = (double)(now_ns() - t0) / 1e9;
    uint64_t t1 = now_ns();
    if (handshake_all(60) != 0) {
        return 1;
    }
    double dtls_s = (double)(now_ns() - t1) / 1e9;
    media(seconds, rate, slot_us);
    long rss1 = pid > 0 ? rss_kib(pid) : -1;
    uint64_t got = received[0] + received[1];
    uint64_t out = sent[0] + sent[1];
    double loss = out > 0 ? 100.0 * (double)(out - (got < out ? got : out)) / (double)out : 0;
    double counted_s = seconds - 1.0 / rate;
    printf("calls=%zu seconds=%.1f sent=%llu received=%llu loss_pct=%.4f pps_relayed=%.0f "
           "lat_p50_us=%llu lat_p99_us=%llu lat_p999_us=%llu late_over_1s=%llu "
           "rss_kib_per_call=%.2f setup_ng_s=%.2f setup_dtls_s=%.2f "
           "a_to_b_p50_us=%llu a_to_b_p99_us=%llu b_to_a_p50_us=%llu b_to_a_p99_us=%llu "
           "srtp_profile=%s\n",
           ncalls, seconds, (unsigned long long)out, (unsigned long long)got, loss,
           (double)got / counted_s, (unsigned long long)percentile(2, 0.5),
           (unsigned long long)percentile(2, 0.99), (unsigned long long)percentile(2, 0.999),
           (unsigned long long)late,
           rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) / (double)ncalls : -1.0, ng_s,
           dtls_s, (unsigned long long)percentile(0, 0.5),
           (unsigned long long)percentile(0, 0.99), (unsigned long long)percentile(1, 0.5),
           (unsigned long long)percentile(1, 0.99),
           dsrtp_profile_name(dsrtp_session_get_profile(calls[0].s)));
    for (size_t i = 0; i < ncalls; i++) {
        dsrtp_session_free(calls[i].s);
    }
    dsrtp_cert_free(cert);
    free(calls);
    for (int h = 0; h < 3; h++) {
        free(hist[h]);
    }
    return 0;
}
