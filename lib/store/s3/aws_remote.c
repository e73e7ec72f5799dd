/* The remote sources of AWS credentials: STS AssumeRoleWithWebIdentity,
 * the container credentials endpoint, EC2 instance metadata; and the
 * refresh of the temporary keys they issue (aws_credentials.h). */
#include "store/s3/aws_credentials.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/http/http.h"
#include "store/http/token.h"
#include "store/http/url.h"
#include "store/http/xml.h"
#include "util/buffer.h"
#include "util/log.h"
#include "util/timefmt.h"

enum { WEB_IDENTITY, CONTAINER, IMDS };

struct bc_aws_refresh {
    pthread_mutex_t lock;
    int kind;
    char *url;             /* STS endpoint, container URL, IMDS endpoint */
    char *role_arn, *token_file, *session_name;  /* web identity */
    char *auth_token, *auth_token_file;          /* container */
    int v1_disabled;                             /* IMDS */
    char *ca_bundle;
    const char *source;    /* the credentials' source, for messages */
    bc_aws_keys cur;
    time_t refresh_at;
};

static void wipe_free(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

void bc_aws_keys_free(bc_aws_keys *k)
{
    if (!k)
        return;
    free(k->access_key);
    wipe_free(k->secret_key);
    wipe_free(k->session_token);
    memset(k, 0, sizeof *k);
}

static bc_status keys_copy(const bc_aws_keys *from, bc_aws_keys *to)
{
    memset(to, 0, sizeof *to);
    to->access_key = strdup(from->access_key);
    to->secret_key = strdup(from->secret_key);
    to->session_token = from->session_token ? strdup(from->session_token) : NULL;
    to->expires_at = from->expires_at;
    if (!to->access_key || !to->secret_key || (from->session_token && !to->session_token)) {
        bc_aws_keys_free(to);
        return bc_oom();
    }
    return BC_OK;
}

void bc_aws_refresh_free(bc_aws_refresh *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->url);
    free(r->role_arn);
    free(r->token_file);
    free(r->session_name);
    wipe_free(r->auth_token);
    free(r->auth_token_file);
    free(r->ca_bundle);
    bc_aws_keys_free(&r->cur);
    free(r);
}

/* ---- parsers ---------------------------------------------------------- */

static bc_status keys_check(bc_aws_keys *out, const char *what)
{
    const char *missing = !out->access_key || !*out->access_key ? "access key id"
                          : !out->secret_key || !*out->secret_key ? "secret access key"
                          : !out->session_token || !*out->session_token ? "session token"
                          : out->expires_at <= 0 ? "valid expiration time"
                                                 : NULL;
    if (!missing) {
        bc_log_add_secret(out->secret_key);
        bc_log_add_secret(out->session_token);
        return BC_OK;
    }
    bc_aws_keys_free(out);
    return bc_error(BC_ERR_AUTH, "the %s reply holds no %s", what, missing);
}

bc_status bc_aws_sts_parse(const char *body, size_t len, bc_aws_keys *out)
{
    memset(out, 0, sizeof *out);
    bc_xml_span doc = { body ? body : "", body ? len : 0 }, creds, s;
    if (!bc_xml_find(doc, "Credentials", &creds))
        return bc_error(BC_ERR_AUTH, "the STS reply holds no Credentials");
    char expiration[64];
    if (bc_xml_find(creds, "AccessKeyId", &s))
        out->access_key = bc_xml_text_dup(s);
    if (bc_xml_find(creds, "SecretAccessKey", &s))
        out->secret_key = bc_xml_text_dup(s);
    if (bc_xml_find(creds, "SessionToken", &s))
        out->session_token = bc_xml_text_dup(s);
    if (bc_xml_child_text(creds, "Expiration", expiration, sizeof expiration) >= 0)
        out->expires_at = bc_time_from_iso8601(expiration);
    return keys_check(out, "STS");
}

static char *json_dup(json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v ? strdup(v) : NULL;
}

bc_status bc_aws_json_parse(const char *body, size_t len, bc_aws_keys *out)
{
    memset(out, 0, sizeof *out);
    json_t *o = body ? json_loadb(body, len, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        return bc_error(BC_ERR_AUTH, "the credentials reply is not a JSON object");
    }
    const char *code = json_string_value(json_object_get(o, "Code"));
    if (code && strcmp(code, "Success") != 0) {
        char shown[64]; /* a code is a word: nothing else of the reply is shown */
        snprintf(shown, sizeof shown, "%.*s",
                 (int)strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                 code);
        json_decref(o);
        return bc_error(BC_ERR_AUTH, "the credentials reply says Code %s", shown);
    }
    out->access_key = json_dup(o, "AccessKeyId");
    out->secret_key = json_dup(o, "SecretAccessKey");
    out->session_token = json_dup(o, "Token");
    const char *exp = json_string_value(json_object_get(o, "Expiration"));
    if (exp)
        out->expires_at = bc_time_from_iso8601(exp);
    json_decref(o);
    return keys_check(out, "credentials");
}

