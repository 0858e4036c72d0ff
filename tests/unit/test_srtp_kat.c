/* Known-answer tests for the SRTP engine, with the numbers read at run time from the RFC
 * data in tests/vectors/ (see the README there for the file format):
 *  - RFC 3711 B.2: the AES-CM keystream, through the one-shot KDF helper, through the
 *    per-packet counter-mode cipher, and through a whole protect/unprotect of an RTP packet;
 *  - RFC 3711 B.3 and RFC 6188 7.2: key derivation with AES-128 and AES-256;
 *  - RFC 7714 16 and 17: AES-GCM SRTP and SRTCP packets (encrypted, and tagged only with
 *    E = 0), both at the cipher level with the RFC's IV and through the full transform. The
 *    RFC gives session keys, so the contexts are keyed through the test-only hook
 *    dsrtp_srtp_ctx_init_session_keys. */
#include <ctype.h>

#include "harness/check.h"
#include "srtp/srtp_int.h"

/* ---- the vector files ---- */

#define KAT_MAX_VALUES 48
#define KAT_MAX_NAME 40
#define KAT_MAX_BYTES 128

typedef struct kat_value {
    char name[KAT_MAX_NAME];
    uint8_t bytes[KAT_MAX_BYTES];
    size_t len;
} kat_value;

typedef struct kat_file {
    kat_value v[KAT_MAX_VALUES];
    size_t n;
} kat_file;

/* Appends the hex digits of text to v; false on a stray character, an odd digit count at
 * the end of a value is caught by kat_load. */
static bool kat_append_hex(kat_value *v, const char *text, int *pending)
{
    for (const char *p = text; *p != '\0'; p++) {
        int d;
        if (isspace((unsigned char)*p)) {
            continue;
        }
        if (!isxdigit((unsigned char)*p)) {
            return false;
        }
        d = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
        if (*pending < 0) {
            *pending = d;
        } else {
            if (v->len >= KAT_MAX_BYTES) {
                return false;
            }
            v->bytes[v->len++] = (uint8_t)(*pending << 4 | d);
            *pending = -1;
        }
    }
    return true;
}

/* Reads DSRTP_SOURCE_DIR/tests/vectors/<name> into f; prints why and returns false on any
 * unreadable or malformed line. */
static bool kat_load(const char *name, kat_file *f)
{
    char path[512];
    char line[512];
    int pending = -1;
    int lineno = 0;
    snprintf(path, sizeof path, "%s/tests/vectors/%s", DSRTP_SOURCE_DIR, name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return false;
    }
    f->n = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, fp) != NULL) {
        lineno++;
        const char *p = line;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0' || *p == '#') {
            continue;
        }
        if (p != line) {
            /* An indented line continues the previous value. */
            ok = f->n > 0 && kat_append_hex(&f->v[f->n - 1], p, &pending);
            continue;
        }
        const char *eq = strchr(line, '=');
        ok = eq != NULL && pending < 0 && f->n < KAT_MAX_VALUES;
        if (!ok) {
            break;
        }
        kat_value *v = &f->v[f->n++];
        size_t nlen = (size_t)(eq - line);
        while (nlen > 0 && isspace((unsigned char)line[nlen - 1])) {
            nlen--;
        }
        ok = nlen > 0 && nlen < KAT_MAX_NAME;
        if (ok) {
            memcpy(v->name, line, nlen);
            v->name[nlen] = '\0';
            v->len = 0;
            ok = kat_append_hex(v, eq + 1, &pending);
        }
    }
    fclose(fp);
    if (ok && pending >= 0) {
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "%s:%d: malformed vector line\n", path, lineno);
    }
    return ok;
}

static const kat_value *kat_get(const kat_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].name, name) == 0) {
            return &f->v[i];
        }
    }
    fprintf(stderr, "vector '%s' not found\n", name);
    return NULL;
}

/* Looks name up in f into the const kat_value *var, failing the test if it is absent. */
#define KAT_GET(var, f, name)                                                              \
    const kat_value *var = kat_get((f), (name));                                           \
    CHECK(var != NULL)

