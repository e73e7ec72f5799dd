/* A thin libcurl wrapper shared by the cloud backends (S3, Azure, GCS).
 *
 * One request = method, URL, headers, an optional body read from a
 * bc_source byte range, and a response body either streamed to a sink or
 * collected into a bounded buffer. bc_http_perform() retries transient
 * failures (connection errors, timeouts, HTTP 5xx and 429, S3 SlowDown and
 * RequestTimeout) with exponential backoff and jitter, calling the request's
 * sign callback before every attempt so each one carries a fresh signature.
 *
 * A client owns one CURL easy handle and is used by one thread at a time;
 * reusing it keeps the connection alive between requests. Clients come from
 * a pool (one per backend) so each thread or upload worker borrows its own. */
#ifndef BC_STORE_HTTP_H
#define BC_STORE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/status.h"

typedef struct bc_http_config {
    long connect_timeout;   /* seconds; 0 = 60 */
    /* Seconds below 1 byte/s before giving up; 0 = 60. curl averages the
     * speed over a few seconds, so a stall right after a burst is noticed
     * up to ~5 s later than this. */
    long read_timeout;
    int max_retries;        /* retries after the first attempt; 0 = 5, -1 = none */
    const char *ca_bundle;  /* PEM file of trusted CAs; NULL = system default */
} bc_http_config;

/* Request headers, in insertion order; names compare case-insensitively. */
typedef struct bc_http_header {
    char *name;
    char *value;
} bc_http_header;

typedef struct bc_http_headers {
    bc_http_header *items;
    size_t n, cap;
} bc_http_headers;

/* Adds or replaces (same name, any case) a header; copies both strings. */
bc_status bc_http_headers_set(bc_http_headers *h, const char *name, const char *value);
/* Value of a header, or NULL. */
const char *bc_http_headers_get(const bc_http_headers *h, const char *name);
void bc_http_headers_remove(bc_http_headers *h, const char *name);
void bc_http_headers_free(bc_http_headers *h);

typedef struct bc_http_request bc_http_request;

/* Called before every attempt; adds the date and signature headers. */
typedef bc_status (*bc_http_sign_fn)(void *ctx, bc_http_request *req);

typedef struct bc_http_response bc_http_response;

/* What a backend's error replies say. The HTTP layer knows statuses only;
 * each backend reads its own error body and knows its own error codes. */
typedef struct bc_http_errors {
    /* Fills resp->error_code and error_message from a non-2xx body. */
    void (*parse)(bc_http_response *resp);
    /* What a code means whatever the HTTP status: BC_ERR_AUTH (credentials
     * refused), BC_ERR_NOBUCKET (on a 404), BC_ERR_NET (worth retrying),
     * or BC_OK for nothing special. */
    bc_status (*code_status)(const char *code);
} bc_http_errors;

struct bc_http_request {
    const char *method;        /* GET, HEAD, PUT, POST, PATCH, DELETE */
    const char *url;           /* scheme://host[:port]/path?query, encoded */
    bc_http_headers headers;   /* sent as given (the signer adds its own) */
    const bc_source *body;     /* NULL: no request body */
    int64_t body_offset;       /* byte range of body to send */
    int64_t body_length;
    /* 2xx response bodies go to sink when set, else into resp->body.
     * Error bodies are always collected (for the error Code/Message). */
    bc_sink_fn sink;
    void *sink_ctx;
    size_t max_collect;        /* bound on a collected body; 0 = 16 MiB */
    /* GET with a sink: after a failure that already delivered bytes, retry
     * with "Range: bytes=N-" (and If-Match on the first ETag) so the sink
     * never sees a byte twice. The request must not carry its own Range. */
    int resumable;
    bc_http_sign_fn sign;      /* NULL: unsigned */
    void *sign_ctx;
    const bc_http_errors *errors; /* NULL: the status alone */
    /* When set, the 2xx reply's headers named meta_prefix + NAME fill meta
     * (NAME lowercased) and its Content-Length meta->size, before the sink
     * sees a byte: a GET reports the object's user metadata itself. */
    const char *meta_prefix;
    bc_object_meta *meta;
    /* Called after a reply that would fail the request (not retried, or
     * out of retries) with a status; returns 1 when it changed what the
     * next attempt sends (the URL, the signing region, the keys), so the
     * request is sent again at once, without counting as a retry. At most
     * BC_HTTP_MAX_RECOVERIES times per perform. NULL: never. */
    int (*recover)(void *ctx, bc_http_request *req, const bc_http_response *resp);
    void *recover_ctx;
};

