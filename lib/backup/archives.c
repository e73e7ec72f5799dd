/* Reading a base backup's archive parts; see archives.h.
 *
 * Each part is a pipeline of two threads joined by a pipe: the download
 * (store -> checksum of the stored bytes -> decoder -> pipe) and the
 * unpacking (pipe -> tar reader -> manifest check -> files), so decoding,
 * checking and writing overlap. Up to `jobs` parts run at once. */
#include "backup/archives.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tar/extract.h"
#include "util/log.h"
#include "util/workqueue.h"

#define MAX_MANIFEST_SIZE ((size_t)1 << 30)   /* ~7 million files */
#define MAX_ARCHIVES_SIZE ((size_t)64 << 20)

/* --- listing --- */

typedef struct list_ctx {
    bc_backup_archives *a;
    const bc_tablespace *ts;
    size_t nts;
    bc_status status;
} list_ctx;

static int add_part(void *ctx, const bc_object_info *obj)
{
    list_ctx *lc = ctx;
    bc_backup_archives *a = lc->a;
    const char *name = strrchr(obj->key, '/') ? strrchr(obj->key, '/') + 1 : obj->key;
    bc_base_object parsed;
    bc_base_object_kind kind = bc_base_object_parse(name, &parsed);
    if (kind == BC_BASE_MANIFEST) {
        if (!strcmp(name, BC_MANIFEST_NAME))
            a->has_manifest = 1;
        else
            a->has_archives = 1;
    }
    if (kind != BC_BASE_DATA && kind != BC_BASE_TABLESPACE)
        return 0;
    if (kind == BC_BASE_TABLESPACE) {
        size_t i = 0;
        while (i < lc->nts && lc->ts[i].oid != parsed.oid)
            i++;
        if (i == lc->nts)
            return lc->status = bc_error(BC_ERR_DATA, "%s belongs to tablespace %u, which "
                                         "backup.info does not list", obj->key, parsed.oid);
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        bc_archive_part *parts = realloc(a->parts, cap * sizeof *parts);
        if (!parts)
            return lc->status = bc_oom();
        a->parts = parts;
        a->cap = cap;
    }
    a->bytes += obj->size;
    bc_archive_part *p = &a->parts[a->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->key, sizeof p->key, "%s", obj->key);
    p->codec = parsed.codec;
    p->kind = kind;
    p->oid = parsed.oid;
    p->part = parsed.part;
    p->size = obj->size;
    return 0;
}

static int compare_parts(const void *a, const void *b)
{
    const bc_archive_part *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind == BC_BASE_DATA ? -1 : 1;
    if (x->oid != y->oid)
        return x->oid < y->oid ? -1 : 1;
    return x->part < y->part ? -1 : x->part > y->part;
}

bc_status bc_backup_archives_list(bc_store *store, const char *server, const char *backup_id,
                                  const bc_tablespace *ts, size_t nts, bc_backup_archives *a)
{
    memset(a, 0, sizeof *a);
    bc_status st = bc_base_backup_dir_key(bc_store_prefix(store), server, backup_id, a->dir,
                                          sizeof a->dir);
    list_ctx lc = {.a = a, .ts = ts, .nts = nts};
    if (st == BC_OK)
        st = bc_store_list(store, a->dir, NULL, add_part, &lc);
    if (st == BC_OK)
        st = lc.status;
    if (st == BC_OK && a->n == 0)
        st = bc_error(BC_ERR_DATA, "backup %s has no archive in %s/%s", backup_id,
                      bc_store_describe(store), a->dir);
    if (a->n > 1)
        qsort(a->parts, a->n, sizeof *a->parts, compare_parts);
    /* names point into keys only once the array stops moving */
    for (size_t i = 0; i < a->n; i++)
        a->parts[i].name = strrchr(a->parts[i].key, '/') ? strrchr(a->parts[i].key, '/') + 1
                                                         : a->parts[i].key;
    return st;
}

bc_status bc_backup_archives_check_parts(const bc_backup_archives *a, const char *backup_id)
{
    int have_data = 0;
    for (size_t i = 0; i < a->n; i++) {
        const bc_archive_part *p = &a->parts[i];
        int first = i == 0 || p->kind != a->parts[i - 1].kind || p->oid != a->parts[i - 1].oid;
        unsigned want = first ? 0 : a->parts[i - 1].part + 1;
        have_data |= p->kind == BC_BASE_DATA;
        if (p->part == want)
            continue;
        if (p->part + 1 == want)
            return bc_error(BC_ERR_DATA, "backup %s has two objects for the same archive part: "
                            "%s and %s", backup_id, a->parts[i - 1].name, p->name);
        char missing[64];
        if (p->kind == BC_BASE_DATA)
            snprintf(missing, sizeof missing, want ? "data_%04u.tar" : "data.tar", want);
        else if (want)
            snprintf(missing, sizeof missing, "%u_%04u.tar", p->oid, want);
        else
            snprintf(missing, sizeof missing, "%u.tar", p->oid);
        return bc_error(BC_ERR_DATA, "backup %s is incomplete: archive part %s%s is missing "
                        "(%s is there)", backup_id, missing, strstr(p->name, ".tar") + 4,
                        p->name);
    }
    if (a->n && !have_data)
        return bc_error(BC_ERR_DATA, "backup %s is incomplete: data.tar is missing", backup_id);
    return BC_OK;
}

