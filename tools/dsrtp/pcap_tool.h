/* Shared by the files of `dsrtp pcap` (pcap.c runs the capture, pcap_opts.c parses the
 * command line and keys, pcap_report.c prints the summary). Not a public interface. */
#ifndef DSRTP_TOOL_PCAP_TOOL_H
#define DSRTP_TOOL_PCAP_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include <dsrtp/srtp.h>

#include "pcap_frame.h"

#define PCAP_MAX_KEYS 8
#define PCAP_MAX_PORTS 32
#define PCAP_MAX_FLOWS 4096
#define PCAP_DEFAULT_STREAMS 64
#define PCAP_MAX_STREAMS 65536
/* Captures reorder more than live media: a wider window keeps late packets decryptable. */
#define PCAP_REPLAY_WINDOW 1024
#define PCAP_WORK_CAP (65536 + DSRTP_SRTCP_MAX_TRAILER)
#define PCAP_OUT_SNAPLEN 262144

#define PCAP_EXIT_IO 1
#define PCAP_EXIT_USAGE 2

typedef struct pcap_key {
    uint8_t key_salt[DSRTP_SRTP_MAX_KEY_LEN + DSRTP_SRTP_MAX_SALT_LEN];
    uint8_t mki[DSRTP_SRTP_MAX_MKI_LEN];
    size_t mki_len;
} pcap_key;

typedef struct pcap_opts {
    bool encrypt;
    dsrtp_profile profile;
    const char *key_text[PCAP_MAX_KEYS];
    pcap_key keys[PCAP_MAX_KEYS];
    size_t nkeys;
    bool ssrc_set;
    uint32_t ssrc;
    bool roc_set;
    uint32_t roc;
    uint16_t ports[PCAP_MAX_PORTS];
    size_t nports;
    size_t max_streams;
    bool plain_srtcp;
    bool json;
    bool verbose;
    const char *in;
    const char *out;
} pcap_opts;

typedef struct pcap_counts {
    uint64_t read;
    uint64_t written;
    uint64_t rtp;
    uint64_t rtcp;
    uint64_t auth;
    uint64_t replay;
    uint64_t malformed;
    uint64_t table_full;
    uint64_t exhausted;
    uint64_t too_large;
    uint64_t ssrc_skipped;
    uint64_t flow_limit;
    uint64_t copied; /* the sum of the next eight */
    uint64_t stun;
    uint64_t dtls;
    uint64_t other_udp;
    uint64_t not_udp;
    uint64_t not_ip;
    uint64_t fragment;
    uint64_t truncated;
    uint64_t bad_frame;
} pcap_counts;

/* One direction of one UDP flow, with its own contexts (created at first use). */
typedef struct pcap_flow {
    pcap_udp addr; /* family, addresses and ports of the first packet */
    dsrtp_srtp_rx *rx[PCAP_MAX_KEYS];
    dsrtp_srtp_tx *tx;
    size_t key_hint; /* the key that last verified: tried first */
    int key_used;    /* -1 until a packet verifies */
    bool warned_full;
    uint64_t rtp;
    uint64_t rtcp;
    uint64_t auth;
    uint64_t replay;
    uint64_t dropped; /* malformed, table full, key exhausted, too large */
} pcap_flow;

typedef struct pcap_run {
    const pcap_opts *o;
    int dlt;
    pcap_dumper_t *dump;
    pcap_counts c;
    pcap_flow **flows;
    size_t nflows;
    size_t flows_cap;
    uint32_t *index; /* open addressing: flow number + 1, 0 = empty */
    size_t index_mask;
    bool warned_flows;
    uint8_t work[PCAP_WORK_CAP];
    uint8_t saved[PCAP_WORK_CAP];
    uint8_t frame[PCAP_FRAME_MAX + DSRTP_SRTCP_MAX_TRAILER];
} pcap_run;

/* Fills o from argv (argv[0] is "pcap"). Returns 0 to go on, -1 after printing help, or
 * PCAP_EXIT_USAGE after printing what was wrong. Keys in o are wiped by the caller. */
int pcap_opts_parse(int argc, char **argv, pcap_opts *o);

/* Prints the summary to stderr (and, with --json, a JSON object to stdout). complete is
 * false when reading stopped at an error. */
void pcap_report(const pcap_run *r, bool complete);

#endif
