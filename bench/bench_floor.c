/* bench_floor: the OpenSSL calls an SRTP transform cannot avoid, with nothing around them.
 *
 * Two flavours, chosen with --api:
 *  lean (default, impl "openssl-floor"): the calls dsrtp's cipher back end
 *    (src/srtp/cipher.c) makes. AES runs through one EVP AES-ECB context keyed once: AES-CM
 *    writes counter blocks, ECB-encrypts them and XORs the keystream in; AES-GCM is
 *    OpenSSL's CRYPTO_gcm128 code with that ECB context as its block cipher. HMAC-SHA1
 *    resumes precomputed inner/outer SHA-1 states.
 *  evp (impl "openssl-evp-floor"): the textbook EVP sequence per packet, as libsrtp and
 *    dsrtp before it used: EVP_CipherInit_ex to set the IV on an AES-CTR or AES-GCM
 *    context, EVP_CipherUpdate, and for GCM the AAD update, Final and the tag control.
 *    Same HMAC as lean.
 * No header parsing, no stream lookup, no rollover counter, no replay window, no counters:
 * the IV comes straight from the sequence number (ROC taken as 0). The distance between
 * the lean floor and dsrtp is what the engine adds. Same driver, packets, batches and
 * report as `dsrtp bench srtp`.
 * Usage: bench_floor [--api lean|evp] --profile P --size BYTES --op OP [--packets N]
 *                    [--json] */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/modes.h>
#include <openssl/sha.h>

#include "bench_util.h"

typedef struct floor_cipher {
    bool evp_api;
    bool gcm_profile;
    EVP_CIPHER_CTX *evp; /* evp api: AES-CTR or AES-GCM; lean: AES-ECB */
    GCM128_CONTEXT *gcm; /* lean, GCM profiles */
    SHA_CTX inner;
    SHA_CTX outer;
} floor_cipher;

typedef struct bench_state {
    const dsrtp_bench_profile *p;
    floor_cipher tx;
    floor_cipher rx;
    uint8_t salt[14];
    uint32_t rtcp_index; /* next SRTCP index the sender uses */
} bench_state;

/* AES on whole blocks, in place or between disjoint buffers, through the ECB context. */
static void ecb_blocks(EVP_CIPHER_CTX *ecb, const uint8_t *in, uint8_t *out, size_t len)
{
    int n = 0;
    if (EVP_EncryptUpdate(ecb, out, &n, in, (int)len) != 1) {
        abort(); /* a benchmark has no use for a half-failed cipher */
    }
}

/* XORs len bytes of in with the AES-CTR keystream from ctr into out; the counter runs in
 * the low 32 bits (SRTP IVs end in 16 zero bits, so no carry is ever needed here). */
static void lean_ctr(EVP_CIPHER_CTX *ecb, const uint8_t ctr[16], const uint8_t *in,
                     uint8_t *out, size_t len)
{
    uint8_t ks[512];
    uint32_t low = (uint32_t)ctr[12] << 24 | (uint32_t)ctr[13] << 16 | (uint32_t)ctr[14] << 8 |
                   ctr[15];
    while (len > 0) {
        size_t take = len < sizeof ks ? len : sizeof ks;
        size_t blocks = (take + 15) / 16;
        for (size_t b = 0; b < blocks; b++, low++) {
            memcpy(ks + 16 * b, ctr, 12);
            ks[16 * b + 12] = (uint8_t)(low >> 24);
            ks[16 * b + 13] = (uint8_t)(low >> 16);
            ks[16 * b + 14] = (uint8_t)(low >> 8);
            ks[16 * b + 15] = (uint8_t)low;
        }
        ecb_blocks(ecb, ks, ks, blocks * 16);
        for (size_t i = 0; i < take; i++) {
            out[i] = (uint8_t)(in[i] ^ ks[i]);
        }
        in += take;
        out += take;
        len -= take;
    }
}

static void gcm128_block(const unsigned char in[16], unsigned char out[16], const void *key)
{
    ecb_blocks((EVP_CIPHER_CTX *)key, in, out, 16);
}

static void gcm128_ctr32(const unsigned char *in, unsigned char *out, size_t blocks,
                         const void *key, const unsigned char ivec[16])
{
    lean_ctr((EVP_CIPHER_CTX *)key, ivec, in, out, blocks * 16);
}

