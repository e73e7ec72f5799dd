/* The Azure Blob Storage backend over the REST API.
 *
 * URLs as barman-cloud reads them: on Azure,
 *   http(s)://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]
 * and anywhere else (Azurite and other emulators) the account first:
 *   http(s)://HOST[:PORT]/ACCOUNT/CONTAINER[/PREFIX]
 * Requests go through lib/store/http (retries on 5xx and 503 throttling,
 * timeouts, keep-alive), signed per attempt (azure_auth.c).
 *
 * This file: URL forms, open/close, get, head, list, check. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/azure/azure_internal.h"
#include "store/http/list_page.h"
#include "store/http/url.h"
#include "store/http/xml.h"
#include "util/buffer.h"
#include "util/log.h"

#define MiB ((int64_t)1 << 20)
#define DEFAULT_THRESHOLD (64 * MiB)
#define DEFAULT_BLOCK_SIZE (16 * MiB)
#define MAX_BLOCK_SIZE (4000 * MiB)      /* Put Block's limit */
#define MAX_SINGLE_PUT (5000 * MiB)      /* Put Blob's limit */
#define DEFAULT_CONCURRENCY 4
#define MAX_CONCURRENCY 64

/* ---- URL forms ----------------------------------------------------------- */

typedef struct azure_url {
    char *base_url;   /* scheme://host[:port][/account] */
    char *account;
    char *container;
    char *prefix;
    int path_style;
} azure_url;

static void azure_url_free(azure_url *u)
{
    free(u->base_url);
    free(u->account);
    free(u->container);
    free(u->prefix);
    memset(u, 0, sizeof *u);
}

/* The next path segment of *p (advancing past it), or NULL if empty. */
static char *segment(const char **p)
{
    while (**p == '/')
        (*p)++;
    size_t n = strcspn(*p, "/?#");
    char *s = n ? strndup(*p, n) : NULL;
    *p += n;
    return s;
}

static bc_status parse_azure_url(const char *url, azure_url *u)
{
    memset(u, 0, sizeof *u);
    const char *host = strstr(url, "://") + 3;
    size_t hlen = strcspn(host, "/?#");
    const char *path = host + hlen;
    char *hostport = strndup(host, hlen);
    if (!hostport)
        return bc_oom();
    size_t dlen = strlen(AZURE_DOMAIN);
    const char *colon = strchr(hostport, ':');
    size_t name_len = colon ? (size_t)(colon - hostport) : strlen(hostport);
    bc_status st = BC_OK;
    if (name_len > dlen && strncmp(hostport + name_len - dlen, AZURE_DOMAIN, dlen) == 0) {
        u->account = strndup(hostport, strcspn(hostport, "."));
    } else {
        u->path_style = 1;
        u->account = segment(&path);
    }
    u->container = segment(&path);
    if (!u->account || !*u->account || !u->container)
        st = bc_error(BC_ERR_USAGE, "invalid Azure URL '%s': expected https://ACCOUNT"
                      AZURE_DOMAIN "/CONTAINER[/PREFIX] or, for an emulator, "
                      "http://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX]", url);
    if (st == BC_OK) {
        while (*path == '/')
            path++;
        size_t plen = strcspn(path, "?#");
        while (plen && path[plen - 1] == '/')
            plen--;
        u->prefix = strndup(path, plen);
        size_t blen = (size_t)(host - url) + hlen + strlen(u->account) + 2;
        u->base_url = malloc(blen);
        if (u->base_url)
            snprintf(u->base_url, blen, "%.*s%s%s", (int)((host - url) + (int)hlen), url,
                     u->path_style ? "/" : "", u->path_style ? u->account : "");
        if (!u->prefix || !u->base_url)
            st = bc_oom();
    }
    free(hostport);
    if (st != BC_OK)
        azure_url_free(u);
    return st;
}

static bc_status azure_split_url(const char *url, char **bucket, char **prefix, char **describe)
{
    azure_url u;
    bc_status st = parse_azure_url(url, &u);
    if (st != BC_OK)
        return st;
    size_t n = strlen(u.base_url) + strlen(u.container) + 2;
    *describe = malloc(n);
    if (*describe)
        snprintf(*describe, n, "%s/%s", u.base_url, u.container);
    *bucket = u.container;
    *prefix = u.prefix;
    u.container = u.prefix = NULL;
    azure_url_free(&u);
    if (!*describe) {
        free(*bucket);
        free(*prefix);
        return bc_oom();
    }
    return BC_OK;
}

/* ---- requests ------------------------------------------------------------ */

/* Azure's error replies: XML <Error> too, with codes of its own.
 * ContainerNotFound is explained by explain() below, with the account. */
