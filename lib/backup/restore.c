/* bc-restore's work: pick the backup, prepare the target directories,
 * download, decode and unpack every archive part in parallel, recreate the
 * tablespace links, and optionally write the recovery settings.
 *
 * What is checked: every part of every archive is present (bc_archives.json
 * lists them for bc's backups; for barman-cloud's, part numbers must run
 * without a gap), each tar ends with its end-of-archive blocks, and for
 * bc's backups each stored object has the size and checksum listed and
 * every file the size and checksum of backup_manifest, which is written
 * into the restored directory as pg_basebackup leaves it. The first
 * problem stops the restore with an error naming the object and file.
 * The restored files are flushed to disk before success. */
#include "backup/restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/archives.h"
#include "backup/catalog.h"
#include "util/log.h"

/* --- target directories --- */

static bc_status prepare_dir(const char *path, int force, const char *what)
{
    DIR *dir = opendir(path);
    if (!dir) {
        if (errno != ENOENT)
            return bc_error(BC_ERR_IO, "cannot open %s %s: %s", what, path, strerror(errno));
        char *copy = strdup(path);
        if (!copy)
            return bc_oom();
        /* mkdir -p, the last level private as PostgreSQL wants it */
        for (char *p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
            *p = '\0';
            mkdir(copy, 0755);
            *p = '/';
        }
        free(copy);
        if (mkdir(path, 0700) != 0)
            return bc_error(BC_ERR_IO, "cannot create %s %s: %s", what, path, strerror(errno));
        return BC_OK;
    }
    struct dirent *de;
    int empty = 1;
    while ((de = readdir(dir)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = 0;
    closedir(dir);
    if (!empty && !force)
        return bc_error(BC_ERR_USAGE,
                        "%s %s is not empty; restore into an empty directory (or use --force "
                        "to write over its content)", what, path);
    return BC_OK;
}

static const char *relocated(const bc_restore_opts *o, const bc_tablespace *ts)
{
    for (size_t i = 0; i < o->nrelocations; i++)
        if (strcmp(o->relocations[i].name, ts->name) == 0)
            return o->relocations[i].location;
    return ts->location;
}

/* pg_tblspc/<oid> -> location, and tablespace_map rewritten to match, so
 * PostgreSQL recreates the same links when it starts recovery. */
static bc_status link_tablespaces(const bc_restore_opts *o, const bc_tablespace *ts, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/pg_tblspc", o->target_dir);
    mkdir(path, 0700);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/pg_tblspc/%u", o->target_dir, ts[i].oid);
        unlink(path);
        if (symlink(relocated(o, &ts[i]), path) != 0)
            return bc_error(BC_ERR_IO, "cannot link %s to %s: %s", path, relocated(o, &ts[i]),
                            strerror(errno));
    }
    snprintf(path, sizeof path, "%s/tablespace_map", o->target_dir);
    if (n == 0 || access(path, F_OK) != 0)
        return BC_OK;
    FILE *fp = fopen(path, "we");
    if (!fp)
        return bc_error(BC_ERR_IO, "cannot rewrite %s: %s", path, strerror(errno));
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%u %s\n", ts[i].oid, relocated(o, &ts[i]));
    if (fclose(fp) != 0)
        return bc_error(BC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return BC_OK;
}

/* --- recovery settings --- */

static void conf_line(FILE *fp, const char *key, const char *value)
{
    if (!value)
        return;
    fprintf(fp, "%s = '", key);
    for (const char *p = value; *p; p++)
        fputs(*p == '\'' ? "''" : (char[]){*p, 0}, fp);
    fputs("'\n", fp);
}

static bc_status write_recovery_conf(const bc_restore_opts *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/postgresql.auto.conf", o->target_dir);
    FILE *fp = fopen(path, "ae");
    if (!fp)
        return bc_error(BC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    const bc_recovery_target *t = &o->target;
    fprintf(fp, "# recovery settings written by bc-restore for backup %s\n", o->backup_id);
    conf_line(fp, "restore_command", o->restore_command);
    conf_line(fp, "recovery_target_time", t->time);
    conf_line(fp, "recovery_target_lsn", t->lsn);
    conf_line(fp, "recovery_target_name", t->name);
    conf_line(fp, "recovery_target_xid", t->xid);
    conf_line(fp, "recovery_target", t->immediate ? "immediate" : NULL);
    conf_line(fp, "recovery_target_timeline", t->timeline);
    conf_line(fp, "recovery_target_action", t->action);
    conf_line(fp, "recovery_target_inclusive", t->exclusive ? "off" : NULL);
    if (fclose(fp) != 0)
        return bc_error(BC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/recovery.signal", o->target_dir);
    fp = fopen(path, "we");
    if (!fp || fclose(fp) != 0)
        return bc_error(BC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    return BC_OK;
}

/* Everything unpacked reaches the disk before success is reported, as
 * pg_basebackup syncs what it wrote: syncfs() flushes the file system
 * holding dir in one call, where a walk would fsync file by file. */
static bc_status sync_tree(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0) {
        bc_status st = bc_error(BC_ERR_IO, "cannot flush %s to disk: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    close(fd);
    return BC_OK;
}

/* backup_manifest in the restored directory, as pg_basebackup leaves it
 * (pg_verifybackup reads it there), durable before success is reported. */
static bc_status write_manifest(const char *target, const bc_buffer *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", target, BC_MANIFEST_NAME);
    FILE *fp = fopen(path, "we");
    if (!fp)
        return bc_error(BC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    int ok = fwrite(text->data, 1, text->len, fp) == text->len && fflush(fp) == 0 &&
             fsync(fileno(fp)) == 0;
    if (fclose(fp) != 0 || !ok)
        return bc_error(BC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return BC_OK;
}

bc_status bc_restore(bc_store *store, bc_restore_opts *o)
{
    bc_catalog catalog;
    const bc_catalog_entry *entry;
    bc_tablespace *ts = NULL;
    size_t nts = 0;
    bc_backup_archives archives = {0};
    int unpacked = 0;
    char control[4096];
    snprintf(control, sizeof control, "%s/global/pg_control", o->target_dir);

    signal(SIGPIPE, SIG_IGN); /* a stopped unpacker must fail a write, not kill us */
    bc_status st = bc_catalog_load(store, o->server, &catalog);
    if (st != BC_OK)
        return st;
    st = bc_catalog_find(&catalog, o->server, o->backup, &entry);
    bc_backup_status status = BC_BACKUP_EMPTY;
    if (st == BC_OK) {
        snprintf(o->backup_id, sizeof o->backup_id, "%s", entry->id);
        bc_backup_info_get_status(entry->info, &status);
        if (status != BC_BACKUP_DONE)
            st = bc_error(BC_ERR_NOTFOUND, "backup %s of server %s has status %s, not DONE; "
                          "it cannot be restored", entry->id, o->server,
                          bc_backup_status_name(status) ? bc_backup_status_name(status) : "?");
    }
    if (st == BC_OK)
        st = bc_backup_info_get_tablespaces(entry->info, &ts, &nts);
    for (size_t i = 0; st == BC_OK && i < o->nrelocations; i++) {
        size_t k = 0;
        while (k < nts && strcmp(ts[k].name, o->relocations[i].name) != 0)
            k++;
        if (k == nts)
            st = bc_error(BC_ERR_USAGE, "--tablespace %s: backup %s has no tablespace of that "
                          "name", o->relocations[i].name, entry->id);
    }
    if (st == BC_OK)
        st = prepare_dir(o->target_dir, o->force, "recovery directory");
    for (size_t i = 0; st == BC_OK && i < nts; i++)
        st = prepare_dir(relocated(o, &ts[i]), o->force, "tablespace location");

    if (st == BC_OK)
        st = bc_backup_archives_list(store, o->server, entry->id, ts, nts, &archives);
    for (size_t i = 0; st == BC_OK && i < archives.n; i++) {
        bc_archive_part *p = &archives.parts[i];
        p->target = o->target_dir;
        for (size_t k = 0; p->kind == BC_BASE_TABLESPACE && k < nts; k++)
            if (ts[k].oid == p->oid)
                p->target = relocated(o, &ts[k]);
    }
    if (st == BC_OK)
        st = bc_backup_archives_check_parts(&archives, entry->id);
    if (st == BC_OK)
        st = bc_backup_archives_load_manifest(store, entry->id, &archives);
    if (st == BC_OK) {
        bc_log_info("restoring backup %s (%zu archives, %d at a time) into %s", entry->id,
                    archives.n, o->jobs, o->target_dir);
        /* Progress counts bytes as stored, compressed or not. */
        bc_archive_read_opts ro = {.store_config = o->store_config, .jobs = o->jobs,
                                   .progress = bc_progress_new(o->progress, "restore")};
        bc_progress_set_total(ro.progress, archives.bytes);
        unpacked = 1;
        /* The new control file is held back until the end (tar/extract.h):
         * one left by an earlier restore (--force) goes now, or it would
         * make this half-written directory startable. */
        unlink(control);
        st = bc_backup_archives_read(&archives, &ro);
        bc_progress_done(ro.progress, st == BC_OK);
        bc_progress_free(ro.progress);
    }
    if (st == BC_OK)
        st = sync_tree(o->target_dir);
    for (size_t i = 0; st == BC_OK && i < nts; i++)
        st = sync_tree(relocated(o, &ts[i]));
    if (st == BC_OK && archives.manifest)
        st = write_manifest(o->target_dir, &archives.manifest_text);
    if (st == BC_OK)
        st = link_tablespaces(o, ts, nts);
    if (st == BC_OK && o->restore_command)
        st = write_recovery_conf(o);
    /* Last, so that a restore stopped at any point before cannot start. */
    if (st == BC_OK && unpacked)
        st = bc_tar_release_held(o->target_dir);
    if (st != BC_OK && unpacked) {
        /* Whatever was unpacked stays for inspection, but without
         * pg_control PostgreSQL refuses to start a half-restored cluster. */
        bc_tar_discard_held(o->target_dir);
        if (unlink(control) == 0)
            bc_log_warning("removed %s: the restore failed", control);
    }

    bc_backup_archives_free(&archives);
    bc_tablespaces_free(ts, nts);
    bc_catalog_free(&catalog);
    return st;
}
