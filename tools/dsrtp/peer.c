/* `dsrtp peer`: a complete endpoint exchanging SDP through files (see DESIGN.md).
 *
 *   dsrtp peer --role offer|answer --local-sdp FILE --remote-sdp FILE --duration SECONDS
 *              [--keying dtls|sdes|none] [--bind ADDR:PORT] [--send tone|silence] [--echo]
 *              [--trace]
 *
 * Writes its SDP to --local-sdp atomically once ready, waits for --remote-sdp, runs media
 * for the duration once keys are agreed (PCMU every 20 ms, an RTCP sender report every
 * second), and prints one JSON line. Exit 0 only if keys were agreed and media flowed both
 * ways. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dsrtp/util.h>

#include "cmd.h"
#include "peer.h"

#define PACKET_INTERVAL 20000u /* 20 ms */
#define SR_INTERVAL 1000000u
#define REMOTE_WAIT_SECONDS 30.0
#define LINGER 300000u /* after close: let close_notify go out */

void peer_trace(const peer *p, const char *fmt, ...)
{
    if (!p->o.trace) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    /* Milliseconds since DSRTP_TRACE_EPOCH (wall-clock microseconds, so that two processes
     * share one time base) or else since this process started. */
    double t = 0.0;
    const char *epoch = getenv("DSRTP_TRACE_EPOCH");
    if (epoch != NULL) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double now_us = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
        t = (now_us - atof(epoch)) / 1000.0;
    } else if (p->t0 != 0) {
        t = (double)(dsrtp_io_now() - p->t0) / 1000.0;
    }
    fprintf(stderr, "[%s %7.1f ms] ", p->o.name, t);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int usage(void)
{
    fprintf(stderr, "usage: dsrtp peer --role offer|answer --local-sdp FILE --remote-sdp FILE\n"
                    "                  --duration SECONDS [--keying dtls|sdes|none]\n"
                    "                  [--bind ADDR:PORT] [--send tone|silence] [--echo] "
                    "[--trace]\n");
    return 2;
}

static int parse_args(int argc, char **argv, peer_opts *o)
{
    static const struct option longs[] = {
        {"role", required_argument, NULL, 'r'},   {"local-sdp", required_argument, NULL, 'l'},
        {"remote-sdp", required_argument, NULL, 'R'}, {"duration", required_argument, NULL, 'd'},
        {"keying", required_argument, NULL, 'k'}, {"bind", required_argument, NULL, 'b'},
        {"send", required_argument, NULL, 's'},   {"echo", no_argument, NULL, 'e'},
        {"trace", no_argument, NULL, 't'},        {NULL, 0, NULL, 0},
    };
    *o = (peer_opts){.duration = -1, .keying = DSRTP_KEYING_DTLS, .tone = true};
    const char *bind_text = "127.0.0.1:0";
    const char *role = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'r': role = optarg; break;
        case 'l': o->local_sdp = optarg; break;
        case 'R': o->remote_sdp = optarg; break;
        case 'd': o->duration = atof(optarg); break;
        case 'b': bind_text = optarg; break;
        case 'e': o->echo = true; break;
        case 't': o->trace = true; break;
        case 's':
            if (strcmp(optarg, "tone") != 0 && strcmp(optarg, "silence") != 0) {
                return -1;
            }
            o->tone = strcmp(optarg, "tone") == 0;
            break;
        case 'k':
            if (strcmp(optarg, "dtls") == 0) {
                o->keying = DSRTP_KEYING_DTLS;
            } else if (strcmp(optarg, "sdes") == 0) {
                o->keying = DSRTP_KEYING_SDES;
            } else if (strcmp(optarg, "none") == 0) {
                o->keying = DSRTP_KEYING_NONE;
            } else {
                return -1;
            }
            break;
        default: return -1;
        }
    }
    if (role == NULL || (strcmp(role, "offer") != 0 && strcmp(role, "answer") != 0) ||
        o->local_sdp == NULL || o->remote_sdp == NULL || o->duration < 0 || optind != argc) {
        return -1;
    }
    o->offerer = strcmp(role, "offer") == 0;
    o->name = o->offerer ? "offer " : "answer";
    if (dsrtp_addr_parse(bind_text, strlen(bind_text), &o->bind) != DSRTP_OK) {
        fprintf(stderr, "peer: bad --bind address '%s'\n", bind_text);
        return -1;
    }
    return 0;
}

