/* SDP for media keying (RFC 8866, RFC 3264; keying attributes from RFC 4145, 5763, 4568,
 * 8122, 8839, 8840, 8842, 5761, 3605, 8843).
 *
 * A dsrtp_sdp is a whole session description kept as its lines: whatever the parser does not
 * understand (unknown attributes, b=, i=, fmtp, ssrc, ...) survives untouched, so writing a
 * parsed document gives back the input with every line ending turned into CRLF. Next to the
 * lines the document keeps a typed view of what keying needs, session level and per m-line,
 * rebuilt after every change; its strings and arrays are borrowed from the document.
 *
 * Builders modify a document in place (new m-lines, port/proto/address, keying attributes)
 * and check the result as the parser would: a call that fails leaves the document as it was.
 *
 * dsrtp_sdp_negotiate is the offer/answer keying policy in one function (DTLS-SRTP, SDES or
 * plain RTP; DTLS roles; SDES suite choice); dsrtp_sdp_dtls_restart says whether a re-offer
 * needs a new DTLS association.
 *
 * Secrets: a=crypto keys and a=ice-pwd. A document holding them wipes them in
 * dsrtp_sdp_free; the text dsrtp_sdp_write produces contains them, so wipe it when done.
 *
 * Threading: a document is single owner (one thread at a time); the const accessors may be
 * used from several threads at once while nobody modifies it. */
#ifndef DSRTP_SDP_H
#define DSRTP_SDP_H

#include <dsrtp/dsrtp.h>
#include <dsrtp/dtls.h>
#include <dsrtp/srtp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Caps: input beyond any of them is refused with an error naming the line, never cut. */
#define DSRTP_SDP_MAX_LINES 1024     /* lines in a document */
#define DSRTP_SDP_MAX_LINE_LEN 4096  /* bytes in one line, "x=" included, line end excluded */
#define DSRTP_SDP_MAX_MEDIA 16       /* m-lines */
#define DSRTP_SDP_MAX_ATTRS 256      /* a= lines in the session part or in one m-section */
#define DSRTP_SDP_MAX_CANDIDATES 64  /* a=candidate lines per m-section */
#define DSRTP_SDP_MAX_FINGERPRINTS DSRTP_DTLS_MAX_FINGERPRINTS /* per section */
#define DSRTP_SDP_MAX_CRYPTO 16      /* a=crypto lines per m-section */
#define DSRTP_SDP_MAX_KEY_PARAMS 4   /* key parameters in one a=crypto line */
#define DSRTP_SDP_MAX_FORMATS 64     /* formats on one m= line */
#define DSRTP_SDP_MAX_RTPMAPS 128    /* a=rtpmap lines per m-section */
#define DSRTP_SDP_MAX_GROUPS 8       /* a=group lines */
#define DSRTP_SDP_MAX_GROUP_MIDS DSRTP_SDP_MAX_MEDIA /* identification tags in one group */

/** Selects the session part where a function takes a section; media sections are 0, 1, ... */
#define DSRTP_SDP_SESSION ((size_t)-1)

/** A parsed or built session description. Threading: single owner (see above). */
typedef struct dsrtp_sdp dsrtp_sdp;

/** Where and why parsing failed: line is 1-based (0 when no line is to blame) and reason is
 *  static English text, e.g. "bad port on m= line". */
typedef struct dsrtp_sdp_error {
    size_t line;
    const char *reason;
} dsrtp_sdp_error;

/** Transport protocols on the m= line; anything else is OTHER, with the text kept. */
typedef enum dsrtp_sdp_proto {
    DSRTP_SDP_PROTO_OTHER = 0,
    DSRTP_SDP_PROTO_RTP_AVP,
    DSRTP_SDP_PROTO_RTP_AVPF,
    DSRTP_SDP_PROTO_RTP_SAVP,
    DSRTP_SDP_PROTO_RTP_SAVPF,
    DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVP,
    DSRTP_SDP_PROTO_UDP_TLS_RTP_SAVPF
} dsrtp_sdp_proto;

/** a=setup (RFC 4145); NONE when the attribute is absent. */
typedef enum dsrtp_sdp_setup {
    DSRTP_SDP_SETUP_NONE = 0,
    DSRTP_SDP_SETUP_ACTPASS,
    DSRTP_SDP_SETUP_ACTIVE,
    DSRTP_SDP_SETUP_PASSIVE,
    DSRTP_SDP_SETUP_HOLDCONN
} dsrtp_sdp_setup;