static kat_file rfc3711;
static kat_file rfc6188;
static kat_file rfc7714;

/* An auth key for contexts keyed directly with a published session key where the RFC
 * gives no auth key: only round trips are checked under it, never a tag value. */
static const uint8_t any_auth_key[DSRTP_HMAC_SHA1_LEN] = {
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9,
    0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b};

static void test_srtp_vector_files_load(void)
{
    CHECK(kat_load("rfc3711_appendix_b.txt", &rfc3711));
    CHECK(kat_load("rfc6188_kdf.txt", &rfc6188));
    CHECK(kat_load("rfc7714_gcm.txt", &rfc7714));
    KAT_GET(auth, &rfc3711, "b3.auth_key");
    CHECK_EQ(auth->len, 94);
    KAT_GET(key, &rfc6188, "s7_2.master_key");
    CHECK_EQ(key->len, 32);
    KAT_GET(pkt, &rfc7714, "17.4.protected");
    CHECK_EQ(pkt->len, 52 + DSRTP_GCM_TAG_LEN + 4);
}

/* ---- RFC 3711 B.2: AES-CM keystream ---- */

static void test_srtp_aes_cm_keystream_rfc3711_b2(void)
{
    static const char *const blocks[][2] = {{"b2.counter_0000", "b2.keystream_0000"},
                                            {"b2.counter_feff", "b2.keystream_feff"}};
    KAT_GET(key, &rfc3711, "b2.session_key");
    for (size_t i = 0; i < 2; i++) {
        KAT_GET(iv, &rfc3711, blocks[i][0]);
        KAT_GET(want, &rfc3711, blocks[i][1]);
        CHECK_EQ(iv->len, 16);
        uint8_t out[48];
        CHECK_EQ(want->len, sizeof out);
        CHECK_OK(dsrtp_aes_cm_keystream(key->bytes, key->len, iv->bytes, out, sizeof out));
        CHECK_MEM(out, want->bytes, want->len);
    }
}

static void test_srtp_cipher_ctr_rfc3711_b2(void)
{
    static const char *const blocks[][2] = {{"b2.counter_feff", "b2.keystream_feff"},
                                            {"b2.counter_0000", "b2.keystream_0000"}};
    KAT_GET(key, &rfc3711, "b2.session_key");
    dsrtp_cipher *c = NULL;
    CHECK_OK(dsrtp_cipher_new(DSRTP_CIPHER_AES_CM, key->bytes, key->len, any_auth_key,
                              sizeof any_auth_key, &c));
    /* Twice round, so that each call is seen to restart the counter from its own IV. */
    for (size_t round = 0; round < 2; round++) {
        for (size_t i = 0; i < 2; i++) {
            KAT_GET(iv, &rfc3711, blocks[i][0]);
            KAT_GET(want, &rfc3711, blocks[i][1]);
            uint8_t data[48] = {0};
            CHECK_OK(dsrtp_cipher_ctr(c, iv->bytes, data, sizeof data));
            CHECK_MEM(data, want->bytes, sizeof data);
        }
    }

    /* The RFC's whole keystream segment in one call: counters ...0000 to ...FF01, 65282
     * blocks or 1044512 octets, whose last three blocks are the ones printed last. */
    KAT_GET(iv0, &rfc3711, "b2.counter_0000");
    KAT_GET(first, &rfc3711, "b2.keystream_0000");
    KAT_GET(last, &rfc3711, "b2.keystream_feff");
    size_t seg_len = (size_t)65282 * 16;
    uint8_t *seg = calloc(seg_len, 1);
    CHECK(seg != NULL);
    dsrtp_err err = dsrtp_cipher_ctr(c, iv0->bytes, seg, seg_len);
    bool first_ok = memcmp(seg, first->bytes, first->len) == 0;
    bool last_ok = memcmp(seg + seg_len - last->len, last->bytes, last->len) == 0;
    free(seg);
    dsrtp_cipher_free(c);
    CHECK_OK(err);
    CHECK(first_ok);
    CHECK(last_ok);
}

