#include "store/http/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#ifndef BC_VERSION
#define BC_VERSION "dev"
#endif

#define DEFAULT_TIMEOUT 60
#define DEFAULT_RETRIES 5
#define DEFAULT_MAX_COLLECT ((size_t)16 << 20)
#define ERROR_BODY_MAX ((size_t)64 << 10)
#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS 5000
#define THROTTLE_BASE_MS 1000   /* 429 and 503: the server asked for less */
#define MAX_IDLE_CLIENTS 32

struct bc_http_client {
    CURL *curl;
    const bc_http_config *cfg;   /* the pool's, outlives the client */
    char errbuf[CURL_ERROR_SIZE];
    bc_http_client *next_idle;
};

struct bc_http_pool {
    bc_http_config cfg;
    char *ca_bundle;
    pthread_mutex_t lock;
    bc_http_client *idle;
    size_t nidle;
};

/* ---- headers ---------------------------------------------------------- */

static ssize_t header_index(const bc_http_headers *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->items[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

bc_status bc_http_headers_set(bc_http_headers *h, const char *name, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return bc_oom();
    ssize_t i = header_index(h, name);
    if (i >= 0) {
        free(h->items[i].value);
        h->items[i].value = v;
        return BC_OK;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        bc_http_header *items = realloc(h->items, cap * sizeof *items);
        if (!items) {
            free(v);
            return bc_oom();
        }
        h->items = items;
        h->cap = cap;
    }
    char *n = strdup(name);
    if (!n) {
        free(v);
        return bc_oom();
    }
    h->items[h->n].name = n;
    h->items[h->n].value = v;
    h->n++;
    return BC_OK;
}

const char *bc_http_headers_get(const bc_http_headers *h, const char *name)
{
    ssize_t i = header_index(h, name);
    return i >= 0 ? h->items[i].value : NULL;
}

void bc_http_headers_remove(bc_http_headers *h, const char *name)
{
    ssize_t i = header_index(h, name);
    if (i < 0)
        return;
    free(h->items[i].name);
    free(h->items[i].value);
    memmove(&h->items[i], &h->items[i + 1], (h->n - (size_t)i - 1) * sizeof h->items[0]);
    h->n--;
}

void bc_http_headers_free(bc_http_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->items[i].name);
        free(h->items[i].value);
    }
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}

/* ---- global init, pool ------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bc_status bc_http_global_init(void)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK)
        return bc_error(BC_ERR_INTERNAL, "cannot initialise libcurl: %s",
                        curl_easy_strerror(global_rc));
    return BC_OK;
}

bc_status bc_http_pool_new(const bc_http_config *cfg, bc_http_pool **out)
{
    bc_status st = bc_http_global_init();
    if (st != BC_OK)
        return st;
    bc_http_pool *p = calloc(1, sizeof *p);
    if (!p)
        return bc_oom();
    if (cfg)
        p->cfg = *cfg;
    if (p->cfg.connect_timeout <= 0)
        p->cfg.connect_timeout = DEFAULT_TIMEOUT;
    if (p->cfg.read_timeout <= 0)
        p->cfg.read_timeout = DEFAULT_TIMEOUT;
    if (p->cfg.max_retries == 0)
        p->cfg.max_retries = DEFAULT_RETRIES;
    else if (p->cfg.max_retries < 0)
        p->cfg.max_retries = 0;
    /* The pool keeps its own copy: the caller's string may go away. */
    pthread_mutex_init(&p->lock, NULL);
    if (p->cfg.ca_bundle && *p->cfg.ca_bundle && !(p->ca_bundle = strdup(p->cfg.ca_bundle))) {
        bc_http_pool_free(p);
        return bc_oom();
    }
    p->cfg.ca_bundle = p->ca_bundle;
    *out = p;
    return BC_OK;
}

