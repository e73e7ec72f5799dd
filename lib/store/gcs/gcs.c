/* The gs:// backend: Google Cloud Storage over its JSON API
 * (https://storage.googleapis.com/storage/v1, uploads under /upload).
 *
 * Requests go through lib/store/http (retries on 5xx and 429, timeouts,
 * keep-alive) and carry an OAuth 2.0 bearer token from
 * google_credentials.c, added before every attempt. STORAGE_EMULATOR_HOST
 * points the backend at an emulator (unauthenticated unless
 * GOOGLE_APPLICATION_CREDENTIALS is set), as Google's clients do.
 *
 * This file: open/close, the vtable, get, head, list, delete and check; the
 * rest is in gcs_request.c and gcs_upload.c (see gcs_internal.h). */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/gcs/gcs_internal.h"
#include "store/http/batch.h"
#include "store/http/list_page.h"
#include "util/timefmt.h"
#include "util/log.h"

#define DEFAULT_THRESHOLD (64 * GCS_MiB)
#define DEFAULT_CHUNK (16 * GCS_MiB)
#define MAX_SINGLE_PUT (5 * 1024 * GCS_MiB)

/* ---- open / close ----------------------------------------------------- */

/* Bucket names: 3-222 of a-z 0-9 - _ . (safe in a URL once encoded). */
static int valid_bucket(const char *bucket)
{
    size_t n = strlen(bucket);
    if (n < 3 || n > 222)
        return 0;
    for (const char *p = bucket; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' ||
              *p == '_' || *p == '.'))
            return 0;
    return 1;
}

static void gcs_close(void *backend)
{
    gcs_backend *b = backend;
    if (!b)
        return;
    bc_http_pool_free(b->pool);
    bc_google_credentials_free(b->creds);
    free(b->bucket);
    free(b->prefix);
    free(b->base_url);
    free(b->kms_key_name);
    free(b);
}

static bc_status gcs_open(const bc_store_config *cfg, const char *bucket, const char *prefix,
                          void **out)
{
    bc_status st;
    if (!bucket || !valid_bucket(bucket))
        return bc_error(BC_ERR_USAGE, "invalid Google Cloud Storage bucket name '%s' in %s "
                        "(3-222 of a-z 0-9 - _ .)", bucket ? bucket : "", cfg->url);
    gcs_backend *b = calloc(1, sizeof *b);
    if (!b)
        return bc_oom();
    b->bucket = strdup(bucket);
    b->prefix = strdup(prefix ? prefix : "");
    if (!b->bucket || !b->prefix ||
        (cfg->kms_key_name && *cfg->kms_key_name && !(b->kms_key_name = strdup(cfg->kms_key_name)))) {
        st = bc_oom();
        goto fail;
    }
    int emulator;
    st = bc_gcs_setup_endpoint(b, cfg, &emulator);
    if (st != BC_OK)
        goto fail;
    bc_http_config hc = { 0 };
    hc.read_timeout = cfg->read_timeout;
    hc.max_retries = cfg->max_retries;
    hc.ca_bundle = cfg->ca_bundle;
    st = bc_http_pool_new(&hc, &b->pool);
    if (st == BC_OK)
        st = bc_google_credentials_load(&hc, emulator, &b->creds);
    if (st != BC_OK)
        goto fail;

    b->threshold = bc_store_config_clamp(cfg->multipart_threshold, DEFAULT_THRESHOLD, 1,
                                         MAX_SINGLE_PUT);
    /* Whole chunk units, at least one. */
    int64_t chunk = bc_store_config_clamp(cfg->part_size, DEFAULT_CHUNK, GCS_CHUNK_UNIT, INT64_MAX);
    b->chunk_size = chunk / GCS_CHUNK_UNIT * GCS_CHUNK_UNIT;
    bc_log_debug("gs://%s at %s (credentials: %s)", b->bucket, b->base_url,
                 bc_google_credentials_source(b->creds));
    *out = b;
    return BC_OK;
fail:
    gcs_close(b);
    return st;
}

/* ---- get / head ------------------------------------------------------- */

/* One request on an object with a borrowed connection; on failure the
 * message names op and the location (unless the sink refused the body:
 * its message says it all). */
