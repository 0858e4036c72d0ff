/* Allocation counting for tests that prove a path allocates nothing. Include it from
 * exactly one file per test executable: it replaces malloc, calloc and realloc for the whole
 * process (the shared libcrypto included) with counting wrappers around glibc's own entry
 * points, and offers mallinfo2()'s bytes in use as a second witness. Under ASan (which
 * brings its own allocator) or another libc, TEST_COUNTS_ALLOCS stays undefined and the
 * test runs its traffic without checking counts. */
#ifndef DSRTP_ALLOC_COUNT_H
#define DSRTP_ALLOC_COUNT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_HAS_ASAN 1
#endif
#endif

#if defined(__GLIBC__) && !defined(TEST_HAS_ASAN) && (defined(__GNUC__) || defined(__clang__))
#define TEST_COUNTS_ALLOCS 1
#include <malloc.h>

/* glibc's own allocator entry points, which it exports so that a replacement can wrap them
 * (and its free can release what they return). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t count, size_t n);
extern void *__libc_realloc(void *p, size_t n);

static unsigned long alloc_calls;

/* The build hides symbols by default; libcrypto must bind to these. */
__attribute__((visibility("default"))) void *malloc(size_t n)
{
    alloc_calls++;
    return __libc_malloc(n);
}

__attribute__((visibility("default"))) void *calloc(size_t count, size_t n)
{
    alloc_calls++;
    return __libc_calloc(count, n);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t n)
{
    alloc_calls++;
    return __libc_realloc(p, n);
}

static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}
#endif

#endif
