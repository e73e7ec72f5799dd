/* Progress on stderr for long transfers: bytes done, rate, ETA. Shown on
 * a terminal (or when forced), at most twice a second, on one line.
 * bc_progress_add() may be called from several threads. */
#ifndef BC_BACKUP_PROGRESS_H
#define BC_BACKUP_PROGRESS_H

#include <stdint.h>

typedef struct bc_progress bc_progress;

/* mode: 1 always, 0 never, -1 when stderr is a terminal. NULL when off
 * (every function accepts NULL). */
bc_progress *bc_progress_new(int mode, const char *what);
/* Expected total, for the ETA (0 = unknown). */
void bc_progress_set_total(bc_progress *p, int64_t total);
/* Adds the sizes of the regular files under dir to the expected total. */
void bc_progress_add_dir(bc_progress *p, const char *dir);
void bc_progress_add(bc_progress *p, int64_t bytes);
void bc_progress_done(bc_progress *p, int ok);
void bc_progress_free(bc_progress *p);

#endif
