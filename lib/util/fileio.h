/* Local files written atomically: data goes to "<path>.bc-tmp.<pid>.<tid>",
 * then bc_atomic_commit() renames it into place (optionally fsyncing file
 * and directory first). A reader never sees a partial file under `path`. */
#ifndef BC_UTIL_FILEIO_H
#define BC_UTIL_FILEIO_H

#include <stddef.h>

#include "util/status.h"

typedef struct bc_atomic_file {
    int fd;
    char *path;
    char *tmp;
} bc_atomic_file;

bc_status bc_atomic_open(bc_atomic_file *f, const char *path);
/* A bc_sink_fn: ctx is a bc_atomic_file. */
int bc_atomic_sink(void *ctx, const void *data, size_t len);
bc_status bc_atomic_commit(bc_atomic_file *f, int durable);
/* Removes the temporary file; safe after commit and on a zeroed struct. */
void bc_atomic_abort(bc_atomic_file *f);

/* Writes a small file atomically and durably (spool markers, ids). */
bc_status bc_write_small_file(const char *path, const char *content);
/* 1 if the file at path exists and holds exactly `content`. */
int bc_file_holds(const char *path, const char *content);

/* Reads a whole file of at most limit bytes into *out (malloc'd, NUL
 * added, *len bytes before it when len is given). -1 with errno set on
 * failure (EFBIG past the limit); what was read is wiped, as the file may
 * hold a secret. */
int bc_read_file(const char *path, size_t limit, char **out, size_t *len);

/* Moves src to dst, copying when they are on different file systems. */
bc_status bc_move_file(const char *src, const char *dst);
/* fsyncs a directory (after creating or renaming an entry in it). */
bc_status bc_fsync_dir(const char *dir);

#endif
