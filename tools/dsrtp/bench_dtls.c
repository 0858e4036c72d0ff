/* `dsrtp bench dtls`: complete DTLS-SRTP handshakes per second. Two endpoints, each with its
 * own certificate, run in one thread and hand datagrams straight to each other in memory
 * (no sockets, no loss); every handshake is created from scratch, runs to CONNECTED on both
 * sides with the SRTP keys exported (the endpoint exports them on completion; both sides'
 * keys are fetched and compared), and is freed. Certificate generation and the peers'
 * fingerprints, which a real call has before the handshake, stay outside the clock.
 *
 * Besides the rate it reports the heap an endpoint holds once connected (glibc's
 * mallinfo2, in use after minus before, per endpoint): by then the endpoint has freed its
 * SSL object and drained its handshake state (it is "compacted"), so this is what a call
 * keeps for as long as it lasts. BENCH_DTLS_HELD_PAIRS pairs are held at once and the total
 * divided, so that caches OpenSSL or glibc fill meanwhile spread thin. For contrast it also
 * reports what a client holds mid-handshake (its ClientHello sent, SSL object alive), and
 * the heap calls and bytes per handshake (the tool's malloc counter, bench_alloc.c).
 * bench/bench_dtls_floor.c runs the same handshake on bare OpenSSL calls and prints the
 * same fields (but the mid-handshake one). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dsrtp/dtls.h>
#include <dsrtp/util.h>

#include "bench_util.h"
#include "cmd.h"

#define BENCH_DTLS_DEFAULT_N 1000
#define BENCH_DTLS_WARMUP 20
#define BENCH_DTLS_BUF 2048 /* above the default MTU of 1200 */
#define BENCH_DTLS_MAX_ROUNDS 64
#define BENCH_DTLS_HELD_PAIRS 16

typedef struct bench_dtls_ctx {
    dsrtp_cert *cert[2];
    dsrtp_fingerprint fp[2];
    uint8_t buf[BENCH_DTLS_BUF];
} bench_dtls_ctx;

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* Endpoint 0 is the client, 1 the server; each pins the other's certificate. */
static dsrtp_err pair_new(const bench_dtls_ctx *b, dsrtp_dtls *d[2])
{
    d[0] = NULL;
    d[1] = NULL;
    for (int i = 0; i < 2; i++) {
        dsrtp_dtls_cfg cfg;
        dsrtp_dtls_cfg_init(&cfg);
        cfg.cert = b->cert[i];
        cfg.role = i == 0 ? DSRTP_DTLS_CLIENT : DSRTP_DTLS_SERVER;
        dsrtp_err err = dsrtp_dtls_new(&cfg, &d[i]);
        if (err == DSRTP_OK) {
            err = dsrtp_dtls_set_remote_fingerprints(d[i], &b->fp[1 - i], 1);
        }
        if (err != DSRTP_OK) {
            dsrtp_dtls_free(d[0]);
            dsrtp_dtls_free(d[1]);
            d[0] = NULL;
            d[1] = NULL;
            return err;
        }
    }
    return DSRTP_OK;
}

/* Runs the pair's handshake to the end: every datagram one side emits is fed to the other
 * at once. True when both are CONNECTED with matching keys. */
