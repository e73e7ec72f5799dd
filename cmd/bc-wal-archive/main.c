/* bc-wal-archive: archive_command that ships one WAL file to the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/wal.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/log.h"
#include "wal/wal.h"

static const char help[] =
    "usage: bc-wal-archive [options] DESTINATION_URL SERVER_NAME WAL_PATH\n"
    "\n"
    "Archive one WAL file (the %p of archive_command) into an object store,\n"
    "in barman-cloud's layout, with its CRC-32C and size as object metadata.\n"
    "Exits 0 only once the store holds the whole file.\n"
    "\n"
    "Tags:\n"
    "      --tags KEY,VALUE ...      tags for WAL objects\n"
    "      --history-tags KEY,VALUE ...  tags for .history objects\n"
    "Parallel archiving:\n"
    "      --max-parallel N          also upload up to N-1 other .ready files\n"
    "      --spool-dir DIR           where to record them (required with --max-parallel)\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 archived (or already archived with identical content);\n"
    "1 a different file already exists under this name (a stored start of\n"
    "this file, left by an interrupted upload, is replaced); 2 store unreachable,\n"
    "authentication failed or bucket missing; 3 bad command line or WAL name;\n"
    "4 other errors (e.g. cannot read the WAL file). See bc-wal-archive(1).\n";

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_wal_archive_opts o = {0};
    bc_cli_tags tags = {0}, history_tags = {0};
    bc_cli_parser p;
    int code = BC_CLI_GO, opt = 0;

    bc_cli_begin(&p, &c, "bc-wal-archive", BC_CLI_WAL_ARCHIVE, help, help_tail);
    while (code == BC_CLI_GO && (opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_TAGS: code = bc_cli_add_tags(&tags, c.program, optarg, argc, argv); break;
        case BC_OPT_HISTORY_TAGS:
            code = bc_cli_add_tags(&history_tags, c.program, optarg, argc, argv);
            break;
        case BC_OPT_MAX_PARALLEL: o.max_parallel = (int)p.value; break;
        case BC_OPT_SPOOL_DIR: o.spool_dir = optarg; break;
        }
    }
    if (code == BC_CLI_GO && opt == BC_CLI_STOP)
        code = p.code;
    int npos = argc - optind;
    if (code == BC_CLI_GO && (npos < 2 + !c.test || npos > 3))
        code = bc_cli_usage_error(c.program, "expected DESTINATION_URL SERVER_NAME WAL_PATH");
    if (code == BC_CLI_GO && o.max_parallel > 1 && !o.spool_dir)
        code = bc_cli_usage_error(c.program, "--max-parallel needs --spool-dir");
    if (code != BC_CLI_GO) {
        bc_cli_free_tags(&tags);
        bc_cli_free_tags(&history_tags);
        return code;
    }
    bc_cli_start_logging(&c);
    o.codec = (bc_codec_id)bc_cli_codec(&c);
    o.level = (int)c.level;
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
    int exit_code = bc_cli_end(&c, st, store);
    bc_cli_free_tags(&tags);
    bc_cli_free_tags(&history_tags);
    return exit_code;
}
