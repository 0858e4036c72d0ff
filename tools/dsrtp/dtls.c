/* `dsrtp dtls`: one DTLS-SRTP handshake with a peer over a real UDP socket, for interop
 * checks against other stacks (openssl s_server/s_client, browsers, gateways). It prints the
 * negotiated profile, both certificate fingerprints and the RFC 5705 keying material the
 * exporter yields (label EXTRACTOR-dtls_srtp), so a script can compare it with the peer's.
 *
 * The shell around the sans-IO endpoint is the loop STYLE.md §4 describes: drain output
 * until idle, then poll() the socket until the endpoint's deadline, feed what arrives or
 * let time pass. Time is CLOCK_MONOTONIC in microseconds.
 *
 * --listen binds, waits for the first datagram the endpoint accepts as DTLS, and connect()s
 * the socket to its sender; from then on only that peer is heard. --connect sends the
 * ClientHello to the given address. The role follows: listen = DTLS server, connect = DTLS
 * client. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <dsrtp/dtls.h>
#include <dsrtp/util.h>

#include "cmd.h"

#define EXIT_USAGE 2
#define EXIT_FAILED 1
#define PEM_FILE_MAX (1u << 20)
#define DGRAM_MAX 65536
#define TIMEOUT_MAX_S 3600.0
#define EXPORT_MAX (2 * (DSRTP_SRTP_MAX_KEY_LEN + DSRTP_SRTP_MAX_SALT_LEN))

static const char dtls_usage_text[] =
    "usage: dsrtp dtls --listen ADDR:PORT | --connect ADDR:PORT --fingerprint 'HASH HEX'\n"
    "                  [--cert FILE --key FILE] [--profiles LIST] [--mtu N]\n"
    "                  [--timeout SECONDS] [--json]\n"
    "  Runs one DTLS-SRTP handshake over UDP and prints the negotiated SRTP profile, both\n"
    "  certificate fingerprints and the exported keying material (EXTRACTOR-dtls_srtp).\n"
    "  --listen A:P       DTLS server: wait for the first datagram, answer its sender\n"
    "                     (port 0 picks a free port; the address is printed on stderr)\n"
    "  --connect A:P      DTLS client. IPv6 addresses go in brackets: [::1]:5000\n"
    "  --fingerprint FP   the peer's certificate fingerprint as SDP writes it, e.g.\n"
    "                     'sha-256 AB:CD:...'; required, repeatable (any one may match)\n"
    "  --cert F --key F   PEM certificate and key (default: a fresh ECDSA P-256 one; its\n"
    "                     fingerprint is printed on stderr at start)\n"
    "  --profiles LIST    comma or colon separated, in preference order:\n"
    "                     AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80,\n"
    "                     AES_CM_128_HMAC_SHA1_32 (OpenSSL's SRTP_* names also accepted)\n"
    "  --mtu N            largest datagram sent (default 1200)\n"
    "  --timeout S        give up on the handshake after S seconds (default 20)\n"
    "  --json             print the result as one JSON object on stdout\n"
    "  Exit status: 0 keys agreed, 1 handshake failed (reason printed), 2 usage error.\n";

typedef struct dtls_opts {
    const char *listen;
    const char *connect;
    const char *cert_file;
    const char *key_file;
    dsrtp_profile profiles[DSRTP_DTLS_MAX_PROFILES];
    size_t profile_count;
    dsrtp_fingerprint fps[DSRTP_DTLS_MAX_FINGERPRINTS];
    size_t fp_count;
    size_t mtu;
    dsrtp_time timeout_us;
    bool json;
    struct sockaddr_storage addr; /* --listen or --connect, parsed */
    socklen_t addr_len;
} dtls_opts;

/* What the loop saw; filled from the endpoint's events. */
typedef struct dtls_run {
    bool connected;
    bool failed;
    bool peer_closed;
    dsrtp_dtls_event failure;
    dsrtp_time started_at; /* client: start; server: first datagram from the peer */
    dsrtp_time done_at;
} dtls_run;

static bool parse_addr(const char *text, bool allow_zero, struct sockaddr_storage *ss,
                       socklen_t *ss_len);

