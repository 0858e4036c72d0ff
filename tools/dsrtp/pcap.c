/* `dsrtp pcap decrypt|encrypt`: turns the SRTP/SRTCP inside a capture into plain RTP/RTCP
 * (or back), so a "no audio" capture can be read in Wireshark.
 *
 * Each frame is parsed down to UDP (pcap_frame.c). A UDP payload whose first byte is in
 * 128..191 is RTP or RTCP (RFC 7983); RTCP is told from RTP by the packet type byte
 * (RFC 5761 §4). It is transformed by the contexts of its flow, one per direction
 * (source ip:port -> destination ip:port), so each direction keeps its own replay state and
 * rollover counters. The frame is then rebuilt with fixed-up IP and UDP lengths and
 * checksums and written with the input's link type. Everything else is copied unchanged;
 * packets refused by SRTP (authentication, replay, malformed, ...) are counted and never
 * written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dsrtp/util.h>

#include "cmd.h"
#include "pcap_tool.h"

/* ---- flows ---- */

static uint32_t flow_hash(const pcap_udp *u)
{
    /* FNV-1a over family, addresses and ports. */
    uint32_t h = 2166136261u;
    uint8_t ports[5] = {(uint8_t)u->family, (uint8_t)(u->sport >> 8), (uint8_t)u->sport,
                        (uint8_t)(u->dport >> 8), (uint8_t)u->dport};
    size_t alen = u->family == 4 ? 4 : 16;
    for (size_t i = 0; i < sizeof ports; i++) {
        h = (h ^ ports[i]) * 16777619u;
    }
    for (size_t i = 0; i < alen; i++) {
        h = (h ^ u->src[i]) * 16777619u;
        h = (h ^ u->dst[i]) * 16777619u;
    }
    return h;
}

static bool flow_same(const pcap_udp *a, const pcap_udp *b)
{
    size_t alen = a->family == 4 ? 4 : 16;
    return a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
           memcmp(a->src, b->src, alen) == 0 && memcmp(a->dst, b->dst, alen) == 0;
}

static void flow_index_put(uint32_t *index, size_t mask, const pcap_udp *u, size_t n)
{
    size_t b = flow_hash(u) & mask;
    while (index[b] != 0) {
        b = (b + 1) & mask;
    }
    index[b] = (uint32_t)(n + 1);
}

/* Makes room for one more flow: the list doubles, the index stays under half full. */
static bool flows_grow(pcap_run *r)
{
    if (r->nflows < r->flows_cap) {
        return true;
    }
    size_t cap = r->flows_cap == 0 ? 16 : 2 * r->flows_cap;
    pcap_flow **flows = realloc(r->flows, cap * sizeof *flows);
    if (flows == NULL) {
        return false;
    }
    r->flows = flows;
    uint32_t *index = calloc(2 * cap, sizeof *index);
    if (index == NULL) {
        return false;
    }
    for (size_t i = 0; i < r->nflows; i++) {
        flow_index_put(index, 2 * cap - 1, &r->flows[i]->addr, i);
    }
    free(r->index);
    r->index = index;
    r->index_mask = 2 * cap - 1;
    r->flows_cap = cap;
    return true;
}

/* Finds the flow of u, or starts one. *f is NULL when the flow limit is reached; false
 * means out of memory. */
static bool flow_get(pcap_run *r, const pcap_udp *u, pcap_flow **f)
{
    *f = NULL;
    if (r->index != NULL) {
        for (size_t b = flow_hash(u) & r->index_mask; r->index[b] != 0;
             b = (b + 1) & r->index_mask) {
            pcap_flow *cand = r->flows[r->index[b] - 1];
            if (flow_same(&cand->addr, u)) {
                *f = cand;
                return true;
            }
        }
    }
    if (r->nflows == PCAP_MAX_FLOWS) {
        return true;
    }
    if (!flows_grow(r)) {
        return false;
    }
    pcap_flow *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return false;
    }
    n->addr = *u;
    n->key_used = -1;
    r->flows[r->nflows] = n;
    flow_index_put(r->index, r->index_mask, u, r->nflows);
    r->nflows++;
    *f = n;
    return true;
}

