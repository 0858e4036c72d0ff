/* Private to the ng message layer (ng.c, ng_flags.c, ng_cache.c).
 *
 * Option names are matched the way rtpengine matches them: a space, a hyphen and an
 * underscore are the same character ("address family", "address-family", "rtpp_flags"),
 * and everything else must match exactly, case included. Every option, from the request
 * dict, a "flags" list item or an rtpp-flags token, goes through the appliers below, so
 * the two forms cannot drift apart. Appliers never fail: what they do not understand
 * becomes a warning on the message. */
#ifndef DSRTPD_NG_INT_H
#define DSRTPD_NG_INT_H

#include "ng.h"

#ifndef DSRTP_TRY
#define DSRTP_TRY(expr)                                                                    \
    do {                                                                                   \
        dsrtp_err try_err_ = (expr);                                                       \
        if (try_err_ != DSRTP_OK) {                                                        \
            return try_err_;                                                               \
        }                                                                                  \
    } while (0)
#endif
#ifndef DSRTP_CHECK
#define DSRTP_CHECK(cond, err)                                                             \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            return (err);                                                                  \
        }                                                                                  \
    } while (0)
#endif

/* Records a warning (what is static text); past the cap only counts it. */
void ng_warn(dsrtpd_ng_msg *msg, const char *what, const uint8_t *p, size_t len);

/* True when (p, len) names `name`, with ' ', '-' and '_' interchangeable. */
bool ng_name_eq(const uint8_t *p, size_t len, const char *name);

/* Single-valued options. */
void ng_opt_transport(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);
void ng_opt_ice(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);
void ng_opt_dtls(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);
/* One item of a list-valued option. */
void ng_opt_sdes(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);
void ng_opt_rtcp_mux(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);
void ng_opt_replace(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);
void ng_opt_direction(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);
/* One "flags" list item, or one bare rtpp-flags token: a flag, a transport name, or a
 * "replace-", "rtcp-mux-", "SDES-" prefixed list item. */
void ng_opt_token(dsrtpd_ng_msg *msg, const uint8_t *v, size_t len);

#endif
