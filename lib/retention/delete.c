/* Deleting backups and the WAL they alone needed, crash-safely (see
 * retention.h for the order of the steps). */
#include "retention/retention_internal.h"

#include <stdlib.h>
#include <string.h>

#include "layout/base.h"
#include "util/log.h"

enum { MODE_POLICY = 1, MODE_ONE = 2 };

bc_status bc_retention_delete_keys(bc_retention *r, const char *const *keys, size_t n)
{
    if (r->opts.dry_run) {
        for (size_t i = 0; i < n; i++)
            fprintf(r->opts.out, "  %s\n", keys[i]);
        return BC_OK;
    }
    for (size_t i = 0; i < n; i += r->opts.batch_size) {
        size_t count = n - i < r->opts.batch_size ? n - i : r->opts.batch_size;
        bc_status st = bc_store_delete(r->store, keys + i, count);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

/* Rewrites backup.info as FAILED with the deletion marker, so a deletion
 * that stops half-way never leaves a DONE backup with missing parts. */
static bc_status mark_deleting(bc_retention *r, size_t i, int mode)
{
    bc_backup_info *info = r->dirs[i].info;
    bc_status st = bc_backup_info_set_status(info, BC_BACKUP_FAILED);
    if (st == BC_OK)
        st = bc_backup_info_set_str(info, "error", mode == MODE_POLICY
                                    ? BC_RETENTION_DELETING_POLICY : BC_RETENTION_DELETING_ONE);
    if (st == BC_OK)
        st = bc_catalog_write_info(r->store, r->opts.server, r->backups[i].id, info);
    if (st == BC_OK)
        r->dirs[i].pending = mode;
    return st;
}

static bc_status load_wals(bc_retention *r)
{
    if (r->wals_loaded)
        return BC_OK;
    bc_status st = bc_wal_inventory_load(r->store, r->opts.server, &r->wals);
    if (st != BC_OK)
        return st;
    if (r->wals.n && !(r->wal_gone = calloc(r->wals.n, 1)))
        return bc_oom();
    r->wals_loaded = 1;
    return BC_OK;
}

/* Deletes the WAL files the deletion of backup i makes useless. */
static bc_status delete_wals(bc_retention *r, size_t i, int mode)
{
    bc_retention_wal_plan plan;
    bc_status st = bc_retention_plan_wal(r->backups, r->n, i, mode == MODE_POLICY, &plan);
    if (st == BC_OK && plan.blocked_by)
        bc_log_warning("keeping the WAL before backup %s: backup %s (in progress, or with an "
                       "unreadable backup.info) may need it", r->backups[i].id, plan.blocked_by);
    if (st != BC_OK || !plan.remove) {
        bc_retention_wal_plan_free(&plan);
        return st;
    }
    st = load_wals(r);
    const char **keys = st == BC_OK && r->wals.n ? calloc(r->wals.n, sizeof *keys) : NULL;
    size_t *which = keys ? calloc(r->wals.n, sizeof *which) : NULL;
    size_t n = 0;
    if (st == BC_OK && r->wals.n && !which)
        st = bc_oom();
    for (size_t w = 0; st == BC_OK && w < r->wals.n; w++)
        if (!r->wal_gone[w] && bc_retention_wal_removable(&plan, r->wals.items[w].name)) {
            which[n] = w;
            keys[n++] = r->wals.items[w].key;
        }
    if (st == BC_OK && n) {
        if (r->opts.dry_run)
            fprintf(r->opts.out, "would delete %zu WAL files before %s, which only backup %s "
                    "needed\n", n, plan.before, r->backups[i].id);
        else
            bc_log_info("deleting %zu WAL files before %s, which only backup %s needed", n,
                        plan.before, r->backups[i].id);
        st = bc_retention_delete_keys(r, keys, n);
    }
    if (st == BC_OK) {
        for (size_t k = 0; k < n; k++)
            r->wal_gone[which[k]] = 1;
        r->deleted_wals += n;
    }
    free(which);
    free(keys);
    bc_retention_wal_plan_free(&plan);
    return st;
}

/* The backup's own objects: archives and annotations, backup.info apart.
 * Anything else in the folder is not ours to judge and stays. */
static bc_status delete_parts(bc_retention *r, size_t i, const char **info_key)
{
    bc_backup_dir *d = &r->dirs[i];
    const char **keys = d->nkeys ? calloc(d->nkeys, sizeof *keys) : NULL;
    size_t n = 0;
    if (d->nkeys && !keys)
        return bc_oom();
    *info_key = NULL;
    for (size_t k = 0; k < d->nkeys; k++) {
        /* The name inside the backup folder: after "base/<id>/". */
        const char *rel = d->keys[k] + r->base_len + strlen(r->backups[i].id) + 1;
        bc_base_object o;
        switch (bc_base_object_parse(rel, &o)) {
        case BC_BASE_INFO: *info_key = d->keys[k]; break;
        case BC_BASE_DATA:
        case BC_BASE_TABLESPACE:
        case BC_BASE_ANNOTATION:
        case BC_BASE_MANIFEST: keys[n++] = d->keys[k]; break;
        default:
            bc_log_warning("leaving alone %s: not a part of backup %s that bc knows",
                           d->keys[k], r->backups[i].id);
        }
    }
    bc_status st = bc_retention_delete_keys(r, keys, n);
    if (st == BC_OK && r->opts.dry_run && *info_key)
        fprintf(r->opts.out, "  %s\n", *info_key);
    free(keys);
    return st;
}

static bc_status record_deleted(bc_retention *r, size_t i)
{
    char **list = realloc(r->deleted, (r->ndeleted + 1) * sizeof *list);
    if (!list)
        return bc_oom();
    r->deleted = list;
    if (!(list[r->ndeleted] = strdup(r->backups[i].id)))
        return bc_oom();
    r->ndeleted++;
    r->backups[i].removed = 1;
    return BC_OK;
}

static bc_status delete_backup(bc_retention *r, size_t i, int mode)
{
    bc_retention_backup *b = &r->backups[i];
    const char *status = b->readable ? bc_backup_status_name(b->status) : "unreadable";
    const char *info_key = NULL;
    bc_status st = BC_OK;
    if (r->opts.dry_run)
        fprintf(r->opts.out, "would delete backup %s (%s%s)\n", b->id,
                r->dirs[i].pending ? "deletion under way" : status ? status : "?",
                b->verdict == BC_VERDICT_OBSOLETE    ? ", obsolete"
                : b->verdict == BC_VERDICT_ABANDONED ? ", abandoned" : "");
    else
        bc_log_info("deleting backup %s (%s%s)", b->id, status ? status : "?",
                    b->verdict == BC_VERDICT_ABANDONED
                        ? ": a killed run, older than the newest DONE backup" : "");
    if (!r->opts.dry_run && b->readable && !r->dirs[i].pending)
        st = mark_deleting(r, i, mode);
    if (st == BC_OK)
        st = delete_parts(r, i, &info_key);
    if (st == BC_OK)
        st = delete_wals(r, i, mode);
    if (st == BC_OK && info_key && !r->opts.dry_run)
        st = bc_store_delete(r->store, &info_key, 1);
    if (st == BC_OK)
        st = record_deleted(r, i);
    if (st != BC_OK)
        bc_error_context(st, "deleting backup %s (run again to finish)", b->id);
    return st;
}

bc_status bc_retention_resume(bc_retention *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (!r->dirs[i].pending || r->backups[i].removed)
            continue;
        bc_log_info("finishing the deletion of backup %s, left under way by an earlier run",
                    r->backups[i].id);
        bc_status st = delete_backup(r, i, r->dirs[i].pending);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

bc_status bc_retention_apply(bc_retention *r, const bc_retention_policy *policy)
{
    char text[64];
    bc_retention_policy_format(policy, text, sizeof text);
    size_t obsolete = bc_retention_classify(policy, r->opts.now, r->backups, r->n);
    bc_log_info("%s: %zu of %zu backups are obsolete or abandoned", text, obsolete, r->n);
    for (size_t i = 0; i < r->n; i++) {
        if (r->backups[i].verdict != BC_VERDICT_OBSOLETE &&
            r->backups[i].verdict != BC_VERDICT_ABANDONED)
            continue;
        bc_status st = delete_backup(r, i, MODE_POLICY);
        if (st != BC_OK)
            return st;
    }
    return BC_OK;
}

bc_status bc_retention_delete(bc_retention *r, const char *which)
{
    size_t i;
    bc_status st = bc_retention_find(r, which, &i);
    if (st != BC_OK)
        return st;
    const bc_retention_backup *b = &r->backups[i];
    if (b->keep != BC_KEEP_NONE)
        return bc_error(BC_ERR_CONFLICT, "backup %s is kept (keep: %s); release it with "
                        "--release -b %s first if it really must go", b->id,
                        bc_keep_target_name(b->keep), b->id);
    if (!b->readable && !r->dirs[i].has_info_key && r->dirs[i].has_archives)
        bc_log_warning("backup %s has no backup.info: deleting its archives although it may "
                       "be a backup still running", b->id);
    return delete_backup(r, i, r->dirs[i].pending ? r->dirs[i].pending : MODE_ONE);
}
