/* bc-backup: takes an online base backup straight into the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-backup [options] DESTINATION_URL SERVER_NAME\n"
    "\n"
    "Take an online base backup of a running PostgreSQL (primary or standby)\n"
    "and stream it as tar archives straight into the store, in barman-cloud's\n"
    "layout, with PostgreSQL's backup_manifest and the list of archives beside\n"
    "them. Prints the backup id on standard output once backup.info says DONE.\n"
    "\n"
    "PostgreSQL (libpq environment variables apply too):\n"
    "  -h, --host HOST   -p, --port PORT   -U, --user USER   -d, --dbname DB\n"
    "      --immediate-checkpoint    do not wait for a spread checkpoint\n"
    "Archives:\n"
    "  -z, --gzip  -j, --bzip2  --snappy  --lz4  --xz  --zstd\n"
    "      --compression-level N\n"
    "  -J, --jobs N                  parts uploaded at once (default 2)\n"
    "  -S, --max-archive-size SIZE   split archives beyond SIZE (default 100GiB)\n"
    "      --min-chunk-size SIZE     upload part size (default 16MiB)\n"
    "  -n, --name NAME               a name to restore the backup by\n"
    "      --tags KEY,VALUE ...      tags for the archive objects (not backup.info)\n"
    "  -e, --encryption AES256|aws:kms, --sse-kms-key-id ID (S3),\n"
    "      --encryption-scope SCOPE (Azure), --kms-key-name NAME (GCS)\n"
    "      --progress, --no-progress show progress (default: on a terminal)\n"
    "Store:\n"
    "      --endpoint-url URL, -P/--profile NAME, --read-timeout SECONDS,\n"
    "      --ca-bundle FILE, --addressing-style auto|path|virtual,\n"
    "      --max-retries N, --max-single-put-size SIZE, --max-block-size SIZE,\n"
    "      --max-concurrency N, --credential default|managed-identity (Azure),\n"
    "      --cloud-provider aws-s3|azure-blob-storage|google-cloud-storage\n"
    BC_CLI_OTHER_HELP
    "\n"
    "Exit status: 0 backup stored (DONE); 1 the operation failed; 2 store or\n"
    "PostgreSQL unreachable, authentication failed or bucket missing; 3 bad\n"
    "command line, or a server not set up for backups; 4 other errors.\n"
    "See bc-backup(1).\n";

enum {
    OPT_IMMEDIATE = 2000, OPT_MIN_CHUNK, OPT_TAGS,
    OPT_PROGRESS, OPT_NO_PROGRESS,
};

static const struct option tool_options[] = {
    BC_CLI_CODEC_OPTIONS,
    {"host", required_argument, NULL, 'h'},
    {"port", required_argument, NULL, 'p'},
    {"user", required_argument, NULL, 'U'},
    {"dbname", required_argument, NULL, 'd'},
    {"immediate-checkpoint", no_argument, NULL, OPT_IMMEDIATE},
    {"jobs", required_argument, NULL, 'J'},
    {"max-archive-size", required_argument, NULL, 'S'},
    {"min-chunk-size", required_argument, NULL, OPT_MIN_CHUNK},
    {"name", required_argument, NULL, 'n'},
    {"tags", required_argument, NULL, OPT_TAGS},
    BC_CLI_ENCRYPTION_OPTIONS,
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {0, 0, 0, 0},
};

int main(int argc, char **argv)
{
    bc_cli_init_output();
    bc_cli_common c = {.program = "bc-backup"};
    bc_backup_opts o = {.progress = -1, .max_archive_size = (int64_t)100 << 30};
    bc_cli_tags tags = {0};
    struct option longopts[64];
    int codec = BC_CODEC_NONE, jobs = 2, opt;
    int64_t size;
    long v;

    bc_cli_merge(tool_options, longopts, 64);
    while ((opt = getopt_long(argc, argv, BC_CLI_COMMON_SHORT "zjh:p:U:d:J:S:n:e:", longopts,
                              NULL)) != -1) {
        if (bc_cli_common_option(&c, opt, optarg, help) ||
            bc_cli_codec_option(c.program, opt, optarg, &codec, &o.level) ||
            bc_cli_encryption_option(&c, opt, optarg))
            continue;
        switch (opt) {
        case 'h': o.conn.host = optarg; break;
        case 'p': o.conn.port = optarg; break;
        case 'U': o.conn.user = optarg; break;
        case 'd': o.conn.dbname = optarg; break;
        case OPT_IMMEDIATE: o.immediate_checkpoint = 1; break;
        case 'J':
            if (bc_cli_parse_int(optarg, 1, 64, &v))
                bc_cli_usage_error(c.program, "invalid --jobs '%s': give 1-64", optarg);
            jobs = (int)v;
            break;
        case 'S':
            if (bc_cli_parse_size(optarg, &size) || size < (1 << 20))
                bc_cli_usage_error(c.program, "invalid --max-archive-size '%s': give a size of "
                                   "at least 1MiB, e.g. 10GiB", optarg);
            o.max_archive_size = size;
            break;
        case OPT_MIN_CHUNK:
            if (bc_cli_parse_size(optarg, &size) || size < 5 * 1024 * 1024)
                bc_cli_usage_error(c.program, "invalid --min-chunk-size '%s': give at least "
                                   "5MiB", optarg);
            c.store.part_size = size;
            break;
        case 'n':
            bc_cli_check_one_line(c.program, "--name", optarg); /* a backup.info line */
            if (!*optarg || strchr(optarg, '/'))
                bc_cli_usage_error(c.program, "invalid --name '%s'", optarg);
            o.name = optarg;
            break;
        case OPT_TAGS: bc_cli_add_tags(&tags, c.program, optarg, argc, argv); break;
        case OPT_PROGRESS: o.progress = 1; break;
        case OPT_NO_PROGRESS: o.progress = 0; break;
        default: bc_cli_usage_error(c.program, "unknown or incomplete option");
        }
    }
    bc_cli_start_logging(&c);
    if (argc - optind != 2)
        bc_cli_usage_error(c.program, "expected DESTINATION_URL SERVER_NAME");
    c.store.url = argv[optind];
    o.server = argv[optind + 1];
    o.codec = (bc_codec_id)codec;
    o.tags = tags.tags;
    o.ntags = tags.n;
    if (!c.store.concurrency)
        c.store.concurrency = jobs;

    bc_store *store = NULL;
    bc_status st = bc_cli_open_store(&c, o.server, &store);
    if (st == BC_OK && !c.test)
        st = bc_backup(store, &o);
    if (st == BC_OK && !c.test) {
        bc_log_info("backup %s of server %s is stored in %s", o.backup_id, o.server,
                    bc_store_describe(store));
        printf("%s\n", o.backup_id);
    }
    st = bc_cli_finish_output(st);
    if (st != BC_OK)
        bc_log_error("%s", bc_error_msg());
    bc_store_close(store);
    bc_cli_free_tags(&tags);
    bc_log_shutdown();
    return bc_status_exit_code(st);
}
