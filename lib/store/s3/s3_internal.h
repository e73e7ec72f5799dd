/* PRIVATE to the s3:// backend: not part of the store interface. Only
 * lib/store/s3*.c include this; everything else goes through store.h and
 * bc_store_s3_ops.
 *
 * The backend is split by concern:
 *   s3.c          open/close, the vtable, get, head, list, check
 *   s3_request.c  endpoint and URL building, the signed request helper,
 *                 mapping of error replies
 *   s3_upload.c   PutObject and the multipart upload (a pipeline of parts
 *                 that the put and the streaming writer both feed)
 *   s3_writer.c   the streaming writer
 *   s3_delete.c   DeleteObjects in batches, with retries
 * The functions declared here are shared between those files only. */
#ifndef BC_STORE_S3_INTERNAL_H
#define BC_STORE_S3_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store/s3/aws_credentials.h"
#include "store/http/http.h"
#include "store/s3/sigv4.h"
#include "store/store.h"
#include "util/status.h"

#define MiB ((int64_t)1 << 20)
#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

typedef struct s3_backend {
    char *bucket;
    char *prefix;
    char *endpoint;        /* the endpoint as shown in messages */
    int path_style;
    int aws_endpoint;      /* no endpoint URL: base_url is built from the region */
    /* https: bodies go UNSIGNED-PAYLOAD (TLS guards them, as the AWS SDKs
     * rely on); over http they are signed with their SHA-256. */
    int unsigned_payload;
    int max_retries;
    bc_aws_credentials creds;
    /* The region requests are signed for, and base_url
     * (scheme://host[:port][/path] requests start with): both move when S3
     * answers that the bucket is in another region (bc_s3_follow_region),
     * so they are read and changed under where_lock. */
    pthread_mutex_t where_lock;
    char region[65];
    char *base_url;
    bc_http_pool *pool;
    char *sse;
    char *sse_kms_key_id;
    int64_t threshold;
    int64_t part_size;
    int concurrency;
    int max_parts;              /* of one multipart upload (--max-parts) */
    /* Set once a server answered NotImplemented to If-None-Match. */
    atomic_int no_conditional;
} s3_backend;

/* A query parameter {name, value}, unencoded (NULL value: left out). */
typedef bc_tag qparam;

/* One signed request: URL, headers, reply, and the region it is signed
 * for (its own copy: another thread may move the backend's meanwhile). */
typedef struct s3_call {
    bc_http_request req;
    bc_http_response resp;
    char *url;
    s3_backend *b;
    size_t base_len;       /* of url, the backend's base_url when it was built */
    char region[65];
    bc_sigv4_signer signer;
} s3_call;

/* ---- s3_request.c ---------------------------------------------------- */

/* "s3://bucket/key" for messages (key may be NULL or empty). */
void bc_s3_where(const s3_backend *b, const char *key, char *out, size_t outlen);

/* Sets base_url, endpoint and path_style from cfg (endpoint URL, addressing
 * style) or, without an endpoint URL, from the bucket and b->region. */
bc_status bc_s3_setup_endpoint(s3_backend *b, const bc_store_config *cfg);

/* Whether region can be one (letters, digits, '-'; at most 64). */
int bc_s3_valid_region(const char *region);

/* The region a reply says the bucket is in, when it says the request went
 * to the wrong one: a 301 PermanentRedirect, 307 or 400
 * AuthorizationHeaderMalformed with x-amz-bucket-region or the error's
 * <Region>. Empty otherwise. */
void bc_s3_reply_region(const bc_http_response *r, char *out, size_t outlen);

/* Moves c, and the backend when it still says c->region, to region: later
 * requests are signed for it and, without an endpoint URL, sent to its
 * endpoint. Thread-safe. 0 when there is nothing to change (or no memory). */
int bc_s3_follow_region(s3_call *c, const char *region);

/* A signed request `method` on key (NULL: the bucket) with the query
 * parameters q[0..nq); bc_s3_call_free() releases it. A failure leaves
 * nothing to free. */
/* S3's error replies: XML <Error>, and the codes that mean refused
 * credentials, a missing bucket, or a retry (SlowDown and friends). */
extern const bc_http_errors bc_s3_errors;
/* Whether code is worth retrying (also inside a 200 reply's body). */
int bc_s3_retryable_code(const char *code);

/* The call is signed for the backend's region and, after a reply saying
 * the bucket is elsewhere, sent again there (bc_s3_follow_region); after
 * ExpiredToken, sent again with fresh keys when they can be had. */
