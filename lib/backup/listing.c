/* bc-ls output. Field values, defaults and formats follow barman 3.x:
 * BackupInfo.to_json() (infofile.py), barman-cloud-backup-list's table,
 * ConsoleOutputWriter.render_show_backup() (output.py) and
 * check_archive_usable() (xlog.py).
 * This file holds what every subcommand shares: to_json() and barman's
 * datetime formats; listing_backups.c prints backups and show,
 * listing_wals.c wals and check-empty. */
#include "backup/listing.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/listing_internal.h"
#include "util/pyjson.h"

bool bc_listing_is_none(const char *raw)
{
    return !raw || strcmp(raw, "None") == 0;
}

/* ---- barman's datetime formats ---- */

static bool local_fields(const bc_backup_time *t, struct tm *tm)
{
    time_t local = t->when + t->utc_offset; /* the wall clock the time was written in */
    return gmtime_r(&local, tm) != NULL;
}

/* datetime.ctime(): "Tue Mar  5 14:22:31 2024". */
static void format_ctime(const bc_backup_time *t, char *out, size_t len)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (!local_fields(t, &tm))
        snprintf(out, len, "?");
    else
        snprintf(out, len, "%s %s %2d %02d:%02d:%02d %04d", days[tm.tm_wday], months[tm.tm_mon],
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

void bc_listing_format_datetime(const bc_backup_time *t, bool full, char *out, size_t len)
{
    struct tm tm;
    if (!local_fields(t, &tm)) {
        snprintf(out, len, "?");
        return;
    }
    size_t n = strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
    if (!full)
        return;
    if (t->usec)
        n += (size_t)snprintf(out + n, len - n, ".%06d", (int)t->usec);
    int off = t->utc_offset < 0 ? -t->utc_offset : t->utc_offset;
    n += (size_t)snprintf(out + n, len - n, "%c%02d:%02d", t->utc_offset < 0 ? '-' : '+',
                          off / 3600, off / 60 % 60);
    if (off % 60)
        snprintf(out + n, len - n, ":%02d", off % 60);
}

/* ---- BackupInfo.to_json() ---- */

/* BackupInfo's fields in barman 3.x, in name order. */
static const char *const barman_fields[] = {
    "backup_label", "backup_name", "begin_offset", "begin_time", "begin_wal", "begin_xlog",
    "compression", "config_file", "copy_stats", "deduplicated_size", "end_offset", "end_time",
    "end_wal", "end_xlog", "error", "hba_file", "ident_file", "included_files", "mode",
    "pgdata", "server_name", "size", "snapshots_info", "status", "systemid", "tablespaces",
    "timeline", "version", "xlog_segment_size",
};

static bool key_in(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

#define KEY_IN(key, ...) \
    key_in(key, (const char *const[]){__VA_ARGS__}, \
           sizeof (const char *const[]){__VA_ARGS__} / sizeof(const char *))

static json_t *tablespaces_json(const bc_backup_info *info, const char *raw)
{
    bc_tablespace *list;
    size_t count;
    if (bc_backup_info_get_tablespaces(info, &list, &count) != BC_OK)
        return json_stringn_nocheck(raw, strlen(raw));
    if (count == 0)
        return json_null(); /* barman loads an empty list as None */
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < count; i++)
        if (json_array_append_new(arr, json_pack("[s, I, s]", list[i].name,
                                                 (json_int_t)list[i].oid, list[i].location))) {
            json_decref(arr);
            arr = NULL;
        }
    bc_tablespaces_free(list, count);
    return arr;
}

/* One field as to_json() gives it; raw is NULL when the file lacks it. */
static json_t *field_json(const bc_backup_info *info, const char *key, const char *raw)
{
    int64_t number;
    bc_backup_time t;
    char text[64];
    if (!raw) { /* barman's defaults */
        if (strcmp(key, BC_BI_STATUS) == 0)
            return json_string("EMPTY");
        if (strcmp(key, BC_BI_XLOG_SEGMENT_SIZE) == 0)
            return json_integer(BC_BI_DEFAULT_XLOG_SEGMENT_SIZE);
        return json_null();
    }
    if (bc_listing_is_none(raw))
        return json_null();
    if (KEY_IN(key, "version", "timeline", "begin_offset", "end_offset", "size",
               "deduplicated_size", "xlog_segment_size", "cluster_size") &&
        bc_backup_info_get_int(info, key, &number) == BC_OK)
        return json_integer(number);
    if (KEY_IN(key, "begin_time", "end_time") &&
        bc_backup_info_get_time(info, key, &t) == BC_OK) {
        format_ctime(&t, text, sizeof text);
        return json_string(text);
    }
    if (strcmp(key, BC_BI_TABLESPACES) == 0)
        return tablespaces_json(info, raw);
    if (strcmp(key, BC_BI_BACKUP_LABEL) == 0) {
        /* to_dict() keeps the dumped form: repr() of the label, which is
         * the text of the file; an empty label dumps as None. */
        char *label = NULL;
        bool empty = bc_backup_info_get_backup_label(info, &label) == BC_OK && !*label;
        free(label);
        if (empty)
            return json_null();
    } else if (KEY_IN(key, "copy_stats", "included_files", "snapshots_info")) {
        json_t *v = bc_pyjson_from_literal(raw);
        if (v)
            return v;
    }
    return json_stringn_nocheck(raw, strlen(raw));
}

json_t *bc_listing_backup_to_json(const bc_backup_info *info, const char *backup_id)
{
    const size_t nfields = sizeof barman_fields / sizeof barman_fields[0];
    size_t count = bc_backup_info_count(info), i = 0, k = 0;
    json_t *obj = json_object();
    bool ok = obj != NULL;
    /* Merge barman's fields with the file's keys, both in name order. */
    while (ok && (i < count || k < nfields)) {
        const char *key = NULL, *raw = NULL;
        if (i < count)
            bc_backup_info_entry(info, i, &key, &raw);
        int order = i >= count ? 1 : k >= nfields ? -1 : strcmp(key, barman_fields[k]);
        if (order > 0) {
            key = barman_fields[k++];
            raw = NULL;
        } else {
            i++;
            k += order == 0;
        }
        if (KEY_IN(key, "backup_name", "snapshots_info") && bc_listing_is_none(raw))
            continue; /* barman's _hide_if_null */
        ok = json_object_set_new(obj, key, field_json(info, key, raw)) == 0;
    }
    if (ok)
        ok = json_object_set_new(obj, "backup_id",
                                 json_stringn_nocheck(backup_id, strlen(backup_id))) == 0;
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

bc_status bc_listing_print_json(FILE *out, json_t *v)
{
    if (!v)
        return bc_oom();
    bc_pyjson_write(out, v);
    putc('\n', out);
    json_decref(v);
    return BC_OK;
}
