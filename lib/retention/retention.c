/* Loading what retention decides on, finding backups, the report. */
#include "retention/retention_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "layout/base.h"
#include "util/buffer.h"
#include "util/log.h"

#define MAX_ANNOTATION_SIZE 4096

static bc_status grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return BC_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, ncap * size);
    if (!p)
        return bc_oom();
    *items = p;
    *cap = ncap;
    return BC_OK;
}

typedef struct loader {
    bc_retention *r;
    size_t cap;
} loader;

static bc_status dir_for(loader *l, const char *id, size_t idlen, bc_backup_dir **out)
{
    bc_retention *r = l->r;
    /* Listings come in key order: a folder's objects are consecutive. */
    if (r->n && strlen(r->backups[r->n - 1].id) == idlen &&
        memcmp(r->backups[r->n - 1].id, id, idlen) == 0) {
        *out = &r->dirs[r->n - 1];
        return BC_OK;
    }
    size_t cap = l->cap;
    bc_status st = grow((void **)&r->backups, &cap, r->n, sizeof *r->backups);
    if (st == BC_OK)
        st = grow((void **)&r->dirs, &l->cap, r->n, sizeof *r->dirs);
    if (st != BC_OK)
        return st;
    bc_retention_backup *b = &r->backups[r->n];
    memset(b, 0, sizeof *b);
    memset(&r->dirs[r->n], 0, sizeof r->dirs[r->n]);
    snprintf(b->id, sizeof b->id, "%.*s", (int)idlen, id);
    *out = &r->dirs[r->n++];
    return BC_OK;
}

static int collect_object(void *ctx, const bc_object_info *obj)
{
    loader *l = ctx;
    const char *rel = obj->key + l->r->base_len;
    const char *slash = strchr(rel, '/');
    if (!slash || slash == rel || (size_t)(slash - rel) >= sizeof l->r->backups->id) {
        bc_log_warning("leaving alone %s: not inside a backup folder", obj->key);
        return 0;
    }
    bc_backup_dir *d = NULL;
    bc_status st = dir_for(l, rel, (size_t)(slash - rel), &d);
    size_t cap = d ? d->cap : 0;
    if (st == BC_OK)
        st = grow((void **)&d->keys, &cap, d->nkeys, sizeof *d->keys);
    if (st == BC_OK) {
        d->cap = cap;
        if (!(d->keys[d->nkeys] = strdup(obj->key)))
            st = bc_oom();
    }
    if (st != BC_OK)
        return st;
    d->nkeys++;
    bc_base_object o;
    switch (bc_base_object_parse(slash + 1, &o)) {
    case BC_BASE_INFO: d->has_info_key = 1; break;
    case BC_BASE_DATA:
    case BC_BASE_TABLESPACE: d->has_archives = 1; break;
    case BC_BASE_ANNOTATION: d->keep_key |= strcmp(o.annotation, "keep") == 0; break;
    default: break;
    }
    return 0;
}

static bc_status read_keep(bc_retention *r, const char *id, bc_keep_target *target)
{
    char key[1024];
    bc_buffer buf = {.limit = MAX_ANNOTATION_SIZE};
    bc_status st = bc_base_keep_key(bc_store_prefix(r->store), r->opts.server, id, key,
                                    sizeof key);
    if (st == BC_OK)
        st = bc_store_get(r->store, key, bc_buffer_sink, &buf);
    *target = BC_KEEP_NONE;
    if (st == BC_OK) {
        /* barman-cloud reads the first line, newline included. */
        const unsigned char *nl = buf.len ? memchr(buf.data, '\n', buf.len) : NULL;
        size_t len = nl ? (size_t)(nl - buf.data) + 1 : buf.len;
        *target = bc_keep_target_parse((const char *)buf.data, len);
    }
    bc_buffer_free(&buf);
    return st == BC_ERR_NOTFOUND ? BC_OK : st;
}

/* Fills what the rules need from a parsed backup.info. */
static void describe(bc_retention_backup *b, bc_backup_dir *d, const bc_backup_info *info)
{
    const char *s;
    int64_t tli;
    bc_backup_time t;
    d->info = (bc_backup_info *)info;
    b->readable = 1;
    if (bc_backup_info_get_status(info, &b->status) != BC_OK)
        b->status = BC_BACKUP_EMPTY;
    if (bc_backup_info_get_time(info, "end_time", &t) == BC_OK) {
        b->has_end_time = 1;
        b->end_time = t.when;
    }
    if (bc_backup_info_get_int(info, "timeline", &tli) == BC_OK && tli > 0 && tli <= 0xFFFFFFFF)
        b->timeline = (uint32_t)tli;
    if (bc_backup_info_get_str(info, "begin_wal", &s) == BC_OK && bc_wal_classify(s) == BC_WAL_SEGMENT)
        snprintf(b->begin_wal, sizeof b->begin_wal, "%s", s);
    if (bc_backup_info_get_str(info, "end_wal", &s) == BC_OK && bc_wal_classify(s) == BC_WAL_SEGMENT)
        snprintf(b->end_wal, sizeof b->end_wal, "%s", s);
    if (b->status == BC_BACKUP_FAILED && bc_backup_info_get_str(info, "error", &s) == BC_OK)
        d->pending = !strcmp(s, BC_RETENTION_DELETING_POLICY) ? 1
                   : !strcmp(s, BC_RETENTION_DELETING_ONE)    ? 2
                                                               : 0;
}