/** Direction attributes; NONE when absent (an m-line's effective direction is never NONE:
 *  it falls back to the session's, then to SENDRECV). */
typedef enum dsrtp_sdp_direction {
    DSRTP_SDP_DIR_NONE = 0,
    DSRTP_SDP_DIR_SENDRECV,
    DSRTP_SDP_DIR_SENDONLY,
    DSRTP_SDP_DIR_RECVONLY,
    DSRTP_SDP_DIR_INACTIVE
} dsrtp_sdp_direction;

typedef enum dsrtp_sdp_addr_family {
    DSRTP_SDP_ADDR_NONE = 0, /* no address given */
    DSRTP_SDP_ADDR_IP4,
    DSRTP_SDP_ADDR_IP6,
    DSRTP_SDP_ADDR_OTHER /* another network or address type; the text is kept */
} dsrtp_sdp_addr_family;

/** "IN IP4 192.0.2.1" as c=, o= and a=rtcp carry it. address is the literal or host name
 *  without any "/ttl" suffix (NULL when family is NONE). */
typedef struct dsrtp_sdp_addr {
    dsrtp_sdp_addr_family family;
    const char *address;
} dsrtp_sdp_addr;

/** One key parameter of an a=crypto line, decoded ("inline:KEY||SALT|2^31|1:4").
 *  A secret: the document wipes its copies when freed. */
typedef struct dsrtp_sdp_key {
    uint8_t key[DSRTP_SRTP_MAX_KEY_LEN];
    size_t key_len;
    uint8_t salt[DSRTP_SRTP_MAX_SALT_LEN];
    size_t salt_len;
    uint64_t lifetime; /* packets; 0 when not given */
    uint8_t mki[DSRTP_SRTP_MAX_MKI_LEN];
    size_t mki_len; /* 0: no MKI */
} dsrtp_sdp_key;

/** a=crypto (RFC 4568). A suite this library does not implement, a key method other than
 *  "inline", an MKI over DSRTP_SRTP_MAX_MKI_LEN bytes or a session parameter other than
 *  WSH= leaves the line kept but flagged: usable is false and no keys are decoded. */
typedef struct dsrtp_sdp_crypto {
    uint32_t tag;
    const char *suite;      /* as written, e.g. "AES_CM_128_HMAC_SHA1_80" */
    dsrtp_profile profile;  /* NONE for an unknown suite */
    bool usable;
    size_t key_count;       /* decoded key parameters (usable lines only) */
    dsrtp_sdp_key keys[DSRTP_SDP_MAX_KEY_PARAMS];
    const char *session_params; /* text after the key parameters; NULL when none */
} dsrtp_sdp_crypto;

/** a=candidate (RFC 8839 §5.1). The fields up to type are parsed; raw is the whole value
 *  after "candidate:" and extensions whatever follows typ/raddr/rport (NULL when none). */
typedef struct dsrtp_sdp_candidate {
    const char *foundation;
    uint32_t component;
    const char *transport; /* "UDP", "TCP", ... as written */
    uint32_t priority;
    const char *address;
    uint16_t port;
    const char *type;  /* "host", "srflx", "prflx", "relay", ... */
    const char *raddr; /* NULL when absent */
    uint16_t rport;    /* meaningful when raddr or has_rport */
    bool has_rport;
    const char *extensions;
    const char *raw;
} dsrtp_sdp_candidate;

/** a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]. */
typedef struct dsrtp_sdp_rtpmap {
    uint8_t payload_type;
    const char *encoding;
    uint32_t clock_rate;
    uint32_t channels; /* 0 when not given */
} dsrtp_sdp_rtpmap;

/** a=group (RFC 5888), e.g. BUNDLE with its identification tags (a=mid values). */
typedef struct dsrtp_sdp_group {
    const char *semantics;
    const char *const *mids;
    size_t mid_count;
} dsrtp_sdp_group;

