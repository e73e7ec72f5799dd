#include "tar/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if a relative archive path stays below its root. */
static int path_is_safe(const char *p)
{
    if (!p || !*p || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += n;
        while (*s == '/')
            s++;
    }
    return 1;
}

static bc_status copy_data(struct archive *in, struct archive *out, const char *what,
                           const char *name, bc_extract_stats *stats)
{
    const void *block;
    size_t size;
    la_int64_t offset;
    for (;;) {
        int r = archive_read_data_block(in, &block, &size, &offset);
        if (r == ARCHIVE_EOF)
            return BC_OK;
        if (r != ARCHIVE_OK)
            return bc_error(BC_ERR_DATA, "%s: cannot read %s: %s", what, name,
                            archive_error_string(in));
        if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK)
            return bc_error(BC_ERR_IO, "%s: cannot write %s: %s", what, name,
                            archive_error_string(out));
        stats->bytes += (int64_t)size;
    }
}

bc_status bc_tar_extract_fd(int fd, const char *target, const char *what,
                            bc_extract_stats *stats)
{
    char root[PATH_MAX], full[PATH_MAX * 2];
    bc_extract_stats local = {0};
    if (!stats)
        stats = &local;
    if (!realpath(target, root))
        return bc_error(BC_ERR_IO, "cannot resolve %s", target);

    struct archive *in = archive_read_new();
    struct archive *out = archive_write_disk_new();
    if (!in || !out) {
        archive_read_free(in);
        archive_write_free(out);
        return bc_error(BC_ERR_INTERNAL, "out of memory");
    }
    archive_read_support_format_tar(in);
    /* Entry names are checked above and then made absolute under root, so
     * libarchive's own no-absolute-path rule cannot apply; its symlink and
     * ".." checks still guard the joined path. */
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    bc_status st = BC_OK;
    if (archive_read_open_fd(in, fd, 256 * 1024) != ARCHIVE_OK)
        st = bc_error(BC_ERR_DATA, "%s: %s", what, archive_error_string(in));

    struct archive_entry *entry;
    while (st == BC_OK) {
        int r = archive_read_next_header(in, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            st = bc_error(BC_ERR_DATA, "%s: not a valid tar archive: %s", what,
                          archive_error_string(in));
            break;
        }
        /* Copies: renaming the entry below frees libarchive's strings. */
        char name[PATH_MAX], link_buf[PATH_MAX];
        const char *orig = archive_entry_pathname(entry);
        const char *orig_link = archive_entry_hardlink(entry);
        snprintf(name, sizeof name, "%s", orig ? orig : "");
        snprintf(link_buf, sizeof link_buf, "%s", orig_link ? orig_link : "");
        const char *link = orig_link ? link_buf : NULL;
        if (!path_is_safe(name) || (link && !path_is_safe(link))) {
            st = bc_error(BC_ERR_DATA,
                          "%s: unsafe entry '%s'%s%s would be written outside %s; refusing "
                          "to restore this archive", what, name,
                          link ? " linked to " : "", link ? link : "", target);
            break;
        }
        snprintf(full, sizeof full, "%s/%s", root, name);
        archive_entry_copy_pathname(entry, full);
        if (link) {
            snprintf(full, sizeof full, "%s/%s", root, link);
            archive_entry_copy_hardlink(entry, full);
        }
        if (archive_write_header(out, entry) != ARCHIVE_OK) {
            st = bc_error(BC_ERR_DATA, "%s: refusing unsafe or unwritable entry '%s': %s", what,
                          name, archive_error_string(out));
            break;
        }
        if (archive_entry_size(entry) > 0)
            st = copy_data(in, out, what, name, stats);
        if (st == BC_OK && archive_write_finish_entry(out) != ARCHIVE_OK)
            st = bc_error(BC_ERR_IO, "%s: cannot finish %s: %s", what, name,
                          archive_error_string(out));
        stats->entries++;
    }
    if (archive_write_close(out) != ARCHIVE_OK && st == BC_OK)
        st = bc_error(BC_ERR_IO, "%s: %s", what, archive_error_string(out));
    archive_read_free(in);
    archive_write_free(out);
    return st;
}
