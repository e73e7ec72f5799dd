/* bc-backup's work. The order follows barman-cloud-backup: reserve the
 * backup id (backup.info with status STARTED, created only if absent),
 * start the backup, stream each tablespace to "<oid>.tar", PGDATA to
 * "data.tar" with global/pg_control last, stop the backup, add
 * backup_label to data.tar, complete every upload, store backup_manifest
 * and bc_archives.json, check that backup.info still says STARTED, and
 * only then store backup.info with status DONE.
 * Each archive flows tar -> codec -> store writer, whose worker threads
 * upload parts while the next ones are compressed, so nothing touches
 * local disk; the manifest's checksums are taken in that same stream. */
#include "backup/backup.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "backup/manifest.h"
#include "backup/progress.h"
#include "layout/backup_info.h"
#include "layout/base.h"
#include "tar/tar.h"
#include "util/log.h"

/* What an archive can reach beyond -S: the tar writer starts the next
 * archive before a file once -S is reached, so the last file added (a
 * relation segment is at most 1 GiB) and a codec's framing (well under
 * 1/64 on incompressible data) come on top. The store sizes upload parts
 * from it, so that no archive ever needs more parts than the store takes. */
#define ARCHIVE_OVERSHOOT(max) ((max) / 64 + ((int64_t)1 << 30))

/* The checksum of backup_manifest's files and of the stored archives.
 * CRC-32C over SHA-256 by measurement (docs/design.md): bc-backup --zstd
 * of a 1.1 GB data directory on this machine's 2 cores. */
#define FILE_CHECKSUM BC_CHECKSUM_CRC32C

/* One archive family (data, or one tablespace), possibly in several parts. */
typedef struct archive {
    bc_store *store;
    const bc_backup_opts *opts;
    const char *prefix;
    uint32_t oid;              /* 0 for data */
    unsigned part;
    bc_store_writer *writer;
    bc_codec_stream *encoder;
    bc_tar_writer *tar;
    bc_progress *progress;
    bc_manifest_builder *manifest; /* every regular file archived */
    bc_archive_list *list;     /* every part committed */
    bc_checksum stored;        /* of the current part's stored bytes */
    char name[1024];           /* the current part, inside the backup folder */
} archive;

/* The bytes as they go to the store: checksummed for bc_archives.json. */
static int stored_sink(void *ctx, const void *data, size_t len)
{
    archive *a = ctx;
    bc_checksum_update(&a->stored, data, len);
    return bc_store_writer_sink(a->writer, data, len);
}

/* The archive as the tar writer makes it: shown as progress, then
 * encoded (the encoder's output goes to stored_sink). */
static int tar_sink(void *ctx, const void *data, size_t len)
{
    archive *a = ctx;
    bc_progress_add(a->progress, (int64_t)len);
    return bc_codec_sink(a->encoder, data, len);
}

static bc_status open_part(archive *a)
{
    char key[1024];
    const char *suffix = bc_codec_suffix(a->opts->codec);
    bc_status st = a->oid
        ? bc_base_tablespace_key(a->prefix, a->opts->server, a->opts->backup_id, a->oid,
                                 a->part, suffix, key, sizeof key)
        : bc_base_data_key(a->prefix, a->opts->server, a->opts->backup_id, a->part, suffix,
                           key, sizeof key);
    bc_put_opts put = {.tags = a->opts->tags, .ntags = a->opts->ntags};
    if (a->opts->max_archive_size > 0)
        put.size_limit = a->opts->max_archive_size + ARCHIVE_OVERSHOOT(a->opts->max_archive_size);
    const char *slash = strrchr(key, '/');
    snprintf(a->name, sizeof a->name, "%s", slash ? slash + 1 : key);
    if (st == BC_OK)
        st = bc_checksum_init(&a->stored, a->list->algo);
    if (st == BC_OK)
        st = bc_store_writer_open(a->store, key, &put, &a->writer);
    if (st == BC_OK)
        st = bc_codec_encoder(a->opts->codec, a->opts->level, stored_sink, a, &a->encoder);
    if (st == BC_OK)
        bc_log_info("writing %s/%s", bc_store_describe(a->store), key);
    return st;
}

