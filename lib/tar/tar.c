/* Streaming pax tar writer on libarchive: entries and the archive itself;
 * the directory walk is in walk.c. See tar.h. */
#include "tar/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tar/tar_internal.h"
#include "util/log.h"

#define READ_CHUNK (1024 * 1024) /* file data is copied in pieces this big */
#define RECORD 10240             /* 20 x 512: the archive's length is a multiple,
                                    as with tarfile and GNU tar */
#define OUT_BLOCK (8 * RECORD)   /* libarchive hands the sink blocks this big */

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *data, size_t len)
{
    (void)a;
    bc_tar_writer *w = ctx;
    if (w->discard)
        return (la_ssize_t)len;
    if (w->sink_status != BC_OK)
        return -1;
    int rc = w->sink(w->sink_ctx, data, len);
    if (rc != 0) {
        w->sink_status = bc_sink_status(rc);
        return -1;
    }
    w->stats.archive_bytes += (int64_t)len;
    return (la_ssize_t)len;
}

/* A libarchive call failed: report the sink's error if the sink caused it,
 * else libarchive's, and refuse further work on this archive. */
static bc_status archive_failure(bc_tar_writer *w, const char *what, const char *name)
{
    if (w->sink_status != BC_OK)
        w->broken = bc_error_context(w->sink_status, "tar: %s %s", what, name);
    else
        w->broken = bc_error(BC_ERR_INTERNAL, "tar: %s %s: %s", what, name,
                             archive_error_string(w->a) ? archive_error_string(w->a)
                                                        : "libarchive error");
    return w->broken;
}

/* A new libarchive writer on the sink. */
static bc_status open_archive(bc_tar_writer *w)
{
    w->a = archive_write_new();
    if (!w->a)
        return bc_error(BC_ERR_INTERNAL, "tar: out of memory");
    /* pax_restricted: ustar headers, pax extensions only where ustar cannot
     * hold a value; tarfile.PAX_FORMAT readers and GNU tar read it. */
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_add_filter_none(w->a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->a, OUT_BLOCK) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->a, RECORD) != ARCHIVE_OK ||
        archive_write_open(w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK)
        return archive_failure(w, "opening", "archive");
    w->part_start = w->stats.archive_bytes;
    return BC_OK;
}

bc_status bc_tar_writer_new(bc_sink_fn sink, void *sink_ctx, bc_tar_writer **out)
{
    *out = NULL;
    bc_tar_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bc_error(BC_ERR_INTERNAL, "tar: out of memory");
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    w->buf = malloc(READ_CHUNK);
    bc_status st = w->buf ? open_archive(w) : bc_error(BC_ERR_INTERNAL, "tar: out of memory");
    if (st != BC_OK) {
        bc_tar_free(w);
        return st;
    }
    *out = w;
    return BC_OK;
}

void bc_tar_set_rotation(bc_tar_writer *w, int64_t max_bytes, bc_tar_rotate_fn rotate,
                         void *ctx)
{
    w->max_part_bytes = max_bytes;
    w->rotate = rotate;
    w->rotate_ctx = ctx;
}

/* Ends the current part and starts the next one when it is full. */
static bc_status maybe_rotate(bc_tar_writer *w)
{
    if (!w->rotate || w->stats.archive_bytes - w->part_start < w->max_part_bytes)
        return BC_OK;
    if (archive_write_close(w->a) != ARCHIVE_OK)
        return archive_failure(w, "closing", "archive part");
    archive_write_free(w->a);
    w->a = NULL;
    bc_status st = w->rotate(w->rotate_ctx);
    if (st == BC_OK)
        st = open_archive(w);
    if (st != BC_OK)
        w->broken = st;
    return st;
}

/* The name of user id (group id with group) from the cache c, which it
 * fills on a miss; NULL when the id has none. */