static void flows_free(pcap_run *r)
{
    for (size_t i = 0; i < r->nflows; i++) {
        for (size_t k = 0; k < PCAP_MAX_KEYS; k++) {
            dsrtp_srtp_rx_free(r->flows[i]->rx[k]);
        }
        dsrtp_srtp_tx_free(r->flows[i]->tx);
        free(r->flows[i]);
    }
    free(r->flows);
    free(r->index);
    r->flows = NULL;
    r->index = NULL;
    r->nflows = 0;
}

static void key_cfg(const pcap_opts *o, size_t k, dsrtp_srtp_cfg *cfg)
{
    dsrtp_srtp_cfg_init(cfg);
    cfg->profile = o->profile;
    cfg->master_key = o->keys[k].key_salt;
    cfg->master_key_len = dsrtp_profile_key_len(o->profile);
    cfg->master_salt = o->keys[k].key_salt + cfg->master_key_len;
    cfg->master_salt_len = dsrtp_profile_salt_len(o->profile);
    cfg->mki = o->keys[k].mki;
    cfg->mki_len = o->keys[k].mki_len;
    cfg->max_streams = o->max_streams;
    cfg->replay_window = PCAP_REPLAY_WINDOW;
    cfg->encrypt_rtcp = !o->plain_srtcp;
}

/* The verdicts SRTP gives on a packet; anything else means the tool itself failed. */
static bool packet_verdict(dsrtp_err err)
{
    return err == DSRTP_ERR_MALFORMED || err == DSRTP_ERR_AUTH || err == DSRTP_ERR_REPLAY ||
           err == DSRTP_ERR_TABLE_FULL || err == DSRTP_ERR_KEY_EXHAUSTED;
}

/* With several keys, the most telling refusal wins: a replay says the key was right. */
static int verdict_rank(dsrtp_err err)
{
    switch (err) {
    case DSRTP_ERR_REPLAY: return 4;
    case DSRTP_ERR_TABLE_FULL: return 3;
    case DSRTP_ERR_KEY_EXHAUSTED: return 2;
    case DSRTP_ERR_AUTH: return 1;
    default: return 0;
    }
}

/* Unprotects r->work (len bytes) with the flow's keys, the last one that worked first. */
static dsrtp_err flow_unprotect(pcap_run *r, pcap_flow *f, bool rtcp, uint32_t ssrc,
                                size_t len, size_t *out_len)
{
    const pcap_opts *o = r->o;
    dsrtp_err verdict = DSRTP_ERR_MALFORMED;
    if (o->nkeys > 1) {
        memcpy(r->saved, r->work, len);
    }
    for (size_t n = 0; n < o->nkeys; n++) {
        size_t k = (f->key_hint + n) % o->nkeys;
        dsrtp_err err = DSRTP_OK;
        if (f->rx[k] == NULL) {
            dsrtp_srtp_cfg cfg;
            key_cfg(o, k, &cfg);
            err = dsrtp_srtp_rx_new(&cfg, &f->rx[k]);
        }
        uint32_t roc = 0;
        if (err == DSRTP_OK && o->roc_set &&
            dsrtp_srtp_rx_get_roc(f->rx[k], ssrc, &roc) != DSRTP_OK) {
            err = dsrtp_srtp_rx_set_roc(f->rx[k], ssrc, o->roc);
        }
        if (err == DSRTP_OK) {
            err = rtcp ? dsrtp_srtp_rx_unprotect_rtcp(f->rx[k], r->work, len, out_len)
                       : dsrtp_srtp_rx_unprotect(f->rx[k], r->work, len, out_len);
        }
        if (err == DSRTP_OK) {
            f->key_hint = k;
            f->key_used = (int)k;
            return DSRTP_OK;
        }
        if (!packet_verdict(err)) {
            return err;
        }
        if (verdict_rank(err) >= verdict_rank(verdict)) {
            verdict = err;
        }
        if (n + 1 < o->nkeys) {
            /* The library leaves a refused packet as it was; this is belt and braces. */
            memcpy(r->work, r->saved, len);
        }
    }
    return verdict;
}

