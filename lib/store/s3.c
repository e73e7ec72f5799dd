/* The s3:// backend: AWS S3 and S3-compatible servers over the REST API.
 *
 * Requests go through lib/store/http (retries, timeouts, keep-alive) and are
 * signed per attempt with SigV4 over the real payload hash. Large uploads
 * are multipart, their parts sent by a few threads that each borrow their
 * own connection; a failed multipart upload is always aborted, so a failed
 * put never leaves an object behind. */
#include <ctype.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/aws_credentials.h"
#include "store/http.h"
#include "store/sigv4.h"
#include "store/store.h"
#include "store/xml.h"
#include "util/log.h"

#define MiB ((int64_t)1 << 20)
#define DEFAULT_THRESHOLD (64 * MiB)
#define DEFAULT_PART_SIZE (16 * MiB)
#define MIN_PART_SIZE (5 * MiB)          /* S3's minimum for all parts but the last */
#define MAX_SINGLE_PUT ((int64_t)5 << 30) /* S3's limit for one PutObject */
#define MAX_PARTS 10000
#define DEFAULT_CONCURRENCY 4
#define MAX_CONCURRENCY 64
#define DELETE_BATCH 1000
#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

typedef struct s3_backend {
    char *bucket;
    char *prefix;
    char *base_url;        /* scheme://host[:port][/path] requests start with */
    char *endpoint;        /* the endpoint as shown in messages */
    int path_style;
    int max_retries;
    bc_aws_credentials creds;
    bc_sigv4_signer signer;
    bc_http_pool *pool;
    char *sse;
    char *sse_kms_key_id;
    int64_t threshold;
    int64_t part_size;
    int concurrency;
    /* Set once a server answered NotImplemented to If-None-Match. */
    atomic_int no_conditional;
} s3_backend;

/* ---- small helpers ---------------------------------------------------- */

/* "s3://bucket/key" for messages (key may be NULL or empty). */
static void where(const s3_backend *b, const char *key, char *out, size_t outlen)
{
    snprintf(out, outlen, "s3://%s%s%s", b->bucket, key && *key ? "/" : "", key ? key : "");
}

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

/* Encoded query string from name/value pairs (NULL values skipped). */
typedef struct qparam {
    const char *name;
    const char *value;
} qparam;

static char *make_query(const qparam *p, size_t n)
{
    size_t cap = 1;
    char **enc = calloc(n ? n : 1, sizeof *enc);
    if (!enc)
        return NULL;
    char *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].value)
            continue;
        if (!(enc[i] = bc_sigv4_uri_encode(p[i].value, 0)))
            goto done;
        cap += strlen(p[i].name) + strlen(enc[i]) + 2;
    }
    if (!(out = malloc(cap)))
        goto done;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (enc[i])
            len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", len ? "&" : "",
                                    p[i].name, enc[i]);
done:
    for (size_t i = 0; i < n; i++)
        free(enc[i]);
    free(enc);
    return out;
}

/* URL of an object (key NULL: of the bucket), with an encoded query. */
static char *make_url(const s3_backend *b, const char *key, const char *query)
{
    char *ekey = bc_sigv4_uri_encode(key ? key : "", 1);
    if (!ekey)
        return NULL;
    size_t n = strlen(b->base_url) + strlen(b->bucket) + strlen(ekey) + (query ? strlen(query) : 0) + 8;
    char *url = malloc(n);
    if (url) {
        if (b->path_style)
            snprintf(url, n, "%s/%s%s%s", b->base_url, b->bucket, key ? "/" : "", ekey);
        else
            snprintf(url, n, "%s/%s", b->base_url, ekey);
        if (query && *query) {
            strcat(url, "?");
            strcat(url, query);
        }
    }
    free(ekey);
    return url;
}

static bc_status oom(void)
{
    return bc_error(BC_ERR_INTERNAL, "out of memory");
}

/* One signed request: URL, headers, reply. */
typedef struct s3_call {
    bc_http_request req;
    bc_http_response resp;
    char *url;
} s3_call;

