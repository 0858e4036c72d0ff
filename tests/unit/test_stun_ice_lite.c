/* The ICE-lite agent: answering checks, authentication failures, nomination, consent,
 * role conflicts, unknown attributes, credentials and bounded output under a flood. */
#include "test_stun_util.h"

#define OUR_UFRAG "srvU"
#define OUR_PWD "serverPassword/0123456+9"
#define PEER_UFRAG "peerUfrag"
#define PEER_PWD "peerPassword0123456789abc"
#define SEC 1000000u

static dsrtp_ice_lite *new_agent(dsrtp_time consent_timeout, size_t depth)
{
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *ice = NULL;
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.local_ufrag = OUR_UFRAG;
    cfg.local_pwd = OUR_PWD;
    cfg.remote_ufrag = PEER_UFRAG;
    cfg.remote_pwd = PEER_PWD;
    if (consent_timeout > 0) {
        cfg.consent_timeout = consent_timeout;
    }
    if (depth > 0) {
        cfg.queue_depth = depth;
    }
    if (dsrtp_ice_lite_new(&cfg, &ice) != DSRTP_OK) {
        abort();
    }
    return ice;
}

static dsrtp_addr addr(const char *text)
{
    dsrtp_addr a;
    if (dsrtp_addr_parse(text, strlen(text), &a) != DSRTP_OK) {
        abort();
    }
    return a;
}

enum { NOMINATE = 1, CONTROLLED = 2, NO_INTEGRITY = 4, NO_USERNAME = 8, NO_FINGERPRINT = 16 };

/* A connectivity check as a browser sends it (USERNAME, PRIORITY, ICE-CONTROLLING or
 * -CONTROLLED, USE-CANDIDATE when nominating, MESSAGE-INTEGRITY, FINGERPRINT). */
static size_t make_check(uint8_t *out, size_t cap, const char *username, const char *pwd,
                         unsigned flags, uint32_t txid_seed)
{
    dsrtp_stun_msg m;
    size_t n = 0;
    dsrtp_stun_msg_init(&m);
    memcpy(m.txid, test_txid, sizeof test_txid);
    dsrtp_store32(m.txid + 8, txid_seed);
    m.has = DSRTP_STUN_HAS_PRIORITY;
    m.priority = 0x6e7f1eff;
    if ((flags & NO_USERNAME) == 0) {
        m.has |= DSRTP_STUN_HAS_USERNAME;
        m.username = username;
        m.username_len = strlen(username);
    }
    if ((flags & CONTROLLED) != 0) {
        m.has |= DSRTP_STUN_HAS_ICE_CONTROLLED;
        m.ice_controlled = 0xFFFFFFFFFFFFFFFFull;
    } else {
        m.has |= DSRTP_STUN_HAS_ICE_CONTROLLING;
        m.ice_controlling = 0x1122334455667788ull;
    }
    if ((flags & NOMINATE) != 0) {
        m.has |= DSRTP_STUN_HAS_USE_CANDIDATE;
    }
    const uint8_t *key = (flags & NO_INTEGRITY) != 0 ? NULL : (const uint8_t *)pwd;
    size_t key_len = key != NULL ? strlen(pwd) : 0;
    if (dsrtp_stun_write(&m, key, key_len, (flags & NO_FINGERPRINT) == 0, out, cap, &n) !=
        DSRTP_OK) {
        abort();
    }
    return n;
}

static size_t good_check(uint8_t *out, unsigned flags, uint32_t seed)
{
    return make_check(out, 512, OUR_UFRAG ":" PEER_UFRAG, OUR_PWD, flags, seed);
}

/* Drains the agent; returns the number of outputs before IDLE, keeping the last datagram
 * and event seen. */
typedef struct drained {
    size_t datagrams;
    size_t events;
    uint8_t last[DSRTP_ICE_MAX_RESPONSE];
    size_t last_len;
    dsrtp_addr last_to;
    dsrtp_ice_event ev[8];
    dsrtp_time deadline;
} drained;

