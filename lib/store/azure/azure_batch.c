/* Azure deletes through Blob Batch: one POST ?restype=container&comp=batch
 * carries up to 256 DELETE sub-requests in a multipart/mixed body, each
 * signed like a request of its own (without x-ms-version); the reply is a
 * multipart body with one HTTP status per sub-request, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/azure/azure_internal.h"
#include "util/buffer.h"

#define BATCH_MAX 256

static int append(bc_buffer *buf, const char *text)
{
    return bc_buffer_append(buf, text, strlen(text));
}

/* The sub-request for keys[i], appended to body. */
static bc_status add_delete(azure_backend *b, bc_buffer *body, const char *boundary, size_t i,
                            const char *key)
{
    azure_call c;
    bc_status st = bc_azure_call_init(&c, b, "DELETE", key, NULL);
    if (st == BC_OK)
        st = bc_azure_sign_subrequest(b, &c.req);
    if (st == BC_OK) {
        /* Path and query of the URL, after scheme://host[:port]. */
        const char *path = strchr(strstr(c.url, "://") + 3, '/');
        char head[256];
        snprintf(head, sizeof head, "--%s\r\nContent-Type: application/http\r\n"
                 "Content-Transfer-Encoding: binary\r\nContent-ID: %zu\r\n\r\nDELETE ",
                 boundary, i);
        int bad = append(body, head) || append(body, path) || append(body, " HTTP/1.1\r\n");
        for (size_t h = 0; !bad && h < c.req.headers.n; h++)
            bad = append(body, c.req.headers.items[h].name) || append(body, ": ") ||
                  append(body, c.req.headers.items[h].value) || append(body, "\r\n");
        if (bad || append(body, "Content-Length: 0\r\n\r\n"))
            st = bc_oom();
    }
    bc_azure_call_free(&c);
    return st;
}

bc_status bc_azure_batch_check(const azure_backend *b, const bc_http_response *r,
                               const char *const *keys, size_t n)
{
    const char *p = r->body ? r->body : "";
    size_t seen = 0;
    while ((p = strstr(p, "HTTP/1.1 ")) != NULL) {
        int status = atoi(p + 9);
        if (seen < n && status != 202 && status != 404) {
            char code[128] = "";
            const char *c = strstr(p, "x-ms-error-code:");
            const char *next = strstr(p + 9, "HTTP/1.1 ");
            if (c && (!next || c < next))
                sscanf(c + 16, " %127[^\r\n]", code);
            return bc_error(status == 403 ? BC_ERR_AUTH : status >= 500 ? BC_ERR_NET
                                                                        : BC_ERR_INTERNAL,
                            "delete %s/%s: HTTP %d %s", b->location, keys[seen], status, code);
        }
        seen++;
        p += 9;
    }
    if (seen != n)
        return bc_error(BC_ERR_DATA, "delete in %s: the batch reply holds %zu answers for %zu "
                        "deletes", b->location, seen, n);
    return BC_OK;
}

static bc_status delete_batch(azure_backend *b, const char *const *keys, size_t n)
{
    char boundary[64];
    snprintf(boundary, sizeof boundary, "batch_%08lx%08lx", (unsigned long)time(NULL),
             (unsigned long)random());
    bc_buffer body = {0};
    bc_status st = BC_OK;
    for (size_t i = 0; st == BC_OK && i < n; i++)
        st = add_delete(b, &body, boundary, i, keys[i]);
    char end[96];
    snprintf(end, sizeof end, "--%s--\r\n", boundary);
    if (st == BC_OK && append(&body, end))
        st = bc_oom();

    azure_call c;
    bc_source src = {.fd = -1, .mem = body.data, .size = (int64_t)body.len};
    if (st == BC_OK)
        st = bc_azure_call_init(&c, b, "POST", NULL, "restype=container&comp=batch");
    if (st == BC_OK) {
        char type[128];
        snprintf(type, sizeof type, "multipart/mixed; boundary=%s", boundary);
        c.req.body = &src;
        c.req.body_length = src.size;
        st = bc_http_headers_set(&c.req.headers, "Content-Type", type);
        if (st == BC_OK)
            st = bc_azure_perform(b, &c, "delete in", NULL);
        if (st == BC_OK)
            st = bc_azure_batch_check(b, &c.resp, keys, n);
        bc_azure_call_free(&c);
    }
    bc_buffer_free(&body);
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
