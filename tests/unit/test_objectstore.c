/* lib/plugin/objectstore: ObjectStore configurations (as CNPG users write
 * them) into each tool's options and environment, with a fake Secret
 * reader; credentials must reach the environment or a 0600 file, never
 * the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/objectstore.h"
#include "util/fileio.h"

#include "check.h"

typedef struct fake_secret {
    const char *name, *key, *value;
} fake_secret;

static const fake_secret secrets[] = {
    {"aws", "ID", "AKIDEXAMPLE"},
    {"aws", "KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    {"aws", "REGION", "eu-west-3"},
    {"aws", "TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN"},
    {"ca", "ca.crt", "-----BEGIN CERTIFICATE-----\nMIIBexample\n-----END CERTIFICATE-----\n"},
    {"azure", "ACCOUNT", "storeacct"},
    {"azure", "KEY", "c2VjcmV0LWF6dXJlLWtleQ=="},
    {"azure", "SAS", "sv=2022-11-02&ss=b&sig=c2FzLXNpZw%3D"},
    {"azure", "CONN", "DefaultEndpointsProtocol=https;AccountName=storeacct;AccountKey=Y29ubi1rZXk="},
    {"gcs", "sa.json", "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\"}"},
};

static int net_down; /* the fake API server is unreachable */

static bc_status fake_reader(void *ctx, const char *name, const char *key, char **value,
                             size_t *len)
{
    (void)ctx;
    if (net_down)
        return bc_error(BC_ERR_NET, "connection refused");
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (!strcmp(secrets[i].name, name) && !strcmp(secrets[i].key, key)) {
            *value = strdup(secrets[i].value);
            *len = strlen(secrets[i].value);
            return *value ? BC_OK : bc_error(BC_ERR_INTERNAL, "out of memory");
        }
    return bc_error(BC_ERR_NOTFOUND, "Secret %s has no key %s", name, key);
}

static char private_dir[64], spool[] = "/var/spool/bc";

typedef struct result {
    bc_status st;
    bc_strv argv, env;
    char args[2048]; /* argv after the caller's words, space-separated */
} result;

/* Runs the mapping for `tool` on a configuration; argv starts with the
 * caller's `pre` words (space-separated), env with PATH and an AWS_REGION
 * the configuration may replace. */
static void run(result *r, const char *config, bc_tool tool, const char *pre, int with_spool)
{
    json_error_t err;
    json_t *cfg = json_loads(config, 0, &err);
    if (!cfg)
        printf("bad test JSON: %s\n", err.text);
    memset(r, 0, sizeof *r);
    char words[256];
    snprintf(words, sizeof words, "%s", pre);
    for (char *w = strtok(words, " "); w; w = strtok(NULL, " "))
        bc_strv_add(&r->argv, w);
    size_t first = r->argv.n;
    bc_strv_add(&r->env, "PATH=/usr/bin:/bin");
    bc_strv_add(&r->env, "AWS_REGION=us-east-1");
    bc_objectstore_env os = {
        .configuration = cfg,
        .read_secret = fake_reader,
        .private_dir = private_dir,
        .spool_dir = with_spool ? spool : NULL,
    };
    r->st = bc_objectstore_tool_args(&os, tool, &r->argv, &r->env);
    for (size_t i = first; i < r->argv.n; i++) {
        size_t n = strlen(r->args);
        snprintf(r->args + n, sizeof r->args - n, "%s%s", n ? " " : "", r->argv.v[i]);
    }
    json_decref(cfg);
}

static void done(result *r)
{
    bc_strv_free(&r->argv);
    bc_strv_free(&r->env);
}

/* No secret value (nor a long piece of one) anywhere on the command line. */
static int argv_clean(const result *r)
{
    for (size_t i = 0; i < r->argv.n; i++)
        for (size_t j = 0; j < sizeof secrets / sizeof secrets[0]; j++) {
            char piece[12];
            snprintf(piece, sizeof piece, "%s", secrets[j].value);
            if (strstr(r->argv.v[i], piece)) {
                printf("secret %s/%s on the command line: %s\n", secrets[j].name, secrets[j].key,
                       r->argv.v[i]);
                return 0;
            }
        }
    return 1;
}

