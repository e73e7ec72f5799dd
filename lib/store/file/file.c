/* file:// backend: a local directory (a mounted volume, NFS, a test store).
 *
 * A put writes to a hidden temporary file in the target directory, fsyncs
 * it, moves it into place with rename() (or link() when the caller wants
 * "only if absent", which fails atomically on an existing name) and fsyncs
 * the directory, so a crash never leaves a half-written object under its
 * final name. Listings skip the temporary files; a killed writer's stays
 * until a delete empties its folder, which removes it with the folder. A
 * streaming writer fills such a temporary file piecemeal and does the
 * rest at commit. */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/log.h"

#define TMP_PREFIX ".bc-tmp-"
/* User metadata NAME is the extended attribute user.NAME of the file. */
#define XATTR_PREFIX "user."
#define IO_CHUNK (256 * 1024)

typedef struct file_store {
    char *root;
} file_store;

static bc_status file_open(const bc_store_config *cfg, const char *bucket,
                           const char *prefix, void **backend)
{
    (void)cfg;
    (void)prefix;
    file_store *fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->root = strdup(bucket))) {
        free(fs);
        return bc_oom();
    }
    size_t n = strlen(fs->root);
    while (n > 1 && fs->root[n - 1] == '/')
        fs->root[--n] = '\0';
    *backend = fs;
    return BC_OK;
}

static void file_close(void *backend)
{
    file_store *fs = backend;
    free(fs->root);
    free(fs);
}

static char *full_path(const file_store *fs, const char *key)
{
    size_t n = strlen(fs->root) + strlen(key) + 2;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%s", fs->root, key);
    return path;
}

static bc_status check_root(const file_store *fs)
{
    struct stat st;
    if (stat(fs->root, &st) != 0)
        return bc_error(BC_ERR_NOBUCKET,
                        "store directory %s does not exist (%s): create it first",
                        fs->root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return bc_error(BC_ERR_NOBUCKET, "store path %s is not a directory", fs->root);
    return BC_OK;
}

static bc_status file_check(void *backend)
{
    file_store *fs = backend;
    bc_status st = check_root(fs);
    if (st != BC_OK)
        return st;
    if (access(fs->root, R_OK | W_OK | X_OK) != 0)
        return bc_error(BC_ERR_AUTH, "store directory %s is not writable: %s",
                        fs->root, strerror(errno));
    return BC_OK;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* mkdir -p for the parent directories of path (below the root), fsyncing
 * each directory that gains an entry so the new path survives a crash. */
static bc_status make_parents(const file_store *fs, char *path)
{
    size_t rootlen = strlen(fs->root);
    for (char *p = path + rootlen + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(path, 0750) == 0) {
            char *parent_end = strrchr(path, '/');
            *parent_end = '\0';
            fsync_dir(path[0] ? path : "/");
            *parent_end = '/';
        } else if (errno != EEXIST) {
            bc_status st = bc_error(BC_ERR_IO, "cannot create directory %s: %s",
                                    path, strerror(errno));
            *p = '/';
            return st;
        }
        *p = '/';
    }
    return BC_OK;
}

static bc_status write_all(int fd, const unsigned char *buf, size_t len, const char *path)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return bc_error(BC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        }
        buf += n;
        len -= (size_t)n;
    }
    return BC_OK;
}

static bc_status copy_source(int out, const bc_source *src, const char *path)
{
    if (src->fd < 0)
        return write_all(out, src->mem, (size_t)src->size, path);

    unsigned char *buf = malloc(IO_CHUNK);
    if (!buf)
        return bc_oom();
    bc_status st = BC_OK;
    for (int64_t off = 0; off < src->size && st == BC_OK;) {
        size_t want = (size_t)(src->size - off) < IO_CHUNK ? (size_t)(src->size - off) : IO_CHUNK;
        ssize_t n = pread(src->fd, buf, want, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = bc_error(BC_ERR_IO, "cannot read the file to upload: %s",
                          n == 0 ? "it shrank while being read" : strerror(errno));
            break;
        }
        st = write_all(out, buf, (size_t)n, path);
        off += n;
    }
    free(buf);
    return st;
}