static void client_free(bc_http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void bc_http_pool_free(bc_http_pool *pool)
{
    if (!pool)
        return;
    while (pool->idle) {
        bc_http_client *c = pool->idle;
        pool->idle = c->next_idle;
        client_free(c);
    }
    pthread_mutex_destroy(&pool->lock);
    free(pool->ca_bundle);
    free(pool);
}

bc_status bc_http_client_acquire(bc_http_pool *pool, bc_http_client **out)
{
    pthread_mutex_lock(&pool->lock);
    bc_http_client *c = pool->idle;
    if (c) {
        pool->idle = c->next_idle;
        pool->nidle--;
    }
    pthread_mutex_unlock(&pool->lock);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return bc_oom();
        c->curl = curl_easy_init();
        if (!c->curl) {
            free(c);
            return bc_error(BC_ERR_INTERNAL, "cannot create a libcurl handle");
        }
        c->cfg = &pool->cfg;
    }
    c->next_idle = NULL;
    *out = c;
    return BC_OK;
}

void bc_http_client_release(bc_http_pool *pool, bc_http_client *client)
{
    if (!client)
        return;
    pthread_mutex_lock(&pool->lock);
    if (pool->nidle < MAX_IDLE_CLIENTS) {
        client->next_idle = pool->idle;
        pool->idle = client;
        pool->nidle++;
        client = NULL;
    }
    pthread_mutex_unlock(&pool->lock);
    client_free(client);
}

bc_status bc_http_pool_perform(bc_http_pool *pool, bc_http_request *req, bc_http_response *resp)
{
    bc_http_client *hc;
    bc_status st = bc_http_client_acquire(pool, &hc);
    if (st != BC_OK)
        return st;
    st = bc_http_perform(hc, req, resp);
    bc_http_client_release(pool, hc);
    return st;
}

/* ---- helpers ---------------------------------------------------------- */

int bc_http_url_host(const char *url, char *out, size_t outlen)
{
    const char *sep = strstr(url, "://");
    if (!sep || outlen == 0)
        return -1;
    size_t scheme_len = (size_t)(sep - url);
    const char *h = sep + 3;
    size_t n = strcspn(h, "/?#");
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    /* curl leaves default ports out of its Host header; so do we. */
    const char *colon = strrchr(out, ':');
    if (colon && !strchr(colon, ']')) {
        if ((scheme_len == 4 && strncasecmp(url, "http", 4) == 0 && strcmp(colon, ":80") == 0) ||
            (scheme_len == 5 && strncasecmp(url, "https", 5) == 0 && strcmp(colon, ":443") == 0))
            out[colon - out] = '\0';
    }
    return 0;
}

/* Exponential from base_ms, capped, with "equal jitter": half the delay
 * fixed, half random, so concurrent workers that failed together do not
 * retry together. */
static long jittered_ms(int attempt, long base_ms)
{
    long cap = base_ms;
    for (int i = 1; i < attempt && cap < BACKOFF_CAP_MS; i++)
        cap *= 2;
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    unsigned int r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        r = (unsigned int)now.tv_nsec ^ (unsigned int)(uintptr_t)&now;
    }
    return cap / 2 + (long)(r % (unsigned int)(cap / 2 + 1));
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void bc_http_backoff(int attempt, int throttled)
{
    sleep_ms(jittered_ms(attempt, throttled ? THROTTLE_BASE_MS : BACKOFF_BASE_MS));
}

long bc_http_retry_delay_ms(const bc_http_response *resp, int attempt)
{
    int throttled = resp->status == 429 || resp->status == 503;
    long ms = jittered_ms(attempt, throttled ? THROTTLE_BASE_MS : BACKOFF_BASE_MS);
    if (resp->retry_after >= 0) {
        long asked = (resp->retry_after < BC_HTTP_RETRY_AFTER_MAX ? resp->retry_after
                                                                   : BC_HTTP_RETRY_AFTER_MAX) * 1000;
        if (asked > ms)
            ms = asked;
    }
    return ms;
}

/* Retry-After: delta-seconds or an HTTP-date; -1 if neither. */
static long parse_retry_after(const char *v)
{
    char *e;
    long secs = strtol(v, &e, 10);
    if (e != v && *e == '\0')
        return secs >= 0 ? secs : -1;
    struct tm tm = {0};
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    time_t at = timegm(&tm), now = time(NULL);
    return at > now ? (long)(at - now) : 0;
}

static bc_status code_status(const bc_http_errors *errors, const char *code)
{
    return errors && errors->code_status && *code ? errors->code_status(code) : BC_OK;
}