static drained drain(dsrtp_ice_lite *ice)
{
    drained d;
    memset(&d, 0, sizeof d);
    for (;;) {
        dsrtp_ice_output o;
        uint8_t buf[DSRTP_ICE_MAX_RESPONSE];
        if (dsrtp_ice_lite_poll_output(ice, buf, sizeof buf, &o) != DSRTP_OK) {
            abort();
        }
        if (o.kind == DSRTP_OUT_IDLE) {
            d.deadline = o.deadline;
            return d;
        }
        if (o.kind == DSRTP_OUT_DATAGRAM) {
            memcpy(d.last, buf, o.len);
            d.last_len = o.len;
            d.last_to = o.to;
            d.datagrams++;
        } else {
            if (d.events < 8) {
                d.ev[d.events] = o.event;
            }
            d.events++;
        }
    }
}

/* ---- answering ---- */

static void check_answer(const char *from_text)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr(from_text);
    uint8_t req[512];
    dsrtp_stun_msg resp;
    size_t n = good_check(req, 0, 7);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    drained d = drain(ice);
    CHECK_EQ(d.datagrams, 1);
    CHECK_EQ(d.events, 0);
    CHECK(dsrtp_addr_equal(&d.last_to, &from));
    CHECK_OK(dsrtp_stun_parse(d.last, d.last_len, &resp));
    CHECK_EQ(resp.cls, DSRTP_STUN_SUCCESS);
    CHECK_EQ(resp.method, DSRTP_STUN_METHOD_BINDING);
    CHECK_MEM(resp.txid, req + 8, DSRTP_STUN_TXID_LEN);
    CHECK(resp.has & DSRTP_STUN_HAS_FINGERPRINT);
    CHECK(resp.has & DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS);
    CHECK(dsrtp_addr_equal(&resp.xor_mapped, &from));
    CHECK_OK(dsrtp_stun_check_integrity(d.last, d.last_len, &resp, (const uint8_t *)OUR_PWD,
                                        strlen(OUR_PWD)));
    CHECK_ERR(dsrtp_stun_check_integrity(d.last, d.last_len, &resp, (const uint8_t *)PEER_PWD,
                                         strlen(PEER_PWD)),
              DSRTP_ERR_AUTH);
    CHECK(dsrtp_ice_lite_has_consent(ice));
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_answers_valid_ipv4_check_with_source_as_xor_mapped_address(void)
{
    check_answer("192.0.2.33:50000");
}

static void test_ice_lite_answers_valid_ipv6_check_with_source_as_xor_mapped_address(void)
{
    check_answer("[2001:db8::7]:61000");
}

static void test_ice_lite_answers_valid_check_without_fingerprint(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    size_t n = good_check(req, NO_FINGERPRINT, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    CHECK_EQ(drain(ice).datagrams, 1);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_drops_check_with_bad_fingerprint(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    dsrtp_ice_stats st;
    size_t n = good_check(req, NOMINATE, 1);
    req[n - 1] ^= 0x80;
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n), DSRTP_ERR_AUTH);
    drained d = drain(ice);
    CHECK_EQ(d.datagrams + d.events, 0);
    dsrtp_ice_lite_get_stats(ice, &st);
    CHECK_EQ(st.dropped_auth, 1);
    dsrtp_ice_lite_free(ice);
}

/* Every rejecting case: AUTH, no response, no consent, no selection. */
static void expect_dropped(const uint8_t *req, size_t n)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    dsrtp_addr sel;
    dsrtp_ice_stats st;
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n), DSRTP_ERR_AUTH);
    drained d = drain(ice);
    CHECK_EQ(d.datagrams + d.events, 0);
    CHECK_EQ(d.deadline, DSRTP_TIME_NEVER);
    CHECK(!dsrtp_ice_lite_has_consent(ice));
    CHECK(!dsrtp_ice_lite_get_selected(ice, &sel));
    dsrtp_ice_lite_get_stats(ice, &st);
    CHECK_EQ(st.dropped_auth, 1);
    CHECK_EQ(st.checks_answered, 0);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_drops_check_with_wrong_local_ufrag(void)
{
    uint8_t req[512];
    expect_dropped(req, make_check(req, sizeof req, "srvX:" PEER_UFRAG, OUR_PWD, NOMINATE, 1));
    expect_dropped(req, make_check(req, sizeof req, "srvUU:" PEER_UFRAG, OUR_PWD, NOMINATE, 1));
    expect_dropped(req, make_check(req, sizeof req, "srv:" PEER_UFRAG, OUR_PWD, NOMINATE, 1));
}

