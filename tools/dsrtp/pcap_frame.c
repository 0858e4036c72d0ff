/* Link, IP and UDP framing for `dsrtp pcap` (see pcap_frame.h).
 *
 * Bounds discipline: every read is preceded by a check of the form n <= len - pos, where
 * pos <= len already holds, so no sum can wrap. Length fields from the wire are compared
 * with what was captured before anything is located with them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

#include "pcap_frame.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETH_HEADER_LEN 14
#define VLAN_TAG_LEN 4
#define VLAN_MAX_TAGS 4 /* 802.1Q, 802.1ad and a little more; deeper stacks are refused */
#define SLL_HEADER_LEN 16
#define SLL2_HEADER_LEN 20
#define LOOP_HEADER_LEN 4
#define IPV4_MIN_HEADER 20
#define IPV6_HEADER_LEN 40
#define IPV6_MAX_EXT_HEADERS 8
#define UDP_HEADER_LEN 8
#define IPPROTO_NUM_UDP 17
#define IPV6_NH_HOPOPTS 0
#define IPV6_NH_ROUTING 43
#define IPV6_NH_FRAGMENT 44
#define IPV6_NH_DSTOPTS 60

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* A frame that ends before its headers say it should: cut by the snapshot length if less
 * was captured than was on the wire, otherwise simply malformed. */
static pcap_frame_kind short_frame(size_t caplen, size_t wirelen)
{
    return caplen < wirelen ? PCAP_FRAME_TRUNCATED : PCAP_FRAME_MALFORMED;
}

bool pcap_frame_link_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

/* BSD loopback address families: AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30
 * depending on the BSD that wrote the capture. */
static int loop_family(uint32_t af)
{
    if (af == 2) {
        return 4;
    }
    if (af == 24 || af == 28 || af == 30) {
        return 6;
    }
    return 0;
}

/* Finds the network-layer header: *off is its offset, *family 4, 6, or 0 when the frame
 * carries something else (family 0 with PCAP_FRAME_UDP returned means "not IP"). */
static pcap_frame_kind link_parse(int dlt, const uint8_t *f, size_t caplen, size_t wirelen,
                                  size_t *off, int *family)
{
    uint16_t ethertype = 0;
    *family = 0;
    switch (dlt) {
    case DLT_EN10MB: {
        size_t pos = ETH_HEADER_LEN;
        if (caplen < ETH_HEADER_LEN) {
            return short_frame(caplen, wirelen);
        }
        ethertype = be16(f + 12);
        /* 802.1Q (0x8100), 802.1ad (0x88a8) and the pre-standard QinQ 0x9100. */
        for (int tags = 0; ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100;
             tags++) {
            if (tags == VLAN_MAX_TAGS) {
                return PCAP_FRAME_NOT_IP;
            }
            if (VLAN_TAG_LEN > caplen - pos) {
                return short_frame(caplen, wirelen);
            }
            ethertype = be16(f + pos + 2);
            pos += VLAN_TAG_LEN;
        }
        *off = pos;
        break;
    }
    case DLT_LINUX_SLL:
        if (caplen < SLL_HEADER_LEN) {
            return short_frame(caplen, wirelen);
        }
        ethertype = be16(f + 14);
        *off = SLL_HEADER_LEN;
        break;
    case DLT_LINUX_SLL2:
        if (caplen < SLL2_HEADER_LEN) {
            return short_frame(caplen, wirelen);
        }
        ethertype = be16(f);
        *off = SLL2_HEADER_LEN;
        break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        if (caplen < 1) {
            return short_frame(caplen, wirelen);
        }
        *off = 0;
        *family = f[0] >> 4 == 4 ? 4 : f[0] >> 4 == 6 ? 6 : 0;
        return *family != 0 ? PCAP_FRAME_UDP : PCAP_FRAME_NOT_IP;
    case DLT_NULL:
    case DLT_LOOP: {
        if (caplen < LOOP_HEADER_LEN) {
            return short_frame(caplen, wirelen);
        }
        uint32_t big = ((uint32_t)f[0] << 24) | ((uint32_t)f[1] << 16) |
                       ((uint32_t)f[2] << 8) | f[3];
        uint32_t little = ((uint32_t)f[3] << 24) | ((uint32_t)f[2] << 16) |
                          ((uint32_t)f[1] << 8) | f[0];
        /* DLT_NULL is in the writer's byte order, which the file does not record. */
        *family = loop_family(big);
        if (*family == 0 && dlt == DLT_NULL) {
            *family = loop_family(little);
        }
        *off = LOOP_HEADER_LEN;
        return *family != 0 ? PCAP_FRAME_UDP : PCAP_FRAME_NOT_IP;
    }
    default:
        return PCAP_FRAME_NOT_IP;
    }
    if (ethertype == ETHERTYPE_IPV4) {
        *family = 4;
    } else if (ethertype == ETHERTYPE_IPV6) {
        *family = 6;
    } else {
        return PCAP_FRAME_NOT_IP;
    }
    return PCAP_FRAME_UDP;
}

