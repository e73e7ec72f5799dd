#include "backup/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/base.h"
#include "util/buffer.h"
#include "util/log.h"

#define MAX_INFO_SIZE (4 * 1024 * 1024)

bc_status bc_catalog_read_info(bc_store *store, const char *key, bc_backup_info **out)
{
    bc_buffer buf = {.limit = MAX_INFO_SIZE};
    bc_status st = bc_store_get(store, key, bc_buffer_sink, &buf);
    if (st == BC_OK)
        st = bc_backup_info_parse((const char *)buf.data, buf.len, out);
    if (st != BC_OK && st != BC_ERR_NOTFOUND)
        bc_error_context(st, "reading %s/%s", bc_store_describe(store), key);
    bc_buffer_free(&buf);
    return st;
}

static bc_status put_info(bc_store *store, const char *server, const char *backup_id,
                          const bc_backup_info *info, int if_absent)
{
    char key[1024];
    bc_status st = bc_base_info_key(bc_store_prefix(store), server, backup_id, key, sizeof key);
    char *text = st == BC_OK ? bc_backup_info_format(info) : NULL;
    if (st == BC_OK && !text)
        st = bc_oom();
    if (st == BC_OK) {
        bc_source src = {.fd = -1, .mem = (const unsigned char *)text,
                         .size = (int64_t)strlen(text)};
        bc_put_opts opts = {.if_absent = if_absent};
        st = bc_store_put(store, key, &src, &opts);
    }
    free(text);
    return st;
}

bc_status bc_catalog_write_info(bc_store *store, const char *server, const char *backup_id,
                                const bc_backup_info *info)
{
    return put_info(store, server, backup_id, info, 0);
}

bc_status bc_catalog_create_info(bc_store *store, const char *server, const char *backup_id,
                                 const bc_backup_info *info)
{
    return put_info(store, server, backup_id, info, 1);
}

typedef struct dirs {
    char **names;
    size_t n, cap;
} dirs;

static int collect_dir(void *ctx, const bc_object_info *obj)
{
    dirs *d = ctx;
    size_t len = strlen(obj->key);
    if (!obj->is_prefix || len < 2 || obj->key[len - 1] != '/')
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        char **names = realloc(d->names, cap * sizeof *names);
        if (!names)
            return bc_oom();
        d->names = names;
        d->cap = cap;
    }
    if (!(d->names[d->n] = strndup(obj->key, len - 1)))
        return bc_oom();
    d->n++;
    return 0;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const bc_catalog_entry *)a)->id, ((const bc_catalog_entry *)b)->id);
}

bc_status bc_catalog_load(bc_store *store, const char *server, bc_catalog *out)
{
    char prefix[1024];
    dirs d = {0};
    memset(out, 0, sizeof *out);
    bc_status st = bc_base_dir_key(bc_store_prefix(store), server, prefix, sizeof prefix);
    if (st == BC_OK)
        st = bc_store_list(store, prefix, "/", collect_dir, &d);
    if (st == BC_OK && d.n && !(out->items = calloc(d.n, sizeof *out->items)))
        st = bc_oom();

    for (size_t i = 0; st == BC_OK && i < d.n; i++) {
        const char *id = strrchr(d.names[i], '/') ? strrchr(d.names[i], '/') + 1 : d.names[i];
        char key[1200];
        snprintf(key, sizeof key, "%s/backup.info", d.names[i]);
        bc_backup_info *info = NULL;
        bc_status rs = bc_catalog_read_info(store, key, &info);
        if (rs == BC_ERR_NOTFOUND)
            continue;
        if (rs == BC_ERR_DATA) {
            bc_log_warning("skipping backup %s: %s", id, bc_error_msg());
            out->unreadable++;
            continue;
        }
        if (rs != BC_OK) {
            st = rs;
            break;
        }
        bc_catalog_entry *e = &out->items[out->n++];
        snprintf(e->id, sizeof e->id, "%s", id);
        e->info = info;
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.names[i]);
    free(d.names);
    if (st != BC_OK) {
        bc_catalog_free(out);
        return st;
    }
    if (out->n)
        qsort(out->items, out->n, sizeof *out->items, compare_entries);
    return BC_OK;
}

void bc_catalog_free(bc_catalog *catalog)
{
    for (size_t i = 0; i < catalog->n; i++)
        bc_backup_info_free(catalog->items[i].info);
    free(catalog->items);
    memset(catalog, 0, sizeof *catalog);
}

static int is_done(const bc_catalog_entry *e)
{
    bc_backup_status status;
    return bc_backup_info_get_status(e->info, &status) == BC_OK && status == BC_BACKUP_DONE;
}

bc_status bc_catalog_find(const bc_catalog *catalog, const char *server, const char *which,
                          const bc_catalog_entry **out)
{
    int newest = !strcmp(which, "latest") || !strcmp(which, "last");
    int oldest = !strcmp(which, "oldest") || !strcmp(which, "first");
    *out = NULL;
    if (newest || oldest) {
        for (size_t i = 0; i < catalog->n; i++) {
            const bc_catalog_entry *e = &catalog->items[newest ? catalog->n - 1 - i : i];
            if (is_done(e)) {
                *out = e;
                return BC_OK;
            }
        }
        return bc_error(BC_ERR_NOTFOUND, "server %s has no completed backup", server);
    }
    for (size_t i = 0; i < catalog->n; i++)
        if (strcmp(catalog->items[i].id, which) == 0) {
            *out = &catalog->items[i];
            return BC_OK;
        }
    for (size_t i = 0; i < catalog->n; i++) {
        const char *name = bc_backup_info_get(catalog->items[i].info, "backup_name");
        if (name && strcmp(name, which) == 0) {
            if (*out)
                return bc_error(BC_ERR_USAGE,
                                "backup name '%s' matches several backups of server %s; "
                                "use a backup id", which, server);
            *out = &catalog->items[i];
        }
    }
    return *out ? BC_OK
                : bc_error(BC_ERR_NOTFOUND, "unknown backup '%s' for server %s", which, server);
}
