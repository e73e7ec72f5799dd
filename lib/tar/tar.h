/* Streaming tar writer for base backups (libarchive, pax format).
 *
 * The archive goes straight into a bc_sink_fn (e.g. bc_store_writer_sink):
 * no temporary files, memory bounded by one read buffer (1 MiB) and
 * libarchive's output block. The format is POSIX pax, as barman-cloud's
 * TarFileIgnoringTruncate (tarfile.PAX_FORMAT) writes: plain ustar headers,
 * with a pax extended header only when a field does not fit (long names,
 * sizes of 8 GiB and more).
 *
 * Online-backup rules, as PostgreSQL's own base backup and barman apply
 * them: a file's size is taken when it is stat()ed; a file that shrinks
 * while it is read is padded with zeros, one that grows is cut at the stat
 * size (WAL replay repairs both); a file or directory that vanishes during
 * the walk is skipped. Symbolic links are stored as links, never followed.
 *
 * Errors are one line naming the path. After a failure the archive may be
 * incomplete: the caller abandons it with bc_tar_free() (and aborts its
 * upload). */
#ifndef BC_TAR_TAR_H
#define BC_TAR_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/status.h"
#include "util/status.h"

typedef struct bc_tar_writer bc_tar_writer;

typedef enum bc_tar_filter_mode {
    /* Everything under the directory, the root included. */
    BC_TAR_FILTER_NONE = 0,
    /* A data directory: PostgreSQL's and barman's exclusions (filter.c),
     * global/pg_control left out so that the caller adds it last with
     * bc_tar_add_file(), backup_label and tablespace_map left out so that
     * the caller adds the ones returned by the backup stop. */
    BC_TAR_FILTER_PGDATA,
    /* A tablespace location: only the top-level "PG_<major>_*" directories
     * (barman's include rule), with the same per-file exclusions. No root
     * entry. */
    BC_TAR_FILTER_TABLESPACE
} bc_tar_filter_mode;

typedef struct bc_tar_filter {
    bc_tar_filter_mode mode;
    /* PGDATA: tablespace OIDs archived separately; their pg_tblspc/<oid>
     * links are left out of the data archive. */
    const char *const *skip_tablespace_oids;
    size_t n_skip_tablespace_oids;
    /* PGDATA: paths relative to the data directory to leave out entirely
     * (tablespaces located inside PGDATA, archived separately). */
    const char *const *skip_paths;
    size_t n_skip_paths;
    /* TABLESPACE: server major version (15 for 150004), selects PG_15_*. */
    int pg_major;
} bc_tar_filter;

typedef struct bc_tar_stats {
    int64_t entries;       /* headers written: files, directories, links */
    int64_t files;         /* regular files */
    int64_t file_bytes;    /* file contents as recorded (stat sizes) */
    int64_t archive_bytes; /* bytes handed to the sink */
    int64_t vanished;      /* entries skipped because they disappeared */
    int64_t shrunk;        /* files padded because they shrank while read */
} bc_tar_stats;

/* The sink, bound for the writer's life, receives the archive bytes; a
 * non-zero return is a bc_status and stops the writer (the sink having set
 * the error message). */
bc_status bc_tar_writer_new(bc_sink_fn sink, void *sink_ctx, bc_tar_writer **out);

/* Walks src_dir (followed if it is itself a link) in name order. Entry
 * names are relative to src_dir, under `prefix` when it is non-empty
 * ("prefix/base/1/112"). The root is stored as the directory entry "."
 * (or `prefix`), as barman does, so that extracting it gives the target
 * directory PGDATA's permissions; not in TABLESPACE mode. filter may be
 * NULL (BC_TAR_FILTER_NONE). */
bc_status bc_tar_add_tree(bc_tar_writer *w, const char *src_dir, const char *prefix,
                          const bc_tar_filter *filter);
/* One file under the given name (global/pg_control, configuration files
 * outside PGDATA). A link is followed: the caller wants the contents. A
 * directory gives its entry only. Unlike in a tree walk, a missing file is
 * an error. */
bc_status bc_tar_add_file(bc_tar_writer *w, const char *src_path, const char *name);
/* A regular file from memory (backup_label, tablespace_map), owned by the
 * process's effective uid/gid, mtime now; mode such as 0600. */
bc_status bc_tar_add_memory(bc_tar_writer *w, const char *name, const void *data,
                            size_t len, unsigned mode);
/* Splitting, as barman-cloud's --max-archive-size: once the current archive
 * holds max_bytes or more, before the next entry the writer ends it (end
 * blocks included), calls rotate, and starts a new archive on the same
 * sink. rotate is where the downstream stages end the part they were
 * writing and begin the next. Entries are never cut across parts. */
typedef bc_status (*bc_tar_rotate_fn)(void *ctx);
void bc_tar_set_rotation(bc_tar_writer *w, int64_t max_bytes, bc_tar_rotate_fn rotate,
                         void *ctx);

/* Sees every regular file as it is archived, in the stream already read
 * (a backup manifest checksums files this way, without reading them a
 * second time). begin gets the entry name, the size recorded in the header
 * and the mtime; data gets exactly those `size` bytes (zero padding of a
 * shrunk file included) in pieces; end follows the last piece. A non-zero
 * status from begin or end stops the archive. */
typedef struct bc_tar_observer {
    void *ctx;
    bc_status (*file_begin)(void *ctx, const char *name, int64_t size, time_t mtime);
    void (*file_data)(void *ctx, const void *data, size_t len);
    bc_status (*file_end)(void *ctx);
} bc_tar_observer;
/* obs is copied; NULL removes it. May change between entries (another
 * archive's files go to another manifest prefix). */
void bc_tar_set_observer(bc_tar_writer *w, const bc_tar_observer *obs);

/* Writes the end-of-archive blocks; the writer only accepts bc_tar_free()
 * afterwards. */
bc_status bc_tar_finish(bc_tar_writer *w);
const bc_tar_stats *bc_tar_get_stats(const bc_tar_writer *w);
/* Safe on NULL. An unfinished writer sends nothing more to the sink. */
void bc_tar_free(bc_tar_writer *w);

#endif
