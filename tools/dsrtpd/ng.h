/* The rtpengine "ng" control protocol, message layer: what Kamailio's and OpenSIPS's
 * rtpengine modules send to a media relay, and what the relay answers.
 *
 * A datagram is "<cookie> <bencoded dict>". The cookie is 1..DSRTPD_NG_MAX_COOKIE printable
 * non-space bytes; the reply repeats it. Requests carry "command" plus call identifiers,
 * an SDP body and option keys; dsrtpd_ng_parse turns them into a dsrtpd_ng_msg. Options
 * may also come as one "rtpp-flags" string (what Kamailio's rtpengine_manage() builds),
 * which maps onto the same struct. Anything not understood becomes a warning, never an
 * error: the daemon returns the warnings in the reply's "warning" key.
 *
 * Replies are "<cookie> d...e" with "result" first ("ok", "pong" or "error"); the builders
 * below write them into caller buffers. A fixed-size retransmission cache keyed by cookie
 * and source address returns the same reply bytes for a retransmitted request.
 *
 * Threading: no shared state; a dsrtpd_ng_msg or dsrtpd_ng_cache is single owner. */
#ifndef DSRTPD_NG_H
#define DSRTPD_NG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dsrtp/dsrtp.h>
#include <dsrtp/srtp.h>

#include "bencode.h"

#define DSRTPD_NG_MAX_COOKIE 64      /* bytes in a cookie */
#define DSRTPD_NG_MAX_DATAGRAM 65535 /* largest request parsed */
#define DSRTPD_NG_MAX_WARNINGS 16    /* further warnings only bump warnings_dropped */
#define DSRTPD_NG_MAX_DIRECTIONS 2   /* "direction" interface names */
#define DSRTPD_NG_MAX_LIST_ITEMS 64  /* items looked at in any one option list */

/** A borrowed byte span (not NUL-terminated). len 0 means absent. */
typedef struct dsrtpd_ng_str {
    const uint8_t *p;
    size_t len;
} dsrtpd_ng_str;

typedef enum dsrtpd_ng_cmd {
    DSRTPD_NG_CMD_UNKNOWN = 0, /* absent or not one of the below: answer with an error */
    DSRTPD_NG_CMD_PING,
    DSRTPD_NG_CMD_OFFER,
    DSRTPD_NG_CMD_ANSWER,
    DSRTPD_NG_CMD_DELETE,
    DSRTPD_NG_CMD_QUERY,
    DSRTPD_NG_CMD_LIST,
    DSRTPD_NG_CMD_STATISTICS
} dsrtpd_ng_cmd;

/** "transport-protocol": the media transport to put into the SDP sent onwards. */
typedef enum dsrtpd_ng_proto {
    DSRTPD_NG_PROTO_UNSET = 0,   /* keep what the other side offered */
    DSRTPD_NG_PROTO_RTP_AVP,
    DSRTPD_NG_PROTO_RTP_SAVP,
    DSRTPD_NG_PROTO_RTP_AVPF,
    DSRTPD_NG_PROTO_RTP_SAVPF,
    DSRTPD_NG_PROTO_UDP_TLS_RTP_SAVP,
    DSRTPD_NG_PROTO_UDP_TLS_RTP_SAVPF
} dsrtpd_ng_proto;

typedef enum dsrtpd_ng_ice {
    DSRTPD_NG_ICE_UNSET = 0,
    DSRTPD_NG_ICE_DEFAULT, /* "default": keep ICE if the offer had it */
    DSRTPD_NG_ICE_FORCE,   /* "force": add ICE (ICE-lite here) */
    DSRTPD_NG_ICE_REMOVE   /* "remove": strip ICE attributes */
} dsrtpd_ng_ice;

typedef enum dsrtpd_ng_dtls {
    DSRTPD_NG_DTLS_UNSET = 0,
    DSRTPD_NG_DTLS_OFF,     /* "off", "no", "disable" */
    DSRTPD_NG_DTLS_PASSIVE, /* "passive": answer as DTLS server (a=setup:passive) */
    DSRTPD_NG_DTLS_ACTIVE   /* "active": act as DTLS client (a=setup:active) */
} dsrtpd_ng_dtls;

/* "rtcp-mux" list items, as bits of dsrtpd_ng_msg.rtcp_mux. */
#define DSRTPD_NG_RTCPMUX_OFFER (1u << 0)
#define DSRTPD_NG_RTCPMUX_REQUIRE (1u << 1)
#define DSRTPD_NG_RTCPMUX_DEMUX (1u << 2)
#define DSRTPD_NG_RTCPMUX_ACCEPT (1u << 3)
#define DSRTPD_NG_RTCPMUX_REJECT (1u << 4)

