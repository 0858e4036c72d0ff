/* The worker's io_uring loop. With thousands of legs at 50 packets/s each, a readiness
 * event rarely holds more than one datagram, so the epoll loop pays a wait, a recvmmsg and
 * a sendmmsg per packet. Here every watched socket has one multishot recvmsg armed that
 * takes buffers from a ring the worker provides (URING_BUFS of them); a packet is
 * unprotected and re-protected in its buffer and leaves as a send queued from that same
 * buffer, which returns to the ring when the send completes. One io_uring_enter submits the
 * sends of a chunk of completions and collects the next ones, so the per-packet system
 * calls go away. Submission happens every URING_CHUNK completions, which bounds how long
 * a relayed packet waits for its send.
 *
 * Completions name their socket by slot and generation (user_data), never by pointer: a
 * cancelled receive may still complete after its leg is gone, and a stale generation makes
 * that completion a no-op that only recycles its buffer. Nothing here allocates on the
 * packet path; the slot table grows at watch time (call setup). Worker thread only. */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <dsrtp/io.h>

#include "gw.h"

#define URING_SQ 1024
#define URING_CQ 16384
#define URING_BUFS 1024 /* power of two */
#define URING_FIXED_MAX 65536u /* registered sockets at most (bounded by RLIMIT_NOFILE too) */
#define URING_BGID 7
#define URING_CHUNK 32
#define URING_NAME ((unsigned)sizeof(struct sockaddr_in6))
/* What the kernel may fill: header, source address, payload up to GW_PKT_MAX. */
#define URING_FILL ((unsigned)sizeof(struct io_uring_recvmsg_out) + URING_NAME + GW_PKT_MAX)
/* Each buffer also keeps 64 bytes past that for the SRTP/SRTCP trailer added on the way out. */
#define URING_SLOT ((URING_FILL + 64u + 63u) & ~63u)

enum { OP_RECV = 1, OP_SEND, OP_WAKE, OP_CANCEL };

typedef struct watch {
    int fd;
    void *tag; /* NULL: free */
    uint32_t gen;
    bool fixed; /* registered at index = slot: operations skip the per-call fd lookup */
} watch;

/* A send in flight from buffer bid: whom to count it for when it completes. */
typedef struct send_meta {
    uint32_t slot, gen; /* the destination socket's watch */
    uint8_t from_idx;
    bool rtcp;
} send_meta;

struct gw_uring {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    struct msghdr recv_hdr; /* what each multishot receive fills: the source, no control */
    watch *w;
    uint32_t nw, capw;
    uint32_t *free_slots;
    uint32_t nfree;
    uint64_t *rearm; /* gen << 32 | slot: multishot receives that ended, to arm again */
    uint32_t nrearm;
    uint32_t nfixed;      /* size of the registered-file table (0: none) */
    uint32_t *slot_by_fd; /* fd -> watch slot (UINT32_MAX: none) */
    size_t nfd;
    gw_leg *dirty[URING_CHUNK]; /* legs media went through in this chunk */
    unsigned ndirty;
    send_meta meta[URING_BUFS];
};

static uint64_t ud(unsigned op, uint32_t idx, uint32_t gen)
{
    return (uint64_t)op << 56 | (uint64_t)(idx & 0xffffffu) << 32 | gen;
}

