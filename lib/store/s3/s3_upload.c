/* The s3:// backend's puts: one PutObject up to the multipart threshold,
 * above it a multipart upload whose parts a work queue's threads send,
 * each on its own connection. A failed multipart upload is always aborted. The
 * multipart pipeline also carries the streaming writer's parts
 * (s3_writer.c). See s3_internal.h for how the backend is split. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3/s3_internal.h"
#include "store/http/url.h"
#include "store/http/xml.h"
#include "util/log.h"
#include "util/workqueue.h"


/* ---- small helpers ---------------------------------------------------- */

/* x-amz-tagging value "k=v&k2=v2", as Python's urlencode() builds it (""
 * without tags). NULL if out of memory. */
static char *tagging_header(const bc_put_opts *opts)
{
    bc_buffer t = {0};
    if (opts)
        bc_url_add_pairs(&t, 0, opts->tags, opts->ntags, 1);
    return bc_buffer_take(&t);
}

bc_status bc_s3_create_headers(const bc_put_opts *opts, bc_http_headers *out)
{
    memset(out, 0, sizeof *out);
    char *tagging = tagging_header(opts);
    bc_status st = tagging ? BC_OK : bc_oom();
    if (st == BC_OK && *tagging)
        st = bc_http_headers_set(out, "X-Amz-Tagging", tagging);
    for (size_t i = 0; st == BC_OK && opts && i < opts->nmeta; i++) {
        char name[32 + BC_META_NAME_MAX];
        snprintf(name, sizeof name, "x-amz-meta-%s", opts->meta[i].key);
        st = bc_http_headers_set(out, name, opts->meta[i].value);
    }
    free(tagging);
    if (st != BC_OK)
        bc_http_headers_free(out);
    return st;
}

