/* dsrtpd: the WebRTC-to-trunk media gateway. Shared state of its files:
 *   main.c     arguments, signals, the epoll loop, timers, shutdown
 *   net.c      UDP sockets (dsrtp_addr <-> sockaddr) and the structured log
 *   ports.c    the media port pool
 *   call.c     the call table and its offer/answer exchanges; re-offers; delete-delay
 *   leg.c      a leg's sockets and session: start, updates, ICE restart, new DTLS
 *   streams.c  sorting a bundled side's media into the call's streams
 *   call_sdp.c SDP rewriting for each side (offer towards B, answer towards A, and the
 *              re-offers and answers of later exchanges from either side)
 *   relay.c    media: unprotect on one leg, protect on the other; session events
 *   control.c  ng commands (offer, answer, delete, query, list, statistics, ping)
 *   metrics.c  Prometheus /metrics on its own libmicrohttpd thread
 *
 *   worker.c   worker threads: one loop each over its calls' legs; jobs from main
 *   uring.c    the workers' io_uring loop (worker.c's epoll loop where io_uring is refused)
 *
 * Threading: the main thread runs the ng control socket and signals on the root context.
 * Each worker thread has its own gw context (epoll set, calls, counters, packet buffers) and
 * alone touches its calls, legs and sessions; the main thread reaches a call by posting a job
 * to the owning worker and waiting for it (call setup only, never per packet). The port pool
 * (root) is shared under a mutex taken at call setup and teardown. The metrics thread reads
 * only the atomic counters in gw_metrics. */
#ifndef DSRTPD_GW_H
#define DSRTPD_GW_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>

#include <dsrtp/dtls.h>
#include <dsrtp/sdp.h>
#include <dsrtp/session.h>

#include "streams.h"

#define GW_TAG_MAX 256
#define GW_CALLID_MAX 256
#define GW_SDP_MAX 65536
#define GW_PKT_MAX 2048
#define GW_SDES_OFFERED 4 /* a=crypto lines we offer at most (SDES=only-... may ask for more) */
#define GW_STREAMS_MAX 4 /* RTP m-lines relayed per call; further ones are refused (port 0) */
#define GW_BATCH 32 /* datagrams per recvmmsg/sendmmsg */
#define GW_WORKERS_MAX 64
#define GW_IFACES_MAX 8        /* --interface options */
#define GW_IFACE_NAME_MAX 32
#define GW_MAX_HANDSHAKES_DEFAULT 32 /* --max-handshakes: per worker (README, dsrtpd) */

/* What the ng flags ask for on the side the offer goes to (and for the answer). */
typedef enum gw_ice { GW_ICE_DEFAULT = 0, GW_ICE_FORCE, GW_ICE_REMOVE } gw_ice;
typedef enum gw_mux {
    GW_MUX_DEFAULT = 0, GW_MUX_OFFER, GW_MUX_REQUIRE, GW_MUX_DEMUX, GW_MUX_ACCEPT, GW_MUX_REJECT
} gw_mux;

typedef struct gw_opts {
    const char *transport; /* transport-protocol; NULL: same as the offer */
    gw_ice ice;
    bool dtls_off;
    dsrtp_sdp_setup dtls_setup; /* NONE: actpass when we offer DTLS */
    bool sdes_off;
    /* SDES=no-<suite> / only-<suite>: bit (1u << dsrtp_profile) per suite left out of, or
     * alone allowed in, an SDES offer we make (only: 0 = no limit) */
    uint32_t sdes_no, sdes_only;
    gw_mux rtcp_mux;
    bool replace_origin;
    bool replace_session_connection;
    /* direction: the interfaces of the offering side and of the side the offer goes to
     * (indexes into gw_config.ifaces; -1: not named) */
    int iface[2];
} gw_opts;