static bc_status object_call(gcs_backend *b, gcs_call *c, const char *op, const char *key)
{
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK)
        return st;
    st = bc_gcs_perform(hc, c);
    bc_http_client_release(b->pool, hc);
    char loc[2048];
    bc_gcs_where(b, key, loc, sizeof loc);
    if (st == BC_ERR_NOTFOUND || st == BC_ERR_NOBUCKET)
        st = bc_gcs_missing(b, st, op, loc);
    else if (st != BC_OK && !c->resp.sink_stopped)
        bc_error_context(st, "%s %s at %s", op, loc, b->base_url);
    return st;
}

/* The media download carries the custom metadata as x-goog-meta-* headers. */
static bc_status gcs_get(void *backend, const char *key, bc_sink_fn sink, void *ctx,
                         bc_object_meta *meta)
{
    gcs_backend *b = backend;
    gcs_param q[] = { { "alt", "media" } };
    gcs_call c;
    bc_status st = bc_gcs_call_init(&c, b, "GET", GCS_OBJECT, key, q, 1);
    if (st == BC_OK) {
        bc_http_request_download(&c.req, sink, ctx, "x-goog-meta-", meta);
        st = object_call(b, &c, "get", key);
        bc_gcs_call_free(&c);
    }
    return st;
}

static bc_status gcs_head(void *backend, const char *key, bc_object_info *info)
{
    gcs_backend *b = backend;
    gcs_param q[] = { { "fields", "name,size,updated" } };
    gcs_call c;
    bc_status st = bc_gcs_call_init(&c, b, "GET", GCS_OBJECT, key, q, 1);
    if (st == BC_OK)
        st = object_call(b, &c, "head", key);
    if (st == BC_OK) {
        json_t *doc = c.resp.body ? json_loadb(c.resp.body, c.resp.body_len, 0, NULL) : NULL;
        memset(info, 0, sizeof *info);
        info->key = key;
        info->size = bc_gcs_json_int(json_object_get(doc, "size"));
        info->mtime = bc_time_from_iso8601(json_string_value(json_object_get(doc, "updated")));
        if (info->size < 0)
            st = bc_error(BC_ERR_DATA, "head gs://%s/%s at %s: no object size in the reply",
                          b->bucket, key, b->base_url);
        json_decref(doc);
    }
    bc_gcs_call_free(&c);
    return st;
}

/* ---- list ------------------------------------------------------------- */

bc_status bc_gcs_list_page_parse(json_t *doc, bc_list_page *p, char **next_token)
{
    json_t *items = json_object_get(doc, "items"), *prefixes = json_object_get(doc, "prefixes");
    const char *next = json_string_value(json_object_get(doc, "nextPageToken"));
    size_t i;
    json_t *v;
    int nameless = 0;
    *next_token = NULL;
    json_array_foreach(items, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        int64_t size = bc_gcs_json_int(json_object_get(v, "size"));
        bc_list_entry e = {.size = size < 0 ? 0 : size,
                           .mtime = bc_time_from_iso8601(
                               json_string_value(json_object_get(v, "updated")))};
        nameless |= !name;
        if (name && (!(e.key = strdup(name)) || bc_list_page_add(p, e) < 0)) {
            free(e.key);
            return bc_oom();
        }
    }
    json_array_foreach(prefixes, i, v) {
        const char *name = json_string_value(v);
        bc_list_entry e = {.is_prefix = 1};
        nameless |= !name;
        if (name && (!(e.key = strdup(name)) || bc_list_page_add(p, e) < 0)) {
            free(e.key);
            return bc_oom();
        }
    }
    if (nameless)
        return bc_error(BC_ERR_DATA, "malformed objects.list reply (an item without a name)");
    /* Objects and prefixes come as two sorted lists: merge them. */
    bc_list_page_sort(p);
    if (next && *next && !(*next_token = strdup(next)))
        return bc_oom();
    return BC_OK;
}

static bc_status fetch_page(bc_lister *l, const char *token, bc_list_page *page, char **next)
{
    gcs_param q[] = {
        { "prefix", l->query_prefix },
        { "delimiter", l->query_delimiter },
        { "pageToken", token },
        { "fields", "items(name,size,updated),prefixes,nextPageToken" },
    };
    gcs_call c;
    bc_status st = bc_gcs_call_init(&c, l->backend, "GET", GCS_OBJECTS, NULL, q, 4);
    if (st != BC_OK)
        return st;
    st = bc_gcs_perform(l->hc, &c);
    json_t *doc = NULL;
    if (st == BC_OK && !(doc = json_loadb(c.resp.body ? c.resp.body : "", c.resp.body_len, 0, NULL)))
        st = bc_error(BC_ERR_DATA, "malformed objects.list reply (not JSON)");
    bc_gcs_call_free(&c);
    if (st == BC_OK)
        st = bc_gcs_list_page_parse(doc, page, next);
    json_decref(doc);
    return st;
}

