/* bc-verify's work: reading a backup back from the store and checking all
 * of it without writing anything anywhere.
 *
 * For each backup: every archive part is present, bc_archives.json and
 * backup_manifest match the objects (bc's backups), every part downloads
 * and decodes, every tar is whole, and every file has the size and
 * checksum of the manifest; then every WAL segment the backup needs, from
 * its begin to its end WAL (or, with wal_to_latest, along the timeline
 * history to the newest segment of the latest timeline that descends from
 * the backup's), is present without a gap, decodes, has the size and
 * CRC-32C of its metadata (bc's objects), and starts with a page header of
 * this segment: its address, the segment size, and the backup's system
 * identifier. Each problem is recorded with the object it concerns. */
#ifndef BC_BACKUP_VERIFY_H
#define BC_BACKUP_VERIFY_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

typedef struct bc_verify_opts {
    const char *server;
    const char *backup;           /* id, name, latest/last, oldest/first, or all */
    int wal_to_latest;
    int jobs;                     /* downloads at once */
    int progress;                 /* 1 always, 0 never, -1 on a terminal */
    const bc_store_config *store_config; /* a store per worker */
} bc_verify_opts;

typedef struct bc_verify_problem {
    char *object;                 /* key, or WAL name for a missing segment */
    char *message;
} bc_verify_problem;

typedef struct bc_verify_backup {
    char id[64];
    char status[16];              /* backup.info's */
    int skipped;                  /* not DONE (with "all"): nothing read */
    int has_manifest;
    int64_t archives, archive_bytes, files, file_bytes;
    uint32_t timeline;
    char begin_wal[25], end_wal[25];  /* backup.info's */
    char last_wal[25];            /* the last segment checked */
    uint32_t last_timeline;
    int64_t wal_segments, wal_bytes, wal_with_checksum;
    bc_verify_problem *problems;
    size_t nproblems, cap;
} bc_verify_backup;

typedef struct bc_verify_report {
    const char *server;
    bc_verify_backup *backups;
    size_t n;
    size_t problems;              /* over all backups */
} bc_verify_report;

/* Verifies the backups opts names. BC_OK when every backup read was
 * verified; BC_ERR_DATA, with the first problem as message, when any
 * problem was found (the report lists them all); another status when the
 * verification could not run (store unreachable, no such backup: nothing
 * in the report then). */
bc_status bc_verify(bc_store *store, const bc_verify_opts *opts, bc_verify_report *out);
void bc_verify_report_free(bc_verify_report *r);

/* The report as text (one block per backup, problems first) or JSON. */
bc_status bc_verify_print(const bc_verify_report *r, int json, FILE *out);

#endif
