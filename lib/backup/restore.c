/* bc-restore's work: pick the backup, prepare the target directories,
 * download, decode and unpack every archive part in parallel, recreate the
 * tablespace links, and optionally write the recovery settings. */
#include "backup/restore.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "backup/progress.h"
#include "codec/codec.h"
#include "layout/base.h"
#include "tar/extract.h"
#include "util/log.h"

typedef struct job {
    char key[1024];
    bc_codec_id codec;
    const char *target;
    bc_status status;
    char message[1024];
} job;

typedef struct job_queue {
    job *jobs;
    size_t n, next;
    int failed;
    pthread_mutex_t lock;
    const bc_store_config *config;
    bc_progress *progress;
} job_queue;

/* --- download side of one archive: store -> decoder -> pipe --- */

typedef struct download {
    const bc_store_config *config;
    bc_progress *progress;
    const job *job;
    int fd;
    bc_codec_stream *decoder;
    bc_status status;
    char message[1024];
} download;

static int pipe_sink(void *ctx, const void *data, size_t len)
{
    download *d = ctx;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(d->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            return bc_error(BC_ERR_IO, "unpacking stopped reading");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int decode_sink(void *ctx, const void *data, size_t len)
{
    download *d = ctx;
    bc_progress_add(d->progress, (int64_t)len);
    return (int)bc_codec_write(d->decoder, data, len, pipe_sink, d);
}

static void *download_main(void *arg)
{
    download *d = arg;
    bc_store *store = NULL;
    d->status = bc_store_open(d->config, &store);
    if (d->status == BC_OK)
        d->status = bc_codec_decoder(d->job->codec, &d->decoder);
    if (d->status == BC_OK)
        d->status = bc_store_get(store, d->job->key, decode_sink, d);
    if (d->status == BC_OK)
        d->status = bc_codec_finish(d->decoder, pipe_sink, d);
    if (d->status != BC_OK)
        snprintf(d->message, sizeof d->message, "%s", bc_error_msg());
    bc_codec_free(d->decoder);
    bc_store_close(store);
    close(d->fd);
    return NULL;
}

static void run_job(const bc_store_config *config, bc_progress *progress, job *j)
{
    int fds[2];
    if (pipe(fds) != 0) {
        j->status = bc_error(BC_ERR_IO, "cannot create a pipe: %s", strerror(errno));
        snprintf(j->message, sizeof j->message, "%s", bc_error_msg());
        return;
    }
    download d = {.config = config, .progress = progress, .job = j, .fd = fds[1]};
    pthread_t thread;
    if (pthread_create(&thread, NULL, download_main, &d) != 0) {
        close(fds[0]);
        close(fds[1]);
        j->status = bc_error(BC_ERR_INTERNAL, "cannot start a download thread");
        snprintf(j->message, sizeof j->message, "%s", bc_error_msg());
        return;
    }
    const char *name = strrchr(j->key, '/') ? strrchr(j->key, '/') + 1 : j->key;
    bc_status st = bc_tar_extract_fd(fds[0], j->target, name, NULL);
    /* Drain what follows the end-of-archive blocks so the writer finishes. */
    char scratch[65536];
    while (read(fds[0], scratch, sizeof scratch) > 0)
        ;
    close(fds[0]);
    pthread_join(thread, NULL);
    if (d.status != BC_OK) { /* a failed download explains a broken archive */
        j->status = d.status;
        snprintf(j->message, sizeof j->message, "%s", d.message);
    } else if (st != BC_OK) {
        j->status = st;
        snprintf(j->message, sizeof j->message, "%s", bc_error_msg());
    } else {
        bc_log_info("unpacked %s into %s", name, j->target);
    }
}

static void *worker_main(void *arg)
{
    job_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        job *j = q->failed || q->next >= q->n ? NULL : &q->jobs[q->next++];
        pthread_mutex_unlock(&q->lock);
        if (!j)
            return NULL;
        run_job(q->config, q->progress, j);
        if (j->status != BC_OK) {
            pthread_mutex_lock(&q->lock);
            q->failed = 1;
            pthread_mutex_unlock(&q->lock);
        }
    }
}

static bc_status run_jobs(job_queue *q, int nworkers)
{
    pthread_t threads[64];
    int started = 0;
    if (nworkers < 1)
        nworkers = 1;
    if (nworkers > 64)
        nworkers = 64;
    pthread_mutex_init(&q->lock, NULL);
    for (int i = 0; i < nworkers && (size_t)i < q->n; i++)
        if (pthread_create(&threads[i], NULL, worker_main, q) == 0)
            started++;
    if (started == 0 && q->n)
        worker_main(q);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&q->lock);
    for (size_t i = 0; i < q->n; i++)
        if (q->jobs[i].status != BC_OK)
            return bc_error(q->jobs[i].status, "%s", q->jobs[i].message);
    return BC_OK;
}

