/* ng over TCP, on the same address as the UDP control port. rtpengine's TCP framing is no
 * framing at all: requests follow each other on the stream, each "<cookie> <bencoded dict>",
 * and a request ends where its dict ends. So each connection buffers input (at most
 * NG_TCP_BUF bytes), finds the cookie's space, then measures the dict with the resumable
 * bencode scanner; a complete request goes to gw_ng_request like a UDP datagram, and the
 * reply goes back on the same stream.
 *
 * Bounds: NG_TCP_MAX_CONNS connections (more are accepted and closed at once), one input
 * buffer each, and at most one reply waiting for the socket to drain: while a reply is
 * pending the connection is not read, so a client that never reads cannot grow our memory.
 * A request that does not frame (bad cookie, not bencode, not a dict, larger than the
 * buffer) gets an error reply when it had a cookie, and the connection is closed: after a
 * framing error nothing later on the stream can be trusted.
 *
 * Everything is non-blocking. The listener and the connections sit in an epoll set of their
 * own, which is itself one entry in the main loop's epoll set. Main thread only. */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dsrtp/util.h>

#include "gw.h"
#include "ng.h"

#define NG_TCP_BUF 65536     /* bytes of one request, cookie included */
#define NG_TCP_MAX_CONNS 64
#define NG_TCP_BACKLOG 64

typedef struct ng_conn {
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint8_t *in; /* NG_TCP_BUF bytes */
    size_t in_len;
    size_t body; /* offset of the dict once the cookie's space was seen; 0 before */
    dsrtpd_ben_scan scan;
    uint8_t *out; /* the unsent rest of a reply, or NULL */
    size_t out_len, out_off;
    bool closing; /* close once the pending reply is out */
    bool dead;    /* close now */
} ng_conn;

static int tcp_ep = -1;
static int listen_fd = -1;
static ng_conn *conns[NG_TCP_MAX_CONNS];
static size_t conn_count;

static void conn_free(ng_conn *c)
{
    (void)epoll_ctl(tcp_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->out != NULL) {
        /* replies may hold SDES keys */
        dsrtp_secure_wipe(c->out, c->out_len);
        free(c->out);
    }
    dsrtp_secure_wipe(c->in, NG_TCP_BUF); /* requests may hold SDES keys too */
    free(c->in);
    for (size_t i = 0; i < NG_TCP_MAX_CONNS; i++) {
        if (conns[i] == c) {
            conns[i] = NULL;
        }
    }
    conn_count--;
    free(c);
}

static void conn_watch(ng_conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(tcp_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        c->dead = true;
    }
}

/* gw_ng_send_fn: writes what the socket takes now and keeps the rest for EPOLLOUT. */
static void conn_send(void *ctx, const uint8_t *p, size_t len)
{
    ng_conn *c = ctx;
    if (c->dead || c->out != NULL) {
        return; /* one reply at a time: the reader never asks for a second one */
    }
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c->dead = true;
        return;
    }
    size_t sent = n > 0 ? (size_t)n : 0;
    if (sent == len) {
        return;
    }
    c->out = malloc(len - sent);
    if (c->out == NULL) {
        c->dead = true;
        return;
    }
    memcpy(c->out, p + sent, len - sent);
    c->out_len = len - sent;
    c->out_off = 0;
    conn_watch(c, EPOLLOUT);
}

static bool cookie_ok(const uint8_t *p, size_t len)
{
    if (len == 0 || len > DSRTPD_NG_MAX_COOKIE) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '!' || p[i] > '~') {
            return false;
        }
    }
    return true;
}

/* A framing error: an error reply if there is a cookie to answer to, then close. */
static const char *peer_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    dsrtp_addr a;
    gw_from_sockaddr(ss, &a);
    gw_addr_log(&a, out, cap);
    return out;
}

static void conn_refuse(ng_conn *c, const char *why)
{
    uint8_t buf[DSRTPD_NG_MAX_COOKIE + 128];
    size_t len = 0;
    size_t cookie_len = c->body > 0 ? c->body - 1 : 0;
    char from[80];
    gw_log("warn", "msg=\"ng tcp request refused, closing\" reason=\"%s\" from=%s", why,
           peer_text(&c->peer, from, sizeof from));
    if (cookie_ok(c->in, cookie_len) &&
        dsrtpd_ng_reply_error(buf, sizeof buf, (dsrtpd_ng_str){c->in, cookie_len}, why,
                              &len) == DSRTP_OK) {
        conn_send(c, buf, len);
    }
    c->closing = true;
    c->in_len = 0;
}

static void conn_consume(ng_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    c->body = 0;
    c->scan = (dsrtpd_ben_scan){0};
}