/* Tags for epoll's data.ptr: every registered object starts with one. */
typedef enum gw_fd_kind {
    GW_FD_NG = 1, GW_FD_SIGNAL, GW_FD_LEG, GW_FD_NG_TCP, GW_FD_WAKE, GW_FD_LEG_RTCP
} gw_fd_kind;

struct gw_call;
struct gw_leg;

/* The epoll tag of a leg's separate RTCP socket (GW_FD_LEG_RTCP): names the leg. */
typedef struct gw_rtcp_tag {
    gw_fd_kind kind;
    struct gw_leg *leg;
} gw_rtcp_tag;

/* What the offer/answer decided for one side, kept for later exchanges. The peer's
 * fingerprints and SDES key (the rest of a dsrtp_sdp_decision) go to the leg's session;
 * the gateway keeps them only until then (gw_leg.pending). */
typedef struct gw_agreed {
    dsrtp_dtls_role role;        /* DTLS: our role; UNSET without a handshake */
    dsrtp_sdp_setup local_setup; /* a=setup of our description */
    dsrtp_hash fingerprint_hash; /* hash for our a=fingerprint: the one the peer used */
    dsrtp_profile sdes_profile;  /* SDES: the suite in use */
    uint32_t sdes_tag;           /* the a=crypto tag our answer carries */
} gw_agreed;

/* Our ICE-lite credentials towards a side: base64 of 6 and 18 random bytes. */
#define GW_ICE_UFRAG_LEN 8
#define GW_ICE_PWD_LEN 24

typedef struct gw_leg {
    gw_fd_kind kind; /* GW_FD_LEG: first member */
    struct gw_call *call;
    int idx; /* 0: A, the offering side; 1: B, the side the offer goes to */
    /* Which stream of the call (0: the first, whose legs also keep the side's SDP state
     * below) and its m-line (the same index in every description of the call). */
    uint8_t stream, mline;
    /* The side bundles (RFC 8843): this stream rides on the side's stream-0 leg, its
     * transport (socket, session, keys, ICE); the leg has no socket or session itself. */
    bool bundled;
    /* An answer refused the stream (port 0): nothing is relayed for it, later descriptions
     * keep it refused. */
    bool off;
    int fd;
    uint16_t port;
    char *tag; /* the side's SIP tag (never NULL once the leg is open; "" when unknown) */
    dsrtp_keying keying;
    bool ice;      /* we run ICE-lite towards this side */
    bool rtcp_mux;
    /* Without rtcp-mux on a plain or SDES leg: RTCP on our port + 1 (-1: none, RTCP shares
     * the RTP socket). Its datagrams go into the leg's one session, fed as if they came from
     * rtp_peer so that latching never moves RTP to the peer's RTCP port; RTCP for this leg
     * leaves from it to rtcp_peer (the peer's a=rtcp, then the source of its RTCP), or else
     * to the RTP path's port + 1. */
    int rtcp_fd;
    gw_rtcp_tag rtcp_tag;
    dsrtp_addr rtp_peer; /* where the session sends RTP (SDP, then ICE or latching) */
    dsrtp_addr rtcp_peer;
    bool has_rtcp_peer;
    dsrtp_session *session;
    gw_agreed agreed;
    /* The whole keying decision (secret: the peer's SDES key) from the exchange that made
     * it until the leg's session has taken it (start or update); NULL otherwise. */
    dsrtp_sdp_decision *pending;
    /* SDES: the suites we offered (or answered) and our send key for each (secret; the
     * keys are allocated for an SDES leg only: NULL on others). */
    dsrtp_profile sdes_profiles[GW_SDES_OFFERED];
    dsrtp_sdp_key *sdes_keys; /* GW_SDES_OFFERED entries */
    size_t sdes_count;
    char ice_ufrag[GW_ICE_UFRAG_LEN + 1];
    char ice_pwd[GW_ICE_PWD_LEN + 1]; /* secret */
    bool started, ready, failed, closed;
    /* Added by a re-offer from the other side and not answered yet: our offer towards this
     * side is its first one (a new port, actpass, fresh keys). */
    bool fresh;
    /* --max-handshakes (worker.c): hs_slot while the leg's DTLS handshake runs and counts
     * against the worker's cap; hs_queued while it waits for a slot, configured but not
     * started (on the worker's queue through hs_prev/hs_next). */
    bool hs_slot, hs_queued;
    struct gw_leg *hs_prev, *hs_next;
    bool dirty; /* uring.c: media went through; flush its session at the end of the chunk */
    dsrtp_time deadline;
    /* media counters (worker thread only; copied into metrics atomically) */
    uint64_t rtp_in, rtcp_in, bytes_in, rtp_out, rtcp_out, bytes_out;
    uint64_t auth_failures, replays;
    /* Offer/answer state, kept across re-offers (call.c, call_sdp.c). The descriptions are
     * kept as text: parsed while the first exchange runs and again when a later one needs
     * them (call.c gw_call_parse), but not while the call just relays. */
    char *mid;            /* the a=mid of this stream towards this side (NULL: none) */
    bool bundle;          /* stream 0: this side groups its streams with a=group:BUNDLE */
    char *remote_text;    /* the last description this side sent (secret: its SDES key) */
    size_t remote_len;
    char *sent_sdp;       /* the SDP we last gave this side (secret: SDES keys, ICE pwd) */
    size_t sent_len;
    uint64_t sdp_version; /* the o= session version in sent_sdp (RFC 3264 §8) */
    dsrtp_sdp *remote_sdp; /* remote_text parsed, or NULL (see above) */
    dsrtp_sdp *local_sdp;  /* what we sent this side (offer for B, answer for A), or NULL */
} gw_leg;

