/* The s3:// backend: AWS S3 and S3-compatible servers over the REST API.
 *
 * Requests go through lib/store/http (retries, timeouts, keep-alive) and are
 * signed per attempt with SigV4 over the real payload hash. Large uploads
 * are multipart, their parts sent by a few threads that each borrow their
 * own connection; a failed multipart upload is always aborted, so a failed
 * put never leaves an object behind.
 *
 * This file: open/close, the vtable, get, head, list and check; the rest is
 * in s3_request.c, s3_upload.c and s3_delete.c (see s3_internal.h). */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/http/list_page.h"
#include "store/s3/s3_internal.h"
#include "util/timefmt.h"
#include "store/http/xml.h"
#include "util/log.h"

#define DEFAULT_THRESHOLD (64 * MiB)
#define DEFAULT_PART_SIZE (16 * MiB)
#define MIN_PART_SIZE (5 * MiB)          /* S3's minimum for all parts but the last */
#define MAX_SINGLE_PUT ((int64_t)5 << 30) /* S3's limit for one PutObject */
#define DEFAULT_CONCURRENCY 4
#define MAX_CONCURRENCY 64
#define MAX_PARTS 10000                /* S3's cap on the parts of an upload */

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
    pthread_mutex_destroy(&b->where_lock);
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
        return bc_oom();
    pthread_mutex_init(&b->where_lock, NULL);
    b->bucket = strdup(bucket);
    b->prefix = strdup(prefix ? prefix : "");
    if (!b->bucket || !b->prefix) {
        st = bc_oom();
        goto fail;
    }
    const char *ca_bundle = cfg->ca_bundle && *cfg->ca_bundle ? cfg->ca_bundle : getenv("AWS_CA_BUNDLE");
    st = bc_aws_credentials_load(cfg->profile, ca_bundle, &b->creds);
    if (st != BC_OK)
        goto fail;
    if (!bc_s3_valid_region(b->creds.region)) {
        st = bc_error(BC_ERR_USAGE, "invalid AWS region '%s'", b->creds.region);
        goto fail;
    }
    snprintf(b->region, sizeof b->region, "%s", b->creds.region);
    st = bc_s3_setup_endpoint(b, cfg);
    if (st != BC_OK)
        goto fail;

    if ((cfg->sse && *cfg->sse && !(b->sse = strdup(cfg->sse))) ||
        (cfg->sse_kms_key_id && *cfg->sse_kms_key_id && !(b->sse_kms_key_id = strdup(cfg->sse_kms_key_id)))) {
        st = bc_oom();
        goto fail;
    }
    b->threshold = bc_store_config_clamp(cfg->multipart_threshold, DEFAULT_THRESHOLD, 1,
                                         MAX_SINGLE_PUT);
    b->part_size = bc_store_config_clamp(cfg->part_size, DEFAULT_PART_SIZE, MIN_PART_SIZE,
                                         INT64_MAX);
    b->concurrency = (int)bc_store_config_clamp(cfg->concurrency, DEFAULT_CONCURRENCY, 1,
                                                MAX_CONCURRENCY);
    b->max_parts = (int)bc_store_config_clamp(cfg->max_parts, MAX_PARTS, 1, MAX_PARTS);
    b->max_retries = cfg->max_retries == 0 ? 5 : cfg->max_retries < 0 ? 0 : cfg->max_retries;

    bc_http_config hc = { 0 };
    hc.read_timeout = cfg->read_timeout;
    hc.max_retries = cfg->max_retries;
    hc.ca_bundle = ca_bundle;
    st = bc_http_pool_new(&hc, &b->pool);
    if (st != BC_OK)
        goto fail;
    atomic_init(&b->no_conditional, 0);

    bc_log_debug("s3://%s at %s (%s-style, region %s, credentials from %s)", b->bucket,
                 b->endpoint, b->path_style ? "path" : "virtual-host", b->region,
                 b->creds.source);
    *out = b;
    return BC_OK;
fail:
    s3_close(b);
    return st;
}

/* ---- get / head ------------------------------------------------------- */

