/* SDP for `dsrtp peer`: builds our offer or answer, reads the peer's, and turns the keying
 * decision into what the session needs. The SDP travels through files; they are written
 * atomically (write, then rename) so the peer never reads half a description. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dsrtp/util.h>

#include "peer.h"

int peer_write_file_atomic(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void ip_text(const dsrtp_addr *a, char *out, size_t cap)
{
    char full[DSRTP_ADDR_TEXT_MAX];
    if (dsrtp_addr_format(a, full, sizeof full) != DSRTP_OK) {
        snprintf(out, cap, "0.0.0.0");
        return;
    }
    /* Strip ":port" and IPv6 brackets. */
    char *colon = strrchr(full, ':');
    if (colon != NULL) {
        *colon = '\0';
    }
    if (full[0] == '[') {
        size_t n = strlen(full);
        full[n - 1] = '\0';
        snprintf(out, cap, "%s", full + 1);
    } else {
        snprintf(out, cap, "%s", full);
    }
}

static const char *proto_for(dsrtp_keying k)
{
    switch (k) {
    case DSRTP_KEYING_DTLS: return "UDP/TLS/RTP/SAVPF";
    case DSRTP_KEYING_SDES: return "RTP/SAVP";
    default: return "RTP/AVP";
    }
}

/* Writes the description to --local-sdp, then wipes the text (it may hold keys). */
static int publish(peer *p)
{
    char *text = malloc(PEER_SDP_MAX);
    size_t len = 0;
    if (text == NULL) {
        return -1;
    }
    int rc = -1;
    if (dsrtp_sdp_write(p->local_desc, text, PEER_SDP_MAX, &len) == DSRTP_OK) {
        rc = peer_write_file_atomic(p->o.local_sdp, text, len);
    }
    dsrtp_secure_wipe(text, PEER_SDP_MAX);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "peer: cannot write %s\n", p->o.local_sdp);
    }
    return rc;
}

static int fresh_sdes_key(dsrtp_profile prof, dsrtp_sdp_key *k)
{
    *k = (dsrtp_sdp_key){0};
    k->key_len = dsrtp_profile_key_len(prof);
    k->salt_len = dsrtp_profile_salt_len(prof);
    if (dsrtp_random_bytes(k->key, k->key_len) != DSRTP_OK ||
        dsrtp_random_bytes(k->salt, k->salt_len) != DSRTP_OK) {
        return -1;
    }
    return 0;
}

