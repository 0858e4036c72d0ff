/* STUN (RFC 8489) and an ICE-lite responder (RFC 8445 §2.5, consent freshness RFC 7675).
 *
 * Three parts, all sans-IO:
 *  - dsrtp_addr: a transport address (IPv4 or IPv6 plus port) and its text form, shared
 *    with the session layer;
 *  - the STUN codec: dsrtp_stun_parse turns one datagram into a dsrtp_stun_msg (checking
 *    FINGERPRINT when present), dsrtp_stun_check_integrity verifies MESSAGE-INTEGRITY with a
 *    short-term key, dsrtp_stun_write builds a message with integrity and fingerprint;
 *  - dsrtp_ice_lite: answers the peer's connectivity checks, learns the nominated address
 *    and watches consent. Datagrams and time go in; responses and events come out through
 *    poll_output, in the same shape as every other layer.
 *
 * Nothing here reads a clock or touches a socket. Threading: the address and codec
 * functions keep no state and are thread-safe; an agent has a single owner. */
#ifndef DSRTP_STUN_H
#define DSRTP_STUN_H

#include <dsrtp/dsrtp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- transport addresses ---- */

/** An IPv4 or IPv6 transport address. family is 4 or 6; port is in host byte order; ip
 *  holds 4 bytes (family 4, the rest zero) or 16 bytes (family 6) in network order.
 *  Plain data. */
typedef struct dsrtp_addr {
    uint8_t family;
    uint16_t port;
    uint8_t ip[16];
} dsrtp_addr;

/** Longest text dsrtp_addr_format writes, NUL included: "[" 39 "]:" 5 and the NUL. */
#define DSRTP_ADDR_TEXT_MAX 48

/** Parses "1.2.3.4:5" or "[2001:db8::1]:5" (len bytes, no NUL needed). IPv4 octets and the
 *  port are decimal without leading zeros; IPv6 takes the RFC 4291 text forms (one "::",
 *  an embedded dotted IPv4 tail), without a zone. *out is written only on success.
 *  DSRTP_ERR_MALFORMED for anything else; DSRTP_ERR_INVALID_ARG for NULL pointers. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_addr_parse(const char *text, size_t len,
                                                      dsrtp_addr *out);
/** Writes a as text plus a NUL into out: "1.2.3.4:5", or "[2001:db8::1]:5" in the RFC 5952
 *  canonical form (IPv4-mapped addresses as "[::ffff:1.2.3.4]:5"). DSRTP_ADDR_TEXT_MAX is
 *  always enough. DSRTP_ERR_BUFFER_TOO_SMALL when cap is short (out untouched);
 *  DSRTP_ERR_INVALID_ARG for NULL pointers or a family other than 4 or 6. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_addr_format(const dsrtp_addr *a, char *out,
                                                       size_t cap);
/** True when a and b have the same family, port and address bytes (the 4 bytes of an IPv4
 *  address only). False if either is NULL or has a family other than 4 or 6. */
DSRTP_API bool dsrtp_addr_equal(const dsrtp_addr *a, const dsrtp_addr *b);

/* ---- STUN codec ---- */

#define DSRTP_STUN_HEADER_LEN 20
#define DSRTP_STUN_MAGIC_COOKIE 0x2112A442u
#define DSRTP_STUN_TXID_LEN 12
#define DSRTP_STUN_INTEGRITY_LEN 20
/** Largest message parsed or written, header included. */
#define DSRTP_STUN_MAX_MESSAGE 1500
/** Most attributes in one message (every TLV counts, ignored ones included). */
#define DSRTP_STUN_MAX_ATTRS 32
/** Longest USERNAME value in bytes (RFC 8489 §14.3). */
#define DSRTP_STUN_MAX_USERNAME 513
/** Longest ERROR-CODE reason phrase in bytes (RFC 8489 §14.8). */
#define DSRTP_STUN_MAX_REASON 763

#define DSRTP_STUN_METHOD_BINDING 0x001

typedef enum dsrtp_stun_class {
    DSRTP_STUN_REQUEST = 0,
    DSRTP_STUN_INDICATION = 1,
    DSRTP_STUN_SUCCESS = 2,
    DSRTP_STUN_ERROR = 3
} dsrtp_stun_class;