static void test_ice_lite_drops_check_with_wrong_remote_ufrag(void)
{
    uint8_t req[512];
    expect_dropped(req, make_check(req, sizeof req, OUR_UFRAG ":peerUfraG", OUR_PWD, 0, 1));
    expect_dropped(req, make_check(req, sizeof req, OUR_UFRAG ":", OUR_PWD, 0, 1));
    expect_dropped(req, make_check(req, sizeof req, OUR_UFRAG, OUR_PWD, 0, 1));
}

static void test_ice_lite_drops_check_signed_with_wrong_password(void)
{
    uint8_t req[512];
    const char *user = OUR_UFRAG ":" PEER_UFRAG;
    expect_dropped(req, make_check(req, sizeof req, user, PEER_PWD, NOMINATE, 1));
    expect_dropped(req, make_check(req, sizeof req, user, "serverPassword/0123456+8", 0, 1));
}

static void test_ice_lite_drops_check_without_integrity_or_username(void)
{
    uint8_t req[512];
    expect_dropped(req, good_check(req, NO_INTEGRITY | NOMINATE, 1));
    expect_dropped(req, good_check(req, NO_USERNAME | NOMINATE, 1));
}

static void test_ice_lite_accepts_any_remote_ufrag_until_it_is_known(void)
{
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *ice = NULL;
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.local_ufrag = OUR_UFRAG;
    cfg.local_pwd = OUR_PWD;
    CHECK_OK(dsrtp_ice_lite_new(&cfg, &ice));
    size_t n = make_check(req, sizeof req, OUR_UFRAG ":other", OUR_PWD, 0, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    CHECK_OK(dsrtp_ice_lite_set_remote(ice, PEER_UFRAG, PEER_PWD));
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 1, &from, req, n), DSRTP_ERR_AUTH);
    n = good_check(req, 0, 2);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 2, &from, req, n));
    CHECK_EQ(drain(ice).datagrams, 2);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_ignores_indications_and_refuses_responses(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    raw_msg r;
    raw_begin(&r, 0x0011); /* Binding indication: a keepalive */
    raw_fingerprint(&r);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, r.b, r.len));
    raw_begin(&r, 0x0101); /* a success response nobody asked for */
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 0, &from, r.b, r.len), DSRTP_ERR_UNSUPPORTED);
    raw_begin(&r, 0x0003); /* an Allocate request: TURN, not ours */
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 0, &from, r.b, r.len), DSRTP_ERR_UNSUPPORTED);
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 0, &from, r.b, 3), DSRTP_ERR_MALFORMED);
    drained d = drain(ice);
    CHECK_EQ(d.datagrams + d.events, 0);
    CHECK(!dsrtp_ice_lite_has_consent(ice));
    dsrtp_ice_lite_free(ice);
}

/* ---- nomination ---- */