/* Builds our m-line and keying; setup and fingerprint hash come from the caller. */
static int build(peer *p, dsrtp_sdp_setup setup, dsrtp_hash hash, const char *mid,
                 bool rtcp_mux, const dsrtp_sdp_crypto *answer_crypto)
{
    char ip[64];
    ip_text(&p->local, ip, sizeof ip);
    uint64_t sess_id = 0;
    if (dsrtp_random_bytes(&sess_id, sizeof sess_id) != DSRTP_OK) {
        return -1;
    }
    sess_id &= 0x3fffffffffffffffULL;
    size_t m = 0;
    if (dsrtp_sdp_new(ip, sess_id, &p->local_desc) != DSRTP_OK ||
        dsrtp_sdp_add_media(p->local_desc, "audio", p->local.port, proto_for(p->o.keying), "0",
                            &m) != DSRTP_OK ||
        dsrtp_sdp_add_attr(p->local_desc, m, "rtpmap", "0 PCMU/8000") != DSRTP_OK ||
        dsrtp_sdp_add_attr(p->local_desc, m, "sendrecv", NULL) != DSRTP_OK ||
        (mid != NULL && dsrtp_sdp_add_attr(p->local_desc, m, "mid", mid) != DSRTP_OK) ||
        (rtcp_mux && dsrtp_sdp_add_attr(p->local_desc, m, "rtcp-mux", NULL) != DSRTP_OK)) {
        fprintf(stderr, "peer: cannot build SDP\n");
        return -1;
    }
    dsrtp_sdp_keying_attrs k = {0};
    dsrtp_fingerprint fp;
    dsrtp_sdp_crypto crypto[PEER_SDES_TAGS];
    dsrtp_sdp_candidate cand = {0};
    char port_text[8];
    if (p->o.keying == DSRTP_KEYING_DTLS) {
        if (dsrtp_cert_fingerprint(p->cert, hash, &fp) != DSRTP_OK) {
            return -1;
        }
        k.fingerprints = &fp;
        k.fingerprint_count = 1;
        k.setup = setup;
    } else if (p->o.keying == DSRTP_KEYING_SDES) {
        for (size_t i = 0; i < p->sdes_count; i++) {
            crypto[i] = (dsrtp_sdp_crypto){0};
            crypto[i].tag = answer_crypto != NULL ? answer_crypto->tag : (uint32_t)(i + 1);
            crypto[i].profile = p->sdes_profiles[i];
            crypto[i].key_count = 1;
            crypto[i].keys[0] = p->sdes_keys[i];
        }
        k.crypto = crypto;
        k.crypto_count = p->sdes_count;
    }
    /* ICE-lite credentials and our one host candidate: full-ICE peers (browsers, aiortc)
     * need them; another lite peer ignores them. */
    snprintf(port_text, sizeof port_text, "%u", p->local.port);
    cand.foundation = "1";
    cand.component = 1;
    cand.transport = "udp";
    cand.priority = 2130706431u;
    cand.address = ip;
    cand.port = p->local.port;
    cand.type = "host";
    k.ice_ufrag = p->ice_ufrag;
    k.ice_pwd = p->ice_pwd;
    k.ice_lite = true;
    k.candidates = &cand;
    k.candidate_count = 1;
    k.end_of_candidates = true;
    dsrtp_err err = dsrtp_sdp_set_keying(p->local_desc, m, &k);
    dsrtp_secure_wipe(crypto, sizeof crypto);
    if (err != DSRTP_OK) {
        fprintf(stderr, "peer: cannot write keying attributes: %s\n", dsrtp_strerror(err));
        return -1;
    }
    return 0;
}