/* RFC 3711 B.2 gives ROC 0, SEQ 0 and SSRC 0 with the session salt, so an RTP packet with
 * those fields and an all-zero payload must encrypt to the keystream itself: this pins the
 * IV formation of RFC 3711 4.1.1 on the real packet path. */
static void test_srtp_protect_rfc3711_b2(void)
{
    KAT_GET(key, &rfc3711, "b2.session_key");
    KAT_GET(salt_shifted, &rfc3711, "b2.session_salt_shifted");
    KAT_GET(want, &rfc3711, "b2.keystream_0000");
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = DSRTP_AES_CM_128_HMAC_SHA1_80;
    cfg.master_key = key->bytes;
    cfg.master_key_len = key->len;
    cfg.master_salt = salt_shifted->bytes; /* the salt is its first 14 octets */
    cfg.master_salt_len = 14;
    dsrtp_srtp_tx tx;
    dsrtp_srtp_rx rx;
    CHECK_OK(dsrtp_srtp_ctx_init_session_keys(&tx.c, &cfg, false, any_auth_key));
    CHECK_OK(dsrtp_srtp_ctx_init_session_keys(&rx.c, &cfg, true, any_auth_key));

    uint8_t pkt[12 + 48 + DSRTP_SRTP_MAX_TRAILER] = {0x80};
    size_t len = 12 + 48;
    size_t out = 0;
    size_t got = 0;
    CHECK_OK(dsrtp_srtp_tx_protect(&tx, pkt, len, sizeof pkt, &out));
    CHECK_EQ(out, len + 10);
    CHECK_EQ(pkt[0], 0x80);
    CHECK_MEM(pkt + 12, want->bytes, 48);

    /* Rejecting twin: the last tag bit flipped. */
    pkt[out - 1] ^= 1;
    CHECK_ERR(dsrtp_srtp_rx_unprotect(&rx, pkt, out, &got), DSRTP_ERR_AUTH);
    CHECK_MEM(pkt + 12, want->bytes, 48);
    pkt[out - 1] ^= 1;
    CHECK_OK(dsrtp_srtp_rx_unprotect(&rx, pkt, out, &got));
    CHECK_EQ(got, len);
    static const uint8_t zeros[48] = {0};
    CHECK_MEM(pkt + 12, zeros, sizeof zeros);
    dsrtp_srtp_ctx_clear(&tx.c);
    dsrtp_srtp_ctx_clear(&rx.c);
}

/* ---- key derivation ---- */

/* Derives want->len octets for label and compares them with want. */
#define CHECK_KDF(mk, ms, label, want)                                                     \
    do {                                                                                   \
        uint8_t kdf_out_[KAT_MAX_BYTES];                                                   \
        CHECK_OK(dsrtp_kdf((mk)->bytes, (mk)->len, (ms)->bytes, (ms)->len, (label),        \
                           kdf_out_, (want)->len));                                        \
        CHECK_MEM(kdf_out_, (want)->bytes, (want)->len);                                   \
    } while (0)

/* True when label derives something other than want (for the rejecting twins). */
static bool kdf_differs(const kat_value *mk, const kat_value *ms, uint8_t label,
                        const kat_value *want)
{
    uint8_t out[KAT_MAX_BYTES];
    return dsrtp_kdf(mk->bytes, mk->len, ms->bytes, ms->len, label, out, want->len) ==
               DSRTP_OK &&
           memcmp(out, want->bytes, want->len) != 0;
}