/* The UDP header at udp_off must fill exactly the udp_room bytes the IP layer gave it. */
static pcap_frame_kind udp_parse(const uint8_t *f, size_t udp_off, size_t udp_room,
                                 pcap_udp *u)
{
    if (udp_room < UDP_HEADER_LEN || be16(f + udp_off + 4) != udp_room) {
        return PCAP_FRAME_MALFORMED;
    }
    u->udp_off = udp_off;
    u->sport = be16(f + udp_off);
    u->dport = be16(f + udp_off + 2);
    u->udp_csum_zero = be16(f + udp_off + 6) == 0;
    u->payload_off = udp_off + UDP_HEADER_LEN;
    u->payload_len = udp_room - UDP_HEADER_LEN;
    return PCAP_FRAME_UDP;
}

static pcap_frame_kind ipv4_parse(const uint8_t *f, size_t caplen, size_t wirelen, size_t off,
                                  pcap_udp *u)
{
    size_t avail = caplen - off;
    if (avail < IPV4_MIN_HEADER) {
        return short_frame(caplen, wirelen);
    }
    const uint8_t *ip = f + off;
    if (ip[0] >> 4 != 4) {
        return PCAP_FRAME_MALFORMED;
    }
    size_t ihl = 4u * (ip[0] & 0x0f);
    size_t total = be16(ip + 2);
    if (ihl < IPV4_MIN_HEADER || total < ihl) {
        return PCAP_FRAME_MALFORMED;
    }
    if (total > avail) {
        return short_frame(caplen, wirelen);
    }
    /* More-fragments flag or a non-zero offset: only part of the datagram is here. */
    if ((be16(ip + 6) & 0x3fff) != 0) {
        return PCAP_FRAME_FRAGMENT;
    }
    if (ip[9] != IPPROTO_NUM_UDP) {
        return PCAP_FRAME_NOT_UDP;
    }
    pcap_udp v = {0};
    v.family = 4;
    memcpy(v.src, ip + 12, 4);
    memcpy(v.dst, ip + 16, 4);
    v.ip_off = off;
    v.ip_end = off + total;
    pcap_frame_kind k = udp_parse(f, off + ihl, total - ihl, &v);
    if (k == PCAP_FRAME_UDP) {
        *u = v;
    }
    return k;
}

static pcap_frame_kind ipv6_parse(const uint8_t *f, size_t caplen, size_t wirelen, size_t off,
                                  pcap_udp *u)
{
    size_t avail = caplen - off;
    if (avail < IPV6_HEADER_LEN) {
        return short_frame(caplen, wirelen);
    }
    const uint8_t *ip = f + off;
    if (ip[0] >> 4 != 6) {
        return PCAP_FRAME_MALFORMED;
    }
    size_t plen = be16(ip + 4);
    if (plen > avail - IPV6_HEADER_LEN) {
        return short_frame(caplen, wirelen);
    }
    size_t end = IPV6_HEADER_LEN + plen; /* relative to ip, and <= avail */
    size_t pos = IPV6_HEADER_LEN;
    uint8_t nh = ip[6];
    for (int n = 0; nh != IPPROTO_NUM_UDP; n++) {
        if (nh == IPV6_NH_FRAGMENT) {
            return PCAP_FRAME_FRAGMENT;
        }
        if ((nh != IPV6_NH_HOPOPTS && nh != IPV6_NH_ROUTING && nh != IPV6_NH_DSTOPTS) ||
            n == IPV6_MAX_EXT_HEADERS) {
            return PCAP_FRAME_NOT_UDP;
        }
        if (end - pos < 2) {
            return PCAP_FRAME_MALFORMED;
        }
        size_t ext_len = 8u * ((size_t)ip[pos + 1] + 1);
        if (ext_len > end - pos) {
            return PCAP_FRAME_MALFORMED;
        }
        nh = ip[pos];
        pos += ext_len;
    }
    pcap_udp v = {0};
    v.family = 6;
    memcpy(v.src, ip + 8, 16);
    memcpy(v.dst, ip + 24, 16);
    v.ip_off = off;
    v.ip_end = off + end;
    pcap_frame_kind k = udp_parse(f, off + pos, end - pos, &v);
    if (k == PCAP_FRAME_UDP) {
        *u = v;
    }
    return k;
}

