/* dsrtpd: the WebRTC-to-trunk media gateway, driven over the rtpengine "ng" protocol.
 *
 *   dsrtpd --listen-ng ADDR:PORT --listen-http ADDR:PORT --interface ADDR
 *          --port-min N --port-max N [--timeout SECONDS] [--max-calls N] [--log FILE]
 *          [--workers N] [--io auto|uring|epoll] [--delete-delay SECONDS]
 *          [--max-handshakes N] [--foreground] [--verbose]
 *
 * The main thread runs an epoll loop over the ng socket(s) and a signalfd; --workers
 * threads (default: one per online core) each run a loop over the leg sockets of the calls
 * they own (worker.c; io_uring by default, epoll where the kernel refuses io_uring or --io
 * epoll asks), checking session timers and the media timeout when due. SIGTERM/SIGINT end
 * every call (close_notify on DTLS legs) and exit 0; SIGHUP reopens the log file. The
 * process always stays in the foreground (--foreground is accepted for compatibility). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <dsrtp/io.h>

#include "gw.h"

#define TICK_US 1000000u /* media timeout granularity */

static gw_fd_kind ng_tag = GW_FD_NG;
static gw_fd_kind ng_tcp_tag = GW_FD_NG_TCP;
static gw_fd_kind signal_tag = GW_FD_SIGNAL;

static int usage(void)
{
    fprintf(stderr,
            "usage: dsrtpd --listen-ng ADDR:PORT --listen-http ADDR:PORT\n"
            "              --interface [NAME/]ADDR[!ADVERTISED] [--interface ...]\n"
            "              --port-min N --port-max N [--timeout SECONDS] [--max-calls N]\n"
            "              [--log FILE] [--workers N] [--io auto|uring|epoll]\n"
            "              [--delete-delay SECONDS] [--max-handshakes N] [--foreground]\n"
            "              [--verbose]\n"
            "  --interface             media ports bind to ADDR, SDP names ADVERTISED (or\n"
            "                          ADDR); repeat with NAMEs for ng's direction flag\n"
            "                          (the first is the default, named \"default\" when\n"
            "                          unnamed)\n"
            "  --delete-delay SECONDS  an ng delete without a delete-delay key of its own\n"
            "                          keeps relaying the call that long first (default 0:\n"
            "                          at once); an offer or answer meanwhile revives it\n"
            "  --max-handshakes N      DTLS handshakes each worker runs at once (default %u;\n"
            "                          0: no cap); more legs wait for a free slot\n",
            GW_MAX_HANDSHAKES_DEFAULT);
    return 2;
}

