/* PRIVATE to the Azure Blob Storage backend: only lib/store/azure*.c
 * include this; everything else goes through store.h and
 * bc_store_azure_ops.
 *
 *   azure.c         URL forms, open/close, the vtable, get, head, list,
 *                   check
 *   azure_batch.c   deletes, 256 to a Blob Batch request
 *   azure_auth.c    credentials in barman's order (connection string, SAS
 *                   token, shared key, OAuth tokens) and request signing
 *   azure_upload.c  Put Blob, block uploads (Put Block + Put Block List)
 *                   for large objects, and the streaming writer */
#ifndef BC_STORE_AZURE_INTERNAL_H
#define BC_STORE_AZURE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/http/http.h"
#include "store/http/list_page.h"
#include "store/http/token.h"
#include "store/store.h"
#include "util/status.h"

#define AZURE_API_VERSION "2021-08-06"
#define AZURE_DOMAIN ".blob.core.windows.net"

typedef enum azure_auth_kind {
    AZURE_AUTH_SHARED_KEY,   /* HMAC-SHA256 of the request with the account key */
    AZURE_AUTH_SAS,          /* a SAS token appended to every URL */
    AZURE_AUTH_TOKEN         /* OAuth bearer token (managed or workload identity) */
} azure_auth_kind;

typedef struct azure_backend {
    char *container;
    char *account;
    char *base_url;          /* scheme://host[:port][/account] before /container */
    char *location;          /* base_url/container, for messages */
    azure_auth_kind auth;
    unsigned char key[64];   /* decoded account key */
    size_t key_len;
    char *sas;               /* without the leading '?' */
    /* OAuth: how to get a token, and the cached one. */
    char *token_source;      /* "managed-identity" or "workload-identity" */
    bc_token_cache token;
    char *encryption_scope;
    bc_http_pool *pool;
    int64_t threshold;       /* largest single Put Blob */
    int64_t block_size;
    int concurrency;
} azure_backend;

/* ---- azure_auth.c ---- */

/* Chooses and loads the credentials, and base_url when a connection
 * string names the endpoint. Message says which variable to set. */
bc_status bc_azure_auth_setup(azure_backend *b, const bc_store_config *cfg);
void bc_azure_auth_free(azure_backend *b);
/* A bc_token_fetch_fn: a token from the managed or workload identity. */
bc_status bc_azure_fetch_token(void *backend, char **token, time_t *expiry);
/* bc_http_sign_fn: x-ms-date, x-ms-version, Authorization. */
bc_status bc_azure_sign(void *backend, bc_http_request *req);
/* The same for a request inside a Blob Batch body, which carries no
 * x-ms-version of its own. */
bc_status bc_azure_sign_subrequest(azure_backend *b, bc_http_request *req);

/* ---- azure.c ---- */

typedef struct azure_call {
    bc_http_request req;
    bc_http_response resp;
    char *url;
} azure_call;

/* A request on a blob (key), or on the container when key is NULL, with
 * query text (already encoded, no '?'; may be NULL). */
bc_status bc_azure_call_init(azure_call *c, azure_backend *b, const char *method,
                             const char *key, const char *query);
void bc_azure_call_free(azure_call *c);
/* Runs it on a pooled client; refines the status for missing blobs and
 * containers, naming what was asked ("put", "get", ...). */
bc_status bc_azure_perform(azure_backend *b, azure_call *c, const char *op, const char *key);
/* Reads one List Blobs reply (EnumerationResults) into p, sorted; sets
 * *marker to its NextMarker, NULL when it is the last page (and on
 * failure). The fuzz target fuzz_azure_list calls it. */
bc_status bc_azure_list_page_parse(const bc_http_response *r, bc_list_page *p, char **marker);

/* ---- azure_batch.c ---- */

/* Deletes keys with Blob Batch requests of up to 256 deletes each; a
 * missing blob is not an error. */
bc_status bc_azure_delete(void *backend, const char *const *keys, size_t nkeys);
/* Checks a Blob Batch reply: one sub-response status line per key, in
 * order; 202 and 404 are fine. Uses only b->location, for messages. The
 * fuzz target fuzz_azure_batch calls it. */
bc_status bc_azure_batch_check(const azure_backend *b, const bc_http_response *r,
                               const char *const *keys, size_t n);

/* ---- azure_upload.c ---- */

bc_status bc_azure_put(void *backend, const char *key, const bc_source *src,
                       const bc_put_opts *opts);
bc_status bc_azure_writer_open(void *backend, const char *key, const bc_put_opts *opts,
                               void **state);
bc_status bc_azure_writer_write(void *state, const void *data, size_t len);
bc_status bc_azure_writer_commit(void *state);
void bc_azure_writer_abort(void *state);

#endif