static void test_ice_lite_nomination_selects_the_source_address(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("198.51.100.4:3478");
    dsrtp_addr sel;
    uint8_t req[512];
    CHECK(!dsrtp_ice_lite_get_selected(ice, &sel));
    size_t n = good_check(req, NOMINATE, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    drained d = drain(ice);
    CHECK_EQ(d.events, 1);
    CHECK_EQ(d.ev[0].kind, DSRTP_ICE_EV_SELECTED);
    CHECK(dsrtp_addr_equal(&d.ev[0].addr, &from));
    CHECK_EQ(d.datagrams, 1);
    CHECK(dsrtp_ice_lite_get_selected(ice, &sel));
    CHECK(dsrtp_addr_equal(&sel, &from));
    /* Nominating the same address again is no news. */
    n = good_check(req, NOMINATE, 2);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 1, &from, req, n));
    CHECK_EQ(drain(ice).events, 0);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_check_without_use_candidate_selects_nothing(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("198.51.100.4:3478");
    dsrtp_addr sel;
    uint8_t req[512];
    size_t n = good_check(req, 0, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    CHECK_EQ(drain(ice).events, 0);
    CHECK(!dsrtp_ice_lite_get_selected(ice, &sel));
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_later_nomination_from_another_address_moves_the_selection(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr a = addr("198.51.100.4:3478");
    dsrtp_addr b = addr("[2001:db8::99]:9000");
    dsrtp_addr sel;
    uint8_t req[512];
    size_t n = good_check(req, NOMINATE, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &a, req, n));
    CHECK_EQ(drain(ice).events, 1);
    /* A plain check from b changes nothing; a nomination from b moves the selection. */
    n = good_check(req, 0, 2);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 1, &b, req, n));
    CHECK_EQ(drain(ice).events, 0);
    n = good_check(req, NOMINATE, 3);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 2, &b, req, n));
    drained d = drain(ice);
    CHECK_EQ(d.events, 1);
    CHECK_EQ(d.ev[0].kind, DSRTP_ICE_EV_SELECTED);
    CHECK(dsrtp_addr_equal(&d.ev[0].addr, &b));
    CHECK(dsrtp_ice_lite_get_selected(ice, &sel));
    CHECK(dsrtp_addr_equal(&sel, &b));
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_nomination_with_bad_integrity_keeps_the_selection(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr a = addr("198.51.100.4:3478");
    dsrtp_addr b = addr("203.0.113.9:1234");
    dsrtp_addr sel;
    uint8_t req[512];
    size_t n = good_check(req, NOMINATE, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &a, req, n));
    drain(ice);
    n = make_check(req, sizeof req, OUR_UFRAG ":" PEER_UFRAG, PEER_PWD, NOMINATE, 2);
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 1, &b, req, n), DSRTP_ERR_AUTH);
    CHECK_EQ(drain(ice).events, 0);
    CHECK(dsrtp_ice_lite_get_selected(ice, &sel));
    CHECK(dsrtp_addr_equal(&sel, &a));
    dsrtp_ice_lite_free(ice);
}

/* ---- role conflict and unknown attributes ---- */

static void test_ice_lite_answers_487_to_a_peer_that_is_also_controlled(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    dsrtp_addr sel;
    dsrtp_stun_msg resp;
    uint8_t req[512];
    size_t n = good_check(req, CONTROLLED | NOMINATE, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    drained d = drain(ice);
    CHECK_EQ(d.datagrams, 1);
    CHECK_EQ(d.events, 0);
    CHECK_OK(dsrtp_stun_parse(d.last, d.last_len, &resp));
    CHECK_EQ(resp.cls, DSRTP_STUN_ERROR);
    CHECK_EQ(resp.error_code, 487);
    CHECK_OK(dsrtp_stun_check_integrity(d.last, d.last_len, &resp, (const uint8_t *)OUR_PWD,
                                        strlen(OUR_PWD)));
    CHECK(!dsrtp_ice_lite_get_selected(ice, &sel));
    CHECK(!dsrtp_ice_lite_has_consent(ice));
    dsrtp_ice_lite_free(ice);
}

/* A check with an extra attribute between PRIORITY and MESSAGE-INTEGRITY. */
static void extra_attr_check(raw_msg *r, uint16_t type)
{
    static const char user[] = OUR_UFRAG ":" PEER_UFRAG;
    raw_begin(r, 0x0001);
    raw_attr(r, DSRTP_STUN_ATTR_USERNAME, user, sizeof user - 1);
    raw_attr(r, DSRTP_STUN_ATTR_ICE_CONTROLLING, "\1\2\3\4\5\6\7\x08", 8);
    raw_attr(r, type, "xyz", 3);
    raw_integrity(r, OUR_PWD);
    raw_fingerprint(r);
}

static void test_ice_lite_answers_420_listing_unknown_required_attributes(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    dsrtp_stun_msg resp;
    raw_msg r;
    extra_attr_check(&r, 0x0033);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, r.b, r.len));
    drained d = drain(ice);
    CHECK_EQ(d.datagrams, 1);
    CHECK_OK(dsrtp_stun_parse(d.last, d.last_len, &resp));
    CHECK_EQ(resp.cls, DSRTP_STUN_ERROR);
    CHECK_EQ(resp.error_code, 420);
    CHECK_EQ(resp.unknown_attrs_count, 1);
    CHECK_EQ(resp.unknown_attrs[0], 0x0033);
    CHECK_OK(dsrtp_stun_check_integrity(d.last, d.last_len, &resp, (const uint8_t *)OUR_PWD,
                                        strlen(OUR_PWD)));
    CHECK(!dsrtp_ice_lite_has_consent(ice));
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_answers_success_despite_unknown_optional_attributes(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    dsrtp_stun_msg resp;
    raw_msg r;
    extra_attr_check(&r, 0xC057);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, r.b, r.len));
    drained d = drain(ice);
    CHECK_EQ(d.datagrams, 1);
    CHECK_OK(dsrtp_stun_parse(d.last, d.last_len, &resp));
    CHECK_EQ(resp.cls, DSRTP_STUN_SUCCESS);
    dsrtp_ice_lite_free(ice);
}

