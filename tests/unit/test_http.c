/* The provider-neutral HTTP layer: replies classified by status, with the
 * backend's error table (here S3's) reading its error body and saying what
 * its codes mean; the one encoder of query strings and tag headers; and the
 * multipart/mixed framing of batch requests (Azure, Cloud Storage). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "check.h"
#include "store/http/batch.h"
#include "store/http/http.h"
#include "store/http/token.h"
#include "store/http/url.h"
#include "store/http/xml.h"
#include "store/s3/s3_internal.h"

static bc_status classify(long status, const char *xml, const bc_http_errors *errors)
{
    bc_http_response r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.body = (char *)xml;
    r.body_len = xml ? strlen(xml) : 0;
    if (errors && xml)
        errors->parse(&r);
    return bc_http_classify(&r, errors);
}

#define ERR(code) "<?xml version=\"1.0\"?><Error><Code>" code "</Code><Message>it said so</Message></Error>"

static int fetches;
static time_t lifetime = 3600;

static bc_status fake_fetch(void *ctx, char **token, time_t *expires_at)
{
    (void)ctx;
    char name[32];
    snprintf(name, sizeof name, "tok%d", ++fetches);
    *token = strdup(name);
    *expires_at = time(NULL) + lifetime;
    return *token ? BC_OK : bc_oom();
}

static void token_cache(void)
{
    /* one refresh policy: 5 minutes before expiry, or half a short life */
    CHECK(bc_token_refresh_time(1000, 1000 + 3600) == 1000 + 3300);
    CHECK(bc_token_refresh_time(1000, 1000 + 200) == 1000 + 100);
    CHECK(bc_token_refresh_time(1000, 1000) == 1000);
    bc_token_cache c;
    bc_token_cache_init(&c, fake_fetch, NULL);
    char out[64];
    CHECK(bc_token_cache_bearer(&c, out, sizeof out) == BC_OK && !strcmp(out, "Bearer tok1"));
    CHECK(bc_token_cache_bearer(&c, out, sizeof out) == BC_OK && fetches == 1);
    bc_token_cache_invalidate(&c, "someone else's");
    CHECK(bc_token_cache_bearer(&c, out, sizeof out) == BC_OK && fetches == 1);
    bc_token_cache_invalidate(&c, "tok1"); /* the server refused it */
    CHECK(bc_token_cache_bearer(&c, out, sizeof out) == BC_OK && !strcmp(out, "Bearer tok2"));
    lifetime = 0; /* a token already expired is fetched again at every use */
    bc_token_cache_invalidate(&c, NULL);
    CHECK(bc_token_cache_bearer(&c, out, sizeof out) == BC_OK && fetches == 3);
    CHECK(bc_token_cache_bearer(&c, out, sizeof out) == BC_OK && fetches == 4);
    char tiny[8];
    CHECK(bc_token_cache_bearer(&c, tiny, sizeof tiny) == BC_ERR_AUTH);
    bc_token_cache_free(&c);
}

static void batch(void)
{
    bc_http_batch b;
    bc_http_batch_init(&b);
    bc_http_headers h = {0};
    CHECK(bc_http_headers_set(&h, "x-ms-date", "Tue, 01 Dec 2026 00:00:00 GMT") == BC_OK);
    bc_http_batch_add(&b, "DELETE", "/c/pg/a?x=1", &h);
    bc_http_batch_add(&b, "DELETE", "/storage/v1/b/t/o/pg%2Fb", NULL);
    CHECK(bc_http_batch_finish(&b) == BC_OK && b.n == 2);
    const char *body = (const char *)b.body.data;
    char want[512];
    snprintf(want, sizeof want,
             "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
             "Content-ID: 0\r\n\r\nDELETE /c/pg/a?x=1 HTTP/1.1\r\nx-ms-date: Tue, 01 Dec 2026 "
             "00:00:00 GMT\r\nContent-Length: 0\r\n\r\n--%s\r\n",
             b.boundary, b.boundary);
    CHECK(strncmp(body, want, strlen(want)) == 0);
    CHECK(strstr(body, "Content-ID: 1\r\n\r\nDELETE /storage/v1/b/t/o/pg%2Fb HTTP/1.1\r\n"
                       "Content-Length: 0\r\n\r\n") != NULL);
    snprintf(want, sizeof want, "--%s--\r\n", b.boundary);
    CHECK(strlen(body) > strlen(want) && strcmp(body + strlen(body) - strlen(want), want) == 0);
    CHECK(strstr(b.content_type, b.boundary) && strncmp(b.content_type, "multipart/mixed; "
                                                        "boundary=batch_", 31) == 0);
    bc_http_headers_free(&h);
    bc_http_batch_free(&b);

    const char reply[] = "--r\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 202 Accepted\r\n"
                         "x-ms-error-code: none\r\n\r\n--r\r\n\r\nHTTP/1.1 403 Forbidden\r\n"
                         "X-MS-Error-Code: AuthorizationFailure\r\n\r\n--r\r\n\r\n"
                         "HTTP/1.1 404 Not Found\r\n\r\n--r--\r\n";
    bc_http_batch_answer a[2];
    CHECK(bc_http_batch_answers(reply, strlen(reply), "x-ms-error-code", a, 2) == 3);
    CHECK(a[0].status == 202 && strcmp(a[0].code, "none") == 0);
    CHECK(a[1].status == 403 && strcmp(a[1].code, "AuthorizationFailure") == 0);
    CHECK(bc_http_batch_answers(NULL, 0, NULL, a, 2) == 0);
    CHECK(bc_http_batch_answers("HTTP/1.1 2", 10, NULL, a, 2) == 1 && a[0].status == 2);
}