/** The session part: origin, name, and session-level keying attributes as written there. */
typedef struct dsrtp_sdp_session {
    const char *origin_username;
    const char *origin_sess_id;      /* digits, kept as text (may exceed 64 bits) */
    const char *origin_sess_version; /* digits, as text */
    dsrtp_sdp_addr origin_address;
    const char *name;                /* s= */
    dsrtp_sdp_addr connection;       /* session-level c=; NONE when absent */
    const dsrtp_fingerprint *fingerprints;
    size_t fingerprint_count;
    size_t unsupported_fingerprints; /* a=fingerprint lines with an unknown hash, skipped */
    dsrtp_sdp_setup setup;
    const char *tls_id;              /* NULL when absent; likewise below */
    const char *ice_ufrag;
    const char *ice_pwd;             /* a secret */
    const char *ice_options;
    bool ice_lite;
    bool end_of_candidates;
    dsrtp_sdp_direction direction;
    const dsrtp_sdp_group *groups;
    size_t group_count;
} dsrtp_sdp_session;

/** One m-line with its effective keying: media-level values where given, otherwise the
 *  session-level ones (fingerprints as a set, setup, tls-id, ICE credentials and options,
 *  ice-lite, end-of-candidates, direction, connection address). */
typedef struct dsrtp_sdp_media {
    const char *media;       /* "audio", "video", "application", ... */
    uint16_t port;
    uint16_t port_count;     /* 1 unless "<port>/<count>" */
    dsrtp_sdp_proto proto;
    const char *proto_text;  /* as written */
    const char *const *formats;
    size_t format_count;
    dsrtp_sdp_addr connection;
    bool connection_from_session;
    const dsrtp_fingerprint *fingerprints;
    size_t fingerprint_count;
    size_t unsupported_fingerprints;
    bool fingerprints_from_session;
    dsrtp_sdp_setup setup;
    const char *tls_id;
    const dsrtp_sdp_crypto *crypto; /* a secret: holds the offered keys */
    size_t crypto_count;
    const char *ice_ufrag;
    const char *ice_pwd; /* a secret */
    const char *ice_options;
    bool ice_lite;
    const dsrtp_sdp_candidate *candidates;
    size_t candidate_count;
    bool end_of_candidates;
    bool has_rtcp;           /* a=rtcp given */
    uint16_t rtcp_port;
    dsrtp_sdp_addr rtcp_address; /* NONE when a=rtcp has no address */
    bool rtcp_mux;
    const char *mid;         /* NULL when absent */
    dsrtp_sdp_direction direction;
    const dsrtp_sdp_rtpmap *rtpmaps;
    size_t rtpmap_count;
} dsrtp_sdp_media;

/* ---- parse, write, inspect ---- */

/** Parses a whole session description of len bytes (lines end in LF or CRLF; a missing
 *  final line end and trailing empty lines are accepted). On success *out is a new document
 *  the caller frees with dsrtp_sdp_free. DSRTP_ERR_MALFORMED when the text is not valid SDP,
 *  a known attribute does not parse or a cap is exceeded: *err (if not NULL) then names the
 *  line and the reason. DSRTP_ERR_NO_MEMORY, DSRTP_ERR_INVALID_ARG. text is borrowed for
 *  the call only. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_parse(const char *text, size_t len,
                                                     dsrtp_sdp **out, dsrtp_sdp_error *err);
/** Wipes every line and decoded key (a=crypto, a=ice-pwd), then frees. NULL does nothing. */
DSRTP_API void dsrtp_sdp_free(dsrtp_sdp *sdp);
/** Makes an independent copy of a document; the caller frees it. DSRTP_ERR_NO_MEMORY. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_clone(const dsrtp_sdp *sdp, dsrtp_sdp **out);

/** Writes the document as text, every line ended by CRLF, followed by a NUL. *out_len is
 *  the text length without the NUL. DSRTP_ERR_BUFFER_TOO_SMALL when out_cap is short: then
 *  *out_len is the room needed (NUL included) and out is untouched. The text holds any keys
 *  and ICE password of the document: wipe it when done. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_write(const dsrtp_sdp *sdp, char *out,
                                                     size_t out_cap, size_t *out_len);

/** The session part's view; borrowed, valid until the document is next modified or freed. */
DSRTP_API const dsrtp_sdp_session *dsrtp_sdp_get_session(const dsrtp_sdp *sdp);
/** Number of m-lines. */
DSRTP_API size_t dsrtp_sdp_media_count(const dsrtp_sdp *sdp);
/** The view of m-line i (0-based), or NULL when i is out of range. Borrowed as above. */
DSRTP_API const dsrtp_sdp_media *dsrtp_sdp_get_media(const dsrtp_sdp *sdp, size_t i);
/** The value of the nth (0-based) "a=name[:value]" line of a section (DSRTP_SDP_SESSION or
 *  an m-line index), known attributes and unknown ones alike: "" for a flag attribute,
 *  NULL when there is no such line. Borrowed as above. */
