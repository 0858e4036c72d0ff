/* STUN message parsing (RFC 8489 §5, §14, §15). Every byte is read through the rd cursor;
 * the output is written only once the whole message has been accepted. */
#include "stun/stun_int.h"

void dsrtp_stun_msg_init(dsrtp_stun_msg *m)
{
    if (m == NULL) {
        return;
    }
    *m = (dsrtp_stun_msg){0};
    m->cls = DSRTP_STUN_REQUEST;
    m->method = DSRTP_STUN_METHOD_BINDING;
}

uint16_t dsrtp_stun_type_encode(uint16_t method, dsrtp_stun_class cls)
{
    /* RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0 */
    unsigned c = (unsigned)cls;
    unsigned m = method;
    return (uint16_t)((m & 0x000Fu) | ((m & 0x0070u) << 1) | ((m & 0x0F80u) << 2) |
                      ((c & 1u) << 4) | ((c & 2u) << 7));
}

void dsrtp_stun_type_decode(uint16_t type, uint16_t *method, dsrtp_stun_class *cls)
{
    unsigned t = type;
    *method = (uint16_t)((t & 0x000Fu) | ((t >> 1) & 0x0070u) | ((t >> 2) & 0x0F80u));
    *cls = (dsrtp_stun_class)(((t >> 7) & 2u) | ((t >> 4) & 1u));
}

void dsrtp_stun_xor_addr(dsrtp_addr *a, const uint8_t txid[DSRTP_STUN_TXID_LEN])
{
    uint8_t mask[16];
    dsrtp_store32(mask, DSRTP_STUN_MAGIC_COOKIE);
    for (size_t i = 0; i < DSRTP_STUN_TXID_LEN; i++) {
        mask[4 + i] = txid[i];
    }
    a->port ^= (uint16_t)(DSRTP_STUN_MAGIC_COOKIE >> 16);
    size_t n = a->family == 6 ? 16 : 4;
    for (size_t i = 0; i < n; i++) {
        a->ip[i] ^= mask[i];
    }
}

bool dsrtp_stun_is_message(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len < DSRTP_STUN_HEADER_LEN) {
        return false;
    }
    size_t body = dsrtp_load16(buf + DSRTP_STUN_LENGTH_AT);
    return (buf[0] & 0xC0u) == 0 && dsrtp_load32(buf + 4) == DSRTP_STUN_MAGIC_COOKIE &&
           body % 4 == 0 && body == len - DSRTP_STUN_HEADER_LEN;
}

/* ---- one attribute at a time ---- */

static dsrtp_err parse_u64(dsrtp_rd *v, uint64_t *out)
{
    uint32_t hi;
    uint32_t lo;
    DSRTP_TRY(dsrtp_rd_u32(v, &hi));
    DSRTP_TRY(dsrtp_rd_u32(v, &lo));
    DSRTP_TRY(dsrtp_rd_end(v));
    *out = ((uint64_t)hi << 32) | lo;
    return DSRTP_OK;
}

static dsrtp_err parse_xor_mapped(dsrtp_rd *v, dsrtp_stun_msg *m)
{
    uint8_t reserved;
    uint8_t family;
    uint16_t port;
    const uint8_t *ip;
    dsrtp_addr a = {0};
    DSRTP_TRY(dsrtp_rd_u8(v, &reserved));
    DSRTP_TRY(dsrtp_rd_u8(v, &family));
    DSRTP_TRY(dsrtp_rd_u16(v, &port));
    DSRTP_CHECK(family == 0x01 || family == 0x02, DSRTP_ERR_MALFORMED);
    a.family = family == 0x01 ? 4 : 6;
    a.port = port;
    size_t n = a.family == 4 ? 4 : 16;
    DSRTP_TRY(dsrtp_rd_take(v, n, &ip));
    DSRTP_TRY(dsrtp_rd_end(v));
    for (size_t i = 0; i < n; i++) {
        a.ip[i] = ip[i];
    }
    dsrtp_stun_xor_addr(&a, m->txid);
    m->xor_mapped = a;
    return DSRTP_OK;
}

