/* Fuzz target: stream sorting for bundled sides (tools/dsrtpd/streams.c). The input's first
 * bytes configure a map: a stream count, payload types, then SSRCs to learn; the rest is
 * classed as RTP and as RTCP. A model written out here (a PT table and a first-in,
 * first-out list of at most GW_SSRC_MAP SSRCs) must agree with the map after every step:
 * learn(s, k) makes s map to k, a new SSRC with the list full forgets exactly the oldest,
 * out-of-range arguments change nothing, and the map never names more than GW_SSRC_MAP
 * SSRCs. RTP must land where the model says; RTCP must be below the stream count, and when
 * not 0, the stream of some SSRC in a 4-aligned word of the packet. Classifying suffixes of
 * the input (which end where the input ends) makes any read past the end an ASan report.
 * Deterministic: no RNG, no clock, no allocation.
 *
 * Input: [streams-1 (low 3 bits) | 0x08: clear PTs after setting them]
 *        [n_pt (low 5 bits)] n_pt x [pt][k]
 *        [n_learn (low 5 bits)] n_learn x [ssrc, 4 bytes big-endian][k]
 *        packet bytes...
 * A k byte with the top bit set asks for an out-of-range stream (which must be ignored);
 * otherwise the stream is k % streams. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "streams.h"

typedef struct model {
    unsigned streams;
    uint8_t pt[128];
    uint32_t ssrc[GW_SSRC_MAP]; /* oldest first */
    uint8_t ssrc_stream[GW_SSRC_MAP];
    unsigned n;
    uint32_t seen[32]; /* every SSRC ever learnt, for the "at most GW_SSRC_MAP" check */
    unsigned n_seen;
} model;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned model_ssrc(const model *md, uint32_t s)
{
    for (unsigned i = 0; i < md->n; i++) {
        if (md->ssrc[i] == s) {
            return md->ssrc_stream[i];
        }
    }
    return GW_NO_STREAM;
}

static void model_learn(model *md, uint32_t s, unsigned k)
{
    for (unsigned i = 0; i < md->n; i++) {
        if (md->ssrc[i] == s) {
            md->ssrc_stream[i] = (uint8_t)k;
            return;
        }
    }
    if (md->n == GW_SSRC_MAP) {
        memmove(md->ssrc, md->ssrc + 1, (GW_SSRC_MAP - 1) * sizeof md->ssrc[0]);
        memmove(md->ssrc_stream, md->ssrc_stream + 1, GW_SSRC_MAP - 1);
        md->n--;
    }
    md->ssrc[md->n] = s;
    md->ssrc_stream[md->n] = (uint8_t)k;
    md->n++;
    bool seen = false;
    for (unsigned i = 0; i < md->n_seen; i++) {
        seen = seen || md->seen[i] == s;
    }
    if (!seen && md->n_seen < sizeof md->seen / sizeof md->seen[0]) {
        md->seen[md->n_seen++] = s;
    }
}

/* A stream byte from the input: k % streams, or (top bit) a value the map must ignore. */
static unsigned stream_arg(const model *md, uint8_t b)
{
    if (b & 0x80) {
        static const unsigned bad[4] = {GW_NO_STREAM, GW_NO_STREAM + 1, 1000, 0xffffffffu};
        return bad[b & 3];
    }
    return b % md->streams;
}

/* The map and the model agree on every SSRC ever learnt and on the payload types. */
static void check_agree(const gw_stream_map *m, const model *md)
{
    if (m->ssrc_next >= GW_SSRC_MAP) {
        abort();
    }
    unsigned used = 0;
    for (unsigned i = 0; i < GW_SSRC_MAP; i++) {
        if (m->ssrc_stream[i] == GW_NO_STREAM) {
            continue;
        }
        used++;
        if (m->ssrc_stream[i] >= md->streams) {
            abort();
        }
        for (unsigned j = i + 1; j < GW_SSRC_MAP; j++) {
            if (m->ssrc_stream[j] != GW_NO_STREAM && m->ssrc[j] == m->ssrc[i]) {
                abort(); /* one entry per SSRC */
            }
        }
    }
    if (used != md->n) {
        abort();
    }
    unsigned known = 0;
    for (unsigned i = 0; i < md->n_seen; i++) {
        unsigned k = gw_stream_map_ssrc(m, md->seen[i]);
        if (k != model_ssrc(md, md->seen[i])) {
            abort();
        }
        known += k != GW_NO_STREAM;
    }
    if (known > GW_SSRC_MAP || known != md->n) {
        abort();
    }
    for (unsigned pt = 0; pt < 128; pt++) {
        if (m->pt_stream[pt] != md->pt[pt]) {
            abort();
        }
    }
}