/* Acts on every complete request in the buffer, stopping while a reply is pending. */
static void conn_process(gw *g, ng_conn *c)
{
    while (!c->dead && !c->closing && c->out == NULL) {
        if (c->body == 0) {
            /* Line breaks between requests are tolerated, as after a UDP request. */
            size_t skip = 0;
            while (skip < c->in_len && (c->in[skip] == '\r' || c->in[skip] == '\n')) {
                skip++;
            }
            conn_consume(c, skip);
            size_t look = c->in_len < DSRTPD_NG_MAX_COOKIE + 1 ? c->in_len
                                                                : DSRTPD_NG_MAX_COOKIE + 1;
            const uint8_t *sp = memchr(c->in, ' ', look);
            if (sp == NULL) {
                if (c->in_len > DSRTPD_NG_MAX_COOKIE) {
                    conn_refuse(c, "missing or invalid cookie");
                }
                return;
            }
            c->body = (size_t)(sp - c->in) + 1;
            if (!cookie_ok(c->in, c->body - 1)) {
                c->body = 0;
                conn_refuse(c, "missing or invalid cookie");
                return;
            }
        }
        if (c->in_len == c->body) {
            return;
        }
        if (c->in[c->body] != 'd') {
            conn_refuse(c, "request is not a bencoded dictionary");
            return;
        }
        size_t dict_len = 0;
        dsrtp_err err = dsrtpd_ben_scan_feed(&c->scan, c->in + c->body, c->in_len - c->body,
                                             &dict_len);
        if (err == DSRTP_ERR_BUFFER_TOO_SMALL) {
            if (c->in_len == NG_TCP_BUF) {
                conn_refuse(c, "request too large");
            }
            return;
        }
        if (err != DSRTP_OK) {
            conn_refuse(c, "malformed bencode");
            return;
        }
        size_t n = c->body + dict_len;
        gw_ng_request(g, c->in, n, &c->peer, c->peer_len, conn_send, c);
        dsrtp_secure_wipe(c->in, n);
        conn_consume(c, n);
    }
}

static void conn_readable(gw *g, ng_conn *c)
{
    /* a bounded number of reads per wakeup, so one busy client cannot hold the loop */
    for (int budget = 0; budget < 16 && !c->dead && !c->closing && c->out == NULL; budget++) {
        if (c->in_len == NG_TCP_BUF) {
            conn_process(g, c); /* only reached when a full buffer holds no request */
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, NG_TCP_BUF - c->in_len, MSG_DONTWAIT);
        if (n == 0) {
            /* The peer is done sending: finish the reply in flight, drop a partial request. */
            c->closing = true;
            c->in_len = 0;
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                c->dead = true;
            }
            return;
        }
        c->in_len += (size_t)n;
        conn_process(g, c);
    }
}

static void conn_writable(gw *g, ng_conn *c)
{
    while (c->out != NULL) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                c->dead = true;
            }
            return;
        }
        c->out_off += (size_t)n;
        if (c->out_off == c->out_len) {
            dsrtp_secure_wipe(c->out, c->out_len);
            free(c->out);
            c->out = NULL;
        }
    }
    if (!c->closing) {
        conn_watch(c, EPOLLIN);
        conn_process(g, c); /* requests that arrived while the reply was pending */
    }
}

static void accept_all(void)
{
    for (int budget = 0; budget < 32; budget++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        ng_conn *c = NULL;
        size_t slot = 0;
        while (slot < NG_TCP_MAX_CONNS && conns[slot] != NULL) {
            slot++;
        }
        if (slot < NG_TCP_MAX_CONNS) {
            c = calloc(1, sizeof *c);
        }
        if (c != NULL) {
            c->in = malloc(NG_TCP_BUF);
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (c == NULL || c->in == NULL || epoll_ctl(tcp_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            char from[80];
            gw_log("warn", "msg=\"ng tcp connection refused\" connections=%zu from=%s",
                   conn_count, peer_text(&ss, from, sizeof from));
            if (c != NULL) {
                free(c->in);
            }
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->peer = ss;
        c->peer_len = sl;
        conns[slot] = c;
        conn_count++;
    }
}

int gw_ng_tcp_open(gw *g, const dsrtp_addr *a, void *tag)
{
    struct sockaddr_storage ss;
    unsigned sl = 0;
    if (gw_to_sockaddr(a, &ss, &sl) != 0) {
        return -1;
    }
    listen_fd = socket(a->family == 6 ? AF_INET6 : AF_INET,
                       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    tcp_ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = tag};
    if (listen_fd < 0 || tcp_ep < 0 ||
        setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(listen_fd, (struct sockaddr *)&ss, sl) != 0 ||
        listen(listen_fd, NG_TCP_BACKLOG) != 0 ||
        epoll_ctl(tcp_ep, EPOLL_CTL_ADD, listen_fd, &lev) != 0 ||
        epoll_ctl(g->epfd, EPOLL_CTL_ADD, tcp_ep, &tev) != 0) {
        int e = errno;
        gw_ng_tcp_close();
        errno = e;
        return -1;
    }
    return 0;
}

void gw_ng_tcp_readable(gw *g)
{
    struct epoll_event evs[32];
    int n = epoll_wait(tcp_ep, evs, 32, 0);
    for (int i = 0; i < n; i++) {
        ng_conn *c = evs[i].data.ptr;
        if (c == NULL) {
            accept_all();
            continue;
        }
        if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
            c->dead = true; /* reset, or shut both ways: no reply can reach the peer */
        } else if (evs[i].events & EPOLLOUT) {
            conn_writable(g, c);
        } else if (evs[i].events & EPOLLIN) {
            conn_readable(g, c);
        }
        if (c->dead || (c->closing && c->out == NULL)) {
            conn_free(c);
        }
    }
}

void gw_ng_tcp_close(void)
{
    for (size_t i = 0; i < NG_TCP_MAX_CONNS; i++) {
        if (conns[i] != NULL) {
            conn_free(conns[i]);
        }
    }
    if (listen_fd >= 0) {
        close(listen_fd);
    }
    if (tcp_ep >= 0) {
        close(tcp_ep);
    }
    listen_fd = -1;
    tcp_ep = -1;
}
