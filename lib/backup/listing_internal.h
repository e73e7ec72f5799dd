/* Shared by listing.c (BackupInfo.to_json(), datetime formats),
 * listing_backups.c (backups, show) and listing_wals.c (wals, check-empty);
 * not public. */
#ifndef BC_BACKUP_LISTING_INTERNAL_H
#define BC_BACKUP_LISTING_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "backup/listing.h"
#include "layout/backup_info.h"

/* A value barman reads as None: absent or "None". */
bool bc_listing_is_none(const char *raw);

/* strftime("%Y-%m-%d %H:%M:%S"), and with str(datetime)'s fraction and
 * offset when full; written in the wall clock the time was recorded in. */
void bc_listing_format_datetime(const bc_backup_time *t, bool full, char *out, size_t len);

/* BackupInfo(backup_id).to_json() for info: every field barman knows
 * (absent ones as their default) plus any other key of the file, in name
 * order, then "backup_id". NULL when out of memory. */
json_t *bc_listing_backup_to_json(const bc_backup_info *info, const char *backup_id);

/* Writes json.dumps(v) and a newline, and releases v; NULL v (a failed
 * json_pack or to_json) is out of memory. */
bc_status bc_listing_print_json(FILE *out, json_t *v);

#endif
