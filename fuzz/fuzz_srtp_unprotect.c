/* Fuzz target: RTP unprotect. The first byte picks profile, MKI and SRTCP encryption; the
 * second the mode. Mode 0 feeds the rest straight to unprotect (hostile bytes). Otherwise the
 * rest is protected as plain RTP first, optionally one bit is flipped (position from the next
 * two bytes), and then unprotected: an untouched packet must come back exactly, a flipped
 * one must be refused with the buffer left unchanged. Deterministic: fixed keys, no RNG. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, false);
}