static void test_srtp_kdf_rfc3711_b3(void)
{
    KAT_GET(mk, &rfc3711, "b3.master_key");
    KAT_GET(ms, &rfc3711, "b3.master_salt");
    KAT_GET(cipher_key, &rfc3711, "b3.cipher_key");
    KAT_GET(salt_block, &rfc3711, "b3.cipher_salt_block");
    KAT_GET(cipher_salt, &rfc3711, "b3.cipher_salt");
    KAT_GET(auth_key, &rfc3711, "b3.auth_key");
    CHECK_KDF(mk, ms, DSRTP_LABEL_RTP_ENC, cipher_key);
    CHECK_KDF(mk, ms, DSRTP_LABEL_RTP_SALT, salt_block);
    CHECK_KDF(mk, ms, DSRTP_LABEL_RTP_SALT, cipher_salt);
    CHECK_KDF(mk, ms, DSRTP_LABEL_RTP_AUTH, auth_key);
    /* Rejecting twin: another label gives another key. */
    CHECK(kdf_differs(mk, ms, DSRTP_LABEL_RTCP_ENC, cipher_key));
}

static void test_srtp_kdf_rfc6188_7_2(void)
{
    KAT_GET(mk, &rfc6188, "s7_2.master_key");
    KAT_GET(ms, &rfc6188, "s7_2.master_salt");
    KAT_GET(cipher_key, &rfc6188, "s7_2.cipher_key");
    KAT_GET(cipher_salt, &rfc6188, "s7_2.cipher_salt");
    KAT_GET(auth_key, &rfc6188, "s7_2.auth_key");
    CHECK_KDF(mk, ms, DSRTP_LABEL_RTP_ENC, cipher_key);
    CHECK_KDF(mk, ms, DSRTP_LABEL_RTP_SALT, cipher_salt);
    CHECK_KDF(mk, ms, DSRTP_LABEL_RTP_AUTH, auth_key);
    /* Rejecting twin: the key's first half taken as an AES-128 key must not match. */
    kat_value half = *mk;
    half.len = 16;
    CHECK(kdf_differs(&half, ms, DSRTP_LABEL_RTP_ENC, cipher_key));
}

/* ---- RFC 7714: AES-GCM ---- */

static const kat_value *gcm_key(dsrtp_profile p)
{
    return kat_get(&rfc7714, p == DSRTP_AEAD_AES_128_GCM ? "key_128" : "key_256");
}

/* The RFC's IV and AAD with the cipher back end alone: pins the GCM layer, so that a failure
 * of the packet-level tests below points at IV formation or packet layout. */
static void test_srtp_gcm_cipher_rfc7714_16_and_17(void)
{
    static const struct {
        dsrtp_profile p;
        const char *protected_name;
    } rtp[] = {{DSRTP_AEAD_AES_128_GCM, "16.1.1.protected"},
               {DSRTP_AEAD_AES_256_GCM, "16.2.1.protected"}};
    KAT_GET(plain, &rfc7714, "rtp.packet");
    KAT_GET(iv, &rfc7714, "rtp.iv");
    CHECK_EQ(iv->len, DSRTP_GCM_IV_LEN);
    for (size_t i = 0; i < 2; i++) {
        const kat_value *key = gcm_key(rtp[i].p);
        KAT_GET(want, &rfc7714, rtp[i].protected_name);
        CHECK(key != NULL);
        CHECK_EQ(want->len, plain->len + DSRTP_GCM_TAG_LEN);
        dsrtp_cipher *c = NULL;
        CHECK_OK(dsrtp_cipher_new(DSRTP_CIPHER_AES_GCM, key->bytes, key->len, NULL, 0, &c));
        uint8_t buf[KAT_MAX_BYTES];
        memcpy(buf, plain->bytes, plain->len);
        CHECK_OK(dsrtp_cipher_gcm_seal(c, iv->bytes, buf, 12, NULL, 0, buf + 12,
                                       plain->len - 12, buf + plain->len));
        CHECK_MEM(buf, want->bytes, want->len);
        CHECK_OK(dsrtp_cipher_gcm_open(c, iv->bytes, buf, 12, NULL, 0, buf + 12,
                                       plain->len - 12, buf + plain->len));
        CHECK_MEM(buf, plain->bytes, plain->len);
        dsrtp_cipher_free(c);
    }

    /* 17.1: AAD = the 8-octet header || the ESRTCP word (E set, index 5d4). */
    KAT_GET(rtcp, &rfc7714, "rtcp.packet");
    KAT_GET(rtcp_iv, &rfc7714, "rtcp.iv");
    KAT_GET(want, &rfc7714, "17.1.protected");
    const kat_value *key = gcm_key(DSRTP_AEAD_AES_128_GCM);
    CHECK(key != NULL);
    static const uint8_t esrtcp[4] = {0x80, 0x00, 0x05, 0xd4};
    dsrtp_cipher *c = NULL;
    CHECK_OK(dsrtp_cipher_new(DSRTP_CIPHER_AES_GCM, key->bytes, key->len, NULL, 0, &c));
    uint8_t buf[KAT_MAX_BYTES];
    memcpy(buf, rtcp->bytes, rtcp->len);
    CHECK_OK(dsrtp_cipher_gcm_seal(c, rtcp_iv->bytes, buf, 8, esrtcp, 4, buf + 8,
                                   rtcp->len - 8, buf + rtcp->len));
    CHECK_MEM(buf, want->bytes, rtcp->len + DSRTP_GCM_TAG_LEN);
    CHECK_MEM(want->bytes + rtcp->len + DSRTP_GCM_TAG_LEN, esrtcp, 4);
    dsrtp_cipher_free(c);
}

