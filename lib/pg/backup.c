/* Non-exclusive base backup start and stop; see pg.h.
 *
 * A non-exclusive backup belongs to the session that started it: if the
 * connection closes before the stop, the server aborts the backup. So the
 * same bc_pg must stay open, and nothing may time it out, from
 * bc_pg_backup_start() until bc_pg_backup_stop() returns. */
#include "pg/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* The timeline comes with the start, as barman takes it: the last
 * checkpoint's, which the backup's start checkpoint (or, on a standby,
 * restartpoint) has just written. */
static const char start_sql_15[] =
    "SELECT lsn::text, (SELECT timeline_id FROM pg_control_checkpoint()), "
    "extract(epoch FROM now())::text FROM pg_backup_start($1, $2) AS lsn";
static const char start_sql_12[] =
    "SELECT lsn::text, (SELECT timeline_id FROM pg_control_checkpoint()), "
    "extract(epoch FROM now())::text FROM pg_start_backup($1, $2, false) AS lsn";

/* The stop timeline as barman reads it: on a standby the timeline of the
 * minimum recovery point (where pg_backup_stop() puts the end). */
#define STOP_SELECT                                                            \
    "SELECT s.lsn::text, s.labelfile, s.spcmapfile, "                          \
    "(SELECT CASE WHEN pg_is_in_recovery() THEN min_recovery_end_timeline "    \
    "ELSE timeline_id END FROM pg_control_checkpoint(), pg_control_recovery()), " \
    "extract(epoch FROM now())::text "
static const char stop_sql_15[] = STOP_SELECT "FROM pg_backup_stop(wait_for_archive => true) AS s";
static const char stop_sql_12[] = STOP_SELECT "FROM pg_stop_backup(false, true) AS s";

static bc_status bad_reply(const bc_pg *pg, const char *what)
{
    return bc_error(BC_ERR_DATA, "PostgreSQL at %s: %s: unexpected reply", pg->target, what);
}

/* Fills the name and offset for a position; end positions name the
 * segment holding the byte before them. */
static int name_position(const bc_pg_backup *b, uint32_t tli, uint64_t lsn, int is_end,
                         char *xlog, char *wal, uint32_t *offset)
{
    bc_pg_format_lsn(lsn, xlog);
    *offset = (uint32_t)(lsn % b->wal_segment_size);
    return bc_pg_wal_file_name(tli, lsn, b->wal_segment_size, is_end, wal);
}

bc_status bc_pg_backup_start(bc_pg *pg, const char *label, int fast_checkpoint,
                             bc_pg_backup *b)
{
    memset(b, 0, sizeof *b);
    if (pg->in_backup)
        return bc_error(BC_ERR_USAGE, "a backup is already running on this session");
    PGresult *r;
    bc_status st = bc_pg_query(pg, "reading recovery state",
                               "SELECT pg_is_in_recovery(), (SELECT setting FROM pg_settings "
                               "WHERE name = 'wal_segment_size')",
                               0, NULL, &r);
    if (st != BC_OK)
        return st;
    if (PQntuples(r) != 1 || PQgetisnull(r, 0, 1)) {
        PQclear(r);
        return bad_reply(pg, "reading recovery state");
    }
    b->from_standby = PQgetvalue(r, 0, 0)[0] == 't';
    b->wal_segment_size = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);

    const char *params[] = {label, fast_checkpoint ? "true" : "false"};
    const char *what = pg->server_version >= 150000 ? "pg_backup_start" : "pg_start_backup";
    st = bc_pg_query(pg, what, pg->server_version >= 150000 ? start_sql_15 : start_sql_12, 2,
                     params, &r);
    if (st != BC_OK)
        return st;
    pg->in_backup = 1; /* from here on only the stop or closing ends it */
    int ok = PQntuples(r) == 1 && !PQgetisnull(r, 0, 1) &&
             bc_pg_parse_lsn(PQgetvalue(r, 0, 0), &b->begin_lsn);
    if (ok) {
        b->timeline = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
        b->begin_time = strtod(PQgetvalue(r, 0, 2), NULL);
        ok = name_position(b, b->timeline, b->begin_lsn, 0, b->begin_xlog, b->begin_wal,
                           &b->begin_offset);
    }
    PQclear(r);
    return ok ? BC_OK : bad_reply(pg, what);
}