static bool pair_handshake(bench_dtls_ctx *b, dsrtp_dtls *d[2])
{
    bool connected[2] = {false, false};
    bool failed = false;
    dsrtp_time now = 1;
    if (dsrtp_dtls_start(d[1], now) != DSRTP_OK || dsrtp_dtls_start(d[0], now) != DSRTP_OK) {
        return false;
    }
    bool moved = true;
    for (int round = 0; moved && !failed && round < BENCH_DTLS_MAX_ROUNDS; round++) {
        moved = false;
        for (int i = 0; i < 2 && !failed; i++) {
            dsrtp_dtls_output out;
            while (dsrtp_dtls_poll_output(d[i], b->buf, sizeof b->buf, &out) == DSRTP_OK &&
                   out.kind != DSRTP_OUT_IDLE) {
                if (out.kind == DSRTP_OUT_DATAGRAM) {
                    moved = true;
                    dsrtp_err err = dsrtp_dtls_handle_datagram(d[1 - i], now, b->buf, out.len);
                    if (err != DSRTP_OK) {
                        fprintf(stderr, "dsrtp bench dtls: %s refused a %zu-byte datagram: %s\n",
                                i == 0 ? "server" : "client", out.len, dsrtp_strerror(err));
                        failed = true;
                    }
                } else if (out.event.kind == DSRTP_DTLS_EV_CONNECTED) {
                    connected[i] = true;
                } else if (out.event.kind == DSRTP_DTLS_EV_FAILED) {
                    fprintf(stderr, "dsrtp bench dtls: %s: %s\n", i == 0 ? "client" : "server",
                            out.event.detail);
                    failed = true;
                }
            }
        }
    }
    if (failed || !connected[0] || !connected[1]) {
        return false;
    }
    dsrtp_dtls_keys k[2];
    bool ok = dsrtp_dtls_get_keys(d[0], &k[0]) == DSRTP_OK &&
              dsrtp_dtls_get_keys(d[1], &k[1]) == DSRTP_OK && k[0].key_len == k[1].key_len &&
              k[0].key_len > 0 &&
              dsrtp_ct_equal(k[0].local_key, k[1].remote_key, k[0].key_len) &&
              dsrtp_ct_equal(k[0].remote_salt, k[1].local_salt, k[0].salt_len);
    dsrtp_secure_wipe(k, sizeof k);
    return ok;
}

static bool one_handshake(bench_dtls_ctx *b)
{
    dsrtp_dtls *d[2];
    if (pair_new(b, d) != DSRTP_OK) {
        return false;
    }
    bool ok = pair_handshake(b, d);
    dsrtp_dtls_free(d[0]);
    dsrtp_dtls_free(d[1]);
    return ok;
}

/* Heap held by one connected (compacted) endpoint: BENCH_DTLS_HELD_PAIRS pairs are kept
 * alive after their handshakes and the difference in bytes in use is divided among them. */
static long long held_per_endpoint(bench_dtls_ctx *b)
{
    dsrtp_dtls *d[BENCH_DTLS_HELD_PAIRS][2];
    size_t before = heap_in_use();
    size_t made = 0;
    bool ok = true;
    for (; made < BENCH_DTLS_HELD_PAIRS && ok; made++) {
        ok = pair_new(b, d[made]) == DSRTP_OK && pair_handshake(b, d[made]);
    }
    size_t after = heap_in_use();
    for (size_t i = 0; i < made; i++) {
        dsrtp_dtls_free(d[i][0]);
        dsrtp_dtls_free(d[i][1]);
    }
    /* Under a sanitizer's allocator glibc sees nothing: report unknown. */
    return ok && after > before
               ? ((long long)after - (long long)before) / (2 * BENCH_DTLS_HELD_PAIRS)
               : -1;
}

/* Heap held by a client that has sent its ClientHello: the SSL object and its buffers. */
static long long held_mid_handshake(bench_dtls_ctx *b)
{
    size_t before = heap_in_use();
    dsrtp_dtls *d[2];
    if (pair_new(b, d) != DSRTP_OK) {
        return -1;
    }
    bool ok = dsrtp_dtls_start(d[0], 1) == DSRTP_OK;
    size_t after = heap_in_use();
    dsrtp_dtls_free(d[0]);
    dsrtp_dtls_free(d[1]);
    return ok && after > before ? (long long)after - (long long)before : -1;
}

static const char bench_dtls_usage_text[] =
    "usage: dsrtp bench dtls [--cert ecdsa|rsa] [--handshakes N] [--json]\n"
    "  Complete DTLS-SRTP handshakes (both sides in this thread, datagrams passed in\n"
    "  memory, SRTP keys exported), each pair created and freed: handshakes per second,\n"
    "  wall and CPU time, heap held by a connected endpoint (and by one mid-handshake),\n"
    "  heap calls per handshake.\n"
    "  --cert       certificate type of both sides (default ecdsa: P-256; rsa: 2048 bits)\n"
    "  --handshakes timed handshakes (default 1000)\n";

static int bench_dtls_usage(FILE *f)
{
    fputs(bench_dtls_usage_text, f);
    return f == stdout ? 0 : 2;
}

