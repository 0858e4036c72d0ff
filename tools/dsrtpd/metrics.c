/* Prometheus text exposition on --listen-http (GET /metrics), served by libmicrohttpd on its
 * own thread. The worker threads only bump their atomic counters (relaxed); this thread reads
 * them. Nothing here touches calls, legs or sessions. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

static struct MHD_Daemon *daemon_handle;
static gw *metrics_gw;

/* Handshake duration buckets, seconds (cumulative, as Prometheus histograms are). */
static const double dtls_bounds[8] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};
static const char *const ng_names[GW_NG_CMDS] = {"other", "ping", "offer", "answer",
                                                  "delete", "query", "list", "statistics"};

void gw_metrics_dtls(gw *g, dsrtp_time us, bool ok)
{
    if (!ok) {
        atomic_fetch_add(&g->m.dtls_failed, 1);
        return;
    }
    atomic_fetch_add(&g->m.dtls_ok, 1);
    atomic_fetch_add(&g->m.dtls_us_sum, us);
    for (size_t i = 0; i < 8; i++) {
        if ((double)us / 1e6 <= dtls_bounds[i]) {
            atomic_fetch_add(&g->m.dtls_buckets[i], 1);
        }
    }
}

void gw_metrics_ng(gw *g, int cmd, bool ok)
{
    if (cmd < 0 || cmd >= GW_NG_CMDS) {
        cmd = 0;
    }
    atomic_fetch_add(&g->m.ng[cmd][ok ? 0 : 1], 1);
}

typedef struct out_buf {
    char *p;
    size_t len, cap;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_buf *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
    }
}

static unsigned long long ld(atomic_uint_fast64_t *a)
{
    return (unsigned long long)atomic_load_explicit(a, memory_order_relaxed);
}

