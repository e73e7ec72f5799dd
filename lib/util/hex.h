/* Lower-case hexadecimal, the way checksums and digests are written
 * (backup_manifest, WAL object metadata, request signatures). */
#ifndef BC_UTIL_HEX_H
#define BC_UTIL_HEX_H

#include <stddef.h>

/* Writes the 2 * n digits of bytes[0..n) and a NUL into hex, which holds
 * at least 2 * n + 1 bytes. */
void bc_hex_encode(const void *bytes, size_t n, char *hex);

#endif