static int dtls_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "dsrtp dtls: %s%s%s\n(run 'dsrtp dtls --help' for usage)\n", what,
            arg != NULL ? ": " : "", arg != NULL ? arg : "");
    return EXIT_USAGE;
}

static dsrtp_time now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (dsrtp_time)ts.tv_sec * 1000000u + (dsrtp_time)ts.tv_nsec / 1000u;
}

/* ---- options ---- */

/* OpenSSL's spellings of the four profiles DTLS-SRTP can negotiate (RFC 5764 §4.1.2,
 * RFC 7714 §14.2), for scripts that share one profile list between both peers. */
static const struct {
    const char *openssl_name;
    dsrtp_profile profile;
} openssl_names[] = {
    {"SRTP_AES128_CM_SHA1_80", DSRTP_AES_CM_128_HMAC_SHA1_80},
    {"SRTP_AES128_CM_SHA1_32", DSRTP_AES_CM_128_HMAC_SHA1_32},
    {"SRTP_AEAD_AES_128_GCM", DSRTP_AEAD_AES_128_GCM},
    {"SRTP_AEAD_AES_256_GCM", DSRTP_AEAD_AES_256_GCM},
};

static bool dtls_capable(dsrtp_profile p)
{
    for (size_t i = 0; i < sizeof openssl_names / sizeof openssl_names[0]; i++) {
        if (openssl_names[i].profile == p) {
            return true;
        }
    }
    return false;
}

static bool profile_lookup(const char *name, dsrtp_profile *out)
{
    if (dsrtp_profile_from_name(name, out) == DSRTP_OK) {
        return true;
    }
    for (size_t i = 0; i < sizeof openssl_names / sizeof openssl_names[0]; i++) {
        if (strcasecmp(name, openssl_names[i].openssl_name) == 0) {
            *out = openssl_names[i].profile;
            return true;
        }
    }
    return false;
}

static int parse_profiles(const char *list, dtls_opts *o)
{
    char buf[256];
    if (strlen(list) >= sizeof buf) {
        return dtls_usage_error("profile list too long", NULL);
    }
    strcpy(buf, list);
    o->profile_count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",:", &save); tok != NULL;
         tok = strtok_r(NULL, ",:", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        dsrtp_profile p = DSRTP_PROFILE_NONE;
        if (!profile_lookup(tok, &p)) {
            return dtls_usage_error("unknown SRTP profile", tok);
        }
        if (!dtls_capable(p)) {
            return dtls_usage_error("profile has no DTLS-SRTP identifier", tok);
        }
        for (size_t i = 0; i < o->profile_count; i++) {
            if (o->profiles[i] == p) {
                return dtls_usage_error("profile listed twice", tok);
            }
        }
        if (o->profile_count == DSRTP_DTLS_MAX_PROFILES) {
            return dtls_usage_error("too many profiles", list);
        }
        o->profiles[o->profile_count++] = p;
    }
    if (o->profile_count == 0) {
        return dtls_usage_error("empty profile list", NULL);
    }
    return 0;
}

static bool parse_size(const char *text, size_t lo, size_t hi, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < lo || v > hi) {
        return false;
    }
    *out = (size_t)v;
    return true;
}