/* ---- consent ---- */

static void test_ice_lite_reports_consent_lost_after_the_timeout_without_checks(void)
{
    dsrtp_ice_lite *ice = new_agent(2 * SEC, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    CHECK_EQ(dsrtp_ice_lite_next_deadline(ice), DSRTP_TIME_NEVER);
    size_t n = good_check(req, NOMINATE, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 10 * SEC, &from, req, n));
    drain(ice);
    CHECK_EQ(dsrtp_ice_lite_next_deadline(ice), 12 * SEC);
    CHECK_OK(dsrtp_ice_lite_handle_timeout(ice, 12 * SEC - 1));
    drained d = drain(ice);
    CHECK_EQ(d.events, 0);
    CHECK_EQ(d.deadline, 12 * SEC);
    CHECK_OK(dsrtp_ice_lite_handle_timeout(ice, 12 * SEC));
    d = drain(ice);
    CHECK_EQ(d.events, 1);
    CHECK_EQ(d.ev[0].kind, DSRTP_ICE_EV_CONSENT_LOST);
    CHECK(dsrtp_addr_equal(&d.ev[0].addr, &from));
    CHECK_EQ(d.deadline, DSRTP_TIME_NEVER);
    CHECK(!dsrtp_ice_lite_has_consent(ice));
    /* Finished: later checks are refused, and the loss is reported once. */
    n = good_check(req, NOMINATE, 2);
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 13 * SEC, &from, req, n), DSRTP_ERR_CLOSED);
    d = drain(ice);
    CHECK_EQ(d.events + d.datagrams, 0);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_keeps_consent_while_checks_keep_arriving(void)
{
    dsrtp_ice_lite *ice = new_agent(2 * SEC, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    for (uint32_t i = 0; i < 40; i++) {
        size_t n = good_check(req, i == 0 ? NOMINATE : 0, i);
        dsrtp_time t = (dsrtp_time)i * SEC / 2;
        CHECK_OK(dsrtp_ice_lite_handle_timeout(ice, t));
        CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, t, &from, req, n));
        drained d = drain(ice);
        CHECK_EQ(d.datagrams, 1);
        CHECK(d.events == (i == 0 ? 1u : 0u));
        CHECK_EQ(d.deadline, t + 2 * SEC);
    }
    CHECK(dsrtp_ice_lite_has_consent(ice));
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_late_check_does_not_revive_expired_consent(void)
{
    dsrtp_ice_lite *ice = new_agent(2 * SEC, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    size_t n = good_check(req, NOMINATE, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    drain(ice);
    /* handle_timeout was never called: the late check still finds consent expired. */
    n = good_check(req, 0, 2);
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 3 * SEC, &from, req, n), DSRTP_ERR_CLOSED);
    drained d = drain(ice);
    CHECK_EQ(d.events, 1);
    CHECK_EQ(d.ev[0].kind, DSRTP_ICE_EV_CONSENT_LOST);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_checks_from_other_addresses_do_not_refresh_selected_consent(void)
{
    dsrtp_ice_lite *ice = new_agent(2 * SEC, 0);
    dsrtp_addr a = addr("192.0.2.1:4000");
    dsrtp_addr b = addr("192.0.2.2:4000");
    uint8_t req[512];
    size_t n = good_check(req, NOMINATE, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &a, req, n));
    for (uint32_t i = 1; i <= 3; i++) {
        n = good_check(req, 0, 1 + i);
        CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, (dsrtp_time)i * SEC / 2, &b, req, n));
    }
    CHECK_EQ(dsrtp_ice_lite_next_deadline(ice), 2 * SEC);
    CHECK_OK(dsrtp_ice_lite_handle_timeout(ice, 2 * SEC));
    CHECK(!dsrtp_ice_lite_has_consent(ice));
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_treats_time_going_back_as_the_latest_time_seen(void)
{
    dsrtp_ice_lite *ice = new_agent(2 * SEC, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    size_t n = good_check(req, 0, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 5 * SEC, &from, req, n));
    n = good_check(req, 0, 2);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 1 * SEC, &from, req, n));
    CHECK_EQ(dsrtp_ice_lite_next_deadline(ice), 7 * SEC);
    dsrtp_ice_lite_free(ice);
}

