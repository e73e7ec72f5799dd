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

#include <stdint.h>

#include "util/status.h"

typedef struct bc_extract_stats {
    int64_t entries;
    int64_t bytes;
} bc_extract_stats;

/* Reads a tar stream from fd until its end and extracts it under target
 * (which must exist). `what` names the archive in messages. */
bc_status bc_tar_extract_fd(int fd, const char *target, const char *what,
                            bc_extract_stats *stats);

#endif
