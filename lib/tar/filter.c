/* Base backup exclusion rules.
 *
 * The union of PostgreSQL's (src/backend/backup/basebackup.c: sendDir(),
 * excludeDirContents[], excludeFiles[]) and barman-cloud's
 * (barman/postgres_plumbing.py: PGDATA_EXCLUDE_LIST, EXCLUDE_LIST), so a
 * backup holds neither what PostgreSQL would refuse to carry nor what
 * barman leaves out. Rules on bare names apply at any depth, as in both. */
#include "tar/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Directories whose contents are recreated or discarded at server start;
 * kept as empty directories to preserve their permissions. */
static const char *const empty_dir_names[] = {
    "pg_stat_tmp",  /* PG: temporary statistics, extensions' scratch files */
    "pg_replslot",  /* PG: slots are not useful in a restored copy */
    "pg_dynshmem",  /* PG: dsm_cleanup_for_mmap() empties it */
    "pg_notify",    /* PG: AsyncShmemInit() empties it */
    "pg_serial",    /* PG: SerialInit() does not need it */
    "pg_snapshots", /* PG: exported snapshots die with the server */
    "pg_subtrans",  /* PG: StartupSUBTRANS() zeroes it */
};

/* Files never copied. */
static const char *const skip_file_names[] = {
    "postgresql.auto.conf.tmp", /* PG, barman: ALTER SYSTEM scratch file */
    "current_logfiles.tmp",     /* PG, barman: logging collector scratch */
    "backup_label",             /* PG: the caller adds the one from the stop */
    "tablespace_map",           /* PG: likewise */
    "backup_manifest",          /* PG: belongs to the backup this server came from */
    "postmaster.pid",           /* PG, barman */
    "postmaster.opts",          /* PG, barman */
    "recovery.conf",            /* barman: recovery settings of the source */
    "standby.signal",           /* barman: a restore decides its own mode */
};

#define TEMP_PREFIX "pgsql_tmp"          /* PG, barman: temporary files and dirs */
#define RELCACHE_INIT "pg_internal.init" /* PG: prefix (pg_internal.init.<pid>) */
#define OID_CHARS 10

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return 1;
    return 0;
}

