/* Interop: close_notify between a compacted dsrtp endpoint and the `openssl` programs over
 * UDP on 127.0.0.1. Our endpoint drops its SSL object when the handshake completes and seals
 * close_notify itself; OpenSSL's own programs must take it:
 *  - dsrtp client, `openssl s_server -naccept 1`: a copy with one tag bit flipped changes
 *    nothing (s_server keeps running, prints no DONE); the genuine record makes it print
 *    DONE (its SSL_read saw the end of the connection) and exit 0.
 *  - dsrtp server, `openssl s_client`: the same, with s_client printing "closed".
 *  - dsrtp server, `openssl s_client` closing: at the end of its input s_client sends
 *    close_notify; our endpoint must report the alert and CLOSED.
 * (s_server cannot be made to send close_notify first: it closes its socket before it shuts
 * the connection down. tests/unit/test_dtls_openssl_peer.c covers that direction for our
 * client against OpenSSL in-process.) Each AEAD suite of an ECDSA certificate is run, and
 * the keying material both sides export is compared as well.
 *
 * Needs the openssl program. Children are ended by their own pid. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/check.h"

#include <dsrtp/dtls.h>
#include <dsrtp/util.h>

extern char **environ;

#define HOST "127.0.0.1"
#define WAIT_US 5000000u   /* bound on any one wait */
#define QUIET_US 300000u   /* how long a damaged record must change nothing */
#define PEM_MAX 8192
#define OUT_MAX 65536
#define DGRAM_MAX 2048
#define EXPORT_LEN 56      /* AEAD_AES_128_GCM: 2 * (16 + 12) */
#define LABEL "EXTRACTOR-dtls_srtp"

static const char *const suites[] = {"ECDHE-ECDSA-AES128-GCM-SHA256",
                                     "ECDHE-ECDSA-AES256-GCM-SHA384",
                                     "ECDHE-ECDSA-CHACHA20-POLY1305"};
#define SUITE_COUNT (sizeof suites / sizeof suites[0])

static dsrtp_cert *our_cert;
static dsrtp_cert *peer_cert;
static char work[64];
static char peer_pem[128];
static char peer_key[128];

static dsrtp_time now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (dsrtp_time)ts.tv_sec * 1000000u + (dsrtp_time)ts.tv_nsec / 1000u;
}

static void sleep_us(dsrtp_time us)
{
    struct timespec t = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000};
    nanosleep(&t, NULL);
}

/* ---- set-up: two certificates, the peer's as PEM files ---- */

static const char *const child_names[] = {"version", "s_server", "s_client"};

static void cleanup(void)
{
    unlink(peer_pem);
    unlink(peer_key);
    for (size_t i = 0; i < sizeof child_names / sizeof child_names[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s.out", work, child_names[i]);
        unlink(path);
    }
    rmdir(work);
    dsrtp_cert_free(our_cert);
    dsrtp_cert_free(peer_cert);
}

static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return false;
    }
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len;
    return close(fd) == 0 && ok;
}

static bool setup(void)
{
    static char cert_text[PEM_MAX];
    static char key_text[PEM_MAX];
    snprintf(work, sizeof work, "/tmp/dsrtp-close.XXXXXX");
    if (mkdtemp(work) == NULL || atexit(cleanup) != 0) {
        return false;
    }
    snprintf(peer_pem, sizeof peer_pem, "%s/peer.pem", work);
    snprintf(peer_key, sizeof peer_key, "%s/peer.key", work);
    bool ok = dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &our_cert) == DSRTP_OK &&
              dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &peer_cert) == DSRTP_OK &&
              dsrtp_cert_write_pem(peer_cert, cert_text, sizeof cert_text, key_text,
                                   sizeof key_text) == DSRTP_OK &&
              write_file(peer_pem, cert_text) && write_file(peer_key, key_text);
    dsrtp_secure_wipe(key_text, sizeof key_text);
    return ok;
}

/* ---- the openssl child (named from child_names, for the clean-up) ---- */

typedef struct child {
    pid_t pid;
    int in_fd; /* its stdin: kept open until we want it to end */
    char out[160];
    bool exited;
    int status;
} child;