/* Flushes the codec, completes the current part's upload and lists it. */
static bc_status close_part(archive *a)
{
    bc_status st = bc_codec_finish(a->encoder);
    bc_codec_free(a->encoder);
    a->encoder = NULL;
    int64_t size = bc_store_writer_size(a->writer);
    if (st == BC_OK)
        st = bc_store_writer_commit(a->writer);
    else
        bc_store_writer_abort(a->writer);
    a->writer = NULL;
    char sum[65];
    bc_checksum_final_hex(&a->stored, sum);
    if (st == BC_OK)
        st = bc_archive_list_add(a->list, a->name, size, sum);
    return st;
}

/* Called by the tar writer between entries once a part is large enough;
 * the writer's sink stays tar_sink, which feeds the new part's encoder. */
static bc_status rotate(void *ctx)
{
    archive *a = ctx;
    bc_status st = close_part(a);
    a->part++;
    if (st == BC_OK)
        st = open_part(a);
    return st;
}

static bc_status archive_open(archive *a)
{
    char prefix[64] = "";
    bc_tar_observer obs;
    if (a->oid)
        snprintf(prefix, sizeof prefix, "pg_tblspc/%u/", a->oid);
    bc_status st = open_part(a);
    if (st == BC_OK)
        st = bc_tar_writer_new(tar_sink, a, &a->tar);
    if (st == BC_OK)
        st = bc_manifest_builder_observer(a->manifest, prefix, &obs);
    if (st == BC_OK)
        bc_tar_set_observer(a->tar, &obs);
    if (st == BC_OK && a->opts->max_archive_size > 0)
        bc_tar_set_rotation(a->tar, a->opts->max_archive_size, rotate, a);
    return st;
}

static bc_status archive_close(archive *a)
{
    bc_status st = bc_tar_finish(a->tar);
    bc_tar_free(a->tar);
    a->tar = NULL;
    if (st == BC_OK)
        st = close_part(a);
    bc_checksum_free(&a->stored);
    return st;
}

static void archive_abort(archive *a)
{
    bc_checksum_free(&a->stored);
    bc_tar_free(a->tar);
    bc_codec_free(a->encoder);
    bc_store_writer_abort(a->writer);
    a->tar = NULL;
    a->encoder = NULL;
    a->writer = NULL;
}

/* --- backup.info --- */

static void backup_time(double epoch, bc_backup_time *t)
{
    struct tm tm;
    t->when = (time_t)epoch;
    t->usec = (int32_t)((epoch - (double)t->when) * 1e6);
    localtime_r(&t->when, &tm);
    t->utc_offset = (int32_t)tm.tm_gmtoff;
}

static bc_status fill_info(bc_backup_info *info, const bc_backup_opts *o,
                           const bc_pg_server_info *srv, const bc_pg_backup *b, int stopped)
{
    bc_backup_time t;
    bc_status st = bc_backup_info_set_backup_id(info, o->backup_id);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "server_name", o->server);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "pgdata", srv->data_directory);
    if (st == BC_OK) st = bc_backup_info_set_int(info, "version", srv->server_version);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "systemid", srv->system_identifier);
    if (st == BC_OK) st = bc_backup_info_set_int(info, "xlog_segment_size", srv->wal_segment_size);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "config_file", srv->config_file);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "hba_file", srv->hba_file);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "ident_file", srv->ident_file);
    if (st == BC_OK && o->name) st = bc_backup_info_set_str(info, "backup_name", o->name);
    if (st == BC_OK && srv->n_tablespaces) {
        bc_tablespace *ts = calloc(srv->n_tablespaces, sizeof *ts);
        if (!ts)
            return bc_oom();
        for (size_t i = 0; i < srv->n_tablespaces; i++)
            ts[i] = (bc_tablespace){srv->tablespaces[i].name, srv->tablespaces[i].oid,
                                    srv->tablespaces[i].location};
        st = bc_backup_info_set_tablespaces(info, ts, srv->n_tablespaces);
        free(ts); /* the strings belong to srv */
    }
    if (!b || b->begin_lsn == 0)
        return st;
    backup_time(b->begin_time, &t);
    if (st == BC_OK) st = bc_backup_info_set_time(info, "begin_time", &t);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "begin_xlog", b->begin_xlog);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "begin_wal", b->begin_wal);
    if (st == BC_OK) st = bc_backup_info_set_int(info, "begin_offset", b->begin_offset);
    if (st == BC_OK) st = bc_backup_info_set_int(info, "timeline", b->timeline);
    if (!stopped)
        return st;
    backup_time(b->end_time, &t);
    if (st == BC_OK) st = bc_backup_info_set_time(info, "end_time", &t);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "end_xlog", b->end_xlog);
    if (st == BC_OK) st = bc_backup_info_set_str(info, "end_wal", b->end_wal);
    if (st == BC_OK) st = bc_backup_info_set_int(info, "end_offset", b->end_offset);
    if (st == BC_OK && b->backup_label) st = bc_backup_info_set_backup_label(info, b->backup_label);
    return st;
}