static bc_status call_init(s3_call *c, const s3_backend *b, const char *method,
                           const char *key, const qparam *q, size_t nq)
{
    memset(c, 0, sizeof *c);
    char *query = NULL;
    if (nq && !(query = make_query(q, nq)))
        return oom();
    c->url = make_url(b, key, query);
    free(query);
    if (!c->url)
        return oom();
    c->req.method = method;
    c->req.url = c->url;
    c->req.sign = bc_sigv4_sign;
    c->req.sign_ctx = (void *)&b->signer;
    return BC_OK;
}

static void call_free(s3_call *c)
{
    bc_http_headers_free(&c->req.headers);
    bc_http_response_free(&c->resp);
    free(c->url);
}

/* Body from memory, with its payload hash. */
static bc_status call_set_xml_body(s3_call *c, bc_source *holder, const char *xml)
{
    char hash[65];
    holder->fd = -1;
    holder->mem = (const unsigned char *)xml;
    holder->size = (int64_t)strlen(xml);
    c->req.body = holder;
    c->req.body_offset = 0;
    c->req.body_length = holder->size;
    bc_sigv4_sha256_hex(xml, strlen(xml), hash);
    bc_status st = bc_http_headers_set(&c->req.headers, "Content-Type", "application/xml");
    if (st == BC_OK)
        st = bc_http_headers_set(&c->req.headers, "X-Amz-Content-Sha256", hash);
    return st;
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

/* An <Error> inside a 200 reply (CompleteMultipartUpload can do that). */
static int error_in_body(const bc_http_response *r, char *code, size_t codelen, char *msg, size_t msglen)
{
    bc_xml_span doc = { r->body, r->body_len }, err;
    if (!r->body || !bc_xml_find(doc, "Error", &err))
        return 0;
    bc_xml_child_text(err, "Code", code, codelen);
    bc_xml_child_text(err, "Message", msg, msglen);
    return 1;
}

/* ---- open / close ----------------------------------------------------- */

/* S3 bucket names (legacy ones included) are 3-255 of A-Z a-z 0-9 . - _;
 * checking that keeps them safe to put in a URL as they are. */
static int valid_bucket(const char *bucket)
{
    size_t n = strlen(bucket);
    if (n < 1 || n > 255)
        return 0;
    for (const char *p = bucket; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static int valid_region(const char *region)
{
    if (!*region || strlen(region) > 64)
        return 0;
    for (const char *p = region; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-'))
            return 0;
    return 1;
}

/* Buckets that can be a DNS label (no dots: TLS wildcards cover one label). */
static int dns_compatible(const char *bucket)
{
    size_t n = strlen(bucket);
    if (n < 3 || n > 63)
        return 0;
    for (const char *p = bucket; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
            return 0;
    return bucket[0] != '-' && bucket[n - 1] != '-';
}

static bc_status setup_endpoint(s3_backend *b, const bc_store_config *cfg)
{
    const char *addressing = cfg->addressing && *cfg->addressing ? cfg->addressing : "auto";
    int force_path = strcmp(addressing, "path") == 0;
    int force_virtual = strcmp(addressing, "virtual") == 0;
    if (!force_path && !force_virtual && strcmp(addressing, "auto") != 0)
        return bc_error(BC_ERR_USAGE, "unknown S3 addressing style '%s' (use auto, path or virtual)",
                        addressing);

    char buf[2048];
    if (cfg->endpoint_url && *cfg->endpoint_url) {
        const char *e = cfg->endpoint_url;
        while (isspace((unsigned char)*e))
            e++;
        size_t n = strlen(e);
        while (n && (isspace((unsigned char)e[n - 1]) || e[n - 1] == '/'))
            n--;
        size_t scheme = strncasecmp(e, "https://", 8) == 0 ? 8 : strncasecmp(e, "http://", 7) == 0 ? 7 : 0;
        if (!scheme || n <= scheme || n >= sizeof buf - 128)
            return bc_error(BC_ERR_USAGE, "endpoint URL '%s' must be http://host[:port] or https://host[:port]",
                            cfg->endpoint_url);
        /* Scheme and host are case-insensitive: lowercase them so the Host
         * header we sign is the canonical one. */
        memcpy(buf, e, n);
        buf[n] = '\0';
        size_t host_end = scheme + strcspn(buf + scheme, "/");
        for (size_t i = 0; i < host_end; i++)
            buf[i] = (char)tolower((unsigned char)buf[i]);
        if (!(b->endpoint = strdup(buf)))
            return oom();
        b->path_style = !force_virtual;
        if (b->path_style) {
            b->base_url = strdup(buf);
        } else {
            /* scheme://bucket.host... */
            char v[2300];
            snprintf(v, sizeof v, "%.*s%s.%s", (int)scheme, buf, b->bucket, buf + scheme);
            b->base_url = strdup(v);
        }
    } else {
        const char *region = b->creds.region;
        const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        b->path_style = force_path || (!force_virtual && !dns_compatible(b->bucket));
        if (b->path_style)
            snprintf(buf, sizeof buf, "https://s3.%s.%s", region, suffix);
        else
            snprintf(buf, sizeof buf, "https://%s.s3.%s.%s", b->bucket, region, suffix);
        b->base_url = strdup(buf);
        b->endpoint = strdup(buf);
    }
    return b->base_url && b->endpoint ? BC_OK : oom();
}

static void s3_close(void *backend)
{
    s3_backend *b = backend;
    if (!b)
        return;
    bc_http_pool_free(b->pool);
    bc_aws_credentials_free(&b->creds);
    free(b->bucket);
    free(b->prefix);
    free(b->base_url);
    free(b->endpoint);
    free(b->sse);
    free(b->sse_kms_key_id);
    free(b);
}

static bc_status s3_open(const bc_store_config *cfg, const char *bucket, const char *prefix,
                         void **out)
{
    bc_status st;
    if (!bucket || !*bucket)
        return bc_error(BC_ERR_USAGE, "S3 URL %s names no bucket", cfg->url ? cfg->url : "");
    if (!valid_bucket(bucket))
        return bc_error(BC_ERR_USAGE, "invalid S3 bucket name '%s'", bucket);
    s3_backend *b = calloc(1, sizeof *b);
    if (!b)
        return oom();
    b->bucket = strdup(bucket);
    b->prefix = strdup(prefix ? prefix : "");
    if (!b->bucket || !b->prefix) {
        st = oom();
        goto fail;
    }
    if ((st = bc_aws_credentials_load(cfg->profile, &b->creds)) != BC_OK)
        goto fail;
    if (!valid_region(b->creds.region)) {
        st = bc_error(BC_ERR_USAGE, "invalid AWS region '%s'", b->creds.region);
        goto fail;
    }
    if ((st = setup_endpoint(b, cfg)) != BC_OK)
        goto fail;
    b->signer.creds = &b->creds;
    b->signer.region = b->creds.region;
    b->signer.service = "s3";

    if ((cfg->sse && *cfg->sse && !(b->sse = strdup(cfg->sse))) ||
        (cfg->sse_kms_key_id && *cfg->sse_kms_key_id && !(b->sse_kms_key_id = strdup(cfg->sse_kms_key_id)))) {
        st = oom();
        goto fail;
    }
    b->threshold = cfg->multipart_threshold > 0 ? cfg->multipart_threshold : DEFAULT_THRESHOLD;
    if (b->threshold > MAX_SINGLE_PUT)
        b->threshold = MAX_SINGLE_PUT;
    b->part_size = cfg->part_size > 0 ? cfg->part_size : DEFAULT_PART_SIZE;
    if (b->part_size < MIN_PART_SIZE)
        b->part_size = MIN_PART_SIZE;
    b->concurrency = cfg->concurrency > 0 ? cfg->concurrency : DEFAULT_CONCURRENCY;
    if (b->concurrency > MAX_CONCURRENCY)
        b->concurrency = MAX_CONCURRENCY;
    b->max_retries = cfg->max_retries == 0 ? 5 : cfg->max_retries < 0 ? 0 : cfg->max_retries;

    bc_http_config hc = { 0 };
    hc.read_timeout = cfg->read_timeout;
    hc.max_retries = cfg->max_retries;
    hc.ca_bundle = cfg->ca_bundle && *cfg->ca_bundle ? cfg->ca_bundle : getenv("AWS_CA_BUNDLE");
    if ((st = bc_http_pool_new(&hc, &b->pool)) != BC_OK)
        goto fail;
    atomic_init(&b->no_conditional, 0);

    bc_log_debug("s3://%s at %s (%s-style, region %s, credentials from %s)", b->bucket,
                 b->endpoint, b->path_style ? "path" : "virtual-host", b->creds.region,
                 b->creds.source);
    *out = b;
    return BC_OK;
fail:
    s3_close(b);
    return st;
}

/* A clearer message for a missing object or bucket. */
static bc_status missing(const s3_backend *b, bc_status st, const char *op, const char *loc)
{
    if (st == BC_ERR_NOBUCKET)
        return bc_error(st, "%s %s at %s: bucket '%s' does not exist", op, loc, b->endpoint, b->bucket);
    return bc_error(st, "%s %s at %s: no such object", op, loc, b->endpoint);
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
        if ((st = call_init(&c, b, "PUT", key, NULL, 0)) != BC_OK)
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
        call_free(&c);
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
        st = call_init(&c, u->b, "PUT", u->key, q, 2);
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
            st = oom();
    }
    if (st != BC_OK)
        bc_error_context(st, "part %d of %d", idx + 1, u->nparts);
    call_free(&c);
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
        return oom();
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
    bc_status st = call_init(&c, b, "POST", key, q, 1);
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
    call_free(&c);
    return st;
}

static bc_status complete_upload(s3_backend *b, bc_http_client *hc, mp_upload *u,
                                 const bc_put_opts *opts)
{
    char *xml = complete_body(u);
    if (!xml)
        return oom();
    bc_status st;
    qparam q[] = { { "uploadId", u->upload_id } };
    for (int attempt = 1;; attempt++) {
        int conditional = opts && opts->if_absent && !atomic_load(&b->no_conditional);
        s3_call c;
        bc_source body;
        if ((st = call_init(&c, b, "POST", u->key, q, 1)) != BC_OK)
            break;
        if ((st = call_set_xml_body(&c, &body, xml)) == BC_OK && conditional)
            st = bc_http_headers_set(&c.req.headers, "If-None-Match", "*");
        if (st == BC_OK)
            st = bc_http_perform(hc, &c.req, &c.resp);
        int again = 0;
        if (st == BC_OK) {
            /* A 200 can still carry an error, sent after the status line. */
            char code[128] = "", msg[512] = "";
            if (error_in_body(&c.resp, code, sizeof code, msg, sizeof msg)) {
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
        call_free(&c);
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
    bc_status st = call_init(&c, b, "DELETE", key, q, 1);
    if (st == BC_OK) {
        st = bc_http_perform(hc, &c.req, &c.resp);
        if (st != BC_OK && c.resp.status != 404)
            bc_log_warning("could not abort multipart upload %s of s3://%s/%s: %s; its parts "
                           "use storage until a lifecycle rule removes them",
                           upload_id, b->bucket, key, bc_error_msg());
        call_free(&c);
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
        st = oom();
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

static bc_status s3_put(void *backend, const char *key, const bc_source *src,
                        const bc_put_opts *opts)
{
    s3_backend *b = backend;
    char loc[2048];
    where(b, key, loc, sizeof loc);
    if (!key || !*key)
        return bc_error(BC_ERR_USAGE, "put %s: empty key", loc);
    if (!src || src->size < 0 || (src->fd < 0 && src->size > 0 && !src->mem))
        return bc_error(BC_ERR_USAGE, "put %s: bad source", loc);

    char *tagging = tagging_header(opts);
    if (!tagging)
        return oom();
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
        return missing(b, st, "put", loc);
    if (st != BC_OK)
        return bc_error_context(st, "put %s at %s", loc, b->endpoint);
    return BC_OK;
}

/* ---- get / head ------------------------------------------------------- */

typedef struct get_sink {
    bc_sink_fn fn;
    void *ctx;
    int stopped;
} get_sink;

static int forward_sink(void *ctx, const void *data, size_t len)
{
    get_sink *g = ctx;
    int rc = g->fn(g->ctx, data, len);
    if (rc)
        g->stopped = 1;
    return rc;
}

static bc_status s3_get(void *backend, const char *key, bc_sink_fn sink, void *ctx)
{
    s3_backend *b = backend;
    char loc[2048];
    where(b, key, loc, sizeof loc);
    get_sink g = { sink, ctx, 0 };
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    s3_call c;
    if ((st = call_init(&c, b, "GET", key, NULL, 0)) == BC_OK) {
        c.req.sink = forward_sink;
        c.req.sink_ctx = &g;
        c.req.resumable = 1;
        st = bc_http_perform(hc, &c.req, &c.resp);
        if (st == BC_ERR_NOTFOUND || st == BC_ERR_NOBUCKET)
            st = missing(b, st, "get", loc);
        else if (st != BC_OK && !g.stopped)
            bc_error_context(st, "get %s at %s", loc, b->endpoint);
        call_free(&c);
    }
    bc_http_client_release(b->pool, hc);
    return st;
}

static bc_status s3_head(void *backend, const char *key, bc_object_info *info)
{
    s3_backend *b = backend;
    char loc[2048];
    where(b, key, loc, sizeof loc);
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    s3_call c;
    if ((st = call_init(&c, b, "HEAD", key, NULL, 0)) == BC_OK) {
        st = bc_http_perform(hc, &c.req, &c.resp);
        if (st == BC_OK) {
            memset(info, 0, sizeof *info);
            info->key = key;
            info->size = c.resp.content_length;
            info->mtime = *c.resp.last_modified ? curl_getdate(c.resp.last_modified, NULL) : 0;
            if (info->mtime < 0)
                info->mtime = 0;
            if (info->size < 0)
                st = bc_error(BC_ERR_DATA, "head %s at %s: no Content-Length in the reply",
                              loc, b->endpoint);
        } else if (st == BC_ERR_NOTFOUND || st == BC_ERR_NOBUCKET) {
            st = missing(b, st, "head", loc);
        } else {
            bc_error_context(st, "head %s at %s", loc, b->endpoint);
        }
        call_free(&c);
    }
    bc_http_client_release(b->pool, hc);
    return st;
}

/* ---- list ------------------------------------------------------------- */

typedef struct list_entry {
    char *key;
    int64_t size;
    time_t mtime;
    int is_prefix;
} list_entry;

typedef struct list_page {
    list_entry *items;
    size_t n, cap;
} list_page;

static void page_clear(list_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].key);
    p->n = 0;
}

static int page_add(list_page *p, list_entry e)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        list_entry *items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return -1;
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n++] = e;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const list_entry *)a)->key, ((const list_entry *)b)->key);
}

/* "2009-10-12T17:50:30.000Z" */
static time_t parse_iso8601(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t < 0 ? 0 : t;
}

/* Reads one ListObjectsV2 page into p; sets *next_token (NULL when done). */
static bc_status parse_list_page(const bc_http_response *r, list_page *p, char **next_token)
{
    bc_xml_span doc = { r->body, r->body_len }, span, inner;
    size_t pos = 0;
    char num[64];
    *next_token = NULL;
    if (!r->body || !bc_xml_find(doc, "ListBucketResult", &doc))
        return bc_error(BC_ERR_DATA, "malformed ListObjectsV2 reply (no ListBucketResult)");
    while (bc_xml_next(doc, &pos, "Contents", &span)) {
        list_entry e = { 0 };
        if (!bc_xml_find(span, "Key", &inner) || !(e.key = bc_xml_text_dup(inner)))
            return bc_error(BC_ERR_DATA, "malformed ListObjectsV2 reply (bad Key)");
        char *end;
        if (bc_xml_child_text(span, "Size", num, sizeof num) >= 0)
            e.size = strtoll(num, &end, 10);
        if (bc_xml_child_text(span, "LastModified", num, sizeof num) >= 0)
            e.mtime = parse_iso8601(num);
        if (page_add(p, e) < 0) {
            free(e.key);
            return oom();
        }
    }
    pos = 0;
    while (bc_xml_next(doc, &pos, "CommonPrefixes", &span)) {
        list_entry e = { 0 };
        e.is_prefix = 1;
        if (!bc_xml_find(span, "Prefix", &inner) || !(e.key = bc_xml_text_dup(inner)))
            return bc_error(BC_ERR_DATA, "malformed ListObjectsV2 reply (bad Prefix)");
        if (page_add(p, e) < 0) {
            free(e.key);
            return oom();
        }
    }
    /* Objects and common prefixes come as two sorted lists: merge them. */
    if (p->n > 1)
        qsort(p->items, p->n, sizeof *p->items, cmp_entry);

    char truncated[16] = "";
    bc_xml_child_text(doc, "IsTruncated", truncated, sizeof truncated);
    if (strcmp(truncated, "true") == 0) {
        if (!bc_xml_find(doc, "NextContinuationToken", &inner) ||
            !(*next_token = bc_xml_text_dup(inner)) || !**next_token) {
            free(*next_token);
            *next_token = NULL;
            return bc_error(BC_ERR_DATA, "truncated ListObjectsV2 reply without NextContinuationToken");
        }
    }
    return BC_OK;
}

static bc_status s3_list(void *backend, const char *prefix, const char *delimiter,
                         bc_list_fn fn, void *ctx)
{
    s3_backend *b = backend;
    char loc[2048];
    where(b, prefix, loc, sizeof loc);
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    list_page page = { 0 };
    char *token = NULL;
    int stopped = 0;
    do {
        qparam q[] = {
            { "list-type", "2" },
            { "prefix", prefix && *prefix ? prefix : NULL },
            { "delimiter", delimiter && *delimiter ? delimiter : NULL },
            { "continuation-token", token },
        };
        s3_call c;
        if ((st = call_init(&c, b, "GET", NULL, q, 4)) != BC_OK)
            break;
        st = bc_http_perform(hc, &c.req, &c.resp);
        free(token);
        token = NULL;
        page_clear(&page);
        if (st == BC_OK)
            st = parse_list_page(&c.resp, &page, &token);
        call_free(&c);
        for (size_t i = 0; st == BC_OK && i < page.n; i++) {
            bc_object_info info = { page.items[i].key, page.items[i].size, page.items[i].mtime,
                                    page.items[i].is_prefix };
            int rc = fn(ctx, &info);
            if (rc) {
                st = (bc_status)rc;
                stopped = 1;
            }
        }
    } while (st == BC_OK && token);
    free(token);
    page_clear(&page);
    free(page.items);
    bc_http_client_release(b->pool, hc);
    if (st == BC_ERR_NOBUCKET)
        return bc_error(st, "list %s at %s: bucket '%s' does not exist", loc, b->endpoint, b->bucket);
    if (st != BC_OK && !stopped)
        bc_error_context(st, "list %s at %s", loc, b->endpoint);
    return st;
}

/* ---- delete ----------------------------------------------------------- */

static bc_status content_md5(const char *data, size_t len, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_md5(), NULL) || n != 16)
        return bc_error(BC_ERR_INTERNAL, "MD5 unavailable in this OpenSSL");
    EVP_EncodeBlock((unsigned char *)out, md, 16);
    return BC_OK;
}

