/* A datagram BIO for OpenSSL's DTLS: keeps datagram boundaries that a memory BIO would
 * lose. Writes become queued datagrams in a ring of slots, one MTU each; a slot's buffer is
 * allocated when first written and kept until the endpoint goes, and an empty ring starts
 * again at slot 0, so a handshake (drained between flights) touches only as many slots as
 * its largest flight has datagrams. A read hands over the one datagram being fed, then
 * reports "retry".
 *
 * Writes are also watched for the epoch-1 sequence numbers OpenSSL uses, so that records we
 * seal ourselves once the SSL object is gone (post.c) carry the next one. */
#include <stdlib.h>
#include <string.h>

#include "dtls/dtls_int.h"

dsrtp_err dsrtp_dgram_bio_init(dsrtp_dgram_bio *q, size_t slot_cap)
{
    *q = (dsrtp_dgram_bio){0};
    q->slot_cap = slot_cap;
    return DSRTP_OK;
}

void dsrtp_dgram_bio_clear(dsrtp_dgram_bio *q)
{
    for (size_t i = 0; i < DSRTP_DTLS_QUEUE; i++) {
        if (q->out[i].data != NULL) {
            /* Handshake records are not secret, but close_notify and later records are
             * encrypted application-layer bytes: wipe anyway, it is cheap. */
            dsrtp_wipe(q->out[i].data, q->out[i].dirty);
            free(q->out[i].data);
            q->out[i].data = NULL;
            q->out[i].dirty = 0;
        }
    }
    q->out_count = 0;
}

/* Notes the highest epoch-1 sequence number among the records of one outgoing datagram.
 * OpenSSL writes whole records, but the walk stops quietly at anything short. */
static void note_epoch1(dsrtp_dgram_bio *q, const uint8_t *p, size_t len)
{
    dsrtp_rd r = dsrtp_rd_make(p, len);
    for (;;) {
        const uint8_t *h;
        if (dsrtp_rd_take(&r, DSRTP_DTLS_HEADER_LEN, &h) != DSRTP_OK) {
            return;
        }
        uint16_t body = dsrtp_load16(h + 11);
        if (dsrtp_load16(h + 3) == 1) {
            uint64_t seq = (uint64_t)dsrtp_load16(h + 5) << 32 | dsrtp_load32(h + 7);
            if (seq + 1 > q->epoch1_next) {
                q->epoch1_next = seq + 1;
            }
        }
        if (dsrtp_rd_skip(&r, body) != DSRTP_OK) {
            return;
        }
    }
}

static int bio_write(BIO *b, const char *data, int len)
{
    dsrtp_dgram_bio *q = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len < 0) {
        return -1;
    }
    /* Even a write dropped below used up its sequence numbers. */
    note_epoch1(q, (const uint8_t *)data, (size_t)len);
    if (q->out_count == 0) {
        q->out_head = 0; /* reuse the slots already allocated */
    }
    dsrtp_dgram *slot = &q->out[(q->out_head + q->out_count) % DSRTP_DTLS_QUEUE];
    if (slot->data == NULL && (size_t)len <= q->slot_cap && q->out_count < DSRTP_DTLS_QUEUE) {
        slot->data = malloc(q->slot_cap);
    }
    if ((size_t)len > q->slot_cap || q->out_count == DSRTP_DTLS_QUEUE || slot->data == NULL) {
        /* Behave like a lossy link: DTLS retransmission recovers. Reporting an error here
         * would wedge the handshake instead. */
        q->dropped++;
        return len;
    }
    memcpy(slot->data, data, (size_t)len);
    slot->len = (size_t)len;
    q->writes++;
    if (slot->len > slot->dirty) {
        slot->dirty = slot->len;
    }
    q->out_count++;
    return len;
}

static int bio_read(BIO *b, char *buf, int cap)
{
    dsrtp_dgram_bio *q = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (q->in == NULL) {
        BIO_set_retry_read(b);
        return -1;
    }
    if (cap < 0) {
        return -1;
    }
    /* A datagram longer than the reader's buffer is truncated, as recv() would do. */
    size_t n = q->in_len < (size_t)cap ? q->in_len : (size_t)cap;
    memcpy(buf, q->in, n);
    q->in = NULL;
    q->in_len = 0;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    dsrtp_dgram_bio *q = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return q->in != NULL ? (long)q->in_len : 0;
    case BIO_CTRL_WPENDING:
        return 0;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 0; /* the caller's MTU is the UDP payload size */
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* The type number only names the method to BIO_find_type, which nothing does for this one.
 * BIO_get_new_index would draw from a process-wide counter that OpenSSL never winds back
 * (3.0 lets it run past BIO_TYPE_MASK into the flag bits; later releases return -1 there), so a
 * fixed number from the application range (128..255) is used instead. */
#define DGRAM_BIO_INDEX 0xd5

BIO_METHOD *dsrtp_dgram_bio_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(DGRAM_BIO_INDEX | BIO_TYPE_SOURCE_SINK, "dsrtp-dgram");
    if (m == NULL) {
        return NULL;
    }
    if (BIO_meth_set_write(m, bio_write) != 1 || BIO_meth_set_read(m, bio_read) != 1 ||
        BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

BIO *dsrtp_dgram_bio_new(dsrtp_dgram_bio *q, const BIO_METHOD *meth)
{
    BIO *b = BIO_new(meth);
    if (b != NULL) {
        BIO_set_data(b, q);
    }
    return b;
}
