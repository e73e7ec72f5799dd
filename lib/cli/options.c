#include "cli/options.h"

#include <getopt.h>
#include <string.h>

#include "cli/cli.h"

#define STRING(f) .target = BC_CLI_TO_STRING, .field = offsetof(bc_cli_common, f)
#define LONG(f) .target = BC_CLI_TO_LONG, .field = offsetof(bc_cli_common, f)
#define COMMON .target = BC_CLI_TO_COMMON
#define ONE_OF(...) .tools = (__VA_ARGS__) /* block BC_CLI_IN_TOOL, target BC_CLI_TO_TOOL */
#define UPLOADERS (BC_CLI_WAL_ARCHIVE | BC_CLI_BACKUP)
/* Upload settings: every tool takes them, only the two that upload list them. */
#define UPLOAD_SETTING .tools = BC_CLI_STORE_TOOLS & ~BC_CLI_DOCTOR, \
                       .unlisted = BC_CLI_STORE_TOOLS & ~UPLOADERS & ~BC_CLI_DOCTOR
#define NUMBER(lo, hi) .min = (lo), .max = (hi)

const bc_cli_option bc_cli_options[] = {
    /* Compression (the tools that write archives). */
    {'z', "--gzip", "-z", no_argument, .tools = UPLOADERS, .block = BC_CLI_IN_COMPRESSION, COMMON},
    {'j', "--bzip2", "-j", no_argument, .tools = UPLOADERS, .block = BC_CLI_IN_COMPRESSION, COMMON},
    {BC_OPT_SNAPPY, "--snappy", NULL, no_argument, .tools = UPLOADERS,
     .block = BC_CLI_IN_COMPRESSION, COMMON},
    {BC_OPT_LZ4, "--lz4", NULL, no_argument, .tools = UPLOADERS, .block = BC_CLI_IN_COMPRESSION,
     COMMON},
    {BC_OPT_XZ, "--xz", NULL, no_argument, .tools = UPLOADERS, .block = BC_CLI_IN_COMPRESSION,
     COMMON},
    {BC_OPT_ZSTD, "--zstd", NULL, no_argument, .tools = UPLOADERS, .block = BC_CLI_IN_COMPRESSION,
     COMMON},
    {BC_OPT_COMPRESSION_LEVEL, "--compression-level", NULL, required_argument, "N",
     NUMBER(1, 22), .help = "codec level (default: the codec's usual one)", .tools = UPLOADERS,
     .block = BC_CLI_IN_COMPRESSION, LONG(level)},

    /* Store: every tool that opens one. */
    {BC_OPT_CLOUD_PROVIDER, "--cloud-provider", NULL, required_argument, "NAME",
     .choices = "aws-s3|azure-blob-storage|google-cloud-storage",
     .help = "aws-s3, azure-blob-storage or google-cloud-storage\n"
             "(s3://, https://ACCOUNT.blob..., gs://; or file://)",
     .tools = BC_CLI_STORE_TOOLS, .block = BC_CLI_IN_STORE, STRING(store.cloud_provider),
     .restore_command = 1},
    {BC_OPT_CREDENTIAL, "--credential", NULL, required_argument, "default|managed-identity",
     .choices = "azure-cli|managed-identity|default", .help = "Azure: token source",
     .tools = BC_CLI_STORE_TOOLS, .block = BC_CLI_IN_STORE, STRING(store.credential),
     .restore_command = 1},
    {BC_OPT_CREDENTIAL, "--azure-credential", NULL, required_argument, ONE_OF(BC_CLI_STORE_TOOLS)},
    {BC_OPT_ENDPOINT_URL, "--endpoint-url", NULL, required_argument, "URL",
     .help = "S3-compatible endpoint (e.g. http://127.0.0.1:9000)", .tools = BC_CLI_STORE_TOOLS,
     .block = BC_CLI_IN_STORE, STRING(store.endpoint_url), .restore_command = 1},
    {'P', "--profile", "-P", required_argument, "NAME", .help = "AWS credentials profile",
     .tools = BC_CLI_STORE_TOOLS, .block = BC_CLI_IN_STORE, STRING(store.profile),
     .restore_command = 1},
    {'P', "--aws-profile", NULL, required_argument, ONE_OF(BC_CLI_STORE_TOOLS)},
    {BC_OPT_READ_TIMEOUT, "--read-timeout", NULL, required_argument, "SECONDS",
     NUMBER(1, 86400), .range = "seconds (1-86400)",
     .help = "give up on a silent connection (default 60)", .tools = BC_CLI_STORE_TOOLS,
     .block = BC_CLI_IN_STORE, LONG(store.read_timeout), .restore_command = 1},
    {BC_OPT_CA_BUNDLE, "--ca-bundle", NULL, required_argument, "FILE",
     .help = "trust these CAs (default: AWS_CA_BUNDLE, system)", .tools = BC_CLI_STORE_TOOLS,
     .block = BC_CLI_IN_STORE, STRING(store.ca_bundle), .restore_command = 1},
    {BC_OPT_ADDRESSING, "--addressing-style", NULL, required_argument, "auto|path|virtual",
     .choices = "auto|path|virtual", .tools = BC_CLI_STORE_TOOLS, .block = BC_CLI_IN_STORE,
     STRING(store.addressing), .restore_command = 1},
    {BC_OPT_RETRIES, "--max-retries", NULL, required_argument, "N", NUMBER(0, 100),
     .help = "retries on network errors, 5xx, 429 (default 5)", .tools = BC_CLI_STORE_TOOLS,
     .block = BC_CLI_IN_STORE, COMMON},
    {BC_OPT_SINGLE_PUT, "--max-single-put-size", NULL, required_argument, "SIZE",
     .help = "objects beyond SIZE go up in parts", UPLOAD_SETTING, .block = BC_CLI_IN_STORE,
     COMMON},
    {BC_OPT_BLOCK_SIZE, "--max-block-size", NULL, required_argument, "SIZE",
     .help = "the size of each part", UPLOAD_SETTING, .block = BC_CLI_IN_STORE, COMMON},
    {BC_OPT_CONCURRENCY, "--max-concurrency", NULL, required_argument, "N", NUMBER(1, 64),
     .help = "parts uploaded at once", UPLOAD_SETTING, .block = BC_CLI_IN_STORE, COMMON},
    {BC_OPT_MAX_PARTS, "--max-parts", NULL, required_argument, "N", NUMBER(1, 10000),
     .help = "most parts of one S3 upload (default 10000)", UPLOAD_SETTING,
     .block = BC_CLI_IN_STORE, COMMON},
    {BC_OPT_CONDITIONAL_WRITES, "--conditional-writes", NULL, required_argument, "auto|yes|no",
     .choices = "auto|yes|no",
     .help = "the store refuses If-None-Match writes to existing\n"
             "names (auto: yes but on --endpoint-url servers)",
     .tools = BC_CLI_WAL_ARCHIVE, .block = BC_CLI_IN_STORE, STRING(store.conditional_writes)},

    /* Server-side encryption (the tools that write objects). */
    {'e', "--encryption", "-e", required_argument, "AES256|aws:kms", .choices = "AES256|aws:kms",
     .help = "server-side encryption", .tools = UPLOADERS, .block = BC_CLI_IN_ENCRYPTION,
     STRING(store.sse)},
    {BC_OPT_KMS_KEY, "--sse-kms-key-id", NULL, required_argument, "ID",
     .help = "KMS key for aws:kms", .tools = UPLOADERS, .block = BC_CLI_IN_ENCRYPTION,
     STRING(store.sse_kms_key_id)},
    {BC_OPT_ENCRYPTION_SCOPE, "--encryption-scope", NULL, required_argument, "SCOPE",
     .help = "Azure encryption scope of the blobs", .tools = UPLOADERS,
     .block = BC_CLI_IN_ENCRYPTION, STRING(store.encryption_scope)},
    {BC_OPT_KMS_KEY_NAME, "--kms-key-name", NULL, required_argument, "NAME",
     .help = "Cloud KMS key of the objects (GCS)", .tools = UPLOADERS,
     .block = BC_CLI_IN_ENCRYPTION, STRING(store.kms_key_name)},

    /* Other. */
    {'t', "--test", "-t", no_argument, .help = "check the store is reachable and exit",
     .tools = BC_CLI_STORE_TOOLS & ~BC_CLI_DOCTOR, .block = BC_CLI_IN_OTHER, COMMON},
    {'v', "--verbose", "-v", no_argument, .help = "more output", .tools = BC_CLI_ALL_TOOLS,
     .block = BC_CLI_IN_OTHER, COMMON},
    {'q', "--quiet", "-q", no_argument, .help = "less output", .tools = BC_CLI_ALL_TOOLS,
     .block = BC_CLI_IN_OTHER, COMMON},
    {BC_OPT_LOG_FORMAT, "--log-format", NULL, required_argument, "text|json",
     .choices = "text|json", .help = "message format on stderr", .tools = BC_CLI_ALL_TOOLS,
     .block = BC_CLI_IN_OTHER, COMMON},
    {'V', "--version", "-V", no_argument, .help = "print the version", .tools = BC_CLI_ALL_TOOLS,
     .block = BC_CLI_IN_OTHER, COMMON},
    {BC_OPT_HELP, "--help", NULL, no_argument, .help = "print this help",
     .tools = BC_CLI_ALL_TOOLS, .block = BC_CLI_IN_OTHER, COMMON},

    /* bc-wal-archive, bc-backup */
    {BC_OPT_TAGS, "--tags", NULL, required_argument, ONE_OF(UPLOADERS)},
    {BC_OPT_HISTORY_TAGS, "--history-tags", NULL, required_argument, ONE_OF(BC_CLI_WAL_ARCHIVE)},
    {BC_OPT_MAX_PARALLEL, "--max-parallel", NULL, required_argument, NUMBER(1, 64),
     ONE_OF(BC_CLI_WAL_ARCHIVE)},
    {BC_OPT_SPOOL_DIR, "--spool-dir", NULL, required_argument,
     ONE_OF(BC_CLI_WAL_ARCHIVE | BC_CLI_WAL_RESTORE)},
    /* bc-wal-restore */
    {BC_OPT_NO_PARTIAL, "--no-partial", NULL, no_argument, ONE_OF(BC_CLI_WAL_RESTORE)},
    {BC_OPT_PREFETCH, "--prefetch", NULL, required_argument, NUMBER(1, 64),
     ONE_OF(BC_CLI_WAL_RESTORE)},
    {BC_OPT_END_OF_WAL_FLAG, "--end-of-wal-flag", NULL, no_argument, ONE_OF(BC_CLI_WAL_RESTORE)},
    /* bc-backup */
    {'h', "--host", "-h", required_argument, ONE_OF(BC_CLI_BACKUP | BC_CLI_DOCTOR)},
    {'p', "--port", "-p", required_argument, ONE_OF(BC_CLI_BACKUP | BC_CLI_DOCTOR)},
    {'U', "--user", "-U", required_argument, ONE_OF(BC_CLI_BACKUP | BC_CLI_DOCTOR)},
    {'d', "--dbname", "-d", required_argument, ONE_OF(BC_CLI_BACKUP | BC_CLI_DOCTOR)},
    {BC_OPT_IMMEDIATE, "--immediate-checkpoint", NULL, no_argument, ONE_OF(BC_CLI_BACKUP)},
    {'J', "--jobs", "-J", required_argument, NUMBER(1, 64),
     ONE_OF(BC_CLI_BACKUP | BC_CLI_RESTORE | BC_CLI_VERIFY)},
    {'S', "--max-archive-size", "-S", required_argument, ONE_OF(BC_CLI_BACKUP)},
    {BC_OPT_MIN_CHUNK, "--min-chunk-size", NULL, required_argument, ONE_OF(BC_CLI_BACKUP)},
    {'n', "--name", "-n", required_argument, ONE_OF(BC_CLI_BACKUP)},
    {BC_OPT_PROGRESS, "--progress", NULL, no_argument,
     ONE_OF(BC_CLI_BACKUP | BC_CLI_RESTORE | BC_CLI_VERIFY)},
    {BC_OPT_NO_PROGRESS, "--no-progress", NULL, no_argument,
     ONE_OF(BC_CLI_BACKUP | BC_CLI_RESTORE | BC_CLI_VERIFY)},
    /* bc-restore */
    {BC_OPT_TABLESPACE, "--tablespace", NULL, required_argument, ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_FORCE, "--force", NULL, no_argument, ONE_OF(BC_CLI_RESTORE)},
    {'R', "--write-recovery-conf", "-R", no_argument, ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_TIME, "--recovery-target-time", NULL, required_argument, ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_LSN, "--recovery-target-lsn", NULL, required_argument, ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_NAME, "--recovery-target-name", NULL, required_argument, ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_XID, "--recovery-target-xid", NULL, required_argument, ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_IMMEDIATE, "--recovery-target-immediate", NULL, no_argument,
     ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_EXCLUSIVE, "--recovery-target-exclusive", NULL, no_argument,
     ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_TIMELINE, "--recovery-target-timeline", NULL, required_argument,
     ONE_OF(BC_CLI_RESTORE)},
    {BC_OPT_T_ACTION, "--recovery-target-action", NULL, required_argument,
     .choices = "pause|promote|shutdown", ONE_OF(BC_CLI_RESTORE)},
    /* bc-ls, bc-verify */
    {BC_OPT_FORMAT, "--format", NULL, required_argument, .choices = "console|json",
     ONE_OF(BC_CLI_LS)},
    {BC_OPT_FORMAT, "--format", NULL, required_argument, ONE_OF(BC_CLI_VERIFY | BC_CLI_DOCTOR)},
    /* bc-doctor */
    {BC_OPT_WRITE_TEST, "--write-test", NULL, no_argument, ONE_OF(BC_CLI_DOCTOR)},
    {BC_OPT_ARCHIVE_TEST, "--archive-test", NULL, no_argument, ONE_OF(BC_CLI_DOCTOR)},
    {'n', "--namespace", "-n", required_argument, ONE_OF(BC_CLI_DOCTOR)},
    {'o', "--output", "-o", required_argument, ONE_OF(BC_CLI_DOCTOR)},
    {BC_OPT_LOG_LINES, "--log-lines", NULL, required_argument, ONE_OF(BC_CLI_DOCTOR)},
    {BC_OPT_WAL_SEGMENT_SIZE, "--wal-segment-size", NULL, required_argument, ONE_OF(BC_CLI_LS)},
    {BC_OPT_TIMELINE, "--timeline", NULL, required_argument, NUMBER(1, 0xFFFFFFFFL),
     .range = "a positive number", ONE_OF(BC_CLI_LS)},
    {BC_OPT_WAL_TO_LATEST, "--wal-to-latest", NULL, no_argument, ONE_OF(BC_CLI_VERIFY)},
    /* bc-retention */
    {'r', "--retention-policy", "-r", required_argument, ONE_OF(BC_CLI_RETENTION)},
    {'b', "--backup-id", "-b", required_argument, ONE_OF(BC_CLI_RETENTION)},
    {BC_OPT_DRY_RUN, "--dry-run", NULL, no_argument, ONE_OF(BC_CLI_RETENTION)},
    {BC_OPT_BATCH_SIZE, "--batch-size", NULL, required_argument, NUMBER(1, 1000),
     ONE_OF(BC_CLI_RETENTION)},
    {BC_OPT_KEEP, "--keep", NULL, required_argument, .choices = "full|standalone",
     ONE_OF(BC_CLI_RETENTION)},
    {BC_OPT_RELEASE, "--release", NULL, no_argument, ONE_OF(BC_CLI_RETENTION)},
    {BC_OPT_STATUS, "--status", NULL, no_argument, ONE_OF(BC_CLI_RETENTION)},
    {BC_OPT_REPORT, "--report", NULL, no_argument, ONE_OF(BC_CLI_RETENTION)},
    /* bc-plugin */
    {BC_OPT_PLUGIN_PATH, "--plugin-path", NULL, required_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_LOG_LEVEL, "--log-level", NULL, required_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_SERVER_CERT, "--server-cert", NULL, required_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_SERVER_KEY, "--server-key", NULL, required_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_CLIENT_CERT, "--client-cert", NULL, required_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_SERVER_ADDRESS, "--server-address", NULL, required_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_LEADER_ELECT, "--leader-elect", NULL, optional_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_HEALTH, "--health-probe-bind-address", NULL, required_argument,
     ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_METRICS, "--metrics-bind-address", NULL, required_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_METRICS_SECURE, "--metrics-secure", NULL, optional_argument, ONE_OF(BC_CLI_PLUGIN)},
    {BC_OPT_HTTP2, "--enable-http2", NULL, optional_argument, ONE_OF(BC_CLI_PLUGIN)},
    {.flag = NULL},
};

const bc_cli_option *bc_cli_option_by_id(int id, unsigned tools)
{
    for (const bc_cli_option *o = bc_cli_options; o->flag; o++)
        if (o->id == id && (o->tools & tools))
            return o;
    return NULL;
}

const bc_cli_option *bc_cli_option_by_flag(const char *flag, unsigned tools)
{
    for (const bc_cli_option *o = bc_cli_options; o->flag; o++)
        if ((o->tools & tools) && strcmp(o->flag, flag) == 0)
            return o;
    return NULL;
}

const char *bc_cli_flag(int id)
{
    const bc_cli_option *o = bc_cli_option_by_id(id, BC_CLI_ALL_TOOLS);
    return o ? o->flag : "";
}

bc_status bc_cli_option_words(bc_strv *argv, int id, int short_form, const char *value)
{
    const bc_cli_option *o = bc_cli_option_by_id(id, BC_CLI_ALL_TOOLS);
    if (!o)
        return bc_error(BC_ERR_INTERNAL, "no option %d in the option table", id);
    bc_status st = bc_strv_add(argv, short_form && o->short_flag ? o->short_flag : o->flag);
    if (st == BC_OK && o->arg != no_argument && value)
        st = bc_strv_add(argv, value);
    return st;
}
