/* Error strings and the library version. */
#include "util/util_int.h"

const char *dsrtp_strerror(dsrtp_err err)
{
    switch (err) {
    case DSRTP_OK: return "ok";
    case DSRTP_ERR_INVALID_ARG: return "invalid argument";
    case DSRTP_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case DSRTP_ERR_MALFORMED: return "malformed input";
    case DSRTP_ERR_AUTH: return "authentication failed";
    case DSRTP_ERR_REPLAY: return "replayed or too old";
    case DSRTP_ERR_KEY_EXHAUSTED: return "key exhausted: packet limit reached, re-key";
    case DSRTP_ERR_TABLE_FULL: return "stream table full";
    case DSRTP_ERR_UNSUPPORTED: return "unsupported";
    case DSRTP_ERR_NO_MEMORY: return "out of memory";
    case DSRTP_ERR_CRYPTO: return "crypto back end failed";
    case DSRTP_ERR_CLOSED: return "closed";
    case DSRTP_ERR_NOT_READY: return "not ready: keys not agreed yet";
    case DSRTP_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

bool dsrtp_err_is_fatal(dsrtp_err err)
{
    switch (err) {
    case DSRTP_ERR_NO_MEMORY:
    case DSRTP_ERR_CRYPTO:
    case DSRTP_ERR_CLOSED:
    case DSRTP_ERR_INTERNAL:
        return true;
    default:
        return false;
    }
}

const char *dsrtp_version(void)
{
    return DSRTP_VERSION_STRING;
}