/* The streams of a call after the first, for descriptions with several RTP m-lines (audio
 * and video). A bundled side's packets are told apart by payload type (each m-line's
 * formats), RTCP by the SSRCs the call's RTP carried (streams.h, relay.c). */
typedef struct gw_streams {
    unsigned count;                    /* streams of the call, 2..GW_STREAMS_MAX */
    bool bundled[2];                   /* side 0/1 bundles every stream on stream 0's leg */
    gw_leg leg[2][GW_STREAMS_MAX - 1]; /* stream k >= 1 of side i: leg[i][k - 1] */
    gw_stream_map map;
} gw_streams;

typedef struct gw_call {
    gw_leg leg[2]; /* stream 0 of each side */
    uint8_t iface[2]; /* each side's interface (gw_config.ifaces), fixed by the first offer */
    gw_streams *more; /* NULL: one stream */
    dsrtp_time created;
    dsrtp_time last_media;
    bool answered;
    bool dead; /* deleted: freed at the end of the loop iteration */
    struct gw_call *next;
    /* Re-offers (SIP re-INVITEs) may come from either side: the side whose offer was the
     * last one (0 A, 1 B); the next answer comes from the other. */
    int offerer;
    bool reoffered;          /* an offer after the first one was seen */
    dsrtp_time last_signal;  /* last offer or answer */
    dsrtp_time delete_at;    /* a delete with delay: freed then (DSRTP_TIME_NEVER: none) */
    char callid[];           /* NUL-terminated, shorter than GW_CALLID_MAX */
} gw_call;

/* Streams of call c (1 without c->more). */
static inline unsigned gw_call_streams(const gw_call *c)
{
    return c->more != NULL ? c->more->count : 1;
}

/* Stream k's leg on side i (k < gw_call_streams(c)). */
static inline gw_leg *gw_call_leg(gw_call *c, int i, unsigned k)
{
    return k == 0 ? &c->leg[i] : &c->more->leg[i][k - 1];
}

/* Side l->idx's stream-0 leg, which keeps the side's descriptions and tag. */
static inline gw_leg *gw_side(const gw_leg *l)
{
    return &l->call->leg[l->idx];
}

/* The leg whose socket and session carry leg l's media: l itself, or its side's stream-0
 * leg when the side bundles. */
