/* Taking a base backup of a running PostgreSQL straight into the store. */
#ifndef BC_BACKUP_BACKUP_H
#define BC_BACKUP_BACKUP_H

#include <stdint.h>

#include "codec/codec.h"
#include "pg/pg.h"
#include "store/store.h"

typedef struct bc_backup_opts {
    const char *server;
    bc_pg_conn_params conn;
    int immediate_checkpoint;
    bc_codec_id codec;
    int level;
    int64_t max_archive_size;  /* split archives beyond this (0: never) */
    const char *name;          /* backup_name */
    const bc_tag *tags;
    size_t ntags;
    int progress;              /* report progress on stderr */
    char backup_id[32];        /* out */
} bc_backup_opts;

/* Returns BC_OK only once every archive and then backup.info (status DONE)
 * are stored. On failure every upload is aborted and, when possible,
 * backup.info is stored with status FAILED and the error. */
bc_status bc_backup(bc_store *store, bc_backup_opts *opts);

#endif
