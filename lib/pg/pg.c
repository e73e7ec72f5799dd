/* libpq connection, queries and WAL/LSN arithmetic; see pg.h. The backup
 * start/stop pair lives in backup.c. */
#include "pg/pg_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

/* Copies src to dst on one line: libpq and server messages carry newlines
 * and tabs (DETAIL, HINT, "Is the server running...?"). */
static void one_line(char *dst, size_t len, const char *src)
{
    size_t o = 0;
    int space = 0;
    for (; src && *src && o + 1 < len; src++) {
        if (isspace((unsigned char)*src)) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < len)
            dst[o++] = ' ';
        space = 0;
        dst[o++] = *src;
    }
    dst[o] = '\0';
}

/* Server NOTICEs and WARNINGs (e.g. pg_backup_stop's "still waiting for
 * all required WAL segments to be archived") go to our log, not stderr. */
static void on_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char line[1024];
    one_line(line, sizeof line, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    if (severity && strcmp(severity, "WARNING") == 0)
        bc_log_warning("postgres: %s", line);
    else
        bc_log_info("postgres: %s", line);
}

/* "host:port" libpq actually used (from params, dbname conninfo or the
 * environment); also registers a password, if any, as a secret. */
static void describe_target(PGconn *conn, char *out, size_t len)
{
    const char *host = "", *hostaddr = "", *port = "";
    PQconninfoOption *opts = conn ? PQconninfo(conn) : NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "password") == 0)
            bc_log_add_secret(o->val);
    }
    if (!*host)
        host = *hostaddr ? hostaddr : "local socket";
    snprintf(out, len, "%s:%s", host, *port ? port : "5432");
    PQconninfoFree(opts);
}

bc_status bc_pg_connect(const bc_pg_conn_params *params, bc_pg **out)
{
    *out = NULL;
    const char *keys[8], *vals[8];
    int n = 0;
    /* Later keywords override earlier ones, a conninfo string in dbname
     * included: the keepalive defaults can be overridden there, host, port
     * and user given separately override it. The session sits idle during
     * the whole upload; keepalives stop NAT and firewalls from dropping it. */
#define ADD(k, v) do { if (v) { keys[n] = (k); vals[n] = (v); n++; } } while (0)
    ADD("keepalives_idle", "60");
    ADD("keepalives_interval", "10");
    ADD("dbname", params ? params->dbname : NULL);
    ADD("host", params ? params->host : NULL);
    ADD("port", params ? params->port : NULL);
    ADD("user", params ? params->user : NULL);
    ADD("application_name",
        params && params->application_name ? params->application_name : "bc-backup");
#undef ADD
    keys[n] = vals[n] = NULL;

    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn)
        return bc_error(BC_ERR_INTERNAL, "connecting to PostgreSQL: out of memory");
    char target[256], reason[1024];
    describe_target(conn, target, sizeof target);
    if (PQstatus(conn) != CONNECTION_OK) {
        one_line(reason, sizeof reason, PQerrorMessage(conn));
        PQfinish(conn);
        return bc_error(BC_ERR_NET, "connecting to PostgreSQL at %s: %s", target, reason);
    }
    PQsetNoticeReceiver(conn, on_notice, NULL);
    int version = PQserverVersion(conn);
    if (version < 120000) {
        PQfinish(conn);
        return bc_error(BC_ERR_USAGE, "PostgreSQL at %s is version %d.%d: 12 or later needed",
                        target, version / 10000,
                        version >= 100000 ? version % 10000 : version / 100 % 100);
    }
    bc_pg *pg = calloc(1, sizeof *pg);
    if (!pg) {
        PQfinish(conn);
        return bc_oom();
    }
    pg->conn = conn;
    pg->server_version = version;
    snprintf(pg->target, sizeof pg->target, "%s", target);
    /* The session lives as long as the upload (hours): server-side timeouts
     * would end it, and with it the backup. A fixed search_path keeps
     * catalog functions from being shadowed. */
    PGresult *res;
    bc_status st = bc_pg_query(pg, "setting up the session",
                               version >= 140000
                                   ? "SET statement_timeout = 0; SET lock_timeout = 0; "
                                     "SET idle_session_timeout = 0; "
                                     "SET search_path = pg_catalog"
                                   : "SET statement_timeout = 0; SET lock_timeout = 0; "
                                     "SET search_path = pg_catalog",
                               0, NULL, &res);
    if (st != BC_OK) {
        bc_pg_close(pg);
        return st;
    }
    PQclear(res);
    *out = pg;
    return BC_OK;
}

void bc_pg_close(bc_pg *pg)
{
    if (!pg)
        return;
    if (pg->in_backup)
        bc_log_warning("closing the PostgreSQL session aborts the backup in progress");
    PQfinish(pg->conn);
    free(pg);
}

