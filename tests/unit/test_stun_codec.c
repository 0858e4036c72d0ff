/* The STUN codec: the RFC 5769 vectors (data in tests/vectors/stun_rfc5769.txt), integrity
 * and fingerprint with their flipped-bit twins, truncations, caps, attribute rules and the
 * write/parse round trip. */
#include "test_stun_util.h"

static vec_file vf;

static const char *pwd_text(void)
{
    static char pwd[64];
    const vec_value *v = vec_get(&vf, "password");
    memcpy(pwd, v->bytes, v->len);
    pwd[v->len] = '\0';
    return pwd;
}

static dsrtp_err check_pwd(const vec_value *msg, const dsrtp_stun_msg *m, const char *pwd)
{
    return dsrtp_stun_check_integrity(msg->bytes, msg->len, m, (const uint8_t *)pwd,
                                      strlen(pwd));
}

/* ---- RFC 5769 ---- */

static void test_stun_parse_accepts_rfc5769_sample_request(void)
{
    dsrtp_stun_msg m;
    CHECK(vec_load("stun_rfc5769.txt", &vf));
    const vec_value *req = vec_get(&vf, "request");
    const vec_value *user = vec_get(&vf, "request.username");
    const vec_value *prio = vec_get(&vf, "request.priority");
    const vec_value *tie = vec_get(&vf, "request.ice_controlled");
    CHECK_OK(dsrtp_stun_parse(req->bytes, req->len, &m));
    CHECK_EQ(m.cls, DSRTP_STUN_REQUEST);
    CHECK_EQ(m.method, DSRTP_STUN_METHOD_BINDING);
    CHECK_MEM(m.txid, vec_get(&vf, "txid")->bytes, DSRTP_STUN_TXID_LEN);
    CHECK(m.has & DSRTP_STUN_HAS_FINGERPRINT);
    CHECK(m.has & DSRTP_STUN_HAS_INTEGRITY);
    CHECK_EQ(m.username_len, user->len);
    CHECK_MEM(m.username, user->bytes, user->len);
    CHECK_EQ(m.priority, dsrtp_load32(prio->bytes));
    CHECK(m.has & DSRTP_STUN_HAS_ICE_CONTROLLED);
    CHECK(m.ice_controlled == ((uint64_t)dsrtp_load32(tie->bytes) << 32 |
                               dsrtp_load32(tie->bytes + 4)));
    CHECK_EQ(m.unhandled_count, 0); /* SOFTWARE is comprehension-optional */
    CHECK(dsrtp_stun_is_message(req->bytes, req->len));
    CHECK_OK(check_pwd(req, &m, pwd_text()));
}

static void test_stun_check_integrity_rejects_rfc5769_request_under_wrong_password(void)
{
    dsrtp_stun_msg m;
    CHECK(vec_load("stun_rfc5769.txt", &vf));
    const vec_value *req = vec_get(&vf, "request");
    CHECK_OK(dsrtp_stun_parse(req->bytes, req->len, &m));
    CHECK_ERR(check_pwd(req, &m, "VOkJxbRl1RmTxUk/WvJxBT"), DSRTP_ERR_AUTH);
    CHECK_ERR(check_pwd(req, &m, ""), DSRTP_ERR_AUTH);
}

static void check_response(const char *name, const char *ip_name, uint8_t family)
{
    dsrtp_stun_msg m;
    const vec_value *msg = vec_get(&vf, name);
    const vec_value *ip = vec_get(&vf, ip_name);
    char port_name[VEC_NAME];
    snprintf(port_name, sizeof port_name, "%.*s.port", (int)(strchr(ip_name, '.') - ip_name),
             ip_name);
    const vec_value *port = vec_get(&vf, port_name);
    CHECK_OK(dsrtp_stun_parse(msg->bytes, msg->len, &m));
    CHECK_EQ(m.cls, DSRTP_STUN_SUCCESS);
    CHECK(m.has & DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS);
    CHECK(m.has & DSRTP_STUN_HAS_FINGERPRINT);
    CHECK_EQ(m.xor_mapped.family, family);
    CHECK_EQ(m.xor_mapped.port, dsrtp_load16(port->bytes));
    CHECK_EQ(ip->len, family == 4 ? 4 : 16);
    CHECK_MEM(m.xor_mapped.ip, ip->bytes, ip->len);
    CHECK_OK(check_pwd(msg, &m, pwd_text()));
    CHECK_ERR(check_pwd(msg, &m, "VOkJxbRl1RmTxUk/WvJxBu"), DSRTP_ERR_AUTH);
}