/* RTCP answer: below the stream count, and 0 or the stream of an SSRC in an aligned word. */
static void check_rtcp(const gw_stream_map *m, const model *md, const uint8_t *p, size_t len)
{
    unsigned k = gw_stream_map_rtcp(m, p, len);
    if (k >= md->streams) {
        abort();
    }
    if (k == 0) {
        return;
    }
    for (size_t i = 0; i + 4 <= len; i += 4) {
        if (model_ssrc(md, rd32(p + i)) == k) {
            return;
        }
    }
    abort();
}

static void check_rtp(const gw_stream_map *m, const model *md, const uint8_t *p, size_t len)
{
    unsigned k = gw_stream_map_rtp(m, p, len);
    unsigned want = GW_NO_STREAM;
    if (len >= 12) {
        want = md->pt[p[1] & 0x7f];
        if (want == GW_NO_STREAM) {
            want = model_ssrc(md, rd32(p + 8));
        }
    }
    if (k != want || (k != GW_NO_STREAM && k >= md->streams)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_stream_map m;
    model md;
    size_t at = 0;
    memset(&md, 0, sizeof md);
    memset(md.pt, GW_NO_STREAM, sizeof md.pt);
    gw_stream_map_init(&m);
    md.streams = 1;
    check_agree(&m, &md);
    if (size == 0) {
        check_rtp(&m, &md, data, 0);
        check_rtcp(&m, &md, data, 0);
        return 0;
    }
    uint8_t flags = data[at++];
    md.streams = 1 + (flags & 7u);

    /* Payload types. */
    unsigned n_pt = at < size ? data[at++] & 31u : 0;
    for (unsigned i = 0; i < n_pt && size - at >= 2; i++, at += 2) {
        unsigned pt = data[at];
        unsigned k = stream_arg(&md, data[at + 1]);
        gw_stream_map_set_pt(&m, pt, k);
        if (pt < 128 && k < GW_NO_STREAM && md.pt[pt] == GW_NO_STREAM) {
            md.pt[pt] = (uint8_t)k;
        }
        check_agree(&m, &md);
    }
    if (flags & 0x08) {
        gw_stream_map_clear_pts(&m);
        memset(md.pt, GW_NO_STREAM, sizeof md.pt);
        check_agree(&m, &md);
    }

    /* SSRCs. */
    unsigned n_learn = at < size ? data[at++] & 31u : 0;
    for (unsigned i = 0; i < n_learn && size - at >= 5; i++, at += 5) {
        uint32_t s = rd32(data + at);
        unsigned k = stream_arg(&md, data[at + 4]);
        gw_stream_map before = m;
        gw_stream_map_learn(&m, s, k);
        if (k >= GW_NO_STREAM) {
            if (memcmp(&before, &m, sizeof m) != 0) {
                abort(); /* ignored: not a byte changes */
            }
            continue;
        }
        model_learn(&md, s, k);
        if (gw_stream_map_ssrc(&m, s) != k) {
            abort();
        }
        check_agree(&m, &md);
    }

    /* The rest as RTP and RTCP, and a few of its suffixes (each ends where the input does). */
    const uint8_t *p = data + at;
    size_t len = size - at;
    for (size_t off = 0; off <= len && off <= 64; off++) {
        check_rtp(&m, &md, p + off, len - off);
        if (off % 4 == 0) {
            check_rtcp(&m, &md, p + off, len - off);
        }
    }
    /* Classifying changed nothing. */
    check_agree(&m, &md);
    return 0;
}
