/* cli/options: the option table every tool's command line comes from.
 * Run without arguments, checks the table and what is built from it; run
 * as `test_options TOOL`, prints the long options TOOL takes, one a line,
 * an alias followed by " alias" (tests/helpers/options_check.sh compares
 * them with the man page's OPTIONS section). */
#include "cli/options.h"

#include <getopt.h>
#include <string.h>

#include "check.h"
#include "cli/cli.h"

static const struct tool {
    const char *name;
    unsigned bit;
} tools[] = {
    {"bc-wal-archive", BC_CLI_WAL_ARCHIVE}, {"bc-wal-restore", BC_CLI_WAL_RESTORE},
    {"bc-backup", BC_CLI_BACKUP},           {"bc-restore", BC_CLI_RESTORE},
    {"bc-ls", BC_CLI_LS},                   {"bc-retention", BC_CLI_RETENTION},
    {"bc-verify", BC_CLI_VERIFY},           {"bc-plugin", BC_CLI_PLUGIN},
    {"bc-doctor", BC_CLI_DOCTOR},
};
#define NTOOLS (sizeof tools / sizeof tools[0])

static int list(const char *name)
{
    for (size_t t = 0; t < NTOOLS; t++) {
        if (strcmp(tools[t].name, name) != 0)
            continue;
        for (const bc_cli_option *o = bc_cli_options; o->flag; o++)
            if (o->tools & tools[t].bit)
                printf("%s%s\n", o->flag,
                       bc_cli_option_by_id(o->id, tools[t].bit) != o ? " alias" : "");
        return 0;
    }
    fprintf(stderr, "test_options: unknown tool %s\n", name);
    return 2;
}

/* Each row is well-formed, and no tool has two rows of one flag or letter. */
static void check_rows(void)
{
    for (const bc_cli_option *o = bc_cli_options; o->flag; o++) {
        CHECK(strncmp(o->flag, "--", 2) == 0 && o->flag[2]);
        CHECK(o->tools && !(o->tools & ~BC_CLI_ALL_TOOLS));
        CHECK((o->unlisted & ~o->tools) == 0);
        if (o->short_flag)
            CHECK(o->short_flag[0] == '-' && o->short_flag[1] == o->id && !o->short_flag[2]);
        else /* a letter without its short form: an alias (--aws-profile) */
            CHECK(o->id >= BC_OPT_HELP || bc_cli_option_by_id(o->id, o->tools) != o);
        if (o->target == BC_CLI_TO_STRING || o->target == BC_CLI_TO_LONG)
            CHECK(o->field > 0 && o->field < sizeof(bc_cli_common));
        if (o->restore_command)
            CHECK(o->target == BC_CLI_TO_STRING || o->target == BC_CLI_TO_LONG);
        for (const bc_cli_option *p = bc_cli_options; p < o; p++) {
            if (!(p->tools & o->tools))
                continue;
            CHECK(strcmp(p->flag, o->flag) != 0);
            /* a second row of an id is an alias: it shows nowhere */
            if (p->id == o->id)
                CHECK(o->block == BC_CLI_IN_TOOL && !o->help && p->arg == o->arg);
        }
    }
    for (size_t t = 0; t < NTOOLS; t++) {
        size_t n = 0;
        for (const bc_cli_option *o = bc_cli_options; o->flag; o++)
            n += (o->tools & tools[t].bit) != 0;
        CHECK(n <= BC_CLI_MAX_OPTIONS);
    }
}

static void check_parser(void)
{
    bc_cli_common c = {.program = "bc-backup"};
    bc_cli_parser p;
    bc_cli_parser_init(&p, &c, BC_CLI_BACKUP, "", "", 0);
    for (const char *want = "zjePtvqVhpUdJSn"; *want; want++)
        CHECK(strchr(p.shortopts, *want) != NULL);
    CHECK(strstr(p.shortopts, "P:") && strstr(p.shortopts, "J:") && !strstr(p.shortopts, "z:"));
    CHECK(!strchr(p.shortopts, 'R') && !strchr(p.shortopts, 'r'));
    size_t n = 0;
    while (p.longopts[n].name)
        n++;
    CHECK(n > 40);
    bc_cli_parser_init(&p, &c, BC_CLI_PLUGIN, "", "", 1);
    CHECK(strcmp(p.shortopts, ":vqV") == 0);

    /* the shared options land in c; a tool option comes back with its number */
    char *argv[] = {"bc-backup", "--endpoint-url", "http://h:9000", "-P", "p", "--zstd",
                    "--compression-level", "5", "--read-timeout=30", "-J", "7", "--max-retries",
                    "0", "--azure-credential", "default", "url", "srv", NULL};
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1, opt;
    optind = 0;
    bc_cli_parser_init(&p, &c, BC_CLI_BACKUP, "", "", 0);
    opt = bc_cli_next(&p, argc, argv);
    CHECK(opt == 'J' && p.value == 7);
    CHECK(bc_cli_next(&p, argc, argv) == BC_CLI_END && optind == argc - 2);
    CHECK(c.store.endpoint_url && strcmp(c.store.endpoint_url, "http://h:9000") == 0);
    CHECK(c.store.profile && strcmp(c.store.profile, "p") == 0);
    CHECK(c.compression && strcmp(c.compression, "zstd") == 0 && c.level == 5);
    CHECK(c.store.read_timeout == 30 && c.store.max_retries == -1);
    CHECK(c.store.credential && strcmp(c.store.credential, "default") == 0);

    /* restore_command's store options, in the table's order */
    char out[512];
    bc_cli_store_args(&c, out, sizeof out);
    CHECK(strcmp(out, " --credential default --endpoint-url http://h:9000 --profile p "
                      "--read-timeout 30") == 0);
    c.store.ca_bundle = "/a dir/ca.pem";
    bc_cli_store_args(&c, out, sizeof out);
    CHECK(strstr(out, " --ca-bundle '/a dir/ca.pem'") != NULL);
}

static void check_words(void)
{
    bc_strv argv = {0};
    CHECK(bc_cli_option_words(&argv, BC_OPT_ENDPOINT_URL, 0, "http://x") == BC_OK);
    CHECK(bc_cli_option_words(&argv, 'e', 1, "AES256") == BC_OK);
    CHECK(bc_cli_option_words(&argv, 'e', 0, "aws:kms") == BC_OK);
    CHECK(bc_cli_option_words(&argv, BC_OPT_IMMEDIATE, 0, NULL) == BC_OK);
    CHECK(argv.n == 7);
    CHECK(argv.n == 7 && strcmp(argv.v[0], "--endpoint-url") == 0 &&
          strcmp(argv.v[2], "-e") == 0 && strcmp(argv.v[4], "--encryption") == 0 &&
          strcmp(argv.v[6], "--immediate-checkpoint") == 0);
    bc_strv_free(&argv);
    CHECK(bc_cli_option_by_flag("--gzip", BC_CLI_BACKUP)->id == 'z');
    CHECK(bc_cli_option_by_flag("--gzip", BC_CLI_LS) == NULL);
    CHECK(bc_cli_option_by_flag("--format", BC_CLI_LS)->choices != NULL);
    CHECK(bc_cli_option_by_flag("--format", BC_CLI_VERIFY)->choices == NULL);
}

int main(int argc, char **argv)
{
    if (argc == 2)
        return list(argv[1]);
    check_rows();
    check_parser();
    check_words();
    return check_report("test_options");
}