/* "replace" list items, as bits of dsrtpd_ng_msg.replace. */
#define DSRTPD_NG_REPLACE_ORIGIN (1u << 0)
#define DSRTPD_NG_REPLACE_SESSION_CONNECTION (1u << 1) /* "session-connection" or with space */
#define DSRTPD_NG_REPLACE_SDP_VERSION (1u << 2)
#define DSRTPD_NG_REPLACE_USERNAME (1u << 3)
#define DSRTPD_NG_REPLACE_SESSION_NAME (1u << 4)

/* "flags" list items, as bits of dsrtpd_ng_msg.flags. */
#define DSRTPD_NG_FLAG_TRUST_ADDRESS (1u << 0)
#define DSRTPD_NG_FLAG_SYMMETRIC (1u << 1)
#define DSRTPD_NG_FLAG_ASYMMETRIC (1u << 2)
#define DSRTPD_NG_FLAG_LOOP_PROTECT (1u << 3)
#define DSRTPD_NG_FLAG_STRICT_SOURCE (1u << 4)
#define DSRTPD_NG_FLAG_MEDIA_HANDOVER (1u << 5)
#define DSRTPD_NG_FLAG_PORT_LATCHING (1u << 6)
#define DSRTPD_NG_FLAG_NO_PORT_LATCHING (1u << 7)
#define DSRTPD_NG_FLAG_GENERATE_MID (1u << 8)
#define DSRTPD_NG_FLAG_STRIP_EXTMAP (1u << 9)
#define DSRTPD_NG_FLAG_SIP_SOURCE_ADDRESS (1u << 10)
#define DSRTPD_NG_FLAG_RECORD_CALL (1u << 11)
#define DSRTPD_NG_FLAG_ALL (1u << 12)          /* delete: every branch of the call */
#define DSRTPD_NG_FLAG_FRAGMENT (1u << 13)
#define DSRTPD_NG_FLAG_RESET (1u << 14)
#define DSRTPD_NG_FLAG_NO_RTCP_ATTRIBUTE (1u << 15)
#define DSRTPD_NG_FLAG_FULL_RTCP_ATTRIBUTE (1u << 16)
#define DSRTPD_NG_FLAG_TRICKLE_ICE (1u << 17)
#define DSRTPD_NG_FLAG_UNIDIRECTIONAL (1u << 18)
#define DSRTPD_NG_FLAG_FATAL (1u << 19) /* delete: errors as errors (always so here) */

/** One warning: a static description plus the offending item (borrowed, may be empty). */
typedef struct dsrtpd_ng_warning {
    const char *what; /* static text, e.g. "unknown flag" */
    dsrtpd_ng_str item;
} dsrtpd_ng_warning;

/** A parsed request. Every dsrtpd_ng_str borrows the datagram; `dict` borrows the node
 *  arena too. Valid while both stay alive and unchanged. Absent strings have len 0. */
typedef struct dsrtpd_ng_msg {
    dsrtpd_ng_str cookie;
    dsrtpd_ng_cmd cmd;
    dsrtpd_ng_str command;     /* the command string as sent */
    dsrtpd_ng_str call_id;     /* "call-id" */
    dsrtpd_ng_str from_tag;    /* "from-tag" */
    dsrtpd_ng_str to_tag;      /* "to-tag" */
    dsrtpd_ng_str via_branch;  /* "via-branch" */
    dsrtpd_ng_str sdp;         /* "sdp" */
    dsrtpd_ng_str label;       /* "label" */
    dsrtpd_ng_str address_family;  /* "address family" / "address-family": "IP4" or "IP6" */
    dsrtpd_ng_str media_address;   /* "media address" / "media-address" */
    dsrtpd_ng_str received_from[2]; /* "received-from": [family, address] */
    dsrtpd_ng_str direction[DSRTPD_NG_MAX_DIRECTIONS];
    size_t n_direction;
    dsrtpd_ng_proto transport;
    dsrtpd_ng_ice ice;
    dsrtpd_ng_dtls dtls;
    bool sdes_off;             /* "SDES": "off" / "no" / "disable" */
    uint32_t sdes_no;          /* "no-<suite>": bit (1u << dsrtp_profile) per excluded suite */
    uint32_t sdes_only;        /* "only-<suite>": bit (1u << dsrtp_profile); 0 = no limit */
    uint32_t rtcp_mux;         /* DSRTPD_NG_RTCPMUX_* */
    uint32_t replace;          /* DSRTPD_NG_REPLACE_* */
    uint32_t flags;            /* DSRTPD_NG_FLAG_* */
    int64_t limit;             /* "limit" (list command); -1 when absent */
    int64_t delete_delay;      /* "delete delay" / "delete-delay" seconds; -1 when absent */
    const dsrtpd_ben_node *dict; /* the whole request dict, for keys not mapped here */
    dsrtpd_ng_warning warnings[DSRTPD_NG_MAX_WARNINGS];
    size_t n_warnings;
    size_t warnings_dropped;   /* warnings beyond DSRTPD_NG_MAX_WARNINGS */
} dsrtpd_ng_msg;

