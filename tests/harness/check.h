/* A small test harness: CHECK, CHECK_EQ, CHECK_ERR, CHECK_MEM (with a hex diff), a runner
 * that calls each test function and prints 'N passed, N failed'. Header-only. */
#ifndef DSRTP_CHECK_H
#define DSRTP_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrtp/dsrtp.h>

static int check_failures_;
static const char *check_current_;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,           \
                    check_current_, #cond);                                                \
            check_failures_++;                                                             \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long check_a_ = (long long)(a);                                               \
        long long check_b_ = (long long)(b);                                               \
        if (check_a_ != check_b_) {                                                        \
            fprintf(stderr, "%s:%d: %s: CHECK_EQ(%s, %s) failed: %lld != %lld\n", __FILE__, \
                    __LINE__, check_current_, #a, #b, check_a_, check_b_);                 \
            check_failures_++;                                                             \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_ERR(expr, want)                                                              \
    do {                                                                                   \
        dsrtp_err check_e_ = (expr);                                                       \
        if (check_e_ != (want)) {                                                          \
            fprintf(stderr, "%s:%d: %s: %s returned '%s', wanted '%s'\n", __FILE__, __LINE__, \
                    check_current_, #expr, dsrtp_strerror(check_e_), dsrtp_strerror(want));  \
            check_failures_++;                                                             \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, DSRTP_OK)

static inline void check_hexdump_(const char *label, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "%s%02x", i % 32 == 0 ? "\n    " : "", p[i]);
    }
    fprintf(stderr, "\n");
}

#define CHECK_MEM(a, b, n)                                                                 \
    do {                                                                                   \
        const uint8_t *check_pa_ = (const uint8_t *)(a);                                   \
        const uint8_t *check_pb_ = (const uint8_t *)(b);                                   \
        size_t check_n_ = (n);                                                             \
        if (memcmp(check_pa_, check_pb_, check_n_) != 0) {                                 \
            size_t check_i_ = 0;                                                           \
            while (check_pa_[check_i_] == check_pb_[check_i_]) {                           \
                check_i_++;                                                                \
            }                                                                              \
            fprintf(stderr, "%s:%d: %s: CHECK_MEM(%s, %s) differs at byte %zu\n", __FILE__, \
                    __LINE__, check_current_, #a, #b, check_i_);                           \
            check_hexdump_("got ", check_pa_, check_n_);                                   \
            check_hexdump_("want", check_pb_, check_n_);                                   \
            check_failures_++;                                                             \
            return;                                                                        \
        }                                                                                  \
    } while (0)

typedef void (*check_fn_)(void);
typedef struct check_case_ {
    const char *name;
    check_fn_ fn;
} check_case_;

#define TEST(fn) {#fn, fn}

static inline int check_run_(const check_case_ *cases, size_t n)
{
    int passed = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        int before = check_failures_;
        check_current_ = cases[i].name;
        cases[i].fn();
        if (check_failures_ == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

#define RUN_TESTS(...)                                                                     \
    int main(void)                                                                         \
    {                                                                                      \
        static const check_case_ cases_[] = {__VA_ARGS__};                                 \
        return check_run_(cases_, sizeof cases_ / sizeof cases_[0]);                       \
    }

/* Decodes a hex string literal into out (spaces allowed); returns the byte count. */
static inline size_t check_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9') {
            v = *p - '0';
        } else if (*p >= 'a' && *p <= 'f') {
            v = *p - 'a' + 10;
        } else if (*p >= 'A' && *p <= 'F') {
            v = *p - 'A' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) {
                fprintf(stderr, "check_hex: buffer too small\n");
                abort();
            }
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

#endif