/* ---- the container host rule ------------------------------------------ */

int bc_aws_container_host_allowed(const char *url)
{
    if (strncmp(url, "https://", 8) == 0)
        return 1;
    if (strncmp(url, "http://", 7) != 0)
        return 0;
    const char *h = url + 7, *end;
    char host[256];
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end)
            return 0;
        h++;
    } else {
        end = h + strcspn(h, ":/?#");
    }
    if ((size_t)(end - h) >= sizeof host)
        return 0;
    memcpy(host, h, (size_t)(end - h));
    host[end - h] = '\0';
    static const char *const allowed[] = { "169.254.170.2", "169.254.170.23", "fd00:ec2::23",
                                           "localhost" };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(host, allowed[i]) == 0)
            return 1;
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    static const unsigned char loop6[16] = { [15] = 1 };
    return inet_pton(AF_INET6, host, a) == 1 && memcmp(a, loop6, 16) == 0;
}

/* ---- fetching --------------------------------------------------------- */

/* The whole of a small file (a token), trailing white space cut. */
static bc_status read_token_file(const char *path, const char *what, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return bc_error(BC_ERR_AUTH, "%s: cannot read the token file %s: %s", what, path,
                        strerror(errno));
    bc_buffer b = { 0 };
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= (1 << 20))
        bc_buffer_append(&b, chunk, n);
    int bad = ferror(f), huge = b.len > (1 << 20);
    fclose(f);
    explicit_bzero(chunk, sizeof chunk);
    bc_buffer_addc(&b, '\0');
    if (b.failed) {
        bc_buffer_free(&b);
        return bc_oom();
    }
    char *s = bc_buffer_take(&b);
    size_t len = strlen(s);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        s[--len] = '\0';
    if (bad || huge || !len) {
        wipe_free(s);
        return bc_error(BC_ERR_AUTH, "%s: the token file %s is %s", what, path,
                        bad ? "unreadable" : huge ? "larger than 1 MiB" : "empty");
    }
    bc_log_add_secret(s);
    *out = s;
    return BC_OK;
}

static void sts_parse_error(bc_http_response *r)
{
    bc_xml_error_reply(r->body, r->body_len, r->error_code, sizeof r->error_code,
                       r->error_message, sizeof r->error_message);
}

static bc_status sts_code_status(const char *code)
{
    return strcmp(code, "IDPCommunicationError") == 0 || strcmp(code, "Throttling") == 0
               ? BC_ERR_NET
               : BC_OK;
}

static const bc_http_errors sts_errors = { sts_parse_error, sts_code_status };

/* One request on a pool of its own (a refresh is rare); the reply stays in
 * resp. On failure the message is "what: <the HTTP layer's>". */
static bc_status call(const bc_http_config *cfg, bc_http_request *req, bc_http_response *resp,
                      const char *what)
{
    bc_http_pool *pool = NULL;
    bc_status st = bc_http_pool_new(cfg, &pool);
    if (st == BC_OK)
        st = bc_http_pool_perform(pool, req, resp);
    bc_http_pool_free(pool);
    if (st != BC_OK) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", bc_error_msg());
        st = bc_error(BC_ERR_AUTH, "%s: %s", what, detail);
    }
    return st;
}