DSRTP_API const char *dsrtp_sdp_find_attr(const dsrtp_sdp *sdp, size_t section,
                                          const char *name, size_t nth);

/** The SDP spelling of a proto ("UDP/TLS/RTP/SAVPF"); "" for OTHER. Static text. */
DSRTP_API const char *dsrtp_sdp_proto_name(dsrtp_sdp_proto p);
/** "actpass", "active", "passive", "holdconn"; "" for NONE. Static text. */
DSRTP_API const char *dsrtp_sdp_setup_name(dsrtp_sdp_setup s);
/** "sendrecv", "sendonly", "recvonly", "inactive"; "" for NONE. Static text. */
DSRTP_API const char *dsrtp_sdp_direction_name(dsrtp_sdp_direction d);

/* ---- build and modify ----
 * Every builder checks its result the way dsrtp_sdp_parse would; when it fails (invalid
 * text, a cap exceeded) it returns DSRTP_ERR_INVALID_ARG and the document is unchanged.
 * DSRTP_ERR_NO_MEMORY likewise leaves it unchanged. Views obtained before a successful
 * call are invalid afterwards. */

/** Creates a minimal document: "v=0", "o=- <sess_id> 1 IN IP4|IP6 <address>", "s=-",
 *  "c=IN IP4|IP6 <address>", "t=0 0" (IP6 when address contains ':'). The caller frees it.
 *  address is copied. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_new(const char *address, uint64_t sess_id,
                                                   dsrtp_sdp **out);
/** Rewrites the o= line with a new session version and address (username and session id
 *  are kept), as a re-offer or a gateway rewriting for its own side needs. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_origin(dsrtp_sdp *sdp, uint64_t sess_version,
                                                          const char *address);
/** Replaces the first line of the given type in a section with "type=value", or inserts one
 *  where RFC 8866 orders it. For i, u, e, p, b, t, r, z, k, s, c; a= and m= lines have their
 *  own functions. value is copied. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_line(dsrtp_sdp *sdp, size_t section,
                                                        char type, const char *value);
/** Appends an m-line "m=<media> <port> <proto> <formats>" (formats: space-separated, at
 *  least one). *index (if not NULL) receives its index. Strings are copied. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_add_media(dsrtp_sdp *sdp, const char *media,
                                                         uint16_t port, const char *proto,
                                                         const char *formats, size_t *index);
/** Sets the port of m-line i (0 rejects or disables the stream); a "/count" is dropped. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_port(dsrtp_sdp *sdp, size_t i,
                                                        uint16_t port);
/** Sets the proto of m-line i, e.g. dsrtp_sdp_proto_name(DSRTP_SDP_PROTO_RTP_AVP). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_proto(dsrtp_sdp *sdp, size_t i,
                                                         const char *proto);
/** Sets the c= address of a section (IP6 when address contains ':'), replacing its c= line
 *  or adding one. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_connection(dsrtp_sdp *sdp, size_t section,
                                                              const char *address);
/** Appends "a=name" (value NULL) or "a=name:value" to a section. Copied. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_add_attr(dsrtp_sdp *sdp, size_t section,
                                                        const char *name, const char *value);
/** Removes every "a=name..." line of a section; *removed (if not NULL) gets the count.
 *  Removing nothing is not an error. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_remove_attr(dsrtp_sdp *sdp, size_t section,
                                                           const char *name, size_t *removed);
/** Sets the direction attribute of a section (NONE removes it). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_direction(dsrtp_sdp *sdp, size_t section,
                                                             dsrtp_sdp_direction dir);

/** Transport of one m-line for dsrtp_sdp_set_transport. */
typedef struct dsrtp_sdp_transport {
    uint16_t port;
    const char *proto;   /* NULL keeps the current one */
    const char *address; /* media-level c=; NULL keeps the current one */
    bool rtcp_mux;       /* write a=rtcp-mux, or remove it */
} dsrtp_sdp_transport;