static int same(const char *got, const char *want)
{
    if (got && want && strcmp(got, want) == 0)
        return 1;
    if (got || want)
        printf("  got:  %s\n  want: %s\n", got ? got : "(null)", want ? want : "(null)");
    return 0;
}

static int file_is(const char *path, const char *content)
{
    struct stat sb;
    return stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && bc_file_holds(path, content);
}

/* Runs the mapping and expects success with exactly `want` after the
 * caller's words, and nothing secret on the command line. */
static void expect_args(const char *config, bc_tool tool, const char *pre, int with_spool,
                        const char *want)
{
    result r;
    run(&r, config, tool, pre, with_spool);
    if (r.st != BC_OK)
        printf("  error: %s\n", bc_error_msg());
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, want));
    CHECK(argv_clean(&r));
    done(&r);
}

static void expect_error(const char *config, bc_tool tool, bc_status code, const char *msg)
{
    result r;
    run(&r, config, tool, "", 0);
    CHECK(r.st == code);
    if (!strstr(bc_error_msg(), msg) || strchr(bc_error_msg(), '\n'))
        printf("  message: %s\n  wanted:  %s\n", bc_error_msg(), msg);
    CHECK(strstr(bc_error_msg(), msg) != NULL);
    CHECK(strchr(bc_error_msg(), '\n') == NULL);
    CHECK(argv_clean(&r));
    done(&r);
}

#define S3_KEYS                                                                   \
    "\"s3Credentials\": {\"accessKeyId\": {\"name\": \"aws\", \"key\": \"ID\"},"  \
    " \"secretAccessKey\": {\"name\": \"aws\", \"key\": \"KEY\"}"

