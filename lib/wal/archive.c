/* Archiving WAL files (archive_command).
 *
 * Overwrite protection: a name is never given different content. Where the
 * store refuses a conditional write to an existing name and looking costs
 * a request (BC_STORE_PUT_FIRST: Azure, GCS, AWS S3, or
 * --conditional-writes yes), the object is put first, conditionally, and
 * only a conflict leads to looking at what is stored: one request per
 * segment. Elsewhere one LIST of "<folder>/<name>" first shows whether the
 * name is archived under any compression suffix. Either way, what is
 * stored is downloaded, decoded and compared with the local file:
 * identical content is success (PostgreSQL retries a segment whose
 * archiving it could not confirm), a strict prefix of it is the leftover
 * of an interrupted upload and is replaced, any other content is refused
 * and the stored object left untouched. Putting first does not see a copy
 * under another suffix (another compression); bc-wal-restore compares such
 * copies before using either (objects.c). Every object carries the CRC-32C
 * and size of the uncompressed file as metadata (integrity.c), for
 * bc-wal-restore to check. */
#include "wal/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout/wal.h"
#include "util/buffer.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/workqueue.h"

#define READ_CHUNK (256 * 1024)

/* --- content comparison --- */

typedef struct compare_ctx {
    int fd;
    int64_t size, offset;
    int differs;
    unsigned char *buf;
} compare_ctx;

static int compare_sink(void *ctx, const void *data, size_t len)
{
    compare_ctx *c = ctx;
    const unsigned char *p = data;
    while (len > 0 && !c->differs) {
        size_t want = len < READ_CHUNK ? len : READ_CHUNK;
        if (c->offset + (int64_t)want > c->size) {
            c->differs = 1;
            break;
        }
        ssize_t n = pread(c->fd, c->buf, want, c->offset);
        if (n != (ssize_t)want || memcmp(c->buf, p, want) != 0) {
            c->differs = 1;
            break;
        }
        c->offset += n;
        p += want;
        len -= want;
    }
    if (c->differs) {
        return bc_error(BC_ERR_CONFLICT, "content differs");
    }
    return 0;
}

/* BC_OK if the stored object decodes to exactly the file's bytes, or (with
 * *prefix set) to a strict prefix of them and then ends: a plain body cut
 * short, or a codec stream missing its end. BC_ERR_CONFLICT if it differs,
 * another status if it could not be read. */
static bc_status same_content(bc_store *store, const bc_wal_object *obj, int fd, int64_t size,
                              int *prefix)
{
    *prefix = 0;
    compare_ctx c = {.fd = fd, .size = size, .buf = malloc(READ_CHUNK)};
    if (!c.buf)
        return bc_oom();
    bc_codec_stream *decoder;
    bc_status st = bc_codec_decoder(obj->codec, compare_sink, &c, &decoder);
    if (st != BC_OK) {
        free(c.buf);
        return st;
    }
    int cut = 0;
    st = bc_store_get(store, obj->key, bc_codec_sink, decoder);
    if (st == BC_OK) {
        st = bc_codec_finish(decoder);
        /* Every byte decoded so far matched, then the stream just ended. */
        cut = st == BC_ERR_DATA && !c.differs;
    }
    if (c.differs) {
        st = BC_ERR_CONFLICT;
    } else if ((st == BC_OK && c.offset < size) || cut) {
        *prefix = 1;
        st = BC_OK;
    } else if (st == BC_ERR_DATA) {
        st = BC_ERR_CONFLICT; /* undecodable object: not our content */
    }
    free(c.buf);
    bc_codec_free(decoder);
    return st;
}

/* --- one file --- */

/* Reads the file once: digests it and, with a codec, compresses it into
 * out; without one, and when sha256 is not NULL (a store that signs
 * payloads: BC_STORE_HASHES_PAYLOAD), also hashes it with SHA-256 into
 * sha256, so the upload does not read it a second time. The checksum is
 * of these bytes, so the object's metadata describes exactly what was
 * uploaded. */
