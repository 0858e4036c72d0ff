/* Worker threads. Each worker is a gw context of its own: a loop over the sockets of the
 * calls it owns, its call list, its counters and its packet buffers; its thread alone
 * touches them. The loop is io_uring (uring.c) unless the configuration asks for epoll or
 * the kernel refuses io_uring (seccomp filters in containers often do); then it is the epoll
 * loop here, with recvmmsg/sendmmsg per readable socket (relay.c). New calls go to the
 * workers round-robin at offer time. The main thread reaches a worker by posting a job (a
 * function and its argument) on a mutex-protected list, waking the worker through an
 * eventfd and waiting on a condition variable until the worker has run it: the lock is
 * taken at call setup and for control commands only, never on the packet path. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <dsrtp/io.h>

#include "gw.h"

#define WORKER_TICK_US 1000000u /* media timeout granularity */
#define WORKER_EVENTS 128
#define WORKER_TRIM_US 10000000u /* heap trims at most this often */

static int wait_ms(const gw *w, dsrtp_time now, dsrtp_time next_tick)
{
    dsrtp_time until = w->next_deadline < next_tick ? w->next_deadline : next_tick;
    if (until <= now) {
        return 0;
    }
    return (int)((until - now + 999) / 1000);
}

void gw_worker_jobs(gw *w)
{
    uint64_t count;
    while (read(w->wake_fd, &count, sizeof count) == (ssize_t)sizeof count) {
    }
    for (;;) {
        pthread_mutex_lock(&w->job_lock);
        gw_job *j = w->jobs;
        if (j != NULL) {
            w->jobs = j->next;
        }
        pthread_mutex_unlock(&w->job_lock);
        if (j == NULL) {
            return;
        }
        j->fn(w, j->arg);
        pthread_mutex_lock(&w->job_lock);
        j->done = true;
        pthread_cond_broadcast(&w->job_cond);
        pthread_mutex_unlock(&w->job_lock);
    }
}

/* A DTLS handshake needs some 90 KB of OpenSSL state that is freed when it completes (the
 * endpoint keeps under 1 KB); calls set up in a burst leave that memory free but resident in
 * the worker's malloc arena, and the process would hold the burst's peak for good. When
 * handshakes ended or calls were freed, the arena's free pages go back to the system: on the
 * first tick without a handshake ending (the burst is over; while handshakes keep coming
 * they reuse that memory anyway) and at most once per WORKER_TRIM_US, because a trim walks
 * the arena (8 ms for a 100 MB one here), time the packets queued meanwhile wait. Runs
 * with the tick, never on the packet path. */
static void trim_heap(gw *w, dsrtp_time now)
{
    bool quiet = w->handshakes_in_tick == 0;
    w->handshakes_in_tick = 0;
    if (!w->trim_due || !quiet || now - w->trimmed_at < WORKER_TRIM_US) {
        return;
    }
    w->trim_due = false;
    w->trimmed_at = now;
    (void)malloc_trim(0);
    gw_log("debug", "msg=\"heap trimmed\" worker=%u us=%llu", w->worker_id,
           (unsigned long long)(dsrtp_io_now() - now));
}

/* --max-handshakes. While it runs, a DTLS handshake holds some 90 KB of OpenSSL state; a
 * burst of calls whose handshakes all ran at once leaves the worker's arena fragmented
 * (the calls' long-lived allocations interleaved with the freed handshake memory, which
 * malloc_trim cannot give back), so a burst costs RSS for good. So at most max_handshakes
 * run at once per worker; a leg beyond that is configured (its session exists: it answers
 * ICE checks and holds an early ClientHello) but not started, and waits on the worker's
 * queue, oldest first. Its handshake timeout counts from the real start, and the call's
 * media timeout does not run while it waits (call.c). A slot frees when the handshake
 * completes or fails, or the leg goes away; the loop then starts the next leg (gw_hs_pump),
 * outside the packet path. The queue is intrusive: nothing here allocates. */
static void hs_gauges(gw *w)
{
    if (w->hs_running > w->hs_peak) {
        w->hs_peak = w->hs_running;
        atomic_store_explicit(&w->m.dtls_running_peak, w->hs_peak, memory_order_relaxed);
    }
    atomic_store_explicit(&w->m.dtls_running, w->hs_running, memory_order_relaxed);
    atomic_store_explicit(&w->m.dtls_queued, w->hs_waiting, memory_order_relaxed);
}

static void hs_unlink(gw *w, gw_leg *l)
{
    if (l->hs_prev != NULL) {
        l->hs_prev->hs_next = l->hs_next;
    } else {
        w->hs_head = l->hs_next;
    }
    if (l->hs_next != NULL) {
        l->hs_next->hs_prev = l->hs_prev;
    } else {
        w->hs_tail = l->hs_prev;
    }
    l->hs_prev = NULL;
    l->hs_next = NULL;
    l->hs_queued = false;
    w->hs_waiting--;
}