static bc_status fetch_web_identity(const bc_aws_refresh *r, bc_aws_keys *out)
{
    char what[2048];
    snprintf(what, sizeof what, "web identity credentials (role %s, token file %s)", r->role_arn,
             r->token_file);
    char *token = NULL;
    bc_status st = read_token_file(r->token_file, what, &token);
    if (st != BC_OK)
        return st;
    bc_tag form[] = { { "Action", "AssumeRoleWithWebIdentity" }, { "Version", "2011-06-15" },
                      { "RoleArn", r->role_arn }, { "RoleSessionName", r->session_name },
                      { "WebIdentityToken", token } };
    bc_buffer body = { 0 };
    bc_url_add_pairs(&body, 0, form, sizeof form / sizeof form[0], 0);
    bc_buffer_addc(&body, '\0');
    wipe_free(token);
    if (body.failed) {
        bc_buffer_free(&body);
        return bc_oom();
    }
    bc_source src = { .fd = -1, .mem = body.data, .size = (int64_t)body.len - 1 };
    bc_http_request req = { 0 };
    bc_http_response resp = { 0 };
    req.method = "POST";
    req.url = r->url;
    req.body = &src;
    req.body_length = src.size;
    req.errors = &sts_errors;
    req.max_collect = 1 << 20;
    st = bc_http_headers_set(&req.headers, "Content-Type",
                             "application/x-www-form-urlencoded; charset=utf-8");
    if (st == BC_OK) {
        char where[2200];
        snprintf(where, sizeof where, "%s: STS AssumeRoleWithWebIdentity at %s", what,
                 r->url);
        bc_http_config cfg = { .connect_timeout = 10, .read_timeout = 30, .ca_bundle = r->ca_bundle };
        st = call(&cfg, &req, &resp, where);
    }
    if (st == BC_OK) {
        st = bc_aws_sts_parse(resp.body, resp.body_len, out);
        if (st != BC_OK)
            bc_error_context(st, "%s: STS at %s", what, r->url);
    }
    bc_http_headers_free(&req.headers);
    bc_http_response_free(&resp);
    explicit_bzero(body.data, body.len);
    bc_buffer_free(&body);
    return st;
}

static bc_status fetch_container(const bc_aws_refresh *r, bc_aws_keys *out)
{
    char what[2300];
    snprintf(what, sizeof what, "container credentials at %s", r->url);
    char *token = NULL;
    bc_status st = BC_OK;
    if (r->auth_token_file)
        st = read_token_file(r->auth_token_file, what, &token);
    else if (r->auth_token && !(token = strdup(r->auth_token)))
        st = bc_oom();
    if (st == BC_OK && token && strpbrk(token, "\r\n"))
        st = bc_error(BC_ERR_AUTH, "%s: the authorization token holds a line break", what);
    if (st != BC_OK) {
        wipe_free(token);
        return st;
    }
    bc_http_request req = { 0 };
    bc_http_response resp = { 0 };
    req.method = "GET";
    req.url = r->url;
    req.max_collect = 1 << 20;
    if (token)
        st = bc_http_headers_set(&req.headers, "Authorization", token);
    wipe_free(token);
    if (st == BC_OK) {
        char where[2400];
        snprintf(where, sizeof where, "%s", what);
        bc_http_config cfg = { .connect_timeout = 2, .read_timeout = 2, .max_retries = 2,
                               .ca_bundle = r->ca_bundle };
        st = call(&cfg, &req, &resp, where);
    }
    if (st == BC_OK) {
        st = bc_aws_json_parse(resp.body, resp.body_len, out);
        if (st != BC_OK)
            bc_error_context(st, "%s", what);
    }
    for (size_t i = 0; i < req.headers.n; i++) {
        char *value = req.headers.items[i].value;
        explicit_bzero(value, strlen(value));
    }
    bc_http_headers_free(&req.headers);
    bc_http_response_free(&resp);
    return st;
}

/* One IMDS request; the reply body in *body (malloc'd). */
static bc_status imds_call(const bc_aws_refresh *r, const char *method, const char *path,
                           const char *header, const char *value, bc_http_response *resp)
{
    char url[2300];
    snprintf(url, sizeof url, "%s%s", r->url, path);
    bc_http_request req = { 0 };
    req.method = method;
    req.url = url;
    req.max_collect = 64 << 10;
    bc_status st = BC_OK;
    if (header)
        st = bc_http_headers_set(&req.headers, header, value);
    if (st == BC_OK) {
        bc_http_config cfg = { .connect_timeout = 1, .read_timeout = 1, .max_retries = -1 };
        bc_http_pool *pool = NULL;
        st = bc_http_pool_new(&cfg, &pool);
        if (st == BC_OK)
            st = bc_http_pool_perform(pool, &req, resp);
        bc_http_pool_free(pool);
    }
    bc_http_headers_free(&req.headers);
    return st;
}

#define IMDS_CREDS "/latest/meta-data/iam/security-credentials/"

