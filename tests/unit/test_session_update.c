/* dsrtp_session_update_remote: what a re-offer (SIP re-INVITE) may change on a running
 * session. A plain peer's new address is where media goes from then on; an SDES peer's new
 * key gets a new receive context while the old key keeps working until the new one has
 * authenticated a packet; DTLS roles and fingerprints cannot change; nothing changes before
 * start or on a refused call. End 0 is A, end 1 is B. */
#include "harness/check.h"
#include "harness/session_link.h"

#define ADDR_A "127.0.0.1:10000"
#define ADDR_B "127.0.0.1:20000"
#define ADDR_B2 "127.0.0.1:20002" /* B after its re-INVITE moved it */

static const uint8_t key_a[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t salt_a[14] = {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34};
static const uint8_t key_b[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t salt_b[14] = {14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t key_a2[16] = {0xa2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t salt_a2[14] = {0xa2, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34};

static dsrtp_err start_both(sl_link *l)
{
    dsrtp_time now = sl_now();
    dsrtp_err e = dsrtp_session_start(l->end[0].s, now);
    if (e == DSRTP_OK) {
        e = dsrtp_session_start(l->end[1].s, now);
    }
    for (int i = 0; i < 2 && e == DSRTP_OK; i++) {
        sl_drain(l, i, now);
    }
    return e;
}

static dsrtp_err pair(sl_link *l, dsrtp_keying k)
{
    sl_cfg lc = {.seed = 11};
    if (!sl_init(l, &lc, ADDR_A, ADDR_B)) {
        return DSRTP_ERR_NO_MEMORY;
    }
    dsrtp_err e = DSRTP_OK;
    for (int i = 0; i < 2 && e == DSRTP_OK; i++) {
        dsrtp_session_cfg cfg;
        dsrtp_session_cfg_init(&cfg);
        cfg.keying = k;
        cfg.remote.has_addr = true;
        cfg.remote.addr = l->end[1 - i].addr;
        if (k == DSRTP_KEYING_SDES) {
            cfg.sdes_profile = DSRTP_AES_CM_128_HMAC_SHA1_80;
            memcpy(cfg.sdes_key, i == 0 ? key_a : key_b, 16);
            memcpy(cfg.sdes_salt, i == 0 ? salt_a : salt_b, 14);
            memcpy(cfg.remote.sdes_key, i == 0 ? key_b : key_a, 16);
            memcpy(cfg.remote.sdes_salt, i == 0 ? salt_b : salt_a, 14);
        }
        e = dsrtp_session_new(&cfg, &l->end[i].s);
    }
    return e;
}

/* An SRTP packet (seq) as a sender with key/salt would send it. */
static size_t srtp_with(const uint8_t *key, const uint8_t *salt, uint16_t seq, uint8_t *buf,
                        size_t cap)
{
    dsrtp_srtp_cfg c;
    dsrtp_srtp_cfg_init(&c);
    c.profile = DSRTP_AES_CM_128_HMAC_SHA1_80;
    c.master_key = key;
    c.master_key_len = 16;
    c.master_salt = salt;
    c.master_salt_len = 14;
    dsrtp_srtp_tx *tx = NULL;
    size_t n = 0;
    if (dsrtp_srtp_tx_new(&c, &tx) != DSRTP_OK) {
        return 0;
    }
    size_t len = sl_make_rtp(buf, seq, 0x7777, 80);
    dsrtp_err e = dsrtp_srtp_tx_protect(tx, buf, len, cap, &n);
    dsrtp_srtp_tx_free(tx);
    return e == DSRTP_OK ? n : 0;
}

static dsrtp_session_remote remote_at(const char *addr)
{
    dsrtp_session_remote r = {0};
    r.has_addr = addr != NULL;
    if (addr != NULL) {
        r.addr = sl_addr(addr);
    }
    return r;
}

static void test_session_update_remote_moves_plain_media_to_the_new_address(void)
{
    sl_link l;
    CHECK_OK(pair(&l, DSRTP_KEYING_NONE));
    CHECK_OK(start_both(&l));
    dsrtp_session_remote r = remote_at(ADDR_B2);
    CHECK_OK(dsrtp_session_update_remote(l.end[0].s, &r));
    sl_drain(&l, 0, sl_now());
    const dsrtp_session_event *ev = sl_last_event(&l.end[0], DSRTP_SESSION_EV_ADDRESS_CHANGED);
    CHECK(ev != NULL);
    CHECK(dsrtp_addr_equal(&ev->addr, &r.addr));
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 1, 0x1234, 80);
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &r.addr));
    CHECK_EQ(n, len);
    sl_free(&l);
}

static void test_session_update_remote_without_an_address_keeps_the_destination(void)
{
    sl_link l;
    CHECK_OK(pair(&l, DSRTP_KEYING_NONE));
    CHECK_OK(start_both(&l));
    dsrtp_session_remote r = remote_at(NULL);
    CHECK_OK(dsrtp_session_update_remote(l.end[0].s, &r));
    sl_drain(&l, 0, sl_now());
    CHECK(sl_last_event(&l.end[0], DSRTP_SESSION_EV_ADDRESS_CHANGED) == NULL);
    uint8_t buf[256];
    size_t n = 0;
    dsrtp_addr to;
    size_t len = sl_make_rtp(buf, 1, 0x1234, 80);
    CHECK_OK(dsrtp_session_protect(l.end[0].s, false, buf, len, sizeof buf, &n, &to));
    CHECK(dsrtp_addr_equal(&to, &l.end[1].addr));
    sl_free(&l);
}

static void test_session_update_remote_refuses_a_session_not_started(void)
{
    sl_link l;
    CHECK_OK(pair(&l, DSRTP_KEYING_NONE));
    dsrtp_session_remote r = remote_at(ADDR_B2);
    CHECK_ERR(dsrtp_session_update_remote(l.end[0].s, &r), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_session_update_remote(NULL, &r), DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(dsrtp_session_update_remote(l.end[0].s, NULL), DSRTP_ERR_INVALID_ARG);
    r.sdes_mki_len = DSRTP_SRTP_MAX_MKI_LEN + 1;
    CHECK_OK(start_both(&l));
    CHECK_ERR(dsrtp_session_update_remote(l.end[0].s, &r), DSRTP_ERR_INVALID_ARG);
    sl_free(&l);
}

static dsrtp_session_remote sdes_remote(const uint8_t *key, const uint8_t *salt)
{
    dsrtp_session_remote r = remote_at(ADDR_A);
    memcpy(r.sdes_key, key, 16);
    memcpy(r.sdes_salt, salt, 14);
    return r;
}

static void test_session_update_remote_rekeys_sdes_and_keeps_the_old_key_until_the_new_works(void)
{
    sl_link l;
    CHECK_OK(pair(&l, DSRTP_KEYING_SDES));
    CHECK_OK(start_both(&l));
    uint8_t buf[256];
    /* B learns A's new key (A re-offered); A still sends with the old one for a while. */
    dsrtp_session_remote r = sdes_remote(key_a2, salt_a2);
    CHECK_OK(dsrtp_session_update_remote(l.end[1].s, &r));
    size_t n = srtp_with(key_a, salt_a, 1, buf, sizeof buf);
    CHECK(n > 0);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    n = srtp_with(key_a, salt_a, 2, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    /* A switches to the new key: accepted, and from then on the old key is refused. */
    n = srtp_with(key_a2, salt_a2, 3, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    n = srtp_with(key_a, salt_a, 4, buf, sizeof buf);
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL), DSRTP_ERR_AUTH);
    n = srtp_with(key_a2, salt_a2, 5, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    dsrtp_session_stats st;
    dsrtp_session_get_stats(l.end[1].s, &st);
    CHECK_EQ(st.rtp_received, 4);
    CHECK_EQ(st.auth_failures, 1);
    /* B's sending side is untouched: A still takes B's packets with B's key. */
    n = srtp_with(key_b, salt_b, 9, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[1].addr, &l.end[0].addr, buf, n, NULL));
    sl_free(&l);
}

static void test_session_update_remote_with_the_same_sdes_key_changes_nothing(void)
{
    sl_link l;
    CHECK_OK(pair(&l, DSRTP_KEYING_SDES));
    CHECK_OK(start_both(&l));
    uint8_t buf[256];
    uint8_t copy[256];
    size_t n = srtp_with(key_a, salt_a, 7, buf, sizeof buf);
    memcpy(copy, buf, n);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    dsrtp_session_remote r = sdes_remote(key_a, salt_a);
    CHECK_OK(dsrtp_session_update_remote(l.end[1].s, &r));
    /* The same receive context: its replay window still knows packet 7. */
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, copy, n, NULL), DSRTP_ERR_REPLAY);
    sl_free(&l);
}