static void test_stun_parse_decodes_rfc5769_ipv4_response(void)
{
    CHECK(vec_load("stun_rfc5769.txt", &vf));
    check_response("response_v4", "response_v4.ip", 4);
}

static void test_stun_parse_decodes_rfc5769_ipv6_response(void)
{
    CHECK(vec_load("stun_rfc5769.txt", &vf));
    check_response("response_v6", "response_v6.ip", 6);
}

/* Our encoder reproduces the RFC's XOR-MAPPED-ADDRESS bytes (after the 16-byte SOFTWARE). */
static void check_xor_encoding(const char *name, const char *ip_name, uint8_t family)
{
    const vec_value *msg = vec_get(&vf, name);
    const vec_value *ip = vec_get(&vf, ip_name);
    dsrtp_stun_msg m;
    uint8_t out[128];
    size_t n;
    dsrtp_stun_msg_init(&m);
    m.cls = DSRTP_STUN_SUCCESS;
    memcpy(m.txid, vec_get(&vf, "txid")->bytes, DSRTP_STUN_TXID_LEN);
    m.has = DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS;
    m.xor_mapped.family = family;
    m.xor_mapped.port = 32853;
    memcpy(m.xor_mapped.ip, ip->bytes, ip->len);
    CHECK_OK(dsrtp_stun_write(&m, NULL, 0, false, out, sizeof out, &n));
    size_t attr = family == 4 ? 12 : 24;
    CHECK_EQ(n, DSRTP_STUN_HEADER_LEN + attr);
    CHECK_MEM(out + DSRTP_STUN_HEADER_LEN, msg->bytes + DSRTP_STUN_HEADER_LEN + 16, attr);
}

static void test_stun_write_reproduces_rfc5769_xor_mapped_address_bytes(void)
{
    CHECK(vec_load("stun_rfc5769.txt", &vf));
    check_xor_encoding("response_v4", "response_v4.ip", 4);
    check_xor_encoding("response_v6", "response_v6.ip", 6);
}

/* Every single-bit change to a vector is refused by the parser or by the integrity check,
 * with one exception the RFC makes: a flip in the FINGERPRINT's type turns it into an
 * unknown attribute after MESSAGE-INTEGRITY, which is ignored (RFC 8489 §14.5); the message
 * then reads as one without FINGERPRINT and is otherwise unchanged. */
static void test_stun_parse_rejects_every_bit_flip_of_rfc5769_vectors(void)
{
    static const char *names[] = {"request", "response_v4", "response_v6"};
    CHECK(vec_load("stun_rfc5769.txt", &vf));
    for (size_t k = 0; k < 3; k++) {
        const vec_value *v = vec_get(&vf, names[k]);
        uint8_t buf[VEC_BYTES];
        for (size_t bit = 0; bit < v->len * 8; bit++) {
            dsrtp_stun_msg m;
            memcpy(buf, v->bytes, v->len);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            dsrtp_err e = dsrtp_stun_parse(buf, v->len, &m);
            if (e == DSRTP_OK) {
                e = dsrtp_stun_check_integrity(buf, v->len, &m, (const uint8_t *)pwd_text(),
                                               strlen(pwd_text()));
            }
            if (e == DSRTP_OK) {
                CHECK(bit / 8 == v->len - 8 || bit / 8 == v->len - 7);
                CHECK(!(m.has & DSRTP_STUN_HAS_FINGERPRINT));
                continue;
            }
            CHECK(e == DSRTP_ERR_MALFORMED || e == DSRTP_ERR_AUTH);
        }
    }
}

/* Cut short, the datagram never parses. Cut short with the length field patched to match,
 * it may parse as a shorter message, but it authenticates only when the cut removed
 * exactly the FINGERPRINT (which the RFC leaves outside the integrity). */
