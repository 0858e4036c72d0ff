/* Per-SSRC stream table: a fixed array of slots plus an open-addressing index, both sized
 * at creation. Slots are never freed while the context lives, so probing needs no
 * tombstones. Also the ROC estimate of RFC 3711 §3.3.1. */
#include <stdlib.h>

#include "srtp/srtp_int.h"

dsrtp_err dsrtp_stream_table_init(dsrtp_stream_table *t, size_t cap, size_t window_bits,
                                  unsigned windows)
{
    DSRTP_CHECK(cap > 0 && cap <= (1u << 20), DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(windows <= 2 && window_bits <= DSRTP_SRTP_MAX_WINDOW, DSRTP_ERR_INVALID_ARG);
    size_t buckets = 2;
    while (buckets < 2 * cap) {
        buckets *= 2;
    }
    size_t words = (window_bits + 63) / 64;
    /* One block: the slots, then each slot's windows, then the index (alignment falls
     * from the order: 8-byte slots and words first, 4-byte index entries last). */
    size_t slots_size = cap * sizeof *t->slots;
    size_t bitmaps_size = cap * windows * words * sizeof *t->bitmaps;
    uint8_t *block = calloc(1, slots_size + bitmaps_size + buckets * sizeof *t->index);
    DSRTP_CHECK(block != NULL, DSRTP_ERR_NO_MEMORY);
    t->slots = (dsrtp_stream *)(void *)block;
    t->bitmaps = windows > 0 ? (uint64_t *)(void *)(block + slots_size) : NULL;
    t->index = (uint32_t *)(void *)(block + slots_size + bitmaps_size);
    t->size = slots_size + bitmaps_size + buckets * sizeof *t->index;
    t->words = (uint32_t)words;
    t->windows = windows;
    t->cap = cap;
    t->count = 0;
    t->mask = buckets - 1;
    t->last = 0;
    return DSRTP_OK;
}

void dsrtp_stream_table_clear(dsrtp_stream_table *t)
{
    if (t->slots != NULL) {
        /* Windows and ROCs are no keys, but say what was received: leave nothing behind. */
        dsrtp_wipe(t->slots, t->size);
        free(t->slots);
    }
    *t = (dsrtp_stream_table){0};
}

static size_t bucket_of(uint32_t ssrc, size_t mask)
{
    /* SSRCs are random by spec but chosen by the peer: mix them anyway. */
    uint32_t h = ssrc * 0x9e3779b1u;
    return (size_t)(h ^ (h >> 16)) & mask;
}

dsrtp_stream *dsrtp_stream_find(dsrtp_stream_table *t, uint32_t ssrc)
{
    if (t->count > 0 && t->slots[t->last].ssrc == ssrc) {
        return &t->slots[t->last];
    }
    for (size_t b = bucket_of(ssrc, t->mask);; b = (b + 1) & t->mask) {
        uint32_t v = t->index[b];
        if (v == 0) {
            return NULL;
        }
        if (t->slots[v - 1].ssrc == ssrc) {
            t->last = v - 1;
            return &t->slots[v - 1];
        }
    }
}

dsrtp_err dsrtp_stream_add(dsrtp_stream_table *t, uint32_t ssrc, dsrtp_stream **out)
{
    DSRTP_CHECK(t->count < t->cap, DSRTP_ERR_TABLE_FULL);
    size_t b = bucket_of(ssrc, t->mask);
    while (t->index[b] != 0) {
        b = (b + 1) & t->mask;
    }
    size_t slot = t->count++;
    t->index[b] = (uint32_t)(slot + 1);
    dsrtp_stream *s = &t->slots[slot];
    *s = (dsrtp_stream){0};
    s->ssrc = ssrc;
    if (t->windows > 0) {
        s->rtp_win.bits = t->bitmaps + slot * t->windows * t->words;
        s->rtp_win.words = t->words;
    }
    if (t->windows > 1) {
        s->rtcp_win.bits = s->rtp_win.bits + t->words;
        s->rtcp_win.words = t->words;
    }
    t->last = slot;
    *out = s;
    return DSRTP_OK;
}

dsrtp_err dsrtp_roc_estimate(const dsrtp_stream *s, uint16_t seq, uint32_t *v)
{
    if (!s->rtp_started) {
        *v = s->roc;
        return DSRTP_OK;
    }
    /* RFC 3711 Appendix A. */
    if (s->s_l < 32768) {
        if ((int)seq - (int)s->s_l > 32768) {
            DSRTP_CHECK(s->roc > 0, DSRTP_ERR_REPLAY);
            *v = s->roc - 1;
        } else {
            *v = s->roc;
        }
    } else {
        if ((int)s->s_l - 32768 > (int)seq) {
            DSRTP_CHECK(s->roc < UINT32_MAX, DSRTP_ERR_KEY_EXHAUSTED);
            *v = s->roc + 1;
        } else {
            *v = s->roc;
        }
    }
    return DSRTP_OK;
}