/* --- target directories --- */

static bc_status prepare_dir(const char *path, int force, const char *what)
{
    DIR *dir = opendir(path);
    if (!dir) {
        if (errno != ENOENT)
            return bc_error(BC_ERR_IO, "cannot open %s %s: %s", what, path, strerror(errno));
        char *copy = strdup(path);
        if (!copy)
            return bc_error(BC_ERR_INTERNAL, "out of memory");
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

/* --- the archive parts of a backup --- */

typedef struct part_list {
    job *jobs;
    size_t n, cap;
    int64_t bytes;                /* stored (compressed) size of all parts */
    const bc_restore_opts *opts;
    const bc_tablespace *ts;
    size_t nts;
    bc_status status;
} part_list;

static int add_part(void *ctx, const bc_object_info *obj)
{
    part_list *pl = ctx;
    const char *name = strrchr(obj->key, '/') ? strrchr(obj->key, '/') + 1 : obj->key;
    bc_base_object parsed;
    bc_base_object_kind kind = bc_base_object_parse(name, &parsed);
    if (kind != BC_BASE_DATA && kind != BC_BASE_TABLESPACE)
        return 0;
    const char *target = pl->opts->target_dir;
    if (kind == BC_BASE_TABLESPACE) {
        target = NULL;
        for (size_t i = 0; i < pl->nts; i++)
            if (pl->ts[i].oid == parsed.oid)
                target = relocated(pl->opts, &pl->ts[i]);
        if (!target)
            return pl->status = bc_error(BC_ERR_DATA,
                                         "%s belongs to tablespace %u, which backup.info does "
                                         "not list", obj->key, parsed.oid);
    }
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        job *jobs = realloc(pl->jobs, cap * sizeof *jobs);
        if (!jobs)
            return pl->status = bc_error(BC_ERR_INTERNAL, "out of memory");
        pl->jobs = jobs;
        pl->cap = cap;
    }
    pl->bytes += obj->size;
    job *j = &pl->jobs[pl->n++];
    memset(j, 0, sizeof *j);
    snprintf(j->key, sizeof j->key, "%s", obj->key);
    j->codec = parsed.codec;
    j->target = target;
    return 0;
}

bc_status bc_restore(bc_store *store, bc_restore_opts *o)
{
    bc_catalog catalog;
    const bc_catalog_entry *entry;
    bc_tablespace *ts = NULL;
    size_t nts = 0;
    part_list parts = {.opts = o};

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

    char dir[1024];
    if (st == BC_OK)
        st = bc_base_backup_dir_key(bc_store_prefix(store), o->server, entry->id, dir,
                                    sizeof dir);
    if (st == BC_OK) {
        parts.ts = ts;
        parts.nts = nts;
        st = bc_store_list(store, dir, NULL, add_part, &parts);
        if (st == BC_OK)
            st = parts.status;
    }
    if (st == BC_OK && parts.n == 0)
        st = bc_error(BC_ERR_DATA, "backup %s has no archive in %s/%s", entry->id,
                      bc_store_describe(store), dir);
    if (st == BC_OK) {
        bc_log_info("restoring backup %s (%zu archives, %d at a time) into %s", entry->id,
                    parts.n, o->jobs, o->target_dir);
        /* Progress counts bytes as stored, compressed or not. */
        job_queue q = {.jobs = parts.jobs, .n = parts.n, .config = o->store_config,
                       .progress = bc_progress_new(o->progress, "restore")};
        bc_progress_set_total(q.progress, parts.bytes);
        st = run_jobs(&q, o->jobs);
        bc_progress_done(q.progress, st == BC_OK);
        bc_progress_free(q.progress);
    }
    if (st == BC_OK)
        st = link_tablespaces(o, ts, nts);
    if (st == BC_OK && o->restore_command)
        st = write_recovery_conf(o);

    free(parts.jobs);
    bc_tablespaces_free(ts, nts);
    bc_catalog_free(&catalog);
    return st;
}