static void test_s3(void)
{
    result r;
    char ca[128], want[512];
    snprintf(ca, sizeof ca, "%s/endpoint-ca.pem", private_dir);
    run(&r,
        "{\"destinationPath\": \"s3://bucket/pg\", \"endpointURL\": \"https://minio:9000\","
        " \"endpointCA\": {\"name\": \"ca\", \"key\": \"ca.crt\"}, " S3_KEYS ","
        " \"region\": {\"name\": \"aws\", \"key\": \"REGION\"},"
        " \"sessionToken\": {\"name\": \"aws\", \"key\": \"TOKEN\"}}}",
        BC_TOOL_WAL_RESTORE, "bc-wal-restore", 1);
    CHECK(r.st == BC_OK);
    snprintf(want, sizeof want,
             "--cloud-provider aws-s3 --endpoint-url https://minio:9000 --ca-bundle %s", ca);
    CHECK(same(r.args, want));
    CHECK(same(r.argv.v[0], "bc-wal-restore"));
    CHECK(same(bc_strv_getenv(&r.env, "AWS_ACCESS_KEY_ID"), "AKIDEXAMPLE"));
    CHECK(same(bc_strv_getenv(&r.env, "AWS_SECRET_ACCESS_KEY"),
               "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
    CHECK(same(bc_strv_getenv(&r.env, "AWS_SESSION_TOKEN"), "FwoGZXIvYXdzEXAMPLETOKEN"));
    CHECK(same(bc_strv_getenv(&r.env, "AWS_REGION"), "eu-west-3"));
    CHECK(same(bc_strv_getenv(&r.env, "AWS_DEFAULT_REGION"), "eu-west-3"));
    CHECK(same(bc_strv_getenv(&r.env, "PATH"), "/usr/bin:/bin"));
    CHECK(r.env.n == 6);
    CHECK(file_is(ca, secrets[4].value));
    CHECK(argv_clean(&r));
    done(&r);

    /* The role's credentials: nothing read, nothing set. */
    run(&r, "{\"destinationPath\": \"s3://bucket\", \"s3Credentials\": "
            "{\"inheritFromIAMRole\": true, \"region\": {\"name\": \"no\", \"key\": \"such\"}}}",
        BC_TOOL_LS, "", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, "--cloud-provider aws-s3"));
    CHECK(r.env.n == 2);
    done(&r);

    expect_error("{\"destinationPath\": \"s3://b\", \"s3Credentials\": {}}", BC_TOOL_LS,
                 BC_ERR_USAGE, "spec.configuration.s3Credentials: give accessKeyId and "
                 "secretAccessKey, or set inheritFromIAMRole");
    expect_error("{\"destinationPath\": \"s3://b\", \"s3Credentials\": "
                 "{\"accessKeyId\": {\"name\": \"aws\", \"key\": \"ID\"}}}", BC_TOOL_LS,
                 BC_ERR_USAGE, "give accessKeyId and secretAccessKey");
    expect_error("{\"destinationPath\": \"s3://b\", \"s3Credentials\": "
                 "{\"inheritFromIAMRole\": \"yes\"}}", BC_TOOL_LS, BC_ERR_USAGE,
                 "spec.configuration.s3Credentials.inheritFromIAMRole: expected true or false");
}

static void test_missing_secret(void)
{
    expect_error("{\"destinationPath\": \"s3://b\", \"s3Credentials\": "
                 "{\"accessKeyId\": {\"name\": \"aws\", \"key\": \"ID\"},"
                 " \"secretAccessKey\": {\"name\": \"aws\", \"key\": \"NOPE\"}}}",
                 BC_TOOL_WAL_ARCHIVE, BC_ERR_USAGE,
                 "spec.configuration.s3Credentials.secretAccessKey: Secret aws has no key NOPE");
    expect_error("{\"destinationPath\": \"s3://b\", \"s3Credentials\": "
                 "{\"accessKeyId\": {\"name\": \"aws\"},"
                 " \"secretAccessKey\": {\"name\": \"aws\", \"key\": \"KEY\"}}}",
                 BC_TOOL_WAL_ARCHIVE, BC_ERR_USAGE,
                 "spec.configuration.s3Credentials.accessKeyId: give the Secret's name and key");
    expect_error("{\"destinationPath\": \"gs://b\", \"googleCredentials\": {\"gkeEnvironment\": "
                 "true}, \"endpointCA\": {\"name\": \"nothere\", \"key\": \"ca.crt\"}}",
                 BC_TOOL_LS, BC_ERR_USAGE,
                 "spec.configuration.endpointCA: Secret nothere has no key ca.crt");
    /* The API server's failures keep their status: the caller may retry. */
    net_down = 1;
    expect_error("{\"destinationPath\": \"s3://b\", " S3_KEYS "}}", BC_TOOL_LS, BC_ERR_NET,
                 "spec.configuration.s3Credentials.accessKeyId: connection refused");
    net_down = 0;
}

#define AZURE(creds) "{\"destinationPath\": \"https://storeacct.blob.core.windows.net/c/pg\", " \
                     "\"azureCredentials\": {" creds "}}"
#define SEL(n, k) "{\"name\": \"" n "\", \"key\": \"" k "\"}"

static void test_azure(void)
{
    result r;
    run(&r, AZURE("\"storageAccount\": " SEL("azure", "ACCOUNT") ", \"storageKey\": "
                  SEL("azure", "KEY")), BC_TOOL_BACKUP, "", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, "--cloud-provider azure-blob-storage"));
    CHECK(same(bc_strv_getenv(&r.env, "AZURE_STORAGE_ACCOUNT"), "storeacct"));
    CHECK(same(bc_strv_getenv(&r.env, "AZURE_STORAGE_KEY"), "c2VjcmV0LWF6dXJlLWtleQ=="));
    CHECK(r.env.n == 4);
    CHECK(argv_clean(&r));
    done(&r);

    run(&r, AZURE("\"storageAccount\": " SEL("azure", "ACCOUNT") ", \"storageSasToken\": "
                  SEL("azure", "SAS")), BC_TOOL_WAL_RESTORE, "", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(bc_strv_getenv(&r.env, "AZURE_STORAGE_SAS_TOKEN"),
               "sv=2022-11-02&ss=b&sig=c2FzLXNpZw%3D"));
    CHECK(same(bc_strv_getenv(&r.env, "AZURE_STORAGE_ACCOUNT"), "storeacct"));
    CHECK(bc_strv_getenv(&r.env, "AZURE_STORAGE_KEY") == NULL);
    CHECK(argv_clean(&r));
    done(&r);

    run(&r, AZURE("\"connectionString\": " SEL("azure", "CONN")), BC_TOOL_RESTORE, "", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, "--cloud-provider azure-blob-storage"));
    CHECK(same(bc_strv_getenv(&r.env, "AZURE_STORAGE_CONNECTION_STRING"), secrets[8].value));
    CHECK(r.env.n == 3);
    CHECK(argv_clean(&r));
    done(&r);

    run(&r, AZURE("\"inheritFromAzureAD\": true"), BC_TOOL_RETENTION, "", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, "--cloud-provider azure-blob-storage --credential managed-identity"));
    CHECK(r.env.n == 2);
    done(&r);

    expect_args(AZURE("\"useDefaultAzureCredentials\": true, \"inheritFromAzureAD\": true"),
                BC_TOOL_RETENTION, "", 0, "--cloud-provider azure-blob-storage --credential default");

    expect_error(AZURE("\"storageAccount\": " SEL("azure", "ACCOUNT")), BC_TOOL_LS,
                 BC_ERR_USAGE, "spec.configuration.azureCredentials: give connectionString");
}