static bool floor_init(floor_cipher *c, const dsrtp_bench_profile *p, bool evp_api,
                       const uint8_t *key, const uint8_t *auth_key, int enc)
{
    const EVP_CIPHER *type;
    bool k128 = p->key_len == 16;
    c->evp_api = evp_api;
    c->gcm_profile = p->gcm;
    if (!evp_api) {
        type = k128 ? EVP_aes_128_ecb() : EVP_aes_256_ecb();
        enc = 1;
    } else if (p->gcm) {
        type = k128 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    } else {
        type = k128 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
    }
    c->evp = EVP_CIPHER_CTX_new();
    if (c->evp == NULL || EVP_CipherInit_ex(c->evp, type, NULL, key, NULL, enc) != 1) {
        return false;
    }
    if (!evp_api) {
        EVP_CIPHER_CTX_set_padding(c->evp, 0);
        if (p->gcm) {
            c->gcm = CRYPTO_gcm128_new(c->evp, gcm128_block);
            return c->gcm != NULL;
        }
    } else if (p->gcm) {
        return EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
    }
    if (p->gcm) {
        return true;
    }
    uint8_t pad[SHA_CBLOCK];
    for (size_t i = 0; i < sizeof pad; i++) {
        pad[i] = (uint8_t)((i < 20 ? auth_key[i] : 0) ^ 0x36);
    }
    SHA1_Init(&c->inner);
    SHA1_Update(&c->inner, pad, sizeof pad);
    for (size_t i = 0; i < sizeof pad; i++) {
        pad[i] = (uint8_t)((i < 20 ? auth_key[i] : 0) ^ 0x5c);
    }
    SHA1_Init(&c->outer);
    SHA1_Update(&c->outer, pad, sizeof pad);
    return true;
}

static void floor_clear(floor_cipher *c)
{
    CRYPTO_gcm128_release(c->gcm);
    EVP_CIPHER_CTX_free(c->evp);
}

static void hmac(floor_cipher *c, const uint8_t *a, size_t a_len, const uint8_t *b,
                 size_t b_len, uint8_t out[20])
{
    SHA_CTX h = c->inner;
    uint8_t md[20];
    SHA1_Update(&h, a, a_len);
    if (b_len > 0) {
        SHA1_Update(&h, b, b_len);
    }
    SHA1_Final(md, &h);
    h = c->outer;
    SHA1_Update(&h, md, sizeof md);
    SHA1_Final(out, &h);
}

static bool ctr(floor_cipher *c, const uint8_t iv[16], uint8_t *data, size_t len)
{
    int n = 0;
    if (!c->evp_api) {
        lean_ctr(c->evp, iv, data, data, len);
        return true;
    }
    return EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, iv, 1) == 1 &&
           EVP_CipherUpdate(c->evp, data, &n, data, (int)len) == 1;
}

static bool gcm(floor_cipher *c, int enc, const uint8_t iv[12], const uint8_t *aad1,
                size_t aad1_len, const uint8_t *aad2, size_t aad2_len, uint8_t *data,
                size_t len, uint8_t tag[16])
{
    if (!c->evp_api) {
        CRYPTO_gcm128_setiv(c->gcm, iv, 12);
        if (CRYPTO_gcm128_aad(c->gcm, aad1, aad1_len) != 0 ||
            (aad2_len > 0 && CRYPTO_gcm128_aad(c->gcm, aad2, aad2_len) != 0)) {
            return false;
        }
        if (enc) {
            if (CRYPTO_gcm128_encrypt_ctr32(c->gcm, data, data, len, gcm128_ctr32) != 0) {
                return false;
            }
            CRYPTO_gcm128_tag(c->gcm, tag, 16);
            return true;
        }
        return CRYPTO_gcm128_decrypt_ctr32(c->gcm, data, data, len, gcm128_ctr32) == 0 &&
               CRYPTO_gcm128_finish(c->gcm, tag, 16) == 0;
    }
    int n = 0;
    if (EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, iv, enc) != 1 ||
        EVP_CipherUpdate(c->evp, NULL, &n, aad1, (int)aad1_len) != 1 ||
        (aad2_len > 0 && EVP_CipherUpdate(c->evp, NULL, &n, aad2, (int)aad2_len) != 1) ||
        EVP_CipherUpdate(c->evp, data, &n, data, (int)len) != 1) {
        return false;
    }
    if (enc) {
        return EVP_CipherFinal_ex(c->evp, data + len, &n) == 1 &&
               EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    }
    return EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
           EVP_CipherFinal_ex(c->evp, data + len, &n) == 1;
}

