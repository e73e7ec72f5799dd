/* The HTTP layer and the backends against a scripted peer (fake_http.c):
 * retries, resume after a cut body, a changed object refused on resume, no
 * retry where none is due, S3's error replies mapped to statuses, S3's
 * answers that the bucket is in another region followed, and a revoked
 * Google token replaced once. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fake_http.c"
#include "store/http/http.h"
#include "store/s3/s3_internal.h"
#include "store/store.h"
#include "util/buffer.h"

static char url[256];

static bc_status get(int retries, bc_buffer *out, bc_http_response *resp, int resumable)
{
    bc_http_config cfg = {.max_retries = retries};
    bc_http_pool *pool = NULL;
    bc_http_client *hc = NULL;
    bc_status st = bc_http_pool_new(&cfg, &pool);
    if (st == BC_OK)
        st = bc_http_client_acquire(pool, &hc);
    bc_http_request req = {.method = "GET", .url = url, .sink = bc_buffer_sink, .sink_ctx = out,
                           .resumable = resumable};
    memset(resp, 0, sizeof *resp);
    if (st == BC_OK)
        st = bc_http_perform(hc, &req, resp);
    bc_http_headers_free(&req.headers);
    if (hc)
        bc_http_client_release(pool, hc);
    bc_http_pool_free(pool);
    return st;
}

static fake_http *serve(const fake_reply *script, size_t n)
{
    int port = 0;
    fake_http *f = fake_http_start(script, n, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/bucket/key", port);
    return f;
}

static void retries_and_resume(void)
{
    bc_buffer out = {0};
    bc_http_response resp;
    char h[256];

    /* 503 twice, then the object: three attempts, the body once */
    fake_reply a[] = {{503, NULL, "busy", -1}, {503, NULL, "busy", -1},
                      {200, "ETag: \"e1\"\r\n", "hello world", -1}};
    fake_http *f = serve(a, 3);
    CHECK(get(5, &out, &resp, 1) == BC_OK);
    CHECK(out.len == 11 && memcmp(out.data, "hello world", 11) == 0);
    CHECK(resp.attempts == 3 && fake_http_count(f) == 3);
    fake_http_stop(f);
    fake_http_free(f);
    bc_http_response_free(&resp);
    bc_buffer_free(&out);

    /* a 404 is an answer: no retry */
    fake_reply b[] = {{404, NULL, "", -1}, {200, NULL, "never", -1}};
    f = serve(b, 2);
    CHECK(get(5, &out, &resp, 1) == BC_ERR_NOTFOUND);
    CHECK(fake_http_count(f) == 1);
    fake_http_stop(f);
    fake_http_free(f);
    bc_http_response_free(&resp);
    bc_buffer_free(&out);

    /* cut after 5 bytes: the retry asks for the rest, on the same object */
    fake_reply c[] = {{200, "ETag: \"e1\"\r\n", "hello world", 5},
                      {206, "ETag: \"e1\"\r\nContent-Range: bytes 5-10/11\r\n", " world", -1}};
    f = serve(c, 2);
    CHECK(get(5, &out, &resp, 1) == BC_OK);
    CHECK(out.len == 11 && memcmp(out.data, "hello world", 11) == 0);
    CHECK(fake_http_count(f) == 2);
    CHECK(strcmp(fake_http_header(f, 1, "Range", h, sizeof h), "bytes=5-") == 0);
    CHECK(strcmp(fake_http_header(f, 1, "If-Match", h, sizeof h), "\"e1\"") == 0);
    fake_http_stop(f);
    fake_http_free(f);
    bc_http_response_free(&resp);
    bc_buffer_free(&out);

    /* the rest comes from another object: refused before a byte of it is used */
    fake_reply d[] = {{200, "ETag: \"e1\"\r\n", "hello world", 5},
                      {206, "ETag: \"e2\"\r\nContent-Range: bytes 5-10/11\r\n", " WORLD", -1}};
    f = serve(d, 2);
    CHECK(get(5, &out, &resp, 1) == BC_ERR_DATA);
    CHECK(out.len == 5);
    fake_http_stop(f);
    fake_http_free(f);
    bc_http_response_free(&resp);
    bc_buffer_free(&out);

    /* with retries off, the first 503 is the answer */
    fake_reply e[] = {{503, NULL, "busy", -1}, {200, NULL, "late", -1}};
    f = serve(e, 2);
    CHECK(get(-1, &out, &resp, 0) == BC_ERR_NET && fake_http_count(f) == 1);
    CHECK(strstr(bc_error_msg(), "HTTP 503") != NULL);
    fake_http_stop(f);
    fake_http_free(f);
    bc_http_response_free(&resp);
    bc_buffer_free(&out);
}

