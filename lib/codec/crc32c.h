/* CRC-32C (Castagnoli), as the Snappy framing format uses it. */
#ifndef BC_CODEC_CRC32C_H
#define BC_CODEC_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..len) continuing from `crc` (0 to start). */
uint32_t bc_crc32c(uint32_t crc, const void *data, size_t len);

/* The framing format's "masked" CRC of a chunk's uncompressed data:
 * rotated and offset so that CRCs of data containing CRCs stay strong. */
uint32_t bc_crc32c_masked(const void *data, size_t len);

#endif