/* backup_label is the server's own record of the start: its timeline and
 * segment name win over what was inferred at start (they agree unless a
 * restartpoint on another timeline slipped in between). */
static void check_label(bc_pg_backup *b)
{
    unsigned tli;
    const char *tl = strstr(b->backup_label, "START TIMELINE: ");
    if (tl && sscanf(tl, "START TIMELINE: %u", &tli) == 1 && tli != b->timeline) {
        b->timeline = tli;
        name_position(b, tli, b->begin_lsn, 0, b->begin_xlog, b->begin_wal, &b->begin_offset);
    }
    char lsn_text[BC_PG_LSN_LEN], file[BC_PG_WALNAME_LEN];
    uint64_t lsn;
    const char *start = strstr(b->backup_label, "START WAL LOCATION: ");
    if (!start ||
        sscanf(start, "START WAL LOCATION: %17s (file %24[0-9A-F])", lsn_text, file) != 2 ||
        !bc_pg_parse_lsn(lsn_text, &lsn)) {
        bc_log_warning("backup_label has no START WAL LOCATION line");
        return;
    }
    if (lsn != b->begin_lsn || strcmp(file, b->begin_wal) != 0) {
        bc_log_warning("backup_label starts at %s (file %s), pg_backup_start said %s (file %s)",
                       lsn_text, file, b->begin_xlog, b->begin_wal);
        b->begin_lsn = lsn;
        bc_pg_format_lsn(lsn, b->begin_xlog);
        b->begin_offset = (uint32_t)(lsn % b->wal_segment_size);
        memcpy(b->begin_wal, file, sizeof file);
    }
}

bc_status bc_pg_backup_stop(bc_pg *pg, bc_pg_backup *b)
{
    if (!pg->in_backup)
        return bc_error(BC_ERR_USAGE, "no backup running on this session");
    const char *what = pg->server_version >= 150000 ? "pg_backup_stop" : "pg_stop_backup";
    PGresult *r;
    bc_status st = bc_pg_query(pg, what, pg->server_version >= 150000 ? stop_sql_15 : stop_sql_12,
                               0, NULL, &r);
    if (st != BC_OK) {
        /* the server has ended the backup unless the session survived */
        if (PQstatus(pg->conn) != CONNECTION_OK)
            pg->in_backup = 0;
        return st;
    }
    pg->in_backup = 0;
    int ok = PQntuples(r) == 1 && !PQgetisnull(r, 0, 1) &&
             bc_pg_parse_lsn(PQgetvalue(r, 0, 0), &b->end_lsn);
    if (ok) {
        b->backup_label = bc_pg_value(r, 0, 1);
        b->tablespace_map = strdup(PQgetisnull(r, 0, 2) ? "" : PQgetvalue(r, 0, 2));
        b->end_timeline = PQgetisnull(r, 0, 3) ? 0 : (uint32_t)strtoul(PQgetvalue(r, 0, 3), NULL, 10);
        if (b->end_timeline == 0)
            b->end_timeline = b->timeline;
        b->end_time = strtod(PQgetvalue(r, 0, 4), NULL);
    }
    PQclear(r);
    if (!ok)
        return bad_reply(pg, what);
    if (!b->backup_label || !b->tablespace_map)
        return bc_error(BC_ERR_INTERNAL, "%s: out of memory", what);
    check_label(b);
    if (!name_position(b, b->end_timeline, b->end_lsn, 1, b->end_xlog, b->end_wal, &b->end_offset))
        return bad_reply(pg, what);
    return BC_OK;
}

void bc_pg_backup_free(bc_pg_backup *b)
{
    if (!b)
        return;
    free(b->backup_label);
    free(b->tablespace_map);
    b->backup_label = b->tablespace_map = NULL;
}