static dsrtp_err flow_protect(pcap_run *r, pcap_flow *f, bool rtcp, uint32_t ssrc, size_t len,
                              size_t *out_len)
{
    const pcap_opts *o = r->o;
    dsrtp_err err = DSRTP_OK;
    if (f->tx == NULL) {
        dsrtp_srtp_cfg cfg;
        key_cfg(o, 0, &cfg);
        err = dsrtp_srtp_tx_new(&cfg, &f->tx);
    }
    uint32_t roc = 0;
    if (err == DSRTP_OK && o->roc_set && dsrtp_srtp_tx_get_roc(f->tx, ssrc, &roc) != DSRTP_OK) {
        err = dsrtp_srtp_tx_set_roc(f->tx, ssrc, o->roc);
    }
    if (err == DSRTP_OK) {
        err = rtcp ? dsrtp_srtp_tx_protect_rtcp(f->tx, r->work, len, sizeof r->work, out_len)
                   : dsrtp_srtp_tx_protect(f->tx, r->work, len, sizeof r->work, out_len);
    }
    if (err == DSRTP_OK) {
        f->key_used = 0;
    }
    return err;
}

/* ---- packets ---- */

typedef enum media_kind { MEDIA_STUN, MEDIA_DTLS, MEDIA_RTP, MEDIA_RTCP, MEDIA_OTHER } media_kind;

static media_kind classify(const uint8_t *p, size_t n)
{
    if (n == 0) {
        return MEDIA_OTHER;
    }
    /* RFC 7983 §7: the first byte tells STUN, DTLS and RTP/RTCP apart. */
    if (p[0] <= 3) {
        return MEDIA_STUN;
    }
    if (p[0] >= 20 && p[0] <= 63) {
        return MEDIA_DTLS;
    }
    if (p[0] >= 128 && p[0] <= 191) {
        /* RFC 5761 §4: RTP keeps off payload types 64..95, so a second byte of 192..223
         * (marker set) can only be an RTCP packet type. */
        return n >= 2 && p[1] >= 192 && p[1] <= 223 ? MEDIA_RTCP : MEDIA_RTP;
    }
    return MEDIA_OTHER;
}

static bool port_selected(const pcap_opts *o, const pcap_udp *u)
{
    if (o->nports == 0) {
        /* Well-known ports carry DNS, NTP, syslog...; their first bytes can look like RTP. */
        return u->sport >= 1024 && u->dport >= 1024;
    }
    for (size_t i = 0; i < o->nports; i++) {
        if (u->sport == o->ports[i] || u->dport == o->ports[i]) {
            return true;
        }
    }
    return false;
}

static int write_frame(pcap_run *r, const struct pcap_pkthdr *h, const uint8_t *data)
{
    pcap_dump((u_char *)r->dump, h, data);
    r->c.written++;
    return 0;
}

static int copy_frame(pcap_run *r, uint64_t *why, const struct pcap_pkthdr *h,
                      const uint8_t *data)
{
    (*why)++;
    r->c.copied++;
    return write_frame(r, h, data);
}

static void flow_warn_full(pcap_run *r, pcap_flow *f)
{
    if (f->warned_full) {
        return;
    }
    f->warned_full = true;
    char a[PCAP_FRAME_ADDR_MAX];
    char b[PCAP_FRAME_ADDR_MAX];
    pcap_frame_addr(&f->addr, false, a, sizeof a);
    pcap_frame_addr(&f->addr, true, b, sizeof b);
    fprintf(stderr,
            "pcap: %s -> %s: %s (--max-streams %zu): packets of further SSRCs are "
            "dropped\n",
            a, b, dsrtp_strerror(DSRTP_ERR_TABLE_FULL), r->o->max_streams);
}

/* Counts a refused RTP/RTCP packet; it is not written. */
static void count_refusal(pcap_run *r, pcap_flow *f, dsrtp_err err)
{
    switch (err) {
    case DSRTP_ERR_AUTH:
        r->c.auth++;
        f->auth++;
        return;
    case DSRTP_ERR_REPLAY:
        r->c.replay++;
        f->replay++;
        return;
    case DSRTP_ERR_TABLE_FULL:
        r->c.table_full++;
        flow_warn_full(r, f);
        break;
    case DSRTP_ERR_KEY_EXHAUSTED: r->c.exhausted++; break;
    default: r->c.malformed++; break;
    }
    f->dropped++;
}