static const char *reason_phrase(long status)
{
    switch (status) {
    case 301: return "Moved Permanently";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    return "";
}

bc_status bc_http_classify(const bc_http_response *resp, const bc_http_errors *errors)
{
    bc_status code;
    long s = resp->status;
    const char *ec = resp->error_code;
    bc_status meant = code_status(errors, ec);

    if (s == 401 || s == 403 || meant == BC_ERR_AUTH)
        code = BC_ERR_AUTH;
    else if (s == 404)
        code = meant == BC_ERR_NOBUCKET ? BC_ERR_NOBUCKET : BC_ERR_NOTFOUND;
    else if (s == 409 || s == 412)
        code = BC_ERR_CONFLICT;
    else if ((s >= 500 && s != 501) || s == 429 || meant == BC_ERR_NET)
        code = BC_ERR_NET;
    else
        code = BC_ERR_INTERNAL;

    char detail[800] = "";
    if (*ec)
        snprintf(detail, sizeof detail, " %s%s%s", ec, *resp->error_message ? ": " : "",
                 resp->error_message);
    else if (*reason_phrase(s))
        snprintf(detail, sizeof detail, " %s", reason_phrase(s));
    char extra[256] = "";
    if (*resp->bucket_region && (s == 301 || s == 307 || s == 400))
        snprintf(extra, sizeof extra, " (bucket is in region %s)", resp->bucket_region);
    else if (*resp->request_id)
        snprintf(extra, sizeof extra, " (request id %s)", resp->request_id);
    return bc_error(code, "HTTP %ld%s%s", s, detail, extra);
}

/* ---- one attempt ------------------------------------------------------ */

typedef struct transfer {
    bc_http_request *req;
    bc_http_response *resp;
    CURL *curl;
    size_t collect_cap;
    size_t max_collect;
    int64_t sent;             /* request body bytes read so far */
    int64_t resume_from;      /* Range start asked for, 0 if none */
    int64_t skip;             /* leading bytes to drop (server ignored Range) */
    int64_t range_start;      /* start of the Content-Range we got, -1 if none */
    int64_t range_total;      /* its "/TOTAL", -1 if none or "*" */
    /* On a resumed download, what the first reply said of the object, so
     * a reply from a changed object is refused before a byte of it reaches
     * the sink: the bytes already delivered cannot be taken back. */
    const char *want_etag, *want_last_modified;
    int64_t want_total;       /* its size, -1 if unknown */
    const char *host;
    int body_decided;
    int overflow;
    int sink_status;          /* non-zero: the sink stopped us */
    bc_status source_status;  /* reading the request body failed */
} transfer;

static void copy_field(char *dst, size_t dstlen, const char *v, size_t n)
{
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
    transfer *t = ud;
    bc_http_response *r = t->resp;
    size_t n = size * nitems;

    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue, say): forget the last one's. */
        r->etag[0] = r->last_modified[0] = r->request_id[0] = r->bucket_region[0] = '\0';
        r->location[0] = '\0';
        r->content_length = -1;
        r->retry_after = -1;
        t->range_start = t->range_total = -1;
        if (t->req->meta)
            t->req->meta->n = 0;
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    char tmp[64];

#define IS(lit) (name_len == sizeof(lit) - 1 && strncasecmp(data, lit, name_len) == 0)
    size_t plen = t->req->meta && t->req->meta_prefix ? strlen(t->req->meta_prefix) : 0;
    if (plen && name_len > plen && strncasecmp(data, t->req->meta_prefix, plen) == 0) {
        bc_object_meta_add(t->req->meta, data + plen, name_len - plen, v, vlen);
    } else if (IS("etag")) {
        copy_field(r->etag, sizeof r->etag, v, vlen);
    } else if (IS("last-modified")) {
        copy_field(r->last_modified, sizeof r->last_modified, v, vlen);
    } else if (IS("x-amz-request-id") || IS("x-ms-request-id") || IS("x-guploader-uploadid")) {
        copy_field(r->request_id, sizeof r->request_id, v, vlen);
    } else if (IS("location")) {
        copy_field(r->location, sizeof r->location, v, vlen);
    } else if (IS("x-amz-bucket-region")) {
        copy_field(r->bucket_region, sizeof r->bucket_region, v, vlen);
    } else if (IS("retry-after")) {
        copy_field(tmp, sizeof tmp, v, vlen);
        r->retry_after = parse_retry_after(tmp);
    } else if (IS("content-length")) {
        copy_field(tmp, sizeof tmp, v, vlen);
        char *e;
        long long cl = strtoll(tmp, &e, 10);
        if (e != tmp && *e == '\0' && cl >= 0)
            r->content_length = cl;
    } else if (IS("content-range")) {
        /* "bytes START-END/TOTAL" */
        copy_field(tmp, sizeof tmp, v, vlen);
        long long start, last, total;
        int got = sscanf(tmp, "bytes %lld-%lld/%lld", &start, &last, &total);
        if (got >= 1 && start >= 0)
            t->range_start = start;
        if (got == 3 && total >= 0)
            t->range_total = total;
    }
#undef IS
    return n;
}