/* Keys a context from the RFC 7714 session key and salt. */
static dsrtp_err gcm_ctx(dsrtp_srtp_ctx *c, dsrtp_profile p, bool rx, bool encrypt_rtcp)
{
    const kat_value *key = gcm_key(p);
    const kat_value *salt = kat_get(&rfc7714, "salt");
    if (key == NULL || salt == NULL) {
        return DSRTP_ERR_INVALID_ARG;
    }
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = p;
    cfg.master_key = key->bytes;
    cfg.master_key_len = key->len;
    cfg.master_salt = salt->bytes;
    cfg.master_salt_len = salt->len;
    cfg.encrypt_rtcp = encrypt_rtcp;
    return dsrtp_srtp_ctx_init_session_keys(c, &cfg, rx, NULL);
}

/* Protecting the RFC's RTP packet gives the RFC's protected packet byte for byte. */
static void srtp_protect_matches(dsrtp_profile p, const char *protected_name)
{
    KAT_GET(plain, &rfc7714, "rtp.packet");
    KAT_GET(want, &rfc7714, protected_name);
    dsrtp_srtp_tx tx;
    CHECK_OK(gcm_ctx(&tx.c, p, false, true));
    uint8_t buf[KAT_MAX_BYTES];
    size_t out = 0;
    memcpy(buf, plain->bytes, plain->len);
    CHECK_OK(dsrtp_srtp_tx_protect(&tx, buf, plain->len, sizeof buf, &out));
    CHECK_EQ(out, want->len);
    CHECK_MEM(buf, want->bytes, want->len);
    uint32_t roc = 1;
    CHECK_OK(dsrtp_srtp_tx_get_roc(&tx, 0x5501a0b2, &roc));
    CHECK_EQ(roc, 0);
    dsrtp_srtp_ctx_clear(&tx.c);
}

/* Unprotecting the RFC's protected packet gives the RFC's plaintext; with its last tag bit
 * flipped it is refused and left as it was. */
static void srtp_unprotect_matches(dsrtp_profile p, const char *protected_name)
{
    KAT_GET(plain, &rfc7714, "rtp.packet");
    KAT_GET(wire, &rfc7714, protected_name);
    dsrtp_srtp_rx rx;
    CHECK_OK(gcm_ctx(&rx.c, p, true, true));
    uint8_t buf[KAT_MAX_BYTES];
    size_t got = 0;
    memcpy(buf, wire->bytes, wire->len);
    buf[wire->len - 1] ^= 0x01;
    CHECK_ERR(dsrtp_srtp_rx_unprotect(&rx, buf, wire->len, &got), DSRTP_ERR_AUTH);
    buf[wire->len - 1] ^= 0x01;
    CHECK_MEM(buf, wire->bytes, wire->len);
    CHECK_OK(dsrtp_srtp_rx_unprotect(&rx, buf, wire->len, &got));
    CHECK_EQ(got, plain->len);
    CHECK_MEM(buf, plain->bytes, plain->len);
    dsrtp_srtp_ctx_clear(&rx.c);
}