/* Metadata as extended attributes of the temporary file, before it is
 * fsynced and renamed: the object and its metadata appear together or not
 * at all, and copies made with xattrs kept (cp -a, rsync -X, tar --xattrs)
 * keep both. A file system without user xattrs stores the object without
 * metadata: readers then check what they can without it (WAL: the size). */
static bc_status set_meta(int fd, const bc_put_opts *opts, const char *tmp)
{
    static atomic_int warned;
    for (size_t i = 0; i < opts->nmeta; i++) {
        char name[sizeof XATTR_PREFIX + BC_META_NAME_MAX];
        snprintf(name, sizeof name, XATTR_PREFIX "%s", opts->meta[i].key);
        if (fsetxattr(fd, name, opts->meta[i].value, strlen(opts->meta[i].value), 0) == 0)
            continue;
        if (errno != ENOTSUP)
            return bc_error(BC_ERR_IO, "cannot set extended attribute %s of %s: %s", name, tmp,
                            strerror(errno));
        if (!atomic_exchange(&warned, 1))
            bc_log_warning("the file system of %s has no user extended attributes: objects are "
                           "stored without their metadata (WAL without its checksum)", tmp);
        break;
    }
    return BC_OK;
}

static void get_meta(int fd, bc_object_meta *meta)
{
    char names[4096], value[BC_META_VALUE_MAX];
    ssize_t len = flistxattr(fd, names, sizeof names);
    for (ssize_t off = 0; off < len; off += (ssize_t)strlen(names + off) + 1) {
        const char *n = names + off;
        if (strncmp(n, XATTR_PREFIX, strlen(XATTR_PREFIX)) != 0)
            continue;
        ssize_t vlen = fgetxattr(fd, n, value, sizeof value);
        if (vlen >= 0)
            bc_object_meta_add(meta, n + strlen(XATTR_PREFIX), strlen(n + strlen(XATTR_PREFIX)),
                               value, (size_t)vlen);
    }
}

/* The hidden temporary name next to path: ".bc-tmp-<name>.<tag>". Listings
 * skip it, and a crash leaves it recognisable as debris. */
static char *temp_path(const char *path, const char *tag)
{
    const char *slash = strrchr(path, '/');
    size_t n = strlen(path) + sizeof TMP_PREFIX + strlen(tag) + 2;
    char *tmp = malloc(n);
    if (tmp)
        snprintf(tmp, n, "%.*s/" TMP_PREFIX "%s.%s", (int)(slash - path), path, slash + 1, tag);
    return tmp;
}