#define BC_HTTP_MAX_RECOVERIES 2

struct bc_http_response {
    long status;               /* final HTTP status, 0 if none was received */
    char *body;                /* collected body, NUL-terminated (may be NULL) */
    size_t body_len;
    int64_t content_length;    /* Content-Length header, -1 if absent */
    char etag[256];            /* ETag header as sent (quotes included) */
    char last_modified[64];
    char request_id[128];      /* x-amz-request-id (or x-ms-/x-goog- equivalent) */
    char location[2048];       /* Location header (GCS resumable session URI) */
    char bucket_region[64];    /* x-amz-bucket-region */
    long retry_after;          /* Retry-After in seconds (either form), -1 if absent */
    char error_code[128];      /* the backend's error code (bc_http_errors) */
    char error_message[512];   /* and its message */
    int attempts;              /* attempts made */
    int64_t delivered;         /* body bytes handed to the sink */
    int sink_stopped;          /* the sink refused bytes: its message stands */
};

typedef struct bc_http_client bc_http_client;
typedef struct bc_http_pool bc_http_pool;

/* Initialises libcurl once per process (thread-safe). */
bc_status bc_http_global_init(void);

bc_status bc_http_pool_new(const bc_http_config *cfg, bc_http_pool **out);
void bc_http_pool_free(bc_http_pool *pool);
/* Borrows a client (reusing an idle one, keeping its connection). */
bc_status bc_http_client_acquire(bc_http_pool *pool, bc_http_client **out);
void bc_http_client_release(bc_http_pool *pool, bc_http_client *client);

/* Runs the request with retries. BC_OK only for a 2xx reply. Otherwise the
 * status is classified (see bc_http_classify) with a one-line message, and
 * resp->status / resp->error_code stay available so the caller can refine
 * it. resp must be zeroed by the caller first and freed with
 * bc_http_response_free(). A sink's non-zero return is returned as is. */
bc_status bc_http_perform(bc_http_client *client, bc_http_request *req,
                          bc_http_response *resp);
void bc_http_response_free(bc_http_response *resp);
/* bc_http_perform on a client borrowed from pool for this request alone. */
bc_status bc_http_pool_perform(bc_http_pool *pool, bc_http_request *req, bc_http_response *resp);

/* Makes req the download every backend's get is: the body streamed to
 * sink and resumed after a failure, the object's size and its metadata
 * (headers meta_prefix + NAME) reported in meta (may be NULL). */
void bc_http_request_download(bc_http_request *req, bc_sink_fn sink, void *ctx,
                              const char *meta_prefix, bc_object_meta *meta);
/* What a reply to a HEAD says of key: its size (Content-Length; -1 when the
 * reply has none, for the caller to refuse) and its modification time
 * (Last-Modified; 0 when absent or unreadable). */
void bc_http_response_object_info(const bc_http_response *r, const char *key,
                                  bc_object_info *info);

/* Maps a non-2xx reply to a status and sets the message
 * ("HTTP 403 AccessDenied: Access Denied (request id X)"):
 * 401/403 and the backend's credential codes -> AUTH, 404 -> NOTFOUND (or
 * NOBUCKET by the backend's code), 409/412 -> CONFLICT, 5xx/429 and the
 * backend's retryable codes -> NET, others -> INTERNAL. errors may be NULL. */
bc_status bc_http_classify(const bc_http_response *resp, const bc_http_errors *errors);

/* Sleeps before retry number `attempt` (1-based): exponential from 100 ms
 * (from 1 s when throttled: the store said SlowDown or ServerBusy),
 * capped at 5 s, with jitter. For retries a backend makes itself, of
 * errors inside a reply that bc_http_perform took for a success. */
void bc_http_backoff(int attempt, int throttled);
/* The pause before retrying after resp: the server's Retry-After when it
 * gave one (at most BC_HTTP_RETRY_AFTER_MAX seconds), else the backoff,
 * which starts from 1 s for throttling (429, 503: S3's SlowDown, Azure's
 * ServerBusy), so that a throttled store is not hammered. In ms. */
#define BC_HTTP_RETRY_AFTER_MAX 60
long bc_http_retry_delay_ms(const bc_http_response *resp, int attempt);

/* Host header value of a URL ("host" or "host:port", default ports
 * dropped) into out; -1 if the URL has no scheme://host. */
int bc_http_url_host(const char *url, char *out, size_t outlen);

#endif