/* Handles one frame. Returns 0, or PCAP_EXIT_IO when the tool cannot go on. */
static int handle_frame(pcap_run *r, const struct pcap_pkthdr *h, const uint8_t *data)
{
    const pcap_opts *o = r->o;
    pcap_udp u;
    r->c.read++;
    switch (pcap_frame_parse(r->dlt, data, h->caplen, h->len, &u)) {
    case PCAP_FRAME_UDP: break;
    case PCAP_FRAME_NOT_IP: return copy_frame(r, &r->c.not_ip, h, data);
    case PCAP_FRAME_NOT_UDP: return copy_frame(r, &r->c.not_udp, h, data);
    case PCAP_FRAME_FRAGMENT: return copy_frame(r, &r->c.fragment, h, data);
    case PCAP_FRAME_TRUNCATED: return copy_frame(r, &r->c.truncated, h, data);
    default: return copy_frame(r, &r->c.bad_frame, h, data);
    }
    const uint8_t *payload = data + u.payload_off;
    media_kind m = classify(payload, u.payload_len);
    if (m == MEDIA_STUN) {
        return copy_frame(r, &r->c.stun, h, data);
    }
    if (m == MEDIA_DTLS) {
        return copy_frame(r, &r->c.dtls, h, data);
    }
    if (m == MEDIA_OTHER || !port_selected(o, &u)) {
        return copy_frame(r, &r->c.other_udp, h, data);
    }
    bool rtcp = m == MEDIA_RTCP;
    /* The SSRC is in clear in SRTP and SRTCP alike: RTP bytes 8..11, RTCP bytes 4..7. */
    size_t ssrc_at = rtcp ? 4 : 8;
    if (u.payload_len < ssrc_at + 4) {
        r->c.malformed++; /* too short to be either: not worth a flow */
        return 0;
    }
    const uint8_t *s = payload + ssrc_at;
    uint32_t ssrc = ((uint32_t)s[0] << 24) | ((uint32_t)s[1] << 16) | ((uint32_t)s[2] << 8) | s[3];
    if (o->ssrc_set && ssrc != o->ssrc) {
        r->c.ssrc_skipped++;
        return 0;
    }
    pcap_flow *f = NULL;
    if (!flow_get(r, &u, &f)) {
        fprintf(stderr, "pcap: out of memory\n");
        return PCAP_EXIT_IO;
    }
    if (f == NULL) {
        if (!r->warned_flows) {
            r->warned_flows = true;
            fprintf(stderr, "pcap: more than %d RTP flows: packets of further flows are "
                            "dropped\n", PCAP_MAX_FLOWS);
        }
        r->c.flow_limit++;
        return 0;
    }
    memcpy(r->work, payload, u.payload_len);
    size_t len = 0;
    dsrtp_err err = o->encrypt ? flow_protect(r, f, rtcp, ssrc, u.payload_len, &len)
                               : flow_unprotect(r, f, rtcp, ssrc, u.payload_len, &len);
    if (err != DSRTP_OK) {
        if (!packet_verdict(err)) {
            fprintf(stderr, "pcap: %s: %s\n", o->encrypt ? "protect" : "unprotect",
                    dsrtp_strerror(err));
            return PCAP_EXIT_IO;
        }
        count_refusal(r, f, err);
        return 0;
    }
    size_t out_len = 0;
    if (!pcap_frame_rebuild(data, h->caplen, &u, r->work, len, r->frame, sizeof r->frame,
                            &out_len)) {
        /* Protecting a datagram near 64 KiB can overflow the IP length fields. */
        r->c.too_large++;
        f->dropped++;
        return 0;
    }
    struct pcap_pkthdr nh = *h;
    nh.caplen = (bpf_u_int32)out_len;
    /* The wire length moves by what the payload did; whatever was never captured stays. */
    uint64_t uncaptured = h->len > h->caplen ? h->len - h->caplen : 0;
    nh.len = (bpf_u_int32)(out_len + uncaptured > UINT32_MAX ? UINT32_MAX
                                                              : out_len + uncaptured);
    if (rtcp) {
        r->c.rtcp++;
        f->rtcp++;
    } else {
        r->c.rtp++;
        f->rtp++;
    }
    return write_frame(r, &nh, r->frame);
}

/* ---- the capture ---- */

/* Classic pcap with microsecond stamps is written back the same way; anything else (the
 * nanosecond variant, pcapng, a pipe) is written with nanosecond stamps, which loses
 * nothing. */