/* One request on an object on a borrowed connection; on failure the
 * message names op and the location (unless the sink refused the body:
 * its message says it all). */
static bc_status object_call(s3_backend *b, s3_call *c, const char *op, const char *key)
{
    bc_status st = bc_http_pool_perform(b->pool, &c->req, &c->resp);
    if (st == BC_OK)
        return st;
    char loc[2048];
    bc_s3_where(b, key, loc, sizeof loc);
    if (st == BC_ERR_NOTFOUND || st == BC_ERR_NOBUCKET)
        st = bc_s3_missing(b, st, op, loc);
    else if (!c->resp.sink_stopped)
        bc_error_context(st, "%s %s at %s", op, loc, b->endpoint);
    return st;
}

static bc_status s3_get(void *backend, const char *key, bc_sink_fn sink, void *ctx,
                        bc_object_meta *meta)
{
    s3_backend *b = backend;
    s3_call c;
    bc_status st = bc_s3_call_init(&c, b, "GET", key, NULL, 0);
    if (st == BC_OK) {
        bc_http_request_download(&c.req, sink, ctx, "x-amz-meta-", meta);
        st = object_call(b, &c, "get", key);
        bc_s3_call_free(&c);
    }
    return st;
}

static bc_status s3_head(void *backend, const char *key, bc_object_info *info)
{
    s3_backend *b = backend;
    s3_call c;
    bc_status st = bc_s3_call_init(&c, b, "HEAD", key, NULL, 0);
    if (st == BC_OK)
        st = object_call(b, &c, "head", key);
    if (st == BC_OK) {
        bc_http_response_object_info(&c.resp, key, info);
        if (info->size < 0) {
            char loc[2048];
            bc_s3_where(b, key, loc, sizeof loc);
            st = bc_error(BC_ERR_DATA, "head %s at %s: no Content-Length in the reply",
                          loc, b->endpoint);
        }
    }
    bc_s3_call_free(&c);
    return st;
}

/* ---- list ------------------------------------------------------------- */

