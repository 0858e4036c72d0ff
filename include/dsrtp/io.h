/* An optional Linux UDP runner for the programs: a non-blocking socket with an epoll wait,
 * the monotonic clock, and the drain-then-wait loop of a session. The only library code
 * that touches sockets or clocks; the engines never call it. */
#ifndef DSRTP_IO_H
#define DSRTP_IO_H

#include <dsrtp/session.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A bound UDP socket and its epoll set. Threading: single owner. */
typedef struct dsrtp_udp dsrtp_udp;

/** Opens a non-blocking UDP socket bound to addr (port 0 picks a free one).
 *  DSRTP_ERR_INVALID_ARG for a bad address; DSRTP_ERR_CLOSED when the kernel refuses the
 *  socket or the bind (errno tells why); DSRTP_ERR_NO_MEMORY. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_udp_open(const dsrtp_addr *addr, dsrtp_udp **out);
/** Closes the socket and frees it. NULL is a no-op. */
DSRTP_API void dsrtp_udp_close(dsrtp_udp *u);
/** The address the socket is bound to (with the port the kernel chose). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_udp_local_addr(const dsrtp_udp *u, dsrtp_addr *out);
/** Sends one datagram. DSRTP_ERR_CLOSED if the kernel refuses it (the datagram is lost,
 *  as UDP may lose it anyway). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_udp_send(dsrtp_udp *u, const dsrtp_addr *to,
                                                    const uint8_t *buf, size_t len);
/** Receives one datagram if one is waiting: DSRTP_ERR_NOT_READY when none is. A datagram
 *  longer than cap is dropped (DSRTP_ERR_BUFFER_TOO_SMALL). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_udp_recv(dsrtp_udp *u, uint8_t *buf, size_t cap,
                                                    size_t *len, dsrtp_addr *from);
/** Waits until the socket is readable or the monotonic clock reaches deadline. */
DSRTP_API void dsrtp_udp_wait(dsrtp_udp *u, dsrtp_time deadline);
/** The monotonic clock in microseconds: the `now` the programs feed the engines. */
DSRTP_API dsrtp_time dsrtp_io_now(void);

/** Drains a session's output: sends every datagram through u and hands every event to
 *  on_event (may be NULL). Returns the deadline of the final IDLE, or DSRTP_TIME_NEVER
 *  after a fatal error (then *err holds it). */
DSRTP_API dsrtp_time dsrtp_io_flush(dsrtp_udp *u, dsrtp_session *s,
                                    void (*on_event)(void *arg, const dsrtp_session_event *e),
                                    void *arg, dsrtp_err *err);

#ifdef __cplusplus
}
#endif

#endif
