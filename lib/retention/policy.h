/* Retention policies and the decisions they make, as barman takes them.
 *
 * Pure functions over a small description of each backup, so every rule
 * is unit-tested without a store: which backups a policy keeps, and which
 * WAL files the deletion of one backup makes useless. The store side
 * (listing, deleting, annotations) is in retention.h. */
#ifndef BC_RETENTION_POLICY_H
#define BC_RETENTION_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "layout/backup_info.h"
#include "layout/wal.h"
#include "util/status.h"

typedef enum bc_policy_kind { BC_POLICY_REDUNDANCY, BC_POLICY_RECOVERY_WINDOW } bc_policy_kind;

typedef struct bc_retention_policy {
    bc_policy_kind kind;
    unsigned value; /* backups to keep, or window length in `unit`s */
    char unit;      /* recovery window: 'd', 'w' or 'm' */
} bc_retention_policy;

/* "REDUNDANCY N", "RECOVERY WINDOW OF N DAYS|WEEKS|MONTHS" (any case, singular
 * or plural, as barman reads them) or the ObjectStore short form "30d",
 * "4w", "6m". REDUNDANCY 0 is refused: it would delete every backup.
 * BC_ERR_USAGE with a message saying what is accepted. */
bc_status bc_retention_policy_parse(const char *text, bc_retention_policy *out);
/* Canonical text, as barman prints it: "REDUNDANCY 2", "RECOVERY WINDOW OF 30 DAYS". */
void bc_retention_policy_format(const bc_retention_policy *p, char *out, size_t outlen);
/* Window length in seconds (barman: a month is 31 days). */
int64_t bc_retention_window_seconds(const bc_retention_policy *p);

typedef enum bc_keep_target { BC_KEEP_NONE = 0, BC_KEEP_FULL, BC_KEEP_STANDALONE } bc_keep_target;
/* Annotation content to target, as barman-cloud reads it: "standalone" is
 * standalone, any other non-empty text is full, empty is no keep. */
bc_keep_target bc_keep_target_parse(const char *text, size_t len);
const char *bc_keep_target_name(bc_keep_target t); /* "full", "standalone", "nokeep" */

/* The policy's verdict on one backup (barman's BackupInfo constants). */
typedef enum bc_retention_verdict {
    BC_VERDICT_NONE = 0, /* not DONE, or unreadable: never deleted by a policy */
    BC_VERDICT_VALID,
    BC_VERDICT_OBSOLETE,
    BC_VERDICT_KEEP_FULL,
    BC_VERDICT_KEEP_STANDALONE,
    BC_VERDICT_ABANDONED /* bc's own: STARTED, yet older than the newest DONE */
} bc_retention_verdict;

/* What the rules need to know of a backup. */
typedef struct bc_retention_backup {
    char id[64];
    int readable;              /* backup.info present and parsed */
    bc_backup_status status;
    bc_keep_target keep;
    int has_end_time;
    time_t end_time;
    uint32_t timeline;         /* 0: unknown */
    char begin_wal[25];        /* "": unknown */
    char end_wal[25];
    int removed;               /* deleted earlier in this run */
    bc_retention_verdict verdict;
} bc_retention_backup;

/* Sets verdict on every backup (sorted by id, oldest first; removed ones
 * are skipped) as barman's policies do with minimum redundancy 0: walking
 * from the newest DONE backup, REDUNDANCY N keeps N of them (kept backups
 * count), a recovery window keeps every backup up to and including the
 * first one that ended before now - window. Kept backups are never
 * OBSOLETE. Beyond barman: a backup still STARTED (bc-backup reserves its
 * id so; barman-cloud writes nothing before the end) that is older than
 * the newest DONE backup is ABANDONED, the record of a killed run (runs
 * of one server do not overlap that long; if they did, bc-backup refuses
 * to store DONE once its backup.info is no longer STARTED). FAILED
 * backups stay NONE, as in barman. Returns the number of OBSOLETE and
 * ABANDONED backups. */
size_t bc_retention_classify(const bc_retention_policy *p, time_t now,
                             bc_retention_backup *backups, size_t n);

/* Which WAL files the deletion of backups[deleted] makes useless
 * (barman's should_remove_wals / get_timelines_to_protect):
 * - nothing if an older WAITING_FOR_WALS/DONE backup still needs them,
 *   except that older standalone-kept backups only protect their own
 *   begin..end range when the deletion is a policy's;
 * - otherwise every segment, partial and backup label named before the
 *   begin WAL of the next WAITING_FOR_WALS/DONE backup (or of the deleted
 *   one when it is the newest), outside the protected ranges, on no
 *   timeline another backup lives on (that backup's own timeline aside).
 * History files are never removed. An unreadable backup directory older
 * than that bound (a backup in progress, a corrupt backup.info) might need
 * those files: then nothing is removed and blocked_by names it. */
typedef struct bc_wal_range {
    char begin[25], end[25];
} bc_wal_range;

typedef struct bc_retention_wal_plan {
    int remove;
    char before[25];           /* remove names < this */
    uint32_t *timelines;       /* protected timelines */
    size_t ntimelines;
    bc_wal_range *ranges;      /* protected inclusive ranges */
    size_t nranges;
    const char *blocked_by;    /* id of the unreadable backup that stopped it */
} bc_retention_wal_plan;

bc_status bc_retention_plan_wal(const bc_retention_backup *backups, size_t n, size_t deleted,
                                int for_policy, bc_retention_wal_plan *plan);
void bc_retention_wal_plan_free(bc_retention_wal_plan *plan);
/* Whether the plan removes the WAL file `name` (no compression suffix). */
int bc_retention_wal_removable(const bc_retention_wal_plan *plan, const char *name);

#endif