static void test_srtp_protect_rfc7714_16_1_1(void)
{
    srtp_protect_matches(DSRTP_AEAD_AES_128_GCM, "16.1.1.protected");
}

static void test_srtp_unprotect_rfc7714_16_1_2(void)
{
    srtp_unprotect_matches(DSRTP_AEAD_AES_128_GCM, "16.1.1.protected");
}

static void test_srtp_protect_rfc7714_16_2_1(void)
{
    srtp_protect_matches(DSRTP_AEAD_AES_256_GCM, "16.2.1.protected");
}

static void test_srtp_unprotect_rfc7714_16_2_2(void)
{
    srtp_unprotect_matches(DSRTP_AEAD_AES_256_GCM, "16.2.1.protected");
}

static uint32_t rtcp_index(void)
{
    const kat_value *v = kat_get(&rfc7714, "rtcp.index");
    return v != NULL && v->len == 4 ? dsrtp_load32(v->bytes) : 0;
}

/* Protecting the RFC's RTCP packet with SRTCP index 5d4 gives the RFC's SRTCP packet. */
static void srtcp_protect_matches(dsrtp_profile p, bool encrypt, const char *protected_name)
{
    KAT_GET(plain, &rfc7714, "rtcp.packet");
    KAT_GET(want, &rfc7714, protected_name);
    dsrtp_srtp_tx tx;
    CHECK_OK(gcm_ctx(&tx.c, p, false, encrypt));
    CHECK_OK(dsrtp_srtp_tx_set_rtcp_index(&tx, dsrtp_load32(plain->bytes + 4), rtcp_index()));
    uint8_t buf[KAT_MAX_BYTES];
    size_t out = 0;
    memcpy(buf, plain->bytes, plain->len);
    CHECK_OK(dsrtp_srtp_tx_protect_rtcp(&tx, buf, plain->len, sizeof buf, &out));
    CHECK_EQ(out, want->len);
    CHECK_MEM(buf, want->bytes, want->len);
    dsrtp_srtp_ctx_clear(&tx.c);
}

/* Unprotecting the RFC's SRTCP packet gives the RFC's RTCP packet; a flipped tag bit, or a
 * flipped E flag, is refused and leaves the buffer as it was. */
static void srtcp_unprotect_matches(dsrtp_profile p, const char *protected_name)
{
    KAT_GET(plain, &rfc7714, "rtcp.packet");
    KAT_GET(wire, &rfc7714, protected_name);
    dsrtp_srtp_rx rx;
    CHECK_OK(gcm_ctx(&rx.c, p, true, true));
    uint8_t buf[KAT_MAX_BYTES];
    size_t got = 0;
    size_t tag_at = wire->len - 4 - DSRTP_GCM_TAG_LEN;
    size_t e_at = wire->len - 4;
    memcpy(buf, wire->bytes, wire->len);
    buf[tag_at] ^= 0x80;
    CHECK_ERR(dsrtp_srtp_rx_unprotect_rtcp(&rx, buf, wire->len, &got), DSRTP_ERR_AUTH);
    buf[tag_at] ^= 0x80;
    buf[e_at] ^= 0x80;
    CHECK_ERR(dsrtp_srtp_rx_unprotect_rtcp(&rx, buf, wire->len, &got), DSRTP_ERR_AUTH);
    buf[e_at] ^= 0x80;
    CHECK_MEM(buf, wire->bytes, wire->len);
    CHECK_OK(dsrtp_srtp_rx_unprotect_rtcp(&rx, buf, wire->len, &got));
    CHECK_EQ(got, plain->len);
    CHECK_MEM(buf, plain->bytes, plain->len);
    dsrtp_srtp_ctx_clear(&rx.c);
}