static const char *owner_name(bc_tar_owner_name *c, unsigned long id, int group)
{
    if (!c->valid || c->id != id) {
        struct passwd pw, *pw_res = NULL;
        struct group gr, *gr_res = NULL;
        const char *found = NULL;
        char tmp[1024];
        c->id = id;
        c->valid = 1;
        c->name[0] = '\0';
        if (group && getgrgid_r((gid_t)id, &gr, tmp, sizeof tmp, &gr_res) == 0 && gr_res)
            found = gr_res->gr_name;
        else if (!group && getpwuid_r((uid_t)id, &pw, tmp, sizeof tmp, &pw_res) == 0 && pw_res)
            found = pw_res->pw_name;
        if (found)
            snprintf(c->name, sizeof c->name, "%s", found);
    }
    return c->name[0] ? c->name : NULL;
}

bc_status bc_tar_put_header(bc_tar_writer *w, const char *name, unsigned type,
                              const struct stat *st, int64_t size, const char *link_target)
{
    bc_status rst = maybe_rotate(w);
    if (rst != BC_OK)
        return rst;
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return bc_error(BC_ERR_INTERNAL, "tar: out of memory");
    archive_entry_copy_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, st->st_mode & 07777);
    archive_entry_set_uid(e, st->st_uid);
    archive_entry_set_gid(e, st->st_gid);
    archive_entry_copy_uname(e, owner_name(&w->user, st->st_uid, 0));
    archive_entry_copy_gname(e, owner_name(&w->group, st->st_gid, 1));
    archive_entry_set_mtime(e, st->st_mtime, 0);
    archive_entry_set_size(e, type == AE_IFREG ? size : 0);
    if (link_target)
        archive_entry_copy_symlink(e, link_target);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    /* ARCHIVE_WARN: e.g. a name not valid in the locale, stored as bytes */
    if (r < ARCHIVE_WARN)
        return archive_failure(w, "writing header for", name);
    w->stats.entries++;
    if (type == AE_IFREG && w->obs.file_begin) {
        bc_status ost = w->obs.file_begin(w->obs.ctx, name, size, st->st_mtime);
        if (ost != BC_OK)
            return w->broken = ost;
        w->in_file = 1;
    }
    return BC_OK;
}

static bc_status write_data(bc_tar_writer *w, const void *data, size_t len, const char *name)
{
    la_ssize_t n = archive_write_data(w->a, data, len);
    if (n < 0 || (size_t)n != len)
        return archive_failure(w, "writing data of", name);
    if (w->in_file)
        w->obs.file_data(w->obs.ctx, data, len);
    return BC_OK;
}

static bc_status finish_entry(bc_tar_writer *w, const char *name)
{
    if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
        return archive_failure(w, "finishing", name);
    if (w->in_file) {
        w->in_file = 0;
        bc_status st = w->obs.file_end(w->obs.ctx);
        if (st != BC_OK)
            return w->broken = st;
    }
    return BC_OK;
}

/* Exactly `size` bytes of fd: short files padded with zeros, longer ones
 * cut, as a base backup of a running server must. */
static bc_status copy_contents(bc_tar_writer *w, int fd, const char *path, const char *name,
                               int64_t size)
{
    int64_t done = 0;
    while (done < size) {
        size_t want = size - done < READ_CHUNK ? (size_t)(size - done) : READ_CHUNK;
        ssize_t n = read(fd, w->buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return w->broken = bc_error(BC_ERR_IO, "reading %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        bc_status st = write_data(w, w->buf, (size_t)n, name);
        if (st != BC_OK)
            return st;
        done += n;
    }
    if (done < size) {
        bc_log_debug("%s shrank while being read: padding %lld bytes with zeros", path,
                     (long long)(size - done));
        w->stats.shrunk++;
        memset(w->buf, 0, READ_CHUNK);
        while (done < size) {
            size_t pad = size - done < READ_CHUNK ? (size_t)(size - done) : READ_CHUNK;
            bc_status st = write_data(w, w->buf, pad, name);
            if (st != BC_OK)
                return st;
            done += (int64_t)pad;
        }
    }
    return finish_entry(w, name);
}

bc_status bc_tar_put_regular(bc_tar_writer *w, const char *path, const char *name,
                             const struct stat *st, int missing_ok)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT && missing_ok) {
            bc_log_debug("%s vanished during the backup: skipped", path);
            w->stats.vanished++;
            return BC_OK;
        }
        return bc_error(BC_ERR_IO, "opening %s: %s", path, strerror(errno));
    }
    bc_status st_ = bc_tar_put_header(w, name, AE_IFREG, st, st->st_size, NULL);
    if (st_ == BC_OK)
        st_ = copy_contents(w, fd, path, name, st->st_size);
    close(fd);
    if (st_ == BC_OK) {
        w->stats.files++;
        w->stats.file_bytes += st->st_size;
    }
    return st_;
}