/* ICE credentials from the ice-char set (ALPHA / DIGIT / "+" / "/"), RFC 8839 §5.4. */
static int make_ice_creds(peer *p)
{
    uint8_t raw[24];
    char text[40];
    if (dsrtp_random_bytes(raw, sizeof raw) != DSRTP_OK ||
        dsrtp_base64_encode(raw, 6, text, sizeof text) != DSRTP_OK) {
        return -1;
    }
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "%s", text);
    if (dsrtp_base64_encode(raw + 6, 18, text, sizeof text) != DSRTP_OK) {
        return -1;
    }
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "%s", text);
    dsrtp_secure_wipe(raw, sizeof raw);
    dsrtp_secure_wipe(text, sizeof text);
    return 0;
}

static int make_session(peer *p)
{
    dsrtp_session_cfg cfg;
    dsrtp_session_cfg_init(&cfg);
    cfg.keying = p->o.keying;
    cfg.cert = p->cert;
    cfg.ice = true;
    snprintf(cfg.ice_ufrag, sizeof cfg.ice_ufrag, "%s", p->ice_ufrag);
    snprintf(cfg.ice_pwd, sizeof cfg.ice_pwd, "%s", p->ice_pwd);
    if (p->o.keying == DSRTP_KEYING_SDES) {
        const dsrtp_sdp_key *k = &p->sdes_keys[0];
        cfg.sdes_profile = p->sdes_profiles[0];
        /* The offerer sends with the key of the tag the answer accepted. */
        for (size_t i = 0; i < p->sdes_count; i++) {
            if (p->sdes_profiles[i] == p->decision.sdes_profile) {
                k = &p->sdes_keys[i];
                cfg.sdes_profile = p->sdes_profiles[i];
            }
        }
        memcpy(cfg.sdes_key, k->key, k->key_len);
        memcpy(cfg.sdes_salt, k->salt, k->salt_len);
    }
    dsrtp_err err = dsrtp_session_new(&cfg, &p->session);
    dsrtp_secure_wipe(&cfg, sizeof cfg);
    if (err != DSRTP_OK) {
        fprintf(stderr, "peer: cannot create the session: %s\n", dsrtp_strerror(err));
        return -1;
    }
    return 0;
}

void peer_on_event(void *arg, const dsrtp_session_event *e)
{
    peer *p = arg;
    char addr[DSRTP_ADDR_TEXT_MAX] = "";
    switch (e->kind) {
    case DSRTP_SESSION_EV_CONNECTED:
        if (dsrtp_addr_format(&e->addr, addr, sizeof addr) == DSRTP_OK) {
            peer_trace(p, "ICE: peer nominated %s", addr);
        }
        break;
    case DSRTP_SESSION_EV_KEYS_READY: {
        dsrtp_session_stats st;
        dsrtp_session_get_stats(p->session, &st);
        p->ready = true;
        p->was_ready = true;
        peer_trace(p, "keys ready: %s, after %.1f ms (DTLS datagrams dropped: %llu)",
                   e->detail, (double)st.handshake_us / 1000.0,
                   (unsigned long long)st.dtls_dropped);
        break;
    }
    case DSRTP_SESSION_EV_ADDRESS_CHANGED:
        if (dsrtp_addr_format(&e->addr, addr, sizeof addr) == DSRTP_OK) {
            peer_trace(p, "media now goes to %s", addr);
        }
        break;
    case DSRTP_SESSION_EV_FAILED:
        p->failed = true;
        p->ready = false;
        snprintf(p->fail_reason, sizeof p->fail_reason, "%s", e->detail);
        peer_trace(p, "FAILED: %s", e->detail);
        break;
    case DSRTP_SESSION_EV_CLOSED:
        p->closed = true;
        p->ready = false;
        peer_trace(p, "peer closed the session (close_notify)");
        break;
    }
}

static void receive_all(peer *p)
{
    uint8_t buf[2048];
    size_t len = 0;
    dsrtp_addr from;
    while (dsrtp_udp_recv(p->udp, buf, sizeof buf, &len, &from) == DSRTP_OK) {
        dsrtp_input in;
        dsrtp_err err = dsrtp_session_handle_datagram(p->session, dsrtp_io_now(), &from, buf,
                                                      len, &in);
        if (err == DSRTP_OK && in.kind == DSRTP_INPUT_RTP && p->o.echo && in.len > 12) {
            size_t payload = in.len - 12;
            if (payload <= sizeof p->echo_payload) {
                memcpy(p->echo_payload, buf + 12, payload);
                p->echo_len = payload;
                p->echo_pending = true;
            }
        }
        dsrtp_err ferr = DSRTP_OK;
        (void)dsrtp_io_flush(p->udp, p->session, peer_on_event, p, &ferr);
    }
}

