/* Command-line handling shared by every tool: the parser of the option
 * table (cli/options.h), the options barman-cloud tools have in common,
 * tag and size parsing, usage errors. Nothing here exits: a bad command
 * line, --help and --version become the code main returns. */
#ifndef BC_CLI_CLI_H
#define BC_CLI_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "store/store.h"
#include "util/log.h"

#define BC_CLI_MAX_TAGS 32

/* What option handling returns to main: BC_CLI_GO to go on; any other
 * value is the exit code main returns at once, the message (a one-line
 * usage error, --help, --version) already printed. */
#define BC_CLI_GO (-1)

typedef struct bc_cli_tags {
    bc_tag tags[BC_CLI_MAX_TAGS];
    char *storage[BC_CLI_MAX_TAGS];
    size_t n;
    int given;
} bc_cli_tags;

/* Where the options of lib/cli/options.c that are not the tool's go. */
typedef struct bc_cli_common {
    const char *program;
    bc_store_config store;
    int verbosity;
    bc_log_format log_format;
    int test;
    const char *compression; /* the codec option given, "gzip"..., or NULL */
    long level;              /* --compression-level, 0 if not given */
    bc_status routine;       /* a failure bc_cli_end() logs at info level, not
                              * as an error (bc-wal-restore's BC_ERR_NOTFOUND) */
} bc_cli_common;

/* A tool's command line, parsed from the option table (cli/options.h):
 *
 *     bc_cli_parser p;
 *     bc_cli_parser_init(&p, &c, BC_CLI_BACKUP, help, help_tail, 0);
 *     while ((opt = bc_cli_next(&p, argc, argv)) > 0)
 *         switch (opt) { ... the tool's options ... }
 *     if (opt == BC_CLI_STOP)
 *         return p.code;
 *
 * The shared options (store, compression, encryption, other) are checked
 * and stored in c; a tool option's value is checked against its row (a
 * range: the number is in p.value; a set of values) before its id is
 * returned. --help prints help, the generated blocks of the options the
 * tool shares, then help_tail. */
#define BC_CLI_MAX_OPTIONS 64
enum { BC_CLI_END = 0, BC_CLI_STOP = -2 };
typedef struct bc_cli_parser {
    bc_cli_common *common;
    unsigned tool;              /* its BC_CLI_ bit */
    const char *help, *help_tail;
    struct option longopts[BC_CLI_MAX_OPTIONS + 1];
    char shortopts[2 * BC_CLI_MAX_OPTIONS + 2];
    long value;                 /* the number a tool option with a range was given */
    int code;                   /* after BC_CLI_STOP: what main returns */
} bc_cli_parser;

/* own_errors: getopt prints nothing and returns '?' (unknown option) and
 * ':' (missing value) to the caller, which reports them (bc-plugin);
 * otherwise either is the usage error "unknown or incomplete option". */
void bc_cli_parser_init(bc_cli_parser *p, bc_cli_common *c, unsigned tool, const char *help,
                        const char *help_tail, int own_errors);
/* The start of a tool's main: standard output set up (bc_cli_init_output),
 * c zeroed and named program, and p made for the tool's options (getopt
 * reports unknown ones): then bc_cli_next() as above. */
void bc_cli_begin(bc_cli_parser *p, bc_cli_common *c, const char *program, unsigned tool,
                  const char *help, const char *help_tail);
/* The next option: the id of one the tool handles (> 0), BC_CLI_END when
 * the options end (optind indexes the operands), or BC_CLI_STOP when main
 * must return p->code. */
int bc_cli_next(bc_cli_parser *p, int argc, char **argv);
/* Prints the tool's --help (its text and the shared blocks) on stdout. */
void bc_cli_help(const bc_cli_parser *p);

/* BC_CLI_GO, or BC_EXIT_USAGE naming `what` (an option, "--recovery-
 * target-name") if value holds a control character: a value that ends up
 * in a configuration file (postgresql.auto.conf, backup.info) or a
 * one-line message must stay on one line. */
int bc_cli_check_one_line(const char *program, const char *what, const char *value);

/* Reports a bad command line in one line; returns BC_EXIT_USAGE. */
int bc_cli_usage_error(const char *program, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses "key,value" into tags; afterwards, consumes following arguments
 * that also look like tags (barman accepts several values after --tags).
 * BC_CLI_GO, or BC_EXIT_USAGE after the message. */
int bc_cli_add_tags(bc_cli_tags *t, const char *program, const char *first,
                     int argc, char **argv);
void bc_cli_free_tags(bc_cli_tags *t);

/* "16MiB", "4MB", "512k", "1048576" -> bytes (units are powers of 1024). */
int bc_cli_parse_size(const char *s, int64_t *out);
int bc_cli_parse_int(const char *s, long min, long max, long *out);

/* The codec the compression options chose (BC_CODEC_NONE without one). */
int bc_cli_codec(const bc_cli_common *c);

/* Checks the server name, opens the store and, with -t, checks that it is
 * reachable (the caller then stops). *store is NULL on failure. */
bc_status bc_cli_open_store(bc_cli_common *c, const char *server, bc_store **store);

/* Appends `word` to out, single-quoted for a POSIX shell if it needs it. */
void bc_cli_shell_word(char *out, size_t outlen, const char *word);
/* The store options of c as shell words (" --endpoint-url URL ..."), for
 * commands bc writes into configuration, such as restore_command: the
 * rows of the option table marked restore_command, in its order. */
void bc_cli_store_args(const bc_cli_common *c, char *out, size_t outlen);
/* Path of a sibling tool installed next to the running program. */
void bc_cli_sibling(const char *tool, char *out, size_t outlen);

/* Standard output, the same way in every tool. Call bc_cli_init_output()
 * first thing in main: a reader that goes away (bc-ls ... | head) must not
 * kill the tool with SIGPIPE halfway through its work, so SIGPIPE is
 * ignored and writes fail with EPIPE instead. Call bc_cli_finish_output()
 * with the tool's status once it has written everything: it flushes and
 * closes stdout and returns the status to exit with:
 *  - the reader went away (EPIPE): st unchanged and no message, so a
 *    finished operation still exits 0 (what it printed was not wanted);
 *  - any other write error (ENOSPC, EIO...): BC_ERR_IO with a one-line
 *    message ("writing to standard output: No space left on device") when
 *    st was BC_OK, else st. */
void bc_cli_init_output(void);
bc_status bc_cli_finish_output(bc_status st);

/* Applies verbosity and log format: call after option parsing. */
void bc_cli_start_logging(const bc_cli_common *c);

/* The end of a tool's main, once its work is done with status st:
 * bc_cli_finish_output(), the failure's message logged (at info level when
 * it is c->routine), store closed (may be NULL), logging shut down.
 * Returns the exit code main returns. */
int bc_cli_end(const bc_cli_common *c, bc_status st, bc_store *store);

#endif
