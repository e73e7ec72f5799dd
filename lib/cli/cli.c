#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_HELP = 1000,
    OPT_CLOUD_PROVIDER,
    OPT_ENDPOINT_URL,
    OPT_READ_TIMEOUT,
    OPT_CREDENTIAL,
    OPT_LOG_FORMAT,
    OPT_CA_BUNDLE,
    OPT_ADDRESSING,
    OPT_SINGLE_PUT,
    OPT_BLOCK_SIZE,
    OPT_CONCURRENCY,
    OPT_RETRIES,
};

const struct option bc_cli_common_long[] = {
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, 'V'},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"test", no_argument, NULL, 't'},
    {"profile", required_argument, NULL, 'P'},
    {"aws-profile", required_argument, NULL, 'P'},
    {"azure-credential", required_argument, NULL, OPT_CREDENTIAL},
    {"cloud-provider", required_argument, NULL, OPT_CLOUD_PROVIDER},
    {"endpoint-url", required_argument, NULL, OPT_ENDPOINT_URL},
    {"read-timeout", required_argument, NULL, OPT_READ_TIMEOUT},
    {"credential", required_argument, NULL, OPT_CREDENTIAL},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"ca-bundle", required_argument, NULL, OPT_CA_BUNDLE},
    {"addressing-style", required_argument, NULL, OPT_ADDRESSING},
    {"max-single-put-size", required_argument, NULL, OPT_SINGLE_PUT},
    {"max-block-size", required_argument, NULL, OPT_BLOCK_SIZE},
    {"max-concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"max-retries", required_argument, NULL, OPT_RETRIES},
    {0, 0, 0, 0},
};

void bc_cli_merge(const struct option *tool, struct option *out, size_t cap)
{
    size_t n = 0;
    for (const struct option *o = bc_cli_common_long; o->name && n + 1 < cap; o++)
        out[n++] = *o;
    for (const struct option *o = tool; o && o->name && n + 1 < cap; o++)
        out[n++] = *o;
    memset(&out[n], 0, sizeof out[n]);
}

void bc_cli_usage_error(const char *program, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s --help')\n", program);
    exit(BC_EXIT_USAGE);
}

void bc_cli_check_one_line(const char *program, const char *what, const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            bc_cli_usage_error(program, "invalid %s: it holds a control character (0x%02x at "
                               "byte %zu)", what, *p,
                               (size_t)(p - (const unsigned char *)value) + 1);
}

int bc_cli_parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int bc_cli_parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    int64_t mult = 1;
    char unit = (char)tolower((unsigned char)*end);
    if (unit) {
        const char *units = "kmgt";
        const char *u = strchr(units, unit);
        if (!u)
            return -1;
        for (const char *p = units; p <= u; p++)
            mult *= 1024;
        end++;
        if (!strcasecmp(end, "ib") || !strcasecmp(end, "b"))
            end += strlen(end);
    }
    if (*end)
        return -1;
    *out = (int64_t)(v * (double)mult);
    return 0;
}

static void parse_one_tag(bc_cli_tags *t, const char *program, const char *arg)
{
    const char *comma = strchr(arg, ',');
    if (!comma || comma == arg || strchr(comma + 1, ','))
        bc_cli_usage_error(program, "invalid tag '%s': expected KEY,VALUE", arg);
    if (t->n == BC_CLI_MAX_TAGS)
        bc_cli_usage_error(program, "too many tags (at most %d)", BC_CLI_MAX_TAGS);
    char *copy = strdup(arg);
    if (!copy)
        bc_cli_usage_error(program, "out of memory");
    copy[comma - arg] = '\0';
    t->storage[t->n] = copy;
    t->tags[t->n].key = copy;
    t->tags[t->n].value = copy + (comma - arg) + 1;
    t->n++;
}