static int parse_options(int argc, char **argv, dtls_opts *o)
{
    *o = (dtls_opts){.mtu = DSRTP_DTLS_DEFAULT_MTU, .timeout_us = DSRTP_DTLS_DEFAULT_TIMEOUT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(dtls_usage_text, stdout);
            return -1;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (i + 1 >= argc) {
            return dtls_usage_error("unknown option or missing value", a);
        }
        const char *v = argv[++i];
        if (strcmp(a, "--listen") == 0) {
            o->listen = v;
        } else if (strcmp(a, "--connect") == 0) {
            o->connect = v;
        } else if (strcmp(a, "--cert") == 0) {
            o->cert_file = v;
        } else if (strcmp(a, "--key") == 0) {
            o->key_file = v;
        } else if (strcmp(a, "--profiles") == 0) {
            int rc = parse_profiles(v, o);
            if (rc != 0) {
                return rc;
            }
        } else if (strcmp(a, "--fingerprint") == 0) {
            if (o->fp_count == DSRTP_DTLS_MAX_FINGERPRINTS) {
                return dtls_usage_error("too many --fingerprint options", NULL);
            }
            dsrtp_err err = dsrtp_fingerprint_parse(v, strlen(v), &o->fps[o->fp_count]);
            if (err != DSRTP_OK) {
                return dtls_usage_error(err == DSRTP_ERR_UNSUPPORTED
                                            ? "unsupported fingerprint hash"
                                            : "malformed fingerprint (want 'sha-256 AB:CD:...')",
                                        v);
            }
            o->fp_count++;
        } else if (strcmp(a, "--mtu") == 0) {
            if (!parse_size(v, DSRTP_DTLS_MIN_MTU, 65507, &o->mtu)) {
                return dtls_usage_error("--mtu wants a number from 256 to 65507", v);
            }
        } else if (strcmp(a, "--timeout") == 0) {
            char *end = NULL;
            double s = strtod(v, &end);
            if (end == v || *end != '\0' || !(s > 0.0) || s > TIMEOUT_MAX_S) {
                return dtls_usage_error("--timeout wants seconds, more than 0, at most 3600", v);
            }
            o->timeout_us = (dsrtp_time)(s * 1e6);
            if (o->timeout_us == 0) {
                o->timeout_us = 1;
            }
        } else {
            return dtls_usage_error("unknown option", a);
        }
    }
    if ((o->listen == NULL) == (o->connect == NULL)) {
        return dtls_usage_error("give exactly one of --listen and --connect", NULL);
    }
    const char *where = o->listen != NULL ? o->listen : o->connect;
    if (!parse_addr(where, o->listen != NULL, &o->addr, &o->addr_len)) {
        return dtls_usage_error("bad address (want A.B.C.D:PORT or [IPv6]:PORT; port 0 only "
                                "with --listen)",
                                where);
    }
    if ((o->cert_file == NULL) != (o->key_file == NULL)) {
        return dtls_usage_error("--cert and --key go together", NULL);
    }
    if (o->fp_count == 0) {
        /* The endpoint would refuse to release keys anyway (RFC 5763 §5): say so up front. */
        return dtls_usage_error("--fingerprint is required: the peer's certificate must be "
                                "checked against its SDP fingerprint",
                                NULL);
    }
    return 0;
}

/* "1.2.3.4:5", "[::1]:5". Port 0 only when allow_zero. */
static bool parse_addr(const char *text, bool allow_zero, struct sockaddr_storage *ss,
                       socklen_t *ss_len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *port_text = NULL;
    size_t host_len = 0;
    bool v6 = false;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':') {
            return false;
        }
        host_len = (size_t)(close - text - 1);
        if (host_len >= sizeof host) {
            return false;
        }
        memcpy(host, text + 1, host_len);
        port_text = close + 2;
        v6 = true;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL || strchr(text, ':') != colon) {
            return false; /* no port, or an IPv6 address without brackets */
        }
        host_len = (size_t)(colon - text);
        if (host_len >= sizeof host) {
            return false;
        }
        memcpy(host, text, host_len);
        port_text = colon + 1;
    }
    host[host_len] = '\0';
    size_t port = 0;
    if (!parse_size(port_text, allow_zero ? 0 : 1, 65535, &port)) {
        return false;
    }
    memset(ss, 0, sizeof *ss);
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
            return false;
        }
        *ss_len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
            return false;
        }
        *ss_len = sizeof *s4;
    }
    return true;
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
        return;
    }
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    port = ntohs(s4->sin_port);
    snprintf(out, cap, "%s:%u", host, port);
}

/* ---- certificate ---- */