static dsrtp_err parse_error_code(dsrtp_rd *v, dsrtp_stun_msg *m)
{
    uint16_t reserved;
    uint8_t cls;
    uint8_t number;
    const uint8_t *reason;
    DSRTP_TRY(dsrtp_rd_u16(v, &reserved));
    DSRTP_TRY(dsrtp_rd_u8(v, &cls));
    DSRTP_TRY(dsrtp_rd_u8(v, &number));
    /* RFC 8489 §14.8: the class is 3..6 in the low three bits, the number 0..99. */
    cls &= 0x07u;
    DSRTP_CHECK(cls >= 3 && cls <= 6 && number <= 99, DSRTP_ERR_MALFORMED);
    size_t n = dsrtp_rd_left(v);
    DSRTP_CHECK(n <= DSRTP_STUN_MAX_REASON, DSRTP_ERR_MALFORMED);
    DSRTP_TRY(dsrtp_rd_take(v, n, &reason));
    m->error_code = (uint16_t)(cls * 100u + number);
    m->reason = (const char *)reason;
    m->reason_len = n;
    return DSRTP_OK;
}

static dsrtp_err parse_unknown_attrs(dsrtp_rd *v, dsrtp_stun_msg *m)
{
    size_t n = dsrtp_rd_left(v);
    DSRTP_CHECK(n % 2 == 0 && n / 2 <= DSRTP_STUN_MAX_ATTRS, DSRTP_ERR_MALFORMED);
    for (size_t i = 0; i < n / 2; i++) {
        DSRTP_TRY(dsrtp_rd_u16(v, &m->unknown_attrs[i]));
    }
    m->unknown_attrs_count = n / 2;
    return DSRTP_OK;
}

/* Takes in one attribute before MESSAGE-INTEGRITY. Only the first of a repeated type
 * counts (RFC 8489 §14); later copies are still checked for their length. */
static dsrtp_err parse_attr(uint16_t type, dsrtp_rd *v, dsrtp_stun_msg *m)
{
    dsrtp_stun_msg scratch;
    uint32_t bit = 0;
    switch (type) {
    case DSRTP_STUN_ATTR_USERNAME: bit = DSRTP_STUN_HAS_USERNAME; break;
    case DSRTP_STUN_ATTR_PRIORITY: bit = DSRTP_STUN_HAS_PRIORITY; break;
    case DSRTP_STUN_ATTR_USE_CANDIDATE: bit = DSRTP_STUN_HAS_USE_CANDIDATE; break;
    case DSRTP_STUN_ATTR_ICE_CONTROLLING: bit = DSRTP_STUN_HAS_ICE_CONTROLLING; break;
    case DSRTP_STUN_ATTR_ICE_CONTROLLED: bit = DSRTP_STUN_HAS_ICE_CONTROLLED; break;
    case DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS: bit = DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS; break;
    case DSRTP_STUN_ATTR_ERROR_CODE: bit = DSRTP_STUN_HAS_ERROR_CODE; break;
    case DSRTP_STUN_ATTR_UNKNOWN_ATTRIBUTES: bit = DSRTP_STUN_HAS_UNKNOWN_ATTRIBUTES; break;
    default:
        if (type < 0x8000u) {
            /* Comprehension-required and unknown: the caller decides (420 or drop). */
            m->unhandled[m->unhandled_count++] = type;
        }
        return DSRTP_OK;
    }
    /* A repeat is parsed into a scratch copy, so its bytes are still validated. */
    dsrtp_stun_msg *dst = m;
    if ((m->has & bit) != 0) {
        scratch = *m;
        dst = &scratch;
    }
    switch (type) {
    case DSRTP_STUN_ATTR_USERNAME: {
        const uint8_t *p;
        size_t n = dsrtp_rd_left(v);
        DSRTP_CHECK(n <= DSRTP_STUN_MAX_USERNAME, DSRTP_ERR_MALFORMED);
        DSRTP_TRY(dsrtp_rd_take(v, n, &p));
        dst->username = (const char *)p;
        dst->username_len = n;
        break;
    }
    case DSRTP_STUN_ATTR_PRIORITY:
        DSRTP_TRY(dsrtp_rd_u32(v, &dst->priority));
        DSRTP_TRY(dsrtp_rd_end(v));
        break;
    case DSRTP_STUN_ATTR_USE_CANDIDATE:
        DSRTP_TRY(dsrtp_rd_end(v));
        break;
    case DSRTP_STUN_ATTR_ICE_CONTROLLING:
        DSRTP_TRY(parse_u64(v, &dst->ice_controlling));
        break;
    case DSRTP_STUN_ATTR_ICE_CONTROLLED:
        DSRTP_TRY(parse_u64(v, &dst->ice_controlled));
        break;
    case DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS:
        DSRTP_TRY(parse_xor_mapped(v, dst));
        break;
    case DSRTP_STUN_ATTR_ERROR_CODE:
        DSRTP_TRY(parse_error_code(v, dst));
        break;
    default: /* DSRTP_STUN_ATTR_UNKNOWN_ATTRIBUTES */
        DSRTP_TRY(parse_unknown_attrs(v, dst));
        break;
    }
    m->has |= bit;
    return DSRTP_OK;
}