static inline gw_leg *gw_leg_via(gw_leg *l)
{
    return l->bundled ? &l->call->leg[l->idx] : l;
}

/* Counters the metrics thread reads. */
#define GW_NG_CMDS 8 /* ping offer answer delete query list statistics other */
typedef struct gw_metrics {
    atomic_uint_fast64_t calls_current, legs_current, calls_total, calls_timeout;
    atomic_uint_fast64_t packets[2][2]; /* [direction: 0 A->B, 1 B->A][0 rtp, 1 rtcp] */
    atomic_uint_fast64_t bytes[2];
    atomic_uint_fast64_t auth_failures, replays, dropped;
    atomic_uint_fast64_t dtls_ok, dtls_failed, dtls_us_sum;
    atomic_uint_fast64_t dtls_buckets[8]; /* handshake durations, see metrics.c */
    /* gauges (each worker stores its own): handshakes running, legs waiting for a slot,
     * and the most that ever ran at once */
    atomic_uint_fast64_t dtls_running, dtls_queued, dtls_running_peak;
    atomic_uint_fast64_t ng[GW_NG_CMDS][2]; /* [command][0 ok, 1 error] */
} gw_metrics;

typedef enum gw_io_mode { GW_IO_AUTO = 0, GW_IO_EPOLL, GW_IO_URING } gw_io_mode;

typedef struct gw_uring gw_uring;

/* A media interface (--interface [NAME/]ADDR[!ADVERTISED]): ports bind to ADDR, SDP names
 * ADVERTISED (the public address of a NATed host), or ADDR. */
typedef struct gw_iface {
    char name[GW_IFACE_NAME_MAX]; /* "default" when not named */
    dsrtp_addr bind;              /* port 0 */
    char adv[64];                 /* the address as SDP writes it */
} gw_iface;

typedef struct gw_config {
    const char *listen_ng;
    const char *listen_http;
    gw_iface ifaces[GW_IFACES_MAX]; /* the first one is the default */
    unsigned iface_count;
    uint16_t port_min, port_max;
    unsigned timeout; /* seconds */
    unsigned max_calls;
    unsigned workers; /* worker threads, each with its own loop */
    gw_io_mode io;    /* the workers' I/O: io_uring when it can be had, or epoll */
    const char *log_path;
    bool verbose;
    unsigned delete_delay; /* seconds a deleted call still relays (--delete-delay) */
    unsigned max_handshakes; /* DTLS handshakes running at once per worker (0: no cap) */
} gw_config;

typedef struct gw_ports {
    uint16_t min, max;
    uint8_t *used; /* one byte per even port */
    size_t count, next, in_use;
} gw_ports;

typedef struct gw {
    gw_config cfg;
    int epfd;
    gw_ports ports;
    dsrtp_cert *cert;
    gw_call *calls;
    size_t call_count;
    dsrtp_time next_deadline;
    gw_metrics m;
    bool stopping;
    /* worker: DTLS handshakes ended or calls were freed since the last heap trim */
    bool trim_due;
    dsrtp_time trimmed_at;
    unsigned handshakes_in_tick; /* DTLS handshakes ended since the last tick */
    /* worker: DTLS handshakes running (legs with hs_slot) and the legs waiting for one,
     * oldest first (--max-handshakes) */
    unsigned hs_running, hs_peak;
    size_t hs_waiting;
    gw_leg *hs_head, *hs_tail;
    uint8_t pkt[GW_PKT_MAX + 64];
    uint8_t tx[GW_PKT_MAX + 64];
    /* Threads. root: the main context (port pool, workers); a worker's root points there. */
    struct gw *root;
    struct gw *workers[GW_WORKERS_MAX]; /* root only */
    unsigned worker_count, next_worker;  /* root only */
    unsigned worker_id;
    gw_call *dead_calls;                 /* deleted, freed at the end of the loop iteration */
    gw_fd_kind wake_tag;                 /* GW_FD_WAKE: the eventfd jobs arrive on */
    int wake_fd;
    gw_uring *uring; /* worker: its io_uring loop; NULL: the epoll loop */
    int io_ready;    /* worker start: 1 running, -1 failed (under job_lock) */
    pthread_t thread;
    pthread_mutex_t job_lock;
    pthread_cond_t job_cond;
    struct gw_job *jobs;
    /* Batched receive: GW_BATCH datagrams, each with room for the SRTCP trailer added on
     * the way out (worker only). */
    uint8_t batch[GW_BATCH][GW_PKT_MAX + 64];
} gw;

