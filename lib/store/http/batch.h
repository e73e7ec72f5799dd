/* Batch requests in a multipart/mixed body, as Azure Blob Batch and the
 * Cloud Storage JSON API take them: one POST carries many sub-requests,
 * each an application/http part ("METHOD PATH HTTP/1.1", headers, no
 * body), and the reply holds one HTTP answer per sub-request, in order.
 * The provider signs (Azure: each sub-request) and decides what each
 * answer means; this module only writes and reads the framing. */
#ifndef BC_STORE_HTTP_BATCH_H
#define BC_STORE_HTTP_BATCH_H

#include <stddef.h>

#include "store/http/http.h"
#include "util/buffer.h"

typedef struct bc_http_batch {
    bc_buffer body;
    char boundary[48];
    char content_type[96];    /* "multipart/mixed; boundary=...", for the POST */
    size_t n;                 /* sub-requests so far */
} bc_http_batch;

/* A fresh body with a random boundary. */
void bc_http_batch_init(bc_http_batch *b);
/* Appends a sub-request: path is the URL's path and query; headers may be
 * NULL. Content-Length: 0 ends its header block. */
void bc_http_batch_add(bc_http_batch *b, const char *method, const char *path,
                       const bc_http_headers *headers);
/* Closes the body; BC_OK, or out of memory if any step ran out. */
bc_status bc_http_batch_finish(bc_http_batch *b);
void bc_http_batch_free(bc_http_batch *b);

/* One answer of a batch reply: its status and, when the caller named a
 * header, that header's value ("" if absent). */
typedef struct bc_http_batch_answer {
    int status;
    char code[128];
} bc_http_batch_answer;

/* Reads the answers of a reply body, in order, into out (at most max);
 * returns how many the body holds (it may be more than max). code_header
 * (e.g. "x-ms-error-code") may be NULL. */
size_t bc_http_batch_answers(const char *body, size_t len, const char *code_header,
                             bc_http_batch_answer *out, size_t max);

#endif