static void test_stun_parse_rejects_every_truncation(void)
{
    static const char *names[] = {"request", "response_v4", "response_v6"};
    CHECK(vec_load("stun_rfc5769.txt", &vf));
    for (size_t k = 0; k < 3; k++) {
        const vec_value *v = vec_get(&vf, names[k]);
        uint8_t buf[VEC_BYTES];
        for (size_t cut = 0; cut < v->len; cut++) {
            dsrtp_stun_msg m;
            memcpy(buf, v->bytes, cut);
            CHECK_ERR(dsrtp_stun_parse(buf, cut, &m), DSRTP_ERR_MALFORMED);
            if (cut < DSRTP_STUN_HEADER_LEN || cut % 4 != 0) {
                continue;
            }
            dsrtp_store16(buf + 2, (uint16_t)(cut - DSRTP_STUN_HEADER_LEN));
            if (dsrtp_stun_parse(buf, cut, &m) == DSRTP_OK &&
                dsrtp_stun_check_integrity(buf, cut, &m, (const uint8_t *)pwd_text(),
                                           strlen(pwd_text())) == DSRTP_OK) {
                CHECK_EQ(cut, v->len - 8);
            }
        }
    }
}

/* ---- integrity and fingerprint on our own messages ---- */

static void fill_request(dsrtp_stun_msg *m)
{
    dsrtp_stun_msg_init(m);
    memcpy(m->txid, test_txid, sizeof test_txid);
    m->has = DSRTP_STUN_HAS_USERNAME | DSRTP_STUN_HAS_PRIORITY | DSRTP_STUN_HAS_USE_CANDIDATE |
             DSRTP_STUN_HAS_ICE_CONTROLLING;
    m->username = "abcd:efgh";
    m->username_len = 9;
    m->priority = 0x6e7f1eff;
    m->ice_controlling = 0x0123456789abcdefull;
}

static void test_stun_write_round_trips_a_signed_binding_request(void)
{
    dsrtp_stun_msg m;
    dsrtp_stun_msg back;
    uint8_t out[256];
    size_t n;
    fill_request(&m);
    CHECK_OK(dsrtp_stun_write(&m, (const uint8_t *)"key", 3, true, out, sizeof out, &n));
    CHECK(dsrtp_stun_is_message(out, n));
    CHECK_OK(dsrtp_stun_parse(out, n, &back));
    CHECK_EQ(back.has, m.has | DSRTP_STUN_HAS_INTEGRITY | DSRTP_STUN_HAS_FINGERPRINT);
    CHECK_EQ(back.username_len, 9);
    CHECK_MEM(back.username, "abcd:efgh", 9);
    CHECK_EQ(back.priority, m.priority);
    CHECK(back.ice_controlling == m.ice_controlling);
    CHECK_MEM(back.txid, m.txid, DSRTP_STUN_TXID_LEN);
    CHECK_OK(dsrtp_stun_check_integrity(out, n, &back, (const uint8_t *)"key", 3));
}

static void test_stun_check_integrity_rejects_own_message_with_flipped_bit(void)
{
    dsrtp_stun_msg m;
    uint8_t out[256];
    size_t n;
    fill_request(&m);
    /* No FINGERPRINT, so the integrity check is what must catch every flip. */
    CHECK_OK(dsrtp_stun_write(&m, (const uint8_t *)"key", 3, false, out, sizeof out, &n));
    for (size_t bit = 0; bit < n * 8; bit++) {
        dsrtp_stun_msg back;
        out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        dsrtp_err e = dsrtp_stun_parse(out, n, &back);
        if (e == DSRTP_OK) {
            e = dsrtp_stun_check_integrity(out, n, &back, (const uint8_t *)"key", 3);
        }
        out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK(e == DSRTP_ERR_MALFORMED || e == DSRTP_ERR_AUTH);
    }
}

static void test_stun_check_integrity_rejects_message_without_integrity(void)
{
    dsrtp_stun_msg m;
    uint8_t out[256];
    size_t n;
    fill_request(&m);
    CHECK_OK(dsrtp_stun_write(&m, NULL, 0, true, out, sizeof out, &n));
    CHECK_OK(dsrtp_stun_parse(out, n, &m));
    CHECK(!(m.has & DSRTP_STUN_HAS_INTEGRITY));
    CHECK_ERR(dsrtp_stun_check_integrity(out, n, &m, (const uint8_t *)"key", 3), DSRTP_ERR_AUTH);
}