static size_t digits(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

/* Skips an optional "_fsm" / "_vm" / "_init" fork suffix then an optional
 * ".<segment>"; returns 1 if that reaches the end of the name. *is_init
 * tells whether the fork was _init. */
static int fork_and_segment_end(const char *p, int *is_init)
{
    *is_init = 0;
    if (*p == '_') {
        if (strncmp(p, "_init", 5) == 0) {
            *is_init = 1;
            p += 5;
        } else if (strncmp(p, "_fsm", 4) == 0) {
            p += 4;
        } else if (strncmp(p, "_vm", 3) == 0) {
            p += 3;
        } else {
            return 0;
        }
    }
    if (*p == '.') {
        size_t n = digits(p + 1);
        if (n == 0)
            return 0;
        p += 1 + n;
    }
    return *p == '\0';
}

/* "<relnumber>[_fork][.segment]": returns the length of the relnumber, 0
 * if the name is not a relation file. */
static size_t relation_file(const char *name, int *is_init)
{
    size_t n = digits(name);
    if (n == 0 || n > OID_CHARS)
        return 0;
    return fork_and_segment_end(name + n, is_init) ? n : 0;
}

/* "t<backend>_<relnumber>[_fork][.segment]": a temporary relation, useless
 * after a restart (PG: looks_like_temp_rel_name()). */
static int temp_relation_file(const char *name)
{
    if (name[0] != 't')
        return 0;
    size_t n = digits(name + 1);
    if (n == 0 || name[1 + n] != '_')
        return 0;
    const char *rel = name + 2 + n;
    size_t m = digits(rel);
    int is_init;
    return m > 0 && m <= OID_CHARS && fork_and_segment_end(rel + m, &is_init);
}

static int cmp_name(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

/* A directory holding a database's relations: base/<oid> in PGDATA,
 * PG_<major>_<catversion>/<oid> in a tablespace. */
static int is_database_dir(const bc_tar_filter *f, const char *rel)
{
    const char *slash = strchr(rel, '/');
    if (!slash || strchr(slash + 1, '/') || digits(slash + 1) != strlen(slash + 1) ||
        slash[1] == '\0')
        return 0;
    if (f->mode == BC_TAR_FILTER_PGDATA)
        return (size_t)(slash - rel) == 4 && strncmp(rel, "base", 4) == 0;
    return strncmp(rel, "PG_", 3) == 0;
}

/* Unlogged relations: every fork but _init is reset from _init at startup
 * (PG: sendDir() skips a fork when <relnumber>_init exists). */
static int unlogged_fork(const char *name, const char *const *siblings, size_t nsiblings)
{
    int is_init;
    size_t n = relation_file(name, &is_init);
    if (n == 0 || is_init)
        return 0;
    char init_name[OID_CHARS + sizeof "_init"];
    memcpy(init_name, name, n);
    memcpy(init_name + n, "_init", sizeof "_init");
    return bsearch(init_name, siblings, nsiblings, sizeof *siblings, cmp_name) != NULL;
}

/* skip_paths entries are relative to PGDATA; a leading '/' is accepted
 * (barman builds them as location[len(pgdata):]). */
static int in_skip_paths(const bc_tar_filter *f, const char *parent_rel, const char *name)
{
    size_t plen = strlen(parent_rel);
    for (size_t i = 0; i < f->n_skip_paths; i++) {
        const char *p = f->skip_paths[i];
        if (*p == '/')
            p++;
        if (plen == 0 ? strcmp(p, name) == 0
                      : strncmp(p, parent_rel, plen) == 0 && p[plen] == '/' &&
                            strcmp(p + plen + 1, name) == 0)
            return 1;
    }
    return 0;
}

static bc_tar_rule pgdata_rule(const bc_tar_filter *f, const char *parent_rel, const char *name)
{
    if (parent_rel[0] == '\0') {
        /* PG (pg_wal) and barman (contents of /pg_wal, /pg_xlog): WAL comes
         * from the archive */
        if (strcmp(name, "pg_wal") == 0 || strcmp(name, "pg_xlog") == 0)
            return BC_TAR_RULE_WAL_DIR;
        /* barman (contents of /log, /pg_log): server logs are not data */
        if (strcmp(name, "log") == 0 || strcmp(name, "pg_log") == 0)
            return BC_TAR_RULE_EMPTY_DIR;
    } else if (strcmp(parent_rel, "global") == 0 && strcmp(name, "pg_control") == 0) {
        return BC_TAR_RULE_SKIP; /* PG, barman: the caller adds it last */
    } else if (strcmp(parent_rel, "pg_tblspc") == 0 &&
               in_list(name, f->skip_tablespace_oids, f->n_skip_tablespace_oids)) {
        return BC_TAR_RULE_SKIP; /* barman: /pg_tblspc/<oid>, in its own archive */
    }
    if (in_skip_paths(f, parent_rel, name))
        return BC_TAR_RULE_SKIP; /* PG, barman: a tablespace inside PGDATA */
    return BC_TAR_RULE_KEEP;
}

bc_tar_rule bc_tar_filter_rule(const bc_tar_filter *f, const char *parent_rel,
                               const char *name, const char *const *siblings,
                               size_t nsiblings)
{
    if (!f || f->mode == BC_TAR_FILTER_NONE)
        return BC_TAR_RULE_KEEP;

    if (f->mode == BC_TAR_FILTER_TABLESPACE && parent_rel[0] == '\0') {
        /* barman: include /PG_<major>_* only (the catalog version is not
         * known here); PG: only TABLESPACE_VERSION_DIRECTORY */
        char want[32];
        int n = snprintf(want, sizeof want, "PG_%d_", f->pg_major);
        if (n <= 0 || strncmp(name, want, (size_t)n) != 0)
            return BC_TAR_RULE_SKIP;
    }

    if (strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0 ||
        strncmp(name, RELCACHE_INIT, strlen(RELCACHE_INIT)) == 0 ||
        in_list(name, skip_file_names, sizeof skip_file_names / sizeof *skip_file_names))
        return BC_TAR_RULE_SKIP;

    if (is_database_dir(f, parent_rel) &&
        (temp_relation_file(name) || unlogged_fork(name, siblings, nsiblings)))
        return BC_TAR_RULE_SKIP;

    if (f->mode == BC_TAR_FILTER_PGDATA) {
        bc_tar_rule r = pgdata_rule(f, parent_rel, name);
        if (r != BC_TAR_RULE_KEEP)
            return r;
    }

    if (in_list(name, empty_dir_names, sizeof empty_dir_names / sizeof *empty_dir_names))
        return BC_TAR_RULE_EMPTY_DIR;
    return BC_TAR_RULE_KEEP;
}
