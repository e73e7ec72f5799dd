/* Shared between pg.c and backup.c; not part of the public interface. */
#ifndef BC_PG_PG_INTERNAL_H
#define BC_PG_PG_INTERNAL_H

#include <libpq-fe.h>

#include "pg/pg.h"

struct bc_pg {
    PGconn *conn;
    int server_version;
    int in_backup;   /* between a successful start and stop */
    char target[256];/* "host:port" for messages */
};

/* Runs sql (with text parameters when nparams > 0); on failure sets a
 * one-line message "PostgreSQL at host:port: <what>: <server's reason>"
 * and returns BC_ERR_NET (session lost), BC_ERR_AUTH (privileges),
 * BC_ERR_USAGE (server not configured for it) or BC_ERR_INTERNAL. */
bc_status bc_pg_query(bc_pg *pg, const char *what, const char *sql, int nparams,
                      const char *const *params, PGresult **out);
/* strdup of a value, NULL for SQL NULL (or out of memory). */
char *bc_pg_value(const PGresult *res, int row, int col);

#endif