/* Reads a whole file (NUL terminated) into a heap buffer. NULL on failure, reported. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "dsrtp dtls: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(PEM_FILE_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, PEM_FILE_MAX + 1, f) : 0;
    bool bad = buf == NULL || ferror(f) || n > PEM_FILE_MAX;
    fclose(f);
    if (bad) {
        fprintf(stderr, "dsrtp dtls: cannot read %s (or larger than 1 MiB)\n", path);
        if (buf != NULL) {
            dsrtp_secure_wipe(buf, PEM_FILE_MAX + 1);
        }
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int load_cert(const dtls_opts *o, dsrtp_cert **out)
{
    if (o->cert_file == NULL) {
        dsrtp_err err = dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, out);
        if (err != DSRTP_OK) {
            fprintf(stderr, "dsrtp dtls: cannot generate a certificate: %s\n",
                    dsrtp_strerror(err));
            return EXIT_FAILED;
        }
        return 0;
    }
    size_t cert_len = 0;
    size_t key_len = 0;
    char *cert_pem = read_file(o->cert_file, &cert_len);
    char *key_pem = cert_pem != NULL ? read_file(o->key_file, &key_len) : NULL;
    int rc = EXIT_USAGE;
    if (cert_pem != NULL && key_pem != NULL) {
        dsrtp_err err = dsrtp_cert_load_pem(cert_pem, cert_len, key_pem, key_len, out);
        if (err == DSRTP_OK) {
            rc = 0;
        } else {
            fprintf(stderr, "dsrtp dtls: cannot use %s with %s: %s\n", o->cert_file,
                    o->key_file, dsrtp_strerror(err));
        }
    }
    if (key_pem != NULL) {
        dsrtp_secure_wipe(key_pem, key_len);
    }
    free(key_pem);
    free(cert_pem);
    return rc;
}

/* ---- socket ---- */

/* A non-blocking UDP socket, bound (--listen) or connected (--connect). -1 on failure,
 * reported. */
