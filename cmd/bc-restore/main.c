/* bc-restore: restores a base backup from the store into a directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/restore.h"
#include "cli/cli.h"
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
    "                                (every --recovery-target-* option implies -R)\n"
    BC_CLI_STORE_HELP
    BC_CLI_OTHER_HELP
    "\n"
    "Exit status: 0 restored; 1 no such backup, or not DONE; 2 store\n"
    "unreachable, authentication failed or bucket missing; 3 bad command line\n"
    "or a non-empty target; 4 other errors, including an unsafe, corrupt or\n"
    "missing archive, or a file that does not match the manifest. See\n"
    "bc-restore(1).\n";

enum {
    OPT_TABLESPACE = 2000, OPT_FORCE, OPT_T_TIME, OPT_T_LSN, OPT_T_NAME, OPT_T_XID,
    OPT_T_IMMEDIATE, OPT_T_EXCLUSIVE, OPT_T_TIMELINE, OPT_T_ACTION, OPT_PROGRESS,
    OPT_NO_PROGRESS,
};

static const struct option tool_options[] = {
    {"tablespace", required_argument, NULL, OPT_TABLESPACE},
    {"jobs", required_argument, NULL, 'J'},
    {"force", no_argument, NULL, OPT_FORCE},
    {"write-recovery-conf", no_argument, NULL, 'R'},
    {"recovery-target-time", required_argument, NULL, OPT_T_TIME},
    {"recovery-target-lsn", required_argument, NULL, OPT_T_LSN},
    {"recovery-target-name", required_argument, NULL, OPT_T_NAME},
    {"recovery-target-xid", required_argument, NULL, OPT_T_XID},
    {"recovery-target-immediate", no_argument, NULL, OPT_T_IMMEDIATE},
    {"recovery-target-exclusive", no_argument, NULL, OPT_T_EXCLUSIVE},
    {"recovery-target-timeline", required_argument, NULL, OPT_T_TIMELINE},
    {"recovery-target-action", required_argument, NULL, OPT_T_ACTION},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {0, 0, 0, 0},
};

#define MAX_RELOCATIONS 64

int main(int argc, char **argv)
{
    bc_cli_init_output();
    bc_cli_common c = {.program = "bc-restore"};
    bc_restore_opts o = {.jobs = 2, .progress = -1};
    bc_relocation relocations[MAX_RELOCATIONS];
    struct option longopts[64];
    int write_conf = 0, targets = 0, opt;
    long v;

    bc_cli_merge(tool_options, longopts, 64);
    while ((opt = getopt_long(argc, argv, BC_CLI_COMMON_SHORT "J:R", longopts, NULL)) != -1) {
        if (bc_cli_common_option(&c, opt, optarg, help))
            continue;
        switch (opt) {
        case OPT_TABLESPACE: {
            char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || colon[1] != '/')
                bc_cli_usage_error(c.program, "invalid --tablespace '%s': expected "
                                   "NAME:/ABSOLUTE/LOCATION", optarg);
            if (o.nrelocations == MAX_RELOCATIONS)
                bc_cli_usage_error(c.program, "too many --tablespace options");
            *colon = '\0';
            relocations[o.nrelocations++] = (bc_relocation){optarg, colon + 1};
            break;
        }
        case 'J':
            if (bc_cli_parse_int(optarg, 1, 64, &v))
                bc_cli_usage_error(c.program, "invalid --jobs '%s': give 1-64", optarg);
            o.jobs = (int)v;
            break;
        case OPT_FORCE: o.force = 1; break;
        case OPT_PROGRESS: o.progress = 1; break;
        case OPT_NO_PROGRESS: o.progress = 0; break;
        case 'R': write_conf = 1; break;
        case OPT_T_TIME: o.target.time = optarg; targets++; break;
        case OPT_T_LSN: o.target.lsn = optarg; targets++; break;
        case OPT_T_NAME: o.target.name = optarg; targets++; break;
        case OPT_T_XID: o.target.xid = optarg; targets++; break;
        case OPT_T_IMMEDIATE: o.target.immediate = 1; targets++; break;
        case OPT_T_EXCLUSIVE: o.target.exclusive = 1; write_conf = 1; break;
        case OPT_T_TIMELINE: o.target.timeline = optarg; write_conf = 1; break;
        case OPT_T_ACTION:
            if (strcmp(optarg, "pause") && strcmp(optarg, "promote") && strcmp(optarg, "shutdown"))
                bc_cli_usage_error(c.program, "invalid --recovery-target-action '%s': use pause, "
                                   "promote or shutdown", optarg);
            o.target.action = optarg;
            write_conf = 1;
            break;
        default: bc_cli_usage_error(c.program, "unknown or incomplete option");
        }
    }
    bc_cli_start_logging(&c);
    if (targets > 1)
        bc_cli_usage_error(c.program, "give at most one recovery target");
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
    for (size_t i = 0; i < sizeof conf_values / sizeof conf_values[0]; i++)
        bc_cli_check_one_line(c.program, conf_values[i].what, conf_values[i].value);
    int npos = argc - optind;
    if (!(npos == 4 || (c.test && npos >= 2)))
        bc_cli_usage_error(c.program, "expected SOURCE_URL SERVER_NAME BACKUP RECOVERY_DIR");
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
    st = bc_cli_finish_output(st);
    if (st != BC_OK)
        bc_log_error("%s", bc_error_msg());
    bc_store_close(store);
    bc_log_shutdown();
    return bc_status_exit_code(st);
}
