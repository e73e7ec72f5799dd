#include "store/s3/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/buffer.h"
#include "util/hex.h"
#include "util/sha256.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

bc_status bc_sigv4_payload_hash(const bc_source *src, int64_t offset, int64_t len, char hex[65])
{
    if (!src || len == 0) {
        memcpy(hex, EMPTY_SHA256, 65);
        return BC_OK;
    }
    if (src->sha256 && offset == 0 && len == src->size) {
        memcpy(hex, src->sha256, 65);   /* hashed by whoever read it */
        return BC_OK;
    }
    if (src->fd < 0) {
        if (offset < 0 || len < 0 || offset + len > src->size)
            return bc_error(BC_ERR_INTERNAL, "payload range outside its source");
        bc_sha256_of(src->mem + offset, (size_t)len, hex);
        return BC_OK;
    }

    /* A file: a first pass with pread, before the upload reads it again. */
    enum { CHUNK = 1 << 20 };
    bc_sha256 sha = {0};
    unsigned char *buf = malloc(CHUNK);
    bc_status st = buf ? bc_sha256_begin(&sha) : bc_oom();
    for (int64_t done = 0; st == BC_OK && done < len;) {
        size_t want = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
        ssize_t got = pread(src->fd, buf, want, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            st = bc_error(BC_ERR_IO, "reading the upload source at offset %lld: %s",
                          (long long)(offset + done), strerror(errno));
        else if (got == 0)
            st = bc_error(BC_ERR_IO, "upload source ended at offset %lld, expected %lld bytes",
                          (long long)(offset + done), (long long)(offset + len));
        else
            bc_sha256_update(&sha, buf, (size_t)got);
        done += got > 0 ? got : 0;
    }
    if (st == BC_OK)
        bc_sha256_hex(&sha, hex);
    bc_sha256_free(&sha);
    free(buf);
    return st;
}

/* ---- canonical request ------------------------------------------------ */

/* Headers a proxy or curl may add or rewrite: signing them would break. */
static int unsigned_header(const char *name)
{
    static const char *const skip[] = {
        "authorization", "user-agent", "expect", "content-length", "transfer-encoding",
        "connection", "accept", "accept-encoding", "x-amzn-trace-id",
    };
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcasecmp(name, skip[i]) == 0)
            return 1;
    return 0;
}

typedef struct canon_header {
    char *name;     /* lowercase */
    const char *value;
} canon_header;

static int cmp_canon_header(const void *a, const void *b)
{
    return strcmp(((const canon_header *)a)->name, ((const canon_header *)b)->name);
}

/* Value trimmed, inner runs of spaces collapsed to one. */
static void add_header_value(bc_buffer *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    int pending_space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending_space = 1;
            continue;
        }
        if (pending_space)
            bc_buffer_append(b, " ", 1);
        pending_space = 0;
        bc_buffer_append(b, v, 1);
    }
}

typedef struct query_param {
    const char *name;
    size_t name_len;
    const char *value;   /* may be empty */
    size_t value_len;
} query_param;

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int cmp_query_param(const void *pa, const void *pb)
{
    const query_param *a = pa, *b = pb;
    int c = cmp_bytes(a->name, a->name_len, b->name, b->name_len);
    return c ? c : cmp_bytes(a->value, a->value_len, b->value, b->value_len);
}

/* The query of the URL (already encoded), sorted by name then value, every
 * parameter as name=value. */
static int add_canonical_query(bc_buffer *b, const char *query, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += query[i] == '&';
    query_param *params = calloc(n, sizeof *params);
    if (!params)
        return -1;
    size_t count = 0, i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && query[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(query + i, '=', j - i);
            query_param *p = &params[count++];
            p->name = query + i;
            p->name_len = eq ? (size_t)(eq - (query + i)) : j - i;
            p->value = eq ? eq + 1 : "";
            p->value_len = eq ? (size_t)(query + j - (eq + 1)) : 0;
        }
        i = j + 1;
    }
    qsort(params, count, sizeof *params, cmp_query_param);
    for (size_t k = 0; k < count; k++) {
        if (k)
            bc_buffer_append(b, "&", 1);
        bc_buffer_append(b, params[k].name, params[k].name_len);
        bc_buffer_append(b, "=", 1);
        bc_buffer_append(b, params[k].value, params[k].value_len);
    }
    free(params);
    return 0;
}

static void hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &n);
}

/* Signs with the keys cr (one consistent set, however the credentials
 * are refreshed meanwhile). */
