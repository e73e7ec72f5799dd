/* Restoring a base backup from the store into a data directory. */
#ifndef BC_BACKUP_RESTORE_H
#define BC_BACKUP_RESTORE_H

#include <stddef.h>

#include "store/store.h"

typedef struct bc_relocation {
    const char *name;     /* tablespace name */
    const char *location; /* where to restore it instead */
} bc_relocation;

typedef struct bc_recovery_target {
    const char *time, *lsn, *name, *xid;
    int immediate;
    const char *timeline; /* "latest", "current" or a number */
    const char *action;   /* pause, promote, shutdown */
    int exclusive;        /* recovery_target_inclusive = off */
} bc_recovery_target;

typedef struct bc_restore_opts {
    const char *server;
    const char *backup;           /* id, name, latest/last, oldest/first */
    const char *target_dir;
    const bc_relocation *relocations;
    size_t nrelocations;
    int jobs;                     /* archives downloaded and unpacked at once */
    int force;                    /* accept a non-empty target directory */
    int progress;                 /* 1 always, 0 never, -1 on a terminal */
    /* With restore_command set: write it, the recovery target and
     * recovery.signal, so PostgreSQL starts archive recovery. */
    const char *restore_command;
    bc_recovery_target target;
    const bc_store_config *store_config; /* a store per worker */
    char backup_id[64];           /* out: the backup restored */
} bc_restore_opts;

bc_status bc_restore(bc_store *store, bc_restore_opts *opts);

#endif
