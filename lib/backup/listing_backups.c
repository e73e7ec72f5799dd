/* bc-ls backups and show: barman-cloud-backup-list's table and
 * ConsoleOutputWriter.render_show_backup() (output.py) on the console, and
 * in JSON BackupInfo.to_json() of each backup (listing.c). */
#include "backup/listing.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backup/catalog.h"
#include "backup/listing_internal.h"
#include "layout/base.h"
#include "util/buffer.h"
#include "util/pyjson.h"

/* ---- backups: barman-cloud-backup-list ---- */

typedef struct keep_ids {
    char **ids;
    size_t n, cap, prefix_len;
} keep_ids;

static void keep_ids_free(keep_ids *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->ids[i]);
    free(k->ids);
}

static int collect_keep(void *ctx, const bc_object_info *obj)
{
    static const char suffix[] = "/annotations/keep";
    keep_ids *k = ctx;
    const char *rel = obj->key + k->prefix_len;
    size_t n = strlen(rel), sl = sizeof suffix - 1;
    if (obj->is_prefix || n <= sl || strcmp(rel + n - sl, suffix) || memchr(rel, '/', n - sl))
        return 0;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        char **ids = realloc(k->ids, cap * sizeof *ids);
        if (!ids)
            return bc_oom();
        k->ids = ids;
        k->cap = cap;
    }
    if (!(k->ids[k->n] = strndup(rel, n - sl)))
        return bc_oom();
    k->n++;
    return 0;
}

/* "KEEP:FULL" from the keep annotation's first line, "" without one. One
 * listing finds the annotations, so backups without one cost nothing. */
static bc_status keep_status(bc_store *store, const char *server, const keep_ids *k,
                             const char *backup_id, char *out, size_t outlen)
{
    char key[1200];
    bc_buffer content = {.limit = 4096};
    bool annotated = false;
    out[0] = '\0';
    for (size_t i = 0; i < k->n && !annotated; i++)
        annotated = strcmp(k->ids[i], backup_id) == 0;
    if (!annotated)
        return BC_OK;
    bc_status st = bc_base_keep_key(bc_store_prefix(store), server, backup_id, key, sizeof key);
    if (st == BC_OK)
        st = bc_store_get(store, key, bc_buffer_sink, &content);
    if (st == BC_OK) {
        size_t n = 0;
        while (n < content.len && content.data[n] != '\n' && content.data[n] != '\r')
            n++;
        if (n) {
            snprintf(out, outlen, "KEEP:%.*s", (int)n, (const char *)content.data);
            for (char *c = out + 5; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        }
    }
    bc_buffer_free(&content);
    return st == BC_ERR_NOTFOUND ? BC_OK : st; /* released meanwhile */
}

/* Python's "{:<width}": pads to width code points. */
static void put_padded(FILE *out, const char *s, size_t width)
{
    size_t chars = 0;
    for (const char *p = s; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    fputs(s, out);
    for (; chars < width; chars++)
        putc(' ', out);
}

static void put_row(FILE *out, const char *const cells[5])
{
    static const size_t widths[5] = {20, 25, 30, 17, 20};
    for (int i = 0; i < 5; i++)
        put_padded(out, cells[i], widths[i]);
    putc('\n', out);
}

static bool is_done(const bc_backup_info *info)
{
    bc_backup_status status;
    return bc_backup_info_get_status(info, &status) == BC_OK && status == BC_BACKUP_DONE;
}

static bc_status print_backup_table(bc_store *store, const char *server,
                                    const bc_catalog *catalog, FILE *out)
{
    char prefix[1024];
    keep_ids keep = {0};
    bc_status st = bc_base_dir_key(bc_store_prefix(store), server, prefix, sizeof prefix);
    keep.prefix_len = strlen(prefix);
    if (st == BC_OK && catalog->n)
        st = bc_store_list(store, prefix, NULL, collect_keep, &keep);
    put_row(out, (const char *const[]){"Backup ID", "End Time", "Begin Wal", "Archival Status",
                                       "Name"});
    for (size_t i = 0; st == BC_OK && i < catalog->n; i++) {
        const bc_catalog_entry *e = &catalog->items[i];
        char end_time[64] = "", keep_text[64];
        bc_backup_time t;
        if (!is_done(e->info))
            continue;
        if (bc_backup_info_get_time(e->info, BC_BI_END_TIME, &t) == BC_OK)
            bc_listing_format_datetime(&t, false, end_time, sizeof end_time);
        const char *begin_wal = bc_backup_info_get(e->info, BC_BI_BEGIN_WAL);
        const char *name = bc_backup_info_get(e->info, BC_BI_BACKUP_NAME);
        st = keep_status(store, server, &keep, e->id, keep_text, sizeof keep_text);
        if (st == BC_OK)
            put_row(out, (const char *const[]){e->id, end_time,
                                               bc_listing_is_none(begin_wal) ? "" : begin_wal, keep_text,
                                               bc_listing_is_none(name) ? "" : name});
    }
    keep_ids_free(&keep);
    return st;
}

bc_status bc_listing_backups(bc_store *store, const char *server, bc_listing_format format,
                             FILE *out)
{
    bc_catalog catalog;
    bc_status st = bc_catalog_load(store, server, &catalog);
    if (st != BC_OK)
        return st;
    if (format == BC_LISTING_CONSOLE) {
        st = print_backup_table(store, server, &catalog, out);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; list && i < catalog.n; i++)
            if (json_array_append_new(list, bc_listing_backup_to_json(catalog.items[i].info,
                                                           catalog.items[i].id))) {
                json_decref(list);
                list = NULL;
            }
        st = bc_listing_print_json(out, list ? json_pack("{s:o}", "backups_list", list) : NULL);
    }
    bc_catalog_free(&catalog);
    return st;
}

/* ---- show: barman-cloud-backup-show ---- */

/* barman.utils.pretty_size(). */
static void pretty_size(double size, char *out, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB",
                                        "YiB"};
    size_t i = 0;
    while (fabs(size) >= 1024 && i + 1 < sizeof units / sizeof units[0]) {
        size /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, len, "%lld B", (long long)size);
    else
        snprintf(out, len, "%.1f %s", size, units[i]);
}

