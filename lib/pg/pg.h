/* PostgreSQL side of a base backup (libpq): server facts, non-exclusive
 * backup start/stop, restore point.
 *
 * The facts returned are the ones barman-cloud-backup records in
 * backup.info (barman/postgres.py, barman/backup_executor.py): version,
 * pgdata, systemid, xlog_segment_size, config_file/hba_file/ident_file,
 * included_files, tablespaces, timeline, begin_/end_ time, xlog (LSN), wal
 * (file name) and offset, backup_label. Supported servers: PostgreSQL 12
 * and later, primary or standby. */
#ifndef BC_PG_PG_H
#define BC_PG_PG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/status.h"

typedef struct bc_pg bc_pg;

/* Any field may be NULL: libpq's environment variables (PGHOST, PGPORT,
 * PGUSER, PGDATABASE, PGPASSWORD, ...) and defaults then apply. dbname may
 * be a full conninfo string or URI; host/port/user given here override it. */
typedef struct bc_pg_conn_params {
    const char *host;
    const char *port;
    const char *user;
    const char *dbname;
    const char *application_name; /* NULL: "bc-backup" */
} bc_pg_conn_params;

#define BC_PG_LSN_LEN 18     /* "FFFFFFFF/FFFFFFFF" + NUL */
#define BC_PG_WALNAME_LEN 25 /* 24 hex digits + NUL */

typedef struct bc_pg_tablespace {
    uint32_t oid;
    char *name;
    char *location; /* pg_tablespace_location(): absolute, or relative to the
                       data directory for an in-place tablespace */
} bc_pg_tablespace;

typedef struct bc_pg_server_info {
    int server_version;        /* server_version_num, e.g. 150004 */
    int major;                 /* 15 (as in PG_15_* tablespace directories) */
    char *data_directory;
    int in_recovery;           /* a standby */
    char system_identifier[21];/* decimal text, as barman's systemid */
    uint32_t timeline;         /* last checkpoint's; on a standby the timeline
                                  of the recovery (min_recovery_end_timeline) */
    uint32_t wal_segment_size; /* bytes */
    int data_checksums;
    char *config_file, *hba_file, *ident_file;
    char **included_files;     /* other files settings come from (barman's
                                  included_files), may be inside PGDATA */
    size_t n_included_files;
    bc_pg_tablespace *tablespaces; /* pg_default and pg_global left out */
    size_t n_tablespaces;
} bc_pg_server_info;

/* One backup's facts. begin_* are known after bc_pg_backup_start(), the
 * rest after bc_pg_backup_stop(). */
typedef struct bc_pg_backup {
    int from_standby;
    uint32_t wal_segment_size;
    uint64_t begin_lsn;
    char begin_xlog[BC_PG_LSN_LEN];   /* "0/2000028" */
    char begin_wal[BC_PG_WALNAME_LEN];/* segment holding begin_lsn */
    uint32_t begin_offset;            /* begin_lsn within that segment */
    uint32_t timeline;                /* start timeline (backup_label's START
                                         TIMELINE once stopped) */
    double begin_time;                /* server clock, seconds since the epoch */
    uint64_t end_lsn;
    char end_xlog[BC_PG_LSN_LEN];
    char end_wal[BC_PG_WALNAME_LEN];  /* last segment needed: the one holding
                                         the byte before end_lsn */
    uint32_t end_offset;              /* end_lsn % wal_segment_size */
    uint32_t end_timeline;
    double end_time;
    char *backup_label;               /* contents for PGDATA/backup_label */
    char *tablespace_map;             /* contents for PGDATA/tablespace_map;
                                         "" when there are no tablespaces */
} bc_pg_backup;

/* Connects and prepares the session (no statement or idle timeouts: the
 * session must outlive the whole upload). BC_ERR_NET with "host:port:
 * libpq's reason" on failure; BC_ERR_USAGE for servers before 12. */
bc_status bc_pg_connect(const bc_pg_conn_params *params, bc_pg **out);
/* Safe on NULL. Closing during a backup aborts the backup on the server. */
void bc_pg_close(bc_pg *pg);
int bc_pg_server_version(const bc_pg *pg);

bc_status bc_pg_server_info_get(bc_pg *pg, bc_pg_server_info *info);
void bc_pg_server_info_free(bc_pg_server_info *info);

/* Non-exclusive backup: pg_backup_start(label, fast) on 15+,
 * pg_start_backup(label, fast, false) on 12-14. Fills b's begin_* fields. */
bc_status bc_pg_backup_start(bc_pg *pg, const char *label, int fast_checkpoint,
                             bc_pg_backup *b);
/* pg_backup_stop(wait_for_archive => true) / pg_stop_backup(false, true) on
 * the same connection: waits until the server has archived the WAL the
 * backup needs (on a standby only with archive_mode = always). Fills the
 * end_* fields, backup_label and tablespace_map. */
bc_status bc_pg_backup_stop(bc_pg *pg, bc_pg_backup *b);
void bc_pg_backup_free(bc_pg_backup *b);

/* pg_create_restore_point('barman_<backup_id>'), as barman does after a
 * backup, so recovery can target the backup's end by name. On a standby
 * nothing is done and *created is 0. created and lsn may be NULL. */
bc_status bc_pg_create_restore_point(bc_pg *pg, const char *backup_id, int *created,
                                     uint64_t *lsn);

/* "X/X" <-> 64-bit LSN; parse returns 0 on malformed text. */
/* WAL archiving as the server sees it. */
typedef struct bc_pg_archiver {
    char wal_level[32];
    char archive_mode[32];
    char archive_command[1024];
    long long archived_count, failed_count;
    char last_archived_wal[64], last_failed_wal[64];
    time_t last_archived_time, last_failed_time;   /* 0: never */
    int in_recovery;
    long long wal_segment_size;
    char current_wal[BC_PG_WALNAME_LEN];           /* "" on a standby */
    long ready;             /* .ready files in pg_wal/archive_status; -1: not allowed to look */
    char ready_error[256];  /* why not */
    /* Backups running: sessions inside pg_backup_start (bc-backup, barman)
     * or streaming one (pg_basebackup); -1: not allowed to look. */
    long backups;
    long backup_secs;       /* how long the oldest has run */
    char backup_client[64]; /* its application_name */
} bc_pg_archiver;

/* Reads the settings, pg_stat_archiver, the .ready backlog and the
 * backups running (the last two need superuser or pg_monitor: out->ready
 * and out->backups are -1 otherwise). */
bc_status bc_pg_archiver_get(bc_pg *pg, bc_pg_archiver *out);
/* pg_switch_wal(): the name of the segment it completed. */
bc_status bc_pg_switch_wal(bc_pg *pg, char walname[BC_PG_WALNAME_LEN]);
/* "host:port" of the connection, for messages. */
const char *bc_pg_target(const bc_pg *pg);

int bc_pg_parse_lsn(const char *text, uint64_t *lsn);
void bc_pg_format_lsn(uint64_t lsn, char out[BC_PG_LSN_LEN]);
/* WAL segment name holding lsn; with previous_at_boundary an LSN exactly at
 * a segment start names the segment before it (pg_walfile_name()'s rule,
 * the right one for an end position). 0 if seg_size is not a power of two
 * between 1 MiB and 1 GiB. */
int bc_pg_wal_file_name(uint32_t timeline, uint64_t lsn, uint32_t seg_size,
                        int previous_at_boundary, char out[BC_PG_WALNAME_LEN]);

#endif
