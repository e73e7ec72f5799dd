/* Command-line handling shared by every tool: the options barman-cloud
 * tools have in common, tag and size parsing, usage errors. Each tool's
 * main.c adds its own options to the common table and hands every option it
 * does not know to bc_cli_common_option(). */
#ifndef BC_CLI_CLI_H
#define BC_CLI_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "store/store.h"
#include "util/log.h"

#define BC_CLI_MAX_TAGS 32

/* The --help lines every tool that reads the store shares (compact form). */
#define BC_CLI_STORE_HELP                                                     \
    "Store:\n"                                                                \
    "      --endpoint-url URL, -P/--profile NAME, --read-timeout SECONDS,\n"  \
    "      --ca-bundle FILE, --addressing-style auto|path|virtual,\n"         \
    "      --max-retries N, --credential default|managed-identity (Azure),\n"       \
    "      --cloud-provider aws-s3|azure-blob-storage|google-cloud-storage\n"
#define BC_CLI_OTHER_HELP                                                     \
    "Other:\n"                                                                \
    "  -t, --test                    check the store is reachable and exit\n" \
    "  -v, --verbose / -q, --quiet   more / less output\n"                    \
    "      --log-format text|json    message format on stderr\n"              \
    "  -V, --version, --help\n"
#define BC_CLI_COMMON_SHORT "vqtVP:"

typedef struct bc_cli_tags {
    bc_tag tags[BC_CLI_MAX_TAGS];
    char *storage[BC_CLI_MAX_TAGS];
    size_t n;
    int given;
} bc_cli_tags;

typedef struct bc_cli_common {
    const char *program;
    bc_store_config store;
    int verbosity;
    bc_log_format log_format;
    int test;
} bc_cli_common;

/* Long options of the common set, values >= 1000 (tools use 2000+). */
extern const struct option bc_cli_common_long[];

/* Compression options shared by the tools that write archives: put
 * BC_CLI_CODEC_OPTIONS in the tool's table and "zj" in its short options,
 * then hand options to bc_cli_codec_option(). */
enum { BC_CLI_OPT_SNAPPY = 1100, BC_CLI_OPT_LZ4, BC_CLI_OPT_XZ, BC_CLI_OPT_ZSTD,
       BC_CLI_OPT_LEVEL };
#define BC_CLI_CODEC_OPTIONS                                              \
    {"gzip", no_argument, NULL, 'z'}, {"bzip2", no_argument, NULL, 'j'},  \
    {"snappy", no_argument, NULL, BC_CLI_OPT_SNAPPY},                     \
    {"lz4", no_argument, NULL, BC_CLI_OPT_LZ4},                           \
    {"xz", no_argument, NULL, BC_CLI_OPT_XZ},                             \
    {"zstd", no_argument, NULL, BC_CLI_OPT_ZSTD},                         \
    {"compression-level", required_argument, NULL, BC_CLI_OPT_LEVEL}
/* 1 if opt was a compression option (stored in *codec / *level), else 0;
 * exits with the usage code on conflicting flags or a bad level. */
int bc_cli_codec_option(const char *program, int opt, const char *arg, int *codec, int *level);

/* Server-side encryption options of the tools that write objects: put
 * BC_CLI_ENCRYPTION_OPTIONS in the tool's table and "e:" in its short
 * options, then hand options to bc_cli_encryption_option(). */
enum { BC_CLI_OPT_KMS_KEY = 1200, BC_CLI_OPT_ENCRYPTION_SCOPE, BC_CLI_OPT_KMS_KEY_NAME };
#define BC_CLI_ENCRYPTION_OPTIONS                                         \
    {"encryption", required_argument, NULL, 'e'},                        \
    {"sse-kms-key-id", required_argument, NULL, BC_CLI_OPT_KMS_KEY},     \
    {"encryption-scope", required_argument, NULL, BC_CLI_OPT_ENCRYPTION_SCOPE}, \
    {"kms-key-name", required_argument, NULL, BC_CLI_OPT_KMS_KEY_NAME}
/* 1 if opt was an encryption option (stored in c->store), else 0; exits
 * with the usage code on a bad value. */
int bc_cli_encryption_option(bc_cli_common *c, int opt, const char *arg);

/* Concatenates the common table and the tool's into out (cap entries,
 * terminated by a zero entry). */
void bc_cli_merge(const struct option *tool, struct option *out, size_t cap);

/* 1 if opt was a common option (handled), 0 if not; exits with the usage
 * code on a bad value, and with 0 for --help/-V after printing. */
int bc_cli_common_option(bc_cli_common *c, int opt, const char *arg,
                         const char *help_text);

/* Exits with BC_EXIT_USAGE naming `what` (an option, "--recovery-target-
 * name") if value holds a control character: a value that ends up in a
 * configuration file (postgresql.auto.conf, backup.info) or a one-line
 * message must stay on one line. */
void bc_cli_check_one_line(const char *program, const char *what, const char *value);

/* Reports a bad command line in one line and exits with BC_EXIT_USAGE. */
_Noreturn void bc_cli_usage_error(const char *program, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses "key,value" into tags; afterwards, consumes following arguments
 * that also look like tags (barman accepts several values after --tags). */
void bc_cli_add_tags(bc_cli_tags *t, const char *program, const char *first,
                     int argc, char **argv);
void bc_cli_free_tags(bc_cli_tags *t);

/* "16MiB", "4MB", "512k", "1048576" -> bytes (units are powers of 1024). */
int bc_cli_parse_size(const char *s, int64_t *out);
int bc_cli_parse_int(const char *s, long min, long max, long *out);

/* Checks the server name, opens the store and, with -t, checks that it is
 * reachable (the caller then stops). *store is NULL on failure. */
bc_status bc_cli_open_store(bc_cli_common *c, const char *server, bc_store **store);

/* Appends `word` to out, single-quoted for a POSIX shell if it needs it. */
void bc_cli_shell_word(char *out, size_t outlen, const char *word);
/* The store options of c as shell words (" --endpoint-url URL ..."), for
 * commands bc writes into configuration, such as restore_command. */
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

#endif