static void send_media(peer *p, bool rtcp, dsrtp_time now)
{
    uint8_t buf[1500];
    size_t len = rtcp ? peer_make_sr(p, buf, sizeof buf, now)
                      : peer_make_rtp(p, buf, sizeof buf - DSRTP_SRTCP_MAX_TRAILER);
    size_t out = 0;
    dsrtp_addr to;
    if (len > 0 &&
        dsrtp_session_protect(p->session, rtcp, buf, len, sizeof buf, &out, &to) == DSRTP_OK) {
        dsrtp_err err = dsrtp_udp_send(p->udp, &to, buf, out);
        (void)err;
    }
}

/* The main loop: keying, then media for the duration (bounded in every case). */
static void run(peer *p)
{
    dsrtp_time started = dsrtp_io_now();
    dsrtp_time hard_stop = started + (dsrtp_time)(p->o.duration * 1e6) + 25000000u;
    dsrtp_time media_start = 0;
    dsrtp_time next_rtp = 0;
    dsrtp_time next_sr = 0;
    dsrtp_time last_report = started;
    for (;;) {
        dsrtp_time now = dsrtp_io_now();
        if (p->failed || p->closed || now >= hard_stop) {
            break;
        }
        if (p->ready && media_start == 0) {
            media_start = now;
            next_rtp = now;
            next_sr = now + SR_INTERVAL / 2;
        }
        if (media_start != 0 && now - media_start >= (dsrtp_time)(p->o.duration * 1e6)) {
            break;
        }
        if (dsrtp_session_next_deadline(p->session) <= now) {
            dsrtp_err err = dsrtp_session_handle_timeout(p->session, now);
            (void)err;
        }
        if (p->ready && now >= next_rtp) {
            send_media(p, false, now);
            next_rtp += PACKET_INTERVAL;
        }
        if (p->ready && now >= next_sr) {
            send_media(p, true, now);
            next_sr += SR_INTERVAL;
        }
        if (p->ready && now - last_report >= 1000000u) {
            dsrtp_session_stats st;
            dsrtp_session_get_stats(p->session, &st);
            peer_trace(p, "media: %llu RTP sent, %llu received; %llu RTCP sent, %llu received",
                       (unsigned long long)st.rtp_sent, (unsigned long long)st.rtp_received,
                       (unsigned long long)st.rtcp_sent, (unsigned long long)st.rtcp_received);
            last_report = now;
        }
        dsrtp_err ferr = DSRTP_OK;
        dsrtp_time deadline = dsrtp_io_flush(p->udp, p->session, peer_on_event, p, &ferr);
        if (p->ready && next_rtp < deadline) {
            deadline = next_rtp;
        }
        if (deadline > now + 100000u) {
            deadline = now + 100000u;
        }
        dsrtp_udp_wait(p->udp, deadline);
        receive_all(p);
    }
    /* Close: send close_notify and let it leave. */
    dsrtp_err err = dsrtp_session_close(p->session);
    (void)err;
    dsrtp_time until = dsrtp_io_now() + LINGER;
    while (dsrtp_io_now() < until) {
        dsrtp_err ferr = DSRTP_OK;
        (void)dsrtp_io_flush(p->udp, p->session, peer_on_event, p, &ferr);
        dsrtp_udp_wait(p->udp, dsrtp_io_now() + 20000u);
        receive_all(p);
    }
}

static const char *state_name(const peer *p)
{
    if (p->failed) {
        return "failed";
    }
    if (p->was_ready) {
        return p->closed ? "closed" : "connected";
    }
    return "no-keys";
}

