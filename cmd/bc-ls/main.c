/* bc-ls: lists backups, shows one, summarises the WAL archive, checks that
 * it is empty (barman-cloud-backup-list, -backup-show, -check-wal-archive). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/listing.h"
#include "layout/wal.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "util/log.h"

static const char help[] =
    "usage: bc-ls SUBCOMMAND [options] SOURCE_URL SERVER_NAME [BACKUP]\n"
    "\n"
    "Look into a barman-cloud archive:\n"
    "  backups      list the backups of a server (barman-cloud-backup-list)\n"
    "  show         show one backup (barman-cloud-backup-show)\n"
    "  wals         the archived WAL per timeline, with gaps (exit 1 if any)\n"
    "  check-empty  exit 0 if the WAL archive is empty\n"
    "               (barman-cloud-check-wal-archive)\n"
    "'bc-ls SUBCOMMAND --help' describes each.\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 success; 1 not found, WAL missing, archive not empty;\n"
    "2 store unreachable, authentication failed or bucket missing; 3 bad command\n"
    "line; 4 other errors. See bc-ls(1).\n";

static const char help_backups[] =
    "usage: bc-ls backups [--format console|json] [options] SOURCE_URL SERVER_NAME\n"
    "\n"
    "List the backups of SERVER_NAME: as a table of the completed ones (id, end\n"
    "time, first WAL, keep annotation, name), or in JSON every backup with all\n"
    "of its backup.info, as barman-cloud-backup-list prints them.\n"
    "\n";

static const char help_show[] =
    "usage: bc-ls show [--format console|json] [options] SOURCE_URL SERVER_NAME BACKUP\n"
    "\n"
    "Show one backup, given by id, by name, or as latest / oldest, as\n"
    "barman-cloud-backup-show does. Exit 1 if there is no such backup.\n"
    "\n";

static const char help_wals[] =
    "usage: bc-ls wals [--format console|json] [--wal-segment-size SIZE] [options]\n"
    "                  SOURCE_URL SERVER_NAME\n"
    "\n"
    "Summarise the archived WAL per timeline: first and last segment, counts,\n"
    "history file, and the missing segments inside a timeline (exit 1 if any).\n"
    "The segment size is the latest backup's, else 16MiB, unless given.\n"
    "\n";

static const char help_check_empty[] =
    "usage: bc-ls check-empty [--timeline N] [options] SOURCE_URL SERVER_NAME\n"
    "\n"
    "Exit 0 if the WAL archive of SERVER_NAME is empty or, with --timeline N,\n"
    "holds nothing of timeline N or newer; exit 1 with a message otherwise, or\n"
    "if it holds objects that are not WAL files. A missing bucket is empty.\n"
    "\n";

/* The subcommands' options, one bit each in subcommand.options. */
static const int sub_options[] = {BC_OPT_FORMAT, BC_OPT_WAL_SEGMENT_SIZE, BC_OPT_TIMELINE};
enum { CMD_BACKUPS, CMD_SHOW, CMD_WALS, CMD_CHECK_EMPTY };

static const struct subcommand {
    const char *name;
    const char *help;
    int npos;         /* positional arguments after the subcommand */
    unsigned options; /* bit i for each sub_options[i] it takes */
} subcommands[] = {
    [CMD_BACKUPS] = {"backups", help_backups, 2, 1u << 0},
    [CMD_SHOW] = {"show", help_show, 3, 1u << 0},
    [CMD_WALS] = {"wals", help_wals, 2, 1u << 0 | 1u << 1},
    [CMD_CHECK_EMPTY] = {"check-empty", help_check_empty, 2, 1u << 2},
};
#define NSUBCOMMANDS (int)(sizeof subcommands / sizeof subcommands[0])

static int find_subcommand(const char *name)
{
    for (int i = 0; name && i < NSUBCOMMANDS; i++)
        if (strcmp(name, subcommands[i].name) == 0)
            return i;
    return -1;
}

/* The subcommand is the first operand wherever options are, so a silent
 * first pass finds it before --help picks the text to print. */
static int subcommand_of(int argc, char **argv, const bc_cli_parser *p)
{
    opterr = 0;
    while (getopt_long(argc, argv, p->shortopts, p->longopts, NULL) != -1)
        continue;
    int cmd = optind < argc ? find_subcommand(argv[optind]) : -1;
    opterr = 1;
    optind = 0; /* restart getopt from scratch */
    return cmd;
}

int main(int argc, char **argv)
{
    bc_cli_common c;
    bc_listing_format format = BC_LISTING_CONSOLE;
    int64_t segment_size = 0;
    long timeline = 0;
    unsigned given = 0;
    bc_cli_parser p;
    int opt;

    bc_cli_begin(&p, &c, "bc-ls", BC_CLI_LS, help, help_tail);
    int cmd = subcommand_of(argc, argv, &p);
    if (cmd >= 0) {
        p.help = subcommands[cmd].help;
        p.help_tail = "";
    }
    while ((opt = bc_cli_next(&p, argc, argv)) > 0) {
        switch (opt) {
        case BC_OPT_FORMAT:
            format = strcmp(optarg, "json") ? BC_LISTING_CONSOLE : BC_LISTING_JSON;
            break;
        case BC_OPT_WAL_SEGMENT_SIZE:
            if (bc_cli_parse_size(optarg, &segment_size) ||
                !bc_wal_segment_size_valid(segment_size))
                return bc_cli_usage_error(c.program,
                                          "invalid --wal-segment-size '%s': give a power of 2 "
                                          "from 1MiB to 1GiB", optarg);
            break;
        case BC_OPT_TIMELINE: timeline = p.value; break;
        }
        for (int i = 0; i < 3; i++)
            if (opt == sub_options[i])
                given |= 1u << i;
    }
    if (opt == BC_CLI_STOP)
        return p.code;

    if (optind >= argc)
        return bc_cli_usage_error(c.program, "expected a subcommand: backups, show, wals or "
                                  "check-empty");
    if (cmd < 0)
        return bc_cli_usage_error(c.program, "unknown subcommand '%s': use backups, show, wals "
                                  "or check-empty", argv[optind]);
    const struct subcommand *sub = &subcommands[cmd];
    for (int i = 0; i < 3; i++)
        if ((given & ~sub->options) & 1u << i)
            return bc_cli_usage_error(c.program, "'%s' does not take %s", sub->name,
                                      bc_cli_option_by_id(sub_options[i], BC_CLI_LS)->flag);
    int npos = argc - optind - 1;
    if (!(npos == sub->npos || (c.test && npos >= 2 && npos <= sub->npos)))
        return bc_cli_usage_error(c.program, "expected %s", sub->npos == 3
                                      ? "SOURCE_URL SERVER_NAME BACKUP" : "SOURCE_URL SERVER_NAME");
    bc_cli_start_logging(&c);
    c.store.url = argv[optind + 1];
    const char *server = argv[optind + 2];

    bc_store *store = NULL;
    bc_status st = bc_cli_open_store(&c, server, &store);
    if (st == BC_OK && !c.test) {
        switch (cmd) {
        case CMD_BACKUPS: st = bc_listing_backups(store, server, format, stdout); break;
        case CMD_SHOW: st = bc_listing_show(store, server, argv[optind + 3], format, stdout); break;
        case CMD_WALS: st = bc_listing_wals(store, server, segment_size, format, stdout); break;
        default: st = bc_listing_check_empty(store, server, (uint32_t)timeline); break;
        }
    }
    return bc_cli_end(&c, st, store);
}
