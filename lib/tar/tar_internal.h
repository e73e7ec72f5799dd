/* Shared by tar.c (entries) and walk.c (directory walk); not public. */
#ifndef BC_TAR_TAR_INTERNAL_H
#define BC_TAR_TAR_INTERNAL_H

#include <sys/stat.h>

#include "tar/tar.h"

/* The name of the last user (or group) id looked up; "" when it has none. */
typedef struct bc_tar_owner_name {
    unsigned long id;
    int valid;
    char name[64];
} bc_tar_owner_name;

struct bc_tar_writer {
    struct archive *a;
    bc_sink_fn sink;
    void *sink_ctx;
    bc_status sink_status; /* first refusal of the sink */
    bc_status broken;      /* a failure left the archive unusable */
    int finished;
    int discard;           /* being freed unfinished: nothing reaches the sink */
    unsigned char *buf;
    bc_tar_stats stats;
    /* splitting (bc_tar_set_rotation) */
    int64_t max_part_bytes;
    int64_t part_start;    /* stats.archive_bytes when the part began */
    bc_tar_rotate_fn rotate;
    void *rotate_ctx;
    bc_tar_observer obs;   /* obs.file_begin NULL: none */
    int in_file;           /* obs told of a file whose end is still due */
    /* one-entry caches: a data directory has a single owner */
    bc_tar_owner_name user, group;
};

/* BC_OK unless an earlier failure broke the archive or it is finished. */
bc_status bc_tar_check_usable(const bc_tar_writer *w);
/* One header. type is AE_IFREG, AE_IFDIR or AE_IFLNK; size counts only for
 * regular files; link_target only for links. */
bc_status bc_tar_put_header(bc_tar_writer *w, const char *name, unsigned type,
                            const struct stat *st, int64_t size, const char *link_target);
/* A regular file or a symbolic link whose lstat()/stat() the caller took;
 * with missing_ok, one that no longer exists is counted and skipped. */
bc_status bc_tar_put_regular(bc_tar_writer *w, const char *path, const char *name,
                             const struct stat *st, int missing_ok);
bc_status bc_tar_put_link(bc_tar_writer *w, const char *path, const char *name,
                          const struct stat *st, int missing_ok);

#endif
