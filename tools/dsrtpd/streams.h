/* Sorting the media of a bundled side into the streams of a call (RFC 8843 §9: one
 * transport carries every m-line). RTP goes by payload type, each m-line's formats being
 * distinct (a browser makes them so), else by an SSRC already seen on a stream; RTCP by the
 * SSRCs its packets are about. The map is caller-owned, fixed in size; nothing here
 * allocates, locks or keeps a pointer to a packet. Single owner (the call's worker). */
#ifndef DSRTPD_STREAMS_H
#define DSRTPD_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#define GW_NO_STREAM 0xff
#define GW_SSRC_MAP 16 /* SSRCs remembered per call: the oldest entry goes when full */

typedef struct gw_stream_map {
    uint8_t pt_stream[128];           /* RTP payload type -> stream, or GW_NO_STREAM */
    uint32_t ssrc[GW_SSRC_MAP];       /* SSRCs seen in the call's RTP ... */
    uint8_t ssrc_stream[GW_SSRC_MAP]; /* ... and their streams (GW_NO_STREAM: free entry) */
    unsigned ssrc_next;               /* the entry replaced next when all are taken */
} gw_stream_map;

/** Empties the map: no payload type and no SSRC known. */
void gw_stream_map_init(gw_stream_map *m);
/** Forgets the payload types (the SSRCs stay). */
void gw_stream_map_clear_pts(gw_stream_map *m);
/** Payload type pt (0..127) belongs to stream k, unless a stream has it already (the first
 *  m-line listing a number keeps it). Out-of-range pt or k >= GW_NO_STREAM: ignored. */
void gw_stream_map_set_pt(gw_stream_map *m, unsigned pt, unsigned k);
/** The stream SSRC ssrc was seen on, or GW_NO_STREAM. */
unsigned gw_stream_map_ssrc(const gw_stream_map *m, uint32_t ssrc);
/** Notes that RTP with SSRC ssrc crossed on stream k (k < GW_NO_STREAM). */
void gw_stream_map_learn(gw_stream_map *m, uint32_t ssrc, unsigned k);
/** The stream of RTP packet p[0..len): by payload type, else by its SSRC; GW_NO_STREAM
 *  when neither is known or len < 12. Reads the fixed header only. */
unsigned gw_stream_map_rtp(const gw_stream_map *m, const uint8_t *p, size_t len);
/** The stream a compound RTCP packet p[0..len) is about: walking its packets in order, the
 *  first known SSRC among the media source of a feedback message (RFC 4585 §6.1) or the
 *  first report block of an SR/RR, then the packet's sender. 0 when none is known; a
 *  packet whose length runs past len ends the walk. */
unsigned gw_stream_map_rtcp(const gw_stream_map *m, const uint8_t *p, size_t len);

#endif
