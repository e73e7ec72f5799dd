/* AWS Signature Version 4 for S3 requests (header-based, signed payload).
 *
 * The signer adds Host, X-Amz-Date, X-Amz-Security-Token (with a session
 * token), X-Amz-Content-Sha256 (computed from the body unless the caller
 * already set it) and Authorization to a bc_http_request. It signs every
 * header present in the request except a few that proxies or curl may alter
 * (User-Agent, Expect, Content-Length, Accept...): so x-amz-*, Content-MD5,
 * Content-Type, Range, If-None-Match and the like are all covered.
 *
 * The URL path must already be encoded with bc_url_encode(path, 1)
 * (S3 does not double-encode: the canonical URI is the path as sent); the
 * query parameters are sorted and given "=" when signing. */
#ifndef BC_STORE_SIGV4_H
#define BC_STORE_SIGV4_H

#include <stdint.h>

#include "store/s3/aws_credentials.h"
#include "store/http/http.h"
#include "store/store.h"

typedef struct bc_sigv4_signer {
    const bc_aws_credentials *creds;
    const char *region;
    const char *service;      /* "s3" */
} bc_sigv4_signer;

/* A bc_http_sign_fn: signs `req` for the current time (ctx: a signer). */
bc_status bc_sigv4_sign(void *signer, bc_http_request *req);

/* Signs at a given time ("YYYYMMDDTHHMMSSZ"). When canonical is not NULL it
 * receives the canonical request (caller frees), for tests and debugging. */
bc_status bc_sigv4_sign_at(const bc_sigv4_signer *signer, bc_http_request *req,
                           const char *amz_date, char **canonical);

/* Lowercase hex SHA-256 of len bytes of src at offset: src->sha256 when it
 * is all of src and the producer hashed it already, else read (pread for
 * a file). */
bc_status bc_sigv4_payload_hash(const bc_source *src, int64_t offset, int64_t len,
                                char hex[65]);


#endif
