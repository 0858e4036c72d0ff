/* dsrtp: DTLS-SRTP media keying in C.
 *
 * This umbrella header declares what every layer shares: the error enum, time, and the
 * export macros. Include the per-layer headers (dsrtp/srtp.h, ...) for the objects. */
#ifndef DSRTP_DSRTP_H
#define DSRTP_DSRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DSRTP_API __attribute__((visibility("default")))
#define DSRTP_MUST_CHECK __attribute__((warn_unused_result))
#else
#define DSRTP_API
#define DSRTP_MUST_CHECK
#endif

#define DSRTP_VERSION_STRING "0.1.0"

/** Microseconds on a monotonic timeline the caller chooses. */
typedef uint64_t dsrtp_time;
#define DSRTP_TIME_NEVER UINT64_MAX

/** Every fallible call returns one of these. MALFORMED, AUTH and REPLAY are verdicts on
 *  hostile input: the input was dropped and the object is unchanged. */
typedef enum dsrtp_err {
    DSRTP_OK = 0,
    DSRTP_ERR_INVALID_ARG,      /* caller bug: NULL, bad enum value, wrong state */
    DSRTP_ERR_BUFFER_TOO_SMALL, /* no room in the caller's buffer; nothing changed */
    DSRTP_ERR_MALFORMED,        /* input does not parse */
    DSRTP_ERR_AUTH,             /* tag, integrity or fingerprint mismatch */
    DSRTP_ERR_REPLAY,           /* already seen, or too old for the replay window */
    DSRTP_ERR_KEY_EXHAUSTED,    /* the packet-count limit of the master key is reached */
    DSRTP_ERR_TABLE_FULL,       /* a new stream does not fit the table sized at creation */
    DSRTP_ERR_UNSUPPORTED,      /* valid, but not something this library does */
    DSRTP_ERR_NO_MEMORY,
    DSRTP_ERR_CRYPTO,           /* the crypto back end failed */
    DSRTP_ERR_CLOSED,
    DSRTP_ERR_NOT_READY,        /* no keys (or no path) yet: nothing sent or accepted */
    DSRTP_ERR_INTERNAL
} dsrtp_err;

/** What a poll_output call returned; every sans-IO object has the same shape. */
typedef enum dsrtp_output_kind {
    DSRTP_OUT_IDLE = 0, /* nothing now: wait for input or until the deadline */
    DSRTP_OUT_DATAGRAM, /* len bytes in the caller's buffer go to the peer */
    DSRTP_OUT_EVENT     /* an event: something happened */
} dsrtp_output_kind;

/** Static English text for an error; never NULL, also for values out of range. */
DSRTP_API const char *dsrtp_strerror(dsrtp_err err);

/** True when the object that returned err is unusable afterwards and must be freed. */
DSRTP_API bool dsrtp_err_is_fatal(dsrtp_err err);

/** The library version, e.g. "0.1.0"; static text. */
DSRTP_API const char *dsrtp_version(void);

#ifdef __cplusplus
}
#endif

#endif
