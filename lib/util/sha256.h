/* SHA-256 in a stream, as hex: the one way bc hashes with it (the S3
 * payload hash, the WAL archiver's single read pass). */
#ifndef BC_UTIL_SHA256_H
#define BC_UTIL_SHA256_H

#include <stddef.h>

#include "util/status.h"

typedef struct bc_sha256 {
    void *md;                 /* OpenSSL's EVP_MD_CTX */
} bc_sha256;

bc_status bc_sha256_begin(bc_sha256 *s);
void bc_sha256_update(bc_sha256 *s, const void *data, size_t len);
/* The 64 lowercase hex digits of what came so far, and a NUL; s starts
 * again empty, for the next stream. */
void bc_sha256_hex(bc_sha256 *s, char hex[65]);
/* Accepts a zeroed stream. */
void bc_sha256_free(bc_sha256 *s);
/* All of data at once. */
void bc_sha256_of(const void *data, size_t len, char hex[65]);

#endif