static int open_socket(const dtls_opts *o, struct sockaddr_storage *local)
{
    const struct sockaddr *sa = (const struct sockaddr *)&o->addr;
    const char *text = o->listen != NULL ? o->listen : o->connect;
    int fd = socket(o->addr.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        fprintf(stderr, "dsrtp dtls: socket: %s\n", strerror(errno));
        return -1;
    }
    int rc = o->listen != NULL ? bind(fd, sa, o->addr_len) : connect(fd, sa, o->addr_len);
    if (rc != 0) {
        fprintf(stderr, "dsrtp dtls: %s %s: %s\n", o->listen != NULL ? "bind" : "connect",
                text, strerror(errno));
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        fprintf(stderr, "dsrtp dtls: fcntl: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t local_len = sizeof *local;
    if (getsockname(fd, (struct sockaddr *)local, &local_len) != 0) {
        memset(local, 0, sizeof *local);
    }
    return fd;
}

/* ---- the loop ---- */

static const char *role_name(dsrtp_dtls_role r)
{
    return r == DSRTP_DTLS_CLIENT ? "client" : r == DSRTP_DTLS_SERVER ? "server" : "unset";
}

/* Short machine-readable names for the failure reasons, for scripts. */
static const char *failure_code(dsrtp_dtls_failure f)
{
    switch (f) {
    case DSRTP_DTLS_FAIL_NONE: return "none";
    case DSRTP_DTLS_FAIL_FINGERPRINT: return "fingerprint";
    case DSRTP_DTLS_FAIL_NO_FINGERPRINT: return "no_fingerprint";
    case DSRTP_DTLS_FAIL_NO_PROFILE: return "no_profile";
    case DSRTP_DTLS_FAIL_TIMEOUT: return "timeout";
    case DSRTP_DTLS_FAIL_ALERT: return "alert";
    case DSRTP_DTLS_FAIL_PROTOCOL: return "protocol";
    }
    return "unknown";
}

/* Sends everything queued and records events. Returns false if the endpoint reported an
 * error from poll_output (it never should with a 64 KiB buffer). */
static bool drain(dsrtp_dtls *d, int fd, bool have_peer, uint8_t *tx, dtls_run *run)
{
    dsrtp_dtls_output out;
    dsrtp_err err;
    while ((err = dsrtp_dtls_poll_output(d, tx, DGRAM_MAX, &out)) == DSRTP_OK &&
           out.kind != DSRTP_OUT_IDLE) {
        if (out.kind == DSRTP_OUT_DATAGRAM) {
            /* Lost sends are the retransmission timer's business, like loss on the path;
             * ECONNREFUSED (the peer's port not open yet) included. */
            if (have_peer && send(fd, tx, out.len, 0) < 0 && errno != ECONNREFUSED &&
                errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, "dsrtp dtls: send: %s\n", strerror(errno));
            }
            continue;
        }
        const dsrtp_dtls_event *e = &out.event;
        switch (e->kind) {
        case DSRTP_DTLS_EV_CONNECTED:
            run->connected = true;
            run->done_at = now_us();
            break;
        case DSRTP_DTLS_EV_FAILED:
            if (!run->failed) {
                run->failed = true;
                run->failure = *e;
                run->done_at = now_us();
            }
            break;
        case DSRTP_DTLS_EV_ALERT:
            fprintf(stderr, "dsrtp dtls: %s\n", e->detail);
            break;
        case DSRTP_DTLS_EV_CLOSED:
            run->peer_closed = true;
            break;
        }
    }
    if (err != DSRTP_OK) {
        fprintf(stderr, "dsrtp dtls: poll_output: %s\n", dsrtp_strerror(err));
        return false;
    }
    return true;
}

/* Milliseconds for poll() until deadline, rounded up so the deadline has passed on wake. */
static int poll_ms(dsrtp_time deadline)
{
    if (deadline == DSRTP_TIME_NEVER) {
        return 1000;
    }
    dsrtp_time now = now_us();
    if (deadline <= now) {
        return 0;
    }
    dsrtp_time ms = (deadline - now + 999) / 1000;
    return ms > 1000 ? 1000 : (int)ms;
}

/* Reads what the socket holds and feeds it. Before the peer is known (--listen), the first
 * datagram the endpoint accepts as DTLS picks the peer and the socket is connected to it. */
static bool receive(dsrtp_dtls *d, int fd, bool *have_peer, struct sockaddr_storage *peer,
                    uint8_t *rx, uint8_t *tx, dtls_run *run)
{
    /* Stop at the outcome: a peer quick to send close_notify after its Finished must not
     * have it read (and the keys dropped) before they are reported. */
    for (int i = 0; i < 64 && !run->connected && !run->failed; i++) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, rx, DGRAM_MAX, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNREFUSED) {
                return true;
            }
            fprintf(stderr, "dsrtp dtls: recv: %s\n", strerror(errno));
            return false;
        }
        dsrtp_time now = now_us();
        dsrtp_err err = dsrtp_dtls_handle_datagram(d, now, rx, (size_t)n);
        if (err != DSRTP_OK && dsrtp_err_is_fatal(err)) {
            fprintf(stderr, "dsrtp dtls: handle_datagram: %s\n", dsrtp_strerror(err));
            return false;
        }
        if (err != DSRTP_OK) {
            continue; /* dropped (not DTLS, or not plausible): somebody else's packet */
        }
        if (!*have_peer) {
            if (connect(fd, (struct sockaddr *)&from, from_len) != 0) {
                fprintf(stderr, "dsrtp dtls: connect to the first sender: %s\n",
                        strerror(errno));
                return false;
            }
            *peer = from;
            *have_peer = true;
            run->started_at = now;
        }
        if (!drain(d, fd, *have_peer, tx, run)) {
            return false;
        }
    }
    return true;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

static void fp_text(const dsrtp_fingerprint *fp, bool have, char *out, size_t cap)
{
    if (!have || dsrtp_fingerprint_format(fp, out, cap) != DSRTP_OK) {
        snprintf(out, cap, "none");
    }
}

/* Prints the outcome of a finished handshake: keys and fingerprints when connected, the
 * reason otherwise. Returns the exit status. */
