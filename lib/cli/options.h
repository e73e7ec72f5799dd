/* Every command-line option of every tool, declared once.
 *
 * A row of bc_cli_options[] names an option (long and short form), its
 * argument (none, required, optional; a metavar; a range or a set of
 * values the parser checks before anyone sees the value), its one line of
 * --help, the tools that take it, where its value goes and how it is
 * written back into a tool's argv. From the table come, at run time, each
 * tool's getopt tables (bc_cli_parser_init), the shared --help blocks
 * (store, compression, encryption, other: bc_cli_help), the store options
 * bc-restore writes into restore_command (bc_cli_store_args) and the
 * option words the plugin builds from an ObjectStore (bc_cli_option_words).
 * The man pages' OPTIONS sections are checked against it by
 * tests/helpers/options_check.sh, through tests/unit/test_options.c.
 *
 * Tool-specific options are rows too, with only that tool's bit and the
 * target BC_CLI_TO_TOOL: the parser returns their id to the tool's main.c,
 * which owns what they mean; their --help lines stay in the tool's text,
 * next to the prose that explains them (the check ties that text to the
 * man page and the man page to this table). */
#ifndef BC_CLI_OPTIONS_H
#define BC_CLI_OPTIONS_H

#include <stddef.h>

#include "util/status.h"
#include "util/strv.h"

/* The tools, one bit each. */
enum {
    BC_CLI_WAL_ARCHIVE = 1u << 0,
    BC_CLI_WAL_RESTORE = 1u << 1,
    BC_CLI_BACKUP = 1u << 2,
    BC_CLI_RESTORE = 1u << 3,
    BC_CLI_LS = 1u << 4,
    BC_CLI_RETENTION = 1u << 5,
    BC_CLI_VERIFY = 1u << 6,
    BC_CLI_PLUGIN = 1u << 7,
    BC_CLI_DOCTOR = 1u << 8,
};
/* The tools that open a store (all but bc-plugin). */
#define BC_CLI_STORE_TOOLS                                                     \
    (BC_CLI_WAL_ARCHIVE | BC_CLI_WAL_RESTORE | BC_CLI_BACKUP | BC_CLI_RESTORE | \
     BC_CLI_LS | BC_CLI_RETENTION | BC_CLI_VERIFY | BC_CLI_DOCTOR)
#define BC_CLI_ALL_TOOLS (BC_CLI_STORE_TOOLS | BC_CLI_PLUGIN)

/* What getopt returns for an option: its short letter when it has one,
 * else one of these. */
enum {
    BC_OPT_HELP = 1000,
    BC_OPT_LOG_FORMAT,
    BC_OPT_CLOUD_PROVIDER,
    BC_OPT_CREDENTIAL,
    BC_OPT_ENDPOINT_URL,
    BC_OPT_READ_TIMEOUT,
    BC_OPT_CA_BUNDLE,
    BC_OPT_ADDRESSING,
    BC_OPT_RETRIES,
    BC_OPT_SINGLE_PUT,
    BC_OPT_BLOCK_SIZE,
    BC_OPT_CONCURRENCY,
    BC_OPT_MAX_PARTS,
    BC_OPT_CONDITIONAL_WRITES,
    BC_OPT_SNAPPY,
    BC_OPT_LZ4,
    BC_OPT_XZ,
    BC_OPT_ZSTD,
    BC_OPT_COMPRESSION_LEVEL,
    BC_OPT_KMS_KEY,
    BC_OPT_ENCRYPTION_SCOPE,
    BC_OPT_KMS_KEY_NAME,
    /* tool-specific */
    BC_OPT_TAGS,
    BC_OPT_HISTORY_TAGS,
    BC_OPT_MAX_PARALLEL,
    BC_OPT_SPOOL_DIR,
    BC_OPT_NO_PARTIAL,
    BC_OPT_PREFETCH,
    BC_OPT_END_OF_WAL_FLAG,
    BC_OPT_IMMEDIATE,
    BC_OPT_MIN_CHUNK,
    BC_OPT_PROGRESS,
    BC_OPT_NO_PROGRESS,
    BC_OPT_TABLESPACE,
    BC_OPT_FORCE,
    BC_OPT_T_TIME,
    BC_OPT_T_LSN,
    BC_OPT_T_NAME,
    BC_OPT_T_XID,
    BC_OPT_T_IMMEDIATE,
    BC_OPT_T_EXCLUSIVE,
    BC_OPT_T_TIMELINE,
    BC_OPT_T_ACTION,
    BC_OPT_FORMAT,
    BC_OPT_WAL_SEGMENT_SIZE,
    BC_OPT_TIMELINE,
    BC_OPT_DRY_RUN,
    BC_OPT_BATCH_SIZE,
    BC_OPT_KEEP,
    BC_OPT_RELEASE,
    BC_OPT_STATUS,
    BC_OPT_REPORT,
    BC_OPT_WAL_TO_LATEST,
    BC_OPT_WRITE_TEST,
    BC_OPT_ARCHIVE_TEST,
    BC_OPT_LOG_LINES,
    BC_OPT_PLUGIN_PATH,
    BC_OPT_LOG_LEVEL,
    BC_OPT_SERVER_CERT,
    BC_OPT_SERVER_KEY,
    BC_OPT_CLIENT_CERT,
    BC_OPT_SERVER_ADDRESS,
    BC_OPT_LEADER_ELECT,
    BC_OPT_HEALTH,
    BC_OPT_METRICS,
    BC_OPT_METRICS_SECURE,
    BC_OPT_HTTP2,
};