/* Attribute types this codec understands. */
#define DSRTP_STUN_ATTR_USERNAME 0x0006
#define DSRTP_STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define DSRTP_STUN_ATTR_ERROR_CODE 0x0009
#define DSRTP_STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define DSRTP_STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define DSRTP_STUN_ATTR_PRIORITY 0x0024
#define DSRTP_STUN_ATTR_USE_CANDIDATE 0x0025
#define DSRTP_STUN_ATTR_FINGERPRINT 0x8028
#define DSRTP_STUN_ATTR_ICE_CONTROLLED 0x8029
#define DSRTP_STUN_ATTR_ICE_CONTROLLING 0x802A

/* Bits of dsrtp_stun_msg.has: which fields are meaningful. */
#define DSRTP_STUN_HAS_USERNAME (1u << 0)
#define DSRTP_STUN_HAS_PRIORITY (1u << 1)
#define DSRTP_STUN_HAS_USE_CANDIDATE (1u << 2)
#define DSRTP_STUN_HAS_ICE_CONTROLLING (1u << 3)
#define DSRTP_STUN_HAS_ICE_CONTROLLED (1u << 4)
#define DSRTP_STUN_HAS_XOR_MAPPED_ADDRESS (1u << 5)
#define DSRTP_STUN_HAS_ERROR_CODE (1u << 6)
#define DSRTP_STUN_HAS_UNKNOWN_ATTRIBUTES (1u << 7)
#define DSRTP_STUN_HAS_INTEGRITY (1u << 8)   /* parse only: MESSAGE-INTEGRITY was present */
#define DSRTP_STUN_HAS_FINGERPRINT (1u << 9) /* parse only: FINGERPRINT present and valid */

/** One STUN message as fields. dsrtp_stun_parse fills it; dsrtp_stun_write reads it.
 *  username and reason are borrowed: after a parse they point into the parsed buffer and
 *  are valid as long as it is; for a write the caller owns them. Plain data. */
typedef struct dsrtp_stun_msg {
    dsrtp_stun_class cls;
    uint16_t method; /* 12 bits; DSRTP_STUN_METHOD_BINDING */
    uint8_t txid[DSRTP_STUN_TXID_LEN];
    uint32_t has; /* DSRTP_STUN_HAS_* */
    const char *username;
    size_t username_len;
    uint32_t priority;
    uint64_t ice_controlling; /* tie-breaker */
    uint64_t ice_controlled;  /* tie-breaker */
    dsrtp_addr xor_mapped;
    uint16_t error_code; /* 300..699 */
    const char *reason;  /* UTF-8, not NUL-terminated */
    size_t reason_len;
    /* UNKNOWN-ATTRIBUTES contents (in a 420 response). */
    uint16_t unknown_attrs[DSRTP_STUN_MAX_ATTRS];
    size_t unknown_attrs_count;
    /* Parse only: comprehension-required types (< 0x8000) before MESSAGE-INTEGRITY that
     * this codec does not understand, in order of appearance. */
    uint16_t unhandled[DSRTP_STUN_MAX_ATTRS];
    size_t unhandled_count;
    /* Parse only: offset of the MESSAGE-INTEGRITY attribute in the parsed buffer. */
    size_t integrity_at;
} dsrtp_stun_msg;

/** Zeroes m and sets method Binding, class request. NULL is a no-op. */
DSRTP_API void dsrtp_stun_msg_init(dsrtp_stun_msg *m);

/** Cheap test for the demultiplexer: true when buf holds a whole STUN message by its
 *  header alone (top bits 00, magic cookie, a length field that is a multiple of 4 and
 *  matches len). Says nothing about the attributes. */
DSRTP_API bool dsrtp_stun_is_message(const uint8_t *buf, size_t len);