static int grow_collect(transfer *t, size_t need)
{
    bc_http_response *r = t->resp;
    if (need <= t->collect_cap)
        return 0;
    size_t cap = t->collect_cap ? t->collect_cap : 4096;
    while (cap < need)
        cap *= 2;
    char *b = realloc(r->body, cap);
    if (!b)
        return -1;
    r->body = b;
    t->collect_cap = cap;
    return 0;
}

/* Whether the reply to a resumed request is of the object the first reply
 * was of: same ETag (else, without one, same Last-Modified) and same size.
 * A 206 from an object replaced meanwhile would splice two objects
 * together; a 200 of one would too once the bytes already had are
 * skipped. Sets source_status and returns 0 when it is not. */
static int same_object(transfer *t, long code)
{
    const bc_http_response *r = t->resp;
    const char *what = NULL, *want = NULL, *got = NULL;
    if (*t->want_etag && strcmp(r->etag, t->want_etag) != 0)
        what = "ETag", want = t->want_etag, got = r->etag;
    else if (!*t->want_etag && *t->want_last_modified &&
             strcmp(r->last_modified, t->want_last_modified) != 0)
        what = "Last-Modified", want = t->want_last_modified, got = r->last_modified;
    if (what) {
        t->source_status = bc_error(BC_ERR_DATA,
            "object changed on %s while downloading it: resuming at byte %lld, the reply "
            "(HTTP %ld) has %s %s where the first had %s; run again to start over",
            t->host, (long long)t->resume_from, code, what, *got ? got : "(none)", want);
        return 0;
    }
    int64_t total = code == 206 ? t->range_total : r->content_length;
    if (t->want_total >= 0 && total >= 0 && total != t->want_total) {
        t->source_status = bc_error(BC_ERR_DATA,
            "object changed on %s while downloading it: resuming at byte %lld, the reply "
            "(HTTP %ld) is of %lld bytes where the first was of %lld; run again to start over",
            t->host, (long long)t->resume_from, code, (long long)total,
            (long long)t->want_total);
        return 0;
    }
    return 1;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer *t = ud;
    bc_http_response *r = t->resp;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    int ok = code >= 200 && code < 300;

    if (ok && t->req->sink) {
        if (!t->body_decided) {
            t->body_decided = 1;
            if (t->resume_from > 0 && !same_object(t, code))
                return 0;
            if (t->resume_from > 0 && code == 200)
                t->skip = t->resume_from;   /* whole object again: drop what we have */
            else if (t->resume_from > 0 && t->range_start != t->resume_from) {
                t->source_status = bc_error(BC_ERR_DATA,
                    "server resumed the download at the wrong offset");
                return 0;
            }
            if (t->req->meta && code == 200)
                t->req->meta->size = r->content_length;
        }
        size_t off = 0;
        if (t->skip > 0) {
            off = (int64_t)n < t->skip ? n : (size_t)t->skip;
            t->skip -= (int64_t)off;
        }
        if (n > off) {
            int rc = t->req->sink(t->req->sink_ctx, data + off, n - off);
            if (rc) {
                t->sink_status = rc;
                return 0;
            }
            r->delivered += (int64_t)(n - off);
        }
        return n;
    }

    /* Collected: the reply of a request without a sink, or an error body. */
    size_t limit = ok ? t->max_collect : ERROR_BODY_MAX;
    if (r->body_len + n > limit) {
        if (!ok)
            return n;   /* the start of an error body is all we need */
        t->overflow = 1;
        return 0;
    }
    if (grow_collect(t, r->body_len + n + 1) < 0) {
        t->source_status = bc_oom();
        return 0;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    transfer *t = ud;
    const bc_source *src = t->req->body;
    int64_t left = t->req->body_length - t->sent;
    size_t n = size * nitems;
    if (left <= 0)
        return 0;
    if ((int64_t)n > left)
        n = (size_t)left;
    int64_t at = t->req->body_offset + t->sent;
    if (src->fd >= 0) {
        ssize_t got;
        do
            got = pread(src->fd, buf, n, (off_t)at);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            t->source_status = bc_error(BC_ERR_IO, "reading the upload source at offset %lld: %s",
                                        (long long)at, strerror(errno));
            return CURL_READFUNC_ABORT;
        }
        if (got == 0) {
            t->source_status = bc_error(BC_ERR_IO,
                "upload source ended at offset %lld, expected %lld bytes (file shrank?)",
                (long long)at, (long long)(t->req->body_offset + t->req->body_length));
            return CURL_READFUNC_ABORT;
        }
        n = (size_t)got;
    } else {
        memcpy(buf, src->mem + at, n);
    }
    t->sent += (int64_t)n;
    return n;
}

