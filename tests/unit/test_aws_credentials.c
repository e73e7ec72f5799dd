/* store/s3: the remote sources of AWS credentials (aws_credentials.h): the
 * STS and JSON replies, the container host rule, web identity, container
 * credentials and IMDSv2 against the scripted peer, and the refresh rule
 * at chosen times (no waiting). */
#include "store/s3/aws_credentials.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fake_http.c"
#include "util/log.h"
#include "util/timefmt.h"

static const char *const vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_V1_DISABLED", "AWS_REGION",
    "AWS_DEFAULT_REGION",
};

static char dir[] = "/tmp/test_awscreds_XXXXXX";
static char token_path[128];

static void clean_env(void)
{
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* An STS reply issuing key, expiring at t. */
static char *sts_reply(const char *key, time_t t)
{
    char when[32], *out = malloc(1024);
    bc_time_to_rfc3339(t, when, sizeof when);
    snprintf(out, 1024,
             "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
             "<AssumeRoleWithWebIdentityResult><Credentials><SessionToken>tok-%s</SessionToken>"
             "<SecretAccessKey>secret-%s</SecretAccessKey><Expiration>%s</Expiration>"
             "<AccessKeyId>%s</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
             "</AssumeRoleWithWebIdentityResponse>", key, key, when, key);
    return out;
}

static void test_parsers(void)
{
    bc_aws_keys k;
    time_t t = 1764640000;
    char *xml = sts_reply("ASIAONE", t);
    CHECK_MSG(bc_aws_sts_parse(xml, strlen(xml), &k) == BC_OK, "STS: %s", bc_error_msg());
    CHECK(k.access_key && strcmp(k.access_key, "ASIAONE") == 0);
    CHECK(k.secret_key && strcmp(k.secret_key, "secret-ASIAONE") == 0);
    CHECK(k.session_token && strcmp(k.session_token, "tok-ASIAONE") == 0);
    CHECK(k.expires_at == t);
    bc_aws_keys_free(&k);
    free(xml);

    const char *bad[] = {
        "", "<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
        "<SessionToken>T</SessionToken></Credentials>",
        "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
        "<SessionToken>T</SessionToken><Expiration>soon</Expiration></Credentials>",
        "<Credentials><AccessKeyId></AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
        "<SessionToken>T</SessionToken><Expiration>2026-12-02T00:00:00Z</Expiration></Credentials>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(bc_aws_sts_parse(bad[i], strlen(bad[i]), &k) == BC_ERR_AUTH, "bad STS reply %zu", i);
        CHECK_MSG(!k.access_key && !k.secret_key && !k.session_token, "nothing left %zu", i);
    }
    CHECK_MSG(strstr(bc_error_msg(), "holds no access key id"),
          "names what is missing: %s", bc_error_msg());

    const char *json = "{\"AccessKeyId\":\"ASIAC\",\"SecretAccessKey\":\"sc\",\"Token\":\"tc\","
                       "\"Expiration\":\"2026-12-02T01:00:00Z\",\"RoleArn\":\"x\"}";
    CHECK_MSG(bc_aws_json_parse(json, strlen(json), &k) == BC_OK, "container JSON: %s", bc_error_msg());
    CHECK(k.access_key && strcmp(k.access_key, "ASIAC") == 0 && k.session_token &&
          strcmp(k.session_token, "tc") == 0 && k.expires_at == bc_time_from_iso8601("2026-12-02T01:00:00Z"));
    bc_aws_keys_free(&k);
    const char *imds_fail = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"AccessKeyId\":\"A\"}";
    CHECK_MSG(bc_aws_json_parse(imds_fail, strlen(imds_fail), &k) == BC_ERR_AUTH &&
          strstr(bc_error_msg(), "AssumeRoleUnauthorizedAccess"), "IMDS Code: %s", bc_error_msg());
    const char *jbad[] = { "", "[]", "{\"AccessKeyId\":1}", "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}",
                           "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}" };
    for (size_t i = 0; i < sizeof jbad / sizeof jbad[0]; i++)
        CHECK_MSG(bc_aws_json_parse(jbad[i], strlen(jbad[i]), &k) == BC_ERR_AUTH && !k.access_key,
              "bad JSON %zu", i);

    /* botocore's hosts for container credentials over http */
    const char *ok[] = { "http://127.0.0.1:80/c", "http://127.9.9.9/c", "http://[::1]:8/c",
                         "http://localhost/c", "http://169.254.170.2/v2/x", "http://169.254.170.23/v1",
                         "http://[fd00:ec2::23]/v1", "https://example.com/c" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECK_MSG(bc_aws_container_host_allowed(ok[i]), "allowed %s", ok[i]);
    const char *no[] = { "http://example.com/c", "http://169.254.169.254/c", "http://128.0.0.1/",
                         "http://localhost.example.com/", "ftp://127.0.0.1/", "http://[::2]/",
                         "http://[::1" };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CHECK_MSG(!bc_aws_container_host_allowed(no[i]), "refused %s", no[i]);
}

/* A scripted peer whose URL (with path) is in environment variable var. */
static fake_http *peer(const fake_reply *script, size_t n, const char *var, const char *path)
{
    int port;
    char url[128];
    fake_http *f = fake_http_start(script, n, &port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    setenv(var, url, 1);
    return f;
}

static void peer_done(fake_http *f)
{
    fake_http_stop(f);
    fake_http_free(f);
}

static void write_token(const char *text)
{
    FILE *f = fopen(token_path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* IRSA's variables, with token in the token file. */
static void web_identity_env(const char *token)
{
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
    write_token(token);
}

static void test_web_identity_and_refresh(void)
{
    clean_env();
    time_t now = time(NULL);
    char *a = sts_reply("ASIAFIRST", now + 3600), *b = sts_reply("ASIASECOND", now + 7200);
    const char *refused = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                          "<Message>Token expired</Message></Error></ErrorResponse>";
    fake_reply script[] = { { 200, NULL, a, -1 }, { 200, NULL, b, -1 },
                            { 400, NULL, refused, -1 }, { 400, NULL, refused, -1 },
                            { 400, NULL, refused, -1 } };
    fake_http *f = peer(script, 5, "AWS_ENDPOINT_URL_STS", "");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1); /* the STS one wins */
    web_identity_env("jwt.token-value.sig\n");

    bc_aws_credentials c;
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "web identity: %s", bc_error_msg());
    CHECK(c.access_key && strcmp(c.access_key, "ASIAFIRST") == 0);
    CHECK_MSG(c.source && strstr(c.source, "web identity"), "source %s", c.source);
    const fake_request *r = fake_http_request(f, 0);
    CHECK_MSG(r && strcmp(r->method, "POST") == 0, "a POST");
    char h[256];
    CHECK_MSG(!*fake_http_header(f, 0, "Authorization", h, sizeof h), "unsigned");

    /* The keys in use until the margin (5 minutes before expiry), then new ones. */
    bc_aws_keys k;
    CHECK(bc_aws_credentials_keys_at(&c, now + 3000, &k) == BC_OK && strcmp(k.access_key, "ASIAFIRST") == 0);
    bc_aws_keys_free(&k);
    CHECK_MSG(fake_http_count(f) == 1, "no fetch before the margin");
    CHECK_MSG(bc_aws_credentials_keys_at(&c, now + 3301, &k) == BC_OK && strcmp(k.access_key, "ASIASECOND") == 0 &&
          strcmp(k.session_token, "tok-ASIASECOND") == 0, "refreshed");
    bc_aws_keys_free(&k);
    CHECK(fake_http_count(f) == 2);
    /* A refused refresh while the keys hold keeps them; once expired it fails. */
    CHECK_MSG(bc_aws_credentials_keys_at(&c, now + 7000, &k) == BC_OK && strcmp(k.access_key, "ASIASECOND") == 0,
          "kept: %s", bc_error_msg());
    bc_aws_keys_free(&k);
    CHECK_MSG(bc_aws_credentials_keys_at(&c, now + 7200, &k) == BC_ERR_AUTH && !k.access_key, "expired");
    CHECK_MSG(strstr(bc_error_msg(), "expired and could not be renewed") &&
          strstr(bc_error_msg(), "InvalidIdentityToken: Token expired") &&
          !strstr(bc_error_msg(), "token-value"), "message: %s", bc_error_msg());
    bc_aws_credentials_free(&c);

    /* The token was registered as a secret. */
    char red[128];
    bc_log_redact("jwt.token-value.sig", red, sizeof red);
    CHECK_MSG(strcmp(red, "***") == 0, "token redacted: %s", red);
    peer_done(f);

    /* A refusal at load: one line with STS's code and message. */
    fake_reply no[] = { { 400, NULL, refused, -1 } };
    f = peer(no, 1, "AWS_ENDPOINT_URL_STS", "");
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH, "refused");
    CHECK_MSG(strstr(bc_error_msg(), "STS AssumeRoleWithWebIdentity at http://127.0.0.1:") &&
          strstr(bc_error_msg(), "HTTP 400 InvalidIdentityToken: Token expired") &&
          !strchr(bc_error_msg(), '\n'), "message: %s", bc_error_msg());
    peer_done(f);

    /* Keys already expired when they arrive (a clock far off): refused, not
     * fetched again for every request. */
    char *old = sts_reply("ASIAOLD", now - 60);
    fake_reply stale[] = { { 200, NULL, old, -1 } };
    f = peer(stale, 1, "AWS_ENDPOINT_URL_STS", "");
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH &&
              strstr(bc_error_msg(), "already expired"), "stale keys: %s", bc_error_msg());
    peer_done(f);
    free(old);

    write_token("");
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH && strstr(bc_error_msg(), "is empty"),
          "empty token file: %s", bc_error_msg());
    free(a);
    free(b);
    clean_env();
}