static bc_status gcs_list(void *backend, const char *prefix, const char *delimiter,
                          bc_list_fn fn, void *ctx)
{
    gcs_backend *b = backend;
    bc_lister l = { .backend = b, .prefix = prefix, .delimiter = delimiter,
                    .token_name = "nextPageToken", .fetch = fetch_page, .pool = b->pool };
    bc_status st = bc_list_pages(&l, fn, ctx);
    int missing = st == BC_ERR_NOBUCKET || st == BC_ERR_NOTFOUND;
    if (l.end != BC_LIST_FAILED && l.end != BC_LIST_ENDLESS && !missing)
        return st;
    char loc[2048];
    bc_gcs_where(b, prefix, loc, sizeof loc);
    return missing ? bc_gcs_missing(b, BC_ERR_NOBUCKET, "list", loc)
                   : bc_error_context(st, "list %s at %s", loc, b->base_url);
}

/* ---- delete ----------------------------------------------------------- */

/* Cloud Storage's JSON batch endpoint takes at most 100 calls a request. */
#define BATCH_MAX 100

/* The answers to one batch of deletes: 204 or 404 (already gone) is done. */
static bc_status batch_verdict(gcs_backend *b, const gcs_call *c, const char *const *keys,
                               size_t n)
{
    bc_http_batch_answer answers[BATCH_MAX];
    size_t seen = bc_http_batch_answers(c->resp.body, c->resp.body ? c->resp.body_len : 0,
                                        NULL, answers, BATCH_MAX);
    for (size_t i = 0; i < seen && i < n; i++) {
        int status = answers[i].status;
        if (status == 204 || status == 200 || status == 404)
            continue;
        char loc[2048];
        bc_gcs_where(b, keys[i], loc, sizeof loc);
        return bc_error(status == 401 || status == 403 ? BC_ERR_AUTH
                        : status >= 500 || status == 429 ? BC_ERR_NET : BC_ERR_INTERNAL,
                        "delete %s at %s: HTTP %d in the batch reply", loc, b->base_url, status);
    }
    if (seen != n)
        return bc_error(BC_ERR_DATA, "delete in gs://%s at %s: the batch reply holds %zu "
                        "answers for %zu deletes", b->bucket, b->base_url, seen, n);
    return BC_OK;
}

static bc_status delete_batch(gcs_backend *b, bc_http_client *hc, const char *const *keys,
                              size_t n)
{
    bc_http_batch batch;
    bc_http_batch_init(&batch);
    bc_status st = BC_OK;
    size_t base = strlen(b->base_url);
    for (size_t i = 0; st == BC_OK && i < n; i++) {
        gcs_call sub;
        st = bc_gcs_call_init(&sub, b, "DELETE", GCS_OBJECT, keys[i], NULL, 0);
        if (st == BC_OK)
            bc_http_batch_add(&batch, "DELETE", sub.url + base, NULL);
        bc_gcs_call_free(&sub);
    }
    if (st == BC_OK)
        st = bc_http_batch_finish(&batch);
    gcs_call c;
    bc_buffer url = {0};
    bc_buffer_addf(&url, "%s/batch/storage/v1", b->base_url);
    bc_source src = {.fd = -1, .mem = batch.body.data, .size = (int64_t)batch.body.len};
    if (st == BC_OK)
        st = url.failed ? bc_oom() : bc_gcs_call_init_url(&c, b, "POST", (char *)url.data);
    if (st == BC_OK) {
        c.req.body = &src;
        c.req.body_length = src.size;
        st = bc_http_headers_set(&c.req.headers, "Content-Type", batch.content_type);
        if (st == BC_OK)
            st = bc_gcs_perform(hc, &c);
        if (st == BC_OK)
            st = batch_verdict(b, &c, keys, n);
        else
            st = st == BC_ERR_NOBUCKET ? bc_gcs_missing(b, st, "delete", b->bucket)
                                       : bc_error_context(st, "delete in gs://%s at %s",
                                                          b->bucket, b->base_url);
        bc_gcs_call_free(&c);
    }
    bc_buffer_free(&url);
    bc_http_batch_free(&batch);
    return st;
}