static void test_session_update_remote_refuses_a_packet_under_neither_sdes_key(void)
{
    sl_link l;
    CHECK_OK(pair(&l, DSRTP_KEYING_SDES));
    CHECK_OK(start_both(&l));
    dsrtp_session_remote r = sdes_remote(key_a2, salt_a2);
    CHECK_OK(dsrtp_session_update_remote(l.end[1].s, &r));
    uint8_t buf[256];
    size_t n = srtp_with(key_b, salt_b, 1, buf, sizeof buf); /* wrong direction's key */
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL), DSRTP_ERR_AUTH);
    /* A tampered new-key packet is refused too, and does not retire the old key. */
    n = srtp_with(key_a2, salt_a2, 2, buf, sizeof buf);
    buf[n - 1] ^= 1;
    CHECK_ERR(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL), DSRTP_ERR_AUTH);
    n = srtp_with(key_a, salt_a, 3, buf, sizeof buf);
    CHECK_OK(sl_inject(&l, &l.end[0].addr, &l.end[1].addr, buf, n, NULL));
    sl_free(&l);
}

static void test_session_update_remote_refuses_another_dtls_fingerprint_or_role(void)
{
    dsrtp_cert *mine = NULL;
    dsrtp_cert *peer = NULL;
    dsrtp_cert *other = NULL;
    CHECK_OK(dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &mine));
    CHECK_OK(dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &peer));
    CHECK_OK(dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &other));
    dsrtp_session_cfg cfg;
    dsrtp_session_cfg_init(&cfg);
    cfg.cert = mine;
    cfg.remote.has_addr = true;
    cfg.remote.addr = sl_addr(ADDR_B);
    cfg.remote.dtls_role = DSRTP_DTLS_SERVER;
    cfg.remote.fingerprint_count = 1;
    dsrtp_session_remote same = cfg.remote;
    dsrtp_session_remote moved_fp = cfg.remote;
    dsrtp_session_remote moved_role = cfg.remote;
    dsrtp_session *s = NULL;
    dsrtp_err e = dsrtp_cert_fingerprint(peer, DSRTP_HASH_SHA256, &cfg.remote.fingerprints[0]);
    if (e == DSRTP_OK) {
        same.fingerprints[0] = cfg.remote.fingerprints[0];
        moved_role.fingerprints[0] = cfg.remote.fingerprints[0];
        moved_role.dtls_role = DSRTP_DTLS_CLIENT;
        e = dsrtp_cert_fingerprint(other, DSRTP_HASH_SHA256, &moved_fp.fingerprints[0]);
    }
    if (e == DSRTP_OK) {
        e = dsrtp_session_new(&cfg, &s);
    }
    dsrtp_err started = e == DSRTP_OK ? dsrtp_session_start(s, sl_now()) : e;
    dsrtp_err fp = dsrtp_session_update_remote(s, &moved_fp);
    dsrtp_err role = dsrtp_session_update_remote(s, &moved_role);
    dsrtp_err ok = dsrtp_session_update_remote(s, &same);
    dsrtp_session_free(s);
    dsrtp_cert_free(mine);
    dsrtp_cert_free(peer);
    dsrtp_cert_free(other);
    CHECK_OK(e);
    CHECK_OK(started);
    CHECK_ERR(fp, DSRTP_ERR_INVALID_ARG);
    CHECK_ERR(role, DSRTP_ERR_INVALID_ARG);
    CHECK_OK(ok);
}

RUN_TESTS(TEST(test_session_update_remote_moves_plain_media_to_the_new_address),
          TEST(test_session_update_remote_without_an_address_keeps_the_destination),
          TEST(test_session_update_remote_refuses_a_session_not_started),
          TEST(test_session_update_remote_rekeys_sdes_and_keeps_the_old_key_until_the_new_works),
          TEST(test_session_update_remote_with_the_same_sdes_key_changes_nothing),
          TEST(test_session_update_remote_refuses_a_packet_under_neither_sdes_key),
          TEST(test_session_update_remote_refuses_another_dtls_fingerprint_or_role))