static const char container_json[] =
    "{\"AccessKeyId\":\"ASIACONT\",\"SecretAccessKey\":\"sc\",\"Token\":\"tc\","
    "\"Expiration\":\"2099-01-01T00:00:00Z\"}";

/* Part workers signing at once when the keys are due: one fetch, and
 * every worker gets the same new keys. */
typedef struct signer_thread {
    const bc_aws_credentials *c;
    time_t at;
    char key[64];
    bc_status st;
} signer_thread;

static void *sign_now(void *arg)
{
    signer_thread *t = arg;
    bc_aws_keys k;
    t->st = bc_aws_credentials_keys_at(t->c, t->at, &k);
    if (t->st == BC_OK)
        snprintf(t->key, sizeof t->key, "%s", k.access_key);
    bc_aws_keys_free(&k);
    return NULL;
}

static void test_concurrent_refresh(void)
{
    clean_env();
    time_t now = time(NULL);
    char *a = sts_reply("ASIAFIRST", now + 3600), *b = sts_reply("ASIASECOND", now + 7200);
    fake_reply script[] = { { 200, NULL, a, -1 }, { 200, NULL, b, -1 } };
    fake_http *f = peer(script, 2, "AWS_ENDPOINT_URL_STS", "");
    web_identity_env("jwt.token-value.sig");
    bc_aws_credentials c;
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "load: %s", bc_error_msg());
    signer_thread t[6];
    pthread_t id[6];
    for (int i = 0; i < 6; i++) {
        t[i] = (signer_thread){ .c = &c, .at = now + 3400 };
        pthread_create(&id[i], NULL, sign_now, &t[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(id[i], NULL);
        CHECK_MSG(t[i].st == BC_OK && strcmp(t[i].key, "ASIASECOND") == 0, "thread %d: %s", i, t[i].key);
    }
    CHECK_MSG(fake_http_count(f) == 2, "one refresh for all: %zu requests", fake_http_count(f));
    bc_aws_credentials_free(&c);
    peer_done(f);
    free(a);
    free(b);
    clean_env();
}

static void test_container(void)
{
    clean_env();
    fake_reply script[] = { { 200, NULL, container_json, -1 } };
    fake_http *f = peer(script, 1, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "/v1/credentials");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_path, 1);
    write_token("file-token\n");
    bc_aws_credentials c;
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "container: %s", bc_error_msg());
    CHECK(c.access_key && strcmp(c.access_key, "ASIACONT") == 0);
    char h[256];
    CHECK_MSG(strcmp(fake_http_header(f, 0, "Authorization", h, sizeof h), "file-token") == 0,
          "the file's token wins: %s", h);
    CHECK(strcmp(fake_http_request(f, 0)->target, "/v1/credentials") == 0);
    bc_aws_credentials_free(&c);
    peer_done(f);

    /* A token that would add a header line is refused before any request. */
    write_token("file-token\r\nX-Injected: 1");
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH &&
              strstr(bc_error_msg(), "line break") && !strstr(bc_error_msg(), "file-token"),
              "token with a line break: %s", bc_error_msg());

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds", 1);
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH && strstr(bc_error_msg(), "not allowed"),
          "host refused: %s", bc_error_msg());
    clean_env();
}