int bc_pg_server_version(const bc_pg *pg)
{
    return pg->server_version;
}

bc_status bc_pg_query(bc_pg *pg, const char *what, const char *sql, int nparams,
                      const char *const *params, PGresult **out)
{
    *out = NULL;
    PGresult *res = nparams ? PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                            : PQexec(pg->conn, sql);
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
        *out = res;
        return BC_OK;
    }
    char reason[1024];
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    one_line(reason, sizeof reason, primary ? primary : PQerrorMessage(pg->conn));
    PQclear(res);
    bc_status code = BC_ERR_INTERNAL;
    if (PQstatus(pg->conn) != CONNECTION_OK || (sqlstate && strncmp(sqlstate, "08", 2) == 0))
        code = BC_ERR_NET; /* the session is gone */
    else if (sqlstate && (strcmp(sqlstate, "42501") == 0 || strncmp(sqlstate, "28", 2) == 0))
        code = BC_ERR_AUTH; /* insufficient privilege */
    else if (sqlstate && strcmp(sqlstate, "55000") == 0)
        code = BC_ERR_USAGE; /* server not configured for it (wal_level...) */
    return bc_error(code, "PostgreSQL at %s: %s: %s", pg->target, what, reason);
}

char *bc_pg_value(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return strdup(PQgetvalue(res, row, col));
}