/* Deletes go in batches of 100 calls, one request each. */
static bc_status gcs_delete(void *backend, const char *const *keys, size_t nkeys)
{
    gcs_backend *b = backend;
    bc_http_client *hc = NULL;
    bc_status st = bc_http_client_acquire(b->pool, &hc);
    for (size_t i = 0; st == BC_OK && i < nkeys; i += BATCH_MAX)
        st = delete_batch(b, hc, keys + i, nkeys - i < BATCH_MAX ? nkeys - i : BATCH_MAX);
    if (hc)
        bc_http_client_release(b->pool, hc);
    return st;
}

/* ---- check ------------------------------------------------------------ */

/* Stage of a failure for check's message. */
static const char *failed_stage(bc_status st, const char *msg)
{
    if (st == BC_ERR_NET && strstr(msg, "cannot resolve"))
        return "DNS lookup failed";
    if (st == BC_ERR_NET && strstr(msg, "TLS"))
        return "TLS failed";
    if (st == BC_ERR_NET && (strstr(msg, "cannot connect") || strstr(msg, "timed out")))
        return "connection failed";
    return st == BC_ERR_NET ? "the store failed" : NULL;
}

static bc_status gcs_check(void *backend)
{
    gcs_backend *b = backend;
    const char *who = bc_google_credentials_source(b->creds);
    gcs_call c;
    bc_status st = bc_gcs_call_init(&c, b, "GET", GCS_BUCKET, NULL, NULL, 0);
    if (st != BC_OK)
        return st;
    bc_http_client *hc;
    st = bc_http_client_acquire(b->pool, &hc);
    if (st != BC_OK) {
        bc_gcs_call_free(&c);
        return st;
    }
    st = bc_gcs_perform(hc, &c);
    long status = c.resp.status;
    bc_gcs_call_free(&c);
    if (st == BC_ERR_AUTH && status == 403) {
        /* storage.buckets.get is not in every role that may use the
         * objects (roles/storage.objectAdmin): a one-object listing is
         * what the tools need. */
        gcs_param q[] = { { "maxResults", "1" }, { "prefix", *b->prefix ? b->prefix : NULL } };
        st = bc_gcs_call_init(&c, b, "GET", GCS_OBJECTS, NULL, q, 2);
        if (st == BC_OK) {
            st = bc_gcs_perform(hc, &c);
            status = c.resp.status;
            bc_gcs_call_free(&c);
        }
    }
    bc_http_client_release(b->pool, hc);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", bc_error_msg());
    const char *stage = failed_stage(st, msg);
    if (st == BC_OK)
        bc_log_info("gs://%s reachable at %s (credentials: %s)", b->bucket, b->base_url, who);
    else if (st == BC_ERR_NOBUCKET || (st == BC_ERR_NOTFOUND && status == 404))
        st = bc_error(BC_ERR_NOBUCKET, "check gs://%s at %s: bucket '%s' does not exist "
                      "(create it, or check the URL)", b->bucket, b->base_url, b->bucket);
    else if (st == BC_ERR_AUTH && status == 403)
        st = bc_error(st, "check gs://%s at %s: %s; %s may not list the bucket's objects (grant "
                      "it roles/storage.objectAdmin on the bucket)", b->bucket, b->base_url, msg, who);
    else if (st == BC_ERR_AUTH && status == 401)
        st = bc_error(st, "check gs://%s at %s: %s (credentials: %s)%s", b->bucket, b->base_url,
                      msg, who, bc_google_credentials_anonymous(b->creds)
                      ? "; the server wants a token: set GOOGLE_APPLICATION_CREDENTIALS" : "");
    else if (stage)
        st = bc_error(st, "check gs://%s at %s: %s: %s", b->bucket, b->base_url, stage, msg);
    else
        bc_error_context(st, "check gs://%s at %s", b->bucket, b->base_url);
    return st;
}

static void gcs_access(void *backend, bc_store_access *out)
{
    const gcs_backend *b = backend;
    out->endpoint = b->base_url;
    out->credentials = bc_google_credentials_source(b->creds);
}

const bc_store_ops bc_store_gcs_ops = {
    .scheme = "gs",
    .provider = "google-cloud-storage",
    .open = gcs_open,
    .close = gcs_close,
    .access = gcs_access,
    .check = gcs_check,
    .put = bc_gcs_put,
    .get = gcs_get,
    .head = gcs_head,
    .list = gcs_list,
    .del = gcs_delete,
    .writer_open = bc_gcs_writer_open,
    .writer_write = bc_gcs_writer_write,
    .writer_commit = bc_gcs_writer_commit,
    .writer_abort = bc_gcs_writer_abort,
};