int peer_load_remote(peer *p, double wait_seconds)
{
    dsrtp_time until = dsrtp_io_now() + (dsrtp_time)(wait_seconds * 1e6);
    for (;;) {
        FILE *f = fopen(p->o.remote_sdp, "rb");
        if (f != NULL) {
            char *text = malloc(PEER_SDP_MAX);
            size_t n = text != NULL ? fread(text, 1, PEER_SDP_MAX, f) : 0;
            fclose(f);
            dsrtp_sdp_error perr = {0};
            dsrtp_err err = text != NULL ? dsrtp_sdp_parse(text, n, &p->remote_desc, &perr)
                                         : DSRTP_ERR_NO_MEMORY;
            if (text != NULL) {
                dsrtp_secure_wipe(text, PEER_SDP_MAX);
                free(text);
            }
            if (err != DSRTP_OK) {
                fprintf(stderr, "peer: %s: line %zu: %s\n", p->o.remote_sdp, perr.line,
                        perr.reason != NULL ? perr.reason : dsrtp_strerror(err));
                return -1;
            }
            if (dsrtp_sdp_media_count(p->remote_desc) == 0) {
                fprintf(stderr, "peer: %s has no m-line\n", p->o.remote_sdp);
                return -1;
            }
            return 0;
        }
        if (dsrtp_io_now() > until) {
            fprintf(stderr, "peer: %s did not appear in time\n", p->o.remote_sdp);
            return -1;
        }
        /* Keep answering the port meanwhile: an early ClientHello or STUN check is held. */
        if (p->session != NULL) {
            uint8_t buf[2048];
            size_t len = 0;
            dsrtp_addr from;
            dsrtp_input in;
            while (dsrtp_udp_recv(p->udp, buf, sizeof buf, &len, &from) == DSRTP_OK) {
                dsrtp_err e = dsrtp_session_handle_datagram(p->session, dsrtp_io_now(), &from,
                                                            buf, len, &in);
                (void)e;
            }
            dsrtp_err ferr = DSRTP_OK;
            (void)dsrtp_io_flush(p->udp, p->session, peer_on_event, p, &ferr);
        }
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

static void trace_media(const peer *p, const char *what, const dsrtp_sdp_media *m)
{
    char fp[DSRTP_FINGERPRINT_TEXT_MAX] = "-";
    if (m->fingerprint_count > 0 &&
        dsrtp_fingerprint_format(&m->fingerprints[0], fp, sizeof fp) != DSRTP_OK) {
        snprintf(fp, sizeof fp, "?");
    }
    peer_trace(p, "%s: m=%s %u %s, c=%s, a=setup:%s, a=fingerprint:%s, %zu a=crypto, ICE %s%s",
               what, m->media, m->port, m->proto_text,
               m->connection.address != NULL ? m->connection.address : "-",
               m->setup != DSRTP_SDP_SETUP_NONE ? dsrtp_sdp_setup_name(m->setup) : "-", fp,
               m->crypto_count, m->ice_ufrag != NULL ? "yes" : "no",
               m->ice_lite ? " (lite)" : "");
}

static void policy_for(const peer *p, dsrtp_sdp_policy *pol)
{
    dsrtp_sdp_policy_init(pol);
    pol->keyings = (unsigned)p->o.keying;
    /* The descriptions travel through local files the operator controls. */
    pol->signalling_secure = true;
}

static void trace_decision(const peer *p)
{
    const dsrtp_sdp_decision *d = &p->decision;
    if (d->keying == DSRTP_KEYING_DTLS) {
        peer_trace(p, "keying: DTLS-SRTP, we are the DTLS %s (a=setup:%s)",
                   d->role == DSRTP_DTLS_CLIENT ? "client" : "server",
                   dsrtp_sdp_setup_name(d->local_setup));
    } else if (d->keying == DSRTP_KEYING_SDES) {
        peer_trace(p, "keying: SDES, suite %s (tag %u)", dsrtp_profile_name(d->sdes_profile),
                   d->sdes_tag);
    } else {
        peer_trace(p, "keying: none (plain RTP)");
    }
}

int peer_write_offer(peer *p)
{
    if (p->o.keying == DSRTP_KEYING_SDES) {
        p->sdes_profiles[0] = DSRTP_AES_CM_128_HMAC_SHA1_80;
        p->sdes_profiles[1] = DSRTP_AEAD_AES_128_GCM;
        p->sdes_count = 2;
        for (size_t i = 0; i < p->sdes_count; i++) {
            if (fresh_sdes_key(p->sdes_profiles[i], &p->sdes_keys[i]) != 0) {
                return -1;
            }
        }
    }
    if (build(p, DSRTP_SDP_SETUP_ACTPASS, DSRTP_HASH_SHA256, "0", true, NULL) != 0 ||
        publish(p) != 0) {
        return -1;
    }
    trace_media(p, "offer written", dsrtp_sdp_get_media(p->local_desc, 0));
    return 0;
}

int peer_read_answer(peer *p, dsrtp_session_remote *r)
{
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(p->remote_desc, 0);
    trace_media(p, "answer read", m);
    dsrtp_sdp_policy pol;
    policy_for(p, &pol);
    dsrtp_sdp_failure why = {0};
    dsrtp_err err = dsrtp_sdp_negotiate(&pol, DSRTP_SDP_OFFERER, m,
                                        dsrtp_sdp_get_media(p->local_desc, 0), &p->decision,
                                        &why);
    if (err != DSRTP_OK) {
        snprintf(p->fail_reason, sizeof p->fail_reason, "negotiation: %s",
                 why.reason != NULL ? why.reason : dsrtp_strerror(err));
        return -1;
    }
    trace_decision(p);
    return dsrtp_session_remote_from_sdp(m, &p->decision, true, r) == DSRTP_OK ? 0 : -1;
}

/* RFC 3264 §6: a stream we cannot take is answered with port 0, so that the offerer learns
 * at once instead of waiting for an answer that never comes. */
static void publish_rejection(peer *p, const dsrtp_sdp_media *offered)
{
    char ip[64];
    ip_text(&p->local, ip, sizeof ip);
    uint64_t sess_id = 0;
    size_t m = 0;
    dsrtp_sdp_free(p->local_desc);
    p->local_desc = NULL;
    if (dsrtp_random_bytes(&sess_id, sizeof sess_id) != DSRTP_OK ||
        dsrtp_sdp_new(ip, sess_id & 0x3fffffffffffffffULL, &p->local_desc) != DSRTP_OK ||
        dsrtp_sdp_add_media(p->local_desc, offered->media, 0, offered->proto_text,
                            offered->format_count > 0 ? offered->formats[0] : "0",
                            &m) != DSRTP_OK ||
        (offered->mid != NULL &&
         dsrtp_sdp_add_attr(p->local_desc, m, "mid", offered->mid) != DSRTP_OK) ||
        publish(p) != 0) {
        fprintf(stderr, "peer: cannot write an answer rejecting the stream\n");
        return;
    }
    peer_trace(p, "answer written: stream rejected (port 0)");
}

int peer_answer_offer(peer *p, dsrtp_session_remote *r)
{
    const dsrtp_sdp_media *m = dsrtp_sdp_get_media(p->remote_desc, 0);
    trace_media(p, "offer read", m);
    dsrtp_sdp_policy pol;
    policy_for(p, &pol);
    dsrtp_sdp_failure why = {0};
    dsrtp_err err = dsrtp_sdp_negotiate(&pol, DSRTP_SDP_ANSWERER, m, NULL, &p->decision, &why);
    if (err != DSRTP_OK) {
        snprintf(p->fail_reason, sizeof p->fail_reason, "negotiation: %s",
                 why.reason != NULL ? why.reason : dsrtp_strerror(err));
        publish_rejection(p, m);
        return -1;
    }
    /* Our media is PCMU, static payload type 0: answer only an offer that lists it (RFC 3264
     * §6.1: an answer holds no format the offer lacks). */
    bool pcmu = false;
    for (size_t i = 0; i < m->format_count; i++) {
        pcmu = pcmu || strcmp(m->formats[i], "0") == 0;
    }
    if (!pcmu) {
        snprintf(p->fail_reason, sizeof p->fail_reason,
                 "negotiation: the offer has no PCMU (payload type 0)");
        publish_rejection(p, m);
        return -1;
    }
    trace_decision(p);
    const dsrtp_sdp_crypto *offered = NULL;
    if (p->decision.keying == DSRTP_KEYING_SDES) {
        /* A fresh key of the chosen suite: never reuse the offer's (RFC 4568 §6.1). */
        p->sdes_profiles[0] = p->decision.sdes_profile;
        p->sdes_count = 1;
        if (fresh_sdes_key(p->decision.sdes_profile, &p->sdes_keys[0]) != 0) {
            return -1;
        }
        for (size_t i = 0; i < m->crypto_count; i++) {
            if (m->crypto[i].tag == p->decision.sdes_tag) {
                offered = &m->crypto[i];
            }
        }
    }
    if (build(p, p->decision.local_setup, p->decision.fingerprint_hash, m->mid, m->rtcp_mux,
              offered) != 0) {
        return -1;
    }
    /* Answer BUNDLE with BUNDLE when offered (RFC 8843), for our single m-line. */
    const dsrtp_sdp_session *rs = dsrtp_sdp_get_session(p->remote_desc);
    for (size_t g = 0; g < rs->group_count; g++) {
        if (strcmp(rs->groups[g].semantics, "BUNDLE") == 0 && m->mid != NULL) {
            char value[300];
            snprintf(value, sizeof value, "BUNDLE %s", m->mid);
            if (dsrtp_sdp_add_attr(p->local_desc, DSRTP_SDP_SESSION, "group", value) !=
                DSRTP_OK) {
                return -1;
            }
        }
    }
    if (dsrtp_session_remote_from_sdp(m, &p->decision, true, r) != DSRTP_OK ||
        publish(p) != 0) {
        return -1;
    }
    trace_media(p, "answer written", dsrtp_sdp_get_media(p->local_desc, 0));
    return 0;
}
