/* Azure credentials, chosen in barman-cloud's order, and request signing.
 *
 *   --credential managed-identity|default   an OAuth token (below)
 *   AZURE_STORAGE_CONNECTION_STRING         account, key or SAS, endpoint
 *   AZURE_STORAGE_SAS_TOKEN                 appended to every URL
 *   AZURE_STORAGE_KEY                       Shared Key signing; the account
 *                                           from the URL or AZURE_STORAGE_ACCOUNT
 *   otherwise, like --credential default:   workload identity when
 *     AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID are set
 *     (AKS; AZURE_AUTHORITY_HOST optional), else the managed identity of the
 *     instance metadata endpoint (AZURE_CLIENT_ID picks a user-assigned one;
 *     AZURE_POD_IDENTITY_AUTHORITY_HOST moves the endpoint).
 * Tokens are fetched on first use and again shortly before they expire. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "store/azure/azure_internal.h"
#include "store/http/url.h"
#include "util/base64.h"
#include "util/buffer.h"
#include "util/fileio.h"
#include "util/log.h"

#define STORAGE_SCOPE "https://storage.azure.com/"

/* ---- connection strings -------------------------------------------------- */

/* Value of `name` in "k=v;k=v" (names case-insensitive), malloc'd, or NULL. */
static char *conn_value(const char *conn, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = conn; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        while (*p == ' ')
            p++;
        if (strncasecmp(p, name, n) == 0 && p[n] == '=') {
            const char *v = p + n + 1;
            return strndup(v, strcspn(v, ";"));
        }
    }
    return NULL;
}

static bc_status set_key(azure_backend *b, const char *key64, const char *from)
{
    char *key;
    size_t n;
    if (bc_base64_decode(key64, strlen(key64), &key, &n) < 0)
        return bc_error(BC_ERR_USAGE, "the account key in %s is not base64", from);
    if (n == 0 || n > sizeof b->key) {
        explicit_bzero(key, n);
        free(key);
        return bc_error(BC_ERR_USAGE, "the account key in %s has a wrong length", from);
    }
    memcpy(b->key, key, n);
    b->key_len = n;
    explicit_bzero(key, n);
    free(key);
    bc_log_add_secret(key64);
    b->auth = AZURE_AUTH_SHARED_KEY;
    return BC_OK;
}

static bc_status set_sas(azure_backend *b, const char *sas)
{
    while (*sas == '?')
        sas++;
    if (!*sas)
        return bc_error(BC_ERR_USAGE, "the SAS token is empty");
    if (!(b->sas = strdup(sas)))
        return bc_oom();
    bc_log_add_secret(b->sas);
    /* The signature part alone is what must never show. */
    char *sig = strstr(b->sas, "sig=");
    if (sig) {
        char *copy = strndup(sig + 4, strcspn(sig + 4, "&"));
        if (copy)
            bc_log_add_secret(copy);
        free(copy); /* bc_log_add_secret keeps its own copy */
    }
    b->auth = AZURE_AUTH_SAS;
    return BC_OK;
}

static bc_status from_connection_string(azure_backend *b, const char *conn)
{
    static const char *const from = "AZURE_STORAGE_CONNECTION_STRING";
    char *account = conn_value(conn, "AccountName");
    char *key = conn_value(conn, "AccountKey");
    char *sas = conn_value(conn, "SharedAccessSignature");
    char *endpoint = conn_value(conn, "BlobEndpoint");
    char *proto = conn_value(conn, "DefaultEndpointsProtocol");
    char *suffix = conn_value(conn, "EndpointSuffix");
    bc_status st = BC_OK;
    if (account) {
        free(b->account);
        b->account = account;
        account = NULL;
    }
    if (endpoint || b->account) {
        char url[1024];
        if (endpoint)
            snprintf(url, sizeof url, "%s", endpoint);
        else
            snprintf(url, sizeof url, "%s://%s.blob.%s", proto ? proto : "https", b->account,
                     suffix ? suffix : "core.windows.net");
        size_t n = strlen(url);
        while (n && url[n - 1] == '/')
            url[--n] = '\0';
        free(b->base_url);
        if (!(b->base_url = strdup(url)))
            st = bc_oom();
    }
    if (st == BC_OK && key)
        st = set_key(b, key, from);
    else if (st == BC_OK && sas)
        st = set_sas(b, sas);
    else if (st == BC_OK)
        st = bc_error(BC_ERR_USAGE, "%s has neither AccountKey nor SharedAccessSignature", from);
    if (st == BC_OK && b->auth == AZURE_AUTH_SHARED_KEY && !b->account)
        st = bc_error(BC_ERR_USAGE, "%s has an AccountKey but no AccountName", from);
    free(account);
    free(key);
    free(sas);
    free(endpoint);
    free(proto);
    free(suffix);
    return st;
}

