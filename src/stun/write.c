/* STUN message building: sizes first, then the bytes, then MESSAGE-INTEGRITY and
 * FINGERPRINT over what was written (RFC 8489 §14.5, §14.7). */
#include "stun/stun_int.h"

static size_t addr_len(const dsrtp_addr *a)
{
    return a->family == 4 ? 4 : 16;
}

/* Checks every field write_attrs will emit and returns the message size without the
 * trailing MESSAGE-INTEGRITY / FINGERPRINT. */
static dsrtp_err body_size(const dsrtp_stun_msg *m, size_t *out)
{
    size_t n = DSRTP_STUN_HEADER_LEN;
    DSRTP_CHECK(m->method <= 0x0FFFu && (unsigned)m->cls <= 3u, DSRTP_ERR_INVALID_ARG);
    if ((m->has & DSRTP_STUN_HAS_USERNAME) != 0) {
        DSRTP_CHECK(m->username != NULL || m->username_len == 0, DSRTP_ERR_INVALID_ARG);
        DSRTP_CHECK(m->username_len <= DSRTP_STUN_MAX_USERNAME, DSRTP_ERR_INVALID_ARG);
        n += dsrtp_stun_attr_size(m->username_len);
    }
    if ((m->has & DSRTP_STUN_HAS_PRIORITY) != 0) {
        n += dsrtp_stun_attr_size(4);
    }
    if ((m->has & DSRTP_STUN_HAS_ICE_CONTROLLING) != 0) {
        n += dsrtp_stun_attr_size(8);
    }
    if ((m->has & DSRTP_STUN_HAS_ICE_CONTROLLED) != 0) {
        n += dsrtp_stun_attr_size(8);
    }
    if ((m->has & DSRTP_STUN_HAS_USE_CANDIDATE) != 0) {
        n += dsrtp_stun_attr_size(0);
    }
    if ((m->has & DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS) != 0) {
        const dsrtp_addr *a = &m->xor_mapped;
        DSRTP_CHECK(a->family == 4 || a->family == 6, DSRTP_ERR_INVALID_ARG);
        n += dsrtp_stun_attr_size(4 + addr_len(a));
    }
    if ((m->has & DSRTP_STUN_HAS_ERROR_CODE) != 0) {
        DSRTP_CHECK(m->error_code >= 300 && m->error_code <= 699, DSRTP_ERR_INVALID_ARG);
        DSRTP_CHECK(m->reason != NULL || m->reason_len == 0, DSRTP_ERR_INVALID_ARG);
        DSRTP_CHECK(m->reason_len <= DSRTP_STUN_MAX_REASON, DSRTP_ERR_INVALID_ARG);
        n += dsrtp_stun_attr_size(4 + m->reason_len);
    }
    if ((m->has & DSRTP_STUN_HAS_UNKNOWN_ATTRIBUTES) != 0) {
        DSRTP_CHECK(m->unknown_attrs_count <= DSRTP_STUN_MAX_ATTRS, DSRTP_ERR_INVALID_ARG);
        n += dsrtp_stun_attr_size(2 * m->unknown_attrs_count);
    }
    *out = n;
    return DSRTP_OK;
}

static dsrtp_err wr_attr_head(dsrtp_wr *w, uint16_t type, size_t len)
{
    DSRTP_TRY(dsrtp_wr_u16(w, type));
    return dsrtp_wr_u16(w, (uint16_t)len);
}

/* Zero padding up to the next 4-byte boundary after a value of len bytes. */
static dsrtp_err wr_pad(dsrtp_wr *w, size_t len)
{
    static const uint8_t zeros[3] = {0, 0, 0};
    return dsrtp_wr_bytes(w, zeros, (4 - len % 4) % 4);
}

static dsrtp_err wr_u64_attr(dsrtp_wr *w, uint16_t type, uint64_t v)
{
    DSRTP_TRY(wr_attr_head(w, type, 8));
    DSRTP_TRY(dsrtp_wr_u32(w, (uint32_t)(v >> 32)));
    return dsrtp_wr_u32(w, (uint32_t)v);
}