static bc_status read_file(int fd, int64_t size, const bc_wal_archive_opts *o,
                           bc_wal_digest *digest, bc_buffer *out, char sha256[65])
{
    bc_sha256 sha = {0};
    bc_codec_stream *enc = NULL;
    bc_status st = o->codec != BC_CODEC_NONE
        ? bc_codec_encoder(o->codec, o->level, bc_buffer_sink, out, &enc) : BC_OK;
    if (st != BC_OK)
        return st;
    unsigned char *buf = malloc(READ_CHUNK);
    if (!buf)
        st = bc_oom();
    int hash = !enc && sha256;
    if (st == BC_OK && hash)
        st = bc_sha256_begin(&sha);
    for (int64_t off = 0; st == BC_OK && off < size;) {
        ssize_t n = pread(fd, buf, READ_CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = bc_error(BC_ERR_IO, "cannot read the WAL file: %s",
                          n == 0 ? "it shrank while being read" : strerror(errno));
            break;
        }
        bc_wal_digest_update(digest, buf, (size_t)n);
        if (enc)
            st = bc_codec_write(enc, buf, (size_t)n);
        else if (hash)
            bc_sha256_update(&sha, buf, (size_t)n);
        off += n;
    }
    if (st == BC_OK && enc)
        st = bc_codec_finish(enc);
    if (st == BC_OK && hash)
        bc_sha256_hex(&sha, sha256);
    bc_sha256_free(&sha);
    free(buf);
    bc_codec_free(enc);
    return st;
}

/* *exists: an identical copy is stored. leftover->key[0] != 0: what is
 * stored is a strict prefix of the file, the leftover of an interrupted
 * upload on a store that keeps partial bodies, to be replaced. */
static bc_status resolve_existing(bc_store *store, const char *server, const char *name,
                                  int fd, int64_t size, int *exists, bc_wal_object *leftover)
{
    bc_wal_object existing;
    bc_status st = bc_wal_find(store, server, name, 0, &existing);
    int prefix = 0;
    *exists = 0;
    leftover->key[0] = '\0';
    if (st == BC_ERR_NOTFOUND)
        return BC_OK;
    if (st != BC_OK)
        return st;
    st = same_content(store, &existing, fd, size, &prefix);
    if (st == BC_OK && prefix) {
        bc_log_warning("%s/%s holds only the start of %s (%lld bytes stored, the file has "
                       "%lld): the leftover of an interrupted upload; replacing it",
                       bc_store_describe(store), existing.key, name, (long long)existing.size,
                       (long long)size);
        *leftover = existing;
        return BC_OK;
    }
    *exists = 1;
    if (st == BC_OK) {
        bc_log_info("%s is already archived with identical content as %s/%s", name,
                    bc_store_describe(store), existing.key);
    } else if (st == BC_ERR_CONFLICT) {
        st = bc_error(BC_ERR_CONFLICT,
                      "%s/%s already exists with different content; refusing to overwrite it "
                      "(is another cluster archiving under server name '%s'? use a different "
                      "server name or destination)",
                      bc_store_describe(store), existing.key, server);
    }
    return st;
}

/* Puts the prepared object under key: first, conditionally, where
 * the store says so (one request in the usual case), looking at
 * what is stored only on a conflict; elsewhere after looking. What is
 * stored is judged by content (resolve_existing). */
static bc_status store_new(bc_store *store, const char *name, const char *key, int fd,
                           int64_t size, const bc_source *src, bc_put_opts *put,
                           const bc_wal_archive_opts *o, int look_first)
{
    for (;;) {
        bc_wal_object leftover;
        int exists = 0;
        leftover.key[0] = '\0';
        bc_status st = BC_OK;
        if (look_first) {
            st = resolve_existing(store, o->server, name, fd, size, &exists, &leftover);
            if (st != BC_OK || exists)
                return st;
        }
        int replace = leftover.key[0] && strcmp(leftover.key, key) == 0;
        /* A leftover under another suffix would shadow the new object in
         * the next lookup, and holds nothing worth keeping (the file is
         * still in pg_wal until we succeed): it goes first. */
        const char *old = leftover.key;
        if (*old && !replace)
            st = bc_store_delete(store, &old, 1);
        if (st != BC_OK) {
            bc_error_context(st, "deleting the leftover %s/%s", bc_store_describe(store), old);
            return st;
        }
        put->if_absent = replace ? 0 : look_first ? BC_IF_ABSENT : BC_IF_ABSENT_ONLY;
        st = bc_store_put(store, key, src, put);
        if (st == BC_OK) {
            bc_log_info("archived %s as %s/%s (%lld bytes)", name, bc_store_describe(store), key,
                        (long long)src->size);
            return st;
        }
        if (st != BC_ERR_CONFLICT) {
            bc_error_context(st, "uploading %s to %s/%s", name, bc_store_describe(store), key);
            return st;
        }
        if (!look_first) {
            /* The name exists (or the server cannot do conditional writes
             * after all): look, and go on as if we had looked first. */
            look_first = 1;
            continue;
        }
        /* Someone stored it between our look and our put: judge by content. */
        st = resolve_existing(store, o->server, name, fd, size, &exists, &leftover);
        if (st == BC_OK && !exists)
            st = bc_error(BC_ERR_CONFLICT,
                          "%s/%s: the store refused the upload because the name exists, "
                          "but it cannot be listed; retry later", bc_store_describe(store), key);
        return st;
    }
}