/* Reads one ListObjectsV2 page into p; sets *next_token (NULL when done). */
static bc_status parse_list_page(const bc_http_response *r, bc_list_page *p, char **next_token)
{
    bc_xml_span doc = { r->body, r->body_len }, span, inner;
    size_t pos = 0;
    char num[64];
    *next_token = NULL;
    if (!r->body || !bc_xml_find(doc, "ListBucketResult", &doc))
        return bc_error(BC_ERR_DATA, "malformed ListObjectsV2 reply (no ListBucketResult)");
    while (bc_xml_next(doc, &pos, "Contents", &span)) {
        bc_list_entry e = { 0 };
        if (!bc_xml_find(span, "Key", &inner) || !(e.key = bc_xml_text_dup(inner)))
            return bc_error(BC_ERR_DATA, "malformed ListObjectsV2 reply (bad Key)");
        if (bc_xml_child_text(span, "Size", num, sizeof num) >= 0)
            e.size = strtoll(num, NULL, 10);
        if (bc_xml_child_text(span, "LastModified", num, sizeof num) >= 0)
            e.mtime = bc_time_from_iso8601(num);
        if (bc_list_page_add(p, e) < 0) {
            free(e.key);
            return bc_oom();
        }
    }
    pos = 0;
    while (bc_xml_next(doc, &pos, "CommonPrefixes", &span)) {
        bc_list_entry e = { 0 };
        e.is_prefix = 1;
        if (!bc_xml_find(span, "Prefix", &inner) || !(e.key = bc_xml_text_dup(inner)))
            return bc_error(BC_ERR_DATA, "malformed ListObjectsV2 reply (bad Prefix)");
        if (bc_list_page_add(p, e) < 0) {
            free(e.key);
            return bc_oom();
        }
    }
    /* Objects and common prefixes come as two sorted lists: merge them. */
    bc_list_page_sort(p);

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

static bc_status fetch_page(bc_lister *l, const char *token, bc_list_page *page, char **next)
{
    qparam q[] = {
        { "list-type", "2" },
        { "prefix", l->query_prefix },
        { "delimiter", l->query_delimiter },
        { "continuation-token", token },
    };
    s3_call c;
    bc_status st = bc_s3_call_init(&c, l->backend, "GET", NULL, q, 4);
    if (st != BC_OK)
        return st;
    st = bc_http_perform(l->hc, &c.req, &c.resp);
    if (st == BC_OK)
        st = parse_list_page(&c.resp, page, next);
    bc_s3_call_free(&c);
    return st;
}

static bc_status s3_list(void *backend, const char *prefix, const char *delimiter,
                         bc_list_fn fn, void *ctx)
{
    s3_backend *b = backend;
    bc_lister l = { .backend = b, .prefix = prefix, .delimiter = delimiter,
                    .token_name = "NextContinuationToken", .fetch = fetch_page, .pool = b->pool };
    bc_status st = bc_list_pages(&l, fn, ctx);
    if (l.end != BC_LIST_FAILED && l.end != BC_LIST_ENDLESS && st != BC_ERR_NOBUCKET)
        return st;
    char loc[2048];
    bc_s3_where(b, prefix, loc, sizeof loc);
    return st == BC_ERR_NOBUCKET ? bc_s3_missing(b, st, "list", loc)
                                 : bc_error_context(st, "list %s at %s", loc, b->endpoint);
}

/* ---- check ------------------------------------------------------------ */

static bc_status s3_check(void *backend)
{
    s3_backend *b = backend;
    char loc[2048];
    bc_s3_where(b, b->prefix, loc, sizeof loc);
    /* A one-key listing needs what HeadBucket needs (s3:ListBucket) but,
     * unlike HEAD, gets an error body saying which check failed; inside
     * "prefix/", so credentials scoped to the prefix pass it too. */
    char inside[1024];
    size_t plen = strlen(b->prefix);
    snprintf(inside, sizeof inside, "%s%s", b->prefix,
             plen && b->prefix[plen - 1] != '/' ? "/" : "");
    qparam q[] = { { "list-type", "2" }, { "max-keys", "1" },
                   { "prefix", *inside ? inside : NULL } };
    s3_call c;
    bc_status st = bc_s3_call_init(&c, b, "GET", NULL, q, 3);
    if (st == BC_OK) {
        st = bc_http_pool_perform(b->pool, &c.req, &c.resp);
        const char *code = c.resp.error_code;
        if (st == BC_OK) {
            bc_log_info("%s reachable at %s (credentials from %s)", loc, b->endpoint, b->creds.source);
        } else if (st == BC_ERR_NOBUCKET || (c.resp.status == 404 && !*code)) {
            st = bc_error(BC_ERR_NOBUCKET, "check %s: bucket '%s' does not exist at %s", loc,
                          b->bucket, b->endpoint);
        } else if (*c.resp.bucket_region && strcmp(c.resp.bucket_region, c.region) != 0) {
            /* Only when following it did not help (see bc_s3_follow_region). */
            st = bc_error(BC_ERR_USAGE, "check %s at %s: the bucket is in region %s, not %s "
                          "(set AWS_DEFAULT_REGION or the profile's region)", loc, b->endpoint,
                          c.resp.bucket_region, c.region);
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
        bc_s3_call_free(&c);
    }
    return st;
}

static void s3_access(void *backend, bc_store_access *out)
{
    const s3_backend *b = backend;
    out->endpoint = b->endpoint;
    out->credentials = b->creds.source;
}

const bc_store_ops bc_store_s3_ops = {
    .scheme = "s3",
    .provider = "aws-s3",
    .open = s3_open,
    .close = s3_close,
    .caps = bc_s3_caps,
    .access = s3_access,
    .check = s3_check,
    .put = bc_s3_put,
    .get = s3_get,
    .head = s3_head,
    .list = s3_list,
    .del = bc_s3_delete,
    .writer_open = bc_s3_writer_open,
    .writer_write = bc_s3_writer_write,
    .writer_commit = bc_s3_writer_commit,
    .writer_abort = bc_s3_writer_abort,
};