void bc_cli_add_tags(bc_cli_tags *t, const char *program, const char *first,
                     int argc, char **argv)
{
    t->given = 1;
    parse_one_tag(t, program, first);
    /* barman-cloud takes several KEY,VALUE words after one --tags. */
    while (optind < argc && argv[optind][0] != '-' && strchr(argv[optind], ',') &&
           !strstr(argv[optind], "://"))
        parse_one_tag(t, program, argv[optind++]);
}

void bc_cli_free_tags(bc_cli_tags *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->storage[i]);
    t->n = 0;
}

int bc_cli_common_option(bc_cli_common *c, int opt, const char *arg,
                         const char *help_text)
{
    long v;
    switch (opt) {
    case OPT_HELP:
    case 'V': {
        if (opt == 'V')
            printf("%s %s\n", c->program, BC_VERSION);
        else
            fputs(help_text, stdout);
        bc_status st = bc_cli_finish_output(BC_OK);
        if (st != BC_OK)
            fprintf(stderr, "%s: error: %s\n", c->program, bc_error_msg());
        exit(bc_status_exit_code(st));
    }
    case 'v':
        c->verbosity++;
        return 1;
    case 'q':
        c->verbosity--;
        return 1;
    case 't':
        c->test = 1;
        return 1;
    case 'P':
        c->store.profile = arg;
        return 1;
    case OPT_CLOUD_PROVIDER:
        if (strcmp(arg, "aws-s3") && strcmp(arg, "azure-blob-storage") &&
            strcmp(arg, "google-cloud-storage"))
            bc_cli_usage_error(c->program,
                               "invalid --cloud-provider '%s': use aws-s3, azure-blob-storage "
                               "or google-cloud-storage", arg);
        c->store.cloud_provider = arg;
        return 1;
    case OPT_ENDPOINT_URL:
        if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
            bc_cli_usage_error(c->program,
                               "invalid --endpoint-url '%s': it must start with http:// or https://",
                               arg);
        c->store.endpoint_url = arg;
        return 1;
    case OPT_READ_TIMEOUT:
        if (bc_cli_parse_int(arg, 1, 86400, &v))
            bc_cli_usage_error(c->program, "invalid --read-timeout '%s': give seconds (1-86400)", arg);
        c->store.read_timeout = v;
        return 1;
    case OPT_CREDENTIAL:
        if (strcmp(arg, "azure-cli") && strcmp(arg, "managed-identity") && strcmp(arg, "default"))
            bc_cli_usage_error(c->program, "invalid --credential '%s': use azure-cli, "
                               "managed-identity or default", arg);
        c->store.credential = arg;
        return 1;
    case OPT_LOG_FORMAT:
        if (!strcmp(arg, "json"))
            c->log_format = BC_LOG_JSON;
        else if (!strcmp(arg, "text"))
            c->log_format = BC_LOG_TEXT;
        else
            bc_cli_usage_error(c->program, "invalid --log-format '%s': use text or json", arg);
        return 1;
    case OPT_CA_BUNDLE:
        c->store.ca_bundle = arg;
        return 1;
    case OPT_ADDRESSING:
        if (strcmp(arg, "auto") && strcmp(arg, "path") && strcmp(arg, "virtual"))
            bc_cli_usage_error(c->program,
                               "invalid --addressing-style '%s': use auto, path or virtual", arg);
        c->store.addressing = arg;
        return 1;
    case OPT_SINGLE_PUT:
    case OPT_BLOCK_SIZE: {
        int64_t size;
        /* Azure takes blocks from 64 KiB; S3 raises parts below 5 MiB to 5 MiB. */
        if (bc_cli_parse_size(arg, &size) || size < 64 * 1024)
            bc_cli_usage_error(c->program, "invalid size '%s': give at least 64KiB, e.g. 16MiB",
                               arg);
        if (opt == OPT_SINGLE_PUT)
            c->store.multipart_threshold = size;
        else
            c->store.part_size = size;
        return 1;
    }
    case OPT_CONCURRENCY:
        if (bc_cli_parse_int(arg, 1, 64, &v))
            bc_cli_usage_error(c->program, "invalid --max-concurrency '%s': give 1-64", arg);
        c->store.concurrency = (int)v;
        return 1;
    case OPT_RETRIES:
        if (bc_cli_parse_int(arg, 0, 100, &v))
            bc_cli_usage_error(c->program, "invalid --max-retries '%s': give 0-100", arg);
        c->store.max_retries = v ? (int)v : -1;
        return 1;
    }
    return 0;
}