/** Parses one STUN message of exactly len bytes into *out (borrowing from buf, see
 *  dsrtp_stun_msg). Checks the header, every attribute's length and padding, the caps
 *  (DSRTP_STUN_MAX_MESSAGE, _MAX_ATTRS, _MAX_USERNAME, _MAX_REASON) and, when present, that
 *  FINGERPRINT is last and correct. Comprehension-optional attributes it does not know
 *  (>= 0x8000) are skipped; comprehension-required ones are listed in out->unhandled; after
 *  MESSAGE-INTEGRITY only FINGERPRINT is looked at (RFC 8489 §14.5). The first occurrence
 *  of a repeated attribute counts. MESSAGE-INTEGRITY is located, not verified: call
 *  dsrtp_stun_check_integrity. *out is written only on success.
 *  DSRTP_ERR_MALFORMED for anything that does not parse; DSRTP_ERR_AUTH for a FINGERPRINT
 *  mismatch; DSRTP_ERR_INVALID_ARG for NULL pointers. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_stun_parse(const uint8_t *buf, size_t len,
                                                      dsrtp_stun_msg *out);

/** Verifies the MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) of a message that
 *  dsrtp_stun_parse accepted into m from the same buf and len, under key (for short-term
 *  credentials and ICE: the password bytes). The comparison takes constant time.
 *  DSRTP_ERR_AUTH when the attribute is absent or does not match; DSRTP_ERR_MALFORMED when
 *  m does not describe buf; DSRTP_ERR_INVALID_ARG for NULL pointers. Nothing is kept. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_stun_check_integrity(const uint8_t *buf, size_t len,
                                                                const dsrtp_stun_msg *m,
                                                                const uint8_t *key,
                                                                size_t key_len);

/** Writes m into out: the header, then every attribute flagged in m->has in a fixed order
 *  (USERNAME, PRIORITY, ICE-CONTROLLING, ICE-CONTROLLED, USE-CANDIDATE, XOR-MAPPED-ADDRESS,
 *  ERROR-CODE, UNKNOWN-ATTRIBUTES), then MESSAGE-INTEGRITY keyed with key when key is not
 *  NULL, then FINGERPRINT when fingerprint is true. The unhandled list and the parse-only
 *  bits are ignored. *out_len is the message length.
 *  DSRTP_ERR_BUFFER_TOO_SMALL when cap is short (*out_len = the size needed, out
 *  untouched); DSRTP_ERR_INVALID_ARG for NULL pointers, a field outside its range (method
 *  over 12 bits, error code outside 300..699, a USERNAME or reason over its cap, an address
 *  family other than 4 or 6) or a message over DSRTP_STUN_MAX_MESSAGE. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_stun_write(const dsrtp_stun_msg *m,
                                                      const uint8_t *key, size_t key_len,
                                                      bool fingerprint, uint8_t *out,
                                                      size_t cap, size_t *out_len);

/* ---- ICE-lite agent ---- */

#define DSRTP_ICE_MIN_UFRAG 4
#define DSRTP_ICE_MAX_UFRAG 256
#define DSRTP_ICE_MIN_PWD 22
#define DSRTP_ICE_MAX_PWD 256
/** Lengths of generated credentials: 48 and 144 random bits (RFC 8445 §5.3 asks for at
 *  least 24 and 128). */
#define DSRTP_ICE_GEN_UFRAG_LEN 8
#define DSRTP_ICE_GEN_PWD_LEN 24
/** RFC 7675 §5.1: consent expires 30 s after the last valid check. */
#define DSRTP_ICE_DEFAULT_CONSENT_TIMEOUT 30000000u
/** Responses held until polled. Each answers a check and is normally polled out right
 *  after it, so a few cover a burst; a full queue drops the new response like a lost packet
 *  (the peer retransmits its check). Every slot costs ~170 bytes per agent. */
#define DSRTP_ICE_DEFAULT_QUEUE_DEPTH 4
#define DSRTP_ICE_MAX_QUEUE_DEPTH 256
/** Largest response the agent builds (a 420 listing DSRTP_STUN_MAX_ATTRS types). */
#define DSRTP_ICE_MAX_RESPONSE 256

/** Agent settings; start from dsrtp_ice_lite_cfg_init. Strings are NUL-terminated and
 *  copied by dsrtp_ice_lite_new (remote_pwd is only validated, see set_remote).
 *  Credentials use the ice-char set (ALPHA DIGIT + /). */
typedef struct dsrtp_ice_lite_cfg {
    const char *local_ufrag;    /* NULL: generate DSRTP_ICE_GEN_UFRAG_LEN random chars */
    const char *local_pwd;      /* NULL: generate DSRTP_ICE_GEN_PWD_LEN random chars */
    const char *remote_ufrag;   /* NULL: set later (dsrtp_ice_lite_set_remote) */
    const char *remote_pwd;     /* given with remote_ufrag */
    dsrtp_time consent_timeout; /* > 0; default DSRTP_ICE_DEFAULT_CONSENT_TIMEOUT */
    size_t queue_depth;         /* responses held; 1..DSRTP_ICE_MAX_QUEUE_DEPTH, default 4 */
} dsrtp_ice_lite_cfg;

/** Fills cfg with the defaults above (all credentials NULL). */
DSRTP_API void dsrtp_ice_lite_cfg_init(dsrtp_ice_lite_cfg *cfg);

typedef enum dsrtp_ice_event_kind {
    DSRTP_ICE_EV_SELECTED = 1, /* the peer nominated addr (first time, or a new address) */
    DSRTP_ICE_EV_CONSENT_LOST  /* no valid check for consent_timeout: stop sending */
} dsrtp_ice_event_kind;

