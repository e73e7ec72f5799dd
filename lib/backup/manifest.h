/* Backup manifests: PostgreSQL's backup_manifest (version 1, as
 * pg_basebackup writes it and pg_verifybackup reads it) and bc's list of
 * the archive objects of a backup (bc_archives.json).
 *
 * backup_manifest lists every file of the backup with its size, mtime
 * and checksum, the WAL range the backup needs, and ends with
 * Manifest-Checksum, the SHA-256 of the text before that line. It names
 * files as they are in a restored data directory: a tablespace's files
 * under "pg_tblspc/<oid>/". pg_verifybackup refuses unknown top-level
 * keys, so what PostgreSQL has no field for (the archive objects) is a
 * separate object:
 *
 *   {"Version": 1, "Checksum-Algorithm": "CRC32C",
 *    "Manifest-Size": N, "Manifest-SHA256": "...",
 *    "Archives": [{"Name": "data.tar.zst", "Size": N, "Checksum": "..."}, ...]}
 *
 * with the size and checksum of the bytes as stored (compressed), every
 * part of a split archive listed. Checksums are computed in the streams a
 * backup and a restore already pass through, never by reading again. */
#ifndef BC_BACKUP_MANIFEST_H
#define BC_BACKUP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "tar/extract.h"
#include "tar/tar.h"
#include "util/sha256.h"
#include "util/status.h"

#define BC_MANIFEST_NAME "backup_manifest"
#define BC_ARCHIVES_NAME "bc_archives.json"

typedef enum bc_checksum_algo {
    BC_CHECKSUM_NONE = 0,
    BC_CHECKSUM_CRC32C,
    BC_CHECKSUM_SHA256
} bc_checksum_algo;

/* PostgreSQL's name ("CRC32C", "SHA256", "NONE"). */
const char *bc_checksum_name(bc_checksum_algo algo);

/* A running checksum; reusable after final. */
typedef struct bc_checksum {
    bc_checksum_algo algo;
    uint32_t crc;
    bc_sha256 sha;
} bc_checksum;

bc_status bc_checksum_init(bc_checksum *c, bc_checksum_algo algo);
void bc_checksum_update(bc_checksum *c, const void *data, size_t len);
/* Lower-case hex of the digest into hex (65 bytes), PostgreSQL's byte
 * order (CRC-32C: the uint32 as little-endian bytes); restarts c. */
void bc_checksum_final_hex(bc_checksum *c, char hex[65]);
void bc_checksum_free(bc_checksum *c);

/* --- writing (bc-backup) --- */

typedef struct bc_manifest_builder bc_manifest_builder;

bc_status bc_manifest_builder_new(bc_checksum_algo algo, bc_manifest_builder **out);
void bc_manifest_builder_free(bc_manifest_builder *b);
/* A tar observer that records every regular file the tar writer archives,
 * its name under prefix ("" for PGDATA, "pg_tblspc/<oid>/" for a
 * tablespace; copied). */
bc_status bc_manifest_builder_observer(bc_manifest_builder *b, const char *prefix,
                                       bc_tar_observer *out);
/* The whole backup_manifest text (malloc'd) with the WAL range. */
bc_status bc_manifest_builder_finish(bc_manifest_builder *b, uint32_t timeline,
                                     uint64_t start_lsn, uint64_t end_lsn, char **text,
                                     size_t *len);

/* --- the archive list --- */

typedef struct bc_archive_entry {
    char *name;       /* relative to the backup folder: "data_0001.tar.gz" */
    int64_t size;     /* bytes stored */
    char checksum[65];
} bc_archive_entry;

typedef struct bc_archive_list {
    bc_checksum_algo algo;
    bc_archive_entry *items;
    size_t n, cap;
    int64_t manifest_size;
    char manifest_sha256[65];
} bc_archive_list;

bc_status bc_archive_list_add(bc_archive_list *l, const char *name, int64_t size,
                              const char *checksum);
/* malloc'd JSON text, NULL when out of memory. */
char *bc_archive_list_format(const bc_archive_list *l);
/* BC_ERR_DATA naming `what` for anything but the format above. */
bc_status bc_archive_list_parse(const char *text, size_t len, const char *what,
                                bc_archive_list *out);
void bc_archive_list_free(bc_archive_list *l);
/* The entry named name, NULL if none. */
const bc_archive_entry *bc_archive_list_find(const bc_archive_list *l, const char *name);

/* --- checking (bc-restore) --- */

typedef struct bc_manifest bc_manifest;

/* Parses a backup_manifest and checks its Manifest-Checksum; BC_ERR_DATA
 * naming `what`. The text is not kept. */
bc_status bc_manifest_parse(const char *text, size_t len, const char *what,
                            bc_manifest **out);
void bc_manifest_free(bc_manifest *m);
/* SHA-256 (hex) of a whole text, for Manifest-SHA256. */
void bc_manifest_sha256_hex(const void *text, size_t len, char hex[65]);

/* The check of one archive's entries: every regular file must be in the
 * manifest (under prefix, as for the builder), once, with its size and
 * checksum. Any number of checks may run at once in different threads.
 * The observer's first error names the archive and the file. */
typedef struct bc_manifest_check bc_manifest_check;
bc_status bc_manifest_check_new(bc_manifest *m, const char *archive, const char *prefix,
                                bc_manifest_check **out);
void bc_manifest_check_observer(bc_manifest_check *c, bc_extract_observer *out);
void bc_manifest_check_free(bc_manifest_check *c);
/* After every archive: BC_ERR_DATA naming the first file of the manifest
 * that no archive held. */
bc_status bc_manifest_check_complete(const bc_manifest *m);

#endif
