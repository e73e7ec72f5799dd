/* barman's backup.info: one "key=value" line per field, written by
 * barman.infofile.BackupInfo.save() and read back by its load().
 *
 * Writing: every field in byte order of its name; values are Python's str()
 * of the field (None as "None", datetimes as "2024-03-05 14:22:31.482113+01:00",
 * LSNs as "0/5000028"), except backup_label and tablespaces, which are
 * Python literals (repr()); backup_name and snapshots_info are left out
 * while they are None.
 * Reading: blank lines and lines starting with '#' are skipped, key and value
 * are stripped of Unicode white space, "None" is None, a repeated key wins.
 *
 * The model keeps every key, known or not, in file order, so a file from a
 * newer barman (data_checksums, cluster_size, ...) formats back unchanged.
 * Every value in a model is valid: parse() and the setters check the typed
 * fields the way barman's loader converts them (ints, datetimes, the two
 * literals), so whatever format() writes, barman and parse() read back. */
#ifndef BC_LAYOUT_BACKUP_INFO_H
#define BC_LAYOUT_BACKUP_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/status.h"

/* Field names (the keys barman writes). */
#define BC_BI_BACKUP_LABEL "backup_label"
#define BC_BI_BACKUP_NAME "backup_name"
#define BC_BI_BEGIN_OFFSET "begin_offset"
#define BC_BI_BEGIN_TIME "begin_time"
#define BC_BI_BEGIN_WAL "begin_wal"
#define BC_BI_BEGIN_XLOG "begin_xlog"
#define BC_BI_COMPRESSION "compression"
#define BC_BI_CONFIG_FILE "config_file"
#define BC_BI_COPY_STATS "copy_stats"
#define BC_BI_DEDUPLICATED_SIZE "deduplicated_size"
#define BC_BI_END_OFFSET "end_offset"
#define BC_BI_END_TIME "end_time"
#define BC_BI_END_WAL "end_wal"
#define BC_BI_END_XLOG "end_xlog"
#define BC_BI_ERROR "error"
#define BC_BI_HBA_FILE "hba_file"
#define BC_BI_IDENT_FILE "ident_file"
#define BC_BI_INCLUDED_FILES "included_files"
#define BC_BI_MODE "mode"
#define BC_BI_PGDATA "pgdata"
#define BC_BI_SERVER_NAME "server_name"
#define BC_BI_SIZE "size"
#define BC_BI_STATUS "status"
#define BC_BI_SYSTEMID "systemid"
#define BC_BI_TABLESPACES "tablespaces"
#define BC_BI_TIMELINE "timeline"
#define BC_BI_VERSION "version"
#define BC_BI_XLOG_SEGMENT_SIZE "xlog_segment_size"

/* barman's default when xlog_segment_size is absent. */
#define BC_BI_DEFAULT_XLOG_SEGMENT_SIZE 16777216

typedef enum bc_backup_status {
    BC_BACKUP_EMPTY = 0, /* barman's default when status is absent */
    BC_BACKUP_STARTED,
    BC_BACKUP_FAILED,
    BC_BACKUP_WAITING_FOR_WALS,
    BC_BACKUP_DONE,
    BC_BACKUP_SYNCING
} bc_backup_status;

/* A timezone-aware datetime as barman keeps begin_time and end_time. */
typedef struct bc_backup_time {
    time_t when;        /* seconds since the epoch (UTC) */
    int32_t usec;       /* 0..999999 */
    int32_t utc_offset; /* seconds east of UTC of the written local time */
} bc_backup_time;

typedef struct bc_tablespace {
    char *name;
    uint32_t oid;
    char *location;
} bc_tablespace;

typedef struct bc_backup_info bc_backup_info;

/* The 27 fields every barman 3.x writes for a fresh BackupInfo: all None
 * but status=EMPTY and xlog_segment_size=16777216. The fields barman 3.11
 * and 3.14 added (data_checksums, cluster_size, encryption, ...) are left
 * out on purpose: barman up to 3.10 refuses a backup.info with any key it
 * does not know. NULL when out of memory. */
bc_backup_info *bc_backup_info_new(void);
/* BC_ERR_DATA "backup.info line N: ..." for anything barman could not load. */
bc_status bc_backup_info_parse(const char *text, size_t len, bc_backup_info **out);
void bc_backup_info_free(bc_backup_info *info);
/* The file as barman writes it (malloc'd, NUL-terminated); NULL when out
 * of memory. */