static size_t render(gw_metrics *m, char *buf, size_t cap)
{
    out_buf o = {buf, 0, cap};
    put(&o, "# HELP dsrtpd_calls Calls in progress.\n# TYPE dsrtpd_calls gauge\n");
    put(&o, "dsrtpd_calls %llu\n", ld(&m->calls_current));
    put(&o, "# HELP dsrtpd_legs Call legs (media ports) in use.\n# TYPE dsrtpd_legs gauge\n");
    put(&o, "dsrtpd_legs %llu\n", ld(&m->legs_current));
    put(&o, "# TYPE dsrtpd_calls_total counter\ndsrtpd_calls_total %llu\n", ld(&m->calls_total));
    put(&o, "# TYPE dsrtpd_call_timeouts_total counter\ndsrtpd_call_timeouts_total %llu\n",
        ld(&m->calls_timeout));
    put(&o, "# HELP dsrtpd_packets_total Packets relayed, by direction (a_to_b: from the "
            "offering side) and kind.\n# TYPE dsrtpd_packets_total counter\n");
    const char *dir[2] = {"a_to_b", "b_to_a"};
    for (int d = 0; d < 2; d++) {
        put(&o, "dsrtpd_packets_total{direction=\"%s\",kind=\"rtp\"} %llu\n", dir[d],
            ld(&m->packets[d][0]));
        put(&o, "dsrtpd_packets_total{direction=\"%s\",kind=\"rtcp\"} %llu\n", dir[d],
            ld(&m->packets[d][1]));
    }
    put(&o, "# HELP dsrtpd_bytes_total Plain RTP/RTCP bytes relayed, by direction.\n"
            "# TYPE dsrtpd_bytes_total counter\n");
    for (int d = 0; d < 2; d++) {
        put(&o, "dsrtpd_bytes_total{direction=\"%s\"} %llu\n", dir[d], ld(&m->bytes[d]));
    }
    put(&o, "# TYPE dsrtpd_auth_failures_total counter\ndsrtpd_auth_failures_total %llu\n",
        ld(&m->auth_failures));
    put(&o, "# TYPE dsrtpd_replays_total counter\ndsrtpd_replays_total %llu\n", ld(&m->replays));
    put(&o, "# HELP dsrtpd_dropped_total Packets not relayed (other leg not ready, send "
            "failed).\n# TYPE dsrtpd_dropped_total counter\ndsrtpd_dropped_total %llu\n",
        ld(&m->dropped));
    put(&o, "# TYPE dsrtpd_dtls_handshakes_total counter\n");
    put(&o, "dsrtpd_dtls_handshakes_total{result=\"ok\"} %llu\n", ld(&m->dtls_ok));
    put(&o, "dsrtpd_dtls_handshakes_total{result=\"failed\"} %llu\n", ld(&m->dtls_failed));
    put(&o, "# HELP dsrtpd_dtls_handshakes_in_progress DTLS handshakes running now "
            "(--max-handshakes caps them per worker).\n"
            "# TYPE dsrtpd_dtls_handshakes_in_progress gauge\n"
            "dsrtpd_dtls_handshakes_in_progress %llu\n", ld(&m->dtls_running));
    put(&o, "# HELP dsrtpd_dtls_handshakes_queued DTLS legs waiting for a handshake slot.\n"
            "# TYPE dsrtpd_dtls_handshakes_queued gauge\n"
            "dsrtpd_dtls_handshakes_queued %llu\n", ld(&m->dtls_queued));
    put(&o, "# HELP dsrtpd_dtls_handshakes_in_progress_max The most DTLS handshakes that ran at "
            "once since start (summed over workers).\n"
            "# TYPE dsrtpd_dtls_handshakes_in_progress_max gauge\n"
            "dsrtpd_dtls_handshakes_in_progress_max %llu\n", ld(&m->dtls_running_peak));
    put(&o, "# HELP dsrtpd_dtls_handshake_seconds Completed DTLS handshake durations.\n"
            "# TYPE dsrtpd_dtls_handshake_seconds histogram\n");
    for (size_t i = 0; i < 8; i++) {
        put(&o, "dsrtpd_dtls_handshake_seconds_bucket{le=\"%g\"} %llu\n", dtls_bounds[i],
            ld(&m->dtls_buckets[i]));
    }
    put(&o, "dsrtpd_dtls_handshake_seconds_bucket{le=\"+Inf\"} %llu\n", ld(&m->dtls_ok));
    put(&o, "dsrtpd_dtls_handshake_seconds_sum %.6f\n", (double)ld(&m->dtls_us_sum) / 1e6);
    put(&o, "dsrtpd_dtls_handshake_seconds_count %llu\n", ld(&m->dtls_ok));
    put(&o, "# HELP dsrtpd_ng_requests_total ng requests by command and result.\n"
            "# TYPE dsrtpd_ng_requests_total counter\n");
    for (int c = 0; c < GW_NG_CMDS; c++) {
        put(&o, "dsrtpd_ng_requests_total{command=\"%s\",result=\"ok\"} %llu\n", ng_names[c],
            ld(&m->ng[c][0]));
        put(&o, "dsrtpd_ng_requests_total{command=\"%s\",result=\"error\"} %llu\n",
            ng_names[c], ld(&m->ng[c][1]));
    }
    return o.len;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_len, void **state)
{
    (void)cls;
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)state;
    struct MHD_Response *r;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        static char nf[] = "not found\n";
        status = MHD_HTTP_NOT_FOUND;
        r = MHD_create_response_from_buffer(sizeof nf - 1, nf, MHD_RESPMEM_PERSISTENT);
    } else {
        size_t cap = 16384;
        char *text = malloc(cap);
        if (text == NULL) {
            return MHD_NO;
        }
        gw_metrics sum; /* the workers' counters and the control thread's, added up */
        gw_metrics_sum(metrics_gw, &sum);
        size_t len = render(&sum, text, cap);
        r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) {
            free(text);
        }
    }
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

int gw_metrics_start(gw *g)
{
    metrics_gw = g;
    const char *text = g->cfg.listen_http;
    dsrtp_addr a;
    if (dsrtp_addr_parse(text, strlen(text), &a) != DSRTP_OK) {
        return -1;
    }
    struct sockaddr_storage ss;
    unsigned sl = 0;
    if (gw_to_sockaddr(&a, &ss, &sl) != 0) {
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    if (a.family == 6) {
        flags |= MHD_USE_IPv6;
    }
    daemon_handle = MHD_start_daemon(flags, a.port, NULL, NULL, serve, NULL,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    return daemon_handle != NULL ? 0 : -1;
}

void gw_metrics_stop(void)
{
    if (daemon_handle != NULL) {
        MHD_stop_daemon(daemon_handle);
        daemon_handle = NULL;
    }
}