bool gw_hs_admit(gw *w, gw_leg *l)
{
    if (l->hs_slot) {
        return true;
    }
    if (l->hs_queued) {
        return false; /* keeps its place */
    }
    if (w->cfg.max_handshakes == 0 || w->hs_running < w->cfg.max_handshakes) {
        l->hs_slot = true;
        w->hs_running++;
        hs_gauges(w);
        return true;
    }
    l->hs_queued = true;
    l->hs_next = NULL;
    l->hs_prev = w->hs_tail;
    if (w->hs_tail != NULL) {
        w->hs_tail->hs_next = l;
    } else {
        w->hs_head = l;
    }
    w->hs_tail = l;
    w->hs_waiting++;
    hs_gauges(w);
    gw_log("debug", "msg=\"DTLS handshake queued\" call=\"%s\" leg=%s running=%u waiting=%zu",
           l->call->callid, l->idx == 0 ? "A" : "B", w->hs_running, w->hs_waiting);
    return false;
}

void gw_hs_end(gw *w, gw_leg *l)
{
    if (l->hs_slot) {
        l->hs_slot = false;
        w->hs_running--;
        hs_gauges(w);
    } else if (l->hs_queued) {
        hs_unlink(w, l);
        hs_gauges(w);
    }
}

void gw_hs_pump(gw *w)
{
    while (w->hs_head != NULL && !w->stopping &&
           (w->cfg.max_handshakes == 0 || w->hs_running < w->cfg.max_handshakes)) {
        gw_leg *l = w->hs_head;
        hs_unlink(w, l);
        l->hs_slot = true;
        w->hs_running++;
        hs_gauges(w);
        if (gw_leg_start_queued(w, l) != 0) {
            gw_hs_end(w, l);
        }
    }
}

static void epoll_round(gw *w, int timeout_ms)
{
    struct epoll_event evs[WORKER_EVENTS];
    int n = epoll_wait(w->epfd, evs, WORKER_EVENTS, timeout_ms);
    for (int i = 0; i < n; i++) {
        gw_fd_kind kind = *(const gw_fd_kind *)evs[i].data.ptr;
        if (kind == GW_FD_LEG) {
            gw_leg *l = evs[i].data.ptr;
            if (!l->call->dead) {
                gw_leg_readable(w, l);
            }
        } else if (kind == GW_FD_LEG_RTCP) {
            gw_leg *l = ((gw_rtcp_tag *)evs[i].data.ptr)->leg;
            if (!l->call->dead) {
                gw_leg_rtcp_readable(w, l);
            }
        } else if (kind == GW_FD_WAKE) {
            gw_worker_jobs(w);
        }
    }
}

/* Picks the worker's loop on its own thread (io_uring rings are single-issuer here) and
 * tells gw_workers_start how it went. */
static bool start_loop(gw *w)
{
    const char *io = "epoll";
    int err = 0;
    if (w->cfg.io != GW_IO_EPOLL) {
        if (gw_uring_init(w) == 0) {
            io = "io_uring";
        } else {
            err = errno;
        }
    }
    bool ok = w->cfg.io != GW_IO_URING || w->uring != NULL;
    if (!ok) {
        gw_log("error", "msg=\"io_uring refused\" worker=%u errno=%d", w->worker_id, err);
    } else if (w->cfg.io == GW_IO_AUTO && w->uring == NULL) {
        gw_log("info", "msg=\"io_uring refused, using epoll\" worker=%u errno=%d",
               w->worker_id, err);
    }
    if (ok) {
        gw_log("info", "msg=\"worker started\" worker=%u io=%s", w->worker_id, io);
    }
    pthread_mutex_lock(&w->job_lock);
    w->io_ready = ok ? 1 : -1;
    pthread_cond_broadcast(&w->job_cond);
    pthread_mutex_unlock(&w->job_lock);
    return ok;
}

static void *worker_main(void *arg)
{
    gw *w = arg;
    if (!start_loop(w)) {
        return NULL;
    }
    dsrtp_time next_tick = dsrtp_io_now() + WORKER_TICK_US;
    while (!w->stopping) {
        int ms = wait_ms(w, dsrtp_io_now(), next_tick);
        if (w->uring != NULL) {
            gw_uring_wait(w, ms);
        } else {
            epoll_round(w, ms);
        }
        dsrtp_time now = dsrtp_io_now();
        if (now >= w->next_deadline || now >= next_tick) {
            gw_calls_tick(w, now);
            if (now >= next_tick) {
                trim_heap(w, now);
                next_tick = now + WORKER_TICK_US;
            }
        }
        w->trim_due = w->dead_calls != NULL || w->trim_due;
        gw_call_reap(w);
        gw_hs_pump(w);
    }
    gw_calls_close_all(w);
    gw_call_reap(w);
    gw_uring_free(w);
    return NULL;
}

