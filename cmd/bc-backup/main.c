/* bc-backup: takes an online base backup straight into the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "cli/options.h"
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
    "  -J, --jobs N                  parts uploaded at once (default 2)\n"
    "  -S, --max-archive-size SIZE   split archives beyond SIZE (default 100GiB)\n"
    "      --min-chunk-size SIZE     upload part size (default 16MiB)\n"
    "  -n, --name NAME               a name to restore the backup by\n"
    "      --tags KEY,VALUE ...      tags for the archive objects (not backup.info)\n"
    "      --progress, --no-progress show progress (default: on a terminal)\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 backup stored (DONE); 1 the operation failed; 2 store or\n"
    "PostgreSQL unreachable, authentication failed or bucket missing; 3 bad\n"
    "command line, or a server not set up for backups; 4 other errors.\n"
    "See bc-backup(1).\n";

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_backup_opts o = {.progress = -1, .max_archive_size = (int64_t)100 << 30};
    bc_cli_tags tags = {0};
    bc_cli_parser p;
    int jobs = 2, code = BC_CLI_GO, opt = 0;
    int64_t size;

    bc_cli_begin(&p, &c, "bc-backup", BC_CLI_BACKUP, help, help_tail);
    while (code == BC_CLI_GO && (opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case 'h': o.conn.host = optarg; break;
        case 'p': o.conn.port = optarg; break;
        case 'U': o.conn.user = optarg; break;
        case 'd': o.conn.dbname = optarg; break;
        case BC_OPT_IMMEDIATE: o.immediate_checkpoint = 1; break;
        case 'J': jobs = (int)p.value; break;
        case 'S':
            if (bc_cli_parse_size(optarg, &size) || size < (1 << 20))
                code = bc_cli_usage_error(c.program, "invalid --max-archive-size '%s': give a "
                                          "size of at least 1MiB, e.g. 10GiB", optarg);
            else
                o.max_archive_size = size;
            break;
        case BC_OPT_MIN_CHUNK:
            if (bc_cli_parse_size(optarg, &size) || size < 5 * 1024 * 1024)
                code = bc_cli_usage_error(c.program, "invalid --min-chunk-size '%s': give at "
                                          "least 5MiB", optarg);
            else
                c.store.part_size = size;
            break;
        case 'n':
            code = bc_cli_check_one_line(c.program, "--name", optarg); /* a backup.info line */
            if (code == BC_CLI_GO && (!*optarg || strchr(optarg, '/')))
                code = bc_cli_usage_error(c.program, "invalid --name '%s'", optarg);
            o.name = optarg;
            break;
        case BC_OPT_TAGS: code = bc_cli_add_tags(&tags, c.program, optarg, argc, argv); break;
        case BC_OPT_PROGRESS: o.progress = 1; break;
        case BC_OPT_NO_PROGRESS: o.progress = 0; break;
        }
    }
    if (code == BC_CLI_GO && opt == BC_CLI_STOP)
        code = p.code;
    if (code == BC_CLI_GO && argc - optind != 2)
        code = bc_cli_usage_error(c.program, "expected DESTINATION_URL SERVER_NAME");
    if (code != BC_CLI_GO) {
        bc_cli_free_tags(&tags);
        return code;
    }
    bc_cli_start_logging(&c);
    c.store.url = argv[optind];
    o.server = argv[optind + 1];
    o.codec = (bc_codec_id)bc_cli_codec(&c);
    o.level = (int)c.level;
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
    int exit_code = bc_cli_end(&c, st, store);
    bc_cli_free_tags(&tags);
    return exit_code;
}