static int report(peer *p)
{
    dsrtp_session_stats st = {0};
    if (p->session != NULL) {
        dsrtp_session_get_stats(p->session, &st);
    }
    const char *role = "none";
    if (p->decision.keying == DSRTP_KEYING_DTLS) {
        role = p->decision.role == DSRTP_DTLS_CLIENT ? "client" : "server";
    }
    printf("{\"keying\":\"%s\",\"state\":\"%s\",\"role\":\"%s\",\"profile\":\"%s\","
           "\"handshake_ms\":%.1f,\"rtp_sent\":%llu,\"rtp_received\":%llu,"
           "\"rtcp_sent\":%llu,\"rtcp_received\":%llu,\"auth_failures\":%llu,"
           "\"replays\":%llu,\"reason\":\"%s\"}\n",
           dsrtp_keying_name(p->o.keying), state_name(p), role,
           p->was_ready ? dsrtp_profile_name(dsrtp_session_get_profile(p->session)) : "NONE",
           (double)st.handshake_us / 1000.0, (unsigned long long)st.rtp_sent,
           (unsigned long long)st.rtp_received, (unsigned long long)st.rtcp_sent,
           (unsigned long long)st.rtcp_received, (unsigned long long)st.auth_failures,
           (unsigned long long)st.replays, p->fail_reason);
    fflush(stdout);
    bool ok = p->was_ready && !p->failed && st.rtp_sent > 0 && st.rtp_received > 0;
    return ok ? 0 : 1;
}

static int setup_and_run(peer *p)
{
    if (dsrtp_udp_open(&p->o.bind, &p->udp) != DSRTP_OK ||
        dsrtp_udp_local_addr(p->udp, &p->local) != DSRTP_OK) {
        fprintf(stderr, "peer: cannot bind the media port\n");
        return -1;
    }
    if (make_ice_creds(p) != 0) {
        return -1;
    }
    if (p->o.keying == DSRTP_KEYING_DTLS &&
        dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &p->cert) != DSRTP_OK) {
        fprintf(stderr, "peer: cannot generate a certificate\n");
        return -1;
    }
    char addr[DSRTP_ADDR_TEXT_MAX];
    if (dsrtp_addr_format(&p->local, addr, sizeof addr) == DSRTP_OK) {
        peer_trace(p, "media port %s, keying %s", addr, dsrtp_keying_name(p->o.keying));
    }
    dsrtp_session_remote remote;
    if (p->o.offerer) {
        /* DTLS: the session exists before the offer leaves, so an early ClientHello from
         * an active answerer is held rather than lost (RFC 5763 §5). */
        if ((p->o.keying == DSRTP_KEYING_DTLS && make_session(p) != 0) ||
            peer_write_offer(p) != 0 || peer_load_remote(p, REMOTE_WAIT_SECONDS) != 0 ||
            peer_read_answer(p, &remote) != 0 || (p->session == NULL && make_session(p) != 0)) {
            return -1;
        }
    } else {
        if (peer_load_remote(p, REMOTE_WAIT_SECONDS) != 0 || peer_answer_offer(p, &remote) != 0 ||
            make_session(p) != 0) {
            return -1;
        }
    }
    dsrtp_err err = dsrtp_session_set_remote(p->session, &remote);
    if (err == DSRTP_OK) {
        err = dsrtp_session_start(p->session, dsrtp_io_now());
    }
    dsrtp_secure_wipe(&remote, sizeof remote);
    if (err != DSRTP_OK) {
        snprintf(p->fail_reason, sizeof p->fail_reason, "session start: %s",
                 dsrtp_strerror(err));
        return -1;
    }
    peer_trace(p, "session started");
    run(p);
    return 0;
}

int dsrtp_cmd_peer(int argc, char **argv)
{
    peer *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return 1;
    }
    if (parse_args(argc, argv, &p->o) != 0) {
        free(p);
        return usage();
    }
    p->t0 = dsrtp_io_now();
    if (dsrtp_random_bytes(&p->ssrc, sizeof p->ssrc) != DSRTP_OK ||
        dsrtp_random_bytes(&p->seq, sizeof p->seq) != DSRTP_OK) {
        free(p);
        return 1;
    }
    if (setup_and_run(p) != 0) {
        p->failed = true;
        if (p->fail_reason[0] == '\0') {
            snprintf(p->fail_reason, sizeof p->fail_reason, "setup failed");
        }
        peer_trace(p, "FAILED: %s", p->fail_reason);
    }
    int rc = report(p);
    dsrtp_session_free(p->session);
    dsrtp_sdp_free(p->local_desc);
    dsrtp_sdp_free(p->remote_desc);
    dsrtp_sdp_decision_wipe(&p->decision);
    dsrtp_cert_free(p->cert);
    dsrtp_udp_close(p->udp);
    dsrtp_secure_wipe(p, sizeof *p);
    free(p);
    return rc;
}
