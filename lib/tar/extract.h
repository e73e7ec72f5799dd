/* Safe extraction of a tar stream into a directory (restores).
 *
 * Nothing is ever written outside the target: entries with an absolute
 * path or a ".." component (in the name or in a hard link target) are
 * refused, and libarchive's secure-symlink check refuses to write through
 * a symlink the archive itself created. The target is resolved with
 * realpath() first so that the check only concerns the archive's own
 * entries, not a symlink the administrator placed above the target. */
#ifndef BC_TAR_EXTRACT_H
#define BC_TAR_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

typedef struct bc_extract_stats {
    int64_t entries;
    int64_t bytes;
} bc_extract_stats;

/* Sees every entry as it is extracted (a manifest check). begin gets the
 * name as stored ("./" removed), whether it is a regular file with data
 * of its own (not a hard link) and the size in its header; data gets the
 * contents in order, holes as zeros; end follows the last piece. A
 * non-zero status from begin or end stops the extraction with that error,
 * whose message the observer sets. */
typedef struct bc_extract_observer {
    void *ctx;
    bc_status (*entry_begin)(void *ctx, const char *name, int regular, int64_t size);
    void (*entry_data)(void *ctx, const void *data, size_t len);
    bc_status (*entry_end)(void *ctx);
} bc_extract_observer;

/* Reads a tar stream from fd to the end of fd and extracts it under
 * target (which must exist). `what` names the archive in messages. The
 * stream must be a whole archive: every header followed by its data, the
 * two zero blocks of the end, then only zeros (record padding). An
 * archive cut at an entry boundary or holding a zeroed header block is
 * BC_ERR_DATA, although libarchive would stop there quietly, as if at
 * the end. obs may be NULL. With target NULL nothing is written: the
 * stream is read and checked (the observer still sees every entry). */
bc_status bc_tar_extract_fd(int fd, const char *target, const char *what,
                            const bc_extract_observer *obs, bc_extract_stats *stats);

/* PostgreSQL starts nothing without global/pg_control, so extraction
 * writes that entry under the name global/pg_control + BC_EXTRACT_HELD
 * (the observer still sees "global/pg_control"): a restore stopped at any
 * point, even by SIGKILL, leaves a directory PostgreSQL refuses to start.
 * Once everything else is in place, bc_tar_release_held() gives the file
 * its name (and fsyncs its directory); bc_tar_discard_held() removes it
 * after a failure. */
#define BC_EXTRACT_HELD ".bc-restore"
bc_status bc_tar_release_held(const char *target);
void bc_tar_discard_held(const char *target);

#endif
