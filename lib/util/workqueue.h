/* The one way bc runs work in parallel: a bounded queue of items over a
 * few threads. A producer submits items in order (S3 parts, Azure blocks,
 * WAL segments, archives); submitting waits while `workers` items are
 * queued or running, which bounds what a streaming producer holds in
 * memory. Each worker may keep its own state, opened before its first
 * item and closed after its last (an HTTP connection). The first failure
 * is kept with its message (errors are per thread) and returned by the
 * next submit, wait or finish; after it no new item runs unless the queue
 * keeps going. Should no thread start, submit runs each item in the
 * caller's thread. Not thread-safe for several producers. */
#ifndef BC_UTIL_WORKQUEUE_H
#define BC_UTIL_WORKQUEUE_H

#include <stddef.h>

#include "util/status.h"

typedef struct bc_workq_ops {
    /* Does one item; a failure has set its message, as any bc_status. */
    bc_status (*run)(void *ctx, void *worker, void *item);
    /* Optional: a worker's own state, opened in that worker before its
     * first item; a failure stops the queue. */
    bc_status (*open)(void *ctx, void **worker);
    void (*close)(void *ctx, void *worker);
    /* Optional: called exactly once per submitted item, from any thread,
     * after it ran or when it is dropped unrun (a failure, an abort). The
     * item's memory is released before its slot is free, so a producer
     * whose submit returned can reuse it. */
    void (*release)(void *ctx, void *item);
} bc_workq_ops;

typedef struct bc_workq bc_workq;

/* Up to `workers` threads (1..256) over items of item_size bytes, copied
 * at submit. keep_going: a failed item does not stop the others. ops
 * must outlive the queue. */
bc_status bc_workq_start(const bc_workq_ops *ops, void *ctx, int workers, size_t item_size,
                         int keep_going, bc_workq **out);
/* Queues a copy of item, first waiting while `workers` items are in
 * flight. After a failure (without keep_going) the item is released
 * unrun and that failure returned. */
bc_status bc_workq_submit(bc_workq *q, const void *item);
/* The first failure so far, or BC_OK. */
bc_status bc_workq_status(bc_workq *q);
/* Waits until every item submitted so far is done (or, without
 * keep_going, one failed); returns the first failure. */
bc_status bc_workq_wait(bc_workq *q);
/* Waits for every item, stops the workers and frees q; returns the first
 * failure. */
bc_status bc_workq_finish(bc_workq *q);
/* Runs no further item (queued ones are released), waits for those
 * running, frees q. Keeps the calling thread's error message; NULL is a
 * no-op. */
void bc_workq_abort(bc_workq *q);

/* Does item i; non-zero when it failed. */
typedef int (*bc_work_fn)(void *ctx, size_t i);

/* The queue as a parallel loop: fn for every i in [0, n), started in
 * order of i, at most `workers` at once (1..64); after a failure no new
 * item starts unless keep_going. Returns the number of failed items. */
size_t bc_work_run(size_t n, int workers, int keep_going, bc_work_fn fn, void *ctx);

#endif