/* The interface of leg l's side. */
static inline const gw_iface *gw_leg_iface(const gw *g, const gw_leg *l)
{
    return &g->cfg.ifaces[l->call->iface[l->idx]];
}

/* A function run on a worker's thread on behalf of the main thread. */
typedef struct gw_job {
    void (*fn)(gw *w, void *arg);
    void *arg;
    bool done;
    struct gw_job *next;
} gw_job;

/* net.c */
int gw_udp_bind(const dsrtp_addr *a, int *fd);
int gw_sendto(int fd, const dsrtp_addr *to, const uint8_t *buf, size_t len);
int gw_to_sockaddr(const dsrtp_addr *a, void *ss, unsigned *sslen);
void gw_from_sockaddr(const void *ss, dsrtp_addr *a);
void gw_addr_ip(const dsrtp_addr *a, char *out, size_t cap);
int gw_log_open(const char *path);
void gw_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_log_set_verbose(bool on);
/* A peer address for the log: "ip:port" with --verbose, else with the host part hidden
 * ("192.0.2.x:5060", "[2001:db8:1::x]:5060"). */
void gw_addr_log(const dsrtp_addr *a, char *out, size_t cap);

/* ports.c */
int gw_ports_init(gw_ports *p, uint16_t min, uint16_t max);
void gw_ports_clear(gw_ports *p);
/* Binds an even port of the pool on address `on`: 0 (fd and port set), or -1 when none is
 * free. */
int gw_ports_take(gw *g, const dsrtp_addr *on, int *fd, uint16_t *port);
void gw_ports_give(gw_ports *p, uint16_t port);
size_t gw_ports_free(gw_ports *p);

/* call.c */
gw_call *gw_call_find(gw *g, const char *callid);
/* Parses the kept descriptions of both legs that are not parsed (remote_sdp, local_sdp):
 * 0, or -1 and err set. gw_call_unparse drops them again once the call was answered. */
int gw_call_parse(gw_call *c, const char **err);
void gw_call_unparse(gw_call *c);
/* Media type and transport protocol of the side's m-line (its own description, else ours),
 * for queries; "audio" and "" when there is none. */
void gw_leg_media(const gw_leg *l, char *type, size_t type_cap, char *proto, size_t proto_cap);
/* offer/answer: the SDP for the other side into out (NUL-terminated); -1 and err set. */
int gw_call_offer(gw *g, const char *callid, const char *from_tag, const char *sdp, size_t len,
                  const gw_opts *o, char *out, size_t cap, size_t *out_len, const char **err);
int gw_call_answer(gw *g, const char *callid, const char *from_tag, const char *to_tag,
                   const char *sdp, size_t len, const gw_opts *o, char *out, size_t cap,
                   size_t *out_len, const char **err);
void gw_call_delete(gw *g, gw_call *c, const char *why);
/* delete with a delay (seconds; 0: now): the call relays and answers queries until then;
 * an offer or answer for it in the meantime cancels the deletion. */
void gw_call_delete_later(gw *g, gw_call *c, unsigned seconds);
void gw_call_reap(gw *g); /* frees dead calls */
void gw_calls_tick(gw *g, dsrtp_time now); /* session timers and media timeouts */
void gw_calls_close_all(gw *g);

/* call_sdp.c */
/* New ICE-lite credentials: GW_ICE_UFRAG_LEN and GW_ICE_PWD_LEN random ice-chars (the
 * password is a secret). Aborts if the CSPRNG fails. */