/* The --help block a row is listed in; BC_CLI_IN_TOOL: the tool's own text
 * describes it (or it is an alias, listed nowhere). */
typedef enum bc_cli_block {
    BC_CLI_IN_TOOL,
    BC_CLI_IN_COMPRESSION,
    BC_CLI_IN_STORE,
    BC_CLI_IN_ENCRYPTION,
    BC_CLI_IN_OTHER,
} bc_cli_block;

/* Where the parser puts a value. */
typedef enum bc_cli_target {
    BC_CLI_TO_TOOL,   /* returned to the tool's main.c (numbers in p->value) */
    BC_CLI_TO_STRING, /* the const char * at `field` of bc_cli_common */
    BC_CLI_TO_LONG,   /* the long at `field` of bc_cli_common (a number) */
    BC_CLI_TO_COMMON, /* handled in options.c by id (flags, sizes, codecs) */
} bc_cli_target;

typedef struct bc_cli_option {
    int id;                 /* what getopt returns: the short letter, or BC_OPT_ */
    const char *flag;       /* "--endpoint-url"; getopt's name is flag + 2 */
    const char *short_flag; /* "-P", or NULL */
    int arg;                /* no_argument, required_argument or optional_argument */
    const char *metavar;    /* in --help: "URL", "auto|path|virtual"; NULL with no argument */
    long min, max;          /* min < max: the value is a number in [min, max] */
    const char *range;      /* the number's "give ..." in the usage error; NULL: "MIN-MAX" */
    const char *choices;    /* "a|b|c": the only values taken */
    const char *help;       /* its --help line(s) in its block, '\n' continuing */
    unsigned tools;         /* BC_CLI_ bits of the tools that take it */
    unsigned unlisted;      /* of those, the ones that ignore it: not in their --help */
    bc_cli_block block;
    bc_cli_target target;
    size_t field;           /* BC_CLI_TO_STRING, BC_CLI_TO_LONG: offsetof(bc_cli_common, ...) */
    int restore_command;    /* bc_cli_store_args writes it back (a store option) */
} bc_cli_option;

/* The table, terminated by a row whose flag is NULL. An alias (a second
 * row with an earlier row's id for the same tools) has block BC_CLI_IN_TOOL
 * and no help: the parser checks and stores its value, and names it in
 * messages, as the earlier row's. Two rows may share a flag for disjoint
 * tools (bc-ls's and bc-verify's --format). */
extern const bc_cli_option bc_cli_options[];

/* The first row with this id that one of `tools` takes, or NULL. */
const bc_cli_option *bc_cli_option_by_id(int id, unsigned tools);
/* The row of `flag` ("--gzip") that `tools` take, or NULL. */
const bc_cli_option *bc_cli_option_by_flag(const char *flag, unsigned tools);

/* The long flag of option id ("--endpoint-url"); "" if there is none. */
const char *bc_cli_flag(int id);

/* Appends option id as a tool's argv takes it: its long flag (its short
 * one with short_form, when it has one), then value when it takes one. */
bc_status bc_cli_option_words(bc_strv *argv, int id, int short_form, const char *value);

#endif