/* Sleeps until the clock reaches `when`: a backup id is its start second. */
static void wait_until(time_t when)
{
    struct timespec now;
    while (clock_gettime(CLOCK_REALTIME, &now) == 0 && now.tv_sec < when) {
        struct timespec rest = {0, 1000000000L - now.tv_nsec};
        nanosleep(&rest, NULL);
    }
}

#define RESERVE_ATTEMPTS 30

/* Claims a backup id: backup.info with status STARTED, created only if no
 * object has that key (If-None-Match on S3 and Azure, ifGenerationMatch=0
 * on GCS, link(2) on file://). Two runs started in the same second race
 * for it and exactly one wins; the other moves to the next second, so a
 * backup is never overwritten. barman-cloud writes nothing before the end,
 * and lists a STARTED backup as such (not in its console list, which
 * shows DONE backups only); it is never restorable. The head first keeps
 * an existing backup safe on S3-compatible servers that ignore
 * If-None-Match. */
static bc_status reserve_backup_id(bc_store *store, bc_backup_opts *o, bc_backup_info *info,
                                   const bc_pg_server_info *srv)
{
    time_t when = time(NULL);
    for (int attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++, when++) {
        char key[1024];
        bc_object_info obj;
        wait_until(when);
        bc_status st = bc_base_backup_id_format(when, o->backup_id);
        if (st == BC_OK)
            st = bc_base_info_key(bc_store_prefix(store), o->server, o->backup_id, key,
                                  sizeof key);
        if (st == BC_OK)
            st = bc_store_head(store, key, &obj);
        if (st == BC_OK) {
            bc_log_info("backup id %s is taken; trying the next second", o->backup_id);
            continue;
        }
        if (st != BC_ERR_NOTFOUND)
            return st;
        st = fill_info(info, o, srv, NULL, 0);
        if (st == BC_OK)
            st = bc_backup_info_set_status(info, BC_BACKUP_STARTED);
        if (st == BC_OK)
            st = bc_catalog_create_info(store, o->server, o->backup_id, info);
        if (st == BC_OK)
            return BC_OK;
        if (st != BC_ERR_CONFLICT)
            return st;
        bc_log_info("backup id %s was just taken by another backup; trying the next second",
                    o->backup_id);
    }
    return bc_error(BC_ERR_CONFLICT, "no free backup id in %d seconds up to %s",
                    RESERVE_ATTEMPTS, o->backup_id);
}

/* Whether backup.info still says STARTED, as the reservation wrote it. A
 * run overlapping a newer DONE backup can be taken for a killed one by
 * bc-retention, which then deletes it: storing DONE over what is left
 * would show an incomplete backup as complete. */
static bc_status check_still_started(bc_store *store, const bc_backup_opts *o)
{
    char key[1024];
    bc_backup_info *info = NULL;
    bc_backup_status status = BC_BACKUP_EMPTY;
    bc_status st = bc_base_info_key(bc_store_prefix(store), o->server, o->backup_id, key,
                                    sizeof key);
    if (st == BC_OK)
        st = bc_catalog_read_info(store, key, &info);
    if (st == BC_OK)
        bc_backup_info_get_status(info, &status);
    bc_backup_info_free(info);
    if (st == BC_ERR_NOTFOUND || (st == BC_OK && status != BC_BACKUP_STARTED))
        return bc_error(BC_ERR_CONFLICT, "backup.info of backup %s was %s while the backup ran "
                        "(by bc-retention?): not marking it DONE", o->backup_id,
                        st == BC_ERR_NOTFOUND ? "deleted" : "rewritten");
    return st;
}