bc_status bc_tar_put_link(bc_tar_writer *w, const char *path, const char *name,
                          const struct stat *st, int missing_ok)
{
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) {
        if (errno == ENOENT && missing_ok) {
            w->stats.vanished++;
            return BC_OK;
        }
        return bc_error(BC_ERR_IO, "reading link %s: %s", path, strerror(errno));
    }
    if ((size_t)n == sizeof target - 1)
        return bc_error(BC_ERR_IO, "reading link %s: target too long", path);
    target[n] = '\0';
    return bc_tar_put_header(w, name, AE_IFLNK, st, 0, target);
}

void bc_tar_set_observer(bc_tar_writer *w, const bc_tar_observer *obs)
{
    if (obs)
        w->obs = *obs;
    else
        memset(&w->obs, 0, sizeof w->obs);
}

bc_status bc_tar_check_usable(const bc_tar_writer *w)
{
    if (w->broken != BC_OK)
        return bc_error(w->broken, "tar: archive unusable after an earlier error");
    if (w->finished)
        return bc_error(BC_ERR_INTERNAL, "tar: archive already finished");
    return BC_OK;
}

bc_status bc_tar_add_file(bc_tar_writer *w, const char *src_path, const char *name)
{
    bc_status st = bc_tar_check_usable(w);
    if (st != BC_OK)
        return st;
    struct stat sb;
    /* followed: a configuration file may be a link to the real one */
    if (stat(src_path, &sb) != 0)
        return bc_error(BC_ERR_IO, "stat %s: %s", src_path, strerror(errno));
    if (S_ISREG(sb.st_mode))
        return bc_tar_put_regular(w, src_path, name, &sb, 0);
    if (S_ISDIR(sb.st_mode))
        return bc_tar_put_header(w, name, AE_IFDIR, &sb, 0, NULL);
    return bc_error(BC_ERR_IO, "%s: not a regular file", src_path);
}

bc_status bc_tar_add_memory(bc_tar_writer *w, const char *name, const void *data, size_t len,
                            unsigned mode)
{
    bc_status st = bc_tar_check_usable(w);
    if (st != BC_OK)
        return st;
    struct stat sb = {0};
    sb.st_mode = S_IFREG | (mode & 07777);
    sb.st_uid = geteuid();
    sb.st_gid = getegid();
    sb.st_mtime = time(NULL);
    st = bc_tar_put_header(w, name, AE_IFREG, &sb, (int64_t)len, NULL);
    for (size_t done = 0; st == BC_OK && done < len;) {
        size_t piece = len - done < READ_CHUNK ? len - done : READ_CHUNK;
        st = write_data(w, (const unsigned char *)data + done, piece, name);
        done += piece;
    }
    if (st == BC_OK)
        st = finish_entry(w, name);
    if (st == BC_OK) {
        w->stats.files++;
        w->stats.file_bytes += (int64_t)len;
    }
    return st;
}

bc_status bc_tar_finish(bc_tar_writer *w)
{
    bc_status st = bc_tar_check_usable(w);
    if (st != BC_OK)
        return st;
    if (archive_write_close(w->a) != ARCHIVE_OK)
        return archive_failure(w, "closing", "archive");
    w->finished = 1;
    return BC_OK;
}

const bc_tar_stats *bc_tar_get_stats(const bc_tar_writer *w)
{
    return &w->stats;
}

void bc_tar_free(bc_tar_writer *w)
{
    if (!w)
        return;
    /* archive_write_free() closes an open archive, which would write the
     * end blocks: an abandoned archive must not look complete. */
    w->discard = 1;
    if (w->a)
        archive_write_free(w->a);
    free(w->buf);
    free(w);
}
