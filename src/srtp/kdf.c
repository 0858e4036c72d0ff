/* SRTP key derivation, RFC 3711 §4.3.1 (AES-CM PRF), with key derivation rate 0: done
 * once at key install. RFC 6188 uses the same construction with AES-256; RFC 7714 §11
 * feeds it the 96-bit GCM master salt padded with zeros to 112 bits. */
#include "srtp/srtp_int.h"

dsrtp_err dsrtp_kdf(const uint8_t *master_key, size_t key_len, const uint8_t *master_salt,
                    size_t salt_len, uint8_t label, uint8_t *out, size_t len)
{
    uint8_t iv[16] = {0};
    DSRTP_CHECK(salt_len <= DSRTP_SRTP_MAX_SALT_LEN, DSRTP_ERR_INVALID_ARG);
    /* x = (label || r) XOR master_salt, with r = 0 (kdr 0) and key_id right-aligned in the
     * 112-bit salt: the label lands in byte 7. IV = x * 2^16. */
    for (size_t i = 0; i < salt_len; i++) {
        iv[i] = master_salt[i];
    }
    iv[7] ^= label;
    dsrtp_err err = dsrtp_aes_cm_keystream(master_key, key_len, iv, out, len);
    dsrtp_wipe(iv, sizeof iv);
    return err;
}
