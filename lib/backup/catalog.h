/* The backups of one server in the store: every <prefix>/<server>/base/<id>/
 * with its backup.info, as barman-cloud's catalog sees them. */
#ifndef BC_BACKUP_CATALOG_H
#define BC_BACKUP_CATALOG_H

#include "layout/backup_info.h"
#include "store/store.h"

typedef struct bc_catalog_entry {
    char id[64];
    bc_backup_info *info;
} bc_catalog_entry;

typedef struct bc_catalog {
    bc_catalog_entry *items; /* sorted by backup id, oldest first */
    size_t n;
    size_t unreadable;       /* backup directories whose backup.info is corrupt */
} bc_catalog;

/* Loads every backup; unreadable ones are reported as warnings and skipped,
 * directories without backup.info are ignored (as barman does). */
bc_status bc_catalog_load(bc_store *store, const char *server, bc_catalog *out);
void bc_catalog_free(bc_catalog *catalog);

/* Resolves a backup id, a backup name, or "latest"/"last"/"oldest"/"first"
 * (the newest/oldest DONE backup). BC_ERR_NOTFOUND with a message naming
 * the server otherwise; BC_ERR_USAGE if a name matches several backups. */
bc_status bc_catalog_find(const bc_catalog *catalog, const char *server, const char *which,
                          const bc_catalog_entry **out);

/* Reads and parses one backup.info. */
bc_status bc_catalog_read_info(bc_store *store, const char *key, bc_backup_info **out);
/* Stores the backup.info of backup_id (durable when BC_OK). */
bc_status bc_catalog_write_info(bc_store *store, const char *server, const char *backup_id,
                                const bc_backup_info *info);
/* The same, only if no backup.info exists (a conditional create, atomic
 * on every store): BC_ERR_CONFLICT when one does. bc-backup reserves its
 * backup id this way. */
bc_status bc_catalog_create_info(bc_store *store, const char *server, const char *backup_id,
                                 const bc_backup_info *info);

#endif