static bc_status azure_code_status(const char *code)
{
    /* Azure says AuthenticationFailed, Azurite AuthorizationFailure. */
    static const char *const auth[] = {
        "AuthenticationFailed", "AuthorizationFailure", "AccountProblem",
    };
    static const char *const retry[] = {"ServerBusy", "InternalError", "OperationTimedOut"};
    for (size_t i = 0; i < sizeof auth / sizeof auth[0]; i++)
        if (strcmp(code, auth[i]) == 0)
            return BC_ERR_AUTH;
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        if (strcmp(code, retry[i]) == 0)
            return BC_ERR_NET;
    return BC_OK;
}

static void azure_parse_error(bc_http_response *r)
{
    bc_xml_error_reply(r->body, r->body_len, r->error_code, sizeof r->error_code,
                       r->error_message, sizeof r->error_message);
}

static const bc_http_errors azure_errors = {azure_parse_error, azure_code_status};

bc_status bc_azure_call_init(azure_call *c, azure_backend *b, const char *method,
                             const char *key, const char *query)
{
    memset(c, 0, sizeof *c);
    char *path = key ? bc_url_encode(key, 1) : NULL;
    if (key && !path)
        return bc_oom();
    const char *q = query && *query ? query : NULL;
    const char *sas = b->auth == AZURE_AUTH_SAS ? b->sas : NULL;
    size_t n = strlen(b->base_url) + strlen(b->container) + (path ? strlen(path) : 0) +
               (q ? strlen(q) : 0) + (sas ? strlen(sas) : 0) + 8;
    c->url = malloc(n);
    if (c->url)
        snprintf(c->url, n, "%s/%s%s%s%s%s%s%s", b->base_url, b->container, path ? "/" : "",
                 path ? path : "", q || sas ? "?" : "", q ? q : "", q && sas ? "&" : "",
                 sas ? sas : "");
    free(path);
    if (!c->url)
        return bc_oom();
    c->req.method = method;
    c->req.url = c->url;
    c->req.sign = bc_azure_sign;
    c->req.sign_ctx = b;
    c->req.errors = &azure_errors;
    return BC_OK;
}

void bc_azure_call_free(azure_call *c)
{
    bc_http_headers_free(&c->req.headers);
    bc_http_response_free(&c->resp);
    free(c->url);
    memset(c, 0, sizeof *c);
}

static bc_status explain(azure_backend *b, const azure_call *c, bc_status st, const char *op,
                        const char *key);

bc_status bc_azure_perform(azure_backend *b, azure_call *c, const char *op, const char *key)
{
    bc_status st = bc_http_pool_perform(b->pool, &c->req, &c->resp);
    /* A sink that refused bytes has said why. */
    return st == BC_OK || c->resp.sink_stopped ? st : explain(b, c, st, op, key);
}

static bc_status explain(azure_backend *b, const azure_call *c, bc_status st, const char *op,
                        const char *key)
{
    const char *code = c->resp.error_code;
    if (c->resp.status == 404 && strcmp(code, "ContainerNotFound") == 0)
        return bc_error(BC_ERR_NOBUCKET, "%s %s: container '%s' does not exist in account '%s'",
                        op, b->location, b->container, b->account);
    if (st == BC_ERR_NOTFOUND)
        return bc_error(st, "%s %s/%s: no such blob", op, b->location, key ? key : "");
    if (st == BC_ERR_AUTH && strcmp(code, "AuthorizationPermissionMismatch") == 0)
        return bc_error(st, "%s %s: the credentials lack the permission for this operation "
                        "(a SAS token or role without it?)", op, b->location);
    /* Azure says AuthenticationFailed, Azurite AuthorizationFailure. */
    if (st == BC_ERR_AUTH && (strcmp(code, "AuthenticationFailed") == 0 ||
                              strcmp(code, "AuthorizationFailure") == 0))
        return bc_error(st, "%s %s: authentication failed: the account key, SAS token or "
                        "token was refused (request id %s)", op, b->location,
                        c->resp.request_id);
    /* Azure's messages end in "\nRequestId:...\nTime:..." lines: keep one line. */
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", bc_error_msg());
    char *nl = strchr(msg, '\n'), *last = strrchr(msg, '\n');
    if (nl) {
        char *tail = strchr(last, '(');
        memmove(nl + 1, tail ? tail : last + 1, strlen(tail ? tail : last + 1) + 1);
        *nl = ' ';
    }
    return bc_error(st, "%s %s%s%s: %s", op, b->location, key ? "/" : "", key ? key : "", msg);
}

/* ---- open / close -------------------------------------------------------- */