/* --- the manifest --- */

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

/* The archive objects must be exactly those listed, with their sizes. */
static bc_status match_archive_list(bc_backup_archives *a, const char *backup_id)
{
    const bc_archive_list *list = &a->list;
    for (size_t i = 0; i < a->n; i++) {
        bc_archive_part *p = &a->parts[i];
        p->expect = bc_archive_list_find(list, p->name);
        if (!p->expect)
            return bc_error(BC_ERR_DATA, "backup %s: %s is not one of its archives (not in "
                            "bc_archives.json)", backup_id, p->name);
        if (p->expect->size != p->size)
            return bc_error(BC_ERR_DATA, "backup %s: %s has %lld bytes in the store, "
                            "bc_archives.json says %lld: the object is damaged", backup_id,
                            p->name, (long long)p->size, (long long)p->expect->size);
    }
    for (size_t k = 0; k < list->n; k++) {
        size_t i = 0;
        while (i < a->n && strcmp(a->parts[i].name, list->items[k].name) != 0)
            i++;
        if (i == a->n)
            return bc_error(BC_ERR_DATA, "backup %s is incomplete: archive %s is missing",
                            backup_id, list->items[k].name);
    }
    return BC_OK;
}

bc_status bc_backup_archives_load_manifest(bc_store *store, const char *backup_id,
                                           bc_backup_archives *a)
{
    if (!a->has_manifest && !a->has_archives) {
        bc_log_info("backup %s has no backup_manifest (written by barman-cloud or an older "
                    "bc): checking the archives' structure only", backup_id);
        return BC_OK;
    }
    if (!a->has_manifest || !a->has_archives)
        return bc_error(BC_ERR_DATA, "backup %s is incomplete: %s is missing", backup_id,
                        a->has_manifest ? BC_ARCHIVES_NAME : BC_MANIFEST_NAME);
    bc_buffer lbuf = {0};
    bc_status st = load_object(store, a->dir, BC_ARCHIVES_NAME, MAX_ARCHIVES_SIZE, &lbuf);
    if (st == BC_OK)
        st = bc_archive_list_parse((const char *)lbuf.data, lbuf.len, BC_ARCHIVES_NAME,
                                   &a->list);
    bc_buffer_free(&lbuf);
    if (st == BC_OK)
        st = match_archive_list(a, backup_id);
    if (st == BC_OK)
        st = load_object(store, a->dir, BC_MANIFEST_NAME, MAX_MANIFEST_SIZE, &a->manifest_text);
    if (st == BC_OK) {
        char hex[65];
        bc_manifest_sha256_hex(a->manifest_text.data, a->manifest_text.len, hex);
        if ((int64_t)a->manifest_text.len != a->list.manifest_size ||
            strcmp(hex, a->list.manifest_sha256))
            st = bc_error(BC_ERR_DATA, "backup %s: %s is not the one %s names: the object is "
                          "damaged", backup_id, BC_MANIFEST_NAME, BC_ARCHIVES_NAME);
    }
    if (st == BC_OK)
        st = bc_manifest_parse((const char *)a->manifest_text.data, a->manifest_text.len,
                               BC_MANIFEST_NAME, &a->manifest);
    return st;
}

/* --- reading one part: store -> decoder -> pipe --- */