char *bc_backup_info_format(const bc_backup_info *info);

/* Raw access. get: the value text ("None" included), NULL if the key is
 * absent; valid until that key changes. set: raw NULL writes "None"; the
 * text must be what barman would load for that key. */
const char *bc_backup_info_get(const bc_backup_info *info, const char *key);
bc_status bc_backup_info_set(bc_backup_info *info, const char *key, const char *raw);
void bc_backup_info_remove(bc_backup_info *info, const char *key);
/* Entries in file (byte) order, 0 <= i < count; a None backup_name or
 * snapshots_info is listed although format() leaves it out. */
size_t bc_backup_info_count(const bc_backup_info *info);
void bc_backup_info_entry(const bc_backup_info *info, size_t i, const char **key,
                          const char **raw);

/* Typed getters return BC_ERR_NOTFOUND when the key is absent or None
 * (except where a barman default applies), BC_ERR_DATA when the value does
 * not have the type asked for. */

/* Plain text fields: pgdata, server_name, mode, compression, backup_name,
 * begin_wal, end_wal, systemid (text in barman too), error, ... A set value
 * must be one line without surrounding white space and not "None"; NULL
 * writes None. */
bc_status bc_backup_info_get_str(const bc_backup_info *info, const char *key,
                                 const char **value);
bc_status bc_backup_info_set_str(bc_backup_info *info, const char *key, const char *value);

/* Integers: version (server_version_num), timeline, begin_offset, end_offset,
 * size, deduplicated_size, xlog_segment_size (absent: the default). */
bc_status bc_backup_info_get_int(const bc_backup_info *info, const char *key, int64_t *value);
bc_status bc_backup_info_set_int(bc_backup_info *info, const char *key, int64_t value);

/* begin_xlog, end_xlog: "X/Y" text, written as PostgreSQL does ("%X/%X"). */
bc_status bc_backup_info_get_lsn(const bc_backup_info *info, const char *key, uint64_t *lsn);
bc_status bc_backup_info_set_lsn(bc_backup_info *info, const char *key, uint64_t lsn);

/* begin_time, end_time. A time without offset is local time (as barman
 * reads it). The offset written must be whole minutes: barman's reader
 * (dateutil) cannot read back the seconds Python would write. */
bc_status bc_backup_info_get_time(const bc_backup_info *info, const char *key,
                                  bc_backup_time *t);
bc_status bc_backup_info_set_time(bc_backup_info *info, const char *key,
                                  const bc_backup_time *t);

/* status: absent is EMPTY (barman's default). */
bc_status bc_backup_info_get_status(const bc_backup_info *info, bc_backup_status *status);
bc_status bc_backup_info_set_status(bc_backup_info *info, bc_backup_status status);
const char *bc_backup_status_name(bc_backup_status status); /* "DONE"; NULL if unknown */
bc_status bc_backup_status_from_name(const char *name, bc_backup_status *status);

/* backup_label: the label text, stored as a Python string literal.
 * get: malloc'd copy. set: NULL or "" writes None (as barman does). */
bc_status bc_backup_info_get_backup_label(const bc_backup_info *info, char **label);
bc_status bc_backup_info_set_backup_label(bc_backup_info *info, const char *label);

/* tablespaces: a Python list of (name, oid, location) tuples. None means no
 * tablespaces: BC_OK with *list NULL and *count 0. Free with
 * bc_tablespaces_free(). set: count 0 writes None. */
bc_status bc_backup_info_get_tablespaces(const bc_backup_info *info, bc_tablespace **list,
                                         size_t *count);
bc_status bc_backup_info_set_tablespaces(bc_backup_info *info, const bc_tablespace *list,
                                         size_t count);
void bc_tablespaces_free(bc_tablespace *list, size_t count);

/* The backup id is not a field of the file: barman takes it from the name
 * of the directory holding backup.info. Kept here for the caller's
 * convenience; NULL until set. */
const char *bc_backup_info_backup_id(const bc_backup_info *info);
bc_status bc_backup_info_set_backup_id(bc_backup_info *info, const char *backup_id);

#endif
