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
 * problem stops the restore with an error naming the object and file. */
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
#include "backup/manifest.h"
#include "backup/progress.h"
#include "codec/codec.h"
#include "layout/base.h"
#include "tar/extract.h"
#include "util/buffer.h"
#include "util/log.h"

#define MAX_MANIFEST_SIZE ((size_t)1 << 30)   /* ~7 million files */
#define MAX_ARCHIVES_SIZE ((size_t)64 << 20)

typedef struct job {
    char key[1024];
    bc_codec_id codec;
    const char *target;
    bc_base_object_kind kind;
    uint32_t oid;
    unsigned part;
    int64_t size;                 /* as listed */
    const bc_archive_entry *expect; /* from bc_archives.json, NULL for barman's */
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
    bc_manifest *manifest;        /* NULL: nothing to check files against */
    bc_checksum_algo algo;        /* of the stored objects' checksums */
} job_queue;

/* --- download side of one archive: store -> decoder -> pipe --- */

typedef struct download {
    const bc_store_config *config;
    bc_progress *progress;
    const job *job;
    int fd;
    bc_codec_stream *decoder;
    bc_checksum stored;           /* of the bytes as stored */
    int64_t stored_bytes;
    int reader_gone;              /* unpacking stopped: its error is the one */
    int mismatch;                 /* all downloaded, but not what was stored: the
                                     unpacking's error, if any, is more precise */
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
            d->reader_gone = 1;
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
    if (d->job->expect) {
        bc_checksum_update(&d->stored, data, len);
        d->stored_bytes += (int64_t)len;
    }
    return (int)bc_codec_write(d->decoder, data, len, pipe_sink, d);
}

static const char *base_name(const char *key)
{
    return strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
}

/* The object as stored against bc_archives.json. */
static bc_status check_stored(download *d)
{
    const bc_archive_entry *e = d->job->expect;
    char hex[65];
    bc_checksum_final_hex(&d->stored, hex);
    if (d->stored_bytes != e->size || strcmp(hex, e->checksum) != 0)
        return d->mismatch = 1, bc_error(BC_ERR_DATA, "%s: %lld bytes with %s checksum %s in the store, "
                        "bc_archives.json says %lld bytes with %s: the object is damaged",
                        base_name(d->job->key), (long long)d->stored_bytes,
                        bc_checksum_name(d->stored.algo), hex, (long long)e->size, e->checksum);
    return BC_OK;
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
    if (d->status == BC_OK && d->job->expect)
        d->status = check_stored(d);
    if (d->status != BC_OK)
        snprintf(d->message, sizeof d->message, "%s", bc_error_msg());
    bc_codec_free(d->decoder);
    bc_store_close(store);
    close(d->fd);
    return NULL;
}

static void job_failed(job *j, bc_status st, const char *message)
{
    j->status = st;
    snprintf(j->message, sizeof j->message, "%s", message);
}

static void run_job(const job_queue *q, job *j)
{
    const bc_store_config *config = q->config;
    bc_progress *progress = q->progress;
    bc_manifest_check *check = NULL;
    bc_extract_observer obs, *obsp = NULL;
    if (q->manifest) {
        char prefix[64] = "";
        if (j->kind == BC_BASE_TABLESPACE)
            snprintf(prefix, sizeof prefix, "pg_tblspc/%u/", j->oid);
        bc_status cst = bc_manifest_check_new(q->manifest, base_name(j->key), prefix, &check);
        if (cst != BC_OK) {
            job_failed(j, cst, bc_error_msg());
            return;
        }
        bc_manifest_check_observer(check, &obs);
        obsp = &obs;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        j->status = bc_error(BC_ERR_IO, "cannot create a pipe: %s", strerror(errno));
        snprintf(j->message, sizeof j->message, "%s", bc_error_msg());
        bc_manifest_check_free(check);
        return;
    }
    download d = {.config = config, .progress = progress, .job = j, .fd = fds[1]};
    if (j->expect && bc_checksum_init(&d.stored, q->algo) != BC_OK) {
        close(fds[0]);
        close(fds[1]);
        job_failed(j, BC_ERR_INTERNAL, bc_error_msg());
        bc_manifest_check_free(check);
        return;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, download_main, &d) != 0) {
        close(fds[0]);
        close(fds[1]);
        j->status = bc_error(BC_ERR_INTERNAL, "cannot start a download thread");
        snprintf(j->message, sizeof j->message, "%s", bc_error_msg());
        bc_checksum_free(&d.stored);
        bc_manifest_check_free(check);
        return;
    }
    const char *name = base_name(j->key);
    /* Reads to the end of the stream; on failure closing the pipe stops
     * the download at once (its write fails) instead of fetching the rest. */
    bc_status st = bc_tar_extract_fd(fds[0], j->target, name, obsp, NULL);
    char message[1024];
    snprintf(message, sizeof message, "%s", st != BC_OK ? bc_error_msg() : "");
    close(fds[0]);
    pthread_join(thread, NULL);
    if (st != BC_OK && (d.status == BC_OK || d.reader_gone || d.mismatch))
        job_failed(j, st, message); /* the unpacking found it */
    else if (d.status != BC_OK)     /* a failed download explains a broken archive */
        job_failed(j, d.status, d.message);
    else
        bc_log_info("unpacked %s into %s", name, j->target);
    bc_checksum_free(&d.stored);
    bc_manifest_check_free(check);
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
        run_job(q, j);
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
    int has_manifest, has_archives; /* backup_manifest, bc_archives.json */
    bc_status status;
} part_list;

