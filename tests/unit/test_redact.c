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
        CHECK_MSG(strstr(out, gone) == NULL, "%s", out);
        CHECK(strstr(out, BC_REDACTED) != NULL);
        char want[128];
        snprintf(want, sizeof want, "f.log: line 1 (%s)", rule);
        CHECK_MSG(logged(&log, want), "%s: %s", want, log.n ? log.items[0] : "none");
        for (size_t i = 0; i < log.n; i++)
            CHECK(strstr(log.items[i], gone) == NULL);
    } else {
        CHECK_MSG(strcmp(out, text) == 0 && log.n == 0, "%s", out);
    }
    if (kept)
        CHECK_MSG(strstr(out, kept) != NULL, "%s", out);
    /* what is left holds nothing the rules would take out again */
    bc_redactions again = {0};
    size_t n2;
    char *twice = bc_redact_text(out, n, "f.log", &again, &n2);
    CHECK_MSG(twice && n2 == n && memcmp(twice, out, n) == 0, "%s", out);
    free(twice);
    bc_redactions_free(&again);
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

    /* credential parameters: every name, where one may start, quoted values */
    text_case("?X-Amz-Credential=AKIDX%2F20240101%2Fus-east-1&X-Amz-Date=1", "AKIDX", "X-Amz-Date=1",
              "credential parameter");
    text_case("&X-Amz-Security-Token=FwoGZX1&a=b", "FwoGZX1", "&a=b", "credential parameter");
    text_case("?AWSAccessKeyId=AKID1&Expires=9", "AKID1", "Expires=9", "credential parameter");
    text_case("?X-Goog-Signature=5a5a5a&X-Goog-Date=2", "5a5a5a", "X-Goog-Date", "credential parameter");
    text_case("?x=1&access_token=ya29.abc", "ya29.abc", "?x=1", "credential parameter");
    text_case("GET /k?token=tk1 HTTP/1.1", "tk1", " HTTP/1.1", "credential parameter");
    text_case("SharedAccessSignature=sv=2024&sig=sas1;x=y", "sas1", ";x=y", "credential parameter");
    text_case("password='hunter 2' host=db", "hunter 2", "' host=db", "credential parameter");
    text_case("ran bc-wal-archive --password=pw9 --x", "pw9", " --x", "credential parameter");
    text_case("env AWS_SECRET_ACCESS_KEY=abc123 PGDATA=/d", "abc123", "PGDATA=/d",
              "credential parameter");
    text_case("Server=db;Uid=app;Pwd=pw7;", "pw7", "Uid=app;", "credential parameter");
    text_case("X-Amz-Security-Token: FwoGZX2\nnext", "FwoGZX2", "\nnext", "credential header");
    text_case("Cookie: session=c00k1e", "c00k1e", "Cookie: ", "credential header");
    /* a SAS token's expiry, other parameters, Secret names and prose stay */
    text_case("?sv=2024-01-01&se=2024-02-01T00%3A00Z&sp=r&X-Amz-Expires=60"
              "&X-Amz-SignedHeaders=host secretName=aws-creds mytoken=",
              NULL, NULL, NULL);
    text_case("could not refresh the token: connection refused", NULL, NULL, NULL);

    /* JSON inside text: a JSON log line, a message quoting a request */
    text_case("{\"level\":\"info\",\"password\": \"hun\\\"ter2\",\"msg\":\"ok\"}", "ter2",
              "\"msg\":\"ok\"", "credential key");
    text_case("msg=\"{\\\"secretAccessKey\\\":\\\"sk\\\\\\\"9\\\",\\\"a\\\":1}\"", "sk\\\\\\\"9",
              "\\\"a\\\":1", "credential key");
    text_case("{\"secretName\":\"aws-creds\",\"tokenName\":\"t\"}", NULL, NULL, NULL);
    /* a log tail cut inside the value */
    text_case("{\"token\":\"tk-cut\ntail", "tk-cut", "\ntail", "credential key");

    /* URL passwords: a '@' in the password, none at all */
    text_case("postgres://app:p@ss@db:5432/app", "p@ss", "@db:5432/app", "url password");
    text_case("http://db:5432/x@y https://user@host/p ftp://:@h", NULL, NULL, NULL);

    /* headers and bearer tokens */
    text_case("proxy-authorization: Basic dXNlcjpwYXNz\r\nHost: h", "dXNlcjpwYXNz", "\r\nHost: h",
              "authorization header");
    text_case("authorization:\nthe bearer token was refused", NULL, NULL, NULL);
    text_case("{\"auth\":\"Bearer ya29.a0AfH6SMBx\"}", "ya29.a0AfH6SMBx", "\"}", "bearer token");

    /* AWS key ids, JWTs, PEM keys */
    text_case("(ASIAY34FZKBOKMUTVV7A)", "ASIAY34FZKBOKMUTVV7A", ")", "aws access key id");
    text_case("AKIAIOSFODNN7EXAMPL xAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX akiaiosfodnn7example",
              NULL, NULL, NULL);
    text_case("eyJhbG.eyJzd eyJ.x.y", NULL, NULL, NULL);
    text_case("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk", "b3BlbnNzaC1rZXk",
              NULL, "private key");
    text_case("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", NULL, NULL, NULL);

    /* opaque tokens: an Azure storage key; a secret in a path, not the path */
    text_case("k=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
              "K1SZFPTOtr/KBHBeksoGMGw== .", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUz", " .",
              "opaque token");
    text_case("uploading s3://my-backups/pg-main/base/20240101T000000/data.tar to "
              "/var/lib/postgresql/wal/000000010000000000000003 key "
              "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B", NULL, NULL, NULL);
    text_case("open /srv/work/data/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12/x",
              "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12", "/srv/work/data/", "opaque token");
    /* without two words it is no path: the whole run */
    text_case("open /tmp/work/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12/x",
              "/tmp/work/", NULL, "opaque token");
    text_case("aHVudGVyMi1TZXNzaW9uLVQwa2VuLXZhbHVl", "aHVudGVyMi1TZXNzaW9uLVQwa2VuLXZhbHVl",
              NULL, "opaque token");
    /* '=' is padding at a run's end, a separator elsewhere */
    text_case("v: c2VjcmV0LWtleS0xMjM0NTY3ODkwLWFiY2RlZg==, next", "c2VjcmV0LWtleS0xMjM0NTY3",
              ", next", "opaque token");
    text_case("?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240101T000000Z", NULL, NULL, NULL);

    /* NUL bytes and line numbers */
    bc_redactions log = {0};
    size_t n;
    static const char nul[] = "a\0b\nline two password=x1\n";
    char *out = bc_redact_text(nul, sizeof nul - 1, "f.log", &log, &n);
    CHECK(out && n == sizeof nul - 1 - 2 + strlen(BC_REDACTED) && out[1] == '\0');
    CHECK(logged(&log, "f.log: line 2 (credential parameter)"));
    free(out);
    bc_redactions_free(&log);

    /* a secret after a NUL; line numbers after a key that spans lines */
    static const char after_nul[] = "x\0AKIAIOSFODNN7EXAMPLE";
    out = bc_redact_text(after_nul, sizeof after_nul - 1, "f.log", &log, &n);
    CHECK(out && n == 2 + strlen(BC_REDACTED) && memcmp(out, "x\0" BC_REDACTED, n) == 0);
    free(out);
    bc_redactions_free(&log);
    const char *lines = "one\n-----BEGIN EC PRIVATE KEY-----\nMHcC\nAQEE\n-----END EC PRIVATE "
                        "KEY-----\nsix password=pw6\n";
    out = bc_redact_text(lines, strlen(lines), "logs/pod-1.plugin-barman-cloud.log", &log, &n);
    CHECK(out && strcmp(out, "one\n[REDACTED]\nsix password=[REDACTED]\n") == 0);
    CHECK(log.n == 2 && logged(&log, "logs/pod-1.plugin-barman-cloud.log: line 2 (private key)"));
    CHECK(logged(&log, "logs/pod-1.plugin-barman-cloud.log: line 6 (credential parameter)"));
    free(out);
    bc_redactions_free(&log);
    bc_redactions_free(&log);   /* a freed list is a zeroed one */
    bc_redactions_free(NULL);
    /* out of memory for the list is a failure, not a short list */
    log.oom = 1;
    out = bc_redact_text("x", 1, "f.log", &log, &n);
    CHECK(out == NULL && n == 0);
    json_t *one = json_pack("{s:s}", "a", "b");
    CHECK(bc_redact_json(one, "f.json", &log) == BC_ERR_INTERNAL);
    json_decref(one);
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

    /* every credential env name; the Secret reference of an ObjectStore */
    doc = json_loads(
        "{\"kind\": \"List\", \"metadata\": {\"resourceVersion\": \"482913\"}, \"items\": [{"
        " \"metadata\": {\"uid\": \"123e4567-e89b-12d3-a456-426614174000\", \"annotations\": {"
        "   \"example.com/db-password\": \"ap1\", \"checksum/secret\": \"9f86d081884c7d65\","
        "   \"cnpg.io/pluginClientSecret\": \"barman-cloud-client-tls\"}},"
        " \"spec\": {\"env\": ["
        "   {\"name\": \"AZURE_STORAGE_KEY\", \"value\": \"env-v1\"},"
        "   {\"name\": \"AZURE_STORAGE_SAS_TOKEN\", \"value\": \"env-v2\"},"
        "   {\"name\": \"AZURE_STORAGE_CONNECTION_STRING\", \"value\": \"env-v3\"},"
        "   {\"name\": \"PGPASSWORD\", \"value\": \"env-v4\"},"
        "   {\"name\": \"GOOGLE_APPLICATION_CREDENTIALS\", \"value\": \"/env-v5.json\"},"
        "   {\"name\": \"AWS_SESSION_TOKEN\", \"value\": \"env-v6\"},"
        "   {\"name\": \"AWS_ACCESS_KEY_ID\", \"value\": \"env-v7\"},"
        "   {\"name\": \"PGPASSFILE_TOKEN\", \"value\": \"\"},"
        "   {\"name\": \"AZURE_STORAGE_ACCOUNT\", \"value\": \"acct\"},"
        "   {\"name\": \"AWS_SECRET_ACCESS_KEY\", \"valueFrom\": {\"secretKeyRef\":"
        "      {\"name\": \"aws-creds\", \"key\": \"ACCESS_SECRET_KEY\"}}}],"
        "  \"configuration\": {\"s3Credentials\": {"
        "     \"accessKeyId\": {\"name\": \"aws-creds\", \"key\": \"ACCESS_KEY_ID\"},"
        "     \"sessionToken\": {\"name\": \"aws-creds\", \"key\": \"SESSION\"}}},"
        "  \"tokens\": [\"a1\", [\"a2\"]], \"ca.key\": \"ck1\", \"ssh-privatekey\": \"sp1\","
        "  \"tokenExpirationSeconds\": 3600, \"passwordSecretName\": \"pg-app\"}},"
        " {\"kind\": \"Secret\", \"data\": {\"username\": \"dXNlcg==\", \"x\": \"c2Q=\"},"
        "  \"stringData\": {\"y\": \"sd2\"}, \"metadata\": {\"name\": \"aws-creds\"}}]}",
        0, NULL);
    CHECK(doc != NULL);
    CHECK(bc_redact_json(doc, "objects/pods.json", &log) == BC_OK);
    text = json_dumps(doc, JSON_COMPACT);
    static const char *const gone2[] = {"ap1", "env-v1", "env-v2", "env-v3", "env-v4", "env-v5", "env-v6", "env-v7",
                                        "a1", "a2", "ck1", "sp1", "dXNlcg==", "c2Q=", "sd2"};
    for (size_t i = 0; i < sizeof gone2 / sizeof *gone2; i++)
        CHECK_MSG(strstr(text, gone2[i]) == NULL, "%s in %s", gone2[i], text);
    static const char *const kept2[] = {
        "\"482913\"", "123e4567-e89b-12d3-a456-426614174000", "9f86d081884c7d65",
        "barman-cloud-client-tls", "\"acct\"", "{\"name\":\"aws-creds\",\"key\":\"ACCESS_KEY_ID\"}",
        "{\"name\":\"aws-creds\",\"key\":\"SESSION\"}", "\"ACCESS_SECRET_KEY\"", "3600",
        "\"pg-app\"", "\"PGPASSFILE_TOKEN\",\"value\":\"\"", "\"name\":\"aws-creds\"}"};
    for (size_t i = 0; i < sizeof kept2 / sizeof *kept2; i++)
        CHECK_MSG(strstr(text, kept2[i]) != NULL, "%s in %s", kept2[i], text);
    CHECK(logged(&log, "objects/pods.json: items[0].spec.env[6].value (env AWS_ACCESS_KEY_ID)"));
    CHECK(logged(&log, "objects/pods.json: items[0].metadata.annotations.example.com/db-password "
                       "(credential key)"));
    CHECK(logged(&log, "objects/pods.json: items[0].spec.tokens[1][0] (credential key)"));
    CHECK(logged(&log, "objects/pods.json: items[0].spec.ca.key (credential key)"));
    CHECK(logged(&log, "objects/pods.json: items[1].data.username (secret data)"));
    CHECK(logged(&log, "objects/pods.json: items[1].stringData.y (secret data)"));
    CHECK_MSG(log.n == 15, "%zu", log.n);
    for (size_t i = 0; i < log.n; i++)
        for (size_t g = 0; g < sizeof gone2 / sizeof *gone2; g++)
            CHECK(strstr(strchr(log.items[i], ' '), gone2[g]) == NULL);
    free(text);
    json_decref(doc);
    bc_redactions_free(&log);

    /* a document that is one string; non-ASCII around a secret stays UTF-8 */
    doc = json_string("caf\xc3\xa9 password=pw3 \xe2\x9c\x93");
    CHECK(bc_redact_json(doc, "r.json", &log) == BC_OK);
    CHECK(strcmp(json_string_value(doc), "caf\xc3\xa9 password=[REDACTED] \xe2\x9c\x93") == 0);
    CHECK(logged(&log, "r.json:  (credential parameter)"));
    json_decref(doc);
    bc_redactions_free(&log);
    return check_report("redact");
}