/* curl rewinds the body when it replays a request on a fresh connection. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    transfer *t = ud;
    if (origin != SEEK_SET || offset < 0 || offset > t->req->body_length)
        return CURL_SEEKFUNC_CANTSEEK;
    t->sent = offset;
    return CURL_SEEKFUNC_OK;
}

static struct curl_slist *build_header_list(const bc_http_request *req, int *oom)
{
    struct curl_slist *list = NULL, *next;
    char line[8192];
    *oom = 0;
    for (size_t i = 0; i < req->headers.n; i++) {
        const bc_http_header *h = &req->headers.items[i];
        /* "Name;" is curl's way to send a header with an empty value. */
        if (*h->value)
            snprintf(line, sizeof line, "%s: %s", h->name, h->value);
        else
            snprintf(line, sizeof line, "%s;", h->name);
        if (!(next = curl_slist_append(list, line)))
            goto fail;
        list = next;
    }
    /* No "Expect: 100-continue" pause, and no form content type on POST. */
    if (!(next = curl_slist_append(list, "Expect:")))
        goto fail;
    list = next;
    if (!bc_http_headers_get(&req->headers, "Content-Type")) {
        if (!(next = curl_slist_append(list, "Content-Type:")))
            goto fail;
        list = next;
    }
    return list;
fail:
    curl_slist_free_all(list);
    *oom = 1;
    return NULL;
}

static CURLcode run_attempt(bc_http_client *c, bc_http_request *req, transfer *t)
{
    CURL *h = c->curl;
    const bc_http_config *cfg = c->cfg;
    int oom;
    struct curl_slist *headers = build_header_list(req, &oom);
    if (oom)
        return CURLE_OUT_OF_MEMORY;

    curl_easy_reset(h);
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bc/" BC_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, cfg->connect_timeout);
    /* The read timeout: give up when less than 1 byte/s flows for N s. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, cfg->read_timeout);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (cfg->ca_bundle)
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_bundle);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);

    const char *m = req->method;
    curl_off_t body_len = req->body ? (curl_off_t)req->body_length : 0;
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, body_len);
    } else if (strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0) {
        /* PATCH sends its body the way POST does. */
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, body_len);
        if (strcmp(m, "PATCH") == 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
    if (req->body || strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0) {
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, t);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, t);
    }

    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    t->resp->status = status;
    if (bc_log_enabled(BC_LOG_DEBUG)) {
        curl_off_t conn = 0, sent = 0, first = 0, total = 0;
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &conn);
        curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &sent);
        curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &first);
        curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total);
        bc_log_debug("%s %s: HTTP %ld in %.1f ms (connected %.1f, sending %.1f, first reply "
                     "byte %.1f)", m, t->host, status, total / 1e3, conn / 1e3, sent / 1e3,
                     first / 1e3);
    }
    /* The handle keeps no pointer to the list past this call. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return rc;
}

/* ---- transport failures ----------------------------------------------- */

static int curl_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