static bool child_spawn(child *c, const char *const *argv, const char *name)
{
    *c = (child){.pid = -1, .in_fd = -1};
    snprintf(c->out, sizeof c->out, "%s/%s.out", work, name);
    int p[2];
    if (pipe(p) != 0) {
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    posix_spawn_file_actions_addopen(&fa, 1, c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawnp(&c->pid, "openssl", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[0]);
    if (rc != 0) {
        close(p[1]);
        c->pid = -1;
        return false;
    }
    c->in_fd = p[1];
    return true;
}

/* Its output so far, NUL terminated, in a static buffer. */
static const char *child_output(const child *c)
{
    static char buf[OUT_MAX];
    buf[0] = '\0';
    int fd = open(c->out, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    return buf;
}

static bool child_says(const child *c, const char *text)
{
    return strstr(child_output(c), text) != NULL;
}

static bool child_running(child *c)
{
    if (!c->exited && c->pid > 0 && waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
        c->exited = true;
    }
    return c->pid > 0 && !c->exited;
}

/* Waits for it to exit; its exit code, or -1 when it did not within WAIT_US. */
static int child_wait_exit(child *c)
{
    for (dsrtp_time end = now_us() + WAIT_US; child_running(c) && now_us() < end;) {
        sleep_us(10000);
    }
    if (!c->exited) {
        return -1;
    }
    return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 128 + WTERMSIG(c->status);
}

static void child_end(child *c)
{
    if (c->in_fd >= 0) {
        close(c->in_fd);
        c->in_fd = -1;
    }
    if (child_running(c)) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->exited = true;
    }
}

/* ---- our endpoint on a UDP socket ---- */

typedef struct ep {
    dsrtp_dtls *d;
    int fd;
    bool have_peer;
    bool connected;
    bool failed;
    bool closed;
    size_t alerts;
    dsrtp_dtls_event last;
} ep;

static void ep_drain(ep *e)
{
    uint8_t buf[DGRAM_MAX];
    dsrtp_dtls_output out;
    while (dsrtp_dtls_poll_output(e->d, buf, sizeof buf, &out) == DSRTP_OK &&
           out.kind != DSRTP_OUT_IDLE) {
        if (out.kind == DSRTP_OUT_DATAGRAM) {
            if (e->have_peer) {
                (void)send(e->fd, buf, out.len, 0); /* a lost one is the timer's business */
            }
            continue;
        }
        e->last = out.event;
        e->connected |= out.event.kind == DSRTP_DTLS_EV_CONNECTED;
        e->failed |= out.event.kind == DSRTP_DTLS_EV_FAILED;
        e->closed |= out.event.kind == DSRTP_DTLS_EV_CLOSED;
        e->alerts += out.event.kind == DSRTP_DTLS_EV_ALERT;
    }
}

static void ep_receive(ep *e)
{
    uint8_t buf[DGRAM_MAX];
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(e->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
                         &from_len);
    if (n <= 0) {
        return;
    }
    if (!e->have_peer) {
        if (connect(e->fd, (struct sockaddr *)&from, from_len) != 0) {
            return;
        }
        e->have_peer = true;
    }
    dsrtp_err err = dsrtp_dtls_handle_datagram(e->d, now_us(), buf, (size_t)n);
    (void)err; /* a refused datagram is dropped, as on any path */
}

/* Runs the endpoint until done(e, arg) or WAIT_US. */
static bool ep_run(ep *e, bool (*done)(const ep *e, const void *arg), const void *arg)
{
    for (dsrtp_time end = now_us() + WAIT_US; now_us() < end;) {
        ep_drain(e);
        if (done(e, arg)) {
            return true;
        }
        struct pollfd pfd = {.fd = e->fd, .events = POLLIN};
        if (poll(&pfd, 1, 5) > 0) {
            ep_receive(e);
        }
        if (now_us() >= dsrtp_dtls_next_deadline(e->d) &&
            dsrtp_dtls_handle_timeout(e->d, now_us()) != DSRTP_OK) {
            return false;
        }
    }
    return false;
}

static bool is_connected(const ep *e, const void *arg)
{
    (void)arg;
    return e->connected || e->failed;
}

static bool is_closed(const ep *e, const void *arg)
{
    (void)arg;
    return e->closed || e->failed;
}

static bool child_done_handshake(const ep *e, const void *arg)
{
    (void)e;
    return child_says(arg, "Keying material:");
}

/* A UDP socket on 127.0.0.1; its port in *port. */
static int udp_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static bool ep_new(ep *e, dsrtp_dtls_role role)
{
    *e = (ep){.fd = -1};
    dsrtp_dtls_cfg cfg;
    dsrtp_dtls_cfg_init(&cfg);
    cfg.cert = our_cert;
    cfg.role = role;
    cfg.profiles[0] = DSRTP_AEAD_AES_128_GCM;
    cfg.profile_count = 1;
    dsrtp_fingerprint fp;
    return dsrtp_dtls_new(&cfg, &e->d) == DSRTP_OK &&
           dsrtp_cert_fingerprint(peer_cert, DSRTP_HASH_SHA256, &fp) == DSRTP_OK &&
           dsrtp_dtls_set_remote_fingerprints(e->d, &fp, 1) == DSRTP_OK;
}

static void ep_free(ep *e)
{
    dsrtp_dtls_free(e->d);
    if (e->fd >= 0) {
        close(e->fd);
    }
    *e = (ep){.fd = -1};
}

/* Our exporter against the "Keying material:" line the child printed. */
static bool same_keying_material(const ep *e, const child *c)
{
    uint8_t m[EXPORT_LEN];
    char hex[2 * EXPORT_LEN + 1];
    if (dsrtp_dtls_export(e->d, m, sizeof m) != DSRTP_OK ||
        dsrtp_hex_encode(m, sizeof m, hex, sizeof hex) != DSRTP_OK) {
        return false;
    }
    const char *line = strstr(child_output(c), "Keying material:");
    if (line == NULL) {
        return false;
    }
    line += strlen("Keying material:");
    while (*line == ' ') {
        line++;
    }
    return strncasecmp(line, hex, 2 * EXPORT_LEN) == 0;
}

/* ---- the three runs ---- */

/* Starts s_server on a free port (a few tries: the port is found by binding and releasing
 * it) and our client against it; returns once both are connected. */
static bool start_vs_server(ep *e, child *c, const char *suite)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        uint16_t port = 0;
        int probe = udp_socket(&port);
        if (probe < 0) {
            return false;
        }
        close(probe);
        char accept_arg[32];
        snprintf(accept_arg, sizeof accept_arg, "%s:%u", HOST, (unsigned)port);
        const char *argv[] = {"openssl", "s_server", "-dtls1_2", "-accept", accept_arg,
                              "-naccept", "1", "-verify", "1", "-cert", peer_pem, "-key",
                              peer_key, "-cipher", suite, "-use_srtp",
                              "SRTP_AEAD_AES_128_GCM", "-keymatexport", LABEL,
                              "-keymatexportlen", "56", NULL};
        if (!child_spawn(c, argv, "s_server")) {
            return false;
        }
        dsrtp_time end = now_us() + WAIT_US;
        while (!child_says(c, "ACCEPT") && child_running(c) && now_us() < end) {
            sleep_us(10000);
        }
        if (!child_says(c, "ACCEPT")) {
            child_end(c);
            continue;
        }
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        uint16_t mine = 0;
        e->fd = udp_socket(&mine);
        e->have_peer = e->fd >= 0 && connect(e->fd, (struct sockaddr *)&to, sizeof to) == 0;
        return e->have_peer && dsrtp_dtls_start(e->d, now_us()) == DSRTP_OK &&
               ep_run(e, is_connected, NULL) && e->connected &&
               ep_run(e, child_done_handshake, c);
    }
    return false;
}