/* backup_manifest, then bc_archives.json naming its checksum: both before
 * backup.info says DONE, so a DONE backup always has them. */
static bc_status store_manifest(bc_store *store, const bc_backup_opts *o,
                                bc_manifest_builder *mb, bc_archive_list *list,
                                const bc_pg_backup *b)
{
    char key[1024], *text = NULL, *json = NULL;
    size_t len = 0;
    bc_status st = bc_manifest_builder_finish(mb, b->timeline, b->begin_lsn, b->end_lsn, &text,
                                              &len);
    if (st == BC_OK)
        st = bc_base_object_key(bc_store_prefix(store), o->server, o->backup_id,
                                BC_MANIFEST_NAME, key, sizeof key);
    if (st == BC_OK) {
        bc_source src = {.fd = -1, .mem = (const unsigned char *)text, .size = (int64_t)len};
        st = bc_store_put(store, key, &src, &(bc_put_opts){0});
    }
    if (st == BC_OK) {
        list->manifest_size = (int64_t)len;
        bc_manifest_sha256_hex(text, len, list->manifest_sha256);
        if (!(json = bc_archive_list_format(list)))
            st = bc_oom();
    }
    if (st == BC_OK)
        st = bc_base_object_key(bc_store_prefix(store), o->server, o->backup_id,
                                BC_ARCHIVES_NAME, key, sizeof key);
    if (st == BC_OK) {
        bc_source src = {.fd = -1, .mem = (const unsigned char *)json,
                         .size = (int64_t)strlen(json)};
        st = bc_store_put(store, key, &src, &(bc_put_opts){0});
    }
    free(text);
    free(json);
    return st;
}

/* --- the backup --- */

static bc_status copy_files(bc_store *store, const bc_backup_opts *o, bc_pg *pg,
                            const bc_pg_server_info *srv, bc_pg_backup *b, archive *data,
                            archive *spaces, bc_progress *progress)
{
    bc_status st = BC_OK;
    const char **oids = calloc(srv->n_tablespaces + 1, sizeof *oids);
    char (*oid_text)[16] = calloc(srv->n_tablespaces + 1, sizeof *oid_text);
    const char **inside = calloc(srv->n_tablespaces + 1, sizeof *inside);
    size_t ninside = 0;
    if (!oids || !oid_text || !inside)
        st = bc_oom();

    size_t dlen = strlen(srv->data_directory);
    for (size_t i = 0; st == BC_OK && i < srv->n_tablespaces; i++) {
        const bc_pg_tablespace *t = &srv->tablespaces[i];
        snprintf(oid_text[i], sizeof oid_text[i], "%u", t->oid);
        oids[i] = oid_text[i];
        if (!strncmp(t->location, srv->data_directory, dlen) && t->location[dlen] == '/')
            inside[ninside++] = t->location + dlen + 1;
        spaces[i] = (archive){.store = store, .opts = o, .prefix = bc_store_prefix(store),
                              .oid = t->oid, .progress = progress,
                              .manifest = data->manifest, .list = data->list};
        bc_tar_filter filter = {.mode = BC_TAR_FILTER_TABLESPACE, .pg_major = srv->major};
        st = archive_open(&spaces[i]);
        if (st == BC_OK)
            st = bc_tar_add_tree(spaces[i].tar, t->location, "", &filter);
        if (st == BC_OK)
            st = archive_close(&spaces[i]);
    }

    bc_tar_filter filter = {.mode = BC_TAR_FILTER_PGDATA,
                            .skip_tablespace_oids = oids,
                            .n_skip_tablespace_oids = srv->n_tablespaces,
                            .skip_paths = inside,
                            .n_skip_paths = ninside};
    char control[4096];
    snprintf(control, sizeof control, "%s/global/pg_control", srv->data_directory);
    if (st == BC_OK)
        st = archive_open(data);
    if (st == BC_OK)
        st = bc_tar_add_tree(data->tar, srv->data_directory, "", &filter);
    if (st == BC_OK)
        st = bc_tar_add_file(data->tar, control, "global/pg_control");
    if (st == BC_OK)
        st = bc_pg_backup_stop(pg, b);
    if (st == BC_OK)
        st = bc_tar_add_memory(data->tar, "backup_label", b->backup_label,
                               strlen(b->backup_label), 0600);
    /* No tablespace_map, as barman-cloud: restores link the tablespaces from
     * backup.info, and a map would send them back to their old locations
     * when a restore relocated them. */
    if (st == BC_OK)
        st = archive_close(data);
    free(oids);
    free(oid_text);
    free(inside);
    return st;
}