static bc_status fetch_imds(const bc_aws_refresh *r, bc_aws_keys *out)
{
    char what[2300];
    snprintf(what, sizeof what, "EC2 instance metadata (IMDS) at %s", r->url);
    bc_http_response tok = { 0 }, role = { 0 }, creds = { 0 };
    const char *token = NULL;
    int framed = 0; /* the message already names the source */
    bc_status st = imds_call(r, "PUT", "/latest/api/token",
                             "X-aws-ec2-metadata-token-ttl-seconds", "21600", &tok);
    if (st == BC_OK) {
        token = tok.body && *tok.body ? tok.body : NULL;
        if (!token)
            st = bc_error(BC_ERR_AUTH, "%s: the IMDSv2 token reply is empty", what);
        bc_log_add_secret(token);
        framed = 1;
    } else if (tok.status == 400) {
        st = bc_error(BC_ERR_AUTH, "%s: the IMDSv2 token request was refused (HTTP 400)", what);
        framed = 1;
    } else {
        /* botocore goes on without a token (IMDSv1) after any other answer
         * or none; a service that is not there fails the GET as well. */
        st = r->v1_disabled ? bc_error(BC_ERR_AUTH, "%s: no IMDSv2 token and "
                                       "AWS_EC2_METADATA_V1_DISABLED is set", what)
                            : BC_OK;
        framed = 1;
    }
    if (st == BC_OK) {
        framed = 0;
        st = imds_call(r, "GET", IMDS_CREDS, token ? "X-aws-ec2-metadata-token" : NULL, token,
                       &role);
    }
    char path[512];
    if (st == BC_OK) {
        size_t n = role.body ? strcspn(role.body, "\r\n") : 0;
        if (n == 0 || n > 255) {
            st = bc_error(BC_ERR_AUTH, "%s: the instance has no IAM role (no role name at %s)",
                          what, IMDS_CREDS);
            framed = 1;
        } else {
            snprintf(path, sizeof path, "%s%.*s", IMDS_CREDS, (int)n, role.body);
        }
    }
    if (st == BC_OK)
        st = imds_call(r, "GET", path, token ? "X-aws-ec2-metadata-token" : NULL, token, &creds);
    if (st == BC_OK) {
        st = bc_aws_json_parse(creds.body, creds.body_len, out);
        if (st != BC_OK)
            bc_error_context(st, "%s", what);
    } else if (!framed) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", bc_error_msg());
        st = bc_error(BC_ERR_AUTH, "%s: %s (%s)", what,
                      role.status || creds.status ? "the service refused"
                                                  : "no instance metadata service answered; "
                                                    "outside EC2 set AWS_EC2_METADATA_DISABLED=true",
                      detail);
    }
    bc_http_response_free(&tok);
    bc_http_response_free(&role);
    bc_http_response_free(&creds);
    return st;
}

/* New keys from r's source, refused when already expired at now (a
 * clock far off would otherwise have them fetched for every request). */
static bc_status fetch(const bc_aws_refresh *r, time_t now, bc_aws_keys *out)
{
    bc_status st = r->kind == WEB_IDENTITY ? fetch_web_identity(r, out)
                   : r->kind == CONTAINER  ? fetch_container(r, out)
                                           : fetch_imds(r, out);
    if (st == BC_OK && out->expires_at <= now) {
        bc_aws_keys_free(out);
        st = bc_error(BC_ERR_AUTH, "%s issued keys that have already expired: is the clock "
                      "of this machine right?", r->source);
    }
    return st;
}

/* ---- setting up and refreshing ---------------------------------------- */

bc_status bc_aws_dup(char **dst, const char *src)
{
    if (!src)
        return BC_OK;
    *dst = strdup(src);
    return *dst ? BC_OK : bc_oom();
}

/* Fetches r's first keys into c, which then owns r. */
static bc_status start(bc_aws_credentials *c, bc_aws_refresh *r, bc_status st)
{
    time_t now = time(NULL);
    r->source = c->source;
    if (st == BC_OK)
        st = fetch(r, now, &r->cur);
    if (st != BC_OK) {
        bc_aws_refresh_free(r);
        return st;
    }
    r->refresh_at = bc_token_refresh_time(now, r->cur.expires_at);
    st = bc_aws_dup(&c->access_key, r->cur.access_key);
    if (st == BC_OK)
        st = bc_aws_dup(&c->secret_key, r->cur.secret_key);
    if (st == BC_OK)
        st = bc_aws_dup(&c->session_token, r->cur.session_token);
    c->refresh = r;
    if (st == BC_OK)
        bc_log_debug("credentials from %s: access key %s, valid for %lds", c->source,
                     r->cur.access_key, (long)(r->cur.expires_at - now));
    return st;
}