bc_status bc_azure_auth_setup(azure_backend *b, const bc_store_config *cfg)
{
    const char *conn = getenv("AZURE_STORAGE_CONNECTION_STRING");
    const char *sas = getenv("AZURE_STORAGE_SAS_TOKEN");
    const char *key = getenv("AZURE_STORAGE_KEY");
    const char *account = getenv("AZURE_STORAGE_ACCOUNT");
    const char *cred = cfg->credential;

    if (cred && strcmp(cred, "azure-cli") == 0)
        return bc_error(BC_ERR_USAGE, "--credential azure-cli needs the az command line, which "
                        "bc does not run: use managed-identity or default");
    if (!cred && conn && *conn)
        return from_connection_string(b, conn);
    if (!cred && sas && *sas)
        return set_sas(b, sas);
    if (!cred && key && *key) {
        if (account && *account) {
            free(b->account);
            if (!(b->account = strdup(account)))
                return bc_oom();
        }
        return set_key(b, key, "AZURE_STORAGE_KEY");
    }
    /* Tokens: workload identity when its variables are there (default
     * only), else the instance's managed identity. */
    const char *fed = getenv("AZURE_FEDERATED_TOKEN_FILE");
    int workload = (!cred || strcmp(cred, "default") == 0) && fed && *fed &&
                   getenv("AZURE_CLIENT_ID") && getenv("AZURE_TENANT_ID");
    b->token_source = strdup(workload ? "workload-identity" : "managed-identity");
    if (!b->token_source)
        return bc_oom();
    b->auth = AZURE_AUTH_TOKEN;
    bc_log_debug("Azure credentials: %s", b->token_source);
    return BC_OK;
}

void bc_azure_auth_free(azure_backend *b)
{
    OPENSSL_cleanse(b->key, sizeof b->key);
    free(b->sas);
    free(b->token_source);
}

/* ---- OAuth tokens -------------------------------------------------------- */

static char *form_encode(const char *s)
{
    return bc_url_encode(s, 0);
}

/* Fetches a token from the metadata endpoint or the Entra ID token
 * endpoint (workload identity). */
