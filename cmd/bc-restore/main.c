/* bc-restore: restores a base backup from the store into a directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/restore.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-restore [options] SOURCE_URL SERVER_NAME BACKUP RECOVERY_DIR\n"
    "\n"
    "Restore a base backup (a backup id, a backup name, latest or oldest) into\n"
    "RECOVERY_DIR, which must be empty or absent. Archives are downloaded and\n"
    "unpacked in parallel, whatever their compression; nothing is written\n"
    "outside RECOVERY_DIR and the tablespace locations. Every archive part,\n"
    "every tar's end and, for bc-backup's backups, every file against\n"
    "backup_manifest are checked; the manifest is left in RECOVERY_DIR for\n"
    "pg_verifybackup.\n"
    "\n"
    "Restore:\n"
    "      --tablespace NAME:LOCATION  restore tablespace NAME at LOCATION\n"
    "  -J, --jobs N                  archives processed at once (default 2)\n"
    "      --force                   accept non-empty target directories\n"
    "      --progress, --no-progress show progress (default: on a terminal)\n"
    "Recovery (written to postgresql.auto.conf with recovery.signal):\n"
    "  -R, --write-recovery-conf     restore_command through bc-wal-restore\n"
    "      --recovery-target-time TIME, --recovery-target-lsn LSN,\n"
    "      --recovery-target-name NAME, --recovery-target-xid XID,\n"
    "      --recovery-target-immediate   where recovery stops\n"
    "      --recovery-target-exclusive   stop just before the target\n"
    "      --recovery-target-timeline TLI   latest, current or a number\n"
    "      --recovery-target-action pause|promote|shutdown\n"
    "                                (every --recovery-target-* option implies -R)\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 restored; 1 no such backup, or not DONE; 2 store\n"
    "unreachable, authentication failed or bucket missing; 3 bad command line\n"
    "or a non-empty target; 4 other errors, including an unsafe, corrupt or\n"
    "missing archive, or a file that does not match the manifest. See\n"
    "bc-restore(1).\n";

#define MAX_RELOCATIONS 64

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_restore_opts o = {.jobs = 2, .progress = -1};
    bc_relocation relocations[MAX_RELOCATIONS];
    bc_cli_parser p;
    int write_conf = 0, targets = 0, code = BC_CLI_GO, opt = 0;

    bc_cli_begin(&p, &c, "bc-restore", BC_CLI_RESTORE, help, help_tail);
    while (code == BC_CLI_GO && (opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_TABLESPACE: {
            char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || colon[1] != '/') {
                code = bc_cli_usage_error(c.program, "invalid --tablespace '%s': expected "
                                          "NAME:/ABSOLUTE/LOCATION", optarg);
            } else if (o.nrelocations == MAX_RELOCATIONS) {
                code = bc_cli_usage_error(c.program, "too many --tablespace options");
            } else {
                *colon = '\0';
                relocations[o.nrelocations++] = (bc_relocation){optarg, colon + 1};
            }
            break;
        }
        case 'J': o.jobs = (int)p.value; break;
        case BC_OPT_FORCE: o.force = 1; break;
        case BC_OPT_PROGRESS: o.progress = 1; break;
        case BC_OPT_NO_PROGRESS: o.progress = 0; break;
        case 'R': write_conf = 1; break;
        case BC_OPT_T_TIME: o.target.time = optarg; targets++; break;
        case BC_OPT_T_LSN: o.target.lsn = optarg; targets++; break;
        case BC_OPT_T_NAME: o.target.name = optarg; targets++; break;
        case BC_OPT_T_XID: o.target.xid = optarg; targets++; break;
        case BC_OPT_T_IMMEDIATE: o.target.immediate = 1; targets++; break;
        case BC_OPT_T_EXCLUSIVE: o.target.exclusive = 1; write_conf = 1; break;
        case BC_OPT_T_TIMELINE: o.target.timeline = optarg; write_conf = 1; break;
        case BC_OPT_T_ACTION: o.target.action = optarg; write_conf = 1; break;
        }
    }
    if (code == BC_CLI_GO && opt == BC_CLI_STOP)
        code = p.code;
    if (code == BC_CLI_GO && targets > 1)
        code = bc_cli_usage_error(c.program, "give at most one recovery target");
    /* Each of these becomes a setting in postgresql.auto.conf (the store
     * options and the URL inside restore_command), where a newline would
     * end the setting early and PostgreSQL would refuse the file. */
    const struct { const char *what, *value; } conf_values[] = {
        {"--recovery-target-time", o.target.time}, {"--recovery-target-lsn", o.target.lsn},
        {"--recovery-target-name", o.target.name}, {"--recovery-target-xid", o.target.xid},
        {"--recovery-target-timeline", o.target.timeline},
        {"--endpoint-url", c.store.endpoint_url}, {"--profile", c.store.profile},
        {"--ca-bundle", c.store.ca_bundle},
        {"SOURCE_URL", optind < argc ? argv[optind] : NULL},
    };
    for (size_t i = 0; i < sizeof conf_values / sizeof conf_values[0] && code == BC_CLI_GO; i++)
        code = bc_cli_check_one_line(c.program, conf_values[i].what, conf_values[i].value);
    int npos = argc - optind;
    if (code == BC_CLI_GO && !(npos == 4 || (c.test && npos >= 2)))
        code = bc_cli_usage_error(c.program, "expected SOURCE_URL SERVER_NAME BACKUP RECOVERY_DIR");
    if (code != BC_CLI_GO)
        return code;
    bc_cli_start_logging(&c);
    c.store.url = argv[optind];
    o.server = argv[optind + 1];
    o.backup = npos == 4 ? argv[optind + 2] : NULL;
    o.target_dir = npos == 4 ? argv[optind + 3] : NULL;
    o.relocations = relocations;
    o.store_config = &c.store;

    char restore_command[8192] = "", args[4096];
    if (write_conf || targets) {
        char tool[4096];
        bc_cli_sibling("bc-wal-restore", tool, sizeof tool);
        /* The path as a shell word: a directory may hold a space. */
        bc_cli_shell_word(restore_command, sizeof restore_command, tool);
        bc_cli_store_args(&c, args, sizeof args);
        size_t n = strlen(restore_command);
        snprintf(restore_command + n, sizeof restore_command - n, "%s ", args);
        bc_cli_shell_word(restore_command, sizeof restore_command, c.store.url);
        strncat(restore_command, " ", sizeof restore_command - strlen(restore_command) - 1);
        bc_cli_shell_word(restore_command, sizeof restore_command, o.server);
        strncat(restore_command, " %f %p", sizeof restore_command - strlen(restore_command) - 1);
        o.restore_command = restore_command;
    }

    bc_store *store = NULL;
    bc_status st = BC_OK;
    if (o.target_dir && o.target_dir[0] != '/')
        st = bc_error(BC_ERR_USAGE, "RECOVERY_DIR must be an absolute path, not '%s'",
                      o.target_dir);
    if (st == BC_OK)
        st = bc_cli_open_store(&c, o.server, &store);
    if (st == BC_OK && !c.test)
        st = bc_restore(store, &o);
    if (st == BC_OK && !c.test)
        bc_log_info("restored backup %s into %s%s", o.backup_id, o.target_dir,
                    o.restore_command ? " (recovery settings written)" : "");
    return bc_cli_end(&c, st, store);
}