static int input_precision(const char *path)
{
    uint8_t m[4];
    if (strcmp(path, "-") == 0) {
        return PCAP_TSTAMP_PRECISION_NANO;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return PCAP_TSTAMP_PRECISION_MICRO; /* opening it again reports the error */
    }
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    bool micro = n == sizeof m &&
                 ((m[0] == 0xd4 && m[1] == 0xc3 && m[2] == 0xb2 && m[3] == 0xa1) ||
                  (m[0] == 0xa1 && m[1] == 0xb2 && m[2] == 0xc3 && m[3] == 0xd4));
    return micro ? PCAP_TSTAMP_PRECISION_MICRO : PCAP_TSTAMP_PRECISION_NANO;
}

/* Reads every frame of in into r->dump. Returns 0 or PCAP_EXIT_IO; *complete is false when
 * reading the input failed part way. */
static int pump(pcap_run *r, pcap_t *in, bool *complete)
{
    struct pcap_pkthdr *h = NULL;
    const u_char *data = NULL;
    int got = 0;
    *complete = true;
    while ((got = pcap_next_ex(in, &h, &data)) == 1) {
        int rc = handle_frame(r, h, data);
        if (rc != 0) {
            *complete = false;
            return rc;
        }
    }
    if (got == PCAP_ERROR) {
        fprintf(stderr, "pcap: %s: %s\n", r->o->in, pcap_geterr(in));
        *complete = false;
        return PCAP_EXIT_IO;
    }
    return 0;
}

static int run(const pcap_opts *o)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    int precision = input_precision(o->in);
    pcap_t *in = pcap_open_offline_with_tstamp_precision(o->in, (u_int)precision, errbuf);
    if (in == NULL) {
        fprintf(stderr, "pcap: %s: %s\n", o->in, errbuf);
        return PCAP_EXIT_IO;
    }
    int dlt = pcap_datalink(in);
    if (!pcap_frame_link_supported(dlt)) {
        const char *name = pcap_datalink_val_to_name(dlt);
        fprintf(stderr, "pcap: %s: link type %s (%d) is not understood: every frame is "
                        "copied unchanged\n",
                o->in, name != NULL ? name : "?", dlt);
    }
    /* Decrypting only shrinks frames; protecting grows them, so give the output room. */
    int snaplen = pcap_snapshot(in);
    if (o->encrypt || snaplen <= 0 || snaplen > PCAP_OUT_SNAPLEN) {
        snaplen = PCAP_OUT_SNAPLEN;
    }
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, snaplen, (u_int)precision);
    pcap_run *r = calloc(1, sizeof *r);
    if (dead == NULL || r == NULL) {
        fprintf(stderr, "pcap: out of memory\n");
        free(r);
        if (dead != NULL) {
            pcap_close(dead);
        }
        pcap_close(in);
        return PCAP_EXIT_IO;
    }
    r->o = o;
    r->dlt = dlt;
    r->dump = pcap_dump_open(dead, o->out);
    if (r->dump == NULL) {
        fprintf(stderr, "pcap: %s: %s\n", o->out, pcap_geterr(dead));
        free(r);
        pcap_close(dead);
        pcap_close(in);
        return PCAP_EXIT_IO;
    }
    bool complete = true;
    int rc = pump(r, in, &complete);
    if (pcap_dump_flush(r->dump) != 0 || ferror(pcap_dump_file(r->dump))) {
        fprintf(stderr, "pcap: %s: write failed\n", o->out);
        rc = PCAP_EXIT_IO;
    }
    pcap_dump_close(r->dump);
    pcap_report(r, complete);
    flows_free(r);
    dsrtp_secure_wipe(r->work, sizeof r->work);
    dsrtp_secure_wipe(r->saved, sizeof r->saved);
    free(r);
    pcap_close(dead);
    pcap_close(in);
    return rc;
}

int dsrtp_cmd_pcap(int argc, char **argv)
{
    pcap_opts *o = calloc(1, sizeof *o);
    if (o == NULL) {
        fprintf(stderr, "pcap: out of memory\n");
        return PCAP_EXIT_IO;
    }
    int rc = pcap_opts_parse(argc, argv, o);
    if (rc == 0) {
        rc = run(o);
    } else if (rc < 0) {
        rc = 0;
    }
    dsrtp_secure_wipe(o, sizeof *o);
    free(o);
    return rc;
}
