/* The s3:// backend's requests: where they go (the endpoint, path-style or
 * virtual-hosted addressing, the URL of a key with its query), the signed
 * request every operation is built on, and the reading of error replies.
 * See s3_internal.h for how the backend is split. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/s3/s3_internal.h"
#include "store/http/url.h"
#include "store/http/xml.h"
#include "util/log.h"
#include "util/sha256.h"

/* ---- small helpers ---------------------------------------------------- */

/* "s3://bucket/key" for messages (key may be NULL or empty). */
void bc_s3_where(const s3_backend *b, const char *key, char *out, size_t outlen)
{
    snprintf(out, outlen, "s3://%s%s%s", b->bucket, key && *key ? "/" : "", key ? key : "");
}


/* URL of an object (key NULL: of the bucket), with an encoded query. */
static char *make_url(const s3_backend *b, const char *key, const char *query)
{
    char *ekey = bc_url_encode(key ? key : "", 1);
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

/* ---- error replies ---- */

static int in_list(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return 1;
    return 0;
}

int bc_s3_retryable_code(const char *code)
{
    static const char *const codes[] = {
        "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout",
        "Throttling", "ThrottlingException", "RequestThrottled", "OperationAborted",
    };
    return code && in_list(code, codes, sizeof codes / sizeof codes[0]);
}

static bc_status s3_code_status(const char *code)
{
    static const char *const auth[] = {
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
        "AuthorizationHeaderMalformed", "InvalidToken", "ExpiredToken",
        "TokenRefreshRequired", "InvalidSecurity", "AllAccessDisabled",
        "AccountProblem", "RequestTimeTooSkewed",
    };
    if (in_list(code, auth, sizeof auth / sizeof auth[0]))
        return BC_ERR_AUTH;
    if (strcmp(code, "NoSuchBucket") == 0)
        return BC_ERR_NOBUCKET;
    return bc_s3_retryable_code(code) ? BC_ERR_NET : BC_OK;
}

static void s3_parse_error(bc_http_response *r)
{
    bc_xml_error_reply(r->body, r->body_len, r->error_code, sizeof r->error_code,
                       r->error_message, sizeof r->error_message);
}

const bc_http_errors bc_s3_errors = {s3_parse_error, s3_code_status};

/* ---- wrong region, expired keys ---------------------------------------- */

int bc_s3_valid_region(const char *region)
{
    if (!*region || strlen(region) > 64)
        return 0;
    for (const char *p = region; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-'))
            return 0;
    return 1;
}

void bc_s3_reply_region(const bc_http_response *r, char *out, size_t outlen)
{
    *out = '\0';
    if (r->status != 301 && r->status != 307 && r->status != 400)
        return;
    if (r->status == 400 && strcmp(r->error_code, "AuthorizationHeaderMalformed") != 0)
        return;
    if (*r->bucket_region) {
        snprintf(out, outlen, "%s", r->bucket_region);
    } else if (r->body) {
        bc_xml_span doc = { r->body, r->body_len }, err;
        if (bc_xml_find(doc, "Error", &err) && bc_xml_child_text(err, "Region", out, outlen) < 0)
            *out = '\0';
    }
    if (!bc_s3_valid_region(out))
        *out = '\0';
}

/* https://s3.REGION.amazonaws.com (path style) or https://BUCKET.s3.REGION...:
 * the endpoint of a region when no endpoint URL is given. */
static char *aws_base_url(const char *bucket, const char *region, int path_style)
{
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    char buf[512];
    if (path_style)
        snprintf(buf, sizeof buf, "https://s3.%s.%s", region, suffix);
    else
        snprintf(buf, sizeof buf, "https://%s.s3.%s.%s", bucket, region, suffix);
    return strdup(buf);
}

int bc_s3_follow_region(s3_call *c, const char *region)
{
    s3_backend *b = c->b;
    if (!*region || strcmp(region, c->region) == 0)
        return 0;
    int ok = 1;
    pthread_mutex_lock(&b->where_lock);
    if (strcmp(b->region, c->region) == 0) {
        /* The first request to hear it moves the backend. */
        char *base = b->aws_endpoint ? aws_base_url(b->bucket, region, b->path_style) : NULL;
        if (b->aws_endpoint && !base) {
            ok = 0;
        } else {
            if (base) {
                free(b->base_url);
                b->base_url = base;
            }
            bc_log_info("s3://%s is in region %s, not %s: requests go %s%s from now on (set "
                        "AWS_DEFAULT_REGION=%s to save a round trip)", b->bucket, region,
                        b->region, base ? "to " : "there", base ? base : "", region);
            snprintf(b->region, sizeof b->region, "%s", region);
        }
    }
    char *url = NULL;
    if (ok && strcmp(b->region, c->region) != 0) {
        /* The path and query after the base stay as they were. */
        const char *rest = c->url + c->base_len;
        size_t n = strlen(b->base_url) + strlen(rest) + 1;
        if ((url = malloc(n))) {
            snprintf(url, n, "%s%s", b->base_url, rest);
            c->base_len = strlen(b->base_url);
            snprintf(c->region, sizeof c->region, "%s", b->region);
        }
    }
    pthread_mutex_unlock(&b->where_lock);
    if (!url)
        return 0;
    free(c->url);
    c->url = url;
    c->req.url = url;
    return 1;
}

/* The access key a signed request carries ("Credential=KEY/..."). */
static void signed_key(const bc_http_request *req, char *out, size_t outlen)
{
    const char *auth = bc_http_headers_get(&req->headers, "Authorization");
    const char *p = auth ? strstr(auth, "Credential=") : NULL;
    *out = '\0';
    if (p) {
        p += strlen("Credential=");
        snprintf(out, outlen, "%.*s", (int)strcspn(p, "/,"), p);
    }
}

/* The request's recover hook (see bc_http_request). */
static int s3_recover(void *ctx, bc_http_request *req, const bc_http_response *resp)
{
    s3_call *c = ctx;
    char region[65];
    bc_s3_reply_region(resp, region, sizeof region);
    if (*region)
        return bc_s3_follow_region(c, region);
    if (strcmp(resp->error_code, "ExpiredToken") == 0 ||
        strcmp(resp->error_code, "TokenRefreshRequired") == 0) {
        char key[256];
        signed_key(req, key, sizeof key);
        return bc_aws_credentials_renew(&c->b->creds, key);
    }
    return 0;
}

bc_status bc_s3_call_init(s3_call *c, s3_backend *b, const char *method,
                          const char *key, const qparam *q, size_t nq)
{
    memset(c, 0, sizeof *c);
    char *query = NULL;
    if (nq) {
        bc_buffer qb = {0};
        bc_url_add_pairs(&qb, 0, q, nq, 0);
        if (!(query = bc_buffer_take(&qb)))
            return bc_oom();
    }
    pthread_mutex_lock(&b->where_lock);
    c->url = make_url(b, key, query);
    c->base_len = strlen(b->base_url);
    snprintf(c->region, sizeof c->region, "%s", b->region);
    pthread_mutex_unlock(&b->where_lock);
    free(query);
    if (!c->url)
        return bc_oom();
    c->b = b;
    c->signer.creds = &b->creds;
    c->signer.region = c->region;
    c->signer.service = "s3";
    c->req.method = method;
    c->req.url = c->url;
    c->req.sign = bc_sigv4_sign;
    c->req.sign_ctx = &c->signer;
    c->req.errors = &bc_s3_errors;
    c->req.recover = s3_recover;
    c->req.recover_ctx = c;
    return BC_OK;
}

void bc_s3_call_free(s3_call *c)
{
    bc_http_headers_free(&c->req.headers);
    bc_http_response_free(&c->resp);
    free(c->url);
}

/* Body from memory, with its payload hash. */
bc_status bc_s3_call_set_xml_body(s3_call *c, bc_source *holder, const char *xml)
{
    char hash[65];
    holder->fd = -1;
    holder->mem = (const unsigned char *)xml;
    holder->size = (int64_t)strlen(xml);
    c->req.body = holder;
    c->req.body_offset = 0;
    c->req.body_length = holder->size;
    bc_sha256_of(xml, strlen(xml), hash);
    bc_status st = bc_http_headers_set(&c->req.headers, "Content-Type", "application/xml");
    if (st == BC_OK)
        st = bc_http_headers_set(&c->req.headers, "X-Amz-Content-Sha256", hash);
    return st;
}

/* An <Error> inside a 200 reply (CompleteMultipartUpload can do that). */
int bc_s3_error_in_body(const bc_http_response *r, char *code, size_t codelen, char *msg,
                        size_t msglen)
{
    bc_xml_span doc = { r->body, r->body_len }, err;
    if (!r->body || !bc_xml_find(doc, "Error", &err))
        return 0;
    bc_xml_child_text(err, "Code", code, codelen);
    bc_xml_child_text(err, "Message", msg, msglen);
    return 1;
}

/* A clearer message for a missing object or bucket. */
bc_status bc_s3_missing(const s3_backend *b, bc_status st, const char *op, const char *loc)
{
    if (st == BC_ERR_NOBUCKET)
        return bc_error(st, "%s %s at %s: bucket '%s' does not exist", op, loc, b->endpoint, b->bucket);
    return bc_error(st, "%s %s at %s: no such object", op, loc, b->endpoint);
}

/* ---- endpoint --------------------------------------------------------- */

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

bc_status bc_s3_setup_endpoint(s3_backend *b, const bc_store_config *cfg)
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
            return bc_oom();
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
        b->aws_endpoint = 1;
        b->path_style = force_path || (!force_virtual && !dns_compatible(b->bucket));
        b->base_url = aws_base_url(b->bucket, b->region, b->path_style);
        b->endpoint = b->base_url ? strdup(b->base_url) : NULL;
    }
    b->unsigned_payload = b->base_url && strncmp(b->base_url, "https://", 8) == 0;
    return b->base_url && b->endpoint ? BC_OK : bc_oom();
}
