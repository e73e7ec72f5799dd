/* An ObjectStore's configuration as the options of each bc tool: what the
 * barman-cloud Go library gives barman-cloud-* for the same fields, spelled
 * as our tools take them.
 *
 * Fields with no option here, and why:
 *   serverName        a positional argument, the caller's (the ObjectStore
 *                     forbids it anyway: the Cluster's plugin parameter
 *                     names the server);
 *   wal.maxParallel   upstream runs that many barman-cloud-wal-archive /
 *                     -wal-restore at once; our tools do it themselves with
 *                     --max-parallel / --prefetch, which need a spool
 *                     directory: used only when the caller gives one. */
#include "plugin/objectstore_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "kube/kube.h"

const char *bc_objectstore_destination(const json_t *configuration)
{
    const char *dest;
    return bc_json_string(configuration, "destinationPath", BC_OS_FIELD, "destinationPath", &dest) == BC_OK
               ? dest : NULL;
}

/* wal.compression / data.compression: our flag is --NAME for each codec
 * upstream allows (barman-cloud-backup takes gzip, bzip2, snappy and lz4;
 * bc-backup also xz and zstd, accepted here too): the option table's
 * compression flags. */
static bc_status add_compression(bc_strv *argv, const json_t *section, const char *path)
{
    const char *name;
    bc_status st = bc_json_string(section, "compression", BC_OS_FIELD, path, &name);
    if (st != BC_OK || !name)
        return st;
    for (const bc_cli_option *o = bc_cli_options; o->flag; o++)
        if (o->block == BC_CLI_IN_COMPRESSION && o->arg == no_argument &&
            strcmp(name, o->flag + 2) == 0)
            return bc_cli_option_words(argv, o->id, 0, NULL);
    return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: unknown compression '%s': use gzip, bzip2, "
                    "snappy, lz4, xz or zstd", path, name);
}

/* Server-side encryption (S3; the other providers' backends ignore it, as
 * barman-cloud's do). */
static bc_status add_encryption(bc_strv *argv, const json_t *section, const char *path,
                                int short_form)
{
    const char *sse;
    bc_status st = bc_json_string(section, "encryption", BC_OS_FIELD, path, &sse);
    if (st != BC_OK || !sse)
        return st;
    if (strcmp(sse, "AES256") && strcmp(sse, "aws:kms"))
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: unknown encryption '%s': use AES256 or "
                        "aws:kms", path, sse);
    return bc_cli_option_words(argv, 'e', short_form, sse);
}

/* A positive integer at section.member, capped at `most` (what our tools
 * take); 0 when absent or 0 (Go's "not set"). */
static bc_status get_count(const json_t *section, const char *member, const char *path,
                           long most, long *out)
{
    const json_t *v = json_is_object(section) ? json_object_get(section, member) : NULL;
    *out = 0;
    if (!v || json_is_null(v))
        return BC_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: expected a positive integer", path);
    json_int_t n = json_integer_value(v);
    *out = n > most ? most : (long)n;
    return BC_OK;
}

/* tags / historyTags: one "--tags KEY,VALUE" a tag (our tools gather
 * repeated options; upstream gives every pair after one --tags). */
static bc_status add_tags(bc_strv *argv, const json_t *cfg, const char *member, int option)
{
    const json_t *tags, *value;
    const char *key;
    bc_status st = bc_json_object(cfg, member, BC_OS_FIELD, member, &tags);
    if (st != BC_OK || !tags)
        return st;
    if (json_object_size(tags) > BC_CLI_MAX_TAGS)
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: %zu tags, at most %d are taken", member,
                        json_object_size(tags), BC_CLI_MAX_TAGS);
    json_object_foreach((json_t *)tags, key, value) {
        if (!json_is_string(value))
            return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s.%s: expected a string", member, key);
        /* The tools split KEY,VALUE at its one comma. */
        if (!*key || strchr(key, ',') || strchr(json_string_value(value), ','))
            return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s.%s: tag keys must be non-empty, and "
                            "neither keys nor values may hold a comma", member, key);
        st = bc_strv_add(argv, bc_cli_flag(option));
        if (st == BC_OK)
            st = bc_strv_addf(argv, "%s,%s", key, json_string_value(value));
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

/* What an argument names for the duplicate check: the part before '='. */
static size_t key_length(const char *arg)
{
    return strcspn(arg, "=");
}

static int same_key(const char *a, const char *b)
{
    size_t n = key_length(a);
    return n == key_length(b) && strncmp(a, b, n) == 0;
}

/* The configuration's additional command arguments, passed as they are,
 * upstream's way: an argument is left out when its key (the text before
 * '=') is empty, is the whole of an argument already in argv, or is the key
 * of one that was there before these. */
static bc_status add_extra(bc_strv *argv, const json_t *section, const char *member,
                           const char *path)
{
    const json_t *args = json_is_object(section) ? json_object_get(section, member) : NULL;
    const json_t *arg;
    size_t i, before = argv->n;
    if (!args || json_is_null(args))
        return BC_OK;
    if (!json_is_array(args))
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s: expected a list of strings", path);
    json_array_foreach(args, i, arg) {
        if (!json_is_string(arg))
            return bc_error(BC_ERR_USAGE, BC_OS_FIELD "%s[%zu]: expected a string", path, i);
        const char *a = json_string_value(arg);
        size_t n = key_length(a);
        int skip = n == 0;
        for (size_t j = 0; !skip && j < argv->n; j++)
            skip = (strlen(argv->v[j]) == n && strncmp(argv->v[j], a, n) == 0) ||
                   (j < before && same_key(argv->v[j], a));
        if (!skip) {
            bc_status st = bc_strv_add(argv, a);
            if (st != BC_OK)
                return st;
        }
    }
    return BC_OK;
}