/** Rewrites the transport of m-line i in one step: port and proto on the m= line, its c=
 *  line, a=rtcp-mux as asked; every a=rtcp line goes (it named the old port). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_transport(dsrtp_sdp *sdp, size_t i,
                                                             const dsrtp_sdp_transport *t);

/** The keying attributes dsrtp_sdp_set_keying writes; zero/NULL fields write nothing.
 *  Borrowed for the call. For crypto, each entry's tag, profile and keys[0..key_count)
 *  (key, salt, lifetime, MKI) are written, with session_params when not NULL; suite and
 *  usable are ignored. For candidates, foundation .. type, raddr/rport and extensions are
 *  written; raw is ignored. */
typedef struct dsrtp_sdp_keying_attrs {
    const dsrtp_fingerprint *fingerprints;
    size_t fingerprint_count;
    dsrtp_sdp_setup setup;
    const char *tls_id;
    const dsrtp_sdp_crypto *crypto;
    size_t crypto_count;
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *ice_options;
    bool ice_lite; /* written at session level (RFC 8839 §5.3) */
    const dsrtp_sdp_candidate *candidates;
    size_t candidate_count;
    bool end_of_candidates;
} dsrtp_sdp_keying_attrs;

/** Replaces the keying of m-line i: removes its a=fingerprint, setup, tls-id, crypto,
 *  ice-* (ufrag, pwd, options, lite, ...), candidate, remote-candidates and
 *  end-of-candidates lines, and the same lines from the session part (they were the old
 *  author's and would otherwise still apply to this m-line), then appends the lines k
 *  describes to m-line i. Call it for every m-line you keep. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_set_keying(dsrtp_sdp *sdp, size_t i,
                                                          const dsrtp_sdp_keying_attrs *k);

/* ---- offer/answer keying policy ---- */

/** Keying methods, as a bitmask of what is acceptable and as a single decided value. */
typedef enum dsrtp_keying {
    DSRTP_KEYING_DTLS = 1u << 0, /* DTLS-SRTP, RFC 5763/5764 */
    DSRTP_KEYING_SDES = 1u << 1, /* a=crypto, RFC 4568 */
    DSRTP_KEYING_NONE = 1u << 2  /* plain RTP */
} dsrtp_keying;

/** "dtls", "sdes", "none"; "" for anything else. Static text. */
DSRTP_API const char *dsrtp_keying_name(dsrtp_keying k);

/** Which side of the exchange we are: answering a remote offer, or reading the remote
 *  answer to our own offer. */
typedef enum dsrtp_sdp_side {
    DSRTP_SDP_ANSWERER = 0,
    DSRTP_SDP_OFFERER
} dsrtp_sdp_side;

/** What we accept. Start from dsrtp_sdp_policy_init. Plain data; copy freely. */
typedef struct dsrtp_sdp_policy {
    unsigned keyings;         /* DSRTP_KEYING_* bits; nothing outside them is ever chosen */
    bool signalling_secure;   /* the SDP travelled over TLS/WSS/HTTPS end to end */
    bool allow_insecure_sdes; /* accept SDES keys that crossed an insecure path anyway */
    dsrtp_profile sdes_suites[DSRTP_PROFILE_COUNT]; /* our SDES suites (a set) */
    size_t sdes_suite_count;
} dsrtp_sdp_policy;

/** Defaults: DTLS only; signalling insecure; SDES not allowed over it; all six profiles as
 *  SDES suites (used only if the caller enables SDES). */
DSRTP_API void dsrtp_sdp_policy_init(dsrtp_sdp_policy *p);

/** Why a negotiation failed. */
typedef enum dsrtp_sdp_fail {
    DSRTP_SDP_FAIL_NONE = 0,
    DSRTP_SDP_FAIL_REJECTED,       /* port 0: the stream is disabled or was rejected */
    DSRTP_SDP_FAIL_PROTO,          /* not an RTP transport this library keys */
    DSRTP_SDP_FAIL_NO_KEYING,      /* nothing offered is in the policy's keyings */
    DSRTP_SDP_FAIL_NO_FINGERPRINT, /* DTLS transport without a usable a=fingerprint */
    DSRTP_SDP_FAIL_INSECURE_SDES,  /* SDES keys over insecure signalling, not allowed */
    DSRTP_SDP_FAIL_NO_SUITE,       /* no a=crypto line with a suite we support */
    DSRTP_SDP_FAIL_BAD_SETUP,      /* a=setup not valid here (actpass in an answer, ...) */
    DSRTP_SDP_FAIL_ROLE_CONFLICT,  /* both sides active, or both passive */
    DSRTP_SDP_FAIL_BAD_CRYPTO      /* an SDES answer that does not match our offer */
} dsrtp_sdp_fail;