static void test_google(void)
{
    result r;
    char file[128];
    snprintf(file, sizeof file, "%s/google-application-credentials.json", private_dir);
    unlink(file);
    run(&r, "{\"destinationPath\": \"gs://bucket/pg\", \"googleCredentials\": "
            "{\"applicationCredentials\": " SEL("gcs", "sa.json") "}}", BC_TOOL_BACKUP, "", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, "--cloud-provider google-cloud-storage"));
    CHECK(same(bc_strv_getenv(&r.env, "GOOGLE_APPLICATION_CREDENTIALS"), file));
    CHECK(file_is(file, secrets[9].value));
    CHECK(argv_clean(&r));
    done(&r);

    run(&r, "{\"destinationPath\": \"gs://bucket/pg\", \"googleCredentials\": "
            "{\"gkeEnvironment\": true}}", BC_TOOL_WAL_ARCHIVE, "", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, "--cloud-provider google-cloud-storage"));
    CHECK(r.env.n == 2);
    done(&r);

    expect_error("{\"destinationPath\": \"gs://b\", \"googleCredentials\": {}}", BC_TOOL_LS,
                 BC_ERR_USAGE, "spec.configuration.googleCredentials: give "
                 "applicationCredentials, or set gkeEnvironment");
}

#define IAM "\"s3Credentials\": {\"inheritFromIAMRole\": true}"