void bc_cli_init_output(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/* A pipe whose reading end is closed polls as POLLERR for its writer: this
 * tells EPIPE apart even when errno of the failed write is long gone (a
 * buffered write can fail well before the final flush). */
static int stdout_reader_gone(void)
{
    struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

bc_status bc_cli_finish_output(bc_status st)
{
    errno = 0;
    int failed = fflush(stdout) != 0;
    int err = errno;
    failed |= ferror(stdout) != 0;
    if (!failed) {
        /* Only now can a deferred write error (NFS, say) show. */
        failed = fclose(stdout) != 0;
        err = errno;
        if (!failed)
            return st;
    }
    if (err == EPIPE || stdout_reader_gone())
        return st;
    if (st != BC_OK)
        return st;
    return bc_error(BC_ERR_IO, "writing to standard output: %s",
                    err ? strerror(err) : "write error");
}

void bc_cli_start_logging(const bc_cli_common *c)
{
    bc_log_init(c->program, c->log_format, c->verbosity);
}

void bc_cli_shell_word(char *out, size_t outlen, const char *word)
{
    size_t n = strlen(out);
    int plain = *word != '\0';
    for (const char *p = word; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./:=@%+,-", *p))
            plain = 0;
    if (plain) {
        snprintf(out + n, outlen - n, "%s", word);
        return;
    }
    /* 'it'\''s' */
    if (n + 1 < outlen)
        out[n++] = '\'';
    for (const char *p = word; *p && n + 5 < outlen; p++) {
        if (*p == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *p;
        }
    }
    if (n + 1 < outlen)
        out[n++] = '\'';
    out[n < outlen ? n : outlen - 1] = '\0';
}

static void add_option(char *out, size_t outlen, const char *name, const char *value)
{
    if (!value)
        return;
    size_t n = strlen(out);
    snprintf(out + n, outlen - n, " %s ", name);
    bc_cli_shell_word(out, outlen, value);
}

void bc_cli_store_args(const bc_cli_common *c, char *out, size_t outlen)
{
    char number[32];
    out[0] = '\0';
    add_option(out, outlen, "--cloud-provider", c->store.cloud_provider);
    add_option(out, outlen, "--endpoint-url", c->store.endpoint_url);
    add_option(out, outlen, "--profile", c->store.profile);
    add_option(out, outlen, "--ca-bundle", c->store.ca_bundle);
    add_option(out, outlen, "--credential", c->store.credential);
    add_option(out, outlen, "--addressing-style", c->store.addressing);
    if (c->store.read_timeout) {
        snprintf(number, sizeof number, "%ld", c->store.read_timeout);
        add_option(out, outlen, "--read-timeout", number);
    }
}

void bc_cli_sibling(const char *tool, char *out, size_t outlen)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, outlen, "%s", tool); /* fall back to PATH */
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(out, outlen, "%s/%s", self, tool);
}

int bc_cli_encryption_option(bc_cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case 'e':
        if (strcmp(arg, "AES256") && strcmp(arg, "aws:kms"))
            bc_cli_usage_error(c->program, "invalid --encryption '%s': use AES256 or aws:kms",
                               arg);
        c->store.sse = arg;
        return 1;
    case BC_CLI_OPT_KMS_KEY:
        c->store.sse_kms_key_id = arg;
        return 1;
    case BC_CLI_OPT_ENCRYPTION_SCOPE:
        c->store.encryption_scope = arg;
        return 1;
    case BC_CLI_OPT_KMS_KEY_NAME:
        c->store.kms_key_name = arg;
        return 1;
    }
    return 0;
}
