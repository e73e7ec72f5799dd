/* Azure deletes through Blob Batch: one POST ?restype=container&comp=batch
 * carries up to 256 DELETE sub-requests in a multipart/mixed body, each
 * signed like a request of its own (without x-ms-version); the reply is a
 * multipart body with one HTTP status per sub-request, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/azure/azure_internal.h"
#include "store/http/batch.h"

#define BATCH_MAX 256

/* The sub-request for key, signed, appended to the batch. */
static bc_status add_delete(azure_backend *b, bc_http_batch *batch, const char *key)
{
    azure_call c;
    bc_status st = bc_azure_call_init(&c, b, "DELETE", key, NULL);
    if (st == BC_OK)
        st = bc_azure_sign_subrequest(b, &c.req);
    if (st == BC_OK) {
        /* Path and query of the URL, after scheme://host[:port]. */
        const char *path = strchr(strstr(c.url, "://") + 3, '/');
        bc_http_batch_add(batch, "DELETE", path, &c.req.headers);
    }
    bc_azure_call_free(&c);
    return st;
}

bc_status bc_azure_batch_check(const azure_backend *b, const bc_http_response *r,
                               const char *const *keys, size_t n)
{
    bc_http_batch_answer answers[BATCH_MAX];
    size_t seen = bc_http_batch_answers(r->body, r->body ? r->body_len : 0, "x-ms-error-code",
                                        answers, BATCH_MAX);
    for (size_t i = 0; i < seen && i < n; i++) {
        int status = answers[i].status;
        if (status != 202 && status != 404)
            return bc_error(status == 403 ? BC_ERR_AUTH : status >= 500 ? BC_ERR_NET
                                                                        : BC_ERR_INTERNAL,
                            "delete %s/%s: HTTP %d %s", b->location, keys[i], status,
                            answers[i].code);
    }
    if (seen != n)
        return bc_error(BC_ERR_DATA, "delete in %s: the batch reply holds %zu answers for %zu "
                        "deletes", b->location, seen, n);
    return BC_OK;
}

static bc_status delete_batch(azure_backend *b, const char *const *keys, size_t n)
{
    bc_http_batch batch;
    bc_http_batch_init(&batch);
    bc_status st = BC_OK;
    for (size_t i = 0; st == BC_OK && i < n; i++)
        st = add_delete(b, &batch, keys[i]);
    if (st == BC_OK)
        st = bc_http_batch_finish(&batch);

    azure_call c;
    bc_source src = {.fd = -1, .mem = batch.body.data, .size = (int64_t)batch.body.len};
    if (st == BC_OK)
        st = bc_azure_call_init(&c, b, "POST", NULL, "restype=container&comp=batch");
    if (st == BC_OK) {
        c.req.body = &src;
        c.req.body_length = src.size;
        st = bc_http_headers_set(&c.req.headers, "Content-Type", batch.content_type);
        if (st == BC_OK)
            st = bc_azure_perform(b, &c, "delete in", NULL);
        if (st == BC_OK)
            st = bc_azure_batch_check(b, &c.resp, keys, n);
        bc_azure_call_free(&c);
    }
    bc_http_batch_free(&batch);
    return st;
}

bc_status bc_azure_delete(void *backend, const char *const *keys, size_t nkeys)
{
    azure_backend *b = backend;
    for (size_t i = 0; i < nkeys; i += BATCH_MAX) {
        bc_status st = delete_batch(b, keys + i, nkeys - i < BATCH_MAX ? nkeys - i : BATCH_MAX);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}
