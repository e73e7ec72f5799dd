#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

bc_status bc_atomic_open(bc_atomic_file *f, const char *path)
{
    size_t n = strlen(path) + 48;
    f->fd = -1;
    f->path = strdup(path);
    f->tmp = malloc(n);
    if (!f->path || !f->tmp) {
        bc_atomic_abort(f);
        return bc_oom();
    }
    snprintf(f->tmp, n, "%s.bc-tmp.%ld.%ld", path, (long)getpid(), (long)syscall(SYS_gettid));
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        bc_status st = bc_error(BC_ERR_IO, "cannot create %s: %s", f->tmp, strerror(errno));
        free(f->tmp);
        f->tmp = NULL;
        bc_atomic_abort(f);
        return st;
    }
    return BC_OK;
}

int bc_atomic_sink(void *ctx, const void *data, size_t len)
{
    bc_atomic_file *f = ctx;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            return bc_error(BC_ERR_IO, "cannot write %s: %s", f->tmp, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

bc_status bc_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        bc_status st = bc_error(BC_ERR_IO, "cannot fsync directory %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    close(fd);
    return BC_OK;
}

bc_status bc_atomic_commit(bc_atomic_file *f, int durable)
{
    bc_status st = BC_OK;
    if (durable && fsync(f->fd) != 0)
        st = bc_error(BC_ERR_IO, "cannot fsync %s: %s", f->tmp, strerror(errno));
    if (close(f->fd) != 0 && st == BC_OK)
        st = bc_error(BC_ERR_IO, "cannot write %s: %s", f->tmp, strerror(errno));
    f->fd = -1;
    if (st == BC_OK && rename(f->tmp, f->path) != 0)
        st = bc_error(BC_ERR_IO, "cannot rename %s to %s: %s", f->tmp, f->path, strerror(errno));
    if (st == BC_OK && durable) {
        char *copy = strdup(f->path);
        st = copy ? bc_fsync_dir(dirname(copy)) : bc_oom();
        free(copy);
    }
    if (st == BC_OK) {
        free(f->tmp);
        f->tmp = NULL;
    }
    bc_atomic_abort(f);
    return st;
}

void bc_atomic_abort(bc_atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
}

bc_status bc_move_file(const char *src, const char *dst)
{
    if (rename(src, dst) == 0)
        return BC_OK;
    if (errno != EXDEV)
        return bc_error(BC_ERR_IO, "cannot move %s to %s: %s", src, dst, strerror(errno));

    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return bc_error(BC_ERR_IO, "cannot open %s: %s", src, strerror(errno));
    bc_atomic_file out;
    bc_status st = bc_atomic_open(&out, dst);
    char buf[65536];
    while (st == BC_OK) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = bc_error(BC_ERR_IO, "cannot read %s: %s", src, strerror(errno));
        if (n <= 0)
            break;
        if (bc_atomic_sink(&out, buf, (size_t)n) != 0)
            st = BC_ERR_IO;
    }
    close(in);
    if (st == BC_OK)
        st = bc_atomic_commit(&out, 0);
    else
        bc_atomic_abort(&out);
    if (st == BC_OK)
        unlink(src);
    return st;
}

bc_status bc_write_small_file(const char *path, const char *content)
{
    bc_atomic_file f;
    bc_status st = bc_atomic_open(&f, path);
    if (st != BC_OK)
        return st;
    if (bc_atomic_sink(&f, content, strlen(content)) != 0) {
        bc_atomic_abort(&f);
        return BC_ERR_IO;
    }
    return bc_atomic_commit(&f, 1);
}

int bc_file_holds(const char *path, const char *content)
{
    char buf[4096];
    FILE *fp = fopen(path, "re");
    if (!fp)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return strcmp(buf, content) == 0;
}

int bc_read_file(const char *path, size_t limit, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= limit) {
                errno = EFBIG;
                goto fail;
            }
            cap = cap ? cap * 2 : 4096;
            if (cap > limit)
                cap = limit;
            char *b = realloc(buf, cap + 1);
            if (!b)
                goto fail;
            buf = b;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto fail;
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
fail:;
    int e = errno;
    close(fd);
    if (buf)
        explicit_bzero(buf, n);
    free(buf);
    errno = e;
    return -1;
}
