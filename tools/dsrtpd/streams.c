/* Stream sorting for bundled sides: see streams.h. */
#include <string.h>

#include "streams.h"

void gw_stream_map_init(gw_stream_map *m)
{
    memset(m, 0, sizeof *m);
    memset(m->pt_stream, GW_NO_STREAM, sizeof m->pt_stream);
    memset(m->ssrc_stream, GW_NO_STREAM, sizeof m->ssrc_stream);
}

void gw_stream_map_clear_pts(gw_stream_map *m)
{
    memset(m->pt_stream, GW_NO_STREAM, sizeof m->pt_stream);
}

void gw_stream_map_set_pt(gw_stream_map *m, unsigned pt, unsigned k)
{
    if (pt < sizeof m->pt_stream && k < GW_NO_STREAM && m->pt_stream[pt] == GW_NO_STREAM) {
        m->pt_stream[pt] = (uint8_t)k;
    }
}

unsigned gw_stream_map_ssrc(const gw_stream_map *m, uint32_t ssrc)
{
    for (unsigned i = 0; i < GW_SSRC_MAP; i++) {
        if (m->ssrc_stream[i] != GW_NO_STREAM && m->ssrc[i] == ssrc) {
            return m->ssrc_stream[i];
        }
    }
    return GW_NO_STREAM;
}

void gw_stream_map_learn(gw_stream_map *m, uint32_t ssrc, unsigned k)
{
    if (k >= GW_NO_STREAM) {
        return;
    }
    unsigned at = GW_SSRC_MAP; /* the SSRC's own entry, else a free one, else the oldest */
    for (unsigned i = 0; i < GW_SSRC_MAP && at == GW_SSRC_MAP; i++) {
        if (m->ssrc_stream[i] != GW_NO_STREAM && m->ssrc[i] == ssrc) {
            at = i;
        }
    }
    for (unsigned i = 0; i < GW_SSRC_MAP && at == GW_SSRC_MAP; i++) {
        if (m->ssrc_stream[i] == GW_NO_STREAM) {
            at = i;
        }
    }
    if (at == GW_SSRC_MAP) {
        at = m->ssrc_next;
        m->ssrc_next = (m->ssrc_next + 1) % GW_SSRC_MAP;
    }
    m->ssrc[at] = ssrc;
    m->ssrc_stream[at] = (uint8_t)k;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

unsigned gw_stream_map_rtp(const gw_stream_map *m, const uint8_t *p, size_t len)
{
    if (len < 12) {
        return GW_NO_STREAM;
    }
    unsigned k = m->pt_stream[p[1] & 0x7f];
    return k != GW_NO_STREAM ? k : gw_stream_map_ssrc(m, be32(p + 8));
}

unsigned gw_stream_map_rtcp(const gw_stream_map *m, const uint8_t *p, size_t len)
{
    enum { SR = 200, RR = 201, RTPFB = 205, PSFB = 206 };
    size_t off = 0;
    while (len - off >= 8) {
        const uint8_t *h = p + off;
        size_t plen = ((size_t)h[2] << 8 | h[3]) * 4 + 4;
        if (plen > len - off) {
            break;
        }
        unsigned reports = h[0] & 0x1fu;
        size_t about = 0; /* where the SSRC the packet is about sits; 0: none */
        if ((h[1] == RTPFB || h[1] == PSFB) && plen >= 12) {
            about = 8;
        } else if (h[1] == RR && reports > 0 && plen >= 12) {
            about = 8;
        } else if (h[1] == SR && reports > 0 && plen >= 32) {
            about = 28; /* after the 20 bytes of sender info */
        }
        unsigned k = about != 0 ? gw_stream_map_ssrc(m, be32(h + about)) : GW_NO_STREAM;
        if (k == GW_NO_STREAM && plen >= 8) { /* a 4-byte packet has no sender */
            k = gw_stream_map_ssrc(m, be32(h + 4));
        }
        if (k != GW_NO_STREAM) {
            return k;
        }
        off += plen;
    }
    return 0;
}