static void test_imds(void)
{
    clean_env();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    fake_reply v2[] = { { 200, NULL, "imds-session-token", -1 }, { 200, NULL, "my-role\n", -1 },
                        { 200, NULL, "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"si\","
                                     "\"Token\":\"ti\",\"Expiration\":\"2099-01-01T00:00:00Z\"}", -1 } };
    char h[256];
    fake_http *f = peer(v2, 3, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "/");
    bc_aws_credentials c;
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "IMDSv2: %s", bc_error_msg());
    CHECK(c.access_key && strcmp(c.access_key, "ASIAIMDS") == 0);
    CHECK(fake_http_count(f) == 3);
    const fake_request *r = fake_http_request(f, 0);
    CHECK(strcmp(r->method, "PUT") == 0 && strcmp(r->target, "/latest/api/token") == 0);
    CHECK(strcmp(fake_http_header(f, 0, "X-aws-ec2-metadata-token-ttl-seconds", h, sizeof h), "21600") == 0);
    CHECK(strcmp(fake_http_request(f, 1)->target, "/latest/meta-data/iam/security-credentials/") == 0);
    CHECK(strcmp(fake_http_request(f, 2)->target, "/latest/meta-data/iam/security-credentials/my-role") == 0);
    CHECK(strcmp(fake_http_header(f, 2, "X-aws-ec2-metadata-token", h, sizeof h), "imds-session-token") == 0);
    bc_aws_credentials_free(&c);
    peer_done(f);

    /* A 403 to the token PUT: IMDSv1, as botocore does, unless disabled. */
    fake_reply v1[] = { { 403, NULL, NULL, -1 }, { 200, NULL, "my-role", -1 }, v2[2] };
    f = peer(v1, 3, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_OK, "IMDSv1: %s", bc_error_msg());
    CHECK_MSG(!*fake_http_header(f, 1, "X-aws-ec2-metadata-token", h, sizeof h), "no token");
    bc_aws_credentials_free(&c);
    peer_done(f);

    fake_reply v1off[] = { { 403, NULL, NULL, -1 } };
    f = peer(v1off, 1, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
    setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH &&
          strstr(bc_error_msg(), "AWS_EC2_METADATA_V1_DISABLED"), "v1 off: %s", bc_error_msg());
    peer_done(f);

    /* No role attached. */
    fake_reply norole[] = { { 200, NULL, "t", -1 }, { 200, NULL, "", -1 } };
    unsetenv("AWS_EC2_METADATA_V1_DISABLED");
    f = peer(norole, 2, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
    CHECK_MSG(bc_aws_credentials_load(NULL, NULL, &c) == BC_ERR_AUTH && strstr(bc_error_msg(), "no IAM role"),
          "no role: %s", bc_error_msg());
    peer_done(f);
    clean_env();
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(token_path, sizeof token_path, "%s/token", dir);
    test_parsers();
    test_web_identity_and_refresh();
    test_concurrent_refresh();
    test_container();
    test_imds();
    remove(token_path);
    rmdir(dir);
    printf("aws_credentials: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