static int report(const dtls_opts *o, dsrtp_dtls *d, const dsrtp_cert *cert,
                  const dtls_run *run, const char *peer_text)
{
    char local_fp[DSRTP_FINGERPRINT_TEXT_MAX];
    char remote_fp[DSRTP_FINGERPRINT_TEXT_MAX];
    dsrtp_fingerprint fp;
    fp_text(&fp, dsrtp_cert_fingerprint(cert, DSRTP_HASH_SHA256, &fp) == DSRTP_OK, local_fp,
            sizeof local_fp);
    fp_text(&fp, dsrtp_dtls_get_remote_fingerprint(d, DSRTP_HASH_SHA256, &fp) == DSRTP_OK,
            remote_fp, sizeof remote_fp);
    const char *role = role_name(dsrtp_dtls_get_role(d));
    double ms = run->done_at > run->started_at ? (double)(run->done_at - run->started_at) / 1e3
                                               : 0.0;
    dsrtp_dtls_keys keys;
    if (!run->connected || dsrtp_dtls_get_keys(d, &keys) != DSRTP_OK) {
        dsrtp_dtls_failure f = run->failed ? run->failure.failure : DSRTP_DTLS_FAIL_PROTOCOL;
        const char *detail = run->failed ? run->failure.detail : "handshake did not finish";
        const char *reason = dsrtp_dtls_failure_name(f);
        if (strcmp(reason, detail) == 0) {
            fprintf(stderr, "dsrtp dtls: handshake failed: %s\n", reason);
        } else {
            fprintf(stderr, "dsrtp dtls: handshake failed: %s (%s)\n", reason, detail);
        }
        if (o->json) {
            printf("{\"state\":\"failed\",\"role\":\"%s\",\"failure\":\"%s\",\"reason\":", role,
                   failure_code(f));
            json_string(reason);
            printf(",\"detail\":");
            json_string(detail);
            printf(",\"peer\":");
            json_string(peer_text);
            printf(",\"remote_fingerprint\":\"%s\"}\n", remote_fp);
        }
        return EXIT_FAILED;
    }
    dsrtp_profile p = keys.profile;
    dsrtp_secure_wipe(&keys, sizeof keys);
    size_t mat_len = 2 * (dsrtp_profile_key_len(p) + dsrtp_profile_salt_len(p));
    uint8_t mat[EXPORT_MAX];
    char hex[2 * EXPORT_MAX + 1];
    dsrtp_err err = dsrtp_dtls_export(d, mat, mat_len);
    if (err == DSRTP_OK) {
        err = dsrtp_hex_encode(mat, mat_len, hex, sizeof hex);
    }
    dsrtp_secure_wipe(mat, sizeof mat);
    if (err != DSRTP_OK) {
        fprintf(stderr, "dsrtp dtls: keying material export failed: %s\n",
                dsrtp_strerror(err));
        return EXIT_FAILED;
    }
    if (o->json) {
        printf("{\"state\":\"connected\",\"role\":\"%s\",\"peer\":", role);
        json_string(peer_text);
        printf(",\"profile\":\"%s\",\"local_fingerprint\":\"%s\","
               "\"remote_fingerprint\":\"%s\",\"keying_material_len\":%zu,"
               "\"keying_material\":\"%s\",\"handshake_ms\":%.3f}\n",
               dsrtp_profile_name(p), local_fp, remote_fp, mat_len, hex, ms);
    } else {
        printf("role: %s\npeer: %s\nprofile: %s\nlocal fingerprint: %s\n"
               "remote fingerprint: %s\nkeying material (%zu bytes): %s\nhandshake: %.3f ms\n",
               role, peer_text, dsrtp_profile_name(p), local_fp, remote_fp, mat_len, hex, ms);
    }
    dsrtp_secure_wipe(hex, sizeof hex);
    return 0;
}