/* Our server on a fresh port, s_client against it; returns once both are connected. */
static bool start_vs_client(ep *e, child *c, const char *suite)
{
    uint16_t port = 0;
    e->fd = udp_socket(&port);
    if (e->fd < 0 || dsrtp_dtls_start(e->d, now_us()) != DSRTP_OK) {
        return false;
    }
    char connect_arg[32];
    snprintf(connect_arg, sizeof connect_arg, "%s:%u", HOST, (unsigned)port);
    const char *argv[] = {"openssl", "s_client", "-dtls1_2", "-connect", connect_arg,
                          "-cert", peer_pem, "-key", peer_key, "-cipher", suite, "-use_srtp",
                          "SRTP_AEAD_AES_128_GCM", "-keymatexport", LABEL,
                          "-keymatexportlen", "56", NULL};
    return child_spawn(c, argv, "s_client") && ep_run(e, is_connected, NULL) &&
           e->connected && ep_run(e, child_done_handshake, c);
}

/* Sends our close_notify, first with a flipped tag bit. Until the genuine one the child
 * must neither print gone_text nor exit; after it, it prints gone_text and exits 0. */
static void check_our_close(ep *e, child *c, const char *gone_text)
{
    CHECK_OK(dsrtp_dtls_close(e->d));
    uint8_t rec[DGRAM_MAX];
    dsrtp_dtls_output out;
    CHECK_OK(dsrtp_dtls_poll_output(e->d, rec, sizeof rec, &out));
    CHECK_EQ(out.kind, DSRTP_OUT_DATAGRAM);
    CHECK(out.len > 13 && rec[0] == 21 && rec[3] == 0 && rec[4] == 1);
    rec[out.len - 1] ^= 0x01;
    CHECK_EQ(send(e->fd, rec, out.len, 0), (ssize_t)out.len);
    sleep_us(QUIET_US);
    CHECK(child_running(c));
    CHECK(!child_says(c, gone_text));
    rec[out.len - 1] ^= 0x01;
    CHECK_EQ(send(e->fd, rec, out.len, 0), (ssize_t)out.len);
    CHECK_EQ(child_wait_exit(c), 0);
    CHECK(child_says(c, gone_text));
}