static int add_part(void *ctx, const bc_object_info *obj)
{
    part_list *pl = ctx;
    const char *name = strrchr(obj->key, '/') ? strrchr(obj->key, '/') + 1 : obj->key;
    bc_base_object parsed;
    bc_base_object_kind kind = bc_base_object_parse(name, &parsed);
    if (kind == BC_BASE_MANIFEST) {
        if (!strcmp(name, BC_MANIFEST_NAME))
            pl->has_manifest = 1;
        else
            pl->has_archives = 1;
    }
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
    j->kind = kind;
    j->oid = parsed.oid;
    j->part = parsed.part;
    j->size = obj->size;
    return 0;
}

static int compare_jobs(const void *a, const void *b)
{
    const job *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind == BC_BASE_DATA ? -1 : 1;
    if (x->oid != y->oid)
        return x->oid < y->oid ? -1 : 1;
    return x->part < y->part ? -1 : x->part > y->part;
}

/* Every archive's parts are 0, 1, 2, ... without a gap (a lost part of a
 * split archive), data.tar included: what can be checked of barman-cloud's
 * backups, which list their parts nowhere. Sorts the jobs. */
static bc_status check_part_numbers(part_list *pl, const char *backup_id)
{
    if (pl->n > 1)
        qsort(pl->jobs, pl->n, sizeof *pl->jobs, compare_jobs);
    int have_data = 0;
    for (size_t i = 0; i < pl->n; i++) {
        const job *j = &pl->jobs[i];
        int first = i == 0 || j->kind != pl->jobs[i - 1].kind || j->oid != pl->jobs[i - 1].oid;
        unsigned want = first ? 0 : pl->jobs[i - 1].part + 1;
        have_data |= j->kind == BC_BASE_DATA;
        if (j->part == want)
            continue;
        if (j->part + 1 == want)
            return bc_error(BC_ERR_DATA, "backup %s has two objects for the same archive part: "
                            "%s and %s", backup_id, base_name(pl->jobs[i - 1].key),
                            base_name(j->key));
        char missing[64];
        if (j->kind == BC_BASE_DATA)
            snprintf(missing, sizeof missing, want ? "data_%04u.tar" : "data.tar", want);
        else if (want)
            snprintf(missing, sizeof missing, "%u_%04u.tar", j->oid, want);
        else
            snprintf(missing, sizeof missing, "%u.tar", j->oid);
        return bc_error(BC_ERR_DATA, "backup %s is incomplete: archive part %s%s is missing "
                        "(%s is there)", backup_id, missing,
                        strstr(base_name(j->key), ".tar") + 4, base_name(j->key));
    }
    if (pl->n && !have_data)
        return bc_error(BC_ERR_DATA, "backup %s is incomplete: data.tar is missing", backup_id);
    return BC_OK;
}

static bc_status load_object(bc_store *store, const char *dir, const char *name, size_t limit,
                             bc_buffer *buf)
{
    char key[1200];
    snprintf(key, sizeof key, "%s%s", dir, name);
    buf->limit = limit;
    bc_status st = bc_store_get(store, key, bc_buffer_sink, buf);
    if (st == BC_ERR_NOTFOUND)
        return bc_error(BC_ERR_DATA, "%s/%s has disappeared", bc_store_describe(store), key);
    if (st != BC_OK)
        return bc_error_context(st, "reading %s/%s", bc_store_describe(store), key);
    return BC_OK;
}

/* bc's backups: the archive objects must be exactly those listed, with
 * their sizes, and the manifest the one the list names. */