static bc_status sign_with(const bc_sigv4_signer *s, const bc_aws_keys *cr, bc_http_request *req,
                           const char *amz_date, char **canonical)
{
    bc_status st;
    char host[512];

    if (strlen(amz_date) != 16)
        return bc_error(BC_ERR_INTERNAL, "bad signing date %s", amz_date);
    if (bc_http_url_host(req->url, host, sizeof host) < 0)
        return bc_error(BC_ERR_USAGE, "bad URL %s", req->url);

    /* The headers the signature covers must be the ones sent: set Host
     * ourselves rather than let curl derive it. */
    bc_http_headers_remove(&req->headers, "Authorization");
    st = bc_http_headers_set(&req->headers, "Host", host);
    if (st == BC_OK)
        st = bc_http_headers_set(&req->headers, "X-Amz-Date", amz_date);
    if (st != BC_OK)
        return st;
    if (cr->session_token && *cr->session_token &&
        (st = bc_http_headers_set(&req->headers, "X-Amz-Security-Token", cr->session_token)) != BC_OK)
        return st;
    const char *payload = bc_http_headers_get(&req->headers, "X-Amz-Content-Sha256");
    if (!payload) {
        char hex[65];
        st = bc_sigv4_payload_hash(req->body, req->body_offset,
                                   req->body ? req->body_length : 0, hex);
        if (st != BC_OK)
            return st;
        st = bc_http_headers_set(&req->headers, "X-Amz-Content-Sha256", hex);
        if (st != BC_OK)
            return st;
        payload = bc_http_headers_get(&req->headers, "X-Amz-Content-Sha256");
    }

    /* Path and query, straight from the URL. */
    const char *after = strstr(req->url, "://") + 3;
    const char *path = after + strcspn(after, "/?#");
    size_t path_len = strcspn(path, "?#");
    const char *query = path + path_len;
    size_t query_len = 0;
    if (*query == '?') {
        query++;
        query_len = strcspn(query, "#");
    }

    canon_header *hs = calloc(req->headers.n ? req->headers.n : 1, sizeof *hs);
    if (!hs)
        return bc_oom();
    size_t nh = 0;
    bc_buffer cr_buf = { 0 }, signed_headers = { 0 }, sts = { 0 }, auth = { 0 };
    st = BC_OK;
    for (size_t i = 0; i < req->headers.n; i++) {
        const bc_http_header *h = &req->headers.items[i];
        if (unsigned_header(h->name))
            continue;
        char *lower = strdup(h->name);
        if (!lower) {
            st = bc_oom();
            goto done;
        }
        for (char *c = lower; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        hs[nh].name = lower;
        hs[nh].value = h->value;
        nh++;
    }
    qsort(hs, nh, sizeof *hs, cmp_canon_header);

    bc_buffer_adds(&cr_buf, req->method);
    bc_buffer_adds(&cr_buf, "\n");
    if (path_len)
        bc_buffer_append(&cr_buf, path, path_len);
    else
        bc_buffer_adds(&cr_buf, "/");
    bc_buffer_adds(&cr_buf, "\n");
    if (add_canonical_query(&cr_buf, query, query_len) < 0)
        cr_buf.failed = bc_oom();
    bc_buffer_adds(&cr_buf, "\n");
    for (size_t i = 0; i < nh; i++) {
        bc_buffer_adds(&cr_buf, hs[i].name);
        bc_buffer_adds(&cr_buf, ":");
        add_header_value(&cr_buf, hs[i].value);
        bc_buffer_adds(&cr_buf, "\n");
        if (i)
            bc_buffer_adds(&signed_headers, ";");
        bc_buffer_adds(&signed_headers, hs[i].name);
    }
    bc_buffer_adds(&cr_buf, "\n");
    bc_buffer_adds(&cr_buf, bc_buffer_str(&signed_headers));
    bc_buffer_adds(&cr_buf, "\n");
    bc_buffer_adds(&cr_buf, payload);

    char date[9], scope[256], cr_hash[65];
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, s->region, s->service);
    if (!cr_buf.failed)
        bc_sha256_of(cr_buf.data, cr_buf.len, cr_hash);
    bc_buffer_adds(&sts, ALGORITHM "\n");
    bc_buffer_adds(&sts, amz_date);
    bc_buffer_adds(&sts, "\n");
    bc_buffer_adds(&sts, scope);
    bc_buffer_adds(&sts, "\n");
    bc_buffer_adds(&sts, cr_hash);
    if (cr_buf.failed || signed_headers.failed || sts.failed) {
        st = bc_oom();
        goto done;
    }

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    unsigned char k[32];
    size_t klen = strlen(cr->secret_key) + 5;
    char *k0 = malloc(klen);
    if (!k0) {
        st = bc_oom();
        goto done;
    }
    snprintf(k0, klen, "AWS4%s", cr->secret_key);
    hmac(k0, klen - 1, date, k);
    explicit_bzero(k0, klen);
    free(k0);
    hmac(k, 32, s->region, k);
    hmac(k, 32, s->service, k);
    hmac(k, 32, "aws4_request", k);
    unsigned char sig[32];
    char sig_hex[65];
    hmac(k, 32, bc_buffer_str(&sts), sig);
    explicit_bzero(k, sizeof k);
    bc_hex_encode(sig, 32, sig_hex);

    bc_buffer_adds(&auth, ALGORITHM " Credential=");
    bc_buffer_adds(&auth, cr->access_key);
    bc_buffer_adds(&auth, "/");
    bc_buffer_adds(&auth, scope);
    bc_buffer_adds(&auth, ",SignedHeaders=");
    bc_buffer_adds(&auth, bc_buffer_str(&signed_headers));
    bc_buffer_adds(&auth, ",Signature=");
    bc_buffer_adds(&auth, sig_hex);
    if (auth.failed) {
        st = bc_oom();
        goto done;
    }
    st = bc_http_headers_set(&req->headers, "Authorization", bc_buffer_str(&auth));
    if (st != BC_OK)
        goto done;
    if (canonical) {
        *canonical = bc_buffer_take(&cr_buf);
    }
done:
    for (size_t i = 0; i < nh; i++)
        free(hs[i].name);
    free(hs);
    bc_buffer_free(&cr_buf);
    bc_buffer_free(&signed_headers);
    bc_buffer_free(&sts);
    bc_buffer_free(&auth);
    return st;
}

bc_status bc_sigv4_sign_at(const bc_sigv4_signer *s, bc_http_request *req,
                           const char *amz_date, char **canonical)
{
    bc_aws_keys keys;
    bc_status st = bc_aws_credentials_keys(s->creds, &keys);
    if (st != BC_OK)
        return st;
    st = sign_with(s, &keys, req, amz_date, canonical);
    bc_aws_keys_free(&keys);
    return st;
}

bc_status bc_sigv4_sign(void *signer, bc_http_request *req)
{
    char amz_date[32];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    return bc_sigv4_sign_at(signer, req, amz_date, NULL);
}