typedef struct download {
    const bc_store_config *config;
    bc_progress *progress;
    const bc_archive_part *part;
    int fd;
    bc_codec_stream *decoder;
    bc_checksum stored;           /* of the bytes as stored */
    int64_t stored_bytes;
    int reader_gone;              /* unpacking stopped: its error is the one */
    int mismatch;                 /* all downloaded, but not what was stored: the
                                     unpacking's error, if any, is more precise */
    bc_err err;
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

/* The bytes as stored: shown as progress and checksummed for the check
 * against bc_archives.json, then decoded. */
static int stored_sink(void *ctx, const void *data, size_t len)
{
    download *d = ctx;
    bc_progress_add(d->progress, (int64_t)len);
    if (d->part->expect) {
        bc_checksum_update(&d->stored, data, len);
        d->stored_bytes += (int64_t)len;
    }
    return bc_codec_sink(d->decoder, data, len);
}

/* The object as stored against bc_archives.json. */
static bc_status check_stored(download *d)
{
    const bc_archive_entry *e = d->part->expect;
    char hex[65];
    bc_checksum_final_hex(&d->stored, hex);
    if (d->stored_bytes != e->size || strcmp(hex, e->checksum) != 0)
        return d->mismatch = 1, bc_error(BC_ERR_DATA, "%s: %lld bytes with %s checksum %s in the store, "
                        "bc_archives.json says %lld bytes with %s: the object is damaged",
                        d->part->name, (long long)d->stored_bytes,
                        bc_checksum_name(d->stored.algo), hex, (long long)e->size, e->checksum);
    return BC_OK;
}

static void *download_main(void *arg)
{
    download *d = arg;
    bc_store *store = NULL;
    bc_status st = bc_store_open(d->config, &store);
    if (st == BC_OK)
        st = bc_codec_decoder(d->part->codec, pipe_sink, d, &d->decoder);
    if (st == BC_OK)
        st = bc_store_get(store, d->part->key, stored_sink, d);
    if (st == BC_OK)
        st = bc_codec_finish(d->decoder);
    /* The codec's messages do not say which object they read. */
    if (st != BC_OK && !d->reader_gone)
        bc_error_context(st, "%s", d->part->name);
    if (st == BC_OK && d->part->expect)
        st = check_stored(d);
    bc_error_save(&d->err, st);
    bc_codec_free(d->decoder);
    bc_store_close(store);
    close(d->fd);
    return NULL;
}

static void read_part(const bc_backup_archives *a, const bc_archive_read_opts *o,
                      bc_archive_part *p)
{
    bc_manifest_check *check = NULL;
    bc_extract_observer obs, *obsp = NULL;
    if (a->manifest) {
        char prefix[64] = "";
        if (p->kind == BC_BASE_TABLESPACE)
            snprintf(prefix, sizeof prefix, "pg_tblspc/%u/", p->oid);
        bc_status cst = bc_manifest_check_new(a->manifest, p->name, prefix, &check);
        if (cst != BC_OK) {
            bc_error_save(&p->result, cst);
            return;
        }
        bc_manifest_check_observer(check, &obs);
        obsp = &obs;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        bc_error_save(&p->result, bc_error(BC_ERR_IO, "cannot create a pipe: %s",
                                           strerror(errno)));
        bc_manifest_check_free(check);
        return;
    }
    /* A larger pipe: fewer, larger reads and writes between the threads
     * (the default 64 KiB costs a context switch every 64 KiB). */
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    download d = {.config = o->store_config, .progress = o->progress, .part = p, .fd = fds[1]};
    bc_status st = BC_OK;
    if (p->expect)
        st = bc_checksum_init(&d.stored, a->list.algo);
    pthread_t thread;
    if (st == BC_OK && pthread_create(&thread, NULL, download_main, &d) != 0)
        st = bc_error(BC_ERR_INTERNAL, "cannot start a download thread");
    if (st != BC_OK) {
        close(fds[0]);
        close(fds[1]);
        bc_error_save(&p->result, st);
        bc_checksum_free(&d.stored);
        bc_manifest_check_free(check);
        return;
    }
    /* Reads to the end of the stream; on failure closing the pipe stops
     * the download at once (its write fails) instead of fetching the rest. */
    bc_extract_stats stats = {0};
    st = bc_tar_extract_fd(fds[0], p->target, p->name, obsp, &stats);
    bc_err unpacked;
    bc_error_save(&unpacked, st);
    close(fds[0]);
    pthread_join(thread, NULL);
    p->files = stats.entries;
    p->bytes = stats.bytes;
    if (st != BC_OK && (d.err.status == BC_OK || d.reader_gone || d.mismatch))
        p->result = unpacked;     /* the unpacking found it */
    else if (d.err.status != BC_OK) /* a failed download explains a broken archive */
        p->result = d.err;
    else if (p->target)
        bc_log_info("unpacked %s into %s", p->name, p->target);
    else
        bc_log_info("read and checked %s", p->name);
    bc_checksum_free(&d.stored);
    bc_manifest_check_free(check);
}

/* --- all parts --- */

typedef struct read_ctx {
    bc_backup_archives *a;
    const bc_archive_read_opts *o;
} read_ctx;

static int read_one(void *ctx, size_t i)
{
    read_ctx *rc = ctx;
    read_part(rc->a, rc->o, &rc->a->parts[i]);
    return rc->a->parts[i].result.status != BC_OK;
}

bc_status bc_backup_archives_read(bc_backup_archives *a, const bc_archive_read_opts *o)
{
    read_ctx rc = {a, o};
    bc_work_run(a->n, o->jobs, o->keep_going, read_one, &rc);
    for (size_t i = 0; i < a->n; i++)
        if (a->parts[i].result.status != BC_OK)
            return bc_error_restore(&a->parts[i].result);
    return a->manifest ? bc_manifest_check_complete(a->manifest) : BC_OK;
}

void bc_backup_archives_free(bc_backup_archives *a)
{
    if (!a)
        return;
    free(a->parts);
    bc_manifest_free(a->manifest);
    bc_archive_list_free(&a->list);
    bc_buffer_free(&a->manifest_text);
    memset(a, 0, sizeof *a);
}
