/* The gs:// backend's uploads.
 *
 * Up to the threshold an object is one simple upload
 * (POST /upload/storage/v1/b/B/o?uploadType=media&name=K), or, with tags
 * or metadata (both stored as the object's custom metadata, which a simple
 * upload cannot carry), one multipart upload (uploadType=multipart: a
 * multipart/related body of the JSON resource, then the bytes). Above it,
 * a resumable upload:
 * POST ...?uploadType=resumable opens a session, then PUTs to the session
 * URI send chunks (multiples of 256 KiB but the last) with Content-Range;
 * the server answers 308 until the last one. Chunks go one after another:
 * a session takes them in order. A failed resumable upload is cancelled
 * (DELETE of the session URI), so nothing is left behind.
 *
 * The streaming writer keeps up to a few chunks in one buffer. A stream
 * that ends within the threshold (and the buffer) is one simple upload;
 * otherwise the session opens when the buffer first fills, every full
 * buffer is sent as it fills, and commit sends the rest as the final
 * chunk, with the total size. See gcs_internal.h for the split. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "store/gcs/gcs_internal.h"
#include "store/http/url.h"
#include "util/log.h"

#define FIRST_BUFFER_SIZE ((size_t)1 << 20)
#define BUFFER_CHUNKS 4

/* A failed upload's status, with the common cases spelt out. */
static bc_status upload_failed(const gcs_backend *b, const char *key, const gcs_call *c,
                               bc_status st)
{
    char loc[2048];
    bc_gcs_where(b, key, loc, sizeof loc);
    if (c && c->resp.status == 412)
        return bc_error(BC_ERR_CONFLICT, "put %s at %s: the object already exists", loc, b->base_url);
    if (st == BC_ERR_NOBUCKET)
        return bc_gcs_missing(b, st, "put", loc);
    return bc_error_context(st, "put %s at %s", loc, b->base_url);
}

/* The object resource a finished upload returns must have every byte. */
static bc_status check_size(const gcs_backend *b, const char *key, const gcs_call *c,
                            int64_t want)
{
    json_t *doc = c->resp.body ? json_loadb(c->resp.body, c->resp.body_len, 0, NULL) : NULL;
    int64_t got = bc_gcs_json_int(json_object_get(doc, "size"));
    json_decref(doc);
    if (got == want)
        return BC_OK;
    char loc[2048];
    bc_gcs_where(b, key, loc, sizeof loc);
    return bc_error(BC_ERR_DATA, "put %s at %s: the server stored %lld bytes of %lld", loc,
                    b->base_url, (long long)got, (long long)want);
}

/* The POST that starts an upload of `type` with src as its body. */
static bc_status upload_init(gcs_call *c, const gcs_backend *b, const char *key,
                             const bc_put_opts *opts, const char *type, const bc_source *src,
                             const char *content_type)
{
    gcs_param q[] = {
        { "uploadType", type },
        { "name", key },
        { "ifGenerationMatch", opts && opts->if_absent ? "0" : NULL },
        { "kmsKeyName", b->kms_key_name },
    };
    bc_status st = bc_gcs_call_init(c, b, "POST", GCS_UPLOAD, NULL, q, 4);
    if (st != BC_OK)
        return st;
    c->req.body = src;
    c->req.body_length = src->size;
    st = bc_http_headers_set(&c->req.headers, "Content-Type", content_type);
    if (st != BC_OK)
        bc_gcs_call_free(c);
    return st;
}

static bc_status put_simple(gcs_backend *b, bc_http_client *hc, const char *key,
                            const bc_source *src, const bc_put_opts *opts)
{
    gcs_call c;
    bc_status st = upload_init(&c, b, key, opts, "media", src, "application/octet-stream");
    if (st != BC_OK)
        return st;
    st = bc_gcs_perform(hc, &c);
    st = st == BC_OK ? check_size(b, key, &c, src->size) : upload_failed(b, key, &c, st);
    bc_gcs_call_free(&c);
    return st;
}

