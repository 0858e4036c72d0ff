/* A DTLS server endpoint must reassemble a ClientHello that arrives in pieces, as newer
 * browsers send it (Chromium: about 1,400 bytes in two handshake fragments, PEERS.md).
 *
 * A tap on the client-to-server direction takes our own client's first ClientHello apart
 * and hands the server the same message again as N fragments (RFC 6347 §4.2.3), each in a
 * record of its own with rising record sequence numbers: all records in one datagram, one
 * per datagram in order, one per datagram in reverse order, and overlapping fragments.
 * DTLS hashes the reassembled message, not its fragments, so the transcript is unchanged
 * and every variant must complete, with mirrored keys, from that first ClientHello alone
 * (the client's retransmission timer is set to 1 s, and no retransmission may be needed).
 * The rejecting twins damage one fragment; the server must drop the damaged datagram and
 * then complete from the client's retransmission, which the tap lets through untouched.
 *
 * Since the rewritten ClientHello takes N records where the client used one, every later
 * epoch-0 record of the client is renumbered N - 1 higher, as a client that fragmented by
 * itself would have numbered it; otherwise the server's replay window would drop the
 * client's second flight as copies of the fragments. Epoch-1 records are left alone (their
 * sequence number is authenticated).
 *
 * Endpoint 0 is the client, endpoint 1 the server, over dtls_link.h in real time. */
#include "harness/check.h"
#include "harness/dtls_link.h"

/* The last test gives the client a large extension through OpenSSL itself. */
#include "dtls/dtls_int.h"

#define RUN_LIMIT 4000000u /* us: a healthy run takes a few milliseconds */
#define SLOW_RTO 1000000u  /* no retransmission within any accepting run */
#define REC_HDR 13         /* type, version, epoch, 48-bit sequence, length */
#define HS_HDR 12          /* type, length, message_seq, fragment_offset, fragment_length */
#define MAX_FRAGS 48
#define MAX_BODY 1600
#define EXT_PADDING 21 /* RFC 7685 */
#define BIG_HELLO_DGRAM 1420 /* two ~700-byte fragments in one datagram, as Chromium's */

static dsrtp_cert *cert_c;
static dsrtp_cert *cert_s;
static dsrtp_cert *cert_big; /* client certificate whose SSL_CTX adds a large extension */

static void free_certs(void)
{
    dsrtp_cert_free(cert_c);
    dsrtp_cert_free(cert_s);
    dsrtp_cert_free(cert_big);
}

static void client_server_cfgs(dsrtp_dtls_cfg *c, dsrtp_dtls_cfg *s)
{
    if (cert_c == NULL) {
        if (dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_c) != DSRTP_OK ||
            dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_s) != DSRTP_OK ||
            dsrtp_cert_generate(DSRTP_CERT_ECDSA_P256, 0, &cert_big) != DSRTP_OK ||
            atexit(free_certs) != 0) {
            abort();
        }
    }
    link_pair_cfg(c, cert_c, DSRTP_DTLS_CLIENT);
    link_pair_cfg(s, cert_s, DSRTP_DTLS_SERVER);
}

/* ---- wire helpers ---- */

static uint32_t get24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put24(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 16);
    put16(p + 1, v);
}

