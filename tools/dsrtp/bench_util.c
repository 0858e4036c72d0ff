/* The shared SRTP benchmark driver: argument parsing, packet making, the batched timed
 * loop and the report. See bench_util.h. */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const dsrtp_bench_profile profiles[] = {
    {"AES_CM_128_HMAC_SHA1_80", false, 16, 14, 10, 10},
    {"AES_CM_128_HMAC_SHA1_32", false, 16, 14, 4, 10},
    {"AES_256_CM_HMAC_SHA1_80", false, 32, 14, 10, 10},
    {"AES_256_CM_HMAC_SHA1_32", false, 32, 14, 4, 10},
    {"AEAD_AES_128_GCM", true, 16, 12, 16, 16},
    {"AEAD_AES_256_GCM", true, 32, 12, 16, 16},
};

static const char *const op_names[] = {"protect", "unprotect", "rtcp-protect",
                                       "rtcp-unprotect"};

/* Keeps one batch of packets and their buffers near 256 KiB, inside a typical L2. */
#define BATCH_BYTES (256u * 1024u)
#define BATCH_MIN 16u
#define BATCH_MAX 1024u

const dsrtp_bench_profile *dsrtp_bench_profile_find(const char *name)
{
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        if (strcmp(profiles[i].name, name) == 0) {
            return &profiles[i];
        }
    }
    return NULL;
}

const char *dsrtp_bench_op_name(dsrtp_bench_op op)
{
    return (size_t)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

static bool parse_size(const char *text, size_t min, size_t max, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max) {
        return false;
    }
    *out = (size_t)v;
    return true;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --profile P --size BYTES --op protect|unprotect|rtcp-protect|"
            "rtcp-unprotect [--packets N] [--json]\n  profiles:",
            prog);
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        fprintf(stderr, " %s", profiles[i].name);
    }
    fprintf(stderr, "\n");
}