static char *delete_body(const char *const *keys, size_t n)
{
    size_t cap = 256;
    for (size_t i = 0; i < n; i++)
        cap += 32 + 6 * strlen(keys[i]);
    char *xml = malloc(cap);
    if (!xml)
        return NULL;
    size_t len = (size_t)snprintf(xml, cap, "<Delete xmlns=\"" S3_NS "\"><Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        char *k = bc_xml_escape(keys[i]);
        if (!k) {
            free(xml);
            return NULL;
        }
        len += (size_t)snprintf(xml + len, cap - len, "<Object><Key>%s</Key></Object>", k);
        free(k);
    }
    snprintf(xml + len, cap - len, "</Delete>");
    return xml;
}

typedef struct delete_errors {
    size_t count;             /* keys that could not be deleted, for good */
    bc_status status;
    char first[1024];
    char **retry;             /* keys that failed transiently, to send again */
    size_t nretry;
} delete_errors;

static void record_key_error(const s3_backend *b, delete_errors *errs, const char *key,
                             const char *code, const char *msg)
{
    bc_log_warning("delete s3://%s/%s: %s: %s", b->bucket, key, code, msg);
    if (errs->count++ == 0) {
        errs->status = strcmp(code, "AccessDenied") == 0 ? BC_ERR_AUTH
                       : bc_http_retryable_code(code)    ? BC_ERR_NET
                                                         : BC_ERR_INTERNAL;
        snprintf(errs->first, sizeof errs->first, "s3://%.255s/%.400s: %.100s: %.200s", b->bucket,
                 key, code, msg);
    }
}

