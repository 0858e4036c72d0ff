/* A datagram BIO for OpenSSL's DTLS: keeps datagram boundaries that a memory BIO would
 * lose. Writes become queued datagrams (a ring of slots allocated at creation, one MTU
 * each); a read hands over the one datagram being fed, then reports "retry". */
#include <stdlib.h>
#include <string.h>

#include "dtls/dtls_int.h"

dsrtp_err dsrtp_dgram_bio_init(dsrtp_dgram_bio *q, size_t slot_cap)
{
    *q = (dsrtp_dgram_bio){0};
    q->slot_cap = slot_cap;
    for (size_t i = 0; i < DSRTP_DTLS_QUEUE; i++) {
        q->out[i].data = malloc(slot_cap);
        if (q->out[i].data == NULL) {
            dsrtp_dgram_bio_clear(q);
            return DSRTP_ERR_NO_MEMORY;
        }
    }
    return DSRTP_OK;
}

void dsrtp_dgram_bio_clear(dsrtp_dgram_bio *q)
{
    for (size_t i = 0; i < DSRTP_DTLS_QUEUE; i++) {
        if (q->out[i].data != NULL) {
            /* Handshake records are not secret, but close_notify and later records are
             * encrypted application-layer bytes: wipe anyway, it is cheap. */
            dsrtp_wipe(q->out[i].data, q->slot_cap);
            free(q->out[i].data);
            q->out[i].data = NULL;
        }
    }
    q->out_count = 0;
}

static int bio_write(BIO *b, const char *data, int len)
{
    dsrtp_dgram_bio *q = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len < 0) {
        return -1;
    }
    if ((size_t)len > q->slot_cap || q->out_count == DSRTP_DTLS_QUEUE) {
        /* Behave like a lossy link: DTLS retransmission recovers. Reporting an error here
         * would wedge the handshake instead. */
        q->dropped++;
        return len;
    }
    dsrtp_dgram *slot = &q->out[(q->out_head + q->out_count) % DSRTP_DTLS_QUEUE];
    memcpy(slot->data, data, (size_t)len);
    slot->len = (size_t)len;
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

BIO *dsrtp_dgram_bio_new(dsrtp_dgram_bio *q, BIO_METHOD **meth_out)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dsrtp-dgram");
    if (m == NULL) {
        return NULL;
    }
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO *b = BIO_new(m);
    if (b == NULL) {
        BIO_meth_free(m);
        return NULL;
    }
    BIO_set_data(b, q);
    *meth_out = m;
    return b;
}