/* The IV of RFC 3711 §4.1.1 (16 bytes) or RFC 7714 §8.1 (12 bytes) for ssrc and index. */
static void make_iv(const bench_state *s, uint32_t ssrc, uint64_t index, uint8_t iv[16])
{
    memset(iv, 0, 16);
    size_t off = s->p->gcm ? 2 : 4;
    for (int k = 0; k < 4; k++) {
        iv[off + (size_t)k] = (uint8_t)(ssrc >> (24 - 8 * k));
    }
    for (int k = 0; k < 6; k++) {
        iv[off + 4 + (size_t)k] = (uint8_t)(index >> (40 - 8 * k));
    }
    for (size_t k = 0; k < s->p->salt_len; k++) {
        iv[k] ^= s->salt[k];
    }
}

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Protects one RTP packet of len bytes at buf (12-byte header); returns the new length or
 * 0 on failure. The ROC is taken as 0: the floor keeps no stream state. */
static size_t rtp_seal(bench_state *s, uint8_t *buf, size_t len)
{
    uint8_t iv[16];
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    make_iv(s, load32(buf + 8), seq, iv);
    if (s->p->gcm) {
        return gcm(&s->tx, 1, iv, buf, 12, NULL, 0, buf + 12, len - 12, buf + len) ? len + 16
                                                                                   : 0;
    }
    static const uint8_t roc[4] = {0};
    uint8_t mac[20];
    if (!ctr(&s->tx, iv, buf + 12, len - 12)) {
        return 0;
    }
    hmac(&s->tx, buf, len, roc, 4, mac);
    memcpy(buf + len, mac, s->p->rtp_tag_len);
    return len + s->p->rtp_tag_len;
}

static size_t rtp_open(bench_state *s, uint8_t *buf, size_t len)
{
    uint8_t iv[16];
    size_t rtp_len = len - s->p->rtp_tag_len;
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    make_iv(s, load32(buf + 8), seq, iv);
    if (s->p->gcm) {
        return gcm(&s->rx, 0, iv, buf, 12, NULL, 0, buf + 12, rtp_len - 12, buf + rtp_len)
                   ? rtp_len
                   : 0;
    }
    static const uint8_t roc[4] = {0};
    uint8_t mac[20];
    hmac(&s->rx, buf, rtp_len, roc, 4, mac);
    if (CRYPTO_memcmp(mac, buf + rtp_len, s->p->rtp_tag_len) != 0) {
        return 0;
    }
    return ctr(&s->rx, iv, buf + 12, rtp_len - 12) ? rtp_len : 0;
}

static size_t rtcp_seal(bench_state *s, uint8_t *buf, size_t len)
{
    uint8_t iv[16];
    uint8_t e_index[4];
    uint32_t index = s->rtcp_index++;
    uint32_t word = index | 0x80000000u;
    for (int k = 0; k < 4; k++) {
        e_index[k] = (uint8_t)(word >> (24 - 8 * k));
    }
    make_iv(s, load32(buf + 4), index, iv);
    if (s->p->gcm) {
        if (!gcm(&s->tx, 1, iv, buf, 8, e_index, 4, buf + 8, len - 8, buf + len)) {
            return 0;
        }
        memcpy(buf + len + 16, e_index, 4);
        return len + 20;
    }
    uint8_t mac[20];
    if (!ctr(&s->tx, iv, buf + 8, len - 8)) {
        return 0;
    }
    memcpy(buf + len, e_index, 4);
    hmac(&s->tx, buf, len + 4, NULL, 0, mac);
    memcpy(buf + len + 4, mac, s->p->rtcp_tag_len);
    return len + 4 + s->p->rtcp_tag_len;
}