static bc_status curl_failure(bc_http_client *c, CURLcode rc, const char *host)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    long os_errno = 0;
    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);

    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return bc_error(BC_ERR_NET, "cannot resolve host %s", host);
    case CURLE_COULDNT_RESOLVE_PROXY:
        return bc_error(BC_ERR_NET, "cannot resolve the proxy host (%s)", detail);
    case CURLE_COULDNT_CONNECT:
        return bc_error(BC_ERR_NET, "cannot connect to %s: %s", host,
                        os_errno ? strerror((int)os_errno) : detail);
    case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t connected = 0;
        curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &connected);
        if (connected == 0)
            return bc_error(BC_ERR_NET, "connecting to %s timed out after %ld s", host,
                            c->cfg->connect_timeout);
        return bc_error(BC_ERR_NET, "%s timed out after %ld s without data", host,
                        c->cfg->read_timeout);
    }
    case CURLE_PEER_FAILED_VERIFICATION:
        return bc_error(BC_ERR_NET, "TLS certificate verification failed for %s: %s", host, detail);
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return bc_error(BC_ERR_USAGE, "cannot use the CA bundle %s: %s",
                        c->cfg->ca_bundle ? c->cfg->ca_bundle : "(system default)", detail);
    case CURLE_SSL_CONNECT_ERROR:
        return bc_error(BC_ERR_NET, "TLS handshake with %s failed: %s", host, detail);
    case CURLE_OUT_OF_MEMORY:
        return bc_oom();
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return bc_error(BC_ERR_USAGE, "bad endpoint URL for %s: %s", host, detail);
    default:
        return bc_error(BC_ERR_NET, "connection to %s failed: %s", host, detail);
    }
}

/* ---- perform ---------------------------------------------------------- */

static void parse_error_body(const bc_http_request *req, bc_http_response *r)
{
    r->error_code[0] = r->error_message[0] = '\0';
    if (r->body && r->body_len && req->errors && req->errors->parse)
        req->errors->parse(r);
}

static void reset_attempt(bc_http_response *r)
{
    r->status = 0;
    r->body_len = 0;
    if (r->body)
        r->body[0] = '\0';
    r->content_length = -1;
    r->retry_after = -1;
    r->etag[0] = r->last_modified[0] = r->request_id[0] = r->bucket_region[0] = '\0';
    r->location[0] = '\0';
    r->error_code[0] = r->error_message[0] = '\0';
}

static bc_status note_attempts(bc_status st, int attempts)
{
    if (attempts > 1) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s (after %d attempts)", bc_error_msg(), attempts);
        bc_error(st, "%s", msg);
    }
    return st;
}

