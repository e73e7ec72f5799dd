/* Base64 decoding (see base64.h), with OpenSSL's block decoder. */
#include "util/base64.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int bc_base64_decode(const char *in, size_t inlen, char **out, size_t *outlen)
{
    /* EVP_DecodeBlock wants neither line breaks nor a partial group. */
    char *clean = malloc(inlen + 1);
    unsigned char *buf = malloc(inlen / 4 * 3 + 1);
    size_t n = 0;
    int got = -1;
    if (clean && buf) {
        for (size_t i = 0; i < inlen; i++)
            if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' && in[i] != '\n')
                clean[n++] = in[i];
        if (n % 4 == 0 && n < INT_MAX)
            got = n ? EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)n) : 0;
        /* It decodes the padding as zero bytes: drop them. */
        if (got > 0)
            got -= (clean[n - 1] == '=') + (clean[n - 2] == '=');
    }
    if (clean)
        explicit_bzero(clean, n);   /* it may be a private key */
    free(clean);
    if (got < 0) {
        free(buf);
        return -1;
    }
    buf[got] = '\0';
    *out = (char *)buf;
    if (outlen)
        *outlen = (size_t)got;
    return 0;
}
