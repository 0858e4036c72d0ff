/* `dsrtp bench srtp`: times dsrtp's SRTP/SRTCP transforms on one profile, packet size and
 * operation, through the shared driver in bench_util.c (the comparison programs in bench/
 * use the same driver on libsrtp and on bare OpenSSL calls). */
#include <stdio.h>
#include <string.h>

#include <dsrtp/srtp.h>

#include "bench_util.h"
#include "cmd.h"

typedef struct bench_state {
    dsrtp_srtp_tx *tx;
    dsrtp_srtp_rx *rx;
} bench_state;

static int prepare(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens,
                   size_t n, uint64_t first)
{
    bench_state *s = st;
    size_t cap = a->size + DSRTP_BENCH_ROOM;
    for (size_t i = 0; i < n; i++) {
        dsrtp_bench_make_packet(a, bufs[i], (uint16_t)(DSRTP_BENCH_SEQ_BASE + first + i));
        lens[i] = a->size;
        dsrtp_err err = DSRTP_OK;
        if (a->op == DSRTP_BENCH_UNPROTECT) {
            err = dsrtp_srtp_tx_protect(s->tx, bufs[i], a->size, cap, &lens[i]);
        } else if (a->op == DSRTP_BENCH_RTCP_UNPROTECT) {
            err = dsrtp_srtp_tx_protect_rtcp(s->tx, bufs[i], a->size, cap, &lens[i]);
        }
        if (err != DSRTP_OK) {
            fprintf(stderr, "dsrtp bench: protecting a packet to unprotect: %s\n",
                    dsrtp_strerror(err));
            return 1;
        }
    }
    return 0;
}

static size_t run(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens, size_t n)
{
    bench_state *s = st;
    size_t cap = a->size + DSRTP_BENCH_ROOM;
    size_t failed = 0;
    size_t out = 0;
    switch (a->op) {
    case DSRTP_BENCH_PROTECT:
        for (size_t i = 0; i < n; i++) {
            failed += dsrtp_srtp_tx_protect(s->tx, bufs[i], lens[i], cap, &out) != DSRTP_OK;
            lens[i] = out;
        }
        break;
    case DSRTP_BENCH_UNPROTECT:
        for (size_t i = 0; i < n; i++) {
            failed += dsrtp_srtp_rx_unprotect(s->rx, bufs[i], lens[i], &out) != DSRTP_OK ||
                      out != a->size;
            lens[i] = out;
        }
        break;
    case DSRTP_BENCH_RTCP_PROTECT:
        for (size_t i = 0; i < n; i++) {
            failed +=
                dsrtp_srtp_tx_protect_rtcp(s->tx, bufs[i], lens[i], cap, &out) != DSRTP_OK;
            lens[i] = out;
        }
        break;
    case DSRTP_BENCH_RTCP_UNPROTECT:
        for (size_t i = 0; i < n; i++) {
            failed += dsrtp_srtp_rx_unprotect_rtcp(s->rx, bufs[i], lens[i], &out) !=
                          DSRTP_OK ||
                      out != a->size;
            lens[i] = out;
        }
        break;
    }
    return failed;
}

static int bench_srtp(int argc, char **argv)
{
    dsrtp_bench_args a;
    if (!dsrtp_bench_parse(argc, argv, 1, "dsrtp bench srtp", &a)) {
        return 2;
    }
    dsrtp_profile p = DSRTP_PROFILE_NONE;
    if (dsrtp_profile_from_name(a.profile->name, &p) != DSRTP_OK) {
        fprintf(stderr, "dsrtp bench: profile %s not in this build\n", a.profile->name);
        return 2;
    }
    /* A fixed key: the numbers do not depend on it, and runs stay comparable. */
    uint8_t key[DSRTP_SRTP_MAX_KEY_LEN];
    uint8_t salt[DSRTP_SRTP_MAX_SALT_LEN];
    for (size_t i = 0; i < sizeof key; i++) {
        key[i] = (uint8_t)(0x11 * i + 3);
    }
    for (size_t i = 0; i < sizeof salt; i++) {
        salt[i] = (uint8_t)(0x0d * i + 7);
    }
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = p;
    cfg.master_key = key;
    cfg.master_key_len = dsrtp_profile_key_len(p);
    cfg.master_salt = salt;
    cfg.master_salt_len = dsrtp_profile_salt_len(p);
    bench_state s = {0};
    dsrtp_err err = dsrtp_srtp_tx_new(&cfg, &s.tx);
    if (err == DSRTP_OK) {
        err = dsrtp_srtp_rx_new(&cfg, &s.rx);
    }
    if (err != DSRTP_OK) {
        fprintf(stderr, "dsrtp bench: cannot install keys: %s\n", dsrtp_strerror(err));
        dsrtp_srtp_tx_free(s.tx);
        return 1;
    }
    char extra[64];
    snprintf(extra, sizeof extra, ",\"rx_stream_footprint\":%zu",
             dsrtp_srtp_rx_stream_footprint(s.rx));
    const dsrtp_bench_impl impl = {"dsrtp", prepare, run};
    int status = dsrtp_bench_run(&impl, &s, &a, extra);
    dsrtp_srtp_tx_free(s.tx);
    dsrtp_srtp_rx_free(s.rx);
    return status;
}

int dsrtp_cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "srtp") == 0) {
        return bench_srtp(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "dtls") == 0) {
        return dsrtp_cmd_bench_dtls(argc - 1, argv + 1); /* bench_dtls.c */
    }
    fprintf(stderr, "usage: dsrtp bench srtp --profile P --size BYTES --op protect|unprotect|"
                    "rtcp-protect|rtcp-unprotect [--packets N] [--json]\n"
                    "       dsrtp bench dtls [options]   (dsrtp bench dtls --help)\n");
    return 2;
}