int gw_io_watch(gw *w, int fd, void *tag)
{
    if (w->uring != NULL) {
        return gw_uring_watch(w, fd, tag);
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void gw_io_unwatch(gw *w, int fd)
{
    if (w->uring != NULL) {
        gw_uring_unwatch(w, fd);
    } else {
        (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
    }
}

void gw_worker_run(gw *w, void (*fn)(gw *w, void *arg), void *arg)
{
    gw_job j = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&w->job_lock);
    j.next = NULL;
    gw_job **tail = &w->jobs;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = &j;
    pthread_mutex_unlock(&w->job_lock);
    uint64_t one = 1;
    while (write(w->wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&w->job_lock);
    while (!j.done) {
        pthread_cond_wait(&w->job_cond, &w->job_lock);
    }
    pthread_mutex_unlock(&w->job_lock);
}

static void free_worker(gw *w)
{
    if (w->wake_fd >= 0) {
        close(w->wake_fd);
    }
    if (w->epfd >= 0) {
        close(w->epfd);
    }
    pthread_mutex_destroy(&w->job_lock);
    pthread_cond_destroy(&w->job_cond);
    free(w);
}

int gw_workers_start(gw *root, unsigned count)
{
    if (count == 0 || count > GW_WORKERS_MAX) {
        return -1;
    }
    for (unsigned i = 0; i < count; i++) {
        gw *w = calloc(1, sizeof *w);
        if (w == NULL) {
            return -1;
        }
        w->cfg = root->cfg;
        w->cert = root->cert;
        w->root = root;
        w->worker_id = i;
        w->next_deadline = DSRTP_TIME_NEVER;
        w->wake_tag = GW_FD_WAKE;
        pthread_mutex_init(&w->job_lock, NULL);
        pthread_cond_init(&w->job_cond, NULL);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->wake_tag};
        if (w->epfd < 0 || w->wake_fd < 0 ||
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev) != 0 ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            free_worker(w);
            return -1;
        }
        pthread_mutex_lock(&w->job_lock);
        while (w->io_ready == 0) {
            pthread_cond_wait(&w->job_cond, &w->job_lock);
        }
        pthread_mutex_unlock(&w->job_lock);
        if (w->io_ready < 0) {
            pthread_join(w->thread, NULL);
            free_worker(w);
            return -1;
        }
        root->workers[root->worker_count++] = w;
    }
    return 0;
}

static void stop_job(gw *w, void *arg)
{
    (void)arg;
    w->stopping = true;
}

void gw_workers_stop(gw *root)
{
    for (unsigned i = 0; i < root->worker_count; i++) {
        gw_worker_run(root->workers[i], stop_job, NULL);
    }
    for (unsigned i = 0; i < root->worker_count; i++) {
        pthread_join(root->workers[i]->thread, NULL);
        free_worker(root->workers[i]);
        root->workers[i] = NULL;
    }
    root->worker_count = 0;
}

typedef struct find_arg {
    const char *callid;
    bool found;
} find_arg;

static void find_job(gw *w, void *arg)
{
    find_arg *f = arg;
    f->found = gw_call_find(w, f->callid) != NULL;
}

gw *gw_worker_find(gw *root, const char *callid)
{
    for (unsigned i = 0; i < root->worker_count; i++) {
        find_arg f = {.callid = callid};
        gw_worker_run(root->workers[i], find_job, &f);
        if (f.found) {
            return root->workers[i];
        }
    }
    return NULL;
}

gw *gw_worker_pick(gw *root)
{
    gw *w = root->workers[root->next_worker % root->worker_count];
    root->next_worker = (root->next_worker + 1) % root->worker_count;
    return w;
}

/* gw_metrics holds nothing but atomic_uint_fast64_t counters: add them up as an array. */
_Static_assert(sizeof(gw_metrics) % sizeof(atomic_uint_fast64_t) == 0,
               "gw_metrics must hold counters only");

static void add_metrics(gw_metrics *out, gw_metrics *in)
{
    atomic_uint_fast64_t *o = (atomic_uint_fast64_t *)(void *)out;
    atomic_uint_fast64_t *s = (atomic_uint_fast64_t *)(void *)in;
    size_t n = sizeof(gw_metrics) / sizeof(atomic_uint_fast64_t);
    for (size_t i = 0; i < n; i++) {
        uint_fast64_t v = atomic_load_explicit(&s[i], memory_order_relaxed);
        atomic_fetch_add_explicit(&o[i], v, memory_order_relaxed);
    }
}

void gw_metrics_sum(gw *root, gw_metrics *out)
{
    memset(out, 0, sizeof *out);
    add_metrics(out, &root->m);
    for (unsigned i = 0; i < root->worker_count; i++) {
        add_metrics(out, &root->workers[i]->m);
    }
}
