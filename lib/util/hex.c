/* Lower-case hexadecimal encoding (see hex.h). */
#include "util/hex.h"

void bc_hex_encode(const void *bytes, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = '\0';
}
