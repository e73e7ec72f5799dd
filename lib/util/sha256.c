#include "util/sha256.h"

#include <openssl/evp.h>

#include "util/hex.h"

bc_status bc_sha256_begin(bc_sha256 *s)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        s->md = NULL;
        return bc_oom();
    }
    s->md = md;
    return BC_OK;
}

void bc_sha256_update(bc_sha256 *s, const void *data, size_t len)
{
    if (s->md && len)
        EVP_DigestUpdate(s->md, data, len);
}

void bc_sha256_hex(bc_sha256 *s, char hex[65])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(s->md, digest, &n);
    bc_hex_encode(digest, 32, hex);
    EVP_DigestInit_ex(s->md, EVP_sha256(), NULL);
}

void bc_sha256_free(bc_sha256 *s)
{
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
}

void bc_sha256_of(const void *data, size_t len, char hex[65])
{
    unsigned char digest[32];
    unsigned int n = 0;
    EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL);
    bc_hex_encode(digest, 32, hex);
}