static int is_true(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static const char info_sql[] =
    "SELECT current_setting('server_version_num')::int, "
    "current_setting('data_directory'), pg_is_in_recovery(), "
    "s.system_identifier::text, "
    "CASE WHEN pg_is_in_recovery() "
    "THEN coalesce(nullif(r.min_recovery_end_timeline, 0), c.timeline_id) "
    "ELSE c.timeline_id END, "
    "(SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), "
    "current_setting('data_checksums'), current_setting('config_file'), "
    "current_setting('hba_file'), current_setting('ident_file') "
    "FROM pg_control_system() s, pg_control_checkpoint() c, pg_control_recovery() r";

static const char tablespaces_sql[] =
    "SELECT oid, spcname, pg_tablespace_location(oid) FROM pg_tablespace "
    "WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid";

/* barman's included_files: where settings come from, besides config_file */
static const char included_sql[] =
    "SELECT DISTINCT sourcefile FROM pg_settings WHERE sourcefile IS NOT NULL "
    "AND sourcefile <> current_setting('config_file') ORDER BY 1";

static bc_status fill_main(bc_pg_server_info *info, const PGresult *r)
{
    if (PQntuples(r) != 1)
        return bc_error(BC_ERR_DATA, "PostgreSQL: no row for the server facts");
    info->server_version = atoi(PQgetvalue(r, 0, 0));
    info->major = info->server_version / 10000;
    info->data_directory = bc_pg_value(r, 0, 1);
    info->in_recovery = is_true(r, 0, 2);
    snprintf(info->system_identifier, sizeof info->system_identifier, "%s",
             PQgetvalue(r, 0, 3));
    info->timeline = (uint32_t)strtoul(PQgetvalue(r, 0, 4), NULL, 10);
    info->wal_segment_size = (uint32_t)strtoul(PQgetvalue(r, 0, 5), NULL, 10);
    info->data_checksums = strcmp(PQgetvalue(r, 0, 6), "on") == 0;
    info->config_file = bc_pg_value(r, 0, 7);
    info->hba_file = bc_pg_value(r, 0, 8);
    info->ident_file = bc_pg_value(r, 0, 9);
    if (!info->data_directory || !info->config_file || !info->hba_file || !info->ident_file)
        return bc_error(BC_ERR_INTERNAL, "PostgreSQL: out of memory reading server facts");
    return BC_OK;
}

static bc_status fill_tablespaces(bc_pg_server_info *info, const PGresult *r)
{
    int rows = PQntuples(r);
    if (rows == 0)
        return BC_OK;
    info->tablespaces = calloc((size_t)rows, sizeof *info->tablespaces);
    if (!info->tablespaces)
        return bc_error(BC_ERR_INTERNAL, "PostgreSQL: out of memory reading tablespaces");
    for (int i = 0; i < rows; i++) {
        bc_pg_tablespace *t = &info->tablespaces[info->n_tablespaces++];
        t->oid = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
        t->name = bc_pg_value(r, i, 1);
        t->location = bc_pg_value(r, i, 2);
        if (!t->name || !t->location)
            return bc_error(BC_ERR_INTERNAL, "PostgreSQL: out of memory reading tablespaces");
    }
    return BC_OK;
}

static bc_status fill_included(bc_pg_server_info *info, const PGresult *r)
{
    int rows = PQntuples(r);
    if (rows == 0)
        return BC_OK;
    info->included_files = calloc((size_t)rows, sizeof *info->included_files);
    if (!info->included_files)
        return bc_error(BC_ERR_INTERNAL, "PostgreSQL: out of memory reading settings");
    for (int i = 0; i < rows; i++)
        if (!(info->included_files[info->n_included_files++] = bc_pg_value(r, i, 0)))
            return bc_error(BC_ERR_INTERNAL, "PostgreSQL: out of memory reading settings");
    return BC_OK;
}

bc_status bc_pg_server_info_get(bc_pg *pg, bc_pg_server_info *info)
{
    memset(info, 0, sizeof *info);
    PGresult *r;
    bc_status st = bc_pg_query(pg, "reading server facts", info_sql, 0, NULL, &r);
    if (st == BC_OK) {
        st = fill_main(info, r);
        PQclear(r);
    }
    if (st == BC_OK)
        st = bc_pg_query(pg, "listing tablespaces", tablespaces_sql, 0, NULL, &r);
    if (st == BC_OK) {
        st = fill_tablespaces(info, r);
        PQclear(r);
    }
    if (st == BC_OK)
        st = bc_pg_query(pg, "listing configuration files", included_sql, 0, NULL, &r);
    if (st == BC_OK) {
        st = fill_included(info, r);
        PQclear(r);
    }
    if (st != BC_OK)
        bc_pg_server_info_free(info);
    return st;
}

void bc_pg_server_info_free(bc_pg_server_info *info)
{
    if (!info)
        return;
    free(info->data_directory);
    free(info->config_file);
    free(info->hba_file);
    free(info->ident_file);
    for (size_t i = 0; i < info->n_included_files; i++)
        free(info->included_files[i]);
    free(info->included_files);
    for (size_t i = 0; i < info->n_tablespaces; i++) {
        free(info->tablespaces[i].name);
        free(info->tablespaces[i].location);
    }
    free(info->tablespaces);
    memset(info, 0, sizeof *info);
}

bc_status bc_pg_create_restore_point(bc_pg *pg, const char *backup_id, int *created,
                                     uint64_t *lsn)
{
    if (created)
        *created = 0;
    PGresult *r;
    bc_status st = bc_pg_query(pg, "checking recovery state", "SELECT pg_is_in_recovery()", 0,
                               NULL, &r);
    if (st != BC_OK)
        return st;
    int standby = is_true(r, 0, 0);
    PQclear(r);
    if (standby) /* not allowed during recovery; barman skips it too */
        return BC_OK;
    char name[128];
    snprintf(name, sizeof name, "barman_%s", backup_id);
    const char *params[] = {name};
    st = bc_pg_query(pg, "pg_create_restore_point", "SELECT pg_create_restore_point($1)::text",
                     1, params, &r);
    if (st != BC_OK)
        return st;
    uint64_t at = 0;
    int ok = PQntuples(r) == 1 && bc_pg_parse_lsn(PQgetvalue(r, 0, 0), &at);
    PQclear(r);
    if (!ok)
        return bc_error(BC_ERR_DATA, "PostgreSQL at %s: pg_create_restore_point: bad reply",
                        pg->target);
    if (created)
        *created = 1;
    if (lsn)
        *lsn = at;
    return BC_OK;
}

/* 1 to 8 hex digits; returns the number of characters used, 0 if none. */
static size_t hex32(const char *s, uint32_t *out)
{
    size_t n = 0;
    uint32_t v = 0;
    for (; n < 9 && isxdigit((unsigned char)s[n]); n++) {
        int c = (unsigned char)s[n];
        v = v << 4 | (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    if (n == 0 || n > 8)
        return 0;
    *out = v;
    return n;
}

int bc_pg_parse_lsn(const char *text, uint64_t *lsn)
{
    uint32_t hi, lo;
    size_t a, b;
    if (!text || !(a = hex32(text, &hi)) || text[a] != '/' || !(b = hex32(text + a + 1, &lo)) ||
        text[a + 1 + b] != '\0')
        return 0;
    *lsn = (uint64_t)hi << 32 | lo;
    return 1;
}

void bc_pg_format_lsn(uint64_t lsn, char out[BC_PG_LSN_LEN])
{
    snprintf(out, BC_PG_LSN_LEN, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

int bc_pg_wal_file_name(uint32_t timeline, uint64_t lsn, uint32_t seg_size,
                        int previous_at_boundary, char out[BC_PG_WALNAME_LEN])
{
    if (seg_size < (1u << 20) || seg_size > (1u << 30) || (seg_size & (seg_size - 1)))
        return 0;
    uint64_t segno = lsn / seg_size;
    if (previous_at_boundary && lsn % seg_size == 0 && segno > 0)
        segno--;
    uint64_t per_log = UINT64_C(0x100000000) / seg_size; /* segments per "log" id */
    snprintf(out, BC_PG_WALNAME_LEN, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, timeline,
             (uint32_t)(segno / per_log), (uint32_t)(segno % per_log));
    return 1;
}