/* barman.utils.human_readable_timedelta() of a positive duration. */
static void human_duration(double seconds, char *out, size_t len)
{
    static const char *const names[] = {"day", "hour", "minute", "second"};
    long long us = (long long)(fabs(seconds) * 1e6 + 0.5), total = us / 1000000;
    long long parts[] = {total / 86400, total % 86400 / 3600, total % 3600 / 60, total % 60};
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 4; i++)
        if (parts[i] > 0 && n < len)
            n += (size_t)snprintf(out + n, len - n, "%s%lld %s%s", n ? ", " : "", parts[i],
                                  names[i], parts[i] == 1 ? "" : "s");
    if (us < 1000000)
        snprintf(out, len, "less than one second");
}

static const char *value_or_none(const bc_backup_info *info, const char *key)
{
    const char *raw = bc_backup_info_get(info, key);
    return raw ? raw : "None";
}

/* barman's "  {:<23}: {}" and, nested, "    {:<21}: {}". */
static void put_field(FILE *out, bool nested, const char *label, const char *value)
{
    fputs(nested ? "    " : "  ", out);
    put_padded(out, label, nested ? 21 : 23);
    fprintf(out, ": %s\n", value);
}

static void put_time_field(FILE *out, const bc_backup_info *info, const char *label,
                           const char *key)
{
    bc_backup_time t;
    char text[64];
    if (bc_backup_info_get_time(info, key, &t) == BC_OK)
        bc_listing_format_datetime(&t, true, text, sizeof text);
    else
        snprintf(text, sizeof text, "%s", value_or_none(info, key));
    put_field(out, true, label, text);
}

