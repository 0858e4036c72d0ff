/* stun: the STUN message codec (RFC 8489) and the ICE-lite responder (RFC 8445, 7675).
 *
 * codec.c parses a datagram into a dsrtp_stun_msg through the rd cursor, write.c builds
 * one, integrity.c holds the two checksums (HMAC-SHA1 for MESSAGE-INTEGRITY, the only
 * OpenSSL use in this layer; CRC-32 for FINGERPRINT, computed here), addr.c the transport
 * address text forms, ice_lite.c and ice_cred.c the agent. Invariants:
 *  - a parsed message never holds more than DSRTP_STUN_MAX_ATTRS attributes, and every
 *    borrowed view it holds lies inside the parsed buffer;
 *  - integrity is compared in constant time, and only after the USERNAME has matched;
 *  - the agent allocates only in dsrtp_ice_lite_new, and changes its state only after a
 *    check has parsed and authenticated. */
#ifndef DSRTP_STUN_INT_H
#define DSRTP_STUN_INT_H

#include <dsrtp/stun.h>

#include "util/util_int.h"

#define DSRTP_STUN_ATTR_HEADER_LEN 4
#define DSRTP_STUN_FINGERPRINT_XOR 0x5354554eu
/* Offset of the length field in the header. */
#define DSRTP_STUN_LENGTH_AT 2

/* Bytes an attribute with a value of n bytes takes on the wire, padding included. */
static inline size_t dsrtp_stun_attr_size(size_t n)
{
    return DSRTP_STUN_ATTR_HEADER_LEN + ((n + 3) & ~(size_t)3);
}

/* ---- integrity.c ---- */

/* The CRC-32 of ISO 3309 / ITU-T V.42 over n bytes (the value before the STUN XOR). */
uint32_t dsrtp_stun_crc32(const uint8_t *p, size_t n);

/* The FINGERPRINT value for the first `at` bytes of msg, whose header length field must
 * already count the FINGERPRINT attribute (RFC 8489 §14.7). */
uint32_t dsrtp_stun_fingerprint(const uint8_t *msg, size_t at);

/* The MESSAGE-INTEGRITY value for a message whose MESSAGE-INTEGRITY attribute starts at
 * offset `at`: HMAC-SHA1 under key over the first `at` bytes, with the header's length
 * field taken as if the message ended right after that attribute (RFC 8489 §14.5). The
 * caller guarantees DSRTP_STUN_HEADER_LEN <= at. */
void dsrtp_stun_integrity(const uint8_t *msg, size_t at, const uint8_t *key, size_t key_len,
                          uint8_t out[DSRTP_STUN_INTEGRITY_LEN]);

/* ---- codec.c / write.c ---- */

/* Message type field from method and class, and back (RFC 8489 §5). */
uint16_t dsrtp_stun_type_encode(uint16_t method, dsrtp_stun_class cls);
void dsrtp_stun_type_decode(uint16_t type, uint16_t *method, dsrtp_stun_class *cls);

/* XORs a 4- or 16-byte address and the port with the cookie (and, for IPv6, the
 * transaction id) in place: the same operation encodes and decodes (RFC 8489 §14.2). */
void dsrtp_stun_xor_addr(dsrtp_addr *a, const uint8_t txid[DSRTP_STUN_TXID_LEN]);

/* ---- ice_cred.c ---- */

/* True when s (n bytes) is min..max characters of the ice-char set (RFC 8839 §5.4). */
bool dsrtp_ice_cred_valid(const char *s, size_t n, size_t min, size_t max);
/* Length of the NUL-terminated s, or max + 1 when it is longer than max. */
size_t dsrtp_ice_cred_len(const char *s, size_t max);
/* Fills out[0..n) with random ice-chars and NUL-terminates it (out has n + 1 bytes). */
dsrtp_err dsrtp_ice_cred_generate(char *out, size_t n);

#endif