static size_t rtcp_open(bench_state *s, uint8_t *buf, size_t len)
{
    uint8_t iv[16];
    size_t rtcp_len = len - 4 - s->p->rtcp_tag_len;
    const uint8_t *e_index = s->p->gcm ? buf + rtcp_len + 16 : buf + rtcp_len;
    uint32_t index = load32(e_index) & 0x7fffffffu;
    make_iv(s, load32(buf + 4), index, iv);
    if (s->p->gcm) {
        return gcm(&s->rx, 0, iv, buf, 8, e_index, 4, buf + 8, rtcp_len - 8, buf + rtcp_len)
                   ? rtcp_len
                   : 0;
    }
    uint8_t mac[20];
    hmac(&s->rx, buf, rtcp_len + 4, NULL, 0, mac);
    if (CRYPTO_memcmp(mac, buf + rtcp_len + 4, s->p->rtcp_tag_len) != 0) {
        return 0;
    }
    return ctr(&s->rx, iv, buf + 8, rtcp_len - 8) ? rtcp_len : 0;
}

static int prepare(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens,
                   size_t n, uint64_t first)
{
    bench_state *s = st;
    for (size_t i = 0; i < n; i++) {
        dsrtp_bench_make_packet(a, bufs[i], (uint16_t)(DSRTP_BENCH_SEQ_BASE + first + i));
        lens[i] = a->size;
        if (a->op == DSRTP_BENCH_UNPROTECT) {
            lens[i] = rtp_seal(s, bufs[i], a->size);
        } else if (a->op == DSRTP_BENCH_RTCP_UNPROTECT) {
            lens[i] = rtcp_seal(s, bufs[i], a->size);
        }
        if (lens[i] == 0) {
            fprintf(stderr, "bench_floor: protecting a packet to unprotect failed\n");
            return 1;
        }
    }
    return 0;
}

static size_t run(void *st, const dsrtp_bench_args *a, uint8_t **bufs, size_t *lens, size_t n)
{
    bench_state *s = st;
    size_t failed = 0;
    switch (a->op) {
    case DSRTP_BENCH_PROTECT:
        for (size_t i = 0; i < n; i++) {
            lens[i] = rtp_seal(s, bufs[i], lens[i]);
            failed += lens[i] == 0;
        }
        break;
    case DSRTP_BENCH_UNPROTECT:
        for (size_t i = 0; i < n; i++) {
            lens[i] = rtp_open(s, bufs[i], lens[i]);
            failed += lens[i] != a->size;
        }
        break;
    case DSRTP_BENCH_RTCP_PROTECT:
        for (size_t i = 0; i < n; i++) {
            lens[i] = rtcp_seal(s, bufs[i], lens[i]);
            failed += lens[i] == 0;
        }
        break;
    case DSRTP_BENCH_RTCP_UNPROTECT:
        for (size_t i = 0; i < n; i++) {
            lens[i] = rtcp_open(s, bufs[i], lens[i]);
            failed += lens[i] != a->size;
        }
        break;
    }
    return failed;
}

int main(int argc, char **argv)
{
    /* --api comes first if given; the rest is the shared benchmark command line. */
    bool evp_api = false;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--api") == 0) {
        if (strcmp(argv[2], "evp") != 0 && strcmp(argv[2], "lean") != 0) {
            fprintf(stderr, "bench_floor: --api wants lean or evp\n");
            return 2;
        }
        evp_api = strcmp(argv[2], "evp") == 0;
        first = 3;
    }
    dsrtp_bench_args a;
    if (!dsrtp_bench_parse(argc, argv, first, "bench_floor [--api lean|evp]", &a)) {
        return 2;
    }
    /* Session keys are used directly: key derivation is not part of the packet path. */
    uint8_t key[32];
    uint8_t auth_key[20];
    bench_state s = {.p = a.profile};
    for (size_t i = 0; i < sizeof key; i++) {
        key[i] = (uint8_t)(0x11 * i + 3);
    }
    for (size_t i = 0; i < sizeof auth_key; i++) {
        auth_key[i] = (uint8_t)(0x29 * i + 1);
    }
    for (size_t i = 0; i < sizeof s.salt; i++) {
        s.salt[i] = (uint8_t)(0x0d * i + 7);
    }
    int status = 1;
    if (floor_init(&s.tx, a.profile, evp_api, key, auth_key, 1) &&
        floor_init(&s.rx, a.profile, evp_api, key, auth_key, 0)) {
        const dsrtp_bench_impl impl = {evp_api ? "openssl-evp-floor" : "openssl-floor",
                                       prepare, run};
        status = dsrtp_bench_run(&impl, &s, &a, NULL);
    } else {
        fprintf(stderr, "bench_floor: OpenSSL setup failed\n");
    }
    floor_clear(&s.tx);
    floor_clear(&s.rx);
    return status;
}
