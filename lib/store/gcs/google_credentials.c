/* Google access tokens: service account JWTs, authorized-user refresh
 * tokens and the metadata server, with a shared cache. See
 * google_credentials.h for the search order. */
#include "store/gcs/google_credentials.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/http/token.h"
#include "store/http/url.h"
#include "util/log.h"

#define SCOPE "https://www.googleapis.com/auth/devstorage.read_write"
#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define METADATA_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
#define JWT_LIFETIME 3600
/* Google's tokens live an hour; a reply that promises more than a day is
 * believed for a day (a longer time could overflow now + expires_in). */
#define MAX_TOKEN_TTL (24 * 3600)

typedef enum { CRED_NONE, CRED_SERVICE_ACCOUNT, CRED_USER, CRED_METADATA } cred_kind;

struct bc_google_credentials {
    cred_kind kind;
    char *source;
    char *token_uri;         /* or the metadata server's token URL */
    char *client_email;      /* service account */
    char *private_key_id;
    EVP_PKEY *key;
    char *client_id;         /* authorized user */
    char *client_secret;
    char *refresh_token;
    bc_http_pool *pool;
    bc_token_cache token;    /* the access token */
};

void bc_google_credentials_free(bc_google_credentials *c)
{
    if (!c)
        return;
    EVP_PKEY_free(c->key);
    bc_http_pool_free(c->pool);
    bc_token_cache_free(&c->token);
    free(c->source);
    free(c->token_uri);
    free(c->client_email);
    free(c->private_key_id);
    free(c->client_id);
    free(c->client_secret);
    free(c->refresh_token);
    free(c);
}

int bc_google_credentials_anonymous(const bc_google_credentials *c)
{
    return c->kind == CRED_NONE;
}

const char *bc_google_credentials_source(const bc_google_credentials *c)
{
    return c->source;
}

static char *dup_printf(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, fmt, a, b);
    return s;
}

/* A string member of a key file, copied; NULL (with *missing set) if absent. */
static char *member(json_t *doc, const char *name, const char **missing)
{
    const char *v = json_string_value(json_object_get(doc, name));
    if (!v || !*v) {
        if (!*missing)
            *missing = name;
        return NULL;
    }
    return strdup(v);
}

static bc_status load_service_account(bc_google_credentials *c, json_t *doc, const char *path)
{
    const char *missing = NULL;
    char *pem = member(doc, "private_key", &missing);
    c->client_email = member(doc, "client_email", &missing);
    c->private_key_id = member(doc, "private_key_id", &missing);
    const char *uri = json_string_value(json_object_get(doc, "token_uri"));
    c->token_uri = strdup(uri && *uri ? uri : DEFAULT_TOKEN_URI);
    if (missing) {
        free(pem);
        return bc_error(BC_ERR_AUTH, "service account key file %s has no \"%s\"; download a "
                        "new JSON key for the service account", path, missing);
    }
    bc_log_add_secret(pem);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    c->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    memset(pem, 0, strlen(pem));
    free(pem);
    if (!c->key || EVP_PKEY_base_id(c->key) != EVP_PKEY_RSA)
        return bc_error(BC_ERR_AUTH, "service account key file %s: private_key is not an RSA "
                        "key in PEM form", path);
    if (!c->token_uri || !(c->source = dup_printf("service account %s from %s",
                                                  c->client_email, path)))
        return bc_oom();
    c->kind = CRED_SERVICE_ACCOUNT;
    return BC_OK;
}

static bc_status load_user(bc_google_credentials *c, json_t *doc, const char *path)
{
    const char *missing = NULL;
    c->client_id = member(doc, "client_id", &missing);
    c->client_secret = member(doc, "client_secret", &missing);
    c->refresh_token = member(doc, "refresh_token", &missing);
    if (missing)
        return bc_error(BC_ERR_AUTH, "credentials file %s has no \"%s\"; run `gcloud auth "
                        "application-default login` again", path, missing);
    bc_log_add_secret(c->client_secret);
    bc_log_add_secret(c->refresh_token);
    c->token_uri = strdup(DEFAULT_TOKEN_URI);
    if (!c->token_uri || !(c->source = dup_printf("user credentials %s%s", path, "")))
        return bc_oom();
    c->kind = CRED_USER;
    return BC_OK;
}

static bc_status load_file(bc_google_credentials *c, const char *path)
{
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    if (!doc)
        return bc_error(BC_ERR_AUTH, "cannot read Google credentials file %s: %s "
                        "(GOOGLE_APPLICATION_CREDENTIALS must name a JSON key file)", path, err.text);
    const char *type = json_string_value(json_object_get(doc, "type"));
    bc_status st;
    if (type && strcmp(type, "service_account") == 0)
        st = load_service_account(c, doc, path);
    else if (type && strcmp(type, "authorized_user") == 0)
        st = load_user(c, doc, path);
    else
        st = bc_error(BC_ERR_AUTH, "Google credentials file %s: type \"%s\" is not supported "
                      "(use a service_account or authorized_user key)", path, type ? type : "");
    json_decref(doc);
    return st;
}