static int parse_port(const char *s, uint16_t *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > 65535) {
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

static int parse_ip(const char *text, size_t len, dsrtp_addr *out)
{
    char buf[80];
    if (len == 0 || len >= 64) {
        return -1;
    }
    snprintf(buf, sizeof buf, memchr(text, ':', len) != NULL ? "[%.*s]:0" : "%.*s:0", (int)len,
             text);
    return dsrtp_addr_parse(buf, strlen(buf), out) == DSRTP_OK ? 0 : -1;
}

/* One --interface [NAME/]ADDR[!ADVERTISED] into c->ifaces: 0, or -1 (said on stderr). */
static int add_interface(gw_config *c, const char *arg)
{
    if (c->iface_count == GW_IFACES_MAX) {
        fprintf(stderr, "dsrtpd: more than %d --interface options\n", GW_IFACES_MAX);
        return -1;
    }
    gw_iface *f = &c->ifaces[c->iface_count];
    const char *slash = strchr(arg, '/');
    const char *addr = slash != NULL ? slash + 1 : arg;
    const char *bang = strchr(addr, '!');
    size_t name_len = slash != NULL ? (size_t)(slash - arg) : 0;
    size_t addr_len = bang != NULL ? (size_t)(bang - addr) : strlen(addr);
    bool name_ok = slash == NULL || (name_len > 0 && name_len < sizeof f->name);
    for (size_t i = 0; name_ok && i < name_len; i++) {
        name_ok = isalnum((unsigned char)arg[i]) || strchr("_.-", arg[i]) != NULL;
    }
    dsrtp_addr adv;
    if (!name_ok || parse_ip(addr, addr_len, &f->bind) != 0 ||
        (bang != NULL && parse_ip(bang + 1, strlen(bang + 1), &adv) != 0)) {
        fprintf(stderr, "dsrtpd: bad --interface '%s' (want [NAME/]ADDR[!ADVERTISED])\n", arg);
        return -1;
    }
    snprintf(f->name, sizeof f->name, "%.*s", (int)name_len, arg);
    if (slash == NULL) {
        snprintf(f->name, sizeof f->name, "default");
    }
    gw_addr_ip(bang != NULL ? &adv : &f->bind, f->adv, sizeof f->adv);
    for (unsigned i = 0; i < c->iface_count; i++) {
        if (strcmp(c->ifaces[i].name, f->name) == 0) {
            fprintf(stderr, "dsrtpd: two --interface options named '%s'\n", f->name);
            return -1;
        }
    }
    c->iface_count++;
    return 0;
}

static int parse_args(int argc, char **argv, gw_config *c)
{
    static const struct option longs[] = {
        {"listen-ng", required_argument, NULL, 'n'}, {"listen-http", required_argument, NULL, 'h'},
        {"interface", required_argument, NULL, 'i'}, {"port-min", required_argument, NULL, 'a'},
        {"port-max", required_argument, NULL, 'b'},  {"timeout", required_argument, NULL, 't'},
        {"max-calls", required_argument, NULL, 'm'}, {"log", required_argument, NULL, 'l'},
        {"foreground", no_argument, NULL, 'f'},      {"verbose", no_argument, NULL, 'v'},
        {"workers", required_argument, NULL, 'w'},   {"io", required_argument, NULL, 'o'},
        {"delete-delay", required_argument, NULL, 'd'},
        {"max-handshakes", required_argument, NULL, 'x'},
        {NULL, 0, NULL, 0},
    };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *c = (gw_config){.timeout = 60, .max_calls = 10000,
                     .max_handshakes = GW_MAX_HANDSHAKES_DEFAULT,
                     .workers = cores < 1 ? 1u : cores > GW_WORKERS_MAX ? GW_WORKERS_MAX
                                                                        : (unsigned)cores};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (opt) {
        case 'n': c->listen_ng = optarg; break;
        case 'h': c->listen_http = optarg; break;
        case 'i':
            if (add_interface(c, optarg) != 0) {
                return -1;
            }
            break;
        case 'a':
            if (parse_port(optarg, &c->port_min) != 0) {
                return -1;
            }
            break;
        case 'b':
            if (parse_port(optarg, &c->port_max) != 0) {
                return -1;
            }
            break;
        case 't': c->timeout = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'm': c->max_calls = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'l': c->log_path = optarg; break;
        case 'w':
            c->workers = (unsigned)strtoul(optarg, NULL, 10);
            if (c->workers == 0 || c->workers > GW_WORKERS_MAX) {
                return -1;
            }
            break;
        case 'o':
            if (strcmp(optarg, "auto") == 0) {
                c->io = GW_IO_AUTO;
            } else if (strcmp(optarg, "uring") == 0) {
                c->io = GW_IO_URING;
            } else if (strcmp(optarg, "epoll") == 0) {
                c->io = GW_IO_EPOLL;
            } else {
                return -1;
            }
            break;
        case 'd': {
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v > 86400) {
                return -1;
            }
            c->delete_delay = (unsigned)v;
            break;
        }
        case 'x': {
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v > 1000000) {
                return -1;
            }
            c->max_handshakes = (unsigned)v;
            break;
        }
        case 'f': break;
        case 'v': c->verbose = true; break;
        default: return -1;
        }
    }
    if (optind != argc || c->listen_ng == NULL || c->listen_http == NULL ||
        c->iface_count == 0 || c->port_min == 0 || c->port_max < c->port_min) {
        return -1;
    }
    return 0;
}

static int open_ng(gw *g)
{
    dsrtp_addr a;
    int fd = -1;
    if (dsrtp_addr_parse(g->cfg.listen_ng, strlen(g->cfg.listen_ng), &a) != DSRTP_OK ||
        gw_udp_bind(&a, &fd) != 0 || gw_ng_tcp_open(g, &a, &ng_tcp_tag) != 0) {
        fprintf(stderr, "dsrtpd: cannot listen on ng address %s: %s\n", g->cfg.listen_ng,
                strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ng_tag};
    if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int open_signals(gw *g)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &signal_tag};
    if (fd < 0 || epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        return -1;
    }
    return fd;
}

static void on_signal(gw *g, int fd)
{
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            if (gw_log_open(NULL) != 0) {
                gw_log("error", "msg=\"cannot reopen the log file\"");
            }
            gw_log("info", "msg=\"log reopened\"");
        } else {
            gw_log("info", "msg=\"shutting down\" signal=%u calls=%zu", si.ssi_signo,
                   g->call_count);
            g->stopping = true;
        }
    }
}

