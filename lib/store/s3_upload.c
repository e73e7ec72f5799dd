/* The s3:// backend's puts: one PutObject up to the multipart threshold,
 * above it a multipart upload whose parts a few threads send, each on its
 * own connection. A failed multipart upload is always aborted. See
 * s3_internal.h for how the backend is split. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3_internal.h"
#include "store/xml.h"
#include "util/log.h"

#define MAX_PARTS 10000

/* ---- small helpers ---------------------------------------------------- */

/* Python's urllib.parse.quote_plus: everything but A-Z a-z 0-9 _ . - ~
 * percent-encoded, space as '+'. A new string, NULL if out of memory. */
static char *quote_plus(const char *s)
{
    char *enc = bc_sigv4_uri_encode(s, 0);
    if (!enc)
        return NULL;
    char *r = enc, *w = enc;
    while (*r) {
        if (r[0] == '%' && r[1] == '2' && r[2] == '0') {
            *w++ = '+';
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return enc;
}

/* x-amz-tagging value "k=v&k2=v2", as urlencode() builds it ("" without
 * tags). NULL if out of memory. */
static char *tagging_header(const bc_put_opts *opts)
{
    size_t cap = 1, len = 0;
    char *out = calloc(1, cap);
    if (!out)
        return NULL;
    for (size_t i = 0; opts && i < opts->ntags; i++) {
        char *k = quote_plus(opts->tags[i].key ? opts->tags[i].key : "");
        char *v = quote_plus(opts->tags[i].value ? opts->tags[i].value : "");
        size_t need = len + (k ? strlen(k) : 0) + (v ? strlen(v) : 0) + 3;
        char *grown = k && v ? realloc(out, need) : NULL;
        if (!grown) {
            free(k);
            free(v);
            free(out);
            return NULL;
        }
        out = grown;
        cap = need;
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", i ? "&" : "", k, v);
        free(k);
        free(v);
    }
    return out;
}

/* Headers an object creation carries: encryption and tags. */
static bc_status set_create_headers(const s3_backend *b, s3_call *c, const char *tagging)
{
    bc_status st = BC_OK;
    if (b->sse)
        st = bc_http_headers_set(&c->req.headers, "X-Amz-Server-Side-Encryption", b->sse);
    if (st == BC_OK && b->sse_kms_key_id)
        st = bc_http_headers_set(&c->req.headers, "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id",
                                 b->sse_kms_key_id);
    if (st == BC_OK && tagging && *tagging)
        st = bc_http_headers_set(&c->req.headers, "X-Amz-Tagging", tagging);
    return st;
}

/* Whether a failed conditional request means "If-None-Match unsupported". */
static int conditional_unsupported(const bc_http_response *r)
{
    return r->status == 501 || strcmp(r->error_code, "NotImplemented") == 0;
}

static void note_no_conditional(s3_backend *b)
{
    if (!atomic_exchange(&b->no_conditional, 1))
        bc_log_info("%s does not implement conditional writes (If-None-Match); "
                    "uploading without them", b->endpoint);
}

/* ---- put: single request ---------------------------------------------- */

static bc_status put_single(s3_backend *b, bc_http_client *hc, const char *key,
                            const bc_source *src, const bc_put_opts *opts, const char *tagging)
{
    char hash[65];
    bc_status st = bc_sigv4_payload_hash(src, 0, src->size, hash);
    if (st != BC_OK)
        return st;
    for (;;) {
        int conditional = opts && opts->if_absent && !atomic_load(&b->no_conditional);
        s3_call c;
        if ((st = bc_s3_call_init(&c, b, "PUT", key, NULL, 0)) != BC_OK)
            return st;
        c.req.body = src;
        c.req.body_offset = 0;
        c.req.body_length = src->size;
        if ((st = bc_http_headers_set(&c.req.headers, "X-Amz-Content-Sha256", hash)) == BC_OK &&
            (st = set_create_headers(b, &c, tagging)) == BC_OK && conditional)
            st = bc_http_headers_set(&c.req.headers, "If-None-Match", "*");
        if (st == BC_OK)
            st = bc_http_perform(hc, &c.req, &c.resp);
        int retry_plain = st != BC_OK && conditional && conditional_unsupported(&c.resp);
        if (st != BC_OK && c.resp.status == 412)
            st = bc_error(BC_ERR_CONFLICT, "the object already exists");
        bc_s3_call_free(&c);
        if (!retry_plain)
            return st;
        note_no_conditional(b);
    }
}

/* ---- put: multipart --------------------------------------------------- */

typedef struct mp_upload {
    s3_backend *b;
    const char *key;
    const char *upload_id;
    const bc_source *src;
    int64_t part_size;
    int nparts;
    char **etags;             /* per part, from UploadPart replies */
    pthread_mutex_t lock;     /* guards next, failed, status, message */
    int next;
    int failed;
    bc_status status;
    char message[2048];       /* the failing worker's error message */
} mp_upload;

static void mp_fail(mp_upload *u, bc_status st)
{
    pthread_mutex_lock(&u->lock);
    if (!u->failed) {
        u->failed = 1;
        u->status = st;
        snprintf(u->message, sizeof u->message, "%s", bc_error_msg());
    }
    pthread_mutex_unlock(&u->lock);
}

static bc_status upload_part(mp_upload *u, bc_http_client *hc, int idx)
{
    int64_t off = (int64_t)idx * u->part_size;
    int64_t len = u->src->size - off < u->part_size ? u->src->size - off : u->part_size;
    char hash[65], number[16];
    snprintf(number, sizeof number, "%d", idx + 1);
    qparam q[] = { { "partNumber", number }, { "uploadId", u->upload_id } };
    s3_call c;
    bc_status st = bc_sigv4_payload_hash(u->src, off, len, hash);
    if (st == BC_OK)
        st = bc_s3_call_init(&c, u->b, "PUT", u->key, q, 2);
    if (st != BC_OK)
        return bc_error_context(st, "part %d of %d", idx + 1, u->nparts);
    c.req.body = u->src;
    c.req.body_offset = off;
    c.req.body_length = len;
    if ((st = bc_http_headers_set(&c.req.headers, "X-Amz-Content-Sha256", hash)) == BC_OK)
        st = bc_http_perform(hc, &c.req, &c.resp);
    if (st == BC_OK) {
        if (!*c.resp.etag)
            st = bc_error(BC_ERR_DATA, "no ETag in the reply");
        else if (!(u->etags[idx] = strdup(c.resp.etag)))
            st = bc_s3_oom();
    }
    if (st != BC_OK)
        bc_error_context(st, "part %d of %d", idx + 1, u->nparts);
    bc_s3_call_free(&c);
    return st;
}

static void *mp_worker(void *arg)
{
    mp_upload *u = arg;
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(u->b->pool, &hc);
    if (st != BC_OK) {
        mp_fail(u, st);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&u->lock);
        int idx = u->failed || u->next >= u->nparts ? -1 : u->next++;
        pthread_mutex_unlock(&u->lock);
        if (idx < 0)
            break;
        if ((st = upload_part(u, hc, idx)) != BC_OK) {
            mp_fail(u, st);
            break;
        }
    }
    bc_http_client_release(u->b->pool, hc);
    return NULL;
}

/* Uploads every part with up to b->concurrency threads. */
static bc_status upload_parts(mp_upload *u)
{
    int nthreads = u->b->concurrency < u->nparts ? u->b->concurrency : u->nparts;
    pthread_t *threads = calloc((size_t)nthreads, sizeof *threads);
    if (!threads)
        return bc_s3_oom();
    int started = 0;
    for (; started < nthreads; started++)
        if (pthread_create(&threads[started], NULL, mp_worker, u) != 0)
            break;
    if (started == 0)
        mp_worker(u);   /* no thread to be had: do it ourselves */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    if (u->failed)
        return bc_error(u->status, "%s", u->message);
    return BC_OK;
}

static char *complete_body(const mp_upload *u)
{
    size_t cap = 256;
    for (int i = 0; i < u->nparts; i++)
        cap += 80 + 6 * strlen(u->etags[i]);
    char *xml = malloc(cap);
    if (!xml)
        return NULL;
    size_t len = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload xmlns=\"" S3_NS "\">");
    for (int i = 0; i < u->nparts; i++) {
        char *etag = bc_xml_escape(u->etags[i]);
        if (!etag) {
            free(xml);
            return NULL;
        }
        len += (size_t)snprintf(xml + len, cap - len,
                                "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i + 1, etag);
        free(etag);
    }
    snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    return xml;
}

static bc_status create_upload(s3_backend *b, bc_http_client *hc, const char *key,
                               const char *tagging, char **upload_id)
{
    qparam q[] = { { "uploads", "" } };
    s3_call c;
    bc_status st = bc_s3_call_init(&c, b, "POST", key, q, 1);
    if (st != BC_OK)
        return st;
    if ((st = set_create_headers(b, &c, tagging)) == BC_OK)
        st = bc_http_perform(hc, &c.req, &c.resp);
    if (st == BC_OK) {
        bc_xml_span doc = { c.resp.body, c.resp.body_len }, id;
        if (!c.resp.body || !bc_xml_find(doc, "UploadId", &id) || !(*upload_id = bc_xml_text_dup(id)) ||
            !**upload_id) {
            free(*upload_id);
            *upload_id = NULL;
            st = bc_error(BC_ERR_DATA, "no UploadId in the CreateMultipartUpload reply");
        }
    }
    if (st != BC_OK)
        bc_error_context(st, "starting the multipart upload");
    bc_s3_call_free(&c);
    return st;
}

static bc_status complete_upload(s3_backend *b, bc_http_client *hc, mp_upload *u,
                                 const bc_put_opts *opts)
{
    char *xml = complete_body(u);
    if (!xml)
        return bc_s3_oom();
    bc_status st;
    qparam q[] = { { "uploadId", u->upload_id } };
    for (int attempt = 1;; attempt++) {
        int conditional = opts && opts->if_absent && !atomic_load(&b->no_conditional);
        s3_call c;
        bc_source body;
        if ((st = bc_s3_call_init(&c, b, "POST", u->key, q, 1)) != BC_OK)
            break;
        if ((st = bc_s3_call_set_xml_body(&c, &body, xml)) == BC_OK && conditional)
            st = bc_http_headers_set(&c.req.headers, "If-None-Match", "*");
        if (st == BC_OK)
            st = bc_http_perform(hc, &c.req, &c.resp);
        int again = 0;
        if (st == BC_OK) {
            /* A 200 can still carry an error, sent after the status line. */
            char code[128] = "", msg[512] = "";
            if (bc_s3_error_in_body(&c.resp, code, sizeof code, msg, sizeof msg)) {
                int retryable = bc_http_retryable_code(code);
                st = bc_error(retryable ? BC_ERR_NET : BC_ERR_INTERNAL, "HTTP 200 with error %s: %s",
                              code, msg);
                if (retryable && attempt <= b->max_retries) {
                    bc_log_info("completing the upload of s3://%s/%s: %s; retrying", b->bucket,
                                u->key, bc_error_msg());
                    bc_http_backoff(attempt);
                    again = 1;
                }
            }
        } else if (conditional && conditional_unsupported(&c.resp)) {
            note_no_conditional(b);
            again = 1;
        } else if (c.resp.status == 412) {
            st = bc_error(BC_ERR_CONFLICT, "the object already exists");
        }
        bc_s3_call_free(&c);
        if (!again)
            break;
    }
    free(xml);
    if (st != BC_OK)
        bc_error_context(st, "completing the multipart upload");
    return st;
}

static void abort_upload(s3_backend *b, bc_http_client *hc, const char *key, const char *upload_id)
{
    char saved[2048];
    snprintf(saved, sizeof saved, "%s", bc_error_msg());
    qparam q[] = { { "uploadId", upload_id } };
    s3_call c;
    bc_status st = bc_s3_call_init(&c, b, "DELETE", key, q, 1);
    if (st == BC_OK) {
        st = bc_http_perform(hc, &c.req, &c.resp);
        if (st != BC_OK && c.resp.status != 404)
            bc_log_warning("could not abort multipart upload %s of s3://%s/%s: %s; its parts "
                           "use storage until a lifecycle rule removes them",
                           upload_id, b->bucket, key, bc_error_msg());
        bc_s3_call_free(&c);
    }
    bc_error(BC_ERR_INTERNAL, "%s", saved);   /* keep the original failure's message */
}

static bc_status put_multipart(s3_backend *b, bc_http_client *hc, const char *key,
                               const bc_source *src, const bc_put_opts *opts, const char *tagging)
{
    mp_upload u;
    memset(&u, 0, sizeof u);
    u.b = b;
    u.key = key;
    u.src = src;
    u.part_size = b->part_size;
    if ((src->size + u.part_size - 1) / u.part_size > MAX_PARTS) {
        int64_t min = (src->size + MAX_PARTS - 1) / MAX_PARTS;
        u.part_size = (min + MiB - 1) / MiB * MiB;
    }
    u.nparts = (int)((src->size + u.part_size - 1) / u.part_size);

    char *upload_id = NULL;
    bc_status st = create_upload(b, hc, key, tagging, &upload_id);
    if (st != BC_OK)
        return st;
    u.upload_id = upload_id;
    u.etags = calloc((size_t)u.nparts, sizeof *u.etags);
    pthread_mutex_init(&u.lock, NULL);
    if (!u.etags)
        st = bc_s3_oom();
    else
        st = upload_parts(&u);
    if (st == BC_OK)
        st = complete_upload(b, hc, &u, opts);
    if (st != BC_OK)
        abort_upload(b, hc, key, upload_id);
    pthread_mutex_destroy(&u.lock);
    for (int i = 0; u.etags && i < u.nparts; i++)
        free(u.etags[i]);
    free(u.etags);
    free(upload_id);
    return st;
}

bc_status bc_s3_put(void *backend, const char *key, const bc_source *src,
                    const bc_put_opts *opts)
{
    s3_backend *b = backend;
    char loc[2048];
    bc_s3_where(b, key, loc, sizeof loc);
    if (!key || !*key)
        return bc_error(BC_ERR_USAGE, "put %s: empty key", loc);
    if (!src || src->size < 0 || (src->fd < 0 && src->size > 0 && !src->mem))
        return bc_error(BC_ERR_USAGE, "put %s: bad source", loc);

    char *tagging = tagging_header(opts);
    if (!tagging)
        return bc_s3_oom();
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st == BC_OK) {
        if (src->size <= b->threshold)
            st = put_single(b, hc, key, src, opts, tagging);
        else
            st = put_multipart(b, hc, key, src, opts, tagging);
        bc_http_client_release(b->pool, hc);
    }
    free(tagging);
    if (st == BC_ERR_NOBUCKET)
        return bc_s3_missing(b, st, "put", loc);
    if (st != BC_OK)
        return bc_error_context(st, "put %s at %s", loc, b->endpoint);
    return BC_OK;
}