static bc_status use_metadata_server(bc_google_credentials *c)
{
    const char *host = getenv("GCE_METADATA_HOST");
    if (!host || !*host)
        host = "metadata.google.internal";
    const char *scheme = strstr(host, "://") ? "" : "http://";
    c->kind = CRED_METADATA;
    c->token_uri = dup_printf("%s%s" METADATA_PATH, scheme, host);
    c->source = dup_printf("the metadata server %s%s", host, "");
    return c->token_uri && c->source ? BC_OK : bc_oom();
}

static bc_status fetch_token(void *ctx, char **token, time_t *expires_at);

bc_status bc_google_credentials_load(const bc_http_config *http, int emulator,
                                     bc_google_credentials **out)
{
    *out = NULL;
    bc_google_credentials *c = calloc(1, sizeof *c);
    if (!c)
        return bc_oom();
    bc_token_cache_init(&c->token, fetch_token, c);
    bc_status st;
    const char *path = getenv("GOOGLE_APPLICATION_CREDENTIALS");
    const char *home = getenv("HOME");
    char well_known[4096] = "";
    if (home && *home)
        snprintf(well_known, sizeof well_known,
                 "%s/.config/gcloud/application_default_credentials.json", home);
    if (path && *path) {
        st = load_file(c, path);
    } else if (emulator) {
        c->kind = CRED_NONE;
        st = (c->source = strdup("none (STORAGE_EMULATOR_HOST is set)")) ? BC_OK : bc_oom();
    } else if (*well_known && access(well_known, R_OK) == 0) {
        st = load_file(c, well_known);
    } else {
        st = use_metadata_server(c);
    }
    if (st == BC_OK && c->kind != CRED_NONE)
        st = bc_http_pool_new(http, &c->pool);
    if (st != BC_OK) {
        bc_google_credentials_free(c);
        return st;
    }
    *out = c;
    return BC_OK;
}

/* ---- JWT -------------------------------------------------------------- */

/* base64url without padding of len bytes; a new string. */
static char *base64url(const void *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

static char *json_b64(json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    char *b64 = text ? base64url(text, strlen(text)) : NULL;
    free(text);
    json_decref(obj);
    return b64;
}

/* header.claims.signature, signed with the account's key. */
static bc_status make_jwt(const bc_google_credentials *c, char **out)
{
    time_t now = time(NULL);
    char *head = json_b64(json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT",
                                    "kid", c->private_key_id));
    char *claims = json_b64(json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", c->client_email,
                                      "scope", SCOPE, "aud", c->token_uri, "iat",
                                      (json_int_t)now, "exp", (json_int_t)now + JWT_LIFETIME));
    bc_status st = BC_OK;
    char *input = head && claims ? dup_printf("%s.%s", head, claims) : NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!input || !md) {
        st = bc_oom();
    } else if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->key) != 1 ||
               EVP_DigestSign(md, NULL, &siglen, (unsigned char *)input, strlen(input)) != 1 ||
               !(sig = malloc(siglen)) ||
               EVP_DigestSign(md, sig, &siglen, (unsigned char *)input, strlen(input)) != 1) {
        st = bc_error(BC_ERR_INTERNAL, "cannot sign the JWT of %s with OpenSSL", c->client_email);
    } else {
        char *b64 = base64url(sig, siglen);
        *out = b64 ? dup_printf("%s.%s", input, b64) : NULL;
        st = *out ? BC_OK : bc_oom();
        free(b64);
    }
    EVP_MD_CTX_free(md);
    free(sig);
    free(input);
    free(head);
    free(claims);
    return st;
}

/* ---- token requests --------------------------------------------------- */

/* The form body of a token request; a new string. */
static bc_status token_form(const bc_google_credentials *c, char **out)
{
    *out = NULL;
    if (c->kind == CRED_METADATA)
        return BC_OK;
    const char *fmt;
    char *a = NULL, *b = NULL, *cs = NULL, *assertion = NULL;
    if (c->kind == CRED_SERVICE_ACCOUNT) {
        bc_status st = make_jwt(c, &assertion);
        if (st != BC_OK)
            return st;
        bc_log_add_secret(assertion);
        fmt = "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&assertion=%s%s";
        a = bc_url_encode(assertion, 0);
        b = strdup("");
        free(assertion);
    } else {
        cs = bc_url_encode(c->client_secret, 0);
        a = bc_url_encode(c->client_id, 0);
        b = bc_url_encode(c->refresh_token, 0);
        fmt = "grant_type=refresh_token&client_id=%s&refresh_token=%s&client_secret=";
    }
    char *form = a && b ? dup_printf(fmt, a, b) : NULL;
    if (form && cs) {
        char *full = dup_printf("%s%s", form, cs);
        free(form);
        form = full;
    }
    free(a);
    free(b);
    free(cs);
    *out = form;
    return form ? BC_OK : bc_oom();
}