void gw_ice_creds_make(char ufrag[GW_ICE_UFRAG_LEN + 1], char pwd[GW_ICE_PWD_LEN + 1]);
/* The streams of a description: the m-lines (at most GW_STREAMS_MAX) that are RTP and
 * active (a port, or a=bundle-only), into mlines; returns their count. */
unsigned gw_sdp_pick_streams(const dsrtp_sdp *d, uint8_t mlines[GW_STREAMS_MAX]);
/* m-line i of d is in use: a port other than 0, or a=bundle-only (RFC 8843 §6). */
bool gw_sdp_mline_active(const dsrtp_sdp *d, size_t i);
/* d's BUNDLE group names the m-line of every stream of c that is not off, the first
 * stream's first. */
bool gw_sdp_bundles_all(const dsrtp_sdp *d, gw_call *c);
/* Decides every leg of a new call from A's offer (leg[0].remote_sdp) and the flags: A's
 * keying as answerer, B's from the flags, which side bundles, B's a=mid values. Legs have
 * their stream and m-line set; ports are not taken yet. 0, or -1 and err set. */
int gw_sdp_plan(gw *g, gw_call *c, const gw_opts *o, const char **err);
/* Room for streams after the first (c->more, with one stream counted): 0, or -1 (out of
 * memory). A call that has it keeps it. */
int gw_call_more(gw_call *c);
/* Streams a re-offer from side xi adds (active RTP m-lines of its description, now
 * leg[xi].remote_sdp, that are no stream yet; up to GW_STREAMS_MAX in all): their legs, decided
 * as answerer on xi's side and as a fresh offer on the other, bundled where the side
 * bundles; one whose keying cannot be had is refused (port 0) instead. Ports are not
 * taken. Returns the number of streams before, or -1 and err set. */
int gw_sdp_add_streams(gw *g, gw_call *c, int xi, const char **err);
/* The first offer towards B from A's offer, once the legs have ports: leg[1].local_sdp. */
int gw_sdp_offer_b(gw *g, gw_call *c, const gw_opts *o, const char **err);
/* The answer towards side xi (whose offer is leg[xi].remote_sdp) from the other side's
 * answer: replaces leg[xi].local_sdp. */
int gw_sdp_answer(gw *g, gw_call *c, int xi, const char **err);
/* Keeps decision d for leg l (copied): gw_agreed, and the whole of it in l->pending until
 * the session takes it. 0, or -1 (out of memory). */
int gw_leg_decide(gw_leg *l, const dsrtp_sdp_decision *d);
/* Reads a later offer from leg x (m: its m-line) into *out: the leg's keying and SDES suite
 * must stay; its DTLS association too unless a new one can be had (*renew: another
 * fingerprint, tls-id or role on a leg without ICE, or with ice_restart, the description
 * restarting ICE). A clear error otherwise. */
int gw_sdp_check_offer(const gw_leg *x, const dsrtp_sdp_media *m, bool ice_restart,
                       dsrtp_sdp_decision *out, bool *renew, const char **err);
/* Reads leg y's answer to our offer (its side's local_sdp) into *out, with the same checks
 * once the leg runs (ice_restart: the answer brings other ICE credentials, as a forked
 * answer from another endpoint does). */
int gw_sdp_check_answer(const gw_leg *y, const dsrtp_sdp_media *m, bool ice_restart,
                        dsrtp_sdp_decision *out, bool *renew, const char **err);
/* A later offer towards side yi from the other side's latest offer: y keeps its port,
 * keying, keys, ICE credentials, DTLS role, rtcp-mux and a=mid. Replaces local_sdp. */
int gw_sdp_reoffer(gw *g, gw_call *c, int yi, const gw_opts *o, const char **err);
/* Notes the a=mid of each stream's m-line in description d, from side `side`, and whether
 * that side groups them with BUNDLE: 0, or -1 (out of memory). */