bc_status bc_http_perform(bc_http_client *client, bc_http_request *req, bc_http_response *resp)
{
    int max_attempts = 1 + client->cfg->max_retries;
    char host[512];
    /* The object as the first reply (not a resumed one) described it. */
    char first_etag[sizeof resp->etag] = "";
    char first_modified[sizeof resp->last_modified] = "";
    int64_t first_total = -1;
    int resumed = 0;
    size_t collect_cap = 0;
    int recoveries = 0;
    bc_status st;

    if (bc_http_url_host(req->url, host, sizeof host) < 0)
        return bc_error(BC_ERR_USAGE, "bad URL %s", req->url);
    if (req->body && (req->body_offset < 0 || req->body_length < 0 ||
                      (req->body->fd < 0 && req->body_offset + req->body_length > req->body->size)))
        return bc_error(BC_ERR_INTERNAL, "request body range outside its source");

    resp->delivered = 0;
    for (int attempt = 1;; attempt++) {
        transfer t = { 0 };
        t.req = req;
        t.resp = resp;
        t.curl = client->curl;
        t.collect_cap = collect_cap;
        t.max_collect = req->max_collect ? req->max_collect : DEFAULT_MAX_COLLECT;
        t.range_start = t.range_total = -1;
        t.want_etag = first_etag;
        t.want_last_modified = first_modified;
        t.want_total = first_total;
        t.host = host;

        if (req->resumable && req->sink && resp->delivered > 0) {
            char range[64];
            t.resume_from = resp->delivered;
            resumed = 1;
            snprintf(range, sizeof range, "bytes=%lld-", (long long)resp->delivered);
            st = bc_http_headers_set(&req->headers, "Range", range);
            if (st != BC_OK)
                return st;
            /* Servers that honour the condition answer 412 for a changed
             * object; same_object() catches the ones that do not. */
            if (*first_etag)
                st = bc_http_headers_set(&req->headers, "If-Match", first_etag);
            else if (*first_modified)
                st = bc_http_headers_set(&req->headers, "If-Unmodified-Since", first_modified);
            if (st != BC_OK)
                return st;
        }
        reset_attempt(resp);
        resp->attempts = attempt;
        if (req->sign) {
            st = req->sign(req->sign_ctx, req);
            if (st != BC_OK)
                return st;
        }

        CURLcode rc = run_attempt(client, req, &t);
        collect_cap = t.collect_cap;
        if (t.sink_status) {
            resp->sink_stopped = 1;
            return bc_sink_status(t.sink_status);
        }
        if (t.source_status != BC_OK)
            return t.source_status;
        if (resp->status >= 200 && resp->status < 300 && t.resume_from == 0) {
            memcpy(first_etag, resp->etag, sizeof first_etag);
            memcpy(first_modified, resp->last_modified, sizeof first_modified);
            first_total = resp->content_length;
        }

        int retryable;
        if (rc == CURLE_OK) {
            if (resp->status == 200 && req->meta && resp->delivered == 0)
                req->meta->size = resp->content_length;   /* an empty body: no sink call */
            if (resp->status >= 200 && resp->status < 300) {
                /* A resumed reply without a body never met the checks in
                 * on_write(); and a resumed download must end where the
                 * object does, not where a shorter reply stopped. */
                if (t.resume_from > 0 && !t.body_decided && !same_object(&t, resp->status))
                    return t.source_status;
                if (resumed && req->sink && first_total >= 0 && resp->delivered != first_total)
                    return bc_error(BC_ERR_DATA,
                                    "download from %s ended at byte %lld of %lld after resuming",
                                    host, (long long)resp->delivered, (long long)first_total);
                return BC_OK;
            }
            parse_error_body(req, resp);
            if (t.resume_from > 0 && resp->status == 412)
                return bc_error(BC_ERR_DATA, "object changed on %s while downloading it", host);
            /* 501 Not Implemented is a definite answer, not a hiccup. */
            retryable = (resp->status >= 500 && resp->status != 501) || resp->status == 429 ||
                        code_status(req->errors, resp->error_code) == BC_ERR_NET;
            st = bc_http_classify(resp, req->errors);
        } else if (t.overflow) {
            return bc_error(BC_ERR_DATA, "reply from %s larger than %zu bytes", host, t.max_collect);
        } else {
            retryable = curl_retryable(rc);
            st = curl_failure(client, rc, host);
        }
        if (rc == CURLE_OK && req->recover && recoveries < BC_HTTP_MAX_RECOVERIES &&
            (!retryable || attempt >= max_attempts) && !(req->sink && resp->delivered > 0) &&
            req->recover(req->recover_ctx, req, resp)) {
            recoveries++;
            attempt--;
            if (bc_http_url_host(req->url, host, sizeof host) < 0)
                return bc_error(BC_ERR_USAGE, "bad URL %s", req->url);
            continue;
        }
        if (!retryable || attempt >= max_attempts)
            return note_attempts(st, attempt);
        long pause = bc_http_retry_delay_ms(resp, attempt);
        bc_log_info("%s %s: %s; retrying in %.1f s (%d/%d)%s", req->method, host, bc_error_msg(),
                    (double)pause / 1000, attempt, max_attempts - 1,
                    resp->retry_after >= 0 ? ", as Retry-After asks" : "");
        sleep_ms(pause);
    }
}

void bc_http_response_free(bc_http_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

void bc_http_request_download(bc_http_request *req, bc_sink_fn sink, void *ctx,
                              const char *meta_prefix, bc_object_meta *meta)
{
    req->sink = sink;
    req->sink_ctx = ctx;
    req->resumable = 1;
    req->meta_prefix = meta_prefix;
    req->meta = meta;
}

void bc_http_response_object_info(const bc_http_response *r, const char *key,
                                  bc_object_info *info)
{
    memset(info, 0, sizeof *info);
    info->key = key;
    info->size = r->content_length;
    info->mtime = *r->last_modified ? curl_getdate(r->last_modified, NULL) : 0;
    if (info->mtime < 0)
        info->mtime = 0;
}