/* fsync and close a finished temporary file; closes fd whatever happens. */
static bc_status sync_close(int fd, const char *tmp)
{
    bc_status st = BC_OK;
    if (fsync(fd) != 0)
        st = bc_error(BC_ERR_IO, "cannot fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == BC_OK)
        st = bc_error(BC_ERR_IO, "cannot close %s: %s", tmp, strerror(errno));
    return st;
}

/* Gives the synced temporary file its final name, then fsyncs the directory
 * so the name survives a crash. link() refuses an existing name atomically,
 * which is what "only if absent" needs. The caller unlinks tmp afterwards. */
static bc_status publish(const char *tmp, char *path, int if_absent)
{
    bc_status st = BC_OK;
    if (if_absent) {
        if (link(tmp, path) != 0)
            st = errno == EEXIST
                     ? bc_error(BC_ERR_CONFLICT, "%s already exists", path)
                     : bc_error(BC_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    } else if (rename(tmp, path) != 0) {
        st = bc_error(BC_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    if (st == BC_OK) {
        char *slash = strrchr(path, '/');
        *slash = '\0';
        if (fsync_dir(path) != 0)
            st = bc_error(BC_ERR_IO, "cannot fsync directory %s: %s", path, strerror(errno));
        *slash = '/';
    }
    return st;
}

/* The path of key, its parent directories created. */
static bc_status prepare_path(const file_store *fs, const char *key, char **out)
{
    bc_status st = check_root(fs);
    if (st != BC_OK)
        return st;
    char *path = full_path(fs, key);
    if (!path)
        return bc_oom();
    st = make_parents(fs, path);
    if (st != BC_OK) {
        free(path);
        return st;
    }
    *out = path;
    return BC_OK;
}

static bc_status file_put(void *backend, const char *key, const bc_source *src,
                          const bc_put_opts *opts)
{
    char *path = NULL;
    bc_status st = prepare_path(backend, key, &path);
    if (st != BC_OK)
        return st;

    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    char *tmp = temp_path(path, pid);
    if (!tmp) {
        free(path);
        return bc_oom();
    }

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        st = bc_error(BC_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    st = copy_source(fd, src, tmp);
    if (st == BC_OK)
        st = set_meta(fd, opts, tmp);
    if (st == BC_OK)
        st = sync_close(fd, tmp);
    else
        close(fd);
    if (st == BC_OK)
        st = publish(tmp, path, opts->if_absent);
out:
    unlink(tmp); /* after link(), or on failure; harmless after rename() */
    free(tmp);
    free(path);
    return st;
}

static bc_status file_get(void *backend, const char *key, bc_sink_fn sink, void *ctx,
                          bc_object_meta *meta)
{
    file_store *fs = backend;
    char *path = full_path(fs, key);
    if (!path)
        return bc_oom();
    bc_status st = BC_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = errno == ENOENT ? check_root(fs) : BC_OK;
        if (st == BC_OK)
            st = bc_error(errno == ENOENT ? BC_ERR_NOTFOUND : BC_ERR_IO,
                          "cannot open %s: %s", path, strerror(errno));
        free(path);
        return st;
    }
    struct stat sb;
    if (meta && fstat(fd, &sb) == 0) {
        meta->size = sb.st_size;
        get_meta(fd, meta);
    }
    unsigned char *buf = malloc(IO_CHUNK);
    if (!buf)
        st = bc_oom();
    while (st == BC_OK) {
        ssize_t n = read(fd, buf, IO_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = bc_error(BC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        if (n <= 0)
            break;
        int rc = sink(ctx, buf, (size_t)n);
        if (rc != 0)
            st = bc_sink_status(rc); /* the sink set the message */
    }
    free(buf);
    close(fd);
    free(path);
    return st;
}

static bc_status file_head(void *backend, const char *key, bc_object_info *info)
{
    file_store *fs = backend;
    char *path = full_path(fs, key);
    struct stat sb;
    if (!path)
        return bc_oom();
    bc_status st = BC_OK;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = check_root(fs);
        if (st == BC_OK)
            st = bc_error(BC_ERR_NOTFOUND, "%s does not exist", path);
    } else {
        info->key = key;
        info->size = sb.st_size;
        info->mtime = sb.st_mtime;
        info->is_prefix = 0;
    }
    free(path);
    return st;
}

/* Listing: collect matching keys below the prefix's directory, sort them in
 * byte order as S3 does, then report them. */
typedef struct key_list {
    char **keys;
    int64_t *sizes;
    time_t *mtimes;
    size_t n, cap;
} key_list;

static bc_status add_key(key_list *kl, const char *key, int64_t size, time_t mtime)
{
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? kl->cap * 2 : 64;
        char **k = realloc(kl->keys, cap * sizeof *k);
        if (k)
            kl->keys = k;
        int64_t *s = realloc(kl->sizes, cap * sizeof *s);
        if (s)
            kl->sizes = s;
        time_t *m = realloc(kl->mtimes, cap * sizeof *m);
        if (m)
            kl->mtimes = m;
        if (!k || !s || !m)
            return bc_oom();
        kl->cap = cap;
    }
    if (!(kl->keys[kl->n] = strdup(key)))
        return bc_oom();
    kl->sizes[kl->n] = size;
    kl->mtimes[kl->n] = mtime;
    kl->n++;
    return BC_OK;
}

/* Walks dir (path relative to the root: rel) and adds every regular file
 * whose key starts with prefix. Directories that cannot hold such keys are
 * not entered. */
static bc_status walk(const file_store *fs, const char *rel, const char *prefix,
                      key_list *kl)
{
    char *dirpath = full_path(fs, rel);
    if (!dirpath)
        return bc_oom();
    DIR *dir = opendir(dirpath);
    if (!dir) {
        bc_status st = errno == ENOENT || errno == ENOTDIR
                           ? BC_OK
                           : bc_error(BC_ERR_IO, "cannot list %s: %s", dirpath, strerror(errno));
        free(dirpath);
        return st;
    }
    bc_status st = BC_OK;
    struct dirent *de;
    size_t plen = strlen(prefix);
    while (st == BC_OK && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' &&
            (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
             !strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX))))
            continue;
        size_t klen = strlen(rel) + strlen(de->d_name) + 2;
        char *key = malloc(klen);
        if (!key) {
            st = bc_oom();
            break;
        }
        snprintf(key, klen, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        char *path = full_path(fs, key);
        struct stat sb;
        if (!path || lstat(path, &sb) != 0) {
            free(path);
            free(key);
            continue; /* vanished while listing */
        }
        size_t n = strlen(key);
        size_t cmp = n < plen ? n : plen;
        if (S_ISDIR(sb.st_mode)) {
            /* Enter only if the prefix continues below this directory. */
            if (strncmp(key, prefix, cmp) == 0 && (n >= plen || prefix[n] == '/'))
                st = walk(fs, key, prefix, kl);
        } else if (S_ISREG(sb.st_mode) && n >= plen && strncmp(key, prefix, plen) == 0) {
            st = add_key(kl, key, sb.st_size, sb.st_mtime);
        }
        free(path);
        free(key);
    }
    closedir(dir);
    free(dirpath);
    return st;
}

static int compare_index(const void *a, const void *b, void *keys)
{
    char **k = keys;
    return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

static bc_status file_list(void *backend, const char *prefix, const char *delimiter,
                           bc_list_fn fn, void *ctx)
{
    file_store *fs = backend;
    bc_status st = check_root(fs);
    if (st != BC_OK)
        return st;

    /* Start from the deepest directory the prefix names. */
    char *start = strdup(prefix);
    if (!start)
        return bc_oom();
    char *slash = strrchr(start, '/');
    if (slash)
        *slash = '\0';
    else
        start[0] = '\0';

    key_list kl = {0};
    size_t *order = NULL;
    st = walk(fs, start, prefix, &kl);
    if (st == BC_OK && kl.n && !(order = malloc(kl.n * sizeof *order)))
        st = bc_oom();
    if (st == BC_OK && kl.n) {
        for (size_t i = 0; i < kl.n; i++)
            order[i] = i;
        qsort_r(order, kl.n, sizeof *order, compare_index, kl.keys);
    }

    size_t plen = strlen(prefix);
    char *last_common = NULL;
    for (size_t i = 0; st == BC_OK && i < kl.n; i++) {
        const char *key = kl.keys[order[i]];
        bc_object_info info = {.key = key, .size = kl.sizes[order[i]],
                               .mtime = kl.mtimes[order[i]]};
        const char *d = delimiter && *delimiter ? strstr(key + plen, delimiter) : NULL;
        char *common = NULL;
        if (d) {
            common = strndup(key, (size_t)(d - key) + strlen(delimiter));
            if (!common) {
                st = bc_oom();
                break;
            }
            if (last_common && strcmp(common, last_common) == 0) {
                free(common);
                continue;
            }
            free(last_common);
            last_common = common;
            info = (bc_object_info){.key = common, .is_prefix = 1};
        }
        int rc = fn(ctx, &info);
        if (rc != 0)
            st = (bc_status)rc;
    }
    free(last_common);
    for (size_t i = 0; i < kl.n; i++)
        free(kl.keys[i]);
    free(kl.keys);
    free(kl.sizes);
    free(kl.mtimes);
    free(order);
    free(start);
    return st;
}

/* Removes the temporary files in dir if nothing else is there: once a
 * folder's last object is deleted, they are debris of writers killed
 * while storing an object next to those (a killed bc-backup's archive, a
 * killed bc-wal-archive's segment), which no listing shows and no writer
 * reuses. Returns whether dir is now empty. */
static int remove_debris(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int others = 0, removed = 0;
    while (!others && (de = readdir(d)) != NULL)
        others = strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                 strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX));
    for (rewinddir(d); !others && (de = readdir(d)) != NULL;) {
        if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            removed++;
        else if (errno != ENOENT)
            others = 1;
    }
    closedir(d);
    if (removed)
        bc_log_info("removed %d temporary file%s left by interrupted uploads in %s", removed,
                    removed == 1 ? "" : "s", dir);
    return !others;
}

/* Object stores have no folders: once a folder's last object is gone the
 * folder goes too (with the debris of killed writers in it), so a deleted
 * backup leaves no empty base/<id>/ behind. rmdir() fails on a folder
 * that still holds something, which ends it. */
static void remove_empty_parents(const file_store *fs, char *path)
{
    size_t root_len = strlen(fs->root);
    char *slash;
    while ((slash = strrchr(path, '/')) && (size_t)(slash - path) > root_len) {
        *slash = '\0';
        if (rmdir(path) != 0 &&
            !((errno == ENOTEMPTY || errno == EEXIST) && remove_debris(path) && rmdir(path) == 0))
            break;
    }
}

static bc_status file_delete(void *backend, const char *const *keys, size_t nkeys)
{
    file_store *fs = backend;
    for (size_t i = 0; i < nkeys; i++) {
        char *path = full_path(fs, keys[i]);
        if (!path)
            return bc_oom();
        if (unlink(path) != 0 && errno != ENOENT) {
            bc_status st = bc_error(BC_ERR_IO, "cannot delete %s: %s", path, strerror(errno));
            free(path);
            return st;
        }
        remove_empty_parents(fs, path);
        free(path);
    }
    return BC_OK;
}

/* ---- streaming writer: the put's temporary file, filled piecemeal ----- */

typedef struct file_writer {
    char *path;   /* the final name */
    char *tmp;    /* the hidden name it is written under until commit */
    int fd;
    int if_absent;
    bc_put_opts opts; /* a copy: the metadata is set at commit */
} file_writer;

/* Numbers writers within the process: their temporary names must differ
 * from each other's and from a concurrent put's (which uses the pid alone). */
static atomic_uint writer_serial;

static void writer_free(file_writer *w)
{
    bc_put_opts_free(&w->opts);
    free(w->tmp);
    free(w->path);
    free(w);
}

static bc_status file_writer_open(void *backend, const char *key, const bc_put_opts *opts,
                                  void **state)
{
    file_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bc_oom();
    w->fd = -1;
    w->if_absent = opts->if_absent;
    bc_status st = bc_put_opts_dup(opts, &w->opts);
    if (st == BC_OK)
        st = prepare_path(backend, key, &w->path);
    if (st != BC_OK) {
        writer_free(w);
        return st;
    }
    /* O_EXCL: never share a file with a writer of another process whose
     * pid and serial happen to match (debris of a crashed one). */
    for (int attempt = 0; attempt < 100 && w->fd < 0; attempt++) {
        char tag[48];
        snprintf(tag, sizeof tag, "%ld.w%u", (long)getpid(), atomic_fetch_add(&writer_serial, 1));
        free(w->tmp);
        if (!(w->tmp = temp_path(w->path, tag))) {
            writer_free(w);
            return bc_oom();
        }
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (w->fd < 0 && errno != EEXIST)
            break;
    }
    if (w->fd < 0) {
        st = bc_error(BC_ERR_IO, "cannot create %s: %s", w->tmp, strerror(errno));
        writer_free(w);
        return st;
    }
    *state = w;
    return BC_OK;
}

static bc_status file_writer_write(void *state, const void *data, size_t len)
{
    file_writer *w = state;
    return write_all(w->fd, data, len, w->tmp);
}

static bc_status file_writer_commit(void *state)
{
    file_writer *w = state;
    bc_status st = set_meta(w->fd, &w->opts, w->tmp);
    st = st == BC_OK ? sync_close(w->fd, w->tmp) : (close(w->fd), st);
    if (st == BC_OK)
        st = publish(w->tmp, w->path, w->if_absent);
    unlink(w->tmp); /* after link(), or on failure; harmless after rename() */
    writer_free(w);
    return st;
}

static void file_writer_abort(void *state)
{
    file_writer *w = state;
    close(w->fd);
    unlink(w->tmp);
    writer_free(w);
}

/* link() refuses an existing name, but looking first is a readdir that
 * also finds the name under another suffix: callers look first here. */
static unsigned file_caps(void *backend)
{
    (void)backend;
    return 0;
}

const bc_store_ops bc_store_file_ops = {
    .scheme = "file",
    .open = file_open,
    .close = file_close,
    .caps = file_caps,
    .check = file_check,
    .put = file_put,
    .get = file_get,
    .head = file_head,
    .list = file_list,
    .del = file_delete,
    .writer_open = file_writer_open,
    .writer_write = file_writer_write,
    .writer_commit = file_writer_commit,
    .writer_abort = file_writer_abort,
};