/* One DeleteObjects request for up to 1000 keys. Keys that failed with a
 * transient error go to errs->retry when `last` is 0. */
static bc_status delete_batch(s3_backend *b, bc_http_client *hc, const char *const *keys,
                              size_t n, int last, delete_errors *errs)
{
    char *xml = delete_body(keys, n);
    if (!xml)
        return oom();
    char md5[32];
    bc_source body;
    s3_call c;
    qparam q[] = { { "delete", "" } };
    bc_status st = content_md5(xml, strlen(xml), md5);
    if (st == BC_OK && (st = call_init(&c, b, "POST", NULL, q, 1)) == BC_OK) {
        if ((st = call_set_xml_body(&c, &body, xml)) == BC_OK &&
            (st = bc_http_headers_set(&c.req.headers, "Content-MD5", md5)) == BC_OK)
            st = bc_http_perform(hc, &c.req, &c.resp);
        bc_xml_span doc = { c.resp.body, c.resp.body_len }, result, err;
        if (st == BC_OK && (!c.resp.body || !bc_xml_find(doc, "DeleteResult", &result))) {
            char code[128] = "", msg[512] = "";
            if (error_in_body(&c.resp, code, sizeof code, msg, sizeof msg))
                st = bc_error(BC_ERR_INTERNAL, "HTTP 200 with error %s: %s", code, msg);
            else
                st = bc_error(BC_ERR_DATA, "malformed DeleteObjects reply");
        }
        size_t pos = 0;
        while (st == BC_OK && bc_xml_next(result, &pos, "Error", &err)) {
            char key[1024] = "", code[128] = "", msg[512] = "";
            bc_xml_child_text(err, "Key", key, sizeof key);
            bc_xml_child_text(err, "Code", code, sizeof code);
            bc_xml_child_text(err, "Message", msg, sizeof msg);
            if (strcmp(code, "NoSuchKey") == 0)
                continue;   /* already gone: that is what we wanted */
            if (!last && *key && bc_http_retryable_code(code)) {
                char **grown = realloc(errs->retry, (errs->nretry + 1) * sizeof *grown);
                char *copy = strdup(key);
                if (grown)
                    errs->retry = grown;
                if (!grown || !copy) {
                    free(copy);
                    st = oom();
                    break;
                }
                errs->retry[errs->nretry++] = copy;
                continue;
            }
            record_key_error(b, errs, key, code, msg);
        }
        call_free(&c);
    }
    free(xml);
    return st;
}

