/* The archive objects of one base backup, as bc-restore and bc-verify read
 * them: listing the backup's folder, the structural checks (every part
 * present, bc_archives.json and backup_manifest matching the objects), and
 * reading every part in parallel: download, decode, tar check, file check
 * against the manifest, and extraction when the part has a target. */
#ifndef BC_BACKUP_ARCHIVES_H
#define BC_BACKUP_ARCHIVES_H

#include <stddef.h>
#include <stdint.h>

#include "backup/manifest.h"
#include "backup/progress.h"
#include "codec/codec.h"
#include "layout/backup_info.h"
#include "layout/base.h"
#include "store/store.h"
#include "util/buffer.h"

typedef struct bc_archive_part {
    char key[1024];
    const char *name;             /* the key's last component */
    bc_codec_id codec;
    bc_base_object_kind kind;     /* BC_BASE_DATA or BC_BASE_TABLESPACE */
    uint32_t oid;
    unsigned part;
    int64_t size;                 /* as listed */
    const bc_archive_entry *expect; /* from bc_archives.json, NULL for barman's */
    const char *target;           /* where to unpack; NULL: read and check only */
    /* out, once read: */
    bc_err result;
    int64_t files, bytes;         /* tar entries and their data bytes */
} bc_archive_part;

typedef struct bc_backup_archives {
    char dir[1024];               /* the backup folder's key, '/'-terminated */
    bc_archive_part *parts;       /* data first, then by tablespace, by part */
    size_t n, cap;
    int64_t bytes;                /* stored size of all parts */
    int has_manifest, has_archives; /* backup_manifest, bc_archives.json */
    bc_archive_list list;         /* loaded by bc_backup_archives_load_manifest */
    bc_buffer manifest_text;
    bc_manifest *manifest;        /* NULL: nothing to check files against */
} bc_backup_archives;

/* Lists the folder of backup backup_id: its archive parts, sorted, and
 * whether it has a manifest. A tablespace part must belong to one of ts. */
bc_status bc_backup_archives_list(bc_store *store, const char *server, const char *backup_id,
                                  const bc_tablespace *ts, size_t nts, bc_backup_archives *out);
/* Every archive's parts run 0, 1, 2, ... without a gap or a double, and
 * data.tar is there: what can be checked of barman-cloud's backups. */
bc_status bc_backup_archives_check_parts(const bc_backup_archives *a, const char *backup_id);
/* bc's backups: reads bc_archives.json and backup_manifest (both or
 * neither), checks the parts are exactly those listed with their sizes and
 * the manifest the one listed. Without either, logs that only the
 * archives' structure can be checked. */
bc_status bc_backup_archives_load_manifest(bc_store *store, const char *backup_id,
                                           bc_backup_archives *a);

typedef struct bc_archive_read_opts {
    const bc_store_config *store_config; /* a store per worker */
    int jobs;                     /* parts read at once */
    int keep_going;               /* read every part even after a failure */
    bc_progress *progress;        /* bytes as stored */
} bc_archive_read_opts;

/* Reads every part: the first failed part's status and message (each
 * part keeps its own). With a manifest, then checks no file is missing. */
bc_status bc_backup_archives_read(bc_backup_archives *a, const bc_archive_read_opts *o);
void bc_backup_archives_free(bc_backup_archives *a);

#endif