static void test_srtcp_protect_rfc7714_17_1(void)
{
    srtcp_protect_matches(DSRTP_AEAD_AES_128_GCM, true, "17.1.protected");
}

static void test_srtcp_unprotect_rfc7714_17_1(void)
{
    srtcp_unprotect_matches(DSRTP_AEAD_AES_128_GCM, "17.1.protected");
}

static void test_srtcp_protect_rfc7714_17_2(void)
{
    srtcp_protect_matches(DSRTP_AEAD_AES_256_GCM, true, "17.2.protected");
}

static void test_srtcp_unprotect_rfc7714_17_2(void)
{
    srtcp_unprotect_matches(DSRTP_AEAD_AES_256_GCM, "17.2.protected");
}

static void test_srtcp_protect_rfc7714_17_3_unencrypted(void)
{
    srtcp_protect_matches(DSRTP_AEAD_AES_128_GCM, false, "17.3.protected");
}

static void test_srtcp_unprotect_rfc7714_17_3_unencrypted(void)
{
    srtcp_unprotect_matches(DSRTP_AEAD_AES_128_GCM, "17.3.protected");
}

static void test_srtcp_protect_rfc7714_17_4_unencrypted(void)
{
    srtcp_protect_matches(DSRTP_AEAD_AES_256_GCM, false, "17.4.protected");
}

static void test_srtcp_unprotect_rfc7714_17_4_unencrypted(void)
{
    srtcp_unprotect_matches(DSRTP_AEAD_AES_256_GCM, "17.4.protected");
}

static void test_srtp_ctx_init_session_keys_rejects_missing_auth_key(void)
{
    static const uint8_t key[16] = {1};
    static const uint8_t salt[14] = {2};
    dsrtp_srtp_cfg cfg;
    dsrtp_srtp_cfg_init(&cfg);
    cfg.profile = DSRTP_AES_CM_128_HMAC_SHA1_80;
    cfg.master_key = key;
    cfg.master_key_len = sizeof key;
    cfg.master_salt = salt;
    cfg.master_salt_len = sizeof salt;
    dsrtp_srtp_ctx c;
    CHECK_ERR(dsrtp_srtp_ctx_init_session_keys(&c, &cfg, false, NULL), DSRTP_ERR_INVALID_ARG);
    cfg.master_salt_len = 12;
    CHECK_ERR(dsrtp_srtp_ctx_init_session_keys(&c, &cfg, false, any_auth_key),
              DSRTP_ERR_INVALID_ARG);
}

RUN_TESTS(TEST(test_srtp_vector_files_load), TEST(test_srtp_aes_cm_keystream_rfc3711_b2),
          TEST(test_srtp_cipher_ctr_rfc3711_b2), TEST(test_srtp_protect_rfc3711_b2),
          TEST(test_srtp_kdf_rfc3711_b3), TEST(test_srtp_kdf_rfc6188_7_2),
          TEST(test_srtp_gcm_cipher_rfc7714_16_and_17), TEST(test_srtp_protect_rfc7714_16_1_1),
          TEST(test_srtp_unprotect_rfc7714_16_1_2), TEST(test_srtp_protect_rfc7714_16_2_1),
          TEST(test_srtp_unprotect_rfc7714_16_2_2), TEST(test_srtcp_protect_rfc7714_17_1),
          TEST(test_srtcp_unprotect_rfc7714_17_1), TEST(test_srtcp_protect_rfc7714_17_2),
          TEST(test_srtcp_unprotect_rfc7714_17_2),
          TEST(test_srtcp_protect_rfc7714_17_3_unencrypted),
          TEST(test_srtcp_unprotect_rfc7714_17_3_unencrypted),
          TEST(test_srtcp_protect_rfc7714_17_4_unencrypted),
          TEST(test_srtcp_unprotect_rfc7714_17_4_unencrypted),
          TEST(test_srtp_ctx_init_session_keys_rejects_missing_auth_key))
