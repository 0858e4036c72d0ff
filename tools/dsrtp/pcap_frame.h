/* Link, IP and UDP framing for `dsrtp pcap`: finds the UDP payload inside one captured
 * frame, and rebuilds the frame around a payload of another length with the IP and UDP
 * length fields and checksums fixed up. Every header is checked against the captured
 * length before it is read; a length field is believed only once it fits what is there.
 * Threading: pure functions, no state. */
#ifndef DSRTP_TOOL_PCAP_FRAME_H
#define DSRTP_TOOL_PCAP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest frame handled: libpcap's own ceiling on a snapshot length. */
#define PCAP_FRAME_MAX 262144u

/* "[ffff:...:ffff]:65535" plus a NUL. */
#define PCAP_FRAME_ADDR_MAX 56

/* What a frame turned out to be. Everything but PCAP_FRAME_UDP is copied through. */
typedef enum pcap_frame_kind {
    PCAP_FRAME_UDP,       /* a whole, unfragmented UDP datagram: the view is filled in */
    PCAP_FRAME_NOT_IP,    /* the link layer carries neither IPv4 nor IPv6 */
    PCAP_FRAME_NOT_UDP,   /* IP, but another protocol (or behind AH/ESP) */
    PCAP_FRAME_FRAGMENT,  /* an IP fragment: the UDP payload is not all in this frame */
    PCAP_FRAME_TRUNCATED, /* cut short by the capture's snapshot length */
    PCAP_FRAME_MALFORMED  /* headers whose lengths do not add up */
} pcap_frame_kind;

/* Where the UDP datagram sits inside a frame. Offsets count from the frame's first byte. */
typedef struct pcap_udp {
    int family; /* 4 or 6 */
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    size_t ip_off;      /* IPv4 or IPv6 header */
    size_t udp_off;     /* UDP header (after any IPv6 extension headers) */
    size_t payload_off; /* udp_off + 8 */
    size_t payload_len;
    size_t ip_end;      /* end of the IP datagram; link padding or FCS may follow */
    bool udp_csum_zero; /* an IPv4 datagram sent without a UDP checksum */
} pcap_udp;

/* True for the link types the parser understands (Ethernet, Linux SLL and SLL2, raw IP,
 * IPv4, IPv6, BSD loopback). Frames of other link types are all PCAP_FRAME_NOT_IP. */
bool pcap_frame_link_supported(int dlt);

/* Classifies one frame of link type dlt: caplen bytes were captured of a wirelen-byte
 * frame. *u is written only when PCAP_FRAME_UDP is returned. */
pcap_frame_kind pcap_frame_parse(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
                                 pcap_udp *u);

/* Writes into out the frame with its UDP payload replaced by payload_len bytes at payload:
 * the link header and any link trailer are kept, IPv4 total length and header checksum,
 * IPv6 payload length, UDP length and UDP checksum are rewritten (an IPv4 datagram that
 * had no UDP checksum keeps none). False when the result overflows a 16-bit length field
 * or out_cap; out is then unspecified. */
bool pcap_frame_rebuild(const uint8_t *frame, size_t caplen, const pcap_udp *u,
                        const uint8_t *payload, size_t payload_len, uint8_t *out,
                        size_t out_cap, size_t *out_len);

/* Formats the source (dst false) or destination address and port: "192.0.2.1:5004" or
 * "[2001:db8::1]:5004". buf holds at least PCAP_FRAME_ADDR_MAX bytes. */
void pcap_frame_addr(const pcap_udp *u, bool dst, char *buf, size_t cap);

#endif
