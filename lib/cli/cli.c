#include "cli/cli.h"

#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bc_cli_usage_error(const char *program, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try '%s --help')\n", program);
    return BC_EXIT_USAGE;
}

int bc_cli_check_one_line(const char *program, const char *what, const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return bc_cli_usage_error(program, "invalid %s: it holds a control character "
                                      "(0x%02x at byte %zu)", what, *p,
                                      (size_t)(p - (const unsigned char *)value) + 1);
    return BC_CLI_GO;
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

static int parse_one_tag(bc_cli_tags *t, const char *program, const char *arg)
{
    const char *comma = strchr(arg, ',');
    if (!comma || comma == arg || strchr(comma + 1, ','))
        return bc_cli_usage_error(program, "invalid tag '%s': expected KEY,VALUE", arg);
    if (t->n == BC_CLI_MAX_TAGS)
        return bc_cli_usage_error(program, "too many tags (at most %d)", BC_CLI_MAX_TAGS);
    char *copy = strdup(arg);
    if (!copy)
        return bc_cli_usage_error(program, "out of memory");
    copy[comma - arg] = '\0';
    t->storage[t->n] = copy;
    t->tags[t->n].key = copy;
    t->tags[t->n].value = copy + (comma - arg) + 1;
    t->n++;
    return BC_CLI_GO;
}

int bc_cli_add_tags(bc_cli_tags *t, const char *program, const char *first, int argc,
                    char **argv)
{
    t->given = 1;
    int code = parse_one_tag(t, program, first);
    /* barman-cloud takes several KEY,VALUE words after one --tags. */
    while (code == BC_CLI_GO && optind < argc && argv[optind][0] != '-' &&
           strchr(argv[optind], ',') && !strstr(argv[optind], "://"))
        code = parse_one_tag(t, program, argv[optind++]);
    return code;
}

void bc_cli_free_tags(bc_cli_tags *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->storage[i]);
    t->n = 0;
}

void bc_cli_parser_init(bc_cli_parser *p, bc_cli_common *c, unsigned tool, const char *help,
                        const char *help_tail, int own_errors)
{
    size_t n = 0, k = 0;
    memset(p, 0, sizeof *p);
    p->common = c;
    p->tool = tool;
    p->help = help;
    p->help_tail = help_tail;
    if (own_errors) {
        opterr = 0;
        p->shortopts[k++] = ':';
    }
    for (const bc_cli_option *o = bc_cli_options; o->flag && n < BC_CLI_MAX_OPTIONS; o++) {
        if (!(o->tools & tool))
            continue;
        p->longopts[n++] = (struct option){o->flag + 2, o->arg, NULL, o->id};
        if (o->short_flag) {
            p->shortopts[k++] = o->short_flag[1];
            if (o->arg == required_argument)
                p->shortopts[k++] = ':';
        }
    }
}

void bc_cli_begin(bc_cli_parser *p, bc_cli_common *c, const char *program, unsigned tool,
                  const char *help, const char *help_tail)
{
    bc_cli_init_output();
    *c = (bc_cli_common){.program = program};
    bc_cli_parser_init(p, c, tool, help, help_tail, 0);
}

/* BC_CLI_GO if arg is one of o's choices, else the usage error naming them. */
static int check_choice(const char *program, const bc_cli_option *o, const char *arg)
{
    char text[256] = "";
    size_t len = strlen(arg);
    for (const char *v = o->choices; v;) {
        const char *bar = strchr(v, '|');
        size_t n = bar ? (size_t)(bar - v) : strlen(v);
        if (n == len && strncmp(v, arg, n) == 0)
            return BC_CLI_GO;
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "%s%.*s",
                 !*text ? "" : bar ? ", " : " or ", (int)n, v);
        v = bar ? bar + 1 : NULL;
    }
    return bc_cli_usage_error(program, "invalid %s '%s': use %s", o->flag, arg, text);
}

static int check_number(const char *program, const bc_cli_option *o, const char *arg, long *v)
{
    if (bc_cli_parse_int(arg, o->min, o->max, v) == 0)
        return BC_CLI_GO;
    if (o->range)
        return bc_cli_usage_error(program, "invalid %s '%s': give %s", o->flag, arg, o->range);
    return bc_cli_usage_error(program, "invalid %s '%s': give %ld-%ld", o->flag, arg, o->min,
                              o->max);
}

static int help_or_version(const bc_cli_parser *p, int id)
{
    if (id == 'V')
        printf("%s %s\n", p->common->program, BC_VERSION);
    else
        bc_cli_help(p);
    bc_status st = bc_cli_finish_output(BC_OK);
    if (st != BC_OK)
        fprintf(stderr, "%s: error: %s\n", p->common->program, bc_error_msg());
    return bc_status_exit_code(st);
}