bc_status bc_backup(bc_store *store, bc_backup_opts *o)
{
    bc_pg *pg = NULL;
    bc_pg_server_info srv = {0};
    bc_pg_backup b = {0};
    bc_backup_info *info = bc_backup_info_new();
    bc_manifest_builder *mb = NULL;
    bc_archive_list list = {.algo = FILE_CHECKSUM};
    archive data = {.store = store, .opts = o, .prefix = bc_store_prefix(store), .list = &list};
    archive *spaces = NULL;
    bc_progress *progress = NULL;
    int reserved = 0, stopped = 0;

    signal(SIGPIPE, SIG_IGN);
    bc_status st = info ? bc_pg_connect(&o->conn, &pg)
                        : bc_oom();
    if (st == BC_OK)
        st = bc_pg_server_info_get(pg, &srv);
    if (st == BC_OK)
        st = bc_store_check(store);
    if (st == BC_OK)
        st = bc_manifest_builder_new(FILE_CHECKSUM, &mb);
    data.manifest = mb;
    if (st == BC_OK)
        st = reserve_backup_id(store, o, info, &srv);
    reserved = st == BC_OK;
    if (st == BC_OK && !(spaces = calloc(srv.n_tablespaces + 1, sizeof *spaces)))
        st = bc_oom();
    if (st != BC_OK)
        goto out;

    char label[64];
    snprintf(label, sizeof label, "Barman backup cloud %s", o->backup_id);
    bc_log_info("starting backup %s of %s (PostgreSQL %d%s)", o->backup_id,
                srv.data_directory, srv.server_version, srv.in_recovery ? ", standby" : "");
    st = bc_pg_backup_start(pg, label, o->immediate_checkpoint, &b);
    progress = bc_progress_new(o->progress, "backup");
    bc_progress_add_dir(progress, srv.data_directory);
    for (size_t i = 0; i < srv.n_tablespaces; i++)
        bc_progress_add_dir(progress, srv.tablespaces[i].location);
    data.progress = progress;
    if (st == BC_OK)
        st = copy_files(store, o, pg, &srv, &b, &data, spaces, progress);
    stopped = st == BC_OK;
    if (st == BC_OK)
        st = store_manifest(store, o, mb, &list, &b);
    if (st == BC_OK)
        st = check_still_started(store, o);
    if (st == BC_OK) {
        /* No size or data_checksums: barman-cloud 3.4 cannot read them
         * (backup-show fails on size, older barman refuse unknown keys). */
        st = fill_info(info, o, &srv, &b, 1);
        if (st == BC_OK)
            st = bc_backup_info_set_status(info, BC_BACKUP_DONE);
        if (st == BC_OK)
            st = bc_catalog_write_info(store, o->server, o->backup_id, info);
        if (st == BC_OK)
            bc_pg_create_restore_point(pg, o->backup_id, NULL, NULL);
    }
    bc_progress_done(progress, st == BC_OK);

out:
    if (st != BC_OK) {
        bc_err failure;   /* the cleanup below may set messages of its own */
        bc_error_save(&failure, st);
        archive_abort(&data);
        for (size_t i = 0; spaces && i < srv.n_tablespaces; i++)
            archive_abort(&spaces[i]);
        if (reserved && info) {
            /* Leave a FAILED record so listings show the attempt, as barman does. */
            fill_info(info, o, &srv, &b, stopped);
            bc_backup_info_set_status(info, BC_BACKUP_FAILED);
            bc_backup_info_set_str(info, "error", failure.message);
            if (bc_catalog_write_info(store, o->server, o->backup_id, info) != BC_OK)
                bc_log_warning("could not store backup.info with status FAILED: %s",
                               bc_error_msg());
        }
        bc_error_restore(&failure);
    }
    bc_progress_free(progress);
    bc_manifest_builder_free(mb);
    bc_archive_list_free(&list);
    free(spaces);
    bc_backup_info_free(info);
    bc_pg_backup_free(&b);
    bc_pg_server_info_free(&srv);
    bc_pg_close(pg);
    return st;
}
