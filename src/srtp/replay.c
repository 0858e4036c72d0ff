/* The replay window (RFC 3711 §3.3.2): a circular bitmap, so advancing the window by d
 * clears d bits instead of shifting the whole map. */
#include "srtp/srtp_int.h"

static uint64_t window_bits(const dsrtp_replay *w)
{
    return (uint64_t)w->words * 64u;
}

static bool bit_get(const dsrtp_replay *w, uint64_t index)
{
    uint64_t b = index % window_bits(w);
    return (w->bits[b / 64] >> (b % 64)) & 1u;
}

static void bit_set(dsrtp_replay *w, uint64_t index)
{
    uint64_t b = index % window_bits(w);
    w->bits[b / 64] |= (uint64_t)1 << (b % 64);
}

static void bit_clear(dsrtp_replay *w, uint64_t index)
{
    uint64_t b = index % window_bits(w);
    w->bits[b / 64] &= ~((uint64_t)1 << (b % 64));
}

dsrtp_err dsrtp_replay_check(const dsrtp_replay *w, uint64_t index)
{
    if (!w->any || index > w->high) {
        return DSRTP_OK;
    }
    DSRTP_CHECK(w->high - index < window_bits(w), DSRTP_ERR_REPLAY);
    DSRTP_CHECK(!bit_get(w, index), DSRTP_ERR_REPLAY);
    return DSRTP_OK;
}

void dsrtp_replay_commit(dsrtp_replay *w, uint64_t index)
{
    if (!w->any) {
        for (uint32_t i = 0; i < w->words; i++) {
            w->bits[i] = 0;
        }
        w->any = true;
        w->high = index;
    } else if (index > w->high) {
        uint64_t d = index - w->high;
        if (d >= window_bits(w)) {
            for (uint32_t i = 0; i < w->words; i++) {
                w->bits[i] = 0;
            }
        } else {
            for (uint64_t i = w->high + 1; i <= index; i++) {
                bit_clear(w, i);
            }
        }
        w->high = index;
    }
    bit_set(w, index);
}
