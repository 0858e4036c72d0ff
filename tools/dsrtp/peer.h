/* `dsrtp peer`: a whole media endpoint that exchanges SDP through files. Shared state of
 * its three files: peer.c (flow, loop, report), peer_sdp.c (offer/answer), peer_media.c
 * (RTP/RTCP generation). */
#ifndef DSRTP_TOOL_PEER_H
#define DSRTP_TOOL_PEER_H

#include <stdio.h>

#include <dsrtp/dtls.h>
#include <dsrtp/io.h>
#include <dsrtp/sdp.h>
#include <dsrtp/session.h>

#define PEER_SDP_MAX 16384
#define PEER_SDES_TAGS 2

typedef struct peer_opts {
    bool offerer;
    const char *local_sdp;
    const char *remote_sdp;
    double duration;
    dsrtp_keying keying;
    dsrtp_addr bind;
    bool tone; /* else silence */
    bool echo;
    bool trace;
    const char *name; /* "offer" / "answer" in traces */
} peer_opts;

typedef struct peer {
    peer_opts o;
    dsrtp_udp *udp;
    dsrtp_addr local;
    dsrtp_cert *cert;
    dsrtp_session *session;
    dsrtp_sdp *local_desc;
    dsrtp_sdp *remote_desc;
    dsrtp_sdp_decision decision;
    /* SDES keys we offered (offerer) or generated (answerer), by position. */
    dsrtp_profile sdes_profiles[PEER_SDES_TAGS];
    dsrtp_sdp_key sdes_keys[PEER_SDES_TAGS];
    size_t sdes_count;
    char ice_ufrag[DSRTP_ICE_CRED_MAX];
    char ice_pwd[DSRTP_ICE_CRED_MAX];
    dsrtp_time t0;
    bool ready;
    bool was_ready;
    bool closed;
    bool failed;
    char fail_reason[128];
    /* media */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint32_t phase;
    uint64_t payload_octets;
    uint32_t packets_sent;
    uint8_t echo_payload[1200];
    size_t echo_len;
    bool echo_pending;
} peer;

/* Prints a trace line (with the time since start) when tracing. */
void peer_trace(const peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Acts on a session event (dsrtp_io_flush callback; arg is the peer). */
void peer_on_event(void *arg, const dsrtp_session_event *e);

/* peer_sdp.c */
int peer_write_offer(peer *p);
int peer_read_answer(peer *p, dsrtp_session_remote *r);
int peer_answer_offer(peer *p, dsrtp_session_remote *r);
int peer_load_remote(peer *p, double wait_seconds);
int peer_write_file_atomic(const char *path, const char *text, size_t len);

/* peer_media.c */
size_t peer_make_rtp(peer *p, uint8_t *buf, size_t cap);
size_t peer_make_sr(peer *p, uint8_t *buf, size_t cap, dsrtp_time now);

#endif
