/* Fuzz target: datagrams fed to a connected endpoint's own record layer (src/dtls/post.c),
 * the parser that replaces OpenSSL once the handshake is over. fuzz_dtls_feed cannot get
 * here: a replayed handshake never completes against fresh randoms.
 *
 * Input: one flags byte, then datagrams, each a big-endian 16-bit length and that many bytes
 * (the last one takes whatever is left). Flags bits 0-1 pick the AEAD: 0 and 1 AES-128-GCM,
 * 2 AES-256-GCM, 3 ChaCha20-Poly1305. The layer is keyed with fixed keys, the same for both
 * directions, so records it sealed (the seeds in corpus/dtls_post) open. Each datagram
 * passes the endpoint's framing gate (record.c) and then goes record by record through
 * dsrtp_post_open, as src/dtls/endpoint.c does.
 *
 * Oracles: a failed open changes nothing; an opened record's plaintext fits the buffer, its
 * type is the record's, and opening it again is refused as a replay; the window's top never
 * goes down. */
#include <stdlib.h>
#include <string.h>

#include "dtls/dtls_int.h"
#include "fuzz_datagrams.h"

#define FUZZ_MAX_DATAGRAMS 64
#define PLAIN_MAX 32 /* as the endpoint: an alert or a Finished */

static void key_up(dsrtp_dtls_post *p, uint8_t flags)
{
    static const uint8_t aeads[4] = {DSRTP_POST_AES_128_GCM, DSRTP_POST_AES_128_GCM,
                                     DSRTP_POST_AES_256_GCM, DSRTP_POST_CHACHA20_POLY1305};
    *p = (dsrtp_dtls_post){0};
    p->aead = aeads[flags & 3];
    p->prf = DSRTP_PRF_SHA256;
    p->key_len = p->aead == DSRTP_POST_AES_128_GCM ? 16 : 32;
    p->iv_len = p->aead == DSRTP_POST_CHACHA20_POLY1305 ? 12 : 4;
    for (size_t i = 0; i < DSRTP_POST_KEY_MAX; i++) {
        p->write_key[i] = p->read_key[i] = (uint8_t)(0x40 + i);
    }
    for (size_t i = 0; i < DSRTP_POST_IV_MAX; i++) {
        p->write_iv[i] = p->read_iv[i] = (uint8_t)(0xa0 + i);
    }
    p->write_seq = 1;
    dsrtp_post_mark_seen(p, 0); /* as compaction leaves it: the peer's Finished was read */
}

static void open_one(dsrtp_dtls_post *p, const uint8_t *rec, size_t rec_len)
{
    uint64_t top = p->read_top;
    uint64_t window = p->read_window;
    uint8_t type = 0;
    uint8_t plain[PLAIN_MAX];
    size_t n = 0;
    if (dsrtp_post_open(p, rec, rec_len, &type, plain, sizeof plain, &n) != DSRTP_OK) {
        if (p->read_top != top || p->read_window != window) {
            abort(); /* a refused record moved the window */
        }
        return;
    }
    if (n > sizeof plain || type != rec[0] || p->read_top < top) {
        abort();
    }
    if (dsrtp_post_open(p, rec, rec_len, &type, plain, sizeof plain, &n) != DSRTP_ERR_REPLAY) {
        abort(); /* the same record twice */
    }
}

static void feed(dsrtp_dtls_post *p, const uint8_t *dg, size_t len)
{
    if (len < DSRTP_DTLS_HEADER_LEN ||
        !dsrtp_dtls_datagram_plausible(dsrtp_post_min_record(p), dg, len)) {
        return;
    }
    dsrtp_rd r = dsrtp_rd_make(dg, len);
    const uint8_t *rec;
    size_t rec_len;
    while (dsrtp_post_next_record(&r, &rec, &rec_len) == DSRTP_OK) {
        if (rec_len < DSRTP_DTLS_HEADER_LEN || rec_len > len) {
            abort();
        }
        open_one(p, rec, rec_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    dsrtp_dtls_post p;
    key_up(&p, data[0]);
    size_t pos = 1;
    for (int n = 0; n < FUZZ_MAX_DATAGRAMS && pos < size; n++) {
        size_t len = 0;
        uint8_t *dg = fuzz_next_datagram(data, size, &pos, &len);
        feed(&p, dg, len);
        free(dg);
    }
    dsrtp_post_clear(&p);
    return 0;
}