/* ---- bounded output ---- */

static void test_ice_lite_flood_of_bad_checks_produces_no_success_and_no_output(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 4);
    uint8_t req[512];
    dsrtp_ice_stats st;
    for (uint32_t i = 0; i < 10000; i++) {
        dsrtp_addr from = {4, (uint16_t)(1024 + i), {10, 0, (uint8_t)(i >> 8), (uint8_t)i}};
        size_t n;
        switch (i % 5) {
        case 0:
            n = make_check(req, sizeof req, OUR_UFRAG ":" PEER_UFRAG, PEER_PWD, NOMINATE, i);
            break;
        case 1:
            n = make_check(req, sizeof req, "evil:" PEER_UFRAG, OUR_PWD, NOMINATE, i);
            break;
        case 2:
            n = good_check(req, NO_INTEGRITY | NOMINATE, i);
            break;
        case 3:
            n = good_check(req, NOMINATE, i);
            req[n - 9] ^= 0x01; /* the last MESSAGE-INTEGRITY byte */
            n -= 8;             /* without FINGERPRINT, so integrity must catch it */
            dsrtp_store16(req + 2, (uint16_t)(n - DSRTP_STUN_HEADER_LEN));
            break;
        default:
            n = good_check(req, NOMINATE, i);
            n -= 1 + i % 7; /* truncated */
            break;
        }
        dsrtp_err e = dsrtp_ice_lite_handle_datagram(ice, i, &from, req, n);
        CHECK(e == DSRTP_ERR_AUTH || e == DSRTP_ERR_MALFORMED);
        if (i % 1000 == 0) {
            drained d = drain(ice);
            CHECK_EQ(d.datagrams + d.events, 0);
        }
    }
    drained d = drain(ice);
    CHECK_EQ(d.datagrams + d.events, 0);
    CHECK_EQ(d.deadline, DSRTP_TIME_NEVER);
    dsrtp_ice_lite_get_stats(ice, &st);
    CHECK_EQ(st.checks_answered, 0);
    CHECK_EQ(st.dropped_auth + st.dropped_malformed, 10000);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_flood_of_valid_checks_is_bounded_by_the_queue_depth(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 4);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    dsrtp_ice_stats st;
    for (uint32_t i = 0; i < 10000; i++) {
        size_t n = good_check(req, 0, i);
        CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, i, &from, req, n));
    }
    CHECK_EQ(drain(ice).datagrams, 4);
    dsrtp_ice_lite_get_stats(ice, &st);
    CHECK_EQ(st.dropped_queue_full, 10000 - 4);
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_poll_output_keeps_a_datagram_that_does_not_fit(void)
{
    dsrtp_ice_lite *ice = new_agent(0, 0);
    dsrtp_addr from = addr("192.0.2.1:4000");
    uint8_t req[512];
    uint8_t small[8];
    dsrtp_ice_output o;
    size_t n = good_check(req, 0, 1);
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, req, n));
    CHECK_ERR(dsrtp_ice_lite_poll_output(ice, small, sizeof small, &o),
              DSRTP_ERR_BUFFER_TOO_SMALL);
    CHECK(o.len > sizeof small && o.len <= DSRTP_ICE_MAX_RESPONSE);
    CHECK_EQ(drain(ice).datagrams, 1);
    dsrtp_ice_lite_free(ice);
}

/* ---- a check built by an independent implementation ---- */

