/* The gs:// backend's requests: the endpoint, the URLs of the JSON API
 * (object names percent-encoded whole, '/' included), the authorized
 * request every operation is built on, and the reading of JSON error
 * replies. See gcs_internal.h for how the backend is split. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/gcs/gcs_internal.h"
#include "store/http/url.h"

#define DEFAULT_ENDPOINT "https://storage.googleapis.com"

void bc_gcs_where(const gcs_backend *b, const char *key, char *out, size_t outlen)
{
    snprintf(out, outlen, "gs://%s%s%s", b->bucket, key && *key ? "/" : "", key ? key : "");
}

/* ---- endpoint --------------------------------------------------------- */

bc_status bc_gcs_setup_endpoint(gcs_backend *b, const bc_store_config *cfg, int *emulator)
{
    const char *emu = getenv("STORAGE_EMULATOR_HOST");
    *emulator = emu && *emu;
    const char *e = cfg->endpoint_url && *cfg->endpoint_url ? cfg->endpoint_url
                    : *emulator ? emu : DEFAULT_ENDPOINT;
    const char *what = cfg->endpoint_url && *cfg->endpoint_url ? "endpoint URL"
                       : *emulator ? "STORAGE_EMULATOR_HOST" : "endpoint";
    while (isspace((unsigned char)*e))
        e++;
    /* Google's clients take the emulator as host:port too. */
    const char *scheme = strstr(e, "://") ? "" : "http://";
    size_t n = strlen(e);
    while (n && (isspace((unsigned char)e[n - 1]) || e[n - 1] == '/'))
        n--;
    size_t len = strlen(scheme) + n + 1;
    if (!(b->base_url = malloc(len)))
        return bc_oom();
    snprintf(b->base_url, len, "%s%.*s", scheme, (int)n, e);
    if (strncasecmp(b->base_url, "http://", 7) != 0 && strncasecmp(b->base_url, "https://", 8) != 0)
        return bc_error(BC_ERR_USAGE, "%s '%s' must be http://host[:port] or https://host[:port]",
                        what, e);
    return BC_OK;
}

/* ---- URLs ------------------------------------------------------------- */

/* "&name=value" pairs (values encoded) appended to out at *len. */
static char *make_url(const gcs_backend *b, gcs_target target, const char *key,
                      const gcs_param *q, size_t nq)
{
    static const char *const paths[] = { "/storage/v1/b/", "/storage/v1/b/", "/storage/v1/b/",
                                         "/upload/storage/v1/b/" };
    bc_buffer url = {0};
    char *ebucket = bc_url_encode(b->bucket, 0), *ekey = bc_url_encode(key ? key : "", 0);
    if (!ebucket || !ekey)
        url.failed = bc_oom();
    bc_buffer_adds(&url, b->base_url);
    bc_buffer_adds(&url, paths[target]);
    bc_buffer_adds(&url, ebucket ? ebucket : "");
    if (target != GCS_BUCKET)
        bc_buffer_adds(&url, "/o");
    if (target == GCS_OBJECT) {
        bc_buffer_addc(&url, '/');
        bc_buffer_adds(&url, ekey ? ekey : "");
    }
    bc_url_add_pairs(&url, '?', q, nq, 0);
    free(ebucket);
    free(ekey);
    return bc_buffer_take(&url);
}

/* The request's recover hook (see bc_http_request): the cached token may
 * have been revoked; one more try with a new one. */
static int gcs_recover(void *creds, bc_http_request *req, const bc_http_response *resp)
{
    const char *auth = bc_http_headers_get(&req->headers, "Authorization");
    if (resp->status != 401 || !auth || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    bc_google_credentials_invalidate(creds, auth + 7);
    return 1;
}

static bc_status call_setup(gcs_call *c, const gcs_backend *b, const char *method)
{
    if (!c->url)
        return bc_oom();
    c->req.method = method;
    c->req.url = c->url;
    c->req.sign = bc_google_sign;
    c->req.sign_ctx = b->creds;
    c->req.recover = gcs_recover;
    c->req.recover_ctx = b->creds;
    return BC_OK;
}

bc_status bc_gcs_call_init(gcs_call *c, const gcs_backend *b, const char *method,
                           gcs_target target, const char *key, const gcs_param *q, size_t nq)
{
    memset(c, 0, sizeof *c);
    c->url = make_url(b, target, key, q, nq);
    return call_setup(c, b, method);
}

bc_status bc_gcs_call_init_url(gcs_call *c, const gcs_backend *b, const char *method,
                               const char *url)
{
    memset(c, 0, sizeof *c);
    c->url = strdup(url);
    return call_setup(c, b, method);
}

void bc_gcs_call_free(gcs_call *c)
{
    bc_http_headers_free(&c->req.headers);
    bc_http_response_free(&c->resp);
    free(c->url);
}

/* ---- replies ---------------------------------------------------------- */

bc_status bc_gcs_json_failure(const gcs_call *c, bc_status st)
{
    const bc_http_response *r = &c->resp;
    json_t *doc = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    json_t *err = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (!msg)
        msg = json_string_value(err);   /* OAuth-style {"error": "..."} */
    if (msg) {
        if (r->status == 404 && strstr(msg, "bucket does not exist"))
            st = BC_ERR_NOBUCKET;
        const char *kind = r->status == 401 ? "authentication failed, "
                           : r->status == 403 ? "permission denied, " : "";
        bc_error(st, "%sHTTP %ld: %.400s", kind, r->status, msg);
    }
    json_decref(doc);
    return st;
}

bc_status bc_gcs_perform(bc_http_client *hc, gcs_call *c)
{
    bc_status st = bc_http_perform(hc, &c->req, &c->resp);
    if (st != BC_OK && c->resp.status >= 400)
        st = bc_gcs_json_failure(c, st);
    return st;
}

bc_status bc_gcs_missing(const gcs_backend *b, bc_status st, const char *op, const char *loc)
{
    if (st == BC_ERR_NOBUCKET)
        return bc_error(st, "%s %s at %s: bucket '%s' does not exist (create it, or check the "
                        "URL)", op, loc, b->base_url, b->bucket);
    return bc_error(st, "%s %s at %s: no such object", op, loc, b->base_url);
}

int64_t bc_gcs_json_int(const void *json_value)
{
    const json_t *v = json_value;
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    const char *s = json_string_value(v);
    char *e;
    long long n = s && *s ? strtoll(s, &e, 10) : -1;
    return s && *s && *e == '\0' && n >= 0 ? (int64_t)n : -1;
}
