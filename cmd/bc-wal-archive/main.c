/* bc-wal-archive: archive_command that ships one WAL file to the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/wal.h"
#include "cli/cli.h"
#include "util/log.h"
#include "wal/wal.h"

static const char help[] =
    "usage: bc-wal-archive [options] DESTINATION_URL SERVER_NAME WAL_PATH\n"
    "\n"
    "Archive one WAL file (the %p of archive_command) into an object store,\n"
    "in barman-cloud's layout, with its CRC-32C and size as object metadata.\n"
    "Exits 0 only once the store holds the whole file.\n"
    "\n"
    "Compression (one of):\n"
    "  -z, --gzip  -j, --bzip2  --snappy  --lz4  --xz  --zstd\n"
    "      --compression-level N     codec level (default: the codec's usual one)\n"
    "Store:\n"
    "      --cloud-provider NAME     aws-s3, azure-blob-storage or google-cloud-storage\n"
    "                                (s3://, https://ACCOUNT.blob..., gs://; or file://)\n"
    "      --credential default|managed-identity   Azure: token source\n"
    "      --endpoint-url URL        S3-compatible endpoint (e.g. http://127.0.0.1:9000)\n"
    "  -P, --profile NAME            AWS credentials profile\n"
    "      --read-timeout SECONDS    give up on a silent connection (default 60)\n"
    "      --ca-bundle FILE          trust these CAs (default: AWS_CA_BUNDLE, system)\n"
    "      --addressing-style auto|path|virtual\n"
    "  -e, --encryption AES256|aws:kms   server-side encryption\n"
    "      --sse-kms-key-id ID       KMS key for aws:kms\n"
    "      --encryption-scope SCOPE  Azure encryption scope of the blobs\n"
    "      --kms-key-name NAME       Cloud KMS key of the objects (GCS)\n"
    "      --tags KEY,VALUE ...      tags for WAL objects\n"
    "      --history-tags KEY,VALUE ...  tags for .history objects\n"
    "      --max-single-put-size SIZE, --max-block-size SIZE, --max-concurrency N\n"
    "                                multipart threshold, part size, parallel parts\n"
    "      --max-retries N           retries on network errors, 5xx, 429 (default 5)\n"
    "Parallel archiving:\n"
    "      --max-parallel N          also upload up to N-1 other .ready files\n"
    "      --spool-dir DIR           where to record them (required with --max-parallel)\n"
    "Other:\n"
    "  -t, --test                    check the store is reachable and exit\n"
    "  -v, --verbose / -q, --quiet   more / less output\n"
    "      --log-format text|json    message format on stderr\n"
    "  -V, --version                 print the version\n"
    "      --help                    print this help\n"
    "\n"
    "Exit status: 0 archived (or already archived with identical content);\n"
    "1 a different file already exists under this name (a stored start of\n"
    "this file, left by an interrupted upload, is replaced); 2 store unreachable,\n"
    "authentication failed or bucket missing; 3 bad command line or WAL name;\n"
    "4 other errors (e.g. cannot read the WAL file). See bc-wal-archive(1).\n";

enum {
    OPT_TAGS = 2000, OPT_HISTORY_TAGS, OPT_MAX_PARALLEL,
    OPT_SPOOL_DIR,
};

static const struct option tool_options[] = {
    BC_CLI_CODEC_OPTIONS,
    {"tags", required_argument, NULL, OPT_TAGS},
    {"history-tags", required_argument, NULL, OPT_HISTORY_TAGS},
    BC_CLI_ENCRYPTION_OPTIONS,
    {"max-parallel", required_argument, NULL, OPT_MAX_PARALLEL},
    {"spool-dir", required_argument, NULL, OPT_SPOOL_DIR},
    {0, 0, 0, 0},
};

int main(int argc, char **argv)
{
    bc_cli_init_output();
    bc_cli_common c = {.program = "bc-wal-archive"};
    bc_wal_archive_opts o = {0};
    int codec = BC_CODEC_NONE;
    bc_cli_tags tags = {0}, history_tags = {0};
    struct option longopts[64];
    long v;
    int opt;

    bc_cli_merge(tool_options, longopts, 64);
    while ((opt = getopt_long(argc, argv, BC_CLI_COMMON_SHORT "zje:", longopts, NULL)) != -1) {
        if (bc_cli_common_option(&c, opt, optarg, help) ||
            bc_cli_codec_option(c.program, opt, optarg, &codec, &o.level) ||
            bc_cli_encryption_option(&c, opt, optarg))
            continue;
        switch (opt) {
        case OPT_TAGS: bc_cli_add_tags(&tags, c.program, optarg, argc, argv); break;
        case OPT_HISTORY_TAGS:
            bc_cli_add_tags(&history_tags, c.program, optarg, argc, argv);
            break;
        case OPT_MAX_PARALLEL:
            if (bc_cli_parse_int(optarg, 1, 64, &v))
                bc_cli_usage_error(c.program, "invalid --max-parallel '%s': give 1-64", optarg);
            o.max_parallel = (int)v;
            break;
        case OPT_SPOOL_DIR: o.spool_dir = optarg; break;
        default: bc_cli_usage_error(c.program, "unknown or incomplete option");
        }
    }
    bc_cli_start_logging(&c);
    o.codec = (bc_codec_id)codec;

    int npos = argc - optind;
    if (npos < 2 + !c.test || npos > 3)
        bc_cli_usage_error(c.program, "expected DESTINATION_URL SERVER_NAME WAL_PATH");
    if (o.max_parallel > 1 && !o.spool_dir)
        bc_cli_usage_error(c.program, "--max-parallel needs --spool-dir");
    c.store.url = argv[optind];
    o.server = argv[optind + 1];
    const char *wal_path = npos == 3 ? argv[optind + 2] : NULL;
    o.tags = tags.tags;
    o.ntags = tags.n;
    if (history_tags.given) {
        o.history_tags = history_tags.tags;
        o.nhistory_tags = history_tags.n;
    }
    o.store_config = &c.store;

    bc_store *store = NULL;
    bc_status st = BC_OK;
    if (wal_path && bc_wal_classify(bc_wal_basename(wal_path)) == BC_WAL_INVALID)
        st = bc_error(BC_ERR_USAGE, "%s is an invalid name for a WAL file", wal_path);
    if (st == BC_OK)
        st = bc_cli_open_store(&c, o.server, &store);
    if (st == BC_OK && !c.test)
        st = bc_wal_archive(store, wal_path, &o);
    st = bc_cli_finish_output(st);
    if (st != BC_OK)
        bc_log_error("%s", bc_error_msg());
    bc_store_close(store);
    bc_cli_free_tags(&tags);
    bc_cli_free_tags(&history_tags);
    bc_log_shutdown();
    return bc_status_exit_code(st);
}