/* Headers an object creation carries: encryption, tags and metadata. */
static bc_status set_create_headers(const s3_backend *b, s3_call *c,
                                    const bc_http_headers *create)
{
    bc_status st = BC_OK;
    if (b->sse)
        st = bc_http_headers_set(&c->req.headers, "X-Amz-Server-Side-Encryption", b->sse);
    if (st == BC_OK && b->sse_kms_key_id)
        st = bc_http_headers_set(&c->req.headers, "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id",
                                 b->sse_kms_key_id);
    for (size_t i = 0; st == BC_OK && create && i < create->n; i++)
        st = bc_http_headers_set(&c->req.headers, create->items[i].name, create->items[i].value);
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

/* A BC_IF_ABSENT_ONLY put on a server without conditional writes. */
static bc_status conditional_refused(const s3_backend *b)
{
    return bc_error(BC_ERR_CONFLICT, "%s does not implement conditional writes: nothing "
                    "stored, look at what the name holds first", b->endpoint);
}

unsigned bc_s3_caps(void *backend)
{
    s3_backend *b = backend;
    return (atomic_load(&b->no_conditional) ? BC_STORE_NO_CONDITIONAL
            : b->aws_endpoint               ? BC_STORE_PUT_FIRST
                                            : 0) |
           (b->unsigned_payload ? 0 : BC_STORE_HASHES_PAYLOAD);
}

/* The x-amz-content-sha256 of an upload's body: UNSIGNED-PAYLOAD over
 * https, where TLS guards it in transit (as the AWS SDKs rely on), which
 * saves a pass over every byte; its SHA-256 over plain http, so that the
 * server rejects a body damaged on the way. */
static bc_status body_hash(const s3_backend *b, const bc_source *src, int64_t offset,
                           int64_t len, char hash[65])
{
    if (b->unsigned_payload) {
        snprintf(hash, 65, "UNSIGNED-PAYLOAD");
        return BC_OK;
    }
    return bc_sigv4_payload_hash(src, offset, len, hash);
}

/* ---- put: single request ---------------------------------------------- */

bc_status bc_s3_put_single(s3_backend *b, bc_http_client *hc, const char *key,
                           const bc_source *src, const bc_put_opts *opts,
                           const bc_http_headers *create)
{
    char hash[65];
    bc_status st = body_hash(b, src, 0, src->size, hash);
    if (st != BC_OK)
        return st;
    for (;;) {
        int conditional = opts && opts->if_absent && !atomic_load(&b->no_conditional);
        if (opts && opts->if_absent == BC_IF_ABSENT_ONLY && !conditional)
            return conditional_refused(b);
        s3_call c;
        st = bc_s3_call_init(&c, b, "PUT", key, NULL, 0);
        if (st != BC_OK)
            return st;
        c.req.body = src;
        c.req.body_offset = 0;
        c.req.body_length = src->size;
        st = bc_http_headers_set(&c.req.headers, "X-Amz-Content-Sha256", hash);
        if (st == BC_OK)
            st = set_create_headers(b, &c, create);
        if (st == BC_OK && conditional)
            st = bc_http_headers_set(&c.req.headers, "If-None-Match", "*");
        if (st == BC_OK)
            st = bc_http_perform(hc, &c.req, &c.resp);
        int retry_plain = st != BC_OK && conditional && conditional_unsupported(&c.resp);
        if (st != BC_OK && c.resp.status == 412)
            st = bc_error(BC_ERR_CONFLICT, "the object already exists");
        bc_s3_call_free(&c);
        if (!retry_plain)
            return st;
        note_no_conditional(b);   /* and a BC_IF_ABSENT_ONLY put is refused above */
    }
}

/* ---- multipart: the pipeline ------------------------------------------
 *
 * Parts are added in order to a work queue (util/workqueue.h) whose
 * workers, each on its own connection, send them; adding waits while
 * `concurrency` parts are queued or being sent, which bounds the memory a
 * streaming caller holds. The first failure stops the workers and is
 * reported by the next add, status check or complete. */

typedef struct queued_part {
    s3_part part;
    int number;               /* 1-based */
} queued_part;

struct s3_multipart {
    s3_backend *b;
    char *key;
    char *upload_id;
    int expected_parts;       /* 0: a stream of unknown length */
    int64_t part_size;        /* of every part but the last, for messages */
    s3_release_fn release;
    void *release_ctx;
    bc_http_client *control;  /* for create, complete and abort */
    bc_workq *parts;          /* the parts being sent */
    int nparts;               /* parts added so far */
    /* Per part, from UploadPart replies: each is written by the worker
     * that sent the part and read once the workers are joined. */
    char **etags;
    int max_parts;            /* room in etags */
};

static void release_part(s3_multipart *u, const s3_part *part)
{
    if (u->release && part->owner)
        u->release(u->release_ctx, part->owner);
}

static bc_status upload_part(s3_multipart *u, bc_http_client *hc, const queued_part *qp,
                             char **etag)
{
    const s3_part *p = &qp->part;
    char hash[65], number[16], which[48];
    snprintf(number, sizeof number, "%d", qp->number);
    if (u->expected_parts)
        snprintf(which, sizeof which, "part %d of %d", qp->number, u->expected_parts);
    else
        snprintf(which, sizeof which, "part %d", qp->number);
    qparam q[] = { { "partNumber", number }, { "uploadId", u->upload_id } };
    s3_call c;
    bc_status st = body_hash(u->b, p->src, p->offset, p->len, hash);
    if (st == BC_OK)
        st = bc_s3_call_init(&c, u->b, "PUT", u->key, q, 2);
    if (st != BC_OK)
        return bc_error_context(st, "%s", which);
    c.req.body = p->src;
    c.req.body_offset = p->offset;
    c.req.body_length = p->len;
    st = bc_http_headers_set(&c.req.headers, "X-Amz-Content-Sha256", hash);
    if (st == BC_OK)
        st = bc_http_perform(hc, &c.req, &c.resp);
    if (st == BC_OK) {
        if (!*c.resp.etag)
            st = bc_error(BC_ERR_DATA, "no ETag in the reply");
        else if (!(*etag = strdup(c.resp.etag)))
            st = bc_oom();
    }
    if (st != BC_OK)
        bc_error_context(st, "%s", which);
    bc_s3_call_free(&c);
    return st;
}

/* The work queue's side: a connection per worker, one part per item. */
static bc_status part_worker_open(void *ctx, void **worker)
{
    s3_multipart *u = ctx;
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(u->b->pool, &hc);
    if (st == BC_OK)
        *worker = hc;
    return st;
}

static void part_worker_close(void *ctx, void *worker)
{
    s3_multipart *u = ctx;
    bc_http_client_release(u->b->pool, worker);
}

static bc_status part_send(void *ctx, void *worker, void *item)
{
    s3_multipart *u = ctx;
    const queued_part *qp = item;
    return upload_part(u, worker, qp, &u->etags[qp->number - 1]);
}

static void part_release(void *ctx, void *item)
{
    release_part(ctx, &((queued_part *)item)->part);
}

static const bc_workq_ops part_queue = {
    .run = part_send, .open = part_worker_open, .close = part_worker_close,
    .release = part_release,
};

static char *complete_body(const s3_multipart *u)
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
                               const bc_http_headers *create, char **upload_id)
{
    qparam q[] = { { "uploads", "" } };
    s3_call c;
    bc_status st = bc_s3_call_init(&c, b, "POST", key, q, 1);
    if (st != BC_OK)
        return st;
    st = set_create_headers(b, &c, create);
    if (st == BC_OK)
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

static bc_status complete_upload(s3_backend *b, bc_http_client *hc, s3_multipart *u,
                                 const bc_put_opts *opts)
{
    char *xml = complete_body(u);
    if (!xml)
        return bc_oom();
    bc_status st;
    qparam q[] = { { "uploadId", u->upload_id } };
    for (int attempt = 1;; attempt++) {
        int conditional = opts && opts->if_absent && !atomic_load(&b->no_conditional);
        if (opts && opts->if_absent == BC_IF_ABSENT_ONLY && !conditional) {
            st = conditional_refused(b);
            break;
        }
        s3_call c;
        bc_source body;
        st = bc_s3_call_init(&c, b, "POST", u->key, q, 1);
        if (st != BC_OK)
            break;
        st = bc_s3_call_set_xml_body(&c, &body, xml);
        if (st == BC_OK && conditional)
            st = bc_http_headers_set(&c.req.headers, "If-None-Match", "*");
        if (st == BC_OK)
            st = bc_http_perform(hc, &c.req, &c.resp);
        int again = 0;
        if (st == BC_OK) {
            /* A 200 can still carry an error, sent after the status line. */
            char code[128] = "", msg[512] = "";
            if (bc_s3_error_in_body(&c.resp, code, sizeof code, msg, sizeof msg)) {
                int retryable = bc_s3_retryable_code(code);
                st = bc_error(retryable ? BC_ERR_NET : BC_ERR_INTERNAL, "HTTP 200 with error %s: %s",
                              code, msg);
                if (retryable && attempt <= b->max_retries) {
                    bc_log_info("completing the upload of s3://%s/%s: %s; retrying", b->bucket,
                                u->key, bc_error_msg());
                    bc_http_backoff(attempt, strcmp(code, "SlowDown") == 0);
                    again = 1;
                }
            }
        } else if (conditional && conditional_unsupported(&c.resp)) {
            note_no_conditional(b);
            again = 1;   /* plainly, or refused above for BC_IF_ABSENT_ONLY */
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
    bc_err saved;   /* the failure that made us abort: its message is the one */
    bc_error_save(&saved, BC_ERR_INTERNAL);
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
    bc_error_restore(&saved);
}

static void multipart_free(s3_multipart *u)
{
    bc_workq_abort(u->parts);
    for (int i = 0; u->etags && i < u->nparts; i++)
        free(u->etags[i]);
    free(u->etags);
    if (u->control)
        bc_http_client_release(u->b->pool, u->control);
    free(u->upload_id);
    free(u->key);
    free(u);
}

bc_status bc_s3_multipart_start(s3_backend *b, const char *key, const bc_http_headers *create,
                                int expected_parts, int64_t part_size, s3_release_fn release,
                                void *release_ctx, s3_multipart **out)
{
    *out = NULL;
    s3_multipart *u = calloc(1, sizeof *u);
    if (!u)
        return bc_oom();
    u->b = b;
    u->expected_parts = expected_parts;
    u->part_size = part_size;
    u->release = release;
    u->release_ctx = release_ctx;
    int nworkers = expected_parts > 0 && expected_parts < b->concurrency ? expected_parts
                                                                           : b->concurrency;
    u->key = strdup(key);
    u->max_parts = expected_parts > 0 ? expected_parts : b->max_parts;
    u->etags = calloc((size_t)u->max_parts, sizeof *u->etags);
    bc_status st = u->key && u->etags ? BC_OK : bc_oom();
    if (st == BC_OK)
        st = bc_http_client_acquire(b->pool, &u->control);
    if (st == BC_OK)
        st = create_upload(b, u->control, key, create, &u->upload_id);
    if (st == BC_OK)
        st = bc_workq_start(&part_queue, u, nworkers, sizeof(queued_part), 0, &u->parts);
    if (st != BC_OK) {
        if (u->upload_id)
            abort_upload(b, u->control, key, u->upload_id);
        multipart_free(u);
        return st;
    }
    *out = u;
    return BC_OK;
}

bc_status bc_s3_multipart_add(s3_multipart *u, const s3_part *part)
{
    bc_status st = bc_workq_status(u->parts);
    if (st == BC_OK && u->nparts == u->max_parts)
        st = bc_error(BC_ERR_USAGE, "the object needs more than %d parts of %lld MiB: "
                      "raise the part size or --max-parts", u->max_parts,
                      (long long)(u->part_size / MiB));
    if (st != BC_OK) {
        release_part(u, part);
        return st;
    }
    queued_part qp = { *part, ++u->nparts };
    return bc_workq_submit(u->parts, &qp);
}

bc_status bc_s3_multipart_wait(s3_multipart *u)
{
    return bc_workq_wait(u->parts);
}

bc_status bc_s3_multipart_status(s3_multipart *u)
{
    return bc_workq_status(u->parts);
}

bc_status bc_s3_multipart_complete(s3_multipart *u, const bc_put_opts *opts)
{
    bc_status st = bc_workq_finish(u->parts);
    u->parts = NULL;
    if (st == BC_OK)
        st = complete_upload(u->b, u->control, u, opts);
    if (st != BC_OK)
        abort_upload(u->b, u->control, u->key, u->upload_id);
    multipart_free(u);
    return st;
}

void bc_s3_multipart_abort(s3_multipart *u)
{
    if (!u)
        return;
    bc_workq_abort(u->parts);
    u->parts = NULL;
    abort_upload(u->b, u->control, u->key, u->upload_id);
    multipart_free(u);
}

/* ---- put -------------------------------------------------------------- */

int64_t bc_s3_part_size(int64_t part_size, int64_t size, int max_parts)
{
    if (size <= 0 || max_parts < 1 || (size + part_size - 1) / part_size <= max_parts)
        return part_size;
    int64_t least = (size + max_parts - 1) / max_parts;
    return (least + MiB - 1) / MiB * MiB;
}

static bc_status put_multipart(s3_backend *b, const char *key, const bc_source *src,
                               const bc_put_opts *opts, const bc_http_headers *create)
{
    int64_t part_size = bc_s3_part_size(b->part_size, src->size, b->max_parts);
    int nparts = (int)((src->size + part_size - 1) / part_size);

    s3_multipart *u;
    bc_status st = bc_s3_multipart_start(b, key, create, nparts, part_size, NULL, NULL, &u);
    for (int i = 0; st == BC_OK && i < nparts; i++) {
        int64_t off = (int64_t)i * part_size;
        s3_part part = { src, off, src->size - off < part_size ? src->size - off : part_size, NULL };
        st = bc_s3_multipart_add(u, &part);
        if (st != BC_OK)
            bc_s3_multipart_abort(u);
    }
    if (st != BC_OK)
        return st;
    return bc_s3_multipart_complete(u, opts);
}

bc_status bc_s3_put_failed(const s3_backend *b, const char *key, bc_status st)
{
    char loc[2048];
    bc_s3_where(b, key, loc, sizeof loc);
    if (st == BC_ERR_NOBUCKET)
        return bc_s3_missing(b, st, "put", loc);
    return bc_error_context(st, "put %s at %s", loc, b->endpoint);
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

    bc_http_headers create;
    bc_status st = bc_s3_create_headers(opts, &create);
    if (st != BC_OK)
        return st;
    if (src->size <= b->threshold) {
        bc_http_client *hc;
        st = bc_http_client_acquire(b->pool, &hc);
        if (st == BC_OK) {
            st = bc_s3_put_single(b, hc, key, src, opts, &create);
            bc_http_client_release(b->pool, hc);
        }
    } else {
        st = put_multipart(b, key, src, opts, &create);
    }
    bc_http_headers_free(&create);
    return st == BC_OK ? BC_OK : bc_s3_put_failed(b, key, st);
}