static bc_status match_archive_list(part_list *pl, const bc_archive_list *list,
                                    const char *backup_id)
{
    for (size_t i = 0; i < pl->n; i++) {
        job *j = &pl->jobs[i];
        j->expect = bc_archive_list_find(list, base_name(j->key));
        if (!j->expect)
            return bc_error(BC_ERR_DATA, "backup %s: %s is not one of its archives (not in "
                            "bc_archives.json)", backup_id, base_name(j->key));
        if (j->expect->size != j->size)
            return bc_error(BC_ERR_DATA, "backup %s: %s has %lld bytes in the store, "
                            "bc_archives.json says %lld: the object is damaged", backup_id,
                            base_name(j->key), (long long)j->size, (long long)j->expect->size);
    }
    for (size_t k = 0; k < list->n; k++) {
        size_t i = 0;
        while (i < pl->n && strcmp(base_name(pl->jobs[i].key), list->items[k].name) != 0)
            i++;
        if (i == pl->n)
            return bc_error(BC_ERR_DATA, "backup %s is incomplete: archive %s is missing",
                            backup_id, list->items[k].name);
    }
    return BC_OK;
}

/* Reads and checks bc_archives.json and backup_manifest; both or neither. */
static bc_status load_manifest(bc_store *store, const char *dir, part_list *pl,
                               const char *backup_id, bc_archive_list *list, bc_buffer *text,
                               bc_manifest **manifest)
{
    if (!pl->has_manifest && !pl->has_archives) {
        bc_log_info("backup %s has no backup_manifest (written by barman-cloud or an older "
                    "bc): checking the archives' structure only", backup_id);
        return BC_OK;
    }
    if (!pl->has_manifest || !pl->has_archives)
        return bc_error(BC_ERR_DATA, "backup %s is incomplete: %s is missing", backup_id,
                        pl->has_manifest ? BC_ARCHIVES_NAME : BC_MANIFEST_NAME);
    bc_buffer lbuf = {0};
    bc_status st = load_object(store, dir, BC_ARCHIVES_NAME, MAX_ARCHIVES_SIZE, &lbuf);
    if (st == BC_OK)
        st = bc_archive_list_parse((const char *)lbuf.data, lbuf.len, BC_ARCHIVES_NAME, list);
    bc_buffer_free(&lbuf);
    if (st == BC_OK)
        st = match_archive_list(pl, list, backup_id);
    if (st == BC_OK)
        st = load_object(store, dir, BC_MANIFEST_NAME, MAX_MANIFEST_SIZE, text);
    if (st == BC_OK) {
        char hex[65];
        bc_manifest_sha256_hex(text->data, text->len, hex);
        if ((int64_t)text->len != list->manifest_size || strcmp(hex, list->manifest_sha256))
            st = bc_error(BC_ERR_DATA, "backup %s: %s is not the one %s names: the object is "
                          "damaged", backup_id, BC_MANIFEST_NAME, BC_ARCHIVES_NAME);
    }
    if (st == BC_OK)
        st = bc_manifest_parse((const char *)text->data, text->len, BC_MANIFEST_NAME, manifest);
    return st;
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
    part_list parts = {.opts = o};
    bc_archive_list list = {0};
    bc_buffer manifest_text = {0};
    bc_manifest *manifest = NULL;
    int unpacked = 0;

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
    if (st == BC_OK)
        st = check_part_numbers(&parts, entry->id);
    if (st == BC_OK)
        st = load_manifest(store, dir, &parts, entry->id, &list, &manifest_text, &manifest);
    if (st == BC_OK) {
        bc_log_info("restoring backup %s (%zu archives, %d at a time) into %s", entry->id,
                    parts.n, o->jobs, o->target_dir);
        /* Progress counts bytes as stored, compressed or not. */
        job_queue q = {.jobs = parts.jobs, .n = parts.n, .config = o->store_config,
                       .progress = bc_progress_new(o->progress, "restore"),
                       .manifest = manifest, .algo = list.algo};
        bc_progress_set_total(q.progress, parts.bytes);
        unpacked = 1;
        st = run_jobs(&q, o->jobs);
        if (st == BC_OK && manifest)
            st = bc_manifest_check_complete(manifest);
        bc_progress_done(q.progress, st == BC_OK);
        bc_progress_free(q.progress);
    }
    if (st == BC_OK && manifest)
        st = write_manifest(o->target_dir, &manifest_text);
    if (st != BC_OK && unpacked) {
        /* Whatever was unpacked stays for inspection, but without
         * pg_control PostgreSQL refuses to start a half-restored cluster. */
        char control[4096];
        snprintf(control, sizeof control, "%s/global/pg_control", o->target_dir);
        if (unlink(control) == 0)
            bc_log_warning("removed %s: the restore failed", control);
    }
    if (st == BC_OK)
        st = link_tablespaces(o, ts, nts);
    if (st == BC_OK && o->restore_command)
        st = write_recovery_conf(o);

    free(parts.jobs);
    bc_manifest_free(manifest);
    bc_archive_list_free(&list);
    bc_buffer_free(&manifest_text);
    bc_tablespaces_free(ts, nts);
    bc_catalog_free(&catalog);
    return st;
}
