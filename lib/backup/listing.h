/* What bc-ls prints: the backups of a server (barman-cloud-backup-list),
 * one backup (barman-cloud-backup-show), the archived WAL per timeline, and
 * the emptiness check of barman-cloud-check-wal-archive.
 *
 * JSON is written the way Python's json.dumps() writes it (", " and ": "
 * separators, non-ASCII as \uXXXX, floats as repr()), so the output of
 * `backups` and `show` is byte for byte what barman-cloud prints for the
 * same backup.info files. */
#ifndef BC_BACKUP_LISTING_H
#define BC_BACKUP_LISTING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

typedef enum bc_listing_format { BC_LISTING_CONSOLE = 0, BC_LISTING_JSON } bc_listing_format;

/* Console: barman-cloud-backup-list's table of the DONE backups, with the
 * keep annotation as "KEEP:FULL" / "KEEP:STANDALONE". JSON:
 * {"backups_list": [<to_json>, ...]} over every readable backup. */
bc_status bc_listing_backups(bc_store *store, const char *server, bc_listing_format format,
                             FILE *out);

/* One backup, found by id, name, "latest"/"last" or "oldest"/"first".
 * Console: a block like barman's show-backup; JSON: {"<server_name>": {...}}.
 * BC_ERR_NOTFOUND when there is no such backup. */
bc_status bc_listing_show(bc_store *store, const char *server, const char *which,
                          bc_listing_format format, FILE *out);

/* The archived WAL per timeline: first and last segment, counts, history
 * file, and the runs of missing segments inside each timeline.
 * segment_size 0: the latest DONE backup's xlog_segment_size, else 16 MiB.
 * After printing, BC_ERR_NOTFOUND ("... has N gaps") if segments are missing. */
bc_status bc_listing_wals(bc_store *store, const char *server, int64_t segment_size,
                          bc_listing_format format, FILE *out);


/* BC_OK when the WAL archive is empty, or with min_timeline > 0 holds no
 * file of that timeline or a newer one; a missing bucket counts as empty,
 * as in barman. BC_ERR_CONFLICT with a one-line message otherwise, and also
 * when objects that are not WAL files sit under wals/. */
bc_status bc_listing_check_empty(bc_store *store, const char *server, uint32_t min_timeline);

#endif
