/* The HTTP layer classifies replies by status; the backend's error table
 * (here S3's) reads its error body and says what its codes mean. */
#include <string.h>

#include "check.h"
#include "store/http/http.h"
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

int main(void)
{
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
    printf("http_errors: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
