/* The summary of `dsrtp pcap`: one line in the shape engineers grep for, details of what
 * was dropped or copied, hints for the usual reasons nothing decrypts, and a JSON object
 * for scripts. */
#include <inttypes.h>
#include <stdio.h>

#include "pcap_tool.h"

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* Appends ", N what" to a list that starts with head, printing head before the first. */
static void item(bool *first, const char *head, uint64_t n, const char *what)
{
    if (n == 0) {
        return;
    }
    fprintf(stderr, "%s%" PRIu64 " %s", *first ? head : ", ", n, what);
    *first = false;
}

static void flow_line(const pcap_run *r, const pcap_flow *f)
{
    char a[PCAP_FRAME_ADDR_MAX];
    char b[PCAP_FRAME_ADDR_MAX];
    pcap_frame_addr(&f->addr, false, a, sizeof a);
    pcap_frame_addr(&f->addr, true, b, sizeof b);
    fprintf(stderr, "  flow %s -> %s: %" PRIu64 " RTP, %" PRIu64 " RTCP", a, b, f->rtp,
            f->rtcp);
    if (!r->o->encrypt) {
        fprintf(stderr, ", %" PRIu64 " authentication failure%s, %" PRIu64 " replay%s",
                f->auth, plural(f->auth), f->replay, plural(f->replay));
    }
    fprintf(stderr, ", %" PRIu64 " dropped", f->dropped);
    if (r->o->nkeys > 1) {
        if (f->key_used >= 0) {
            fprintf(stderr, ", key %d", f->key_used + 1);
        } else {
            fprintf(stderr, ", no key verified");
        }
    }
    fprintf(stderr, "\n");
}

static void report_text(const pcap_run *r, bool complete)
{
    const pcap_opts *o = r->o;
    const pcap_counts *c = &r->c;
    const char *mode = o->encrypt ? "encrypt" : "decrypt";
    fprintf(stderr, "%s: %" PRIu64 " packet%s read, %" PRIu64 " RTP and %" PRIu64 " RTCP %s",
            mode, c->read, plural(c->read), c->rtp, c->rtcp,
            o->encrypt ? "encrypted" : "decrypted");
    if (!o->encrypt) {
        fprintf(stderr, ", %" PRIu64 " authentication failure%s, %" PRIu64 " replay%s", c->auth,
                plural(c->auth), c->replay, plural(c->replay));
    }
    fprintf(stderr, ", %" PRIu64 " other copied%s\n", c->copied,
            complete ? "" : " (stopped early)");

    bool first = true;
    item(&first, "  not written: ", c->malformed, "malformed");
    item(&first, "  not written: ", c->ssrc_skipped, "of other SSRCs");
    item(&first, "  not written: ", c->table_full, "of new SSRCs in a full stream table");
    item(&first, "  not written: ", c->exhausted, "past the key's packet limit");
    item(&first, "  not written: ", c->too_large, "too large to protect");
    item(&first, "  not written: ", c->flow_limit, "beyond the flow limit");
    if (!first) {
        fprintf(stderr, "\n");
    }
    first = true;
    item(&first, "  copied: ", c->stun, "STUN");
    item(&first, "  copied: ", c->dtls, "DTLS");
    item(&first, "  copied: ", c->other_udp, "other UDP");
    item(&first, "  copied: ", c->not_udp, "IP but not UDP");
    item(&first, "  copied: ", c->not_ip, "not IP");
    item(&first, "  copied: ", c->fragment, "IP fragments");
    item(&first, "  copied: ", c->truncated, "cut by the snapshot length");
    item(&first, "  copied: ", c->bad_frame, "with bad IP/UDP headers");
    if (!first) {
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "  wrote %" PRIu64 " packet%s to %s\n", c->written, plural(c->written),
            o->out);
    if (o->verbose) {
        for (size_t i = 0; i < r->nflows; i++) {
            flow_line(r, r->flows[i]);
        }
    }
    if (!o->encrypt && c->rtp + c->rtcp == 0 && c->auth > 0) {
        fprintf(stderr, "hint: nothing authenticated. Check --profile and the key: with SDES "
                        "each direction has its own key (give --key once per direction); a "
                        "capture starting late in a long call may need --roc\n");
    }
    if (c->truncated > 0) {
        fprintf(stderr, "hint: %" PRIu64 " frame%s cut short by the capture's snapshot "
                        "length; capture with -s 0\n",
                c->truncated, plural(c->truncated));
    }
}

/* Writes s as a JSON string: quotes, backslashes and control characters escaped. */
static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if (*p < 0x20) {
            printf("\\u%04x", *p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

static void json_count(const char *name, uint64_t n)
{
    printf(",\"%s\":%" PRIu64, name, n);
}

static void report_json(const pcap_run *r, bool complete)
{
    const pcap_opts *o = r->o;
    const pcap_counts *c = &r->c;
    printf("{\"mode\":\"%s\",\"profile\":\"%s\",\"input\":", o->encrypt ? "encrypt" : "decrypt",
           dsrtp_profile_name(o->profile));
    json_string(o->in);
    printf(",\"output\":");
    json_string(o->out);
    printf(",\"complete\":%s", complete ? "true" : "false");
    json_count("packets_read", c->read);
    json_count("written", c->written);
    json_count("rtp", c->rtp);
    json_count("rtcp", c->rtcp);
    json_count("auth_failures", c->auth);
    json_count("replays", c->replay);
    json_count("malformed", c->malformed);
    json_count("ssrc_skipped", c->ssrc_skipped);
    json_count("table_full", c->table_full);
    json_count("key_exhausted", c->exhausted);
    json_count("too_large", c->too_large);
    json_count("flow_limit", c->flow_limit);
    json_count("copied", c->copied);
    printf(",\"copied_detail\":{\"stun\":%" PRIu64, c->stun);
    json_count("dtls", c->dtls);
    json_count("other_udp", c->other_udp);
    json_count("not_udp", c->not_udp);
    json_count("not_ip", c->not_ip);
    json_count("fragments", c->fragment);
    json_count("truncated", c->truncated);
    json_count("bad_headers", c->bad_frame);
    printf("},\"flows\":[");
    for (size_t i = 0; i < r->nflows; i++) {
        const pcap_flow *f = r->flows[i];
        char a[PCAP_FRAME_ADDR_MAX];
        char b[PCAP_FRAME_ADDR_MAX];
        pcap_frame_addr(&f->addr, false, a, sizeof a);
        pcap_frame_addr(&f->addr, true, b, sizeof b);
        printf("%s{\"src\":\"%s\",\"dst\":\"%s\"", i == 0 ? "" : ",", a, b);
        json_count("rtp", f->rtp);
        json_count("rtcp", f->rtcp);
        json_count("auth_failures", f->auth);
        json_count("replays", f->replay);
        json_count("dropped", f->dropped);
        printf(",\"key\":%d}", f->key_used + 1);
    }
    printf("]}\n");
    fflush(stdout);
}

void pcap_report(const pcap_run *r, bool complete)
{
    report_text(r, complete);
    if (r->o->json) {
        report_json(r, complete);
    }
}
