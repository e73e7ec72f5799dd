/* bc-doctor: the troubleshooting guide as a command. Runs a subject's
 * checks in dependency order and says what is wrong and what to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "doctor/doctor.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-doctor store [options] DESTINATION_URL SERVER_NAME\n"
    "\n"
    "Run the troubleshooting steps for SUBJECT in order, each as a check that\n"
    "passes, warns or fails; a failed check says what it means and what to do,\n"
    "and the checks that depend on it are skipped, naming it.\n"
    "\n"
    "store: the URL and provider, the credentials found, name resolution, TCP,\n"
    "TLS and its certificate, the store's clock, authentication, the bucket,\n"
    "listing the prefix, optionally a write test; then the archive of\n"
    "SERVER_NAME: timelines, the newest WAL and its age, gaps, the last DONE\n"
    "and the last FAILED backup, the recovery window.\n"
    "\n"
    "Doctor:\n"
    "      --format text|json        report format on stdout (default text)\n"
    "      --write-test              store: put, read back, compare and delete a\n"
    "                                probe object under SERVER_NAME\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 no check failed (warnings allowed); 1 a check failed; 3 bad\n"
    "command line; 4 the report could not be made. See bc-doctor(1).\n";

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_cli_parser p;
    int json = 0, opt;
    bc_doctor_store_opts so = {.max_wal_age = 3600, .max_backup_age = 8 * 86400};

    /* The subject comes first; options and operands follow it. */
    const char *subject = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    if (subject) {
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    bc_cli_begin(&p, &c, "bc-doctor", BC_CLI_DOCTOR, help, help_tail);
    while ((opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_FORMAT:
            if (!strcmp(optarg, "json"))
                json = 1;
            else if (strcmp(optarg, "text"))
                return bc_cli_usage_error(c.program, "invalid --format '%s': use text or json",
                                          optarg);
            break;
        case BC_OPT_WRITE_TEST: so.write_test = 1; break;
        }
    }
    if (opt == BC_CLI_STOP)
        return p.code;
    if (!subject)
        return bc_cli_usage_error(c.program, "expected a subject: store");
    if (strcmp(subject, "store") != 0)
        return bc_cli_usage_error(c.program, "unknown subject '%s': use store", subject);
    if (argc - optind != 2)
        return bc_cli_usage_error(c.program, "expected DESTINATION_URL SERVER_NAME");
    bc_cli_start_logging(&c);
    c.store.url = argv[optind];
    so.server = argv[optind + 1];

    bc_doctor_report r = {0};
    bc_status st = bc_doctor_store(&c.store, &so, &r);
    if (st == BC_OK)
        st = bc_doctor_print(&r, json, stdout);
    int failed = bc_doctor_count(&r, BC_CHECK_FAIL) > 0;
    bc_doctor_report_free(&r);
    if (st != BC_OK)
        return bc_cli_end(&c, st, NULL);
    bc_cli_end(&c, BC_OK, NULL);
    return failed ? BC_EXIT_OPERATION : BC_EXIT_OK;
}
