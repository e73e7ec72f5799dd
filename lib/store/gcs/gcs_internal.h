/* PRIVATE to the gs:// backend: not part of the store interface. Only
 * lib/store/gcs*.c include this; everything else goes through store.h and
 * bc_store_gcs_ops.
 *
 * The backend is split by concern:
 *   gcs.c          open/close, the vtable, get, head, list, delete, check
 *   gcs_request.c  the endpoint, URLs of the JSON API, the authorized
 *                  request helper, reading the JSON error replies
 *   gcs_upload.c   simple and resumable uploads, the put and the
 *                  streaming writer
 * Credentials and access tokens are in google_credentials.c. */
#ifndef BC_STORE_GCS_INTERNAL_H
#define BC_STORE_GCS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/gcs/google_credentials.h"
#include "store/http/http.h"
#include "store/http/list_page.h"
#include "store/store.h"
#include "util/status.h"

#define GCS_KiB ((int64_t)1 << 10)
#define GCS_MiB ((int64_t)1 << 20)
/* Every chunk of a resumable upload but the last is a multiple of this. */
#define GCS_CHUNK_UNIT (256 * GCS_KiB)

typedef struct gcs_backend {
    char *bucket;
    char *prefix;
    char *base_url;        /* scheme://host[:port] the JSON API paths follow */
    bc_google_credentials *creds;
    bc_http_pool *pool;
    char *kms_key_name;
    int64_t threshold;     /* larger objects go in a resumable upload */
    int64_t chunk_size;    /* a multiple of GCS_CHUNK_UNIT */
} gcs_backend;

/* A query parameter {name, value}, unencoded (NULL value: left out). */
typedef bc_tag gcs_param;

/* One authorized request: URL, headers, reply. */
typedef struct gcs_call {
    bc_http_request req;
    bc_http_response resp;
    char *url;
} gcs_call;

/* What a URL is built for. */
typedef enum { GCS_BUCKET, GCS_OBJECTS, GCS_OBJECT, GCS_UPLOAD } gcs_target;

/* ---- gcs_request.c ---------------------------------------------------- */


/* "gs://bucket/key" for messages (key may be NULL or empty). */
void bc_gcs_where(const gcs_backend *b, const char *key, char *out, size_t outlen);

/* Sets base_url from cfg->endpoint_url, STORAGE_EMULATOR_HOST or the
 * default; *emulator tells whether STORAGE_EMULATOR_HOST was used. */
bc_status bc_gcs_setup_endpoint(gcs_backend *b, const bc_store_config *cfg, int *emulator);

/* A request `method` to target (key: the object for GCS_OBJECT) with the
 * query q[0..nq); bc_gcs_call_free() releases it. A failure leaves nothing
 * to free. */
bc_status bc_gcs_call_init(gcs_call *c, const gcs_backend *b, const char *method,
                           gcs_target target, const char *key, const gcs_param *q, size_t nq);
/* The same for an absolute URL (a resumable upload session). */
bc_status bc_gcs_call_init_url(gcs_call *c, const gcs_backend *b, const char *method,
                               const char *url);
void bc_gcs_call_free(gcs_call *c);

/* bc_http_perform (a refused cached token is replaced once, by the call's
 * recover hook); on failure the message carries the JSON error reply's
 * message. */
bc_status bc_gcs_perform(bc_http_client *hc, gcs_call *c);

/* Rewrites the failure's message with the JSON error reply's message
 * ({"error": {"code": 404, "message": "..."}}); a 404 that says the bucket
 * does not exist becomes BC_ERR_NOBUCKET. The fuzz target fuzz_gcs_json
 * calls it. */
bc_status bc_gcs_json_failure(const gcs_call *c, bc_status st);

/* A clearer message for a missing object or bucket. */
bc_status bc_gcs_missing(const gcs_backend *b, bc_status st, const char *op, const char *loc);

/* A JSON integer or a decimal string (GCS sends sizes as strings); -1 if neither. */
int64_t bc_gcs_json_int(const void *json_value);

/* ---- gcs.c -------------------------------------------------------------- */

/* Reads one objects.list reply (doc, parsed JSON) into p, sorted by key;
 * sets *next_token to its nextPageToken, NULL when it is the last page
 * (and on failure). The fuzz target fuzz_gcs_json calls it. */
bc_status bc_gcs_list_page_parse(struct json_t *doc, bc_list_page *p, char **next_token);

/* ---- gcs_upload.c ------------------------------------------------------ */

bc_status bc_gcs_put(void *backend, const char *key, const bc_source *src,
                     const bc_put_opts *opts);
bc_status bc_gcs_writer_open(void *backend, const char *key, const bc_put_opts *opts,
                             void **state);
bc_status bc_gcs_writer_write(void *state, const void *data, size_t len);
bc_status bc_gcs_writer_commit(void *state);
void bc_gcs_writer_abort(void *state);

#endif
