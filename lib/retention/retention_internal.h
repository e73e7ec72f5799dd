/* State shared by the retention sources (load, delete, keep, report). */
#ifndef BC_RETENTION_INTERNAL_H
#define BC_RETENTION_INTERNAL_H

#include "backup/catalog.h"
#include "retention/retention.h"
#include "wal/wal.h"

/* backup.info error text of a deletion under way; the mode tells which
 * WAL rule applies when a later run finishes it. */
#define BC_RETENTION_DELETING_POLICY "deletion by bc-retention under way (retention policy)"
#define BC_RETENTION_DELETING_ONE "deletion by bc-retention under way (backup id)"

typedef struct bc_backup_dir {
    char **keys;               /* every object under base/<id>/ */
    size_t nkeys, cap;
    int has_info_key;          /* backup.info is among keys */
    int has_archives;          /* data or tablespace archives are among keys */
    int keep_key;              /* annotations/keep is among keys */
    bc_backup_info *info;      /* parsed backup.info (owned by the catalog) */
    int pending;               /* 0, or 1 policy / 2 single: deletion under way */
} bc_backup_dir;

struct bc_retention {
    bc_store *store;
    bc_retention_opts opts;
    size_t base_len;           /* length of the "<prefix>/<server>/base/" key */
    bc_catalog catalog;        /* readable backups */
    bc_retention_backup *backups; /* every backup folder, sorted by id */
    bc_backup_dir *dirs;       /* parallel to backups */
    size_t n;
    size_t unreadable;         /* backup.info present but corrupt */
    char **deleted;            /* ids deleted (or, dry run, to delete) */
    size_t ndeleted;
    size_t deleted_wals;
    bc_wal_inventory wals;     /* loaded on first need */
    int wals_loaded;
    unsigned char *wal_gone;   /* parallel to wals.items */
};

/* Index of the backup `which` names (id, name, latest/oldest), or an error. */
bc_status bc_retention_find(const bc_retention *r, const char *which, size_t *index);
/* Deletes keys in batches of opts.batch_size (dry run: prints them). */
bc_status bc_retention_delete_keys(bc_retention *r, const char *const *keys, size_t n);

#endif
