/* Media for `dsrtp peer`: 20 ms PCMU packets carrying a 440 Hz tone (or silence, or the
 * payload last received when echoing) and RTCP sender reports. */
#include <math.h>
#include <string.h>

#include "peer.h"

#define PCMU_SAMPLES 160 /* 20 ms at 8 kHz */

/* G.711 mu-law encoding of one 16-bit linear sample. */
static uint8_t mulaw(int16_t sample)
{
    const int bias = 0x84;
    const int clip = 32635;
    int s = sample;
    int sign = s < 0 ? 0x80 : 0;
    if (s < 0) {
        s = -s;
    }
    if (s > clip) {
        s = clip;
    }
    s += bias;
    int exponent = 7;
    for (int mask = 0x4000; (s & mask) == 0 && exponent > 0; mask >>= 1) {
        exponent--;
    }
    int mantissa = (s >> (exponent + 3)) & 0x0f;
    return (uint8_t)~(sign | (exponent << 4) | mantissa);
}

size_t peer_make_rtp(peer *p, uint8_t *buf, size_t cap)
{
    size_t payload = PCMU_SAMPLES;
    if (p->o.echo) {
        if (!p->echo_pending) {
            return 0;
        }
        payload = p->echo_len;
    }
    if (cap < 12 + payload) {
        return 0;
    }
    buf[0] = 0x80;
    buf[1] = 0; /* PCMU */
    buf[2] = (uint8_t)(p->seq >> 8);
    buf[3] = (uint8_t)p->seq;
    for (int i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)(p->ts >> (24 - 8 * i));
        buf[8 + i] = (uint8_t)(p->ssrc >> (24 - 8 * i));
    }
    if (p->o.echo) {
        memcpy(buf + 12, p->echo_payload, payload);
        p->echo_pending = false;
    } else {
        for (size_t i = 0; i < payload; i++) {
            double v = p->o.tone ? 8000.0 * sin(2.0 * 3.14159265358979323846 * 440.0 * (p->phase + i) / 8000.0)
                                 : 0.0;
            buf[12 + i] = mulaw((int16_t)v);
        }
        p->phase = (p->phase + (uint32_t)payload) % 8000u;
    }
    p->seq++;
    p->ts += PCMU_SAMPLES;
    p->payload_octets += payload;
    p->packets_sent++;
    return 12 + payload;
}

size_t peer_make_sr(peer *p, uint8_t *buf, size_t cap, dsrtp_time now)
{
    if (cap < 28) {
        return 0;
    }
    /* RFC 3550 §6.4.1 SR without report blocks; the NTP time is the monotonic clock
     * (a test endpoint has no wall clock to agree on). */
    uint32_t ntp_sec = (uint32_t)(now / 1000000u);
    uint32_t ntp_frac = (uint32_t)(((now % 1000000u) << 32) / 1000000u);
    uint32_t words[6] = {p->ssrc, ntp_sec, ntp_frac, p->ts, p->packets_sent,
                         (uint32_t)p->payload_octets};
    buf[0] = 0x80;
    buf[1] = 200;
    buf[2] = 0;
    buf[3] = 6;
    for (int w = 0; w < 6; w++) {
        for (int i = 0; i < 4; i++) {
            buf[4 + 4 * w + i] = (uint8_t)(words[w] >> (24 - 8 * i));
        }
    }
    return 28;
}