bool dsrtp_bench_parse(int argc, char **argv, int first, const char *prog,
                       dsrtp_bench_args *a)
{
    const char *size_text = NULL;
    bool have_op = false;
    *a = (dsrtp_bench_args){.packets = 100000};
    for (int i = first; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            usage(prog);
            return false;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", prog, opt);
            usage(prog);
            return false;
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--profile") == 0) {
            a->profile = dsrtp_bench_profile_find(val);
            if (a->profile == NULL) {
                fprintf(stderr, "%s: unknown profile '%s'\n", prog, val);
                usage(prog);
                return false;
            }
        } else if (strcmp(opt, "--size") == 0) {
            size_text = val;
        } else if (strcmp(opt, "--op") == 0) {
            have_op = false;
            for (size_t k = 0; k < sizeof op_names / sizeof op_names[0]; k++) {
                if (strcmp(val, op_names[k]) == 0) {
                    a->op = (dsrtp_bench_op)k;
                    have_op = true;
                }
            }
            if (!have_op) {
                fprintf(stderr, "%s: unknown op '%s'\n", prog, val);
                usage(prog);
                return false;
            }
        } else if (strcmp(opt, "--packets") == 0) {
            if (!parse_size(val, 1, 1000000000u, &a->packets)) {
                fprintf(stderr, "%s: --packets wants 1 .. 1000000000\n", prog);
                return false;
            }
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, opt);
            usage(prog);
            return false;
        }
    }
    if (a->profile == NULL || size_text == NULL || !have_op) {
        fprintf(stderr, "%s: --profile, --size and --op are required\n", prog);
        usage(prog);
        return false;
    }
    bool rtcp = a->op == DSRTP_BENCH_RTCP_PROTECT || a->op == DSRTP_BENCH_RTCP_UNPROTECT;
    /* An RTP packet has a 12-byte header; an RTCP sender report is 28 bytes at least. */
    size_t min = rtcp ? 28 : 12;
    if (!parse_size(size_text, min, DSRTP_BENCH_MAX_SIZE, &a->size)) {
        fprintf(stderr, "%s: --size wants %zu .. %d bytes for %s\n", prog, min,
                DSRTP_BENCH_MAX_SIZE, dsrtp_bench_op_name(a->op));
        return false;
    }
    return true;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void dsrtp_bench_make_packet(const dsrtp_bench_args *a, uint8_t *buf, uint16_t seq)
{
    size_t body;
    if (a->op == DSRTP_BENCH_RTCP_PROTECT || a->op == DSRTP_BENCH_RTCP_UNPROTECT) {
        /* A sender report (PT 200) whose length field covers the whole packet. */
        buf[0] = 0x80;
        buf[1] = 200;
        buf[2] = (uint8_t)((a->size / 4 - 1) >> 8);
        buf[3] = (uint8_t)(a->size / 4 - 1);
        put32(buf + 4, DSRTP_BENCH_SSRC);
        body = 8;
    } else {
        /* Version 2, PCMU, 20 ms of 8 kHz audio per packet. */
        buf[0] = 0x80;
        buf[1] = 0;
        buf[2] = (uint8_t)(seq >> 8);
        buf[3] = (uint8_t)seq;
        put32(buf + 4, (uint32_t)seq * 160u);
        put32(buf + 8, DSRTP_BENCH_SSRC);
        body = 12;
    }
    /* The payload's bytes do not matter to the transforms; vary them per packet anyway. */
    memset(buf + body, (uint8_t)(seq * 31u + 7u), a->size - body);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static size_t batch_for(size_t stride, size_t packets)
{
    size_t b = BATCH_BYTES / stride;
    b = b < BATCH_MIN ? BATCH_MIN : b > BATCH_MAX ? BATCH_MAX : b;
    return b > packets ? packets : b;
}

int dsrtp_bench_run(const dsrtp_bench_impl *impl, void *st, const dsrtp_bench_args *a,
                    const char *extra_json)
{
    /* Each packet starts on its own cache line so no two share one. */
    size_t stride = (a->size + DSRTP_BENCH_ROOM + 63) / 64 * 64;
    size_t batch = batch_for(stride, a->packets);
    uint8_t *block = malloc(batch * stride);
    uint8_t **bufs = malloc(batch * sizeof *bufs);
    size_t *lens = malloc(batch * sizeof *lens);
    size_t nbatches = (a->packets + batch - 1) / batch;
    double *per_batch = malloc(nbatches * sizeof *per_batch);
    if (block == NULL || bufs == NULL || lens == NULL || per_batch == NULL) {
        fprintf(stderr, "%s: out of memory\n", impl->name);
        free(block);
        free(bufs);
        free(lens);
        free(per_batch);
        return 1;
    }
    for (size_t i = 0; i < batch; i++) {
        bufs[i] = block + i * stride;
    }
    uint64_t prepared = 0;
    size_t failed = 0;
    int status = 0;
    /* Warm-up batch, untimed: caches, branch predictors, the receiver's first-packet path. */
    if (impl->prepare(st, a, bufs, lens, batch, prepared) != 0) {
        status = 1;
    } else {
        prepared += batch;
        failed += impl->run(st, a, bufs, lens, batch);
    }
    double seconds = 0;
    uint64_t alloc_bytes = 0;
    uint64_t alloc_calls = 0;
    size_t done = 0;
    size_t timed_batches = 0;
    while (status == 0 && failed == 0 && done < a->packets) {
        size_t n = a->packets - done < batch ? a->packets - done : batch;
        if (impl->prepare(st, a, bufs, lens, n, prepared) != 0) {
            status = 1;
            break;
        }
        prepared += n;
        uint64_t b = 0;
        uint64_t c = 0;
        dsrtp_bench_alloc_start();
        double t0 = now_seconds();
        failed += impl->run(st, a, bufs, lens, n);
        double t1 = now_seconds();
        dsrtp_bench_alloc_stop(&b, &c);
        seconds += t1 - t0;
        per_batch[timed_batches++] = (t1 - t0) * 1e9 / (double)n;
        alloc_bytes += b;
        alloc_calls += c;
        done += n;
    }
    free(block);
    free(bufs);
    free(lens);
    if (status != 0 || failed != 0 || timed_batches == 0) {
        free(per_batch);
        fprintf(stderr, "%s: %s %s %zu: %zu packets failed%s\n", impl->name,
                a->profile->name, dsrtp_bench_op_name(a->op), a->size, failed,
                status != 0 ? " (preparation failed)" : "");
        return 1;
    }
    double ns = seconds * 1e9 / (double)done;
    double pps = seconds > 0 ? (double)done / seconds : 0;
    /* The median batch shrugs off batches hit by preemption on a busy machine. */
    qsort(per_batch, timed_batches, sizeof *per_batch, cmp_double);
    double median = timed_batches % 2 ? per_batch[timed_batches / 2]
                                      : (per_batch[timed_batches / 2 - 1] +
                                         per_batch[timed_batches / 2]) / 2;
    free(per_batch);
    /* Without counting (sanitizer builds) the allocation fields are null, not 0. */
    char allocs[64];
    if (dsrtp_bench_alloc_counting()) {
        snprintf(allocs, sizeof allocs, "\"allocs\":%llu,\"alloc_calls\":%llu",
                 (unsigned long long)alloc_bytes, (unsigned long long)alloc_calls);
    } else {
        snprintf(allocs, sizeof allocs, "\"allocs\":null,\"alloc_calls\":null");
    }
    if (a->json) {
        printf("{\"impl\":\"%s\",\"profile\":\"%s\",\"size\":%zu,\"op\":\"%s\","
               "\"packets\":%zu,\"seconds\":%.6f,\"pps\":%.0f,\"ns_per_packet\":%.1f,"
               "\"ns_median_batch\":%.1f,%s,\"batch\":%zu%s}\n",
               impl->name, a->profile->name, a->size, dsrtp_bench_op_name(a->op), done,
               seconds, pps, ns, median, allocs, batch, extra_json != NULL ? extra_json : "");
    } else {
        printf("%s: %s %s, %zu-byte packets: %.1f ns/packet (median batch %.1f), %.2f Mpps "
               "(%zu packets in %.3f s); ",
               impl->name, a->profile->name, dsrtp_bench_op_name(a->op), a->size, ns, median,
               pps / 1e6, done, seconds);
        if (dsrtp_bench_alloc_counting()) {
            printf("%llu bytes in %llu allocations while timed\n",
                   (unsigned long long)alloc_bytes, (unsigned long long)alloc_calls);
        } else {
            printf("allocations not counted (sanitizer build)\n");
        }
    }
    return 0;
}