static bc_aws_refresh *refresh_new(int kind, const char *url, const char *ca_bundle,
                                   bc_status *st)
{
    bc_aws_refresh *r = calloc(1, sizeof *r);
    if (!r) {
        *st = bc_oom();
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->kind = kind;
    *st = bc_aws_dup(&r->url, url);
    if (*st == BC_OK)
        *st = bc_aws_dup(&r->ca_bundle, ca_bundle);
    return r;
}

bc_status bc_aws_web_identity(bc_aws_credentials *c, const char *role_arn,
                              const char *token_file, const char *session_name,
                              const char *sts_url, const char *ca_bundle)
{
    bc_status st;
    bc_aws_refresh *r = refresh_new(WEB_IDENTITY, sts_url, ca_bundle, &st);
    if (!r)
        return st;
    if (st == BC_OK)
        st = bc_aws_dup(&r->role_arn, role_arn);
    if (st == BC_OK)
        st = bc_aws_dup(&r->token_file, token_file);
    if (st == BC_OK)
        st = bc_aws_dup(&r->session_name, session_name);
    return start(c, r, st);
}

bc_status bc_aws_container(bc_aws_credentials *c, const char *url, const char *auth_token,
                           const char *auth_token_file, const char *ca_bundle)
{
    if (!bc_aws_container_host_allowed(url))
        return bc_error(BC_ERR_AUTH, "container credentials: %s is not allowed: over http "
                        "only a loopback address, 169.254.170.2, 169.254.170.23 or "
                        "fd00:ec2::23 (or use https)", url);
    bc_status st;
    bc_aws_refresh *r = refresh_new(CONTAINER, url, ca_bundle, &st);
    if (!r)
        return st;
    if (st == BC_OK)
        st = bc_aws_dup(&r->auth_token, auth_token);
    if (st == BC_OK)
        st = bc_aws_dup(&r->auth_token_file, auth_token_file);
    bc_log_add_secret(auth_token);
    return start(c, r, st);
}

bc_status bc_aws_imds(bc_aws_credentials *c, const char *endpoint, int v1_disabled)
{
    bc_status st;
    char base[2048];
    snprintf(base, sizeof base, "%s", endpoint);
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        base[--n] = '\0';
    bc_aws_refresh *r = refresh_new(IMDS, base, NULL, &st);
    if (!r)
        return st;
    r->v1_disabled = v1_disabled;
    return start(c, r, st);
}

bc_status bc_aws_credentials_keys_at(const bc_aws_credentials *c, time_t now, bc_aws_keys *out)
{
    bc_aws_refresh *r = c->refresh;
    if (!r) {
        bc_aws_keys fixed = { c->access_key, c->secret_key, c->session_token, 0 };
        return keys_copy(&fixed, out);
    }
    bc_status st = BC_OK;
    pthread_mutex_lock(&r->lock);
    if (now >= r->refresh_at) {
        bc_aws_keys next = { 0 };
        st = fetch(r, now, &next);
        if (st == BC_OK) {
            bc_aws_keys_free(&r->cur);
            r->cur = next;
            r->refresh_at = bc_token_refresh_time(now, next.expires_at);
            bc_log_info("credentials from %s refreshed: access key %s, valid for %lds",
                        r->source, next.access_key, (long)(next.expires_at - now));
        } else if (now < r->cur.expires_at) {
            bc_log_warning("%s; the current keys hold for %lds more", bc_error_msg(),
                           (long)(r->cur.expires_at - now));
            st = BC_OK;
        } else {
            char detail[2048];
            snprintf(detail, sizeof detail, "%s", bc_error_msg());
            st = bc_error(BC_ERR_AUTH, "the temporary credentials from %s expired and could "
                          "not be renewed: %s", r->source, detail);
        }
    }
    if (st == BC_OK)
        st = keys_copy(&r->cur, out);
    pthread_mutex_unlock(&r->lock);
    return st;
}

int bc_aws_credentials_renew(const bc_aws_credentials *c, const char *access_key)
{
    bc_aws_refresh *r = c->refresh;
    if (!r)
        return 0;
    pthread_mutex_lock(&r->lock);
    if (r->cur.access_key && strcmp(r->cur.access_key, access_key) == 0) {
        bc_log_info("access key %s from %s refused as expired %lds before its expiry: fetching "
                    "new keys", access_key, r->source, (long)(r->cur.expires_at - time(NULL)));
        r->refresh_at = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return 1;
}

bc_status bc_aws_credentials_keys(const bc_aws_credentials *c, bc_aws_keys *out)
{
    return bc_aws_credentials_keys_at(c, time(NULL), out);
}