/* A GET through the S3 backend, its error replies read by S3's table. */
static bc_status s3_get(const fake_reply *script, size_t n, size_t *requests)
{
    int port = 0;
    fake_http *f = fake_http_start(script, n, &port);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    bc_store_config cfg = {.url = "s3://bucket/prefix", .endpoint_url = endpoint,
                           .max_retries = 2};
    bc_store *store = NULL;
    bc_buffer out = {0};
    bc_status st = bc_store_open(&cfg, &store);
    if (st == BC_OK)
        st = bc_store_get(store, "prefix/key", bc_buffer_sink, &out);
    bc_store_close(store);
    bc_buffer_free(&out);
    fake_http_stop(f);
    *requests = fake_http_count(f);
    fake_http_free(f);
    return st;
}

#define S3ERR(code) "<?xml version=\"1.0\"?><Error><Code>" code "</Code><Message>m</Message></Error>"

static void s3_errors(void)
{
    size_t n;
    fake_reply sig[] = {{403, NULL, S3ERR("SignatureDoesNotMatch"), -1}};
    CHECK(s3_get(sig, 1, &n) == BC_ERR_AUTH && n == 1);
    CHECK(strstr(bc_error_msg(), "SignatureDoesNotMatch") != NULL);
    fake_reply expired[] = {{400, NULL, S3ERR("ExpiredToken"), -1}};
    CHECK(s3_get(expired, 1, &n) == BC_ERR_AUTH && n == 1);
    fake_reply nobucket[] = {{404, NULL, S3ERR("NoSuchBucket"), -1}};
    CHECK(s3_get(nobucket, 1, &n) == BC_ERR_NOBUCKET);
    fake_reply nokey[] = {{404, NULL, S3ERR("NoSuchKey"), -1}};
    CHECK(s3_get(nokey, 1, &n) == BC_ERR_NOTFOUND);
    /* SlowDown on a 400 is retried, as S3 asks */
    fake_reply slow[] = {{400, NULL, S3ERR("SlowDown"), -1}, {200, NULL, "ok", -1}};
    CHECK(s3_get(slow, 2, &n) == BC_OK && n == 2);
}

/* The credential scope's region of request i ("" when unsigned). */
static const char *signed_region(const fake_http *f, size_t i, char *out, size_t outlen)
{
    char auth[1024];
    fake_http_header(f, i, "Authorization", auth, sizeof auth);
    /* Credential=KEY/DATE/REGION/s3/aws4_request */
    const char *p = strstr(auth, "Credential=");
    *out = '\0';
    for (int slash = 0; p && *p && slash < 2; p++)
        slash += *p == '/';
    if (p)
        snprintf(out, outlen, "%.*s", (int)strcspn(p, "/"), p);
    return out;
}

/* Wrong region: the answer's region (header or body) is followed once per
 * request, and kept for the backend's next requests; an answer naming the
 * region already signed for is the failure it is. */