static bc_status archive_one(bc_store *store, const char *wal_path,
                             const bc_wal_archive_opts *o)
{
    const char *name = bc_wal_basename(wal_path);
    bc_wal_kind kind = bc_wal_classify(name);
    if (kind == BC_WAL_INVALID)
        return bc_error(BC_ERR_USAGE, "%s is not a valid WAL file name", wal_path);

    int fd = open(wal_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bc_error(BC_ERR_IO, "cannot open WAL file %s: %s", wal_path, strerror(errno));
    struct stat sb;
    bc_buffer compressed = {0};
    bc_wal_digest digest = {0};
    char sha256[65];
    bc_status st = fstat(fd, &sb) == 0 ? BC_OK
                   : bc_error(BC_ERR_IO, "cannot stat %s: %s", wal_path, strerror(errno));
    unsigned caps = bc_store_caps(store);
    int hashes = (caps & BC_STORE_HASHES_PAYLOAD) != 0;
    if (st == BC_OK)
        st = read_file(fd, sb.st_size, o, &digest, &compressed, hashes ? sha256 : NULL);
    if (st != BC_OK)
        goto out;
    bc_source src = {.fd = fd, .size = sb.st_size, .sha256 = hashes ? sha256 : NULL};
    if (o->codec != BC_CODEC_NONE)
        src = (bc_source){.fd = -1, .mem = compressed.data, .size = (int64_t)compressed.len};
    char key[1024], sum[BC_WAL_SUM_HEX + 1], size_text[24];
    bc_tag meta[2];
    bc_wal_digest_hex(&digest, sum);
    bc_wal_integrity_meta(sum, digest.size, size_text, meta);
    st = bc_wal_key(bc_store_prefix(store), o->server, name, bc_codec_suffix(o->codec), key,
                    sizeof key);
    if (st != BC_OK)
        goto out;
    int history = kind == BC_WAL_HISTORY && o->history_tags;
    bc_put_opts put = {.tags = history ? o->history_tags : o->tags,
                       .ntags = history ? o->nhistory_tags : o->ntags,
                       .meta = meta, .nmeta = 2};
    st = store_new(store, name, key, fd, sb.st_size, &src, &put, o,
                   !(caps & BC_STORE_PUT_FIRST));
out:
    bc_buffer_free(&compressed);
    close(fd);
    return st;
}

/* --- archiving ahead (--max-parallel with --spool-dir) ---
 *
 * Besides the requested file, up to N-1 other files PostgreSQL has marked
 * ready (pg_wal/archive_status/<name>.ready) are uploaded at the same time.
 * For each one stored, a marker file "<spool>/<name>" holding the source id
 * is written durably; when PostgreSQL later asks for that name, the marker
 * proves it is already stored and the call returns at once. PostgreSQL's
 * archive_status files are only read, never touched. */

/* The uploads of one call: item 0 is the requested file, with the
 * caller's store; the others are ready files archived ahead, each with a
 * store of its own and a marker once stored. */
typedef struct ahead {
    bc_store *store;
    const bc_wal_archive_opts *opts;
    const char *source_id;
    const char **paths;
    bc_err *results;
} ahead;

static bc_status write_marker(const char *spool, const char *name, const char *source_id)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", spool, name);
    return bc_write_small_file(path, source_id);
}

/* 1 if a marker for name exists and was written for this source. */
static int marker_matches(const char *spool, const char *name, const char *source_id)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", spool, name);
    return bc_file_holds(path, source_id);
}