static void azure_close(void *backend)
{
    azure_backend *b = backend;
    if (!b)
        return;
    bc_http_pool_free(b->pool);
    bc_azure_auth_free(b);
    bc_token_cache_free(&b->token);
    free(b->container);
    free(b->account);
    free(b->base_url);
    free(b->location);
    free(b->encryption_scope);
    free(b);
}

static bc_status azure_open(const bc_store_config *cfg, const char *bucket, const char *prefix,
                            void **out)
{
    azure_url u;
    bc_status st = parse_azure_url(cfg->url, &u);
    if (st != BC_OK)
        return st;
    azure_backend *b = calloc(1, sizeof *b);
    if (!b) {
        azure_url_free(&u);
        return bc_oom();
    }
    bc_token_cache_init(&b->token, bc_azure_fetch_token, b);
    b->account = u.account;
    b->base_url = u.base_url;
    free(u.container);
    free(u.prefix);
    (void)prefix; /* keys come with it (bc_store_prefix) */
    b->container = strdup(bucket);
    if (!b->container ||
        (cfg->encryption_scope && !(b->encryption_scope = strdup(cfg->encryption_scope))))
        st = bc_oom();
    if (st == BC_OK)
        st = bc_azure_auth_setup(b, cfg);
    if (st == BC_OK) {
        size_t n = strlen(b->base_url) + strlen(b->container) + 2;
        b->location = malloc(n);
        if (b->location)
            snprintf(b->location, n, "%s/%s", b->base_url, b->container);
        else
            st = bc_oom();
    }
    b->threshold = bc_store_config_clamp(cfg->multipart_threshold, DEFAULT_THRESHOLD, 1,
                                         MAX_SINGLE_PUT);
    b->block_size = bc_store_config_clamp(cfg->part_size, DEFAULT_BLOCK_SIZE, 1, MAX_BLOCK_SIZE);
    b->concurrency = (int)bc_store_config_clamp(cfg->concurrency, DEFAULT_CONCURRENCY, 1,
                                                MAX_CONCURRENCY);
    bc_http_config hc = {.read_timeout = cfg->read_timeout, .max_retries = cfg->max_retries,
                         .ca_bundle = cfg->ca_bundle};
    if (st == BC_OK)
        st = bc_http_pool_new(&hc, &b->pool);
    if (st != BC_OK) {
        azure_close(b);
        return st;
    }
    *out = b;
    return BC_OK;
}

/* ---- get / head ---------------------------------------------------------- */

static bc_status azure_get(void *backend, const char *key, bc_sink_fn sink, void *ctx,
                           bc_object_meta *meta)
{
    azure_backend *b = backend;
    azure_call c;
    bc_status st = bc_azure_call_init(&c, b, "GET", key, NULL);
    if (st == BC_OK) {
        bc_http_request_download(&c.req, sink, ctx, "x-ms-meta-", meta);
        st = bc_azure_perform(b, &c, "get", key);
        bc_azure_call_free(&c);
    }
    return st;
}

static bc_status azure_head(void *backend, const char *key, bc_object_info *info)
{
    azure_backend *b = backend;
    azure_call c;
    bc_status st = bc_azure_call_init(&c, b, "HEAD", key, NULL);
    if (st == BC_OK)
        st = bc_azure_perform(b, &c, "head", key);
    if (st == BC_OK) {
        bc_http_response_object_info(&c.resp, key, info);
        if (info->size < 0)
            st = bc_error(BC_ERR_DATA, "head %s/%s: no Content-Length in the reply",
                          b->location, key);
    }
    bc_azure_call_free(&c);
    return st;
}

/* ---- list ---------------------------------------------------------------- */

bc_status bc_azure_list_page_parse(const bc_http_response *r, bc_list_page *p, char **marker)
{
    bc_xml_span doc = {r->body, r->body_len}, span, inner;
    size_t pos = 0;
    char text[128];
    *marker = NULL;
    if (!r->body || !bc_xml_find(doc, "EnumerationResults", &doc))
        return bc_error(BC_ERR_DATA, "malformed List Blobs reply (no EnumerationResults)");
    static const char *const kinds[] = {"Blob", "BlobPrefix"};
    for (int k = 0; k < 2; k++) {
        pos = 0;
        while (bc_xml_next(doc, &pos, kinds[k], &span)) {
            bc_list_entry e = {.is_prefix = k == 1};
            if (!bc_xml_find(span, "Name", &inner) || !(e.key = bc_xml_text_dup(inner)))
                return bc_error(BC_ERR_DATA, "malformed List Blobs reply (bad Name)");
            if (bc_xml_child_text(span, "Content-Length", text, sizeof text) >= 0)
                e.size = strtoll(text, NULL, 10);
            if (bc_xml_child_text(span, "Last-Modified", text, sizeof text) >= 0)
                e.mtime = curl_getdate(text, NULL) > 0 ? curl_getdate(text, NULL) : 0;
            if (bc_list_page_add(p, e) < 0) {
                free(e.key);
                return bc_oom();
            }
        }
    }
    bc_list_page_sort(p);
    if (bc_xml_find(doc, "NextMarker", &inner) && inner.len) {
        if (!(*marker = bc_xml_text_dup(inner)))
            return bc_error(BC_ERR_DATA, "malformed List Blobs reply (bad NextMarker)");
        if (!**marker) {
            free(*marker);
            *marker = NULL;
        }
    }
    return BC_OK;
}

