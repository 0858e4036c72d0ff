/* Fuzz target: the RFC 7983 demultiplexer on arbitrary bytes. Oracles: the verdict matches
 * the RFC 7983 / RFC 5761 table written out here, depends on the first two bytes only, and
 * agrees with the STUN codec (every Binding message is classed as STUN). Exact-size
 * copies make any read past the end an ASan report. */
#include <stdlib.h>
#include <string.h>

#include <dsrtp/session.h>

static dsrtp_demux_kind table(const uint8_t *p, size_t len)
{
    if (len == 0) {
        return DSRTP_DEMUX_OTHER;
    }
    if (p[0] <= 3) {
        return DSRTP_DEMUX_STUN;
    }
    if (p[0] >= 20 && p[0] <= 63) {
        return DSRTP_DEMUX_DTLS;
    }
    if (p[0] >= 128 && p[0] <= 191) {
        if (len < 2) {
            return DSRTP_DEMUX_OTHER;
        }
        return p[1] >= 192 && p[1] <= 223 ? DSRTP_DEMUX_RTCP : DSRTP_DEMUX_RTP;
    }
    return DSRTP_DEMUX_OTHER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsrtp_demux_kind k = dsrtp_demux(data, size);
    if (k != table(data, size)) {
        abort();
    }
    /* Only the first two bytes count: every prefix of two or more agrees. */
    for (size_t n = 0; n <= 2 && n <= size; n++) {
        uint8_t *copy = malloc(n > 0 ? n : 1);
        if (copy == NULL) {
            abort();
        }
        memcpy(copy, data, n);
        dsrtp_demux_kind kn = dsrtp_demux(copy, n);
        free(copy);
        if (kn != table(data, n) || (n == 2 && kn != k)) {
            abort();
        }
    }
    if (dsrtp_demux(NULL, size) != DSRTP_DEMUX_OTHER) {
        abort();
    }
    /* Every Binding message (all that ICE uses) must reach the STUN codec. Other 14-bit
     * message types may start with a byte up to 63, which RFC 7983 gives to DTLS. */
    dsrtp_stun_msg m;
    if (dsrtp_stun_parse(data, size, &m) == DSRTP_OK && m.method == DSRTP_STUN_METHOD_BINDING &&
        k != DSRTP_DEMUX_STUN) {
        abort();
    }
    if (dsrtp_stun_is_message(data, size) && data[0] <= 3 && k != DSRTP_DEMUX_STUN) {
        abort();
    }
    /* RTP and RTCP are version 2 with the first two bits 10. */
    if ((k == DSRTP_DEMUX_RTP || k == DSRTP_DEMUX_RTCP) && (data[0] >> 6) != 2) {
        abort();
    }
    return 0;
}