static void s3_region(void)
{
    const char *malformed = "<?xml version=\"1.0\"?><Error><Code>AuthorizationHeaderMalformed"
                            "</Code><Message>the region 'us-east-1' is wrong; expecting "
                            "'eu-west-1'</Message><Region>eu-west-1</Region></Error>";
    fake_reply script[] = {
        {400, NULL, malformed, -1},
        {200, NULL, "one", -1},
        {200, NULL, "two", -1},          /* the next get: signed for eu-west-1 at once */
        {301, "x-amz-bucket-region: ap-south-1\r\n", "", -1},
        {200, NULL, "three", -1},
        {400, "x-amz-bucket-region: ap-south-1\r\n", malformed, -1},  /* the region signed
                                                                         for: a failure */
    };
    int port = 0;
    fake_http *f = fake_http_start(script, 6, &port);
    char endpoint[64], region[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    bc_store_config cfg = {.url = "s3://bucket/prefix", .endpoint_url = endpoint, .max_retries = 2};
    bc_store *store = NULL;
    bc_buffer out = {0};
    CHECK(bc_store_open(&cfg, &store) == BC_OK);
    CHECK(bc_store_get(store, "prefix/key", bc_buffer_sink, &out) == BC_OK);
    CHECK(out.len == 3 && memcmp(out.data, "one", 3) == 0);
    CHECK(bc_store_get(store, "prefix/key", bc_buffer_sink, &out) == BC_OK);
    CHECK(bc_store_get(store, "prefix/key", bc_buffer_sink, &out) == BC_OK);
    CHECK(bc_store_get(store, "prefix/key", bc_buffer_sink, &out) == BC_ERR_AUTH);
    CHECK(strstr(bc_error_msg(), "AuthorizationHeaderMalformed") != NULL);
    bc_store_close(store);
    fake_http_stop(f);
    CHECK(fake_http_count(f) == 6);
    CHECK(strcmp(signed_region(f, 0, region, sizeof region), "us-east-1") == 0);
    CHECK(strcmp(signed_region(f, 1, region, sizeof region), "eu-west-1") == 0);
    CHECK(strcmp(signed_region(f, 2, region, sizeof region), "eu-west-1") == 0);
    CHECK(strcmp(signed_region(f, 4, region, sizeof region), "ap-south-1") == 0);
    CHECK(strcmp(signed_region(f, 5, region, sizeof region), "ap-south-1") == 0);
    /* the retry went to the same key */
    CHECK(strcmp(fake_http_request(f, 0)->target, fake_http_request(f, 1)->target) == 0);
    fake_http_free(f);
    bc_buffer_free(&out);

    /* Without an endpoint URL the backend's endpoint moves to the region's,
     * path and query kept; a call made before that follows it too. */
    s3_backend b = {.bucket = "my-bucket"};
    pthread_mutex_init(&b.where_lock, NULL);
    snprintf(b.region, sizeof b.region, "us-east-1");
    bc_store_config none = {0};
    CHECK(bc_s3_setup_endpoint(&b, &none) == BC_OK && b.aws_endpoint);
    CHECK(strcmp(b.base_url, "https://my-bucket.s3.us-east-1.amazonaws.com") == 0);
    qparam q[] = { { "list-type", "2" }, { "prefix", "a b/" } };
    s3_call early, c;
    CHECK(bc_s3_call_init(&early, &b, "GET", NULL, q, 2) == BC_OK);
    CHECK(bc_s3_call_init(&c, &b, "GET", "dir/k ey", NULL, 0) == BC_OK);
    CHECK(bc_s3_follow_region(&c, "eu-central-1") == 1);
    CHECK(strcmp(c.url, "https://my-bucket.s3.eu-central-1.amazonaws.com/dir/k%20ey") == 0);
    CHECK(strcmp(c.req.url, c.url) == 0 && strcmp(c.region, "eu-central-1") == 0);
    CHECK(strcmp(b.region, "eu-central-1") == 0);
    CHECK(bc_s3_follow_region(&c, "eu-central-1") == 0);   /* nothing left to change */
    /* the early call, told the same, adopts the backend's move */
    CHECK(bc_s3_follow_region(&early, "eu-central-1") == 1);
    CHECK(strcmp(early.url, "https://my-bucket.s3.eu-central-1.amazonaws.com/?list-type=2&prefix=a%20b%2F") == 0);
    bc_s3_call_free(&early);
    bc_s3_call_free(&c);
    /* China's partition, path style */
    free(b.base_url);
    free(b.endpoint);
    b.base_url = b.endpoint = NULL;
    snprintf(b.region, sizeof b.region, "cn-north-1");
    bc_store_config path = {.addressing = "path"};
    CHECK(bc_s3_setup_endpoint(&b, &path) == BC_OK);
    CHECK(bc_s3_call_init(&c, &b, "HEAD", "k", NULL, 0) == BC_OK);
    CHECK(bc_s3_follow_region(&c, "cn-northwest-1") == 1);
    CHECK(strcmp(c.url, "https://s3.cn-northwest-1.amazonaws.com.cn/my-bucket/k") == 0);
    bc_s3_call_free(&c);
    free(b.base_url);
    free(b.endpoint);
    pthread_mutex_destroy(&b.where_lock);
}

/* --conditional-writes yes on a server that turns out not to implement
 * them: a put-first (BC_IF_ABSENT_ONLY) stores nothing and says so, and
 * the store stops claiming it; a BC_IF_ABSENT put then goes up plainly. */
static void s3_conditional(void)
{
    fake_reply script[] = {
        {501, NULL, S3ERR("NotImplemented"), -1},
        {200, NULL, "", -1},
    };
    int port = 0;
    fake_http *f = fake_http_start(script, 2, &port);
    char endpoint[64], inm[16];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    bc_store_config cfg = {.url = "s3://bucket/prefix", .endpoint_url = endpoint,
                           .conditional_writes = "yes"};
    bc_store *store = NULL;
    CHECK(bc_store_open(&cfg, &store) == BC_OK);
    CHECK((bc_store_caps(store) & BC_STORE_PUT_FIRST));
    bc_source src = {.fd = -1, .mem = (const unsigned char *)"wal", .size = 3};
    bc_put_opts only = {.if_absent = BC_IF_ABSENT_ONLY};
    CHECK(bc_store_put(store, "prefix/k", &src, &only) == BC_ERR_CONFLICT);
    CHECK(strstr(bc_error_msg(), "does not implement conditional writes") != NULL);
    CHECK(!(bc_store_caps(store) & BC_STORE_PUT_FIRST));
    /* and again, without asking the server */
    CHECK(bc_store_put(store, "prefix/k", &src, &only) == BC_ERR_CONFLICT);
    bc_put_opts plain = {.if_absent = BC_IF_ABSENT};
    CHECK(bc_store_put(store, "prefix/k", &src, &plain) == BC_OK);
    bc_store_close(store);
    fake_http_stop(f);
    CHECK(fake_http_count(f) == 2);
    CHECK(*fake_http_header(f, 0, "If-None-Match", inm, sizeof inm) == '*');
    CHECK(*fake_http_header(f, 1, "If-None-Match", inm, sizeof inm) == '\0');
    fake_http_free(f);

    /* auto: AWS itself puts first, an endpoint URL looks first, "no" never */
    cfg.conditional_writes = NULL;
    CHECK(bc_store_open(&cfg, &store) == BC_OK && !(bc_store_caps(store) & BC_STORE_PUT_FIRST));
    bc_store_close(store);
    bc_store_config aws = {.url = "s3://bucket/prefix"};
    CHECK(bc_store_open(&aws, &store) == BC_OK && (bc_store_caps(store) & BC_STORE_PUT_FIRST));
    bc_store_close(store);
    aws.conditional_writes = "no";
    CHECK(bc_store_open(&aws, &store) == BC_OK && !(bc_store_caps(store) & BC_STORE_PUT_FIRST));
    bc_store_close(store);
    aws.conditional_writes = "maybe";
    CHECK(bc_store_open(&aws, &store) == BC_ERR_USAGE);
}

/* GCS with the metadata server's token: a token the server revokes (401)
 * is dropped and a new one fetched, once, for the same request. */
static void gcs_token_refresh(void)
{
    fake_reply script[] = {
        {200, "Content-Type: application/json\r\n",
         "{\"access_token\": \"tok-one\", \"expires_in\": 3600}", -1},
        {401, "Content-Type: application/json\r\n",
         "{\"error\": {\"code\": 401, \"message\": \"Invalid Credentials\"}}", -1},
        {200, "Content-Type: application/json\r\n",
         "{\"access_token\": \"tok-two\", \"expires_in\": 3600}", -1},
        {200, NULL, "object bytes", -1},
    };
    int port = 0;
    fake_http *f = fake_http_start(script, 4, &port);
    char endpoint[64], host[64], h[256];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    setenv("GCE_METADATA_HOST", host, 1);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("STORAGE_EMULATOR_HOST");
    setenv("HOME", "/nonexistent", 1);
    bc_store_config cfg = {.url = "gs://bucket/prefix", .endpoint_url = endpoint,
                           .max_retries = 1};
    bc_store *store = NULL;
    bc_buffer out = {0};
    bc_status st = bc_store_open(&cfg, &store);
    if (st == BC_OK)
        st = bc_store_get(store, "prefix/key", bc_buffer_sink, &out);
    CHECK(st == BC_OK);
    CHECK(out.len == 12 && memcmp(out.data, "object bytes", 12) == 0);
    bc_store_close(store);
    fake_http_stop(f);
    CHECK(fake_http_count(f) == 4);
    CHECK(strcmp(fake_http_header(f, 0, "Metadata-Flavor", h, sizeof h), "Google") == 0);
    CHECK(strcmp(fake_http_header(f, 1, "Authorization", h, sizeof h), "Bearer tok-one") == 0);
    CHECK(strcmp(fake_http_header(f, 3, "Authorization", h, sizeof h), "Bearer tok-two") == 0);
    fake_http_free(f);
    bc_buffer_free(&out);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A throttled store says when to come back: Retry-After is honoured (in
 * both forms, capped), and 429/503 back off from 1 s, not 100 ms. */
static void retry_after(void)
{
    bc_http_response r = {.status = 503, .retry_after = -1};
    for (int i = 0; i < 20; i++) {
        long ms = bc_http_retry_delay_ms(&r, 1);
        CHECK(ms >= 500 && ms <= 1000);
    }
    r.status = 500;
    CHECK(bc_http_retry_delay_ms(&r, 1) <= 100);
    r.retry_after = 3;
    CHECK(bc_http_retry_delay_ms(&r, 1) == 3000);
    r.retry_after = 86400;
    CHECK(bc_http_retry_delay_ms(&r, 1) == BC_HTTP_RETRY_AFTER_MAX * 1000L);

    bc_buffer out = {0};
    bc_http_response resp;
    fake_reply a[] = {{503, "Retry-After: 2\r\n",
                       "<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
                       "</Message></Error>", -1},
                      {200, NULL, "fine", -1}};
    fake_http *f = serve(a, 2);
    double t0 = now_s();
    CHECK(get(5, &out, &resp, 0) == BC_OK);
    double waited = now_s() - t0;
    CHECK(waited >= 2.0);   /* what the server asked, not the 1 s throttle base */
    CHECK(resp.attempts == 2 && out.len == 4);
    fake_http_stop(f);
    fake_http_free(f);
    bc_http_response_free(&resp);
    bc_buffer_free(&out);

    /* the HTTP-date form, in the past: retry at once (the throttle base) */
    fake_reply b[] = {{429, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "", -1},
                      {200, NULL, "ok", -1}};
    f = serve(b, 2);
    CHECK(get(5, &out, &resp, 0) == BC_OK && resp.attempts == 2);
    fake_http_stop(f);
    fake_http_free(f);
    bc_http_response_free(&resp);
    bc_buffer_free(&out);
}

int main(void)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    retries_and_resume();
    retry_after();

    s3_errors();
    s3_region();
    s3_conditional();

    gcs_token_refresh();
    return check_report("http_peer");
}