int gw_sdp_take_mids(gw_call *c, int side, const dsrtp_sdp *d);
/* The peer as the leg's session sees it, from m and l->pending (-1 without one). */
int gw_sdp_fill_remote(const gw_leg *l, const dsrtp_sdp_media *m, dsrtp_session_remote *r);
int gw_leg_session_new(gw *g, gw_leg *l);

/* leg.c */
/* Wipes (a secret: SDES keys, ICE passwords) and frees a kept text; NULL afterwards. */
void gw_text_drop(char **text, size_t *len);
/* Frees the parsed descriptions a side's first leg keeps (the texts stay). */
void gw_leg_unparse(gw_leg *l);
/* Closes a leg's sockets (its port back to the pool), frees its session and wipes it. */
void gw_leg_clear(gw *g, gw_leg *l);
/* Replaces a leg's SIP tag with a copy of text (NULL: ""): 0, or -1 (out of memory; the
 * tag stays). */
int gw_leg_set_tag(gw_leg *l, const char *text);
/* Leg l of side idx for stream k on m-line mline, no socket yet; stream 0's names its
 * side by tag. 0, or -1 (out of memory). */
int gw_leg_init(gw_call *c, gw_leg *l, int idx, unsigned k, uint8_t mline, const char *tag);
/* A port and socket for leg l, watched by the worker: 0, or -1 and err set. */
int gw_leg_open(gw *g, gw_leg *l, const char **err);
/* RTCP on our port + 1 for a plain or SDES leg without rtcp-mux (logged when it cannot
 * be had: RTCP then stays on the RTP port). */
void gw_leg_open_rtcp(gw *g, gw_leg *l);
/* Configures and starts the leg's session from its pending decision and its side's remote
 * description (a DTLS leg may wait for a handshake slot instead): 0, or -1. */
int gw_leg_start(gw *g, gw_leg *l);
/* Starts a leg that waited for a handshake slot (worker.c gw_hs_pump); -1 when its session
 * refuses to start (the leg is marked failed). */
int gw_leg_start_queued(gw *g, gw_leg *l);
/* Tells a running leg's session what its side's latest description changed: 0, or -1. */
int gw_leg_update(gw *g, gw_leg *l);
/* The peer changed its ICE credentials between prev and m (an ICE restart). */
bool gw_ice_restarted(const dsrtp_sdp_media *prev, const dsrtp_sdp_media *m);
/* Restarts ICE on a running leg with new credentials of ours (m: the peer's new ones):
 * 0, or -1 (nothing changed). */
int gw_leg_restart_ice(gw_leg *l, const dsrtp_sdp_media *m);
/* Keeps only the SDES send key of the suite agreed, once the leg runs. */
void gw_leg_keep_used_sdes_key(gw_leg *l);
/* Ends the leg's DTLS association and session for a new one (RFC 8842 §5), started by the
 * next gw_leg_start; new ICE credentials of ours when new_creds. by: for the log. */
void gw_leg_renew(gw *g, gw_leg *l, bool new_creds, const char *by);

/* relay.c */
/* Where one relayed datagram goes: from socket fd to dst. */
typedef struct gw_out {
    int fd;
    bool rtcp;
    size_t len;
    struct sockaddr_storage dst;
    socklen_t dst_len;
} gw_out;
/* One datagram buf[0..len) read from src on leg l's RTP socket (its RTCP socket when
 * rtcp_sock) goes through l's session; media is re-protected in place for the same stream
 * on the other side (buf has GW_PKT_MAX + 64 bytes of room): from a bundled side the
 * stream is told by payload type (RTCP: SSRC). true and *o filled when it is to be sent. */
bool gw_relay_datagram(gw *g, gw_leg *l, bool rtcp_sock, const struct sockaddr_storage *src,
                       uint8_t *buf, size_t len, dsrtp_time now, gw_out *o);