static dsrtp_ice_lite *independent_agent(vec_file *vf)
{
    static char cred[3][64];
    static const char *names[3] = {"local_ufrag", "local_pwd", "remote_ufrag"};
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *ice = NULL;
    if (!vec_load("stun_independent_check.txt", vf)) {
        abort();
    }
    for (size_t i = 0; i < 3; i++) {
        const vec_value *v = vec_get(vf, names[i]);
        memcpy(cred[i], v->bytes, v->len);
        cred[i][v->len] = '\0';
    }
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.local_ufrag = cred[0];
    cfg.local_pwd = cred[1];
    cfg.remote_ufrag = cred[2];
    cfg.remote_pwd = "chromePasswordChromePass";
    if (dsrtp_ice_lite_new(&cfg, &ice) != DSRTP_OK) {
        abort();
    }
    return ice;
}

static void test_ice_lite_answers_an_independently_built_chromium_style_check(void)
{
    static vec_file vf;
    dsrtp_ice_lite *ice = independent_agent(&vf);
    dsrtp_addr from = addr("[2001:db8::5]:40000");
    dsrtp_stun_msg resp;
    const vec_value *check = vec_get(&vf, "check");
    CHECK_OK(dsrtp_ice_lite_handle_datagram(ice, 0, &from, check->bytes, check->len));
    drained d = drain(ice);
    CHECK_EQ(d.events, 1);
    CHECK_EQ(d.ev[0].kind, DSRTP_ICE_EV_SELECTED);
    CHECK_EQ(d.datagrams, 1);
    CHECK_OK(dsrtp_stun_parse(d.last, d.last_len, &resp));
    CHECK_EQ(resp.cls, DSRTP_STUN_SUCCESS);
    CHECK_MEM(resp.txid, check->bytes + 8, DSRTP_STUN_TXID_LEN);
    CHECK(dsrtp_addr_equal(&resp.xor_mapped, &from));
    dsrtp_ice_lite_free(ice);
}

static void test_ice_lite_drops_an_independently_built_check_under_the_wrong_key(void)
{
    static vec_file vf;
    dsrtp_ice_lite *ice = independent_agent(&vf);
    dsrtp_addr from = addr("[2001:db8::5]:40000");
    const vec_value *check = vec_get(&vf, "check_wrong_key");
    CHECK_ERR(dsrtp_ice_lite_handle_datagram(ice, 0, &from, check->bytes, check->len),
              DSRTP_ERR_AUTH);
    drained d = drain(ice);
    CHECK_EQ(d.events + d.datagrams, 0);
    dsrtp_ice_lite_free(ice);
}

/* ---- credentials ---- */

static bool all_ice_chars(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '+' || *s == '/')) {
            return false;
        }
    }
    return true;
}

static void test_ice_lite_generates_random_credentials_from_the_ice_char_set(void)
{
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *a = NULL;
    dsrtp_ice_lite *b = NULL;
    dsrtp_ice_lite_cfg_init(&cfg);
    CHECK_OK(dsrtp_ice_lite_new(&cfg, &a));
    CHECK_OK(dsrtp_ice_lite_new(&cfg, &b));
    const char *ua = dsrtp_ice_lite_get_local_ufrag(a);
    const char *pa = dsrtp_ice_lite_get_local_pwd(a);
    CHECK_EQ(strlen(ua), DSRTP_ICE_GEN_UFRAG_LEN);
    CHECK_EQ(strlen(pa), DSRTP_ICE_GEN_PWD_LEN);
    CHECK(all_ice_chars(ua) && all_ice_chars(pa));
    CHECK(strcmp(ua, dsrtp_ice_lite_get_local_ufrag(b)) != 0);
    CHECK(strcmp(pa, dsrtp_ice_lite_get_local_pwd(b)) != 0);
    dsrtp_ice_lite_free(a);
    dsrtp_ice_lite_free(b);
}

static void expect_cfg_rejected(const char *lu, const char *lp, const char *ru, const char *rp)
{
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *ice = NULL;
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.local_ufrag = lu;
    cfg.local_pwd = lp;
    cfg.remote_ufrag = ru;
    cfg.remote_pwd = rp;
    CHECK_ERR(dsrtp_ice_lite_new(&cfg, &ice), DSRTP_ERR_INVALID_ARG);
    CHECK(ice == NULL);
}