/* The options of target BC_CLI_TO_COMMON, and the checks beyond a row's. */
static int common_option(bc_cli_parser *p, const bc_cli_option *o, const char *arg)
{
    bc_cli_common *c = p->common;
    int64_t size;
    switch (o->id) {
    case BC_OPT_HELP:
    case 'V':
        return help_or_version(p, o->id);
    case 'v': c->verbosity++; break;
    case 'q': c->verbosity--; break;
    case 't': c->test = 1; break;
    case BC_OPT_LOG_FORMAT: c->log_format = strcmp(arg, "json") ? BC_LOG_TEXT : BC_LOG_JSON; break;
    case BC_OPT_ENDPOINT_URL:
        if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
            return bc_cli_usage_error(c->program, "invalid --endpoint-url '%s': it must start "
                                      "with http:// or https://", arg);
        break;
    case BC_OPT_SINGLE_PUT:
    case BC_OPT_BLOCK_SIZE:
        /* Azure takes blocks from 64 KiB; S3 raises parts below 5 MiB to 5 MiB. */
        if (bc_cli_parse_size(arg, &size) || size < 64 * 1024)
            return bc_cli_usage_error(c->program, "invalid size '%s': give at least 64KiB, "
                                      "e.g. 16MiB", arg);
        if (o->id == BC_OPT_SINGLE_PUT)
            c->store.multipart_threshold = size;
        else
            c->store.part_size = size;
        break;
    case BC_OPT_CONCURRENCY: c->store.concurrency = (int)p->value; break;
    case BC_OPT_MAX_PARTS: c->store.max_parts = (int)p->value; break;
    case BC_OPT_RETRIES: c->store.max_retries = p->value ? (int)p->value : -1; break;
    case 'z':
    case 'j':
    case BC_OPT_SNAPPY:
    case BC_OPT_LZ4:
    case BC_OPT_XZ:
    case BC_OPT_ZSTD:
        if (c->compression && strcmp(c->compression, o->flag + 2))
            return bc_cli_usage_error(c->program, "choose one compression: --%s and --%s both "
                                      "given", c->compression, o->flag + 2);
        c->compression = o->flag + 2;
        break;
    }
    return BC_CLI_GO;
}

int bc_cli_next(bc_cli_parser *p, int argc, char **argv)
{
    for (;;) {
        int id = getopt_long(argc, argv, p->shortopts, p->longopts, NULL);
        if (id == -1)
            return BC_CLI_END;
        const bc_cli_option *o = bc_cli_option_by_id(id, p->tool);
        if (!o && p->shortopts[0] == ':') /* the caller reports '?' and ':' */
            return id;
        if (!o) {
            p->code = bc_cli_usage_error(p->common->program, "unknown or incomplete option");
            return BC_CLI_STOP;
        }
        p->value = 0;
        int code = BC_CLI_GO;
        if (o->choices && optarg)
            code = check_choice(p->common->program, o, optarg);
        if (code == BC_CLI_GO && o->min < o->max)
            code = check_number(p->common->program, o, optarg, &p->value);
        if (o->target == BC_CLI_TO_TOOL && code == BC_CLI_GO)
            return id;
        if (code == BC_CLI_GO)
            code = common_option(p, o, optarg);
        if (code != BC_CLI_GO) {
            p->code = code;
            return BC_CLI_STOP;
        }
        char *field = (char *)p->common + o->field;
        if (o->target == BC_CLI_TO_STRING)
            *(const char **)field = optarg;
        else if (o->target == BC_CLI_TO_LONG)
            *(long *)field = p->value;
    }
}

/* "  -P, --profile NAME" padded to the help's column, then the help. */
static void help_line(const bc_cli_option *o)
{
    char left[128];
    snprintf(left, sizeof left, "  %s%s%s%s%s", o->short_flag ? o->short_flag : "  ",
             o->short_flag ? ", " : "  ", o->flag, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    if (!o->help) {
        printf("%s\n", left);
        return;
    }
    int width = (int)strlen(left);
    printf("%s%*s", left, width <= 30 ? 32 - width : 3, "");
    for (const char *h = o->help; *h; h++) {
        putchar(*h);
        if (*h == '\n')
            printf("%32s", "");
    }
    putchar('\n');
}

void bc_cli_help(const bc_cli_parser *p)
{
    static const char *const headings[] = {
        [BC_CLI_IN_COMPRESSION] = "Compression (one of):",
        [BC_CLI_IN_STORE] = "Store:",
        [BC_CLI_IN_ENCRYPTION] = "Encryption:",
        [BC_CLI_IN_OTHER] = "Other:",
    };
    fputs(p->help, stdout);
    for (int b = BC_CLI_IN_COMPRESSION; b <= BC_CLI_IN_OTHER; b++) {
        int listed = 0, flags = 0;
        for (const bc_cli_option *o = bc_cli_options; o->flag; o++) {
            if ((int)o->block != b || !(o->tools & p->tool) || (o->unlisted & p->tool))
                continue;
            if (!listed++)
                printf("%s\n", headings[b]);
            /* Options without a help line share one line: "-z, --gzip  --lz4". */
            if (!o->help && !o->metavar) {
                flags++;
                printf("  %s%s%s", o->short_flag ? o->short_flag : "",
                       o->short_flag ? ", " : "", o->flag);
                continue;
            }
            if (flags)
                putchar('\n');
            flags = 0;
            help_line(o);
        }
        if (flags)
            putchar('\n');
    }
    fputs(p->help_tail, stdout);
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

int bc_cli_end(const bc_cli_common *c, bc_status st, bc_store *store)
{
    st = bc_cli_finish_output(st);
    if (st != BC_OK && st == c->routine)
        bc_log_info("%s", bc_error_msg());
    else if (st != BC_OK)
        bc_log_error("%s", bc_error_msg());
    bc_store_close(store);
    bc_log_shutdown();
    return bc_status_exit_code(st);
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

void bc_cli_store_args(const bc_cli_common *c, char *out, size_t outlen)
{
    char number[32];
    out[0] = '\0';
    for (const bc_cli_option *o = bc_cli_options; o->flag; o++) {
        if (!o->restore_command)
            continue;
        const char *value = NULL;
        if (o->target == BC_CLI_TO_LONG) {
            long v = *(const long *)((const char *)c + o->field);
            snprintf(number, sizeof number, "%ld", v);
            value = v ? number : NULL;
        } else {
            value = *(const char *const *)((const char *)c + o->field);
        }
        if (!value)
            continue;
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, " %s ", o->flag);
        bc_cli_shell_word(out, outlen, value);
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
