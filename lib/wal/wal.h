/* The WAL path: archiving segments into the store and restoring them, in
 * barman-cloud's layout (see layout/wal.h). */
#ifndef BC_WAL_WAL_H
#define BC_WAL_WAL_H

#include <stdint.h>
#include <time.h>

#include "codec/codec.h"
#include "layout/wal.h"
#include "store/store.h"

/* --- locating archived objects (objects.c) --- */

typedef struct bc_wal_object {
    char key[1024];
    bc_codec_id codec;
    int64_t size;
    int partial; /* found as "<name>.partial" */
    int copies;  /* full copies of the name found, under different suffixes */
} bc_wal_object;

/* An archived object's WAL name: the key's last component without its
 * compression suffix, copied to name (NUL-terminated). Returns the name's
 * length, or 0 if it does not fit in namelen; the codec goes to *codec. */
size_t bc_wal_object_name(const char *key, char *name, size_t namelen, bc_codec_id *codec);

/* Finds `name` in the store whatever its compression suffix (the first
 * in key order when there are several: found->copies says how many). With
 * allow_partial, "<name>.partial" is used when the full segment is absent.
 * BC_ERR_NOTFOUND when neither exists. */
bc_status bc_wal_find(bc_store *store, const char *server, const char *name,
                      int allow_partial, bc_wal_object *found);

/* Downloads obj, decoding it, into `path` (temporary name, then rename).
 * Before the rename: the body must have the listed size (reading stops as
 * soon as it exceeds it), and the decoded bytes the size and CRC-32C of the
 * object's integrity metadata; without metadata (barman-cloud's objects) a
 * full segment must have a valid wal_segment_size. A mismatch is
 * BC_ERR_DATA naming the object, with nothing left at path. When the name
 * is stored under other suffixes too (obj->copies > 1), each other copy is
 * decoded and must hold the same bytes; else BC_ERR_DATA naming both. */
bc_status bc_wal_fetch(bc_store *store, const bc_wal_object *obj, const char *path,
                       int durable);

typedef struct bc_wal_checked {
    int64_t size;         /* decoded bytes */
    int has_checksum;     /* the object had bc's integrity metadata */
    bc_wal_header header; /* of the decoded bytes */
} bc_wal_checked;

/* bc_wal_fetch's download and checks, the decoded bytes going to sink
 * (NULL: nowhere) and what was seen to out (bc-verify). */
bc_status bc_wal_check(bc_store *store, const bc_wal_object *obj, bc_sink_fn sink,
                       void *sink_ctx, bc_wal_checked *out);

/* --- integrity metadata (integrity.c) --- */

#define BC_WAL_META_CRC32C "bccrc32c" /* CRC-32C of the uncompressed bytes, 8 hex */
#define BC_WAL_META_SIZE "bcsize"     /* their count, decimal */
#define BC_WAL_SUM_HEX 8
#define BC_WAL_MAX_SIZE ((int64_t)1 << 30) /* PostgreSQL's largest segment */

/* A running checksum of a WAL file's bytes; start from {0}. */
typedef struct bc_wal_digest {
    uint32_t crc;
    int64_t size;    /* bytes digested */
} bc_wal_digest;

void bc_wal_digest_update(bc_wal_digest *d, const void *data, size_t len);
/* The checksum so far: 8 lowercase hex digits, NUL-terminated. */
void bc_wal_digest_hex(const bc_wal_digest *d, char hex[BC_WAL_SUM_HEX + 1]);

/* The two metadata entries for an object of `size` uncompressed bytes;
 * meta points into sum_hex and size_text. */
void bc_wal_integrity_meta(const char *sum_hex, int64_t size, char size_text[24],
                           bc_tag meta[2]);

typedef struct bc_wal_expect {
    int64_t size;                     /* -1: the object has no integrity metadata */
    char sum[BC_WAL_SUM_HEX + 1];
} bc_wal_expect;

/* What an object's metadata promises; BC_ERR_DATA if the entries are
 * malformed or only one is present. */
bc_status bc_wal_expect_from_meta(const bc_object_meta *meta, bc_wal_expect *e);


/* Identifies a store location and server in spool files, so a spool left by
 * another source or server is never used. */
void bc_wal_source_id(bc_store *store, const char *server, char *out, size_t outlen);

/* --- archiving (archive.c) --- */

typedef struct bc_wal_archive_opts {
    const char *server;
    bc_codec_id codec;
    int level;
    const bc_tag *tags;
    size_t ntags;
    const bc_tag *history_tags; /* used for .history files when given */
    size_t nhistory_tags;
    int max_parallel;           /* > 1 with spool_dir: archive ahead */
    const char *spool_dir;
    const bc_store_config *store_config; /* to open a store per worker */
} bc_wal_archive_opts;

/* Archives wal_path. BC_OK only once the store acknowledged the object, or
 * when an identical copy is already there; BC_ERR_CONFLICT if a different
 * file already exists under the name. */
bc_status bc_wal_archive(bc_store *store, const char *wal_path,
                         const bc_wal_archive_opts *opts);

/* --- restoring (restore.c) --- */

typedef struct bc_wal_restore_opts {
    const char *server;
    int no_partial;
    int prefetch;               /* > 1 with spool_dir: download ahead */
    const char *spool_dir;
    int end_of_wal_flag;        /* with prefetch: mark where the archive ends */
    const bc_store_config *store_config;
} bc_wal_restore_opts;

bc_status bc_wal_restore(bc_store *store, const char *wal_name, const char *dest,
                         const bc_wal_restore_opts *opts);

/* --- what the archive holds (inventory.c) --- */

typedef struct bc_wal_entry {
    char name[48];        /* WAL name without the compression suffix */
    char *key;            /* the object's full key */
    bc_wal_kind kind;
    bc_codec_id codec;
    uint32_t tli, log, seg;
    int64_t size;
    time_t mtime;         /* when it was stored, as the listing says (0: not said) */
} bc_wal_entry;

typedef struct bc_wal_inventory {
    bc_wal_entry *items;  /* sorted by name */
    size_t n, cap;
    size_t unexpected;    /* objects under wals/ that are not WAL files */
    char first_unexpected[512];
} bc_wal_inventory;

/* Lists every object under <prefix>/<server>/wals/. */
bc_status bc_wal_inventory_load(bc_store *store, const char *server, bc_wal_inventory *inv);
void bc_wal_inventory_free(bc_wal_inventory *inv);

/* Calls fn for each run of missing segments inside a timeline (first and
 * last missing names); segments_per_log is 4 GiB / segment size. Returns
 * the number of gaps. */
typedef void (*bc_wal_gap_fn)(void *ctx, uint32_t tli, const char *first_missing,
                              const char *last_missing);
size_t bc_wal_find_gaps(const bc_wal_inventory *inv, uint64_t segments_per_log,
                        bc_wal_gap_fn fn, void *ctx);

#endif