typedef struct dsrtp_ice_event {
    dsrtp_ice_event_kind kind;
    dsrtp_addr addr; /* SELECTED: the new address; CONSENT_LOST: the selected one, or all
                      * zeros when nothing was selected */
} dsrtp_ice_event;

/** One poll_output result. kind is IDLE, DATAGRAM (len bytes in the caller's buffer go to
 *  `to`) or EVENT. Plain data. */
typedef struct dsrtp_ice_output {
    dsrtp_output_kind kind;
    size_t len;            /* DATAGRAM (and the size needed on BUFFER_TOO_SMALL) */
    dsrtp_addr to;         /* DATAGRAM */
    dsrtp_ice_event event; /* EVENT */
    dsrtp_time deadline;   /* IDLE: when to call handle_timeout (DSRTP_TIME_NEVER: never) */
} dsrtp_ice_output;

/** Counters for metrics; they never affect behaviour. */
typedef struct dsrtp_ice_stats {
    uint64_t checks_answered;    /* valid checks given a success response */
    uint64_t nominations;        /* checks with USE-CANDIDATE accepted */
    uint64_t role_conflicts;     /* 487 responses queued */
    uint64_t unknown_attributes; /* 420 responses queued */
    uint64_t dropped_malformed;  /* not STUN, or not a Binding request */
    uint64_t dropped_auth;       /* wrong or missing USERNAME / MESSAGE-INTEGRITY */
    uint64_t dropped_queue_full; /* valid checks whose response found no room */
    uint64_t restarts;           /* dsrtp_ice_lite_restart calls that took effect */
} dsrtp_ice_stats;

/** An ICE-lite agent for one media stream: always in the controlled role, never sends a
 *  check of its own. Threading: single owner (one thread at a time).
 *
 *  A Binding request is answered only when USERNAME is "<local ufrag>:<remote ufrag>" (the
 *  remote half checked once known) and MESSAGE-INTEGRITY verifies under the local password;
 *  FINGERPRINT is optional on input and always written on output. Requests failing that
 *  are dropped without an answer (no 400/401): an unauthenticated error reveals nothing a
 *  real peer needs (it has our credentials from SDP), and staying silent keeps the agent
 *  from reflecting traffic at spoofed sources. Authenticated requests get: 420 when they
 *  carry comprehension-required attributes we do not know; 487 when they carry
 *  ICE-CONTROLLED (a lite agent is always controlled, RFC 8445 §6.1.1, so it keeps its
 *  role whatever the tie-breakers: the full peer switches to controlling and retries);
 *  otherwise a success response with XOR-MAPPED-ADDRESS = the source address.
 *
 *  Nomination: a valid check with USE-CANDIDATE and ICE-CONTROLLING selects its source
 *  address; a later nomination from another address moves the selection. Events are
 *  flags, not a queue: moves between two polls come out as one SELECTED carrying the
 *  latest address, and memory stays fixed however many arrive. Consent: the
 *  timer starts with the first valid check; before a selection any valid check refreshes
 *  it, after one only checks from the selected address do. When it runs out the agent
 *  reports CONSENT_LOST and is finished: it answers nothing more (so the peer's own consent
 *  expires too) and only a new agent can follow. Before that, dsrtp_ice_lite_restart
 *  changes the credentials in place (an ICE restart, RFC 8445 §9). */
typedef struct dsrtp_ice_lite dsrtp_ice_lite;

/** Creates an agent from cfg (copied), generating the local credentials not given, with
 *  dsrtp_random_bytes. Allocates the response queue here; nothing allocates later.
 *  DSRTP_ERR_INVALID_ARG for a credential outside its length range or the ice-char set, a
 *  remote_pwd without remote_ufrag or the reverse, a zero timeout or a queue depth out of
 *  range; DSRTP_ERR_CRYPTO if the RNG fails; DSRTP_ERR_NO_MEMORY. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_ice_lite_new(const dsrtp_ice_lite_cfg *cfg,
                                                        dsrtp_ice_lite **out);
/** Wipes the passwords and frees the agent. NULL is a no-op. */
DSRTP_API void dsrtp_ice_lite_free(dsrtp_ice_lite *ice);

