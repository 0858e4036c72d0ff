/* Counts heap allocations for the benchmarks by interposing malloc, calloc and realloc.
 *
 * Defining these in the executable overrides glibc's for the whole process, the shared
 * libcrypto included, so an allocation anywhere under a timed call is seen. Each wrapper
 * forwards to glibc's own allocator through the entry points glibc exports for it
 * (__libc_malloc and friends) and, while counting is armed, adds to two counters. Every
 * block still comes from glibc's allocator, so glibc's free, memalign and the rest stay
 * valid for it and need no wrapping. When counting is not armed the cost is one relaxed
 * atomic load per call, so the other subcommands of the tool are unaffected. Sanitizer
 * builds leave malloc alone and count nothing (see below). */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_util.h"

/* Sanitizer runtimes own malloc themselves: an override here would hand them blocks they
 * never saw. Those builds do not count (and their timings mean nothing anyway). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DSRTP_BENCH_NO_COUNT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(thread_sanitizer)
#define DSRTP_BENCH_NO_COUNT 1
#endif
#endif

static atomic_bool armed;
static atomic_uint_fast64_t bytes_seen;
static atomic_uint_fast64_t calls_seen;

#ifndef DSRTP_BENCH_NO_COUNT

#if defined(__GNUC__) || defined(__clang__)
/* The build hides symbols by default; the overrides must be visible to shared objects. */
#define DSRTP_BENCH_EXPORT __attribute__((visibility("default")))
#else
#define DSRTP_BENCH_EXPORT
#endif

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t count, size_t n);
extern void *__libc_realloc(void *p, size_t n);

static void note(size_t n)
{
    if (atomic_load_explicit(&armed, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&bytes_seen, n, memory_order_relaxed);
        atomic_fetch_add_explicit(&calls_seen, 1, memory_order_relaxed);
    }
}

DSRTP_BENCH_EXPORT void *malloc(size_t n)
{
    note(n);
    return __libc_malloc(n);
}

DSRTP_BENCH_EXPORT void *calloc(size_t count, size_t n)
{
    /* Overflow is left to glibc, which fails the call; count the saturated size. */
    note(n != 0 && count > SIZE_MAX / n ? SIZE_MAX : count * n);
    return __libc_calloc(count, n);
}

DSRTP_BENCH_EXPORT void *realloc(void *p, size_t n)
{
    note(n);
    return __libc_realloc(p, n);
}

bool dsrtp_bench_alloc_counting(void)
{
    return true;
}

#else

bool dsrtp_bench_alloc_counting(void)
{
    return false;
}

#endif

void dsrtp_bench_alloc_start(void)
{
    atomic_store(&bytes_seen, 0);
    atomic_store(&calls_seen, 0);
    atomic_store(&armed, true);
}

void dsrtp_bench_alloc_stop(uint64_t *bytes, uint64_t *calls)
{
    atomic_store(&armed, false);
    *bytes = (uint64_t)atomic_load(&bytes_seen);
    *calls = (uint64_t)atomic_load(&calls_seen);
}