static bc_status fetch_page(bc_lister *l, const char *marker, bc_list_page *page, char **next)
{
    /* Pages of 1000 entries, as S3 and GCS give them: a page is held whole
     * before the callbacks see it, so this bounds memory. */
    static const char base[] = "restype=container&comp=list&maxresults=1000";
    bc_buffer query = {0};
    const bc_tag params[] = {
        {"prefix", l->query_prefix},
        {"delimiter", l->query_delimiter},
        {"marker", marker && *marker ? marker : NULL},
    };
    bc_buffer_append(&query, base, sizeof base - 1);
    bc_url_add_pairs(&query, '&', params, 3, 0);
    int bad = query.failed != BC_OK;
    azure_call c;
    bc_status st = bad ? bc_oom()
                       : bc_azure_call_init(&c, l->backend, "GET", NULL, (const char *)query.data);
    bc_buffer_free(&query);
    if (st != BC_OK)
        return st;
    st = bc_azure_perform(l->backend, &c, "list", l->prefix);
    if (st == BC_OK)
        st = bc_azure_list_page_parse(&c.resp, page, next);
    bc_azure_call_free(&c);
    return st;
}

/* Every request borrows its own connection (bc_azure_perform): the
 * listing holds none. */
static bc_status azure_list(void *backend, const char *prefix, const char *delimiter,
                            bc_list_fn fn, void *ctx)
{
    azure_backend *b = backend;
    bc_lister l = {.backend = b, .prefix = prefix, .delimiter = delimiter,
                   .token_name = "NextMarker", .fetch = fetch_page};
    bc_status st = bc_list_pages(&l, fn, ctx);
    /* The requests' messages name the container already. */
    if (l.end == BC_LIST_ENDLESS)
        bc_error_context(st, "list %s/%s", b->location, prefix ? prefix : "");
    return st;
}

/* ---- check --------------------------------------------------------------- */

static bc_status azure_check(void *backend)
{
    azure_backend *b = backend;
    azure_call c;
    /* Get Container Properties: needs the container and read permission. */
    bc_status st = bc_azure_call_init(&c, b, "GET", NULL, "restype=container");
    if (st == BC_OK)
        st = bc_azure_perform(b, &c, "check", NULL);
    if (st == BC_ERR_NOTFOUND)
        st = bc_error(BC_ERR_NOBUCKET, "check %s: container '%s' does not exist in account '%s'",
                      b->location, b->container, b->account);
    if (st == BC_OK) {
        /* A listing needs List permission, which a SAS token may lack. */
        bc_azure_call_free(&c);
        st = bc_azure_call_init(&c, b, "GET", NULL, "restype=container&comp=list&maxresults=1");
        if (st == BC_OK)
            st = bc_azure_perform(b, &c, "check (list)", NULL);
    }
    bc_azure_call_free(&c);
    return st;
}

static void azure_access(void *backend, bc_store_access *out)
{
    const azure_backend *b = backend;
    out->endpoint = b->base_url;
    out->credentials = b->auth == AZURE_AUTH_SHARED_KEY ? "the account key"
                       : b->auth == AZURE_AUTH_SAS      ? "a SAS token"
                       : b->auth == AZURE_AUTH_TOKEN    ? b->token_source
                                                        : "no credentials (anonymous)";
}

const bc_store_ops bc_store_azure_ops = {
    .scheme = "https",
    .provider = "azure-blob-storage",
    .split_url = azure_split_url,
    .open = azure_open,
    .close = azure_close,
    .access = azure_access,
    .check = azure_check,
    .put = bc_azure_put,
    .get = azure_get,
    .head = azure_head,
    .list = azure_list,
    .del = bc_azure_delete,
    .writer_open = bc_azure_writer_open,
    .writer_write = bc_azure_writer_write,
    .writer_commit = bc_azure_writer_commit,
    .writer_abort = bc_azure_writer_abort,
};