static uint64_t get48(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void put48(uint8_t *p, uint64_t v)
{
    for (int i = 5; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* The client's ClientHello as one whole message, taken from its single record. */
typedef struct hello {
    uint8_t version[2]; /* record-layer version, reused on every fragment */
    uint64_t seq;       /* record sequence number of the original */
    uint8_t msg_seq[2];
    size_t len;
    uint8_t body[MAX_BODY]; /* zeros after len */
} hello;

/* True when the datagram is exactly one epoch-0 record holding one unfragmented
 * ClientHello. */
static bool parse_hello(const uint8_t *p, size_t len, hello *h)
{
    if (len < REC_HDR + HS_HDR || p[0] != 22 || p[3] != 0 || p[4] != 0) {
        return false;
    }
    size_t rlen = (size_t)p[11] << 8 | p[12];
    const uint8_t *hs = p + REC_HDR;
    size_t msg_len = get24(hs + 1);
    if (rlen != len - REC_HDR || hs[0] != 1 || msg_len != rlen - HS_HDR ||
        get24(hs + 6) != 0 || get24(hs + 9) != msg_len || msg_len > MAX_BODY - 64) {
        return false;
    }
    *h = (hello){.seq = get48(p + 5), .len = msg_len};
    memcpy(h->version, p + 1, 2);
    memcpy(h->msg_seq, hs + 4, 2);
    memcpy(h->body, hs + HS_HDR, msg_len);
    return true;
}

/* Appends a padding extension of n zero bytes to the ClientHello body (RFC 6347 §4.2.1
 * layout: version, random, session_id, cookie, cipher_suites, compression_methods,
 * extensions) and fixes the extensions length. False if the body does not parse, already
 * pads, or would not fit. */
static bool pad_hello(hello *h, size_t n)
{
    size_t at = 2 + 32;
    const size_t prefix[] = {1, 1, 2, 1}; /* session_id, cookie, suites, compression */
    for (size_t i = 0; i < 4; i++) {
        if (h->len - at < prefix[i]) {
            return false;
        }
        size_t v = prefix[i] == 1 ? h->body[at] : (size_t)h->body[at] << 8 | h->body[at + 1];
        at += prefix[i];
        if (h->len - at < v) {
            return false;
        }
        at += v;
    }
    if (h->len - at < 2) {
        return false;
    }
    size_t ext_at = at;
    size_t ext_len = (size_t)h->body[at] << 8 | h->body[at + 1];
    if (ext_len != h->len - at - 2) {
        return false;
    }
    for (size_t e = at + 2; e < h->len; e += 4 + ((size_t)h->body[e + 2] << 8 | h->body[e + 3])) {
        if (h->len - e < 4 || ((size_t)h->body[e] << 8 | h->body[e + 1]) == EXT_PADDING) {
            return false;
        }
    }
    if (n + 4 > MAX_BODY - 64 - h->len || ext_len + 4 + n > 0xffff) {
        return false;
    }
    put16(h->body + h->len, EXT_PADDING);
    put16(h->body + h->len + 2, n);
    memset(h->body + h->len + 4, 0, n);
    h->len += 4 + n;
    put16(h->body + ext_at, ext_len + 4 + n);
    return true;
}

/* Writes one epoch-0 record carrying one handshake fragment: the message's bytes
 * [off, off + frag_len) under a header that claims message length msg_len. */
static size_t put_fragment(uint8_t *out, const hello *h, uint64_t seq, size_t msg_len,
                           size_t off, size_t frag_len)
{
    out[0] = 22;
    memcpy(out + 1, h->version, 2);
    out[3] = 0;
    out[4] = 0;
    put48(out + 5, seq);
    put16(out + 11, HS_HDR + frag_len);
    uint8_t *hs = out + REC_HDR;
    hs[0] = 1;
    put24(hs + 1, msg_len);
    memcpy(hs + 4, h->msg_seq, 2);
    put24(hs + 6, off);
    put24(hs + 9, frag_len);
    memcpy(hs + HS_HDR, h->body + off, frag_len);
    return REC_HDR + HS_HDR + frag_len;
}

/* Adds shift to the sequence number of every epoch-0 record in the datagram. */
static void renumber_epoch0(uint8_t *p, size_t len, uint64_t shift)
{
    size_t pos = 0;
    while (len - pos >= REC_HDR) {
        uint8_t *r = p + pos;
        size_t rlen = (size_t)r[11] << 8 | r[12];
        if (r[3] == 0 && r[4] == 0) {
            put48(r + 5, get48(r + 5) + shift);
        }
        if (rlen > len - pos - REC_HDR) {
            return;
        }
        pos += REC_HDR + rlen;
    }
}

/* ---- the tap ---- */

typedef enum delivery {
    ALL_IN_ONE,       /* every record in one datagram */
    ONE_EACH,         /* one record per datagram, in order */
    ONE_EACH_REVERSED /* one record per datagram, last fragment first */
} delivery;

typedef enum fault {
    FAULT_NONE,
    FAULT_TOTAL_LEN, /* the second fragment claims a longer message than the first */
    FAULT_PAST_END,  /* the last fragment carries 5 bytes beyond the message length */
    FAULT_TRUNCATED  /* (ALL_IN_ONE) the datagram ends inside the second record */
} fault;

typedef struct frag_tap {
    /* The rewrite. */
    size_t pieces;  /* split into this many fragments of equal size, or */
    size_t step;    /* (pieces == 0) into fragments of at most this many bytes */
    size_t overlap; /* each fragment after the first starts this many bytes early */
    delivery how;
    fault fault;
    size_t pad;      /* padding extension bytes to add first (changes the transcript) */
    bool passive;    /* observe only: rewrite nothing */
    dsrtp_dtls *server;
    /* What happened. */
    bool rewritten;
    uint64_t shift;
    size_t frags;
    size_t hello_len; /* of the message the server was given */
    size_t dgrams;
    size_t max_dgram;
    dsrtp_err verdict[MAX_FRAGS]; /* of each rewritten datagram, in delivery order */
    size_t hellos;         /* client datagrams carrying a ClientHello record */
    size_t hellos_at_sh;   /* hellos when the first ServerHello came back; 0: none yet */
    size_t client_frags;   /* (passive) ClientHello records that were fragments */
    size_t unexpected;
} frag_tap;

static void deliver(frag_tap *t, const uint8_t *p, size_t len)
{
    if (t->dgrams == MAX_FRAGS) {
        t->unexpected++;
        return;
    }
    if (len > t->max_dgram) {
        t->max_dgram = len;
    }
    t->verdict[t->dgrams++] = dsrtp_dtls_handle_datagram(t->server, link_now(), p, len);
}

/* Splits the ClientHello as t says and feeds the pieces straight to the server. */
static void rewrite_hello(frag_tap *t, hello *h)
{
    if (t->pad > 0 && !pad_hello(h, t->pad)) {
        t->unexpected++;
        return;
    }
    t->hello_len = h->len;
    size_t step = t->pieces > 0 ? (h->len + t->pieces - 1) / t->pieces : t->step;
    size_t off[MAX_FRAGS];
    size_t flen[MAX_FRAGS];
    size_t n = 0;
    for (size_t start = 0; start < h->len; start += step) {
        if (n == MAX_FRAGS) {
            t->unexpected++;
            return;
        }
        size_t end = h->len - start > step ? start + step : h->len;
        off[n] = n > 0 ? start - t->overlap : start;
        flen[n] = end - off[n];
        n++;
    }
    t->frags = n;
    t->shift = n - 1;
    static uint8_t recs[MAX_FRAGS][REC_HDR + HS_HDR + MAX_BODY];
    size_t rec_len[MAX_FRAGS];
    for (size_t i = 0; i < n; i++) {
        size_t msg_len = h->len;
        size_t len = flen[i];
        if (t->fault == FAULT_TOTAL_LEN && i == 1) {
            msg_len += 16;
        }
        if (t->fault == FAULT_PAST_END && i == n - 1) {
            len += 5; /* h->body is zero beyond the message */
        }
        rec_len[i] = put_fragment(recs[i], h, h->seq + i, msg_len, off[i], len);
    }
    if (t->how == ALL_IN_ONE) {
        static uint8_t dgram[MAX_FRAGS * (REC_HDR + HS_HDR) + MAX_BODY + 64];
        size_t len = 0;
        size_t cut = 0;
        for (size_t i = 0; i < n; i++) {
            if (i == 1) {
                cut = len + REC_HDR + (rec_len[1] - REC_HDR) / 2;
            }
            memcpy(dgram + len, recs[i], rec_len[i]);
            len += rec_len[i];
        }
        deliver(t, dgram, t->fault == FAULT_TRUNCATED ? cut : len);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = t->how == ONE_EACH ? k : n - 1 - k;
        deliver(t, recs[i], rec_len[i]);
    }
}

static bool frag_tap_fn(void *arg, int from, uint8_t *data, size_t *len)
{
    frag_tap *t = arg;
    if (from == 1) {
        if (t->hellos_at_sh == 0 && link_dgram_has(data, *len, 22, 0, 2)) {
            t->hellos_at_sh = t->hellos;
        }
        return true;
    }
    if (link_dgram_has(data, *len, 22, 0, 1)) {
        t->hellos++;
        if (*len >= REC_HDR + HS_HDR &&
            (get24(data + REC_HDR + 6) != 0 ||
             get24(data + REC_HDR + 9) != get24(data + REC_HDR + 1))) {
            t->client_frags++;
        }
    }
    if (t->passive) {
        return true;
    }
    if (t->rewritten) {
        /* Normal delivery from here on, numbered after the fragments. */
        renumber_epoch0(data, *len, t->shift);
        return true;
    }
    t->rewritten = true;
    hello h;
    if (!parse_hello(data, *len, &h)) {
        t->unexpected++;
        return true;
    }
    rewrite_hello(t, &h);
    return false; /* the fragments replaced it */
}

/* ---- running one case ---- */

static void check_keys_mirror(dsrtp_dtls *client, dsrtp_dtls *server)
{
    dsrtp_dtls_keys kc;
    dsrtp_dtls_keys ks;
    CHECK_OK(dsrtp_dtls_get_keys(client, &kc));
    CHECK_OK(dsrtp_dtls_get_keys(server, &ks));
    CHECK_EQ(kc.profile, ks.profile);
    CHECK(kc.key_len > 0 && kc.key_len == ks.key_len && kc.salt_len == ks.salt_len);
    CHECK_MEM(kc.local_key, ks.remote_key, kc.key_len);
    CHECK_MEM(kc.remote_key, ks.local_key, kc.key_len);
    CHECK_MEM(kc.local_salt, ks.remote_salt, kc.salt_len);
    CHECK_MEM(kc.remote_salt, ks.local_salt, kc.salt_len);
    CHECK(memcmp(kc.local_key, kc.remote_key, kc.key_len) != 0);
}

/* Runs a pinned client/server pair with t on the link until both are done. The client
 * retransmits after rto. */
static void run_pair(frag_tap *t, dsrtp_dtls_cfg *c, dsrtp_dtls_cfg *s, dsrtp_time rto,
                     link_pair *p)
{
    c->initial_rto = rto;
    s->initial_rto = rto;
    link_cfg lc = {.seed = 41, .tap = frag_tap_fn, .tap_arg = t};
    CHECK_OK(link_pair_new(p, c, s, &lc));
    t->server = p->d[1];
    CHECK_OK(link_pair_pin(p, c->cert, s->cert, DSRTP_HASH_SHA256));
    CHECK_OK(link_pair_start(p));
    link_run(&p->l, p->d, RUN_LIMIT, link_any_done);
}

/* The rewritten ClientHello alone completes the handshake: every piece accepted, the
 * server answers it at once, the client never resends it, the keys mirror. */
static void expect_completes(frag_tap spec)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    frag_tap t = spec;
    link_pair p;
    run_pair(&t, &cfg[0], &cfg[1], SLOW_RTO, &p);
    if (!link_both_connected(&p.l)) {
        fprintf(stderr, "  %zu fragments, delivery %d: '%s' / '%s'\n", t.frags, (int)t.how,
                p.l.st.last_event[0].detail, p.l.st.last_event[1].detail);
    }
    CHECK(link_both_connected(&p.l));
    CHECK_EQ(t.unexpected, 0);
    CHECK(t.frags >= 2);
    CHECK_EQ(t.dgrams, t.how == ALL_IN_ONE ? 1 : t.frags);
    for (size_t i = 0; i < t.dgrams; i++) {
        CHECK_OK(t.verdict[i]);
    }
    CHECK_EQ(t.hellos, 1);
    CHECK_EQ(t.hellos_at_sh, 1);
    CHECK_EQ(p.l.st.refused[1], 0);
    check_keys_mirror(p.d[0], p.d[1]);
    link_pair_free(&p);
}

/* The damaged ClientHello gets no answer (bad_verdict: what the damaged datagram, index
 * bad_at in delivery order, earns); the client's retransmission then completes. */
static void expect_dropped_then_completes(frag_tap spec, size_t bad_at, dsrtp_err bad_verdict)
{
    dsrtp_dtls_cfg cfg[2];
    client_server_cfgs(&cfg[0], &cfg[1]);
    frag_tap t = spec;
    link_pair p;
    run_pair(&t, &cfg[0], &cfg[1], 10000, &p);
    CHECK_EQ(t.unexpected, 0);
    CHECK(bad_at < t.dgrams);
    for (size_t i = 0; i < t.dgrams; i++) {
        CHECK_ERR(t.verdict[i], i == bad_at ? bad_verdict : DSRTP_OK);
    }
    if (!link_both_connected(&p.l)) {
        fprintf(stderr, "  fault %d, delivery %d: '%s' / '%s'\n", (int)t.fault, (int)t.how,
                p.l.st.last_event[0].detail, p.l.st.last_event[1].detail);
    }
    CHECK(link_both_connected(&p.l));
    CHECK(t.hellos >= 2);
    CHECK(t.hellos_at_sh >= 2); /* answered only once the retransmission came */
    check_keys_mirror(p.d[0], p.d[1]);
    link_pair_free(&p);
}

/* ---- accepting: the same ClientHello, fragmented ---- */

/* 2 and 3 equal fragments, and one fragment per 50 bytes. */
static const frag_tap splits[] = {{.pieces = 2}, {.pieces = 3}, {.step = 50}};

static void complete_each_split(delivery how)
{
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        frag_tap spec = splits[i];
        spec.how = how;
        int before = check_failures_;
        expect_completes(spec);
        CHECK(check_failures_ == before);
    }
}

static void test_dtls_server_reassembles_client_hello_fragments_in_one_datagram(void)
{
    complete_each_split(ALL_IN_ONE);
}

static void test_dtls_server_reassembles_client_hello_fragments_one_per_datagram(void)
{
    complete_each_split(ONE_EACH);
}

static void test_dtls_server_reassembles_client_hello_fragments_arriving_in_reverse(void)
{
    complete_each_split(ONE_EACH_REVERSED);
}

/* The second fragment repeats the first one's last 10 bytes (RFC 6347 §4.2.3 allows
 * fragments to overlap; the content agrees). */
static void test_dtls_server_reassembles_overlapping_client_hello_fragments(void)
{
    const frag_tap specs[] = {
        {.pieces = 2, .overlap = 10, .how = ALL_IN_ONE},
        {.pieces = 2, .overlap = 10, .how = ONE_EACH},
        {.pieces = 2, .overlap = 10, .how = ONE_EACH_REVERSED},
        {.step = 50, .overlap = 10, .how = ONE_EACH},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        int before = check_failures_;
        expect_completes(specs[i]);
        CHECK(check_failures_ == before);
    }
}

/* ---- rejecting twins ---- */

/* Fragments of one message that disagree on its length cannot be reassembled into
 * anything, and OpenSSL 3.0 gives up the whole handshake at the second one (see record.c):
 * the datagram holding both is refused before OpenSSL sees it.
 * Not covered: the same disagreement spread over two datagrams. Each datagram is plausible on
 * its own, so the stateless check in record.c cannot see it, and today the server fails the
 * handshake ("protocol error") at the second datagram; refusing it needs the endpoint to
 * remember the length each message's first fragment stated. */
static void test_dtls_server_refuses_client_hello_fragments_disagreeing_on_length(void)
{
    frag_tap two = {.pieces = 2, .how = ALL_IN_ONE, .fault = FAULT_TOTAL_LEN};
    expect_dropped_then_completes(two, 0, DSRTP_ERR_MALFORMED);
    int before = check_failures_;
    frag_tap many = {.step = 50, .how = ALL_IN_ONE, .fault = FAULT_TOTAL_LEN};
    expect_dropped_then_completes(many, 0, DSRTP_ERR_MALFORMED);
    CHECK(check_failures_ == before);
}

static void test_dtls_server_refuses_client_hello_fragment_past_message_end(void)
{
    frag_tap one = {.pieces = 2, .how = ALL_IN_ONE, .fault = FAULT_PAST_END};
    expect_dropped_then_completes(one, 0, DSRTP_ERR_MALFORMED);
    int before = check_failures_;
    frag_tap each = {.pieces = 3, .how = ONE_EACH, .fault = FAULT_PAST_END};
    expect_dropped_then_completes(each, 2, DSRTP_ERR_MALFORMED);
    CHECK(check_failures_ == before);
}

static void test_dtls_server_refuses_datagram_with_truncated_record_among_fragments(void)
{
    frag_tap two = {.pieces = 2, .how = ALL_IN_ONE, .fault = FAULT_TRUNCATED};
    expect_dropped_then_completes(two, 0, DSRTP_ERR_MALFORMED);
    int before = check_failures_;
    frag_tap three = {.pieces = 3, .how = ALL_IN_ONE, .fault = FAULT_TRUNCATED};
    expect_dropped_then_completes(three, 0, DSRTP_ERR_MALFORMED);
    CHECK(check_failures_ == before);
}

/* ---- a ClientHello as large as a browser's ---- */

/* The length of our client's ClientHello message (its body, without headers). */
static size_t plain_hello_len(void)
{
    dsrtp_dtls_cfg c;
    dsrtp_dtls_cfg s;
    client_server_cfgs(&c, &s);
    dsrtp_dtls *d = NULL;
    uint8_t buf[LINK_MTU];
    dsrtp_dtls_output out = {0};
    hello h;
    size_t len = 0;
    if (dsrtp_dtls_new(&c, &d) == DSRTP_OK && dsrtp_dtls_start(d, link_now()) == DSRTP_OK &&
        dsrtp_dtls_poll_output(d, buf, sizeof buf, &out) == DSRTP_OK &&
        out.kind == DSRTP_OUT_DATAGRAM && parse_hello(buf, out.len, &h)) {
        len = h.len;
    }
    dsrtp_dtls_free(d);
    return len;
}

/* OpenSSL's client never sends a 1,400-byte ClientHello by itself, so the tap pads ours
 * with a padding extension to BIG_HELLO_DGRAM bytes once split in two ~700-byte fragments,
 * in one datagram and in two. The server hashes the padded message and the client the one
 * it sent, so their transcripts differ: what is proved is that the server takes the large
 * reassembled ClientHello and answers it with a ServerHello (type 2, epoch 0). The handshake
 * then fails, as it must: the client's CertificateVerify signs the other transcript, the
 * server finds a bad signature and alerts, and neither side holds keys. The next test
 * completes a large ClientHello in full. */
static void test_dtls_server_answers_padded_1400_byte_client_hello_in_two_fragments(void)
{
    size_t plain = plain_hello_len();
    CHECK(plain > 0);
    size_t pad = BIG_HELLO_DGRAM - 2 * (REC_HDR + HS_HDR) - plain - 4;
    CHECK(pad >= 1000 && pad <= 1300);
    const delivery hows[] = {ALL_IN_ONE, ONE_EACH};
    for (size_t i = 0; i < 2; i++) {
        dsrtp_dtls_cfg cfg[2];
        client_server_cfgs(&cfg[0], &cfg[1]);
        frag_tap t = {.pieces = 2, .how = hows[i], .pad = pad};
        link_pair p;
        run_pair(&t, &cfg[0], &cfg[1], SLOW_RTO, &p);
        CHECK_EQ(t.unexpected, 0);
        CHECK_EQ(t.frags, 2);
        CHECK_EQ(t.hello_len, plain + 4 + pad);
        if (hows[i] == ALL_IN_ONE) {
            CHECK_EQ(t.dgrams, 1);
            CHECK_EQ(t.max_dgram, BIG_HELLO_DGRAM);
        } else {
            CHECK_EQ(t.dgrams, 2);
            CHECK(t.max_dgram >= 700 && t.max_dgram < 750);
        }
        for (size_t k = 0; k < t.dgrams; k++) {
            CHECK_OK(t.verdict[k]);
        }
        CHECK_EQ(t.hellos_at_sh, 1); /* the padded ClientHello itself was answered */
        CHECK(!p.l.st.connected[0] && !p.l.st.connected[1]);
        CHECK_EQ(dsrtp_dtls_get_failure(p.d[1]), DSRTP_DTLS_FAIL_PROTOCOL);
        CHECK_EQ(dsrtp_dtls_get_failure(p.d[0]), DSRTP_DTLS_FAIL_ALERT);
        dsrtp_dtls_keys k;
        CHECK_ERR(dsrtp_dtls_get_keys(p.d[0], &k), DSRTP_ERR_INVALID_ARG);
        CHECK_ERR(dsrtp_dtls_get_keys(p.d[1], &k), DSRTP_ERR_INVALID_ARG);
        link_pair_free(&p);
    }
}

/* A large ClientHello the client itself sends, so that the transcript holds: an extension
 * the server does not know (a number from the private-use range 65280-65535 of the IANA
 * ExtensionType registry), added through the client certificate's SSL_CTX. */
#define BIG_EXT_TYPE 0xffce
static uint8_t big_ext[1400];
static size_t big_ext_len;

static int big_ext_add(SSL *s, unsigned int type, const unsigned char **out, size_t *outlen,
                       int *al, void *arg)
{
    (void)s;
    (void)type;
    (void)al;
    (void)arg;
    *out = big_ext;
    *outlen = big_ext_len;
    return 1;
}

static bool big_client_ready(void)
{
    static bool done;
    if (!done) {
        done = SSL_CTX_add_client_custom_ext(cert_big->ctx, BIG_EXT_TYPE, big_ext_add, NULL,
                                             NULL, NULL, NULL) == 1;
    }
    return done;
}

/* The client's own ClientHello of about 1,400 bytes (BIG_HELLO_DGRAM once split in two):
 * with the default 1,200-byte MTU OpenSSL fragments it by itself, two datagrams; with a
 * larger MTU it goes whole and the tap splits it into two ~700-byte fragments in one
 * datagram, as Chromium sends. Both complete, keys mirrored, no retransmission. */
static void test_dtls_handshake_completes_with_1400_byte_client_hello(void)
{
    size_t plain = plain_hello_len();
    CHECK(plain > 0);
    big_ext_len = BIG_HELLO_DGRAM - 2 * (REC_HDR + HS_HDR) - plain - 4;
    CHECK(big_ext_len >= 1000 && big_ext_len <= sizeof big_ext);
    for (size_t i = 0; i < big_ext_len; i++) {
        big_ext[i] = (uint8_t)(i * 131 + 7);
    }
    CHECK(big_client_ready());
    for (int split_by_tap = 0; split_by_tap < 2; split_by_tap++) {
        dsrtp_dtls_cfg cfg[2];
        client_server_cfgs(&cfg[0], &cfg[1]);
        cfg[0].cert = cert_big;
        if (split_by_tap) {
            cfg[0].mtu = 1500;
        }
        frag_tap t = split_by_tap ? (frag_tap){.pieces = 2, .how = ALL_IN_ONE}
                                  : (frag_tap){.passive = true};
        link_pair p;
        run_pair(&t, &cfg[0], &cfg[1], SLOW_RTO, &p);
        if (!link_both_connected(&p.l)) {
            fprintf(stderr, "  split by tap %d: '%s' / '%s'\n", split_by_tap,
                    p.l.st.last_event[0].detail, p.l.st.last_event[1].detail);
        }
        CHECK(link_both_connected(&p.l));
        CHECK_EQ(t.unexpected, 0);
        if (split_by_tap) {
            CHECK_EQ(t.hello_len, plain + 4 + big_ext_len);
            CHECK_EQ(t.max_dgram, BIG_HELLO_DGRAM);
            CHECK_OK(t.verdict[0]);
            CHECK_EQ(t.hellos, 1);
        } else {
            CHECK_EQ(t.client_frags, 2); /* OpenSSL's own fragments, two datagrams */
            CHECK_EQ(t.hellos, 2);
        }
        CHECK_EQ(t.hellos_at_sh, t.hellos);
        CHECK_EQ(p.l.st.refused[1], 0);
        int before = check_failures_;
        check_keys_mirror(p.d[0], p.d[1]);
        link_pair_free(&p);
        CHECK(check_failures_ == before);
    }
}

RUN_TESTS(TEST(test_dtls_server_reassembles_client_hello_fragments_in_one_datagram),
          TEST(test_dtls_server_reassembles_client_hello_fragments_one_per_datagram),
          TEST(test_dtls_server_reassembles_client_hello_fragments_arriving_in_reverse),
          TEST(test_dtls_server_reassembles_overlapping_client_hello_fragments),
          TEST(test_dtls_server_refuses_client_hello_fragments_disagreeing_on_length),
          TEST(test_dtls_server_refuses_client_hello_fragment_past_message_end),
          TEST(test_dtls_server_refuses_datagram_with_truncated_record_among_fragments),
          TEST(test_dtls_server_answers_padded_1400_byte_client_hello_in_two_fragments),
          TEST(test_dtls_handshake_completes_with_1400_byte_client_hello))