/** Sets the peer's a=ice-ufrag / a=ice-pwd when they were not in the config or changed.
 *  The remote ufrag is copied and checked against the second half of USERNAME from then on;
 *  the remote password is validated but not kept (a lite agent never signs with it).
 *  DSRTP_ERR_INVALID_ARG for credentials outside the ranges above (nothing changes). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_ice_lite_set_remote(dsrtp_ice_lite *ice,
                                                               const char *ufrag,
                                                               const char *pwd);

/** ICE restart (RFC 8445 §9): new local credentials (copied; NULL generates one, as in
 *  dsrtp_ice_lite_new) and the peer's new ones (copied; both NULL: not known yet, any remote
 *  ufrag is taken until dsrtp_ice_lite_set_remote). From then on only checks under the new
 *  credentials authenticate; the selected address, consent timer and queued responses stay,
 *  so media continues on the current path until a new check nominates. The old local
 *  password is wiped. DSRTP_ERR_INVALID_ARG for NULL ice or credentials outside the ranges
 *  above, DSRTP_ERR_CLOSED after consent was lost, DSRTP_ERR_CRYPTO if the RNG fails: nothing
 *  changes on any error. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_ice_lite_restart(dsrtp_ice_lite *ice,
                                                            const char *local_ufrag,
                                                            const char *local_pwd,
                                                            const char *remote_ufrag,
                                                            const char *remote_pwd);

/** The local a=ice-ufrag, NUL-terminated, owned by the agent and valid until
 *  dsrtp_ice_lite_free; a restart changes the text ("" for NULL). */
DSRTP_API const char *dsrtp_ice_lite_get_local_ufrag(const dsrtp_ice_lite *ice);
/** The local a=ice-pwd, NUL-terminated, owned by the agent and valid until
 *  dsrtp_ice_lite_free; a restart changes the text ("" for NULL). A secret: put it in SDP,
 *  never in a log. */
DSRTP_API const char *dsrtp_ice_lite_get_local_pwd(const dsrtp_ice_lite *ice);

/** Feeds one datagram received from `from` at time now (buf borrowed for the call only).
 *  Returns DSRTP_OK when it was a Binding request that was answered (success, 420 or 487;
 *  a response that found the queue full is counted and dropped like a lost packet) or a
 *  Binding indication (ignored); DSRTP_ERR_MALFORMED when it is not a STUN message;
 *  DSRTP_ERR_AUTH for a bad FINGERPRINT, USERNAME or MESSAGE-INTEGRITY; DSRTP_ERR_UNSUPPORTED
 *  for other well-formed STUN (responses, other methods). All three mean "dropped, nothing
 *  changed". DSRTP_ERR_CLOSED after consent was lost (fatal: free the agent);
 *  DSRTP_ERR_INVALID_ARG for NULL pointers or a from family other than 4 or 6. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_ice_lite_handle_datagram(dsrtp_ice_lite *ice,
                                                                    dsrtp_time now,
                                                                    const dsrtp_addr *from,
                                                                    const uint8_t *buf,
                                                                    size_t len);
/** Lets time pass: declares consent lost once consent_timeout has gone by without a valid
 *  check. Early calls are harmless. DSRTP_ERR_INVALID_ARG for NULL. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_ice_lite_handle_timeout(dsrtp_ice_lite *ice,
                                                                   dsrtp_time now);
/** Pulls the next output: events first (SELECTED, then CONSENT_LOST), then queued
 *  responses, then IDLE with the deadline. A response that does not fit cap stays queued:
 *  DSRTP_ERR_BUFFER_TOO_SMALL with out->len = the size needed (DSRTP_ICE_MAX_RESPONSE is
 *  always enough). Never moves time. DSRTP_ERR_INVALID_ARG for NULL pointers. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_ice_lite_poll_output(dsrtp_ice_lite *ice,
                                                                uint8_t *buf, size_t cap,
                                                                dsrtp_ice_output *out);
/** When handle_timeout should next be called, or DSRTP_TIME_NEVER (no check seen yet,
 *  consent already lost, or ice NULL). */
DSRTP_API dsrtp_time dsrtp_ice_lite_next_deadline(const dsrtp_ice_lite *ice);

/** Copies the selected (nominated) address into *out: true if there is one (it stays
 *  readable after consent is lost). False, *out untouched, otherwise or for NULL. */
DSRTP_API bool dsrtp_ice_lite_get_selected(const dsrtp_ice_lite *ice, dsrtp_addr *out);
/** True between the first valid check and the loss of consent; false for NULL. */
DSRTP_API bool dsrtp_ice_lite_has_consent(const dsrtp_ice_lite *ice);
/** Copies the counters into *out; does nothing for NULL. */
DSRTP_API void dsrtp_ice_lite_get_stats(const dsrtp_ice_lite *ice, dsrtp_ice_stats *out);

#ifdef __cplusplus
}
#endif

#endif
