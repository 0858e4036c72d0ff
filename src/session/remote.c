/* What a session needs to know of its peer, read from the peer's SDP m-line and the keying
 * decision dsrtp_sdp_negotiate made for it. */
#include <stdio.h>
#include <string.h>

#include <dsrtp/session.h>

#include "util/util_int.h"

dsrtp_err dsrtp_session_remote_from_sdp(const dsrtp_sdp_media *m, const dsrtp_sdp_decision *d,
                                        bool use_ice, dsrtp_session_remote *out)
{
    DSRTP_CHECK(m != NULL && d != NULL && out != NULL, DSRTP_ERR_INVALID_ARG);
    dsrtp_session_remote r = {0};
    const char *ip = m->connection.address;
    if (ip != NULL && m->port != 0) {
        char text[DSRTP_ADDR_TEXT_MAX + 8];
        int n = snprintf(text, sizeof text, strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip,
                         m->port);
        /* A host name or an over-long literal gives no address: media then waits for
         * ICE or for authenticated packets to latch onto. */
        r.has_addr = n > 0 && (size_t)n < sizeof text &&
                     dsrtp_addr_parse(text, (size_t)n, &r.addr) == DSRTP_OK;
    }
    r.dtls_role = d->role;
    for (size_t i = 0; i < d->remote_fingerprint_count && i < DSRTP_DTLS_MAX_FINGERPRINTS;
         i++) {
        r.fingerprints[r.fingerprint_count++] = d->remote_fingerprints[i];
    }
    if (use_ice && m->ice_ufrag != NULL && m->ice_pwd != NULL &&
        strlen(m->ice_ufrag) < DSRTP_ICE_CRED_MAX && strlen(m->ice_pwd) < DSRTP_ICE_CRED_MAX) {
        memcpy(r.ice_ufrag, m->ice_ufrag, strlen(m->ice_ufrag) + 1);
        memcpy(r.ice_pwd, m->ice_pwd, strlen(m->ice_pwd) + 1);
        r.ice_lite = m->ice_lite;
    }
    if (d->keying == DSRTP_KEYING_SDES) {
        DSRTP_CHECK(d->remote_key.key_len <= sizeof r.sdes_key &&
                        d->remote_key.salt_len <= sizeof r.sdes_salt &&
                        d->remote_key.mki_len <= sizeof r.sdes_mki,
                    DSRTP_ERR_INVALID_ARG);
        memcpy(r.sdes_key, d->remote_key.key, d->remote_key.key_len);
        memcpy(r.sdes_salt, d->remote_key.salt, d->remote_key.salt_len);
        memcpy(r.sdes_mki, d->remote_key.mki, d->remote_key.mki_len);
        r.sdes_mki_len = d->remote_key.mki_len;
    }
    *out = r;
    dsrtp_wipe(&r, sizeof r);
    return DSRTP_OK;
}