/* What the token endpoint said in its error reply ("invalid_grant:
 * Invalid JWT Signature."), else "". */
static void oauth_error(const bc_http_response *r, char *out, size_t outlen)
{
    json_t *doc = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(doc, "error"));
    const char *d = json_string_value(json_object_get(doc, "error_description"));
    snprintf(out, outlen, "%s%s%s", e ? e : "", e && d ? ": " : "", d ? d : "");
    json_decref(doc);
}

bc_status bc_google_token_parse(const char *body, size_t len, const char *uri, time_t now,
                                char **token, time_t *expires_at)
{
    json_t *doc = body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(doc, "access_token"));
    json_int_t ttl = json_integer_value(json_object_get(doc, "expires_in"));
    bc_status st = BC_OK;
    *token = NULL;
    if (!tok || !*tok) {
        st = bc_error(BC_ERR_AUTH, "authentication failed: %s answered without an access_token",
                      uri);
    } else if (!(*token = strdup(tok))) {
        st = bc_oom();
    } else {
        if (ttl <= 0)
            ttl = 300;
        if (ttl > MAX_TOKEN_TTL)
            ttl = MAX_TOKEN_TTL;
        *expires_at = now + (time_t)ttl; /* the cache replaces it ahead of that */
    }
    json_decref(doc);
    return st;
}

static bc_status parse_token(const bc_google_credentials *c, const bc_http_response *r,
                             char **token, time_t *expires_at)
{
    bc_status st = bc_google_token_parse(r->body, r->body_len, c->token_uri, time(NULL), token,
                                         expires_at);
    if (st == BC_OK)
        bc_log_add_secret(*token);
    return st;
}

/* A bc_token_fetch_fn: a new access token for these credentials. */
static bc_status fetch_token(void *ctx, char **token, time_t *expires_at)
{
    bc_google_credentials *c = ctx;
    char *form = NULL;
    bc_status st = token_form(c, &form);
    if (st != BC_OK)
        return st;
    bc_http_client *hc;
    st = bc_http_client_acquire(c->pool, &hc);
    if (st != BC_OK) {
        free(form);
        return st;
    }
    bc_source body = { .fd = -1, .mem = (const unsigned char *)form,
                       .size = form ? (int64_t)strlen(form) : 0 };
    bc_http_request req = { .method = form ? "POST" : "GET", .url = c->token_uri };
    bc_http_response resp = { 0 };
    if (form) {
        req.body = &body;
        req.body_length = body.size;
        st = bc_http_headers_set(&req.headers, "Content-Type", "application/x-www-form-urlencoded");
    } else {
        st = bc_http_headers_set(&req.headers, "Metadata-Flavor", "Google");
    }
    if (st == BC_OK)
        st = bc_http_perform(hc, &req, &resp);
    char detail[600];
    if (st == BC_OK) {
        st = parse_token(c, &resp, token, expires_at);
    } else if (resp.status >= 400 && resp.status < 500) {
        oauth_error(&resp, detail, sizeof detail);
        st = bc_error(BC_ERR_AUTH, "authentication failed: %s refused the credentials of %s "
                      "(HTTP %ld%s%s); check the key file or the account's status", c->token_uri,
                      c->source, resp.status, *detail ? ", " : "", detail);
    } else if (c->kind == CRED_METADATA && resp.status == 0) {
        bc_error_context(BC_ERR_AUTH, "no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is "
                         "not set and the metadata server is unreachable (set it to a service "
                         "account key file, or run on GCE/GKE)");
        st = BC_ERR_AUTH;
    } else {
        bc_error_context(st, "fetching an access token from %s for %s", c->token_uri, c->source);
    }
    bc_http_response_free(&resp);
    bc_http_headers_free(&req.headers);
    bc_http_client_release(c->pool, hc);
    if (form) {
        memset(form, 0, strlen(form));
        free(form);
    }
    return st;
}

bc_status bc_google_sign(void *creds, bc_http_request *req)
{
    bc_google_credentials *c = creds;
    if (c->kind == CRED_NONE)
        return BC_OK;
    char bearer[8192];
    bc_status st = bc_token_cache_bearer(&c->token, bearer, sizeof bearer);
    if (st == BC_OK)
        st = bc_http_headers_set(&req->headers, "Authorization", bearer);
    explicit_bzero(bearer, sizeof bearer);
    return st;
}

void bc_google_credentials_invalidate(bc_google_credentials *c, const char *token)
{
    bc_token_cache_invalidate(&c->token, token);
}
