/* What a server says of its WAL archiving: the settings, pg_stat_archiver,
 * the .ready backlog; and a segment switch, for tests of the archive. */
#include "pg/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t len, const PGresult *r, int col)
{
    snprintf(dst, len, "%s", PQgetisnull(r, 0, col) ? "" : PQgetvalue(r, 0, col));
}

static long long num(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? 0 : strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

bc_status bc_pg_archiver_get(bc_pg *pg, bc_pg_archiver *out)
{
    memset(out, 0, sizeof *out);
    static const char sql[] =
        "SELECT current_setting('wal_level'), current_setting('archive_mode'), "
        "current_setting('archive_command'), archived_count, failed_count, last_archived_wal, "
        "extract(epoch FROM last_archived_time)::bigint, last_failed_wal, "
        "extract(epoch FROM last_failed_time)::bigint, pg_is_in_recovery()::text, "
        "current_setting('wal_segment_size', true), "
        "CASE WHEN pg_is_in_recovery() THEN '' "
        "ELSE pg_walfile_name(pg_current_wal_lsn()) END "
        "FROM pg_stat_archiver";
    PGresult *r;
    bc_status st = bc_pg_query(pg, "reading pg_stat_archiver", sql, 0, NULL, &r);
    if (st != BC_OK)
        return st;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return bc_error(BC_ERR_DATA, "PostgreSQL at %s: pg_stat_archiver: bad reply", pg->target);
    }
    copy(out->wal_level, sizeof out->wal_level, r, 0);
    copy(out->archive_mode, sizeof out->archive_mode, r, 1);
    copy(out->archive_command, sizeof out->archive_command, r, 2);
    out->archived_count = num(r, 3);
    out->failed_count = num(r, 4);
    copy(out->last_archived_wal, sizeof out->last_archived_wal, r, 5);
    out->last_archived_time = (time_t)num(r, 6);
    copy(out->last_failed_wal, sizeof out->last_failed_wal, r, 7);
    out->last_failed_time = (time_t)num(r, 8);
    out->in_recovery = strcmp(PQgetvalue(r, 0, 9), "true") == 0;
    /* "16MB" or a number of bytes, depending on the version */
    const char *seg = PQgetvalue(r, 0, 10);
    char *end;
    long long n = strtoll(seg, &end, 10);
    out->wal_segment_size = strcmp(end, "MB") == 0 ? n << 20 : strcmp(end, "GB") == 0 ? n << 30 : n;
    copy(out->current_wal, sizeof out->current_wal, r, 11);
    PQclear(r);

    /* The backlog: needs superuser or pg_monitor; unknown otherwise. */
    out->ready = -1;
    PGresult *q = PQexec(pg->conn, "SELECT count(*) FROM pg_ls_archive_statusdir() "
                                   "WHERE name LIKE '%.ready'");
    if (PQresultStatus(q) == PGRES_TUPLES_OK && PQntuples(q) == 1)
        out->ready = strtol(PQgetvalue(q, 0, 0), NULL, 10);
    else {
        const char *m = PQresultErrorMessage(q);
        snprintf(out->ready_error, sizeof out->ready_error, "%.*s", (int)strcspn(m, "\n"), m);
    }
    PQclear(q);
    /* A low-level backup leaves no flag: its session's last statement is
     * pg_backup_start (pg_start_backup before 15) until it stops. */
    out->backups = -1;
    q = PQexec(pg->conn, "SELECT coalesce(application_name, ''), "
                         "extract(epoch FROM now() - coalesce(query_start, backend_start))::bigint "
                         "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                         "(query ~* '(pg_backup_start|pg_start_backup)[[:space:]]*[(]' OR "
                         "pid IN (SELECT pid FROM pg_stat_progress_basebackup)) "
                         "ORDER BY 2 DESC");
    if (PQresultStatus(q) == PGRES_TUPLES_OK) {
        out->backups = PQntuples(q);
        if (out->backups > 0) {
            snprintf(out->backup_client, sizeof out->backup_client, "%s", PQgetvalue(q, 0, 0));
            out->backup_secs = strtol(PQgetvalue(q, 0, 1), NULL, 10);
        }
    }
    PQclear(q);
    return BC_OK;
}

bc_status bc_pg_switch_wal(bc_pg *pg, char walname[BC_PG_WALNAME_LEN])
{
    PGresult *r;
    bc_status st = bc_pg_query(pg, "switching WAL", "SELECT pg_walfile_name(pg_switch_wal())",
                               0, NULL, &r);
    if (st != BC_OK)
        return st;
    int ok = PQntuples(r) == 1 && strlen(PQgetvalue(r, 0, 0)) == BC_PG_WALNAME_LEN - 1;
    if (ok)
        snprintf(walname, BC_PG_WALNAME_LEN, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return ok ? BC_OK : bc_error(BC_ERR_DATA, "PostgreSQL at %s: pg_switch_wal: bad reply",
                                 pg->target);
}

const char *bc_pg_target(const bc_pg *pg)
{
    return pg->target;
}