/* Counts one relayed datagram from side from_idx that the kernel took (the metrics; the
 * legs' own counters count what gw_relay_datagram queued). */
void gw_relay_sent(gw *g, int from_idx, bool rtcp, size_t len);
void gw_leg_readable(gw *g, gw_leg *l);
void gw_leg_rtcp_readable(gw *g, gw_leg *l); /* the leg's separate RTCP socket */
void gw_leg_flush(gw *g, gw_leg *l);

/* control.c */
typedef void (*gw_ng_send_fn)(void *ctx, const uint8_t *reply, size_t len);
/* Acts on one request msg[0..len) ("<cookie> <dict>") from src (the peer's sockaddr_storage,
 * src_len bytes of it used: logged, and the retransmission cache's key); hands the reply, if
 * any, to send(ctx, ...) before returning. */
void gw_ng_request(gw *g, const uint8_t *msg, size_t len, const void *src, size_t src_len,
                   gw_ng_send_fn send, void *ctx);
void gw_ng_readable(gw *g, int fd);
void gw_ng_shutdown(void);

/* control_tcp.c: ng over TCP on the --listen-ng address (requests back to back, each one
 * cookie, space, bencoded dict). open registers one epoll fd tagged `tag` in g->epfd. */
int gw_ng_tcp_open(gw *g, const dsrtp_addr *a, void *tag);
void gw_ng_tcp_readable(gw *g);
void gw_ng_tcp_close(void);

/* worker.c */
int gw_workers_start(gw *root, unsigned count);
void gw_workers_stop(gw *root); /* ends every call (close_notify), joins the threads */
/* Runs fn(w, arg) on worker w's thread and waits for it to finish. Main thread only. */
void gw_worker_run(gw *w, void (*fn)(gw *w, void *arg), void *arg);
/* The worker owning call-id, or NULL. Main thread only. */
gw *gw_worker_find(gw *root, const char *callid);
/* The worker a new call goes to (round-robin). Main thread only. */
gw *gw_worker_pick(gw *root);
/* Watches socket fd of a worker for reading; tag is an object whose first member is its
 * gw_fd_kind (a leg, an RTCP tag). 0, or -1 (errno). Worker thread only. */
int gw_io_watch(gw *w, int fd, void *tag);
/* Stops watching fd (before the caller closes it). Worker thread only. */
void gw_io_unwatch(gw *w, int fd);
/* Runs the jobs posted to worker w (its wake eventfd was readable). Worker thread only. */
void gw_worker_jobs(gw *w);
/* --max-handshakes. Admit: true when leg l's DTLS handshake may start now (it holds a slot
 * until gw_hs_end), false when the leg is queued (or stays queued) for a slot. End: the
 * leg's handshake completed or failed, or the leg goes away: its slot frees, or it leaves
 * the queue (no-op otherwise). Pump: starts queued legs while slots are free (the worker's
 * loop, once per round). Worker thread only; nothing allocates. */
bool gw_hs_admit(gw *w, gw_leg *l);
void gw_hs_end(gw *w, gw_leg *l);
void gw_hs_pump(gw *w);
/* Adds every worker's counters and the root's into out (any thread). */
void gw_metrics_sum(gw *root, gw_metrics *out);

/* uring.c: a worker's io_uring loop (see there). Worker thread only. */
int gw_uring_init(gw *w); /* 0, or -1 with errno when the kernel refuses io_uring */
void gw_uring_free(gw *w);
int gw_uring_watch(gw *w, int fd, void *tag);
void gw_uring_unwatch(gw *w, int fd);
/* One round: submits what is queued, waits up to timeout_ms (-1: no limit) for
 * completions and handles them all. */
void gw_uring_wait(gw *w, int timeout_ms);

/* metrics.c */
int gw_metrics_start(gw *g);
void gw_metrics_stop(void);
void gw_metrics_dtls(gw *g, dsrtp_time us, bool ok);
void gw_metrics_ng(gw *g, int cmd, bool ok);

#endif
