/* Retention in the store: applying a policy, deleting one backup, keep
 * annotations and the recovery-window report (bc-retention).
 *
 * Deleting a backup is crash-safe: its backup.info is first rewritten with
 * status FAILED and an error saying the deletion is under way, so no
 * listing shows a half-deleted backup as DONE; then its archives and
 * annotations go, then the WAL only it needed, and backup.info last. A
 * run that stops half-way is finished by the next run, which completes
 * every deletion it finds under way before doing anything else. */
#ifndef BC_RETENTION_RETENTION_H
#define BC_RETENTION_RETENTION_H

#include <stdio.h>
#include <time.h>

#include "retention/policy.h"
#include "store/store.h"

typedef struct bc_retention_opts {
    const char *server;
    int dry_run;        /* print what would be deleted on `out`, delete nothing */
    size_t batch_size;  /* keys per delete request; 0 = 1000 */
    time_t now;         /* the clock the recovery window is measured from */
    FILE *out;          /* dry-run listing */
} bc_retention_opts;

typedef struct bc_retention bc_retention;

/* Reads the catalog: every backup.info, which objects each backup folder
 * holds, and keep annotations. Corrupt backup.info files and folders of
 * backups in progress are reported and left alone. */
bc_status bc_retention_load(bc_store *store, const bc_retention_opts *opts, bc_retention **out);
void bc_retention_free(bc_retention *r);

/* Finishes deletions a previous run left under way. */
bc_status bc_retention_resume(bc_retention *r);
/* Deletes every backup the policy finds OBSOLETE, oldest first, each with
 * the WAL it alone needed. */
bc_status bc_retention_apply(bc_retention *r, const bc_retention_policy *policy);
/* Deletes one backup (id, name, latest or oldest; an unreadable backup by
 * id). BC_ERR_NOTFOUND if unknown, BC_ERR_CONFLICT if it is kept. */
bc_status bc_retention_delete(bc_retention *r, const char *which);

/* Keep annotations, as barman-cloud-backup-keep writes them. */
bc_status bc_retention_keep(bc_retention *r, const char *which, bc_keep_target target);
bc_status bc_retention_release(bc_retention *r, const char *which);
bc_status bc_retention_keep_status(bc_retention *r, const char *which, bc_keep_target *target);

/* JSON on `out`: policy, first recoverability point (end of the oldest
 * DONE backup), last successful and last failed backup times (RFC 3339,
 * UTC, null when none), counts, what this run deleted (or would delete)
 * and what it left alone. */
bc_status bc_retention_report(const bc_retention *r, const bc_retention_policy *policy,
                              FILE *out);

/* Backup folders that could not be classified (corrupt backup.info). */
size_t bc_retention_unreadable(const bc_retention *r);

#endif