static double number_in(json_t *obj, const char *key, double fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

/* "Copy time" and "Estimated throughput", from copy_stats. */
static void put_copy_stats(FILE *out, const bc_backup_info *info)
{
    const char *raw = bc_backup_info_get(info, BC_BI_COPY_STATS);
    json_t *stats = bc_listing_is_none(raw) ? NULL : bc_pyjson_from_literal(raw);
    double copy_time = number_in(stats, "copy_time", 0);
    double analysis = number_in(stats, "analysis_time", 0);
    char text[160], part[64];
    int64_t size;
    if (copy_time > 0) {
        human_duration(copy_time, text, sizeof text);
        if (analysis >= 1) {
            human_duration(analysis, part, sizeof part);
            snprintf(text + strlen(text), sizeof text - strlen(text), " + %s startup", part);
        }
        put_field(out, true, "Copy time", text);
        if ((bc_backup_info_get_int(info, BC_BI_DEDUPLICATED_SIZE, &size) == BC_OK && size) ||
            bc_backup_info_get_int(info, BC_BI_SIZE, &size) == BC_OK) {
            pretty_size((double)size / copy_time, part, sizeof part);
            double workers = number_in(stats, "number_of_workers", 1);
            snprintf(text, sizeof text, workers > 1 ? "%s/s (%.0f jobs)" : "%s/s", part, workers);
            put_field(out, true, "Estimated throughput", text);
        }
    }
    json_decref(stats);
}

static void put_backup_details(FILE *out, const bc_backup_info *info)
{
    bc_tablespace *spaces = NULL;
    size_t nspaces = 0;
    char text[1200];
    int64_t size;
    if (bc_backup_info_get_tablespaces(info, &spaces, &nspaces) == BC_OK && nspaces) {
        fputs("  Tablespaces:\n", out);
        for (size_t i = 0; i < nspaces; i++) {
            snprintf(text, sizeof text, "%s (oid: %" PRIu32 ")", spaces[i].location,
                     spaces[i].oid);
            put_field(out, true, spaces[i].name, text);
        }
        fputs("\n", out);
    }
    bc_tablespaces_free(spaces, nspaces);
    fputs("  Base backup information:\n", out);
    if (bc_backup_info_get_int(info, BC_BI_SIZE, &size) == BC_OK) {
        pretty_size((double)size, text, sizeof text);
        put_field(out, true, "Disk usage", text);
    }
    put_field(out, true, "Timeline", value_or_none(info, BC_BI_TIMELINE));
    put_field(out, true, "Begin WAL", value_or_none(info, BC_BI_BEGIN_WAL));
    put_field(out, true, "End WAL", value_or_none(info, BC_BI_END_WAL));
    put_time_field(out, info, "Begin time", BC_BI_BEGIN_TIME);
    put_time_field(out, info, "End time", BC_BI_END_TIME);
    put_copy_stats(out, info);
    put_field(out, true, "Begin Offset", value_or_none(info, BC_BI_BEGIN_OFFSET));
    put_field(out, true, "End Offset", value_or_none(info, BC_BI_END_OFFSET));
    put_field(out, true, "Begin LSN", value_or_none(info, BC_BI_BEGIN_XLOG));
    put_field(out, true, "End LSN", value_or_none(info, BC_BI_END_XLOG));
    fputs("\n", out);
}

static void print_backup_block(FILE *out, const bc_backup_info *info, const char *backup_id)
{
    const char *name = bc_backup_info_get(info, BC_BI_BACKUP_NAME);
    const char *systemid = bc_backup_info_get(info, BC_BI_SYSTEMID);
    const char *error = bc_backup_info_get(info, BC_BI_ERROR);
    bc_backup_status status;
    bool copied = bc_backup_info_get_status(info, &status) == BC_OK &&
                  (status == BC_BACKUP_DONE || status == BC_BACKUP_WAITING_FOR_WALS);
    fprintf(out, "Backup %s:\n", backup_id);
    if (!bc_listing_is_none(name))
        put_field(out, false, "Backup Name", name);
    put_field(out, false, "Server Name", value_or_none(info, BC_BI_SERVER_NAME));
    if (!bc_listing_is_none(systemid) && *systemid)
        put_field(out, false, "System Id", systemid);
    put_field(out, false, "Status", bc_backup_info_get(info, BC_BI_STATUS) ?
                                        value_or_none(info, BC_BI_STATUS) : "EMPTY");
    if (copied) {
        put_field(out, false, "PostgreSQL Version", value_or_none(info, BC_BI_VERSION));
        put_field(out, false, "PGDATA directory", value_or_none(info, BC_BI_PGDATA));
        fputs("\n", out);
        put_backup_details(out, info);
    } else if (!bc_listing_is_none(error) && *error) {
        put_field(out, false, "Error", error);
    }
}

/* An id is read directly, as barman does; anything else needs the catalog. */
static bc_status find_backup(bc_store *store, const char *server, const char *which,
                             bc_catalog *catalog, const bc_backup_info **info,
                             const char **backup_id)
{
    char key[1200];
    memset(catalog, 0, sizeof *catalog);
    if (bc_base_backup_id_check(which) == BC_OK) {
        bc_backup_info *read = NULL;
        bc_status st = bc_base_info_key(bc_store_prefix(store), server, which, key, sizeof key);
        if (st == BC_OK)
            st = bc_catalog_read_info(store, key, &read);
        if (st == BC_ERR_NOTFOUND)
            return bc_error(st, "backup %s for server %s does not exist", which, server);
        if (st != BC_OK)
            return st;
        if (!(catalog->items = calloc(1, sizeof *catalog->items))) {
            bc_backup_info_free(read);
            return bc_oom();
        }
        snprintf(catalog->items[0].id, sizeof catalog->items[0].id, "%s", which);
        catalog->items[0].info = read;
        catalog->n = 1;
        *info = read;
        *backup_id = catalog->items[0].id;
        return BC_OK;
    }
    const bc_catalog_entry *e;
    bc_status st = bc_catalog_load(store, server, catalog);
    if (st == BC_OK)
        st = bc_catalog_find(catalog, server, which, &e);
    if (st == BC_OK) {
        *info = e->info;
        *backup_id = e->id;
    }
    return st;
}

bc_status bc_listing_show(bc_store *store, const char *server, const char *which,
                          bc_listing_format format, FILE *out)
{
    bc_catalog catalog;
    const bc_backup_info *info = NULL;
    const char *backup_id = NULL;
    bc_status st = find_backup(store, server, which, &catalog, &info, &backup_id);
    if (st == BC_OK && format == BC_LISTING_CONSOLE) {
        print_backup_block(out, info, backup_id);
    } else if (st == BC_OK) {
        /* barman's top level: {server_name: backup}, json.dumps(None) "null" */
        const char *server_name = bc_backup_info_get(info, BC_BI_SERVER_NAME);
        json_t *backup = bc_listing_backup_to_json(info, backup_id);
        st = bc_listing_print_json(out, backup ? json_pack("{s:o}", bc_listing_is_none(server_name) ? "null"
                                                                            : server_name,
                                                backup)
                                    : NULL);
    }
    bc_catalog_free(&catalog);
    return st;
}