/* ---- the whole message ---- */

dsrtp_err dsrtp_stun_parse(const uint8_t *buf, size_t len, dsrtp_stun_msg *out)
{
    dsrtp_stun_msg m;
    uint16_t type;
    uint16_t body_len;
    uint32_t cookie;
    const uint8_t *txid;
    DSRTP_CHECK(buf != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(len <= DSRTP_STUN_MAX_MESSAGE, DSRTP_ERR_MALFORMED);

    dsrtp_stun_msg_init(&m);
    dsrtp_rd r = dsrtp_rd_make(buf, len);
    DSRTP_TRY(dsrtp_rd_u16(&r, &type));
    DSRTP_TRY(dsrtp_rd_u16(&r, &body_len));
    DSRTP_TRY(dsrtp_rd_u32(&r, &cookie));
    DSRTP_TRY(dsrtp_rd_take(&r, DSRTP_STUN_TXID_LEN, &txid));
    /* RFC 8489 §5: top two bits zero, the cookie, a body of whole 4-byte words that fills
     * the datagram exactly. */
    DSRTP_CHECK((type & 0xC000u) == 0 && cookie == DSRTP_STUN_MAGIC_COOKIE,
                DSRTP_ERR_MALFORMED);
    DSRTP_CHECK(body_len % 4 == 0 && body_len == dsrtp_rd_left(&r), DSRTP_ERR_MALFORMED);
    dsrtp_stun_type_decode(type, &m.method, &m.cls);
    for (size_t i = 0; i < DSRTP_STUN_TXID_LEN; i++) {
        m.txid[i] = txid[i];
    }

    size_t count = 0;
    bool after_integrity = false;
    while (dsrtp_rd_left(&r) > 0) {
        uint16_t at_type;
        uint16_t at_len;
        dsrtp_rd v;
        size_t at = r.pos;
        DSRTP_CHECK(count < DSRTP_STUN_MAX_ATTRS, DSRTP_ERR_MALFORMED);
        count++;
        DSRTP_TRY(dsrtp_rd_u16(&r, &at_type));
        DSRTP_TRY(dsrtp_rd_u16(&r, &at_len));
        DSRTP_TRY(dsrtp_rd_sub(&r, at_len, &v));
        /* Padding to the next 4-byte boundary; its contents are ignored. */
        DSRTP_TRY(dsrtp_rd_skip(&r, (4 - at_len % 4) % 4));

        if (at_type == DSRTP_STUN_ATTR_FINGERPRINT) {
            uint32_t fp;
            DSRTP_TRY(dsrtp_rd_u32(&v, &fp));
            DSRTP_TRY(dsrtp_rd_end(&v));
            /* RFC 8489 §14.7: FINGERPRINT is the last attribute. */
            DSRTP_CHECK(dsrtp_rd_left(&r) == 0, DSRTP_ERR_MALFORMED);
            DSRTP_CHECK(fp == dsrtp_stun_fingerprint(buf, at), DSRTP_ERR_AUTH);
            m.has |= DSRTP_STUN_HAS_FINGERPRINT;
        } else if (after_integrity) {
            /* RFC 8489 §14.5: everything else after MESSAGE-INTEGRITY is ignored. */
            continue;
        } else if (at_type == DSRTP_STUN_ATTR_MESSAGE_INTEGRITY) {
            DSRTP_CHECK(at_len == DSRTP_STUN_INTEGRITY_LEN, DSRTP_ERR_MALFORMED);
            m.has |= DSRTP_STUN_HAS_INTEGRITY;
            m.integrity_at = at;
            after_integrity = true;
        } else {
            DSRTP_TRY(parse_attr(at_type, &v, &m));
        }
    }
    *out = m;
    return DSRTP_OK;
}