static void test_wal(void)
{
    const char *cfg =
        "{\"destinationPath\": \"s3://b/pg\", " IAM ", \"tags\": {\"team\": \"db\", \"env\": "
        "\"prod\"}, \"historyTags\": {\"kind\": \"history\"}, \"wal\": {\"compression\": \"zstd\","
        " \"encryption\": \"aws:kms\", \"maxParallel\": 8, \"archiveAdditionalCommandArgs\": "
        "[\"--max-retries=9\", \"-e\", \"--tags\", \"--read-timeout=30\"], "
        "\"restoreAdditionalCommandArgs\": [\"--no-partial\", \"--prefetch=2\"]}}";
    expect_args(cfg, BC_TOOL_WAL_ARCHIVE, "bc-wal-archive", 1,
                "--cloud-provider aws-s3 --zstd -e aws:kms --tags team,db --tags env,prod "
                "--history-tags kind,history --max-parallel 8 --spool-dir /var/spool/bc "
                "--max-retries=9 --read-timeout=30");
    /* No spool directory: one WAL a call. */
    expect_args(cfg, BC_TOOL_WAL_ARCHIVE, "", 0,
                "--cloud-provider aws-s3 --zstd -e aws:kms --tags team,db --tags env,prod "
                "--history-tags kind,history --max-retries=9 --read-timeout=30");
    expect_args(cfg, BC_TOOL_WAL_RESTORE, "", 1,
                "--cloud-provider aws-s3 --prefetch 8 --spool-dir /var/spool/bc --no-partial");
    /* Beyond what our tools take: capped. */
    expect_args("{\"destinationPath\": \"s3://b\", " IAM ", \"wal\": {\"maxParallel\": 500}}",
                BC_TOOL_WAL_ARCHIVE, "", 1,
                "--cloud-provider aws-s3 --max-parallel 64 --spool-dir /var/spool/bc");

    for (const char *c = "\0gzip\0bzip2\0snappy\0lz4\0xz\0" + 1; *c; c += strlen(c) + 1) {
        char config[256], want[128];
        snprintf(config, sizeof config, "{\"destinationPath\": \"s3://b\", " IAM ", \"wal\": "
                 "{\"compression\": \"%s\", \"encryption\": \"\"}}", c);
        snprintf(want, sizeof want, "--cloud-provider aws-s3 --%s", c);
        expect_args(config, BC_TOOL_WAL_ARCHIVE, "", 0, want);
    }

    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"wal\": {\"compression\": "
                 "\"brotli\"}}", BC_TOOL_WAL_ARCHIVE, BC_ERR_USAGE,
                 "spec.configuration.wal.compression: unknown compression 'brotli'");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"wal\": {\"encryption\": "
                 "\"aes\"}}", BC_TOOL_WAL_ARCHIVE, BC_ERR_USAGE,
                 "spec.configuration.wal.encryption: unknown encryption 'aes'");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"tags\": {\"a,b\": \"c\"}}",
                 BC_TOOL_WAL_ARCHIVE, BC_ERR_USAGE, "spec.configuration.tags.a,b: tag keys");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"historyTags\": {\"k\": 1}}",
                 BC_TOOL_WAL_ARCHIVE, BC_ERR_USAGE,
                 "spec.configuration.historyTags.k: expected a string");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"wal\": {\"maxParallel\": -2}}",
                 BC_TOOL_WAL_RESTORE, BC_ERR_USAGE,
                 "spec.configuration.wal.maxParallel: expected a positive integer");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"wal\": "
                 "{\"restoreAdditionalCommandArgs\": [\"--x\", 3]}}", BC_TOOL_WAL_RESTORE,
                 BC_ERR_USAGE, "spec.configuration.wal.restoreAdditionalCommandArgs[1]: expected "
                 "a string");
}

