/* bc-retention: applies a retention policy, deletes one backup, manages
 * keep annotations and reports the recovery window
 * (barman-cloud-backup-delete and barman-cloud-backup-keep). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention/retention.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-retention [options] SOURCE_URL SERVER_NAME\n"
    "\n"
    "Delete the backups a retention policy no longer needs, with the WAL only\n"
    "they needed; or delete one backup; or keep one beyond any policy.\n"
    "\n"
    "What to do (one of):\n"
    "  -r, --retention-policy POLICY  \"REDUNDANCY N\", \"RECOVERY WINDOW OF N\n"
    "                              DAYS|WEEKS|MONTHS\", or 30d / 4w / 6m\n"
    "  -b, --backup-id ID          delete this backup (id, name, latest, oldest)\n"
    "      --keep full|standalone -b ID   keep a DONE backup whatever the policy\n"
    "      --release -b ID         remove its keep annotation\n"
    "      --status -b ID          print \"Keep: full|standalone|nokeep\"\n"
    "      --report                print the recovery window as JSON (also after\n"
    "                              -r or -b)\n"
    "Deleting:\n"
    "      --dry-run               print what would be deleted, delete nothing\n"
    "      --batch-size N          keys per delete request, 1-1000 (default 1000)\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 success; 1 unknown or kept backup, or a backup.info that\n"
    "cannot be read; 2 store unreachable, authentication failed or bucket\n"
    "missing; 3 bad command line; 4 other errors. See bc-retention(1).\n";

enum { KEEP_NONE, KEEP_SET, KEEP_RELEASE, KEEP_STATUS };

static int set_keep_action(const char *program, int *action, int value)
{
    if (*action != KEEP_NONE && *action != value)
        return bc_cli_usage_error(program, "give only one of --keep, --release and --status");
    *action = value;
    return BC_CLI_GO;
}

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_retention_opts o = {.out = stdout};
    bc_retention_policy policy;
    const char *policy_text = NULL, *backup = NULL;
    bc_keep_target target = BC_KEEP_NONE;
    int keep_action = KEEP_NONE, report = 0, code = BC_CLI_GO, opt = 0;
    bc_cli_parser p;

    bc_cli_begin(&p, &c, "bc-retention", BC_CLI_RETENTION, help, help_tail);
    while (code == BC_CLI_GO && (opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case 'r':
            if (bc_retention_policy_parse(optarg, &policy) != BC_OK)
                code = bc_cli_usage_error(c.program, "%s", bc_error_msg());
            policy_text = optarg;
            break;
        case 'b': backup = optarg; break;
        case BC_OPT_DRY_RUN: o.dry_run = 1; break;
        case BC_OPT_BATCH_SIZE: o.batch_size = (size_t)p.value; break;
        case BC_OPT_KEEP:
            target = strcmp(optarg, "full") ? BC_KEEP_STANDALONE : BC_KEEP_FULL;
            code = set_keep_action(c.program, &keep_action, KEEP_SET);
            break;
        case BC_OPT_RELEASE: code = set_keep_action(c.program, &keep_action, KEEP_RELEASE); break;
        case BC_OPT_STATUS: code = set_keep_action(c.program, &keep_action, KEEP_STATUS); break;
        case BC_OPT_REPORT: report = 1; break;
        }
    }
    if (code != BC_CLI_GO)
        return code;
    if (opt == BC_CLI_STOP)
        return p.code;
    if (argc - optind != 2)
        return bc_cli_usage_error(c.program, "expected SOURCE_URL SERVER_NAME");
    if (policy_text && backup && keep_action == KEEP_NONE)
        return bc_cli_usage_error(c.program, "give either -r POLICY or -b BACKUP_ID, not both");
    if (keep_action != KEEP_NONE && (!backup || policy_text || o.dry_run || report))
        return bc_cli_usage_error(c.program, "--keep, --release and --status take -b BACKUP_ID "
                                  "and no -r, --dry-run or --report");
    if (!policy_text && !backup && !report && !c.test)
        return bc_cli_usage_error(c.program, "nothing to do: give -r POLICY, -b BACKUP_ID, "
                                  "--keep/--release/--status with -b, or --report");
    bc_cli_start_logging(&c);
    c.store.url = argv[optind];
    o.server = argv[optind + 1];
    o.now = time(NULL);

    bc_store *store = NULL;
    bc_retention *r = NULL;
    bc_status st = bc_cli_open_store(&c, o.server, &store);
    if (st == BC_OK && !c.test)
        st = bc_retention_load(store, &o, &r);
    if (st == BC_OK && !c.test) {
        if (keep_action == KEEP_SET) {
            st = bc_retention_keep(r, backup, target);
        } else if (keep_action == KEEP_RELEASE) {
            st = bc_retention_release(r, backup);
        } else if (keep_action == KEEP_STATUS) {
            st = bc_retention_keep_status(r, backup, &target);
            if (st == BC_OK)
                printf("Keep: %s\n", bc_keep_target_name(target));
        } else {
            st = bc_retention_resume(r);
            if (st == BC_OK && policy_text)
                st = bc_retention_apply(r, &policy);
            else if (st == BC_OK && backup)
                st = bc_retention_delete(r, backup);
            if (st == BC_OK && report)
                st = bc_retention_report(r, policy_text ? &policy : NULL, stdout);
            if (st == BC_OK && policy_text && bc_retention_unreadable(r))
                st = bc_error(BC_ERR_CONFLICT, "%zu backups could not be read and were left alone: "
                              "inspect them with bc-ls, then delete them with -b",
                              bc_retention_unreadable(r));
        }
    }
    int exit_code = bc_cli_end(&c, st, store);
    bc_retention_free(r);
    return exit_code;
}
