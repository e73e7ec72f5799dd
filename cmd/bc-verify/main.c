/* bc-verify: reads backups and their WAL back from the store and checks
 * every byte, without writing anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/verify.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-verify [options] SOURCE_URL SERVER_NAME [BACKUP|latest|oldest|all]\n"
    "\n"
    "Verify a backup (by default the latest; \"all\" for every DONE backup) by\n"
    "reading it back from the store: every archive part is present, downloads,\n"
    "decodes and is a whole tar; every file matches backup_manifest (bc-backup's\n"
    "backups); every WAL segment from the backup's begin to its end WAL is\n"
    "present, decodes, matches its checksum (bc-wal-archive's objects) and\n"
    "starts with a page header of that segment and cluster. Nothing is written\n"
    "to the store or to disk. Each problem is reported with its object.\n"
    "\n"
    "Verify:\n"
    "      --wal-to-latest           check WAL up to the newest segment of the\n"
    "                                latest timeline descending from the backup\n"
    "  -J, --jobs N                  downloads at once (default 4)\n"
    "      --format text|json        report format on stdout (default text)\n"
    "      --progress, --no-progress show progress (default: on a terminal)\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 everything verified; 1 no such backup, or not DONE; 2 store\n"
    "unreachable, authentication failed or bucket missing; 3 bad command line;\n"
    "4 a problem was found (missing, damaged or mismatched object), or another\n"
    "error. See bc-verify(1).\n";

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_verify_opts o = {.jobs = 4, .progress = -1};
    bc_cli_parser p;
    int json = 0, opt;

    bc_cli_begin(&p, &c, "bc-verify", BC_CLI_VERIFY, help, help_tail);
    while ((opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_WAL_TO_LATEST: o.wal_to_latest = 1; break;
        case 'J': o.jobs = (int)p.value; break;
        case BC_OPT_FORMAT:
            if (!strcmp(optarg, "json"))
                json = 1;
            else if (strcmp(optarg, "text") && strcmp(optarg, "console"))
                return bc_cli_usage_error(c.program, "invalid --format '%s': use text or json",
                                          optarg);
            break;
        case BC_OPT_PROGRESS: o.progress = 1; break;
        case BC_OPT_NO_PROGRESS: o.progress = 0; break;
        }
    }
    if (opt == BC_CLI_STOP)
        return p.code;
    int npos = argc - optind;
    if (npos < 2 || npos > 3)
        return bc_cli_usage_error(c.program, "expected SOURCE_URL SERVER_NAME "
                                  "[BACKUP|latest|all]");
    bc_cli_start_logging(&c);
    c.store.url = argv[optind];
    o.server = argv[optind + 1];
    o.backup = npos == 3 ? argv[optind + 2] : "latest";
    o.store_config = &c.store;

    bc_store *store = NULL;
    bc_verify_report report = {0};
    bc_status st = bc_cli_open_store(&c, o.server, &store);
    if (st == BC_OK && !c.test) {
        st = bc_verify(store, &o, &report);
        /* The report is printed whenever there is one, problems or not;
         * the first problem is also the error line on stderr. */
        if (report.n) {
            char first[2048];
            snprintf(first, sizeof first, "%s", st != BC_OK ? bc_error_msg() : "");
            bc_status pst = bc_verify_print(&report, json, stdout);
            if (pst != BC_OK)
                st = pst;
            else if (st != BC_OK)
                bc_error(st, "%s", first);
        }
    }
    int exit_code = bc_cli_end(&c, st, store);
    bc_verify_report_free(&report);
    return exit_code;
}