static void test_stun_parse_accepts_fingerprint_and_rejects_flipped_fingerprint_bit(void)
{
    dsrtp_stun_msg m;
    uint8_t out[256];
    size_t n;
    fill_request(&m);
    CHECK_OK(dsrtp_stun_write(&m, NULL, 0, true, out, sizeof out, &n));
    CHECK_OK(dsrtp_stun_parse(out, n, &m));
    CHECK(m.has & DSRTP_STUN_HAS_FINGERPRINT);
    for (size_t bit = 0; bit < 32; bit++) {
        out[n - 4 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_ERR(dsrtp_stun_parse(out, n, &m), DSRTP_ERR_AUTH);
        out[n - 4 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

static void test_stun_write_reports_size_needed_when_buffer_is_short(void)
{
    dsrtp_stun_msg m;
    uint8_t out[256];
    size_t n = 0;
    size_t need = 0;
    fill_request(&m);
    CHECK_OK(dsrtp_stun_write(&m, (const uint8_t *)"k", 1, true, out, sizeof out, &n));
    memset(out, 0xAA, sizeof out);
    CHECK_ERR(dsrtp_stun_write(&m, (const uint8_t *)"k", 1, true, out, n - 1, &need),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(need, n);
    CHECK_EQ(out[0], 0xAA);
}

/* ---- error responses ---- */

static void test_stun_write_round_trips_487_error_response(void)
{
    dsrtp_stun_msg m;
    dsrtp_stun_msg back;
    uint8_t out[256];
    size_t n;
    dsrtp_stun_msg_init(&m);
    m.cls = DSRTP_STUN_ERROR;
    m.has = DSRTP_STUN_HAS_ERROR_CODE;
    m.error_code = 487;
    m.reason = "Role Conflict";
    m.reason_len = 13;
    CHECK_OK(dsrtp_stun_write(&m, (const uint8_t *)"pw", 2, true, out, sizeof out, &n));
    CHECK_OK(dsrtp_stun_parse(out, n, &back));
    CHECK_EQ(back.cls, DSRTP_STUN_ERROR);
    CHECK_EQ(back.error_code, 487);
    CHECK_EQ(back.reason_len, 13);
    CHECK_MEM(back.reason, "Role Conflict", 13);
}

static void test_stun_write_rejects_error_code_out_of_range(void)
{
    dsrtp_stun_msg m;
    uint8_t out[256];
    size_t n;
    dsrtp_stun_msg_init(&m);
    m.cls = DSRTP_STUN_ERROR;
    m.has = DSRTP_STUN_HAS_ERROR_CODE;
    m.error_code = 299;
    CHECK_ERR(dsrtp_stun_write(&m, NULL, 0, false, out, sizeof out, &n), DSRTP_ERR_INVALID_ARG);
    m.error_code = 700;
    CHECK_ERR(dsrtp_stun_write(&m, NULL, 0, false, out, sizeof out, &n), DSRTP_ERR_INVALID_ARG);
}

static void test_stun_parse_rejects_error_code_with_bad_class_or_number(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    static const uint8_t ok[] = {0, 0, 4, 1, 'B', 'a', 'd'};
    static const uint8_t bad_class[] = {0, 0, 7, 1};
    static const uint8_t bad_number[] = {0, 0, 4, 100};
    static const uint8_t short_value[] = {0, 0, 4};
    raw_begin(&r, 0x0111);
    raw_attr(&r, DSRTP_STUN_ATTR_ERROR_CODE, ok, sizeof ok);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    CHECK_EQ(m.error_code, 401);
    raw_begin(&r, 0x0111);
    raw_attr(&r, DSRTP_STUN_ATTR_ERROR_CODE, bad_class, sizeof bad_class);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    raw_begin(&r, 0x0111);
    raw_attr(&r, DSRTP_STUN_ATTR_ERROR_CODE, bad_number, sizeof bad_number);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    raw_begin(&r, 0x0111);
    raw_attr(&r, DSRTP_STUN_ATTR_ERROR_CODE, short_value, sizeof short_value);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
}

/* ---- header ---- */

static void test_stun_parse_rejects_bad_headers(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    r.b[0] |= 0x40; /* top bits set: RTP or DTLS, not STUN */
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    CHECK(!dsrtp_stun_is_message(r.b, r.len));
    raw_begin(&r, 0x0001);
    r.b[7] ^= 1; /* cookie */
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    CHECK(!dsrtp_stun_is_message(r.b, r.len));
    raw_begin(&r, 0x0001);
    r.len += 4; /* a trailing word the length field does not count */
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    CHECK(!dsrtp_stun_is_message(r.b, r.len));
    raw_begin(&r, 0x0001);
    r.len += 2;
    raw_sync_len(&r); /* not a multiple of 4 */
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
}

static void test_stun_parse_rejects_attribute_overrunning_the_message(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    raw_attr(&r, 0x8022, "abcdefgh", 8);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    dsrtp_store16(r.b + DSRTP_STUN_HEADER_LEN + 2, 9); /* value now runs into nothing */
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    dsrtp_store16(r.b + DSRTP_STUN_HEADER_LEN + 2, 7); /* padding fits: still fine */
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
}

/* ---- fixed-length attributes ---- */

static void expect_attr(uint16_t type, size_t len, dsrtp_err want)
{
    raw_msg r;
    dsrtp_stun_msg m;
    uint8_t value[32] = {0, 1, 0x12, 0x34};
    raw_begin(&r, 0x0101);
    raw_attr(&r, type, value, len);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), want);
}

static void test_stun_parse_accepts_fixed_length_attributes_of_their_size(void)
{
    expect_attr(DSRTP_STUN_ATTR_PRIORITY, 4, DSRTP_OK);
    expect_attr(DSRTP_STUN_ATTR_USE_CANDIDATE, 0, DSRTP_OK);
    expect_attr(DSRTP_STUN_ATTR_ICE_CONTROLLING, 8, DSRTP_OK);
    expect_attr(DSRTP_STUN_ATTR_ICE_CONTROLLED, 8, DSRTP_OK);
    expect_attr(DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS, 8, DSRTP_OK);
    expect_attr(DSRTP_STUN_ATTR_MESSAGE_INTEGRITY, 20, DSRTP_OK);
}

static void test_stun_parse_rejects_fixed_length_attributes_of_other_sizes(void)
{
    expect_attr(DSRTP_STUN_ATTR_PRIORITY, 3, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_PRIORITY, 8, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_USE_CANDIDATE, 4, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_ICE_CONTROLLING, 4, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_ICE_CONTROLLED, 12, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS, 20, DSRTP_ERR_MALFORMED); /* v4 family */
    expect_attr(DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS, 4, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_MESSAGE_INTEGRITY, 19, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_MESSAGE_INTEGRITY, 32, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_FINGERPRINT, 8, DSRTP_ERR_MALFORMED);
    expect_attr(DSRTP_STUN_ATTR_UNKNOWN_ATTRIBUTES, 3, DSRTP_ERR_MALFORMED);
}

static void test_stun_parse_rejects_xor_mapped_address_of_unknown_family(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    uint8_t v[8] = {0, 3, 0x12, 0x34, 1, 2, 3, 4};
    raw_begin(&r, 0x0101);
    raw_attr(&r, DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS, v, sizeof v);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    v[1] = 1;
    raw_begin(&r, 0x0101);
    raw_attr(&r, DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS, v, sizeof v);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
}

/* ---- caps ---- */

static void test_stun_parse_accepts_message_at_the_size_cap(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    uint8_t fill[1476] = {0};
    raw_begin(&r, 0x0001);
    raw_attr(&r, 0x8022, fill, sizeof fill);
    CHECK_EQ(r.len, DSRTP_STUN_MAX_MESSAGE);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
}

static void test_stun_parse_rejects_message_over_the_size_cap(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    uint8_t fill[1480] = {0};
    raw_begin(&r, 0x0001);
    raw_attr(&r, 0x8022, fill, sizeof fill);
    CHECK_EQ(r.len, DSRTP_STUN_MAX_MESSAGE + 4);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
}

static void test_stun_parse_accepts_attribute_count_at_the_cap(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    for (int i = 0; i < DSRTP_STUN_MAX_ATTRS; i++) {
        raw_attr(&r, 0xC000, NULL, 0);
    }
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
}

static void test_stun_parse_rejects_attribute_count_over_the_cap(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    for (int i = 0; i <= DSRTP_STUN_MAX_ATTRS; i++) {
        raw_attr(&r, 0xC000, NULL, 0);
    }
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
}

static void test_stun_parse_accepts_username_at_the_cap_and_rejects_one_byte_more(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    char name[DSRTP_STUN_MAX_USERNAME + 1];
    memset(name, 'u', sizeof name);
    raw_begin(&r, 0x0001);
    raw_attr(&r, DSRTP_STUN_ATTR_USERNAME, name, DSRTP_STUN_MAX_USERNAME);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    CHECK_EQ(m.username_len, DSRTP_STUN_MAX_USERNAME);
    raw_begin(&r, 0x0001);
    raw_attr(&r, DSRTP_STUN_ATTR_USERNAME, name, DSRTP_STUN_MAX_USERNAME + 1);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
    m.has = DSRTP_STUN_HAS_USERNAME;
    m.username = name;
    m.username_len = DSRTP_STUN_MAX_USERNAME + 1;
    CHECK_ERR(dsrtp_stun_write(&m, NULL, 0, false, r.b, sizeof r.b, &r.len),
              DSRTP_ERR_INVALID_ARG);
}

static void test_stun_parse_accepts_reason_at_the_cap_and_rejects_one_byte_more(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    uint8_t v[4 + DSRTP_STUN_MAX_REASON + 1];
    memset(v, 'r', sizeof v);
    v[0] = 0;
    v[1] = 0;
    v[2] = 4;
    v[3] = 0;
    raw_begin(&r, 0x0111);
    raw_attr(&r, DSRTP_STUN_ATTR_ERROR_CODE, v, sizeof v - 1);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    CHECK_EQ(m.reason_len, DSRTP_STUN_MAX_REASON);
    raw_begin(&r, 0x0111);
    raw_attr(&r, DSRTP_STUN_ATTR_ERROR_CODE, v, sizeof v);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
}

/* ---- attribute rules ---- */

static void test_stun_parse_skips_unknown_comprehension_optional_attributes(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    raw_attr(&r, 0xC057, "\x00\x01\x00\x0a", 4); /* a browser's network-info attribute */
    raw_attr(&r, DSRTP_STUN_ATTR_PRIORITY, "\x01\x02\x03\x04", 4);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    CHECK_EQ(m.unhandled_count, 0);
    CHECK_EQ(m.priority, 0x01020304);
}

static void test_stun_parse_lists_unknown_comprehension_required_attributes(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    raw_attr(&r, 0x0014, "realm", 5); /* REALM: long-term auth, not ours */
    raw_attr(&r, 0x7FFF, NULL, 0);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    CHECK_EQ(m.unhandled_count, 2);
    CHECK_EQ(m.unhandled[0], 0x0014);
    CHECK_EQ(m.unhandled[1], 0x7FFF);
}

static void test_stun_parse_ignores_attributes_after_message_integrity(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    raw_attr(&r, DSRTP_STUN_ATTR_USERNAME, "a:b", 3);
    raw_integrity(&r, "pw");
    raw_attr(&r, DSRTP_STUN_ATTR_PRIORITY, "\x01\x02\x03\x04", 4);
    raw_attr(&r, 0x0014, "realm", 5);
    raw_fingerprint(&r);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    CHECK(!(m.has & DSRTP_STUN_HAS_PRIORITY));
    CHECK_EQ(m.unhandled_count, 0);
    CHECK(m.has & DSRTP_STUN_HAS_FINGERPRINT);
    CHECK_OK(dsrtp_stun_check_integrity(r.b, r.len, &m, (const uint8_t *)"pw", 2));
}

static void test_stun_parse_rejects_attribute_after_fingerprint(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    raw_fingerprint(&r);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    raw_attr(&r, 0x8022, "x", 1);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
}

static void test_stun_parse_keeps_the_first_of_repeated_attributes(void)
{
    raw_msg r;
    dsrtp_stun_msg m;
    raw_begin(&r, 0x0001);
    raw_attr(&r, DSRTP_STUN_ATTR_PRIORITY, "\x00\x00\x00\x01", 4);
    raw_attr(&r, DSRTP_STUN_ATTR_PRIORITY, "\x00\x00\x00\x02", 4);
    CHECK_OK(dsrtp_stun_parse(r.b, r.len, &m));
    CHECK_EQ(m.priority, 1);
    /* A malformed repeat still fails the message. */
    raw_attr(&r, DSRTP_STUN_ATTR_PRIORITY, "\x00\x00\x03", 3);
    CHECK_ERR(dsrtp_stun_parse(r.b, r.len, &m), DSRTP_ERR_MALFORMED);
}

static void test_stun_type_round_trips_every_method_and_class(void)
{
    for (uint16_t method = 0; method <= 0x0FFF; method++) {
        for (int c = 0; c < 4; c++) {
            uint16_t m2;
            dsrtp_stun_class c2;
            uint16_t t = dsrtp_stun_type_encode(method, (dsrtp_stun_class)c);
            CHECK_EQ(t & 0xC000, 0);
            dsrtp_stun_type_decode(t, &m2, &c2);
            CHECK_EQ(m2, method);
            CHECK_EQ(c2, c);
        }
    }
    /* RFC 8489 §5 fixed points: Binding request, success and error responses. */
    CHECK_EQ(dsrtp_stun_type_encode(1, DSRTP_STUN_REQUEST), 0x0001);
    CHECK_EQ(dsrtp_stun_type_encode(1, DSRTP_STUN_SUCCESS), 0x0101);
    CHECK_EQ(dsrtp_stun_type_encode(1, DSRTP_STUN_ERROR), 0x0111);
    CHECK_EQ(dsrtp_stun_type_encode(1, DSRTP_STUN_INDICATION), 0x0011);
}

static void test_stun_crc32_matches_the_standard_check_value(void)
{
    /* The CRC-32 catalogue's check value for "123456789". */
    CHECK_EQ(dsrtp_stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    CHECK(dsrtp_stun_crc32((const uint8_t *)"123456788", 9) != 0xCBF43926u);
}

RUN_TESTS(TEST(test_stun_parse_accepts_rfc5769_sample_request),
          TEST(test_stun_check_integrity_rejects_rfc5769_request_under_wrong_password),
          TEST(test_stun_parse_decodes_rfc5769_ipv4_response),
          TEST(test_stun_parse_decodes_rfc5769_ipv6_response),
          TEST(test_stun_write_reproduces_rfc5769_xor_mapped_address_bytes),
          TEST(test_stun_parse_rejects_every_bit_flip_of_rfc5769_vectors),
          TEST(test_stun_parse_rejects_every_truncation),
          TEST(test_stun_write_round_trips_a_signed_binding_request),
          TEST(test_stun_check_integrity_rejects_own_message_with_flipped_bit),
          TEST(test_stun_check_integrity_rejects_message_without_integrity),
          TEST(test_stun_parse_accepts_fingerprint_and_rejects_flipped_fingerprint_bit),
          TEST(test_stun_write_reports_size_needed_when_buffer_is_short),
          TEST(test_stun_write_round_trips_487_error_response),
          TEST(test_stun_write_rejects_error_code_out_of_range),
          TEST(test_stun_parse_rejects_error_code_with_bad_class_or_number),
          TEST(test_stun_parse_rejects_bad_headers),
          TEST(test_stun_parse_rejects_attribute_overrunning_the_message),
          TEST(test_stun_parse_accepts_fixed_length_attributes_of_their_size),
          TEST(test_stun_parse_rejects_fixed_length_attributes_of_other_sizes),
          TEST(test_stun_parse_rejects_xor_mapped_address_of_unknown_family),
          TEST(test_stun_parse_accepts_message_at_the_size_cap),
          TEST(test_stun_parse_rejects_message_over_the_size_cap),
          TEST(test_stun_parse_accepts_attribute_count_at_the_cap),
          TEST(test_stun_parse_rejects_attribute_count_over_the_cap),
          TEST(test_stun_parse_accepts_username_at_the_cap_and_rejects_one_byte_more),
          TEST(test_stun_parse_accepts_reason_at_the_cap_and_rejects_one_byte_more),
          TEST(test_stun_parse_skips_unknown_comprehension_optional_attributes),
          TEST(test_stun_parse_lists_unknown_comprehension_required_attributes),
          TEST(test_stun_parse_ignores_attributes_after_message_integrity),
          TEST(test_stun_parse_rejects_attribute_after_fingerprint),
          TEST(test_stun_parse_keeps_the_first_of_repeated_attributes),
          TEST(test_stun_type_round_trips_every_method_and_class),
          TEST(test_stun_crc32_matches_the_standard_check_value))