static void test_data(void)
{
    const char *cfg =
        "{\"destinationPath\": \"s3://b/pg\", " IAM ", \"endpointURL\": \"http://minio:9000\", "
        "\"tags\": {\"team\": \"db\"}, \"historyTags\": {\"kind\": \"history\"}, \"data\": "
        "{\"compression\": \"bzip2\", \"encryption\": \"AES256\", \"immediateCheckpoint\": true,"
        " \"jobs\": 4, \"additionalCommandArgs\": [\"--min-chunk-size=32MiB\", \"--jobs=8\", "
        "\"--immediate-checkpoint\", \"--name=other\", \"=x\", \"-S\", \"10GiB\", "
        "\"--read-timeout=60\", \"--read-timeout=90\"], \"restoreAdditionalCommandArgs\": "
        "[\"--jobs=3\", \"--tablespace=t:/mnt/t\"]}}";
    expect_args(cfg, BC_TOOL_BACKUP, "bc-backup --user postgres --name nightly", 0,
                "--cloud-provider aws-s3 --endpoint-url http://minio:9000 --bzip2 "
                "--encryption AES256 --immediate-checkpoint --jobs 4 --tags team,db "
                "--min-chunk-size=32MiB -S 10GiB --read-timeout=60 --read-timeout=90");
    expect_args(cfg, BC_TOOL_RESTORE, "bc-restore", 0,
                "--cloud-provider aws-s3 --endpoint-url http://minio:9000 --jobs=3 "
                "--tablespace=t:/mnt/t");
    /* Retention and listing take the store options only. */
    expect_args(cfg, BC_TOOL_RETENTION, "", 0,
                "--cloud-provider aws-s3 --endpoint-url http://minio:9000");
    expect_args(cfg, BC_TOOL_LS, "bc-ls wals", 0,
                "--cloud-provider aws-s3 --endpoint-url http://minio:9000");
    expect_args("{\"destinationPath\": \"s3://b\", " IAM ", \"data\": {\"jobs\": 100, "
                "\"immediateCheckpoint\": false}}", BC_TOOL_BACKUP, "", 0,
                "--cloud-provider aws-s3 --jobs 64");

    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"data\": {\"jobs\": \"4\"}}",
                 BC_TOOL_BACKUP, BC_ERR_USAGE,
                 "spec.configuration.data.jobs: expected a positive integer");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"data\": "
                 "{\"additionalCommandArgs\": \"--x\"}}", BC_TOOL_BACKUP, BC_ERR_USAGE,
                 "spec.configuration.data.additionalCommandArgs: expected a list of strings");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"data\": 3}", BC_TOOL_LS,
                 BC_ERR_USAGE, "spec.configuration.data: expected an object");
}

static void test_store(void)
{
    result r;
    /* file:// needs no credentials */
    run(&r, "{\"destinationPath\": \"file:///srv/backups\"}", BC_TOOL_LS, "bc-ls backups", 0);
    CHECK(r.st == BC_OK);
    CHECK(same(r.args, ""));
    CHECK(r.argv.n == 2 && r.env.n == 2);
    done(&r);

    CHECK(bc_objectstore_destination(NULL) == NULL);
    json_t *cfg = json_pack("{s:s}", "destinationPath", "s3://bucket/x");
    CHECK(same(bc_objectstore_destination(cfg), "s3://bucket/x"));
    json_decref(cfg);

    expect_error("{\"destinationPath\": \"s3://b\"}", BC_TOOL_LS, BC_ERR_USAGE,
                 "spec.configuration: no credentials: give s3Credentials, azureCredentials or "
                 "googleCredentials");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"googleCredentials\": "
                 "{\"gkeEnvironment\": true}}", BC_TOOL_LS, BC_ERR_USAGE,
                 "give only one of s3Credentials, azureCredentials and googleCredentials");
    expect_error("{" IAM "}", BC_TOOL_LS, BC_ERR_USAGE,
                 "spec.configuration.destinationPath: missing");
    expect_error("[]", BC_TOOL_LS, BC_ERR_USAGE, "spec.configuration: missing");
    expect_error("{\"destinationPath\": \"s3://b\", " IAM ", \"endpointURL\": \"minio:9000\"}",
                 BC_TOOL_LS, BC_ERR_USAGE, "spec.configuration.endpointURL: 'minio:9000' does "
                 "not start with http:// or https://");
    expect_error("{\"destinationPath\": \"s3://b\", \"s3Credentials\": [1]}", BC_TOOL_LS,
                 BC_ERR_USAGE, "spec.configuration.s3Credentials: expected an object");
}

int main(void)
{
    snprintf(private_dir, sizeof private_dir, "/tmp/bc-objectstore-XXXXXX");
    if (!mkdtemp(private_dir)) {
        perror("mkdtemp");
        return 1;
    }
    umask(022); /* the files must be 0600 whatever the umask */
    test_s3();
    test_missing_secret();
    test_azure();
    test_google();
    test_wal();
    test_data();
    test_store();
    check_remove_tree(private_dir);
    return check_report("objectstore");
}