int main(void)
{
    token_cache();
    batch();
    const bc_http_errors *s3 = &bc_s3_errors;
    /* statuses alone */
    CHECK(classify(403, NULL, NULL) == BC_ERR_AUTH);
    CHECK(classify(404, NULL, NULL) == BC_ERR_NOTFOUND);
    CHECK(classify(412, NULL, NULL) == BC_ERR_CONFLICT);
    CHECK(classify(503, NULL, NULL) == BC_ERR_NET);
    CHECK(classify(429, NULL, NULL) == BC_ERR_NET);
    CHECK(classify(501, NULL, NULL) == BC_ERR_INTERNAL);
    /* S3's codes, whatever the status */
    CHECK(classify(400, ERR("ExpiredToken"), s3) == BC_ERR_AUTH);
    CHECK(classify(400, ERR("AuthorizationHeaderMalformed"), s3) == BC_ERR_AUTH);
    CHECK(classify(404, ERR("NoSuchBucket"), s3) == BC_ERR_NOBUCKET);
    CHECK(classify(404, ERR("NoSuchKey"), s3) == BC_ERR_NOTFOUND);
    CHECK(classify(400, ERR("SlowDown"), s3) == BC_ERR_NET);
    CHECK(classify(400, ERR("InvalidArgument"), s3) == BC_ERR_INTERNAL);
    CHECK(strstr(bc_error_msg(), "HTTP 400 InvalidArgument: it said so") != NULL);
    /* the HTTP layer knows no provider: without a table, codes mean nothing */
    CHECK(classify(400, ERR("ExpiredToken"), NULL) == BC_ERR_INTERNAL);
    CHECK(classify(404, ERR("NoSuchBucket"), NULL) == BC_ERR_NOTFOUND);
    /* and S3's table does not take Azure's codes */
    CHECK(classify(400, ERR("AuthenticationFailed"), s3) == BC_ERR_INTERNAL);
    CHECK(bc_s3_retryable_code("SlowDown") && !bc_s3_retryable_code("ServerBusy"));
    /* the shared XML error reader */
    char code[32], msg[32];
    bc_xml_error_reply(ERR("SlowDown"), strlen(ERR("SlowDown")), code, sizeof code, msg, sizeof msg);
    CHECK(strcmp(code, "SlowDown") == 0 && strcmp(msg, "it said so") == 0);
    bc_xml_error_reply("{\"error\": 1}", 12, code, sizeof code, msg, sizeof msg);
    CHECK(code[0] == '\0' && msg[0] == '\0');
    bc_xml_error_reply(NULL, 0, code, sizeof code, msg, sizeof msg);
    CHECK(code[0] == '\0');
    /* query strings and tags */
    bc_buffer b = {0};
    const bc_tag q[] = {{"prefix", "a b/c"}, {"marker", NULL}, {"delete", ""}, {"k y", "v&w"}};
    bc_url_add_pairs(&b, '?', q, 4, 0);
    CHECK(strcmp(bc_buffer_str(&b), "?prefix=a%20b%2Fc&delete=&k%20y=v%26w") == 0);
    bc_buffer_free(&b);
    bc_url_add_pairs(&b, 0, q, 4, 1); /* Python's urlencode(): space as '+' */
    CHECK(strcmp(bc_buffer_str(&b), "prefix=a+b%2Fc&delete=&k+y=v%26w") == 0);
    bc_buffer_free(&b);
    const bc_tag none[] = {{"marker", NULL}};
    bc_buffer_adds(&b, "restype=container");
    bc_url_add_pairs(&b, '&', none, 1, 0);
    CHECK(strcmp(bc_buffer_str(&b), "restype=container") == 0);
    bc_buffer_free(&b);
    char *taken = bc_buffer_take(&b); /* nothing added: an empty string */
    CHECK(taken && *taken == '\0');
    free(taken);
    return check_report("http");
}
