/* Fuzz target: the STUN codec, the address text parser and the ICE-lite agent, on the same
 * bytes. Deterministic: fixed credentials, no RNG, time derived from the input.
 *  1. parse: whatever parses must re-encode (signed, with FINGERPRINT), parse back to the
 *     same fields and verify; an unsigned re-encoding must be a fixed point;
 *  2. the bytes as "addr:port" text: whatever parses must format and parse back equal;
 *  3. the bytes as a datagram to an agent with fixed credentials: every response must be
 *     signed with our password, echo the transaction id and map the source address, and a
 *     selection may only follow an authenticated nomination.
 * Any broken promise calls abort(). */
#include <stdlib.h>
#include <string.h>

#include <dsrtp/stun.h>

#define FUZZ_LOCAL_UFRAG "fuzU"
#define FUZZ_LOCAL_PWD "fuzzPasswordFuzzPassword"
#define FUZZ_REMOTE_UFRAG "Zk8+"
#define FUZZ_REMOTE_PWD "chromePasswordChromePass"
#define FUZZ_KEY ((const uint8_t *)"re-encode key")
#define FUZZ_KEY_LEN 13

static void require(int ok)
{
    if (!ok) {
        abort();
    }
}

static int same_bytes(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* The fields dsrtp_stun_write reproduces. */
static void require_same_fields(const dsrtp_stun_msg *a, const dsrtp_stun_msg *b)
{
    const uint32_t wire = ~(uint32_t)(DSRTP_STUN_HAS_INTEGRITY | DSRTP_STUN_HAS_FINGERPRINT);
    require(a->cls == b->cls && a->method == b->method);
    require(same_bytes(a->txid, b->txid, DSRTP_STUN_TXID_LEN));
    require((a->has & wire) == (b->has & wire));
    if (a->has & DSRTP_STUN_HAS_USERNAME) {
        require(a->username_len == b->username_len);
        require(same_bytes(a->username, b->username, a->username_len));
    }
    if (a->has & DSRTP_STUN_HAS_PRIORITY) {
        require(a->priority == b->priority);
    }
    if (a->has & DSRTP_STUN_HAS_ICE_CONTROLLING) {
        require(a->ice_controlling == b->ice_controlling);
    }
    if (a->has & DSRTP_STUN_HAS_ICE_CONTROLLED) {
        require(a->ice_controlled == b->ice_controlled);
    }
    if (a->has & DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS) {
        require(dsrtp_addr_equal(&a->xor_mapped, &b->xor_mapped));
    }
    if (a->has & DSRTP_STUN_HAS_ERROR_CODE) {
        require(a->error_code == b->error_code && a->reason_len == b->reason_len);
        require(same_bytes(a->reason, b->reason, a->reason_len));
    }
    if (a->has & DSRTP_STUN_HAS_UNKNOWN_ATTRIBUTES) {
        require(a->unknown_attrs_count == b->unknown_attrs_count);
        require(same_bytes(a->unknown_attrs, b->unknown_attrs, 2 * a->unknown_attrs_count));
    }
}

static void fuzz_codec(const uint8_t *data, size_t size)
{
    static uint8_t out[2048];
    static uint8_t again[2048];
    dsrtp_stun_msg m;
    dsrtp_stun_msg back;
    size_t n = 0;
    size_t n2 = 0;
    dsrtp_err e = dsrtp_stun_parse(data, size, &m);
    require(e == DSRTP_OK || e == DSRTP_ERR_MALFORMED || e == DSRTP_ERR_AUTH);
    if (e != DSRTP_OK) {
        return;
    }
    /* Views stay inside the input; counts within their caps. */
    require(dsrtp_stun_is_message(data, size));
    require(m.unhandled_count <= DSRTP_STUN_MAX_ATTRS);
    if (m.has & DSRTP_STUN_HAS_USERNAME) {
        require(m.username_len <= DSRTP_STUN_MAX_USERNAME);
        require(m.username_len == 0 || ((const uint8_t *)m.username >= data &&
                                        m.username_len <= size -
                                            (size_t)((const uint8_t *)m.username - data)));
    }
    if (m.has & DSRTP_STUN_HAS_INTEGRITY) {
        e = dsrtp_stun_check_integrity(data, size, &m, (const uint8_t *)FUZZ_LOCAL_PWD,
                                       strlen(FUZZ_LOCAL_PWD));
        require(e == DSRTP_OK || e == DSRTP_ERR_AUTH);
    }

    /* Unsigned re-encoding always fits (it keeps a subset of what was parsed) and is a
     * fixed point of parse-then-write. */
    require(dsrtp_stun_write(&m, NULL, 0, false, out, sizeof out, &n) == DSRTP_OK);
    require(n <= size);
    require(dsrtp_stun_parse(out, n, &back) == DSRTP_OK);
    require(back.unhandled_count == 0);
    require_same_fields(&m, &back);
    require(dsrtp_stun_write(&back, NULL, 0, false, again, sizeof again, &n2) == DSRTP_OK);
    require(n2 == n && memcmp(out, again, n) == 0);

    /* Signed re-encoding: verifies under its key, not under another. */
    e = dsrtp_stun_write(&m, FUZZ_KEY, FUZZ_KEY_LEN, true, out, sizeof out, &n);
    if (e != DSRTP_OK) {
        require(e == DSRTP_ERR_INVALID_ARG && n2 + 32 > DSRTP_STUN_MAX_MESSAGE);
        return;
    }
    require(dsrtp_stun_parse(out, n, &back) == DSRTP_OK);
    require((back.has & DSRTP_STUN_HAS_INTEGRITY) && (back.has & DSRTP_STUN_HAS_FINGERPRINT));
    require_same_fields(&m, &back);
    require(dsrtp_stun_check_integrity(out, n, &back, FUZZ_KEY, FUZZ_KEY_LEN) == DSRTP_OK);
    require(dsrtp_stun_check_integrity(out, n, &back, FUZZ_KEY, FUZZ_KEY_LEN - 1) ==
            DSRTP_ERR_AUTH);
}

static void fuzz_addr_text(const uint8_t *data, size_t size)
{
    dsrtp_addr a;
    dsrtp_addr b;
    char text[DSRTP_ADDR_TEXT_MAX];
    if (dsrtp_addr_parse((const char *)data, size, &a) != DSRTP_OK) {
        return;
    }
    require(a.family == 4 || a.family == 6);
    require(dsrtp_addr_format(&a, text, sizeof text) == DSRTP_OK);
    require(dsrtp_addr_parse(text, strlen(text), &b) == DSRTP_OK);
    require(dsrtp_addr_equal(&a, &b));
}

static void fuzz_agent(const uint8_t *data, size_t size)
{
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *ice = NULL;
    dsrtp_addr from = {4, 40000, {203, 0, 113, 5}};
    if (size % 2 == 1) {
        from = (dsrtp_addr){6, 40001, {0x20, 0x01, 0x0d, 0xb8, [15] = 5}};
    }
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.local_ufrag = FUZZ_LOCAL_UFRAG;
    cfg.local_pwd = FUZZ_LOCAL_PWD;
    cfg.remote_ufrag = FUZZ_REMOTE_UFRAG;
    cfg.remote_pwd = FUZZ_REMOTE_PWD;
    cfg.consent_timeout = 1000;
    cfg.queue_depth = 2;
    require(dsrtp_ice_lite_new(&cfg, &ice) == DSRTP_OK);

    dsrtp_stun_msg in;
    int parsed = dsrtp_stun_parse(data, size, &in) == DSRTP_OK;
    /* The same datagram three times: the third overflows the queue of two. */
    for (dsrtp_time t = 1; t <= 3; t++) {
        dsrtp_err e = dsrtp_ice_lite_handle_datagram(ice, t, &from, data, size);
        require(e == DSRTP_OK || e == DSRTP_ERR_MALFORMED || e == DSRTP_ERR_AUTH ||
                e == DSRTP_ERR_UNSUPPORTED);
    }
    require(dsrtp_ice_lite_handle_timeout(ice, 5000) == DSRTP_OK);

    size_t datagrams = 0;
    for (;;) {
        uint8_t buf[DSRTP_ICE_MAX_RESPONSE];
        dsrtp_ice_output o;
        dsrtp_stun_msg r;
        require(dsrtp_ice_lite_poll_output(ice, buf, sizeof buf, &o) == DSRTP_OK);
        if (o.kind == DSRTP_OUT_IDLE) {
            require(o.deadline == DSRTP_TIME_NEVER);
            break;
        }
        /* Anything out means the input was an authenticated Binding request. */
        require(parsed && in.cls == DSRTP_STUN_REQUEST);
        require(dsrtp_stun_check_integrity(data, size, &in, (const uint8_t *)FUZZ_LOCAL_PWD,
                                           strlen(FUZZ_LOCAL_PWD)) == DSRTP_OK);
        if (o.kind == DSRTP_OUT_EVENT) {
            if (o.event.kind == DSRTP_ICE_EV_SELECTED) {
                require((in.has & DSRTP_STUN_HAS_USE_CANDIDATE) &&
                        (in.has & DSRTP_STUN_HAS_ICE_CONTROLLING));
                require(dsrtp_addr_equal(&o.event.addr, &from));
            } else {
                require(o.event.kind == DSRTP_ICE_EV_CONSENT_LOST);
            }
            continue;
        }
        datagrams++;
        require(dsrtp_addr_equal(&o.to, &from));
        require(dsrtp_stun_parse(buf, o.len, &r) == DSRTP_OK);
        require(memcmp(r.txid, in.txid, DSRTP_STUN_TXID_LEN) == 0);
        require(r.has & DSRTP_STUN_HAS_FINGERPRINT);
        require(dsrtp_stun_check_integrity(buf, o.len, &r, (const uint8_t *)FUZZ_LOCAL_PWD,
                                           strlen(FUZZ_LOCAL_PWD)) == DSRTP_OK);
        if (r.cls == DSRTP_STUN_SUCCESS) {
            require(dsrtp_addr_equal(&r.xor_mapped, &from));
        } else {
            require(r.cls == DSRTP_STUN_ERROR);
            require(r.error_code == 420 || r.error_code == 487);
        }
    }
    require(datagrams <= 2);
    dsrtp_ice_lite_free(ice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) {
        return 0;
    }
    fuzz_codec(data, size);
    fuzz_addr_text(data, size);
    fuzz_agent(data, size);
    return 0;
}
