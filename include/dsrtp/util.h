/* Small helpers the programs and embedders need around keying: hex and base64 codecs
 * (SDES keys travel as base64, DTLS fingerprints as colon-separated hex), constant-time
 * comparison, wiping. Threading: all functions are pure and thread-safe. */
#ifndef DSRTP_UTIL_H
#define DSRTP_UTIL_H

#include <dsrtp/dsrtp.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Decodes hex text (upper or lower case; ':' and whitespace between byte pairs are
 *  skipped) into out. *out_len is the byte count. DSRTP_ERR_MALFORMED for a bad digit or an
 *  odd count; DSRTP_ERR_BUFFER_TOO_SMALL if out_cap is short (*out_len = room needed). */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_hex_decode(const char *text, size_t text_len,
                                                      uint8_t *out, size_t out_cap,
                                                      size_t *out_len);
/** Writes in_len bytes as lower-case hex plus a NUL into out (out_cap >= 2*in_len + 1).
 *  DSRTP_ERR_BUFFER_TOO_SMALL otherwise. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_hex_encode(const uint8_t *in, size_t in_len,
                                                      char *out, size_t out_cap);
/** Decodes standard base64 (RFC 4648, '=' padding optional). DSRTP_ERR_MALFORMED for bad
 *  characters or length; DSRTP_ERR_BUFFER_TOO_SMALL as dsrtp_hex_decode. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_base64_decode(const char *text, size_t text_len,
                                                         uint8_t *out, size_t out_cap,
                                                         size_t *out_len);
/** Writes in_len bytes as padded base64 plus a NUL into out; DSRTP_ERR_BUFFER_TOO_SMALL
 *  when out_cap < 4*ceil(in_len/3) + 1. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_base64_encode(const uint8_t *in, size_t in_len,
                                                         char *out, size_t out_cap);
/** True when the n bytes at a and b are equal; time depends on n only. */
DSRTP_API bool dsrtp_ct_equal(const void *a, const void *b, size_t n);
/** Fills n bytes at p from OpenSSL's CSPRNG. DSRTP_ERR_CRYPTO if it fails. */
DSRTP_API DSRTP_MUST_CHECK dsrtp_err dsrtp_random_bytes(void *p, size_t n);
/** Overwrites n bytes at p with zeros in a way the compiler cannot remove. */
DSRTP_API void dsrtp_secure_wipe(void *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