/** Parses one request datagram in[0..len) using nodes[0..cap) as the bencode arena
 *  (DSRTPD_NG_MAX_DATAGRAM / DSRTPD_BEN_MAX_NODES are the intended sizes). Trailing
 *  CR/LF after the dict is tolerated. in and nodes are borrowed by *msg afterwards.
 *  Always sets *reason to a static, NUL-terminated string ("ok" on success).
 *  Errors (the daemon answers each with an error reply if msg->cookie.len > 0; otherwise
 *  it drops the datagram, since there is no cookie to answer to):
 *   DSRTP_ERR_INVALID_ARG  NULL pointers;
 *   DSRTP_ERR_MALFORMED    bad or missing cookie, bad bencode, not a dict, missing command,
 *                          a required key missing (offer/answer: call-id, from-tag, sdp;
 *                          answer also to-tag; delete/query: call-id), a key of the wrong
 *                          type for a required field;
 *   DSRTP_ERR_UNSUPPORTED  a command this daemon does not know (msg->cmd is UNKNOWN).
 *  On error, msg->cookie is still set when a valid cookie was read; other fields are
 *  unspecified. Unknown keys, flags and option values become msg->warnings instead. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_parse(const uint8_t *in, size_t len,
                                           dsrtpd_ben_node *nodes, size_t cap,
                                           dsrtpd_ng_msg *msg, const char **reason);

/** Applies an rtpp-flags string (space-separated tokens such as
 *  "ICE=remove transport-protocol=RTP/AVP DTLS=off replace-origin rtcp-mux-demux SDES-off
 *  trust-address direction=pub") to msg, adding warnings for tokens it does not know.
 *  dsrtpd_ng_parse calls it for a "rtpp-flags" key; exposed for tests and the daemon.
 *  s is borrowed by msg (direction names and warnings point into it).
 *  Errors: DSRTP_ERR_INVALID_ARG (NULL msg, or s NULL with len > 0). */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_apply_rtpp_flags(dsrtpd_ng_msg *msg, const uint8_t *s,
                                                      size_t len);

/** Static name of a command ("offer", ...; "unknown"). Never NULL. */
const char *dsrtpd_ng_cmd_name(dsrtpd_ng_cmd cmd);
/** Static SDP spelling of a transport ("RTP/AVP", ...; "" for UNSET). Never NULL. */
const char *dsrtpd_ng_proto_name(dsrtpd_ng_proto p);

/** Joins msg's warnings into out as "what: item; what: item" (plus "; N more" when some
 *  were dropped), for the reply's "warning" key. Writes no NUL. *out_len 0 when none.
 *  DSRTP_ERR_BUFFER_TOO_SMALL: *out_len is the size needed, out unchanged. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_format_warnings(const dsrtpd_ng_msg *msg, uint8_t *out,
                                                     size_t cap, size_t *out_len);

/* ---- Replies ----
 * Every reply is "<cookie> d6:result<len>:<result>...e": result first, then the keys the
 * builder or caller adds, in the order written (not sorted; rtpengine's clients do not
 * care). Shapes the daemon should use with dsrtpd_ng_reply_begin/end:
 *   list:       result ok, "calls" -> list of call-id strings
 *   query:      result ok, "created" -> int (unix seconds), "last signal" -> int,
 *               "tags" -> dict tag -> dict { "tag", "created", "medias" list ... }
 *   statistics: result ok, "statistics" -> dict of totals (name -> int)
 *   delete:     result ok (optionally "created", "last signal")
 * On DSRTP_ERR_BUFFER_TOO_SMALL, *out_len holds the size needed; the fixed-shape builders
 * (ok, pong, error, list) leave buf untouched, while begin/end may leave a partial prefix
 * in it. A cookie of length 0 makes every builder fail with DSRTP_ERR_INVALID_ARG. */

/** Starts a reply in buf[0..cap): writes "<cookie> d", then "result" -> result (a C
 *  string, e.g. "ok"). The dict stays open: add keys with dsrtpd_ben_wr_* (key, then
 *  value), then call dsrtpd_ng_reply_end. buf is borrowed by w until then. */