static int run_handshake(const dtls_opts *o, dsrtp_dtls *d, const dsrtp_cert *cert, int fd)
{
    uint8_t *tx = malloc(DGRAM_MAX);
    uint8_t *rx = malloc(DGRAM_MAX);
    if (tx == NULL || rx == NULL) {
        free(tx);
        free(rx);
        fprintf(stderr, "dsrtp dtls: out of memory\n");
        return EXIT_FAILED;
    }
    bool have_peer = o->connect != NULL;
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    if (!have_peer || getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0) {
        memset(&peer, 0, sizeof peer);
    }
    dtls_run run = {0};
    bool ok = true;
    dsrtp_time now = now_us();
    run.started_at = now;
    dsrtp_err err = dsrtp_dtls_start(d, now);
    if (err != DSRTP_OK) {
        fprintf(stderr, "dsrtp dtls: start: %s\n", dsrtp_strerror(err));
        ok = false;
    }
    while (ok && !run.connected && !run.failed) {
        if (!drain(d, fd, have_peer, tx, &run)) {
            ok = false;
            break;
        }
        if (run.connected || run.failed) {
            break;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, poll_ms(dsrtp_dtls_next_deadline(d)));
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "dsrtp dtls: poll: %s\n", strerror(errno));
            ok = false;
            break;
        }
        if (n > 0 && !receive(d, fd, &have_peer, &peer, rx, tx, &run)) {
            ok = false;
            break;
        }
        now = now_us();
        if (now >= dsrtp_dtls_next_deadline(d)) {
            err = dsrtp_dtls_handle_timeout(d, now);
            if (err != DSRTP_OK) {
                fprintf(stderr, "dsrtp dtls: handle_timeout: %s\n", dsrtp_strerror(err));
                ok = false;
            }
        }
    }
    /* Whatever is still queued (the last flight, an alert) goes out before we report. */
    if (ok) {
        ok = drain(d, fd, have_peer, tx, &run);
    }
    char peer_text[INET6_ADDRSTRLEN + 16] = "none";
    if (have_peer) {
        format_addr(&peer, peer_text, sizeof peer_text);
    }
    int rc = ok ? report(o, d, cert, &run, peer_text) : EXIT_FAILED;
    if (run.connected) {
        /* close_notify, so the peer ends cleanly rather than by its own timeout. */
        if (dsrtp_dtls_close(d) == DSRTP_OK) {
            (void)drain(d, fd, have_peer, tx, &run);
        }
    }
    free(tx);
    free(rx);
    return rc;
}

int dsrtp_cmd_dtls(int argc, char **argv)
{
    dtls_opts o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    dsrtp_cert *cert = NULL;
    rc = load_cert(&o, &cert);
    if (rc != 0) {
        return rc;
    }
    dsrtp_fingerprint own;
    char own_text[DSRTP_FINGERPRINT_TEXT_MAX];
    if (dsrtp_cert_fingerprint(cert, DSRTP_HASH_SHA256, &own) == DSRTP_OK &&
        dsrtp_fingerprint_format(&own, own_text, sizeof own_text) == DSRTP_OK) {
        fprintf(stderr, "dsrtp dtls: local fingerprint: %s\n", own_text);
    }
    struct sockaddr_storage local;
    int fd = open_socket(&o, &local);
    if (fd < 0) {
        dsrtp_cert_free(cert);
        return EXIT_FAILED;
    }
    if (o.listen != NULL) {
        char text[INET6_ADDRSTRLEN + 16];
        format_addr(&local, text, sizeof text);
        fprintf(stderr, "dsrtp dtls: listening on %s\n", text);
    }
    fflush(stderr);
    dsrtp_dtls_cfg cfg;
    dsrtp_dtls_cfg_init(&cfg);
    cfg.cert = cert;
    cfg.role = o.listen != NULL ? DSRTP_DTLS_SERVER : DSRTP_DTLS_CLIENT;
    if (o.profile_count > 0) {
        memcpy(cfg.profiles, o.profiles, sizeof o.profiles);
        cfg.profile_count = o.profile_count;
    }
    cfg.mtu = o.mtu;
    cfg.handshake_timeout = o.timeout_us;
    dsrtp_dtls *d = NULL;
    dsrtp_err err = dsrtp_dtls_new(&cfg, &d);
    if (err == DSRTP_OK) {
        err = dsrtp_dtls_set_remote_fingerprints(d, o.fps, o.fp_count);
    }
    if (err != DSRTP_OK) {
        fprintf(stderr, "dsrtp dtls: cannot create the endpoint: %s\n", dsrtp_strerror(err));
        rc = EXIT_FAILED;
    } else {
        rc = run_handshake(&o, d, cert, fd);
    }
    dsrtp_dtls_free(d);
    dsrtp_cert_free(cert);
    close(fd);
    return rc;
}