static struct io_uring_sqe *sqe_get(gw_uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (sqe == NULL) {
        (void)io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

static void recycle(gw_uring *u, unsigned bid)
{
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * URING_SLOT, URING_FILL,
                          (unsigned short)bid, io_uring_buf_ring_mask(URING_BUFS), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

/* Arms slot's multishot receive; false when no submission entry could be had (the kernel
 * refused a submit), and the caller must try again later. */
static bool arm(gw_uring *u, uint32_t slot)
{
    struct io_uring_sqe *sqe = sqe_get(u);
    if (sqe == NULL) {
        return false;
    }
    const watch *x = &u->w[slot];
    io_uring_prep_recvmsg_multishot(sqe, x->fixed ? (int)slot : x->fd, &u->recv_hdr, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT | (x->fixed ? IOSQE_FIXED_FILE : 0);
    sqe->buf_group = URING_BGID;
    io_uring_sqe_set_data64(sqe, ud(OP_RECV, slot, u->w[slot].gen));
    return true;
}

static void arm_wake(gw *w)
{
    struct io_uring_sqe *sqe = sqe_get(w->uring);
    if (sqe != NULL) {
        io_uring_prep_poll_multishot(sqe, w->wake_fd, POLLIN);
        io_uring_sqe_set_data64(sqe, ud(OP_WAKE, 0, 0));
    }
}

int gw_uring_init(gw *w)
{
    gw_uring *u = calloc(1, sizeof *u);
    if (u == NULL) {
        return -1;
    }
    struct io_uring_params p = {
        .flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        .cq_entries = URING_CQ,
    };
    int r = io_uring_queue_init_params(URING_SQ, &u->ring, &p);
    if (r < 0) {
        free(u);
        errno = -r;
        return -1;
    }
    size_t ring_bytes = URING_BUFS * sizeof(struct io_uring_buf);
    if (posix_memalign((void **)&u->br, 4096, ring_bytes) != 0 ||
        posix_memalign((void **)&u->bufs, 64, (size_t)URING_BUFS * URING_SLOT) != 0) {
        goto fail;
    }
    io_uring_buf_ring_init(u->br);
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)u->br, .ring_entries = URING_BUFS, .bgid = URING_BGID};
    if ((r = io_uring_register_buf_ring(&u->ring, &reg, 0)) != 0) {
        errno = -r;
        goto fail;
    }
    for (unsigned i = 0; i < URING_BUFS; i++) {
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * URING_SLOT, URING_FILL,
                              (unsigned short)i, io_uring_buf_ring_mask(URING_BUFS), (int)i);
    }
    io_uring_buf_ring_advance(u->br, URING_BUFS);
    u->recv_hdr.msg_namelen = URING_NAME;
    /* Fewer fd lookups per operation: the ring's own fd and a table for the sockets.
     * Both optional; without them operations name plain fds. */
    (void)io_uring_register_ring_fd(&u->ring);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        uint32_t n = rl.rlim_cur < URING_FIXED_MAX ? (uint32_t)rl.rlim_cur : URING_FIXED_MAX;
        if (n > 0 && io_uring_register_files_sparse(&u->ring, n) == 0) {
            u->nfixed = n;
        }
    }
    w->uring = u;
    arm_wake(w);
    if ((r = io_uring_submit(&u->ring)) < 0) {
        w->uring = NULL;
        errno = -r;
        goto fail;
    }
    return 0;
fail:
    io_uring_queue_exit(&u->ring);
    free(u->br);
    free(u->bufs);
    free(u);
    return -1;
}

void gw_uring_free(gw *w)
{
    gw_uring *u = w->uring;
    if (u == NULL) {
        return;
    }
    io_uring_queue_exit(&u->ring);
    free(u->br);
    free(u->bufs);
    free(u->w);
    free(u->free_slots);
    free(u->rearm);
    free(u->slot_by_fd);
    free(u);
    w->uring = NULL;
}

static int grow(gw_uring *u)
{
    uint32_t cap = u->capw == 0 ? 256 : u->capw * 2;
    if (cap > 0xffffffu) {
        return -1;
    }
    watch *nw = realloc(u->w, cap * sizeof *nw);
    if (nw == NULL) {
        return -1;
    }
    u->w = nw;
    uint32_t *nf = realloc(u->free_slots, cap * sizeof *nf);
    if (nf == NULL) {
        return -1;
    }
    u->free_slots = nf;
    /* A slot may have a stale entry (an earlier generation) next to its live one. */
    uint64_t *nr = realloc(u->rearm, 2 * (size_t)cap * sizeof *nr);
    if (nr == NULL) {
        return -1;
    }
    u->rearm = nr;
    u->capw = cap;
    return 0;
}

/* The watch slot of socket fd, or UINT32_MAX. */
static uint32_t slot_of(const gw_uring *u, int fd)
{
    return fd >= 0 && (size_t)fd < u->nfd ? u->slot_by_fd[fd] : UINT32_MAX;
}

static int map_fd(gw_uring *u, int fd)
{
    if (fd < 0) {
        return -1;
    }
    if ((size_t)fd >= u->nfd) {
        size_t n = (size_t)fd * 2 + 64;
        uint32_t *m = realloc(u->slot_by_fd, n * sizeof *m);
        if (m == NULL) {
            return -1;
        }
        for (size_t i = u->nfd; i < n; i++) {
            m[i] = UINT32_MAX;
        }
        u->slot_by_fd = m;
        u->nfd = n;
    }
    return 0;
}

