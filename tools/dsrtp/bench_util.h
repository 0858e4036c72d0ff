/* Shared driver of the SRTP benchmarks: `dsrtp bench srtp` and the comparison programs in
 * bench/ (libsrtp, bare OpenSSL floor) all go through it, so every implementation runs the
 * same loop, on the same packets, timed and reported the same way.
 *
 * The loop works in batches: a batch of packets is prepared untimed (plaintext for the
 * protect ops, packets protected by a matching sender for the unprotect ops), each in its
 * own buffer with distinct sequence numbers / SRTCP indexes; then the whole batch is
 * transformed in place under the clock. Batches are sized to stay in the L2 cache, so the
 * timing measures the transform, not memory traffic. Allocations made while the clock runs
 * are counted by interposing malloc (libc only, no OpenSSL hooks).
 *
 * Plain C11 plus libc: the comparison programs use it without linking dsrtp. */
#ifndef DSRTP_TOOL_BENCH_UTIL_H
#define DSRTP_TOOL_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum dsrtp_bench_op {
    DSRTP_BENCH_PROTECT,
    DSRTP_BENCH_UNPROTECT,
    DSRTP_BENCH_RTCP_PROTECT,
    DSRTP_BENCH_RTCP_UNPROTECT
} dsrtp_bench_op;

/* Static facts of a profile, as far as a benchmark needs them. */
typedef struct dsrtp_bench_profile {
    const char *name;
    bool gcm;
    size_t key_len;
    size_t salt_len;
    size_t rtp_tag_len;
    size_t rtcp_tag_len;
} dsrtp_bench_profile;

typedef struct dsrtp_bench_args {
    const dsrtp_bench_profile *profile;
    size_t size; /* RTP (or RTCP) packet length before protection, header included */
    dsrtp_bench_op op;
    size_t packets; /* timed packets */
    bool json;
} dsrtp_bench_args;

#define DSRTP_BENCH_ROOM 160 /* bytes of room after each packet for MKI, tag, SRTCP index */
#define DSRTP_BENCH_MAX_SIZE 9000
#define DSRTP_BENCH_SSRC 0x5eed1e55u
#define DSRTP_BENCH_SEQ_BASE 1000u /* first sequence number; later ones wrap past 65535 */

/* One implementation under test. prepare fills n packets (plaintext for the protect ops,
 * protected packets for the unprotect ops); run transforms them in place and returns the
 * number that failed. Both get the state pointer given to dsrtp_bench_run. lens[i] is the
 * packet length in bufs[i] (room: size + DSRTP_BENCH_ROOM), updated by both. first is the
 * number of packets prepared before (packet i carries sequence number
 * DSRTP_BENCH_SEQ_BASE + first + i, modulo 2^16). */
typedef struct dsrtp_bench_impl {
    const char *name;
    int (*prepare)(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens,
                   size_t n, uint64_t first);
    size_t (*run)(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens,
                  size_t n);
} dsrtp_bench_impl;

/* Looks a profile up by its SDES name; NULL if unknown. */
const dsrtp_bench_profile *dsrtp_bench_profile_find(const char *name);
const char *dsrtp_bench_op_name(dsrtp_bench_op op);

/* Parses --profile P --size BYTES --op OP [--packets N] [--json] from argv[first..argc).
 * Prints the problem and returns false on bad input. */
bool dsrtp_bench_parse(int argc, char **argv, int first, const char *prog,
                       dsrtp_bench_args *a);

/* Writes a plaintext RTP packet of a->size bytes (PCMU-like, 12-byte header) with seq, or
 * an RTCP sender report padded to a->size bytes for the RTCP ops. */
void dsrtp_bench_make_packet(const dsrtp_bench_args *a, uint8_t *buf, uint16_t seq);

/* Runs the benchmark (one untimed warm-up batch, then a->packets timed packets) and prints
 * the result: one JSON object per line with --json, else a readable line. extra_json, if
 * not NULL, is appended to the JSON object (",\"key\":value" form). Returns the process
 * exit status: 0, or 1 if any packet failed or memory ran out. */
int dsrtp_bench_run(const dsrtp_bench_impl *impl, void *st, const dsrtp_bench_args *a,
                    const char *extra_json);

/* Allocation counting (bench_alloc.c): start zeroes and arms the counters for this thread's
 * timed region, stop disarms them and reports the bytes and calls seen in between. */
void dsrtp_bench_alloc_start(void);
void dsrtp_bench_alloc_stop(uint64_t *bytes, uint64_t *calls);
/* False in sanitizer builds, where malloc is the sanitizer's and nothing is counted. */
bool dsrtp_bench_alloc_counting(void);

#endif
