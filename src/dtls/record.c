/* Record framing checks made before OpenSSL sees a datagram.
 *
 * OpenSSL 3.0 drops many invalid DTLS records silently, but treats others as fatal to the
 * whole association although nothing authenticates them: an epoch-0 handshake record whose
 * fragment header disagrees with the record length ("bad length"), a ChangeCipherSpec or
 * alert of the wrong size, a warning alert, application data in epoch 0, fragments of one
 * handshake message disagreeing on its length, or a protected record shorter than the AEAD
 * nonce and tag (an internal error inside the cipher call, which kills even a connected
 * endpoint). One spoofed datagram could end a handshake or a call.
 * RFC 6347 §4.1.2.7: invalid records SHOULD be silently discarded; this check discards every
 * one that framing alone can tell apart from a genuine record. */
#include <openssl/obj_mac.h>

#include "dtls/dtls_int.h"

#define RT_CHANGE_CIPHER_SPEC DSRTP_DTLS_RT_CHANGE_CIPHER_SPEC
#define RT_ALERT DSRTP_DTLS_RT_ALERT
#define RT_HANDSHAKE DSRTP_DTLS_RT_HANDSHAKE

static bool rd_u24(dsrtp_rd *r, uint32_t *v)
{
    const uint8_t *b;
    if (dsrtp_rd_take(r, 3, &b) != DSRTP_OK) {
        return false;
    }
    *v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
    return true;
}

/* The messages one datagram's fragments belong to, as their first fragment stated them.
 * A flight holds a handful of messages; beyond MSGS_TRACKED the rest go unchecked. */
#define MSGS_TRACKED 16
typedef struct hs_msgs {
    uint16_t seq[MSGS_TRACKED];
    uint8_t type[MSGS_TRACKED];
    uint32_t len[MSGS_TRACKED];
    size_t n;
} hs_msgs;

/* False when an earlier fragment of message msg_seq in this datagram stated another type or
 * length. OpenSSL 3.0 keeps the first fragment's length and, at a later fragment of the same
 * message stating another, abandons the handshake with an empty error queue
 * (dtls1_reassemble_fragment), so two spoofed records could end it. Fragments of one message
 * that arrive in separate datagrams cannot be compared here. */
static bool same_message(hs_msgs *m, uint8_t msg_type, uint32_t msg_len, uint16_t msg_seq)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->seq[i] == msg_seq) {
            return m->type[i] == msg_type && m->len[i] == msg_len;
        }
    }
    if (m->n < MSGS_TRACKED) {
        m->seq[m->n] = msg_seq;
        m->type[m->n] = msg_type;
        m->len[m->n] = msg_len;
        m->n++;
    }
    return true;
}

/* RFC 6347 §4.2.2: msg_type(1) length(3) message_seq(2) fragment_offset(3)
 * fragment_length(3), then the fragment; one or more of them fill the record exactly. */
static bool handshake_fragments_ok(dsrtp_rd *body, hs_msgs *msgs)
{
    do {
        uint8_t msg_type = 0;
        uint32_t msg_len = 0;
        uint16_t msg_seq = 0;
        uint32_t frag_off = 0;
        uint32_t frag_len = 0;
        if (dsrtp_rd_u8(body, &msg_type) != DSRTP_OK || !rd_u24(body, &msg_len) ||
            dsrtp_rd_u16(body, &msg_seq) != DSRTP_OK || !rd_u24(body, &frag_off) ||
            !rd_u24(body, &frag_len) || dsrtp_rd_skip(body, frag_len) != DSRTP_OK) {
            return false;
        }
        if (frag_off > msg_len || frag_len > msg_len - frag_off) {
            return false;
        }
        if (!same_message(msgs, msg_type, msg_len, msg_seq)) {
            return false;
        }
    } while (dsrtp_rd_left(body) > 0);
    return true;
}

/* While none is agreed nothing can be protected yet. A server only makes its choice current
 * when the client's ChangeCipherSpec is read, after the client's Finished may already be at
 * the door: ask for the pending choice first. */
size_t dsrtp_dtls_min_protected_len(const SSL *ssl)
{
    const SSL_CIPHER *c = SSL_get_pending_cipher(ssl);
    if (c == NULL) {
        c = SSL_get_current_cipher(ssl);
    }
    if (c == NULL) {
        return SIZE_MAX;
    }
    switch (SSL_CIPHER_get_cipher_nid(c)) {
    case NID_aes_128_gcm:
    case NID_aes_256_gcm:
        return 8 + 16; /* RFC 5288: explicit nonce and tag */
    case NID_chacha20_poly1305:
        return 16; /* RFC 7905: tag only */
    default:
        return 16 + 16; /* CBC: an IV and at least one block */
    }
}

bool dsrtp_dtls_datagram_plausible(size_t min_protected, const uint8_t *p, size_t len)
{
    hs_msgs msgs = {.n = 0};
    dsrtp_rd r = dsrtp_rd_make(p, len);
    do {
        /* RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) length(2) */
        uint8_t type = 0;
        uint8_t major = 0;
        uint16_t epoch = 0;
        uint16_t rlen = 0;
        dsrtp_rd body;
        if (dsrtp_rd_u8(&r, &type) != DSRTP_OK || dsrtp_rd_u8(&r, &major) != DSRTP_OK ||
            dsrtp_rd_skip(&r, 1) != DSRTP_OK || dsrtp_rd_u16(&r, &epoch) != DSRTP_OK ||
            dsrtp_rd_skip(&r, 6) != DSRTP_OK || dsrtp_rd_u16(&r, &rlen) != DSRTP_OK ||
            dsrtp_rd_sub(&r, rlen, &body) != DSRTP_OK) {
            return false; /* truncated */
        }
        if (major != 0xfe) {
            return false; /* not DTLS 1.x */
        }
        if (epoch > 0) {
            if (rlen < min_protected) {
                return false;
            }
            continue;
        }
        switch (type) {
        case RT_CHANGE_CIPHER_SPEC:
            if (rlen != 1 || body.p[0] != 1) {
                return false;
            }
            break;
        case RT_ALERT:
            /* level, description. A warning other than close_notify has no use in a
             * handshake, and OpenSSL 3.0 counts one as five ("too many warn alerts",
             * openssl/openssl#25444). */
            if (rlen != 2 || !(body.p[0] == 2 || (body.p[0] == 1 && body.p[1] == 0))) {
                return false;
            }
            break;
        case RT_HANDSHAKE:
            if (!handshake_fragments_ok(&body, &msgs)) {
                return false;
            }
            break;
        default:
            return false; /* application data and the rest only ever travel protected */
        }
    } while (dsrtp_rd_left(&r) > 0);
    return true;
}
