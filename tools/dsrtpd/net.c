/* UDP sockets for the gateway's legs and control port, and the structured log.
 * Sockets are non-blocking and registered with the worker's epoll set by the caller. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw.h"

int gw_to_sockaddr(const dsrtp_addr *a, void *ss, unsigned *sslen)
{
    if (a->family == 4) {
        struct sockaddr_in *s4 = ss;
        memset(s4, 0, sizeof *s4);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        *sslen = sizeof *s4;
        return 0;
    }
    if (a->family == 6) {
        struct sockaddr_in6 *s6 = ss;
        memset(s6, 0, sizeof *s6);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        memcpy(&s6->sin6_addr, a->ip, 16);
        *sslen = sizeof *s6;
        return 0;
    }
    return -1;
}

void gw_from_sockaddr(const void *ss, dsrtp_addr *a)
{
    const struct sockaddr_storage *st = ss;
    memset(a, 0, sizeof *a);
    if (st->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = ss;
        a->family = 4;
        a->port = ntohs(s4->sin_port);
        memcpy(a->ip, &s4->sin_addr, 4);
    } else if (st->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = ss;
        a->family = 6;
        a->port = ntohs(s6->sin6_port);
        memcpy(a->ip, &s6->sin6_addr, 16);
    }
}

void gw_addr_ip(const dsrtp_addr *a, char *out, size_t cap)
{
    if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, out, (socklen_t)cap) == NULL) {
        snprintf(out, cap, "0.0.0.0");
    }
}

int gw_udp_bind(const dsrtp_addr *a, int *fd)
{
    struct sockaddr_storage ss;
    unsigned len = 0;
    if (gw_to_sockaddr(a, &ss, &len) != 0) {
        return -1;
    }
    int s = socket(a->family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   0);
    if (s < 0) {
        return -1;
    }
    if (bind(s, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    *fd = s;
    return 0;
}

int gw_sendto(int fd, const dsrtp_addr *to, const uint8_t *buf, size_t len)
{
    struct sockaddr_storage ss;
    unsigned sl = 0;
    if (gw_to_sockaddr(to, &ss, &sl) != 0) {
        return -1;
    }
    return sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl) == (ssize_t)len ? 0 : -1;
}

/* ---- log: one line per event, key=value after the message; never key material ---- */

static FILE *log_file;
static const char *log_path;
static bool log_verbose; /* set once at startup, before any other thread exists */

void gw_log_set_verbose(bool on)
{
    log_verbose = on;
}

void gw_addr_log(const dsrtp_addr *a, char *out, size_t cap)
{
    if (log_verbose) {
        char ip[64];
        gw_addr_ip(a, ip, sizeof ip);
        snprintf(out, cap, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, a->port);
    } else if (a->family == 6) {
        /* the /48 stays (the network); the rest says which subscriber */
        snprintf(out, cap, "[%x:%x:%x::x]:%u", (unsigned)(a->ip[0] << 8 | a->ip[1]),
                 (unsigned)(a->ip[2] << 8 | a->ip[3]), (unsigned)(a->ip[4] << 8 | a->ip[5]),
                 a->port);
    } else if (a->family == 4) {
        snprintf(out, cap, "%u.%u.%u.x:%u", a->ip[0], a->ip[1], a->ip[2], a->port);
    } else {
        snprintf(out, cap, "unknown");
    }
}

int gw_log_open(const char *path)
{
    if (path != NULL) {
        log_path = path;
    }
    if (log_path == NULL) {
        log_file = NULL;
        return 0;
    }
    FILE *f = fopen(log_path, "a");
    if (f == NULL) {
        return -1;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    if (log_file != NULL) {
        fclose(log_file);
    }
    log_file = f;
    return 0;
}

void gw_log(const char *level, const char *fmt, ...)
{
    FILE *f = log_file != NULL ? log_file : stderr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    flockfile(f); /* one whole line at a time: workers and the control thread all log */
    fprintf(f, "ts=%s.%03ldZ level=%s ", when, ts.tv_nsec / 1000000L, level);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
    funlockfile(f);
}