typedef struct dsrtp_sdp_failure {
    dsrtp_sdp_fail code;
    const char *reason; /* static English text */
} dsrtp_sdp_failure;

/** The keying decided for one m-line. Holds the remote SDES key: wipe it with
 *  dsrtp_sdp_decision_wipe. */
typedef struct dsrtp_sdp_decision {
    dsrtp_keying keying;
    /* DTLS */
    bool dtls_handshake;         /* false for holdconn: keep the connection idle */
    dsrtp_dtls_role role;        /* our role; UNSET when no handshake */
    dsrtp_sdp_setup local_setup; /* a=setup for our description */
    dsrtp_hash fingerprint_hash; /* hash for our a=fingerprint: the one the peer used */
    dsrtp_fingerprint remote_fingerprints[DSRTP_SDP_MAX_FINGERPRINTS];
    size_t remote_fingerprint_count;
    /* SDES */
    dsrtp_profile sdes_profile;
    uint32_t sdes_tag;           /* the a=crypto tag our answer must carry */
    dsrtp_sdp_key remote_key;    /* the peer's sending key (first key parameter) */
    bool generate_local_key;     /* answerer: make a fresh key; never reuse the offer's */
} dsrtp_sdp_decision;

/** Decides the keying of one m-line. remote is the peer's m-line (from dsrtp_sdp_get_media):
 *  an offer when side is ANSWERER, the answer to our offer when OFFERER. local_offer is our
 *  own offered m-line when OFFERER (NULL: assume we offered actpass and everything in the
 *  policy); ignored when ANSWERER.
 *  Choice: DTLS when offered (UDP/TLS/RTP/SAVP[F], or an SRTP/RTP proto with a usable
 *  fingerprint) and allowed; else SDES when a=crypto is offered on an RTP/SAVP[F] (or
 *  RTP/AVP[F], RFC 8643) line, allowed, and the signalling is secure or insecure SDES is
 *  allowed, with the first offered suite we support; else NONE on RTP/AVP[F] when allowed.
 *  Roles (RFC 5763 §5, RFC 4145 defaults: absent is active in an offer, passive in an
 *  answer): answering actpass or passive we are active (DTLS client), answering active we
 *  are passive (server), holdconn means no handshake; as offerer the answer's role
 *  decides, and actpass in an answer or the same role on both sides is an error.
 *  Returns DSRTP_OK and writes *out; DSRTP_ERR_UNSUPPORTED when the policy refuses what is
 *  offered, DSRTP_ERR_MALFORMED when the remote description is inconsistent (role conflict,
 *  actpass answer, answer crypto not offered); *why (if not NULL) then says which.
 *  DSRTP_ERR_INVALID_ARG for NULL pointers or an empty keyings mask. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_negotiate(const dsrtp_sdp_policy *policy,
                                                         dsrtp_sdp_side side,
                                                         const dsrtp_sdp_media *remote,
                                                         const dsrtp_sdp_media *local_offer,
                                                         dsrtp_sdp_decision *out,
                                                         dsrtp_sdp_failure *why);
/** Overwrites a decision (it holds the peer's SDES key) with zeros. */
DSRTP_API void dsrtp_sdp_decision_wipe(dsrtp_sdp_decision *d);

/** Compares the peer's previous m-line with its new one (a re-offer or new answer): *restart
 *  is true when the DTLS association must start again because the fingerprint set or the
 *  a=tls-id changed (RFC 8842 §5; tls-id appearing or vanishing counts as a change), and
 *  false when the current association, role and keys stay. *reason gets static text
 *  ("fingerprint changed", "tls-id changed", "unchanged"). DSRTP_ERR_INVALID_ARG for NULL. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_sdp_dtls_restart(const dsrtp_sdp_media *prev,
                                                            const dsrtp_sdp_media *next,
                                                            bool *restart,
                                                            const char **reason);

#ifdef __cplusplus
}
#endif

#endif
