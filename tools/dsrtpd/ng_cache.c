/* Retransmission cache: a fixed table of (cookie, source) -> reply bytes, allocated once.
 * Lookups scan the table (a few hundred short compares per request, far below the cost of
 * handling an offer). Victims on insert: the same key, else a free or expired slot, else
 * the slot stored longest ago (by insertion sequence, so equal timestamps still order).
 * Replies to offers and answers may carry SDES keys (a=crypto), so reply bytes are wiped
 * when an entry is dropped, replaced or the cache is freed. */
#include "ng_int.h"

#include <dsrtp/util.h>

#include <stdlib.h>
#include <string.h>

#define NG_CACHE_MAX_SLOTS 65536u
#define NG_CACHE_MAX_REPLY (1024u * 1024u)

typedef struct ng_cache_slot {
    bool used;
    dsrtp_time stored;
    uint64_t seq;
    uint8_t cookie[DSRTPD_NG_MAX_COOKIE];
    size_t cookie_len;
    uint8_t src[DSRTPD_NG_CACHE_MAX_SRC];
    size_t src_len;
    size_t reply_len;
} ng_cache_slot;

struct dsrtpd_ng_cache {
    ng_cache_slot *slots;
    uint8_t *replies; /* slots * max_reply bytes; slot i owns [i * max_reply, +max_reply) */
    size_t n_slots;
    size_t max_reply;
    dsrtp_time ttl;
    dsrtp_time last_now;
    uint64_t next_seq;
};

dsrtp_err dsrtpd_ng_cache_new(size_t slots, size_t max_reply, dsrtp_time ttl,
                              dsrtpd_ng_cache **out)
{
    DSRTP_CHECK(out != NULL && slots > 0 && slots <= NG_CACHE_MAX_SLOTS && max_reply > 0 &&
                    max_reply <= NG_CACHE_MAX_REPLY && ttl > 0,
                DSRTP_ERR_INVALID_ARG);
    dsrtpd_ng_cache *c = calloc(1, sizeof *c);
    DSRTP_CHECK(c != NULL, DSRTP_ERR_NO_MEMORY);
    c->slots = calloc(slots, sizeof *c->slots);
    /* slots <= 2^16 and max_reply <= 2^20: the product fits any 64-bit size_t. */
    c->replies = malloc(slots * max_reply);
    if (c->slots == NULL || c->replies == NULL) {
        dsrtpd_ng_cache_free(c);
        return DSRTP_ERR_NO_MEMORY;
    }
    c->n_slots = slots;
    c->max_reply = max_reply;
    c->ttl = ttl;
    *out = c;
    return DSRTP_OK;
}

void dsrtpd_ng_cache_free(dsrtpd_ng_cache *c)
{
    if (c == NULL) {
        return;
    }
    if (c->replies != NULL) {
        dsrtp_secure_wipe(c->replies, c->n_slots * c->max_reply);
    }
    free(c->slots);
    free(c->replies);
    free(c);
}

/* Time never runs backwards for the cache (a lower now counts as the last one seen). */
static dsrtp_time cache_now(dsrtpd_ng_cache *c, dsrtp_time now)
{
    if (now > c->last_now) {
        c->last_now = now;
    }
    return c->last_now;
}

static bool slot_live(const dsrtpd_ng_cache *c, const ng_cache_slot *s, dsrtp_time now)
{
    return s->used && now - s->stored < c->ttl;
}

static void slot_drop(dsrtpd_ng_cache *c, size_t i)
{
    dsrtp_secure_wipe(c->replies + i * c->max_reply, c->slots[i].reply_len);
    c->slots[i].used = false;
    c->slots[i].reply_len = 0;
}

static bool slot_matches(const ng_cache_slot *s, dsrtpd_ng_str cookie, const void *src,
                         size_t src_len)
{
    /* Cookies and addresses are not secret: a plain compare is fine. */
    return s->used && s->cookie_len == cookie.len && s->src_len == src_len &&
           memcmp(s->cookie, cookie.p, cookie.len) == 0 &&
           (src_len == 0 || memcmp(s->src, src, src_len) == 0);
}

static bool key_ok(dsrtpd_ng_str cookie, const void *src, size_t src_len)
{
    return cookie.p != NULL && cookie.len > 0 && cookie.len <= DSRTPD_NG_MAX_COOKIE &&
           (src != NULL || src_len == 0) && src_len <= DSRTPD_NG_CACHE_MAX_SRC;
}

bool dsrtpd_ng_cache_get(dsrtpd_ng_cache *c, dsrtp_time now, dsrtpd_ng_str cookie,
                         const void *src, size_t src_len, const uint8_t **reply,
                         size_t *reply_len)
{
    if (c == NULL || reply == NULL || reply_len == NULL || !key_ok(cookie, src, src_len)) {
        return false;
    }
    now = cache_now(c, now);
    for (size_t i = 0; i < c->n_slots; i++) {
        ng_cache_slot *s = &c->slots[i];
        if (!slot_matches(s, cookie, src, src_len)) {
            continue;
        }
        if (!slot_live(c, s, now)) {
            slot_drop(c, i); /* expired: forget it */
            return false;
        }
        *reply = c->replies + i * c->max_reply;
        *reply_len = s->reply_len;
        return true;
    }
    return false;
}

dsrtp_err dsrtpd_ng_cache_put(dsrtpd_ng_cache *c, dsrtp_time now, dsrtpd_ng_str cookie,
                              const void *src, size_t src_len, const uint8_t *reply,
                              size_t reply_len)
{
    DSRTP_CHECK(c != NULL && key_ok(cookie, src, src_len), DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(reply != NULL || reply_len == 0, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(reply_len <= c->max_reply, DSRTP_ERR_BUFFER_TOO_SMALL);
    now = cache_now(c, now);
    size_t victim = SIZE_MAX;
    size_t oldest = 0;
    for (size_t i = 0; i < c->n_slots; i++) {
        ng_cache_slot *s = &c->slots[i];
        if (slot_matches(s, cookie, src, src_len)) {
            victim = i;
            break;
        }
        if (victim == SIZE_MAX && !slot_live(c, s, now)) {
            victim = i; /* keep looking: a slot with the same key wins */
        }
        if (c->slots[i].seq < c->slots[oldest].seq) {
            oldest = i;
        }
    }
    if (victim == SIZE_MAX) {
        victim = oldest;
    }
    slot_drop(c, victim);
    ng_cache_slot *s = &c->slots[victim];
    s->used = true;
    s->stored = now;
    s->seq = ++c->next_seq;
    memcpy(s->cookie, cookie.p, cookie.len);
    s->cookie_len = cookie.len;
    if (src_len > 0) {
        memcpy(s->src, src, src_len);
    }
    s->src_len = src_len;
    if (reply_len > 0) {
        memcpy(c->replies + victim * c->max_reply, reply, reply_len);
    }
    s->reply_len = reply_len;
    return DSRTP_OK;
}