void dsrtpd_ng_reply_begin(dsrtpd_ben_wr *w, uint8_t *buf, size_t cap, dsrtpd_ng_str cookie,
                           const char *result);

/** Closes the reply dict and finishes the writer; *out_len is the reply length.
 *  Errors as dsrtpd_ben_wr_finish. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_reply_end(dsrtpd_ben_wr *w, size_t *out_len);

/** "<cookie> d6:result2:ok[3:sdp<sdp>][7:warning<warning>]e". sdp and warning are
 *  optional (len 0 = left out). Errors: DSRTP_ERR_BUFFER_TOO_SMALL. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_reply_ok(uint8_t *buf, size_t cap, dsrtpd_ng_str cookie,
                                              dsrtpd_ng_str sdp, dsrtpd_ng_str warning,
                                              size_t *out_len);

/** "<cookie> d6:result4:ponge". Errors: DSRTP_ERR_BUFFER_TOO_SMALL. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_reply_pong(uint8_t *buf, size_t cap, dsrtpd_ng_str cookie,
                                                size_t *out_len);

/** "<cookie> d6:result5:error12:error-reason<reason>e" (reason: a C string).
 *  Errors: DSRTP_ERR_BUFFER_TOO_SMALL, DSRTP_ERR_INVALID_ARG (reason NULL). */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_reply_error(uint8_t *buf, size_t cap,
                                                 dsrtpd_ng_str cookie, const char *reason,
                                                 size_t *out_len);

/** "<cookie> d6:result2:ok5:callsl<ids...>ee": the list reply. Errors: BUFFER_TOO_SMALL,
 *  INVALID_ARG (ids NULL with n > 0). */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_reply_list(uint8_t *buf, size_t cap, dsrtpd_ng_str cookie,
                                                const dsrtpd_ng_str *ids, size_t n,
                                                size_t *out_len);

/* ---- Retransmission cache ----
 * SIP proxies resend a request when the reply is late; the same cookie then arrives again.
 * The cache maps (cookie, source address bytes) to the reply sent, for ttl microseconds,
 * so the daemon answers the resend without acting twice. Fixed size, allocated once:
 * when full, the oldest entry is replaced. Replies may hold SDES keys, so the cache wipes
 * reply bytes when an entry expires, is replaced, or the cache is freed. */
#define DSRTPD_NG_CACHE_DEFAULT_SLOTS 256
#define DSRTPD_NG_CACHE_DEFAULT_MAX_REPLY 16384
#define DSRTPD_NG_CACHE_DEFAULT_TTL (30ull * 1000000ull) /* 30 s */
#define DSRTPD_NG_CACHE_MAX_SRC 32 /* bytes of source address key (a sockaddr_in6 fits) */

typedef struct dsrtpd_ng_cache dsrtpd_ng_cache;

/** Allocates a cache of `slots` entries each holding replies up to max_reply bytes, which
 *  forgets entries ttl microseconds after they were stored. The caller frees it.
 *  Errors: DSRTP_ERR_INVALID_ARG (out NULL, slots 0 or > 65536, max_reply 0 or > 1 MiB,
 *  ttl 0), DSRTP_ERR_NO_MEMORY. */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_cache_new(size_t slots, size_t max_reply, dsrtp_time ttl,
                                               dsrtpd_ng_cache **out);

/** Releases the cache. NULL does nothing. */
void dsrtpd_ng_cache_free(dsrtpd_ng_cache *c);

/** Looks up a live entry for (cookie, src). src is an opaque blob (e.g. the sockaddr
 *  bytes; at most DSRTPD_NG_CACHE_MAX_SRC, may be NULL with src_len 0). On a hit returns
 *  true and sets *reply / *reply_len to the cached bytes, borrowed until the next
 *  put/free on the cache. Expired entries are forgotten, never returned. */
bool dsrtpd_ng_cache_get(dsrtpd_ng_cache *c, dsrtp_time now, dsrtpd_ng_str cookie,
                         const void *src, size_t src_len, const uint8_t **reply,
                         size_t *reply_len);

/** Stores a copy of reply for (cookie, src), replacing any entry with the same key, else
 *  the oldest or an expired one. Errors: DSRTP_ERR_INVALID_ARG (NULL pointers, empty or
 *  too-long cookie, src too long), DSRTP_ERR_BUFFER_TOO_SMALL (reply longer than the
 *  cache's max_reply: not stored). */
DSRTP_MUST_CHECK dsrtp_err dsrtpd_ng_cache_put(dsrtpd_ng_cache *c, dsrtp_time now,
                                               dsrtpd_ng_str cookie, const void *src,
                                               size_t src_len, const uint8_t *reply,
                                               size_t reply_len);

#endif