static int archive_item(void *ctx, size_t i)
{
    ahead *a = ctx;
    bc_status st;
    if (i == 0) {
        st = archive_one(a->store, a->paths[0], a->opts);
    } else {
        bc_store *store = NULL;
        st = bc_store_open(a->opts->store_config, &store);
        if (st == BC_OK)
            st = archive_one(store, a->paths[i], a->opts);
        if (st == BC_OK)
            st = write_marker(a->opts->spool_dir, bc_wal_basename(a->paths[i]), a->source_id);
        bc_store_close(store);
    }
    return bc_error_save(&a->results[i], st) != BC_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Up to max other ready WAL names in pg_wal/archive_status, oldest first. */
static size_t ready_files(const char *wal_path, const char *self, const char *spool,
                          const char *source_id, char **out, size_t max)
{
    char *copy = strdup(wal_path);
    char status_dir[4096];
    if (!copy)
        return 0;
    snprintf(status_dir, sizeof status_dir, "%s/archive_status", dirname(copy));
    DIR *dir = opendir(status_dir);
    size_t n = 0, cap = 0;
    char **names = NULL;
    struct dirent *de;
    while (dir && (de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 7 || strcmp(de->d_name + len - 6, ".ready") != 0)
            continue;
        char *name = strndup(de->d_name, len - 6);
        if (!name)
            break;
        if (bc_wal_classify(name) == BC_WAL_INVALID || strcmp(name, self) == 0 ||
            marker_matches(spool, name, source_id)) {
            free(name);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                free(name);
                break;
            }
            names = grown;
        }
        names[n++] = name;
    }
    if (dir)
        closedir(dir);
    if (n)
        qsort(names, n, sizeof *names, compare_names);
    size_t taken = 0;
    for (size_t i = 0; i < n; i++) {
        if (taken < max) {
            size_t plen = strlen(status_dir) - strlen("/archive_status");
            size_t len = plen + strlen(names[i]) + 2;
            out[taken] = malloc(len);
            if (out[taken])
                snprintf(out[taken++], len, "%.*s/%s", (int)plen, status_dir, names[i]);
        }
        free(names[i]);
    }
    free(names);
    free(copy);
    return taken;
}

bc_status bc_wal_archive(bc_store *store, const char *wal_path, const bc_wal_archive_opts *o)
{
    const char *name = bc_wal_basename(wal_path);
    if (o->max_parallel <= 1 || !o->spool_dir)
        return archive_one(store, wal_path, o);

    char source_id[2048];
    bc_wal_source_id(store, o->server, source_id, sizeof source_id);
    if (mkdir(o->spool_dir, 0700) != 0 && errno != EEXIST)
        return bc_error(BC_ERR_IO, "cannot create spool directory %s: %s", o->spool_dir,
                        strerror(errno));
    if (marker_matches(o->spool_dir, name, source_id)) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", o->spool_dir, name);
        unlink(path);
        bc_log_info("%s was already archived ahead of time", name);
        return BC_OK;
    }

    char *extra[64];
    const char *paths[65] = {wal_path};
    size_t max = (size_t)o->max_parallel - 1 < 64 ? (size_t)o->max_parallel - 1 : 64;
    size_t nextra = ready_files(wal_path, name, o->spool_dir, source_id, extra, max);
    for (size_t i = 0; i < nextra; i++)
        paths[i + 1] = extra[i];
    bc_err *results = calloc(nextra + 1, sizeof *results);
    if (!results) {
        for (size_t i = 0; i < nextra; i++)
            free(extra[i]);
        return bc_oom();
    }
    ahead a = {.store = store, .opts = o, .source_id = source_id, .paths = paths,
               .results = results};
    bc_work_run(nextra + 1, (int)nextra + 1, 1, archive_item, &a);
    for (size_t i = 1; i <= nextra; i++) {
        if (results[i].status != BC_OK)
            bc_log_warning("archiving ahead %s failed (PostgreSQL will retry it): %s",
                           bc_wal_basename(paths[i]), results[i].message);
        else
            bc_log_info("archived ahead %s", bc_wal_basename(paths[i]));
    }
    bc_status st = bc_error_restore(&results[0]);
    for (size_t i = 0; i < nextra; i++)
        free(extra[i]);
    free(results);
    return st;
}
