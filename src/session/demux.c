/* The first-byte demultiplexer of RFC 7983 (STUN, DTLS, RTP/RTCP on one port), with RTP
 * told from RTCP by the second byte under rtcp-mux (RFC 5761 §4). */
#include <dsrtp/session.h>

dsrtp_demux_kind dsrtp_demux(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len == 0) {
        return DSRTP_DEMUX_OTHER;
    }
    uint8_t b = buf[0];
    if (b <= 3) {
        return DSRTP_DEMUX_STUN;
    }
    if (b >= 20 && b <= 63) {
        return DSRTP_DEMUX_DTLS;
    }
    if (b >= 128 && b <= 191) {
        if (len < 2) {
            return DSRTP_DEMUX_OTHER;
        }
        /* RTCP packet types 192..223 are RTP payload types 64..95 with the marker bit:
         * RFC 5761 keeps those payload types out of use. */
        return buf[1] >= 192 && buf[1] <= 223 ? DSRTP_DEMUX_RTCP : DSRTP_DEMUX_RTP;
    }
    return DSRTP_DEMUX_OTHER;
}
