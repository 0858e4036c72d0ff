/* The two STUN checksums: MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32).
 *
 * HMAC-SHA1 is built here from OpenSSL's SHA-1 block functions on stack SHA_CTX values
 * rather than EVP_MAC, because in OpenSSL 3.0 every EVP_MAC or EVP_MD_CTX setup allocates
 * and a connectivity check must not. SHA1_Init/Update/Final are deprecated in 3.0 but are
 * the allocation-free path (the SRTP back end makes the same choice). */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/sha.h>

#include "stun/stun_int.h"

/* ---- CRC-32 ----
 * Reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF. The table holds
 * the CRC of each 4-bit value, worked out by the preprocessor: four single-bit steps. */
#define CRC_STEP(c) (((c) >> 1) ^ (((c)&1u) != 0 ? 0xEDB88320u : 0u))
#define CRC_NIBBLE(c) CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP((uint32_t)(c)))))

static const uint32_t crc_nibble[16] = {
    CRC_NIBBLE(0),  CRC_NIBBLE(1),  CRC_NIBBLE(2),  CRC_NIBBLE(3),
    CRC_NIBBLE(4),  CRC_NIBBLE(5),  CRC_NIBBLE(6),  CRC_NIBBLE(7),
    CRC_NIBBLE(8),  CRC_NIBBLE(9),  CRC_NIBBLE(10), CRC_NIBBLE(11),
    CRC_NIBBLE(12), CRC_NIBBLE(13), CRC_NIBBLE(14), CRC_NIBBLE(15),
};

uint32_t dsrtp_stun_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ crc_nibble[c & 0xFu];
        c = (c >> 4) ^ crc_nibble[c & 0xFu];
    }
    return c ^ 0xFFFFFFFFu;
}

uint32_t dsrtp_stun_fingerprint(const uint8_t *msg, size_t at)
{
    return dsrtp_stun_crc32(msg, at) ^ DSRTP_STUN_FINGERPRINT_XOR;
}

/* ---- HMAC-SHA1 (RFC 2104) ---- */

void dsrtp_stun_integrity(const uint8_t *msg, size_t at, const uint8_t *key, size_t key_len,
                          uint8_t out[DSRTP_STUN_INTEGRITY_LEN])
{
    uint8_t hashed_key[SHA_DIGEST_LENGTH];
    uint8_t pad[SHA_CBLOCK];
    uint8_t inner_md[SHA_DIGEST_LENGTH];
    uint8_t header[DSRTP_STUN_HEADER_LEN];
    SHA_CTX h;

    if (key_len > SHA_CBLOCK) {
        SHA1(key, key_len, hashed_key);
        key = hashed_key;
        key_len = sizeof hashed_key;
    }
    /* RFC 8489 §14.5: the length field counts up to the end of MESSAGE-INTEGRITY, so that
     * attributes appended after it (FINGERPRINT) do not change the hash input. */
    for (size_t i = 0; i < DSRTP_STUN_HEADER_LEN; i++) {
        header[i] = msg[i];
    }
    dsrtp_store16(header + DSRTP_STUN_LENGTH_AT,
                  (uint16_t)(at - DSRTP_STUN_HEADER_LEN +
                             dsrtp_stun_attr_size(DSRTP_STUN_INTEGRITY_LEN)));

    for (size_t i = 0; i < SHA_CBLOCK; i++) {
        pad[i] = (uint8_t)((i < key_len ? key[i] : 0) ^ 0x36);
    }
    SHA1_Init(&h);
    SHA1_Update(&h, pad, sizeof pad);
    SHA1_Update(&h, header, sizeof header);
    SHA1_Update(&h, msg + DSRTP_STUN_HEADER_LEN, at - DSRTP_STUN_HEADER_LEN);
    SHA1_Final(inner_md, &h);

    for (size_t i = 0; i < SHA_CBLOCK; i++) {
        pad[i] = (uint8_t)((i < key_len ? key[i] : 0) ^ 0x5c);
    }
    SHA1_Init(&h);
    SHA1_Update(&h, pad, sizeof pad);
    SHA1_Update(&h, inner_md, sizeof inner_md);
    SHA1_Final(out, &h);

    dsrtp_wipe(&h, sizeof h);
    dsrtp_wipe(pad, sizeof pad);
    dsrtp_wipe(hashed_key, sizeof hashed_key);
    dsrtp_wipe(inner_md, sizeof inner_md);
}

dsrtp_err dsrtp_stun_check_integrity(const uint8_t *buf, size_t len, const dsrtp_stun_msg *m,
                                     const uint8_t *key, size_t key_len)
{
    uint8_t want[DSRTP_STUN_INTEGRITY_LEN];
    DSRTP_CHECK(buf != NULL && m != NULL && (key != NULL || key_len == 0),
                DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK((m->has & DSRTP_STUN_HAS_INTEGRITY) != 0, DSRTP_ERR_AUTH);
    /* The attribute must lie inside buf, after the header. */
    DSRTP_CHECK(m->integrity_at >= DSRTP_STUN_HEADER_LEN && m->integrity_at <= len &&
                    dsrtp_stun_attr_size(DSRTP_STUN_INTEGRITY_LEN) <= len - m->integrity_at,
                DSRTP_ERR_MALFORMED);
    const uint8_t *attr = buf + m->integrity_at;
    DSRTP_CHECK(dsrtp_load16(attr) == DSRTP_STUN_ATTR_MESSAGE_INTEGRITY &&
                    dsrtp_load16(attr + 2) == DSRTP_STUN_INTEGRITY_LEN,
                DSRTP_ERR_MALFORMED);
    dsrtp_stun_integrity(buf, m->integrity_at, key, key_len, want);
    bool ok = dsrtp_ct_eq(want, attr + DSRTP_STUN_ATTR_HEADER_LEN, sizeof want);
    dsrtp_wipe(want, sizeof want);
    return ok ? DSRTP_OK : DSRTP_ERR_AUTH;
}