/* Keeps both arrays in id order (folder names sort like ids but for the
 * rare id that is another's prefix). */
static void sort_by_id(bc_retention *r)
{
    for (size_t i = 1; i < r->n; i++)
        for (size_t j = i; j > 0 && strcmp(r->backups[j - 1].id, r->backups[j].id) > 0; j--) {
            bc_retention_backup b = r->backups[j];
            bc_backup_dir d = r->dirs[j];
            r->backups[j] = r->backups[j - 1];
            r->dirs[j] = r->dirs[j - 1];
            r->backups[j - 1] = b;
            r->dirs[j - 1] = d;
        }
}

/* Reads the backup.info of every folder the listing showed one in, into
 * the catalog (kept in id order, as bc_catalog_load keeps it). */
static bc_status read_infos(bc_retention *r)
{
    if (r->n && !(r->catalog.items = calloc(r->n, sizeof *r->catalog.items)))
        return bc_oom();
    for (size_t i = 0; i < r->n; i++) {
        bc_retention_backup *b = &r->backups[i];
        bc_backup_dir *d = &r->dirs[i];
        char key[1024];
        bc_backup_info *info = NULL;
        if (!d->has_info_key)
            continue;
        bc_status st = bc_base_info_key(bc_store_prefix(r->store), r->opts.server, b->id, key,
                                        sizeof key);
        if (st == BC_OK)
            st = bc_catalog_read_info(r->store, key, &info);
        if (st == BC_ERR_NOTFOUND) {
            d->has_info_key = 0; /* deleted since the listing */
        } else if (st == BC_ERR_DATA) {
            bc_log_warning("backup %s: backup.info cannot be read (%s); leaving the backup "
                           "alone (delete it with -b %s once you have looked at it)", b->id,
                           bc_error_msg(), b->id);
            r->catalog.unreadable++;
            r->unreadable++;
        } else if (st != BC_OK) {
            return st;
        } else {
            bc_catalog_entry *e = &r->catalog.items[r->catalog.n++];
            snprintf(e->id, sizeof e->id, "%s", b->id);
            e->info = info;
            describe(b, d, info);
        }
    }
    return BC_OK;
}

static bc_status classify_dirs(bc_retention *r)
{
    for (size_t i = 0; i < r->n; i++) {
        bc_retention_backup *b = &r->backups[i];
        bc_backup_dir *d = &r->dirs[i];
        if (!d->has_info_key && d->has_archives) {
            bc_log_info("backup %s has archives but no backup.info (in progress, or "
                        "abandoned): leaving it alone", b->id);
        }
        if (d->keep_key) {
            bc_status st = read_keep(r, b->id, &b->keep);
            if (st != BC_OK)
                return st;
        }
    }
    return BC_OK;
}

bc_status bc_retention_load(bc_store *store, const bc_retention_opts *opts, bc_retention **out)
{
    char prefix[1024];
    bc_retention *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return bc_oom();
    r->store = store;
    r->opts = *opts;
    if (!r->opts.batch_size)
        r->opts.batch_size = 1000;
    loader l = {.r = r};
    bc_status st = bc_base_dir_key(bc_store_prefix(store), opts->server, prefix, sizeof prefix);
    /* One listing of everything under base/ shows each folder's objects,
     * backup.info included: the catalog is read from it, not listed again. */
    r->base_len = strlen(prefix);
    if (st == BC_OK)
        st = bc_store_list(store, prefix, NULL, collect_object, &l);
    if (st == BC_OK) {
        sort_by_id(r);
        st = read_infos(r);
    }
    if (st == BC_OK)
        st = classify_dirs(r);
    if (st != BC_OK) {
        bc_retention_free(r);
        return st;
    }
    *out = r;
    return BC_OK;
}

void bc_retention_free(bc_retention *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        for (size_t j = 0; j < r->dirs[i].nkeys; j++)
            free(r->dirs[i].keys[j]);
        free(r->dirs[i].keys);
    }
    for (size_t i = 0; i < r->ndeleted; i++)
        free(r->deleted[i]);
    free(r->deleted);
    free(r->dirs);
    free(r->backups);
    free(r->wal_gone);
    bc_wal_inventory_free(&r->wals);
    bc_catalog_free(&r->catalog);
    free(r);
}