static void free_keys(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

static bc_status s3_delete(void *backend, const char *const *keys, size_t nkeys)
{
    s3_backend *b = backend;
    if (nkeys == 0)
        return BC_OK;
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    delete_errors errs = { 0, BC_OK, "", NULL, 0 };
    for (size_t i = 0; st == BC_OK && i < nkeys; i += DELETE_BATCH) {
        size_t n = nkeys - i < DELETE_BATCH ? nkeys - i : DELETE_BATCH;
        st = delete_batch(b, hc, keys + i, n, b->max_retries == 0, &errs);
    }
    /* Keys that failed with SlowDown or InternalError: again, after a pause. */
    for (int round = 1; st == BC_OK && errs.nretry > 0; round++) {
        char **again = errs.retry;
        size_t nagain = errs.nretry;
        errs.retry = NULL;
        errs.nretry = 0;
        bc_log_info("delete in s3://%s: retrying %zu keys", b->bucket, nagain);
        bc_http_backoff(round);
        for (size_t i = 0; st == BC_OK && i < nagain; i += DELETE_BATCH) {
            size_t n = nagain - i < DELETE_BATCH ? nagain - i : DELETE_BATCH;
            st = delete_batch(b, hc, (const char *const *)again + i, n, round >= b->max_retries, &errs);
        }
        free_keys(again, nagain);
    }
    free_keys(errs.retry, errs.nretry);
    bc_http_client_release(b->pool, hc);
    char loc[2048];
    where(b, NULL, loc, sizeof loc);
    if (st == BC_ERR_NOBUCKET)
        return bc_error(st, "delete in %s at %s: bucket '%s' does not exist", loc, b->endpoint, b->bucket);
    if (st != BC_OK)
        return bc_error_context(st, "delete in %s at %s", loc, b->endpoint);
    if (errs.count)
        return bc_error(errs.status, "delete in %s at %s: %zu of %zu keys not deleted, first %s",
                        loc, b->endpoint, errs.count, nkeys, errs.first);
    return BC_OK;
}

/* ---- check ------------------------------------------------------------ */

static bc_status s3_check(void *backend)
{
    s3_backend *b = backend;
    char loc[2048];
    where(b, b->prefix, loc, sizeof loc);
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    /* A one-key listing needs what HeadBucket needs (s3:ListBucket) but,
     * unlike HEAD, gets an error body saying which check failed. */
    qparam q[] = { { "list-type", "2" }, { "max-keys", "1" },
                   { "prefix", *b->prefix ? b->prefix : NULL } };
    s3_call c;
    if ((st = call_init(&c, b, "GET", NULL, q, 3)) == BC_OK) {
        st = bc_http_perform(hc, &c.req, &c.resp);
        const char *code = c.resp.error_code;
        if (st == BC_OK) {
            bc_log_info("%s reachable at %s (credentials from %s)", loc, b->endpoint, b->creds.source);
        } else if (st == BC_ERR_NOBUCKET || (c.resp.status == 404 && !*code)) {
            st = bc_error(BC_ERR_NOBUCKET, "check %s: bucket '%s' does not exist at %s", loc,
                          b->bucket, b->endpoint);
        } else if (*c.resp.bucket_region && strcmp(c.resp.bucket_region, b->creds.region) != 0) {
            st = bc_error(BC_ERR_USAGE, "check %s at %s: the bucket is in region %s, not %s "
                          "(set AWS_DEFAULT_REGION or the profile's region)", loc, b->endpoint,
                          c.resp.bucket_region, b->creds.region);
        } else if (st == BC_ERR_AUTH) {
            const char *what = strcmp(code, "InvalidAccessKeyId") == 0
                                   ? "the access key is unknown to the server"
                               : strcmp(code, "SignatureDoesNotMatch") == 0
                                   ? "the secret key is wrong (signature mismatch)"
                               : strcmp(code, "AccessDenied") == 0
                                   ? "access denied (the credentials lack s3:ListBucket on the bucket)"
                               : strcmp(code, "ExpiredToken") == 0 ? "the session token has expired"
                                                                   : "credentials rejected";
            char detail[2048];
            snprintf(detail, sizeof detail, "%s", bc_error_msg());
            st = bc_error(BC_ERR_AUTH, "check %s at %s: %s; access key %s from %s (%s)", loc,
                          b->endpoint, what, b->creds.access_key, b->creds.source, detail);
        } else {
            bc_error_context(st, "check %s at %s", loc, b->endpoint);
        }
        call_free(&c);
    }
    bc_http_client_release(b->pool, hc);
    return st;
}

const bc_store_ops bc_store_s3_ops = {
    .scheme = "s3",
    .open = s3_open,
    .close = s3_close,
    .check = s3_check,
    .put = s3_put,
    .get = s3_get,
    .head = s3_head,
    .list = s3_list,
    .del = s3_delete,
};