static bc_status add_count(bc_strv *argv, int option, long n)
{
    char number[32];
    snprintf(number, sizeof number, "%ld", n);
    return bc_cli_option_words(argv, option, 0, number);
}

/* bc-wal-archive --max-parallel / bc-wal-restore --prefetch from
 * wal.maxParallel, with the caller's spool directory. */
static bc_status add_parallel(const bc_objectstore_env *os, bc_strv *argv, const json_t *wal,
                              int option)
{
    long n;
    bc_status st = get_count(wal, "maxParallel", "wal.maxParallel", 64, &n);
    if (st != BC_OK || n <= 1 || !os->spool_dir)
        return st;
    st = add_count(argv, option, n);
    return st ? st : bc_cli_option_words(argv, BC_OPT_SPOOL_DIR, 0, os->spool_dir);
}

static bc_status wal_archive_args(const bc_objectstore_env *os, const json_t *wal, bc_strv *argv)
{
    const json_t *cfg = os->configuration;
    bc_status st = add_compression(argv, wal, "wal.compression");
    if (st == BC_OK)
        st = add_encryption(argv, wal, "wal.encryption", 1);
    if (st == BC_OK)
        st = add_tags(argv, cfg, "tags", BC_OPT_TAGS);
    if (st == BC_OK)
        st = add_tags(argv, cfg, "historyTags", BC_OPT_HISTORY_TAGS);
    if (st == BC_OK)
        st = add_parallel(os, argv, wal, BC_OPT_MAX_PARALLEL);
    return st ? st : add_extra(argv, wal, "archiveAdditionalCommandArgs",
                               "wal.archiveAdditionalCommandArgs");
}

static bc_status backup_args(const bc_objectstore_env *os, const json_t *data, bc_strv *argv)
{
    int immediate;
    long jobs;
    bc_status st = add_compression(argv, data, "data.compression");
    if (st == BC_OK)
        st = add_encryption(argv, data, "data.encryption", 0);
    if (st == BC_OK)
        st = bc_json_bool(data, "immediateCheckpoint", BC_OS_FIELD, "data.immediateCheckpoint", &immediate);
    if (st == BC_OK && immediate)
        st = bc_cli_option_words(argv, BC_OPT_IMMEDIATE, 0, NULL);
    /* Our --jobs takes 1-64 parts in flight; barman's, as many processes. */
    if (st == BC_OK)
        st = get_count(data, "jobs", "data.jobs", 64, &jobs);
    if (st == BC_OK && jobs > 0)
        st = add_count(argv, 'J', jobs);
    if (st == BC_OK)
        st = add_tags(argv, os->configuration, "tags", BC_OPT_TAGS);
    /* historyTags concern WAL history files only. */
    return st ? st : add_extra(argv, data, "additionalCommandArgs", "data.additionalCommandArgs");
}

bc_status bc_objectstore_tool_args(const bc_objectstore_env *os, bc_tool tool, bc_strv *argv,
                                   bc_strv *env)
{
    const json_t *cfg = os->configuration, *wal, *data;
    if (!json_is_object(cfg))
        return bc_error(BC_ERR_USAGE, "spec.configuration: missing");
    if (!bc_objectstore_destination(cfg))
        return bc_error(BC_ERR_USAGE, BC_OS_FIELD "destinationPath: missing");
    bc_status st = bc_json_object(cfg, "wal", BC_OS_FIELD, "wal", &wal);
    if (st == BC_OK)
        st = bc_json_object(cfg, "data", BC_OS_FIELD, "data", &data);
    if (st == BC_OK)
        st = bc_os_store_args(os, argv, env);
    if (st != BC_OK)
        return st;
    switch (tool) {
    case BC_TOOL_WAL_ARCHIVE:
        return wal_archive_args(os, wal, argv);
    case BC_TOOL_WAL_RESTORE:
        st = add_parallel(os, argv, wal, BC_OPT_PREFETCH);
        return st ? st : add_extra(argv, wal, "restoreAdditionalCommandArgs",
                                   "wal.restoreAdditionalCommandArgs");
    case BC_TOOL_BACKUP:
        return backup_args(os, data, argv);
    case BC_TOOL_RESTORE:
        return add_extra(argv, data, "restoreAdditionalCommandArgs",
                         "data.restoreAdditionalCommandArgs");
    case BC_TOOL_RETENTION:
    case BC_TOOL_LS:
    case BC_TOOL_VERIFY:
        return BC_OK;
    }
    return bc_error(BC_ERR_INTERNAL, "unknown tool %d", (int)tool);
}

bc_status bc_kube_secret_reader(void *ctx, const char *secret_name, const char *key,
                                char **value, size_t *len)
{
    const bc_kube_secrets *ks = ctx;
    /* the client registers the value for redaction: a tool echoing it
     * never puts it in a log */
    return bc_kube_secret_value(ks->kube, ks->ns, secret_name, key, value, len);
}