bc_status bc_azure_fetch_token(void *ctx, char **token, time_t *expiry)
{
    azure_backend *b = ctx;
    char url[2048];
    bc_http_request req = {0};
    bc_http_response resp = {0};
    bc_source body = {.fd = -1};
    char *form = NULL, *assertion = NULL;
    const char *client_id = getenv("AZURE_CLIENT_ID");
    bc_status st = BC_OK;
    int workload = strcmp(b->token_source, "workload-identity") == 0;

    if (workload) {
        const char *authority = getenv("AZURE_AUTHORITY_HOST");
        const char *file = getenv("AZURE_FEDERATED_TOKEN_FILE");
        char *jwt = NULL;
        if (!file || bc_read_file(file, 1 << 16, &jwt, NULL) < 0)
            return bc_error(BC_ERR_AUTH, "cannot read AZURE_FEDERATED_TOKEN_FILE %s: %s",
                            file ? file : "(unset)",
                            !file ? "set it" : errno == EFBIG ? "over 64 KiB" : strerror(errno));
        jwt[strcspn(jwt, "\r\n")] = '\0';
        bc_log_add_secret(jwt);
        assertion = form_encode(jwt);
        explicit_bzero(jwt, strlen(jwt));
        free(jwt);
        char *cid = form_encode(client_id);
        snprintf(url, sizeof url, "%s%s%s/oauth2/v2.0/token",
                 authority && *authority ? authority : "https://login.microsoftonline.com/",
                 authority && *authority && authority[strlen(authority) - 1] != '/' ? "/" : "",
                 getenv("AZURE_TENANT_ID"));
        size_t flen = (assertion ? strlen(assertion) : 0) + (cid ? strlen(cid) : 0) + 512;
        if (assertion && cid && (form = malloc(flen)))
            snprintf(form, flen, "client_assertion=%s&client_assertion_type=urn%%3Aietf%%3Aparams"
                     "%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer&client_id=%s"
                     "&grant_type=client_credentials&scope=https%%3A%%2F%%2Fstorage.azure.com"
                     "%%2F.default", assertion, cid);
        free(cid);
        if (!form)
            st = bc_oom();
        body.mem = (const unsigned char *)form;
        body.size = form ? (int64_t)strlen(form) : 0;
        req.method = "POST";
        req.body = &body;
        req.body_length = body.size;
        if (st == BC_OK)
            st = bc_http_headers_set(&req.headers, "Content-Type",
                                     "application/x-www-form-urlencoded");
    } else {
        const char *host = getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST");
        snprintf(url, sizeof url, "%s/metadata/identity/oauth2/token?api-version=2018-02-01"
                 "&resource=https%%3A%%2F%%2Fstorage.azure.com%%2F%s%s",
                 host && *host ? host : "http://169.254.169.254",
                 client_id && *client_id ? "&client_id=" : "",
                 client_id && *client_id ? client_id : "");
        req.method = "GET";
        st = bc_http_headers_set(&req.headers, "Metadata", "true");
    }
    req.url = url;
    bc_http_client *hc = NULL;
    if (st == BC_OK)
        st = bc_http_client_acquire(b->pool, &hc);
    if (st == BC_OK) {
        st = bc_http_perform(hc, &req, &resp);
        bc_http_client_release(b->pool, hc);
    }
    json_t *doc = st == BC_OK ? json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL)
                              : NULL;
    const char *tok = json_string_value(json_object_get(doc, "access_token"));
    json_t *in = json_object_get(doc, "expires_in"), *on = json_object_get(doc, "expires_on");
    long long secs = json_is_integer(in) ? json_integer_value(in)
                   : json_is_string(in) ? atoll(json_string_value(in)) : 0;
    long long until = json_is_string(on) ? atoll(json_string_value(on))
                    : json_is_integer(on) ? json_integer_value(on) : 0;
    if (st == BC_OK && !tok)
        st = bc_error(BC_ERR_AUTH, "the token endpoint %s answered without an access_token", url);
    if (st == BC_OK && !(*token = strdup(tok)))
        st = bc_oom();
    if (st == BC_OK) {
        bc_log_add_secret(*token);
        *expiry = until > 0 ? (time_t)until : time(NULL) + (secs > 0 ? secs : 3600);
    } else if (st != BC_ERR_INTERNAL) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", bc_error_msg());
        st = bc_error(BC_ERR_AUTH, "no Azure token from the %s (%s): %s; or set "
                      "AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_SAS_TOKEN or "
                      "AZURE_STORAGE_KEY", workload ? "workload identity" : "managed identity",
                      url, detail);
    }
    json_decref(doc);
    bc_http_headers_free(&req.headers);
    bc_http_response_free(&resp);
    free(form);
    free(assertion);
    return st;
}


/* ---- Shared Key ---------------------------------------------------------- */

typedef struct header_ref {
    const char *name;
    const char *value;
} header_ref;

static int cmp_header(const void *a, const void *b)
{
    return strcmp(((const header_ref *)a)->name, ((const header_ref *)b)->name);
}