size_t bc_retention_unreadable(const bc_retention *r)
{
    return r->unreadable;
}

bc_status bc_retention_find(const bc_retention *r, const char *which, size_t *index)
{
    const bc_catalog_entry *e = NULL;
    const char *id = which;
    int exact = 0;
    for (size_t i = 0; i < r->n; i++)
        exact |= strcmp(r->backups[i].id, which) == 0;
    if (!exact) {
        bc_status st = bc_catalog_find(&r->catalog, r->opts.server, which, &e);
        if (st != BC_OK)
            return st;
        id = e->id;
    }
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->backups[i].id, id) == 0 && !r->backups[i].removed) {
            *index = i;
            return BC_OK;
        }
    return bc_error(BC_ERR_NOTFOUND, "unknown backup '%s' for server %s", which, r->opts.server);
}

/* --- report --- */

static json_t *time_json(int have, time_t when)
{
    char text[32];
    struct tm tm;
    if (!have || !gmtime_r(&when, &tm) || !strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(text);
}

static json_t *id_list(const bc_retention *r, int (*pick)(const bc_retention *, size_t))
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n; i++)
        if (pick(r, i))
            json_array_append_new(list, json_string(r->backups[i].id));
    return list;
}

/* Still in the store after this run: readable or not, finished or not. A
 * dry run removed nothing. */
static int is_in_store(const bc_retention *r, size_t i)
{
    return !r->backups[i].removed || r->opts.dry_run;
}

static int is_unreadable(const bc_retention *r, size_t i)
{
    return !r->backups[i].readable && r->dirs[i].has_info_key;
}

/* A folder with archives but no backup.info (barman-cloud's, or bc's
 * before it reserved ids), or a backup still STARTED: running, or killed. */
static int is_in_progress(const bc_retention *r, size_t i)
{
    const bc_retention_backup *b = &r->backups[i];
    if (b->readable)
        return b->status == BC_BACKUP_STARTED && is_in_store(r, i);
    return !r->dirs[i].has_info_key && r->dirs[i].has_archives;
}

/* When a failed backup failed: its end time, else its start. */
static int failed_time(const bc_retention *r, size_t i, time_t *when)
{
    bc_backup_time t;
    const bc_backup_info *info = r->dirs[i].info;
    if (bc_backup_info_get_time(info, "end_time", &t) != BC_OK &&
        bc_backup_info_get_time(info, "begin_time", &t) != BC_OK)
        return 0;
    *when = t.when;
    return 1;
}

bc_status bc_retention_report(const bc_retention *r, const bc_retention_policy *policy,
                              FILE *out)
{
    const bc_retention_backup *first = NULL, *last = NULL;
    int have_failed = 0;
    time_t failed_at = 0;
    json_int_t done = 0, failed = 0, kept = 0, other = 0;
    for (size_t i = 0; i < r->n; i++) {
        const bc_retention_backup *b = &r->backups[i];
        time_t when;
        if (!b->readable || b->removed || r->dirs[i].pending)
            continue;
        if (b->status == BC_BACKUP_DONE) {
            done++;
            kept += b->keep != BC_KEEP_NONE;
            first = first ? first : b;
            last = b;
        } else if (b->status == BC_BACKUP_FAILED) {
            failed++;
            if (failed_time(r, i, &when) && (!have_failed || when > failed_at)) {
                failed_at = when;
                have_failed = 1;
            }
        } else {
            other++;
        }
    }
    char policy_text[64];
    if (policy)
        bc_retention_policy_format(policy, policy_text, sizeof policy_text);
    json_t *deleted = json_array();
    for (size_t i = 0; deleted && i < r->ndeleted; i++)
        json_array_append_new(deleted, json_string(r->deleted[i]));
    json_t *doc = json_pack(
        "{s:s, s:o, s:b, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:o, s:I, s:o, s:o, s:o}",
        "server_name", r->opts.server,
        "retention_policy", policy ? json_string(policy_text) : json_null(),
        "dry_run", r->opts.dry_run,
        "first_recoverability_point", time_json(first && first->has_end_time, first ? first->end_time : 0),
        "last_successful_backup_time", time_json(last && last->has_end_time, last ? last->end_time : 0),
        "last_failed_backup_time", time_json(have_failed, failed_at),
        "backups", "done", done, "kept", kept, "failed", failed, "other", other,
        "deleted_backups", deleted ? deleted : json_null(),
        "deleted_wal_files", (json_int_t)r->deleted_wals,
        "unreadable_backups", id_list(r, is_unreadable),
        "backups_in_progress", id_list(r, is_in_progress),
        "backups_in_store", id_list(r, is_in_store));
    if (!doc)
        return bc_error(BC_ERR_INTERNAL, "out of memory building the report");
    int rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (rc != 0 || fputc('\n', out) == EOF)
        return bc_error(BC_ERR_IO, "writing the report failed");
    return BC_OK;
}