int gw_uring_watch(gw *w, int fd, void *tag)
{
    gw_uring *u = w->uring;
    uint32_t slot;
    if (map_fd(u, fd) != 0) {
        return -1;
    }
    if (u->nfree > 0) {
        slot = u->free_slots[--u->nfree];
    } else {
        if (u->nw == u->capw && grow(u) != 0) {
            return -1;
        }
        slot = u->nw++;
        u->w[slot].gen = 0;
    }
    u->w[slot].fd = fd;
    u->w[slot].tag = tag;
    u->w[slot].fixed =
        slot < u->nfixed && io_uring_register_files_update(&u->ring, slot, &fd, 1) == 1;
    u->slot_by_fd[fd] = slot;
    if (!arm(u, slot)) {
        u->rearm[u->nrearm++] = (uint64_t)u->w[slot].gen << 32 | slot;
    }
    (void)io_uring_submit(&u->ring);
    return 0;
}

void gw_uring_unwatch(gw *w, int fd)
{
    gw_uring *u = w->uring;
    uint32_t s = slot_of(u, fd);
    if (s == UINT32_MAX) {
        return;
    }
    struct io_uring_sqe *sqe = sqe_get(u);
    if (sqe != NULL) {
        io_uring_prep_cancel64(sqe, ud(OP_RECV, s, u->w[s].gen), 0);
        io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, 0, 0));
    }
    if (u->w[s].fixed) {
        int none = -1;
        (void)io_uring_register_files_update(&u->ring, s, &none, 1);
        u->w[s].fixed = false;
    }
    u->w[s].tag = NULL;
    u->w[s].gen++;
    u->free_slots[u->nfree++] = s;
    u->slot_by_fd[fd] = UINT32_MAX;
    /* Now, so that the socket is released with the caller's close and its port can be
     * bound again. */
    (void)io_uring_submit(&u->ring);
}

/* The live watch of a completion, or NULL when its socket is gone. */
static watch *live(gw_uring *u, uint32_t slot, uint32_t gen)
{
    if (slot >= u->nw || u->w[slot].tag == NULL || u->w[slot].gen != gen) {
        return NULL;
    }
    return &u->w[slot];
}

static gw_leg *watch_leg(const watch *x, bool *rtcp_sock)
{
    gw_fd_kind kind = *(const gw_fd_kind *)x->tag;
    *rtcp_sock = kind == GW_FD_LEG_RTCP;
    return *rtcp_sock ? ((gw_rtcp_tag *)x->tag)->leg : (gw_leg *)x->tag;
}

static void on_recv(gw *g, const struct io_uring_cqe *cqe, uint32_t slot, uint32_t gen,
                    dsrtp_time now)
{
    gw_uring *u = g->uring;
    watch *x = live(u, slot, gen);
    if ((cqe->flags & IORING_CQE_F_MORE) == 0 && x != NULL) {
        /* ended (out of buffers, an error, a full completion queue): arm it again */
        u->rearm[u->nrearm++] = (uint64_t)gen << 32 | slot;
    }
    if ((cqe->flags & IORING_CQE_F_BUFFER) == 0) {
        return;
    }
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    uint8_t *buf = u->bufs + (size_t)bid * URING_SLOT;
    struct io_uring_recvmsg_out *o =
        cqe->res > 0 ? io_uring_recvmsg_validate(buf, cqe->res, &u->recv_hdr) : NULL;
    bool rtcp_sock = false;
    gw_leg *l = x != NULL ? watch_leg(x, &rtcp_sock) : NULL;
    if (o == NULL || l == NULL || l->call->dead || (o->flags & MSG_TRUNC) != 0 ||
        o->namelen > URING_NAME) {
        recycle(u, bid);
        return;
    }
    struct sockaddr_storage src;
    memset(&src, 0, sizeof src);
    memcpy(&src, io_uring_recvmsg_name(o), o->namelen);
    uint8_t *payload = io_uring_recvmsg_payload(o, &u->recv_hdr);
    size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &u->recv_hdr);
    if (!l->dirty) {
        /* Events media may raise (latching) and the next deadline: once per chunk. */
        l->dirty = true;
        u->dirty[u->ndirty++] = l;
    }
    gw_out out;
    if (!gw_relay_datagram(g, l, rtcp_sock, &src, payload, len, now, &out)) {
        recycle(u, bid);
        return;
    }
    uint32_t to_slot = slot_of(u, out.fd);
    struct io_uring_sqe *sqe = sqe_get(u);
    if (to_slot == UINT32_MAX || sqe == NULL || out.dst_len > URING_NAME) {
        atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
        recycle(u, bid);
        return;
    }
    /* The destination address lives in the buffer's name area, free now. */
    void *name = io_uring_recvmsg_name(o);
    memcpy(name, &out.dst, out.dst_len);
    const watch *to = &u->w[to_slot];
    io_uring_prep_send(sqe, to->fixed ? (int)to_slot : out.fd, payload, out.len, 0);
    io_uring_prep_send_set_addr(sqe, name, (uint16_t)out.dst_len);
    if (to->fixed) {
        sqe->flags |= IOSQE_FIXED_FILE;
    }
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, bid, 0));
    u->meta[bid] = (send_meta){.slot = to_slot, .gen = u->w[to_slot].gen,
                               .from_idx = (uint8_t)l->idx, .rtcp = out.rtcp};
}

