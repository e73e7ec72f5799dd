/* doctor/redact: each rule takes out what it is for and leaves alone what
 * only looks close (WAL names, digests, UUIDs, Secret references, paths);
 * the record names the place and the rule, never the value. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "doctor/redact.h"

static int logged(const bc_redactions *log, const char *line)
{
    for (size_t i = 0; i < log->n; i++)
        if (strcmp(log->items[i], line) == 0)
            return 1;
    return 0;
}

/* text redacted: gone is absent from the output, kept is present. */
static void text_case(const char *text, const char *gone, const char *kept, const char *rule)
{
    bc_redactions log = {0};
    size_t n;
    char *out = bc_redact_text(text, strlen(text), "f.log", &log, &n);
    CHECK(out != NULL && strlen(out) == n);
    if (gone) {
        CHECK(strstr(out, gone) == NULL);
        CHECK(strstr(out, BC_REDACTED) != NULL);
        char want[128];
        snprintf(want, sizeof want, "f.log: line 1 (%s)", rule);
        CHECK(logged(&log, want));
        for (size_t i = 0; i < log.n; i++)
            CHECK(strstr(log.items[i], gone) == NULL);
    } else {
        CHECK(strcmp(out, text) == 0 && log.n == 0);
    }
    if (kept)
        CHECK(strstr(out, kept) != NULL);
    free(out);
    bc_redactions_free(&log);
}

int main(void)
{
    text_case("GET /b/k?X-Amz-Signature=0123abcd&X-Amz-Expires=60", "0123abcd", "X-Amz-Expires=60",
              "credential parameter");
    text_case("https://a.blob.core.windows.net/c?sv=2024&sig=abc%2Bdef&se=x", "abc%2Bdef", "se=x",
              "credential parameter");
    text_case("AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=x", "c2VjcmV0", "EndpointSuffix=x",
              "credential parameter");
    text_case("host=db password=hunter2 dbname=app", "hunter2", "dbname=app", "credential parameter");
    text_case("postgres://app:hunter2@db:5432/app", "hunter2", "@db:5432/app", "url password");
    text_case("Authorization: AWS4-HMAC-SHA256 Credential=AK/x, Signature=ff00", "ff00",
              "Authorization: ", "authorization header");
    text_case("sent Bearer abcdefgh12345 to it", "abcdefgh12345", " to it", "bearer token");
    text_case("id AKIAIOSFODNN7EXAMPLE.", "AKIAIOSFODNN7EXAMPLE", "id ", "aws access key id");
    text_case("t=eyJhbGciOi.eyJzdWIiOi.c2lnbmF0 x", "eyJhbGciOi", " x", "jwt");
    text_case("-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\nafter",
              "MIIBOgIBAAJBAK", "after", "private key");
    text_case("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end",
              "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", " end", "opaque token");
    /* what only looks close stays */
    text_case("WAL 000000010000000000000003 sha256 "
              "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 uid "
              "123e4567-e89b-12d3-a456-426614174000 /var/lib/postgresql/data/pgdata "
              "barman-cloud-server-tls ghcr.io/cloudnative-pg/plugin-barman-cloud:v0.5.0 "
              "resourceVersion 123456 akia AKIA12 token_count=", NULL, NULL, NULL);
    text_case("https://s3.example/bucket/key?list-type=2", NULL, NULL, NULL);

    /* NUL bytes and line numbers */
    bc_redactions log = {0};
    size_t n;
    static const char nul[] = "a\0b\nline two password=x1\n";
    char *out = bc_redact_text(nul, sizeof nul - 1, "f.log", &log, &n);
    CHECK(out && n == sizeof nul - 1 - 2 + strlen(BC_REDACTED) && out[1] == '\0');
    CHECK(logged(&log, "f.log: line 2 (credential parameter)"));
    free(out);
    bc_redactions_free(&log);

    /* JSON: keys, env entries, the applied configuration, Secret references */
    json_t *doc = json_loads(
        "{\"items\": [{\"metadata\": {\"annotations\": {"
        "  \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"password\\\": \\\"pw1\\\"}\","
        "  \"cnpg.io/pluginServerSecret\": \"barman-cloud-server-tls\"}},"
        " \"spec\": {\"containers\": [{\"env\": ["
        "   {\"name\": \"AWS_SECRET_ACCESS_KEY\", \"value\": \"sk1\"},"
        "   {\"name\": \"PGDATA\", \"value\": \"/pgdata\"}]}],"
        "  \"configuration\": {\"s3Credentials\": {\"secretAccessKey\": "
        "     {\"name\": \"aws-creds\", \"key\": \"ACCESS_SECRET_KEY\"}}},"
        "  \"volumes\": [{\"secret\": {\"secretName\": \"tls-certs\"}}],"
        "  \"password\": \"pw2\", \"tls.key\": \"k1\", \"sessionToken\": \"st1\","
        "  \"message\": \"failed: AccountKey=ak1;\"}}]}", 0, NULL);
    CHECK(doc != NULL);
    CHECK(bc_redact_json(doc, "objects/x.json", &log) == BC_OK);
    char *text = json_dumps(doc, JSON_COMPACT);
    static const char *const gone[] = {"pw1", "sk1", "pw2", "k1", "st1", "ak1"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        CHECK(strstr(text, gone[i]) == NULL);
    static const char *const kept[] = {"barman-cloud-server-tls", "/pgdata", "aws-creds",
                                       "ACCESS_SECRET_KEY", "tls-certs", "failed: AccountKey="};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        CHECK(strstr(text, kept[i]) != NULL);
    CHECK(logged(&log, "objects/x.json: items[0].spec.containers[0].env[0].value "
                       "(env AWS_SECRET_ACCESS_KEY)"));
    CHECK(logged(&log, "objects/x.json: items[0].metadata.annotations."
                       "kubectl.kubernetes.io/last-applied-configuration "
                       "(last-applied-configuration)"));
    CHECK(logged(&log, "objects/x.json: items[0].spec.password (credential key)"));
    CHECK(logged(&log, "objects/x.json: items[0].spec.message (credential parameter)"));
    CHECK(log.n == 6);
    free(text);
    json_decref(doc);
    bc_redactions_free(&log);
    return check_report("redact");
}
