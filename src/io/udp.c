/* The Linux UDP runner: socket, epoll wait, monotonic clock, session drain loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <dsrtp/io.h>

#include "util/util_int.h"

struct dsrtp_udp {
    int fd;
    int ep;
    int family;
};

static socklen_t to_sockaddr(const dsrtp_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        return sizeof *s4;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a->port);
    memcpy(&s6->sin6_addr, a->ip, 16);
    return sizeof *s6;
}

static bool from_sockaddr(const struct sockaddr_storage *ss, dsrtp_addr *a)
{
    *a = (dsrtp_addr){0};
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        a->family = 4;
        a->port = ntohs(s4->sin_port);
        memcpy(a->ip, &s4->sin_addr, 4);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        a->family = 6;
        a->port = ntohs(s6->sin6_port);
        memcpy(a->ip, &s6->sin6_addr, 16);
        return true;
    }
    return false;
}

dsrtp_err dsrtp_udp_open(const dsrtp_addr *addr, dsrtp_udp **out)
{
    DSRTP_CHECK(addr != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(addr->family == 4 || addr->family == 6, DSRTP_ERR_INVALID_ARG);
    dsrtp_udp *u = calloc(1, sizeof *u);
    DSRTP_CHECK(u != NULL, DSRTP_ERR_NO_MEMORY);
    u->family = addr->family;
    u->fd = socket(addr->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    u->ep = epoll_create1(0);
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(addr, &ss);
    struct epoll_event ev = {.events = EPOLLIN};
    if (u->fd < 0 || u->ep < 0 || bind(u->fd, (struct sockaddr *)&ss, sl) != 0 ||
        epoll_ctl(u->ep, EPOLL_CTL_ADD, u->fd, &ev) != 0) {
        int saved = errno;
        dsrtp_udp_close(u);
        errno = saved;
        return DSRTP_ERR_CLOSED;
    }
    *out = u;
    return DSRTP_OK;
}

void dsrtp_udp_close(dsrtp_udp *u)
{
    if (u == NULL) {
        return;
    }
    if (u->fd >= 0) {
        close(u->fd);
    }
    if (u->ep >= 0) {
        close(u->ep);
    }
    free(u);
}

dsrtp_err dsrtp_udp_local_addr(const dsrtp_udp *u, dsrtp_addr *out)
{
    DSRTP_CHECK(u != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    DSRTP_CHECK(getsockname(u->fd, (struct sockaddr *)&ss, &sl) == 0, DSRTP_ERR_CLOSED);
    DSRTP_CHECK(from_sockaddr(&ss, out), DSRTP_ERR_CLOSED);
    return DSRTP_OK;
}

dsrtp_err dsrtp_udp_send(dsrtp_udp *u, const dsrtp_addr *to, const uint8_t *buf, size_t len)
{
    DSRTP_CHECK(u != NULL && to != NULL && buf != NULL, DSRTP_ERR_INVALID_ARG);
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(to, &ss);
    ssize_t n = sendto(u->fd, buf, len, 0, (struct sockaddr *)&ss, sl);
    DSRTP_CHECK(n >= 0 && (size_t)n == len, DSRTP_ERR_CLOSED);
    return DSRTP_OK;
}

dsrtp_err dsrtp_udp_recv(dsrtp_udp *u, uint8_t *buf, size_t cap, size_t *len, dsrtp_addr *from)
{
    DSRTP_CHECK(u != NULL && buf != NULL && len != NULL && from != NULL, DSRTP_ERR_INVALID_ARG);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ssize_t n = recvfrom(u->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? DSRTP_ERR_NOT_READY : DSRTP_ERR_CLOSED;
    }
    DSRTP_CHECK((size_t)n <= cap, DSRTP_ERR_BUFFER_TOO_SMALL);
    DSRTP_CHECK(from_sockaddr(&ss, from), DSRTP_ERR_MALFORMED);
    *len = (size_t)n;
    return DSRTP_OK;
}

dsrtp_time dsrtp_io_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (dsrtp_time)ts.tv_sec * 1000000u + (dsrtp_time)ts.tv_nsec / 1000u;
}

void dsrtp_udp_wait(dsrtp_udp *u, dsrtp_time deadline)
{
    dsrtp_time now = dsrtp_io_now();
    int ms = 1000;
    if (deadline != DSRTP_TIME_NEVER) {
        /* Round up so the wake-up is never early and never spins. */
        dsrtp_time left = deadline > now ? deadline - now : 0;
        ms = left >= 1000000u ? 1000 : (int)((left + 999) / 1000);
    }
    struct epoll_event ev;
    (void)epoll_wait(u->ep, &ev, 1, ms);
}

dsrtp_time dsrtp_io_flush(dsrtp_udp *u, dsrtp_session *s,
                          void (*on_event)(void *arg, const dsrtp_session_event *e), void *arg,
                          dsrtp_err *err)
{
    uint8_t buf[2048];
    dsrtp_session_output out;
    for (;;) {
        dsrtp_err e = dsrtp_session_poll_output(s, buf, sizeof buf, &out);
        if (e != DSRTP_OK) {
            if (err != NULL) {
                *err = e;
            }
            return DSRTP_TIME_NEVER;
        }
        if (out.kind == DSRTP_OUT_IDLE) {
            return out.deadline;
        }
        if (out.kind == DSRTP_OUT_EVENT) {
            if (on_event != NULL) {
                on_event(arg, &out.event);
            }
            continue;
        }
        /* A refused send is a lost datagram: retransmission or the next packet covers it. */
        dsrtp_err send_err = dsrtp_udp_send(u, &out.to, buf, out.len);
        (void)send_err;
    }
}