static void test_ice_lite_new_rejects_credentials_outside_the_rules(void)
{
    expect_cfg_rejected("abc", NULL, NULL, NULL);                       /* ufrag too short */
    expect_cfg_rejected("ab:d", NULL, NULL, NULL);                      /* not an ice-char */
    expect_cfg_rejected(NULL, "only21charsxxxxxxxxxx", NULL, NULL);     /* pwd too short */
    expect_cfg_rejected(NULL, NULL, PEER_UFRAG, NULL);                  /* half a pair */
    expect_cfg_rejected(NULL, NULL, "bad ufrag", PEER_PWD);             /* space */
    char longer[DSRTP_ICE_MAX_PWD + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    expect_cfg_rejected(NULL, longer, NULL, NULL);                      /* 257 chars */
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *ice = NULL;
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.consent_timeout = 0;
    CHECK_ERR(dsrtp_ice_lite_new(&cfg, &ice), DSRTP_ERR_INVALID_ARG);
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.queue_depth = DSRTP_ICE_MAX_QUEUE_DEPTH + 1;
    CHECK_ERR(dsrtp_ice_lite_new(&cfg, &ice), DSRTP_ERR_INVALID_ARG);
    /* The edges of the ranges are accepted. */
    longer[DSRTP_ICE_MAX_PWD] = '\0';
    cfg.queue_depth = DSRTP_ICE_MAX_QUEUE_DEPTH;
    cfg.local_ufrag = "abcd";
    cfg.local_pwd = longer;
    CHECK_OK(dsrtp_ice_lite_new(&cfg, &ice));
    CHECK_ERR(dsrtp_ice_lite_set_remote(ice, "abc", PEER_PWD), DSRTP_ERR_INVALID_ARG);
    dsrtp_ice_lite_free(ice);
}

RUN_TESTS(TEST(test_ice_lite_answers_valid_ipv4_check_with_source_as_xor_mapped_address),
          TEST(test_ice_lite_answers_valid_ipv6_check_with_source_as_xor_mapped_address),
          TEST(test_ice_lite_answers_valid_check_without_fingerprint),
          TEST(test_ice_lite_drops_check_with_bad_fingerprint),
          TEST(test_ice_lite_drops_check_with_wrong_local_ufrag),
          TEST(test_ice_lite_drops_check_with_wrong_remote_ufrag),
          TEST(test_ice_lite_drops_check_signed_with_wrong_password),
          TEST(test_ice_lite_drops_check_without_integrity_or_username),
          TEST(test_ice_lite_accepts_any_remote_ufrag_until_it_is_known),
          TEST(test_ice_lite_ignores_indications_and_refuses_responses),
          TEST(test_ice_lite_nomination_selects_the_source_address),
          TEST(test_ice_lite_check_without_use_candidate_selects_nothing),
          TEST(test_ice_lite_later_nomination_from_another_address_moves_the_selection),
          TEST(test_ice_lite_nomination_with_bad_integrity_keeps_the_selection),
          TEST(test_ice_lite_answers_487_to_a_peer_that_is_also_controlled),
          TEST(test_ice_lite_answers_420_listing_unknown_required_attributes),
          TEST(test_ice_lite_answers_success_despite_unknown_optional_attributes),
          TEST(test_ice_lite_reports_consent_lost_after_the_timeout_without_checks),
          TEST(test_ice_lite_keeps_consent_while_checks_keep_arriving),
          TEST(test_ice_lite_late_check_does_not_revive_expired_consent),
          TEST(test_ice_lite_checks_from_other_addresses_do_not_refresh_selected_consent),
          TEST(test_ice_lite_treats_time_going_back_as_the_latest_time_seen),
          TEST(test_ice_lite_flood_of_bad_checks_produces_no_success_and_no_output),
          TEST(test_ice_lite_flood_of_valid_checks_is_bounded_by_the_queue_depth),
          TEST(test_ice_lite_poll_output_keeps_a_datagram_that_does_not_fit),
          TEST(test_ice_lite_answers_an_independently_built_chromium_style_check),
          TEST(test_ice_lite_drops_an_independently_built_check_under_the_wrong_key),
          TEST(test_ice_lite_generates_random_credentials_from_the_ice_char_set),
          TEST(test_ice_lite_new_rejects_credentials_outside_the_rules))