static const char *header(const bc_http_request *req, const char *name)
{
    const char *v = bc_http_headers_get(&req->headers, name);
    return v ? v : "";
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Appends s percent-decoded. */
static void append_decoded(char *out, size_t outlen, const char *s, size_t len)
{
    size_t n = strlen(out);
    for (size_t i = 0; i < len && n + 1 < outlen; i++) {
        if (s[i] == '%' && i + 2 < len + 1 && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            out[n++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
}

/* "/account/path" then "\nname:value" per query parameter, names
 * lowercased and sorted (each name appears once in our requests). */
static void canonical_resource(const azure_backend *b, const char *url, char *out, size_t outlen)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    if (!p)
        p = "/";
    size_t plen = strcspn(p, "?");
    snprintf(out, outlen, "/%s%.*s", b->account, (int)plen, p);
    const char *q = p[plen] == '?' ? p + plen + 1 : NULL;
    header_ref params[32];
    char names[32][64];
    size_t np = 0;
    for (const char *s = q; s && *s && np < 32; s = strchr(s, '&') ? strchr(s, '&') + 1 : NULL) {
        size_t len = strcspn(s, "&");
        size_t eq = strcspn(s, "=&");
        snprintf(names[np], sizeof names[np], "%.*s", (int)eq, s);
        for (char *c = names[np]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        params[np].name = names[np];
        params[np].value = eq < len ? s + eq + 1 : "";
        np++;
    }
    qsort(params, np, sizeof *params, cmp_header);
    for (size_t i = 0; i < np; i++) {
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, "\n%s:", params[i].name);
        append_decoded(out, outlen, params[i].value, strcspn(params[i].value, "&"));
    }
}

static bc_status sign_shared_key(azure_backend *b, bc_http_request *req)
{
    header_ref ms[32];
    size_t nms = 0;
    char lower[32][64];
    for (size_t i = 0; i < req->headers.n && nms < 32; i++) {
        const bc_http_header *h = &req->headers.items[i];
        if (strncasecmp(h->name, "x-ms-", 5) != 0)
            continue;
        snprintf(lower[nms], sizeof lower[nms], "%s", h->name);
        for (char *c = lower[nms]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        ms[nms].name = lower[nms];
        ms[nms].value = h->value;
        nms++;
    }
    qsort(ms, nms, sizeof *ms, cmp_header);
    char length[32] = "";
    if (req->body && req->body_length > 0)
        snprintf(length, sizeof length, "%lld", (long long)req->body_length);

    size_t cap = 16384, n;
    char *sts = malloc(cap);
    if (!sts)
        return bc_oom();
    n = (size_t)snprintf(sts, cap, "%s\n%s\n%s\n%s\n%s\n%s\n\n%s\n%s\n%s\n%s\n%s\n",
                         req->method, header(req, "Content-Encoding"),
                         header(req, "Content-Language"), length, header(req, "Content-MD5"),
                         header(req, "Content-Type"), header(req, "If-Modified-Since"),
                         header(req, "If-Match"), header(req, "If-None-Match"),
                         header(req, "If-Unmodified-Since"), header(req, "Range"));
    for (size_t i = 0; i < nms && n < cap; i++)
        n += (size_t)snprintf(sts + n, cap - n, "%s:%s\n", ms[i].name, ms[i].value);
    if (n < cap)
        canonical_resource(b, req->url, sts + n, cap - n);

    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), b->key, (int)b->key_len, (const unsigned char *)sts, strlen(sts), mac,
         &maclen);
    free(sts);
    char sig[64], auth[512];
    EVP_EncodeBlock((unsigned char *)sig, mac, (int)maclen);
    snprintf(auth, sizeof auth, "SharedKey %s:%s", b->account, sig);
    return bc_http_headers_set(&req->headers, "Authorization", auth);
}

static bc_status sign(azure_backend *b, bc_http_request *req, int with_version)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    bc_status st = bc_http_headers_set(&req->headers, "x-ms-date", date);
    if (st == BC_OK && with_version)
        st = bc_http_headers_set(&req->headers, "x-ms-version", AZURE_API_VERSION);
    if (st != BC_OK)
        return st;
    if (b->auth == AZURE_AUTH_SHARED_KEY)
        return sign_shared_key(b, req);
    if (b->auth == AZURE_AUTH_TOKEN) {
        char bearer[8192];
        st = bc_token_cache_bearer(&b->token, bearer, sizeof bearer);
        if (st != BC_OK)
            return st;
        return bc_http_headers_set(&req->headers, "Authorization", bearer);
    }
    return BC_OK;
}

bc_status bc_azure_sign(void *backend, bc_http_request *req)
{
    return sign(backend, req, 1);
}

bc_status bc_azure_sign_subrequest(azure_backend *b, bc_http_request *req)
{
    return sign(b, req, 0);
}