int dsrtp_cmd_bench_dtls(int argc, char **argv)
{
    dsrtp_cert_kind kind = DSRTP_CERT_ECDSA_P256;
    size_t n = BENCH_DTLS_DEFAULT_N;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            return bench_dtls_usage(stdout);
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--cert") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "ecdsa") == 0) {
                kind = DSRTP_CERT_ECDSA_P256;
            } else if (strcmp(v, "rsa") == 0) {
                kind = DSRTP_CERT_RSA;
            } else {
                return bench_dtls_usage(stderr);
            }
        } else if (strcmp(a, "--handshakes") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            char *end = NULL;
            unsigned long long x = strtoull(v, &end, 10);
            if (end == v || *end != '\0' || v[0] == '-' || x == 0 || x > 100000000ull) {
                return bench_dtls_usage(stderr);
            }
            n = (size_t)x;
        } else {
            return bench_dtls_usage(stderr);
        }
    }
    bench_dtls_ctx *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return 1;
    }
    int rc = 1;
    for (int i = 0; i < 2; i++) {
        if (dsrtp_cert_generate(kind, 2048, &b->cert[i]) != DSRTP_OK ||
            dsrtp_cert_fingerprint(b->cert[i], DSRTP_HASH_SHA256, &b->fp[i]) != DSRTP_OK) {
            fprintf(stderr, "dsrtp bench dtls: cannot make the certificates\n");
            goto out;
        }
    }
    /* Warm-up: OpenSSL fetches algorithms and fills caches on first use. */
    for (int i = 0; i < BENCH_DTLS_WARMUP; i++) {
        if (!one_handshake(b)) {
            fprintf(stderr, "dsrtp bench dtls: warm-up handshake failed\n");
            goto out;
        }
    }
    long long held = held_per_endpoint(b);
    long long held_hs = held_mid_handshake(b);
    uint64_t alloc_bytes = 0;
    uint64_t alloc_calls = 0;
    dsrtp_bench_alloc_start();
    double t0 = clock_seconds(CLOCK_MONOTONIC);
    double c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < n; i++) {
        if (!one_handshake(b)) {
            dsrtp_bench_alloc_stop(&alloc_bytes, &alloc_calls);
            fprintf(stderr, "dsrtp bench dtls: handshake %zu failed\n", i);
            goto out;
        }
    }
    double secs = clock_seconds(CLOCK_MONOTONIC) - t0;
    /* CPU time too: on a shared machine it is the steadier figure. */
    double cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    dsrtp_bench_alloc_stop(&alloc_bytes, &alloc_calls);
    const char *cert = kind == DSRTP_CERT_RSA ? "rsa" : "ecdsa";
    double rate = secs > 0 ? (double)n / secs : 0.0;
    char held_text[32] = "null";
    char held_hs_text[32] = "null";
    if (held >= 0) {
        snprintf(held_text, sizeof held_text, "%lld", held);
    }
    if (held_hs >= 0) {
        snprintf(held_hs_text, sizeof held_hs_text, "%lld", held_hs);
    }
    if (json) {
        printf("{\"impl\":\"dsrtp\",\"cert\":\"%s\",\"handshakes\":%zu,\"seconds\":%.6f,"
               "\"per_second\":%.1f,\"cpu_seconds\":%.6f,\"per_cpu_second\":%.1f,"
               "\"us_per_handshake\":%.1f,\"bytes_per_endpoint\":%s,"
               "\"bytes_per_endpoint_in_handshake\":%s,"
               "\"allocs_per_handshake\":%.1f,\"alloc_bytes_per_handshake\":%.0f}\n",
               cert, n, secs, rate, cpu, cpu > 0 ? (double)n / cpu : 0.0,
               secs * 1e6 / (double)n, held_text, held_hs_text,
               (double)alloc_calls / (double)n, (double)alloc_bytes / (double)n);
    } else {
        printf("dsrtp dtls %s: %zu handshakes in %.3f s: %.1f/s (%.1f us each); %s bytes "
               "held per connected endpoint (%s mid-handshake); %.1f allocations (%.0f "
               "bytes) per handshake\n",
               cert, n, secs, rate, secs * 1e6 / (double)n, held_text, held_hs_text,
               (double)alloc_calls / (double)n, (double)alloc_bytes / (double)n);
    }
    rc = 0;
out:
    dsrtp_cert_free(b->cert[0]);
    dsrtp_cert_free(b->cert[1]);
    free(b);
    return rc;
}