static void on_sent(gw *g, const struct io_uring_cqe *cqe, unsigned bid)
{
    gw_uring *u = g->uring;
    send_meta *m = &u->meta[bid];
    if (cqe->res < 0) {
        atomic_fetch_add_explicit(&g->m.dropped, 1, memory_order_relaxed);
    } else {
        gw_relay_sent(g, m->from_idx, m->rtcp, (size_t)cqe->res);
    }
    recycle(u, bid);
}

static void handle(gw *g, const struct io_uring_cqe *cqe, dsrtp_time now)
{
    uint64_t d = io_uring_cqe_get_data64(cqe);
    unsigned op = (unsigned)(d >> 56);
    uint32_t idx = (uint32_t)(d >> 32) & 0xffffffu;
    uint32_t gen = (uint32_t)d;
    switch (op) {
    case OP_RECV:
        on_recv(g, cqe, idx, gen, now);
        break;
    case OP_SEND:
        on_sent(g, cqe, idx);
        break;
    case OP_WAKE:
        gw_worker_jobs(g);
        if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
            arm_wake(g);
        }
        break;
    default:
        break; /* a cancel's own completion */
    }
}

/* Arms again the receives that ended. Entries that cannot be armed now stay for the next
 * round, never dropped: a socket nobody reads would lose all its traffic. */
static void rearm_all(gw_uring *u)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < u->nrearm; i++) {
        uint32_t slot = (uint32_t)u->rearm[i];
        if (live(u, slot, (uint32_t)(u->rearm[i] >> 32)) != NULL && !arm(u, slot)) {
            u->rearm[keep++] = u->rearm[i];
        }
    }
    u->nrearm = keep;
}

void gw_uring_wait(gw *g, int timeout_ms)
{
    gw_uring *u = g->uring;
    rearm_all(u);
    struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                   .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
    struct io_uring_cqe *first = NULL;
    int r = io_uring_submit_and_wait_timeout(&u->ring, &first, 1, timeout_ms < 0 ? NULL : &ts,
                                             NULL);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
        gw_log("error", "msg=\"io_uring wait failed\" errno=%d", -r);
    }
    for (;;) {
        struct io_uring_cqe *cqes[URING_CHUNK];
        unsigned n = io_uring_peek_batch_cqe(&u->ring, cqes, URING_CHUNK);
        if (n == 0) {
            break;
        }
        dsrtp_time now = dsrtp_io_now();
        for (unsigned i = 0; i < n; i++) {
            handle(g, cqes[i], now);
        }
        io_uring_cq_advance(&u->ring, n);
        for (unsigned i = 0; i < u->ndirty; i++) {
            gw_leg *l = u->dirty[i];
            l->dirty = false;
            if (!l->call->dead) {
                gw_leg_flush(g, l);
            }
        }
        u->ndirty = 0;
        rearm_all(u);
        /* The sends of this chunk leave now, not after the whole backlog. */
        (void)io_uring_submit(&u->ring);
    }
}
