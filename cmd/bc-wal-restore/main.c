/* bc-wal-restore: restore_command that fetches one WAL file from the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/wal.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/log.h"
#include "wal/wal.h"

static const char help[] =
    "usage: bc-wal-restore [options] SOURCE_URL SERVER_NAME WAL_NAME WAL_DEST\n"
    "\n"
    "Fetch one WAL file (the %f of restore_command) from an object store and\n"
    "write it to WAL_DEST (the %p), whatever compression it was stored with,\n"
    "once its size and checksum (stored by bc-wal-archive) are verified.\n"
    "\n"
    "Restore:\n"
    "      --no-partial              never restore a .partial segment\n"
    "      --prefetch N              also download the next N-1 segments ...\n"
    "      --spool-dir DIR           ... into this directory (required with --prefetch)\n"
    "      --end-of-wal-flag         with --prefetch, for standbys: after a prefetch\n"
    "                                reaches the end of the archive, answer the next\n"
    "                                request the spool cannot serve with \"not found\"\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 restored; 1 the WAL file is not in the archive; 2 store\n"
    "unreachable, authentication failed or bucket missing; 3 bad command line\n"
    "or WAL name; 4 other errors (e.g. the stored file fails its size or\n"
    "checksum check: nothing is written). See bc-wal-restore(1).\n";

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_wal_restore_opts o = {0};
    bc_cli_parser p;
    int opt;

    bc_cli_begin(&p, &c, "bc-wal-restore", BC_CLI_WAL_RESTORE, help, help_tail);
    while ((opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_NO_PARTIAL: o.no_partial = 1; break;
        case BC_OPT_PREFETCH: o.prefetch = (int)p.value; break;
        case BC_OPT_SPOOL_DIR: o.spool_dir = optarg; break;
        case BC_OPT_END_OF_WAL_FLAG: o.end_of_wal_flag = 1; break;
        }
    }
    if (opt == BC_CLI_STOP)
        return p.code;
    int npos = argc - optind;
    if (!(npos == 4 || (c.test && npos >= 2 && npos <= 4)))
        return bc_cli_usage_error(c.program, "expected SOURCE_URL SERVER_NAME WAL_NAME WAL_DEST");
    if (o.prefetch > 1 && !o.spool_dir)
        return bc_cli_usage_error(c.program, "--prefetch needs --spool-dir");
    bc_cli_start_logging(&c);
    c.store.url = argv[optind];
    o.server = argv[optind + 1];
    o.store_config = &c.store;
    const char *wal_name = npos == 4 ? argv[optind + 2] : NULL;
    const char *dest = npos == 4 ? argv[optind + 3] : NULL;

    bc_store *store = NULL;
    bc_status st = BC_OK;
    if (wal_name && bc_wal_classify(wal_name) == BC_WAL_INVALID)
        st = bc_error(BC_ERR_USAGE, "%s is an invalid name for a WAL file", wal_name);
    if (st == BC_OK)
        st = bc_cli_open_store(&c, o.server, &store);
    if (st == BC_OK && !c.test)
        st = bc_wal_restore(store, wal_name, dest, &o);
    /* "Not found" is routine at the end of recovery: say it at info level. */
    c.routine = BC_ERR_NOTFOUND;
    return bc_cli_end(&c, st, store);
}
