/* Splits a fuzz input into datagrams for the targets that feed a sequence of them: from
 * *pos, a two-byte big-endian length then that many bytes (fewer at the end of the input).
 * Each datagram comes back as an exact-size heap copy, so that ASan sees any read past its
 * end; the caller frees it. */
#ifndef DSRTP_FUZZ_DATAGRAMS_H
#define DSRTP_FUZZ_DATAGRAMS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next datagram of data[0..size) from *pos (advanced past it), its length in *len. */
static uint8_t *fuzz_next_datagram(const uint8_t *data, size_t size, size_t *pos, size_t *len)
{
    size_t n = 0;
    if (size - *pos >= 2) {
        n = (size_t)data[*pos] << 8 | data[*pos + 1];
        *pos += 2;
    } else {
        *pos = size;
    }
    if (n > size - *pos) {
        n = size - *pos;
    }
    uint8_t *dg = malloc(n ? n : 1);
    if (dg == NULL) {
        abort();
    }
    memcpy(dg, data + *pos, n);
    *pos += n;
    *len = n;
    return dg;
}

#endif