static void run_close_vs_s_server(const char *suite)
{
    ep e;
    child c = {.pid = -1, .in_fd = -1};
    CHECK(ep_new(&e, DSRTP_DTLS_CLIENT));
    bool up = start_vs_server(&e, &c, suite);
    if (!up) {
        fprintf(stderr, "s_server run did not connect:\n%s\n", child_output(&c));
    }
    if (up) {
        CHECK(same_keying_material(&e, &c));
        CHECK(!child_says(&c, "DONE"));
        /* s_server prints DONE when SSL_read reports the connection closed. */
        check_our_close(&e, &c, "\nDONE\n");
    }
    child_end(&c);
    ep_free(&e);
    CHECK(up);
}

static void run_close_vs_s_client(const char *suite)
{
    ep e;
    child c = {.pid = -1, .in_fd = -1};
    CHECK(ep_new(&e, DSRTP_DTLS_SERVER));
    bool up = start_vs_client(&e, &c, suite);
    if (!up) {
        fprintf(stderr, "s_client run did not connect:\n%s\n", child_output(&c));
    }
    if (up) {
        CHECK(same_keying_material(&e, &c));
        /* s_client prints "closed" when SSL_read reports the connection closed. */
        check_our_close(&e, &c, "\nclosed\n");
    }
    child_end(&c);
    ep_free(&e);
    CHECK(up);
}

static void run_s_client_closes(const char *suite)
{
    ep e;
    child c = {.pid = -1, .in_fd = -1};
    CHECK(ep_new(&e, DSRTP_DTLS_SERVER));
    bool up = start_vs_client(&e, &c, suite);
    if (up) {
        CHECK(!e.closed);
        close(c.in_fd); /* the end of its input: s_client shuts the connection down */
        c.in_fd = -1;
        CHECK(ep_run(&e, is_closed, NULL));
        CHECK(e.closed && !e.failed);
        CHECK_EQ(e.alerts, 1); /* the close_notify alert itself, as before compaction */
        CHECK_EQ(e.last.kind, DSRTP_DTLS_EV_CLOSED);
        CHECK_EQ(dsrtp_dtls_get_state(e.d), DSRTP_DTLS_STATE_CLOSED);
        CHECK_EQ(child_wait_exit(&c), 0);
    }
    child_end(&c);
    ep_free(&e);
    CHECK(up);
}

static void for_each_suite(void (*run)(const char *suite))
{
    for (size_t i = 0; i < SUITE_COUNT; i++) {
        int before = check_failures_;
        run(suites[i]);
        if (check_failures_ != before) {
            fprintf(stderr, "  with %s\n", suites[i]);
            return;
        }
    }
}

static void test_dtls_interop_s_server_takes_our_close_notify(void)
{
    for_each_suite(run_close_vs_s_server);
}

static void test_dtls_interop_s_client_takes_our_close_notify(void)
{
    for_each_suite(run_close_vs_s_client);
}

static void test_dtls_interop_s_client_close_notify_reaches_us(void)
{
    for_each_suite(run_s_client_closes);
}

static void test_dtls_interop_setup(void)
{
    CHECK(setup());
    const char *argv[] = {"openssl", "version", NULL};
    child c;
    CHECK(child_spawn(&c, argv, "version"));
    int rc = child_wait_exit(&c);
    fprintf(stderr, "# %s", child_output(&c));
    child_end(&c);
    CHECK_EQ(rc, 0);
}

RUN_TESTS(TEST(test_dtls_interop_setup),
          TEST(test_dtls_interop_s_server_takes_our_close_notify),
          TEST(test_dtls_interop_s_client_takes_our_close_notify),
          TEST(test_dtls_interop_s_client_close_notify_reaches_us))
