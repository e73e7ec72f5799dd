/* A bounded pool of threads over n numbered items: the parallel loop of
 * restores and verifications. */
#ifndef BC_UTIL_WORKQUEUE_H
#define BC_UTIL_WORKQUEUE_H

#include <stddef.h>

/* Does item i; non-zero when it failed. */
typedef int (*bc_work_fn)(void *ctx, size_t i);

/* Calls fn for every i in [0, n), in order of i, at most `workers` at once
 * (1..64), returning when all are done. After a failure no new item starts
 * unless keep_going. Without threads (none could start) the items run in
 * the caller's thread. Returns the number of failed items. */
size_t bc_work_run(size_t n, int workers, int keep_going, bc_work_fn fn, void *ctx);

#endif