bc_status bc_s3_call_init(s3_call *c, s3_backend *b, const char *method,
                          const char *key, const qparam *q, size_t nq);
void bc_s3_call_free(s3_call *c);

/* Body from memory, with its payload hash. */
bc_status bc_s3_call_set_xml_body(s3_call *c, bc_source *holder, const char *xml);

/* An <Error> inside a 200 reply (CompleteMultipartUpload can do that). */
int bc_s3_error_in_body(const bc_http_response *r, char *code, size_t codelen, char *msg,
                        size_t msglen);

/* A clearer message for a missing object or bucket. */
bc_status bc_s3_missing(const s3_backend *b, bc_status st, const char *op, const char *loc);

/* ---- s3_upload.c: shared by the put and the streaming writer ---------- */

/* The headers every request creating an object from opts carries: the
 * x-amz-tagging of its tags, an x-amz-meta-NAME per metadata entry.
 * Free with bc_http_headers_free(). */
bc_status bc_s3_create_headers(const bc_put_opts *opts, bc_http_headers *out);

/* One PutObject of src (If-None-Match: * when opts->if_absent) with the
 * headers of bc_s3_create_headers(). */
bc_status bc_s3_put_single(s3_backend *b, bc_http_client *hc, const char *key,
                           const bc_source *src, const bc_put_opts *opts,
                           const bc_http_headers *create);

/* The part size of a multipart upload of at most `size` bytes (0:
 * unknown): part_size, grown to whole MiB only as far as needed for the
 * object to fit in max_parts parts. Every part but the last has this
 * size, which stores such as Cloudflare R2 require. */
int64_t bc_s3_part_size(int64_t part_size, int64_t size, int max_parts);

/* The final message of a failed put of key ("put s3://bucket/key at ..."). */
bc_status bc_s3_put_failed(const s3_backend *b, const char *key, bc_status st);

/* A multipart upload fed one part at a time. Up to b->concurrency worker
 * threads send the parts; bc_s3_multipart_add() waits while that many are
 * queued or in flight. Any failure aborts the upload in the end. */
typedef struct s3_multipart s3_multipart;

/* A part: bytes [offset, offset + len) of src, which must stay readable
 * until the release callback has been called with owner (at once when
 * owner is NULL: nothing to release). */
typedef struct s3_part {
    const bc_source *src;
    int64_t offset, len;
    void *owner;
} s3_part;

/* Called from any thread once a part is sent or dropped. */
typedef void (*s3_release_fn)(void *ctx, void *owner);

/* CreateMultipartUpload and the workers; expected_parts (0: unknown) caps
 * the thread count and appears in messages, as part_size (the size of
 * every part but the last) does. */
bc_status bc_s3_multipart_start(s3_backend *b, const char *key, const bc_http_headers *create,
                                int expected_parts, int64_t part_size, s3_release_fn release,
                                void *release_ctx, s3_multipart **out);
/* Queues the next part, numbered in call order. The part is released even
 * when this fails; it fails with the first failure of any earlier part. */
bc_status bc_s3_multipart_add(s3_multipart *u, const s3_part *part);
/* The first failure of a part so far, or BC_OK. */
bc_status bc_s3_multipart_status(s3_multipart *u);
/* Waits until every part added so far is sent (and released), or one
 * failed; returns that failure. */
bc_status bc_s3_multipart_wait(s3_multipart *u);
/* Waits for every part, then CompleteMultipartUpload (If-None-Match: *
 * when opts->if_absent); on any failure aborts the upload. Frees u. */
bc_status bc_s3_multipart_complete(s3_multipart *u, const bc_put_opts *opts);
/* Stops the workers and aborts the upload; keeps the current error
 * message. Frees u; does nothing on NULL. */
void bc_s3_multipart_abort(s3_multipart *u);

/* ---- the vtable entries outside s3.c ---------------------------------- */

/* s3_upload.c */
bc_status bc_s3_put(void *backend, const char *key, const bc_source *src,
                    const bc_put_opts *opts);
/* The BC_STORE_* flags: AWS S3 itself honours If-None-Match, an endpoint
 * URL's server may not; the payload is hashed over http only. */
unsigned bc_s3_caps(void *backend);

/* s3_writer.c */
bc_status bc_s3_writer_open(void *backend, const char *key, const bc_put_opts *opts,
                            void **state);
bc_status bc_s3_writer_write(void *state, const void *data, size_t len);
bc_status bc_s3_writer_commit(void *state);
void bc_s3_writer_abort(void *state);

/* s3_delete.c */
bc_status bc_s3_delete(void *backend, const char *const *keys, size_t nkeys);

#endif
