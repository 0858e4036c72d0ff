/* The ICE-lite agent and the STUN codec allocate nothing after dsrtp_ice_lite_new, whatever
 * arrives: valid checks, nominations, bad checks, garbage, timeouts and polls.
 *
 * With glibc and without ASan (which brings its own allocator), malloc, calloc and realloc
 * are replaced for the whole process, libcrypto included, by counting wrappers around
 * glibc's own entry points, and mallinfo2()'s bytes in use are compared as well. Under ASan
 * or another libc the traffic still runs but the counts are not checked. */
#include "test_stun_util.h"

#include "harness/alloc_count.h"

#define OUR_UFRAG "srvU"
#define OUR_PWD "serverPassword/0123456+9"
#define PEER_UFRAG "peerUfrag"

static size_t check(uint8_t *out, const char *user, const char *pwd, bool nominate,
                    uint32_t seed)
{
    dsrtp_stun_msg m;
    size_t n = 0;
    dsrtp_stun_msg_init(&m);
    dsrtp_store32(m.txid, seed);
    m.has = DSRTP_STUN_HAS_USERNAME | DSRTP_STUN_HAS_PRIORITY | DSRTP_STUN_HAS_ICE_CONTROLLING;
    m.has |= nominate ? DSRTP_STUN_HAS_USE_CANDIDATE : 0;
    m.username = user;
    m.username_len = strlen(user);
    m.priority = 1;
    m.ice_controlling = 2;
    if (dsrtp_stun_write(&m, (const uint8_t *)pwd, strlen(pwd), true, out, 256, &n) !=
        DSRTP_OK) {
        abort();
    }
    return n;
}

/* One round: every kind of input, then a drain. False on an unexpected result. */
static bool one_round(dsrtp_ice_lite *ice, uint32_t i)
{
    uint8_t req[256];
    uint8_t out[DSRTP_ICE_MAX_RESPONSE];
    dsrtp_addr a = {4, (uint16_t)(5000 + i % 3), {192, 0, 2, 1}};
    dsrtp_time t = (dsrtp_time)i * 1000;
    dsrtp_ice_output o;
    dsrtp_stun_msg m;
    bool ok = true;
    size_t n = check(req, OUR_UFRAG ":" PEER_UFRAG, OUR_PWD, i % 2 == 0, i);
    ok = ok && dsrtp_stun_parse(req, n, &m) == DSRTP_OK;
    ok = ok && dsrtp_stun_check_integrity(req, n, &m, (const uint8_t *)OUR_PWD,
                                          strlen(OUR_PWD)) == DSRTP_OK;
    ok = ok && dsrtp_ice_lite_handle_datagram(ice, t, &a, req, n) == DSRTP_OK;
    n = check(req, OUR_UFRAG ":" PEER_UFRAG, "wrongPassword0123456789", true, i);
    ok = ok && dsrtp_ice_lite_handle_datagram(ice, t, &a, req, n) == DSRTP_ERR_AUTH;
    n = check(req, "nope:" PEER_UFRAG, OUR_PWD, true, i);
    ok = ok && dsrtp_ice_lite_handle_datagram(ice, t, &a, req, n) == DSRTP_ERR_AUTH;
    ok = ok && dsrtp_ice_lite_handle_datagram(ice, t, &a, req, n - 3) == DSRTP_ERR_MALFORMED;
    ok = ok && dsrtp_ice_lite_handle_timeout(ice, t) == DSRTP_OK;
    do {
        ok = ok && dsrtp_ice_lite_poll_output(ice, out, sizeof out, &o) == DSRTP_OK;
    } while (ok && o.kind != DSRTP_OUT_IDLE);
    return ok;
}

static void test_ice_lite_allocates_nothing_after_creation(void)
{
    dsrtp_ice_lite_cfg cfg;
    dsrtp_ice_lite *ice = NULL;
    dsrtp_ice_lite_cfg_init(&cfg);
    cfg.local_ufrag = OUR_UFRAG;
    cfg.local_pwd = OUR_PWD;
    cfg.remote_ufrag = PEER_UFRAG;
    cfg.remote_pwd = "peerPassword0123456789abc";
    CHECK_OK(dsrtp_ice_lite_new(&cfg, &ice));
    /* A first round outside the count warms up whatever libcrypto sets up once. */
    CHECK(one_round(ice, 0));
#ifdef TEST_COUNTS_ALLOCS
    unsigned long calls = alloc_calls;
    size_t heap = heap_in_use();
#endif
    for (uint32_t i = 1; i <= 10000; i++) {
        CHECK(one_round(ice, i));
    }
#ifdef TEST_COUNTS_ALLOCS
    CHECK_EQ(alloc_calls - calls, 0);
    CHECK_EQ(heap_in_use(), heap);
#endif
    dsrtp_ice_stats st;
    dsrtp_ice_lite_get_stats(ice, &st);
    CHECK_EQ(st.checks_answered, 10001);
    CHECK_EQ(st.dropped_auth, 2 * 10001);
    dsrtp_ice_lite_free(ice);
}

RUN_TESTS(TEST(test_ice_lite_allocates_nothing_after_creation))