pcap_frame_kind pcap_frame_parse(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
                                 pcap_udp *u)
{
    size_t off = 0;
    int family = 0;
    if (frame == NULL || u == NULL) {
        return PCAP_FRAME_MALFORMED;
    }
    pcap_frame_kind k = link_parse(dlt, frame, caplen, wirelen, &off, &family);
    if (k != PCAP_FRAME_UDP) {
        return k;
    }
    if (off > caplen) {
        return short_frame(caplen, wirelen);
    }
    if (family == 4) {
        return ipv4_parse(frame, caplen, wirelen, off, u);
    }
    if (family == 6) {
        return ipv6_parse(frame, caplen, wirelen, off, u);
    }
    return PCAP_FRAME_NOT_IP;
}

/* RFC 1071 ones' complement sum, folded to 16 bits later; bytes pair up big-endian. */
static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; n - i >= 2; i += 2) {
        sum += be16(p + i);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if (i < n) {
        sum += (uint32_t)p[i] << 8;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

/* UDP checksum over the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1) pseudo-header. A result of
 * zero goes on the wire as 0xffff, since zero means "no checksum". */
static uint16_t udp_checksum(const pcap_udp *u, const uint8_t *udp, size_t udp_len)
{
    size_t alen = u->family == 4 ? 4 : 16;
    uint32_t sum = 0;
    sum = sum_bytes(sum, u->src, alen);
    sum = sum_bytes(sum, u->dst, alen);
    sum += IPPROTO_NUM_UDP;
    sum += (uint32_t)udp_len; /* <= 0xffff: checked by the caller */
    sum = sum_bytes(sum, udp, udp_len);
    uint16_t c = fold(sum);
    return c == 0 ? 0xffff : c;
}

bool pcap_frame_rebuild(const uint8_t *frame, size_t caplen, const pcap_udp *u,
                        const uint8_t *payload, size_t payload_len, uint8_t *out,
                        size_t out_cap, size_t *out_len)
{
    if (frame == NULL || u == NULL || out == NULL || out_len == NULL ||
        u->payload_off > u->ip_end || u->ip_end > caplen || payload_len > 0xffff) {
        return false;
    }
    size_t udp_len = UDP_HEADER_LEN + payload_len;
    size_t ip_len = (u->udp_off - u->ip_off) + udp_len; /* IPv4 total, IPv6 40 + payload */
    size_t trailer = caplen - u->ip_end;
    if (udp_len > 0xffff || (u->family == 4 && ip_len > 0xffff) ||
        (u->family == 6 && ip_len - IPV6_HEADER_LEN > 0xffff)) {
        return false;
    }
    if (u->payload_off > out_cap || payload_len > out_cap - u->payload_off ||
        trailer > out_cap - u->payload_off - payload_len) {
        return false;
    }
    memcpy(out, frame, u->payload_off);
    memcpy(out + u->payload_off, payload, payload_len);
    memcpy(out + u->payload_off + payload_len, frame + u->ip_end, trailer);

    uint8_t *ip = out + u->ip_off;
    uint8_t *udp = out + u->udp_off;
    if (u->family == 4) {
        size_t ihl = 4u * (ip[0] & 0x0f);
        put16(ip + 2, (uint16_t)ip_len);
        put16(ip + 10, 0);
        put16(ip + 10, fold(sum_bytes(0, ip, ihl)));
    } else {
        put16(ip + 4, (uint16_t)(ip_len - IPV6_HEADER_LEN));
    }
    put16(udp + 4, (uint16_t)udp_len);
    put16(udp + 6, 0);
    /* IPv4 may go without a UDP checksum and keeps doing so; IPv6 may not (RFC 8200). */
    if (u->family == 6 || !u->udp_csum_zero) {
        put16(udp + 6, udp_checksum(u, udp, udp_len));
    }
    *out_len = u->payload_off + payload_len + trailer;
    return true;
}

void pcap_frame_addr(const pcap_udp *u, bool dst, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    const uint8_t *a = dst ? u->dst : u->src;
    unsigned port = dst ? u->dport : u->sport;
    if (inet_ntop(u->family == 4 ? AF_INET : AF_INET6, a, ip, sizeof ip) == NULL) {
        snprintf(ip, sizeof ip, "?");
    }
    snprintf(buf, cap, u->family == 4 ? "%s:%u" : "[%s]:%u", ip, port);
}