static dsrtp_err write_attrs(const dsrtp_stun_msg *m, dsrtp_wr *w)
{
    if ((m->has & DSRTP_STUN_HAS_USERNAME) != 0) {
        DSRTP_TRY(wr_attr_head(w, DSRTP_STUN_ATTR_USERNAME, m->username_len));
        DSRTP_TRY(dsrtp_wr_bytes(w, m->username, m->username_len));
        DSRTP_TRY(wr_pad(w, m->username_len));
    }
    if ((m->has & DSRTP_STUN_HAS_PRIORITY) != 0) {
        DSRTP_TRY(wr_attr_head(w, DSRTP_STUN_ATTR_PRIORITY, 4));
        DSRTP_TRY(dsrtp_wr_u32(w, m->priority));
    }
    if ((m->has & DSRTP_STUN_HAS_ICE_CONTROLLING) != 0) {
        DSRTP_TRY(wr_u64_attr(w, DSRTP_STUN_ATTR_ICE_CONTROLLING, m->ice_controlling));
    }
    if ((m->has & DSRTP_STUN_HAS_ICE_CONTROLLED) != 0) {
        DSRTP_TRY(wr_u64_attr(w, DSRTP_STUN_ATTR_ICE_CONTROLLED, m->ice_controlled));
    }
    if ((m->has & DSRTP_STUN_HAS_USE_CANDIDATE) != 0) {
        DSRTP_TRY(wr_attr_head(w, DSRTP_STUN_ATTR_USE_CANDIDATE, 0));
    }
    if ((m->has & DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS) != 0) {
        dsrtp_addr a = m->xor_mapped;
        dsrtp_stun_xor_addr(&a, m->txid);
        DSRTP_TRY(wr_attr_head(w, DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS, 4 + addr_len(&a)));
        DSRTP_TRY(dsrtp_wr_u8(w, 0));
        DSRTP_TRY(dsrtp_wr_u8(w, a.family == 4 ? 0x01 : 0x02));
        DSRTP_TRY(dsrtp_wr_u16(w, a.port));
        DSRTP_TRY(dsrtp_wr_bytes(w, a.ip, addr_len(&a)));
    }
    if ((m->has & DSRTP_STUN_HAS_ERROR_CODE) != 0) {
        DSRTP_TRY(wr_attr_head(w, DSRTP_STUN_ATTR_ERROR_CODE, 4 + m->reason_len));
        DSRTP_TRY(dsrtp_wr_u16(w, 0));
        DSRTP_TRY(dsrtp_wr_u8(w, (uint8_t)(m->error_code / 100)));
        DSRTP_TRY(dsrtp_wr_u8(w, (uint8_t)(m->error_code % 100)));
        DSRTP_TRY(dsrtp_wr_bytes(w, m->reason, m->reason_len));
        DSRTP_TRY(wr_pad(w, m->reason_len));
    }
    if ((m->has & DSRTP_STUN_HAS_UNKNOWN_ATTRIBUTES) != 0) {
        size_t n = 2 * m->unknown_attrs_count;
        DSRTP_TRY(wr_attr_head(w, DSRTP_STUN_ATTR_UNKNOWN_ATTRIBUTES, n));
        for (size_t i = 0; i < m->unknown_attrs_count; i++) {
            DSRTP_TRY(dsrtp_wr_u16(w, m->unknown_attrs[i]));
        }
        DSRTP_TRY(wr_pad(w, n));
    }
    return DSRTP_OK;
}

dsrtp_err dsrtp_stun_write(const dsrtp_stun_msg *m, const uint8_t *key, size_t key_len,
                           bool fingerprint, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t body;
    DSRTP_CHECK(m != NULL && out != NULL && out_len != NULL, DSRTP_ERR_INVALID_ARG);
    DSRTP_CHECK(key != NULL || key_len == 0, DSRTP_ERR_INVALID_ARG);
    DSRTP_TRY(body_size(m, &body));
    size_t total = body;
    if (key != NULL) {
        total += dsrtp_stun_attr_size(DSRTP_STUN_INTEGRITY_LEN);
    }
    if (fingerprint) {
        total += dsrtp_stun_attr_size(4);
    }
    DSRTP_CHECK(total <= DSRTP_STUN_MAX_MESSAGE, DSRTP_ERR_INVALID_ARG);
    if (total > cap) {
        *out_len = total;
        return DSRTP_ERR_BUFFER_TOO_SMALL;
    }

    dsrtp_wr w = dsrtp_wr_make(out, cap);
    DSRTP_TRY(dsrtp_wr_u16(&w, dsrtp_stun_type_encode(m->method, m->cls)));
    DSRTP_TRY(dsrtp_wr_u16(&w, (uint16_t)(total - DSRTP_STUN_HEADER_LEN)));
    DSRTP_TRY(dsrtp_wr_u32(&w, DSRTP_STUN_MAGIC_COOKIE));
    DSRTP_TRY(dsrtp_wr_bytes(&w, m->txid, DSRTP_STUN_TXID_LEN));
    DSRTP_TRY(write_attrs(m, &w));
    DSRTP_CHECK(w.pos == body, DSRTP_ERR_INTERNAL);
    if (key != NULL) {
        uint8_t mac[DSRTP_STUN_INTEGRITY_LEN];
        size_t at = w.pos;
        dsrtp_stun_integrity(out, at, key, key_len, mac);
        DSRTP_TRY(wr_attr_head(&w, DSRTP_STUN_ATTR_MESSAGE_INTEGRITY, sizeof mac));
        DSRTP_TRY(dsrtp_wr_bytes(&w, mac, sizeof mac));
    }
    if (fingerprint) {
        /* The header already counts the FINGERPRINT attribute, as §14.7 requires. */
        uint32_t fp = dsrtp_stun_fingerprint(out, w.pos);
        DSRTP_TRY(wr_attr_head(&w, DSRTP_STUN_ATTR_FINGERPRINT, 4));
        DSRTP_TRY(dsrtp_wr_u32(&w, fp));
    }
    *out_len = w.pos;
    return DSRTP_OK;
}