static int wait_ms(const gw *g, dsrtp_time now, dsrtp_time next_tick)
{
    dsrtp_time until = g->next_deadline < next_tick ? g->next_deadline : next_tick;
    if (until <= now) {
        return 0;
    }
    return (int)((until - now + 999) / 1000);
}

static void run(gw *g, int ng_fd, int sig_fd)
{
    struct epoll_event evs[64];
    dsrtp_time next_tick = dsrtp_io_now() + TICK_US;
    while (!g->stopping) {
        int n = epoll_wait(g->epfd, evs, 64, wait_ms(g, dsrtp_io_now(), next_tick));
        for (int i = 0; i < n; i++) {
            gw_fd_kind kind = *(const gw_fd_kind *)evs[i].data.ptr;
            if (kind == GW_FD_NG) {
                gw_ng_readable(g, ng_fd);
            } else if (kind == GW_FD_NG_TCP) {
                gw_ng_tcp_readable(g);
            } else if (kind == GW_FD_SIGNAL) {
                on_signal(g, sig_fd);
            } else if (kind == GW_FD_LEG) {
                gw_leg *l = evs[i].data.ptr;
                if (!l->call->dead) {
                    gw_leg_readable(g, l);
                }
            } else if (kind == GW_FD_LEG_RTCP) {
                gw_leg *l = ((gw_rtcp_tag *)evs[i].data.ptr)->leg;
                if (!l->call->dead) {
                    gw_leg_rtcp_readable(g, l);
                }
            }
        }
        dsrtp_time now = dsrtp_io_now();
        if (now >= g->next_deadline || now >= next_tick) {
            gw_calls_tick(g, now);
            if (now >= next_tick) {
                next_tick = now + TICK_US;
            }
        }
        gw_call_reap(g);
    }
    gw_calls_close_all(g);
    gw_call_reap(g);
}

int main(int argc, char **argv)
{
    static gw g; /* large (packet buffers); one per process */
    if (parse_args(argc, argv, &g.cfg) != 0) {
        return usage();
    }
    gw_log_set_verbose(g.cfg.verbose);
    if (gw_log_open(g.cfg.log_path) != 0) {
        fprintf(stderr, "dsrtpd: cannot open log %s\n", g.cfg.log_path);
        return 1;
    }
    g.next_deadline = DSRTP_TIME_NEVER;
    g.root = &g;
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (g.epfd < 0 || gw_ports_init(&g.ports, g.cfg.port_min, g.cfg.port_max) != 0) {
        fprintf(stderr, "dsrtpd: bad port range %u..%u\n", g.cfg.port_min, g.cfg.port_max);
        return 1;
    }
    if (dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &g.cert) != DSRTP_OK) {
        fprintf(stderr, "dsrtpd: cannot generate the DTLS certificate\n");
        return 1;
    }
    int sig_fd = open_signals(&g);
    int ng_fd = open_ng(&g);
    if (sig_fd < 0 || ng_fd < 0) {
        return 1;
    }
    /* after the signal mask is set: the workers inherit it */
    if (gw_workers_start(&g, g.cfg.workers) != 0) {
        fprintf(stderr, "dsrtpd: cannot start %u worker threads\n", g.cfg.workers);
        return 1;
    }
    if (gw_metrics_start(&g) != 0) {
        fprintf(stderr, "dsrtpd: cannot serve metrics on %s\n", g.cfg.listen_http);
        return 1;
    }
    char ifaces[GW_IFACES_MAX * 160] = "";
    for (unsigned i = 0, n = 0; i < g.cfg.iface_count; i++) {
        char ip[64];
        gw_addr_ip(&g.cfg.ifaces[i].bind, ip, sizeof ip);
        n += (unsigned)snprintf(ifaces + n, sizeof ifaces - n, "%s%s/%s!%s", i > 0 ? "," : "",
                                g.cfg.ifaces[i].name, ip, g.cfg.ifaces[i].adv);
    }
    gw_log("info", "msg=\"started\" ng=%s http=%s interface=%s ports=%u-%u timeout=%u "
                   "workers=%u max_handshakes=%u",
           g.cfg.listen_ng, g.cfg.listen_http, ifaces, g.cfg.port_min,
           g.cfg.port_max, g.cfg.timeout, g.cfg.workers, g.cfg.max_handshakes);
    run(&g, ng_fd, sig_fd);
    gw_workers_stop(&g);
    gw_metrics_stop();
    gw_ng_tcp_close();
    gw_ng_shutdown();
    dsrtp_cert_free(g.cert);
    gw_ports_clear(&g.ports);
    close(ng_fd);
    close(sig_fd);
    close(g.epfd);
    gw_log("info", "msg=\"stopped\"");
    return 0;
}