/* Copies src's bytes to dst. */
static bc_status read_source(const bc_source *src, unsigned char *dst)
{
    if (src->fd < 0) {
        if (src->size)
            memcpy(dst, src->mem, (size_t)src->size);
        return BC_OK;
    }
    for (int64_t off = 0; off < src->size;) {
        ssize_t n = pread(src->fd, dst + off, (size_t)(src->size - off), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return bc_error(BC_ERR_IO, "cannot read the file to upload: %s",
                            n == 0 ? "it shrank while being read" : strerror(errno));
        off += n;
    }
    return BC_OK;
}

/* One request for a small object with custom metadata (the JSON resource
 * `resource`), so it costs what a simple upload does. The boundary is
 * random: the bytes must not contain it, whatever they are. */
static bc_status put_related(gcs_backend *b, bc_http_client *hc, const char *key,
                             const bc_source *src, const bc_put_opts *opts, const char *resource)
{
    unsigned char rnd[16];
    char boundary[40], ctype[80], head[128], mid[128], tail[64];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return bc_error(BC_ERR_INTERNAL, "cannot get random bytes: %s", strerror(errno));
    int n = snprintf(boundary, sizeof boundary, "bc-");
    for (size_t i = 0; i < sizeof rnd; i++)
        n += snprintf(boundary + n, sizeof boundary - (size_t)n, "%02x", rnd[i]);
    snprintf(ctype, sizeof ctype, "multipart/related; boundary=%s", boundary);
    int hlen = snprintf(head, sizeof head, "--%s\r\nContent-Type: application/json; "
                        "charset=UTF-8\r\n\r\n", boundary);
    int mlen = snprintf(mid, sizeof mid, "\r\n--%s\r\nContent-Type: "
                        "application/octet-stream\r\n\r\n", boundary);
    int tlen = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", boundary);
    size_t rlen = strlen(resource);
    size_t total = (size_t)hlen + rlen + (size_t)mlen + (size_t)src->size + (size_t)tlen;
    unsigned char *body = malloc(total);
    if (!body)
        return bc_oom();
    unsigned char *p = body;
    memcpy(p, head, (size_t)hlen);
    memcpy(p += hlen, resource, rlen);
    memcpy(p += rlen, mid, (size_t)mlen);
    bc_status st = read_source(src, p += mlen);
    memcpy(p + src->size, tail, (size_t)tlen);
    bc_source whole = {.fd = -1, .mem = body, .size = (int64_t)total};
    gcs_call c;
    if (st == BC_OK)
        st = upload_init(&c, b, key, opts, "multipart", &whole, ctype);
    if (st == BC_OK) {
        st = bc_gcs_perform(hc, &c);
        st = st == BC_OK ? check_size(b, key, &c, src->size) : upload_failed(b, key, &c, st);
        bc_gcs_call_free(&c);
    }
    free(body);
    return st;
}

/* ---- resumable sessions ----------------------------------------------- */

/* The initiation's JSON body: the tags and metadata as custom metadata. */
static char *session_body(const bc_put_opts *opts)
{
    json_t *meta = json_object(), *doc = json_object();
    for (size_t i = 0; opts && meta && i < opts->ntags; i++)
        json_object_set_new(meta, opts->tags[i].key ? opts->tags[i].key : "",
                            json_string(opts->tags[i].value ? opts->tags[i].value : ""));
    for (size_t i = 0; opts && meta && i < opts->nmeta; i++)
        json_object_set_new(meta, opts->meta[i].key, json_string(opts->meta[i].value));
    if (doc && meta && json_object_size(meta))
        json_object_set(doc, "metadata", meta);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(meta);
    json_decref(doc);
    return text;
}

/* Opens a session for key (total: the size, or -1 if not known yet) and
 * returns its URI: the Location of the reply, as Google documents it;
 * servers that send none get the initiation URL with the session's
 * upload_id, which GCS also sends as X-GUploader-UploadID. */
static bc_status session_start(gcs_backend *b, bc_http_client *hc, const char *key,
                               const bc_put_opts *opts, const char *body, int64_t total,
                               char **uri)
{
    gcs_call c;
    bc_source src = { .fd = -1, .mem = (const unsigned char *)body, .size = (int64_t)strlen(body) };
    bc_status st = upload_init(&c, b, key, opts, "resumable", &src,
                               "application/json; charset=UTF-8");
    if (st != BC_OK)
        return st;
    char len[32];
    snprintf(len, sizeof len, "%lld", (long long)total);
    if (st == BC_OK)
        st = bc_http_headers_set(&c.req.headers, "X-Upload-Content-Type", "application/octet-stream");
    if (st == BC_OK && total >= 0)
        st = bc_http_headers_set(&c.req.headers, "X-Upload-Content-Length", len);
    if (st == BC_OK)
        st = bc_gcs_perform(hc, &c);
    char *id = NULL;
    if (st == BC_OK && *c.resp.location) {
        if (!(*uri = strdup(c.resp.location)))
            st = bc_oom();
    } else if (st == BC_OK && !*c.resp.request_id)
        st = bc_error(BC_ERR_DATA, "the server opened an upload session without an upload id");
    else if (st == BC_OK && !(id = bc_url_encode(c.resp.request_id, 0)))
        st = bc_oom();
    size_t n = id ? strlen(c.url) + strlen(id) + 16 : 0;
    if (id && (*uri = malloc(n)))
        snprintf(*uri, n, "%s&upload_id=%s", c.url, id);
    else if (id)
        st = bc_oom();
    if (st != BC_OK)
        st = upload_failed(b, key, &c, st);
    free(id);
    bc_gcs_call_free(&c);
    return st;
}

/* Sends bytes [off, off + len) of src, at offset `at` of the object;
 * total is the object's size when this is the last chunk, else -1. */
static bc_status session_send(gcs_backend *b, bc_http_client *hc, const char *key,
                              const char *uri, const bc_source *src, int64_t off, int64_t len,
                              int64_t at, int64_t total)
{
    gcs_call c;
    bc_status st = bc_gcs_call_init_url(&c, b, "PUT", uri);
    if (st != BC_OK)
        return st;
    char range[96], size[32] = "*";
    if (total >= 0)
        snprintf(size, sizeof size, "%lld", (long long)total);
    if (len > 0)
        snprintf(range, sizeof range, "bytes %lld-%lld/%s", (long long)at,
                 (long long)(at + len - 1), size);
    else
        snprintf(range, sizeof range, "bytes */%s", size);
    if (len > 0) {
        c.req.body = src;
        c.req.body_offset = off;
        c.req.body_length = len;
    }
    st = bc_http_headers_set(&c.req.headers, "Content-Range", range);
    if (st == BC_OK)
        st = bc_gcs_perform(hc, &c);
    if (c.resp.status == 308) {
        /* Resume Incomplete: what a chunk before the last gets. */
        bc_error_clear();
        st = total < 0 ? BC_OK
             : bc_error(BC_ERR_DATA, "the server did not take the whole object (%lld bytes)",
                        (long long)total);
    } else if (st == BC_OK && total < 0) {
        st = bc_error(BC_ERR_DATA, "the server ended the upload before its last chunk");
    } else if (st == BC_OK) {
        st = check_size(b, key, &c, total);
    }
    if (st != BC_OK && c.resp.status != 200 && c.resp.status != 201)
        st = upload_failed(b, key, &c, st);
    bc_gcs_call_free(&c);
    return st;
}

/* Cancels a session; keeps the current error message. */
static void session_cancel(gcs_backend *b, const char *uri)
{
    if (!uri)
        return;
    bc_err failure;   /* the upload's, not the cancel's */
    bc_error_save(&failure, BC_ERR_INTERNAL);
    bc_http_client *hc;
    gcs_call c;
    if (bc_http_client_acquire(b->pool, &hc) == BC_OK) {
        if (bc_gcs_call_init_url(&c, b, "DELETE", uri) == BC_OK) {
            /* GCS answers 499 once the session is cancelled. */
            if (bc_gcs_perform(hc, &c) != BC_OK && c.resp.status != 499)
                bc_log_warning("cancelling an upload session failed: %s", bc_error_msg());
            bc_gcs_call_free(&c);
        }
        bc_http_client_release(b->pool, hc);
    }
    bc_error_restore(&failure);
}

static bc_status put_resumable(gcs_backend *b, bc_http_client *hc, const char *key,
                               const bc_source *src, const bc_put_opts *opts)
{
    char *uri = NULL, *body = session_body(opts);
    bc_status st = body ? session_start(b, hc, key, opts, body, src->size, &uri) : bc_oom();
    int64_t off = 0;
    do {
        int64_t left = src->size - off, n = left > b->chunk_size ? b->chunk_size : left;
        if (st == BC_OK)
            st = session_send(b, hc, key, uri, src, off, n, off, n == left ? src->size : -1);
        off += n;
    } while (st == BC_OK && off < src->size);
    if (st != BC_OK)
        session_cancel(b, uri);
    free(uri);
    free(body);
    return st;
}

bc_status bc_gcs_put(void *backend, const char *key, const bc_source *src,
                     const bc_put_opts *opts)
{
    gcs_backend *b = backend;
    if (!key || !*key)
        return bc_error(BC_ERR_USAGE, "put into gs://%s: empty object name", b->bucket);
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    char *resource = NULL;
    if (src->size > b->threshold) {
        st = put_resumable(b, hc, key, src, opts);
    } else if (opts && (opts->ntags || opts->nmeta)) {
        st = (resource = session_body(opts)) ? put_related(b, hc, key, src, opts, resource)
                                             : bc_oom();
        free(resource);
    } else {
        st = put_simple(b, hc, key, src, opts);
    }
    bc_http_client_release(b->pool, hc);
    return st;
}

/* ---- streaming writer ------------------------------------------------- */

typedef struct gcs_writer {
    gcs_backend *b;
    char *key;
    bc_put_opts opts;          /* if_absent and whether there are tags or metadata */
    char *meta;                /* the session's JSON body: tags and metadata */
    unsigned char *buf;
    size_t len, cap, limit;    /* limit: a multiple of the chunk size */
    char *uri;                 /* the session, once opened */
    int64_t sent;              /* bytes the session has */
} gcs_writer;

static void writer_free(gcs_writer *w)
{
    free(w->buf);
    free(w->meta);
    free(w->uri);
    free(w->key);
    free(w);
}

bc_status bc_gcs_writer_open(void *backend, const char *key, const bc_put_opts *opts,
                             void **state)
{
    gcs_backend *b = backend;
    if (!key || !*key)
        return bc_error(BC_ERR_USAGE, "put into gs://%s: empty object name", b->bucket);
    gcs_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bc_oom();
    w->key = strdup(key);
    w->meta = session_body(opts);
    if (!w->key || !w->meta) {
        writer_free(w);
        return bc_oom();
    }
    w->b = b;
    w->opts.if_absent = opts->if_absent;
    w->opts.ntags = opts->ntags + opts->nmeta;
    int64_t chunks = (b->threshold + b->chunk_size - 1) / b->chunk_size;
    if (chunks > BUFFER_CHUNKS)
        chunks = BUFFER_CHUNKS;
    w->limit = (size_t)((chunks < 1 ? 1 : chunks) * b->chunk_size);
    *state = w;
    return BC_OK;
}

/* Sends the buffer: a chunk in the middle (total -1) or the last one. */
static bc_status flush(gcs_writer *w, int64_t total)
{
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(w->b->pool, &hc);
    if (st != BC_OK)
        return st;
    if (!w->uri)
        st = session_start(w->b, hc, w->key, &w->opts, w->meta, -1, &w->uri);
    bc_source src = { .fd = -1, .mem = w->buf, .size = (int64_t)w->len };
    if (st == BC_OK)
        st = session_send(w->b, hc, w->key, w->uri, &src, 0, (int64_t)w->len, w->sent, total);
    bc_http_client_release(w->b->pool, hc);
    if (st == BC_OK) {
        w->sent += (int64_t)w->len;
        w->len = 0;
    }
    return st;
}

bc_status bc_gcs_writer_write(void *state, const void *data, size_t len)
{
    gcs_writer *w = state;
    const unsigned char *p = data;
    while (len > 0) {
        if (w->len == w->limit) {
            bc_status st = flush(w, -1);
            if (st != BC_OK)
                return st;
        }
        size_t need = w->len + (len < w->limit - w->len ? len : w->limit - w->len);
        if (need > w->cap) {
            size_t cap = w->cap ? w->cap * 2 : FIRST_BUFFER_SIZE;
            cap = cap < need ? need : cap > w->limit ? w->limit : cap;
            unsigned char *grown = realloc(w->buf, cap);
            if (!grown)
                return bc_oom();
            w->buf = grown;
            w->cap = cap;
        }
        size_t n = need - w->len;
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        p += n;
        len -= n;
    }
    return BC_OK;
}

bc_status bc_gcs_writer_commit(void *state)
{
    gcs_writer *w = state;
    bc_status st;
    if (!w->uri && (int64_t)w->len <= w->b->threshold) {
        bc_source src = { .fd = -1, .mem = w->buf, .size = (int64_t)w->len };
        bc_http_client *hc;
        st = bc_http_client_acquire(w->b->pool, &hc);
        if (st == BC_OK) {
            st = w->opts.ntags ? put_related(w->b, hc, w->key, &src, &w->opts, w->meta)
                               : put_simple(w->b, hc, w->key, &src, &w->opts);
            bc_http_client_release(w->b->pool, hc);
        }
    } else {
        st = flush(w, w->sent + (int64_t)w->len);
        if (st != BC_OK)
            session_cancel(w->b, w->uri);
    }
    writer_free(w);
    return st;
}

void bc_gcs_writer_abort(void *state)
{
    gcs_writer *w = state;
    session_cancel(w->b, w->uri);
    writer_free(w);
}
